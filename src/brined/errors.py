"""The exception hierarchy.

Every brined exception is also the stdlib's: `except pickle.UnpicklingError:` written
for the standard module keeps catching what brined raises.  Loading errors carry
*where* (byte offset, opcode name) as attributes as well as in the message.

    pickle.PickleError
    └── PickleError
        ├── PicklingError            (also pickle.PicklingError)
        └── UnpicklingError          (also pickle.UnpicklingError)
            ├── MalformedPickleError     the bytes are not a valid pickle
            │   └── TruncatedPickleError the input ended early (also EOFError)
            ├── UnsafeGlobalError        a global the policy does not allow
            ├── UnsafeOperationError     an operation the guards refuse
            └── LimitExceededError       a resource limit was reached
"""

from __future__ import annotations

import pickle as _stdlib

__all__ = [
    "PickleError",
    "PicklingError",
    "UnpicklingError",
    "MalformedPickleError",
    "TruncatedPickleError",
    "UnsafeGlobalError",
    "UnsafeOperationError",
    "LimitExceededError",
    "PlaceholderWarning",
]


class PickleError(_stdlib.PickleError):
    """Base of every brined error."""


class PicklingError(PickleError, _stdlib.PicklingError):
    """An object could not be pickled."""


class UnpicklingError(PickleError, _stdlib.UnpicklingError):
    """A pickle could not be loaded.

    `offset` is the byte offset of the opcode that failed (counted from the start of
    this pickle) and `opcode` its name, when known.  `path` is where in the object
    being built it failed (``root['a'][1]``; it starts with ``...`` when the
    containers above are not known), or None.
    """

    path: str | None = None

    def __init__(
        self, message: str, *, offset: int | None = None, opcode: str | None = None
    ) -> None:
        super().__init__(message)
        self.offset = offset
        self.opcode = opcode


class MalformedPickleError(UnpicklingError):
    """The input is not a valid pickle (bad opcode, stack or mark errors, ...)."""


class TruncatedPickleError(MalformedPickleError, EOFError):
    """The input ended before the pickle did.

    Also an `EOFError`, like the stdlib's "Ran out of input", so loops such as
    ``while True: load(f)`` that stop on `EOFError` keep working.
    """


class UnsafeGlobalError(UnpicklingError):
    """The pickle refers to a global that the load policy does not allow.

    `module` and `name` say which.
    """

    def __init__(
        self,
        message: str,
        *,
        module: str | None = None,
        name: str | None = None,
        offset: int | None = None,
        opcode: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, opcode=opcode)
        self.module = module
        self.name = name


class UnsafeOperationError(UnpicklingError):
    """The pickle asks for an operation that safe loading refuses.

    `rule` names the guard that refused it (for example ``"build-target"``).
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        offset: int | None = None,
        opcode: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, opcode=opcode)
        self.rule = rule


class LimitExceededError(UnpicklingError):
    """Loading would exceed one of the configured resource limits.

    `limit` names the `brined.Limits` field that was reached, when one was.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str | None = None,
        offset: int | None = None,
        opcode: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, opcode=opcode)
        self.limit = limit


class _MalformedValueError(MalformedPickleError, ValueError):
    """A malformed pickle where the stdlib raises ValueError (a bad literal, an
    unsupported protocol...): also a ValueError, so ``except ValueError`` written
    for the stdlib keeps working.  Private: catch `MalformedPickleError`.
    """


class _MalformedTypeError(MalformedPickleError, TypeError):
    """A malformed pickle where the stdlib raises TypeError (REDUCE arguments
    that are not a tuple): also a TypeError, as `_MalformedValueError` is a
    ValueError.  Private: catch `MalformedPickleError`.
    """


class PlaceholderWarning(UserWarning):
    """``dump``/``dumps(..., on_error="placeholder")`` replaced objects it could
    not pickle by `brined.Unpicklable` (the message lists their paths)."""


def type_name(obj: object) -> str:
    """The qualified name of `obj`'s type (no module for builtins), as error
    messages and paths name it on both the dump and the load side."""
    t = type(obj)
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", t.__name__)
    if module in (None, "builtins"):
        return str(name)
    return f"{module}.{name}"
