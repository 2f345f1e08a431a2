"""Where inside the object being built a load failed: the path from the root.

Only the error path uses this module (never compiled, never on the success
path): after an exception the loop hands over what it already has (the
stack, the metastack, the buffer and the failing opcode) and this module
works out the path of the object that opcode was building, in the dump
side's syntax (``root['a'][1]['weights']``), as ``exc.path`` and as notes.

How: the stack alone does not say what an element will become (a list
followed by a MARK may be about to receive APPENDS, or be a finished tuple
item), so the opcodes after the failing one are read without running them,
on a stack of placeholders: each APPENDS, SETITEM, TUPLE, REDUCE, BUILD...
records which slot went where, up to STOP.  When those bytes are not there
(truncated input, a file read in pieces) a slot below a MARK whose owner is a
list, dict or set is taken to be one of its items (how picklers write
containers); anything else ends the path early, marked ``...``: the path
says less rather than something wrong.  Bounded work, no recursion: at most
`_MAX_OPS` opcodes are read and every walk is a loop.
"""

from __future__ import annotations

import pickle as _stdlib
import struct
from typing import Any, Final

from .._format.opcodes import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BINPERSID,
    BINPUT,
    BUILD,
    BY_CODE,
    DICT,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    FRAME,
    FROZENSET,
    INST,
    LIST,
    LONG_BINPUT,
    MARK,
    MEMOIZE,
    NEWOBJ,
    NEWOBJ_EX,
    OBJ,
    POP,
    POP_MARK,
    PROTO,
    PUT,
    READONLY_BUFFER,
    REDUCE,
    SETITEM,
    SETITEMS,
    STACK_GLOBAL,
    STOP,
    TUPLE,
    TUPLE1,
    TUPLE2,
    TUPLE3,
)
from ..errors import TruncatedPickleError, UnsafeGlobalError, type_name

__all__ = ["annotate_failure", "annotate_load", "load_path"]

# Opcodes read ahead of the failure at most: bounded work for any input.
_MAX_OPS: Final = 1_000_000
# Notes show the innermost steps; `path` is always complete.
_MAX_NOTE_STEPS: Final = 12
_MAX_NOTE_PATH: Final = 600

# Opcodes whose failure leaves the top of the (current) stack as the object
# being built: the value they would have pushed, or the target they work on.
_ON_TOP: Final = frozenset(
    {
        REDUCE,
        BUILD,
        APPEND,
        APPENDS,
        SETITEM,
        SETITEMS,
        ADDITEMS,
        MEMOIZE,
        PUT,
        BINPUT,
        LONG_BINPUT,
        READONLY_BUFFER,
        DUP,
        MARK,
    }
)
# Opcodes that push no value and work on no particular one.
_NO_VALUE: Final = frozenset({PROTO, FRAME, STOP, POP, POP_MARK})

# Opcodes that leave the stack as it is.
_IN_PLACE: Final = frozenset(
    {READONLY_BUFFER, FRAME, PROTO, MEMOIZE, PUT, BINPUT, LONG_BINPUT}
)
# Argument kinds by size: fixed, counted (length bytes, signed?), lines.
_FIXED: Final = {"uint1": 1, "uint2": 2, "int4": 4, "uint4": 4, "uint8": 8, "float8": 8}
_COUNTED: Final = {
    "long1": (1, False),
    "string1": (1, False),
    "bytes1": (1, False),
    "unicodestring1": (1, False),
    "long4": (4, True),
    "string4": (4, True),
    "bytes4": (4, False),
    "unicodestring4": (4, False),
    "bytes8": (8, False),
    "unicodestring8": (8, False),
    "bytearray8": (8, False),
}
_LINES: Final = {
    "decimalnl_short": 1,
    "decimalnl_long": 1,
    "floatnl": 1,
    "stringnl": 1,
    "stringnl_noescape": 1,
    "unicodestringnl": 1,
    "stringnl_noescape_pair": 2,
}
_LEN_FORMATS: Final = {
    (1, False): "<B",
    (4, True): "<i",
    (4, False): "<I",
    (8, False): "<Q",
}

# What an opcode after the failure pushes, when it makes a known kind.
_MAKES: Final = {
    EMPTY_LIST: "list",
    LIST: "list",
    EMPTY_DICT: "dict",
    DICT: "dict",
    EMPTY_SET: "set",
    FROZENSET: "frozenset",
    EMPTY_TUPLE: "tuple",
    TUPLE: "tuple",
    TUPLE1: "tuple",
    TUPLE2: "tuple",
    TUPLE3: "tuple",
}


