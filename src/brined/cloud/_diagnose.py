"""Say where an unpicklable object sits inside a function or class.

Runs only after a dump has failed: it walks from the object given to `dump`
through closure cells, globals, defaults, class attributes and instance state,
re-trying each part alone, and follows the first part that still fails.  The
path found is added to the exception as a note, e.g.::

    while pickling step.__closure__[0] -> client._lock (a _thread.lock)

Notes compose with any the engine adds (they are only appended).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any, Final

from ._reduce import class_state, code_globals

__all__ = ["add_path_note", "find_path"]

_MAX_DEPTH: Final = 40
_MAX_CHILDREN: Final = 1000


def add_path_note(error: BaseException, obj: Any, fails: Callable[[Any], bool]) -> None:
    """Add ``while pickling <path>`` to `error` when the path has a step."""
    try:
        path = find_path(obj, fails)
    except Exception:  # noqa: BLE001 - the diagnosis must never hide the error
        return
    if path is not None:
        error.add_note(f"while pickling {path}")


def find_path(obj: Any, fails: Callable[[Any], bool]) -> str | None:
    """The path to the innermost part of `obj` that `fails` alone, or None."""
    path = _root_name(obj)
    current = obj
    seen = {id(obj)}
    steps = 0
    for _ in range(_MAX_DEPTH):
        for segment, child in _children(current):
            if id(child) in seen:
                continue
            if fails(child):
                seen.add(id(child))
                path += segment
                current = child
                steps += 1
                break
        else:
            break
    if steps == 0:
        return None
    return f"{path} (a {type(current).__module__}.{type(current).__qualname__})"


def _root_name(obj: Any) -> str:
    if isinstance(obj, (types.FunctionType, type)):
        return str(obj.__qualname__)
    return f"<{type(obj).__qualname__} object>"


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    for count, item in enumerate(_all_children(obj), 1):
        yield item
        if count >= _MAX_CHILDREN:
            return


def _all_children(obj: Any) -> Iterator[tuple[str, Any]]:
    t = type(obj)
    if t is types.FunctionType:
        code = obj.__code__
        for i, cell in enumerate(obj.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            yield f".__closure__[{i}] -> {code.co_freevars[i]}", value
        for name in code_globals(code):
            if name in obj.__globals__:
                yield f".__globals__[{name!r}] -> {name}", obj.__globals__[name]
        for i, value in enumerate(obj.__defaults__ or ()):
            yield f".__defaults__[{i}]", value
        for key, value in (obj.__kwdefaults__ or {}).items():
            yield f".__kwdefaults__[{key!r}]", value
        for key, value in obj.__dict__.items():
            yield f".{key}", value
    elif isinstance(obj, type):
        for key, value in class_state(obj).items():
            yield f".{key}", value
    elif t in (classmethod, staticmethod):
        yield ".__func__", obj.__func__
    elif t is property:
        for attr in ("fget", "fset", "fdel"):
            yield f".{attr}", getattr(obj, attr)
    elif t is types.MethodType:
        yield ".__func__", obj.__func__
        yield ".__self__", obj.__self__
    elif t is dict:
        for key, value in obj.items():
            yield f"[{key!r}]", value
    elif t in (list, tuple):
        for i, value in enumerate(obj):
            yield f"[{i}]", value
    else:
        yield from _state_children(obj)


def _state_children(obj: Any) -> Iterator[tuple[str, Any]]:
    try:
        rv = obj.__reduce_ex__(5)
    except Exception:  # noqa: BLE001 - an object that can't reduce is a leaf
        return
    if not isinstance(rv, tuple) or len(rv) < 3:
        return
    state = rv[2]
    states = list(state) if isinstance(state, tuple) else [state]
    for part in states:
        if isinstance(part, dict):
            for key, value in part.items():
                yield f".{key}", value
    if len(rv) > 1 and isinstance(rv[1], tuple):
        for i, value in enumerate(rv[1]):
            if isinstance(value, type):
                continue
            yield f".__reduce__()[1][{i}]", value
