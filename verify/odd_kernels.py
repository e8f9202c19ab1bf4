"""Checks for docs/*/odd_kernels.md. Oracles: F.conv1d/F.conv2d (shapes, padding='same'), autograd, one-hot kernels."""
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import odd_kernels as ok
from verify._registry import check


def _conv1d_same(x, weight):
    """PyTorch's padding='same' on a 1-D signal; silences the 'even kernel needs a padded copy' UserWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return F.conv1d(x.view(1, 1, -1), weight.view(1, 1, -1), padding="same").view(-1)


def _same(t, a, b):
    """Exact equality on the CPU; on CUDA, cuDNN may pick FFT/Winograd algorithms that round even a one-hot kernel."""
    if t.is_cuda:
        assert_close(a, b, rtol=0, atol=t.tol(f64=1e-13, f32=1e-6))
    else:
        assert torch.equal(a, b)


def _shifted(x, shift):
    """z[i] = x[i + shift], zero where i + shift falls outside x."""
    z = torch.zeros_like(x)
    n = x.shape[0]
    if shift >= 0:
        z[:n - shift] = x[shift:]
    else:
        z[-shift:] = x[:n + shift]
    return z


@check("odd_kernels.symmetric-same-padding", devices=("cpu",))
def symmetric_same_padding(t):
    """A symmetric padding p keeps the size at stride 1 only if 2p = k - 1, i.e. only for odd kernels."""
    x = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    for k in range(1, 9):
        keeps = []
        for p in range(k + 1):
            out = F.conv2d(x, torch.zeros(1, 1, k, k, dtype=torch.float64), padding=p).shape[-1]
            assert out == ok.conv_output_size(9, k, p)
            if out == 9:
                keeps.append(p)
        assert keeps == ([(k - 1) // 2] if k % 2 else [])
        # the snippet's split against PyTorch's padding='same': the one tap whose one-hot kernel is the
        # identity sits at index `left` (y_i = x_{i + tap - left}), so PyTorch reveals its left padding
        row = torch.arange(1.0, 12.0, dtype=torch.float64)
        ident = [tap for tap in range(k)
                 if torch.equal(_conv1d_same(row, torch.eye(k, dtype=torch.float64)[tap]), row)]
        assert len(ident) == 1 and ok.same_padding(k) == (ident[0], k - 1 - ident[0])
        left, right = ok.same_padding(k)
        assert (left == right) == (k % 2 == 1)
    # the catalog's example: 3x3 with padding 1 keeps 9x9; 4x4 gives 8x8 with padding 1 and 10x10 with padding 2
    assert [ok.conv_output_size(9, k, p) for k, p in ((3, 1), (4, 1), (4, 2))] == [9, 8, 10]
    # the general formula against F.conv1d: strides that do not divide evenly (floor, an int), the edge
    # size + 2p = k (one output), and the defaults padding = 0, stride = 1 of nn.Conv1d
    for size in range(1, 7):
        for k in range(1, 6):
            signal, kern = torch.zeros(1, 1, size, dtype=torch.float64), torch.zeros(1, 1, k, dtype=torch.float64)
            if size >= k:
                assert ok.conv_output_size(size, k) == F.conv1d(signal, kern).shape[-1]
            for p in range(3):
                for s in (1, 2, 3):
                    if size + 2 * p >= k:
                        got = ok.conv_output_size(size, k, p, s)
                        assert type(got) is int and got == F.conv1d(signal, kern, padding=p, stride=s).shape[-1]


@check("odd_kernels.same-pads-unevenly", dtypes=("float32", "float64"))
def same_pads_unevenly(t):
    """padding='same' with an even kernel pads (k-1)//2 zeros on the left and the rest on the right."""
    x = t.randn(11)
    for k in range(1, 9):
        left = (k - 1) // 2
        for tap in range(k):  # a one-hot kernel at `tap` reads x[i + tap - left]: it reveals the left padding
            w = torch.zeros(k, dtype=t.dtype, device=t.device)
            w[tap] = 1
            _same(t, _conv1d_same(x, w), _shifted(x, tap - left))
            _same(t, ok.conv1d_same(x, w), _shifted(x, tap - left))
        w = t.randn(k, stream=k)  # the snippet equals the built-in for general weights
        tol = t.tol(f64=1e-14, f32=1e-6)  # k <= 8 products summed in a different order
        assert_close(ok.conv1d_same(x, w), _conv1d_same(x, w), rtol=tol, atol=tol)
    # k = 4, the catalog's example: tap 0 gives y[i] = x[i-1], tap 3 gives y[i] = x[i+2] -> 1 zero left, 2 right
    e0, e3 = torch.zeros(4, dtype=t.dtype, device=t.device), torch.zeros(4, dtype=t.dtype, device=t.device)
    e0[0], e3[3] = 1, 1
    _same(t, _conv1d_same(x, e0)[1:], x[:-1])
    _same(t, _conv1d_same(x, e3)[:-2], x[2:])
    assert _conv1d_same(x, e0)[0] == 0 and (_conv1d_same(x, e3)[-2:] == 0).all()


