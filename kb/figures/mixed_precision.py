"""Figures for docs/*/mixed_precision.md, drawn from snippets/mixed_precision.py."""
from kb.figures import figure


@figure("mixed_precision-loss-scaling.svg")
def loss_scaling(plt):
    """Histogram of log2 |g| for the confident classifier's logit gradient, before and after scaling by 2^16,
    against float16's limits (the data of the check mixed_precision.float16-gradient-underflow, seed 0)."""
    import math

    import torch
    import torch.nn.functional as F
    from snippets import mixed_precision as mp
    n, k = 256, 100
    y = torch.randint(0, k, (n,), generator=torch.Generator().manual_seed(1))
    z = torch.randn(n, k, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = (z + 14.0 * F.one_hot(y, k).double()).to(torch.float16).float().requires_grad_(True)
    (g,), _ = mp.scaled_gradients(F.cross_entropy(z, y), [z], 1.0)
    lim = mp.float_format_limits(5, 10)
    lo, normal, hi = (math.log2(lim[key]) for key in ("smallest_subnormal", "smallest_normal", "max"))
    scale_log2 = 16
    logs = torch.log2(g.abs()).flatten()
    fig, axes = plt.subplots(2, 1, figsize=(5, 4.6), sharex=True)
    bins = torch.arange(-44.0, 20.0, 1.0)
    for ax, shift, title in ((axes[0], 0, r"$\log_2 |g|$"),
                             (axes[1], scale_log2, r"$\log_2 |S g|,\ S = 2^{16}$")):
        ax.axvspan(-44, lo - 1, color="#e53935", alpha=0.15, lw=0)
        ax.axvspan(lo - 1, normal, color="#fb8c00", alpha=0.15, lw=0)
        ax.axvspan(hi, 20, color="#e53935", alpha=0.15, lw=0)
        ax.hist((logs + shift).numpy(), bins=bins.numpy(), color="#3949ab")
        for x, label, dx in ((lo - 1, r"$2^{-25}$", 2), (normal, r"$2^{-14}$", 2), (hi, r"$65504$", -34)):
            ax.axvline(x, color="black", lw=0.8, ls="--")
            ax.annotate(label, (x, 1), xycoords=("data", "axes fraction"), xytext=(dx, -12),
                        textcoords="offset points", fontsize=8)
        ax.set(title=title, ylabel=r"$\#$", xlim=(-44, 20))
    return fig
