"""The module-level `load` and `loads`: one `Unpickler` per call.

`loads` keeps one spare unpickler between calls: making an Unpickler proper
and its containers, and freeing them, was about a third of a small `loads`
(and eight GC-tracked objects a call).  The spare is taken with one
``set.pop``, atomic between threads (a set, not a list: a list that empties
frees its storage and allocates it again on the next append); a nested
`loads`, from a REDUCE, finds the set empty and makes its own.  It is put back
only after a load that succeeded, and holds no reference to the input or to
what it loaded while it waits (`_Guarded._release`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from .._build import COMPILED
from .._safe.limits import Limits
from .io import _as_bytes, _BytesFile
from .unpickler import Unpickler

__all__ = ["load", "loads"]

_SPARE: Final[set[Unpickler]] = set()


def load(
    file: Any,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    trusted: bool = False,
    allow: Iterable[object] | str | None = None,
    limits: Limits | None = None,
) -> Any:
    """Read one pickle from `file` and return the object; see `Unpickler`."""
    return Unpickler(
        file,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
        buffers=buffers,
        trusted=trusted,
        allow=allow,
        limits=limits,
    ).load()


def loads(
    data: Any,
    /,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    trusted: bool = False,
    allow: Iterable[object] | str | None = None,
    limits: Limits | None = None,
) -> Any:
    """Return the object pickled in `data` (any bytes-like object).

    Safe by default: only plain-data globals load unless `allow` names more or
    ``trusted=True``, the opcode guards refuse what plain data never needs, and
    `limits` (default `brined.Limits()`) bound memory, depth and time.  Raises
    a `brined.UnpicklingError` subclass for any input it cannot load.  Bytes
    after the pickle's STOP opcode are ignored.
    """
    file = _BytesFile(_as_bytes(data))
    unpickler: Unpickler | None = None
    if _SPARE:
        # (Not contextlib.suppress: compiled, a with block costs a call.)
        try:  # noqa: SIM105
            unpickler = _SPARE.pop()
        except KeyError:  # another thread took it
            pass
    if unpickler is None:
        unpickler = Unpickler(
            file,
            fix_imports=fix_imports,
            encoding=encoding,
            errors=errors,
            buffers=buffers,
            trusted=trusted,
            allow=allow,
            limits=limits,
        )
    else:
        unpickler._configure(
            file,
            bool(fix_imports),
            encoding,
            errors,
            buffers,
            bool(trusted),
            allow,
            limits,
            COMPILED,
            True,
        )
    value = unpickler.load()
    # Kept for the next call only after a load that succeeded (a failed one's
    # unpickler may be half-way through anything) and emptied first.
    unpickler._release()
    if not _SPARE:
        _SPARE.add(unpickler)
    return value
