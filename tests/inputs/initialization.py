import torch

from snippets import initialization as ini

CASES = [
    (ini.fan_in_and_fan_out, ((5,),), {}, ValueError, "shape"),
    (ini.xavier_uniform_bound, (0, 10), {}, ValueError, "fan_in"),
    (ini.xavier_uniform_bound, (10, 2.5), {}, TypeError, "fan_out"),
    (ini.xavier_uniform_bound, (10, 10), {"gain": -1.0}, ValueError, "gain"),
    (ini.xavier_normal_std, (10, 0), {}, ValueError, "fan_out"),
    (ini.xavier_normal_std, (0, 10), {}, ValueError, "fan_in"),
    (ini.xavier_normal_std, (10, 10), {"gain": 0.0}, ValueError, "gain"),  # the edge of low=0, low_open=True
    (ini.xavier_uniform_bound, (10, 10), {"gain": 0.0}, ValueError, "gain"),
    (ini.he_normal_std, (-3,), {}, ValueError, "fan_in"),
    (ini.linear_default_bound, ("10",), {}, TypeError, "fan_in"),
    (ini.relu_second_moments, (torch.zeros(4), 0.1, 3, torch.Generator()), {}, ValueError, "x"),
    (ini.relu_second_moments, (torch.zeros(4, 4), 0.0, 3, torch.Generator()), {}, ValueError, "weight_std"),
    (ini.relu_second_moments, (torch.zeros(4, 4), 0.1, 0, torch.Generator()), {}, ValueError, "depth"),
    (ini.tanh_mlp, ([2, 0, 1], lambda m: None), {}, ValueError, r"sizes\[1\]"),
    (ini.fit, (torch.nn.Linear(2, 1), torch.zeros(4, 2), torch.zeros(3, 1)), {}, ValueError, "x"),
    (ini.fit, (torch.nn.Linear(2, 1), [[0.0, 0.0]] * 4, torch.zeros(4, 1)), {}, TypeError, "x"),
    (ini.fit, (torch.nn.Linear(2, 1), torch.zeros(4), torch.zeros(4, 1)), {}, ValueError, "x"),  # 1-D x, ndim=2
    (ini.fit, (torch.nn.Linear(2, 1), torch.zeros(4, 2), torch.zeros(4)), {}, ValueError, "y"),
    (ini.fit, (torch.nn.Linear(2, 1), torch.zeros(4, 2), torch.zeros(4, 1)), {"steps": 0}, ValueError, "steps"),
]
