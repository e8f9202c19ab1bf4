"""Neural-network fundamentals: what an MLP computes, a constructive universal approximator, the cost of
reverse-mode differentiation, feature learning and weight-space symmetry."""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


def _check_sizes(sizes):
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(f"sizes must be a list or tuple of ints, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least an input and an output size, got {list(sizes)}")
    for i, d in enumerate(sizes):
        check_positive_int(d, f"sizes[{i}]")


# --8<-- [start:mlp]
def mlp(sizes, activation=nn.ReLU):
    """An MLP d_0 -> d_1 -> ... -> d_L: each layer is an affine map x W^T + b, and the activation
    follows every layer except the last (Goodfellow, Bengio & Courville 2016, sec. 6.1)."""
    _check_sizes(sizes)
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(f"activation must be an nn.Module class such as nn.ReLU, got {activation!r}")
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def mlp_parameter_count(sizes):
    """Each layer has d_in * d_out weights and d_out biases: sum over layers of (d_in + 1) * d_out."""
    _check_sizes(sizes)
    return sum((d_in + 1) * d_out for d_in, d_out in zip(sizes[:-1], sizes[1:]))
# --8<-- [end:mlp]


# --8<-- [start:collapse]
def collapse_affine_stack(layers):
    """The single nn.Linear equal to nn.Linear layers applied one after another with nothing between them:
    W = W_L ... W_2 W_1 and b = W_L(... (W_2 b_1 + b_2) ...) + b_L."""
    layers = list(layers)
    if not layers:
        raise ValueError("layers must hold at least one nn.Linear")
    for i, layer in enumerate(layers):
        if not isinstance(layer, nn.Linear) or layer.bias is None:
            raise TypeError(f"layers[{i}] must be an nn.Linear with a bias (an activation between layers "
                            f"does not collapse), got {type(layer).__name__}")
        if i and layer.in_features != layers[i - 1].out_features:
            raise ValueError(f"layers[{i}] takes {layer.in_features} inputs but layers[{i - 1}] gives "
                             f"{layers[i - 1].out_features}")
    w, b = layers[0].weight.detach(), layers[0].bias.detach()
    for layer in layers[1:]:
        w, b = layer.weight.detach() @ w, layer.weight.detach() @ b + layer.bias.detach()
    single = nn.Linear(w.shape[1], w.shape[0]).to(w.device, w.dtype)
    with torch.no_grad():
        single.weight.copy_(w)
        single.bias.copy_(b)
    return single
# --8<-- [end:collapse]


# --8<-- [start:interpolant]
def relu_interpolant(knots, values):
    """One hidden layer of n = len(knots) - 1 ReLU units that passes through every (knot, value) and is
    linear in between: f(x) = v_0 + sum_i c_i relu(x - x_i), c_i = change of slope at knot x_i."""
    check_tensor(knots, "knots", ndim=1)
    check_tensor(values, "values", ndim=1)
    if knots.shape != values.shape or knots.numel() < 2:
        raise ValueError(f"knots and values must have the same length >= 2, got {tuple(knots.shape)} "
                         f"and {tuple(values.shape)}")
    if not (knots[1:] > knots[:-1]).all():
        raise ValueError("knots must be strictly increasing")
    slopes = (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])    # slope of each of the n pieces
    jumps = torch.cat([slopes[:1], slopes[1:] - slopes[:-1]])         # unit i turns on at x_i
    n = slopes.numel()
    hidden, out = nn.Linear(1, n), nn.Linear(n, 1)
    hidden, out = hidden.to(knots.device, knots.dtype), out.to(knots.device, knots.dtype)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(-knots[:-1])
        out.weight.copy_(jumps.unsqueeze(0))
        out.bias.copy_(values[:1])
    return nn.Sequential(hidden, nn.ReLU(), out)


def interpolation_error_bound(width, length, max_curvature):
    """Uniform knots h = length / width apart: |f - interpolant| <= h^2 max|f''| / 8 (for f in C^2)."""
    check_positive_int(width, "width")
    check_number(length, "length", low=0, low_open=True)
    check_number(max_curvature, "max_curvature", low=0)
    h = length / width
    return h * h * max_curvature / 8
# --8<-- [end:interpolant]


