"""brined.cloud: functions, classes and modules by value; a drop-in for cloudpickle.

``import brined.cloud as cloudpickle`` works in existing code: the same API and
semantics as cloudpickle 3.1, on brined's engine.  What can be found by name is
pickled by name (the bytes equal `brined.dumps` and the stdlib's); lambdas,
closures, ``__main__`` functions, dynamic classes and modules registered with
`register_pickle_by_value` are pickled by value.

`loads` and `load` here are TRUSTED: a by-value pickle carries code that runs
when it is loaded.  `brined.loads` (safe by default) refuses such pickles.
"""

from __future__ import annotations

from types import CellType

from ._lookup import (
    list_registry_pickle_by_value,
    register_pickle_by_value,
    unregister_pickle_by_value,
)
from ._pickler import (
    DEFAULT_PROTOCOL,
    CloudPickler,
    Pickler,
    dump,
    dumps,
    load,
    loads,
)
from ._reconstruct import PythonVersionMismatchError

__all__ = [
    "DEFAULT_PROTOCOL",
    "CellType",
    "CloudPickler",
    "Pickler",
    "PythonVersionMismatchError",
    "dump",
    "dumps",
    "is_tornado_coroutine",
    "list_registry_pickle_by_value",
    "load",
    "loads",
    "register_pickle_by_value",
    "unregister_pickle_by_value",
]


def is_tornado_coroutine(func: object) -> bool:
    """Deprecated (as in cloudpickle 3): whether `func` is a Tornado coroutine."""
    import sys
    import warnings

    warnings.warn(
        "is_tornado_coroutine is deprecated (as in cloudpickle 3.0); use "
        "tornado.gen.is_coroutine_function directly instead.",
        category=DeprecationWarning,
        stacklevel=2,
    )
    gen = sys.modules.get("tornado.gen")
    check = getattr(gen, "is_coroutine_function", None)
    return bool(check(func)) if check is not None else False
