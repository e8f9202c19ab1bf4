"""Checks for docs/*/attention.md. Oracles: F.scaled_dot_product_attention, nn.MultiheadAttention,
nn.LayerNorm, nn.BatchNorm1d, nn.TransformerEncoderLayer, torch.func.jacrev, FlopCounterMode, closed forms
(moments of a dot product, trigonometric addition formulas)."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from snippets import attention as at
from verify._registry import check


def _qkv(t, b=2, n=7, d=8, stream=0):
    return (t.randn(b, n, d, stream=stream), t.randn(b, n, d, stream=stream + 1),
            t.randn(b, n, d, stream=stream + 2))


@check("attention.sdpa-matches-torch", dtypes=("float32", "float64"))
def sdpa_matches_torch(t):
    """softmax(QK^T/sqrt(d_k))V equals F.scaled_dot_product_attention, with and without a mask."""
    # float32: two matmuls of length 8..16 and a softmax, each a few ulps (6e-8) of O(1) values
    tol = dict(rtol=t.tol(f64=1e-12, f32=2e-5), atol=t.tol(f64=1e-13, f32=2e-6))
    q, k, v = 2 * t.randn(2, 3, 5, 16), 2 * t.randn(2, 3, 9, 16, stream=1), t.randn(2, 3, 9, 4, stream=2)
    out, w = at.scaled_dot_product_attention(q, k, v)
    assert_close(out, F.scaled_dot_product_attention(q, k, v), **tol)
    assert_close(w.sum(-1), torch.ones_like(w.sum(-1)), rtol=0, atol=t.tol(f64=1e-14, f32=1e-6))
    assert (w >= 0).all()  # each output row is a convex combination of the value rows
    mask = t.rand(5, 9, stream=3) > 0.4
    mask[:, 0] = True                                      # every query keeps at least one key
    assert_close(at.scaled_dot_product_attention(q, k, v, mask)[0],
                 F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **tol)
    # the scale matters: without 1/sqrt(d_k) (or with 1/d_k) the output is different
    for wrong in (1.0, 1.0 / 16):
        assert (F.scaled_dot_product_attention(q, k, v, scale=wrong) - out).abs().max() > 1e-2
    # large logits (gaps of 10^4 and more) stay finite: softmax subtracts the row maximum
    big, _ = at.scaled_dot_product_attention(100 * q, 100 * k, v)
    assert torch.isfinite(big).all()
    assert_close(big, F.scaled_dot_product_attention(100 * q, 100 * k, v), **tol)


@check("attention.dot-product-variance", kind="statistical")
def dot_product_variance(t):
    """For q, k with i.i.d. N(0, 1) entries, Var(q.k) = d_k; dividing by sqrt(d_k) makes it 1."""
    # n = 2000: the wrong values stay out by construction, as d - wrong > 12 SE for every d here (d = 16:
    # 12 > 12 sqrt(608 / 2000) = 6.6), so an estimate within 6 SE of d is more than 6 SE from them
    n = 2000
    for d in (16, 64, 256):
        q, k = t.randn32(n, 1, d, stream=d), t.randn32(n, 1, d, stream=d + 1)
        raw = (q * k).sum(-1).flatten()
        # E[q.k] = 0, so mean((q.k)^2) estimates the variance; E[(q.k)^4] = 3d^2 + 6d gives
        # Var((q.k)^2) = 2d^2 + 6d and the standard error below
        se = math.sqrt((2 * d * d + 6 * d) / n)
        est = raw.pow(2).mean().item()
        assert abs(est - d) < 6 * se, (d, est)
        for wrong in (math.sqrt(d), 1.0):                # "variance sqrt(d_k)" or "already unit variance"
            assert abs(est - wrong) > 6 * se
        scaled = at.attention_scores(q, k).flatten()
        assert abs(scaled.pow(2).mean().item() - 1.0) < 6 * se / d
        if d == 256:
            t.record("var_256", est)
            t.record("tol_256", 6 * se)                  # the page prints the accepted band 256 +- 6 SE


def _jacobian_norms(t, d, n_keys=16, samples=100):
    """Frobenius norms of the softmax Jacobian d weights / d logits for random q, K, with and without
    the 1/sqrt(d_k), per sample; and the largest weight without it."""
    q, keys = t.randn32(samples, 1, d, stream=d), t.randn32(samples, n_keys, d, stream=d + 1)
    jacobian = torch.func.vmap(torch.func.jacrev(lambda z: torch.softmax(z, -1)))
    norms = []
    for logits in (at.attention_scores(q, keys), q @ keys.transpose(-2, -1)):
        norms.append(jacobian(logits.squeeze(1)).flatten(1).norm(dim=1))
    return norms[0], norms[1], torch.softmax((q @ keys.transpose(-2, -1)).squeeze(1), -1).max(-1).values


@check("attention.unscaled-softmax-saturates", dtypes=("float32", "float64"), kind="demonstration")
def unscaled_softmax_saturates(t):
    """Without 1/sqrt(d_k) the softmax saturates as d_k grows and its Jacobian collapses; with it, it does not."""
    dead = {}
    for d in (4, 64, 1024):
        js, ju, pmax = _jacobian_norms(t, d)
        assert torch.isfinite(ju).all() and torch.isfinite(pmax).all()  # nothing overflows ...
        # scaled: unit-variance logits for every d_k, the Jacobian's median stays ~0.3 (0.28..0.32 over seeds 0-59)
        assert 0.25 < js.median().item() < 0.35 and (js < 0.01).sum().item() == 0
        dead[d] = (ju < 0.01).double().mean().item()             # queries whose gradient is essentially 0
        if d == 1024:
            gap = t.record("pmax_gap_1024", 1 - pmax.median().item())
            assert gap < 0.01                                     # ... but the weights are one-hot
            assert ju.median().item() < 0.01
    # unscaled: the dead fraction grows with d_k (seeds 0-59: d_k 4 0-0.02, 64 0.15-0.37, 1024 0.65-0.83)
    assert dead[4] < dead[64] < dead[1024]
    assert t.record("dead_fraction_1024", dead[1024]) > 0.5


@check("attention.causal-mask", dtypes=("float32", "float64"))
def causal_mask(t):
    """With the causal mask, output i depends on tokens 0..i only; it matches is_causal=True."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=2e-5), atol=t.tol(f64=1e-13, f32=2e-6))  # as in sdpa-matches-torch
    q, k, v = _qkv(t)
    n = q.shape[1]
    m = at.causal_mask(n, device=q.device)
    assert m.device == q.device and at.causal_mask(3, device="meta").device.type == "meta"  # device is honoured
    out, w = at.scaled_dot_product_attention(q, k, v, m)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), **tol)
    assert (w.triu(1) == 0).all()                                # no weight on the future
    for i in range(n):                                           # = full attention over the prefix 0..i
        prefix = F.scaled_dot_product_attention(q[:, i:i + 1], k[:, :i + 1], v[:, :i + 1])
        assert_close(out[:, i:i + 1], prefix, **tol)
    k2, v2 = k.clone(), v.clone()
    k2[:, 4:], v2[:, 4:] = 1e3, -1e3                             # change the future of token 3
    out2, _ = at.scaled_dot_product_attention(q, k2, v2, m)
    assert torch.equal(out2[:, :4], out[:, :4]) and not torch.equal(out2[:, 4:], out[:, 4:])


