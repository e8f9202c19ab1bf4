"""scripts/mutants.py: where a survivor stands, and which survivors a mark in equivalent_mutants.toml covers."""
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import mutants  # noqa: E402

DIFF = """--- snippets/demo.py
+++ snippets/demo.py
@@ -1,3 +1,3 @@
 def f(z):
-    return z - z.max()
+    return z + z.max()
"""


def test_a_survivor_is_located_by_the_line_it_changed():
    removed, added = mutants.changed_lines(DIFF)
    assert removed == ["return z - z.max()"] and added == ["return z + z.max()"]
    source = "def g(z):\n    return z - z.max()\n\ndef f(z):\n    return z - z.max()\n"
    assert mutants.line_number(source, removed, "f") == 5 and mutants.line_number(source, removed, "g") == 2


def test_every_equivalent_mark_names_its_mutation_and_a_reason():
    path = ROOT / "verify" / "equivalent_mutants.toml"
    marks = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for name, mark in marks.items():
        assert name.startswith("snippets."), name
        assert mark.get("mutation", "").strip() and len(mark.get("reason", "")) > 15, name
