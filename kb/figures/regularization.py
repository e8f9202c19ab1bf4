"""Figures for docs/*/regularization.md, drawn from snippets/regularization.py."""
from kb.figures import figure


@figure("regularization-prox.svg")
def proximal_steps(plt):
    import torch
    from snippets import regularization as reg
    b = torch.linspace(-3, 3, 601, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.plot(b, b, color="grey", lw=0.8, ls=":", label="b")
    ax.plot(b, reg.soft_threshold(b, 1.0), label="L1: sign(b)·max(|b| − λ, 0)")
    ax.plot(b, reg.l2_shrink(b, 1.0), label="L2: b / (1 + λ)")
    ax.axvspan(-1, 1, color="#ef5350", alpha=0.08)
    ax.annotate("w = 0", (0, -0.75), ha="center", color="#c62828")
    ax.set(xlabel="b", ylabel="w", title="argmin_w ½(w − b)² + penalty(w),  λ = 1")
    ax.legend(fontsize=8, loc="upper left")
    return fig


@figure("regularization-dropconnect.svg")
def dropout_vs_dropconnect(plt):
    import torch
    from snippets import regularization as reg
    n_in, n_out = 4, 3
    g = torch.Generator().manual_seed(1)
    unit_mask = reg.keep_mask(n_in, 0.5, g)             # dropout: one coin per input unit
    weight_mask = reg.keep_mask((n_out, n_in), 0.5, g)  # DropConnect: one coin per weight
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    x_in = [(0.0, 1 - i / (n_in - 1)) for i in range(n_in)]
    x_out = [(1.0, 0.85 - 0.7 * j / (n_out - 1)) for j in range(n_out)]
    for ax, title, kept in ((axes[0], "dropout", lambda i, j: bool(unit_mask[i])),
                            (axes[1], "DropConnect", lambda i, j: bool(weight_mask[j, i]))):
        for i, (xi, yi) in enumerate(x_in):
            for j, (xo, yo) in enumerate(x_out):
                on = kept(i, j)
                ax.plot([xi, xo], [yi, yo], color="#3949ab" if on else "#bdbdbd",
                        ls="-" if on else (0, (3, 3)), lw=1.6 if on else 1.0, zorder=1)
        for i, (xi, yi) in enumerate(x_in):
            dropped = title == "dropout" and not bool(unit_mask[i])
            ax.scatter([xi], [yi], s=420, zorder=2, color="white" if dropped else "#c5cae9",
                       edgecolors="#9e9e9e" if dropped else "#3949ab", linewidths=1.5)
            ax.annotate(f"x{'₁₂₃₄'[i]}", (xi, yi), ha="center", va="center", zorder=3,
                        color="#9e9e9e" if dropped else "black")
            if dropped:
                ax.plot([xi - 0.05, xi + 0.05], [yi - 0.05, yi + 0.05], color="#e53935", lw=1.5, zorder=3)
                ax.plot([xi - 0.05, xi + 0.05], [yi + 0.05, yi - 0.05], color="#e53935", lw=1.5, zorder=3)
        for j, (xo, yo) in enumerate(x_out):
            ax.scatter([xo], [yo], s=420, zorder=2, color="#c8e6c9", edgecolors="#2e7d32", linewidths=1.5)
            ax.annotate(f"y{'₁₂₃'[j]}", (xo, yo), ha="center", va="center", zorder=3)
        ax.set(title=title, xlim=(-0.2, 1.2), ylim=(-0.15, 1.15))
        ax.axis("off")
    axes[0].text(0.5, -0.12, "y = W (m ⊙ x) / (1 − p)", ha="center", fontsize=9)
    axes[1].text(0.5, -0.12, "y = (M ⊙ W) x / (1 − p)", ha="center", fontsize=9)
    return fig
