"""The served site in headless Chromium: every page loads cleanly and its math renders, nothing leaves
127.0.0.1, self-test and Chinese search work.

One browser, one context and one tab serve every test in this file (a page visit costs a fraction of a second;
a fresh context per page would cost more than the visit).
"""
import functools
import http.server
import os
import re
import shutil
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.test_math_rendering import raw_tex

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]


SEARCH_WORKER = re.compile(r"/search/search_index\.json$|/assets/javascripts/(workers|lunr)/")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
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
    """URL paths of every page of the built site, both languages, read from the build output."""
    paths = [("/" + p.parent.relative_to(site).as_posix() + "/").replace("/./", "/")
             for p in site.rglob("index.html") if "assets" not in p.relative_to(site).parts]
    return sorted(paths) + ["/404.html"]


# After MathJax's first typeset: TeX errors (merror, or an undefined macro, which MathJax shows in red),
# arithmatex elements it did not typeset, and the page's text outside code and math.
MATH_REPORT = """async () => {
  await MathJax.startup.promise;
  const errors = [];
  for (const item of MathJax.startup.document.math) {
    if (/<merror|mathcolor="red"/.test(MathJax.startup.toMML(item.root))) errors.push(item.math);
  }
  const untypeset = [...document.querySelectorAll('.arithmatex')]
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 80));
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container, .arithmatex').forEach(e => e.remove());
  return {errors, untypeset, math: document.querySelectorAll('mjx-container').length, text: body.innerText};
}"""


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
        found += [f"TeX error in {tex!r}" for tex in report["errors"]]
        found += [f"not typeset: {tex!r}" for tex in report["untypeset"]]
        tex = {}
        for match, line in raw_tex(report["text"]):
            tex.setdefault(line, []).append(match)
        found += [f"raw TeX {' '.join(dict.fromkeys(m))} in: {line[:110]}" for line, m in tex.items()]
        problems += [f"{path}: {p}" for p in found]
    assert not problems, "\n".join(problems)
    assert formulas > 1000  # the check saw math, not pages where MathJax never ran


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
