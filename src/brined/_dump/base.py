"""The pickler's state, output and memo: the base of the engine's `Pickler`.

The engine's pickler is one class split by purpose over four modules, each a
base of the next: `base.PicklerBase` (constructor, output buffers, framing,
memo writes), `save_reduce.ReduceSaver` (globals, the reduce protocol, batched
items of reduce values), `savers.Savers` (atoms, strings, bytes, containers, the
dispatch by type) and `pickler.Pickler` (the driver loop and `dump`/`dumps`).
`levels.run_levels`, the compiled build's driver, works on a `Savers`.

Rules: frames are committed where C commits them (at the start of every
`save()` of an object, when the open frame holds 64 KiB or more); payloads of
64 KiB or more are written outside frames.  Nothing here imports the driver.
"""

from __future__ import annotations

import copyreg
import sys
from collections.abc import Callable, Iterator
from pickle import PickleBuffer
from struct import Struct, pack
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
    DEFAULT_PROTOCOL,
    FRAME_SIZE_MIN,
    FRAME_SIZE_TARGET,
    HIGHEST_PROTOCOL,
)
from ..errors import PicklingError

try:
    from mypy_extensions import mypyc_attr as mypyc_attr
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

# What `Pickler._run` drives: the parts still to save, and what ends the object
# (bytes to write, a function to call, or, in `_run_entries`, the tuple saved).
_Entry = tuple[Iterator[Any], "bytes | tuple[Any, ...] | Callable[[], Any]"]

_LATIN1: Final = "latin1"


_copyreg_newobj: Final[Any] = getattr(copyreg, "__newobj__")  # noqa: B009
# Looked up once, as C's _pickle does: copyreg.pickle() adds to this dict.
_copyreg_table: Final = copyreg.dispatch_table


def _drain(w: BytesWriter, buf: bytearray) -> None:
    """Move what the helpers wrote to `buf` onto the end of `w`.

    With a writer (`run_levels`), the helpers still write to the pickler's
    bytearray; what they write always follows everything in the writer, so
    whatever reads or extends the writer drains the bytearray first."""
    if buf:
        w.write(buf)
        buf.clear()


def _write_frame_header(w: BytesWriter, start: i64, size: i64) -> None:
    """FRAME and its 8-byte little-endian size, over the placeholder at
    `start` (native arithmetic: no int objects)."""
    w[start] = 0x95  # FRAME
    k: i64 = 0
    while k < 8:
        w[start + 1 + k] = u8((size >> (8 * k)) & 0xFF)
        k += 1


def _check_protocol(protocol: int | None) -> int:
    """The protocol a pickler is asked for, as C checks and maps it."""
    if protocol is None:
        return DEFAULT_PROTOCOL
    if type(protocol) is not int:
        protocol = int(protocol)
    if protocol < 0:
        return HIGHEST_PROTOCOL
    if protocol > HIGHEST_PROTOCOL:
        raise ValueError(f"pickle protocol must be <= {HIGHEST_PROTOCOL}")
    return protocol


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


