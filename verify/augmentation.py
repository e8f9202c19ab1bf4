"""Checks for docs/*/augmentation.md. Oracles: torch.flip, F.pad and slicing, numpy clamps, sampling
distributions (6 standard errors), exhaustive enumeration of Rademacher noise."""
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets import augmentation as aug
from verify._registry import check


def _image(t, c=3, h=8, w=10, stream=0):
    return t.rand(c, h, w, stream=stream)


@check("augmentation.flip-invariants", dtypes=("float32", "float64"))
def flip_invariants(t):
    """A horizontal flip reverses every row, is its own inverse and keeps exactly the same pixel values."""
    img = _image(t)
    flipped = aug.horizontal_flip(img)
    assert torch.equal(flipped, torch.flip(img, dims=[-1]))
    assert torch.equal(aug.horizontal_flip(flipped), img)  # flip twice = identity, bitwise
    assert torch.equal(flipped.flatten().sort().values, img.flatten().sort().values)  # same multiset
    assert torch.equal(flipped[..., 0], img[..., -1]) and not torch.equal(flipped, img)
    # a 180-degree rotation is a vertical flip *and* a horizontal flip: a vertical flip alone gives the
    # mirror image of the rotated one, equal to it only for left-right symmetric images (a 6 becomes a
    # mirrored 9 under a vertical flip, a 9 under the rotation)
    rot = torch.rot90(img, 2, dims=(-2, -1))
    assert torch.equal(aug.horizontal_flip(torch.flip(img, dims=[-2])), rot)
    assert not torch.equal(torch.flip(img, dims=[-2]), rot)
    batch = t.rand(4, 3, 5, 6, stream=1)  # works on batches: only the last axis is touched
    assert torch.equal(aug.horizontal_flip(batch), torch.flip(batch, dims=[-1]))
    grey = img[0]  # a single (H, W) grey image is accepted as well, by the random version too
    assert torch.equal(aug.horizontal_flip(grey), torch.flip(grey, dims=[-1]))
    assert torch.equal(aug.random_horizontal_flip(grey, 1.0), torch.flip(grey, dims=[-1]))


