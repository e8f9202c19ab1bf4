"""Figures for docs/*/fundamentals.md, drawn from snippets/fundamentals.py."""
import math

from kb.figures import figure


@figure("fundamentals-relu-interpolant.svg")
def relu_interpolant(plt):
    import torch
    from snippets import fundamentals as fu
    x = torch.arange(2 ** 12 + 1, dtype=torch.float64) / 2 ** 12
    sine = lambda v: torch.sin(2 * math.pi * v)  # noqa: E731
    fig, (ax_f, ax_e) = plt.subplots(2, 1, figsize=(5, 6.4))  # one column: legible on a phone
    ax_f.plot(x, sine(x), color="black", lw=1, label=r"$\sin 2\pi x$")
    for n, color in ((4, "C0"), (8, "C1")):
        knots = torch.arange(n + 1, dtype=torch.float64) / n
        net = fu.relu_interpolant(knots, sine(knots))
        with torch.no_grad():
            ax_f.plot(x, net(x.unsqueeze(1)).squeeze(1), color=color, label=f"$n={n}$")
        ax_f.plot(knots, sine(knots), "o", ms=3, color=color)
    ax_f.set(xlabel="$x$", ylabel=r"$f(x),\ \hat f_n(x)$", xticks=[0, 0.25, 0.5, 0.75, 1])
    ax_f.legend(fontsize=8, loc="upper right")
    widths = [2 ** k for k in range(2, 11)]
    for target, color, label in ((sine, "C0", r"$\sin 2\pi x$"), (torch.sqrt, "C2", r"$\sqrt{x}$")):
        errors = []
        for n in widths:
            knots = torch.arange(n + 1, dtype=torch.float64) / n
            with torch.no_grad():
                y = fu.relu_interpolant(knots, target(knots))(x.unsqueeze(1)).squeeze(1)
            errors.append((y - target(x)).abs().max().item())
        ax_e.loglog(widths, errors, marker="o", color=color, label=label)
    ax_e.loglog(widths, [fu.interpolation_error_bound(n, 1.0, 4 * math.pi ** 2) for n in widths], ls="--",
                color="grey", label=r"$\pi^2/(2n^2)$")
    ax_e.loglog(widths, [1 / (4 * math.sqrt(n)) for n in widths], ls=":", color="grey", label=r"$1/(4\sqrt{n})$")
    ax_e.set(xlabel="$n$", ylabel=r"$\max_x |f-\hat f_n|$")
    ax_e.set_xscale("log", base=2)
    ax_e.legend(fontsize=8)
    return fig
