"""MkDocs hook: put MathJax where the site serves it, draw the figures before each build, and keep
Material's language script from requesting sitemaps that do not exist.

None of it is part of the claim gate (that is the kb.claims Markdown extension),
so a builder without MkDocs hooks loses only convenience, never the gate.
"""
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

from kb import figures

ROOT = Path(__file__).resolve().parent.parent

# <link rel="alternate" hreflang=...> in a page's head. Material's script fetches sitemap.xml next to each such
# link, expecting it to point at a language's root; mkdocs-static-i18n points it at the same page in the other
# language, so every page asked for <page>/sitemap.xml and <zh/page>/sitemap.xml and logged two 404s. The
# language menu keeps its per-page links, and sitemap.xml lists each page's hreflang alternates.
HREFLANG_LINK = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')

MATHJAX = ("node_modules/mathjax/es5/tex-svg-full.js", "overrides/assets/vendor/mathjax/tex-svg-full.js")


def on_pre_build(config, **kwargs):
    src, dst = (ROOT / p for p in MATHJAX)
    if not src.exists():
        raise PluginError(f"{src.relative_to(ROOT)} is missing: run `npm ci` (the README's first command does)")
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    figures.build(ROOT)


def on_post_page(output, page, config, **kwargs):
    return HREFLANG_LINK.sub("", output)


def on_post_template(output_content, template_name, config, **kwargs):
    if template_name != "404.html":
        return output_content
    # The 404 page is drawn after the last page, whose per-page language links it inherits
    # (".../zh/training_loop/"): point them at each language's home page instead.
    for alt in getattr(config.plugins.get("i18n"), "extra_alternate", None) or []:
        output_content = re.sub(rf'href="[^"]*"(?= hreflang="{re.escape(alt["lang"])}" class="md-select__link")',
                                f'href="{alt["link"]}"', output_content)
    return HREFLANG_LINK.sub("", output_content)
