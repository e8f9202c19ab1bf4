"""Checks for docs/*/mixed_precision.md.

Oracles: torch.finfo, IEEE rounding of single values built by hand, the float32 gradient computed without any
16-bit storage, unscaled training, torch.autocast and torch.amp.GradScaler themselves (their documented
behaviour), closed forms. The Trial's dtype (float32/float64)
is the dtype of the model where one is trained; the 16-bit dtypes are named in each check.
"""
import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets import mixed_precision as mp
from verify._registry import check

F16, BF16, F32 = torch.float16, torch.bfloat16, torch.float32
FORMATS = {  # dtype: (exponent bits, mantissa bits) of its IEEE-754-style layout
    torch.float16: (5, 10), torch.bfloat16: (8, 7), torch.float32: (8, 23), torch.float64: (11, 52),
    torch.float8_e5m2: (5, 2),
}


def _v(value, dtype, device):
    """One number rounded to `dtype` (round to nearest, ties to even), on the device."""
    return torch.tensor(value, dtype=torch.float64).to(device).to(dtype)


@check("mixed_precision.float-format-limits", devices=("cpu",))
def float_format_limits(t):
    """The bit-layout formulas reproduce torch.finfo (max, smallest normal, eps, bits) for five formats."""
    for dtype, (e, m) in FORMATS.items():
        fi, lim = torch.finfo(dtype), mp.float_format_limits(e, m)
        assert fi.bits == 1 + e + m
        assert lim["max"] == fi.max and lim["smallest_normal"] == fi.smallest_normal == fi.tiny
        assert lim["eps"] == fi.eps
        # the smallest subnormal is not in this torch's finfo: it is positive and half of it rounds to 0
        sub = lim["smallest_subnormal"]
        assert _v(sub, dtype, "cpu").item() == sub and _v(sub / 2, dtype, "cpu").item() == 0.0
        assert _v(sub * 1.5, dtype, "cpu").item() == 2 * sub  # a tie between sub and 2 sub goes to the even 2 sub
    # the smallest layouts (2 exponent bits is the floor) against every finite value their bit patterns encode
    for e, m in ((2, 1), (2, 3), (3, 2)):
        bias = 2 ** (e - 1) - 1
        values = sorted(((1 + f / 2 ** m) * 2.0 ** (stored - bias) if stored else f / 2 ** m * 2.0 ** (1 - bias))
                        for stored in range(2 ** e - 1) for f in range(2 ** m))  # all-ones exponent: inf/NaN
        lim = mp.float_format_limits(e, m)
        assert lim["max"] == values[-1] and lim["smallest_subnormal"] == values[1]  # values[0] is 0
        assert lim["smallest_normal"] == values[2 ** m] and lim["eps"] == values[values.index(1.0) + 1] - 1
    # float8_e4m3fn reuses the all-ones exponent for numbers (no inf): the IEEE formula would say 240, not 448
    assert torch.finfo(torch.float8_e4m3fn).max == 448.0 != mp.float_format_limits(4, 3)["max"] == 240.0


@check("mixed_precision.float16-range")
def float16_range(t):
    """float16: max 65504, smallest normal 2^-14, eps 2^-10, smallest subnormal 2^-24, checked by rounding."""
    fi, lim = torch.finfo(F16), mp.float_format_limits(5, 10)
    t.record("exponent_bits", 5)
    t.record("mantissa_bits", 10)
    t.record("max", fi.max)
    t.record("smallest_normal", fi.smallest_normal)
    t.record("smallest_normal_log2", math.log2(fi.smallest_normal))
    t.record("eps", fi.eps)
    t.record("eps_log2", math.log2(fi.eps))
    t.record("smallest_subnormal", lim["smallest_subnormal"])
    t.record("smallest_subnormal_log2", math.log2(lim["smallest_subnormal"]))
    assert (fi.max, math.log2(fi.smallest_normal), math.log2(fi.eps)) == (65504.0, -14, -10)
    assert math.log2(lim["smallest_subnormal"]) == -24
    h = lambda v: _v(v, F16, t.device)  # noqa: E731
    # max: 65504 = (2 - 2^-10) 2^15 is finite; 65519 rounds down to it, 65520 (the midpoint to 2^16) rounds to inf
    assert h(65504).item() == 65504 and h(65519).item() == 65504 and torch.isinf(h(65520))
    assert torch.isinf(h(65536))  # the common misquote "max = 2^16" is not even representable
    # eps: 1 + eps is the next number after 1; 1 + eps/2 is a tie and rounds back to the even 1
    one = h(1.0)
    assert (one + h(2.0 ** -10)).item() == 1 + 2.0 ** -10 and (one + h(2.0 ** -11)).item() == 1.0
    # normal / subnormal boundary and the last positive number
    assert h(2.0 ** -14).item() == 2.0 ** -14 and h(2.0 ** -24).item() == 2.0 ** -24
    assert h(2.0 ** -25).item() == 0.0 and h(1e-8).item() == 0.0
    # a subnormal keeps only the bits above 2^-24: 1e-7 is stored as 2 * 2^-24, a relative error of 19 %
    err = t.record("rel_error_1e_7", abs(h(1e-7).item() - 1e-7) / 1e-7)
    assert h(1e-7).item() == 2 * 2.0 ** -24 and round(err, 2) == 0.19
    # a normal number is stored to within 2^-11 of itself (relative): 1e-3 is
    assert abs(h(1e-3).item() - 1e-3) / 1e-3 <= 2.0 ** -11


