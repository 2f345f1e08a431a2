"""The compiled pickler's memo: object ids to memo indices, with no boxing.

`Pickler.memo` is a dict ``{id(obj): (index, obj)}`` in the standard library.
Kept as such, every memoized object costs a boxed id, a tuple and a dict insert,
and every lookup hashes a boxed id: most of what the compiled driver spent on
str- and container-heavy data.  `IdMemo` is what C's ``PyMemoTable`` is: open
addressing over unboxed ``(id, index)`` pairs (librt's ``vec[i64]``), plus a
list that keeps the memoized objects alive (their ids must stay theirs).

Only the compiled build imports this module (librt is its dependency, not the
interpreted build's); `Pickler` turns the table into the stdlib's dict only when
someone asks for `Pickler.memo` (`export`).
"""

from __future__ import annotations

from typing import Any, final

from librt.vecs import append, extend, vec
from mypy_extensions import i64

# Slots in a table's first allocation (at its first entry: `dumps` makes a
# table per call, often for few entries or none).
_FIRST_SIZE: i64 = 16
# Zeros made by doubling when making a table (32 KiB: its transient copies
# stay small); larger tables copy this block.
_ZERO_BLOCK: i64 = 4096


@final  # native calls to its methods are then direct, not through a vtable
class IdMemo:
    """Memo indices by object id, starting from the entries of `base`.

    `slots` holds ``size`` pairs ``(id, index)``, an id of 0 marking a free
    slot (no object lives at address 0); the table is kept at most 2/3 full.
    Probing is C's (and the dict's): the first slot from the address alone,
    which keeps objects that are neighbours in memory (often memoized
    together) in neighbouring slots; after a collision, the higher bits of
    the address are mixed in ("perturb"), which breaks up runs.
    """

    def __init__(self, base: dict[Any, Any]) -> None:
        self.slots: vec[i64] = vec[i64]()  # allocated by the first entry
        self.mask: i64 = 0
        self.used: i64 = 0
        # A stdlib-form memo to start from (it keeps its objects alive), and
        # the objects added since, by index from len(base) on.
        self.base = base
        self.objs: list[Any] = []
        if base:
            for key, value in base.items():
                self._insert(key, value[0])

    def find(self, key: int) -> int:
        """The index stored for the object whose id is `key`, or -1."""
        if self.used == 0:
            return -1
        k: i64 = key
        slots = self.slots
        mask = self.mask
        perturb = k >> 4  # the alignment bits are always 0
        i = perturb & mask
        while True:
            x = slots[2 * i]
            if x == k:
                return slots[2 * i + 1]
            if x == 0:
                return -1
            i = (i * 5 + perturb + 1) & mask
            perturb >>= 5

    def add(self, key: int, obj: object) -> int:
        """Store `obj` (whose id is `key`, not in the table) under the next
        index, which is returned: the number of entries so far, as in the
        stdlib's ``len(memo)``."""
        idx = self.used
        self._insert(key, idx)
        self.objs.append(obj)
        return idx

    def _insert(self, key: i64, index: i64) -> None:
        if (self.used + 1) * 3 > self.mask * 2:
            self._grow()
        slots = self.slots
        mask = self.mask
        perturb = key >> 4  # as in `find`
        i = perturb & mask
        while slots[2 * i] != 0:
            i = (i * 5 + perturb + 1) & mask
            perturb >>= 5
        slots[2 * i] = key
        slots[2 * i + 1] = index
        self.used += 1

    def _grow(self) -> None:
        old = self.slots
        # As C's memo table grows: 4x while small, then 2x (memory for
        # millions of entries).  Growing 2x from 10k entries on measured
        # slower: glibc then keeps returning the heap to the system after
        # each dump and faulting it back in on the next.
        size = _FIRST_SIZE
        if self.used:
            size = (self.mask + 1) * (4 if self.used < 50000 else 2)
        self.slots = _free_slots(size)
        self.mask = size - 1
        self.used = 0
        j: i64 = 0
        n = len(old)
        while j < n:
            k = old[j]
            if k != 0:
                self._insert(k, old[j + 1])
            j += 2

    def export(self) -> None:
        """Add the entries made since the last export to `base`, in the
        stdlib's form ``{id(obj): (index, obj)}``."""
        base = self.base
        objs = self.objs
        idx = self.used - len(objs)
        for obj in objs:
            base[id(obj)] = (idx, obj)
            idx += 1
        self.objs = []


def _free_slots(size: i64) -> vec[i64]:
    """`size` free slots: ``2 * size`` zeros (`size` is a power of 2).

    Zeros are doubled up to a block (appending them one by one costs ~5 ns
    each).  A vec extended by itself is copied to a new buffer at every step,
    which is cheap for a block but not for a table of megabytes: those
    transient copies made glibc trim the heap after each dump and fault it
    back in on the next.  So a larger table is filled by copying the block."""
    n = 2 * size
    block = append(vec[i64](), 0)
    while len(block) < min(n, _ZERO_BLOCK):
        block = extend(block, block)
    if n <= _ZERO_BLOCK:
        return block
    slots = vec[i64](capacity=n)
    while len(slots) < n:
        slots = extend(slots, block)
    return slots
