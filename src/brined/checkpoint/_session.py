"""Sessions: a module's globals saved to a checkpoint file and restored.

Functions and classes defined in the module go by value (brined.cloud),
imported modules by reference.  A global that cannot be pickled is skipped and
reported, never allowed to lose the rest.  The file is a checkpoint generation
(pickle + trailer, kind "session"), written atomically and verified on load.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import brined

from . import _deps
from ._format import CheckpointError
from ._store import _as_key, read_verified, write_atomic

__all__ = [
    "SessionError",
    "SessionReport",
    "SessionWarning",
    "Skipped",
    "SkippedGlobal",
    "load_session",
    "save_session",
]

PAYLOAD_FORMAT = "brined-session"
PAYLOAD_VERSION = 1
_PROTOCOL = 5
# IPython's own globals in a notebook's namespace: history, output cache,
# the shell, and exit/quit (which hold the shell).
_IPYTHON_NAMES = re.compile(r"_+|_[iod]h|_i+|_i?\d+|In|Out|get_ipython|exit|quit")
_MAX_PATH_DEPTH = 50
_MAX_CHILDREN = 10_000


class SessionWarning(UserWarning):
    """`save_session` skipped globals that cannot be pickled (see the report)."""


@dataclass(frozen=True)
class Skipped:
    """A global that `save_session` left out, and why.

    `path` locates the object that failed inside the global (``cfg['conn']``,
    ``model.lock``); it is the name itself when the value as a whole failed.
    `type` is that object's type, `reason` the error, `hint` a fix if known.
    """

    name: str
    type: str
    reason: str
    path: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.path} ({self.type}): {self.reason}"
        return f"{text}; hint: {self.hint}" if self.hint else text


@dataclass
class SessionReport:
    """What `save_session` saved and skipped (or `load_session` restored)."""

    path: str
    module: str
    saved: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"session {self.path} (module {self.module}): "
            f"{len(self.saved)} globals, {len(self.skipped)} skipped"
        ]
        lines += [f"  skipped {s}" for s in self.skipped]
        return "\n".join(lines)


class SessionError(CheckpointError):
    """`save_session(..., strict=True)` met globals it cannot pickle.

    `report.skipped` lists them all; nothing was written.
    """

    def __init__(self, report: SessionReport) -> None:
        self.report = report
        names = ", ".join(s.path for s in report.skipped)
        super().__init__(f"cannot pickle {names}:\n{report}")


class SkippedGlobal:
    """Stands in, after `load_session`, for a global that was skipped at save
    time wherever another saved object referred to it (a list holding a lock
    that is also a global, say).  Functions defined in the module do not see
    it: they are re-bound to the module, where the name is simply unset until
    the program recreates it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<skipped by save_session: {self.name}>"

    def __reduce__(self) -> tuple[type[SkippedGlobal], tuple[str]]:
        return SkippedGlobal, (self.name,)


_PID_TAG = "brined.session.skipped"


def _pickler_class(cloud: Any) -> type:
    """brined.cloud's Pickler, writing the given globals as persistent ids."""

    class SessionPickler(cloud.Pickler):  # type: ignore[misc]
        stand_ins: dict[int, str] = {}

        def persistent_id(self, obj: Any) -> Any:
            name = self.stand_ins.get(id(obj))
            return None if name is None else (_PID_TAG, name)

    return SessionPickler


class _SessionUnpickler(brined.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and len(pid) == 2 and pid[0] == _PID_TAG:
            return SkippedGlobal(str(pid[1]))
        raise brined.UnpicklingError(f"unknown persistent id {pid!r} in a session")


class _NullSink:
    """A file that discards: pickling a value only to see if it fails."""

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _module(module: str | types.ModuleType) -> types.ModuleType:
    if isinstance(module, types.ModuleType):
        return module
    if module in sys.modules:
        return sys.modules[module]
    return importlib.import_module(module)


def _candidates(mod: types.ModuleType) -> dict[str, Any]:
    names = dict(vars(mod))
    ipython = "get_ipython" in names and "In" in names
    return {
        name: value
        for name, value in names.items()
        if not (name.startswith("__") and name.endswith("__"))
        and not (ipython and _IPYTHON_NAMES.fullmatch(name))
    }


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"[{k!r}]", v
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield f"[{i}]", v
    elif isinstance(obj, (set, frozenset)):
        for v in obj:
            yield f"{{{v!r}}}", v
    else:
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict) and not isinstance(obj, type):
            for k, v in state.items():
                yield f".{k}", v


