"""What crosses the pipe between a pool and its workers.

The stdlib pools pickle tasks and results with the stdlib pickler.  We hand them
wrapper objects whose ``__reduce__`` pickles the real content with `brined.cloud`
(functions by value) and whose reconstructor, run by the *receiving* side's
stdlib unpickler, loads it back: the pool machinery never sees anything but
bytes, and the user's code never sees a wrapper.

Large contiguous buffers (protocol 5, e.g. numpy arrays) above a threshold travel
through POSIX shared memory instead of the pipe: the sender copies each once into
a fresh segment; the receiver maps the segment, unlinks its name at once (so
nothing leaks if either side dies later) and builds the object on the mapping
without copying.  The mapping lives exactly as long as the objects built on it.

Everything here runs in workers too, so it is all module-level and importable.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable
from typing import Any

from .. import cloud

try:  # POSIX shared memory; elsewhere everything goes through the pipe
    import _posixshmem  # type: ignore[import-not-found]
    from multiprocessing import resource_tracker
    from multiprocessing.shared_memory import SharedMemory
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

# Buffers at least this large go through shared memory.  The two break even near
# 256 KiB; below, a segment's set-up costs more than the pipe; at 1 MiB shared
# memory is 2-3x faster (bench/bench_parallel.py, "threshold").
DEFAULT_SHM_THRESHOLD = 256 * 1024
_PROTOCOL = 5

# A segment: (name, size).  A payload: pickle bytes and its out-of-band segments.
Segment = tuple[str, int]


def shm_available() -> bool:
    return _posixshmem is not None


def pack(obj: Any, threshold: int | None) -> tuple[bytes, list[Segment]]:
    """Pickle `obj` by value; buffers of `threshold` bytes or more go to
    shared memory (None: none do)."""
    raws: list[memoryview] = []

    def keep_large(buf: Any) -> bool:
        if threshold is None or _posixshmem is None:
            return True
        try:
            raw = buf.raw()
        except BufferError:  # not contiguous: in band
            return True
        if raw.nbytes < threshold:
            return True
        raws.append(raw)
        return False

    data = cloud.dumps(obj, protocol=_PROTOCOL, buffer_callback=keep_large)
    segments: list[Segment] = []
    try:
        for raw in raws:
            shm = SharedMemory(create=True, size=max(raw.nbytes, 1))
            try:
                view = shm.buf
                assert view is not None
                view[: raw.nbytes] = raw
            finally:
                shm.close()
            segments.append((shm.name, raw.nbytes))
    except BaseException:
        discard(segments)
        raise
    return data, segments


def _attach(segment: Segment) -> memoryview:
    """Map a segment, unlink its name, and return a view of its bytes."""
    name, size = segment
    fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
    try:
        mapping = mmap.mmap(fd, max(size, 1))
    finally:
        os.close(fd)
        _posixshmem.shm_unlink("/" + name)
        resource_tracker.unregister("/" + name, "shared_memory")
    return memoryview(mapping)[:size]


def discard(segments: list[Segment]) -> None:
    """Unlink segments nobody will attach (a task cancelled before it ran)."""
    for name, _ in segments:
        try:
            _posixshmem.shm_unlink("/" + name)
        except FileNotFoundError:
            continue  # the receiver already took it
        resource_tracker.unregister("/" + name, "shared_memory")


def unpack(data: bytes, segments: list[Segment]) -> Any:
    """The reconstructor: load what `pack` wrote."""
    buffers = [_attach(s) for s in segments]
    return cloud.loads(data, buffers=buffers)


class ByValue:
    """Pickles as its `obj` packed by value; unpickles as that object."""

    __slots__ = ("obj", "threshold", "segments")

    def __init__(self, obj: Any, threshold: int | None) -> None:
        self.obj = obj
        self.threshold = threshold
        self.segments: list[Segment] = []

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        data, segments = pack(self.obj, self.threshold)
        self.segments = segments
        return unpack, (data, segments)


class _ReduceTo:
    """An exception's stand-in ``__reduce_ex__``: rebuild from its cloud bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __call__(self, protocol: Any) -> tuple[Any, ...]:
        return unpack, (self.data, [])


