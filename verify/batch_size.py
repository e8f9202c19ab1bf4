"""Checks for docs/*/batch_size.md. Oracles: torch DataLoader, autograd, sampling, closed forms."""
import math

import numpy as np
import torch
from torch.testing import assert_close
from torch.utils.data import DataLoader, TensorDataset

from snippets import batch_size as bs
from verify._registry import check

N, D = 1024, 10


def _problem(t, stream=0, dtype=torch.float64):
    """Least squares with N=1024, d=10, feature scales 1 ... 1/sqrt(20) (Hessian condition number ~20)."""
    g = t.generator(stream)
    x = torch.randn(N, D, generator=g, dtype=torch.float64) * torch.logspace(0, -0.5 * math.log10(20), D,
                                                                               dtype=torch.float64)
    w_true = torch.randn(D, generator=g, dtype=torch.float64)
    y = x @ w_true + 0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    return x.to(dtype), y.to(dtype)


@check("batch_size.iterations-per-epoch", devices=("cpu",))
def iterations_per_epoch(t):
    """An epoch of N samples in batches of B is ceil(N/B) updates (floor with drop_last); fewer as B grows."""
    data = TensorDataset(torch.zeros(1000, 1))
    assert len(DataLoader(data, batch_size=64)) == 16 == bs.iterations_per_epoch(1000, 64)
    assert len(DataLoader(data, batch_size=64, drop_last=True)) == 15 == bs.iterations_per_epoch(1000, 64, True)
    assert [len(b[0]) for b in DataLoader(data, batch_size=64)][-1] == 1000 - 15 * 64 == 40
    counts = [bs.iterations_per_epoch(N, b) for b in (1, 8, 64, 256, 1024)]
    assert counts == [1024, 128, 16, 4, 1] == [len(DataLoader(TensorDataset(torch.zeros(N)), batch_size=b))
                                              for b in (1, 8, 64, 256, 1024)]


@check("batch_size.gradient-noise-variance", devices=("cpu",), kind="statistical")
def gradient_noise_variance(t):
    """g_B is unbiased and E||g_B - g||^2 = tr(Sigma)/B * (N-B)/(N-1) without replacement (6 SE)."""
    x, y = _problem(t)
    grads = -2 * y[:, None] * x  # per-sample gradients of (x_i.w - y_i)^2 at w = 0
    g_full = grads.mean(0)
    trace_sigma = (grads - g_full).pow(2).sum(1).mean().item()
    k = 4000
    gen = t.generator(1)
    # top-256 of uniform keys, in key order: its first B entries are a uniform sample of B without replacement
    order = torch.rand(k, N, generator=gen, dtype=torch.float64).topk(256, dim=1).indices
    samples = {1: torch.randint(0, N, (k, 1), generator=gen)}
    samples.update({b: order[:, :b] for b in (8, 64, 256)})
    est, grads_np = {}, grads.numpy()
    for b, idx in samples.items():
        mask = np.zeros((k, N))
        np.put_along_axis(mask, idx.numpy(), 1.0, axis=1)
        err = mask @ grads_np / b - g_full.numpy()  # (k, d): error of each batch gradient
        # unbiased: every coordinate of the mean error is within 6 SE of 0 (40 tests at 6 SE: p < 1e-7)
        assert (np.abs(err.mean(0)) <= 6 * err.std(0, ddof=1) / math.sqrt(k) + 1e-12).all()
        q = (err ** 2).sum(1)  # squared error of each batch gradient
        est[b], se = q.mean(), q.std(ddof=1) / math.sqrt(k)
        exact = bs.minibatch_gradient_noise(grads, b).item()
        assert_close(exact, trace_sigma / b * (N - b) / (N - 1), rtol=1e-12, atol=0)
        assert abs(est[b] - exact) <= 6 * se, (b, est[b], exact, se)
        if b == 256:  # the textbook sigma^2/B, without the finite-population factor 0.75, is rejected
            assert abs(est[b] - trace_sigma / b) > 6 * se
    assert est[1] / est[64] > 50  # exact ratio 64 (N-1)/(N-64) = 68.2
    # the full batch has no noise at all, which only the corrected formula says
    assert bs.minibatch_gradient_noise(grads, N).item() == 0.0 and trace_sigma / N > 1e-3


@check("batch_size.direction-saturates", devices=("cpu",), kind="statistical")
def direction_saturates(t):
    """cos(g_B, g) rises with B and saturates: 64 -> 256 gains far less than 8 -> 64 (6 SE margins)."""
    x, y = _problem(t)
    grads = -2 * y[:, None] * x
    g_full = grads.mean(0)
    k = 2000
    order = torch.rand(k, N, generator=t.generator(1), dtype=torch.float64).topk(256, dim=1).indices
    cos, se = {}, {}
    for b in (8, 64, 256):
        mask = np.zeros((k, N))
        np.put_along_axis(mask, order[:, :b].numpy(), 1.0, axis=1)
        g_b = mask @ grads.numpy() / b
        c = g_b @ g_full.numpy() / (np.linalg.norm(g_b, axis=1) * g_full.norm().item())
        cos[b], se[b] = c.mean(), c.std(ddof=1) / math.sqrt(k)
    # seed 0: 0.70, 0.948, 0.989 with SE 0.003, 0.0005, 0.0001
    gain_small, gain_large = cos[64] - cos[8], cos[256] - cos[64]
    assert gain_small > 6 * (se[8] + se[64]) and gain_large > 6 * (se[64] + se[256])
    assert cos[256] > 0.98
    assert gain_large + 6 * (se[64] + se[256]) < 0.25 * (gain_small - 6 * (se[8] + se[64]))
    # why: the noise-to-signal ratio E||g_B - g||^2 / ||g||^2 falls like 1/B and is already < 0.05 at B = 256
    ratio = bs.minibatch_gradient_noise(grads, 256).item() / g_full.pow(2).sum().item()
    assert ratio < 0.05


