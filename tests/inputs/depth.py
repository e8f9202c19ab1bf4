import torch

from snippets import depth as dp

CASES = [
    (dp.tent_map, ([0.5],), {}, TypeError, "x"),
    (dp.tent_map, (torch.arange(3),), {}, TypeError, "x"),
    (dp.sawtooth, (torch.zeros(3), 0), {}, ValueError, "k"),
    (dp.sawtooth, (torch.zeros(3), 2.0), {}, TypeError, "k"),
    (dp.sawtooth, (None, 2), {}, TypeError, "x"),
    (dp.sawtooth_net, (0,), {}, ValueError, "k"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(5), torch.zeros(3), torch.ones(3)), {}, ValueError, "b"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4), torch.zeros(2), torch.ones(3)), {}, ValueError, "x0"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4), torch.zeros(3), torch.ones(3, 1)), {}, ValueError, "v"),
    (dp.shallow_kinks, (torch.zeros(4), torch.zeros(4), torch.zeros(3), torch.ones(3)), {}, ValueError, "w"),
    (dp.shallow_sawtooth_net, (-1,), {}, ValueError, "k"),
    (dp.count_linear_pieces, (torch.zeros(3), torch.zeros(4)), {}, ValueError, "x"),
    (dp.count_linear_pieces, (torch.tensor([0.0, 1.0, 1.0]), torch.zeros(3)), {}, ValueError, "x"),
    (dp.count_linear_pieces, (torch.arange(3.0), torch.zeros(3, 1)), {}, ValueError, "y"),
    (dp.count_linear_pieces, (torch.arange(3.0), torch.zeros(3)), {"tol": 0}, ValueError, "tol"),
    (dp.shallow_kinks, (torch.zeros(4, 3), [0.0] * 4, torch.zeros(3), torch.ones(3)), {}, TypeError, "b"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4, 1), torch.zeros(3), torch.ones(3)), {}, ValueError, "b"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4), [0.0] * 3, torch.ones(3)), {}, TypeError, "x0"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4), torch.zeros(3, 1), torch.ones(3)), {}, ValueError, "x0"),
    (dp.shallow_kinks, (torch.zeros(4, 3), torch.zeros(4), torch.zeros(3), torch.ones(2)), {}, ValueError, "v"),
    (dp.count_linear_pieces, ([0.0, 1.0, 2.0], torch.zeros(3)), {}, TypeError, "x"),
    (dp.count_linear_pieces, (torch.zeros(2, 2), torch.zeros(2, 2)), {}, ValueError, "x"),
    (dp.count_linear_pieces, (torch.arange(3.0), torch.zeros(4)), {}, ValueError, "y"),
]
