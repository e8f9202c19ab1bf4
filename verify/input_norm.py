"""Checks for docs/*/input_norm.md. Oracles: float64 numpy, closed forms, eigen-decompositions, torch LRN."""
import math

import numpy as np
import torch
from torch import nn
from torch.testing import assert_close

from snippets import input_norm as inn
from verify._registry import check


def _regression(t):
    """200 samples, x1 ~ U(-10, 10), x2 ~ U(-100, 100), y = 3 x1 - 0.2 x2 + noise (float64)."""
    rng = t.rng()
    x = np.column_stack([rng.uniform(-10, 10, 200), rng.uniform(-100, 100, 200)])
    y = 3 * x[:, 0] - 0.2 * x[:, 1] + rng.normal(size=200)
    return torch.from_numpy(x), torch.from_numpy(y)


def _bound(x, tol=1e-6):
    """ceil(log(tol) / log((kappa-1)/(kappa+1))): GD with step 2/(L+mu) is within tol after this many steps."""
    eig = np.linalg.eigvalsh(x.numpy().T @ x.numpy() / len(x))
    kappa = eig[-1] / eig[0]
    return math.ceil(math.log(tol) / math.log((kappa - 1) / (kappa + 1)))


def _iterations(x, y, step, tol=1e-6, max_steps=None):
    """First t with ||w_t - w*|| <= tol ||w*|| (w_0 = 0), the least-squares solution as oracle."""
    max_steps = max_steps or _bound(x, tol) + 20
    w_star = torch.from_numpy(np.linalg.lstsq(x.numpy(), y.numpy(), rcond=None)[0])
    err = (inn.gradient_descent(x, y, step, max_steps) - w_star).norm(dim=1) / w_star.norm()
    hits = (err <= tol).nonzero()
    return int(hits[0]) if len(hits) else None


@check("input_norm.min-max", devices=("cpu",))
def min_max(t):
    """Min-max scaling maps each feature onto exactly [0, 1], keeps the order, and one outlier squashes the rest."""
    x = t.rand(1000, 3)
    s = inn.min_max_scale(x)
    ref = (x.numpy() - x.numpy().min(0)) / np.ptp(x.numpy(), 0)
    assert_close(s, torch.from_numpy(ref), rtol=0, atol=1e-15)
    assert torch.equal(s.amin(0), torch.zeros(3, dtype=t.dtype)) and torch.equal(s.amax(0), torch.ones(3, dtype=t.dtype))
    assert torch.equal(s.argsort(0), x.argsort(0))
    with_outlier = inn.min_max_scale(torch.cat([x[:, 0], t.put([1000.0])]))
    assert with_outlier[-1] == 1 and with_outlier[:-1].max() <= 1e-3  # 1000 points now share [0, 0.001]


@check("input_norm.z-score-keeps-shape", devices=("cpu",))
def z_score_keeps_shape(t):
    """z-scoring gives mean 0, SD 1 but keeps the shape: skewed data stay skewed, not standard normal."""
    n = 100_000
    p = (np.arange(n) + 0.5) / n
    x = torch.from_numpy(-np.log1p(-p))  # deterministic Exponential(1) quantiles: skewness ~2
    z = inn.z_score(x).numpy()
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12

    def skew(v):
        c = v - v.mean()
        return (c ** 3).mean() / (c ** 2).mean() ** 1.5

    assert abs(skew(z) - skew(x.numpy())) < 1e-10 and skew(z) > 1.5  # a normal has skewness 0
    # the wrong reading "z-scored data are N(0, 1)": N(0,1) puts 15.9 % below -1 and 50 % below 0
    assert (z < -1.0001).mean() == 0.0 and abs((z < 0).mean() - (1 - math.exp(-1))) < 1e-3
    # and an affine map cannot change that: z-scoring twice changes nothing
    assert_close(inn.z_score(torch.from_numpy(z)), torch.from_numpy(z), rtol=0, atol=1e-12)


@check("input_norm.nonlinear-maps", devices=("cpu",))
def nonlinear_maps(t):
    """log10(x)/log10(max) maps [1, max] onto [0, 1]; (2/pi) arctan maps the real line into (-1, 1)."""
    x = torch.logspace(0, 6, 1000, dtype=torch.float64)
    s = inn.log_scale(x)
    assert s[0] == 0 and s[-1] == 1 and (s.diff() > 0).all()
    assert_close(s, torch.from_numpy(np.log10(x.numpy()) / 6), rtol=0, atol=1e-15)
    a = inn.arctan_scale(torch.linspace(-1e6, 1e6, 10001, dtype=torch.float64))
    assert (a.abs() < 1).all() and (a.diff() > 0).all() and a[5000] == 0


