import torch

from snippets import group_norm as gn

CASES = [
    (gn.normalize, ([1.0, 2.0], (0,)), {}, TypeError, "x"),
    (gn.normalize, (torch.zeros(2, 3), ()), {}, ValueError, "dims"),
    (gn.normalize, (torch.zeros(2, 3), (0, 5)), {}, ValueError, "dims"),
    (gn.normalize, (torch.zeros(2, 3), (2,)), {}, ValueError, "dims"),  # axis == ndim is one past the last
    (gn.normalize, (torch.zeros(3), (0,)), {}, ValueError, "x"),  # 1-D: below min_ndim=2
    (gn.normalize, (torch.zeros(2, 3), (0,)), {"eps": -1.0}, ValueError, "eps"),
    (gn.group_norm, (torch.zeros(2, 6), 3), {}, ValueError, "x"),
    (gn.group_norm, (torch.zeros(2, 6, 4), 4), {}, ValueError, "num_groups"),
    (gn.group_norm, (torch.zeros(2, 6, 4), 0), {}, ValueError, "num_groups"),
    (gn.batch_variance_relative_sd, (1,), {}, ValueError, "m"),
    (gn.batch_variance_relative_sd, (8.0,), {}, TypeError, "m"),
]
