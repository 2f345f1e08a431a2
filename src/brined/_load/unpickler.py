"""The unpickler: a flat, iterative pickle virtual machine (the hot loop).

* One loop, no recursion per nesting level: MARK pushes the current stack onto
  a metastack, so a million nested lists load at the default recursion limit.
* The input is a byte buffer and a position held in locals; every length is
  checked against what the buffer holds before anything is sliced.
* Dispatch is an if/elif chain on the opcode, most frequent first; rare
  opcodes go through `RARE`, methods that work on the state saved on ``self``.
* Errors become `UnpicklingError` subclasses naming the opcode and offset;
  what the pickle's own calls raise propagates when ``trusted=True``.
* Untrusted loads ask the `Policy` before importing and run the guards and
  `Limits`, at most a type test or an empty-set check on hot opcodes.

Bases, from the bottom (docs/loader.md has the map): `_Input` (``io.py``),
`_Guarded` (``guarded.py``; ``translate.py``), `_Machine` (``ops.py``),
`_Resolver` (``resolve.py``).
"""

from __future__ import annotations

import copyreg
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._build import COMPILED
from .._format.opcodes import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BINBYTES,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPERSID,
    BINPUT,
    BINUNICODE,
    BUILD,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    FRAME,
    LONG1,
    LONG_BINGET,
    LONG_BINPUT,
    MARK,
    MEMOIZE,
    NEWFALSE,
    NEWOBJ,
    NEWTRUE,
    NEXT_BUFFER,
    NONE,
    PROTO,
    REDUCE,
    SETITEM,
    SETITEMS,
    SHORT_BINBYTES,
    SHORT_BINUNICODE,
    STACK_GLOBAL,
    STOP,
    TUPLE,
    TUPLE1,
    TUPLE2,
    TUPLE3,
)
from .._safe.guards import (
    CALL_ENCODE,
    CALL_PLAIN,
    CALL_SCALAR,
    SHORT_TEXT,
    add_items,
    build,
    check_newobj,
    extend,
)
from .._safe.limits import Limits
from ..errors import (
    MalformedPickleError,
    UnpicklingError,
    _MalformedTypeError,
)
from .guarded import plain_setitems_keys
from .io import (
    PEEK_START,
    UNBOUNDED,
)

# py3_name is re-exported for code that imported it from here before the split.
from .names import py3_name as py3_name
from .ops import PLAIN_KEYS, SIZED
from .resolve import _Resolver

if COMPILED:
    # Compiled, these are plain C calls (see _build.py); the interpreted build
    # unpacks with struct instead.  (mypyc knows no unsigned reads: u32 is an
    # i32 read, widened and masked.)  mypy_extensions comes with librt.
    from librt.strings import read_f64_be, read_i16_le, read_i32_le
    from mypy_extensions import i64

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = ["Unpickler"]

# Typed, so that what they return is not Any: mypy would narrow an i64
# local assigned from Any to Any, and the compiled loop would box it.
_unpack_i4: Final[Callable[[bytes, int], tuple[int]]] = struct.Struct("<i").unpack_from
_unpack_u4: Final[Callable[[bytes, int], tuple[int]]] = struct.Struct("<I").unpack_from
_unpack_f8: Final[Callable[[bytes, int], tuple[float]]] = struct.Struct(
    ">d"
).unpack_from
# The guard state a trusted load's loop reads: always empty, never written
# (only the loop, which only reads them, can reach these two).
_NO_IDS: Final[set[int]] = set()
_NO_KINDS: Final[dict[int, int]] = {}
_reconstructor: Final = copyreg._reconstructor  # type: ignore[attr-defined]


