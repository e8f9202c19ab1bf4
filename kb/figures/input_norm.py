"""Figures for docs/*/input_norm.md, drawn from snippets/input_norm.py."""
from kb.figures import figure


def _quadratic_path(curv, step, start, steps):
    """GD iterates on f(w) = (curv[0] w1^2 + curv[1] w2^2) / 2, minimum at 0."""
    import torch
    from snippets import input_norm as inn
    # the snippet's GD on a least-squares problem whose Hessian X^T X / N is diag(curv):
    # two rows scaled so that X^T X / 2 = diag(curv), y chosen so that w* = -start (we plot w - w*)
    x = torch.diag(torch.tensor(curv, dtype=torch.float64).sqrt() * 2 ** 0.5)
    y = x @ (-torch.tensor(start, dtype=torch.float64))
    return inn.gradient_descent(x, y, step, steps) + torch.tensor(start, dtype=torch.float64)


def _level_sets(ax, curv, levels):
    """The contours f = c of f(w) = (curv[0] w1^2 + curv[1] w2^2) / 2: ellipses, drawn as 97-point curves
    (a contour() of a fine grid draws the same curves with thousands of points each)."""
    import numpy as np
    t = np.linspace(0, 2 * np.pi, 97)
    for c in levels:
        ax.plot(np.sqrt(2 * c / curv[1]) * np.sin(t), np.sqrt(2 * c / curv[0]) * np.cos(t), color="grey", lw=0.8)


@figure("input_norm-zigzag.svg")
def zigzag(plt):
    import numpy as np
    import torch
    from snippets import input_norm as inn
    fig = plt.figure(figsize=(9, 5.6))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.6])
    ax_raw = fig.add_subplot(grid[0, :])
    ax_std, ax_err = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])

    # top: w1 in [-10, 10], w2 in [-100, 100]; curvature 1 along w1, 0.01 along w2 (kappa = 100)
    _level_sets(ax_raw, [1.0, 0.01], [2, 8, 18, 32, 50])
    path = _quadratic_path([1.0, 0.01], 1.8, [8.0, -100.0], 60).numpy()
    ax_raw.plot(path[:, 1], path[:, 0], marker=".", ms=3, lw=0.9, color="C3")
    ax_raw.set(xlabel="w₂ ∈ [−100, 100]", ylabel="w₁ ∈ [−10, 10]", xlim=(-110, 110), ylim=(-11, 11),
               title="raw features: κ = 100, 60 steps of GD (η = 1.8)")
    ax_raw.set_aspect("equal")

    # bottom left: after rescaling w2 by 1/10 (feature standardized) the contours are circles
    _level_sets(ax_std, [1.0, 1.0], [2, 8, 18, 32, 50])
    path = _quadratic_path([1.0, 1.0], 1.0, [8.0, -10.0], 3).numpy()
    ax_std.plot(path[:, 1], path[:, 0], marker=".", ms=4, lw=0.9, color="C2")
    ax_std.set(xlabel="w₂ / 10", ylabel="w₁", title="standardized: κ = 1, one step", xlim=(-11, 11), ylim=(-11, 11))
    ax_std.set_aspect("equal")

    # bottom right: the regression of the check (x1 ~ U(-10,10), x2 ~ U(-100,100)), error vs iteration
    rng = np.random.default_rng([0, 0])
    x = np.column_stack([rng.uniform(-10, 10, 200), rng.uniform(-100, 100, 200)])
    y = torch.from_numpy(3 * x[:, 0] - 0.2 * x[:, 1] + rng.normal(size=200))
    x = torch.from_numpy(x)
    for data, label, color in ((x, "raw", "C3"), (inn.z_score(x), "z-scored", "C2")):
        w_star = torch.linalg.lstsq(data, y[:, None]).solution.squeeze(1)
        err = (inn.gradient_descent(data, y, inn.optimal_step(data), 700) - w_star).norm(dim=1) / w_star.norm()
        eig = inn.hessian_eigenvalues(data)
        kappa = (eig[-1] / eig[0]).item()
        ax_err.semilogy(err.clamp(min=1e-16).numpy(), color=color, label=f"{label}, κ = {kappa:.1f}")
        rho = (kappa - 1) / (kappa + 1)
        ax_err.semilogy(rho ** np.arange(701), color=color, ls=":", lw=0.8)
    ax_err.set(xlabel="iteration t", ylabel="‖w_t − w*‖ / ‖w*‖", ylim=(1e-12, 2),
               title="η = 2/(L+μ); dotted: ((κ−1)/(κ+1))ᵗ")
    ax_err.legend(fontsize=8)
    return fig
