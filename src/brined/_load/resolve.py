"""How a load resolves globals: `find_class`, under the load policy.

`_Resolver` (over `_Machine`) is the base of `Unpickler`.  The policy is asked
before anything is imported, and what a name resolves to is checked again (an
allowed module can re-export a blocked object).
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

from .._format.opcodes import GLOBAL, STACK_GLOBAL
from .._safe.policy import (
    ALLOWED,
    BAD_NAME,
    BLOCKED,
    NOT_ALLOWED,
    default_policy,
    is_blocked_object,
)
from ..errors import UnsafeGlobalError, UnsafeOperationError
from .guarded import CALL_LOOKUP
from .io import op_name
from .names import NameLookup, NamePath, py3_name
from .ops import _Machine

try:
    from mypy_extensions import mypyc_attr
except ImportError:
    # mypyc reads the decorator at compile time; at run time it does nothing, so
    # neither build needs mypy_extensions installed.
    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return lambda cls: cls


__all__ = ["_Resolver"]

_ModuleType: Final = type(sys)
# (types.FunctionType: compiled, this module's own functions are not one.)
_FunctionType: Final = types.FunctionType
# The opcodes whose global lands on the stack where getattr's base goes.
_PUSHES_GLOBAL: Final = frozenset([GLOBAL, STACK_GLOBAL])
_LOOKUP_SHAPE: Final = (
    "getattr is only allowed as the C pickler writes a nested name below "
    "protocol 4: getattr(global, 'name') through REDUCE"
)


# The builtin getattr, called as a function: with a default it learns that
# an attribute is missing without making an AttributeError (compiled, mypyc's
# own getattr primitive makes one and drops it).
_lookup: Final = getattr


# The interpreter's own `__import__`, or None if something had replaced it
# before brined was imported (a builtin function of the builtins module).
_PLAIN_IMPORT: Final = (
    builtins.__import__
    if isinstance(builtins.__import__, types.BuiltinFunctionType)
    and getattr(builtins.__import__, "__self__", None) is builtins
    else None
)
# Bound once, as C pickle reaches them: its find_class audits with PySys_Audit
# and finds loaded modules in the interpreter's own modules dict, whatever the
# `sys.audit` and `sys.modules` attributes are later set to; and `__import__`
# read from the builtins module's own dict (what `builtins.__import__` reads).
# Compiled, each was an attribute lookup on a module per global.
_audit: Final = sys.audit
_MODULES: Final = sys.modules
_BUILTINS: Final = builtins.__dict__


def _needs_import(module: Any) -> bool:
    """Whether `find_class` must call `__import__` for `module` (the entry of
    ``sys.modules``, or None).  C pickle always calls it; for a module that is
    loaded and not initializing (its spec says so: another thread may still
    be executing it, and `__import__` waits), the interpreter's own
    `__import__` only returns it, so that ~2k instructions' work a global is
    skipped — unless the user has replaced `builtins.__import__`, whose hook
    is then called exactly as C pickle calls it."""
    if module is None or _BUILTINS.get("__import__") is not _PLAIN_IMPORT:
        return True
    # (mypyc's own getattr: a module nearly always has __spec__, and a hit
    # costs no call of the builtin.)
    spec = getattr(module, "__spec__", None)
    return spec is not None and bool(_lookup(spec, "_initializing", False))


# Unpickler, which Python code subclasses, derives from this class.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Resolver(_Machine):
    """`find_class` and its checks; see the module docstring."""

    def find_class(self, module: str, name: str) -> Any:
        """Return the global `module`.`name`, if the load policy allows it.

        With ``trusted=True`` this is the stdlib's find_class.  Otherwise the
        (fix_imports-mapped) name is checked before anything is imported and a
        refused name raises `UnsafeGlobalError`.
        """
        _audit("pickle.find_class", module, name)
        policy = self._policy
        # The name as the pickle wrote it, for a refusal's message (joined
        # only when there is one: it costs an allocation per global).
        written_module = module
        written_name = name
        if self.proto < 3 and self.fix_imports:
            module, name = py3_name(module, name)
        if policy is not None:
            if module == "builtins" and name == "getattr":
                return self._name_lookup()
            verdict = policy.check(module, name)
            if verdict != ALLOWED:
                if verdict == NOT_ALLOWED and self._op_code in _PUSHES_GLOBAL:
                    # Maybe `Outer` of getattr(Outer, 'Inner'), with only
                    # Outer.Inner allowed: then it is that lookup's base.
                    base = self._base_of_lookup(module, name, True)
                    if base is not None:
                        return base
                raise self._refusal(
                    module, name, verdict, f"{written_module}.{written_name}"
                )
        root: Any = _MODULES.get(module)
        if _needs_import(root):
            __import__(module, level=0)
            root = _MODULES[module]
        obj = root
        if self.proto < 4 or ("." not in name and name != "<locals>"):
            # One part (nearly every name): no split, no walk.
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
                    raise self._refusal(
                        module, name, BLOCKED, f"{written_module}.{written_name}"
                    )
                obj = getattr(obj, part)
        if policy is not None:
            if is_blocked_object(obj):
                # (`_check_resolved`, with the written name joined only here.)
                raise self._refusal(
                    module, name, BLOCKED, f"{written_module}.{written_name}"
                )
            # What the policy resolved, for the guards (see _note_global).
            self._resolved = obj
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
            opcode=op_name(self._op_code),
            written=written,
        )

    def _check_resolved(self, module: str, name: str, obj: Any, written: str) -> None:
        # The name passed the policy, but an allowed module can re-export a
        # blocked object (``from os import system``) or a module: check what the
        # name actually resolved to.
        if is_blocked_object(obj):
            raise self._refusal(module, name, BLOCKED, written)

    # -- nested names below protocol 4: getattr(Outer, 'Inner') ---------------

    def _name_lookup(self) -> NameLookup:
        lookup = NameLookup()
        key = id(lookup)
        self._callable[key] = CALL_LOOKUP
        self._make_foreign().add(key)
        self._make_stand_ins().append(lookup)
        self._resolved = lookup
        return lookup

    def _base_of_lookup(self, module: str, name: str, pushed: bool) -> Any:
        """A `NamePath` for `module`.`name` if it sits where getattr's first
        argument goes (the next object on a stack whose top is a
        `NameLookup`), else None.  `pushed`: the object is about to be
        pushed (GLOBAL); otherwise it replaces the top (REDUCE)."""
        stack = self._stack
        below: Any = None
        depth = len(stack) if pushed else len(stack) - 1
        if depth > 0:
            below = stack[depth - 1]
        elif self._metastack and self._metastack[-1]:
            below = self._metastack[-1][-1]
        if type(below) is not NameLookup:
            return None
        path = NamePath(module, name)
        key = id(path)
        self._make_foreign().add(key)
        self._make_stand_ins().append(path)
        self._make_global_names()[key] = (module, name)
        self._resolved = path
        return path

    def _check_stand_ins(self) -> None:
        """Refuse a load that kept a stand-in anywhere but in the memo.

        A `NamePath` stands for a global the policy refused, so it may only
        be a lookup's base, and a `NameLookup` for getattr, which may only be
        called: by STOP nothing but the memo (and a memoized ``(base,
        'name')`` argument tuple) may still refer to either.  Reference
        counts tell, without walking the result: every other holder (a
        container, an instance, the result itself) is one reference too many.
        """
        self._resolved = None
        held, tuples = _memo_holds(self._memo, self._memo_extra)
        leaked = _leak(tuples, held)
        if leaked is not None:
            self._leaked(leaked[0])
        leaked = _leak(self._make_stand_ins(), held)
        if leaked is not None:
            self._leaked(leaked)

    def _leaked(self, path: Any) -> None:
        if type(path) is NameLookup:
            raise self._refusal("builtins", "getattr", BLOCKED, "builtins.getattr")
        raise self._refusal(
            path.module, path.qualname, NOT_ALLOWED, f"{path.module}.{path.qualname}"
        )

    def _guard_lookup(self, lookup: Any, args: Any) -> None:
        """Resolve getattr(base, attr) as the dotted name it spells, if the
        policy allows that name; refuse every other use of getattr."""
        policy = self._policy
        if (
            policy is None
            or type(args) is not tuple
            or len(args) != 2
            or type(args[1]) is not str
        ):
            raise UnsafeOperationError(_LOOKUP_SHAPE, rule="getattr")
        base, attr = args
        names = self._make_global_names()
        owner = names.get(id(base))
        bound = False
        if owner is None:
            # A bound method: getattr(instance, 'method') of a class this load
            # resolved (the pickle made the instance, so it is not a global).
            owner = names.get(id(type(base)))
            if owner is None or type(base) is NamePath:
                raise UnsafeOperationError(
                    f"getattr on a {type(base).__name__} is refused: {_LOOKUP_SHAPE}",
                    rule="getattr",
                )
            bound = True
        module, qualname = owner
        dotted = f"{qualname}.{attr}"
        written = f"{module}.{dotted}"
        # A dunder, "<locals>" or empty part is a bad name to the policy; a
        # dot would make one getattr walk several names.
        verdict = BAD_NAME if "." in attr else policy.check(module, dotted)
        if verdict != ALLOWED:
            path = None
            if verdict == NOT_ALLOWED and not bound:
                path = self._base_of_lookup(module, dotted, False)
            if path is None:
                raise self._refusal(module, dotted, verdict, written)
            lookup.result = path
            return
        if bound:
            # Looked up on the class, never through the instance (whose
            # __getattr__ could run anything): only plain functions bind.
            func = getattr(type(base), attr, None)
            if type(func) is not _FunctionType:
                raise UnsafeOperationError(
                    f"getattr on a {type(base).__name__} instance only binds "
                    f"a method; {written} is not one",
                    rule="getattr",
                )
            self._check_resolved(module, dotted, func, written)
            lookup.result = func.__get__(base, type(base))
            return
        obj: Any
        if type(base) is NamePath:
            __import__(module, level=0)
            obj = sys.modules[module]
            for part in qualname.split("."):
                if type(obj) is _ModuleType and obj is not sys.modules[module]:
                    raise self._refusal(module, dotted, BLOCKED, written)
                obj = getattr(obj, part)
        else:
            obj = base
        if type(obj) is _ModuleType:
            raise self._refusal(module, dotted, BLOCKED, written)
        obj = getattr(obj, attr)
        self._check_resolved(module, dotted, obj, written)
        key = id(obj)
        if key not in names:
            names[key] = (module, dotted)
        self._note_foreign(obj, policy.may_call(module, dotted))
        lookup.result = obj


# Reference counting for `_Resolver._check_stand_ins`: each step in a function of
# its own, so no loop variable of one step is still holding an object when
# the next one counts.


def _memo_holds(
    memo: list[Any], extra: dict[Any, Any]
) -> tuple[dict[int, int], list[Any]]:
    """How many references the memo holds to each object, counting the items
    of memoized 2-tuples; and those tuples that start with a `NamePath`."""
    held: dict[int, int] = {}
    tuples: list[Any] = []
    entries = list(memo)
    entries.extend(extra.values())
    for entry in entries:
        key = id(entry)
        if key not in held and type(entry) is tuple and len(entry) == 2:
            inner = id(entry[0])
            held[inner] = held.get(inner, 0) + 1
            if type(entry[0]) is NamePath:
                tuples.append(entry)
        held[key] = held.get(key, 0) + 1
    return held, tuples


def _alone() -> int:
    # The count of an object held by one list only, seen from a loop like
    # `_leak`'s (the same in both builds, whatever the loop itself holds).
    items = [NamePath("", "")]
    count = 0
    for item in items:
        count = sys.getrefcount(item)
    return count


def _leak(items: list[Any], held: dict[int, int]) -> Any:
    """The first of `items` (each listed once) held by more than `items`
    and the memo, or None."""
    alone = _alone()
    for item in items:
        if sys.getrefcount(item) > alone + held.get(id(item), 0):
            return item
    return None
