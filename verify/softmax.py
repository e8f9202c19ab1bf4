"""Checks for docs/*/softmax.md. Oracles: torch.softmax, autograd, F.cross_entropy, float64 numpy."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets import softmax as sm
from verify._registry import check


@check("softmax.probabilities", dtypes=("float32", "float64"))
def probabilities(t):
    """Softmax outputs lie in (0, 1) and each row sums to 1; they match torch.softmax."""
    z = 3 * t.randn(1000, 10)
    p = sm.softmax(z)
    assert_close(p, torch.softmax(z, dim=-1), rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-16, f32=1e-7))
    ones = torch.ones(1000, dtype=t.dtype, device=t.device)
    assert_close(p.sum(-1), ones, rtol=0, atol=t.tol(f64=1e-15, f32=1e-6))
    assert (p > 0).all() and (p < 1).all()
    if t.dtype == torch.float32 and not t.is_cuda:
        # "(0, 1)" is exact mathematics; in float32 e^-g rounds to 0 once e^-g < 2^-150 (half the smallest
        # subnormal), i.e. from g = ceil(150 ln 2) = 104: the smallest integer gap with a probability of exactly 0.0
        gaps = [g for g in range(90, 120) if sm.softmax(t.put([0.0, float(g)]))[0].item() == 0.0]
        gap = t.record("underflow_gap", gaps[0])
        assert gap == math.ceil(150 * math.log(2)) == 104
        assert sm.softmax(t.put([0.0, 103.0]))[0].item() > 0.0


@check("softmax.shift-invariance", dtypes=("float32", "float64"))
def shift_invariance(t):
    """softmax(z + c) = softmax(z) for every constant c; float64 numpy is the oracle."""
    z = 20 * t.rand(50, 7) - 10
    ref = np.exp(z.double().cpu().numpy())
    ref /= ref.sum(-1, keepdims=True)
    # float32: exp and the sum each add a few ulps (eps = 6e-8) to every probability
    assert_close(sm.softmax(z).double().cpu(), torch.from_numpy(ref), rtol=t.tol(f64=1e-14, f32=5e-6), atol=0)
    for c in (-50.0, 7.3, 500.0):
        assert_close(sm.softmax(z + c), sm.softmax(z), rtol=0, atol=t.tol(f64=1e-13, f32=1e-5))


@check("softmax.naive-overflows", dtypes=("float32", "float64"))
def naive_overflows(t):
    """e^z overflows for large logits: the naive formula gives NaN, the max-subtracted one does not."""
    big = 1000.0 if t.dtype == torch.float64 else 100.0  # e^710 and e^89 overflow
    # the first integer n with e^n = inf: ceil(ln(largest finite number)), 89 in float32, 710 in float64
    first_inf = next(n for n in range(1, 1000) if torch.isinf(torch.exp(t.put(float(n)))))
    t.record("exp_overflow", first_inf)
    assert first_inf == math.ceil(math.log(torch.finfo(t.dtype).max)) == (89 if t.dtype == torch.float32 else 710)
    z = t.put([[big, 0.0], [big, big - 1]])
    assert torch.isnan(sm.softmax_naive(z)).any()
    stable = sm.softmax(z)
    assert torch.isfinite(stable).all()
    assert_close(stable, torch.softmax(z, dim=-1), rtol=1e-6, atol=1e-12)
    assert_close(stable[0], t.put([1.0, 0.0]), rtol=0, atol=1e-12)
    # on moderate logits both formulas agree
    small = t.randn(20, 5)
    assert_close(sm.softmax_naive(small), sm.softmax(small), rtol=t.tol(f64=1e-14, f32=1e-6), atol=0)
    # over the last axis for any rank: a single vector and a 3-D batch, against torch.softmax
    for shape in ((7,), (3, 4, 5)):
        z = t.randn(*shape)
        assert_close(sm.softmax_naive(z), torch.softmax(z, dim=-1), rtol=t.tol(f64=1e-14, f32=1e-6), atol=0)


@check("softmax.argmax-preserved", dtypes=("float32", "float64"))
def argmax_preserved(t):
    """Softmax is strictly increasing in each logit, so argmax(softmax(z)) = argmax(z)."""
    z = 3 * t.randn(1000, 10)
    assert torch.equal(sm.softmax(z).argmax(-1), z.argmax(-1))


@check("softmax.jacobian")
def jacobian(t):
    """d softmax / d z = diag(p) - p p^T, against autograd's full Jacobian; rows sum to 0."""
    for stream in range(5):
        z = 2 * t.randn(6, stream=stream)
        j_auto = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), z)
        j = sm.softmax_jacobian(torch.softmax(z, -1))
        assert_close(j, j_auto, rtol=1e-12, atol=1e-15)
        assert_close(j.sum(1), torch.zeros(6, dtype=t.dtype, device=t.device), rtol=0, atol=1e-15)
        assert torch.linalg.matrix_rank(j).item() == 5  # singular: adding c to every z changes nothing


