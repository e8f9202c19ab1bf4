"""Figures for docs/*/generalization.md, drawn from snippets/generalization.py."""
from kb.figures import figure


@figure("generalization-capacity.svg")
def capacity(plt):
    import numpy as np
    import torch
    from snippets import generalization as gen
    rng = np.random.default_rng(0)
    sigma, n, degrees = 0.3, 15, range(15)

    def draw(n_points):  # same family as the checks: sin(pi x) + N(0, 0.3^2), stratified x on [-1, 1]
        x = -1 + 2 * (np.arange(n_points) + rng.uniform(size=n_points)) / n_points
        return torch.from_numpy(x), torch.from_numpy(np.sin(np.pi * x) + sigma * rng.normal(size=n_points))

    xt = torch.from_numpy(rng.uniform(-1, 1, 2000))
    yt = torch.sin(np.pi * xt) + sigma * torch.from_numpy(rng.normal(size=2000))
    curves = []
    for _ in range(9):
        x, y = draw(n)
        row = []
        for d in degrees:
            w = gen.least_squares_fit(gen.legendre_features(x, d), y)
            row.append([(gen.legendre_features(x, d) @ w - y).pow(2).mean().item(),
                        (gen.legendre_features(xt, d) @ w - yt).pow(2).mean().item()])
        curves.append(row)
    med = np.median(np.array(curves), axis=0)

    fig, (ax_fit, ax_err) = plt.subplots(1, 2, figsize=(9, 3.6))
    x, y = draw(n)
    grid = torch.linspace(-1, 1, 400, dtype=torch.float64)
    ax_fit.plot(grid, torch.sin(np.pi * grid), color="grey", lw=1, ls="--", label="sin(πx)")
    for d, color in ((1, "C0"), (3, "C2"), (14, "C3")):
        w = gen.least_squares_fit(gen.legendre_features(x, d), y)
        ax_fit.plot(grid, gen.legendre_features(grid, d) @ w, color=color, label=f"degree {d}")
    ax_fit.scatter(x, y, color="k", s=12, zorder=3)
    ax_fit.set(xlabel="x", ylabel="y", ylim=(-2, 2), title="15 noisy points (σ = 0.3)")
    ax_fit.legend(fontsize=8, loc="lower right")

    # degree 14 interpolates the 15 points: its training MSE is ~0 and is drawn at the bottom edge
    ax_err.semilogy(list(degrees), np.maximum(med[:, 0], 1e-6), marker="o", label="training MSE")
    ax_err.semilogy(list(degrees), med[:, 1], marker="o", label="held-out MSE")
    ax_err.axhline(sigma ** 2, color="grey", ls=":", lw=1, label="σ² (noise)")
    ax_err.set(xlabel="polynomial degree (capacity)", ylabel="MSE (median of 9 data sets)", ylim=(1e-6, 1e6))
    ax_err.legend(fontsize=8)
    return fig
