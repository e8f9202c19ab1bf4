"""Figures for docs/*/softmax.md, drawn from snippets/softmax.py."""
from kb.figures import figure


@figure("softmax.svg")
def softmax(plt):
    import torch
    from snippets.softmax import softmax as sm
    z = torch.tensor([3.0, 1.0, -3.0], dtype=torch.float64)
    p = sm(z)
    fig, (ax_z, ax_p) = plt.subplots(2, 1, figsize=(4.6, 4.6))
    names = ["z₁", "z₂", "z₃"]
    ax_z.bar(names, z.tolist(), color="#5c6bc0")
    ax_z.set(title="logits z")
    ax_p.bar(names, p.tolist(), color="#26a69a")
    for i, v in enumerate(p):
        ax_p.annotate(f"{v:.3f}", (i, float(v) + 0.02), ha="center")
    ax_p.set(title="softmax(z), Σ = 1", ylim=(0, 1.1))
    return fig


@figure("softmax-temperature.svg")
def temperature(plt):
    import torch
    from snippets.softmax import softmax_with_temperature
    z = torch.tensor([3.0, 1.0, -3.0], dtype=torch.float64)
    temps = torch.logspace(-1.5, 2, 141, dtype=torch.float64)
    p = torch.stack([softmax_with_temperature(z, float(T)) for T in temps])
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for j, name in enumerate(["z₁ = 3", "z₂ = 1", "z₃ = −3"]):
        ax.semilogx(temps, p[:, j], label=name)
    ax.axhline(1 / 3, color="0.5", lw=0.8, ls="--")
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set(xlabel="T", ylabel="softmax(z/T)ⱼ", title="T → 0: one-hot;  T → ∞: 1/K", ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="center left")
    return fig
