"""Why convolution kernels have odd sizes: 'same' padding and the centre tap, written out in 1-D."""
import torch.nn.functional as F

from snippets._validate import check_positive_int, check_tensor


# --8<-- [start:same-padding]
def conv_output_size(size, kernel, padding=0, stride=1):
    """floor((size + 2 padding - kernel) / stride) + 1, the output length of nn.Conv1d/2d (dilation 1)."""
    check_positive_int(size, "size")
    check_positive_int(kernel, "kernel")
    check_positive_int(stride, "stride")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding!r}")
    if size + 2 * padding < kernel:
        raise ValueError(f"size + 2 * padding = {size + 2 * padding} is smaller than kernel = {kernel}")
    return (size + 2 * padding - kernel) // stride + 1


def same_padding(kernel):
    """(left, right) zeros that keep the length at stride 1: k - 1 in total, split as PyTorch's padding='same'."""
    check_positive_int(kernel, "kernel")
    left = (kernel - 1) // 2      # equal to right only when k - 1 is even, i.e. k is odd
    return left, kernel - 1 - left
# --8<-- [end:same-padding]


# --8<-- [start:conv-same]
def conv1d_same(x, weight):
    """'Same' cross-correlation of a 1-D signal: y[i] = sum_j weight[j] * x[i + j - left], zeros outside x."""
    check_tensor(x, "x", ndim=1)
    check_tensor(weight, "weight", ndim=1)
    if weight.dtype != x.dtype or weight.device != x.device:
        raise TypeError(f"weight must match x's dtype and device, got {weight.dtype} on {weight.device}")
    left, right = same_padding(weight.shape[0])
    padded = F.pad(x, (left, right))
    windows = padded.unfold(0, weight.shape[0], 1)   # (len(x), k): row i holds x[i - left .. i + right]
    return windows @ weight


def kernel_centre(kernel):
    """Index of the tap that sits on the output pixel with equally many taps on each side; None if k is even."""
    check_positive_int(kernel, "kernel")
    return (kernel - 1) // 2 if kernel % 2 else None
# --8<-- [end:conv-same]


# --8<-- [start:stack]
def conv_stack_cost(kernel, layers, channels):
    """Receptive field and weight count of `layers` stacked k x k convolutions, C channels in and out, no bias."""
    check_positive_int(kernel, "kernel")
    check_positive_int(layers, "layers")
    check_positive_int(channels, "channels")
    receptive_field = layers * (kernel - 1) + 1      # each stride-1 layer adds k - 1 pixels
    return receptive_field, layers * kernel * kernel * channels * channels
# --8<-- [end:stack]
