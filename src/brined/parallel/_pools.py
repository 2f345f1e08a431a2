"""The stdlib's pools, shipping code and data with `brined.cloud`.

Each class is the stdlib's with its entry points wrapping what they are given
(see `_payload`): the pools' own machinery (queues, workers, result handling,
traceback text of worker errors) is untouched.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.context
import multiprocessing.pool
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from multiprocessing import resource_tracker
from typing import Any

from ._payload import (
    BARE,
    CHUNK,
    DEFAULT_SHM_THRESHOLD,
    RETURNING,
    STARCHUNK,
    ByValue,
    Function,
    call,
    discard,
)
from ._payload import shm_available as _shm_available


def _threshold(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError("shm_threshold must be >= 0 or None")
    if value is None or not _shm_available():
        return None
    # Segments are registered by the side that creates them and unregistered by
    # the side that maps them: both must talk to one tracker.  Forked workers
    # share the parent's only if it runs before they are forked.
    resource_tracker.ensure_running()
    return value


def _initialize(box: Any) -> None:
    # Under fork the initializer arrives as the ByValue box itself (never
    # pickled); under spawn and forkserver as what the box unpickled to.
    fn, args = box.obj if isinstance(box, ByValue) else box
    fn(*args)


def _initializer(
    initializer: Callable[..., object] | None, initargs: Iterable[Any]
) -> tuple[Callable[..., object] | None, tuple[Any, ...]]:
    if initializer is None:
        return None, ()
    return _initialize, (ByValue((initializer, tuple(initargs)), None),)


def _raw_context(context: Any) -> Any:
    return context._ctx if isinstance(context, Context) else context


class _Discard:
    """A done-callback: unlink the task's segments if no worker took them."""

    def __init__(self, box: ByValue) -> None:
        self.box = box

    def __call__(self, future: Future[Any]) -> None:
        discard(self.box.segments)


