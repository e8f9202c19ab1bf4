"""Batch, layer, instance and group normalization as one operation over different axes (Wu & He 2018, §3.1)."""
import math

import torch

from snippets._validate import check_number, check_positive_int, check_tensor

# --8<-- [start:axes]
# Axes of an (N, C, H, W) tensor that share one mean and one variance (Wu & He 2018, Fig. 2).
NORM_AXES = {
    "batch": (0, 2, 3),     # per channel, over the batch and the pixels
    "layer": (1, 2, 3),     # per sample, over all channels and pixels
    "instance": (2, 3),     # per sample and channel, over the pixels
}


def normalize(x, dims, eps=1e-5):
    """(x - mean) / sqrt(var + eps) with mean and biased variance taken over `dims`."""
    check_tensor(x, "x", min_ndim=2)
    if not dims or any(not isinstance(d, int) or not -x.dim() <= d < x.dim() for d in dims):
        raise ValueError(f"dims must be a non-empty tuple of axes of x (ndim {x.dim()}), got {dims!r}")
    check_number(eps, "eps", low=0)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def group_norm(x, num_groups, eps=1e-5):
    """Split the C channels into G groups of C/G; normalize each sample's group over (C/G, H, W)."""
    check_tensor(x, "x", min_ndim=3)
    check_positive_int(num_groups, "num_groups")
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"num_groups must divide the {c} channels, got {num_groups}")
    grouped = x.reshape(n, num_groups, c // num_groups, *x.shape[2:])
    return normalize(grouped, tuple(range(2, grouped.dim())), eps).reshape(x.shape)
# --8<-- [end:axes]


# --8<-- [start:noise]
def batch_variance_relative_sd(m):
    """SD of the unbiased batch variance s^2 relative to sigma^2, Gaussian data: sqrt(2 / (m - 1)).

    (m - 1) s^2 / sigma^2 follows chi^2 with m - 1 degrees of freedom, whose variance is 2 (m - 1).
    """
    check_positive_int(m, "m")
    if m < 2:
        raise ValueError(f"m must be >= 2 (one value has no variance), got {m}")
    return math.sqrt(2 / (m - 1))
# --8<-- [end:noise]
