"""Bad-input cases, one module per snippets module: CASES = [(function, args, kwargs, error, argument name)].

tests/test_snippet_inputs.py runs every case and checks that every public snippet
function has at least one.
"""
