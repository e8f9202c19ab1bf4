"""Checks for docs/*/residual.md. Oracles: autograd, central finite differences, per-block Jacobians, F.conv2d
with hand-set weights, torch's FlopCounterMode, math.comb, closed-form moments of Gaussian products."""
import copy
import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from snippets import residual as rs
from verify._registry import check


def _rel(a, b):
    """Relative Frobenius distance ||a - b|| / ||b||."""
    return ((a - b).norm() / b.norm()).item()


def _randomize_bn_(t, net, stream):
    """Eval-mode BN with non-trivial running statistics and affine parameters: each sample is mapped on its own."""
    g = t.generator(stream)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm1d):
                c = m.num_features
                m.running_mean.copy_(0.5 * torch.randn(c, generator=g, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g, dtype=torch.float64))
                m.weight.copy_(1 + 0.3 * torch.randn(c, generator=g, dtype=torch.float64))
                m.bias.copy_(0.3 * torch.randn(c, generator=g, dtype=torch.float64))
    return net.eval()


def _stack(t, block, width=6, blocks=4):
    t.seed_modules(stream=1)
    net = nn.Sequential(*[block(width) for _ in range(blocks)]).to(t.device, t.dtype)
    return _randomize_bn_(t, net, stream=2)


def _loss(x_last, c):
    return (c * torch.tanh(x_last)).sum()  # any smooth loss; tanh keeps dL/dx_L input-dependent


def _block_jacobians(net, x):
    """J_i = d branch_i / d x_i for every sample (rows of x), each computed on its own block, and the states x_i.

    The blocks are in eval mode, so sample b's output depends on sample b alone: the Jacobian of the branch's
    outputs summed over the batch holds every sample's own Jacobian (6 backward passes per block, not 6 per
    sample). Were the samples coupled, the product of these J_i would miss autograd's gradient."""
    jacs, states = [], [x]
    for block in net:
        jac = torch.autograd.functional.jacobian(lambda z: block.branch(z).sum(0), x)  # (out, sample, in)
        jacs.append(jac.transpose(0, 1))                                               # (sample, out, in)
        x = block(x).detach()
        states.append(x)
    return jacs, states


@check("residual.identity-gradient")
def identity_gradient(t):
    """dL/dx_l = dL/dx_L (I + d/dx_l sum_i F(x_i)) (He et al. 2016b, eq. 5); zero branches pass it exactly."""
    net = _stack(t, rs.PreActBlock)
    width = 6
    x = t.randn(3, width, stream=3)
    c = t.randn(3, width, stream=4)
    x_req = x.clone().requires_grad_(True)
    grad_x = torch.autograd.grad(_loss(net(x_req), c), x_req)[0]           # autograd through the whole stack
    x_last = net(x).detach().requires_grad_(True)
    g_last = torch.autograd.grad(_loss(x_last, c), x_last)[0]             # dL/dx_L

    def branch_sum(z):                                                    # S(x_l) = sum_i F(x_i)
        total = torch.zeros_like(z)
        for block in net:
            f = block.branch(z)
            total, z = total + f, z + f
        return total

    # oracle 1: central finite differences of S, independent of autograd (truncation ~h^2, rounding ~1e-16/h)
    h = 1e-5
    eye = torch.eye(width, dtype=t.dtype, device=t.device)
    with torch.no_grad():
        jac_s = torch.stack([(branch_sum(x + h * e) - branch_sum(x - h * e)) / (2 * h) for e in eye], dim=2)
    eq5 = g_last + torch.einsum("bi,bij->bj", g_last, jac_s)              # row vector times (I + dS/dx_l)
    assert_close(grad_x, eq5, rtol=1e-7, atol=1e-9)
    # oracle 2: the chain rule block by block, prod_i (I + J_i), each J_i from its own block (exact in float64)
    jacs, _ = _block_jacobians(net, x)                                    # (sample, out, in) per block
    prod = plain = eye
    for j in jacs:
        prod, plain = (eye + j) @ prod, j @ plain                         # batched over the 3 samples
    for b in range(3):
        assert_close(grad_x[b], g_last[b] @ prod[b], rtol=1e-12, atol=1e-14)
        assert _rel(g_last[b] @ plain[b], grad_x[b]) > 0.3                # a plain net's product: rejected
    assert _rel(torch.einsum("bi,bij->bj", g_last, jac_s), grad_x) > 0.3  # eq. 5 without the 1: rejected
    # with every branch's last weight at zero, x_L = x_l and the gradient arrives bit for bit
    with torch.no_grad():
        for block in net:
            block.branch[-1].weight.zero_()
    x_req = x.clone().requires_grad_(True)
    out = net(x_req)
    assert torch.equal(out, x)
    grad_x = torch.autograd.grad(_loss(out, c), x_req)[0]
    x_leaf = x.clone().requires_grad_(True)
    assert torch.equal(grad_x, torch.autograd.grad(_loss(x_leaf, c), x_leaf)[0])  # dL/dx_l == dL/dx_L