@check("mixed_precision.bfloat16-range")
def bfloat16_range(t):
    """bfloat16: float32's 8 exponent bits (same range), 7 mantissa bits (eps 2^-7, 8x float16's)."""
    fi, f32, lim = torch.finfo(BF16), torch.finfo(F32), mp.float_format_limits(8, 7)
    t.record("exponent_bits", 8)
    t.record("mantissa_bits", 7)
    t.record("max", fi.max)
    t.record("smallest_normal", fi.smallest_normal)
    t.record("eps", fi.eps)
    t.record("eps_log2", math.log2(fi.eps))
    t.record("smallest_subnormal", lim["smallest_subnormal"])
    t.record("smallest_subnormal_log2", math.log2(lim["smallest_subnormal"]))
    ratio = t.record("eps_ratio_to_float16", fi.eps / torch.finfo(F16).eps)
    assert fi.smallest_normal == f32.smallest_normal and math.log2(fi.eps) == -7 and ratio == 8
    assert f32.max > fi.max > 3.38e38 and math.log2(lim["smallest_subnormal"]) == -133
    b = lambda v: _v(v, BF16, t.device)  # noqa: E731
    assert (b(1.0) + b(2.0 ** -7)).item() == 1 + 2.0 ** -7 and (b(1.0) + b(2.0 ** -8)).item() == 1.0
    # 1 + 2^-8 is exact in float16 but lost in bfloat16: bfloat16 trades precision for range
    assert (_v(1.0, F16, t.device) + _v(2.0 ** -8, F16, t.device)).item() == 1 + 2.0 ** -8
    assert b(1e-30).item() != 0.0 and _v(1e-30, F16, t.device).item() == 0.0
    assert b(2.0 ** -133).item() == 2.0 ** -133 and b(2.0 ** -134).item() == 0.0
    # a bfloat16 is the upper half of a float32: its bits are the top 16, the lower 16 are zero after widening
    x = t.randn(1000).float() * 100
    wide = x.to(BF16).float()
    assert torch.equal(x.to(BF16).view(torch.int16), (wide.view(torch.int32) >> 16).to(torch.int16))
    assert ((wide.view(torch.int32) & 0xFFFF) == 0).all()
    assert torch.equal(wide.to(BF16), x.to(BF16))  # bfloat16 -> float32 -> bfloat16 loses nothing
    # the conversion rounds to nearest; chopping the lower 16 bits is a different (worse) rounding
    chopped = (x.view(torch.int32) & ~0xFFFF).view(F32)
    assert not torch.equal(chopped, wide)
    assert ((wide - x).abs() <= (chopped - x).abs()).all()


def _confident_logits(t, dtype):
    """Logits of a confident classifier (correct class 14 above random others): N = 256, K = 100, as `dtype`."""
    n, k = 256, 100
    y = torch.randint(0, k, (n,), generator=t.generator(stream=1)).to(t.device)
    z = t.randn(n, k).double() + 14.0 * F.one_hot(y, k).double()
    return z.to(dtype).requires_grad_(True), y


