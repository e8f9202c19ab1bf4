import torch

from snippets import cross_entropy as ce

P = torch.full((2, 3), 1 / 3)
CASES = [
    (ce.entropy, (torch.tensor(0.5),), {}, ValueError, "p"),
    (ce.entropy, ([0.5, 0.5],), {}, TypeError, "p"),
    (ce.cross_entropy, (P, torch.full((2, 4), 0.25)), {}, ValueError, "q"),
    (ce.cross_entropy, (P, torch.ones(2, 3, dtype=torch.long)), {}, TypeError, "q"),
    (ce.cross_entropy, (torch.tensor(0.5), torch.tensor(0.5)), {}, ValueError, "p"),
    (ce.kl_divergence, (torch.zeros(3), P), {}, ValueError, "p"),
    (ce.kl_divergence, (P, [0.5, 0.5]), {}, TypeError, "q"),
    (ce.cross_entropy_with_logits, (torch.zeros(2, 4), P), {}, ValueError, "logits"),
    (ce.cross_entropy_with_logits, (torch.zeros(2, 3), "p"), {}, TypeError, "p"),
    (ce.cross_entropy_logit_gradient, (torch.zeros(2, 3, dtype=torch.int64), P), {}, TypeError, "logits"),
    (ce.cross_entropy_logit_gradient, (torch.zeros(2, 3), "p"), {}, TypeError, "p"),
    (ce.sigmoid_mse_gradient, (torch.zeros(3), -0.5), {}, ValueError, "y"),
    (ce.sigmoid_mse_gradient, (torch.zeros(3), 2.0), {}, ValueError, "y"),
    (ce.sigmoid_mse_gradient, ([0.0], 1.0), {}, TypeError, "z"),
    (ce.sigmoid_bce_gradient, (torch.zeros(3), -0.5), {}, ValueError, "y"),
    (ce.sigmoid_bce_gradient, (torch.zeros(3), 1.5), {}, ValueError, "y"),
    (ce.sigmoid_bce_gradient, ([0.0], 1.0), {}, TypeError, "z"),
    # w x = 40 saturates a to exactly 1.0, so a y that slipped past the first check would reach log(1 - a) = log 0
    (ce.train_sigmoid_neuron, (40.0, 0.0, 1.0, -0.5, 0.1, 10), {}, ValueError, "y"),
    (ce.train_sigmoid_neuron, (40.0, 0.0, 1.0, 1.5, 0.1, 10), {}, ValueError, "y"),
    (ce.train_sigmoid_neuron, (2.0, 2.0, 1.0, 0.0, 0.0, 10), {}, ValueError, "lr"),
    (ce.train_sigmoid_neuron, (2.0, "2", 1.0, 0.0, 0.1, 10), {}, TypeError, "b"),
    (ce.train_sigmoid_neuron, (2.0, 2.0, "1", 0.0, 0.1, 10), {}, TypeError, "x"),
    (ce.train_sigmoid_neuron, (2.0, 2.0, 1.0, 0.0, 0.15, 10), {"loss": "hinge"}, ValueError, "loss"),
    (ce.train_sigmoid_neuron, (2.0, 2.0, 1.0, 0.0, -0.1, 10), {}, ValueError, "lr"),
    (ce.train_sigmoid_neuron, (2.0, 2.0, 1.0, 0.0, 0.1, 0), {}, ValueError, "steps"),
    (ce.train_sigmoid_neuron, ("2", 2.0, 1.0, 0.0, 0.1, 10), {}, TypeError, "w"),
]
