import torch

from snippets import lr_schedules as lrs

CASES = [
    (lrs.piecewise_constant, (5, [3, 6], [1.0, 0.5]), {}, ValueError, "values"),
    (lrs.piecewise_constant, (5, [6, 3], [1.0, 0.5, 0.25]), {}, ValueError, "boundaries"),
    (lrs.piecewise_constant, (-1, [3], [1.0, 0.5]), {}, ValueError, "step"),
    (lrs.exponential_decay, (0.1, 10, 0, 0.9), {}, ValueError, "decay_steps"),
    (lrs.exponential_decay, (0.1, 10, 100, 0.0), {}, ValueError, "decay_rate"),
    (lrs.exponential_decay, ("0.1", 10, 100, 0.9), {}, TypeError, "lr"),
    (lrs.natural_exp_decay, (0.1, -5, 100, 0.5), {}, ValueError, "step"),
    (lrs.natural_exp_decay, (0.1, 5, 100, -0.5), {}, ValueError, "decay_rate"),
    (lrs.polynomial_decay, (0.1, 5, 100), {"end_lr": 0.2}, ValueError, "end_lr"),
    (lrs.polynomial_decay, (0.1, 5, 100), {"power": 0}, ValueError, "power"),
    (lrs.polynomial_decay, (0.1, 5, 10.5), {}, TypeError, "decay_steps"),
    (lrs.cosine_decay, (0.1, 5, 100), {"alpha": 1.5}, ValueError, "alpha"),
    (lrs.cosine_decay, (-0.1, 5, 100), {}, ValueError, "lr"),
    (lrs.torch_schedule, (None, 0.1, 10), {}, TypeError, "make_scheduler"),
    (lrs.torch_schedule, (lambda o: None, 0.1, 0), {}, ValueError, "steps"),
    (lrs.sgd_second_moment, ([0.1], 0.0, 1.0), {}, ValueError, "curvature"),
    (lrs.sgd_second_moment, ([0.1, -0.1], 2.0, 1.0), {}, ValueError, r"lrs\[1\]"),
    (lrs.sgd_second_moment, ([0.1], 2.0, 1.0), {"noise_std": "1"}, TypeError, "noise_std"),
    (lrs.piecewise_constant, (5, [3, 3], [1.0, 0.5, 0.25]), {}, ValueError, "boundaries"),
    (lrs.exponential_decay, (0.0, 10, 100, 0.9), {}, ValueError, "lr"),
    (lrs.polynomial_decay, (0.1, 5, 100), {"end_lr": -0.01}, ValueError, "end_lr"),
    (lrs.cosine_decay, (0.1, 5, 100), {"alpha": -0.5}, ValueError, "alpha"),
    (lrs.torch_schedule, (lambda o: torch.optim.lr_scheduler.StepLR(o, 1), 0.0, 10), {}, ValueError, "lr"),
]