@check("augmentation.random-choices-uniform", kind="statistical")
def random_choices_uniform(t):
    """random_horizontal_flip flips a fraction p of the time; random_crop picks every one of the
    (2 padding + 1)^2 positions with probability 1/(2 padding + 1)^2."""
    img, g = _image(t), t.device_generator()
    n, p = 500, 0.3
    mirrored = torch.flip(img, [-1])
    flips = sum(torch.equal(aug.random_horizontal_flip(img, p, g), mirrored) for _ in range(n))
    assert abs(flips / n - p) < 6 * math.sqrt(p * (1 - p) / n)  # 6 SE = 0.12; p -> 1 - p (0.4 off) is 20 SE away
    # pixel value encodes its position, so the centre of a crop tells where the crop started
    h = w = 9
    code = (torch.arange(h * w, dtype=torch.float64) + 1).view(1, h, w).to(t.device, t.dtype)
    pad, draws = 2, 750
    side = 2 * pad + 1
    crops = torch.stack([aug.random_crop(code, h, pad, g) for _ in range(draws)])
    assert crops.shape == (draws, 1, h, w)
    centres = crops[:, 0, h // 2, w // 2].long().cpu() - 1
    top, left = centres // w - h // 2 + pad, centres % w - w // 2 + pad
    cells = torch.bincount(top * side + left, minlength=side ** 2).view(side, side) / draws
    q = 1 / side ** 2  # 0.04: each cell's count is Binomial(750, 0.04), 6 SE = 0.043
    assert ((cells - q).abs() < 6 * math.sqrt(q * (1 - q) / draws)).all()
    # each coordinate alone: 1/5 per position, 6 SE = 0.088, so a crop that never starts at an edge (int(u * 4),
    # off by one) is rejected, 14 SE away at the last position
    r = 1 / side
    for marginal in (cells.sum(1), cells.sum(0)):
        assert ((marginal - r).abs() < 6 * math.sqrt(r * (1 - r) / draws)).all()
    # both edges together, over the 2 x 750 independent coordinates: share 2/5, 6 SE = 0.076; a crop that starts
    # there half as often (round instead of floor: 1/8 + 1/8) is 12 SE away. Seeds 0-59: the flip rate, the
    # cells, the marginals and the edge share lie within 3.3, 3.6, 3.2 and 2.9 SE
    edge = torch.cat([top, left])
    edge_share, e = ((edge == 0) | (edge == side - 1)).double().mean().item(), 2 / side
    assert abs(edge_share - e) < 6 * math.sqrt(e * (1 - e) / (2 * draws))
    # the draws come from the generator passed in, not the global RNG: a generator seeded alike gives the same
    # choices whatever the global seed, and the flip happens iff its U(0, 1) draw is < p (strictly: p = u keeps)
    def choices(global_seed):
        torch.manual_seed(global_seed)
        g2 = torch.Generator().manual_seed(t.seed + 5)
        return [x.clone() for _ in range(6) for x in (aug.random_horizontal_flip(img, 0.5, g2),
                                                      aug.random_crop(img, 6, 2, g2), aug.random_brightness(img, 0.5, g2))]
    assert all(torch.equal(a, b) for a, b in zip(choices(1), choices(2)))
    for seed in range(4):
        u = torch.rand((), generator=torch.Generator().manual_seed(seed)).item()
        for p_, flipped in ((u, False), (min(1.0, u + 1e-6), True)):
            out = aug.random_horizontal_flip(img, p_, torch.Generator().manual_seed(seed))
            assert torch.equal(out, torch.flip(img, [-1]) if flipped else img), (seed, p_)
    # the defaults: p = 0.5, and the global RNG when no generator is given
    torch.manual_seed(t.seed)
    defaults = [torch.equal(aug.random_horizontal_flip(img), img) for _ in range(40)]
    assert 5 <= sum(defaults) <= 35  # Binomial(40, 1/2): P(outside) < 1e-5
    # the generator decides the device of the draw, the image the device of the result: a CPU generator with an
    # image elsewhere (the meta device here, shapes only; a GPU image on a GPU run) works and keeps the image's device
    ghost, g3 = torch.empty(3, 8, 10, device="meta"), torch.Generator().manual_seed(0)
    for out in (aug.random_horizontal_flip(ghost, 0.5, g3), aug.random_crop(ghost, 6, 2, g3),
                aug.random_brightness(ghost, 0.5, g3), aug.add_gaussian_noise(ghost, 0.1, g3)):
        assert out.device.type == "meta" and out.shape[0] == 3


@check("augmentation.crop-shape-and-content", dtypes=("float32", "float64"))
def crop_shape_and_content(t):
    """Pad-then-crop returns a (C, size, size) window of the zero-padded image at the chosen corner;
    with no padding and full size it is the identity."""
    img = _image(t, h=8, w=8)
    pad, size = 2, 8
    padded = F.pad(img, (pad,) * 4)
    assert padded.shape == (3, 12, 12) and padded[..., :pad, :].abs().sum() == 0
    for top, left in itertools.product(range(2 * pad + 1), repeat=2):
        crop = aug.pad_and_crop(img, top, left, size, pad)
        assert crop.shape == (3, size, size)
        assert torch.equal(crop, padded[..., top:top + size, left:left + size])
    assert torch.equal(aug.pad_and_crop(img, 0, 0, 8, 0), img)
    # the defaults pad by 0: a plain crop, and a full-size random crop is the image itself
    assert torch.equal(aug.pad_and_crop(img, 1, 2, 5), img[..., 1:6, 2:7])
    assert all(torch.equal(aug.random_crop(img, 8, generator=t.device_generator(3)), img) for _ in range(5))
    assert torch.equal(aug.random_crop(img, 8), img)
    # non-square and 2-D (H, W) images: height is the second-last axis, width the last
    wide = _image(t, h=5, w=9)
    assert torch.equal(aug.pad_and_crop(wide, 1, 3, 4), wide[..., 1:5, 3:7])
    assert torch.equal(aug.pad_and_crop(wide[0], 0, 5, 4), wide[0, 0:4, 5:9])
    assert torch.equal(aug.pad_and_crop(wide.transpose(-1, -2), 5, 1, 4), wide.transpose(-1, -2)[..., 5:9, 1:5])
    assert aug.random_crop(wide[0], 5, 1, t.device_generator(4)).shape == (5, 5)
    # a crop only contains image pixels and the zeros of the border
    crop = aug.random_crop(img, 6, 3, t.device_generator())
    assert crop.shape == (3, 6, 6)
    values = set(img.flatten().tolist()) | {0.0}
    assert set(crop.flatten().tolist()) <= values


@check("augmentation.gaussian-noise-moments", kind="statistical")
def gaussian_noise_moments(t):
    """Added noise has mean 0 and variance std^2 (not std), independent of the image."""
    img = t.rand(3, 200, 200)
    std = 0.1
    noise = (aug.add_gaussian_noise(img, std, t.device_generator()) - img).flatten()
    n = noise.numel()
    assert abs(noise.mean().item()) < 6 * std / math.sqrt(n)
    # sample variance of a normal: SD = std^2 sqrt(2 / (n - 1)); 6 SE = 2.8 % of std^2. A bug that used
    # std^2 as the standard deviation would give variance 1e-4 instead of 1e-2.
    assert abs(noise.var().item() - std ** 2) < 6 * std ** 2 * math.sqrt(2 / (n - 1))
    # independent of the pixel value: the correlation with the image is within 6 / sqrt(n) of 0
    r = torch.corrcoef(torch.stack([noise, img.flatten()]))[0, 1].item()
    assert abs(r) < 6 / math.sqrt(n)
    # exactly img + std * z, with z the generator's N(0, 1) draws in the image's dtype
    small = t.rand(2, 4, 4, stream=1)
    z = torch.randn(small.shape, generator=t.device_generator(2), dtype=small.dtype, device=small.device)
    assert torch.equal(aug.add_gaussian_noise(small, std, t.device_generator(2)), small + std * z)
    assert aug.add_gaussian_noise(small, std).shape == small.shape  # no generator: the global RNG


@check("augmentation.brightness-clamps", dtypes=("float32", "float64"))
def brightness_clamps(t):
    """Brightness scales pixels by a factor and clamps them to [0, 1]; factor 1 changes nothing."""
    from PIL import Image, ImageEnhance
    # oracle: Pillow's ImageEnhance.Brightness on an 8-bit grey image (blend with black, clipped to 0..255);
    # the image is quantized to k/255 so both see the same input; Pillow rounds to 8 bits, hence 1/255
    u8 = t.rng().integers(0, 256, (32, 32), dtype=np.uint8)
    img = torch.from_numpy(u8.astype(np.float64) / 255).to(t.device, t.dtype)
    for factor in (0.0, 0.5, 1.0, 1.6, 3.0):
        out = aug.adjust_brightness(img, factor)
        pil = np.asarray(ImageEnhance.Brightness(Image.fromarray(u8, "L")).enhance(factor)) / 255
        assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
        assert_close(out.double().cpu(), torch.from_numpy(pil), rtol=0, atol=1 / 255)
        # the plausible wrong version (no clamp) is rejected by the same oracle whenever pixels saturate
        if factor > 1:
            assert np.abs((factor * u8 / 255) - pil).max() > 0.1
    assert torch.equal(aug.adjust_brightness(img, 1.0), img)
    assert t.record("saturated_at_16", (img * 1.6 > 1).double().mean()).item() > 0.2  # so the clamp is needed
    # random brightness: one factor per image, drawn from [max(0, 1 - d), 1 + d]
    g = t.device_generator()
    for _ in range(20):
        out = aug.random_brightness(img, 0.4, g)
        inside = (out > 0) & (out < 1) & (img > 0.05)
        ratio = out[inside] / img[inside]
        assert ratio.max() - ratio.min() < t.tol(f64=1e-12, f32=1e-5)
        assert 0.6 - 1e-6 <= ratio.mean().item() <= 1.4 + 1e-6
    # range edge: max_delta > 1 still never gives a negative factor (lower end clamped at 0)
    assert (aug.random_brightness(img, 3.0, g) >= 0).all()
    # the factor is low + (high - low) u with u the generator's U(0, 1) draw: here [0.6, 1.4]
    for seed in range(3):
        u = torch.rand((), generator=torch.Generator().manual_seed(seed)).item()
        out = aug.random_brightness(img, 0.4, torch.Generator().manual_seed(seed))
        assert torch.equal(out, aug.adjust_brightness(img, (1 - 0.4) + ((1 + 0.4) - (1 - 0.4)) * u)), seed
    # pixels outside [0, 1] (after unclamped noise, say) are clamped at both ends
    assert torch.equal(aug.adjust_brightness(t.put([-0.2, 0.5, 0.9]), 1.5), t.put([0.0, 0.75, 1.0]))


@check("augmentation.noise-injection-is-tikhonov", devices=("cpu",))
def noise_injection_is_tikhonov(t):
    """Training on inputs with i.i.d. zero-mean noise of variance s^2 minimizes ||y - Xw||^2 + n s^2 ||w||^2:
    ridge regression. Exact, by enumerating all sign patterns of noise +-s (mean 0, variance s^2)."""
    n, d, s = 12, 6, 0.3
    X, y, w = t.randn(n, d).cpu(), t.randn(n, stream=1).cpu(), t.randn(d, stream=2).cpu()
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=d)), dtype=torch.float64)  # (64, d)

    def expected_loss(w):  # rows are perturbed independently; the expectation is a sum over rows
        return sum(((y[i] - (X[i] + s * signs) @ w) ** 2).mean() for i in range(n))

    assert_close(expected_loss(w), ((y - X @ w) ** 2).sum() + n * s ** 2 * (w ** 2).sum(), rtol=1e-12, atol=0)
    w_star = aug.noise_injection_solution(X, y, s).clone().requires_grad_(True)
    expected_loss(w_star).backward()
    assert w_star.grad.abs().max() < 1e-10  # the snippet's ridge solution is the minimizer
    assert (w_star.detach() - torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)).abs().max() > 1e-3
    # every tensor stays on X's device (the meta device here, shapes only)
    assert aug.noise_injection_solution(X.to("meta"), y.to("meta"), s).device.type == "meta"
    try:  # a y of the wrong length is refused with the length X needs (12 rows, not the 6 columns)
        aug.noise_injection_solution(X, y[:-1], s)
    except ValueError as e:
        assert "y must have 12 entries (one per row of X)" in str(e), e
    else:
        raise AssertionError("a y of the wrong length was accepted")


