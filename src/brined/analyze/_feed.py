"""The feeder: the file the scanning unpickler reads, one chunk at a time.

The scan runs brined's own `Unpickler` over this object, so the loader's code
decides everything; the feeder only controls what bytes it sees and when:

* It parses the original stream opcode by opcode and hands the loader (through
  ``peek``) chunks that end right after every opcode that can import, call or
  mutate (GLOBAL, REDUCE, BUILD, APPENDS, ...).  So while the loader runs such
  an opcode, the last opcode of the current chunk is the one running: that is
  how a finding gets its byte offset without a hook in the loader.  Errors are
  mapped back from the loader's offsets through the chunk's opcode list.
* It rewrites a few opcodes, never changing what loading would decide:
  FRAME opcodes whose length is really there are dropped (they only group
  bytes); a bytes or bytearray payload longer than `elide_over` is skipped on
  the input and replaced by a persistent id the scanner turns into an elided
  value (str payloads are read whole, as the loader reads them: the guards
  look at their content and length, e.g. ``int()`` of too many digits);
  EMPTY_LIST / EMPTY_DICT / EMPTY_SET become persistent ids for bounded
  containers.  Memory then stays independent of the data's size.
* Memo stores the pickle never reads back are dropped (see `survey_memo`):
  a first pass collects the memo indices any GET reads; then an unread PUT,
  BINPUT, LONG_BINPUT or MEMOIZE becomes a store to one scratch index no GET
  reads (it fails on an empty stack as the store would), and a read MEMOIZE
  becomes a LONG_BINPUT of the index the loader would have given it.  So the
  loader's memo holds only values that are read back, plus one.
* At the first thing it does not understand (unknown opcode, short argument,
  an oversized line) it stops rewriting and passes the rest through verbatim,
  so the loader meets the problem itself and raises what it always raises.
"""

from __future__ import annotations

import bisect
import codecs
import struct
from typing import Any, BinaryIO, Final

from .._format.opcodes import (
    BINGET,
    BINPERSID,
    BINPUT,
    BINUNICODE,
    BY_CODE,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    FRAME,
    GET,
    LONG_BINGET,
    LONG_BINPUT,
    MEMOIZE,
    PUT,
    SHORT_BINUNICODE,
    STOP,
    OpInfo,
)
from .._safe.limits import Limits
from ._args import COUNTED, FIXED, LINES

__all__ = ["Feeder", "INTERESTING", "MemoPlan", "survey_memo"]

# Opcodes after which a chunk ends: the ones that import, call or mutate.
INTERESTING: Final = frozenset(
    [
        "GLOBAL",
        "STACK_GLOBAL",
        "INST",
        "OBJ",
        "EXT1",
        "EXT2",
        "EXT4",
        "REDUCE",
        "BUILD",
        "NEWOBJ",
        "NEWOBJ_EX",
        "APPEND",
        "APPENDS",
        "SETITEM",
        "SETITEMS",
        "ADDITEMS",
        "PERSID",
        "BINPERSID",
        "NEXT_BUFFER",
        "READONLY_BUFFER",
    ]
)
_ELIDABLE: Final = {
    "bytes4": "B",
    "bytes8": "B",
    "bytearray8": "A",
}
_CONTAINERS: Final = {EMPTY_LIST: "L", EMPTY_DICT: "D", EMPTY_SET: "E"}
_CHUNK: Final = 1 << 16
_LINE_MAX: Final = 1 << 20
_PREVIEW: Final = 64
_STORES: Final = frozenset([PUT, BINPUT, LONG_BINPUT, MEMOIZE])
_READS: Final = frozenset([GET, BINGET, LONG_BINGET])
_BITMAP_BITS: Final = 1 << 26  # indices below this: one bit each (8 MiB at most)
_OVERFLOW_MAX: Final = 1 << 16  # indices above it: a set, at most this many
_TEXT_DIGITS: Final = 20


