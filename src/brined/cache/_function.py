"""A function wrapped by a `Cache`: its key, and the call path of a hit or a miss."""

from __future__ import annotations

import datetime
import functools
import hashlib
import inspect
import types
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._common import CacheMiss, CacheWarning, Found, folder_name, parse_ttl
from ._keys import bind_arguments, code_fingerprint, content_hash, target_of

__all__ = ["CachedFunction"]

R = TypeVar("R")

# Argument types whose repr names the value exactly (see CachedFunction.key).
_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})


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
        cache: Any,  # the Cache (not imported: _core imports this module)
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
        self._folder = folder_name(name)
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

    def _fresh(self, key: str) -> tuple[Found | None, bool, Any]:
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

    def _offline(self, key: str, found: Found | None) -> Any:
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

    def _keep(self, key: str, value: Any) -> None:
        """Store a result just computed (a miss), once it passed the checks."""
        self._check_result(value)
        self._cache._count(self._name, False)
        self._cache._save(self._folder, key, value, self._name, self._ttl)

    def _stale_value(self, found: Found | None) -> tuple[bool, Any]:
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
            self._keep(key, value)
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
        self._keep(key, value)
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
