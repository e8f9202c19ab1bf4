import torch

from snippets import attention as at

_X = torch.zeros(2, 3, 4)
_W = torch.zeros(12, 4)
_IDENTITY = lambda z: z

CASES = [
    (at.attention_scores, ([[1.0]], torch.zeros(3, 4)), {}, TypeError, "q"),
    (at.attention_scores, (torch.zeros(3, 4), torch.zeros(3, 5)), {}, ValueError, "k"),
    (at.attention_scores, (torch.zeros(4), torch.zeros(3, 4)), {}, ValueError, "q"),
    (at.attention_scores, (torch.zeros(3, 4), torch.zeros(4)), {}, ValueError, "k"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3)), {}, ValueError, "v"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4)),
     {"mask": [[True] * 3] * 3}, TypeError, "mask"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4, dtype=torch.long)),
     {}, TypeError, "v"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(5, 4)), {}, ValueError, "v"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4)),
     {"mask": torch.ones(3, 3)}, TypeError, "mask"),
    (at.scaled_dot_product_attention, (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4)),
     {"mask": torch.ones(3, 3, dtype=torch.int64)}, TypeError, "mask"),
    (at.causal_mask, (0,), {}, ValueError, "n"),
    (at.causal_mask, (3.0,), {}, TypeError, "n"),
    (at.padding_mask, (torch.tensor([2.0, 3.0]), 4), {}, TypeError, "lengths"),
    (at.padding_mask, (torch.tensor([2, 5]), 4), {}, ValueError, "lengths"),
    (at.padding_mask, (torch.tensor([[2]]), 4), {}, ValueError, "lengths"),
    (at.padding_mask, (torch.tensor([2]), 0), {}, ValueError, "n"),
    (at.multi_head_attention, (torch.zeros(3, 4), _W, None, torch.zeros(4, 4), None, 2), {}, ValueError, "x"),
    (at.multi_head_attention, (_X, _W, None, torch.zeros(4, 4), None, 3), {}, ValueError, "num_heads"),
    (at.multi_head_attention, (_X, _W, None, torch.zeros(4, 4), None, 0), {}, ValueError, "num_heads"),
    (at.multi_head_attention, (_X, torch.zeros(4, 4), None, torch.zeros(4, 4), None, 2), {}, ValueError, "w_in"),
    (at.multi_head_attention, (_X, [[0.0] * 4] * 12, None, torch.zeros(4, 4), None, 2), {}, TypeError, "w_in"),
    (at.mha_parameter_count, (512, 0), {}, ValueError, "num_heads"),
    (at.mha_parameter_count, (512, 3), {}, ValueError, "num_heads"),
    (at.mha_parameter_count, (0, 1), {}, ValueError, "d_model"),
    (at.mha_parameter_count, (512.0, 8), {}, TypeError, "d_model"),
    (at.attention_cost, (0, 64), {}, ValueError, "n"),
    (at.attention_cost, (16, 64.0), {}, TypeError, "d_k"),
    (at.attention_cost, (16, 64, 0), {}, ValueError, "d_v"),
    (at.sinusoidal_positional_encoding, (10, 5), {}, ValueError, "d_model"),
    (at.sinusoidal_positional_encoding, (10, 0), {}, ValueError, "d_model"),
    (at.sinusoidal_positional_encoding, (0, 4), {}, ValueError, "n_positions"),
    (at.positional_shift_matrix, (1.5, 4), {}, TypeError, "k"),
    (at.positional_shift_matrix, (1, 3), {}, ValueError, "d_model"),
    (at.layer_norm, (torch.zeros(3, 4, dtype=torch.long),), {}, TypeError, "x"),
    (at.layer_norm, (torch.tensor(1.0),), {}, ValueError, "x"),
    (at.post_norm_block, (torch.zeros(4), _IDENTITY, _IDENTITY), {}, ValueError, "x"),
    (at.post_norm_block, (_X, None, _IDENTITY), {}, TypeError, "sublayer"),
    (at.pre_norm_block, (_X, _IDENTITY, 1.0), {}, TypeError, "norm"),
    (at.pre_norm_block, ([1.0], _IDENTITY, _IDENTITY), {}, TypeError, "x"),
]
