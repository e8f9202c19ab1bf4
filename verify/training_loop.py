"""Checks for docs/*/training_loop.md. Oracles: autograd, finite differences written here, torch.optim, np.roots."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import training_loop as tl
from verify._registry import check

D_IN, HIDDEN, CLASSES, BATCH = 4, 5, 3, 7


def _problem(t, batch=BATCH):
    """Random inputs, one-hot labels and parameters of a 4 -> 5 (tanh) -> 3 (softmax) network."""
    x = t.randn(batch, D_IN, stream=0)
    labels = torch.randint(0, CLASSES, (batch,), generator=t.generator(1))
    y = F.one_hot(labels, CLASSES).to(t.device, t.dtype)
    shapes = {"w1": (D_IN, HIDDEN), "b1": (HIDDEN,), "w2": (HIDDEN, CLASSES), "b2": (CLASSES,)}
    params = {name: t.randn(*shape, stream=2 + i) * 0.7 for i, (name, shape) in enumerate(shapes.items())}
    return x, y, labels.to(t.device), params


def _loss(x, y, params):
    """The loss written with torch built-ins only (independent of the snippet)."""
    a1 = torch.tanh(x @ params["w1"] + params["b1"])
    return F.cross_entropy(a1 @ params["w2"] + params["b2"], y.argmax(dim=1))


def _autograd(x, y, params):
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    _loss(x, y, leaves).backward()
    return {k: v.grad for k, v in leaves.items()}


def _wrong_backward(logits, cache, y, params):
    """A plausible bug: forgetting the tanh derivative (1 - a1^2) in the hidden layer."""
    dz2 = (torch.softmax(logits, 1) - y) / y.shape[0]
    dz1 = dz2 @ params["w2"].T
    return {"w1": cache["x"].T @ dz1, "b1": dz1.sum(0), "w2": cache["a1"].T @ dz2, "b2": dz2.sum(0)}


@check("training_loop.backprop-matches-autograd", dtypes=("float32", "float64"))
def backprop_matches_autograd(t):
    """Hand-derived dW1, db1, dW2, db2 of the MLP equal autograd's; the loss equals F.cross_entropy."""
    x, y, labels, params = _problem(t)
    logits, cache = tl.mlp_forward(x, params)
    # float32: a few dozen roundings of O(1) numbers, eps 1.2e-7 -> 1e-6 absolute is ~10x the observed error
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))
    assert_close(tl.cross_entropy(logits, y), F.cross_entropy(logits, labels), **tol)
    grads, auto = tl.mlp_backward(logits, cache, y, params), _autograd(x, y, params)
    for name in tl.PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        assert_close(grads[name], auto[name], **tol)
    # the comparison is sharp enough to catch a missing tanh derivative
    wrong = _wrong_backward(logits, cache, y, params)
    assert (wrong["w1"] - auto["w1"]).abs().max() > 1e-3
    # a logit gap of 1000 (float32 and float64): log(softmax(z)) would be log 0 = -inf there, so a loss
    # written that way is caught; the logsumexp form gives the exact 500 = mean(1000, 0), like F.cross_entropy
    far = t.put([[0.0, 1000.0, 0.0], [1000.0, 0.0, 0.0]])
    far_y = t.put([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert not torch.isfinite(-(far_y * torch.log(torch.softmax(far, 1))).sum(1).mean())  # -inf, or NaN from 0 * -inf
    assert tl.cross_entropy(far, far_y).item() == 500.0 == F.cross_entropy(far, far_y.argmax(1)).item()


def _central(f, w, h):
    """Central differences, written here independently of snippets.training_loop.numerical_gradient."""
    out = torch.empty(w.numel(), dtype=torch.float64)
    base = w.detach().reshape(-1)
    for i in range(base.numel()):
        e = torch.zeros_like(base)
        e[i] = h
        out[i] = (f((base + e).view_as(w)) - f((base - e).view_as(w))) / (2 * h)
    return out.view_as(w).to(w)


def _forward_diff(f, w, h):
    out = torch.empty(w.numel(), dtype=torch.float64)
    base, f0 = w.detach().reshape(-1), f(w)
    for i in range(base.numel()):
        e = torch.zeros_like(base)
        e[i] = h
        out[i] = (f((base + e).view_as(w)) - f0) / h
    return out.view_as(w).to(w)


@check("training_loop.finite-differences-agree")
def finite_differences_agree(t):
    """Central differences reproduce the hand-written gradients (error O(h^2)); a wrong backward is caught."""
    x, y, _, params = _problem(t)
    logits, cache = tl.mlp_forward(x, params)
    grads = tl.mlp_backward(logits, cache, y, params)
    wrong = _wrong_backward(logits, cache, y, params)

    def loss_with(name):
        return lambda w: _loss(x, y, {**params, name: w}).item()

    num = {name: _central(loss_with(name), params[name], 1e-6) for name in tl.PARAM_NAMES}
    for name in tl.PARAM_NAMES:
        # truncation h^2 |f'''|/6 ~ 1e-13 and rounding eps|f|/h ~ 1e-10: 1e-8 leaves a 100x margin
        assert_close(grads[name], num[name], rtol=1e-6, atol=1e-8)
    for name in ("w1", "b2"):  # the snippet's gradient checker, on one weight and one bias
        assert_close(tl.numerical_gradient(loss_with(name), params[name]), num[name], rtol=1e-6, atol=1e-8)
    fd_err = torch.stack([(grads[n] - num[n]).abs().max() for n in tl.PARAM_NAMES]).max()
    bug_err = (wrong["w1"] - num["w1"]).abs().max()
    assert torch.isfinite(fd_err) and torch.isfinite(bug_err)
    t.record("fd_err_x1e10", fd_err * 1e10)
    t.record("bug_err", bug_err)
    # seeds 0-19: the finite-difference error was 1e-10 to 5e-10, the bug's 0.17-1.06
    assert fd_err < 1e-8 and bug_err > 1e-3
    # why central: shrinking h by 10 cuts its error ~100x (O(h^2)), a one-sided difference's only ~10x (O(h)).
    # Measured over seeds 0-19: central ratio 99.996-100.009, forward ratio 9.987-10.010.
    f = loss_with("w2")
    err = {(kind, h): (diff(f, params["w2"], h) - grads["w2"]).abs().max().item()
           for kind, diff in (("central", _central), ("forward", _forward_diff)) for h in (1e-2, 1e-3)}
    central = t.record("central_ratio", err["central", 1e-2] / err["central", 1e-3])
    forward = t.record("forward_ratio", err["forward", 1e-2] / err["forward", 1e-3])
    assert 99 < central < 101 and 9.9 < forward < 10.1
    # the error messages report the sizes that were expected and passed (D_IN = 4, HIDDEN = 5, CLASSES = 3)
    for call, text in ((lambda: tl.train(x[:, :3], y, params, 0.1, 1), "x has 3 features but params['w1'] expects 4"),
                       (lambda: tl.train(x[:2], y[:2, :2], params, 0.1, 1), "of shape (2, 3), got (2, 2)"),
                       (lambda: tl.numerical_gradient("f", params["w1"]), "got str")):
        with pytest.raises((TypeError, ValueError), match=re.escape(text)):
            call()


class _MLP(nn.Module):
    def __init__(self, params):
        super().__init__()
        kw = dict(device=params["w1"].device, dtype=params["w1"].dtype)  # copy_ into float32 would round
        self.fc1, self.fc2 = nn.Linear(D_IN, HIDDEN, **kw), nn.Linear(HIDDEN, CLASSES, **kw)
        with torch.no_grad():  # nn.Linear stores W as (out, in): transpose the snippet's (in, out)
            self.fc1.weight.copy_(params["w1"].T)
            self.fc1.bias.copy_(params["b1"])
            self.fc2.weight.copy_(params["w2"].T)
            self.fc2.bias.copy_(params["b2"])

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


@check("training_loop.loop-matches-torch-optim", dtypes=("float32", "float64"))
def loop_matches_torch_optim(t):
    """The hand-written loop equals PyTorch's zero_grad / forward / loss / backward / step, step for step."""
    x, y, labels, params = _problem(t, batch=32)
    lr, steps = 0.1, 20
    final, losses = tl.train(x, y, params, lr, steps)
    model = _MLP(params)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    torch_losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
    # float32: 20 steps of the same arithmetic in a different order; observed differences ~1e-7
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-13, f32=1e-6))
    assert_close(torch.tensor(losses, dtype=torch.float64), torch.tensor(torch_losses, dtype=torch.float64), **tol)
    assert_close(final["w1"], model.fc1.weight.detach().T, **tol)
    assert_close(final["b1"], model.fc1.bias.detach(), **tol)
    assert_close(final["w2"], model.fc2.weight.detach().T, **tol)
    assert_close(final["b2"], model.fc2.bias.detach(), **tol)


