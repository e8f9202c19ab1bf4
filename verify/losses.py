"""Checks for docs/*/losses.md. Oracles: torch.distributions log-probabilities, F.gaussian_nll_loss,
F.binary_cross_entropy_with_logits, F.huber_loss, F.smooth_l1_loss, F.hinge_embedding_loss, F.soft_margin_loss,
F.multi_margin_loss, F.cross_entropy (weight=, label_smoothing=), F.kl_div, autograd, float64 closed forms."""
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets import losses as ls
from verify._registry import check

EXACT = dict(rtol=1e-12, atol=1e-14)


def _zeros(t, n):
    return torch.zeros(n, dtype=t.dtype, device=t.device)


@check("losses.mse-is-gaussian-nll")
def mse_is_gaussian_nll(t):
    """-log N(y; mu, sigma^2) = MSE / (2 sigma^2) + log sigma + log(2 pi)/2: same minimizer, gradient / (2 sigma^2)."""
    sigma = 1.7
    mu, y = t.randn(50), 1.7 * t.randn(50, stream=1)
    nll = ls.gaussian_nll(mu, y, sigma)
    assert_close(nll, -torch.distributions.Normal(mu, sigma).log_prob(y).mean(), **EXACT)
    # sigma < 1 as well (log sigma < 0): every sigma > 0 is accepted and exact
    assert_close(ls.gaussian_nll(mu, y, 0.6), -torch.distributions.Normal(mu, 0.6).log_prob(y).mean(), **EXACT)
    assert_close(nll, F.gaussian_nll_loss(mu, y, torch.full_like(y, sigma**2), full=True), **EXACT)
    # over 20 different predictions, NLL - MSE / (2 sigma^2) is one constant, log sigma + log(2 pi) / 2
    const = math.log(sigma) + 0.5 * math.log(2 * math.pi)
    preds = [t.randn(50, stream=10 + i) for i in range(20)]
    offsets = torch.stack([ls.gaussian_nll(m, y, sigma) - F.mse_loss(m, y) / (2 * sigma**2) for m in preds])
    assert_close(offsets, torch.full_like(offsets, const), **EXACT)
    # the plausible slip "NLL = MSE + constant" (no 1 / (2 sigma^2)) is rejected: that difference is not constant
    slip = torch.stack([ls.gaussian_nll(m, y, sigma) - F.mse_loss(m, y) for m in preds])
    assert slip.max() - slip.min() > 0.1
    # gradients: d NLL / d mu = d MSE / d mu / (2 sigma^2), so gradient descent takes the same path, rescaled
    m1 = mu.clone().requires_grad_(True)
    m2 = mu.clone().requires_grad_(True)
    ls.gaussian_nll(m1, y, sigma).backward()
    F.mse_loss(m2, y).backward()
    assert_close(m1.grad, m2.grad / (2 * sigma**2), **EXACT)
    # a learned variance: for fixed predictions, the best constant variance is the mean squared error
    var = F.mse_loss(mu, y).detach().requires_grad_(True)
    F.gaussian_nll_loss(mu, y, var * torch.ones_like(y)).backward()
    assert abs(var.grad.item()) < 1e-13
    rmse = F.mse_loss(mu, y).sqrt().detach().requires_grad_(True)  # the slip: the RMSE as the variance
    F.gaussian_nll_loss(mu, y, rmse * torch.ones_like(y)).backward()
    assert abs(rmse.grad.item()) > 1e-2


