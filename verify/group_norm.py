"""Checks for docs/*/group_norm.md. Oracles: nn.BatchNorm2d, nn.LayerNorm, nn.InstanceNorm2d, nn.GroupNorm."""
import math

import torch
import torch.nn.functional as F
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
        x = t.randn32(m, k, stream=m)  # sigma^2 = 1, so the variances are already relative
        layer = nn.BatchNorm1d(k, momentum=1.0, affine=False).to(t.device, t.dtype).train()
        layer(x)
        s2 = layer.running_var
        c = x - x.mean(0)  # the m - 1 variance written out (x.var(0) down the columns is 20x slower here)
        assert_close(s2, (c * c).sum(0) / (m - 1), rtol=1e-10, atol=1e-12)  # what BN stores is the m - 1 variance
        sd = s2.std().item()
        # SE of a sample SD ~ SD sqrt((kappa - 1)/(4k)), kappa = 3 + 12/(m-1) the kurtosis of s^2: 6 SE = 7.9 % at m = 2
        kappa = 3 + 12 / (m - 1)
        rel_se = math.sqrt((kappa - 1) / (4 * k))
        expected = t.record(f"rel_sd_m{m}", gn.batch_variance_relative_sd(m))
        assert abs(sd / expected - 1) < 6 * rel_se, (m, sd)
        # seeds 0-59: within 3.0 SE at every m; the wrong 100 % below at least 28 SE away at m = 2
        if m == 2:  # sqrt(2/m) (dividing by m, not m - 1) gives 100 %, far outside the bound
            assert abs(sd / math.sqrt(2 / m) - 1) > 6 * rel_se
    assert round(100 * gn.batch_variance_relative_sd(2)) == 141 and round(100 * gn.batch_variance_relative_sd(32)) == 25
    # GroupNorm's statistics come from one sample: the same sample gets the same mean and variance in a batch of 2
    # as in a batch of 32, so they do not get noisier as the batch shrinks
    maps = _maps(t, n=32)
    norm = nn.GroupNorm(3, 6, affine=False).to(t.device, t.dtype)
    assert_close(norm(maps[:2])[0], norm(maps)[0], rtol=0, atol=1e-12)


def _tokens(t, b=3, s=7, d=16, stream=10):
    """(batch, seq, d) hidden states with a per-token offset and scale, so per-token statistics matter."""
    offset = 2 * t.randn(b, s, 1, stream=stream + 1)
    scale = 1 + t.rand(b, s, 1, stream=stream + 2) * 3
    return t.randn(b, s, d, stream=stream) * scale + offset


