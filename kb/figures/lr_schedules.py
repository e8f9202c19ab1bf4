"""Figures for docs/*/lr_schedules.md, drawn from snippets/lr_schedules.py."""
from kb.figures import figure


@figure("lr_schedules-piecewise.svg")
def piecewise(plt):
    from torch.optim.lr_scheduler import MultiStepLR
    from snippets import lr_schedules as lrs
    steps = range(10)
    tf = [lrs.piecewise_constant(s, [3, 6], [1.0, 0.5, 0.25]) for s in steps]
    torch_ = lrs.torch_schedule(lambda o: MultiStepLR(o, milestones=[3, 6], gamma=0.5), 1.0, 10)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.step(steps, tf, where="post", marker="o", label="piecewise_constant([3, 6], [1, 0.5, 0.25])")
    ax.step(steps, torch_, where="post", marker="x", ls="--", label="MultiStepLR([3, 6], γ=0.5)")
    for b in (3, 6):
        ax.axvline(b, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="t", ylabel="η", ylim=(0, 1.1))
    ax.legend(fontsize=8, loc="lower left")
    return fig


@figure("lr_schedules-exponential.svg")
def exponential(plt):
    from snippets import lr_schedules as lrs
    steps = range(51)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(steps, [lrs.exponential_decay(0.1, s, 10, 0.5) for s in steps], label="staircase=False")
    ax.step(steps, [lrs.exponential_decay(0.1, s, 10, 0.5, staircase=True) for s in steps], where="post",
            label="staircase=True")
    ax.set(xlabel="t", ylabel="η", title="η₀ = 0.1, r = 0.5, T = 10")
    ax.legend(fontsize=8)
    return fig


@figure("lr_schedules-three-decays.svg")
def three_decays(plt):
    from snippets import lr_schedules as lrs
    steps = range(101)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.step(steps, [lrs.piecewise_constant(s, [30, 60], [0.1, 0.05, 0.01]) for s in steps], where="post",
            color="tab:red", label="piecewise_constant")
    ax.plot(steps, [lrs.exponential_decay(0.1, s, 10, 0.9) for s in steps], color="tab:blue",
            label="exponential_decay, r = 0.9")
    ax.plot(steps, [lrs.natural_exp_decay(0.1, s, 10, 0.9) for s in steps], color="tab:green",
            label="natural_exp_decay, r = 0.9")
    ax.set(xlabel="t", ylabel="η", title="η₀ = 0.1, T = 10")
    ax.legend(fontsize=8)
    return fig


@figure("lr_schedules-polynomial.svg")
def polynomial(plt):
    from snippets import lr_schedules as lrs
    steps = range(401)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(steps, [lrs.polynomial_decay(0.1, s, 100, 0.01, 2.0) for s in steps], color="tab:red",
            label="cycle=False")
    ax.plot(steps, [lrs.polynomial_decay(0.1, s, 100, 0.01, 2.0, cycle=True) for s in steps], color="tab:green",
            ls="--", label="cycle=True")
    ax.set(xlabel="t", ylabel="η", title="η₀ = 0.1, η_end = 0.01, T = 100, power = 2")
    ax.legend(fontsize=8)
    return fig


@figure("lr_schedules-cosine.svg")
def cosine(plt):
    from torch.optim.lr_scheduler import CosineAnnealingLR
    from snippets import lr_schedules as lrs
    steps = range(201)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(steps, lrs.torch_schedule(lambda o: CosineAnnealingLR(o, T_max=100, eta_min=0.01), 0.1, 201),
            color="tab:orange", ls="--", label="CosineAnnealingLR(T_max=100, η_min=0.01)")
    ax.plot(steps, [lrs.cosine_decay(0.1, s, 100, alpha=0.1) for s in steps], color="tab:blue",
            label="cosine_decay(T=100, α=0.1)")
    ax.axvline(100, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="t", ylabel="η", title="η₀ = 0.1")
    ax.legend(fontsize=8)
    return fig


@figure("lr_schedules-warmup.svg")
def warmup(plt):
    from snippets import lr_schedules as lrs
    fig, (ax_w, ax_r) = plt.subplots(2, 1, figsize=(5, 5.2))
    steps = range(101)
    ax_w.plot(steps, [lrs.warmup_cosine(s, 1.0, 10, 100) for s in steps], color="tab:blue",
              label="LinearLR → CosineAnnealingLR")
    ax_w.plot(steps, [lrs.linear_warmup_factor(s, 10, 1 / 32) for s in steps], color="tab:orange", ls="--",
              label="LinearLR(1/k), k = 32")
    ax_w.axvline(10, color="grey", lw=0.8, ls=":")
    ax_w.set(xlabel="t", ylabel="η / η_max")
    ax_w.legend(fontsize=8)
    ts = range(6, 6001)
    ax_r.semilogx(ts, [lrs.radam_rectifier(s) for s in ts], color="tab:green")
    ax_r.set(xlabel="t", ylabel="r_t  (RAdam, β₂ = 0.999)", ylim=(0, 1.05))
    fig.tight_layout()
    return fig


@figure("lr_schedules-one-cycle.svg")
def one_cycle(plt):
    from snippets import lr_schedules as lrs
    total = 1000
    pts = [lrs.one_cycle(s, 1.0, total) for s in range(total)]
    fig, (ax_l, ax_m) = plt.subplots(2, 1, figsize=(5, 5), sharex=True)
    ax_l.semilogy(range(total), [p[0] for p in pts], color="tab:blue")
    ax_l.axvline(0.3 * total - 1, color="grey", lw=0.8, ls=":")
    ax_l.set(ylabel="η / η_max")
    ax_m.plot(range(total), [p[1] for p in pts], color="tab:red")
    ax_m.axvline(0.3 * total - 1, color="grey", lw=0.8, ls=":")
    ax_m.set(xlabel="t", ylabel="μ")
    fig.tight_layout()
    return fig


@figure("lr_schedules-range-test.svg")
def range_test(plt):
    import torch
    from snippets import lr_schedules as lrs
    g = torch.Generator().manual_seed(0)
    n, d = 256, 8
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.3, 3, d, dtype=torch.float64)
    y = x @ torch.randn(d, generator=g, dtype=torch.float64) + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
    limit = 2 / torch.linalg.eigvalsh(x.T @ x / n).max().item()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for batch, style in ((16, "-"), (256, "--")):
        def loss_and_grad(w, k, batch=batch):
            idx = torch.randperm(n, generator=g)[:batch]
            return 0.5 * (x @ w - y).pow(2).mean(), x[idx].T @ (x[idx] @ w - y[idx]) / batch
        rates, losses = lrs.lr_range_test(loss_and_grad, torch.zeros(d, dtype=torch.float64), 1e-3 * limit,
                                          10 * limit, 100)
        ax.loglog([r / limit for r in rates], losses, ls=style, label=f"B = {batch}")
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="η / (2/λ_max)", ylabel="L(θ)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
