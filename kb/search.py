"""One search index per language, without code, math or badges.

Material writes a single index, and mkdocs-static-i18n merges every language into it (1.6 MB, half of it the
check sources on the claims pages). After the build this splits it: the default language keeps
`search/search_index.json`, each other language gets `<lang>/search/search_index.json`, which
overrides/assets/javascripts/search-index.js requests instead on that language's pages. What is not words a reader
searches for is kept out of the index at the source, by `exclude_from_search` on each page's HTML.
"""
import json
import re
from pathlib import Path

# Code blocks, typeset math and claim badges carry Material's data-search-exclude: its indexer skips the element.
NOT_SEARCHED = re.compile(r'<(div|span|a)((?: [\w-]+="[^"]*")*? class="(?:highlight|arithmatex|claim)\b)')


def exclude_from_search(page_html: str) -> str:
    return NOT_SEARCHED.sub(r"<\1 data-search-exclude\2", page_html)


def split_by_language(site_dir: Path, default: str, others: list) -> dict:
    """Rewrite the merged index as one index per language; return {language: bytes written}."""
    merged_path = site_dir / "search" / "search_index.json"
    merged = json.loads(merged_path.read_text(encoding="utf-8"))
    docs = {lang: [] for lang in [default, *others]}
    for doc in merged["docs"]:
        prefix = doc["location"].split("/", 1)[0]
        docs[prefix if prefix in others else default].append(doc)
    sizes = {}
    for lang, entries in docs.items():
        config = dict(merged["config"], lang=["en"] if lang == "en" else sorted({"en", lang}))
        path = merged_path if lang == default else site_dir / lang / "search" / "search_index.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"config": config, "docs": entries}, ensure_ascii=False, separators=(",", ":"))
        path.write_text(text, encoding="utf-8")
        sizes[lang] = len(text.encode())
    return sizes
