"""Figures drawn by the snippets they illustrate, written to docs/assets/figures/ at build time.

One module per topic in this package registers its figures with `@figure("name.svg")`.
Labels are mathematical symbols only, so both languages share every figure.
Drawing is skipped while the snippets and figure modules are unchanged (a stamp
file holds their hash), so a rebuild costs nothing and does not import torch.
"""
import hashlib
import importlib
from pathlib import Path

FIGURES = {}  # file name -> function(plt) returning a matplotlib figure
HERE = Path(__file__).resolve().parent


def figure(name):
    """Register the decorated function as the drawer of docs/assets/figures/<name>."""
    def register(fn):
        FIGURES[name] = fn
        return fn
    return register


def load_all():
    for module in sorted(HERE.glob("[!_]*.py")):
        importlib.import_module(f"kb.figures.{module.stem}")
    return FIGURES


def _inputs_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted([*root.glob("snippets/*.py"), *HERE.glob("*.py")]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def build(root: Path) -> bool:
    """Draw every figure into docs/assets/figures unless they are up to date; True if drawn."""
    out = root / "docs" / "assets" / "figures"
    stamp = out / ".stamp"
    digest = _inputs_hash(root)
    if stamp.exists():
        recorded, *names = stamp.read_text().split("\n")
        if recorded == digest and all((out / n).exists() for n in names):
            return False
    load_all()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.hashsalt": "kb", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.svg"):  # a removed figure must not linger
        old.unlink()
    for name, draw in FIGURES.items():
        fig = draw(plt)
        fig.tight_layout()
        fig.savefig(out / name, metadata={"Date": None})
        plt.close(fig)
    stamp.write_text("\n".join([digest, *sorted(FIGURES)]))
    return True
