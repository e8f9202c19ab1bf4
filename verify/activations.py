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


@check("activations.xor-needs-nonlinear-map", devices=("cpu",))
def xor_needs_nonlinear_map(t):
    """No linear feature map makes XOR linearly separable; one ReLU layer does."""
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]], dtype=torch.float64)
    y = torch.tensor([0., 1., 1., 0.], dtype=torch.float64)
    s = x.sum(1)
    assert torch.equal(torch.relu(s) - 2 * torch.relu(s - 1), y)  # exact: hidden ReLU features solve it
    rng = t.rng()
    for _ in range(100):  # any linear map A, then least squares: error never below XOR's linear optimum 1
        a = torch.as_tensor(rng.normal(size=(2, 5)))
        feats = torch.cat([x @ a, torch.ones(4, 1, dtype=torch.float64)], 1)
        resid = y - feats @ torch.linalg.lstsq(feats, y.unsqueeze(1)).solution.squeeze(1)
        assert resid.pow(2).sum() >= 1.0 - 1e-9


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
    assert act.relu(x).min().item() == 0.0
    pts = t.put([-1.0, 0.0, 1.0, 1e6])
    assert torch.equal(_autograd(torch.relu, pts), t.put([0.0, 0.0, 1.0, 1.0]))
    assert torch.equal(act.relu_derivative(pts), _autograd(torch.relu, pts))
    assert torch.equal(act.relu_derivative(x), _autograd(torch.relu, x))


@check("activations.relu-does-not-stop-explosion")
def relu_does_not_stop_explosion(t):
    """ReLU's unit slope does not prevent exploding gradients: they scale as s^L with the weights."""
    depth, width = 30, 64
    x = t.randn(16, width)
    g = t.generator(stream=1)
    he = [torch.randn(width, width, generator=g, dtype=torch.float64).to(x) * math.sqrt(2 / width)
          for _ in range(depth)]

    def input_grad(weights):
        xi = x.clone().requires_grad_(True)
        (act.relu_stack(xi, weights) * x[:, :1]).sum().backward()
        return xi.grad

    base, big = input_grad(he), input_grad([1.5 * w for w in he])
    # ReLU is positively homogeneous, so the same units are active and the gradient scales exactly
    assert_close(big, base * 1.5 ** depth, rtol=1e-9, atol=0)
    assert big.norm() / base.norm() > 1e5
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
    assert abs(act.relu(z).mean().item() - 1 / math.sqrt(2 * math.pi)) < 6 * sd / math.sqrt(z.numel())


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
    """A monotone activation does not make a one-neuron loss convex: (sigma(w) - 1)^2 has L'' < 0."""
    w = np.linspace(-10, 10, 2001)
    h = w[1] - w[0]
    sq = (1 / (1 + np.exp(-w)) - 1) ** 2
    ce = np.log1p(np.exp(-w))  # cross-entropy with the matching sigmoid: convex
    assert (np.diff(sq, 2) / h ** 2).min() < -0.1
    assert (np.diff(ce, 2) / h ** 2).min() >= -1e-9
