"""Math typeset at build time, so that a page needs no math JavaScript and reads correctly with JavaScript off.

pymdownx.arithmatex marks each formula (`<span class="arithmatex">\\(…\\)</span>`, `<div …>\\[…\\]</div>`); Temml,
run in Node by kb/temml_worker.js, turns it into MathML, which browsers draw natively. The glyphs the formulas use
are then cut from STIX Two Math into one web font of a few tens of KB for the whole site (fontTools keeps the
OpenType MATH table, which the browser needs for fractions, radicals and stretchy brackets).
"""
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "kb" / "temml_worker.js"
FONT_SOURCE = ROOT / "node_modules" / "@fontsource" / "stix-two-math" / "files" / "stix-two-math-latin-400-normal.woff2"
FONT = "assets/fonts/kb-math.woff2"  # in the site; kb.css names it
ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
DELIMITED = {"span": re.compile(r"\A\\\((.*)\\\)\Z", re.S), "div": re.compile(r"\A\\\[(.*)\\\]\Z", re.S)}
TEXT = re.compile(r">([^<]+)<")
# Glyphs the browser draws without their character in the text: ASCII, and the radical signs of msqrt and mroot.
IMPLICIT = set(range(0x20, 0x7F)) | {0x221A, 0x221B, 0x221C}


class Typesetter:
    """One Node process per build, and the set of characters the typeset math uses."""

    def __init__(self):
        self._node = None
        self.chars = set()

    def _worker(self):
        if self._node is None or self._node.poll() is not None:
            if shutil.which("node") is None or not (ROOT / "node_modules" / "temml").exists():
                raise PluginError("math is typeset by Temml in Node: install Node.js and run `npm ci` "
                                  "(the README's first command does)")
            self._node = subprocess.Popen(["node", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          text=True, encoding="utf-8")
        return self._node

    def page(self, page_html: str, where: str) -> str:
        """`page_html` with every arithmatex formula replaced by its MathML; PluginError naming `where` and each
        formula that does not typeset."""
        found = list(ARITHMATEX.finditer(page_html))
        if not found:
            return page_html
        formulas = []
        for m in found:
            tex = DELIMITED[m.group(1)].match(html.unescape(m.group(2)).strip())
            if tex is None:
                raise PluginError(f"{where}: arithmatex markup without its delimiters: {m.group(0)[:120]}")
            formulas.append((tex.group(1).strip(), m.group(1) == "div"))
        node = self._worker()
        node.stdin.write(json.dumps(formulas) + "\n")
        node.stdin.flush()
        reply = node.stdout.readline()
        if not reply:
            raise PluginError(f"{where}: the Temml worker stopped (exit status {node.wait()})")
        results = json.loads(reply)
        errors = [f"  {tex}\n    {error}" for (tex, _), (_, error) in zip(formulas, results) if error]
        if errors:
            raise PluginError(f"{where}: {len(errors)} formula(s) do not typeset:\n" + "\n".join(errors))
        for mathml, _ in results:
            self.chars.update(ord(c) for text in TEXT.findall(mathml) for c in html.unescape(text))
        out, last = [], 0
        for m, (mathml, _) in zip(found, results):
            out += [page_html[last:m.start()], f'<{m.group(1)} class="arithmatex">{mathml}</{m.group(1)}>']
            last = m.end()
        return "".join(out + [page_html[last:]])

    def write_font(self, site_dir: Path) -> Path:
        """Cut the glyphs of every formula typeset so far (and IMPLICIT) from STIX Two Math into the site's font."""
        from fontTools import subset
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]  # the math italic and script variants are reached through GSUB
        font = subset.load_font(str(FONT_SOURCE), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(self.chars | IMPLICIT))
        subsetter.subset(font)
        dest = site_dir / FONT
        dest.parent.mkdir(parents=True, exist_ok=True)
        subset.save_font(font, str(dest), options)
        return dest

    def close(self):
        if self._node is not None:
            self._node.stdin.close()
            self._node.wait()
            self._node = None
