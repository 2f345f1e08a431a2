"""brined.cloud's shortcut for functions agrees with the general by-reference check.

`function_by_reference` decides the common cases (module-level functions of an
imported module, nested functions) without `should_pickle_by_reference`'s
search; the oracle is that search, on functions of every kind it tells apart.
"""

from __future__ import annotations

import json
import os.path
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import brined.cloud as cloud
from brined.cloud._lookup import function_by_reference, should_pickle_by_reference


def _nested() -> Callable[[], int]:
    def inner() -> int:
        return 1

    return inner


def _module(name: str, source: str, *, register: bool = True) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(textwrap.dedent(source), module.__dict__)
    if register:
        sys.modules[name] = module
    return module


@pytest.fixture
def made_modules() -> Iterator[dict[str, types.ModuleType]]:
    source = """
        def f():
            return 1

        def g():
            return 2

        class K:
            def m(self):
                return 3
    """
    made = {
        "imported": _module("brined_shortcut_imported", source),
        "by_value": _module("brined_shortcut_by_value", source),
        "unimported": _module("brined_shortcut_unimported", source, register=False),
    }
    cloud.register_pickle_by_value(made["by_value"])
    try:
        yield made
    finally:
        cloud.unregister_pickle_by_value(made["by_value"])
        for module in made.values():
            sys.modules.pop(module.__name__, None)


def _functions(made: dict[str, types.ModuleType]) -> dict[str, Any]:
    imported = made["imported"]
    renamed = _module("brined_shortcut_imported", "def h():\n    return 4\n").h
    sys.modules["brined_shortcut_imported"] = imported  # back to the original
    odd_module = imported.g
    odd_module.__module__ = None  # searched for in sys.modules
    main_named = _module("brined_shortcut_main", "def f():\n    return 5\n").f
    main_named.__module__ = "__main__"
    shadowed = imported.K.m
    return {
        "stdlib function": json.dumps,
        "stdlib function in a submodule": os.path.join,
        "module-level function": imported.f,
        "method (dotted qualname)": shadowed,
        "nested function": _nested(),
        "lambda": lambda: 0,
        "module registered by value": made["by_value"].f,
        "module not in sys.modules": made["unimported"].f,
        "name bound to another object": renamed,
        "__module__ None": odd_module,
        "__module__ __main__": main_named,
    }


def test_shortcut_agrees_with_the_general_check(
    made_modules: dict[str, types.ModuleType],
) -> None:
    functions = _functions(made_modules)
    verdicts = {
        name: (function_by_reference(f), should_pickle_by_reference(f))
        for name, f in functions.items()
    }
    assert {name: fast for name, (fast, _) in verdicts.items()} == {
        name: slow for name, (_, slow) in verdicts.items()
    }
    # Both kinds of verdict occur: the comparison is not vacuous.
    assert {fast for fast, _ in verdicts.values()} == {True, False}