class _IndexSet:
    """A bounded set of memo indices: a bitmap, and a small set above it.

    `add` returns whether the index is new; `full` turns true when an index
    does not fit (the caller then gives up dropping stores).
    """

    def __init__(self) -> None:
        self._bits = bytearray()
        self._high: set[int] = set()
        self.full = False
        self.empty = True

    def fill(self, n: int) -> None:
        """Add the indices below `n` to an empty set."""
        if n > _BITMAP_BITS:
            self.full = True
            n = _BITMAP_BITS
        whole, rest = divmod(n, 8)
        self._bits = bytearray(b"\xff" * whole)
        if rest:
            self._bits.append((1 << rest) - 1)
        self.empty = n == 0

    def add(self, i: int) -> bool:
        self.empty = False
        if i < _BITMAP_BITS:
            byte, bit = divmod(i, 8)
            bits = self._bits
            if byte >= len(bits):
                grown = min(max(byte + 1, 2 * len(bits)), _BITMAP_BITS // 8)
                bits.extend(bytes(grown - len(bits)))
            if bits[byte] >> bit & 1:
                return False
            bits[byte] |= 1 << bit
            return True
        if i in self._high:
            return False
        if len(self._high) >= _OVERFLOW_MAX:
            self.full = True
        self._high.add(i)
        return True

    def __contains__(self, i: int) -> bool:
        if i < _BITMAP_BITS:
            byte, bit = divmod(i, 8)
            return byte < len(self._bits) and bool(self._bits[byte] >> bit & 1)
        return i in self._high


class MemoPlan:
    """Which memo indices the pickle reads back (built by `survey_memo`).

    Both passes count the memo's distinct keys with the same code (`Feeder`),
    so a MEMOIZE gets the index the loader would give it.
    """

    def __init__(self) -> None:
        self.read = _IndexSet()
        self.ok = True
        self.scratch = b""  # the store that replaces an unread one


def _text_index(line: bytes) -> int | None:
    """The index of a PUT/GET line, when it is plainly a decimal number."""
    digits = line[:-1]
    if not digits.isdigit() or len(digits) > _TEXT_DIGITS:
        return None
    return int(digits)


def survey_memo(
    source: BinaryIO, size: int | None, elide_over: int, limits: Limits
) -> MemoPlan | None:
    """First pass: the memo indices the pickle reads (None: drop nothing).

    Parses exactly as the rewriting feeder does, then seeks `source` back.
    Gives up (None) for an unseekable source, for a stream the feeder would
    pass on verbatim, for text indices that are not plain decimals, when the
    memo would exceed ``limits.max_memo`` (the loader must see that) and when
    the index sets outgrow their bounds.
    """
    try:
        here = source.tell()
        if not source.seekable():
            return None
    except (OSError, AttributeError, ValueError):
        return None
    plan = MemoPlan()
    survey = Feeder(source, size, "", elide_over, limits=limits)
    survey._surveying = plan
    try:
        while plan.ok and survey.stop_end is None and not survey._raw:
            survey._next_chunk(1)
            if not survey._chunk and survey.stop_end is None:
                break  # end of input
    finally:
        source.seek(here)
    if not plan.ok or survey._raw:
        return None
    for i in range(256):
        if i not in plan.read:
            plan.scratch = bytes([BINPUT, i])
            break
    else:
        for i in range(0xFFFFFFFF, 0xFFFFFF00, -1):
            if i not in plan.read and i <= limits.max_memo_index:
                plan.scratch = bytes([LONG_BINPUT]) + struct.pack("<I", i)
                break
        else:
            return None
    survey._surveying = None
    return plan


class Feeder:
    """A read/readline/peek file over `source` for `Unpickler` (see module doc).

    `size` is the number of bytes from the current position to the end of the
    source when known (for FRAME checks); `token` prefixes the persistent ids the
    feeder invents, and `elided` maps each such id to ``(kind, length, prefix)``.
    """

    def __init__(
        self,
        source: BinaryIO,
        size: int | None,
        token: str,
        elide_over: int,
        *,
        memo: MemoPlan | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._src = source
        self._plan = memo
        self._surveying: MemoPlan | None = None
        self._limits = limits if limits is not None else Limits()
        # Stores rewritten from here on (a fresh count, as the loader's memo).
        self._memo_count = 0
        self._memo_stored = _IndexSet()
        # While the keys stored are exactly 0 .. count-1 (what MEMOIZE alone
        # makes), `_memo_stored` stays empty: the count says it all.
        self._memo_dense = True
        self._size = size
        self._token = token
        self._elide_over = elide_over
        self._orig = 0  # original offset of the next opcode to parse
        self._chunk = b""
        self._chunk_start = 0  # rewritten offset of _chunk[0]
        self._chunk_orig = 0  # original offset of _chunk[0]
        self._wpos = 0  # rewritten offset the loader has consumed up to
        self._starts: list[int] = []  # rewritten start of each op in the chunk
        self._ops: list[tuple[int, str]] = []  # (original offset, name)
        self._raw = False
        self._pending = b""  # raw bytes to serve before the rest of the source
        self._raw_orig = 0  # original offset of the first raw byte
        self._raw_start = 0  # rewritten offset of the first raw byte
        self._counter = 0
        self._failed = b""  # the bytes of an opcode that could not be parsed
        self.elided: dict[str, tuple[str, int, bytes]] = {}
        self.stop_end: int | None = None
        self.op_counts: dict[str, int] = {}

    # -- where the loader is -----------------------------------------------

    def current(self) -> tuple[int | None, str | None]:
        """The original offset and name of the opcode the loader is running."""
        if self._ops:
            return self._ops[-1]
        return None, None

    def original(self, rewritten: int | None) -> int | None:
        """Map a loader offset (in the rewritten stream) to the original one."""
        if rewritten is None:
            return None
        if self._raw and rewritten >= self._raw_start:
            return self._raw_orig + rewritten - self._raw_start
        i = bisect.bisect_right(self._starts, rewritten) - 1
        if i >= 0:
            return self._ops[i][0]
        # Before the chunk's first opcode (an empty chunk at the end of input).
        return self._chunk_orig + max(0, rewritten - self._chunk_start)

    # -- the file interface the loader uses ----------------------------------

    def peek(self, n: int = 0) -> bytes:
        """The unread rest of the current chunk, starting a new one if needed."""
        if self._wpos >= self._chunk_start + len(self._chunk):
            self._next_chunk(max(n, 1))
        return self._chunk[self._wpos - self._chunk_start :]

    def read(self, n: int = -1) -> bytes:
        """Consume up to `n` bytes (what the loader has used, or an exact read)."""
        parts = []
        while n:
            rest = self.peek(n)
            if not rest:
                break
            take = rest if n < 0 else rest[:n]
            parts.append(take)
            self._wpos += len(take)
            if n > 0:
                n -= len(take)
        return b"".join(parts)

    def readline(self) -> bytes:
        """Consume one line (the loader asks only in raw mode, for a long line)."""
        parts = []
        while True:
            rest = self.peek(1)
            if not rest:
                break
            nl = rest.find(b"\n")
            take = rest if nl < 0 else rest[: nl + 1]
            parts.append(take)
            self._wpos += len(take)
            if nl >= 0:
                break
        return b"".join(parts)

    # -- building chunks -----------------------------------------------------

    def _next_chunk(self, need: int) -> None:
        self._chunk_start = self._wpos
        self._chunk_orig = self._orig
        self._starts = []
        self._ops = []
        if self.stop_end is not None:
            self._chunk = b""
            return
        if self._raw:
            data = self._pending + self._src.read(max(need, _CHUNK))
            self._pending = b""
            self._chunk = data
            return
        out = bytearray()
        while len(out) < _CHUNK:
            start = self._orig
            raw = self._src.read(1)
            if not raw:
                break
            op = BY_CODE.get(raw[0])
            self._failed = raw
            replacement = None if op is None else self._parse(op, raw)
            if replacement is None:
                # Not understood: from here on the loader reads verbatim.
                self._raw = True
                self._raw_orig = start
                self._raw_start = self._chunk_start + len(out)
                self._pending = self._failed
                if not out:
                    self._next_chunk(need)
                    return
                break
            assert op is not None
            if op.code in _STORES or op.code in _READS:
                replacement = self._memo_op(op.code, replacement)
            self._starts.append(self._chunk_start + len(out))
            self._ops.append((start, op.name))
            out += replacement
            if op.name in INTERESTING:
                self.op_counts[op.name] = self.op_counts.get(op.name, 0) + 1
                break
            if op.code == STOP:
                self.stop_end = self._orig
                break
        self._chunk = bytes(out)

    def _memo_op(self, code: int, op: bytes) -> bytes:
        """Record (survey) or rewrite (plan) one memo opcode."""
        plan = self._surveying
        if plan is None and self._plan is None:
            return op
        index: int | None
        if code == MEMOIZE:
            index = self._memo_count
        elif code in (BINPUT, BINGET):
            index = op[1]
        elif code in (LONG_BINPUT, LONG_BINGET):
            index = struct.unpack("<I", op[1:5])[0]
        else:
            index = _text_index(op[1:])
        if index is None:
            if plan is not None:
                plan.ok = False  # let the loader judge it, and drop nothing
            return op
        if code in _READS:
            if plan is not None:
                plan.read.add(index)
                plan.ok = plan.ok and not plan.read.full
            return op
        limit = self._limits.max_memo_index
        if index > limit or (code == MEMOIZE and index > 0xFFFFFFFF):
            if plan is not None:
                plan.ok = False  # the loader refuses it (or, MEMOIZE, may not)
            return op
        if self._memo_dense:
            if index == self._memo_count:
                self._memo_count += 1
            elif index > self._memo_count:
                self._memo_dense = False
                self._memo_stored.fill(self._memo_count)
                self._memo_stored.add(index)
                self._memo_count += 1
        elif self._memo_stored.add(index):
            self._memo_count += 1
        if plan is not None:
            plan.ok = (
                plan.ok
                and not self._memo_stored.full
                # The rewritten memo may hold one more key (the scratch one).
                and self._memo_count < self._limits.max_memo
            )
            return op
        assert self._plan is not None
        read = self._plan.read
        if read.empty or index not in read:
            return self._plan.scratch
        if code == MEMOIZE:
            return bytes([LONG_BINPUT]) + struct.pack("<I", index)
        return op

    def name_at(self, rewritten: int | None) -> str | None:
        """The original name of the opcode at a loader offset (None in raw mode)."""
        if rewritten is None or (self._raw and rewritten >= self._raw_start):
            return None
        i = bisect.bisect_right(self._starts, rewritten) - 1
        return self._ops[i][1] if i >= 0 else None

    def _take(self, raw: bytes, n: int) -> bytes | None:
        data = self._src.read(n)
        self._failed = raw + data  # what to pass on if this op is not understood
        if len(data) < n:
            return None
        return data

    def _parse(self, op: OpInfo, raw: bytes) -> bytes | None:
        """Read one opcode's argument; return the bytes the loader gets for it.

        Returns None when the opcode cannot be parsed (the bytes read so far are
        left in ``_failed`` for raw mode).
        """
        kind = op.arg
        if kind is None:
            self._orig += 1
            if op.code in _CONTAINERS:
                return self._persistent(_CONTAINERS[op.code], 0, b"")
            return raw
        if kind in FIXED:
            data = self._take(raw, FIXED[kind][0])
            if data is None:
                return None
            self._orig += 1 + len(data)
            if op.code == FRAME:
                return self._frame(raw + data)
            return raw + data
        if kind in LINES:
            got = raw
            for _ in range(LINES[kind]):
                line = self._src.readline(_LINE_MAX)
                got += line
                self._failed = got
                if not line.endswith(b"\n"):
                    return None
            self._orig += len(got)
            return got
        size_kind = COUNTED[kind]
        width, fmt = FIXED[size_kind]
        head = self._take(raw, width)
        if head is None:
            return None
        n = struct.unpack(fmt, head)[0]
        left = None if self._size is None else self._size - (self._orig + 1 + width)
        if n < 0 or (left is not None and n > left):
            return None
        if kind in _ELIDABLE and n > self._elide_over:
            return self._elide(kind, n, raw + head)
        payload = self._take(raw + head, n)
        if payload is None:
            return None
        self._orig += 1 + width + n
        return raw + head + payload

    def _frame(self, op: bytes) -> bytes | None:
        n = struct.unpack("<Q", op[1:])[0]
        if self._size is None or n > self._size - self._orig:
            # Let the loader find out the frame is not all there.
            return None
        return b""

    def _elide(self, kind: str, n: int, header: bytes) -> bytes | None:
        # A str payload is still checked as the loader decodes it (UTF-8 with
        # surrogatepass), piece by piece, so skipping it changes no verdict.
        check = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        text = _ELIDABLE[kind] == "S"
        prefix = self._src.read(min(n, _PREVIEW))
        valid = True
        left = n - len(prefix)
        piece = prefix
        while True:
            if text and valid:
                try:
                    check.decode(piece, final=left == 0)
                except UnicodeDecodeError:
                    valid = False
            if left <= 0:
                break
            piece = self._src.read(min(left, 1 << 20))
            if not piece:
                # Shorter than the size said: let the loader see the header.
                self._failed = header + prefix
                return None
            left -= len(piece)
        self._orig += len(header) + n
        if not valid:
            # One invalid byte: the loader raises what it raises for the whole.
            return bytes([BINUNICODE, 1, 0, 0, 0, 0xFF])
        return self._persistent(_ELIDABLE[kind], n, prefix)

    def _persistent(self, kind: str, length: int, prefix: bytes) -> bytes:
        if self._surveying is not None:
            return b""
        self._counter += 1
        pid = f"{self._token}{kind}{self._counter}"
        self.elided[pid] = (kind, length, prefix)
        encoded = pid.encode("ascii")
        return bytes([SHORT_BINUNICODE, len(encoded)]) + encoded + bytes([BINPERSID])


def read_all(source: BinaryIO) -> Any:
    """Drain `source` (used for counting trailing bytes)."""
    total = 0
    while True:
        data = source.read(1 << 20)
        if not data:
            return total
        total += len(data)