def _find_path(name: str, value: Any, fails: Callable[[Any], bool]) -> tuple[str, Any]:
    """The innermost part of `value` that still fails to pickle, and its path."""
    path, current = name, value
    for _ in range(_MAX_PATH_DEPTH):
        for count, (suffix, child) in enumerate(_children(current)):
            if count >= _MAX_CHILDREN:
                return path, current
            if fails(child):
                path, current = path + suffix, child
                break
        else:
            break
    return path, current


def _dumps_null(pickler: type, value: Any, stand_ins: dict[int, str]) -> None:
    p = pickler(_NullSink(), _PROTOCOL)
    p.stand_ins = stand_ins
    p.dump(value)


def _diagnose(
    name: str,
    value: Any,
    exc: BaseException,
    pickler: type,
    stand_ins: dict[int, str],
) -> Skipped:
    problems = _deps.explain(value)
    if problems:
        first = problems[0]
        inner = str(getattr(first, "path", "") or "")
        # explain's paths start at "root" (older ones at "$"): the global's name.
        rest = inner[4:] if inner.startswith("root") else inner.lstrip("$")
        path = inner if inner.startswith(name) else name + rest
        return Skipped(
            name=name,
            type=str(getattr(first, "type", _type_name(value))),
            reason=str(getattr(first, "reason", exc)),
            path=path,
            hint=getattr(first, "hint", None),
        )

    def fails(obj: Any) -> bool:
        try:
            _dumps_null(pickler, obj, stand_ins)
        except Exception:
            return True
        return False

    path, culprit = _find_path(name, value, fails)
    reason = f"{type(exc).__name__}: {exc}"
    return Skipped(name=name, type=_type_name(culprit), reason=reason, path=path)


def _pickling_error(exc: BaseException) -> bool:
    # An OSError with an errno comes from the disk (full, I/O error), not from
    # an object that refuses to be pickled: it must reach the caller.
    return not (isinstance(exc, OSError) and exc.errno is not None)


def _write(
    path: str,
    payload: dict[str, Any],
    key: bytes | None,
    pickler: type,
    stand_ins: dict[int, str],
) -> None:
    def dump(f: Any) -> None:
        p = pickler(f, _PROTOCOL)
        p.stand_ins = stand_ins
        p.dump(payload)

    write_atomic(
        path,
        dump,
        kind="session",
        protocol=_PROTOCOL,
        key=key,
        extra_info={"module": payload["module"]},
    )


def save_session(
    path: str | os.PathLike[str],
    module: str | types.ModuleType = "__main__",
    *,
    strict: bool = False,
    key: bytes | str | None = None,
) -> SessionReport:
    """Save the globals of `module` (default ``__main__``) to `path`.

    Functions and classes defined there are pickled by value, imported modules
    by reference.  Each global that cannot be pickled (a socket, lock,
    generator, database connection, or anything holding one) is skipped and
    reported with its type, the reason and the path inside it; a
    `SessionWarning` names them.  ``strict=True`` raises `SessionError`
    instead, writing nothing.  `key` adds an HMAC (see `Checkpoint`).  The file
    is written atomically (temporary file, fsync, rename); an earlier file at
    `path` stays intact if saving fails.  Returns a `SessionReport`.
    """
    path = os.fspath(path)
    cloud = _deps.cloud()
    mod = _module(module)
    values = _candidates(mod)
    report = SessionReport(path=path, module=mod.__name__)
    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "version": PAYLOAD_VERSION,
        "module": mod.__name__,
        "globals": values,
        "skipped": [],
    }
    secret = _as_key(key)
    with _by_value(cloud, mod):
        _save_values(path, payload, report, secret, strict, cloud)
    report.saved = sorted(payload["globals"])
    if report.skipped:
        warnings.warn(str(report), SessionWarning, stacklevel=2)
    return report


@contextlib.contextmanager
def _by_value(cloud: Any, mod: types.ModuleType) -> Iterator[None]:
    # An importable module's functions and classes would go by reference;
    # a session keeps them as they are now, so register the module by value.
    registered = False
    if mod.__name__ != "__main__" and sys.modules.get(mod.__name__) is mod:
        try:
            if mod.__name__ not in cloud.list_registry_pickle_by_value():
                cloud.register_pickle_by_value(mod)
                registered = True
        except (AttributeError, ValueError):
            pass  # a cloud without the registry, or a module it refuses
    try:
        yield
    finally:
        if registered:
            cloud.unregister_pickle_by_value(mod)


