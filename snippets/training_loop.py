"""The training loop of a two-layer MLP written out by hand: forward, loss, backward, update."""
import torch

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor

PARAM_NAMES = ("w1", "b1", "w2", "b2")


def _check_params(params):
    """params = {w1: (d, h), b1: (h,), w2: (h, k), b2: (k,)}; errors name the offending entry."""
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        raise TypeError(f"params must be a dict with keys {PARAM_NAMES}, got {params!r:.80}")
    for name in PARAM_NAMES:
        check_tensor(params[name], f"params['{name}']", ndim=2 if name.startswith("w") else 1)
    if params["b1"].shape[0] != params["w1"].shape[1] or params["w2"].shape[0] != params["w1"].shape[1]:
        raise ValueError("params['w1'], params['b1'] and params['w2'] disagree on the hidden width")
    if params["b2"].shape[0] != params["w2"].shape[1]:
        raise ValueError("params['w2'] and params['b2'] disagree on the number of classes")


def _check_batch(x, y, params):
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=2)
    if x.shape[1] != params["w1"].shape[0]:
        raise ValueError(f"x has {x.shape[1]} features but params['w1'] expects {params['w1'].shape[0]}")
    if y.shape != (x.shape[0], params["w2"].shape[1]):
        raise ValueError(f"y must be one-hot of shape {(x.shape[0], params['w2'].shape[1])}, got {tuple(y.shape)}")


# --8<-- [start:forward]
def mlp_forward(x, params):
    """z1 = x W1 + b1, a1 = tanh(z1), z2 = a1 W2 + b2: returns the logits z2 and the cache backward needs."""
    check_tensor(x, "x", ndim=2)
    _check_params(params)
    a1 = torch.tanh(x @ params["w1"] + params["b1"])
    z2 = a1 @ params["w2"] + params["b2"]
    return z2, {"x": x, "a1": a1}


def cross_entropy(logits, y):
    """Mean over the batch of -sum_j y_j log softmax(z)_j, for one-hot (or soft) targets y."""
    check_tensor(logits, "logits", ndim=2)
    check_tensor(y, "y", ndim=2)
    check_same_shape(logits, "logits", y, "y")
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # stable log-softmax
    return -(y * log_p).sum(dim=1).mean()
# --8<-- [end:forward]


# --8<-- [start:backward]
def mlp_backward(logits, cache, y, params):
    """Gradients of the mean cross-entropy w.r.t. W1, b1, W2, b2, by the chain rule, layer by layer."""
    _check_params(params)
    _check_batch(cache["x"], y, params)
    n = y.shape[0]
    dz2 = (torch.softmax(logits, dim=1) - y) / n              # softmax + cross-entropy: p - y (per example)
    grads = {"w2": cache["a1"].T @ dz2, "b2": dz2.sum(dim=0)}
    dz1 = (dz2 @ params["w2"].T) * (1 - cache["a1"] ** 2)       # tanh'(z1) = 1 - tanh(z1)^2
    grads["w1"] = cache["x"].T @ dz1
    grads["b1"] = dz1.sum(dim=0)
    return grads
# --8<-- [end:backward]


# --8<-- [start:loop]
def sgd_step(params, grads, lr):
    """One gradient-descent update: theta <- theta - lr * dL/dtheta for every parameter."""
    _check_params(params)
    _check_params(grads)
    check_number(lr, "lr", low=0, low_open=True)
    return {name: params[name] - lr * grads[name] for name in PARAM_NAMES}


def train(x, y, params, lr, steps):
    """Repeat forward -> loss -> backward -> update; returns the final parameters and the losses seen."""
    _check_params(params)
    _check_batch(x, y, params)
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    losses = []
    for _ in range(steps):
        logits, cache = mlp_forward(x, params)                  # 1. forward
        losses.append(cross_entropy(logits, y).item())          # 2. loss
        grads = mlp_backward(logits, cache, y, params)          # 3. backward
        params = sgd_step(params, grads, lr)                    # 4. update
    return params, losses
# --8<-- [end:loop]


# --8<-- [start:gradient-check]
def numerical_gradient(f, w, h=1e-6):
    """Central differences (f(w + h e_i) - f(w - h e_i)) / 2h for every entry i of w; error O(h^2)."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    check_tensor(w, "w")
    check_number(h, "h", low=0, low_open=True)
    grad = torch.zeros_like(w)
    flat, g = w.detach().clone().reshape(-1), grad.reshape(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        up = float(f(flat.view_as(w)))
        flat[i] = old - h
        down = float(f(flat.view_as(w)))
        flat[i] = old
        g[i] = (up - down) / (2 * h)
    return grad
# --8<-- [end:gradient-check]