def _ship_exception(exc: BaseException) -> None:
    # The pool wraps `exc` with its traceback text and pickles it with the stdlib
    # pickler, which looks __reduce_ex__ up on the instance: give it one that
    # carries the exception by value (its class may live only in __main__ or a
    # closure).  If it cannot be pickled by value, leave it to the pool.
    try:
        data, _ = pack(exc, None)
    except Exception:
        return
    with contextlib.suppress(AttributeError, TypeError):
        exc.__reduce_ex__ = _ReduceTo(data)  # type: ignore[method-assign]


# Results of these exact types pickle the same by value as by the stdlib, so
# they skip the by-value round (a large share of a tiny task's cost).
_PLAIN: frozenset[type] = frozenset({int, float, complex, bool, str, type(None)})


def _returned(result: Any, threshold: int | None) -> Any:
    kind = type(result)
    if kind in _PLAIN:
        return result
    if (kind is list or kind is tuple) and all(type(x) in _PLAIN for x in result):
        return result
    return ByValue(result, threshold)


def call(task: Any, threshold: int | None) -> Any:
    """Run one task, ``(fn, args, kwargs)``, in a worker; the result goes back by
    value."""
    fn, args, kwargs = task
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        _ship_exception(exc)
        raise
    return _returned(result, threshold)


# -- functions shipped once per map ---------------------------------------------

_loaded: dict[bytes, Callable[..., Any]] = {}
_LOADED_MAX = 64


# How a worker applies a shipped function (see `Function`).
BARE = "bare"  # the worker gets the function itself
RETURNING = "returning"  # fn(*args): the result goes back by value
CHUNK = "chunk"  # [fn(x) for x in chunk], back by value as one list
STARCHUNK = "starchunk"  # [fn(*x) for x in chunk], back by value as one list


def load_function(data: bytes, mode: str, threshold: int | None) -> Callable[..., Any]:
    """Load a by-value function once per worker (keyed by its bytes)."""
    fn = _loaded.get(data)
    if fn is None:
        fn = cloud.loads(data)
        if len(_loaded) >= _LOADED_MAX:
            _loaded.clear()
        _loaded[data] = fn
    if mode == BARE:
        return fn
    if mode == RETURNING:
        return _Returning(fn, threshold)
    return _Chunk(fn, mode == STARCHUNK, threshold)


class _Returning:
    """A function whose results go back by value (for `multiprocessing.Pool`)."""

    def __init__(self, fn: Callable[..., Any], threshold: int | None) -> None:
        self.fn = fn
        self.threshold = threshold

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self.fn(*args, **kwargs)
        except BaseException as exc:
            _ship_exception(exc)
            raise
        return _returned(result, self.threshold)


class _Chunk:
    """Apply a function to a chunk of items; the results go back as one list."""

    def __init__(
        self, fn: Callable[..., Any], star: bool, threshold: int | None
    ) -> None:
        self.fn = fn
        self.star = star
        self.threshold = threshold

    def __call__(self, chunk: list[Any]) -> Any:
        fn = self.fn
        try:
            if self.star:
                results = [fn(*args) for args in chunk]
            else:
                results = [fn(item) for item in chunk]
        except BaseException as exc:
            _ship_exception(exc)
            raise
        return _returned(results, self.threshold)


class Function:
    """A function pickled by value once, loaded once per worker, applied as
    `mode` says (`BARE`, `RETURNING`, `CHUNK`, `STARCHUNK`)."""

    __slots__ = ("data", "mode", "threshold")

    def __init__(
        self, fn: Callable[..., Any], mode: str, threshold: int | None
    ) -> None:
        self.data = cloud.dumps(fn, protocol=_PROTOCOL)
        self.mode = mode
        self.threshold = threshold

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return load_function, (self.data, self.mode, self.threshold)
