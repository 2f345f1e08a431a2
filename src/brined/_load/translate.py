"""What a load raises: any exception the loop meets, as brined's errors.

Untrusted loads let nothing but brined's errors (and the file's own OSError)
out: an internal exception becomes one of them, ``from`` it, with the opcode
and byte offset where it happened.  Trusted loads keep the stdlib's types for
what the pickle's own calls raise.
"""

from __future__ import annotations

import sys
from typing import Final

from ..errors import (
    LimitExceededError,
    MalformedPickleError,
    UnpicklingError,
    _MalformedValueError,
)
from .io import op_name, where

__all__ = ["short_text", "translate"]

# Exceptions that already say what went wrong in terms a caller handles.
_PASS_THROUGH: Final = (sys.modules["pickle"].UnpicklingError, OSError)
# What the loop reports when the interpreter itself runs out.
_EXHAUSTED: Final = (MemoryError, RecursionError)


def translate(
    exc: Exception, code: int, offset: int, trusted: bool, user: bool, in_mark: bool
) -> Exception | None:
    """Decide what `load` raises for `exc`: None means re-raise it as is.

    `code` and `offset` locate the opcode, `user` says the exception came out
    of code the pickle called, `in_mark` that a MARK was open.
    """
    here = where(code, offset)
    name = op_name(code)
    if isinstance(exc, UnpicklingError):
        if exc.offset is None:
            # Raised without a location (by the loop or a hook): add it.
            exc.offset = offset
            exc.opcode = name
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (f"{exc.args[0]} ({here})",) + exc.args[1:]
        return None
    if isinstance(exc, _PASS_THROUGH):
        return None
    if isinstance(exc, _EXHAUSTED):
        if trusted:
            return None
        what = "memory" if isinstance(exc, MemoryError) else "recursion depth"
        return LimitExceededError(
            f"the interpreter ran out of {what} ({here})",
            offset=offset,
            opcode=name,
        )
    text = short_text(exc)
    if user:
        if trusted:
            return None
        return MalformedPickleError(
            f"{here}: the call it makes failed: {type(exc).__name__}: {text}",
            offset=offset,
            opcode=name,
        )
    if isinstance(exc, IndexError):
        msg = "unexpected MARK found" if in_mark else "unpickling stack underflow"
        return MalformedPickleError(f"{msg} ({here})", offset=offset, opcode=name)
    if trusted and isinstance(exc, (TypeError, AttributeError)):
        # What the stdlib raises for e.g. an unhashable dict key.
        return None
    if isinstance(exc, ValueError):
        return _MalformedValueError(f"{text} ({here})", offset=offset, opcode=name)
    return MalformedPickleError(
        f"{type(exc).__name__}: {text} ({here})", offset=offset, opcode=name
    )


def short_text(exc: BaseException) -> str:
    # Messages never echo megabytes of input (a bad literal, a huge key...).
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
        text = "<unprintable>"
    if len(text) > 200:
        text = f"{text[:200]}...[{len(text)} chars]"
    return text
