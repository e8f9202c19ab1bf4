"""Checks for docs/*/activations.md. Oracles: torch built-ins, autograd, closed forms."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import activations as act
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
    """Rosenblatt's perceptron (with a bias): it stops with every point correct iff it finds a separator."""
    f = torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=feats.dtype)], 1)
    s, w = 2 * y - 1, torch.zeros(f.shape[1], dtype=feats.dtype)
    for _ in range(epochs):
        wrong = (s * (f @ w) <= 0).nonzero()
        if wrong.numel() == 0:
            return True
        i = wrong[0, 0]
        w = w + s[i] * f[i]
    return False


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
    separable_random_relu = 0
    for trial in range(100):
        a = torch.as_tensor(rng.normal(size=(2, 5)))
        c = torch.as_tensor(rng.normal(size=5))
        lin = x @ a
        # certificate (Farkas): the two classes' feature means coincide, so every classifier w.f + b gives
        # the two classes the same mean score and cannot be positive on one and negative on the other
        assert_close(lin[y == 1].mean(0), lin[y == 0].mean(0), rtol=0, atol=1e-12)
        if trial < 10:  # the perceptron never finishes on linear features (it would on separable ones)
            assert not _perceptron_separates(lin, y, epochs=200)
        # a random *nonlinear* map relu(x A + c) often separates XOR: the test is not blind
        if trial < 20:
            nonlin = torch.relu(lin + c)
            separable_random_relu += _perceptron_separates(nonlin, y, epochs=200)
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
    z = t.randn(1_000_000)
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
