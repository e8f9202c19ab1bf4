"""Scaled dot-product and multi-head attention, masks, positional encoding and the norms around them."""
import math

import torch

from snippets._validate import check_positive_int, check_tensor


# --8<-- [start:sdpa]
def attention_scores(q, k):
    """Logits q k^T / sqrt(d_k) of scaled dot-product attention (Vaswani et al. 2017, eq. 1)."""
    check_tensor(q, "q", min_ndim=2)
    check_tensor(k, "k", min_ndim=2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share the last dimension d_k, got {q.shape[-1]} and {k.shape[-1]}")
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # unit variance when q, k have unit variance


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k)) v; mask is boolean, True = may attend. Returns (output, weights).

    A query row whose keys are all masked gets weights 0 and output 0 (a deliberate choice:
    plain softmax would give 0/0 = NaN there).
    """
    check_tensor(v, "v", min_ndim=2)
    scores = attention_scores(q, k)
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of keys, got {k.shape[-2]} and {v.shape[-2]}")
    if mask is not None:
        check_tensor(mask, "mask", floating=False)
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must have dtype torch.bool (True = may attend), got {mask.dtype}")
        dead = ~mask.any(dim=-1, keepdim=True)               # rows with no key left
        scores = scores.masked_fill(~mask, float("-inf"))   # e^-inf = 0: masked keys get weight 0
        scores = scores.masked_fill(dead, 0.0)               # keep softmax finite on dead rows ...
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(dead, 0.0)             # ... then zero them: no NaN, forward or backward
    return weights @ v, weights
# --8<-- [end:sdpa]


# --8<-- [start:masks]
def causal_mask(n, device=None):
    """n x n boolean mask, True on and below the diagonal: token i sees tokens 0..i only."""
    check_positive_int(n, "n")
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def padding_mask(lengths, n):
    """(batch, 1, n) boolean key mask, True for the first lengths[b] keys of sequence b."""
    check_tensor(lengths, "lengths", ndim=1, floating=False)
    check_positive_int(n, "n")
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must have an integer dtype, got {lengths.dtype}")
    if (lengths < 0).any() or (lengths > n).any():
        raise ValueError(f"lengths must be integers in [0, n={n}], got {lengths.tolist()}")
    keys = torch.arange(n, device=lengths.device)
    return (keys < lengths[:, None])[:, None, :]            # broadcasts over the query axis
# --8<-- [end:masks]


# --8<-- [start:multi-head]
def multi_head_attention(x, w_in, b_in, w_out, b_out, num_heads, mask=None):
    """Self-attention with h heads: project to Q, K, V, split d into h slices, attend, concat, project."""
    check_tensor(x, "x", ndim=3)                             # (batch, n, d)
    check_positive_int(num_heads, "num_heads")
    batch, n, d = x.shape
    if d % num_heads:
        raise ValueError(f"num_heads={num_heads} must divide the model dimension d={d}")
    check_tensor(w_in, "w_in", ndim=2)
    if w_in.shape != (3 * d, d):
        raise ValueError(f"w_in must have shape (3d, d) = {(3 * d, d)}, got {tuple(w_in.shape)}")
    q, k, v = torch.nn.functional.linear(x, w_in, b_in).chunk(3, dim=-1)
    split = lambda t: t.view(batch, n, num_heads, d // num_heads).transpose(1, 2)  # (batch, h, n, d/h)
    out, _ = scaled_dot_product_attention(split(q), split(k), split(v), mask)
    return torch.nn.functional.linear(out.transpose(1, 2).reshape(batch, n, d), w_out, b_out)


def mha_parameter_count(d_model, num_heads, bias=True):
    """4 d^2 weights (W_Q, W_K, W_V, W_O) + 4 d biases; the number of heads only slices d."""
    check_positive_int(d_model, "d_model")
    check_positive_int(num_heads, "num_heads")
    if d_model % num_heads:
        raise ValueError(f"num_heads={num_heads} must divide d_model={d_model}")
    return 4 * d_model * d_model + (4 * d_model if bias else 0)
# --8<-- [end:multi-head]


# --8<-- [start:cost]
def attention_cost(n, d_k, d_v=None):
    """Multiply-adds of softmax(QK^T)V for n tokens (QK^T: n*n*d_k, AV: n*n*d_v) and the n x n scores."""
    check_positive_int(n, "n")
    check_positive_int(d_k, "d_k")
    d_v = d_k if d_v is None else d_v
    check_positive_int(d_v, "d_v")
    return {"macs": n * n * d_k + n * n * d_v, "score_entries": n * n}
# --8<-- [end:cost]


# --8<-- [start:positional]
def sinusoidal_positional_encoding(n_positions, d_model):
    """PE[pos, 2i] = sin(pos w_i), PE[pos, 2i+1] = cos(pos w_i), w_i = 10000^(-2i/d) (Vaswani et al. §3.5)."""
    check_positive_int(n_positions, "n_positions")
    _check_even(d_model)
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    omega = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.empty(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * omega)
    pe[:, 1::2] = torch.cos(pos * omega)
    return pe


def positional_shift_matrix(k, d_model):
    """M_k with PE(pos + k) = M_k PE(pos) for every pos: one 2x2 rotation by k w_i per frequency."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k must be an int (an offset in positions), got {type(k).__name__}")
    _check_even(d_model)
    omega = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    c, s = torch.cos(k * omega), torch.sin(k * omega)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    m[0::2, 0::2] = torch.diag(c)    # sin((p+k)w) =  cos(kw) sin(pw) + sin(kw) cos(pw)
    m[0::2, 1::2] = torch.diag(s)
    m[1::2, 0::2] = torch.diag(-s)   # cos((p+k)w) = -sin(kw) sin(pw) + cos(kw) cos(pw)
    m[1::2, 1::2] = torch.diag(c)
    return m
# --8<-- [end:positional]


def _check_even(d_model):
    check_positive_int(d_model, "d_model")
    if d_model % 2:
        raise ValueError(f"d_model must be even (sin/cos pairs), got {d_model}")


# --8<-- [start:norms]
def layer_norm(x, eps=1e-5):
    """Normalize each token over its hidden (last) axis: no batch statistics (Ba et al. 2016)."""
    check_tensor(x, "x", min_ndim=1)
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)   # biased variance, as nn.LayerNorm
    return (x - mean) / torch.sqrt(var + eps)


def post_norm_block(x, sublayer, norm):
    """Original Transformer: x -> LN(x + F(x)); the norm sits on the residual path."""
    _check_block(x, sublayer, norm)
    return norm(x + sublayer(x))


def pre_norm_block(x, sublayer, norm):
    """Pre-LN Transformer: x -> x + F(LN(x)); the residual path is a plain sum (Xiong et al. 2020)."""
    _check_block(x, sublayer, norm)
    return x + sublayer(norm(x))
# --8<-- [end:norms]


def _check_block(x, sublayer, norm):
    check_tensor(x, "x", min_ndim=2)
    for f, name in ((sublayer, "sublayer"), (norm, "norm")):
        if not callable(f):
            raise TypeError(f"{name} must be callable (a module or function), got {type(f).__name__}")
