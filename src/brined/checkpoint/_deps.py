"""The one place sessions reach features built beside them.

`brined.cloud` pickles functions and classes by value (cloudpickle's API);
`brined.explain` lists what in an object cannot be pickled, with a path.  Both
are optional here: sessions need cloud, and fall back to their own search for
the path when explain is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._format import CheckpointError

__all__ = ["cloud", "explain"]


def cloud() -> Any:
    """The `brined.cloud` module; CheckpointError when this brined lacks it."""
    try:
        return importlib.import_module("brined.cloud")
    except ImportError as exc:
        raise CheckpointError(
            "sessions need brined.cloud (by-value pickling of functions and "
            f"classes), which this installation lacks: {exc}"
        ) from exc


def explain(obj: Any) -> list[Any] | None:
    """``brined.explain(obj)`` (items with .path, .type, .reason, .hint), or None
    when this brined has no explain or it fails."""
    import brined

    fn = getattr(brined, "explain", None)
    if fn is None:
        return None
    try:
        return list(fn(obj))
    except Exception:  # a diagnostic must never lose the session being saved
        return None
