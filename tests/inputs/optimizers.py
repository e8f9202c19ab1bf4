import torch

from snippets import optimizers as opt

_P = torch.zeros(3)

CASES = [
    (opt.sgd_step, ([0.0, 1.0], _P, {}, 0.1), {}, TypeError, "param"),
    (opt.sgd_step, (_P, torch.zeros(4), {}, 0.1), {}, ValueError, "param"),
    (opt.sgd_step, (_P, _P, {}, 0.0), {}, ValueError, "lr"),
    (opt.momentum_step, (_P, torch.arange(3), {}, 0.1), {}, TypeError, "grad"),
    (opt.momentum_step, (_P, _P, None, 0.1), {}, TypeError, "state"),
    (opt.momentum_step, (_P, _P, {}, 0.1), {"momentum": 1.5}, ValueError, "momentum"),
    (opt.adagrad_step, (_P, _P, {}), {"lr": "0.1"}, TypeError, "lr"),
    (opt.adagrad_step, (_P, _P, {}), {"eps": -1e-10}, ValueError, "eps"),
    (opt.rmsprop_step, (_P, _P, {}), {"alpha": 2.0}, ValueError, "alpha"),
    (opt.rmsprop_step, (_P, _P, []), {}, TypeError, "state"),
    (opt.adadelta_step, (_P, _P, {}), {"rho": -0.1}, ValueError, "rho"),
    (opt.adadelta_step, (_P, _P, {}), {"eps": 0.0}, ValueError, "eps"),
    (opt.adam_step, (_P, _P, {}), {"betas": 0.9}, TypeError, "betas"),
    (opt.adam_step, (_P, _P, {}), {"betas": (0.9, 1.5)}, ValueError, r"betas\[1\]"),
    (opt.adam_step, (_P, _P, {}), {"betas": (True, 0.999)}, TypeError, r"betas\[0\]"),
    (opt.adam_step, (_P, _P, {}), {"betas": (0.9, 1.0)}, ValueError, r"betas\[1\]"),
    (opt.optimize, (None, lambda th: th, _P, 10), {"lr": 0.1}, TypeError, "step"),
    (opt.optimize, (opt.sgd_step, "grad", _P, 10), {"lr": 0.1}, TypeError, "grad_fn"),
    (opt.optimize, (opt.sgd_step, lambda th: th, _P, 0), {"lr": 0.1}, ValueError, "num_steps"),
    (opt.optimize, (opt.sgd_step, lambda th: th, 1.0, 5), {"lr": 0.1}, TypeError, "start"),
    (opt.quadratic_grad, (_P, torch.ones(2)), {}, ValueError, "theta"),
    (opt.quadratic_grad, (_P, [1.0, 2.0, 3.0]), {}, TypeError, "curvatures"),
    (opt.saddle_grad, (torch.zeros(3),), {}, ValueError, "theta"),
    (opt.saddle_grad, (torch.zeros(2, dtype=torch.long),), {}, TypeError, "theta"),
    (opt.polyak_heavy_ball, (0.0, 100.0), {}, ValueError, "l_min"),
    (opt.polyak_heavy_ball, (1.0, 0.5), {}, ValueError, "l_max"),
]

CASES += [
    (opt.momentum_step, (_P, _P, {}, 0.1), {"momentum": -0.1}, ValueError, "momentum"),
    (opt.rmsprop_step, (_P, _P, {}), {"alpha": -0.1}, ValueError, "alpha"),
    (opt.rmsprop_step, (_P, _P, {}), {"eps": -1e-8}, ValueError, "eps"),
    (opt.adadelta_step, (_P, _P, {}), {"rho": 1.5}, ValueError, "rho"),
    (opt.quadratic_grad, ([0.0, 1.0, 2.0], _P), {}, TypeError, "theta"),
    (opt.quadratic_grad, (_P, torch.ones(2)), {}, ValueError, "curvatures"),
]

