import torch

from snippets import batch_size as bs

_X, _Y, _LRS = torch.zeros(8, 2), torch.zeros(8), torch.tensor([0.1])

CASES = [
    (bs.iterations_per_epoch, (0, 4), {}, ValueError, "num_samples"),
    (bs.iterations_per_epoch, (100, 2.0), {}, TypeError, "batch_size"),
    (bs.minibatch_gradient_noise, (torch.zeros(5), 2), {}, ValueError, "per_sample_grads"),
    (bs.minibatch_gradient_noise, (torch.zeros(5, 3), 6), {}, ValueError, "batch_size"),
    (bs.minibatch_gradient_noise, (torch.zeros(5, 3), 0), {}, ValueError, "batch_size"),
    (bs.minibatch_gradient_noise, (torch.zeros(5, 3, dtype=torch.int64), 2), {}, TypeError, "per_sample_grads"),
    (bs.sgd_noise_floor, (2.5, 1), {}, ValueError, "lr"),
    (bs.sgd_noise_floor, (0.0, 1), {}, ValueError, "lr"),  # the edge of low=0, low_open=True
    (bs.sgd_noise_floor, (2.0, 1), {}, ValueError, "lr"),  # lr a = 2 exactly: not stable
    (bs.sgd_noise_floor, (1.5, 1), {"curvature": 2.0}, ValueError, "lr"),  # lr a = 3 although lr / a < 2
    (bs.sgd_noise_floor, (0.1, 1), {"noise_sd": -0.5}, ValueError, "noise_sd"),
    (bs.sgd_noise_floor, (0.1, 0), {}, ValueError, "batch_size"),
    (bs.sgd_noise_floor, (0.1, 1), {"curvature": 0.0}, ValueError, "curvature"),
    (bs.sgd_noise_floor, (0.1, 1), {"noise_sd": "1"}, TypeError, "noise_sd"),
    (bs.sgd_steps_to_target, (_X, torch.zeros(7), 2, _LRS, 1.0, 10), {}, ValueError, "y"),
    (bs.sgd_steps_to_target, (_X, _Y, 9, _LRS, 1.0, 10), {}, ValueError, "batch_size"),
    (bs.sgd_steps_to_target, (_X, _Y, 2, [0.1], 1.0, 10), {}, TypeError, "lrs"),
    (bs.sgd_steps_to_target, (_X, _Y, 2, _LRS, 0.0, 10), {}, ValueError, "target_loss"),
    (bs.sgd_steps_to_target, (_X.numpy(), _Y, 2, _LRS, 1.0, 10), {}, TypeError, "x"),
    (bs.sgd_steps_to_target, (torch.zeros(8), _Y, 2, _LRS, 1.0, 10), {}, ValueError, "x"),  # 1-D x, ndim=2
    (bs.sgd_steps_to_target, (_X, [0.0] * 8, 2, _LRS, 1.0, 10), {}, TypeError, "y"),
    (bs.sgd_steps_to_target, (_X, torch.zeros(8, 1), 2, _LRS, 1.0, 10), {}, ValueError, "y"),  # 2-D y, ndim=1
    (bs.sgd_steps_to_target, (_X, _Y, 2, torch.tensor(0.1), 1.0, 10), {}, ValueError, "lrs"),  # 0-d lrs, ndim=1
    (bs.sgd_steps_to_target, (_X, _Y, 0, _LRS, 1.0, 10), {}, ValueError, "batch_size"),
    (bs.sgd_steps_to_target, (_X, _Y, 2, _LRS, 1.0, 0), {}, ValueError, "max_steps"),
    (bs.fraction_seen_with_replacement, (0, 10), {}, ValueError, "num_samples"),
    (bs.fraction_seen_with_replacement, (10, 0), {}, ValueError, "draws"),
    (bs.fraction_seen_with_replacement, (10, 2.5), {}, TypeError, "draws"),
    (bs.fraction_seen_with_replacement, (10.0, 10), {}, TypeError, "num_samples"),
]
