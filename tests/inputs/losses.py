import torch

from snippets import losses as ls

V = torch.zeros(4)
M = torch.zeros(4, 3)
C = torch.zeros(4, dtype=torch.long)
CASES = [
    (ls.gaussian_nll, (V, torch.zeros(5), 1.0), {}, ValueError, "mu"),
    (ls.gaussian_nll, (V, [0.0] * 4, 1.0), {}, TypeError, "y"),
    (ls.gaussian_nll, (V, V, 0.0), {}, ValueError, "sigma"),
    (ls.gaussian_nll, (torch.zeros(4, dtype=torch.long), V, 1.0), {}, TypeError, "mu"),
    (ls.laplace_nll, (V, V, -1.0), {}, ValueError, "b"),
    (ls.laplace_nll, (V, torch.zeros(3), 1.0), {}, ValueError, "mu"),
    (ls.laplace_nll, ("mu", V, 1.0), {}, TypeError, "mu"),
    (ls.bernoulli_nll, (V, torch.full((4,), 1.5)), {}, ValueError, "y"),
    (ls.bernoulli_nll, (V, torch.zeros(5)), {}, ValueError, "logits"),
    (ls.bernoulli_nll, (V, torch.zeros(4, dtype=torch.long)), {}, TypeError, "y"),
    (ls.huber_loss, (V, 0.0), {}, ValueError, "delta"),
    (ls.huber_loss, ([1.0], 1.0), {}, TypeError, "residual"),
    (ls.huber_loss, (V, "1"), {}, TypeError, "delta"),
    (ls.zero_one_loss, ([1.0],), {}, TypeError, "margin"),
    (ls.hinge_loss, (torch.zeros(3, dtype=torch.long),), {}, TypeError, "margin"),
    (ls.logistic_loss, ("m",), {}, TypeError, "margin"),
    (ls.multiclass_hinge, (V, C), {}, ValueError, "scores"),
    (ls.multiclass_hinge, (M, torch.zeros(3, dtype=torch.long)), {}, ValueError, "target"),
    (ls.multiclass_hinge, (M, torch.full((4,), 3)), {}, ValueError, "target"),
    (ls.multiclass_hinge, (M, C), {"margin": -1.0}, ValueError, "margin"),
    (ls.sigmoid_focal_loss, (V, torch.full((4,), -0.5)), {}, ValueError, "y"),
    (ls.sigmoid_focal_loss, (V, V), {"gamma": -1.0}, ValueError, "gamma"),
    (ls.sigmoid_focal_loss, (V, V), {"alpha": 1.5}, ValueError, "alpha"),
    (ls.sigmoid_focal_loss, (V, torch.zeros(3)), {}, ValueError, "logits"),
    (ls.softmax_focal_loss, (M, C), {"alpha": torch.ones(2)}, ValueError, "alpha"),
    (ls.softmax_focal_loss, (M, C), {"alpha": [1.0, 1.0, 1.0]}, TypeError, "alpha"),
    (ls.softmax_focal_loss, (M, C.float()), {}, TypeError, "target"),
    (ls.softmax_focal_loss, (M, C), {"gamma": "2"}, TypeError, "gamma"),
    (ls.label_smoothed_cross_entropy, (M, C, 1.5), {}, ValueError, "eps"),
    (ls.label_smoothed_cross_entropy, (V, C, 0.1), {}, ValueError, "logits"),
    (ls.label_smoothed_cross_entropy, (M, torch.full((4,), -1), 0.1), {}, ValueError, "target"),
    (ls.smoothed_optimal_logit_gap, (1, 0.1), {}, ValueError, "num_classes"),
    (ls.smoothed_optimal_logit_gap, (10.0, 0.1), {}, TypeError, "num_classes"),
    (ls.smoothed_optimal_logit_gap, (10, -0.1), {}, ValueError, "eps"),
    (ls.distillation_loss, (M, torch.zeros(4, 2), 2.0), {}, ValueError, "student_logits"),
    (ls.distillation_loss, (M, M, 0.0), {}, ValueError, "temperature"),
    (ls.distillation_loss, (V, V, 2.0), {}, ValueError, "student_logits"),
    (ls.distillation_loss, (M, M.long(), 2.0), {}, TypeError, "teacher_logits"),
]
