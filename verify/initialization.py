"""Checks for docs/*/initialization.md. Oracles: torch.nn.init, nn.Linear, closed forms, sampling theory."""
import copy
import functools
import math

import torch
from torch import nn
from torch.testing import assert_close

from snippets import initialization as ini
from verify._registry import Trial, check, signature_defaults


def _sample_var_sd(n, kurtosis):
    """Standard deviation of the sample variance / true variance, for n draws (exact for iid)."""
    return math.sqrt((kurtosis - 1) / n)


# ---- symmetry: one small regression net trained from three initializations ----

_INITS = {
    "constant": lambda m: (nn.init.constant_(m.weight, 0.3), nn.init.constant_(m.bias, 0.1)),
    "zero": lambda m: (nn.init.zeros_(m.weight), nn.init.zeros_(m.bias)),
    "zero-weights": lambda m: nn.init.zeros_(m.weight),  # biases keep PyTorch's default U(+-1/sqrt(fan_in))
    "xavier": lambda m: (nn.init.xavier_normal_(m.weight), nn.init.zeros_(m.bias)),
}


class _Stacked(nn.Module):
    """k tanh_mlp nets of the same sizes as one module: each layer's k weights stacked into one (k, out, in)
    parameter and applied by one batched matmul, net j mapping the j-th of k equal row blocks of the input.
    Elementwise, SGD's update of a stacked parameter is the k nets' updates side by side, at a fraction of the
    per-parameter cost of k separate modules."""

    def __init__(self, nets):
        super().__init__()
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        self.weights = nn.ParameterList(nn.Parameter(torch.stack([ls[i].weight.detach() for ls in linears]))
                                        for i in range(len(linears[0])))
        self.biases = nn.ParameterList(nn.Parameter(torch.stack([ls[i].bias.detach() for ls in linears])[:, None])
                                       for i in range(len(linears[0])))

    def forward(self, x):
        h = x.view(len(self.weights[0]), -1, x.shape[1])
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w.transpose(1, 2))
            if i < len(self.weights) - 1:
                h = torch.tanh(h)
        return h.reshape(x.shape[0], -1)

    def copy_into(self, nets):
        with torch.no_grad():
            for j, net in enumerate(nets):
                for layer, w, b in zip([m for m in net if isinstance(m, nn.Linear)], self.weights, self.biases):
                    layer.weight.copy_(w[j]), layer.bias.copy_(b[j, 0])


def _fit_side_by_side(nets, x, y, **kwargs):
    """ini.fit on k nets at once, each on its own copy of (x, y), as one _Stacked module. The mean squared error
    over the k stacked copies is the mean of the k losses, so each net gets 1/k of its own gradient and momentum
    buffer; for k a power of 2 that scaling is exact, and lr = k * lr (also exact) makes every update the one
    fit(net, x, y) takes alone, up to the rounding of a batched matmul instead of nn.Linear's (asserted within
    1e-12 in _assert_fit_is_sgd_momentum). Trains the nets in place; returns what fit(net, x, y) returns."""
    k = len(nets)
    kwargs["lr"] = k * kwargs.get("lr", signature_defaults(ini.fit)["lr"])
    stacked = _Stacked(nets)
    ini.fit(stacked, x.repeat(k, 1), y.repeat(k, 1), **kwargs)
    stacked.copy_into(nets)
    return [nn.functional.mse_loss(net(x), y).item() for net in nets]


@functools.lru_cache(maxsize=None)
def _trained_all(device, dtype_name, seed):
    """The net from each of the four starts, trained by ini.fit with its defaults (side by side, as four separate
    fits up to float64 rounding): (net, parameters before, final loss, first hidden layer's activations, x, y)."""
    t = Trial(device, dtype_name, seed)
    x = 4 * t.rand(64, 2) - 2
    y = (torch.sin(2 * x[:, 0]) * torch.cos(x[:, 1])).unsqueeze(1)
    nets = {}
    for name, init in _INITS.items():
        t.seed_modules()  # the same global RNG state before each net, as if it were built alone
        nets[name] = ini.tanh_mlp([2, 16, 16, 1], init).to(t.device, t.dtype)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in nets.items()}
    losses = _fit_side_by_side(list(nets.values()), x, y)
    # first hidden layer's activations, one column per unit
    return {name: (net, before[name], loss, net[:2](x).detach(), x, y)
            for (name, net), loss in zip(nets.items(), losses)}


