"""brined: Python object serialization in the pickle format.

A drop-in for the standard `pickle` module: the same API, the same bytes as CPython's
C pickler, no nesting-depth limit, and loading that is safe by default.
"""

from __future__ import annotations

from ._api import Pickler, Unpickler
from ._dump import pickler as _pickler
from ._dump.pickler import PickleBuffer, dump, dumps
from ._format.opcodes import DEFAULT_PROTOCOL, HIGHEST_PROTOCOL
from ._load.unpickler import load, loads
from ._safe.limits import Limits
from ._safe.policy import Policy
from .errors import (
    LimitExceededError,
    MalformedPickleError,
    PickleError,
    PicklingError,
    TruncatedPickleError,
    UnpicklingError,
    UnsafeGlobalError,
    UnsafeOperationError,
)

__version__ = "0.1.0"

# True when this is the mypyc-compiled build (see ARCHITECTURE.md, "Builds"): the
# engine modules are then extension modules, not .py files.
COMPILED: bool = (_pickler.__file__ or "").endswith((".so", ".pyd"))

# Features load on first use, so `import brined` stays fast and dependency-free.
_LAZY = {
    "Cache": "brined.cache",
    "CacheMiss": "brined.cache",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brined' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "COMPILED",
    "Cache",
    "CacheMiss",
    "DEFAULT_PROTOCOL",
    "HIGHEST_PROTOCOL",
    "LimitExceededError",
    "Limits",
    "MalformedPickleError",
    "PickleBuffer",
    "PickleError",
    "Pickler",
    "PicklingError",
    "Policy",
    "TruncatedPickleError",
    "Unpickler",
    "UnpicklingError",
    "UnsafeGlobalError",
    "UnsafeOperationError",
    "dump",
    "dumps",
    "load",
    "loads",
]
