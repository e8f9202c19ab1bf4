"""Regularization: L1/L2 penalties, weight decay, dropout and DropConnect, written from their definitions."""
import torch

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_same_shape, check_tensor


def _check_design(X, y):
    check_tensor(X, "X", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_one_per_row(y, "y", X, "X")


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


# --8<-- [start:map]
def neg_log_posterior(w, X, y, noise_std, prior, prior_scale):
    """-log p(w | X, y) up to a constant, for y ~ N(X w, noise_std^2 I) and i.i.d. priors on w:
    prior="gaussian" (std tau = prior_scale):  ||y - X w||^2 / (2 s^2) + ||w||^2 / (2 tau^2);
    prior="laplace"  (scale b = prior_scale):  ||y - X w||^2 / (2 s^2) + ||w||_1 / b."""
    _check_design(X, y)
    check_tensor(w, "w", ndim=1)
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w must have one entry per column of X ({X.shape[1]}), got {w.shape[0]}")
    check_number(noise_std, "noise_std", low=0, low_open=True)
    check_number(prior_scale, "prior_scale", low=0, low_open=True)
    fit = (y - X @ w).pow(2).sum() / (2 * noise_std ** 2)       # -log likelihood
    if prior == "gaussian":
        return fit + w.pow(2).sum() / (2 * prior_scale ** 2)     # -log N(0, tau^2) prior
    if prior == "laplace":
        return fit + w.abs().sum() / prior_scale                 # -log Laplace(0, b) prior
    raise ValueError(f"prior must be 'gaussian' or 'laplace', got {prior!r}")


def ridge_lambda_for_gaussian_prior(noise_std, prior_std):
    """ridge_fit(X, y, lam) is the MAP estimate under w_j ~ N(0, tau^2) when lam = s^2 / tau^2."""
    check_number(noise_std, "noise_std", low=0, low_open=True)
    check_number(prior_std, "prior_std", low=0, low_open=True)
    return noise_std ** 2 / prior_std ** 2   # multiply the posterior by 2 s^2: ||y - Xw||^2 + (s^2/tau^2)||w||^2


def lasso_alpha_for_laplace_prior(noise_std, prior_scale, n):
    """ista_lasso(X, y, alpha), loss ||y - Xw||^2 / (2n), is the MAP estimate under w_j ~ Laplace(0, b)
    when alpha = s^2 / (n b)."""
    check_number(noise_std, "noise_std", low=0, low_open=True)
    check_number(prior_scale, "prior_scale", low=0, low_open=True)
    check_positive_int(n, "n")
    return noise_std ** 2 / (n * prior_scale)  # multiply the posterior by s^2 / n
# --8<-- [end:map]


# --8<-- [start:elastic-net]
def elastic_net_prox(w, l1, l2):
    """argmin_u 1/2 (u - w)^2 + l1 |u| + (l2 / 2) u^2: soft-threshold at l1, then divide by 1 + l2."""
    check_tensor(w, "w")
    check_number(l1, "l1", low=0)
    check_number(l2, "l2", low=0)
    return soft_threshold(w, l1) / (1 + l2)


def ista_elastic_net(X, y, alpha, l1_ratio, steps=3000):
    """Minimize ||y - X w||^2 / (2n) + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2)
    (scikit-learn's ElasticNet objective; Zou & Hastie 2005) by proximal gradient steps."""
    _check_design(X, y)
    check_number(alpha, "alpha", low=0)
    check_number(l1_ratio, "l1_ratio", low=0, high=1)
    check_positive_int(steps, "steps")
    n = X.shape[0]
    step = n / torch.linalg.matrix_norm(X, ord=2) ** 2  # 1/L of the least-squares part
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    for _ in range(steps):
        grad = X.T @ (X @ w - y) / n
        w = elastic_net_prox(w - step * grad, float(step * alpha * l1_ratio),
                             float(step * alpha * (1 - l1_ratio)))
    return w
# --8<-- [end:elastic-net]


# --8<-- [start:stochastic-depth]
def stochastic_depth(x, p, mode="row", training=True, generator=None):
    """Zero the whole tensor with probability p per sample (mode="row") or for the whole batch
    ("batch") and divide the survivors by 1 - p; the identity in evaluation (the definition of
    torchvision.ops.stochastic_depth)."""
    check_tensor(x, "x", min_ndim=1)
    check_number(p, "p", low=0, high=1)
    if mode not in ("row", "batch"):
        raise ValueError(f"mode must be 'row' or 'batch', got {mode!r}")
    if not training or p == 0:
        return x
    shape = (x.shape[0],) + (1,) * (x.dim() - 1) if mode == "row" else (1,) * x.dim()
    keep = keep_mask(shape, p, generator, x.device)  # one coin per sample (row) or one in all (batch)
    if p == 1:
        return torch.zeros_like(x)
    return x * keep / (1 - p)


def stochastic_depth_block(x, branch_out, p, training=True, scale_at_test=False, generator=None):
    """Residual block with stochastic depth (Huang et al. 2016): the skip path x is always kept, the
    branch f(x) is dropped per sample with probability p. scale_at_test=False: inverted (survivors
    divided by 1 - p in training); True: the paper's form (no rescaling in training, f(x) * (1 - p) at test)."""
    check_tensor(x, "x", min_ndim=1)
    check_tensor(branch_out, "branch_out", min_ndim=1)
    check_same_shape(x, "x", branch_out, "branch_out")
    check_number(p, "p", low=0, high=1)
    if not scale_at_test:
        return x + stochastic_depth(branch_out, p, "row", training, generator)
    if not training:
        return x + (1 - p) * branch_out                 # every block, weighted by its survival probability
    keep = keep_mask((x.shape[0],) + (1,) * (x.dim() - 1), p, generator, x.device)
    return x + keep * branch_out


def linear_decay_survival(num_blocks, p_last=0.5):
    """Survival probabilities 1 - (l / L)(1 - p_L) of blocks l = 1..L (Huang et al. 2016, linear decay)."""
    check_positive_int(num_blocks, "num_blocks")
    check_number(p_last, "p_last", low=0, high=1)
    l = torch.arange(1, num_blocks + 1, dtype=torch.float64)
    return 1 - l / num_blocks * (1 - p_last)
# --8<-- [end:stochastic-depth]


# --8<-- [start:recalibrate-bn]
def recalibrate_batchnorm(model, batches):
    """Re-estimate every BatchNorm's running mean and variance with dropout switched off, so that
    they match what BN sees at test time (the train/test "variance shift" of Li et al. 2019)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batches = list(batches)
    if not batches:
        raise ValueError("batches must hold at least one input batch")
    for i, x in enumerate(batches):
        check_tensor(x, f"batches[{i}]")
    modes = {m: m.training for m in model.modules()}
    # _BatchNorm: the common base of BatchNorm1d/2d/3d and SyncBatchNorm (not of the instance/layer norms)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = {m: m.momentum for m in norms}
    model.eval()                        # dropout off (and every other layer in inference mode) ...
    for m in norms:
        m.reset_running_stats()
        m.momentum = None               # ... a plain average over the batches, not an exponential one
        m.train()                       # ... and BN updating its statistics
    try:
        with torch.no_grad():
            for x in batches:
                model(x)
    finally:
        for m in norms:
            m.momentum = momenta[m]
        for m, training in modes.items():
            m.train(training)
    return model
# --8<-- [end:recalibrate-bn]


# --8<-- [start:mc-dropout]
_DROPOUT_LAYERS = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
                   torch.nn.AlphaDropout, torch.nn.FeatureAlphaDropout)


def mc_dropout_predict(model, x, num_samples):
    """MC dropout (Gal & Ghahramani 2016): num_samples stochastic passes with the dropout layers in
    training mode and every other layer (BatchNorm included) in eval mode; returns the mean and the
    (unbiased) variance of the outputs over the passes."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x")
    check_positive_int(num_samples, "num_samples")
    if num_samples < 2:
        raise ValueError(f"num_samples must be >= 2 for a variance, got {num_samples}")
    modes = {m: m.training for m in model.modules()}
    model.eval()                        # BN uses its running statistics, not the batch's
    for m in model.modules():
        if isinstance(m, _DROPOUT_LAYERS):
            m.train()                   # only dropout stays random
    try:
        with torch.no_grad():
            outs = torch.stack([model(x) for _ in range(num_samples)])
    finally:
        for m, training in modes.items():
            m.train(training)
    return outs.mean(0), outs.var(0)
# --8<-- [end:mc-dropout]
