"""Checks for docs/*/activations.md. Oracles: torch built-ins, autograd, closed forms."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import activations as act
from snippets import initialization as ini
from verify._registry import check


def _grid(t, half_width, step):
    """Points k * step for |k * step| <= half_width; 0 is exactly on the grid."""
    n = round(half_width / step)
    return (torch.arange(-n, n + 1, dtype=torch.float64) * step).to(t.device, t.dtype)


def _autograd(fn, x):
    """Derivative of an elementwise fn at every point of x, by autograd."""
    x = x.detach().clone().requires_grad_(True)
    fn(x).sum().backward()
    return x.grad


@check("activations.linear-layers-collapse")
def linear_layers_collapse(t):
    """Two Linear layers without an activation are one affine map W2 W1 z + (W2 b1 + b2)."""
    t.seed_modules()
    l1, l2 = nn.Linear(4, 6).to(t.device, t.dtype), nn.Linear(6, 3).to(t.device, t.dtype)
    z = t.randn(5, 4)
    w, b = l2.weight @ l1.weight, l2.weight @ l1.bias + l2.bias
    assert_close(l2(l1(z)), z @ w.T + b, rtol=1e-12, atol=1e-12)
    # with a ReLU in between the composite is no longer affine: f(a) + f(b) != f(a + b) + f(0)
    f = lambda u: l2(torch.relu(l1(u)))  # noqa: E731
    a, b2 = t.randn(1, 4, stream=1), t.randn(1, 4, stream=2)
    f_lin = lambda u: l2(l1(u))  # noqa: E731
    assert_close(f_lin(a) + f_lin(b2), f_lin(a + b2) + f_lin(torch.zeros_like(a)), rtol=1e-12, atol=1e-12)
    assert (f(a) + f(b2) - f(a + b2) - f(torch.zeros_like(a))).abs().max() > 1e-3


def _perceptron_separates(feats, y, epochs=1000):
    """Rosenblatt's perceptron (with a bias), run on every feature set of a batch (..., points, features) side by
    side: each run stops with every point correct iff it finds a separator within `epochs` updates; returns one
    bool per run. In numpy: on four points each update is a few tiny operations, where torch's per-call overhead
    dominates; the runs are rows of one array, each updated only while it still has a wrong point."""
    points, dim = feats.shape[-2:]
    f = feats.numpy().reshape(-1, points, dim)
    f = np.concatenate([f, np.ones((len(f), points, 1))], 2)
    s = 2 * y.numpy() - 1
    w, rows = np.zeros((f.shape[0], f.shape[2])), np.arange(f.shape[0])
    done = np.zeros(f.shape[0], dtype=bool)
    for _ in range(epochs):
        wrong = s * np.einsum("rpf,rf->rp", f, w) <= 0     # (runs, points)
        done |= ~wrong.any(1)                              # a run with no wrong point has stopped: separated
        if done.all():
            break
        i = wrong.argmax(1)                                # each run's first wrong point
        w = w + np.where(done[:, None], 0.0, s[i][:, None] * f[rows, i])
    return done.reshape(feats.shape[:-2])


@check("activations.xor-needs-nonlinear-map", devices=("cpu",))
def xor_needs_nonlinear_map(t):
    """No linear feature map makes XOR linearly separable; one ReLU layer does.
    Separability is tested as classification: a certificate of inseparability, and the perceptron as positive control."""
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]], dtype=torch.float64)
    y = torch.tensor([0., 1., 1., 0.], dtype=torch.float64)
    s = x.sum(1)
    relu_feats = torch.stack([torch.relu(s), torch.relu(s - 1)], 1)
    assert torch.equal(relu_feats @ torch.tensor([1., -2.], dtype=torch.float64), y)  # exact: h1 - 2 h2
    assert _perceptron_separates(relu_feats, y)       # the separability test says yes when it should
    rng = t.rng()
    a = torch.as_tensor(rng.normal(size=(100, 2, 5)))  # 100 random linear maps x A
    c = torch.as_tensor(rng.normal(size=(20, 1, 5)))
    lin = x @ a
    # certificate (Farkas): the two classes' feature means coincide, so every classifier w.f + b gives
    # the two classes the same mean score and cannot be positive on one and negative on the other
    assert_close(lin[:, y == 1].mean(1), lin[:, y == 0].mean(1), rtol=0, atol=1e-12)
    # the perceptron never finishes on linear features (it would on separable ones)
    assert not _perceptron_separates(lin[:10], y, epochs=200).any()
    # a random *nonlinear* map relu(x A + c) often separates XOR: the test is not blind
    separable_random_relu = int(_perceptron_separates(torch.relu(lin[:20] + c), y, epochs=200).sum())
    assert separable_random_relu >= 3
    # the regression view: the best affine least-squares fit predicts 1/2 everywhere, squared error 1
    feats = torch.cat([x, torch.ones(4, 1, dtype=torch.float64)], 1)
    fit = feats @ torch.linalg.lstsq(feats, y.unsqueeze(1)).solution.squeeze(1)
    assert_close(fit, torch.full((4,), 0.5, dtype=torch.float64), rtol=0, atol=1e-12)


@check("activations.sigmoid-formula-range", dtypes=("float32", "float64"))
def sigmoid_formula_range(t):
    """sigma(x) = 1/(1+e^-x) matches torch.sigmoid and lies in (0, 1); float32 rounds to 1 at x=20."""
    x = torch.linspace(-30, 30, 6001, dtype=torch.float64).to(t.device, t.dtype)
    assert_close(act.sigmoid(x), torch.sigmoid(x), rtol=t.tol(f64=1e-14, f32=2e-6), atol=0)
    inner = torch.linspace(-80, 15, 9501, dtype=torch.float64).to(t.device, t.dtype)
    s = act.sigmoid(inner)
    assert (s > 0).all() and (s < 1).all()
    if t.dtype == torch.float32:  # the open interval is a real-number fact; float32 saturates
        assert act.sigmoid(t.put([20.0])).item() == 1.0 == torch.sigmoid(t.put([20.0])).item()
        # from where: 1 + e^-x rounds to 1 once e^-x <= 2^-24, i.e. x >= 24 ln 2 = 16.64 (grid step 0.01)
        grid = _grid(t, 30, 0.01)
        first = t.record("sigmoid_one", grid[(torch.sigmoid(grid) == 1) & (grid > 0)][0])
        assert abs(first.item() - 24 * math.log(2)) < 0.011
        assert torch.equal(act.sigmoid(grid) == 1, torch.sigmoid(grid) == 1)


@check("activations.sigmoid-derivative-quarter", dtypes=("float32", "float64"))
def sigmoid_derivative_quarter(t):
    """sigma' = sigma(1 - sigma) equals autograd's derivative; its maximum is exactly 1/4 at 0."""
    x = _grid(t, 12, 0.01)
    d = act.sigmoid_derivative(x)
    assert_close(d, _autograd(torch.sigmoid, x), rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=0, f32=1e-7))
    assert act.sigmoid_derivative(t.put([0.0])).item() == 0.25
    assert d.max().item() == 0.25 and x[d.argmax()].item() == 0.0
    assert (d <= 0.25).all()


@check("activations.tanh-shifted-sigmoid", dtypes=("float32", "float64"))
def tanh_shifted_sigmoid(t):
    """tanh(x) = 2 sigma(2x) - 1 = (e^x - e^-x)/(e^x + e^-x), range (-1, 1)."""
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64).to(t.device, t.dtype)
    tol = t.tol(f64=1e-15, f32=1e-6)
    assert_close(act.tanh(x), torch.tanh(x), rtol=0, atol=tol)
    defn = (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))
    assert_close(act.tanh(x), defn, rtol=0, atol=tol)
    inner = torch.linspace(-8, 8, 1601, dtype=torch.float64).to(t.device, t.dtype)
    assert (act.tanh(inner).abs() < 1).all()
    # the odd symmetry that makes tanh zero-centred: tanh(-x) = -tanh(x)
    assert_close(act.tanh(-x), -act.tanh(x), rtol=0, atol=tol)
    if t.dtype == torch.float32:
        # float32 rounds tanh to 1 once 1 - tanh(x) ~ 2 e^-2x falls below 2^-25: x > 13 ln 2 = 9.01
        grid = _grid(t, 12, 0.01)
        first = t.record("tanh_one", grid[torch.tanh(grid) == 1][0])
        assert abs(first.item() - 13 * math.log(2)) < 0.02


@check("activations.tanh-derivative-at-most-one", dtypes=("float32", "float64"))
def tanh_derivative_at_most_one(t):
    """tanh' = 1 - tanh^2 equals autograd's derivative, is <= 1, and equals 1 only at 0."""
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64).to(t.device, t.dtype)
    d = act.tanh_derivative(x)
    assert_close(d, _autograd(torch.tanh, x), rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-15, f32=1e-6))
    assert (d <= 1).all() and act.tanh_derivative(t.put([0.0])).item() == 1.0
    assert d[x.abs() >= 0.1].max() < 1 - 1e-3  # four times sigmoid's peak, but still < 1 away from 0


@check("activations.relu-gradient", dtypes=("float32", "float64"))
def relu_gradient(t):
    """ReLU = max(0, x); its gradient is 1 for x > 0, 0 for x < 0, and torch returns 0 at x = 0."""
    x = t.randn(1000)
    assert torch.equal(act.relu(x), torch.relu(x)) and torch.equal(act.relu(x), x.clamp(min=0))
    # range [0, inf): never negative, 0 is attained, and every non-negative value is its own image (unbounded)
    edges = t.put([-float("inf"), -1e30, -1e-30, 0.0, 1e-30, 1e30, float("inf")])
    assert torch.equal(act.relu(edges), torch.relu(edges))
    assert torch.equal(act.relu(edges), t.put([0.0, 0.0, 0.0, 0.0, 1e-30, 1e30, float("inf")]))
    assert bool((act.relu(x) >= 0).all()) and act.relu(x).min().item() == 0.0
    pos = x[x > 0]
    assert torch.equal(act.relu(pos), pos)
    pts = t.put([-1.0, 0.0, 1.0, 1e6])
    assert torch.equal(_autograd(torch.relu, pts), t.put([0.0, 0.0, 1.0, 1.0]))
    assert torch.equal(act.relu_derivative(pts), _autograd(torch.relu, pts))
    assert torch.equal(act.relu_derivative(x), _autograd(torch.relu, x))
    assert act.relu_derivative(pts).dtype == t.dtype  # a 0/1 mask in x's dtype, not a bool tensor
    # autograd through the snippet's relu takes the same branch as torch at exactly 0: gradient 0, not 1
    assert torch.equal(_autograd(act.relu, pts), _autograd(torch.relu, pts))


@check("activations.relu-does-not-stop-explosion")
def relu_does_not_stop_explosion(t):
    """ReLU's unit slope does not prevent exploding gradients: scaling every weight by s > 0 scales the
    output's input-gradient by s^L, its weight gradients by s^(L-1), and those of a squared loss by s^(2L-1)."""
    depth, width, s = 30, 64, 1.5
    x = t.randn(16, width)
    r = t.randn(16, width, stream=2)
    g = t.generator(stream=1)
    he = [torch.randn(width, width, generator=g, dtype=torch.float64).to(x) * math.sqrt(2 / width)
          for _ in range(depth)]

    def grads(weights, loss):
        xi = x.clone().requires_grad_(True)
        ws = [w.clone().requires_grad_(True) for w in weights]
        out = act.relu_stack(xi, ws)
        value = (out * r).sum() if loss == "linear" else out.pow(2).sum()
        got = torch.autograd.grad(value, [xi, *ws])
        return got[0], got[1:]

    (base_x, base_w), (big_x, big_w) = grads(he, "linear"), grads([s * w for w in he], "linear")
    # ReLU is positively homogeneous, so the same units are active and the gradients scale exactly
    assert_close(big_x, base_x * s ** depth, rtol=1e-9, atol=0)
    # float64 rounding relative to each layer's largest entry (single entries can cancel)
    for gb, g0 in zip(big_w, base_w):
        assert_close(gb / s ** (depth - 1), g0, rtol=1e-8, atol=1e-12 * g0.abs().max().item())
    assert not torch.allclose(big_w[0], base_w[0] * s ** depth, rtol=1e-3)  # s^L is wrong for the weights
    (_, sq0), (_, sq1) = grads(he, "square"), grads([s * w for w in he], "square")
    for gb, g0 in zip(sq1, sq0):
        assert_close(gb / s ** (2 * depth - 1), g0, rtol=1e-8, atol=1e-12 * g0.abs().max().item())
    factor = t.record("input_grad_factor_x1e_5", (big_x.norm() / base_x.norm()).item() / 1e5)
    assert round(factor, 1) == 1.9  # 1.5^30 = 1.92e5
    # the sign matters: s = -1 flips which units are active, so no power law holds
    (neg_x, _) = grads([-w for w in he], "linear")
    assert not torch.allclose(neg_x, base_x * (-1) ** depth, rtol=1e-3)
    # and for negative inputs the "derivative 1" is in fact 0: those units pass no gradient at all
    assert torch.equal(_autograd(torch.relu, -t.rand(1000) - 1e-3), torch.zeros(1000, dtype=t.dtype, device=t.device))


