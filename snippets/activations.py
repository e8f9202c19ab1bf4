"""Activation functions and their derivatives, written from their definitions."""
import torch

from snippets._validate import check_number, check_positive_int, check_tensor


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