def _check_scalar_output(out):
    if not isinstance(out, torch.Tensor) or out.dim() != 0:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"f must return a scalar tensor, got {shape}")


# --8<-- [start:modes]
def gradient_forward_mode(f, x):
    """Gradient of a scalar f by forward mode: one jvp per input coordinate, each giving one number."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    check_tensor(x, "x")
    grad = torch.empty_like(x).reshape(-1)
    for i in range(x.numel()):
        direction = torch.zeros_like(x).reshape(-1)
        direction[i] = 1                                     # the i-th basis vector e_i
        out, tangent = torch.func.jvp(f, (x,), (direction.view_as(x),))
        _check_scalar_output(out)
        grad[i] = tangent                                    # d f / d x_i, one partial derivative per pass
    return grad.view_as(x)


def gradient_reverse_mode(f, x):
    """Gradient of a scalar f by reverse mode: one backward pass from the output gives every partial at once."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    check_tensor(x, "x")
    x = x.detach().requires_grad_(True)
    out = f(x)                                               # the forward pass records the graph
    _check_scalar_output(out)
    (grad,) = torch.autograd.grad(out, x)                    # what loss.backward() runs: a vjp with cotangent 1
    return grad
# --8<-- [end:modes]


# --8<-- [start:flops]
def linear_layer_flops(batch, n_in, n_out, input_grad=True):
    """Matrix-product FLOPs (2 per multiply-add) of y = x W^T + b for a (batch, n_in) input.

    Forward: x W^T.  Backward: dW = dy^T x always, and dx = dy W only when the input needs a gradient
    (every layer but the first), so the backward costs 2x the forward, or 1x for the first layer.
    """
    check_positive_int(batch, "batch")
    check_positive_int(n_in, "n_in")
    check_positive_int(n_out, "n_out")
    if not isinstance(input_grad, bool):
        raise TypeError(f"input_grad must be a bool, got {type(input_grad).__name__}")
    forward = 2 * batch * n_in * n_out
    return {"forward": forward, "backward": forward * (2 if input_grad else 1)}


def mlp_flops(sizes, batch):
    """Forward and backward matrix-product FLOPs of mlp(sizes) on a batch whose input needs no gradient."""
    _check_sizes(sizes)
    check_positive_int(batch, "batch")
    total = {"forward": 0, "backward": 0}
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = linear_layer_flops(batch, d_in, d_out, input_grad=i > 0)
        total = {k: total[k] + layer[k] for k in total}
    return total
# --8<-- [end:flops]


# --8<-- [start:fit]
def fit_binary_classifier(model, x, y, steps, lr):
    """Full-batch Adam on the logistic loss; the model returns one logit per example."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_one_per_row(y, "y", x, "x", what="labels")
    check_positive_int(steps, "steps")
    check_number(lr, "lr", low=0, low_open=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model(x).squeeze(1), y).backward()
        opt.step()
    return model
# --8<-- [end:fit]


# --8<-- [start:permute]
def permute_hidden_units(net, perm):
    """The same function with the hidden units relabelled: rows of W1 and b1, columns of W2, all by perm.

    net is nn.Sequential(nn.Linear, activation, nn.Linear); a copy is returned."""
    if not (isinstance(net, nn.Sequential) and len(net) == 3 and isinstance(net[0], nn.Linear)
            and isinstance(net[2], nn.Linear)):
        raise TypeError("net must be nn.Sequential(nn.Linear, activation, nn.Linear)")
    check_tensor(perm, "perm", ndim=1, floating=False)
    if perm.dtype != torch.long:
        raise TypeError(f"perm must be a torch.long tensor of indices, got {perm.dtype}")
    hidden = net[0].out_features
    if not torch.equal(torch.sort(perm.cpu()).values, torch.arange(hidden)):
        raise ValueError(f"perm must be a permutation of 0..{hidden - 1}, got {perm.tolist()}")
    out = copy.deepcopy(net)
    perm = perm.to(net[0].weight.device)
    with torch.no_grad():
        out[0].weight.copy_(net[0].weight[perm])
        out[0].bias.copy_(net[0].bias[perm])
        out[2].weight.copy_(net[2].weight[:, perm])    # the output layer reads the units in the new order
    return out
# --8<-- [end:permute]
