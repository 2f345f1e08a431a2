"""The opcode guards of an untrusted load: stateless checks on what a pickle asks.

The loader decides *which* objects a pickle may call or mutate (it knows where
each came from); the functions here decide whether one call, one BUILD or one
batch of container items is acceptable, and raise `UnsafeOperationError` naming
the rule when it is not.  Nothing here imports a module or calls into the
objects it checks except the calls it guards.

Rules (each ``rule=`` value is named in docs/security.md):

* ``call-args``: the arguments of an allowed callable must be data it can take
  without running away: no ``range`` or iterator to a container constructor, no
  int to ``bytes``/``bytearray`` (an allocation size), only text encodings,
  ``_codecs.encode(str, 'latin1')`` exactly as the stdlib writes it.
* ``reconstructor``: ``copyreg._reconstructor`` only over a builtin base.
* ``build-target``, ``build-state``: BUILD only on ordinary instances, with str,
  non-dunder keys, and slot state only for declared slots.
"""

from __future__ import annotations

import _codecs
import collections
import copyreg
import functools
import pickle
import re
import sys
import types
from typing import Any, Final

from ..errors import MalformedPickleError, UnsafeOperationError
from .numpy_checks import (
    check_dtype_built,
    check_dtype_call,
    check_ndarray_state,
    check_numpy_reconstruct,
    is_dtype,
    is_ndarray,
)
from .policy import is_static_type

__all__ = [
    "CALL_ARGS",
    "CALL_ENCODE",
    "CALL_SCALAR",
    "SHORT_TEXT",
    "CALL_PLAIN",
    "CALL_RECONSTRUCTOR",
    "build",
    "build_checked",
    "build_untrusted",
    "call_kind",
    "check_args",
    "check_instance",
    "check_newobj",
    "check_reconstructor",
    "extend",
    "add_items",
    "hashed_keys",
    "is_dunder",
    "is_real_class",
]

_HEAPTYPE: Final = 1 << 9  # Py_TPFLAGS_HEAPTYPE
_reconstructor: Final = copyreg._reconstructor  # type: ignore[attr-defined]
# (Bound once: compiled, `_codecs.encode` is a module attribute lookup.)
_encode: Final = _codecs.encode
# The builtin getattr, called as a function: with a default it finds out that
# an attribute is missing without creating an AttributeError.  Compiled, a
# plain getattr(obj, name, None) is mypyc's primitive, which creates (and
# formats) the exception and clears it: once per BUILD of an object without
# __setstate__, most of BUILD's time.
_lookup: Final = getattr
_intern: Final = sys.intern
# The interned attribute names trusted BUILD has met, each its own key: a dict
# lookup by value costs less than a call of sys.intern (compiled, a Python
# call).  Bounded: a pickle's own long or many keys fall back to the call.
_NAMES: Final[dict[str, str]] = {}
_NAMES_MAX: Final = 2048
_NAME_LEN: Final = 64
_TRUST: Final = "If you trust this data: brined.loads(data, trusted=True)"

# Objects BUILD may never touch, whatever their origin.
_NOT_INSTANCES: Final = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
    types.FrameType,
    types.TracebackType,
    types.CellType,
)

_NOT_INSTANCE_SET: Final = frozenset(_NOT_INSTANCES)

