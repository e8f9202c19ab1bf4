"""Figures for docs/*/depth.md, drawn from snippets/depth.py."""
from kb.figures import figure


@figure("depth-sawtooth.svg")
def sawtooth(plt):
    import torch
    from snippets import depth as dp
    x = torch.arange(2 ** 10 + 1, dtype=torch.float64) / 2 ** 10  # dyadic grid: every kink is a grid point
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.6), sharey=True)
    for k, ax in zip((1, 2, 3, 4), axes):
        y = dp.sawtooth(x, k)
        ax.plot(x, y, color="C0")
        kinks = torch.arange(1, 2 ** k, dtype=torch.float64) / 2 ** k
        ax.plot(kinks, dp.sawtooth(kinks, k), "o", ms=3, color="C3")
        ax.set(title=f"k = {k}: {2 * k} ReLU, {2 ** k} pieces", xlabel="x", xticks=[0, 0.5, 1])
    axes[0].set(ylabel="T$^k$(x)", yticks=[0, 0.5, 1])
    return fig
