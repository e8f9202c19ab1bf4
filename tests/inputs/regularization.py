import torch
from torch import nn

from snippets import regularization as reg

Z3, Z23 = torch.zeros(3), torch.zeros(2, 3)
CASES = [
    (reg.bias_variance, (torch.zeros(4, 3), Z3, torch.zeros(5), 0.1), {}, ValueError, "P"),
    (reg.bias_variance, (torch.zeros(4, 3), Z3, torch.zeros(4), -1.0), {}, ValueError, "noise_std"),
    (reg.bias_variance, (torch.zeros(4, 3), [0.0] * 3, torch.zeros(4), 0.1), {}, TypeError, "f_train"),
    (reg.l1_penalty, ([1.0], 0.1), {}, TypeError, "w"),
    (reg.l1_penalty, (Z3, -0.1), {}, ValueError, "alpha"),
    (reg.l2_penalty, (torch.arange(3), 0.1), {}, TypeError, "w"),
    (reg.l2_penalty, (Z3, "0.1"), {}, TypeError, "alpha"),
    (reg.soft_threshold, (Z3, -1.0), {}, ValueError, "threshold"),
    (reg.l2_shrink, (None, 1.0), {}, TypeError, "w"),
    (reg.ista_lasso, (Z3, Z3, 0.1), {}, ValueError, "X"),
    (reg.ista_lasso, (Z23, torch.zeros(3), 0.1), {}, ValueError, "y"),
    (reg.ista_lasso, (Z23, torch.zeros(2), 0.1), {"steps": 0}, ValueError, "steps"),
    (reg.ridge_fit, (Z23, torch.zeros(2), -1.0), {}, ValueError, "lam"),
    (reg.ridge_fit, (Z23, torch.zeros(2), 1.0, torch.ones(2)), {}, ValueError, "penalize"),
    (reg.param_groups_without_bias_decay, ([torch.zeros(2)], 0.1), {}, TypeError, "model"),
    (reg.param_groups_without_bias_decay, (nn.Linear(2, 2), -0.1), {}, ValueError, "weight_decay"),
    (reg.adam_step, (Z3, torch.zeros(4), Z3, Z3, 1), {}, ValueError, "grad"),
    (reg.adam_step, (Z3, Z3, Z3, Z3, 0), {}, ValueError, "t"),
    (reg.adam_step, (Z3, Z3, Z3, Z3, 1), {"betas": (0.9, 1.5)}, ValueError, r"betas\[1\]"),
    (reg.adam_step, (Z3, Z3, Z3, Z3, 1), {"betas": 0.9}, TypeError, "betas"),
    (reg.gradient_descent_path, (Z23, torch.zeros(2), 0.0, 10), {}, ValueError, "lr"),
    (reg.gradient_descent_path, (Z23, torch.zeros(2), 0.1, 1.5), {}, TypeError, "steps"),
    (reg.keep_mask, ((2, 3), 1.5), {}, ValueError, "p"),
    (reg.keep_mask, ("3", 0.5), {}, TypeError, "shape"),
    (reg.dropout_with_mask, (Z3, torch.ones(3), 0.5), {}, TypeError, "mask"),
    (reg.dropout_with_mask, (Z3, torch.ones(4, dtype=torch.bool), 0.5), {}, ValueError, "mask"),
    (reg.inverted_dropout, (Z3, -0.1), {}, ValueError, "p"),
    (reg.inverted_dropout, ([0.0], 0.5), {}, TypeError, "x"),
    (reg.dropconnect_linear, (torch.zeros(4), Z23, None, torch.ones(2, 3, dtype=torch.bool), 0.5), {},
     ValueError, "weight"),
    (reg.dropconnect_linear, (Z3, Z23, None, torch.ones(3, 2, dtype=torch.bool), 0.5), {}, ValueError, "mask"),
    (reg.dropconnect_linear, (Z3, Z23, torch.zeros(2, 1), torch.ones(2, 3, dtype=torch.bool), 0.5), {},
     ValueError, "bias"),
]

_B23 = torch.ones(2, 3, dtype=torch.bool)
CASES += [
    (reg.ridge_fit, (Z23, [0.0, 0.0], 1.0), {}, TypeError, "y"),
    (reg.ridge_fit, (Z23, torch.zeros(2, 1), 1.0), {}, ValueError, "y"),
    (reg.bias_variance, ([[0.0] * 3] * 4, Z3, torch.zeros(4), 0.1), {}, TypeError, "P"),
    (reg.bias_variance, (torch.zeros(4, 3), torch.zeros(3, 1), torch.zeros(4), 0.1), {}, ValueError, "f_train"),
    (reg.bias_variance, (torch.zeros(4, 3), Z3, [0.0] * 4, 0.1), {}, TypeError, "f_test"),
    (reg.bias_variance, (torch.zeros(4, 3), Z3, torch.zeros(4, 1), 0.1), {}, ValueError, "f_test"),
    (reg.dropconnect_linear, (Z3, [[0.0] * 3] * 2, None, _B23, 0.5), {}, TypeError, "weight"),
    (reg.dropconnect_linear, (Z3, torch.zeros(2, 3, 1), None, torch.ones(2, 3, 1, dtype=torch.bool), 0.5), {},
     ValueError, "weight"),
    (reg.dropconnect_linear, ([0.0] * 3, Z23, None, _B23, 0.5), {}, TypeError, "x"),
    (reg.dropconnect_linear, (torch.tensor(1.0), Z23, None, _B23, 0.5), {}, ValueError, "x"),
    (reg.dropconnect_linear, (Z3, Z23, None, None, 0.5), {}, ValueError, "mask"),
    (reg.dropout_with_mask, (Z3, torch.ones(3, dtype=torch.bool), -0.1), {}, ValueError, "p"),
    (reg.dropout_with_mask, (Z3, torch.ones(3, dtype=torch.bool), 1.5), {}, ValueError, "p"),
    (reg.dropout_with_mask, ([0.0] * 3, torch.ones(3, dtype=torch.bool), 0.5), {}, TypeError, "x"),
    (reg.dropout_with_mask, (Z3, torch.ones(4, dtype=torch.bool), 0.5), {}, ValueError, "x"),
    (reg.inverted_dropout, (Z3, -0.1), {"training": False}, ValueError, "p"),
    (reg.inverted_dropout, (Z3, 1.5), {"training": False}, ValueError, "p"),
    (reg.keep_mask, ((2, 3), -0.1), {}, ValueError, "p"),
    (reg.keep_mask, ((2, -1), 0.5), {}, TypeError, "shape"),
    (reg.ista_lasso, (Z23, torch.zeros(2), -0.1), {"steps": 1}, ValueError, "alpha"),
    (reg.l2_penalty, (Z3, -0.1), {}, ValueError, "alpha"),
    (reg.l2_shrink, (Z3, -1.0), {}, ValueError, "threshold"),
    (reg.ridge_fit, (Z23, torch.zeros(2), 1.0, [1.0] * 3), {}, TypeError, "penalize"),
    (reg.ridge_fit, (Z23, torch.zeros(2), 1.0, torch.ones(3, 1)), {}, ValueError, "penalize"),
    (reg.soft_threshold, ([1.0], 0.1), {}, TypeError, "w"),
]
# P is checked first: a 1-D P is reported before a bad f_train (the shape test alone would report f_train)
CASES += [
    (reg.bias_variance, (torch.zeros(4), [0.0] * 3, torch.zeros(4), 0.1), {}, ValueError, "P"),
]
