"""Run the registered checks on each device and dtype, reuse unchanged results, write reports."""
import importlib
import platform
import sys
import time
import traceback
from datetime import datetime, timezone

import numpy as np
import torch

from verify import _report
from verify._registry import CHECKS, Trial

SLOW_S = {"exact": 1.0, "statistical": 1.0, "demonstration": 3.0}


def load_checks(root=_report.ROOT) -> list:
    for module in _report.topic_modules(root):
        importlib.import_module(f"verify.{module.stem}")
    return list(CHECKS)


def available_devices() -> list:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> dict:
    env = {"torch": torch.__version__, "numpy": np.__version__,
           "python": platform.python_version(), "platform": platform.platform()}
    if device == "cuda":
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                   tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return env


def configure(device: str) -> None:
    """Make float32 on CUDA mean IEEE float32 (no TF32), before anything runs or is recorded."""
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def warm_up(device: str) -> None:
    """Pay the one-off costs of the first forward, backward and optimizer steps, so timings are honest."""
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()).to(device)
    net(torch.randn(2, 4, device=device)).sum().backward()
    for opt in (torch.optim.SGD, torch.optim.Adam):  # the first step of each costs one-off imports
        opt(net.parameters(), lr=0.1).step()


def run_one(check, trial) -> dict:
    torch.manual_seed(trial.seed)
    start = time.perf_counter()
    try:
        check.func(trial)
        status, message = "passed", ""
    except Exception as e:  # a failing check is data for the report, not a crash
        status = "failed"
        frame = traceback.extract_tb(e.__traceback__)[-1]
        message = f"{type(e).__name__}: {e} ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})".strip()
    if trial.is_cuda:
        torch.cuda.synchronize()
    return {"status": status, "duration_s": round(time.perf_counter() - start, 4), "message": message[:2000],
            "values": trial.values}


def claim_status(entry: dict) -> str:
    statuses = [r["status"] for c in entry["checks"].values() for r in c["results"].values()]
    return "passed" if statuses and all(s == "passed" for s in statuses) else "failed"


def run(device: str, checks: list, *, seed: int, keyword: str, force: bool, log=print) -> dict:
    """Run `checks` on `device`; returns the new report (also written to reports/<device>.json)."""
    path = _report.report_path(device)
    old = _report.load_report(path) or {"claims": {}, "environment": {}}
    configure(device)
    env = environment(device)  # records the TF32 flags as the checks will see them
    reusable = old["environment"].get("torch") == env["torch"] and not force
    prints = {m: _report.fingerprint(m) for m in _report.topic_modules()}
    warm = False  # warm up only if something will run: a fully cached run stays fast

    claims, stats = {}, {"ran": 0, "reused": 0, "slow": []}
    for chk in checks:
        if device not in chk.devices:
            continue
        fp = prints[chk.path]
        previous = old["claims"].get(chk.claim, {}).get("checks", {}).get(chk.test_id)
        selected = keyword in chk.claim or keyword in chk.test_id
        entry = {"fingerprint": fp, "kind": chk.kind, "seed": seed, "results": {}}
        same_code = previous is not None and previous["fingerprint"] == fp and reusable
        if not selected:
            if same_code:  # keep results of unselected checks while their code is unchanged
                claims.setdefault(chk.claim, {"checks": {}})["checks"][chk.test_id] = previous
            continue
        for dtype in chk.dtypes:
            cached = previous["results"].get(dtype) if same_code and previous["seed"] == seed else None
            if cached is not None and cached["status"] == "passed":
                entry["results"][dtype] = cached
                stats["reused"] += 1
                continue
            if not warm:
                warm_up(device)
                warm = True
            result = run_one(chk, Trial(device, dtype, seed))
            entry["results"][dtype] = result
            stats["ran"] += 1
            if result["duration_s"] > SLOW_S[chk.kind]:
                stats["slow"].append(f"{chk.test_id}[{device}-{dtype}] {result['duration_s']:.2f}s")
            if result["status"] == "failed":
                log(f"FAILED {chk.claim} ({chk.test_id}[{device}-{dtype}]): {result['message']}")
        claims.setdefault(chk.claim, {"checks": {}})["checks"][chk.test_id] = entry
    for entry in claims.values():
        entry["status"] = claim_status(entry)
    report = {"schema": _report.SCHEMA, "device": device, "device_name": device_name(device),
              "environment": env, "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "claims": dict(sorted(claims.items()))}
    _report.write_report(path, report)
    report["_stats"] = stats
    return report


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


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m verify", description="Run every claim check.")
    p.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                   help="device to run on (default: every available one)")
    p.add_argument("--seed", type=int, default=0, help="seed for data and modules (checks pass for any seed)")
    p.add_argument("-k", dest="keyword", default="", help="only checks whose claim ID or test id contains this")
    p.add_argument("--force", action="store_true", help="rerun checks even when their code is unchanged")
    args = p.parse_args(argv)

    devices = available_devices() if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA device")
    checks = load_checks()
    if not any(args.keyword in c.claim or args.keyword in c.test_id for c in checks):
        p.error(f"-k {args.keyword!r} matches no check")
    reports, failed = {}, False
    for device in devices:
        start = time.perf_counter()
        rep = run(device, checks, seed=args.seed, keyword=args.keyword, force=args.force)
        s = rep.pop("_stats")
        failed |= any(e["status"] == "failed" for e in rep["claims"].values())
        reports[device] = rep
        print(f"[{device}] {rep['device_name']}: ran {s['ran']} check runs, reused {s['reused']} "
              f"unchanged, {time.perf_counter() - start:.1f}s -> {_report.report_path(device).relative_to(_report.ROOT)}")
        for slow in s["slow"]:
            print(f"  slow: {slow}")
    print(summary_table(reports))
    n = len({c for r in reports.values() for c in r["claims"]})
    print(f"{n} claims: {'SOME FAILED' if failed else 'all verified'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