class _NoPersistentId:
    """Marks an object (a persistent id) to be saved without asking
    `persistent_id` about it, as C's ``save(self, pid, 1)`` does."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj


@mypyc_attr(allow_interpreted_subclasses=True)
class PicklerBase:
    """The pickler's state: protocol, hooks, output buffers and frames, memo."""

    def __init__(
        self,
        file: IO[bytes] | Any,
        protocol: int | None = None,
        *,
        fix_imports: bool = True,
        buffer_callback: Callable[[PickleBuffer], Any] | None = None,
        deterministic: bool = False,
        on_error: str = "raise",
    ) -> None:
        if on_error not in ("raise", "placeholder"):
            raise ValueError(
                f"on_error must be 'raise' or 'placeholder', not {on_error!r}"
            )
        protocol = _check_protocol(protocol)
        if buffer_callback is not None and protocol < 5:
            raise ValueError("buffer_callback needs protocol >= 5")
        self._file_write: Callable[[Any], Any] | None = None
        if file is not _BYTES_SINK:
            try:
                self._file_write = file.write
            except AttributeError:
                raise TypeError("file must have a 'write' attribute") from None
        self._set_protocol(protocol, fix_imports)
        self.fast = 0
        self._buffer_callback = buffer_callback
        # The memo, `{id(obj): (index, obj)}` as in the stdlib; in the compiled
        # build, `run_levels` keeps it as an `IdMemo` (see `memo`).
        self._memo: dict[int, tuple[int, Any]] = {}
        self._mt: IdMemo | None = None
        # The table of this pickler's last `dumps`, emptied, for its next
        # (`Pickler._getvalue`; the spare pickler of `dumps`).
        self._spare_mt: IdMemo | None = None
        # Whether `memo` was got or set: the dict may be held outside.
        self._memo_shared = False
        self._dumping = False
        # Set by each dump: whether the output is collected (`dumps`) rather
        # than written to the file, and the hooks (`Pickler._start_hooks`).
        self._collecting = False
        self._pers_func: Callable[[Any], Any] | None = None
        self._reducer_override: Callable[[Any], Any] | None = None
        self._own_dispatch_table: Any = None
        # deterministic=True: the bytes depend only on the value (`canonical`).
        self._det = bool(deterministic)
        # Atoms met so far, by value (deterministic dumps): equal ones share.
        self._canon: dict[Any, Any] = {}
        # on_error="placeholder": what could not be pickled is replaced by an
        # `Unpicklable` (`replace`); `replaced` lists them, `_replaced_errors`
        # holds the objects and exceptions (for `brined.explain`).
        self._placeholder = on_error == "placeholder"
        self.replaced: list[Any] = []
        self._replaced_errors: list[tuple[Any, BaseException]] = []
        self._user_override: Callable[[Any], Any] | None = None
        # The objects being saved, root first, while `_run_entries` runs.
        self._owners: list[Any] | None = None
        # While `run_levels` runs: its stack of levels, and the object of the
        # level whose item goes to `_save_compound` (see `replace`).
        self._level_stack: list[Any] | None = None
        self._level_me: Any = None
        # The output buffers are made by each dump (`_init_output`), not here:
        # `dumps` makes a pickler per call.

    def _set_protocol(self, protocol: int, fix_imports: bool) -> None:
        self.proto = protocol
        self.bin = protocol >= 1
        self.fix_imports = bool(fix_imports and protocol < 3)

    def _renew(self, protocol: int | None, fix_imports: bool) -> None:
        """Make a pickler that a default `dumps` used, and that ended well, as
        a new one for the next such `dumps` (see `pickler._SPARE_PICKLER`):
        only the protocol differs, and the memo dict a protocol 0 dump filled
        (the others fill the native table, which died with the dump)."""
        self._set_protocol(_check_protocol(protocol), fix_imports)
        memo = self._memo
        if memo:
            memo.clear()

    # -- hooks ---------------------------------------------------------------

    def persistent_id(self, obj: Any) -> Any:
        """Return a persistent id for `obj`, or None to pickle it normally."""
        return None

    def clear_memo(self) -> None:
        """Forget every object pickled so far (shared objects are written again)."""
        self._mt = None
        self._memo.clear()
        self._canon.clear()

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
                if mt.strs:
                    # The strings of deterministic dumps, memoized by value
                    # in the table, go on by value in `_canon`.
                    canon = self._canon
                    # (Typed Any: one key is not a str, `IdMemo.by_value`.)
                    strs: dict[Any, Any] = mt.strs
                    for s in strs:
                        if type(s) is str:
                            canon.setdefault(s, s)
                self._mt = None

    # -- output --------------------------------------------------------------

    def _init_output(self) -> None:
        self._buf = bytearray()
        # The compiled driver's output (see `run_levels`); None otherwise.
        self._w: BytesWriter | None = None
        # What `_write_large` took out of the buffers for `dumps` (made by
        # the first one: most pickles have none).
        self._chunks: list[Any] | None = None
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
        w = self._w
        if w is not None:
            # Native ints throughout (compiled, the writer's case).
            _drain(w, self._buf)
            wstart: i64 = self._frame_start
            wsize: i64 = len(w) - wstart - _FRAME_HEADER_SIZE
            if wsize >= FRAME_SIZE_MIN:
                _write_frame_header(w, wstart, wsize)
            else:
                # Fewer than 4 bytes to move back over the placeholder, held
                # in one int (no list to make).
                tail: i64 = 0
                k: i64 = 0
                while k < wsize:
                    tail |= i64(w[wstart + _FRAME_HEADER_SIZE + k]) << (8 * k)
                    k += 1
                w.truncate(wstart)
                k = 0
                while k < wsize:
                    w.append(u8((tail >> (8 * k)) & 0xFF))
                    k += 1
        else:
            start = self._frame_start
            size = self._out_len() - start - _FRAME_HEADER_SIZE
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
            chunks = self._chunks
            if chunks is None:
                chunks = self._chunks = []
            chunks.append(self._take())
            chunks.append(payload)
        else:
            self._flush()
            assert self._file_write is not None
            self._file_write(payload)
        if self._framing:
            self._open_frame()

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