def _autocast_logit_grad(t, dtype, scale):
    """d(scale * mean CE)/d logits as the 16-bit network sees it (the loss autocast to float32, its gradient
    cast back to `dtype`), unscaled in float32; and the float32 gradient at the same logits, the reference."""
    z, y = _confident_logits(t, dtype)
    with torch.autocast(device_type=t.device.split(":")[0], dtype=dtype):
        loss = F.cross_entropy(z, y)
    assert loss.dtype == F32  # cross_entropy is on autocast's float32 list
    grads, found_inf = mp.scaled_gradients(loss, z, scale)  # a single tensor is accepted too
    assert not found_inf
    z32 = z.detach().float().requires_grad_(True)
    F.cross_entropy(z32, y).backward()  # no 16-bit storage anywhere
    assert (z32.grad != 0).all()
    return grads[0], z32.grad


def _rel(a, ref):
    return ((a.double() - ref.double()).norm() / ref.double().norm()).item()


@check("mixed_precision.float16-gradient-underflow", kind="demonstration")
def float16_gradient_underflow(t):
    """Small gradients flush to zero in float16; scaling the loss by 2^16 keeps them, to float16 precision."""
    tiny = torch.finfo(F16).smallest_normal
    # without scaling: the float16 gradient is the float32 one rounded to float16, bit for bit
    g16, g32 = _autocast_logit_grad(t, F16, 1.0)
    assert torch.equal(g16, g32.to(F16).float())
    largest = t.record("largest_gradient", g32.abs().max())
    assert largest < tiny  # the whole gradient sits below float16's smallest normal number, 6.1e-5
    zero = t.record("zero_fraction", (g16 == 0).double().mean())
    t.record("subnormal_fraction", ((g16 != 0) & (g16.abs() < tiny)).double().mean())
    assert (g16.abs() < tiny).all()  # every entry is lost or subnormal: none keeps float16's 11 bits
    err = t.record("rel_error", _rel(g16, g32))
    # seeds 0-299: zeros 0.905-0.951, error 0.032-0.085 (the surviving subnormals carry most of the norm, so the
    # error varies more than the zero count; a fixed 5 % failed at seeds 21, 33, 53); 2 % is still 40 x 2^-11
    assert zero > 0.9 and err > 0.02
    # scaled by S = 2^16: fp16(S g) / S, again bit for bit
    s = 2.0 ** 16
    t.record("scale_log2", 16)
    gs, g32 = _autocast_logit_grad(t, F16, s)
    assert torch.equal(gs, (g32 * s).to(F16).float() / s)
    assert (gs != 0).all()
    err_s = t.record("rel_error_scaled", _rel(gs, g32))
    # the bound IEEE rounding gives: a normal entry is off by <= 2^-11 relative, a subnormal one by
    # <= 2^-25 / S absolute
    n_sub = int(((g32 * s).abs() < tiny).sum())
    bound = 2.0 ** -11 * g32.double().norm() + 2.0 ** -25 / s * math.sqrt(n_sub)
    assert (gs.double() - g32.double()).norm() <= bound
    assert err_s < 2.0 ** -11 < 0.02 < err


@check("mixed_precision.loss-scaling-exact", dtypes=("float32", "float64"))
def loss_scaling_exact(t):
    """Scaling the loss by a power of two and unscaling gives bit-identical gradients and SGD steps."""
    t.seed_modules()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    model = model.to(t.device, t.dtype)
    x, y = t.randn(32, 8), t.randn(32, 3, stream=1)
    params = list(model.parameters())
    plain = torch.autograd.grad(F.mse_loss(model(x), y), params)
    for s in (2.0 ** 16, 2.0 ** -8):
        scaled, found_inf = mp.scaled_gradients(F.mse_loss(model(x), y), params, s)
        assert not found_inf
        assert all(torch.equal(a, b) for a, b in zip(scaled, plain))
    # a scale that is not a power of two rounds on the way in and out: close, but not the same bits
    odd, _ = mp.scaled_gradients(F.mse_loss(model(x), y), params, 1000.0)
    differ = t.record("entries_differing_scale_1000", sum(int((a != b).sum()) for a, b in zip(odd, plain)))
    total = t.record("entries_total", sum(p.numel() for p in params))
    assert 0 < differ <= total == 195
    # relative to the whole gradient (an entry that is a sum with cancellation can be off by more, relatively)
    odd_v, plain_v = torch.cat([a.flatten() for a in odd]), torch.cat([b.flatten() for b in plain])
    assert (odd_v - plain_v).norm() <= t.tol(f64=1e-14, f32=1e-6) * plain_v.norm()  # a few ulps of eps
    # torch.amp.GradScaler does the same: one step with it equals one plain step, bit for bit
    start = [p.detach().clone() for p in params]
    opt = torch.optim.SGD(params, lr=0.1)
    opt.zero_grad()
    F.mse_loss(model(x), y).backward()
    opt.step()
    after_plain = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, p0 in zip(params, start):
            p.copy_(p0)
    scaler = torch.amp.GradScaler(t.device.split(":")[0], init_scale=2.0 ** 16)
    opt.zero_grad()
    scaler.scale(F.mse_loss(model(x), y)).backward()
    assert all(torch.equal(p.grad, g * 2.0 ** 16) for p, g in zip(params, plain))  # scaled grads in .grad
    scaler.step(opt)
    assert all(torch.equal(p, q) for p, q in zip(params, after_plain))
    assert not all(torch.equal(p, q) for p, q in zip(params, start))


