"""The drill tools, built from the questions' markup: the random-drill page's data and one Anki deck per language.

`Questions.collect` reads each page's HTML (before its math is typeset) and records every question: its permanent
id (unique within its topic), title, level, topic and interview answer. After the build, `write_drill_data` writes `drill-data.js` next to
each language's drill page (a script, not JSON, so that it also loads from file://), with the answers' math typeset
and their links made relative to the drill page; `write_decks` writes `downloads/dl-interview-<lang>.apkg`, with
the TeX kept as \\( \\) and \\[ \\], which is what Anki's MathJax reads.
"""
import hashlib
import html
import json
import posixpath
import re
import tempfile
import zipfile
from pathlib import Path

from mkdocs.utils import get_relative_url

HEADING = re.compile(r'<h2 (?=[^>]*\bdata-level="(easy|medium|hard)")(?=[^>]*\bid="([\w-]+)")[^>]*>(.*?)</h2>', re.S)
DETAILS = re.compile(r"<(/?)details\b[^>]*>")
ANSWER_OPEN = re.compile(r'<details class="success"[^>]*>\s*<summary>.*?</summary>', re.S)
HEADERLINK = re.compile(r'<a class="headerlink".*?</a>', re.S)
BADGE = re.compile(r'\s*<a [^>]*\bclass="claim[^"]*"[^>]*>.*?</a>', re.S)  # with the space before it
URL_ATTR = re.compile(r'\b(href|src)="([^"]*)"')
DECK_NAMES = {"en": "DL Interview (EN)", "zh": "深度学习面试 (ZH)"}
MODEL_ID = 1736200001  # fixed for ever: a new id would be a new note type, and updates would stop merging
ID_SALT = "dl-interview-kb"


def answer_box(section: str) -> str:
    """Inner HTML of the section's first "Interview answer" box (without its summary), nesting-aware."""
    m = ANSWER_OPEN.search(section)
    if m is None:
        return ""
    depth = 1
    for tag in DETAILS.finditer(section, m.end()):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return section[m.end():tag.start()].strip()
    return ""


def _resolve(page_url: str, value: str) -> tuple:
    """(site path, fragment) of a relative link written on the page at `page_url`."""
    path, _, fragment = value.partition("#")
    if not path:
        return page_url, fragment
    base = page_url if page_url.endswith("/") or not page_url else posixpath.dirname(page_url) + "/"
    target = posixpath.normpath(posixpath.join(base, path))
    return ("" if target == "." else target + ("/" if path.endswith("/") else "")), fragment


def _rewrite_links(fragment: str, page_url: str, to) -> str:
    """Every relative href/src of a fragment of the page at `page_url`, passed through `to(site_path)`."""
    def fix(m):
        attr, value = m.groups()
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:|/)", value, re.I):
            return m.group(0)
        path, anchor = _resolve(page_url, value)
        return f'{attr}="{to(path)}{"#" + anchor if anchor else ""}"'
    return URL_ATTR.sub(fix, fragment)


def rebase(fragment: str, page_url: str, target_url: str) -> str:
    """The fragment's relative links, rewritten for a page at `target_url` (the drill page)."""
    return _rewrite_links(fragment, page_url, lambda path: get_relative_url(path, target_url))


def absolute(fragment: str, page_url: str, site_url: str) -> str:
    """The fragment's relative links, made absolute: an Anki card has no page to be relative to."""
    return _rewrite_links(fragment, page_url, lambda path: site_url.rstrip("/") + "/" + path)


