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
