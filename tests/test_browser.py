"""The served site in headless Chromium: every page loads cleanly and its math renders (also with JavaScript off),
nothing leaves 127.0.0.1, self-test and Chinese search work, every page is within its weight budget, figures are
legible on a phone and axe-core finds no serious accessibility problem.

One browser, one context and one tab serve every test in this file (a page visit costs a fraction of a second;
a fresh context per page would cost more than the visit).
"""
import os
import re
import shutil
import time
from urllib.parse import urlsplit

import xml.etree.ElementTree as ET

import pytest

from scripts import page_weight
from tests.conftest import ROOT
from tests.test_math_rendering import raw_tex

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium")
FLAGS = page_weight.CHROMIUM_FLAGS


SEARCH_WORKER = re.compile(r"/search/search_index\.json$|/assets/javascripts/(workers|lunr)/")


@pytest.fixture(scope="module")
def base_url(site):
    url, server = page_weight.serve(site)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (./run test installs it)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Tab:
    """The one tab, with what happened since the last `visit`: console errors, failed requests, all requests."""

    def __init__(self, context):
        self.page = context.new_page()
        self.clear()
        self.in_flight = set()
        context.on("request", self._request)
        context.on("requestfinished", lambda r: self.in_flight.discard(r))
        context.on("requestfailed", self._failed)
        context.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"exception: {e}"))

    def clear(self):
        self.errors, self.failed, self.requests = [], [], []

    def _request(self, r):
        self.requests.append(r.url)
        self.in_flight.add(r)

    def _failed(self, r):
        self.in_flight.discard(r)
        if r.failure != "net::ERR_ABORTED":  # cancelled by the browser on leaving the page, not refused
            self.failed.append(f"{r.failure} {r.url}")

    def visit(self, url):
        self.clear()
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: {response and response.status}"

    def settle(self, timeout=10.0):
        """Wait for the requests the page's scripts started after `load` (Material fetches sitemap.xml), except
        the search worker's, which loads the same index on every page and takes a second to do it: a failure
        there is still recorded (against a later page) and the search tests wait for it."""
        deadline = time.monotonic() + timeout
        while any(not SEARCH_WORKER.search(r.url) for r in self.in_flight) and time.monotonic() < deadline:
            self.page.wait_for_timeout(20)


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Tab(context)
    context.close()


def built_pages(site):
    """URL paths of every page of the built site, both languages, and the 404 page."""
    return page_weight.pages(site) + ["/404.html"]


# The math as the build typeset it (kb/math.py): arithmatex markup left without MathML, Temml's error elements,
# formulas drawn with no width (a missing font), and the page's text outside code and math.
MATH_REPORT = """() => {
  const formulas = [...document.querySelectorAll('.arithmatex')];
  const untypeset = formulas.filter(e => !e.querySelector('math')).map(e => e.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll('merror')].map(e => e.textContent.slice(0, 80));
  const invisible = [...document.querySelectorAll('math')]
    .filter(m => m.checkVisibility() && m.getBoundingClientRect().width === 0).map(m => m.textContent.slice(0, 80));
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, math').forEach(e => e.remove());
  return {errors, untypeset, invisible, math: document.querySelectorAll('math').length, text: body.innerText};
}"""


def math_problems(report):
    found = [f"Temml error: {e!r}" for e in report["errors"]]
    found += [f"not typeset: {tex!r}" for tex in report["untypeset"]]
    found += [f"drawn with no width: {m!r}" for m in report["invisible"]]
    tex = {}
    for match, line in raw_tex(report["text"]):
        tex.setdefault(line, []).append(match)
    return found + [f"raw TeX {' '.join(dict.fromkeys(m))} in: {line[:110]}" for line, m in tex.items()]


def test_every_page_loads_cleanly_and_its_math_renders(tab, base_url, site):
    paths = built_pages(site)
    assert "/" in paths and "/zh/" in paths and "/zh/softmax/" in paths and len(paths) > 40, paths
    problems, formulas = [], 0
    for path in paths:
        tab.visit(base_url + path)
        report = tab.page.evaluate(MATH_REPORT)
        tab.settle()
        formulas += report["math"]
        found = [*tab.errors, *(f"request failed: {f}" for f in tab.failed)]
        found += [f"request leaves 127.0.0.1: {u}" for u in tab.requests
                  if not u.startswith(("data:", "blob:")) and urlsplit(u).hostname != "127.0.0.1"]
        problems += [f"{path}: {p}" for p in found + math_problems(report)]
    assert not problems, "\n".join(problems)
    assert formulas > 1000  # the check saw math, not pages without any


def test_self_test_hides_answers_and_is_remembered(tab, base_url):
    page = tab.page
    page.goto(base_url + "/activations/")
    answers = page.locator("details.success")
    assert answers.count() > 3 and all(answers.nth(i).get_attribute("open") is not None for i in range(3))
    page.click(".selftest-toggle")
    assert all(answers.nth(i).get_attribute("open") is None for i in range(answers.count()))
    page.goto(base_url + "/softmax/")  # another page: the choice is remembered
    assert page.locator("details.success").first.get_attribute("open") is None
    page.click(".selftest-toggle")
    assert page.locator("details.success").first.get_attribute("open") is not None


@pytest.mark.parametrize("query", ["梯度", "归一化", "Xavier"])
def test_search_finds_chinese_and_english_words(tab, base_url, query):
    page = tab.page
    page.goto(base_url + "/zh/")
    page.click("label.md-search__icon, .md-search__input", force=True)
    page.fill(".md-search__input", query)
    page.keyboard.press("End")  # Material queries on keyup; fill() sends none
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    assert page.locator(".md-search-result__item").count() > 0