@check("attention.padding-mask", dtypes=("float32", "float64"))
def padding_mask(t):
    """Padded keys get weight 0: a padded sequence's output equals attention over its real tokens only."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=2e-5), atol=t.tol(f64=1e-13, f32=2e-6))
    q, k, v = _qkv(t, b=3)
    lengths = torch.tensor([7, 4, 1], device=q.device)
    m = at.padding_mask(lengths, 7)
    # the range ends: length 0 (every key padded) and length n are allowed
    edge = at.padding_mask(torch.tensor([0, 2, 3], device=q.device), 3)
    assert torch.equal(edge.cpu(), torch.tensor([[[False, False, False]], [[True, True, False]], [[True, True, True]]]))
    out, w = at.scaled_dot_product_attention(q, k, v, m)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=m), **tol)
    for b, length in enumerate(lengths.tolist()):
        assert (w[b, :, length:] == 0).all()
        alone = F.scaled_dot_product_attention(q[b], k[b, :length], v[b, :length])
        assert_close(out[b], alone, **tol)
    # PyTorch's two conventions are opposite: SDPA's boolean attn_mask is True = attend,
    # nn.MultiheadAttention's key_padding_mask is True = ignore
    t.seed_modules()
    mha = nn.MultiheadAttention(8, 2, batch_first=True).to(t.device, t.dtype)
    right, _ = mha(q, q, q, key_padding_mask=~m[:, 0])
    mine = at.multi_head_attention(q, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
                                   mha.out_proj.bias, 2, m[:, None])
    assert_close(mine, right, **tol)
    flipped, _ = mha(q, q, q, key_padding_mask=m[:, 0])       # passing the SDPA mask here is a bug
    assert (torch.nan_to_num(flipped, nan=1e9)[:2] - right[:2]).abs().max() > 1e-2


@check("attention.fully-masked-row", dtypes=("float32", "float64"))
def fully_masked_row(t):
    """softmax of an all -inf row is NaN; F.scaled_dot_product_attention returns 0 there, so does the snippet;
    nn.MultiheadAttention returns NaN."""
    assert torch.isnan(torch.softmax(t.put([float("-inf")] * 4), -1)).all()
    q, k, v = _qkv(t, b=1, n=4)
    m = torch.ones(4, 4, dtype=torch.bool, device=q.device)
    m[2] = False                                                 # query 2 may attend to nothing
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    assert torch.equal(ref[0, 2], torch.zeros_like(ref[0, 2])) and torch.isfinite(ref).all()
    qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))
    out, w = at.scaled_dot_product_attention(qg, kg, vg, m)
    assert torch.equal(out[0, 2], torch.zeros_like(out[0, 2])) and torch.equal(w[0, 2], torch.zeros_like(w[0, 2]))
    tol = dict(rtol=t.tol(f64=1e-12, f32=2e-5), atol=t.tol(f64=1e-13, f32=2e-6))
    assert_close(out, ref, **tol)
    out.sum().backward()                                         # and no NaN leaks into the gradients
    assert all(torch.isfinite(x.grad).all() for x in (qg, kg, vg))
    assert torch.equal(qg.grad[0, 2], torch.zeros_like(qg.grad[0, 2]))
    # nn.MultiheadAttention (need_weights=True, its default) with every key padded: NaN
    t.seed_modules()
    mha = nn.MultiheadAttention(8, 2, batch_first=True).to(t.device, t.dtype)
    res, _ = mha(q, q, q, key_padding_mask=torch.ones(1, 4, dtype=torch.bool, device=q.device))
    assert torch.isnan(res).all()


@check("attention.multi-head-matches-torch", dtypes=("float32", "float64"))
def multi_head_matches_torch(t):
    """Project, split into h heads of d/h, attend, concatenate, project = nn.MultiheadAttention."""
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=t.tol(f64=1e-13, f32=1e-6))  # d = 32 accumulations
    x = t.randn(2, 6, 32)
    m = at.causal_mask(6, device=x.device)
    for h in (1, 4, 8):
        t.seed_modules(stream=h)
        mha = nn.MultiheadAttention(32, h, batch_first=True).to(t.device, t.dtype)
        with torch.no_grad():
            mha.in_proj_bias.normal_()             # non-zero biases, so they are tested too
            mha.out_proj.bias.normal_()
        args = (mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias, h)
        assert_close(at.multi_head_attention(x, *args), mha(x, x, x)[0], **tol)
        assert_close(at.multi_head_attention(x, *args, mask=m), mha(x, x, x, attn_mask=~m)[0], **tol)
    # one head of full width is a different function from 8 heads of width 4
    one = at.multi_head_attention(x, *args[:-1], 1)
    assert (one - at.multi_head_attention(x, *args)).abs().max() > 1e-2


@check("attention.mha-parameter-count", devices=("cpu",))
def mha_parameter_count(t):
    """nn.MultiheadAttention has 4d^2 + 4d parameters (4d^2 without biases), whatever the number of heads."""
    for d in (8, 64, 512):
        for h in (1, 2, 8):
            for bias in (True, False):
                # on the meta device: a parameter's numel is its shape's, so no weights are drawn (the d = 512
                # layers' initialization was nearly all of this check's time)
                mha = nn.MultiheadAttention(d, h, bias=bias, device="meta")
                assert all(p.device.type == "meta" for p in mha.parameters())
                count = sum(p.numel() for p in mha.parameters())
                assert count == at.mha_parameter_count(d, h, bias)
                assert count != h * at.mha_parameter_count(d, 1, bias) or h == 1   # "h times as many": wrong
    n512 = t.record("params_512", at.mha_parameter_count(512, 8))
    assert n512 == 1_050_624


@check("attention.permutation-equivariant")
def permutation_equivariant(t):
    """Without positional information, permuting the tokens permutes the output of self-attention (exactly)."""
    x = t.randn(1, 10, 16)
    t.seed_modules()
    mha = nn.MultiheadAttention(16, 4, batch_first=True).to(t.device, t.dtype)
    args = (mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias, 4)
    perm = torch.randperm(10, generator=t.generator(stream=1)).to(t.device)
    y = at.multi_head_attention(x, *args)
    assert_close(at.multi_head_attention(x[:, perm], *args), y[:, perm], rtol=1e-12, atol=1e-14)
    assert_close(mha(x[:, perm], x[:, perm], x[:, perm])[0], mha(x, x, x)[0][:, perm], rtol=1e-12, atol=1e-14)
    # adding the sinusoidal encoding before attention breaks it: the order now matters
    pe = at.sinusoidal_positional_encoding(10, 16).to(t.device, t.dtype)[None]
    y_pe = at.multi_head_attention(x + pe, *args)
    assert (at.multi_head_attention(x[:, perm] + pe, *args) - y_pe[:, perm]).abs().max() > 1e-2
    # so does a causal mask
    m = at.causal_mask(10, device=x.device)
    y_c = at.multi_head_attention(x, *args, mask=m)
    assert (at.multi_head_attention(x[:, perm], *args, mask=m) - y_c[:, perm]).abs().max() > 1e-2


@check("attention.quadratic-cost", devices=("cpu",))
def quadratic_cost(t):
    """softmax(QK^T)V costs n^2 (d_k + d_v) multiply-adds and an n x n score matrix: 4x for 2x the tokens."""
    for n, d in ((64, 16), (128, 16), (128, 64), (256, 32)):
        q, k, v = t.randn(1, n, d), t.randn(1, n, d, stream=1), t.randn(1, n, d, stream=2)
        with FlopCounterMode(display=False) as counter:          # PyTorch's own count (2 flops per multiply-add)
            _, w = at.scaled_dot_product_attention(q, k, v)
        cost = at.attention_cost(n, d)
        assert counter.get_total_flops() == 2 * cost["macs"] == 2 * 2 * n * n * d
        assert w[0].numel() == cost["score_entries"] == n * n
    small, big = at.attention_cost(1024, 64), at.attention_cost(2048, 64)
    growth = t.record("growth_2x_tokens", big["macs"] / small["macs"])
    assert growth == 4.0 and big["score_entries"] / small["score_entries"] == 4.0   # not 2 (linear)
    # a whole nn.MultiheadAttention adds the four d x d projections, 4 n d^2 multiply-adds, linear in n
    # (need_weights=True takes the path of plain matmuls; the fused kernel is not counted by FlopCounterMode)
    n, d = 64, 32
    mha = nn.MultiheadAttention(d, 4, batch_first=True).double()
    x = t.randn(1, n, d)
    with FlopCounterMode(display=False) as counter:
        mha(x, x, x, need_weights=True)
    assert counter.get_total_flops() == 2 * (4 * n * d * d + at.attention_cost(n, d)["macs"])
    # fp32 scores of one head at n = 32768 tokens
    gib = t.record("score_gib_32k", at.attention_cost(32768, 64)["score_entries"] * 4 / 2 ** 30)
    assert gib == 4.0


def _pe_reference(n, d):
    """The paper's formula, element by element, in float64 numpy."""
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(d // 2):
            pe[pos, 2 * i] = math.sin(pos / 10000 ** (2 * i / d))
            pe[pos, 2 * i + 1] = math.cos(pos / 10000 ** (2 * i / d))
    return torch.from_numpy(pe)


@check("attention.sinusoidal-relative-position", devices=("cpu",))
def sinusoidal_relative_position(t):
    """PE(pos + k) = M_k PE(pos) for every pos, with M_k a rotation that depends on k only."""
    n, d = 64, 16
    pe = at.sinusoidal_positional_encoding(n + 40, d)
    assert_close(pe, _pe_reference(n + 40, d), rtol=1e-13, atol=1e-13)
    for k in (1, 5, 40, -3):
        m = at.positional_shift_matrix(k, d)
        assert_close(m @ m.T, torch.eye(d, dtype=torch.float64), rtol=0, atol=1e-14)   # orthogonal
        assert abs(torch.linalg.det(m).item() - 1) < 1e-12                              # a rotation
        lo = max(0, -k)
        assert_close(pe[lo:n] @ m.T, pe[lo + k:n + k], rtol=0, atol=1e-12)          # all positions at once
        # the plausible wrong rule "PE(pos + k) = PE(pos) + PE(k)" fails
        if k > 0:
            assert (pe[lo:n] + pe[k] - pe[lo + k:n + k]).abs().max() > 0.5
    assert_close(at.positional_shift_matrix(2, d), at.positional_shift_matrix(1, d) @ at.positional_shift_matrix(1, d),
                 rtol=0, atol=1e-14)                                                     # M_2 = M_1^2


@check("attention.pe-dot-depends-on-offset", devices=("cpu",))
def pe_dot_depends_on_offset(t):
    """PE(pos) . PE(pos + k) = sum_i cos(k w_i): a function of the offset k only, the same for +k and -k."""
    d = 64
    pe = at.sinusoidal_positional_encoding(200, d)
    omega = torch.tensor([10000 ** (-2 * i / d) for i in range(d // 2)], dtype=torch.float64)
    for k in (0, 1, 7, 50):
        dots = (pe[:200 - k] * pe[k:]).sum(1)
        assert_close(dots, torch.cos(k * omega).sum().expand_as(dots), rtol=0, atol=1e-11)
    assert_close((pe[0] * pe[0]).sum(), torch.tensor(d / 2.0, dtype=torch.float64), rtol=1e-15, atol=0)  # |PE| = sqrt(d/2)
    first = t.record("dot_offset_1", (pe[0] * pe[1]).sum())
    assert round(first.item(), 1) == 30.9
    # symmetric in the sign of k: the dot product cannot tell "before" from "after"
    assert_close((pe[10] * pe[3]).sum(), (pe[10] * pe[17]).sum(), rtol=1e-13, atol=0)


@check("attention.layer-norm-per-token", dtypes=("float32", "float64"))
def layer_norm_per_token(t):
    """LayerNorm normalizes each token over its d hidden features: equals nn.LayerNorm at init."""
    x = 3 * t.randn(4, 7, 32) + 2
    ref = nn.LayerNorm(32).to(t.device, t.dtype)(x)                 # weight 1, bias 0 at init
    tol = t.tol(f64=1e-12, f32=1e-5)                                   # float32: mean/var over 32 values
    assert_close(at.layer_norm(x), ref, rtol=tol, atol=tol)
    y = at.layer_norm(x)
    assert_close(y.mean(-1), torch.zeros(4, 7, dtype=t.dtype, device=t.device), rtol=0, atol=tol)
    var = x.var(-1, unbiased=False)
    assert_close(y.var(-1, unbiased=False), var / (var + 1e-5), rtol=tol, atol=0)  # 1, up to the eps
    # a single token of a single sequence is fine; BatchNorm in training mode refuses one value per channel
    assert_close(at.layer_norm(x[0, 0]), ref[0, 0], rtol=tol, atol=tol)
    try:
        nn.BatchNorm1d(32).to(t.device, t.dtype).train()(x[0, :1])
    except ValueError:
        pass
    else:
        raise AssertionError("BatchNorm1d accepted a batch of one value per channel")


@check("attention.batch-norm-mixes-tokens")
def batch_norm_mixes_tokens(t):
    """BN's output for a token changes when other sequences (or the padding) change; LN's does not."""
    x = t.randn(3, 6, 16)                                    # (batch, tokens, hidden)
    bn = nn.BatchNorm1d(16).to(t.device, t.dtype).train()   # statistics over batch and tokens, per feature
    ln = nn.LayerNorm(16).to(t.device, t.dtype)
    bn_of = lambda z: bn(z.transpose(1, 2)).transpose(1, 2)
    other = x.clone()
    other[1:] = 5 * t.randn(2, 6, 16, stream=1) + 3          # different other sequences in the batch
    padded = x.clone()
    padded[0, 4:] = 0.0                                      # the pad tokens' values (say 0 instead of random)
    assert torch.equal(ln(other)[0], ln(x)[0])               # LN: bit-for-bit the same
    assert torch.equal(ln(padded)[0, :4], ln(x)[0, :4])
    assert (bn_of(other)[0] - bn_of(x)[0]).abs().max() > 0.1  # BN: token 0 of sequence 0 moved
    assert (bn_of(padded)[0, :4] - bn_of(x)[0, :4]).abs().max() > 1e-3


def _layer(t, d, norm_first, stream):
    t.seed_modules(stream)
    layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, norm_first=norm_first, batch_first=True)
    return layer.to(t.device, t.dtype)


@check("attention.pre-norm-identity-path")
def pre_norm_identity_path(t):
    """x + F(LN(x)) and LN(x + F(x)) are PyTorch's norm_first=True/False layers; with the branches silenced,
    a pre-norm stack is exactly the identity and a post-norm stack is not."""
    x = 2 * t.randn(2, 5, 16) + 1
    for norm_first in (True, False):
        layer = _layer(t, 16, norm_first, stream=int(norm_first)).eval()
        attn = lambda z: layer.self_attn(z, z, z, need_weights=False)[0]
        ffn = lambda z: layer.linear2(layer.activation(layer.linear1(z)))
        block = at.pre_norm_block if norm_first else at.post_norm_block
        mine = block(block(x, attn, layer.norm1), ffn, layer.norm2)
        assert_close(mine, layer(x), rtol=1e-12, atol=1e-13)
        # one unbatched (n, d) sequence works too, as in nn.TransformerEncoderLayer
        assert_close(block(block(x[0], attn, layer.norm1), ffn, layer.norm2), layer(x[0]), rtol=1e-12, atol=1e-13)
    # zero the last projection of every branch: F = 0
    stacks = {}
    for norm_first in (True, False):
        layers = [_layer(t, 16, norm_first, stream=10 + i) for i in range(4)]
        for layer in layers:
            for p in (layer.self_attn.out_proj.weight, layer.self_attn.out_proj.bias,
                      layer.linear2.weight, layer.linear2.bias):
                nn.init.zeros_(p)
        stacks[norm_first] = lambda z, ls=layers: _run(ls, z)
    assert torch.equal(stacks[True](x), x)                  # pre-norm: the identity, to the bit
    # vectorize=True: autograd's 16 vector-Jacobian products (one per output) in one batched backward pass
    jac = torch.autograd.functional.jacobian(stacks[True], x[:1, :1], vectorize=True).reshape(16, 16)
    assert torch.equal(jac, torch.eye(16, dtype=t.dtype, device=t.device))
    post = stacks[False](x)                                 # post-norm: LN(...LN(x)), the mean is gone
    lns = x
    for _ in range(8):                                       # two LNs per layer, nothing else
        lns = F.layer_norm(lns, (16,))
    assert_close(post, lns, rtol=1e-12, atol=1e-12)
    assert (post - x).abs().max() > 0.5
    jac_post = torch.autograd.functional.jacobian(stacks[False], x[:1, :1], vectorize=True).reshape(16, 16)
    # LN's Jacobian projects out the token's mean and (up to eps) its scale: two directions of the gradient are lost
    sv = torch.linalg.svdvals(jac_post)
    assert sv[-1] < 1e-12 * sv[0] and sv[-2] < 1e-3 * sv[0] and sv[-3] > 0.5 * sv[0]


def _run(layers, z):
    for layer in layers:
        z = layer(z)
    return z


def _grad_norms(t, norm_first, seed_stream, depth=6, d=64):
    """Per-layer gradient norms of the last FFN matrix at init (Xavier, zero biases, as Xiong et al. 2020)."""
    layers = [_layer(t, d, norm_first, stream=seed_stream * 100 + i) for i in range(depth)]
    # Xavier-normal, N(0, 2 / (fan_in + fan_out)), drawn in float32 on the CPU from one generator (torch's float32
    # sampler is about five times faster than the float64 normal_ of xavier_normal_); the same draws for both variants
    g = t.generator(seed_stream * 100 + 99)
    with torch.no_grad():
        for layer in layers:
            for name, p in layer.named_parameters():
                if p.dim() == 2:
                    fan_out, fan_in = p.shape
                    p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * math.sqrt(2 / (fan_in + fan_out)))
                elif "norm" not in name:
                    nn.init.zeros_(p)
    final = nn.LayerNorm(d).to(t.device, t.dtype) if norm_first else nn.Identity()
    x, r = t.randn(4, 16, d, stream=seed_stream), t.randn(4, 16, d, stream=seed_stream + 1)
    h, scales = x, []
    for layer in layers:
        h = layer(h)
        scales.append(h.std().item())
    (final(h) * r).sum().backward()                        # a fixed random linear read-out as the loss
    return [layer.linear2.weight.grad.norm().item() for layer in layers], scales


@check("attention.post-norm-larger-last-layer-grad", kind="demonstration")
def post_norm_larger_last_layer_grad(t):
    """At init, the last layer's gradient is larger in post-norm than in pre-norm, whose residual stream grows
    and is divided by the final LN (demonstration, 6 layers)."""
    post, post_scales = _grad_norms(t, False, seed_stream=1)
    pre, pre_scales = _grad_norms(t, True, seed_stream=1)
    assert all(abs(s - 1) < 0.01 for s in post_scales)     # post-norm: every layer output is LN'd (std ~ 1)
    assert all(a < b for a, b in zip(pre_scales, pre_scales[1:]))   # pre-norm: the stream keeps growing
    ratio = t.record("last_layer_ratio", post[-1] / pre[-1])
    # measured over seeds 0-59 (float32 Xavier draws): 1.55 .. 1.98; the margin 1.3 leaves room
    assert 1.3 < ratio < 2.5
    assert pre[0] > 1.3 * pre[-1]                           # pre-norm: later layers get smaller gradients
