"""Checks for docs/*/fine_tuning.md. Oracles: parameter snapshots (bitwise), torch.nn.init, closed forms."""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import fine_tuning as ft
from verify._registry import check


def _model(t):
    """A 'pretrained' backbone of two blocks (the first with BatchNorm) and a new 3-class head."""
    t.seed_modules()
    # no bias before BatchNorm: BN subtracts the batch mean, so that bias would get a zero gradient
    backbone = nn.Sequential(nn.Sequential(nn.Linear(8, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU()),
                             nn.Sequential(nn.Linear(16, 16), nn.ReLU()))
    head = nn.Linear(16, 3)
    return backbone.to(t.device, t.dtype), head.to(t.device, t.dtype)


def _batch(t):
    y = torch.randint(0, 3, (32,), generator=t.generator(1)).to(t.device)
    return 2 * t.randn(32, 8) + 1, y


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _unchanged(module, snap):
    return all(torch.equal(v, snap[k]) for k, v in module.state_dict().items())


def _sgd_steps(model, opt, x, y, steps=5, set_to_none=True):
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=set_to_none)
        loss.backward()
        opt.step()


@check("fine_tuning.frozen-params-do-not-move")
def frozen_params_do_not_move(t):
    """Full fine-tuning changes every parameter; a frozen backbone stays bitwise unchanged and gets no .grad."""
    x, y = _batch(t)
    backbone, head = _model(t)
    model = nn.Sequential(backbone, head).train()
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    _sgd_steps(model, torch.optim.SGD(ft.finetune_parameters(backbone, head, "full"), lr=0.1), x, y)
    assert all((p - before[k]).abs().max() > 1e-6 for k, p in model.named_parameters())

    backbone, head = _model(t)
    model = nn.Sequential(backbone, head).train()
    params = ft.finetune_parameters(backbone, head, "feature-extractor")
    snap_backbone, snap_head = _snapshot(backbone), _snapshot(head)
    _sgd_steps(model, torch.optim.SGD(params, lr=0.1), x, y)
    assert _unchanged(backbone, snap_backbone)  # weights and BN buffers, bitwise
    assert all(p.grad is None for p in backbone.parameters())
    assert all((v - snap_head[k]).abs().max() > 1e-6 for k, v in head.state_dict().items())


@check("fine_tuning.stale-optimizer-state")
def stale_optimizer_state(t):
    """Freezing mid-training inside an old SGD(momentum, weight_decay) optimizer: the frozen weights stay put
    while their .grad is None (zero_grad's default), but a zero gradient tensor lets momentum and decay move them."""
    x, y = _batch(t)

    def drift(set_to_none):
        backbone, head = _model(t)
        model = nn.Sequential(backbone, head).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
        _sgd_steps(model, opt, x, y, steps=3)  # momentum buffers now exist for every parameter
        ft.freeze(backbone)
        snap = _snapshot(backbone)
        _sgd_steps(model, opt, x, y, steps=3, set_to_none=set_to_none)
        # a tensor max, not Python's max: max(0.0, nan) == 0.0 would read a NaN drift as "did not move"
        return torch.stack([(v - snap[k]).abs().max() for k, v in backbone.state_dict().items()
                            if v.is_floating_point()]).max()

    still = drift(set_to_none=True)
    assert torch.isfinite(still) and still.item() == 0.0
    moved = drift(set_to_none=False)
    assert torch.isfinite(moved) and moved.item() > 1e-3  # seeds 0-9: 0.021-0.038; the momentum buffer keeps pushing


