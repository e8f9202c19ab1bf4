"""Checks for docs/*/convolution.md. Oracles: nn.Conv2d / nn.ConvTranspose2d shapes and parameter counts,
torch's FlopCounterMode, autograd, the conv's matrix built column by column from basis images, float64 references."""
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from snippets import convolution as cv
from verify._registry import check


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _macs(module, shape):
    """Multiply-adds of one forward pass on the meta device, read from torch's FLOP counter (2 FLOPs per MAC)."""
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(*shape, device="meta"))
    return counter.get_total_flops() // 2


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


def _matrix(f, in_shape, t):
    """The matrix of a linear map f: column j is f(e_j), computed for all basis images in one batch."""
    n = 1
    for s in in_shape:
        n *= s
    basis = torch.eye(n, dtype=t.dtype, device=t.device).view(n, *in_shape)
    return f(basis).reshape(n, -1).T


# ---------------------------------------------------------------- why convolution

@check("convolution.translation-equivariance", dtypes=("float32", "float64"))
def translation_equivariance(t):
    """Shift then convolve = convolve then shift: exact with circular padding, away from the border with zeros."""
    x, w = t.randn(2, 3, 12, 12), t.randn(4, 3, 3, 3, stream=1)
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))  # f32: 27-term sums, reordered
    ref = nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular", bias=False).to(t.device, t.dtype)
    ref.weight.data.copy_(w)
    y = cv.circular_conv2d(x, w)
    assert_close(y, ref(x), **tol)                         # the snippet is PyTorch's circular padding
    for kh, kw in ((3, 5), (5, 3)):                        # non-square kernels: each side padded by k // 2
        ref2 = nn.Conv2d(3, 4, (kh, kw), padding=(kh // 2, kw // 2), padding_mode="circular",
                         bias=False).to(t.device, t.dtype)
        assert_close(cv.circular_conv2d(x, ref2.weight.detach()), ref2(x), **tol)
    for shift in ((1, 0), (2, 3), (-1, 5), (7, -4)):
        shifted = torch.roll(x, shift, dims=(2, 3))
        assert_close(cv.circular_conv2d(shifted, w), torch.roll(y, shift, dims=(2, 3)), **tol)
    # zero padding: move the image one pixel down and right, filling with zeros
    xs = torch.zeros_like(x)
    xs[..., 1:, 1:] = x[..., :-1, :-1]
    y0, y1 = F.conv2d(x, w, padding=1), F.conv2d(xs, w, padding=1)
    assert_close(y1[..., 1:-1, 1:-1], y0[..., :-2, :-2], **tol)  # equal wherever no window meets the lost row
    assert _rel(y1[..., -1, 1:], y0[..., -2, :-1]) > 0.1         # the last row's windows saw different pixels


@check("convolution.stride-breaks-invariance")
def stride_breaks_invariance(t):
    """A 1-pixel shift changes a stride-2 (or pooled) output beyond any shift of it; a 2-pixel shift moves it by 1."""
    x, w = t.randn(1, 3, 12, 12), t.randn(4, 3, 3, 3, stream=1)
    strided = lambda z: F.conv2d(F.pad(z, (1, 1, 1, 1), mode="circular"), w, stride=2)  # noqa: E731
    pooled = lambda z: F.max_pool2d(cv.circular_conv2d(z, w), 2)                         # noqa: E731
    for net in (strided, pooled):
        y = net(x)
        y1, y2 = net(torch.roll(x, 1, dims=3)), net(torch.roll(x, 2, dims=3))
        misses = torch.tensor([_rel(y1, torch.roll(y, (a, b), dims=(2, 3))) for a in range(6) for b in range(6)])
        # no shift of y reproduces y1 (the smallest miss is >= 0.49 over seeds 0-19)
        assert torch.isfinite(misses).all() and misses.min() > 0.1
        assert_close(y2, torch.roll(y, 1, dims=3), rtol=1e-12, atol=1e-12)  # a shift by the stride is equivariant
    # stride 1 + global average pooling is exactly invariant; stride 2 + global average pooling is not
    gap = lambda z: cv.circular_conv2d(z, w).mean(dim=(2, 3))  # noqa: E731
    assert_close(gap(torch.roll(x, (3, 1), dims=(2, 3))), gap(x), rtol=1e-12, atol=1e-12)
    moved = strided(torch.roll(x, 1, dims=3)).mean(dim=(2, 3))
    assert _rel(moved, strided(x).mean(dim=(2, 3))) > 0.1      # (>= 0.9 over seeds 0-19)


@check("convolution.local-and-shared")
def local_and_shared(t):
    """The matrix of a conv is sparse (locality) and repeats C_out*C_in*k*k values (sharing); dense costs more."""
    w = t.randn(4, 3, 3, 3)
    a = _matrix(lambda b: F.conv2d(b, w, padding=1), (3, 8, 8), t)     # (4*8*8, 3*8*8)
    assert a.shape == (256, 192)
    entries = t.record("dense_entries", a.numel())
    nonzero = t.record("nonzero", (a != 0).sum().item())
    distinct = t.record("distinct", torch.unique(a[a != 0]).numel())
    assert (entries, nonzero, distinct) == (49152, 5808, 108) and distinct == w.numel()
    assert torch.isin(a[a != 0], w.flatten()).all()                   # every entry is a weight, copied
    # a 3 -> 16 channel 3x3 layer on 32x32 maps, against a dense layer between the same shapes
    conv = nn.Conv2d(3, 16, 3, padding=1, device="meta")
    dense = nn.Linear(3 * 32 * 32, 16 * 32 * 32, device="meta")
    assert t.record("conv_params", _count(conv)) == cv.conv_params(3, 16, 3) == 448
    assert t.record("dense_params", _count(dense)) == 50_348_032


# ---------------------------------------------------------------- arithmetic

@check("convolution.output-size", devices=("cpu",))
def output_size(t):
    """floor((n + 2p - d(k-1) - 1)/s) + 1 = nn.Conv2d's output size, including 1-pixel inputs and no-fit errors."""
    z = torch.zeros
    wrong_no_dilation = wrong_ceil = 0
    for k in (1, 2, 3, 4):
        for s in (1, 2, 3):
            for p in (0, 1, 2):
                for d in (1, 2):
                    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)  # one layer, every n
                    for n in (1, 2, 5, 8):
                        if n + 2 * p < d * (k - 1) + 1:   # the dilated kernel does not fit: both refuse
                            try:
                                conv(z(1, 1, n, n))
                            except RuntimeError:
                                pass
                            else:
                                raise AssertionError(f"nn.Conv2d accepted n={n} k={k} p={p} d={d}")
                            try:
                                cv.conv_output_size(n, k, s, p, d)
                            except ValueError:
                                continue
                            raise AssertionError("conv_output_size accepted a kernel that does not fit")
                        out = conv(z(1, 1, n, n + 1)).shape[2:]
                        assert (out[0], out[1]) == (cv.conv_output_size(n, k, s, p, d),
                                                    cv.conv_output_size(n + 1, k, s, p, d))
                        wrong_no_dilation += (n + 2 * p - k) // s + 1 != out[0]
                        wrong_ceil += -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1 != out[0]
    assert wrong_no_dilation > 0 and wrong_ceil > 0   # dropping d, or rounding up, is caught by the grid
    stem = nn.Conv2d(3, 64, 7, stride=2, padding=3, device="meta")(z(1, 3, 224, 224, device="meta")).shape[-1]
    assert t.record("resnet_stem", cv.conv_output_size(224, 7, 2, 3)) == stem == 112
    assert t.record("same", cv.conv_output_size(32, 3, 1, 1)) == 32
    assert t.record("half_even", cv.conv_output_size(32, 3, 2, 1)) == 16
    assert t.record("half_odd", cv.conv_output_size(33, 3, 2, 1)) == 17
    assert t.record("dilated_same", cv.conv_output_size(32, 3, 1, 2, 2)) == 32