@check("mixed_precision.grad-scaler-defaults")
def grad_scaler_defaults(t):
    """GradScaler starts at 2^16, grows x2 after 2000 good steps, halves on overflow."""
    scaler = torch.amp.GradScaler(t.device.split(":")[0])
    assert scaler.is_enabled()
    t.record("init_scale_log2", math.log2(scaler.get_scale()))
    t.record("growth_factor", scaler.get_growth_factor())
    t.record("backoff_factor", scaler.get_backoff_factor())
    t.record("growth_interval", scaler.get_growth_interval())
    assert (scaler.get_scale(), scaler.get_growth_factor(), scaler.get_backoff_factor(),
            scaler.get_growth_interval()) == (65536.0, 2.0, 0.5, 2000)


def _regression(t, dtype=torch.float32):
    t.seed_modules()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    return model.to(t.device, dtype), t.randn(64, 8).float(), t.randn(64, 1, stream=1).float()


@check("mixed_precision.grad-scaler-skips-nonfinite")
def grad_scaler_skips_nonfinite(t):
    """An inf/NaN gradient makes GradScaler skip optimizer.step (weights untouched) and shrink the scale."""
    dev = t.device.split(":")[0]
    model, x, y = _regression(t)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    # a scale of 2^30 is far too large: the float16 gradients overflow and the step is skipped
    scaler = torch.amp.GradScaler(dev, init_scale=2.0 ** 30)
    before = [p.detach().clone() for p in model.parameters()]
    mp.amp_training_step(model, opt, scaler, F.mse_loss, x, y, dtype=F16)
    assert not all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert scaler.get_scale() == 2.0 ** 29
    # with a scale that fits, the step runs
    scaler = torch.amp.GradScaler(dev, init_scale=2.0 ** 8)
    mp.amp_training_step(model, opt, scaler, F.mse_loss, x, y, dtype=F16)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert scaler.get_scale() == 2.0 ** 8
    # a batch with a NaN: skipped again; the loss it returns is NaN, the weights are not
    bad = x.clone()
    bad[3, 2] = float("nan")
    before = [p.detach().clone() for p in model.parameters()]
    loss = mp.amp_training_step(model, opt, scaler, F.mse_loss, bad, y, dtype=BF16)
    assert torch.isnan(loss)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert scaler.get_scale() == 2.0 ** 7
    # the same rule without GradScaler: scaled_gradients flags the overflow
    with torch.autocast(device_type=dev, dtype=F16):
        loss = F.mse_loss(model(x), y)
    _, found_inf = mp.scaled_gradients(loss, list(model.parameters()), 2.0 ** 30)
    assert found_inf
    # one unbatched sample (a 1-D x) is a batch of one: the same step
    single, batch = _regression(t)[0], _regression(t)[0]
    for net, xs, ys in ((single, x[0], y[0]), (batch, x[:1], y[:1])):
        mp.amp_training_step(net, torch.optim.SGD(net.parameters(), lr=0.05),
                             torch.amp.GradScaler(dev, init_scale=2.0 ** 8), F.mse_loss, xs, ys, dtype=BF16)
    for p, q in zip(single.parameters(), batch.parameters()):
        if dev == "cpu":
            assert torch.equal(p, q)
        else:  # a GPU may take another bfloat16 matmul kernel for a vector: a few bfloat16 roundings times lr
            assert_close(p, q, rtol=0, atol=1e-3)
    assert not all(torch.equal(p, q) for p, q in zip(single.parameters(), _regression(t)[0].parameters()))


