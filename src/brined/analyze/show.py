"""The viewer: a pickle's contents as an indented tree, nothing executed.

`show` runs the scan with ``keep_value=True`` and renders the result: plain
data as values, large containers cut to their first items with a count of the
rest, and everything the scan did not import or call as a marked placeholder:

    <<would call os.system('echo hi')>>
    <<global uuid.UUID (allowed, not imported)>>
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._safe.policy import Policy
from ._symbols import (
    BoundedDict,
    BoundedList,
    BoundedSet,
    ElidedBytearray,
    ElidedBytes,
    ElidedStr,
    Symbol,
    brief,
    is_symbol,
)
from .scan import ScanReport, scan

__all__ = ["render", "show"]

MARK_OPEN = "<<"
MARK_CLOSE = ">>"


def _placeholder(value: Any) -> str:
    cls = value if isinstance(value, Symbol) else type(value)
    if cls is not value:
        text = f"instance of {cls.sym_label} (built without calling anything)"
    elif cls.sym_kind == "global":
        state = "refused" if cls.sym_status == "refused" else "allowed, not imported"
        text = f"global {cls.sym_label} ({state})"
    elif cls.sym_kind == "persistent":
        text = f"would call {cls.sym_label} (needs a persistent_load hook)"
    else:
        allowed = " (allowed)" if cls.sym_status != "refused" else ""
        text = f"would call {cls.sym_label}{allowed}"
    for op in cls.sym_ops[:3]:
        text += f", then {op}"
    if len(cls.sym_ops) > 3:
        text += f", then {len(cls.sym_ops) - 3} more"
    return f"{MARK_OPEN}{text}{MARK_CLOSE}"


def _total(value: Any) -> int:
    extra = (
        value.dropped
        if isinstance(value, (BoundedList, BoundedDict, BoundedSet))
        else 0
    )
    return len(value) + extra


def _scalar(value: Any, width: int) -> str | None:
    if is_symbol(value):
        return _placeholder(value)
    if isinstance(value, (ElidedBytes, ElidedStr, ElidedBytearray)):
        return brief(value, width)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return None
    return brief(value, width)


class _Renderer:
    def __init__(self, max_items: int, max_depth: int, width: int) -> None:
        self.max_items = max_items
        self.max_depth = max_depth
        self.width = width
        self.lines: list[str] = []
        self.path: set[int] = set()

    def node(self, value: Any, prefix: str, indent: str, depth: int) -> None:
        text = _scalar(value, self.width)
        if text is not None:
            self.lines.append(f"{indent}{prefix}{text}")
            return
        if id(value) in self.path:
            self.lines.append(f"{indent}{prefix}<cycle: {type(value).__name__}>")
            return
        total = _total(value)
        short = brief(value, self.width)
        if total == 0 or (len(short) <= 60 and "..." not in short and total < 8):
            self.lines.append(f"{indent}{prefix}{short}")
            return
        kind = type(value).__mro__[0]
        name = next(
            (
                t.__name__
                for t in kind.__mro__
                if t in (list, tuple, set, frozenset, dict)
            ),
            kind.__name__,
        )
        if depth >= self.max_depth:
            self.lines.append(f"{indent}{prefix}{name} of {total} items (too deep)")
            return
        self.lines.append(f"{indent}{prefix}{name} of {total} items:")
        self.path.add(id(value))
        inner = indent + "  "
        shown = 0
        if isinstance(value, dict):
            for key, item in value.items():
                if shown == self.max_items:
                    break
                self.node(item, f"{brief(key, 60)}: ", inner, depth + 1)
                shown += 1
        else:
            for i, item in enumerate(value):
                if shown == self.max_items:
                    break
                label = f"[{i}] " if isinstance(value, (list, tuple)) else "- "
                self.node(item, label, inner, depth + 1)
                shown += 1
        if total > shown:
            self.lines.append(f"{inner}... {total - shown} more items")
        self.path.discard(id(value))


def render(
    value: Any, *, max_items: int = 20, max_depth: int = 12, width: int = 100
) -> str:
    """Render a scanned value tree as text (see the module doc)."""
    renderer = _Renderer(max_items, max_depth, width)
    renderer.node(value, "", "", 0)
    return "\n".join(renderer.lines) + "\n"


def show(
    data: Any,
    *,
    allow: Iterable[object] | str | Policy | None = None,
    name: str = "<bytes>",
    size: int | None = None,
    max_items: int = 20,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
) -> tuple[ScanReport, str]:
    """Scan `data` (see `scan`) and render what loading it would give.

    `fix_imports`, `encoding` and `errors` mean what they mean for
    ``brined.loads`` (Python 2 pickles).  Returns the scan report and the text;
    when the pickle is not valid or the loader would refuse it before STOP, the
    text says so instead of a tree.
    """
    report = scan(
        data,
        allow=allow,
        name=name,
        size=size,
        keep_value=True,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
    )
    if report.stopped is not None:
        return report, f"(no value: loading stops here: {report.stopped})\n"
    return report, render(report.value, max_items=max_items)
