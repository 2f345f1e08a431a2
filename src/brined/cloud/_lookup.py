"""By reference or by value: where a function, class or module can be found.

An object is pickled by reference (its module and qualified name, like the
stdlib) when importing that name in the loading process gives the same object
back; otherwise, or when its module is registered with
`register_pickle_by_value`, it is pickled by value.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any, Final

__all__ = [
    "function_by_reference",
    "is_registered_by_value",
    "list_registry_pickle_by_value",
    "lookup_module_and_qualname",
    "register_pickle_by_value",
    "should_pickle_by_reference",
    "unregister_pickle_by_value",
    "which_module",
]

_BY_VALUE: Final[set[str]] = set()
_LOCK: Final = threading.Lock()


def register_pickle_by_value(module: types.ModuleType) -> None:
    """Pickle the functions and classes of `module` (and its submodules) by value.

    Useful when the loading side does not have the module installed, or has an
    older copy of it.  Raises ValueError if `module` is not a module object
    imported in this process.
    """
    if not isinstance(module, types.ModuleType):
        raise ValueError(f"Input should be a module object, got {module} instead")
    if module.__name__ not in sys.modules:
        raise ValueError(
            f"{module} was not imported correctly, have you used an "
            "`import` statement to access it?"
        )
    with _LOCK:
        _BY_VALUE.add(module.__name__)


def unregister_pickle_by_value(module: types.ModuleType) -> None:
    """Undo `register_pickle_by_value` (ValueError if it was not registered)."""
    if not isinstance(module, types.ModuleType):
        raise ValueError(f"Input should be a module object, got {module} instead")
    with _LOCK:
        if module.__name__ not in _BY_VALUE:
            raise ValueError(f"{module} is not registered for pickle by value")
        _BY_VALUE.remove(module.__name__)


def list_registry_pickle_by_value() -> set[str]:
    """The names of the modules registered with `register_pickle_by_value`."""
    with _LOCK:
        return set(_BY_VALUE)


def is_registered_by_value(module: types.ModuleType) -> bool:
    """Whether `module` or one of its parent packages is registered by value."""
    if not _BY_VALUE:
        return False
    name = module.__name__
    while True:
        if name in _BY_VALUE:
            return True
        dot = name.rfind(".")
        if dot < 0:
            return False
        name = name[:dot]


def _get_path(obj: Any, qualname: str) -> Any:
    for part in qualname.split("."):
        if part == "<locals>":
            raise AttributeError(f"can't get local object {qualname!r}")
        obj = getattr(obj, part)
    return obj


def which_module(obj: Any, name: str) -> str | None:
    """The module name `obj` belongs to: its ``__module__``, else a search.

    Unlike the stdlib, an object found nowhere gives None (not ``__main__``),
    and errors raised by odd modules during the search are ignored.
    """
    module_name = getattr(obj, "__module__", None)
    if module_name is not None:
        return str(module_name)
    # A copy: a module's getattr may import and change sys.modules meanwhile.
    for module_name, module in sys.modules.copy().items():
        if module_name in ("__main__", "__mp_main__") or not isinstance(
            module, types.ModuleType
        ):
            continue
        try:
            if _get_path(module, name) is obj:
                return str(module_name)
        except Exception:  # noqa: BLE001 - any failure means "not found here"
            pass
    return None


def lookup_module_and_qualname(
    obj: Any, name: str | None = None
) -> tuple[types.ModuleType, str] | None:
    """``(module, qualname)`` where importing finds `obj` again, or None."""
    if name is None:
        name = getattr(obj, "__qualname__", None)
        if name is None:
            name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    module_name = which_module(obj, name)
    if module_name is None or module_name == "__main__":
        return None
    # A module missing from sys.modules was made at run time (types.ModuleType):
    # it cannot be imported by name elsewhere.
    module = sys.modules.get(module_name)
    if module is None:
        return None
    try:
        found = _get_path(module, name)
    except AttributeError:
        return None
    if found is not obj:
        return None
    return module, name


def function_by_reference(func: types.FunctionType) -> bool:
    """`should_pickle_by_reference` for a function, with shortcuts.

    The common cases decided without the general search: a nested function
    (a ``<locals>`` part of its qualified name is never found by a lookup:
    decided here before looking up the parts before it), and a module-level
    function of an imported module, found there under its name.
    """
    qualname = func.__qualname__
    if ".<locals>." in qualname:
        return False
    loose: Any = func  # any object can be a function's __module__
    module_name = loose.__module__
    if type(module_name) is str and module_name != "__main__" and "." not in qualname:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, qualname, None) is func:
            return not _BY_VALUE or not is_registered_by_value(module)
    return should_pickle_by_reference(func)


def should_pickle_by_reference(obj: Any, name: str | None = None) -> bool:
    """Whether a function, class or module is pickled by name (not by value)."""
    if isinstance(obj, types.FunctionType) or issubclass(type(obj), type):
        found = lookup_module_and_qualname(obj, name=name)
        if found is None:
            return False
        return not is_registered_by_value(found[0])
    if isinstance(obj, types.ModuleType):
        if is_registered_by_value(obj):
            return False
        # sys.modules is the import cache: a module in it is taken as
        # importable by the same name in the loading process.
        return obj.__name__ in sys.modules
    raise TypeError(f"cannot check importability of {type(obj).__name__} instances")
