"""Figures for docs/*/activations.md, drawn from snippets/activations.py."""
from kb.figures import figure


@figure("activations.svg")
def activations(plt):
    import torch
    from snippets import activations as act
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    curves = [("σ", act.sigmoid, act.sigmoid_derivative), ("tanh", act.tanh, act.tanh_derivative),
              ("ReLU", act.relu, act.relu_derivative),
              ("Leaky ReLU, k=0.1", lambda v: act.leaky_relu(v, 0.1), lambda v: act.leaky_relu_derivative(v, 0.1))]
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(9, 3.4))
    for label, f, df in curves:
        ax_f.plot(x, f(x), label=label)
        ax_d.plot(x, df(x), label=label)
    ax_d.axhline(0.25, color="grey", lw=0.8, ls=":")
    ax_d.annotate("1/4", (-4.9, 0.27), color="grey")
    ax_f.set(title="f(x)", xlabel="x", ylim=(-1.5, 3))
    ax_d.set(title="f′(x)", xlabel="x", ylim=(-0.1, 1.15))
    ax_f.legend(fontsize=8)
    return fig
