"""`Unpicklable`: what ``on_error="placeholder"`` writes for an object it
could not pickle.

Its pickled name, ``brined.Unpicklable``, and its constructor arguments
(path, type name, reason: three strings) are an on-disk format: never rename
or reorder them.  It is a plain class (this module is never compiled), in the
default allowlist of the safe loader, and loads with the stdlib wherever
brined is importable.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Unpicklable"]


class Unpicklable:
    """Stands in for an object that could not be pickled.

    `path` is where the object was in the pickled graph (``root.a['b'][2]``),
    `type_name` its type's qualified name and `reason` why it could not be
    pickled (the exception, as text).
    """

    __slots__ = ("path", "type_name", "reason")

    def __init__(self, path: str, type_name: str, reason: str) -> None:
        self.path = path
        self.type_name = type_name
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (Unpicklable, (self.path, self.type_name, self.reason))

    def __eq__(self, other: object) -> bool:
        if type(other) is not Unpicklable:
            return NotImplemented
        return (self.path, self.type_name, self.reason) == (
            other.path,
            other.type_name,
            other.reason,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.type_name, self.reason))

    def __repr__(self) -> str:
        return (
            f"Unpicklable(path={self.path!r}, type_name={self.type_name!r}, "
            f"reason={self.reason!r})"
        )


# Pickled by this name (see the module docstring); `brined` exports it.
Unpicklable.__module__ = "brined"
