import torch

from snippets import input_norm as inn

CASES = [
    (inn.min_max_scale, ([1.0, 2.0],), {}, TypeError, "x"),
    (inn.min_max_scale, (torch.ones(4, 2),), {}, ValueError, "x"),
    (inn.z_score, (torch.arange(4),), {}, TypeError, "x"),
    (inn.z_score, (torch.ones(5),), {}, ValueError, "x"),
    (inn.log_scale, (torch.tensor([0.5, 10.0]),), {}, ValueError, "x"),
    (inn.arctan_scale, (3.0,), {}, TypeError, "x"),
    (inn.hessian_eigenvalues, (torch.zeros(5),), {}, ValueError, "x"),
    (inn.optimal_step, (torch.zeros(2, 3, 4),), {}, ValueError, "x"),
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(3), 0.1, 5), {}, ValueError, "y"),
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(4), -0.1, 5), {}, ValueError, "step"),
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(4), "0.1", 5), {}, TypeError, "step"),
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(4), 0.1, 0), {}, ValueError, "num_steps"),
    (inn.local_response_norm, (torch.zeros(4),), {}, ValueError, "a"),
    (inn.local_response_norm, (torch.zeros(1, 4, 2, 2), 4), {}, ValueError, "size"),
    (inn.local_response_norm, (torch.zeros(1, 4, 2, 2),), {"k": 0.0}, ValueError, "k"),
    (inn.local_response_norm, (torch.zeros(1, 4, 2, 2),), {"alpha": -1e-4}, ValueError, "alpha"),
    (inn.local_response_norm, (torch.zeros(1, 4, 2, 2),), {"beta": -0.01}, ValueError, "beta"),  # just below low=0
    (inn.local_response_norm, (torch.zeros(1, 4, 2, 2), 5.0), {}, TypeError, "size"),
    # 0-d inputs (below min_ndim=1); NaN so that no later check (constant feature, range) catches them instead
    (inn.min_max_scale, (torch.tensor(float("nan")),), {}, ValueError, "x"),
    (inn.z_score, (torch.tensor(float("nan")),), {}, ValueError, "x"),
    (inn.log_scale, ([1.0, 10.0],), {}, TypeError, "x"),
    (inn.log_scale, (torch.tensor(10.0),), {}, ValueError, "x"),
    (inn.gradient_descent, ([[1.0], [2.0]], torch.zeros(2), 0.1, 5), {}, TypeError, "x"),
    (inn.gradient_descent, (torch.zeros(4), torch.zeros(4), 0.1, 5), {}, ValueError, "x"),  # 1-D x, ndim=2
    (inn.gradient_descent, (torch.zeros(4, 2), [0.0] * 4, 0.1, 5), {}, TypeError, "y"),
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(4, 1), 0.1, 5), {}, ValueError, "y"),  # 2-D y, ndim=1
    (inn.gradient_descent, (torch.zeros(4, 2), torch.zeros(4), 0.0, 5), {}, ValueError, "step"),  # low_open edge
]
