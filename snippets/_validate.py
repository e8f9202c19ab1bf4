"""Argument checks shared by every snippet: bad input fails early, naming the argument."""
import torch


def check_tensor(x, name, *, ndim=None, min_ndim=None, floating=True):
    """Raise TypeError/ValueError naming `name` unless `x` is a tensor of the expected kind."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if min_ndim is not None and x.dim() < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}")


def check_same_shape(a, a_name, b, b_name):
    """Raise ValueError naming both arguments if their shapes differ."""
    if a.shape != b.shape:
        raise ValueError(f"{a_name} and {b_name} must have the same shape, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")


def check_one_per_row(y, y_name, x, x_name, *, what="entries"):
    """Raise ValueError naming both arguments unless `y` has one entry (label, target) per row of `x`."""
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{y_name} must have {x.shape[0]} {what} (one per row of {x_name}), got {y.shape[0]}")


def check_positive_int(n, name):
    """Raise TypeError/ValueError naming `name` unless `n` is an int >= 1."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")


def check_number(v, name, *, low=None, high=None, low_open=False):
    """Raise TypeError/ValueError naming `name` unless `v` is a real number in range."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
