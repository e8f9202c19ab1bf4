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
def torch_schedule(make_scheduler, lr, steps, scheduler_first=False):
    """The learning rate each of `steps` optimizer.step() calls uses under a torch.optim.lr_scheduler.

    The right order is optimizer.step() then scheduler.step(); scheduler_first=True runs the wrong one.
    """
    import torch
    if not callable(make_scheduler):
        raise TypeError(f"make_scheduler must be callable, got {type(make_scheduler).__name__}")
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    if not isinstance(scheduler_first, bool):
        raise TypeError(f"scheduler_first must be a bool, got {type(scheduler_first).__name__}")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler, rates = make_scheduler(opt), []
    for _ in range(steps):
        if scheduler_first:
            scheduler.step()                      # wrong: moves the rate on before it was ever used
        rates.append(opt.param_groups[0]["lr"])  # the rate this step's optimizer.step() uses
        opt.step()
        if not scheduler_first:
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


# --8<-- [start:warmup]
def linear_warmup_factor(step, warmup_steps, start_factor):
    """Multiplier of the base rate: start_factor at step 0, rising linearly to 1 at warmup_steps, then 1."""
    check_number(step, "step", low=0)
    check_positive_int(warmup_steps, "warmup_steps")
    check_number(start_factor, "start_factor", low=0, high=1)
    return start_factor + (1 - start_factor) * min(step, warmup_steps) / warmup_steps


def warmup_cosine(step, lr, warmup_steps, total_steps, start_factor=0.01, eta_min=0.0):
    """Linear warm-up to lr in warmup_steps, then half a cosine down to eta_min at total_steps."""
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(total_steps, "total_steps")
    if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool) or not 0 < warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be an int in [1, total_steps), got {warmup_steps!r}")
    check_number(eta_min, "eta_min", low=0, high=lr)
    if step < warmup_steps:
        return lr * linear_warmup_factor(step, warmup_steps, start_factor)
    progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (lr - eta_min) * 0.5 * (1 + math.cos(math.pi * progress))
# --8<-- [end:warmup]


# --8<-- [start:radam]
def radam_rectifier(step, beta2=0.999):
    """RAdam's variance rectification r_t (Liu et al. 2020, Alg. 2), or None while rho_t <= 5.

    rho_t approximates how many squared gradients Adam's second moment has averaged so far; while it is
    at most 5, PyTorch's RAdam takes a plain momentum step lr * m_hat instead of an adaptive one.
    """
    check_positive_int(step, "step")
    check_number(beta2, "beta2", low=0, low_open=True)
    if beta2 >= 1:
        raise ValueError(f"beta2 must be < 1, got {beta2}")
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)
    if rho <= 5:
        return None
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
# --8<-- [end:radam]


# --8<-- [start:one-cycle]
def one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
              base_momentum=0.85, max_momentum=0.95):
    """(lr, momentum) of the one-cycle policy at optimizer step `step`, as torch's OneCycleLR (cosine).

    lr climbs from max_lr / div_factor to max_lr at step pct_start * total_steps - 1, then falls to
    max_lr / (div_factor * final_div_factor) at the last step, total_steps - 1; momentum moves the other way.
    """
    check_number(max_lr, "max_lr", low=0, low_open=True)
    check_positive_int(total_steps, "total_steps")
    check_number(step, "step", low=0, high=total_steps - 1)
    check_number(pct_start, "pct_start", low=0, high=1, low_open=True)
    check_number(div_factor, "div_factor", low=0, low_open=True)
    check_number(final_div_factor, "final_div_factor", low=0, low_open=True)
    check_number(base_momentum, "base_momentum", low=0, high=1)
    check_number(max_momentum, "max_momentum", low=base_momentum, high=1)
    initial = max_lr / div_factor
    peak_step = pct_start * total_steps - 1      # the step at which lr = max_lr (0-based)
    if peak_step <= 0 or peak_step >= total_steps - 1:
        raise ValueError(f"pct_start * total_steps - 1 must lie in (0, total_steps - 1), got {peak_step}")

    def anneal(start, end, pct):  # half a cosine from start (pct = 0) to end (pct = 1)
        return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))
    if step <= peak_step:
        pct = step / peak_step
        return anneal(initial, max_lr, pct), anneal(max_momentum, base_momentum, pct)
    pct = (step - peak_step) / (total_steps - 1 - peak_step)
    return anneal(max_lr, initial / final_div_factor, pct), anneal(base_momentum, max_momentum, pct)
# --8<-- [end:one-cycle]


# --8<-- [start:range-test]
def lr_range_test(loss_and_grad, theta, lr_min, lr_max, steps, stop_factor=4.0):
    """Smith's LR range test: SGD with a rate growing geometrically from lr_min to lr_max over `steps` steps.

    loss_and_grad(theta, k) returns (loss to record, gradient for step k). The sweep stops once the loss is
    stop_factor times its best value, or not finite. Returns the rates and losses recorded, one per step.
    """
    import torch
    if not callable(loss_and_grad):
        raise TypeError(f"loss_and_grad must be callable, got {type(loss_and_grad).__name__}")
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
    check_number(lr_min, "lr_min", low=0, low_open=True)
    check_number(lr_max, "lr_max", low=lr_min, low_open=True)
    check_positive_int(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    check_number(stop_factor, "stop_factor", low=1, low_open=True)
    rates, losses, best = [], [], math.inf
    for k in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (k / (steps - 1))
        loss, grad = loss_and_grad(theta, k)
        loss = float(loss)
        if not math.isfinite(loss) or loss > stop_factor * best:
            break                                   # diverged: the rates beyond are useless
        best = min(best, loss)
        rates.append(lr)
        losses.append(loss)
        theta = theta - lr * grad
    return rates, losses
# --8<-- [end:range-test]


# --8<-- [start:plateau]
def reduce_on_plateau(metrics, lr, factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                      cooldown=0, min_lr=0.0, eps=1e-8):
    """The rate after each epoch's ReduceLROnPlateau(mode='min').step(metric), from the PyTorch docs' rules."""
    check_number(lr, "lr", low=0, low_open=True)
    check_number(factor, "factor", low=0, low_open=True)
    if factor >= 1:
        raise ValueError(f"factor must be < 1, got {factor}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ValueError(f"patience must be an int >= 0, got {patience!r}")
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
        raise ValueError(f"cooldown must be an int >= 0, got {cooldown!r}")
    check_number(threshold, "threshold", low=0)
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
    check_number(min_lr, "min_lr", low=0)
    check_number(eps, "eps", low=0)
    best, bad, cooling, rates = math.inf, 0, 0, []
    for i, metric in enumerate(metrics):
        check_number(metric, f"metrics[{i}]")
        # "better" must beat the best by more than the threshold: best * (1 - threshold) or best - threshold
        limit = best * (1 - threshold) if threshold_mode == "rel" else best - threshold
        if metric < limit:
            best, bad = metric, 0
        else:
            bad += 1
        if cooling > 0:        # epochs in cooldown do not count as bad
            cooling -= 1
            bad = 0
        if bad > patience:     # the (patience + 1)-th bad epoch in a row, not the patience-th
            new = max(lr * factor, min_lr)
            if lr - new > eps:  # changes smaller than eps are ignored
                lr = new
            cooling, bad = cooldown, 0
        rates.append(lr)
    return rates
# --8<-- [end:plateau]
