"""The comparison helpers of the checks must read a NaN as a failure, never as a perfect match.

Python's max(0.0, nan) is 0.0: a gap reduced that way once let an AdaGrad accumulator written
`sum - g**2` (NaN after a few steps) pass as identical to torch.optim.Adagrad.
"""
import math

import pytest
import torch

from verify import gradients, lr_schedules, optimizers
from verify._registry import Trial

T = Trial("cpu", "float64", 0)


def test_a_nan_iterate_is_an_infinite_gap_to_torch():
    def nan_step(theta, grad, state, **hyper):
        return theta * math.nan

    assert optimizers._gap_to_torch(T, nan_step, torch.optim.SGD, lr=0.1) == math.inf


def test_the_planted_adagrad_bug_is_far_from_torch():
    def adagrad_minus(theta, grad, state, lr, eps=1e-10):
        state["sum"] = state.get("sum", torch.zeros_like(theta)) - grad**2   # the planted bug: minus
        return theta - lr * grad / (state["sum"].sqrt() + eps)

    assert optimizers._gap_to_torch(T, adagrad_minus, torch.optim.Adagrad, lr=0.1) > 1e-3


def test_nan_on_both_sides_is_not_close():
    with pytest.raises(AssertionError):
        lr_schedules._close([math.nan, 1.0], [math.nan, 1.0], rtol=1e-12)


def test_a_nan_gradient_is_not_a_scaled_copy():
    base = [torch.ones(3, dtype=torch.float64)]
    with pytest.raises(AssertionError):
        gradients._assert_scaled([torch.tensor([math.nan, 2.0, 2.0], dtype=torch.float64)], base, 2.0)