@check("losses.bce-is-bernoulli-nll", dtypes=("float32", "float64"))
def bce_is_bernoulli_nll(t):
    """-log Bernoulli(y; sigma(z)) = binary cross-entropy; from logits it stays exact at |z| = 1000."""
    z = 3 * t.randn(200)
    y = (t.rand(200, stream=1) < torch.sigmoid(z)).to(t.dtype)
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))  # float32: log1p/exp ulps
    got = ls.bernoulli_nll(z, y)
    assert_close(got, -torch.distributions.Bernoulli(logits=z).log_prob(y).mean(), **tol)
    assert_close(got, F.binary_cross_entropy_with_logits(z, y), **tol)
    zd, yd = z.double().cpu().numpy(), y.double().cpu().numpy()
    s = 1 / (1 + np.exp(-zd))
    closed = -np.mean(yd * np.log(s) + (1 - yd) * np.log(1 - s))
    assert abs(got.item() - closed) < t.tol(f64=1e-12, f32=1e-5)
    # soft labels in [0, 1] (the same formula, used for distillation and label smoothing)
    soft = t.rand(200, stream=2)
    assert_close(ls.bernoulli_nll(z, soft), F.binary_cross_entropy_with_logits(z, soft), **tol)
    # |z| = 1000: the wrong-sign examples cost exactly 1000, the right ones 0; through sigma(z) it is log 0
    far, yf = t.put([1000.0, -1000.0, 1000.0, -1000.0]), t.put([0.0, 1.0, 1.0, 0.0])
    assert ls.bernoulli_nll(far, yf).item() == 500.0 == F.binary_cross_entropy_with_logits(far, yf).item()
    assert torch.isinf(torch.log(1 - torch.sigmoid(far[0])))
    # the gradient is sigma(z) - y everywhere, also at z = 0 where a max(z, 0) + log1p(e^-|z|) form goes wrong
    zg = torch.cat([z, t.put([0.0, 0.0, 1000.0, -1000.0])]).requires_grad_(True)
    yg = torch.cat([y, t.put([1.0, 0.0, 0.0, 1.0])])
    ls.bernoulli_nll(zg, yg).backward()
    assert_close(zg.grad, (torch.sigmoid(zg.detach()) - yg) / 204, **tol)
    # the plausible "stable" rewrite max(z, 0) - y z + log(1 + e^{-|z|}) has the right value but autograd sums
    # one-sided pieces at the kink: at z = 0, y = 1 it returns 0 instead of sigma(0) - 1 = -1/2
    zk = t.put(0.0).requires_grad_(True)
    kinked = zk.clamp(min=0) - zk + torch.log1p(torch.exp(-zk.abs()))
    assert_close(kinked, F.binary_cross_entropy_with_logits(zk, t.put(1.0)), **tol)
    kinked.backward()
    assert zk.grad.item() == 0.0
    # a constant model is best off predicting the frequency of the positives: the gradient vanishes there
    z0 = torch.logit(y.mean()).detach().requires_grad_(True)
    ls.bernoulli_nll(z0.expand(200), y).backward()
    assert abs(z0.grad.item()) < t.tol(f64=1e-15, f32=1e-6)


@check("losses.mse-mean-mae-median")
def mse_mean_mae_median(t):
    """A constant fitted by MSE is the mean, by MAE the median; MAE is the Laplace NLL. An outlier moved
    from 10 to 1000 drags the mean by 990/n and leaves the median where it was."""
    y = torch.cat([t.randn(10), t.put([10.0])])  # n = 11, one outlier
    n = 11
    # MSE: the gradient vanishes at the mean, and no constant on a grid does better
    c = y.mean().detach().requires_grad_(True)
    F.mse_loss(c.expand(n), y).backward()
    assert abs(c.grad.item()) < 1e-14
    grid = torch.linspace(-3, 11, 1401, dtype=t.dtype, device=t.device)
    # every grid constant at once: one row per constant, F's elementwise losses averaged over the n targets
    rows, targets = grid.unsqueeze(1).expand(-1, n), y.expand(grid.numel(), n)
    mse = F.mse_loss(rows, targets, reduction="none").mean(1)
    mae = F.l1_loss(rows, targets, reduction="none").mean(1)
    assert_close(mse[::350], torch.stack([F.mse_loss(g.expand(n), y) for g in grid[::350]]), rtol=1e-14, atol=0)
    assert (mse >= F.mse_loss(y.mean().expand(n), y) - 1e-14).all()
    # MAE: minimized by the median; one-sided slopes -1/n and +1/n (5 points below it, 5 above)
    med = y.median()
    assert (mae >= F.l1_loss(med.expand(n), y) - 1e-14).all()
    h = 1e-7
    right = (F.l1_loss((med + h).expand(n), y) - F.l1_loss(med.expand(n), y)) / h
    left = (F.l1_loss(med.expand(n), y) - F.l1_loss((med - h).expand(n), y)) / h
    assert_close(right, t.put(1 / n), rtol=1e-6, atol=0)
    assert_close(left, t.put(-1 / n), rtol=1e-6, atol=0)
    # MAE is the negative log-likelihood of a Laplace distribution, up to the constant log(2b)
    b, mu = 0.8, t.randn(n, stream=1)
    lap = ls.laplace_nll(mu, y, b)
    assert_close(lap, -torch.distributions.Laplace(mu, b).log_prob(y).mean(), **EXACT)
    assert_close(lap - F.l1_loss(mu, y) / b, t.put(math.log(2 * b)), **EXACT)
    assert (lap - F.l1_loss(mu, y)).abs() > 0.1  # not the MAE itself unless b = 1
    # move the outlier from 10 to 1000
    y2 = y.clone()
    y2[-1] = 1000.0
    shift = t.record("mean_shift", y2.mean() - y.mean())
    assert_close(shift, t.put(990 / n), rtol=1e-12, atol=0)
    assert torch.equal(y2.median(), med)


