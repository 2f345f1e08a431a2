"""Hostile (and a few benign) pickles, assembled opcode by opcode.

Nothing here pickles a real callable: every file is bytes written from the
opcode table, so building the corpus never touches what it names.  Each
payload, if it ever ran, would create the file named by `MARKER` in the current
directory (the agreement test loads them in a child process in a temporary
directory and checks no marker appears).

`CASES` maps a name to ``(data, expected verdict, allow)``.  Run as a script to
write the files into a directory: ``python -m tests.hostile_scan.generate DIR``.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from brined._format import opcodes as op

MARKER = "BRINED_CANARY_FIRED"
CMD = f"touch {MARKER}"
PY = f"open({MARKER!r}, 'w').close()"


def b(*codes: int) -> bytes:
    return bytes(codes)


def su(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    data = text.encode()
    return b(op.SHORT_BINUNICODE, len(data)) + data


def bu(text: str) -> bytes:
    """BINUNICODE (protocol 1+)."""
    data = text.encode()
    return b(op.BINUNICODE) + struct.pack("<I", len(data)) + data


def sbb(data: bytes) -> bytes:
    """SHORT_BINBYTES."""
    return b(op.SHORT_BINBYTES, len(data)) + data


def s0(text: str) -> bytes:
    """Protocol 0 STRING."""
    return b"S" + repr(text).encode() + b"\n"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p4(*parts: bytes) -> bytes:
    return b(op.PROTO, 4) + b"".join(parts) + b(op.STOP)


def p2(*parts: bytes) -> bytes:
    return b(op.PROTO, 2) + b"".join(parts) + b(op.STOP)


def p0(*parts: bytes) -> bytes:
    return b"".join(parts) + b(op.STOP)


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) with MARK ... TUPLE REDUCE."""
    return func + b(op.MARK) + b"".join(args) + b(op.TUPLE, op.REDUCE)


