"""The unpickler's rare opcodes and its hooks.

`_Machine` (over `_Guarded`, the memo and guard state in ``guarded.py``) is a
base of `Unpickler` (in ``unpickler.py``, which holds the hot loop and the
frequent opcodes).  Every handler here works on state saved on ``self``: the
loop saves its locals before calling a handler from `RARE` and reloads them
after.  A length read from the input is checked against the bytes that remain
(and the limits) before anything is sliced or allocated.
"""

from __future__ import annotations

import codecs
import copyreg
import struct
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._format.opcodes import (
    BINBYTES8,
    BINSTRING,
    BINUNICODE8,
    BYTEARRAY8,
    DICT,
    DUP,
    EXT1,
    EXT2,
    EXT4,
    FLOAT,
    FROZENSET,
    GET,
    GLOBAL,
    INST,
    INT,
    LIST,
    LONG,
    LONG4,
    NEWOBJ_EX,
    OBJ,
    PERSID,
    POP,
    POP_MARK,
    PUT,
    READONLY_BUFFER,
    SHORT_BINSTRING,
    STRING,
    UNICODE,
)
from .._safe.guards import check_newobj
from .._safe.limits import DEFAULT_LIMITS, Limits
from .._safe.policy import Policy, default_policy
from ..errors import (
    MalformedPickleError,
    TruncatedPickleError,
    UnpicklingError,
    UnsafeOperationError,
    _MalformedValueError,
)
from .guarded import PLAIN_KEYS, SIZED, _Guarded
from .io import bad_key
from .names import py3_name

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


# PLAIN_KEYS, SIZED and py3_name are re-exported for the loop and the tools.
__all__ = ["PLAIN_KEYS", "RARE", "SIZED", "_Machine", "py3_name"]

_unpack_i4: Final = struct.Struct("<i").unpack_from
_unpack_u8: Final = struct.Struct("<Q").unpack_from
_MAXSIZE: Final = sys.maxsize