class ProcessPoolExecutor(concurrent.futures.ProcessPoolExecutor):
    """`concurrent.futures.ProcessPoolExecutor` that takes lambdas, closures and
    ``__main__`` functions.

    Callables, arguments, results and exceptions travel by value with
    `brined.cloud`; contiguous buffers of `shm_threshold` bytes or more (numpy
    arrays, `bytes`, ...) through shared memory (None: always the pipe).  An
    exception raised in a worker is re-raised with the worker's traceback text
    as its ``__cause__``, as the stdlib's does.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        mp_context: Any = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        max_tasks_per_child: int | None = None,
        shm_threshold: int | None = DEFAULT_SHM_THRESHOLD,
    ) -> None:
        self._shm_threshold = _threshold(shm_threshold)
        init, args = _initializer(initializer, initargs)
        super().__init__(
            max_workers,
            _raw_context(mp_context),
            init,
            args,
            max_tasks_per_child=max_tasks_per_child,
        )

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        box = ByValue((fn, args, kwargs), self._shm_threshold)
        future = super().submit(call, box, self._shm_threshold)
        if self._shm_threshold is not None:
            future.add_done_callback(_Discard(box))
        return future

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        # Pickle the function once, not once per task; each worker loads it once.
        shipped: Any = Function(fn, BARE, None)
        return super().map(shipped, *iterables, timeout=timeout, chunksize=chunksize)


class Pool(multiprocessing.pool.Pool):
    """`multiprocessing.pool.Pool` that takes lambdas, closures and ``__main__``
    functions (and arguments the stdlib cannot pickle).

    Same API as the stdlib's; `shm_threshold` as for `ProcessPoolExecutor`.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: Any = None,
        *,
        shm_threshold: int | None = DEFAULT_SHM_THRESHOLD,
    ) -> None:
        self._shm_threshold = _threshold(shm_threshold)
        init, args = _initializer(initializer, initargs)
        super().__init__(processes, init, args, maxtasksperchild, _raw_context(context))

    def _fn(self, func: Callable[..., Any], mode: str = RETURNING) -> Any:
        return Function(func, mode, self._shm_threshold)

    def _items(self, iterable: Iterable[Any]) -> Iterator[Any]:
        threshold = self._shm_threshold
        return (ByValue(item, threshold) for item in iterable)

    def _chunked(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        chunksize: int | None,
        star: bool,
        callback: Callable[[Any], object] | None,
        error_callback: Callable[[BaseException], object] | None,
    ) -> _FlatResult:
        # One by-value pickle per chunk, not per item: chunks are made here
        # (as the stdlib makes them) and each is one task.
        items = list(iterable)
        if chunksize is None:
            # The stdlib's own rule; _pool is its list of worker processes.
            workers = len(self._pool)  # type: ignore[attr-defined]
            chunksize, extra = divmod(len(items), workers * 4)
            if extra:
                chunksize += 1
        chunksize = max(chunksize, 1)
        threshold = self._shm_threshold
        chunks = [
            ByValue(items[i : i + chunksize], threshold)
            for i in range(0, len(items), chunksize)
        ]
        inner = super().map_async(
            self._fn(func, STARCHUNK if star else CHUNK),
            chunks,
            1,
            None if callback is None else _Flatten(callback),
            error_callback,
        )
        return _FlatResult(inner)

    def apply_async(  # type: ignore[override]
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: dict[str, Any] | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> multiprocessing.pool.AsyncResult[Any]:
        box = ByValue((func, tuple(args), dict(kwds or {})), self._shm_threshold)
        return super().apply_async(
            call, (box, self._shm_threshold), {}, callback, error_callback
        )

    def map(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
    ) -> list[Any]:
        return self._chunked(func, iterable, chunksize, False, None, None).get()

    def map_async(  # type: ignore[override]
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> _FlatResult:
        return self._chunked(func, iterable, chunksize, False, callback, error_callback)

    def starmap(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
    ) -> list[Any]:
        return self._chunked(func, iterable, chunksize, True, None, None).get()

    def starmap_async(  # type: ignore[override]
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> _FlatResult:
        return self._chunked(func, iterable, chunksize, True, callback, error_callback)

    def imap(  # type: ignore[override]
        self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: int = 1
    ) -> multiprocessing.pool.IMapIterator[Any]:
        return super().imap(self._fn(func), self._items(iterable), chunksize)

    def imap_unordered(  # type: ignore[override]
        self, func: Callable[..., Any], iterable: Iterable[Any], chunksize: int = 1
    ) -> multiprocessing.pool.IMapIterator[Any]:
        return super().imap_unordered(self._fn(func), self._items(iterable), chunksize)


def _flatten(chunks: list[list[Any]]) -> list[Any]:
    return [item for chunk in chunks for item in chunk]


class _Flatten:
    """A map callback given the flat list, not the per-chunk lists."""

    def __init__(self, callback: Callable[[Any], object]) -> None:
        self.callback = callback

    def __call__(self, chunks: list[list[Any]]) -> None:
        self.callback(_flatten(chunks))


class _FlatResult:
    """What `Pool.map_async` returns: the stdlib's `MapResult` interface
    (`get`, `wait`, `ready`, `successful`) over the per-chunk results."""

    def __init__(self, inner: multiprocessing.pool.MapResult[Any]) -> None:
        self._inner = inner

    def get(self, timeout: float | None = None) -> list[Any]:
        return _flatten(self._inner.get(timeout))

    def wait(self, timeout: float | None = None) -> None:
        self._inner.wait(timeout)

    def ready(self) -> bool:
        return self._inner.ready()

    def successful(self) -> bool:
        return self._inner.successful()


class Context:
    """A `multiprocessing` context whose `Pool` and `ProcessPoolExecutor` ship
    code by value; every other attribute is the wrapped stdlib context's."""

    def __init__(self, method: str | None = None) -> None:
        self._ctx = multiprocessing.get_context(method)

    def Pool(  # noqa: N802 -- the stdlib's name
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        *,
        shm_threshold: int | None = DEFAULT_SHM_THRESHOLD,
    ) -> Pool:
        """A by-value `Pool` whose workers start with this context's method."""
        return Pool(
            processes,
            initializer,
            initargs,
            maxtasksperchild,
            self._ctx,
            shm_threshold=shm_threshold,
        )

    def ProcessPoolExecutor(  # noqa: N802 -- named after the class it makes
        self, max_workers: int | None = None, **kwargs: Any
    ) -> ProcessPoolExecutor:
        """A by-value `ProcessPoolExecutor` using this context."""
        return ProcessPoolExecutor(max_workers, mp_context=self._ctx, **kwargs)

    def get_start_method(self, allow_none: bool = False) -> str:
        method: str | None = self._ctx.get_start_method(allow_none)
        return method or ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def __repr__(self) -> str:
        return f"<brined.parallel.Context {self.get_start_method()!r}>"


def get_context(method: str | None = None) -> Context:
    """The by-value counterpart of `multiprocessing.get_context(method)`:
    ``get_context("spawn").Pool(2)``."""
    return Context(method)
