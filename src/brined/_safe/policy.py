"""The load policy: which globals a safe (untrusted) load may import.

A pickle names the callables it needs as ``(module, qualname)`` pairs and the
unpickler imports them.  That import is where loading untrusted data turns into
running code, so the base `Unpickler.find_class` asks a `Policy` first, before
anything is imported.

Three layers, checked in this order:

1. Names that can never be resolved safely: a ``<locals>`` segment, a dunder
   segment in the qualname (``__globals__``, ``__subclasses__``, ...), or an empty
   segment.  Refused whatever ``allow=`` says.
2. The blocklist (tables.py): every name in a *system module* (``os``,
   ``subprocess``, ``socket``, ``pathlib``, ...), except the plain data types
   that live there (every Enum, structseqs, named tuples, pure paths), plus
   single gadgets elsewhere (``builtins.eval``, ``copyreg.add_extension``).
   ``allow=`` cannot lift these, not even with ``package.*``; only
   ``trusted=True`` (which skips the policy) can.  An Enum class in a system
   module that the tables do not list is data too, when allowed by its exact
   name: `Policy` imports it then, once, to check.
3. The allowlist: the stdlib's value types and numpy's arrays (tables.py),
   plus whatever ``allow=`` adds (names, patterns, profiles, group names).

An allowed name may be *called* (the callee of REDUCE, NEWOBJ, NEWOBJ_EX, INST,
OBJ) or only *appear as a value* (``Policy(values=...)``, e.g. a function used as
a ``defaultdict`` factory that the pickle itself must never call).

Names are checked after ``fix_imports`` has mapped Python 2 names, so
``__builtin__.set`` is checked as ``builtins.set``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Set
from enum import Enum
from types import MappingProxyType, ModuleType
from typing import Any, Final

from ..errors import UnsafeGlobalError
from .profiles import PROFILES, profile_of
from .tables import (
    BLOCKED_NAMES,
    DATA_IN_SYSTEM_MODULES,
    DEFAULT_ALLOWED,
    DEFAULT_VALUES,
    SYSTEM_MODULES,
)
from .tables import GROUPS as _ROUND1_GROUPS

__all__ = [
    "ALLOWED",
    "BAD_NAME",
    "BLOCKED",
    "BLOCKED_MODULES",
    "BLOCKED_NAMES",
    "DEFAULT_ALLOWED",
    "DEFAULT_VALUES",
    "GROUPS",
    "NOT_ALLOWED",
    "Policy",
    "advice",
    "default_policy",
    "is_blocked",
    "is_blocked_object",
    "is_static_type",
]

# Verdicts returned by `Policy.check`.
ALLOWED: Final = 0
NOT_ALLOWED: Final = 1
BLOCKED: Final = 2
BAD_NAME: Final = 3
# The most answers Policy.check (per policy) and is_blocked remember.
_MAX_VERDICTS: Final = 4096

# Round 1's name for the system modules.
BLOCKED_MODULES: Final = SYSTEM_MODULES

# One-word ``allow=`` entries: round 1's groups (now in the default) and the
# profiles, for policy files and the CLI (``pandas`` = brined.profiles.PANDAS).
GROUPS: Final[dict[str, frozenset[tuple[str, str]]]] = {
    **_ROUND1_GROUPS,
    "pandas": PROFILES["PANDAS"],
    "scipy-sparse": PROFILES["SCIPY_SPARSE"],
    "sklearn": PROFILES["SKLEARN"],
}


def _module_blocked(module: str) -> bool:
    if module in SYSTEM_MODULES:
        return True
    # Walk the parents: "os.path" is blocked because "os" is.
    dot = module.rfind(".")
    while dot > 0:
        module = module[:dot]
        if module in SYSTEM_MODULES:
            return True
        dot = module.rfind(".")
    return False


def is_blocked(module: str, name: str) -> bool:
    """Return True if ``module.name`` is on the hard blocklist.

    That is: a listed gadget, or any name in a system module that is not one of
    the data types listed in `DATA_IN_SYSTEM_MODULES`.
    """
    names = _BLOCKED_ANSWERS.get(module)
    if names is not None:
        known = names.get(name)
        if known is not None:
            return known
    key = (module, name)
    blocked = key in BLOCKED_NAMES or (
        _module_blocked(module) and key not in DATA_IN_SYSTEM_MODULES
    )
    # The tables are fixed.
    _BLOCKED_COUNT[0] = _remember(
        _BLOCKED_ANSWERS, _BLOCKED_COUNT[0], module, name, blocked
    )
    return blocked


# is_blocked's answers, by module then name (no key tuple to make, hash and
# compare at each lookup); `_BLOCKED_COUNT` counts them.
_BLOCKED_ANSWERS: Final[dict[str, dict[str, bool]]] = {}
_BLOCKED_COUNT: Final = [0]


def _remember(
    answers: dict[str, dict[str, Any]], count: int, module: str, name: str, answer: Any
) -> int:
    """Keep `answer` for (module, name) in `answers` (`is_blocked`'s,
    `Policy.check`'s), by module then name, which hold `count` answers; return
    how many they hold now.  At most `_MAX_VERDICTS`, so that a stream of
    distinct names cannot grow them without end; and only for exact strs: a
    str subclass's own __eq__ or __hash__ could make a later, different name
    find its entry."""
    if type(module) is str and type(name) is str and count < _MAX_VERDICTS:
        names = answers.get(module)
        if names is None:
            names = answers[module] = {}
        names[name] = answer
        count += 1
    return count


def _is_enum_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, Enum)


# The real tp_flags of a class, read through `type`'s own descriptor: a
# metaclass can define a `__flags__` of its own that says anything.
_type_flags: Final = type.__dict__["__flags__"].__get__
_HEAPTYPE: Final = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def is_static_type(obj: object) -> bool:
    """A class defined in C as a static type (not made at run time): its
    name, module, bases and dict can never change, and it is never freed,
    so an answer that depends only on those holds for the process."""
    # isinstance first: compiled, it is a flag test that rules out functions
    # at once; then by the type, as isinstance believes a `__class__` property.
    return (
        isinstance(obj, type)
        and issubclass(type(obj), type)
        and not _type_flags(obj) & _HEAPTYPE
    )


# is_blocked_object's answers for static types, by id, each with its type (so
# an entry is only ever read for the object it was made for, which it keeps
# alive).  A static type's `__module__` and `__qualname__` are new strs at
# every read: two allocations and the blocklist lookup, per global per load.
_STATIC_BLOCKED: Final[dict[int, tuple[object, bool]]] = {}


def is_blocked_object(obj: object) -> bool:
    """Whether a resolved global is blocked, judged by what it is.

    Modules are; Enum classes never are (their members are data wherever the
    class lives); anything else by its ``__module__`` and ``__qualname__``.
    """
    known = _STATIC_BLOCKED.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    blocked = _is_blocked_object(obj)
    if is_static_type(obj) and len(_STATIC_BLOCKED) < _MAX_VERDICTS:
        _STATIC_BLOCKED[id(obj)] = (obj, blocked)
    return blocked


def _is_blocked_object(obj: object) -> bool:
    if type(obj) is ModuleType:
        return True
    if _is_enum_class(obj):
        return False
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return is_blocked(module, qualname)
    return False


# Packages whose import alone opens windows, starts installers or prints:
# never imported to check a name.
_IMPORT_HAS_EFFECTS: Final = frozenset(
    [
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
        "antigravity",
        "this",
        "pip",
        "ensurepip",
        "setuptools",
        "distutils",
        "venv",
        "_pyrepl",
        "readline",
    ]
)


def _enum_in_system_module(module: str, name: str) -> bool:
    """For an exact allow= entry only: is this blocked name an Enum class?

    Imports `module` (a stdlib or library module the user named, never one a
    pickle names) and walks `name` through the namespaces' own dicts, so no
    module ``__getattr__`` or descriptor runs.
    """
    if (module, name) in BLOCKED_NAMES or _bad_name(module, name):
        return False
    if module.partition(".")[0] in _IMPORT_HAS_EFFECTS:
        return False
    try:
        __import__(module, level=0)
    except Exception:
        return False
    obj: Any = sys.modules.get(module)
    for part in name.split("."):
        space = getattr(obj, "__dict__", None)
        if not isinstance(space, (dict, MappingProxyType)):
            return False
        obj = space.get(part)
    return _is_enum_class(obj)


def _bad_name(module: str, name: str) -> bool:
    """A name no safe load resolves: empty, ``<locals>`` or dunder segments."""
    if not module or not name:
        return True
    for part in module.split("."):
        # Dunder module names such as __main__ are ordinary; only reject garbage.
        if not part or part.startswith("<"):
            return True
    for part in name.split("."):
        if not part or part.startswith("<"):
            return True
        if len(part) > 4 and part.startswith("__") and part.endswith("__"):
            return True
    return False


def _entry_names(entry: object) -> tuple[str, str]:
    """Map a class or function given to ``allow=`` to its (module, qualname)."""
    module = getattr(entry, "__module__", None)
    qualname = getattr(entry, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise TypeError(
            "allow= entries must be classes, functions or 'module.qualname' "
            f"strings, not {type(entry).__name__}"
        )
    return module, qualname


class Policy:
    """Which globals a safe load may resolve.

    Built from ``allow=``, an iterable whose entries may be:

    * a class or function: allows exactly its ``__module__`` / ``__qualname__``;
    * ``"module.qualname"``: allows that dotted path however it is split into
      module and qualname (``"a.b.C"`` matches module ``a.b`` name ``C`` and
      module ``a`` name ``b.C``);
    * ``"module:qualname"``: allows exactly that split;
    * ``"package.*"``: allows every name in ``package`` and its submodules
      (except blocked ones);
    * a profile from `brined.profiles` (a set of ``"module:qualname"`` names),
      given as ``allow=PANDAS``, ``allow=PANDAS | SKLEARN`` or inside a list;
    * a one-word group name: ``"pandas"``, ``"scipy-sparse"``, ``"sklearn"``
      (the profiles), or round 1's ``"uuid"``, ``"ipaddress"``, ``"pathlib"``,
      ``"range"``, ``"array"``, ``"numpy"`` (now in the default; kept working).

    `values` takes the same entries but allows them only as values (for example
    a function kept as a ``defaultdict`` factory): the pickle may not call them.

    A single string is taken as one entry.  The defaults in `DEFAULT_ALLOWED` are
    always included.  Blocked and malformed names stay refused whatever is
    allowed, except an Enum class in a system module allowed by its exact name
    (checked here, by importing it).  A `Policy` is immutable and can be shared
    between loads and threads.
    """

    __slots__ = (
        "_exact",
        "_dotted",
        "_prefixes",
        "_values",
        "_unblocked",
        "_verdicts",
        "_remembered",
    )

    def __init__(
        self,
        allow: Iterable[object] | str | None = None,
        *,
        values: Iterable[object] | str | None = None,
    ) -> None:
        exact: set[tuple[str, str]] = set(DEFAULT_ALLOWED)
        dotted: set[str] = set()
        prefixes: list[str] = []
        unblocked: set[tuple[str, str]] = set()
        for entry in _entries(allow):
            if isinstance(entry, str):
                self._add_string(entry, exact, dotted, prefixes)
            else:
                names = _entry_names(entry)
                exact.add(names)
                if _is_enum_class(entry) and is_blocked(*names):
                    unblocked.add(names)
        value_names: set[tuple[str, str]] = set(DEFAULT_VALUES)
        for entry in _entries(values):
            if isinstance(entry, str):
                if ":" in entry:
                    module, _, name = entry.partition(":")
                else:
                    module, _, name = entry.rpartition(".")
                if not module or not name:
                    raise ValueError(f"bad values= entry {entry!r}")
                value_names.add((module, name))
            else:
                value_names.add(_entry_names(entry))
        # Exact names the user gave that the blocklist would refuse: data if
        # they are Enum classes (imported here, where the user named them).
        for module, name in exact - DEFAULT_ALLOWED:
            if is_blocked(module, name) and _enum_in_system_module(module, name):
                unblocked.add((module, name))
        for text in dotted:
            for module, name in _splits(text):
                if is_blocked(module, name) and _enum_in_system_module(module, name):
                    unblocked.add((module, name))
        self._exact: frozenset[tuple[str, str]] = frozenset(exact)
        self._dotted: frozenset[str] = frozenset(dotted)
        self._prefixes: tuple[str, ...] = tuple(prefixes)
        self._values: frozenset[tuple[str, str]] = frozenset(value_names - exact)
        self._unblocked: frozenset[tuple[str, str]] = frozenset(unblocked)
        # check()'s answers: a policy is immutable and the blocklist is fixed,
        # so a verdict never changes (kept by `_remember`).
        self._verdicts: dict[str, dict[str, int]] = {}
        self._remembered = 0

    @classmethod
    def from_file(cls, path: str) -> Policy:
        """Read a policy file: one ``allow=`` entry per line.

        Blank lines and ``#`` comments are ignored; a line ``value: NAME``
        allows NAME only as a value.  This is the format the CLI reads.
        """
        allow: list[str] = []
        values: list[str] = []
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                if line.startswith("value:"):
                    values.append(line[6:].strip())
                else:
                    allow.append(line)
        return cls(allow, values=values)

    @staticmethod
    def _add_string(
        entry: str,
        exact: set[tuple[str, str]],
        dotted: set[str],
        prefixes: list[str],
    ) -> None:
        if entry.endswith(".*"):
            package = entry[:-2]
            if not package or "*" in package or ":" in package:
                raise ValueError(f"bad allow= pattern {entry!r}")
            prefixes.append(package)
            return
        if "*" in entry:
            # "*" alone would mean "trust everything": say so instead.
            raise ValueError(
                f"bad allow= entry {entry!r}: only 'package.*' patterns are "
                "supported; to load anything use trusted=True"
            )
        if ":" in entry:
            module, _, name = entry.partition(":")
            if not module or not name:
                raise ValueError(f"bad allow= entry {entry!r}")
            exact.add((module, name))
            return
        group = GROUPS.get(entry)
        if group is not None:
            exact.update(group)
            return
        if "." not in entry.strip("."):
            raise ValueError(
                f"bad allow= entry {entry!r}: expected 'module.qualname', "
                "'module:qualname', 'package.*' or a group name "
                f"({', '.join(sorted(GROUPS))})"
            )
        dotted.add(entry)

    def check(self, module: str, name: str) -> int:
        """Return `ALLOWED`, `NOT_ALLOWED`, `BLOCKED` or `BAD_NAME` for a global."""
        # By module, then name: no key tuple to make, hash and compare item by
        # item at each global of each load.
        names = self._verdicts.get(module)
        if names is not None:
            verdict = names.get(name)
            if verdict is not None:
                return verdict
        verdict = self._check(module, name)
        self._remembered = _remember(
            self._verdicts, self._remembered, module, name, verdict
        )
        return verdict

    def _check(self, module: str, name: str) -> int:
        if is_blocked(module, name) and (module, name) not in self._unblocked:
            return BLOCKED
        if _bad_name(module, name):
            return BAD_NAME
        if (module, name) in self._exact or (module, name) in self._values:
            return ALLOWED
        if self._dotted and f"{module}.{name}" in self._dotted:
            return ALLOWED
        for package in self._prefixes:
            if module == package or module.startswith(package + "."):
                return ALLOWED
        return NOT_ALLOWED

    def may_call(self, module: str, name: str) -> bool:
        """Whether an allowed global may be called, not only held as a value."""
        return (module, name) not in self._values

    def refusal(
        self,
        module: str,
        name: str,
        verdict: int,
        *,
        offset: int | None = None,
        opcode: str | None = None,
        written: str | None = None,
    ) -> UnsafeGlobalError:
        """Build the error for a refused global, saying why and the ways out.

        `written` is the name as it appeared in the pickle when fix_imports
        mapped it to something else.
        """
        return refusal_error(
            module, name, verdict, offset=offset, opcode=opcode, written=written
        )


def _splits(text: str) -> list[tuple[str, str]]:
    """Every (module, qualname) split of a dotted ``allow=`` entry."""
    parts = text.split(".")
    return [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(1, len(parts))]


_TRUST: Final = "If you trust this data: brined.loads(data, trusted=True)"


# What the reconstructors of by-value pickles (brined.cloud's, and
# cloudpickle's) rebuild, for a refusal that says so.
_BY_VALUE_KINDS: Final[dict[str, str]] = {
    "make_function": "a function defined by value",
    "_make_function": "a function defined by value",
    "make_code": "a code object (bytecode)",
    "make_skeleton_class": "a class defined by value",
    "_make_skeleton_class": "a class defined by value",
    "make_skeleton_enum": "an enum defined by value",
    "_make_skeleton_enum": "an enum defined by value",
    "make_dynamic_module": "a module defined by value",
    "dynamic_subimport": "a module defined by value",
}


def _by_value_kind(module: str, name: str) -> str | None:
    if not module.startswith(("brined.cloud", "cloudpickle")):
        return None
    return _BY_VALUE_KINDS.get(name, "an object defined by value")


def advice(module: str, name: str, verdict: int) -> str:
    """What a refusal of ``module.name`` tells the user to do.

    The one place refusal messages are worded: a rule for a family of names
    (a profiled library, a by-value function, ...) goes here, ahead of the
    general advice for its verdict.
    """
    full = _shown(f"{module}.{name}")
    kind = _by_value_kind(module, name)
    if kind is not None:
        return (
            f"it rebuilds {kind} (pickled by value by brined.cloud or cloudpickle), "
            "and loading it would run code from the pickle. If you trust this "
            "data: brined.cloud.loads(data) or brined.loads(data, trusted=True)"
        )
    if verdict == BLOCKED:
        return (
            "it is on the blocklist of names that can run code or reach the "
            f"system, which allow= cannot lift. {_TRUST}"
        )
    if verdict == BAD_NAME:
        return (
            "names with '<locals>', dunder or empty segments are never "
            f"resolved by a safe load, and allow= cannot lift this. {_TRUST}"
        )
    profiled = profile_of(module, name)
    if profiled is not None:
        profile, listed = profiled
        use = f"brined.loads(data, allow=brined.profiles.{profile})"
        if listed:
            return (
                f"not allowed by the load policy. {full} is in the profile "
                f"brined.profiles.{profile}: {use}. {_TRUST}"
            )
        return (
            f"not allowed by the load policy, and not in the profile "
            f"brined.profiles.{profile} for its library. To allow just this "
            f'name: brined.loads(data, allow=[*brined.profiles.{profile}, "{full}"])'
            f". {_TRUST}"
        )
    return (
        f"not allowed by the load policy. {_TRUST}; to allow just this name: "
        f'brined.loads(data, allow=["{full}"])'
    )


def refusal_error(
    module: str,
    name: str,
    verdict: int,
    *,
    offset: int | None = None,
    opcode: str | None = None,
    written: str | None = None,
) -> UnsafeGlobalError:
    """The `UnsafeGlobalError` for a refused ``module.name`` (see `Policy.refusal`)."""
    full = _shown(f"{module}.{name}")
    where = ""
    if offset is not None:
        where = f" at offset {offset}"
        if opcode is not None:
            where += f" ({opcode})"
    if written is not None and written != f"{module}.{name}":
        where += f" (written as {_shown(written)!r})"
    return UnsafeGlobalError(
        f"refused global {full!r}{where}: {advice(module, name, verdict)}",
        module=module,
        name=name,
        offset=offset,
        opcode=opcode,
    )


def _entries(allow: Iterable[object] | str | None) -> list[object]:
    """The entries of ``allow=``, with profiles (sets of names) flattened."""
    if allow is None:
        return []
    if isinstance(allow, str) or callable(allow):
        return [allow]
    out: list[object] = []
    for entry in allow:
        if isinstance(entry, Set) and not isinstance(entry, type):
            out.extend(entry)
        else:
            out.append(entry)
    return out


def _shown(text: str) -> str:
    # Names come from the input: never echo megabytes of it into a message.
    if len(text) > 200:
        return f"{text[:200]}...[{len(text)} chars]"
    return text


_DEFAULT: Final = Policy()


def default_policy() -> Policy:
    """The policy used when ``allow=`` is not given (shared, immutable)."""
    return _DEFAULT
