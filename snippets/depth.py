"""Depth separation on a line: the sawtooth of Telgarsky (2016) and the piece count of shallow ReLU nets."""
import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_tensor


# --8<-- [start:tent]
def tent_map(x):
    """T(x) = 2 relu(x) - 4 relu(x - 1/2): up from 0 to 1 on [0, 1/2], down to 0 on [1/2, 1]."""
    check_tensor(x, "x")
    return 2 * torch.relu(x) - 4 * torch.relu(x - 0.5)


def sawtooth(x, k):
    """T applied k times: 2^(k-1) teeth, 2^k linear pieces on [0, 1] (Telgarsky 2016, Lemma 2.4)."""
    check_tensor(x, "x")
    check_positive_int(k, "k")
    for _ in range(k):
        x = tent_map(x)
    return x
# --8<-- [end:tent]


# --8<-- [start:deep-net]
def sawtooth_net(k):
    """The same map as an nn.Sequential: k hidden layers of 2 ReLU units, 2k units in all."""
    check_positive_int(k, "k")
    first = nn.Linear(1, 2)                    # (x, x - 1/2)
    hidden = [nn.Linear(2, 2) for _ in range(k - 1)]  # (T, T - 1/2) with T = 2 h1 - 4 h2
    last = nn.Linear(2, 1)                     # T = 2 h1 - 4 h2
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0], [1.0]]))
        first.bias.copy_(torch.tensor([0.0, -0.5]))
        for layer in hidden:
            layer.weight.copy_(torch.tensor([[2.0, -4.0], [2.0, -4.0]]))
            layer.bias.copy_(torch.tensor([0.0, -0.5]))
        last.weight.copy_(torch.tensor([[2.0, -4.0]]))
        last.bias.zero_()
    layers = [first, nn.ReLU()]
    for layer in hidden:
        layers += [layer, nn.ReLU()]
    return nn.Sequential(*layers, last)
# --8<-- [end:deep-net]


# --8<-- [start:shallow]
def shallow_kinks(w, b, x0, v):
    """Where unit i of relu(W x + b) switches on the line x0 + t v: t_i = -(w_i . x0 + b_i) / (w_i . v).

    A unit's pre-activation is affine in t, so it crosses zero at most once: one kink per unit,
    hence at most m + 1 linear pieces for m units (Montufar et al. 2014, sec. 2).
    """
    check_tensor(w, "w", ndim=2)
    check_tensor(b, "b", ndim=1)
    check_tensor(x0, "x0", ndim=1)
    check_tensor(v, "v", ndim=1)
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"b must have {w.shape[0]} entries (one per unit), got {b.shape[0]}")
    for name, vec in (("x0", x0), ("v", v)):
        if vec.shape[0] != w.shape[1]:
            raise ValueError(f"{name} must have {w.shape[1]} entries (the input size), got {vec.shape[0]}")
    slope = w @ v
    t = -(w @ x0 + b) / slope
    return torch.sort(t[slope != 0]).values  # a unit parallel to the line never switches


def shallow_sawtooth_net(k):
    """One hidden layer that equals the k-fold sawtooth on [0, 1]: one unit per kink, 2^k units."""
    check_positive_int(k, "k")
    n = 2 ** k
    kinks = torch.arange(n, dtype=torch.float64) / n           # 0 and the 2^k - 1 interior kinks
    jumps = torch.full((n,), 2.0 * n, dtype=torch.float64)     # slope goes +2^k, -2^k, +2^k, ...
    jumps[1:] *= torch.tensor([(-1.0) ** j for j in range(1, n)], dtype=torch.float64)
    jumps[0] = n                                                # initial slope 2^k
    hidden, out = nn.Linear(1, n), nn.Linear(n, 1)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(-kinks)                                # unit j: relu(x - j / 2^k)
        out.weight.copy_(jumps.unsqueeze(0))
        out.bias.zero_()
    return nn.Sequential(hidden, nn.ReLU(), out)  # exact dyadic numbers: any float dtype holds them
# --8<-- [end:shallow]


# --8<-- [start:count]
def count_linear_pieces(x, y, tol=1e-9):
    """Maximal linear pieces of a piecewise-linear y(x) sampled on a grid that contains every kink."""
    check_tensor(x, "x", ndim=1)
    check_tensor(y, "y", ndim=1)
    check_number(tol, "tol", low=0, low_open=True)
    if x.shape != y.shape or x.numel() < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {tuple(x.shape)} and {tuple(y.shape)}")
    if not (x[1:] > x[:-1]).all():
        raise ValueError("x must be strictly increasing")
    slopes = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
    changes = (slopes[1:] - slopes[:-1]).abs() > tol * (1 + slopes[:-1].abs())
    return 1 + int(changes.sum())
# --8<-- [end:count]
