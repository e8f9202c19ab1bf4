"""Figures for docs/*/pooling.md, drawn with the parameter counts of snippets/pooling.py."""
from kb.figures import figure


def _maps(ax, x0, y0, n=4, size=1.6, gap=0.25, color="tab:blue"):
    """A stack of n feature maps drawn as offset squares; returns the right edge and the centre height."""
    from matplotlib.patches import Rectangle
    for i in range(n):
        ax.add_patch(Rectangle((x0 + i * gap, y0 + i * gap), size, size, fc=color, ec="k", alpha=0.35 + 0.15 * i))
    return x0 + (n - 1) * gap + size, y0 + (n - 1) * gap / 2 + size / 2


def _head(ax, features, marker, ms, lw, label, title):
    """One panel: the C x H x W maps, an arrow to the feature vector, and dense connections to K outputs."""
    right, mid = _maps(ax, 0.3, 1.0)
    ax.text(1.3, 0.35, "C × H × W", ha="center")
    ax.annotate("", (4.3, mid), (right + 0.1, mid), arrowprops=dict(arrowstyle="->"))
    outs = [0.8 + 0.5 * i for i in range(5)]
    for f in features:
        ax.plot(4.6, f, marker, ms=ms, color="tab:blue")
        for o in outs:
            ax.plot([4.6, 8.2], [f, o], color="grey", lw=lw)
    for o in outs:
        ax.plot(8.2, o, "o", ms=6, color="tab:red")
    ax.text(4.6, -0.45, label, ha="center")
    ax.text(8.2, -0.45, "K", ha="center")
    ax.set_title(title, fontsize=9)
    return mid


@figure("pooling-fc-vs-gap.svg")
def fc_vs_gap(plt):
    from snippets import pooling as pl
    c, h, w, k = 512, 7, 7, 1000
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax in axes:
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.6, 4.2)
        ax.axis("off")
        ax.set_aspect("equal")
    # left: flatten every pixel of every map, then a dense layer
    _head(axes[0], [0.2 + 0.28 * i for i in range(14)], "o", 3, 0.3, "C·H·W",
          f"Flatten → FC:  C·H·W·K + K = {pl.fc_head_params(c, h, w, k):,}")
    # right: one average per map, then a small dense layer
    mid = _head(axes[1], [1.3 + 0.5 * i for i in range(4)], "s", 6, 0.5, "C",
                f"GAP → FC:  0 + C·K + K = {pl.gap_head_params(c, k):,}")
    axes[1].text(3.6, mid + 0.35, r"$\frac{1}{HW}\sum_{h,w}$", ha="center", fontsize=8)
    fig.suptitle(f"C = {c}, H = W = {h}, K = {k}", fontsize=9)
    return fig
