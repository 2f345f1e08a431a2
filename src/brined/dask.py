"""The ``"brined"`` serialization family for Dask distributed.

`register()` adds the family to `distributed.protocol.serialize` in this process;
every process that sends or receives it needs it: the client (call it), the
workers (``preload=["brined.dask"]``, or `BrinedPlugin`).  Then
``Client(serializers=["brined", ...], deserializers=["brined", ...])`` ships data
with `brined.cloud` (functions by value) and protocol-5 buffers (numpy arrays,
...) as separate frames, without copying them.

The receiving process decides how much it trusts what arrives: by default the
family loads like cloudpickle (anything, including code); `configure(trusted=
False, allow=[...])` makes it load with brined's safe policy instead, and
`BrinedPlugin(trusted=False, allow=...)` does that on every worker, also for
data sent with Dask's ``"pickle"`` family.  What that guards: data (scatter,
results, transfers between workers).  It does not guard task graphs, which Dask
always pickles with its own pickler and the scheduler loads (see docs/dask.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

try:
    from distributed import WorkerPlugin
    from distributed.protocol.serialize import (
        pickle_dumps,
    )
    from distributed.protocol.serialize import (
        register_serialization_family as _register_family,
    )
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "brined.dask needs Dask distributed: pip install 'brined[dask]'"
    ) from exc

from . import cloud
from . import loads as _safe_loads

__all__ = [
    "FAMILY",
    "BrinedPlugin",
    "configure",
    "dask_setup",
    "dumps",
    "loads",
    "register",
]

# distributed is untyped here.
register_serialization_family: Any = _register_family

FAMILY = "brined"
_PROTOCOL = 5

_lock = threading.Lock()
_trusted = True
_allow: Any = None


def configure(
    *, trusted: bool = True, allow: Iterable[object] | str | None = None
) -> None:
    """How this process loads the family: ``trusted=True`` (the default) loads
    anything, like cloudpickle; ``trusted=False`` loads with brined's safe
    policy, plus the names in `allow`."""
    global _trusted, _allow
    with _lock:
        _trusted = trusted
        _allow = allow if allow is None or isinstance(allow, str) else tuple(allow)


def dumps(
    x: Any, context: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """The family's serializer: a pickle frame, then one frame per buffer."""
    frames: list[Any] = [b""]
    writeable: list[bool] = []

    def out_of_band(buf: Any) -> None:
        view = memoryview(buf)
        frames.append(view)
        writeable.append(not view.readonly)

    protocol = (context or {}).get("pickle-protocol") or _PROTOCOL
    frames[0] = cloud.dumps(x, protocol=max(protocol, 5), buffer_callback=out_of_band)
    return {"serializer": FAMILY, "writeable": tuple(writeable)}, frames


def _buffers(header: dict[str, Any], frames: list[Any]) -> list[memoryview]:
    out = []
    for frame, writeable in zip(frames, header.get("writeable", ()), strict=False):
        view = memoryview(frame)
        if writeable and view.readonly:
            view = memoryview(bytearray(view))  # the receiver needs to write
        elif not writeable and not view.readonly:
            view = view.toreadonly()  # a flag, no copy
        out.append(view)
    return out


def loads(header: dict[str, Any], frames: list[Any]) -> Any:
    """The family's deserializer, trusting or safe as `configure` said."""
    data, buffers = frames[0], _buffers(header, frames[1:])
    if _trusted:
        return cloud.loads(data, buffers=buffers)
    return _safe_loads(data, buffers=buffers, allow=_allow)


def _safe_pickle_loads(header: dict[str, Any], frames: list[Any]) -> Any:
    # Dask's own "pickle" family, loaded by brined's safe policy: otherwise a
    # client could send with "pickle" what the "brined" family would refuse.
    data, buffers = frames[0], _buffers(header, frames[1:])
    return _safe_loads(data, buffers=buffers, allow=_allow)


def register() -> None:
    """Register the ``"brined"`` family in this process (idempotent)."""
    register_serialization_family(FAMILY, dumps, loads)


def harden_pickle_family() -> None:
    """Load Dask's ``"pickle"`` family in this process with brined's safe
    policy too (and the names given to `configure`)."""
    register_serialization_family("pickle", pickle_dumps, _safe_pickle_loads)


class BrinedPlugin(WorkerPlugin):
    """Register the family on every worker (``client.register_plugin(...)``).

    With ``trusted=False`` the worker loads both the ``"brined"`` and Dask's
    ``"pickle"`` family with brined's safe policy, allowing also `allow`.
    """

    name = "brined"

    def __init__(
        self, *, trusted: bool = True, allow: Iterable[object] | str | None = None
    ) -> None:
        self.trusted = trusted
        self.allow = allow if allow is None or isinstance(allow, str) else list(allow)

    def setup(self, worker: Any) -> None:
        register()
        configure(trusted=self.trusted, allow=self.allow)
        if not self.trusted:
            harden_pickle_family()


def dask_setup(worker: Any) -> None:
    """Worker preload hook (``preload=["brined.dask"]``): register the family.

    Reads ``brined.trusted`` and ``brined.allow`` from the Dask config
    (e.g. ``DASK_BRINED__TRUSTED=False``).
    """
    import dask.config

    register()
    trusted = bool(dask.config.get("brined.trusted", True))
    configure(trusted=trusted, allow=dask.config.get("brined.allow", None))
    if not trusted:
        harden_pickle_family()


register()
