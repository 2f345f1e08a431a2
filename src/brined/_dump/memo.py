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

from typing import Any, Final, final

from librt.vecs import extend, vec
from mypy_extensions import i64

# Slots in a table's first allocation (at its first entry: `dumps` makes a
# table per call, often for few entries or none).
_FIRST_SIZE: Final = 64
# Zeros copied to make a table (32 KiB: made once); larger tables are made by
# copying it repeatedly.
_ZERO_BLOCK: Final = 4096
_ZEROS: Final = vec[i64]([0] * _ZERO_BLOCK)
# The table of the last `dumps` that ended well, cleared, for the next one
# that needs a table (`recycle`): a new table is fresh memory (for a large one,
# memory glibc hands back to the system after each call and faults in again,
# page by page, as the next call zeroes it), and growing one rehashes every
# entry again.  Only tables up to `_SPARE_MAX` slots (4 MiB), and only those
# at least 1/`_SPARE_FILL` full, which bounds clearing to a few stores per
# entry the dump made.  One spare per process, in the one slot of `_SPARE`
# (None: none), taken by reading the slot and setting it to None: compiled,
# no Python code runs between the two, so no two threads take the same table
# (a list's `pop` and `append` would also resize its array at every call).
_SPARE: Final[list[Any]] = [None]
# The one key of a by-value table that is not a string (`by_value`).
_NOT_A_STR: Final[Any] = object()
_SPARE_MAX: Final = 1 << 18
_SPARE_FILL: Final = 8


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
        # The free slot where `find`'s last miss ended (-1: none), and the
        # key it missed: where `add` of that key stores without probing.
        self.free: i64 = -1
        self.free_key: i64 = 0
        # A stdlib-form memo to start from (it keeps its objects alive), and
        # the objects added since, by index from len(base) on.
        self.base = base
        self.objs: list[Any] = []
        # Deterministic dumps memoize strings by value only (`by_value`).
        self.strs: dict[str, Any] | None = None
        # Whether `strs` was lent by an earlier `dumps` (`writes.lend_strs`):
        # then only some of its entries are this dump's (`writes.lent_hit`).
        self.lent = False
        self.checks: i64 = 0  # hits `writes.lent_hit` checked
        if base:
            for key, value in base.items():
                self._insert(key, value[0])

    def find(self, key: int) -> int:
        """The index stored for the object whose id is `key`, or -1.

        A miss remembers the free slot it ended at: `add` of the same key
        then stores there without probing again."""
        if self.used == 0:
            self.free = -1
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
                self.free = i
                self.free_key = k
                return -1
            i = (i * 5 + perturb + 1) & mask
            perturb >>= 5

    def add(self, key: int, obj: object) -> int:
        """Store `obj` (whose id is `key`, not in the table) under the next
        index, which is returned: the number of entries so far, as in the
        stdlib's ``len(memo)``.

        After `find` missed `key`, the slot it ended at is where probing
        for `key` would end again, as long as that slot is still free: slots
        only fill up, so the ones before it on the probe path are still
        taken (a growth forgets the slot)."""
        idx = self.used
        i = self.free
        k: i64 = key
        self.free = -1
        # The table in a local: each `self.slots` is a read of the attribute
        # and a reference taken and dropped.
        slots = self.slots
        if (
            i >= 0
            and self.free_key == k
            and (idx + 1) * 3 <= self.mask * 2
            and slots[2 * i] == 0
        ):
            slots[2 * i] = k
            slots[2 * i + 1] = idx
            self.used = idx + 1
        else:
            self._insert(key, idx)
        self.objs.append(obj)
        return idx

    def reserve(self, obj: object) -> int:
        """The next index, for `obj`, with no entry by id: a string of a
        deterministic dump, whose index `by_value` holds instead."""
        idx = self.used
        if self.mask == 0:
            self._grow()  # the first table: `find` reads it
        # Not grown for it: the table holds no entry for it.  Its load
        # counts `used`, reserved indices included, so the next `add`
        # grows it (4x an add) until it has the size it would have had.
        self.used = idx + 1
        self.objs.append(obj)
        return idx

    def by_value(self) -> dict[str, Any]:
        """The memo index of each string by value (deterministic dumps):
        empty, or those of `base` when the table starts from a dict."""
        strs = self.strs
        if strs is None:
            # A key that is not a str makes the dict keep each key's hash in
            # its entry: a probe that meets another string compares hashes
            # there, without reading that string (a cache miss, most of a
            # look-up in a table of 10^4 strings), and a growth rehashes
            # without reading them.
            strs = {_NOT_A_STR: None}
            for value in self.base.values():
                obj = value[1]
                if type(obj) is str:
                    strs.setdefault(obj, value[0])
            self.strs = strs
        return strs

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
        used = self.used
        size: i64 = _FIRST_SIZE
        if used:
            size = (self.mask + 1) * (4 if used < 50000 else 2)
        slots = _spare_slots(size)
        if slots is None:
            slots = _free_slots(size)
        else:
            size = len(slots) >> 1
        self.slots = slots
        self.mask = size - 1
        self.used = 0
        self.free = -1
        j: i64 = 0
        n = len(old)
        while j < n:
            k = old[j]
            if k != 0:
                self._insert(k, old[j + 1])
            j += 2
        # The indices `reserve` handed out have no entry to count.
        self.used = used

    def recycle(self) -> None:
        """Leave the table, cleared, as the spare of the next dump (`_SPARE`)
        if it is one; the table is not used again."""
        slots = self.slots
        size = self.mask + 1
        if size > _SPARE_MAX or self.used * _SPARE_FILL < size or _SPARE[0] is not None:
            return
        self.slots = vec[i64]()
        self.mask = 0
        self.used = 0
        self.free = -1
        # Only the ids mark slots taken: the indices of free ones are never read.
        j: i64 = 0
        n = len(slots)
        while j < n:
            slots[j] = 0
            j += 2
        _SPARE[0] = slots

    def reset(self) -> None:
        """Make the table as new (empty, from an empty `base`), after
        `recycle`: for the next dump of the same pickler."""
        self.slots = vec[i64]()
        self.mask = 0
        self.used = 0
        self.free = -1
        self.objs.clear()  # (frees its array, as a new list would have none)
        self.lent = False
        self.checks = 0

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


def _spare_slots(size: i64) -> vec[i64] | None:
    """The spare table (`_SPARE`), all free, if it has from `size` to four
    times `size` slots: a larger one would cost more to clear after this
    dump than it saves; it stays for a larger dump."""
    spare = _SPARE[0]
    if spare is None:
        return None
    slots: vec[i64] = spare
    n = len(slots) >> 1
    if n > 4 * size:
        return None  # it stays for a larger dump
    _SPARE[0] = None
    if n < size:
        return None  # this dump's table replaces it
    return slots


def _free_slots(size: i64) -> vec[i64]:
    """`size` free slots: ``2 * size`` zeros (`size` is a power of 2).

    A small table is one copy of part of a block of zeros made at import.  A
    larger one is filled by copying the whole block into a buffer of the
    final capacity: a vec extended by itself would be copied to a new buffer
    at every step, and for a table of megabytes those transient copies made
    glibc trim the heap after each dump and fault it back in on the next."""
    n = 2 * size
    if n <= _ZERO_BLOCK:
        return _ZEROS[:n]
    slots = vec[i64](capacity=n)
    while len(slots) < n:
        slots = extend(slots, _ZEROS)
    return slots
