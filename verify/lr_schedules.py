"""Checks for docs/*/lr_schedules.md.

Oracles: torch.optim.lr_scheduler (recorded here, independently of the snippet), the TensorFlow 1.x formulas as
quoted from the tf.compat.v1.train API pages and evaluated with numpy, closed forms and Monte Carlo.
"""
import math
import re
import warnings

import numpy as np
import pytest
import torch
from pytest import approx
from torch.testing import assert_close
from torch.optim import lr_scheduler as sched

from snippets import lr_schedules as lrs
from verify._registry import check


def _rates(make, lr, steps):
    """Learning rate used by optimizer.step() at steps 0..steps-1, with one scheduler.step() per step.
    optimizer.step() only reads the rate from param_groups and a scheduler counts only its own steps, so one
    optimizer.step() up front (without it torch warns that the scheduler stepped first) stands for all, at 10 us each."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    s, out = make(opt), []
    opt.step()
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        s.step()
    return np.array(out)


def _close(a, b, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol,
                               equal_nan=False)  # a NaN on both sides must not read as a match


@check("lr_schedules.constant-lr-noise-floor", devices=("cpu",), kind="statistical")
def constant_lr_noise_floor(t):
    """Constant-step SGD on a noisy quadratic stalls at E[x^2] = lr/(a(2 - lr a)); a decaying step goes below."""
    a, lr, x0 = 2.0, 0.1, 5.0
    floor = lr / (a * (2 - lr * a))  # stationary point of v = (1 - lr a)^2 v + lr^2: 0.02778
    # 100 steps: what is left of x0^2 is 0.8^200 * 25 = 1e-18, so the recursion sits on the floor
    const = lrs.sgd_second_moment([lr] * 100, a, x0)
    assert math.isfinite(const[-1]) and abs(const[-1] / floor - 1) < 1e-12
    assert round(t.record("floor", const[-1]), 4) == 0.0278
    decay = [0.5 / (1 + 0.05 * k) for k in range(2000)]  # Robbins-Monro: sum lr = inf, sum lr^2 < inf
    decaying = lrs.sgd_second_moment(decay, a, x0)
    assert decaying[-1] < 0.1 * floor  # 0.00127 = 0.046 x floor, and still falling like 1/t
    assert round(t.record("decayed", decaying[-1]), 4) == 0.0013
    # Monte Carlo: x_t is Gaussian with mean ~0 (5 * 0.8^100) and variance v, so mean(x^2) has SE v*sqrt(2/n):
    # 6 SE is 13 % of the floor (n = 4000) and 42 % of the decayed value (n = 400), far below the 20x between them
    # (the floor is 295 SE of the decayed run above its value)
    for stream, (schedule, n, exact) in enumerate((([lr] * 100, 4_000, const[-1]), (decay, 400, decaying[-1]))):
        # all the gradient noise at once, row k for step k: N(0, 1) drawn by torch in float32 (its vectorized
        # sampler is several times faster than numpy's for these 1.2M draws; the rounding, 6e-8 relative, is far
        # below the tolerance). Each step x - lr_k (a x + z_k) = c_k x - lr_k z_k with c_k = 1 - lr_k a, so
        # x_T = (prod_k c_k) x0 - sum_k lr_k (prod_{j>k} c_j) z_k: the whole run as one product with the noise
        noise = torch.randn(len(schedule), n, generator=t.generator(stream), dtype=torch.float32).double().numpy()
        steps = np.array(schedule)
        after = np.append(np.cumprod((1 - steps * a)[::-1])[::-1], 1.0)   # after[k] = prod_{j>=k} c_j
        x = after[0] * x0 - (steps * after[1:]) @ noise
        if n == 4_000:  # the unrolled run is the step-by-step SGD loop (checked on the 100-step schedule)
            loop = np.full(n, x0)
            for step, z in zip(schedule, noise):
                loop = loop - step * (a * loop + z)
            np.testing.assert_allclose(x, loop, rtol=1e-9, atol=1e-12)
        assert abs(np.mean(x ** 2) - exact) < 6 * exact * math.sqrt(2 / n)
    # seeds 0-59: |error| <= 2.7 SE (floor) and 3.4 SE (decayed); "a constant rate converges to the optimum" is
    # rejected: the floor is sqrt(n/2) = 45 standard errors above 0 (n = 4000)


def _tf_piecewise(x, boundaries, values):
    """TF docs: values[0] when x <= boundaries[0], values[i] when boundaries[i-1] < x <= boundaries[i], ...,
    values[-1] when x > boundaries[-1]."""
    if x <= boundaries[0]:
        return values[0]
    for i in range(1, len(boundaries)):
        if boundaries[i - 1] < x <= boundaries[i]:
            return values[i]
    return values[-1]


@check("lr_schedules.piecewise-boundary", devices=("cpu",))
def piecewise_boundary(t):
    """TF piecewise_constant keeps the old rate at a boundary; MultiStepLR switches at the milestone, a step earlier."""
    boundaries, values = [3, 6], [1.0, 0.5, 0.25]
    steps = range(10)
    # oracle for the TF rule "values[i] when boundaries[i-1] < x <= boundaries[i]": torch.bucketize with
    # right=False returns exactly that i (an independent implementation of the same interval convention)
    idx = torch.bucketize(torch.arange(10), torch.tensor(boundaries), right=False).tolist()
    tf = [values[i] for i in idx]
    assert [_tf_piecewise(s, boundaries, values) for s in steps] == tf
    assert [lrs.piecewise_constant(s, boundaries, values) for s in steps] == tf
    assert tf == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    # range edges: step 0, exactly on each boundary, one past it, far beyond the last one, a float step
    for step, want in ((0, 1.0), (3, 1.0), (3.5, 0.5), (4, 0.5), (6, 0.5), (6.000001, 0.25), (10 ** 9, 0.25)):
        assert lrs.piecewise_constant(step, boundaries, values) == want
    # the plausible wrong version (switch *at* the boundary, bisect_right) differs exactly at the boundaries
    wrong = [values[i] for i in torch.bucketize(torch.arange(10), torch.tensor(boundaries), right=True).tolist()]
    assert [s for s in steps if wrong[s] != tf[s]] == [3, 6]
    shifted = _rates(lambda o: sched.MultiStepLR(o, milestones=[4, 7], gamma=0.5), 1.0, 10)
    assert shifted.tolist() == tf  # milestones = boundaries + 1 reproduce TF exactly
    same = _rates(lambda o: sched.MultiStepLR(o, milestones=[3, 6], gamma=0.5), 1.0, 10)
    assert same.tolist() == wrong  # the naive translation is the off-by-one rule
    # values that are not a geometric sequence need LambdaLR; the snippet's recorder agrees with the one here
    odd = [0.1, 0.3, 0.02]
    lam = lambda s: _tf_piecewise(s, boundaries, odd) / odd[0]  # noqa: E731
    rec = lrs.torch_schedule(lambda o: sched.LambdaLR(o, lam), 0.1, 10)
    _close(rec, [lrs.piecewise_constant(s, boundaries, odd) for s in steps], rtol=1e-15)
    _close(rec, _rates(lambda o: sched.LambdaLR(o, lam), 0.1, 10), rtol=0)
    # the error messages report the expected count and the type that was passed
    for call, text in ((lambda: lrs.piecewise_constant(5, boundaries, [1.0]), "= 3 entries, got 1"),
                       (lambda: lrs.torch_schedule("sched", 0.1, 10), "got str")):
        with pytest.raises((TypeError, ValueError), match=re.escape(text)):
            call()


@check("lr_schedules.exponential-matches-torch", devices=("cpu",))
def exponential_matches_torch(t):
    """TF exponential_decay = ExponentialLR(gamma = r^(1/T)) stepped every step; staircase = StepLR(T, r)."""
    lr, r, T = 0.1, 0.96, 100
    steps = np.arange(1001)
    doc = lr * r ** (steps / T)                    # "learning_rate * decay_rate ^ (global_step / decay_steps)"
    doc_stair = lr * r ** np.floor(steps / T)      # "... ^ floor(global_step / decay_steps)" if staircase
    cont = [lrs.exponential_decay(lr, int(s), T, r) for s in steps]
    stair = [lrs.exponential_decay(lr, int(s), T, r, staircase=True) for s in steps]
    _close(cont, doc, rtol=1e-14)
    _close(stair, doc_stair, rtol=1e-15)
    # ExponentialLR multiplies recursively: 1000 roundings accumulate to ~2e-14 relative, hence 1e-12
    _close(_rates(lambda o: sched.ExponentialLR(o, gamma=r ** (1 / T)), lr, 1001), cont, rtol=1e-12)
    _close(_rates(lambda o: sched.StepLR(o, step_size=T, gamma=r), lr, 1001), stair, rtol=1e-12)


@check("lr_schedules.staircase-vs-continuous", devices=("cpu",))
def staircase_vs_continuous(t):
    """Only staircase mode multiplies by decay_rate once per decay_steps; the default decays every step."""
    lr, r, T = 0.1, 0.96, 100
    cont = np.array([lrs.exponential_decay(lr, s, T, r) for s in range(1001)])
    stair = np.array([lrs.exponential_decay(lr, s, T, r, staircase=True) for s in range(1001)])
    # oracles: torch's ExponentialLR(r^(1/T)) stepped every step and StepLR(T, r)
    torch_cont = _rates(lambda o: sched.ExponentialLR(o, gamma=r ** (1 / T)), lr, 1001)
    torch_stair = _rates(lambda o: sched.StepLR(o, step_size=T, gamma=r), lr, 1001)
    _close(cont, torch_cont, rtol=1e-12)
    _close(stair, torch_stair, rtol=1e-12)
    _close(torch_cont[::T], torch_stair[::T], rtol=1e-12)   # the same values at multiples of T ...
    mid = t.record("continuous_at_50", torch_cont[50])      # ... 0.0980 vs 0.1 in between
    assert round(mid, 4) == 0.0980 and torch_stair[50] == stair[50] == 0.1
    # "multiplied by decay_rate every decay_steps steps" is the staircase, not the default: they differ
    # everywhere except at multiples of T
    differ = np.flatnonzero(np.abs(torch_cont - torch_stair) > 1e-12 * lr)
    assert set(differ.tolist()) == set(range(1001)) - set(range(0, 1001, T))
    assert (np.diff(torch_cont) < 0).all()                 # continuous: a factor r^(1/T) at every step
    jumps = np.flatnonzero(np.diff(torch_stair)) + 1       # staircase: constant, then one factor r
    assert jumps.tolist() == list(range(T, 1001, T))
    # a float step between two boundaries: staircase stays flat, the default keeps decaying
    assert lrs.exponential_decay(lr, 149.5, T, r, staircase=True) == lr * r
    assert lrs.exponential_decay(lr, 149.5, T, r) < lrs.exponential_decay(lr, 149, T, r)


@check("lr_schedules.natural-exp-is-exponential", devices=("cpu",))
def natural_exp_is_exponential(t):
    """natural_exp_decay(r) = lr exp(-r t/T) is exponential_decay with decay_rate e^-r (= ExponentialLR(e^(-r/T)))."""
    lr, T = 0.1, 10
    for r in (0.1, 0.5, 0.9):
        for stair in (False, True):
            nat = [lrs.natural_exp_decay(lr, s, T, r, stair) for s in range(201)]
            doc = lr * np.exp(-r * (np.floor(np.arange(201) / T) if stair else np.arange(201) / T))
            _close(nat, doc, rtol=1e-14)  # "learning_rate * exp(-decay_rate * global_step / decay_step)"
            _close(nat, [lrs.exponential_decay(lr, s, T, math.exp(-r), stair) for s in range(201)], rtol=1e-14)
        _close(_rates(lambda o, r=r: sched.ExponentialLR(o, gamma=math.exp(-r / T)), lr, 201),
               [lrs.natural_exp_decay(lr, s, T, r) for s in range(201)], rtol=1e-12)


@check("lr_schedules.natural-exp-faster-only-for-large-rate", devices=("cpu",))
def natural_exp_faster_only_for_large_rate(t):
    """With the same number r, natural-exp decays faster than exponential only when e^-r < r, i.e. r > 0.5671."""
    # the omega constant W(1), the root of e^-r = r, by bisection (independent of any hard-coded value)
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.exp(-mid) > mid else (lo, mid)
    omega = t.record("omega", lo)
    assert abs(omega - 0.5671432904097838) < 1e-15 and round(omega, 3) == 0.567
    # oracle: torch's ExponentialLR with the two per-step factors e^(-r/T) and r^(1/T)
    for r in (0.1, 0.3, 0.5, 0.56, 0.575, 0.7, 0.96):
        nat = _rates(lambda o: sched.ExponentialLR(o, gamma=math.exp(-r / 10)), 1.0, 101)[1:]
        exp_ = _rates(lambda o: sched.ExponentialLR(o, gamma=r ** (1 / 10)), 1.0, 101)[1:]
        _close(nat, [lrs.natural_exp_decay(1.0, s, 10, r) for s in range(1, 101)], rtol=1e-12)
        _close(exp_, [lrs.exponential_decay(1.0, s, 10, r) for s in range(1, 101)], rtol=1e-12)
        assert (nat < exp_).all() if r > omega else (nat > exp_).all()
    # typical decay_rate 0.96: e^-0.96 = 0.383 per period, 2.5x faster than 0.96 per period
    per_period = t.record("factor_at_096", lrs.natural_exp_decay(1.0, 10, 10, 0.96))
    assert round(per_period, 2) == 0.38 and lrs.exponential_decay(1.0, 10, 10, 0.96) == 0.96


@check("lr_schedules.upstream-natural-exp-wrong", devices=("cpu",))
def upstream_natural_exp_wrong(t):
    """The formula lr * e^(-r / t) copied in many notes rises with t towards lr: it is not a decay."""
    lr, r, T = 0.1, 0.5, 10
    # what a decay must look like: torch's ExponentialLR(e^(-r/T)), which the snippet matches
    decay = _rates(lambda o: sched.ExponentialLR(o, gamma=math.exp(-r / T)), lr, 1001)[1:]
    _close([lrs.natural_exp_decay(lr, s, T, r) for s in range(1, 1001)], decay, rtol=1e-12)
    assert (np.diff(decay) < 0).all() and decay[-1] < 1e-20
    # the circulating formula, run as a torch LambdaLR schedule: it rises towards lr instead
    upstream = _rates(lambda o: sched.LambdaLR(o, lambda s: math.exp(-r / (s + 1))), lr, 1000)
    assert (np.diff(upstream) > 0).all() and upstream[-1] > 0.999 * lr
    assert np.abs(upstream - decay).max() > 0.5 * lr
    # the TF 1.x docstring's "exp(-decay_rate * global_step)" (no / decay_steps) is a different, faster decay
    assert abs(lrs.natural_exp_decay(lr, 10, T, r) - lr * math.exp(-r * 10)) > 0.1 * lr * math.exp(-r)


@check("lr_schedules.polynomial-matches-torch", devices=("cpu",))
def polynomial_matches_torch(t):
    """TF polynomial_decay without cycle = PolynomialLR when end_lr = 0; it holds end_lr after decay_steps."""
    lr, T, power = 0.1, 100, 2.0
    steps = np.arange(151)
    poly0 = [lrs.polynomial_decay(lr, int(s), T, end_lr=0.0, power=power) for s in steps]
    # "global_step = min(global_step, decay_steps); (lr - end) * (1 - global_step / decay_steps) ^ power + end"
    _close(poly0, lr * (1 - np.minimum(steps, T) / T) ** power, rtol=1e-14, atol=1e-18)
    _close(_rates(lambda o: sched.PolynomialLR(o, total_iters=T, power=power), lr, 151), poly0, rtol=1e-12, atol=1e-15)
    poly = [lrs.polynomial_decay(lr, int(s), T, end_lr=0.01, power=power) for s in steps]
    assert poly[0] == lr and all(p == 0.01 for p in poly[T:])
    assert (np.diff(poly[:T + 1]) < 0).all()
    # the defaults end_lr = 1e-4, power = 1 (linear), and a power below 1 (square root) is allowed
    assert abs(lrs.polynomial_decay(lr, 25, T) - ((lr - 1e-4) * 0.75 + 1e-4)) < 1e-16
    assert abs(lrs.polynomial_decay(lr, 75, T, power=0.5) - ((lr - 1e-4) * 0.5 + 1e-4)) < 1e-16


@check("lr_schedules.polynomial-cycle-peaks-lower", devices=("cpu",))
def polynomial_cycle_peaks_lower(t):
    """With cycle=True each restart climbs only to end + (lr - end)((T-1)/((k+1)T))^power, lower every time."""
    lr, end, T, power = 0.1, 0.01, 100, 2.0
    f = lambda s: lrs.polynomial_decay(lr, s, T, end_lr=end, power=power, cycle=True)  # noqa: E731
    assert f(0) == lr  # TF: "if global_step is zero set the multiplier to 1"
    # oracle for cycle k: torch's PolynomialLR with horizon (k+1) T, scaled to (lr - end) and shifted by end
    for k in range(0, 5):
        horizon = (k + 1) * T
        poly = _rates(lambda o: sched.PolynomialLR(o, total_iters=horizon, power=power), lr - end, horizon + 1)
        ours = [f(s) for s in range(k * T + 1, horizon + 1)]
        _close(ours, poly[k * T + 1:] + end, rtol=1e-10, atol=1e-15)
    peaks = [f(k * T + 1) for k in range(1, 6)]
    for k, peak in enumerate(peaks, start=1):
        assert abs(f(k * T) - end) < 1e-15  # every cycle still ends exactly at end_lr ...
        assert abs(peak / (end + (lr - end) * ((T - 1) / ((k + 1) * T)) ** power) - 1) < 1e-12
    for i, want in enumerate((0.0321, 0.0198, 0.0155)):
        assert round(t.record(f"peak_{i + 1}", peaks[i]), 4) == want
    assert all(p2 < p1 for p1, p2 in zip(peaks, peaks[1:]))  # ... but restarts lower each time:
    assert peaks[0] < 0.33 * lr                               # never back to the initial rate
    # the sawtooth that "returns to the initial rate" would give lr after each boundary: rejected
    assert np.max(peaks) < lr - (lr - end) / 2  # np.max propagates NaN (Python max would not)


@check("lr_schedules.cosine-matches-torch", devices=("cpu",))
def cosine_matches_torch(t):
    """TF cosine_decay = CosineAnnealingLR(eta_min = alpha lr) up to T; after T TF stays at alpha lr, torch rises."""
    lr, T, alpha = 1.0, 10, 0.1
    steps = np.arange(21)
    tf = np.array([lrs.cosine_decay(lr, int(s), T, alpha) for s in steps])
    doc = lr * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * np.minimum(steps, T) / T)) + alpha)
    _close(tf, doc, rtol=1e-15)
    torch_ = _rates(lambda o: sched.CosineAnnealingLR(o, T_max=T, eta_min=alpha * lr), lr, 21)
    _close(torch_[:T + 1], tf[:T + 1], rtol=1e-12)   # measured 4e-15 (torch's recursive update)
    assert (tf[T:] == alpha * lr).all()                # TF clamps global_step at decay_steps
    assert (np.diff(torch_[T:]) > 0).all() and abs(torch_[2 * T] - lr) < 1e-12  # torch climbs back up by 2T
    assert lrs.cosine_decay(lr, T, T) == 0.0 and lrs.cosine_decay(lr, T // 2, T) == 0.5 * lr  # default alpha = 0


# ---------------------------------------------------------------- warm-up
@check("lr_schedules.adam-early-variance", kind="statistical")
def adam_early_variance(t):
    """Adam's adaptive factor 1/sqrt(v_hat_t) for N(0, s^2) gradients: s/sqrt(v_hat_t) ~ sqrt(t / chi2_t) when beta2 is
    near 1, with variance t/(t-2) - E^2 (infinite for t <= 2), falling like 1/(2t): large in the first steps."""
    n, s, b2 = 10_000, 3.0, 0.999     # 10 000 coordinates = 10 000 independent runs of torch.optim.Adam
    p = torch.nn.Parameter(torch.zeros(n, dtype=t.dtype, device=t.device))
    adam = torch.optim.Adam([p], lr=1e-3, betas=(0.9, b2))
    grads = s * t.randn32(100, n)  # float32 draws: their rounding lies far below the tolerances here (> 1e-3)
    variances = {}
    for step in range(1, 101):
        p.grad = grads[step - 1].clone()
        adam.step()
        if step not in (10, 100):
            continue
        # v_hat = v / (1 - b2^t); psi = s / sqrt(v_hat) is scale-free (s drops out)
        psi = (s * math.sqrt(1 - b2 ** step) / adam.state[p]["exp_avg_sq"].sqrt()).double().cpu()
        assert torch.isfinite(psi).all()
        # closed forms for v_hat = s^2 chi2_t / t (equal weights; b2 = 0.999 weights differ by < 10 % over 100 steps,
        # a second-order effect below 1e-4 relative): E[chi_t^-1] = Gamma((t-1)/2) / (sqrt(2) Gamma(t/2)),
        # E[chi_t^-2] = 1/(t-2), E[chi_t^-4] = 1/((t-2)(t-4))
        e1 = math.sqrt(step / 2) * math.exp(math.lgamma((step - 1) / 2) - math.lgamma(step / 2))
        e2, e4 = step / (step - 2), step ** 2 / ((step - 2) * (step - 4))
        var = e2 - e1 ** 2
        assert abs(psi.mean().item() - e1) < 6 * math.sqrt(var / n)
        assert abs(psi.pow(2).mean().item() - e2) < 6 * math.sqrt((e4 - e2 ** 2) / n)
        # the wrong belief "v_hat is the true second moment from the first step" means psi = 1, variance 0:
        # E[psi^2] - 1 = 2/(t-2) is 35 (t = 10) and 14 (t = 100) standard errors away; seeds 0-59: both moments
        # within 3.1 SE of the closed forms, the measured psi^2 at least 32 and 10.7 SE from 1
        se2 = math.sqrt((e4 - e2 ** 2) / n)
        assert abs(psi.pow(2).mean().item() - 1) > 6 * se2
        assert t.record(f"wrong_se_{step}", (e2 - 1) / se2) > 12
        variances[step] = t.record(f"var_{step}", var)
        t.record(f"sd_{step}", math.sqrt(var))
        t.record(f"mean_{step}", e1)
    assert round(variances[10], 3) == 0.076 and round(variances[100], 4) == 0.0052
    assert round(math.sqrt(variances[10]), 2) == 0.27 and round(math.sqrt(variances[100]), 3) == 0.072
    assert 0.9 < variances[100] * 2 * 100 < 1.1 and variances[10] > 10 * variances[100]  # ~ 1/(2t)


@check("lr_schedules.radam-rectifier-is-warmup", devices=("cpu",))
def radam_rectifier_is_warmup(t):
    """torch.optim.RAdam takes plain momentum steps for t <= 5, then Adam's step times r_t, which climbs from
    0.026 towards 1 over thousands of steps: a built-in warm-up."""
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-12
    grads = 1000 * t.randn(40, 3)                  # large gradients: an un-adapted step would be huge
    ps = [torch.nn.Parameter(torch.zeros(3, dtype=t.dtype)) for _ in range(2)]
    radam = torch.optim.RAdam([ps[0]], lr=lr, betas=(b1, b2), eps=eps)
    adam = torch.optim.Adam([ps[1]], lr=lr, betas=(b1, b2), eps=eps)
    m = torch.zeros(3, dtype=t.dtype)
    for k, g in enumerate(grads, start=1):
        for q in ps:           # the update does not depend on the parameter (no weight decay): start each step
            with torch.no_grad():  # from 0, so the parameter after the step *is* the step, without the rounding
                q.zero_()          # of a difference of two large parameters
            q.grad = g.clone()
        radam.step()
        adam.step()
        d_radam, d_adam = (q.detach().clone() for q in ps)
        m = b1 * m + (1 - b1) * g
        r = lrs.radam_rectifier(k, b2)
        if k <= 5:   # rho_t <= 5: SGD with momentum, lr * m_hat, scaled like the gradient (here ~1000 lr)
            assert r is None
            assert_close(-d_radam, lr * m / (1 - b1 ** k), rtol=1e-12, atol=0)
        else:        # Adam's step times the rectifier (eps = 1e-12 against |g| ~ 1e3: negligible)
            assert r is not None and 0 < r < 1
            assert_close(d_radam, r * d_adam, rtol=1e-12, atol=0)
    # the oracle for r_t itself: Liu et al.'s closed form, rho_t ~ number of averaged squared gradients
    rho_inf = 2 / (1 - b2) - 1
    for k in (6, 100, 1000):
        rho = rho_inf - 2 * k * b2 ** k / (1 - b2 ** k)
        want = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        assert abs(lrs.radam_rectifier(k, b2) - want) < 1e-15 and abs(rho - k) < 0.2 * k
    rect = [lrs.radam_rectifier(k, b2) for k in range(6, 6000)]
    assert all(b > a for a, b in zip(rect, rect[1:]))  # strictly rising: a warm-up
    assert round(t.record("r_6", rect[0]), 3) == 0.026
    half = t.record("steps_to_half", 6 + next(i for i, r in enumerate(rect) if r >= 0.5))
    ninety = t.record("steps_to_90", 6 + next(i for i, r in enumerate(rect) if r >= 0.9))
    assert 500 < half < 600 and 2500 < ninety < 3500
    # the default beta2 is 0.999 (torch's): r_6 = 0.026 as above
    assert lrs.radam_rectifier(6) == lrs.radam_rectifier(6, 0.999) and round(lrs.radam_rectifier(6), 3) == 0.026
    # the edge rho_t = 5 exactly (beta2 = 0.7678067796924252 at t = 7, found by bisection): torch's test is
    # rho_t > 5, so it takes the plain momentum step, and the snippet returns None; one step later it rectifies
    b2e = 0.7678067796924252
    assert 2 / (1 - b2e) - 1 - 2 * 7 * b2e ** 7 / (1 - b2e ** 7) == 5.0
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    radam = torch.optim.RAdam([p], lr=lr, betas=(b1, b2e), eps=eps)
    g, m = torch.tensor([1000.0, -3.0, 0.5], dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    for k in range(1, 8):
        with torch.no_grad():
            p.zero_()
        p.grad = g.clone()
        radam.step()
        m = b1 * m + (1 - b1) * g
    assert_close(-p.detach(), lr * m / (1 - b1 ** 7), rtol=1e-12, atol=0)
    assert lrs.radam_rectifier(7, b2e) is None and lrs.radam_rectifier(8, b2e) is not None


def _least_squares_batches(t, n=256, d=8, k=8, noise=0.5):
    x = t.randn(n, d) * torch.linspace(0.3, 3, d, dtype=t.dtype, device=t.device)
    y = x @ t.randn(d, stream=1) + noise * t.randn(n, stream=2)
    limit = 2 / torch.linalg.eigvalsh(x.T @ x / n).max().item()  # SGD on the full loss diverges above this
    return x, y, limit


@check("lr_schedules.linear-scaling-first-order", devices=("cpu",))
def linear_scaling_first_order(t):
    """k SGD steps on batches of B at rate eta = one step on the union (kB) at rate k eta, up to O(eta^2)
    (Goyal et al. 2017, sec. 2.1); the sqrt(k) rule is off at first order; at large eta the linear rule fails too."""
    k = 8
    x, y, limit = _least_squares_batches(t, k=k)
    w0 = t.randn(x.shape[1], stream=3)
    batches = torch.randperm(x.shape[0], generator=t.generator(4)).view(k, -1)

    def grad(w, idx):  # gradient of the mean of 1/2 (x w - y)^2 over the examples idx
        return x[idx].T @ (x[idx] @ w - y[idx]) / len(idx)

    def relative_gaps(eta):
        w = w0.clone()
        for idx in batches:
            w = w - eta * grad(w, idx)
        move = (w - w0).norm()
        big = lambda rate: w0 - rate * grad(w0, batches.flatten())  # noqa: E731
        return ((big(k * eta) - w).norm() / move).item(), ((big(math.sqrt(k) * eta) - w).norm() / move).item()
    gaps = [relative_gaps(f * limit / k) for f in (0.1, 0.05, 0.025)]
    assert all(math.isfinite(a) and math.isfinite(b) for a, b in gaps)
    for (lin1, sq1), (lin2, sq2) in zip(gaps, gaps[1:]):
        assert 1.9 < lin1 / lin2 < 2.1        # relative gap ~ eta: the two updates agree to first order
        assert abs(sq1 / sq2 - 1) < 0.05      # sqrt(k) rule: ~1 - 1/sqrt(8) = 0.65 off, whatever eta
    assert all(abs(sq - (1 - 1 / math.sqrt(k))) < 0.05 for _, sq in gaps)
    # seeds 0-49: 0.049-0.087 at k eta = 0.1 * 2/lambda_max, 0.50-1.15 at k eta = 2/lambda_max
    small = t.record("gap_small", gaps[0][0])
    large = t.record("gap_large", relative_gaps(limit / k)[0])
    assert small < 0.1 and large > 0.3


@check("lr_schedules.linear-warmup-matches-torch", devices=("cpu",))
def linear_warmup_matches_torch(t):
    """Goyal et al.'s gradual warm-up (eta to k eta linearly) is LinearLR(start_factor=1/k); warm-up + cosine is
    SequentialLR(LinearLR, CosineAnnealingLR); LinearLR refuses start_factor=0."""
    k, n, base = 32, 50, 0.1                       # B = 8192 = 32 x 256, eta = 0.1 per 256 examples
    peak = k * base
    warm = _rates(lambda o: sched.LinearLR(o, start_factor=1 / k, total_iters=n), peak, 2 * n)
    closed = [base + (peak - base) * min(s, n) / n for s in range(2 * n)]    # +(k-1) eta / n per step
    _close(warm, closed, rtol=1e-12)
    _close([peak * lrs.linear_warmup_factor(s, n, 1 / k) for s in range(2 * n)], closed, rtol=1e-14)
    _close(_rates(lambda o: sched.LambdaLR(o, lambda s: lrs.linear_warmup_factor(s, n, 1 / k)), peak, 2 * n),
           closed, rtol=1e-14)
    assert warm[0] == approx(base) and warm[n] == approx(peak) and np.allclose(np.diff(warm[:n + 1]), (peak - base) / n)
    # the plausible slip LinearLR(start_factor=1/k) on the *small* rate would start at eta / k
    assert abs(_rates(lambda o: sched.LinearLR(o, start_factor=1 / k, total_iters=n), base, 1)[0] - base) > 0.9 * base
    # warm-up, then cosine to 0 at step T: the two chained torch schedulers
    w, total = 10, 60
    chained = _rates(lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.01, total_iters=w),
                                                      sched.CosineAnnealingLR(o, T_max=total - w)],
                                                  milestones=[w]), 1.0, total + 1)
    _close(chained, [lrs.warmup_cosine(s, 1.0, w, total) for s in range(total + 1)], rtol=1e-12, atol=1e-15)
    doc = [0.01 + 0.99 * s / w if s < w else 0.5 * (1 + math.cos(math.pi * (s - w) / (total - w)))
           for s in range(total + 1)]
    _close(chained, doc, rtol=1e-12, atol=1e-15)
    assert chained[w] == approx(1.0) and abs(chained[total]) < 1e-15
    # with a floor eta_min the cosine ends there, and warmup_cosine holds it after total_steps
    floored = _rates(lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.2, total_iters=w),
                                                      sched.CosineAnnealingLR(o, T_max=total - w, eta_min=0.1)],
                                                  milestones=[w]), 1.0, total + 1)
    _close(floored, [lrs.warmup_cosine(s, 1.0, w, total, start_factor=0.2, eta_min=0.1) for s in range(total + 1)],
           rtol=1e-12)
    assert lrs.warmup_cosine(total + 7, 1.0, w, total, eta_min=0.1) == approx(0.1)
    # range edges against torch: a one-step warm-up, and the hand-over at step w, where the cosine starts at lr
    # exactly (torch's closed form at its milestone); the warm-up line there gives 0.01 + 0.99 * 3 / 3 = 1 - 1 ulp
    for w, total in ((1, 8), (3, 12)):
        chained = _rates(lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.01, total_iters=w),
                                                          sched.CosineAnnealingLR(o, T_max=total - w)],
                                                      milestones=[w]), 1.0, total + 1)
        _close(chained, [lrs.warmup_cosine(s, 1.0, w, total) for s in range(total + 1)], rtol=1e-12, atol=1e-15)
        assert chained[w] == lrs.warmup_cosine(w, 1.0, w, total) == 1.0
    assert 0.01 + (1 - 0.01) * 3 / 3 != 1.0  # the rounding that a `step <= warmup_steps` slip would show
    # a warm-up from exactly 0 is not a LinearLR: torch raises; LambdaLR can do it (its first step is then wasted)
    with pytest.raises(ValueError, match="greater than 0"):
        sched.LinearLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), start_factor=0.0)
    assert _rates(lambda o: sched.LambdaLR(o, lambda s: lrs.linear_warmup_factor(s, n, 0.0)), 1.0, 1)[0] == 0.0


# ---------------------------------------------------------------- one-cycle and the range test
def _torch_one_cycle(max_lr, total, pct, **kw):
    """The learning rates and momenta torch's OneCycleLR sets at each of `total` steps, and the spent scheduler
    (one optimizer.step() for torch's step-order check, as in _rates)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=max_lr, momentum=0.9)
    scheduler = sched.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct, **kw)
    rates, moms = [], []
    opt.step()
    for _ in range(total):
        rates.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        scheduler.step()
    return rates, moms, scheduler