@check("group_norm.transformer-layer-norm", dtypes=("float32", "float64"))
def transformer_layer_norm(t):
    """In a Transformer, nn.LayerNorm(d) on (batch, seq, d) normalizes each token over its d features only, and
    its gamma, beta have shape (d,), shared by all tokens: 2d parameters. Other tokens do not affect a token's
    output. nn.LayerNorm([seq, d]) (statistics over the whole sequence) and the (x - mean)/(std + eps) form with
    the unbiased std are different functions."""
    b, s, d = 3, 7, 16
    x = _tokens(t)
    ln = nn.LayerNorm(d).to(t.device, t.dtype)
    with torch.no_grad():
        ln.weight.copy_(1 + 0.5 * t.randn(d, stream=3))
        ln.bias.copy_(t.randn(d, stream=4))
    assert [tuple(p.shape) for p in ln.parameters()] == [(d,), (d,)]
    assert t.record("params_d768", sum(p.numel() for p in nn.LayerNorm(768).parameters())) == 2 * 768
    assert t.record("params_token", sum(p.numel() for p in ln.parameters())) == 2 * d
    tol = t.tol(f64=1e-12, f32=5e-6)  # float32: means of 16 values ~5 and one rsqrt; measured <= 9.5e-7
    y = ln(x)
    assert_close(gn.transformer_layer_norm(x, ln.weight, ln.bias), y, rtol=0, atol=tol)
    # one token on its own, a 1-D (d,) input, is normalized as nn.LayerNorm does it
    assert_close(gn.transformer_layer_norm(x[0, 0], ln.weight, ln.bias), ln(x[0, 0]), rtol=0, atol=tol)
    assert_close(gn.transformer_layer_norm(x, ln.weight, ln.bias, eps=0.5), F.layer_norm(x, (d,), ln.weight, ln.bias,
                 eps=0.5), rtol=0, atol=tol)
    # before the affine step every token has mean 0
    plain = gn.transformer_layer_norm(x, torch.ones_like(ln.weight), torch.zeros_like(ln.bias))
    assert_close(plain.mean(-1), torch.zeros(b, s, dtype=t.dtype, device=t.device), rtol=0, atol=tol)
    # per token: changing the other tokens of the sequence and the other sequences changes nothing
    other = x.clone()
    other[:, 1:] = 5 * t.randn(b, s - 1, d, stream=5)
    other[1:] = -3
    assert_close(ln(other)[0, 0], y[0, 0], rtol=0, atol=t.tol(f64=1e-14, f32=1e-6))
    # statistics over (seq, d) are another function, with 2 s d parameters and a fixed sequence length
    whole = nn.LayerNorm([s, d], elementwise_affine=False).to(t.device, t.dtype)
    assert (whole(x) - plain).abs().max() > 0.1
    assert t.record("params_sequence", sum(p.numel() for p in nn.LayerNorm([s, d]).parameters())) == 2 * s * d
    try:
        whole(x[:, :5])
    except RuntimeError:
        pass
    else:
        raise AssertionError("LayerNorm([seq, d]) accepted another sequence length")
    # the hand-written form of some tutorials: (x - mean) / (x.std(-1) + eps) uses the unbiased std (d - 1)
    x64 = x.double()
    tutorial = (x64 - x64.mean(-1, keepdim=True)) / (x64.std(-1, keepdim=True) + 1e-6)
    gap = t.record("tutorial_gap", (tutorial - plain.double()).abs().max().item())
    assert gap > 1e-2  # a factor sqrt(15/16) ~ 0.968 on values up to ~3
    # BatchNorm over the (batch * seq) tokens is yet another map
    flat = F.batch_norm(x.reshape(-1, d), None, None, training=True).reshape(x.shape)
    assert (flat - plain).abs().max() > 0.1


@check("group_norm.rms-norm", dtypes=("float32", "float64"))
def rms_norm(t):
    """RMSNorm is x / sqrt(mean(x^2) + eps) * gamma as nn.RMSNorm computes (no mean subtraction, no beta: d
    parameters); it equals LayerNorm (beta = 0) on tokens whose mean is 0 and differs otherwise. It is invariant
    to rescaling a token, but not to shifting it, which LayerNorm is."""
    d = 16
    x = _tokens(t)
    rms = nn.RMSNorm(d, eps=1e-6).to(t.device, t.dtype)
    with torch.no_grad():
        rms.weight.copy_(1 + 0.5 * t.randn(d, stream=3))
    assert [tuple(p.shape) for p in rms.parameters()] == [(d,)]
    tol = t.tol(f64=1e-12, f32=5e-6)  # float32: a mean of 16 squares and one rsqrt; measured <= 9.5e-7
    assert_close(gn.rms_norm(x, rms.weight, eps=1e-6), rms(x), rtol=0, atol=tol)
    assert_close(gn.rms_norm(x, rms.weight), rms(x), rtol=0, atol=tol)  # the snippet's default eps is 1e-6
    assert_close(gn.rms_norm(x[0, 0], rms.weight), rms(x[0, 0]), rtol=0, atol=tol)  # one 1-D (d,) token
    default = nn.RMSNorm(d).to(t.device, t.dtype)  # eps=None means torch.finfo(dtype).eps
    assert default.eps is None
    assert_close(gn.rms_norm(x, default.weight, eps=torch.finfo(t.dtype).eps), default(x), rtol=0, atol=tol)
    ones, zeros = torch.ones(d, dtype=t.dtype, device=t.device), torch.zeros(d, dtype=t.dtype, device=t.device)
    ln = nn.LayerNorm(d, eps=1e-6, elementwise_affine=False).to(t.device, t.dtype)
    # tokens with mean 0: mean(x^2) is the variance, so RMSNorm and LayerNorm coincide
    centred = x - x.mean(-1, keepdim=True)
    assert_close(gn.rms_norm(centred, ones, eps=1e-6), ln(centred), rtol=0, atol=tol)
    # tokens with a mean: they differ
    gap = t.record("gap_with_mean", (gn.rms_norm(x, ones, eps=1e-6) - ln(x)).abs().max().item())
    assert gap > 0.5
    # scale-invariant per token, not shift-invariant (LayerNorm is both)
    a = 0.5 + 3 * t.rand(*x.shape[:-1], 1, stream=6)
    assert_close(gn.rms_norm(a * x, ones, eps=0.0), gn.rms_norm(x, ones, eps=0.0), rtol=0, atol=tol)
    assert (gn.rms_norm(x + 1, ones) - gn.rms_norm(x, ones)).abs().max() > 0.1
    assert_close(gn.transformer_layer_norm(x + 1, ones, zeros, eps=0.0), gn.transformer_layer_norm(x, ones, zeros, eps=0.0),
                 rtol=0, atol=tol)


