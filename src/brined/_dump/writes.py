"""The native writes of `levels.run_levels` (the compiled build's driver).

Each helper writes one opcode (or an atom with its opcodes) into librt's
`BytesWriter` with direct C calls: memo gets and puts, sized strings and
bytes, the atoms a dict or short list is walked through in place
(`write_atom`), and the strings of deterministic dumps, memoised by value
(`box`, `write_det_sized`).  Like `levels`, nothing here runs in the
interpreted build; it imports librt only compiled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .._build import COMPILED
from .._format.opcodes import FRAME_SIZE_TARGET
from ..errors import PicklingError
from .base import _drain
from .savers import Savers

if COMPILED:
    from librt.strings import BytesWriter, write_f64_be, write_i16_le, write_i32_le
    from mypy_extensions import i64, u8

if TYPE_CHECKING:
    from .memo import IdMemo


def write_u32(w: BytesWriter, n: int) -> None:
    """Write 0 <= n < 2**32 as 4 bytes, little-endian (librt's writers of
    unsigned ints are not compiled natively by this mypyc: same bits, signed)."""
    write_i32_le(w, n - 0x100000000 if n > 0x7FFFFFFF else n)


def write_sized(
    p: Savers,
    w: BytesWriter,
    data: bytes,
    short_ok: bool,
    op1: u8,
    op4: u8,
    op8: u8,
    what: str,
) -> None:
    """`data` (a str's UTF-8 or a bytes object) after the header C writes: a
    1-byte length (`op1`, when `short_ok`), a 4-byte one (`op4`), or for 64 KiB
    and more, outside any frame (`Pickler._write_large`, with `op8` beyond 4 GiB)."""
    n = len(data)
    if n <= 0xFF and short_ok:
        w.append(op1)
        w.append(n)
    elif n < FRAME_SIZE_TARGET:
        w.append(op4)
        write_u32(w, n)
    else:
        header = p._long_header(n, bytes((op4,)), bytes((op8,)), what)
        p._write_large(header, data)
        _drain(w, p._buf)
        return
    w.write(data)


def write_get(w: BytesWriter, idx: int) -> None:
    """Fetch memo entry `idx` (BINGET, LONG_BINGET): `Pickler._write_get`."""
    if idx < 256:
        w.append(0x68)  # BINGET
        w.append(idx)
    elif idx <= 0xFFFFFFFF:
        w.append(0x6A)  # LONG_BINGET
        write_u32(w, idx)
    else:
        raise PicklingError("memo id too large for LONG_BINGET")


def write_put(w: BytesWriter, idx: int, memoize_op: bool) -> None:
    """Store the stack top as memo entry `idx` (protocols 1-5): `_memoize`."""
    if memoize_op:
        w.append(0x94)  # MEMOIZE
    elif idx < 256:
        w.append(0x71)  # BINPUT
        w.append(idx)
    elif idx <= 0xFFFFFFFF:
        w.append(0x72)  # LONG_BINPUT
        write_u32(w, idx)
    else:
        raise PicklingError("memo id too large for LONG_BINPUT")


# The `strs` of dumps that are not deterministic: never used.
NO_STRS: Final[dict[str, Any]] = {}
# The memo indices that are the values of `strs`, boxed once for all dumps:
# boxing an index above 256 makes an int (and its entry later frees it),
# which cost about a third of what a string of a deterministic dump adds.
# Indices up to `MAX_BOXES` are kept (2.3 MB at most).
BOXES: Final[list[object]] = []
MAX_BOXES: Final = 1 << 16
# Dicts up to this many keys have theirs looked up by id first.
SMALL_DICT: Final = 64
# The by-value table of the last deterministic `dumps` that ended well, lent
# to the next one (`lend_strs`, `keep_strs`), with the bytes of the pickles
# whose strings it holds: a new table grows from empty, a new block copied
# over at each growth and fresh pages each call (~40% of what a distinct
# string adds to a deterministic dump).  Its entries are the earlier dumps'
# until this one sets them: a hit is this dump's only if this dump gave its
# index to an equal string (`lent_hit`); otherwise the entry is set anew.
# Most often a dump of the same shape finds each entry at the index it
# gives the string anyway: one lookup.
# Kept while the pickles that filled it total at most `SPARE_STRS_MAX` bytes
# (that much of their strings it keeps alive) and it has at most
# `MAX_BOXES` entries.
# A hit by value in a lent table costs a check (the memo's object at that
# index, compared): when a lent dump checked more hits than half its table's
# entries, the next `LEND_PAUSE` dumps are lent no table (each grows its own,
# which then replaces the spare), as a fresh table's hits need no check.
# `PAUSE[0]`: how many are left.
SPARE_STRS: Final[list[tuple[dict[str, Any], int]]] = []
SPARE_STRS_MAX: Final = 4 << 20
LEND_PAUSE: Final = 16
PAUSE: Final[list[int]] = [0]


def box(idx: i64) -> object:
    """`idx` as an object: from `BOXES`, extended to it if it may be."""
    if idx >= MAX_BOXES:
        return idx
    n = len(BOXES)
    more = list(range(n, min(max(2 * n, idx + 1, 1024), MAX_BOXES)))
    # Item i must be i: extended only if no other thread extended it since
    # (making `more` may run a collection, and Python code; the check and
    # the extend do not).
    if len(BOXES) == n:
        BOXES.extend(more)
    return idx if idx >= len(BOXES) else BOXES[idx]


def lend_strs(mt: IdMemo) -> int:
    """Give `mt` (a new table, of a one-shot deterministic `dumps`) the spare
    by-value table, if there is one; the bytes of the pickles it holds the
    strings of (0 without one), for `keep_strs`."""
    if PAUSE[0] > 0:
        return 0  # the spare stays, for `keep_strs` to replace
    try:
        strs, held = SPARE_STRS.pop()
    except IndexError:
        return 0
    mt.strs = strs
    mt.lent = True
    return held


def keep_strs(mt: IdMemo, held: int) -> None:
    """Keep the by-value table of a deterministic `dumps` that ended well
    (`held`: the bytes of the pickles whose strings it holds, this one's
    included) for the next one, if it may be kept."""
    strs = mt.strs
    if strs is None:
        return
    if mt.lent and mt.checks > len(strs) // 2:
        PAUSE[0] = LEND_PAUSE
    elif PAUSE[0] > 0:
        PAUSE[0] -= 1
        # Lent to no one, its table replaces the spare: the spare is freed
        # now, after this dump's table has grown, so the next one's growth
        # reuses its memory.  (Freed with nothing kept, the C library handed
        # the heap back to the system, and each dump faulted in its table,
        # writer and result again: ~400 page faults a records_1mb dump.)
        if SPARE_STRS:
            SPARE_STRS.pop()
    if (
        not SPARE_STRS
        and held <= SPARE_STRS_MAX
        and len(strs) <= MAX_BOXES
        and not mt.base
    ):
        SPARE_STRS.append((strs, held))


def lent_hit(mt: IdMemo, got: Any, x: str) -> bool:
    """Whether `got`, the value of the string `x` in a lent table, was set
    by this dump: whether this dump gave index `got` to a string equal to
    `x`.  (A string of a deterministic dump enters the memo only through
    `strs`, which then holds its index.)"""
    mt.checks += 1
    idx: i64 = got
    if idx >= mt.used:
        return False
    o = mt.objs[idx - (mt.used - len(mt.objs))]
    return o is x or (type(o) is str and o == x)


def write_det_sized(
    p: Savers,
    w: BytesWriter,
    data: bytes,
    short_str: bool,
    strs: dict[str, Any],
    item: str,
) -> None:
    """`write_sized` of a string of a deterministic dump, which `strs`
    already holds: if it cannot be written, it is not in the memo either."""
    try:
        # BINUNICODE, BINUNICODE8
        write_sized(p, w, data, short_str, 0x8C, 0x58, 0x8D, "a string")
    except BaseException:
        del strs[item]
        raise


def write_atom(
    p: Savers,
    w: BytesWriter,
    mt: IdMemo,
    x: Any,
    short_str: bool,
    memoize_op: bool,
    short_tuples: bool,
) -> bool:
    """Save `x` if that runs no code of the object's and opens no level: a
    str, int, float, None or bool, or a memo hit; False (nothing written) for
    anything else.  `run_levels`'s own order of checks and bytes; for the
    dict and short-list walks (deterministic dumps: `write_atom_det`)."""
    if len(w) >= p._frame_limit:
        p._commit_frame()
    t = type(x)
    if t is str:
        key = id(x)
        idx = mt.find(key)
        if idx >= 0:
            write_get(w, idx)
            return True
        text: str = x
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogatepass")
        n = len(data)
        if n <= 0xFF and short_str:
            w.append(0x8C)  # SHORT_BINUNICODE
            w.append(n)
            w.write(data)
        else:
            write_sized(p, w, data, short_str, 0x8C, 0x58, 0x8D, "a string")
        write_put(w, mt.add(key, x), memoize_op)
        return True
    if t is int:
        v: int = x
        if 0 <= v <= 0xFF:
            w.append(0x4B)  # BININT1
            w.append(v)
        elif 0 <= v <= 0xFFFF:
            w.append(0x4D)  # BININT2
            write_i16_le(w, v - 0x10000 if v > 0x7FFF else v)
        elif -0x80000000 <= v <= 0x7FFFFFFF:
            w.append(0x4A)  # BININT
            write_i32_le(w, v)
        else:
            p._save_long(v)
            _drain(w, p._buf)
        return True
    if t is float:
        f: float = x
        w.append(0x47)  # BINFLOAT
        write_f64_be(w, f)
        return True
    if x is None:
        w.append(0x4E)  # NONE
        return True
    if t is bool:
        if short_tuples:
            w.append(0x88 if x else 0x89)  # NEWTRUE, NEWFALSE
        else:
            w.write(b"I01\n" if x else b"I00\n")
        return True
    idx = mt.find(id(x))
    if idx >= 0:
        write_get(w, idx)
        return True
    return False


def write_atom_det(
    p: Savers,
    w: BytesWriter,
    mt: IdMemo,
    x: Any,
    short_str: bool,
    memoize_op: bool,
    short_tuples: bool,
    strs: dict[str, Any],
    by_id: bool,
) -> bool:
    """`write_atom` in a deterministic dump: a string is memoised by value
    (`strs`), as `run_levels` does; `by_id`: a small dict's key, which is
    most often the same object again, is looked up by id first.  Its own
    function: folded into `write_atom` as two more arguments, the default
    walks measured 3-4% slower (dict_str_float_10k, deep_cyclic)."""
    t = type(x)
    if t is not str:
        if t is int or t is float:
            # The numbers of records and tables, here rather than through
            # `write_atom`: one call and one frame check each, not two.
            if len(w) >= p._frame_limit:
                p._commit_frame()
            if t is float:
                f: float = x
                w.append(0x47)  # BINFLOAT
                write_f64_be(w, f)
                return True
            v: int = x
            if 0 <= v <= 0xFF:
                w.append(0x4B)  # BININT1
                w.append(v)
            elif 0 <= v <= 0xFFFF:
                w.append(0x4D)  # BININT2
                write_i16_le(w, v - 0x10000 if v > 0x7FFF else v)
            elif -0x80000000 <= v <= 0x7FFFFFFF:
                w.append(0x4A)  # BININT
                write_i32_le(w, v)
            else:
                p._save_long(v)
                _drain(w, p._buf)
            return True
        return write_atom(p, w, mt, x, short_str, memoize_op, short_tuples)
    if len(w) >= p._frame_limit:
        p._commit_frame()
    key: i64 = -1
    if by_id:
        key = id(x)
        idx = mt.find(key)
        if idx >= 0:
            write_get(w, idx)
            return True
    nb_idx = mt.used
    nb = BOXES[nb_idx] if nb_idx < len(BOXES) else box(nb_idx)
    got = strs.setdefault(x, nb)
    if got is not nb:
        if not mt.lent or lent_hit(mt, got, x):
            write_get(w, got)
            return True
        strs[x] = nb  # an earlier dump's entry: absent (`SPARE_STRS`)
    text: str = x
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    n = len(data)
    if n <= 0xFF and short_str:
        w.append(0x8C)  # SHORT_BINUNICODE
        w.append(n)
        w.write(data)
    else:
        write_det_sized(p, w, data, short_str, strs, x)
    write_put(w, mt.add(key, x) if key >= 0 else mt.reserve(x), memoize_op)
    return True


# Lists of up to `FLAT_MAX` atoms, and dicts of up to `FLAT_DICT_MAX`, are
# written whole where a walk meets them (`write_flat`).  A dict is iterated
# twice (checked, then written), ~100 instructions a pair each time: for a
# dict of 10 (pyperf_dict's), more than the level it saves its owner.
FLAT_MAX: Final = 64
FLAT_DICT_MAX: Final = 8


def write_flat(
    p: Savers,
    w: BytesWriter,
    mt: IdMemo,
    x: Any,
    short_str: bool,
    memoize_op: bool,
    short_tuples: bool,
    strs: dict[str, Any] | None,
) -> bool:
    """Save `x` if it is a list of at most `FLAT_MAX` items or a dict of at
    most `FLAT_DICT_MAX`, all atoms (str, int, float, None, bool: what
    `write_atom` writes without running code), as `run_levels` would:
    EMPTY_LIST or EMPTY_DICT, the memo put, the items, APPEND(S) or
    SETITEM(S); False (nothing written) for anything else.  For the default
    dict and short-list walks, after `write_atom` missed `x` in the memo: a
    record's list of tags or dict of fields then opens no level, and the
    walk of its owner goes on (a dict's walk would otherwise copy the
    owner's keys and values).  `strs`: a deterministic dump's by-value
    table; the atoms then go through `write_atom_det`, as the walk's det
    branches write them (a small dict's keys by id first)."""
    t = type(x)
    if t is list:
        items: list[Any] = x
        n = len(items)
        if n > FLAT_MAX:
            return False
        for y in items:
            ty = type(y)
            if not (ty is str or ty is int or ty is float or y is None or ty is bool):
                return False
        w.append(0x5D)  # EMPTY_LIST
        write_put(w, mt.add(id(x), x), memoize_op)
        if not n:
            return True
        if n > 1:
            w.append(0x28)  # MARK
        j: i64 = 0
        while j < n:
            if strs is None:
                write_atom(p, w, mt, items[j], short_str, memoize_op, short_tuples)
            else:
                write_atom_det(
                    p, w, mt, items[j], short_str, memoize_op, short_tuples, strs, False
                )
            j += 1
        w.append(0x65 if n > 1 else 0x61)  # APPENDS, APPEND
        return True
    if t is dict:
        d: dict[Any, Any] = x
        n = len(d)
        if n > FLAT_DICT_MAX:
            return False
        for k, v in d.items():
            tk = type(k)
            tv = type(v)
            if not (
                (tk is str or tk is int or tk is float or k is None or tk is bool)
                and (tv is str or tv is int or tv is float or v is None or tv is bool)
            ):
                return False
        w.append(0x7D)  # EMPTY_DICT
        write_put(w, mt.add(id(x), x), memoize_op)
        if not n:
            return True
        if n > 1:
            w.append(0x28)  # MARK
        if strs is None:
            for k, v in d.items():
                write_atom(p, w, mt, k, short_str, memoize_op, short_tuples)
                write_atom(p, w, mt, v, short_str, memoize_op, short_tuples)
        else:
            for k, v in d.items():
                write_atom_det(
                    p, w, mt, k, short_str, memoize_op, short_tuples, strs, True
                )
                write_atom_det(
                    p, w, mt, v, short_str, memoize_op, short_tuples, strs, False
                )
        w.append(0x75 if n > 1 else 0x73)  # SETITEMS, SETITEM
        return True
    return False
