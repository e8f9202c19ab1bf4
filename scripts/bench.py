"""Performance figures, measured the way a user meets them (whole commands, wall clock).

  python scripts/bench.py [--repeat N]

1. `python -m verify --force`: every check rerun on all cores, torch import included, side by side with
   `python -c "import torch"` in the same run (bar: at most 4x its wall time), with user CPU time of both.
2. `python -m verify` again with nothing changed: must rerun no check (bar: under 4 s).
3. The slowest single checks, by kind (exact/statistical < 1 s, demonstrations < 3 s).
4. `mkdocs build` with a fresh report, both languages, figures up to date; and with figures redrawn.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def timed(*args):
    """Wall time, output and user CPU time (the command and all its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    start = time.perf_counter()
    run = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
    return elapsed, run.stdout + run.stderr, resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def median_of(n, *args):
    runs = [timed(*args) for _ in range(n)]
    return statistics.median(t for t, _, _ in runs), runs[-1][1], statistics.median(u for _, _, u in runs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--verify-only", action="store_true", help="skip the site builds")
    args = p.parse_args()
    n = args.repeat
    py = sys.executable

    imports, cold, cold_user, import_user = [], [], [], []
    for _ in range(n):  # interleaved, so both see the same machine
        wall, _, user = timed(py, "-c", "import torch")
        imports.append(wall)
        import_user.append(user)
        wall, _, user = timed(py, "-m", "verify", "--force")
        cold.append(wall)
        cold_user.append(user)
    torch_import, cold = statistics.median(imports), statistics.median(cold)
    cold_user, import_user = statistics.median(cold_user), statistics.median(import_user)
    cached, out, _ = median_of(n, py, "-m", "verify")
    reran = re.search(r"ran (\d+) check runs", out).group(1)
    report = json.loads((ROOT / "reports" / "cpu.json").read_text())
    slowest = {}
    for entry in report["claims"].values():
        for test_id, c in entry["checks"].items():
            total = sum(r["duration_s"] for r in c["results"].values())
            worst = max(r["duration_s"] for r in c["results"].values())
            slowest.setdefault(c["kind"], []).append((worst, total, test_id))
    if not args.verify_only:
        build, _, _ = median_of(n, py, "-m", "mkdocs", "build", "--strict", "-d", "/tmp/kb-bench-site")
        (ROOT / "docs" / "assets" / "figures" / ".stamps.json").unlink(missing_ok=True)  # redraw every figure
        redraw, _, _ = timed(py, "-m", "mkdocs", "build", "--strict", "-d", "/tmp/kb-bench-site")

    claims = len(report["claims"])
    checks = sum(len(e["checks"]) for e in report["claims"].values())
    print(f"claims: {claims}, checks: {checks}, CPU: {report['device_name']}, torch {report['environment']['torch']}")
    print(f"python -c 'import torch':                                      {torch_import:6.2f} s  "
          f"(user {import_user:.2f} s, median of {n})")
    print(f"python -m verify --force (all checks, all cores, torch import): {cold:6.2f} s  "
          f"(user {cold_user:.2f} s, median of {n}) = {cold / torch_import:.1f}x the import "
          f"(bar 4x), user {cold_user / import_user:.1f}x")
    print(f"python -m verify, nothing changed:                             {cached:6.2f} s  (reran {reran} checks)")
    for kind, rows in sorted(slowest.items()):
        rows.sort(reverse=True)
        top = ", ".join(f"{tid.split('::')[1]} {w:.2f} s" for w, _, tid in rows[:3])
        print(f"slowest {kind:<13} (one device/dtype run): {top}")
    if not args.verify_only:
        print(f"mkdocs build --strict, en + zh, figures cached:                {build:6.2f} s  (median of {n})")
        print(f"mkdocs build --strict, en + zh, figures redrawn:               {redraw:6.2f} s")


if __name__ == "__main__":
    main()