def _huber_location(y, delta):
    """The constant c minimizing sum huber(y - c), by bisection on its derivative (increasing in c). It stops
    once lo and hi are adjacent floats (mid is one of them): every further halving would return the same c."""
    lo, hi = y.min().item(), y.max().item()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        c = torch.tensor(mid, dtype=y.dtype, device=y.device, requires_grad=True)
        ls.huber_loss(y - c, delta).sum().backward()
        lo, hi = (mid, hi) if c.grad.item() < 0 else (lo, mid)
    return 0.5 * (lo + hi)


@check("losses.huber-bounded-influence")
def huber_bounded_influence(t):
    """Huber: quadratic within delta, linear beyond, gradient clipped at delta (F.huber_loss); smooth L1 is
    Huber / beta; the Huber location does not move when an outlier beyond delta moves."""
    delta = 1.5
    r = torch.cat([torch.linspace(-6, 6, 1201, dtype=t.dtype), torch.tensor([-delta, delta], dtype=t.dtype)])
    r = r.to(t.device).requires_grad_(True)
    got = ls.huber_loss(r, delta)
    assert_close(got, F.huber_loss(r, torch.zeros_like(r), reduction="none", delta=delta), rtol=1e-14, atol=1e-15)
    got.sum().backward()
    assert_close(r.grad, r.detach().clamp(-delta, delta), rtol=1e-14, atol=1e-15)  # psi(r) = clip(r, -delta, delta)
    assert r.grad.abs().max().item() == delta
    # delta = inf leaves only the quadratic part r^2 / 2, infinite residuals included (inf, not inf - inf = nan)
    edge = torch.cat([r.detach(), t.put([math.inf, -math.inf])])
    assert torch.equal(ls.huber_loss(edge, math.inf), 0.5 * edge**2)
    # smooth L1 with beta is Huber with delta = beta, divided by beta: the same only at beta = 1
    zero = torch.zeros_like(r)
    smooth = F.smooth_l1_loss(r.detach(), zero, reduction="none", beta=delta)
    assert_close(smooth, F.huber_loss(r.detach(), zero, reduction="none", delta=delta) / delta, rtol=1e-14, atol=1e-15)
    assert (smooth - ls.huber_loss(r.detach(), delta)).abs().max() > 0.1
    ones = torch.ones_like(r)
    assert_close(F.smooth_l1_loss(r.detach(), zero, reduction="none"), ls.huber_loss(r.detach(), 1.0) * ones,
                 rtol=1e-14, atol=1e-15)
    # the location estimate: the outlier moved from 10 to 1000 stays beyond delta, its pull stays delta
    y = torch.cat([t.randn(10), t.put([10.0])])
    y2 = y.clone()
    y2[-1] = 1000.0
    c1, c2 = _huber_location(y, delta), _huber_location(y2, delta)
    assert abs(c1 - c2) < 1e-12
    psi = (y - c1).clamp(-delta, delta).sum()  # the estimating equation, written out
    assert abs(psi.item()) < 1e-12
    assert abs(c1 - y.mean().item()) > 0.3 and abs(y2.mean().item() - c2) > 80


