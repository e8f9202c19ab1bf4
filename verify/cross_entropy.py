"""Checks for docs/*/cross_entropy.md. Oracles: F.cross_entropy, F.kl_div, F.binary_cross_entropy*,
autograd, float64 closed forms."""
import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets import cross_entropy as ce
from verify._registry import check


def _dirichlet(t, n, k, stream=0):
    """n random distributions over k classes (Dirichlet(1): normalized exponentials)."""
    e = -torch.log(t.rand(n, k, stream=stream))
    return e / e.sum(-1, keepdim=True)


@check("cross_entropy.formula", dtypes=("float32", "float64"))
def formula(t):
    """H(p, q) = -sum p log q is what F.cross_entropy computes; with a one-hot p it is -log q_c."""
    logits, p = 2 * t.randn(64, 5), _dirichlet(t, 64, 5, stream=1)
    q = torch.softmax(logits, -1)
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))
    builtin = F.cross_entropy(logits, p, reduction="none")  # probability targets
    assert_close(ce.cross_entropy(p, q), builtin, **tol)
    assert_close(ce.cross_entropy_with_logits(logits, p), builtin, **tol)
    c = torch.randint(0, 5, (64,), generator=t.generator(stream=2)).to(t.device)
    onehot = F.one_hot(c, 5).to(t.dtype)
    assert_close(ce.cross_entropy(onehot, q), -torch.log(q[torch.arange(64), c]), **tol)
    assert_close(ce.cross_entropy_with_logits(logits, onehot), F.cross_entropy(logits, c, reduction="none"), **tol)
    # the default reduction is the mean over the batch
    assert_close(F.cross_entropy(logits, c), ce.cross_entropy_with_logits(logits, onehot).mean(), **tol)


@check("cross_entropy.entropy-plus-kl")
def entropy_plus_kl(t):
    """H(p, q) = H(p) + KL(p||q) with KL >= 0, so over q it is smallest, = H(p), exactly at q = p."""
    p, q = _dirichlet(t, 1000, 10), _dirichlet(t, 1000, 10, stream=1)
    kl = ce.kl_divergence(p, q)
    assert_close(kl, F.kl_div(torch.log(q), p, reduction="none").sum(-1), rtol=1e-12, atol=1e-14)
    assert_close(ce.cross_entropy(p, q), ce.entropy(p) + kl, rtol=1e-12, atol=1e-14)
    assert (kl > 0).all()  # Gibbs' inequality, strict for q != p
    assert_close(ce.cross_entropy(p, p), ce.entropy(p), rtol=1e-14, atol=1e-15)
    assert (ce.entropy(p) > 0.1).all()  # the minimum is H(p), not 0, unless p is one-hot
    # averaged over hard labels, cross-entropy is H(freq, q): minimized by the empirical frequencies
    labels = torch.randint(0, 4, (200,), generator=t.generator(stream=2)).to(t.device)
    freq = torch.bincount(labels, minlength=4).to(t.dtype) / 200
    qs = _dirichlet(t, 50, 4, stream=3)
    mean_ce = torch.stack([-torch.log(qi[labels]).mean() for qi in qs])
    assert_close(mean_ce, ce.entropy(freq) + ce.kl_divergence(freq.expand(50, 4), qs), rtol=1e-12, atol=1e-14)
    assert (mean_ce > -torch.log(freq[labels]).mean()).all()
    # so its *value* is not a distance: a perfect prediction of a spread-out target scores worse
    # than an imperfect prediction of a sharp one
    flat, sharp = t.put([0.25] * 4), t.put([0.97, 0.01, 0.01, 0.01])
    off = t.put([0.9, 0.05, 0.03, 0.02])
    assert ce.cross_entropy(flat, flat) > ce.cross_entropy(sharp, off)  # 1.386 > 0.168


@check("cross_entropy.asymmetric")
def asymmetric(t):
    """KL(p||q) != KL(q||p) and H(p, q) != H(q, p); KL also breaks the triangle inequality."""
    p, q = _dirichlet(t, 100, 5), _dirichlet(t, 100, 5, stream=1)
    assert ((ce.kl_divergence(p, q) - ce.kl_divergence(q, p)).abs() > 1e-6).all()
    assert ((ce.cross_entropy(p, q) - ce.cross_entropy(q, p)).abs() > 1e-6).all()
    a, b, c = t.put([0.1, 0.9]), t.put([0.5, 0.5]), t.put([0.9, 0.1])
    # KL(a||c) = 1.758 > KL(a||b) + KL(b||c) = 0.368 + 0.511
    assert ce.kl_divergence(a, c) > ce.kl_divergence(a, b) + ce.kl_divergence(b, c)


@check("cross_entropy.logit-gradient")
def logit_gradient(t):
    """With softmax (or sigmoid) outputs, the gradient of cross-entropy w.r.t. the logits is q - p."""
    logits, p = 3 * t.randn(32, 6), _dirichlet(t, 32, 6, stream=1)
    z = logits.clone().requires_grad_(True)
    F.cross_entropy(z, p, reduction="sum").backward()
    assert_close(ce.cross_entropy_logit_gradient(logits, p), z.grad, rtol=1e-12, atol=1e-15)
    zb, y = 4 * t.randn(100), (t.rand(100, stream=2) > 0.5).to(t.dtype)
    z = zb.clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(z, y, reduction="sum").backward()
    for i in range(0, 100, 17):
        assert_close(ce.sigmoid_bce_gradient(zb[i:i + 1], y[i].item()), z.grad[i:i + 1], rtol=1e-12, atol=1e-15)