@check("softmax.cross-entropy-gradient")
def cross_entropy_gradient(t):
    """d CE / d logits = (p - y) / N for mean reduction, against autograd through F.cross_entropy."""
    logits = 3 * t.randn(8, 5)
    target = torch.randint(0, 5, (8,), generator=t.generator(stream=1)).to(t.device)
    z = logits.clone().requires_grad_(True)
    F.cross_entropy(z, target).backward()
    assert_close(sm.cross_entropy_grad(logits, target), z.grad, rtol=1e-12, atol=1e-16)
    # a plausible slip, forgetting the 1/N of the mean, is rejected
    assert (sm.cross_entropy_grad(logits, target) * 8 - z.grad).abs().max() > 1e-2
    # a logit gap of 1000: still finite and exact, (p - y) / N with p one-hot
    far = t.put([[0.0, 1000.0], [1000.0, 0.0]])
    zf = far.clone().requires_grad_(True)
    tf = torch.tensor([0, 0], device=t.device)
    F.cross_entropy(zf, tf).backward()
    got = sm.cross_entropy_grad(far, tf)
    assert torch.isfinite(got).all()
    assert_close(got, zf.grad, rtol=1e-12, atol=1e-300)
    assert_close(got, t.put([[-0.5, 0.5], [0.0, 0.0]]), rtol=0, atol=1e-300)


@check("softmax.log-softmax-nll-is-cross-entropy", dtypes=("float32", "float64"))
def log_softmax_nll_is_cross_entropy(t):
    """log_softmax followed by NLL equals torch.nn.functional.cross_entropy (which takes logits)."""
    logits = 5 * t.randn(64, 10)
    target = torch.randint(0, 10, (64,), generator=t.generator(stream=1)).to(t.device)
    tol = t.tol(f64=1e-13, f32=1e-5)
    assert_close(sm.log_softmax(logits), F.log_softmax(logits, -1), rtol=tol, atol=tol)
    # over the last axis for any rank: a single vector and a 3-D batch
    for shape in ((7,), (3, 4, 5)):
        z = 5 * t.randn(*shape)
        assert_close(sm.log_softmax(z), F.log_softmax(z, -1), rtol=tol, atol=tol)
    assert_close(sm.cross_entropy(logits, target), F.cross_entropy(logits, target), rtol=tol, atol=tol)
    assert_close(F.nll_loss(F.log_softmax(logits, -1), target), F.cross_entropy(logits, target), rtol=tol, atol=tol)
    # a logit gap of 1000: log(softmax(z)) is log 0 = -inf there (float32 from a gap of 104, float64 from 746),
    # so a log_softmax or cross_entropy written that way is caught; the max-shifted form is exact
    far = t.put([[0.0, 1000.0], [1000.0, 0.0]])
    near = torch.tensor([0, 0], device=t.device)
    assert torch.isinf(torch.log(torch.softmax(far, -1))).any()  # the plausible wrong version fails here
    exact = t.put([[-1000.0, 0.0], [0.0, -1000.0]])
    assert torch.equal(sm.log_softmax(far), exact) and torch.equal(F.log_softmax(far, -1), exact)
    assert sm.cross_entropy(far, near).item() == 500.0 == F.cross_entropy(far, near).item()
    # the classic mistake: softmax output fed to cross_entropy applies softmax twice
    assert (F.cross_entropy(torch.softmax(logits, -1), target) - F.cross_entropy(logits, target)).abs() > 0.1


