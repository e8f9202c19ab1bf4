"""Figures for docs/*/group_norm.md, drawn from snippets/group_norm.py (and batch_norm.py)."""
from kb.figures import figure


def _shared_statistics(kind, shape, groups):
    """Which elements share one mean/variance with element (0, 0, 0): the non-zero entries of its gradient."""
    import torch
    from snippets import group_norm as gn
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, 1, generator=g, dtype=torch.float64, requires_grad=True)  # (N, C, H*W, 1)
    y = gn.group_norm(x, groups) if kind == "group" else gn.normalize(x, gn.NORM_AXES[kind])
    y[0, 0, 0, 0].backward()
    return (x.grad[..., 0] != 0).numpy()


@figure("group_norm-axes.svg")
def axes(plt):
    import numpy as np
    n, c, hw = 4, 6, 5
    fig, axs = plt.subplots(1, 4, figsize=(10, 2.9))
    panels = [("batch", "Batch Norm"), ("layer", "Layer Norm"), ("instance", "Instance Norm"),
              ("group", "Group Norm, G = 3")]
    for ax, (kind, title) in zip(axs, panels):
        shared = _shared_statistics(kind, (n, c, hw), 3)  # indexed (N, C, H*W)
        # one cell per (sample, channel); every normalizer pools all H*W positions of a cell, so a cell is
        # shaded when it shares element (0, 0, 0)'s mean and variance (Wu & He 2018, Fig. 2, flattened)
        assert (shared == shared[..., :1]).all()
        ax.imshow(shared[..., 0], cmap="Blues", vmin=-0.3, vmax=1.3)
        ax.set_xticks(np.arange(-0.5, c), minor=True), ax.set_yticks(np.arange(-0.5, n), minor=True)
        ax.grid(which="minor", color="white", lw=2), ax.grid(which="major", visible=False)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set(xlabel="C", ylabel="N", title=title)
    return fig


@figure("group_norm-batch-size.svg")
def batch_size(plt):
    import torch
    import torch.nn.functional as F
    from snippets import batch_norm as bn
    from snippets import group_norm as gn
    sizes = [2, 4, 8, 16, 32, 64, 128]
    g = torch.Generator().manual_seed(0)
    sim_var, sim_norm = [], []
    for m in sizes:
        z = torch.randn(m, 20_000, generator=g, dtype=torch.float64)  # 20000 batches, one per column
        sim_var.append(z.var(0).std().item())
        x_hat = F.batch_norm(z, None, None, training=True, eps=1e-300)
        sim_norm.append((x_hat - z).pow(2).mean().sqrt().item())
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(sizes, [gn.batch_variance_relative_sd(m) for m in sizes], color="tab:red",
            label="BN: SD(s²_B) / σ² = √(2/(m−1))")
    ax.plot(sizes, sim_var, "o", color="tab:red", ms=4)
    ax.plot(sizes, [bn.expected_normalization_error(m) ** 0.5 for m in sizes], color="tab:blue",
            label="BN: RMS(x̂_B − x̂), population μ, σ")
    ax.plot(sizes, sim_norm, "o", color="tab:blue", ms=4)
    ax.plot(sizes, [0.0] * len(sizes), color="tab:green", lw=2, label="GN / LN / IN: no batch statistics")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(m) for m in sizes])
    ax.set(xlabel="batch size m", ylabel="relative error", title="N(μ, σ²) data: lines = theory, dots = simulation")
    ax.legend(fontsize=8)
    return fig
