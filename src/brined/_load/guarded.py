"""The unpickler's state beneath the opcodes: the memo, guard state, limits.

`_Guarded` (over `_Input`, the input layer in ``io.py``) is a base of
`Unpickler`; the rare opcodes (``ops.py``) and the hot loop
(``unpickler.py``) sit above it.  Rules that hold in this module:

* In an untrusted load, every object the pickle may call or mutate is checked
  against where it came from: ``_foreign`` holds the ids of objects this load
  did not create (globals, persistent and extension objects, buffers),
  ``_callable`` maps the ids of globals the policy lets the pickle call to the
  argument checks each needs (``guards.call_kind``).  The objects behind
  those ids are kept alive in ``_keep`` for the whole load, so an id is never
  reused while it is tracked.
* The state the loop reads (``_foreign_containers``, ``_callable``,
  ``_owned``) is made with the unpickler; the state only the slow paths read
  (``_foreign``, ``_keep``, ``_global_names``, ``_stand_ins``, ``_hashes``)
  is None until the first write, which goes through its ``_make_*`` method:
  most pickles hold no global, and eight containers made and freed per
  ``loads`` were a third of a safe ``loads(None)``.
* ``_owned`` holds the ids of objects a subclass's own hooks produced: what
  ``persistent_load`` returns, what an overriding ``find_class`` returns
  without getting it from the base ``find_class``, and what calling those
  returns.  The subclass decided about them (``brined scan`` returns inert
  symbols this way), so they may be called and given state or items; argument
  checks and limits still apply, and so do all guards on every other object.
* Nothing here reads the input: the loop and ``ops.py`` do.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._format.opcodes import REDUCE
from .._safe.guards import (
    CALL_PLAIN,
    CALL_RECONSTRUCTOR,
    build,
    build_checked,
    call_kind,
    check_args,
    check_instance,
    check_reconstructor,
    hashed_keys,
    is_real_class,
)
from .._safe.limits import check_hashed
from .._safe.policy import NOT_ALLOWED, Policy
from ..errors import (
    MalformedPickleError,
    UnsafeGlobalError,
    UnsafeOperationError,
    _MalformedTypeError,
)
from .io import UNBOUNDED, _Input
from .memo_proxy import MemoProxy
from .names import NameLookup, NamePath, py3_name
from .translate import translate
from .where import annotate_failure

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = ["CALL_LOOKUP", "PLAIN_KEYS", "SIZED", "_Guarded", "plain_setitems_keys"]

# Int hashes are their value modulo a prime (sys.hash_info.modulus): smaller
# ints never collide.  Capped at 2**60 so that, compiled, it is a machine-size
# int and comparing a key with it is native (the modulus itself is not).
_DISTINCT_HASH: Final = min(sys.hash_info.modulus, 1 << 60)
# Key types whose hashes need no check (see `_check_keys`): their hashes are
# randomized (str, bytes) or distinct (None, bool).  Ints are checked: big
# ones collide by design.
PLAIN_KEYS: Final = frozenset([str, bytes, bool, type(None)])
_INT_OR_PLAIN_KEYS: Final = PLAIN_KEYS | {int}
SIZED: Final = frozenset([str, bytes, bytearray, list, tuple, dict, set, frozenset])

_TRUST: Final = "If you trust this data: brined.loads(data, trusted=True)"
# The call kind of a safe load's getattr (`NameLookup`): outside the kinds of
# `guards.call_kind`, so the loop always sends it through `_guard_call`.
CALL_LOOKUP: Final = 100


def plain_setitems_keys(items: list[Any]) -> bool:
    """Whether every key of SETITEMS' flat key, value, key... list is one
    `_Guarded._check_keys` would skip (str, bytes, None, bool, an int whose
    hash is distinct): then the keys need no check and no slice of them."""
    for i in range(0, len(items), 2):
        key = items[i]
        kind = type(key)
        if kind is str:
            continue
        if kind is int:
            number: int = key
            if -_DISTINCT_HASH < number < _DISTINCT_HASH:
                continue
            return False
        if kind is bytes or key is None or kind is bool:
            continue
        return False
    return True


def _weight(obj: Any) -> int:
    """Bytes for text, a pointer's worth per item for containers, 0 for an
    object of no exact `SIZED` type: tested by identity (most objects weighed
    are none of them, and a set look-up hashes the type)."""
    kind = type(obj)
    if kind is str or kind is bytes or kind is bytearray:
        return len(obj)
    if (
        kind is tuple
        or kind is list
        or kind is dict
        or kind is set
        or kind is frozenset
    ):
        return 8 * len(obj)
    return 0


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Guarded(_Input):
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
    _foreign: set[int] | None
    _foreign_containers: set[int]
    _callable: dict[int, int]
    _owned: set[int]
    _resolved: Any
    # (module, qualname) of each global this load resolved, by id: what a
    # nested-name lookup may start from (see `_guard_lookup`).
    _global_names: dict[int, tuple[str, str]] | None
    # The `NamePath`s and `NameLookup`s this unpickler made (see
    # `_Resolver._check_stand_ins`).
    _stand_ins: list[Any] | None
    _keep: list[Any] | None
    _hashes: dict[int, dict[int, int]] | None
    _hash_work: int
    _objects: int
    _materialised: int
    # Whether `_foreign_containers`, `_callable` and `_owned` exist (a trusted
    # unpickler never makes them; a reused one keeps them, emptied).
    _guard_sets: bool

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
            # it (its loop sees empty stand-ins, see `load`).
            return
        if not self._guard_sets:
            self._foreign_containers = set()
            self._callable = {}
            self._owned = set()
            self._guard_sets = True
        # Made on first write (see the module docstring).
        self._foreign = None
        self._keep = None
        self._global_names = None
        self._stand_ins = None
        self._hashes = None

    def _release(self) -> None:
        """After a load that succeeded: drop every reference to the input and
        to what it loaded, and empty the containers, so that `_configure`
        (``reused=True``) can set this unpickler up for another load."""
        # Each emptied only if it holds something: emptying an empty list
        # still costs a slice assignment.
        if self._memo:
            self._memo.clear()
        if self._memo_extra:
            self._memo_extra.clear()
        # Neither list was ever handed out (only a MARK's items are), and a
        # well-formed pickle leaves both empty at STOP.
        if self._stack:
            self._stack.clear()
        if self._metastack:
            self._metastack.clear()
        self._resolved = None
        self._policy = None
        self._buffers = None
        self._file = None
        self._buf = b""
        if self._trusted:
            return
        if self._foreign_containers:
            self._foreign_containers.clear()
        if self._callable:
            self._callable.clear()
        if self._owned:
            self._owned.clear()
        self._foreign = None
        self._keep = None
        self._global_names = None
        self._stand_ins = None
        self._hashes = None

    def _make_foreign(self) -> set[int]:
        made = self._foreign
        if made is None:
            made = self._foreign = set()
        return made

    def _make_keep(self) -> list[Any]:
        made = self._keep
        if made is None:
            made = self._keep = []
        return made

    def _make_global_names(self) -> dict[int, tuple[str, str]]:
        made = self._global_names
        if made is None:
            made = self._global_names = {}
        return made

    def _make_stand_ins(self) -> list[Any]:
        made = self._stand_ins
        if made is None:
            made = self._stand_ins = []
        return made

    def _is_foreign(self, key: int) -> bool:
        foreign = self._foreign
        return foreign is not None and key in foreign

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
        # Compiled, an int local is a native int boxed again at each of its
        # five uses as a key; as Any it is boxed once.
        key: Any = id(obj)
        if callable_ and key not in self._callable:
            self._callable[key] = call_kind(obj)
        foreign = self._make_foreign()
        if key in foreign:
            return
        foreign.add(key)
        self._make_keep().append(obj)
        if isinstance(obj, (list, dict, set)):
            self._foreign_containers.add(key)

    def _own(self, obj: Any) -> None:
        """Hand `obj` to the subclass that produced it (see `_owned`)."""
        key = id(obj)
        if key not in self._owned:
            self._owned.add(key)
            self._make_keep().append(obj)
            if key not in self._callable:
                self._callable[key] = call_kind(obj)

    def _note_global(self, module: str, name: str, obj: Any) -> None:
        policy = self._policy
        if policy is None:
            return
        if type(obj) is NameLookup or type(obj) is NamePath:
            # find_class registered these itself (see `_Resolver.find_class`).
            return
        if self.proto < 3 and self.fix_imports:
            module, name = py3_name(module, name)
        if self._resolved is not obj:
            # An overriding find_class produced this itself rather than
            # through the base find_class: that override decided, and owns it.
            self._own(obj)
            return
        self._note_foreign(obj, policy.may_call(module, name))
        self._make_global_names()[id(obj)] = (module, name)

    def _refuse_callee(
        self, func: Any, opname: str
    ) -> UnsafeOperationError | UnsafeGlobalError:
        if type(func) is NamePath and self._policy is not None:
            # The refused global it stands for, named as find_class would.
            path: NamePath = func
            return self._policy.refusal(
                path.module,
                path.qualname,
                NOT_ALLOWED,
                written=f"{path.module}.{path.qualname}",
            )
        if self._is_foreign(id(func)):
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
        if kind == CALL_LOOKUP:
            if opname != "REDUCE":
                raise self._refuse_callee(func, opname)
            # REDUCE has no argument: its opcode is the byte before `pos`.
            self._op_offset = self._base + pos - 1
            self._op_code = REDUCE
            self._guard_lookup(func, args)
            return
        if type(args) is not tuple:
            # As C: a call's arguments are a tuple (INST and OBJ pass one).
            raise _MalformedTypeError(
                f"{opname} arguments must be a tuple, not {type(args).__name__}"
            )
        size = 0
        for arg in args:
            size += _weight(arg)
        if kwargs:
            size += _weight(kwargs)
            for arg in kwargs.values():
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

    def _guard_lookup(self, lookup: Any, args: Any) -> None:
        """REDUCE of a safe load's getattr (`_Resolver` implements it)."""
        raise NotImplementedError

    def _check_stand_ins(self) -> None:
        """At STOP, when `NamePath`s exist (`_Resolver` implements it)."""
        raise NotImplementedError

    def _guard_target(self, target: Any, opname: str) -> None:
        """SETITEM(S)/APPEND(S)/ADDITEMS/BUILD only on objects this load made."""
        # (`_owned` is nearly always empty: then no id is boxed.)
        if self._owned and id(target) in self._owned and not is_real_class(target):
            return
        check_instance(target, opname)
        if self._is_foreign(id(target)):
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
        size = 4 * _weight(state)
        if type(state) is tuple:
            for part in state:
                size += 4 * _weight(part)
        if size:
            self._charge(size, pos)
        if self._owned and id(target) in self._owned and not is_real_class(target):
            # The subclass's own object: BUILD as the stdlib does it.
            build(target, state)
        else:
            # `_guard_target` has run check_instance on it.
            build_checked(target, state)

    def _check_plain_keys(self, target: Any, keys: list[Any], pos: int) -> None:
        """`_check_keys`, unless every key is one it skips: of a `PLAIN_KEYS`
        type or an int whose hash is distinct.  Interpreted SETITEMS only: set,
        min and max run at C speed there; compiled, they cost about twice
        `_check_keys`' native loop (ADDITEMS of 1,000 small ints)."""
        kinds = set(map(type, keys))
        if kinds <= PLAIN_KEYS:
            return
        if int in kinds and kinds <= _INT_OR_PLAIN_KEYS:
            ints = keys if len(kinds) == 1 else [k for k in keys if type(k) is int]
            if min(ints) > -_DISTINCT_HASH and max(ints) < _DISTINCT_HASH:
                return
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
                    hashes = self._hashes
                    if hashes is None:
                        hashes = self._hashes = {}
                    counts = hashes.get(id(target))
                    if counts is None:
                        counts = hashes[id(target)] = {}
                        self._make_keep().append(target)
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
        stack: list[Any] | None = None,
        buf: bytes | None = None,
    ) -> Exception | None:
        """What `load` raises for `exc` (None: re-raise it); see `translate`.

        It also gets the path of the object being built (``where.py``), from
        the loop's `stack` and `buf` as they were when it failed."""
        err = translate(
            exc, code, self._base + start, self._trusted, user, bool(metastack)
        )
        annotate_failure(
            exc if err is None else err, exc, code, start, metastack, stack, buf, user
        )
        return err