@check("mixed_precision.grad-scaler-growth-backoff")
def grad_scaler_growth_backoff(t):
    """GradScaler's scale follows the documented rule, reproduced by update_loss_scale, step by step."""
    dev = t.device.split(":")[0]
    model, x, y = _regression(t)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    # factors that are not the defaults (and not each other's inverse), so a swapped or dropped one shows
    kw = {"growth_factor": 4.0, "backoff_factor": 0.125, "growth_interval": 3}
    scaler = torch.amp.GradScaler(dev, init_scale=2.0 ** 10, **kw)
    bad_steps = {4, 5, 9}  # an inf in the batch: the loss and the gradients are non-finite
    scale, good, ours, theirs = 2.0 ** 10, 0, [], []
    for step in range(12):
        xb = x.clone()
        if step in bad_steps:
            xb[0, 0] = float("inf")
        before = [p.detach().clone() for p in model.parameters()]
        mp.amp_training_step(model, opt, scaler, F.mse_loss, xb, y, dtype=BF16)
        skipped = all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
        assert skipped == (step in bad_steps)
        scale, good = mp.update_loss_scale(scale, good, step in bad_steps, **kw)
        ours.append(scale)
        theirs.append(scaler.get_scale())
    # by hand: 3 good steps grow x4, an overflow multiplies by 1/8 and restarts the count
    expected = [2 ** 10, 2 ** 10, 2 ** 12, 2 ** 12, 2 ** 9, 2 ** 6, 2 ** 6, 2 ** 6, 2 ** 8, 2 ** 5, 2 ** 5, 2 ** 5]
    assert theirs == ours == [float(e) for e in expected]  # the count restarts after each overflow
    # a scale at the top of float32 does not grow to inf; the snippet keeps it too
    top = 2.0 ** 127
    scaler = torch.amp.GradScaler(dev, init_scale=top, growth_interval=1)
    loss_fn = lambda out, target: 1e-30 * F.mse_loss(out, target)  # noqa: E731  (scaled loss stays finite)
    mp.amp_training_step(model, opt, scaler, loss_fn, x, y, dtype=BF16)
    assert scaler.get_scale() == top == mp.update_loss_scale(top, 0, False, growth_interval=1)[0]
    assert mp.update_loss_scale(2.0 ** 126, 0, False, growth_interval=1)[0] == top
    # but it does grow to float32's largest number itself, which is finite: half of it doubled
    f32_max = torch.finfo(F32).max
    scaler = torch.amp.GradScaler(dev, init_scale=f32_max / 2, growth_interval=1)
    mp.amp_training_step(model, opt, scaler, loss_fn, x, y, dtype=BF16)
    assert scaler.get_scale() == f32_max == mp.update_loss_scale(f32_max / 2, 0, False, growth_interval=1)[0]
    # a growth restarts the count too: with no overflow the scale grows every growth_interval steps
    scaler = torch.amp.GradScaler(dev, init_scale=2.0 ** 4, growth_interval=2)
    scale, good, ours, theirs = 2.0 ** 4, 0, [], []
    for _ in range(4):
        mp.amp_training_step(model, opt, scaler, F.mse_loss, x, y, dtype=BF16)
        scale, good = mp.update_loss_scale(scale, good, False, growth_interval=2)
        ours.append(scale)
        theirs.append(scaler.get_scale())
    assert theirs == ours == [2.0 ** 4, 2.0 ** 5, 2.0 ** 5, 2.0 ** 6]


