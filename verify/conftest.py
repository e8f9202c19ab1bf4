"""pytest plugin for the claim checks: `pytest verify` and `python -m verify` both run through it.

- Every `@check` function is collected once per (device, dtype) it declares, as `name[cpu-float64]`;
  the claim ID is a keyword, so `-k` matches it as well as the test id.
- The fixture `t` is the `Trial` of that item; a check records measured numbers with `t.record`.
- At the end the controlling process (xdist's, or the only one) merges the results into
  reports/<device>.json. It never imports torch: the workers send the environment they ran in.
- One torch thread per process: two processes with default threads on two cores slow each other
  down more than tenfold, and it keeps float reductions the same for `-n 2` and a serial run. The
  last-bit differences left (LAPACK's float64 results depend on memory alignment) lie below the 10
  significant digits a recorded value keeps.
"""
import argparse
import atexit
import gc
import json
import os
import platform
import sys
from datetime import datetime, timezone

import pytest

from verify import _report

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported by any check module


def seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def pytest_addoption(parser):
    group = parser.getgroup("verify", "claim checks (verify/)")
    group.addoption("--device", choices=["all", "cpu", "cuda"], default="all",
                    help="device to run the checks on (default: every one torch sees)")
    group.addoption("--seed", type=seed, default=0, help="seed for data and modules (checks pass for any seed)")
    group.addoption("--claims", default="", metavar="TEXT",
                    help="only checks whose claim ID or test id contains TEXT (python -m verify's -k)")
    group.addoption("--reuse", action="store_true",
                    help="skip runs whose passing result for the same code, seed and torch is in the report")


def _torch():
    import torch  # lazily: the controlling process must not pay for it
    torch.set_num_threads(1)
    return torch


def devices(config) -> list:
    wanted = config.getoption("device")
    if wanted != "all":
        return [wanted]
    return ["cpu"] + (["cuda"] if _torch().cuda.is_available() else [])


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    _freeze_heap()
    if config.getoption("device") == "cuda" and not _torch().cuda.is_available():
        raise pytest.UsageError("--device cuda: torch sees no CUDA device")
    if not _is_worker(config):
        config.pluginmanager.register(ReportWriter(config), "verify-report")
    else:
        atexit.register(_exit_without_teardown)


def _exit_without_teardown() -> None:
    """A worker's last act (registered last, so atexit runs it first): its results are with the controller by
    then, and tearing down torch's modules and objects only delays the controller, which waits for the worker
    processes to end (0.1-0.15 s of every run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight. Its full passes would otherwise
    rescan the whole of torch, pytest and the check modules again and again, and once more at exit:
    frozen after start-up, collection and the last check, a cold run is about a second shorter."""
    gc.freeze()


def pytest_collection_finish(session):
    _freeze_heap()
    # and no cyclic collection while the checks run: their tensors and modules are freed by reference counting
    # (a full run leaves under 100 objects for the collector, and the peak memory is the same with it off), while
    # its passes, triggered by the sheer number of allocations, cost about 0.2 s of a cold run
    gc.disable()


def pytest_generate_tests(metafunc):
    chk = getattr(metafunc.function, "__check__", None)
    if chk is None:
        return
    params = [pytest.param((d, dt), id=f"{d}-{dt}")
              for d in devices(metafunc.config) if d in chk.devices for dt in chk.dtypes]
    metafunc.parametrize("t", params, indirect=True)


def _param(item):
    spec = getattr(item, "callspec", None)
    param = spec.params.get("t") if spec else None
    return param if isinstance(param, tuple) else None


def pytest_collection_modifyitems(session, config, items):
    """Drop items for no device here, those outside --claims, and, with --reuse, those already verified."""
    keyword, reuse, seed = config.getoption("claims"), config.getoption("reuse"), config.getoption("seed")
    old, prints, torch_version = {}, {}, None
    keep, drop = [], []
    for item in items:
        chk = getattr(getattr(item, "function", None), "__check__", None)
        if chk is None:
            keep.append(item)
            continue
        param = _param(item)
        item.extra_keyword_matches.add(chk.claim)
        if param is None or not _report.selected(chk.claim, chk.test_id, keyword):
            drop.append(item)
            continue
        if reuse:
            device, dtype = param
            static = _static(chk)
            if device not in old:
                old[device] = _report.load_report(_report.report_path(device))
                torch_version = torch_version or _torch().__version__
            if static.module not in prints:
                prints[static.module] = _report.fingerprint(static.module)
            if dtype in _report.reusable(old[device], static, prints[static.module],
                                         seed=seed, torch_version=torch_version):
                drop.append(item)
                continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _static(chk):
    """The ast view of a registered check (the controller knows checks only that way)."""
    return _report.StaticCheck(chk.claim, chk.test_id, chk.path, (), chk.devices, chk.dtypes, chk.kind)


_READY: set = set()


def _prepare(device: str) -> None:
    """Once per process and device: float32 on CUDA means IEEE float32 (no TF32), and the one-off
    costs of the first forward, backward and optimizer steps are paid outside any check's timing."""
    if device in _READY:
        return
    torch = _torch()
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()).to(device)
    net(torch.randn(2, 4, device=device)).sum().backward()
    for opt in (torch.optim.SGD, torch.optim.Adam):
        opt(net.parameters(), lr=0.1).step()
    _READY.add(device)


