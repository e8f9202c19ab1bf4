import torch
from torch import nn

from snippets import convolution as cv

_x = torch.zeros(1, 2, 5, 5)
_w = torch.zeros(3, 2, 3, 3)

CASES = [
    (cv.circular_conv2d, (torch.zeros(2, 5, 5), _w), {}, ValueError, "x"),
    (cv.circular_conv2d, (_x, torch.zeros(3, 2, 2, 2)), {}, ValueError, "weight"),
    (cv.conv_output_size, (0, 3), {}, ValueError, "size"),
    (cv.conv_output_size, (8, 3), {"padding": -1}, ValueError, "padding"),
    (cv.conv_output_size, (8, 3), {"dilation": 1.5}, TypeError, "dilation"),
    (cv.conv_output_size, (4, 3), {"dilation": 2}, ValueError, "size"),
    (cv.conv_params, (3, 64, 3), {"groups": 2}, ValueError, "groups"),
    (cv.conv_params, (3, "64", 3), {}, TypeError, "c_out"),
    (cv.conv_macs, (3, 64, 3, 0, 7), {}, ValueError, "out_h"),
    (cv.conv_macs, (3, 64, 0, 7, 7), {}, ValueError, "kernel"),
    (cv.receptive_field, ([],), {}, ValueError, "layers"),
    (cv.receptive_field, ([(3, 1, 1), (3, 2)],), {}, ValueError, r"layers\[1\]"),
    (cv.receptive_field, ([(3, 0, 1)],), {}, ValueError, r"layers\[0\] stride"),
    (cv.conv1x1_as_linear, (_x, nn.Conv2d(2, 3, 1)), {}, TypeError, "linear"),
    (cv.conv1x1_as_linear, (torch.zeros(2, 5), nn.Linear(2, 3)), {}, ValueError, "x"),
    (cv.fc_as_conv, (nn.Linear(12, 4), 3, 2, 3), {}, ValueError, "linear.in_features"),
    (cv.fc_as_conv, (nn.Conv2d(2, 3, 1), 3, 2, 2), {}, TypeError, "linear"),
    (cv.fc_as_conv, (nn.Linear(12, 4), 3, 0, 4), {}, ValueError, "height"),
    (cv.avg_pool_as_conv, (0, 2), {}, ValueError, "channels"),
    (cv.avg_pool_as_conv, (3, 2.0), {}, TypeError, "kernel"),
    (cv.grouped_conv2d, (_x, torch.zeros(3, 1, 3, 3), 2), {}, ValueError, "groups"),
    (cv.grouped_conv2d, (_x, _w.long(), 1), {}, TypeError, "weight"),
    (cv.separable_conv, (3, 0, 3), {}, ValueError, "c_out"),
    (cv.separable_cost_ratio, (64, True), {}, TypeError, "kernel"),
    (cv.separable_cost_ratio, (0, 3), {}, ValueError, "c_out"),
    (cv.dilated_support, (3, ()), {}, ValueError, "dilations"),
    (cv.dilated_support, (3, (1, 0)), {}, ValueError, r"dilations\[1\]"),
    (cv.conv_transpose_output_size, (4, 3), {"stride": 2, "output_padding": 2}, ValueError, "output_padding"),
    (cv.conv_transpose_output_size, (1, 1), {"padding": 1}, ValueError, "padding"),
    (cv.conv_transpose_output_size, (4, 3), {"padding": -1}, ValueError, "padding"),
    (cv.transposed_overlap, (8, 3, 0), {}, ValueError, "stride"),
    (cv.conv2d_backward, (_x, _w, torch.zeros(1, 3, 4, 4)), {}, ValueError, "grad_out"),
    (cv.conv2d_backward, (_x, torch.zeros(3, 1, 3, 3), torch.zeros(1, 3, 3, 3)), {}, ValueError, "weight"),
    (cv.conv2d_backward, (_x, _w, torch.zeros(1, 3, 3, 3)), {"stride": 0}, ValueError, "stride"),
    (cv.vgg_conv_params, ([],), {}, ValueError, "config"),
    (cv.vgg_conv_params, ([64, "M", 0],), {}, ValueError, r"config\[2\]"),
]
