"""Label-preserving image augmentations in plain torch, images as (..., H, W) tensors with values in [0, 1]."""
import math

import torch
import torch.nn.functional as F

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _padded_size(img, size, padding):
    """Validate a crop request; return the padded image's (height, width)."""
    check_tensor(img, "img", min_ndim=2)
    check_positive_int(size, "size")
    _check_padding(padding)
    height, width = img.shape[-2] + 2 * padding, img.shape[-1] + 2 * padding
    if size > min(height, width):
        raise ValueError(f"size {size} is larger than the padded image ({height} x {width})")
    return height, width


def _check_padding(padding):
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")


def _uniform(generator, device):
    """One U(0, 1) draw as a Python float (the generator decides the device of the draw)."""
    _check_generator(generator)
    return torch.rand((), generator=generator, device=generator.device if generator else device).item()


# --8<-- [start:flip]
def horizontal_flip(img):
    """Mirror left-right: column j becomes column W-1-j (the label of a cat photo does not change)."""
    check_tensor(img, "img", min_ndim=2)
    reversed_columns = torch.arange(img.shape[-1] - 1, -1, -1, device=img.device)
    return img[..., reversed_columns]


def random_horizontal_flip(img, p=0.5, generator=None):
    """Flip with probability p, otherwise return the image unchanged."""
    check_tensor(img, "img", min_ndim=2)
    check_number(p, "p", low=0, high=1)
    return horizontal_flip(img) if _uniform(generator, img.device) < p else img
# --8<-- [end:flip]