def _skip_arg(buf: bytes, pos: int, kind: str | None) -> int:
    """The position after the argument at `pos`; -1 if `buf` ends first."""
    if kind is None:
        return pos
    size = _FIXED.get(kind)
    if size is not None:
        return pos + size if pos + size <= len(buf) else -1
    counted = _COUNTED.get(kind)
    if counted is not None:
        width = counted[0]
        if pos + width > len(buf):
            return -1
        n: int = struct.unpack_from(_LEN_FORMATS[counted], buf, pos)[0]
        if n < 0 or pos + width + n > len(buf):
            return -1
        return pos + width + n
    for _ in range(_LINES.get(kind, 0)):
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return -1
        pos = nl + 1
    return pos


class _Edge:
    """How a slot is reached from its parent: `how` is one of ``item``
    (`key` the index), ``value``/``key`` (`key` the key's slot), ``element``,
    ``state``, ``args``, ``kwargs``, ``callable``, ``pid``."""

    __slots__ = ("how", "key", "parent")

    def __init__(self, parent: int, how: str, key: Any = None) -> None:
        self.parent = parent
        self.how = how
        self.key = key


class _Slots:
    """The stack elements, real (already loaded) and read ahead (placeholders)."""

    def __init__(self, frames: list[list[Any]]) -> None:
        self.objects: list[Any] = []
        self.frames: list[list[int]] = []
        for frame in frames:
            first = len(self.objects)
            self.objects.extend(frame)
            self.frames.append(list(range(first, len(self.objects))))
        self.real = len(self.objects)
        self.kinds: dict[int, str] = {}
        self.edges: dict[int, _Edge] = {}
        self.counts: dict[int, int] = {}
        self.op: dict[int, int] = {}
        self.root = -1
        self.top: list[int] = []

    def new(self, kind: str | None = None, op: int = -1) -> int:
        slot = len(self.objects)
        self.objects.append(None)
        if kind is not None:
            self.kinds[slot] = kind
        if op >= 0:
            self.op[slot] = op
        return slot

    def made_by(self, maker: int, op: int) -> int:
        """A placeholder for what calling `maker` makes (named after it when
        it is a class already loaded)."""
        obj = self.objects[maker] if maker < self.real else None
        kind = None
        if isinstance(obj, type):
            module = getattr(obj, "__module__", None)
            kind = obj.__qualname__
            if module not in (None, "builtins"):
                kind = f"{module}.{kind}"
        return self.new(kind, op)

    def kind(self, slot: int) -> str | None:
        """The type name of a real slot, the known kind of a placeholder."""
        if slot < self.real:
            return type_name(self.objects[slot])
        return self.kinds.get(slot)

    def link(self, child: int, parent: int, how: str, key: Any = None) -> None:
        # The first use decides: a slot DUPed or fetched again later is the
        # same object reached another way.
        if child not in self.edges and child != parent:
            self.edges[child] = _Edge(parent, how, key)

    def append_to(self, target: int, items: list[int]) -> None:
        n = self.counts.get(target)
        if n is None:
            n = 0
            if target < self.real:
                try:
                    n = len(self.objects[target])
                except Exception:  # noqa: BLE001 - any object may be a target
                    n = 0
        for item in items:
            self.link(item, target, "item", n)
            n += 1
        self.counts[target] = n


def _read_ahead(slots: _Slots, buf: bytes, pos: int) -> int:
    """Run the opcodes of ``buf[pos:]`` on placeholders, recording edges and
    leaving the stack as it ends in ``slots.frames``.  Returns the opcode
    whose argument the input ends in (-1: none)."""
    meta = slots.frames
    stack = meta.pop()
    try:
        return _run(slots, buf, pos, meta, stack)
    finally:
        meta.append(slots.top)


