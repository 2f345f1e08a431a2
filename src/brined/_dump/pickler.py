"""The pickler: objects to bytes, identical to CPython's C pickler (`_pickle.c`).

Rules that govern this module:

* **The bytes are the C pickler's.**  Save order, opcode choice, batching, memo
  placement and framing follow `_pickle.c`, not `pickle.py`: where the two differ
  (an empty trailing batch for dicts and sets of exactly k*1000 items, one-item
  leftover batches, early return of `save_reduce` on a memo hit, memoizing a
  `PickleBuffer` itself) the C pickler wins.
* **No recursion per nesting level.**  Saving a container pushes what it still
  has to save on an explicit stack instead of calling itself; depth is bounded by
  memory, never by `sys.getrecursionlimit()`.  Two drivers share the savers:
  `_run_entries` (entries of an iterator and a closer; the interpreted build, and
  persistent ids, fast mode and protocol 0 in both builds) and `run_levels`
  (typed locals, lists and tuples indexed natively, plain-object NEWOBJ inline;
  the compiled build's common case, writing into librt's native `BytesWriter`
  and keeping the memo in an `IdMemo` table, `memo.py`).  The tests
  run both builds, so both are held to the C pickler's bytes.
* **Frames are committed where C commits them**: at the start of every `save()`
  of an object, when the open frame holds 64 KiB or more.  Payloads of 64 KiB or
  more are written outside frames.
* **Hooks are looked up once per `dump()`** and dropped afterwards, so a pickler
  keeps no reference cycle to itself between dumps.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain as _chain
from pickle import PickleBuffer
from types import FunctionType, GeneratorType
from typing import Any, Final

from .._build import COMPILED as _COMPILED
from .._format.opcodes import BATCHSIZE

if _COMPILED:
    # Native writes, compiled to direct C calls; the interpreted build never
    # imports librt (it has no dependencies).
    from librt.strings import BytesWriter

    from .memo import IdMemo
from ..errors import PicklingError
from .base import (
    _BINGET,
    _BININT1,
    _BYTES_SINK,
    _PROTO_OPS,
    _SHORT_BINUNICODE,
    _TUPLE_OPS,
    _copyreg_newobj,
    _copyreg_table,
    _Entry,
    _NoPersistentId,
    _pack_binfloat,
    _pack_binint,
    _pack_binint2,
    _pack_long_binget,
    mypyc_attr,
)
from .canonical import canonical_atom, set_element_dumps
from .levels import run_levels
from .paths import annotate
from .replace import reduce_or_replace, warn_replaced
from .savers import Savers
from .writes import keep_strs, lend_strs

# The native writer of the last `dumps` that ended well, emptied, for the next
# one (compiled build): a new writer's memory is fresh pages, which the C
# library hands back to the system after each call and faults in again on
# the next (~15% of a 200 KB dumps in a process that only runs brined); a
# reused one has its pages.
# One spare per process, in the one slot of `_SPARE` (None: none), and only a
# writer whose last pickle was at most `_SPARE_MAX` bytes: that much memory is
# kept.  Taken by reading the slot and setting it to None: compiled, no Python
# code runs between the two (the GIL is not let go), so no two threads take
# the same writer; a slot, not a list's `pop` and `append`, which resized the
# list's array at every call (~400 instructions of a `dumps(None)`).
_SPARE: Final[list[Any]] = [None]
_SPARE_MAX: Final = 4 << 20

# Types `_run_entries` never takes for plain objects: atoms, containers, and
# what `_save_compound` saves before it asks `__reduce_ex__`.
_NOT_PLAIN: Final = frozenset(
    {type, FunctionType, frozenset, bytearray, PickleBuffer, bytes, set}
)

# The most bytes `_run_entries` writes inline for one item: a short str
# (SHORT_BINUNICODE, 255 bytes, MEMOIZE); a container's header is shorter.
_ITEM_MAX: Final = 260
# An entry's items when it only has its closer left.
_EXHAUSTED: Final = iter(())

__all__ = ["PickleBuffer", "Pickler", "dump", "dumps"]


@mypyc_attr(allow_interpreted_subclasses=True)
class Pickler(Savers):
    """Write pickles of objects to a binary file; the stdlib's `Pickler` API.

    `protocol` defaults to `DEFAULT_PROTOCOL`; a negative value selects
    `HIGHEST_PROTOCOL`.  `file` needs only a `write(bytes)` method.  Subclasses may
    define `persistent_id`, `reducer_override` and `dispatch_table` (on the class
    or the instance, also after `__init__`), exactly as with `pickle.Pickler`.
    """

    # Hooks a subclass may define; absent by default, as in the stdlib.
    # dispatch_table: Mapping[type, Callable[[Any], Any]]
    # reducer_override: Callable[[Any], Any]

    # -- the driver ----------------------------------------------------------

    def dump(self, obj: Any) -> None:
        """Write the pickle of `obj` to the file given to the constructor."""
        if not hasattr(self, "_file_write"):
            raise PicklingError(
                f"Pickler.__init__() was not called by {type(self).__name__}.__init__()"
            )
        self._collecting = self._file_write is None
        self._dump(obj)
        self._flush()
        self._w = None

    def _dump(self, obj: Any) -> None:
        if self._placeholder:
            self.replaced = []
            self._replaced_errors = []
        self._start_hooks()
        self._dumping = True
        try:
            self._init_output()
            proto = self.proto
            w: BytesWriter | None = None
            if _COMPILED and self._pers_func is None and not self.fast and self.bin:
                # `run_levels` applies: the output goes to a native writer,
                # the memo to a native table.
                spare = _SPARE[0]
                if spare is None:
                    nw = BytesWriter()
                else:
                    _SPARE[0] = None
                    nw = spare
                # Typed `BytesWriter` (not Optional): its appends are native.
                w = nw
                self._w = nw
                if self._mt is None:
                    mt = self._spare_mt
                    if mt is None:
                        mt = IdMemo(self._memo)
                    else:
                        self._spare_mt = None
                    self._mt = mt
                if proto >= 2:
                    nw.append(0x80)  # PROTO
                    nw.append(proto)
            else:
                if self._mt is not None:
                    # `_run_entries` and the helpers it calls use the dict.
                    self._sync_memo(True)
                if proto >= 2:
                    self._buf += _PROTO_OPS[proto]
            if proto >= 4:
                self._framing = True
                self._open_frame()
            self._run(obj)
            if w is not None:
                w.append(0x2E)  # STOP
            else:
                self._buf += b"\x2e"  # STOP
            if self._framing:
                self._close_frame()
                self._framing = False
        finally:
            self._dumping = False
            self._stop_hooks()
            if self._memo_shared:
                # The dict is the memo: it gets this dump's entries.
                self._sync_memo(True)

    def _getvalue(self) -> bytes:
        mt = self._mt
        if mt is not None:
            # The memo of `dumps` dies with it: its table may serve the next.
            self._mt = None
            mt.recycle()
            if mt.strs is None and not self._memo:
                # Not a deterministic dump's (`keep_strs` reads it), nor
                # started from a dict: the object serves this pickler's next
                # `dumps` (if it is `dumps`' spare), as new.
                mt.reset()
                self._spare_mt = mt
        w = self._w
        last = self._take()
        self._w = None
        if (
            w is not None
            and _SPARE[0] is None
            and self._chunks is None
            and len(last) <= _SPARE_MAX
        ):
            # Empty (`_take` truncated it); no chunk was taken out of it
            # before, so `last` was the most it held.
            _SPARE[0] = w
        chunks = self._chunks
        if chunks is None:
            return last
        chunks.append(last)
        data = b"".join(chunks)
        chunks.clear()
        return data

    def _start_hooks(self) -> None:
        if type(self) is Pickler:
            # The engine's own class (what `dumps` uses): no hook can be set on
            # it, and the failed lookups below would each raise and swallow an
            # AttributeError.
            self._pers_func = None
            self._reducer_override = None
            self._own_dispatch_table = None
            if self._placeholder:
                self._user_override = None
                self._reducer_override = self._reduce_or_replace
            return
        pid = getattr(self, "persistent_id", None)
        # The base method means "no hook".  Ask the class, not the bound method:
        # compiled, a bound method has no __func__ to compare.
        own = getattr(self, "__dict__", None)
        if (own is None or "persistent_id" not in own) and getattr(
            type(self), "persistent_id", None
        ) is Pickler.persistent_id:
            pid = None
        self._pers_func = pid
        self._reducer_override = getattr(self, "reducer_override", None)
        self._own_dispatch_table = getattr(self, "dispatch_table", None)
        if self._placeholder:
            self._user_override = self._reducer_override
            self._reducer_override = self._reduce_or_replace

    def _stop_hooks(self) -> None:
        # Bound methods of self stored on self would keep the pickler alive.
        self._pers_func = None
        self._reducer_override = None
        self._own_dispatch_table = None
        self._user_override = None

    def _reduce_or_replace(self, obj: Any) -> Any:
        """The `reducer_override` of best-effort dumps (`replace`)."""
        return reduce_or_replace(self, obj)

    def _run(self, obj: Any) -> None:
        """Save `obj` without recursion: with `run_levels` when `_dump` gave it
        a writer; otherwise with `_run_entries`."""
        w = self._w
        mt = self._mt
        if w is not None and mt is not None:
            run_levels(self, obj, w, mt)
        else:
            self._run_entries(obj)

    def _run_entries(self, obj: Any) -> None:
        """The driver of the interpreted build, and of the cases `run_levels`
        leaves out (a `persistent_id` hook, fast mode, protocol 0).

        The stack holds entries ``(items, closer)``: an iterator of the objects a
        container still has to save, and what to do when it runs out (bytes to
        write, or a function to call).  Atoms met in `items` are written on the
        spot; anything with parts pushes an entry of its own.  A saver that needs
        to write between its parts is a generator, used as the `items` of its
        entry: it resumes only once the part it yielded has been saved whole.
        Interpreted, ``for item in iterator`` is the cheapest loop there is;
        compiled, `run_levels` indexes typed lists and tuples instead.
        """
        # The object of every entry on the stack, root first: kept for the
        # error path (`paths`) and best-effort dumps, which read it from
        # `_owners` while a dump runs.
        owners: list[Any] = [obj]
        self._owners = owners
        item: Any = obj
        try:
            entry = self._save(obj, True)
            if entry is None:
                return
            stack: list[_Entry] = [entry]
            fast = self.fast
            active: list[int] = [id(obj)] if fast else []
            simple = self._pers_func is None and not fast and self.bin
            # Deterministic dumps: atoms by value (`canonical`).
            det = self._det
            canon = self._canon
            bytes_ok = self.proto >= 3
            buf = self._buf
            # One byte: a bound method call costs less than `buf +=` (no
            # buffer protocol).
            app = buf.append
            memo = self._memo
            short_str = self.proto >= 4
            proto = self.proto
            short_tuples = proto >= 2
            # Objects reduced the default way skip `_save_compound` when no
            # hook could intervene (see `run_levels`'s `plain_reduce`).
            plain = (
                simple
                and proto >= 2
                and self._reducer_override is None
                and self._own_dispatch_table is None
            )
            # `brined.explain`'s pickler: the classes `replace` checked once
            # and vouches for take that path too (as in `run_levels`); an
            # instance whose reduce fails or takes another shape goes back
            # to `_save_compound`, and its check.
            checked: Any = None
            if simple and proto >= 2 and not plain and self._placeholder:
                checked = getattr(self, "_checked_types", None)
            copyreg_table = _copyreg_table
            copyreg_newobj = _copyreg_newobj
            from_iterable = _chain.from_iterable
            # LONG_BINGET of the memo indices hit so far (a look-up costs
            # less than packing it again).
            long_gets: dict[int, bytes] = {}
            while stack:
                top = stack[-1]
                # Items of this entry still to save before the next frame
                # check, which needs none until the frame could be full.
                room = 0
                for item in top[0]:
                    if room:
                        room -= 1
                    else:
                        size = len(buf)
                        limit = self._frame_limit
                        if size >= limit:
                            self._commit_frame()
                        elif type(top[0]) is not GeneratorType:
                            # Each item written inline adds at most
                            # `_ITEM_MAX` bytes; anything else sets `room`
                            # to 0, and so does a new entry.  (A generator
                            # may write between its items.)
                            room = (limit - size) // _ITEM_MAX - 1
                            if room < 0:
                                room = 0
                    if simple:
                        # The atoms and memo hits of protocols 1-5, inline; the
                        # order of checks is still _pickle.c's.
                        t = type(item)
                        if t is str:
                            k = id(item)
                            x = memo.get(k)
                            if x is None and det:
                                # Equal strings share (`canonical`); only a
                                # miss looks its value up (see `run_levels`).
                                c = canon.setdefault(item, item)
                                if c is not item:
                                    item = c
                                    k = id(c)
                                    x = memo.get(k)
                            if x is not None:
                                idx = x[0]
                                if idx < 256:
                                    buf += _BINGET[idx]
                                elif idx <= 0xFFFFFFFF:
                                    got = long_gets.get(idx)
                                    if got is None:
                                        got = _pack_long_binget(0x6A, idx)
                                        long_gets[idx] = got
                                    buf += got  # LONG_BINGET
                                else:
                                    self._write_get(idx)
                                continue
                            if short_str:
                                text: str = item  # typed: compiled, encode is native
                                try:
                                    # No argument: UTF-8, the fastest call.
                                    data = text.encode()
                                except UnicodeEncodeError:
                                    data = text.encode("utf-8", "surrogatepass")
                                n = len(data)
                                if n <= 0xFF:
                                    buf += _SHORT_BINUNICODE[n]
                                    buf += data
                                    memo[k] = (len(memo), item)
                                    app(0x94)  # MEMOIZE
                                    continue
                            self._save_str(item)
                            room = 0
                            continue
                        if t is int:
                            v: int = item  # typed: compiled, comparisons are native
                            if 0 <= v <= 0xFF:
                                buf += _BININT1[v]
                            elif 0 <= v <= 0xFFFF:
                                buf += _pack_binint2(0x4D, v)  # BININT2
                            elif -0x80000000 <= v <= 0x7FFFFFFF:
                                buf += _pack_binint(0x4A, v)  # BININT
                            else:
                                self._save_long(v)
                                room = 0
                            continue
                        if t is float:
                            buf += _pack_binfloat(0x47, item)  # BINFLOAT
                            continue
                        if item is None:
                            app(0x4E)  # NONE
                            continue
                        if t is bool:
                            if short_tuples:
                                app(0x88 if item else 0x89)  # NEWTRUE, NEWFALSE
                            else:
                                self._save_atom(item)
                                room = 0
                            continue
                        x = memo.get(id(item))
                        if x is None and det and (t is tuple or t is bytes):
                            # Equal ones share (see `canonical`).
                            c = canonical_atom(canon, item)
                            if c is not item:
                                item = c
                                x = memo.get(id(c))
                        if x is not None:
                            idx = x[0]
                            if idx < 256:
                                buf += _BINGET[idx]
                            elif idx <= 0xFFFFFFFF:
                                got = long_gets.get(idx)
                                if got is None:
                                    got = _pack_long_binget(0x6A, idx)
                                    long_gets[idx] = got
                                buf += got  # LONG_BINGET
                            else:
                                self._write_get(idx)
                            continue
                        if t is bytes and bytes_ok:
                            self._save_bytes_data(item, item)
                            room = 0
                            continue
                        if t is dict and short_str:
                            # `_save_dict` (protocols 4 and 5), inline.
                            memo[id(item)] = (len(memo), item)
                            n = len(item)
                            if n == 1:
                                buf += b"\x7d\x94"  # EMPTY_DICT MEMOIZE
                                entry = (iter(next(iter(item.items()))), b"s")
                            elif n and n < BATCHSIZE:
                                buf += b"\x7d\x94\x28"  # EMPTY_DICT MEMOIZE MARK
                                entry = (from_iterable(item.items()), b"u")
                            else:
                                buf += b"\x7d\x94"  # EMPTY_DICT MEMOIZE
                                if not n:
                                    continue
                                entry = self._dict_batch(item, iter(item.items()), n)
                        elif t is list and short_str:
                            # `_save_list` (protocols 4 and 5), inline.
                            memo[id(item)] = (len(memo), item)
                            n = len(item)
                            if n == 1:
                                buf += b"\x5d\x94"  # EMPTY_LIST MEMOIZE
                                entry = (iter((item[0],)), b"a")  # APPEND
                            elif n and n <= BATCHSIZE:
                                buf += b"\x5d\x94\x28"  # EMPTY_LIST MEMOIZE MARK
                                entry = (iter(item), b"e")  # APPENDS
                            else:
                                buf += b"\x5d\x94"  # EMPTY_LIST MEMOIZE
                                if not n:
                                    continue
                                entry = self._list_batch(item, 0)
                        elif t is dict:
                            entry = self._save_dict(item)
                        elif t is list:
                            entry = self._save_list(item)
                        elif t is tuple:
                            if not item:
                                app(0x29)  # EMPTY_TUPLE
                                continue
                            # `_save_tuple`, inline; the tuple itself is the
                            # closer, ended below as `_end_tuple` ends it.
                            if len(item) > 3 or not short_tuples:
                                app(0x28)  # MARK
                            entry = (iter(item), item)
                        elif (
                            (plain or (checked is not None and t in checked))
                            and t not in _NOT_PLAIN
                            and t not in copyreg_table
                            and not issubclass(t, type)
                        ):
                            # An object reduced the default way, as
                            # `_save_compound` would (no hook is set).
                            reduce_ex = getattr(item, "__reduce_ex__", None)
                            if reduce_ex is None:
                                entry = self._save_compound(item)
                            else:
                                try:
                                    rv = reduce_ex(proto)
                                except Exception:
                                    if checked is None:
                                        raise
                                    rv = None  # `_save_compound` checks it
                                x = memo.get(id(t))
                                nrv = len(rv) if type(rv) is tuple else 0
                                args = rv[1] if nrv >= 2 else None
                                if (
                                    x is not None
                                    and type(args) is tuple
                                    and nrv <= 5
                                    and rv[0] is copyreg_newobj
                                    and len(args) == 1
                                    and args[0] is t
                                    and item.__class__ is t
                                    and (nrv < 4 or rv[3] is None)
                                    and (nrv < 5 or rv[4] is None)
                                ):
                                    # Its class in the memo, no arguments:
                                    # NEWOBJ written here, no entry for
                                    # the two (their saves run no code).
                                    idx = x[0]
                                    if idx < 256:
                                        buf += _BINGET[idx]
                                    else:
                                        self._write_get(idx)
                                    if len(buf) >= self._frame_limit:
                                        self._commit_frame()
                                    buf += b"\x29\x81"  # EMPTY_TUPLE NEWOBJ
                                    if short_str:
                                        memo[id(item)] = (len(memo), item)
                                        app(0x94)  # MEMOIZE
                                    else:
                                        self._memoize(item)
                                    state = rv[2] if nrv > 2 else None
                                    if state is None:
                                        room = 0
                                        continue
                                    if (
                                        type(state) is dict
                                        and short_str
                                        and 1 < len(state) < BATCHSIZE
                                        and id(state) not in memo
                                    ):
                                        # A state dict, as the loop would
                                        # save it, under an entry that ends
                                        # with BUILD.
                                        stack.append((_EXHAUSTED, b"\x62"))
                                        owners.append(item)
                                        item = state
                                        if len(buf) >= self._frame_limit:
                                            self._commit_frame()
                                        memo[id(item)] = (len(memo), item)
                                        # EMPTY_DICT MEMOIZE MARK
                                        buf += b"\x7d\x94\x28"
                                        entry = (from_iterable(item.items()), b"u")
                                    else:
                                        entry = (iter((state,)), b"\x62")  # BUILD
                                elif checked is not None:
                                    entry = self._save_compound(item)
                                else:
                                    entry = self._save_reduce_value(item, rv)
                        else:
                            entry = self._save_compound(item)
                    elif type(item) is _NoPersistentId:
                        entry = self._save(item.obj, False)
                    else:
                        entry = self._save(item, True)
                    room = 0
                    if entry is not None:
                        if fast:
                            if id(item) in active:
                                raise ValueError(
                                    "fast mode: can't pickle cyclic objects "
                                    f"including object type {type(item).__name__} "
                                    f"at {id(item):#x}"
                                )
                            active.append(id(item))
                        stack.append(entry)
                        owners.append(item)
                        break
                else:
                    stack.pop()
                    closer = top[1]
                    if isinstance(closer, bytes):
                        buf += closer
                    elif isinstance(closer, tuple):
                        # The end of a tuple (`_end_tuple`, inline).
                        n = len(closer)
                        short = n <= 3 and short_tuples
                        x = memo.get(id(closer))
                        if x is not None:
                            # Recursive: drop its items and fetch it.
                            if short:
                                buf += b"0" * n  # POP
                            else:
                                app(0x31)  # POP_MARK
                            self._write_get(x[0])
                        else:
                            buf += _TUPLE_OPS[n] if short else b"t"
                            self._memoize(closer)
                    else:
                        # A closer may hand back what the object still has to save.
                        entry = closer()
                        if entry is not None:
                            stack.append(entry)
                            continue
                    owners.pop()
                    if fast:
                        active.pop()
        except Exception as exc:
            chain = list(owners)
            if item is not chain[-1]:
                chain.append(item)
            annotate(exc, chain)
            raise
        finally:
            self._owners = None

    # -- save: one object ----------------------------------------------------

    def _save(self, obj: Any, check_pid: bool) -> _Entry | None:
        """Save one object, in `_pickle.c`'s order of checks: frame boundary,
        persistent id, atoms, memo, then by type.  Returns the entry `_run` must
        drive to finish it, or None when it is written whole."""
        if len(self._buf) >= self._frame_limit:
            self._commit_frame()
        if self._det:
            obj = canonical_atom(self._canon, obj)
        if check_pid and self._pers_func is not None:
            pid = self._pers_func(obj)
            if pid is not None:
                if self.bin:
                    return (iter((_NoPersistentId(pid),)), b"Q")  # BINPERSID
                self._save_text_pers(pid)
                return None
        if self._save_atom(obj):
            return None
        return self._save_compound(obj)


# The pickler of the last `dumps` with the default options (no
# `buffer_callback`, not deterministic, errors raised) that ended well, for
# the next such call (compiled build): making one and freeing it (a native
# object of some forty attributes, and its containers) was about a third of a
# `dumps(None)`.  Such a pickler is never handed to user code (no hook can be
# set on the engine's own class), and what a dump leaves in it is reset by the
# dump itself (`_dump`'s `finally`, `_getvalue`) or by `_renew`.  One spare per
# process, in one slot taken by reading it and setting it to None: compiled, no
# Python code runs between the two, so no two threads take the same pickler,
# and a `dumps` inside a reducer of another finds the slot empty.
_SPARE_PICKLER: Final[list[Pickler | None]] = [None]


def dump(
    obj: Any,
    file: Any,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: Callable[[PickleBuffer], Any] | None = None,
    deterministic: bool = False,
    on_error: str = "raise",
) -> None:
    """Write the pickle of `obj` to the binary file `file` (like `pickle.dump`).

    `deterministic` and `on_error` are as for `dumps`.
    """
    pickler = Pickler(
        file,
        protocol,
        fix_imports=fix_imports,
        buffer_callback=buffer_callback,
        deterministic=deterministic,
        on_error=on_error,
    )
    pickler.dump(obj)
    if pickler.replaced:
        warn_replaced(pickler.replaced)


def dumps(
    obj: Any,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: Callable[[PickleBuffer], Any] | None = None,
    deterministic: bool = False,
    on_error: str = "raise",
) -> bytes:
    """Return the pickle of `obj` as bytes (like `pickle.dumps`).

    The bytes equal those of CPython's C pickler for the same object and protocol.
    With `deterministic`, they depend only on the value of `obj` (set elements in
    a canonical order, equal strings, bytes and tuples of atoms shared; see
    docs/determinism.md); such a pickle still loads with `pickle.loads`.
    ``on_error="placeholder"`` replaces each object that cannot be pickled by a
    `brined.Unpicklable` (its path, type and the reason) and warns with
    `brined.errors.PlaceholderWarning` listing them; the default, ``"raise"``,
    raises the error, with the path of the culprit in ``exc.path`` and notes.
    """
    if (
        _COMPILED
        and buffer_callback is None
        and not deterministic
        and on_error == "raise"
    ):
        # The default options: the pickler of the last such call that ended
        # well, if it is free (`_SPARE_PICKLER`).
        p = _SPARE_PICKLER[0]
        if p is None:
            p = Pickler(_BYTES_SINK, protocol, fix_imports=fix_imports)
        else:
            _SPARE_PICKLER[0] = None
            p._renew(protocol, fix_imports)
        p._collecting = True
        p._dump(obj)
        data = p._getvalue()
        if _SPARE_PICKLER[0] is None:
            _SPARE_PICKLER[0] = p
        return data
    pickler = Pickler(
        _BYTES_SINK,
        protocol,
        fix_imports=fix_imports,
        buffer_callback=buffer_callback,
        deterministic=deterministic,
        on_error=on_error,
    )
    pickler._collecting = True
    mt: IdMemo | None = None
    held = 0
    if _COMPILED and pickler._det and pickler.bin and not pickler._placeholder:
        # Its strings by value in the table of the last such dumps, if
        # there is one (`writes.SPARE_STRS`).
        mt = IdMemo(pickler._memo)
        held = lend_strs(mt)
        pickler._mt = mt
    pickler._dump(obj)
    if pickler.replaced:
        warn_replaced(pickler.replaced)
    # (`_getvalue` lets go of the memo table.)
    keep = mt is not None and pickler._mt is mt
    data = pickler._getvalue()
    if keep:
        assert mt is not None
        keep_strs(mt, held + len(data))
    return data


# Deterministic dumps order set elements by their own pickles.
set_element_dumps(dumps)