@check("activations.leaky-relu-gradient", dtypes=("float32", "float64"))
def leaky_relu_gradient(t):
    """Leaky ReLU max(x, kx): gradient 1 or k, never 0; PyTorch default k = 0.01, k at x = 0."""
    assert nn.LeakyReLU().negative_slope == 0.01
    x = t.randn(1000)
    for k in (0.01, 0.2):
        assert_close(act.leaky_relu(x, k), F.leaky_relu(x, k), rtol=0, atol=0)
        grads = _autograd(lambda u, k=k: F.leaky_relu(u, k), x)
        assert torch.equal(act.leaky_relu_derivative(x, k), grads)
        assert (grads > 0).all()
    pts = t.put([-1.0, 0.0, 1.0])
    assert_close(_autograd(F.leaky_relu, pts), t.put([0.01, 0.01, 1.0]), rtol=0, atol=0)
    # the snippet's defaults are k = 0.01 too, and at exactly 0 both it and autograd through it give k, not 1
    assert torch.equal(act.leaky_relu(x), F.leaky_relu(x))
    assert torch.equal(act.leaky_relu_derivative(pts), _autograd(F.leaky_relu, pts))
    assert torch.equal(_autograd(act.leaky_relu, pts), _autograd(F.leaky_relu, pts))
    assert_close(act.leaky_relu(t.put([-1e6])), t.put([-1e4]), rtol=1e-6, atol=0)  # unbounded below


