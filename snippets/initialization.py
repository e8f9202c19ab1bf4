"""Weight initialization: the scales of Xavier/Glorot and He/MSRA, and what depth does to them."""
import math

import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_tensor


# --8<-- [start:fans]
def fan_in_and_fan_out(shape):
    """Inputs and outputs per unit: (out, in) for Linear, (out, in, *kernel) for Conv."""
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions, got {tuple(shape)}")
    receptive_field = math.prod(shape[2:])  # 1 for a Linear weight
    return shape[1] * receptive_field, shape[0] * receptive_field
# --8<-- [end:fans]


# --8<-- [start:scales]
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    """a = gain * sqrt(6 / (fan_in + fan_out)) for U(-a, a) (Glorot & Bengio 2010, eq. 16)."""
    check_positive_int(fan_in, "fan_in")
    check_positive_int(fan_out, "fan_out")
    check_number(gain, "gain", low=0, low_open=True)
    return gain * math.sqrt(6 / (fan_in + fan_out))


def xavier_normal_std(fan_in, fan_out, gain=1.0):
    """std = gain * sqrt(2 / (fan_in + fan_out)): Var = 2 / (fan_in + fan_out) (eq. 12)."""
    check_positive_int(fan_in, "fan_in")
    check_positive_int(fan_out, "fan_out")
    check_number(gain, "gain", low=0, low_open=True)
    return gain * math.sqrt(2 / (fan_in + fan_out))


def he_normal_std(fan_in):
    """std = sqrt(2 / fan_in): ReLU halves the second moment, so double the variance (He et al. 2015, eq. 10)."""
    check_positive_int(fan_in, "fan_in")
    return math.sqrt(2 / fan_in)


def linear_default_bound(fan_in):
    """nn.Linear's default weight and bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    check_positive_int(fan_in, "fan_in")
    return 1 / math.sqrt(fan_in)
# --8<-- [end:scales]


# --8<-- [start:depth]
def relu_second_moments(x, weight_std, depth, generator):
    """Mean of h^2 after each of `depth` bias-free ReLU layers with weights N(0, weight_std^2)."""
    check_tensor(x, "x", ndim=2)
    check_number(weight_std, "weight_std", low=0, low_open=True)
    check_positive_int(depth, "depth")
    width = x.shape[1]
    moments = [x.pow(2).mean().item()]
    for _ in range(depth):
        w = torch.randn(width, width, generator=generator, dtype=torch.float64).to(x) * weight_std
        x = torch.relu(x @ w.T)
        moments.append(x.pow(2).mean().item())
    return moments
# --8<-- [end:depth]


# --8<-- [start:symmetry]
def tanh_mlp(sizes, init):
    """A tanh MLP; `init(module)` sets every Linear layer's weight and bias."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        check_positive_int(n_in, f"sizes[{i}]")
        check_positive_int(n_out, f"sizes[{i + 1}]")
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    net = nn.Sequential(*layers[:-1])  # no activation after the output layer
    for layer in net:
        if isinstance(layer, nn.Linear):
            init(layer)
    return net


def fit(net, x, y, steps=200, lr=0.1, momentum=0.9):
    """Full-batch SGD with momentum on the mean squared error; returns the final loss."""
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    check_positive_int(steps, "steps")
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    return nn.functional.mse_loss(net(x), y).item()
# --8<-- [end:symmetry]
