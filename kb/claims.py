"""Python-Markdown extension: the verification gate and the claim badges.

`[[claim:ID]]` in a page becomes a badge linking to the claim's entry on the
claims page, or stops the build when the claim has no check, a failing check,
or a result computed against other code than what is on disk.
`[[claims-index:LANG:TOPIC]]` expands to a topic's entries, with each check's source (one page per topic,
docs/LANG/claims/TOPIC.md, written before each build by `write_topic_pages`); `[[claims-index:LANG]]` to the
overview of every topic. The overview also stops the build when a check's claim is on no page of that language.

It is a plain Markdown extension (not an MkDocs hook) so the gate works under
any Python-Markdown based builder.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor

from verify import _report

try:  # a BuildError makes MkDocs stop cleanly with our message and no traceback
    from mkdocs.exceptions import BuildError as _Base
except ImportError:  # pragma: no cover - other builders
    _Base = Exception

CLAIM = re.compile(r"\[\[claim:([a-z0-9][a-z0-9._-]*)\]\]")
# [[value:topic.claim.name]], optionally :format (Python spec, default .3g) and @dtype (default float64 if run)
VALUE = re.compile(r"\[\[value:([a-z0-9_]+\.[a-z0-9_-]+)\.([A-Za-z_][A-Za-z0-9_]*)(?::([^\]@]+))?(?:@(float32|float64))?\]\]")
INDEX = re.compile(r"^\[\[(claims|misconceptions)-index:([a-z]+)(?::([a-z0-9_]+))?\]\]$")
MISCONCEPTION = re.compile(r'^(\s*)!!! danger "(.*)"\s*$')
QUESTION = re.compile(r"^##\s+(.*?)\s*\{[^}]*#([A-Za-z0-9_-]+)[^}]*\}\s*$")
DEVICES = ("cpu", "cuda")
PAGE_SEED = 0  # the seed whose measured values the pages print
TEXT = {
    "en": {"on": "Stated in", "check": "Check", "source": "Source of the check", "device": "Device",
           "stale": "stale: code changed since this run", "notrun": "not run", "na": "not applicable",
           "kind": {"exact": "exact", "statistical": "statistical (6σ)", "demonstration": "demonstration"},
           "claims": "**{n} claims**, each with at least one check:",
           "report": "{device} ({name}): {passed} of {runs} check runs passed, torch {torch}, run {date}",
           "no_report": "{device}: no report committed yet; badges say “{device} –”",
           "mutation": "Mutation score of `snippets/{topic}.py` ({tool}): **{score:.0%}**: {killed} of {counted} "
                       "non-equivalent mutants killed ({timeout} of them by a timeout), {survived} survived, "
                       "{equivalent} equivalent",
           "mutation_stale": "; stale: the snippet changed after this measurement",
           "mutation_partial": "; measured on {checked} of {generated} mutants, the run was stopped before the rest",
           "mutation_none": "Mutation score of `snippets/{topic}.py`: not measured (`./run mutants`)",
           "failure": "Last failure on {device}",
           "topic_title": "Claims: {title}",
           "topic_intro": "The checks behind every badge on [{title}](../{topic}.md): each claim's result per device "
                          "and dtype, its duration, and the check's source. All topics: [claims and their checks]"
                          "(../claims.md).",
           "overview": "| Topic | Claims | Check runs passed (CPU) | Mutation score |",
           "score_none": "not measured", "score_stale": "stale"},
    "zh": {"on": "出处", "check": "检验", "source": "检验的源代码", "device": "设备",
           "stale": "已过期：代码在此次运行后有改动", "notrun": "未运行", "na": "不适用",
           "kind": {"exact": "精确", "statistical": "统计（6σ）", "demonstration": "演示"},
           "claims": "**共 {n} 条断言**，每条至少有一个检验：",
           "report": "{device}（{name}）：{runs} 次检验运行中通过 {passed} 次，torch {torch}，运行于 {date}",
           "no_report": "{device}：尚未提交报告；徽章显示“{device} –”",
           "mutation": "`snippets/{topic}.py` 的变异得分（{tool}）：**{score:.0%}**：{counted} 个非等价变异体中 "
                       "{killed} 个被检验发现（其中 {timeout} 个因超时），{survived} 个存活，{equivalent} 个等价",
           "mutation_stale": "；已过期：此次测量后代码片段有改动",
           "mutation_partial": "；只测量了 {generated} 个变异体中的 {checked} 个，其余未运行",
           "mutation_none": "`snippets/{topic}.py` 的变异得分：尚未测量（`./run mutants`）",
           "failure": "{device} 上的最近一次失败",
           "topic_title": "断言与检验：{title}",
           "topic_intro": "[{title}](../{topic}.md)页上每个徽章背后的检验：每条断言在各设备和数据类型上的结果、耗时，以及"
                          "检验的源代码。全部主题见[断言与检验](../claims.md)。",
           "overview": "| 主题 | 断言数 | 通过的检验运行（CPU） | 变异得分 |",
           "score_none": "尚未测量", "score_stale": "已过期"},
}


class ClaimError(_Base):
    """A claim on a page is not (or no longer) verified."""


@dataclass
class State:
    """Everything the gate knows: checks on disk, their fingerprints, the reports, the pages."""
    root: Path
    docs: Path
    checks: dict        # claim -> [StaticCheck]
    prints: dict        # module path -> fingerprint
    reports: dict       # device -> report or None
    stated: dict        # lang -> {claim: [(page, question_id, question_title)]}
    misconceptions: dict  # lang -> [(page, question_id, question_title, block title, claim or None)]
    titles: dict        # lang -> {page: its "# Title"}
    mutants: dict       # reports/mutants.json, or {} before the first ./run mutants

    @classmethod
    def load(cls, root: Path, docs: Path) -> "State":
        checks = {}
        for c in _report.static_checks(root):
            checks.setdefault(c.claim, []).append(c)
        prints = {m: _report.fingerprint(m, root) for m in _report.topic_modules(root)}
        reports = {d: _report.load_report(_report.report_path(d, root)) for d in DEVICES}
        stated, misconceptions, titles = {}, {}, {}
        for lang_dir in sorted(p for p in docs.iterdir() if p.is_dir() and p.name in TEXT):
            where = stated.setdefault(lang_dir.name, {})
            found = misconceptions.setdefault(lang_dir.name, [])
            named = titles.setdefault(lang_dir.name, {})
            for page in sorted(lang_dir.glob("*.md")):
                question, block = (None, ""), None  # block: [indent, title, claim] of an open danger box
                for line in page.read_text(encoding="utf-8").splitlines():
                    if line.startswith("# ") and page.name not in named:
                        named[page.name] = line[2:].strip()
                    m = QUESTION.match(line)
                    if m:
                        question = (m.group(2), m.group(1))
                    if block and line.strip() and len(line) - len(line.lstrip()) <= block[0]:
                        block = None
                    m = MISCONCEPTION.match(line)
                    if m:
                        block = [len(m.group(1)), m.group(2), None]
                        found.append((page.name, *question, block))
                    for cid in CLAIM.findall(line) + [m[0] for m in VALUE.findall(line)]:
                        where.setdefault(cid, []).append((page.name, *question))
                        if block and block[2] is None:
                            block[2] = cid
        path = root / "reports" / "mutants.json"
        mutants = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return cls(root, docs, checks, prints, reports, stated, misconceptions, titles, mutants)

    def pages_of(self, cid: str) -> str:
        pages = sorted({f"{lang}/{p}" for lang, w in self.stated.items() for p, _, _ in w.get(cid, [])})
        return ", ".join(pages) or "no page"

    def results(self, cid: str, device: str):
        """(status, {dtype: result}, detail) for a claim on a device.

        status: passed | failed | stale | missing | n/a.
        """
        checks = [c for c in self.checks[cid] if device in c.devices]
        if not checks:
            return "n/a", {}, ""
        report = self.reports.get(device)
        entry = report["claims"].get(cid) if report else None
        merged, failures = {}, []
        for c in checks:
            got = entry["checks"].get(c.test_id) if entry else None
            if got is None or set(got["results"]) != set(c.dtypes):
                return "missing", {}, f"{c.test_id} has no result in {_rel(device)}"
            current = self.prints[c.module]
            if got["fingerprint"] != current:
                return "stale", {}, (f"{c.test_id} ran against fingerprint {got['fingerprint']}, "
                                     f"the code on disk is {current}")
            for dtype, r in got["results"].items():
                merged.setdefault(dtype, []).append((c, r))
                if r["status"] != "passed":
                    failures.append(f"{c.test_id}[{device}-{dtype}]: {r['message']}")
        if failures:
            return "failed", merged, "; ".join(failures)
        return "passed", merged, ""

    def gate(self, cid: str) -> None:
        """Raise ClaimError unless the claim is verified on the CPU (and not failing on CUDA)."""
        where = f"claim '{cid}' (on {self.pages_of(cid)})"
        if cid not in self.checks:
            raise ClaimError(f"{where} has no check: add @check('{cid}') to a module in verify/")
        status, _, detail = self.results(cid, "cpu")
        if status == "missing":
            raise ClaimError(f"{where} is not verified: {detail}; run python -m verify")
        if status == "stale":
            raise ClaimError(f"{where} was verified against other code than what is on disk "
                             f"({detail}); run python -m verify")
        if status == "failed":
            raise ClaimError(f"{where} FAILS its check: {detail}")
        cuda, _, detail = self.results(cid, "cuda")
        if cuda == "failed":
            raise ClaimError(f"{where} FAILS its check on CUDA (reports/cuda.json): {detail}")

    def value(self, cid: str, name: str, dtype=None):
        """The number a check of `cid` recorded as `name` on the CPU (float64 run unless `dtype` says)."""
        self.gate(cid)
        _, merged, _ = self.results(cid, "cpu")
        dtype = dtype or ("float64" if "float64" in merged else "float32")
        found = {r["values"][name] for _, r in merged.get(dtype, []) if name in r.get("values", {})}
        seeds = {c["seed"] for c in self.reports["cpu"]["claims"][cid]["checks"].values()} - {PAGE_SEED}
        if found and seeds:  # pages state the numbers of the default seed (and say so where they depend on it)
            raise ClaimError(f"value '{cid}.{name}' (on {self.pages_of(cid)}) was measured with --seed "
                             f"{min(seeds)}; the pages show seed {PAGE_SEED}: run python -m verify")
        if len(found) != 1:
            recorded = sorted({v for _, r in merged.get(dtype, []) for v in r.get("values", {})})
            raise ClaimError(f"value '{cid}.{name}' (on {self.pages_of(cid)}): "
                             + (f"recorded differently by several checks: {sorted(found)}" if found else
                                f"no check of '{cid}' recorded '{name}' in {dtype} on the CPU "
                                f"(recorded: {', '.join(recorded) or 'none'}); call t.record('{name}', ...)"))
        return found.pop()

    def orphans(self, lang: str) -> list:
        return sorted(c.test_id + f" (claim '{cid}')" for cid, cs in self.checks.items()
                      if cid not in self.stated.get(lang, {}) for c in cs)


def _rel(device: str) -> str:
    return f"reports/{device}.json"


_CACHE: dict = {}


def _state(root: Path, docs: Path) -> State:
    """State.load, reused while no report, check, snippet or page changed (MkDocs makes one
    Markdown instance per page, so this runs once per page)."""
    files = [*root.glob("reports/*.json"), *root.glob("verify/*.py"), *root.glob("snippets/*.py"),
             *docs.glob("*/*.md")]
    key = (str(root), tuple(sorted((str(f), f.stat().st_mtime_ns) for f in files)))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = State.load(root, docs)
    return _CACHE[key]


def summary(state: State, lang: str) -> list:
    """One paragraph: how many claims and check runs, on which machines, from which reports."""
    t = TEXT[lang]
    lines = []
    for device in DEVICES:
        report = state.reports[device]
        if report is None:
            lines.append(t["no_report"].format(device=device.upper()))
            continue
        runs = [r for e in report["claims"].values() for c in e["checks"].values() for r in c["results"].values()]
        passed = sum(r["status"] == "passed" for r in runs)
        lines.append(t["report"].format(device=device.upper(), name=report["device_name"], passed=passed,
                                        runs=len(runs), torch=report["environment"]["torch"],
                                        date=report.get("generated", "?")[:10]))
    return [t["claims"].format(n=len(state.checks)), ""] + [f"- {line}" for line in lines] + [""]


def mutation_score(state: State, lang: str, topic: str) -> str:
    """The topic's mutation score from reports/mutants.json, marked stale when the snippet changed since."""
    t = TEXT[lang]
    snippet = state.root / "snippets" / f"{topic}.py"
    r = state.mutants.get("modules", {}).get(topic)
    if r is None or not snippet.exists():
        return t["mutation_none"].format(topic=topic) if snippet.exists() else ""
    unchecked = r.get("not_checked", 0)
    line = t["mutation"].format(topic=topic, tool=state.mutants["tool"],
                                counted=r["generated"] - unchecked - r["equivalent"], killed=r["killed"] + r["timeout"],
                                **{k: r[k] for k in ("score", "timeout", "survived", "equivalent")})
    if unchecked:
        line += t["mutation_partial"].format(checked=r["generated"] - unchecked, generated=r["generated"])
    stale = r["fingerprint"] != _report.snippet_fingerprint(snippet)
    return line + (t["mutation_stale"] if stale else "")