SYSTEM_GLOBAL = p0(call(glob("os", "system"), s0(CMD)))
SYSTEM_STACK = p4(call(su("os") + su("system") + b(op.STACK_GLOBAL), su(CMD)))
SYSTEM_INST = p0(b(op.MARK), s0(CMD), b"ios\nsystem\n")
SYSTEM_OBJ = p0(b(op.MARK), glob("os", "system"), s0(CMD), b(op.OBJ))
EVAL = p2(call(glob("builtins", "eval"), bu(PY)))
EXEC = p2(call(glob("builtins", "exec"), bu(PY)))
EVAL_PY2_NAME = p2(call(glob("__builtin__", "eval"), bu(PY)))
IMPORT_GETATTR = p2(
    call(
        glob("builtins", "getattr"),
        call(glob("builtins", "__import__"), bu("os")),
        bu("system"),
    ),
    b(op.MARK),
    bu(CMD),
    b(op.TUPLE, op.REDUCE),
)
NAMES_FROM_MEMO = p4(
    su("os"),
    b(op.MEMOIZE),
    su("system"),
    b(op.MEMOIZE, op.POP, op.POP, op.BINGET, 0, op.BINGET, 1, op.STACK_GLOBAL),
    su(CMD),
    b(op.TUPLE1, op.REDUCE),
)
GLOBAL_FROM_MEMO = p4(
    su("os") + su("system") + b(op.STACK_GLOBAL, op.BINPUT, 7, op.POP),
    b(op.BINGET, 7),
    su(CMD),
    b(op.TUPLE1, op.REDUCE),
)
# str(b'os', 'ascii'): the allowed builtins.str builds the module name at load.
NAME_BUILT_ON_STACK = p4(
    call(glob("builtins", "str"), sbb(b"os"), su("ascii")),
    call(glob("builtins", "str"), sbb(b"system"), su("ascii")),
    b(op.STACK_GLOBAL),
    su(CMD),
    b(op.TUPLE1, op.REDUCE),
)
# The global is popped at once: the loader still resolves (and refuses) it.
POPPED_GLOBAL = p0(b(op.MARK), glob("os", "system"), b(op.POP_MARK), b(op.NONE))
PAYLOAD_THEN_GARBAGE = SYSTEM_STACK[:-1] + b"\xff\xfe garbage"
GARBAGE_THEN_PAYLOAD = b"\xff" + SYSTEM_STACK
TRUNCATED_AFTER_CALL = SYSTEM_STACK[:-1]
TRUNCATED_IN_NAME = SYSTEM_STACK[:6]
INNER = SYSTEM_STACK
NESTED_PICKLE_LOADS = p4(
    call(su("pickle") + su("loads") + b(op.STACK_GLOBAL), sbb(INNER[:255]))
)
NESTED_BRINED_LOADS = p4(
    call(su("brined") + su("loads") + b(op.STACK_GLOBAL), sbb(INNER[:255]))
)
POPEN_NEWOBJ = p4(
    su("subprocess"),
    su("Popen"),
    b(op.STACK_GLOBAL),
    su("sh"),
    su("-c"),
    su(CMD),
    b(op.TUPLE3, op.TUPLE1, op.NEWOBJ),
)
POPEN_NEWOBJ_EX = p4(
    su("subprocess") + su("Popen") + b(op.STACK_GLOBAL),
    su("sh") + su("-c") + su(CMD) + b(op.TUPLE3, op.TUPLE1),
    b(op.EMPTY_DICT, op.NEWOBJ_EX),
)
# A refused class whose state goes through BUILD (and so __setstate__).
BUILD_ON_REFUSED = p4(
    su("code") + su("InteractiveInterpreter") + b(op.STACK_GLOBAL),
    b(op.EMPTY_TUPLE, op.NEWOBJ, op.EMPTY_DICT, op.BUILD),
)
PERSISTENT_BIN = p4(su("storage") + b(op.BINPERSID))
PERSISTENT_TEXT = p0(b"Psome-id\n")
RECONSTRUCTOR_HEAP_BASE = p2(
    call(
        glob("copyreg", "_reconstructor"),
        glob("builtins", "object"),
        glob("collections", "Counter"),
        b(op.NONE),
    )
)
POSIX_SYSTEM = p0(call(glob("posix", "system"), s0(CMD)))
DUNDER_NAME = p4(su("collections") + su("OrderedDict.__class__") + b(op.STACK_GLOBAL))
# A plain class nobody allowed (uuid.UUID was one until it became default data).
NOT_ALLOWED_PLAIN = p4(su("email.message") + su("Message") + b(op.STACK_GLOBAL))
FRAME_TOO_LONG = (
    b(op.PROTO, 4, op.FRAME) + struct.pack("<Q", 1000) + b(op.NONE, op.STOP)
)
BYTES8_TOO_LONG = b(op.PROTO, 4, op.BINBYTES8) + struct.pack("<Q", 1 << 40) + b"abc."
UNDERFLOW = b(op.PROTO, 2, op.TUPLE1, op.STOP)
UNKNOWN_OPCODE = b(op.PROTO, 2, 0xFF, op.STOP)
EMPTY = b""
EXT_UNREGISTERED = b(op.PROTO, 2, op.EXT1, 0xEE, op.STOP)

# Benign, hand-made.
BENIGN_ORDERED = p2(call(glob("collections", "OrderedDict")))
BENIGN_TAIL_GARBAGE = p4(su("fine"), b(op.MEMOIZE)) + b"\xff\xff not a pickle"
BENIGN_RECONSTRUCTOR = p2(
    call(
        glob("copyreg", "_reconstructor"),
        glob("builtins", "object"),
        glob("builtins", "object"),
        b(op.NONE),
    )
)
BENIGN_SET_REDUCE = p2(
    call(glob("builtins", "set"), b(op.EMPTY_LIST, op.MARK, op.BININT1, 1, op.APPENDS))
)
ALLOWED_PLAIN = p4(
    su("email.message") + su("Message") + b(op.STACK_GLOBAL),
    b(op.EMPTY_TUPLE, op.NEWOBJ),
    b(op.EMPTY_DICT) + su("int") + b(op.BININT1, 5, op.SETITEM, op.BUILD),
)