_EPS0 = 1e-300  # eps -> 0 (F.batch_norm refuses eps = 0 in training): the invariances below are then exact


def _normalizers():
    """BN (train mode), LN over (C, H, W), IN and GN with G = 3, without affine parts, eps ~ 0."""
    return {"BN": nn.BatchNorm2d(6, affine=False, eps=_EPS0).train(),
            "LN": nn.LayerNorm([6, 5, 5], elementwise_affine=False, eps=_EPS0),
            "IN": nn.InstanceNorm2d(6, eps=_EPS0), "GN": nn.GroupNorm(3, 6, affine=False, eps=_EPS0)}


@check("group_norm.invariances")
def invariances(t):
    """Which affine changes of the input each normalizer removes (a > 0): a per-channel change shared by the
    whole batch (BN, IN), a per-sample change of all its values (LN, IN, GN), a per-sample, per-channel change
    such as an image's own contrast and brightness (IN only)."""
    x = _maps(t)
    n, c = x.shape[:2]
    changes = {
        "per channel": (0.5 + 2 * t.rand(1, c, 1, 1, stream=5), t.randn(1, c, 1, 1, stream=6)),
        "per sample": (0.5 + 2 * t.rand(n, 1, 1, 1, stream=7), t.randn(n, 1, 1, 1, stream=8)),
        "per sample and channel": (0.5 + 2 * t.rand(n, c, 1, 1, stream=9), t.randn(n, c, 1, 1, stream=10)),
    }
    invariant = {"per channel": {"BN", "IN"}, "per sample": {"LN", "IN", "GN"}, "per sample and channel": {"IN"}}
    for name, module in _normalizers().items():
        module = module.to(t.device, t.dtype)
        y = module(x)
        for change, (a, b) in changes.items():
            y_changed = module(a * x + b)
            if name in invariant[change]:
                assert_close(y_changed, y, rtol=0, atol=1e-10)
            else:
                assert (y_changed - y).abs().max() > 0.1, (name, change)
    # with the default eps = 1e-5 the invariance is approximate: off by about eps / var on these maps
    inorm = nn.InstanceNorm2d(6).to(t.device, t.dtype)
    a, b = changes["per sample and channel"]
    assert (inorm(a * x + b) - inorm(x)).abs().max() < 1e-4


