import torch

from snippets import activations as act

CASES = [
    (act.sigmoid, ([0.0, 1.0],), {}, TypeError, "x"),
    (act.sigmoid, (torch.tensor([0, 1]),), {}, TypeError, "x"),
    (act.sigmoid_derivative, ("0",), {}, TypeError, "x"),
    (act.tanh, (None,), {}, TypeError, "x"),
    (act.tanh_derivative, (torch.tensor([True]),), {}, TypeError, "x"),
    (act.relu, (1.0,), {}, TypeError, "x"),
    (act.relu_derivative, (torch.arange(3),), {}, TypeError, "x"),
    (act.leaky_relu, (torch.zeros(3), 1.5), {}, ValueError, "negative_slope"),
    (act.leaky_relu, (torch.zeros(3),), {"negative_slope": "0.1"}, TypeError, "negative_slope"),
    (act.leaky_relu_derivative, (torch.zeros(3), 0.0), {}, ValueError, "negative_slope"),
    (act.leaky_relu, ([0.0, 1.0],), {}, TypeError, "x"),
    (act.leaky_relu, (torch.zeros(3), 0.0), {}, ValueError, "negative_slope"),
    (act.leaky_relu_derivative, ([0.0, 1.0],), {}, TypeError, "x"),
    (act.leaky_relu_derivative, (torch.zeros(3), 1.5), {}, ValueError, "negative_slope"),
    (act.sigmoid_chain, ([0.0, 1.0], 2), {}, TypeError, "x"),
    (act.sigmoid_chain, (torch.zeros(3), 0), {}, ValueError, "depth"),
    (act.sigmoid_chain, (torch.zeros(3), 2.0), {}, TypeError, "depth"),
    (act.relu_stack, (torch.zeros(3), []), {}, ValueError, "x"),
    (act.relu_stack, (torch.zeros(2, 3), [torch.zeros(4, 5)]), {}, ValueError, r"weights\[0\]"),
    (act.relu_stack, (torch.zeros(2, 3), [torch.zeros(3)]), {}, ValueError, r"weights\[0\]"),
]
