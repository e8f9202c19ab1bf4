"""Figures for docs/*/gradients.md, drawn from snippets/gradients.py."""
import math

from kb.figures import figure


@figure("gradients-per-layer.svg")
def per_layer(plt):
    import torch
    from snippets import gradients as gr
    width, depth = 64, 10
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, width, generator=g, dtype=torch.float64)
    y = torch.randn(128, width, generator=g, dtype=torch.float64)
    base = [torch.randn(width, width, generator=g, dtype=torch.float64) for _ in range(depth)]
    xavier = [w / math.sqrt(width) for w in base]
    he = [w * math.sqrt(2 / width) for w in base]
    runs = [("σ, Var(W) = 1/n", xavier, "sigmoid", False), ("tanh, Var(W) = 1/n", xavier, "tanh", False),
            ("ReLU, He: Var(W) = 2/n", he, "relu", False), ("σ + identity shortcut", xavier, "sigmoid", True)]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    layers = range(1, depth + 1)
    for label, ws, act, res in runs:
        ax.semilogy(layers, gr.per_layer_grad_norms(x, y, ws, act, res), marker="o", ms=4, label=label)
    ax.set(xlabel="layer l (1 = next to the input)", ylabel="‖∂L/∂W_l‖", xticks=list(layers),
           title="gradient norm per layer, 10 layers, n = 64")
    ax.legend(fontsize=8)
    return fig


@figure("gradients-product-spectrum.svg")
def product_spectrum(plt):
    import torch
    from snippets import gradients as gr
    n = 32
    gauss = gr.gaussian_matrices(n, 32, torch.Generator().manual_seed(0))
    orth = gr.orthogonal_matrices(n, 32, torch.Generator().manual_seed(0))
    fig, (ax_g, ax_o) = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for depth in (1, 2, 4, 8, 16, 32):
        s = gr.product_singular_values(gauss[:depth])
        r = gr.effective_rank(s)
        ax_g.semilogy(range(1, n + 1), (s / s[0]).clamp(min=1e-17), marker=".", ms=3,
                      label=f"L = {depth}, r = {r:.1f}")
        so = gr.product_singular_values(orth[:depth])
        ax_o.semilogy(range(1, n + 1), so / so[0], marker=".", ms=3, label=f"L = {depth}")
    ax_g.set(title="W ~ N(0, 1/n): σ_i / σ_1 of W_L ⋯ W_1", xlabel="i", ylabel="σ_i / σ_1", ylim=(1e-17, 3))
    ax_o.set(title="W orthogonal: σ_i / σ_1 of W_L ⋯ W_1", xlabel="i")
    ax_g.legend(fontsize=7)
    ax_o.legend(fontsize=7)
    return fig
