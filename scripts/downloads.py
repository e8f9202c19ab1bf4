"""The site's downloads: a printable book per language and the whole site as a zip that works offline.

    python scripts/downloads.py SITE_DIR       (`./run downloads` builds the site into site/ first)

writes into SITE_DIR/downloads/:
  book-<lang>.html, dl-interview-<lang>.pdf  every topic page in nav order, answers and explanations open, with a
      cover and a table of contents, without the site's navigation. The HTML is built from the pages of SITE_DIR
      (the math is already MathML, so nothing runs in the browser), printed by headless Chromium; pypdf adds the
      bookmarks.
  dl-interview-site.zip  a second build (mkdocs.offline.yml: page.html links, iframe-worker for search) that
      opens from file://, with the books and the Anki decks; its links to the PDFs and to the zip go to the site.
"""
import html
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from mkdocs.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SHIM = ROOT / "node_modules" / "iframe-worker" / "shim" / "index.js"
SHIM_IN_SITE = "assets/vendor/iframe-worker/shim.js"  # where mkdocs.offline.yml's extra.polyfills points
ZIP_FOLDER = "dl-interview-site"                       # the zip unpacks into one folder, not loose files

ARTICLE = re.compile(r'<article class="md-content__inner md-typeset">(.*?)</article>', re.S)
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
BODY = re.compile(r"<body([^>]*)>")
FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
H2 = re.compile(r'<h2 ([^>]*\bid="([^"]+)"[^>]*)>(.*?)</h2>', re.S)
HEADERLINK = re.compile(r'<a class="headerlink"[^>]*>.*?</a>', re.S)
# The level label kb/hooks.py puts inside a question heading: it would end every PDF bookmark ("...?easy"), so
# the book shows it with CSS generated content (which the outline leaves out) from a data-level-name attribute.
LEVEL = re.compile(r'<span class="level level-\w+"[^>]*>(.*?)</span>')
LEVEL_ATTRS = re.compile(r'\bdata-level(?:-name)?="[^"]*"')
CLOSED_DETAILS = re.compile(r"<details\b(?![^>]*\bopen\b)")
SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
LAZY = re.compile(r' loading="lazy"')  # a lazy image below the fold is never fetched by a headless print
PICTURE = re.compile(r"</?picture>|<source [^>]*>")  # the phone copy of a figure would match a narrow print page
ID = re.compile(r'(?<![\w-])(id|for)="([^"]+)"')      # not data-id=
URL = re.compile(r'(?<![\w-])(href|src)="([^"]*)"')
TAG = re.compile(r"<[^>]+>")
# The math font's <link rel="preload" crossorigin> (overrides/main.html) is a CORS request, which a page opened from
# file:// may not make (a console error; kb.css's @font-face still loads the font): the offline pages go without it.
PRELOAD = re.compile(r'[ \t]*<link rel="preload" [^>]*>\n?')
DOWNLOAD_LINK = re.compile(r'href="((?:\.\./)*downloads/[^"#]+)"')

LABELS = {
    "en": {"contents": "Contents", "online": "Online, with the source and result of the check behind each badge:",
           "version": "Version of"},
    "zh": {"contents": "目录", "online": "在线版（每个徽章背后的检验代码与结果）：", "version": "版本日期："},
}

