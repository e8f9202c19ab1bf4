"""Softmax, its Jacobian and the cross-entropy gradient, written from the definitions."""
import torch

from snippets._validate import check_tensor


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


# --8<-- [start:jacobian]
def softmax_jacobian(p):
    """d softmax(z) / d z = diag(p) - p p^T, written in terms of p = softmax(z)."""
    check_tensor(p, "p", ndim=1)
    return torch.diag(p) - torch.outer(p, p)
# --8<-- [end:jacobian]


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


def _check_target(logits, target):
    check_tensor(target, "target", ndim=1, floating=False)
    if target.shape[0] != logits.shape[0]:
        raise ValueError(f"target has {target.shape[0]} labels but logits has {logits.shape[0]} rows")
    if target.dtype != torch.int64:
        raise TypeError(f"target must have dtype torch.int64 (class indices), got {target.dtype}")
