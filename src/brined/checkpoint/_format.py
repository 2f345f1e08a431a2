"""The checkpoint trailer: a versioned on-disk format (docs/checkpoint.md).

A checkpoint file is a complete pickle (ending with STOP) followed by a trailer, so
``pickle.load`` still reads it and ignores the trailer.  Everything here works on
bytes; files are opened elsewhere.  The layouts below are a persisted format:
change them only by adding a new FORMAT_VERSION and keeping every old one
readable (golden files under tests/checkpoint_golden pin them).

All integers are big-endian.  Offsets are from the first byte of the trailer.
Version 2 (written since the checksum became CRC-32):

    0    8  start magic b"BRINEDCK"
    8    2  format version (2)
    10   2  flags: bit 0 set when the MAC field holds an HMAC; other bits are 0
    12   8  pickle length P: the file's bytes 0..P-1 are the pickle
    20   8  creation time, nanoseconds since the Unix epoch (signed)
    28   4  CRC-32 (zlib) of the pickle bytes
    32  32  HMAC-SHA256 over the pickle bytes, then the trailer bytes
            0 .. 70+N-1 with this field zeroed; 32 zero bytes without a key
    64   2  info length N
    66   N  info: a UTF-8 JSON object (brined and Python versions, kind, ...)
    66+N 4  trailer length L = N + 82
    70+N 4  CRC-32 of the trailer bytes 0 .. 70+N-1
    74+N 8  end magic b"CKPT-END"

Version 1 (read, no longer written) differs only in the digest: a 32-byte
SHA-256 of the pickle at 28, so the MAC is at 60, N at 92, the info at 94, and
L = N + 110.  In both, the file's size is exactly P + L, and the last 16 bytes
(L, the trailer CRC, the end magic) are where a reader starts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CheckpointError",
    "CorruptCheckpointError",
    "NotACheckpointError",
    "TrailerInfo",
    "build_trailer",
    "check_buffer",
]

START_MAGIC = b"BRINEDCK"
END_MAGIC = b"CKPT-END"
FORMAT_VERSION = 2  # what build_trailer writes; every version in _LAYOUTS is read
FLAG_HMAC = 0x0001
_TAIL = struct.Struct(">II8s")  # trailer length, CRC-32, end magic
MAX_INFO = 0xFFFF
STOP = 0x2E


def _crc32(data: memoryview) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _sha256(data: memoryview) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class _Layout:
    """Where one format version keeps its fields, and how it checks the pickle."""

    fixed: struct.Struct  # magic, version, flags, P, time, digest, MAC, N
    checksum: str  # the name TrailerInfo reports
    label: str  # the name error messages use
    digest: Callable[[memoryview], bytes]

    @property
    def mac_start(self) -> int:
        return self.fixed.size - 34  # the MAC, then the 2-byte N, end the part

    @property
    def min_trailer(self) -> int:
        return self.fixed.size + _TAIL.size


_LAYOUTS = {
    1: _Layout(struct.Struct(">8sHHQq32s32sH"), "sha256", "SHA-256", _sha256),
    2: _Layout(struct.Struct(">8sHHQq4s32sH"), "crc32", "CRC-32", _crc32),
}
_CURRENT = _LAYOUTS[FORMAT_VERSION]
MIN_TRAILER = min(layout.min_trailer for layout in _LAYOUTS.values())
_MAX_TRAILER = max(layout.min_trailer for layout in _LAYOUTS.values()) + MAX_INFO


class CheckpointError(Exception):
    """Base class of the checkpoint and session errors."""


class NotACheckpointError(CheckpointError):
    """The file has no checkpoint trailer at all (it may be a plain pickle)."""


class CorruptCheckpointError(CheckpointError):
    """The file has (part of) a trailer, but it or the pickle fails verification.

    `path` names the file when known; `reason` says which check failed.
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