@check("losses.surrogate-upper-bounds")
def surrogate_upper_bounds(t):
    """The 0-1 loss is flat (zero derivative wherever it has one); hinge and log2(1 + e^-m) are convex upper
    bounds of it, so a small surrogate loss bounds the training error."""
    m = torch.cat([torch.linspace(-4, 4, 8001, dtype=t.dtype), torch.tensor([0.0, 1.0], dtype=t.dtype)]).to(t.device)
    zero_one, hinge, logistic = ls.zero_one_loss(m), ls.hinge_loss(m), ls.logistic_loss(m)
    assert torch.equal(zero_one, (m <= 0).to(t.dtype))
    minus = -torch.ones_like(m)
    assert_close(hinge, F.hinge_embedding_loss(m, minus, margin=1.0, reduction="none"), rtol=1e-15, atol=0)
    assert_close(logistic, F.soft_margin_loss(m, torch.ones_like(m), reduction="none"), rtol=1e-13, atol=1e-15)
    log2 = logistic / math.log(2)
    assert (hinge >= zero_one).all() and (log2 >= zero_one * (1 - 1e-15)).all()
    # convex: second differences on the uniform part of the grid are >= 0 (up to rounding)
    for curve in (hinge[:8001], logistic[:8001]):
        assert (curve[2:] - 2 * curve[1:-1] + curve[:-2] >= -1e-12).all()
    # the 0-1 loss gives no gradient signal: finite differences away from m = 0 are exactly zero
    away = m[(m.abs() > 0.01)]
    assert torch.equal(ls.zero_one_loss(away + 1e-3) - ls.zero_one_loss(away), torch.zeros_like(away))
    # averaged over a data set: the mean hinge loss is at least the error rate
    f = t.randn(500)
    labels = torch.where(t.rand(500, stream=1) < 0.5, 1.0, -1.0).to(t.dtype)
    error = ls.zero_one_loss(labels * f).mean()
    assert ls.hinge_loss(labels * f).mean() >= error and ls.logistic_loss(labels * f).mean() / math.log(2) >= error
    # hinge is exactly 0 from the margin on; the logistic loss stays positive (m = 30: about 1e-13)
    far = t.put([1.0, 2.0, 30.0])
    assert torch.equal(ls.hinge_loss(far), torch.zeros_like(far)) and (ls.logistic_loss(far) > 0).all()
    # the logistic loss's derivative is -sigma(-m) everywhere, m = 0 included
    mg = torch.cat([m[::400], t.put([0.0])]).requires_grad_(True)
    ls.logistic_loss(mg).sum().backward()
    assert_close(mg.grad, -torch.sigmoid(-mg.detach()), rtol=1e-14, atol=1e-16)
    # |m| = 1000: no overflow
    huge = t.put([-1000.0, 1000.0])
    assert torch.equal(ls.logistic_loss(huge), t.put([1000.0, 0.0]))


@check("losses.hinge-margin")
def hinge_margin(t):
    """Hinge max(0, 1 - y f): examples beyond the margin contribute neither loss nor gradient; elsewhere the
    subgradient is -y x; at y f = 1 autograd returns one element of the subdifferential."""
    x, w = t.randn(40, 3), 3 * t.randn(3, stream=1)
    y = torch.where(t.rand(40, stream=2) < 0.5, 1.0, -1.0).to(t.dtype)
    wg = w.clone().requires_grad_(True)
    loss = ls.hinge_loss(y * (x @ wg)).mean()
    loss.backward()
    margin = y * (x @ w)
    active = margin < 1
    assert active.any() and not active.all()  # both kinds present
    closed = -(y[active, None] * x[active]).sum(0) / 40
    assert_close(wg.grad, closed, **EXACT)
    # push every example that is beyond the margin three times further out: loss and gradient do not change
    x2 = torch.where(active[:, None], x, 3 * x)
    wg2 = w.clone().requires_grad_(True)
    loss2 = ls.hinge_loss(y * (x2 @ wg2)).mean()
    loss2.backward()
    assert torch.equal(loss2, loss) and torch.equal(wg2.grad, wg.grad)
    # the logistic loss, in contrast, changes: every example keeps a gradient
    assert (ls.logistic_loss(y * (x2 @ w)).mean() - ls.logistic_loss(margin).mean()).abs() > 1e-3
    # exactly on the margin: the subdifferential is {-s y x : s in [0, 1]}; clamp returns s = 1, relu s = 0
    xk, wk = t.put([1.0, 0.3, -2.0]), t.put([1.0, 0.0, 0.0])
    w1 = wk.clone().requires_grad_(True)
    ls.hinge_loss(1.0 * (xk @ w1)).backward()
    w2 = wk.clone().requires_grad_(True)
    F.relu(1 - xk @ w2).backward()
    assert torch.equal(w1.grad, -xk) and torch.equal(w2.grad, torch.zeros_like(xk))


