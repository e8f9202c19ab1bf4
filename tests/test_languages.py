"""Both languages always in step: same pages, questions, levels, claims, code and figures, in order."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p.name for p in (DOCS / "en").glob("*.md"))
TOPIC_PAGES = [p for p in PAGES if p not in ("index.md", "claims.md", "misconceptions.md", "drill.md")]
FACETS = {
    "question ids and levels": re.compile(r"^##\s.*\{\s*#([\w-]+)\s+data-level=\"(\w+)\"\s*\}\s*$", re.M),
    "claim markers": re.compile(r"\[\[claim:([^\]]+)\]\]"),
    "snippet includes": re.compile(r'--8<-- "([^"]+)"'),
    "figures": re.compile(r"!\[[^\]]*\]\(([^)]+\.svg)\)"),
    "generated indexes": re.compile(r"\[\[(\w+-index):\w+\]\]"),
}


def test_both_languages_have_the_same_pages():
    assert PAGES == sorted(p.name for p in (DOCS / "zh").glob("*.md"))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("facet", FACETS)
def test_page_is_in_step_across_languages(page, facet):
    en, zh = ((DOCS / lang / page).read_text(encoding="utf-8") for lang in ("en", "zh"))
    pattern = FACETS[facet]
    assert pattern.findall(en) == pattern.findall(zh), f"{facet} differ between en/{page} and zh/{page}"


@pytest.mark.parametrize("page", TOPIC_PAGES)
def test_every_question_has_an_id_and_a_level(page):
    text = (DOCS / "en" / page).read_text(encoding="utf-8")
    questions = re.findall(r"^## .*$", text, re.M)
    tagged = FACETS["question ids and levels"].findall(text)
    assert len(questions) == len(tagged), f"en/{page}: every '## question' needs {{ #id data-level=... }}"
    assert all(level in ("easy", "medium", "hard") for _, level in tagged)