@check("residual.preact-clean-sum")
def preact_clean_sum(t):
    """Pre-activation: x_L = x_l + sum_i F(x_i) exactly. Post-activation: the ReLU after the sum breaks it, and
    the gradient of the identity path is multiplied by the ReLU's 0/1 mask at every block."""
    # the layers in the order the page gives them; no Linear has a bias (the BN after it, or the sum, has one)
    assert [type(m) for m in rs.PreActBlock(3).branch] == [nn.BatchNorm1d, nn.ReLU, nn.Linear] * 2
    assert [type(m) for m in rs.PostActBlock(3).branch] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear,
                                                           nn.BatchNorm1d]
    for block in (rs.PreActBlock(3), rs.PostActBlock(3)):
        assert all(m.bias is None for m in block.branch if isinstance(m, nn.Linear))
    x = t.randn(5, 6, stream=3)
    pre = _stack(t, rs.PreActBlock)
    with torch.no_grad():
        z, branch_outputs = x, []
        for block in pre:
            branch_outputs.append(block.branch(z))
            z = block(z)
        assert_close(pre(x), x + torch.stack(branch_outputs).sum(0), rtol=1e-12, atol=1e-14)
        for l in range(1, 4):                                               # from any block l, not just the input
            assert_close(pre(x), pre[:l](x) + torch.stack(branch_outputs[l:]).sum(0), rtol=1e-12, atol=1e-14)
    post = _stack(t, rs.PostActBlock)
    xp = torch.relu(x)                                                      # a post-activation block gets ReLU output
    with torch.no_grad():
        z, branch_outputs = xp, []
        for block in post:
            branch_outputs.append(block.branch(z))
            z = block(z)
        unrolled = xp + torch.stack(branch_outputs).sum(0)
        assert _rel(unrolled, post(xp)) > 0.05                              # the clean sum does not hold
    # post-activation gradient: dx_{i+1}/dx_i = D_i (I + J_i), D_i = diag(1[x_i + F(x_i) > 0])
    eye = torch.eye(6, dtype=t.dtype, device=t.device)
    blocked = 0
    jacs, states = _block_jacobians(post, xp)                               # all 5 samples at once
    prod = eye
    for j, s_out in zip(jacs, states[1:]):
        mask = s_out > 0                                                    # ReLU(x_i + F(x_i)) > 0, per sample
        prod = torch.diag_embed(mask.to(t.dtype)) @ (eye + j) @ prod
        blocked += int((~mask).sum())
    x_req = xp.clone().requires_grad_(True)
    grad = torch.autograd.grad(post(x_req).sum(), x_req)[0]                # eval mode: row b is sample b's gradient
    for b in range(5):
        assert_close(grad[b], torch.ones(6, dtype=t.dtype, device=t.device) @ prod[b], rtol=1e-12, atol=1e-14)
    assert blocked > 0                                                      # the shortcut's gradient is cut somewhere


def _conv_weights(module):
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def _macs(module, c_in, size):
    """Multiply-adds counted by torch's FlopCounterMode (2 FLOPs each) on meta tensors: no arithmetic is done.

    The module's convs run in their order; its BN and ReLU keep the shape and count no FLOPs, and on meta
    tensors BN would go through torch's slow Python reference code (2/3 of this check's time)."""
    convs = nn.Sequential(*(m for m in module.modules() if isinstance(m, nn.Conv2d))).to("meta")
    counter = FlopCounterMode(display=False)
    with counter:
        convs(torch.empty(1, c_in, size, size, device="meta"))
    return counter.get_total_flops() // 2