_STDLIB_METACLASSES: Final = frozenset(["builtins", "abc", "enum", "typing", "_ctypes"])
# Constructors that iterate or size themselves from an argument.
_CONTAINER_TYPES: Final = (
    list,
    tuple,
    set,
    frozenset,
    dict,
    bytes,
    bytearray,
    str,
    collections.deque,
)
# Codecs str/bytes/bytearray may be asked for: text encodings only, so a
# pickle cannot reach the compression or other bytes-to-bytes codecs.
_TEXT_ENCODINGS: Final = frozenset(
    [
        "ascii",
        "latin1",
        "latin-1",
        "iso-8859-1",
        "utf-8",
        "utf8",
        "utf_8",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "raw-unicode-escape",
        "surrogatepass",
        "strict",
        "ignore",
        "replace",
        "backslashreplace",
        "surrogateescape",
    ]
)
# How a callee's arguments are checked, decided once per callee (call_kind).
CALL_PLAIN: Final = 0  # validates its own arguments and never materialises
CALL_ARGS: Final = 1  # check_args and hashed_keys
CALL_RECONSTRUCTOR: Final = 2
# _codecs.encode: the loop accepts encode(str, "latin1") inline, the one form
# the stdlib writes (bytes and datetime states at protocols 0-2).
CALL_ENCODE: Final = 3
# Decimal, float, complex: the loop accepts one short str inline (bounded work
# however often a memoized string is passed); anything else is checked.
CALL_SCALAR: Final = 4
SHORT_TEXT: Final = 256
# Allowed callees that only ever take scalars or their own small state and
# check them in C (a range or an iterator is a TypeError), by name; call_kind
# makes sure the object is the real one.  Decimal, float and complex parse
# strings of any length, so they go through the argument budget instead.
_PLAIN_CALLEES: Final = frozenset(
    [
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("builtins", "bool"),
        ("builtins", "object"),
    ]
)
_SCALAR_CALLEES: Final = frozenset(
    [("decimal", "Decimal"), ("builtins", "float"), ("builtins", "complex")]
)
# Their qualnames: most callees are ruled out by one str lookup.
_SHORTCUT_QUALNAMES: Final = frozenset(q for _, q in _PLAIN_CALLEES | _SCALAR_CALLEES)
_HASHED_BUILDERS: Final = (set, frozenset)
# re._compile's flags a pickle may pass: not re.DEBUG, which prints the parsed
# pattern to stdout while compiling.
_RE_FLAGS: Final = int(
    re.IGNORECASE | re.LOCALE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE
) | int(re.ASCII)
_re_compile: Final = re._compile  # type: ignore[attr-defined]
_partial: Final = functools.partial
_MAPPING_BUILDERS: Final = (dict,)
# (Bound once, so `hashed_keys`' remembered answers cannot go stale.)
_Counter: Final = collections.Counter


# Static types whose call kind is `CALL_ARGS` for good (names outside both
# sets, never changing), by id, each kept alive by its entry: a static type's
# names are new strs at each read.
_STATIC_ARGS: Final[dict[int, object]] = {}
_MAX_STATIC: Final = 4096


def call_kind(func: Any) -> int:
    """Which argument checks a call to `func` needs (see `CALL_PLAIN`)."""
    if func is _reconstructor:
        return CALL_RECONSTRUCTOR
    if func is _encode:
        return CALL_ENCODE
    if _STATIC_ARGS.get(id(func)) is func:
        return CALL_ARGS
    if not isinstance(func, type):
        # Every plain and scalar callee is a class: a function (numpy's
        # _frombuffer, at each load of an array) gets its arguments checked
        # without its names read, even one rebound in place of such a class.
        return CALL_ARGS
    module = getattr(func, "__module__", None)
    qual = getattr(func, "__qualname__", None)
    if isinstance(module, str) and isinstance(qual, str):
        # The names first: the lookup that makes sure `func` is the object
        # they name is only needed for the few plain and scalar callees.
        names = (module, qual) if qual in _SHORTCUT_QUALNAMES else None
        if names in _PLAIN_CALLEES:
            kind = CALL_PLAIN
        elif names in _SCALAR_CALLEES:
            kind = CALL_SCALAR
        else:
            if is_static_type(func) and len(_STATIC_ARGS) < _MAX_STATIC:
                _STATIC_ARGS[id(func)] = func
            return CALL_ARGS
        if getattr(sys.modules.get(module), qual, None) is func:
            return kind
    return CALL_ARGS


def is_real_class(obj: Any) -> bool:
    """A class made by the stdlib's own metaclasses (not a stand-in class such
    as brined scan's symbols, whose metaclass is their own): even a subclass's
    hooks never hand one out to get state or items."""
    return isinstance(obj, type) and type(obj).__module__ in _STDLIB_METACLASSES


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _refuse(message: str, rule: str) -> UnsafeOperationError:
    return UnsafeOperationError(f"{message}. {_TRUST}", rule=rule)


