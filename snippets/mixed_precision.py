"""Mixed precision training: 16-bit float formats, loss scaling, the dynamic scale rule, an AMP step."""
import torch

from snippets._validate import check_number, check_positive_int, check_tensor

FLOAT32_MAX = torch.finfo(torch.float32).max  # GradScaler keeps its scale in a float32 tensor


# --8<-- [start:formats]
def float_format_limits(exponent_bits, mantissa_bits):
    """Range and precision of a binary floating-point format with IEEE 754 layout (IEEE 754-2008, §3.3)."""
    _check_format(exponent_bits, mantissa_bits)
    bias = 2 ** (exponent_bits - 1) - 1  # a stored exponent e means 2^(e - bias)
    e_max, e_min = bias, 1 - bias        # all-ones exponent is kept for inf/NaN, all-zeros for subnormals
    return {
        "max": (2 - 2.0 ** -mantissa_bits) * 2.0 ** e_max,     # significand 1.11...1
        "smallest_normal": 2.0 ** e_min,                       # significand 1.00...0
        "eps": 2.0 ** -mantissa_bits,                          # gap between 1 and the next number
        "smallest_subnormal": 2.0 ** (e_min - mantissa_bits),  # significand 0.00...1
    }
# --8<-- [end:formats]


def _check_format(exponent_bits, mantissa_bits):
    check_positive_int(exponent_bits, "exponent_bits")
    check_positive_int(mantissa_bits, "mantissa_bits")
    if not 2 <= exponent_bits <= 11:  # Python floats (float64) hold at most 11 exponent bits
        raise ValueError(f"exponent_bits must be between 2 and 11, got {exponent_bits}")
    if mantissa_bits > 52:
        raise ValueError(f"mantissa_bits must be at most 52, got {mantissa_bits}")


# --8<-- [start:loss-scaling]
def scaled_gradients(loss, inputs, scale):
    """Backpropagate scale * loss, then divide by scale in float32 (Micikevicius et al. 2018, §3.2).

    Returns the unscaled gradients and whether any of them is inf or NaN (then skip the step)."""
    check_tensor(loss, "loss", ndim=0)
    inputs = _check_inputs(inputs)
    check_number(scale, "scale", low=0, low_open=True)
    grads = torch.autograd.grad(loss * scale, inputs)  # the chain rule multiplies every gradient by scale
    wide = [g.to(torch.promote_types(g.dtype, torch.float32)) for g in grads]  # unscale in >= 32 bits
    found_inf = not all(torch.isfinite(g).all() for g in wide)
    return [g / scale for g in wide], found_inf
# --8<-- [end:loss-scaling]


def _check_inputs(inputs):
    if isinstance(inputs, torch.Tensor):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs or \
            not all(isinstance(x, torch.Tensor) for x in inputs):
        raise TypeError(f"inputs must be a tensor or a non-empty list of tensors, got {type(inputs).__name__}")
    return list(inputs)


# --8<-- [start:dynamic-scale]
def update_loss_scale(scale, good_steps, found_inf, *, growth_factor=2.0, backoff_factor=0.5,
                      growth_interval=2000):
    """One update of a dynamic loss scale: the rule torch.amp.GradScaler.update documents.

    Returns the new scale and the new count of consecutive steps without inf/NaN."""
    _check_scale_state(scale, good_steps, found_inf, growth_factor, backoff_factor, growth_interval)
    if found_inf:                    # this step was skipped: shrink the scale, restart the count
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps == growth_interval:  # a run of good steps: try a larger scale
        grown = scale * growth_factor
        return (grown if grown <= FLOAT32_MAX else scale), 0  # a float32 scale never grows to inf
    return scale, good_steps
# --8<-- [end:dynamic-scale]


def _check_scale_state(scale, good_steps, found_inf, growth_factor, backoff_factor, growth_interval):
    check_number(scale, "scale", low=0, low_open=True)
    if isinstance(good_steps, bool) or not isinstance(good_steps, int) or good_steps < 0:
        raise ValueError(f"good_steps must be an int >= 0, got {good_steps!r}")
    if not isinstance(found_inf, bool):
        raise TypeError(f"found_inf must be a bool, got {type(found_inf).__name__}")
    check_number(growth_factor, "growth_factor", low=1, low_open=True)
    check_number(backoff_factor, "backoff_factor", low=0, low_open=True, high=1)
    if backoff_factor == 1:
        raise ValueError("backoff_factor must be < 1, got 1")
    check_positive_int(growth_interval, "growth_interval")
    if good_steps >= growth_interval:
        raise ValueError(f"good_steps must be < growth_interval ({growth_interval}), got {good_steps}")


# --8<-- [start:amp-step]
def amp_training_step(model, optimizer, scaler, loss_fn, x, y, *, dtype=torch.float16, max_norm=None):
    """One mixed-precision step with torch.autocast and torch.amp.GradScaler (PyTorch AMP examples)."""
    _check_step(model, optimizer, scaler, x, dtype, max_norm)
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=dtype):
        loss = loss_fn(model(x), y)  # matmuls in 16 bits, the loss in float32; the weights stay float32
    scaler.scale(loss).backward()    # gradients of scale * loss: small ones no longer flush to zero
    if max_norm is not None:
        scaler.unscale_(optimizer)   # clip the true gradients, not scale times them
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)           # unscales (if not done yet); skipped if a gradient is inf or NaN
    scaler.update()                  # back off after an overflow, grow after growth_interval good steps
    return loss.detach()
# --8<-- [end:amp-step]


def _check_step(model, optimizer, scaler, x, dtype, max_norm):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}")
    check_tensor(x, "x", min_ndim=1)
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be torch.float16 or torch.bfloat16, got {dtype}")
    if max_norm is not None:
        check_number(max_norm, "max_norm", low=0, low_open=True)


# --8<-- [start:master-weights]
def apply_updates(weight, updates, *, master_dtype=None):
    """w <- w + u for each update u, in the weight's own dtype or in a master copy of master_dtype."""
    _check_updates(weight, updates, master_dtype)
    w = weight.detach().clone() if master_dtype is None else weight.detach().to(master_dtype)
    for u in updates:
        w = w + u.to(w.dtype)  # in 16 bits, an update below half the spacing at w rounds away
    return w.to(weight.dtype)  # the model's copy, rounded from the master
# --8<-- [end:master-weights]


def _check_updates(weight, updates, master_dtype):
    check_tensor(weight, "weight")
    if not isinstance(updates, (list, tuple)) or not all(isinstance(u, torch.Tensor) for u in updates):
        raise TypeError(f"updates must be a list of tensors, got {type(updates).__name__}")
    for i, u in enumerate(updates):
        check_tensor(u, f"updates[{i}]")
        if u.shape != weight.shape:
            raise ValueError(f"updates[{i}] must have the shape of weight {tuple(weight.shape)}, "
                             f"got {tuple(u.shape)}")
    if master_dtype is not None and not (isinstance(master_dtype, torch.dtype) and master_dtype.is_floating_point):
        raise TypeError(f"master_dtype must be a floating-point torch.dtype or None, got {master_dtype!r}")
