"""Figures for docs/*/cross_entropy.md, drawn from snippets/cross_entropy.py."""
from kb.figures import figure


@figure("cross_entropy-gradients.svg")
def gradients(plt):
    import math

    import torch
    from snippets import cross_entropy as ce
    z = torch.linspace(-10, 10, 801, dtype=torch.float64)
    fig, (ax_g, ax_t) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_g.semilogy(z, ce.sigmoid_bce_gradient(z, 1.0).abs(), label="L = −log σ(z):  |σ(z) − 1|")
    ax_g.semilogy(z, ce.sigmoid_mse_gradient(z, 1.0).abs(), label="L = ½(σ(z) − 1)²:  |σ(z) − 1|·σ′(z)")
    ax_g.axvspan(-10, -4, color="#ef5350", alpha=0.08)
    ax_g.set(title="|∂L/∂z|,  y = 1", xlabel="z", ylim=(1e-5, 2))
    ax_g.legend(fontsize=7.5, loc="lower left")
    steps = 300
    mse = ce.train_sigmoid_neuron(2.0, 2.0, 1.0, 0.0, 0.15, steps, loss="mse")
    bce = ce.train_sigmoid_neuron(2.0, 2.0, 1.0, 0.0, 0.15, steps, loss="bce")
    ax_t.plot([math.sqrt(2 * v) for v in mse], label="½(a − y)²")
    ax_t.plot([1 - math.exp(-v) for v in bce], label="−[y log a + (1 − y) log(1 − a)]")
    ax_t.set(title="a = σ(w·1 + b),  y = 0,  w₀ = b₀ = 2,  η = 0.15", xlabel="step", ylabel="a", ylim=(0, 1))
    ax_t.legend(fontsize=7.5)
    return fig
