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

import sys
from _codecs import encode as _codecs_encode
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain, islice
from pickle import PickleBuffer
from struct import Struct, pack
from types import FunctionType
from typing import IO, TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._build import COMPILED as _COMPILED

if _COMPILED:
    # Native writes, compiled to direct C calls; the interpreted build never
    # imports librt (it has no dependencies).
    from librt.strings import BytesWriter
    from mypy_extensions import i64, u8

    from .memo import IdMemo
from .._format.opcodes import (
    BATCHSIZE,
    DEFAULT_PROTOCOL,
    FRAME_SIZE_MIN,
    FRAME_SIZE_TARGET,
    HIGHEST_PROTOCOL,
)
from ..errors import PicklingError
from .levels import (
    _copyreg_newobj,
    _copyreg_table,
    _drain,
    _write_frame_header,
    run_levels,
)
from .reduce import (
    check_newobj_args,
    check_newobj_ex_args,
    check_reduce_value,
    encode_long,
    escape_text,
    ext_opcode,
    find_global,
    global_opcode,
)

__all__ = ["PickleBuffer", "Pickler", "dump", "dumps"]

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


_FRAME_HEADER_SIZE: Final = 9
_FRAME_PLACEHOLDER: Final = bytes(_FRAME_HEADER_SIZE)
_NO_LIMIT: Final = sys.maxsize

# Ready-made opcodes for the commonest small arguments.
_BININT1: Final = tuple(bytes((0x4B, i)) for i in range(256))
_BINGET: Final = tuple(bytes((0x68, i)) for i in range(256))
_BINPUT: Final = tuple(bytes((0x71, i)) for i in range(256))
_SHORT_BINUNICODE: Final = tuple(bytes((0x8C, i)) for i in range(256))
_SHORT_BINBYTES: Final = tuple(bytes((0x43, i)) for i in range(256))
_PROTO_OPS: Final = tuple(bytes((0x80, i)) for i in range(HIGHEST_PROTOCOL + 1))
_TUPLE_OPS: Final = (b"", b"\x85", b"\x86", b"\x87")  # TUPLE1..3 by length
# Opcode and argument packed in one call: no to_bytes(), no concatenation.
_pack_binfloat: Final = Struct(">Bd").pack
_pack_binint2: Final = Struct("<BH").pack
_pack_binint: Final = Struct("<Bi").pack
_pack_long_binget: Final = Struct("<BI").pack
_pack_long_binput: Final = _pack_long_binget

# What `Pickler._run` drives: the parts still to save, and what ends the object.
_Entry = tuple[Iterator[Any], "bytes | Callable[[], Any]"]

