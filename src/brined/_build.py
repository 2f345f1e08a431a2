"""Which build is running: the mypyc-compiled one or the interpreted one.

Modules that take a different path in each build test `COMPILED`; the compiled
build's byte primitives come from librt.strings (mypyc's runtime library, a
dependency of the compiled wheel only), imported under ``if COMPILED:`` so that
the interpreted build never needs it.
"""

from __future__ import annotations

from types import FunctionType
from typing import Final


def _probe() -> None:
    """Only here to be looked at: compiled, it is no Python function."""


# True in the mypyc-compiled build (see ARCHITECTURE.md, "Builds").
COMPILED: Final = type(_probe) is not FunctionType
