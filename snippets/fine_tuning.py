"""Fine-tuning a pretrained network: freezing, the three modes, and PyTorch's default initialization."""
import math

import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_tensor

MODES = ("feature-extractor", "partial", "full")


def _check_module(m, name):
    if not isinstance(m, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")


# --8<-- [start:freeze]
def freeze(module):
    """Stop training `module`: no gradients for its parameters, and its BatchNorm statistics fixed.

    requires_grad_(False) alone is not enough: a BatchNorm layer in train mode still overwrites its
    running_mean / running_var on every forward pass, so the module is also put in eval mode.
    """
    _check_module(module, "module")
    module.requires_grad_(False)
    return module.eval()  # note: a later model.train() switches it back; call freeze() again after it


def trainable_parameters(model):
    """The parameters an optimizer should receive: those that still require gradients."""
    _check_module(model, "model")
    return [p for p in model.parameters() if p.requires_grad]
# --8<-- [end:freeze]


# --8<-- [start:modes]
def finetune_parameters(backbone, head, mode, trainable_blocks=1):
    """Freeze `backbone` according to `mode` and return the parameters to optimize.

    feature-extractor: train the new head only; partial: also the last `trainable_blocks` children of the
    backbone; full: train everything (the pretrained weights are only the starting point).
    """
    _check_module(backbone, "backbone")
    _check_module(head, "head")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_positive_int(trainable_blocks, "trainable_blocks")
    blocks = list(backbone.children())
    if mode == "feature-extractor":
        freeze(backbone)
    elif mode == "partial":
        for block in blocks[:-trainable_blocks]:
            freeze(block)
    return trainable_parameters(backbone) + trainable_parameters(head)


def predict(model, x):
    """Use a pretrained model as is: eval mode (running BN statistics, no dropout) and no autograd graph."""
    _check_module(model, "model")
    check_tensor(x, "x")
    model.eval()
    with torch.no_grad():
        return model(x)
# --8<-- [end:modes]


# --8<-- [start:default-init]
def kaiming_uniform_bound(fan_in, a=0.0):
    """Bound b of kaiming_uniform_'s U(-b, b): b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2))."""
    check_positive_int(fan_in, "fan_in")
    check_number(a, "a", low=0)
    gain = math.sqrt(2 / (1 + a ** 2))  # PyTorch's gain for leaky_relu with negative slope a
    return gain * math.sqrt(3 / fan_in)


def conv2d_default_bound(in_channels, kernel_size):
    """nn.Conv2d's default: kaiming_uniform_(a=sqrt(5)) with fan_in = in_channels * k * k, i.e. 1/sqrt(fan_in)."""
    check_positive_int(in_channels, "in_channels")
    check_positive_int(kernel_size, "kernel_size")
    return kaiming_uniform_bound(in_channels * kernel_size ** 2, a=math.sqrt(5))  # sqrt(1/3) * sqrt(3/fan_in)
# --8<-- [end:default-init]


# --8<-- [start:transfer]
def fit(model, params, x, y, steps, loss_fn, lr=0.01):
    """Full-batch Adam on `params` only; the same loop serves pretraining, fine-tuning and training from scratch.

    It leaves train/eval modes alone, so frozen parts stay as freeze() left them.
    """
    _check_module(model, "model")
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", floating=False)
    check_positive_int(steps, "steps")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()
# --8<-- [end:transfer]
