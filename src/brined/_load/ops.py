"""The unpickler's slow paths: guard state, error translation, rare opcodes.

`_Machine` (over `_Input`, the input layer in ``io.py``) is the base
of `Unpickler` (in ``unpickler.py``, which holds the hot loop).  Everything
here works on state saved on ``self``: the loop saves its locals before calling
a rare opcode handler and reloads them after.  Rules that hold in this module:

* A length read from the input is checked against the bytes that remain (and
  the limits) before anything is sliced or allocated.
* In an untrusted load, every object the pickle may call or mutate is checked
  against where it came from: ``_foreign`` holds the ids of objects this load
  did not create (globals, persistent and extension objects, buffers),
  ``_callable`` maps the ids of globals the policy lets the pickle call to the
  argument checks each needs (``_guards.call_kind``).  The
  objects behind those ids are kept alive in ``_keep`` for the whole load, so
  an id is never reused while it is tracked.
* ``_owned`` holds the ids of objects a subclass's own hooks produced: what
  ``persistent_load`` returns, what an overriding ``find_class`` returns
  without getting it from the base ``find_class``, and what calling those
  returns.  The
  subclass decided about them (``brined scan`` returns inert symbols this
  way), so they may be called and given state or items; argument checks and
  limits still apply, and so do all guards on every other object.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import copyreg
import struct
import sys
import time
from collections.abc import Callable, Iterator, Mapping
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
from .._safe.guards import (
    CALL_PLAIN,
    CALL_RECONSTRUCTOR,
    build,
    build_untrusted,
    call_kind,
    check_args,
    check_instance,
    check_newobj,
    check_reconstructor,
    hashed_keys,
    is_real_class,
)
from .._safe.limits import check_hashed
from .._safe.policy import Policy
from ..errors import (
    LimitExceededError,
    MalformedPickleError,
    UnpicklingError,
    UnsafeOperationError,
    _MalformedValueError,
)
from .io import UNBOUNDED, _Input, op_name, where
from .memo_proxy import MemoProxy

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = ["PLAIN_KEYS", "RARE", "SIZED", "_Machine"]

_unpack_i4: Final = struct.Struct("<i").unpack_from
_unpack_u8: Final = struct.Struct("<Q").unpack_from
_MAXSIZE: Final = sys.maxsize
# Reads larger than this go to the file in pieces, so a forged length allocates
# only as much as the stream really holds.
_READ_CHUNK: Final = 1 << 20
# Emulated peek on io.BytesIO: first read-ahead size, doubled per refill.
PEEK_START: Final = 8192
_PEEK_MAX: Final = 1 << 20
# Int hashes are their value modulo a prime (sys.hash_info.modulus): smaller
# ints never collide.  Capped at 2**60 so that, compiled, it is a machine-size
# int and comparing a key with it is native (the modulus itself is not).
_DISTINCT_HASH: Final = min(sys.hash_info.modulus, 1 << 60)
# Key types whose hashes need no check (see `_check_keys`).
PLAIN_KEYS: Final = frozenset([str, bytes, bool, type(None)])
SIZED: Final = frozenset([str, bytes, bytearray, list, tuple, dict, set, frozenset])
# Exceptions that already say what went wrong in terms a caller handles.
_PASS_THROUGH: Final = (sys.modules["pickle"].UnpicklingError, OSError)
# What the loop reports when the interpreter itself runs out.
_EXHAUSTED: Final = (MemoryError, RecursionError)
# Keys that never need a hash check: their hashes are randomized (str, bytes)
# or distinct (None, bool).  Ints are checked: big ones collide by design.
_TEXT_TYPES: Final = (str, bytes, bytearray)


def _weight(obj: Any) -> int:
    # Bytes for text, a pointer's worth per item for containers.
    return len(obj) if isinstance(obj, _TEXT_TYPES) else 8 * len(obj)


def py3_name(module: str, name: str) -> tuple[str, str]:
    """`(module, name)` with a Python 2 name mapped to its Python 3 home, as
    the stdlib's find_class does under fix_imports at protocols 0-2."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


_NO_PERSISTENT_LOAD: Final = (
    "A load persistent id instruction was encountered, but no persistent_load "
    "function was specified."
)

