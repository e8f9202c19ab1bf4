"""Figures for docs/*/batch_size.md, drawn from snippets/batch_size.py."""
import math

from kb.figures import figure


@figure("batch_size-steps-epochs.svg")
def steps_epochs(plt):
    import torch
    from snippets import batch_size as bs
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    lrs = torch.logspace(-2, math.log10(0.6), 10, dtype=torch.float64)
    scales = torch.logspace(0, -0.5 * math.log10(20), 10, dtype=torch.float64)
    steps = []
    for b in batches:
        total = 0
        for seed in range(4):  # same least-squares family as the check: N = 1024, d = 10, condition ~20
            g = torch.Generator().manual_seed(seed)
            x = torch.randn(1024, 10, generator=g, dtype=torch.float64) * scales
            y = x @ torch.randn(10, generator=g, dtype=torch.float64) + 0.5 * torch.randn(1024, generator=g,
                                                                                        dtype=torch.float64)
            best = torch.linalg.lstsq(x, y[:, None]).solution.squeeze(1)
            target = 1.05 * (x @ best - y).pow(2).mean().item()
            total += bs.sgd_steps_to_target(x, y, b, lrs, target, 5000, torch.Generator().manual_seed(100 + seed))
        steps.append(total / 4)
    epochs = [s * b / 1024 for s, b in zip(steps, batches)]
    fig, (ax_s, ax_e) = plt.subplots(2, 1, figsize=(5, 6.4), sharex=True)  # one column: legible on a phone
    ax_s.loglog(batches, steps, marker="o", label="SGD, best lr")
    ax_s.loglog(batches, [steps[0] / b for b in batches], ls="--", color="grey", label="∝ 1/B")
    ax_s.set(ylabel="steps to L ≤ 1.05 L*", ylim=(5, 1000))
    ax_e.loglog(batches, epochs, marker="o", color="C1")
    ax_e.loglog(batches, [epochs[0]] * len(batches), ls="--", color="grey", label="constant")
    ax_e.set(xlabel="B", ylabel="epochs to L ≤ 1.05 L*")
    for ax in (ax_s, ax_e):
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=8)
    return fig