# --8<-- [start:crop]
def pad_and_crop(img, top, left, size, padding=0):
    """Zero-pad every side by `padding`, then cut the size x size window whose corner is (top, left)."""
    height, width = _padded_size(img, size, padding)
    for name, v, limit in (("top", top, height - size), ("left", left, width - size)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= limit:
            raise ValueError(f"{name} must be an int in [0, {limit}], got {v!r}")
    padded = F.pad(img, (padding, padding, padding, padding))  # zeros: black borders
    return padded[..., top:top + size, left:left + size]


def random_crop(img, size, padding=0, generator=None):
    """Random size x size crop of the zero-padded image, every position equally likely (as in the
    CIFAR recipe: pad 4, crop 32)."""
    height, width = _padded_size(img, size, padding)
    top = int(_uniform(generator, img.device) * (height - size + 1))
    left = int(_uniform(generator, img.device) * (width - size + 1))
    return pad_and_crop(img, top, left, size, padding)
# --8<-- [end:crop]


# --8<-- [start:noise]
def add_gaussian_noise(img, std, generator=None):
    """img + N(0, std^2) independently per pixel. No clamping: clamping would bias the noise near 0 and 1."""
    check_tensor(img, "img")
    check_number(std, "std", low=0)
    _check_generator(generator)
    noise = torch.randn(img.shape, generator=generator, dtype=img.dtype,
                        device=generator.device if generator else img.device)
    return img + std * noise.to(img.device)
# --8<-- [end:noise]


# --8<-- [start:brightness]
def adjust_brightness(img, factor):
    """Scale every pixel by `factor` and clamp to the valid range [0, 1] (factor 0: black, 1: unchanged)."""
    check_tensor(img, "img")
    check_number(factor, "factor", low=0)
    return (img * factor).clamp(0, 1)


def random_brightness(img, max_delta, generator=None):
    """Brightness factor drawn uniformly from [max(0, 1 - max_delta), 1 + max_delta], like ColorJitter."""
    check_tensor(img, "img")
    check_number(max_delta, "max_delta", low=0)
    low, high = max(0.0, 1 - max_delta), 1 + max_delta
    return adjust_brightness(img, low + (high - low) * _uniform(generator, img.device))
# --8<-- [end:brightness]


# --8<-- [start:noise-ridge]
def noise_injection_solution(X, y, std):
    """argmin_w E ||y - (X + E) w||^2 for i.i.d. input noise of variance std^2: ridge with
    lambda = n * std^2 (Bishop 1995)."""
    check_tensor(X, "X", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_one_per_row(y, "y", X, "X")
    check_number(std, "std", low=0)
    n, d = X.shape
    eye = torch.eye(d, dtype=X.dtype, device=X.device)
    return torch.linalg.solve(X.T @ X + n * std ** 2 * eye, X.T @ y)
# --8<-- [end:noise-ridge]


def _check_pair(x, y, perm):
    """A batch x (n, ...), integer labels y (n,) and a permutation perm of range(n)."""
    check_tensor(x, "x", min_ndim=1)
    n = x.shape[0]
    for name, v in (("y", y), ("perm", perm)):
        if not isinstance(v, torch.Tensor) or v.dtype != torch.long or v.dim() != 1 or v.shape[0] != n:
            raise TypeError(f"{name} must be a 1-D torch.long tensor with one entry per row of x ({n})")
    if not torch.equal(torch.sort(perm).values.cpu(), torch.arange(n)):
        raise ValueError("perm must be a permutation of 0..n-1")


# --8<-- [start:mix-lambda]
def sample_mix_lambda(alpha, num_samples=1):
    """lam ~ Beta(alpha, alpha), the mixing weight of Mixup and CutMix (alpha = 1: uniform on [0, 1]).
    Drawn from torch's global RNG (torch.distributions takes no generator)."""
    check_number(alpha, "alpha", low=0, low_open=True)
    check_positive_int(num_samples, "num_samples")
    a = torch.tensor(float(alpha), dtype=torch.float64)
    return torch.distributions.Beta(a, a).sample((num_samples,))
# --8<-- [end:mix-lambda]


# --8<-- [start:mixup]
def mixup(x, y, lam, perm):
    """Mixup (Zhang et al. 2018): blend example i with example perm[i] of the same batch. Returns the
    mixed inputs and both label sets; the loss weighs them by lam and 1 - lam."""
    _check_pair(x, y, perm)
    check_number(lam, "lam", low=0, high=1)
    return lam * x + (1 - lam) * x[perm], y, y[perm]


def mixed_cross_entropy(logits, y_a, y_b, lam):
    """The Mixup / CutMix loss lam * CE(logits, y_a) + (1 - lam) * CE(logits, y_b), batch means."""
    check_tensor(logits, "logits", ndim=2)
    for name, v in (("y_a", y_a), ("y_b", y_b)):
        if not isinstance(v, torch.Tensor) or v.dtype != torch.long or v.shape != logits.shape[:1]:
            raise TypeError(f"{name} must be a torch.long tensor with one label per row of logits")
    check_number(lam, "lam", low=0, high=1)
    return lam * F.cross_entropy(logits, y_a) + (1 - lam) * F.cross_entropy(logits, y_b)
# --8<-- [end:mixup]


# --8<-- [start:cutmix]
def cutmix_box(height, width, lam, cy, cx):
    """The CutMix box (Yun et al. 2019): sides int(H sqrt(1 - lam)) and int(W sqrt(1 - lam)) around the
    centre (cy, cx), clipped to the image. Returns (top, bottom, left, right), bottom/right exclusive."""
    check_positive_int(height, "height")
    check_positive_int(width, "width")
    check_number(lam, "lam", low=0, high=1)
    for name, v, limit in (("cy", cy, height), ("cx", cx, width)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < limit:
            raise ValueError(f"{name} must be an int in [0, {limit - 1}], got {v!r}")
    ratio = math.sqrt(1 - lam)                    # so that the unclipped box covers about 1 - lam
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return top, bottom, left, right


def cutmix(x, y, lam, perm, generator=None):
    """CutMix: paste the box of x[perm] into x, centre uniform over the image. Returns the mixed batch,
    both label sets and the label weight: the fraction of x that is kept, recomputed after clipping."""
    _check_pair(x, y, perm)
    check_tensor(x, "x", min_ndim=3)
    check_number(lam, "lam", low=0, high=1)
    height, width = x.shape[-2], x.shape[-1]
    cy = int(_uniform(generator, x.device) * height)
    cx = int(_uniform(generator, x.device) * width)
    top, bottom, left, right = cutmix_box(height, width, lam, cy, cx)
    mixed = x.clone()
    mixed[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
    kept = 1 - (bottom - top) * (right - left) / (height * width)  # not lam: the box may be clipped
    return mixed, y, y[perm], kept
# --8<-- [end:cutmix]
