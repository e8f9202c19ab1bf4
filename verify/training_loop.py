"""Checks for docs/*/training_loop.md. Oracles: autograd, finite differences written here, torch.optim, np.roots."""
import math
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


def _descend(starts, device, steps=150, lr=0.02):
    """torch.optim.SGD on f(w) = w^4 - 3 w^2 + w from each start; the starts are the entries of one tensor and
    the loss their sum, so each entry follows its own gradient descent (the update is elementwise). The gradient
    f'(w) = 4 w^3 - 6 w + 1 is written out (a quarter of autograd's cost per step), checked against autograd
    at the starts and at the end."""
    def written_out(w):
        return 4 * w ** 3 - 6 * w + 1

    def assert_matches_autograd(w):
        leaf = w.detach().clone().requires_grad_(True)
        (leaf ** 4 - 3 * leaf ** 2 + leaf).sum().backward()
        assert_close(written_out(w), leaf.grad, rtol=1e-12, atol=1e-12)

    w = torch.tensor(starts, dtype=torch.float64, device=device)
    assert_matches_autograd(w)
    opt = torch.optim.SGD([w], lr=lr)
    for _ in range(steps):
        w.grad = written_out(w)
        opt.step()
    assert_matches_autograd(w)
    return w.tolist()


@check("training_loop.init-dependent-minimum")
def init_dependent_minimum(t):
    """Gradient descent stops at a stationary point that depends on the start, not at 'the' minimum."""
    f = lambda w: w ** 4 - 3 * w ** 2 + w  # noqa: E731
    roots = np.sort(np.roots([4, 0, -6, 1]).real)  # f'(w) = 4w^3 - 6w + 1: minima at the outer roots
    w_right, w_left = _descend([2.0, -2.0], t.device)
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
    # the older behaviour is still available: set_to_none=False writes zeros into the existing tensors
    F.cross_entropy(model(x), labels).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and (p.grad == 0).all() for p in model.parameters())


def _full_batch_grads(model, x, labels):
    """The oracle: autograd on the mean loss of the whole batch, without touching p.grad."""
    params = [p for p in model.parameters()]
    return torch.autograd.grad(F.cross_entropy(model(x), labels), params)


@check("training_loop.accumulation-equals-full-batch")
def accumulation_equals_full_batch(t):
    """k micro-batches with their losses weighted n_i/N (1/k when equal) give exactly the full-batch gradient."""
    _, _, _, params = _problem(t)
    xb, _, lb, _ = _problem(t, batch=24)
    model = _MLP(params)
    full = _full_batch_grads(model, xb, lb)
    F.cross_entropy(model(xb), lb).backward()  # stale gradients: the snippet must clear them first
    for size in (6, 10, 1, 24):  # 4 x 6 equal; 10 + 10 + 4 (a short last one); 24 x 1; one batch of 24
        tl.accumulate_gradients(model, F.cross_entropy, xb, lb, size)
        for p, g in zip(model.parameters(), full):
            assert_close(p.grad, g, rtol=1e-12, atol=1e-15)
    # the plausible wrong weight 1/k is exact only for equal sizes: 10, 10, 4 divided by 3 is off
    model.zero_grad()
    for a, b in ((0, 10), (10, 20), (20, 24)):
        (F.cross_entropy(model(xb[a:b]), lb[a:b]) / 3).backward()
    err = t.record("wrong_weight_err", (model.fc1.weight.grad - full[0]).abs().max())
    assert err > 1e-3
    # and the accumulated update is the full-batch update: one SGD step from each gives the same weights
    tl.accumulate_gradients(model, F.cross_entropy, xb, lb, 6)
    stepped = [p.detach() - 0.1 * p.grad for p in model.parameters()]
    for w, p, g in zip(stepped, model.parameters(), full):
        assert_close(w, p.detach() - 0.1 * g, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=re.escape("y must have 24 entries (one per row of x), got 23")):
        tl.accumulate_gradients(model, F.cross_entropy, xb, lb[:23], 6)


