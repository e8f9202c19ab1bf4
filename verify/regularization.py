"""Checks for docs/*/regularization.md. Oracles: torch.optim, autograd, nn.Dropout, closed forms
(KKT conditions, SVD filter factors, ridge via least squares), exhaustive mask enumeration, Monte Carlo."""
import itertools
import math

import numpy as np
import torch
from torch import nn
from torch.testing import assert_close

from snippets import regularization as reg
from verify._registry import check


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


@check("regularization.l1-prox-zeros-l2-shrinks", devices=("cpu",))
def l1_prox_zeros_l2_shrinks(t):
    """The proximal step of the L1 penalty sets small weights exactly to 0; the L2 one only shrinks them."""
    b = torch.linspace(-3, 3, 61, dtype=torch.float64)
    lam = 1.0
    grid = np.linspace(-4, 4, 80001)  # contains 0 exactly; step 1e-4
    l1, l2 = reg.soft_threshold(b, lam), reg.l2_shrink(b, lam)
    for bi, u1, u2 in zip(b.tolist(), l1.tolist(), l2.tolist()):
        # oracle: brute-force minimization of 1/2 (u - b)^2 + penalty(u) over the grid
        assert abs(grid[np.argmin(0.5 * (grid - bi) ** 2 + lam * np.abs(grid))] - u1) < 1e-4 + 1e-12
        assert abs(grid[np.argmin(0.5 * (grid - bi) ** 2 + lam / 2 * grid ** 2)] - u2) < 1e-4 + 1e-12
    assert torch.equal(l1 == 0, b.abs() <= lam)           # every |b| <= lam lands exactly on 0
    # one ISTA step with step size eta on 1/2 (w - c)^2 + alpha |w| is the soft threshold at eta * alpha,
    # not at alpha: brute force over the grid of argmin_u 1/2 (u - z)^2 / eta + alpha |u|, z = w - eta (w - c)
    eta, alpha_, c = 0.25, 2.0, 0.3
    for w0 in (-2.0, -1.0, -0.4, 0.2, 0.9, 1.5, 3.0):
        z = w0 - eta * (w0 - c)
        brute = grid[np.argmin(0.5 * (grid - z) ** 2 / eta + alpha_ * np.abs(grid))]
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
    w = reg.ista_lasso(X, y, alpha, steps=3000)
    g = X.T @ (y - X @ w) / n  # KKT oracle for ||y - Xw||^2/(2n) + alpha ||w||_1
    nz = w != 0
    assert_close(g[nz], alpha * torch.sign(w[nz]), rtol=0, atol=1e-9)
    assert (g[~nz].abs() < alpha).all()
    assert nz.nonzero().squeeze(1).tolist() == [0, 1, 2, 3, 4]  # exactly 45 zeros
    ridge = reg.ridge_fit(X, y, n * alpha)
    assert (ridge != 0).all()  # shrunk, never exactly 0 (smallest |w| over seeds 0-9: 3e-5 to 7e-3)
    # subgradient descent on the same objective jitters around 0 instead of landing on it
    v = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([v], lr=0.01)
    for _ in range(300):
        opt.zero_grad()
        (((y - X @ v) ** 2).sum() / (2 * n) + reg.l1_penalty(v, alpha)).backward()
        opt.step()
    assert torch.isfinite(v).all() and (v.detach() == 0).sum().item() == 0  # (a NaN would also be "non-zero")


@check("regularization.lasso-exact-zeros", devices=("cpu",))
def ista_orthogonal_design(t):
    """ISTA against the closed form of an orthogonal design, where the lasso is soft-thresholding per coordinate."""
    # orthogonal design, X^T X / n = diag(1, h): ISTA's step 1/L = 1 separates the coordinates. The first
    # reaches the lasso solution S(c_1, alpha) in one step; the second, with c_2 > alpha, follows
    # w_k = (1 - h) w_{k-1} + c_2 - alpha, i.e. w_k = (c_2 - alpha) / h * (1 - (1 - h)^k): slow, so the
    # default of 3000 steps shows (one step more moves it by ~3e-4 relative)
    n, h, alpha, c = 2, 1e-4, 1e-3, torch.tensor([0.5, 3e-3], dtype=torch.float64)
    scale = torch.tensor([1.0, math.sqrt(h)], dtype=torch.float64)
    X = math.sqrt(n) * torch.diag(scale)
    y = n * c / (math.sqrt(n) * scale)                   # so that X^T y / n = c
    slow = lambda k: (c[1] - alpha) / h * (1 - (1 - h) ** k)  # noqa: E731
    assert_close(reg.ista_lasso(X, y, alpha, steps=1)[0], c[0] - alpha, rtol=1e-12, atol=0)
    w = reg.ista_lasso(X, y, alpha)
    assert_close(w, torch.stack([c[0] - alpha, slow(3000)]), rtol=1e-9, atol=0)
    assert abs(w[1] - slow(3001)) > 1e-5 * slow(3000)
    assert torch.equal(_meta_default(reg.ista_lasso, X, y, alpha, steps=2), reg.ista_lasso(X, y, alpha, steps=2))


