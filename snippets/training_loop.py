"""The training loop of a two-layer MLP written out by hand: forward, loss, backward, update."""
import torch

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_same_shape, check_tensor

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


def gradient_relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): scale-free, so one threshold serves large and tiny gradients (Ng, DL course 2)."""
    check_tensor(analytic, "analytic")
    check_tensor(numeric, "numeric")
    check_same_shape(analytic, "analytic", numeric, "numeric")
    scale = analytic.norm() + numeric.norm()
    if scale == 0:
        return 0.0  # both exactly zero: they agree
    return ((analytic - numeric).norm() / scale).item()
# --8<-- [end:gradient-check]


# --8<-- [start:gradcheck]
class TanhLinear(torch.autograd.Function):
    """a = tanh(x W + b) with a hand-written backward, the kind of code torch.autograd.gradcheck is for."""

    @staticmethod
    def forward(ctx, x, w, b):
        a = torch.tanh(x @ w + b)
        ctx.save_for_backward(x, w, a)
        return a

    @staticmethod
    def backward(ctx, grad_a):
        x, w, a = ctx.saved_tensors
        dz = grad_a * (1 - a ** 2)                    # through tanh
        return dz @ w.T, x.T @ dz, dz.sum(dim=0)      # d/dx, d/dW, d/db


def tanh_linear(x, w, b):
    """The layer above, with its arguments checked."""
    check_tensor(x, "x", ndim=2)
    check_tensor(w, "w", ndim=2)
    check_tensor(b, "b", ndim=1)
    if x.shape[1] != w.shape[0] or b.shape[0] != w.shape[1]:
        raise ValueError(f"x {tuple(x.shape)}, w {tuple(w.shape)} and b {tuple(b.shape)} do not fit x @ w + b")
    return TanhLinear.apply(x, w, b)
# --8<-- [end:gradcheck]


def _check_module(model):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


# --8<-- [start:evaluate]
def evaluate(model, x, y, loss_fn):
    """Validation loss: eval mode (no dropout, BN's running statistics) and no autograd graph.

    The model's previous mode is restored, so a call in the middle of training changes nothing.
    """
    _check_module(model)
    check_tensor(x, "x", min_ndim=1)
    check_tensor(y, "y", floating=False)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    was_training = model.training
    model.eval()                      # a mode switch only: dropout and BN change, gradients do not
    try:
        with torch.no_grad():         # no graph: saves the memory of the activations
            return loss_fn(model(x), y).item()
    finally:
        model.train(was_training)
# --8<-- [end:evaluate]


# --8<-- [start:accumulate]
def accumulate_gradients(model, loss_fn, x, y, micro_batch_size):
    """Fill p.grad with the gradient of the mean loss over all of (x, y), one micro-batch at a time.

    loss_fn must return the mean over its batch. Each micro-batch loss is weighted by n_i / N, which
    is 1/k for k equal micro-batches and stays exact when the last one is shorter.
    """
    _check_module(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    check_tensor(x, "x", min_ndim=1)
    check_tensor(y, "y", floating=False)
    check_one_per_row(y, "y", x, "x")
    check_positive_int(micro_batch_size, "micro_batch_size")
    model.zero_grad()
    n = x.shape[0]
    for xb, yb in zip(x.split(micro_batch_size), y.split(micro_batch_size)):
        (loss_fn(model(xb), yb) * (xb.shape[0] / n)).backward()   # backward() adds into p.grad
# --8<-- [end:accumulate]


# --8<-- [start:early-stopping]
def train_with_early_stopping(model, train_epoch, val_loss, max_epochs, patience):
    """Train until the validation loss has not improved for `patience` epochs, then restore the best weights.

    train_epoch() runs one epoch of updates; val_loss() returns the validation loss as a float.
    Returns (best_epoch, losses), where losses[e - 1] is the validation loss after epoch e.
    """
    _check_module(model)
    for name, f in (("train_epoch", train_epoch), ("val_loss", val_loss)):
        if not callable(f):
            raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    check_positive_int(max_epochs, "max_epochs")
    check_positive_int(patience, "patience")
    best_loss, best_epoch, losses = float("inf"), 0, []
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for epoch in range(1, max_epochs + 1):
        train_epoch()
        losses.append(float(val_loss()))
        if losses[-1] < best_loss:
            best_loss, best_epoch = losses[-1], epoch
            # a copy: state_dict() returns references to the live tensors, which training keeps changing
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    return best_epoch, losses
# --8<-- [end:early-stopping]


# --8<-- [start:chance-loss]
def chance_level_loss(class_counts):
    """Cross-entropy of the best input-blind prediction, the class frequencies p: H(p) = -sum p log p.

    For C balanced classes this is log C, the loss a freshly initialized classifier should show.
    """
    check_tensor(class_counts, "class_counts", ndim=1, floating=False)
    if class_counts.numel() < 2 or not (class_counts >= 0).all() or class_counts.sum() == 0:  # NaN fails >= 0
        raise ValueError(f"class_counts must hold at least 2 non-negative counts, not all 0, got {class_counts}")
    p = class_counts.double() / class_counts.sum()
    return -torch.special.xlogy(p, p).sum().item()     # xlogy: 0 log 0 = 0 for an absent class
# --8<-- [end:chance-loss]