def _page_order(state: State, lang: str):
    """Rank of a page by its first link on the language's home page (the topic map), then by name."""
    home = (state.docs / lang / "index.md")
    links = re.findall(r"\]\(([\w-]+\.md)", home.read_text(encoding="utf-8")) if home.exists() else []
    first = {page: i for i, page in reversed(list(enumerate(links)))}
    return lambda page: (first.get(page, len(first)), page)


def misconceptions(state: State, lang: str) -> list:
    """The misconceptions page body: every "danger" box of the language, with the claim that settles it."""
    out, page_seen = [], None
    rank = _page_order(state, lang)
    for page, qid, qtitle, (_, title, cid) in sorted(state.misconceptions.get(lang, []), key=lambda m: rank(m[0])):
        if cid is None:
            raise ClaimError(f"{lang}/{page}: misconception box '{title}' has no [[claim:...]] marker "
                             "naming the check that rejects it")
        if page != page_seen:
            page_seen = page
            out += [f"## [{state.titles[lang].get(page, page)}]({page}) {{ #{page[:-3]} }}", ""]
        target = f"{page}#{qid}" if qid else page
        out += [f"- **{title}** — [{qtitle or page}]({target}) {badge(state, cid)}", ""]
    return out


def _dtypes(merged: dict) -> str:
    return " ".join(d.replace("float", "f") for d in sorted(merged))


