import torch

from snippets import pooling as pl

CASES = [
    (pl.pool_output_size, (0, 2, 2), {}, ValueError, "size"),
    (pl.pool_output_size, (32, 2, 2), {"padding": 2}, ValueError, "padding"),
    (pl.pool_output_size, (1, 3, 1), {}, ValueError, "size"),
    (pl.pool_output_size, (32, 2.0, 2), {}, TypeError, "kernel"),
    (pl.max_pool2d, (torch.zeros(1, 1, 4), 2), {}, ValueError, "x"),
    (pl.max_pool2d, (torch.zeros(1, 1, 5, 4), 2), {}, ValueError, "kernel"),
    (pl.avg_pool2d, (torch.zeros(1, 1, 4, 4, dtype=torch.long), 2), {}, TypeError, "x"),
    (pl.avg_pool2d, (torch.zeros(1, 1, 4, 4), 0), {}, ValueError, "kernel"),
    (pl.global_avg_pool, (torch.zeros(2, 3),), {}, ValueError, "x"),
    (pl.fc_head_params, (512, 7, 0, 1000), {}, ValueError, "width"),
    (pl.gap_head_params, (512, "1000"), {}, TypeError, "classes"),
    (pl.receptive_field, ([],), {}, ValueError, "layers"),
    (pl.receptive_field, ([(3, 1), (0, 2)],), {}, ValueError, r"layers\[1\]"),
    (pl.pool_output_size, (32, 2, 0), {}, ValueError, "stride"),
    (pl.pool_output_size, (32, 2, 2), {"padding": True}, ValueError, "padding"),
    (pl.pool_output_size, (1, 4, 1), {"padding": 1}, ValueError, "size"),
    (pl.fc_head_params, (0, 7, 7, 1000), {}, ValueError, "channels"),
    (pl.fc_head_params, (512, 0, 7, 1000), {}, ValueError, "height"),
    (pl.fc_head_params, (512, 7, 7, 0), {}, ValueError, "classes"),
    (pl.gap_head_params, (0, 1000), {}, ValueError, "channels"),
]