@check("group_norm.weight-norm")
def weight_norm_check(t):
    """Weight normalization w = g v / ||v|| (one norm per output unit) is what
    torch.nn.utils.parametrizations.weight_norm computes: it starts from g = ||w||, so the layer is unchanged,
    every filter then has norm |g|, w does not change when v is rescaled, and the gradient with respect to v is
    (g/||v||) times the gradient with respect to w projected orthogonally to w (Salimans & Kingma 2016, §2)."""
    from torch.nn.utils.parametrizations import weight_norm
    t.seed_modules()
    conv = nn.Conv2d(3, 4, 3).to(t.device, t.dtype)
    w0 = conv.weight.detach().clone()
    weight_norm(conv)  # dim=0: one g per output channel
    g, v = conv.parametrizations.weight.original0, conv.parametrizations.weight.original1
    assert g.shape == (4, 1, 1, 1) and v.shape == w0.shape
    assert_close(conv.weight, w0, rtol=1e-12, atol=1e-15)  # g = ||v|| at the start: the same layer
    with torch.no_grad():
        g.copy_(t.randn(4, 1, 1, 1, stream=1))  # any sign: |g| is the norm, sign(g) flips the filter
        v.copy_(t.randn(4, 3, 3, 3, stream=2) * 3)
    w = conv.weight
    assert_close(gn.weight_norm(v, g), w, rtol=1e-12, atol=1e-15)
    assert_close(w.flatten(1).norm(dim=1), g.reshape(-1).abs(), rtol=1e-12, atol=0)
    a = 0.5 + 2 * t.rand(4, 1, 1, 1, stream=3)
    assert_close(gn.weight_norm(a * v, g), w, rtol=1e-12, atol=1e-15)  # only the direction of v matters
    # one norm for the whole tensor instead of one per filter is another reparametrization
    assert (g * v / v.norm() - w).abs().max() > 0.1
    # gradients: autograd through the parametrized conv against §2 of the paper, with grad_w from a plain conv
    x = t.randn(2, 3, 6, 6, stream=4)
    target = t.randn(2, 4, 4, 4, stream=5)
    (conv(x) * target).sum().backward()
    w_leaf = w.detach().clone().requires_grad_(True)
    (F.conv2d(x, w_leaf, conv.bias) * target).sum().backward()
    gw = w_leaf.grad.flatten(1)
    vf, wf, gf = v.detach().flatten(1), w.detach().flatten(1), g.detach().reshape(-1, 1)
    v_norm = vf.norm(dim=1, keepdim=True)
    grad_g = (gw * vf).sum(1, keepdim=True) / v_norm
    grad_v = gf / v_norm * (gw - wf * (gw * wf).sum(1, keepdim=True) / (wf * wf).sum(1, keepdim=True))
    assert_close(g.grad.reshape(-1, 1), grad_g, rtol=1e-10, atol=1e-12)
    assert_close(v.grad.flatten(1), grad_v, rtol=1e-10, atol=1e-12)
    zero = torch.zeros(4, dtype=t.dtype, device=t.device)
    assert_close((v.grad.flatten(1) * vf).sum(1), zero, rtol=0, atol=1e-10)  # grad_v is orthogonal to v
    assert (v.grad.flatten(1) - gf / v_norm * gw).abs().max() > 1e-2  # the projection is not optional


