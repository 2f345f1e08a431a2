"""The unpickler's input: a buffer, a position, and refills from a file.

`_Input` is the bottom of `Unpickler`'s bases.  The loop holds the buffer, the
position and the end of the current window in locals and calls `_more` /
`_fill_line` only when an opcode needs bytes past the window; for in-memory
input the window is `Limits.check_every` bytes, so reaching its end is also
where the periodic limit checks (`_periodic`) run, at no cost to the hot
opcodes.  Rules:

* A length read from the input is checked against the bytes that remain
  before anything is sliced or allocated; files are read at most
  `_READ_CHUNK` bytes at a time, so a forged length allocates only as much as
  the stream really holds.
* The file is never consumed past STOP.
"""

from __future__ import annotations

import io
import struct
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._build import COMPILED
from .._format.opcodes import BY_CODE, FRAME, HIGHEST_PROTOCOL, PROTO
from .._safe.limits import Limits
from ..errors import (
    LimitExceededError,
    MalformedPickleError,
    TruncatedPickleError,
    _MalformedValueError,
)

if COMPILED:
    from librt.strings import read_i64_le

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = [
    "PEEK_START",
    "UNBOUNDED",
    "_BytesFile",
    "_Input",
    "_as_bytes",
    "bad_key",
    "op_name",
    "where",
]

_MAXSIZE: Final = sys.maxsize
_unpack_u8: Final[Callable[[bytes, int], tuple[int]]] = struct.Struct("<Q").unpack_from
# What a trusted load uses for "no limit" (depth, memo index, check window):
# beyond any position or count a load reaches, and unlike sys.maxsize a
# machine-size int to mypyc, so comparing against it stays native.
UNBOUNDED: Final = 1 << 60
# Reads larger than this go to the file in pieces, so a forged length allocates
# only as much as the stream really holds.
_READ_CHUNK: Final = 1 << 20
# Emulated peek on io.BytesIO: first read-ahead size, doubled per refill.
PEEK_START: Final = 8192
_PEEK_MAX: Final = 1 << 20


def where(code: int, offset: int) -> str:
    info = BY_CODE.get(code)
    if info is None:
        return f"at offset {offset}"
    return f"{info.name} at offset {offset}"


def op_name(code: int) -> str | None:
    info = BY_CODE.get(code)
    return None if info is None else info.name


def bad_key(code: int) -> str:
    ch = chr(code)
    shown = ch if ch.isprintable() and code < 0x80 else f"\\x{code:02x}"
    return f"invalid load key, '{shown}'."


