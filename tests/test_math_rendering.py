"""Every formula on every built page is marked for MathJax: no TeX is left in the text.

pymdownx.arithmatex wraps the math it recognizes in `<span class="arithmatex">` / `<div class="arithmatex">`, and
MathJax typesets only those. A display formula written directly under a line of text (no blank line between) is
not recognized: Markdown eats the backslash of `\\[` and the page shows `[ \\frac{...} ]` as plain text. A heading
with math is typeset, but the tables of contents repeat its text without the markup. The strict build notices
neither, so this test reads the built HTML.
"""
import html
import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# What is not prose: code (the claims page shows each check's source), scripts, styles, and the math itself.
NOT_PROSE = re.compile(r"<(pre|code|script|style|math)\b.*?</\1>"
                       r"|<(span|div)\b[^>]*\bclass=\"[^\"]*\barithmatex\b[^\"]*\"[^>]*>.*?</\2>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
# TeX in text: a control word (\frac, \sum, \mathbb, \lVert, ...) or a math delimiter \( \) \[ \] or $$.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$\$")


def prose(page_html):
    """The text a reader sees outside code and typeset math."""
    return html.unescape(TAG.sub(" ", NOT_PROSE.sub(" ", page_html)))


def raw_tex(text):
    """(match, the line of text around it) for each piece of TeX in `text`."""
    hits = []
    for m in RAW_TEX.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        hits.append((m.group(), text[start:end if end >= 0 else None].strip()))
    return hits


def pages(site):
    return sorted(site.rglob("*.html"))


def source_lines(site, page, line):
    """`docs/<lang>/<topic>.md:N` for the lines of the page's Markdown that contain `line`."""
    rel = page.relative_to(site).parent.parts
    lang, parts = (("zh", rel[1:]) if rel[:1] == ("zh",) else ("en", rel))
    md = ROOT / "docs" / lang / (f"{parts[0]}.md" if parts else "index.md")
    if not md.exists() or not line:
        return []
    return [f"{md.relative_to(ROOT)}:{n}" for n, text in enumerate(md.read_text(encoding="utf-8").splitlines(), 1)
            if line in text]


def test_raw_tex_is_found_outside_math_and_code():
    page = ('<p>Using the Jacobian above,\n[\n\\frac{\\partial L}{\\partial z_j}=p_j-y_j .\n]</p>'
            '<p>ok <span class="arithmatex">\\(\\sum_i p_i\\)</span></p>'
            '<div class="arithmatex">\\[\\mathbb{E}\\]</div><pre><code>x = "\\n\\frac"</code></pre>'
            '<p>also \\(x\\) and <code>\\sum</code></p>')
    hits = raw_tex(prose(page))
    assert [h for h, _ in hits] == ["\\frac", "\\partial", "\\partial", "\\(", "\\)"]
    assert hits[0][1] == "\\frac{\\partial L}{\\partial z_j}=p_j-y_j ."
    assert raw_tex(prose('<p>a <span class="arithmatex">\\(x\\)</span></p>')) == []


def test_no_page_shows_tex_that_mathjax_will_not_typeset(site):
    failures = []
    for page in pages(site):
        seen = set()
        for match, line in raw_tex(prose(page.read_text(encoding="utf-8"))):
            if line in seen:
                continue
            seen.add(line)
            where = ", ".join(source_lines(site, page, line)) or "source line not found"
            failures.append(f"{page.relative_to(site).as_posix()} ({where}): {match} in  {line[:110]}")
    assert not failures, ("TeX outside arithmatex. A display formula needs a blank line before it (indented like "
                          "the text inside a box); a heading's math shows as raw TeX in the table of contents, so a "
                          "heading writes it in Unicode (3×3, γ):\n" + "\n".join(failures))