def _norm_net(t, norm):
    t.seed_modules()
    net = nn.Sequential(nn.Linear(D_IN, HIDDEN), norm, nn.Tanh(), nn.Linear(HIDDEN, CLASSES)).to(t.device, t.dtype)
    with torch.no_grad():  # non-trivial affine parameters, so a missing gamma or beta would show
        net[1].weight.copy_(1 + 0.5 * t.randn(HIDDEN, stream=20))
        net[1].bias.copy_(0.5 * t.randn(HIDDEN, stream=21))
    return net


@check("training_loop.accumulation-breaks-with-batchnorm")
def accumulation_breaks_with_batchnorm(t):
    """Train-mode BatchNorm normalizes each micro-batch with its own statistics, so accumulation is not the
    full batch; eval-mode BN and LayerNorm (per-example statistics) keep the equivalence exact."""
    xb, _, lb, _ = _problem(t, batch=24)
    bn_net = _norm_net(t, nn.BatchNorm1d(HIDDEN))
    full = _full_batch_grads(bn_net, xb, lb)
    tl.accumulate_gradients(bn_net, F.cross_entropy, xb, lb, 6)
    rel = t.record("bn_rel_err", (bn_net[0].weight.grad - full[0]).norm() / full[0].norm())
    assert rel > 0.05  # seeds 0-19: 0.15-0.75
    # why: in train mode an example's output depends on the batch it is normalized with, so the micro-batches'
    # outputs are not the full batch's (their mean losses can still agree by chance: within 1e-3 for seeds 54, 55)
    with torch.no_grad():
        micro = torch.cat([bn_net(xb[a:a + 6]) for a in range(0, 24, 6)])
        assert (micro - bn_net(xb)).abs().max() > 0.05  # 0.12-1.3 over seeds 0-299
    # and BN's running statistics are updated once per micro-batch (momentum 0.1, four times), not once per step
    bn = bn_net[1]
    with torch.no_grad():
        h = bn_net[0](xb)
        bn.reset_running_stats()
        bn(h)
        once = bn.running_mean.clone()
        bn.reset_running_stats()
        for a in range(0, 24, 6):
            bn(h[a:a + 6])
    expected = sum(0.1 * 0.9 ** (3 - i) * h[6 * i:6 * i + 6].mean(0) for i in range(4))  # recursion from 0
    assert_close(bn.running_mean, expected, rtol=1e-12, atol=1e-15)
    assert_close(once, 0.1 * h.mean(0), rtol=1e-12, atol=1e-15)
    assert (bn.running_mean - once).abs().max() > 1e-3
    # eval mode: BN is a fixed affine map per example, and the equivalence is exact again
    bn_net.eval()
    full_eval = _full_batch_grads(bn_net, xb, lb)
    tl.accumulate_gradients(bn_net, F.cross_entropy, xb, lb, 6)
    for p, g in zip(bn_net.parameters(), full_eval):
        assert_close(p.grad, g, rtol=1e-12, atol=1e-15)
    # LayerNorm normalizes each example on its own: exact in training mode
    ln_net = _norm_net(t, nn.LayerNorm(HIDDEN))
    full_ln = _full_batch_grads(ln_net, xb, lb)
    tl.accumulate_gradients(ln_net, F.cross_entropy, xb, lb, 6)
    for p, g in zip(ln_net.parameters(), full_ln):
        assert_close(p.grad, g, rtol=1e-12, atol=1e-15)


