"""Checks for docs/*/fundamentals.md. Oracles: float64 numpy forward passes, least squares, np.interp, closed-form
interpolation errors, finite differences, torch.autograd, torch.func.jacfwd/jacrev, torch's FlopCounterMode."""
import copy
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from snippets import fundamentals as fu
from verify._registry import check


def _numpy_mlp(x, net):
    """relu(x W^T + b) layer by layer in float64 numpy, from the module's weights (no torch forward)."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    h = x.detach().cpu().double().numpy()
    for i, layer in enumerate(linears):
        h = h @ layer.weight.detach().cpu().double().numpy().T + layer.bias.detach().cpu().double().numpy()
        if i < len(linears) - 1:
            h = np.maximum(h, 0.0)
    return h


@check("fundamentals.mlp-affine-then-activation", dtypes=("float32", "float64"))
def mlp_affine_then_activation(t):
    """mlp(sizes) is Linear, activation, ..., Linear: each layer x W^T + b, the activation between layers only."""
    sizes = [5, 7, 4, 3]
    t.seed_modules()
    net = fu.mlp(sizes).to(t.device, t.dtype)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(5, 7), (7, 4), (4, 3)]
    x = t.randn(64, 5) * 3
    with torch.no_grad():
        y = net(x)
    # float32: three layers of <= 7-term dot products of O(1) numbers, eps 1.2e-7: 1e-5 is ~10x the error seen
    assert_close(y, torch.as_tensor(_numpy_mlp(x, net)).to(y), rtol=t.tol(f64=1e-12, f32=1e-5),
                 atol=t.tol(f64=1e-12, f32=1e-5))
    # no activation after the last layer: pushed down by its bias, every output goes negative, where a trailing
    # ReLU would clip it at 0 (the random net alone gives no negative output for some seeds, e.g. 51)
    with torch.no_grad():
        net[-1].bias -= 100
        assert (net(x) < 0).all()
    # a neuron is the same thing with one output: phi(w . x + b)
    neuron = fu.mlp([5, 1])
    assert [type(m) for m in neuron] == [nn.Linear]
    tanh_net = fu.mlp([2, 3, 1], activation=nn.Tanh)
    assert [type(m) for m in tanh_net] == [nn.Linear, nn.Tanh, nn.Linear]


@check("fundamentals.mlp-parameter-count", devices=("cpu",))
def mlp_parameter_count(t):
    """sum over layers of (d_in + 1) d_out equals sum(p.numel()) of the built nn.Sequential."""
    for sizes in ([3, 1], [784, 256, 128, 10], [2, 9, 9, 9, 4], [10, 1, 20], (5, 6)):
        built = sum(p.numel() for p in fu.mlp(list(sizes)).parameters())
        assert fu.mlp_parameter_count(sizes) == built, sizes
        pairs = list(zip(sizes[:-1], sizes[1:]))
        # the two plausible slips are both wrong: forgetting the biases, or counting one bias per input
        # (the second coincides with the truth when d_0 = d_L, so every size list here has d_0 != d_L)
        assert sum(a * b for a, b in pairs) != built
        assert sum(a * (b + 1) for a, b in pairs) != built
    n = t.record("mnist_mlp", fu.mlp_parameter_count([784, 256, 128, 10]))
    assert n == 235146


def _stack(t, sizes):
    t.seed_modules()
    return [nn.Linear(a, b).to(t.device, t.dtype) for a, b in zip(sizes[:-1], sizes[1:])]


def _affine_fit(x, y):
    """Least-squares affine map y ~ x A + c (the oracle for 'is this function affine?'). Returns fit, residual."""
    design = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], 1)
    coef = torch.linalg.lstsq(design.cpu(), y.cpu()).solution.to(x.device)
    fit = design @ coef
    return coef, (fit - y).norm() / y.norm()


@check("fundamentals.affine-stack-collapses")
def affine_stack_collapses(t):
    """Linear layers without activations equal one Linear, W = W_L...W_1, whose rank is at most the narrowest width."""
    sizes = [5, 8, 3, 8, 4]
    layers = _stack(t, sizes)
    x = t.randn(200, 5)
    with torch.no_grad():
        y = x
        for layer in layers:
            y = layer(y)
        single = fu.collapse_affine_stack(layers)
        assert (single.in_features, single.out_features) == (5, 4)
        assert_close(single(x), y, rtol=1e-12, atol=1e-12)
        # independent oracle: the least-squares affine fit to input/output pairs is exact and equals the collapse
        coef, residual = _affine_fit(x, y)
        assert residual < 1e-12
        assert_close(coef[:-1].T, single.weight, rtol=1e-9, atol=1e-10)
        assert_close(coef[-1], single.bias, rtol=1e-9, atol=1e-10)
        # the earlier biases pass through the later weights: keeping only the last bias is wrong
        assert (single.bias - layers[-1].bias).abs().max() > 1e-3
        rank = torch.linalg.matrix_rank(single.weight).item()
        assert rank == 3 == min(sizes[1:-1])  # the 3-wide layer is a bottleneck of the whole stack
        t.record("rank", rank)
        t.record("stack_params", sum(p.numel() for layer in layers for p in layer.parameters()))
        t.record("single_params", sum(p.numel() for p in single.parameters()))
        assert t.values["stack_params"] == 143 and t.values["single_params"] == 24
        # with a ReLU between the same layers no affine map fits the network any more
        with_relu = nn.Sequential(*[m for layer in layers for m in (layer, nn.ReLU())][:-1])
        _, residual_relu = _affine_fit(x, with_relu(x))
        assert residual_relu > 1e-3  # against < 1e-12 without the ReLU
    # the collapse refuses a stack with an activation in it
    try:
        fu.collapse_affine_stack(with_relu)
    except TypeError as e:
        assert "layers[1]" in str(e), str(e)
    else:
        raise AssertionError("a ReLU inside the stack was accepted")
    # the collapsed layer is built where the stack lives (device and dtype): a stack on the meta device gives a
    # meta layer, which a layer left on the CPU could not even be filled from
    meta = fu.collapse_affine_stack([nn.Linear(5, 8, device="meta", dtype=torch.float64),
                                     nn.Linear(8, 4, device="meta", dtype=torch.float64)])
    assert (meta.weight.device.type, meta.bias.device.type, meta.weight.dtype) == ("meta", "meta", torch.float64)


def _grid(t, bits):
    """i / 2^bits for i = 0..2^bits."""
    return (torch.arange(2 ** bits + 1, dtype=torch.float64) / 2 ** bits).to(t.device, t.dtype)


def _rounding_tolerance(dtype, knots, values, x):
    """10 (n + 1) eps S, with S the largest sum of |terms| v_0 + sum_i |c_i| relu(x - x_i) the network adds up
    (computed here in float64 from np.diff): a bound, with a margin, on the rounding of that sum."""
    k, v, x = knots.double().numpy(), values.double().numpy(), x.double().numpy()
    slopes = np.diff(v) / np.diff(k)
    jumps = np.abs(np.concatenate([slopes[:1], np.diff(slopes)]))
    scale = np.abs(v[0]) + (np.maximum(x[:, None] - k[None, :-1], 0) * jumps).sum(1).max()
    return 10 * len(k) * torch.finfo(dtype).eps * scale


@check("fundamentals.relu-interpolant-exact", dtypes=("float32", "float64"))
def relu_interpolant_exact(t):
    """n ReLU units in one hidden layer pass through n + 1 given points and are linear between them."""
    g = t.generator(0)
    n = 12
    # knots 1/3 apart, jittered by up to 0.1: gaps >= 0.13 keep the slopes moderate
    knots = torch.linspace(-2, 2, n + 1, dtype=torch.float64) + (torch.rand(n + 1, generator=g, dtype=torch.float64) - 0.5) * 0.2
    values = torch.randn(n + 1, generator=g, dtype=torch.float64) * 3
    net = fu.relu_interpolant(t.put(knots), t.put(values))
    assert net[0].out_features == n
    x = torch.linspace(knots[0].item(), knots[-1].item(), 2001, dtype=torch.float64)
    x = torch.sort(torch.cat([x, knots])).values
    with torch.no_grad():
        at_knots = net(t.put(knots).unsqueeze(1)).squeeze(1)
        y = net(t.put(x).unsqueeze(1)).squeeze(1)
    reference = np.interp(x.numpy(), knots.numpy(), values.numpy())     # numpy's piecewise-linear interpolant
    tol = _rounding_tolerance(t.dtype, knots, values, x)
    assert_close(at_knots, t.put(values), rtol=0, atol=tol)
    assert_close(y, t.put(reference), rtol=0, atol=tol)
    # the output weights are the changes of slope; using the slopes themselves would be wrong
    slopes = (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])
    wrong = values[0] + (torch.relu(x.unsqueeze(1) - knots[:-1]) * slopes).sum(1)
    assert (wrong - torch.as_tensor(reference)).abs().max() > 1e-2
    # two knots: one unit, the straight line through both points (and the constant v_0 left of x_0)
    line = fu.relu_interpolant(t.put([-1.0, 3.0]), t.put([2.0, 4.0]))
    assert line[0].out_features == 1
    with torch.no_grad():
        assert_close(line(t.put([[-2.0], [-1.0], [1.0], [3.0]])).squeeze(1), t.put([2.0, 2.0, 3.0, 4.0]),
                     rtol=0, atol=t.tol(f64=1e-15, f32=1e-6))
    # a large range: values 1000 apart on knots 1e-3 apart (slopes of 1e6) are still hit to rounding
    k2 = torch.tensor([0.0, 1e-3, 2e-3, 3e-3], dtype=torch.float64)
    v2 = torch.tensor([0.0, 1000.0, -1000.0, 0.0], dtype=torch.float64)
    with torch.no_grad():
        hit = fu.relu_interpolant(t.put(k2), t.put(v2))(t.put(k2).unsqueeze(1)).squeeze(1)
    assert_close(hit, t.put(v2), rtol=0, atol=_rounding_tolerance(t.dtype, k2, v2, k2))


def _max_error(t, target, n):
    """Max |target - relu_interpolant| over a dyadic grid of [0, 1] for n uniform knots."""
    x = _grid(t, 12)
    knots = (torch.arange(n + 1, dtype=torch.float64) / n).to(t.device, t.dtype)
    net = fu.relu_interpolant(knots, target(knots))
    with torch.no_grad():
        err = (net(x.unsqueeze(1)).squeeze(1) - target(x)).abs()
    assert torch.isfinite(err).all()
    return err.max().item()


@check("fundamentals.uat-width-error-shrinks", devices=("cpu",))
def uat_width_error_shrinks(t):
    """The one-hidden-layer interpolant's max error on sin(2 pi x) stays below h^2 max|f''| / 8 and falls 4x per
    doubling of the width; on sqrt(x), which has no bounded f'', it is exactly 1 / (4 sqrt(n)): 2x per 4x width."""
    sine = lambda x: torch.sin(2 * math.pi * x)  # noqa: E731
    errors = {}
    for n in (8, 16, 32, 64, 128):
        errors[n] = _max_error(t, sine, n)
        bound = fu.interpolation_error_bound(n, 1.0, 4 * math.pi ** 2)
        assert errors[n] <= bound
        if n >= 32:
            assert errors[n] >= 0.99 * bound  # the bound is tight: near the crest the error is h^2 |f''| / 8
    for n in (16, 32, 64):
        assert 3.9 < errors[n] / errors[2 * n] < 4.1
    t.record("sin_err_8", errors[8])
    t.record("sin_err_64", errors[64])
    t.record("sin_bound_64", fu.interpolation_error_bound(64, 1.0, 4 * math.pi ** 2))
    # the bound itself, by hand: h = 1/64, max|f''| = 4 pi^2 -> pi^2 / (2 * 64^2)
    assert math.isclose(fu.interpolation_error_bound(64, 1.0, 4 * math.pi ** 2), math.pi ** 2 / (2 * 64 ** 2),
                        rel_tol=1e-14)
    assert math.isclose(fu.interpolation_error_bound(4, 3.0, 2.0), (3 / 4) ** 2 * 2 / 8, rel_tol=1e-14)
    assert fu.interpolation_error_bound(5, 2.0, 0.0) == 0.0  # a straight line (f'' = 0) is interpolated exactly
    # sqrt: the worst interval is the first, [0, h], where sqrt(x) - x / sqrt(h) peaks at x = h/4 with sqrt(h)/4
    sqrt_errors = {n: _max_error(t, torch.sqrt, n) for n in (16, 64, 256)}
    for n, err in sqrt_errors.items():
        assert math.isclose(err, 1 / (4 * math.sqrt(n)), rel_tol=1e-12)
    t.record("sqrt_err_16", sqrt_errors[16])
    t.record("sqrt_err_256", sqrt_errors[256])
    assert t.values["sqrt_err_16"] / t.values["sqrt_err_256"] == 4.0  # 16x the width, only 4x smaller
    # the guarantee holds on the compact set it was built for: on [1, 2] the network just continues its last
    # piece (slope ~2 pi) while sin keeps oscillating
    knots = torch.arange(65, dtype=torch.float64) / 64
    outside = 1 + _grid(t, 10)
    with torch.no_grad():
        y = fu.relu_interpolant(knots, sine(knots))(outside.unsqueeze(1)).squeeze(1)
    t.record("outside_err_64", (y - sine(outside)).abs().max())
    assert t.values["outside_err_64"] > 1000 * errors[64] and t.values["outside_err_64"] > 5


def _square_net(g, width):
    """One hidden layer with the polynomial activation z^2, N(0, 1) weights."""
    w = torch.randn(width, 1, generator=g, dtype=torch.float64)
    b = torch.randn(width, generator=g, dtype=torch.float64)
    a = torch.randn(width, generator=g, dtype=torch.float64)
    return lambda x: ((x.unsqueeze(1) * w.T + b) ** 2) @ a, lambda x: (x.unsqueeze(1) * w.T + b) ** 2


@check("fundamentals.polynomial-activation-not-universal", devices=("cpu",))
def polynomial_activation_not_universal(t):
    """With the activation z^2 a one-hidden-layer network of any width is a quadratic, so its error on sin(2 pi x)
    never falls below the best quadratic's; ReLU units, being non-polynomial, go below it and keep going."""
    x = _grid(t, 10)
    target = torch.sin(2 * math.pi * x)
    g = t.generator(0)
    for width in (1, 10, 100):
        f, _ = _square_net(g, width)
        y = f(x)
        fit = np.polyval(np.polyfit(x.numpy(), y.numpy(), 2), x.numpy())
        assert np.abs(fit - y.numpy()).max() <= 1e-9 * np.abs(y.numpy()).max()  # exactly a quadratic
    rms = lambda e: e.pow(2).mean().sqrt().item()  # noqa: E731
    best_quadratic = rms(torch.as_tensor(np.polyval(np.polyfit(x.numpy(), target.numpy(), 2), x.numpy())) - target)
    for width in (3, 30, 300):
        _, features = _square_net(g, width)
        design = torch.cat([features(x), torch.ones(x.numel(), 1, dtype=torch.float64)], 1)
        best = design @ torch.linalg.lstsq(design, target.unsqueeze(1), driver="gelsd").solution.squeeze(1)
        err = rms(best - target)  # the best output weights for these hidden units
        assert err >= best_quadratic * (1 - 1e-9) and math.isclose(err, best_quadratic, rel_tol=1e-6)
    relu_errors = []
    for n in (4, 8, 16):
        knots = torch.arange(n + 1, dtype=torch.float64) / n
        with torch.no_grad():
            y = fu.relu_interpolant(knots, torch.sin(2 * math.pi * knots))(x.unsqueeze(1)).squeeze(1)
        relu_errors.append(rms(y - target))
    assert relu_errors[0] < best_quadratic and relu_errors[2] < relu_errors[1] < relu_errors[0]
    t.record("best_quadratic_rms", best_quadratic)
    t.record("relu4_rms", relu_errors[0])
    t.record("relu16_rms", relu_errors[2])


