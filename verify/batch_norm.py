"""Checks for docs/*/batch_norm.md. Oracles: torch.nn.BatchNorm1d/2d, F.batch_norm, autograd, closed forms."""
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets import batch_norm as bn
from verify._registry import check


def _data(t, n=32, c=5):
    """Unit-variance columns plus one column whose batch variance (~1e-6) is below eps = 1e-5.

    On unit-variance data alone, eps outside the root changes x_hat by a relative eps/2 at most (5e-6; about
    1e-5 in absolute terms), so a comparison with F.batch_norm could not tell the two placements apart.
    """
    x = t.randn(n, c)
    x[:, -1] *= 1e-3
    return x


# F.batch_norm refuses eps = 0 in training; 1e-300 is below half an ulp of any variance here, so var + eps == var
_EPS0 = 1e-300


def _affine(t, c, stream=7):
    return 1 + 0.5 * t.randn(c, stream=stream), t.randn(c, stream=stream + 1)


@check("batch_norm.algorithm", dtypes=("float32", "float64"))
def algorithm(t):
    """Alg. 1: (x - mu_B)/sqrt(var_B + eps) with the biased variance, then gamma x_hat + beta; the upstream
    variants (x + mu) and eps outside the root, and the unbiased variance, are all rejected."""
    x = _data(t)
    gamma, beta = _affine(t, x.shape[1])
    ref = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
    # float32: per-channel sums of 32 values and one rsqrt; measured max error 9.5e-7 over seeds 0-19
    tol = t.tol(f64=1e-12, f32=5e-6)
    assert_close(bn.batch_norm_train(x, gamma, beta), ref, rtol=0, atol=tol)
    layer = nn.BatchNorm1d(x.shape[1]).to(t.device, t.dtype).train()
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    assert_close(layer(x), ref, rtol=0, atol=tol)
    # the wrong formulas, computed from float64 numbers so the comparison is not about rounding
    x64, g64, b64, r64 = (v.double() for v in (x, gamma, beta, ref))
    mu, var = x64.mean(0), x64.var(0, unbiased=False)
    wrong = {"err_plus_mu": (x64 + mu) / torch.sqrt(var + 1e-5),            # upstream: x + mu
             "err_eps_outside": (x64 - mu) / (torch.sqrt(var) + 1e-5),      # upstream: eps outside the root
             "err_unbiased": (x64 - mu) / torch.sqrt(x64.var(0) + 1e-5)}   # the m - 1 variance
    for name, x_hat in wrong.items():  # seed 0: 0.60, 3.13, 0.052; smallest over seeds 0-299: 0.092, 0.062, 0.026
        err = t.record(name, (g64 * x_hat + b64 - r64).abs().max().item())
        assert err > 1e-2, name
    # why the low-variance channel is needed: on the unit-variance channels eps outside the root changes x_hat by
    # the relative amount 1 - sqrt(v + eps)/(sqrt(v) + eps) ~ eps (1/sqrt(v) - 1/(2v)) <= eps/2 (equality at v = 1)
    u, mu_u, var_u = x64[:, :-1], mu[:-1], var[:-1]
    inside, outside = (u - mu_u) / torch.sqrt(var_u + 1e-5), (u - mu_u) / (torch.sqrt(var_u) + 1e-5)
    rel = t.record("eps_rel_change", ((inside - outside) / inside).abs().max().item())
    absolute = t.record("eps_abs_change", (inside - outside).abs().max().item())  # seed 0: 1.4e-5 at |x_hat| 2.9
    assert 1e-6 < rel <= 5e-6 * (1 + 1e-6) and 1e-6 < absolute < 1e-4
    # two values per channel are enough (the smallest batch BN accepts in training)
    pair = x64[:2]
    assert_close(bn.batch_statistics(pair)[1], pair.var(0, unbiased=False), rtol=1e-12, atol=0)


