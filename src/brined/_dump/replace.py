"""Best-effort dumps: ``on_error="placeholder"``.

The pickler installs `reduce_or_replace` as its `reducer_override`: it
computes the reduce value the pickler would use (the user's own override
first, then copyreg's table or the dispatch table, then ``__reduce_ex__``)
and checks what the pickler would check, so that an object that cannot be
pickled is caught here, before anything of it is written, and saved as a
`brined.Unpicklable` instead.  Its path comes from the driver's chain of
objects being saved (`paths`).  Never compiled: it runs only in best-effort
dumps and `brined.explain`.
"""

from __future__ import annotations

import copyreg
import warnings
from types import BuiltinFunctionType, FunctionType
from typing import Any

from ..errors import PicklingError, PlaceholderWarning
from .base import _copyreg_newobj, _copyreg_table
from .levels import _DONE
from .paths import describe, type_name
from .placeholder import Unpicklable
from .reduce import (
    check_newobj_args,
    check_newobj_ex_args,
    check_reduce_value,
    find_global,
)

__all__ = ["reduce_or_replace", "warn_replaced"]

_copyreg_reconstructor: Any = getattr(copyreg, "_reconstructor")  # noqa: B009
_SINGLETON_TYPES = (type(None), type(...), type(NotImplemented))
# Warnings list this many paths; `Pickler.replaced` has them all.
_MAX_WARNED = 10


def _by_name(obj: Any, proto: int) -> None:
    """Raise what the pickler would raise saving `obj` by name."""
    if not (type(obj) is type and obj in _SINGLETON_TYPES):
        find_global(obj, None, proto)


def _global_ok(p: Any, obj: Any) -> None:
    """Raise what the pickler would raise saving the class or function `obj`
    (unless the user's override saves it its own way)."""
    if not isinstance(obj, (FunctionType, BuiltinFunctionType, type)):
        return
    user = p._user_override
    if user is not None and user(obj) is not NotImplemented:
        return
    _by_name(obj, p.proto)


def _check(p: Any, obj: Any, rv: Any) -> None:
    """Raise what the pickler would raise saving the reduce value `rv`."""
    proto = p.proto
    if isinstance(rv, str):
        find_global(obj, rv, proto)
        return
    if not isinstance(rv, tuple):
        raise PicklingError("__reduce__ must return a string or tuple")
    func, args = check_reduce_value(rv)[:2]
    name = "__newobj__" if func is _copyreg_newobj else getattr(func, "__name__", None)
    if proto >= 2 and name == "__newobj__":
        func = check_newobj_args(args, obj)
    elif proto >= 2 and name == "__newobj_ex__":
        func = check_newobj_ex_args(args)[0]
    elif func is _copyreg_reconstructor and args:
        # Protocols 0-1: copyreg._reconstructor(cls, base, state).
        _global_ok(p, args[0])
    # The callable is saved by name: a placeholder cannot stand in for it.
    _global_ok(p, func)


def _reduce(p: Any, obj: Any) -> Any:
    proto = p.proto
    user = p._user_override
    if user is not None:
        rv = user(obj)
        if rv is not NotImplemented:
            _check(p, obj, rv)
            return rv
    t = type(obj)
    if t is type or t is FunctionType:
        _by_name(obj, proto)
        return NotImplemented
    table = p._own_dispatch_table
    reduce: Any
    if table is None:
        reduce = _copyreg_table.get(t)
    else:
        try:
            reduce = table[t]
        except KeyError:
            reduce = None
    if reduce is not None:
        rv = reduce(obj)
    elif issubclass(t, type):
        _by_name(obj, proto)
        return NotImplemented
    else:
        reduce = getattr(obj, "__reduce_ex__", None)
        if reduce is not None:
            rv = reduce(proto)
        else:
            reduce = getattr(obj, "__reduce__", None)
            if reduce is None:
                raise PicklingError(f"can't pickle {t.__name__!r} object: {obj!r}")
            rv = reduce()
    _check(p, obj, rv)
    return rv


def _chain(p: Any) -> list[Any]:
    """The objects being saved, root first, from whichever driver runs."""
    owners = p._owners
    if owners is not None:
        return list(owners)
    levels = p._level_stack
    if levels is None:
        return []
    chain = [level[7] for level in levels if level[7] is not _DONE]
    if p._level_me is not _DONE:
        chain.append(p._level_me)
    return chain


def reduce_or_replace(p: Any, obj: Any) -> Any:
    """The reduce value of `obj` (or NotImplemented: the pickler's own way),
    or, if it cannot be pickled, that of an `Unpicklable` recorded in
    ``p.replaced``."""
    try:
        rv = _reduce(p, obj)
    except Exception as exc:
        chain = _chain(p)
        if not chain or chain[-1] is not obj:
            chain.append(obj)
        stand_in = Unpicklable(
            describe(chain)[0], type_name(obj), f"{type(exc).__name__}: {exc}"
        )
        p.replaced.append(stand_in)
        p._replaced_errors.append((obj, exc))
        return stand_in.__reduce__()
    _vouch(p, obj, rv)
    return rv


def _vouch(p: Any, obj: Any, rv: Any) -> None:
    """Let the compiled driver save the next instances of ``type(obj)`` its
    own way, without this override, if the pickler keeps such a set,
    ``_checked_types`` (see `run_levels`: the pickler of `brined.explain`
    does).

    Only for the shape every plain object has, ``copyreg.__newobj__(cls)``
    with a state and no items, once `_reduce` has checked it (the class is
    found by its name) and with no hook of the user's to ask: the driver
    then calls ``__reduce_ex__`` itself and hands any instance that fails
    or reduces otherwise back to this override."""
    hook_free = getattr(p, "_checked_types", None)
    if hook_free is None or p._user_override is not None:
        return
    if p._own_dispatch_table is not None:
        return
    t = type(obj)
    if (
        type(rv) is tuple
        and 2 <= len(rv) <= 5
        and rv[0] is _copyreg_newobj
        and type(rv[1]) is tuple
        and len(rv[1]) == 1
        and rv[1][0] is t
        and obj.__class__ is t
        and (len(rv) < 4 or rv[3] is None)
        and (len(rv) < 5 or rv[4] is None)
    ):
        hook_free.add(t)


def warn_replaced(replaced: list[Unpicklable]) -> None:
    """Warn that `dump`/`dumps` replaced these objects."""
    shown = ", ".join(f"{u.path} ({u.type_name})" for u in replaced[:_MAX_WARNED])
    more = len(replaced) - _MAX_WARNED
    if more > 0:
        shown += f" and {more} more"
    warnings.warn(
        PlaceholderWarning(
            f"replaced {len(replaced)} unpicklable object(s) by brined.Unpicklable:"
            f" {shown}"
        ),
        stacklevel=3,
    )