def badge(state: State, cid: str) -> str:
    cpu_status, cpu, _ = state.results(cid, "cpu")
    cuda_status, cuda, _ = state.results(cid, "cuda")
    cuda_text = {"passed": f"CUDA {_dtypes(cuda)}", "stale": "CUDA stale", "missing": "CUDA –",
                 "n/a": ""}[cuda_status]
    tests = ", ".join(c.test_id for c in state.checks[cid])
    # the title is also the badge's accessible description; its text "✓ CPU f32 · CUDA –" is the name
    title = (f"{cid}: verified on CPU ({_dtypes(cpu)}); CUDA: {cuda_status} — {tests}")
    text = " · ".join(x for x in (f"✓ CPU {_dtypes(cpu)}", cuda_text) if x)
    cls = ".claim" + (" .claim-stale" if cuda_status == "stale" else "")
    return f'[{text}](claims/{cid.split(".")[0]}.md#{cid}){{ {cls} title="{title}" }}'


def failure_messages(state: State, lang: str, cid: str) -> list:
    """Failures a report still holds for a claim (a stale CUDA run: a current failure stops the build)."""
    out = []
    for device in DEVICES:
        entry = (state.reports[device] or {}).get("claims", {}).get(cid, {})
        for tid, c in entry.get("checks", {}).items():
            for dtype, r in c["results"].items():
                if r["status"] != "passed":
                    out += [f'??? failure "{TEXT[lang]["failure"].format(device=device.upper())}: {tid}[{dtype}]"',
                            "    ```text"] + ["    " + ln for ln in r["message"].splitlines()] + ["    ```", ""]
    return out