@check("batch_norm.running-stats", dtypes=("float32", "float64"))
def running_stats(t):
    """Train mode updates running_mean <- 0.9 r + 0.1 mu_B and running_var <- 0.9 r + 0.1 s^2 (unbiased, m - 1)."""
    for shape in ((32, 5), (4, 3, 5, 5)):  # in 2-D maps the unbiased divisor is N*H*W - 1, not N - 1
        layer = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(shape[1]).to(t.device, t.dtype).train()
        rm = torch.zeros(shape[1], dtype=t.dtype, device=t.device)
        rv = torch.ones_like(rm)
        for stream in range(3):
            x = 2 * t.randn(*shape, stream=stream) + 1
            layer(x)
            rm, rv = bn.update_running_stats(rm, rv, x)
        assert layer.momentum == 0.1 and layer.num_batches_tracked.item() == 3
        tol = t.tol(f64=1e-13, f32=5e-6)  # float32: a few roundings of numbers ~4; measured <= 2.4e-7 (seeds 0-19)
        assert_close(layer.running_mean, rm, rtol=0, atol=tol)
        assert_close(layer.running_var, rv, rtol=0, atol=tol)
        # the biased variance would leave running_var lower by 0.1 * var / (m - 1) per step: >= 1e-3 here
        x = 2 * t.randn(*shape, stream=9) + 1
        before = layer.running_var.clone()
        layer(x)
        dims = [0, *range(2, x.dim())]
        biased = 0.9 * before + 0.1 * x.var(dims, unbiased=False)
        assert (layer.running_var - biased).min() > 1e-4


@check("batch_norm.eval-uses-running-stats", dtypes=("float32", "float64"))
def eval_uses_running_stats(t):
    """In eval mode BN is the fixed map gamma (x - running_mean)/sqrt(running_var + eps) + beta, so each
    sample's output no longer depends on the rest of the batch."""
    layer = nn.BatchNorm1d(5).to(t.device, t.dtype)
    with torch.no_grad():
        layer.weight.copy_(_affine(t, 5)[0])
        layer.bias.copy_(_affine(t, 5)[1])
    for stream in range(3):
        layer(3 * t.randn(16, 5, stream=stream) - 2)
    layer.eval()
    x = t.randn(8, 5, stream=5)
    expected = bn.batch_norm_eval(x, layer.running_mean, layer.running_var, layer.weight, layer.bias)
    assert_close(layer(x), expected, rtol=0, atol=t.tol(f64=1e-13, f32=5e-6))  # f32 measured <= 2.4e-7
    # the same elementwise formula whatever the batch: at most a few ulps apart (identical on the CPU)
    assert_close(layer(x[:1]), layer(x)[:1], rtol=0, atol=t.tol(f64=1e-13, f32=1e-6))
    # and it is not the batch-statistics formula
    assert (layer(x) - F.batch_norm(x, None, None, layer.weight, layer.bias, training=True)).abs().max() > 0.1


@check("batch_norm.gamma-beta-restore")
def gamma_beta_restore(t):
    """With gamma = sqrt(var_B + eps) and beta = mu_B, training-mode BN returns its input exactly."""
    z = 3 * t.randn(64, 3) + 5
    z[:, 2] = 0.01 * z[:, 2]  # a low-variance channel (var ~ 1e-3) makes the eps visible
    layer = nn.BatchNorm1d(3).to(t.device, t.dtype).train()
    gamma, beta = bn.identity_affine(z)
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    assert_close(layer(z), z, rtol=1e-12, atol=1e-12)
    # the paper's gamma = sqrt(Var[x]) (no eps) is the same idea up to the factor sqrt(var / (var + eps))
    with torch.no_grad():
        layer.weight.copy_(z.var(0, unbiased=False).sqrt())
    assert (layer(z) - z).abs()[:, 2].max() > 1e-5


@check("batch_norm.two-params-per-channel")
def two_params_per_channel(t):
    """BN learns one (gamma, beta) per channel: 2C parameters; running mean/var are buffers, not parameters."""
    layer = nn.BatchNorm1d(37)
    assert [tuple(p.shape) for p in layer.parameters()] == [(37,), (37,)]
    assert sum(p.numel() for p in layer.parameters()) == 74
    assert {name for name, _ in layer.named_buffers()} == {"running_mean", "running_var", "num_batches_tracked"}
    conv_bn = nn.BatchNorm2d(6).to(t.device, t.dtype)
    assert sum(p.numel() for p in conv_bn.parameters()) == 12  # not 2 * 6 * 100 * 100 = 120000
    conv_bn(t.randn(2, 6, 100, 100)).pow(2).sum().backward()
    assert conv_bn.weight.grad.shape == (6,) and conv_bn.running_var.grad is None