@check("losses.multi-margin-divides-by-classes")
def multi_margin_divides_by_classes(t):
    """The multi-class hinge sum_{j != y} max(0, 1 - s_y + s_j) is F.multi_margin_loss times the number of
    classes C: PyTorch divides by C."""
    k = 5
    s = 2 * t.randn(32, k)
    target = torch.randint(0, k, (32,), generator=t.generator(stream=1)).to(t.device)
    sn, yn = s.double().cpu().numpy(), target.cpu().numpy()
    for margin in (1.0, 0.7):
        ref = np.mean([sum(max(0.0, margin - sn[i, yn[i]] + sn[i, j]) for j in range(k) if j != yn[i])
                       for i in range(32)])
        got = ls.multiclass_hinge(s, target, margin)
        assert abs(got.item() - ref) < 1e-13
        builtin = F.multi_margin_loss(s, target, margin=margin)
        assert_close(builtin * k, got, **EXACT)
        assert (builtin - got).abs() > 0.1  # read without the factor C it is 5 times too small
    # two classes with scores (0, f): the binary hinge of the margin y f, labels y = -1 / +1 for class 0 / 1
    f = 2 * t.randn(40, stream=2)
    c = torch.randint(0, 2, (40,), generator=t.generator(stream=3)).to(t.device)
    pair = torch.stack([torch.zeros_like(f), f], 1)
    assert_close(ls.multiclass_hinge(pair, c), ls.hinge_loss((2 * c - 1).to(t.dtype) * f).mean(), **EXACT)
    # zero once the true score beats every other by the margin
    clear = t.put([[5.0, 3.9, 0.0], [0.0, 2.0, 0.9]])
    assert ls.multiclass_hinge(clear, torch.tensor([0, 1], device=t.device)).item() == 0.0


