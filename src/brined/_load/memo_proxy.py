"""`Unpickler.memo`: a live mapping over the unpickler's memo storage.

The loop keeps the memo as a list (indices 0, 1, 2... in the order picklers
write them) plus a dict for any other key (see `_Machine.memo`).  This view
gives it the stdlib's dict-like interface, as the C unpickler's memo proxy
does.  It stays interpreted in the compiled build: mypyc cannot compile a
class derived from an ABC, and nothing here is on a hot path.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol

__all__ = ["MemoOwner", "MemoProxy"]


class MemoOwner(Protocol):
    """What the view needs of an unpickler (`_Guarded` provides it)."""

    _memo: list[Any]
    _memo_extra: dict[Any, Any]

    def _memo_get(self, key: Any) -> Any: ...

    def _memo_put(self, key: Any, obj: Any) -> None: ...

    def _memo_del(self, key: Any) -> None: ...

    def _memo_len(self) -> int: ...


class MemoProxy(MutableMapping[Any, Any]):
    """`Unpickler.memo`: a live view of an unpickler's memo (index -> object)."""

    def __init__(self, owner: MemoOwner) -> None:
        self._owner = owner

    def __getitem__(self, key: Any) -> Any:
        return self._owner._memo_get(key)

    def __setitem__(self, key: Any, obj: Any) -> None:
        self._owner._memo_put(key, obj)

    def __delitem__(self, key: Any) -> None:
        self._owner._memo_del(key)

    def __iter__(self) -> Iterator[Any]:
        owner = self._owner
        yield from range(len(owner._memo))
        yield from list(owner._memo_extra)

    def __len__(self) -> int:
        return self._owner._memo_len()

    def clear(self) -> None:
        self._owner._memo.clear()
        self._owner._memo_extra.clear()

    def copy(self) -> dict[Any, Any]:
        """The memo's entries, as a new dict."""
        return dict(self.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.copy()!r})"
