"""Batch normalization (Ioffe & Szegedy 2015, Alg. 1 and 2), written from the paper and PyTorch's docs."""
import math

import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_tensor


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


# --8<-- [start:restore]
def identity_affine(x, eps=1e-5):
    """gamma = sqrt(var_B + eps), beta = mu_B: with these, training-mode BN returns its input unchanged."""
    check_number(eps, "eps", low=0)
    mean, var = batch_statistics(x)
    return torch.sqrt(var + eps), mean
# --8<-- [end:restore]


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