def _trained(init_name, device, dtype_name, seed):
    return _trained_all(device, dtype_name, seed)[init_name]


@check("initialization.constant-init-stays-symmetric")
def constant_init_stays_symmetric(t):
    """Equal initial weights: every hidden unit gets the same gradient, so the units stay identical."""
    net, _, _, hidden, _, _ = _trained("constant", t.device, t.dtype_name, t.seed)
    w1 = net[0].weight
    # equal up to rounding: vectorised matmuls may sum rows in different orders (seen: 2e-14)
    assert (w1 - w1[0]).abs().max().item() < 1e-10
    assert torch.linalg.matrix_rank(hidden, atol=1e-8).item() == 1
    _assert_fit_is_sgd_momentum(t)


def _assert_fit_is_sgd_momentum(t):
    """fit (not cached: called afresh) = `steps` full-batch steps of v <- mu v + g, p <- p - lr v on the MSE, then the
    loss after the last step; the defaults are 200 steps, lr 0.1, mu 0.9. Oracle: the update written out with
    autograd.grad, float64, for 20 steps at settings other than the defaults, so a fit that ignored its arguments
    would fail (and the 200 default steps need not be run twice)."""
    assert signature_defaults(ini.fit) == {"steps": 200, "lr": 0.1, "momentum": 0.9}
    steps, lr, mu = 20, 0.2, 0.8
    x = t.randn(8, 2, stream=5).double().cpu()
    y = t.randn(8, 1, stream=6).double().cpu()

    def init(m):
        with torch.no_grad():
            m.weight.copy_(0.5 * torch.arange(1, m.weight.numel() + 1, dtype=torch.float64).view_as(m.weight).cos())
            m.bias.fill_(0.1)

    net = ini.tanh_mlp([2, 3, 1], init).double()
    params = [p.detach().clone().requires_grad_() for p in net.parameters()]
    vel = [torch.zeros_like(p) for p in params]

    def loss_at(ps):
        return ((torch.tanh(x @ ps[0].T + ps[1]) @ ps[2].T + ps[3] - y) ** 2).mean()

    for _ in range(steps):
        loss = loss_at(params)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, v, g in zip(params, vel, grads):
                v.mul_(mu).add_(g)
                p.sub_(lr * v)
    before_last, last = loss.item(), loss_at(params).item()
    copies = [copy.deepcopy(net) for _ in range(4)]  # before fit trains net: the premise of _fit_side_by_side
    got = ini.fit(net, x, y, steps=steps, lr=lr, momentum=mu)
    assert math.isclose(got, last, rel_tol=1e-10), (got, last)
    # four copies trained side by side end where the one trained alone does, up to float64 rounding
    together = _fit_side_by_side(copies, x, y, steps=steps, lr=lr, momentum=mu)
    assert all(math.isclose(v, got, rel_tol=1e-12) for v in together), (together, got)
    for c in copies:
        for p, q in zip(c.parameters(), net.parameters()):
            assert_close(p, q, rtol=1e-12, atol=1e-14)
    assert not math.isclose(got, before_last, rel_tol=1e-6)  # one step fewer is visible
    for p, q in zip(net.parameters(), params):
        assert_close(p.detach(), q.detach(), rtol=1e-10, atol=1e-12)
    # a y with a different number of rows is refused with both counts in the message
    try:
        ini.fit(net, x, y[:5])
    except ValueError as e:
        assert "x has 8 rows but y has 5" in str(e), e
    else:
        raise AssertionError("x and y with different row counts were accepted")