@check("lr_schedules.one-cycle-boundaries", devices=("cpu",))
def one_cycle_boundaries(t):
    """OneCycleLR: lr = max_lr/25 at step 0, max_lr at step pct*T - 1, max_lr/(25*1e4) at step T - 1; momentum
    0.95 -> 0.85 -> 0.95; a step beyond T raises."""
    for max_lr, total, pct in ((1.0, 100, 0.3), (0.4, 1000, 0.25), (3.0, 37, 0.5)):
        rates, moms, scheduler = _torch_one_cycle(max_lr, total, pct)
        mine = [lrs.one_cycle(s, max_lr, total, pct) for s in range(total)]
        _close(rates, [r for r, _ in mine], rtol=1e-12)
        _close(moms, [m for _, m in mine], rtol=1e-12)
        peak = pct * total - 1
        if peak == int(peak):  # the closed-form boundaries
            assert rates[int(peak)] == approx(max_lr) and moms[int(peak)] == approx(0.85)
            assert rates[int(peak) + 1] < max_lr  # the peak is at pct*T - 1, not at pct*T
        assert rates[0] == approx(max_lr / 25) and moms[0] == approx(0.95)
        assert rates[-1] == approx(max_lr / 25 / 1e4) and moms[-1] == approx(0.95)
        assert rates[-1] < 1e-3 * rates[0]  # "back to the initial rate" is wrong: 10^4 times below it
        with pytest.raises(ValueError, match="Tried to step"):
            scheduler.step()
    # with Adam, cycle_momentum cycles beta1 (the first of the betas) instead of momentum
    adam = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = sched.OneCycleLR(adam, max_lr=1.0, total_steps=100)
    assert adam.param_groups[0]["betas"] == (0.95, 0.999)
    adam.step()
    for _ in range(29):
        scheduler.step()
    assert adam.param_groups[0]["betas"][0] == approx(0.85) and adam.param_groups[0]["lr"] == approx(1.0)
    # non-default divisors and momenta, against torch
    kw = dict(div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2.0, momentum=0.9)
    scheduler = sched.OneCycleLR(opt, max_lr=2.0, total_steps=50, pct_start=0.4, **kw)
    opt.step()
    for s in range(50):
        want = lrs.one_cycle(s, 2.0, 50, 0.4, **kw)
        assert opt.param_groups[0]["lr"] == approx(want[0], rel=1e-12)
        assert opt.param_groups[0]["momentum"] == approx(want[1], rel=1e-12)
        scheduler.step()
    assert lrs.one_cycle(0, 2.0, 50, 0.4, **kw)[0] == approx(0.2) and lrs.one_cycle(49, 2.0, 50, 0.4, **kw)[0] == approx(2e-3)
    t.record("initial", lrs.one_cycle(0, 1.0, 100)[0])
    t.record("final", lrs.one_cycle(99, 1.0, 100)[0])
    assert round(lrs.one_cycle(99, 1.0, 100)[0] * 1e6, 6) == 4.0
    # range edges, against torch: the peak at step 1 (pct_start * T - 1 = 1) or at T - 2, and divisors below 1
    # (torch only asks for > 0: the rate then starts and ends above max_lr); at the peak both give max_lr exactly,
    # while the falling branch's formula there, end + (max_lr - end), is 2 ulp off for end = 0.4
    for total, pct, kw in ((100, 0.02, {}), (10, 0.9, {}), (20, 0.5, dict(div_factor=0.5, final_div_factor=0.5))):
        rates, moms, _ = _torch_one_cycle(0.1, total, pct, **kw)
        mine = [lrs.one_cycle(s, 0.1, total, pct, **kw) for s in range(total)]
        _close(rates, [r for r, _ in mine], rtol=1e-12)
        _close(moms, [m for _, m in mine], rtol=1e-12)
        peak = round(pct * total - 1)
        assert rates[peak] == mine[peak][0] == 0.1 and moms[peak] == mine[peak][1] == 0.85
    end = 0.1 / 0.5 / 0.5
    assert end + (0.1 - end) != 0.1