@check("softmax.two-class-is-sigmoid", dtypes=("float32", "float64"))
def two_class_is_sigmoid(t):
    """softmax((z0, z1))_1 = sigma(z1 - z0); two-logit cross-entropy = BCE with logits on the difference."""
    z = 4 * t.randn(500, 2)
    tol = dict(rtol=t.tol(f64=1e-13, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-7))  # float32: a few ulps of exp
    assert_close(sm.two_class_softmax(z), torch.softmax(z, -1), **tol)
    assert_close(torch.softmax(z, -1)[:, 1], torch.sigmoid(z[:, 1] - z[:, 0]), **tol)  # built-in against built-in
    for shape in ((2,), (3, 4, 2)):
        zs = 4 * t.randn(*shape, stream=1)
        assert_close(sm.two_class_softmax(zs), torch.softmax(zs, -1), **tol)
    # only the difference is identifiable: one sigmoid output carries the same model
    c = torch.randint(0, 2, (500,), generator=t.generator(stream=2)).to(t.device)
    assert_close(F.cross_entropy(z, c), F.binary_cross_entropy_with_logits(z[:, 1] - z[:, 0], c.to(t.dtype)), **tol)
    # the plausible slip, sigma(z1) on its own, is not the two-class softmax
    assert (torch.sigmoid(z[:, 1]) - torch.softmax(z, -1)[:, 1]).abs().max() > 0.1
    # large gaps: exact, and the small probability keeps its relative precision (1 - sigma(30) is 0 in float32)
    far = t.put([[0.0, 1000.0], [1000.0, 0.0], [0.0, 30.0]])
    p = sm.two_class_softmax(far)
    assert torch.equal(p[:2], t.put([[0.0, 1.0], [1.0, 0.0]]))
    small = t.record("small_prob", p[2, 0])
    assert_close(small, t.put(math.exp(-30) / (1 + math.exp(-30))), rtol=t.tol(f64=1e-13, f32=1e-6), atol=0)
    assert f"{small.item():.2g}" == "9.4e-14"  # as printed
    assert (1 - torch.sigmoid(far[2, 1] - far[2, 0]) - p[2, 0]).abs() > t.tol(f64=1e-17, f32=1e-14)