class _BytesFile:
    """The reader `loads` hands to `Unpickler`: the whole input, already in memory."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        start = self.pos
        stop = len(self.data) if n < 0 else min(start + n, len(self.data))
        self.pos = stop
        return self.data[start:stop]

    def readline(self) -> bytes:
        start = self.pos
        nl = self.data.find(b"\n", start)
        stop = len(self.data) if nl < 0 else nl + 1
        self.pos = stop
        return self.data[start:stop]


def _as_bytes(data: Any) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("Can't load pickle from unicode string")
    return memoryview(data).tobytes()


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Input:
    """Input state and refills; see the module docstring."""

    # The memo (see `_Machine.memo`): entries 0..n-1 in a list, any other
    # keys in a dict.
    _memo: list[Any]
    _memo_extra: dict[Any, Any]
    proto: int
    _trusted: bool
    _limits: Limits
    _file: Any
    _memory: bool
    _file_read: Callable[[int], bytes] | None
    _file_readline: Callable[[], bytes] | None
    _file_peek: Callable[[int], bytes] | None
    _emulate_peek: bool
    _buf: bytes
    _pos: int
    _end: int
    _start: int
    _base: int
    _unconsumed: bool
    _chunk: int
    _op_code: int
    _deadline_at: float
    _step: int

    # -- input ---------------------------------------------------------------

    def _truncated(self, code: int, start: int) -> TruncatedPickleError:
        offset = self._base + start
        if offset == 0 and code < 0:
            return TruncatedPickleError("Ran out of input", offset=0)
        return TruncatedPickleError(
            f"pickle data was truncated ({where(code, offset)})",
            offset=offset,
            opcode=op_name(code),
        )

    def _read_exact(self, n: int, code: int, start: int) -> bytes:
        """Read exactly `n` bytes from the file, in pieces when large."""
        read = self._file_read
        assert read is not None
        if n <= _READ_CHUNK:
            data = read(n)
            if len(data) == n:
                return bytes(data)
            parts = [bytes(data)]
            got = len(data)
            if got == 0:
                raise self._truncated(code, start)
        else:
            parts = []
            got = 0
        while got < n:
            data = read(min(n - got, _READ_CHUNK))
            if not data:
                raise self._truncated(code, start)
            parts.append(bytes(data))
            got += len(data)
        return b"".join(parts)

    def _peek(self, n: int) -> bytes | None:
        """Bytes ahead in the file without consuming them; None if it can't peek."""
        if self._emulate_peek:
            f = self._file
            where = f.tell()
            size = max(n, self._chunk)
            if self._chunk < _PEEK_MAX:
                self._chunk *= 2
            data: bytes = f.read(size)
            f.seek(where)
            return data
        peek = self._file_peek
        if peek is None:
            return None
        try:
            return bytes(peek(n))
        except NotImplementedError:
            # As the C unpickler does: a peek() that is not implemented means
            # "read exactly" from now on.
            self._file_peek = None
            return None

    def _consume(self, n: int) -> None:
        """Advance the file past `n` bytes that were peeked and used."""
        if n:
            if self._emulate_peek:
                self._file.seek(n, 1)
            else:
                read = self._file_read
                assert read is not None
                read(n)

    def _window(self, buf: bytes, pos: int, need: int) -> int:
        """How far into `buf` the loop may run before the next check point."""
        return min(len(buf), pos + max(need, self._step))

    def _more(
        self, buf: bytes, pos: int, end: int, start: int, need: int, code: int
    ) -> tuple[bytes, int, int, int]:
        """Return a buffer whose first `need` bytes continue from ``buf[pos:]``.

        Returns (buf, pos, end, start) with `start` (the current opcode's position)
        rebased onto the new buffer.  Raises TruncatedPickleError when the input
        ends first.  The loop is shown the buffer a window of `check_every`
        bytes at a time, so reaching the end of a window is also where the
        periodic limit checks run.
        """
        real = len(buf)
        if end < real:
            if pos + need <= real:
                self._periodic(pos)
                return buf, pos, self._window(buf, pos, need), start
            end = real
        if self._memory:
            raise self._truncated(code, start)
        self._periodic(pos)
        self._base += pos
        start -= pos
        if self._unconsumed:
            # buf[:end] is still in the file: move the file past what was used.
            self._consume(pos)
            chunk = self._peek(need)
            if chunk is not None and len(chunk) >= need:
                return chunk, 0, self._window(chunk, 0, need), start
            # The rest of buf is at the front of the file; read it with the rest.
            self._unconsumed = False
            data = self._read_exact(need, code, start)
            return data, 0, len(data), start
        rest = buf[pos:end]
        if not rest:
            chunk = self._peek(need)
            if chunk is not None:
                if len(chunk) >= need:
                    self._unconsumed = True
                    return chunk, 0, self._window(chunk, 0, need), start
                if not chunk:
                    raise self._truncated(code, start)
        data = rest + self._read_exact(need - len(rest), code, start)
        return data, 0, len(data), start

    def _frame(
        self, buf: bytes, pos: int, end: int, start: int
    ) -> tuple[bytes, int, int, int]:
        """FRAME, `pos` past its opcode: read the 8-byte length and make that
        many bytes available in one piece (in-memory input: just check).
        Returns (buf, pos, end, start) as `_more` does."""
        if pos + 8 > end:
            buf, pos, end, start = self._more(buf, pos, end, start, 8, FRAME)
        size: int
        if COMPILED:
            # A native read (struct's costs ~100 ns a pickle); read signed, a
            # size past 2**63 shows as negative.
            size = read_i64_le(buf, pos)
            if size < 0:
                size = _MAXSIZE + 1
        else:
            size = _unpack_u8(buf, pos)[0]
        pos += 8
        if size > _MAXSIZE:
            raise MalformedPickleError(
                f"FRAME length exceeds system's maximum of {_MAXSIZE} bytes"
            )
        if size > end - pos:
            buf, pos, end, start = self._more(buf, pos, end, start, size, FRAME)
        return buf, pos, end, start

    def _proto(
        self, buf: bytes, pos: int, end: int, start: int
    ) -> tuple[bytes, int, int, int]:
        """PROTO, `pos` past its opcode: read and check the protocol number."""
        if pos >= end:
            buf, pos, end, start = self._more(buf, pos, end, start, 1, PROTO)
        n = buf[pos]
        if n > HIGHEST_PROTOCOL:
            raise _MalformedValueError(f"unsupported pickle protocol: {n}")
        self.proto = n
        return buf, pos + 1, end, start

    def _fill_line(
        self, buf: bytes, pos: int, end: int, start: int, code: int
    ) -> tuple[bytes, int, int, int]:
        """Like `_more`, but until the buffer holds a newline after `pos`."""
        real = len(buf)
        if end < real:
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                self._periodic(pos)
                return buf, pos, self._window(buf, pos, nl + 1 - pos), start
            end = real
        if self._memory:
            raise self._truncated(code, start)
        self._periodic(pos)
        self._base += pos
        start -= pos
        readline = self._file_readline
        assert readline is not None
        if self._unconsumed:
            self._consume(pos)
            chunk = self._peek(1)
            if chunk is not None:
                nl = chunk.find(b"\n")
                if nl >= 0:
                    return chunk, 0, self._window(chunk, 0, nl + 1), start
            self._unconsumed = False
            data = bytes(readline())
        else:
            data = buf[pos:end] + bytes(readline())
        if not data.endswith(b"\n"):
            raise self._truncated(code, start)
        return data, 0, len(data), start

    def _read(self, n: int) -> bytes:
        """Take `n` bytes from the saved buffer state (for the rare opcodes)."""
        pos = self._take(n)
        return self._buf[pos : pos + n]

    def _take(self, n: int) -> int:
        """Make `n` bytes available in `self._buf`, consume them, and return
        where they start (so a caller can view them without a copy)."""
        if n < 0:
            raise MalformedPickleError("negative length")
        pos = self._pos
        if pos + n > self._end:
            buf, pos, end, start = self._more(
                self._buf, pos, self._end, self._start, n, self._op_code
            )
            self._buf, self._end, self._start = buf, end, start
        self._pos = pos + n
        return pos

    def _readline(self) -> bytes:
        """Take one line, without its newline, from the saved buffer state."""
        buf = self._buf
        pos = self._pos
        nl = buf.find(b"\n", pos, self._end)
        if nl < 0:
            buf, pos, end, start = self._fill_line(
                buf, pos, self._end, self._start, self._op_code
            )
            self._buf, self._end, self._start = buf, end, start
            nl = buf.find(b"\n", pos)
        self._pos = nl + 1
        return buf[pos:nl]

    def _finish(self, pos: int) -> None:
        """After STOP: leave the file just past it."""
        if self._memory:
            self._pos = pos
            return
        if self._unconsumed:
            self._consume(pos)
            self._unconsumed = False
        # Bytes read past STOP inside a frame are dropped, as the stdlib does.
        self._buf = b""
        self._pos = self._end = 0

    # -- periodic limit checks ------------------------------------------------

    def _open(self, file: Any) -> None:
        """Take `file` (or a `_BytesFile` of the caller's bytes) as the input."""
        self._file = file
        self._memory = type(file) is _BytesFile
        self._file_read = None
        self._file_readline = None
        self._file_peek = None
        self._emulate_peek = False
        if self._memory:
            self._buf = file.data
        else:
            # Looked up in the C unpickler's order, so a property that raises
            # something other than AttributeError surfaces the same way.
            peek = getattr(file, "peek", None)
            getattr(file, "readinto", None)
            self._file_read = getattr(file, "read", None)
            self._file_readline = getattr(file, "readline", None)
            if self._file_read is None or self._file_readline is None:
                raise TypeError("file must have 'read' and 'readline' attributes")
            self._buf = b""
            # io.BytesIO cannot peek but can seek: read ahead and seek back.
            if type(file) is io.BytesIO:
                self._emulate_peek = True
            else:
                self._file_peek = peek
        self._pos = 0
        self._end = len(self._buf)
        self._start = 0
        # Offset of _buf[0] from the start of the current pickle.
        self._base = 0
        # True when _buf came from peek: its bytes are still unread in the file.
        self._unconsumed = False
        self._chunk = PEEK_START

    def _limit(self, message: str, limit: str) -> LimitExceededError:
        return LimitExceededError(
            f"{message}; raise it with brined.Limits({limit}=...) if this input "
            "is expected",
            limit=limit,
        )

    def _periodic(self, pos: int) -> None:
        """The checks made every `Limits.check_every` input bytes and per call."""
        if self._trusted:
            return
        limits = self._limits
        if len(self._memo) + len(self._memo_extra) > limits.max_memo:
            raise self._limit(
                f"the memo holds more than max_memo={limits.max_memo} entries",
                "max_memo",
            )
        if self._deadline_at and time.monotonic() > self._deadline_at:
            raise self._limit(
                f"the load ran past its deadline of {limits.deadline} s", "deadline"
            )