@dataclass(frozen=True)
class TrailerInfo:
    """What a verified trailer says about its pickle.

    `checksum` names the pickle's checksum, `digest` is its value: "crc32" (4
    bytes) in format 2, "sha256" (32 bytes) in format 1.
    """

    version: int
    pickle_length: int
    trailer_length: int
    created_ns: int
    checksum: str
    digest: bytes
    has_hmac: bool
    hmac_checked: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> float:
        """Creation time in seconds since the epoch (as `time.time()`)."""
        return self.created_ns / 1e9

    @property
    def sha256(self) -> bytes | None:
        """The SHA-256 of the pickle in a format 1 file; None in later formats."""
        return self.digest if self.checksum == "sha256" else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the digest in hex)."""
        out = {
            "format_version": self.version,
            "pickle_length": self.pickle_length,
            "trailer_length": self.trailer_length,
            "created_ns": self.created_ns,
            "checksum": self.checksum,
            "digest": self.digest.hex(),
            "hmac": self.has_hmac,
            "hmac_checked": self.hmac_checked,
            "info": self.info,
        }
        if self.checksum == "sha256":
            out["sha256"] = self.digest.hex()  # the key format 1 reports had
        return out


def default_info(kind: str, protocol: int) -> dict[str, Any]:
    """The info object written by this version of brined."""
    from .. import __version__

    return {
        "brined": __version__,
        "kind": kind,
        "protocol": protocol,
        "python": ".".join(str(p) for p in sys.version_info[:3]),
    }


def build_trailer(
    pickle_length: int,
    crc32: int,
    created_ns: int,
    info: dict[str, Any],
    mac: hmac.HMAC | None = None,
) -> bytes:
    """The current-format trailer for a pickle of `pickle_length` bytes whose
    CRC-32 (`zlib.crc32`) is `crc32`.

    `mac`, when given, is an HMAC-SHA256 object already fed the pickle bytes; it is
    finished here with the trailer's own bytes.
    """
    info_bytes = json.dumps(info, sort_keys=True, separators=(",", ":")).encode()
    if len(info_bytes) > MAX_INFO:
        raise ValueError("checkpoint info too large")
    flags = FLAG_HMAC if mac is not None else 0
    length = _CURRENT.min_trailer + len(info_bytes)
    head = _CURRENT.fixed.pack(
        START_MAGIC,
        FORMAT_VERSION,
        flags,
        pickle_length,
        created_ns,
        crc32.to_bytes(4, "big"),
        bytes(32),
        len(info_bytes),
    )
    body = bytearray(head + info_bytes + struct.pack(">I", length))
    if mac is not None:
        mac.update(body)  # the MAC field is still zero here
        start = _CURRENT.mac_start
        body[start : start + 32] = mac.digest()
    crc = zlib.crc32(body)
    return bytes(body) + struct.pack(">I", crc) + END_MAGIC


def new_mac(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 object for `key`."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _looks_like_trailer(data: memoryview) -> bool:
    # Damage to a checkpoint (truncation, appended bytes) still leaves the start
    # magic near the end; a plain pickle has none.
    tail = bytes(data[-(_MAX_TRAILER + 64) :])
    return START_MAGIC in tail


def check_buffer(
    data: bytes | bytearray | memoryview,
    key: bytes | None = None,
    path: str | None = None,
) -> TrailerInfo:
    """Verify the checkpoint in `data` (the whole file) and return its trailer.

    Nothing in the pickle is executed.  Raises NotACheckpointError when `data`
    has no trailer, CorruptCheckpointError when any check fails: the trailer's
    structure and CRC, the size, the final STOP, the pickle's checksum (CRC-32,
    or SHA-256 in format 1), and the HMAC when `key` is given (a file without
    an HMAC is refused when a key is).
    """
    view = memoryview(data).cast("B")
    size = len(view)
    if size < MIN_TRAILER + 1 or bytes(view[-8:]) != END_MAGIC:
        if size >= 8 and _looks_like_trailer(view):
            raise CorruptCheckpointError(
                "the trailer is damaged or the file was truncated or appended to",
                path,
            )
        raise NotACheckpointError(f"{path or 'data'}: no checkpoint trailer")
    length, crc, _ = _TAIL.unpack(view[-_TAIL.size :])
    if length < MIN_TRAILER or length > size - 1:
        raise CorruptCheckpointError(f"impossible trailer length {length}", path)
    trailer = view[size - length :]
    if zlib.crc32(trailer[: length - 12]) != crc:
        raise CorruptCheckpointError("trailer CRC-32 mismatch", path)
    # The magic and the version sit at the same place in every layout.
    magic, version = struct.unpack(">8sH", trailer[:10])
    if magic != START_MAGIC:
        raise CorruptCheckpointError("trailer start magic missing", path)
    layout = _LAYOUTS.get(version)
    if layout is None:
        raise CorruptCheckpointError(
            f"unsupported trailer format version {version}", path
        )
    if length < layout.min_trailer:
        raise CorruptCheckpointError(
            f"trailer too short for format version {version}", path
        )
    _, _, flags, plen, created, digest, mac, ninfo = layout.fixed.unpack(
        trailer[: layout.fixed.size]
    )
    if flags & ~FLAG_HMAC:
        raise CorruptCheckpointError(f"unknown trailer flags {flags:#06x}", path)
    if ninfo + layout.min_trailer != length:
        raise CorruptCheckpointError("trailer info length mismatch", path)
    if plen + length != size:
        raise CorruptCheckpointError(
            f"size mismatch: pickle {plen} + trailer {length} != file {size}", path
        )
    if view[plen - 1] != STOP:
        raise CorruptCheckpointError("the pickle does not end with STOP", path)
    body = view[:plen]
    if layout.digest(body) != digest:
        raise CorruptCheckpointError(f"{layout.label} of the pickle mismatch", path)
    has_hmac = bool(flags & FLAG_HMAC)
    checked = False
    if key is not None:
        if not has_hmac:
            raise CorruptCheckpointError(
                "a key is configured but the file carries no HMAC", path
            )
        m = new_mac(key)
        m.update(body)
        zeroed = bytearray(trailer[: length - 8 - 4])
        zeroed[layout.mac_start : layout.mac_start + 32] = bytes(32)
        m.update(zeroed)
        if not hmac.compare_digest(m.digest(), mac):
            raise CorruptCheckpointError("HMAC mismatch (wrong key or tampered)", path)
        checked = True
    start = layout.fixed.size
    try:
        info = json.loads(bytes(trailer[start : start + ninfo]))
    except ValueError as exc:
        raise CorruptCheckpointError(f"trailer info is not JSON: {exc}", path) from None
    if not isinstance(info, dict):
        raise CorruptCheckpointError("trailer info is not a JSON object", path)
    return TrailerInfo(
        version=version,
        pickle_length=plen,
        trailer_length=length,
        created_ns=created,
        checksum=layout.checksum,
        digest=digest,
        has_hmac=has_hmac,
        hmac_checked=checked,
        info=info,
    )
