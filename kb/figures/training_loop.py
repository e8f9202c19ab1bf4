"""Figures for docs/*/training_loop.md, drawn from snippets/training_loop.py."""
import math

from kb.figures import figure


@figure("training_loop-early-stopping.svg")
def early_stopping(plt):
    import torch
    import torch.nn.functional as F
    from torch import nn
    from snippets import training_loop as tl
    # the problem of the check training_loop.early-stopping-restores-best, seed 0: 30 examples, 29 features
    g = torch.Generator().manual_seed(50)
    n, d = 30, 29
    w = torch.randn(d, 1, generator=g, dtype=torch.float64) / math.sqrt(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    xv = torch.randn(500, d, generator=g, dtype=torch.float64)
    y = x @ w + 0.7 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    yv = xv @ w + 0.7 * torch.randn(500, 1, generator=g, dtype=torch.float64)

    def run(max_epochs, patience):
        model = nn.Linear(d, 1, bias=False).double()
        with torch.no_grad():
            model.weight.zero_()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)

        def train_epoch():
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
        return tl.train_with_early_stopping(model, train_epoch, lambda: tl.evaluate(model, xv, yv, F.mse_loss),
                                            max_epochs, patience)
    _, full = run(1000, 1000)  # patience larger than the run: never stops, records the whole curve
    best, stopped = run(1000, 10)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.semilogx(range(1, len(full) + 1), full, color="C0", label="$L_{val}(t)$")
    ax.axvline(best, color="C2", ls="--", label="$t^*$")
    ax.axvline(len(stopped), color="C3", ls=":", label="$t^* + p$")
    ax.set(xlabel="$t$", ylabel="$L_{val}$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
