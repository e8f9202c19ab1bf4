"""Checks for docs/*/gradients.md. Oracles: autograd, torch.autograd.functional.jacobian, torch's clipping
utilities and BatchNorm, closed forms (powers, homogeneity), float64 least squares."""
import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import gradients as gr
from verify._registry import Trial, check


def _stack_data(t, width=64, depth=10, batch=128, std=None):
    """Inputs, targets and `depth` square N(0, std^2) weights, all drawn from the trial's streams."""
    x, y = t.randn(batch, width, stream=0), t.randn(batch, width, stream=1)
    g = t.generator(stream=2)
    std = std if std is not None else 1 / math.sqrt(width)
    ws = [(torch.randn(width, width, generator=g, dtype=torch.float64) * std).to(x) for _ in range(depth)]
    return x, y, ws


@check("gradients.sigmoid-front-layers-vanish", dtypes=("float32",), kind="demonstration")
def sigmoid_front_layers_vanish(t):
    """10 sigmoid layers: ||dL/dW_1|| / ||dL/dW_10|| < 1e-4; ReLU + He init keeps it above 5e-2."""
    x, y, ws = _stack_data(t)
    sig = gr.per_layer_grad_norms(x, y, ws, "sigmoid")
    _, _, he = _stack_data(t, std=math.sqrt(2 / 64))
    relu = gr.per_layer_grad_norms(x, y, he, "relu")
    # seeds 0-11 (float32, CPU): sigmoid ratio 6.4e-7 ... 8.8e-7 (about 4^-10), ReLU+He 0.26 ... 0.60;
    # the thresholds leave a factor >= 70 and >= 5
    sig_t, relu_t = torch.tensor(sig), torch.tensor(relu)
    assert torch.isfinite(sig_t).all() and torch.isfinite(relu_t).all()
    ratio = t.record("sigmoid_ratio", sig[0] / sig[-1])
    t.record("relu_he_ratio", relu[0] / relu[-1])
    assert ratio < 1e-4
    assert relu[0] / relu[-1] > 5e-2
    assert (sig_t[:-1] < sig_t[1:]).all()  # strictly smaller towards the input, layer by layer
    # seeds 0-11: 4.6-4.9 per layer (9 layer steps)
    per_layer = t.record("sigmoid_per_layer_factor", (sig[-1] / sig[0]) ** (1 / 9))
    assert 4 < per_layer < 6


@check("gradients.residual-keeps-gradient", dtypes=("float32",), kind="demonstration")
def residual_keeps_gradient(t):
    """The same sigmoid weights with identity shortcuts h + sigma(h W^T): the first/last ratio grows > 1000-fold."""
    x, y, ws = _stack_data(t)
    plain = gr.per_layer_grad_norms(x, y, ws, "sigmoid")
    res = gr.per_layer_grad_norms(x, y, ws, "sigmoid", residual=True)
    # seeds 0-11: residual ratio 0.032 ... 0.062, plain 6.4e-7 ... 8.8e-7, so the gain is >= 3.6e4
    res_t = torch.tensor(res)
    assert torch.isfinite(res_t).all() and torch.isfinite(torch.tensor(plain)).all()
    assert (res[0] / res[-1]) / (plain[0] / plain[-1]) > 1e3
    assert res_t.min() / res_t.max() > 1e-2  # no layer of the residual stack is starved


def _relu_weight_grads(x, ws):
    """dL/dW_l for L = mean(h_L^2) of a bias-free ReLU stack: a loss homogeneous of degree 2L in the weights."""
    ws = [w.detach().clone().requires_grad_(True) for w in ws]
    return torch.autograd.grad(gr.deep_stack(x, ws, "relu").pow(2).mean(), ws)


@functools.lru_cache(maxsize=4)
def _he_relu_base(device, dtype_name, seed):
    """The 20-layer, width-128 He-initialized ReLU stack of the two scaling checks, its inputs and its weight
    gradients: drawn and differentiated once per (device, dtype, seed) and shared (callers must not modify them)."""
    t = Trial(device, dtype_name, seed)
    x = t.randn(32, 128)
    _, _, he = _stack_data(t, width=128, depth=20, std=math.sqrt(2 / 128))
    return x, he, _relu_weight_grads(x, he)