@check("softmax.multilabel-sigmoid-bce")
def multilabel_sigmoid_bce(t):
    """Multi-label: one Bernoulli per label (sigmoid + BCE), not one categorical (softmax + CE)."""
    from snippets import losses
    z, y = 3 * t.randn(64, 5), (t.rand(64, 5, stream=1) < 0.4).to(t.dtype)
    tol = dict(rtol=1e-12, atol=1e-14)
    assert_close(losses.bernoulli_nll(z, y), F.binary_cross_entropy_with_logits(z, y), **tol)
    labels = torch.distributions.Independent(torch.distributions.Bernoulli(logits=z), 1)
    assert_close(losses.bernoulli_nll(z, y), -labels.log_prob(y).sum() / y.numel(), **tol)
    # sigmoids are independent (diagonal Jacobian); softmax outputs compete (every off-diagonal entry < 0)
    v = t.randn(5, stream=2)
    off = ~torch.eye(5, dtype=torch.bool, device=t.device)
    assert (torch.autograd.functional.jacobian(torch.sigmoid, v)[off] == 0).all()
    assert (torch.autograd.functional.jacobian(lambda u: torch.softmax(u, -1), v)[off] < 0).all()
    # ten examples, labels (a, b, c) present in 8, 7 and 2 of them
    rows = [[1, 1, 0]] * 6 + [[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]
    y = t.put(rows)
    freq = y.mean(0)
    # a constant sigmoid model is best off predicting each label's frequency: the BCE gradient vanishes there
    zs = torch.logit(freq).requires_grad_(True)
    F.binary_cross_entropy_with_logits(zs.expand(10, 3), y).backward()
    assert_close(zs.grad, torch.zeros_like(freq), rtol=0, atol=1e-15)
    s = t.record("sigmoid_sum", torch.sigmoid(zs.detach()).sum())
    assert abs(s.item() - 1.7) < 1e-12
    # softmax CE against the multi-hot target spread evenly (y / |y|): its best constant prediction is the mean
    # of those targets, which sums to 1 and leaves both frequent labels below 0.5
    spread = y / y.sum(1, keepdim=True)
    q = spread.mean(0)
    zq = torch.log(q).requires_grad_(True)
    F.cross_entropy(zq.expand(10, 3), spread).backward()
    assert_close(zq.grad, torch.zeros_like(q), rtol=0, atol=1e-15)
    t.record("softmax_a", q[0])
    t.record("softmax_b", q[1])
    assert_close(q, t.put([0.45, 0.4, 0.15]), rtol=1e-14, atol=0)
    assert (q[:2] < 0.5).all() and (freq[:2] >= 0.7).all()


@check("softmax.logsumexp-gradient", dtypes=("float32", "float64"))
def logsumexp_gradient(t):
    """d/dz log sum e^z = softmax(z): autograd of torch.logsumexp and finite differences of the snippet."""
    z = 3 * t.randn(20, 6)
    tol = dict(rtol=t.tol(f64=1e-13, f32=1e-6), atol=t.tol(f64=1e-14, f32=1e-6))  # float32: a few ulps of log/exp
    assert_close(sm.logsumexp(z), torch.logsumexp(z, -1), **tol)
    for shape in ((7,), (3, 4, 5)):
        zs = 3 * t.randn(*shape, stream=1)
        assert_close(sm.logsumexp(zs), torch.logsumexp(zs, -1), **tol)
    zg = z.clone().requires_grad_(True)
    torch.logsumexp(zg, -1).sum().backward()
    assert_close(zg.grad, torch.softmax(z, -1), **tol)
    assert_close(zg.grad, sm.softmax(z), **tol)
    # the plausible wrong answer, the one-hot gradient of max(z), is far off
    assert (zg.grad - F.one_hot(z.argmax(-1), 6).to(t.dtype)).abs().max() > 0.1
    # a smooth maximum: max z <= lse <= max z + log K, the upper end reached when all logits are equal
    m = z.max(-1).values
    assert (sm.logsumexp(z) >= m).all() and (sm.logsumexp(z) <= m + math.log(6) + 1e-6).all()
    assert_close(sm.logsumexp(t.put([2.5] * 6)), t.put(2.5 + math.log(6)), **tol)
    # a gap of 1000: e^1000 is inf in both dtypes, the max-shifted form is exact; rows of -inf and +inf as torch
    far = t.put([[0.0, 1000.0], [1000.0, 999.0]])
    assert torch.isinf(torch.log(torch.exp(far).sum(-1))).all()
    assert_close(sm.logsumexp(far), t.put([1000.0, 1000.0 + math.log1p(math.exp(-1))]), rtol=1e-15, atol=0)
    inf = math.inf
    edges = t.put([[-inf, -inf], [-inf, 0.5], [inf, 0.0]])
    assert torch.equal(sm.logsumexp(edges), torch.logsumexp(edges, -1))
    assert torch.equal(sm.logsumexp(edges), t.put([-inf, 0.5, inf]))
    if t.dtype == torch.float64:
        # central differences on the snippet: truncation h^2 f'''/6 ~ 1e-11, rounding 1e-16 / h ~ 1e-11
        h, v = 1e-5, z[0]
        eye = torch.eye(6, dtype=t.dtype, device=t.device)
        fd = torch.stack([(sm.logsumexp(v + h * e) - sm.logsumexp(v - h * e)) / (2 * h) for e in eye])
        assert_close(fd, torch.softmax(v, -1), rtol=0, atol=1e-9)
        # second derivative: the Hessian of log-sum-exp is the softmax Jacobian, positive semi-definite
        hess = torch.autograd.functional.hessian(lambda u: torch.logsumexp(u, -1), v)
        assert_close(hess, sm.softmax_jacobian(torch.softmax(v, -1)), rtol=1e-12, atol=1e-15)
        assert (torch.linalg.eigvalsh(hess) > -1e-15).all()


@check("softmax.temperature-limits")
def temperature_limits(t):
    """softmax(z/T): arg-max unchanged for every T > 0, one-hot as T -> 0, uniform as T -> inf, with the
    closed-form rates; the entropy rises with T at the rate Var_p(z) / T^3 (autograd)."""
    k = 6
    z = 2 * t.randn(200, k)
    for temp in (0.05, 0.4, 2.5, 40.0):
        p = sm.softmax_with_temperature(z, temp)
        assert_close(p, torch.softmax(z / temp, -1), rtol=1e-13, atol=1e-300)
        assert torch.equal(p.argmax(-1), z.argmax(-1))
    top = z.topk(2, dim=-1).values
    gap, spread = top[:, 0] - top[:, 1], z.max(-1).values - z.min(-1).values
    for temp in (0.02, 0.1, 0.5):
        p = sm.softmax_with_temperature(z, temp)
        top_class = F.one_hot(p.argmax(-1), k).bool()
        rest = p.masked_fill(top_class, 0.0).sum(-1)  # the mass off the arg-max (1 - max p would round to 0)
        e = torch.exp(-gap / temp)
        assert (rest <= (k - 1) * e * (1 + 1e-9)).all()       # at most (K-1) e^{-gap/T}
        assert (rest >= e / (1 + (k - 1) * e) * (1 - 1e-9)).all()  # at least e^{-gap/T} / (1 + (K-1) e^{-gap/T})
    for temp in (10.0, 100.0, 1000.0):
        dev = (sm.softmax_with_temperature(z, temp) - 1 / k).abs().max(-1).values
        assert (dev <= (torch.exp(spread / temp) - 1) / k).all()
    sharp = gap > 0.05
    assert_close(sm.softmax_with_temperature(z[sharp], 1e-3), F.one_hot(z[sharp].argmax(-1), k).to(t.dtype),
                 rtol=0, atol=1e-12)
    assert_close(sm.softmax_with_temperature(z, 1e6), torch.full_like(z, 1 / k), rtol=0, atol=1e-5)
    # a logit gap of 1000 at T = 0.5 (z/T = 2000): still exact
    assert torch.equal(sm.softmax_with_temperature(t.put([0.0, 1000.0]), 0.5), t.put([0.0, 1.0]))
    # entropy: increasing in T, with dH/dT = Var_p(z) / T^3
    temps = torch.logspace(-1, 2, 16, dtype=t.dtype)
    ent = torch.stack([torch.distributions.Categorical(probs=sm.softmax_with_temperature(z, float(T))).entropy()
                       for T in temps])
    assert (ent.diff(dim=0) > 0).all()
    temp = torch.tensor(1.7, dtype=t.dtype, device=t.device, requires_grad=True)
    torch.distributions.Categorical(logits=z / temp).entropy().sum().backward()
    p = torch.softmax(z / 1.7, -1)
    var = (p * z**2).sum(-1) - (p * z).sum(-1) ** 2
    assert_close(temp.grad, (var / 1.7**3).sum(), rtol=1e-12, atol=0)


def _ece_reference(probs, labels, n_bins):
    """Guo et al. 2017, eq. 3, bin by bin with exact fractions for the edges: float64 numpy."""
    p, y = probs.double().cpu().numpy(), labels.cpu().numpy()
    conf, correct = p.max(1), (p.argmax(1) == y).astype(float)
    total = 0.0
    for m in range(1, n_bins + 1):
        inside = (conf > (m - 1) / n_bins) & (conf <= m / n_bins)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return total


@check("softmax.expected-calibration-error")
def expected_calibration_error(t):
    """ECE = sum_m |B_m|/n |acc(B_m) - conf(B_m)| over equal-width confidence bins, against a numpy loop."""
    probs = torch.softmax(2 * t.randn(400, 4), -1)
    labels = torch.randint(0, 4, (400,), generator=t.generator(stream=1)).to(t.device)
    # right whenever confident (underconfident bins), random otherwise (overconfident bins): gaps of both signs
    sure = probs.max(1).values > 0.6
    labels[sure] = probs[sure].argmax(1)
    # M = 2 and 1 put confidences in the lowest bins, (0, 1/M]: a shifted or merged bin index shows there
    for n_bins in (15, 7, 2, 1):
        got = sm.expected_calibration_error(probs, labels, n_bins)
        assert abs(got.item() - _ece_reference(probs, labels, n_bins)) < 1e-14
    # the default is M = 15 bins (Guo et al. 2017)
    assert abs(sm.expected_calibration_error(probs, labels).item() - _ece_reference(probs, labels, 15)) < 1e-14
    # weighted by bin size, absolute gaps: 3 right at 0.75 and 1 wrong at 1.0 give 3/4 * 1/4 + 1/4 * 1 = 7/16;
    # the plausible slips give 5/8 (unweighted mean over the bins) and 1/16 (signed gaps that cancel)
    mixed = t.put([[0.75, 0.25]] * 3 + [[1.0, 0.0]])
    assert sm.expected_calibration_error(mixed, torch.tensor([0, 0, 0, 1], device=t.device), 4).item() == 7 / 16
    # the right-closed edges, with M = 4 (exact binary fractions): confidence 0.5 lies in (0.25, 0.5]
    edge = t.put([[0.5, 0.3, 0.2, 0.0], [0.75, 0.25, 0.0, 0.0]])
    assert sm.expected_calibration_error(edge, torch.tensor([0, 1], device=t.device), 4).item() == 0.625
    # calibrated: 3 of 4 right at confidence 0.75 gives 0; confidently wrong gives 1
    cal = t.put([[0.75, 0.25]] * 4)
    assert sm.expected_calibration_error(cal, torch.tensor([0, 0, 0, 1], device=t.device), 10).item() == 0.0
    wrong = t.put([[1.0, 0.0]] * 3)
    assert sm.expected_calibration_error(wrong, torch.tensor([1, 1, 1], device=t.device), 10).item() == 1.0


@check("softmax.temperature-fit")
def temperature_fit(t):
    """fit_temperature minimizes the NLL of softmax(z/T): the autograd derivative in T vanishes there."""
    z = 3 * t.randn(300, 5)
    labels = torch.randint(0, 5, (300,), generator=t.generator(stream=1)).to(t.device)
    labels[:150] = z[:150].argmax(-1)  # half of them right, so the optimum is an interior T
    temp = sm.fit_temperature(z, labels)
    tt = torch.tensor(temp, dtype=t.dtype, device=t.device, requires_grad=True)
    F.cross_entropy(z / tt, labels).backward()
    assert abs(tt.grad.item()) < 1e-10
    best = F.cross_entropy(z / temp, labels)
    for other in torch.logspace(-1, 1, 41).tolist():
        assert F.cross_entropy(z / other, labels) >= best - 1e-14
    # logits 2.5 times larger need a temperature 2.5 times larger
    assert_close(sm.fit_temperature(2.5 * z, labels), 2.5 * temp, rtol=1e-10, atol=0)
    # the ends: every label the arg-max -> sharpen to t_min; every label the arg-min -> flatten to t_max
    assert sm.fit_temperature(z, z.argmax(-1)) == 1e-3
    assert sm.fit_temperature(z, z.argmin(-1)) == 1e3
    # separable with a gap of at least 5: softmax(z / t_min) is exactly one-hot in float64 (e^-5000 = 0), the
    # slope there is exactly 0 and the NLL still falls towards T -> 0, so the answer is still t_min
    sep = z + 5 * F.one_hot(z.argmax(-1), 5).to(t.dtype)
    assert sm.fit_temperature(sep, z.argmax(-1)) == 1e-3
    # logits that say nothing about the label (each row seen once with each label): the NLL falls all the way
    # to the uniform prediction, T -> inf, so the answer is t_max; also with logits of 1e-14, where the slope
    # at t_max rounds to exactly 0 (e^(1e-17) = 1)
    blind = t.put([[0.0, 2.0], [0.0, 2.0]])
    for scale in (1.0, 1e-14):
        assert sm.fit_temperature(scale * blind, torch.tensor([0, 1], device=t.device)) == 1e3


def _overfit_classifier(t):
    """Multinomial logistic regression fitted to 60 examples in 20 dimensions (4 Gaussian classes), then
    held-out and test logits: few examples and no regularization make the fit overconfident."""
    g = t.generator()
    means = 0.6 * torch.randn(4, 20, generator=g, dtype=torch.float64)

    def draw(n):
        y = torch.randint(0, 4, (n,), generator=g)
        return t.put(means[y] + torch.randn(n, 20, generator=g, dtype=torch.float64)), y.to(t.device)

    (x, y), held_out, test = draw(60), draw(500), draw(2000)
    # full-batch gradient descent, lr 1, on the mean cross-entropy, with its gradient written out: d/dz is
    # (softmax(z) - onehot(y)) / n, so dW = x^T dz and db = sum of dz (autograd confirms it at the start); the
    # bias rides along as a column of ones, so one step is a product, a softmax and one addmm
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=t.dtype, device=t.device)], 1)
    wb = torch.zeros(21, 4, dtype=t.dtype, device=t.device)
    onehot = F.one_hot(y, 4).to(t.dtype)
    probe = t.randn(21, 4, stream=7).requires_grad_(True)
    (auto,) = torch.autograd.grad(F.cross_entropy(xb @ probe, y), probe)
    assert_close(xb.T @ ((torch.softmax(xb @ probe, -1) - onehot) / len(x)), auto, rtol=1e-12, atol=1e-14)
    xt = xb.T / len(x)
    for _ in range(500):
        wb.addmm_(xt, torch.softmax(xb @ wb, -1) - onehot, alpha=-1.0)
    return [(xs @ wb[:20] + wb[20], ys) for xs, ys in (held_out, test)]


