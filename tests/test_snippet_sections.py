"""Code on the pages comes from snippets/: every section is shown, every include points at a section."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START = re.compile(r"#\s*--8<--\s*\[start:([\w-]+)\]")
INCLUDE = re.compile(r'--8<-- "(snippets/[\w/]+\.py):([\w-]+)"')


def sections():
    return sorted((p.relative_to(ROOT).as_posix(), name)
                  for p in (ROOT / "snippets").glob("*.py") for name in START.findall(p.read_text()))


def includes(lang):
    return {m for page in (ROOT / "docs" / lang).glob("*.md") for m in INCLUDE.findall(page.read_text())}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_snippet_section_is_used_on_a_page(lang):
    unused = set(sections()) - includes(lang)
    assert not unused, f"snippet sections shown on no {lang} page: {sorted(unused)}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_include_names_an_existing_section(lang):
    missing = includes(lang) - set(sections())
    assert not missing, f"{lang} pages include sections that do not exist: {sorted(missing)}"


def test_sections_are_closed():
    for path in (ROOT / "snippets").glob("*.py"):
        text = path.read_text()
        for name in START.findall(text):
            assert f"[end:{name}]" in text, f"{path.name}: section {name} is never closed"
