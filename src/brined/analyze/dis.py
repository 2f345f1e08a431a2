"""The disassembler: ``pickletools.dis`` text from brined's opcode table.

For every pickle that ``pickletools.dis`` accepts, `disassemble` writes the same
text (arguments, MARK indentation, memo checks, annotations, the "highest
protocol" line).  Where pickletools would raise, `disassemble` writes what
pickletools printed up to that point, then a marker line::

    !! offset N: <problem>

and goes on where that is useful: after a stack or memo complaint it keeps
decoding (the loader itself does not care about most of them); at an unknown
opcode or a truncated argument it stops.  Bytes after STOP are counted
(`DisResult.trailing`) but, as in pickletools, not printed.
Nothing in the pickle is imported or called.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from .._format.opcodes import BY_CODE, OpInfo
from ._args import ArgError, Stream, read_arg
from ._optable import EFFECTS

__all__ = ["DisResult", "disassemble"]

_MEMO_STORES: Final = frozenset(["PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"])
_MEMO_GETS: Final = frozenset(["GET", "BINGET", "LONG_BINGET"])
_MARK: Final = "mark"
_SLICE: Final = "stackslice"


@dataclass
class DisResult:
    """What `disassemble` found besides the text.

    `problems` lists ``(offset, message)`` for every marker line written;
    `stopped` is the offset where decoding had to stop (None when it reached
    STOP), `end` the offset just past the STOP opcode, `trailing` the number of
    bytes after it (None when unknown) and `max_proto` the highest protocol among
    the opcodes seen.
    """

    problems: list[tuple[int, str]] = field(default_factory=list)
    stopped: int | None = None
    end: int | None = None
    trailing: int | None = None
    max_proto: int = -1

    @property
    def ok(self) -> bool:
        """True when pickletools.dis would have accepted the pickle."""
        return not self.problems


class _Counting:
    """Wrap a stream and count the bytes taken from it."""

    def __init__(self, stream: Stream, start: int) -> None:
        self._stream = stream
        self.pos = start

    def read(self, n: int = -1, /) -> bytes:
        data = self._stream.read(n)
        self.pos += len(data)
        return data

    def readline(self) -> bytes:
        data = self._stream.readline()
        self.pos += len(data)
        return data


def _as_stream(pickle: Any) -> tuple[Stream, int]:
    if isinstance(pickle, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(pickle)), 0
    tell = getattr(pickle, "tell", None)
    start = 0
    if tell is not None:
        try:
            start = int(tell())
        except (OSError, ValueError):
            start = 0
    return pickle, start


def _arg_repr(arg: Any) -> str:
    try:
        return repr(arg)
    except ValueError:
        # An int past sys.get_int_max_str_digits(): pickletools raises here.
        return f"<int of {int(arg).bit_length()} bits, too long to print>"


def _stack_repr(stack: list[str]) -> str:
    return "[" + ", ".join(stack) + "]"


class _Machine:
    """The crude stack and memo emulation pickletools does, one opcode at a time."""

    def __init__(self, out: TextIO, memo: dict[Any, str], indent: int, annotate: int):
        self.out = out
        self.memo = memo
        self.stack: list[str] = []
        self.marks: list[int] = []
        self.indentchunk = " " * indent
        self.annotate = annotate
        self.annocol = annotate
        self.result = DisResult()

    def problem(self, offset: int, message: str) -> None:
        self.result.problems.append((offset, message))
        self.out.write(f"!! offset {offset}: {message}\n")

    def step(self, op: OpInfo, arg: Any, has_arg: bool, pos: int) -> None:
        before, after, summary = EFFECTS[op.name]
        stack = self.stack
        line = f"{self._code_repr(op.code):<4} {self.indentchunk * len(self.marks)}"
        line += op.name
        self.result.max_proto = max(self.result.max_proto, op.proto)
        numtopop = len(before)
        errormsg: str | None = None
        markmsg: str | None = None
        if _MARK in before or (op.name == "POP" and stack and stack[-1] == _MARK):
            if self.marks:
                markmsg = f"(MARK at {self.marks.pop()})"
                # Drop everything down to and including the topmost mark.
                while stack and stack[-1] != _MARK:
                    stack.pop()
                if stack:
                    stack.pop()
                numtopop = before.index(_MARK) if _MARK in before else 0
            else:
                errormsg = markmsg = "no MARK exists on stack"
                numtopop = before.index(_MARK) if _MARK in before else 0
        if op.name in _MEMO_STORES:
            index: Any = len(self.memo) if op.name == "MEMOIZE" else arg
            if op.name == "MEMOIZE":
                markmsg = f"(as {index})"
            if index in self.memo:
                errormsg = f"memo key {arg!r} already defined"
            elif not stack:
                errormsg = "stack is empty -- can't store into memo"
            elif stack[-1] == _MARK:
                errormsg = "can't store markobject in the memo"
            else:
                self.memo[index] = stack[-1]
        elif op.name in _MEMO_GETS:
            if arg in self.memo:
                after = (self.memo[arg],)
            else:
                errormsg = f"memo key {arg!r} has never been stored into"
        if has_arg or markmsg:
            line += " " * (10 - len(op.name))
            if has_arg:
                line += " " + _arg_repr(arg)
            if markmsg:
                line += " " + markmsg
        if self.annotate:
            line += " " * (self.annocol - len(line))
            self.annocol = len(line)
            if self.annocol > 50:
                self.annocol = self.annotate
            line += " " + summary
        self.out.write(f"{pos:5d}: {line}\n")
        if errormsg:
            self.problem(pos, errormsg)
        if len(stack) < numtopop:
            self.problem(
                pos,
                f"tries to pop {numtopop} items from stack with only "
                f"{len(stack)} items",
            )
            numtopop = len(stack)
        if numtopop:
            del stack[-numtopop:]
        if _MARK in after:
            self.marks.append(pos)
        stack.extend(after)

    @staticmethod
    def _code_repr(code: int) -> str:
        # repr() of the one-character str pickletools keys opcodes by.
        return repr(chr(code))[1:-1]


def disassemble(
    pickle: Any,
    out: TextIO | None = None,
    *,
    memo: dict[Any, str] | None = None,
    indentlevel: int = 4,
    annotate: int = 0,
) -> DisResult:
    """Write a disassembly of the first pickle in `pickle` to `out`.

    `pickle` is bytes-like or a binary file positioned at the pickle; `out`
    defaults to a new StringIO (read it from the result's caller via ``out``).
    `memo`, `indentlevel` and `annotate` mean what they mean for
    ``pickletools.dis``; the text is the same as pickletools' for every pickle it
    accepts.  Problems are written as ``!! offset N: ...`` lines and returned
    in the `DisResult`; nothing is raised for bad input.
    """
    if out is None:
        out = io.StringIO()
    stream, start = _as_stream(pickle)
    counting = _Counting(stream, start)
    machine = _Machine(out, {} if memo is None else memo, indentlevel, annotate)
    result = machine.result
    while True:
        pos = counting.pos
        byte = counting.read(1)
        if not byte:
            machine.problem(pos, "pickle exhausted before seeing STOP")
            result.stopped = pos
            return result
        op = BY_CODE.get(byte[0])
        if op is None:
            machine.problem(pos, f"opcode {byte!r} unknown: cannot decode further")
            result.stopped = pos
            return result
        arg: Any = None
        if op.arg is not None:
            try:
                arg = read_arg(op.arg, counting)
            except (ArgError, ValueError) as exc:
                machine.problem(pos, f"{op.name}: {exc}")
                result.stopped = pos
                return result
        machine.step(op, arg, op.arg is not None, pos)
        if op.name == "STOP":
            break
    result.end = counting.pos
    out.write(f"highest protocol among opcodes = {result.max_proto}\n")
    if machine.stack:
        machine.problem(
            counting.pos, f"stack not empty after STOP: {_stack_repr(machine.stack)}"
        )
    rest = counting.read(1 << 16)
    trailing = len(rest)
    while rest:
        rest = counting.read(1 << 16)
        trailing += len(rest)
    # pickletools.dis stops reading at STOP and prints nothing about what
    # follows; neither does the text here.  The count is in the result.
    result.trailing = trailing
    return result
