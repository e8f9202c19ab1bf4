"""Checks for docs/*/regularization.md. Oracles: torch.optim, autograd, nn.Dropout, closed forms
(KKT conditions, SVD filter factors, ridge via least squares), exhaustive mask enumeration, Monte Carlo."""
import functools
import itertools
import math

import numpy as np
import torch
from torch import nn
from torch.testing import assert_close

from snippets import regularization as reg
from verify._registry import check, signature_defaults


def _legendre(x, degree):
    """Legendre features on [0, 1]: a well-conditioned polynomial basis."""
    return torch.from_numpy(np.polynomial.legendre.legvander(2 * x - 1, degree))


def _ridge_oracle(X, y, lam, penalize):
    """Ridge by ordinary least squares on the augmented system [X; sqrt(lam D)] w ~ [y; 0]."""
    aug = torch.cat([X, torch.diag((lam * penalize).sqrt())])
    rhs = torch.cat([y, torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)])
    return torch.linalg.lstsq(aug.cpu(), rhs.cpu().unsqueeze(1), driver="gelsd").solution.squeeze(1).to(X)


def _meta_default(fn, *args, **kwargs):
    """fn(*args) with torch's default device set to 'meta': a tensor the snippet creates without device= lands
    there and cannot be mixed with the inputs, so an unchanged result shows it creates them where its inputs live."""
    with torch.device("meta"):
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- bias and variance

@check("regularization.bias-variance", devices=("cpu",), kind="statistical")
def bias_variance(t):
    """High variance = the fit moves a lot between training sets (spread out), low bias = right on average."""
    x, x_test = torch.linspace(0, 1, 20, dtype=torch.float64), torch.linspace(0.05, 0.95, 50, dtype=torch.float64)
    f, f_test = torch.sin(2 * math.pi * x), torch.sin(2 * math.pi * x_test)
    sigma, draws = 0.3, 4000
    noise = sigma * t.randn(draws, 20).cpu()
    exact = {}
    for degree in (1, 7):
        V, V_test = _legendre(x.numpy(), degree), _legendre(x_test.numpy(), degree)
        P = V_test @ torch.linalg.pinv(V)
        bias2, var = reg.bias_variance(P, f, f_test, sigma)
        exact[degree] = (bias2.item(), var.item())
        # oracle: refit by least squares on `draws` independent noisy training sets
        coef = torch.linalg.lstsq(V, (f + noise).T).solution  # (degree + 1, draws)
        pred = (V_test @ coef).T                                # (draws, 50)
        s2 = pred.var(0)                                        # per test point, unbiased
        # sample variance of a normal: SD = s^2 sqrt(2/(K-1)); the SD of the mean over points <= mean SD
        se_var = (s2 * math.sqrt(2 / (draws - 1))).mean().item()
        assert abs(s2.mean().item() - var.item()) < 6 * se_var
        # squared error of the mean fit overstates bias^2 by var/K; its SD is at most mean sqrt(4 b^2 s^2/K + 2 s^4/K^2)
        b = V_test @ torch.linalg.lstsq(V, f.unsqueeze(1)).solution.squeeze(1) - f_test
        est = ((pred.mean(0) - f_test) ** 2).mean().item() - s2.mean().item() / draws
        se_b = torch.sqrt(4 * b ** 2 * s2 / draws + 2 * s2 ** 2 / draws ** 2).mean().item()
        assert abs(est - bias2.item()) < 6 * se_b
    # degree 7 vs degree 1 (design, seed-free closed form): variance 0.0296 vs 0.0079, bias^2 2.8e-8 vs 0.18
    assert exact[7][1] > 3 * exact[1][1] and exact[7][0] < 1e-3 * exact[1][0]
    # the numbers the page prints (closed forms on a fixed design: the same for every seed)
    assert round(t.record("var_ratio", exact[7][1] / exact[1][1]), 1) == 3.7
    assert round(t.record("bias2_line", exact[1][0]), 2) == 0.18
    assert round(t.record("var_line", exact[1][1]), 4) == 0.0079
    assert round(t.record("bias2_poly7_e8", exact[7][0] * 1e8), 1) == 2.8
    assert round(t.record("var_poly7", exact[7][1]), 3) == 0.030


@check("regularization.more-data-less-variance", devices=("cpu",))
def more_data_less_variance(t):
    """For least squares with p features, the prediction variance averaged over the training inputs is
    s^2 p / n; at a new input x it is s^2 x^T (X^T X)^-1 x."""
    sigma, p = 0.5, 8
    beta = t.randn(p, stream=99).cpu()
    variances = []
    for n in (40, 80, 160):
        X = t.randn(n, p, stream=n).cpu()
        # hat matrix from a QR factorisation (oracle independent of the normal equations): H = Q Q^T
        q = torch.linalg.qr(X).Q
        bias2, var = reg.bias_variance(q @ q.T, X @ beta, X @ beta, sigma)
        assert bias2.item() < 1e-20                        # a correct model has no bias
        assert_close(var.item(), sigma ** 2 * p / n, rtol=1e-10, atol=0)  # tr(H) = p
        variances.append(var.item())
        # at new inputs the variance is larger: s^2 mean_i x_i^T (X^T X)^-1 x_i over the test points
        xt = t.randn(500, p, stream=n + 1).cpu()
        _, var_new = reg.bias_variance(xt @ torch.linalg.pinv(X), X @ beta, xt @ beta, sigma)
        ref = sigma ** 2 * torch.einsum("ij,jk,ik->i", xt, torch.linalg.inv(X.T @ X), xt).mean()
        assert_close(var_new, ref, rtol=1e-10, atol=0)
    assert_close(variances[0] / variances[1], 2.0, rtol=1e-10, atol=0)  # doubling n halves the variance


@check("regularization.more-data-less-variance", devices=("cpu",), kind="statistical")
def more_data_less_variance_new_inputs(t):
    """Averaged over Gaussian designs and new Gaussian inputs the variance is s^2 p / (n - p - 1) (the mean of
    an inverse Wishart), not s^2 p / n; it still roughly halves when n doubles (n >> p)."""
    sigma, p, designs = 1.0, 8, 400
    means = {}
    for n in (40, 80):
        g = t.generator(stream=n)
        X = torch.randn(designs, n, p, generator=g, dtype=torch.float64)
        tr = torch.linalg.inv(X.transpose(1, 2) @ X).diagonal(dim1=1, dim2=2).sum(1)  # E_x[x^T S^-1 x] = tr S^-1
        exact = sigma ** 2 * p / (n - p - 1)
        assert abs(tr.mean().item() - exact) < 6 * tr.std().item() / math.sqrt(designs)
        assert abs(tr.mean().item() - sigma ** 2 * p / n) > 6 * tr.std().item() / math.sqrt(designs)  # p/n rejected
        means[n] = t.record(f"var_new_n{n}", exact)
    assert 2 < t.record("ratio_40_80", means[40] / means[80]) < 2.5


# ---------------------------------------------------------------- biases

@check("regularization.penalizing-bias-underfits", devices=("cpu",))
def penalizing_bias_underfits(t):
    """Shrinking the intercept toward 0 biases every prediction; leaving it free costs nothing."""
    n, lam = 100, 10.0
    X = torch.cat([torch.ones(n, 1, dtype=torch.float64), t.randn(n, 3).cpu()], 1)
    y = 50 + X[:, 1:] @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.1 * t.randn(n, stream=1).cpu()
    everything, weights_only = torch.ones(4, dtype=torch.float64), torch.tensor([0.0, 1, 1, 1], dtype=torch.float64)
    w_all, w_free = reg.ridge_fit(X, y, lam, everything), reg.ridge_fit(X, y, lam, weights_only)
    assert_close(w_all, _ridge_oracle(X, y, lam, everything), rtol=1e-10, atol=1e-10)
    assert_close(w_free, _ridge_oracle(X, y, lam, weights_only), rtol=1e-10, atol=1e-10)
    assert_close(reg.ridge_fit(X, y, lam), w_all, rtol=1e-12, atol=1e-12)  # penalize=None: every column
    assert torch.equal(_meta_default(reg.ridge_fit, X, y, lam), reg.ridge_fit(X, y, lam))
    mse_all, mse_free = ((y - X @ w_all) ** 2).mean(), ((y - X @ w_free) ** 2).mean()
    # seed 0: intercept 45.4 vs 50.03, training MSE 20.8 vs 0.050
    assert abs(w_free[0].item() - 50) < 0.1 < abs(w_all[0].item() - 50)
    assert mse_all > 100 * mse_free
    # printed for seed 0; for every seed the two inequalities above are what the check asserts
    assert 40 < t.record("intercept_penalized", w_all[0].item()) < 50 - 0.1
    t.record("mse_penalized", mse_all.item())
    assert 0 < t.record("mse_free", mse_free.item()) < mse_all.item() / 100


@check("regularization.no-bias-decay-groups")
def no_bias_decay_groups(t):
    """Two parameter groups apply weight decay to the weight matrix and leave the bias exactly undecayed."""
    t.seed_modules()
    net = nn.Linear(5, 3).to(t.device, t.dtype)
    ref, decay_all = nn.Linear(5, 3).to(t.device, t.dtype), nn.Linear(5, 3).to(t.device, t.dtype)
    ref.load_state_dict(net.state_dict())
    decay_all.load_state_dict(net.state_dict())
    x, y = t.randn(16, 5), t.randn(16, 3, stream=1)
    lr, wd = 0.1, 0.05
    opt = torch.optim.SGD(reg.param_groups_without_bias_decay(net, wd), lr=lr)
    opt_all = torch.optim.SGD(decay_all.parameters(), lr=lr, weight_decay=wd)
    for _ in range(5):
        for model, o in ((net, opt), (decay_all, opt_all)):
            o.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            o.step()
        # oracle: the same step written out, decay only on the 2-D weight
        w, b = ref.weight.detach().clone().requires_grad_(True), ref.bias.detach().clone().requires_grad_(True)
        ((x @ w.T + b - y) ** 2).mean().backward()
        with torch.no_grad():
            ref.weight.copy_(w - lr * (w.grad + wd * w))
            ref.bias.copy_(b - lr * b.grad)
    # nn.Linear uses addmm, the oracle matmul + add: summation order may differ on CUDA (not yet run there)
    atol = 1e-13 if t.is_cuda else 1e-15
    assert_close(net.weight, ref.weight, rtol=0, atol=atol)
    assert_close(net.bias, ref.bias, rtol=0, atol=atol)
    assert (decay_all.bias - net.bias).abs().max() > 1e-4  # decaying everything does move the bias
    groups = reg.param_groups_without_bias_decay(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), wd)
    assert [len(g["params"]) for g in groups] == [1, 3]  # weight | bias, LayerNorm gain and bias
    # the second group carries its own weight_decay = 0, so an optimizer-wide default cannot decay the biases
    opt = torch.optim.SGD(groups, lr=lr, weight_decay=0.5)
    assert [g["weight_decay"] for g in opt.param_groups] == [wd, 0.0]