def _range_test_run(t, batch):
    x, y, limit = _least_squares_batches(t)
    g = t.generator(5)

    def loss_and_grad(w, k):   # the full training loss is recorded; the step uses a random mini-batch
        idx = torch.randperm(x.shape[0], generator=g)[:batch]
        return 0.5 * (x @ w - y).pow(2).mean(), x[idx].T @ (x[idx] @ w - y[idx]) / batch
    rates, losses = lrs.lr_range_test(loss_and_grad, torch.zeros(x.shape[1], dtype=t.dtype), 1e-3 * limit,
                                      10 * limit, 100)
    assert len(rates) < 100 and np.isfinite(losses).all()  # it did stop: the loss blew up
    return np.array(rates) / limit, np.array(losses)


@check("lr_schedules.lr-range-test", devices=("cpu",), kind="demonstration")
def lr_range_test(t):
    """Demonstration: a geometric lr sweep with mini-batch SGD on least squares stops (loss > 4x its best) within
    0.5-3x the stability limit 2/lambda_max; with the full batch the blow-up lags, and the sweep overshoots > 3x."""
    rates, losses = _range_test_run(t, 16)
    # seeds 0-49: stops at 0.81-2.06 x 2/lambda_max, lowest loss at 0.46-1.87 x; asserted: 0.5-3 and 0.3-stop
    stop = t.record("stop_ratio", rates[-1])
    best = t.record("best_ratio", rates[np.argmin(losses)])
    t.record("stop_low", 0.5)
    t.record("stop_high", 3)
    assert 0.5 < stop < 3 and 0.3 < best <= stop
    assert losses[-1] < losses[0] / 2  # the loss fell a long way before the blow-up
    # full batch: the steep direction has converged to ~0 by the time lr passes the limit, so it takes many
    # steps to grow back; seeds 0-49: stops at 5.7-7.6 x the limit
    full, _ = _range_test_run(t, 256)
    assert t.record("full_batch_stop_ratio", full[-1]) > 3
    # the sweep itself: geometric rates from lr_min, lr_max reached at the last step, stop at 4x the best loss
    script = [1.0, 0.5, 0.4, 1.5, 1.7, 0.1]
    rates, losses = lrs.lr_range_test(lambda w, k: (script[k], w), torch.zeros(1), 1e-3, 1e-1, 6)
    assert losses == [1.0, 0.5, 0.4, 1.5] and np.allclose(rates, 1e-3 * 100 ** (np.arange(4) / 5), rtol=1e-14)
    rates, _ = lrs.lr_range_test(lambda w, k: (1.0, w), torch.zeros(1), 1e-3, 1e-1, 6)
    assert len(rates) == 6 and rates[-1] == approx(1e-1, rel=1e-14)
    rates, _ = lrs.lr_range_test(lambda w, k: ([1.0, float("nan")][min(k, 1)], w), torch.zeros(1), 1e-3, 1e-1, 6)
    assert rates == [1e-3]
    # "stops once the loss exceeds stop_factor x best": a loss of exactly 4 x best (2.0 = 4 x 0.5) is kept
    script = [1.0, 0.5, 2.0, 2.5, 0.1]
    _, losses = lrs.lr_range_test(lambda w, k: (script[k], w), torch.zeros(1), 1e-3, 1e-1, 5)
    assert losses == [1.0, 0.5, 2.0]
    # any stop_factor > 1 is allowed (1.5: stop at 0.8 > 1.5 x 0.5), and the shortest sweep, 2 steps, is lr_min, lr_max
    _, losses = lrs.lr_range_test(lambda w, k: ([1.0, 0.5, 0.7, 0.8][k], w), torch.zeros(1), 1e-3, 1e-1, 4,
                                  stop_factor=1.5)
    assert losses == [1.0, 0.5, 0.7]
    rates, _ = lrs.lr_range_test(lambda w, k: (1.0, w), torch.zeros(1), 1e-3, 1e-1, 2)
    assert rates[0] == 1e-3 and rates[1] == approx(1e-1, rel=1e-15) and len(rates) == 2


