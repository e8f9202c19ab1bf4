import torch
from torch import nn

from snippets import generalization as gen

CASES = [
    (gen.legendre_features, (torch.zeros(3, 2), 2), {}, ValueError, "x"),
    (gen.legendre_features, (torch.zeros(3), -1), {}, ValueError, "degree"),
    (gen.legendre_features, (torch.zeros(3), 2.0), {}, ValueError, "degree"),
    (gen.least_squares_fit, (torch.zeros(4, 2), torch.zeros(3)), {}, ValueError, "y"),
    (gen.least_squares_fit, (torch.zeros(4), torch.zeros(4)), {}, ValueError, "features"),
    (gen.least_squares_fit, (torch.zeros(4, 2), torch.zeros(4)), {"ridge": -1.0}, ValueError, "ridge"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), torch.zeros(4)), {}, TypeError, "y"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)), {},
     ValueError, "y"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)),
     {"steps": 0}, ValueError, "steps"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)),
     {"lr": 0}, ValueError, "lr"),
    (gen.train_full_batch, (lambda v: v, torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), {},
     TypeError, "model"),
    (gen.least_squares_fit, (torch.zeros(4, 2), [0.0] * 4), {}, TypeError, "y"),
    (gen.least_squares_fit, (torch.zeros(4, 2), torch.zeros(4, 1)), {}, ValueError, "y"),
    (gen.train_full_batch, (nn.Linear(3, 2), [[0.0] * 3] * 4, torch.zeros(4, dtype=torch.long)), {}, TypeError, "x"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3, 1), torch.zeros(4, dtype=torch.long)), {},
     ValueError, "x"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), [0] * 4), {}, TypeError, "y"),
    (gen.train_full_batch, (nn.Linear(3, 2), torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long)), {},
     ValueError, "y"),
]
