import torch

from snippets import training_loop as tl


def _params(d=4, h=5, k=3):
    return {"w1": torch.zeros(d, h), "b1": torch.zeros(h), "w2": torch.zeros(h, k), "b2": torch.zeros(k)}


_bad_b2 = {**_params(), "b2": torch.zeros(4)}
_int_w1 = {**_params(), "w1": torch.zeros(4, 5, dtype=torch.long)}

CASES = [
    (tl.mlp_forward, (torch.zeros(4), _params()), {}, ValueError, "x"),
    (tl.mlp_forward, (torch.zeros(2, 4), {"w1": torch.zeros(4, 5)}), {}, TypeError, "params"),
    (tl.mlp_forward, (torch.zeros(2, 4), _int_w1), {}, TypeError, r"params\['w1'\]"),
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
]
