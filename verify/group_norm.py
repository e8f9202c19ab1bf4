"""Checks for docs/*/group_norm.md. Oracles: nn.BatchNorm2d, nn.LayerNorm, nn.InstanceNorm2d, nn.GroupNorm."""
import math

import torch
from torch import nn
from torch.testing import assert_close

from snippets import group_norm as gn
from verify._registry import check


def _maps(t, n=4, stream=0):
    """(N, 6, 5, 5) feature maps whose channels have different means and scales, so wrong axes show."""
    scale = torch.arange(1, 7, dtype=torch.float64).view(1, 6, 1, 1)
    return t.randn(n, 6, 5, 5, stream=stream) * scale.to(t.device, t.dtype) + scale.to(t.device, t.dtype)


def _modules(t):
    """The four normalizers without learnable affine parts (BN in training mode)."""
    mods = {"batch": nn.BatchNorm2d(6, affine=False), "layer": nn.LayerNorm([6, 5, 5], elementwise_affine=False),
            "instance": nn.InstanceNorm2d(6), "group": nn.GroupNorm(3, 6, affine=False)}
    return {k: m.to(t.device, t.dtype).train() for k, m in mods.items()}


@check("group_norm.axes", dtypes=("float32", "float64"))
def axes(t):
    """BN normalizes over (N, H, W), LN over (C, H, W), IN over (H, W), GN over (C/G, H, W); eps 1e-5, biased variance."""
    x = _maps(t)
    mods = _modules(t)
    tol = t.tol(f64=1e-12, f32=5e-6)  # float32: sums of <= 150 values; measured max error 9.5e-7 over seeds 0-19
    for kind in ("batch", "layer", "instance"):
        assert_close(mods[kind](x), gn.normalize(x, gn.NORM_AXES[kind]), rtol=0, atol=tol)
    assert_close(mods["group"](x), gn.group_norm(x, 3), rtol=0, atol=tol)
    assert all(m.eps == 1e-5 for m in mods.values())
    # negative axes count from the end, down to -ndim (axis 0): BN's axes written as (-4, -2, -1)
    assert_close(mods["batch"](x), gn.normalize(x, (-4, -2, -1)), rtol=0, atol=tol)
    # a non-default eps reaches the statistics (eps 1 against group variances of 1 to 36 changes the output)
    big_eps = nn.GroupNorm(3, 6, eps=1.0, affine=False).to(t.device, t.dtype)
    assert_close(big_eps(x), gn.group_norm(x, 3, eps=1.0), rtol=0, atol=tol)
    assert (big_eps(x) - mods["group"](x)).abs().max() > 1e-2
    # "LN normalizes along the channel direction" read literally (per pixel, over C only) is another map
    assert (mods["layer"](x) - gn.normalize(x, (1,))).abs().max() > 0.1
    # and the unbiased variance is not what any of them uses
    assert (mods["group"](x) - gn.group_norm(x, 3) * math.sqrt(49 / 50)).abs().max() > 1e-3


@check("group_norm.special-cases", dtypes=("float32", "float64"))
def special_cases(t):
    """GroupNorm with one group is LayerNorm over (C, H, W); with C groups it is InstanceNorm. Only the
    affine parts differ: GN learns 2C numbers, LayerNorm([C, H, W]) learns 2 C H W."""
    x = _maps(t)
    mods = _modules(t)
    tol = t.tol(f64=1e-12, f32=5e-6)
    one = nn.GroupNorm(1, 6).to(t.device, t.dtype)
    six = nn.GroupNorm(6, 6).to(t.device, t.dtype)
    assert_close(one(x), mods["layer"](x), rtol=0, atol=tol)
    assert_close(six(x), mods["instance"](x), rtol=0, atol=tol)
    gamma, beta = 1 + t.randn(6, stream=3), t.randn(6, stream=4)
    with torch.no_grad():
        one.weight.copy_(gamma)
        one.bias.copy_(beta)
    assert_close(one(x), mods["layer"](x) * gamma.view(1, 6, 1, 1) + beta.view(1, 6, 1, 1), rtol=0, atol=tol)
    assert sum(p.numel() for p in one.parameters()) == 12
    assert sum(p.numel() for p in nn.LayerNorm([6, 5, 5]).parameters()) == 2 * 6 * 5 * 5
    assert not nn.InstanceNorm2d(6).affine  # PyTorch's InstanceNorm has no gamma, beta by default


