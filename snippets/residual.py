"""Residual connections: blocks, shortcuts, the identity path and the unrolled view (He et al. 2015, 2016)."""
import torch
from torch import nn

from snippets._validate import check_number, check_positive_int, check_tensor


# --8<-- [start:mlp-blocks]
class PreActBlock(nn.Module):
    """x + F(x) with F = Linear(ReLU(BN(Linear(ReLU(BN(x)))))): nothing after the sum (He et al. 2016b, Fig. 1b)."""

    def __init__(self, width, residual=True):
        super().__init__()
        check_positive_int(width, "width")
        self.branch = nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width, bias=False),
                                    nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width, bias=False))
        self.residual = residual  # False gives the plain twin: the same layers without the shortcut

    def forward(self, x):
        return x + self.branch(x) if self.residual else self.branch(x)


class PostActBlock(nn.Module):
    """ReLU(x + F(x)) with F = BN(Linear(ReLU(BN(Linear(x))))): the original block (He et al. 2015, Fig. 2)."""

    def __init__(self, width):
        super().__init__()
        check_positive_int(width, "width")
        self.branch = nn.Sequential(nn.Linear(width, width, bias=False), nn.BatchNorm1d(width), nn.ReLU(),
                                    nn.Linear(width, width, bias=False), nn.BatchNorm1d(width))

    def forward(self, x):
        return torch.relu(x + self.branch(x))  # the ReLU after the sum sits on the identity path


def residual_mlp(d_in, width, blocks, d_out=1, residual=True):
    """Linear stem, `blocks` pre-activation blocks (2 layers each), BN-ReLU, linear head."""
    for value, name in ((d_in, "d_in"), (width, "width"), (blocks, "blocks"), (d_out, "d_out")):
        check_positive_int(value, name)
    body = [PreActBlock(width, residual) for _ in range(blocks)]
    return nn.Sequential(nn.Linear(d_in, width), *body, nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, d_out))
# --8<-- [end:mlp-blocks]


