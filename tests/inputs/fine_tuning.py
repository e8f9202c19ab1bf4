import torch
from torch import nn

from snippets import fine_tuning as ft

LIN = nn.Linear(2, 2)

CASES = [
    (ft.freeze, (LIN.weight,), {}, TypeError, "module"),
    (ft.trainable_parameters, ([LIN],), {}, TypeError, "model"),
    (ft.finetune_parameters, (LIN, "head", "full"), {}, TypeError, "head"),
    (ft.finetune_parameters, (nn.Sequential(LIN), nn.Linear(2, 1), "frozen"), {}, ValueError, "mode"),
    (ft.finetune_parameters, (nn.Sequential(LIN), nn.Linear(2, 1), "partial", 0), {}, ValueError, "trainable_blocks"),
    (ft.predict, (LIN, [[1.0, 2.0]]), {}, TypeError, "x"),
    (ft.predict, (None, torch.zeros(1, 2)), {}, TypeError, "model"),
    (ft.kaiming_uniform_bound, (0,), {}, ValueError, "fan_in"),
    (ft.kaiming_uniform_bound, (9,), {"a": -1.0}, ValueError, "a"),
    (ft.conv2d_default_bound, (16, 3.0), {}, TypeError, "kernel_size"),
    (ft.conv2d_default_bound, (0, 3), {}, ValueError, "in_channels"),
    (ft.fit, (LIN, LIN.parameters(), torch.zeros(4, 2), torch.zeros(3, 2), 1, nn.functional.mse_loss), {},
     ValueError, "x"),
    (ft.fit, (LIN, LIN.parameters(), torch.zeros(4, 2), [0, 1], 1, nn.functional.mse_loss), {}, TypeError, "y"),
    (ft.fit, (LIN, LIN.parameters(), torch.zeros(4, 2), torch.zeros(4, 2), 0, nn.functional.mse_loss), {},
     ValueError, "steps"),
]

CASES += [
    (ft.finetune_parameters, ([LIN], nn.Linear(2, 1), "full"), {}, TypeError, "backbone"),
    (ft.fit, ([LIN], LIN.parameters(), torch.zeros(4, 2), torch.zeros(4, 2), 1, nn.functional.mse_loss), {},
     TypeError, "model"),
    (ft.fit, (LIN, LIN.parameters(), [[0.0, 1.0]], torch.zeros(1, 2), 1, nn.functional.mse_loss), {},
     TypeError, "x"),
    (ft.fit, (LIN, LIN.parameters(), torch.zeros(4), torch.zeros(4, 2), 1, nn.functional.mse_loss), {},
     ValueError, "x"),
    # a 1-D y with the wrong number of rows: the message must not index y.shape[1]
    (ft.fit, (LIN, LIN.parameters(), torch.zeros(4, 2), torch.zeros(3, dtype=torch.long), 1,
              nn.functional.cross_entropy), {}, ValueError, "y"),
]
