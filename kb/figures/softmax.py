"""Figures for docs/*/softmax.md, drawn from snippets/softmax.py."""
from kb.figures import figure


@figure("softmax.svg")
def softmax(plt):
    import torch
    from snippets.softmax import softmax as sm
    z = torch.tensor([3.0, 1.0, -3.0], dtype=torch.float64)
    p = sm(z)
    fig, (ax_z, ax_p) = plt.subplots(1, 2, figsize=(7, 2.8))
    names = ["z₁", "z₂", "z₃"]
    ax_z.bar(names, z.tolist(), color="#5c6bc0")
    ax_z.set(title="logits z")
    ax_p.bar(names, p.tolist(), color="#26a69a")
    for i, v in enumerate(p):
        ax_p.annotate(f"{v:.3f}", (i, float(v) + 0.02), ha="center")
    ax_p.set(title="softmax(z), Σ = 1", ylim=(0, 1.05))
    return fig