@check("regularization.weight-decay-is-squared-l2")
def weight_decay_is_squared_l2(t):
    """SGD(weight_decay=lam) follows J0 + (lam/2)||w||^2, not J0 + lam||w|| and not J0 + lam||w||^2."""
    X, y = t.randn(16, 5), t.randn(16, stream=1)
    lam, lr = 0.3, 0.05
    w0 = t.randn(5, stream=2)

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


def _masks(d):
    """All 2^d boolean masks as rows of a (2^d, d) tensor."""
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
    dropped = torch.stack([reg.dropout_with_mask(x, m, p) for m in masks])
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
    assert train_losses.std() > 1e-2 and eval_losses.std() == 0  # measured, seeds 0-9: SD 0.049-0.098
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

    # measured over seeds 0-9: 21-26 of 49 steps increase the loss with dropout, 0 without
    assert t.record("increases_dropout", increases(True)) >= 10 and increases(False) == 0


@check("regularization.dropconnect-masks-weights")
def dropconnect_masks_weights(t):
    """DropConnect masks each weight, not each unit; averaged over all masks it gives W x + b, and
    dropout of input j is the special case that zeroes the whole column j."""
    w, b, x, p = t.randn(2, 5), t.randn(2, stream=1), t.randn(5, stream=2), 0.3
    masks = _masks(10).to(t.device)
    prob = _mask_probs(masks, p).to(t.dtype)
    outs = torch.stack([reg.dropconnect_linear(x, w, b, m.view(2, 5), p) for m in masks])
    assert_close((prob.unsqueeze(1) * outs).sum(0), w @ x + b, rtol=0, atol=1e-12)
    unit_mask = reg.keep_mask(5, p, t.device_generator(), t.device)
    column_mask = unit_mask.expand(2, 5)
    assert_close(reg.dropconnect_linear(x, w, b, column_mask, p),
                 w @ reg.dropout_with_mask(x, unit_mask, p) + b, rtol=1e-14, atol=1e-14)
    # a sampled DropConnect mask (one Bernoulli per weight) against F.linear on the masked weights: output
    # unit i sees input j only if M_ij is kept, so the two rows of a general mask give different views
    g = t.device_generator(1)
    for _ in range(5):
        m = reg.keep_mask((2, 5), p, g, t.device)
        ref = torch.nn.functional.linear(x, w * m / (1 - p), b)
        assert_close(reg.dropconnect_linear(x, w, b, m, p), ref, rtol=1e-14, atol=1e-14)
    m = torch.tensor([[True, False, True, True, True], [True, True, True, True, False]], device=t.device)
    out = reg.dropconnect_linear(x, w, b, m, p)
    assert_close(out, torch.stack([w[0] @ (x * m[0]), w[1] @ (x * m[1])]) / (1 - p) + b, rtol=1e-14, atol=1e-14)
    # no unit mask m' (dropout) reproduces it: dropout would have to drop input 1 for row 0 and keep it for row 1
    dropout_outs = torch.stack([w @ reg.dropout_with_mask(x, u, p) + b for u in _masks(5).to(t.device)])
    assert ((dropout_outs - out).abs().max(dim=1).values > 1e-6).all()
    # p = 0 is plain W x + b, p = 1 leaves only the bias (range edges)
    assert_close(reg.dropconnect_linear(x, w, b, torch.ones_like(m), 0.0), w @ x + b, rtol=1e-14, atol=1e-14)
    assert torch.equal(reg.dropconnect_linear(x, w, b, torch.zeros_like(m), 1.0), b.expand(2).clone())
    # without a bias: the masked product alone
    assert_close(reg.dropconnect_linear(x, w, None, m, p), torch.nn.functional.linear(x, w * m / (1 - p)),
                 rtol=1e-14, atol=1e-14)
