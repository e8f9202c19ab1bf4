"""Batch normalization (Ioffe & Szegedy 2015, Alg. 1 and 2), written from the paper and PyTorch's docs."""
import math

import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor


def _check_channel_vector(v, name, channels):
    check_tensor(v, name, ndim=1)
    if v.shape[0] != channels:
        raise ValueError(f"{name} must have one entry per channel ({channels}), got shape {tuple(v.shape)}")


def _channel_view(v, x):
    """Reshape a per-channel vector (C,) so that it broadcasts against x of shape (N, C, ...)."""
    return v.view(1, -1, *([1] * (x.dim() - 2)))


# --8<-- [start:algorithm]
def batch_statistics(x):
    """Per-channel mean and biased variance over every axis except the channel axis 1 (N, or N, H, W)."""
    check_tensor(x, "x", min_ndim=2)
    dims = [0, *range(2, x.dim())]  # a feature map is one "neuron": its statistics pool N * H * W values
    if x.numel() // x.shape[1] < 2:
        raise ValueError(f"x needs more than one value per channel, got shape {tuple(x.shape)}")
    mean = x.mean(dims)
    var = x.var(dims, unbiased=False)  # divide by m, as in Algorithm 1
    return mean, var


def batch_norm_train(x, gamma, beta, eps=1e-5):
    """Training-mode BN: y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta (Ioffe & Szegedy 2015, Alg. 1)."""
    mean, var = batch_statistics(x)
    _check_channel_vector(gamma, "gamma", x.shape[1])
    _check_channel_vector(beta, "beta", x.shape[1])
    check_number(eps, "eps", low=0)
    x_hat = (x - _channel_view(mean, x)) / torch.sqrt(_channel_view(var, x) + eps)  # eps inside the root
    return _channel_view(gamma, x) * x_hat + _channel_view(beta, x)
# --8<-- [end:algorithm]


# --8<-- [start:running]
def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """The buffers BatchNorm updates in train mode: an EMA of the mean and of the *unbiased* variance."""
    mean, var = batch_statistics(x)
    _check_channel_vector(running_mean, "running_mean", x.shape[1])
    _check_channel_vector(running_var, "running_var", x.shape[1])
    check_number(momentum, "momentum", low=0, high=1)
    m = x.numel() // x.shape[1]
    unbiased = var * m / (m - 1)  # an estimate of the population variance, used later at test time
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * unbiased)


def batch_norm_eval(x, running_mean, running_var, gamma, beta, eps=1e-5):
    """Inference-mode BN: a fixed affine map per channel, using the running statistics (Alg. 2)."""
    check_tensor(x, "x", min_ndim=2)
    for v, name in ((running_mean, "running_mean"), (running_var, "running_var"), (gamma, "gamma"), (beta, "beta")):
        _check_channel_vector(v, name, x.shape[1])
    check_number(eps, "eps", low=0)
    x_hat = (x - _channel_view(running_mean, x)) / torch.sqrt(_channel_view(running_var, x) + eps)
    return _channel_view(gamma, x) * x_hat + _channel_view(beta, x)
# --8<-- [end:running]


# --8<-- [start:backward]
def batch_norm_backward(dy, x, gamma, eps=1e-5):
    """Gradients of training-mode BN with respect to x, gamma and beta, given the upstream gradient dy.

    dx = gamma / (m sqrt(var_B + eps)) * (m dy - sum(dy) - x_hat sum(dy x_hat)), sums over each channel's m values.
    """
    check_tensor(dy, "dy", min_ndim=2)
    check_tensor(x, "x", min_ndim=2)
    check_same_shape(dy, "dy", x, "x")
    mean, var = batch_statistics(x)
    _check_channel_vector(gamma, "gamma", x.shape[1])
    check_number(eps, "eps", low=0)
    dims = [0, *range(2, x.dim())]
    m = x.numel() // x.shape[1]
    inv_std = 1 / torch.sqrt(var + eps)
    x_hat = (x - _channel_view(mean, x)) * _channel_view(inv_std, x)
    dbeta = dy.sum(dims)                   # beta is added to every value of its channel
    dgamma = (dy * x_hat).sum(dims)        # gamma multiplies x_hat
    # the three terms: the direct path, the path through mu_B, the path through var_B
    dx = _channel_view(gamma * inv_std / m, x) * (
        m * dy - _channel_view(dbeta, x) - x_hat * _channel_view(dgamma, x))
    return dx, dgamma, dbeta
# --8<-- [end:backward]


# --8<-- [start:restore]
def identity_affine(x, eps=1e-5):
    """gamma = sqrt(var_B + eps), beta = mu_B: with these, training-mode BN returns its input unchanged."""
    check_number(eps, "eps", low=0)
    mean, var = batch_statistics(x)
    return torch.sqrt(var + eps), mean
# --8<-- [end:restore]