@check("input_norm.large-feature-dominates-distance", devices=("cpu",))
def large_feature_dominates_distance(t):
    """Summed over all pairs, feature j's share of squared distance is Var_j / sum Var: 1e-6 raw, 1/2 z-scored."""
    x = torch.cat([t.rand(500, 1), 1000 * t.rand(500, 1, stream=1)], 1)
    for data, expected in ((x, None), (inn.z_score(x), 0.5)):
        diff2 = (data[:, None, :] - data[None, :, :]).pow(2).sum((0, 1))  # per feature, over all pairs
        share = (diff2[0] / diff2.sum()).item()
        var = data.var(0, correction=0)
        assert_close(share, (var[0] / var.sum()).item(), rtol=1e-10, atol=0)  # sum_ij (xi-xj)^2 = 2 N^2 Var
        if expected is None:
            assert share < 1e-5  # x1 (range 1) is invisible next to x2 (range 1000)
        else:
            assert abs(share - expected) < 1e-12


@check("input_norm.standardization-speeds-gd", devices=("cpu",))
def standardization_speeds_gd(t):
    """GD with the step 2/(L+mu) needs >= 50x more iterations on raw features than on z-scored ones."""
    x, y = _regression(t)
    raw = _iterations(x, y, inn.optimal_step(x), max_steps=2000)
    std = _iterations(inn.z_score(x), y, inn.optimal_step(inn.z_score(x)))
    assert raw is not None and std is not None and raw >= 50 * std  # seed 0: 625 vs 5 (kappa 90 vs 1.1)
    # the step is tied to the loss scaling: for f = ||Xw - y||^2/(2N) the Hessian is X^T X/N. With plain
    # MSE ||Xw - y||^2/N (Hessian twice as large) the same step 2/(L+mu) makes GD diverge.
    w = torch.zeros(2, dtype=torch.float64)
    step = inn.optimal_step(x)
    for _ in range(50):
        w = w - step * 2 * x.T @ (x @ w - y) / len(y)  # gradient of the plain MSE
    assert not torch.isfinite(w).all() or w.norm() > 1e6


@check("input_norm.condition-number-sets-rate", devices=("cpu",))
def condition_number_sets_rate(t):
    """The error along the flattest eigenvector shrinks by exactly (kappa-1)/(kappa+1) per step; GD zig-zags."""
    x, y = _regression(t)
    for data in (x, inn.z_score(x)):
        eig, vec = np.linalg.eigh(data.numpy().T @ data.numpy() / len(y))
        kappa = eig[-1] / eig[0]
        rho = (kappa - 1) / (kappa + 1)
        w_star = np.linalg.lstsq(data.numpy(), y.numpy(), rcond=None)[0]
        path = inn.gradient_descent(data, y, inn.optimal_step(data), 60).numpy()
        slow = (path - w_star) @ vec[:, 0]  # component along the smallest-curvature direction
        assert_close(torch.from_numpy(slow), torch.from_numpy(slow[0] * rho ** np.arange(61)),
                     rtol=1e-9, atol=1e-12 * abs(slow[0]))
        # and the iteration count meets the theorem's bound ceil(log(1e-6) / log rho) (design: equal)
        bound = math.ceil(math.log(1e-6) / math.log(rho))
        assert bound == _bound(data)
        assert _iterations(data, y, inn.optimal_step(data)) <= bound
    # zig-zag on the raw problem: with step 1.9/L the steep component flips sign every step, w2 oscillates
    eig, vec = np.linalg.eigh(x.numpy().T @ x.numpy() / len(y))
    w_star = np.linalg.lstsq(x.numpy(), y.numpy(), rcond=None)[0]
    path = inn.gradient_descent(x, y, 1.9 / eig[-1], 200).numpy()
    steep = (path[:40] - w_star) @ vec[:, -1]
    assert_close(torch.from_numpy(steep), torch.from_numpy(steep[0] * (-0.9) ** np.arange(40)),
                 rtol=1e-9, atol=1e-12 * abs(steep[0]))
    w2_err = path[:, 1] - w_star[1]
    # how often the w2 coordinate itself crosses w2* depends on how far the steep eigenvector tilts off the
    # w2 axis (0.00004-0.02): measured 8-84 crossings in 200 steps over seeds 0-11
    assert (np.diff(np.sign(w2_err)) != 0).sum() >= 5