@check("convolution.parameter-count", devices=("cpu",))
def parameter_count(t):
    """Parameters = C_out (C_in/g) k^2 (+ C_out); multiply-adds = H_out W_out C_out (C_in/g) k^2."""
    for c_in, c_out, k, g, s, p, n in ((3, 64, 3, 1, 1, 1, 224), (6, 8, 3, 2, 2, 1, 9), (16, 16, 5, 16, 1, 2, 12),
                                       (4, 10, 1, 1, 1, 0, 7), (12, 6, 2, 3, 2, 0, 11)):
        for bias in (True, False):
            conv = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, groups=g, bias=bias, device="meta")
            assert _count(conv) == cv.conv_params(c_in, c_out, k, g, bias)
        m = cv.conv_output_size(n, k, s, p)
        assert _macs(conv, (1, c_in, n, n)) == cv.conv_macs(c_in, c_out, k, m, m, g)
    assert t.record("vgg1_params", cv.conv_params(3, 64, 3)) == 1792
    assert t.record("vgg1_weights", cv.conv_params(3, 64, 3, bias=False)) == 1728
    vgg1 = t.record("vgg1_macs", cv.conv_macs(3, 64, 3, 224, 224))
    assert vgg1 == _macs(nn.Conv2d(3, 64, 3, padding=1, device="meta"), (1, 3, 224, 224)) == 86_704_128
    assert cv.conv_macs(3, 64, 3, 224, 224) != 224 * 224 * 64 * 9   # forgetting C_in is caught


