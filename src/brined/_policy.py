"""The load policy: which globals a safe (untrusted) load may import.

A pickle names the callables it needs as ``(module, qualname)`` pairs and the
unpickler imports them.  That import is where loading untrusted data turns into
running code, so the base `Unpickler.find_class` asks a `Policy` first, before
anything is imported.

Three layers, checked in this order:

1. Names that can never be resolved safely: a ``<locals>`` segment, a dunder
   segment in the qualname (``__globals__``, ``__subclasses__``, ...), or an empty
   segment.  Refused whatever ``allow=`` says.
2. The blocklist: modules and builtins that run code, spawn processes or touch the
   interpreter (``os``, ``subprocess``, ``builtins.eval``, ...).  ``allow=`` cannot
   lift these; only ``trusted=True`` (which skips the policy) can.
3. The allowlist: a small set of plain-data types the stdlib itself writes for
   builtins at protocols 0-5, plus whatever ``allow=`` adds.

Names are checked after ``fix_imports`` has mapped Python 2 names, so
``__builtin__.set`` is checked as ``builtins.set``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .errors import UnsafeGlobalError

__all__ = [
    "ALLOWED",
    "BAD_NAME",
    "BLOCKED",
    "DEFAULT_ALLOWED",
    "NOT_ALLOWED",
    "Policy",
    "default_policy",
    "is_blocked",
]

# Verdicts returned by `Policy.check`.
ALLOWED: Final = 0
NOT_ALLOWED: Final = 1
BLOCKED: Final = 2
BAD_NAME: Final = 3

# What the stdlib pickler writes for builtin data at protocols 0-5 (checked with
# pickletools against pickle.dumps of each type): exact (module, qualname) pairs.
DEFAULT_ALLOWED: Final[frozenset[tuple[str, str]]] = frozenset(
    [
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "bytes"),
        ("builtins", "complex"),
        ("builtins", "str"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "dict"),
        ("builtins", "slice"),
        ("builtins", "range"),
        # Written for object() at protocols 0-1 (via copyreg._reconstructor) and as
        # the NEWOBJ class at 2+.
        ("builtins", "object"),
        ("builtins", "Ellipsis"),
        ("builtins", "NotImplemented"),
        # Protocol 0-1 instances of classes without __reduce__; the unpickler also
        # checks at REDUCE time that the base it is given is a builtin type.
        ("copyreg", "_reconstructor"),
        # bytes/bytearray and datetime states at protocols < 3.
        ("_codecs", "encode"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "Counter"),
        ("collections", "deque"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("datetime", "tzinfo"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
    ]
)

# Modules (and everything under them) that can run code, spawn processes, load
# native code or reach into the interpreter.  Matched on the module path, so "os"
# also covers "os.path".
BLOCKED_MODULES: Final[frozenset[str]] = frozenset(
    [
        "os",
        "posix",
        "nt",
        # os.path's real names, so a re-export can't reach it either.
        "posixpath",
        "ntpath",
        "genericpath",
        "sys",
        "subprocess",
        "_posixsubprocess",
        "importlib",
        "_imp",
        "zipimport",
        "pkgutil",
        "runpy",
        "pydoc",
        "inspect",
        "operator",
        "_operator",
        "functools",
        "_functools",
        "pickle",
        "_pickle",
        "pickletools",
        "marshal",
        "ctypes",
        "_ctypes",
        "shutil",
        "socket",
        "_socket",
        "code",
        "codeop",
        "pdb",
        "bdb",
        "timeit",
        "profile",
        "cProfile",
        "trace",
        "multiprocessing",
        "pty",
        "signal",
        "webbrowser",
        "brined",
    ]
)

# Single names blocked inside otherwise harmless modules.
BLOCKED_NAMES: Final[frozenset[tuple[str, str]]] = frozenset(
    [
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "compile"),
        ("builtins", "open"),
        ("builtins", "getattr"),
        ("builtins", "setattr"),
        ("builtins", "delattr"),
        ("builtins", "__import__"),
        ("builtins", "globals"),
        ("builtins", "locals"),
        ("builtins", "vars"),
        ("builtins", "breakpoint"),
        ("builtins", "input"),
        ("builtins", "exit"),
        ("builtins", "quit"),
        # What types.FunctionType / types.CodeType really are; listed so a
        # resolved object is caught even when reached under another name.
        ("builtins", "function"),
        ("builtins", "code"),
        ("types", "CodeType"),
        ("types", "FunctionType"),
        ("types", "LambdaType"),
        ("io", "open"),
        ("_io", "open"),
        ("io", "FileIO"),
        ("_io", "FileIO"),
        ("io", "open_code"),
        ("_io", "open_code"),
    ]
)


def _module_blocked(module: str) -> bool:
    if module in BLOCKED_MODULES:
        return True
    # Walk the parents: "os.path" is blocked because "os" is.
    dot = module.rfind(".")
    while dot > 0:
        module = module[:dot]
        if module in BLOCKED_MODULES:
            return True
        dot = module.rfind(".")
    return False


def is_blocked(module: str, name: str) -> bool:
    """Return True if ``module.name`` is on the hard blocklist."""
    if (module, name) in BLOCKED_NAMES:
        return True
    return _module_blocked(module)


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
    * ``"package.*"``: allows every name in ``package`` and its submodules.

    A single string is taken as one entry.  The defaults in `DEFAULT_ALLOWED` are
    always included.  Blocked and malformed names stay refused whatever is
    allowed.
    """

    __slots__ = ("_exact", "_dotted", "_prefixes")

    def __init__(self, allow: Iterable[object] | str | None = None) -> None:
        exact: set[tuple[str, str]] = set(DEFAULT_ALLOWED)
        dotted: set[str] = set()
        prefixes: list[str] = []
        entries: Iterable[object]
        if allow is None:
            entries = ()
        elif isinstance(allow, str) or callable(allow):
            entries = (allow,)
        else:
            entries = allow
        for entry in entries:
            if isinstance(entry, str):
                self._add_string(entry, exact, dotted, prefixes)
            else:
                exact.add(_entry_names(entry))
        self._exact: frozenset[tuple[str, str]] = frozenset(exact)
        self._dotted: frozenset[str] = frozenset(dotted)
        self._prefixes: tuple[str, ...] = tuple(prefixes)

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
        if "." not in entry.strip("."):
            raise ValueError(
                f"bad allow= entry {entry!r}: expected 'module.qualname', "
                "'module:qualname' or 'package.*'"
            )
        dotted.add(entry)

    def check(self, module: str, name: str) -> int:
        """Return `ALLOWED`, `NOT_ALLOWED`, `BLOCKED` or `BAD_NAME` for a global."""
        if is_blocked(module, name):
            return BLOCKED
        if _bad_name(module, name):
            return BAD_NAME
        if (module, name) in self._exact:
            return ALLOWED
        if self._dotted and f"{module}.{name}" in self._dotted:
            return ALLOWED
        for package in self._prefixes:
            if module == package or module.startswith(package + "."):
                return ALLOWED
        return NOT_ALLOWED

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
    full = f"{module}.{name}"
    where = ""
    if offset is not None:
        where = f" at offset {offset}"
        if opcode is not None:
            where += f" ({opcode})"
    if written is not None and written != full:
        where += f" (written as {written!r})"
    trust = "If you trust this data: brined.loads(data, trusted=True)"
    if verdict == BLOCKED:
        reason = (
            "it is on the blocklist of names that can run code or reach the "
            f"system, which allow= cannot lift. {trust}"
        )
    elif verdict == BAD_NAME:
        reason = (
            "names with '<locals>', dunder or empty segments are never "
            f"resolved by a safe load, and allow= cannot lift this. {trust}"
        )
    else:
        reason = (
            f"not allowed by the load policy. {trust}; to allow just this name: "
            f'brined.loads(data, allow=["{full}"])'
        )
    return UnsafeGlobalError(
        f"refused global {full!r}{where}: {reason}",
        module=module,
        name=name,
        offset=offset,
        opcode=opcode,
    )


_DEFAULT: Final = Policy()


def default_policy() -> Policy:
    """The policy used when ``allow=`` is not given (shared, immutable)."""
    return _DEFAULT