@check("residual.bottleneck-counts", devices=("cpu",))
def bottleneck_counts(t):
    """Basic 2 x (3x3, 64) vs bottleneck 256 -> 64 -> 256: about the same weights and multiply-adds (56 x 56)."""
    basic, bottleneck = rs.basic_branch(64, 64), rs.bottleneck_branch(256, 64)
    # conv-BN units with a ReLU between them (none at the end: the block applies it after the sum)
    assert [type(m) for m in basic] == [nn.Sequential, nn.ReLU, nn.Sequential]
    assert [type(m) for m in bottleneck] == [nn.Sequential, nn.ReLU, nn.Sequential, nn.ReLU, nn.Sequential]
    basic_w = t.record("basic_weights", _conv_weights(basic))
    bottle_w = t.record("bottleneck_weights", _conv_weights(bottleneck))
    assert basic_w == 2 * rs.conv_cost(64, 64, 3, 56, 56)[0] == 73_728
    assert bottle_w == sum(rs.conv_cost(*c, 56, 56)[0] for c in ((256, 64, 1), (64, 64, 3), (64, 256, 1))) == 69_632
    # BN adds gamma and beta per channel; nothing else has parameters
    assert sum(p.numel() for p in basic.parameters()) == basic_w + 2 * (64 + 64)
    assert sum(p.numel() for p in bottleneck.parameters()) == bottle_w + 2 * (64 + 64 + 256)
    basic_macs = t.record("basic_macs", _macs(basic, 64, 56))
    bottle_macs = t.record("bottleneck_macs", _macs(bottleneck, 256, 56))
    assert basic_macs == 2 * rs.conv_cost(64, 64, 3, 56, 56)[1] == basic_w * 56 * 56
    assert bottle_macs == bottle_w * 56 * 56
    assert round(t.record("basic_mmacs", basic_macs / 1e6), 1) == 231.2      # printed in millions
    assert round(t.record("bottleneck_mmacs", bottle_macs / 1e6), 1) == 218.4
    # the cost the bottleneck avoids: a basic block at the full 256 channels
    with torch.device("meta"):                                          # counted, never run: skip the init
        wide = _conv_weights(rs.basic_branch(256, 256))
    assert wide == 2 * 9 * 256 * 256
    ratio = t.record("wide_basic_over_bottleneck", wide / bottle_w)
    assert round(ratio, 1) == 16.9
    # a stride-2 first conv quarters the multiply-adds: 28 x 28 outputs, FlopCounterMode agrees with conv_cost
    assert _macs(rs.basic_branch(64, 128, 2), 64, 56) == rs.conv_cost(64, 128, 3, 28, 28)[1] + \
        rs.conv_cost(128, 128, 3, 28, 28)[1]


