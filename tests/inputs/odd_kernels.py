import torch

from snippets import odd_kernels as ok

CASES = [
    (ok.conv_output_size, (9, 0), {}, ValueError, "kernel"),
    (ok.conv_output_size, (9, 3), {"padding": -1}, ValueError, "padding"),
    (ok.conv_output_size, (2, 5), {}, ValueError, "size"),
    (ok.conv_output_size, (0, 3), {}, ValueError, "size"),
    (ok.conv_output_size, (2, 5), {"padding": 1}, ValueError, "padding"),
    (ok.conv_output_size, (9, 3), {"padding": 1.5}, ValueError, "padding"),
    (ok.conv_output_size, (9, 3), {"stride": 1.5}, TypeError, "stride"),
    (ok.same_padding, (0,), {}, ValueError, "kernel"),
    (ok.conv1d_same, (torch.zeros(2, 5), torch.zeros(3)), {}, ValueError, "x"),
    (ok.conv1d_same, (torch.zeros(5), torch.zeros(3, dtype=torch.float64)), {}, TypeError, "weight"),
    (ok.conv1d_same, (torch.zeros(5), [1.0]), {}, TypeError, "weight"),
    (ok.conv1d_same, (torch.zeros(5), torch.zeros(1, 3)), {}, ValueError, "weight"),
    (ok.kernel_centre, (3.0,), {}, TypeError, "kernel"),
    (ok.conv_stack_cost, (0, 2, 64), {}, ValueError, "kernel"),
    (ok.conv_stack_cost, (3, 0, 64), {}, ValueError, "layers"),
    (ok.conv_stack_cost, (3, 2, None), {}, TypeError, "channels"),
]
