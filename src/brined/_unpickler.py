"""The unpickler: a flat, iterative pickle virtual machine.

Design notes (why it looks the way it does):

* One loop, no recursion per nesting level: containers are built on an explicit
  stack and MARK pushes the current stack onto a metastack, so a million nested
  lists load at the default recursion limit.
* The input is a byte buffer plus an integer position held in locals.  `loads`
  indexes the caller's bytes directly; a file is read into the buffer a frame or a
  peeked chunk at a time, or exactly as many bytes as each opcode needs when the
  file can neither peek nor seek.  Every length is checked against what the buffer
  holds before anything is sliced or allocated.
* Dispatch is an if/elif chain on the opcode int, most frequent first; rare opcodes
  go through a table of methods that work on the state saved on ``self``.
* Errors: anything the loop itself trips over becomes an `UnpicklingError`
  subclass naming the opcode and byte offset.  Exceptions raised by code the
  pickle calls (REDUCE, BUILD, hooks...) propagate unchanged when ``trusted=True``,
  as the stdlib does, and are wrapped otherwise.
* Safety: the base `find_class` asks the load `Policy` before importing anything.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import copyreg
import io
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from ._opcodes import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BINBYTES,
    BINBYTES8,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPERSID,
    BINPUT,
    BINSTRING,
    BINUNICODE,
    BINUNICODE8,
    BUILD,
    BY_CODE,
    BYTEARRAY8,
    DICT,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    EXT1,
    EXT2,
    EXT4,
    FLOAT,
    FRAME,
    FROZENSET,
    GET,
    GLOBAL,
    HIGHEST_PROTOCOL,
    INST,
    INT,
    LIST,
    LONG,
    LONG1,
    LONG4,
    LONG_BINGET,
    LONG_BINPUT,
    MARK,
    MEMOIZE,
    NEWFALSE,
    NEWOBJ,
    NEWOBJ_EX,
    NEWTRUE,
    NEXT_BUFFER,
    NONE,
    OBJ,
    PERSID,
    POP,
    POP_MARK,
    PROTO,
    PUT,
    READONLY_BUFFER,
    REDUCE,
    SETITEM,
    SETITEMS,
    SHORT_BINBYTES,
    SHORT_BINSTRING,
    SHORT_BINUNICODE,
    STACK_GLOBAL,
    STOP,
    STRING,
    TUPLE,
    TUPLE1,
    TUPLE2,
    TUPLE3,
    UNICODE,
)
from ._policy import ALLOWED, BLOCKED, Policy, default_policy, is_blocked
from .errors import (
    MalformedPickleError,
    TruncatedPickleError,
    UnpicklingError,
    UnsafeGlobalError,
    UnsafeOperationError,
)

__all__ = ["Unpickler", "load", "loads"]

_unpack_i4: Final = struct.Struct("<i").unpack_from
_unpack_u4: Final = struct.Struct("<I").unpack_from
_unpack_u8: Final = struct.Struct("<Q").unpack_from
_unpack_f8: Final = struct.Struct(">d").unpack_from
_MAXSIZE: Final = sys.maxsize
_ModuleType: Final = type(sys)
_HEAPTYPE: Final = 1 << 9  # Py_TPFLAGS_HEAPTYPE
# Reads larger than this go to the file in pieces, so a forged length allocates
# only as much as the stream really holds.
_READ_CHUNK: Final = 1 << 20
# Emulated peek on io.BytesIO: first read-ahead size, doubled per refill.
_PEEK_START: Final = 8192
_PEEK_MAX: Final = 1 << 20
_NO_PERSISTENT_LOAD: Final = (
    "A load persistent id instruction was encountered, but no persistent_load "
    "function was specified."
)


class _MalformedValueError(MalformedPickleError, ValueError):
    """A malformed pickle where the stdlib raises ValueError (bad literal, bad
    protocol...): also a ValueError so stdlib-era ``except ValueError`` still works.
    """


def _where(code: int, offset: int) -> str:
    info = BY_CODE.get(code)
    if info is None:
        return f"at offset {offset}"
    return f"{info.name} at offset {offset}"


def _op_name(code: int) -> str | None:
    info = BY_CODE.get(code)
    return None if info is None else info.name


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


class Unpickler:
    """Read pickles from a binary file, one object per `load` call.

    `file` needs ``read(n)`` and ``readline()``; ``peek`` is used when present.
    `fix_imports`, `encoding` and `errors` work as in the stdlib (`encoding` may be
    ``"bytes"`` to load Python 2 ``str`` as bytes).  `buffers` feeds NEXT_BUFFER.

    By default loading is safe: `find_class` only resolves the globals the load
    policy allows (plain data types, plus what `allow` adds: classes, functions,
    ``"module.qualname"`` strings or ``"package.*"`` patterns).  ``trusted=True``
    resolves any global, exactly like the stdlib.  Subclasses may override
    `find_class` and `persistent_load`, as methods or instance attributes.
    """

    memo: dict[int, Any]

    def __init__(
        self,
        file: Any,
        *,
        fix_imports: bool = True,
        encoding: str = "ASCII",
        errors: str = "strict",
        buffers: Iterable[Any] | None = None,
        trusted: bool = False,
        allow: Iterable[object] | str | None = None,
    ) -> None:
        if not isinstance(encoding, str) or not isinstance(errors, str):
            raise TypeError("encoding and errors must be str")
        self.memo = {}
        self.proto = 0
        self.fix_imports = bool(fix_imports)
        self.encoding = encoding
        self.errors = errors
        self._trusted = bool(trusted)
        self._policy: Policy | None = None
        if not self._trusted:
            if allow is None:
                self._policy = default_policy()
            elif isinstance(allow, Policy):
                self._policy = allow
            else:
                self._policy = Policy(allow)
        self._buffers: Iterator[Any] | None = None if buffers is None else iter(buffers)
        self._file = file
        self._memory = type(file) is _BytesFile
        self._file_read: Callable[[int], bytes] | None = None
        self._file_readline: Callable[[], bytes] | None = None
        self._file_peek: Callable[[int], bytes] | None = None
        self._emulate_peek = False
        if self._memory:
            self._buf: bytes = file.data
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
        self._chunk = _PEEK_START
        self._stack: list[Any] = []
        self._metastack: list[list[Any]] = []
        self._calling = False
        self._op_offset: int | None = None
        self._op_code = -1
        self._find_class_hook: Callable[[str, str], Any] | None = None
        self._persistent_load_hook: Callable[[Any], Any] | None = None

    # -- hooks ---------------------------------------------------------------

    def persistent_load(self, pid: Any) -> Any:
        """Return the object for persistent id `pid`; override to support them."""
        raise UnpicklingError(_NO_PERSISTENT_LOAD)

    def find_class(self, module: str, name: str) -> Any:
        """Return the global `module`.`name`, if the load policy allows it.

        With ``trusted=True`` this is the stdlib's find_class.  Otherwise the
        (fix_imports-mapped) name is checked before anything is imported and a
        refused name raises `UnsafeGlobalError`.
        """
        sys.audit("pickle.find_class", module, name)
        written = f"{module}.{name}"
        if self.proto < 3 and self.fix_imports:
            mapped = _compat_pickle.NAME_MAPPING.get((module, name))
            if mapped is not None:
                module, name = mapped
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        policy = self._policy
        if policy is not None:
            verdict = policy.check(module, name)
            if verdict != ALLOWED:
                raise self._refusal(module, name, verdict, written)
        __import__(module, level=0)
        root: Any = sys.modules[module]
        obj = root
        if self.proto < 4:
            obj = getattr(obj, name)
        else:
            for part in name.split("."):
                if part == "<locals>":
                    raise AttributeError(
                        f"Can't get local attribute {name!r} on {obj!r}"
                    )
                if policy is not None and obj is not root and type(obj) is _ModuleType:
                    # Walking from one module into another ("mod.os.path")
                    # would step around the name checks.
                    raise self._refusal(module, name, BLOCKED, written)
                obj = getattr(obj, part)
        if policy is not None:
            self._check_resolved(module, name, obj, written)
        return obj

    def _refusal(
        self, module: str, name: str, verdict: int, written: str
    ) -> UnsafeGlobalError:
        policy = self._policy if self._policy is not None else default_policy()
        return policy.refusal(
            module,
            name,
            verdict,
            offset=self._op_offset,
            opcode=_op_name(self._op_code),
            written=written,
        )

    def _check_resolved(self, module: str, name: str, obj: Any, written: str) -> None:
        # The name passed the policy, but an allowed module can re-export a
        # blocked object (``from os import system``) or a module: check what the
        # name actually resolved to.
        if type(obj) is _ModuleType:
            raise self._refusal(module, name, BLOCKED, written)
        mod = getattr(obj, "__module__", None)
        qual = getattr(obj, "__qualname__", None)
        if isinstance(mod, str) and isinstance(qual, str) and is_blocked(mod, qual):
            raise self._refusal(module, name, BLOCKED, written)

    # -- input ---------------------------------------------------------------

    def _truncated(self, code: int, start: int) -> TruncatedPickleError:
        offset = self._base + start
        if offset == 0 and code < 0:
            return TruncatedPickleError("Ran out of input", offset=0)
        return TruncatedPickleError(
            f"pickle data was truncated ({_where(code, offset)})",
            offset=offset,
            opcode=_op_name(code),
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

    def _more(
        self, buf: bytes, pos: int, end: int, start: int, need: int, code: int
    ) -> tuple[bytes, int, int, int]:
        """Return a buffer whose first `need` bytes continue from ``buf[pos:]``.

        Returns (buf, pos, end, start) with `start` (the current opcode's position)
        rebased onto the new buffer.  Raises TruncatedPickleError when the input
        ends first; for in-memory input that is the only outcome.
        """
        if self._memory:
            raise self._truncated(code, start)
        self._base += pos
        start -= pos
        if self._unconsumed:
            # buf[:end] is still in the file: move the file past what was used.
            self._consume(pos)
            chunk = self._peek(need)
            if chunk is not None and len(chunk) >= need:
                return chunk, 0, len(chunk), start
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
                    return chunk, 0, len(chunk), start
                if not chunk:
                    raise self._truncated(code, start)
        data = rest + self._read_exact(need - len(rest), code, start)
        return data, 0, len(data), start

    def _fill_line(
        self, buf: bytes, pos: int, end: int, start: int, code: int
    ) -> tuple[bytes, int, int, int]:
        """Like `_more`, but until the buffer holds a newline after `pos`."""
        if self._memory:
            raise self._truncated(code, start)
        self._base += pos
        start -= pos
        readline = self._file_readline
        assert readline is not None
        if self._unconsumed:
            self._consume(pos)
            chunk = self._peek(1)
            if chunk is not None and chunk.find(b"\n") >= 0:
                return chunk, 0, len(chunk), start
            self._unconsumed = False
            data = bytes(readline())
        else:
            data = buf[pos:end] + bytes(readline())
        if not data.endswith(b"\n"):
            raise self._truncated(code, start)
        return data, 0, len(data), start

    def _read(self, n: int) -> bytes:
        """Take `n` bytes from the saved buffer state (for the rare opcodes)."""
        if n < 0:
            raise MalformedPickleError("negative length")
        pos = self._pos
        if pos + n > self._end:
            buf, pos, end, start = self._more(
                self._buf, pos, self._end, self._start, n, self._op_code
            )
            self._buf, self._end, self._start = buf, end, start
        self._pos = pos + n
        return self._buf[pos : pos + n]

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

    # -- the loop --------------------------------------------------------------

    def load(self) -> Any:
        """Read one pickle from the file and return the object it describes.

        Reads nothing past the pickle's STOP opcode.  Raises `TruncatedPickleError`
        (an EOFError) when the input ends first, another `UnpicklingError` subclass
        for malformed or refused input.
        """
        try:
            memory = self._memory
        except AttributeError:
            raise UnpicklingError(
                f"Unpickler.__init__() was not called by {type(self).__name__}"
                ".__init__()"
            ) from None
        # Hooks are looked up once per load: a subclass method or an instance
        # attribute set after __init__ both work.
        find_class: Callable[[str, str], Any] = self.find_class
        persistent_load: Callable[[Any], Any] = self.persistent_load
        self._find_class_hook = find_class
        self._persistent_load_hook = persistent_load
        self.proto = 0
        self._calling = False
        memo = self.memo
        trusted = self._trusted
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        self._stack = stack
        self._metastack = metastack
        append = stack.append
        if memory:
            buf = self._buf
            pos = self._pos
        else:
            buf = b""
            pos = 0
            self._unconsumed = False
            self._chunk = _PEEK_START
        end = len(buf)
        self._base = -pos
        unpack_i4 = _unpack_i4
        unpack_u4 = _unpack_u4
        start = pos
        code = -1
        calling = False
        try:
            while True:
                start = pos
                if pos >= end:
                    buf, pos, end, start = self._more(buf, pos, end, start, 1, -1)
                code = buf[pos]
                pos += 1
                # Split once on the high bit (protocol 2+ opcodes), then a
                # chain per half ordered by how often each opcode occurs: the
                # chain depth is most of the dispatch cost.
                if code >= 0x80:
                    if code == MEMOIZE:
                        memo[len(memo)] = stack[-1]
                    elif code == SHORT_BINUNICODE:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if pos + n > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        try:
                            append(buf[pos : pos + n].decode())
                        except UnicodeDecodeError:
                            # Strict UTF-8 is the fast path; a pickle may hold
                            # lone surrogates.
                            append(str(buf[pos : pos + n], "utf-8", "surrogatepass"))
                        pos += n
                    elif code == TUPLE2:
                        value = stack.pop()
                        stack[-1] = (stack[-1], value)
                    elif code == TUPLE1:
                        stack[-1] = (stack[-1],)
                    elif code == TUPLE3:
                        value = stack.pop()
                        key = stack.pop()
                        stack[-1] = (stack[-1], key, value)
                    elif code == NEWTRUE:
                        append(True)
                    elif code == NEWFALSE:
                        append(False)
                    elif code == FRAME:
                        if pos + 8 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 8, code
                            )
                        n = _unpack_u8(buf, pos)[0]
                        pos += 8
                        if n > _MAXSIZE:
                            raise MalformedPickleError(
                                "FRAME length exceeds system's maximum of "
                                f"{_MAXSIZE} bytes"
                            )
                        # A frame only promises that n bytes follow: make them
                        # available in one piece (for in-memory input, just check).
                        if pos + n > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                    elif code == STACK_GLOBAL:
                        name = stack.pop()
                        module = stack.pop()
                        if type(name) is not str or type(module) is not str:
                            raise MalformedPickleError("STACK_GLOBAL requires str")
                        self._op_offset = self._base + start
                        self._op_code = code
                        calling = True
                        value = find_class(module, name)
                        calling = False
                        append(value)
                    elif code == NEWOBJ:
                        args = stack.pop()
                        cls = stack.pop()
                        _check_newobj(cls, args, None, "NEWOBJ")
                        calling = True
                        value = cls.__new__(cls, *args)
                        calling = False
                        append(value)
                    elif code == LONG1:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if pos + n > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        append(
                            int.from_bytes(buf[pos : pos + n], "little", signed=True)
                        )
                        pos += n
                    elif code == EMPTY_SET:
                        append(set())
                    elif code == ADDITEMS:
                        if not metastack:
                            raise MalformedPickleError("could not find MARK")
                        items = stack
                        stack = metastack.pop()
                        append = stack.append
                        target = stack[-1]
                        if type(target) is set:
                            target.update(items)
                        else:
                            calling = True
                            _add_items(target, items)
                            calling = False
                    else:
                        buf, pos, end, start, stack = self._rare(
                            code, buf, pos, end, start, stack
                        )
                        append = stack.append
                elif code == BINGET:
                    if pos >= end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 1, code)
                    try:
                        append(memo[buf[pos]])
                    except KeyError:
                        raise MalformedPickleError(
                            f"Memo value not found at index {buf[pos]}"
                        ) from None
                    pos += 1
                elif code == BINPUT:
                    if pos >= end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 1, code)
                    memo[buf[pos]] = stack[-1]
                    pos += 1
                elif code == LONG_BINGET:
                    if pos + 4 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 4, code)
                    n = unpack_u4(buf, pos)[0]
                    pos += 4
                    try:
                        append(memo[n])
                    except KeyError:
                        raise MalformedPickleError(
                            f"Memo value not found at index {n}"
                        ) from None
                elif code == LONG_BINPUT:
                    if pos + 4 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 4, code)
                    memo[unpack_u4(buf, pos)[0]] = stack[-1]
                    pos += 4
                elif code == BININT1:
                    if pos >= end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 1, code)
                    append(buf[pos])
                    pos += 1
                elif code == NONE:
                    append(None)
                elif code == EMPTY_LIST:
                    append([])
                elif code == EMPTY_DICT:
                    append({})
                elif code == MARK:
                    metastack.append(stack)
                    stack = []
                    append = stack.append
                elif code == APPENDS:
                    if not metastack:
                        raise MalformedPickleError("could not find MARK")
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    if type(target) is list:
                        target.extend(items)
                    else:
                        calling = True
                        _extend(target, items)
                        calling = False
                elif code == SETITEMS:
                    if not metastack:
                        raise MalformedPickleError("could not find MARK")
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    n = len(items)
                    if n & 1:
                        raise MalformedPickleError("odd number of items for SETITEMS")
                    if type(target) is dict:
                        target.update(zip(items[::2], items[1::2], strict=True))
                    else:
                        calling = True
                        for i in range(0, n, 2):
                            target[items[i]] = items[i + 1]
                        calling = False
                elif code == BININT2:
                    if pos + 2 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 2, code)
                    append(buf[pos] | (buf[pos + 1] << 8))
                    pos += 2
                elif code == BININT:
                    if pos + 4 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 4, code)
                    append(unpack_i4(buf, pos)[0])
                    pos += 4
                elif code == BINFLOAT:
                    if pos + 8 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 8, code)
                    append(_unpack_f8(buf, pos)[0])
                    pos += 8
                elif code == BINUNICODE:
                    if pos + 4 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 4, code)
                    n = unpack_u4(buf, pos)[0]
                    pos += 4
                    if pos + n > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, n, code)
                    try:
                        append(buf[pos : pos + n].decode())
                    except UnicodeDecodeError:
                        # Strict UTF-8 first: much faster than naming an error
                        # handler; lone surrogates take the slow path.
                        append(str(buf[pos : pos + n], "utf-8", "surrogatepass"))
                    pos += n
                elif code == APPEND:
                    value = stack.pop()
                    target = stack[-1]
                    if type(target) is list:
                        target.append(value)
                    else:
                        calling = True
                        target.append(value)
                        calling = False
                elif code == SETITEM:
                    value = stack.pop()
                    key = stack.pop()
                    target = stack[-1]
                    if type(target) is dict:
                        target[key] = value
                    else:
                        calling = True
                        target[key] = value
                        calling = False
                elif code == EMPTY_TUPLE:
                    append(())
                elif code == SHORT_BINBYTES:
                    if pos >= end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 1, code)
                    n = buf[pos]
                    pos += 1
                    if pos + n > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, n, code)
                    append(buf[pos : pos + n])
                    pos += n
                elif code == REDUCE:
                    args = stack.pop()
                    func = stack[-1]
                    if not trusted and func is _reconstructor:
                        _check_reconstructor(args)
                    calling = True
                    value = func(*args)
                    calling = False
                    stack[-1] = value
                elif code == BUILD:
                    state = stack.pop()
                    target = stack[-1]
                    calling = True
                    _build(target, state)
                    calling = False
                elif code == TUPLE:
                    if not metastack:
                        raise MalformedPickleError("could not find MARK")
                    value = tuple(stack)
                    stack = metastack.pop()
                    append = stack.append
                    append(value)
                elif code == BINBYTES:
                    if pos + 4 > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 4, code)
                    n = unpack_u4(buf, pos)[0]
                    pos += 4
                    if pos + n > end:
                        buf, pos, end, start = self._more(buf, pos, end, start, n, code)
                    append(buf[pos : pos + n])
                    pos += n
                elif code == BINPERSID:
                    pid = stack.pop()
                    calling = True
                    value = persistent_load(pid)
                    calling = False
                    append(value)
                elif code == STOP:
                    value = stack.pop()
                    self._finish(pos)
                    return value
                else:
                    buf, pos, end, start, stack = self._rare(
                        code, buf, pos, end, start, stack
                    )
                    append = stack.append
        except Exception as exc:
            err = self._translate(exc, code, start, calling or self._calling, metastack)
            if err is None:
                raise
            raise err from exc

    def _rare(
        self, code: int, buf: bytes, pos: int, end: int, start: int, stack: list[Any]
    ) -> tuple[bytes, int, int, int, list[Any]]:
        """Run a rare opcode from the table on the state saved on self."""
        handler = _RARE.get(code)
        if handler is None:
            raise MalformedPickleError(_bad_key(code))
        self._buf = buf
        self._pos = pos
        self._end = end
        self._start = start
        self._stack = stack
        self._op_code = code
        handler(self)
        return self._buf, self._pos, self._end, self._start, self._stack

    def _translate(
        self,
        exc: Exception,
        code: int,
        start: int,
        user: bool,
        metastack: list[list[Any]],
    ) -> Exception | None:
        """Decide what `load` raises for `exc`: None means re-raise it as is."""
        offset = self._base + start
        where = _where(code, offset)
        if isinstance(exc, UnpicklingError):
            if exc.offset is None:
                # Raised without a location (by the loop or a hook): add it.
                exc.offset = offset
                exc.opcode = _op_name(code)
                if exc.args and isinstance(exc.args[0], str):
                    exc.args = (f"{exc.args[0]} ({where})",) + exc.args[1:]
            return None
        if isinstance(exc, _PASS_THROUGH):
            return None
        name = _op_name(code)
        if user:
            if self._trusted:
                return None
            return MalformedPickleError(
                f"{where}: the call it makes failed: {type(exc).__name__}: {exc}",
                offset=offset,
                opcode=name,
            )
        if isinstance(exc, IndexError):
            msg = "unexpected MARK found" if metastack else "unpickling stack underflow"
            return MalformedPickleError(f"{msg} ({where})", offset=offset, opcode=name)
        if self._trusted and isinstance(exc, (TypeError, AttributeError)):
            # What the stdlib raises for e.g. an unhashable dict key.
            return None
        if isinstance(exc, ValueError):
            return _MalformedValueError(f"{exc} ({where})", offset=offset, opcode=name)
        return MalformedPickleError(
            f"{type(exc).__name__}: {exc} ({where})", offset=offset, opcode=name
        )

    # -- rare opcodes: work on the state saved on self --------------------------

    def _pop_mark(self) -> list[Any]:
        items = self._stack
        if not self._metastack:
            raise MalformedPickleError("could not find MARK")
        self._stack = self._metastack.pop()
        return items

    def _decode_string(self, value: bytes) -> Any:
        # Python 2 str (STRING, BINSTRING, SHORT_BINSTRING): bytes or decoded.
        if self.encoding == "bytes":
            return value
        return value.decode(self.encoding, self.errors)

    def _get_memo(self, index: int) -> None:
        try:
            self._stack.append(self.memo[index])
        except KeyError:
            raise MalformedPickleError(
                f"Memo value not found at index {index}"
            ) from None

    def _find(self, module: str, name: str) -> Any:
        hook = self._find_class_hook
        assert hook is not None
        self._op_offset = self._base + self._start
        self._calling = True
        value = hook(module, name)
        self._calling = False
        return value

    def _op_proto(self) -> None:
        proto = self._read(1)[0]
        if proto > HIGHEST_PROTOCOL:
            raise _MalformedValueError(f"unsupported pickle protocol: {proto}")
        self.proto = proto

    def _op_int(self) -> None:
        data = self._readline()
        if data == b"01":
            self._stack.append(True)
        elif data == b"00":
            self._stack.append(False)
        else:
            self._stack.append(int(data, 0))

    def _op_long(self) -> None:
        data = self._readline()
        if data.endswith(b"L"):
            data = data[:-1]
        self._stack.append(int(data, 0))

    def _op_long4(self) -> None:
        n = _unpack_i4(self._read(4))[0]
        if n < 0:
            raise MalformedPickleError("LONG pickle has negative byte count")
        self._stack.append(int.from_bytes(self._read(n), "little", signed=True))

    def _op_float(self) -> None:
        self._stack.append(float(self._readline()))

    def _op_string(self) -> None:
        data = self._readline()
        if len(data) >= 2 and data[0] == data[-1] and data[0] in b"\"'":
            data = data[1:-1]
        else:
            raise MalformedPickleError("the STRING opcode argument must be quoted")
        self._stack.append(self._decode_string(codecs.escape_decode(data)[0]))

    def _op_binstring(self) -> None:
        n = _unpack_i4(self._read(4))[0]
        if n < 0:
            raise MalformedPickleError("BINSTRING pickle has negative byte count")
        self._stack.append(self._decode_string(self._read(n)))

    def _op_short_binstring(self) -> None:
        n = self._read(1)[0]
        self._stack.append(self._decode_string(self._read(n)))

    def _op_unicode(self) -> None:
        self._stack.append(str(self._readline(), "raw-unicode-escape"))

    def _len8(self) -> int:
        n: int = _unpack_u8(self._read(8))[0]
        if n > _MAXSIZE:
            raise MalformedPickleError(
                f"length {n} exceeds system's maximum size of {_MAXSIZE} bytes"
            )
        return n

    def _op_binunicode8(self) -> None:
        data = self._read(self._len8())
        self._stack.append(str(data, "utf-8", "surrogatepass"))

    def _op_binbytes8(self) -> None:
        self._stack.append(self._read(self._len8()))

    def _op_bytearray8(self) -> None:
        self._stack.append(bytearray(self._read(self._len8())))

    def _op_next_buffer(self) -> None:
        if self._buffers is None:
            raise UnpicklingError(
                "pickle stream refers to out-of-band data but no *buffers* "
                "argument was given"
            )
        try:
            buf = next(self._buffers)
        except StopIteration:
            raise UnpicklingError("not enough out-of-band buffers") from None
        self._stack.append(buf)

    def _op_readonly_buffer(self) -> None:
        stack = self._stack
        obj = stack[-1]
        self._calling = True
        with memoryview(obj) as view:
            if not view.readonly:
                stack[-1] = view.toreadonly()
        self._calling = False

    def _op_list(self) -> None:
        items = self._pop_mark()
        self._stack.append(items)

    def _op_dict(self) -> None:
        items = self._pop_mark()
        n = len(items)
        if n & 1:
            raise MalformedPickleError("odd number of items for DICT")
        self._stack.append({items[i]: items[i + 1] for i in range(0, n, 2)})

    def _op_frozenset(self) -> None:
        items = self._pop_mark()
        self._stack.append(frozenset(items))

    def _op_pop(self) -> None:
        # An empty stack above a MARK means POP discards the mark.
        if self._stack or not self._metastack:
            self._stack.pop()
        else:
            self._pop_mark()

    def _op_pop_mark(self) -> None:
        self._pop_mark()

    def _op_dup(self) -> None:
        self._stack.append(self._stack[-1])

    def _op_get(self) -> None:
        self._get_memo(int(self._readline()))

    def _op_put(self) -> None:
        index = int(self._readline())
        if index < 0:
            raise _MalformedValueError("negative PUT argument")
        self.memo[index] = self._stack[-1]

    def _ext(self, code: int) -> None:
        nil: list[Any] = []
        obj = copyreg._extension_cache.get(code, nil)  # type: ignore[attr-defined]
        if obj is not nil:
            self._stack.append(obj)
            return
        key = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
        if not key:
            if code <= 0:
                raise MalformedPickleError("EXT specifies code <= 0")
            raise _MalformedValueError(f"unregistered extension code {code}")
        obj = self._find(key[0], key[1])
        copyreg._extension_cache[code] = obj  # type: ignore[attr-defined]
        self._stack.append(obj)

    def _op_ext1(self) -> None:
        self._ext(self._read(1)[0])

    def _op_ext2(self) -> None:
        data = self._read(2)
        self._ext(data[0] | (data[1] << 8))

    def _op_ext4(self) -> None:
        self._ext(_unpack_i4(self._read(4))[0])

    def _op_global(self) -> None:
        module = self._readline().decode("utf-8")
        name = self._readline().decode("utf-8")
        self._stack.append(self._find(module, name))

    def _instantiate(self, cls: Any, args: list[Any]) -> None:
        self._calling = True
        value: Any
        if args or not isinstance(cls, type) or hasattr(cls, "__getinitargs__"):
            value = cls(*args)
        else:
            new: Any = cls.__new__
            value = new(cls)
        self._calling = False
        self._stack.append(value)

    def _op_inst(self) -> None:
        module = self._readline().decode("ascii")
        name = self._readline().decode("ascii")
        cls = self._find(module, name)
        self._instantiate(cls, self._pop_mark())

    def _op_obj(self) -> None:
        args = self._pop_mark()
        if not args:
            raise MalformedPickleError("unpickling stack underflow")
        cls = args.pop(0)
        self._instantiate(cls, args)

    def _op_newobj_ex(self) -> None:
        stack = self._stack
        kwargs = stack.pop()
        args = stack.pop()
        cls = stack.pop()
        _check_newobj(cls, args, kwargs, "NEWOBJ_EX")
        self._calling = True
        value = cls.__new__(cls, *args, **kwargs)
        self._calling = False
        stack.append(value)

    def _op_persid(self) -> None:
        try:
            pid = self._readline().decode("ascii")
        except UnicodeDecodeError:
            raise UnpicklingError(
                "persistent IDs in protocol 0 must be ASCII strings"
            ) from None
        hook = self._persistent_load_hook
        assert hook is not None
        self._calling = True
        value = hook(pid)
        self._calling = False
        self._stack.append(value)


# -- helpers for the calls the loop makes -----------------------------------------

_reconstructor: Final = copyreg._reconstructor  # type: ignore[attr-defined]
_PASS_THROUGH: Final = (sys.modules["pickle"].UnpicklingError, OSError, MemoryError)


def _bad_key(code: int) -> str:
    ch = chr(code)
    shown = ch if ch.isprintable() and code < 0x80 else f"\\x{code:02x}"
    return f"invalid load key, '{shown}'."


def _extend(target: Any, items: list[Any]) -> None:
    # PEP 307 asks for extend(), but older classes may only have append().
    try:
        extend = target.extend
    except AttributeError:
        append = target.append
        for item in items:
            append(item)
    else:
        extend(items)


def _add_items(target: Any, items: list[Any]) -> None:
    if isinstance(target, set):
        target.update(items)
    else:
        add = target.add
        for item in items:
            add(item)


def _build(inst: Any, state: Any) -> None:
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        if not isinstance(state, dict):
            raise MalformedPickleError("state is not a dictionary")
        inst_dict = inst.__dict__
        intern = sys.intern
        for key, value in state.items():
            if type(key) is str:
                inst_dict[intern(key)] = value
            else:
                inst_dict[key] = value
    if slotstate:
        if not isinstance(slotstate, dict):
            raise MalformedPickleError("slot state is not a dictionary")
        for key, value in slotstate.items():
            setattr(inst, key, value)


def _check_newobj(cls: Any, args: Any, kwargs: Any, opname: str) -> None:
    # The same checks as the C unpickler, before anything is called.
    if not isinstance(cls, type):
        raise MalformedPickleError(
            f"{opname} class argument must be a type, not {type(cls).__name__}"
        )
    if type(args) is not tuple:
        raise MalformedPickleError(
            f"{opname} args argument must be a tuple, not {type(args).__name__}"
        )
    if kwargs is not None and type(kwargs) is not dict:
        raise MalformedPickleError(
            f"{opname} kwargs argument must be a dict, not {type(kwargs).__name__}"
        )


def _check_reconstructor(args: Any) -> None:
    # copyreg._reconstructor(cls, base, state) calls base.__new__ and
    # base.__init__: safe loads only let it use a builtin (non-heap) base, which
    # is all the stdlib ever writes.
    if type(args) is tuple and len(args) == 3:
        cls, base = args[0], args[1]
        if (
            isinstance(cls, type)
            and isinstance(base, type)
            and not base.__flags__ & _HEAPTYPE
            and issubclass(cls, base)
        ):
            return
    raise UnsafeOperationError(
        "copyreg._reconstructor is only allowed with a builtin base type in a "
        "safe load. If you trust this data: brined.loads(data, trusted=True)"
    )


_RARE: Final[dict[int, Callable[[Unpickler], None]]] = {
    PROTO: Unpickler._op_proto,
    INT: Unpickler._op_int,
    LONG: Unpickler._op_long,
    LONG4: Unpickler._op_long4,
    FLOAT: Unpickler._op_float,
    STRING: Unpickler._op_string,
    BINSTRING: Unpickler._op_binstring,
    SHORT_BINSTRING: Unpickler._op_short_binstring,
    UNICODE: Unpickler._op_unicode,
    BINUNICODE8: Unpickler._op_binunicode8,
    BINBYTES8: Unpickler._op_binbytes8,
    BYTEARRAY8: Unpickler._op_bytearray8,
    NEXT_BUFFER: Unpickler._op_next_buffer,
    READONLY_BUFFER: Unpickler._op_readonly_buffer,
    LIST: Unpickler._op_list,
    DICT: Unpickler._op_dict,
    FROZENSET: Unpickler._op_frozenset,
    POP: Unpickler._op_pop,
    POP_MARK: Unpickler._op_pop_mark,
    DUP: Unpickler._op_dup,
    GET: Unpickler._op_get,
    PUT: Unpickler._op_put,
    EXT1: Unpickler._op_ext1,
    EXT2: Unpickler._op_ext2,
    EXT4: Unpickler._op_ext4,
    GLOBAL: Unpickler._op_global,
    INST: Unpickler._op_inst,
    OBJ: Unpickler._op_obj,
    NEWOBJ_EX: Unpickler._op_newobj_ex,
    PERSID: Unpickler._op_persid,
}


def _as_bytes(data: Any) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("Can't load pickle from unicode string")
    return memoryview(data).tobytes()


def load(
    file: Any,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    trusted: bool = False,
    allow: Iterable[object] | str | None = None,
) -> Any:
    """Read one pickle from `file` and return the object; see `Unpickler`."""
    return Unpickler(
        file,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
        buffers=buffers,
        trusted=trusted,
        allow=allow,
    ).load()


def loads(
    data: Any,
    /,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    trusted: bool = False,
    allow: Iterable[object] | str | None = None,
) -> Any:
    """Return the object pickled in `data` (any bytes-like object).

    Safe by default: only plain-data globals load unless `allow` names more or
    ``trusted=True``.  Bytes after the pickle's STOP opcode are ignored.
    """
    return Unpickler(
        _BytesFile(_as_bytes(data)),
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
        buffers=buffers,
        trusted=trusted,
        allow=allow,
    ).load()
