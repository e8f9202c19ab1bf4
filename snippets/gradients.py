"""Vanishing and exploding gradients, gradient clipping, and products of many weight matrices."""
import math

import torch

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def _check_weights(weights, width, name="weights"):
    if not isinstance(weights, (list, tuple)) or not weights:
        raise TypeError(f"{name} must be a non-empty list of square matrices")
    for i, w in enumerate(weights):
        check_tensor(w, f"{name}[{i}]", ndim=2)
        if w.shape != (width, width):
            raise ValueError(f"{name}[{i}] must have shape ({width}, {width}), got {tuple(w.shape)}")


# --8<-- [start:per-layer]
def deep_stack(x, weights, activation, residual=False):
    """h <- f(h W^T) per layer, or h <- h + f(h W^T) with identity shortcuts (He et al. 2016)."""
    check_tensor(x, "x", ndim=2)
    _check_weights(weights, x.shape[1])
    f = _activation(activation)
    for w in weights:
        x = x + f(x @ w.T) if residual else f(x @ w.T)
    return x


def per_layer_grad_norms(x, target, weights, activation, residual=False):
    """||dL/dW_l|| for every layer, L = mean((h_L - target)^2): the numbers to log when training stalls."""
    check_tensor(target, "target")
    check_same_shape(x, "x", target, "target")
    weights = [w.detach().requires_grad_(True) for w in weights]
    loss = (deep_stack(x, weights, activation, residual) - target).pow(2).mean()
    grads = torch.autograd.grad(loss, weights)
    return [g.norm().item() for g in grads]
# --8<-- [end:per-layer]


# --8<-- [start:jacobians]
def sigmoid_layer_jacobian(h, w):
    """d sigma(W h) / dh = diag(sigma'(W h)) W, with sigma' = sigma (1 - sigma) <= 1/4."""
    check_tensor(h, "h", ndim=1)
    check_tensor(w, "w", ndim=2)
    if w.shape[1] != h.shape[0]:
        raise ValueError(f"w expects {w.shape[1]} inputs, h has {h.shape[0]}")
    s = torch.sigmoid(w @ h)
    return (s * (1 - s)).unsqueeze(1) * w


def backprop_through_jacobians(h0, weights, grad_out):
    """dL/dh_0 = J_1^T J_2^T ... J_L^T dL/dh_L: backpropagation is a product of layer Jacobians."""
    check_tensor(h0, "h0", ndim=1)
    check_tensor(grad_out, "grad_out", ndim=1)
    _check_weights(weights, h0.shape[0])
    jacobians, h = [], h0
    for w in weights:                      # forward pass, keeping each layer's Jacobian
        jacobians.append(sigmoid_layer_jacobian(h, w))
        h = torch.sigmoid(w @ h)
    g = grad_out
    for j in reversed(jacobians):          # backward pass: one Jacobian-transpose product per layer
        g = j.T @ g
    return g
# --8<-- [end:jacobians]


# --8<-- [start:rnn]
def rnn_final_state(h0, w, steps, activation="tanh"):
    """h_t = f(W h_{t-1}) for `steps` steps (no input, no bias): the recurrence that backprop unrolls."""
    check_tensor(h0, "h0", ndim=1)
    check_tensor(w, "w", ndim=2)
    check_positive_int(steps, "steps")
    f = _activation(activation)
    if w.shape != (h0.shape[0], h0.shape[0]):
        raise ValueError(f"w must have shape ({h0.shape[0]}, {h0.shape[0]}), got {tuple(w.shape)}")
    h = h0
    for _ in range(steps):
        h = f(w @ h)
    return h
# --8<-- [end:rnn]


# --8<-- [start:clip]
def clip_by_global_norm(grads, max_norm, eps=1e-6):
    """Rescale all gradients together so their joint norm is at most max_norm (Pascanu et al. 2013, Alg. 1).

    Returns (clipped, total_norm). eps = 1e-6 matches torch.nn.utils.clip_grad_norm_.
    """
    if not isinstance(grads, (list, tuple)) or not grads:
        raise TypeError("grads must be a non-empty list of tensors")
    for i, g in enumerate(grads):
        check_tensor(g, f"grads[{i}]")
    check_number(max_norm, "max_norm", low=0, low_open=True)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(max_norm / (total + eps), max=1.0)  # one factor for all: the direction is kept
    return [g * scale for g in grads], total


def clip_by_value(grads, clip_value):
    """Clamp every gradient entry to [-clip_value, clip_value] (Mikolov 2012): the direction can change."""
    if not isinstance(grads, (list, tuple)) or not grads:
        raise TypeError("grads must be a non-empty list of tensors")
    for i, g in enumerate(grads):
        check_tensor(g, f"grads[{i}]")
    check_number(clip_value, "clip_value", low=0, low_open=True)
    return [g.clamp(-clip_value, clip_value) for g in grads]
# --8<-- [end:clip]


# --8<-- [start:products]
def gaussian_matrices(n, count, generator):
    """`count` matrices with i.i.d. N(0, 1/n) entries: each preserves a vector's norm on average."""
    check_positive_int(n, "n")
    check_positive_int(count, "count")
    return [torch.randn(n, n, generator=generator, dtype=torch.float64) / math.sqrt(n) for _ in range(count)]


def orthogonal_matrices(n, count, generator):
    """`count` Haar-random orthogonal matrices: QR of a Gaussian, signs fixed by diag(R) (Mezzadri 2007)."""
    check_positive_int(n, "n")
    check_positive_int(count, "count")
    out = []
    for _ in range(count):
        q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
        out.append(q * torch.sign(torch.diagonal(r)))
    return out


def product_singular_values(mats):
    """Singular values (descending) of W_L ... W_2 W_1 for mats = [W_1, ..., W_L]."""
    if not isinstance(mats, (list, tuple)) or not mats:
        raise TypeError("mats must be a non-empty list of square matrices")
    check_tensor(mats[0], "mats[0]", ndim=2)
    _check_weights(mats, mats[0].shape[0], "mats")
    p = mats[0]
    for w in mats[1:]:
        p = w @ p
    return torch.linalg.svdvals(p)


def effective_rank(s):
    """exp(entropy of s / sum(s)) for singular values s (Roy & Vetterli 2007): n for a flat spectrum, 1 for rank one."""
    check_tensor(s, "s", ndim=1)
    if (s < 0).any() or s.sum() <= 0:
        raise ValueError("s must be non-negative singular values, not all zero")
    p = s / s.sum()
    p = p[p > 0]
    return torch.exp(-(p * p.log()).sum()).item()
# --8<-- [end:products]