def _he_relu(t):
    return _he_relu_base(t.device, t.dtype_name, t.seed)


def _assert_scaled(got, base, factor):
    """got == factor * base for every layer, to float64 rounding (relative to each layer's largest entry)."""
    for g, b in zip(got, base):
        assert_close(g / factor, b, rtol=0, atol=1e-11 * b.abs().max().item())


def _offset_linear_ratio(x, y, ws):
    """First/last weight-gradient ratio of h <- h W^T + 1/2: slope 1 everywhere (never saturates), but an offset."""
    ws = [w.detach().clone().requires_grad_(True) for w in ws]
    h = x
    for w in ws:
        h = h @ w.T + 0.5
    g = torch.autograd.grad((h - y).pow(2).mean(), ws)
    return (g[0].norm() / g[-1].norm()).item()


@check("gradients.small-init-scales-all-layers")
def small_init_scales_all_layers(t):
    """std 0.01 instead of He in a 20-layer ReLU net multiplies EVERY layer's gradient by c^39 (c = 0.08);
    a weight scale changes the first/last ratio only when the layers are not homogeneous (sigma(0) = 1/2)."""
    depth, width = 20, 128
    x, he, base = _he_relu(t)
    assert len(he) == depth and he[0].shape == (width, width)
    c = t.record("c", 0.01 / math.sqrt(2 / width))
    small = _relu_weight_grads(x, [c * w for w in he])
    # relu(c z) = c relu(z): the same units fire, the loss scales by c^(2L), each weight gradient by c^(2L-1)
    _assert_scaled(small, base, c ** (2 * depth - 1))
    assert round(c, 2) == 0.08 and round(t.record("factor_x1e43", c ** (2 * depth - 1) * 1e43), 1) == 1.7
    # so the front layers do NOT learn slower than the back ones: the first/last ratio is unchanged
    ratio = lambda gs: (gs[0].norm() / gs[-1].norm()).item()  # noqa: E731
    assert math.isclose(ratio(small), ratio(base), rel_tol=1e-9)
    # shrinking the weights 10x in 10-layer stacks with the squared loss against a target:
    x, y, ws = _stack_data(t)
    first_last = lambda act, s: (lambda n: n[0] / n[-1])(gr.per_layer_grad_norms(x, y, [s * w for w in ws], act))  # noqa: E731
    values = {}
    for act in ("sigmoid", "tanh"):
        for tag, s in (("1x", 1.0), ("01x", 0.1)):
            values[act, tag] = t.record(f"{act}_{tag}", first_last(act, s))
    for tag, s in (("1x", 1.0), ("01x", 0.1)):
        values["offset", tag] = t.record(f"offset_{tag}", _offset_linear_ratio(x, y, [s * w for w in ws]))
    assert all(math.isfinite(v) for v in values.values())
    # seeds 0-5: sigmoid 7e-7..1.1e-6 -> 1.4e-15..1.9e-15, offset-linear 0.23..0.40 -> 3.9e-10..5e-10,
    # tanh 1.02..1.13 -> 0.97..1.12. The sigmoid's ratio collapses, tanh's (which saturates too) barely moves,
    # and a slope-1 activation with an offset collapses like the sigmoid: the offset, not saturation, is the cause
    assert values["sigmoid", "01x"] < 1e-6 * values["sigmoid", "1x"]
    assert values["offset", "01x"] < 1e-6 * values["offset", "1x"]
    assert 1 / 1.5 < values["tanh", "01x"] / values["tanh", "1x"] < 1.5


@check("gradients.relu-explodes-above-he")
def relu_explodes_above_he(t):
    """ReLU weights s x He: every weight gradient is multiplied by exactly s^(2L-1) (1.5^39 = 7.4e6 for L = 20)."""
    depth, width, s = 20, 128, 1.5
    x, he, base = _he_relu(t)
    assert len(he) == depth and he[0].shape == (width, width)
    big = _relu_weight_grads(x, [s * w for w in he])
    _assert_scaled(big, base, s ** (2 * depth - 1))
    # the claim "ReLU solves exploding gradients" is rejected: every layer's gradient grew 7.4-million-fold
    growth = torch.stack([gb.norm() / g.norm() for gb, g in zip(big, base)])
    assert torch.isfinite(growth).all() and (growth > 7e6).all()
    assert round(t.record("factor_x1e6", growth[0].item() / 1e6), 1) == 7.4


