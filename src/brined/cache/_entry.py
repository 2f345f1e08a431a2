"""The on-disk format of one cache entry, signed as a whole.

An entry is one file (one object on a remote store)::

    b"BRINEDC1"                  magic, 8 bytes
    header length                4 bytes, little-endian
    header                       JSON: function, times, codec, where the parts are
    padding to 64
    pickle stream                protocol 5, compressed with the header's codec
    [padding to 64, buffer]...   the out-of-band buffers (raw when codec is "none",
                                 so that a local entry is memory-mapped in place)
    signature                    32 bytes: HMAC-SHA256(secret, name + NUL + digests)

`digests` are the SHA-256 digests of the bytes before the signature, cut in 4 MiB
chunks, one after the other: a large entry's chunks are hashed on several cores at
once (hashlib releases the GIL), then one HMAC over the short digest list signs them
(the usual hash-then-MAC construction; it rests on SHA-256's collision resistance).
The signature covers the entry's name (its key) as well as its bytes, so a valid entry
copied under another key does not verify.  `open_entry` checks it before anything
reads the header, let alone unpickles the stream.  This layout is an on-disk format:
change MAGIC when it changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "ALIGN",
    "MAGIC",
    "SIG_SIZE",
    "Damaged",
    "chunks",
    "codec",
    "encode",
    "open_entry",
    "read_header",
]

MAGIC = b"BRINEDC1"
ALIGN = 64
SIG_SIZE = 32
_LEN = struct.Struct("<I")
_HEAD = len(MAGIC) + _LEN.size
_CHUNK = 1 << 22
# raw_decode skips json.loads' input checks (the header is signed and ours).
_DECODER = json.JSONDecoder()


class Damaged(Exception):
    """An entry that is not to be loaded: unsigned, tampered, truncated, unreadable."""


def _pad(n: int) -> int:
    return -n % ALIGN


def codec(name: str) -> tuple[Callable[[Any], bytes], Callable[[Any], bytes]]:
    """(compress, decompress) for a codec name: none, gzip, zstd or lz4."""
    if name == "none":
        return bytes, bytes
    if name == "gzip":
        import gzip

        def gz(data: Any) -> bytes:
            return gzip.compress(data, compresslevel=6, mtime=0)

        return gz, gzip.decompress
    if name == "zstd":
        try:
            import zstandard
        except ImportError as exc:
            raise ValueError(
                "compression='zstd' needs the zstandard package: "
                "pip install 'brined[cache]'"
            ) from exc
        return zstandard.ZstdCompressor(level=3).compress, _zstd_decompress
    if name == "lz4":
        try:
            import lz4.frame  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise ValueError(
                "compression='lz4' needs the lz4 package: pip install 'brined[cache]'"
            ) from exc
        return lz4.frame.compress, lz4.frame.decompress
    raise ValueError(
        f"unknown compression {name!r}: expected 'none', 'gzip', 'zstd' or 'lz4'"
    )


def _zstd_decompress(data: Any) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def encode(
    name: str,
    header: dict[str, Any],
    stream: bytes,
    buffers: Sequence[Any],
    secret: bytes,
    compression: str = "none",
) -> list[Any]:
    """The entry's parts, in order: write them one after the other.

    `header` is completed with the parts' places; `buffers` are the protocol-5
    out-of-band buffers (anything with the buffer protocol).
    """
    compress, _ = codec(compression)
    parts: list[Any] = [compress(stream)]
    raw = [len(stream)]
    for buf in buffers:
        view = memoryview(buf).cast("B")
        parts.append(view if compression == "none" else compress(view))
        raw.append(view.nbytes)
    # The header holds the offsets, whose value depends on the header's length:
    # a fixed-width offset field keeps that a single pass.
    header = dict(header, codec=compression, parts=[])
    layout: list[list[int]] = []
    probe = json.dumps(header).encode()
    head_len = len(probe) + 2 + len(parts) * 3 * 22  # room for the offsets
    offset = _HEAD + head_len
    offset += _pad(offset)
    for part, size in zip(parts, raw, strict=True):
        n = memoryview(part).nbytes
        layout.append([offset, n, size])
        offset += n + _pad(n)
    header["parts"] = layout
    blob = json.dumps(header).encode().ljust(head_len)
    out: list[Any] = [MAGIC + _LEN.pack(head_len) + blob]
    out.append(b"\0" * _pad(_HEAD + head_len))
    for part in parts:
        out.append(part)
        out.append(b"\0" * _pad(memoryview(part).nbytes))
    out.append(_sign(secret, name, _digests_of_parts(out)))
    return out


def _sign(secret: bytes, name: str, digests: bytes) -> bytes:
    return hmac.digest(secret, name.encode() + b"\0" + digests, "sha256")


def _digests_of_parts(parts: Sequence[Any]) -> bytes:
    """The chunk digests of the parts' concatenation, without concatenating."""
    out: list[bytes] = []
    h = hashlib.sha256()
    filled = 0
    for part in parts:
        view = memoryview(part).cast("B")
        pos = 0
        while pos < view.nbytes:
            take = min(_CHUNK - filled, view.nbytes - pos)
            h.update(view[pos : pos + take])
            filled += take
            pos += take
            if filled == _CHUNK:
                out.append(h.digest())
                h = hashlib.sha256()
                filled = 0
    if filled or not out:
        out.append(h.digest())
    return b"".join(out)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = max(1, min(8, os.cpu_count() or 1))
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="brined-cache")
        return _POOL