@check("losses.focal-gamma-zero-is-ce", dtypes=("float32", "float64"))
def focal_gamma_zero_is_ce(t):
    """Focal loss with gamma = 0 is cross-entropy (sigmoid: BCE with logits; softmax: F.cross_entropy); with alpha
    it is BCE with per-element weights alpha / 1 - alpha; gamma = 2 against a float64 closed form."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))  # float32: log1p/exp ulps
    z = 3 * t.randn(100, 4)
    y = (t.rand(100, 4, stream=1) < 0.3).to(t.dtype)
    assert_close(ls.sigmoid_focal_loss(z, y, gamma=0.0, alpha=None), F.binary_cross_entropy_with_logits(z, y), **tol)
    w = 0.25 * y + 0.75 * (1 - y)
    assert_close(ls.sigmoid_focal_loss(z, y, gamma=0.0, alpha=0.25),
                 F.binary_cross_entropy_with_logits(z, y, weight=w), **tol)
    c = torch.randint(0, 4, (100,), generator=t.generator(stream=2)).to(t.device)
    assert_close(ls.softmax_focal_loss(z, c, gamma=0.0), F.cross_entropy(z, c), **tol)
    # gamma = 2 against -alpha_t (1 - p_t)^2 log p_t written with numpy in float64
    zd, yd = z.double().cpu().numpy(), y.double().cpu().numpy()
    p = 1 / (1 + np.exp(-zd))
    pt = np.where(yd == 1, p, 1 - p)
    closed = np.mean(np.where(yd == 1, 0.25, 0.75) * (1 - pt) ** 2 * -np.log(pt))
    assert abs(ls.sigmoid_focal_loss(z, y).item() - closed) < t.tol(f64=1e-13, f32=1e-6)
    ps = torch.softmax(z.double(), -1).cpu().numpy()[np.arange(100), c.cpu().numpy()]
    closed_soft = np.mean((1 - ps) ** 2 * -np.log(ps))
    assert abs(ls.softmax_focal_loss(z, c).item() - closed_soft) < t.tol(f64=1e-13, f32=1e-6)
    # a gamma that is not an even integer (the sign of 1 - p_t matters there), with a per-class alpha
    a = t.put([0.5, 1.0, 2.0, 0.25])
    for g in (0.5, 1.0):
        closed_g = np.mean(np.where(yd == 1, 0.25, 0.75) * (1 - pt) ** g * -np.log(pt))
        assert abs(ls.sigmoid_focal_loss(z, y, gamma=g).item() - closed_g) < t.tol(f64=1e-13, f32=1e-6)
        closed_soft_g = np.mean(a.double().cpu().numpy()[c.cpu().numpy()] * (1 - ps) ** g * -np.log(ps))
        got_soft_g = ls.softmax_focal_loss(z, c, gamma=g, alpha=a).item()
        assert abs(got_soft_g - closed_soft_g) < t.tol(f64=1e-13, f32=1e-6)
    # an easy example far out (z = 40, y = 1): 1 - p_t = sigma(-40) ~ 4e-18, which 1 - sigma(40) rounds to 0
    easy, one = t.put([40.0]), t.put([1.0])
    expect = torch.sigmoid(-easy) ** 2 * F.binary_cross_entropy_with_logits(easy, one, reduction="none")
    assert_close(ls.sigmoid_focal_loss(easy, one, alpha=None), expect.mean(), rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)
    assert (1 - torch.sigmoid(easy)).item() == 0.0
    # |z| = 1000 on the wrong side: (1 - p_t) = 1, the loss is alpha_t * 1000 exactly
    far, yf = t.put([1000.0, -1000.0]), t.put([0.0, 1.0])
    assert ls.sigmoid_focal_loss(far, yf).item() == (0.75 * 1000 + 0.25 * 1000) / 2
    assert ls.softmax_focal_loss(t.put([[1000.0, 0.0]]), torch.tensor([1], device=t.device)).item() == 1000.0


@check("losses.focal-down-weights-easy")
def focal_down_weights_easy(t):
    """With gamma = 2 the loss is CE times (1 - p_t)^2; the gradient in the logit is (1 - p)^g (g p log p - (1 - p))
    (autograd), about 35 times smaller than CE's at p_t = 0.9 but larger than CE's at p_t = 0.1."""
    gamma, probs = 2.0, t.put([0.1, 0.5, 0.9, 0.99])
    z = torch.logit(probs).requires_grad_(True)
    one = torch.ones_like(probs)
    focal = torch.stack([ls.sigmoid_focal_loss(z[i:i + 1], one[i:i + 1], gamma=gamma, alpha=None) for i in range(4)])
    ce = F.binary_cross_entropy_with_logits(z, one, reduction="none")
    assert_close(focal / ce, (1 - probs) ** 2, rtol=1e-12, atol=0)
    t.record("loss_factor_easy", (focal / ce)[2])
    focal.sum().backward()
    p = probs
    closed = (1 - p) ** gamma * (gamma * p * torch.log(p) - (1 - p))
    assert_close(z.grad, closed, **EXACT)
    ce_grad = p - 1  # d CE / d z for y = 1
    ratio = z.grad / ce_grad
    easy, hard = t.record("grad_ratio_easy", ratio[2]), t.record("grad_ratio_hard", ratio[0])
    # closed form of the ratio: (1 - p)^g (1 - g p log p / (1 - p))
    for i, pi in ((2, 0.9), (0, 0.1)):
        assert abs(ratio[i].item() - (1 - pi) ** 2 * (1 - 2 * pi * math.log(pi) / (1 - pi))) < 1e-12
    assert 1 / 40 < easy < 1 / 30  # about 1/34.5: weaker than the loss factor 1/100 suggests
    assert hard > 1.2               # a hard example pulls harder than under cross-entropy
    # the plausible shortcut "the gradient is CE's times (1 - p_t)^gamma" is rejected
    assert (z.grad - ce_grad * (1 - p) ** gamma).abs().max() > 1e-2


@check("losses.class-weights-normalize")
def class_weights_normalize(t):
    """F.cross_entropy(weight=w) with mean reduction divides by sum_i w_{y_i}, not by N; the focal loss's alpha
    and BCE's weight= divide by N."""
    z = 2 * t.randn(12, 3)
    c = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2], device=t.device)
    w = t.put([0.2, 1.0, 3.0])
    builtin = F.cross_entropy(z, c, weight=w)
    per = F.cross_entropy(z, c, reduction="none")
    assert_close(builtin, (w[c] * per).sum() / w[c].sum(), **EXACT)
    assert (builtin - (w[c] * per).mean()).abs() > 0.05  # not the plain mean of the weighted losses
    # hence rescaling every weight changes nothing ...
    assert_close(F.cross_entropy(z, c, weight=7 * w), builtin, **EXACT)
    # ... while alpha in the focal loss (gamma = 0) is the plain mean: the sum reduction divided by N
    assert_close(ls.softmax_focal_loss(z, c, gamma=0.0, alpha=w),
                 F.cross_entropy(z, c, weight=w, reduction="sum") / 12, **EXACT)
    assert_close(ls.softmax_focal_loss(z, c, gamma=0.0, alpha=7 * w), 7 * ls.softmax_focal_loss(z, c, 0.0, w), **EXACT)
    # BCE's weight= is a per-element factor and its mean divides by the number of elements
    zb, yb = t.randn(12, stream=1), (c == 0).to(t.dtype)
    wb = 0.25 * yb + 0.75 * (1 - yb)
    bce = F.binary_cross_entropy_with_logits(zb, yb, reduction="none")
    assert_close(F.binary_cross_entropy_with_logits(zb, yb, weight=wb), (wb * bce).mean(), **EXACT)


