"""Figures for docs/*/batch_norm.md, drawn from snippets/batch_norm.py."""
from kb.figures import figure


@figure("batch_norm-convergence.svg")
def convergence(plt):
    import torch
    from snippets import batch_norm as bn
    fig, ax = plt.subplots(figsize=(7, 3.4))
    every = 5
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        x = 3 * torch.randn(512, 20, generator=g) + 1
        y = ((x - 1) @ torch.randn(20, generator=g) > 0).long()
        for use_bn, color in ((False, "tab:red"), (True, "tab:blue")):
            torch.manual_seed(seed)
            net = bn.sigmoid_mlp(20, 32, 6, 2, batch_norm=use_bn)
            losses = bn.train_classifier(net, x, y, steps=70, batch_size=256,
                                         generator=torch.Generator().manual_seed(seed + 100), eval_every=every)
            label = ("with BN" if use_bn else "without BN") if seed == 0 else None
            ax.plot(range(every, 71, every), losses, color=color, alpha=0.8, label=label)
    ax.axhline(0.6931, color="grey", lw=0.8, ls=":")
    ax.annotate("ln 2", (64, 0.63), color="grey")
    ax.set(xlabel="SGD step (batch 256)", ylabel="cross-entropy (eval mode, all 512 points)",
           title="6 × [Linear → (BN →) sigmoid], 3 seeds", ylim=(0, 0.9))
    ax.legend()
    return fig