def _forget_pool() -> None:
    # A forked child has the parent's pool object but none of its threads.
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool)


def _chunk_digest(chunk: memoryview) -> bytes:
    return hashlib.sha256(chunk).digest()


def _digests_of_view(view: memoryview, end: int, tick: Callable[[int], Any]) -> bytes:
    if end <= _CHUNK:
        tick(end)
        return hashlib.sha256(view[:end]).digest()
    pieces = [view[start : min(end, start + _CHUNK)] for start in range(0, end, _CHUNK)]
    out: list[bytes] = []
    for piece, digest in zip(pieces, _pool().map(_chunk_digest, pieces), strict=True):
        out.append(digest)
        tick(piece.nbytes)
    return b"".join(out)


def _verify(
    name: str, view: memoryview, secret: bytes, tick: Callable[[int], Any]
) -> None:
    end = view.nbytes - SIG_SIZE
    if end < _HEAD or view[: len(MAGIC)] != MAGIC:
        raise Damaged("not a brined cache entry (bad magic or truncated)")
    expected = _sign(secret, name, _digests_of_view(view, end, tick))
    if not hmac.compare_digest(expected, view[end:]):
        raise Damaged("bad signature (tampered, truncated or written with another key)")


def _no_tick(n: int) -> None:
    del n


def open_entry(
    name: str,
    data: Any,
    secret: bytes,
    tick: Callable[[int], Any] = _no_tick,
) -> tuple[dict[str, Any], bytes, list[Any]]:
    """Verify the entry `data` named `name`, then return (header, stream, buffers).

    Raises `Damaged` when the signature does not match; nothing of the entry is
    parsed before that.  Raw buffers are views into `data` (no copy).
    """
    view = memoryview(data).cast("B")
    _verify(name, view, secret, tick)
    try:
        (head_len,) = _LEN.unpack_from(view, len(MAGIC))
        header = _DECODER.raw_decode(str(view[_HEAD : _HEAD + head_len], "utf-8"))[0]
        _, decompress = codec(header["codec"])
        parts = [view[start : start + n] for start, n, _ in header["parts"]]
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise Damaged(f"a signed entry with an unreadable header: {exc}") from exc
    stream = decompress(parts[0])
    if header["codec"] == "none":
        buffers: list[Any] = parts[1:]
    else:
        buffers = [decompress(part) for part in parts[1:]]
    return header, stream, buffers


def chunks(parts: Sequence[Any]) -> Iterator[memoryview]:
    """The parts of an entry cut in pieces of at most 4 MiB (for progress)."""
    for part in parts:
        view = memoryview(part).cast("B")
        for start in range(0, view.nbytes, _CHUNK):
            yield view[start : start + _CHUNK]


def read_header(read_range: Callable[[int, int], bytes]) -> dict[str, Any]:
    """The header of an entry, NOT verified: for listings and pruning only.

    `read_range(start, end)` returns the entry's bytes [start, end).  Raises
    `Damaged` when the entry does not start like one.
    """
    head = read_range(0, _HEAD)
    if len(head) < _HEAD or head[: len(MAGIC)] != MAGIC:
        raise Damaged("not a brined cache entry")
    (head_len,) = _LEN.unpack_from(head, len(MAGIC))
    try:
        header = json.loads(read_range(_HEAD, _HEAD + head_len))
    except ValueError as exc:
        raise Damaged(f"unreadable header: {exc}") from exc
    if not isinstance(header, dict):
        raise Damaged("unreadable header")
    return header
