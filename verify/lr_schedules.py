"""Checks for docs/*/lr_schedules.md.

Oracles: torch.optim.lr_scheduler (recorded here, independently of the snippet), the TensorFlow 1.x formulas as
quoted from the tf.compat.v1.train API pages and evaluated with numpy, closed forms and Monte Carlo.
"""
import math
import re

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as sched

from snippets import lr_schedules as lrs
from verify._registry import check


def _rates(make, lr, steps):
    """Learning rate used by optimizer.step() at steps 0..steps-1, with one scheduler.step() per step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    s, out = make(opt), []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
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
    const = lrs.sgd_second_moment([lr] * 300, a, x0)
    assert math.isfinite(const[-1]) and abs(const[-1] / floor - 1) < 1e-12
    assert round(t.record("floor", const[-1]), 4) == 0.0278
    decay = [0.5 / (1 + 0.05 * k) for k in range(2000)]  # Robbins-Monro: sum lr = inf, sum lr^2 < inf
    decaying = lrs.sgd_second_moment(decay, a, x0)
    assert decaying[-1] < 0.1 * floor  # 0.00127 = 0.046 x floor, and still falling like 1/t
    assert round(t.record("decayed", decaying[-1]), 4) == 0.0013
    # Monte Carlo: x_t is Gaussian with mean ~0 (5 * 0.8^300) and variance v, so mean(x^2) has SE v*sqrt(2/n)
    rng = t.rng()
    for schedule, n, exact in (([lr] * 300, 10_000, const[-1]), (decay, 2_000, decaying[-1])):
        x = np.full(n, x0)
        for step in schedule:
            x = x - step * (a * x + rng.standard_normal(n))
        assert abs(np.mean(x ** 2) - exact) < 6 * exact * math.sqrt(2 / n)
    # "a constant rate converges to the optimum" is rejected: the floor is 22 standard errors above 0 (n = 10^4)


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
