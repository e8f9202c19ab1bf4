"""Why training fails to converge: the step-size limit 2/L, and the one-batch overfitting test."""
import torch

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


# --8<-- [start:quadratic]
def gradient_descent_quadratic(a, x0, lr, steps):
    """Iterates of x <- x - lr * A x on f(x) = x^T A x / 2; row t is x_t (Nesterov 2004, sec. 1.2.3)."""
    check_tensor(a, "a", ndim=2)
    check_tensor(x0, "x0", ndim=1)
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    if a.shape != (x0.shape[0], x0.shape[0]):
        raise ValueError(f"a must have shape ({x0.shape[0]}, {x0.shape[0]}), got {tuple(a.shape)}")
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * (a @ xs[-1]))  # the gradient of x^T A x / 2 is A x
    return torch.stack(xs)


def max_stable_lr(a):
    """2 / lambda_max(A): along the top eigenvector each step multiplies the error by 1 - lr * lambda_max."""
    check_tensor(a, "a", ndim=2)
    if a.shape[0] != a.shape[1] or not torch.equal(a, a.T):
        raise ValueError(f"a must be a symmetric square matrix, got shape {tuple(a.shape)}")
    return 2 / torch.linalg.eigvalsh(a).max().item()
# --8<-- [end:quadratic]


# --8<-- [start:loop]
def sgd_loop(param, loss_fn, lr, steps, zero_grad=True):
    """Plain torch.optim.SGD on one tensor; returns the losses. zero_grad=False reproduces a common bug."""
    check_tensor(param, "param")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    check_number(lr, "lr", low=0, low_open=True)
    check_positive_int(steps, "steps")
    opt = torch.optim.SGD([param], lr=lr)
    losses = []
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()       # without this, .backward() ADDS to the gradient of every earlier step
        loss = loss_fn(param)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
# --8<-- [end:loop]


# --8<-- [start:overfit]
def overfit_one_batch(model, x, y, loss_fn, steps=300, lr=1e-2):
    """Train on one fixed batch with Adam; a healthy pipeline drives this loss to ~0 (Karpathy 2019)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", min_ndim=2)
    check_tensor(y, "y", floating=False)
    check_one_per_row(y, "y", x, "x", what="labels")
    check_positive_int(steps, "steps")
    check_number(lr, "lr", low=0, low_open=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
# --8<-- [end:overfit]