@check("group_norm.weight-standardization")
def weight_standardization(t):
    """Weight standardization gives each output channel's filter mean 0 and variance var/(var + eps) over its
    C_in * k * k weights (F.layer_norm on the flattened filters is the oracle); with eps -> 0 the standardized
    filters, and so the conv output, do not change when a filter is scaled or shifted."""
    scale = 0.1 + t.rand(5, 1, 1, 1, stream=1)
    w = t.randn(5, 3, 3, 3) * scale + 0.3 * t.randn(5, 1, 1, 1, stream=2)  # filters with offsets, scales
    ws = gn.weight_standardize(w)
    oracle = F.layer_norm(w.flatten(1), (27,), eps=1e-5).view_as(w)
    assert_close(ws, oracle, rtol=0, atol=1e-12)
    var = w.flatten(1).var(1, unbiased=False)
    assert_close(ws.flatten(1).mean(1), torch.zeros(5, dtype=t.dtype, device=t.device), rtol=0, atol=1e-12)
    assert_close(ws.flatten(1).var(1, unbiased=False), var / (var + 1e-5), rtol=1e-12, atol=0)
    a, b = 0.5 + 2 * t.rand(5, 1, 1, 1, stream=3), t.randn(5, 1, 1, 1, stream=4)
    x = t.randn(2, 3, 6, 6, stream=5)
    exact = gn.weight_standardize(w, eps=0.0)
    assert_close(gn.weight_standardize(a * w + b, eps=0.0), exact, rtol=0, atol=1e-12)
    assert_close(F.conv2d(x, gn.weight_standardize(a * w + b, eps=0.0)), F.conv2d(x, exact), rtol=0, atol=1e-11)
    # one mean and variance over the whole tensor is not per-filter standardization
    whole = (w - w.mean()) / w.std(unbiased=False)
    assert (whole - ws).abs().max() > 0.1
    # implementations differ: the reference code divides by the unbiased std plus eps, which is the paper's
    # formula times sqrt(26/27) (1.9 % smaller) when eps -> 0, and differs from it by more than 1e-2 as written
    centred = w - w.mean((1, 2, 3), keepdim=True)
    unbiased_std = w.flatten(1).std(1).view(-1, 1, 1, 1)
    assert_close(centred / unbiased_std, exact * math.sqrt(26 / 27), rtol=1e-12, atol=1e-14)
    assert (centred / (unbiased_std + 1e-5) - ws).abs().max() > 1e-2


def _image_batches(t, n_images, batches, stream, channels=4, size=8):
    """batches x (N, C, size, size) maps: per-channel means 0..3, a per-image offset a ~ N(0, 1) shared by all
    pixels of an image's channel, and pixel noise e ~ N(0, 1): x = mu_c + a + e."""
    mu = torch.arange(channels, dtype=torch.float64).view(1, 1, channels, 1, 1)
    a = t.randn32(batches, n_images, channels, 1, 1, stream=stream)
    e = t.randn32(batches, n_images, channels, size, size, stream=stream + 1)
    return mu.to(t.device, t.dtype) + a + e