_LATIN1: Final = "latin1"
class _NoPersistentId:
    """Marks an object (a persistent id) to be saved without asking
    `persistent_id` about it, as C's ``save(self, pid, 1)`` does."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj


@mypyc_attr(allow_interpreted_subclasses=True)
class Pickler:
    """Write pickles of objects to a binary file; the stdlib's `Pickler` API.

    `protocol` defaults to `DEFAULT_PROTOCOL`; a negative value selects
    `HIGHEST_PROTOCOL`.  `file` needs only a `write(bytes)` method.  Subclasses may
    define `persistent_id`, `reducer_override` and `dispatch_table` (on the class
    or the instance, also after `__init__`), exactly as with `pickle.Pickler`.
    """

    # Hooks a subclass may define; absent by default, as in the stdlib.
    # dispatch_table: Mapping[type, Callable[[Any], Any]]
    # reducer_override: Callable[[Any], Any]

    def __init__(
        self,
        file: IO[bytes] | Any,
        protocol: int | None = None,
        *,
        fix_imports: bool = True,
        buffer_callback: Callable[[PickleBuffer], Any] | None = None,
    ) -> None:
        if protocol is None:
            protocol = DEFAULT_PROTOCOL
        elif type(protocol) is not int:
            protocol = int(protocol)
        if protocol < 0:
            protocol = HIGHEST_PROTOCOL
        elif protocol > HIGHEST_PROTOCOL:
            raise ValueError(f"pickle protocol must be <= {HIGHEST_PROTOCOL}")
        if buffer_callback is not None and protocol < 5:
            raise ValueError("buffer_callback needs protocol >= 5")
        self._file_write: Callable[[Any], Any] | None = None
        if file is not _BYTES_SINK:
            try:
                self._file_write = file.write
            except AttributeError:
                raise TypeError("file must have a 'write' attribute") from None
        self.proto = protocol
        self.bin = protocol >= 1
        self.fast = 0
        self.fix_imports = bool(fix_imports and protocol < 3)
        self._buffer_callback = buffer_callback
        # The memo, `{id(obj): (index, obj)}` as in the stdlib; in the compiled
        # build, `run_levels` keeps it as an `IdMemo` (see `memo`).
        self._memo: dict[int, tuple[int, Any]] = {}
        self._mt: IdMemo | None = None
        # Whether `memo` was got or set: the dict may be held outside.
        self._memo_shared = False
        self._dumping = False
        # The output buffers are made by each dump (`_init_output`), not here:
        # `dumps` makes a pickler per call.

    # -- hooks ---------------------------------------------------------------

    def persistent_id(self, obj: Any) -> Any:
        """Return a persistent id for `obj`, or None to pickle it normally."""
        return None

    def clear_memo(self) -> None:
        """Forget every object pickled so far (shared objects are written again)."""
        self._mt = None
        self._memo.clear()

    @property
    def memo(self) -> dict[int, tuple[int, Any]]:
        """The memo as the stdlib has it: ``{id(obj): (index, obj)}``.

        The compiled build's driver keeps it as an `IdMemo` instead (which
        holds every entry of the dict, and more); once the dict has been got or
        set, it is the memo between dumps: such a dump starts from it and adds
        its entries to it when it ends."""
        self._memo_shared = True
        self._sync_memo(not self._dumping)
        return self._memo

    @memo.setter
    def memo(self, memo: dict[int, tuple[int, Any]]) -> None:
        self._memo = memo
        self._mt = None
        self._memo_shared = True

    def _sync_memo(self, drop: bool) -> None:
        """Add the native table's new entries to the dict it started from;
        with `drop`, the dict becomes the memo."""
        mt = self._mt
        if mt is not None:
            mt.export()
            if drop:
                self._mt = None

    # -- output --------------------------------------------------------------

    def _init_output(self) -> None:
        self._buf = bytearray()
        # The compiled driver's output (see `run_levels`); None otherwise.
        self._w: BytesWriter | None = None
        self._chunks: list[Any] = []
        self._frame_start = -1
        self._frame_limit = _NO_LIMIT
        self._framing = False

    def _out_len(self) -> int:
        """The length of the output not yet handed over (`_take`)."""
        w = self._w
        if w is None:
            return len(self._buf)
        _drain(w, self._buf)
        return len(w)

    def _open_frame(self) -> None:
        self._frame_start = self._out_len()
        w = self._w
        if w is None:
            self._buf += _FRAME_PLACEHOLDER
        else:
            w.write(_FRAME_PLACEHOLDER)
        self._frame_limit = self._frame_start + _FRAME_HEADER_SIZE + FRAME_SIZE_TARGET

    def _close_frame(self) -> None:
        """Give the open frame its header (or drop the header if the frame is too
        small to deserve one); on a file, hand everything so far to it."""
        start = self._frame_start
        size = self._out_len() - start - _FRAME_HEADER_SIZE
        w = self._w
        if w is not None:
            if size >= FRAME_SIZE_MIN:
                _write_frame_header(w, start, size)
            else:
                # Fewer than 4 bytes to move back over the placeholder, held
                # in one int (no list to make).
                tail: i64 = 0
                for k in range(size):
                    tail |= i64(w[start + _FRAME_HEADER_SIZE + k]) << (8 * k)
                w.truncate(start)
                for k in range(size):
                    w.append(u8((tail >> (8 * k)) & 0xFF))
        else:
            buf = self._buf
            if size >= FRAME_SIZE_MIN:
                buf[start : start + _FRAME_HEADER_SIZE] = b"\x95" + pack("<Q", size)
            else:
                del buf[start : start + _FRAME_HEADER_SIZE]
        self._frame_start = -1
        self._frame_limit = _NO_LIMIT
        self._flush()

    def _commit_frame(self) -> None:
        self._close_frame()
        self._open_frame()

    def _take(self) -> bytes:
        """The output not yet handed over, as bytes; the buffers are left empty."""
        buf = self._buf
        w = self._w
        if w is None:
            data = bytes(buf)
            buf.clear()
        else:
            _drain(w, buf)
            data = w.getvalue()
            w.truncate(0)
        return data

    def _flush(self) -> None:
        write = self._file_write
        if write is not None and not self._collecting:
            data = self._take()
            if data:
                write(data)

    def _write_large(self, header: bytes, payload: Any) -> None:
        """Write a 64 KiB-or-larger payload outside any frame, copying it once
        (into the result of `dumps`) or not at all (straight to the file)."""
        if self._framing:
            self._close_frame()
        self._buf += header
        if self._collecting:
            self._chunks.append(self._take())
            self._chunks.append(payload)
        else:
            self._flush()
            assert self._file_write is not None
            self._file_write(payload)
        if self._framing:
            self._open_frame()

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
        self._start_hooks()
        self._dumping = True
        try:
            self._init_output()
            proto = self.proto
            w: BytesWriter | None = None
            if _COMPILED and self._pers_func is None and not self.fast and self.bin:
                # `run_levels` applies: the output goes to a native writer,
                # the memo to a native table.
                w = BytesWriter()
                self._w = w
                if self._mt is None:
                    self._mt = IdMemo(self._memo)
                if proto >= 2:
                    w.append(0x80)  # PROTO
                    w.append(proto)
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
        last = self._take()
        self._w = None
        chunks = self._chunks
        if not chunks:
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
            self._pers_func: Callable[[Any], Any] | None = None
            self._reducer_override: Callable[[Any], Any] | None = None
            self._own_dispatch_table: Any = None
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

    def _stop_hooks(self) -> None:
        # Bound methods of self stored on self would keep the pickler alive.
        self._pers_func = None
        self._reducer_override = None
        self._own_dispatch_table = None

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
        entry = self._save(obj, True)
        if entry is None:
            return
        stack: list[_Entry] = [entry]
        fast = self.fast
        active: list[int] = [id(obj)] if fast else []
        simple = self._pers_func is None and not fast and self.bin
        bytes_ok = self.proto >= 3
        buf = self._buf
        memo = self._memo
        short_str = self.proto >= 4
        while stack:
            top = stack[-1]
            for item in top[0]:
                if len(buf) >= self._frame_limit:
                    self._commit_frame()
                if simple:
                    # The atoms and memo hits of protocols 1-5, inline; the
                    # order of checks is still _pickle.c's.
                    t = type(item)
                    if t is str:
                        x = memo.get(id(item))
                        if x is not None:
                            if x[0] < 256:
                                buf += _BINGET[x[0]]
                            else:
                                self._write_get(x[0])
                            continue
                        if short_str:
                            text: str = item  # typed: compiled, encode is native
                            try:
                                data = text.encode("utf-8")
                            except UnicodeEncodeError:
                                data = text.encode("utf-8", "surrogatepass")
                            n = len(data)
                            if n <= 0xFF:
                                buf += _SHORT_BINUNICODE[n]
                                buf += data
                                memo[id(item)] = (len(memo), item)
                                buf += b"\x94"  # MEMOIZE
                                continue
                        self._save_str(item)
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
                        continue
                    if t is float:
                        buf += _pack_binfloat(0x47, item)  # BINFLOAT
                        continue
                    if item is None:
                        buf += b"\x4e"  # NONE
                        continue
                    if t is bool:
                        self._save_atom(item)
                        continue
                    x = memo.get(id(item))
                    if x is not None:
                        if x[0] < 256:
                            buf += _BINGET[x[0]]
                        else:
                            self._write_get(x[0])
                        continue
                    if t is bytes and bytes_ok:
                        self._save_bytes_data(item, item)
                        continue
                    entry = self._save_compound(item)
                elif type(item) is _NoPersistentId:
                    entry = self._save(item.obj, False)
                else:
                    entry = self._save(item, True)
                if entry is not None:
                    if fast:
                        if id(item) in active:
                            raise ValueError(
                                "fast mode: can't pickle cyclic objects including "
                                f"object type {type(item).__name__} at {id(item):#x}"
                            )
                        active.append(id(item))
                    stack.append(entry)
                    break
            else:
                stack.pop()
                closer = top[1]
                if isinstance(closer, bytes):
                    buf += closer
                else:
                    # A closer may hand back what the object still has to save.
                    entry = closer()
                    if entry is not None:
                        stack.append(entry)
                        continue
                if fast:
                    active.pop()

    # -- save: one object ----------------------------------------------------

    def _save(self, obj: Any, check_pid: bool) -> _Entry | None:
        """Save one object, in `_pickle.c`'s order of checks: frame boundary,
        persistent id, atoms, memo, then by type.  Returns the entry `_run` must
        drive to finish it, or None when it is written whole."""
        if len(self._buf) >= self._frame_limit:
            self._commit_frame()
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

    def _save_compound(self, obj: Any) -> _Entry | None:
        """Save an object that is no atom and not in the memo."""
        t = type(obj)
        if t is dict:
            return self._save_dict(obj)
        if t is list:
            return self._save_list(obj)
        if t is tuple:
            return self._save_tuple(obj)
        if t is set:
            return self._save_set(obj)
        if t is frozenset:
            return self._save_frozenset(obj)
        if t is bytes:  # protocols 0-2 only; _save_atom took the rest
            if not obj:
                return self._save_reduce(bytes, (), obj=obj)
            return self._save_reduce(
                _codecs_encode, (str(obj, _LATIN1), _LATIN1), obj=obj
            )
        if t is bytearray:
            return self._save_bytearray(obj)
        if t is PickleBuffer:
            self._save_picklebuffer(obj)
            return None

        override = self._reducer_override
        if override is not None:
            rv = override(obj)
            if rv is not NotImplemented:
                return self._save_reduce_value(obj, rv)

        if t is type:
            return self._save_type(obj)
        if t is FunctionType:
            return _steps(self._save_global(obj, None))

        table = self._own_dispatch_table
        reduce: Any
        if table is None:
            reduce = _copyreg_table.get(t)
        else:
            try:
                reduce = table[t]
            except KeyError:
                reduce = None
        if reduce is not None:
            rv = reduce(obj)
        elif issubclass(t, type):
            return _steps(self._save_global(obj, None))
        else:
            reduce = getattr(obj, "__reduce_ex__", None)
            if reduce is not None:
                rv = reduce(self.proto)
            else:
                reduce = getattr(obj, "__reduce__", None)
                if reduce is None:
                    raise PicklingError(f"can't pickle {t.__name__!r} object: {obj!r}")
                rv = reduce()
        return self._save_reduce_value(obj, rv)

    def _save_atom(self, obj: Any) -> bool:
        """Write `obj` if it needs no generator: None, bools, ints, floats, a memo
        hit, str, and bytes from protocol 3.  False means "not an atom"."""
        buf = self._buf
        t = type(obj)
        if t is int:
            v: int = obj  # typed: compiled, the comparisons are native
            if self.bin:
                if 0 <= v <= 0xFF:
                    buf += _BININT1[v]
                elif 0 <= v <= 0xFFFF:
                    buf += _pack_binint2(0x4D, v)  # BININT2
                elif -0x80000000 <= v <= 0x7FFFFFFF:
                    buf += _pack_binint(0x4A, v)  # BININT
                else:
                    self._save_long(v)
            elif -0x80000000 <= v <= 0x7FFFFFFF:
                buf += b"I" + repr(v).encode("ascii") + b"\n"
            else:
                buf += b"L" + repr(v).encode("ascii") + b"L\n"
            return True
        if obj is None:
            buf += b"\x4e"  # NONE
            return True
        if t is bool:
            if self.proto >= 2:
                buf += b"\x88" if obj else b"\x89"  # NEWTRUE, NEWFALSE
            else:
                buf += b"I01\n" if obj else b"I00\n"
            return True
        if t is float:
            if self.bin:
                buf += _pack_binfloat(0x47, obj)  # BINFLOAT
            else:
                buf += b"F" + repr(obj).encode("ascii") + b"\n"
            return True
        x = self._memo.get(id(obj))
        if x is not None:
            self._write_get(x[0])
            return True
        if t is str:
            self._save_str(obj)
            return True
        if t is bytes and self.proto >= 3:
            self._save_bytes_data(obj, obj)
            return True
        return False

    def _save_long(self, obj: int) -> None:
        buf = self._buf
        if self.proto >= 2:
            data = encode_long(obj)
            n = len(data)
            if n < 256:
                buf += bytes((0x8A, n)) + data
            elif n <= 0x7FFFFFFF:
                buf += b"\x8b" + pack("<i", n) + data
            else:
                raise OverflowError("int too large to pickle")
        else:
            buf += b"L" + repr(obj).encode("ascii") + b"L\n"

    def _save_str(self, obj: str) -> None:
        if self.bin:
            try:
                data = obj.encode("utf-8")
            except UnicodeEncodeError:
                data = obj.encode("utf-8", "surrogatepass")
            n = len(data)
            if n <= 0xFF and self.proto >= 4:
                header = _SHORT_BINUNICODE[n]
            else:
                header = self._long_header(n, b"X", b"\x8d", "a string")
            self._write_payload(header, data)
        else:
            self._buf += b"V" + escape_text(obj) + b"\n"
        self._memoize(obj)

    def _save_bytes_data(self, obj: Any, data: Any) -> None:
        """BINBYTES-family opcodes for `data`, then memoize `obj` (a bytes object,
        or the PickleBuffer that `data` views)."""
        n = len(data)
        if n <= 0xFF:
            header = _SHORT_BINBYTES[n]
        else:
            header = self._long_header(n, b"B", b"\x8e", "a bytes object")
        self._write_payload(header, data)
        self._memoize(obj)

    def _long_header(self, n: int, op4: bytes, op8: bytes, what: str) -> bytes:
        """The header of a str/bytes payload too long for the 1-byte form."""
        if n <= 0xFFFFFFFF:
            return op4 + pack("<I", n)
        if self.proto >= 4:
            return op8 + pack("<Q", n)
        raise OverflowError(
            f"serializing {what} larger than 4 GiB requires pickle protocol 4 or higher"
        )

    def _write_payload(self, header: bytes, data: Any) -> None:
        if len(data) >= FRAME_SIZE_TARGET:
            self._write_large(header, data)
        else:
            self._buf += header
            self._buf += data

    def _save_bytearray_data(self, obj: Any, data: Any) -> None:
        self._write_payload(b"\x96" + pack("<Q", len(data)), data)  # BYTEARRAY8
        self._memoize(obj)

    def _save_bytearray(self, obj: bytearray) -> _Entry | None:
        if self.proto < 5:
            if not obj:
                return self._save_reduce(bytearray, (), obj=obj)
            return self._save_reduce(bytearray, (bytes(obj),), obj=obj)
        self._save_bytearray_data(obj, memoryview(obj))
        return None

    def _save_picklebuffer(self, obj: PickleBuffer) -> None:
        if self.proto < 5:
            raise PicklingError("PickleBuffer can only be pickled with protocol >= 5")
        view = memoryview(obj)
        if not view.contiguous:
            raise PicklingError(
                "PickleBuffer can not be pickled when pointing to a non-contiguous "
                "buffer"
            )
        in_band = True
        if self._buffer_callback is not None:
            in_band = bool(self._buffer_callback(obj))
        if in_band:
            raw = obj.raw()
            if raw.readonly:
                self._save_bytes_data(obj, raw)
            else:
                self._save_bytearray_data(obj, raw)
        else:
            self._buf += b"\x97"  # NEXT_BUFFER
            if view.readonly:
                self._buf += b"\x98"  # READONLY_BUFFER

    # -- memo ----------------------------------------------------------------

    def _memoize(self, obj: Any) -> None:
        if self.fast:
            return
        mt = self._mt
        if mt is None:
            memo = self._memo
            idx = len(memo)
            memo[id(obj)] = (idx, obj)
        else:
            idx = mt.add(id(obj), obj)
        if self.proto >= 4:
            self._buf += b"\x94"  # MEMOIZE
        elif self.bin:
            if idx < 256:
                self._buf += _BINPUT[idx]
            elif idx <= 0xFFFFFFFF:
                self._buf += _pack_long_binput(0x72, idx)  # LONG_BINPUT
            else:
                raise PicklingError("memo id too large for LONG_BINPUT")
        else:
            self._buf += b"p" + repr(idx).encode("ascii") + b"\n"

    def _memo_find(self, obj: Any) -> int:
        """The memo index of `obj`, or -1."""
        x = self._memo_entry(obj)
        return -1 if x is None else x[0]

    def _memo_entry(self, obj: Any) -> tuple[int, Any] | None:
        """The memo entry of `obj` (stdlib form), or None."""
        mt = self._mt
        if mt is None:
            return self._memo.get(id(obj))
        idx = mt.find(id(obj))
        return None if idx < 0 else (idx, obj)

    def _write_get(self, idx: int) -> None:
        if self.bin:
            if idx < 256:
                self._buf += _BINGET[idx]
            elif idx <= 0xFFFFFFFF:
                self._buf += _pack_long_binget(0x6A, idx)  # LONG_BINGET
            else:
                raise PicklingError("memo id too large for LONG_BINGET")
        else:
            self._buf += b"g" + repr(idx).encode("ascii") + b"\n"

    # -- containers ----------------------------------------------------------

    def _save_list(self, obj: list[Any]) -> _Entry | None:
        buf = self._buf
        if self.bin:
            buf += b"\x5d"  # EMPTY_LIST
        else:
            buf += b"(l"
        self._memoize(obj)
        n = len(obj)
        if not n:
            return None
        if not self.bin:
            return (self._appends_one_by_one(iter(obj)), b"")
        if n == 1:
            return (iter((obj[0],)), b"a")  # APPEND
        if n <= BATCHSIZE:
            buf += b"\x28"  # MARK
            return (iter(obj), b"e")  # APPENDS
        return self._list_batch(obj, 0)

    def _list_batch(self, obj: list[Any], start: int) -> _Entry | None:
        """C's batch_list_exact: MARK ... APPENDS per 1000 items.  Each batch's
        closer writes APPENDS and hands back the next batch."""
        if start >= len(obj):
            return None
        self._buf += b"\x28"  # MARK
        end = start + BATCHSIZE
        return (iter(obj[start:end]), partial(self._end_list_batch, obj, end))

    def _end_list_batch(self, obj: list[Any], end: int) -> _Entry | None:
        self._buf += b"\x65"  # APPENDS
        return self._list_batch(obj, end)

    def _save_dict(self, obj: dict[Any, Any]) -> _Entry | None:
        buf = self._buf
        if self.bin:
            buf += b"\x7d"  # EMPTY_DICT
        else:
            buf += b"(d"
        self._memoize(obj)
        size = len(obj)
        if not size:
            return None
        if not self.bin:
            return (self._setitems_one_by_one(iter(obj.items())), b"")
        if size == 1:
            return (iter(next(iter(obj.items()))), b"s")  # SETITEM
        if size < BATCHSIZE:
            buf += b"\x28"  # MARK
            return (chain.from_iterable(obj.items()), b"u")  # SETITEMS
        return (self._dict_batches(obj), b"")

    def _dict_batches(self, obj: dict[Any, Any]) -> Iterator[Any]:
        """C's batch_dict_exact: MARK ... SETITEMS per 1000 items, and one more,
        empty, pair when the size is a multiple of 1000."""
        buf = self._buf
        size = len(obj)
        it = iter(obj.items())
        while True:
            buf += b"\x28"  # MARK
            batch = list(islice(it, BATCHSIZE))
            yield from chain.from_iterable(batch)
            buf += b"\x75"  # SETITEMS
            if len(obj) != size:
                raise RuntimeError("dictionary changed size during iteration")
            if len(batch) != BATCHSIZE:
                return

    def _save_set(self, obj: set[Any]) -> _Entry | None:
        if self.proto < 4:
            return self._save_reduce(set, (list(obj),), obj=obj)
        buf = self._buf
        buf += b"\x8f"  # EMPTY_SET
        self._memoize(obj)
        size = len(obj)
        if not size:
            return None
        if size < BATCHSIZE:
            buf += b"\x28"  # MARK
            return (iter(obj), b"\x90")  # ADDITEMS
        return (self._set_batches(obj), b"")

    def _set_batches(self, obj: set[Any]) -> Iterator[Any]:
        """Like `_dict_batches`, with ADDITEMS."""
        buf = self._buf
        size = len(obj)
        it = iter(obj)
        while True:
            buf += b"\x28"  # MARK
            batch = list(islice(it, BATCHSIZE))
            yield from batch
            buf += b"\x90"  # ADDITEMS
            if len(obj) != size:
                raise RuntimeError("set changed size during iteration")
            if len(batch) != BATCHSIZE:
                return

    def _save_frozenset(self, obj: frozenset[Any]) -> _Entry | None:
        if self.proto < 4:
            return self._save_reduce(frozenset, (list(obj),), obj=obj)
        self._buf += b"\x28"  # MARK
        return (iter(obj), partial(self._end_frozenset, obj))

    def _end_frozenset(self, obj: frozenset[Any]) -> None:
        idx = self._memo_find(obj)
        if idx >= 0:
            # Reached again through its own items: drop them, fetch it instead.
            self._buf += b"\x31"  # POP_MARK
            self._write_get(idx)
            return
        self._buf += b"\x91"  # FROZENSET
        self._memoize(obj)

    def _save_tuple(self, obj: tuple[Any, ...]) -> _Entry | None:
        if not obj:
            if self.bin:
                self._buf += b"\x29"  # EMPTY_TUPLE
            else:
                self._buf += b"(t"
            return None
        if len(obj) > 3 or self.proto < 2:
            self._buf += b"\x28"  # MARK
        return (iter(obj), partial(self._end_tuple, obj))

    def _end_tuple(self, obj: tuple[Any, ...]) -> None:
        buf = self._buf
        n = len(obj)
        short = n <= 3 and self.proto >= 2
        x = self._memo.get(id(obj)) if self._mt is None else self._memo_entry(obj)
        if x is not None:
            # Recursive: its items led back to it.  Drop them (and the MARK)
            # and fetch the tuple from the memo.
            if short:
                buf += b"0" * n  # POP
            elif self.bin:
                buf += b"\x31"  # POP_MARK
            else:
                buf += b"0" * (n + 1)
            self._write_get(x[0])
            return
        buf += _TUPLE_OPS[n] if short else b"t"
        self._memoize(obj)

    def _appends_one_by_one(self, items: Iterator[Any]) -> Iterator[Any]:
        """Protocol 0 has no APPENDS: one APPEND per item."""
        buf = self._buf
        for item in items:
            yield item
            buf += b"\x61"  # APPEND

    def _setitems_one_by_one(self, items: Iterator[Any]) -> Iterator[Any]:
        """Protocol 0 has no SETITEMS: one SETITEM per pair."""
        buf = self._buf
        for item in items:
            _check_pair(item)
            yield from item
            buf += b"\x73"  # SETITEM

    def _batch_appends(self, items: Iterator[Any]) -> Iterator[Any]:
        """The listitems of a reduce value (C's batch_list)."""
        if not self.bin:
            yield from self._appends_one_by_one(items)
            return
        buf = self._buf
        while True:
            batch = list(islice(items, BATCHSIZE))
            n = len(batch)
            if n > 1:
                buf += b"\x28"  # MARK
                yield from batch
                buf += b"\x65"  # APPENDS
            elif n:
                yield batch[0]
                buf += b"\x61"  # APPEND
            if n < BATCHSIZE:
                return

    def _batch_setitems(self, items: Iterator[Any]) -> Iterator[Any]:
        """The dictitems of a reduce value (C's batch_dict)."""
        if not self.bin:
            yield from self._setitems_one_by_one(items)
            return
        buf = self._buf
        while True:
            batch = list(islice(items, BATCHSIZE))
            n = len(batch)
            if n > 1:
                buf += b"\x28"  # MARK
                for item in batch:
                    _check_pair(item)
                    yield from item
                buf += b"\x75"  # SETITEMS
            elif n:
                _check_pair(batch[0])
                yield from batch[0]
                buf += b"\x73"  # SETITEM
            if n < BATCHSIZE:
                return

    # -- persistent ids ------------------------------------------------------

    def _save_text_pers(self, pid: Any) -> None:
        text = str(pid)
        if not text.isascii():
            raise PicklingError("persistent IDs in protocol 0 must be ASCII strings")
        self._buf += b"P" + text.encode("ascii") + b"\n"

    # -- globals -------------------------------------------------------------

    def _save_type(self, obj: type) -> _Entry:
        if obj is type(None):
            return self._save_reduce(type, (None,), obj=obj)
        if obj is type(...):
            return self._save_reduce(type, (...,), obj=obj)
        if obj is type(NotImplemented):
            return self._save_reduce(type, (NotImplemented,), obj=obj)
        return _steps(self._save_global(obj, None))

    def _save_global(self, obj: Any, name: str | None) -> Iterator[Any]:
        ref = find_global(obj, name, self.proto)
        buf = self._buf
        if ref.ext_code:
            buf += ext_opcode(ref.ext_code)
            return
        if self.proto >= 4:
            yield ref.module
            yield ref.name
            buf += b"\x93"  # STACK_GLOBAL
        elif not ref.in_module:
            # Protocols < 4 have no dotted names: getattr(parent, name).
            yield getattr
            yield (ref.parent, ref.name.rpartition(".")[2])
            buf += b"\x52"  # REDUCE
        else:
            buf += global_opcode(ref.module, ref.name, self.proto, self.fix_imports)
        self._memoize(obj)

    # -- the reduce protocol ---------------------------------------------------

    def _save_reduce_value(self, obj: Any, rv: Any) -> _Entry:
        if isinstance(rv, str):
            return _steps(self._save_global(obj, rv))
        if not isinstance(rv, tuple):
            raise PicklingError("__reduce__ must return a string or tuple")
        return self._reduce_parts(*check_reduce_value(rv), obj)

    def _save_reduce(self, func: Any, args: tuple[Any, ...], *, obj: Any) -> _Entry:
        """A reduce value made up by the pickler itself (sets before protocol 4,
        bytes before 3, ...): no checks needed."""
        return self._reduce_parts(func, args, None, None, None, None, obj)

    def _reduce_parts(
        self,
        func: Any,
        args: tuple[Any, ...],
        state: Any,
        listitems: Any,
        dictitems: Any,
        state_setter: Any,
        obj: Any,
    ) -> _Entry:
        """Save a reduce value: the call (REDUCE, NEWOBJ or NEWOBJ_EX), then
        memoize `obj`, then its items and state (in `_after_reduce_call`)."""
        name: Any = None
        if self.proto >= 2:
            # C goes by the name; copyreg's own function is by far the commonest.
            name = (
                "__newobj__"
                if func is _copyreg_newobj
                else getattr(func, "__name__", None)
            )
        parts: tuple[Any, ...]
        if name == "__newobj__":
            parts = (check_newobj_args(args, obj), args[1:])
            op = b"\x81"  # NEWOBJ
        elif name == "__newobj_ex__":
            cls, cargs, kwargs = check_newobj_ex_args(args)
            if self.proto >= 4:
                parts = (cls, cargs, kwargs)
                op = b"\x92"  # NEWOBJ_EX
            else:
                parts = (partial(cls.__new__, cls, *cargs, **kwargs), ())
                op = b"R"  # REDUCE
        else:
            parts = (func, args)
            op = b"R"  # REDUCE
        if obj is None and state is None and listitems is None and dictitems is None:
            return (iter(parts), op)
        return (
            iter(parts),
            partial(
                self._after_reduce_call,
                op,
                obj,
                state,
                listitems,
                dictitems,
                state_setter,
            ),
        )

    def _after_reduce_call(
        self,
        op: bytes,
        obj: Any,
        state: Any,
        listitems: Any,
        dictitems: Any,
        state_setter: Any,
    ) -> _Entry | None:
        buf = self._buf
        buf += op
        if obj is not None:
            # Reached again while saving its own arguments: the object exists
            # already, so drop what was built and fetch it from the memo.
            idx = self._memo_find(obj)
            if idx >= 0:
                buf += b"\x30"  # POP
                self._write_get(idx)
                return None
            self._memoize(obj)
        if listitems is not None or dictitems is not None:
            return _steps(
                self._items_and_state(listitems, dictitems, state, state_setter, obj)
            )
        if state is None:
            return None
        if state_setter is None:
            return (iter((state,)), b"b")  # BUILD
        # state_setter(obj, state), its result popped: stack-neutral.
        return (iter((state_setter, obj, state)), b"\x86R0")  # TUPLE2 REDUCE POP

    def _items_and_state(
        self, listitems: Any, dictitems: Any, state: Any, state_setter: Any, obj: Any
    ) -> Iterator[Any]:
        if listitems is not None:
            yield from self._batch_appends(listitems)
        if dictitems is not None:
            yield from self._batch_setitems(dictitems)
        if state is not None:
            if state_setter is None:
                yield state
                self._buf += b"\x62"  # BUILD
            else:
                yield state_setter
                yield obj
                yield state
                self._buf += b"\x86R0"  # TUPLE2 REDUCE POP


def _steps(gen: Iterator[Any]) -> _Entry:
    """The entry for a saver written as a generator."""
    return (gen, b"")


def _check_pair(item: Any) -> None:
    if not isinstance(item, tuple) or len(item) != 2:
        raise TypeError("dict items iterator must return 2-tuples")


class _BytesSink:
    """The file of `dumps`: never written to; `Pickler` collects its output."""

    write = None


_BYTES_SINK: Final = _BytesSink()


def dump(
    obj: Any,
    file: Any,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: Callable[[PickleBuffer], Any] | None = None,
) -> None:
    """Write the pickle of `obj` to the binary file `file` (like `pickle.dump`)."""
    Pickler(
        file, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback
    ).dump(obj)


def dumps(
    obj: Any,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: Callable[[PickleBuffer], Any] | None = None,
) -> bytes:
    """Return the pickle of `obj` as bytes (like `pickle.dumps`).

    The bytes equal those of CPython's C pickler for the same object and protocol.
    """
    pickler = Pickler(
        _BYTES_SINK, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback
    )
    pickler._collecting = True
    pickler._dump(obj)
    return pickler._getvalue()