@check("activations.zero-centred", kind="statistical")
def zero_centred(t):
    """For inputs symmetric about 0: E[tanh] = 0, E[sigma] = 1/2 exactly; E[relu] = 1/sqrt(2 pi) > 0."""
    z = t.randn(100_000)  # the SE of ReLU's mean is then 0.0018: 1/2 lies 55 SE away
    pair = torch.cat([z, -z])  # symmetrising makes the first two facts exact, not statistical
    assert act.tanh(pair).mean().abs() < 1e-15
    assert_close(act.sigmoid(pair).mean(), torch.tensor(0.5, dtype=t.dtype, device=t.device), rtol=0, atol=1e-15)
    # relu(z) has mean 1/sqrt(2 pi) and SD sqrt(1/2 - 1/(2 pi)); 6 standard errors of the mean
    sd = math.sqrt(0.5 - 1 / (2 * math.pi))
    mean = t.record("relu_mean", 1 / math.sqrt(2 * math.pi))
    assert abs(act.relu(z).mean().item() - mean) < 6 * sd / math.sqrt(z.numel())
    assert abs(act.relu(z).mean().item() - 0.5) > 6 * sd / math.sqrt(z.numel())  # not the sigmoid's 1/2
    # positive inputs: for ONE example, dL/dw_i = x_i dL/dy all share the sign of dL/dy (autograd) ...
    unit = nn.Linear(5, 1, bias=False).to(t.device, t.dtype)
    xs = act.sigmoid(t.randn(2, 5, stream=1))  # all in (0, 1)
    for i, err in ((0, 1.0), (1, -1.0)):
        unit.zero_grad()
        (unit(xs[i:i + 1]).sum() * err).backward()
        assert (torch.sign(unit.weight.grad) == err).all()
    # ... but averaged over a mini-batch whose errors differ in sign, the signs can differ
    unit.zero_grad()
    (unit(xs) * t.put([[1.0], [-1.0]])).sum().backward()
    assert_close(unit.weight.grad, (xs[0] - xs[1]).unsqueeze(0), rtol=1e-12, atol=1e-15)


@check("activations.sigmoid-chain-shrinks")
def sigmoid_chain_shrinks(t):
    """Through n stacked sigmoids the gradient is at most 4^-n (each factor sigma' <= 1/4)."""
    x = _grid(t, 10, 0.005)
    for depth in (1, 2, 5, 10):
        g = _autograd(lambda u, d=depth: act.sigmoid_chain(u, d), x)
        assert (g > 0).all() and g.max() <= 0.25 ** depth * (1 + 1e-12)  # allow rounding
    assert _autograd(lambda u: act.sigmoid_chain(u, 1), t.put([0.0])).item() == 0.25
    # with weights w per layer the bound is (|w|/4)^n: it shrinks unless |w| > 4
    w = 3.0
    g = _autograd(lambda u: torch.sigmoid(w * torch.sigmoid(w * u)), x)
    assert g.max() <= (w / 4) ** 2


@check("activations.monotone-not-convex", devices=("cpu",))
def monotone_not_convex(t):
    """A monotone activation does not make a one-neuron loss convex: (sigma(w) - 1)^2 has L'' < 0 exactly for
    w < -ln 2, where sigma(w) = 1/3; log(1 + e^-w) (cross-entropy) is convex."""
    w = torch.linspace(-10, 10, 4001, dtype=torch.float64)

    def second_derivative(f, v):  # autograd, twice
        v = v.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(v).sum(), v, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), v)
        return h

    sq = lambda v: (act.sigmoid(v) - 1) ** 2  # noqa: E731
    d2 = second_derivative(sq, w)
    s = torch.sigmoid(w)
    assert_close(d2, -2 * s * (1 - s) ** 2 * (1 - 3 * s), rtol=1e-10, atol=1e-15)  # closed form
    fd = (np.diff(sq(w).numpy(), 2) / (w[1] - w[0]).item() ** 2)  # finite differences, independent
    assert np.allclose(fd, d2[1:-1].numpy(), rtol=0, atol=1e-5)
    # where the curvature changes sign: the first grid point with L'' >= 0, against -ln 2
    boundary = t.record("boundary", w[(d2 >= 0).nonzero()[0, 0]].item())
    assert abs(boundary + math.log(2)) <= (w[1] - w[0]).item() and round(boundary, 2) == -0.69
    assert (d2[w < -math.log(2) - 1e-3] < 0).all() and (d2[w > -math.log(2) + 1e-3] > 0).all()
    # the tempting "negative curvature for every w < 0" is wrong: L'' > 0 on (-ln 2, 0)
    assert (d2[(w > -0.6) & (w < 0)] > 0).all()
    ce = lambda v: torch.log1p(torch.exp(-v))  # noqa: E731
    assert (second_derivative(ce, w) > 0).all()


# ---- issue 9: ReLU as a piecewise-linear building block ----

@check("activations.relu-piecewise-linear", devices=("cpu",))
def relu_piecewise_linear(t):
    """A one-hidden-layer ReLU net with one unit per piece equals the piecewise-linear interpolant (np.interp);
    for x^2 on [-1, 1] its largest error is h^2/4 (at the midpoints), so doubling the units quarters the error."""
    rng = t.rng()
    knots = np.sort(rng.uniform(-3, 3, size=9))
    values = rng.normal(size=9)
    net = act.relu_interpolant(torch.as_tensor(knots), torch.as_tensor(values))
    assert net[0].out_features == 8  # 8 pieces, 8 hidden units
    x = np.linspace(knots[0], knots[-1], 5001)
    with torch.no_grad():
        got = net(torch.as_tensor(x).unsqueeze(1)).squeeze(1).numpy()
    assert np.allclose(got, np.interp(x, knots, values), rtol=0, atol=1e-12)
    # the smallest case, two knots: one unit, the straight line through the two points
    line = act.relu_interpolant(torch.tensor([-1.0, 3.0], dtype=torch.float64),
                                torch.tensor([2.0, -6.0], dtype=torch.float64))
    assert line[0].out_features == 1
    with torch.no_grad():
        pts = torch.tensor([[-1.0], [0.5], [3.0]], dtype=torch.float64)
        assert_close(line(pts), 2.0 - 2.0 * (pts + 1), rtol=0, atol=1e-15)
    # the net is built on the knots' device, whatever the default device (torch.set_default_device) says
    knots_t, values_t = torch.as_tensor(knots), torch.as_tensor(values)
    with torch.device("meta"):
        here = act.relu_interpolant(knots_t, values_t)
    assert all(p.device == torch.device("cpu") and p.dtype == torch.float64 for p in here.parameters())
    # it is not linear: f(a) + f(b) != f(a + b) + f(0) for some a, b inside the range
    errors = {}
    for pieces in (8, 16):
        k = torch.linspace(-1, 1, pieces + 1, dtype=torch.float64)
        sq = act.relu_interpolant(k, k ** 2)
        grid = torch.linspace(-1, 1, 64 * pieces + 1, dtype=torch.float64).unsqueeze(1)  # holds every midpoint
        with torch.no_grad():
            err = (sq(grid) - grid ** 2).abs()
        h = 2 / pieces
        assert torch.isfinite(err).all()
        assert_close(err.max(), torch.tensor(h ** 2 / 4, dtype=torch.float64), rtol=1e-12, atol=0)
        errors[pieces] = err.max().item()
    assert math.isclose(errors[8] / errors[16], 4, rel_tol=1e-9)  # O(h^2): not halved (O(h)), quartered
    assert round(t.record("max_error_8_units", errors[8]), 6) == 0.015625
    with torch.no_grad():
        a, b = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[0.45]], dtype=torch.float64)
        sq = act.relu_interpolant(torch.linspace(-1, 1, 9, dtype=torch.float64),
                                  torch.linspace(-1, 1, 9, dtype=torch.float64) ** 2)
        assert (sq(a) + sq(b) - sq(a + b) - sq(torch.zeros_like(a))).abs().item() > 0.1


# ---- issue 9: dying ReLU ----

def _dead_relu_setup(t, width=32):
    """A 10 -> width -> 1 ReLU regression net and 256 examples; the target is a random ReLU teacher."""
    t.seed_modules()
    x = t.randn(256, 10)
    teacher = t.randn(10, 1, stream=1)
    y = torch.relu(x @ teacher)
    net = nn.Sequential(nn.Linear(10, width), nn.ReLU(), nn.Linear(width, 1)).to(t.device, t.dtype)
    return net, x, y