@check("batch_norm.conv-per-channel", dtypes=("float32", "float64"))
def conv_per_channel(t):
    """BatchNorm2d treats a feature map as one neuron: statistics per channel over N*H*W values."""
    x = t.randn(4, 6, 5, 5)
    gamma, beta = _affine(t, 6)
    bn2d = nn.BatchNorm2d(6).to(t.device, t.dtype).train()
    bn1d = nn.BatchNorm1d(6).to(t.device, t.dtype).train()
    with torch.no_grad():
        for layer in (bn2d, bn1d):
            layer.weight.copy_(gamma)
            layer.bias.copy_(beta)
    tol = t.tol(f64=1e-12, f32=5e-6)  # float32: sums of 100 values; measured max error 9.5e-7 over seeds 0-19
    y = bn2d(x)
    pixels = x.permute(0, 2, 3, 1).reshape(-1, 6)  # every pixel of every image is one "sample" of its channel
    assert_close(y, bn1d(pixels).reshape(4, 5, 5, 6).permute(0, 3, 1, 2), rtol=0, atol=tol)
    assert_close(y, bn.batch_norm_train(x, gamma, beta), rtol=0, atol=tol)
    assert_close(bn2d.running_var, bn1d.running_var, rtol=0, atol=t.tol(f64=1e-14, f32=2e-6))  # values ~1
    # per-neuron BN (a separate statistic for every channel *and* pixel, over N only) is a different map
    per_neuron = F.batch_norm(x.reshape(4, -1), None, None, training=True).reshape(x.shape)
    assert (gamma.view(1, -1, 1, 1) * per_neuron + beta.view(1, -1, 1, 1) - y).abs().max() > 0.1


@check("batch_norm.scale-invariance")
def scale_invariance(t):
    """Weights followed by BN are scale-invariant: BN(aWx) = BN(Wx), the gradient w.r.t. aW is grad/a and is
    orthogonal to W, so SGD's relative update shrinks as 1/a^2 (eps = 0 makes these exact)."""
    x, c = t.randn(32, 10), t.randn(32, 8, stream=1)
    w = t.randn(8, 10, stream=2)

    def loss_and_grad(weight):
        weight = weight.clone().requires_grad_(True)
        out = F.batch_norm(x @ weight.T, None, None, training=True, eps=_EPS0)
        loss = (c * out).sum()
        loss.backward()
        return out.detach(), weight.grad

    out1, g1 = loss_and_grad(w)
    out10, g10 = loss_and_grad(10 * w)
    assert_close(out10, out1, rtol=1e-12, atol=1e-12)
    assert_close(g10, g1 / 10, rtol=1e-10, atol=1e-14)
    assert (g1 - g10).abs().max() > 0.5 * g1.abs().max()  # "the gradient does not depend on the scale" is false
    assert_close((w * g1).sum(1), torch.zeros(8, dtype=t.dtype, device=t.device), rtol=0, atol=1e-12)
    lr = 0.1
    rel1 = (lr * g1).norm() / w.norm()
    rel10 = (lr * g10).norm() / (10 * w).norm()
    assert_close(rel1 / rel10, torch.tensor(100.0, dtype=t.dtype, device=t.device), rtol=1e-10, atol=0)
    # an SGD step on a scale-invariant weight can only grow its norm: |W - lr g|^2 = |W|^2 + lr^2 |g|^2
    assert (w - lr * g1).norm() > w.norm()


@check("batch_norm.train-depends-on-batch")
def train_depends_on_batch(t):
    """In train mode a sample's BN output depends on the other samples of its batch; in eval mode it does not."""
    layer = nn.BatchNorm1d(4).to(t.device, t.dtype)
    x0 = t.randn(1, 4)
    batch_a = torch.cat([x0, t.randn(7, 4, stream=1)])
    batch_b = torch.cat([x0, t.randn(7, 4, stream=2) + 1])
    layer.train()
    assert (layer(batch_a)[0] - layer(batch_b)[0]).abs().max() > 1e-2
    layer.eval()
    assert_close(layer(batch_a)[0], layer(batch_b)[0], rtol=0, atol=1e-13)  # same formula, at most a few ulps