@check("initialization.symmetric-net-is-not-linear", kind="demonstration")
def symmetric_net_is_not_linear(t):
    """Misconception: symmetric init does not freeze the weights or make the model linear."""
    net, before, _, _, x, _ = _trained("constant", t.device, t.dtype_name, t.seed)
    assert (net[0].weight - before[0]).abs().max() > 0.1  # gradient descent does move the weights
    # what it does: each layer acts as ONE unit. 16 equal units = one unit with 16x the outgoing weight
    (w1, b1), (w2, b2), (w3, b3) = [(net[i].weight, net[i].bias) for i in (0, 2, 4)]
    width_one = 16 * w3[0, 0] * torch.tanh(16 * w2[0, 0] * torch.tanh(x @ w1[0] + b1[0]) + b2[0]) + b3[0]
    assert_close(net(x).squeeze(1), width_one, rtol=0, atol=1e-9)
    # and a width-one tanh chain is still nonlinear: the untrained symmetric net is visibly curved
    fresh = ini.tanh_mlp([2, 16, 16, 1], lambda m: (nn.init.constant_(m.weight, 0.3), nn.init.constant_(m.bias, 0.1)))
    s = torch.linspace(-5, 5, 101, dtype=torch.float64)
    out = fresh.to(t.device, t.dtype)(t.put(torch.stack([s, s], 1))).squeeze(1).detach()
    assert (out[2:] - 2 * out[1:-1] + out[:-2]).abs().max() > 1e-3
    # only all-zero init stalls completely: tanh(0) = 0 blocks every hidden weight gradient and, with h2 = 0,
    # the output weights' gradient too: W1, b1, W2, b2 and W3 stay exactly as they were, only b3 learns
    zero, zero_before, zero_loss, _, _, y = _trained("zero", t.device, t.dtype_name, t.seed)
    params = list(zero.parameters())
    for p, p0 in zip(params[:5], zero_before[:5]):
        assert torch.equal(p, p0)
    assert not torch.equal(params[5], zero_before[5])
    target_var = t.record("target_var", y.var(unbiased=False).item())
    assert abs(t.record("zero_loss", zero_loss) - target_var) < 1e-6  # it learned only the mean of y
    # that needs zero biases as well: with zero weights but PyTorch's default (random) biases the hidden units
    # are non-zero constants, so W3 does get a gradient (seeds 0-19: it moves by 4e-4 to 0.3). But every hidden
    # unit is the same constant for every input, so that gradient dies once b3 fits the mean of y, and this start
    # learns little: final loss / Var(y) was 0.80-1.00 over seeds 0-19
    zw, zw_before, zw_loss, _, _, _ = _trained("zero-weights", t.device, t.dtype_name, t.seed)
    assert (zw[4].weight - zw_before[4]).abs().max() > 1e-4
    assert t.record("zero_weights_loss", zw_loss) <= target_var * (1 + 1e-9)


@check("initialization.random-init-breaks-symmetry", kind="demonstration")
def random_init_breaks_symmetry(t):
    """Random (Xavier-normal) init gives distinct units: 16 different rows and a full-rank hidden layer."""
    net, _, _, hidden, _, _ = _trained("xavier", t.device, t.dtype_name, t.seed)
    w1 = net[0].weight.detach()
    gaps = torch.cdist(w1, w1) + torch.eye(16, dtype=t.dtype, device=t.device)  # ignore each row vs itself
    assert gaps.min() > 1e-3
    assert torch.linalg.matrix_rank(hidden, atol=1e-8).item() == 16


# ---- scales of the standard schemes ----

