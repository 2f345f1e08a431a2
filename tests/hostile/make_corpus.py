"""Build the hostile-pickle corpus: ``python tests/hostile/make_corpus.py``.

Writes ``tests/hostile/corpus/<family>--<name>.pickle`` and ``manifest.json``
(or both under the directory given as the first argument),
which maps each file to the brined error class a default (untrusted) load must
raise, or to ``"value"`` for the few controls that must load.  Payloads that
would run code try to create the file named by the ``BRINED_CANARY``
environment variable, so the test can tell whether anything fired.

Every pickle here is written by hand, opcode by opcode, so each one is exactly
the attack it is named after; nothing is copied from other projects' corpora.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

TOUCH = 'touch "$BRINED_CANARY"'
PY_TOUCH = "open(__import__('os').environ['BRINED_CANARY'], 'w').close()"
# The module-level extension code the child registers for os.system (see
# child.py): an untrusted load must refuse it even with the cache warm.
EXT_CODE = 0xF0
P = (1 << 61) - 1  # sys.hash_info.modulus on 64-bit builds

GLOBALS = "UnsafeGlobalError"
OPERATION = "UnsafeOperationError"
LIMIT = "LimitExceededError"
MALFORMED = "MalformedPickleError"
TRUNCATED = "TruncatedPickleError"
VALUE = "value"


# -- opcode helpers -----------------------------------------------------------------


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def uni(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    if len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sglob(module: str, name: str) -> bytes:
    return uni(module) + uni(name) + b"\x93"


def call1(func: bytes, arg: bytes) -> bytes:
    return func + arg + b"\x85R"


def binint(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def long1(n: int) -> bytes:
    data = n.to_bytes((n.bit_length() + 8) // 8 or 1, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def put(i: int) -> bytes:
    return b"r" + struct.pack("<I", i)


def get(i: int) -> bytes:
    return b"j" + struct.pack("<I", i)


CASES: dict[str, tuple[bytes, str, str]] = {}


def case(name: str, data: bytes, expect: str, why: str) -> None:
    assert name not in CASES, name
    CASES[name] = (data, expect, why)


# -- code execution through every opcode that names or calls a global ----------------


def code_execution() -> None:
    f = "exec"
    case(
        f"{f}--global-os-system",
        glob("os", "system") + b"(V" + TOUCH.encode() + b"\ntR.",
        GLOBALS,
        "GLOBAL os.system, REDUCE",
    )
    case(
        f"{f}--stack-global-os-system",
        proto(4) + sglob("os", "system") + uni(TOUCH) + b"\x85R.",
        GLOBALS,
        "STACK_GLOBAL os.system",
    )
    case(
        f"{f}--inst-os-system",
        b"(V" + TOUCH.encode() + b"\nios\nsystem\n.",
        GLOBALS,
        "INST os.system",
    )
    case(
        f"{f}--obj-os-system",
        b"(" + glob("os", "system") + b"V" + TOUCH.encode() + b"\no.",
        GLOBALS,
        "OBJ os.system",
    )
    case(
        f"{f}--newobj-popen",
        proto(2) + glob("subprocess", "Popen") + uni(TOUCH) + b"\x85\x81.",
        GLOBALS,
        "NEWOBJ subprocess.Popen",
    )
    case(
        f"{f}--newobj-ex-popen",
        proto(4)
        + sglob("subprocess", "Popen")
        + uni(TOUCH)
        + b"\x85}"
        + uni("shell")
        + b"\x88s\x92.",
        GLOBALS,
        "NEWOBJ_EX subprocess.Popen(shell=True)",
    )
    for name in ("exec", "eval"):
        case(
            f"{f}--reduce-builtins-{name}",
            proto(2) + call1(glob("builtins", name), uni(PY_TOUCH)) + b".",
            GLOBALS,
            f"REDUCE builtins.{name}",
        )
    case(
        f"{f}--reduce-compile",
        proto(2)
        + glob("builtins", "compile")
        + uni(PY_TOUCH)
        + uni("x")
        + uni("exec")
        + b"\x87R.",
        GLOBALS,
        "builtins.compile then a code object",
    )
    case(
        f"{f}--ext-os-system-cached",
        proto(2) + b"\x82" + bytes([EXT_CODE]) + uni(TOUCH) + b"\x85R.",
        GLOBALS,
        "EXT1 of a registered os.system whose extension cache is warm",
    )
    case(
        f"{f}--ext-unregistered",
        proto(2) + b"\x82\x07.",
        MALFORMED,
        "EXT1 of an unregistered code",
    )
    case(
        f"{f}--persid",
        b"P" + TOUCH.encode() + b"\n.",
        OPERATION,
        "PERSID without a persistent_load",
    )
    case(
        f"{f}--binpersid",
        proto(2) + uni(TOUCH) + b"Q.",
        OPERATION,
        "BINPERSID without a persistent_load",
    )
    case(
        f"{f}--code-type",
        proto(4) + sglob("types", "CodeType") + b").",
        GLOBALS,
        "types.CodeType",
    )
    case(
        f"{f}--function-type",
        proto(4) + sglob("types", "FunctionType") + b").",
        GLOBALS,
        "types.FunctionType",
    )
    case(
        f"{f}--marshal-loads",
        proto(2) + call1(glob("marshal", "loads"), b"C\x01\x00") + b".",
        GLOBALS,
        "marshal.loads of code",
    )
    case(
        f"{f}--ctypes",
        proto(4) + sglob("ctypes", "CDLL") + uni("libc.so.6") + b"\x85R.",
        GLOBALS,
        "ctypes.CDLL",
    )


# -- name tricks ------------------------------------------------------------------


def name_tricks() -> None:
    f = "names"
    case(
        f"{f}--stack-global-from-memo",
        proto(4)
        + uni("os")
        + b"\x94"
        + uni("system")
        + b"\x94h\x00h\x01\x93"
        + uni(TOUCH)
        + b"\x85R.",
        GLOBALS,
        "STACK_GLOBAL whose names come from the memo",
    )
    case(
        f"{f}--stack-global-built-by-dup",
        proto(4) + uni("os") + uni("system") + b"\x93" + uni(TOUCH) + b"\x85R.",
        GLOBALS,
        "STACK_GLOBAL names pushed as ordinary strings",
    )
    case(
        f"{f}--fix-imports-builtin-eval",
        proto(2) + call1(glob("__builtin__", "eval"), uni(PY_TOUCH)) + b".",
        GLOBALS,
        "__builtin__.eval mapped by fix_imports",
    )
    case(
        f"{f}--fix-imports-commands",
        proto(2) + call1(glob("commands", "getoutput"), uni(TOUCH)) + b".",
        GLOBALS,
        "Python 2 commands module mapped to subprocess",
    )
    for mod in ("posix", "nt"):
        case(
            f"{f}--{mod}-system",
            proto(2) + call1(glob(mod, "system"), uni(TOUCH)) + b".",
            GLOBALS,
            f"{mod}.system",
        )
    case(
        f"{f}--posixpath-os",
        proto(4) + sglob("posixpath", "os.system") + uni(TOUCH) + b"\x85R.",
        GLOBALS,
        "posixpath re-exports os",
    )
    case(
        f"{f}--nested-qualname-into-module",
        proto(4) + sglob("collections", "_sys.modules") + b".",
        GLOBALS,
        "walk from an allowed module into another",
    )
    case(
        f"{f}--dunder-subclasses",
        proto(4) + sglob("builtins", "object.__subclasses__") + b")R.",
        GLOBALS,
        "object.__subclasses__ (dunder segment)",
    )
    case(
        f"{f}--dunder-globals",
        proto(4) + sglob("collections", "OrderedDict.__init__.__globals__") + b".",
        GLOBALS,
        "a function's __globals__",
    )
    case(
        f"{f}--locals-segment",
        proto(4) + sglob("collections", "namedtuple.<locals>.x") + b".",
        GLOBALS,
        "a <locals> segment",
    )
    case(
        f"{f}--getattr-chain",
        proto(4)
        + sglob("builtins", "getattr")
        + sglob("collections", "OrderedDict")
        + uni("__init__")
        + b"\x86R.",
        GLOBALS,
        "builtins.getattr to reach attributes",
    )
    case(
        f"{f}--getattr-on-a-made-list",
        proto(2) + glob("builtins", "getattr") + b"]" + uni("append") + b"\x86R.",
        OPERATION,
        "getattr on an object the pickle made, not a global",
    )
    case(
        f"{f}--getattr-dunder-p2",
        proto(2)
        + glob("__builtin__", "getattr")
        + glob("collections", "OrderedDict")
        + uni("__init__")
        + b"\x86R.",
        GLOBALS,
        "getattr to a dunder, as protocol 2 writes nested names",
    )
    case(
        f"{f}--getattr-walk-to-system",
        proto(2)
        + glob("builtins", "getattr")
        + glob("builtins", "getattr")
        + glob("pathlib", "os")
        + uni("system")
        + b"\x86R"
        + uni(TOUCH)
        + b"\x85R.",
        GLOBALS,
        "getattr(pathlib.os, 'system') called: a chain to os.system",
    )
    case(
        f"{f}--getattr-memo-reuse",
        proto(2)
        + glob("builtins", "getattr")
        + b"q\x00"
        + glob("collections", "OrderedDict")
        + uni("fromkeys")
        + b"\x86R0h\x00"
        + glob("os", "system")
        + uni("__call__")
        + b"\x86R.",
        GLOBALS,
        "getattr kept in the memo and used again on os.system",
    )
    case(
        f"{f}--import",
        proto(2) + call1(glob("builtins", "__import__"), uni("os")) + b".",
        GLOBALS,
        "builtins.__import__",
    )
    case(
        f"{f}--globals",
        proto(2) + glob("builtins", "globals") + b")R.",
        GLOBALS,
        "builtins.globals",
    )
    case(
        f"{f}--importlib",
        proto(2) + call1(glob("importlib", "import_module"), uni("os")) + b".",
        GLOBALS,
        "importlib.import_module",
    )
    case(
        f"{f}--operator-attrgetter",
        proto(2) + call1(glob("operator", "attrgetter"), uni("system")) + b".",
        GLOBALS,
        "operator.attrgetter",
    )
    case(
        f"{f}--functools-partial",
        proto(2) + call1(glob("functools", "partial"), glob("os", "system")) + b".",
        GLOBALS,
        "partial(os.system): what a partial wraps is still checked",
    )
    case(
        f"{f}--not-allowed-module",
        proto(4) + sglob("http.server", "test") + b")R.",
        GLOBALS,
        "a module nobody allowed (never imported)",
    )
    case(
        f"{f}--non-ascii-module",
        proto(4) + sglob("ös", "system") + b".",
        GLOBALS,
        "a name the allowlist has never heard of",
    )
    case(
        f"{f}--reconstructor-heap-base",
        proto(1)
        + glob("copy_reg", "_reconstructor")
        + b"("
        + glob("fractions", "Fraction")
        + glob("fractions", "Fraction")
        + b"NtR.",
        OPERATION,
        "copyreg._reconstructor with a Python-level base",
    )
    case(
        f"{f}--codecs-encode-zlib",
        proto(2)
        + glob("_codecs", "encode")
        + uni("x" * 50)
        + uni("zlib_codec")
        + b"\x86R.",
        OPERATION,
        "_codecs.encode with a bytes-to-bytes codec",
    )
    case(
        f"{f}--codecs-decode",
        proto(2) + glob("_codecs", "decode") + b"C\x02xx" + uni("hex") + b"\x86R.",
        GLOBALS,
        "_codecs.decode",
    )
    case(
        f"{f}--ellipsis-called",
        proto(2) + glob("builtins", "Ellipsis") + b")R.",
        OPERATION,
        "a value-only global used as a callee",
    )


# -- what scanners have missed -------------------------------------------------------


def scanner_bypasses() -> None:
    f = "bypass"
    targets = [
        ("pip", "main", "(['install', 'x'],)"),
        ("pip._internal", "main", ""),
        ("runpy", "run_path", ""),
        ("runpy", "_run_code", ""),
        ("runpy", "run_module", ""),
        ("pkgutil", "resolve_name", ""),
        ("timeit", "timeit", ""),
        ("ensurepip", "bootstrap", ""),
        ("ensurepip", "_run_pip", ""),
        ("profile", "run", ""),
        ("cProfile", "run", ""),
        ("trace", "Trace", ""),
        ("pdb", "run", ""),
        ("bdb", "Bdb", ""),
        ("code", "InteractiveInterpreter", ""),
        ("codeop", "compile_command", ""),
        ("pydoc", "pipepager", ""),
        ("doctest", "debug_script", ""),
        ("idlelib.pyshell", "ModifiedInterpreter", ""),
        ("numpy.testing._private.utils", "runstring", ""),
        ("numpy", "load", ""),
        ("numpy.f2py", "compile", ""),
        ("torch.serialization", "load", ""),
        ("asyncio.unix_events", "_UnixSubprocessTransport", ""),
        ("_posixsubprocess", "fork_exec", ""),
        ("webbrowser", "open", ""),
        ("shutil", "rmtree", ""),
        ("tempfile", "mktemp", ""),
        ("zipfile", "ZipFile", ""),
        ("logging.config", "listen", ""),
        ("venv", "create", ""),
        ("distutils.spawn", "spawn", ""),
        ("setuptools.sandbox", "run_setup", ""),
        ("_pyrepl.pager", "pipe_pager", ""),
        ("builtins", "breakpoint", ""),
        ("builtins", "open", ""),
        ("io", "open", ""),
        ("codecs", "open", ""),
        ("gc", "get_objects", ""),
        ("inspect", "getsource", ""),
    ]
    for module, name, _ in targets:
        slug = f"{module}.{name}".replace(".", "-").replace("_", "")
        case(
            f"{f}--{slug}",
            proto(4) + sglob(module, name) + uni(TOUCH) + b"\x85R.",
            GLOBALS,
            f"{module}.{name}",
        )


# -- mutating globals and delayed payloads ---------------------------------------------


def mutation() -> None:
    f = "mutate"
    case(
        f"{f}--os-environ",
        proto(2) + glob("os", "environ") + uni("LD_PRELOAD") + uni("/x.so") + b"s.",
        GLOBALS,
        "SETITEM on os.environ",
    )
    case(
        f"{f}--sys-modules",
        proto(2) + glob("sys", "modules") + uni("json") + b"Ns.",
        GLOBALS,
        "SETITEM on sys.modules",
    )
    case(
        f"{f}--sys-path",
        proto(2) + glob("sys", "path") + uni("/tmp") + b"a.",
        GLOBALS,
        "APPEND on sys.path",
    )
    case(
        f"{f}--build-on-class",
        proto(2) + glob("collections", "OrderedDict") + b"}" + uni("x") + b"K\x01sb.",
        OPERATION,
        "BUILD on an allowed class",
    )
    case(
        f"{f}--build-setstate-on-class",
        proto(2)
        + glob("collections", "Counter")
        + b"N}"
        + uni("__setstate__")
        + glob("builtins", "list")
        + b"s\x86b.",
        OPERATION,
        "BUILD slot state on a class",
    )
    case(
        f"{f}--setitems-on-class",
        proto(2) + glob("collections", "Counter") + b"(" + uni("a") + b"K\x01u.",
        OPERATION,
        "SETITEMS on a class",
    )
    case(
        f"{f}--appends-on-class",
        proto(2) + glob("builtins", "list") + b"(K\x01e.",
        OPERATION,
        "APPENDS on a class",
    )
    case(
        f"{f}--additems-on-class",
        proto(4) + glob("builtins", "set") + b"(K\x01\x90.",
        OPERATION,
        "ADDITEMS on a class",
    )
    case(
        f"{f}--build-dunder-key",
        proto(2)
        + glob("collections", "OrderedDict")
        + b")R}"
        + uni("__class__")
        + glob("builtins", "list")
        + b"sb.",
        OPERATION,
        "BUILD with a dunder key on a created object",
    )
    case(
        f"{f}--build-nonstr-key",
        proto(2) + glob("collections", "OrderedDict") + b")R}K\x01K\x02sb.",
        OPERATION,
        "BUILD with an int key",
    )
    case(
        f"{f}--build-undeclared-slot",
        proto(2)
        + glob("collections", "OrderedDict")
        + b")RN}"
        + uni("x")
        + b"K\x01s\x86b.",
        OPERATION,
        "BUILD slot state for a name that is not a slot",
    )
    case(
        f"{f}--build-on-function-result",
        proto(2)
        + glob("_codecs", "encode")
        + uni("a")
        + uni("latin1")
        + b"\x86R}"
        + uni("x")
        + b"K\x01sb.",
        OPERATION,
        "BUILD on bytes (no __dict__)",
    )
    f = "delayed"
    for module, name in (
        ("atexit", "register"),
        ("threading", "Timer"),
        ("weakref", "finalize"),
        ("signal", "signal"),
        ("sys", "setprofile"),
        ("builtins", "property"),
    ):
        case(
            f"{f}--{module}-{name}",
            proto(4) + sglob(module, name) + sglob("os", "system") + b"\x85R.",
            GLOBALS,
            f"{module}.{name} to run a payload later",
        )
    case(
        f"{f}--defaultdict-factory-os-system",
        proto(2)
        + call1(glob("collections", "defaultdict"), glob("os", "system"))
        + b".",
        GLOBALS,
        "a defaultdict whose factory would run later",
    )


# -- nested pickles --------------------------------------------------------------


def nested() -> None:
    f = "nested"
    inner = b"cos\nsystem\n(V" + TOUCH.encode() + b"\ntR."
    for module, name in (
        ("pickle", "loads"),
        ("_pickle", "loads"),
        ("pickle", "_loads"),
        ("brined", "loads"),
        ("dill", "loads"),
        ("numpy", "loads"),
    ):
        case(
            f"{f}--{module}-{name}",
            proto(2)
            + call1(glob(module, name), b"C" + bytes([len(inner)]) + inner)
            + b".",
            GLOBALS,
            f"{module}.{name} of an inner pickle",
        )
    case(
        f"{f}--brined-trusted-kwargs",
        proto(4)
        + sglob("brined", "loads")
        + b"C"
        + bytes([len(inner)])
        + inner
        + b"\x85}"
        + uni("trusted")
        + b"\x88s\x92.",
        GLOBALS,
        "brined.loads(inner, trusted=True) through NEWOBJ_EX",
    )
    case(
        f"{f}--inner-pickle-as-data",
        proto(2) + b"C" + bytes([len(inner)]) + inner + b".",
        VALUE,
        "an inner pickle that is only bytes loads as bytes",
    )


# -- bombs --------------------------------------------------------------------------


def bombs() -> None:
    f = "bomb"
    case(f"{f}--binunicode-4g", b"X\xff\xff\xff\xffabc.", TRUNCATED, "BINUNICODE 4 GiB")
    case(
        f"{f}--binbytes8-huge",
        proto(4) + b"\x8e" + struct.pack("<Q", 1 << 62) + b".",
        TRUNCATED,
        "BINBYTES8 2**62",
    )
    case(
        f"{f}--binunicode8-over-maxsize",
        proto(4) + b"\x8d" + struct.pack("<Q", (1 << 64) - 1) + b".",
        MALFORMED,
        "BINUNICODE8 above sys.maxsize",
    )
    case(
        f"{f}--bytearray8-huge",
        proto(5) + b"\x96" + struct.pack("<Q", 1 << 40) + b".",
        TRUNCATED,
        "BYTEARRAY8 1 TiB",
    )
    case(
        f"{f}--long4-huge",
        proto(2) + b"\x8b\xff\xff\xff\x7f.",
        TRUNCATED,
        "LONG4 2 GiB",
    )
    case(
        f"{f}--binstring-negative",
        b"T\xff\xff\xff\xff.",
        MALFORMED,
        "BINSTRING negative length",
    )
    case(
        f"{f}--frame-huge",
        proto(4) + b"\x95" + struct.pack("<Q", 1 << 50) + b"N.",
        TRUNCATED,
        "FRAME 1 PiB",
    )
    case(
        f"{f}--frame-over-maxsize",
        proto(4) + b"\x95" + struct.pack("<Q", (1 << 64) - 1) + b"N.",
        MALFORMED,
        "FRAME above sys.maxsize",
    )
    case(
        f"{f}--deep-marks",
        b"(" * 20_001 + b"l" * 20_001 + b".",
        VALUE,
        "20,001 open MARKs: memory in proportion to the input, so it loads",
    )
    deep = b"N" + b"\x85" * 150_000
    case(
        f"{f}--deep-tuple-dict-key",
        proto(2) + b"}" + deep + b"Ns.",
        LIMIT,
        "a 150,000-deep tuple as a dict key (hashing it crashes CPython)",
    )
    case(
        f"{f}--deep-tuple-set-member",
        proto(4) + b"\x8f(" + deep + b"\x90.",
        LIMIT,
        "a 150,000-deep tuple as a set member",
    )
    case(
        f"{f}--deep-tuple-frozenset",
        proto(4) + b"(" + deep + b"\x91.",
        LIMIT,
        "a 150,000-deep tuple in a frozenset",
    )
    case(
        f"{f}--deep-tuple-value",
        proto(2) + deep + b".",
        VALUE,
        "a deep tuple that is never hashed loads",
    )
    exp = b")" + put(0)
    for i in range(100):
        exp += b"0" + get(i) + get(i) + b"\x86" + put(i + 1)
    case(
        f"{f}--exponential-tuple-key",
        proto(2) + b"}" + exp + b"Ns.",
        LIMIT,
        "t = (t, t) 100 times as a dict key: 2**100 hashing steps",
    )
    case(
        f"{f}--exponential-tuple-set",
        proto(2) + glob("builtins", "set") + b"]" + exp + b"a\x85R.",
        LIMIT,
        "the same tuple given to set()",
    )
    case(
        f"{f}--exponential-tuple-value",
        proto(2) + exp + b".",
        VALUE,
        "the same structure as a plain value loads (sharing is kept)",
    )
    keys = b"".join(long1(i * P + 7) + b"N" for i in range(1, 3000))
    case(
        f"{f}--hash-collision-setitems",
        proto(2) + b"}(" + keys + b"u.",
        LIMIT,
        "3,000 int keys with one hash (SETITEMS)",
    )
    case(
        f"{f}--hash-collision-setitem",
        proto(2) + b"}" + keys.replace(b"N", b"Ns") + b".",
        LIMIT,
        "the same keys one SETITEM at a time",
    )
    members = b"".join(long1(i * P + 7) for i in range(1, 3000))
    case(
        f"{f}--hash-collision-additems",
        proto(4) + b"\x8f(" + members + b"\x90.",
        LIMIT,
        "colliding set members (ADDITEMS)",
    )
    case(
        f"{f}--hash-collision-frozenset",
        proto(4) + b"(" + members + b"\x91.",
        LIMIT,
        "colliding frozenset members",
    )
    case(
        f"{f}--hash-collision-dict-opcode",
        b"(" + keys + b"d.",
        LIMIT,
        "colliding keys through DICT",
    )
    case(
        f"{f}--hash-collision-set-call",
        proto(2) + glob("builtins", "set") + b"(" + members + b"l\x85R.",
        LIMIT,
        "colliding members given to set()",
    )
    fkeys = b"".join(
        b"G" + struct.pack(">d", 2.0 ** (61 * k) * 1.5) + b"N" for k in range(-16, 17)
    )
    case(
        f"{f}--float-collision-small",
        proto(2) + b"}(" + fkeys + b"u.",
        VALUE,
        "33 floats sharing a hash: under the limit, loads",
    )
    case(
        f"{f}--int-text-digits",
        b"I" + b"9" * 100_000 + b"\n.",
        LIMIT,
        "INT with 100,000 digits (CVE-2020-10735)",
    )
    case(
        f"{f}--long-text-digits",
        b"L" + b"9" * 100_000 + b"L\n.",
        LIMIT,
        "LONG with 100,000 digits",
    )
    case(
        f"{f}--put-text-digits",
        b"Np" + b"9" * 10_000 + b"\n.",
        LIMIT,
        "PUT with a 10,000-digit index",
    )
    case(
        f"{f}--int-call-digits",
        proto(2) + call1(glob("builtins", "int"), uni("9" * 100_000)) + b".",
        OPERATION,
        "int() of 100,000 digits",
    )
    lexp = b"]" + put(0)
    for i in range(100):
        lexp += b"0](" + get(i) + get(i) + b"e" + put(i + 1)
    shared = b")" + put(0)
    for i in range(18):
        shared += b"0" + get(i) + get(i) + b"\x86" + put(i + 1)
    case(
        f"{f}--shared-key-reinserted",
        proto(2) + b"}" + shared + b"0" + (get(18) + b"Ns") * 10_000 + b".",
        LIMIT,
        "one tuple of 524,286 hashed elements used as a key 10,000 times",
    )
    case(
        f"{f}--str-of-shared-list",
        proto(2) + glob("builtins", "str") + lexp + b"\x85R.",
        OPERATION,
        "str() of a list with 2**100 shared paths: repr would never end",
    )
    case(
        f"{f}--fraction-exponent",
        proto(2) + call1(glob("fractions", "Fraction"), uni("1e999999999")) + b".",
        OPERATION,
        "Fraction('1e999999999') computes 10**999999999",
    )
    case(
        f"{f}--defaultdict-deep-key",
        proto(2)
        + glob("collections", "defaultdict")
        + glob("builtins", "list")
        + b"]"
        + deep
        + b"K\x01\x86a\x86R.",
        LIMIT,
        "defaultdict(list, [(deep tuple, 1)])",
    )
    case(
        f"{f}--counter-collisions",
        proto(2) + glob("collections", "Counter") + b"(" + members + b"l\x85R.",
        LIMIT,
        "Counter() of colliding ints",
    )
    case(
        f"{f}--reconstructor-dict-deep-key",
        proto(1)
        + glob("copy_reg", "_reconstructor")
        + b"("
        + glob("collections", "OrderedDict")
        + glob("__builtin__", "dict")
        + b"]"
        + deep
        + b"K\x01\x86atR.",
        LIMIT,
        "copyreg._reconstructor(OrderedDict, dict, [(deep tuple, 1)])",
    )
    case(
        f"{f}--shared-argument-many-calls",
        proto(2)
        + glob("decimal", "Decimal")
        + b"q\x000"
        + uni("9" * 100_000)
        + b"q\x010"
        + b"h\x00h\x01\x85R0" * 20_000
        + b"N.",
        LIMIT,
        "Decimal() of one memoized 100,000-digit string 20,000 times",
    )
    state = b"}(" + b"".join(uni(f"k{i}") + b"N" for i in range(20_000)) + b"u"
    case(
        f"{f}--shared-state-many-builds",
        proto(2)
        + glob("collections", "OrderedDict")
        + b"q\x000"
        + state
        + b"q\x010"
        + b"h\x00)Rh\x01b0" * 20_000
        + b"N.",
        LIMIT,
        "one memoized 20,000-key state given to 20,000 BUILDs",
    )
    case(
        f"{f}--bytearray-size",
        proto(2) + call1(glob("builtins", "bytearray"), long1(1 << 40)) + b".",
        OPERATION,
        "bytearray(2**40)",
    )
    case(
        f"{f}--bytes-size",
        proto(2) + call1(glob("builtins", "bytes"), long1(1 << 40)) + b".",
        OPERATION,
        "bytes(2**40)",
    )
    case(
        f"{f}--list-of-range",
        proto(2)
        + call1(
            glob("builtins", "list"),
            call1(glob("builtins", "range"), long1(1 << 40)),
        )
        + b".",
        OPERATION,
        "list(range(2**40)): range is data, but lazy sequences are not materialised",
    )
    case(
        f"{f}--tuple-new-of-bytes-size",
        proto(2) + glob("builtins", "bytes") + long1(1 << 40) + b"\x85\x81.",
        OPERATION,
        "NEWOBJ bytes.__new__(bytes, 2**40)",
    )
    case(
        f"{f}--memo-long-binput-max",
        proto(2) + b"N" + put(0xFFFFFFFF) + get(0xFFFFFFFF) + b".",
        VALUE,
        "the largest binary memo index is sparse, not an allocation",
    )
    case(
        f"{f}--memo-get-miss",
        proto(2) + get(0xFFFFFFF0) + b".",
        MALFORMED,
        "LONG_BINGET of an index never put",
    )
    case(
        f"{f}--dup-stack",
        b"N" + b"2" * 100_000 + b".",
        VALUE,
        "100,000 DUPs: references, not copies; the last one is the value",
    )
    case(
        f"{f}--readonly-buffer-without-buffers",
        proto(5) + b"C\x01a\x98.",
        OPERATION,
        "READONLY_BUFFER without buffers=",
    )
    case(
        f"{f}--next-buffer-without-buffers",
        proto(5) + b"\x97.",
        OPERATION,
        "NEXT_BUFFER without buffers=",
    )


# -- malformed streams -------------------------------------------------------------


def malformed() -> None:
    import pickle

    f = "malformed"
    valid = pickle.dumps({"a": [1, 2.5, "x" * 40, b"y", (None, True)]}, 4)
    for cut in (0, 1, 2, 5, 11, 12, 20, 30, 40, len(valid) - 1):
        case(
            f"{f}--truncated-at-{cut}",
            valid[:cut],
            TRUNCATED,
            f"a valid pickle cut at byte {cut}",
        )
    valid0 = pickle.dumps([1, "two", 3.0, (4,)], 0)
    for cut in (3, 7, len(valid0) - 1):
        case(
            f"{f}--truncated-text-at-{cut}",
            valid0[:cut],
            TRUNCATED,
            f"a protocol 0 pickle cut at byte {cut}",
        )
    for code in (0xFF, 0x00, 0x9F, 0xC8):
        case(
            f"{f}--bad-opcode-{code:02x}",
            proto(2) + bytes([code]) + b".",
            MALFORMED,
            f"opcode byte {code:#04x}",
        )
    case(f"{f}--stop-on-empty-stack", b".", MALFORMED, "STOP with nothing on the stack")
    case(f"{f}--tuple-without-mark", b"Nt.", MALFORMED, "TUPLE without MARK")
    case(f"{f}--reduce-underflow", b"R.", MALFORMED, "REDUCE on an empty stack")
    case(f"{f}--appends-without-mark", b"]Ne.", MALFORMED, "APPENDS without MARK")
    case(
        f"{f}--stop-inside-mark",
        b"(N.",
        VALUE,
        "STOP while a MARK is open: the stdlib returns the top",
    )
    case(f"{f}--setitems-odd", b"}(NNNu.", MALFORMED, "SETITEMS with odd items")
    case(f"{f}--memo-miss", proto(2) + b"h\x05.", MALFORMED, "BINGET of an empty memo")
    case(f"{f}--get-text-miss", b"g7\n.", MALFORMED, "GET of an empty memo")
    case(f"{f}--bad-protocol", b"\x80\x09N.", MALFORMED, "PROTO 9")
    case(
        f"{f}--bad-utf8-binunicode",
        b"X\x02\x00\x00\x00\xff\xfe.",
        MALFORMED,
        "BINUNICODE with invalid UTF-8",
    )
    case(
        f"{f}--bad-utf8-short",
        proto(4) + b"\x8c\x01\xc3.",
        MALFORMED,
        "SHORT_BINUNICODE cut inside a character",
    )
    case(
        f"{f}--bad-utf8-global",
        b"c\xff\xfe\nx\n.",
        MALFORMED,
        "GLOBAL with a module name that is not UTF-8",
    )
    case(f"{f}--unquoted-string", b"Sabc\n.", MALFORMED, "STRING without quotes")
    case(f"{f}--bad-int", b"Ixyz\n.", MALFORMED, "INT that is not a number")
    case(f"{f}--bad-float", b"Fnope\n.", MALFORMED, "FLOAT that is not a number")
    case(
        f"{f}--unhashable-key",
        b"}]Ns.",
        MALFORMED,
        "a list as a dict key",
    )
    case(
        f"{f}--newobj-non-type",
        proto(2) + b"N)\x81.",
        MALFORMED,
        "NEWOBJ with None as the class",
    )
    case(f"{f}--append-to-int", b"K\x01K\x02a.", MALFORMED, "APPEND to an int")
    case(f"{f}--empty", b"", TRUNCATED, "no input at all")


def main() -> None:
    for family in (
        code_execution,
        name_tricks,
        scanner_bypasses,
        mutation,
        nested,
        bombs,
        malformed,
    ):
        family()
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("*.pickle"):
        old.unlink()
    manifest = {}
    for name, (data, expect, why) in sorted(CASES.items()):
        (corpus / f"{name}.pickle").write_bytes(data)
        manifest[f"{name}.pickle"] = {"expect": expect, "why": why}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(CASES)} files in {corpus}", file=sys.stderr)


if __name__ == "__main__":
    main()