def _scalar_mlp(t, n, hidden=16):
    """A fixed scalar function of x in R^n: w3 . tanh(W2 tanh(W1 x + b1)), weights N(0, 1/fan_in)."""
    g = t.generator(5)
    w1 = t.put(torch.randn(n, hidden, generator=g, dtype=torch.float64) / math.sqrt(n))
    b1 = t.put(torch.randn(hidden, generator=g, dtype=torch.float64))
    w2 = t.put(torch.randn(hidden, hidden, generator=g, dtype=torch.float64) / math.sqrt(hidden))
    w3 = t.put(torch.randn(hidden, 1, generator=g, dtype=torch.float64) / math.sqrt(hidden))
    return lambda x: (torch.tanh(torch.tanh(x @ w1 + b1) @ w2) @ w3).sum()


@check("fundamentals.reverse-mode-one-pass")
def reverse_mode_one_pass(t):
    """One backward pass returns all n partial derivatives of a scalar; a jvp returns one, so forward mode needs n
    passes. The two gradients agree with each other and with central differences."""
    n = 12
    f = _scalar_mlp(t, n)
    x = t.randn(1, n, stream=1)
    # (the first forward-mode call of a process loads PyTorch's jvp decompositions, ~0.6 s, once)
    _, tangent = torch.func.jvp(f, (x,), (torch.ones_like(x),))
    assert tangent.shape == ()                     # one directional derivative per forward-mode pass
    reverse, forward = fu.gradient_reverse_mode(f, x), fu.gradient_forward_mode(f, x)
    assert reverse.shape == x.shape                # one backward pass: all n partial derivatives at once
    assert_close(forward, reverse, rtol=1e-12, atol=1e-14)  # forward-mode AD is an independent implementation
    h, central = 1e-6, torch.empty_like(x)
    for i in range(n):
        e = torch.zeros_like(x)
        e[0, i] = h
        central[0, i] = (f(x + e) - f(x - e)) / (2 * h)
    assert_close(reverse, central, rtol=0, atol=1e-8)  # h^2 truncation + eps/h rounding ~ 1e-10
    # a Jacobian of g: R^n -> R^m needs m vjps (one row each) or n jvps (one column each): the same matrix
    m = 3
    w = t.put(torch.randn(n, m, generator=t.generator(6), dtype=torch.float64))
    g = lambda v: torch.tanh(v @ w).squeeze(0)  # noqa: E731
    leaf = x.clone().requires_grad_(True)
    out = g(leaf)
    rows = torch.stack([torch.autograd.grad(out, leaf, grad_outputs=torch.eye(m, dtype=x.dtype, device=x.device)[j],
                                            retain_graph=True)[0].squeeze(0) for j in range(m)])
    assert_close(torch.func.jacfwd(g)(x).squeeze(1), rows, rtol=1e-12, atol=1e-14)
    assert_close(rows, (1 - g(x).unsqueeze(1) ** 2) * w.T, rtol=1e-12, atol=1e-14)  # the closed form