@check("gradients.backprop-is-jacobian-product")
def backprop_is_jacobian_product(t):
    """dL/dh_0 = J_1^T ... J_L^T dL/dh_L, J_l = diag(sigma') W_l; ||dL/dh_0|| <= prod(||W_l|| / 4) ||dL/dh_L||."""
    width, depth = 16, 6
    g = t.generator(1)
    ws = [torch.randn(width, width, generator=g, dtype=torch.float64).to(t.device) / math.sqrt(width)
          for _ in range(depth)]
    h0, grad_out = t.randn(width, stream=2), t.randn(width, stream=3)
    # one layer: the snippet's Jacobian equals torch.autograd.functional.jacobian
    auto_j = torch.autograd.functional.jacobian(lambda h: torch.sigmoid(ws[0] @ h), h0)
    assert_close(gr.sigmoid_layer_jacobian(h0, ws[0]), auto_j, rtol=1e-12, atol=1e-15)
    # the whole chain: the explicit product equals autograd's vector-Jacobian product
    h = h0.clone().requires_grad_(True)
    out = h
    for w in ws:
        out = torch.sigmoid(w @ out)
    (out @ grad_out).backward()
    got = gr.backprop_through_jacobians(h0, ws, grad_out)
    assert_close(got, h.grad, rtol=1e-12, atol=1e-15)
    bound = math.prod(torch.linalg.matrix_norm(w, 2).item() / 4 for w in ws) * grad_out.norm().item()
    assert got.norm().item() <= bound * (1 + 1e-12)
    # per_layer_grad_norms is the autograd gradient of mean((h_L - target)^2), target nonzero
    x, target = t.randn(5, width, stream=4), t.randn(5, width, stream=5)
    leaves = [w.clone().requires_grad_(True) for w in ws[:3]]
    h = x
    for w in leaves:
        h = torch.relu(h @ w.T)
    F.mse_loss(h, target).backward()
    assert_close(torch.tensor(gr.per_layer_grad_norms(x, target, ws[:3], "relu"), dtype=torch.float64),
                 torch.stack([w.grad.norm() for w in leaves]).cpu(), rtol=1e-12, atol=0)


@check("gradients.jacobian-power-not-weight-size")
def jacobian_power_not_weight_size(t):
    """Through T steps the gradient is multiplied by a product of T Jacobians; its growth rate is not 'a factor > 1'."""
    n, steps = 16, 50
    q, _ = torch.linalg.qr(t.randn(n, n, stream=1))
    h0 = 0.1 * t.randn(n, stream=2)

    def jac(w, act):
        # vectorize=True: the n rows of the Jacobian in one vmapped backward pass instead of n passes
        return torch.autograd.functional.jacobian(lambda h: gr.rnn_final_state(h, w, steps, act), h0,
                                                  vectorize=True)

    # linear recurrence with W = rho Q (Q orthogonal): every singular value of the Jacobian is exactly rho^T
    for rho in (0.9, 1.1):
        sv = torch.linalg.svdvals(jac(rho * q, "identity"))
        assert_close(sv, torch.full_like(sv, rho ** steps), rtol=1e-10, atol=0)
        t.record(f"rho_{round(rho * 10)}_gain", sv[0])
    # tanh: |tanh'| <= 1, so ||J|| <= ||W||_2^T: with ||W||_2 = 0.9 it can only vanish (Pascanu et al. 2013, sec. 2.1)
    assert torch.linalg.matrix_norm(jac(0.9 * q, "tanh"), 2).item() <= 0.9 ** steps * (1 + 1e-10)
    # a per-step factor above 1 does not imply explosion: ||W||_2 > 2, yet W^T -> 0 (spectral radius 1/2)
    w = t.put([[0.5, 2.0], [0.0, 0.5]])
    assert torch.linalg.matrix_norm(w, 2).item() > 2
    t.record("w_norm", torch.linalg.matrix_norm(w, 2))
    j = torch.autograd.functional.jacobian(lambda h: gr.rnn_final_state(h, w, steps, "identity"), t.put([1.0, 1.0]))
    closed = t.put([[0.5 ** steps, 2 * steps * 0.5 ** (steps - 1)], [0.0, 0.5 ** steps]])  # W^T in closed form
    assert_close(j, closed, rtol=1e-12, atol=0)
    assert torch.linalg.matrix_norm(j, 2).item() < 1e-10
    t.record("w50_norm_x1e13", torch.linalg.matrix_norm(j, 2).item() * 1e13)


