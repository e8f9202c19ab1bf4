"""Cross-entropy, entropy and KL divergence, and the gradients that make cross-entropy the loss of choice."""
import math

import torch

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor


def _check_distributions(p, p_name, q, q_name):
    check_tensor(p, p_name, min_ndim=1)
    check_tensor(q, q_name, min_ndim=1)
    check_same_shape(p, p_name, q, q_name)


# --8<-- [start:definitions]
def entropy(p):
    """H(p) = -sum_x p(x) log p(x), with 0 log 0 = 0 (Cover & Thomas 2006, eq. 2.1)."""
    check_tensor(p, "p", min_ndim=1)
    return -torch.xlogy(p, p).sum(-1)  # xlogy(0, 0) = 0


def cross_entropy(p, q):
    """H(p, q) = -sum_x p(x) log q(x): target p, prediction q, over the last dimension."""
    _check_distributions(p, "p", q, "q")
    return -torch.xlogy(p, q).sum(-1)


def kl_divergence(p, q):
    """KL(p || q) = sum_x p(x) log(p(x) / q(x)) >= 0, zero only when q = p."""
    _check_distributions(p, "p", q, "q")
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)
# --8<-- [end:definitions]


# --8<-- [start:logits]
def cross_entropy_with_logits(logits, p):
    """H(p, softmax(logits)) computed with log_softmax, never log(softmax(.)), so it cannot hit log 0."""
    _check_distributions(p, "p", logits, "logits")
    return -(p * torch.log_softmax(logits, dim=-1)).sum(-1)


def cross_entropy_logit_gradient(logits, p):
    """d H(p, softmax(z)) / dz = softmax(z) - p: prediction minus target, no activation derivative."""
    _check_distributions(p, "p", logits, "logits")
    return torch.softmax(logits, dim=-1) - p
# --8<-- [end:logits]


# --8<-- [start:sigmoid-gradients]
def sigmoid_mse_gradient(z, y):
    """d/dz of (1/2)(sigma(z) - y)^2 = (sigma(z) - y) * sigma'(z): the sigma' factor vanishes at saturation."""
    check_tensor(z, "z")
    check_number(y, "y", low=0, high=1)
    s = torch.sigmoid(z)
    return (s - y) * s * (1 - s)


def sigmoid_bce_gradient(z, y):
    """d/dz of -[y log sigma(z) + (1 - y) log(1 - sigma(z))] = sigma(z) - y: the sigma' factor cancels."""
    check_tensor(z, "z")
    check_number(y, "y", low=0, high=1)
    return torch.sigmoid(z) - y
# --8<-- [end:sigmoid-gradients]


# --8<-- [start:neuron]
def train_sigmoid_neuron(w, b, x, y, lr, steps, loss="bce"):
    """Gradient descent on one neuron a = sigma(w x + b) (Nielsen 2015, ch. 3); returns the loss
    before each step. loss="mse" uses (1/2)(a - y)^2, loss="bce" the binary cross-entropy."""
    for name, v in (("w", w), ("b", b), ("x", x)):
        check_number(v, name)
    check_number(y, "y", low=0, high=1)
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    if loss not in ("bce", "mse"):
        raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")
    grad_of_z = sigmoid_bce_gradient if loss == "bce" else sigmoid_mse_gradient
    history = []
    for _ in range(steps):
        z = torch.tensor(w * x + b, dtype=torch.float64)
        a = torch.sigmoid(z).item()
        history.append(0.5 * (a - y) ** 2 if loss == "mse"
                       else -(y * math.log(a) + (1 - y) * math.log(1 - a)))
        g = grad_of_z(z, y).item()  # dL/dz; the chain rule gives dL/dw = g x and dL/db = g
        w, b = w - lr * g * x, b - lr * g
    return history
# --8<-- [end:neuron]