# ---------------------------------------------------------------- L1 and L2

@check("regularization.penalty-gradients", dtypes=("float32", "float64"))
def penalty_gradients(t):
    """L1 = alpha sum|w| has (sub)gradient alpha sign(w) (0 at 0); (alpha/2)||w||^2 has gradient alpha w."""
    alpha = 0.3
    w = t.randn(1000)
    assert_close(reg.l1_penalty(w, alpha), alpha * torch.linalg.vector_norm(w, ord=1),
                 rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)  # float32: a 1000-term sum, ~10 ulps
    assert_close(reg.l2_penalty(w, alpha), alpha / 2 * torch.linalg.vector_norm(w) ** 2,
                 rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)
    w = torch.cat([w, t.put([0.0])]).requires_grad_(True)
    reg.l1_penalty(w, alpha).backward()
    assert torch.equal(w.grad, alpha * torch.sign(w.detach()))  # autograd picks 0 at w = 0
    assert w.grad[-1].item() == 0.0
    w.grad = None
    reg.l2_penalty(w, alpha).backward()
    assert_close(w.grad, alpha * w.detach(), rtol=t.tol(f64=1e-15, f32=1e-6), atol=0)


def _grid_window(grid, v, pad=0.5):
    """The points of an evenly spaced grid on [min(0, v), max(0, v)] padded by `pad`: every minimizer of
    1/2 (u - v)^2 / eta + a |u| + c u^2 (a, c >= 0) lies between 0 and v (moving u from outside towards that
    interval lowers every term), so a brute-force argmin needs only these points, not the whole grid."""
    step = (grid[-1] - grid[0]) / (len(grid) - 1)
    lo = max(0, int(np.floor((min(0.0, v) - pad - grid[0]) / step)))
    return grid[lo:int(np.ceil((max(0.0, v) + pad - grid[0]) / step)) + 1]


@check("regularization.l1-prox-zeros-l2-shrinks", devices=("cpu",))
def l1_prox_zeros_l2_shrinks(t):
    """The proximal step of the L1 penalty sets small weights exactly to 0; the L2 one only shrinks them."""
    b = torch.linspace(-3, 3, 61, dtype=torch.float64)
    lam = 1.0
    grid = np.linspace(-4, 4, 80001)  # contains 0 exactly; step 1e-4
    window = functools.partial(_grid_window, grid)
    l1, l2 = reg.soft_threshold(b, lam), reg.l2_shrink(b, lam)
    for bi, u1, u2 in zip(b.tolist(), l1.tolist(), l2.tolist()):
        # oracle: brute-force minimization of 1/2 (u - b)^2 + penalty(u) over the grid
        cand = window(bi)
        assert abs(cand[np.argmin(0.5 * (cand - bi) ** 2 + lam * np.abs(cand))] - u1) < 1e-4 + 1e-12
        assert abs(cand[np.argmin(0.5 * (cand - bi) ** 2 + lam / 2 * cand ** 2)] - u2) < 1e-4 + 1e-12
    assert torch.equal(l1 == 0, b.abs() <= lam)           # every |b| <= lam lands exactly on 0
    # one ISTA step with step size eta on 1/2 (w - c)^2 + alpha |w| is the soft threshold at eta * alpha,
    # not at alpha: brute force over the grid of argmin_u 1/2 (u - z)^2 / eta + alpha |u|, z = w - eta (w - c)
    eta, alpha_, c = 0.25, 2.0, 0.3
    for w0 in (-2.0, -1.0, -0.4, 0.2, 0.9, 1.5, 3.0):
        z = w0 - eta * (w0 - c)
        cand = window(z)
        brute = cand[np.argmin(0.5 * (cand - z) ** 2 / eta + alpha_ * np.abs(cand))]
        ours = reg.soft_threshold(torch.tensor([z], dtype=torch.float64), eta * alpha_).item()
        assert abs(brute - ours) < 1e-4 + 1e-12
        if abs(z) > eta * alpha_ and abs(z) <= alpha_:  # the "threshold alpha" misreading would give 0 here
            assert ours != 0.0
    assert ((l2 == 0) == (b == 0)).all()                   # L2 reaches 0 only if it started there
    # orthonormal design: the lasso is soft-thresholded least squares, ridge is OLS / (1 + lam)
    Q = torch.linalg.qr(t.randn(200, 10).cpu()).Q
    beta = torch.tensor([3, -2, 1.5, 0.3, -0.2, 0.1, 0, 0, 0.05, -1], dtype=torch.float64)
    y = Q @ beta + 0.1 * t.randn(200, stream=1).cpu()
    ols = Q.T @ y
    alpha = 0.5
    lasso = reg.soft_threshold(ols, alpha)
    g = Q.T @ (y - Q @ lasso)  # KKT of 1/2||y - Qw||^2 + alpha||w||_1: g = alpha sign(w), or |g| <= alpha at 0
    nz = lasso != 0
    assert_close(g[nz], alpha * torch.sign(lasso[nz]), rtol=0, atol=1e-12)
    assert (g[~nz].abs() <= alpha + 1e-12).all() and (~nz).sum() >= 1
    for ridge_lam in (0.1, 1.0, 10.0):
        ridge = _ridge_oracle(Q, y, ridge_lam, torch.ones(10, dtype=torch.float64))
        assert_close(reg.l2_shrink(ols, ridge_lam), ridge, rtol=1e-10, atol=1e-12)
        assert (ridge != 0).all()


@check("regularization.lasso-exact-zeros", devices=("cpu",))
def lasso_exact_zeros(t):
    """ISTA for the lasso finds the 5 true features and sets the other 45 weights exactly to 0;
    ridge and plain subgradient descent on the same L1 loss give no exact zeros."""
    n, d, alpha = 100, 50, 0.1
    X, noise = t.randn(n, d).cpu(), 0.1 * t.randn(n, stream=1).cpu()
    w_true = torch.zeros(d, dtype=torch.float64)
    w_true[:5] = torch.tensor([3, -2, 1.5, -1, 2], dtype=torch.float64)
    y = X @ w_true + noise
    # ISTA converges linearly once it has found the support: over seeds 0-29 the KKT residual is 2e-9 after 100
    # steps; over seeds 0-99 it is <= 7e-14 after 150 and at rounding level (<= 1.2e-15) from 200 on, so 250 leave
    # a wide margin for the 1e-9 below (the zero set is final from 150 on: min alpha - |g| = 0.0034 at the zeros)
    w = reg.ista_lasso(X, y, alpha, steps=250)
    g = X.T @ (y - X @ w) / n  # KKT oracle for ||y - Xw||^2/(2n) + alpha ||w||_1
    nz = w != 0
    assert_close(g[nz], alpha * torch.sign(w[nz]), rtol=0, atol=1e-9)
    assert (g[~nz].abs() < alpha).all()
    assert nz.nonzero().squeeze(1).tolist() == [0, 1, 2, 3, 4]  # exactly 45 zeros
    ridge = reg.ridge_fit(X, y, n * alpha)
    assert (ridge != 0).all()  # shrunk, never exactly 0 (smallest |w| over seeds 0-9: 3e-5 to 7e-3)
    # subgradient descent on the same objective jitters around 0 instead of landing on it. The step is written out
    # (4 ms; 300 autograd + torch.optim.SGD steps took ~30 ms); that it is the gradient autograd takes through
    # reg.l1_penalty is checked at a point with exact zeros (the ISTA solution) and at a dense one
    def subgradient(v):
        return X.T @ (X @ v - y) / n + alpha * torch.sign(v)

    for point in (w, ridge):
        v = point.clone().requires_grad_(True)
        (((y - X @ v) ** 2).sum() / (2 * n) + reg.l1_penalty(v, alpha)).backward()
        assert_close(v.grad, subgradient(point), rtol=0, atol=1e-12)
    v = torch.zeros(d, dtype=torch.float64)
    for _ in range(300):
        v = v - 0.01 * subgradient(v)  # SGD, lr = 0.01, no momentum
    assert torch.isfinite(v).all() and (v == 0).sum().item() == 0  # (a NaN would also be "non-zero")


@check("regularization.lasso-exact-zeros", devices=("cpu",))
def ista_orthogonal_design(t):
    """ISTA against the closed form of an orthogonal design, where the lasso is soft-thresholding per coordinate."""
    # orthogonal design, X^T X / n = diag(1, h): ISTA's step 1/L = 1 separates the coordinates. The first
    # reaches the lasso solution S(c_1, alpha) in one step; the second, with c_2 > alpha, follows
    # w_k = (1 - h) w_{k-1} + c_2 - alpha, i.e. w_k = (c_2 - alpha) / h * (1 - (1 - h)^k): slow, so the step
    # count shows (after 100 steps one step more moves it by 6e-3 relative)
    n, h, alpha, c, steps = 2, 1e-2, 1e-3, torch.tensor([0.5, 3e-3], dtype=torch.float64), 100
    scale = torch.tensor([1.0, math.sqrt(h)], dtype=torch.float64)
    X = math.sqrt(n) * torch.diag(scale)
    y = n * c / (math.sqrt(n) * scale)                   # so that X^T y / n = c
    slow = lambda k: (c[1] - alpha) / h * (1 - (1 - h) ** k)  # noqa: E731
    assert_close(reg.ista_lasso(X, y, alpha, steps=1)[0], c[0] - alpha, rtol=1e-12, atol=0)
    w = reg.ista_lasso(X, y, alpha, steps=steps)
    assert_close(w, torch.stack([c[0] - alpha, slow(steps)]), rtol=1e-9, atol=0)
    assert abs(w[1] - slow(steps + 1)) > 1e-3 * slow(steps)
    # the default, 3000 steps, read off the signature (running it costs 3000 steps)
    assert signature_defaults(reg.ista_lasso)["steps"] == 3000
    assert torch.equal(_meta_default(reg.ista_lasso, X, y, alpha, steps=2), reg.ista_lasso(X, y, alpha, steps=2))


