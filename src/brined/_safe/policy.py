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
   builtins at protocols 0-5, plus whatever ``allow=`` adds (names, patterns,
   or one-word groups such as ``"uuid"``; see `GROUPS`).

An allowed name may be *called* (the callee of REDUCE, NEWOBJ, NEWOBJ_EX, INST,
OBJ) or only *appear as a value* (``Policy(values=...)``, e.g. a function used as
a ``defaultdict`` factory that the pickle itself must never call).

Names are checked after ``fix_imports`` has mapped Python 2 names, so
``__builtin__.set`` is checked as ``builtins.set``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..errors import UnsafeGlobalError

__all__ = [
    "ALLOWED",
    "BAD_NAME",
    "BLOCKED",
    "DEFAULT_ALLOWED",
    "GROUPS",
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
        # Written for object() at protocols 0-1 (via copyreg._reconstructor) and as
        # the NEWOBJ class at 2+.
        ("builtins", "object"),
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

# Names a safe load may only hold as values, never call.
DEFAULT_VALUES: Final[frozenset[tuple[str, str]]] = frozenset(
    [("builtins", "Ellipsis"), ("builtins", "NotImplemented")]
)

# Opt-in groups: ``allow=["uuid", "ipaddress"]`` adds each group's exact names.
GROUPS: Final[dict[str, frozenset[tuple[str, str]]]] = {
    "uuid": frozenset([("uuid", "UUID"), ("uuid", "SafeUUID")]),
    "ipaddress": frozenset(
        ("ipaddress", name)
        for name in (
            "IPv4Address",
            "IPv6Address",
            "IPv4Network",
            "IPv6Network",
            "IPv4Interface",
            "IPv6Interface",
        )
    ),
    "pathlib": frozenset(
        ("pathlib", name) for name in ("PurePath", "PurePosixPath", "PureWindowsPath")
    ),
    "range": frozenset([("builtins", "range"), ("builtins", "slice")]),
    "array": frozenset([("array", "array"), ("array", "_array_reconstructor")]),
    "numpy": frozenset(
        [
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "scalar"),
            # Protocol 5 arrays: numpy checks the shape against the buffer.
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
        ]
        + [
            ("numpy.dtypes", f"{kind}DType")
            for kind in (
                "Bool",
                "Int8",
                "Int16",
                "Int32",
                "Int64",
                "UInt8",
                "UInt16",
                "UInt32",
                "UInt64",
                "Float16",
                "Float32",
                "Float64",
                "LongDouble",
                "Complex64",
                "Complex128",
                "Bytes",
                "Str",
                "Void",
                "DateTime64",
                "TimeDelta64",
            )
        ]
    ),
}

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
        # Installers, interpreters and tools that run code or reach the network.
        "pip",
        "ensurepip",
        "venv",
        "setuptools",
        "distutils",
        "idlelib",
        "lib2to3",
        "doctest",
        "unittest",
        "atexit",
        "threading",
        "_thread",
        "asyncio",
        "concurrent",
        "gc",
        "site",
        "sysconfig",
        "platform",
        "tempfile",
        "zipfile",
        "tarfile",
        "shelve",
        "dbm",
        "sqlite3",
        "http",
        "urllib",
        "ftplib",
        "smtplib",
        "telnetlib",
        "socketserver",
        "xmlrpc",
        "logging",
        "mmap",
        "fcntl",
        "resource",
        "select",
        "selectors",
        "_winapi",
        "msvcrt",
        "winreg",
        "tkinter",
        "turtle",
        "cgi",
        "imp",
        "ast",
        "dis",
        "copy",
        "weakref",
        "numpy.testing",
        "numpy.f2py",
        "numpy.distutils",
        "numpy.ctypeslib",
        "numpy.lib.npyio",
        "numpy.lib.format",
        "torch",
        "joblib",
        "dill",
        "cloudpickle",
        "_pyrepl",
        "rlcompleter",
        "readline",
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
        ("builtins", "help"),
        ("builtins", "print"),
        ("builtins", "memoryview"),
        ("builtins", "type"),
        ("builtins", "super"),
        ("builtins", "object.__reduce__"),
        ("builtins", "__build_class__"),
        ("builtins", "classmethod"),
        ("builtins", "staticmethod"),
        ("builtins", "property"),
        ("builtins", "map"),
        ("builtins", "filter"),
        ("builtins", "iter"),
        ("builtins", "next"),
        ("builtins", "reversed"),
        ("builtins", "zip"),
        ("builtins", "enumerate"),
        ("builtins", "dir"),
        ("builtins", "id"),
        ("builtins", "hasattr"),
        ("builtins", "license"),
        ("builtins", "copyright"),
        ("builtins", "credits"),
        ("codecs", "open"),
        ("codecs", "EncodedFile"),
        ("codecs", "decode"),
        ("_codecs", "decode"),
        ("numpy", "load"),
        ("numpy", "loads"),
        ("numpy", "fromfile"),
        ("numpy", "memmap"),
        ("numpy", "frompyfunc"),
        ("numpy", "vectorize"),
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
    * ``"package.*"``: allows every name in ``package`` and its submodules;
    * a group name from `GROUPS` (``"uuid"``, ``"ipaddress"``, ``"pathlib"``,
      ``"range"``, ``"array"``, ``"numpy"``): allows that group's names.

    `values` takes the same entries but allows them only as values (for example
    a function kept as a ``defaultdict`` factory): the pickle may not call them.

    A single string is taken as one entry.  The defaults in `DEFAULT_ALLOWED` are
    always included.  Blocked and malformed names stay refused whatever is
    allowed.  A `Policy` is immutable and can be shared between loads and
    threads.
    """

    __slots__ = ("_exact", "_dotted", "_prefixes", "_values")

    def __init__(
        self,
        allow: Iterable[object] | str | None = None,
        *,
        values: Iterable[object] | str | None = None,
    ) -> None:
        exact: set[tuple[str, str]] = set(DEFAULT_ALLOWED)
        dotted: set[str] = set()
        prefixes: list[str] = []
        for entry in _entries(allow):
            if isinstance(entry, str):
                self._add_string(entry, exact, dotted, prefixes)
            else:
                exact.add(_entry_names(entry))
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
        self._exact: frozenset[tuple[str, str]] = frozenset(exact)
        self._dotted: frozenset[str] = frozenset(dotted)
        self._prefixes: tuple[str, ...] = tuple(prefixes)
        self._values: frozenset[tuple[str, str]] = frozenset(value_names - exact)

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
        if is_blocked(module, name):
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
    trust = "If you trust this data: brined.loads(data, trusted=True)"
    kind = _by_value_kind(module, name)
    if kind is not None:
        reason = (
            f"it rebuilds {kind} (pickled by value by brined.cloud or cloudpickle), "
            "and loading it would run code from the pickle. If you trust this "
            "data: brined.cloud.loads(data) or brined.loads(data, trusted=True)"
        )
    elif verdict == BLOCKED:
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


def _entries(allow: Iterable[object] | str | None) -> Iterable[object]:
    if allow is None:
        return ()
    if isinstance(allow, str) or callable(allow):
        return (allow,)
    return allow


def _shown(text: str) -> str:
    # Names come from the input: never echo megabytes of it into a message.
    if len(text) > 200:
        return f"{text[:200]}...[{len(text)} chars]"
    return text


_DEFAULT: Final = Policy()


def default_policy() -> Policy:
    """The policy used when ``allow=`` is not given (shared, immutable)."""
    return _DEFAULT