@check("activations.dead-relu-zero-gradient", dtypes=("float32", "float64"))
def dead_relu_zero_gradient(t):
    """A unit whose pre-activation is <= 0 on every example gets exactly zero gradient (autograd), so SGD never
    moves it; dead_relu_units finds such units; on a mini-batch more units look dead than on the data set;
    with Leaky ReLU the same unit receives a nonzero gradient."""
    net, x, y = _dead_relu_setup(t)
    with torch.no_grad():
        net[0].bias[[3, 7]] -= 100  # |w . x| < 100 for every example: units 3 and 7 are off everywhere
    pre = net[0](x)
    dead = act.dead_relu_units(pre.detach())
    assert dead.dtype == torch.bool and dead.shape == (32,)
    assert torch.equal(dead, (pre <= 0).all(0)) and dead.nonzero().flatten().tolist() == [3, 7]
    loss = (net(x) - y).pow(2).mean()
    gw, gb = torch.autograd.grad(loss, [net[0].weight, net[0].bias])
    assert torch.equal(gw[dead], torch.zeros_like(gw[dead])) and torch.equal(gb[dead], torch.zeros_like(gb[dead]))
    assert (gw[~dead].abs().sum(1) > 0).all()  # a live unit does get gradient: the test can tell them apart
    before = net[0].weight.detach().clone(), net[0].bias.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(50):
        opt.zero_grad()
        (net(x) - y).pow(2).mean().backward()
        opt.step()
    assert torch.equal(net[0].weight[dead], before[0][dead]) and torch.equal(net[0].bias[dead], before[1][dead])
    assert not torch.equal(net[0].weight[~dead], before[0][~dead])
    assert act.dead_relu_units(net[0](x).detach())[[3, 7]].all()  # still dead: nothing can revive them
    # silent on a batch is not dead: a fresh net has no dead unit on the 256 examples, but on one example each
    # unit is off with probability 1/2 (symmetric init), so the count is Binomial(32, 1/2): P(< 4) ~ 1e-6
    fresh = _fresh_pre(t)
    assert act.dead_relu_units(fresh).sum() == 0
    assert t.record("silent_on_1_example", act.dead_relu_units(fresh[:1]).sum()) >= 4
    # the other way round holds exactly: a unit dead on the data set is dead on every batch of it
    batch_mask = act.dead_relu_units(pre.detach()[:8])
    assert bool(batch_mask[dead].all()) and batch_mask.sum() >= dead.sum()
    # "<= 0", not "< 0": a unit whose pre-activation is exactly 0 everywhere is dead too, since relu'(0) = 0
    edge = torch.stack([torch.zeros(6), -torch.linspace(0.5, 1, 6), torch.tensor([0., 0, 0, 0, 0, 1e-30])], 1).to(x)
    no_grad = _autograd(torch.relu, edge).eq(0).all(0)  # the oracle: autograd gives the unit no gradient at all
    assert torch.equal(act.dead_relu_units(edge), no_grad) and no_grad.tolist() == [True, True, False]
    # conv layout: a channel is dead when it is <= 0 at every example and position
    fmap = t.randn(2, 3, 4, 4, stream=3)
    fmap[:, 1] = -fmap[:, 1].abs()
    assert act.dead_relu_units(fmap).tolist() == [False, True, False]
    # Leaky ReLU: the same unit, off on every example, still gets a gradient through the slope k
    net, x, y = _dead_relu_setup(t)
    net[1] = nn.LeakyReLU(0.01)
    with torch.no_grad():
        net[0].bias[[3, 7]] -= 100
    gw, gb = torch.autograd.grad((net(x) - y).pow(2).mean(), [net[0].weight, net[0].bias])
    assert (gb[[3, 7]].abs() > 0).all() and (gw[[3, 7]].abs().sum(1) > 0).all()


def _fresh_pre(t):
    net, x, _ = _dead_relu_setup(t)
    with torch.no_grad():
        return net[0](x)


def _train_relu_nets(t, lrs, nets=8, width=32, steps=25):
    """For each learning rate in `lrs`, `nets` independent 10 -> width -> 1 ReLU nets (nn.Linear's default init
    U(+-1/sqrt(fan_in)), the same draws for every learning rate), trained side by side by full-batch SGD on the
    same 256 examples; the target is a ReLU teacher with values of order 1. The loss is the SUM of the nets' MSEs,
    so each net's parameters get exactly its own gradient, and SGD's update p -= lr * grad is applied with each
    net's own lr (all learning rates in one batched run). Returns, per learning rate, the dead-unit mask over its
    nets' units and the nets' final MSEs."""
    g = t.generator(stream=5)

    def uniform(*shape, fan_in):
        w = (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) / math.sqrt(fan_in)
        return w.to(t.device, t.dtype).repeat(len(lrs), 1, 1)
    params = [uniform(nets, width, 10, fan_in=10), uniform(nets, 1, width, fan_in=10),
              uniform(nets, 1, width, fan_in=width), uniform(nets, 1, 1, fan_in=width)]
    w1, b1, w2, b2 = [p.requires_grad_(True) for p in params]
    lr = t.put(lrs).repeat_interleave(nets).view(-1, 1, 1)   # net i of learning rate j: row j * nets + i
    x = t.randn(256, 10)
    y = torch.relu(x @ t.randn(10, 1, stream=1) / math.sqrt(10))
    for _ in range(steps):
        pre = x @ w1.transpose(1, 2) + b1                           # (runs, 256, width)
        loss = (torch.relu(pre) @ w2.transpose(1, 2) + b2 - y).pow(2).mean(dim=(1, 2))
        grads = torch.autograd.grad(loss.sum(), [w1, b1, w2, b2])
        with torch.no_grad():
            for p, grad in zip((w1, b1, w2, b2), grads):
                p.sub_(lr * grad)                                   # plain SGD, as torch.optim.SGD(lr=lr)
    with torch.no_grad():
        pre = x @ w1.transpose(1, 2) + b1
        final = (torch.relu(pre) @ w2.transpose(1, 2) + b2 - y).pow(2).mean(dim=(1, 2))
    units = pre.view(len(lrs), nets, 256, width).permute(0, 2, 1, 3).reshape(len(lrs), 256, nets * width)
    return [(act.dead_relu_units(u), f) for u, f in zip(units, final.view(len(lrs), nets))]


@check("activations.dead-relu-learning-rate", dtypes=("float64",), kind="demonstration")
def dead_relu_learning_rate(t):
    """Demonstration: 8 independent ReLU nets, 25 full-batch SGD steps: with lr 0.05 no unit dies, with lr 0.5
    (large steps that overshoot) a good fraction of the 256 units ends with pre-activation <= 0 on every example."""
    dead = {}
    lrs = (0.05, 0.5)
    for lr, (mask, final) in zip(lrs, _train_relu_nets(t, lrs)):
        assert torch.isfinite(final).all()
        dead[lr] = int(mask.sum())
    t.record("dead_small_lr", dead[0.05])
    frac = t.record("dead_fraction_large_lr", dead[0.5] / mask.numel())
    # measured over seeds 0-199 (25 steps; 50 gave the same lowest fraction): lr 0.05 -> no dead unit in any of the
    # 1600 nets; lr 0.5 -> 5.9-51 % of the units
    assert dead[0.05] == 0
    assert frac > 0.05


