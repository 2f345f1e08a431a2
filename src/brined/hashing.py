"""`hash`: a content hash of a value, stable across processes and releases.

``brined.hash(obj)`` is the hex digest of the deterministic pickle of `obj`
(``dumps(obj, protocol=5, deterministic=True)``), streamed into the hash a
frame at a time: the pickle is never held whole in memory, and payloads of
64 KiB or more (bytes, numpy arrays, `PickleBuffer`) go to the hash in place,
without copies.  The algorithm, SHA-256 by default, was picked by measurement
(docs/determinism.md): with CPU support it is hashlib's fastest here.

Stability: the digest depends only on the value (not on ``id()``s, hash
seeds or insertion history of sets) and is pinned by golden tests
(tests/golden/hash_v1.json).  It changes only if the pickled form of the
value changes: e.g. a class moved to another module, or a library that
changes its own ``__reduce__``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._dump.pickler import Pickler

__all__ = ["hash"]

DEFAULT_ALGORITHM = "sha256"


class _HashSink:
    """The pickler's file: every write goes to the hash."""

    __slots__ = ("write",)

    def __init__(self, hasher: Any) -> None:
        self.write = hasher.update


def hash(  # noqa: A001 - brined.hash is the public name the issue asks for
    obj: Any, *, algorithm: str = DEFAULT_ALGORITHM, protocol: int = 5
) -> str:
    """The hex digest of the deterministic pickle of `obj`.

    Equal values give equal digests in every process (whatever
    ``PYTHONHASHSEED``); `algorithm` is any name `hashlib.new` accepts.
    Raises what `dumps` raises for an object that cannot be pickled.
    """
    hasher = hashlib.new(algorithm)
    Pickler(_HashSink(hasher), protocol, deterministic=True).dump(obj)
    return hasher.hexdigest()
