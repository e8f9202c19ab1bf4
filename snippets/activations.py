"""Activation functions and their derivatives, written from their definitions."""
import math

import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor


# --8<-- [start:sigmoid]
def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x) (Goodfellow et al. 2016, eq. 3.30)."""
    check_tensor(x, "x")
    return 1 / (1 + torch.exp(-x))  # exp(-x) = inf for very negative x gives 0, not NaN


def sigmoid_derivative(x):
    """sigma'(x) = sigma(x) * (1 - sigma(x)); its maximum is 1/4, at x = 0."""
    s = sigmoid(x)
    return s * (1 - s)
# --8<-- [end:sigmoid]


# --8<-- [start:tanh]
def tanh(x):
    """tanh(x) = 2 * sigmoid(2x) - 1: a sigmoid stretched to (-1, 1) and centred at 0."""
    check_tensor(x, "x")
    return 2 * sigmoid(2 * x) - 1


def tanh_derivative(x):
    """tanh'(x) = 1 - tanh(x)^2, at most 1 (at x = 0)."""
    return 1 - tanh(x) ** 2
# --8<-- [end:tanh]


# --8<-- [start:relu]
def relu(x):
    """ReLU max(0, x) (Nair & Hinton 2010)."""
    check_tensor(x, "x")
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_derivative(x):
    """1 where x > 0, else 0; at exactly 0 we follow PyTorch and return 0."""
    check_tensor(x, "x")
    return (x > 0).to(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    """max(x, k*x) for 0 < k < 1 (Maas et al. 2013); PyTorch's default k is 0.01."""
    check_tensor(x, "x")
    check_number(negative_slope, "negative_slope", low=0, high=1, low_open=True)
    return torch.where(x > 0, x, negative_slope * x)


def leaky_relu_derivative(x, negative_slope=0.01):
    """1 where x > 0, else k: never 0, so a unit always passes some gradient."""
    check_tensor(x, "x")
    check_number(negative_slope, "negative_slope", low=0, high=1, low_open=True)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))
# --8<-- [end:relu]


# --8<-- [start:sigmoid-chain]
def sigmoid_chain(x, depth):
    """sigma(sigma(...sigma(x))) with `depth` sigmoids: the gradient path of a sigmoid stack."""
    check_tensor(x, "x")
    check_positive_int(depth, "depth")
    for _ in range(depth):
        x = sigmoid(x)
    return x
# --8<-- [end:sigmoid-chain]


# --8<-- [start:relu-stack]
def relu_stack(x, weights):
    """h <- relu(h W^T) for each W in `weights`: a bias-free ReLU network."""
    check_tensor(x, "x", ndim=2)
    for i, w in enumerate(weights):
        check_tensor(w, f"weights[{i}]", ndim=2)
        if w.shape[1] != x.shape[1]:
            raise ValueError(f"weights[{i}] expects {w.shape[1]} inputs, got {x.shape[1]}")
        x = relu(x @ w.T)
    return x
# --8<-- [end:relu-stack]


# --8<-- [start:relu-interpolant]
def relu_interpolant(knots, values):
    """A one-hidden-layer ReLU network equal to the piecewise-linear interpolant of (knots, values) on
    [knots[0], knots[-1]]: one hidden unit per linear piece, each switching on at its left knot."""
    check_tensor(knots, "knots", ndim=1)
    check_tensor(values, "values", ndim=1)
    check_same_shape(knots, "knots", values, "values")
    if knots.numel() < 2 or not bool((knots[1:] > knots[:-1]).all()):
        raise ValueError("knots must hold at least 2 strictly increasing points")
    slopes = (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])
    kinks = torch.diff(slopes, prepend=torch.zeros_like(slopes[:1]))  # slope change at each left knot
    pieces = slopes.numel()
    hidden = nn.Linear(1, pieces, dtype=knots.dtype, device=knots.device)
    out = nn.Linear(pieces, 1, dtype=knots.dtype, device=knots.device)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(-knots[:-1])    # unit i computes relu(x - t_i)
        out.weight.copy_(kinks.unsqueeze(0))
        out.bias.copy_(values[:1])        # f(t_0) = v_0: every unit is off there
    return nn.Sequential(hidden, nn.ReLU(), out)
# --8<-- [end:relu-interpolant]


# --8<-- [start:dead-relu]
def dead_relu_units(pre_activations):
    """Units (dim 1) whose pre-activation is <= 0 for every example and position: relu' = 0 on all of them,
    so the unit's incoming weights and bias get exactly zero gradient from this data."""
    check_tensor(pre_activations, "pre_activations", min_ndim=2)
    per_unit = pre_activations.transpose(0, 1).reshape(pre_activations.shape[1], -1)
    return (per_unit <= 0).all(dim=1)
# --8<-- [end:dead-relu]