@check("convolution.receptive-field")
def receptive_field(t):
    """r_L = 1 + sum (k_l - 1) d_l prod_{i<l} s_i equals the measured support of d(output centre)/d(input)."""
    stacks = {"plain3": [(3, 1, 1)] * 3,
              "resnet_stem": [(7, 2, 1), (3, 2, 1), (3, 1, 1)],
              "mixed": [(3, 2, 1), (3, 1, 2), (3, 2, 1), (3, 1, 1)],
              "even": [(5, 1, 1), (2, 2, 1), (3, 3, 2)]}
    for name, layers in stacks.items():
        net = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, dilation=d, bias=False) for k, s, d in layers])
        net = net.to(t.device, torch.float64)
        for c in net:
            nn.init.ones_(c.weight)        # positive weights: the gradient cannot cancel to zero by chance
        x = torch.zeros(1, 1, 64, 64, dtype=torch.float64, device=t.device, requires_grad=True)
        y = net(x)
        y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
        cols = (x.grad[0, 0].abs().sum(dim=0) > 0.5).nonzero()   # true gradients are positive integers
        measured = (cols.max() - cols.min() + 1).item()
        assert measured == t.record(name, cv.receptive_field(layers))
        wrong, jump = 1, 1                 # a common slip: multiply by the layer's own stride too
        for k, s, d in layers:
            jump *= s
            wrong += (k - 1) * d * jump
        if name != "plain3":
            assert wrong != measured
    assert (t.values["plain3"], t.values["resnet_stem"]) == (7, 19)


# ---------------------------------------------------------------- 1x1 and fully connected

@check("convolution.one-by-one-is-linear", dtypes=("float32", "float64"))
def one_by_one_is_linear(t):
    """nn.Conv2d(C, C', 1) = nn.Linear(C, C') applied to every pixel's channel vector."""
    t.seed_modules()
    linear = nn.Linear(5, 7).to(t.device, t.dtype)
    conv = nn.Conv2d(5, 7, 1).to(t.device, t.dtype)
    conv.weight.data.copy_(linear.weight[:, :, None, None])
    conv.bias.data.copy_(linear.bias)
    x = t.randn(2, 5, 4, 6)
    tol = dict(rtol=t.tol(f64=1e-13, f32=1e-5), atol=t.tol(f64=1e-13, f32=1e-5))  # f32: 5-term sums, reordered
    y = cv.conv1x1_as_linear(x, linear)
    assert y.shape == (2, 7, 4, 6)
    assert_close(y, conv(x), **tol)
    ref = torch.einsum("oc,nchw->nohw", linear.weight.double(), x.double()) + linear.bias.double()[:, None, None]
    assert_close(y.double(), ref, **tol)
    assert _rel(y[:, :5].double(), x.double()) > 0.5    # it mixes channels: not the identity


@check("convolution.bottleneck-params", devices=("cpu",))
def bottleneck_params(t):
    """ResNet's 1x1-3x3-1x1 bottleneck at width 256 has 17x fewer weights than two 3x3 layers at width 256."""
    m = dict(bias=False, device="meta")
    bottleneck = nn.Sequential(nn.Conv2d(256, 64, 1, **m), nn.Conv2d(64, 64, 3, padding=1, **m),
                               nn.Conv2d(64, 256, 1, **m))
    basic = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1, **m), nn.Conv2d(256, 256, 3, padding=1, **m))
    b = t.record("bottleneck", _count(bottleneck))
    p = t.record("basic", _count(basic))
    assert b == cv.conv_params(256, 64, 1, bias=False) * 2 + cv.conv_params(64, 64, 3, bias=False) == 69_632
    assert p == 2 * cv.conv_params(256, 256, 3, bias=False) == 1_179_648
    ratio = t.record("ratio", p / b)
    assert f"{ratio:.1f}" == "16.9"
    shape = (1, 256, 56, 56)
    assert _macs(basic, shape) / _macs(bottleneck, shape) == ratio  # stride 1, same map: MACs scale alike