@check("gradients.overflow-to-nan", dtypes=("float32", "float64"))
def overflow_to_nan(t):
    """h_T = w^T with w = 2, T = 127: in float32 the loss is finite but its gradient T w^(T-1) overflows to inf."""
    w = t.put(2.0).requires_grad_(True)
    h = t.put(1.0)
    for _ in range(127):
        h = w * h
    h.backward()
    assert h.item() == 2.0 ** 127                        # 1.7e38 < float32 max 3.4e38
    if t.dtype == torch.float32:
        assert torch.isinf(w.grad)                       # 127 * 2^126 = 1.1e40
        opt = torch.optim.SGD([w], lr=1e-3)
        opt.step()
        assert torch.isinf(w)                            # one step and the weight is gone ...
        # ... and the next forward pass through a unit that adds a positive and a negative input: inf - inf
        assert torch.isnan((w * t.put([1.0, -1.0])).sum())
    else:
        assert w.grad.item() == 127 * 2.0 ** 126
        t.record("loss_x1e38", h.item() / 1e38)
        t.record("grad_x1e40", w.grad.item() / 1e40)


@check("gradients.clip-norm-keeps-direction", dtypes=("float32", "float64"))
def clip_norm_keeps_direction(t):
    """Clipping by global norm matches torch.nn.utils.clip_grad_norm_ and keeps the gradient's direction."""
    shapes = [(5, 3), (7,), (2, 2, 2)]
    grads = [10 * t.randn(*s, stream=i) for i, s in enumerate(shapes)]
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    mine, my_total = gr.clip_by_global_norm(grads, 1.0)
    tol = t.tol(f64=1e-12, f32=1e-6)  # float32: a norm over 26 entries, a few ulps
    assert_close(my_total, total, rtol=tol, atol=0)
    for m, p in zip(mine, params):
        assert_close(m, p.grad, rtol=tol, atol=0)
    flat, clipped = torch.cat([g.flatten() for g in grads]), torch.cat([m.flatten() for m in mine])
    assert_close(F.cosine_similarity(flat, clipped, dim=0), t.put(1.0), rtol=0, atol=tol)
    # the new norm is max_norm * total / (total + 1e-6): a hair below 1, not exactly 1
    assert_close(clipped.norm(), total / (total + 1e-6), rtol=tol, atol=0)
    # the catalog's example: arange(10) has norm 16.88, clipped to 1 it ends at 0.99999994
    ar = [torch.arange(10, dtype=t.dtype, device=t.device)]
    (c,), tot = gr.clip_by_global_norm(ar, 1.0)
    assert abs(c.norm().item() - 0.99999994) < t.tol(f64=1e-8, f32=1e-7)
    t.record("arange_clipped_norm", c.norm())
    assert math.isclose(c.norm().item(), tot.item() / (tot.item() + 1e-6), rel_tol=t.tol(f64=1e-12, f32=1e-7))
    if t.dtype == torch.float64:
        assert c.norm().item() < 1  # float32 may round 1 - 6e-8 up to 1
    # below the threshold nothing changes, bit for bit
    unchanged, _ = gr.clip_by_global_norm(grads, 1e6)
    assert all(torch.equal(u, g) for u, g in zip(unchanged, grads))


