"""The policy's tables: ordinary data passes the default, data types in system
modules load when allowed by name, and every known gadget stays refused.

The oracle throughout is the C pickler: each value is written by
``pickle.dumps`` at protocols 0-5 and must come back equal from ``brined.loads``.
"""

from __future__ import annotations

import array
import ast
import collections
import datetime
import decimal
import enum
import fractions
import functools
import http
import importlib
import inspect
import ipaddress
import os
import pathlib
import pickle
import pickletools
import re
import signal
import socket
import ssl
import subprocess
import time
import types
import urllib.parse
import uuid
import warnings
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

import brined
from brined import UnsafeGlobalError, UnsafeOperationError
from brined._safe.policy import (
    ALLOWED,
    BLOCKED,
    Policy,
    is_blocked,
    is_blocked_object,
)
from brined._safe.tables import (
    DATA_IN_SYSTEM_MODULES,
    DEFAULT_ALLOWED,
    DEFAULT_VALUES,
    SYSTEM_MODULES,
)

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, functools.partial):
        return (
            type(a) is type(b)
            and a.func is b.func
            and a.args == b.args
            and a.keywords == b.keywords
        )
    if isinstance(a, (types.SimpleNamespace, collections.ChainMap)):
        return type(a) is type(b) and vars(a) == vars(b)
    return type(a) is type(b) and a == b


class Point:
    """A class nobody allowed."""


# -- defect 6: ordinary data passes the default -----------------------------------

