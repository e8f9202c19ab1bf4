"""Figures drawn by the snippets they illustrate, written to docs/assets/figures/ at build time.

One module per topic in this package registers its figures with `@figure("name.svg")`.
Labels are mathematical symbols only, so both languages share every figure.
A topic's figures are redrawn only when its figure module or a snippet module it
imports changed (.stamps.json holds their hashes), so a rebuild usually costs
nothing and does not import torch.
"""
import hashlib
import importlib
import json
from pathlib import Path

from verify import _report

FIGURES = {}  # file name -> function(plt) returning a matplotlib figure
HERE = Path(__file__).resolve().parent


def figure(name):
    """Register the decorated function as the drawer of docs/assets/figures/<name>."""
    def register(fn):
        FIGURES[name] = fn
        return fn
    return register


def _module_hash(module: Path, root: Path) -> str:
    """Hash of a figure module, this file and the snippet modules it imports."""
    parts = {f"kb/figures/{p.name}": p for p in (module, Path(__file__).resolve())}
    parts.update({f"snippets/{p.name}": p for p in _report.snippet_imports(module, root)})
    h = hashlib.sha256()
    for label in sorted(parts):  # by label, not by absolute path: a copy of the tree hashes the same
        h.update(label.encode() + b"\0" + parts[label].read_bytes())
    return h.hexdigest()


def build(root: Path) -> list:
    """Redraw the figures of each topic module whose code changed; return the names drawn."""
    out = root / "docs" / "assets" / "figures"
    stamp_path = out / ".stamps.json"
    stamps = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    modules = {m.stem: m for m in sorted(HERE.glob("[!_]*.py"))}
    todo = []
    for stem, module in modules.items():
        digest, entry = _module_hash(module, root), stamps.get(stem)
        if not (entry and entry["hash"] == digest and all((out / n).exists() for n in entry["files"])):
            todo.append((stem, digest))
    removed = set(stamps) - set(modules)
    for stem in removed:  # a removed topic's figures must not linger
        for name in stamps.pop(stem)["files"]:
            (out / name).unlink(missing_ok=True)
    drawn = []
    if todo:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.rcParams.update({"svg.hashsalt": "kb", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
        out.mkdir(parents=True, exist_ok=True)
    for stem, digest in todo:
        importlib.import_module(f"kb.figures.{stem}")
        names = sorted(n for n, fn in FIGURES.items() if fn.__module__ == f"kb.figures.{stem}")
        for name in names:
            fig = FIGURES[name](plt)
            fig.tight_layout()
            fig.savefig(out / name, metadata={"Date": None})
            plt.close(fig)
        stamps[stem] = {"hash": digest, "files": names}
        drawn += names
    if todo or removed or not stamp_path.exists():
        out.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
    return drawn
