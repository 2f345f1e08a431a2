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
import hashlib
import importlib
import inspect
import os
import re
import socket
import threading
import time
import types
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import brined

from . import _entry
from ._keys import bind_arguments, code_fingerprint, content_hash, target_of
from ._progress import progress
from ._store import EntryInfo, Store, open_store

__all__ = ["Cache", "CachedFunction", "CacheMiss", "CacheWarning", "parse_ttl"]

R = TypeVar("R")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_TRUE = ("1", "true", "yes", "on")
# Argument types whose repr names the value exactly (see CachedFunction.key).
_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})
# Verified entries up to this size are remembered (at most this many per cache).
_VERIFIED_SIZE = 64 << 10
_VERIFIED_COUNT = 1024
# A hit refreshes the entry's mtime (its LRU clock) when it is older than this.
_TOUCH_AFTER = 1.0
# Leftover temporary files and idle lock files older than this go at prune().
_LEFTOVER_AGE = 3600.0


class CacheMiss(LookupError):
    """An offline cache was asked for a value it does not hold.

    `function` is the function's qualified name, `key` the entry's key.
    """

    def __init__(self, message: str, *, function: str, key: str) -> None:
        super().__init__(message)
        self.function = function
        self.key = key


class CacheWarning(UserWarning):
    """Something the cache could not do; the call's result is unaffected."""


def parse_ttl(ttl: float | str | datetime.timedelta | None) -> float | None:
    """Seconds from a number, a timedelta or text such as "90s", "15m", "1d", "2w"."""
    if ttl is None:
        return None
    if isinstance(ttl, datetime.timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    elif isinstance(ttl, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhdw]?)\s*", ttl.lower())
        if not match:
            raise ValueError(f"bad ttl {ttl!r}: expected e.g. '30s', '15m', '1d', '2w'")
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    else:
        raise TypeError(f"ttl must be seconds, a timedelta or text, not {ttl!r}")
    if seconds <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return seconds


def parse_size(size: int | str | None) -> int | None:
    """Bytes from a number or text such as "500MB", "2G"."""
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        value = size
    elif isinstance(size, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)i?b?\s*", size.lower())
        if not match:
            raise ValueError(f"bad size {size!r}: expected e.g. '500MB' or '2G'")
        value = int(float(match[1]) * _SIZES[match[2]])
    else:
        raise TypeError(f"max_size must be bytes or text, not {size!r}")
    if value <= 0:
        raise ValueError(f"max_size must be positive, got {size!r}")
    return value


def _folder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:150]


@dataclass
class _Found:
    header: dict[str, Any]
    stream: bytes
    buffers: list[Any]

    def expired(self, ttl: float | None) -> bool:
        """Past the expiry written with it, or older than `ttl` (the reader's)."""
        now = time.time()
        expires = self.header.get("expires")
        if expires is not None and now > expires:
            return True
        return ttl is not None and now - float(self.header.get("created", 0)) > ttl


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
        self._verified: dict[str, tuple[tuple[int, int, int], _Found]] = {}
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
                row = slot(_folder(name))
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

    def _load(self, folder: str, key: str) -> _Found | None:
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
        found = _Found(header, stream, buffers)
        if self.store.local and len(data) <= _VERIFIED_SIZE:
            self._remember(path, found)
        return found

    def _remember(self, path: str, found: _Found) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        if len(self._verified) >= _VERIFIED_COUNT:
            self._verified.pop(next(iter(self._verified)))
        self._verified[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), found)

    def _touch(self, path: str, found: _Found) -> None:
        # The LRU clock of a hit served from memory, as LocalStore.read does.
        with contextlib.suppress(OSError):
            os.utime(path)
            self._remember(path, found)

    def _value(self, found: _Found, path: str) -> tuple[bool, Any]:
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


