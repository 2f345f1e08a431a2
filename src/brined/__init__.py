"""brined: Python object serialization in the pickle format.

A drop-in for the standard `pickle` module: the same API, the same bytes as CPython's
C pickler, no nesting-depth limit, and loading that is safe by default.
"""

from __future__ import annotations

from typing import Any

from ._api import Pickler, Unpickler
from ._build import COMPILED
from ._dump.pickler import PickleBuffer, dump, dumps
from ._dump.placeholder import Unpicklable
from ._format.opcodes import DEFAULT_PROTOCOL, HIGHEST_PROTOCOL
from ._load.entry import load, loads
from ._safe.limits import Limits
from ._safe.policy import Policy
from .errors import (
    LimitExceededError,
    MalformedPickleError,
    PickleError,
    PicklingError,
    PlaceholderWarning,
    TruncatedPickleError,
    UnpicklingError,
    UnsafeGlobalError,
    UnsafeOperationError,
)

__version__ = "0.1.0"

__all__ = [
    "COMPILED",
    "Cache",
    "CacheMiss",
    "Checkpoint",
    "DEFAULT_PROTOCOL",
    "HIGHEST_PROTOCOL",
    "LimitExceededError",
    "Limits",
    "MalformedPickleError",
    "PickleBuffer",
    "PickleError",
    "Pickler",
    "PicklingError",
    "PlaceholderWarning",
    "Policy",
    "TruncatedPickleError",
    "Unpicklable",
    "Unpickler",
    "UnpicklingError",
    "UnsafeGlobalError",
    "UnsafeOperationError",
    "cloud",
    "dump",
    "dumps",
    "explain",
    "hash",
    "load",
    "load_session",
    "loads",
    "profiles",
    "save_session",
]

# Public names of the features, imported on first use so that `import brined`
# stays fast and needs nothing outside the stdlib: name -> the module that
# defines it (a name that is the module's own is the module itself).
_LAZY: dict[str, str] = {
    "Cache": ".cache",
    "CacheMiss": ".cache",
    "Checkpoint": ".checkpoint",
    "cloud": ".cloud",
    "explain": ".diagnostics",
    "hash": ".hashing",
    "load_session": ".checkpoint",
    "profiles": ".profiles",
    "save_session": ".checkpoint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brined' has no attribute {name!r}")
    from importlib import import_module

    found = import_module(module, __name__)
    value = found if module == "." + name else getattr(found, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