@check("batch_norm.batch-of-one")
def batch_of_one(t):
    """Training-mode BatchNorm1d rejects a batch of one sample (ValueError); eval mode and LayerNorm work."""
    x = t.randn(1, 4)
    layer = nn.BatchNorm1d(4).to(t.device, t.dtype).train()
    for fn in (layer, lambda v: bn.batch_norm_train(v, torch.ones_like(v[0]), torch.zeros_like(v[0]))):
        try:
            fn(x)
        except ValueError as e:
            assert "value per channel" in str(e)
        else:
            raise AssertionError("a batch of one was accepted in training mode")
    assert torch.isfinite(layer.eval()(x)).all()  # running statistics need no batch
    # a 2-D map has H*W values per channel even for N = 1, so BatchNorm2d trains (on one image's statistics)
    assert nn.BatchNorm2d(3).to(t.device, t.dtype).train()(t.randn(1, 3, 2, 2)).shape == (1, 3, 2, 2)
    ln = nn.LayerNorm(4).to(t.device, t.dtype)
    assert_close(ln(x), (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-5), rtol=0, atol=1e-12)


def _train_classifier_matches_a_plain_loop(t):
    """train_classifier is SGD(lr=0.1, momentum=0.9) on cross-entropy over torch.randint(0, n) batches drawn
    from `generator`, steps 1..steps, eval-mode full-data losses at multiples of eval_every and at the end."""
    g = t.generator(5)
    x = torch.randn(12, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (12,), generator=g)
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sigmoid(), nn.Linear(4, 2)).double()
    ref_net = copy.deepcopy(net)
    got = bn.train_classifier(net, x, y, steps=5, batch_size=4, generator=torch.Generator().manual_seed(11),
                              eval_every=2)
    opt = torch.optim.SGD(ref_net.parameters(), lr=0.1, momentum=0.9)
    gen, ref = torch.Generator().manual_seed(11), []
    for step in range(1, 6):
        idx = torch.randint(0, 12, (4,), generator=gen)
        ref_net.train()
        loss = F.cross_entropy(ref_net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in (2, 4, 5):
            ref_net.eval()
            with torch.no_grad():
                ref.append(F.cross_entropy(ref_net(x), y).item())
    assert len(got) == 3
    assert_close(torch.tensor(got), torch.tensor(ref), rtol=1e-12, atol=0)
    try:
        bn.train_classifier(net, x, y[:5], steps=1, batch_size=2)
    except ValueError as e:
        assert "x has 12 rows but y has 5" in str(e), str(e)
    else:
        raise AssertionError("mismatched x and y were accepted")


@check("batch_norm.convergence-demo", dtypes=("float32",), kind="demonstration")
def convergence_demo(t):
    """6 sigmoid layers, 150 SGD steps: with BN the loss falls far below ln 2, without BN it stays near it."""
    _train_classifier_matches_a_plain_loop(t)
    g = t.generator()
    x = 3 * torch.randn(512, 20, generator=g) + 1
    y = ((x - 1) @ torch.randn(20, generator=g) > 0).long()
    x, y = x.to(t.device, t.dtype), y.to(t.device)
    final = {}
    for use_bn in (False, True):
        t.seed_modules(stream=1)
        net = bn.sigmoid_mlp(20, 32, 6, 2, batch_norm=use_bn).to(t.device, t.dtype)
        final[use_bn] = bn.train_classifier(net, x, y, steps=150, batch_size=64, generator=t.generator(2))[-1]
    # train_classifier must report the test-time (eval-mode, running-statistics) loss: recompute it here, and
    # check that the train-mode loss (batch statistics of all 512 rows) is a different number
    with torch.no_grad():
        eval_loss = F.cross_entropy(copy.deepcopy(net).eval()(x), y).item()
        train_loss = F.cross_entropy(copy.deepcopy(net).train()(x), y).item()
    assert not net.training
    assert abs(final[True] - eval_loss) < 1e-6  # float32: the same computation, at most a few roundings apart
    assert abs(final[True] - train_loss) > 1e-4  # measured 9e-4 - 5e-2 over seeds 0-11
    no_bn, with_bn = t.record("loss_without_bn", final[False]), t.record("loss_with_bn", final[True])
    # measured over seeds 0-29: no BN 0.690-0.731 (ln 2 = 0.693), BN 0.040-0.136, gap 0.576-0.684
    assert abs(no_bn - math.log(2)) < 0.05 and with_bn < 0.2 and no_bn - with_bn > 0.5


def _dropout_bn_running_var(t, keep):
    x = 2 * t.randn(64_000, 4) + 1  # mean 1, variance 4; 128 batches of 500
    t.seed_modules(stream=1)
    drop = nn.Dropout(1 - keep).train()
    norm = nn.BatchNorm1d(4, affine=False, momentum=None).to(t.device, t.dtype).train()  # plain average
    for batch in x.split(500):
        norm(drop(batch))
    return norm.running_var


@check("batch_norm.dropout-variance-shift", dtypes=("float32", "float64"), kind="statistical")
def dropout_variance_shift(t):
    """BN after inverted dropout (keep q = 0.5) learns Var = (sigma^2 + mu^2)/q - mu^2 = 9 but sees 4 at test time."""
    # oracle for the formula: the law of total variance over the mask, Var(Y) = E[Var(Y|M)] + Var(E[Y|M])
    # = q sigma^2/q^2 + mu^2 (1 - q)/q, a different route to the same number; mu != 0 and q != 1/2 included
    for mu_, var_, q in ((1.0, 4.0, 0.5), (-0.7, 2.3, 0.8), (3.0, 0.5, 0.1)):
        train, test = bn.dropout_variance_shift(mu_, var_, q)
        assert math.isclose(train, var_ / q + mu_ ** 2 * (1 - q) / q, rel_tol=1e-12) and test == var_
        assert not math.isclose(train, var_ / q, rel_tol=1e-3)  # "the variance grows by 1/q" forgets the mean
    mean, var, keep = 1.0, 4.0, 0.5
    train_var, test_var = bn.dropout_variance_shift(mean, var, keep)
    t.record("train_var", train_var), t.record("test_var", test_var)
    rv = _dropout_bn_running_var(t, keep)
    # Y = mask * X / q has raw moments E[X^k] / q^(k-1): E[Y^2..4] = 10, 52, 584, central mu4 = 433.
    # Var(s^2) of one batch of 500 ~ (mu4 - sigma^4 (n-3)/(n-1)) / n = 0.70; the mean of 128 batches has SD 0.074,
    # small enough that 6 SE around 9 and 6 SE around the wrong value 8 do not overlap.
    se = t.record("se", math.sqrt((433 - 81 * 497 / 499) / 500 / 128))
    assert round(se, 3) == 0.074
    assert ((rv - train_var).abs() < 6 * se).all(), rv
    for wrong in (test_var, var / keep):  # "dropout keeps the variance", "variance grows by 1/q": both rejected
        assert ((rv - wrong).abs() > 6 * se).all()


@check("batch_norm.small-batch-error", devices=("cpu",), kind="statistical")
def small_batch_error(t):
    """Normalizing with batch instead of population statistics costs E[(x_hat_B - x_hat)^2] = 2 - 2 E[s_B]
    (about 3/(2m)): 0.87 at m = 2, 0.024 at m = 64."""
    errors = []
    for m in (2, 4, 16, 64):
        k = 200_000 // m
        z = t.randn(m, k, stream=m)  # k independent batches of m standard-normal values, one per column
        x_hat = F.batch_norm(z, None, None, training=True, eps=_EPS0)
        per_batch = (x_hat - z).pow(2).mean(0)  # population statistics are (0, 1)
        se = per_batch.std() / math.sqrt(k)  # empirical SE of k independent replicates
        assert abs(per_batch.mean().item() - bn.expected_normalization_error(m)) < 6 * se.item(), m
        errors.append(t.record(f"error_m{m}", bn.expected_normalization_error(m)))
    assert all(a > b for a, b in zip(errors, errors[1:])) and errors[0] / errors[-1] > 30
    # the closed form against an independent route: E[s_B] by numerical integration of the chi density
    for m, err in zip((2, 4, 16, 64), errors):
        k = m - 1  # m s_B^2 ~ chi^2_k, so s_B = sqrt(c / m) with c ~ chi^2_k
        c = torch.linspace(1e-9, 400, 400_001, dtype=torch.float64)
        density = torch.exp((k / 2 - 1) * torch.log(c) - c / 2 - (k / 2) * math.log(2) - math.lgamma(k / 2))
        mean_s = torch.trapezoid(torch.sqrt(c / m) * density, c).item()
        assert abs(err - (2 - 2 * mean_s)) < 1e-6, m
    assert round(errors[0], 2) == 0.87 and round(errors[-1], 3) == 0.024


@check("batch_norm.sorted-batches", devices=("cpu",), kind="statistical")
def sorted_batches(t):
    """Class-sorted batches: every batch mean is off by ~2 and BN erases the class difference of the feature;
    shuffled batches have the sampling error of random batches and keep it."""
    rng = t.rng()
    n, size = 10_000, 100
    x = torch.as_tensor(rng.normal(size=n) + torch.repeat_interleave(torch.tensor([-2.0, 2.0]), n // 2).numpy())
    label = torch.arange(n) >= n // 2
    batch_means = x.view(-1, size).mean(1)
    # each batch mean is N(+-2, 1/100) and the global mean is within 6 * 0.01 of 0, so |diff| > 2 - 0.6 - 0.06
    assert ((batch_means - x.mean()).abs() > 1.3).all()
    # BN per sorted batch (the snippet, checked against F.batch_norm): both classes end up with mean 0, the
    # feature no longer separates them
    one, zero = torch.ones(size, dtype=x.dtype), torch.zeros(size, dtype=x.dtype)
    y_sorted = bn.batch_norm_train(x.view(-1, size).T, one, zero).T.reshape(-1)
    assert_close(y_sorted, F.batch_norm(x.view(-1, size).T, None, None, training=True).T.reshape(-1),
                 rtol=0, atol=1e-12)
    assert y_sorted[label].mean().abs() < 1e-12 and y_sorted[~label].mean().abs() < 1e-12
    # and nn.BatchNorm1d fed one epoch of sorted batches keeps, for eval mode, a running mean close to the
    # LAST class's mean (+2), not the global mean 0: 0.9^50 of the first class survives the momentum 0.1 EMA
    layer = nn.BatchNorm1d(1, dtype=x.dtype)
    for batch in x.view(-1, size, 1):
        layer(batch)
    assert abs(t.record("sorted_running_mean", layer.running_mean.item()) - 2) < 0.1
    # the weight the EMA still gives the first 50 batches, measured on a second layer fed 50 batches of
    # ones and then 50 of zeros: (1 - 0.9^50) 0.9^50, printed as about 0.9^50 = 0.5 %
    probe = nn.BatchNorm1d(1, dtype=x.dtype)
    for value in [1.0] * 50 + [0.0] * 50:
        probe(torch.full((size, 1), value, dtype=x.dtype))
    survived = probe.running_mean.item()
    assert math.isclose(survived, (1 - 0.9 ** 50) * 0.9 ** 50, rel_tol=1e-9)
    assert round(t.record("first_class_weight", survived), 3) == 0.005
    assert round(t.record("class_gap_expected", 4 / math.sqrt(5)), 2) == 1.79
    # shuffled: a random batch is a sample without replacement, E[(mean_B - mean)^2] = (var/n_B)(N-n_B)/(N-1)
    expected = x.var(unbiased=False).item() / size * (n - size) / (n - 1)
    replicates, gaps = [], []
    for _ in range(100):
        perm = torch.as_tensor(rng.permutation(n))
        xs, ls = x[perm].view(-1, size), label[perm].view(-1, size)
        replicates.append((xs.mean(1) - x.mean()).pow(2).mean().item())
        ys = F.batch_norm(xs.T, None, None, training=True).T
        gaps.append((ys[ls].mean() - ys[~ls].mean()).item())
    reps = torch.tensor(replicates, dtype=torch.float64)
    assert abs(reps.mean().item() - expected) < 6 * reps.std().item() / 10  # 100 replicates: SE = SD / 10
    gaps = torch.tensor(gaps, dtype=torch.float64)  # a tensor min is not blind to NaN as Python's min is
    assert gaps.min() > 1.5  # 4 / sqrt(5) = 1.79 for whole-population statistics
    layer = nn.BatchNorm1d(1, dtype=x.dtype)
    for batch in xs.view(-1, size, 1):
        layer(batch)
    assert abs(layer.running_mean.item()) < 0.1  # shuffled batches: close to the global mean 0


@check("batch_norm.bias-before-bn-redundant")
def bias_before_bn_redundant(t):
    """A bias added right before training-mode BN is cancelled by the mean subtraction: same output, zero gradient."""
    x = t.randn(32, 10)
    t.seed_modules()
    with_bias = nn.Linear(10, 6).to(t.device, t.dtype)
    without = nn.Linear(10, 6, bias=False).to(t.device, t.dtype)
    with torch.no_grad():
        without.weight.copy_(with_bias.weight)
    norm = nn.BatchNorm1d(6).to(t.device, t.dtype).train()
    out = norm(with_bias(x))
    assert_close(out, norm(without(x)), rtol=0, atol=1e-12)
    (t.randn(32, 6, stream=1) * out).sum().backward()
    assert with_bias.bias.grad.abs().max() < 1e-12
    assert with_bias.weight.grad.abs().max() > 1e-2  # the weights do get a gradient
