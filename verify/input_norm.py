"""Checks for docs/*/input_norm.md. Oracles: float64 numpy, closed forms, eigen-decompositions, torch LRN."""
import functools
import math

import numpy as np
import torch
from torch import nn
from torch.testing import assert_close

from snippets import input_norm as inn
from verify._registry import Trial, check


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


@functools.lru_cache(maxsize=4)
def _raw_and_std_iterations(seed):
    """_iterations on _regression's raw and z-scored features, GD step 2/(L+mu) each: computed once per seed and
    shared by the two checks that use them (the data come from the seed alone, on the CPU in float64)."""
    x, y = _regression(Trial("cpu", "float64", seed))
    return {name: _iterations(data, y, inn.optimal_step(data)) for name, data in (("raw", x), ("std", inn.z_score(x)))}


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
    squeezed = t.record("outlier_squeezed_range", with_outlier[:-1].max().item())
    assert with_outlier[-1] == 1 and squeezed <= 1e-3  # 1000 points now share [0, 0.001]
    # exact values on negative data, and along dim=1: -3, -1, 1, 5 -> 0, 1/4, 1/2, 1
    row = torch.tensor([[-3.0, -1.0, 1.0, 5.0], [5.0, 1.0, -1.0, -3.0]], dtype=torch.float64)
    assert torch.equal(inn.min_max_scale(row, dim=1)[0], torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64))
    assert torch.equal(inn.min_max_scale(row, dim=1)[1], torch.tensor([1.0, 0.5, 0.25, 0.0], dtype=torch.float64))
    # a constant feature has no range: rejected instead of a division by zero that would give NaN
    try:
        inn.min_max_scale(torch.ones(5, 2, dtype=torch.float64))
    except ValueError:
        pass
    else:
        raise AssertionError("a constant feature was accepted")


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
        c2 = c * c  # products, not c ** 3: numpy's float power is ~20x slower on 10^5 values
        return (c2 * c).mean() / c2.mean() ** 1.5

    skew_z = skew(z)
    assert abs(skew_z - skew(x.numpy())) < 1e-10 and skew_z > 1.5  # a normal has skewness 0
    assert round(t.record("skewness", skew_z), 1) == 2.0  # the exponential's skewness is 2
    normal_below_minus_1 = t.record("normal_below_minus_1", 0.5 * math.erfc(1 / math.sqrt(2)))  # 15.9 %
    assert round(normal_below_minus_1, 3) == 0.159
    assert round(t.record("below_zero", (z < 0).mean()), 2) == 0.63  # 1 - 1/e
    # the wrong reading "z-scored data are N(0, 1)": N(0,1) puts 15.9 % below -1 and 50 % below 0
    assert (z < -1.0001).mean() == 0.0 and abs((z < 0).mean() - (1 - math.exp(-1))) < 1e-3
    # and an affine map cannot change that: z-scoring twice changes nothing
    assert_close(inn.z_score(torch.from_numpy(z)), torch.from_numpy(z), rtol=0, atol=1e-12)
    # per feature, not over the whole table: 2-D data whose columns (and rows) have different means and SDs,
    # along dim=0 and dim=1 of a non-square table, against numpy's population mean and SD
    m = t.rand(6, 4).numpy() * np.array([1.0, 10.0, 100.0, 1000.0]) + np.array([0.0, -5.0, 50.0, 500.0])
    for dim in (0, 1):
        ref = (m - m.mean(dim, keepdims=True)) / m.std(dim, keepdims=True)
        assert_close(inn.z_score(torch.from_numpy(m), dim=dim), torch.from_numpy(ref), rtol=0, atol=1e-12)


@check("input_norm.nonlinear-maps", devices=("cpu",))
def nonlinear_maps(t):
    """log10(x)/log10(max) maps [1, max] onto [0, 1]; (2/pi) arctan maps the real line into (-1, 1)."""
    x = torch.logspace(0, 6, 1000, dtype=torch.float64)
    s = inn.log_scale(x)
    assert s[0] == 0 and s[-1] == 1 and (s.diff() > 0).all()
    # exact values, not a second copy of the formula: powers of ten land on k / 3, and arctan hits known angles
    assert_close(inn.log_scale(torch.tensor([1.0, 10.0, 100.0, 1000.0], dtype=torch.float64)),
                 torch.tensor([0, 1 / 3, 2 / 3, 1], dtype=torch.float64), rtol=0, atol=1e-15)
    r3 = math.sqrt(3)
    assert_close(inn.arctan_scale(torch.tensor([-r3, -1, 0, 1 / r3, 1, r3], dtype=torch.float64)),
                 torch.tensor([-2 / 3, -1 / 2, 0, 1 / 3, 1 / 2, 2 / 3], dtype=torch.float64), rtol=0, atol=1e-15)
    # range edges: below 1 the log map would go negative, so it is refused; arctan stays inside (-1, 1) ...
    for bad in (torch.tensor([0.5, 10.0], dtype=torch.float64), torch.ones(3, dtype=torch.float64)):
        try:
            inn.log_scale(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"log_scale accepted {bad}")
    a = inn.arctan_scale(torch.linspace(-1e6, 1e6, 10001, dtype=torch.float64))
    assert (a.abs() < 1).all() and (a.diff() > 0).all() and a[5000] == 0
    # ... in exact arithmetic; in float64 arctan(1e17) rounds to pi/2, so very large inputs come out as exactly 1
    assert inn.arctan_scale(torch.tensor([1e17], dtype=torch.float64)).item() == 1.0


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
            assert t.record("raw_share", share) < 1e-5  # x1 (range 1) is invisible next to x2 (range 1000): ~1e-6
        else:
            assert abs(share - expected) < 1e-12