@check("input_norm.standardized-inputs-avoid-saturation", dtypes=("float32", "float64"), kind="statistical")
def standardized_inputs_avoid_saturation(t):
    """Inputs with SD 10 put most sigmoid units where sigma' < 0.01; z-scored inputs put almost none there."""
    x = 10 * t.randn(256, 100)
    w = t.randn(100, 50, stream=1) / 10  # Var(w) = 1/100 = 1/fan_in
    raw = (torch.sigmoid(x @ w) * (1 - torch.sigmoid(x @ w)) < 0.01).double().mean().item()
    z = inn.z_score(x) @ w
    std = (torch.sigmoid(z) * (1 - torch.sigmoid(z)) < 0.01).double().mean().item()
    # sigma' < 0.01 <=> |z| > 4.60. Pre-activations have SD ~10 raw (P = 0.65) and ~1 z-scored (P = 4e-6).
    # The fraction over 12 800 units has SD < 0.01 (units share rows and columns; measured 0.63-0.66 and
    # at most 1 saturated unit over seeds 0-9): all bounds are > 10 SD away.
    assert 0.55 < raw < 0.75 and std < 0.01


@check("input_norm.lrn-matches-torch", dtypes=("float32", "float64"))
def lrn_matches_torch(t):
    """AlexNet's LRN with alpha = 1e-4, n = 5 equals torch's LocalResponseNorm(5, alpha=5e-4): torch uses alpha/n."""
    a = t.randn(2, 7, 4, 4)
    tol = dict(rtol=t.tol(f64=1e-14, f32=1e-5), atol=t.tol(f64=1e-15, f32=1e-6))  # f32: torch sums via avg-pool
    ours = inn.local_response_norm(a, 5, 1e-4, 0.75, 2.0)
    assert_close(ours, nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a), **tol)
    # the explicit formula, channel by channel (float64 numpy oracle)
    an = a.double().cpu().numpy()
    ref = np.empty_like(an)
    for c in range(7):
        s = (an[:, max(0, c - 2):min(6, c + 2) + 1] ** 2).sum(1)
        ref[:, c] = an[:, c] / (2 + 1e-4 * s) ** 0.75
    assert_close(ours.double().cpu(), torch.from_numpy(ref), **tol)
    # passing AlexNet's alpha unchanged to torch gives a different layer (5x weaker normalization)
    big = 10 * a
    assert (inn.local_response_norm(big, 5, 1e-4) - nn.LocalResponseNorm(5, alpha=1e-4, k=2.0)(big)).abs().max() > 1e-3
    # a second case: size 3, alpha 0.5, beta 1, k 1
    assert_close(inn.local_response_norm(a, 3, 0.5, 1.0, 1.0), nn.LocalResponseNorm(3, 1.5, 1.0, 1.0)(a), **tol)


@check("input_norm.lrn-shrinks-all-responses", dtypes=("float32", "float64"))
def lrn_shrinks_all_responses(t):
    """With k >= 1, |b| <= |a| / k^beta for every unit: LRN never makes a response larger; it damps neighbours."""
    a = torch.relu(10 * t.randn(2, 16, 4, 4))
    b = inn.local_response_norm(a, 5, 1e-4, 0.75, 2.0)
    bound = 2 ** -0.75  # 0.5946: the denominator is at least k^beta
    assert (b.abs() <= a.abs() * bound * (1 + t.tol(f64=1e-14, f32=1e-6))).all()  # the hard bound, any seed
    pos = a > 0
    assert (b[pos] / a[pos]).max() > 0.59  # units with quiet neighbours come close to the bound
    # an isolated activation meets the closed form a / (k + alpha a^2)^beta
    single = torch.zeros(1, 9, 1, 1, dtype=t.dtype, device=t.device)
    single[0, 4] = 3.0
    expected = 3.0 / (2 + 1e-4 * 9) ** 0.75
    assert_close(inn.local_response_norm(single)[0, 4, 0, 0].item(), expected, rtol=t.tol(f64=1e-15, f32=1e-6), atol=0)
    # relative suppression: equal responses, one with loud neighbours, comes out strictly smaller
    pair = torch.zeros(2, 5, 1, 1, dtype=t.dtype, device=t.device)
    pair[:, 2] = 5.0
    pair[1, 1] = pair[1, 3] = 50.0
    out = inn.local_response_norm(pair)
    assert out[1, 2].item() < 0.99 * out[0, 2].item()
