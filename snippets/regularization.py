"""Regularization: L1/L2 penalties, weight decay, dropout and DropConnect, written from their definitions."""
import torch

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor


def _check_design(X, y):
    check_tensor(X, "X", ndim=2)
    check_tensor(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}), got {y.shape[0]}")


# --8<-- [start:bias-variance]
def bias_variance(P, f_train, f_test, noise_std):
    """Bias^2 and variance of the linear smoother y_hat(test) = P y(train), y = f + N(0, s^2) (ESL 7.3)."""
    check_tensor(P, "P", ndim=2)
    check_tensor(f_train, "f_train", ndim=1)
    check_tensor(f_test, "f_test", ndim=1)
    check_number(noise_std, "noise_std", low=0)
    if P.shape != (f_test.shape[0], f_train.shape[0]):
        raise ValueError(f"P must have shape (len(f_test), len(f_train)), got {tuple(P.shape)}")
    bias2 = (P @ f_train - f_test).pow(2).mean()       # how far the *average* fit is from the truth
    variance = noise_std ** 2 * P.pow(2).sum(1).mean()  # how much the fit moves from one sample to the next
    return bias2, variance
# --8<-- [end:bias-variance]


# --8<-- [start:penalties]
def l1_penalty(w, alpha):
    """alpha * sum |w|: the L1 term of J = J0 + alpha * ||w||_1 (Tibshirani 1996)."""
    check_tensor(w, "w")
    check_number(alpha, "alpha", low=0)
    return alpha * w.abs().sum()


def l2_penalty(w, alpha):
    """(alpha / 2) * sum w^2: the *squared* L2 norm, whose gradient alpha * w is weight decay."""
    check_tensor(w, "w")
    check_number(alpha, "alpha", low=0)
    return alpha / 2 * w.pow(2).sum()
# --8<-- [end:penalties]


# --8<-- [start:prox]
def soft_threshold(w, threshold):
    """Proximal step of threshold * ||w||_1: shrink toward 0 by `threshold`, and stop *at* 0."""
    check_tensor(w, "w")
    check_number(threshold, "threshold", low=0)
    return torch.sign(w) * torch.clamp(w.abs() - threshold, min=0)


def l2_shrink(w, threshold):
    """Proximal step of (threshold / 2) * ||w||^2: divide by 1 + threshold, never reaching 0."""
    check_tensor(w, "w")
    check_number(threshold, "threshold", low=0)
    return w / (1 + threshold)


def ista_lasso(X, y, alpha, steps=3000):
    """Minimize ||y - X w||^2 / (2n) + alpha ||w||_1 by ISTA (Beck & Teboulle 2009)."""
    _check_design(X, y)
    check_number(alpha, "alpha", low=0)
    check_positive_int(steps, "steps")
    n = X.shape[0]
    step = n / torch.linalg.matrix_norm(X, ord=2) ** 2  # 1/L, L = Lipschitz constant of the smooth part
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    for _ in range(steps):
        grad = X.T @ (X @ w - y) / n
        w = soft_threshold(w - step * grad, float(step * alpha))  # gradient step, then the L1 prox
    return w
# --8<-- [end:prox]


# --8<-- [start:ridge]
def ridge_fit(X, y, lam, penalize=None):
    """argmin ||y - X w||^2 + lam * sum_j penalize_j w_j^2; penalize=None penalizes every column."""
    _check_design(X, y)
    check_number(lam, "lam", low=0)
    d = X.shape[1]
    if penalize is None:
        penalize = torch.ones(d, dtype=X.dtype, device=X.device)
    check_tensor(penalize, "penalize", ndim=1)
    if penalize.shape[0] != d:
        raise ValueError(f"penalize must have one entry per column of X ({d}), got {penalize.shape[0]}")
    # a column with penalize_j = 0 (an intercept) is fitted freely
    return torch.linalg.solve(X.T @ X + lam * torch.diag(penalize), X.T @ y)