@check("group_norm.batch-independent")
def batch_independent(t):
    """A sample's LN, IN and GN output is the same whatever batch it is in (even alone); BN's is not."""
    x = _maps(t, n=64)
    mods = _modules(t)
    for kind in ("layer", "instance", "group"):
        alone = mods[kind](x[:1])
        for m in (2, 4, 16, 64):
            assert_close(mods[kind](x[:m])[:1], alone, rtol=0, atol=1e-12)
    bn = mods["batch"]
    assert (bn(x[:2])[:1] - bn(x[:64])[:1]).abs().max() > 1e-2


@check("group_norm.no-running-stats")
def no_running_stats(t):
    """By default LN, IN and GN keep no running statistics, so train and eval mode compute the same function; BN
    does not, and neither does InstanceNorm2d(track_running_stats=True)."""
    x = _maps(t)
    for layer in (nn.GroupNorm(3, 6), nn.LayerNorm([6, 5, 5]), nn.InstanceNorm2d(6)):
        layer = layer.to(t.device, t.dtype)
        assert list(layer.buffers()) == []
        assert_close(layer.train()(x), layer.eval()(x), rtol=0, atol=1e-13)  # bitwise equal on the CPU
    bn = nn.BatchNorm2d(6).to(t.device, t.dtype)
    train_out = bn.train()(x)
    assert (bn.eval()(x) - train_out).abs().max() > 0.1
    # "no running statistics" is a default, not a law: InstanceNorm can be asked to keep them, like BN
    tracked = nn.InstanceNorm2d(6, track_running_stats=True).to(t.device, t.dtype)
    assert {name for name, _ in tracked.named_buffers()} == {"running_mean", "running_var", "num_batches_tracked"}
    train_out = tracked.train()(x)
    assert (tracked.eval()(x) - train_out).abs().max() > 0.1


@check("group_norm.batch-variance-noise", kind="statistical")
def batch_variance_noise(t):
    """The unbiased batch variance of m Gaussian values has relative SD sqrt(2/(m-1)): 141 % at m = 2, 25 % at 32.

    The variances are the ones BatchNorm itself estimates: k independent channels of one BatchNorm1d, each seeing
    a batch of m values, with momentum 1 so that running_var is exactly the last batch's unbiased variance.
    """
    k = 20_000
    for m in (2, 8, 32):
        x = t.randn(m, k, stream=m)  # sigma^2 = 1, so the variances are already relative
        layer = nn.BatchNorm1d(k, momentum=1.0, affine=False).to(t.device, t.dtype).train()
        layer(x)
        s2 = layer.running_var
        assert_close(s2, x.var(0), rtol=1e-10, atol=1e-12)  # what BN stores is the m - 1 variance of the batch
        sd = s2.std().item()
        # SE of a sample SD ~ SD sqrt((kappa - 1)/(4k)), kappa = 3 + 12/(m-1) the kurtosis of s^2: 6 SE = 7.9 % at m = 2
        kappa = 3 + 12 / (m - 1)
        rel_se = math.sqrt((kappa - 1) / (4 * k))
        expected = t.record(f"rel_sd_m{m}", gn.batch_variance_relative_sd(m))
        assert abs(sd / expected - 1) < 6 * rel_se, (m, sd)
        if m == 2:  # sqrt(2/m) (dividing by m, not m - 1) gives 100 %, far outside the bound
            assert abs(sd / math.sqrt(2 / m) - 1) > 6 * rel_se
    assert round(100 * gn.batch_variance_relative_sd(2)) == 141 and round(100 * gn.batch_variance_relative_sd(32)) == 25
    # GroupNorm's statistics come from one sample: the same sample gets the same mean and variance in a batch of 2
    # as in a batch of 32, so they do not get noisier as the batch shrinks
    maps = _maps(t, n=32)
    norm = nn.GroupNorm(3, 6, affine=False).to(t.device, t.dtype)
    assert_close(norm(maps[:2])[0], norm(maps)[0], rtol=0, atol=1e-12)