@check("fine_tuning.three-modes")
def three_modes(t):
    """Feature extractor trains the head (51 numbers), partial adds the last block (323), full trains all 483;
    predict-only runs in eval mode without building a graph and changes nothing."""
    for mode, expected in (("feature-extractor", 16 * 3 + 3), ("partial", 16 * 16 + 16 + 51),
                           ("full", 8 * 16 + 2 * 16 + 16 * 16 + 16 + 51)):
        backbone, head = _model(t)
        params = ft.finetune_parameters(backbone, head, mode)
        model = nn.Sequential(backbone, head)
        assert sum(p.numel() for p in params) == expected
        assert t.record(f"trainable_{mode.replace('-', '_')}",
                        sum(p.numel() for p in model.parameters() if p.requires_grad)) == expected
    # partial with three blocks: trainable_blocks counts from the end (the last k blocks train, the others freeze)
    for k, expected in ((1, [False, False, True]), (2, [False, True, True])):
        t.seed_modules()
        deep = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 4), nn.Linear(4, 5))
        params = ft.finetune_parameters(deep, nn.Linear(5, 1), "partial", trainable_blocks=k)
        assert [block.weight.requires_grad for block in deep] == expected
        assert sum(p.numel() for p in params) == sum(b.weight.numel() + b.bias.numel()
                                                      for b, e in zip(deep, expected) if e) + 6
    backbone, head = _model(t)
    model = nn.Sequential(backbone, head)
    x, _ = _batch(t)
    snap = _snapshot(model)
    out = ft.predict(model, x)
    assert not out.requires_grad and out.grad_fn is None
    assert _unchanged(model, snap) and all(p.grad is None for p in model.parameters())
    assert_close(out, model.eval()(x).detach(), rtol=0, atol=1e-13)  # bitwise equal on the CPU
    assert (out - model.train()(x)).abs().max() > 1e-3  # train mode would use the batch statistics instead


@check("fine_tuning.frozen-bn-updates-stats")
def frozen_bn_updates_stats(t):
    """requires_grad_(False) does not freeze BatchNorm: in train mode its running statistics still change;
    eval() (as in freeze()) keeps them, and a later model.train() undoes that."""
    x, _ = _batch(t)
    backbone, head = _model(t)
    model = nn.Sequential(backbone, head)
    bn = backbone[0][1]
    backbone.requires_grad_(False)
    model.train()
    before = bn.running_mean.clone()
    model(x)
    assert (bn.running_mean - before).abs().max() > 1e-3  # the batch has mean ~1, far from the stored 0
    ft.freeze(backbone)
    before = _snapshot(bn)
    model(x)
    assert _unchanged(bn, before)
    model.train()  # the usual call at the top of a training loop: BN is back in train mode
    model(x)
    assert not _unchanged(bn, before)


@check("fine_tuning.default-init", devices=("cpu",), dtypes=("float32", "float64"), kind="statistical")
def default_init(t):
    """nn.Conv2d's default weight is kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), Var 1/(3 fan_in) — not N(0, 1)."""
    t.seed_modules()
    conv = nn.Conv2d(16, 32, 3, dtype=t.dtype)
    t.seed_modules()
    w = torch.empty(32, 16, 3, 3, dtype=t.dtype)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    assert torch.equal(conv.weight.detach(), w)  # same random draws, same formula
    fan_in = 16 * 3 * 3
    bound = ft.conv2d_default_bound(16, 3)
    assert abs(bound - 1 / math.sqrt(fan_in)) < 1e-15
    # kaiming_uniform_bound against torch's gain: the default a = 0 (plain ReLU, gain sqrt 2) and a slope a = 0.5
    assert math.isclose(ft.kaiming_uniform_bound(fan_in), nn.init.calculate_gain("leaky_relu", 0)
                        * math.sqrt(3 / fan_in), rel_tol=1e-14)
    assert math.isclose(ft.kaiming_uniform_bound(fan_in), math.sqrt(6 / fan_in), rel_tol=1e-14)
    assert math.isclose(ft.kaiming_uniform_bound(fan_in, a=0.5), nn.init.calculate_gain("leaky_relu", 0.5)
                        * math.sqrt(3 / fan_in), rel_tol=1e-14)
    weight, bias = conv.weight.detach().double(), conv.bias.detach().double()
    assert weight.abs().max() <= bound * (1 + 1e-6) and bias.abs().max() <= bound * (1 + 1e-6)
    assert weight.abs().max() >= 0.99 * bound  # P(all 4608 draws below 0.99 b) = 0.99^4608 ~ e^-46
    # a uniform has kurtosis 9/5, so the sample variance of N draws has relative SD sqrt(0.8 / N): 6 SE = 7.9 %
    rel_se = math.sqrt(0.8 / weight.numel())
    assert abs(weight.var().item() * 3 * fan_in - 1) < 6 * rel_se
    assert weight.var().item() < 1e-2  # not the "variance 1" of the notes
    assert weight.var().item() < 0.5 * 2 / fan_in  # and not He's 2/fan_in either (6 times larger)


