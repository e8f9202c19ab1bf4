"""The served site in headless Chromium: math renders, nothing leaves 127.0.0.1, self-test and Chinese search work."""
import functools
import http.server
import os
import shutil
import threading

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


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


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.requests = []
    p.on("request", lambda r: p.requests.append(r.url))
    yield p
    context.close()


RENDERED = """() => {
  const spans = document.querySelectorAll('.arithmatex');
  return spans.length > 0 && [...spans].every(s => s.querySelector('mjx-container'));
}"""


@pytest.mark.parametrize("path", ["/activations/", "/zh/initialization/", "/softmax/"])
def test_math_renders_and_nothing_is_requested_from_the_internet(page, base_url, path):
    page.goto(base_url + path)
    page.wait_for_function(RENDERED, timeout=15000)
    assert not page.locator("mjx-merror").count()  # no TeX errors
    outside = [u for u in page.requests if not u.startswith(base_url) and not u.startswith("data:")]
    assert outside == []


def test_self_test_hides_answers_and_is_remembered(page, base_url):
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
def test_search_finds_chinese_and_english_words(page, base_url, query):
    page.goto(base_url + "/zh/")
    page.click("label.md-search__icon, .md-search__input", force=True)
    page.fill(".md-search__input", query)
    page.keyboard.press("End")  # Material queries on keyup; fill() sends none
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    assert page.locator(".md-search-result__item").count() > 0


def test_language_switch_links_the_same_page(page, base_url):
    page.goto(base_url + "/initialization/")
    links = page.locator(".md-select__link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any(h.rstrip("/").endswith("zh/initialization") for h in links), links
