"""MkDocs hook: draw the figures before each build, typeset the math (kb.math), keep code, math and badges out of
the search index and write one index per language (kb.search), load figures lazily, and keep Material's language
script from requesting sitemaps that do not exist.

None of it is part of the claim gate (that is the kb.claims Markdown extension),
so a builder without MkDocs hooks loses only convenience, never the gate.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

from kb import claims, drill, figures, math, search

ROOT = Path(__file__).resolve().parent.parent

# <link rel="alternate" hreflang=...> in a page's head. Material's script fetches sitemap.xml next to each such
# link, expecting it to point at a language's root; mkdocs-static-i18n points it at the same page in the other
# language, so every page asked for <page>/sitemap.xml and <zh/page>/sitemap.xml and logged two 404s. The
# language menu keeps its per-page links, and sitemap.xml lists each page's hreflang alternates.
HREFLANG_LINK = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')

# Temml's stylesheet (layout of MathML tables, enclosures, script capitals), served by the site itself.
TEMML_CSS = ("node_modules/temml/dist", "overrides/assets/vendor/temml", ("Temml-Local.css", "Temml.woff2"))
IMG = re.compile(r"<img (?![^>]*\bloading=)")
FIGURE_IMG = re.compile(r'<img [^>]*\bsrc="([^"]*/figures/)([\w.-]+)\.svg"[^>]*>')
NARROW_SCREEN = "(max-width: 760px)"  # below it a figure wider than NARROW_WIDTH would draw its text under 10 px
# A question heading's level, as text a screen reader reads and the search index leaves out.
LEVEL_HEADING = re.compile(r'(<h2 [^>]*\bdata-level="(easy|medium|hard)"[^>]*>.*?)(<a class="headerlink"|</h2>)', re.S)
LEVEL_NAMES = {"en": {"easy": "easy", "medium": "medium", "hard": "hard"},
               "zh": {"easy": "简单", "medium": "中等", "hard": "困难"}}
TYPESETTER = math.Typesetter()
QUESTIONS = drill.Questions()


def _outer_build(config) -> bool:
    """False inside mkdocs-static-i18n's build of another language, which runs within the default one's."""
    return not getattr(config.plugins.get("i18n"), "building", False)


def on_pre_build(config, **kwargs):
    src_dir, dst_dir, names = TEMML_CSS
    for name in names:
        src, dst = ROOT / src_dir / name, ROOT / dst_dir / name
        if not src.exists():
            raise PluginError(f"{src.relative_to(ROOT)} is missing: run `npm ci` (the README's first command does)")
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    if _outer_build(config):
        TYPESETTER.chars.clear()
        QUESTIONS.clear()
        claims.write_topic_pages(ROOT, Path(config["docs_dir"]))
    figures.build(ROOT)


def on_page_content(html, page, config, files, **kwargs):
    QUESTIONS.collect(html, page, config["theme"]["language"])  # before the math is typeset: Anki reads TeX
    # Figures below the fold are fetched when the reader scrolls to them, not with the page.
    html = IMG.sub('<img loading="lazy" ', html)
    html = FIGURE_IMG.sub(_offer_stacked_figure, html)
    names = LEVEL_NAMES.get(config["theme"]["language"], LEVEL_NAMES["en"])
    html = LEVEL_HEADING.sub(lambda m: f'{m.group(1)}<span class="level level-{m.group(2)}" data-search-exclude>'
                                       f'{names[m.group(2)]}</span>{m.group(3)}', html)
    return search.exclude_from_search(TYPESETTER.page(html, f"docs/{page.file.src_uri}"))


def _last_commit_time():
    """When the content last changed, for the decks' note times: Anki updates an imported note only when its
    time is newer (SOURCE_DATE_EPOCH wins; None, i.e. now, outside a git checkout)."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return float(os.environ["SOURCE_DATE_EPOCH"])
    try:
        return float(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                                    text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def _offer_stacked_figure(m):
    """A figure with a stacked copy (kb.figures.stack_for_phone) becomes a <picture> that narrow screens take it from."""
    narrow = figures.narrow_name(m.group(2) + ".svg")
    if not (ROOT / "docs" / "assets" / "figures" / narrow).exists():
        return m.group(0)
    return f'<picture><source media="{NARROW_SCREEN}" srcset="{m.group(1)}{narrow}">{m.group(0)}</picture>'


@event_priority(-200)  # after mkdocs-static-i18n (-100) has built every language and merged their search entries
def on_post_build(config, **kwargs):
    if not _outer_build(config):
        return
    site_dir = Path(config["site_dir"])
    QUESTIONS.write_drill_data(TYPESETTER.page)
    QUESTIONS.write_decks(site_dir, config["site_url"] or "", _last_commit_time())
    TYPESETTER.write_font(site_dir)
    i18n = config.plugins.get("i18n")
    if i18n is not None:
        default = i18n.default_language
        search.split_by_language(site_dir, default, [lang for lang in i18n.build_languages if lang != default])


# Material's search overlay is a dialog without a name, which screen readers announce as just "dialog".
SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
SEARCH_NAME = {"en": "Search", "zh": "搜索"}


# Bytes a page need not carry once the search index has been read from it (pages have a 200 KB budget): the
# search exclusion marks, and Pygments' spans around plain names and blanks, which Material draws in the code's
# own colour.
AFTER_INDEXING = re.compile(r' data-search-exclude(?:="")?(?=[ >])')
NAME_TOKEN = re.compile(r'<span class="(?:n|w)">([^<]*)</span>')
# An inline formula's arithmatex wrapper, once the formula is MathML, and MathML attributes that change no layout
# in MathML Core (fence and separator only inform assistive technology of what the operator dictionary says).
INLINE_MATH = re.compile(r'<span class="arithmatex">(<math>.*?</math>)</span>', re.S)
INERT_MATHML = re.compile(r' (?:fence|separator)="true"| style="(?:padding-left:0em;padding-right:0em;|math-depth:0;)"')


def _name_search_dialog(output, config):
    name = SEARCH_NAME.get(config["theme"]["language"], SEARCH_NAME["en"])
    return output.replace(SEARCH_DIALOG, SEARCH_DIALOG[:-1] + f' aria-label="{name}">')


def on_post_page(output, page, config, **kwargs):
    output = _name_search_dialog(output, config)
    output = NAME_TOKEN.sub(r"\1", AFTER_INDEXING.sub("", output))
    output = INERT_MATHML.sub("", INLINE_MATH.sub(r"\1", output))
    return HREFLANG_LINK.sub("", output)


def on_post_template(output_content, template_name, config, **kwargs):
    if template_name != "404.html":
        return output_content
    # The 404 page is drawn after the last page, whose per-page language links it inherits
    # (".../zh/training_loop/"): point them at each language's home page instead.
    for alt in getattr(config.plugins.get("i18n"), "extra_alternate", None) or []:
        output_content = re.sub(rf'href="[^"]*"(?= hreflang="{re.escape(alt["lang"])}" class="md-select__link")',
                                f'href="{alt["link"]}"', output_content)
    return HREFLANG_LINK.sub("", _name_search_dialog(output_content, config))
