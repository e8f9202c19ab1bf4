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


def _check_feature_vector(v, name, d):
    check_tensor(v, name, ndim=1)
    if v.shape[0] != d:
        raise ValueError(f"{name} must have one entry per feature ({d}), got shape {tuple(v.shape)}")


# --8<-- [start:transformer]
def transformer_layer_norm(x, gamma, beta, eps=1e-5):
    """LayerNorm as Transformers use it, nn.LayerNorm(d) on (batch, seq, d): every token is normalized over its
    own d features only, then scaled and shifted by gamma, beta of shape (d,), shared by all tokens."""
    check_tensor(x, "x", min_ndim=1)
    _check_feature_vector(gamma, "gamma", x.shape[-1])
    _check_feature_vector(beta, "beta", x.shape[-1])
    check_number(eps, "eps", low=0)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)  # biased, and eps inside the root, as nn.LayerNorm
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def rms_norm(x, gamma, eps=1e-6):
    """RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * gamma over the last axis; no mean is
    subtracted and there is no beta."""
    check_tensor(x, "x", min_ndim=1)
    _check_feature_vector(gamma, "gamma", x.shape[-1])
    check_number(eps, "eps", low=0)
    return gamma * x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)  # mean(x^2) = var + mean^2
# --8<-- [end:transformer]


# --8<-- [start:weights]
def weight_norm(v, g):
    """Weight normalization (Salimans & Kingma 2016): w = g v / ||v||, one norm and one g per output unit
    (the first axis of a Linear or Conv weight), as torch.nn.utils.parametrizations.weight_norm(dim=0)."""
    check_tensor(v, "v", min_ndim=2)
    check_tensor(g, "g")
    if g.numel() != v.shape[0]:
        raise ValueError(f"g must have one entry per output unit ({v.shape[0]}), got shape {tuple(g.shape)}")
    norms = v.flatten(1).norm(dim=1)  # over the inputs (and kernel positions) of each output unit
    return (g.reshape(-1) / norms).view(-1, *([1] * (v.dim() - 1))) * v


def weight_standardize(w, eps=1e-5):
    """Weight standardization (Qiao et al. 2019): each output channel's filter shifted and scaled to mean
    0 and variance 1 over its C_in * k_h * k_w weights (biased variance, eps inside the root)."""
    check_tensor(w, "w", min_ndim=2)
    check_number(eps, "eps", low=0)
    flat = w.flatten(1)
    mean = flat.mean(1, keepdim=True)
    var = flat.var(1, unbiased=False, keepdim=True)
    return ((flat - mean) / torch.sqrt(var + eps)).view_as(w)
# --8<-- [end:weights]


# --8<-- [start:correlated-pixels]
def batch_mean_sd(n_images, pixels, tau, sigma):
    """SD of a channel's batch mean when each image adds its own offset a ~ N(0, tau^2) to i.i.d. pixel noise
    e ~ N(0, sigma^2): sqrt(tau^2 / N + sigma^2 / (N P)) for N images of P pixels."""
    check_positive_int(n_images, "n_images")
    check_positive_int(pixels, "pixels")
    check_number(tau, "tau", low=0)
    check_number(sigma, "sigma", low=0)
    return math.sqrt(tau ** 2 / n_images + sigma ** 2 / (n_images * pixels))


def expected_batch_variance(n_images, pixels, tau, sigma):
    """E[sigma_B^2], the biased batch variance of the same model: tau^2 (1 - 1/N) + sigma^2 (1 - 1/(N P)),
    below the population variance tau^2 + sigma^2 by about tau^2 / N when images differ."""
    check_positive_int(n_images, "n_images")
    check_positive_int(pixels, "pixels")
    check_number(tau, "tau", low=0)
    check_number(sigma, "sigma", low=0)
    return tau ** 2 * (1 - 1 / n_images) + sigma ** 2 * (1 - 1 / (n_images * pixels))
# --8<-- [end:correlated-pixels]
