"""Checks for docs/*/pooling.md. Oracles: torch.nn pooling layers, autograd, parameter counts of real modules."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import pooling as pl
from verify._registry import check


@check("pooling.max-keeps-peak", dtypes=("float32", "float64"))
def max_keeps_peak(t):
    """Max pooling keeps an isolated peak intact; average pooling divides it by the window size."""
    x = torch.zeros(1, 1, 8, 8, dtype=t.dtype, device=t.device)
    x[0, 0, 3, 4] = 5.0
    assert pl.max_pool2d(x, 2).max().item() == 5.0 == F.max_pool2d(x, 2).max().item()
    assert pl.avg_pool2d(x, 2).max().item() == 1.25 == F.avg_pool2d(x, 2).max().item()
    # the snippets agree with the built-ins on random data (max: exact; mean of 4: one rounding per add)
    r = t.randn(2, 3, 12, 8)
    assert torch.equal(pl.max_pool2d(r, 2), F.max_pool2d(r, 2))
    tol = dict(rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
    assert_close(pl.avg_pool2d(r, 4), F.avg_pool2d(r, 4), **tol)
    try:
        pl.max_pool2d(r[..., :5, :], 2)
    except ValueError as e:
        assert "(5, 8)" in str(e), str(e)
    else:
        raise AssertionError("a 5 x 8 map was accepted for kernel 2")


@check("pooling.output-size", devices=("cpu",))
def output_size(t):
    """Output size floor((H + 2p - k)/s) + 1 agrees with nn.MaxPool2d; k = s = 2 halves H (rounding down)."""
    for h in (31, 32, 33):
        for k, s, p in ((2, 2, 0), (3, 2, 1), (3, 1, 1), (3, 3, 0)):
            out = nn.MaxPool2d(k, s, p)(torch.zeros(1, 1, h, h)).shape[-1]
            assert pl.pool_output_size(h, k, s, p) == out
    assert [pl.pool_output_size(h, 2, 2) for h in (31, 32, 33)] == [15, 16, 16]
    # the range edges, exhaustively on small inputs: every padding up to kernel // 2, windows that just fit
    # (size + 2p = k) and ones that do not; nn.MaxPool2d refuses the same inputs the snippet refuses
    for h in range(1, 6):
        for k in range(1, 5):
            for s in (1, 2):
                for p in range(k // 2 + 1):
                    try:
                        out = nn.MaxPool2d(k, s, p)(torch.zeros(1, 1, h, h)).shape[-1]
                    except RuntimeError:
                        out = None
                    if out is None:
                        try:
                            pl.pool_output_size(h, k, s, p)
                        except ValueError as e:
                            assert f"= {h + 2 * p} is smaller" in str(e), str(e)
                        else:
                            raise AssertionError(f"accepted {(h, k, s, p)}")
                    else:
                        assert pl.pool_output_size(h, k, s, p) == out, (h, k, s, p)


def _input_extent(net, size=32):
    """Width of the input region that reaches one central output unit (non-zero input gradient)."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    # true gradients here are >= 1/4 (sums of ones, /4 per pooling); the threshold ignores FFT round-off on CUDA
    cols = (x.grad[0, 0].abs().sum(dim=0) > 1e-3).nonzero()
    return (cols.max() - cols.min() + 1).item()


@check("pooling.receptive-field-grows")
def receptive_field_grows(t):
    """A 2x2 pooling between two 3x3 convolutions widens what one output sees from 5 to 8 input pixels."""
    def conv():
        c = nn.Conv2d(1, 1, 3, bias=False).to(t.device, torch.float64)
        nn.init.ones_(c.weight)  # all-positive weights: no accidental cancellation of the gradient
        return c
    net_plain = nn.Sequential(conv(), conv()).to(t.device)
    net_pool = nn.Sequential(conv(), nn.AvgPool2d(2), conv()).to(t.device)
    plain = _input_extent(lambda x: net_plain(x.to(t.device)))
    pooled = _input_extent(lambda x: net_pool(x.to(t.device)))
    assert (plain, pooled) == (5, 8)
    assert pl.receptive_field([(3, 1), (3, 1)]) == plain
    assert pl.receptive_field([(3, 1), (2, 2), (3, 1)]) == pooled


@check("pooling.max-routes-gradient", dtypes=("float32", "float64"))
def max_routes_gradient(t):
    """Backward through max pooling sends each window's gradient to its arg-max alone; the others get 0."""
    x = t.randn(2, 3, 6, 8).requires_grad_(True)
    g = t.randn(2, 3, 3, 4, stream=1)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    y.backward(g)
    expected = torch.zeros_like(x).flatten(2).scatter(2, idx.flatten(2), g.flatten(2)).view_as(x)
    assert torch.equal(x.grad, expected)
    assert (x.grad != 0).sum().item() == g.numel()  # exactly one non-zero per 2x2 window
    xs = x.detach().clone().requires_grad_(True)
    pl.max_pool2d(xs, 2).backward(g)                  # the snippet's amax gives the same (no ties in randn data)
    assert torch.equal(xs.grad, x.grad)


