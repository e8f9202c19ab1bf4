"""Figures for docs/*/convolution.md, drawn from snippets/convolution.py (stacked panels, legible on a phone)."""
from kb.figures import figure


@figure("convolution-gridding.svg")
def gridding(plt):
    """Input pixels that reach one output through three 3x3 layers: dilations 2, 2, 2 leave holes; 1, 2, 4 do not."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from snippets import convolution as cv
    stacks = [(2, 2, 2), (1, 2, 4)]
    size = max(cv.receptive_field([(3, 1, d) for d in ds]) for ds in stacks)
    fig, axes = plt.subplots(2, 1, figsize=(4.0, 8.0))
    for ax, ds in zip(axes, stacks):
        offsets = cv.dilated_support(3, ds)
        grid = np.zeros((size, size))
        grid[np.ix_(offsets, offsets)] = 1
        ax.imshow(grid, cmap=ListedColormap(["white", "tab:blue"]), vmin=0, vmax=1)
        ax.set_xticks(np.arange(-0.5, size, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, size, 1), minor=True)
        ax.grid(which="minor", color="0.75", lw=0.6)
        ax.grid(which="major", visible=False)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        r = cv.receptive_field([(3, 1, d) for d in ds])
        ax.set_title(f"d = {', '.join(map(str, ds))}:  {len(offsets) ** 2} of {r}² = {r * r} pixels", fontsize=11)
    return fig


@figure("convolution-checkerboard.svg")
def checkerboard(plt):
    """Overlap counts of a stride-2 transposed conv on a 5x5 input with a ones kernel: k = 3 uneven, k = 4 even."""
    import numpy as np
    from snippets import convolution as cv
    fig, axes = plt.subplots(2, 1, figsize=(4.0, 8.4))
    for ax, k in zip(axes, (3, 4)):
        row = np.array(cv.transposed_overlap(5, k, 2))
        grid = np.outer(row, row)                 # 2-D overlaps are products of the 1-D ones
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=5)
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=9, color="white" if v >= 3 else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"k = {k}, s = 2:  k mod s = {k % 2}", fontsize=11)
    return fig
