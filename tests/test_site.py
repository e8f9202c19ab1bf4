"""The real site builds under --strict, in both languages, requesting nothing from the internet; its sitemap
lists exactly its pages; its text never refers to "the notes" as a document the reader has seen."""
import gzip
import html
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
# What a browser fetches by itself: scripts, stylesheets, icons, images, frames, CSS url()/@import.
# (`<link rel="canonical">` names the page's own address, from site_url; nothing fetches it.)
FETCHED = re.compile(r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["']([^"']+)"""
                     r"""|<link\b(?![^>]*\brel=["']canonical["'])[^>]*\bhref=["']([^"']+)"""
                     r"""|url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""", re.I)


def test_both_languages_are_built_with_the_same_pages(site):
    en = {p.relative_to(site).as_posix() for p in site.glob("*/index.html") if p.parent.name != "zh"}
    zh = {p.relative_to(site / "zh").as_posix() for p in (site / "zh").glob("*/index.html")}
    assert en and en == zh
    assert '<html lang="zh"' in (site / "zh" / "index.html").read_text()


def test_no_page_or_stylesheet_fetches_anything_from_the_internet(site):
    offenders = []
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        for groups in FETCHED.findall(path.read_text(encoding="utf-8", errors="replace")):
            url = next(g for g in groups if g)
            if re.match(r"(https?:)?//", url):
                offenders.append(f"{path.relative_to(site)}: {url}")
    assert not offenders, offenders[:10]


MATHML = re.compile(r"<math\b.*?</math>", re.S)


def test_math_is_typeset_at_build_time_and_served_with_its_font(site):
    html = (site / "activations" / "index.html").read_text()
    displays = re.findall(r'<div class="arithmatex">(.*?)</div>', html, re.S)
    assert len(MATHML.findall(html)) > 50 and displays and all(d.startswith("<math") for d in displays)
    assert 'class="arithmatex">\\(' not in html and "\\[" not in html
    assert "mathjax" not in html.lower() and "fonts.googleapis.com" not in html
    assert (site / "assets" / "vendor" / "temml" / "Temml-Local.css").exists()


def test_the_math_font_holds_every_character_the_formulas_use(site):
    from fontTools.ttLib import TTFont
    font = TTFont(site / "assets" / "fonts" / "kb-math.woff2")
    assert "MATH" in font and (site / "assets" / "fonts" / "kb-math.woff2").stat().st_size < 80_000
    used = set()
    for page in site.rglob("*.html"):
        for body in MATHML.findall(page.read_text(encoding="utf-8")):
            used |= {ord(c) for text in re.findall(r">([^<]+)<", body) for c in html.unescape(text)}
    used -= {ord(c) for c in " \u00a0\u2061\u2062\u2063"}  # spaces and invisible operators draw nothing
    cjk = {c for c in used if 0x2E80 <= c <= 0x9FFF or 0xFF00 <= c <= 0xFFEF}  # \text{…} in Chinese: the page font
    assert sorted(used - cjk - set(font.getBestCmap())) == []


def test_a_formula_that_does_not_typeset_stops_the_build_naming_page_and_formula():
    from mkdocs.exceptions import PluginError

    from kb.math import Typesetter
    typesetter = Typesetter()
    ok = typesetter.page('<p><span class="arithmatex">\\(\\frac{a}{b}\\)</span></p>', "docs/en/demo.md")
    assert "<math" in ok and "<mfrac>" in ok
    with pytest.raises(PluginError, match=r"(?s)docs/en/demo\.md: 1 formula.*\n  \\frac\{1\}\n"):
        typesetter.page('<div class="arithmatex">\\[\\frac{1}\\]</div>', "docs/en/demo.md")
    typesetter.close()


def test_language_menu_of_the_404_page_leads_to_each_home_page(site):
    base = urlsplit(min(re.findall(r"<loc>([^<]+)</loc>", (site / "sitemap.xml").read_text()), key=len)).path
    links = re.findall(r'href="([^"]*)" hreflang="(\w+)" class="md-select__link"', (site / "404.html").read_text())
    assert sorted(links) == [(base, "en"), (base + "zh/", "zh")]


def test_search_index_splits_chinese_into_words(site):
    index = json.loads((site / "zh" / "search" / "search_index.json").read_text())
    zh_text = " ".join(d["text"] for d in index["docs"])
    words = set(re.split(r"[\s\u200b]+", zh_text))
    assert {"梯度", "归一化"} <= words  # jieba segmentation, so a query for a word finds it
    assert "zh" in index["config"]["lang"] and "en" in index["config"]["lang"]


def test_each_language_has_its_own_search_index_without_code_math_or_badges(site):
    en = json.loads((site / "search" / "search_index.json").read_text())
    zh = json.loads((site / "zh" / "search" / "search_index.json").read_text())
    assert en["docs"] and all(not d["location"].startswith("zh/") for d in en["docs"])
    assert zh["docs"] and all(d["location"].startswith("zh/") for d in zh["docs"])
    assert en["config"]["lang"] == ["en"]
    for index in (en, zh):
        text = " ".join(d["text"] for d in index["docs"])
        assert "<pre>" not in text and "def " not in text and "\\frac" not in text and "✓ CPU" not in text


def test_figures_are_drawn_by_the_build(site):
    figures = sorted(p.name for p in (site / "assets" / "figures").glob("*.svg"))
    assert "activations.svg" in figures and "init-depth.svg" in figures


def test_every_link_between_pages_and_its_anchor_resolve(site):
    """Badges lead to their claim's entry, and no link points at a page or anchor that is not there (the strict
    build checks Markdown links, but not the anchors of links into generated pages). The PDFs and the zip are made
    by `./run downloads`, after the build (tests/test_downloads.py)."""
    ids, broken, badges = {}, [], 0
    for page in site.rglob("*.html"):
        if "assets" in page.relative_to(site).parts:
            continue
        text = page.read_text(encoding="utf-8")
        for href in re.findall(r'<a [^>]*href="([^"#:?]*)(?:#([^"]*))?"', text):
            if href[0].startswith("/"):  # the 404 page links by absolute path, since it is served at any depth
                continue
            target = (page.parent / href[0]).resolve() if href[0] else page
            if target.is_dir() or not target.suffix:
                target = target / "index.html"
            if not target.exists() and not (target.parent.name == "downloads" and target.suffix in (".pdf", ".zip")):
                broken.append(f"{page.relative_to(site)}: {href[0]} does not exist")
                continue
            if href[1] and href[1] not in ids.setdefault(target, set(re.findall(r'id="([^"]+)"', target.read_text()))):
                broken.append(f"{page.relative_to(site)}: {href[0]}#{href[1]} has no such anchor")
        badges += len(re.findall(r'class="claim[" ]', text))
    assert badges > 500 and not broken, "\n".join(broken[:20])


def test_editing_a_snippet_redraws_only_its_topics_figures(project):
    from kb import figures
    assert figures.build(project) == []  # the copy's figures are up to date
    path = project / "snippets" / "depth.py"  # imported by kb/figures/depth.py only
    path.write_text(path.read_text() + "\n# edited\n")
    assert figures.build(project) == ["depth-sawtooth.svg"]
    assert figures.build(project) == []


def test_sitemap_lists_every_page_once_at_an_address_that_exists(site):
    xml = (site / "sitemap.xml").read_bytes()
    assert gzip.decompress((site / "sitemap.xml.gz").read_bytes()) == xml
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    urls = ET.fromstring(xml).findall("s:url", ns)
    locs = [u.findtext("s:loc", namespaces=ns) for u in urls]
    home = min(locs, key=len)  # site_url: every address must lie below it
    assert urlsplit(home).scheme in ("http", "https") and urlsplit(home).netloc and home.endswith("/"), home
    missing = []
    for url in urls:
        for address in [url.findtext("s:loc", namespaces=ns)] + [a.get("href") for a in url.findall("x:link", ns)]:
            rel = address[len(home):] if address.startswith(home) else None
            if rel is None or not (site / rel / "index.html").is_file():
                missing.append(address)
    assert not missing, missing[:10]
    pages = {p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")}
    listed = [loc[len(home):].rstrip("/") or "." for loc in locs]
    assert sorted(listed) == sorted(pages), set(listed) ^ pages


# A reader has never seen the interview notes the questions were collected from: no page may cite them as a
# document ("the notes say", "Notes §1.8", "原笔记", "笔记中"). Naming the kind of material is fine
# ("a common claim in interview notes", "面试资料"/"面试笔记", CS231n's "课程笔记").
NOTES_AS_DOCUMENT = {
    "en": re.compile(r"\bthe notes\b|\bnotes'|notes §|source notes|lost (formula|figure)", re.I),
    "zh": re.compile(r"笔记中|笔记说|原笔记|笔记的|(?<!面试)(?<!课程)笔记"),
}


def test_no_page_refers_to_the_source_notes_as_a_document():
    hits = []
    for lang, pattern in NOTES_AS_DOCUMENT.items():
        for path in sorted((ROOT / "docs" / lang).glob("*.md")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if m := pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {m.group()!r} in {line.strip()[:90]}")
    assert not hits, f"{len(hits)} references to the notes as a document:\n" + "\n".join(hits)
