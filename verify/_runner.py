"""`python -m verify`: run the claim checks with pytest underneath, then print the claim x device table.

It plans without importing torch: when every selected check already passed for the code on disk, the
seed and the installed torch, it starts no pytest and no torch at all, so a cached run takes well under
a second. Otherwise it runs `pytest verify` on all cores (pytest-xdist, when installed).
"""
import argparse
import importlib.metadata
import importlib.util
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from verify import _report
from verify.conftest import seed, cpu_name, describe


def cuda_present() -> bool:
    """Whether torch could see a CUDA device; asks torch only where an NVIDIA device node exists."""
    if not Path("/dev/nvidiactl").exists() and not Path("/dev/nvidia0").exists():
        return False
    import torch
    return torch.cuda.is_available()


def plan(checks, prints, devices, *, keyword, seed, force) -> dict:
    """device -> how many (check, dtype) runs of the selected checks cannot be reused."""
    try:  # the installed torch, read without importing it
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:  # a torch without metadata: nothing can be reused
        torch_version = None
    out = {}
    for device in devices:
        old = _report.load_report(_report.report_path(device))
        todo = 0
        for c in checks:
            if device not in c.devices or not _report.selected(c.claim, c.test_id, keyword):
                continue
            ok = set() if force else _report.reusable(old, c, prints[c.module], seed=seed, torch_version=torch_version)
            todo += len(set(c.dtypes) - ok)
        out[device] = todo
    return out


def refresh(device, checks, prints, seed) -> dict:
    """Nothing to run: rewrite the report without entries whose code is gone or changed."""
    path = _report.report_path(device)
    old = _report.load_report(path)
    env = old["environment"]
    report = _report.merge(old, checks, prints, device, {}, seed=seed, environment=env,
                           device_name=old.get("device_name") or cpu_name(),
                           generated=old.get("generated") or datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _report.write_report(path, report)
    return report


def workers(runs: int) -> int:
    """One worker per core, none beyond the work there is; 1 when pytest-xdist is not installed."""
    if importlib.util.find_spec("xdist") is None:
        return 1
    return max(1, min(os.cpu_count() or 1, runs // 8))


def summary_table(reports: dict) -> str:
    """A claim x device table: the dtypes each claim passed on, or FAILED."""
    devices = list(reports)
    claim_ids = sorted({c for r in reports.values() for c in r["claims"]})
    width = max([len(c) for c in claim_ids] + [5])
    lines = [f"{'claim':<{width}}  " + "  ".join(f"{d:<16}" for d in devices)]
    for cid in claim_ids:
        cells = []
        for d in devices:
            entry = reports[d]["claims"].get(cid)
            if entry is None:
                cells.append("-")
                continue
            dtypes = sorted({k.replace("float", "f") for c in entry["checks"].values() for k in c["results"]})
            mark = "ok " if entry["status"] == "passed" else "FAILED "
            cells.append(mark + " ".join(dtypes))
        lines.append(f"{cid:<{width}}  " + "  ".join(f"{c:<16}" for c in cells))
    return "\n".join(lines)


def failures(device: str, report: dict, keyword: str) -> list:
    return [f"FAILED {cid} ({tid}[{device}-{dtype}]): {r['message']}"
            for cid, e in report["claims"].items() for tid, c in e["checks"].items()
            for dtype, r in c["results"].items()
            if r["status"] != "passed" and _report.selected(cid, tid, keyword)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m verify",
                                description="Run every claim check (pytest verify underneath) and write reports/<device>.json.")
    p.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                   help="device to run on (default: every available one)")
    p.add_argument("--seed", type=seed, default=0, help="seed for data and modules (checks pass for any seed)")
    p.add_argument("-k", dest="keyword", default="", help="only checks whose claim ID or test id contains this")
    p.add_argument("--force", action="store_true", help="rerun checks even when their code is unchanged")
    args = p.parse_args(argv)

    checks = _report.static_checks()
    if not any(_report.selected(c.claim, c.test_id, args.keyword) for c in checks):
        p.error(f"-k {args.keyword!r} matches no check")
    if args.device == "cuda" and not cuda_present():
        p.error("--device cuda: torch sees no CUDA device")
    devices = (["cpu"] + (["cuda"] if cuda_present() else [])) if args.device == "all" else [args.device]

    prints = {m: _report.fingerprint(m) for m in _report.topic_modules()}
    todo = plan(checks, prints, devices, keyword=args.keyword, seed=args.seed, force=args.force)
    runs = sum(todo.values())
    if runs:
        import pytest
        # pytest rewrites the asserts of every check module in every worker, about 2 s of CPU each time
        # unless the rewritten modules are kept in __pycache__: keep them even where the environment sets
        # PYTHONDONTWRITEBYTECODE (they are a cache like .pytest_cache, which pytest writes regardless)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        sys.dont_write_bytecode = False
        n = workers(runs)
        # no log capture: checks do not log, and pytest's logging plugin attaches its handlers to each of
        # the ~55 non-propagating loggers torch creates, six times per test (about 0.1 s of a cold run)
        options = ["--device", args.device, "--seed", str(args.seed), "--claims", args.keyword,
                   "-q", "--tb=short", "--rootdir", str(_report.ROOT), "-p", "no:logging"]
        options += [] if args.force else ["--reuse"]
        options += ["-n", str(n), "--dist", "worksteal"] if n > 1 else []
        code = pytest.main([str(_report.ROOT / "verify"), *options])
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            print(f"pytest stopped with exit code {int(code)}: see above", file=sys.stderr)
            return int(code)

    reports, failed = {}, []
    for device in devices:
        if todo[device]:
            reports[device] = _report.load_report(_report.report_path(device))
        else:
            reports[device] = refresh(device, checks, prints, args.seed)
            print(describe(device, reports[device], 0, args.keyword))
        failed += failures(device, reports[device], args.keyword)
    print(summary_table(reports))
    for line in failed:
        print(line)
    n_claims = len({c for r in reports.values() for c in r["claims"]})
    print(f"{n_claims} claims: {'SOME FAILED' if failed else 'all verified'}")
    return 1 if failed else 0