@check("batch_size.noise-floor", devices=("cpu",), kind="statistical")
def noise_floor(t):
    """SGD on a x^2/2 with per-sample noise sd s settles at Var = lr s^2 / (B a (2 - lr a)) (6 SE)."""
    chains, steps, a, s = 10_000, 200, 1.0, 1.0
    rng = t.rng()
    var = {}
    for lr, b in [(0.1, 1), (0.1, 16), (0.05, 1), (0.8, 16)]:
        x = np.zeros(chains)
        for _ in range(steps):  # the mean of B per-sample noises is exactly N(0, s^2/B)
            x = x - lr * (a * x + s * rng.standard_normal(chains) / math.sqrt(b))
        var[lr, b] = np.mean(x ** 2)  # E[x] = 0 exactly
        floor = bs.sgd_noise_floor(lr, b, a, s)
        exact = floor * (1 - (1 - lr * a) ** (2 * steps))  # finite-T variance; the factor is 1 - 1e-9 or closer
        # x_T is Gaussian, so Var(x^2) = 2 exact^2 and the SE of the mean of x^2 is exact sqrt(2/n)
        assert abs(var[lr, b] - exact) <= 6 * exact * math.sqrt(2 / chains), (lr, b, var[lr, b], exact)
    assert var[0.1, 1] / var[0.1, 16] > 12  # exact 16: the floor falls like 1/B at a fixed learning rate
    assert var[0.1, 1] / var[0.05, 1] > 1.7  # exact 2 * 1.95/1.9 = 2.05: and it falls with the learning rate


def _steps_and_epochs(t, seeds=5):
    """Mean over data sets of the best-learning-rate steps to loss <= 1.05 L*, per batch size."""
    batches = (1, 4, 16, 64, 256, 1024)
    lrs = torch.logspace(-2, math.log10(0.6), 10, dtype=torch.float64)
    steps = np.zeros((seeds, len(batches)))
    for i in range(seeds):
        x, y = _problem(t, stream=10 + i)
        best = torch.linalg.lstsq(x, y[:, None]).solution.squeeze(1)
        target = 1.05 * (x @ best - y).pow(2).mean().item()
        for j, b in enumerate(batches):
            found = bs.sgd_steps_to_target(x, y, b, lrs, target, 5000, t.generator(100 + i))
            assert found is not None
            steps[i, j] = found
    steps = steps.mean(0)
    return dict(zip(batches, steps)), dict(zip(batches, steps * np.array(batches) / N))


@check("batch_size.steps-vs-epochs", devices=("cpu",), kind="demonstration")
def steps_vs_epochs(t):
    """Small B: steps fall like 1/B, epochs stay flat. Large B: steps plateau, so epochs grow like B."""
    # the snippet's update is the gradient of the batch MSE (autograd as oracle)
    x, y = _problem(t)
    w = torch.randn(D, dtype=torch.float64, requires_grad=True)
    ((x[:8] @ w - y[:8]) ** 2).mean().backward()
    assert_close(w.grad, 2 * (x[:8] @ w.detach() - y[:8]) @ x[:8] / 8, rtol=1e-12, atol=1e-12)

    steps, epochs = _steps_and_epochs(t)
    # measured over seeds 0-11 (each the mean of 5 data sets): steps(1)/steps(4) 2.76-3.94 (perfect scaling
    # would be 4), i.e. epochs(4)/epochs(1) 1.02-1.45; steps(1024)/steps(256) 0.91-0.97, steps(1024)/steps(64)
    # 0.64-0.84; epochs(1024)/epochs(64)
    # 10.3-13.4; epochs(1) 0.28-0.40, epochs(4) 0.34-0.53, epochs(1024) = steps(1024) 12.2-19.0;
    # epochs(1024)/epochs(1) 36-54.
    # Steps fall monotonically up to B = 256 in every run; 256 -> 1024 is the plateau.
    assert epochs[4] / epochs[1] < 1.6  # perfect-scaling regime: same number of epochs
    assert steps[1024] / steps[256] > 0.6 and steps[1024] / steps[64] > 0.5  # beyond it: steps plateau ...
    assert epochs[1024] / epochs[64] > 5  # ... so the epochs grow ~ B
    assert all(steps[a] > steps[b] for a, b in [(1, 4), (4, 16), (16, 64), (64, 256)])
    # small batches need a fraction of an epoch, the full batch more than ten
    assert epochs[1] < 0.6 and epochs[4] < 0.6 and epochs[1024] > 10 and epochs[1024] / epochs[1] > 20
