"""`Cache` and the functions it wraps: keys, hits, misses, locks, stats.

Rules that hold here: an entry is verified (HMAC) before a byte of it is unpickled;
a store that cannot be read or written never costs the caller their result (a
warning, once per cache, and the function runs); nothing here imports a remote
filesystem until a remote location is used.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import importlib
import os
import socket
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

import brined

from . import _entry
from ._common import (
    CacheWarning,
    Found,
    folder_name,
    parse_size,
    parse_ttl,
)
from ._function import CachedFunction
from ._progress import progress
from ._store import EntryInfo, Store, open_store

__all__ = ["Cache"]

R = TypeVar("R")

_TRUE = ("1", "true", "yes", "on")
# Verified entries up to this size are remembered (at most this many per cache).
_VERIFIED_SIZE = 64 << 10
_VERIFIED_COUNT = 1024
# A hit refreshes the entry's mtime (its LRU clock) when it is older than this.
_TOUCH_AFTER = 1.0
# Leftover temporary files and idle lock files older than this go at prune().
_LEFTOVER_AGE = 3600.0


class Cache:
    """Remember a function's results on disk or on any fsspec filesystem.

    ``cache = brined.Cache("~/.cache/myapp")`` then ``@cache`` or
    ``@cache(ttl="1d", ignore=["verbose"], version=2)`` on a function.  The key of
    a call is the function's name, a fingerprint of its compiled code and of the
    project code it calls, and its arguments bound to the signature.

    Arguments:
      location: a folder, or a URL that fsspec opens ("s3://bucket/prefix").
      max_size: bytes (or "500MB") beyond which the least recently used entries go.
      ttl: default lifetime of an entry ("1d", seconds, a timedelta); None: forever.
      compression: "none" (default; large arrays are memory-mapped), "gzip",
        "zstd" or "lz4" (these two need the ``cache`` extra).
      key: the HMAC secret that signs entries (bytes or text).  Default: the
        BRINED_CACHE_KEY environment variable, else a random key kept in the
        cache folder (mode 0600).
      offline: serve only cached values and raise `CacheMiss` otherwise.  Default:
        the BRINED_CACHE_OFFLINE environment variable.
      stale_if_error: when the function raises, return an expired entry instead.
      lock_timeout: seconds a call waits for another process computing the same
        key (local stores) before computing it too.
      allow: load cached values with this allowlist instead of ``trusted=True``.
      storage_options: passed to fsspec for a remote location.
      progress_threshold: entries at least this large show a progress bar on a
        terminal when tqdm or rich is installed.

    Raises ValueError for a bad argument (unknown compression, bad ttl or size).
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        max_size: int | str | None = None,
        ttl: float | str | datetime.timedelta | None = None,
        compression: str = "none",
        key: bytes | str | None = None,
        offline: bool | None = None,
        stale_if_error: bool = False,
        lock_timeout: float = 60.0,
        allow: Iterable[str] | None = None,
        storage_options: dict[str, Any] | None = None,
        progress_threshold: int = 64 << 20,
    ) -> None:
        _entry.codec(compression)  # fails early for an unknown or missing codec
        self.location = os.fspath(location)
        self.store: Store = open_store(location, storage_options)
        self.max_size = parse_size(max_size)
        self.ttl = parse_ttl(ttl)
        self.compression = compression
        if offline is None:
            offline = os.environ.get("BRINED_CACHE_OFFLINE", "").lower() in _TRUE
        self.offline = offline
        self.stale_if_error = stale_if_error
        self.lock_timeout = float(lock_timeout)
        self._allow = None if allow is None else list(allow)
        self.progress_threshold = progress_threshold
        if key is None:
            key = os.environ.get("BRINED_CACHE_KEY") or None
        self._secret: bytes | None = key.encode() if isinstance(key, str) else key
        if self._secret is not None and len(self._secret) < 16:
            raise ValueError("the cache key must be at least 16 bytes")
        self._counts: dict[str, list[int]] = {}
        self._dirty = False
        self._flushed = 0.0
        self._stats_name = (
            f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )
        self._warned: set[str] = set()
        self._verified: dict[str, tuple[tuple[int, int, int], Found]] = {}
        self._mutex = threading.Lock()
        # A weak reference: a Cache that goes away is not kept alive until exit.
        atexit.register(_flush_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"brined.Cache({self.location!r})"

    # -- decorating ---------------------------------------------------------

    @overload
    def __call__(
        self,
        fn: Callable[..., R],
        /,
        *,
        ttl: float | str | datetime.timedelta | None = ...,
        ignore: Iterable[str] = ...,
        version: Any = ...,
        stale_if_error: bool | None = ...,
    ) -> CachedFunction[R]: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        ttl: float | str | datetime.timedelta | None = ...,
        ignore: Iterable[str] = ...,
        version: Any = ...,
        stale_if_error: bool | None = ...,
    ) -> Callable[[Callable[..., R]], CachedFunction[R]]: ...

    def __call__(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        ttl: float | str | datetime.timedelta | None = None,
        ignore: Iterable[str] = (),
        version: Any = None,
        stale_if_error: bool | None = None,
    ) -> Any:
        """Wrap `fn` (``@cache``) or return a decorator (``@cache(ttl=...)``).

        `ttl` overrides the cache's; `ignore` names arguments left out of the key;
        `version` is part of the key (change it to drop old entries by hand).
        Raises TypeError for a generator function, an unknown `ignore` name or
        something that is not a Python function.
        """
        if fn is None:
            return functools.partial(
                CachedFunction,
                self,
                ttl=ttl,
                ignore=tuple(ignore),
                version=version,
                stale_if_error=stale_if_error,
            )
        return CachedFunction(
            self,
            fn,
            ttl=ttl,
            ignore=tuple(ignore),
            version=version,
            stale_if_error=stale_if_error,
        )

    # -- warnings and stats -------------------------------------------------

    def _warn_once(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        warnings.warn(message, CacheWarning, stacklevel=4)

    def _count(self, function: str, hit: bool) -> None:
        with self._mutex:
            counts = self._counts.setdefault(function, [0, 0])
            counts[0 if hit else 1] += 1
            self._dirty = True

    def _flush_stats(self) -> None:
        if not self._dirty:
            return
        with self._mutex:
            data = {"functions": {k: list(v) for k, v in self._counts.items()}}
            self._dirty = False
        self._flushed = time.monotonic()
        # Stats are best effort: they never fail a call or the exit.
        with contextlib.suppress(Exception):
            self.store.write_stats(self._stats_name, data)

    def stats(self) -> dict[str, Any]:
        """What the store holds and how it was used, by every process.

        Returns ``{"entries", "size", "hits", "misses", "oldest", "functions"}``;
        ``oldest`` is the earliest last-use time (seconds since the epoch) or
        None, and ``functions`` maps each function's folder name to its own
        ``{"entries", "size", "hits", "misses"}``.
        """
        self._flush_stats()
        functions: dict[str, dict[str, int]] = {}

        def slot(name: str) -> dict[str, int]:
            return functions.setdefault(
                name, {"entries": 0, "size": 0, "hits": 0, "misses": 0}
            )

        oldest: float | None = None
        for info in self.store.entries():
            row = slot(info.function)
            row["entries"] += 1
            row["size"] += info.size
            oldest = info.used if oldest is None else min(oldest, info.used)
        for record in self.store.read_stats():
            for name, counts in record.get("functions", {}).items():
                row = slot(folder_name(name))
                row["hits"] += int(counts[0])
                row["misses"] += int(counts[1])
        return {
            "entries": sum(r["entries"] for r in functions.values()),
            "size": sum(r["size"] for r in functions.values()),
            "hits": sum(r["hits"] for r in functions.values()),
            "misses": sum(r["misses"] for r in functions.values()),
            "oldest": oldest,
            "functions": dict(sorted(functions.items())),
        }

    # -- maintenance --------------------------------------------------------

    def entries(self) -> list[EntryInfo]:
        """Every stored entry (unverified listing), least recently used first."""
        return sorted(self.store.entries(), key=lambda e: e.used)

    def header(self, info: EntryInfo) -> dict[str, Any] | None:
        """The unverified header of a listed entry, or None when unreadable."""
        try:
            return _entry.read_header(
                functools.partial(self.store.read_range, info.path)
            )
        except (OSError, _entry.Damaged):
            return None

    def prune(self, max_size: int | str | None = None) -> int:
        """Remove expired and damaged entries, then the least recently used ones
        until the store holds at most `max_size` (default: the cache's) bytes.

        Also removes temporary and lock files left over by killed processes.
        Returns how many entries were removed.
        """
        limit = parse_size(max_size) if max_size is not None else self.max_size
        removed = 0
        now = time.time()
        kept: list[EntryInfo] = []
        for info in self.entries():
            header = self.header(info)
            expires = None if header is None else header.get("expires")
            if header is None or (expires is not None and now > expires):
                removed += self.store.delete(info.path)
            else:
                kept.append(info)
        if limit is not None:
            removed += self._evict(kept, limit)
        self.store.clean(_LEFTOVER_AGE)
        return removed

    def _evict(self, entries: list[EntryInfo], limit: int, keep: str = "") -> int:
        total = sum(e.size for e in entries)
        removed = 0
        for info in entries:  # least recently used first
            if total <= limit:
                break
            if info.key == keep:
                continue
            if self.store.delete(info.path):
                removed += 1
            total -= info.size
        return removed

    def clear(self) -> int:
        """Remove every entry (the key stays); returns how many."""
        return sum(self.store.delete(info.path) for info in self.store.entries())

    # -- entries ------------------------------------------------------------

    def secret(self) -> bytes | None:
        """The HMAC key; None (with a warning) when the store cannot give one."""
        if self._secret is None:
            try:
                self._secret = self.store.secret()
                if self.store.local:
                    self._check_key_file()
                else:
                    self._warn_once(
                        "shared-key",
                        f"{self}: the cache key is kept in the store itself, so whoever"
                        " can read it can forge entries; set BRINED_CACHE_KEY (or"
                        " key=) for a shared store",
                    )
            except Exception as exc:  # remote stores raise their own kinds
                self._warn_once(
                    "secret", f"{self}: no cache key ({exc}); caching is off"
                )
                return None
        return self._secret

    def _check_key_file(self) -> None:
        path = os.path.join(self.store.root, "key")
        with contextlib.suppress(OSError):
            if os.stat(path).st_mode & 0o077:
                self._warn_once(
                    "key-mode",
                    f"{path} can be read or written by other users, who can then"
                    f" forge cache entries: chmod 600 {path}",
                )

    def _load(self, folder: str, key: str) -> Found | None:
        secret = self.secret()
        if secret is None:
            return None
        path = self.store.entry_path(folder, key)
        if self.store.local:
            # A small entry this process verified before, unchanged since (same
            # inode, size and mtime): its verified bytes are reused.  A file
            # changed by anyone differs in one of those, and what is reused is
            # only ever what was verified.
            try:
                st = os.stat(path)
            except OSError:
                return None
            seen = self._verified.get(path)
            if seen is not None and seen[0] == (st.st_ino, st.st_size, st.st_mtime_ns):
                if time.time() - st.st_mtime > _TOUCH_AFTER:
                    self._touch(path, seen[1])
                return seen[1]
        try:
            data = self.store.read(path)
        except Exception as exc:  # a remote store raises its own kinds of errors
            self._warn_once("store", f"{self}: cannot read the cache ({exc!r})")
            return None
        if data is None:
            return None
        try:
            if len(data) < self.progress_threshold:
                header, stream, buffers = _entry.open_entry(key, data, secret)
            else:
                with progress(len(data), "brined.cache load", 0) as tick:
                    header, stream, buffers = _entry.open_entry(key, data, secret, tick)
        except _entry.Damaged as exc:
            warnings.warn(
                f"cache entry {path} ignored: {exc}", CacheWarning, stacklevel=4
            )
            return None
        found = Found(header, stream, buffers)
        if self.store.local and len(data) <= _VERIFIED_SIZE:
            self._remember(path, found)
        return found

    def _remember(self, path: str, found: Found) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        if len(self._verified) >= _VERIFIED_COUNT:
            self._verified.pop(next(iter(self._verified)))
        self._verified[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), found)

    def _touch(self, path: str, found: Found) -> None:
        # The LRU clock of a hit served from memory, as LocalStore.read does.
        with contextlib.suppress(OSError):
            os.utime(path)
            self._remember(path, found)

    def _value(self, found: Found, path: str) -> tuple[bool, Any]:
        try:
            if self._allow is not None:
                value = brined.loads(
                    found.stream, buffers=found.buffers, allow=self._allow
                )
            else:
                value = brined.loads(found.stream, buffers=found.buffers, trusted=True)
        except Exception as exc:
            warnings.warn(
                f"cache entry {path} could not be loaded ({exc!r}); recomputing",
                CacheWarning,
                stacklevel=4,
            )
            return False, None
        return True, value

    def _save(
        self, folder: str, key: str, value: Any, function: str, ttl: float | None
    ) -> None:
        secret = self.secret()
        if secret is None:
            return
        buffers: list[Any] = []
        try:
            stream = _dumps(value, buffers)
        except Exception as exc:
            self._warn_once(
                "pickle:" + function,
                f"{function}: the result ({type(value).__name__}) cannot be pickled,"
                f" so it is not cached: {exc}",
            )
            return
        now = time.time()
        header = {
            "function": function,
            "created": now,
            "expires": None if ttl is None else now + ttl,
        }
        raws = [buf.raw() for buf in buffers]
        parts = _entry.encode(key, header, stream, raws, secret, self.compression)
        total = sum(memoryview(p).nbytes for p in parts)
        path = self.store.entry_path(folder, key)
        try:
            with progress(total, "brined.cache store", self.progress_threshold) as tick:
                self.store.write(path, _ticking(_entry.chunks(parts), tick))
        except Exception as exc:  # disk full, read-only, network: keep the result
            self._warn_once(
                "store",
                f"{self}: cannot store entries ({exc!r}); results are returned"
                " without being cached",
            )
            return
        if self.max_size is not None:
            self._evict(self.entries(), self.max_size, keep=key)
        if self._dirty and time.monotonic() - self._flushed > 5.0:
            self._flush_stats()


def _dumps(value: Any, buffers: list[Any]) -> bytes:
    try:
        return brined.dumps(value, protocol=5, buffer_callback=buffers.append)
    except Exception as exc:
        # Closures, lambdas and classes defined in __main__ pickle by value
        # through brined.cloud (cloudpickle-compatible), when it is there.
        try:
            cloud = importlib.import_module("brined.cloud")
        except ImportError:
            raise exc from None
        buffers.clear()
        return bytes(cloud.dumps(value, protocol=5, buffer_callback=buffers.append))


def _flush_at_exit(ref: weakref.ref[Cache]) -> None:
    cache = ref()
    if cache is not None:
        cache._flush_stats()


def _ticking(chunks: Iterable[Any], tick: Callable[[int], Any]) -> Iterable[Any]:
    for chunk in chunks:
        yield chunk
        tick(memoryview(chunk).nbytes)