@check("gradients.clip-value-changes-direction", dtypes=("float32", "float64"))
def clip_value_changes_direction(t):
    """Clipping by value matches torch.nn.utils.clip_grad_value_ but bends the direction: [-5, .2, 3] -> [-1, .2, 1]."""
    g = t.put([-5.0, 0.2, 3.0])
    p = nn.Parameter(torch.zeros_like(g))
    p.grad = g.clone()
    nn.utils.clip_grad_value_([p], clip_value=1.0)
    (mine,) = gr.clip_by_value([g], 1.0)
    assert torch.equal(mine, p.grad) and torch.equal(mine, t.put([-1.0, 0.2, 1.0]))
    cos = F.cosine_similarity(g, mine, dim=0).item()
    expected = 8.04 / math.sqrt(34.04 * 2.04)  # (5 + 0.04 + 3) / (|g| |clipped|) = 0.9649
    assert abs(cos - expected) < t.tol(f64=1e-12, f32=1e-6) and cos < 0.97
    t.record("cosine", cos)
    # clipping by norm of the same vector keeps cosine 1
    (normed,), _ = gr.clip_by_global_norm([g], 1.0)
    assert abs(F.cosine_similarity(g, normed, dim=0).item() - 1) < t.tol(f64=1e-12, f32=1e-6)


@check("gradients.l2-shrinks-spectral-norm", devices=("cpu",))
def l2_shrinks_spectral_norm(t):
    """An L2 penalty lam ||W||^2 strictly lowers the spectral norm (the gain per layer) of the fitted weights;
    along right singular direction i of X the solution shrinks by s_i^2 / (s_i^2 + lam)."""
    rng = t.rng()
    x, y = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    _, sv, vh = torch.linalg.svd(xt, full_matrices=False)
    w0 = torch.linalg.lstsq(xt, yt).solution
    norms = []
    for lam in (0.0, 1.0, 10.0, 100.0, 1000.0):
        w = torch.linalg.lstsq(torch.cat([xt, math.sqrt(lam) * torch.eye(16, dtype=torch.float64)]),
                               torch.cat([yt, torch.zeros(16, 16, dtype=torch.float64)])).solution
        # oracle 1: autograd says it is a stationary point of the penalized loss (which is strictly convex)
        wg = w.clone().requires_grad_(True)
        ((xt @ wg - yt).pow(2).sum() + lam * wg.pow(2).sum()).backward()
        assert wg.grad.abs().max() < 1e-9 * (1 + yt.abs().max())
        # oracle 2: the shrinkage of the unpenalized solution, direction by direction (SVD of X)
        shrink = vh.T @ torch.diag(sv ** 2 / (sv ** 2 + lam)) @ vh
        assert_close(w, shrink @ w0, rtol=1e-9, atol=1e-12)
        norms.append(torch.linalg.matrix_norm(w, 2).item())
    norms = torch.tensor(norms)
    assert torch.isfinite(norms).all() and (norms[:-1] > norms[1:]).all()
    assert norms[-1] < 0.2 * norms[0]
    # a plausible wrong shrink factor, 1 / (1 + lam) for every direction, is rejected at lam = 100
    wrong = vh.T @ torch.diag(1 / (1 + 100.0 * torch.ones_like(sv))) @ vh @ w0
    right = vh.T @ torch.diag(sv ** 2 / (sv ** 2 + 100.0)) @ vh @ w0
    assert (wrong - right).abs().max() > 1e-2


