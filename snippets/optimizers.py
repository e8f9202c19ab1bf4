"""Gradient-descent optimizers written from their update rules, one step at a time.

Every `*_step` function takes the parameter, its gradient and a `state` dict that it updates in place
(the running sums and averages), and returns the new parameter. The formulas follow the papers and the
PyTorch documentation of `torch.optim`; where the two differ (where epsilon sits) we follow PyTorch.
"""
import math

import torch

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor


def _check_step_args(param, grad, state, lr):
    check_tensor(param, "param")
    check_tensor(grad, "grad")
    check_same_shape(param, "param", grad, "grad")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    check_number(lr, "lr", low=0, low_open=True)


# --8<-- [start:sgd]
def sgd_step(param, grad, state, lr):
    """Plain (mini-batch) SGD: theta <- theta - lr * g, one rate for every coordinate.

    `state` is unused (plain SGD remembers nothing); it keeps the signature of the other steps.
    """
    _check_step_args(param, grad, state, lr)
    return param - lr * grad
# --8<-- [end:sgd]


# --8<-- [start:momentum]
def momentum_step(param, grad, state, lr, momentum=0.9, nesterov=False):
    """Heavy ball (Polyak 1964) in PyTorch's form: v <- mu v + g; theta <- theta - lr v.

    With nesterov=True the step uses g + mu v instead of v: PyTorch's rewriting of Nesterov's
    look-ahead gradient (Sutskever et al. 2013, eq. 3-4) in the shifted variable theta + mu v.
    """
    _check_step_args(param, grad, state, lr)
    check_number(momentum, "momentum", low=0, high=1)
    # The first step starts the buffer at g (PyTorch), not at (1 - mu) g: no dampening.
    buf = grad.clone() if "buf" not in state else momentum * state["buf"] + grad
    state["buf"] = buf
    direction = grad + momentum * buf if nesterov else buf
    return param - lr * direction
# --8<-- [end:momentum]


# --8<-- [start:adagrad]
def adagrad_step(param, grad, state, lr=0.01, eps=1e-10):
    """AdaGrad (Duchi, Hazan & Singer 2011): divide by the root of the *sum* of all squared gradients."""
    _check_step_args(param, grad, state, lr)
    check_number(eps, "eps", low=0)
    state["sum"] = state.get("sum", torch.zeros_like(grad)) + grad * grad  # G_t only grows
    return param - lr * grad / (state["sum"].sqrt() + eps)  # eps outside the root, as in PyTorch
# --8<-- [end:adagrad]


# --8<-- [start:rmsprop]
def rmsprop_step(param, grad, state, lr=0.01, alpha=0.99, eps=1e-8):
    """RMSprop (Tieleman & Hinton 2012): an exponential moving *average* of g^2 replaces AdaGrad's sum."""
    _check_step_args(param, grad, state, lr)
    check_number(alpha, "alpha", low=0, high=1)
    check_number(eps, "eps", low=0)
    state["square_avg"] = alpha * state.get("square_avg", torch.zeros_like(grad)) + (1 - alpha) * grad * grad
    return param - lr * grad / (state["square_avg"].sqrt() + eps)
# --8<-- [end:rmsprop]


# --8<-- [start:adadelta]
def adadelta_step(param, grad, state, lr=1.0, rho=0.9, eps=1e-6):
    """AdaDelta (Zeiler 2012, Algorithm 1): step = RMS[dx]_{t-1} / RMS[g]_t * g; lr = 1 is the paper."""
    _check_step_args(param, grad, state, lr)
    check_number(rho, "rho", low=0, high=1)
    check_number(eps, "eps", low=0, low_open=True)
    zeros = torch.zeros_like(grad)
    state["square_avg"] = rho * state.get("square_avg", zeros) + (1 - rho) * grad * grad  # E[g^2]_t
    # The numerator RMS[dx]_{t-1} takes the place of RMSprop's global learning rate; eps seeds it.
    delta = (state.get("acc_delta", zeros) + eps).sqrt() / (state["square_avg"] + eps).sqrt() * grad
    state["acc_delta"] = rho * state.get("acc_delta", zeros) + (1 - rho) * delta * delta  # E[dx^2]_t
    return param - lr * delta