# --8<-- [start:training]
def train_regressor(net, x, y, steps, lr=1e-2):
    """Full-batch Adam on the mean squared error; returns the training loss before each step and after the last."""
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    check_positive_int(steps, "steps")
    check_number(lr, "lr", low=0, low_open=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    losses = []
    for _ in range(steps):
        loss = (net(x) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        losses.append((net(x) - y).pow(2).mean().item())
    return losses


def block_grad_norms(net, x, y):
    """||dL/dW|| of the first linear layer of every block: where the gradient is large or small."""
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=2)
    blocks = [m for m in net if isinstance(m, PreActBlock)]
    if not blocks:
        raise ValueError("net must contain PreActBlock modules")
    weights = [b.branch[2].weight for b in blocks]
    grads = torch.autograd.grad((net(x) - y).pow(2).mean(), weights)
    return [g.norm().item() for g in grads]


def without_block(net, index):
    """The same trained modules with block `index` (1-based, as in the Sequential) deleted (Veit et al. 2016)."""
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be an nn.Sequential, got {type(net).__name__}")
    check_positive_int(index, "index")
    if index >= len(net) or not isinstance(net[index], PreActBlock):
        raise ValueError(f"index must point at a PreActBlock of net, got {index}")
    return nn.Sequential(*(m for i, m in enumerate(net) if i != index))
# --8<-- [end:training]


# --8<-- [start:conv-blocks]
def conv_bn(c_in, c_out, kernel, stride=1):
    """Conv (no bias: BN has one) followed by BN; 'same' padding for odd kernels."""
    for value, name in ((c_in, "c_in"), (c_out, "c_out"), (kernel, "kernel"), (stride, "stride")):
        check_positive_int(value, name)
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


def basic_branch(c_in, c_out, stride=1):
    """3x3 conv-BN-ReLU-3x3 conv-BN: the branch of ResNet-18/34 (He et al. 2015, Fig. 5 left)."""
    return nn.Sequential(conv_bn(c_in, c_out, 3, stride), nn.ReLU(), conv_bn(c_out, c_out, 3))


def bottleneck_branch(channels, width):
    """1x1 down to `width`, 3x3 at `width`, 1x1 back up: ResNet-50/101/152 (He et al. 2015, Fig. 5 right)."""
    check_positive_int(width, "width")
    return nn.Sequential(conv_bn(channels, width, 1), nn.ReLU(), conv_bn(width, width, 3), nn.ReLU(),
                         conv_bn(width, channels, 1))


def conv_cost(c_in, c_out, kernel, out_h, out_w):
    """(weights, multiply-adds) of a bias-free conv: k*k*c_in*c_out weights, each used once per output pixel."""
    for value, name in ((c_in, "c_in"), (c_out, "c_out"), (kernel, "kernel"), (out_h, "out_h"), (out_w, "out_w")):
        check_positive_int(value, name)
    weights = kernel * kernel * c_in * c_out
    return weights, weights * out_h * out_w
# --8<-- [end:conv-blocks]


# --8<-- [start:shortcuts]
class ZeroPadShortcut(nn.Module):
    """Option A: keep every stride-th pixel and append zero channels; no parameters (He et al. 2015, sec. 3.3)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        check_positive_int(stride, "stride")
        if c_out < c_in:
            raise ValueError(f"c_out must be >= c_in for zero padding, got {c_out} < {c_in}")
        self.extra, self.stride = c_out - c_in, stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return torch.cat([x, x.new_zeros(x.shape[0], self.extra, *x.shape[2:])], dim=1)


def shortcut(c_in, c_out, stride=1, option="B"):
    """Identity when the shapes match (A, B); else zero padding (A) or a 1x1 strided conv + BN (B); C always projects."""
    check_positive_int(c_in, "c_in")
    check_positive_int(c_out, "c_out")
    check_positive_int(stride, "stride")
    if option not in ("A", "B", "C"):
        raise ValueError(f"option must be 'A', 'B' or 'C', got {option!r}")
    same = c_in == c_out and stride == 1
    if option == "C" or (option == "B" and not same):
        return conv_bn(c_in, c_out, 1, stride)
    return nn.Identity() if same else ZeroPadShortcut(c_in, c_out, stride)


class ConvBlock(nn.Module):
    """ReLU(shortcut(x) + branch(x)): a post-activation ResNet block."""

    def __init__(self, branch, short):
        super().__init__()
        if not isinstance(branch, nn.Module):
            raise TypeError(f"branch must be an nn.Module, got {type(branch).__name__}")
        if not isinstance(short, nn.Module):
            raise TypeError(f"short must be an nn.Module, got {type(short).__name__}")
        self.branch, self.short = branch, short

    def forward(self, x):
        return torch.relu(self.short(x) + self.branch(x))
# --8<-- [end:shortcuts]


# --8<-- [start:zero-gamma]
def zero_init_last_bn_(block):
    """Set gamma of the branch's last BN to 0, so the branch outputs beta = 0 at init (Goyal et al. 2017)."""
    if not isinstance(block, ConvBlock):
        raise TypeError(f"block must be a ConvBlock, got {type(block).__name__}")
    last = [m for m in block.branch.modules() if isinstance(m, nn.BatchNorm2d)][-1]
    nn.init.zeros_(last.weight)
    return block
# --8<-- [end:zero-gamma]


# --8<-- [start:paths]
def linear_residual_stack(x, mats):
    """x_{i+1} = x_i + A_i x_i for column vectors x: a residual stack whose branches are linear maps."""
    check_tensor(x, "x", min_ndim=1)
    _check_square_list(mats, x.shape[0])
    for a in mats:
        x = x + a @ x
    return x


def unrolled_paths(mats):
    """prod_i (I + A_i) expanded into its 2^n paths and summed by length k = number of branches taken."""
    _check_square_list(mats)
    n, eye = len(mats), torch.eye(mats[0].shape[0], dtype=mats[0].dtype, device=mats[0].device)
    by_length = [torch.zeros_like(eye) for _ in range(n + 1)]
    for taken in range(2 ** n):  # bit i of `taken`: does the path go through branch i or skip it?
        term = eye
        for i, a in enumerate(mats):
            if taken >> i & 1:
                term = a @ term
        by_length[bin(taken).count("1")] += term
    return by_length


def path_length_distribution(n):
    """Fraction of the 2^n paths that go through k of n branches: each block is taken or skipped (Veit et al. 2016)."""
    check_positive_int(n, "n")
    counts = [1]
    for _ in range(n):  # one more block: every old path either skips it or goes through it
        counts = [skip + take for skip, take in zip(counts + [0], [0] + counts)]
    return [c / 2 ** n for c in counts]
# --8<-- [end:paths]


def _check_square_list(mats, size=None):
    if not isinstance(mats, (list, tuple)) or not mats:
        raise TypeError("mats must be a non-empty list of square matrices")
    size = mats[0].shape[0] if size is None and isinstance(mats[0], torch.Tensor) else size
    for i, a in enumerate(mats):
        check_tensor(a, f"mats[{i}]", ndim=2)
        if a.shape != (size, size):
            raise ValueError(f"mats[{i}] must have shape ({size}, {size}), got {tuple(a.shape)}")