def _save_values(
    path: str,
    payload: dict[str, Any],
    report: SessionReport,
    secret: bytes | None,
    strict: bool,
    cloud: Any,
) -> None:
    values = payload["globals"]
    pickler = _pickler_class(cloud)
    try:
        if strict:
            raise _TryEach
        _write(path, payload, secret, pickler, {})
    except Exception as exc:
        if not (isinstance(exc, _TryEach) or _pickling_error(exc)):
            raise
        # Each global alone, the other globals standing in as persistent ids:
        # a function that merely refers to a skipped global is still saved.
        others = {id(v): n for n, v in values.items()}
        good: dict[str, Any] = {}
        for name, value in values.items():
            alone = {k: n for k, n in others.items() if k != id(value)}
            try:
                _dumps_null(pickler, value, alone)
            except Exception as err:
                report.skipped.append(_diagnose(name, value, err, pickler, alone))
            else:
                good[name] = value
        if strict and report.skipped:
            raise SessionError(report) from None
        payload["globals"] = good
        payload["skipped"] = [
            (s.name, s.type, s.reason, s.path, s.hint) for s in report.skipped
        ]
        bad = {id(values[s.name]): s.name for s in report.skipped}
        _write(path, payload, secret, pickler, bad)


class _TryEach(Exception):
    """Internal: pickle the globals one by one (strict mode, or after a failure)."""


def _rebind(value: Any, saved_module: str, namespace: dict[str, Any]) -> Any:
    # By-value functions come back with a private globals dict; give top-level
    # functions, and the methods of top-level classes, the module's own dict,
    # so that they see later changes to its globals as they did before.
    if isinstance(value, types.FunctionType):
        if value.__module__ != saved_module or value.__globals__ is namespace:
            return value
        new = types.FunctionType(
            value.__code__,
            namespace,
            value.__name__,
            value.__defaults__,
            value.__closure__,
        )
        new.__kwdefaults__ = value.__kwdefaults__
        new.__qualname__ = value.__qualname__
        new.__doc__ = value.__doc__
        new.__dict__.update(value.__dict__)
        new.__annotations__ = value.__annotations__
        return new
    if isinstance(value, type) and value.__module__ == saved_module:
        for attr, member in list(vars(value).items()):
            if isinstance(member, types.FunctionType):
                setattr(value, attr, _rebind(member, saved_module, namespace))
            elif isinstance(member, (staticmethod, classmethod)) and isinstance(
                member.__func__, types.FunctionType
            ):
                wrapped = _rebind(member.__func__, saved_module, namespace)
                setattr(value, attr, type(member)(wrapped))
    return value


def load_session(
    path: str | os.PathLike[str],
    module: str | types.ModuleType | None = None,
    *,
    key: bytes | str | None = None,
) -> SessionReport:
    """Restore the globals saved by `save_session` into `module`.

    `module` defaults to the module the session was saved from (``__main__``
    usually); a name that cannot be imported gets a new, empty module.  The
    file is verified (trailer, checksum, and the HMAC when `key` is given)
    before anything in it runs.  A session holds code (functions and classes by
    value), so it is loaded TRUSTED, like running a script: load only sessions
    you wrote, and use `key` to make that provable.  Returns a `SessionReport`
    whose `skipped` lists what was left out at save time.
    """
    path = os.fspath(path)
    data, info = read_verified(path, _as_key(key))
    if info.info.get("kind") != "session":
        raise CheckpointError(
            f"{path}: a {info.info.get('kind')!r} file, not a session"
        )
    payload = _SessionUnpickler(io.BytesIO(data), trusted=True).load()
    if not (
        isinstance(payload, dict)
        and payload.get("format") == PAYLOAD_FORMAT
        and payload.get("version") == PAYLOAD_VERSION
    ):
        raise CheckpointError(f"{path}: not a brined session payload (version 1)")
    saved_module = payload["module"]
    wanted = module if module is not None else saved_module
    try:
        target = _module(wanted)
    except ImportError:
        assert isinstance(wanted, str)
        target = types.ModuleType(wanted)
        sys.modules[wanted] = target
    namespace = vars(target)
    restored = {
        name: _rebind(value, saved_module, namespace)
        for name, value in payload["globals"].items()
    }
    namespace.update(restored)
    report = SessionReport(path=path, module=target.__name__, saved=sorted(restored))
    report.skipped = [Skipped(*entry) for entry in payload["skipped"]]
    return report
