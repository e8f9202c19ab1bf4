import torch

from snippets import batch_norm as bn

X = torch.zeros(4, 3)
ONES, ZEROS = torch.ones(3), torch.zeros(3)

CASES = [
    (bn.batch_statistics, ([[1.0, 2.0]],), {}, TypeError, "x"),
    (bn.batch_statistics, (torch.zeros(5),), {}, ValueError, "x"),
    (bn.batch_statistics, (torch.zeros(1, 3),), {}, ValueError, "x"),
    (bn.batch_norm_train, (X, torch.ones(4), ZEROS), {}, ValueError, "gamma"),
    (bn.batch_norm_train, (X, ONES, torch.zeros(3, 1)), {}, ValueError, "beta"),
    (bn.batch_norm_train, (X, ONES, ZEROS), {"eps": -1e-5}, ValueError, "eps"),
    (bn.update_running_stats, (torch.zeros(2), ONES, X), {}, ValueError, "running_mean"),
    (bn.update_running_stats, (ZEROS, torch.ones(3, dtype=torch.int64), X), {}, TypeError, "running_var"),
    (bn.update_running_stats, (ZEROS, ONES, X), {"momentum": 1.5}, ValueError, "momentum"),
    (bn.batch_norm_eval, (torch.zeros(4), ZEROS, ONES, ONES, ZEROS), {}, ValueError, "x"),
    (bn.batch_norm_eval, (X, ZEROS, ONES, torch.ones(2), ZEROS), {}, ValueError, "gamma"),
    (bn.batch_norm_eval, (X, ZEROS, ONES, ONES, ZEROS), {"eps": "1e-5"}, TypeError, "eps"),
    (bn.identity_affine, (torch.zeros(1, 3),), {}, ValueError, "x"),
    (bn.identity_affine, (X,), {"eps": -1.0}, ValueError, "eps"),
    (bn.dropout_variance_shift, (1.0, -4.0, 0.5), {}, ValueError, "var"),
    (bn.dropout_variance_shift, (1.0, 4.0, 0.0), {}, ValueError, "keep_prob"),
    (bn.dropout_variance_shift, ("1", 4.0, 0.5), {}, TypeError, "mean"),
    (bn.expected_normalization_error, (1,), {}, ValueError, "m"),
    (bn.expected_normalization_error, (2.0,), {}, TypeError, "m"),
    (bn.sigmoid_mlp, (20, 32, 0, 2, True), {}, ValueError, "depth"),
    (bn.sigmoid_mlp, (20, 32.0, 2, 2, True), {}, TypeError, "width"),
    (bn.train_classifier, (torch.nn.Linear(3, 2), X, torch.zeros(4)), {"steps": 1, "batch_size": 2}, TypeError, "y"),
    (bn.train_classifier, (torch.nn.Linear(3, 2), X, torch.zeros(5, dtype=torch.int64), 1, 2), {}, ValueError, "x"),
    (bn.train_classifier, (torch.nn.Linear(3, 2), X, torch.zeros(4, dtype=torch.int64), 0, 2), {}, ValueError, "steps"),
    (bn.train_classifier, (torch.nn.Linear(3, 2), X, torch.zeros(4, dtype=torch.int64), 1, 2), {"eval_every": 0},
     ValueError, "eval_every"),
]