@check("pooling.avg-spreads-gradient", dtypes=("float32", "float64"))
def avg_spreads_gradient(t):
    """Backward through k x k average pooling gives every input of a window the same share g / k^2."""
    x = t.randn(2, 3, 6, 9).requires_grad_(True)
    g = t.randn(2, 3, 2, 3, stream=1)
    F.avg_pool2d(x, 3).backward(g)
    expected = g.repeat_interleave(3, dim=2).repeat_interleave(3, dim=3) / 9
    assert_close(x.grad, expected, rtol=t.tol(f64=1e-15, f32=1e-7), atol=0)
    xs = x.detach().clone().requires_grad_(True)
    pl.avg_pool2d(xs, 3).backward(g)
    assert_close(xs.grad, expected, rtol=t.tol(f64=1e-15, f32=1e-7), atol=0)


@check("pooling.gap-is-spatial-mean", dtypes=("float32", "float64"))
def gap_is_spatial_mean(t):
    """GAP = AdaptiveAvgPool2d(1) = the per-channel mean: (N, C, H, W) -> (N, C) for every H, W."""
    gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    for i, (h, w) in enumerate(((7, 9), (1, 1), (32, 32), (13, 4))):
        x = t.randn(2, 3, h, w, stream=i)
        out = pl.global_avg_pool(x)
        assert out.shape == (2, 3)
        # float32: a mean of up to 1024 numbers; the two reductions may sum in different orders
        assert_close(out, gap(x), rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
        assert_close(out, x.double().mean(dim=(2, 3)).to(t.dtype), rtol=t.tol(f64=1e-14, f32=1e-6),
                     atol=t.tol(f64=1e-15, f32=1e-6))


@check("pooling.gap-backward-is-mean")
def gap_backward_is_mean(t):
    """For output size 1, AdaptiveAvgPool2d is computed as a mean (grad_fn MeanBackward); size 2 is not."""
    x = t.randn(2, 3, 5, 5).requires_grad_(True)
    y1 = nn.AdaptiveAvgPool2d(1)(x)
    assert type(y1.grad_fn).__name__.startswith("MeanBackward")
    assert type(nn.AdaptiveAvgPool2d(2)(x).grad_fn).__name__.startswith("AdaptiveAvgPool2DBackward")
    if t.is_cuda:
        # only CUDA has a non-deterministic adaptive-pool backward that deterministic mode refuses; on the
        # CPU every backward is allowed, so this part could not fail there and is not run
        previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        try:  # the mean's backward is allowed in deterministic mode (the docs' CUDA warning is about other sizes)
            y1.backward(torch.ones_like(y1))
        finally:
            torch.use_deterministic_algorithms(previous)
    else:
        y1.backward(torch.ones_like(y1))
    grad = x.grad
    assert torch.isfinite(grad).all()
    assert_close(grad, torch.full_like(x, 1 / 25), rtol=1e-15, atol=0)  # each pixel gets g / (H W)
    # the same as backpropagating through an explicit mean, for a non-square map and a random output gradient
    z = t.randn(2, 3, 4, 7, stream=1).requires_grad_(True)
    g = t.randn(2, 3, 1, 1, stream=2)
    nn.AdaptiveAvgPool2d(1)(z).backward(g)
    z2 = z.detach().clone().requires_grad_(True)
    pl.global_avg_pool(z2).backward(g.view(2, 3))
    assert_close(z.grad, z2.grad, rtol=1e-14, atol=0)
    assert_close(z.grad, g.expand_as(z) / 28, rtol=1e-14, atol=0)


@check("pooling.gap-parameter-count", devices=("cpu",))
def gap_parameter_count(t):
    """On a 512x7x7 map with 1000 classes an FC head has 25,089,000 parameters, GAP + Linear 513,000, GAP 0."""
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    fc = nn.Sequential(nn.Flatten(), nn.Linear(512 * 7 * 7, 1000, device="meta"))  # meta: no memory allocated
    gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000, device="meta"))
    assert t.record("fc_head", count(fc)) == pl.fc_head_params(512, 7, 7, 1000) == 25_089_000
    assert t.record("gap_head", count(gap)) == pl.gap_head_params(512, 1000) == 513_000
    assert count(nn.AdaptiveAvgPool2d(1)) == 0 and count(nn.MaxPool2d(2)) == 0
    assert count(fc) / count(gap) > 48  # exactly H*W = 49 times the weights, plus the same 1000 biases


@check("pooling.gap-any-input-size")
def gap_any_input_size(t):
    """A conv net ending in GAP + Linear accepts any input size; one ending in Flatten + Linear does not."""
    t.seed_modules()
    body = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()]
    gap_net = nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).to(t.device, t.dtype)
    fc_net = nn.Sequential(*body, nn.Flatten(), nn.Linear(8 * 32 * 32, 5)).to(t.device, t.dtype)
    for h, w in ((32, 32), (57, 45), (8, 100)):
        assert gap_net(t.randn(2, 3, h, w)).shape == (2, 5)
    assert fc_net(t.randn(2, 3, 32, 32)).shape == (2, 5)
    try:
        fc_net(t.randn(2, 3, 57, 45))
    except RuntimeError as e:
        assert "shape" in str(e) or "size" in str(e)
    else:
        raise AssertionError("Flatten + Linear accepted an input of the wrong size")