@check("residual.shortcut-options")
def shortcut_options(t):
    """Option A = a fixed 1x1 stride-2 conv with weights [I; 0] (no parameters); B = learned 1x1 conv + BN when the
    shape changes, identity otherwise; C = projection everywhere. A plain sum of mismatched shapes fails."""
    x = t.randn(2, 4, 6, 6, stream=1)
    t.seed_modules()
    a = rs.shortcut(4, 8, 2, "A").to(t.device, t.dtype)
    assert sum(p.numel() for p in a.parameters()) == 0
    fixed = torch.zeros(8, 4, 1, 1, dtype=t.dtype, device=t.device)
    fixed[:4, :, 0, 0] = torch.eye(4)
    ya = a(x)
    assert ya.shape == (2, 8, 3, 3)
    assert torch.equal(ya, F.conv2d(x, fixed, stride=2))                # products by 1 and 0: exact
    assert torch.equal(ya[:, 4:], torch.zeros_like(ya[:, 4:]))          # the padded channels carry nothing
    b = rs.shortcut(4, 8, 2, "B").to(t.device, t.dtype).train()
    assert sum(p.numel() for p in b.parameters()) == 4 * 8 + 2 * 8
    w = b[0].weight[:, :, 0, 0]
    z = torch.einsum("oc,nchw->nohw", w, x[:, :, ::2, ::2])             # 1x1 stride 2 = matmul on every 2nd pixel
    mean, var = z.mean((0, 2, 3), keepdim=True), z.var((0, 2, 3), unbiased=False, keepdim=True)
    assert_close(b(x), (z - mean) / torch.sqrt(var + 1e-5), rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-12, f32=1e-5))
    # float32: 18 values per channel in the mean and variance; errors ~1e-6
    for option in ("A", "B"):
        assert isinstance(rs.shortcut(8, 8, 1, option), nn.Identity)    # same shape: the identity, free
    # B projects when either the channels or the stride change, not only when both do
    for c_in, c_out, stride in ((4, 8, 1), (8, 8, 2)):
        proj = rs.shortcut(c_in, c_out, stride, "B")
        assert sum(p.numel() for p in proj.parameters()) == c_in * c_out + 2 * c_out
    # A with equal channels and stride 2: subsampling only, no extra channels
    same_c = rs.shortcut(4, 4, 2, "A").to(t.device, t.dtype)
    assert torch.equal(same_c(x), x[:, :, ::2, ::2])
    # conv_bn keeps the spatial size for every odd kernel ('same' padding k // 2)
    for k in (1, 3, 5, 7):
        assert rs.conv_bn(2, 3, k)(torch.zeros(1, 2, 7, 7)).shape == (1, 3, 7, 7)
    c = rs.shortcut(8, 8, 1, "C")
    assert sum(p.numel() for p in c.parameters()) == 8 * 8 + 2 * 8
    branch = rs.basic_branch(4, 8, 2).to(t.device, t.dtype)
    try:
        x + branch(x)
    except RuntimeError:
        pass
    else:
        raise AssertionError("adding a (2, 4, 6, 6) input to a (2, 8, 3, 3) branch output should fail")
    assert (x.shape[0],) + tuple(rs.ConvBlock(branch, b)(x).shape[1:]) == (2, 8, 3, 3)
    # ResNet-34 with option B: projections only at the three stage transitions 64->128->256->512
    proj = sum(_conv_weights(rs.shortcut(c, 2 * c, 2, "B")) for c in (64, 128, 256))
    assert t.record("resnet34_projection_weights", proj) == 64 * 128 + 128 * 256 + 256 * 512


def _zero_gamma_net(t, zero):
    t.seed_modules()
    blocks = [rs.ConvBlock(rs.basic_branch(4, 4), rs.shortcut(4, 4)),
              rs.ConvBlock(rs.basic_branch(4, 8, 2), rs.shortcut(4, 8, 2, "B")),
              rs.ConvBlock(rs.basic_branch(8, 8), rs.shortcut(8, 8))]
    if zero:
        for block in blocks:
            rs.zero_init_last_bn_(block)
    return nn.Sequential(*blocks).to(t.device, t.dtype).train()