@check("regularization.weight-decay-is-squared-l2")
def weight_decay_is_squared_l2(t):
    """SGD(weight_decay=lam) follows J0 + (lam/2)||w||^2, not J0 + lam||w|| and not J0 + lam||w||^2."""
    X, y = t.randn(16, 5), t.randn(16, stream=1)
    lam, lr = 0.3, 0.05
    # a start of norm 3: the gradient of lam ||w|| is lam w / ||w||, the same as lam w wherever ||w|| = 1, so a
    # random start near the unit sphere could hide the wrong penalty (seed 93 came within 8e-4 of the builtin);
    # from norm 3, over seeds 0-299 the norm penalty ends >= 3.7e-3 away, the missing 1/2 >= 0.045
    w0 = t.randn(5, stream=2)
    w0 = 3 * w0 / w0.norm()

    def run(penalty, weight_decay=0.0):
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.SGD([w], lr=lr, weight_decay=weight_decay)
        for _ in range(10):
            opt.zero_grad()
            (((X @ w - y) ** 2).mean() + penalty(w)).backward()
            opt.step()
        return w.detach()

    builtin = run(lambda w: 0.0, weight_decay=lam)
    # equal to rounding, not necessarily bitwise: the optimizer's fused add may round differently
    assert_close(builtin, run(lambda w: reg.l2_penalty(w, lam)), rtol=0, atol=1e-15)
    assert (builtin - run(lambda w: lam * torch.linalg.vector_norm(w))).abs().max() > 1e-3  # the norm itself
    assert (builtin - run(lambda w: lam * w.pow(2).sum())).abs().max() > 1e-3               # missing the 1/2


@check("regularization.adam-l2-vs-adamw")
def adam_l2_vs_adamw(t):
    """Adam(weight_decay) adds an L2 gradient that Adam then rescales; AdamW decays the weights directly."""
    X, y = t.randn(16, 5), t.randn(16, stream=1)
    lam, lr = 0.1, 0.05
    w0 = t.randn(5, stream=2)
    loss = lambda w: ((X @ w - y) ** 2).mean()  # noqa: E731

    def grad(w):
        w = w.detach().clone().requires_grad_(True)
        loss(w).backward()
        return w.grad

    def run(opt_cls, penalty=lambda w: 0.0, **kw):
        w = w0.clone().requires_grad_(True)
        opt = opt_cls([w], lr=lr, **kw)
        for _ in range(10):
            opt.zero_grad()
            (loss(w) + penalty(w)).backward()
            opt.step()
        return w.detach()

    def by_hand(decoupled):
        w, m, v = w0.clone(), torch.zeros_like(w0), torch.zeros_like(w0)
        for step in range(1, 11):
            w, m, v = reg.adam_step(w, grad(w), m, v, step, lr=lr, weight_decay=lam, decoupled=decoupled)
        return w

    adam_wd, adamw = run(torch.optim.Adam, weight_decay=lam), run(torch.optim.AdamW, weight_decay=lam)
    # equal to rounding, not bitwise (the review measured 2.8e-17 on CPU); CUDA's foreach kernels may round
    # sqrt and division differently at each of the 10 steps, so allow a few more ulps there (not yet run)
    atol = 1e-14 if t.is_cuda else 1e-15
    assert_close(adam_wd, run(torch.optim.Adam, lambda w: reg.l2_penalty(w, lam)), rtol=0, atol=atol)
    assert_close(by_hand(decoupled=False), adam_wd, rtol=0, atol=atol)
    assert_close(by_hand(decoupled=True), adamw, rtol=0, atol=atol)
    assert (adamw - adam_wd).abs().max() > 1e-2  # measured over seeds 0-9: 0.025-0.11 after 10 steps
    t.record("adamw_gap", (adamw - adam_wd).abs().max().item())  # printed for seed 0
    assert torch.optim.AdamW([w0.clone().requires_grad_(True)]).defaults["weight_decay"] == 0.01
    assert torch.optim.Adam([w0.clone().requires_grad_(True)]).defaults["weight_decay"] == 0
    # adam_step's defaults are torch.optim.Adam's (lr 1e-3, no decay, coupled): two steps, started from w0 != 0
    # so that a weight decay would show
    w, m, v = w0.clone(), torch.zeros_like(w0), torch.zeros_like(w0)
    for step in (1, 2):
        w, m, v = reg.adam_step(w, grad(w), m, v, step)
    ref = w0.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref])
    for _ in range(2):
        opt.zero_grad()
        loss(ref).backward()
        opt.step()
    assert_close(w, ref.detach(), rtol=0, atol=atol)


@check("regularization.ridge-path", devices=("cpu",))
def ridge_path(t):
    """As the L2 strength grows, the training error can only rise and the weight norm only fall."""
    x = np.linspace(0, 1, 15)
    X = _legendre(x, 12)  # condition number 29: the normal equations are accurate
    y = torch.from_numpy(np.sin(2 * np.pi * x) + 0.3 * t.rng(1).normal(size=15))
    lams = [0.0] + [10.0 ** k for k in range(-8, 3)]
    mse, norm = [], []
    for lam in lams:
        w = reg.ridge_fit(X, y, lam) if lam > 0 else torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
        if lam > 0:
            assert_close(w, _ridge_oracle(X, y, lam, torch.ones(13, dtype=torch.float64)), rtol=1e-10, atol=1e-12)
        mse.append(((y - X @ w) ** 2).mean().item())
        norm.append(w.norm().item())
    assert all(b >= a - 1e-12 for a, b in zip(mse, mse[1:]))
    assert all(b <= a + 1e-12 for a, b in zip(norm, norm[1:]))
    assert mse[-1] > 5 * mse[0] and norm[-1] < norm[0] / 10  # the path moves (seeds 0-9: >= 13x, >= 35x)


@check("regularization.ridge-reduces-test-error", devices=("cpu",), kind="demonstration")
def ridge_reduces_test_error(t):
    """Demonstration: a degree-12 polynomial on 15 noisy points; moderate L2 lowers the mean test error,
    too much L2 raises it again."""
    x, x_test = np.linspace(0, 1, 15), np.linspace(0, 1, 200)
    X, X_test = _legendre(x, 12), _legendre(x_test, 12)
    errors = {lam: [] for lam in (0.0, 0.1, 100.0)}
    for stream in range(20):  # 20 training sets (new noise each), averaged
        y = torch.from_numpy(np.sin(2 * np.pi * x) + 0.3 * t.rng(stream).normal(size=15))
        for lam in errors:
            w = reg.ridge_fit(X, y, lam) if lam > 0 else torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
            errors[lam].append(((X_test @ w).numpy() - np.sin(2 * np.pi * x_test)) ** 2)
    plain, moderate, heavy = (np.mean(errors[lam]) for lam in (0.0, 0.1, 100.0))
    # measured over seeds 0-11: plain 0.34-0.84, lam = 0.1 0.071-0.097 (ratio <= 0.235), lam = 100 0.46-0.47
    assert moderate < plain / 2   # too little regularization overfits
    assert heavy > 3 * moderate   # too much underfits
    for name, value in (("plain", plain), ("moderate", moderate), ("heavy", heavy)):
        t.record(f"test_error_{name}", float(value))  # printed for seed 0


@check("regularization.weight-norm-bounds-slope")
def weight_norm_bounds_slope(t):
    """Small weights bound a ReLU net's slope by the product of spectral norms, but with BatchNorm the
    weight scale says nothing: scaling the weights by 100 leaves the function unchanged."""
    t.seed_modules()
    g = t.generator(stream=1)
    ws = [torch.randn(32, 10, generator=g, dtype=torch.float64) / 3,
          torch.randn(32, 32, generator=g, dtype=torch.float64) / 5,
          torch.randn(1, 32, generator=g, dtype=torch.float64) / 5]
    ws = [w.to(t.device, t.dtype) for w in ws]
    x = t.randn(1000, 10, stream=2).requires_grad_(True)
    f = torch.relu(torch.relu(x @ ws[0].T) @ ws[1].T) @ ws[2].T
    grad, = torch.autograd.grad(f.sum(), x)
    bound = math.prod(torch.linalg.matrix_norm(w, ord=2).item() for w in ws)
    assert grad.norm(dim=1).max().item() <= bound
    t.record("max_slope", grad.norm(dim=1).max().item())  # printed for seed 0 (the bound holds for every seed)
    t.record("slope_bound", bound)
    # eps = 1e-10 instead of the default 1e-5, whose small effect (relative change ~5e-5) would
    # otherwise be the only thing that depends on the weight scale
    net = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32, eps=1e-10, affine=False), nn.ReLU(),
                        nn.Linear(32, 32), nn.BatchNorm1d(32, eps=1e-10, affine=False), nn.ReLU(),
                        nn.Linear(32, 1)).to(t.device, t.dtype).train()
    xb = t.randn(64, 10, stream=3)
    before = net(xb).detach()
    with torch.no_grad():
        for i in (0, 3):
            net[i].weight.mul_(100)
            net[i].bias.mul_(100)
    after = net(xb).detach()
    # measured over seeds 0-9: relative change 4e-10 to 9e-10; the slope bound held with 1.0-1.8 vs 4.7-8.3
    assert ((after - before).norm() / before.norm()).item() < 1e-6


# ---------------------------------------------------------------- early stopping

