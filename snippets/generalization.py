"""Capacity, under- and overfitting: polynomial least squares and the small-subset sanity test."""
import torch
import torch.nn.functional as F

from snippets._validate import check_number, check_one_per_row, check_positive_int, check_tensor


# --8<-- [start:polynomial]
def legendre_features(x, degree):
    """Columns P_0(x), ..., P_degree(x) for x in [-1, 1]: nested models, degree d contains degree d-1."""
    check_tensor(x, "x", ndim=1)
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree must be an int >= 0, got {degree!r}")
    cols = [torch.ones_like(x), x]
    for n in range(1, degree):  # Bonnet's recursion: (n+1) P_{n+1} = (2n+1) x P_n - n P_{n-1}
        cols.append(((2 * n + 1) * x * cols[n] - n * cols[n - 1]) / (n + 1))
    return torch.stack(cols[:degree + 1], dim=1)  # Legendre, not x^k: far better conditioned


def least_squares_fit(features, y, ridge=0.0):
    """Weights minimizing mean (features w - y)^2 + ridge * ||w||^2 (ridge = 0: plain least squares)."""
    check_tensor(features, "features", ndim=2)
    check_tensor(y, "y", ndim=1)
    check_one_per_row(y, "y", features, "features")
    check_number(ridge, "ridge", low=0)
    if ridge == 0:
        return torch.linalg.lstsq(features, y[:, None]).solution.squeeze(1)
    n, d = features.shape
    gram = features.T @ features / n + ridge * torch.eye(d, dtype=features.dtype, device=features.device)
    return torch.linalg.solve(gram, features.T @ y / n)
# --8<-- [end:polynomial]


# --8<-- [start:small-subset]
def train_full_batch(model, x, y, steps=300, lr=1e-2):
    """Adam on the cross-entropy of the whole (x, y) for `steps` steps; returns (final loss, accuracy).

    The small-subset test: on a few samples a correct model and loop must reach ~100 % and a loss near 0.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", ndim=2)
    check_tensor(y, "y", ndim=1, floating=False)
    if y.dtype != torch.long:
        raise TypeError(f"y must hold int64 class indices, got {y.dtype}")
    check_one_per_row(y, "y", x, "x", what="labels")
    check_positive_int(steps, "steps")
    check_number(lr, "lr", low=0, low_open=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()  # expects raw logits, not probabilities
        opt.step()
    with torch.no_grad():
        logits = model(x)
        return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).double().mean().item()
# --8<-- [end:small-subset]