def _bn_dropout_net(t, p=0.5):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear, with running statistics that are not 0 and 1."""
    t.seed_modules()
    net = nn.Sequential(nn.Linear(D_IN, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(p),
                        nn.Linear(8, CLASSES)).to(t.device, t.dtype)
    with torch.no_grad():
        net[1].running_mean.copy_(0.5 * t.randn(8, stream=30))
        net[1].running_var.copy_(0.5 + t.rand(8, stream=31))
        net[1].weight.copy_(1 + 0.5 * t.randn(8, stream=32))
        net[1].bias.copy_(0.5 * t.randn(8, stream=33))
    return net


def _eval_forward(net, x):
    """The eval-mode network written out: BN with its running statistics, dropout the identity."""
    lin1, bn, _, _, lin2 = net
    h = x @ lin1.weight.T + lin1.bias
    h = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    return torch.relu(h) @ lin2.weight.T + lin2.bias


@check("training_loop.eval-mode-effects", dtypes=("float32", "float64"))
def eval_mode_effects(t):
    """eval() switches dropout off and BN to its running statistics; it does not stop gradients.
    evaluate() gives the eval-mode loss, leaves the running statistics alone and restores the mode."""
    # float32: a handful of roundings of O(1) numbers; 1e-5 is ~50x the observed error
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))
    x, _, labels, _ = _problem(t, batch=32)
    net = _bn_dropout_net(t)
    net.eval()
    out = net(x)
    assert torch.equal(out, net(x))  # deterministic: no dropout mask is drawn
    assert_close(out, _eval_forward(net, x), **tol)
    # eval() changes no gradient behaviour: the output is in the graph and backward fills .grad
    assert out.requires_grad and out.grad_fn is not None
    F.cross_entropy(out, labels).backward()
    oracle = torch.autograd.grad(F.cross_entropy(_eval_forward(net, x), labels), net[0].weight)[0]
    assert_close(net[0].weight.grad, oracle, **tol)
    assert net[0].weight.grad.abs().max() > 1e-3
    # train mode: BN uses the batch mean and the biased variance, and updates the running statistics with
    # momentum 0.1 and the UNBIASED variance; eval mode leaves them alone
    bn = net[1]
    h = net[0](x).detach()
    rm, rv = bn.running_mean.clone(), bn.running_var.clone()
    bn.eval()
    bn(h)
    assert torch.equal(bn.running_mean, rm) and torch.equal(bn.running_var, rv)
    bn.train()
    y = bn(h)
    mean, var = h.mean(0), h.var(0, unbiased=False)
    assert_close(y, (h - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias, **tol)
    assert_close(bn.running_mean, 0.9 * rm + 0.1 * mean, **tol)
    assert_close(bn.running_var, 0.9 * rv + 0.1 * h.var(0, unbiased=True), **tol)
    assert (bn.running_var - (0.9 * rv + 0.1 * var)).abs().max() > 1e-4  # the biased variance would be wrong
    # dropout: identity in eval mode; in train mode each entry is 0 or x / (1 - p), zeros ~ Binomial(n, p)
    drop, ones = nn.Dropout(0.5), torch.ones(10_000, device=t.device, dtype=t.dtype)
    drop.eval()
    assert torch.equal(drop(ones), ones)
    drop.train()
    torch.manual_seed(t.seed)
    kept = drop(ones)
    assert ((kept == 0) | (kept == 2)).all()
    zeros = (kept == 0).sum().item()
    assert abs(zeros - 5000) < 6 * math.sqrt(10_000 * 0.25)  # 6 standard deviations of the binomial count
    # evaluate(): called in train mode, it returns the eval-mode loss and changes nothing
    net.train()
    net.zero_grad()
    rm, rv = bn.running_mean.clone(), bn.running_var.clone()
    val = tl.evaluate(net, x, labels, F.cross_entropy)
    assert isinstance(val, float)
    assert_close(torch.tensor(val, dtype=torch.float64),
                 F.cross_entropy(_eval_forward(net, x), labels).detach().double().cpu(), **tol)
    assert net.training and all(m.training for m in net.modules())  # the mode is restored
    assert torch.equal(bn.running_mean, rm) and torch.equal(bn.running_var, rv)
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    assert tl.evaluate(net, x, labels, F.cross_entropy) == val and not net.training  # eval stays eval
    # the common bug, evaluating under no_grad but in train mode: other outputs, and the statistics move
    net.train()
    with torch.no_grad():
        wrong = net(x)
    assert (wrong - _eval_forward(net, x)).abs().max() > 1e-2 and (bn.running_mean - rm).abs().max() > 1e-3


@check("training_loop.no-grad-effects")
def no_grad_effects(t):
    """no_grad records no graph (requires_grad False, no grad_fn) but leaves dropout and BN as they are;
    inference_mode gives the same values in tensors that can never enter autograd."""
    x, _, labels, _ = _problem(t, batch=32)
    net = _bn_dropout_net(t)
    net.train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(t.seed)
    with_graph = net(x)
    stats_with_graph = net[1].running_mean.clone()
    net.load_state_dict(state)
    torch.manual_seed(t.seed)
    with torch.no_grad():
        no_graph = net(x)
    assert not no_graph.requires_grad and no_graph.grad_fn is None
    assert all(p.requires_grad for p in net.parameters())  # the parameters themselves are unchanged
    with pytest.raises(RuntimeError):
        F.cross_entropy(no_graph, labels).backward()
    # same dropout masks, same batch statistics, same running-statistics update as with the graph
    assert torch.equal(no_graph, with_graph.detach())
    assert torch.equal(net[1].running_mean, stats_with_graph)
    assert (stats_with_graph - state["1.running_mean"]).abs().max() > 1e-3
    net.eval()
    assert (no_graph - net(x)).abs().max() > 1e-3  # so no_grad alone does not give the eval-mode output
    # inference_mode: the same numbers, but the result is an inference tensor that autograd refuses later
    with torch.no_grad():
        ref = net(x)
    with torch.inference_mode():
        inf = net(x)
    assert torch.equal(inf, ref) and inf.is_inference() and not ref.is_inference()
    head = nn.Linear(CLASSES, 2).to(t.device, t.dtype)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        head(inf).sum().backward()
    head(ref).sum().backward()  # a no_grad result is an ordinary tensor and can feed a later graph
    assert head.weight.grad is not None


@check("training_loop.val-below-train-demo", devices=("cpu",), kind="demonstration")
def val_below_train_demo(t):
    """In the first epoch the reported training loss (the mean over the epoch, dropout on) is above the
    validation loss: the weights improve during the epoch, and dropout raises the training-mode loss."""
    g = t.generator(40)
    centers = torch.randn(3, 10, generator=g, dtype=torch.float64)

    def data(n):
        y = torch.randint(0, 3, (n,), generator=g)
        return centers[y] + 1.5 * torch.randn(n, 10, generator=g, dtype=torch.float64), y
    x, y = data(512)
    xv, yv = data(512)
    order = torch.randperm(512, generator=g)
    out = {}
    for p in (0.0, 0.5):
        t.seed_modules(41)
        net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(p), nn.Linear(64, 3)).double()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        reported = []
        for i in range(0, 512, 32):  # one epoch, the loop every tutorial writes
            idx = order[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            reported.append(loss.item())
        with torch.no_grad():  # the same weights, training data, train mode (dropout on)
            train_mode = F.cross_entropy(net(x), y).item()
        out[p] = (float(np.mean(reported)), train_mode, tl.evaluate(net, x, y, F.cross_entropy),
                  tl.evaluate(net, xv, yv, F.cross_entropy))
    reported0, after0, _, val0 = out[0.0]
    _, train_mode5, eval5, _ = out[0.5]
    lag = t.record("lag_ratio", reported0 / after0)      # no dropout: the mean over the epoch vs its end
    below = t.record("reported_over_val", reported0 / val0)
    drop = t.record("dropout_ratio", train_mode5 / eval5)  # same weights, same data, train vs eval mode
    # seeds 0-79: lag 1.14-1.85, reported / val 1.11-1.82, dropout 1.03-1.27
    assert lag > 1.1 and below > 1.05 and drop > 1.01
    assert out[0.0][1] == out[0.0][2]  # without dropout (and no BN) train and eval mode agree exactly


def _overfitting_problem(t, n=30, d=29, noise=0.7):
    """Least squares with almost as many features as examples: gradient descent overfits after a while."""
    g = t.generator(50)
    w = torch.randn(d, 1, generator=g, dtype=torch.float64) / math.sqrt(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    xv = torch.randn(500, d, generator=g, dtype=torch.float64)
    y = x @ w + noise * torch.randn(n, 1, generator=g, dtype=torch.float64)
    yv = xv @ w + noise * torch.randn(500, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()

    def train_epoch():  # full-batch gradient descent on the MSE, one step per epoch, in place like SGD.step()
        with torch.no_grad():  # the gradient 2 (xw - y)'x / n by hand: autograd would cost 5x more on 29 weights
            model.weight.sub_(0.05 * 2 * (model(x) - y).T @ x / x.shape[0])
    return model, train_epoch, lambda: tl.evaluate(model, xv, yv, F.mse_loss), (x, y, xv, yv)


def _gd_validation_curve(data, epochs, lr=0.05):
    """Oracle: the validation MSE after each of epochs 1..epochs of gradient descent from w = 0, in closed form.
    w <- w - lr (A w - b) with A = 2 x'x/n, b = 2 x'y/n gives w_k = (I - (I - lr A)^k) A^-1 b: in the eigenbasis
    of A, (1 - (1 - lr l)^k) / l per direction (expm1 and log1p keep it exact for the small eigenvalues)."""
    x, y, xv, yv = data
    lam, q = torch.linalg.eigh(2 * x.T @ x / x.shape[0])
    b = q.T @ (2 * x.T @ y / x.shape[0])
    k = torch.arange(1, epochs + 1, dtype=torch.float64)[:, None]
    w = q @ (-torch.expm1(k * torch.log1p(-lr * lam)) / lam * b.T).T  # column k - 1 is w_k
    return (xv @ w - yv).pow(2).mean(0).numpy()


@check("training_loop.early-stopping-restores-best", devices=("cpu",), kind="demonstration")
def early_stopping_restores_best(t):
    """Early stopping with patience p stops p epochs after the best validation loss and restores those
    weights; training on to the end would leave a clearly worse model."""
    max_epochs, patience = 1000, 10
    model, train_epoch, val_loss, data = _overfitting_problem(t)
    best_epoch, losses = tl.train_with_early_stopping(model, train_epoch, val_loss, max_epochs, patience)
    restored = val_loss()
    assert restored == losses[best_epoch - 1]  # exactly: the restored model IS the best one
    # oracle: the whole 1000-epoch run in closed form (other arithmetic, so equal up to rounding)
    curve = _gd_validation_curve(data, max_epochs)
    assert np.isfinite(curve).all()
    assert_close(torch.tensor(losses, dtype=torch.float64), torch.from_numpy(curve[:len(losses)]), rtol=1e-10, atol=0)
    first_min = int(np.argmin(curve[:len(losses)])) + 1
    assert best_epoch == first_min and len(losses) == best_epoch + patience
    t.record("best_epoch", best_epoch)
    t.record("stop_epoch", len(losses))
    at_stop = t.record("stop_over_best", losses[-1] / restored)
    at_end = t.record("end_over_best", curve[-1] / restored)
    t.record("end_excess", at_end - 1)
    # seeds 0-149: the best epoch (3-336) was also the minimum of the whole 1000-epoch curve, and the loss after
    # 1000 epochs was 18 % or more above it
    assert at_stop > 1 and at_end > 1.1 and int(np.argmin(curve)) + 1 == best_epoch
    # the classic bug: model.state_dict() holds references to the live tensors, so "saving" it without a copy
    # saves nothing: after more training the saved tensors have changed too
    saved = model.state_dict()
    before = saved["weight"].clone()
    train_epoch()
    assert saved["weight"].data_ptr() == model.weight.data_ptr() and not torch.equal(saved["weight"], before)
    with pytest.raises(ValueError, match="patience"):
        tl.train_with_early_stopping(model, train_epoch, val_loss, 5, 0)


@check("training_loop.initial-loss-log-c", devices=("cpu",), kind="statistical")
def initial_loss_log_c(t):
    """With balanced classes and small output weights the first loss is log C (to second order in the
    logits); large initial weights give a loss many times log C."""
    classes, n = 10, 4000
    x = torch.randn(n, 20, generator=t.generator(60), dtype=torch.float64)
    labels = torch.arange(n) % classes  # balanced and independent of x
    t.seed_modules(61)
    net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, classes)).double()
    with torch.no_grad():
        nn.init.normal_(net[2].weight, std=0.01)
        nn.init.zeros_(net[2].bias)
        z = net(x)
        ce = F.cross_entropy(z, labels, reduction="none")
    mean, se = ce.mean().item(), ce.std().item() / math.sqrt(n)
    # for small logits, logsumexp(z) = log C + mean(z) + var_j(z)/2 + O(z^3) and E[z_y] = mean(z):
    # E[loss] = log C + E[var_j(z)]/2; the correction is ~5e-4 here, the third-order rest ~1e-5
    expected = math.log(classes) + 0.5 * z.var(dim=1, unbiased=False).mean().item()
    t.record("initial_loss", mean)
    t.record("log_c", math.log(classes))
    assert abs(mean - expected) <= 6 * se, (mean, expected, se)
    for wrong in (math.log2(classes), 1.0, 1 / classes, 0.0):  # log base 2, log10(10), 1/C, "zero at start"
        assert abs(mean - wrong) > 6 * se + 0.1
    # N(0, 1) weights in both layers: logits with a standard deviation in the tens, confidently wrong
    with torch.no_grad():
        for layer in (net[0], net[2]):
            nn.init.normal_(layer.weight, std=1.0)
        z_big = net(x)
        big, big_sd = F.cross_entropy(z_big, labels).item(), z_big.std().item()
    t.record("large_init_loss", big)
    t.record("large_init_logit_sd", big_sd)
    assert big > 5 * math.log(classes)  # seeds 0-4: 34-38, i.e. 15-16 log C


@check("training_loop.chance-level-loss", devices=("cpu",))
def chance_level_loss(t):
    """The best input-blind loss is the entropy of the class frequencies: log C when balanced, less when
    not, reached by setting the output bias to log p."""
    classes = 7
    balanced = torch.full((classes,), 30)
    assert math.isclose(tl.chance_level_loss(balanced), math.log(classes), rel_tol=1e-15)
    assert math.isclose(tl.chance_level_loss(torch.tensor([3, 3])), math.log(2), rel_tol=1e-15)  # the smallest C
    labels = torch.arange(210) % classes
    uniform = F.cross_entropy(torch.zeros(210, classes, dtype=torch.float64), labels).item()
    assert math.isclose(uniform, math.log(classes), rel_tol=1e-15)  # all logits equal: exactly log C
    counts = torch.tensor([120, 40, 20, 10, 5, 5, 0])  # imbalanced, one class absent (0 log 0 = 0)
    labels = torch.repeat_interleave(torch.arange(classes), counts)
    p = counts.double() / counts.sum()
    bias = torch.log(p)  # -inf for the absent class: it gets probability 0, which costs nothing
    by_torch = F.cross_entropy(bias.expand(len(labels), -1), labels).item()
    h = t.record("imbalanced_entropy", tl.chance_level_loss(counts))
    assert math.isclose(h, by_torch, rel_tol=1e-12)
    t.record("log_c", math.log(classes))
    assert h < math.log(classes) - 0.5  # so log C is the wrong yardstick for imbalanced data
    # no other constant prediction does better: perturbing the bias raises the loss
    for stream in range(5):
        other = torch.softmax(bias.nan_to_num(neginf=-30.0) + 0.3 * t.randn(classes, stream=70 + stream).cpu(), 0)
        assert F.cross_entropy(other.log().expand(len(labels), -1), labels).item() > h


class _MissingTanhDerivative(tl.TanhLinear):
    @staticmethod
    def backward(ctx, grad_a):
        x, w, a = ctx.saved_tensors
        return grad_a @ w.T, x.T @ grad_a, grad_a.sum(0)


class _IgnoresUpstreamGradient(tl.TanhLinear):
    @staticmethod
    def backward(ctx, grad_a):
        x, w, a = ctx.saved_tensors
        dz = 1 - a ** 2  # as if grad_a were all ones: right for loss = a.sum() only
        return dz @ w.T, x.T @ dz, dz.sum(0)


@check("training_loop.gradcheck-catches-wrong-backward")
def gradcheck_catches_wrong_backward(t):
    """torch.autograd.gradcheck passes the hand-written backward in float64 and rejects two plausible bugs."""
    # batch 4, 2 inputs, 3 outputs: three different sizes, so a transposed or mis-summed gradient has the wrong
    # shape, with 17 entries for gradcheck to perturb (its cost grows with that count)
    x = t.randn(4, 2, stream=80).requires_grad_(True)
    w = (0.7 * t.randn(2, 3, stream=81)).requires_grad_(True)
    b = t.randn(3, stream=82).requires_grad_(True)
    assert torch.autograd.gradcheck(tl.tanh_linear, (x, w, b))
    # against autograd through torch.tanh, too
    upstream = t.randn(4, 3, stream=83)
    mine = torch.autograd.grad(tl.tanh_linear(x, w, b), (x, w, b), upstream)
    auto = torch.autograd.grad(torch.tanh(x @ w + b), (x, w, b), upstream)
    for m, a in zip(mine, auto):
        assert_close(m, a, rtol=1e-12, atol=1e-14)
    for wrong in (_MissingTanhDerivative, _IgnoresUpstreamGradient):
        assert not torch.autograd.gradcheck(wrong.apply, (x, w, b), raise_exception=False)
    # in float32 even the correct backward fails gradcheck's default eps = 1e-6 and atol = 1e-5
    x32, w32, b32 = (v.detach().float().requires_grad_(True) for v in (x, w, b))
    with pytest.warns(UserWarning, match="not a double precision"):
        assert not torch.autograd.gradcheck(tl.tanh_linear, (x32, w32, b32), raise_exception=False)


@check("training_loop.finite-difference-step-tradeoff", kind="demonstration")
def finite_difference_step_tradeoff(t):
    """The central-difference error is ~h^2 (truncation) + eps/h (rounding): the best h is near eps^(1/3),
    about 1e-5 in float64 and 1e-2 in float32, where float32 cannot get below ~1e-5 relative error."""
    x, y, _, params = _problem(t)
    exact = _autograd(x, y, params)["w1"]  # float64 autograd
    hs = [10.0 ** -k for k in range(1, 10)]
    err, best, numeric = {}, {}, {}
    for dtype in (torch.float64, torch.float32):
        xs, ys = x.to(dtype), y.to(dtype)
        ps = {k: v.to(dtype) for k, v in params.items()}
        f = lambda w: _loss(xs, ys, {**ps, "w1": w}).item()  # noqa: E731
        numeric[dtype] = [tl.numerical_gradient(f, ps["w1"], h).to(exact) for h in hs]
        err[dtype] = [tl.gradient_relative_error(exact, n) for n in numeric[dtype]]
        assert all(math.isfinite(e) for e in err[dtype])
        best[dtype] = hs[int(np.argmin(err[dtype]))]
    f64, f32 = torch.float64, torch.float32
    t.record("eps_f64", torch.finfo(f64).eps)
    t.record("eps_f32", torch.finfo(f32).eps)
    exp64 = t.record("best_h_f64_exp", round(math.log10(best[f64])))
    exp32 = t.record("best_h_f32_exp", round(math.log10(best[f32])))
    assert exp64 == -5 and exp32 in (-2, -3)
    t.record("min_err_f64", np.min(err[f64]))
    t.record("min_err_f32", np.min(err[f32]))
    t.record("f32_err_at_1e_6", err[f32][5])
    # seeds 0-79: best h 1e-5 in float64 (error 3e-11 to 2e-10), 1e-2 or 1e-3 in float32 (error 2e-5 to
    # 1.4e-4); float32 at h = 1e-6 is off by 0.07-0.52 relative, the bug by 0.17-0.85
    for dtype in (f64, f32):  # within a factor 10 of eps^(1/3): 6e-6 and 5e-3
        assert abs(math.log10(best[dtype]) - math.log10(torch.finfo(dtype).eps) / 3) <= 1.01
    assert np.min(err[f64]) < 1e-9 and 1e-5 < np.min(err[f32]) < 1e-3 and err[f32][5] > 0.05
    # the relative error of the bug is large in float64, far above the correct gradient's
    bug = _wrong_backward(*tl.mlp_forward(x, params), y, params)["w1"]
    numeric = numeric[f64][hs.index(1e-5)]  # float64 central differences at h = 1e-5, from the sweep above
    bug_rel = t.record("bug_rel_err", tl.gradient_relative_error(bug, numeric))
    assert bug_rel > 1e-2
    # relative, not absolute: scaling the loss by 1e-6 scales both gradients but not their relative error
    scaled = tl.gradient_relative_error(1e-6 * bug, 1e-6 * numeric)
    assert math.isclose(scaled, bug_rel, rel_tol=1e-9)
    assert tl.gradient_relative_error(torch.zeros(3, dtype=t.dtype), torch.zeros(3, dtype=t.dtype)) == 0.0
