"""Stand-ins the scanner puts where loading would have imported, called or kept.

* A *symbol* stands for a global the scan did not import, or for what calling
  one would return.  Symbols are classes (instances of the `Symbol` metaclass),
  so the loader's own checks (``isinstance(cls, type)`` before NEWOBJ, the
  ``copyreg._reconstructor`` base checks) run on them exactly as on a real
  class; calling one, its ``__new__``, ``__setstate__``, ``append``, ``extend``,
  ``add`` and item assignment are reported to the scan and return new symbols.
* *Elided* values (`ElidedBytes`, `ElidedStr`, `ElidedBytearray`) stand for a
  large payload the feeder skipped: the real type, a short prefix, the length.
* An `OutOfBandBuffer` stands for the n-th buffer ``loads(buffers=...)``
  would be given (NEXT_BUFFER): empty, hashed by identity like a PickleBuffer.
* *Bounded* containers (`BoundedList`, `BoundedDict`, `BoundedSet`) stand for
  the empty containers a pickle fills: they keep the first `keep` items and
  count the rest, so scanning a huge list needs little memory.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = [
    "BoundedDict",
    "BoundedList",
    "BoundedSet",
    "ElidedBytearray",
    "ElidedBytes",
    "ElidedStr",
    "OutOfBandBuffer",
    "Recorder",
    "Symbol",
    "brief",
    "is_symbol",
    "make_symbol",
]


class Recorder(Protocol):
    """What symbols report to (the scanning unpickler)."""

    def on_call(self, target: Any, how: str, args: tuple[Any, ...], kw: Any) -> Any:
        """Record a call of `how` ("call", "__new__", "append", ...) on `target`."""


class Symbol(type):
    """Metaclass of symbols: each symbol is a class standing for one value."""

    sym_label: str
    sym_kind: str
    sym_status: str
    sym_ops: list[str]
    sym_recorder: Recorder

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.sym_recorder.on_call(cls, "call", args, kwargs)

    def __setitem__(cls, key: Any, value: Any) -> None:
        cls.sym_recorder.on_call(cls, "__setitem__", (key, value), None)

    def __iter__(cls) -> Any:
        # Lets REDUCE go on past a call whose arguments are a symbol.
        return iter(())

    def __repr__(cls) -> str:
        return f"<{cls.sym_label}>"


class _Method:
    """A method on symbols (class or instance access) that reports its calls."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        target = owner if obj is None else obj
        recorder: Recorder = owner.sym_recorder
        name = self.name

        def method(*args: Any, **kwargs: Any) -> Any:
            return recorder.on_call(target, name, args, kwargs or None)

        return method


class _SymbolBase:
    """Base of every symbol class; its instances come from ``object.__new__``."""

    __setstate__ = _Method("__setstate__")
    append = _Method("append")
    extend = _Method("extend")
    add = _Method("add")

    def __setitem__(self, key: Any, value: Any) -> None:
        type(self).sym_recorder.on_call(self, "__setitem__", (key, value), None)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"<instance of {type(self).sym_label}>"  # type: ignore[attr-defined]


def _symbol_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    return cls.sym_recorder.on_call(cls, "__new__", args, kwargs or None)


def make_symbol(label: str, status: str, recorder: Recorder, kind: str) -> Any:
    """A new symbol standing for `label` ("os.system", "os.system('x')").

    `kind` is "global", "result" (of a call) or "persistent".
    """
    namespace = {
        "sym_kind": kind,
        "__new__": staticmethod(_symbol_new),
        "sym_label": label,
        "sym_status": status,
        "sym_ops": [],
        "sym_recorder": recorder,
    }
    return Symbol("symbol", (_SymbolBase,), namespace)


def is_symbol(value: Any) -> bool:
    """True for a symbol or an instance of one."""
    return isinstance(value, (Symbol, _SymbolBase))


class ElidedBytes(bytes):
    """A bytes payload the scan skipped: holds a prefix; `length` is the real size."""

    length: int


class ElidedStr(str):
    """A str payload the scan skipped: holds a prefix; `length` is the byte size."""

    length: int


class ElidedBytearray(bytearray):
    """A bytearray payload the scan skipped (see `ElidedBytes`)."""

    length: int


class OutOfBandBuffer(bytes):
    """The `ordinal`-th out-of-band buffer: no data, compared by identity.

    Hashed and compared as the PickleBuffers a buffer_callback hands out (by
    identity), so a buffer used as a dict key or set item scans as it loads.
    """

    ordinal: int = 0
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __repr__(self) -> str:
        return f"<out-of-band buffer #{self.ordinal}>"


class BoundedList(list[Any]):
    """A list that keeps its first `keep` items and counts the others."""

    keep = 1000
    dropped = 0

    def append(self, item: Any) -> None:
        if len(self) < self.keep:
            super().append(item)
        else:
            self.dropped += 1

    def extend(self, items: Any) -> None:
        items = list(items)
        room = max(0, self.keep - len(self))
        super().extend(items[:room])
        self.dropped += max(0, len(items) - room)


class BoundedDict(dict[Any, Any]):
    """A dict that keeps its first `keep` keys and counts the others."""

    keep = 1000
    dropped = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) < self.keep or key in self:
            super().__setitem__(key, value)
        else:
            self.dropped += 1


class BoundedSet(set[Any]):
    """A set that keeps its first `keep` items and counts the others."""

    keep = 1000
    dropped = 0

    def update(self, *others: Any) -> None:
        for items in others:
            for item in items:
                if len(self) < self.keep or item in self:
                    self.add(item)
                else:
                    self.dropped += 1


def _elided(value: Any) -> str:
    kind = type(value).__mro__[1].__name__
    return f"<{kind} of {value.length} bytes, starting {kind}({value[:16]!r})>"


def brief(value: Any, budget: int = 120, depth: int = 0) -> str:
    """A short repr that never runs code from the pickle (symbols by label)."""
    text: str
    if isinstance(value, Symbol):
        text = value.sym_label
    elif isinstance(value, _SymbolBase):
        text = repr(value)
    elif isinstance(value, (ElidedBytes, ElidedStr, ElidedBytearray)):
        text = _elided(value)
    elif depth > 3:
        text = "..."
    elif isinstance(value, (list, tuple, set, frozenset)):
        parts = []
        for item in list(value)[:8]:
            parts.append(brief(item, budget, depth + 1))
        if len(value) > 8:
            parts.append(f"... {len(value) - 8} more")
        inner = ", ".join(parts)
        if isinstance(value, tuple):
            text = f"({inner}{',' if len(value) == 1 else ''})"
        elif isinstance(value, list):
            text = f"[{inner}]"
        else:
            text = f"{type(value).__name__}({{{inner}}})"
    elif isinstance(value, dict):
        items = [
            f"{brief(k, budget, depth + 1)}: {brief(v, budget, depth + 1)}"
            for k, v in list(value.items())[:8]
        ]
        if len(value) > 8:
            items.append(f"... {len(value) - 8} more")
        text = "{" + ", ".join(items) + "}"
        if type(value) not in (dict, BoundedDict):
            text = f"{type(value).__name__}({text})"
    else:
        try:
            text = repr(value)
        except Exception as exc:  # e.g. an int too long to print
            text = f"<{type(value).__name__}: {type(exc).__name__}>"
    if len(text) > budget:
        text = text[: budget - 3] + "..."
    return text
