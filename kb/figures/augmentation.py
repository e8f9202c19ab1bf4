"""Figures for docs/*/augmentation.md, drawn from snippets/augmentation.py."""
from kb.figures import figure


def _synthetic_image():
    """A 3 x 32 x 32 picture with a colour gradient, a sun and an arrow pointing right (not symmetric)."""
    import torch
    h = w = 32
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    img = torch.stack([0.25 + 0.4 * xx / w, 0.45 + 0.3 * yy / h, 0.85 - 0.3 * yy / h])
    sun = (xx - 8) ** 2 + (yy - 8) ** 2 <= 16
    img[:, sun] = torch.tensor([0.98, 0.85, 0.2], dtype=torch.float64).unsqueeze(1)
    shaft = (yy >= 19) & (yy <= 22) & (xx >= 6) & (xx <= 20)
    head = (xx >= 20) & (xx <= 27) & ((yy - 20.5).abs() <= 27 - xx)
    img[:, shaft | head] = torch.tensor([0.75, 0.1, 0.15], dtype=torch.float64).unsqueeze(1)
    return img


@figure("augmentation.svg")
def augmentations(plt):
    import torch
    from snippets import augmentation as aug
    img = _synthetic_image()
    g = torch.Generator().manual_seed(0)
    panels = [("x", img),
              ("horizontal_flip(x)", aug.horizontal_flip(img)),
              ("pad_and_crop(x, 0, 6, 32, 4)", aug.pad_and_crop(img, 0, 6, 32, 4)),
              ("add_gaussian_noise(x, 0.1)", aug.add_gaussian_noise(img, 0.1, g)),
              ("adjust_brightness(x, 1.6)", aug.adjust_brightness(img, 1.6))]
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 2.5))
    for ax, (title, im) in zip(axes, panels):
        ax.imshow(im.clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")  # clamp for display only
        ax.set_title(title, fontsize=7.5, family="monospace")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    return fig


@figure("augmentation-mix-lambda.svg")
def mix_lambda(plt):
    import torch
    from snippets import augmentation as aug
    torch.manual_seed(0)
    lam = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for alpha, colour in ((0.2, "C0"), (1.0, "C1"), (3.0, "C2")):
        a = torch.tensor(alpha, dtype=torch.float64)
        density = torch.distributions.Beta(a, a).log_prob(lam).exp()
        ax.hist(aug.sample_mix_lambda(alpha, 20_000).numpy(), bins=40, range=(0, 1), density=True,
                color=colour, alpha=0.25)
        ax.plot(lam, density, color=colour, label=f"α = {alpha:g}")
    ax.set(xlabel="λ", ylabel="p(λ)", ylim=(0, 3.2))
    ax.legend(fontsize=8)
    return fig