@check("augmentation.noise-injection-is-tikhonov", devices=("cpu",), kind="statistical")
def noise_injection_monte_carlo(t):
    """The same with Gaussian noise, by Monte Carlo: the mean loss over K noisy copies matches the
    ridge-penalized loss within 6 standard errors."""
    # K = 2000 copies: the SE falls like 1/sqrt(K), and the penalty n s^2 ||w||^2 still measured 24-46 SE over
    # seeds 0-29, far past the 6 SE that tell it apart from zero
    n, d, s, k = 30, 8, 0.3, 2_000
    X, y, w = t.randn(n, d).cpu(), t.randn(n, stream=1).cpu(), t.randn(d, stream=2).cpu()
    g = torch.Generator().manual_seed(t.seed * 1_000_003 + 3)
    noisy = aug.add_gaussian_noise(X.expand(k, n, d), s, g)  # K augmented copies of the data set
    losses = ((y - noisy @ w) ** 2).sum(1)
    exact = ((y - X @ w) ** 2).sum() + n * s ** 2 * (w ** 2).sum()
    se = losses.std() / math.sqrt(k)
    assert abs(losses.mean() - exact) < 6 * se
    assert abs(losses.mean() - ((y - X @ w) ** 2).sum()) > 6 * se  # the penalty is really there


