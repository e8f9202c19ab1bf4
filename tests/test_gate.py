"""The claim gate (kb.claims) on a small synthetic project: badges, and every way a build must refuse."""
import textwrap

import markdown
import pytest

from kb import claims
from verify import _report

CHECKS = '''
from verify._registry import check


@check("demo.true-fact", dtypes=("float32", "float64"))
def true_fact(t):
    assert 1 + 1 == 2


@check("demo.cpu-only", devices=("cpu",), kind="statistical")
def cpu_only(t):
    assert True
'''

PAGE = """# Demo

## Is it true? {{ #q1 data-level="easy" }}

???+ success "Interview answer"
    It is [[claim:demo.true-fact]] and so is this [[claim:demo.cpu-only]].
{extra}
"""


def make_project(tmp_path, *, extra="", results=None, fingerprint=None, cuda=None):
    """A project with one check module, one page per language and a CPU (and maybe CUDA) report."""
    (tmp_path / "verify").mkdir()
    for machinery in _report.CORE_FILES:
        (tmp_path / machinery).write_text("# stand-in for the real check machinery\n")
    module = tmp_path / "verify" / "demo.py"
    module.write_text(CHECKS)
    for lang in ("en", "zh"):
        (tmp_path / "docs" / lang).mkdir(parents=True)
        (tmp_path / "docs" / lang / "demo.md").write_text(PAGE.format(extra=extra))
    fp = fingerprint or _report.fingerprint(module, tmp_path)
    ok = {"status": "passed", "duration_s": 0.001, "message": ""}
    results = results or {}

    def report(device):
        entries = {
            "demo.true-fact": {"verify/demo.py::true_fact": {"float32": ok, "float64": ok}},
            "demo.cpu-only": {"verify/demo.py::cpu_only": {"float64": ok}} if device == "cpu" else {},
        }
        claims_ = {}
        for cid, checks in entries.items():
            if checks:
                claims_[cid] = {"status": "passed", "checks": {
                    tid: {"fingerprint": fp, "kind": "exact", "seed": 0,
                          "results": {**res, **results.get((device, cid), {})}}
                    for tid, res in checks.items()}}
        return {"schema": _report.SCHEMA, "device": device, "device_name": f"test {device}",
                "environment": {"torch": "2.13.0"}, "claims": claims_}

    _report.write_report(tmp_path / "reports" / "cpu.json", report("cpu"))
    if cuda is not None:
        rep = report("cuda")
        if cuda == "stale":
            for entry in rep["claims"].values():
                for c in entry["checks"].values():
                    c["fingerprint"] = "0" * 16
        _report.write_report(tmp_path / "reports" / "cuda.json", rep)
    return tmp_path


def render(root, text):
    claims._CACHE.clear()
    md = markdown.Markdown(extensions=["attr_list", claims.makeExtension(root=str(root))])
    return md.convert(text)


def page(root, lang="en"):
    return (root / "docs" / lang / "demo.md").read_text()


def test_verified_claims_get_badges_that_link_to_their_checks(tmp_path):
    root = make_project(tmp_path)
    html = render(root, page(root))
    assert 'href="claims/demo.md#demo.true-fact"' in html  # the topic's claims page
    assert "✓ CPU f32 f64" in html and "CUDA –" in html  # no CUDA report: not run
    assert "verify/demo.py::true_fact" in html           # the check is named in the badge's title
    assert "[[claim:" not in html


def test_a_claim_without_check_stops_the_build_naming_claim_and_page(tmp_path):
    root = make_project(tmp_path, extra="Also [[claim:demo.no-such-check]].")
    with pytest.raises(claims.ClaimError, match=r"demo\.no-such-check.*en/demo\.md.*has no check"):
        render(root, page(root))


def test_a_failing_check_stops_the_build_naming_claim_page_and_check(tmp_path):
    failed = {"status": "failed", "duration_s": 0.01, "message": "AssertionError: 0.3 != 0.25"}
    root = make_project(tmp_path, results={("cpu", "demo.true-fact"): {"float32": failed}})
    with pytest.raises(claims.ClaimError) as err:
        render(root, page(root))
    msg = str(err.value)
    for part in ("demo.true-fact", "en/demo.md", "zh/demo.md", "verify/demo.py::true_fact[cpu-float32]", "0.25"):
        assert part in msg