CASES: dict[str, tuple[bytes, str, tuple[str, ...]]] = {
    "os-system-global": (SYSTEM_GLOBAL, "unsafe", ()),
    "os-system-stack-global": (SYSTEM_STACK, "unsafe", ()),
    "os-system-inst": (SYSTEM_INST, "unsafe", ()),
    "os-system-obj": (SYSTEM_OBJ, "unsafe", ()),
    "builtins-eval": (EVAL, "unsafe", ()),
    "builtins-exec": (EXEC, "unsafe", ()),
    "py2-builtin-eval": (EVAL_PY2_NAME, "unsafe", ()),
    "getattr-import-chain": (IMPORT_GETATTR, "unsafe", ()),
    "names-from-memo": (NAMES_FROM_MEMO, "unsafe", ()),
    "global-from-memo": (GLOBAL_FROM_MEMO, "unsafe", ()),
    "name-built-on-stack": (NAME_BUILT_ON_STACK, "unsafe", ()),
    "popped-global": (POPPED_GLOBAL, "unsafe", ()),
    "payload-then-garbage": (PAYLOAD_THEN_GARBAGE, "unsafe", ()),
    "garbage-then-payload": (GARBAGE_THEN_PAYLOAD, "invalid", ()),
    "truncated-after-call": (TRUNCATED_AFTER_CALL, "unsafe", ()),
    "truncated-in-name": (TRUNCATED_IN_NAME, "invalid", ()),
    "nested-pickle-loads": (NESTED_PICKLE_LOADS, "unsafe", ()),
    "nested-brined-loads": (NESTED_BRINED_LOADS, "unsafe", ()),
    "popen-newobj": (POPEN_NEWOBJ, "unsafe", ()),
    "popen-newobj-ex": (POPEN_NEWOBJ_EX, "unsafe", ()),
    "build-on-refused": (BUILD_ON_REFUSED, "unsafe", ()),
    "persistent-binpersid": (PERSISTENT_BIN, "unsafe", ()),
    "persistent-persid": (PERSISTENT_TEXT, "unsafe", ()),
    "reconstructor-heap-base": (RECONSTRUCTOR_HEAP_BASE, "unsafe", ()),
    "posix-system": (POSIX_SYSTEM, "unsafe", ()),
    "dunder-name": (DUNDER_NAME, "unsafe", ()),
    "not-allowed-plain": (NOT_ALLOWED_PLAIN, "unsafe", ()),
    "eval-despite-allow": (EVAL, "unsafe", ("builtins.eval",)),
    "frame-too-long": (FRAME_TOO_LONG, "invalid", ()),
    "bytes8-too-long": (BYTES8_TOO_LONG, "invalid", ()),
    "stack-underflow": (UNDERFLOW, "invalid", ()),
    "unknown-opcode": (UNKNOWN_OPCODE, "invalid", ()),
    "empty": (EMPTY, "invalid", ()),
    "ext-unregistered": (EXT_UNREGISTERED, "invalid", ()),
    "benign-ordereddict": (BENIGN_ORDERED, "clean", ()),
    "benign-tail-garbage": (BENIGN_TAIL_GARBAGE, "clean", ()),
    "benign-reconstructor": (BENIGN_RECONSTRUCTOR, "clean", ()),
    "benign-set-reduce": (BENIGN_SET_REDUCE, "clean", ()),
    "plain-class-allowed": (ALLOWED_PLAIN, "clean", ("email.message.Message",)),
}


def main(argv: list[str]) -> int:
    """Write every case to DIR/<name>.pkl."""
    out = Path(argv[0] if argv else "hostile")
    out.mkdir(parents=True, exist_ok=True)
    for name, (data, _, _) in CASES.items():
        (out / f"{name}.pkl").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
