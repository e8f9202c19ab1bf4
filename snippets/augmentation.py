"""Label-preserving image augmentations in plain torch, images as (..., H, W) tensors with values in [0, 1]."""
import torch
import torch.nn.functional as F

from snippets._validate import check_number, check_positive_int, check_tensor


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
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}), got {y.shape[0]}")
    check_number(std, "std", low=0)
    n, d = X.shape
    eye = torch.eye(d, dtype=X.dtype, device=X.device)
    return torch.linalg.solve(X.T @ X + n * std ** 2 * eye, X.T @ y)
# --8<-- [end:noise-ridge]