@check("regularization.early-stopping-like-l2", devices=("cpu",))
def early_stopping_like_l2(t):
    """Gradient descent from 0 stopped after tau steps filters the data like ridge with alpha = 1/(lr tau)."""
    X, y = t.randn(40, 6).cpu(), t.randn(40, stream=1).cpu()
    U, s, Vh = torch.linalg.svd(X, full_matrices=False)
    lr = 0.1 / s.max().item() ** 2  # lr s^2 <= 0.1: the regime of the approximation
    path = reg.gradient_descent_path(X, y, lr, 300)
    uy = U.T @ y
    worst_gap = 0.0
    for tau in (1, 10, 100, 300):
        gd_filter = 1 - (1 - lr * s ** 2) ** tau  # closed form of GD from 0 in the SVD basis
        assert_close(path[tau - 1], Vh.T @ (gd_filter * uy / s), rtol=1e-10, atol=1e-12)
        alpha = 1 / (lr * tau)
        ridge_filter = s ** 2 / (s ** 2 + alpha)
        assert_close(reg.ridge_fit(X, y, alpha), Vh.T @ (ridge_filter * uy / s), rtol=1e-10, atol=1e-12)
        # approximate, not exact: max over s of |(1 - e^-u) - u/(1 + u)| is 0.204 (u = 2.5), 0.215 here
        assert (gd_filter - ridge_filter).abs().max() < 0.22
        worst_gap = max(worst_gap, (gd_filter - ridge_filter).abs().max().item())  # finite: the assert above
        if tau <= 10:  # stopping early really regularizes: far from the unregularized filter 1
            assert gd_filter.max() < 0.7
    t.record("filter_gap", worst_gap)
    # the largest possible gap, max_u |(1 - e^-u) - u / (1 + u)|, on a fine grid (u = 2.5 or so)
    u = torch.linspace(1e-3, 20, 200_001, dtype=torch.float64)
    assert round(t.record("filter_gap_sup", ((1 - torch.exp(-u)) - u / (1 + u)).abs().max().item()), 3) == 0.204
    assert torch.equal(_meta_default(reg.gradient_descent_path, X, y, lr, 3), path[:3])
    norms = path.norm(dim=1)
    losses = ((X @ path.T - y.unsqueeze(1)) ** 2).sum(0)
    assert (norms[1:] >= norms[:-1] - 1e-12).all() and (losses[1:] <= losses[:-1] + 1e-12).all()


# ---------------------------------------------------------------- dropout

@check("regularization.inverted-dropout-expectation", kind="statistical")
def inverted_dropout_expectation(t):
    """Inverted dropout drops a fraction p, multiplies survivors by 1/(1-p) and so keeps E[output] = input."""
    p, n = 0.3, 100_000
    ones = torch.ones(n, dtype=t.dtype, device=t.device)
    # the page prints the two tolerances (6 standard errors)
    assert round(t.record("tol_fraction", 6 * math.sqrt(p * (1 - p) / n)), 4) == 0.0087
    assert round(t.record("tol_mean", 6 * math.sqrt(p / (1 - p) / n)), 3) == 0.012
    t.seed_modules()
    for out in (reg.inverted_dropout(ones, p, generator=t.device_generator()), nn.Dropout(p).train()(ones)):
        dropped = (out == 0).double().mean().item()
        assert abs(dropped - p) < 6 * math.sqrt(p * (1 - p) / n)  # 6 SE = 0.0087
        assert_close(out[out != 0], torch.full_like(out[out != 0], 1 / (1 - p)), rtol=1e-12, atol=0)
        # mean of the output: SD per unit sqrt(p/(1-p)) = 0.655, so 6 SE = 0.0124; without the 1/(1-p)
        # rescaling it would be 0.7
        assert abs(out.mean().item() - 1) < 6 * math.sqrt(p / (1 - p) / n)
    # on a general input: averaging K independent masks recovers x coordinate by coordinate
    x, k = t.randn(10), 20_000
    outs = reg.inverted_dropout(x.expand(k, 10).contiguous(), p, generator=t.device_generator(1))
    se = x.abs() * math.sqrt(p / (1 - p) / k)
    assert ((outs.mean(0) - x).abs() < 6 * se).all()


@check("regularization.dropout-eval-identity")
def dropout_eval_identity(t):
    """In evaluation mode dropout is the identity: no mask and no rescaling."""
    x = t.randn(64, 20)
    layer = nn.Dropout(0.5)
    assert torch.equal(layer.eval()(x), x)
    assert torch.equal(reg.inverted_dropout(x, 0.5, training=False), x)
    net = nn.Sequential(nn.Linear(20, 20), nn.Dropout(0.5)).to(t.device, t.dtype)
    net.eval()
    assert torch.equal(net(x), net[0](x))
    net.train()
    out = net(x)
    assert torch.isfinite(out).all() and not torch.equal(out, net[0](x))  # the same module is random in training


@check("regularization.dropout-p-is-drop-probability")
def dropout_p_is_drop_probability(t):
    """nn.Dropout(p) takes the *drop* probability: p = 0 keeps everything (keep_prob = 1), p = 1 drops all."""
    x = t.randn(1000)
    assert torch.equal(nn.Dropout(0.0).train()(x), x)
    assert torch.equal(nn.Dropout(1.0).train()(x), torch.zeros_like(x))
    g = t.device_generator()
    assert torch.equal(reg.inverted_dropout(x, 0.0, generator=g), x)
    assert torch.equal(reg.inverted_dropout(x, 1.0, generator=g), torch.zeros_like(x))
    # nn.Dropout(0.8) keeps about 20 %, not 80 %: 6 SE of a 1000-draw fraction is 0.076
    assert abs((nn.Dropout(0.8).train()(torch.ones_like(x)) != 0).double().mean().item() - 0.2) < 0.076


@functools.lru_cache(maxsize=None)
def _masks(d):
    """All 2^d boolean masks as rows of a (2^d, d) tensor, in itertools.product order (cached: do not modify)."""
    return torch.tensor(list(itertools.product([False, True], repeat=d)))


def _mask_probs(masks, p):
    """P(mask) in float64 when each entry is kept with probability 1 - p."""
    kept = masks.sum(1).double()
    return (1 - p) ** kept * p ** (masks.shape[1] - kept)


@check("regularization.dropout-adaptive-ridge", devices=("cpu",))
def dropout_adaptive_ridge(t):
    """For linear regression, the expected loss under input dropout is least squares plus an L2 penalty
    weighted by each feature's scale: ||y - Xw||^2 + (p/(1-p)) sum_j (X^T X)_jj w_j^2 (inverted dropout)."""
    n, d = 30, 8
    X = t.randn(n, d).cpu() * torch.from_numpy(t.rng(1).uniform(0.5, 2, d))
    y, w = t.randn(n, stream=2).cpu(), t.randn(d, stream=3).cpu()
    masks = _masks(d)
    gamma2 = (X ** 2).sum(0)  # diag(X^T X)
    for p in (0.5, 0.2):
        prob = _mask_probs(masks, p)
        assert_close(prob.sum().item(), 1.0, rtol=1e-14, atol=0)

        def expected_loss(w):
            total = 0
            for i in range(n):  # rows are masked independently; the expectation is a sum over rows
                xi = reg.dropout_with_mask(X[i].expand(len(masks), d), masks, p)  # row i under every mask
                total = total + (prob * (y[i] - xi @ w) ** 2).sum()
            return total

        closed = ((y - X @ w) ** 2).sum() + p / (1 - p) * (gamma2 * w ** 2).sum()
        assert_close(expected_loss(w), closed, rtol=1e-12, atol=0)
        # the minimizer is a ridge solution with feature-dependent strength: the expected loss is flat there
        w_star = torch.linalg.solve(X.T @ X + p / (1 - p) * torch.diag(gamma2), X.T @ y)
        ws = w_star.clone().requires_grad_(True)
        expected_loss(ws).backward()
        assert ws.grad.abs().max() < 1e-9
    # "just like L2" is too coarse: the penalty is not c ||w||^2 for any c when features differ in scale
    assert gamma2.max() > 2 * gamma2.min()


@check("regularization.dropout-average-over-masks")
def dropout_average_over_masks(t):
    """Averaging a linear layer's output over all dropout masks gives exactly the eval-mode output;
    after a nonlinearity the eval output is only an approximation of the average."""
    t.seed_modules()
    layer = nn.Linear(10, 3).to(t.device, t.dtype)
    x, p = t.randn(10), 0.3
    masks = _masks(10).to(t.device)
    prob = _mask_probs(masks, p).to(t.dtype)
    # every mask in one call (the snippet is elementwise); one single-mask call gives the same row
    dropped = reg.dropout_with_mask(x.expand(len(masks), 10), masks, p)
    assert torch.equal(dropped[-2], reg.dropout_with_mask(x, masks[-2], p))
    with torch.no_grad():
        avg = (prob.unsqueeze(1) * layer(dropped)).sum(0)
        assert_close(avg, layer(x), rtol=0, atol=1e-12)
        avg_relu = (prob.unsqueeze(1) * torch.relu(layer(dropped))).sum(0)
        assert (avg_relu - torch.relu(layer(x))).abs().max() > 1e-3