def test_language_switch_links_the_same_page(tab, base_url):
    page = tab.page
    page.goto(base_url + "/initialization/")
    links = page.locator(".md-select__link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any(h.rstrip("/").endswith("zh/initialization") for h in links), links


@pytest.mark.parametrize("path", ["/softmax/", "/zh/batch_norm/", "/optimizers/", "/claims/softmax/"])
def test_math_reads_correctly_with_javascript_off(browser, base_url, path):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + path, wait_until="load")
    report = page.evaluate(MATH_REPORT)  # Playwright's own evaluation runs even where the page's scripts may not
    context.close()
    assert not math_problems(report)
    assert report["math"] > 0 or path.startswith("/claims/")


def test_the_search_index_of_the_pages_language_loads_when_search_opens(browser, base_url):
    context = browser.new_context()
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base_url + "/zh/softmax/", wait_until="networkidle")
    assert not [u for u in requests if "search_index" in u]  # nothing fetched at start
    with page.expect_request(lambda r: r.url.endswith("/zh/search/search_index.json")):
        page.click("label.md-search__icon, .md-search__input", force=True)
    page.fill(".md-search__input", "归一化")
    page.keyboard.press("End")
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    hrefs = page.locator(".md-search-result__link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    context.close()
    assert hrefs and all("/zh/" in h for h in hrefs), hrefs  # only the page's language


def test_every_page_is_within_its_weight_budget(browser, base_url, site):
    rows = [page_weight.measure(browser, base_url, path) for path in built_pages(site) if path != "/404.html"]
    problems = [p for row in rows for p in page_weight.over_budget(row)]
    assert not problems, "\n".join(problems)


def tick_font_size(svg_path):
    """The smallest tick-label font size of a matplotlib SVG, in the SVG's own units, and the SVG's width."""
    root = ET.parse(svg_path).getroot()
    width = float(root.get("viewBox").split()[2])
    styles = [t.get("style", "") for g in root.iter("{http://www.w3.org/2000/svg}g")
              if re.match(r"[xy]tick_\d+$", g.get("id", "")) for t in g.iter("{http://www.w3.org/2000/svg}text")]
    sizes = [float(m.group(1)) for m in map(re.compile(r"font-size: ([\d.]+)px").search, styles) if m]
    return (min(sizes) if sizes else None), width


def test_figures_are_legible_on_a_phone(browser, base_url, site):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems, seen = [], 0
    for path in built_pages(site):
        page.goto(base_url + path, wait_until="load")
        for img in page.locator(".md-content img[src*='/figures/']").all():
            img.scroll_into_view_if_needed()
            page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=img.element_handle())
            src, shown = img.evaluate("e => [e.currentSrc, e.getBoundingClientRect().width]")
            size, width = tick_font_size(site / "assets" / "figures" / src.rsplit("/", 1)[1])
            seen += 1
            if size is not None and size * shown / width < 9.5:
                problems.append(f"{path}: {src.rsplit('/', 1)[1]}: tick labels {size * shown / width:.1f} px")
    context.close()
    assert seen > 20 and not problems, "\n".join(problems)


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 2).map(n => n.html.slice(0, 90)).join(' | ')}`)"""


def test_axe_finds_no_serious_accessibility_violation(tab, base_url, site):
    problems = []
    for path in built_pages(site):
        tab.visit(base_url + path)
        tab.page.add_script_tag(path=str(AXE))
        problems += [f"{path}: {v}" for v in tab.page.evaluate(AXE_RUN)]
    assert not problems, "\n".join(problems)


def test_levels_and_badges_have_text_for_screen_readers(tab, base_url):
    tab.visit(base_url + "/zh/softmax/")
    level = tab.page.locator("h2 .level").first
    assert level.inner_text() in ("简单", "中等", "困难")
    label = tab.page.locator("a.claim").first.get_attribute("title")
    assert label and "verified on CPU" in label


def test_the_drill_reveals_grades_brings_missed_questions_back_and_survives_a_reload(browser, base_url):
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/drill/", wait_until="load")
    current = lambda: page.get_attribute("#drill", "data-current")  # noqa: E731
    missed = current()
    assert missed and page.locator(".drill-answer").count() == 0  # the question first
    page.keyboard.press(" ")
    page.wait_for_selector(".drill-answer")
    assert page.locator(".drill-answer").inner_text().strip()
    assert page.locator(".drill-card a[href$='#" + missed.split("/")[1] + "']").count() == 1  # the explanation
    page.keyboard.press("2")  # didn't know it
    for _ in range(2):  # two other questions, known
        assert current() != missed
        page.keyboard.press(" ")
        page.wait_for_selector(".drill-answer")
        page.keyboard.press("1")
    assert current() == missed  # the missed one is due again first
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('kb.drill.en'))")
    assert stored["cards"][missed]["box"] == 1 and stored["n"] == 3
    status = page.locator(".drill-status").inner_text()
    page.reload(wait_until="load")
    assert page.locator(".drill-status").inner_text() == status  # progress survives the reload
    assert "2" in page.locator(".drill-progress").inner_text()
    context.close()


def test_the_chinese_drill_works_with_its_own_questions_and_math(browser, base_url):
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/zh/drill/", wait_until="load")
    page.select_option(".drill-filter select >> nth=0", "softmax")
    assert page.locator(".drill-meta").inner_text().startswith("Softmax")
    page.click(".drill-reveal")
    page.wait_for_selector(".drill-answer")
    assert page.locator(".drill-answer math").count() > 0  # MathML, typeset at build time
    assert "会（1）" in page.locator(".drill-grades").inner_text()
    context.close()