# Print layout on top of the site's own stylesheets (Material, Temml, kb.css), which the book links.
BOOK_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm; @bottom-center { content: counter(page); font-size: 9pt; color: #555; } }
@page :first { @bottom-center { content: none; } }
html { font-size: 100%; }
body { margin: 0; }
* { print-color-adjust: exact; -webkit-print-color-adjust: exact; }  /* keep the badges' and boxes' colours */
.book { font-size: .72rem; max-width: 52rem; margin: 0 auto; }
:lang(zh) .book { font-family: -apple-system, "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; }
.cover { min-height: 85vh; display: flex; flex-direction: column; justify-content: center; }
.cover h1 { font-size: 2.4em; color: var(--md-primary-fg-color); margin-bottom: .4em; }
.toc, .chapter { break-before: page; }
.toc ol { padding-left: 1.2em; } .toc ol ol { font-size: .92em; margin: .2em 0 .6em; }
.toc li { margin: .1em 0; }
.toc a { color: inherit; text-decoration: none !important; }  /* kb.css underlines links in lists, for the screen */
.md-typeset h1, .md-typeset h2, .md-typeset h3, .md-typeset summary { break-after: avoid; }
.md-typeset figure, .md-typeset img, .md-typeset tr, .md-typeset div.arithmatex { break-inside: avoid; }
/* Material keeps a box on one page, which leaves half a page blank before each long explanation. */
.md-typeset details, .md-typeset .admonition { break-inside: auto; }
.md-typeset h2[data-level-name]::after, .toc [data-level-name]::after {
  content: attr(data-level-name); margin-left: .6em; padding: .1em .6em; border-radius: 1em;
  font-size: .55em; font-weight: 600; vertical-align: middle; color: #fff; white-space: nowrap; }
.toc [data-level-name]::after { font-size: .75em; }
[data-level="easy"]::after { background: #2e7d32; } [data-level="medium"]::after { background: #b85000; }
[data-level="hard"]::after { background: #c62828; }
/* Nothing scrolls on paper: long code lines wrap, wide tables and formulas show whole. */
.md-typeset pre > code { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; }
.md-typeset div.arithmatex, .md-typeset__scrollwrap, .md-typeset__table { overflow: visible; }
.md-typeset table:not([class]) { display: table; }
.md-typeset img { max-width: 100%; height: auto; }
/* Material's box icons are CSS masks, which Chromium prints as one transparency group each: 2 MB of the PDF. */
.md-typeset summary::before, .md-typeset summary::after, .md-typeset .admonition-title::before { display: none; }
.md-typeset summary, .md-typeset .admonition-title { padding-left: .6rem; padding-right: .6rem; }
"""


def languages(config) -> list:
    """[(language, folder of its pages in the built site, site name)], the default language first, at the root."""
    i18n = config.plugins.get("i18n")
    if i18n is None:
        return [(config.theme["language"], "", config.site_name)]
    names = {lang.locale: lang.site_name for lang in i18n.config.languages}
    return [(lang, "" if lang == i18n.default_language else lang + "/", names.get(lang) or config.site_name)
            for lang in i18n.build_languages]


def topic_pages(nav) -> list:
    """The pages inside the nav's sections ("Topics"), in order; a top-level page (Home, Drill, Claims) is no topic."""
    found = []
    for item in nav:
        for value in (item.values() if isinstance(item, dict) else [item]):
            if isinstance(value, list):
                found += [page for entry in value for page in
                          (entry.values() if isinstance(entry, dict) else [entry]) if isinstance(page, str)]
    return found


def resolve(page_url: str, path: str) -> str:
    """Site path of a relative link `path` on the page at the directory URL `page_url` ("zh/softmax/")."""
    target = posixpath.normpath(posixpath.join(page_url, path))
    return "" if target == "." else target + ("/" if path.endswith("/") else "")


def read_page(site: Path, url: str) -> str:
    return (site / url / "index.html").read_text(encoding="utf-8")


def move_level(m) -> str:
    """A question heading with its level label moved into a data-level-name attribute (see LEVEL)."""
    attrs, _, inner = m.groups()
    level = LEVEL.search(inner)
    return f'<h2 {attrs} data-level-name="{level.group(1)}">{LEVEL.sub("", inner)}</h2>' if level else m.group(0)


def chapter(page_html: str, url: str, slug: str, chapters: dict, site_url: str) -> str:
    """A page's article, ready to sit in the book: ids made unique per chapter, links pointed into the book (or at
    the site for pages that are not in it), images relative to downloads/, every <details> open."""
    body = ARTICLE.search(page_html).group(1)
    body = HEADERLINK.sub("", SCRIPT.sub("", body))
    body = H2.sub(move_level, body)
    body = PICTURE.sub("", LAZY.sub("", CLOSED_DETAILS.sub("<details open", body)))
    body = ID.sub(lambda m: f'{m.group(1)}="{slug}--{m.group(2)}"', body)

    def link(m):
        attr, value = m.groups()
        if re.match(r"[a-z][a-z0-9+.-]*:|//", value, re.I):
            return m.group(0)
        path, _, fragment = html.unescape(value).partition("#")
        target = resolve(url, path) if path else url
        if target in chapters:  # a page of the book: its chapter, or the anchor in it
            new = f"#{chapters[target]}" + (f"--{fragment}" if fragment else "")
        elif attr == "src":     # an image: the book sits in downloads/, beside the site's assets/
            new = "../" + target
        else:                   # another page of the site (a claim's checks): on paper only a full URL helps
            new = site_url + target + (f"#{fragment}" if fragment else "")
        return f'{attr}="{html.escape(new)}"'
    return URL.sub(link, body)


def heading_text(inner: str) -> str:
    """A heading's HTML for the table of contents: its code kept, links, ids and the level label dropped."""
    inner = HEADERLINK.sub("", LEVEL.sub("", inner))
    return re.sub(r"</?a\b[^>]*>", "", ID.sub("", inner)).strip()


def plain(inner: str) -> str:
    """A heading as the plain text of a PDF bookmark."""
    return " ".join(html.unescape(TAG.sub("", heading_text(inner))).split())


def book(site: Path, lang: str, folder: str, title: str, pages: list, site_url: str) -> tuple:
    """The whole book of one language as one HTML file meant for SITE_DIR/downloads/, and its bookmarks."""
    home = read_page(site, folder)
    urls = {folder + Path(p).stem + "/": Path(p).stem for p in pages}
    chapters, toc, outline = [], [], []
    for url, slug in urls.items():
        body = chapter(read_page(site, url), url, slug, urls, site_url)
        h1, h2s = H1.search(body).group(1), H2.findall(body)
        questions = "".join(f'<li><a href="#{qid}" {" ".join(LEVEL_ATTRS.findall(attrs))}>{heading_text(text)}</a></li>'
                            for attrs, qid, text in h2s)
        toc.append(f'<li><a href="#{slug}">{heading_text(h1)}</a><ol>{questions}</ol></li>')
        outline.append((plain(h1), slug, [(plain(text), qid, []) for _, qid, text in h2s]))
        chapters.append(f'<section class="chapter" id="{slug}">{body}</section>')
    intro = URL.sub("", FIRST_PARAGRAPH.search(ARTICLE.search(home).group(1)).group(1))  # no links on the cover
    styles = "".join(f'<link rel="stylesheet" href="../{resolve(folder, href)}">' for href in STYLESHEET.findall(home))
    label = LABELS.get(lang, LABELS["en"])
    online, version = site_url + folder, time.strftime("%Y-%m-%d", source_date())
    page = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{styles}
<style>{BOOK_CSS}</style></head>
<body{BODY.search(home).group(1)}><main class="book md-typeset">
<section class="cover"><h1>{html.escape(title)}</h1><p>{intro}</p>
<p>{label["online"]} <a href="{online}">{online}</a></p><p>{label["version"]} {version}</p></section>
<nav class="toc"><h1>{label["contents"]}</h1><ol>{"".join(toc)}</ol></nav>
{"".join(chapters)}
</main></body></html>
"""
    return page, [(title, 0, []), (label["contents"], 1, []), *outline]  # the cover is page 1, the contents page 2


def print_pdf(html_path: Path, pdf_path: Path, outline: list) -> None:
    """Headless Chromium prints the book (its own profile, so a browser already running elsewhere does not clash),
    then pypdf adds the bookmarks. Chromium's --generate-pdf-document-outline needs a tagged PDF, whose structure
    tree (an element per MathML token) made 13 of the English PDF's 19 MB."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is needed to print the PDFs (./run downloads installs it when run as root)")
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update",
                              f"--user-data-dir={profile}", "--no-pdf-header-footer", "--disable-pdf-tagging",
                              "--virtual-time-budget=20000", f"--print-to-pdf={pdf_path}", html_path.as_uri()],
                             capture_output=True, text=True, timeout=300)
    if run.returncode or not pdf_path.exists():
        sys.exit(f"chromium did not print {pdf_path}:\n{run.stderr}")
    add_bookmarks(pdf_path, outline)


def add_bookmarks(pdf_path: Path, outline: list) -> None:
    """Bookmarks [(title, id or page number, [children])] at the named destinations Chromium writes for the
    targets of the book's internal links (every chapter and question, through the table of contents)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit
    reader = PdfReader(pdf_path)
    dests, writer = reader.named_destinations, PdfWriter(clone_from=reader)

    def add(items, parent=None):
        for title, target, children in items:
            if isinstance(target, int):
                page, fit = target, Fit.fit()
            else:
                dest = dests["/" + target]
                page, fit = reader.get_destination_page_number(dest), Fit.xyz(top=dest.get("/Top"))
            add(children, writer.add_outline_item(title, page, parent=parent, fit=fit))
    add(outline)
    writer.page_mode = "/UseOutlines"  # a viewer opens with the bookmarks shown
    with open(pdf_path, "wb") as f:
        writer.write(f)


def offline_search(site: Path, langs: list) -> None:
    """search/search_index.js, which Material loads instead of the JSON index from file://. Every page asks for this
    one file, so it holds each language's index (kb/search.py's split) and hands out the one of the page's language."""
    indexes = {lang: json.loads((site / folder / "search" / "search_index.json").read_text(encoding="utf-8"))
               for lang, folder, _ in langs}
    default = langs[0][0]
    (site / "search" / "search_index.js").write_text(
        "var __index = (function (all) {\n"
        '  var lang = (document.documentElement.lang || "").split("-")[0];\n'
        f"  return all[lang] || all[{json.dumps(default)}];\n"
        f"}})({json.dumps(indexes, ensure_ascii=False, separators=(',', ':'))});\n", encoding="utf-8")


def source_date() -> time.struct_time:
    """The zip's entry times: SOURCE_DATE_EPOCH, else the last commit's time, so a rebuild of the same commit
    gives the same dates (and not 1980, which an unpacked folder would show)."""
    stamp = os.environ.get("SOURCE_DATE_EPOCH")
    if not stamp:
        git = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True)
        stamp = git.stdout.strip() or str(int(time.time()))
    return time.gmtime(max(int(stamp), 315532800))  # zip dates start in 1980


def write_zip(folder: Path, zip_path: Path) -> None:
    """The folder as ZIP_FOLDER/..., in sorted order with fixed dates and modes."""
    date = source_date()[:6]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{path.relative_to(folder).as_posix()}", date)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())


def offline_page(text: str, path: Path, out: Path, site_url: str) -> str:
    """An offline page without the font preload, its links to downloads the bundle leaves out (the PDFs, the zip
    itself) pointed at the site."""
    def online(m):
        target = posixpath.normpath(posixpath.join(path.parent.as_posix(), m.group(1)))
        return m.group(0) if (out / target).exists() else f'href="{site_url}{target}"'
    return DOWNLOAD_LINK.sub(online, PRELOAD.sub("", text))


def start_offline_build(out: Path) -> subprocess.Popen:
    """The second build, for file://, started in the background: it runs on the other core while Chromium prints."""
    with open(out.parent / "offline-build.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                                 "-f", str(ROOT / "mkdocs.offline.yml"), "-d", str(out)],
                                cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, stdout=log, stderr=log)


def finish_offline_bundle(build: subprocess.Popen, out: Path, downloads: Path, zip_path: Path, langs: list,
                          site_url: str) -> None:
    """Add the worker shim, the per-language search script and the books to the offline build, and zip it."""
    if build.wait():
        sys.exit("the offline build failed:\n" + (out.parent / "offline-build.log").read_text())
    (out / SHIM_IN_SITE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIM, out / SHIM_IN_SITE)
    offline_search(out, langs)
    for path in downloads.glob("book-*.html"):  # printable from the browser; the PDFs would triple the zip
        shutil.copyfile(path, out / "downloads" / path.name)
    for page in out.rglob("*.html"):
        page.write_text(offline_page(page.read_text(encoding="utf-8"), page.relative_to(out), out, site_url),
                        encoding="utf-8")
    write_zip(out, zip_path)


def main(site: Path) -> None:
    config = load_config(str(ROOT / "mkdocs.yml"))
    site_url = (config.site_url or "").rstrip("/") + "/"
    langs, pages = languages(config), topic_pages(config.nav)
    downloads = site / "downloads"
    downloads.mkdir(exist_ok=True)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns that Chromium's trailer /Size undercounts objects
    timings, begin = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        offline = Path(tmp) / ZIP_FOLDER
        build = start_offline_build(offline)
        try:
            for lang, folder, title in langs:
                start = time.perf_counter()
                text, outline = book(site, lang, folder, title, pages, site_url)
                book_path = downloads / f"book-{lang}.html"
                book_path.write_text(text, encoding="utf-8")
                pdf = downloads / f"dl-interview-{lang}.pdf"
                print_pdf(book_path, pdf, outline)
                timings.append((pdf, time.perf_counter() - start))
            zip_path = downloads / "dl-interview-site.zip"
            finish_offline_bundle(build, offline, downloads, zip_path, langs, site_url)
            timings.append((zip_path, time.perf_counter() - begin))  # its build ran alongside the printing
        finally:
            build.kill()  # only still running when something above failed
            build.wait()
    for path, seconds in timings:
        print(f"{path.relative_to(site)}: {path.stat().st_size / 1e6:.2f} MB, {seconds:.1f} s")
    print(f"all downloads: {time.perf_counter() - begin:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]).resolve())
