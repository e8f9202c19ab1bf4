"""Input normalization (min-max, z-score, nonlinear maps), gradient descent's dependence on scaling, and LRN."""
import math

import torch

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


# --8<-- [start:scalers]
def min_max_scale(x, dim=0):
    """x' = (x - min) / (max - min) per feature: the range becomes exactly [0, 1]."""
    check_tensor(x, "x", min_ndim=1)
    lo, hi = x.amin(dim, keepdim=True), x.amax(dim, keepdim=True)
    if (hi == lo).any():
        raise ValueError("x must not have a constant feature (max == min): min-max scaling divides by 0")
    return (x - lo) / (hi - lo)  # one extreme value sets the scale for everyone: outlier-sensitive


def z_score(x, dim=0):
    """x' = (x - mean) / SD per feature: mean 0 and SD 1; an affine map, so the shape is unchanged."""
    check_tensor(x, "x", min_ndim=1)
    mean = x.mean(dim, keepdim=True)
    sd = x.std(dim, keepdim=True, correction=0)  # population SD, as sklearn's StandardScaler
    if (sd == 0).any():
        raise ValueError("x must not have a constant feature (SD 0): z-scoring divides by 0")
    return (x - mean) / sd
# --8<-- [end:scalers]


# --8<-- [start:nonlinear]
def log_scale(x):
    """x' = log10(x) / log10(max x): maps [1, max] onto [0, 1], compressing large values."""
    check_tensor(x, "x", min_ndim=1)
    if (x < 1).any() or x.max() == 1:
        raise ValueError("x must be >= 1 with max > 1 for log10(x)/log10(max) to lie in [0, 1]")
    return torch.log10(x) / torch.log10(x.max())


def arctan_scale(x):
    """x' = (2/pi) arctan(x): any real number into (-1, 1), strictly increasing."""
    check_tensor(x, "x")
    return 2 / math.pi * torch.atan(x)
# --8<-- [end:nonlinear]


# --8<-- [start:gradient-descent]
def hessian_eigenvalues(x):
    """Eigenvalues (ascending) of the Hessian X^T X / N of f(w) = ||Xw - y||^2 / (2N)."""
    check_tensor(x, "x", ndim=2)
    return torch.linalg.eigvalsh(x.T @ x / x.shape[0])


def optimal_step(x):
    """Fixed step 2 / (L + mu) that minimizes GD's worst-case contraction (kappa-1)/(kappa+1) on f."""
    eig = hessian_eigenvalues(x)
    return 2 / (eig[-1] + eig[0])  # f has the 1/2: for plain MSE (Hessian 2 X^T X / N) halve this step


def gradient_descent(x, y, step, num_steps):
    """Iterates w_0 = 0, w_{t+1} = w_t - step * X^T (X w_t - y) / N of GD on f; returns (num_steps+1, d)."""
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_one_per_row(y, "y", x, "x")
    if isinstance(step, torch.Tensor) and step.numel() == 1:
        step = step.item()
    check_number(step, "step", low=0, low_open=True)
    check_positive_int(num_steps, "num_steps")
    w = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    path = [w]
    for _ in range(num_steps):
        w = w - step * x.T @ (x @ w - y) / x.shape[0]
        path.append(w)
    return torch.stack(path)
# --8<-- [end:gradient-descent]


# --8<-- [start:lrn]
def local_response_norm(a, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """AlexNet LRN: b_c = a_c / (k + alpha * sum of a_j^2 over the `size` channels around c)^beta.

    Krizhevsky et al. 2012, sec. 3.3 (n=5, alpha=1e-4, beta=0.75, k=2). Here alpha multiplies the
    plain sum; torch.nn.LocalResponseNorm divides its alpha by size, so pass alpha * size there.
    """
    check_tensor(a, "a", min_ndim=2)
    check_positive_int(size, "size")
    if size % 2 == 0:
        raise ValueError(f"size must be odd (a window centred on each channel), got {size}")
    check_number(alpha, "alpha", low=0)
    check_number(beta, "beta", low=0)
    check_number(k, "k", low=0, low_open=True)
    sq = a.pow(2).transpose(0, 1)  # channels first; the window runs across channels, not space
    half, channels = size // 2, a.shape[1]
    padded = torch.cat([sq.new_zeros((half, *sq.shape[1:])), sq, sq.new_zeros((half, *sq.shape[1:]))])
    window = sum(padded[j:j + channels] for j in range(size))  # channels past the edge count as 0
    return a / (k + alpha * window.transpose(0, 1)) ** beta
# --8<-- [end:lrn]
