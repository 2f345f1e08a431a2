"""Reconstructors: the callables a by-value pickle names, and nothing else.

Every function here is referenced by ``brined.cloud._reconstruct.<name>`` in
pickles already written: the names and signatures are an on-disk format and must
never change (add new ones instead).  Loading such a pickle calls them, so they
are on the safe loader's blocklist (the whole ``brined`` package is): only a
trusted load (`brined.cloud.loads`, ``brined.loads(..., trusted=True)``) runs
them.

The ``version`` argument of `make_code` is the Python ``"major.minor"`` that
wrote the bytecode; a different interpreter refuses it with
`PythonVersionMismatchError` before touching the bytes.
"""

from __future__ import annotations

import builtins
import dataclasses
import io
import sys
import threading
import types
import typing
import weakref
from collections import OrderedDict
from typing import Any, Final

from ..errors import UnpicklingError

__all__ = [
    "PythonVersionMismatchError",
    "builtin_type",
    "dataclass_sentinel",
    "make_cell",
    "make_code",
    "make_dict_items",
    "make_dict_keys",
    "make_dict_values",
    "make_dynamic_module",
    "make_empty_cell",
    "make_function",
    "make_paramspec",
    "make_skeleton_class",
    "make_skeleton_enum",
    "make_typevar",
    "import_module",
    "set_class_state",
    "set_function_state",
    "tracked_class",
    "unpickled_file",
]

PYTHON_VERSION: Final = f"{sys.version_info[0]}.{sys.version_info[1]}"
_BUILTINS: Final = builtins.__dict__
_function: Final = types.FunctionType
_cell: Final = types.CellType


class PythonVersionMismatchError(UnpicklingError):
    """By-value code was written by another Python minor version.

    Bytecode is specific to one minor version; running it elsewhere can crash the
    interpreter, so it is refused.  `written` and `running` name both versions.
    """

    def __init__(self, written: str, running: str) -> None:
        super().__init__(
            f"this pickle holds code (a function or class defined by value) "
            f"compiled by Python {written}, but this is Python {running}: bytecode "
            f"only runs on the minor version that made it. Load it with Python "
            f"{written}, or pickle the code by reference (importable by name)"
        )
        self.written = written
        self.running = running


# -- classes tracked by id: one class per loading process ---------------------

_LOCK: Final = threading.Lock()
# id -> class (weak), class -> id (weak): a class pickled several times loads as
# one class, and a loaded class keeps its id when it is pickled again.
CLASSES_BY_ID: Final[weakref.WeakValueDictionary[str, Any]] = (
    weakref.WeakValueDictionary()
)
IDS_BY_CLASS: Final[weakref.WeakKeyDictionary[Any, str]] = weakref.WeakKeyDictionary()


def tracked_class(tracker_id: str | None, made: Any) -> Any:
    """Return the class already loaded under `tracker_id`, else track `made`."""
    if tracker_id is None:
        return made
    with _LOCK:
        found = CLASSES_BY_ID.setdefault(tracker_id, made)
        IDS_BY_CLASS[found] = tracker_id
    return found


# -- code, functions, cells ---------------------------------------------------


def make_code(version: str, args: tuple[Any, ...]) -> types.CodeType:
    """A code object from `types.CodeType`'s arguments, if `version` is ours."""
    if version != PYTHON_VERSION:
        raise PythonVersionMismatchError(str(version), PYTHON_VERSION)
    return types.CodeType(*args)


def make_function(
    code: types.CodeType,
    globals_: dict[str, Any],
    closure: tuple[types.CellType, ...] | None,
) -> types.FunctionType:
    """A function skeleton; `set_function_state` fills it in after memoizing."""
    globals_["__builtins__"] = _BUILTINS
    return _function(code, globals_, None, None, closure)


def set_function_state(func: types.FunctionType, state: dict[str, Any]) -> None:
    """Fill a function made by `make_function` (the reduce's state setter).

    `state` holds the attributes to set, plus ``__globals__`` (merged into the
    function's globals), ``__closure__`` (the cell contents, `EMPTY` for an
    empty cell) and ``__dict__``.
    """
    # One pass over the state as written (most closures carry only their cell
    # contents): no copy of it, no lookup of keys it does not have.
    for attr, value in state.items():
        if attr == "__closure__":
            cells = func.__closure__
            if cells is not None:
                for cell, content in zip(cells, value, strict=True):
                    if content is not EMPTY:
                        cell.cell_contents = content
        elif attr == "__globals__":
            f_globals = func.__globals__
            f_globals.update(value)
            f_globals["__builtins__"] = _BUILTINS
        elif attr == "__dict__":
            func.__dict__.update(value)
        elif attr != "__submodules__":  # imported by loading them
            setattr(func, attr, value)


