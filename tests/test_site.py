"""The real site builds under --strict, in both languages, requesting nothing from the internet; its sitemap
lists exactly its pages; its text never refers to "the notes" as a document the reader has seen."""
import gzip
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


def test_math_and_fonts_are_served_by_the_site(site):
    assert (site / "assets" / "vendor" / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
    html = (site / "activations" / "index.html").read_text()
    assert "assets/vendor/mathjax/tex-svg-full.js" in html
    assert "fonts.googleapis.com" not in html


def test_language_menu_of_the_404_page_leads_to_each_home_page(site):
    base = urlsplit(min(re.findall(r"<loc>([^<]+)</loc>", (site / "sitemap.xml").read_text()), key=len)).path
    links = re.findall(r'href="([^"]*)" hreflang="(\w+)" class="md-select__link"', (site / "404.html").read_text())
    assert sorted(links) == [(base, "en"), (base + "zh/", "zh")]


def test_search_index_splits_chinese_into_words(site):
    index = json.loads((site / "search" / "search_index.json").read_text())
    zh_text = " ".join(d["text"] for d in index["docs"] if d["location"].startswith("zh/"))
    words = set(re.split(r"[\s\u200b]+", zh_text))
    assert {"梯度", "归一化"} <= words  # jieba segmentation, so a query for a word finds it
    assert "zh" in index["config"]["lang"] and "en" in index["config"]["lang"]


def test_figures_are_drawn_by_the_build(site):
    figures = sorted(p.name for p in (site / "assets" / "figures").glob("*.svg"))
    assert "activations.svg" in figures and "init-depth.svg" in figures


def test_every_claim_badge_links_to_its_entry(site):
    for lang in ("", "zh/"):
        page = (site / f"{lang}activations" / "index.html").read_text()
        targets = set(re.findall(r'class="claim[^"]*"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*class="claim', page))
        assert targets
        claims_page = (site / f"{lang}claims" / "index.html").read_text()
        for groups in targets:
            anchor = next(g for g in groups if g).split("#")[1]
            assert f'id="{anchor}"' in claims_page


def test_editing_a_snippet_redraws_only_its_topics_figures(project):
    from kb import figures
    assert figures.build(project) == []  # the copy's figures are up to date
    path = project / "snippets" / "softmax.py"
    path.write_text(path.read_text() + "\n# edited\n")
    assert figures.build(project) == ["softmax.svg"]
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