def _balanced_argmax(scores):
    """Per-class offsets q with argmax(scores - q) giving every class a quarter of the rows, to within 1 point."""
    q, step = torch.zeros(scores.shape[1], dtype=scores.dtype), 0.5 * scores.std()
    for _ in range(200):  # seeds 0-199: at most 30 rounds
        share = torch.bincount((scores - q).argmax(1), minlength=scores.shape[1]) / scores.shape[0]
        if (share - 1 / scores.shape[1]).abs().max() <= 0.01:
            return q
        q += step * (share - 1 / scores.shape[1])  # raise the offset of a class with too many rows
    raise AssertionError(f"class shares did not balance: {share.tolist()}")


def _transfer_task(t, per_class=10):
    """Source and target labels are read off the same hidden features h(x) = relu(A x).

    The target class is the argmax of the four scores C h(x) - q, the offsets q chosen on the 2000 test points
    so that each class holds a quarter of them; the 40 training examples are the first `per_class` of each class
    in a pool of 400 draws. Without q, h >= 0 gives the scores unequal means, and for seeds 102 and 192 nearly
    every point fell into one class (both nets scored 0.986 by predicting it)."""
    g = t.generator()
    a = torch.randn(8, 20, generator=g) / math.sqrt(20)
    b, c = torch.randn(10, 8, generator=g), torch.randn(4, 8, generator=g)
    x_src, pool, x_test = (torch.randn(n, 20, generator=g) for n in (500, 400, 2000))
    src_y = torch.relu(x_src @ a.T) @ b.T  # plenty of data for a 10-output regression
    test_scores = torch.relu(x_test @ a.T) @ c.T
    q = _balanced_argmax(test_scores)
    test_y, pool_y = (test_scores - q).argmax(1), (torch.relu(pool @ a.T) @ c.T - q).argmax(1)
    picks = [torch.nonzero(pool_y == k).flatten()[:per_class] for k in range(4)]
    assert all(len(p) == per_class for p in picks)  # ~100 expected per class: a shortfall has odds below 1e-25
    picks = torch.cat(picks)
    x_tgt, tgt_y = pool[picks], pool_y[picks]  # 40 labelled examples, 10 per class
    put = lambda v: v.to(t.device, t.dtype) if v.is_floating_point() else v.to(t.device)  # noqa: E731
    return [put(v) for v in (x_src, src_y, x_tgt, tgt_y, x_test, test_y)]


def _backbone():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())


@check("fine_tuning.transfer-demo", dtypes=("float32",), kind="demonstration")
def transfer_demo(t):
    """With 40 labelled examples, a head on a backbone pretrained on a related task beats training from scratch."""
    x_src, src_y, x_tgt, tgt_y, x_test, test_y = _transfer_task(t)
    # five times fit's default lr, so that 80 pretraining steps and 50 on the target do
    pre_steps, steps, lr = 80, 50, 0.05
    t.seed_modules(stream=1)
    backbone = _backbone().to(t.device, t.dtype)
    pretrain = nn.Sequential(backbone, nn.Linear(32, 10)).to(t.device, t.dtype)
    ft.fit(pretrain, pretrain.parameters(), x_src, src_y, pre_steps, F.mse_loss, lr)
    head = nn.Linear(32, 4).to(t.device, t.dtype)
    tuned = nn.Sequential(backbone, head)
    ft.fit(tuned, ft.finetune_parameters(backbone, head, "feature-extractor"), x_tgt, tgt_y, steps, F.cross_entropy, lr)
    scratch = nn.Sequential(_backbone(), nn.Linear(32, 4)).to(t.device, t.dtype)
    scratch_loss = ft.fit(scratch, scratch.parameters(), x_tgt, tgt_y, steps, F.cross_entropy, lr)
    acc = {name: (ft.predict(m, x_test).argmax(1) == test_y).float().mean().item()
           for name, m in (("tuned", tuned), ("scratch", scratch))}
    # measured over seeds 0-199 (balanced classes, see _transfer_task): tuned 0.636-0.842, scratch 0.387-0.589,
    # gap 0.129-0.365 (accuracy on 2000 test points); scratch's training loss <= 8e-7: it lost for want of data,
    # not of steps
    tuned, scratch = t.record("acc_tuned", acc["tuned"]), t.record("acc_scratch", acc["scratch"])
    assert tuned > 0.6 and tuned - scratch > 0.05, acc
    assert scratch_loss < 1e-2
