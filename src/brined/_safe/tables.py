"""The load policy's tables: what the default allows, what is never resolved.

Every name is an exact ``(module, qualname)`` pair, checked after ``fix_imports``
has mapped Python 2 names.  The rules these tables implement are stated in
docs/security.md ("The policy"); each default entry is reviewed there, in a table
that must list every name in `DEFAULT_ALLOWED`.

* `SYSTEM_MODULES`: modules (and everything under them) whose functions run
  code, reach the file system, the network, processes or the interpreter's
  state.  A name in one of them is blocked unless it is listed in
  `DATA_IN_SYSTEM_MODULES` (plain data types: every Enum there, structseqs,
  named tuples, pure paths, ...) or is an Enum class a user allowed by its exact
  name (checked by `Policy` when it is built).
* `BLOCKED_NAMES`: gadgets in modules that otherwise hold data (``builtins.eval``,
  ``copyreg.add_extension``, ``numpy.load``, ...).
* `DEFAULT_ALLOWED`: what the default policy lets a pickle use.  Each entry's
  construction runs no code and touches nothing outside the object.

Changing a table changes what untrusted loads accept: keep the docs table and
tests/test_policy_tables.py in step.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BLOCKED_NAMES",
    "DATA_IN_SYSTEM_MODULES",
    "DEFAULT_ALLOWED",
    "DEFAULT_VALUES",
    "GROUPS",
    "NUMPY_NAMES",
    "SYSTEM_MODULES",
]

# numpy's arrays, dtypes and scalars, at numpy 2's module paths and numpy 1's
# (numpy 2 keeps numpy.core.* as aliases that load 1.x pickles).
NUMPY_NAMES: Final[frozenset[tuple[str, str]]] = frozenset(
    [
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        # Protocol 5 arrays: numpy checks the shape against the buffer.
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    ]
)

_PATHS: Final = ("PurePath", "PurePosixPath", "PureWindowsPath")
_CONCRETE_PATHS: Final = ("Path", "PosixPath", "WindowsPath")
_IP_TYPES: Final = (
    "IPv4Address",
    "IPv6Address",
    "IPv4Network",
    "IPv6Network",
    "IPv4Interface",
    "IPv6Interface",
)
_URL_RESULTS: Final = (
    "ParseResult",
    "SplitResult",
    "DefragResult",
    "ParseResultBytes",
    "SplitResultBytes",
    "DefragResultBytes",
)

# What the default policy lets a pickle use: the stdlib's value types, as the
# C pickler writes them at protocols 0-5 (checked by tests/test_policy_tables.py
# with pickletools), and numpy's arrays, dtypes and scalars.
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
        ("builtins", "range"),
        ("builtins", "slice"),
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
        ("collections", "ChainMap"),
        ("collections", "UserDict"),
        ("collections", "UserList"),
        ("collections", "UserString"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("datetime", "tzinfo"),
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo", "ZoneInfo._unpickle"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        # What dumps(..., on_error="placeholder") writes in place of an object
        # it could not pickle: a plain record of three strings.
        ("brined", "Unpicklable"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("types", "SimpleNamespace"),
        ("time", "struct_time"),
        # Checked by the call-args guard: str or bytes and flags without DEBUG.
        ("re", "_compile"),
        # The partial object only; what it wraps went through the policy itself.
        ("functools", "partial"),
    ]
    + [("pathlib", name) for name in _PATHS + _CONCRETE_PATHS]
    + [("ipaddress", name) for name in _IP_TYPES]
    + [("urllib.parse", name) for name in _URL_RESULTS]
    # Resolved only when a pickle names them, so numpy is imported only then.
    + list(NUMPY_NAMES)
)

# Names a safe load may only hold as values, never call.  numpy's scalar types
# (a dtype= parameter kept in an object): np.void(2**40) allocates and
# np.str_(x) is repr(x).  np.ndarray is passed to _reconstruct, and
# np.ndarray(shape) allocates.  The DType classes return numpy's shared dtype
# objects, which a BUILD must never change.
DEFAULT_VALUES: Final[frozenset[tuple[str, str]]] = frozenset(
    [("builtins", "Ellipsis"), ("builtins", "NotImplemented")]
    + [("numpy", "ndarray")]
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
            "CLongDouble",
            "Bytes",
            "Str",
            "Void",
            "Object",
            "DateTime64",
            "TimeDelta64",
        )
    ]
    + [
        ("numpy", kind)
        for kind in (
            "bool",
            "bool_",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "longlong",
            "ulonglong",
            "float16",
            "float32",
            "float64",
            "longdouble",
            "complex64",
            "complex128",
            "clongdouble",
            "str_",
            "bytes_",
            "void",
            "object_",
            "datetime64",
            "timedelta64",
        )
    ]
)

# Round 1's opt-in groups, now all in the default: kept so ``allow=["uuid"]``
# and policy files that name them keep working.
GROUPS: Final[dict[str, frozenset[tuple[str, str]]]] = {
    "uuid": frozenset([("uuid", "UUID"), ("uuid", "SafeUUID")]),
    "ipaddress": frozenset(("ipaddress", name) for name in _IP_TYPES),
    "pathlib": frozenset(("pathlib", name) for name in _PATHS),
    "range": frozenset([("builtins", "range"), ("builtins", "slice")]),
    "array": frozenset([("array", "array"), ("array", "_array_reconstructor")]),
    "numpy": NUMPY_NAMES,
}

# Modules (and everything under them) whose names can run code, spawn
# processes, load native code, read or write files, reach the network or change
# the interpreter's state.  Matched on the module path, so "os" also covers
# "os.path".  Data types that live in them are in DATA_IN_SYSTEM_MODULES.
SYSTEM_MODULES: Final[frozenset[str]] = frozenset(
    [
        # Processes, files and the interpreter.
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
        "copy",
        "marshal",
        "ctypes",
        "_ctypes",
        "shutil",
        "pathlib",
        "glob",
        "fileinput",
        "linecache",
        "filecmp",
        "tokenize",
        "py_compile",
        "compileall",
        "modulefinder",
        "zipapp",
        "tempfile",
        "zipfile",
        "tarfile",
        "gzip",
        "bz2",
        "_bz2",
        "lzma",
        "_lzma",
        # zlib.decompress is a decompression bomb.
        "zlib",
        "shelve",
        "dbm",
        "sqlite3",
        "netrc",
        "mailbox",
        "wave",
        "aifc",
        "sunau",
        "mmap",
        "fcntl",
        "resource",
        "select",
        "selectors",
        "pty",
        "tty",
        "termios",
        "getpass",
        "pwd",
        "grp",
        "spwd",
        "syslog",
        "curses",
        "_winapi",
        "msvcrt",
        "winreg",
        # uuid.getnode may run ifconfig/ip; uuid.UUID itself is data.
        "uuid",
        # Running code, debugging, tracing, profiling.
        "code",
        "codeop",
        "pdb",
        "bdb",
        "timeit",
        "profile",
        "cProfile",
        "trace",
        "tracemalloc",
        "faulthandler",
        "dis",
        "ast",
        "imp",
        "types",
        "weakref",
        "gc",
        "atexit",
        "signal",
        "threading",
        "_thread",
        "asyncio",
        "concurrent",
        "multiprocessing",
        "sched",
        # time.sleep hangs the load, time.tzset changes the process.
        "time",
        # zoneinfo.reset_tzpath changes where every later ZoneInfo reads from.
        "zoneinfo",
        "_zoneinfo",
        # Process-wide settings.
        "locale",
        "warnings",
        "site",
        "sysconfig",
        "platform",
        "logging",
        # The network.
        "socket",
        "_socket",
        "ssl",
        "_ssl",
        "http",
        "urllib",
        "ftplib",
        "smtplib",
        "imaplib",
        "poplib",
        "nntplib",
        "telnetlib",
        "socketserver",
        "xmlrpc",
        "wsgiref",
        "webbrowser",
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
        "tkinter",
        "turtle",
        "cgi",
        "_pyrepl",
        "rlcompleter",
        "readline",
        "brined",
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
    ]
)

# Plain data types that live in SYSTEM_MODULES: constructing one runs no code
# and touches nothing outside the object.  Every Enum class defined in a stdlib
# system module is here (tests/test_policy_tables.py checks that for the running
# Python); an Enum not listed is data too, but only when allowed by exact name.
DATA_IN_SYSTEM_MODULES: Final[frozenset[tuple[str, str]]] = frozenset(
    [
        # brined's own placeholder for what on_error="placeholder" replaced:
        # a record of three strings (brined itself is a system module here).
        ("brined", "Unpicklable"),
        ("http", "HTTPStatus"),
        ("http", "HTTPMethod"),
        ("socket", "AddressFamily"),
        ("socket", "SocketKind"),
        ("socket", "MsgFlag"),
        ("socket", "AddressInfo"),
        ("signal", "Signals"),
        ("signal", "Handlers"),
        ("signal", "Sigmasks"),
        ("ssl", "TLSVersion"),
        ("ssl", "Options"),
        ("ssl", "VerifyMode"),
        ("ssl", "VerifyFlags"),
        ("ssl", "AlertDescription"),
        ("ssl", "SSLErrorNumber"),
        ("ssl", "Purpose"),
        # Purpose's member values: an OID record (a named tuple).
        ("ssl", "_ASN1Object"),
        ("ssl", "_SSLMethod"),
        ("ssl", "_TLSContentType"),
        ("ssl", "_TLSAlertType"),
        ("ssl", "_TLSMessageType"),
        ("inspect", "_ParameterKind"),
        ("inspect", "BufferFlags"),
        ("ast", "_Precedence"),
        ("py_compile", "PycInvalidationMode"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("os", "stat_result"),
        ("os", "statvfs_result"),
        ("os", "terminal_size"),
        ("posix", "times_result"),
        ("posix", "uname_result"),
        ("nt", "times_result"),
        ("nt", "uname_result"),
        ("os", "waitid_result"),
        ("os", "sched_param"),
        ("time", "struct_time"),
        ("resource", "struct_rusage"),
        ("pwd", "struct_passwd"),
        ("grp", "struct_group"),
        ("types", "SimpleNamespace"),
        ("functools", "partial"),
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo", "ZoneInfo._unpickle"),
        ("selectors", "SelectorKey"),
        ("dis", "Instruction"),
        ("dis", "Positions"),
        ("subprocess", "CompletedProcess"),
        ("subprocess", "SubprocessError"),
        ("subprocess", "CalledProcessError"),
        ("subprocess", "TimeoutExpired"),
        ("platform", "uname_result"),
    ]
    + [("pathlib", name) for name in _PATHS + _CONCRETE_PATHS]
    + [("urllib.parse", name) for name in _URL_RESULTS]
)

# Single names blocked inside modules that otherwise hold data.
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
        # What types.FunctionType / types.CodeType really are; listed so a
        # resolved object is caught even when reached under another name.
        ("builtins", "function"),
        ("builtins", "code"),
        ("codecs", "open"),
        ("codecs", "EncodedFile"),
        ("codecs", "decode"),
        ("codecs", "register"),
        ("codecs", "unregister"),
        ("codecs", "register_error"),
        ("_codecs", "decode"),
        ("_codecs", "register"),
        ("_codecs", "unregister"),
        ("_codecs", "register_error"),
        ("io", "open"),
        ("_io", "open"),
        ("io", "FileIO"),
        ("_io", "FileIO"),
        ("io", "open_code"),
        ("_io", "open_code"),
        # The pickler's own registries: a pickle must not change how later
        # pickles are written or read.
        ("copyreg", "pickle"),
        ("copyreg", "constructor"),
        ("copyreg", "add_extension"),
        ("copyreg", "remove_extension"),
        ("copyreg", "clear_extension_cache"),
        # Class factories that compile generated source.
        ("collections", "namedtuple"),
        ("dataclasses", "make_dataclass"),
        # Process-wide state.
        ("decimal", "setcontext"),
        ("random", "seed"),
        ("random", "setstate"),
        # Constructed from a file name, these read it.
        ("xml.etree.ElementTree", "parse"),
        ("xml.etree.ElementTree", "iterparse"),
        ("xml.etree.ElementTree", "ElementTree"),
        ("xml.dom.minidom", "parse"),
        ("xml.sax", "parse"),
        ("mimetypes", "init"),
        ("mimetypes", "read_mime_types"),
        ("numpy", "load"),
        ("numpy", "loads"),
        ("numpy", "fromfile"),
        ("numpy", "memmap"),
        ("numpy", "frompyfunc"),
        ("numpy", "vectorize"),
        ("numpy", "loadtxt"),
        ("numpy", "genfromtxt"),
        ("numpy", "save"),
        ("numpy", "savez"),
        ("numpy", "savetxt"),
        ("numpy", "tofile"),
        ("numpy", "ndarray.tofile"),
        ("numpy", "ndarray.dump"),
    ]
)