# ---------------------------------------------------------------- ReduceLROnPlateau and the step order
def _torch_plateau(metrics, lr, **kw):
    """The rate after each epoch's scheduler.step(metric); ReduceLROnPlateau reads only the metrics and has no
    step-order check, so the optimizer is never stepped (optimizer.step() would not change a rate)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler, out = sched.ReduceLROnPlateau(opt, **kw), []
    for m in metrics:
        scheduler.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


@check("lr_schedules.plateau-semantics", devices=("cpu",))
def plateau_semantics(t):
    """ReduceLROnPlateau cuts lr on the (patience+1)-th epoch without an improvement larger than the threshold
    (relative by default), then waits `cooldown` epochs; the snippet follows torch on random metric sequences."""
    # a flat metric with the defaults (patience 10, factor 0.1): the first cut comes 11 epochs after the best
    flat = _torch_plateau([1.0] * 30, 0.1)
    cut = next(i for i, r in enumerate(flat) if r < 0.1)
    assert t.record("bad_epochs_before_cut", cut) == 11 and flat[cut] == approx(0.01)
    assert flat == lrs.reduce_on_plateau([1.0] * 30, 0.1)
    assert flat[10] == 0.1  # "after patience bad epochs" would already cut at the 10th: one epoch too early
    # improvements are measured against the best value, and must exceed threshold * best (1e-4 relative): a
    # metric creeping down by 5e-6 per epoch has moved only 5.5e-5 after 11 epochs, so it is a plateau; in
    # 'abs' mode with threshold 1e-6 the same sequence improves at every epoch
    creep = [1.0 - 5e-6 * i for i in range(20)]
    assert _torch_plateau(creep, 0.1) == flat[:20] == lrs.reduce_on_plateau(creep, 0.1)
    assert _torch_plateau(creep, 0.1, threshold=1e-6, threshold_mode="abs") == [0.1] * 20
    # a negative metric in 'rel' mode: best * (1 - threshold) lies *above* best, so a slightly worse value counts
    # as an improvement and the rate is never cut
    worse = [-1.0 + 5e-5 * i / 29 for i in range(30)]  # rises (worsens) by 5e-5 in total
    assert _torch_plateau(worse, 0.1) == [0.1] * 30 == lrs.reduce_on_plateau(worse, 0.1)
    # cooldown and min_lr
    kw = dict(patience=2, factor=0.5, cooldown=3, min_lr=0.02)
    got = _torch_plateau([1.0] * 20, 0.1, **kw)
    assert got == lrs.reduce_on_plateau([1.0] * 20, 0.1, **kw)
    # the first cut after patience + 1 = 3 bad epochs; then 3 cooldown epochs that do not count, and 3 more bad
    assert [i for i in range(1, 20) if got[i] < got[i - 1]] == [3, 9, 15]
    assert got[3] == 0.05 and got[9] == 0.025 and got[15] == 0.02  # 0.0125 is clamped to min_lr
    assert _torch_plateau([1.0] * 40, 0.1, **kw)[-1] == 0.02
    # a cut smaller than eps (1e-8) is skipped: at lr = 5e-9 the rate stays, at eps = 1e-10 it is cut
    assert _torch_plateau([1.0] * 5, 5e-9, patience=1) == [5e-9] * 5 == lrs.reduce_on_plateau([1.0] * 5, 5e-9, patience=1)
    assert _torch_plateau([1.0] * 5, 5e-9, patience=1, eps=1e-10)[2] == approx(5e-10)
    # edges, against torch: a cut of exactly eps (2 - 1 = 1) is skipped too ("larger than eps"); with threshold 0
    # an equal metric is not an improvement; a NaN metric (a diverged epoch) counts as bad from the first epoch
    edges = (([1.0] * 5, 2.0, dict(factor=0.5, eps=1.0, patience=1)),
             ([1.0] * 15, 0.1, dict(threshold=0.0)), ([1.0] * 15, 0.1, dict(threshold=0.0, threshold_mode="abs")),
             ([math.nan] * 4, 0.1, dict(patience=1)), ([math.nan] * 3, 0.1, dict(patience=0, cooldown=1)))
    for metrics, lr, kw in edges:
        assert lrs.reduce_on_plateau(metrics, lr, **kw) == _torch_plateau(metrics, lr, **kw)
    assert _torch_plateau([1.0] * 5, 2.0, factor=0.5, eps=1.0, patience=1) == [2.0] * 5
    assert _torch_plateau([1.0] * 15, 0.1, threshold=0.0)[11] == approx(0.01)
    assert _torch_plateau([math.nan] * 4, 0.1, patience=1) == approx([0.1, 0.01, 0.01, 0.001])
    assert _torch_plateau([math.nan] * 3, 0.1, patience=0, cooldown=1) == approx([0.01, 0.01, 0.001])
    # random walks and noisy decays, random settings: the snippet equals torch epoch by epoch
    rng = t.rng(1)
    for trial in range(60):
        metrics = (np.cumsum(rng.normal(0, 1, 40)) if trial % 2 else
                   1 / (1 + np.arange(40)) + rng.choice([0.0, 1e-5, 1e-3], 40)).tolist()
        kw = dict(factor=float(rng.choice([0.1, 0.5])), patience=int(rng.integers(0, 5)),
                  threshold=float(rng.choice([0.0, 1e-4, 1e-2])), threshold_mode=str(rng.choice(["rel", "abs"])),
                  cooldown=int(rng.integers(0, 3)), min_lr=float(rng.choice([0.0, 1e-3])))
        assert lrs.reduce_on_plateau(metrics, 0.1, **kw) == _torch_plateau(metrics, 0.1, **kw)


@check("lr_schedules.step-order-skips-first-value", devices=("cpu",))
def step_order_skips_first_value(t):
    """scheduler.step() before optimizer.step() makes torch warn and the optimizer never uses the first rate:
    every value comes one step early."""
    warmup = lambda o: sched.LinearLR(o, start_factor=0.1, total_iters=5)  # noqa: E731
    closed = [0.1 + 0.9 * min(s, 5) / 5 for s in range(12)]                 # 0.1, 0.28, 0.46, ...
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                     # the right order warns about nothing
        right = lrs.torch_schedule(warmup, 1.0, 11)
    with pytest.warns(UserWarning, match="skipping the first value of the learning rate schedule"):
        wrong = lrs.torch_schedule(warmup, 1.0, 11, scheduler_first=True)
    _close(right, closed[:11], rtol=1e-12)
    _close(wrong, closed[1:], rtol=1e-12)                                  # shifted: 0.1 is never used
    assert t.record("wrong_first", wrong[0]) == approx(0.28)
    # a step decay comes one step early: MultiStepLR(milestones=[3]) halves from the 3rd step instead of the 4th
    steps = lambda first: lrs.torch_schedule(lambda o: sched.MultiStepLR(o, [3], 0.5), 1.0, 6,  # noqa: E731
                                             scheduler_first=first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert steps(False) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5] and steps(True) == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