@check("convolution.fc-as-conv", dtypes=("float32", "float64"))
def fc_as_conv(t):
    """Linear(C*H*W, K) = Conv2d(C, K, (H, W)) on an H x W input; on a larger input it slides over every crop."""
    t.seed_modules()
    linear = nn.Linear(3 * 5 * 4, 6).to(t.device, t.dtype)
    conv = cv.fc_as_conv(linear, 3, 5, 4)
    x = t.randn(2, 3, 5, 4)
    tol = dict(rtol=t.tol(f64=1e-13, f32=1e-5), atol=t.tol(f64=1e-13, f32=1e-5))  # f32: 60-term sums, reordered
    assert conv(x).shape == (2, 6, 1, 1)
    assert_close(conv(x).flatten(1), linear(x.flatten(1)), **tol)
    big = t.randn(2, 3, 7, 9, stream=1)
    maps = conv(big)
    assert maps.shape == (2, 6, 3, 6)
    for i in range(3):
        for j in range(6):
            assert_close(maps[:, :, i, j], linear(big[:, :, i:i + 5, j:j + 4].flatten(1)), **tol)
    assert _count(conv) == _count(linear)
    # a bias-free Linear gives a bias-free conv; the conv is built on the Linear's device
    assert cv.fc_as_conv(nn.Linear(60, 6, bias=False), 3, 5, 4).bias is None
    assert cv.fc_as_conv(nn.Linear(60, 6, device="meta"), 3, 5, 4).weight.device.type == "meta"


# ---------------------------------------------------------------- pooling versus strides

@check("convolution.strided-conv-avg-pool", dtypes=("float32", "float64"))
def strided_conv_avg_pool(t):
    """A k x k stride-k convolution with weights 1/k^2 on each channel's own input is k x k average pooling."""
    x = t.randn(2, 3, 12, 6)
    tol = dict(rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))  # a k*k-term mean, reordered
    for k in (2, 3):
        conv = cv.avg_pool_as_conv(3, k, dtype=t.dtype, device=t.device)
        assert cv.avg_pool_as_conv(3, k, device="meta").weight.device.type == "meta"   # device is honoured
        assert_close(conv(x), F.avg_pool2d(x, k), **tol)
        full = torch.eye(3, dtype=t.dtype, device=t.device)[:, :, None, None].expand(3, 3, k, k) / k ** 2
        assert_close(F.conv2d(x, full, stride=k), F.avg_pool2d(x, k), **tol)   # an ordinary conv holds it too


@check("convolution.max-pool-not-linear", devices=("cpu",))
def max_pool_not_linear(t):
    """Max pooling is not additive nor odd, so no convolution equals it; every convolution is both."""
    a = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64)
    b = torch.tensor([[[[0.0, 1.0], [0.0, 0.0]]]], dtype=torch.float64)
    mp = lambda z: F.max_pool2d(z, 2).item()  # noqa: E731
    assert (t.record("max_of_sum", mp(a + b)), t.record("sum_of_max", mp(a) + mp(b))) == (1.0, 2.0)
    assert mp(-a) == 0.0 and -mp(a) == -1.0
    w = t.randn(1, 1, 2, 2)
    conv = lambda z: F.conv2d(z, w, stride=2)  # noqa: E731
    x, y = t.randn(1, 1, 2, 2, stream=1), t.randn(1, 1, 2, 2, stream=2)
    assert_close(conv(x + y), conv(x) + conv(y), rtol=1e-14, atol=1e-14)
    assert_close(conv(-x), -conv(x), rtol=0, atol=0)


# ---------------------------------------------------------------- grouped, depthwise, separable

