"""Batch size: iterations per epoch, mini-batch gradient noise, SGD's noise floor, steps to a target loss."""
import math

import torch

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


# --8<-- [start:iterations]
def iterations_per_epoch(num_samples, batch_size, drop_last=False):
    """Updates per pass over the data: ceil(N/B), or floor(N/B) when the short last batch is dropped."""
    check_positive_int(num_samples, "num_samples")
    check_positive_int(batch_size, "batch_size")
    if drop_last:
        return num_samples // batch_size
    return math.ceil(num_samples / batch_size)  # the last batch holds the N mod B leftovers
# --8<-- [end:iterations]


# --8<-- [start:coverage]
def fraction_seen_with_replacement(num_samples, draws):
    """Expected share of the N examples drawn at least once in `draws` draws with replacement: 1 - (1 - 1/N)^draws.

    With draws = N (one "epoch" of sampling with replacement) this tends to 1 - 1/e = 0.632; a shuffled
    epoch (a permutation, DataLoader(shuffle=True)) sees every example exactly once.
    """
    check_positive_int(num_samples, "num_samples")
    check_positive_int(draws, "draws")
    return 1 - (1 - 1 / num_samples) ** draws  # each example is missed by one draw with probability 1 - 1/N
# --8<-- [end:coverage]


# --8<-- [start:gradient-noise]
def minibatch_gradient_noise(per_sample_grads, batch_size):
    """E||g_B - g||^2 for a batch drawn without replacement: tr(Sigma)/B * (N-B)/(N-1) (Cochran 1977, thm 2.2)."""
    check_tensor(per_sample_grads, "per_sample_grads", ndim=2)
    n = per_sample_grads.shape[0]
    check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of samples {n}, got {batch_size}")
    centred = per_sample_grads - per_sample_grads.mean(0)
    trace_sigma = centred.pow(2).sum(1).mean()  # population covariance: divide by N, not N-1
    if n == 1:
        return trace_sigma  # a single sample: the batch is the data set, no noise
    fpc = (n - batch_size) / (n - 1)  # finite-population correction: 0 when the batch is the whole set
    return trace_sigma / batch_size * fpc
# --8<-- [end:gradient-noise]


# --8<-- [start:noise-floor]
def sgd_noise_floor(lr, batch_size, curvature=1.0, noise_sd=1.0):
    """Stationary Var(x) of SGD on f = a x^2 / 2 with gradient noise sd s per sample, batch B.

    x <- x - lr (a x + s xi / sqrt(B)) gives Var = lr s^2 / (B a (2 - lr a)), about lr s^2 / (2 a B).
    """
    check_number(curvature, "curvature", low=0, low_open=True)
    check_number(lr, "lr", low=0, low_open=True)
    if lr * curvature >= 2:
        raise ValueError(f"lr must be < 2/curvature = {2 / curvature} for SGD to be stable, got {lr}")
    check_positive_int(batch_size, "batch_size")
    check_number(noise_sd, "noise_sd", low=0)
    return lr * noise_sd ** 2 / (batch_size * curvature * (2 - lr * curvature))
# --8<-- [end:noise-floor]


# --8<-- [start:steps-to-target]
def sgd_steps_to_target(x, y, batch_size, lrs, target_loss, max_steps, generator=None):
    """Fewest SGD steps (best over the learning rates `lrs`) until the full-data MSE is <= target_loss.

    One chain per learning rate, all fed the same reshuffled mini-batches; returns None if no
    chain gets there within max_steps. Picking the best rate per batch size is how Shallue et al.
    (2019) measure steps-to-result.
    """
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_tensor(lrs, "lrs", ndim=1)
    check_one_per_row(y, "y", x, "x")
    n = x.shape[0]
    check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of samples {n}, got {batch_size}")
    check_number(target_loss, "target_loss", low=0, low_open=True)
    check_positive_int(max_steps, "max_steps")
    w = torch.zeros(lrs.shape[0], x.shape[1], dtype=x.dtype, device=x.device)
    # full-data MSE as a quadratic in w: w'Hw - 2c'w + mean(y^2), so each step costs d x d, not N x d
    h, c, yy = x.T @ x / n, x.T @ y / n, y.pow(2).mean()
    order, pos = torch.randperm(n, generator=generator).to(x.device), 0
    for step in range(1, max_steps + 1):
        if pos + batch_size > n:  # new epoch: reshuffle, drop the short remainder
            order, pos = torch.randperm(n, generator=generator).to(x.device), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        residual = w @ x[idx].T - y[idx]                # (rates, B)
        w = w - lrs[:, None] * (2 * residual @ x[idx] / batch_size)  # gradient of the batch MSE
        full_loss = ((w @ h) * w).sum(1) - 2 * w @ c + yy  # (rates,); NaN/inf for diverged rates
        if (full_loss <= target_loss).any():
            return step
    return None
# --8<-- [end:steps-to-target]
