import torch

from snippets import augmentation as aug

IMG = torch.zeros(3, 8, 8)
CASES = [
    (aug.horizontal_flip, (torch.zeros(5),), {}, ValueError, "img"),
    (aug.horizontal_flip, ([[0.0]],), {}, TypeError, "img"),
    (aug.random_horizontal_flip, (IMG, 1.5), {}, ValueError, "p"),
    (aug.random_horizontal_flip, (IMG, 0.5, 123), {}, TypeError, r"generator must be a torch\.Generator or None, got int"),
    (aug.pad_and_crop, (IMG, 0, 0, 9, 0), {}, ValueError, "size"),
    (aug.pad_and_crop, (IMG, 5, 0, 8, 2), {}, ValueError, "top"),
    (aug.pad_and_crop, (IMG, 0, -1, 8, 2), {}, ValueError, "left"),
    (aug.pad_and_crop, (IMG, 0, 0, 8, -2), {}, ValueError, "padding"),
    (aug.random_crop, (IMG, 0), {}, ValueError, "size"),
    (aug.random_crop, (IMG, 8, 1.5), {}, ValueError, "padding"),
    (aug.random_crop, (torch.zeros(3, 8, 8, dtype=torch.uint8), 8), {}, TypeError, "img"),
    (aug.add_gaussian_noise, (IMG, -0.1), {}, ValueError, "std"),
    (aug.add_gaussian_noise, (IMG, 0.1, "seed"), {}, TypeError, "generator"),
    (aug.adjust_brightness, (IMG, -1.0), {}, ValueError, "factor"),
    (aug.adjust_brightness, ("img", 1.0), {}, TypeError, "img"),
    (aug.random_brightness, (IMG, -0.2), {}, ValueError, "max_delta"),
    (aug.noise_injection_solution, (torch.zeros(4, 2), torch.zeros(3), 0.1), {}, ValueError, "y"),
    (aug.noise_injection_solution, (torch.zeros(4, 2), [0.0] * 4, 0.1), {}, TypeError, "y"),
    (aug.noise_injection_solution, (torch.zeros(4, 2), torch.zeros(4, 1), 0.1), {}, ValueError, "y"),  # ndim=1
    (aug.random_horizontal_flip, ("img",), {}, TypeError, "img"),
    (aug.random_horizontal_flip, (torch.zeros(5), 0.0), {}, ValueError, "img"),  # 1-D; p = 0 never flips
    (aug.random_horizontal_flip, (IMG, -0.1), {}, ValueError, "p"),  # just below low=0
    (aug.random_crop, (torch.zeros(8), 1), {}, ValueError, "img"),  # 1-D: below min_ndim=2
    (aug.pad_and_crop, (torch.zeros(3, 5, 8), 0, 0, 6, 0), {}, ValueError, "size"),  # height 5 limits
    (aug.pad_and_crop, (torch.zeros(3, 8, 5), 0, 0, 6, 0), {}, ValueError, "size"),  # width 5 limits
    (aug.pad_and_crop, (IMG, 0, 5, 4, 0), {}, ValueError, "left"),  # one past the last corner, width - size
    (aug.pad_and_crop, (IMG, True, 0, 4, 0), {}, ValueError, "top"),  # a bool is not an int here
    (aug.add_gaussian_noise, ("img", 0.1), {}, TypeError, "img"),
    (aug.random_brightness, ("img", 0.2), {}, TypeError, "img"),
    (aug.noise_injection_solution, (torch.zeros(4), torch.zeros(4), 0.1), {}, ValueError, "X"),
    (aug.noise_injection_solution, (torch.zeros(4, 2), torch.zeros(4), -0.1), {}, ValueError, "std"),
]

