"""Where in the pickled graph an error happened: the path from the root.

Only the error path and best-effort dumps use this module (never compiled):
the drivers keep, at no extra cost, the object of every level they are
saving (`Pickler._run_entries`'s ``owners``, `run_levels`'s ``me``); after an
exception this module turns that chain of objects into Python syntax
(``root.config['handlers'][2].stream._lock``) by finding each object among
its parent's parts by identity.  Nothing here recurses: graphs 10^5 levels
deep get a path too.
"""

from __future__ import annotations

import types
from typing import Any, Final

from ..errors import type_name

__all__ = ["annotate", "describe", "type_name"]

# Notes added to an exception: the innermost ones (CPython 3.14's style);
# the path itself, which may be long, is complete in the `path` attribute.
_MAX_NOTES = 12
_MAX_NOTE_PATH = 600


def _is_state_tuple(obj: Any, owner: Any) -> bool:
    """`(dict_state, slots_state)` as `object.__reduce_ex__` gives for
    objects with `__slots__`."""
    return (
        type(obj) is tuple
        and len(obj) == 2
        and (obj[0] is None or type(obj[0]) is dict)
        and type(obj[1]) is dict
    )


# How the parts of a by-value function's state (brined.cloud's, a dict of
# the function's own attributes) are reached: the state of `__closure__` holds
# the cells' contents, the rest are the attributes themselves.
_CLOSURE: Final = "closure"
_FUNCTION: Final = "function"


def _by_value_state(parent: Any, child: Any) -> str | None:
    """The mode of `child` when it is the state of a function or class that
    a by-value reducer (``brined.cloud``) wrote: its keys are attributes."""
    if type(child) is not dict:
        return None
    if type(parent) is types.FunctionType:
        return _FUNCTION
    if isinstance(parent, type) and parent.__dict__ is not child:
        return _FUNCTION
    return None


def _step(parent: Any, child: Any, attrs: bool | str) -> tuple[str, str, bool | str]:
    """How `child` is reached from `parent`: the path text, the note and
    whether `child` is the state of `parent` (its keys then read as
    attributes; `_FUNCTION` for a by-value function's or class's state,
    `_CLOSURE` for the contents of a closure's cells)."""
    pname = type_name(parent)
    if attrs == _CLOSURE and type(parent) is tuple:
        for i, value in enumerate(parent):
            if value is child:
                return (
                    f"[{i}].cell_contents",
                    f"when serializing closure cell {i}",
                    False,
                )
    if isinstance(parent, dict):
        for key, value in parent.items():
            if value is child:
                if attrs and type(key) is str and key.isidentifier():
                    mode: bool | str = False
                    if attrs == _FUNCTION and key == "__closure__":
                        mode = _CLOSURE
                    return (f".{key}", f"when serializing attribute {key!r}", mode)
                return (f"[{key!r}]", f"when serializing {pname} item {key!r}", False)
        for key in parent:
            if key is child:
                return (f"<key {key!r}>", f"when serializing {pname} key", False)
        return ("<item>", f"when serializing {pname} item", False)
    if isinstance(parent, (list, tuple)):
        if attrs and _is_state_tuple(parent, None):
            # The dict or slots part of a state: its keys are attributes.
            return ("", f"when serializing {pname} state", True)
        for i, value in enumerate(parent):
            if value is child:
                return (f"[{i}]", f"when serializing {pname} item {i}", False)
        return ("[?]", f"when serializing {pname} item", False)
    if isinstance(parent, (set, frozenset)):
        return ("<element>", f"when serializing {pname} element", False)
    # An object saved by its reduce value: its class, arguments or state.
    by_value = _by_value_state(parent, child)
    if by_value is not None:
        return ("", f"when serializing {pname} state", by_value)
    state = getattr(parent, "__dict__", None)
    if child is state or _is_state_tuple(child, parent):
        return ("", f"when serializing {pname} state", True)
    if state is not None and type(state) is dict:
        for key, value in state.items():
            if value is child:
                return (f".{key}", f"when serializing {pname} attribute {key!r}", False)
    for klass in type(parent).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if isinstance(slot, str) and getattr(parent, slot, None) is child:
                return (
                    f".{slot}",
                    f"when serializing {pname} attribute {slot!r}",
                    False,
                )
    if child is type(parent):
        return (".__class__", f"when serializing {pname} class", False)
    if type(child) is dict and _own_getstate(parent):
        return (".__getstate__()", f"when serializing {pname} state", False)
    if type(child) is tuple:
        # The arguments of its reconstructor (``__reduce_ex__(5)[1]``).
        return (
            ".__reduce_ex__(5)[1]",
            f"when serializing {pname} reconstructor arguments",
            False,
        )
    return (".__reduce_ex__(5)", f"when serializing {pname} reduce value", False)


def _own_getstate(obj: Any) -> bool:
    """Whether `obj`'s class defines its own ``__getstate__``."""
    getstate = getattr(type(obj), "__getstate__", None)
    return getstate is not None and getstate is not getattr(
        object, "__getstate__", None
    )


def describe(chain: list[Any]) -> tuple[str, list[tuple[str, str]], list[str]]:
    """The path of ``chain[-1]`` from ``chain[0]`` (each object a part of the
    one before): its text, the steps ``(text, type name)`` from the root, and
    the notes, innermost first."""
    text = ["root"]
    steps = [("root", type_name(chain[0]))] if chain else []
    notes: list[str] = []
    attrs: bool | str = False
    for k in range(1, len(chain)):
        part, note, attrs = _step(chain[k - 1], chain[k], attrs)
        if part:
            text.append(part)
            steps.append((part, type_name(chain[k])))
        notes.append(note)
    notes.reverse()
    return "".join(text), steps, notes


def annotate(exc: BaseException, chain: list[Any]) -> None:
    """Give `exc` the path of the object being saved (``exc.path``, the steps
    in ``exc.path_steps``) and notes that say where, unless an inner dump
    gave it one already.  Never raises."""
    try:
        if getattr(exc, "path", None) is not None:
            return
        path, steps, notes = describe(chain)
        exc.path = path  # type: ignore[attr-defined]
        exc.path_steps = tuple(steps)  # type: ignore[attr-defined]
        shown = [n for n in notes if n][:_MAX_NOTES]
        for note in shown:
            exc.add_note(note)
        if len(notes) > len(shown):
            exc.add_note(f"... and {len(notes) - len(shown)} more levels")
        if len(path) > _MAX_NOTE_PATH:
            half = _MAX_NOTE_PATH // 2
            path = f"{path[:half]}...{path[-half:]}"
        kinds = " > ".join(t for _, t in steps)
        if len(kinds) > _MAX_NOTE_PATH:
            half = _MAX_NOTE_PATH // 2
            kinds = f"{kinds[:half]}...{kinds[-half:]}"
        exc.add_note(f"path: {path} ({kinds})")
    except Exception:  # noqa: S110 - the original error matters more
        pass