# --8<-- [end:adadelta]


# --8<-- [start:adam]
def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Adam (Kingma & Ba 2015, Algorithm 1): bias-corrected moving averages of g and g^2."""
    _check_step_args(param, grad, state, lr)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of numbers, got {betas!r}")
    beta1, beta2 = betas
    for i, beta in enumerate(betas):
        check_number(beta, f"betas[{i}]", low=0, high=1)
        if beta == 1:  # the bias correction 1 - beta^t would divide by zero
            raise ValueError(f"betas[{i}] must be < 1, got {beta}")
    check_number(eps, "eps", low=0)
    t = state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state.get("m", torch.zeros_like(grad)) + (1 - beta1) * grad        # 1st moment
    state["v"] = beta2 * state.get("v", torch.zeros_like(grad)) + (1 - beta2) * grad * grad  # 2nd (uncentred)
    # m and v start at 0, so early averages are biased towards 0; dividing by 1 - beta^t removes that.
    m_hat = state["m"] / (1 - beta1 ** t)
    v_hat = state["v"] / (1 - beta2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps)
# --8<-- [end:adam]


# --8<-- [start:run]
def optimize(step, grad_fn, start, num_steps, **hyper):
    """Run `step` for num_steps from `start`; return the trajectory, shape (num_steps + 1, *start.shape)."""
    if not callable(step):
        raise TypeError(f"step must be callable, got {type(step).__name__}")
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be callable, got {type(grad_fn).__name__}")
    check_tensor(start, "start")
    check_positive_int(num_steps, "num_steps")
    state, theta, path = {}, start.clone(), [start.clone()]
    for _ in range(num_steps):
        g = grad_fn(theta)
        theta = step(theta, g, state, **hyper)
        path.append(theta)
    return torch.stack(path)
# --8<-- [end:run]


# --8<-- [start:problems]
def quadratic_grad(theta, curvatures):
    """Gradient of f(theta) = 1/2 sum_i h_i theta_i^2: an axis-aligned quadratic with condition max h / min h."""
    check_tensor(theta, "theta")
    check_tensor(curvatures, "curvatures")
    check_same_shape(theta, "theta", curvatures, "curvatures")
    return curvatures * theta


def saddle_grad(theta):
    """Gradient of f(x, y) = x^2/2 - y^2/2 + y^4/4: a saddle at (0, 0), minima at (0, +-1)."""
    check_tensor(theta, "theta")
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta must have a last dimension of size 2, got shape {tuple(theta.shape)}")
    x, y = theta[..., 0], theta[..., 1]
    return torch.stack([x, -y + y ** 3], dim=-1)


def polyak_heavy_ball(l_min, l_max):
    """Optimal (lr, momentum) of the heavy ball on a quadratic with curvatures in [l_min, l_max] (Polyak 1964)."""
    check_number(l_min, "l_min", low=0, low_open=True)
    check_number(l_max, "l_max", low=l_min)
    lr = 4 / (math.sqrt(l_max) + math.sqrt(l_min)) ** 2
    root_kappa = math.sqrt(l_max / l_min)
    return lr, ((root_kappa - 1) / (root_kappa + 1)) ** 2
# --8<-- [end:problems]


# --8<-- [start:adamw]
def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """AdamW as in torch.optim.AdamW: theta <- theta (1 - lr * wd), then Adam's step on the loss gradient alone.

    The decay is multiplied by the *current* lr, so a schedule (or a retuned lr) scales it too. Loshchilov &
    Hutter (2019, Alg. 2) write theta <- theta - eta_t (alpha * adam_direction + lambda theta), with the schedule
    multiplier eta_t but without the base rate alpha in front of lambda: lambda_paper = lr * weight_decay / eta_t.
    """
    _check_step_args(param, grad, state, lr)
    check_number(weight_decay, "weight_decay", low=0)
    decayed = param * (1 - lr * weight_decay)  # decoupled: never enters m or v
    return adam_step(decayed, grad, state, lr=lr, betas=betas, eps=eps)
# --8<-- [end:adamw]


# --8<-- [start:ema]
def ema_update(ema, params, decay=0.999):
    """One EMA step of the weights, ema <- decay * ema + (1 - decay) * param, for lists of tensors.

    This is what torch.optim.swa_utils.get_ema_multi_avg_fn(decay) does after AveragedModel's first update,
    which copies the weights. The average spans about 1 / (1 - decay) steps.
    """
    if not isinstance(ema, (list, tuple)) or not ema:
        raise TypeError("ema must be a non-empty list of tensors")
    if not isinstance(params, (list, tuple)) or len(params) != len(ema):
        raise TypeError(f"params must be a list of {len(ema)} tensors, like ema")
    for i, (e, p) in enumerate(zip(ema, params)):
        check_tensor(e, f"ema[{i}]")
        check_tensor(p, f"params[{i}]")
        check_same_shape(e, f"ema[{i}]", p, f"params[{i}]")
    check_number(decay, "decay", low=0, high=1)
    return [decay * e + (1 - decay) * p for e, p in zip(ema, params)]


def sgd_ema_second_moments(lr, curvature, decay, steps, x0, noise_std=1.0):
    """E[x_t^2] of SGD on f = a x^2 / 2 with gradient noise s^2, and E[y_t^2] of its EMA y (y_0 = x_0).

    x' = rho x - lr xi with rho = 1 - lr a; y' = decay y + (1 - decay) x'. The noise xi is independent of x and y,
    so E[x' y] = rho E[x y], and the three second moments follow one another exactly.
    """
    check_number(lr, "lr", low=0, low_open=True)
    check_number(curvature, "curvature", low=0, low_open=True)
    check_number(decay, "decay", low=0, high=1)
    check_positive_int(steps, "steps")
    check_number(x0, "x0")
    check_number(noise_std, "noise_std", low=0)
    rho, b = 1 - lr * curvature, decay
    xx = yy = xy = x0 ** 2
    out_x, out_y = [xx], [yy]
    for _ in range(steps):
        xx_new = rho ** 2 * xx + lr ** 2 * noise_std ** 2     # E[x'^2]
        xpy = rho * xy                                        # E[x' y]
        yy = b ** 2 * yy + 2 * b * (1 - b) * xpy + (1 - b) ** 2 * xx_new
        xy = b * xpy + (1 - b) * xx_new                       # E[x' y']
        xx = xx_new
        out_x.append(xx)
        out_y.append(yy)
    return out_x, out_y
# --8<-- [end:ema]


def _check_newton_args(theta, grad, hessian):
    check_tensor(theta, "theta", ndim=1)
    check_tensor(grad, "grad", ndim=1)
    check_same_shape(theta, "theta", grad, "grad")
    check_tensor(hessian, "hessian", ndim=2)
    if hessian.shape != (theta.shape[0], theta.shape[0]):
        raise ValueError(f"hessian must have shape {(theta.shape[0], theta.shape[0])}, got {tuple(hessian.shape)}")


# --8<-- [start:newton]
def newton_step(theta, grad, hessian, damping=0.0):
    """theta - (H + damping I)^-1 g: the minimiser of the local quadratic model when H is positive definite."""
    _check_newton_args(theta, grad, hessian)
    check_number(damping, "damping", low=0)
    eye = torch.eye(theta.shape[0], dtype=hessian.dtype, device=hessian.device)
    return theta - torch.linalg.solve(hessian + damping * eye, grad)


def saddle_free_newton_step(theta, grad, hessian):
    """theta - |H|^-1 g with |H| = V |Lambda| V^T (Dauphin et al. 2014): negative curvature pushes away, not towards."""
    _check_newton_args(theta, grad, hessian)
    evals, evecs = torch.linalg.eigh(hessian)
    return theta - evecs @ ((evecs.T @ grad) / evals.abs())
# --8<-- [end:newton]
