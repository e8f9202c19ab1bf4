"""Figures for docs/*/attention.md, drawn from snippets/attention.py (single column: legible on a phone)."""
from kb.figures import figure


@figure("attention-scaling.svg")
def scaling(plt):
    import torch
    from snippets.attention import attention_scores
    dims = [2 ** i for i in range(1, 12)]
    scaled, unscaled = [], []
    for d in dims:  # the check's set-up: 16 keys, q and K with N(0, 1) entries
        g = torch.Generator().manual_seed(d)
        q = torch.randn(100, 1, d, generator=g, dtype=torch.float64)
        keys = torch.randn(100, 16, d, generator=g, dtype=torch.float64)
        for out, logits in ((scaled, attention_scores(q, keys)), (unscaled, q @ keys.transpose(-2, -1))):
            p = torch.softmax(logits.squeeze(1), -1)
            s2 = p.pow(2).sum(-1)  # ||diag(p) - p p^T||_F^2 = sum p^2 - 2 sum p^3 + (sum p^2)^2
            out.append((s2 - 2 * p.pow(3).sum(-1) + s2 ** 2).sqrt().mean().item())
    fig, ax = plt.subplots(figsize=(4.6, 3.3))
    ax.semilogx(dims, scaled, marker="o", base=2, label=r"softmax$(qK^\top/\sqrt{d_k})$")
    ax.semilogx(dims, unscaled, marker="s", base=2, color="C3", label=r"softmax$(qK^\top)$")
    ax.set(xlabel=r"$d_k$", ylabel=r"mean $\|\partial p/\partial z\|_F$", ylim=(0, 0.4))
    ax.legend(fontsize=9)
    return fig


@figure("attention-positional.svg")
def positional(plt):
    import torch
    from snippets.attention import sinusoidal_positional_encoding
    d = 64
    pe = sinusoidal_positional_encoding(160, d)
    fig, (ax_m, ax_d) = plt.subplots(2, 1, figsize=(4.6, 6.0), gridspec_kw={"height_ratios": [1.1, 1]})
    im = ax_m.imshow(pe[:64].numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    ax_m.set(xlabel="dimension j", ylabel="pos", title="PE[pos, j], d = 64")
    ax_m.grid(False)
    fig.colorbar(im, ax=ax_m, fraction=0.05)
    offsets = torch.arange(-60, 61)
    for pos, style in ((60, dict(lw=4, alpha=0.4)), (80, dict(lw=1.5, ls="--")), (99, dict(lw=1, ls=":"))):
        dots = [(pe[pos] * pe[pos + k]).sum().item() for k in offsets.tolist()]  # one curve for every pos
        ax_d.plot(offsets.numpy(), dots, label=f"pos = {pos}", **style)
    ax_d.set(xlabel="offset k", ylabel="PE(pos)·PE(pos + k)")
    ax_d.legend(fontsize=9)
    return fig