def _run(
    slots: _Slots, buf: bytes, pos: int, meta: list[list[int]], stack: list[int]
) -> int:
    slots.top = stack
    for _ in range(_MAX_OPS):
        slots.top = stack
        if pos >= len(buf):
            return -1
        code = buf[pos]
        info = BY_CODE.get(code)
        if info is None:
            return -1
        nxt = _skip_arg(buf, pos + 1, info.arg)
        if nxt < 0:
            return code
        pos = nxt
        try:
            if code in (EMPTY_LIST, EMPTY_DICT, EMPTY_SET, EMPTY_TUPLE):
                stack.append(slots.new(_MAKES[code], code))
            elif code in (DICT, FROZENSET):
                items = stack
                stack = meta.pop()
                made = slots.new(_MAKES[code], code)
                if code == DICT:
                    for i in range(0, len(items) - 1, 2):
                        slots.link(items[i + 1], made, "value", items[i])
                        slots.link(items[i], made, "key", items[i])
                else:
                    for item in items:
                        slots.link(item, made, "element")
                stack.append(made)
            elif code == MARK:
                meta.append(stack)
                stack = []
            elif code in (TUPLE, LIST):
                items = stack
                stack = meta.pop()
                made = slots.new(_MAKES[code], code)
                for i, item in enumerate(items):
                    slots.link(item, made, "item", i)
                stack.append(made)
            elif code in (TUPLE1, TUPLE2, TUPLE3):
                k = code - TUPLE1 + 1
                if len(stack) < k:
                    return -1
                items = stack[-k:]
                del stack[-k:]
                made = slots.new("tuple", code)
                for i, item in enumerate(items):
                    slots.link(item, made, "item", i)
                stack.append(made)
            elif code == APPEND:
                value = stack.pop()
                slots.append_to(stack[-1], [value])
            elif code == APPENDS:
                items = stack
                stack = meta.pop()
                slots.append_to(stack[-1], items)
            elif code in (SETITEM, SETITEMS):
                if code == SETITEM:
                    items = stack[-2:]
                    del stack[-2:]
                else:
                    items = stack
                    stack = meta.pop()
                target = stack[-1]
                for i in range(0, len(items) - 1, 2):
                    slots.link(items[i + 1], target, "value", items[i])
                    slots.link(items[i], target, "key", items[i])
            elif code == ADDITEMS:
                items = stack
                stack = meta.pop()
                for item in items:
                    slots.link(item, stack[-1], "element")
            elif code == REDUCE:
                args = stack.pop()
                made = slots.made_by(stack[-1], code)
                slots.link(args, made, "args")
                slots.link(stack[-1], made, "callable")
                stack[-1] = made
            elif code in (NEWOBJ, NEWOBJ_EX):
                kwargs = stack.pop() if code == NEWOBJ_EX else -1
                args = stack.pop()
                cls = stack.pop()
                made = slots.made_by(cls, code)
                slots.link(args, made, "args")
                if kwargs >= 0:
                    slots.link(kwargs, made, "kwargs")
                slots.link(cls, made, "callable")
                stack.append(made)
            elif code in (INST, OBJ):
                items = stack
                stack = meta.pop()
                made = slots.new(None, code)
                if code == OBJ and items:
                    slots.link(items[0], made, "callable")
                    items = items[1:]
                for i, item in enumerate(items):
                    slots.link(item, made, "initarg", i)
                stack.append(made)
            elif code == BUILD:
                state = stack.pop()
                slots.link(state, stack[-1], "state")
            elif code == STACK_GLOBAL:
                del stack[-2:]
                stack.append(slots.new())
            elif code == BINPERSID:
                pid = stack.pop()
                made = slots.new()
                slots.link(pid, made, "pid")
                stack.append(made)
            elif code == POP:
                if stack:
                    stack.pop()
                else:
                    stack = meta.pop()
            elif code == POP_MARK:
                stack = meta.pop()
            elif code == DUP:
                stack.append(stack[-1])
            elif code == STOP:
                if stack:
                    slots.root = stack[-1]
                return -1
            elif code in _IN_PLACE:
                pass
            else:
                # Everything else pushes one value (literals, GET, GLOBAL,
                # EXT, PERSID, NEXT_BUFFER, NONE, booleans...).
                stack.append(slots.new())
        except IndexError:
            # A malformed rest of stream: stop reading it.
            return -1
    slots.top = stack
    return -1


def _guess_parent(slots: _Slots, slot: int, where: dict[int, tuple[int, int]]) -> bool:
    """For a slot the read-ahead did not place: an item of the list, dict or
    set below its MARK, if that is what is there.  Records the edge and says
    whether it could."""
    at = where.get(slot)
    if at is None:
        return False
    f, i = at
    frames = slots.frames
    if f == 0 or not frames[f - 1]:
        return False
    owner = frames[f - 1][-1]
    kind = slots.kind(owner)
    if kind == "list":
        n = slots.counts.get(owner)
        if n is None:
            n = len(slots.objects[owner]) if owner < slots.real else 0
        slots.edges[slot] = _Edge(owner, "item", n + i)
    elif kind == "dict":
        if i & 1:
            slots.edges[slot] = _Edge(owner, "value", frames[f][i - 1])
        else:
            slots.edges[slot] = _Edge(owner, "key")
    elif kind == "set":
        slots.edges[slot] = _Edge(owner, "element")
    else:
        return False
    return True


