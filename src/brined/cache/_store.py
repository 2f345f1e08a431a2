"""Where entries live: a local folder, or any fsspec filesystem.

Layout under the cache's root (the same on both)::

    key                          the HMAC secret (local: mode 0600), unless given
    entries/<function>/<key>     one file per entry (see _entry.py)
    stats/<process>.json         hit and miss counts, one file per process
    tmp/                         local only: entries being written
    locks/<key>                  local only: flock files, one per key being computed

A local write goes to tmp/, is fsynced, renamed into place and the directory fsynced,
so a reader sees the whole entry or none.  A remote write is one PUT (``pipe_file``),
which object stores make visible whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MMAP_THRESHOLD",
    "EntryInfo",
    "LocalStore",
    "RemoteStore",
    "Store",
    "open_store",
]

# Entries at least this large are memory-mapped instead of read.
MMAP_THRESHOLD = 1 << 20
# A hit refreshes the entry's mtime (its LRU clock) when it is older than this.
_TOUCH_AFTER = 1.0


@dataclass(frozen=True)
class EntryInfo:
    """One stored entry, as a listing sees it (no verification, no loading)."""

    function: str
    key: str
    size: int
    used: float  # last use (local) or last write (remote), seconds since the epoch
    path: str


class Store:
    """The operations the cache needs from a place that holds entries."""

    root: str
    local: bool = False

    def entry_path(self, function: str, key: str) -> str:
        return f"{self.root}/entries/{function}/{key}"

    def read(self, path: str) -> Any | None:
        raise NotImplementedError

    def write(self, path: str, parts: Iterable[Any]) -> None:
        raise NotImplementedError

    def delete(self, path: str) -> bool:
        raise NotImplementedError

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of an entry, without verification (for listings)."""
        raise NotImplementedError

    def touch(self, path: str) -> None:
        """Mark the entry as just used (LRU); a no-op where that costs a request."""

    def entries(self) -> Iterator[EntryInfo]:
        raise NotImplementedError

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        """Hold the computation lock for `key`; yields False when it timed out."""
        del key, timeout
        yield False

    def secret(self) -> bytes:
        raise NotImplementedError

    def write_stats(self, name: str, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def read_stats(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def clean(self, older_than: float) -> int:
        """Remove leftovers (temporary files, idle locks) older than `older_than` s."""
        del older_than
        return 0

    def is_cache(self) -> bool:
        raise NotImplementedError


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore(Store):
    local = True

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self._made: set[str] = set()

    def _dir(self, path: str) -> str:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            self._made.add(path)
        return path

    def is_cache(self) -> bool:
        return os.path.isdir(os.path.join(self.root, "entries")) or os.path.isfile(
            os.path.join(self.root, "key")
        )

    def read(self, path: str) -> Any | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            if st.st_size >= MMAP_THRESHOLD:
                # Copy-on-write: arrays loaded from the map are writable, and a
                # write never reaches the file.
                data: Any = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
            else:
                data = os.read(fd, st.st_size + 1)
                while len(data) < st.st_size:  # pragma: no cover - short reads
                    more = os.read(fd, st.st_size - len(data))
                    if not more:
                        break
                    data += more
            if time.time() - st.st_mtime > _TOUCH_AFTER:
                with contextlib.suppress(OSError):
                    os.utime(fd)
            return data
        finally:
            os.close(fd)

    def write(self, path: str, parts: Iterable[Any]) -> None:
        folder = os.path.dirname(path)
        self._dir(folder)
        tmp = os.path.join(self._dir(os.path.join(self.root, "tmp")), uuid.uuid4().hex)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                for part in parts:
                    view = memoryview(part)
                    while view.nbytes:
                        written = os.write(fd, view)
                        view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(folder)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    def delete(self, path: str) -> bool:
        try:
            os.unlink(path)
            return True
        except FileNotFoundError:
            return False

    def entries(self) -> Iterator[EntryInfo]:
        base = os.path.join(self.root, "entries")
        try:
            functions = list(os.scandir(base))
        except FileNotFoundError:
            return
        for folder in functions:
            if not folder.is_dir():
                continue
            try:
                files = list(os.scandir(folder.path))
            except FileNotFoundError:
                continue
            for item in files:
                try:
                    st = item.stat()
                except FileNotFoundError:
                    continue
                yield EntryInfo(
                    folder.name, item.name, st.st_size, st.st_mtime, item.path
                )

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        try:
            path = os.path.join(self._dir(os.path.join(self.root, "locks")), key)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # an unwritable store: compute without the lock
            yield False
            return
        try:
            deadline = time.monotonic() + timeout
            delay = 0.005
            held = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            yield held
        finally:
            os.close(fd)  # closing releases the lock

    def secret(self) -> bytes:
        path = os.path.join(self.root, "key")
        try:
            with open(path, "rb") as f:
                return _check_secret(f.read(), path)
        except FileNotFoundError:
            pass
        self._dir(self.root)
        # Write the key under a unique name, then link it into place: link fails if
        # another process won the race, and nobody ever reads a half-written key.
        tmp = f"{path}.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        with open(path, "rb") as f:
            return _check_secret(f.read(), path)

    def write_stats(self, name: str, data: dict[str, Any]) -> None:
        # mkdir, not makedirs: a cache folder removed meanwhile stays removed.
        folder = os.path.join(self.root, "stats")
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
        path = os.path.join(folder, name + ".json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)

    def read_stats(self) -> list[dict[str, Any]]:
        folder = os.path.join(self.root, "stats")
        found: list[dict[str, Any]] = []
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return found
        for name in names:
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(folder, name)) as f:
                    found.append(json.load(f))
            except (OSError, ValueError):
                continue
        return found

    def clean(self, older_than: float) -> int:
        removed = 0
        now = time.time()
        for sub in ("tmp", "locks"):
            folder = os.path.join(self.root, sub)
            try:
                items = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            for item in items:
                try:
                    if now - item.stat().st_mtime < older_than:
                        continue
                    if sub == "locks" and not _idle_lock(item.path):
                        continue
                    os.unlink(item.path)
                    removed += 1
                except OSError:
                    continue
        return removed


def _idle_lock(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _check_secret(data: bytes, where: str) -> bytes:
    if len(data) < 16:
        raise ValueError(f"{where}: the cache key is shorter than 16 bytes")
    return data


class RemoteStore(Store):
    """Any fsspec filesystem (s3://, gs://, memory://, ...)."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None) -> None:
        try:
            import fsspec  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise ValueError(
                f"the cache location {url!r} needs fsspec: pip install 'brined[cache]'"
            ) from exc
        self.fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = path.rstrip("/")
        self.url = url

    def is_cache(self) -> bool:
        return bool(
            self.fs.exists(f"{self.root}/key") or self.fs.exists(f"{self.root}/entries")
        )

    def read(self, path: str) -> Any | None:
        try:
            return self.fs.cat_file(path)
        except FileNotFoundError:
            return None

    def write(self, path: str, parts: Iterable[Any]) -> None:
        self.fs.pipe_file(path, b"".join(parts))

    def read_range(self, path: str, start: int, end: int) -> bytes:
        return bytes(self.fs.cat_file(path, start=start, end=end))

    def delete(self, path: str) -> bool:
        try:
            self.fs.rm_file(path)
            return True
        except FileNotFoundError:
            return False

    def entries(self) -> Iterator[EntryInfo]:
        base = f"{self.root}/entries"
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        for path, info in found.items():
            rest = path[len(base) :].strip("/").split("/")
            if len(rest) != 2:
                continue
            yield EntryInfo(
                rest[0], rest[1], int(info.get("size") or 0), _mtime(info), path
            )

    def secret(self) -> bytes:
        path = f"{self.root}/key"
        try:
            return _check_secret(self.fs.cat_file(path), self.url + "/key")
        except FileNotFoundError:
            pass
        self.fs.pipe_file(path, secrets.token_bytes(32))
        return _check_secret(self.fs.cat_file(path), self.url + "/key")

    def write_stats(self, name: str, data: dict[str, Any]) -> None:
        self.fs.pipe_file(f"{self.root}/stats/{name}.json", json.dumps(data).encode())

    def read_stats(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        try:
            paths = self.fs.find(f"{self.root}/stats")
        except FileNotFoundError:
            return found
        for path in paths:
            try:
                found.append(json.loads(self.fs.cat_file(path)))
            except (OSError, ValueError):
                continue
        return found


def _mtime(info: dict[str, Any]) -> float:
    for field in ("LastModified", "mtime", "created", "last_modified"):
        value = info.get(field)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        with contextlib.suppress(TypeError, ValueError):
            return float(value)
    return 0.0


def open_store(location: Any, storage_options: dict[str, Any] | None = None) -> Store:
    """The store for a path or URL; ``file://`` and plain paths are local."""
    text = os.fspath(location)
    if "://" in text and not text.startswith("file://"):
        return RemoteStore(text, storage_options)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return LocalStore(text)