# Mixup and CutMix
_B = torch.zeros(4, 3, 8, 8)
_YL, _P = torch.tensor([0, 1, 2, 3]), torch.tensor([1, 2, 3, 0])
CASES += [
    (aug.sample_mix_lambda, (0.0,), {}, ValueError, "alpha"),
    (aug.sample_mix_lambda, ("1",), {}, TypeError, "alpha"),
    (aug.sample_mix_lambda, (1.0, 0), {}, ValueError, "num_samples"),
    (aug.mixup, (_B, _YL, 1.5, _P), {}, ValueError, "lam"),
    (aug.mixup, (_B, _YL.float(), 0.5, _P), {}, TypeError, "y"),
    (aug.mixup, (_B, _YL[:3], 0.5, _P), {}, TypeError, "y"),
    (aug.mixup, (_B, _YL, 0.5, torch.tensor([0, 0, 1, 2])), {}, ValueError, "perm"),
    (aug.mixup, (_B, _YL, 0.5, [1, 2, 3, 0]), {}, TypeError, "perm"),
    (aug.mixup, ([0.0] * 4, _YL, 0.5, _P), {}, TypeError, "x"),
    (aug.mixed_cross_entropy, (torch.zeros(4), _YL, _YL, 0.5), {}, ValueError, "logits"),
    (aug.mixed_cross_entropy, (torch.zeros(4, 5), _YL[:3], _YL, 0.5), {}, TypeError, "y_a"),
    (aug.mixed_cross_entropy, (torch.zeros(4, 5), _YL, _YL.float(), 0.5), {}, TypeError, "y_b"),
    (aug.mixed_cross_entropy, (torch.zeros(4, 5), _YL, _YL, -0.5), {}, ValueError, "lam"),
    (aug.cutmix_box, (0, 8, 0.5, 0, 0), {}, ValueError, "height"),
    (aug.cutmix_box, (8, 8.0, 0.5, 0, 0), {}, TypeError, "width"),
    (aug.cutmix_box, (8, 8, 1.5, 0, 0), {}, ValueError, "lam"),
    (aug.cutmix_box, (8, 8, 0.5, 8, 0), {}, ValueError, "cy"),
    (aug.cutmix_box, (8, 8, 0.5, 0, -1), {}, ValueError, "cx"),
    (aug.cutmix_box, (8, 8, 0.5, 0, 2.0), {}, ValueError, "cx"),
    (aug.cutmix, (torch.zeros(4, 8), _YL, 0.5, _P), {}, ValueError, "x"),
    (aug.cutmix, (_B, _YL, 0.5, _P, 7), {}, TypeError, "generator"),
    (aug.cutmix, (_B, _YL, 2.0, _P), {}, ValueError, "lam"),
    (aug.cutmix, (_B, _YL, 0.5, torch.tensor([1, 1, 3, 0])), {}, ValueError, "perm"),
]

# range edges of lam and the message details; lam is checked before the generator is touched
CASES += [
    (aug.mixup, (torch.tensor(1.0), _YL, 0.5, _P), {}, ValueError, r"x must have at least 1 dimensions"),  # 0-d
    (aug.mixup, (_B, _YL, -0.5, _P), {}, ValueError, r"lam must be >= 0, got -0\.5"),
    (aug.mixed_cross_entropy, (torch.zeros(4, 5), _YL, _YL, 1.5), {}, ValueError, r"lam must be <= 1, got 1\.5"),
    (aug.cutmix_box, (8, 8, -0.5, 0, 0), {}, ValueError, r"lam must be >= 0, got -0\.5"),
    (aug.cutmix_box, (8, 6, 0.5, 8, 0), {}, ValueError, r"cy must be an int in \[0, 7\], got 8"),
    (aug.cutmix_box, (8, 6, 0.5, 0, 6), {}, ValueError, r"cx must be an int in \[0, 5\], got 6"),
    (aug.cutmix, (_B, _YL, -0.5, _P, 7), {}, ValueError, r"lam must be >= 0, got -0\.5"),
    (aug.cutmix, (_B, _YL, 1.5, _P, 7), {}, ValueError, r"lam must be <= 1, got 1\.5"),
]
