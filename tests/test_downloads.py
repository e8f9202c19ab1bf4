"""The downloads (scripts/downloads.py), built from a copy of the real site: each language's PDF holds every topic in
nav order, bookmarked, with its formulas and Chinese as text; the printable book has every answer open and nothing
wider than the page; the offline zip, unpacked, works from file:// in headless Chromium (math, search in both
languages, the drill page) without a request leaving file://.
"""
import os
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from scripts import downloads as dl
from tests.conftest import ROOT, python
from tests.test_browser import CHROMIUM, FLAGS, MATH_REPORT, math_problems

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LANGS = {"en": "", "zh": "zh/"}


@pytest.fixture(scope="module")
def downloads(site, tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (./run test installs it)")
        pytest.skip("chromium not installed")
    copy = tmp_path_factory.mktemp("downloads") / "site"
    shutil.copytree(site, copy)
    run = python(ROOT, "scripts/downloads.py", str(copy), timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return copy / "downloads"


def pdf(downloads, lang):
    from pypdf import PdfReader
    return PdfReader(downloads / f"dl-interview-{lang}.pdf")


def page_text(reader, destination):
    """The text of the page a named destination (a chapter's or question's id) points at, NFKC-normalized: pypdf
    reads some CJK glyphs as their Kangxi-radical twins (⼀ for 一)."""
    page = reader.get_destination_page_number(reader.named_destinations["/" + destination])
    return unicodedata.normalize("NFKC", reader.pages[page].extract_text())


def topics():
    from mkdocs.config import load_config
    return [Path(p).stem for p in dl.topic_pages(load_config(str(ROOT / "mkdocs.yml")).nav)]


@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_has_every_topic_in_nav_order_with_bookmarks(downloads, lang):
    reader, slugs = pdf(downloads, lang), topics()
    assert len(reader.pages) > 100  # about 180 pages in each language
    pages = [reader.get_destination_page_number(reader.named_destinations["/" + s]) for s in slugs]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), dict(zip(slugs, pages))
    outline = reader.outline
    chapters = [item for item in outline if not isinstance(item, list)]
    assert len(chapters) == len(slugs) + 2  # the cover, the contents, then one per topic
    assert [reader.get_destination_page_number(c) for c in chapters[2:]] == pages
    assert sum(len(item) for item in outline if isinstance(item, list)) > 5 * len(slugs)  # the questions


def test_the_english_pdf_has_formulas_as_text_next_to_prose(downloads):
    text = page_text(pdf(downloads, "en"), "softmax--what-softmax-does")
    # the page's sentence between the formulas "p_j" and "(0,1)" ... "K": the math printed as MathML, not as TeX
    assert "they sum to 1, so they form a probability distribution" in " ".join(text.split())
    assert "∑" in text and "∈" in text and not re.search(r"\\[a-z]+|\\\(", text)


def test_the_chinese_pdf_has_chinese_headings(downloads):
    reader = pdf(downloads, "zh")
    title = (ROOT / "docs/zh/batch_norm.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert re.search(r"[\u4e00-\u9fff]", title)
    assert unicodedata.normalize("NFKC", title) in page_text(reader, "batch_norm")
    assert title in [item.title for item in reader.outline if not isinstance(item, list)]


@pytest.mark.parametrize("lang", LANGS)
def test_the_book_has_every_answer_open_and_no_site_chrome(downloads, lang):
    book = (downloads / f"book-{lang}.html").read_text(encoding="utf-8")
    assert book.count("<details") > 100 and not re.search(r"<details(?![^>]*\bopen)", book)
    assert not re.search(r'<script|class="md-(header|sidebar|search|footer|nav)\b|class="headerlink"', book)
    ids = set(re.findall(r'\bid="([^"]+)"', book))
    assert not [h for h in re.findall(r'href="#([^"]*)"', book) if h not in ids]  # every link inside the book lands
    missing = [s for s in re.findall(r'\bsrc="([^"]+)"', book) if not (downloads / unquote(s)).is_file()]
    assert book.count("<img") > 20 and not missing, missing


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_in_the_book_is_wider_than_the_printed_page(downloads, browser, lang):
    # A4 less the book's 15 mm side margins is 180 mm, 680 CSS px: print media at that width is the printed page.
    page = browser.new_page(viewport={"width": 680, "height": 1000})
    page.emulate_media(media="print")
    page.goto((downloads / f"book-{lang}.html").as_uri(), wait_until="load")
    wide = page.evaluate("""() => {
      const right = document.querySelector('.book').getBoundingClientRect().right + 1;
      return [...document.querySelectorAll('.book :is(pre, math, img, table, p, li, h1, h2)')]
        .filter(e => e.getBoundingClientRect().right > right)
        .map(e => `${e.closest('section').id}: <${e.tagName}> ${e.textContent.slice(0, 60)}`);
    }""")
    page.close()
    assert not wide, "\n".join(wide)


@pytest.fixture(scope="module")
def offline(downloads, tmp_path_factory):
    """The zip, unpacked into a fresh folder: the site in it opens from there."""
    out = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(downloads / "dl-interview-site.zip") as z:
        z.extractall(out)
    return out / dl.ZIP_FOLDER


class FileTab:
    """A tab of a fresh context that records every request, page error and failed request."""

    def __init__(self, browser):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.requests, self.problems = [], []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"exception: {e}"))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))

    def close(self):
        self.context.close()
        outside = [u for u in self.requests if urlsplit(u).scheme not in ("file", "data", "blob", "about")]
        assert any(u.startswith("file:") for u in self.requests)  # the recording saw the page's own files
        assert not outside and not self.problems, "\n".join(outside + self.problems)