CASES += [
    (opt.adamw_step, (_P, _P, {}), {"weight_decay": -0.1}, ValueError, "weight_decay"),
    (opt.adamw_step, (_P, torch.zeros(2), {}), {}, ValueError, "param"),
    (opt.ema_update, ([], [_P]), {}, TypeError, "ema"),
    (opt.ema_update, ([_P], [_P, _P]), {}, TypeError, "params"),
    (opt.ema_update, ([_P], [torch.zeros(2)]), {}, ValueError, r"params\[0\]"),
    (opt.ema_update, ([_P], [_P]), {"decay": 1.5}, ValueError, "decay"),
    (opt.ema_update, ([[0.0]], [_P]), {}, TypeError, r"ema\[0\]"),
    (opt.sgd_ema_second_moments, (0.0, 2.0, 0.9, 10, 1.0), {}, ValueError, "lr"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, 1.1, 10, 1.0), {}, ValueError, "decay"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, 0.9, 0, 1.0), {}, ValueError, "steps"),
    (opt.sgd_ema_second_moments, (0.1, -2.0, 0.9, 10, 1.0), {}, ValueError, "curvature"),
    (opt.newton_step, (_P, _P, torch.eye(2)), {}, ValueError, "hessian"),
    (opt.newton_step, (_P, torch.zeros(2), torch.eye(3)), {}, ValueError, "theta"),
    (opt.newton_step, (_P, _P, torch.eye(3)), {"damping": -1.0}, ValueError, "damping"),
    (opt.newton_step, (torch.zeros(3, 1), _P, torch.eye(3)), {}, ValueError, "theta"),
    (opt.saddle_free_newton_step, (_P, _P, torch.zeros(3, 2)), {}, ValueError, "hessian"),
    (opt.saddle_free_newton_step, (_P, [0.0] * 3, torch.eye(3)), {}, TypeError, "grad"),
]

# Sharper messages: each names the argument AND says what is wrong, so a mutated name or a dropped bound shows.
CASES += [
    (opt.optimize, (3, lambda th: th, _P, 10), {"lr": 0.1}, TypeError, "step must be callable, got int"),
    (opt.optimize, (opt.sgd_step, "grad", _P, 10), {"lr": 0.1}, TypeError, "grad_fn must be callable, got str"),
    (opt.ema_update, ([], [_P]), {}, TypeError, "ema must be a non-empty list of tensors"),
    (opt.ema_update, ([_P], [[0.0]]), {}, TypeError, r"params\[0\] must be a torch\.Tensor"),
    (opt.ema_update, ([_P], [torch.zeros(2)]), {}, ValueError, r"ema\[0\] and params\[0\] must have the same shape"),
    (opt.ema_update, ([_P], [_P]), {"decay": -0.1}, ValueError, "decay must be >= 0, got -0.1"),
    (opt.sgd_ema_second_moments, (0.1, 0.0, 0.9, 10, 1.0), {}, ValueError, "curvature must be > 0, got 0.0"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, -0.1, 10, 1.0), {}, ValueError, "decay must be >= 0, got -0.1"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, 0.9, 10, "5"), {}, TypeError, "x0 must be a real number"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, 0.9, 10, 1.0), {"noise_std": "1"}, TypeError,
     "noise_std must be a real number"),
    (opt.sgd_ema_second_moments, (0.1, 2.0, 0.9, 10, 1.0), {"noise_std": -1.0}, ValueError,
     "noise_std must be >= 0, got -1.0"),
    (opt.newton_step, (torch.zeros(3, 1), torch.zeros(3, 1), torch.eye(3)), {}, ValueError,
     r"theta must have 1 dimensions, got shape \(3, 1\)"),
    (opt.newton_step, (_P, torch.zeros(3, 1), torch.eye(3)), {}, ValueError,
     r"grad must have 1 dimensions, got shape \(3, 1\)"),
    (opt.newton_step, (_P, torch.zeros(2), torch.eye(3)), {}, ValueError, "theta and grad must have the same shape"),
    (opt.newton_step, (_P, _P, torch.zeros(3, 3, 1)), {}, ValueError,
     r"hessian must have 2 dimensions, got shape \(3, 3, 1\)"),
    (opt.saddle_free_newton_step, (_P, _P, [[1.0]]), {}, TypeError, "hessian must be a torch.Tensor"),
]
