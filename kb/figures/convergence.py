"""Figures for docs/*/convergence.md, drawn from snippets/convergence.py."""
from kb.figures import figure


@figure("convergence-step-size.svg")
def step_size(plt):
    import torch
    from snippets import convergence as cv
    curv = 4.0  # f(x) = 2 x^2, L = 4, 2/L = 0.5
    a, x0 = torch.tensor([[curv]], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    runs = [(0.1, "η = 0.1 < 1/L"), (0.25, "η = 1/L"), (0.45, "1/L < η = 0.45 < 2/L"),
            (0.5, "η = 2/L"), (0.52, "η = 0.52 > 2/L")]
    fig, (ax_p, ax_t) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    u = torch.linspace(-1.6, 1.6, 200, dtype=torch.float64)
    ax_p.plot(u, 0.5 * curv * u ** 2, color="grey", lw=1)
    for i, (lr, label) in enumerate(runs):
        xs = cv.gradient_descent_quadratic(a, x0, lr, 40)[:, 0]
        ax_t.semilogy(range(41), xs.abs().clamp(min=1e-16), marker=".", ms=3, color=f"C{i}", label=label)
        if lr in (0.45, 0.52):  # the zig-zag across the valley, first 8 steps
            path = xs[:9]
            ax_p.plot(path, 0.5 * curv * path ** 2, marker="o", ms=3, lw=0.8, color=f"C{i}", label=label)
    ax_p.set(title="f(x) = L x²/2, L = 4: iterates", xlabel="x", ylabel="f(x)", ylim=(-0.2, 5.5))
    ax_p.legend(fontsize=8)
    ax_t.set(title="|x_t|", xlabel="step t", ylim=(1e-16, 1e2))
    ax_t.legend(fontsize=8)
    return fig
