"""End to end on a copy of the project: break a snippet, and both verify and the build name the claim."""
import json

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


def test_unknown_selection_is_an_error(project):
    run = python(project, "-m", "verify", "-k", "no-such-claim")
    assert run.returncode == 2 and "matches no check" in run.stderr