def test_a_report_from_other_code_is_refused(tmp_path):
    root = make_project(tmp_path, fingerprint="f" * 16)
    with pytest.raises(claims.ClaimError, match="verified against other code than what is on disk"):
        render(root, page(root))


def test_editing_a_check_after_verifying_makes_the_report_stale(tmp_path):
    root = make_project(tmp_path)
    render(root, page(root))
    (root / "verify" / "demo.py").write_text(CHECKS.replace("1 + 1 == 2", "2 + 2 == 4"))
    with pytest.raises(claims.ClaimError, match="other code"):
        render(root, page(root))


def test_a_missing_report_is_refused(tmp_path):
    root = make_project(tmp_path)
    (root / "reports" / "cpu.json").unlink()
    with pytest.raises(claims.ClaimError, match="not verified.*python -m verify"):
        render(root, page(root))


def test_a_check_whose_claim_is_on_no_page_is_an_error(tmp_path):
    root = make_project(tmp_path)
    (root / "docs" / "zh" / "demo.md").write_text(page(root).replace("[[claim:demo.cpu-only]]", ""))
    render(root, "[[claims-index:en]]")  # every claim is on an English page (the overview checks all topics)
    with pytest.raises(claims.ClaimError, match=r"no zh page: verify/demo\.py::cpu_only"):
        render(root, "[[claims-index:zh]]")


def test_a_topics_claims_page_shows_results_and_check_source(tmp_path):
    root = make_project(tmp_path)
    html = render(root, "[[claims-index:en:demo]]")
    assert 'id="demo.true-fact"' in html and 'id="demo.cpu-only"' in html
    assert "assert 1 + 1 == 2" in html                 # the check's source, read from disk
    assert "../demo.md#q1" in html                     # where the claim is stated


def test_the_claims_overview_links_each_topic_with_its_counts(tmp_path):
    root = make_project(tmp_path)
    html = render(root, "[[claims-index:en]]")
    assert 'href="claims/demo.md"' in html and "3 / 3" in html  # three check runs, all passed
    assert "assert 1 + 1 == 2" not in html                      # sources live on the topic pages


def test_a_claims_page_is_written_for_every_topic_and_removed_with_it(tmp_path):
    root = make_project(tmp_path)
    stale = root / "docs" / "en" / "claims" / "gone.md"
    stale.parent.mkdir(parents=True)
    stale.write_text("[[claims-index:en:gone]]\n")
    claims._CACHE.clear()
    claims.write_topic_pages(root, root / "docs")
    for lang in ("en", "zh"):
        assert (root / "docs" / lang / "claims" / "demo.md").read_text() == f"[[claims-index:{lang}:demo]]\n"
    assert not stale.exists()


def test_stale_cuda_results_are_badged_stale_not_counted(tmp_path):
    root = make_project(tmp_path, cuda="stale")
    html = render(root, page(root))
    assert "CUDA stale" in html and "claim-stale" in html


def test_current_cuda_results_show_on_the_badge(tmp_path):
    root = make_project(tmp_path, cuda="current")
    assert "CUDA f32 f64" in render(root, page(root))


def test_a_current_cuda_failure_stops_the_build(tmp_path):
    failed = {"status": "failed", "duration_s": 0.01, "message": "TF32 mismatch"}
    root = make_project(tmp_path, cuda="current", results={("cuda", "demo.true-fact"): {"float32": failed}})
    with pytest.raises(claims.ClaimError, match=r"on CUDA.*TF32 mismatch"):
        render(root, page(root))


def test_a_misconception_box_must_name_the_claim_that_settles_it(tmp_path):
    box = textwrap.indent('!!! danger "Common misconception: “it is false”"\n    Because of reasons.\n', "    ")
    root = make_project(tmp_path, extra=box)
    with pytest.raises(claims.ClaimError, match="misconception box .* has no \\[\\[claim"):
        render(root, "[[misconceptions-index:en]]")


