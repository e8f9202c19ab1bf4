import torch

from snippets import softmax as sm

CASES = [
    (sm.softmax_naive, ([1.0, 2.0],), {}, TypeError, "z"),
    (sm.softmax_naive, (torch.tensor(1.0),), {}, ValueError, "z"),
    (sm.softmax, (torch.tensor([1, 2]),), {}, TypeError, "z"),
    (sm.softmax, (torch.tensor(1.0),), {}, ValueError, "z"),
    (sm.log_softmax, (torch.tensor(1.0),), {}, ValueError, "z"),
    (sm.softmax_jacobian, (torch.zeros(2, 3),), {}, ValueError, "p"),
    (sm.cross_entropy, (torch.zeros(4), torch.zeros(4, dtype=torch.long)), {}, ValueError, "logits"),
    (sm.cross_entropy, (torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)), {}, ValueError, "target"),
    (sm.cross_entropy, (torch.zeros(4, 3), torch.zeros(4)), {}, TypeError, "target"),
    (sm.cross_entropy_grad, (torch.zeros(4, 3), torch.zeros(4, dtype=torch.int32)), {}, TypeError, "target"),
    (sm.cross_entropy_grad, (torch.zeros(4), torch.zeros(4, dtype=torch.long)), {}, ValueError, "logits"),
    (sm.cross_entropy_grad, (torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long)), {}, ValueError, "target"),
]