@check("gradients.bn-scale-invariant")
def bn_scale_invariant(t):
    """BN(a W x) = BN(W x) for a > 0, and dL/d(aW) = (1/a) dL/dW (Ioffe & Szegedy 2015, sec. 3.3)."""
    x = t.randn(32, 10)
    w = t.randn(8, 10, stream=1)
    r = t.randn(32, 8, stream=2)

    def out_and_grad(weight):
        weight = weight.clone().requires_grad_(True)
        # a negligible eps makes the invariance exact (torch refuses eps = 0 in training);
        # with the default eps = 1e-5 it holds only while Var(W x) >> eps
        y = F.batch_norm(x @ weight.T, None, None, training=True, eps=1e-30)
        (y * r).sum().backward()
        return y.detach(), weight.grad
    y1, g1 = out_and_grad(w)
    for a in (0.01, 10.0):
        ya, ga = out_and_grad(a * w)
        assert_close(ya, y1, rtol=1e-12, atol=1e-12)
        assert_close(a * ga, g1, rtol=1e-10, atol=1e-12)
    # only up to eps: with the default eps = 1e-5, a = 0.01 shrinks Var(W x) ~10 to ~1e-3, and the output moves
    default = lambda weight: F.batch_norm(x @ weight.T, None, None, training=True, eps=1e-5)  # noqa: E731
    moved = t.record("default_eps_change", (default(0.01 * w) - default(w)).abs().max())
    assert 1e-4 < moved < 1e-1
    # and only in training mode: in eval mode BN uses fixed running statistics, so the scale passes through
    mean, var = torch.zeros(8, dtype=t.dtype, device=t.device), torch.ones(8, dtype=t.dtype, device=t.device)
    evaluated = lambda weight: F.batch_norm(x @ weight.T, mean, var, training=False)  # noqa: E731
    assert_close(evaluated(10.0 * w), 10.0 * evaluated(w), rtol=1e-6, atol=1e-6)
    assert (evaluated(10.0 * w) - evaluated(w)).abs().max() > 1


def _deep_bn_ratio(t, depth):
    t.seed_modules()
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(128, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU()]
    net = nn.Sequential(*layers).to(t.device, t.dtype)
    net(t.randn(64, 128, stream=1)).pow(2).mean().backward()
    lin = [m for m in net if isinstance(m, nn.Linear)]
    return (lin[0].weight.grad.norm() / lin[-1].weight.grad.norm()).item()


@check("gradients.deep-bn-explodes", dtypes=("float32",), kind="demonstration")
def deep_bn_explodes(t):
    """BN does not remove the effect of depth: 50 Linear-BN-ReLU blocks, first/last weight-gradient ratio > 100."""
    # seeds 0-11 (CPU, float32): depth 50 gives 7.0e3 ... 1.7e4, depth 5 gives 1.97 ... 2.23
    # (Yang et al. 2019 prove the explosion at initialization for BN nets without skips)
    deep, shallow = t.record("ratio_50", _deep_bn_ratio(t, 50)), t.record("ratio_5", _deep_bn_ratio(t, 5))
    assert math.isfinite(deep) and deep > 100
    assert shallow < 10


@check("gradients.bn-prevents-saturation", dtypes=("float32",), kind="demonstration")
def bn_prevents_saturation(t):
    """Badly scaled pre-activations (SD 10) saturate 64% of sigmoid units (sigma' < 0.01); after BN almost none."""
    x = 10 * t.randn(256, 100)
    w = t.randn(100, 64, stream=1) / 10
    z = x @ w
    t.seed_modules()
    zb = nn.BatchNorm1d(64).to(t.device, t.dtype).train()(z)
    saturated = lambda u: (torch.sigmoid(u) * (1 - torch.sigmoid(u)) < 0.01).float().mean().item()  # noqa: E731
    # seeds 0-11: 0.640 ... 0.648 without BN (P(|N(0, 10^2)| > 4.6) = 0.646), 0 ... 6e-5 with BN
    t.record("saturated_percent", 100 * saturated(z))
    # sigma'(u) = s (1 - s) < 0.01 iff |u| > u0 with sigma(u0) = (1 + sqrt(1 - 0.04)) / 2; for N(0, 10^2):
    s0 = (1 + math.sqrt(1 - 4 * 0.01)) / 2
    u0 = math.log(s0 / (1 - s0))
    t.record("gaussian_percent", 100 * math.erfc(u0 / (10 * math.sqrt(2))))
    assert saturated(z) > 0.5
    assert saturated(zb) < 1e-3


def _effective_ranks(mats, depths):
    return [gr.effective_rank(gr.product_singular_values(mats[:d])) for d in depths]