@check("training_loop.gd-decreases-loss", kind="demonstration")
def gd_decreases_loss(t):
    """Full-batch gradient descent with a small step lowers the training loss at every step (toy problem)."""
    x, y, _, params = _problem(t, batch=32)
    _, losses = tl.train(x, y, params, 0.1, 50)
    diffs = np.diff(losses)
    # Measured over seeds 0-19: the largest single-step change was -5.8e-4 (always a decrease) and the
    # loss fell by 15-63 % in 50 steps; the asserts keep a margin on both.
    assert (diffs < 0).all()
    assert losses[-1] < 0.95 * losses[0]
    t.record("drop_percent", 100 * (1 - losses[-1] / losses[0]))


def _descend(w0, device, steps=150, lr=0.02):
    w = torch.tensor(w0, dtype=torch.float64, device=device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        (w ** 4 - 3 * w ** 2 + w).backward()
        opt.step()
    return w.item()


@check("training_loop.init-dependent-minimum")
def init_dependent_minimum(t):
    """Gradient descent stops at a stationary point that depends on the start, not at 'the' minimum."""
    f = lambda w: w ** 4 - 3 * w ** 2 + w  # noqa: E731
    roots = np.sort(np.roots([4, 0, -6, 1]).real)  # f'(w) = 4w^3 - 6w + 1: minima at the outer roots
    w_right, w_left = _descend(2.0, t.device), _descend(-2.0, t.device)
    assert abs(w_right - roots[2]) < 1e-9 and abs(w_left - roots[0]) < 1e-9
    for w in (w_right, w_left):  # both are true local minima: f' = 0, f'' > 0
        assert abs(4 * w ** 3 - 6 * w + 1) < 1e-8 and 12 * w ** 2 - 6 > 0
    assert f(w_right) > f(w_left) + 2  # -1.070 vs -3.514: started on the right, GD never sees the global one
    for name, v in (("w_right", w_right), ("w_left", w_left), ("f_right", f(w_right)), ("f_left", f(w_left)),
                    ("f_gap", f(w_right) - f(w_left))):
        t.record(name, v)
    assert (round(w_right, 3), round(w_left, 3)) == (1.131, -1.301)
    assert (round(f(w_right), 2), round(f(w_left), 2), round(f(w_right) - f(w_left), 1)) == (-1.07, -3.51, 2.4)


@check("training_loop.gradients-accumulate")
def gradients_accumulate(t):
    """backward() adds into .grad: two calls without zero_grad give twice the gradient."""
    x, y, labels, params = _problem(t)
    model = _MLP(params)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(model(x), labels).backward()
    once = model.fc1.weight.grad.clone()
    F.cross_entropy(model(x), labels).backward()
    assert_close(model.fc1.weight.grad, 2 * once, rtol=1e-15, atol=0)
    opt.zero_grad()  # default set_to_none=True since PyTorch 2.0
    assert all(p.grad is None for p in model.parameters())
    # accumulation over m micro-batches: loss / m gives the full-batch mean gradient for EQUAL sizes ...
    xb, yb, lb, _ = _problem(t, batch=24)
    full = torch.autograd.grad(F.cross_entropy(model(xb), lb), model.fc1.weight)[0]

    def accumulated(bounds, weights):
        opt.zero_grad()
        for (a, b), wgt in zip(bounds, weights):
            (F.cross_entropy(model(xb[a:b]), lb[a:b]) * wgt).backward()
        return model.fc1.weight.grad.clone()
    equal = [(0, 6), (6, 12), (12, 18), (18, 24)]
    assert_close(accumulated(equal, [1 / 4] * 4), full, rtol=1e-12, atol=1e-15)
    # ... but not for unequal ones (8 and 16 examples): then each loss needs the weight n_i / N
    unequal = [(0, 8), (8, 24)]
    assert (accumulated(unequal, [1 / 2, 1 / 2]) - full).abs().max() > 1e-3
    assert_close(accumulated(unequal, [8 / 24, 16 / 24]), full, rtol=1e-12, atol=1e-15)
    # and not with BatchNorm: each micro-batch is normalized with its own statistics
    t.seed_modules()
    bn_net = nn.Sequential(nn.Linear(D_IN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.Tanh(),
                           nn.Linear(HIDDEN, CLASSES)).to(t.device, t.dtype)
    bn_full = torch.autograd.grad(F.cross_entropy(bn_net(xb), lb), bn_net[0].weight)[0]
    bn_net.zero_grad()
    for a, b in equal:
        (F.cross_entropy(bn_net(xb[a:b]), lb[a:b]) / 4).backward()
    assert (bn_net[0].weight.grad - bn_full).abs().max() > 1e-3