# --8<-- [start:fold]
def fold_bn_into_conv(weight, bias, running_mean, running_var, gamma, beta, eps=1e-5):
    """Weight and bias of one convolution (or linear layer) computing conv -> eval-mode BN.

    BN in eval mode is y = s (z - running_mean) + beta with s = gamma / sqrt(running_var + eps) per output
    channel, so s scales the filters and the bias becomes s (b - running_mean) + beta.
    """
    check_tensor(weight, "weight", min_ndim=2)
    channels = weight.shape[0]  # output channels come first in Conv*d and Linear weights
    if bias is not None:
        _check_channel_vector(bias, "bias", channels)
    for v, name in ((running_mean, "running_mean"), (running_var, "running_var"), (gamma, "gamma"), (beta, "beta")):
        _check_channel_vector(v, name, channels)
    check_number(eps, "eps", low=0)
    scale = gamma / torch.sqrt(running_var + eps)
    folded_weight = weight * scale.view(-1, *([1] * (weight.dim() - 1)))  # one factor per output filter
    folded_bias = beta + ((bias if bias is not None else 0) - running_mean) * scale
    return folded_weight, folded_bias
# --8<-- [end:fold]


# --8<-- [start:sync]
def sync_batch_statistics(chunks):
    """Per-channel mean and biased variance of the whole batch, split over devices as `chunks`, from what
    each device shares: its count, mean and variance (the all-gather of SyncBatchNorm)."""
    if not isinstance(chunks, (list, tuple)) or not chunks:
        raise TypeError(f"chunks must be a non-empty list of tensors, one per device, got {type(chunks).__name__}")
    shapes = set()
    for i, chunk in enumerate(chunks):
        check_tensor(chunk, f"chunks[{i}]", min_ndim=2)
        shapes.add(tuple(chunk.shape[1:]))
    if len(shapes) > 1:
        raise ValueError(f"chunks must agree in every axis but the batch axis, got {sorted(shapes)}")
    dims = [0, *range(2, chunks[0].dim())]
    counts = [chunk.numel() // chunk.shape[1] for chunk in chunks]
    total = sum(counts)
    if min(counts) < 1 or total < 2:
        raise ValueError(f"chunks must each hold a sample and together more than one value per channel, "
                         f"got {counts} values per channel")
    means = [chunk.mean(dims) for chunk in chunks]
    variances = [chunk.var(dims, unbiased=False) for chunk in chunks]  # 0 on a device with one value
    mean = sum(n * mu for n, mu in zip(counts, means)) / total
    # law of total variance: the devices' own variances plus the spread of the device means around the mean
    var = sum(n * (v + (mu - mean) ** 2) for n, mu, v in zip(counts, means, variances)) / total
    return mean, var


def sync_batch_norm_train(chunks, gamma, beta, eps=1e-5):
    """Training-mode SyncBN: every device normalizes its own chunk with the statistics of the global batch."""
    mean, var = sync_batch_statistics(chunks)
    _check_channel_vector(gamma, "gamma", mean.shape[0])
    _check_channel_vector(beta, "beta", mean.shape[0])
    check_number(eps, "eps", low=0)
    return [_channel_view(gamma, c) * (c - _channel_view(mean, c)) / torch.sqrt(_channel_view(var, c) + eps)
            + _channel_view(beta, c) for c in chunks]
# --8<-- [end:sync]


# --8<-- [start:variance-shift]
def dropout_variance_shift(mean, var, keep_prob):
    """Variance of x after inverted dropout in training, (var + mean^2)/q - mean^2, versus var at test time.

    Li, Chen, Hu & Yang (2019): BN placed after dropout learns the first number and is used with the second.
    """
    check_number(mean, "mean")
    check_number(var, "var", low=0)
    check_number(keep_prob, "keep_prob", low=0, high=1, low_open=True)
    second_moment = var + mean ** 2
    return second_moment / keep_prob - mean ** 2, var  # E[(m x / q)^2] = E[x^2] / q for a mask m ~ Bernoulli(q)
# --8<-- [end:variance-shift]


# --8<-- [start:small-batch]
def expected_normalization_error(m):
    """E[(x_hat_batch - x_hat_population)^2] for Gaussian data, batch size m, eps = 0: 2 - 2 E[s_B].

    s_B is the biased batch standard deviation in units of sigma: m s_B^2 ~ chi^2 with m - 1 degrees of freedom.
    """
    check_positive_int(m, "m")
    if m < 2:
        raise ValueError(f"m must be >= 2 (one value has no variance), got {m}")
    mean_s = math.sqrt(2 / m) * math.exp(math.lgamma(m / 2) - math.lgamma((m - 1) / 2))
    return 2 - 2 * mean_s  # about 3 / (2 m) for large m
# --8<-- [end:small-batch]


# --8<-- [start:demo]
def sigmoid_mlp(n_in, width, depth, n_out, batch_norm):
    """depth x [Linear (-> BatchNorm1d) -> Sigmoid] -> Linear: the network of the convergence demonstration."""
    for v, name in ((n_in, "n_in"), (width, "width"), (depth, "depth"), (n_out, "n_out")):
        check_positive_int(v, name)
    layers, d = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), *([nn.BatchNorm1d(width)] if batch_norm else []), nn.Sigmoid()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, n_out))


def train_classifier(net, x, y, steps, batch_size, lr=0.1, generator=None, eval_every=None):
    """Mini-batch SGD (momentum 0.9) on cross-entropy; returns full-data eval-mode losses (last one at the end)."""
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=1, floating=False)
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    if eval_every is not None:
        check_positive_int(eval_every, "eval_every")
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    losses = []
    for step in range(1, steps + 1):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=generator).to(x.device)
        net.train()
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == steps or (eval_every and step % eval_every == 0):
            net.eval()  # evaluate with the running statistics, as at test time
            with torch.no_grad():
                losses.append(nn.functional.cross_entropy(net(x), y).item())
    return losses
# --8<-- [end:demo]