ORDINARY: dict[str, Any] = {
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "uuid-safe": uuid.UUID(int=1, is_safe=uuid.SafeUUID.safe),
    "pure-posix-path": pathlib.PurePosixPath("/etc/hosts"),
    "posix-path": pathlib.PosixPath("/tmp/x"),
    "path": pathlib.Path("rel/ative"),
    "pure-windows-path": pathlib.PureWindowsPath("c:/Users/x"),
    "ipv4-address": ipaddress.ip_address("192.0.2.1"),
    "ipv6-address": ipaddress.ip_address("2001:db8::1"),
    "ipv4-network": ipaddress.ip_network("10.0.0.0/8"),
    "ipv6-network": ipaddress.ip_network("2001:db8::/32"),
    "ipv4-interface": ipaddress.ip_interface("192.168.1.2/24"),
    "ipv6-interface": ipaddress.ip_interface("::1/128"),
    "array-int": array.array("i", [1, -2, 3]),
    "array-double": array.array("d", [0.5, 1e300]),
    "array-unicode": array.array("u", "hé"),
    "range": range(3, 30, 4),
    "slice": slice(1, None, -2),
    "simple-namespace": types.SimpleNamespace(a=1, b=[2]),
    "chain-map": collections.ChainMap({"a": 1}, {"b": 2}),
    "struct-time": time.gmtime(1_700_000_000),
    "parse-result": urllib.parse.urlparse("https://u@example.org:8/p;q?x=1#f"),
    "split-result": urllib.parse.urlsplit("http://example.org/a?b"),
    "defrag-result": urllib.parse.urldefrag("http://example.org/a#frag"),
    "parse-result-bytes": urllib.parse.urlparse(b"http://example.org/"),
    "re-str": re.compile(r"(?P<word>\w+)\s*=", re.IGNORECASE | re.MULTILINE),
    "re-bytes": re.compile(rb"\x00+", re.DOTALL),
    "partial": functools.partial(int, "17", base=8),
    "partial-of-partial": functools.partial(functools.partial(int, "7"), base=8),
    "user-dict": collections.UserDict(a=1),
    "user-list": collections.UserList([1, 2]),
    "user-string": collections.UserString("text"),
    "datetime": datetime.datetime(2024, 2, 29, 12, 0, 1, 5),
    "datetime-utc": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    "timedelta": datetime.timedelta(days=-1, seconds=5),
    "decimal": decimal.Decimal("-1.50E+3"),
    "fraction": fractions.Fraction(-22, 7),
    "complex": complex(1.5, -2),
    "bytearray": bytearray(b"\x00\xff"),
    "frozenset": frozenset({1, "a", (2, 3)}),
    "ordered-dict": collections.OrderedDict(b=1, a=2),
    "counter": collections.Counter("mississippi"),
    "deque": collections.deque([1, 2], maxlen=5),
    "defaultdict": collections.defaultdict(list, {"k": [1]}),
    "unpicklable": brined.Unpicklable("root[0]", "socket", "cannot pickle"),
}
# ZoneInfo pickles as getattr(ZoneInfo, '_unpickle') at every protocol: the
# nested-name lookup REDUCE recognises (tests/test_nested_names.py).
ZONED = datetime.datetime(2024, 7, 1, 9, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("label", sorted(ORDINARY))
def test_default_loads_ordinary_value(label: str, proto: int) -> None:
    value = ORDINARY[label]
    assert _equal(value, brined.loads(pickle.dumps(value, proto)))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_default_loads_zoneinfo_datetime(proto: int) -> None:
    assert brined.loads(pickle.dumps(ZONED, proto)) == ZONED


def test_default_allows_the_names_zoneinfo_pickles_use() -> None:
    policy = Policy()
    assert policy.check("zoneinfo", "ZoneInfo") == ALLOWED
    assert policy.check("zoneinfo", "ZoneInfo._unpickle") == ALLOWED
    assert policy.check("zoneinfo", "reset_tzpath") == BLOCKED
    assert policy.check("zoneinfo", "ZoneInfo.clear_cache") == BLOCKED


def _names(data: bytes) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    strings: list[Any] = []
    memo: list[Any] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            module, name = str(arg).split(" ", 1)
            found.add((module, name))
        elif "UNICODE" in op.name:
            strings.append(arg)
        elif op.name == "MEMOIZE":
            memo.append(strings[-1] if strings else None)
        elif op.name == "STACK_GLOBAL":
            found.add((str(strings[-2]), str(strings[-1])))
    return found


def test_every_default_name_is_needed_by_some_value() -> None:
    """No dead entries: each default name (numpy's aside) is written by the C
    pickler for one of the values above, or is its documented companion."""
    from brined._load.names import py3_name

    written: set[tuple[str, str]] = set()
    for value in [*ORDINARY.values(), ZONED, object(), 1.5, b"x", "s", 7, True]:
        for proto in PROTOCOLS:
            written |= {py3_name(*n) for n in _names(pickle.dumps(value, proto))}
    unexplained = {
        (m, n)
        for m, n in DEFAULT_ALLOWED - written
        if not m.startswith("numpy")
        # Base classes and types named for their subclasses' sake.
        and (m, n)
        not in {
            ("datetime", "tzinfo"),
            # PosixPath is what Path() makes; SafeUUID is in UUID's state.
            ("pathlib", "Path"),
            ("uuid", "SafeUUID"),
            # Written through getattr(ZoneInfo, "_unpickle"), not as a name.
            ("zoneinfo", "ZoneInfo._unpickle"),
            ("pathlib", "PurePath"),
            ("pathlib", "WindowsPath"),
            ("builtins", "set"),
            ("builtins", "list"),
            ("builtins", "dict"),
            ("builtins", "str"),
            ("builtins", "float"),
            ("builtins", "int"),
            ("builtins", "bool"),
            ("urllib.parse", "SplitResultBytes"),
            ("urllib.parse", "DefragResultBytes"),
            ("datetime", "time"),
            ("datetime", "date"),
        }
    }
    assert not unexplained


def test_no_default_name_is_blocked() -> None:
    for module, name in DEFAULT_ALLOWED:
        assert not is_blocked(module, name), (module, name)


def test_security_doc_reviews_every_default_name() -> None:
    text = DOCS.read_text(encoding="utf-8")
    review = text.split("## What the default allows", 1)[1].split("\n## ", 1)[0]
    missing = [
        f"{m}.{n}"
        for m, n in DEFAULT_ALLOWED
        if not m.startswith("numpy") and f"`{m}.{n}`" not in review
    ]
    assert not missing


def test_re_compile_with_debug_flag_is_refused() -> None:
    data = pickle.dumps(re.compile("a", re.DEBUG))
    with pytest.raises(UnsafeOperationError, match="re.DEBUG") as info:
        brined.loads(data)
    assert info.value.rule == "call-args"


def test_partial_state_cannot_plant_dunders() -> None:
    # partial(int) with BUILD state (int, (), {}, {key: 1}).
    def state_with(key: bytes) -> bytes:
        return (
            b"\x80\x02cfunctools\npartial\ncbuiltins\nint\n\x85R"
            b"(cbuiltins\nint\n)}}X"
            + len(key).to_bytes(4, "little")
            + key
            + b"K\x01stb."
        )

    assert brined.loads(state_with(b"note")).note == 1
    with pytest.raises(UnsafeOperationError, match="dunder") as info:
        brined.loads(state_with(b"__class__"))
    assert info.value.rule == "build-state"


def test_partial_of_a_blocked_callable_is_refused_at_the_callable() -> None:
    data = pickle.dumps(functools.partial(os.system, "true"))
    with pytest.raises(UnsafeGlobalError) as info:
        brined.loads(data)
    assert (info.value.module, info.value.name) == ("posix", "system")


def test_numpy_object_array_items_still_go_through_the_policy() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    arr = np.array([decimal.Decimal("1.5"), fractions.Fraction(1, 3)], dtype=object)
    for proto in PROTOCOLS:
        assert list(brined.loads(pickle.dumps(arr, proto))) == list(arr)
    hostile = np.array([Point()], dtype=object)
    for proto in PROTOCOLS:
        with pytest.raises(UnsafeGlobalError, match="Point"):
            brined.loads(pickle.dumps(hostile, proto))


def test_numpy_arrays_dtypes_and_scalars_pass_the_default() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    values = [
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.asfortranarray(np.ones((2, 3))),
        np.array(["a", "bc"]),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.zeros((0, 3)),
        np.array(np.datetime64("2024-01-01", "D")),
        np.dtype("f8"),
        np.dtype([("x", "<i2"), ("y", "S3")]),
        np.float32(1.5),
        np.int64(-3),
        np.complex128(1 + 2j),
        np.datetime64("2024-01-01T00:00"),
        np.bool_(True),
        np.float64,
    ]
    for value in values:
        for proto in PROTOCOLS:
            got = brined.loads(pickle.dumps(value, proto))
            if isinstance(value, np.ndarray):
                assert got.dtype == value.dtype and np.array_equal(got, value)
                assert got.flags.f_contiguous == value.flags.f_contiguous
            else:
                assert got == value and type(got) is type(value)


def test_numpy_scalar_types_are_values_not_callables() -> None:
    pytest.importorskip("numpy", reason="numpy is a test extra")
    call = b"\x80\x04\x8c\x05numpy\x8c\x04void\x93J\x00\x00\x00@\x85R."
    with pytest.raises(UnsafeOperationError, match="only as a value"):
        brined.loads(call)


# -- defect 2: data in system modules, gadgets everywhere --------------------------

# (value, the exact name to allow): data types that live in modules whose
# functions reach the system.  Each is what the C pickler writes for it.
SYSTEM_DATA: list[tuple[Any, str]] = [
    (http.HTTPStatus.NOT_FOUND, "http.HTTPStatus"),
    (http.HTTPMethod.PATCH, "http.HTTPMethod"),
    (socket.AddressFamily.AF_INET6, "socket.AddressFamily"),
    (socket.SocketKind.SOCK_DGRAM, "socket.SocketKind"),
    (socket.MsgFlag.MSG_PEEK, "socket.MsgFlag"),
    (socket.AddressInfo.AI_PASSIVE, "socket.AddressInfo"),
    (signal.Signals.SIGTERM, "signal.Signals"),
    (signal.Handlers.SIG_IGN, "signal.Handlers"),
    (signal.Sigmasks.SIG_BLOCK, "signal.Sigmasks"),
    (ssl.TLSVersion.TLSv1_3, "ssl.TLSVersion"),
    (ssl.Options.OP_NO_COMPRESSION, "ssl.Options"),
    (ssl.VerifyMode.CERT_REQUIRED, "ssl.VerifyMode"),
    (ssl.VerifyFlags.VERIFY_X509_STRICT, "ssl.VerifyFlags"),
    (ssl.AlertDescription.ALERT_DESCRIPTION_BAD_CERTIFICATE, "ssl.AlertDescription"),
    (ssl.SSLErrorNumber.SSL_ERROR_EOF, "ssl.SSLErrorNumber"),
    (ssl._TLSMessageType.CLIENT_HELLO, "ssl._TLSMessageType"),  # type: ignore[attr-defined]
    (re.RegexFlag.IGNORECASE, "re.RegexFlag"),
    (inspect.Parameter.KEYWORD_ONLY, "inspect._ParameterKind"),
    (uuid.SafeUUID.unsafe, "uuid.SafeUUID"),
    (os.stat_result(range(10)), "os.stat_result"),
    (os.terminal_size((80, 24)), "os.terminal_size"),
    (os.times_result((1.0, 2.0, 0.0, 0.0, 5.0)), "posix.times_result"),
    (os.uname_result(("Linux", "h", "6", "#1", "x86_64")), "posix.uname_result"),
    (time.struct_time((2024, 1, 2, 3, 4, 5, 1, 2, 0)), "time.struct_time"),
    (types.SimpleNamespace(x=1), "types.SimpleNamespace"),
    (functools.partial(divmod, 7), "functools.partial"),
    (pathlib.PosixPath("/srv/data"), "pathlib.PosixPath"),
    (pathlib.PurePosixPath("a/b"), "pathlib.PurePosixPath"),
    (urllib.parse.urlsplit("ftp://h/x"), "urllib.parse.SplitResult"),
    (
        subprocess.CompletedProcess(["ls"], 0, b"out", b""),
        "subprocess.CompletedProcess",
    ),
    (subprocess.CalledProcessError(2, ["x"], b"o"), "subprocess.CalledProcessError"),
    (subprocess.TimeoutExpired(["x"], 1.5), "subprocess.TimeoutExpired"),
]
if hasattr(os, "statvfs_result"):
    SYSTEM_DATA.append((os.statvfs_result(range(11)), "os.statvfs_result"))


def _data_equal(a: Any, b: Any) -> bool:
    if isinstance(a, BaseException):
        return type(a) is type(b) and a.args == b.args and vars(a) == vars(b)
    if isinstance(a, subprocess.CompletedProcess):
        return type(a) is type(b) and vars(a) == vars(b)
    return _equal(a, b)


def test_system_data_table_has_at_least_30_types() -> None:
    assert len({name for _, name in SYSTEM_DATA}) >= 30


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(
    ("value", "name"), SYSTEM_DATA, ids=[n for _, n in SYSTEM_DATA]
)
def test_system_data_type_loads_when_allowed_by_name(
    value: Any, name: str, proto: int
) -> None:
    data = pickle.dumps(value, proto)
    extra = {
        "functools.partial": ["builtins.divmod"],
    }.get(name, [])
    assert _data_equal(value, brined.loads(data, allow=[name, *extra]))
    package = name.split(".")[0]
    assert _data_equal(value, brined.loads(data, allow=[f"{package}.*", *extra]))


# Every gadget brined knows of: what runs code, reads or writes files, reaches
# the network or changes the process when called.  Refused under its exact name
# and its package's ``*`` together.
GADGETS: list[tuple[str, str]] = [
    ("os", "system"),
    ("os", "popen"),
    ("os", "execv"),
    ("os", "remove"),
    ("os", "putenv"),
    ("os", "environ"),
    ("posix", "system"),
    ("nt", "system"),
    ("os.path", "join"),
    ("posixpath", "expanduser"),
    ("subprocess", "Popen"),
    ("subprocess", "run"),
    ("subprocess", "check_output"),
    ("subprocess", "getoutput"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "compile"),
    ("builtins", "open"),
    ("builtins", "getattr"),
    ("builtins", "setattr"),
    ("builtins", "__import__"),
    ("builtins", "globals"),
    ("builtins", "breakpoint"),
    ("builtins", "input"),
    ("builtins", "print"),
    ("builtins", "type"),
    ("builtins", "memoryview"),
    ("builtins", "object.__reduce__"),
    ("socket", "socket"),
    ("socket", "create_connection"),
    ("socket", "getaddrinfo"),
    ("ssl", "get_server_certificate"),
    ("ssl", "SSLContext"),
    ("http.client", "HTTPConnection"),
    ("http.server", "test"),
    ("urllib.request", "urlopen"),
    ("urllib.request", "urlretrieve"),
    ("signal", "signal"),
    ("signal", "alarm"),
    ("threading", "Timer"),
    ("threading", "Thread"),
    ("atexit", "register"),
    ("importlib", "import_module"),
    ("importlib.util", "spec_from_file_location"),
    ("pkgutil", "resolve_name"),
    ("runpy", "run_path"),
    ("runpy", "run_module"),
    ("code", "InteractiveInterpreter"),
    ("timeit", "timeit"),
    ("profile", "run"),
    ("cProfile", "run"),
    ("pdb", "run"),
    ("trace", "Trace"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("functools", "reduce"),
    ("pickle", "loads"),
    ("_pickle", "loads"),
    ("marshal", "loads"),
    ("ctypes", "CDLL"),
    ("shutil", "rmtree"),
    ("shutil", "copyfile"),
    ("tempfile", "mkstemp"),
    ("zipfile", "ZipFile"),
    ("tarfile", "open"),
    ("gzip", "open"),
    ("zlib", "decompress"),
    ("pathlib", "Path.write_text"),
    ("pathlib", "Path.read_text"),
    ("pathlib", "Path.home"),
    ("glob", "glob"),
    ("linecache", "getline"),
    ("fileinput", "input"),
    ("io", "open"),
    ("io", "FileIO"),
    ("_io", "open"),
    ("codecs", "open"),
    ("codecs", "register"),
    ("_codecs", "decode"),
    ("copyreg", "add_extension"),
    ("copyreg", "pickle"),
    ("collections", "namedtuple"),
    ("decimal", "setcontext"),
    ("random", "seed"),
    ("locale", "setlocale"),
    ("warnings", "simplefilter"),
    ("logging", "getLogger"),
    ("logging", "basicConfig"),
    ("uuid", "getnode"),
    ("uuid", "uuid1"),
    ("time", "sleep"),
    ("time", "tzset"),
    ("zoneinfo", "reset_tzpath"),
    ("types", "FunctionType"),
    ("types", "CodeType"),
    ("types", "new_class"),
    ("inspect", "getsource"),
    ("multiprocessing", "Process"),
    ("asyncio", "create_subprocess_shell"),
    ("webbrowser", "open"),
    ("pty", "spawn"),
    ("mmap", "mmap"),
    ("gc", "get_objects"),
    ("sys", "exit"),
    ("sys", "modules"),
    ("xml.etree.ElementTree", "parse"),
    ("ensurepip", "bootstrap"),
    ("pip", "main"),
    ("pydoc", "pipepager"),
    ("idlelib.pyshell", "main"),
    ("numpy", "load"),
    ("numpy", "fromfile"),
    ("numpy", "memmap"),
    ("numpy.testing._private.utils", "runstring"),
    ("numpy.f2py", "compile"),
    ("numpy.lib.npyio", "load"),
    ("brined", "loads"),
    ("torch", "load"),
    ("joblib", "load"),
    ("dill", "loads"),
    ("cloudpickle", "loads"),
]


def _hostile_corpus_names() -> set[tuple[str, str]]:
    from brined._load.names import py3_name

    corpus = Path(__file__).resolve().parent / "hostile" / "corpus"
    names: set[tuple[str, str]] = set()
    for path in corpus.glob("*.pickle"):
        try:
            names |= {py3_name(*n) for n in _names(path.read_bytes())}
        except Exception:
            continue  # malformed on purpose
    return names


@pytest.mark.parametrize(
    ("module", "name"), GADGETS, ids=[".".join(g) for g in GADGETS]
)
def test_gadget_refused_even_under_its_package_star(module: str, name: str) -> None:
    top = module.split(".")[0]
    policy = Policy([f"{module}:{name}", f"{top}.*", f"{module}.*"])
    assert policy.check(module, name) == BLOCKED


def test_hostile_corpus_names_stay_refused_under_package_star() -> None:
    """Every name a hostile pickle uses is default data or refused, and what
    the default blocks stays blocked when its package is allowed with ``*``."""
    names = _hostile_corpus_names()
    assert len(names) > 30
    default = Policy()
    for module, name in names:
        verdict = default.check(module, name)
        if (module, name) in DEFAULT_ALLOWED | DEFAULT_VALUES:
            continue
        assert verdict != ALLOWED, (module, name)
        if verdict == BLOCKED:
            top = module.split(".")[0]
            widened = Policy([f"{module}:{name}", f"{top}.*"])
            assert widened.check(module, name) == BLOCKED, (module, name)


def test_blocked_gadget_through_every_opcode_is_refused_with_blocklist_message() -> (
    None
):
    for module, name in [("subprocess", "Popen"), ("pathlib", "Path.write_text")]:
        sglobal = (
            b"\x80\x04\x8c"
            + bytes([len(module)])
            + module.encode()
            + b"\x8c"
            + bytes([len(name)])
            + name.encode()
            + b"\x93."
        )
        for data in (f"c{module}\n{name}\n.".encode(), sglobal):
            with pytest.raises(UnsafeGlobalError, match="blocklist"):
                brined.loads(data, allow=[f"{module}.*", f"{module}:{name}"])


def test_every_enum_in_a_system_module_is_in_the_data_table() -> None:
    missing = []
    for module in sorted(SYSTEM_MODULES):
        if module.startswith(("numpy", "torch", "joblib", "dill", "cloudpickle")):
            continue
        # GUI, REPL and installer modules do things when imported.
        if module in (
            "idlelib",
            "tkinter",
            "turtle",
            "pip",
            "setuptools",
            "readline",
            "_pyrepl",
            "rlcompleter",
            "ensurepip",
            "distutils",
        ):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated modules
                mod = importlib.import_module(module)
        except Exception:
            continue
        for attr, obj in vars(mod).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, enum.Enum)
                and obj.__module__ == module
                and (module, attr) not in DATA_IN_SYSTEM_MODULES
            ):
                missing.append(f"{module}.{attr}")
    assert not missing