_TRUST: Final = "If you trust this data: brined.loads(data, trusted=True)"


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Machine(_Input):
    """State shared by the loop and the slow paths; see the module docstring."""

    fix_imports: bool
    encoding: str
    errors: str
    _policy: Policy | None
    _buffers: Iterator[Any] | None
    _stack: list[Any]
    _metastack: list[list[Any]]
    _calling: bool
    # Whether `_find` may call `find_class` directly (see `Unpickler.__init__`).
    _own_find: bool
    _op_offset: int | None
    _foreign: set[int]
    _foreign_containers: set[int]
    _callable: dict[int, int]
    _owned: set[int]
    _resolved: Any
    _keep: list[Any]
    _hashes: dict[int, dict[int, int]]
    _hash_work: int
    _objects: int
    _materialised: int

    # -- the memo ----------------------------------------------------------------
    #
    # Picklers write memo indices 0, 1, 2... in order (MEMOIZE always does), so
    # the memo is a list, which the loop appends to and indexes natively; any
    # other key (a sparse PUT, a primed memo) goes to `_memo_extra`.  Keys in
    # `_memo_extra` are never below ``len(_memo)``, so each key lives in one
    # place.  Both objects live as long as the unpickler: the loop holds them
    # in locals while hooks may reach the memo through `memo`.

    @property
    def memo(self) -> MemoProxy:
        """The memo, as a live mapping of index to object (like the C
        unpickler's memo proxy); assigning a mapping or proxy copies it in."""
        return MemoProxy(self)

    @memo.setter
    def memo(self, value: Mapping[Any, Any]) -> None:
        if isinstance(value, MemoProxy):
            value = value.copy()
        elif not isinstance(value, Mapping):
            raise TypeError(
                "'memo' attribute must be an UnpicklerMemoProxy object or dict, "
                f"not {type(value).__name__}"
            )
        entries = list(value.items())
        self._memo.clear()
        self._memo_extra.clear()
        for key, obj in entries:
            self._memo_put(key, obj)

    def _memo_len(self) -> int:
        return len(self._memo) + len(self._memo_extra)

    def _memo_get(self, key: Any) -> Any:
        """The object memoized at `key`; KeyError if there is none."""
        memo = self._memo
        if type(key) is int and 0 <= key < len(memo):
            return memo[key]
        return self._memo_extra[key]

    def _memo_put(self, key: Any, obj: Any) -> None:
        memo = self._memo
        n = len(memo)
        if type(key) is int and 0 <= key <= n:
            if key < n:
                memo[key] = obj
            else:
                memo.append(obj)
                if self._memo_extra:
                    self._memo_extra.pop(key, None)
        else:
            self._memo_extra[key] = obj

    def _memo_del(self, key: Any) -> None:
        memo = self._memo
        if type(key) is int and 0 <= key < len(memo):
            # Keep the list dense: the entries after `key` move to the dict.
            extra = self._memo_extra
            for i in range(key + 1, len(memo)):
                extra[i] = memo[i]
            del memo[key:]
        else:
            del self._memo_extra[key]

    def _memo_missing(self, key: Any) -> MalformedPickleError:
        return MalformedPickleError(f"Memo value not found at index {key}")

    def _memo_fetch(self, key: int) -> Any:
        """A GET's object (the loop indexes the list itself first)."""
        try:
            return self._memo_get(key)
        except KeyError:
            raise self._memo_missing(key) from None

    def _reset_guards(self) -> None:
        self._resolved = None
        if self._trusted:
            # Only the guards use this state: a trusted unpickler never makes
            # it (its loop sees empty stand-ins, see `load`), which saves a
            # trusted loads() six allocations.
            return
        self._foreign = set()
        self._foreign_containers = set()
        self._callable = {}
        self._owned = set()
        self._keep = []
        self._hashes = {}

    def _start_load(self) -> None:
        # The guard state outlives one load, like the memo that can refer to
        # its objects; the counters and the deadline are per load.
        self._objects = 0
        self._materialised = 0
        self._hash_work = 0
        self._step = UNBOUNDED if self._trusted else self._limits.check_every
        deadline = self._limits.deadline
        self._deadline_at = (
            0.0 if deadline is None or self._trusted else time.monotonic() + deadline
        )

    # -- limits and guards (untrusted loads) ------------------------------------

    def _count(self, result: Any, pos: int) -> None:
        """Count one created object, and the bytes a call materialised.

        The loop inlines the common case: it bumps ``_objects`` itself and only
        calls `_counted` for sized results or past the limit.
        """
        self._objects += 1
        if type(result) in SIZED or self._objects > self._limits.max_objects:
            self._counted(result, pos)

    def _counted(self, result: Any, pos: int) -> None:
        limits = self._limits
        if self._objects > limits.max_objects:
            raise self._limit(
                f"more than max_objects={limits.max_objects} objects created",
                "max_objects",
            )
        if type(result) in SIZED:
            self._charge(_weight(result), pos)

    def _charge(self, size: int, pos: int) -> None:
        """Count `size` bytes or items a call took or made against the budget.

        A call's work grows with its arguments, and a pickle can pass one big
        memoized argument to many calls for a few bytes each: what calls take
        and return may not exceed ``max_bytes_floor + max_bytes_ratio * input
        bytes read``.
        """
        limits = self._limits
        self._materialised += size
        allowed = limits.max_bytes_floor + limits.max_bytes_ratio * (self._base + pos)
        if self._materialised > allowed:
            raise self._limit(
                f"calls took or made more than {allowed} bytes or items for "
                f"{self._base + pos} input bytes",
                "max_bytes_ratio",
            )

    def _note_foreign(self, obj: Any, callable_: bool) -> None:
        """Record an object this load did not create (a global, a persistent or
        extension object, a buffer): never a BUILD or item target."""
        key = id(obj)
        if callable_ and key not in self._callable:
            self._callable[key] = call_kind(obj)
        if key in self._foreign:
            return
        self._foreign.add(key)
        self._keep.append(obj)
        if isinstance(obj, (list, dict, set)):
            self._foreign_containers.add(key)

    def _own(self, obj: Any) -> None:
        """Hand `obj` to the subclass that produced it (see `_owned`)."""
        key = id(obj)
        if key not in self._owned:
            self._owned.add(key)
            self._keep.append(obj)
            if key not in self._callable:
                self._callable[key] = call_kind(obj)

    def _note_global(self, module: str, name: str, obj: Any) -> None:
        policy = self._policy
        if policy is None:
            return
        if self.proto < 3 and self.fix_imports:
            module, name = py3_name(module, name)
        if self._resolved is not obj:
            # An overriding find_class produced this itself rather than
            # through the base find_class: that override decided, and owns it.
            self._own(obj)
            return
        self._note_foreign(obj, policy.may_call(module, name))

    def _refuse_callee(self, func: Any, opname: str) -> UnsafeOperationError:
        if id(func) in self._foreign:
            why = "it was allowed only as a value"
        else:
            why = "only globals the policy allows can be called"
        return UnsafeOperationError(
            f"{opname} refused to call a {type(func).__name__}: {why}. {_TRUST}",
            rule="callee",
        )

    def _guard_call(
        self, func: Any, args: Any, kwargs: Any, opname: str, pos: int
    ) -> None:
        """Before REDUCE/NEWOBJ/NEWOBJ_EX/INST/OBJ calls `func` (untrusted).

        The loop skips this for callees whose kind is `CALL_PLAIN`.
        """
        kind = self._callable.get(id(func))
        if kind is None:
            raise self._refuse_callee(func, opname)
        if type(args) is not tuple:
            if type(args) is list:
                args = tuple(args)
            else:
                raise MalformedPickleError(
                    f"{opname} arguments must be a tuple, not {type(args).__name__}"
                )
        size = 0
        for arg in args:
            if type(arg) in SIZED:
                size += _weight(arg)
        if kwargs:
            size += _weight(kwargs)
            for arg in kwargs.values():
                if type(arg) in SIZED:
                    size += _weight(arg)
        if size:
            self._charge(size, pos)
        max_digits = self._limits.max_int_digits
        if kind == CALL_RECONSTRUCTOR:
            check_reconstructor(args, self._callable, max_digits)
            # base.__init__(obj, state) hashes what a dict or set base gets.
            func, args = args[1], args[2:]
        elif kind != CALL_PLAIN or kwargs:
            check_args(func, args, kwargs, max_digits)
        if isinstance(func, type):
            keys = hashed_keys(func, args)
            if keys is not None:
                self._check_keys(None, keys, pos)

    def _guard_target(self, target: Any, opname: str) -> None:
        """SETITEM(S)/APPEND(S)/ADDITEMS/BUILD only on objects this load made."""
        if id(target) in self._owned and not is_real_class(target):
            return
        check_instance(target, opname)
        if id(target) in self._foreign:
            raise UnsafeOperationError(
                f"{opname} refused on a {type(target).__name__} this load did not "
                f"create (a global, persistent or extension object). {_TRUST}",
                rule="target",
            )

    def _guard_build(self, target: Any, state: Any, pos: int) -> None:
        self._guard_target(target, "BUILD")
        self._count(None, pos)
        # One memoized state given to many BUILDs is checked and copied item
        # by item each time: weigh it as the Python-level work it is.
        size = 4 * _weight(state) if type(state) in SIZED else 0
        if type(state) is tuple:
            for part in state:
                if type(part) in SIZED:
                    size += 4 * _weight(part)
        if size:
            self._charge(size, pos)
        if id(target) in self._owned and not is_real_class(target):
            # The subclass's own object: BUILD as the stdlib does it.
            build(target, state)
        else:
            build_untrusted(target, state)

    def _check_plain_keys(self, target: Any, keys: list[Any], pos: int) -> None:
        """`_check_keys`, unless every key is of a `PLAIN_KEYS` type."""
        if not PLAIN_KEYS.issuperset(map(type, keys)):
            self._check_keys(target, keys, pos)

    def _check_keys(self, target: Any, keys: Any, pos: int) -> None:
        """Keys about to be hashed into `target` (None: a constructor's own)."""
        limits = self._limits
        counts: dict[int, int] | None = None
        for key in keys:
            kind = type(key)
            if kind is str or kind is bytes or key is None or kind is bool:
                continue
            if kind is int:
                number: int = key
                if -_DISTINCT_HASH < number < _DISTINCT_HASH:
                    continue
            if isinstance(key, (tuple, frozenset)):
                self._hash_work += check_hashed(key, limits)
                allowed = limits.max_hash_size + limits.max_bytes_ratio * (
                    self._base + pos
                )
                if self._hash_work > allowed:
                    raise self._limit(
                        f"hashing the keys of this load would visit more than "
                        f"{allowed} elements (max_hash_size plus max_bytes_ratio "
                        "per input byte)",
                        "max_hash_size",
                    )
            if counts is None:
                if target is None:
                    counts = {}
                else:
                    counts = self._hashes.get(id(target))
                    if counts is None:
                        counts = self._hashes[id(target)] = {}
                        self._keep.append(target)
            h = hash(key)
            n = counts.get(h, 0) + 1
            counts[h] = n
            if n > limits.max_hash_collisions:
                raise self._limit(
                    f"more than max_hash_collisions={limits.max_hash_collisions} "
                    "keys of one container share a hash value (hash flooding)",
                    "max_hash_collisions",
                )

    def _check_text_number(self, data: bytes) -> None:
        limit = self._limits.max_int_digits
        # Cheap test first: a sign, a "0x" prefix and an "L" suffix aside.
        if not self._trusted and len(data) > limit:
            digits = data.strip(b" \t\r+-L")
            if digits[:2].lower() in (b"0x", b"0o", b"0b"):
                digits = digits[2:]
            if len(digits) > limit:
                raise self._limit(
                    f"a text-protocol number of {len(digits)} digits is longer "
                    f"than max_int_digits={limit}",
                    "max_int_digits",
                )

    # -- errors ---------------------------------------------------------------

    def _translate(
        self,
        exc: Exception,
        code: int,
        start: int,
        user: bool,
        metastack: list[list[Any]],
    ) -> Exception | None:
        """Decide what `load` raises for `exc`: None means re-raise it as is.

        Untrusted loads let nothing but brined's errors (and the file's own
        OSError) out: an internal exception becomes one of them, ``from`` it.
        """
        offset = self._base + start
        here = where(code, offset)
        name = op_name(code)
        if isinstance(exc, UnpicklingError):
            if exc.offset is None:
                # Raised without a location (by the loop or a hook): add it.
                exc.offset = offset
                exc.opcode = name
                if exc.args and isinstance(exc.args[0], str):
                    exc.args = (f"{exc.args[0]} ({here})",) + exc.args[1:]
            return None
        if isinstance(exc, _PASS_THROUGH):
            return None
        trusted = self._trusted
        if isinstance(exc, _EXHAUSTED):
            if trusted:
                return None
            what = "memory" if isinstance(exc, MemoryError) else "recursion depth"
            return LimitExceededError(
                f"the interpreter ran out of {what} ({here})",
                offset=offset,
                opcode=name,
            )
        text = _short_text(exc)
        if user:
            if trusted:
                return None
            return MalformedPickleError(
                f"{here}: the call it makes failed: {type(exc).__name__}: {text}",
                offset=offset,
                opcode=name,
            )
        if isinstance(exc, IndexError):
            msg = "unexpected MARK found" if metastack else "unpickling stack underflow"
            return MalformedPickleError(f"{msg} ({here})", offset=offset, opcode=name)
        if trusted and isinstance(exc, (TypeError, AttributeError)):
            # What the stdlib raises for e.g. an unhashable dict key.
            return None
        if isinstance(exc, ValueError):
            return _MalformedValueError(f"{text} ({here})", offset=offset, opcode=name)
        return MalformedPickleError(
            f"{type(exc).__name__}: {text} ({here})", offset=offset, opcode=name
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


def _short_text(exc: BaseException) -> str:
    # Messages never echo megabytes of input (a bad literal, a huge key...).
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
        text = "<unprintable>"
    if len(text) > 200:
        text = f"{text[:200]}...[{len(text)} chars]"
    return text


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
