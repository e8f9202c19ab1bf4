"""Figures for docs/*/residual.md, drawn from snippets/residual.py. Narrow (4.5 in) with 10 pt text, so the
labels stay legible when a phone shrinks the figure to its screen width."""
from kb.figures import figure

FONT = 10


def _style(ax):
    ax.tick_params(labelsize=FONT)
    ax.xaxis.label.set_size(FONT)
    ax.yaxis.label.set_size(FONT)
    ax.title.set_size(FONT)


@figure("residual-training.svg")
def training(plt):
    import torch
    from snippets import residual as rs
    g = torch.Generator().manual_seed(0)
    x = 2 * torch.rand(64, 2, generator=g) - 1
    y = torch.sin(6 * x[:, :1]) * torch.cos(6 * x[:, 1:])
    runs = {}
    for residual in (False, True):
        torch.manual_seed(0)  # the same initial weights for both twins
        net = rs.residual_mlp(2, 16, 10, residual=residual)
        grads = rs.block_grad_norms(net, x, y)
        runs[residual] = (grads, rs.train_regressor(net, x, y, steps=60, lr=5e-3))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.5, 6.2))
    for residual, (grads, losses) in runs.items():
        label = "residual" if residual else "plain"
        top.semilogy(range(len(losses)), losses, label=label, color="C1" if residual else "C0")
        bottom.semilogy(range(1, 11), grads, marker="o", ms=4, label=label, color="C1" if residual else "C0")
    top.set(xlabel="Adam step", ylabel="training MSE", title="22 layers, width 16: training loss")
    bottom.set(xlabel="block (1 = next to the input)", ylabel="‖∂L/∂W‖ at init", xticks=range(1, 11),
               title="gradient of each block's first layer")
    for ax in (top, bottom):
        _style(ax)
        ax.legend(fontsize=FONT)
    return fig


@figure("residual-paths.svg")
def paths(plt):
    from snippets import residual as rs
    n = 54  # ResNet-110: 3 stages of 18 blocks
    p = rs.path_length_distribution(n)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    colors = ["C1" if 19 <= k <= 35 else "C0" for k in range(n + 1)]
    ax.bar(range(n + 1), p, color=colors, width=0.85)
    ax.set(xlabel="path length k (branches taken)", ylabel="fraction of the $2^{54}$ paths",
           title="54 blocks: Binomial(54, 1/2); orange: k = 19 to 35", xlim=(-1, n + 1))
    _style(ax)
    return fig