def _arg_token(value: Any) -> Any:
    # Functions among the arguments count by their code, so closures and lambdas
    # (which pickle only by value) are valid arguments too.
    if isinstance(value, (types.FunctionType, functools.partial)):
        target, args, kwargs = target_of(value)
        if isinstance(target, types.FunctionType):
            return (
                "<function>",
                f"{target.__module__}.{target.__qualname__}",
                code_fingerprint(target),
                tuple(_arg_token(a) for a in args),
                tuple(sorted((k, _arg_token(v)) for k, v in kwargs.items())),
            )
    return value


class CachedFunction(Generic[R]):
    """A function wrapped by a `Cache`: calls it, or returns what it returned.

    Also: ``fn.cached(*args, **kw)`` (is this call's result stored and fresh?),
    ``fn.clear()`` (drop this function's entries), ``fn.key(*args, **kw)``.
    """

    def __init__(
        self,
        cache: Cache,
        fn: Callable[..., R],
        *,
        ttl: float | str | datetime.timedelta | None = None,
        ignore: tuple[str, ...] = (),
        version: Any = None,
        stale_if_error: bool | None = None,
    ) -> None:
        target, pre_args, pre_kwargs = target_of(fn)
        if not isinstance(target, types.FunctionType):
            raise TypeError(
                f"cannot cache {fn!r}: a Python function, method or partial is needed"
            )
        name = f"{target.__module__}.{target.__qualname__}"
        if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
            raise TypeError(
                f"cannot cache the generator function {name}: its result is consumed"
                " as it is produced; cache a function that returns a list instead"
            )
        self._signature = inspect.signature(target)
        for arg in ignore:
            if arg not in self._signature.parameters:
                raise TypeError(f"ignore={arg!r}: {name} has no argument {arg!r}")
        self._cache = cache
        self._fn = fn
        self._target = target
        self._pre_args = pre_args
        self._pre_kwargs = pre_kwargs
        self._ignore = ignore
        self._version = version
        self._ttl = parse_ttl(ttl) if ttl is not None else cache.ttl
        self._stale = cache.stale_if_error if stale_if_error is None else stale_if_error
        self._name = name
        self._folder = _folder(name)
        self._fingerprint: str | None = None
        self._async = inspect.iscoroutinefunction(target)
        functools.update_wrapper(self, target)

    def __repr__(self) -> str:
        return f"<{self._name} cached in {self._cache.location!r}>"

    def __reduce__(self) -> str:
        # Pickled by reference, like the function it replaces in its module (so a
        # decorated function can be sent to worker processes).
        return str(self._target.__qualname__)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return _BoundCached(self, obj)

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The entry key of this call.  Raises TypeError when the arguments do not
        fit the signature or one of them cannot be hashed."""
        if self._fingerprint is None:
            # At the first call, not at decoration: helpers defined further down
            # the module exist by then.
            self._fingerprint = code_fingerprint(self._target)
        items = bind_arguments(
            self._signature,
            self._pre_args + args,
            {**self._pre_kwargs, **kwargs},
            self._ignore,
        )
        items = tuple((name, _arg_token(value)) for name, value in items)
        head = (self._name, self._fingerprint, self._version)
        if all(type(value) in _PLAIN for _, value in items):
            # Plain scalars: their repr is exact and stable across processes, and
            # far cheaper than pickling (the hit path's main cost).
            text = repr((head, items)).encode()
            digest = hashlib.blake2b(text, digest_size=32, person=b"brined-args")
            return digest.hexdigest()
        try:
            return content_hash((*head, items))
        except Exception:
            for name, value in items:
                try:
                    content_hash(value)
                except Exception as exc:
                    raise TypeError(
                        f"cannot cache {self._name}(): argument {name!r}"
                        f" ({type(value).__name__}) cannot be hashed: {exc}"
                    ) from exc
            raise

    def cached(self, *args: Any, **kwargs: Any) -> bool:
        """True when this call's result is stored, valid and not expired."""
        found = self._cache._load(self._folder, self.key(*args, **kwargs))
        return found is not None and not found.expired(self._ttl)

    def clear(self) -> int:
        """Remove this function's entries (of every code version); returns how many."""
        store = self._cache.store
        return sum(
            store.delete(info.path)
            for info in list(store.entries())
            if info.function == self._folder
        )

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        if self._async:
            return self._call_async(args, kwargs)  # type: ignore[return-value]
        return self._call(args, kwargs)  # type: ignore[no-any-return]

    def _fresh(self, key: str) -> tuple[_Found | None, bool, Any]:
        """(entry found, whether its value is fresh and loaded, the value)."""
        cache = self._cache
        found = cache._load(self._folder, key)
        if found is None:
            return None, False, None
        expired = found.expired(self._ttl)
        if expired and not (cache.offline or self._stale):
            return None, False, None
        if expired:
            return found, False, None
        ok, value = cache._value(found, self._folder)
        return (found, True, value) if ok else (None, False, None)

    def _offline(self, key: str, found: _Found | None) -> Any:
        cache = self._cache
        if found is not None:
            ok, value = cache._value(found, self._folder)
            if ok:
                warnings.warn(
                    f"{self._name}: offline, serving an expired entry",
                    CacheWarning,
                    stacklevel=4,
                )
                cache._count(self._name, True)
                return value
        raise CacheMiss(
            f"{self._name}: not in the cache {cache.location!r} and the cache is"
            " offline (BRINED_CACHE_OFFLINE or offline=True)",
            function=self._name,
            key=key,
        )

    def _stale_value(self, found: _Found | None) -> tuple[bool, Any]:
        if not self._stale or found is None:
            return False, None
        ok, value = self._cache._value(found, self._folder)
        if ok:
            warnings.warn(
                f"{self._name} raised; returning the expired cached result"
                " (stale_if_error)",
                CacheWarning,
                stacklevel=4,
            )
        return ok, value

    def _check_result(self, value: Any) -> None:
        if inspect.isgenerator(value) or inspect.isasyncgen(value):
            raise TypeError(
                f"{self._name} returned a generator, which cannot be cached"
            )

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        cache = self._cache
        key = self.key(*args, **kwargs)
        found, fresh, value = self._fresh(key)
        if fresh:
            cache._count(self._name, True)
            return value
        if cache.offline:
            return self._offline(key, found)
        with cache.store.lock(key, cache.lock_timeout) as held:
            if held:
                # Another process may have stored it while this one waited.
                again, fresh, value = self._fresh(key)
                if fresh:
                    cache._count(self._name, True)
                    return value
                found = again or found
            try:
                value = self._fn(*args, **kwargs)
            except Exception:
                ok, stale = self._stale_value(found)
                if ok:
                    return stale
                raise
            self._check_result(value)
            cache._count(self._name, False)
            cache._save(self._folder, key, value, self._name, self._ttl)
        return value

    async def _call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # No cross-process lock here: waiting on it would block the event loop,
        # so concurrent processes may each compute a key once.
        cache = self._cache
        key = self.key(*args, **kwargs)
        found, fresh, value = self._fresh(key)
        if fresh:
            cache._count(self._name, True)
            return value
        if cache.offline:
            return self._offline(key, found)
        try:
            value = await self._fn(*args, **kwargs)  # type: ignore[misc]
        except Exception:
            ok, stale = self._stale_value(found)
            if ok:
                return stale
            raise
        self._check_result(value)
        cache._count(self._name, False)
        cache._save(self._folder, key, value, self._name, self._ttl)
        return value


class _BoundCached:
    """A cached method bound to an instance: the instance is the first argument."""

    def __init__(self, method: CachedFunction[Any], obj: Any) -> None:
        self._method = method
        self._obj = obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(self._obj, *args, **kwargs)

    def cached(self, *args: Any, **kwargs: Any) -> bool:
        return self._method.cached(self._obj, *args, **kwargs)

    def key(self, *args: Any, **kwargs: Any) -> str:
        return self._method.key(self._obj, *args, **kwargs)

    def clear(self) -> int:
        return self._method.clear()
