"""Figures for docs/*/initialization.md, drawn from snippets/initialization.py."""
import math

from kb.figures import figure


@figure("init-depth.svg")
def init_depth(plt):
    import torch
    from snippets import initialization as ini
    fig, ax = plt.subplots(figsize=(7, 3.6))
    schemes = [("std 0.01", 0.01), ("Var = 1/n", math.sqrt(1 / 256)), ("He: Var = 2/n", ini.he_normal_std(256))]
    for label, std in schemes:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(128, 256, generator=g, dtype=torch.float64)
        m = ini.relu_second_moments(x, std, 50, g)
        ax.plot(range(51), [math.log10(v) for v in m], marker=".", label=label)
    ax.set(xlabel="layer l (ReLU, n = 256)", ylabel="log₁₀ E[h²]", title="E[h²] through 50 ReLU layers")
    ax.legend()
    return fig