@check("initialization.xavier-uniform", dtypes=("float32", "float64"), kind="statistical")
def xavier_uniform(t):
    """xavier_uniform_ draws U(-a, a), a = sqrt(6/(fan_in+fan_out)), Var = 2/(fan_in+fan_out)."""
    w = torch.empty(300, 500, dtype=t.dtype, device=t.device)
    nn.init.xavier_uniform_(w)
    fan_in, fan_out = ini.fan_in_and_fan_out(w.shape)
    assert (fan_in, fan_out) == (500, 300)
    bound = ini.xavier_uniform_bound(fan_in, fan_out)
    assert w.abs().max() <= bound * (1 + 1e-6)
    assert w.abs().max() >= 0.999 * bound  # P(all |w| < 0.999 a) = 0.999^150000 = e^-150
    ratio = w.double().var().item() / (2 / (fan_in + fan_out))
    assert abs(ratio - 1) < 6 * _sample_var_sd(w.numel(), 9 / 5)  # a uniform's kurtosis is 9/5
    assert abs(w.double().var().item() / (1 / fan_in) - 1) > 0.2  # rejects the notes' Var = 1/fan_in
    # the page: 1/fan_in is 20 % below 2/(fan_in + fan_out) for a 500 -> 300 layer
    assert round(t.record("misquote_gap", 1 - (1 / fan_in) / (2 / (fan_in + fan_out))), 2) == 0.20
    conv = torch.empty(64, 32, 3, 3, dtype=t.dtype, device=t.device)
    nn.init.xavier_uniform_(conv)
    assert ini.fan_in_and_fan_out(conv.shape) == (288, 576)  # C_in*k*k and C_out*k*k
    assert conv.abs().max() <= ini.xavier_uniform_bound(288, 576) * (1 + 1e-6)
    assert conv.abs().max() >= 0.99 * ini.xavier_uniform_bound(288, 576)


@check("initialization.xavier-normal", dtypes=("float32", "float64"), kind="statistical")
def xavier_normal(t):
    """xavier_normal_ draws N(0, 2/(fan_in+fan_out)); the gain multiplies the std."""
    measured = {}  # the sample SD of one 300 x 500 draw per gain, used below for the rejections too
    for gain in (1.0, 5 / 3):
        w = torch.empty(300, 500, dtype=t.dtype, device=t.device)
        nn.init.xavier_normal_(w, gain=gain)
        std = ini.xavier_normal_std(500, 300, gain)
        # the SD of a sample SD is about sigma / sqrt(2n)
        measured[gain] = w.double().std().item()
        assert abs(measured[gain] / std - 1) < 6 / math.sqrt(2 * w.numel())
    # the closed forms themselves: sqrt(2/800) = 1/20, and the gain PyTorch recommends for tanh is 5/3
    assert math.isclose(ini.xavier_normal_std(500, 300), 0.05, rel_tol=1e-12)
    assert math.isclose(ini.xavier_normal_std(500, 300, 5 / 3), 0.05 * 5 / 3, rel_tol=1e-12)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    # the gain multiplies the std, not the variance: with gain 5/3 the two readings differ by 29 %
    assert abs(measured[5 / 3] / (0.05 * math.sqrt(5 / 3)) - 1) > 6 / math.sqrt(2 * w.numel())
    # and Var = 1/fan_in (std 0.0447, 11 % below 0.05) is rejected as for the uniform version
    assert abs(measured[1.0] / math.sqrt(1 / 500) - 1) > 6 / math.sqrt(2 * w.numel())


@check("initialization.he-normal", dtypes=("float32", "float64"), kind="statistical")
def he_normal(t):
    """kaiming_normal_ defaults to N(0, 2/fan_in) (gain sqrt(2), mode fan_in); fan_out mode uses 2/fan_out."""
    w = torch.empty(400, 200, dtype=t.dtype, device=t.device)
    tol = 6 * _sample_var_sd(w.numel(), 3)  # a normal's kurtosis is 3: 3 % for 80 000 weights
    nn.init.kaiming_normal_(w)  # defaults: a=0, mode='fan_in', nonlinearity='leaky_relu' -> gain sqrt(2)
    assert abs(w.double().var().item() / ini.he_normal_std(200) ** 2 - 1) < tol
    assert abs(w.double().var().item() / (1 / 200) - 1) > 0.5  # rejects the Xavier-style 1/fan_in
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.double().var().item() / ini.he_normal_std(400) ** 2 - 1) < tol
    assert abs(w.double().var().item() / ini.he_normal_std(200) ** 2 - 1) > tol  # fan_out is not fan_in here