# --8<-- [start:elu]
def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise (Clevert et al. 2016): saturates at -alpha for x -> -inf."""
    check_tensor(x, "x")
    check_number(alpha, "alpha", low=0)
    # expm1 of min(x, 0): the branch torch.where discards must not overflow, or its gradient becomes 0 * inf = NaN
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))


def prelu(x, weight):
    """max(0, x) + a min(0, x) with a learned slope a: one shared, or one per channel of dim 1 (He et al. 2015)."""
    check_tensor(x, "x")
    check_tensor(weight, "weight", ndim=1)
    if weight.numel() != 1:
        if x.dim() < 2 or x.shape[1] != weight.numel():
            raise ValueError(f"weight has {weight.numel()} slopes but x has shape {tuple(x.shape)} (channels: dim 1)")
        weight = weight.view(1, -1, *([1] * (x.dim() - 2)))
    return torch.where(x > 0, x, weight * x)
# --8<-- [end:elu]


# --8<-- [start:selu]
SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. 2017, eq. 14 (as in torch.nn.SELU)
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the two constants that make mean 0, variance 1 a fixed point."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_stack(x, weights):
    """h <- selu(h W^T) for each W in `weights`; batch dimensions of x and W broadcast (many networks at once)."""
    check_tensor(x, "x", min_ndim=2)
    for i, w in enumerate(weights):
        check_tensor(w, f"weights[{i}]", min_ndim=2)
        if w.shape[-1] != x.shape[-1]:
            raise ValueError(f"weights[{i}] expects {w.shape[-1]} inputs, got {x.shape[-1]}")
        x = selu(x @ w.transpose(-1, -2))
    return x
# --8<-- [end:selu]


# --8<-- [start:softplus]
def softplus(x, beta=1.0):
    """log(1 + e^(beta x)) / beta (Dugas et al. 2001), a smooth ReLU whose derivative is sigmoid(beta x)."""
    check_tensor(x, "x")
    check_number(beta, "beta", low=0, low_open=True)
    # log(e^(beta x) + e^0), which logaddexp evaluates as max(beta x, 0) + log1p(e^-|beta x|): e^(beta x) never
    # overflows, and autograd gives sigmoid(0) = 1/2 at x = 0 (relu + log1p written out by hand would give 0 there)
    return torch.logaddexp(beta * x, torch.zeros_like(x)) / beta
# --8<-- [end:softplus]


# --8<-- [start:gelu]
def gelu(x):
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016); torch's F.gelu."""
    check_tensor(x, "x")
    # Phi(x) = erfc(-x / sqrt 2) / 2: the same value as (1 + erf(x / sqrt 2)) / 2, without cancellation for x << 0
    return x * 0.5 * torch.erfc(-x / math.sqrt(2))


def gelu_tanh(x):
    """The tanh approximation of GELU (Hendrycks & Gimpel 2016, sec. 2); F.gelu(approximate='tanh')."""
    check_tensor(x, "x")
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
# --8<-- [end:gelu]


# --8<-- [start:swish]
def swish(x, beta=1.0):
    """x * sigmoid(beta x) (Ramachandran et al. 2017); beta = 1 is SiLU, torch's F.silu (Elfwing et al. 2018)."""
    check_tensor(x, "x")
    check_number(beta, "beta", low=0)
    return x * sigmoid(beta * x)


def mish(x):
    """x * tanh(softplus(x)) (Misra 2019); torch's F.mish."""
    return x * torch.tanh(softplus(x))
# --8<-- [end:swish]


# --8<-- [start:glu]
def glu(x, dim=-1):
    """GLU: split x in halves a, b along `dim` and return a * sigmoid(b) (Dauphin et al. 2017); torch's F.glu."""
    check_tensor(x, "x")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if x.dim() == 0 or not -x.dim() <= dim < x.dim() or x.shape[dim] % 2:
        raise ValueError(f"dim must index an even-sized dimension of x, got dim={dim} for shape {tuple(x.shape)}")
    a, b = x.chunk(2, dim)
    return a * sigmoid(b)


class SwiGLU(nn.Module):
    """The SwiGLU feed-forward block W2 (swish(W1 x) * W3 x), without biases (Shazeer 2020, eq. 6)."""

    def __init__(self, d_model, d_hidden):
        super().__init__()
        check_positive_int(d_model, "d_model")
        check_positive_int(d_hidden, "d_hidden")
        self.w1 = nn.Linear(d_model, d_hidden, bias=False)  # gate, through swish
        self.w3 = nn.Linear(d_model, d_hidden, bias=False)  # value, linear
        self.w2 = nn.Linear(d_hidden, d_model, bias=False)  # back to d_model

    def forward(self, x):
        return self.w2(swish(self.w1(x)) * self.w3(x))


def swiglu_hidden_size(d_model, multiple_of=1):
    """2/3 of the usual 4 d_model, rounded up to a multiple of `multiple_of`: three matrices of that size hold
    as many weights as the two of a 4 d_model feed-forward block (LLaMA, Touvron et al. 2023)."""
    check_positive_int(d_model, "d_model")
    check_positive_int(multiple_of, "multiple_of")
    hidden = 8 * d_model // 3  # int(2/3 * 4 d), in integers
    return multiple_of * -(-hidden // multiple_of)
# --8<-- [end:glu]