# ---------------------------------------------------------------- Mixup and CutMix

def _beta_moments(alpha):
    """Mean, variance and 4th central moment of Beta(alpha, alpha), from the raw moments
    E[lam^k] = prod_{i<k} (alpha + i) / (2 alpha + i)."""
    raw = [1.0]
    for i in range(4):
        raw.append(raw[-1] * (alpha + i) / (2 * alpha + i))
    m = raw[1]
    var = raw[2] - m ** 2
    mu4 = raw[4] - 4 * m * raw[3] + 6 * m ** 2 * raw[2] - 3 * m ** 4
    return m, var, mu4


@check("augmentation.mix-lambda-beta", devices=("cpu",), kind="statistical")
def mix_lambda_beta(t):
    """sample_mix_lambda draws lam ~ Beta(alpha, alpha): mean 1/2, variance 1/(4 (2 alpha + 1)); for small alpha
    most draws are near 0 or 1 (mild mixing), alpha = 1 is uniform."""
    # n = 20 000 draws: 6 SE of the variance is 0.0037, 0.0032 and 0.0017 for alpha = 0.2, 1, 3, while the uniform's
    # 1/12 is 155 and 163 SE away (alpha = 0.2, 3) and Beta(2 alpha, 2 alpha) or Beta(alpha/2, alpha/2) >= 48 SE;
    # 6 SE of the tail fraction is 0.020, the uniform's 0.2 is 166 SE away. Seeds 0-59: means and variances within
    # 3.3 SE of the closed forms, the tail fraction (of the same alpha = 0.2 draws) within 2.7 SE, the uniform's
    # variance >= 153 SE away
    n = 20_000
    torch.manual_seed(t.seed * 1_000_003 + 7)  # the global RNG: torch.distributions takes no generator
    samples = {}
    for alpha in (0.2, 1.0, 3.0):
        lam = samples[alpha] = aug.sample_mix_lambda(alpha, n)
        assert lam.shape == (n,) and lam.dtype == torch.float64 and ((lam >= 0) & (lam <= 1)).all()
        mean, var, mu4 = _beta_moments(alpha)
        assert mean == 0.5 and math.isclose(var, 1 / (4 * (2 * alpha + 1)), rel_tol=1e-12)  # closed form
        assert abs(lam.mean().item() - mean) < 6 * math.sqrt(var / n)
        # SE of the sample variance ~ sqrt((mu4 - var^2) / n)
        se_var = math.sqrt((mu4 - var ** 2) / n)
        assert abs(lam.var().item() - var) < 6 * se_var, alpha
        # "lam is uniform" (variance 1/12) is rejected unless alpha = 1, where it is true
        if alpha != 1.0:
            assert abs(lam.var().item() - 1 / 12) > 6 * se_var
        t.record(f"var_alpha_{str(alpha).replace('.', '_')}", var)
    lam = samples[0.2]  # the alpha = 0.2 draws again: each assertion holds at 6 SE on its own
    extreme = ((lam < 0.1) | (lam > 0.9)).double().mean().item()
    # oracle: P(lam < 0.1) for Beta(a, a) with u = lam^a, which removes the singularity of the density at 0:
    # P = 1 / (a B(a, a)) * integral_0^(0.1^a) (1 - u^(1/a))^(a - 1) du; the two tails are equal by symmetry
    a = 0.2
    u = torch.linspace(0, 0.1 ** a, 100_001, dtype=torch.float64)
    beta_fn = math.exp(2 * math.lgamma(a) - math.lgamma(2 * a))
    p_tail = 2 * torch.trapezoid((1 - u ** (1 / a)) ** (a - 1), u).item() / (a * beta_fn)
    assert abs(extreme - p_tail) < 6 * math.sqrt(p_tail * (1 - p_tail) / n)
    assert abs(extreme - 0.2) > 6 * math.sqrt(0.2 * 0.8 / n)  # a uniform lam would put only 20 % there
    assert round(t.record("extreme_fraction", p_tail), 2) == 0.67
    assert aug.sample_mix_lambda(1.0).shape == (1,)  # the default: one draw per batch