def _place(slots: _Slots, code: int, below_mark: bool = False) -> int:
    """The slot of the object opcode `code` was building when it failed: a
    new one for a value it did not push yet, the top for one it works on, or
    the container being filled (-1: none)."""
    frames = slots.frames
    top = frames[-1]
    if code in _ON_TOP and top:
        return top[-1]
    if code < 0 or code in _NO_VALUE or code in _ON_TOP:
        # The owner of the innermost MARK, or the only element at the bottom.
        for f in range(len(frames) - 1, 0, -1):
            if frames[f - 1]:
                return frames[f - 1][-1]
        if len(frames[0]) == 1:
            return frames[0][0]
        return -1
    slot = slots.new()
    if below_mark and len(frames) > 1:
        frames.pop()
        frames[-1].append(slot)
    else:
        top.append(slot)
    return slot


def load_path(
    frames: list[list[Any]],
    code: int,
    buf: bytes | None,
    after: int,
    truncated: bool = False,
    below_mark: bool = False,
) -> tuple[str, list[str], bool] | None:
    """The path of the object being built when a load failed.

    `frames` is the metastack plus the current stack, `code` the failing
    opcode (-1: between opcodes); `buf` and `after` the input and the position
    after the failing opcode (`after` -1: nothing to read ahead).  For
    `truncated` input, the object is the one being built where the input
    ends.  `below_mark`: the failing opcode's value lands below the open MARK
    (an INST refused before it took its arguments).  Returns the path text,
    the step descriptions innermost first, and whether the path reaches the
    root; None when nothing can be said.
    """
    slots = _Slots(frames)
    readable = buf is not None and after >= 0
    if truncated and readable:
        assert buf is not None
        start = _place(slots, _read_ahead(slots, buf, after))
    else:
        start = _place(slots, code, below_mark)
        if readable:
            assert buf is not None
            _read_ahead(slots, buf, after)
    if start < 0:
        return None
    where: dict[int, tuple[int, int]] | None = None
    # Walk up from the target, at most once per slot.
    chain: list[tuple[_Edge, int]] = []
    seen: set[int] = set()
    cur = start
    reached = False
    while cur not in seen:
        seen.add(cur)
        if cur == slots.root:
            reached = True
            break
        edge = slots.edges.get(cur)
        if edge is None and slots.root < 0:
            if where is None:
                where = {
                    slot: (f, i)
                    for f, frame in enumerate(slots.frames)
                    for i, slot in enumerate(frame)
                }
            if _guess_parent(slots, cur, where):
                edge = slots.edges[cur]
            elif where.get(cur) == (0, 0) and len(slots.frames[0]) == 1:
                reached = True
                break
        if edge is None:
            break
        chain.append((edge, cur))
        cur = edge.parent
    if not chain and not reached:
        return None
    return _render(slots, chain, reached)


def _key_repr(slots: _Slots, key_slot: Any) -> str | None:
    if isinstance(key_slot, int) and 0 <= key_slot < slots.real:
        text = repr(slots.objects[key_slot])
        if len(text) > 80:
            text = f"{text[:77]}..."
        return text
    return None


def _attribute_state(slots: _Slots, state: int) -> bool:
    """Whether a BUILD state holds attributes: a dict, or a ``(dict or None,
    dict)`` pair as objects with ``__slots__`` have."""
    kind = slots.kind(state)
    if kind == "dict":
        return True
    if kind != "tuple":
        return False
    if state < slots.real:
        value = slots.objects[state]
        return (
            len(value) == 2
            and (value[0] is None or type(value[0]) is dict)
            and type(value[1]) is dict
        )
    return slots.op.get(state) == TUPLE2