@check("activations.batchnorm-prevents-dead-relu", dtypes=("float32", "float64"))
def batchnorm_prevents_dead_relu(t):
    """BatchNorm in training mode centres each unit on the batch: its output has batch mean beta, so while
    beta >= 0 some example is positive and the unit cannot be dead on that batch, whatever its bias."""
    net, x, _ = _dead_relu_setup(t)
    with torch.no_grad():
        net[0].bias[[3, 7]] -= 100
    bn = nn.BatchNorm1d(32).to(t.device, t.dtype).train()
    with torch.no_grad():
        pre = net[0](x)
        assert act.dead_relu_units(pre).sum() == 2
        out = bn(pre)
        # centring the -100 units cancels about 7 bits: the batch mean's rounding, a few ulp of max|pre|, is divided
        # by the unit's SD (over seeds 0-299 in float32 the error reached 6.5 eps max|pre| / SD; a fixed 1e-4 failed
        # at seed 29), so the tolerance is 32 times that, per unit and dtype
        tol = 32 * torch.finfo(t.dtype).eps * pre.abs().amax(0) / pre.std(0)
        gap = (out.mean(0) - bn.bias).abs()
        assert (gap <= tol).all(), (gap.max().item(), tol.min().item())
        assert act.dead_relu_units(out).sum() == 0
        bn.bias.fill_(0.1)  # beta > 0: still none dead
        assert act.dead_relu_units(bn(pre)).sum() == 0
        # the protection is only as good as beta: a shift well below the batch's spread kills units again
        bn.bias.fill_(-10.0)
        assert act.dead_relu_units(bn(pre)).sum() == 32
        # in eval mode BN uses running statistics, not the batch's: it no longer re-centres the -100 units
        bn.reset_parameters()
        bn.eval()
        assert act.dead_relu_units(bn(pre))[[3, 7]].all()


# ---- issue 9: ELU, PReLU, SELU ----

def _phi(x):
    """Standard normal CDF in float64 (math.erfc keeps the tails accurate)."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _normal_expectation(f, q=1.0, half_width=12.0, n=20001):
    """E[f(sqrt(q) Z)], Z ~ N(0, 1), by Simpson's rule on each side of 0 (where the activations have a kink)."""
    total = 0.0
    for lo, hi in ((-half_width, 0.0), (0.0, half_width)):
        z = torch.linspace(lo, hi, n, dtype=torch.float64)
        w = torch.ones(n, dtype=torch.float64)
        w[1:-1:2], w[2:-1:2] = 4, 2
        dens = torch.exp(-z ** 2 / 2) / math.sqrt(2 * math.pi)
        total += ((hi - lo) / (n - 1) / 3 * (w * f(math.sqrt(q) * z) * dens).sum()).item()
    return total


@check("activations.elu-formula", dtypes=("float32", "float64"))
def elu_formula(t):
    """ELU = x (x > 0), alpha (e^x - 1) (x <= 0) matches F.elu; range (-alpha, inf); slope alpha e^x on the
    left, so the derivative is continuous at 0 only for alpha = 1; for N(0,1) inputs its mean is
    1/sqrt(2 pi) + e^(1/2) Phi(-1) - 1/2, well below ReLU's."""
    x = _grid(t, 8, 0.01)
    tol = t.tol(f64=1e-14, f32=1e-6)
    for alpha in (1.0, 0.5, 2.0):
        assert_close(act.elu(x, alpha), F.elu(x, alpha), rtol=tol, atol=tol)
        g = _autograd(lambda u, a=alpha: act.elu(u, a), x)
        assert_close(g, _autograd(lambda u, a=alpha: F.elu(u, a), x), rtol=tol, atol=tol)
        # on the left the slope is alpha e^x = elu(x) + alpha: the backward pass can reuse the output
        left = x <= 0
        assert_close(g[left], act.elu(x, alpha)[left] + alpha, rtol=tol, atol=tol)
        # slopes just left and right of 0: alpha and 1
        assert_close(_autograd(lambda u, a=alpha: act.elu(u, a), t.put([-1e-6, 1e-6])),
                     t.put([alpha, 1.0]), rtol=t.tol(f64=2e-6, f32=2e-6), atol=0)
    assert act.elu(t.put([-1e3]), 1.0).item() == -1.0 and (act.elu(x, 2.0) > -2.0).all()
    assert act.elu(t.put([0.0])).item() == 0.0
    # the clamp keeps the discarded exp branch finite: the gradient at x = 1000 is 1, not NaN
    assert _autograd(act.elu, t.put([1000.0])).item() == 1.0
    # for every x > 0 the discarded branch is expm1(0) = 0 and contributes no gradient, whatever alpha: even with
    # alpha = inf (inf * 0 = NaN in that branch) the slope is 1, as for F.elu
    pos = t.put([1e-30, 0.5, 1.0, 1000.0])
    inf_slope = _autograd(lambda u: act.elu(u, math.inf), pos)
    assert torch.equal(inf_slope, torch.ones_like(pos))
    assert torch.equal(inf_slope, _autograd(lambda u: F.elu(u, math.inf), pos))
    if t.dtype == torch.float64:
        mean = 1 / math.sqrt(2 * math.pi) + math.exp(0.5) * _phi(-1) - 0.5
        assert math.isclose(_normal_expectation(act.elu), mean, rel_tol=1e-10)
        assert math.isclose(_normal_expectation(torch.relu), 1 / math.sqrt(2 * math.pi), rel_tol=1e-10)
        assert round(t.record("elu_mean", mean), 3) == 0.161