@mypyc_attr(allow_interpreted_subclasses=True)
class Unpickler(_Resolver):
    """Read pickles from a binary file, one object per `load` call.

    `file` needs ``read(n)`` and ``readline()``; ``peek`` is used when present.
    `fix_imports`, `encoding` and `errors` work as in the stdlib (`encoding` may be
    ``"bytes"`` to load Python 2 ``str`` as bytes).  `buffers` feeds NEXT_BUFFER.

    By default loading is safe: `find_class` only resolves the globals the load
    policy allows (plain data types, plus what `allow` adds: classes, functions,
    ``"module.qualname"`` strings or ``"package.*"`` patterns).  ``trusted=True``
    resolves any global, exactly like the stdlib.  `allow` may also be a
    `Policy`.  `limits` (a `Limits`) bounds what an untrusted load may use.
    Subclasses may override `find_class` and `persistent_load`, as methods or
    instance attributes; the opcode guards and limits still apply to what they
    return unless ``trusted=True``.
    """

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
        limits: Limits | None = None,
    ) -> None:
        # Compiled, an Unpickler proper is a native object: no instance
        # attribute can replace its find_class, so `_find` can call it directly.
        # Subclasses and the interpreted build look the hook up at each use.
        self._configure(
            file,
            bool(fix_imports),
            encoding,
            errors,
            buffers,
            bool(trusted),
            allow,
            limits,
            COMPILED and type(self) is Unpickler,
        )

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
        self.proto = 0
        self._calling = False
        # The memo's list and dict (`_Machine.memo`): the same objects throughout.
        memo = self._memo
        memo_extra = self._memo_extra
        trusted = self._trusted
        self._start_load()
        limits = self._limits
        max_depth = UNBOUNDED
        if not trusted and limits.max_depth is not None:
            max_depth = limits.max_depth
        max_memo_index = UNBOUNDED if trusted else limits.max_memo_index
        # Exact lists/dicts/sets this load did not create: nearly always empty,
        # so the item opcodes' fast paths only pay a truthiness test.  A
        # trusted unpickler has no guard state: the loop reads empty ones.
        if trusted:
            foreign = _NO_IDS
            callables = _NO_KINDS
            owned = _NO_IDS
        else:
            foreign = self._foreign_containers
            callables = self._callable
            owned = self._owned
        sized = SIZED
        max_objects = limits.max_objects
        plain_keys = PLAIN_KEYS
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        self._stack = stack
        self._metastack = metastack
        # Positions and lengths are i64: machine integers in the compiled
        # build (plain ints when interpreted).  Every length is compared as
        # ``n > end - pos``, which cannot overflow.  A length read from a
        # COMPILED branch is assigned in an if statement (noqa: SIM108): a
        # conditional expression's value would be boxed.
        buf: bytes
        pos: i64
        end: i64
        start: i64
        code: i64
        n: i64
        if memory:
            buf = self._buf
            pos = self._pos
        else:
            buf = b""
            pos = 0
            self._unconsumed = False
            self._chunk = PEEK_START
        end = self._window(buf, pos, 0)
        self._base = -pos
        start = pos
        code = -1
        calling = False
        # The interpreted build's unpackers, as locals (compiled: librt.strings).
        unpack_i4 = _unpack_i4
        unpack_u4 = _unpack_u4
        unpack_f8 = _unpack_f8
        try:
            while True:
                start = pos
                if pos >= end:
                    buf, pos, end, start = self._more(buf, pos, end, start, 1, -1)
                code = buf[pos]
                pos += 1
                # Split on the high bit (protocol 2+ opcodes), then BINGET,
                # then at 0x60; within each part a chain ordered by frequency.
                # Interpreted, each test is ~3 bytecodes: a short chain matters.
                if code >= 0x80:
                    if code == MEMOIZE:
                        # In order: the list takes it unless a primed memo...
                        if memo_extra:
                            self._memo_put(len(memo) + len(memo_extra), stack[-1])
                        else:
                            memo.append(stack[-1])
                    elif code == SHORT_BINUNICODE:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if n > end - pos:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        try:
                            stack.append(buf[pos : pos + n].decode())
                        except UnicodeDecodeError:
                            # Strict UTF-8 first; lone surrogates take this path.
                            stack.append(
                                str(buf[pos : pos + n], "utf-8", "surrogatepass")
                            )
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
                        stack.append(True)
                    elif code == NEWFALSE:
                        stack.append(False)
                    elif code == FRAME:
                        buf, pos, end, start = self._frame(buf, pos, end, start)
                    elif code == STACK_GLOBAL:
                        name = stack.pop()
                        module = stack.pop()
                        if type(name) is not str or type(module) is not str:
                            raise MalformedPickleError("STACK_GLOBAL requires str")
                        self._start = start
                        self._op_code = code
                        self._stack = stack
                        stack.append(self._find(module, name))
                    elif code == NEWOBJ:
                        args = stack.pop()
                        cls = stack.pop()
                        check_newobj(cls, args, None, "NEWOBJ")
                        if not trusted and callables.get(id(cls)) != CALL_PLAIN:
                            self._guard_call(cls, args, None, "NEWOBJ", pos)
                        calling = True
                        # No args (the usual case) needs no star-call's tuple.
                        value = cls.__new__(cls, *args) if args else cls.__new__(cls)
                        calling = False
                        if not trusted:
                            self._objects += 1
                            if type(value) in sized or self._objects > max_objects:
                                self._counted(value, pos)
                            if owned and id(cls) in owned:
                                self._own(value)
                        stack.append(value)
                    elif code == LONG1:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if n > end - pos:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        stack.append(
                            int.from_bytes(buf[pos : pos + n], "little", signed=True)
                        )
                        pos += n
                    elif code == EMPTY_SET:
                        stack.append(set())
                    elif code == ADDITEMS:
                        if not metastack:
                            raise MalformedPickleError("could not find MARK")
                        items = stack
                        stack = metastack.pop()
                        target = stack[-1]
                        if not items:
                            # As C: no items, so the target is never looked at.
                            continue
                        if not trusted:
                            if not plain_keys.issuperset(map(type, items)):
                                self._check_keys(target, items, pos)
                            if type(target) is not set or foreign:
                                self._guard_target(target, "ADDITEMS")
                        if type(target) is set:
                            target.update(items)
                        else:
                            calling = True
                            add_items(target, items)
                            calling = False
                    elif code == NEXT_BUFFER:
                        stack.append(self._next_buffer(pos))
                    elif code == PROTO:
                        # Once per pickle: a native call, not a trip through _rare.
                        buf, pos, end, start = self._proto(buf, pos, end, start)
                    else:
                        buf, pos, end, start, stack = self._rare(
                            code, buf, pos, end, start, stack
                        )
                elif code == BINGET:
                    if pos >= end:
                        buf, pos, end, start = self._more(buf, pos, end, start, 1, code)
                    n = buf[pos]
                    pos += 1
                    try:
                        stack.append(memo[n])
                    except IndexError:
                        stack.append(self._memo_fetch(n))
                elif code >= 0x60:
                    # Lower case and '}': memo, items, BUILD, TUPLE (11).
                    if code == LONG_BINGET:
                        if pos + 4 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 4, code
                            )
                        if COMPILED:  # noqa: SIM108
                            n = i64(read_i32_le(buf, pos)) & 0xFFFFFFFF
                        else:
                            n = unpack_u4(buf, pos)[0]
                        pos += 4
                        try:
                            stack.append(memo[n])
                        except IndexError:
                            stack.append(self._memo_fetch(n))
                    elif code == EMPTY_DICT:
                        stack.append({})
                    elif code == SETITEMS:
                        if not metastack:
                            raise MalformedPickleError("could not find MARK")
                        items = stack
                        stack = metastack.pop()
                        target = stack[-1]
                        n = len(items)
                        if n & 1:
                            raise MalformedPickleError(
                                "odd number of items for SETITEMS"
                            )
                        if n == 0:
                            # As C: no items, so the target is never looked at.
                            continue
                        if COMPILED:
                            # Compiled: a native loop over the items, no slices or zip.
                            if not trusted:
                                for i in range(0, n, 2):
                                    if type(items[i]) is not str:
                                        if not plain_setitems_keys(items):
                                            self._check_keys(target, items[::2], pos)
                                        break
                            if type(target) is dict and not (
                                foreign and id(target) in foreign
                            ):
                                d: dict[Any, Any] = target
                                for i in range(0, n, 2):
                                    d[items[i]] = items[i + 1]
                                continue
                        else:
                            keys = items[::2]
                            if not trusted:
                                # All-str keys (nearly every dict) need no hash checks;
                                # a join finds out quickest (a raise costs ~10k instrs).
                                if type(keys[0]) is not str:
                                    self._check_plain_keys(target, keys, pos)
                                else:
                                    try:
                                        "".join(keys)
                                    except TypeError:
                                        self._check_plain_keys(target, keys, pos)
                            if type(target) is dict and not (
                                foreign and id(target) in foreign
                            ):
                                target.update(zip(keys, items[1::2], strict=True))
                                continue
                        if not trusted:
                            self._guard_target(target, "SETITEMS")
                        calling = True
                        for i in range(0, n, 2):
                            target[items[i]] = items[i + 1]
                        calling = False
                    elif code == APPENDS:
                        if not metastack:
                            raise MalformedPickleError("could not find MARK")
                        items = stack
                        stack = metastack.pop()
                        target = stack[-1]
                        if type(target) is list and not (
                            foreign and id(target) in foreign
                        ):
                            target.extend(items)
                        elif items:
                            # (As C: no items, so the target is never looked at.)
                            if not trusted:
                                self._guard_target(target, "APPENDS")
                            calling = True
                            extend(target, items)
                            calling = False
                    elif code == APPEND:
                        value = stack.pop()
                        target = stack[-1]
                        if type(target) is list and not (
                            foreign and id(target) in foreign
                        ):
                            target.append(value)
                        else:
                            if not trusted:
                                self._guard_target(target, "APPEND")
                            calling = True
                            target.append(value)
                            calling = False
                    elif code == SETITEM:
                        value = stack.pop()
                        key = stack.pop()
                        target = stack[-1]
                        if not trusted and type(key) not in plain_keys:
                            self._check_keys(target, (key,), pos)
                        if type(target) is dict and not (
                            foreign and id(target) in foreign
                        ):
                            target[key] = value
                        else:
                            if not trusted:
                                self._guard_target(target, "SETITEM")
                            calling = True
                            target[key] = value
                            calling = False
                    elif code == BINPUT:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if n == len(memo) and not memo_extra:
                            memo.append(stack[-1])
                        else:
                            self._memo_put(n, stack[-1])
                    elif code == LONG_BINPUT:
                        if pos + 4 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 4, code
                            )
                        if COMPILED:  # noqa: SIM108
                            n = i64(read_i32_le(buf, pos)) & 0xFFFFFFFF
                        else:
                            n = unpack_u4(buf, pos)[0]
                        if n > max_memo_index:
                            raise self._limit(
                                f"memo index {n} is above "
                                f"max_memo_index={max_memo_index}",
                                "max_memo_index",
                            )
                        pos += 4
                        if n == len(memo) and not memo_extra:
                            memo.append(stack[-1])
                        else:
                            self._memo_put(n, stack[-1])
                    elif code == BUILD:
                        state = stack.pop()
                        target = stack[-1]
                        calling = True
                        if trusted:
                            build(target, state)
                        else:
                            self._guard_build(target, state, pos)
                        calling = False
                    elif code == TUPLE:
                        if not metastack:
                            raise MalformedPickleError("could not find MARK")
                        value = tuple(stack)
                        stack = metastack.pop()
                        stack.append(value)
                    else:
                        buf, pos, end, start, stack = self._rare(
                            code, buf, pos, end, start, stack
                        )
                else:
                    # Upper case and punctuation: scalars, MARK, REDUCE (14).
                    if code == BININT1:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        stack.append(buf[pos])
                        pos += 1
                    elif code == NONE:
                        stack.append(None)
                    elif code == EMPTY_LIST:
                        stack.append([])
                    elif code == MARK:
                        if len(metastack) >= max_depth:
                            raise self._limit(
                                f"more than max_depth={max_depth} MARKs are open",
                                "max_depth",
                            )
                        metastack.append(stack)
                        stack = []
                    elif code == BINFLOAT:
                        if pos + 8 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 8, code
                            )
                        if COMPILED:
                            stack.append(read_f64_be(buf, pos))
                        else:
                            stack.append(unpack_f8(buf, pos)[0])
                        pos += 8
                    elif code == BININT2:
                        if pos + 2 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 2, code
                            )
                        if COMPILED:
                            # Native: no tagged-int shift (a C call compiled).
                            stack.append(i64(read_i16_le(buf, pos)) & 0xFFFF)
                        else:
                            stack.append(buf[pos] | (buf[pos + 1] << 8))
                        pos += 2
                    elif code == BININT:
                        if pos + 4 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 4, code
                            )
                        if COMPILED:
                            stack.append(read_i32_le(buf, pos))
                        else:
                            stack.append(unpack_i4(buf, pos)[0])
                        pos += 4
                    elif code == BINUNICODE:
                        if pos + 4 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 4, code
                            )
                        if COMPILED:  # noqa: SIM108
                            n = i64(read_i32_le(buf, pos)) & 0xFFFFFFFF
                        else:
                            n = unpack_u4(buf, pos)[0]
                        pos += 4
                        if n > end - pos:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        try:
                            stack.append(buf[pos : pos + n].decode())
                        except UnicodeDecodeError:
                            # Strict UTF-8 first; lone surrogates take this path.
                            stack.append(
                                str(buf[pos : pos + n], "utf-8", "surrogatepass")
                            )
                        pos += n
                    elif code == EMPTY_TUPLE:
                        stack.append(())
                    elif code == SHORT_BINBYTES:
                        if pos >= end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 1, code
                            )
                        n = buf[pos]
                        pos += 1
                        if n > end - pos:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        stack.append(buf[pos : pos + n])
                        pos += n
                    elif code == REDUCE:
                        args = stack.pop()
                        func = stack[-1]
                        if not trusted:
                            kind = callables.get(id(func))
                            if (
                                kind != CALL_PLAIN
                                and not (
                                    kind == CALL_ENCODE
                                    and type(args) is tuple
                                    and len(args) == 2
                                    and type(args[0]) is str
                                    and type(args[1]) is str
                                    and args[1] == "latin1"
                                )
                                and not (
                                    kind == CALL_SCALAR
                                    and type(args) is tuple
                                    and len(args) == 1
                                    and type(args[0]) is str
                                    and len(args[0]) <= SHORT_TEXT
                                )
                            ):
                                # The stack as it is now, for a nested-name lookup.
                                self._stack = stack
                                self._guard_call(func, args, None, "REDUCE", pos)
                        if type(args) is not tuple and not isinstance(args, tuple):
                            raise _MalformedTypeError(
                                "REDUCE arguments must be a tuple, not "
                                f"{type(args).__name__}"
                            )
                        calling = True
                        value = func(*args)
                        calling = False
                        if not trusted:
                            self._objects += 1
                            if type(value) in sized or self._objects > max_objects:
                                self._counted(value, pos)
                            if owned and id(func) in owned:
                                self._own(value)
                        stack[-1] = value
                    elif code == BINBYTES:
                        if pos + 4 > end:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, 4, code
                            )
                        if COMPILED:  # noqa: SIM108
                            n = i64(read_i32_le(buf, pos)) & 0xFFFFFFFF
                        else:
                            n = unpack_u4(buf, pos)[0]
                        pos += 4
                        if n > end - pos:
                            buf, pos, end, start = self._more(
                                buf, pos, end, start, n, code
                            )
                        stack.append(buf[pos : pos + n])
                        pos += n
                    elif code == BINPERSID:
                        stack.append(self._persistent(stack.pop()))
                    elif code == STOP:
                        # Not pop: a list that empties reallocates its storage.
                        value = stack[-1]
                        stack.clear()
                        self._finish(pos)
                        if not trusted and self._stand_ins:
                            # (args, func: maybe a nested-name lookup's base, lookup.)
                            args = None
                            func = None
                            self._check_stand_ins()
                        return value
                    else:
                        buf, pos, end, start, stack = self._rare(
                            code, buf, pos, end, start, stack
                        )
        except Exception as exc:
            err = self._translate(
                exc, code, start, calling or self._calling, metastack, stack, buf
            )
            if err is None:
                raise
            # Not `raise err from exc`: compiled with mypyc, that loses the cause
            # here.  Setting __cause__ also sets __suppress_context__, as `from` does.
            err.__cause__ = exc
            raise err  # noqa: B904
