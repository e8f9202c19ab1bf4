"""Learning-rate schedules: the documented TensorFlow 1.x formulas (tf.compat.v1.train.*), in plain Python."""
import bisect
import math

from snippets._validate import check_number, check_positive_int


def _check_common(lr, step, decay_steps):
    check_number(lr, "lr", low=0, low_open=True)
    check_number(step, "step", low=0)
    check_positive_int(decay_steps, "decay_steps")


# --8<-- [start:piecewise]
def piecewise_constant(step, boundaries, values):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i], ..."""
    check_number(step, "step", low=0)
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"values must have len(boundaries) + 1 = {len(boundaries) + 1} entries, got {len(values)}")
    if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {list(boundaries)}")
    # bisect_left counts the boundaries strictly below step: at step == b the old value is kept (TF semantics)
    return values[bisect.bisect_left(boundaries, step)]
# --8<-- [end:piecewise]


# --8<-- [start:exponential]
def exponential_decay(lr, step, decay_steps, decay_rate, staircase=False):
    """lr * decay_rate ** (step / decay_steps); with staircase the exponent is floor(step / decay_steps)."""
    _check_common(lr, step, decay_steps)
    check_number(decay_rate, "decay_rate", low=0, low_open=True)
    p = step / decay_steps
    return lr * decay_rate ** (math.floor(p) if staircase else p)


def natural_exp_decay(lr, step, decay_steps, decay_rate, staircase=False):
    """lr * exp(-decay_rate * step / decay_steps): exponential decay with the per-period factor e^-decay_rate."""
    _check_common(lr, step, decay_steps)
    check_number(decay_rate, "decay_rate", low=0)
    p = step / decay_steps
    return lr * math.exp(-decay_rate * (math.floor(p) if staircase else p))
# --8<-- [end:exponential]


# --8<-- [start:polynomial]
def polynomial_decay(lr, step, decay_steps, end_lr=1e-4, power=1.0, cycle=False):
    """(lr - end_lr) * (1 - step / T) ** power + end_lr, with step clamped at T, or T stretched if cycle."""
    _check_common(lr, step, decay_steps)
    check_number(end_lr, "end_lr", low=0, high=lr)
    check_number(power, "power", low=0, low_open=True)
    if cycle:  # the horizon becomes the first multiple of decay_steps >= step (1 * decay_steps at step 0)
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:      # hold end_lr after the horizon
        step = min(step, decay_steps)
    return (lr - end_lr) * (1 - step / decay_steps) ** power + end_lr
# --8<-- [end:polynomial]


# --8<-- [start:cosine]
def cosine_decay(lr, step, decay_steps, alpha=0.0):
    """lr * ((1 - alpha) * (1 + cos(pi * min(step, T) / T)) / 2 + alpha): half a cosine down to alpha * lr."""
    _check_common(lr, step, decay_steps)
    check_number(alpha, "alpha", low=0, high=1)
    step = min(step, decay_steps)  # TF clamps: the rate stays at alpha * lr after T steps
    return lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)
# --8<-- [end:cosine]


# --8<-- [start:torch-record]
def torch_schedule(make_scheduler, lr, steps):
    """The learning rate a torch.optim.lr_scheduler gives at steps 0 .. steps-1 (one scheduler.step() per step)."""
    import torch
    if not callable(make_scheduler):
        raise TypeError(f"make_scheduler must be callable, got {type(make_scheduler).__name__}")
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler, rates = make_scheduler(opt), []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])  # the rate this step's optimizer.step() would use
        opt.step()
        scheduler.step()
    return rates
# --8<-- [end:torch-record]


# --8<-- [start:noise-floor]
def sgd_second_moment(lrs, curvature, x0, noise_std=1.0):
    """E[x_t^2] of SGD on f(x) = a x^2 / 2 whose gradient a x + noise has noise variance s^2.

    x' = x - lr (a x + noise) = (1 - lr a) x - lr noise, so E[x'^2] = (1 - lr a)^2 E[x^2] + lr^2 s^2.
    """
    check_number(curvature, "curvature", low=0, low_open=True)
    check_number(x0, "x0")
    check_number(noise_std, "noise_std", low=0)
    moments = [x0 ** 2]
    for i, lr in enumerate(lrs):
        check_number(lr, f"lrs[{i}]", low=0)
        moments.append((1 - lr * curvature) ** 2 * moments[-1] + lr ** 2 * noise_std ** 2)
    return moments
# --8<-- [end:noise-floor]