@check("cross_entropy.mse-saturates")
def mse_saturates(t):
    """Sigmoid + (1/2)(sigma - y)^2 has gradient (sigma - y) sigma', which vanishes when the unit saturates;
    cross-entropy's gradient sigma - y does not: 4.5e-5 vs 0.99995 at z = -10, y = 1."""
    z = torch.linspace(-15, 15, 3001, dtype=torch.float64).to(t.device, t.dtype)
    for y in (0.0, 1.0):
        zz = z.clone().requires_grad_(True)
        (0.5 * (torch.sigmoid(zz) - y) ** 2).sum().backward()
        assert_close(ce.sigmoid_mse_gradient(z, y), zz.grad, rtol=1e-12, atol=1e-18)
        s = torch.sigmoid(z)
        assert_close(ce.sigmoid_mse_gradient(z, y), ce.sigmoid_bce_gradient(z, y) * s * (1 - s), rtol=1e-12, atol=0)
        assert (ce.sigmoid_mse_gradient(z, y).abs() <= ce.sigmoid_bce_gradient(z, y).abs() / 4 + 1e-18).all()
    wrong_and_saturated = t.put([-10.0])  # target 1, output sigma(-10) = 4.5e-5
    assert_close(ce.sigmoid_mse_gradient(wrong_and_saturated, 1.0).abs().item(), 4.5396e-5, rtol=1e-4, atol=0)
    assert_close(ce.sigmoid_bce_gradient(wrong_and_saturated, 1.0).abs().item(), 0.9999546, rtol=1e-6, atol=0)
    # without the 1/2 the squared error's gradient doubles: 9.08e-5
    zz = wrong_and_saturated.clone().requires_grad_(True)
    ((torch.sigmoid(zz) - 1) ** 2).sum().backward()
    assert_close(zz.grad.abs().item(), 9.0792e-5, rtol=1e-4, atol=0)


@check("cross_entropy.saturated-neuron-learns-slowly", devices=("cpu",), kind="demonstration")
def saturated_neuron_learns_slowly(t):
    """Demonstration (Nielsen 2015, ch. 3): a sigmoid neuron that starts badly wrong and saturated
    barely moves in 50 steps under squared error, but learns at once under cross-entropy."""
    w, b = (2 + 0.2 * v for v in t.randn(2).tolist())  # output sigma(w + b) ~ 0.98, target 0
    mse = ce.train_sigmoid_neuron(w, b, 1.0, 0.0, 0.15, 51, loss="mse")
    bce = ce.train_sigmoid_neuron(w, b, 1.0, 0.0, 0.15, 51, loss="bce")
    out_mse, out_bce = math.sqrt(2 * mse[-1]), 1 - math.exp(-bce[-1])  # the neuron's output after 50 steps
    # measured over seeds 0-9: output after 50 steps 0.959-0.985 (squared error), 0.095-0.102 (cross-entropy)
    assert out_mse > 0.9 and out_bce < 0.2


@check("cross_entropy.label-smoothing", dtypes=("float32", "float64"))
def label_smoothing(t):
    """F.cross_entropy(label_smoothing=eps) is H(p_eps, q) with p_eps = (1 - eps) one-hot + eps / K."""
    logits = 2 * t.randn(16, 10)
    c = torch.randint(0, 10, (16,), generator=t.generator(stream=1)).to(t.device)
    eps = 0.1
    target = (1 - eps) * F.one_hot(c, 10).to(t.dtype) + eps / 10
    assert_close(F.cross_entropy(logits, c, label_smoothing=eps, reduction="none"),
                 ce.cross_entropy_with_logits(logits, target),
                 rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-14, f32=1e-6))
    # smoothed targets are never one-hot, so the loss cannot reach 0: its floor is H(p_eps) = 0.50 nats
    assert (ce.entropy(target) > 0.49).all()


@check("cross_entropy.logits-for-stability", dtypes=("float32",))
def logits_for_stability(t):
    """log(softmax(z)) underflows to log 0 = -inf for a large logit gap; log_softmax does not.
    BCELoss on probabilities clamps log at -100, so it reports 100 where the true loss is 200."""
    z = t.put([[0.0, 200.0]])
    target = torch.tensor([0], device=t.device)
    naive = -torch.log(torch.softmax(z, -1))[0, 0]
    assert torch.isinf(naive)
    assert_close(F.cross_entropy(z, target).item(), 200.0, rtol=1e-6, atol=0)
    assert_close(ce.cross_entropy_with_logits(z, t.put([[1.0, 0.0]])).item(), 200.0, rtol=1e-6, atol=0)
    logit, y = t.put([-200.0]), t.put([1.0])
    assert F.binary_cross_entropy(torch.sigmoid(logit), y).item() == 100.0  # clamped, documented
    assert_close(F.binary_cross_entropy_with_logits(logit, y).item(), 200.0, rtol=1e-6, atol=0)