@check("augmentation.mixup-label-is-mixed", dtypes=("float32", "float64"))
def mixup_label_is_mixed(t):
    """Mixup blends inputs with weight lam; the loss lam CE(y_a) + (1 - lam) CE(y_b) equals the cross-entropy with
    the mixed soft label lam onehot(y_a) + (1 - lam) onehot(y_b) (F.cross_entropy with probability targets)."""
    n, k, lam = 8, 5, 0.7
    x = t.rand(n, 3, 4, 4)
    y = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2], device=t.device)
    perm = torch.tensor([3, 0, 1, 2, 7, 4, 5, 6], device=t.device)
    mixed, y_a, y_b = aug.mixup(x, y, lam, perm)
    assert_close(mixed, torch.lerp(x[perm], x, lam), rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
    flat = x[:, 0, 0, 0]  # a batch of n scalars (1-D) is a batch too
    assert_close(aug.mixup(flat, y, lam, perm)[0], torch.lerp(flat[perm], flat, lam),
                 rtol=t.tol(f64=1e-14, f32=1e-6), atol=t.tol(f64=1e-15, f32=1e-6))
    assert torch.equal(y_a, y) and torch.equal(y_b, y[perm])
    tol = dict(rtol=t.tol(f64=1e-12, f32=1e-5), atol=0)  # float32: a K-term log-sum-exp, a few ulps
    huge = torch.zeros(n, k, dtype=torch.float64)
    huge[torch.arange(n), torch.arange(n) % k], huge[torch.arange(n), (torch.arange(n) + 2) % k] = 1000.0, -1000.0
    # random logits leaning towards y_a by 3 (with none, the wrong versions below can come within 1e-3 of the right
    # one by chance, as for seed 54), and logits with a gap of 1000
    for logits in (t.randn(n, k, stream=1) + 3 * F.one_hot(y, k).to(t.dtype), t.put(huge)):
        soft = lam * F.one_hot(y_a, k).to(t.dtype) + (1 - lam) * F.one_hot(y_b, k).to(t.dtype)
        loss = aug.mixed_cross_entropy(logits, y_a, y_b, lam)
        assert torch.isfinite(loss)
        assert_close(loss, F.cross_entropy(logits, soft), **tol)
        # plausible wrong versions: the weights swapped, or the label of the dominant image only
        assert (loss - aug.mixed_cross_entropy(logits, y_a, y_b, 1 - lam)).abs() > 1e-3
        assert (loss - F.cross_entropy(logits, y_a)).abs() > 1e-3
    # range edges: lam = 1 is no mixing, lam = 0 the permuted batch
    assert torch.equal(aug.mixup(x, y, 1.0, perm)[0], x) and torch.equal(aug.mixup(x, y, 0.0, perm)[0], x[perm])
    logits = t.randn(n, k, stream=2)
    assert_close(aug.mixed_cross_entropy(logits, y_a, y_b, 1.0), F.cross_entropy(logits, y_a), rtol=0, atol=0)


@check("augmentation.cutmix-label-is-kept-area", dtypes=("float32", "float64"))
def cutmix_label_is_kept_area(t):
    """CutMix pastes a box of another image; the label weight it returns is the fraction of pixels kept from the
    first image, counted pixel by pixel. Clipping at the border makes it larger than the sampled lam."""
    n, h, w = 4, 12, 10
    x = (torch.arange(n, dtype=torch.float64) + 1).view(n, 1, 1, 1).expand(n, 2, h, w).to(t.device, t.dtype)
    y = torch.arange(n, device=t.device)
    perm = torch.tensor([1, 2, 3, 0], device=t.device)       # no fixed point: every box shows another image
    g = t.device_generator()
    for lam in (0.0, 0.3, 0.5, 0.81, 1.0):
        for _ in range(10):
            mixed, y_a, y_b, kept = aug.cutmix(x, y, lam, perm, g)
            own = (mixed == x).all(1).double().mean((1, 2))       # per image, fraction of its own pixels
            assert torch.equal(own, torch.full_like(own, own[0].item()))  # one box for the whole batch
            assert_close(own[0].item(), kept, rtol=1e-12, atol=1e-15)
            assert ((mixed == x) | (mixed == x[perm])).all()    # every pixel is from one of the two images
            assert torch.equal(y_a, y) and torch.equal(y_b, y[perm])
            assert kept >= lam - 1e-12                          # clipping and int() only shrink the box
    # lam = 1 pastes nothing; lam = 0 with the box centred covers the image up to the int/halving rounding
    assert aug.cutmix(x, y, 1.0, perm, g)[3] == 1.0
    # the generator decides the centre: cy = int(u1 H), cx = int(u2 W) from two U(0, 1) draws (H = 12 != W = 10);
    # the same for a batch of grey (n, H, W) images
    xc, yc, pc = x.cpu(), y.cpu(), perm.cpu()
    centres = set()
    for seed in range(3, 9):
        u = torch.rand(2, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
        cy, cx = int(u[0].item() * h), int(u[1].item() * w)
        centres.add((cy, cx))
        top, bottom, left, right = aug.cutmix_box(h, w, 0.5, cy, cx)
        expected = xc.clone()
        expected[..., top:bottom, left:right] = xc[pc][..., top:bottom, left:right]
        for batch, want in ((xc, expected), (xc[:, 0], expected[:, 0])):
            mixed, _, _, kept = aug.cutmix(batch, yc, 0.5, pc, torch.Generator().manual_seed(seed))
            assert torch.equal(mixed, want)
            assert kept == 1 - (bottom - top) * (right - left) / (h * w)
    assert len({cy for cy, _ in centres}) >= 3 and len({cx for _, cx in centres}) >= 3  # centres that differ


@check("augmentation.cutmix-label-is-kept-area", devices=("cpu",))
def cutmix_kept_area_over_centres(t):
    """Over all H W box centres (uniform, as CutMix draws them), lam = 0.5 on a 32 x 32 image keeps on average more
    than half of the first image: the box is clipped at the border. Oracle: the box drawn as a pixel mask."""
    h = w = 32
    lam = 0.5
    cut = int(h * math.sqrt(1 - lam))  # 22: half-side 11
    # oracle: the pixels within half a side of the centre, inside the image (no clipping arithmetic), for every
    # centre at once: inside[c, p] says whether pixel row (or column) p lies in the box centred at c
    pos = torch.arange(h)
    inside = ((pos[None, :] - pos[:, None]).abs() <= cut // 2) & (pos[None, :] < pos[:, None] + cut // 2)
    mask = inside[:, None, :, None] & inside[None, :, None, :]  # (cy, cx, row, col): the box as a pixel mask
    area = mask.sum((2, 3))
    boxes = torch.tensor([aug.cutmix_box(h, w, lam, cy, cx) for cy in range(h) for cx in range(w)]).view(h, w, 4)
    bad = ((boxes[..., 1] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 2]) != area).nonzero()
    assert len(bad) == 0, bad[:5].tolist()  # the (cy, cx) whose box is not the mask
    kept = 1 - mask.double().mean((2, 3))
    # centred box: 22 x 22 of 32 x 32 replaced, 0.527 kept (int() rounding); a corner centre keeps 0.88
    assert round(t.record("kept_centre", kept[16, 16].item()), 3) == 0.527
    assert round(t.record("kept_corner", kept[0, 0].item()), 3) == 0.882
    assert round(t.record("kept_mean", kept.mean().item()), 3) == 0.676
    # using the sampled lam as the label weight would be off by this much on average
    assert kept.mean().item() - lam > 0.15