def test_unlisted_enum_in_a_system_module_loads_by_exact_name_only() -> None:
    from asyncio import sslproto

    value = sslproto.SSLProtocolState.WRAPPED
    assert ("asyncio.sslproto", "SSLProtocolState") not in DATA_IN_SYSTEM_MODULES
    for proto in PROTOCOLS:
        data = pickle.dumps(value, proto)
        for allow in (
            ["asyncio.sslproto.SSLProtocolState"],
            ["asyncio.sslproto:SSLProtocolState"],
            [sslproto.SSLProtocolState],
        ):
            assert brined.loads(data, allow=allow) is value
        with pytest.raises(UnsafeGlobalError, match="blocklist"):
            brined.loads(data, allow=["asyncio.*"])


def test_exact_name_of_a_non_enum_in_a_system_module_stays_blocked() -> None:
    policy = Policy(["asyncio.sslproto.SSLProtocol", "socket.socket", "os:system"])
    assert policy.check("asyncio.sslproto", "SSLProtocol") == BLOCKED
    assert policy.check("socket", "socket") == BLOCKED
    assert policy.check("os", "system") == BLOCKED


def test_resolved_objects_are_judged_by_what_they_are() -> None:
    assert not is_blocked_object(http.HTTPStatus)
    assert not is_blocked_object(ast._Precedence)  # type: ignore[attr-defined]
    assert is_blocked_object(os.system)
    assert is_blocked_object(os)
    assert is_blocked_object(pathlib.Path.write_text)
    assert not is_blocked_object(pathlib.PosixPath)
    assert not is_blocked_object(collections.OrderedDict)