@check("initialization.linear-default", dtypes=("float32", "float64"), kind="statistical")
def linear_default(t):
    """nn.Linear's default: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so Var(W) = 1/(3 fan_in)."""
    t.seed_modules()
    layer = nn.Linear(1000, 400, dtype=t.dtype, device=t.device)
    bound = ini.linear_default_bound(1000)
    w, b = layer.weight.detach().double(), layer.bias.detach().double()
    assert w.abs().max() <= bound * (1 + 1e-6) and w.abs().max() >= 0.999 * bound
    assert b.abs().max() <= bound * (1 + 1e-6)
    assert abs(w.var().item() * 3 * 1000 - 1) < 6 * _sample_var_sd(w.numel(), 9 / 5)
    # neither N(0, 1) nor He: the default is 6 times smaller in variance than He's 2/fan_in
    assert w.var().item() < 0.2 * ini.he_normal_std(1000) ** 2
    # the one standard layer that does draw N(0, 1): nn.Embedding's lookup table (a normal's kurtosis is 3)
    emb = nn.Embedding(1000, 100, dtype=t.dtype, device=t.device).weight.detach().double()
    assert abs(emb.var().item() - 1) < 6 * _sample_var_sd(emb.numel(), 3)
    assert abs(emb.mean().item()) < 6 / math.sqrt(emb.numel())  # 6 standard errors of a mean of N(0, 1) draws


@check("initialization.relu-halves-second-moment", kind="statistical")
def relu_halves_second_moment(t):
    """For z symmetric about 0, E[relu(z)^2] = E[z^2]/2: the reason He doubles Xavier's variance."""
    sigma = 2.5
    z = sigma * t.randn(50_000)
    # relu(z)^2 has mean sigma^2/2 and variance sigma^4 (3/2 - 1/4): 6 SE = 6.0 % of the mean, far from the
    # 100 % by which "ReLU keeps the second moment" is off
    se = sigma ** 2 * math.sqrt(1.5 - 0.25) / math.sqrt(z.numel())
    measured = torch.relu(z).pow(2).mean().item()
    assert abs(measured - sigma ** 2 / 2) < 6 * se
    assert abs(measured - sigma ** 2) > 6 * se  # "ReLU keeps the second moment" is rejected


# ---- depth: 50 ReLU layers ----

DEPTH, WIDTH = 50, 256


def _assert_moments_match_loop(t):
    """relu_second_moments against the loop written out: float64 N(0, 1) draws from the same seeded generator,
    times the std; a float32 input gives the same moments (to float32 rounding) in float32."""
    x, std, seed = t.randn(8, 16, stream=7), 0.4, 1234
    h, ref = x.double().cpu(), [x.double().pow(2).mean().item()]
    g = torch.Generator().manual_seed(seed)
    for _ in range(3):
        h = torch.relu(h @ (torch.randn(16, 16, generator=g, dtype=torch.float64) * std).T)
        ref.append(h.pow(2).mean().item())
    for dtype, rtol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):  # f32: 16-term dot products, 3 layers
        got = ini.relu_second_moments(x.to(dtype), std, 3, torch.Generator().manual_seed(seed))
        assert_close(torch.tensor(got, dtype=torch.float64), torch.tensor(ref, dtype=torch.float64), rtol=rtol, atol=0)


