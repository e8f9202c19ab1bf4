"""Checks for docs/*/depth.md. Oracles: the closed-form sawtooth, torch's nn forward, autograd slopes."""
import itertools

import torch
from torch import nn
from torch.testing import assert_close

from snippets import depth as dp
from verify._registry import check


def _dyadic_grid(t, bits):
    """i / 2^bits for i = 0..2^bits: exact in float32 and float64, and it holds every kink of T^k, k <= bits."""
    return (torch.arange(2 ** bits + 1, dtype=torch.float64) / 2 ** bits).to(t.device, t.dtype)


def _closed_form_sawtooth(x, k):
    """s_k(x) = 1 - |(2^k x mod 2) - 1| on [0, 1] (Telgarsky 2016, sec. 2): written without ReLUs."""
    return 1 - (torch.remainder(2 ** k * x, 2) - 1).abs()


@check("depth.sawtooth-2k-pieces", dtypes=("float32", "float64"))
def sawtooth_2k_pieces(t):
    """k compositions of the tent map (2k ReLU units in k layers) give 2^k linear pieces on [0, 1]."""
    x = _dyadic_grid(t, 13)
    for k in (1, 2, 3, 5, 10):
        y = dp.sawtooth(x, k)
        # dyadic inputs and weights 2, 4, 1/2: every operation is exact, so equality is exact too
        assert torch.equal(y, _closed_form_sawtooth(x, k))
        net = dp.sawtooth_net(k).to(t.device, t.dtype)
        assert sum(isinstance(m, nn.ReLU) for m in net) == k
        assert sum(m.out_features for m in net if isinstance(m, nn.Linear)) - 1 == 2 * k  # hidden units
        with torch.no_grad():
            assert torch.equal(net(x.unsqueeze(1)).squeeze(1), y)
        pieces = dp.count_linear_pieces(x, y)
        assert pieces == 2 ** k
        assert y.max().item() == 1.0 and y.min().item() == 0.0
    t.record("pieces_k10", pieces)
    t.record("deep_units_k10", 2 * k)
    # the counter is not fooled by a function that is linear, or has a single kink
    assert dp.count_linear_pieces(x, 3 * x + 1) == 1
    assert dp.count_linear_pieces(x, (x - 0.25).abs()) == 2
    # edge cases of the counter, on dyadic numbers (exact in float32 and float64)
    f = dict(dtype=t.dtype, device=t.device)
    assert dp.count_linear_pieces(torch.tensor([0.0, 1.0], **f), torch.tensor([0.0, 1.0], **f)) == 1  # 2 points
    uneven = torch.tensor([0.0, 1.0, 3.0], **f)
    assert dp.count_linear_pieces(uneven, 3 * uneven) == 1        # slope = dy / dx on an uneven grid
    grid = torch.arange(4.0, **f)

    def pieces(slopes):  # a polyline through (0, 0) with these slopes on the grid 0, 1, 2, 3
        y = torch.cat([torch.zeros(1, **f), torch.tensor(slopes, **f).cumsum(0)])
        return dp.count_linear_pieces(grid[:len(slopes) + 1], y, tol=0.5)
    assert pieces([0.0, 0.5]) == 1           # a change exactly at tol * (1 + |s|) is not a kink (strict >)
    assert pieces([3.0, 3.5]) == 1           # relative tolerance: 0.5 < 0.5 * (1 + 3)
    assert pieces([3.0, 5.25]) == 2          # 2.25 > 0.5 * (1 + 3) = 2
    assert pieces([0.0, 10.0, 11.0]) == 2    # the second change is measured against |10|, not |0|


