"""Mutation testing of snippets/ against the checks: how many planted bugs would the suite notice?

  ./run mutants [--max-children N] [--survivors | --report-only] [TOPIC ...]
      TOPIC: a snippets module, e.g. softmax (default: all); --survivors reruns only the last survivors

mutmut (configured in pyproject.toml) plants one small change at a time in snippets/ and runs the
checks that reach the changed function, plus the bad-input tests (a mutant in argument validation
that only tests/ notices counts as killed). Results are kept in mutants/, so a rerun redoes only what
changed. This script then writes reports/mutants.json: per snippet module the mutants generated,
killed, timed out and survived, the module's fingerprint (the claims page marks the score stale when
the code has changed since), and each survivor's location and diff. A survivor that changes no
behaviour is listed, with a one-line reason, in verify/equivalent_mutants.toml and counts as
equivalent instead.
"""
import argparse
import json
import os
import subprocess
import sys
import tomllib
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verify import _report  # noqa: E402  (after the path is set)

EQUIVALENT = ROOT / "verify" / "equivalent_mutants.toml"
BAR = 0.95


def changed_lines(diff: str) -> tuple:
    """The removed and added lines of a mutant's diff, stripped."""
    lines = diff.splitlines()
    return ([ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")],
            [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")])


def line_number(source: str, removed: list, function: str = "") -> int | None:
    """Where in the snippet the mutated line stands: the first line the mutant removed, searched from the
    mutated function's `def` on (the same validation line recurs in many functions)."""
    lines = source.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"def {function}(")), 0)
    for i, line in enumerate(lines[start:], start + 1):
        if removed and line.strip() == removed[0]:
            return i
    return None


def module_results(path: Path, equivalent: dict) -> dict:
    """The counts and survivors of one snippet module, from mutmut's result files."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=path.relative_to(ROOT))
    data.load()
    source = path.read_text(encoding="utf-8")
    counts = {"generated": 0, "not_checked": 0, "killed": 0, "timeout": 0, "survived": 0, "equivalent": 0}
    survivors, marked = [], []
    for name, code in sorted(data.exit_code_by_key.items()):
        status = status_by_exit_code[code]
        counts["generated"] += 1
        if status == "not checked":  # the run was stopped before this mutant's turn
            counts["not_checked"] += 1
            continue
        if status == "killed":
            counts["killed"] += 1
            continue
        if status == "timeout":
            counts["timeout"] += 1
            continue
        diff = get_diff_for_mutant(name, path=path.relative_to(ROOT))
        removed, added = changed_lines(diff)
        mark = equivalent.get(name)
        if mark and mark.get("mutation", "").strip() in added:
            counts["equivalent"] += 1
            marked.append({"mutant": name, "reason": mark["reason"]})
            continue
        counts["survived"] += 1
        function = name.split(".")[-1].split("__mutmut")[0][2:]
        survivors.append({"mutant": name, "status": status, "function": function,
                          "line": line_number(source, removed, function), "diff": diff.strip()})
    counted = counts["generated"] - counts["not_checked"] - counts["equivalent"]
    score = (counts["killed"] + counts["timeout"]) / counted if counted else 1.0
    return {**counts, "score": round(score, 4), "fingerprint": _report.snippet_fingerprint(path),
            "survivors": survivors, "equivalents": marked}


def main() -> int:
    p = argparse.ArgumentParser(prog="./run mutants", description=__doc__.split("\n\n")[0])
    p.add_argument("topics", nargs="*", help="snippets modules to mutate (default: all)")
    p.add_argument("--max-children", type=int, default=None, help="parallel mutant runs (default: all cores)")
    p.add_argument("--survivors", action="store_true",
                   help="rerun only the mutants that survived in reports/mutants.json (after strengthening checks)")
    p.add_argument("--report-only", action="store_true",
                   help="only write reports/mutants.json from the results mutmut has kept (after a stopped run)")
    args = p.parse_args()
    modules = sorted((ROOT / "snippets").glob("*.py"))
    names = {m.stem for m in modules if m.stem != "__init__"}
    unknown = set(args.topics) - names
    if unknown:
        p.error(f"no snippets module named {', '.join(sorted(unknown))}")

    command = [sys.executable, "-m", "mutmut", "run"]
    command += ["--max-children", str(args.max_children)] if args.max_children else []
    path = ROOT / "reports" / "mutants.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"modules": {}}
    if args.survivors:  # a named mutant is rerun even though it has a result
        survivors = [s["mutant"] for name, r in old["modules"].items() if not args.topics or name in args.topics
                     for s in r["survivors"]]
        if not survivors:
            print("no survivors to rerun")
        command += survivors
    else:  # a pattern names every mutant of the module: each is rerun
        command += [f"snippets.{t}.*" for t in args.topics]
    env = {"OMP_NUM_THREADS": "1", **os.environ}
    if not args.report_only and subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
        return 1

    equivalent = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8")) if EQUIVALENT.exists() else {}
    results = dict(old["modules"])
    os.chdir(ROOT)  # mutmut reads its configuration and results relative to the working directory
    for module in modules:
        if module.stem in names and (not args.topics or module.stem in args.topics):
            results[module.stem] = module_results(module, equivalent)
    report = {"tool": f"mutmut {version('mutmut')}", "bar": BAR,
              "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "modules": dict(sorted(results.items()))}
    _report.write_report(path, report)
    for name, r in report["modules"].items():
        flag = "" if r["score"] >= BAR else "  below the bar"
        flag += f"  ({r['not_checked']} not run yet)" if r["not_checked"] else ""
        print(f"{name:<16} {r['score']:6.1%}  generated {r['generated']:4}  killed {r['killed']:4}  "
              f"timeout {r['timeout']:3}  survived {r['survived']:3}  equivalent {r['equivalent']:3}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