@check("group_norm.correlated-pixels-batch-noise", kind="statistical")
def correlated_pixels_batch_noise(t):
    """BatchNorm2d's batch mean over N images of P pixels has SD sqrt(tau^2/N + sigma^2/(N P)) when each image
    shifts its pixels by its own offset (SD tau): at N = 2 it is ~ tau/sqrt(2), not sqrt((tau^2 + sigma^2)/(N P))
    as if all N P pixels were independent; and the batch variance is low by tau^2/N on average."""
    # k = 500 channels: 6 SE of the SD is 19 %; seeds 0-59: both SDs and both mean variances within 2.5 SE of
    # the closed forms, the "independent pixels" SD >= 135 SE away and the population variance 2 at N = 2 >= 11 SE
    k, pixels, tau, sigma = 500, 64, 1.0, 1.0
    for n in (2, 32):
        # k independent channels of one BatchNorm2d, each seeing its own batch; momentum 1 keeps exactly
        # the last batch's mean and unbiased variance in the buffers
        a = tau * t.randn32(n, k, 1, 1, stream=n)
        x = a + sigma * t.randn32(n, k, 8, 8, stream=100 + n)
        layer = nn.BatchNorm2d(k, momentum=1.0, affine=False).to(t.device, t.dtype).train()
        layer(x)
        means = layer.running_mean
        assert_close(means, x.mean((0, 2, 3)), rtol=0, atol=1e-12)
        biased = layer.running_var * (n * pixels - 1) / (n * pixels)
        expected_sd = t.record(f"mean_sd_n{n}", gn.batch_mean_sd(n, pixels, tau, sigma))
        iid_sd = t.record(f"iid_sd_n{n}", math.sqrt((tau ** 2 + sigma ** 2) / (n * pixels)))
        rel_se = 1 / math.sqrt(2 * (k - 1))  # the batch means are exactly Gaussian: SE of a sample SD
        sd = means.std().item()
        assert abs(sd / expected_sd - 1) < 6 * rel_se, (n, sd)
        assert abs(sd / iid_sd - 1) > 6 * rel_se  # "N P values, so the noise is negligible" is rejected
        expected_var = t.record(f"mean_var_n{n}", gn.expected_batch_variance(n, pixels, tau, sigma))
        se = biased.std().item() / math.sqrt(k)
        assert abs(biased.mean().item() - expected_var) < 6 * se, (n, biased.mean().item())
        if n == 2:  # on average 1.49 instead of the population variance 2
            assert abs(biased.mean().item() - (tau ** 2 + sigma ** 2)) > 6 * se
    assert round(gn.batch_mean_sd(2, 64, 1.0, 1.0), 2) == 0.71 and round(math.sqrt(2 / 128), 3) == 0.125
    # both closed forms, exactly, from the covariance of the N P values: tau^2 within an image, sigma^2 on
    # the diagonal; Var(batch mean) = 1' S 1 / M^2 and E[biased variance] = tr(S (I - 11'/M)) / M, M = N P.
    # tau, sigma away from 1 and 0 (a power or a factor of them shows), and the edges tau = 0, sigma = 0, N = 1
    for n, p, tau, sigma in ((3, 5, 0.7, 1.6), (1, 4, 1.3, 0.4), (4, 2, 0.0, 0.8), (2, 3, 2.5, 0.0)):
        m = n * p
        cov = tau ** 2 * torch.block_diag(*[torch.ones(p, p, dtype=torch.float64)] * n)
        cov += sigma ** 2 * torch.eye(m, dtype=torch.float64)
        centre = torch.eye(m, dtype=torch.float64) - 1 / m
        var_mean = cov.sum().item() / m ** 2
        mean_var = torch.trace(cov @ centre).item() / m
        assert math.isclose(gn.batch_mean_sd(n, p, tau, sigma), math.sqrt(var_mean), rel_tol=1e-12)
        assert math.isclose(gn.expected_batch_variance(n, p, tau, sigma), mean_var, rel_tol=1e-12, abs_tol=1e-15)


@check("group_norm.small-batch-train-eval-gap", kind="demonstration")
def small_batch_train_eval_gap(t):
    """Demonstration: BatchNorm2d trained on batches of 2 images normalizes a training batch very differently
    from how eval mode (running statistics) treats the same batch; with batches of 32 the gap is several times
    smaller. GroupNorm has no gap, and a sample's output does not depend on the batch size."""
    gaps = {}
    for n in (2, 32):
        layer = nn.BatchNorm2d(4, affine=False).to(t.device, t.dtype).train()
        with torch.no_grad():
            # running statistics, momentum 0.1: after 100 batches the initial buffers weigh 0.9^100 = 3e-5
            for batch in _image_batches(t, n, 100, stream=10 * n):
                layer(batch)
            layer.eval()
            sq = []
            for batch in _image_batches(t, n, 50, stream=10 * n + 5):  # new batches from the same data
                train_mode = F.batch_norm(batch, None, None, training=True)  # batch statistics, no update
                sq.append((train_mode - layer(batch)).pow(2).mean())
            gaps[n] = t.record(f"gap_n{n}", torch.stack(sq).mean().sqrt().item())
    # measured over seeds 0-59: gap 0.56 - 0.71 at N = 2, 0.13 - 0.16 at N = 32, ratio 3.85 - 4.96
    assert gaps[2] > 0.4 and gaps[32] < 0.2 and gaps[2] > 2.5 * gaps[32]
    batch = _image_batches(t, 32, 1, stream=7)[0]
    norm = nn.GroupNorm(2, 4, affine=False).to(t.device, t.dtype)
    assert_close(norm.train()(batch), norm.eval()(batch), rtol=0, atol=1e-13)
    assert_close(norm(batch[:2])[:1], norm(batch)[:1], rtol=0, atol=1e-12)