@check("regularization.keep-prob-half", devices=("cpu",))
def keep_prob_half(t):
    """Every keep probability in (0, 1) can produce all 2^n sub-networks; 0.5 maximizes the mask's entropy."""
    n = 10
    masks = _masks(n)
    entropies = {}
    for keep in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        prob = _mask_probs(masks, 1 - keep)
        assert_close(prob.sum().item(), 1.0, rtol=1e-13, atol=0)
        assert (prob > 0).all() and len(prob) == 2 ** n          # every sub-network has positive probability
        # entropy of the whole mask by exhaustive enumeration (oracle), against n H(keep) of independent bits
        h = -(prob * prob.log2()).sum().item()
        assert abs(h - n * (-(keep * math.log2(keep) + (1 - keep) * math.log2(1 - keep)))) < 1e-10
        entropies[keep] = h
    assert max(entropies, key=entropies.get) == 0.5 and abs(entropies[0.5] - n) < 1e-12  # n bits at 0.5
    t.record("bits_at_half", entropies[0.5] / n)
    t.record("bits_at_08", entropies[0.8] / n)
    # the snippet's masks: keep_mask(p) keeps a fraction 1 - p (6 SE of 10^5 draws), and p = 0 / 1 are the edges
    g = t.generator(stream=1)
    for p in (0.2, 0.5, 0.8):
        kept = reg.keep_mask(100_000, p, g).double().mean().item()
        assert abs(kept - (1 - p)) < 6 * math.sqrt(p * (1 - p) / 100_000)
    assert reg.keep_mask(1000, 0.0, g).all() and not reg.keep_mask(1000, 1.0, g).any()
    # the mask is U >= p with U ~ U[0, 1) drawn from `generator`: P(U >= p) = 1 - p exactly on the grid of U, and
    # U = p is kept. Take p equal to one of the draws: that entry must be kept (U > p would drop it)
    u = torch.rand(64, generator=t.generator(stream=2))
    p = u[5].item()
    mask = reg.keep_mask(64, p, t.generator(stream=2))
    assert torch.equal(mask, u >= p) and mask[5]
    assert reg.keep_mask((2, 0), 0.5).shape == (2, 0) and reg.keep_mask(0, 0.5).shape == (0,)  # empty is allowed
    assert torch.equal(_meta_default(reg.keep_mask, 64, p, t.generator(stream=2), "cpu"), mask)
    # inverted_dropout draws its mask from the same generator stream and on the input's device
    x = torch.randn(64, generator=t.generator(stream=3), dtype=torch.float64)
    expected = reg.dropout_with_mask(x, torch.rand(64, generator=t.generator(stream=4)) >= 0.3, 0.3)
    assert torch.equal(reg.inverted_dropout(x, 0.3, generator=t.generator(stream=4)), expected)
    assert torch.equal(_meta_default(reg.inverted_dropout, x, 0.3, generator=t.generator(stream=4)), expected)


@check("regularization.dropout-loss-noisy", kind="demonstration")
def dropout_loss_noisy(t):
    """Demonstration: with dropout the training loss is a random variable, so it does not fall every step."""
    t.seed_modules()
    net = nn.Sequential(nn.Linear(5, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 1)).to(t.device, t.dtype)
    x, y = t.randn(64, 5), t.randn(64, 1, stream=1)
    loss = lambda: ((net(x) - y) ** 2).mean()  # noqa: E731
    with torch.no_grad():
        net.train()
        train_losses = torch.stack([loss() for _ in range(20)])
        net.eval()
        eval_losses = torch.stack([loss() for _ in range(20)])
    # measured, seeds 0-99: SD 0.040-0.121. Eval mode: all 20 values identical (their computed SD can be 1e-16,
    # the rounding of the mean of equal numbers: seeds 22, 35, 36, 43, 45 failed an "SD == 0")
    assert train_losses.std() > 1e-2 and torch.equal(eval_losses, eval_losses[:1].expand(20))
    t.record("train_loss_sd", train_losses.std().item())  # printed for seed 0

    def increases(train_mode):
        t.seed_modules()
        model = nn.Sequential(nn.Linear(5, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 1)).to(t.device, t.dtype)
        model.train(train_mode)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        history = []
        for _ in range(50):
            opt.zero_grad()
            value = ((model(x) - y) ** 2).mean()
            value.backward()
            opt.step()
            history.append(value.item())
        return sum(b > a for a, b in zip(history, history[1:]))

    # measured over seeds 0-99: 18-28 of 49 steps increase the loss with dropout, 0 without
    assert t.record("increases_dropout", increases(True)) >= 10 and increases(False) == 0