def test_misconceptions_index_links_each_box_to_its_claim(tmp_path):
    box = textwrap.indent('!!! danger "Common misconception: “it is false”"\n    No [[claim:demo.true-fact]].\n', "    ")
    root = make_project(tmp_path, extra=box)
    html = render(root, "[[misconceptions-index:en]]")
    assert "Common misconception: “it is false”" in html and 'href="claims/demo.md#demo.true-fact"' in html



def with_value(value=0.123456, status="passed"):
    result = {"status": status, "duration_s": 0.001, "message": "" if status == "passed" else "AssertionError: 3 != 2",
              "values": {"gap": value}}
    return {("cpu", "demo.true-fact"): {"float64": result}}


def test_a_recorded_value_is_rendered_in_the_requested_format(tmp_path):
    root = make_project(tmp_path, extra="The gap is [[value:demo.true-fact.gap:.2f]], or [[value:demo.true-fact.gap]].",
                        results=with_value())
    html = render(root, page(root))
    assert "The gap is 0.12, or 0.123." in html and "[[value:" not in html


def test_a_missing_value_stops_the_build_naming_the_page(tmp_path):
    root = make_project(tmp_path, extra="The gap is [[value:demo.true-fact.width]].", results=with_value())
    with pytest.raises(claims.ClaimError, match=r"demo\.true-fact\.width.*en/demo\.md.*recorded: gap"):
        render(root, page(root))


def test_a_value_from_a_failed_check_stops_the_build(tmp_path):
    root = make_project(tmp_path, extra="The gap is [[value:demo.true-fact.gap]].", results=with_value(status="failed"))
    with pytest.raises(claims.ClaimError, match=r"demo\.true-fact.*en/demo\.md.*FAILS its check.*3 != 2"):
        render(root, "The gap is [[value:demo.true-fact.gap]].")


def test_a_stale_cuda_failure_is_shown_with_its_message_on_the_claims_page(tmp_path):
    failed = {"status": "failed", "duration_s": 0.01, "message": "AssertionError: assert 0.3 == 0.25"}
    root = make_project(tmp_path, cuda="stale", results={("cuda", "demo.true-fact"): {"float32": failed}})
    html = render(root, "[[claims-index:en:demo]]")
    assert "Last failure on CUDA" in html and "assert 0.3 == 0.25" in html


def write_mutants(root, fingerprint):
    _report.write_report(root / "reports" / "mutants.json", {"tool": "mutmut 3.8.1", "modules": {"demo": {
        "generated": 40, "not_checked": 0, "killed": 36, "timeout": 2, "survived": 1, "equivalent": 1, "score": 0.9744,
        "fingerprint": fingerprint, "survivors": [], "equivalents": []}}})


def test_the_claims_page_shows_each_topics_mutation_score_and_when_it_is_stale(tmp_path):
    root = make_project(tmp_path)
    (root / "snippets").mkdir()
    snippet = root / "snippets" / "demo.py"
    snippet.write_text("def f(x):\n    return x\n")
    write_mutants(root, _report.snippet_fingerprint(snippet))
    html = render(root, "[[claims-index:en:demo]]")
    assert "<strong>97%</strong>: 38 of 39 non-equivalent mutants killed" in html and "stale" not in html
    assert "97%" in render(root, "[[claims-index:en]]")
    snippet.write_text("def f(x):\n    return -x\n")
    assert "stale: the snippet changed after this measurement" in render(root, "[[claims-index:en:demo]]")
    assert "97% (stale)" in render(root, "[[claims-index:en]]")


def test_a_value_measured_with_another_seed_is_refused(tmp_path):
    root = make_project(tmp_path, extra="The gap is [[value:demo.true-fact.gap]].", results=with_value())
    report = _report.load_report(root / "reports" / "cpu.json")
    report["claims"]["demo.true-fact"]["checks"]["verify/demo.py::true_fact"]["seed"] = 7
    _report.write_report(root / "reports" / "cpu.json", report)
    with pytest.raises(claims.ClaimError, match=r"demo\.true-fact\.gap.*--seed 7.*seed 0"):
        render(root, page(root))
