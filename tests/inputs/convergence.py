import torch
import torch.nn.functional as F
from torch import nn

from snippets import convergence as cv

CASES = [
    (cv.gradient_descent_quadratic, (torch.eye(2), torch.zeros(3), 0.1, 5), {}, ValueError, "a"),
    (cv.gradient_descent_quadratic, (torch.eye(2), torch.zeros(2), 0.0, 5), {}, ValueError, "lr"),
    (cv.gradient_descent_quadratic, (torch.eye(2), torch.zeros(2), 0.1, 0), {}, ValueError, "steps"),
    (cv.gradient_descent_quadratic, (torch.eye(2), torch.zeros(2, 1), 0.1, 5), {}, ValueError, "x0"),
    (cv.max_stable_lr, (torch.tensor([[1.0, 2.0], [0.0, 1.0]]),), {}, ValueError, "a"),
    (cv.max_stable_lr, (torch.zeros(2, 3),), {}, ValueError, "a"),
    (cv.sgd_loop, (torch.zeros(2, requires_grad=True), "loss", 0.1, 3), {}, TypeError, "loss_fn"),
    (cv.sgd_loop, (torch.zeros(2, requires_grad=True), torch.sum, -0.1, 3), {}, ValueError, "lr"),
    (cv.sgd_loop, ([0.0], torch.sum, 0.1, 3), {}, TypeError, "param"),
    (cv.overfit_one_batch, (None, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), F.cross_entropy), {},
     TypeError, "model"),
    (cv.overfit_one_batch, (nn.Linear(2, 3), torch.zeros(4, 2), torch.zeros(5, dtype=torch.long), F.cross_entropy), {},
     ValueError, "y"),
    (cv.overfit_one_batch, (nn.Linear(2, 3), torch.zeros(4), torch.zeros(4, dtype=torch.long), F.cross_entropy), {},
     ValueError, "x"),
    (cv.overfit_one_batch, (nn.Linear(2, 3), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), F.cross_entropy),
     {"steps": 0}, ValueError, "steps"),
    (cv.gradient_descent_quadratic, (torch.zeros(2, 2, 1), torch.zeros(2), 0.1, 5), {}, ValueError, "a"),
    (cv.max_stable_lr, (torch.ones(2, 2, 2),), {}, ValueError, "a"),
    (cv.sgd_loop, (torch.zeros(2, requires_grad=True), torch.sum, 0.0, 3), {}, ValueError, "lr"),
    (cv.sgd_loop, (torch.zeros(2, requires_grad=True), torch.sum, 0.1, 0), {}, ValueError, "steps"),
    (cv.overfit_one_batch, (nn.Linear(2, 3), torch.zeros(4, 2), [0, 1, 2, 0], F.cross_entropy), {}, TypeError, "y"),
    (cv.overfit_one_batch, (nn.Linear(2, 3), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), F.cross_entropy),
     {"lr": 0.0}, ValueError, "lr"),
]