@pytest.fixture
def t(request):
    """The Trial of this item: its device, dtype and the session's seed."""
    from verify._registry import Trial, seed_global
    device, dtype = request.param
    _prepare(device)
    seed = request.config.getoption("seed")
    seed_global(device, seed)
    return Trial(device, dtype, seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    finally:
        param = _param(item)
        if param and param[0] == "cuda":
            _torch().cuda.synchronize()  # the kernels a check queued belong to its duration


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what the report needs (claim, test id, device, dtype, values, failure message) to the
    test report, which xdist carries from the worker to the controller."""
    rep = yield
    chk = getattr(getattr(item, "function", None), "__check__", None)
    param = _param(item)
    if chk is None or param is None:
        return rep
    info = {"claim": chk.claim, "test_id": chk.test_id, "device": param[0], "dtype": param[1]}
    trial = item.funcargs.get("t")
    if rep.when == "call" and trial is not None:
        info["values"] = dict(trial.values)
    if rep.failed and call.excinfo is not None:
        info["message"] = failure_message(call.excinfo)
    rep.user_properties.append(("verify", info))
    return rep


def failure_message(excinfo) -> str:
    """The exception with pytest's assertion introspection, and the line of the check that raised it."""
    where = [e for e in excinfo.traceback if "/verify/" in str(e.path) and not str(e.path).endswith("conftest.py")]
    entry = (where or list(excinfo.traceback))[-1]
    return f"{excinfo.exconly().strip()} ({os.path.basename(str(entry.path))}:{entry.lineno + 1})"[:4000]


def environment(device: str) -> dict:
    """What a report records of the machine that ran it."""
    torch = _torch()
    import numpy as np
    env = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
           "platform": platform.platform(), "device_name": _device_name(device)}
    if device == "cuda":
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32, tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return env


def _device_name(device: str) -> str:
    if device == "cuda":
        return _torch().cuda.get_device_name(0)
    return cpu_name()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pytest_sessionfinish(session):
    """A worker hands the controller the environment of each device it ran on."""
    gc.enable()
    _freeze_heap()
    config = session.config
    if _is_worker(config) and _READY:
        config.workeroutput["verify_environment"] = json.dumps({d: environment(d) for d in sorted(_READY)})


class ReportWriter:
    """In the controlling process: gather the results and write one report per device."""

    def __init__(self, config):
        self.config = config
        self.results = {}       # (device, test_id, dtype) -> result
        self.environments = {}  # device -> environment, from the workers (or this process)
        self.written = []

    def pytest_runtest_logreport(self, report):
        info = dict(report.user_properties).get("verify")
        if info is None:
            return
        key = (info["device"], info["test_id"], info["dtype"])
        result = self.results.setdefault(key, {"status": "passed", "duration_s": 0.0, "message": "",
                                                "values": {}, "claim": info["claim"]})
        if report.failed:
            result["status"] = "failed"
            result["message"] = result["message"] or info.get("message", report.longreprtext[-2000:])
        if report.when == "call":
            result["duration_s"] = round(report.duration, 4)
            result["values"] = info.get("values", {})

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        envs = getattr(node, "workeroutput", {}).get("verify_environment")
        if envs:
            self.environments.update(json.loads(envs))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.config.option.collectonly or not self.results:
            return
        if not self.environments:  # serial run: this process ran the checks
            self.environments = {d: environment(d) for d in sorted(_READY)}
        checks = _report.static_checks()
        prints = {m: _report.fingerprint(m) for m in _report.topic_modules()}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        seed = self.config.getoption("seed")
        for device, env in sorted(self.environments.items()):
            env = dict(env)
            name = env.pop("device_name")
            fresh = {(tid, dt): r for (d, tid, dt), r in self.results.items() if d == device}
            stored = {key: {k: v for k, v in r.items() if k != "claim"} for key, r in fresh.items()}
            path = _report.report_path(device)
            report = _report.merge(_report.load_report(path), checks, prints, device, stored, seed=seed,
                                   environment=env, device_name=name, generated=now)
            _report.write_report(path, report)
            self.written.append((device, report, fresh))

    def pytest_terminal_summary(self, terminalreporter):
        for device, report, fresh in self.written:
            terminalreporter.write_line(describe(device, report, len(fresh), self.config.getoption("claims")))
            for (tid, dtype), r in sorted(fresh.items()):
                kind = report["claims"][r["claim"]]["checks"][tid]["kind"]
                if r["duration_s"] > _report.SLOW_S[kind]:
                    terminalreporter.write_line(f"  slow: {tid}[{device}-{dtype}] {r['duration_s']:.2f}s")


def describe(device: str, report: dict, ran: int, keyword: str) -> str:
    """One line per device: what ran, what was reused, where the report went."""
    runs = sum(len(c["results"]) for cid, e in report["claims"].items() for tid, c in e["checks"].items()
               if _report.selected(cid, tid, keyword))
    return (f"[{device}] {report['device_name']}: ran {ran} check runs, reused {runs - ran} unchanged "
            f"-> {_report.report_path(device).relative_to(_report.ROOT)}")