class _Empty:
    """The content of an empty closure cell, as written in a function's state."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<empty cell>"

    def __reduce__(self) -> str:
        return "EMPTY"


EMPTY: Final = _Empty()


def make_empty_cell() -> types.CellType:
    """A closure cell with no content."""
    return _cell()


def make_cell(value: Any) -> types.CellType:
    """A closure cell holding `value`."""
    return _cell(value)


# -- classes -------------------------------------------------------------------


def make_skeleton_class(
    metaclass: Any,
    name: str,
    bases: tuple[Any, ...],
    namespace: dict[str, Any],
    tracker_id: str | None,
) -> Any:
    """An empty class (its dict is set later by `set_class_state`)."""
    namespace = {sys.intern(k): v for k, v in namespace.items()}
    made = types.new_class(
        name, bases, {"metaclass": metaclass}, namespace_filler(namespace)
    )
    return tracked_class(tracker_id, made)


class namespace_filler:
    """The ``exec_body`` of `types.new_class`: copies a prepared namespace."""

    __slots__ = ("items",)

    def __init__(self, items: dict[str, Any]) -> None:
        self.items = items

    def __call__(self, ns: dict[str, Any]) -> None:
        ns.update(self.items)


def make_skeleton_enum(
    bases: tuple[Any, ...],
    name: str,
    qualname: str,
    members: dict[str, Any],
    module: str,
    tracker_id: str | None,
) -> Any:
    """An enum class with its members; other attributes come with the state."""
    metaclass: Any = type(bases[-1])
    namespace = metaclass.__prepare__(name, bases)
    for member, value in members.items():
        namespace[member] = value
    made = metaclass.__new__(metaclass, name, bases, namespace)
    made.__module__ = module
    made.__qualname__ = qualname
    return tracked_class(tracker_id, made)


def set_class_state(cls: Any, state: dict[str, Any]) -> Any:
    """Set a skeleton class's attributes; re-register ABC virtual subclasses."""
    registry: list[Any] | None = None
    for attr, value in state.items():
        if attr == "_abc_impl":
            registry = value
        else:
            setattr(cls, attr, value)
    if registry is not None:
        for subclass in registry:
            cls.register(subclass)
    return cls


def make_typevar(
    name: str,
    bound: Any,
    constraints: tuple[Any, ...],
    covariant: bool,
    contravariant: bool,
    tracker_id: str | None,
) -> Any:
    """A `typing.TypeVar` defined by value (one per loading process)."""
    made = typing.TypeVar(  # type: ignore[misc]  # a TypeVar made at run time
        name,
        *constraints,
        bound=bound,
        covariant=covariant,
        contravariant=contravariant,
    )
    return tracked_class(tracker_id, made)


def make_paramspec(
    name: str, bound: Any, covariant: bool, contravariant: bool, tracker_id: str | None
) -> Any:
    """A `typing.ParamSpec` defined by value (one per loading process)."""
    made = typing.ParamSpec(  # type: ignore[misc]  # made at run time
        name, bound=bound, covariant=covariant, contravariant=contravariant
    )
    return tracked_class(tracker_id, made)


def builtin_type(name: str) -> Any:
    """A type the ``types`` module names (``types.CodeType``, ...)."""
    return getattr(types, name)


_SENTINELS: Final[dict[str, Any]] = {
    sentinel.name: sentinel
    for sentinel in (
        dataclasses._FIELD,  # type: ignore[attr-defined]
        dataclasses._FIELD_CLASSVAR,  # type: ignore[attr-defined]
        dataclasses._FIELD_INITVAR,  # type: ignore[attr-defined]
    )
}


def dataclass_sentinel(name: str) -> Any:
    """dataclasses' field-kind sentinel: compared by identity, so never copied."""
    return _SENTINELS[name]


# -- modules, views, files ----------------------------------------------------


def import_module(name: str) -> types.ModuleType:
    """The module `name`, imported (a submodule, not its top package)."""
    __import__(name)
    return sys.modules[name]


def make_dynamic_module(name: str, namespace: dict[str, Any]) -> types.ModuleType:
    """A module that is not importable, rebuilt from its namespace."""
    module = types.ModuleType(name)
    module.__dict__.update(namespace)
    module.__dict__["__builtins__"] = builtins.__dict__
    return module


def make_dict_keys(keys: list[Any], ordered: bool = False) -> Any:
    """A ``dict_keys`` (or OrderedDict keys) view over the given keys."""
    if ordered:
        return OrderedDict.fromkeys(keys).keys()
    return dict.fromkeys(keys).keys()


def make_dict_values(values: list[Any], ordered: bool = False) -> Any:
    """A ``dict_values`` view over the given values."""
    if ordered:
        return OrderedDict(enumerate(values)).values()
    return dict(enumerate(values)).values()


def make_dict_items(items: dict[Any, Any], ordered: bool = False) -> Any:
    """A ``dict_items`` view over the given mapping."""
    if ordered:
        return OrderedDict(items).items()
    return items.items()


def unpickled_file(contents: io.StringIO) -> io.StringIO:
    """A file pickled by content loads as a `io.StringIO` positioned likewise."""
    return contents