@check("mixed_precision.unscale-before-clipping")
def unscale_before_clipping(t):
    """Clip after scaler.unscale_: the same step as unscaled training; clipping the scaled gradients is wrong."""
    dev = t.device.split(":")[0]
    s = 2.0 ** 12
    model, x, y = _regression(t)
    start = [p.detach().clone() for p in model.parameters()]

    def restart():
        with torch.no_grad():
            for p, p0 in zip(model.parameters(), start):
                p.copy_(p0)
        return torch.optim.SGD(model.parameters(), lr=0.1)

    # reference: the same bfloat16 forward, no loss scaling, clip to a quarter of the gradient norm
    opt = restart()
    with torch.autocast(device_type=dev, dtype=BF16):
        loss = F.mse_loss(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
    max_norm = norm.item() / 4
    opt.zero_grad()
    with torch.autocast(device_type=dev, dtype=BF16):
        loss = F.mse_loss(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    reference = [p.detach().clone() for p in model.parameters()]
    clipped = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert_close(clipped.norm(), torch.tensor(max_norm, device=clipped.device), rtol=1e-5, atol=0)
    # the snippet: scale, unscale_, clip, step; in bfloat16 a power-of-two scale changes no bit
    opt = restart()
    mp.amp_training_step(model, opt, torch.amp.GradScaler(dev, init_scale=s), F.mse_loss, x, y,
                         dtype=BF16, max_norm=max_norm)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), reference))
    # the common bug: clip the scaled gradients, then let step unscale them
    opt = restart()
    opt.zero_grad()
    scaler = torch.amp.GradScaler(dev, init_scale=s)
    with torch.autocast(device_type=dev, dtype=BF16):
        loss = F.mse_loss(model(x), y)
    scaler.scale(loss).backward()
    wrong_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(opt)
    assert_close(wrong_norm, norm * s, rtol=1e-6, atol=0)  # it measured S times the true norm
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), reference))
    # the gradient the optimizer used (unscaled in place by step) is S times too small
    used = torch.cat([p.grad.flatten() for p in model.parameters()])
    ratio = t.record("step_shrink", clipped.norm() / used.norm())
    assert_close(ratio, torch.tensor(s, device=ratio.device), rtol=1e-5, atol=0)  # the 1e-6 of clip_grad_norm_


@check("mixed_precision.bfloat16-keeps-small-gradients", kind="demonstration")
def bfloat16_keeps_small_gradients(t):
    """The gradients float16 flushes to zero survive in bfloat16, each to within 2^-8; scaling changes nothing."""
    gb, g32 = _autocast_logit_grad(t, BF16, 1.0)
    assert torch.equal(gb, g32.to(BF16).float())
    assert (gb != 0).all() and (gb.abs() >= torch.finfo(BF16).smallest_normal).all()
    # all normal, so each entry is within half an ulp: |bf16(g) - g| <= 2^-8 |g|
    assert ((gb - g32).abs() <= 2.0 ** -8 * g32.abs()).all()
    rel = t.record("max_rel_error", ((gb.double() - g32.double()).abs() / g32.double().abs()).max())
    assert 2.0 ** -9 < rel <= 2.0 ** -8  # and the bound is nearly reached
    err_b = t.record("rel_error", _rel(gb, g32))
    # a loss scale of 2^16 gives the same bits: nothing was underflowing
    gs, _ = _autocast_logit_grad(t, BF16, 2.0 ** 16)
    assert torch.equal(gs, gb)
    # the price is precision: float16 with loss scaling is several times closer to the float32 gradient
    g16, g32_at_f16 = _autocast_logit_grad(t, F16, 2.0 ** 16)  # at the float16-rounded logits
    err16 = t.record("rel_error_float16_scaled", _rel(g16, g32_at_f16))
    assert err_b > 4 * err16


@check("mixed_precision.small-updates-vanish")
def small_updates_vanish(t):
    """In 16-bit weights w + u == w once u is below half the spacing at w; float32 keeps the update."""
    for dtype in (F16, BF16):
        eps = torch.finfo(dtype).eps
        for w0 in (1.0, 1024.0):  # the threshold is relative: half the spacing, w * eps / 2
            w = torch.full((4,), w0, dtype=dtype, device=t.device)
            assert torch.equal(w + _v(w0 * eps / 2, dtype, t.device), w)  # a tie: back to the even w
            assert (w + _v(w0 * eps / 2 * 1.25, dtype, t.device) > w).all()  # just above: rounds up
    t.record("lost_below_float16", torch.finfo(F16).eps / 2)
    t.record("lost_below_bfloat16", torch.finfo(BF16).eps / 2)
    # a learning rate of 1e-3 times a gradient of 0.1
    u = 1e-3 * 0.1
    t.record("update", u)
    for dtype in (F16, BF16):
        w = torch.ones(4, dtype=dtype, device=t.device)
        assert torch.equal(w + _v(u, dtype, t.device), w)
    w32 = torch.ones(4, dtype=F32, device=t.device)
    assert (w32 + u != w32).all()