@check("losses.label-smoothing-logit-gap")
def label_smoothing_logit_gap(t):
    """Smoothed CE = F.cross_entropy(label_smoothing=eps); its minimum has the finite logit gap
    log((1 - eps + eps/K) / (eps/K)) (autograd slope 0 there); without smoothing the slope is < 0 everywhere."""
    k, eps = 10, 0.1
    z = 3 * t.randn(64, k)
    c = torch.randint(0, k, (64,), generator=t.generator(stream=1)).to(t.device)
    for e in (eps, 0.3):
        assert_close(ls.label_smoothed_cross_entropy(z, c, e), F.cross_entropy(z, c, label_smoothing=e), **EXACT)
    far = t.put([[1000.0] + [0.0] * (k - 1)])
    one = torch.tensor([1], device=t.device)
    got = ls.label_smoothed_cross_entropy(far, one, eps)
    assert torch.isfinite(got) and torch.equal(got, F.cross_entropy(far, one, label_smoothing=eps))

    def slope(g, num=k, e=eps):  # d/dg of the built-in loss at logits (g, 0, ..., 0), true class 0
        zg = torch.tensor([[g] + [0.0] * (num - 1)], dtype=t.dtype, device=t.device, requires_grad=True)
        F.cross_entropy(zg, torch.tensor([0], device=t.device), label_smoothing=e).backward()
        return zg.grad

    gap = t.record("gap_k10", ls.smoothed_optimal_logit_gap(k, eps))
    assert round(gap, 2) == 4.51  # log 91, as printed
    assert_close(slope(gap), torch.zeros(1, k, dtype=t.dtype, device=t.device), rtol=0, atol=1e-15)  # every logit
    assert slope(gap - 0.01)[0, 0] < 0 < slope(gap + 0.01)[0, 0]
    big = t.record("gap_k1000", ls.smoothed_optimal_logit_gap(1000, eps))
    assert abs(slope(big, num=1000)[0, 0].item()) < 1e-13  # a sum of 1000 exponentials: rounding ~1e-14
    assert round(big, 1) == 9.1  # log 9001
    two = ls.smoothed_optimal_logit_gap(2, eps)  # the smallest K, binary classification: log 19
    assert abs(two - math.log(19)) < 1e-14 and abs(slope(two, num=2)[0, 0].item()) < 1e-15
    # plausible wrong gaps: log((1 - eps) / eps), and eps spread over the K - 1 wrong classes only
    for wrong in (math.log((1 - eps) / eps), math.log((1 - eps) * (k - 1) / eps)):
        assert abs(slope(wrong)[0, 0].item()) > 5e-3
    # without smoothing: the loss log(1 + (K - 1) e^{-g}) only falls as the gap grows; no finite minimum
    assert ls.smoothed_optimal_logit_gap(k, 0.0) == math.inf
    for g in (0.0, gap, 10.0, 20.0, 30.0):
        assert slope(g, e=0.0)[0, 0] < 0
    loss = [F.cross_entropy(t.put([[g] + [0.0] * (k - 1)]), torch.tensor([0], device=t.device)) for g in (10.0, 20.0, 30.0)]
    assert loss[0] > loss[1] > loss[2] > 0


