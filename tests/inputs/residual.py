import torch
from torch import nn

from snippets import residual as rs

_NET = rs.residual_mlp(2, 4, 2)

CASES = [
    (rs.PreActBlock, (0,), {}, ValueError, "width"),
    (rs.PostActBlock, (2.0,), {}, TypeError, "width"),
    (rs.residual_mlp, (2, 4, 0), {}, ValueError, "blocks"),
    (rs.residual_mlp, (2, 4, 3), {"d_out": 0}, ValueError, "d_out"),
    (rs.residual_mlp, ("2", 4, 3), {}, TypeError, "d_in"),
    (rs.train_regressor, (_NET, torch.zeros(5, 2), torch.zeros(4, 1), 3), {}, ValueError, "x"),
    (rs.train_regressor, (_NET, torch.zeros(5, 2), torch.zeros(5), 3), {}, ValueError, "y"),
    (rs.train_regressor, (_NET, torch.zeros(5, 2), torch.zeros(5, 1), 0), {}, ValueError, "steps"),
    (rs.train_regressor, (_NET, torch.zeros(5, 2), torch.zeros(5, 1), 3), {"lr": 0.0}, ValueError, "lr"),
    (rs.block_grad_norms, (_NET, torch.zeros(5), torch.zeros(5, 1)), {}, ValueError, "x"),
    (rs.block_grad_norms, (nn.Sequential(nn.Linear(2, 1)), torch.zeros(5, 2), torch.zeros(5, 1)), {}, ValueError,
     "net"),
    (rs.without_block, (nn.Linear(2, 2), 1), {}, TypeError, "net"),
    (rs.without_block, (_NET, 0), {}, ValueError, "index"),
    (rs.without_block, (_NET, 3), {}, ValueError, "index"),
    (rs.conv_bn, (4, 8, 3), {"stride": 0}, ValueError, "stride"),
    (rs.basic_branch, (0, 8), {}, ValueError, "c_in"),
    (rs.bottleneck_branch, (256, 0), {}, ValueError, "width"),
    (rs.conv_cost, (4, 8, 3, 0, 5), {}, ValueError, "out_h"),
    (rs.conv_cost, (4, 8, 3.0, 5, 5), {}, TypeError, "kernel"),
    (rs.ZeroPadShortcut, (8, 4, 2), {}, ValueError, "c_out"),
    (rs.shortcut, (4, 8, 2), {"option": "D"}, ValueError, "option"),
    (rs.shortcut, (4, 8, 0), {}, ValueError, "stride"),
    (rs.ConvBlock, (lambda x: x, nn.Identity()), {}, TypeError, "branch"),
    (rs.ConvBlock, (nn.Identity(), None), {}, TypeError, "short"),
    (rs.zero_init_last_bn_, (nn.Identity(),), {}, TypeError, "block"),
    (rs.linear_residual_stack, (torch.zeros(3), [torch.zeros(4, 4)]), {}, ValueError, r"mats\[0\]"),
    (rs.linear_residual_stack, ([0.0, 1.0], [torch.zeros(2, 2)]), {}, TypeError, "x"),
    (rs.unrolled_paths, ([],), {}, TypeError, "mats"),
    (rs.unrolled_paths, ([torch.zeros(2, 2), torch.zeros(3, 3)],), {}, ValueError, r"mats\[1\]"),
    (rs.path_length_distribution, (0,), {}, ValueError, "n"),
    (rs.path_length_distribution, (3.0,), {}, TypeError, "n"),
]

CASES += [
    (rs.train_regressor, (_NET, [[0.0, 1.0]], torch.zeros(1, 1), 3), {}, TypeError, "x"),
    (rs.train_regressor, (_NET, torch.zeros(5, 2, 1), torch.zeros(5, 1), 3), {}, ValueError, "x"),
    (rs.block_grad_norms, (_NET, torch.zeros(5, 2), [[0.0]] * 5), {}, TypeError, "y"),
    (rs.block_grad_norms, (_NET, torch.zeros(5, 2), torch.zeros(5)), {}, ValueError, "y"),
    (rs.without_block, (_NET, len(_NET)), {}, ValueError, "index"),
    (rs.conv_bn, (4, 0, 3), {}, ValueError, "c_out"),
    (rs.conv_bn, (4, 8, 0), {}, ValueError, "kernel"),
    (rs.conv_cost, (0, 8, 3, 5, 5), {}, ValueError, "c_in"),
    (rs.conv_cost, (4, 0, 3, 5, 5), {}, ValueError, "c_out"),
    (rs.conv_cost, (4, 8, 3, 5, 0), {}, ValueError, "out_w"),
    # width is checked before blocks: with both bad, the error names width (every block re-checks it otherwise)
    (rs.residual_mlp, (2, 0, 0), {}, ValueError, "width"),
    # option A with equal sizes never reaches conv_bn, so only shortcut's own checks can reject these
    (rs.shortcut, (4.0, 4, 1, "A"), {}, TypeError, "c_in"),
    (rs.shortcut, (4, 4.0, 1, "A"), {}, TypeError, "c_out"),
    (rs.ZeroPadShortcut, (4, 8, 0), {}, ValueError, "stride"),
]