@check("residual.zero-gamma-identity", dtypes=("float32", "float64"))
def zero_gamma_identity(t):
    """Last BN gamma = 0: every block outputs ReLU(shortcut(x)) at init, the identity on ReLU outputs, so the net
    is the identity apart from its projections; gamma and beta still get gradients, the branch convs do not yet."""
    x = torch.relu(t.randn(4, 4, 8, 8, stream=1))                      # what a block receives: a ReLU output
    net = _zero_gamma_net(t, zero=True)
    # gamma * x_hat + beta with gamma = beta = 0 is exactly 0 in any dtype: bitwise equalities
    assert torch.equal(net[0](x), x)
    expected = torch.relu(net[1].short(x))                              # the projection is all that is left
    assert torch.equal(net(x), expected)
    assert not torch.allclose(_zero_gamma_net(t, zero=False)(x), expected, atol=0.1)  # default init is not
    # gradients on the first block, with L = sum(c * block(x))
    block = net[0]
    c = t.randn(4, 4, 8, 8, stream=2)
    block.zero_grad()
    (c * block(x)).sum().backward()
    conv1, bn1, _, (conv2, bn2) = block.branch[0][0], block.branch[0][1], block.branch[1], block.branch[2]
    for p in (conv1.weight, bn1.weight, bn1.bias, conv2.weight):
        assert torch.equal(p.grad, torch.zeros_like(p))                 # nothing flows past gamma = 0 ...
    with torch.no_grad():
        z = conv2(block.branch[1](block.branch[0](x)))
        x_hat = (z - z.mean((0, 2, 3), keepdim=True)) / torch.sqrt(z.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
        upstream = c * (x > 0)                                          # dL/d(x + branch), through the final ReLU
    tol = t.tol(f64=1e-10, f32=1e-4)  # float32: sums of 256 products per channel, errors ~1e-6 relative
    assert_close(bn2.weight.grad, (upstream * x_hat).sum((0, 2, 3)), rtol=tol, atol=tol)  # ... except to gamma
    assert_close(bn2.bias.grad, upstream.sum((0, 2, 3)), rtol=tol, atol=tol)
    assert (bn2.weight.grad.abs() > 1e-3).all()
    # one SGD step makes gamma non-zero, and from then on the convs get gradients too
    with torch.no_grad():
        bn2.weight -= 0.1 * bn2.weight.grad
    block.zero_grad()
    (c * block(x)).sum().backward()
    assert conv1.weight.grad.abs().sum() > 0 and conv2.weight.grad.abs().sum() > 0
    # a bottleneck branch has three BNs: only the last one is zeroed
    block = rs.zero_init_last_bn_(rs.ConvBlock(rs.bottleneck_branch(8, 4), rs.shortcut(8, 8)))
    gammas = [m.weight for m in block.branch.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(gammas) == 3 and torch.equal(gammas[2], torch.zeros(8))
    assert all(torch.equal(g, torch.ones_like(g)) for g in gammas[:2])


@check("residual.path-expansion")
def path_expansion(t):
    """prod_i (I + A_i) = sum over the 2^n subsets S of the ordered products prod_{i in S} A_i (Veit et al. 2016)."""
    n, d = 5, 4
    mats = [t.randn(d, d, stream=i) / math.sqrt(d) for i in range(n)]
    x = t.randn(d, 3, stream=9)
    by_length = rs.unrolled_paths(mats)
    eye = torch.eye(d, dtype=t.dtype, device=t.device)
    product = eye
    for a in mats:
        product = (eye + a) @ product                                   # x_L = (I + A_{n-1}) ... (I + A_0) x_0
    assert_close(sum(by_length), product, rtol=1e-12, atol=1e-13)
    assert_close(rs.linear_residual_stack(x, mats), product @ x, rtol=1e-12, atol=1e-13)
    reversed_product = eye
    for a in mats[::-1]:
        reversed_product = (eye + a) @ reversed_product
    assert _rel(reversed_product, product) > 0.1                        # the order of the blocks matters
    assert torch.equal(by_length[0], eye)                               # the one path that skips everything
    assert_close(by_length[n], mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0], rtol=1e-12, atol=1e-13)
    # scalar branches a_i I: the length-k group is e_k(a) I, the k-th elementary symmetric polynomial
    a = [0.3, -0.7, 1.3, 0.45, -1.1]
    groups = rs.unrolled_paths([ai * eye for ai in a])
    for k in range(n + 1):
        e_k = sum(math.prod(s) for s in itertools.combinations(a, k))
        assert_close(groups[k], e_k * eye, rtol=1e-12, atol=1e-14)


@check("residual.path-lengths", devices=("cpu",))
def path_lengths(t):
    """The 2^n paths have lengths Binomial(n, 1/2); for ResNet-110's 54 blocks, most are 19-35 blocks long."""
    for n in (1, 3, 10, 54):
        p = rs.path_length_distribution(n)
        assert p == [math.comb(n, k) / 2 ** n for k in range(n + 1)]
    counts = [0] * 11
    for taken in range(2 ** 10):                                        # enumerate the 1024 paths of 10 blocks
        counts[bin(taken).count("1")] += 1
    assert [c / 1024 for c in counts] == rs.path_length_distribution(10)
    p = rs.path_length_distribution(54)
    mean = sum(k * pk for k, pk in enumerate(p))
    sd = math.sqrt(sum((k - mean) ** 2 * pk for k, pk in enumerate(p)))
    assert abs(mean - 27) < 1e-12 and abs(sd - math.sqrt(54) / 2) < 1e-12
    middle = t.record("fraction_19_to_35", sum(p[19:36]))
    assert round(middle, 3) == 0.980
    full = t.record("fraction_full_depth", p[54])
    assert full == 2.0 ** -54
    assert round(t.record("sd", sd), 2) == 3.67


@check("residual.variance-grows", kind="statistical")
def variance_grows(t):
    """Linear residual stack x <- x + W x, W ~ N(0, s2/n): E||x_L||^2 = (1 + s2)^L ||x_0||^2, and the same for
    the gradient. With s2 = 1 (He-style branch) that is 2^L: the shortcut does not keep the scale."""
    samples, n, depth, s2 = 500, 16, 10, 1.0
    g = t.generator(1)
    # float32 draws (4x faster here) cast up: rounding moves each entry by 6e-8 relative, the moments by far less
    # than the 6-SE tolerance of 32 %
    w = torch.randn(depth, samples, n, n, generator=g).double() * math.sqrt(s2 / n)
    x0 = torch.randn(samples, n, generator=g, dtype=torch.float64)
    x0 = x0 / x0.norm(dim=1, keepdim=True)
    c = torch.randn(samples, n, generator=g, dtype=torch.float64)
    c = c / c.norm(dim=1, keepdim=True)
    w, x0, c = w.to(t.device, t.dtype), x0.to(t.device, t.dtype).requires_grad_(True), c.to(t.device, t.dtype)
    x = x0
    for wi in w:
        x = x + torch.einsum("sij,sj->si", wi, x)
    grad = torch.autograd.grad((c * x).sum(), x0)[0]                    # (I + W_1)^T ... (I + W_L)^T c
    # one block multiplies ||x||^2 by R = ||u + g||^2, g ~ N(0, s2/n I): mean m = 1 + s2, variance
    # v = 2 s2^2/n + 4 s2/n, independent of the direction of x. So the product over L blocks has mean m^L and
    # second moment (v + m^2)^L; the standard error of a mean of `samples` draws follows.
    m, v = 1 + s2, 2 * s2 ** 2 / n + 4 * s2 / n
    expected = t.record("growth", m ** depth)
    assert expected == 1024
    se = math.sqrt(((v + m * m) ** depth - m ** (2 * depth)) / samples)
    # measured over seeds 0-99 (se = 55, float32 draws): both means within 3.1 se of 1024, the wrong values >= 15 se
    for sq in (x.detach().pow(2).sum(1), grad.pow(2).sum(1)):
        mean = sq.mean().item()
        assert abs(mean - expected) < 6 * se, (mean, expected, se)
        for wrong in (1.0, 1 + depth * s2):                             # "the identity keeps the norm", "grows by L"
            assert abs(mean - wrong) > 6 * se


_TWINS = {}  # (device, dtype, seed) -> trained twins, shared by the demonstration and the lesion check


def _toy_data(t, n=64):
    """64 points of sin(6 x1) cos(6 x2) on [-1, 1]^2: a wiggly surface a 22-layer net must work to fit."""
    x = 2 * t.rand(n, 2, stream=1) - 1
    return x, (torch.sin(6 * x[:, :1]) * torch.cos(6 * x[:, 1:]))


def _twin(t, residual):
    """10 pre-activation blocks of width 16 (22 linear layers); both twins start from the same weights."""
    t.seed_modules(stream=2)
    return rs.residual_mlp(2, 16, 10, residual=residual).to(t.device, t.dtype)


def _trained_twins(t):
    key = (t.device, t.dtype_name, t.seed)
    if key not in _TWINS:
        x, y = _toy_data(t)
        nets = {r: _twin(t, r) for r in (False, True)}
        for p, q in zip(nets[False].parameters(), nets[True].parameters()):
            assert torch.equal(p, q)                                    # twins: identical initial weights
        losses = {r: rs.train_regressor(nets[r], x, y, steps=60, lr=5e-3) for r in (False, True)}
        _TWINS[key] = (x, y, nets, losses)
    return _TWINS[key]


@check("residual.plain-vs-residual-demo", dtypes=("float32",), kind="demonstration")
def plain_vs_residual_demo(t):
    """Same 22 layers, same init, same 60 Adam steps (lr 5e-3): the residual twin's training loss ends far lower."""
    x, y, nets, losses = _trained_twins(t)
    plain, res = t.record("plain_loss", losses[False][-1]), t.record("residual_loss", losses[True][-1])
    t.record("target_variance", y.var(unbiased=False))
    # measured over seeds 0-299: plain 0.0026-0.23, residual 2.5e-5-0.0049, plain / residual 3.1-2700 (median
    # 200; 5, the bound for seeds 0-59, failed seeds 62 and 108)
    assert res < 6e-3
    assert plain > 2.5 * res


@check("residual.plain-bn-no-vanishing", dtypes=("float32",), kind="demonstration")
def plain_bn_no_vanishing(t):
    """At init the plain BN twin's first block gets a LARGER gradient than its last: degradation is not vanishing."""
    x, y = _toy_data(t)
    plain = rs.block_grad_norms(_twin(t, False), x, y)
    res = rs.block_grad_norms(_twin(t, True), x, y)
    ratio = t.record("plain_first_over_last", plain[0] / plain[-1])
    t.record("residual_first_over_last", res[0] / res[-1])
    # measured over seeds 0-59: plain 7.4-164, residual 2.8-18
    assert ratio > 3
    assert all(math.isfinite(v) and v > 0 for v in plain + res)


@check("residual.lesion-demo", dtypes=("float32",), kind="demonstration")
def lesion_demo(t):
    """Deleting one trained block: the residual net's output moves about half as much as the plain net's."""
    x, y, nets, _ = _trained_twins(t)
    median = {}
    with torch.no_grad():
        for r, net in nets.items():
            base = net(x)
            change = torch.tensor([_rel(rs.without_block(net, i)(x), base) for i in range(1, 11)])
            assert torch.isfinite(change).all()
            median[r] = change.median().item()
    plain, res = t.record("plain_median", median[False]), t.record("residual_median", median[True])
    # measured over seeds 0-59: plain 1.16-1.44, residual 0.32-0.72, plain / residual 1.85-4.5
    assert plain > 1.05
    assert res < 0.85
    assert plain > 1.5 * res


@check("residual.plain-vs-residual-demo")
def residual_mlp_and_training(t):
    """The twins' architecture (stem, blocks, BN-ReLU, head with one output) and train_regressor = full-batch
    Adam on the MSE, against torch.optim.Adam and F.mse_loss run step by step on a copy of the same net."""
    t.seed_modules()
    net = rs.residual_mlp(2, 4, 2).to(t.device, t.dtype)
    assert [type(m) for m in net] == [nn.Linear, rs.PreActBlock, rs.PreActBlock, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    x, y = t.randn(8, 2, stream=1), t.randn(8, 1, stream=2)
    assert net(x).shape == (8, 1)                                       # d_out = 1 by default
    z = t.randn(8, 4, stream=3)
    for residual, blocks in ((True, net[1:3]), (False, rs.residual_mlp(2, 4, 2, residual=False)[1:3])):
        for block in blocks:                                            # default: residual; residual=False: plain
            block.to(t.device, t.dtype)
            assert_close(block(z), z + block.branch(z) if residual else block.branch(z), rtol=0, atol=0)
    twin = copy.deepcopy(net)
    losses = rs.train_regressor(net, x, y, 3)                           # the default lr = 1e-2
    opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    twin.train()
    expected = []
    for _ in range(3):
        loss = F.mse_loss(twin(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.item())
    with torch.no_grad():
        expected.append(F.mse_loss(twin(x), y).item())
    tol = t.tol(f64=1e-12, f32=1e-5)  # float32: the same operations, possibly summed in another order
    assert_close(torch.tensor(losses), torch.tensor(expected), rtol=tol, atol=0)
    assert losses[-1] < losses[0]
    for p, q in zip(net.parameters(), twin.parameters()):
        assert_close(p, q, rtol=tol, atol=tol)


@check("residual.plain-bn-no-vanishing")
def block_grad_norms_exact(t):
    """block_grad_norms = ||dL/dW|| of the first Linear of each block's branch, L the MSE, against autograd."""
    t.seed_modules()
    net = rs.residual_mlp(2, 4, 3).to(t.device, t.dtype)
    x, y = t.randn(8, 2, stream=1), 1 + t.randn(8, 1, stream=2)
    firsts = [next(m for m in b.branch if isinstance(m, nn.Linear)).weight
              for b in net if isinstance(b, rs.PreActBlock)]
    grads = torch.autograd.grad(F.mse_loss(net(x), y), firsts)
    expected = torch.stack([g.norm() for g in grads])
    assert_close(torch.tensor(rs.block_grad_norms(net, x, y), dtype=t.dtype, device=t.device), expected,
                 rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)