@check("losses.distillation-kl-temperature")
def distillation_kl_temperature(t):
    """T^2 KL(softmax(t/T) || softmax(s/T)) = T^2 F.kl_div(log q, log p, log_target, 'batchmean'); its gradient
    in the student logits is T (q - p) / N."""
    n, k = 16, 10
    s, te = 3 * t.randn(n, k), 3 * t.randn(n, k, stream=1)
    for temp in (0.5, 2.5, 4.0):
        log_q, log_p = F.log_softmax(s / temp, 1), F.log_softmax(te / temp, 1)
        builtin = F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")
        sg = s.clone().requires_grad_(True)
        got = ls.distillation_loss(sg, te, temp)
        assert_close(got, temp**2 * builtin, **EXACT)
        got.backward()
        assert_close(sg.grad, temp * (log_q.exp() - log_p.exp()) / n, **EXACT)
        # reduction="mean" also divides by the K classes: K times too small (PyTorch warns about it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mean = F.kl_div(log_q, log_p, log_target=True, reduction="mean")
        assert_close(mean * k, builtin, **EXACT)
    # the order matters: kl_div(input=log q, target=p) is KL(p || q); swapped is another number. On a fixed pair
    # (random logits at T = 4 are so flat that the two can agree to 6e-4, as for seed 29): KL(u || q) = 1.60 for
    # q = softmax(4, 0, 0) and u uniform, KL(q || u) = 0.92
    log_q, log_u = F.log_softmax(t.put([[4.0, 0.0, 0.0]]), 1), F.log_softmax(t.put([[0.0, 0.0, 0.0]]), 1)
    kl_u_q = F.kl_div(log_q, log_u, log_target=True, reduction="batchmean")
    assert_close(kl_u_q, log_u.mean() - log_q.mean(), **EXACT)  # KL(u || q) = sum u (log u - log q)
    assert (kl_u_q - F.kl_div(log_u, log_q, log_target=True, reduction="batchmean")).abs() > 0.5
    # logit gaps of 1000: finite
    far_s, far_t = t.put([[1000.0, 0.0, 0.0]]), t.put([[0.0, 0.0, 1000.0]])
    assert torch.isfinite(ls.distillation_loss(far_s, far_t, 2.0))


@check("losses.distillation-t-squared")
def distillation_t_squared(t):
    """The soft-target gradient shrinks as 1/T^2 (not 1/T), and T^2 times it tends to
    ((s - mean s) - (t - mean t)) / (K N) (Hinton et al. 2015, eq. 3-4), with an error falling like 1/T."""
    n, k = 16, 10
    s, te = 3 * t.randn(n, k), 3 * t.randn(n, k, stream=1)

    def grad_kl(temp):  # gradient of the plain KL (no T^2 factor), autograd through F.kl_div
        sg = s.clone().requires_grad_(True)
        F.kl_div(F.log_softmax(sg / temp, 1), F.log_softmax(te / temp, 1), log_target=True,
                 reduction="batchmean").backward()
        return sg.grad

    g20, g200, g2000 = grad_kl(20.0), grad_kl(200.0), grad_kl(2000.0)
    ratio = t.record("norm_ratio_20_200", g200.norm() / g20.norm())
    assert abs(ratio.item() - 1e-2) < 1e-3      # 1/T^2 = 1/100 ...
    assert abs(ratio.item() - 1e-1) > 5e-2      # ... not 1/T = 1/10
    limit = ((s - s.mean(1, keepdim=True)) - (te - te.mean(1, keepdim=True))) / (k * n)
    err = [((temp**2 * g - limit).norm() / limit.norm()).item() for temp, g in ((20.0, g20), (200.0, g200),
                                                                                (2000.0, g2000))]
    t.record("limit_error_200", err[1])
    assert err[1] < 0.02 and 8 < err[0] / err[1] < 12 and 8 < err[1] / err[2] < 12  # O(1/T)
    # with the T^2 factor the gradient keeps its size as T changes (distillation_loss includes it)
    sg = s.clone().requires_grad_(True)
    ls.distillation_loss(sg, te, 200.0).backward()
    assert_close(sg.grad, 200.0**2 * g200, **EXACT)
    assert abs(sg.grad.norm() / (20.0**2 * g20).norm() - 1) < 0.1