@check("activations.prelu-learned-slope", dtypes=("float32", "float64"))
def prelu_learned_slope(t):
    """PReLU max(0,x) + a min(0,x) matches F.prelu (one slope, or one per channel of dim 1); nn.PReLU starts
    with one slope 0.25; dL/da = sum over x < 0 of x * upstream (autograd); a = 0 is ReLU, a fixed k is leaky."""
    m = nn.PReLU().to(t.device, t.dtype)
    assert m.weight.shape == (1,) and m.weight.item() == 0.25
    x = t.randn(4, 3, 5, 5)
    tol = t.tol(f64=1e-15, f32=1e-6)
    assert_close(act.prelu(x, m.weight.detach()), F.prelu(x, m.weight.detach()), rtol=tol, atol=tol)
    a = t.put([0.1, 0.25, -0.3])  # per channel; a may even go negative
    assert_close(act.prelu(x, a), F.prelu(x, a), rtol=tol, atol=tol)
    assert_close(act.prelu(x, a)[:, 2], torch.where(x[:, 2] > 0, x[:, 2], -0.3 * x[:, 2]), rtol=tol, atol=tol)
    # the gradient of the slope, by autograd through the snippet and through nn.PReLU
    up = t.randn(4, 3, 5, 5, stream=1)
    a_leaf = a.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad((act.prelu(x, a_leaf) * up).sum(), [a_leaf])
    expected = (x.clamp(max=0) * up).sum(dim=(0, 2, 3))
    assert_close(ga, expected, rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    pm = nn.PReLU(3).to(t.device, t.dtype)
    with torch.no_grad():
        pm.weight.copy_(a)
    (pm(x) * up).sum().backward()
    assert_close(pm.weight.grad, expected, rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    assert torch.equal(act.prelu(x, t.put([0.0])), torch.relu(x))
    # channels are dim 1 for any x with at least 2 dims: (N, C) as after a Linear layer, and (N, C, L)
    for shape in ((6, 3), (2, 3, 7)):
        xs = t.randn(*shape, stream=2)
        assert_close(act.prelu(xs, a), F.prelu(xs, a), rtol=tol, atol=tol)
    # at exactly 0 the input gradient is the slope a, as for F.prelu (and leaky ReLU's k), not 1
    zero = torch.zeros(2, 3, dtype=t.dtype, device=t.device)
    assert torch.equal(_autograd(lambda u: act.prelu(u, a), zero), _autograd(lambda u: F.prelu(u, a), zero))
    assert torch.equal(_autograd(lambda u: act.prelu(u, a), zero), a.expand(2, 3))
    assert_close(act.prelu(x, t.put([0.01])), F.leaky_relu(x, 0.01), rtol=0, atol=0)


def _selu_moments(q):
    """E[selu(sqrt(q) Z)] and E[selu(sqrt(q) Z)^2] in closed form, Z ~ N(0, 1)."""
    a, s, r = act.SELU_ALPHA, act.SELU_SCALE, math.sqrt(q)
    mean = s * (r / math.sqrt(2 * math.pi) + a * (math.exp(q / 2) * _phi(-r) - 0.5))
    second = s ** 2 * (q / 2 + a ** 2 * (math.exp(2 * q) * _phi(-2 * r) - 2 * math.exp(q / 2) * _phi(-r) + 0.5))
    return mean, second


@check("activations.selu-fixed-point", devices=("cpu",))
def selu_fixed_point(t):
    """SELU's two constants are the solution of E[selu(Z)] = 0, E[selu(Z)^2] = 1 for Z ~ N(0, 1): solved here
    in closed form and compared with torch's; the moments are checked by quadrature of F.selu. ELU (alpha 1)
    and SELU fed by the wrong weight scale are off the fixed point."""
    x = torch.linspace(-20, 20, 40001, dtype=torch.float64)
    assert_close(act.selu(x), F.selu(x), rtol=1e-15, atol=1e-15)
    # mean 0 fixes alpha, second moment 1 then fixes the scale (Klambauer et al. 2017, eq. 14)
    alpha = 1 / (math.sqrt(2 * math.pi) * (0.5 - math.exp(0.5) * _phi(-1)))
    scale = 1 / math.sqrt(0.5 + alpha ** 2 * (math.exp(2) * _phi(-2) - 2 * math.exp(0.5) * _phi(-1) + 0.5))
    assert math.isclose(alpha, act.SELU_ALPHA, rel_tol=1e-14) and math.isclose(scale, act.SELU_SCALE, rel_tol=1e-14)
    assert round(t.record("alpha", alpha), 4) == 1.6733 and round(t.record("scale", scale), 4) == 1.0507
    mean, second = _selu_moments(1.0)
    assert abs(mean) < 1e-15 and abs(second - 1) < 1e-15
    assert abs(_normal_expectation(F.selu)) < 1e-12
    assert abs(_normal_expectation(lambda z: F.selu(z) ** 2) - 1) < 1e-12
    # quadrature and closed form agree away from the fixed point too (the oracle is not blind)
    for q in (0.5625, 2.0):
        m_q, s_q = _selu_moments(q)
        assert math.isclose(_normal_expectation(F.selu, q), m_q, rel_tol=1e-10)
        assert math.isclose(_normal_expectation(lambda z: F.selu(z) ** 2, q), s_q, rel_tol=1e-10)
    # the fixed point attracts: q -> E[selu(sqrt(q) Z)^2] has slope < 1 at q = 1 (central difference)
    slope = (_selu_moments(1 + 1e-5)[1] - _selu_moments(1 - 1e-5)[1]) / 2e-5
    assert 0 < t.record("variance_map_slope", slope) < 1 and round(slope, 2) == 0.78
    # off the fixed point after ONE layer: ELU, and SELU with He's variance 2/n or calculate_gain('selu') = 3/4
    elu_mean, elu_second = _normal_expectation(act.elu), _normal_expectation(lambda z: act.elu(z) ** 2)
    assert elu_mean > 0.15 and elu_second < 0.7
    he_second = t.record("he_second_moment", _selu_moments(2.0)[1])
    assert he_second > 1.7
    assert nn.init.calculate_gain("selu") == 0.75
    gain_second = t.record("gain_3_4_second_moment", _selu_moments(0.75 ** 2)[1])
    assert gain_second < 0.65


def _lecun_weights(t, count, width, depth, stream):
    """depth x count independent width x width LeCun-normal matrices N(0, 1/fan_in), drawn in float32 on the CPU.
    That is kaiming_normal_(w, nonlinearity='linear'): std = gain / sqrt(fan_in) with gain 1 (drawn directly
    with randn here, which is three times faster than normal_ for these 7M numbers)."""
    assert nn.init.calculate_gain("linear") == 1
    w = torch.randn(depth, count, width, width, generator=t.generator(stream)).mul_(1 / math.sqrt(width))
    return w.to(t.device, t.dtype)


def _layer_stats(x, weights, fn=act.selu):
    """Per network (dim 0): mean and unbiased variance over the units of each layer's output; one input each."""
    outputs, h = [], x
    for w in weights:
        h = fn(h @ w.transpose(-1, -2))
        outputs.append(h.reshape(h.shape[0], -1))
    flat = torch.stack(outputs).double()  # (depth, networks, units)
    return flat.mean(2), flat.var(2)


@check("activations.selu-self-normalizes", dtypes=("float32",), kind="statistical")
def selu_self_normalizes(t):
    """32 independent 24-layer SELU networks of width 64 with LeCun-normal weights, one N(0, I) input each:
    at every layer the mean over networks of the units' mean is 0 and of their variance is 1, within 6 standard
    errors (estimated from the spread over the independent networks). He's scale, PyTorch's default Linear
    init, calculate_gain('selu') and ELU all drift away; Xavier-uniform, which is 1/n on square layers, stays."""
    nets, width, depth = 32, 64, 24
    w = _lecun_weights(t, nets, width, depth, stream=0)
    x = t.randn(nets, 1, width, stream=1)
    # selu_stack (on the page) against F.selu layer by layer; float32: 24 layers of rounding, values of order 1
    assert_close(act.selu_stack(x[:4], list(w[:, :4])), _selu_chain(x[:4], w[:, :4]), rtol=1e-4, atol=1e-4)
    # batched weights that are not square (out != in): the input size is the last dim of W, not dim 1 or -2
    wide = [t.randn(2, 4, 5, stream=3), t.randn(2, 6, 4, stream=4)]
    xin = t.randn(2, 3, 5, stream=5)
    assert_close(act.selu_stack(xin, wide), _selu_chain(xin, wide), rtol=1e-5, atol=1e-5)  # float32, 2 layers
    means, variances = _layer_stats(x, w)

    def within(stats, target, count):
        err = (stats.mean(1) - target).abs()
        se = stats.std(1) / math.sqrt(count)
        return bool((err < 6 * se).all())
    # finite width moves the expected variance by about -1.6/width = -0.025, 0.6 standard errors (0.042)
    assert within(means, 0.0, nets) and within(variances, 1.0, nets)
    t.record("last_mean", means[-1].mean())
    t.record("last_variance", variances[-1].mean())
    # the wrong combinations, on 4 of the same networks: the variance runs away within the 24 layers
    few = slice(0, 4)
    he = _layer_stats(x[few], math.sqrt(2) * w[:, few])[1][-1].mean()
    gain = _layer_stats(x[few], nn.init.calculate_gain("selu") * w[:, few])[1][-1].mean()
    elu = _layer_stats(x[few], w[:, few], fn=act.elu)[1][-1].mean()
    uniform = torch.empty(depth * 4 * width, width)
    nn.init.kaiming_uniform_(uniform, a=math.sqrt(5), generator=t.generator(2))  # nn.Linear's default
    default = _layer_stats(x[few], uniform.view(depth, 4, width, width).to(t.device, t.dtype))[1][-1].mean()
    # measured over seeds 0-29 (last layer): He 24-233, gain 3/4 0.032-0.084, ELU 0.006-0.019, default 8e-6-4e-5
    assert t.record("he_variance", he) > 10
    assert t.record("gain_3_4_variance", gain) < 0.1
    assert t.record("elu_variance", elu) < 0.05
    assert t.record("default_variance", default) < 1e-3
    # Xavier-uniform on square layers: U(-a, a) with a = sqrt(6 / (n + n)), Var = a^2/3 = 1/n, self-normalizes too
    bound = ini.xavier_uniform_bound(width, width)
    assert math.isclose(bound ** 2 / 3, 1 / width, rel_tol=1e-12)
    xav = torch.rand(depth, 16, width, width, generator=t.generator(3)).mul_(2 * bound).sub_(bound)
    xm, xv = _layer_stats(x[:16], xav.to(t.device, t.dtype))
    assert within(xm[-1:], 0.0, 16) and within(xv[-1:], 1.0, 16)  # last layer only: 16 networks, t with 15 dof


def _selu_chain(x, w):
    h = x
    for layer in w:
        h = F.selu(h @ layer.transpose(-1, -2))
    return h


# ---- issue 9: softplus, GELU, Swish/SiLU, Mish, GLU/SwiGLU ----

@check("activations.softplus-smooth-relu", dtypes=("float32", "float64"))
def softplus_smooth_relu(t):
    """softplus_beta = log(1 + e^(beta x))/beta matches F.softplus; its derivative is sigmoid(beta x) (autograd,
    also at 0); 0 < softplus_beta - relu <= ln 2 / beta with equality at 0, so it tends to ReLU as beta grows."""
    x = _grid(t, 15, 0.01)
    tol = t.tol(f64=1e-14, f32=1e-6)
    for beta in (1.0, 2.0, 10.0):
        # F.softplus switches to x once beta x > 20 (softplus-threshold); below that both are log(1 + e^(beta x))
        inside = beta * x <= 20
        assert_close(act.softplus(x, beta)[inside], F.softplus(x, beta)[inside], rtol=tol, atol=tol)
        assert torch.equal(F.softplus(x, beta)[~inside], x[~inside])
        dropped, slack = (act.softplus(x, beta) - x)[~inside], tol * x[~inside]  # slack: rounding of x itself
        assert ((dropped >= -slack) & (dropped <= math.log1p(math.exp(-20)) / beta + slack)).all()
        assert_close(_autograd(lambda u, b=beta: act.softplus(u, b), x), torch.sigmoid(beta * x), rtol=tol, atol=tol)
    assert _autograd(act.softplus, t.put([0.0])).item() == 0.5
    if t.dtype == torch.float64:
        for beta in (1.0, 5.0, 50.0):
            gap = act.softplus(x, beta) - torch.relu(x)
            # > 0 in the reals; in float64 (beta x + log1p(e^-beta x))/beta rounds to x (+- an ulp) once beta x > ~37
            assert (gap >= -2e-16 * x.abs()).all() and (gap[beta * x.abs() < 30] > 0).all()
            assert_close(gap.max(), torch.tensor(math.log(2) / beta, dtype=t.dtype), rtol=1e-14, atol=0)
            assert gap.argmax() == (x == 0).nonzero()[0, 0]
    # the naive formula overflows in float32 beyond ln(float32 max) = 88.7; the snippet does not
    big = t.put([100.0, 1000.0])
    assert torch.equal(act.softplus(big), big)
    if t.dtype == torch.float32:
        assert torch.isinf(torch.log(1 + torch.exp(big))).all()
        # from where: the first grid point at which e^x is inf, against ln(float32 max) = 88.72
        grid = torch.arange(8000, 9500, dtype=torch.float64).div(100).to(t.device, t.dtype)
        first = t.record("naive_overflow", grid[torch.isinf(torch.exp(grid))][0])
        assert abs(first.item() - math.log(torch.finfo(torch.float32).max)) <= 0.011
        assert torch.isfinite(act.softplus(grid)).all()


@check("activations.softplus-threshold", dtypes=("float32", "float64"))
def softplus_threshold(t):
    """F.softplus(x, beta, threshold=20) returns x itself once beta x > 20; the value it drops there is
    log1p(e^-20)/beta = 2.06e-9/beta: visible in float64, below float32's resolution at x = 20."""
    above = t.put([20.001, 25.0, 1e4])
    assert torch.equal(F.softplus(above), above)
    below = t.put([19.99, 10.0])
    assert_close(F.softplus(below), torch.log1p(torch.exp(below)), rtol=t.tol(f64=1e-15, f32=1e-7), atol=0)
    for beta in (1.0, 4.0):
        x = t.put([21.0 / beta])
        jump = (act.softplus(x, beta) - F.softplus(x, beta)).item()
        if t.dtype == torch.float64:
            assert math.isclose(jump, math.log1p(math.exp(-21)) / beta, rel_tol=1e-6)
        else:
            assert jump == 0.0  # 7.6e-10 is far below half an ulp of x (float32 spacing near 20 is 1.9e-6)
    if t.dtype == torch.float64:
        assert round(t.record("drop_at_threshold_x1e_9", math.log1p(math.exp(-20)) * 1e9), 2) == 2.06


@check("activations.gelu-definition", dtypes=("float32", "float64"))
def gelu_definition(t):
    """GELU(x) = x Phi(x) matches F.gelu; GELU' = Phi(x) + x phi(x) (autograd); GELU(x) - GELU(-x) = x like ReLU;
    it is not monotone: its minimum is about -0.17, at x = -0.75, where the derivative changes sign."""
    x = _grid(t, 10, 0.001)
    # F.gelu computes 1 + erf(x / sqrt 2), which cancels for x << 0: in float64 that costs values below 1e-14,
    # in float32 up to 1e-6 near x = -3.4 (measured against float64); 2e-6 is also 2 ulps of |x| = 10
    assert_close(act.gelu(x), F.gelu(x), rtol=t.tol(f64=1e-13, f32=2e-6), atol=t.tol(f64=1e-15, f32=2e-6))
    phi = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * torch.erfc(-x / math.sqrt(2))
    assert_close(_autograd(act.gelu, x), cdf + x * phi, rtol=t.tol(f64=1e-12, f32=1e-5),
                 atol=t.tol(f64=1e-14, f32=1e-6))
    assert_close(act.gelu(x) - act.gelu(-x), x, rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
    # close to ReLU away from 0: |GELU - relu| = |x| Phi(-|x|), 1.3e-4 at |x| = 4
    assert (act.gelu(x) - torch.relu(x)).abs()[x.abs() >= 4].max() < 2e-4
    assert (act.gelu(x) - torch.relu(x)).abs()[x.abs() <= 1].max() > 0.1  # but not near 0
    if t.dtype == torch.float64:
        # the root of GELU' by bisection (an independent computation of where the minimum is)
        lo, hi = -1.0, -0.5
        d = lambda v: _phi(v) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        assert d(lo) < 0 < d(hi)
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if d(mid) < 0 else (lo, mid)
        xmin = t.record("argmin", lo)
        assert abs(x[act.gelu(x).argmin()].item() - xmin) <= 0.001
        vmin = t.record("min", act.gelu(t.put([xmin])).item())
        assert round(xmin, 2) == -0.75 and round(vmin, 2) == -0.17
        assert (act.gelu(x) >= vmin - 1e-15).all()
        assert (_autograd(act.gelu, x)[x < -1] < 0).any()  # decreasing somewhere: not monotone


@check("activations.gelu-tanh-approximation", dtypes=("float32", "float64"))
def gelu_tanh_approximation(t):
    """The tanh approximation matches F.gelu(approximate='tanh') and stays within 4.7e-4 of the exact GELU
    (largest at |x| = 2.70); the cheaper x sigmoid(1.702 x) is 0.020 off; x sigmoid(x) (SiLU) is not GELU."""
    # step 1e-3 locates the largest error (at 2.6989, found on a 1e-5 grid) to 2.699, and its value to 6 digits
    x = _grid(t, 10, 0.001)
    # float32: values up to 10, whose ulp is 9.5e-7
    assert_close(act.gelu_tanh(x), F.gelu(x, approximate="tanh"), rtol=t.tol(f64=1e-14, f32=2e-6),
                 atol=t.tol(f64=1e-15, f32=2e-6))
    exact = F.gelu(x)
    err = (act.gelu_tanh(x) - exact).abs()
    assert torch.isfinite(err).all()
    if t.dtype == torch.float64:
        e = t.record("max_error_x1e_4", err.max().item() * 1e4)
        at = t.record("max_error_at", x[err.argmax()].abs().item())
        assert round(e, 2) == 4.73 and round(at, 2) == 2.70
        # the same approximation error whichever sign: it is even, since both satisfy f(x) - f(-x) = x
        # (up to rounding of values as large as 10, ulp 1.8e-15)
        assert_close(err, err.flip(0), rtol=0, atol=1e-14)
        sig = t.record("sigmoid_approx_error", (x * torch.sigmoid(1.702 * x) - exact).abs().max().item())
        assert round(sig, 3) == 0.020
        silu_gap = t.record("silu_gap", (F.silu(x) - exact).abs().max().item())
        assert silu_gap > 0.19
        # a plausible misquote drops the sqrt(2/pi): 100 times worse
        no_sqrt = (0.5 * x * (1 + torch.tanh(x + 0.044715 * x ** 3)) - exact).abs().max().item()
        assert no_sqrt > 100 * err.max().item()
    else:
        # float32: the approximation error (4.7e-4) is thousands of times float32's rounding of values below 10
        assert err.max().item() > 4e-4 and err.max().item() < 5e-4


@check("activations.swish-silu", dtypes=("float32", "float64"))
def swish_silu(t):
    """Swish x sigmoid(beta x): beta = 1 is F.silu, beta = 0 is x/2, and sup|swish_beta - relu| = c/beta with
    c = u* - 1 = 0.2785 (e^u* (u* - 1) = 1), which is also -min SiLU, reached at x = -u*; SiLU' overshoots 1."""
    x = _grid(t, 20, 0.001)
    tol = t.tol(f64=1e-14, f32=1e-6)
    assert_close(act.swish(x), F.silu(x), rtol=tol, atol=tol)
    assert_close(_autograd(act.swish, x), _autograd(F.silu, x), rtol=tol, atol=tol)
    assert_close(act.swish(x, 0.0), x / 2, rtol=0, atol=0)
    if t.dtype == torch.float64:
        lo, hi = 1.0, 2.0  # root of e^u (u - 1) = 1 by bisection
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if math.exp(mid) * (mid - 1) < 1 else (lo, mid)
        c = t.record("c", lo - 1)
        assert round(c, 4) == 0.2785
        for beta in (1.0, 4.0, 40.0):
            gap = (act.swish(x, beta) - torch.relu(x)).abs().max().item()
            assert math.isclose(gap * beta, c, rel_tol=1e-5)  # grid step 0.001 near a smooth maximum
        assert math.isclose(act.swish(x).min().item(), -c, rel_tol=1e-6)
        assert abs(x[act.swish(x).argmin()].item() + (c + 1)) <= 0.001
        peak = t.record("silu_max_slope", _autograd(act.swish, x).max().item())
        assert round(peak, 2) == 1.10


@check("activations.mish", dtypes=("float32", "float64"))
def mish_check(t):
    """Mish x tanh(softplus(x)) matches F.mish (values and autograd); bounded below (min -0.309 at x = -1.19),
    unbounded above, and like Swish not monotone."""
    x = _grid(t, 20, 0.001)
    tol = t.tol(f64=1e-14, f32=2e-6)
    assert_close(act.mish(x), F.mish(x), rtol=tol, atol=tol)
    assert_close(_autograd(act.mish, x), _autograd(F.mish, x), rtol=tol, atol=tol)
    if t.dtype == torch.float64:
        vmin = t.record("min", act.mish(x).min().item())
        assert round(vmin, 3) == -0.309 and round(x[act.mish(x).argmin()].item(), 2) == -1.19
        assert act.mish(t.put([1e3])).item() == 1e3


@check("activations.glu-gating", dtypes=("float32", "float64"))
def glu_gating(t):
    """GLU: the first half times the sigmoid of the second half, along dim, as F.glu; the order matters."""
    x = t.randn(4, 8, 6)
    tol = t.tol(f64=1e-15, f32=1e-6)
    for dim in (0, 1, 2, -1, -2, -3):  # every dim, counted from either end
        assert_close(act.glu(x, dim), F.glu(x, dim), rtol=tol, atol=tol)
    v = t.randn(6, stream=1)  # a single vector
    assert_close(act.glu(v), F.glu(v), rtol=tol, atol=tol)
    y = t.randn(4, 6)
    assert_close(act.glu(y), F.glu(y), rtol=tol, atol=tol)
    a, b = y.chunk(2, -1)
    assert not torch.allclose(F.glu(y), torch.sigmoid(a) * b)  # sigmoid on the first half is a different layer
    # the value path is linear: d/da [a sigmoid(b)] = sigmoid(b), never saturating in a
    a_leaf = a.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(act.glu(torch.cat([a_leaf, b], -1)).sum(), [a_leaf])
    assert_close(g, torch.sigmoid(b), rtol=tol, atol=tol)


@check("activations.swiglu-parameter-count", dtypes=("float32", "float64"))
def swiglu_parameter_count(t):
    """SwiGLU(x) = W2(silu(W1 x) * W3 x), checked against F.glu on [u * v, u]; with hidden 2/3 * 4d it has the
    8 d^2 weights of a 4d ReLU block (three matrices instead of two); LLaMA's rounding gives 11008 for d = 4096."""
    t.seed_modules()
    d = 48
    h = act.swiglu_hidden_size(d)
    assert h == 128  # 2/3 of 192
    # by default no rounding up: floor(8d/3) itself, odd or even (d = 5 gives 13)
    assert [act.swiglu_hidden_size(n) for n in range(1, 40)] == [math.floor(8 * n / 3) for n in range(1, 40)]
    block = act.SwiGLU(d, h).to(t.device, t.dtype)
    x = t.randn(5, d)
    u, v = x @ block.w1.weight.T, x @ block.w3.weight.T
    oracle = F.glu(torch.cat([u * v, u], -1)) @ block.w2.weight.T  # (u v) sigmoid(u) = silu(u) v
    assert_close(block(x), oracle, rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    swapped = (F.silu(v) * u) @ block.w2.weight.T  # swish on the value branch instead: another function
    assert not torch.allclose(block(x), swapped, rtol=1e-3, atol=1e-3)
    count = sum(p.numel() for p in block.parameters())
    ffn = nn.Sequential(nn.Linear(d, 4 * d, bias=False), nn.ReLU(), nn.Linear(4 * d, d, bias=False))
    assert count == sum(p.numel() for p in ffn.parameters()) == 8 * d * d
    wide = act.SwiGLU(d, 4 * d)  # keeping 4d with three matrices costs 1.5 times as much
    assert sum(p.numel() for p in wide.parameters()) == 12 * d * d
    llama = t.record("llama_7b_hidden", act.swiglu_hidden_size(4096, multiple_of=256))
    assert llama == 11008  # the intermediate size of LLaMA-7B (Touvron et al. 2023, released configuration)
    ratio = t.record("llama_7b_weight_ratio", 3 * 4096 * llama / (8 * 4096 ** 2))
    assert round(ratio, 3) == 1.008