# Built-in types whose instances are never iterators.  Built-in types are
# immutable (no ``__next__`` can be added later), so no lookup is needed.
_NEVER_ITERATORS: Final = frozenset(
    [str, bytes, bytearray, int, bool, float, complex, type(None), tuple, list]
    + [dict, set, frozenset, memoryview, pickle.PickleBuffer]
)


def _runaway(value: Any) -> bool:
    # Lazy sequences and iterators: materialising them is unbounded work.
    kind = type(value)
    # The commonest argument types by identity (a few compares, where the set
    # lookup hashes the type), then the rest of the set.
    if kind is str or kind is tuple or kind is bool or kind is int:
        return False
    if kind in _NEVER_ITERATORS:
        return False
    if kind is range:
        return True
    if type(kind) is type:
        # What hasattr(kind, "__next__") finds when the metaclass is `type`
        # (whose own MRO has no __next__), without the AttributeError a miss
        # formats and drops: a few thousand instructions per argument.
        return any("__next__" in klass.__dict__ for klass in kind.__mro__)
    known = _STATIC_RUNAWAY.get(id(kind))
    if known is not None and known[0] is kind:
        return known[1]
    answer = hasattr(kind, "__next__")
    if _static_lookup(kind) and len(_STATIC_RUNAWAY) < _MAX_STATIC:
        _STATIC_RUNAWAY[id(kind)] = (kind, answer)
    return answer


# `_runaway`'s answers for the classes `_static_lookup` accepts (numpy's
# scalar and dtype classes: metaclass `numpy._DTypeMeta`), by id, each with
# its class, which the entry keeps alive.
_STATIC_RUNAWAY: Final[dict[int, tuple[type, bool]]] = {}
_type_getattribute: Final = type.__dict__["__getattribute__"]


def _static_lookup(kind: type) -> bool:
    """Whether hasattr(kind, name) can never change: `kind`, its metaclass
    and every class of their MROs are static types (whose dicts and bases
    are fixed), and the metaclass looks attributes up as `type` does."""
    meta: type = type(kind)
    return (
        all(is_static_type(k) for k in kind.__mro__)
        and all(is_static_type(k) for k in meta.__mro__)
        and _lookup(meta, "__getattribute__", None) is _type_getattribute
    )


def check_args(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None, max_digits: int
) -> None:
    """Refuse arguments an allowed callable must not be given (rule ``call-args``).

    `max_digits` is `Limits.max_int_digits`, for str-to-int conversions.
    """
    if func is _encode:
        if (
            len(args) == 2
            and isinstance(args[0], str)
            and args[1] in ("latin1", "latin-1")
            and not kwargs
        ):
            return
        raise _refuse(
            "_codecs.encode is only allowed as encode(str, 'latin1'), the form "
            "the stdlib writes",
            "call-args",
        )
    values: Any = args
    if kwargs:
        values = list(args)
        values.extend(kwargs.values())
        for value in values:
            _check_runaway(func, value)
    else:
        for arg in args:  # (a tuple: compiled, indexed natively)
            _check_runaway(func, arg)
    if not isinstance(func, type):
        if func is _re_compile:
            _check_re_compile(args, kwargs)
        elif _name_ends(func, "multiarray._reconstruct"):
            check_numpy_reconstruct(args)
        return
    if is_dtype(func):
        check_dtype_call(func, args, kwargs)
        return
    if issubclass(func, _CONTAINER_TYPES):
        if issubclass(func, (bytes, bytearray)) and args and _is_int(args[0]):
            raise _refuse(
                f"refused to call {_name(func)} with an int (an allocation size)",
                "call-args",
            )
        if (
            issubclass(func, str)
            and args
            and not isinstance(args[0], (str, bytes, bytearray))
        ):
            # str(obj) is repr(obj): exponential for a shared structure.
            raise _refuse(
                f"refused to call {_name(func)} on a {type(args[0]).__name__}: "
                "only text and bytes are converted",
                "call-args",
            )
        if issubclass(func, (str, bytes, bytearray)):
            for value in list(args[1:]) + list((kwargs or {}).values()):
                if type(value) is not str or value.lower() not in _TEXT_ENCODINGS:
                    raise _refuse(
                        f"refused to call {_name(func)} with encoding or errors "
                        f"{_short(value)}: only text encodings are allowed",
                        "call-args",
                    )
    elif issubclass(func, int) and not issubclass(func, bool):
        for value in values:
            if isinstance(value, (str, bytes, bytearray)) and len(value) > max_digits:
                raise _refuse(
                    f"refused to convert {len(value)} characters to an int "
                    f"(max_int_digits={max_digits})",
                    "call-args",
                )
    elif _name(func) == "fractions.Fraction":
        for value in values:
            if isinstance(value, str) and ("e" in value or "E" in value):
                # Fraction("1e999999999") computes 10**999999999.
                raise _refuse(
                    "refused Fraction() of a string with an exponent; the "
                    "stdlib writes 'numerator/denominator'",
                    "call-args",
                )