_NO_PERSISTENT_LOAD: Final = (
    "A load persistent id instruction was encountered, but no persistent_load "
    "function was specified."
)


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Machine(_Guarded):
    """The rare opcodes and the hooks; see the module docstring."""

    def _configure(
        self,
        file: Any,
        fix_imports: bool,
        encoding: str,
        errors: str,
        buffers: Iterable[Any] | None,
        trusted: bool,
        allow: Iterable[object] | str | None,
        limits: Limits | None,
        own_find: bool,
        reused: bool = False,
    ) -> None:
        """`Unpickler.__init__`'s work: check the options and set the state.

        `reused`: the unpickler was `_release`d after a load, so its memo and
        guard containers exist and are empty (`loads` keeps one spare)."""
        if not isinstance(encoding, str) or not isinstance(errors, str):
            raise TypeError("encoding and errors must be str")
        if not reused:
            self._memo = []
            self._memo_extra = {}
            self._guard_sets = False
        self.proto = 0
        self.fix_imports = fix_imports
        self.encoding = encoding
        self.errors = errors
        self._trusted = trusted
        self._policy = None
        if not trusted:
            if allow is None:
                self._policy = default_policy()
            elif isinstance(allow, Policy):
                self._policy = allow
            else:
                self._policy = Policy(allow)
        if limits is None:
            limits = DEFAULT_LIMITS
        elif not isinstance(limits, Limits):
            raise TypeError(f"limits must be a brined.Limits, not {type(limits)}")
        self._limits = limits
        self._buffers = None if buffers is None else iter(buffers)
        self._open(file)
        self._calling = False
        self._own_find = own_find
        self._op_offset = None
        self._op_code = -1
        self._reset_guards()

    # -- rare opcodes: work on the state saved on self --------------------------

    def _translate(
        self,
        exc: Exception,
        code: int,
        start: int,
        user: bool,
        metastack: list[list[Any]],
        stack: list[Any] | None = None,
        buf: bytes | None = None,
    ) -> Exception | None:
        # A rare opcode works on the stack saved on self (it may have popped a
        # MARK); the loop's own `stack` is the current one for the others, and
        # when the input ended between opcodes (`code` is then the last one's).
        if code in RARE and not (
            isinstance(exc, TruncatedPickleError) and exc.opcode is None
        ):
            stack = self._stack
        return super()._translate(exc, code, start, user, metastack, stack, buf)

    def _rare(
        self, code: int, buf: bytes, pos: int, end: int, start: int, stack: list[Any]
    ) -> tuple[bytes, int, int, int, list[Any]]:
        """Run a rare opcode from the table on the state saved on self."""
        handler = RARE.get(code)
        if handler is None:
            raise MalformedPickleError(bad_key(code))
        self._buf = buf
        self._pos = pos
        self._end = end
        self._start = start
        self._stack = stack
        self._op_code = code
        handler(self)
        return self._buf, self._pos, self._end, self._start, self._stack

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
        self._stack.append(self._memo_fetch(index))

    # -- the hooks --------------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        """Return the global `module`.`name` (`Unpickler` defines it)."""
        raise NotImplementedError

    def persistent_load(self, pid: Any) -> Any:
        """Return the object for persistent id `pid`; override to support them."""
        if self._trusted:
            raise UnpicklingError(_NO_PERSISTENT_LOAD)
        raise UnsafeOperationError(_NO_PERSISTENT_LOAD, rule="persistent-id")

    def _find(self, module: str, name: str) -> Any:
        # The hooks are looked up at each use (as the C unpickler looks up
        # find_class): a subclass method and an instance attribute both work.
        # Not once per load: a bound method kept on self is a reference cycle.
        self._op_offset = self._base + self._start
        self._calling = True
        self._resolved = None
        if self._own_find:
            # A direct (native) call: no bound method made, no arguments parsed.
            value = self.find_class(module, name)
        else:
            hook: Callable[[str, str], Any] = self.find_class
            value = hook(module, name)
        self._calling = False
        if not self._trusted:
            self._note_global(module, name, value)
        return value

    def _op_int(self) -> None:
        data = self._readline()
        if data == b"01":
            self._stack.append(True)
        elif data == b"00":
            self._stack.append(False)
        else:
            self._check_text_number(data)
            self._stack.append(int(data, 0))

    def _op_long(self) -> None:
        data = self._readline()
        self._check_text_number(data)
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
        # One copy of the payload: a view of the input, copied into the bytearray.
        n = self._len8()
        pos = self._take(n)
        self._stack.append(bytearray(memoryview(self._buf)[pos : pos + n]))

    def _next_buffer(self, pos: int) -> Any:
        """NEXT_BUFFER's object (the loop calls this directly: in protocol 5
        out-of-band loads it is the opcode that matters)."""
        if self._buffers is None:
            if not self._trusted:
                raise UnsafeOperationError(
                    "pickle stream refers to out-of-band data but no *buffers* "
                    "argument was given",
                    rule="buffers",
                )
            raise UnpicklingError(
                "pickle stream refers to out-of-band data but no *buffers* "
                "argument was given"
            )
        try:
            buf = next(self._buffers)
        except StopIteration:
            raise UnpicklingError("not enough out-of-band buffers") from None
        if not self._trusted:
            self._note_foreign(buf, False)
            self._count(None, pos)
        return buf

    def _op_readonly_buffer(self) -> None:
        if self._buffers is None and not self._trusted:
            raise UnsafeOperationError(
                "READONLY_BUFFER without a *buffers* argument", rule="buffers"
            )
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
        if not self._trusted:
            self._check_keys(None, items[::2], self._pos)
        self._stack.append({items[i]: items[i + 1] for i in range(0, n, 2)})

    def _op_frozenset(self) -> None:
        items = self._pop_mark()
        if not self._trusted:
            self._check_keys(None, items, self._pos)
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
        data = self._readline()
        self._check_text_number(data)
        self._get_memo(int(data))

    def _op_put(self) -> None:
        data = self._readline()
        self._check_text_number(data)
        index = int(data)
        if index < 0:
            raise _MalformedValueError("negative PUT argument")
        if index > self._limits.max_memo_index and not self._trusted:
            raise self._limit(
                f"memo index {index} is above max_memo_index="
                f"{self._limits.max_memo_index}",
                "max_memo_index",
            )
        self._memo_put(index, self._stack[-1])

    def _ext(self, code: int) -> None:
        trusted = self._trusted
        if trusted:
            # The cache may hold what an earlier trusted load resolved: an
            # untrusted load always goes through find_class and the policy.
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
        if trusted:
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

    def _instantiate(self, cls: Any, args: list[Any], opname: str) -> None:
        if not self._trusted:
            self._guard_call(cls, tuple(args), None, opname, self._pos)
        self._calling = True
        value: Any
        if args or not isinstance(cls, type) or hasattr(cls, "__getinitargs__"):
            value = cls(*args)
        else:
            new: Any = cls.__new__
            value = new(cls)
        self._calling = False
        if not self._trusted:
            self._count(value, self._pos)
            if id(cls) in self._owned:
                self._own(value)
        self._stack.append(value)

    def _op_inst(self) -> None:
        if not self._metastack:
            # As C: the MARK is looked for before the name is read or resolved.
            raise MalformedPickleError("could not find MARK")
        module = self._readline().decode("ascii")
        name = self._readline().decode("ascii")
        cls = self._find(module, name)
        self._instantiate(cls, self._pop_mark(), "INST")

    def _op_obj(self) -> None:
        args = self._pop_mark()
        if not args:
            raise MalformedPickleError("unpickling stack underflow")
        cls = args.pop(0)
        self._instantiate(cls, args, "OBJ")

    def _op_newobj_ex(self) -> None:
        stack = self._stack
        kwargs = stack.pop()
        args = stack.pop()
        cls = stack.pop()
        check_newobj(cls, args, kwargs, "NEWOBJ_EX")
        if not self._trusted:
            self._guard_call(cls, args, kwargs, "NEWOBJ_EX", self._pos)
        self._calling = True
        value = cls.__new__(cls, *args, **kwargs)
        self._calling = False
        if not self._trusted:
            self._count(value, self._pos)
            if id(cls) in self._owned:
                self._own(value)
        stack.append(value)

    def _op_persid(self) -> None:
        try:
            pid = self._readline().decode("ascii")
        except UnicodeDecodeError:
            raise UnpicklingError(
                "persistent IDs in protocol 0 must be ASCII strings"
            ) from None
        self._stack.append(self._persistent(pid))

    def _persistent(self, pid: Any) -> Any:
        hook: Callable[[Any], Any] = self.persistent_load
        self._calling = True
        value = hook(pid)
        self._calling = False
        if not self._trusted:
            self._own(value)
        return value