class Questions:
    """Every question of every language in one build (both languages pass through one hook module)."""

    def __init__(self):
        self.by_lang, self.drill_page = {}, {}

    def clear(self):
        self.by_lang.clear()
        self.drill_page.clear()

    def collect(self, page_html: str, page, lang: str) -> None:
        topic = Path(getattr(page.file, "norm_src_uri", page.file.src_uri)).stem
        if topic == "drill":
            self.drill_page[lang] = (page.url, Path(page.file.abs_dest_path))
            return
        found = list(HEADING.finditer(page_html))
        for m, end in zip(found, [n.start() for n in found[1:]] + [len(page_html)]):
            answer = answer_box(page_html[m.end():end])
            if answer:
                self.by_lang.setdefault(lang, []).append({
                    "id": m.group(2), "level": m.group(1), "topic": topic, "topic_title": page.title,
                    "title": HEADERLINK.sub("", m.group(3)).strip(), "page_url": page.url, "answer": answer})

    def write_drill_data(self, typeset) -> dict:
        """Beside each language's drill page: drill-data.js, every question without its answer, and
        drill-answers-<topic>.js, a topic's answers (math typeset by `typeset(html, where)`, badges left to the
        topic page), which the drill page loads when it first draws a question of that topic."""
        sizes = {}
        for lang, (drill_url, drill_dest) in self.drill_page.items():
            index, answers = [], {}
            for q in self.by_lang.get(lang, []):
                index.append({"key": f"{q['topic']}/{q['id']}", "level": q["level"], "topic": q["topic"], "topicTitle": q["topic_title"],
                              "title": rebase(q["title"], q["page_url"], drill_url),
                              "url": get_relative_url(q["page_url"], drill_url) + "#" + q["id"]})
                answer = typeset(BADGE.sub("", q["answer"]), f"{lang} question {q['id']}")
                answers.setdefault(q["topic"], {})[f"{q['topic']}/{q['id']}"] = rebase(answer, q["page_url"], drill_url)
            files = {"drill-data.js": "window.KB_QUESTIONS = " + _json(index) + ";\n"}
            for topic, by_id in answers.items():
                files[f"drill-answers-{topic}.js"] = (f"(window.KB_ANSWERS = window.KB_ANSWERS || {{}})"
                                                      f"[{_json(topic)}] = {_json(by_id)};\n")
            for name, text in files.items():
                (drill_dest.parent / name).write_text(text, encoding="utf-8")
            sizes[lang] = {name: len(text.encode()) for name, text in files.items()}
        return sizes

    def write_decks(self, site_dir: Path, site_url: str, timestamp: float) -> dict:
        """downloads/dl-interview-<lang>.apkg: one note per question, a sub-deck per topic, stable GUIDs."""
        import genanki
        model = genanki.Model(
            MODEL_ID, "DL interview question (kb)",
            fields=[{"name": n} for n in ("Key", "Question", "Answer", "Level", "Link")],
            templates=[{"name": "Recall", "qfmt": '<div class="level">{{Level}}</div><h3>{{Question}}</h3>',
                        "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<p class="link">{{Link}}</p>'}],
            css=".card { font-family: sans-serif; font-size: 18px; text-align: left; }\n"
                ".level { font-size: 12px; color: #555; } .link { font-size: 13px; }",
            sort_field_index=1)
        out = site_dir / "downloads"
        out.mkdir(parents=True, exist_ok=True)
        sizes = {}
        for lang, questions in sorted(self.by_lang.items()):
            decks = {}
            for q in questions:
                if q["topic"] not in decks:
                    decks[q["topic"]] = genanki.Deck(_stable_id("deck", lang, q["topic"]),
                                                     f"{DECK_NAMES.get(lang, lang)}::{q['topic_title']}")
                page = site_url.rstrip("/") + "/" + q["page_url"] + "#" + q["id"]
                answer = absolute(BADGE.sub("", q["answer"]), q["page_url"], site_url)
                decks[q["topic"]].add_note(genanki.Note(
                    # a question is known by (topic, heading id): a heading id is unique on its page only
                    model=model, guid=genanki.guid_for("kb", lang, q["topic"], q["id"]),
                    fields=[f"{lang}/{q['topic']}/{q['id']}", absolute(q["title"], q["page_url"], site_url), answer,
                            q["level"], f'<a href="{html.escape(page)}">{html.escape(page)}</a>'],
                    tags=["kb", f"lang::{lang}", f"level::{q['level']}", f"topic::{q['topic']}"]))
            path = out / f"dl-interview-{lang}.apkg"
            with tempfile.TemporaryDirectory() as tmp:
                raw = Path(tmp) / "raw.apkg"
                genanki.Package(list(decks.values())).write_to_file(str(raw), timestamp=timestamp)
                _fixed_zip_times(raw, path)
            sizes[lang] = path.stat().st_size
        return sizes


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _stable_id(*parts) -> int:
    """A deck id from its (language, topic), in genanki's range [2**30, 2**31): renaming a deck keeps its id."""
    h = int(hashlib.sha256("/".join((ID_SALT,) + parts).encode()).hexdigest()[:8], 16)
    return (1 << 30) + h % (1 << 30)


def _fixed_zip_times(src: Path, dst: Path) -> None:
    """Rewrite genanki's zip with fixed entry times: the same questions give the same bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            zout.writestr(info, zin.read(name))
