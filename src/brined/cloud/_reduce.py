"""Reducers: how functions, classes, code and friends are written by value.

Each reducer returns a reduce value (see `object.__reduce__`) whose callables
live in `_reconstruct`.  Everything here must be deterministic: the same
function or class gives the same bytes in any process (names are sorted where
Python's own iteration order would depend on the hash seed).
"""

from __future__ import annotations

import abc
import dataclasses
import dis
import hashlib
import io
import logging
import opcode
import sys
import threading
import types
import typing
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from enum import Enum
from typing import Any, Final

from ..errors import PicklingError
from . import _reconstruct as R
from ._lookup import (
    is_registered_by_value,
    lookup_module_and_qualname,
    should_pickle_by_reference,
)

__all__ = [
    "DISPATCH",
    "reduce_function",
    "class_state",
    "class_tracker_id",
    "code_globals",
    "reduce_class",
]

# -- globals a code object refers to -------------------------------------------

_GLOBAL_OPS: Final = frozenset(
    opcode.opmap[name]
    for name in ("LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL")
    if name in opcode.opmap
)
_CODE_GLOBALS: Final[weakref.WeakKeyDictionary[types.CodeType, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


def code_globals(code: types.CodeType) -> tuple[str, ...]:
    """The global names `code` and the code nested in it read, write or delete.

    In first-use order (never a set: the order is part of the bytes).
    """
    found = _CODE_GLOBALS.get(code)
    if found is None:
        names: dict[str, None] = {}
        for instr in dis.get_instructions(code):
            if instr.opcode in _GLOBAL_OPS:
                names[str(instr.argval)] = None
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names.update(dict.fromkeys(code_globals(const)))
        found = tuple(names)
        _CODE_GLOBALS[code] = found
    return found


def imported_submodules(
    code: types.CodeType, values: Iterable[Any]
) -> list[types.ModuleType]:
    """Submodules the code reaches as attributes of a package it uses.

    ``import a.b`` then ``a.b.f()`` only names ``a`` as a global; the loading
    side must import ``a.b`` too, so it is written alongside the function.
    """
    found: list[types.ModuleType] = []
    attrs = set(code.co_names)
    for value in values:
        if not isinstance(value, types.ModuleType) or not getattr(
            value, "__package__", None
        ):
            continue
        prefix = value.__name__ + "."
        for name in sorted(sys.modules):
            if name.startswith(prefix) and set(name[len(prefix) :].split(".")) <= attrs:
                module = sys.modules[name]
                if isinstance(module, types.ModuleType) and module not in found:
                    found.append(module)
    return found


# -- functions ------------------------------------------------------------------


def cell_value(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return R.EMPTY


def function_state(
    func: types.FunctionType,
    seen: dict[int, tuple[types.CodeType, tuple[str, ...]]] | None = None,
) -> dict[str, Any]:
    """What `set_function_state` sets; defaults are left out to stay small.

    `seen` caches `code_globals` by code object for one pickle (a pickler's).
    """
    code = func.__code__
    state: dict[str, Any] = {}
    if func.__name__ != code.co_name:
        state["__name__"] = func.__name__
    if func.__qualname__ != code.co_qualname:
        state["__qualname__"] = func.__qualname__
    f_globals = func.__globals__
    # Any object can be set as __module__ or __doc__ (typed as such here: a
    # compiled build checks the declared types).
    loose: Any = func
    module = loose.__module__
    doc = loose.__doc__
    # FunctionType takes __module__ from the globals' __name__, which the
    # skeleton's globals carry: only a different one is written.
    if module != f_globals.get("__name__"):
        state["__module__"] = module
    if doc is not None:
        state["__doc__"] = doc
    if func.__defaults__ is not None:
        state["__defaults__"] = func.__defaults__
    if func.__kwdefaults__ is not None:
        state["__kwdefaults__"] = func.__kwdefaults__
    if func.__annotations__:
        state["__annotations__"] = func.__annotations__
    if func.__dict__:
        state["__dict__"] = {"".join(k): v for k, v in func.__dict__.items()}
    if seen is None:
        names = code_globals(code)
    else:
        entry = seen.get(id(code))
        if entry is None or entry[0] is not code:
            entry = (code, code_globals(code))
            seen[id(code)] = entry
        names = entry[1]
    used = {k: _stable_frozen(f_globals[k]) for k in names if k in f_globals}
    if used:
        state["__globals__"] = used
    closure = func.__closure__
    contents: list[Any] = []
    modules = False
    if closure is not None:
        for cell in closure:
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                value = _EMPTY
            if type(value) is frozenset:
                value = _stable(value)
            elif isinstance(value, _MODULE):
                modules = True
            contents.append(value)
        state["__closure__"] = tuple(contents)
    if used or modules:
        submodules = imported_submodules(code, [*used.values(), *contents])
        if submodules:
            state["__submodules__"] = submodules
    return state


_EMPTY: Final = R.EMPTY
_MODULE: Final = types.ModuleType


_BASE_GLOBALS: Final = ("__package__", "__name__", "__path__", "__file__")


def reduce_function(
    func: types.FunctionType,
    globals_ref: dict[int, dict[str, Any]],
    closure_cells: set[int],
    seen: dict[int, tuple[types.CodeType, tuple[str, ...]]],
) -> Any:
    """The reduce value of a function written by value (a pickler's state:
    one globals dict per module, the ids of the cells being written, the
    code-globals cache)."""
    f_globals = func.__globals__
    base = globals_ref.get(id(f_globals))
    if base is None:
        base = {k: f_globals[k] for k in _BASE_GLOBALS if k in f_globals}
        globals_ref[id(f_globals)] = base
    closure = func.__closure__
    if closure is not None:
        for cell in closure:
            closure_cells.add(id(cell))
    return (
        R.make_function,
        (func.__code__, base, closure),
        function_state(func, seen),
        None,
        None,
        R.set_function_state,
    )


# -- code and cells -------------------------------------------------------------


def reduce_code(code: types.CodeType) -> Any:
    # New tuples and fresh copies of the names: interned originals may be the
    # very objects other parts of the pickle hold in one process and not in
    # another (a loaded copy), and the memo would then write them differently.
    args = (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_nlocals,
        code.co_stacksize,
        code.co_flags,
        code.co_code,
        code.co_consts,
        tuple(code.co_names),
        tuple(code.co_varnames),
        "".join(code.co_filename),
        "".join(code.co_name),
        "".join(code.co_qualname),
        code.co_firstlineno,
        code.co_linetable,
        code.co_exceptiontable,
        tuple(code.co_freevars),
        tuple(code.co_cellvars),
    )
    return R.make_code, (R.PYTHON_VERSION, args)


def reduce_cell(cell: types.CellType) -> Any:
    value = cell_value(cell)
    if value is R.EMPTY:
        return R.make_empty_cell, ()
    return R.make_cell, (value,)


# -- classes --------------------------------------------------------------------

_BUILTIN_TYPES: Final[dict[type, str]] = {
    v: k for k, v in types.__dict__.items() if type(v) is type
}
_ENUM_INTERNALS: Final = (
    "_generate_next_value_",
    "_member_names_",
    "_member_map_",
    "_member_type_",
    "_value2member_map_",
)


class sorted_set:
    """A set-valued class attribute, written with its items sorted.

    A set's iteration order follows its items' hashes, which for strings change
    with PYTHONHASHSEED: sorting makes the bytes the same in every process.
    """

    __slots__ = ("items", "kind")

    def __init__(self, items: list[Any], kind: type) -> None:
        self.items = items
        self.kind = kind

    def __reduce__(self) -> Any:
        return self.kind, (self.items,)


def _stable(value: Any) -> Any:
    if type(value) in (set, frozenset) and value:
        try:
            return sorted_set(sorted(value), type(value))
        except TypeError:
            return sorted_set(sorted(value, key=repr), type(value))
    return value


def _stable_frozen(value: Any) -> Any:
    # Only frozensets in closures and globals: a mutable set there may be
    # shared with other objects, and a sorted copy would break that identity.
    if type(value) is frozenset:
        return _stable(value)
    return value


def class_state(cls: type) -> dict[str, Any]:
    """The class's own attributes (not those inherited unchanged), sorted."""
    own = cls.__dict__
    if len(cls.__bases__) == 1:
        inherited: Any = cls.__bases__[0].__dict__
    else:
        inherited = {}
        for base in reversed(cls.__bases__):
            inherited.update(base.__dict__)
    state: dict[str, Any] = {}
    missing = object()
    for name in sorted(own):
        value = own[name]
        if inherited.get(name, missing) is value:
            continue
        # A fresh (not interned) copy of the name: see `function_state`.
        state["".join(name)] = _stable(value)
    for name in ("__weakref__", "__dict__", "__module__", "__qualname__"):
        state.pop(name, None)
    slots = own.get("__slots__")
    if slots is not None:
        if _slots_at_creation(cls):
            state.pop("__slots__", None)
        for slot in [slots] if isinstance(slots, str) else slots:
            state.pop(slot, None)
    if isinstance(cls, abc.ABCMeta):
        for name in (
            "_abc_impl",
            "_abc_cache",
            "_abc_negative_cache",
            "_abc_negative_cache_version",
            "_abc_registry",
        ):
            state.pop(name, None)
        registry = [ref() for ref in abc._get_dump(cls)[0]]  # type: ignore[attr-defined]
        registry = [c for c in registry if c is not None]
        registry.sort(key=_class_key)
        state["_abc_impl"] = registry
    return state


def _class_key(cls: Any) -> tuple[str, str]:
    return (cls.__module__, cls.__qualname__)


def _slots_at_creation(cls: type) -> bool:
    # Real slots need __slots__ in the namespace the class is made from; class
    # factories behind __orig_bases__ (NamedTuple) refuse it there, and get it
    # set afterwards instead (as cloudpickle does for every class).
    return "__slots__" in cls.__dict__ and "__orig_bases__" not in cls.__dict__


def class_namespace(cls: type) -> dict[str, Any]:
    """What the skeleton class must have from its creation."""
    own = cls.__dict__
    namespace: dict[str, Any] = {}
    if "__module__" in own:
        namespace["__module__"] = own["__module__"]
    if cls.__qualname__ != cls.__name__:
        namespace["__qualname__"] = cls.__qualname__
    if _slots_at_creation(cls):
        namespace["__slots__"] = own["__slots__"]
    if isinstance(own.get("__dict__"), property):
        namespace["__dict__"] = own["__dict__"]
    return namespace


def class_bases(cls: type) -> tuple[Any, ...]:
    # A generic class's own __orig_bases__ (PEP 560), not one it inherits.
    bases = cls.__dict__.get("__orig_bases__")
    if bases is not None:
        return tuple(bases)
    return cls.__bases__


def reduce_dynamic_class(cls: type) -> Any:
    tracker = class_tracker_id(cls)
    loose: Any = cls  # any object can be a class's __module__
    if issubclass(cls, Enum):
        members = {member.name: member.value for member in cls}
        state = class_state(cls)
        for name in _ENUM_INTERNALS:
            state.pop(name, None)
        for name in members:
            state.pop(name, None)
        args = (cls.__bases__, cls.__name__, cls.__qualname__, members)
        return (
            R.make_skeleton_enum,
            (*args, loose.__module__, tracker),
            state,
            None,
            None,
            R.set_class_state,
        )
    return (
        R.make_skeleton_class,
        (type(cls), cls.__name__, class_bases(cls), class_namespace(cls), tracker),
        class_state(cls),
        None,
        None,
        R.set_class_state,
    )


def reduce_class(cls: Any) -> Any:
    """The reduce value of any class, or NotImplemented to pickle it by name."""
    if cls is type(None) or cls is type(...) or cls is type(NotImplemented):
        return NotImplemented  # the engine writes these as the stdlib does
    name = _BUILTIN_TYPES.get(cls)
    if name is not None:
        return R.builtin_type, (name,)
    if should_pickle_by_reference(cls):
        return NotImplemented
    return reduce_dynamic_class(cls)


# -- class tracker ids: stable across processes -----------------------------------

_ID_LOCK: Final = threading.Lock()


def class_tracker_id(obj: Any) -> str:
    """The id under which a loading process keeps one copy of class `obj`.

    A digest of what defines the class (names, bases, attribute names, method
    bytecode, simple values), so the same class definition has the same id in
    every process; two different live classes with the same digest in this
    process get distinct ids.  A class loaded by value keeps the id it came
    with.
    """
    found = R.IDS_BY_CLASS.get(obj)
    if found is not None:
        return found
    digest = hashlib.sha256(_describe_class(obj).encode()).hexdigest()[:32]
    with _ID_LOCK, R._LOCK:
        found = R.IDS_BY_CLASS.get(obj)
        if found is not None:
            return found
        candidate = digest
        n = 1
        while True:
            other = R.CLASSES_BY_ID.get(candidate)
            if other is None or other is obj:
                break
            n += 1
            candidate = f"{digest}-{n}"
        R.CLASSES_BY_ID[candidate] = obj
        R.IDS_BY_CLASS[obj] = candidate
    return candidate


def _describe_class(obj: Any) -> str:
    parts = [
        _qualified(type(obj)),
        str(getattr(obj, "__module__", "")),
        str(getattr(obj, "__qualname__", getattr(obj, "__name__", ""))),
    ]
    if isinstance(obj, type):
        parts.extend(_qualified(base) for base in obj.__bases__)
        for name in sorted(obj.__dict__):
            parts.append(name)
            parts.append(_describe(obj.__dict__[name], 3))
    else:  # a TypeVar or ParamSpec
        for attr in ("__bound__", "__constraints__", "__covariant__"):
            parts.append(_describe(getattr(obj, attr, None), 2))
    return "\x00".join(parts)


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


_HEAD: Final = 32


def _describe(value: Any, depth: int) -> str:
    t = type(value)
    if value is None or t in (bool, int, float, complex, str, bytes):
        text = repr(value)
        return text if len(text) < 200 else hashlib.sha256(text.encode()).hexdigest()
    if depth <= 0:
        return t.__qualname__
    # Large containers: their length and first items are description enough.
    if t in (tuple, list):
        head = ",".join(_describe(v, depth - 1) for v in value[:_HEAD])
        return f"{t.__name__}{len(value)}({head})"
    if t in (set, frozenset):
        items = sorted(_describe(v, depth - 1) for v in value)[:_HEAD]
        return f"{t.__name__}{len(value)}({','.join(items)})"
    if t is dict:
        pairs = sorted(
            f"{_describe(k, depth - 1)}:{_describe(v, depth - 1)}"
            for k, v in list(value.items())[: _HEAD * 4]
        )
        return f"dict{len(value)}{{{','.join(pairs)}}}"
    if t is types.FunctionType:
        closure = value.__closure__ or ()
        return "fn:" + "|".join(
            [
                _describe(value.__code__, depth - 1),
                _describe(value.__defaults__, depth - 1),
                *(_describe(cell_value(cell), depth - 1) for cell in closure),
            ]
        )
    if t is types.CodeType:
        return "code:" + "|".join(
            [
                value.co_qualname,
                value.co_filename,
                str(value.co_firstlineno),
                value.co_code.hex(),
                ",".join(value.co_names),
                _describe(value.co_consts, depth),
            ]
        )
    if t in (classmethod, staticmethod):
        return f"{t.__name__}({_describe(value.__func__, depth - 1)})"
    if t is property:
        return (
            "property("
            + ",".join(
                _describe(f, depth - 1) for f in (value.fget, value.fset, value.fdel)
            )
            + ")"
        )
    if isinstance(value, type):
        return "type:" + _qualified(value)
    return "obj:" + _qualified(t)


# -- the other types cloudpickle handles ------------------------------------------


def _reduce_wrapped_function(obj: Any) -> Any:
    return type(obj), (obj.__func__,)


def _reduce_property(obj: Any) -> Any:
    return type(obj), (obj.fget, obj.fset, obj.fdel, obj.__doc__)


def _reduce_method(obj: types.MethodType) -> Any:
    return types.MethodType, (obj.__func__, obj.__self__)


def _reduce_mappingproxy(obj: types.MappingProxyType[Any, Any]) -> Any:
    return types.MappingProxyType, (dict(obj),)


def _reduce_weakset(obj: weakref.WeakSet[Any]) -> Any:
    return weakref.WeakSet, (list(obj),)


def _reduce_memoryview(obj: memoryview) -> Any:
    return bytes, (obj.tobytes(),)


def _reduce_getset(obj: Any) -> Any:
    return getattr, (obj.__objclass__, obj.__name__)


def _reduce_logger(obj: logging.Logger) -> Any:
    return logging.getLogger, (obj.name,)


def _reduce_root_logger(obj: logging.RootLogger) -> Any:
    return logging.getLogger, ()


def _reduce_module(obj: types.ModuleType) -> Any:
    if should_pickle_by_reference(obj):
        return R.import_module, (obj.__name__,)
    namespace = dict(obj.__dict__)
    namespace.pop("__builtins__", None)
    return R.make_dynamic_module, (obj.__name__, namespace)


def _reduce_typevar(obj: Any) -> Any:
    found = lookup_module_and_qualname(obj, name=obj.__name__)
    if found is not None and not is_registered_by_value(found[0]):
        return getattr, found
    if isinstance(obj, typing.ParamSpec):
        return R.make_paramspec, (
            obj.__name__,
            obj.__bound__,
            obj.__covariant__,
            obj.__contravariant__,
            class_tracker_id(obj),
        )
    return R.make_typevar, (
        obj.__name__,
        obj.__bound__,
        obj.__constraints__,
        obj.__covariant__,
        obj.__contravariant__,
        class_tracker_id(obj),
    )


def _reduce_dataclass_sentinel(obj: Any) -> Any:
    return R.dataclass_sentinel, (obj.name,)


def _reduce_dict_keys(obj: Any) -> Any:
    return R.make_dict_keys, (list(obj),)


def _reduce_dict_values(obj: Any) -> Any:
    return R.make_dict_values, (list(obj),)


def _reduce_dict_items(obj: Any) -> Any:
    return R.make_dict_items, (dict(obj),)


def _reduce_odict_keys(obj: Any) -> Any:
    return R.make_dict_keys, (list(obj), True)


def _reduce_odict_values(obj: Any) -> Any:
    return R.make_dict_values, (list(obj), True)


def _reduce_odict_items(obj: Any) -> Any:
    return R.make_dict_items, (dict(obj), True)


def _reduce_file(obj: Any) -> Any:
    """Standard streams by name; other text files by their content."""
    if obj is sys.stdout:
        return getattr, (sys, "stdout")
    if obj is sys.stderr:
        return getattr, (sys, "stderr")
    if not hasattr(obj, "name") or not hasattr(obj, "mode"):
        raise PicklingError("Cannot pickle files that do not map to an actual file")
    if obj is sys.stdin:
        raise PicklingError("Cannot pickle standard input")
    if obj.closed:
        raise PicklingError("Cannot pickle closed files")
    if obj.isatty():
        raise PicklingError("Cannot pickle files that map to tty objects")
    if "r" not in obj.mode and "+" not in obj.mode:
        raise PicklingError(
            f"Cannot pickle files that are not opened for reading: {obj.mode}"
        )
    name = obj.name
    try:
        position = obj.tell()
        obj.seek(0)
        contents = obj.read()
        obj.seek(position)
    except OSError as e:
        raise PicklingError(f"Cannot pickle file {name} as it cannot be read") from e
    copy = io.StringIO()
    copy.write(contents)
    copy.seek(position)
    copy.name = name  # as the original file has
    return R.unpickled_file, (copy,)


DISPATCH: Final[dict[Any, Any]] = {
    classmethod: _reduce_wrapped_function,
    staticmethod: _reduce_wrapped_function,
    abc.abstractmethod: _reduce_wrapped_function,
    abc.abstractclassmethod: _reduce_wrapped_function,
    abc.abstractstaticmethod: _reduce_wrapped_function,
    property: _reduce_property,
    abc.abstractproperty: _reduce_property,
    io.TextIOWrapper: _reduce_file,
    logging.Logger: _reduce_logger,
    logging.RootLogger: _reduce_root_logger,
    memoryview: _reduce_memoryview,
    types.CellType: reduce_cell,
    types.CodeType: reduce_code,
    types.GetSetDescriptorType: _reduce_getset,
    types.ModuleType: _reduce_module,
    types.MethodType: _reduce_method,
    types.MappingProxyType: _reduce_mappingproxy,
    weakref.WeakSet: _reduce_weakset,
    typing.TypeVar: _reduce_typevar,
    typing.ParamSpec: _reduce_typevar,
    type({}.keys()): _reduce_dict_keys,
    type({}.values()): _reduce_dict_values,
    type({}.items()): _reduce_dict_items,
    type(OrderedDict().keys()): _reduce_odict_keys,
    type(OrderedDict().values()): _reduce_odict_values,
    type(OrderedDict().items()): _reduce_odict_items,
    dataclasses._FIELD_BASE: _reduce_dataclass_sentinel,  # type: ignore[attr-defined]
}
