"""Convolution arithmetic and CNN building blocks, written from their definitions (Dumoulin & Visin 2016)."""
import torch
import torch.nn.functional as F
from torch import nn

from snippets._validate import check_positive_int, check_tensor


def _check_non_negative_int(v, name):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")


# --8<-- [start:equivariance]
def circular_conv2d(x, weight):
    """Cross-correlation with circular ('wrap-around') padding: the output has x's size and no border."""
    check_tensor(x, "x", ndim=4)
    check_tensor(weight, "weight", ndim=4)
    kh, kw = weight.shape[2:]
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"weight must have an odd kernel size to keep the size, got {kh}x{kw}")
    padded = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode="circular")  # the image is a torus
    return F.conv2d(padded, weight)
# --8<-- [end:equivariance]


# --8<-- [start:output-size]
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """floor((n + 2p - d(k - 1) - 1) / s) + 1: the output length of nn.Conv1d/2d/3d (Dumoulin & Visin 2016)."""
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        check_positive_int(v, name)
    _check_non_negative_int(padding, "padding")
    span = dilation * (kernel - 1) + 1          # a dilated kernel covers d(k - 1) + 1 input pixels
    if size + 2 * padding < span:
        raise ValueError(f"size + 2 * padding = {size + 2 * padding} is smaller than the dilated kernel {span}")
    return (size + 2 * padding - span) // stride + 1   # number of window positions, `stride` apart
# --8<-- [end:output-size]


# --8<-- [start:cost]
def conv_params(c_in, c_out, kernel, groups=1, bias=True):
    """Weights C_out * (C_in / g) * k_h * k_w, plus C_out biases: what nn.Conv2d stores."""
    for name, v in (("c_in", c_in), ("c_out", c_out), ("kernel", kernel), ("groups", groups)):
        check_positive_int(v, name)
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups = {groups} must divide c_in = {c_in} and c_out = {c_out}")
    return c_out * (c_in // groups) * kernel * kernel + (c_out if bias else 0)


def conv_macs(c_in, c_out, kernel, out_h, out_w, groups=1):
    """Multiply-adds: every output value is a dot product over (C_in / g) * k * k inputs (biases not counted)."""
    for name, v in (("out_h", out_h), ("out_w", out_w)):
        check_positive_int(v, name)
    return out_h * out_w * conv_params(c_in, c_out, kernel, groups, bias=False)
# --8<-- [end:cost]


# --8<-- [start:receptive-field]
def receptive_field(layers):
    """r_L = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i for stacked (kernel, stride, dilation) layers."""
    if not layers:
        raise ValueError("layers must list at least one (kernel, stride, dilation) triple")
    r, jump = 1, 1                      # jump: input pixels between neighbouring units of the current layer
    for i, layer in enumerate(layers):
        if len(layer) != 3:
            raise ValueError(f"layers[{i}] must be a (kernel, stride, dilation) triple, got {layer!r}")
        k, s, d = layer
        check_positive_int(k, f"layers[{i}] kernel")
        check_positive_int(s, f"layers[{i}] stride")
        check_positive_int(d, f"layers[{i}] dilation")
        r += (k - 1) * d * jump         # the kernel's span, measured in input pixels
        jump *= s                       # this layer's stride applies to the layers after it only
    return r
# --8<-- [end:receptive-field]


# --8<-- [start:one-by-one]
def conv1x1_as_linear(x, linear):
    """A 1x1 convolution is nn.Linear applied to the C-vector of every pixel: (N, C, H, W) -> (N, C', H, W)."""
    check_tensor(x, "x", ndim=4)
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    return linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)   # channels last, mix them, channels back
# --8<-- [end:one-by-one]


# --8<-- [start:fc-as-conv]
def fc_as_conv(linear, channels, height, width):
    """The nn.Conv2d whose kernel covers the whole C x H x W input and computes the same outputs as `linear`."""
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    for name, v in (("channels", channels), ("height", height), ("width", width)):
        check_positive_int(v, name)
    if linear.in_features != channels * height * width:
        raise ValueError(f"channels * height * width = {channels * height * width} must equal "
                         f"linear.in_features = {linear.in_features}")
    conv = nn.Conv2d(channels, linear.out_features, (height, width), bias=linear.bias is not None,
                     device=linear.weight.device, dtype=linear.weight.dtype)
    conv.weight.data.copy_(linear.weight.view(linear.out_features, channels, height, width))  # flatten order C, H, W
    if linear.bias is not None:
        conv.bias.data.copy_(linear.bias)
    return conv
# --8<-- [end:fc-as-conv]


# --8<-- [start:avg-pool-as-conv]
def avg_pool_as_conv(channels, kernel, dtype=None, device=None):
    """A k x k, stride-k convolution that equals k x k average pooling: weight 1/k^2, each channel on its own."""
    check_positive_int(channels, "channels")
    check_positive_int(kernel, "kernel")
    conv = nn.Conv2d(channels, channels, kernel, stride=kernel, groups=channels, bias=False,
                     dtype=dtype, device=device)       # 1/9 set in float32 would stay 1/9 rounded to float32
    nn.init.constant_(conv.weight, 1.0 / kernel ** 2)
    return conv
# --8<-- [end:avg-pool-as-conv]