@check("mixed_precision.master-weights-accumulate")
def master_weights_accumulate(t):
    """300 updates of 1e-4: lost in float16/bfloat16 weights, summed in a float32 master copy."""
    n, u = 300, 1e-4  # 1 + 300 u = 1.03: the float16 copy of the sum (1.0303) differs from 1 by 31 ulps
    t.record("steps", n)
    updates = [torch.full((3,), u, dtype=F32, device=t.device)] * n
    exact = 1.0 + n * u  # float64 closed form
    t.record("exact", exact)
    for dtype in (F16, BF16):
        w = torch.ones(3, dtype=dtype, device=t.device)
        assert torch.equal(mp.apply_updates(w, updates), w)  # every one of the 300 updates rounded away
        copy = mp.apply_updates(w, [])  # without a master copy the result is a new tensor, not w itself
        copy += 1
        assert torch.equal(w, torch.ones(3, dtype=dtype, device=t.device))
        with_master = mp.apply_updates(w, updates, master_dtype=F32)
        assert torch.equal(with_master, _v(exact, dtype, t.device).expand(3))  # the rounded true sum
        if dtype == F16:
            t.record("float16_with_master", with_master[0])
    master = mp.apply_updates(torch.ones(3, dtype=F32, device=t.device), updates)
    # float32 adds 300 times with an error <= half an ulp of ~1.03 (1.2e-7) each: <= 3.6e-5 in all
    assert (master.double() - exact).abs().max() <= n * 2.0 ** -23 / 2 * 2
    assert master.dtype == F32


@check("mixed_precision.amp-keeps-float32-parameters")
def amp_keeps_float32_parameters(t):
    """Under autocast the parameters and their gradients stay float32; each op casts a 16-bit copy."""
    dev = t.device.split(":")[0]
    t.seed_modules()
    lin = torch.nn.Linear(6, 4).to(t.device)
    x = t.randn(5, 6).float()
    for dtype in (F16, BF16):
        lin.zero_grad()
        with torch.autocast(device_type=dev, dtype=dtype):
            out = lin(x)
        assert out.dtype == dtype and lin.weight.dtype == F32
        assert torch.equal(out, F.linear(x.to(dtype), lin.weight.to(dtype), lin.bias.to(dtype)))
        out.float().sum().backward()
        assert lin.weight.grad.dtype == F32 and lin.bias.grad.dtype == F32
    # GradScaler refuses to unscale float16 gradients: it expects float32 (master) parameters
    half = torch.nn.Linear(6, 4).to(t.device, F16)
    scaler = torch.amp.GradScaler(dev)
    scaler.scale(half(x.to(F16)).float().sum()).backward()
    try:
        scaler.step(torch.optim.SGD(half.parameters(), lr=0.1))
    except ValueError as e:
        assert "FP16 gradients" in str(e)
    else:
        raise AssertionError("GradScaler stepped a float16 model")


@check("mixed_precision.amp-memory-per-parameter")
def amp_memory_per_parameter(t):
    """With Adam, weights + gradients + moments are 16 bytes per parameter with or without autocast;
    what autocast halves are the activations saved for backward."""
    dev = t.device.split(":")[0]
    x = t.randn(128, 64).float()
    per_param, saved = {}, {}
    for dtype in (None, BF16):
        t.seed_modules()
        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64)).to(t.device)
        opt = torch.optim.Adam(model.parameters())
        sizes = []

        def pack(tensor):
            sizes.append(tensor.numel() * tensor.element_size())
            return tensor
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            with torch.autocast(device_type=dev, dtype=dtype or BF16, enabled=dtype is not None):
                out = model(x)
        out.float().pow(2).mean().backward()
        opt.step()
        n = sum(p.numel() for p in model.parameters())
        nbytes = sum(p.numel() * p.element_size() + p.grad.numel() * p.grad.element_size()
                     for p in model.parameters())
        nbytes += sum(v.numel() * v.element_size() for st in opt.state.values() for k, v in st.items()
                      if k in ("exp_avg", "exp_avg_sq"))
        per_param[dtype] = nbytes / n
        saved[dtype] = sum(sizes)
    t.record("bytes_per_parameter", per_param[BF16])
    assert per_param[None] == per_param[BF16] == 16.0
    ratio = t.record("saved_activation_ratio", saved[BF16] / saved[None])
    assert ratio == 0.5


