"""`Checkpoint`: atomic, verified generations of one program's state.

Rules this module keeps (docs/checkpoint.md explains why):
- a generation is written to a temporary file, fsynced, renamed into place and
  the folder fsynced; a finished generation is never rewritten;
- only the process holding the lock file writes, deletes or cleans up;
- `restore` verifies a whole generation (trailer, CRC-32, HMAC) before a
  single opcode of it runs, and falls back to older generations with a warning.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import io
import os
import queue
import re
import sys
import threading
import time
import warnings
import weakref
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import brined

from ._format import (
    FORMAT_VERSION,
    CheckpointError,
    CorruptCheckpointError,
    NotACheckpointError,
    TrailerInfo,
    build_trailer,
    check_buffer,
    default_info,
    new_mac,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "Checkpoint",
    "CheckpointLockedError",
    "CheckpointWarning",
    "parse_interval",
    "write_atomic",
]

# From the first chunk at least this large on, the checksum runs in a helper
# thread beside the writes and the fsync (see _Sink).
_PARALLEL_HASH_MIN = 1 << 20


# Checkpoints whose background save failed and nobody has called wait() yet;
# at exit their errors are printed rather than lost.
_UNREPORTED: weakref.WeakSet[Checkpoint] = weakref.WeakSet()


@atexit.register
def _report_lost_errors() -> None:
    for ckpt in list(_UNREPORTED):
        sys.stderr.write(
            f"brined: background save of checkpoint {ckpt.path} failed: "
            f"{ckpt._error!r}\n"
        )


class CheckpointLockedError(CheckpointError):
    """Another process (or another `Checkpoint` object) is saving to this path."""


class CheckpointWarning(UserWarning):
    """A generation was skipped by `restore` (its file and reason are named)."""


def parse_interval(every: float | str | datetime.timedelta) -> float:
    """Seconds from ``30``, ``"60s"``, ``"500ms"``, ``"5m"``, ``"1.5h"``, ``"1d"``
    or a timedelta.  Raises ValueError for anything else."""
    if isinstance(every, datetime.timedelta):
        seconds = every.total_seconds()
    elif isinstance(every, (int, float)) and not isinstance(every, bool):
        seconds = float(every)
    elif isinstance(every, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*", every)
        if m is None:
            raise ValueError(f"bad interval {every!r}: use e.g. '60s', '5m', '1h'")
        unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2] or "s"]
        seconds = float(m[1]) * unit
    else:
        raise ValueError(f"bad interval {every!r}: a number of seconds or '60s'")
    if seconds < 0:
        raise ValueError(f"bad interval {every!r}: negative")
    return seconds


class _Progress:
    """A byte counter drawn by tqdm or rich; None when neither applies."""

    def __init__(self, update: Callable[[int], Any], close: Callable[[], Any]):
        self.update = update
        self.close = close

    @staticmethod
    def make(desc: str, want: bool | None) -> _Progress | None:
        if want is False or (want is None and not sys.stderr.isatty()):
            return None
        try:
            from tqdm import tqdm  # type: ignore[import-untyped]
        except ImportError:
            pass
        else:
            # Automatic bars wait half a second, so quick saves draw nothing.
            delay = 0.5 if want is None else 0.0
            bar = tqdm(desc=desc, unit="B", unit_scale=True, delay=delay, leave=False)
            return _Progress(bar.update, bar.close)
        try:
            from rich.progress import Progress
        except ImportError:
            return None
        rich_bar = Progress(transient=True)
        rich_bar.start()
        task = rich_bar.add_task(desc, total=None)

        def update(n: int) -> None:
            rich_bar.advance(task, n)

        return _Progress(update, rich_bar.stop)


class _Sink:
    """The pickler's file: checksums (and MACs) what passes, and writes it.

    From the first chunk of `_PARALLEL_HASH_MIN` bytes or more on, the CRC-32
    (and HMAC) run in a helper thread, chunk by chunk in order, while this
    thread goes on writing and then fsyncs: zlib, hashlib, writes and fsync all
    release the GIL.  Chunks are kept, not copied, until digested, so a writer
    must not change a buffer it has handed over before `finish`; the pickler
    hands over bytes and views of the objects being saved, which hold still.
    """

    def __init__(self, f: Any, key: bytes | None, progress: _Progress | None):
        self._f = f
        self.crc = 0
        self.mac = None if key is None else new_mac(key)
        self.length = 0
        self._progress = progress
        self._queue: queue.SimpleQueue[Any] | None = None
        self._hasher: threading.Thread | None = None
        # Each counter has one writer (this thread / the helper): no lock.
        self._queued = 0
        self._digested = 0
        self._abandon = False
        self._failure: BaseException | None = None

    def _digest(self, data: Any) -> None:
        self.crc = zlib.crc32(data, self.crc)
        if self.mac is not None:
            self.mac.update(data)

    def _hash_queued(self) -> None:
        assert self._queue is not None
        while True:
            data = self._queue.get()
            if data is None:
                return
            if not self._abandon and self._failure is None:
                try:
                    self._digest(data)
                except BaseException as exc:  # re-raised by finish()
                    self._failure = exc
            self._digested += 1

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        if self._queue is None and n >= _PARALLEL_HASH_MIN:
            # A plain thread, not an executor: executors refuse work once the
            # interpreter starts exiting, when a background save may still run.
            self._queue = queue.SimpleQueue()
            self._hasher = threading.Thread(
                target=self._hash_queued, name="brined-checkpoint-hash"
            )
            self._hasher.start()
        if self._queue is not None:
            self._queue.put(data)
            self._queued += 1
        else:
            self._digest(data)
        self._f.write(data)
        self.length += n
        if self._progress is not None:
            self._progress.update(n)
        return n

    @property
    def hashing(self) -> bool:
        """True while the helper thread still has chunks to digest."""
        return self._digested < self._queued

    def finish(self, abandon: bool = False) -> None:
        """Stop the helper thread (if any): `crc` and `mac` are then complete.

        With `abandon` (after an error) the chunks still queued are dropped
        unhashed.  Idempotent; re-raises an error of the helper thread.
        """
        hasher, self._hasher = self._hasher, None
        if hasher is not None:
            assert self._queue is not None
            self._abandon = abandon
            self._queue.put(None)
            hasher.join()
        if self._failure is not None and not abandon:
            raise self._failure


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms that cannot open a folder
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: str,
    dump: Callable[[Any], None],
    *,
    kind: str,
    protocol: int,
    key: bytes | None = None,
    progress: bool | None = None,
    tmp_path: str | None = None,
    extra_info: dict[str, Any] | None = None,
) -> TrailerInfo:
    """Write ``dump(file)``'s pickle plus a trailer to `path`, atomically.

    The bytes go to `tmp_path` (default ``path + ".tmp"``), which is fsynced,
    renamed to `path`, and the folder fsynced.  On any error the temporary file
    is removed and the error re-raised; `path` is untouched.
    """
    tmp = tmp_path or path + ".tmp"
    folder = os.path.dirname(os.path.abspath(path))
    info = default_info(kind, protocol)
    info.update(extra_info or {})
    bar = _Progress.make(f"saving {os.path.basename(path)}", progress)
    try:
        with open(tmp, "wb") as f:
            sink = _Sink(f, key, bar)
            try:
                dump(sink)
                if sink.length == 0:
                    raise CheckpointError("the pickler wrote nothing")
                f.flush()
                if sink.hashing:
                    # The pickle goes to disk while the helper thread finishes
                    # its checksum; the second fsync below then has only the
                    # trailer to write.
                    os.fsync(f.fileno())
                sink.finish()
            finally:
                sink.finish(abandon=True)
            created = time.time_ns()
            trailer = build_trailer(sink.length, sink.crc, created, info, sink.mac)
            f.write(trailer)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        if bar is not None:
            bar.close()
    _fsync_dir(folder)
    mac_ok = sink.mac is not None
    return TrailerInfo(
        version=FORMAT_VERSION,
        pickle_length=sink.length,
        trailer_length=len(trailer),
        created_ns=created,
        checksum="crc32",
        digest=sink.crc.to_bytes(4, "big"),
        has_hmac=mac_ok,
        hmac_checked=mac_ok,
        info=info,
    )


def read_verified(path: str, key: bytes | None = None) -> tuple[bytes, TrailerInfo]:
    """The bytes of the checkpoint file `path` and its verified trailer.

    Raises OSError when unreadable, NotACheckpointError or CorruptCheckpointError
    (see `check_buffer`).
    """
    with open(path, "rb") as f:
        data = f.read()
    return data, check_buffer(data, key, path)


def _as_key(key: bytes | str | None) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise TypeError("key must be non-empty bytes or str")
    return bytes(key)


class Checkpoint:
    """Crash-safe, verified generations of a program's state at `path`.

    Each `save` writes a new generation ``path.NNNNNNNN`` (temporary file, fsync,
    rename, fsync of the folder) and then deletes all but the newest `keep`.
    `restore` returns the newest generation that verifies, warning
    (`CheckpointWarning`) about each newer one it skips, or `default`.

    `key` (bytes or str) adds an HMAC-SHA256 to every generation and makes
    `restore` refuse generations without a valid one.  Loading is brined's safe
    loader with `allow` (and `limits`) unless `trusted` is true; `trusted`
    defaults to true exactly when a key is set and no `allow` is given, since a
    valid HMAC proves a holder of the key wrote the file.  `protocol` defaults to
    5 (numpy arrays and other buffers are written straight from memory).
    `progress`: None shows a progress bar (tqdm or rich) when stderr is a
    terminal, True always when available, False never.

    The first `save` takes an exclusive lock (``path.lock``, flock) held until
    `close`; a second saver gets `CheckpointLockedError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        keep: int = 3,
        *,
        key: bytes | str | None = None,
        allow: Iterable[object] | str | None = None,
        trusted: bool | None = None,
        limits: brined.Limits | None = None,
        protocol: int = 5,
        progress: bool | None = None,
    ) -> None:
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise ValueError(f"keep must be an int >= 1, not {keep!r}")
        self.path = os.fspath(path)
        self.keep = keep
        self._key = _as_key(key)
        self._allow = allow
        self.trusted = (
            trusted
            if trusted is not None
            else (self._key is not None and allow is None)
        )
        self._limits = limits
        self.protocol = protocol
        self.progress = progress
        self._folder = os.path.dirname(os.path.abspath(self.path))
        self._base = os.path.basename(self.path)
        self._gen_re = re.compile(re.escape(self._base) + r"\.(\d{8,})")
        self._tmp_re = re.compile(re.escape(self._base) + r"\.(\d{8,})\.tmp")
        self._lock_fd: int | None = None
        self._last_save: float | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._mutex = threading.Lock()
        #: The generation file `restore` loaded last (None before / when default).
        self.restored_path: str | None = None

    def __repr__(self) -> str:
        return f"Checkpoint({self.path!r}, keep={self.keep})"

    def __del__(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)  # type: ignore[arg-type]

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generations ----------------------------------------------------------

    def generations(self) -> list[str]:
        """The generation files on disk, oldest first (not verified)."""
        try:
            names = os.listdir(self._folder)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            m = self._gen_re.fullmatch(name)
            if m is not None:
                found.append((int(m[1]), name))
        found.sort()
        return [os.path.join(self._folder, name) for _, name in found]

    def _gen_number(self, path: str) -> int:
        m = self._gen_re.fullmatch(os.path.basename(path))
        assert m is not None
        return int(m[1])

    # -- restore --------------------------------------------------------------

    def restore(self, default: Any = None) -> Any:
        """The state of the newest generation that verifies, or `default`.

        Newer generations that fail verification (truncated, corrupt, wrong or
        missing HMAC) are skipped with a `CheckpointWarning` naming the file;
        none of their opcodes runs.  A verified generation that the loader
        refuses (say, a global outside `allow`) raises that error: it is not
        corruption, and falling back would silently lose progress.
        """
        if self._thread is not None:
            self._thread.join()  # its error is for wait() and the next save
        for path in reversed(self.generations()):
            try:
                data, trailer = read_verified(path, self._key)
                number = trailer.info.get("generation")
                if number != self._gen_number(path):
                    # A file renamed or copied over another generation.
                    raise CorruptCheckpointError(
                        f"the trailer says generation {number!r}, the name "
                        f"{self._gen_number(path)}",
                        path,
                    )
            except FileNotFoundError:
                continue  # pruned by the saver meanwhile
            except (CorruptCheckpointError, NotACheckpointError, OSError) as exc:
                warnings.warn(
                    f"skipping checkpoint generation {path}: {exc}",
                    CheckpointWarning,
                    stacklevel=2,
                )
                continue
            state = brined.loads(
                data,
                trusted=self.trusted,
                allow=None if self.trusted else self._allow,
                limits=self._limits,
            )
            self.restored_path = path
            return state
        self.restored_path = None
        return default

    # -- save -----------------------------------------------------------------

    def _lock(self) -> None:
        if self._lock_fd is not None:
            return
        os.makedirs(self._folder, exist_ok=True)
        lock_path = self.path + ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = os.read(fd, 64).decode("ascii", "replace").strip()
                finally:
                    os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise CheckpointLockedError(
                    f"{self.path} is being saved by another process{who}; "
                    "one checkpoint has one writer at a time"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def close(self) -> None:
        """Finish a background save, then release the lock (if held)."""
        try:
            self.wait()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing releases the flock
                self._lock_fd = None

    def wait(self) -> None:
        """Wait for a background save; re-raise its error, if any."""
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None
        error, self._error = self._error, None
        _UNREPORTED.discard(self)
        if error is not None:
            raise error

    def save(
        self,
        state: Any,
        every: float | str | datetime.timedelta | None = None,
        background: bool = False,
    ) -> str | None:
        """Write `state` as a new generation; return its path (None if skipped).

        `every` (seconds, ``"60s"``, ``"5m"``, a timedelta) skips the save when
        this object saved less than that long ago.  ``background=True`` pickles
        `state` now, in memory, and writes it in a thread: later changes to
        `state` do not leak into it; `wait` (or the next save, `close`,
        interpreter exit) finishes it and raises its error.  Errors while
        writing (disk full...) leave the earlier generations untouched and no
        partial file behind.
        """
        if (
            every is not None
            and self._last_save is not None
            and time.monotonic() - self._last_save < parse_interval(every)
        ):
            return None
        with self._mutex:  # one save at a time through one object
            return self._save(state, background)

    def _save(self, state: Any, background: bool) -> str | None:
        self.wait()
        self._lock()
        path, tmp = self._next_paths()
        if not background:
            self._write(path, tmp, lambda f: brined.dump(state, f, self.protocol))
            return path
        buf = io.BytesIO()
        brined.dump(state, buf, self.protocol)
        data = buf.getbuffer()
        self._last_save = time.monotonic()
        self._thread = threading.Thread(
            target=self._background,
            args=(path, tmp, data),
            name="brined-checkpoint",
        )
        self._thread.start()
        return path

    def _background(self, path: str, tmp: str, data: memoryview) -> None:
        try:
            self._write(path, tmp, lambda f: f.write(data))
        except BaseException as exc:  # re-raised by wait()
            self._error = exc
            _UNREPORTED.add(self)

    def _next_paths(self) -> tuple[str, str]:
        # Temporary files are left only by a save that died; we hold the lock,
        # so no other save is writing one now.
        last = 0
        for name in os.listdir(self._folder):
            m = self._tmp_re.fullmatch(name) or self._gen_re.fullmatch(name)
            if m is None:
                continue
            last = max(last, int(m[1]))
            if name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self._folder, name))
        name = f"{self._base}.{last + 1:08d}"
        path = os.path.join(self._folder, name)
        return path, path + ".tmp"

    def _write(self, path: str, tmp: str, dump: Callable[[Any], None]) -> None:
        write_atomic(
            path,
            dump,
            kind="checkpoint",
            protocol=self.protocol,
            key=self._key,
            progress=self.progress,
            tmp_path=tmp,
            extra_info={"generation": self._gen_number(path)},
        )
        self._last_save = time.monotonic()
        self._prune()

    def _prune(self) -> None:
        for old in self.generations()[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)
