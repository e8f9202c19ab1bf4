"""Bad input to any snippet function raises a clear error that names the offending argument."""
import importlib
import inspect
import pkgutil
import re

import pytest

import snippets

TOPICS = [m.name for m in pkgutil.iter_modules(snippets.__path__) if not m.name.startswith("_")]
CASES = [case for topic in TOPICS
         for case in getattr(importlib.import_module(f"tests.inputs.{topic}"), "CASES", [])]


def case_id(i, case):
    """topic.function-argument-index, in word characters only: mutmut passes ids back to pytest."""
    func, name = case[0], re.sub(r"\W+", "_", case[4]).strip("_")
    return f"{func.__module__.split('.')[-1]}.{func.__name__}-{name}-{i}"


@pytest.mark.parametrize("func, args, kwargs, error, name", CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_bad_input_names_the_argument(func, args, kwargs, error, name):
    with pytest.raises(error, match=rf"(^|\W){name}(\W|$)"):
        func(*args, **kwargs)


@pytest.mark.parametrize("topic", TOPICS)
def test_every_snippet_function_has_a_bad_input_case(topic):
    module = importlib.import_module(f"snippets.{topic}")
    public = {name for name, f in inspect.getmembers(module, inspect.isfunction)
              if f.__module__ == module.__name__ and not name.startswith("_")}
    covered = {c[0].__name__ for c in CASES if c[0].__module__ == module.__name__}
    assert public - covered == set(), f"no bad-input case in tests/inputs/{topic}.py for {sorted(public - covered)}"
