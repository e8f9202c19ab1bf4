"""Report files, code fingerprints and a static list of the checks.

This module imports neither torch nor the check modules, so the site build can
use it cheaply: it reads the checks' claim IDs and line numbers with `ast`, and
fingerprints each check module together with the snippet modules it imports.
"""
import ast
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_DIR = ROOT / "reports"
SCHEMA = 1
# Files every check depends on besides its own module and its snippets.
CORE_FILES = ("verify/_registry.py", "verify/conftest.py")
SLOW_S = {"exact": 1.0, "statistical": 1.0, "demonstration": 3.0}


def report_path(device: str, root: Path = ROOT) -> Path:
    return root / "reports" / f"{device.split(':')[0]}.json"


def load_report(path: Path):
    """The report at `path`, or None if there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: report schema {data.get('schema')} != {SCHEMA}; rerun python -m verify")
    return data


def write_report(path: Path, data: dict) -> None:
    """Write atomically: a build reading the report never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def topic_modules(root: Path = ROOT) -> list:
    """verify/<topic>.py files: every module whose name does not start with '_'."""
    return sorted(p for p in (root / "verify").glob("*.py") if not p.name.startswith("_"))


def _literal_kw(call: ast.Call, name: str, default):
    for kw in call.keywords:
        if kw.arg == name:
            return ast.literal_eval(kw.value)
    return default


def _outline_of(source: str) -> dict:
    """The dotted names a file imports (nested imports too) and its `@check` functions."""
    tree = ast.parse(source)
    imports, checks = [], []
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            imports += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for dec in fn.decorator_list:
            if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "check":
                checks.append({"claim": ast.literal_eval(dec.args[0]), "name": fn.name,
                               "lines": [min([fn.lineno] + [d.lineno for d in fn.decorator_list]), fn.end_lineno],
                               "devices": list(_literal_kw(dec, "devices", ("cpu", "cuda"))),
                               "dtypes": list(_literal_kw(dec, "dtypes", ("float64",))),
                               "kind": _literal_kw(dec, "kind", "exact")})
    return {"imports": imports, "checks": checks}


# What the machinery reads of each source file is kept between processes, in the project's
# .pytest_cache: parsing every check and snippet module is most of what a cached `python -m verify`
# costs. Keyed by content, so an edit is always seen.
@functools.lru_cache(maxsize=None)
def _stored_outlines(cache: Path) -> dict:
    """"<folder>/<file>.py" -> {"sha256", "outline"}, as the last process left them."""
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _outline(path: Path) -> dict:
    """The outline of a verify/ or snippets/ file, parsed only when its content is new."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    cache = path.parent.parent / ".pytest_cache" / "verify-outlines.json"
    stored, key = _stored_outlines(cache), f"{path.parent.name}/{path.name}"
    if stored.get(key, {}).get("sha256") != digest:
        stored[key] = {"sha256": digest, "outline": _outline_of(data.decode("utf-8"))}
        try:
            write_report(cache, stored)
        except OSError:  # a read-only checkout still works, only slower
            pass
    return stored[key]["outline"]


def _statements(body):
    """Every statement, nested ones included (an import can sit in a function); no expressions."""
    for node in body:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers"):
            yield from _statements(getattr(node, block, ()))


def snippet_imports(path: Path, root: Path) -> set:
    """Snippet files that `path` imports, directly or through other snippet files."""
    found, todo = set(), [path]
    while todo:
        current = todo.pop()
        for name in _outline(current)["imports"]:
            if name.split(".")[0] != "snippets":
                continue
            dep = root.joinpath(*name.split(".")).with_suffix(".py")
            if dep.exists() and dep not in found:
                found.add(dep)
                todo.append(dep)
    init = root / "snippets" / "__init__.py"
    return found | ({init} if init.exists() else set())


def module_dependencies(module: Path, root: Path = ROOT) -> list:
    """All files whose content a check in `module` depends on, relative to `root`."""
    deps = {module} | snippet_imports(module, root) | {root / f for f in CORE_FILES}
    return sorted(str(p.relative_to(root)) for p in deps)


def fingerprint(module: Path, root: Path = ROOT) -> str:
    """SHA-256 over the module, its snippets and the check machinery, by path and content."""
    h = hashlib.sha256()
    for rel in module_dependencies(module, root):
        h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def snippet_fingerprint(path: Path) -> str:
    """SHA-256 of one snippet file: what a mutation score in reports/mutants.json was measured on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class StaticCheck:
    claim: str
    test_id: str
    module: Path
    lines: tuple
    devices: tuple
    dtypes: tuple
    kind: str


def static_checks(root: Path = ROOT) -> list:
    """Every `@check("claim", ...)`-decorated function, found without importing anything."""
    return [StaticCheck(claim=c["claim"], test_id=f"verify/{module.name}::{c['name']}", module=module,
                        lines=tuple(c["lines"]), devices=tuple(c["devices"]), dtypes=tuple(c["dtypes"]),
                        kind=c["kind"])
            for module in topic_modules(root) for c in _outline(module)["checks"]]


def selected(claim: str, test_id: str, keyword: str) -> bool:
    """`python -m verify -k TEXT`: the claim ID or the test id contains TEXT."""
    return keyword in claim or keyword in test_id


def _previous(old, check: StaticCheck, fingerprint_now: str, torch_version: str):
    """The check's entry in the old report, if it ran against the code on disk under this torch."""
    if not old or old["environment"].get("torch") != torch_version:
        return None
    prev = old["claims"].get(check.claim, {}).get("checks", {}).get(check.test_id)
    return prev if prev and prev["fingerprint"] == fingerprint_now else None


def reusable(old, check: StaticCheck, fingerprint_now: str, *, seed: int, torch_version: str) -> set:
    """The dtypes whose passing result in `old` stands for a rerun: same code, seed and torch."""
    prev = _previous(old, check, fingerprint_now, torch_version)
    if prev is None or prev["seed"] != seed:
        return set()
    return {d for d, r in prev["results"].items() if r["status"] == "passed" and d in check.dtypes}


def claim_status(entry: dict) -> str:
    statuses = [r["status"] for c in entry["checks"].values() for r in c["results"].values()]
    return "passed" if statuses and all(s == "passed" for s in statuses) else "failed"


def merge(old, checks: list, prints: dict, device: str, fresh: dict, *, seed: int, environment: dict,
          device_name: str, generated: str) -> dict:
    """The report for `device`: this run's results (`fresh`, keyed by (test_id, dtype)) over the old ones
    that still hold for the code on disk. A check that did not run keeps its old entry; one whose code
    changed and did not run drops out, so the gate says it is not verified."""
    claims = {}
    for c in checks:
        if device not in c.devices:
            continue
        prev = _previous(old, c, prints[c.module], environment["torch"])
        ran = {d: fresh[(c.test_id, d)] for d in c.dtypes if (c.test_id, d) in fresh}
        if not ran:
            entry = prev
        else:
            kept = prev["results"] if prev and prev["seed"] == seed else {}
            entry = {"fingerprint": prints[c.module], "kind": c.kind, "seed": seed,
                     "results": {d: ran.get(d) or kept[d] for d in c.dtypes if d in ran or d in kept}}
        if entry:
            claims.setdefault(c.claim, {"checks": {}})["checks"][c.test_id] = entry
    for entry in claims.values():
        entry["status"] = claim_status(entry)
    return {"schema": SCHEMA, "device": device, "device_name": device_name, "environment": environment,
            "generated": generated, "claims": dict(sorted(claims.items()))}