@check("gradients.gaussian-product-degenerates", kind="demonstration", devices=("cpu",))
def gaussian_product_degenerates(t):
    """The product of L random N(0, 1/n) matrices (n = 32) loses effective rank: ~25 at L = 1, < 8 at L = 32."""
    depths = (1, 2, 4, 8, 16, 32)
    ranks = _effective_ranks(gr.gaussian_matrices(32, 32, t.generator()), depths)
    # seeds 0-11: L=1 25.2 ... 26.1, L=32 2.3 ... 4.2, strictly decreasing in every seed
    r = torch.tensor(ranks)
    t.record("rank_1", ranks[0])
    t.record("rank_32", ranks[-1])
    assert torch.isfinite(r).all() and ranks[0] > 20 and ranks[-1] < 8
    assert (r[:-1] > r[1:]).all()
    # the snippet multiplies in the right order: W_3 W_2 W_1
    mats = gr.gaussian_matrices(8, 3, t.generator(1))
    # entries are N(0, 1/n): mean square 1/n within 6 standard errors (sqrt(2/N)/n for N entries), not n or 1
    n, count = 16, 16
    sq = torch.stack(gr.gaussian_matrices(n, count, t.generator(4))).pow(2).mean().item()
    assert abs(sq - 1 / n) < 6 * math.sqrt(2 / (n * n * count)) / n
    # both samplers draw only from the generator they are given: the same seed gives the same matrices
    for sample in (gr.gaussian_matrices, gr.orthogonal_matrices):
        a, b = (sample(4, 2, torch.Generator().manual_seed(5)) for _ in range(2))
        assert all(torch.equal(u, v) for u, v in zip(a, b))
    # absolute slack for the small singular values: the two products associate differently, and a perturbation E
    # moves every singular value by at most ||E||_2 (Weyl), ~ 1e-15 ||W_3|| ||W_2|| ||W_1|| here (seed 24 has
    # one singular value 3e-5 that differs by 6e-17, 2e-12 relative)
    norms = math.prod(torch.linalg.matrix_norm(m, 2).item() for m in mats)
    assert_close(gr.product_singular_values(mats),
                 torch.linalg.svdvals(mats[2] @ mats[1] @ mats[0]), rtol=1e-12, atol=1e-14 * norms)


@check("gradients.orthogonal-product-isometry", devices=("cpu",))
def orthogonal_product_isometry(t):
    """The same depth with orthogonal factors keeps every singular value at 1 (Saxe et al. 2014): full rank 32."""
    mats = gr.orthogonal_matrices(32, 64, t.generator())
    for q in mats[:3]:
        assert_close(q.T @ q, torch.eye(32, dtype=torch.float64), rtol=0, atol=1e-13)
    s = gr.product_singular_values(mats)
    # oracle: the product formed here in the opposite loop order, then numpy's SVD
    p = torch.eye(32, dtype=torch.float64)
    for q in reversed(mats):
        p = p @ q
    assert_close(s, torch.from_numpy(np.linalg.svd(p.numpy(), compute_uv=False)), rtol=0, atol=1e-12)
    assert_close(s, torch.ones_like(s), rtol=0, atol=1e-12)
    t.record("rank_orthogonal", gr.effective_rank(s))
    assert abs(gr.effective_rank(s) - 32) < 1e-9
    # the "more factors, more degenerate" rule is what Gaussian factors of the same size do
    gauss = gr.product_singular_values(gr.gaussian_matrices(32, 64, t.generator(1)))
    assert torch.isfinite(gauss).all() and (gauss[0] / gauss[-1]) > 1e6
    # the effective rank of a flat spectrum is n, of a rank-one spectrum 1
    assert abs(gr.effective_rank(torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)) - 1) < 1e-12
    assert abs(gr.effective_rank(torch.ones(7, dtype=torch.float64)) - 7) < 1e-12
    # the spectrum's scale does not matter, even when its sum is below 1
    assert abs(gr.effective_rank(torch.full((4,), 0.125, dtype=torch.float64)) - 4) < 1e-12


