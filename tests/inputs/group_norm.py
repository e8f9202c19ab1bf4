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
    (gn.transformer_layer_norm, ([[1.0, 2.0]], torch.ones(2), torch.zeros(2)), {}, TypeError, "x"),
    (gn.transformer_layer_norm, (torch.zeros(2, 3, 4), torch.ones(3), torch.zeros(4)), {}, ValueError, "gamma"),
    (gn.transformer_layer_norm, (torch.zeros(2, 3, 4), torch.ones(4), torch.zeros(4, 1)), {}, ValueError, "beta"),
    (gn.transformer_layer_norm, (torch.zeros(2, 4), torch.ones(4), torch.zeros(4)), {"eps": -1e-5}, ValueError, "eps"),
    (gn.rms_norm, (torch.zeros(2, 4, dtype=torch.int64), torch.ones(4)), {}, TypeError, "x"),
    (gn.rms_norm, (torch.zeros(2, 4), torch.ones(1, 4)), {}, ValueError, "gamma"),
    (gn.rms_norm, (torch.zeros(2, 4), torch.ones(4)), {"eps": -1.0}, ValueError, "eps"),
    (gn.weight_norm, (torch.zeros(4), torch.ones(4)), {}, ValueError, "v"),
    (gn.weight_norm, (torch.zeros(4, 3), [1.0] * 4), {}, TypeError, "g"),
    (gn.weight_norm, (torch.zeros(4, 3), torch.ones(3)), {}, ValueError,
     r"g must have one entry per output unit \(4\), got shape \(3,\)"),
    (gn.weight_standardize, (torch.zeros(5),), {}, ValueError, "w"),
    (gn.weight_standardize, (torch.zeros(5, 3),), {"eps": -1e-5}, ValueError, "eps"),
    (gn.batch_mean_sd, (0, 64, 1.0, 1.0), {}, ValueError, "n_images"),
    (gn.batch_mean_sd, (2, 64.0, 1.0, 1.0), {}, TypeError, "pixels"),
    (gn.batch_mean_sd, (2, 64, -1.0, 1.0), {}, ValueError, "tau"),
    (gn.batch_mean_sd, (2, 64, 1.0, "1"), {}, TypeError, "sigma"),
    (gn.expected_batch_variance, (2.0, 64, 1.0, 1.0), {}, TypeError, "n_images"),
    (gn.expected_batch_variance, (2, 0, 1.0, 1.0), {}, ValueError, "pixels"),
    (gn.expected_batch_variance, (2, 64, None, 1.0), {}, TypeError, "tau"),
    (gn.expected_batch_variance, (2, 64, 1.0, -2.0), {}, ValueError, "sigma"),
    (gn.expected_batch_variance, (2, 64, -0.5, 1.0), {}, ValueError, r"tau must be >= 0, got -0\.5"),
    (gn.batch_mean_sd, (2, 64, 1.0, -0.5), {}, ValueError, r"sigma must be >= 0, got -0\.5"),
    (gn.transformer_layer_norm, (torch.tensor(1.0), torch.ones(1), torch.zeros(1)), {}, ValueError, "x"),  # 0-D
    (gn.rms_norm, (torch.tensor(1.0), torch.ones(1)), {}, ValueError, "x"),  # 0-D: no feature axis
]