def _random_shallow_net(t, m, d, stream):
    """nn.Sequential(Linear(d, m), ReLU, Linear(m, 1)) with N(0, 1) weights drawn from the trial."""
    g = t.generator(stream)
    net = nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1)).to(t.device, torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return net


def _slope(net, x0, v, s):
    """d/ds net(x0 + s v) by autograd, at each s."""
    s = s.clone().requires_grad_(True)
    net(x0 + s.unsqueeze(1) * v).sum().backward()
    return s.grad


@check("depth.shallow-one-kink-per-unit", devices=("cpu",))
def shallow_one_kink_per_unit(t):
    """On any line a one-hidden-layer ReLU net with m units has a kink exactly at each -b_i/w_i: <= m + 1 pieces."""
    d, m = 3, 20
    for trial in range(20):
        net = _random_shallow_net(t, m, d, stream=trial)
        w, b = net[0].weight.detach(), net[0].bias.detach()
        a = net[2].weight.detach().squeeze(0)
        g = t.generator(100 + trial)
        x0, v = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
        kinks = dp.shallow_kinks(w, b, x0, v)
        assert kinks.numel() == m
        # 1) autograd's slope jumps at every kink by exactly a_i |w_i . v| (the unit switching on or off) ...
        gap = (kinks[1:] - kinks[:-1]).min().item()
        delta = gap / 4
        after, before = _slope(net, x0, v, torch.cat([kinks + delta, kinks - delta])).split(m)  # one backward pass
        jump = after - before
        order = torch.argsort(-(w @ x0 + b) / (w @ v))
        assert_close(jump, (a * (w @ v).abs())[order], rtol=1e-9, atol=1e-12)
        # 2) ... and nowhere else: counting pieces on a grid of kinks and midpoints finds exactly m + 1
        mids = (kinks[1:] + kinks[:-1]) / 2
        s = torch.sort(torch.cat([kinks, mids, kinks[:1] - 1, kinks[-1:] + 1])).values
        with torch.no_grad():
            y = net(x0 + s.unsqueeze(1) * v).squeeze(1)
        assert dp.count_linear_pieces(s, y, tol=1e-7) == m + 1
    t.record("max_pieces_20_units", dp.count_linear_pieces(s, y, tol=1e-7))
    # the bound is not attained when units share a kink or run parallel to the line
    w2 = torch.cat([w[:1], 2 * w[:1], w[2:]])           # unit 1 = 2 x unit 0: same kink
    b2 = torch.cat([b[:1], 2 * b[:1], b[2:]])
    assert dp.shallow_kinks(w2, b2, x0, v).unique().numel() == m - 1
    w3 = w.clone()
    w3[0] = torch.stack([v[1], -v[0], torch.zeros_like(v[0])])  # w_0 . v = 0 exactly: unit 0 never switches
    assert dp.shallow_kinks(w3, b, x0, v).numel() == m - 1
    try:
        dp.shallow_kinks(w, b[:-1], x0, v)
    except ValueError as e:
        assert f"b must have {m} entries" in str(e), str(e)
    else:
        raise AssertionError("a short b was accepted")


def _best_fit_error(x, target, kinks, facing):
    """Least-squares error of c + sum_j a_j relu(facing_j (x - kink_j)) against target, all a_j and c free."""
    cols = [torch.ones_like(x)] + [torch.relu(f * (x - k)) for k, f in zip(kinks, facing)]
    a = torch.stack(cols, 1)
    fit = a @ torch.linalg.lstsq(a, target.unsqueeze(1)).solution.squeeze(1)
    return (fit - target).abs().max()


def _best_fit_errors(x, target, kinks, facings):
    """_best_fit_error for every row of facings (B, m) at once: a batched least-squares solve."""
    units = torch.relu(facings[:, None, :] * (x[None, :, None] - kinks[None, None, :]))  # (B, len(x), m)
    a = torch.cat([torch.ones_like(units[..., :1]), units], 2)
    rhs = target.expand(len(facings), -1).unsqueeze(2)
    fit = (a @ torch.linalg.lstsq(a, rhs).solution).squeeze(2)
    return (fit - target).abs().amax(1)


@check("depth.shallow-sawtooth-needs-2k-units", dtypes=("float32", "float64"))
def shallow_sawtooth_needs_2k_units(t):
    """One hidden layer can represent the sawtooth exactly on [0, 1], and needs exactly 2^k units: 2^k suffice,
    and no network with 2^k - 1 units represents it."""
    x = _dyadic_grid(t, 11)  # two grid steps per piece at k = 10 (and every kink on the grid); 2^12 cost twice as much
    for k in (1, 3, 6, 10):
        shallow = dp.shallow_sawtooth_net(k).to(t.device, t.dtype)
        with torch.no_grad():
            y = shallow(x.unsqueeze(1)).squeeze(1)
        # every number involved is a dyadic rational far inside the float32 mantissa: exact equality
        assert torch.equal(y, _closed_form_sawtooth(x, k))
        assert dp.count_linear_pieces(x, y) == 2 ** k
    t.record("shallow_units_k10", shallow[0].out_features)
    assert shallow[0].out_features == 2 ** 10
    if t.dtype != torch.float64:
        return
    # lower bound. 2^k - 1 interior kinks need 2^k - 1 units, one kink each (depth.shallow-one-kink-per-unit), so
    # a network with 2^k - 1 units is c + sum_j a_j relu(+-(x - j / 2^k)) on [0, 1]. Try every orientation with
    # free a_j, c (least squares on the dyadic grid): none fits, while one more unit (a kink at 0) always does.
    grid = _dyadic_grid(t, 8)
    for k in (1, 2, 3):
        target = _closed_form_sawtooth(grid, k)
        interior = [j / 2 ** k for j in range(1, 2 ** k)]
        # every orientation at once: one batched least-squares solve over the 2^(2^k - 1) designs
        facings = torch.tensor(list(itertools.product((1.0, -1.0), repeat=len(interior))), dtype=grid.dtype,
                               device=grid.device)
        errors = _best_fit_errors(grid, target, torch.tensor(interior, dtype=grid.dtype, device=grid.device), facings)
        assert len(errors) == 2 ** (2 ** k - 1)
        # the batched solve agrees with the one-design helper (first and last orientation: all +1, all -1)
        for row, sign in ((0, 1.0), (-1, -1.0)):
            assert_close(errors[row], _best_fit_error(grid, target, interior, [sign] * len(interior)),
                         rtol=1e-9, atol=1e-12)
        assert torch.isfinite(errors).all() and errors.min() > 0.05  # k = 1, 2, 3: 0.60, 0.23, 0.084
        assert _best_fit_error(grid, target, [0.0] + interior, [1.0] * 2 ** k) < 1e-12
    # why: the first slope is -(sum of the jumps of the units facing left), each jump is +-2^(k+1),
    # so it can never be the sawtooth's first slope 2^k


@check("depth.width-one-is-monotone", devices=("cpu",))
def width_one_is_monotone(t):
    """A deep ReLU net of width 1 is monotone on R, so no depth lets it fit the tent; 3 shallow units do it exactly."""
    x = torch.linspace(-3, 3, 6001, dtype=torch.float64)  # step 1e-3: the tent below
    # the random nets: a grid of step 5e-3 (elementwise work over draws x points is the whole cost), then 3 probes
    coarse = x[::5]
    inputs = torch.cat([coarse, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)]).unsqueeze(1)
    g = t.generator()
    for depth in (2, 5, 20):
        # 30 random draws of all its weights and biases, run as 30 rows at once: a width-1 layer is relu(w h + b)
        w, b = torch.randn(2, 30, depth + 1, 1, generator=g, dtype=torch.float64)
        h = inputs.squeeze(1).expand(30, -1)
        for layer in range(depth):
            h = torch.relu(w[:, layer] * h + b[:, layer])
        out = w[:, depth] * h + b[:, depth]  # (30 draws, grid + probes)
        # the rows are nn.Sequential(Linear(1, 1), ReLU(), ..., Linear(1, 1)) nets: the first draw, loaded into one
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(1, 1), nn.ReLU()]
        net = nn.Sequential(*layers, nn.Linear(1, 1)).double()
        with torch.no_grad():
            for i, lin in enumerate(net[::2]):
                lin.weight.copy_(w[0, i].view(1, 1))
                lin.bias.copy_(b[0, i])
            assert_close(net(inputs).squeeze(1), out[0], rtol=1e-12, atol=1e-12)
        diffs = torch.diff(out[:, :len(coarse)], dim=1)
        assert ((diffs >= -1e-12).all(1) | (diffs <= 1e-12).all(1)).all()
        # a monotone g has max(|g(0)|, |g(1/2) - 1|, |g(1)|) >= 1/2 against T(0), T(1/2), T(1) = 0, 1, 0
        e = out[:, len(coarse):]
        assert (torch.maximum(e[:, 0].abs(), (e[:, 1] - 1).abs()).maximum(e[:, 2].abs()) >= 0.5 - 1e-12).all()
    # one hidden layer with 3 units is the tent: 2 relu(x) - 4 relu(x - 1/2) + 2 relu(x - 1) on R
    tent = 2 * torch.relu(x) - 4 * torch.relu(x - 0.5) + 2 * torch.relu(x - 1)
    inside = (x >= 0) & (x <= 1)
    assert torch.equal(tent[inside], dp.tent_map(x[inside]))
    assert_close(tent[inside], _closed_form_sawtooth(x[inside], 1), rtol=0, atol=1e-15)