def topics(state: State, lang: str) -> list:
    """The topics that have claims, in the order of the language's home page."""
    rank = _page_order(state, lang)
    return sorted({cid.split(".")[0] for cid in state.checks}, key=lambda t: rank(t + ".md"))


def overview(state: State, lang: str) -> list:
    """The claims page body for one language: the runs behind it, and one line per topic."""
    orphans = state.orphans(lang)
    if orphans:
        raise ClaimError(f"checks whose claim is on no {lang} page: {'; '.join(orphans)}")
    t = TEXT[lang]
    out = summary(state, lang) + [t["overview"], "|---|---:|---:|---:|"]
    for topic in topics(state, lang):
        cids = [cid for cid in state.checks if cid.split(".")[0] == topic]
        runs = [r for cid in cids for _, rs in state.results(cid, "cpu")[1].items() for _, r in rs]
        r = state.mutants.get("modules", {}).get(topic)
        stale = r is not None and r["fingerprint"] != _report.snippet_fingerprint(state.root / "snippets" / f"{topic}.py")
        score = t["score_none"] if r is None else f"{r['score']:.0%}" + (f" ({t['score_stale']})" if stale else "")
        title = state.titles[lang].get(topic + ".md", topic)
        passed = sum(x["status"] == "passed" for x in runs)
        out.append(f"| [{title}](claims/{topic}.md) | {len(cids)} | {passed} / {len(runs)} | {score} |")
    return out + [""]


