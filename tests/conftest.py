"""Shared fixtures: a throw-away copy of the project, so tests can break things safely."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPIED = ["snippets", "verify", "kb", "docs", "overrides", "reports", "mkdocs.yml", "pyproject.toml"]


@pytest.fixture
def project(tmp_path):
    """A copy of the project (sharing node_modules) in which commands run against the copy's code."""
    dst = tmp_path / "project"
    dst.mkdir()
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dst / name)
    (dst / "node_modules").symlink_to(ROOT / "node_modules")
    return dst


def run_in(root, *args, timeout=300):
    """Run a command in `root` with the copy's packages first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)


def python(root, *args, **kw):
    return run_in(root, sys.executable, *args, **kw)


def mkdocs(root, *args, **kw):
    return run_in(root, sys.executable, "-m", "mkdocs", *args, **kw)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The real site, built once per test session with --strict."""
    out = tmp_path_factory.mktemp("site")
    build = mkdocs(ROOT, "build", "--strict", "-d", str(out))
    assert build.returncode == 0, build.stdout + build.stderr
    return out