def _render(
    slots: _Slots, chain: list[tuple[_Edge, int]], reached: bool
) -> tuple[str, list[str], bool]:
    """Path text and notes for `chain` (edges from the target up)."""
    parts: list[str] = []
    descs: list[str] = []
    attrs_for: set[int] = set()
    # Top-down, so that a state's keys read as attributes.
    for edge, child in reversed(chain):
        parent = edge.parent
        pkind = slots.kind(parent) or "object"
        attrs = parent in attrs_for
        how = edge.how
        text = ""
        desc = ""
        if how == "item":
            if attrs:
                attrs_for.add(child)
                desc = ""
            else:
                text = f"[{edge.key}]"
                desc = f"{pkind} item {edge.key}"
        elif how == "value":
            key = _key_repr(slots, edge.key)
            raw = slots.objects[edge.key] if key is not None else None
            if attrs and type(raw) is str and raw.isidentifier():
                text = f".{raw}"
                desc = f"attribute {key}"
            elif key is None:
                text = "[...]"
                desc = f"{pkind} value"
            else:
                text = f"[{key}]"
                desc = f"{pkind} value {key}"
        elif how == "key":
            text = "<key>"
            desc = f"{pkind} key"
        elif how == "element":
            text = "<element>"
            desc = f"{pkind} element"
        elif how == "state":
            if _attribute_state(slots, child):
                attrs_for.add(child)
            else:
                text = ".__getstate__()"
            desc = f"{pkind} state"
        elif how == "args":
            op = slots.op.get(parent, REDUCE)
            if op == REDUCE:
                text = ".__reduce_ex__(5)[1]"
                desc = f"{pkind} reconstructor arguments"
            elif op == NEWOBJ_EX:
                text = ".__getnewargs_ex__()[0]"
                desc = f"{pkind} __new__ arguments"
            else:
                text = ".__getnewargs__()"
                desc = f"{pkind} __new__ arguments"
        elif how == "kwargs":
            text = ".__getnewargs_ex__()[1]"
            desc = f"{pkind} __new__ keyword arguments"
        elif how == "initarg":
            text = f".__getinitargs__()[{edge.key}]"
            desc = f"{pkind} class argument {edge.key}"
        elif how == "pid":
            text = "<persistent id>"
            desc = f"{pkind} persistent id"
        # "callable": the global that makes an object is that object's step.
        parts.append(text)
        descs.append(desc)
    path = ("root" if reached else "...") + "".join(parts)
    notes = [d for d in reversed(descs) if d]
    return path, notes, reached


def annotate_load(exc: BaseException, info: tuple[str, list[str], bool] | None) -> None:
    """Give `exc` the load path (``exc.path``) and a note that says where,
    unless it has one already (an inner load's).  Never raises."""
    try:
        if info is None or getattr(exc, "path", None) is not None:
            return
        path, descs, reached = info
        exc.path = path  # type: ignore[attr-defined]
        shown = descs[:_MAX_NOTE_STEPS]
        tail = "the root" if reached else "an object whose place is not known"
        if len(descs) > len(shown):
            tail = f"... ({len(descs) - len(shown)} more levels) of {tail}"
        if shown:
            note = "while building " + " of the ".join(shown) + f" of {tail}"
        else:
            note = f"while building {tail}"
        exc.add_note(note)
        if len(path) > _MAX_NOTE_PATH:
            half = _MAX_NOTE_PATH // 2
            path = f"{path[:half]}...{path[-half:]}"
        exc.add_note(f"path: {path}")
    except Exception:  # noqa: S110 - the original error matters more
        pass


def annotate_failure(
    final: BaseException,
    original: BaseException,
    code: int,
    start: int,
    metastack: list[list[Any]],
    stack: list[Any] | None,
    buf: bytes | None,
    user: bool,
) -> None:
    """Annotate what `load` raises with the path of the object the failing
    opcode (`code`, at ``buf[start]``) was building.  Never raises."""
    try:
        if isinstance(original, (MemoryError, RecursionError)):
            return
        if isinstance(original, IndexError) and not user:
            # A stack underflow or a stray MARK: no object to place.
            return
        if not user and not isinstance(final, _stdlib.UnpicklingError):
            return
        truncated = isinstance(final, TruncatedPickleError)
        if isinstance(final, TruncatedPickleError) and final.opcode is None:
            # The input ended before the next opcode: the loop's `code` is
            # still the previous one's.
            code = -1
        if stack is None:
            return
        below_mark = (
            code == INST and isinstance(final, UnsafeGlobalError) and bool(metastack)
        )
        frames = [*metastack, stack]
        after = -1
        if (
            buf is not None
            and code >= 0
            and 0 <= start < len(buf)
            and buf[start] == code
        ):
            info = BY_CODE.get(code)
            after = _skip_arg(buf, start + 1, None if info is None else info.arg)
        info_ = load_path(frames, code, buf, after, truncated, below_mark)
        annotate_load(final, info_)
    except Exception:  # noqa: S110 - the original error matters more
        pass