RARE: Final[dict[int, Callable[[_Machine], None]]] = {
    INT: _Machine._op_int,
    LONG: _Machine._op_long,
    LONG4: _Machine._op_long4,
    FLOAT: _Machine._op_float,
    STRING: _Machine._op_string,
    BINSTRING: _Machine._op_binstring,
    SHORT_BINSTRING: _Machine._op_short_binstring,
    UNICODE: _Machine._op_unicode,
    BINUNICODE8: _Machine._op_binunicode8,
    BINBYTES8: _Machine._op_binbytes8,
    BYTEARRAY8: _Machine._op_bytearray8,
    READONLY_BUFFER: _Machine._op_readonly_buffer,
    LIST: _Machine._op_list,
    DICT: _Machine._op_dict,
    FROZENSET: _Machine._op_frozenset,
    POP: _Machine._op_pop,
    POP_MARK: _Machine._op_pop_mark,
    DUP: _Machine._op_dup,
    GET: _Machine._op_get,
    PUT: _Machine._op_put,
    EXT1: _Machine._op_ext1,
    EXT2: _Machine._op_ext2,
    EXT4: _Machine._op_ext4,
    GLOBAL: _Machine._op_global,
    INST: _Machine._op_inst,
    OBJ: _Machine._op_obj,
    NEWOBJ_EX: _Machine._op_newobj_ex,
    PERSID: _Machine._op_persid,
}