@check("softmax.temperature-scaling", kind="demonstration")
def temperature_scaling(t):
    """Temperature scaling fitted on held-out data lowers the test NLL and ECE of an overconfident classifier
    and leaves every prediction unchanged (a demonstration; margins held for seeds 0-99)."""
    (z_val, y_val), (z, y) = _overfit_classifier(t)
    temp = t.record("temperature", sm.fit_temperature(z_val, y_val))
    before, after = torch.softmax(z, -1), sm.softmax_with_temperature(z, temp)
    assert torch.equal(before.argmax(-1), after.argmax(-1))  # the accuracy cannot change
    acc = t.record("accuracy", (before.argmax(-1) == y).to(t.dtype).mean())
    conf = t.record("confidence", before.max(-1).values.mean())
    nll0 = t.record("nll_before", F.cross_entropy(z, y))
    nll1 = t.record("nll_after", F.cross_entropy(z / temp, y))
    ece0 = t.record("ece_before", sm.expected_calibration_error(before, y))
    ece1 = t.record("ece_after", sm.expected_calibration_error(after, y))
    # seeds 0-99: T >= 1.34, confidence - accuracy >= 0.031, NLL ratio <= 0.92, ECE ratio <= 0.51
    assert temp > 1.2                  # overconfident: the logits must be shrunk
    assert conf > acc + 0.015          # mean confidence above accuracy
    assert nll1 < 0.95 * nll0
    assert ece1 < 0.7 * ece0