@check("regularization.dropconnect-masks-weights")
def dropconnect_masks_weights(t):
    """DropConnect masks each weight, not each unit; averaged over all masks it gives W x + b, and
    dropout of input j is the special case that zeroes the whole column j."""
    # 2 x 3 weights: all 2^6 masks enumerate the expectation exactly (each mask is one call of the snippet)
    w, b, x, p = t.randn(2, 3), t.randn(2, stream=1), t.randn(3, stream=2), 0.3
    masks = _masks(6).to(t.device)
    prob = _mask_probs(masks, p).to(t.dtype)
    outs = torch.stack([reg.dropconnect_linear(x, w, b, m.view(2, 3), p) for m in masks])
    assert_close((prob.unsqueeze(1) * outs).sum(0), w @ x + b, rtol=0, atol=1e-12)
    unit_mask = reg.keep_mask(3, p, t.device_generator(), t.device)
    column_mask = unit_mask.expand(2, 3)
    assert_close(reg.dropconnect_linear(x, w, b, column_mask, p),
                 w @ reg.dropout_with_mask(x, unit_mask, p) + b, rtol=1e-14, atol=1e-14)
    # a sampled DropConnect mask (one Bernoulli per weight) against F.linear on the masked weights: output
    # unit i sees input j only if M_ij is kept, so the two rows of a general mask give different views
    g = t.device_generator(1)
    for _ in range(5):
        m = reg.keep_mask((2, 3), p, g, t.device)
        ref = torch.nn.functional.linear(x, w * m / (1 - p), b)
        assert_close(reg.dropconnect_linear(x, w, b, m, p), ref, rtol=1e-14, atol=1e-14)
    m = torch.tensor([[True, False, True], [True, True, False]], device=t.device)
    out = reg.dropconnect_linear(x, w, b, m, p)
    assert_close(out, torch.stack([w[0] @ (x * m[0]), w[1] @ (x * m[1])]) / (1 - p) + b, rtol=1e-14, atol=1e-14)
    # no unit mask m' (dropout) reproduces it: dropout would have to drop input 1 for row 0 and keep it for row 1
    dropout_outs = torch.stack([w @ reg.dropout_with_mask(x, u, p) + b for u in _masks(3).to(t.device)])
    assert ((dropout_outs - out).abs().max(dim=1).values > 1e-6).all()
    # p = 0 is plain W x + b, p = 1 leaves only the bias (range edges)
    assert_close(reg.dropconnect_linear(x, w, b, torch.ones_like(m), 0.0), w @ x + b, rtol=1e-14, atol=1e-14)
    assert torch.equal(reg.dropconnect_linear(x, w, b, torch.zeros_like(m), 1.0), b.expand(2).clone())
    # without a bias: the masked product alone
    assert_close(reg.dropconnect_linear(x, w, None, m, p), torch.nn.functional.linear(x, w * m / (1 - p)),
                 rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------- L1 / L2 as MAP estimates

_MAP_W_TRUE = torch.tensor([1.5, -1.0, 0.0, 0.0, 0.5, 0.0], dtype=torch.float64)


def _map_problem(t):
    """A small regression with a sparse truth; noise std 0.5 (so s^2 != s != 1 and every misquote differs)."""
    n, s = 20, 0.5
    X = t.randn(n, 6).cpu()
    return X, X @ _MAP_W_TRUE + s * t.randn(n, stream=1).cpu(), s


def _lasso_design(t, X, y, s, alpha):
    """The MAP problem's draws made well conditioned, with one weight that the lasso provably zeroes:
    X = sqrt(n) Q diag(sv) V' with orthonormal Q (from X), singular values 1.2..0.8 (kappa(X'X) = 2.25, so ISTA
    converges fast; raw 20 x 6 Gaussian draws reach kappa ~ 15, and 300 steps left a 3e-9 violation at seed 51),
    and column 5 (true weight 0) orthogonal to the others; the noise along x_5 is set so that x_5' e / n =
    +-alpha/2 (sign drawn). Then the lasso's optimality at w_5 = 0 holds with |x_5' r / n| = alpha/2 < alpha
    whatever the other weights are, while least squares gives w_5 = +-alpha/2 (x_5'x_5 / n = 1)."""
    n, d = X.shape
    q, _ = torch.linalg.qr(X)
    v, _ = torch.linalg.qr(t.randn(d - 1, d - 1, stream=7).cpu())
    sv = torch.linspace(1.2, 0.8, d - 1, dtype=torch.float64)
    Xw = math.sqrt(n) * torch.cat([q[:, :-1] * sv @ v.T, q[:, -1:]], dim=1)
    e = y - X @ _MAP_W_TRUE                                      # the drawn noise, s * N(0, I)
    c = (q[:, -1] @ e).item()
    e = e + (math.copysign(alpha / 2 * math.sqrt(n), c) - c) * q[:, -1]
    return Xw, Xw @ _MAP_W_TRUE + e


def _f64(v):
    """A float64 scalar tensor: torch.distributions built from Python floats would compute in float32."""
    return torch.tensor(v, dtype=torch.float64)


def _nll_grad(X, y, s, w):
    """Gradient of -log N(y; Xw, s^2 I) from torch.distributions and autograd (the oracle's likelihood)."""
    w = w.detach().clone().requires_grad_(True)
    nll = -torch.distributions.Normal(X @ w, s).log_prob(y).sum()
    return torch.autograd.grad(nll, w)[0]


@check("regularization.l2-is-gaussian-map", devices=("cpu",))
def l2_is_gaussian_map(t):
    """-log posterior under a N(0, tau^2) prior = ||y - Xw||^2/(2 s^2) + ||w||^2/(2 tau^2) + const, so the MAP
    estimate is ridge with lam = s^2 / tau^2 (checked against torch.distributions' log_prob)."""
    X, y, s = _map_problem(t)
    n, d = X.shape
    tau = 0.8
    Normal = torch.distributions.Normal

    def neg_log_post(w):  # the oracle: every normalizing constant included
        return -(Normal(X @ w, s).log_prob(y).sum() + Normal(_f64(0.0), _f64(tau)).log_prob(w).sum())

    const = n * math.log(s * math.sqrt(2 * math.pi)) + d * math.log(tau * math.sqrt(2 * math.pi))
    lam = reg.ridge_lambda_for_gaussian_prior(s, tau)
    for k in range(4):  # the difference is the same constant for every w: "equal up to a constant"
        w = 2 * t.randn(d, stream=2 + k).cpu()
        ours = reg.neg_log_posterior(w, X, y, s, "gaussian", tau)
        assert_close(neg_log_post(w) - ours, torch.tensor(const, dtype=torch.float64), rtol=1e-12, atol=0)
        # times 2 s^2 it is the ridge objective with lam = s^2 / tau^2
        assert_close(2 * s ** 2 * ours, ((y - X @ w) ** 2).sum() + lam * (w ** 2).sum(), rtol=1e-12, atol=0)
    # the MAP estimate: ridge_fit with this lam is a stationary point of the oracle's posterior
    assert _nll_grad(X, y, s, reg.ridge_fit(X, y, lam)).add(reg.ridge_fit(X, y, lam) / tau ** 2).abs().max() < 1e-10
    # the misquotes 1/(2 tau^2), 1/tau^2 (noise ignored), s/tau, tau^2/s^2 and s^2/(2 tau^2) all miss it
    for wrong in (1 / (2 * tau ** 2), 1 / tau ** 2, s / tau, tau ** 2 / s ** 2, s ** 2 / (2 * tau ** 2)):
        w_bad = reg.ridge_fit(X, y, wrong)
        assert (_nll_grad(X, y, s, w_bad) + w_bad / tau ** 2).abs().max() > 1e-2, wrong
    assert round(t.record("lam", lam), 4) == 0.3906  # 0.5^2 / 0.8^2
    assert reg.neg_log_posterior(w, X, y, s, "gaussian", 1e3) < ours  # a wider prior penalizes less


@check("regularization.l1-is-laplace-map", devices=("cpu",))
def l1_is_laplace_map(t):
    """-log posterior under a Laplace(0, b) prior = ||y - Xw||^2/(2 s^2) + ||w||_1 / b + const, so the MAP
    estimate is the lasso ||y - Xw||^2/(2n) + alpha ||w||_1 with alpha = s^2 / (n b): exact zeros included."""
    X, y, s = _map_problem(t)
    n, d = X.shape
    b = 0.0625
    alpha = reg.lasso_alpha_for_laplace_prior(s, b, n)
    X, y = _lasso_design(t, X, y, s, alpha)
    Normal, Laplace = torch.distributions.Normal, torch.distributions.Laplace

    def neg_log_post(w):
        return -(Normal(X @ w, s).log_prob(y).sum() + Laplace(_f64(0.0), _f64(b)).log_prob(w).sum())

    const = n * math.log(s * math.sqrt(2 * math.pi)) + d * math.log(2 * b)
    for k in range(4):
        w = 2 * t.randn(d, stream=2 + k).cpu()
        ours = reg.neg_log_posterior(w, X, y, s, "laplace", b)
        assert_close(neg_log_post(w) - ours, torch.tensor(const, dtype=torch.float64), rtol=1e-12, atol=0)
        # times s^2 / n it is ISTA's lasso objective with alpha = s^2 / (n b)
        lasso = ((y - X @ w) ** 2).sum() / (2 * n) + alpha * w.abs().sum()
        assert_close(s ** 2 / n * ours, lasso, rtol=1e-12, atol=0)

    def kkt_violation(w):
        """Optimality of the oracle's posterior: grad NLL = -sign(w)/b where w != 0, |grad NLL| <= 1/b at 0."""
        g, nz = _nll_grad(X, y, s, w), w != 0
        return torch.cat([(g[nz] + torch.sign(w[nz]) / b).abs(), (g[~nz].abs() - 1 / b).clamp(min=0)]).max()

    # ISTA with step 1/L contracts by 1 - mu/L = 1 - 1/kappa = 0.556 a step on this design (kappa = 1.5^2), and the
    # NLL gradient is ||X||^2 / s^2 = 115-Lipschitz: after 60 steps the violation is <= 115 * 0.556^60 * ||w*||
    # (||w*|| < 3) ~ 2e-13, so the 1e-9 bound tests optimality, not convergence
    w_map = reg.ista_lasso(X, y, alpha, steps=60)
    assert kkt_violation(w_map) < 1e-9                      # seeds 0-299: <= 6e-14 (1/b = 16)
    # a MAP estimate with exact zeros: w_5 always (x_5' r / n = +-alpha/2), and 1-4 in all (seeds 0-299) ...
    assert w_map[5] == 0 and 1 <= (w_map == 0).sum() <= d - 1
    # ... where least squares keeps w_5 = +-0.1 (x_5' e / ||x_5||^2, exact here; the prior's threshold zeroes it)
    w_ls = torch.linalg.lstsq(X, y[:, None]).solution.squeeze(1)
    assert abs(abs(w_ls[5].item()) - alpha / 2) < 1e-12 and w_map.abs().max() > 0.5
    # misquotes: s^2/b (no n), 1/b, s^2/(2 n b), 2 s^2/(n b) violate the optimality by 8 or more (seeds 0-299)
    for wrong in (s ** 2 / b, 1 / b, s ** 2 / (2 * n * b), 2 * s ** 2 / (n * b)):
        assert kkt_violation(reg.ista_lasso(X, y, wrong, steps=60)) > 1.0, wrong
    assert round(t.record("alpha", alpha), 4) == 0.2         # 0.25 / (20 * 0.0625)
    assert math.isclose(reg.lasso_alpha_for_laplace_prior(s, b, 2 * n), alpha / 2, rel_tol=1e-15)  # more data


@check("regularization.laplace-posterior-mean-not-sparse", devices=("cpu",))
def laplace_posterior_mean_not_sparse(t):
    """One weight, one observation z ~ N(w, s^2), prior Laplace(0, b): the MAP is the soft threshold at s^2/b,
    exactly 0 for |z| <= s^2/b, while the posterior mean is never 0 for z != 0 (quadrature of the posterior)."""
    s, b = 1.0, 1.25                                          # threshold s^2 / b = 0.8
    # two grids, both containing 0: the MAP on [-3, 3] with step 1e-4 (any maximizer has |w| <= |z| <= 2.5: moving
    # w towards z from beyond it lowers both terms), the mean by the trapezoid rule on [-10, 10] with step 1e-3
    # (tails < e^-30; the only kink, at 0, is a node, so the error is O(h^2) ~ 1e-7, far below the 0.05 and the
    # 2 decimals asserted; the mean at z = 0.5 matches its closed form 0.27687 to 1e-7)
    map_grid_pts = torch.linspace(-3, 3, 60_001, dtype=torch.float64)
    grid = torch.linspace(-10, 10, 20_001, dtype=torch.float64)
    Normal, Laplace = torch.distributions.Normal, torch.distributions.Laplace

    def log_posterior(w, z):
        return Normal(w, s).log_prob(torch.tensor(z, dtype=torch.float64)) + Laplace(_f64(0.0), _f64(b)).log_prob(w)

    means = {}
    for z in (-2.0, -0.3, 0.0, 0.5, 0.79, 2.5):
        map_grid = map_grid_pts[log_posterior(map_grid_pts, z).argmax()].item()
        ours = reg.soft_threshold(torch.tensor([z], dtype=torch.float64), s ** 2 / b).item()
        assert abs(map_grid - ours) < 1e-4 + 1e-12, z                        # the MAP is the soft threshold
        log_post = log_posterior(grid, z)
        dens = torch.exp(log_post - log_post.max())
        mean = (torch.trapezoid(grid * dens, grid) / torch.trapezoid(dens, grid)).item()
        means[z] = mean
        if z != 0:
            assert abs(mean) > 0.05 and math.copysign(1, mean) == math.copysign(1, z), (z, mean)
        if abs(z) <= s ** 2 / b:
            assert ours == 0.0
    assert abs(means[0.0]) < 1e-12                          # symmetric: 0 only at z = 0
    t.record("z", 0.5)
    assert t.record("threshold", s ** 2 / b) == 0.8
    assert round(t.record("posterior_mean", means[0.5]), 2) == 0.28  # closed form 0.27687


# ---------------------------------------------------------------- elastic net

@check("regularization.elastic-net-prox", devices=("cpu",))
def elastic_net_prox(t):
    """The elastic-net prox is the soft threshold at l1 followed by division by 1 + l2 (brute force on a grid);
    the other order, shrink then threshold, is wrong."""
    grid = np.linspace(-5, 5, 100_001)  # step 1e-4, contains 0
    b = torch.linspace(-3, 3, 61, dtype=torch.float64)
    l1, l2 = 0.7, 1.5
    ours = reg.elastic_net_prox(b, l1, l2)
    for bi, u in zip(b.tolist(), ours.tolist()):
        cand = _grid_window(grid, bi)  # 10-40 % of the grid
        brute = cand[np.argmin(0.5 * (cand - bi) ** 2 + l1 * np.abs(cand) + l2 / 2 * cand ** 2)]
        assert abs(brute - u) < 1e-4 + 1e-12, bi
    assert torch.equal(ours == 0, b.abs() <= l1)  # exact zeros from the L1 part
    wrong = reg.soft_threshold(b / (1 + l2), l1)  # shrink first: thresholds at l1 (1 + l2) in b
    assert (wrong - ours).abs().max() > 0.1
    # range edges: l2 = 0 is the lasso prox, l1 = 0 the ridge prox
    assert torch.equal(reg.elastic_net_prox(b, l1, 0.0), reg.soft_threshold(b, l1))
    assert torch.equal(reg.elastic_net_prox(b, 0.0, l2), reg.l2_shrink(b, l2))


@check("regularization.elastic-net-grouping", devices=("cpu",))
def elastic_net_grouping(t):
    """Duplicated feature: the lasso objective is flat along every split of the weight between the copies (no
    unique solution), the elastic net's is strictly convex and its solution splits equally. For nearly equal
    columns the KKT conditions give w_i - w_j = (x_i - x_j)^T r / (n alpha (1 - rho))."""
    # the L2 part alpha (1 - rho) sets ISTA's rate on the nearly equal columns: alpha = 0.2 needs half the steps of 0.1
    n, alpha, rho = 50, 0.2, 0.5
    z = t.randn(n).cpu()
    other = t.randn(n, 2, stream=1).cpu()
    y = 2 * z + 0.5 * other[:, 0] + 0.3 * t.randn(n, stream=2).cpu()

    def objective(X, w, l1_ratio):  # scikit-learn's ElasticNet objective, written out
        return (((y - X @ w) ** 2).sum() / (2 * n) + alpha * l1_ratio * w.abs().sum()
                + alpha * (1 - l1_ratio) / 2 * (w ** 2).sum())

    X = torch.cat([z.unsqueeze(1), z.unsqueeze(1), other], 1)   # columns 0 and 1 identical
    w = reg.ista_elastic_net(X, y, alpha, rho, steps=200)  # seeds 0-99: KKT residual at rounding (5e-16) from 150
    g = -X.T @ (y - X @ w) / n
    nz = w != 0
    assert_close(g[nz] + alpha * rho * torch.sign(w[nz]) + alpha * (1 - rho) * w[nz],
                 torch.zeros(int(nz.sum()), dtype=torch.float64), rtol=0, atol=1e-12)   # KKT
    assert (g[~nz].abs() <= alpha * rho + 1e-12).all()
    assert w[0] == w[1] and w[0] > 0.5                                              # equal split
    total = (w[0] + w[1]).item()
    for a in (0.0, 0.25, 0.7, 1.0):  # move weight between the two copies, keeping the sum
        split = w.clone()
        split[0], split[1] = a * total, (1 - a) * total
        assert_close(objective(X, split, 1.0), objective(X, w, 1.0), rtol=1e-12, atol=0)  # lasso: flat
        # elastic net: the squared part grows by alpha (1 - rho)/2 ((a^2 + (1-a)^2) - 1/2) total^2 (closed form)
        gap = alpha * (1 - rho) / 2 * (a ** 2 + (1 - a) ** 2 - 0.5) * total ** 2
        assert_close(objective(X, split, rho) - objective(X, w, rho), torch.tensor(gap, dtype=torch.float64),
                     rtol=1e-9, atol=1e-15)
    # nearly equal columns: the weight difference is proportional to how much the columns differ
    X2 = torch.cat([(z + 0.1 * t.randn(n, stream=3).cpu()).unsqueeze(1),
                    (z + 0.1 * t.randn(n, stream=4).cpu()).unsqueeze(1), other], 1)
    # the error shrinks ~1.036-fold per step here: after 800 steps the identity below holds to 3e-14 (seeds 0-99)
    w2 = reg.ista_elastic_net(X2, y, alpha, rho, steps=800)
    r = y - X2 @ w2
    assert w2[0] > 0 and w2[1] > 0  # both selected, same sign (seeds 0-99: both >= 0.72)
    assert_close(w2[0] - w2[1], (X2[:, 0] - X2[:, 1]) @ r / (n * alpha * (1 - rho)), rtol=0, atol=1e-12)
    assert torch.equal(_meta_default(reg.ista_elastic_net, X, y, alpha, rho, steps=2),
                       reg.ista_elastic_net(X, y, alpha, rho, steps=2))
    # l1_ratio = 1 is the lasso: the same iterates as ista_lasso (a few steps show it, before either converges)
    assert_close(reg.ista_elastic_net(X2, y, alpha, 1.0, steps=20), reg.ista_lasso(X2, y, alpha, steps=20),
                 rtol=0, atol=1e-14)


# ---------------------------------------------------------------- stochastic depth

@check("regularization.stochastic-depth-expectation", kind="statistical")
def stochastic_depth_expectation(t):
    """Stochastic depth drops the whole branch of a sample with probability p; survivors are scaled so that the
    training output averages to the test output, in the inverted form and in the paper's test-time scaling."""
    p, n = 0.3, 5000
    x = t.randn(n, 3, 4)
    out = reg.stochastic_depth(x, p, "row", generator=t.device_generator())
    flat, ref = out.reshape(n, -1), x.reshape(n, -1)
    dropped = (flat == 0).all(1)
    # all or nothing per sample: a row is either zero or exactly x / (1 - p)
    assert_close(flat[~dropped], ref[~dropped] / (1 - p), rtol=t.tol(f64=1e-15, f32=1e-6), atol=0)
    # 6 SE = 0.039: a keep probability used as the drop probability (0.7) or p^2 (0.09) is 5 or more away
    assert abs(dropped.double().mean().item() - p) < 6 * math.sqrt(p * (1 - p) / n)
    # "batch" mode: one coin for the whole tensor; 500 calls drop a fraction p of them (6 SE = 0.12, so 0.7 and
    # 0.09 are still rejected: each is 10+ SE of its own away from the bound)
    calls_n, g, small = 500, t.device_generator(1), x[:4]
    calls = torch.stack([reg.stochastic_depth(small, p, "batch", generator=g) for _ in range(calls_n)]).flatten(1)
    zero = (calls == 0).all(1).cpu()  # one comparison over all the calls instead of 500 small ones
    assert (zero.to(calls.device) | (calls == (small / (1 - p)).flatten()).all(1)).all()
    assert abs(zero.double().mean().item() - p) < 6 * math.sqrt(p * (1 - p) / calls_n)
    assert 0 < zero.sum() < calls_n  # both outcomes occur (P(not) < 1e-77)
    # expectation: the block x + drop(f(x)) averages to x + f(x) (inverted) or to x + (1 - p) f(x) (paper)
    k = 4000
    h, f = t.randn(8, stream=1), t.randn(8, stream=2)
    hs, fs = h.expand(k, 8).contiguous(), f.expand(k, 8).contiguous()
    se = f.abs() * math.sqrt(p * (1 - p) / k)  # SE of the branch term before the 1/(1 - p) scaling
    for scale_at_test in (False, True):
        train = reg.stochastic_depth_block(hs, fs, p, scale_at_test=scale_at_test, generator=t.device_generator(2))
        test = reg.stochastic_depth_block(h[None], f[None], p, training=False, scale_at_test=scale_at_test)[0]
        scale = 1 / (1 - p) if not scale_at_test else 1.0
        assert ((train.mean(0) - test).abs() < 6 * scale * se).all(), scale_at_test
        # each sample is h (branch dropped) or h + f / (1 - p) resp. h + f (kept), nothing in between
        skipped = (train == h).all(1)
        assert_close(train[~skipped], (h + scale * f).expand(int((~skipped).sum()), 8),
                     rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
        # so, exactly over the two outcomes of the coin: (1 - p)(kept output) + p h = the test output
        assert_close((1 - p) * train[~skipped][0] + p * h, test, rtol=t.tol(f64=1e-14, f32=1e-6),
                     atol=t.tol(f64=1e-15, f32=1e-6))
    # mixing the conventions (inverted training, scaled test) is off by the factor 1 - p on the branch
    inv = reg.stochastic_depth_block(hs, fs, p, generator=t.device_generator(3)).mean(0)
    mixed = reg.stochastic_depth_block(h[None], f[None], p, training=False, scale_at_test=True)[0]
    assert ((inv - mixed).abs() > 6 * se / (1 - p)).any()
    # range edges and evaluation mode
    assert torch.equal(reg.stochastic_depth(x, 0.0), x) and torch.equal(reg.stochastic_depth(x, p, training=False), x)
    assert torch.equal(reg.stochastic_depth(x, 1.0), torch.zeros_like(x))
    assert torch.equal(reg.stochastic_depth_block(h[None], f[None], 1.0, scale_at_test=True), h[None])


@check("regularization.stochastic-depth-expected-depth", devices=("cpu",), kind="statistical")
def stochastic_depth_expected_depth(t):
    """With the linear decay rule the expected number of active blocks is sum_l p_l = L - (1 - p_L)(L + 1)/2,
    (3L - 1)/4 for p_L = 0.5: 40.25 of the 54 blocks of a 110-layer ResNet."""
    L = 54
    surv = reg.linear_decay_survival(L, 0.5)
    assert surv[0].item() == 1 - 0.5 / L and surv[-1].item() == 0.5 and (surv[1:] < surv[:-1]).all()
    expected = surv.sum().item()
    assert math.isclose(expected, L - 0.5 * (L + 1) / 2, rel_tol=1e-14) and math.isclose(expected, (3 * L - 1) / 4,
                                                                                          rel_tol=1e-14)
    assert t.record("expected_blocks", expected) == 40.25
    # sample 40 000 networks: the active-block count is a sum of independent Bernoulli(p_l), SD 3.0, so 6 SE = 0.09.
    # Its mean over the networks is sum_l (networks with block l active) / draws, and those counts are independent
    # Binomial(draws, p_l): drawn directly, that is the same distribution as 40 000 x 54 coins, 54 draws instead
    draws = 40_000
    kept = torch.binomial(torch.full((L,), float(draws), dtype=torch.float64), surv, generator=t.generator())
    assert ((kept >= 0) & (kept <= draws) & (kept == kept.round())).all()
    mean = (kept.sum() / draws).item()
    se = math.sqrt((surv * (1 - surv)).sum().item() / draws)
    assert abs(mean - expected) < 6 * se
    assert abs(mean - 3 * L / 4) > 6 * se  # 3L/4 = 40.5 is only the approximation
    # p_L = 1 keeps every block; the general formula for another p_L
    assert torch.equal(reg.linear_decay_survival(5, 1.0), torch.ones(5, dtype=torch.float64))
    assert math.isclose(reg.linear_decay_survival(10, 0.2).sum().item(), 10 - 0.8 * 11 / 2, rel_tol=1e-14)
    assert math.isclose(reg.linear_decay_survival(10).sum().item(), 10 - 0.5 * 11 / 2, rel_tol=1e-14)  # default


# ---------------------------------------------------------------- dropout before BatchNorm

def _dropout_bn_model(t, p, channels):
    # the masks come from the global RNG: a stream of its own, or they would repeat the draws of the data
    t.seed_modules(stream=1000)
    return nn.Sequential(nn.Dropout(p), nn.BatchNorm1d(channels, affine=False, momentum=None)).to(t.device, t.dtype)


@check("regularization.dropout-bn-variance-shift", dtypes=("float32", "float64"), kind="statistical")
def dropout_bn_variance_shift(t):
    """Zero-mean x of variance s^2 through Dropout(p) then BN: the running variance learns s^2 / (1 - p), so at
    test time (dropout off) BN's output has variance 1 - p, not 1; re-estimating the statistics with dropout off
    restores 1."""
    p, s, c, m, k = 0.5, 1.5, 32, 256, 16
    model = _dropout_bn_model(t, p, c)  # seeds the global RNG (the masks) on stream 1000, apart from the data
    batches = [s * t.randn(m, c, stream=i) for i in range(k)]
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    rv = model[1].running_var
    # z = mask x / (1 - p): E z^2 = s^2/(1 - p), E z^4 = 3 s^4/(1 - p)^3. Variance of one batch's unbiased
    # variance: mu4/m - sigma^4 (m - 3)/(m (m - 1)); the mean over k batches and c channels divides it by k c
    var_z, mu4 = s ** 2 / (1 - p), 3 * s ** 4 / (1 - p) ** 3
    se = math.sqrt((mu4 / m - var_z ** 2 * (m - 3) / (m * (m - 1))) / (k * c))
    ratio = rv.mean().item() / s ** 2
    assert abs(rv.mean().item() - var_z) < 6 * se
    assert abs(rv.mean().item() - s ** 2) > 6 * se          # "dropout leaves the variance alone": rejected
    t.record("ratio", ratio)  # printed for seed 0; the check asserts 1/(1 - p) = 2 within 6 SE
    assert abs(ratio - 1 / (1 - p)) < 6 * se / s ** 2
    # evaluation: BN divides by sqrt(running_var + eps) (its definition), so the output variance is 1 - p
    model.eval()
    fresh = s * t.randn(4096, c, stream=100)
    with torch.no_grad():
        out = model(fresh)
    assert_close(out, (fresh - model[1].running_mean) / torch.sqrt(rv + model[1].eps),
                 rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    # relative SE of the output variance: fresh sample variance (2/(n - 1)) and running variance, per channel
    rel = math.sqrt(2 / 4095 + (se * math.sqrt(k * c) / var_z) ** 2) / math.sqrt(c)
    out_var = out.var(0).mean().item()
    assert abs(out_var - (1 - p)) < 6 * rel * (1 - p)
    assert abs(out_var - 1) > 6 * rel
    t.record("eval_var", out_var)
    # the fix: re-estimate BN's statistics on the same batches with dropout off
    reg.recalibrate_batchnorm(model, batches)
    assert not model.training and not model[1].training and model[1].momentum is None  # modes restored
    se0 = math.sqrt(2 * s ** 4 / (m - 1) / (k * c))           # unbiased variance of normal data
    assert abs(model[1].running_var.mean().item() - s ** 2) < 6 * se0
    with torch.no_grad():
        out = model(fresh)
    rel0 = math.sqrt(2 / 4095 + 2 / (m - 1) / k) / math.sqrt(c)
    assert abs(out.var(0).mean().item() - 1) < 6 * rel0
    t.record("eval_var_recalibrated", out.var(0).mean().item())


@check("regularization.dropout-bn-variance-shift")
def recalibrate_batchnorm_restores_modes(t):
    """recalibrate_batchnorm leaves dropout off while it averages, restores every module's mode and momentum, and
    gives BN exactly the plain mean and unbiased variance of the batches (the oracle: torch.var_mean)."""
    model = nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.5), nn.BatchNorm1d(5, momentum=0.3), nn.ReLU(),
                          nn.Dropout(0.2), nn.BatchNorm1d(5)).to(t.device, t.dtype)
    model.train()
    model[5].eval()  # a frozen BN stays frozen afterwards
    modes = [m.training for m in model.modules()]
    batches = [t.randn(50, 6, stream=i) for i in range(3)]
    reg.recalibrate_batchnorm(model, iter(batches))  # any iterable of batches
    assert [m.training for m in model.modules()] == modes
    assert model[2].momentum == 0.3 and model[5].momentum == 0.1
    with torch.no_grad():
        h = model[0](torch.cat(batches))  # dropout off: the Linear output goes straight into BN
        per_batch = [torch.var_mean(model[0](b), dim=0) for b in batches]
    var = torch.stack([v for v, _ in per_batch]).mean(0)      # BN averages the per-batch unbiased variances
    assert_close(model[2].running_mean, h.mean(0), rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    assert_close(model[2].running_var, var, rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)
    assert model[2].num_batches_tracked.item() == 3


# ---------------------------------------------------------------- MC dropout

def _mc_net(t, p):
    """A fixed 4 -> 10 -> dropout -> 10 -> ReLU -> 1 network (same weights for every seed)."""
    torch.manual_seed(7)  # initialized in float64 on the CPU, then cast: the same network on every device
    f64 = {"dtype": torch.float64}
    net = nn.Sequential(nn.Linear(4, 10, **f64), nn.ReLU(), nn.Dropout(p), nn.Linear(10, 10, **f64), nn.ReLU(),
                        nn.Linear(10, 1, **f64))
    return net.to(t.device, t.dtype)


@check("regularization.mc-dropout-mean", kind="statistical")
def mc_dropout_mean(t):
    """MC dropout's mean over T passes converges to the average over all dropout masks (enumerated exactly), which
    differs from the deterministic eval-mode output once a nonlinearity follows the dropout; its variance converges
    to the variance over the masks."""
    p, T, R = 0.5, 30, 100
    net = _mc_net(t, p)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(20160), dtype=torch.float64).to(t.device, t.dtype)
    masks = _masks(10).to(t.device)
    prob = _mask_probs(masks, p).to(t.device, t.dtype)
    with torch.no_grad():
        h = torch.relu(net[0](x))
        outs = net[5](torch.relu(net[3](h.unsqueeze(1) * masks / (1 - p)))).squeeze(-1)   # (3, 1024)
        mean = (prob * outs).sum(1)
        var = (prob * (outs - mean[:, None]) ** 2).sum(1)
        mu4 = (prob * (outs - mean[:, None]) ** 4).sum(1)
        net.eval()
        deterministic = net(x).squeeze(-1)
    # T passes over a batch of R copies of the 3 inputs (every row draws its own mask): T R = 3000 samples each
    t.seed_modules(stream=1)  # the masks: the global RNG, on a stream of its own
    mc_mean, mc_var = reg.mc_dropout_predict(net, x.repeat(R, 1), T)
    mc_mean, mc_var = mc_mean.view(R, 3).mean(0), mc_var.view(R, 3).mean(0)
    se = torch.sqrt(var / (T * R))
    assert torch.isfinite(mc_mean).all() and ((mc_mean - mean).abs() < 6 * se).all()
    # each row's unbiased variance of T values has variance mu4/T - sigma^4 (T - 3)/(T (T - 1)); R rows average
    se_var = torch.sqrt((mu4 / T - var ** 2 * (T - 3) / (T * (T - 1))) / R)
    assert ((mc_var - var).abs() < 6 * se_var).all()
    # "MC dropout averages to the eval output" is rejected: at the second input the exact gap is 14 SE (a fixed
    # network, so the same for every seed), and the MC mean sits within 6 SE of the exact mean
    gap_in_se = t.record("gap_in_se", ((mean - deterministic).abs() / se)[1].item())
    assert round(gap_in_se) == 14
    assert (mc_mean - deterministic).abs()[1] > 6 * se[1]
    assert ((mean - deterministic).abs() > 1e-3).all()
    for name, v in (("ensemble", mean[1]), ("eval_output", deterministic[1]), ("mc_mean", mc_mean[1])):
        t.record(name, v.item())
    assert round(mean[1].item(), 3) == 0.244 and round(deterministic[1].item(), 3) == 0.278  # the page's numbers
    # without a nonlinearity after the dropout the mask average is the eval output (linear in the mask)
    lin = nn.Sequential(nn.Linear(4, 10), nn.Dropout(p), nn.Linear(10, 2)).to(t.device, t.dtype)
    lin_mean, _ = reg.mc_dropout_predict(lin, x.repeat(R, 1), T)
    with torch.no_grad():
        lin.eval()
        exact = lin(x)
        # per-output SD over masks: sqrt(p/(1-p)) |W2 diag(h)| row norms
        sd = math.sqrt(p / (1 - p)) * (lin[2].weight.unsqueeze(0) * lin[0](x).unsqueeze(1)).norm(dim=2)
    assert ((lin_mean.view(R, 3, 2).mean(0) - exact).abs() < 6 * sd / math.sqrt(T * R)).all()


@check("regularization.mc-dropout-mean")
def mc_dropout_keeps_batchnorm_in_eval(t):
    """mc_dropout_predict samples dropout only: BatchNorm keeps its running statistics (model.train() would
    update them and use the batch's), and every module's mode is restored afterwards."""
    t.seed_modules()
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                        nn.Linear(8, 2)).to(t.device, t.dtype)
    net.train()
    with torch.no_grad():
        for i in range(5):
            net(t.randn(32, 4, stream=i) + 2)  # running statistics away from (0, 1)
    net.eval()
    net[3].train()                      # an odd starting state, to be restored exactly
    modes = [m.training for m in net.modules()]
    stats = (net[1].running_mean.clone(), net[1].running_var.clone())
    x = t.randn(16, 4, stream=9)
    mean, var = reg.mc_dropout_predict(net, x, 20)
    assert [m.training for m in net.modules()] == modes
    assert torch.equal(net[1].running_mean, stats[0]) and torch.equal(net[1].running_var, stats[1])
    assert mean.shape == var.shape == (16, 2)
    # the passes differ wherever dropout has something to drop: a sample whose 8 hidden units are all off after
    # the ReLU (0-4 of the 16, seeds 0-299; "var > 0 everywhere" failed at seeds 17, 58) outputs the bias in
    # every pass. One with a single active unit keeps or drops it in all 20 passes with probability
    # 0.7^20 + 0.3^20 = 8e-4, hence the slack of one sample (seeds 0-299: every active sample varied)
    with torch.no_grad():
        active = (net[2](net[1](net[0](x))) > 0).any(1)  # eval-mode BN, as in the passes
    varies = (var > 0).any(1)
    assert varies.any() and varies[active].sum() >= active.sum() - 1
    # with dropout p = 0 every pass is the eval-mode output: mean = eval output, variance exactly 0
    net0 = nn.Sequential(net[0], net[1], net[2], nn.Dropout(0.0), net[4])
    mean0, var0 = reg.mc_dropout_predict(net0, x, 5)
    with torch.no_grad():
        assert torch.equal(var0, torch.zeros_like(var0))
        assert_close(mean0, net0.eval()(x), rtol=t.tol(f64=1e-15, f32=1e-6), atol=0)  # mean of 5 equal values
    # the plausible wrong version, net.train() for the passes, does move BN's running statistics
    net.train()
    with torch.no_grad():
        net(x)
    assert not torch.equal(net[1].running_mean, stats[0])