@check("input_norm.standardization-speeds-gd", devices=("cpu",))
def standardization_speeds_gd(t):
    """GD with the step 2/(L+mu) needs >= 50x more iterations on raw features than on z-scored ones."""
    x, y = _regression(t)
    iterations = _raw_and_std_iterations(t.seed)  # each run goes 20 steps past its bound (or finds None)
    raw, std = iterations["raw"], iterations["std"]
    assert raw is not None and std is not None and raw >= 50 * std  # seed 0: 625 vs 5 (kappa 90 vs 1.1)
    t.record("iteration_ratio", raw / std)
    # the step is tied to the loss scaling: for f = ||Xw - y||^2/(2N) the Hessian is X^T X/N. With plain
    # MSE ||Xw - y||^2/N (Hessian twice as large) the same step 2/(L+mu) makes GD diverge.
    w = torch.zeros(2, dtype=torch.float64)
    step = inn.optimal_step(x)
    for _ in range(50):
        w = w - step * 2 * x.T @ (x @ w - y) / len(y)  # gradient of the plain MSE
    assert not torch.isfinite(w).all() or w.norm() > 1e6


@check("input_norm.condition-number-sets-rate", devices=("cpu",))
def condition_number_sets_rate(t):
    """Any stable step (< 2/L) shrinks the flattest component by 1 - lr mu >= 1 - 2/kappa; the best fixed step
    2/(L+mu) shrinks both extreme components by exactly (kappa-1)/(kappa+1); near 2/L GD zig-zags."""
    x, y = _regression(t)
    for name, data in (("raw", x), ("std", inn.z_score(x))):
        # oracle: numpy's eigen-decomposition and least-squares solution, not the snippet's torch eigvalsh
        eig, vec = np.linalg.eigh(data.numpy().T @ data.numpy() / len(y))
        kappa = t.record(f"kappa_{name}", eig[-1] / eig[0])
        rho = (kappa - 1) / (kappa + 1)
        w_star = np.linalg.lstsq(data.numpy(), y.numpy(), rcond=None)[0]
        path = inn.gradient_descent(data, y, inn.optimal_step(data), 60).numpy()
        slow = (path - w_star) @ vec[:, 0]  # component along the smallest-curvature direction
        steep = (path - w_star) @ vec[:, -1]
        for comp, factor in ((slow, rho), (steep, -rho)):  # 1 - lr mu = rho and 1 - lr L = -rho at lr = 2/(L+mu)
            assert_close(torch.from_numpy(comp), torch.from_numpy(comp[0] * factor ** np.arange(61)),
                         rtol=1e-9, atol=1e-12 * abs(comp[0]))
        # so in 2-D ||e_t|| = rho^t ||e_0|| exactly, and the first t within 1e-6 of w* is ceil(log 1e-6 / log rho);
        # _iterations runs 20 steps past that bound (a slower descent finds None and fails as well)
        iters = t.record(f"iterations_{name}", _raw_and_std_iterations(t.seed)[name])  # this data, this step
        assert iters == math.ceil(math.log(1e-6) / math.log(rho)), (name, iters)
    # seed 0: kappa 90 raw, 1.1 standardized (625 and 5 steps); over seeds 0-11: 90-116 and 1.01-1.52
    assert 50 < t.values["kappa_raw"] < 200 and t.values["kappa_std"] < 2.5
    # a larger stable step does not escape the flat direction: at lr = 1.9/L its factor is 1 - 1.9/kappa, barely
    # below 1 - 2/kappa; the steep component is multiplied by -0.9 and flips sign every step (the zig-zag)
    eig, vec = np.linalg.eigh(x.numpy().T @ x.numpy() / len(y))
    kappa = eig[-1] / eig[0]
    w_star = np.linalg.lstsq(x.numpy(), y.numpy(), rcond=None)[0]
    path = inn.gradient_descent(x, y, 1.9 / eig[-1], 200).numpy()
    flat = (path[:40] - w_star) @ vec[:, 0]
    assert_close(torch.from_numpy(flat), torch.from_numpy(flat[0] * (1 - 1.9 / kappa) ** np.arange(40)),
                 rtol=1e-9, atol=1e-12 * abs(flat[0]))
    assert 1 - 1.9 / kappa > 1 - 2 / kappa
    steep = (path[:40] - w_star) @ vec[:, -1]
    assert_close(torch.from_numpy(steep), torch.from_numpy(steep[0] * (-0.9) ** np.arange(40)),
                 rtol=1e-9, atol=1e-12 * abs(steep[0]))
    w2_err = path[:, 1] - w_star[1]
    # how often the w2 coordinate itself crosses w2* depends on how far the steep eigenvector tilts off the
    # w2 axis (0.00004-0.02): measured 8-84 crossings in 200 steps over seeds 0-11
    assert (np.diff(np.sign(w2_err)) != 0).sum() >= 5
    # with d = 3 features the step uses the largest and the smallest of three eigenvalues (numpy's eigvalsh)
    x3 = torch.cat([x, x[:, :1] * 0.5 + 20 * t.rand(len(y), 1, stream=2)], 1)
    eig3 = np.linalg.eigvalsh(x3.numpy().T @ x3.numpy() / len(y))
    assert_close(float(inn.optimal_step(x3)), 2 / (eig3[-1] + eig3[0]), rtol=1e-12, atol=0)
    # the iterations stay on the input's device: on the "meta" device (shapes only) nothing is moved to the CPU
    meta = inn.gradient_descent(x.to("meta"), y.to("meta"), 0.1, 3)
    assert meta.device.type == "meta" and meta.shape == (4, 2)
    # a y of the wrong length is refused with the length x needs (one entry per row: 200, not the 2 features)
    try:
        inn.gradient_descent(x, y[:-1], 0.1, 3)
    except ValueError as e:
        assert f"y must have {len(y)} entries" in str(e), e
    else:
        raise AssertionError("a y of the wrong length was accepted")


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
    assert 0.55 < t.record("saturated_raw", raw) < 0.75 and std < 0.01  # seed 0: 0.64; seeds 0-11: 0.635-0.653
    # the closed forms the page quotes: sigma'(z) = 0.01 at |z| = ln((1 + r) / (1 - r)) with r = sqrt(1 - 0.04)
    r = math.sqrt(1 - 4 * 0.01)
    edge = math.log((1 + r) / (1 - r))
    assert math.isclose(torch.sigmoid(torch.tensor(edge, dtype=torch.float64)).item() * (1 - torch.sigmoid(
        torch.tensor(edge, dtype=torch.float64)).item()), 0.01, rel_tol=1e-9)
    assert round(t.record("saturation_edge", edge), 1) == 4.6
    # P(|z| > edge) for a centred Gaussian of SD 10 and of SD 1
    assert round(t.record("gaussian_share_sd10", math.erfc(edge / 10 / math.sqrt(2))), 2) == 0.65
    assert round(t.record("gaussian_per_million_sd1", 1e6 * math.erfc(edge / math.sqrt(2))), 1) == 4.5


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
    # (N, C) input, e.g. after a linear layer, is accepted too: the window runs over C (torch wants >= 3-D)
    flat = a[:, :, 0, 0]
    assert_close(inn.local_response_norm(flat, 3, 0.5, 1.0, 1.0),
                 nn.LocalResponseNorm(3, 1.5, 1.0, 1.0)(flat.unsqueeze(-1)).squeeze(-1), **tol)


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
    # torch's own LRN (alpha/n convention) as an independent oracle for the bound and the suppression
    torch_lrn = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    tb = torch_lrn(a)
    assert (tb.abs() <= a.abs() * bound * (1 + t.tol(f64=1e-14, f32=1e-6))).all()
    tout = torch_lrn(pair)
    assert tout[1, 2].item() < 0.99 * tout[0, 2].item()
    # "strong responses get stronger" is false even for one isolated unit: b(a) = a/(k + alpha a^2)^beta peaks at
    # a* = sqrt(k / (alpha (2 beta - 1))) = 200 and falls beyond it, so a 400 comes out smaller than a 200
    peak = t.record("peak_input", math.sqrt(2.0 / (1e-4 * (2 * 0.75 - 1))))
    assert math.isclose(peak, 200.0, rel_tol=1e-12)
    amp = torch.zeros(4, 9, 1, 1, dtype=t.dtype, device=t.device)
    amp[:, 4, 0, 0] = t.put([150.0, 200.0, 250.0, 400.0])
    resp = torch_lrn(amp)[:, 4, 0, 0]
    assert_close(inn.local_response_norm(amp)[:, 4, 0, 0], resp, rtol=t.tol(f64=1e-14, f32=1e-5), atol=0)
    assert resp[1] > resp[0] and resp[1] > resp[2] > resp[3]
    t.record("bound", bound)