# -- scan's verdict is the default load's outcome --------------------------------


@pytest.mark.parametrize("label", sorted(ORDINARY))
def test_scan_calls_ordinary_values_clean(label: str) -> None:
    from brined.analyze.scan import scan

    for proto in PROTOCOLS:
        data = pickle.dumps(ORDINARY[label], proto)
        brined.loads(data)
        assert scan(data).verdict == "clean", (label, proto)


def test_scan_calls_numpy_values_clean() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    from brined.analyze.scan import scan

    values = [
        np.arange(6.0).reshape(2, 3),
        np.array(["a", None], dtype=object),
        np.dtype([("a", "f8"), ("b", "O")]),
        np.float32(2.5),
        np.int64,
    ]
    for value in values:
        for proto in PROTOCOLS:
            data = pickle.dumps(value, proto)
            brined.loads(data)
            assert scan(data).verdict == "clean", (value, proto)


def test_scan_agrees_with_loads_on_system_data_and_gadgets() -> None:
    from brined.analyze.scan import scan

    for value, name in SYSTEM_DATA[:8]:
        data = pickle.dumps(value, 4)
        assert scan(data, allow=[name]).verdict == "clean"
        assert scan(data).verdict == "unsafe"
        with pytest.raises(UnsafeGlobalError):
            brined.loads(data)
    for module, name in GADGETS[:20]:
        data = f"c{module}\n{name}\n.".encode()
        assert scan(data, allow=[f"{module}.*"]).verdict == "unsafe"


