"""The real site builds under --strict, in both languages, requesting nothing from the internet."""
import json
import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
# What a browser fetches by itself: scripts, stylesheets, icons, images, frames, CSS url()/@import.
FETCHED = re.compile(r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["']([^"']+)|<link\b[^>]*\bhref=["']([^"']+)"""
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
