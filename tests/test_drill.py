"""The Anki decks (kb/drill.py), read back with sqlite3: one note per question, GUIDs that survive an edited
answer, note times from the last commit, the TeX that Anki's MathJax reads."""
import json
import re
import sqlite3
import subprocess
import zipfile
from types import SimpleNamespace

import pytest

from kb import drill
from tests.conftest import ROOT
from tests.test_languages import FACETS

pytestmark = pytest.mark.slow


def notes(apkg, tmp_path):
    """(guid, mod, fields, tags) of every note, and the deck names, of an .apkg."""
    with zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", tmp_path)
    db = sqlite3.connect(tmp_path / "collection.anki2")
    rows = db.execute("select guid, mod, flds, tags from notes").fetchall()
    decks = [d["name"] for d in json.loads(db.execute("select decks from col").fetchone()[0]).values()]
    db.close()
    return rows, decks


def questions_on_pages(lang):
    return sum(len(FACETS["question ids and levels"].findall(p.read_text(encoding="utf-8")))
               for p in (ROOT / "docs" / lang).glob("*.md"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_deck_holds_one_note_per_question_tagged_and_dated_by_the_last_commit(site, tmp_path, lang):
    rows, decks = notes(site / "downloads" / f"dl-interview-{lang}.apkg", tmp_path)
    assert len(rows) == questions_on_pages(lang) > 200
    assert len({guid for guid, *_ in rows}) == len(rows)
    last_commit = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                                     text=True).stdout)
    assert {mod for _, mod, *_ in rows} == {last_commit}
    assert all(re.search(r"\blevel::(easy|medium|hard)\b", tags) and "topic::" in tags for *_, tags in rows)
    assert sum("\\(" in fields for _, _, fields, _ in rows) > 100  # TeX, as Anki's MathJax expects it
    root = "DL Interview (EN)" if lang == "en" else "深度学习面试 (ZH)"
    assert f"{root}::Softmax" in decks and all(d.startswith(root + "::") for d in decks if d != "Default")


PAGE = """<h2 data-level="easy" id="q-one">Why?<a class="headerlink" href="#q-one">¶</a></h2>
<details class="success" open="open"><summary>Interview answer</summary><p>{answer}
<a class="claim" href="claims/demo/#demo.c">✓ CPU</a></p></details>
<details class="info" open="open"><summary>Explanation</summary><p>long</p></details>
<h2 data-level="hard" id="q-two">How?</h2>
<details class="success" open="open"><summary>Interview answer</summary><p>See <a href="#q-one">above</a>,
\\(x^2\\).</p></details>"""


def build_decks(tmp_path, answer, timestamp):
    questions = drill.Questions()
    page = SimpleNamespace(url="demo/", title="Demo", file=SimpleNamespace(src_uri="en/demo.md", norm_src_uri="demo.md"))
    questions.collect(PAGE.format(answer=answer), page, "en")
    questions.write_decks(tmp_path, "https://example.org/dl/", timestamp)
    return tmp_path / "downloads" / "dl-interview-en.apkg"


def test_an_edited_answer_keeps_every_guid_and_gets_a_newer_time(tmp_path):
    first, _ = notes(build_decks(tmp_path / "a", "Because.", 1_700_000_000), tmp_path / "a")
    again = build_decks(tmp_path / "b", "Because.", 1_700_000_000)
    assert again.read_bytes() == (tmp_path / "a" / "downloads" / "dl-interview-en.apkg").read_bytes()  # reproducible
    edited, _ = notes(build_decks(tmp_path / "c", "Because, and more.", 1_700_000_500), tmp_path / "c")
    assert sorted(g for g, *_ in edited) == sorted(g for g, *_ in first)
    assert {m for _, m, *_ in edited} == {1_700_000_500}  # newer, so Anki's import updates the note
    one = next(f for _, _, f, _ in edited if f.startswith("en/demo/q-one"))
    assert "Because, and more." in one and "✓ CPU" not in one  # badges stay on the site
    two = next(f for _, _, f, _ in edited if f.startswith("en/demo/q-two"))
    assert 'href="https://example.org/dl/demo/#q-one"' in two and "\\(x^2\\)" in two
