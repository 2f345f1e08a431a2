"""The compiled build's pickler driver: `run_levels`, and its native writes.

`Pickler._run` hands the common case (protocol >= 1, no `persistent_id`, not
fast mode) to `run_levels` when the pickler runs compiled: the same save order
and the same bytes as `Pickler._run_entries`, the interpreted build's driver,
in the shape mypyc compiles best: typed locals, lists and tuples indexed
natively, every opcode written into librt's `BytesWriter` with direct C calls,
the memo kept in an `IdMemo` table (`memo.py`).  The savers it calls
(`Pickler._save_compound`, `_save_long`, ...) still write to the pickler's
bytearray, drained into the writer after each call.

Nothing here runs in the interpreted build; the module is imported by both so
that the pickler has one set of imports; it imports librt only compiled.
"""

from __future__ import annotations

from pickle import PickleBuffer
from types import FunctionType
from typing import TYPE_CHECKING, Any, Final, cast

from .._build import COMPILED
from .._format.opcodes import BATCHSIZE
from .base import _copyreg_newobj, _copyreg_table, _drain, _Entry
from .canonical import canonical_atom, canonical_order
from .paths import annotate
from .reduce import ext_opcode, find_global
from .savers import Savers
from .writes import (
    BOXES,
    NO_STRS,
    SMALL_DICT,
    box,
    lent_hit,
    write_atom,
    write_atom_det,
    write_det_sized,
    write_flat,
    write_get,
    write_put,
    write_sized,
)

if COMPILED:
    # Native writes, compiled to direct C calls; the interpreted build never
    # imports librt (it has no dependencies).
    from librt.strings import BytesWriter, write_f64_be, write_i16_le, write_i32_le
    from mypy_extensions import i64

if TYPE_CHECKING:
    from .memo import IdMemo

# The kinds of level `run_levels` drives (see there).
_K_SEQ: Final = 0  # lst[i:end] then the closer (bytes)
_K_LIST: Final = 1  # a list being saved (lst), batch by batch, its length live
_K_DICT: Final = 2  # a dict (owner): keys in lst, values in tup, batch by batch
_K_BATCH: Final = 3  # a set (owner) as lst, batch by batch
_K_TUPLE: Final = 4  # tup's items, then TUPLE*; `end` holds a count of levels
_K_NEWOBJ: Final = 5  # (cls, args) as tup, then NEWOBJ, memo, owner's state
_K_ITER: Final = 6  # an entry: the iterator owner, then the closer
_K_REDUCE: Final = 7  # (func, args) as tup, then REDUCE, memo, owner's state
_K_GLOBAL: Final = 8  # (module, name) as tup, then STACK_GLOBAL, memo owner
_K_LAST: Final = 9  # one item (owner), then the closer; a dict's size in `end`
# Lists up to this long are written in place when they can be (`run_levels`).
_WALK_MAX: Final = 64
# The types whose classes `_save_type` saves as reduce values, not by name.
_SINGLETON_TYPES: Final = (type(None), type(...), type(NotImplemented))
_DONE: Final = object()  # the end of a _K_ITER level


def _reduce_or_done(reduce_ex: Any, proto: int) -> Any:
    """``reduce_ex(proto)``, or `_DONE` if it raises (best-effort dumps then
    let `_save_compound` check the object again, and replace it)."""
    try:
        return reduce_ex(proto)
    except Exception:
        return _DONE


def _atom_tuple(canon: dict[Any, Any], tup: tuple[Any, ...]) -> Any:
    """`canonical_atom` of `tup`, called only when it may be a tuple of atoms
    (not empty, only atoms and tuples in it): the common tuples that are not
    (a reduce value's state, a record) skip the call."""
    if not tup:
        return tup
    for x in tup:
        tx = type(x)
        if not (
            tx is str
            or tx is int
            or tx is float
            or x is None
            or tx is bytes
            or tx is bool
            or tx is tuple
        ):
            return tup
    return canonical_atom(canon, tup)