def topic_index(state: State, lang: str, topic: str) -> list:
    """A topic's claims page body: every claim of the topic, its results and its checks' source."""
    t = TEXT[lang]
    env = state.reports["cpu"]["environment"]
    title = state.titles[lang].get(topic + ".md", topic)
    out = [f"# {t['topic_title'].format(title=title)}", "", t["topic_intro"].format(title=title, topic=topic), "",
           mutation_score(state, lang, topic), ""]
    for cid in sorted(c for c in state.checks if c.split(".")[0] == topic):
        out += [f"## `{cid}` {{ #{cid} }}", ""]
        for page, qid, qtitle in state.stated[lang][cid][:1]:
            target = f"../{page}#{qid}" if qid else f"../{page}"
            out += [f"{t['on']}: [{qtitle or state.titles[lang].get(page, page)}]({target})", ""]
        dtypes = sorted({d for c in state.checks[cid] for d in c.dtypes})
        out += [f"| {t['device']} | " + " | ".join(dtypes) + " |", "|---" * (len(dtypes) + 1) + "|"]
        for device in DEVICES:
            status, merged, _ = state.results(cid, device)
            name = (state.reports[device] or {}).get("device_name")
            cells = []
            for d in dtypes:
                if status in ("passed", "failed") and d in merged:
                    ok = all(r["status"] == "passed" for _, r in merged[d])
                    ms = sum(r["duration_s"] for _, r in merged[d]) * 1000
                    cells.append(f"{'✓' if ok else '✗'} " + (f"{ms:.0f} ms" if ms >= 1 else "<1 ms"))
                else:
                    cells.append({"stale": t["stale"], "missing": t["notrun"], "n/a": t["na"]}.get(status, ""))
            label = f"{device.upper()} ({name})" if name else device.upper()
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
        out += failure_messages(state, lang, cid)
        for c in state.checks[cid]:
            out += [f"{t['check']}: `{c.test_id}` · {t['kind'][c.kind]} · torch {env['torch']} · "
                    f"fingerprint `{state.prints[c.module]}`", ""]
            source = c.module.read_text(encoding="utf-8").splitlines()[c.lines[0] - 1:c.lines[1]]
            # plain text: highlighted, the sources of one topic's checks alone would outweigh the page budget
            out += [f'??? example "{t["source"]}: {c.test_id}"', "    ```text"]
            out += ["    " + line if line else "" for line in source]
            out += ["    ```", ""]
    return out


def write_topic_pages(root: Path, docs: Path) -> None:
    """docs/<lang>/claims/<topic>.md for every topic with claims (generated, not committed); a page whose topic
    has no claims left is removed. A file is rewritten only when its text changes, so `mkdocs serve` settles."""
    state = _state(root, docs)
    for lang in (d.name for d in docs.iterdir() if d.is_dir() and d.name in TEXT):
        folder = docs / lang / "claims"
        folder.mkdir(exist_ok=True)
        wanted = {f"{topic}.md": f"[[claims-index:{lang}:{topic}]]\n" for topic in topics(state, lang)}
        for old in folder.glob("*.md"):
            if old.name not in wanted:
                old.unlink()
        for name, text in wanted.items():
            path = folder / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")


def format_value(state: State, cid: str, name: str, spec, dtype) -> str:
    """A recorded number, formatted (default 3 significant digits), or a ClaimError naming the page."""
    value = state.value(cid, name, dtype)
    try:
        return format(value, spec or ".3g")
    except ValueError as e:
        raise ClaimError(f"value '{cid}.{name}' (on {state.pages_of(cid)}): bad format {spec!r}: {e}") from None


class ClaimPreprocessor(Preprocessor):
    def __init__(self, md, state):
        super().__init__(md)
        self.state = state

    def run(self, lines):
        out = []
        for line in lines:
            m = INDEX.match(line.strip())
            if m and m.group(1) == "claims":
                for cid in self.state.checks:
                    if m.group(3) in (None, cid.split(".")[0]):
                        self.state.gate(cid)
                out += (topic_index(self.state, m.group(2), m.group(3)) if m.group(3)
                        else overview(self.state, m.group(2)))
                continue
            if m:
                out += misconceptions(self.state, m.group(2))
                continue
            for cid in CLAIM.findall(line):
                self.state.gate(cid)
            line = VALUE.sub(lambda m: format_value(self.state, *m.groups()), line)
            out.append(CLAIM.sub(lambda m: badge(self.state, m.group(1)), line))
        return out


class ClaimExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {"root": [".", "project root (holds verify/, snippets/, reports/)"],
                       "docs_dir": ["docs", "documentation folder, one subfolder per language"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        root = Path(str(self.getConfig("root"))).resolve()
        state = _state(root, root / self.getConfig("docs_dir"))
        # after pymdownx.snippets (32) so included text is seen; before code blocks are stashed
        md.preprocessors.register(ClaimPreprocessor(md, state), "kb_claims", 31)


def makeExtension(**kwargs):
    return ClaimExtension(**kwargs)