def _check_runaway(func: Any, value: Any) -> None:
    if _runaway(value):
        raise _refuse(
            f"refused to call {_name(func)} with a {type(value).__name__} "
            "argument (lazy sequences and iterators are not materialised)",
            "call-args",
        )


def _check_re_compile(args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> None:
    # re._compile(pattern, flags), as Pattern.__reduce__ writes it.  Compiling
    # costs CPU in proportion to the pattern, which the input holds; the cache
    # in re makes a repeated pattern free.
    if (
        not kwargs
        and len(args) == 2
        and type(args[0]) in (str, bytes)
        and type(args[1]) is int
        and not args[1] & ~_RE_FLAGS
    ):
        return
    raise _refuse(
        "re._compile is only allowed as _compile(str or bytes, flags) without "
        "re.DEBUG, the form Pattern.__reduce__ writes",
        "call-args",
    )


def _check_partial_state(state: Any) -> None:
    # functools.partial.__setstate__ checks the shape itself; its fourth item
    # becomes the instance __dict__, which gets BUILD's key rules.
    if type(state) is tuple and len(state) == 4:
        extra = state[3]
        if extra is None:
            return
        if type(extra) is dict:
            _state_keys(extra, "partial state")
            return
    raise _refuse(
        "functools.partial state must be (func, args, kwds, dict or None)",
        "build-state",
    )


# Static types that build neither a set nor a dict (`hashed_keys` is None for
# them for good: their bases never change), by id, each kept alive by its
# entry; numpy's dtype, called at every load of an array.
_STATIC_NOT_BUILDERS: Final[dict[int, object]] = {}


def hashed_keys(func: Any, args: tuple[Any, ...]) -> list[Any] | None:
    """The keys a call to a set/dict constructor will hash, if it is one."""
    if not args or _STATIC_NOT_BUILDERS.get(id(func)) is func:
        return None
    if not isinstance(func, type):
        return None
    keys: list[Any] = []
    if issubclass(func, _HASHED_BUILDERS) or issubclass(func, _Counter):
        # Elements: set(list), frozenset(tuple), Counter(list).  Subclasses
        # too: the constructor iterates them all the same.
        for arg in args:
            if isinstance(arg, (list, tuple)):
                keys.extend(arg)
        return keys
    if issubclass(func, _MAPPING_BUILDERS):
        # Pairs: dict(list), OrderedDict(list), defaultdict(factory, list).
        for arg in args:
            if isinstance(arg, (list, tuple)):
                keys.extend(p[0] for p in arg if type(p) in (list, tuple) and p)
        return keys
    if is_static_type(func) and len(_STATIC_NOT_BUILDERS) < _MAX_STATIC:
        _STATIC_NOT_BUILDERS[id(func)] = func
    return None


def check_newobj(cls: Any, args: Any, kwargs: Any, opname: str) -> None:
    # The same checks as the C unpickler, before anything is called.
    if not isinstance(cls, type):
        raise MalformedPickleError(
            f"{opname} class argument must be a type, not {type(cls).__name__}"
        )
    # C checks PyTuple_Check and PyDict_Check: subclasses pass.
    if type(args) is not tuple and not isinstance(args, tuple):
        raise MalformedPickleError(
            f"{opname} args argument must be a tuple, not {type(args).__name__}"
        )
    if kwargs is not None and type(kwargs) is not dict and not isinstance(kwargs, dict):
        raise MalformedPickleError(
            f"{opname} kwargs argument must be a dict, not {type(kwargs).__name__}"
        )


def check_reconstructor(
    args: Any, callable_ids: dict[int, int], max_digits: int
) -> None:
    # copyreg._reconstructor(cls, base, state) calls base.__new__ and
    # base.__init__: safe loads only let it use a builtin (non-heap) base, which
    # is all the stdlib ever writes, for a class the policy lets be called.
    if type(args) is tuple and len(args) == 3:
        cls, base, state = args
        if (
            isinstance(cls, type)
            and isinstance(base, type)
            and not base.__flags__ & _HEAPTYPE
            and issubclass(cls, base)
            and id(cls) in callable_ids
        ):
            if base is not object:
                check_args(base, (state,), None, max_digits)
            return
    raise _refuse(
        "copyreg._reconstructor is only allowed with a builtin base type and an "
        "allowed class in a safe load",
        "reconstructor",
    )


def extend(target: Any, items: list[Any]) -> None:
    # PEP 307 asks for extend(), but older classes may only have append().
    try:
        method = target.extend
    except AttributeError:
        append = target.append
        for item in items:
            append(item)
    else:
        method(items)


def add_items(target: Any, items: list[Any]) -> None:
    if isinstance(target, set):
        target.update(items)
    else:
        add = target.add
        for item in items:
            add(item)


def _attr_name(key: str) -> str:
    # sys.intern(key) for an exact str (PyUnicode_InternInPlace, as C's BUILD).
    name = _NAMES.get(key)
    if name is None:
        name = _intern(key)
        if len(_NAMES) < _NAMES_MAX and len(name) <= _NAME_LEN:
            _NAMES[name] = name
    return name


def build(inst: Any, state: Any) -> None:
    """BUILD as the stdlib does it (trusted loads)."""
    setstate = _lookup(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    # As the C unpickler: a state other than None must be a dict (even an
    # empty one needs the instance's __dict__), and so must the slot state of
    # a 2-tuple.
    slotstate = None
    has_slots = False
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
        has_slots = True
    if state is not None:
        if not isinstance(state, dict):
            raise MalformedPickleError("state is not a dictionary")
        inst_dict = inst.__dict__
        for key, value in state.items():
            if type(key) is str:
                inst_dict[_attr_name(key)] = value
            else:
                inst_dict[key] = value
    if has_slots:
        if not isinstance(slotstate, dict):
            raise MalformedPickleError("slot state is not a dictionary")
        for key, value in slotstate.items():
            setattr(inst, key, value)


def check_instance(inst: Any, opname: str) -> None:
    """BUILD and the item opcodes never touch classes, modules or functions."""
    # isinstance(inst, T) is: T in type(inst).__mro__ (T is a plain type), or
    # the same of a `__class__` that differs from the type.  So the ~15
    # `__class__` reads of isinstance (one per type) only in that case.
    kind = type(inst)
    if (_STATIC_TARGETS.get(id(kind)) is not kind and _not_instance_mro(kind)) or (
        getattr(inst, "__class__", kind) is not kind
        and isinstance(inst, _NOT_INSTANCES)
    ):
        raise _refuse(
            f"{opname} on a {type(inst).__name__} is refused: only objects this "
            "load created can be given state or items",
            "target",
        )


# Static types (fixed bases) with no `_NOT_INSTANCES` type in their MRO, by id.
_STATIC_TARGETS: Final[dict[int, type]] = {}


def _not_instance_mro(kind: type) -> bool:
    if any(k in _NOT_INSTANCE_SET for k in kind.__mro__):
        return True
    if is_static_type(kind) and len(_STATIC_TARGETS) < _MAX_STATIC:
        _STATIC_TARGETS[id(kind)] = kind
    return False


def _state_keys(state: dict[Any, Any], what: str) -> None:
    for key in dict.keys(state):
        if type(key) is not str:
            raise _refuse(
                f"BUILD {what} keys must be str, not {type(key).__name__}",
                "build-state",
            )
        if is_dunder(key):
            raise _refuse(
                f"BUILD {what} key {_short(key)} is a dunder name", "build-state"
            )


def _declared_slots(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__")
        if isinstance(slots, str):
            names.add(slots)
        elif slots is not None:
            names.update(s for s in slots if isinstance(s, str))
    return names


def build_untrusted(inst: Any, state: Any) -> None:
    """BUILD with the guards: `inst` was created by this load (checked by the
    caller); ``__setstate__`` is looked up on the type; keys are str, never
    dunders; slot state only sets declared slots.  A state may be a dict
    subclass, as in C, and is read as a plain dict (``PyDict_Next``)."""
    check_instance(inst, "BUILD")
    build_checked(inst, state)


# What BUILD looks up on a class whose lookups cannot change (`_static_lookup`:
# numpy's dtype classes, at each load of an array): its ``__setstate__`` and
# whether it is numpy's ndarray or dtype, by id, each with its class.
_STATIC_SETSTATE: Final[dict[int, tuple[type, Any, bool, bool]]] = {}


def build_checked(inst: Any, state: Any) -> None:
    """`build_untrusted` for a caller that has just run `check_instance` on
    `inst` (the loader's BUILD guard does, with its other target checks)."""
    kind = type(inst)
    known = _STATIC_SETSTATE.get(id(kind))
    if known is not None and known[0] is kind:
        setstate, ndarray, dtype = known[1], known[2], known[3]
    else:
        setstate = _lookup(kind, "__setstate__", None)
        ndarray = is_ndarray(kind)
        dtype = is_dtype(kind)
        if _static_lookup(kind) and len(_STATIC_SETSTATE) < _MAX_STATIC:
            _STATIC_SETSTATE[id(kind)] = (kind, setstate, ndarray, dtype)
    if setstate is not None:
        if ndarray:
            check_ndarray_state(state)
        elif isinstance(inst, _partial):
            _check_partial_state(state)
        setstate(inst, state)
        if dtype:
            check_dtype_built(inst)
        return
    slotstate = None
    has_slots = False
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
        has_slots = True
    if state is not None:
        # A dict subclass is a dict here, as C's BUILD takes it (PyDict_Check).
        if not isinstance(state, dict):
            raise MalformedPickleError("state is not a dictionary")
        _state_keys(state, "state")
        try:
            inst_dict = inst.__dict__
        except AttributeError:
            raise _refuse(
                f"BUILD state for a {type(inst).__name__}, which has no __dict__",
                "build-target",
            ) from None
        if type(inst_dict) is not dict:
            raise _refuse("BUILD target's __dict__ is not a dict", "build-target")
        for key, value in dict.items(state):
            inst_dict[_intern(key)] = value
    if has_slots:
        # As C: the second item of a 2-tuple state must be a dict, even None.
        if not isinstance(slotstate, dict):
            raise MalformedPickleError("slot state is not a dictionary")
        _state_keys(slotstate, "slot state")
        slots = _declared_slots(type(inst))
        for key, value in dict.items(slotstate):
            if key not in slots:
                raise _refuse(
                    f"BUILD slot state names {_short(key)}, which is not a "
                    f"declared slot of {type(inst).__name__}",
                    "build-state",
                )
            setattr(inst, key, value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or hasattr(type(value), "__index__")


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None)
    qual = getattr(func, "__qualname__", None)
    if isinstance(module, str) and isinstance(qual, str):
        return f"{module}.{qual}"
    return type(func).__name__


def _name_ends(func: Any, tail: str) -> bool:
    """``_name(func).endswith(tail)``, without joining the name when both of
    its parts are exact strs and the qualname alone decides."""
    module = getattr(func, "__module__", None)
    qual = getattr(func, "__qualname__", None)
    if type(module) is str and type(qual) is str:
        if len(qual) >= len(tail):
            return qual.endswith(tail)
        # The tail runs past the qualname into "module.".
        head = len(tail) - len(qual)
        return tail.endswith(qual) and (module + ".").endswith(tail[:head])
    return _name(func).endswith(tail)


def _short(value: Any) -> str:
    text = repr(value) if type(value) is str else f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:80] + "..."
