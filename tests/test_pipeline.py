"""End to end on a copy of the project: break a snippet, and both verify and the build name the claim."""
import json
import re

import pytest

from tests.conftest import mkdocs, python
from verify import _report

pytestmark = pytest.mark.slow
CLAIM = "activations.sigmoid-derivative-quarter"
CHECK = "verify/activations.py::sigmoid_derivative_quarter"


def break_sigmoid_derivative(root):
    path = root / "snippets" / "activations.py"
    text = path.read_text()
    assert "return s * (1 - s)" in text
    path.write_text(text.replace("return s * (1 - s)", "return s * (1 + s) / 2"))


def test_a_broken_snippet_fails_verify_and_the_build_naming_the_claim(project, tmp_path):
    break_sigmoid_derivative(project)
    verify = python(project, "-m", "verify", "-k", "activations")
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert f"FAILED {CLAIM} ({CHECK}[cpu-float" in verify.stdout
    build = mkdocs(project, "build", "-d", str(tmp_path / "site"))
    assert build.returncode != 0
    log = build.stdout + build.stderr
    assert CLAIM in log and "en/activations.md" in log and CHECK in log and "FAILS its check" in log


def drop_max_subtraction(root):
    """The issue's example: softmax without the max subtraction overflows on large logits."""
    path = root / "snippets" / "softmax.py"
    text, n = re.subn(r"z - z\.max\(dim=-1, keepdim=True\)\.values", "z", path.read_text(), count=1)
    assert n == 1
    path.write_text(text)


OVERFLOW = "softmax.naive-overflows"
OVERFLOW_TEST = "verify/softmax.py::naive_overflows"


def test_python_m_verify_prints_claim_test_id_and_the_compared_values(project):
    drop_max_subtraction(project)
    run = python(project, "-m", "verify", "-k", "softmax")
    assert run.returncode == 1, run.stdout + run.stderr
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith(f"FAILED {OVERFLOW} ({OVERFLOW_TEST}[cpu-float64])"))
    assert "nan" in line or "nan" in run.stdout.split(line, 1)[1][:2000]  # the compared tensors, with their NaN
    assert "where" in run.stdout                                  # pytest's assertion introspection
    report = json.loads((project / "reports" / "cpu.json").read_text())
    stored = report["claims"][OVERFLOW]["checks"][OVERFLOW_TEST]["results"]["float64"]
    assert stored["status"] == "failed" and "nan" in stored["message"] and "softmax.py:" in stored["message"]


def test_pytest_verify_fails_on_the_same_bug_naming_the_test_id(project):
    drop_max_subtraction(project)
    run = python(project, "-m", "pytest", "verify", "-k", "softmax", "-p", "no:cacheprovider")
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"FAILED {OVERFLOW_TEST}[cpu-float64]" in run.stdout and "nan" in run.stdout


def _without_timing(report):
    for entry in report["claims"].values():
        for c in entry["checks"].values():
            for r in c["results"].values():
                r.pop("duration_s")
    report.pop("generated")
    return report


def test_parallel_and_serial_runs_write_the_same_report(project):
    """Same results, messages and recorded values whichever worker ran a check (durations aside)."""
    reports = []
    for workers in (["-n", "2"], ["-p", "no:xdist"]):
        (project / "reports" / "cpu.json").unlink(missing_ok=True)
        run = python(project, "-m", "pytest", "verify", "-q", "-p", "no:cacheprovider",
                     "-k", "softmax or convergence or initialization", *workers)
        assert run.returncode == 0, run.stdout + run.stderr
        reports.append(_without_timing(json.loads((project / "reports" / "cpu.json").read_text())))
    assert reports[0] == reports[1]
    assert any(r.get("values") for e in reports[0]["claims"].values() for c in e["checks"].values()
               for r in c["results"].values())


def test_a_snippet_edited_after_verification_makes_the_build_refuse(project, tmp_path):
    path = project / "snippets" / "softmax.py"
    path.write_text(path.read_text() + "\n# an edit after the last verify run\n")
    build = mkdocs(project, "build", "-d", str(tmp_path / "site"))
    assert build.returncode != 0
    assert "verified against other code than what is on disk" in build.stdout + build.stderr


def test_the_report_records_what_ran_and_unchanged_checks_do_not_rerun(project):
    first = python(project, "-m", "verify", "-k", "softmax")
    assert first.returncode == 0, first.stdout + first.stderr
    second = python(project, "-m", "verify", "-k", "softmax")
    assert "ran 0 check runs" in second.stdout

    report = json.loads((project / "reports" / "cpu.json").read_text())
    assert report["device"] == "cpu" and report["device_name"]
    assert report["environment"]["torch"].startswith("2.13.0")
    claim = report["claims"]["softmax.probabilities"]
    assert claim["status"] == "passed"
    check = claim["checks"]["verify/softmax.py::probabilities"]
    assert check["fingerprint"] == _report.fingerprint(project / "verify" / "softmax.py", project)
    assert set(check["results"]) == {"float32", "float64"}
    for result in check["results"].values():
        assert result["status"] == "passed" and result["duration_s"] >= 0


def test_a_different_seed_reruns_and_still_passes(project):
    run = python(project, "-m", "verify", "-k", "initialization", "--seed", "7")
    assert run.returncode == 0, run.stdout
    assert "ran 0 check runs" not in run.stdout


@pytest.mark.parametrize("args, message", [
    (["-k", "no-such-claim"], "matches no check"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
    (["--seed", "-3"], "must be >= 0, got -3"),
    (["--seed", "two"], "invalid seed value"),
])
def test_bad_command_line_input_exits_with_status_2_and_a_message(project, args, message):
    run = python(project, "-m", "verify", *args)
    assert run.returncode == 2 and message in run.stderr, run.stderr