def run_levels(p: Savers, obj: Any, w: BytesWriter, mt: IdMemo) -> None:
    """Save `obj` without recursion (the compiled build's driver).

    The object being saved is a *level*: what it still has to save and how
    it ends.  The current level lives in typed locals (`kind`, the list `lst`
    or tuple `tup` with the position `i` and the end `end`, the container
    `owner`, the `closer`); a level waiting on a child is pushed on `stack`
    as a tuple of them.  Atoms, memo hits and the opcodes of lists, dicts,
    sets, tuples and plain objects are written on the spot, into the native
    writer `w` (a dict, or a short list, of atoms and memo hits whole, with
    no level: `write_atom`); anything else goes through `_save_compound`, whose entry
    ``(items, closer)`` becomes a `_K_ITER` level.  A saver that needs to
    write between its parts is a generator used as such `items`: it resumes
    only once the part it yielded has been saved whole.  The helpers write
    to the bytearray `buf`, which is drained into `w` after each call.

    This loop serves the common case (protocol >= 1, no `persistent_id`, no
    fast mode) in the compiled build, where indexing a typed list or tuple
    is native; `_run_entries` serves the rest.
    """
    buf = p._buf
    _drain(w, buf)
    proto = p.proto
    short_str = proto >= 4
    bytes_ok = proto >= 3
    sets_inline = proto >= 4
    short_tuples = proto >= 2
    # Protocols 4 and 5 (the default ones) memoize with one opcode.
    memoize_op = proto >= 4
    stack: list[tuple[i64, list[Any], tuple[Any, ...], i64, i64, Any, Any, Any]] = []
    opened: i64 = 0  # levels opened so far
    # The top-level object is the one item of a first level.
    kind: i64 = _K_SEQ
    lst: list[Any] = [obj]
    tup: tuple[Any, ...] = ()
    i: i64 = 0
    end: i64 = 1
    owner: Any = None
    # The closing opcode (an int; -1: none) of _K_SEQ, _K_LIST and _K_BATCH
    # levels; the state of a _K_NEWOBJ or _K_REDUCE level; the closer of a
    # _K_ITER one.
    closer: Any = -1
    op = -1
    item: Any = None
    # The object this level saves (the error path's chain, `paths`).
    me: Any = _DONE
    key = 0  # id(item), for the memo's lookup and store
    entry: _Entry | None = None
    # Objects reduced the default way (copyreg.__newobj__, no items) take
    # a _K_NEWOBJ level, when no hook could intervene; those reduced to a
    # plain call (no items, no state setter) a _K_REDUCE level.
    plain_reduce = (
        proto >= 2 and p._reducer_override is None and p._own_dispatch_table is None
    )
    # Types a subclass vouches its hooks leave alone (its reducer_override
    # returns NotImplemented and its dispatch_table has no entry for them;
    # brined.cloud keeps such a set): their instances may take the plain
    # path even though hooks are set.  The set may grow during the dump.  Not
    # in best-effort dumps: their reducer_override must see every object,
    # except those of the classes `replace` itself checked once and vouches
    # for (`_checked_types`, kept by `brined.explain`'s pickler): an instance
    # whose reduce fails or takes another shape still goes to
    # `_save_compound` (its check, or a placeholder).  Looked up only when a
    # hook is set: on the engine's own class the lookup fails, and a failed
    # getattr (an AttributeError made and dropped) was half of a
    # `dumps(None)`.
    hook_free: Any = None
    checked = False
    if proto >= 2 and not plain_reduce:
        if not p._placeholder:
            hook_free = getattr(p, "_hook_free_types", None)
        else:
            hook_free = getattr(p, "_checked_types", None)
            checked = hook_free is not None
    copyreg_table = _copyreg_table
    # Deterministic dumps: atoms by value, set elements ordered (`canonical`).
    det = p._det
    canon = p._canon
    # Its strings are memoized by value only: `strs` maps each to its memo
    # index, and one `setdefault` of the next index, boxed once in `nb`
    # (`nb_idx`), is the lookup and, on a miss, the entry.
    strs = mt.by_value() if det else NO_STRS
    lent = mt.lent  # see `write_atom_det`
    nb_idx: i64 = -1
    nb: object = None
    # Best-effort dumps (`replace`) read the levels' objects from here.
    p._level_stack = stack
    try:
        while True:
            # -- the next item of the current level, or its end
            if kind == _K_ITER:
                item = next(owner, _DONE)
                _drain(w, buf)
                have = item is not _DONE
            elif kind == _K_LAST:
                have = i == 0
                if have:
                    item = owner
                    i = 1
            elif kind >= _K_TUPLE:
                have = i < len(tup)
                if have:
                    item = tup[i]
                    i += 1
            else:
                have = i < end and (kind != _K_LIST or i < len(lst))
                if have:
                    if kind == _K_DICT:
                        # Item i of the pairs: key, value, key, value...
                        item = tup[i >> 1] if i & 1 else lst[i >> 1]
                    else:
                        item = lst[i]
                    i += 1
            if not have:
                if kind == _K_LIST:
                    op = cast(int, closer)  # typed: a native append
                    w.append(op)
                    if op == 0x65 and i < len(lst):  # APPENDS
                        w.append(0x28)  # MARK: the next batch
                        end = i + BATCHSIZE
                        continue
                elif kind == _K_SEQ:
                    op = cast(int, closer)  # typed: a native append
                    if op >= 0:
                        w.append(op)
                elif kind == _K_TUPLE:
                    n = len(tup)
                    short = n <= 3 and short_tuples
                    # With no level opened under it, it cannot be in the memo.
                    idx = mt.find(id(tup)) if opened != end else -1
                    if idx >= 0:
                        # Recursive: its items led back to it.  Drop them (and
                        # the MARK) and fetch the tuple from the memo.
                        if short:
                            for _ in range(n):
                                w.append(0x30)  # POP
                        else:
                            w.append(0x31)  # POP_MARK
                        write_get(w, idx)
                    else:
                        # TUPLE1..3 are 0x85..0x87; TUPLE is "t".  (Two
                        # appends: one of a conditional is a Python call.)
                        if short:
                            w.append(0x84 + n)
                        else:
                            w.append(0x74)
                        write_put(w, mt.add(id(tup), tup), memoize_op)
                elif kind in (_K_NEWOBJ, _K_REDUCE):
                    w.append(0x81 if kind == _K_NEWOBJ else 0x52)  # NEWOBJ, REDUCE
                    key = id(owner)
                    idx = mt.find(key) if opened != end else -1
                    if idx >= 0:
                        # Reached again through its own arguments.
                        w.append(0x30)  # POP
                        write_get(w, idx)
                    else:
                        write_put(w, mt.add(key, owner), memoize_op)
                        if closer is not None:
                            # The state, then BUILD, in place of this level.
                            kind = _K_LAST
                            owner = closer
                            i = 0
                            end = -1  # no dict to check
                            closer = 0x62  # BUILD
                            continue
                elif kind == _K_GLOBAL:
                    w.append(0x93)  # STACK_GLOBAL
                    write_put(w, mt.add(id(owner), owner), memoize_op)
                elif kind == _K_DICT:
                    op = cast(int, closer)  # typed: a native append
                    w.append(op)
                    if op == 0x75:  # SETITEMS
                        if len(owner) != len(lst):
                            raise RuntimeError(
                                "dictionary changed size during iteration"
                            )
                        if end < 2 * len(lst):
                            w.append(0x28)  # MARK: the next batch
                            end = min(end + 2 * BATCHSIZE, 2 * len(lst))
                            continue
                        if len(lst) % BATCHSIZE == 0:
                            # C writes an empty batch after a full last one.
                            w.append(0x28)  # MARK
                            w.append(op)
                elif kind == _K_LAST:
                    op = cast(int, closer)  # typed: a native append
                    w.append(op)
                    if end >= 0 and len(me) != end:
                        raise RuntimeError("dictionary changed size during iteration")
                elif kind == _K_BATCH:
                    op = cast(int, closer)  # typed: a native append
                    w.append(op)
                    if len(owner) != len(lst):
                        raise RuntimeError("set changed size during iteration")
                    if end < len(lst):
                        w.append(0x28)  # MARK: the next batch
                        end = min(end + BATCHSIZE, len(lst))
                        continue
                    if len(lst) % BATCHSIZE == 0:
                        # C writes an empty batch after a full last one.
                        w.append(0x28)  # MARK
                        w.append(op)
                else:
                    if isinstance(closer, bytes):
                        data = closer
                        w.write(data)
                    else:
                        # A closer may hand back what the object still has to
                        # save.
                        entry = closer()
                        _drain(w, buf)
                        if entry is not None:
                            kind = _K_ITER
                            owner = entry[0]
                            closer = entry[1]
                            continue
                if not stack:
                    return
                kind, lst, tup, i, end, owner, closer, me = stack.pop()
                continue

            # -- save `item`, in _pickle.c's order of checks
            if len(w) >= p._frame_limit:
                p._commit_frame()
            t = type(item)
            if t is str:
                if det:
                    # Equal strings share (`canonical`), by value: `strs`.
                    # The keys of small dicts (attribute names, a record's
                    # fields) are most often the same objects again: they
                    # are memoized by id too, and looked up by id first.
                    key = -1
                    if kind == _K_DICT and i & 1 and len(lst) <= SMALL_DICT:
                        key = id(item)
                        idx = mt.find(key)
                        if idx >= 0:
                            write_get(w, idx)
                            continue
                    if nb_idx != mt.used:
                        nb_idx = mt.used
                        nb = BOXES[nb_idx] if nb_idx < len(BOXES) else box(nb_idx)
                    x = strs.setdefault(item, nb)
                    if x is not nb:
                        if not lent or lent_hit(mt, x, item):
                            write_get(w, x)
                            continue
                        strs[item] = nb  # an earlier dump's: absent
                else:
                    key = id(item)
                    idx = mt.find(key)
                    if idx >= 0:
                        write_get(w, idx)
                        continue
                text: str = item  # typed: compiled, encode is native
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:
                    data = text.encode("utf-8", "surrogatepass")
                n = len(data)
                if n <= 0xFF and short_str:
                    # The common case inline (`write_sized`).
                    w.append(0x8C)  # SHORT_BINUNICODE
                    w.append(n)
                    w.write(data)
                elif not det:
                    # BINUNICODE, BINUNICODE8
                    write_sized(p, w, data, short_str, 0x8C, 0x58, 0x8D, "a string")
                else:
                    write_det_sized(p, w, data, short_str, strs, item)
                idx = mt.add(key, item) if key >= 0 else mt.reserve(item)
                if memoize_op:
                    w.append(0x94)  # MEMOIZE
                else:
                    write_put(w, idx, False)
                continue
            if t is int:
                v: int = item  # typed: compiled, comparisons are native
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
                    _drain(w, buf)
                continue
            if t is float:
                f: float = item
                w.append(0x47)  # BINFLOAT
                write_f64_be(w, f)
                continue
            if item is None:
                w.append(0x4E)  # NONE
                continue
            if t is bool:
                if short_tuples:
                    w.append(0x88 if item else 0x89)  # NEWTRUE, NEWFALSE
                else:
                    w.write(b"I01\n" if item else b"I00\n")
                continue
            key = id(item)
            idx = mt.find(key)
            if idx < 0 and det and (t is bytes or t is tuple):
                # Equal ones share (`canonical`), as strings above; the
                # empty tuple is never memoized, and a tuple holding more
                # than atoms is never shared.
                c = (
                    canon.setdefault(item, item)
                    if t is bytes
                    else _atom_tuple(canon, item)
                )
                if c is not item:
                    item = c
                    key = id(c)
                    idx = mt.find(key)
            if idx >= 0:
                write_get(w, idx)
                continue
            if t is bytes and bytes_ok:
                # SHORT_BINBYTES, BINBYTES, BINBYTES8
                write_sized(p, w, item, True, 0x43, 0x42, 0x8E, "a bytes object")
                write_put(w, mt.add(key, item), memoize_op)
                continue
            if t is list:
                items: list[Any] = item
                w.append(0x5D)  # EMPTY_LIST
                write_put(w, mt.add(key, item), memoize_op)
                n = len(items)
                if not n:
                    continue
                # As a dict: written in place while its items are atoms or
                # memo hits (no code runs, so the length stays `n`), a level
                # from the first that is not, at `j`.  Only short lists: per
                # item, the walk's call costs more than this loop's own
                # dispatch; what it saves is the level, once per list.
                j: i64 = 0
                if n > 1:
                    w.append(0x28)  # MARK
                    if n <= _WALK_MAX:
                        while j < n:  # one batch: n < BATCHSIZE
                            if not (
                                (
                                    write_atom(
                                        p,
                                        w,
                                        mt,
                                        items[j],
                                        short_str,
                                        memoize_op,
                                        short_tuples,
                                    )
                                    or write_flat(
                                        p,
                                        w,
                                        mt,
                                        items[j],
                                        short_str,
                                        memoize_op,
                                        short_tuples,
                                        None,
                                    )
                                )
                                if not det
                                else (
                                    write_atom_det(
                                        p,
                                        w,
                                        mt,
                                        items[j],
                                        short_str,
                                        memoize_op,
                                        short_tuples,
                                        strs,
                                        False,
                                    )
                                    or write_flat(
                                        p,
                                        w,
                                        mt,
                                        items[j],
                                        short_str,
                                        memoize_op,
                                        short_tuples,
                                        strs,
                                    )
                                )
                            ):
                                break
                            j += 1
                        if j == n:
                            w.append(0x65)  # APPENDS
                            continue
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                kind = _K_LIST
                lst = items
                i = j
                if n == 1:
                    end = 1
                    closer = 0x61  # APPEND
                else:
                    end = BATCHSIZE
                    closer = 0x65  # APPENDS
                continue
            if t is dict:
                d: dict[Any, Any] = item
                w.append(0x7D)  # EMPTY_DICT
                write_put(w, mt.add(key, item), memoize_op)
                n = len(d)
                if not n:
                    continue
                if n > 1:
                    w.append(0x28)  # MARK
                # Walk the dict in place (PyDict_Next, as C does, no copy and
                # no level) while its keys and values are atoms or memo hits,
                # which run no code that could change the dict.  The first
                # item that is not: `pos`, `rest`.
                pos: i64 = 0
                rest: Any = _DONE
                # Deterministic dumps: strings by value (`write_atom_det`), a
                # small dict's keys by id first, as below.
                small = det and n <= SMALL_DICT
                for dkey, dval in d.items():
                    if pos and pos % (2 * BATCHSIZE) == 0:
                        w.append(0x75)  # SETITEMS
                        w.append(0x28)  # MARK: the next batch
                    if not (
                        write_atom(p, w, mt, dkey, short_str, memoize_op, short_tuples)
                        if not det
                        else write_atom_det(
                            p,
                            w,
                            mt,
                            dkey,
                            short_str,
                            memoize_op,
                            short_tuples,
                            strs,
                            small,
                        )
                    ):
                        rest = dkey
                        break
                    pos += 1
                    if not (
                        (
                            write_atom(
                                p, w, mt, dval, short_str, memoize_op, short_tuples
                            )
                            or write_flat(
                                p,
                                w,
                                mt,
                                dval,
                                short_str,
                                memoize_op,
                                short_tuples,
                                None,
                            )
                        )
                        if not det
                        else (
                            write_atom_det(
                                p,
                                w,
                                mt,
                                dval,
                                short_str,
                                memoize_op,
                                short_tuples,
                                strs,
                                False,
                            )
                            or write_flat(
                                p,
                                w,
                                mt,
                                dval,
                                short_str,
                                memoize_op,
                                short_tuples,
                                strs,
                            )
                        )
                    ):
                        rest = dval
                        break
                    pos += 1
                if rest is _DONE:
                    if n == 1:
                        w.append(0x73)  # SETITEM
                    else:
                        w.append(0x75)  # SETITEMS
                        if n % BATCHSIZE == 0:
                            # C writes an empty batch after a full last one.
                            w.append(0x28)  # MARK
                            w.append(0x75)  # SETITEMS
                    continue
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                i = 0
                closer = 0x73 if n == 1 else 0x75  # SETITEM, SETITEMS
                if pos == 2 * n - 1 and n < BATCHSIZE:
                    # Only the last value is left (a child container, say):
                    # no copy of the dict for it.
                    kind = _K_LAST
                    owner = rest
                    end = n
                    continue
                kind = _K_DICT
                # The rest from copies, resumed at `pos`: a child may run code
                # that changes the dict.  Both made by C loops over the dict:
                # cheaper than one list of keys and values built pair by pair.
                lst = list(d)
                tup = tuple(d.values())
                owner = d
                i = pos
                end = min(2 * n, (pos // (2 * BATCHSIZE) + 1) * 2 * BATCHSIZE)
                continue
            if t is tuple:
                tp: tuple[Any, ...] = item
                n = len(tp)
                if not n:
                    w.append(0x29)  # EMPTY_TUPLE
                    continue
                if n > 3 or not short_tuples:
                    w.append(0x28)  # MARK
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                kind = _K_TUPLE
                tup = tp
                i = 0
                end = opened  # see the end of a _K_TUPLE level
                continue
            if t is set and sets_inline:
                w.append(0x8F)  # EMPTY_SET
                mt.add(key, item)
                w.append(0x94)  # MEMOIZE
                if not item:
                    continue
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                kind = _K_BATCH
                lst = canonical_order(p, item) if det else list(item)
                owner = item
                i = 0
                w.append(0x28)  # MARK
                end = min(len(lst), BATCHSIZE)
                closer = 0x90  # ADDITEMS
                continue
            if (
                short_str
                and plain_reduce
                and (
                    t is FunctionType
                    or (t is type and item not in _SINGLETON_TYPES)
                    or (
                        t is not type and t not in copyreg_table and issubclass(t, type)
                    )
                )
            ):
                # A class or function by name (protocols 4 and 5), as
                # `_save_global` writes it, without a generator's level.
                ref = find_global(item, None, proto)
                if ref.ext_code:
                    w.write(ext_opcode(ref.ext_code))
                    continue
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                kind = _K_GLOBAL
                tup = (ref.module, ref.name)
                i = 0
                owner = item
                continue
            if (
                (plain_reduce or (hook_free is not None and t in hook_free))
                and t is not type
                and t is not FunctionType
                and t not in copyreg_table
                and t is not frozenset
                and t is not bytearray
                and t is not PickleBuffer
                and t is not bytes
                and t is not set
                and not issubclass(t, type)
            ):
                reduce_ex = getattr(item, "__reduce_ex__", None)
                if reduce_ex is not None:
                    rv = (
                        _reduce_or_done(reduce_ex, proto)
                        if checked
                        else reduce_ex(proto)
                    )
                    if (
                        type(rv) is tuple
                        and 2 <= len(rv) <= 5
                        and rv[0] is _copyreg_newobj
                    ):
                        rvt: tuple[Any, ...] = rv
                        args = rvt[1]
                        if (
                            type(args) is tuple
                            and len(args) >= 1
                            and args[0] is t
                            and item.__class__ is t
                            and (len(rvt) < 4 or rvt[3] is None)
                            and (len(rvt) < 5 or rvt[4] is None)
                        ):
                            stack.append((kind, lst, tup, i, end, owner, closer, me))
                            me = item
                            opened += 1
                            kind = _K_NEWOBJ
                            tup = (t, args[1:])
                            i = 0
                            end = opened
                            owner = item
                            closer = rvt[2] if len(rvt) > 2 else None
                            continue
                    if (
                        not checked
                        and type(rv) is tuple
                        and 2 <= len(rv) <= 5
                        and callable(rv[0])
                        and type(rv[1]) is tuple
                        and (len(rv) < 4 or rv[3] is None)
                        and (len(rv) < 5 or rv[4] is None)
                    ):
                        # A plain call, as `_reduce_parts` would write it
                        # unless the callable is named as copyreg's.
                        rvt = rv
                        name = getattr(rvt[0], "__name__", None)
                        if name != "__newobj__" and name != "__newobj_ex__":
                            stack.append((kind, lst, tup, i, end, owner, closer, me))
                            me = item
                            opened += 1
                            kind = _K_REDUCE
                            tup = (rvt[0], rvt[1])
                            i = 0
                            end = opened
                            owner = item
                            closer = rvt[2] if len(rvt) > 2 else None
                            continue
                    if checked:
                        p._level_me = me
                        entry = p._save_compound(item)
                    else:
                        entry = p._save_reduce_value(item, rv)
                else:
                    p._level_me = me  # for a best-effort `reducer_override`
                    entry = p._save_compound(item)
            else:
                p._level_me = me
                entry = p._save_compound(item)
            _drain(w, buf)
            if entry is not None:
                stack.append((kind, lst, tup, i, end, owner, closer, me))
                me = item
                opened += 1
                kind = _K_ITER
                owner = entry[0]
                closer = entry[1]
    except Exception as exc:
        # The objects of the levels, root first, then the one being saved.
        chain = [level[7] for level in stack if level[7] is not _DONE]
        if me is not _DONE:
            chain.append(me)
        if item is not _DONE and (not chain or item is not chain[-1]):
            chain.append(item)
        annotate(exc, chain)
        raise
    finally:
        p._level_stack = None
        p._level_me = None