@check("odd_kernels.centre-tap-identity", dtypes=("float32", "float64"))
def centre_tap_identity(t):
    """An odd kernel has a centre: a 1 there with padding (k-1)/2 is the identity; an even kernel has no centre tap."""
    x = t.randn(2, 3, 9, 9)
    for k in (1, 3, 5, 7):
        c = ok.kernel_centre(k)
        assert type(c) is int  # an index, usable as w[c]
        assert c == k - 1 - c   # as many taps before the centre as after it
        # oracle: with symmetric padding (k-1)/2, search all k^2 one-hot kernels with F.conv2d for the ones
        # that reproduce the input; exactly one does, and it is the snippet's centre
        found = []
        for i in range(k):
            for j in range(k):
                w = torch.zeros(3, 1, k, k, dtype=t.dtype, device=t.device)
                w[:, :, i, j] = 1
                y = F.conv2d(x, w, padding=(k - 1) // 2, groups=3)
                if (y - x).abs().max().item() < 1e-5:   # any other tap shifts by >= 1 pixel: off by O(1)
                    found.append((i, j))
                    _same(t, y, x)  # one product with 1 per output: exact on the CPU
        assert found == [(c, c)]
    for k in (2, 4, 6, 8):
        assert ok.kernel_centre(k) is None
        # under padding='same' exactly one tap is the identity, and it has (k-1)//2 taps before it, k//2 after
        row = x[0, 0, 0]
        ident = [tap for tap in range(k)  # the other taps shift by >= 1 pixel: off by O(1), not by rounding
                 if (_conv1d_same(row, torch.eye(k, dtype=t.dtype, device=t.device)[tap]) - row).abs().max() < 1e-5]
        assert ident == [(k - 1) // 2] and (k - 1) // 2 != k // 2


@check("odd_kernels.even-kernel-shifts-half-pixel")
def even_kernel_shifts_half_pixel(t):
    """With 'same' padding, a symmetric even kernel moves features by half a pixel; an odd one keeps them in place."""
    n, m = 21, 10
    impulse = torch.zeros(n, dtype=t.dtype, device=t.device)
    impulse[m] = 1
    pos = torch.arange(n, dtype=t.dtype, device=t.device)
    x = t.randn(n)
    for k in range(1, 9):
        box = torch.full((k,), 1 / k, dtype=t.dtype, device=t.device)  # symmetric: box[j] = box[k-1-j]
        y = _conv1d_same(impulse, box)
        centroid = (y * pos).sum() / y.sum()
        expected = m if k % 2 else m - 0.5  # PyTorch puts the extra zero on the right, so the shift is -1/2
        assert abs(centroid.item() - expected) < 1e-12
        # flipping the input commutes with an odd symmetric kernel, not with an even one
        flip_first = _conv1d_same(x.flip(0), box)
        flip_after = _conv1d_same(x, box).flip(0)
        assert torch.allclose(flip_first, flip_after, rtol=0, atol=1e-12) == (k % 2 == 1)


def _extent(layers, size=31):
    """Width of the input region that reaches the central output of a stack of all-ones 2-D convolutions."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for k in layers:
        y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64))
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    cols = x.grad[0, 0].sum(dim=0).nonzero()
    return (cols.max() - cols.min() + 1).item()


@check("odd_kernels.stacked-3x3", devices=("cpu",))
def stacked_3x3(t):
    """Two 3x3 layers see 5x5 with 18C^2 weights (vs 25C^2), three see 7x7 with 27C^2 (vs 49C^2)."""
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    C = 64
    for layers, big in ((2, 5), (3, 7)):
        assert _extent([3] * layers) == big == _extent([big])
        stack = nn.Sequential(*[nn.Conv2d(C, C, 3, bias=False, device="meta") for _ in range(layers)])
        single = nn.Conv2d(C, C, big, bias=False, device="meta")
        assert ok.conv_stack_cost(3, layers, C) == (big, count(stack))
        assert ok.conv_stack_cost(big, 1, C) == (big, count(single))
        assert count(stack) == 9 * layers * C * C < count(single) == big * big * C * C
