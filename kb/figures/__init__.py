"""Figures drawn by the snippets they illustrate, written to docs/assets/figures/ at build time.

One module per topic in this package registers its figures with `@figure("name.svg")`.
Labels are mathematical symbols only, so both languages share every figure.
Every figure wider than a phone's column also gets a stacked copy, `<name>.narrow.svg`, with its panels one under
another at NARROW_WIDTH inches, which kb/hooks.py offers to narrow screens: at 390 px the axis text stays at about
10 px or more. Text is kept as SVG text (not paths), which is smaller and lets a test read its size.
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
SVG_BUDGET = 60_000  # bytes; a figure drawn heavier has its plotted marks rasterized at RASTER_DPI (text stays text)
RASTER_DPI = 150
NARROW_WIDTH = 5.0  # inches: at 390 px (about 350 px of column) 11-pt text draws at about 10.7 px
STYLE = {"svg.hashsalt": "kb", "svg.fonttype": "none", "font.size": 11, "axes.grid": True, "grid.alpha": 0.3,
         "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial"],  # each text repeats the list
         "path.simplify_threshold": 0.5}  # drop vertices that move a line by under half a pixel: lighter SVGs
PHONE_MIN_FONT = 10  # points: the stacked copy's smallest text (legends written at 7 pt would draw at 7 px)


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
        plt.rcParams.update(STYLE)
        out.mkdir(parents=True, exist_ok=True)
    for stem, digest in todo:
        importlib.import_module(f"kb.figures.{stem}")
        names = sorted(n for n, fn in FIGURES.items() if fn.__module__ == f"kb.figures.{stem}")
        files = []
        for name in names:
            fig = FIGURES[name](plt)
            fig.tight_layout()
            save_light(fig, out / name)
            files.append(name)
            if stack_for_phone(fig):
                save_light(fig, out / narrow_name(name))
                files.append(narrow_name(name))
            plt.close(fig)
        stamps[stem] = {"hash": digest, "files": files}
        drawn += names
    if todo or removed or not stamp_path.exists():
        out.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
    return drawn


def save_light(fig, path: Path) -> None:
    """Save as SVG; if that is over SVG_BUDGET (dense contours, voxels, long trajectories), also try with the plotted
    marks (lines, collections, patches, images) rasterized, text kept as text, and keep the lighter of the two."""
    import io
    vector = io.BytesIO()
    fig.savefig(vector, format="svg", metadata={"Date": None})
    best = vector.getvalue()
    if len(best) > SVG_BUDGET:
        marks = [a for ax in fig.axes for a in (*ax.lines, *ax.collections, *ax.patches, *ax.images)]
        for artist in marks:
            artist.set_rasterized(True)
        raster = io.BytesIO()
        fig.savefig(raster, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
        for artist in marks:
            artist.set_rasterized(False)
        best = min(best, raster.getvalue(), key=len)
    path.write_bytes(best)


def narrow_name(name: str) -> str:
    return name[:-len(".svg")] + ".narrow.svg"


def stack_for_phone(fig) -> bool:
    """Re-lay a figure wider than NARROW_WIDTH as one column of its panels, NARROW_WIDTH wide; False if it fits."""
    width, height = fig.get_size_inches()
    if width <= NARROW_WIDTH + 1e-9:
        return False
    panels = [ax for ax in fig.axes if ax.get_subplotspec() is not None]  # not colorbars or insets
    nrows, ncols = panels[0].get_subplotspec().get_gridspec().get_geometry() if panels else (1, 1)
    panel_aspect = (height / nrows) / (width / ncols)
    panel_height = min(max(NARROW_WIDTH * panel_aspect, 2.6), 4.0)
    if ncols > 1:
        column = fig.add_gridspec(len(panels), 1)
        for i, ax in enumerate(panels):
            ax.set_subplotspec(column[i, 0])
        fig.set_size_inches(NARROW_WIDTH, panel_height * len(panels))
    else:
        fig.set_size_inches(NARROW_WIDTH, panel_height * nrows)
    from matplotlib.text import Text
    for text in fig.findobj(Text):
        text.set_fontsize(max(text.get_fontsize(), PHONE_MIN_FONT))
    fig.tight_layout()
    return True