def _moments(t, std, depth=DEPTH):
    """E[h_l^2] for l = 0..depth: one draw of the input and of the N(0, 1) weights, the same for every std.
    32 inputs: the layer factors' spread comes from the shared weights, not the batch (over seeds 0-59 the He
    factors' mean sat 45-77 SE below the wrong 2 and 22-39 SE above 0.5 with 32 rows, as with 128)."""
    x = t.randn(32, WIDTH)
    return torch.tensor(ini.relu_second_moments(x, std, depth, t.generator(stream=1)), dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def _he_moments(device, dtype_name, seed):
    """The He run, which both depth checks use: its 50 x 256 x 256 normal draws are most of their cost."""
    return _moments(Trial(device, dtype_name, seed), ini.he_normal_std(WIDTH))


def _growth(m):
    """log10 of E[h_50^2]/E[h_0^2] and the 50 per-layer ratios r_l = E[h_l^2]/E[h_{l-1}^2]."""
    return math.log10(m[-1] / m[0]), m[1:] / m[:-1]


def _assert_layer_factor(ratios, factor, wrong):
    """Given the layer below, E[r_l] = n sigma^2 / 2 exactly (Gaussian weights, any input): the r_l - factor are
    martingale differences, so their mean has SE sd(r)/sqrt(50). 6 SE around the factor, and away from `wrong`."""
    mean, se = ratios.mean().item(), ratios.std().item() / math.sqrt(len(ratios))
    assert torch.isfinite(ratios).all() and abs(mean - factor) < 6 * se, (mean, factor, se)
    for w in wrong:
        assert abs(mean - w) > 6 * se, (mean, w, se)


def _assert_log_growth(log_growth, ratios, factor):
    """log10 growth = sum of 50 per-layer log10 r_l: within 6 SD of the sum (SD sqrt(50) sd(log10 r)) of the
    expected 50 log10(factor). A loose band (about +-2 decades): the layer-factor test above is the sharp one."""
    sd = torch.log10(ratios).std().item() * math.sqrt(len(ratios))
    assert abs(log_growth - DEPTH * math.log10(factor)) < 6 * sd, (log_growth, factor, sd)


@check("initialization.he-keeps-signal", kind="statistical")
def he_keeps_signal(t):
    """Over 50 ReLU layers He init keeps E[h^2] (factor 1 per layer); Var = 1/fan_in halves it per layer: 2^-50."""
    _assert_moments_match_loop(t)
    he_m = _he_moments(t.device, t.dtype_name, t.seed)
    # Var = 1/n (Xavier for a square layer: 2/(n+n)) on the same draws is the He net with every weight divided by
    # sqrt(2); a bias-free ReLU net is positively homogeneous, so E[h_l^2] is exactly 2^-l times He's. The snippet
    # run at that std agrees on the first layers; the rest follow without drawing 50 more weight matrices.
    xavier_m = he_m * 0.5 ** torch.arange(DEPTH + 1, dtype=torch.float64)
    assert_close(_moments(t, math.sqrt(1 / WIDTH), depth=3), xavier_m[:4], rtol=1e-9, atol=0)
    (he, he_r), (xavier, xavier_r) = _growth(he_m), _growth(xavier_m)
    _assert_layer_factor(he_r, 1.0, wrong=(2.0, 0.5))  # 2: "ReLU does not halve"; 0.5: the Xavier factor
    _assert_layer_factor(xavier_r, 0.5, wrong=(1.0,))
    _assert_log_growth(he, he_r, 1.0)
    _assert_log_growth(xavier, xavier_r, 0.5)
    t.record("he_log10", he), t.record("xavier_log10", xavier)
    t.record("xavier_expected_log10", DEPTH * math.log10(0.5))  # -15.05
    assert he - xavier > 10


@check("initialization.small-gaussian-vanishes", kind="statistical")
def small_gaussian_vanishes(t):
    """std 0.01 (AlexNet's init) multiplies E[h^2] by fan_in * 1e-4 / 2 = 0.0128 per ReLU layer: 10^-94.6 after 50
    layers in expectation, so the RMS falls to about 10^-47."""
    factor = WIDTH * 0.01 ** 2 / 2
    assert t.record("layer_factor", factor) == 0.0128
    # same draws, scaled: a bias-free ReLU net is positively homogeneous, so E[h_l^2] is exactly
    # (0.01 / std_He)^(2l) times He's. The snippet run at std 0.01 agrees on the first layers; the rest follow
    # without drawing 50 more weight matrices (as for Var = 1/n in he-keeps-signal)
    scale = (0.01 / ini.he_normal_std(WIDTH)) ** 2
    small_m = _he_moments(t.device, t.dtype_name, t.seed) * scale ** torch.arange(DEPTH + 1, dtype=torch.float64)
    assert_close(_moments(t, 0.01, depth=3), small_m[:4], rtol=1e-9, atol=0)
    small_log, small_r = _growth(small_m)
    _assert_layer_factor(small_r, factor, wrong=(2 * factor,))  # 0.0256: forgetting that ReLU halves E[z^2]
    _assert_log_growth(small_log, small_r, factor)
    expected = t.record("expected_log10", DEPTH * math.log10(factor))
    rms = t.record("expected_rms_log10", expected / 2)  # the RMS is the square root of the mean square
    assert round(expected, 1) == -94.6 and round(rms) == -47
    t.record("measured_log10", small_log), t.record("measured_rms_log10", small_log / 2)