@pytest.mark.parametrize("path", ["index.html", "zh/index.html", "softmax.html", "zh/batch_norm.html"])
def test_the_offline_site_renders_math_from_file(offline, browser, path):
    tab = FileTab(browser)
    tab.page.goto((offline / path).as_uri(), wait_until="load")
    report = tab.page.evaluate(MATH_REPORT)
    links = tab.page.locator(".md-content a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    tab.close()
    assert not math_problems(report)
    assert report["math"] > 0 or "index" in path
    pages = [h.split("#")[0] for h in links if not re.match(r"[a-z]+:|#", h)]
    assert pages and not [h for h in pages if not (offline / path).parent.joinpath(unquote(h)).is_file()]


@pytest.mark.parametrize("path, query", [("index.html", "Xavier"), ("zh/index.html", "归一化")])
def test_the_offline_search_finds_words_of_the_pages_language(offline, browser, path, query):
    tab = FileTab(browser)
    page = tab.page
    page.goto((offline / path).as_uri(), wait_until="load")
    page.click("label.md-search__icon, .md-search__input", force=True)
    page.fill(".md-search__input", query)
    page.keyboard.press("End")  # Material queries on keyup; fill() sends none
    page.wait_for_selector(".md-search-result__item", timeout=20000)
    hrefs = page.locator(".md-search-result__link").evaluate_all("els => els.map(e => e.href)")
    tab.close()
    assert hrefs, query
    in_zh = [("/zh/" in h) for h in hrefs]
    assert all(in_zh) if path.startswith("zh/") else not any(in_zh), hrefs  # each language searches its own index


@pytest.mark.parametrize("path", ["drill.html", "zh/drill.html"])
def test_the_offline_drill_page_draws_and_answers_a_question(offline, browser, path):
    tab = FileTab(browser)
    page = tab.page
    page.goto((offline / path).as_uri(), wait_until="load")
    page.click(".drill-reveal")
    page.wait_for_selector(".drill-answer")
    link = page.locator(".drill-card a[href]").last.get_attribute("href")
    tab.close()
    assert (offline / path).parent.joinpath(unquote(link.split("#")[0])).is_file(), link