# --8<-- [end:ridge]


# --8<-- [start:no-bias-decay]
def param_groups_without_bias_decay(model, weight_decay):
    """Optimizer groups that apply weight decay to weight matrices only, not to biases or norm scales."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_number(weight_decay, "weight_decay", low=0)
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)  # biases and BN/LN gains are 1-D
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]
# --8<-- [end:no-bias-decay]


# --8<-- [start:adam]
def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False):
    """One Adam step (Kingma & Ba 2015). decoupled=False: L2 as in Adam(weight_decay);
    decoupled=True: AdamW (Loshchilov & Hutter 2019). Returns the new (w, m, v)."""
    for name, x in (("w", w), ("grad", grad), ("m", m), ("v", v)):
        check_tensor(x, name)
        check_same_shape(w, "w", x, name)
    check_positive_int(t, "t")
    check_number(lr, "lr", low=0)
    check_number(weight_decay, "weight_decay", low=0)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        check_number(beta, f"betas[{i}]", low=0, high=1)
    beta1, beta2 = betas
    if decoupled:
        w = w * (1 - lr * weight_decay)   # shrink the weights directly, outside the adaptive scaling
    else:
        grad = grad + weight_decay * w    # L2: the penalty's gradient goes through m and v
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - lr * m_hat / (v_hat.sqrt() + eps), m, v
# --8<-- [end:adam]


# --8<-- [start:early-stopping]
def gradient_descent_path(X, y, lr, steps):
    """Weights of gradient descent on ||y - X w||^2 / 2 from w = 0, after each of `steps` steps."""
    _check_design(X, y)
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    path = []
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y)
        path.append(w)
    return torch.stack(path)
# --8<-- [end:early-stopping]


# --8<-- [start:dropout]
def keep_mask(shape, p, generator=None, device=None):
    """Bernoulli(1 - p) mask: each entry is kept with probability 1 - p (p = drop probability)."""
    shape = (shape,) if isinstance(shape, int) and not isinstance(shape, bool) else shape
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise TypeError(f"shape must be an int or a tuple of ints >= 0, got {shape!r}")
    check_number(p, "p", low=0, high=1)
    return torch.rand(shape, generator=generator, device=device) >= p


def dropout_with_mask(x, mask, p):
    """Inverted dropout for a given mask: zero the dropped units, divide the kept ones by 1 - p."""
    check_tensor(x, "x")
    check_number(p, "p", low=0, high=1)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a boolean torch.Tensor")
    check_same_shape(x, "x", mask, "mask")
    if p == 1:
        return torch.zeros_like(x)  # everything dropped; avoid 0 / 0
    return x * mask / (1 - p)      # E[output] = x, so evaluation needs no rescaling


def inverted_dropout(x, p, training=True, generator=None):
    """What nn.Dropout(p) does: random mask in training, identity in evaluation."""
    check_tensor(x, "x")
    check_number(p, "p", low=0, high=1)
    if not training or p == 0:
        return x
    return dropout_with_mask(x, keep_mask(x.shape, p, generator, x.device), p)
# --8<-- [end:dropout]


# --8<-- [start:dropconnect]
def dropconnect_linear(x, weight, bias, mask, p):
    """DropConnect (Wan et al. 2013): mask individual *weights*, not units; rescaled by 1/(1-p)."""
    check_tensor(x, "x", min_ndim=1)
    check_tensor(weight, "weight", ndim=2)
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"weight expects {weight.shape[1]} inputs, got x with {x.shape[-1]}")
    if not isinstance(mask, torch.Tensor) or mask.shape != weight.shape:
        raise ValueError("mask must be a tensor with the shape of weight")
    if bias is not None:
        check_tensor(bias, "bias", ndim=1)
    masked = dropout_with_mask(weight, mask, p)  # the same Bernoulli trick, applied to W
    out = x @ masked.T
    return out if bias is None else out + bias
# --8<-- [end:dropconnect]