# --8<-- [start:grouped]
def grouped_conv2d(x, weight, groups, padding=0):
    """groups = g: split the channels into g slices and convolve slice i with its own C_out / g filters only."""
    check_tensor(x, "x", ndim=4)
    check_tensor(weight, "weight", ndim=4)
    check_positive_int(groups, "groups")
    if x.shape[1] % groups or weight.shape[0] % groups or weight.shape[1] * groups != x.shape[1]:
        raise ValueError(f"groups = {groups} does not fit x's {x.shape[1]} channels and weight {tuple(weight.shape)}")
    xs, ws = x.chunk(groups, dim=1), weight.chunk(groups, dim=0)
    return torch.cat([F.conv2d(xi, wi, padding=padding) for xi, wi in zip(xs, ws)], dim=1)


def separable_conv(c_in, c_out, kernel, padding=0):
    """Depthwise k x k (one filter per channel, groups = C_in) then pointwise 1x1 (Chollet 2017; Howard et al. 2017)."""
    for name, v in (("c_in", c_in), ("c_out", c_out), ("kernel", kernel)):
        check_positive_int(v, name)
    return nn.Sequential(nn.Conv2d(c_in, c_in, kernel, padding=padding, groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False))


def separable_cost_ratio(c_out, kernel):
    """(k^2 C_in + C_in C_out) / (k^2 C_in C_out) = 1/C_out + 1/k^2, for parameters and for multiply-adds."""
    check_positive_int(c_out, "c_out")
    check_positive_int(kernel, "kernel")
    return 1 / c_out + 1 / kernel ** 2
# --8<-- [end:grouped]


# --8<-- [start:dilation]
def dilated_support(kernel, dilations):
    """Input offsets (1-D) that reach one output of stacked stride-1 k-tap layers: sums of one tap d*j per layer."""
    check_positive_int(kernel, "kernel")
    if not dilations:
        raise ValueError("dilations must list at least one dilation")
    offsets = {0}
    for i, d in enumerate(dilations):
        check_positive_int(d, f"dilations[{i}]")
        offsets = {o + d * j for o in offsets for j in range(kernel)}   # every path picks one tap per layer
    return sorted(offsets)
# --8<-- [end:dilation]


# --8<-- [start:transposed]
def conv_transpose_output_size(size, kernel, stride=1, padding=0, dilation=1, output_padding=0):
    """(n - 1)s - 2p + d(k - 1) + output_padding + 1: the output length of nn.ConvTranspose1d/2d."""
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        check_positive_int(v, name)
    _check_non_negative_int(padding, "padding")
    _check_non_negative_int(output_padding, "output_padding")
    if output_padding >= max(stride, dilation):   # it only picks one of the sizes a strided conv maps onto n
        raise ValueError(f"output_padding = {output_padding} must be smaller than stride or dilation")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"padding = {padding} leaves no output (size {out})")
    return out


def transposed_overlap(size, kernel, stride):
    """How many (input, tap) pairs land on each output of a 1-D transposed conv: input i writes to i*s .. i*s+k-1."""
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride)):
        check_positive_int(v, name)
    counts = [0] * ((size - 1) * stride + kernel)
    for i in range(size):
        for j in range(kernel):
            counts[i * stride + j] += 1
    return counts
# --8<-- [end:transposed]


# --8<-- [start:backward]
def conv2d_backward(x, weight, grad_out, stride=1, padding=0):
    """Gradients of y = conv2d(x, weight, stride, padding): both are convolutions again (no autograd)."""
    check_tensor(x, "x", ndim=4)
    check_tensor(weight, "weight", ndim=4)
    check_tensor(grad_out, "grad_out", ndim=4)
    check_positive_int(stride, "stride")
    _check_non_negative_int(padding, "padding")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight must have x's {x.shape[1]} input channels in dim 1, got {tuple(weight.shape)}")
    k = weight.shape[2:]
    expected = tuple(conv_output_size(n, kk, stride, padding) for n, kk in zip(x.shape[2:], k))
    if tuple(grad_out.shape) != (x.shape[0], weight.shape[0], *expected):
        raise ValueError(f"grad_out must have shape {(x.shape[0], weight.shape[0], *expected)}, "
                         f"got {tuple(grad_out.shape)}")
    # d/dx: scatter each output's gradient back through the same weights = transposed convolution;
    # output_padding restores the input rows that the last stride step skipped
    extra = [n - ((o - 1) * stride - 2 * padding + kk) for n, o, kk in zip(x.shape[2:], expected, k)]
    grad_x = F.conv_transpose2d(grad_out, weight, stride=stride, padding=padding, output_padding=tuple(extra))
    # d/dw[o, c, a, b] = sum_{n, i, j} x[n, c, s*i + a, s*j + b] * g[n, o, i, j]: correlate x with g,
    # batch as the summed "channel" axis, g's taps spaced `stride` apart (dilation)
    grad_w = F.conv2d(x.transpose(0, 1), grad_out.transpose(0, 1), padding=padding, dilation=stride)
    return grad_x, grad_w.transpose(0, 1)[:, :, :k[0], :k[1]]
# --8<-- [end:backward]


# --8<-- [start:vgg]
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg_conv_params(config, in_channels=3):
    """Parameters of VGG's 3x3 convolutions (with biases) for a config like VGG16; 'M' = 2x2 max pooling."""
    check_positive_int(in_channels, "in_channels")
    if not config:
        raise ValueError("config must list at least one layer")
    total, c = 0, in_channels
    for i, v in enumerate(config):
        if v == "M":
            continue                      # pooling has no parameters; it halves H and W
        check_positive_int(v, f"config[{i}]")
        total += conv_params(c, v, 3)
        c = v
    return total
# --8<-- [end:vgg]
