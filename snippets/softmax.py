"""Softmax, its Jacobian and the cross-entropy gradient, log-sum-exp, temperature and calibration,
written from the definitions."""
import math

import torch

from snippets._validate import check_number, check_positive_int, check_tensor


# --8<-- [start:naive]
def softmax_naive(z):
    """e^{z_i} / sum_j e^{z_j} over the last axis, exactly as defined (Bridle 1990)."""
    check_tensor(z, "z", min_ndim=1)
    e = torch.exp(z)  # overflows to inf once z > 88.7 in float32
    return e / e.sum(dim=-1, keepdim=True)
# --8<-- [end:naive]


# --8<-- [start:stable]
def softmax(z):
    """Softmax with the maximum subtracted first: same value, no overflow."""
    check_tensor(z, "z", min_ndim=1)
    shifted = z - z.max(dim=-1, keepdim=True).values  # largest exponent is now e^0 = 1
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def log_softmax(z):
    """log softmax(z) = z - max - log(sum e^{z - max}), without forming tiny probabilities."""
    check_tensor(z, "z", min_ndim=1)
    shifted = z - z.max(dim=-1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))
# --8<-- [end:stable]


# --8<-- [start:two-class]
def two_class_softmax(z):
    """Softmax of two logits written as a sigmoid of their difference: p_1 = sigma(z_1 - z_0)."""
    check_tensor(z, "z", min_ndim=1)
    if z.shape[-1] != 2:
        raise ValueError(f"z must hold 2 logits on its last axis, got shape {tuple(z.shape)}")
    d = z[..., 1] - z[..., 0]  # only the difference is identifiable: adding c to both changes nothing
    # sigma(-d) rather than 1 - sigma(d): the small probability keeps its precision at large |d|
    return torch.stack((torch.sigmoid(-d), torch.sigmoid(d)), dim=-1)
# --8<-- [end:two-class]


# --8<-- [start:jacobian]
def softmax_jacobian(p):
    """d softmax(z) / d z = diag(p) - p p^T, written in terms of p = softmax(z)."""
    check_tensor(p, "p", ndim=1)
    return torch.diag(p) - torch.outer(p, p)
# --8<-- [end:jacobian]


# --8<-- [start:logsumexp]
def logsumexp(z):
    """log sum_j e^{z_j} over the last axis with the maximum taken out first; its gradient is softmax(z)."""
    check_tensor(z, "z", min_ndim=1)
    m = z.max(dim=-1, keepdim=True).values
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # a row of -inf (or +inf) has no shift to take out
    return (m + torch.log(torch.exp(z - m).sum(dim=-1, keepdim=True))).squeeze(-1)
# --8<-- [end:logsumexp]


# --8<-- [start:cross-entropy]
def cross_entropy(logits, target):
    """Mean over the batch of -log softmax(logits)[target] (log-softmax, then NLL)."""
    check_tensor(logits, "logits", ndim=2)
    _check_target(logits, target)
    picked = log_softmax(logits).gather(1, target.unsqueeze(1))
    return -picked.mean()


def cross_entropy_grad(logits, target):
    """d cross_entropy / d logits = (softmax(logits) - one_hot(target)) / batch size."""
    check_tensor(logits, "logits", ndim=2)
    _check_target(logits, target)
    one_hot = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    return (softmax(logits) - one_hot) / logits.shape[0]
# --8<-- [end:cross-entropy]


def _check_target(logits, target, name="target", rows="logits"):
    check_tensor(target, name, ndim=1, floating=False)
    if target.shape[0] != logits.shape[0]:
        raise ValueError(f"{name} has {target.shape[0]} labels but {rows} has {logits.shape[0]} rows")
    if target.dtype != torch.int64:
        raise TypeError(f"{name} must have dtype torch.int64 (class indices), got {target.dtype}")
    if target.numel() and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError(f"{name} must hold class indices in [0, {logits.shape[1]}), "
                         f"got values from {target.min().item()} to {target.max().item()}")


# --8<-- [start:temperature]
def softmax_with_temperature(z, temperature):
    """softmax(z / T): T > 1 flattens towards uniform, T < 1 sharpens towards one-hot; the arg-max never moves."""
    check_tensor(z, "z", min_ndim=1)
    check_number(temperature, "temperature", low=0, low_open=True)
    if not math.isfinite(temperature):
        raise ValueError(f"temperature must be finite, got {temperature}")
    return softmax(z / temperature)
# --8<-- [end:temperature]


# --8<-- [start:calibration]
def expected_calibration_error(probs, labels, n_bins=15):
    """ECE = sum_m |B_m|/n |acc(B_m) - conf(B_m)| over confidence bins ((m-1)/M, m/M] (Guo et al. 2017, eq. 3)."""
    check_tensor(probs, "probs", ndim=2)
    _check_target(probs, labels, "labels", "probs")
    check_positive_int(n_bins, "n_bins")
    conf, pred = probs.max(dim=1)
    # bin m (0-based) holds the confidences in (m/M, (m+1)/M]; max(p) >= 1/K > 0, so bin 0 is the lowest
    bins = (torch.ceil(conf * n_bins).long() - 1).clamp(0, n_bins - 1)
    # |B| (acc(B) - conf(B)) is the sum over the bin of (correct_i - conf_i)
    gap = torch.zeros(n_bins, dtype=probs.dtype, device=probs.device)
    gap.index_add_(0, bins, (pred == labels).to(probs.dtype) - conf)
    return gap.abs().sum() / probs.shape[0]


def fit_temperature(logits, labels, t_min=1e-3, t_max=1e3):
    """The T in [t_min, t_max] minimizing the mean NLL of softmax(logits / T) (temperature scaling, Guo et al.
    2017, §4.2). The NLL is convex in beta = 1/T, so bisection on its derivative finds the minimum."""
    check_tensor(logits, "logits", ndim=2)
    _check_target(logits, labels, "labels", "logits")
    check_number(t_min, "t_min", low=0, low_open=True)
    check_number(t_max, "t_max", low=t_min, low_open=True)
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)

    def slope(log_beta):  # d NLL / d beta = mean(E_softmax(beta z)[z] - z_label), increasing in beta
        p = softmax(math.exp(log_beta) * logits)
        return ((p * logits).sum(dim=1) - picked).mean().item()

    lo, hi = -math.log(t_max), -math.log(t_min)  # log beta
    if slope(hi) <= 0:   # still falling at the smallest T: the optimum is at or below t_min
        return t_min
    if slope(lo) >= 0:   # already rising at the largest T
        return t_max
    for _ in range(64):  # halves the interval 64 times: far below float64 resolution of log beta
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    return math.exp(-0.5 * (lo + hi))
# --8<-- [end:calibration]
