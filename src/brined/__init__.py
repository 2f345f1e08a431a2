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

# Features load on first use, so ``import brined`` stays small and fast:
# public name -> (module, attribute or "" for the module itself).
_LAZY: dict[str, tuple[str, str]] = {
    "profiles": (".profiles", ""),
}


def __getattr__(name: str) -> object:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'brined' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(target[0], __name__)
    return getattr(module, target[1]) if target[1] else module


__all__ = [
    "COMPILED",
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
    "profiles",
]
