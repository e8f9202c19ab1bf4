import torch
import torch.nn.functional as F

from snippets import training_loop as tl


def _params(d=4, h=5, k=3):
    return {"w1": torch.zeros(d, h), "b1": torch.zeros(h), "w2": torch.zeros(h, k), "b2": torch.zeros(k)}


_bad_b2 = {**_params(), "b2": torch.zeros(4)}
_bad_b1 = {**_params(), "b1": torch.zeros(6)}
_flat_w1 = {**_params(), "w1": torch.zeros(4)}
_int_w1 = {**_params(), "w1": torch.zeros(4, 5, dtype=torch.long)}

CASES = [
    (tl.mlp_forward, (torch.zeros(4), _params()), {}, ValueError, "x"),
    (tl.mlp_forward, (torch.zeros(2, 4), {"w1": torch.zeros(4, 5)}), {}, TypeError, "params"),
    (tl.mlp_forward, (torch.zeros(2, 4), _int_w1), {}, TypeError, r"params\['w1'\]"),
    (tl.mlp_forward, (torch.zeros(2, 4), _flat_w1), {}, ValueError, r"params\['w1'\] must have 2 dimensions"),
    (tl.mlp_forward, (torch.zeros(2, 4), _bad_b1), {}, ValueError,
     r"params\['w1'\], params\['b1'\] and params\['w2'\] disagree on the hidden width"),
    (tl.mlp_forward, (torch.zeros(2, 4), _bad_b2), {}, ValueError,
     r"params\['w2'\] and params\['b2'\] disagree on the number of classes"),
    (tl.cross_entropy, (torch.zeros(2, 3), torch.zeros(2, 4)), {}, ValueError, "logits"),
    (tl.cross_entropy, ([[0.0]], torch.zeros(1, 1)), {}, TypeError, "logits"),
    (tl.mlp_backward, (torch.zeros(2, 3), {"x": torch.zeros(2, 4), "a1": torch.zeros(2, 5)}, torch.zeros(2, 3),
                       _bad_b2), {}, ValueError, r"params\['b2'\]"),
    (tl.mlp_backward, (torch.zeros(2, 3), {"x": torch.zeros(2, 4), "a1": torch.zeros(2, 5)}, torch.zeros(3, 3),
                       _params()), {}, ValueError, "y"),
    (tl.sgd_step, (_params(), _params(), 0.0), {}, ValueError, "lr"),
    (tl.sgd_step, (_params(), None, 0.1), {}, TypeError, "params"),
    (tl.train, (torch.zeros(2, 3), torch.zeros(2, 3), _params(), 0.1, 5), {}, ValueError, "x"),
    (tl.train, (torch.zeros(2, 4), torch.zeros(2, 3), _params(), 0.1, 0), {}, ValueError, "steps"),
    (tl.numerical_gradient, (None, torch.zeros(3)), {}, TypeError, "f"),
    (tl.numerical_gradient, (lambda w: 0.0, torch.zeros(3)), {"h": -1e-6}, ValueError, "h"),
    (tl.numerical_gradient, (lambda w: 0.0, [0.0]), {}, TypeError, "w"),
    (tl.train, ([[0.0] * 4] * 2, torch.zeros(2, 3), _params(), 0.1, 5), {}, TypeError, "x"),
    (tl.train, (torch.zeros(2, 4), [[0.0] * 3] * 2, _params(), 0.1, 5), {}, TypeError, "y"),
    (tl.train, (torch.zeros(2, 4), torch.zeros(2, 3), _params(), 0.0, 5), {}, ValueError, "lr"),
    (tl.mlp_backward, (torch.zeros(2, 3), {"x": torch.zeros(2, 4, 1), "a1": torch.zeros(2, 5)}, torch.zeros(2, 3),
                       _params()), {}, ValueError, "x"),
    (tl.cross_entropy, (torch.zeros(2, 3), [[0.0] * 3] * 2), {}, TypeError, "y"),
    (tl.cross_entropy, (torch.zeros(2, 3), torch.zeros(2, 4)), {}, ValueError, "y"),
    (tl.cross_entropy, (torch.zeros(2, 3, 1), torch.zeros(2, 3, 1)), {}, ValueError, "logits"),
    (tl.numerical_gradient, (lambda w: 0.0, torch.zeros(3)), {"h": 0.0}, ValueError, "h"),
    (tl.gradient_relative_error, ([1.0], torch.zeros(1)), {}, TypeError, "analytic"),
    (tl.gradient_relative_error, (torch.zeros(2), torch.zeros(3)), {}, ValueError, "analytic"),
    (tl.gradient_relative_error, (torch.zeros(2), torch.zeros(2, dtype=torch.long)), {}, TypeError, "numeric"),
    (tl.tanh_linear, (torch.zeros(2, 4), torch.zeros(3, 5), torch.zeros(5)), {}, ValueError, "x"),
    (tl.tanh_linear, (torch.zeros(2, 4), torch.zeros(4, 5), torch.zeros(4)), {}, ValueError, "b"),
    (tl.tanh_linear, (torch.zeros(4), torch.zeros(4, 5), torch.zeros(5)), {}, ValueError, "x"),
    (tl.tanh_linear, (torch.zeros(2, 4), torch.zeros(4, 5, 1), torch.zeros(5)), {}, ValueError, "w"),
    (tl.tanh_linear, (torch.zeros(2, 4), torch.zeros(4, 5), [0.0] * 5), {}, TypeError, "b"),
    (tl.evaluate, (None, torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), F.cross_entropy), {}, TypeError,
     "model"),
    (tl.evaluate, (torch.nn.Linear(4, 3), [[0.0] * 4], torch.zeros(1, dtype=torch.long), F.cross_entropy), {},
     TypeError, "x"),
    (tl.evaluate, (torch.nn.Linear(4, 3), torch.zeros(2, 4), [0, 1], F.cross_entropy), {}, TypeError, "y"),
    (tl.evaluate, (torch.nn.Linear(4, 3), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), "ce"), {},
     TypeError, "loss_fn"),
    (tl.accumulate_gradients, (torch.nn.Linear(4, 3), F.cross_entropy, torch.zeros(4, 4),
                               torch.zeros(3, dtype=torch.long), 2), {}, ValueError, "y"),
    (tl.accumulate_gradients, (torch.nn.Linear(4, 3), F.cross_entropy, torch.zeros(4, 4),
                               torch.zeros(4, dtype=torch.long), 0), {}, ValueError, "micro_batch_size"),
    (tl.accumulate_gradients, (torch.nn.Linear(4, 3), F.cross_entropy, torch.zeros(4, 4),
                               torch.zeros(4, dtype=torch.long), 2.0), {}, TypeError, "micro_batch_size"),
    (tl.accumulate_gradients, ("net", F.cross_entropy, torch.zeros(4, 4), torch.zeros(4, dtype=torch.long), 2),
     {}, TypeError, "model"),
    (tl.accumulate_gradients, (torch.nn.Linear(4, 3), None, torch.zeros(4, 4), torch.zeros(4, dtype=torch.long),
                               2), {}, TypeError, "loss_fn"),
    (tl.accumulate_gradients, (torch.nn.Linear(4, 3), F.cross_entropy, torch.zeros(4, 4, dtype=torch.long),
                               torch.zeros(4, dtype=torch.long), 2), {}, TypeError, "x"),
    (tl.train_with_early_stopping, (torch.nn.Linear(2, 1), lambda: None, lambda: 0.0, 10, 0), {}, ValueError,
     "patience"),
    (tl.train_with_early_stopping, (torch.nn.Linear(2, 1), lambda: None, lambda: 0.0, 0, 3), {}, ValueError,
     "max_epochs"),
    (tl.train_with_early_stopping, (torch.nn.Linear(2, 1), None, lambda: 0.0, 10, 3), {}, TypeError,
     "train_epoch"),
    (tl.train_with_early_stopping, (torch.nn.Linear(2, 1), lambda: None, 0.5, 10, 3), {}, TypeError, "val_loss"),
    (tl.train_with_early_stopping, ({}, lambda: None, lambda: 0.0, 10, 3), {}, TypeError, "model"),
    (tl.chance_level_loss, (torch.tensor([3.0, float("nan")]),), {}, ValueError, "class_counts"),
    (tl.chance_level_loss, (torch.tensor([5]),), {}, ValueError, "class_counts"),
    (tl.chance_level_loss, (torch.tensor([5, -1, 3]),), {}, ValueError, "class_counts"),
    (tl.chance_level_loss, (torch.tensor([0, 0]),), {}, ValueError, "class_counts"),
    (tl.chance_level_loss, (torch.tensor([[1, 2]]),), {}, ValueError, "class_counts"),
    (tl.chance_level_loss, ([1, 2],), {}, TypeError, "class_counts"),
]