@check("convolution.grouped-equals-split", dtypes=("float32", "float64"))
def grouped_equals_split(t):
    """groups = g equals g separate convolutions on channel slices, and stores 1/g of the weights."""
    x = t.randn(2, 6, 7, 7)
    tol = dict(rtol=t.tol(f64=1e-13, f32=1e-5), atol=t.tol(f64=1e-13, f32=1e-5))  # f32: <= 54-term sums, reordered
    for g in (1, 2, 3, 6):
        w = t.randn(12, 6 // g, 3, 3, stream=g)
        y = F.conv2d(x, w, padding=1, groups=g)
        assert_close(cv.grouped_conv2d(x, w, g, padding=1), y, **tol)
        assert_close(cv.grouped_conv2d(x, w, g), F.conv2d(x, w, groups=g), **tol)   # default padding 0
        dense = torch.zeros(12, 6, 3, 3, dtype=t.dtype, device=t.device)    # block-diagonal full weight
        for i in range(g):
            dense[i * 12 // g:(i + 1) * 12 // g, i * 6 // g:(i + 1) * 6 // g] = w[i * 12 // g:(i + 1) * 12 // g]
        assert_close(F.conv2d(x, dense, padding=1), y, **tol)
        assert _count(nn.Conv2d(6, 12, 3, groups=g, bias=False)) == cv.conv_params(6, 12, 3, g, False) == 648 // g
    full = t.record("full", _count(nn.Conv2d(256, 256, 3, bias=False, device="meta")))
    grouped = t.record("resnext", _count(nn.Conv2d(256, 256, 3, groups=32, bias=False, device="meta")))
    assert (full, grouped) == (589_824, 18_432) == (cv.conv_params(256, 256, 3, bias=False),
                                                   cv.conv_params(256, 256, 3, 32, False))


@check("convolution.separable-cost-ratio", devices=("cpu",))
def separable_cost_ratio(t):
    """Depthwise + pointwise costs 1/C_out + 1/k^2 of a full k x k conv, in parameters and in multiply-adds."""
    for c_in, c_out, k in ((32, 64, 3), (16, 8, 5), (3, 16, 3), (256, 256, 3)):
        sep = cv.separable_conv(c_in, c_out, k, padding=k // 2).to("meta")
        unpadded = cv.separable_conv(c_in, c_out, k).to("meta")   # default padding 0, as nn.Conv2d
        assert unpadded(torch.zeros(1, c_in, 9, 9, device="meta")).shape == (1, c_out, 10 - k, 10 - k)
        full = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False, device="meta")
        closed = Fraction(1, c_out) + Fraction(1, k * k)
        assert Fraction(_count(sep), _count(full)) == closed
        shape = (1, c_in, 14, 14)
        assert Fraction(_macs(sep, shape), _macs(full, shape)) == closed
        assert abs(cv.separable_cost_ratio(c_out, k) - float(closed)) <= 1e-15
        if c_in != c_out:       # the misquote 1/C_in + 1/k^2 and the bare 1/k^2 are both rejected
            assert Fraction(1, c_in) + Fraction(1, k * k) != closed
        assert Fraction(1, k * k) != closed
    r = t.record("ratio", cv.separable_cost_ratio(256, 3))
    assert f"{r:.3f}" == "0.115" and f"{t.record('speedup', 1 / r):.2f}" == "8.69"


@check("convolution.separable-is-factorized")
def separable_is_factorized(t):
    """Depthwise then pointwise = one conv with W[o, i] = P[o, i] D[i]: each W[:, i] has rank 1; a full conv has not."""
    c_in, c_out, k = 4, 6, 3
    d, p = t.randn(c_in, 1, k, k), t.randn(c_out, c_in, 1, 1, stream=1)
    x = t.randn(2, c_in, 9, 9, stream=2)
    y = F.conv2d(F.conv2d(x, d, padding=1, groups=c_in), p)
    w = p * d.view(1, c_in, k, k)                                  # (C_out, C_in, k, k)
    assert_close(F.conv2d(x, w, padding=1), y, rtol=1e-12, atol=1e-12)
    sv_sep = torch.linalg.svdvals(w[:, 0].reshape(c_out, k * k))
    sv_full = torch.linalg.svdvals(t.randn(c_out, c_in, k, k, stream=3)[:, 0].reshape(c_out, k * k))
    assert (sv_sep[1] / sv_sep[0]).item() < 1e-12 and (sv_full[1] / sv_full[0]).item() > 0.05


# ---------------------------------------------------------------- dilation

@check("convolution.dilation-gridding")
def dilation_gridding(t):
    """Stacked dilation-2 layers reach only every other input pixel; dilations 1, 2, 4 cover their 15 x 15 field."""
    for name, dilations in (("d22", (2, 2)), ("d222", (2, 2, 2)), ("d124", (1, 2, 4)), ("d123", (1, 2, 3))):
        net = nn.Sequential(*[nn.Conv2d(1, 1, 3, dilation=d, bias=False) for d in dilations])
        net = net.to(t.device, torch.float64)
        for c in net:
            nn.init.ones_(c.weight)
        x = torch.zeros(1, 1, 40, 40, dtype=torch.float64, device=t.device, requires_grad=True)
        y = net(x)
        y[0, 0, 0, 0].backward()                                   # this output sees x[0 .. r-1, 0 .. r-1]
        support = x.grad[0, 0] > 0.5                               # true gradients are positive integers
        offsets = cv.dilated_support(3, dilations)
        expected = torch.zeros(40, 40, dtype=torch.bool, device=t.device)
        idx = torch.tensor(offsets, device=t.device)
        expected[idx[:, None], idx[None, :]] = True
        assert torch.equal(support, expected)
        extent = t.record(f"{name}_extent", offsets[-1] + 1)
        assert extent == cv.receptive_field([(3, 1, d) for d in dilations])
        t.record(f"{name}_covered", support.sum().item())
    v = t.values
    assert (v["d22_extent"], v["d22_covered"]) == (9, 25)
    assert (v["d222_extent"], v["d222_covered"]) == (13, 49)
    assert (v["d124_extent"], v["d124_covered"]) == (15, 225)
    assert (v["d123_extent"], v["d123_covered"]) == (13, 169)
    assert _count(nn.Conv2d(8, 8, 3, dilation=2)) == _count(nn.Conv2d(8, 8, 3))  # dilation adds no weights


# ---------------------------------------------------------------- transposed convolution

@check("convolution.transposed-is-adjoint", dtypes=("float32", "float64"))
def transposed_is_adjoint(t):
    """<conv(x), y> = <x, conv_transpose(y)>; its matrix is the conv's matrix transposed; it is the input gradient."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))  # f32: sums of ~100 products
    for i, (s, p, d) in enumerate(((1, 0, 1), (2, 1, 1), (3, 1, 2), (2, 0, 1))):
        w = t.randn(4, 3, 3, 3, stream=10 + i)
        x = t.randn(2, 3, 9, 8, stream=20 + i)
        conv = lambda z: F.conv2d(z, w, stride=s, padding=p, dilation=d)  # noqa: E731
        out = conv(x).shape[2:]
        op = tuple(n - cv.conv_transpose_output_size(o, 3, s, p, d) for n, o in zip((9, 8), out))
        convt = lambda z: F.conv_transpose2d(z, w, stride=s, padding=p, dilation=d, output_padding=op)  # noqa: E731
        y = t.randn(2, 4, *out, stream=30 + i)
        assert_close((conv(x) * y).sum(), (x * convt(y)).sum(), **tol)
        xg = x.clone().requires_grad_(True)
        (conv(xg) * y).sum().backward()
        assert_close(xg.grad, convt(y), **tol)
        a = _matrix(conv, (3, 9, 8), t)
        b = _matrix(convt, (4, *out), t)
        assert_close(b, a.T, **tol)


@check("convolution.transposed-output-size", devices=("cpu",))
def transposed_output_size(t):
    """(n-1)s - 2p + d(k-1) + output_padding + 1 = nn.ConvTranspose2d's size; a conv maps it back to n."""
    # in float64, the trial's dtype, PyTorch runs its own kernel; in float32 it builds a oneDNN primitive for
    # each of the ~600 shapes below, which costs 20 times as much on a first run
    zeros = lambda *shape: torch.zeros(*shape, dtype=t.dtype)  # noqa: E731
    wrong = 0
    for n in (1, 2, 4, 5):
        for k in (1, 2, 3, 4):
            for s in (1, 2, 3):
                for p in (0, 1, 2):
                    for d in (1, 2):
                        for op in range(max(s, d)):
                            w = zeros(1, 1, k, k)
                            layer = lambda z: F.conv_transpose2d(z, w, stride=s, padding=p, dilation=d,  # noqa: E731
                                                                 output_padding=op)
                            size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
                            if size < 1:
                                try:   # PyTorch refuses, or (size 0, k = 4) returns an empty tensor
                                    assert layer(zeros(1, 1, n, n)).numel() == 0
                                except RuntimeError:
                                    pass
                                try:
                                    cv.conv_transpose_output_size(n, k, s, p, d, op)
                                except ValueError:
                                    continue
                                raise AssertionError("conv_transpose_output_size accepted an empty output")
                            out = layer(zeros(1, 1, n, n)).shape[-1]
                            assert out == cv.conv_transpose_output_size(n, k, s, p, d, op)
                            wrong += (n - 1) * s - 2 * p + k + op != out        # dilation forgotten
                            if op < s:   # op in [s, d) would name an input one stride longer
                                assert cv.conv_output_size(out, k, s, p, d) == n  # the shape round trip
    assert wrong > 0
    assert t.record("upsample", cv.conv_transpose_output_size(16, 4, 2, 1)) == 32
    # the defaults (stride 1, padding 0, dilation 1, output_padding 0) are nn.ConvTranspose1d's
    assert cv.conv_transpose_output_size(5, 3) == nn.ConvTranspose1d(1, 1, 3)(torch.zeros(1, 1, 5)).shape[-1] == 7
    layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    assert _count(layer) == cv.conv_params(1, 1, 3)   # same weight shape as the conv it transposes
    for op in (0, 1):   # two input sizes (15, 16) give 8 under this conv; output_padding picks one
        assert layer(torch.zeros(1, 1, 8, 8), output_size=(15 + op, 15 + op)).shape[-1] == \
            cv.conv_transpose_output_size(8, 3, 2, 1, 1, op)
    assert [cv.conv_output_size(m, 3, 2, 1) for m in (15, 16)] == [t.record("shared_output", 8)] * 2


@check("convolution.transposed-not-inverse")
def transposed_not_inverse(t):
    """A stride-2 conv from 8x8 to 4x4 has rank 16 < 64: nothing inverts it; conv_transpose(conv(x)) is not x."""
    w = t.randn(1, 1, 3, 3)
    a = _matrix(lambda z: F.conv2d(z, w, stride=2, padding=1), (1, 8, 8), t)
    assert (t.record("outputs", a.shape[0]), t.record("inputs", a.shape[1])) == (16, 64)
    assert t.record("rank", torch.linalg.matrix_rank(a).item()) == 16
    x = t.randn(1, 1, 8, 8, stream=1)
    for s in (1, 2):
        y = F.conv2d(x, w, stride=s, padding=1)
        back = F.conv_transpose2d(y, w, stride=s, padding=1, output_padding=s - 1)
        assert back.shape == x.shape                       # only the shape comes back
        assert _rel(back, x) > 0.3                         # (>= 1.3 over seeds 0-19)


@check("convolution.checkerboard-overlap")
def checkerboard_overlap(t):
    """With a ones kernel, a transposed conv's output counts overlaps: uneven unless the stride divides k."""
    for k in range(1, 7):
        for s in (1, 2, 3):
            ones = torch.ones(1, 1, 8, dtype=torch.float64, device=t.device)
            counts = F.conv_transpose1d(ones, torch.ones(1, 1, k, dtype=torch.float64, device=t.device), stride=s)
            mine = torch.tensor(cv.transposed_overlap(8, k, s), dtype=torch.float64, device=t.device)
            assert_close(counts[0, 0], mine, rtol=0, atol=1e-9)
            inner = mine[k:-k]                            # away from the two ends
            assert (inner.max() == inner.min()).item() == (k % s == 0)
    ones2 = torch.ones(1, 1, 6, 6, dtype=torch.float64, device=t.device)
    for k in (3, 4):
        grid = F.conv_transpose2d(ones2, torch.ones(1, 1, k, k, dtype=torch.float64, device=t.device), stride=2)
        inner = grid[0, 0, k:-k, k:-k]
        t.record(f"k{k}_min", inner.min().item())
        t.record(f"k{k}_max", inner.max().item())
    v = t.values
    assert (v["k3_min"], v["k3_max"], v["k4_min"], v["k4_max"]) == (1, 4, 4, 4)


# ---------------------------------------------------------------- backward

@check("convolution.backward-is-convolution", dtypes=("float32", "float64"))
def backward_is_convolution(t):
    """dL/dx = conv_transpose(g, w), dL/dw = correlation of x with g: both equal autograd's gradients."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))  # f32: sums of <= 200 products
    for i, (s, p, h, kh, kw) in enumerate(((1, 0, 7, 3, 3), (1, 1, 8, 3, 2), (2, 1, 9, 3, 3),
                                            (2, 0, 8, 3, 3), (3, 1, 10, 2, 3))):
        x = t.randn(2, 3, h, h + 1, stream=i).requires_grad_(True)
        w = t.randn(4, 3, kh, kw, stream=10 + i).requires_grad_(True)
        y = F.conv2d(x, w, stride=s, padding=p)
        g = t.randn(*y.shape, stream=20 + i)
        y.backward(g)
        gx, gw = cv.conv2d_backward(x.detach(), w.detach(), g, stride=s, padding=p)
        if (s, p) == (1, 0):   # the defaults are those of F.conv2d
            defaults = cv.conv2d_backward(x.detach(), w.detach(), g)
            assert torch.equal(defaults[0], gx) and torch.equal(defaults[1], gw)
        assert_close(gx, x.grad, **tol)
        assert_close(gw, w.grad, **tol)


# ---------------------------------------------------------------- architectures

def _vgg16():
    layers, c = [], 3
    for v in cv.VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1, device="meta"), nn.ReLU()]  # meta: nothing allocated
            c = v
    return nn.Sequential(*layers)


@check("convolution.vgg16-params", devices=("cpu",))
def vgg16_params(t):
    """VGG-16: 14,714,688 conv parameters, 138,357,544 in all; 224 x 224 becomes 7 x 7 after five poolings."""
    features = _vgg16()
    conv = t.record("conv", _count(features))
    assert conv == cv.vgg_conv_params(cv.VGG16) == 14_714_688
    out = features(torch.zeros(1, 3, 224, 224, device="meta")).shape
    assert out == (1, 512, 7, 7) and t.record("final_size", out[-1]) == 7
    sizes = ((512 * 7 * 7, 4096), (4096, 4096), (4096, 1000))
    head = nn.Sequential(*[nn.Linear(a, b, device="meta") for a, b in sizes])
    total = t.record("total", conv + _count(head))
    assert total == 138_357_544
    share = t.record("fc_share", _count(head) / total)
    assert f"{share:.2f}" == "0.89"
    # VGG's argument (Simonyan & Zisserman 2015, 2.3): 3x3 stacks see as far as one big kernel, with fewer weights
    for layers, big, name in ((2, 5, "stack2_vs_5"), (3, 7, "stack3_vs_7")):
        assert cv.receptive_field([(3, 1, 1)] * layers) == big
        stack = nn.Sequential(*[nn.Conv2d(64, 64, 3, bias=False, device="meta") for _ in range(layers)])
        ratio = t.record(name, _count(stack) / _count(nn.Conv2d(64, 64, big, bias=False, device="meta")))
        assert ratio == layers * 9 / big ** 2
    assert (f"{t.values['stack2_vs_5']:.2f}", f"{t.values['stack3_vs_7']:.2f}") == ("0.72", "0.55")


@check("convolution.stage-cost-constant", devices=("cpu",))
def stage_cost_constant(t):
    """Halving H and W while doubling C keeps a 3x3 layer's multiply-adds constant (VGG-16, ResNet stages)."""
    features = _vgg16()
    # one forward pass on the meta device; torch's FLOP counter also counts per submodule (2 FLOPs per MAC)
    with FlopCounterMode(display=False) as counter:
        features(torch.zeros(1, 3, 224, 224, device="meta"))
    per_module = counter.get_flop_counts()
    macs = [sum(per_module[f"Sequential.{i}"].values()) // 2 for i, m in enumerate(features)
            if isinstance(m, nn.Conv2d)]
    assert len(macs) == 13 and macs[0] == 224 * 224 * 64 * 3 * 9  # the first layer: 3 input channels
    # stages 1-4: all layers but each stage's first cost 224^2 * 64^2 * 9; stage 5 keeps 512 channels at 14 x 14
    per_layer = t.record("vgg_layer", macs[1])
    assert per_layer == 224 * 224 * 64 * 64 * 9 == 1_849_688_064
    assert f"{t.record('vgg_layer_g', per_layer / 1e9):.2f}" == "1.85"
    assert macs[1] == macs[3] == macs[5] == macs[6] == macs[8] == macs[9]
    assert macs[2] == macs[4] == macs[7] == per_layer // 2 and macs[10:] == [per_layer // 4] * 3
    total = t.record("vgg_total", sum(macs))
    assert total == counter.get_total_flops() // 2  # the convolutions are all the multiply-adds
    assert f"{t.record('vgg_total_g', total / 1e9):.1f}" == "15.3"
    # ResNet stages (He et al. 2016, Table 1): 64 @ 56, 128 @ 28, 256 @ 14, 512 @ 7
    res = [cv.conv_macs(c, c, 3, n, n) for c, n in ((64, 56), (128, 28), (256, 14), (512, 7))]
    assert res == [_macs(nn.Conv2d(c, c, 3, padding=1, device="meta"), (1, c, n, n))
                   for c, n in ((64, 56), (128, 28), (256, 14), (512, 7))]
    assert len(set(res)) == 1 and t.record("resnet_layer", res[0]) == 115_605_504
    # LeNet-5 (LeCun et al. 1998): 32 -> C1 28 -> S2 14 -> C3 10 -> S4 5 -> C5 1 (a 5x5 kernel on a 5x5 map)
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, device="meta"), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5, device="meta"),
                          nn.AvgPool2d(2), nn.Conv2d(16, 120, 5, device="meta"))
    shapes, z = [], torch.zeros(1, 1, 32, 32, device="meta")
    for layer in lenet:
        z = layer(z)
        shapes.append(z.shape[-1])
    assert shapes == [28, 14, 10, 5, 1]
    for name, size in zip(("lenet_c1", "lenet_s2", "lenet_c3", "lenet_s4", "lenet_c5"), shapes):
        t.record(name, size)
    assert cv.conv_output_size(cv.conv_output_size(32, 5) // 2, 5) == 10
