"""Pooling layers and global average pooling, written from their definitions."""

from snippets._validate import check_positive_int, check_tensor


# --8<-- [start:output-size]
def pool_output_size(size, kernel, stride, padding=0):
    """floor((size + 2 padding - kernel) / stride) + 1: the nn.MaxPool2d / nn.Conv2d formula (ceil_mode=False)."""
    check_positive_int(size, "size")
    check_positive_int(kernel, "kernel")
    check_positive_int(stride, "stride")
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= kernel // 2:
        raise ValueError(f"padding must be an int in [0, kernel // 2], got {padding!r}")
    if size + 2 * padding < kernel:
        raise ValueError(f"size + 2 * padding = {size + 2 * padding} is smaller than kernel = {kernel}")
    return (size + 2 * padding - kernel) // stride + 1
# --8<-- [end:output-size]


def _check_windows(x, kernel):
    check_tensor(x, "x", ndim=4)
    check_positive_int(kernel, "kernel")
    if x.shape[2] % kernel or x.shape[3] % kernel:
        raise ValueError(f"x's height and width {tuple(x.shape[2:])} must be multiples of kernel = {kernel}")


# --8<-- [start:pool]
def max_pool2d(x, kernel):
    """Non-overlapping k x k max pooling (stride = k) of an (N, C, H, W) tensor: the largest value per window."""
    _check_windows(x, kernel)
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // kernel, kernel, w // kernel, kernel)  # axes 3 and 5 run inside a window
    return windows.amax(dim=(3, 5))


def avg_pool2d(x, kernel):
    """Non-overlapping k x k average pooling (stride = k): the mean of each window."""
    _check_windows(x, kernel)
    n, c, h, w = x.shape
    return x.reshape(n, c, h // kernel, kernel, w // kernel, kernel).mean(dim=(3, 5))
# --8<-- [end:pool]


# --8<-- [start:gap]
def global_avg_pool(x):
    """Global average pooling (Lin, Chen & Yan 2014): one number per channel, (N, C, H, W) -> (N, C), any H, W."""
    check_tensor(x, "x", ndim=4)
    return x.mean(dim=(2, 3))
# --8<-- [end:gap]


# --8<-- [start:head-params]
def fc_head_params(channels, height, width, classes):
    """Weights and biases of Flatten -> Linear(C*H*W, K): the classic fully connected classifier head."""
    for name, v in (("channels", channels), ("height", height), ("width", width), ("classes", classes)):
        check_positive_int(v, name)
    return channels * height * width * classes + classes


def gap_head_params(channels, classes):
    """GAP has no parameters; GAP -> Linear(C, K) (ResNet, GoogLeNet) has C*K + K, independent of H and W."""
    check_positive_int(channels, "channels")
    check_positive_int(classes, "classes")
    return channels * classes + classes
# --8<-- [end:head-params]


# --8<-- [start:receptive-field]
def receptive_field(layers):
    """Receptive field of stacked (kernel, stride) layers: r += (k - 1) * jump, then jump *= stride."""
    if not layers:
        raise ValueError("layers must list at least one (kernel, stride) pair")
    r, jump = 1, 1
    for i, (k, s) in enumerate(layers):
        check_positive_int(k, f"layers[{i}] kernel")
        check_positive_int(s, f"layers[{i}] stride")
        r += (k - 1) * jump   # k neighbours of the previous layer, spaced `jump` input pixels apart
        jump *= s             # a stride s spreads the next layer's neighbours s times further
    return r
# --8<-- [end:receptive-field]
