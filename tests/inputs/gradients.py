import torch

from snippets import gradients as gr

W = [torch.eye(3)]

CASES = [
    (gr.deep_stack, (torch.zeros(3), W, "relu"), {}, ValueError, "x"),
    (gr.deep_stack, (torch.zeros(2, 3), [torch.eye(4)], "relu"), {}, ValueError, r"weights\[0\]"),
    (gr.deep_stack, (torch.zeros(2, 3), [], "relu"), {}, TypeError, "weights"),
    (gr.deep_stack, (torch.zeros(2, 3), W, "softplus"), {}, ValueError, "activation"),
    (gr.per_layer_grad_norms, (torch.zeros(2, 3), torch.zeros(2, 4), W, "relu"), {}, ValueError, "target"),
    (gr.per_layer_grad_norms, (torch.zeros(2, 3), [0.0], W, "relu"), {}, TypeError, "target"),
    (gr.sigmoid_layer_jacobian, (torch.zeros(3), torch.zeros(2, 4)), {}, ValueError, "w"),
    (gr.sigmoid_layer_jacobian, (torch.zeros(1, 3), torch.zeros(2, 3)), {}, ValueError, "h"),
    (gr.backprop_through_jacobians, (torch.zeros(3), W, torch.zeros(3, 1)), {}, ValueError, "grad_out"),
    (gr.backprop_through_jacobians, (torch.zeros(3), (torch.eye(2),), torch.zeros(3)), {}, ValueError, r"weights\[0\]"),
    (gr.rnn_final_state, (torch.zeros(3), torch.eye(3), 0), {}, ValueError, "steps"),
    (gr.rnn_final_state, (torch.zeros(3), torch.eye(2), 4), {}, ValueError, "w"),
    (gr.rnn_final_state, (torch.zeros(3), torch.eye(3), 4, "gelu"), {}, ValueError, "activation"),
    (gr.clip_by_global_norm, ([torch.zeros(3)], 0.0), {}, ValueError, "max_norm"),
    (gr.clip_by_global_norm, (torch.zeros(3), 1.0), {}, TypeError, "grads"),
    (gr.clip_by_global_norm, ([torch.zeros(3), [1.0]], 1.0), {}, TypeError, r"grads\[1\]"),
    (gr.clip_by_value, ([torch.zeros(3)], -1.0), {}, ValueError, "clip_value"),
    (gr.clip_by_value, ([], 1.0), {}, TypeError, "grads"),
    (gr.gaussian_matrices, (0, 3, torch.Generator()), {}, ValueError, "n"),
    (gr.gaussian_matrices, (4, 2.5, torch.Generator()), {}, TypeError, "count"),
    (gr.orthogonal_matrices, (4, 0, torch.Generator()), {}, ValueError, "count"),
    (gr.product_singular_values, ([torch.eye(3), torch.eye(4)],), {}, ValueError, r"mats\[1\]"),
    (gr.product_singular_values, ([],), {}, TypeError, "mats"),
    (gr.effective_rank, (torch.tensor([1.0, -1.0]),), {}, ValueError, "s"),
    (gr.effective_rank, (torch.eye(2),), {}, ValueError, "s"),
]
