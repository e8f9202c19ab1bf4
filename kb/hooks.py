"""MkDocs hook: put MathJax where the site serves it and draw the figures before each build.

Neither step is part of the claim gate (that is the kb.claims Markdown extension),
so a builder without MkDocs hooks loses only convenience, never the gate.
"""
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

from kb import figures

ROOT = Path(__file__).resolve().parent.parent

MATHJAX = ("node_modules/mathjax/es5/tex-svg-full.js", "overrides/assets/vendor/mathjax/tex-svg-full.js")


def on_pre_build(config, **kwargs):
    src, dst = (ROOT / p for p in MATHJAX)
    if not src.exists():
        raise PluginError(f"{src.relative_to(ROOT)} is missing: run `npm ci` (the README's first command does)")
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    figures.build(ROOT)