def test_numpy_1x_module_paths_load_too() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    arr = np.arange(5, dtype=np.int16)
    data = pickle.dumps(arr, 2)
    assert b"numpy._core.multiarray" in data
    old = data.replace(b"numpy._core.", b"numpy.core.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert np.array_equal(brined.loads(old), arr)


def test_import_brined_imports_no_library_or_profile() -> None:
    import subprocess
    import sys

    code = (
        "import sys, brined; "
        "print(sorted(m for m in ('numpy', 'pandas', 'brined.profiles', "
        "'zoneinfo', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert brined.profiles.PANDAS  # loaded on first use


class _Reduce:
    """Pickles as whatever reduce value it is given (to write hostile states)."""

    def __init__(self, value: tuple[Any, ...]) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return self.value


def _dtype_states() -> dict[str, tuple[Any, ...]]:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    obj, f8 = np.dtype("O"), np.dtype("f8")
    return {
        # Flags 0 hide the object field: arrays would read pointers from bytes.
        "hidden-object-field": ("V8", (3, "|", None, ("a",), {"a": (obj, 0)}, 8, 1, 0)),
        "field-past-the-item": (
            "V8",
            (3, "|", None, ("a",), {"a": (f8, 100)}, 8, 1, 16),
        ),
        "object-dtype-without-flags": ("O", (3, "|", None, None, None, 8, 8, 0)),
        "overlapping-object-fields": (
            "V16",
            (3, "|", None, ("a", "b"), {"a": (obj, 0), "b": (f8, 4)}, 16, 1, 63),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "hidden-object-field",
        "field-past-the-item",
        "object-dtype-without-flags",
        "overlapping-object-fields",
    ],
)
def test_inconsistent_numpy_dtype_state_is_refused(case: str) -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    text, state = _dtype_states()[case]
    for proto in PROTOCOLS:
        data = pickle.dumps(_Reduce((np.dtype, (text, False, True), state)), proto)
        with pytest.raises(UnsafeOperationError, match="dtype") as info:
            brined.loads(data)
        assert info.value.rule == "build-state"


def test_numpy_shared_dtypes_cannot_be_changed() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    state = (3, "<", None, None, None, 4, 4, 0)
    for reduce_value in [
        (np.dtype, ("f8",), state),
        (np.dtype, ("f8", False, False), state),
        (np.dtypes.Float64DType, (), state),
    ]:
        data = pickle.dumps(_Reduce(reduce_value), 4)
        with pytest.raises((UnsafeOperationError, UnsafeGlobalError)):
            brined.loads(data)
    assert np.dtype("f8").itemsize == 8


def test_object_array_state_must_match_its_shape() -> None:
    np = pytest.importorskip("numpy", reason="numpy is a test extra")
    from numpy._core.multiarray import _reconstruct

    state = (1, (10**6,), np.dtype("O"), False, ["a"])
    data = pickle.dumps(_Reduce((_reconstruct, (np.ndarray, (0,), b"b"), state)), 2)
    with pytest.raises(UnsafeOperationError, match="shape"):
        brined.loads(data)