@check("gradients.orthogonal-product-isometry", devices=("cpu",), kind="statistical")
def orthogonal_matrices_are_haar(t):
    """orthogonal_matrices draws from the Haar measure: E[Q_11] = 0 and E[Q_11^2] = 1/n. The plain QR factor
    (without the diag(R) sign fix; LAPACK makes R_11 < 0) fails: its Q_11 is always negative."""
    # 6 SE of the mean: 0.13 for 500 matrices, far below E|Q_11| = 0.42 (n = 4) that an unfixed sign would give
    n, count = 4, 500
    qs = torch.stack(gr.orthogonal_matrices(n, count, t.generator(2)))
    assert_close(qs @ qs.transpose(1, 2), torch.eye(n, dtype=torch.float64).expand(count, n, n), rtol=0, atol=1e-12)
    q11 = qs[:, 0, 0]
    # Q_11 of a Haar matrix: mean 0, variance 1/n; Q_11^2 ~ Beta(1/2, (n-1)/2): variance 2(n-1)/(n^2(n+2))
    se_mean, se_sq = math.sqrt(1 / n / count), math.sqrt(2 * (n - 1) / (n ** 2 * (n + 2)) / count)
    assert abs(q11.mean().item()) < 6 * se_mean
    assert abs(q11.pow(2).mean().item() - 1 / n) < 6 * se_sq
    # the sign-unfixed QR is rejected (batched: LAPACK factors each matrix of the batch on its own)
    plain = torch.linalg.qr(torch.randn(200, n, n, generator=t.generator(3), dtype=torch.float64))[0][:, 0, 0]
    assert abs(plain.mean().item()) > 6 * math.sqrt(1 / n / 200)


@check("gradients.clip-norm-is-global", dtypes=("float32", "float64"))
def clip_norm_is_global(t):
    """clip_grad_norm_ measures ONE norm over all parameters, sqrt(sum ||g_i||^2), returns it (before clipping) and
    scales every gradient by the same factor; clipping each tensor on its own is different. Value clipping bounds
    each entry, not the norm: n entries clipped to c can still have norm c sqrt(n)."""
    shapes = [(4, 3), (3,), (5,)]
    scales = (10.0, 0.1, 3.0)  # two big layers, one small: each big one alone is above max_norm
    grads = [s * t.randn(*shape, stream=i) for i, (shape, s) in enumerate(zip(shapes, scales))]
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    returned = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    flat = torch.cat([g.flatten() for g in grads])
    tol = t.tol(f64=1e-12, f32=1e-6)  # float32: norms of 20 entries, a few ulps
    assert_close(returned, torch.linalg.vector_norm(flat), rtol=tol, atol=0)    # the norm of the concatenation
    assert_close(returned, torch.stack([g.norm() for g in grads]).norm(), rtol=tol, atol=0)
    assert returned > 10  # the pre-clipping norm, not the threshold
    factors = torch.stack([(p.grad.norm() / g.norm()) for p, g in zip(params, grads)])
    assert_close(factors, torch.full_like(factors, 1 / (returned.item() + 1e-6)), rtol=tol, atol=0)  # one factor
    # the plausible wrong version, each tensor clipped to max_norm by itself: the small layer is left alone
    # and the big one cut, so the joint direction turns, and the joint norm exceeds max_norm
    per_tensor = [gr.clip_by_global_norm([g], 1.0)[0][0] for g in grads]
    joint = torch.cat([g.flatten() for g in per_tensor])
    assert joint.norm() > 1.3  # two tensors at norm 1 each: about sqrt(2)
    cos = F.cosine_similarity(joint, flat, dim=0).item()
    assert cos < 1 - 1e-3
    t.record("per_tensor_cosine", cos)
    # infinity norm: the largest |entry|
    for p, g in zip(params, grads):
        p.grad = g.clone()
    assert_close(nn.utils.clip_grad_norm_(params, 1.0, norm_type=float("inf")), flat.abs().max(), rtol=tol, atol=0)
    # clipping by value: 100 entries of size >= 2 clipped at 1 have norm sqrt(100) = 10 = 10 x the threshold
    big = 2 + t.rand(100)
    big = big * torch.where(t.rand(100, stream=1) < 0.5, -1.0, 1.0).to(big)
    p = nn.Parameter(torch.zeros_like(big))
    p.grad = big.clone()
    nn.utils.clip_grad_value_([p], clip_value=1.0)
    (mine,) = gr.clip_by_value([big], 1.0)
    assert torch.equal(mine, p.grad) and torch.equal(mine.abs(), torch.ones_like(mine))
    assert_close(mine.norm(), t.put(10.0), rtol=tol, atol=0)
    t.record("value_clipped_norm", mine.norm())

