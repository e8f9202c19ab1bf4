import torch

from snippets import mixed_precision as mp

_model = torch.nn.Linear(3, 1)
_opt = torch.optim.SGD(_model.parameters(), lr=0.1)
_scaler = torch.amp.GradScaler("cpu")
_x, _y = torch.zeros(2, 3), torch.zeros(2, 1)
_loss = torch.zeros((), requires_grad=True)
_step = (_model, _opt, _scaler, torch.nn.functional.mse_loss, _x, _y)

CASES = [
    (mp.float_format_limits, (5.0, 10), {}, TypeError, "exponent_bits"),
    (mp.float_format_limits, (1, 10), {}, ValueError, "exponent_bits"),
    (mp.float_format_limits, (12, 10), {}, ValueError, "exponent_bits"),
    (mp.float_format_limits, (5, 0), {}, ValueError, "mantissa_bits"),
    (mp.float_format_limits, (5, 53), {}, ValueError, "mantissa_bits"),
    (mp.scaled_gradients, (torch.zeros(2, requires_grad=True), [_loss], 2.0), {}, ValueError, "loss"),
    (mp.scaled_gradients, (1.0, [_loss], 2.0), {}, TypeError, "loss"),
    (mp.scaled_gradients, (_loss, [], 2.0), {}, TypeError, "inputs"),
    (mp.scaled_gradients, (_loss, [1.0], 2.0), {}, TypeError, "inputs"),
    (mp.scaled_gradients, (_loss, [_loss], 0.0), {}, ValueError, "scale"),
    (mp.scaled_gradients, (_loss, (1.0,), 2.0), {}, TypeError,
     r"inputs must be a tensor or a non-empty list of tensors, got tuple"),
    (mp.scaled_gradients, (_loss, [_loss], "2"), {}, TypeError, "scale"),
    (mp.update_loss_scale, (-1.0, 0, False), {}, ValueError, "scale"),
    (mp.update_loss_scale, (1.0, -1, False), {}, ValueError, "good_steps"),
    (mp.update_loss_scale, (1.0, 2000, False), {}, ValueError, "good_steps"),
    (mp.update_loss_scale, (1.0, 0, 1), {}, TypeError, r"found_inf must be a bool, got int"),
    (mp.update_loss_scale, (0.0, 0, False), {}, ValueError, r"scale must be > 0, got 0\.0"),
    (mp.update_loss_scale, (1.0, 1.5, False), {}, ValueError, "good_steps"),
    (mp.update_loss_scale, (1.0, True, False), {}, ValueError, "good_steps"),
    (mp.update_loss_scale, (1.0, 0, False), {"growth_factor": 1.0}, ValueError, "growth_factor"),
    (mp.update_loss_scale, (1.0, 0, False), {"backoff_factor": 1.0}, ValueError, "backoff_factor"),
    (mp.update_loss_scale, (1.0, 0, False), {"backoff_factor": 0.0}, ValueError, "backoff_factor"),
    (mp.update_loss_scale, (1.0, 0, False), {"backoff_factor": 1.5}, ValueError, "backoff_factor"),
    (mp.update_loss_scale, (1.0, 0, False), {"growth_interval": 0}, ValueError, "growth_interval"),
    (mp.amp_training_step, (None,) + _step[1:], {}, TypeError, "model"),
    (mp.amp_training_step, (_model, None) + _step[2:], {}, TypeError, "optimizer"),
    (mp.amp_training_step, _step[:2] + (None,) + _step[3:], {}, TypeError, "scaler"),
    (mp.amp_training_step, ("net",) + _step[1:], {}, TypeError, r"model must be a torch\.nn\.Module, got str"),
    (mp.amp_training_step, (_model, "sgd") + _step[2:], {}, TypeError,
     r"optimizer must be a torch\.optim\.Optimizer, got str"),
    (mp.amp_training_step, _step[:2] + ("amp",) + _step[3:], {}, TypeError,
     r"scaler must be a torch\.amp\.GradScaler, got str"),
    (mp.amp_training_step, _step[:4] + (torch.zeros(2, 3, dtype=torch.long), _y), {}, TypeError, "x"),
    (mp.amp_training_step, _step[:4] + (torch.zeros(()), _y), {}, ValueError, "x"),  # 0-D
    (mp.amp_training_step, _step, {"dtype": torch.float32}, ValueError, "dtype"),
    (mp.amp_training_step, _step, {"max_norm": 0.0}, ValueError, "max_norm"),
    (mp.apply_updates, (torch.ones(3, dtype=torch.int32), []), {}, TypeError, "weight"),
    (mp.apply_updates, (torch.ones(3), torch.zeros(3)), {}, TypeError, r"updates must be a list of tensors, got Tensor"),
    (mp.apply_updates, (torch.ones(3), [torch.zeros(4)]), {}, ValueError, r"updates\[0\]"),
    (mp.apply_updates, (torch.ones(3), [torch.zeros(3, dtype=torch.long)]), {}, TypeError, r"updates\[0\]"),
    (mp.apply_updates, (torch.ones(3), []), {"master_dtype": torch.int32}, TypeError, "master_dtype"),
]