# What autocast does, op by op, with inputs in float32 and in the 16-bit dtype. Measured on the CPU in this
# torch; on CUDA the lists of the PyTorch "Autocast Op Reference".


def _ops(t):
    k = 6
    target = torch.randint(0, k, (4,), generator=t.generator(stream=1)).to(t.device)
    other = t.randn(6, 5, stream=2).float()
    img, kern = t.randn(1, 2, 5, 5, stream=3).float(), t.randn(3, 2, 3, 3, stream=4).float()
    zeros = torch.zeros(4, k, device=t.device)
    return {
        "mm": lambda a: torch.mm(a, other), "matmul": lambda a: a @ other, "linear": lambda a: F.linear(a, other.T),
        "bmm": lambda a: torch.bmm(a[None], other[None]), "addmm": lambda a: torch.addmm(other[0], a, other),
        "conv2d": lambda a: F.conv2d(img.to(a.dtype), kern),
        "softmax": lambda a: F.softmax(a, -1), "log_softmax": lambda a: F.log_softmax(a, -1),
        "layer_norm": lambda a: F.layer_norm(a, (k,)), "group_norm": lambda a: F.group_norm(a, 2),
        "exp": torch.exp, "log": lambda a: torch.log(a.abs() + 1), "sum": torch.sum, "cumsum": lambda a: a.cumsum(0),
        "prod": torch.prod, "relu": F.relu, "gelu": F.gelu,
        "cross_entropy": lambda a: F.cross_entropy(a, target), "nll_loss": lambda a: F.nll_loss(a, target),
        "mse_loss": lambda a: F.mse_loss(a, zeros), "l1_loss": lambda a: F.l1_loss(a, zeros),
        "binary_cross_entropy_with_logits": lambda a: F.binary_cross_entropy_with_logits(a, zeros),
    }


LOW = ("mm", "matmul", "linear", "bmm", "addmm", "conv2d")  # run in 16 bits even from float32 input
LOSSES = ("cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits")
CPU_FLOAT32 = LOSSES + ("prod",)  # run in float32 even from 16-bit input (CPU, this torch)
CPU_UNLISTED = ("softmax", "log_softmax", "layer_norm", "group_norm", "exp", "log", "sum", "cumsum", "relu", "gelu")
CUDA_FLOAT32 = LOSSES + ("prod", "softmax", "log_softmax", "layer_norm", "group_norm", "exp", "log", "sum",
                         "cumsum")  # the docs' "CUDA Ops that can autocast to float32"
CUDA_UNLISTED = ("relu", "gelu")


@check("mixed_precision.autocast-op-dtypes")
def autocast_op_dtypes(t):
    """torch.autocast runs matmuls/convs in 16 bits and losses in float32; unlisted ops follow their input."""
    dev = t.device.split(":")[0]
    ops = _ops(t)
    a32 = t.randn(4, 6).float()
    lists = ((LOW, "low"), (CPU_FLOAT32, "f32"), (CPU_UNLISTED, "same")) if dev == "cpu" else \
        ((LOW, "low"), (CUDA_FLOAT32, "f32"), (CUDA_UNLISTED, "same"))
    assert sorted(sum((list(names) for names, _ in lists), [])) == sorted(ops)
    dtypes = (BF16, F16) if dev == "cpu" else (F16, BF16)
    for dtype in dtypes:
        for names, rule in lists:
            for name in names:
                for a in (a32, a32.to(dtype)):
                    with torch.autocast(device_type=dev, dtype=dtype):
                        got = ops[name](a).dtype
                    want = {"low": dtype, "f32": F32, "same": a.dtype}[rule]
                    assert got == want, f"{name}({a.dtype}) under autocast({dev}, {dtype}) ran in {got}, not {want}"
        with torch.autocast(device_type=dev, dtype=dtype):
            a16 = a32.to(dtype)
            # not eligible: float64 inputs, an explicit dtype=, in-place ops; mixed binary ops promote as usual
            assert torch.mm(a32.double(), a32.double().T).dtype == torch.float64
            assert F.softmax(a16, -1, dtype=F32).dtype == F32
            assert torch.zeros(4, 4, device=t.device).addmm_(a32, a32.T).dtype == F32
            assert (a16 + a32).dtype == F32