def _flops(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@check("fundamentals.backward-twice-forward", devices=("cpu",))
def backward_twice_forward(t):
    """FlopCounterMode: a linear layer's backward costs 2x its forward (dW and dx), 1x when its input needs no
    gradient; so an MLP's backward is a little under 2x its forward."""
    t.seed_modules()
    for batch, n_in, n_out in ((3, 5, 7), (16, 64, 10), (1, 2, 3), (32, 7, 128)):
        layer = nn.Linear(n_in, n_out).double()
        for input_grad in (True, False):
            x = torch.randn(batch, n_in, dtype=torch.float64, requires_grad=input_grad)
            with FlopCounterMode(display=False) as counter:
                y = layer(x)
            forward = counter.get_total_flops()
            backward = _flops(lambda: y.sum().backward())
            expected = fu.linear_layer_flops(batch, n_in, n_out, input_grad=input_grad)
            assert (forward, backward) == (expected["forward"], expected["backward"])
            if input_grad:  # the default is a hidden layer, whose input needs a gradient
                assert fu.linear_layer_flops(batch, n_in, n_out) == {"forward": forward, "backward": backward}
            assert backward == (2 if input_grad else 1) * forward
        assert forward != batch * n_in * n_out  # a FLOP is counted per multiply and per add, 2 per multiply-add
    ratios = {}
    for name, sizes, batch in (("mnist", [784, 256, 128, 10], 64), ("deep", [512] * 9, 8)):
        # on the meta device: FlopCounterMode counts from shapes, so the nets need no initialized weights and
        # no arithmetic (the small layers above run on real CPU tensors)
        with torch.device("meta"):
            net = fu.mlp(sizes).double()
            x = torch.randn(batch, sizes[0], dtype=torch.float64)
        with FlopCounterMode(display=False) as counter:
            out = net(x)
        forward = counter.get_total_flops()
        backward = _flops(lambda: out.sum().backward())
        assert fu.mlp_flops(sizes, batch) == {"forward": forward, "backward": backward}
        ratios[name] = t.record(f"ratio_{name}", backward / forward)
    assert math.isclose(ratios["mnist"], 2 - 784 * 256 / (784 * 256 + 256 * 128 + 128 * 10), rel_tol=1e-12)
    assert ratios["deep"] == 2 - 1 / 8 and 1 < ratios["mnist"] < ratios["deep"] < 2


@check("fundamentals.forward-mode-cost-grows", devices=("cpu",))
def forward_mode_cost_grows(t):
    """FlopCounterMode: the reverse-mode gradient of a scalar MLP of n inputs costs 2 forward passes whatever n;
    the forward-mode one (jacfwd) at least n."""
    for n in (8, 16, 32):
        f = _scalar_mlp(t, n, hidden=24)
        x = t.randn(1, n, stream=1)
        forward = _flops(lambda: f(x))
        reverse = _flops(lambda: fu.gradient_reverse_mode(f, x))
        fwd_mode = _flops(lambda: torch.func.jacfwd(f)(x))
        assert reverse == 2 * forward   # one forward, one backward through x (the weights need no gradient)
        # n tangent passes, the value, and one product of the activations with the weights' zero tangent
        assert n * forward <= fwd_mode <= (n + 2) * forward
    t.record("n", n)
    t.record("reverse_passes", reverse / forward)
    t.record("forward_mode_passes", fwd_mode / forward)


def _xor_data(g, n):
    """Points uniform on [-1, 1]^2, labelled 1 where x1 x2 > 0 (the first and third quadrants)."""
    x = torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1
    return x, (x[:, 0] * x[:, 1] > 0).double()


def _accuracy(model, x, y):
    with torch.no_grad():
        return ((model(x).squeeze(1) > 0).double() == y).double().mean().item()


def _best_half_plane(x, y, directions=720):
    """Highest accuracy of any classifier 1[d . x > c] over `directions` unit vectors d and every threshold c.
    The opposite direction -d, threshold -c, labels every point the other way, so only half the directions are
    sorted: each split scores max(correct, n - correct). (numpy: its argsort is a few times faster than torch's.)"""
    theta = np.arange(directions // 2) * (2 * math.pi / directions)
    proj = np.stack([np.cos(theta), np.sin(theta)], 1) @ x.numpy().T   # one row per direction
    ys = y.numpy()[proj.argsort(1)]                # labels in the order of each projection
    # the split after the first k points (label 0 below, 1 above) gets (k - ones_k) + (S - ones_k) right, with
    # ones_k the 1s among the first k and S all the 1s: S + v_k, v_k = k - 2 ones_k (v_0 = 0 for k = 0)
    n, ones = y.numel(), float(y.sum())
    v = np.arange(1, n + 1) - 2 * ys.cumsum(1)
    best = max(ones + max(v.max(), 0.0), n - ones - min(v.min(), 0.0))   # max(correct, n - correct)
    return float(best / n)


@check("fundamentals.feature-learning-xor", devices=("cpu",), kind="demonstration")
def feature_learning_xor(t):
    """On quadrant-XOR data no linear classifier of the raw inputs does much better than 2/3; an MLP learns hidden
    features on which a linear classifier is more than 90% right."""
    g = t.generator(0)
    x_train, y_train = _xor_data(g, 200)
    x_test, y_test = _xor_data(g, 1000)
    t.seed_modules()
    linear = fu.fit_binary_classifier(nn.Linear(2, 1).double(), x_train, y_train, steps=50, lr=0.05)
    hidden = nn.Sequential(nn.Linear(2, 8), nn.Tanh()).double()
    net = fu.fit_binary_classifier(nn.Sequential(hidden, nn.Linear(8, 1).double()), x_train, y_train, steps=50, lr=0.1)
    with torch.no_grad():
        features_train, features_test = hidden(x_train), hidden(x_test)   # the learned representation, frozen
    # a convex problem on 8 fixed features: a larger step gets there in 30 steps
    probe = fu.fit_binary_classifier(nn.Linear(8, 1).double(), features_train, y_train, steps=30, lr=0.3)
    acc = {
        "linear_raw": _accuracy(linear, x_test, y_test),
        "best_half_plane": _best_half_plane(x_test, y_test),
        "mlp": _accuracy(net, x_test, y_test),
        "probe": _accuracy(probe, features_test, y_test),
    }
    for name, value in acc.items():
        t.record(name, value)
    # over seeds 0-79: linear_raw 0.34-0.66, best half-plane 0.67-0.72, mlp >= 0.934, probe >= 0.932
    assert acc["linear_raw"] <= 0.72 and acc["best_half_plane"] <= 0.74
    assert acc["mlp"] >= 0.92 and acc["probe"] >= 0.92


def _xor_net():
    """Two ReLU units that fit XOR exactly: relu(x1 + x2) - 2 relu(x1 + x2 - 1)."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        net[0].bias.copy_(torch.tensor([0.0, -1.0]))
        net[2].weight.copy_(torch.tensor([[1.0, -2.0]]))
        net[2].bias.zero_()
    return net


def _flat(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def _with_params(net, flat):
    out, i = copy.deepcopy(net), 0
    with torch.no_grad():
        for p in out.parameters():
            p.copy_(flat[i:i + p.numel()].view_as(p))
            i += p.numel()
    return out


@check("fundamentals.permutation-symmetry-nonconvex", devices=("cpu",))
def permutation_symmetry_nonconvex(t):
    """Relabelling hidden units leaves the function unchanged, so a minimum has copies; the midpoint of two copies
    is worse than both, which a convex loss forbids."""
    xor_x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    xor_y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    net = _xor_net()
    swapped = fu.permute_hidden_units(net, torch.tensor([1, 0]))
    assert not torch.equal(_flat(net), _flat(swapped))
    loss = lambda m: F.mse_loss(m(xor_x), xor_y).item()  # noqa: E731
    assert loss(net) == 0.0 == loss(swapped)                 # two different global minima
    middle = _with_params(net, (_flat(net) + _flat(swapped)) / 2)
    t.record("midpoint_loss", loss(middle))
    assert loss(middle) == 27 / 16                           # both units become relu(x1 + x2 - 1/2) with weight -1/2
    # on random networks and inputs, every relabelling (and, for tanh, every sign flip) computes the same function
    g = t.generator(0)
    x = torch.randn(50, 4, generator=g, dtype=torch.float64)
    t.seed_modules()
    for act in (nn.ReLU, nn.Tanh):
        rnd = fu.mlp([4, 3, 2], activation=act).double()
        with torch.no_grad():
            reference = rnd(x)
            settings = set()
            for perm in itertools.permutations(range(3)):
                relabelled = fu.permute_hidden_units(rnd, torch.tensor(perm))
                assert_close(relabelled(x), reference, rtol=1e-12, atol=1e-12)
                signs_list = itertools.product((1.0, -1.0), repeat=3) if act is nn.Tanh else [(1.0,) * 3]
                w1, b1, w2, b2 = (p.detach() for p in relabelled.parameters())
                for signs in signs_list:
                    s = torch.tensor(signs, dtype=torch.float64)
                    # tanh(-z) = -tanh(z): negate a unit's inputs and its output weight; the flipped network's
                    # forward pass written out (a module copy per sign pattern costs more than the forward)
                    flipped = (w1 * s.unsqueeze(1), b1 * s, w2 * s, b2)
                    out = F.linear(relabelled[1](F.linear(x, flipped[0], flipped[1])), flipped[2], flipped[3])
                    assert_close(out, reference, rtol=1e-12, atol=1e-12)
                    settings.add(tuple(torch.cat([p.reshape(-1) for p in flipped]).tolist()))
            assert len(settings) == (48 if act is nn.Tanh else 6)  # 3! relabellings x 2^3 sign patterns for tanh
            # a sign flip is not a symmetry for ReLU, and relabelling W1 without W2 is not a symmetry at all
            bad = _with_params(rnd, _flat(rnd))
            bad[0].weight.copy_(rnd[0].weight[[1, 2, 0]])
            bad[0].bias.copy_(rnd[0].bias[[1, 2, 0]])
            assert (bad(x) - reference).abs().max() > 1e-3
    relu = fu.mlp([4, 3, 2]).double()
    flipped = _with_params(relu, _flat(relu))
    with torch.no_grad():
        flipped[0].weight.neg_()
        flipped[0].bias.neg_()
        flipped[2].weight.neg_()
        assert (flipped(x) - relu(x)).abs().max() > 1e-3
    # the midpoint test is not blind: on logistic regression (a convex loss) it never fires
    xs = torch.randn(40, 3, generator=g, dtype=torch.float64)
    ys = (torch.rand(40, generator=g, dtype=torch.float64) > 0.5).double()
    # 200 random pairs of parameter vectors (w, bias) at once, one per row; the loss of each row's model
    logistic = lambda w: F.binary_cross_entropy_with_logits(  # noqa: E731
        xs @ w[:, :3].T + w[:, 3], ys.unsqueeze(1).expand(-1, len(w)), reduction="none").mean(0)
    a, b = torch.randn(2, 200, 4, generator=g, dtype=torch.float64) * 3
    assert (logistic((a + b) / 2) <= (logistic(a) + logistic(b)) / 2 + 1e-12).all()
