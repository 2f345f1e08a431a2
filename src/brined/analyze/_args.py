"""Opcode argument readers, named by the argument kinds of `brined._opcodes`.

Two users: the disassembler decodes each argument to the value pickletools
shows (same value, same error text), and the scanner's feeder only needs each
opcode's extent in bytes.  Both read from a binary stream with ``read(n)`` and
``readline()``; every problem is an `ArgError` (a ValueError) whose message is
the one ``pickletools.dis`` gives for it.
"""

from __future__ import annotations

import codecs
import struct
import sys
from typing import Any, Final, Protocol

__all__ = [
    "COUNTED",
    "FIXED",
    "LINES",
    "ArgError",
    "Stream",
    "read_arg",
]


class Stream(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def readline(self) -> bytes: ...


class ArgError(ValueError):
    """An opcode argument could not be read or decoded."""


# Fixed-size arguments: kind -> (size, struct format).
FIXED: Final[dict[str, tuple[int, str]]] = {
    "uint1": (1, "<B"),
    "uint2": (2, "<H"),
    "int4": (4, "<i"),
    "uint4": (4, "<I"),
    "uint8": (8, "<Q"),
    "float8": (8, ">d"),
}

# Newline-terminated arguments: kind -> number of lines.
LINES: Final[dict[str, int]] = {
    "decimalnl_short": 1,
    "decimalnl_long": 1,
    "floatnl": 1,
    "stringnl": 1,
    "stringnl_noescape": 1,
    "stringnl_noescape_pair": 2,
    "unicodestringnl": 1,
}

# Length-prefixed arguments: kind -> the fixed kind of the length prefix.
COUNTED: Final[dict[str, str]] = {
    "string1": "uint1",
    "bytes1": "uint1",
    "unicodestring1": "uint1",
    "long1": "uint1",
    "string4": "int4",
    "long4": "int4",
    "bytes4": "uint4",
    "unicodestring4": "uint4",
    "bytes8": "uint8",
    "unicodestring8": "uint8",
    "bytearray8": "uint8",
}

# Kinds whose length is checked against sys.maxsize before reading.
_MAXSIZE_CHECKED: Final = frozenset(
    ["bytes4", "bytes8", "bytearray8", "unicodestring4", "unicodestring8"]
)
# Kinds whose short payload is reported as "not enough data" (the longs).
_LONGS: Final = frozenset(["long1", "long4"])


def read_fixed(kind: str, stream: Stream) -> Any:
    """Read a fixed-size argument (`FIXED`)."""
    size, fmt = FIXED[kind]
    data = stream.read(size)
    if len(data) < size:
        raise ArgError(f"not enough data in stream to read {kind}")
    return struct.unpack(fmt, data)[0]


def read_count(kind: str, stream: Stream) -> int:
    """Read the length prefix of a counted argument and check its sign and size."""
    n: int = read_fixed(COUNTED[kind], stream)
    if n < 0:
        raise ArgError(f"{kind} byte count < 0: {n}")
    if kind in _MAXSIZE_CHECKED and n > sys.maxsize:
        raise ArgError(f"{kind} byte count > sys.maxsize: {n}")
    return n


def short_payload(kind: str, n: int, got: int) -> ArgError:
    """The error for a counted argument whose payload ends early."""
    if kind in _LONGS:
        return ArgError(f"not enough data in stream to read {kind}")
    return ArgError(f"expected {n} bytes in a {kind}, but only {got} remain")


def read_line(stream: Stream, kind: str) -> bytes:
    """One newline-terminated line, without its newline."""
    data = stream.readline()
    if not data.endswith(b"\n"):
        what = "unicodestringnl" if kind == "unicodestringnl" else "stringnl"
        raise ArgError(f"no newline found when trying to read {what}")
    return data[:-1]


def _strip_quotes(data: bytes) -> bytes:
    for quote in (b'"', b"'"):
        if data.startswith(quote):
            if not data.endswith(quote):
                raise ArgError(
                    f"strinq quote {quote!r} not found at both ends of {data!r}"
                )
            return data[1:-1]
    raise ArgError(f"no string quotes around {data!r}")


def _escaped_ascii(data: bytes) -> str:
    decoded: bytes = codecs.escape_decode(data)[0]
    return decoded.decode("ascii")


def _decode_line(kind: str, line: bytes) -> Any:
    if kind == "decimalnl_short":
        # Protocol 0 spells True and False as the ints 01 and 00.
        if line == b"00":
            return False
        if line == b"01":
            return True
        return int(line)
    if kind == "decimalnl_long":
        return int(line[:-1] if line.endswith(b"L") else line)
    if kind == "floatnl":
        return float(line)
    if kind == "stringnl":
        return _escaped_ascii(_strip_quotes(line))
    if kind == "unicodestringnl":
        return str(line, "raw-unicode-escape")
    return _escaped_ascii(line)  # stringnl_noescape


def _decode_counted(kind: str, data: bytes) -> Any:
    if kind.startswith("string"):
        return data.decode("latin-1")
    if kind.startswith("unicodestring"):
        return str(data, "utf-8", "surrogatepass")
    if kind.startswith("long"):
        return int.from_bytes(data, "little", signed=True)
    if kind == "bytearray8":
        return bytearray(data)
    return data


def read_arg(kind: str, stream: Stream) -> Any:
    """Read and decode one argument of `kind`, as pickletools shows it."""
    if kind in FIXED:
        return read_fixed(kind, stream)
    if kind in COUNTED:
        n = read_count(kind, stream)
        data = stream.read(n)
        if len(data) != n:
            raise short_payload(kind, n, len(data))
        return _decode_counted(kind, data)
    if kind == "stringnl_noescape_pair":
        first = _escaped_ascii(read_line(stream, kind))
        second = _escaped_ascii(read_line(stream, kind))
        return f"{first} {second}"
    return _decode_line(kind, read_line(stream, kind))
