"""Figures for docs/*/losses.md, drawn from snippets/losses.py."""
from kb.figures import figure


@figure("losses-surrogates.svg")
def surrogates(plt):
    import math

    import torch
    from snippets import losses as ls
    m = torch.linspace(-2.5, 3, 1101, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    ax.plot(m, ls.zero_one_loss(m), label="1[m ≤ 0]", color="k", lw=1.6)
    ax.plot(m, ls.hinge_loss(m), label="max(0, 1 − m)")
    ax.plot(m, ls.logistic_loss(m) / math.log(2), label="log₂(1 + e⁻ᵐ)")
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set(xlabel="m = y·f(x)", ylabel="loss", ylim=(-0.05, 3.6))
    ax.legend(fontsize=8)
    return fig


@figure("losses-label-smoothing.svg")
def label_smoothing(plt):
    import torch
    from snippets import losses as ls
    k, eps = 10, 0.1
    gaps = torch.linspace(0, 12, 601, dtype=torch.float64)
    target = torch.tensor([0])
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for e, name in ((0.0, "ε = 0"), (eps, "ε = 0.1")):
        loss = [ls.label_smoothed_cross_entropy(torch.cat([g.view(1), torch.zeros(k - 1, dtype=g.dtype)]).view(1, k),
                                                target, e).item() for g in gaps]
        ax.plot(gaps, loss, label=name)
    g_star = ls.smoothed_optimal_logit_gap(k, eps)
    ax.axvline(g_star, color="C1", lw=0.8, ls="--")
    ax.annotate("$g^*$", (g_star, 1.6), xytext=(4, 0), textcoords="offset points", color="C1")
    ax.set(xlabel="$g = z_y - z_j$", ylabel="loss", title="K = 10", ylim=(0, 2.5))
    ax.legend(fontsize=8)
    return fig
