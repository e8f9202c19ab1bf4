"""Figures for docs/*/activations.md, drawn from snippets/activations.py. One column, at most 5 inches wide."""
from kb.figures import figure


@figure("activations.svg")
def activations(plt):
    import torch
    from snippets import activations as act
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    curves = [("σ", act.sigmoid, act.sigmoid_derivative), ("tanh", act.tanh, act.tanh_derivative),
              ("ReLU", act.relu, act.relu_derivative),
              ("Leaky ReLU, k=0.1", lambda v: act.leaky_relu(v, 0.1), lambda v: act.leaky_relu_derivative(v, 0.1))]
    fig, (ax_f, ax_d) = plt.subplots(2, 1, figsize=(5, 6), sharex=True)
    for label, f, df in curves:
        ax_f.plot(x, f(x), label=label)
        ax_d.plot(x, df(x), label=label)
    ax_d.axhline(0.25, color="grey", lw=0.8, ls=":")
    ax_d.annotate("1/4", (-4.9, 0.27), color="grey")
    ax_f.set(title="f(x)", ylim=(-1.5, 3))
    ax_d.set(title="f′(x)", xlabel="x", ylim=(-0.1, 1.15))
    ax_f.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _derivative(f, x):
    import torch
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), [x])
    return g.detach()


@figure("smooth_activations.svg")
def smooth_activations(plt):
    import torch
    from snippets import activations as act
    x = torch.linspace(-4, 3, 1401, dtype=torch.float64)
    curves = [("ReLU", act.relu), ("GELU", act.gelu), ("SiLU", act.swish), ("Mish", act.mish),
              ("ELU", act.elu), ("SELU", act.selu)]
    fig, (ax_f, ax_d) = plt.subplots(2, 1, figsize=(5, 6.2), sharex=True)
    for label, f in curves:
        style = {"color": "black", "lw": 0.9, "ls": "--"} if label == "ReLU" else {}
        ax_f.plot(x, f(x).detach(), label=label, **style)
        ax_d.plot(x, _derivative(f, x), label=label, **style)
    for ax in (ax_f, ax_d):
        ax.axhline(0, color="grey", lw=0.6)
    ax_f.set(title="f(x)", ylim=(-1.9, 3.2))
    ax_d.set(title="f′(x)", xlabel="x", ylim=(-0.25, 1.9))
    ax_f.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


@figure("softplus.svg")
def softplus(plt):
    import torch
    from snippets import activations as act
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(x, act.relu(x), color="black", lw=0.9, ls="--", label="ReLU")
    for beta in (1.0, 2.0, 5.0):
        ax.plot(x, act.softplus(x, beta), label=f"β={beta:g}")
    ax.set(title=r"$\log(1+e^{\beta x})/\beta$", xlabel="x", ylim=(-0.1, 3.2))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@figure("gelu_tanh_error.svg")
def gelu_tanh_error(plt):
    import torch
    from snippets import activations as act
    x = torch.linspace(-6, 6, 2401, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.plot(x, 1e4 * (act.gelu_tanh(x) - act.gelu(x)))
    ax.axhline(0, color="grey", lw=0.6)
    ax.set(title=r"$10^4\,(\mathrm{GELU}_{\tanh}(x)-\mathrm{GELU}(x))$", xlabel="x")
    fig.tight_layout()
    return fig
