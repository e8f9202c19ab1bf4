"""Figures for docs/*/optimizers.md, drawn from snippets/optimizers.py."""
from kb.figures import figure

# One setting per optimizer for the quadratic f = (x^2 + 20 y^2) / 2, started at (-4, 1.5).
_QUADRATIC_RUNS = [
    ("SGD", "sgd_step", dict(lr=0.09)),
    ("Momentum", "momentum_step", dict(lr=0.03, momentum=0.8)),
    ("Nesterov", "momentum_step", dict(lr=0.03, momentum=0.8, nesterov=True)),
    ("AdaGrad", "adagrad_step", dict(lr=1.0)),
    ("AdaDelta", "adadelta_step", dict()),
    ("RMSprop", "rmsprop_step", dict(lr=0.1, alpha=0.9)),
    ("Adam", "adam_step", dict(lr=0.2)),
]


@figure("optimizers-trajectories.svg")
def trajectories(plt):
    import torch
    from snippets import optimizers as opt
    curv = torch.tensor([1.0, 20.0], dtype=torch.float64)
    start = torch.tensor([-4.0, 1.5], dtype=torch.float64)
    steps = 60
    fig, (ax_p, ax_f) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.35, 1]})
    xs, ys = torch.meshgrid(torch.linspace(-4.5, 1.5, 200), torch.linspace(-2, 2, 200), indexing="xy")
    ax_p.contour(xs, ys, 0.5 * (xs ** 2 + 20 * ys ** 2), levels=[0.05, 0.3, 1, 2.5, 5, 9, 14, 25],
                 colors="grey", linewidths=0.5)
    for label, name, hyper in _QUADRATIC_RUNS:
        path = opt.optimize(getattr(opt, name), lambda th: opt.quadratic_grad(th, curv), start, steps, **hyper)
        line, = ax_p.plot(path[:, 0], path[:, 1], marker=".", ms=3, lw=1, label=label)
        loss = 0.5 * (curv * path ** 2).sum(1)
        ax_f.semilogy(range(steps + 1), loss, color=line.get_color(), label=label)
    ax_p.plot(0, 0, "k*", ms=8)
    ax_p.set(xlim=(-4.5, 1.5), ylim=(-2, 2), xlabel="θ₁", ylabel="θ₂", title="f = (θ₁² + 20 θ₂²) / 2")
    ax_f.set(xlabel="t", ylabel="f(θₜ)", ylim=(1e-8, 50))
    ax_f.legend(fontsize=7, ncol=2)
    return fig


@figure("optimizers-step-sizes.svg")
def step_sizes(plt):
    import torch
    from snippets import optimizers as opt
    steps = 200
    one = torch.ones(1, dtype=torch.float64)
    runs = [("AdaGrad, η=0.01", opt.adagrad_step, dict(lr=0.01)),
            ("RMSprop, η=0.01, α=0.9", opt.rmsprop_step, dict(lr=0.01, alpha=0.9)),
            ("Adam, η=0.01", opt.adam_step, dict(lr=0.01)),
            ("AdaDelta, ρ=0.9, ε=10⁻⁶", opt.adadelta_step, dict()),
            ("AdaDelta, ρ=0.9, ε=10⁻⁴", opt.adadelta_step, dict(eps=1e-4))]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for label, step, hyper in runs:
        path = opt.optimize(step, lambda th: one, torch.zeros(1, dtype=torch.float64), steps, **hyper)
        ax.loglog(range(1, steps + 1), (path[:-1] - path[1:]).squeeze(1), label=label)
    ax.set(xlabel="t", ylabel="|Δθₜ|   (gₜ ≡ 1)")
    ax.legend(fontsize=7)
    return fig


@figure("optimizers-saddle.svg")
def saddle(plt):
    import torch
    from snippets import optimizers as opt
    steps, lr = 350, 0.1
    fig, (ax_f, ax_y) = plt.subplots(1, 2, figsize=(10, 3.4))
    f = lambda th: 0.5 * th[:, 0] ** 2 - 0.5 * th[:, 1] ** 2 + 0.25 * th[:, 1] ** 4  # noqa: E731
    for color, exponent in zip(("C0", "C1", "C2", "C3"), (None, -10, -5, -2)):
        y0 = 0.0 if exponent is None else 10.0 ** exponent
        start = torch.tensor([1.0, y0], dtype=torch.float64)
        path = opt.optimize(opt.sgd_step, opt.saddle_grad, start, steps, lr=lr)
        label = "$y_0 = 0$" if exponent is None else f"$y_0 = 10^{{{exponent}}}$"
        ax_f.plot(f(path), color=color, label=label)
        if y0:  # |y| = 0 has no place on a log axis
            ax_y.semilogy(path[:, 1].abs(), color=color, label=label)
    noise = torch.Generator().manual_seed(0)
    noisy = lambda th: opt.saddle_grad(th) + 1e-3 * torch.randn(2, generator=noise, dtype=torch.float64)  # noqa
    path = opt.optimize(opt.sgd_step, noisy, torch.tensor([1.0, 0.0], dtype=torch.float64), steps, lr=lr)
    ax_f.plot(f(path), "k--", label=r"$y_0 = 0,\ \sigma_g = 10^{-3}$")
    ax_y.semilogy(path[:, 1].abs(), "k--", label=r"$y_0 = 0,\ \sigma_g = 10^{-3}$")
    ax_f.axhline(-0.25, color="grey", lw=0.8, ls=":")
    ax_f.set(xlabel="t", ylabel="f(xₜ, yₜ)", title="f = x²/2 − y²/2 + y⁴/4")
    ax_y.set(xlabel="t", ylabel="|yₜ|", ylim=(1e-12, 3))
    ax_f.legend(fontsize=7)
    return fig
