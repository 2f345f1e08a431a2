"""The scanner: what loading a pickle would import and call, and its verdict.

The scan is a load.  `ScanUnpickler` subclasses brined's `Unpickler` and runs
its virtual machine over the input (through a `Feeder`), changing only the two
hooks a subclass may override:

* ``find_class`` asks the same `Policy` the loader asks (same name mapping,
  same verdicts, same refusal text).  A name on the default plain-data
  allowlist is resolved by the loader's own ``find_class``, so the loader's
  checks on it (``copyreg._reconstructor`` bases, re-exports) run for real.
  Any other name is *not imported*: it becomes a symbol, recorded with its
  offset and verdict, and the scan goes on past refusals to report everything.
* ``persistent_load`` returns a symbol (and builds the bounded containers and
  elided payloads the feeder asked for).

Calls on symbols (REDUCE, NEWOBJ, BUILD's ``__setstate__``, APPENDS, ...) run
through the loader's own opcode code and are recorded.  Out-of-band buffers
(protocol 5's NEXT_BUFFER) are data: the scan hands the loader one stand-in
per NEXT_BUFFER and counts them, so the verdict is the one ``brined.loads``
reaches when given that many buffers (``loads(data, buffers=...)``).  The
verdict is decided by the first thing that would stop ``brined.loads``: a
refused global or persistent id makes it "unsafe" (exit 1), a malformed stream
"invalid" (exit 2); a pickle that reaches STOP with neither is "clean" (exit 0).
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final

from .._load.ops import py3_name
from .._load.unpickler import Unpickler
from .._safe.limits import Limits
from .._safe.policy import ALLOWED, Policy
from .._safe.tables import DEFAULT_ALLOWED, DEFAULT_VALUES
from ..errors import (
    LimitExceededError,
    UnpicklingError,
    UnsafeGlobalError,
    UnsafeOperationError,
)
from ._feed import Feeder, survey_memo
from ._symbols import (
    BoundedDict,
    BoundedList,
    BoundedSet,
    ElidedBytearray,
    ElidedBytes,
    ElidedStr,
    OutOfBandBuffer,
    Symbol,
    brief,
    make_symbol,
)

__all__ = [
    "CLEAN",
    "EXIT_CODES",
    "INVALID",
    "UNSAFE",
    "Call",
    "GlobalUse",
    "ScanReport",
    "scan",
]

CLEAN: Final = "clean"
UNSAFE: Final = "unsafe"
INVALID: Final = "invalid"
EXIT_CODES: Final = {CLEAN: 0, UNSAFE: 1, INVALID: 2}

# Names the scan resolves as the loader does (importing them runs nothing
# from the pickle): the plain-data defaults, and the value-only constants.
_IMPORTED: Final = DEFAULT_ALLOWED | DEFAULT_VALUES
_MAX_CALLS: Final = 1000
_MAX_OPS_PER_SYMBOL: Final = 20
_REFUSING: Final = (UnsafeGlobalError, UnsafeOperationError, LimitExceededError)
_PY2_STRINGS: Final = frozenset(["STRING", "BINSTRING", "SHORT_BINSTRING"])
_PY2_HINT: Final = (
    "a Python 2 str that does not decode as ASCII: load it (and scan it) with "
    "encoding='latin1' (text) or encoding='bytes' (binary data); "
    "brined scan --encoding latin1"
)
_NO_HOOK: Final = (
    "persistent id {pid}: brined.loads has no persistent_load hook and refuses "
    "it (a loader that resolves persistent ids decides what it becomes)"
)


@dataclass
class GlobalUse:
    """One global the pickle names: where first, how often, and the verdict.

    `status` is "allowed" (on the default plain-data allowlist: resolved as the
    loader resolves it), "allowed-unimported" (allowed by ``allow=`` but not
    imported by the scan) or "refused" (`reason` says which rule).
    """

    module: str
    name: str
    offset: int | None
    opcode: str | None
    status: str
    reason: str = ""
    count: int = 1


@dataclass
class Call:
    """One call loading would make on a non-allowlisted object.

    `how` is "call", "__new__", "__setstate__", "append", "extend", "add",
    "__setitem__" or "persistent_load"; `text` reads like the call
    (``os.system('echo hi')``) and `status` is that of the object called.
    """

    offset: int | None
    opcode: str | None
    how: str
    text: str
    status: str


@dataclass
class ScanReport:
    """The result of `scan`: globals, calls, the verdict and where it was decided.

    `verdict` is "clean", "unsafe" or "invalid" (`exit_code` 0, 1, 2); `reason`
    and `offset` say what decided it.  `stopped` is the message of the error the
    loader stopped at, if any (after an unsafe finding the scan goes on until
    the end or an error, to report everything).  `trailing` counts the bytes
    after STOP (loads ignores them).  `buffers` is the number of out-of-band
    buffers the pickle takes (NEXT_BUFFER opcodes run): loading it needs
    ``loads(data, buffers=...)`` with that many.  `value` is the loaded tree
    with symbols in it, only when asked for (``keep_value=True``).  `hint`
    suggests the load options that may help (a Python 2 str that needs
    ``encoding=``), or is empty.
    """

    name: str
    verdict: str = CLEAN
    reason: str = ""
    offset: int | None = None
    globals: list[GlobalUse] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    calls_dropped: int = 0
    stopped: str | None = None
    trailing: int | None = None
    buffers: int = 0
    hint: str = ""
    protocol: int | None = None
    opcode_counts: dict[str, int] = field(default_factory=dict)
    value: Any = None

    @property
    def exit_code(self) -> int:
        """0 for clean, 1 for unsafe, 2 for invalid."""
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (no value tree)."""
        return {
            "name": self.name,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "offset": self.offset,
            "protocol": self.protocol,
            "globals": [vars(g) for g in self.globals],
            "calls": [vars(c) for c in self.calls],
            "calls_dropped": self.calls_dropped,
            "stopped": self.stopped,
            "trailing_bytes": self.trailing,
            "buffers": self.buffers,
            "hint": self.hint,
            "opcode_counts": dict(sorted(self.opcode_counts.items())),
        }


class ScanUnpickler(Unpickler):
    """brined's Unpickler with hooks that record instead of importing or calling."""

    def __init__(
        self,
        feeder: Feeder,
        policy: Policy,
        report: ScanReport,
        *,
        fix_imports: bool = True,
        encoding: str = "ASCII",
        errors: str = "strict",
    ) -> None:
        # Unpickler takes a Policy as allow= too (it uses it as is); its
        # annotation does not say so yet.
        super().__init__(
            feeder,
            allow=policy,  # type: ignore[arg-type]
            fix_imports=fix_imports,
            encoding=encoding,
            errors=errors,
            buffers=_Buffers(report),
        )
        self.feeder = feeder
        self.policy = policy
        self.report = report
        self._uses: dict[tuple[str, str], GlobalUse] = {}

    # -- the verdict ----------------------------------------------------------

    def decide(self, verdict: str, reason: str, offset: int | None) -> None:
        """Record what stops loads, unless something earlier already did."""
        report = self.report
        if report.verdict == CLEAN:
            report.verdict, report.reason, report.offset = verdict, reason, offset

    def _mapped(self, module: str, name: str) -> tuple[str, str]:
        # The loader's fix_imports mapping (Python 2 names), as its find_class does.
        if self.proto < 3 and self.fix_imports:
            return py3_name(module, name)
        return module, name

    # -- the limits -----------------------------------------------------------

    def _guard_build(self, target: Any, state: Any, pos: int) -> None:
        # The loader weighs a BUILD's state by its size (one memoized state
        # given to many BUILDs is copied each time).  A scanned dict keeps only
        # its first keys and counts the rest: charge the whole, as loads would.
        if isinstance(state, BoundedDict):
            self._charge(4 * 8 * (len(state) + state.dropped), pos)
        super()._guard_build(target, state, pos)

    # -- the hooks ------------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        """Resolve allowlisted plain-data names; anything else becomes a symbol."""
        offset, opcode = self.feeder.current()
        mod, qual = self._mapped(module, name)
        verdict = self.policy.check(mod, qual)
        key = (mod, qual)
        if verdict == ALLOWED and key in _IMPORTED:
            self._use(key, offset, opcode, "allowed", "")
            return super().find_class(module, name)
        if verdict == ALLOWED:
            status = "allowed" if self.policy.may_call(mod, qual) else "value-only"
            self._use(key, offset, opcode, "allowed-unimported", "allowed by allow=")
            return make_symbol(f"{mod}.{qual}", status, self, "global")
        error = self.policy.refusal(
            mod, qual, verdict, offset=offset, opcode=opcode, written=f"{module}.{name}"
        )
        self._use(key, offset, opcode, "refused", str(error))
        self.decide(UNSAFE, str(error), offset)
        return make_symbol(f"{mod}.{qual}", "refused", self, "global")

    def persistent_load(self, pid: Any) -> Any:
        """Build what the feeder asked for, or record a real persistent id."""
        if type(pid) is str:
            spec = self.feeder.elided.pop(pid, None)
            if spec is not None:
                return _stand_in(*spec)
        offset, opcode = self.feeder.current()
        text = f"persistent_load({brief(pid)})"
        self._call(Call(offset, opcode, "persistent_load", text, "refused"))
        self.decide(UNSAFE, _NO_HOOK.format(pid=brief(pid)), offset)
        return make_symbol(text, "refused", self, "persistent")

    def on_call(self, target: Any, how: str, args: tuple[Any, ...], kw: Any) -> Any:
        """Record a call on a symbol; return the symbol for its result."""
        cls = target if isinstance(target, Symbol) else type(target)
        label = cls.sym_label if target is cls else f"<{cls.sym_label} instance>"
        shown = [brief(a) for a in args]
        if kw:
            shown += [f"{k}={brief(v)}" for k, v in dict(kw).items()]
        joined = ", ".join(shown)
        text = f"{label}({joined})" if how == "call" else f"{label}.{how}({joined})"
        offset, opcode = self.feeder.current()
        self._call(Call(offset, opcode, how, text, cls.sym_status))
        if cls.sym_status == "value-only" and target is cls:
            # The loader refuses to call a global allowed only as a value.
            self.decide(
                UNSAFE,
                f"{opcode} would call {cls.sym_label}, allowed only as a value",
                offset,
            )
        if len(cls.sym_ops) < _MAX_OPS_PER_SYMBOL and how not in ("call", "__new__"):
            cls.sym_ops.append(text)
        if how in ("call", "__new__"):
            return make_symbol(text, cls.sym_status, self, "result")
        return None

    def _call(self, call: Call) -> None:
        if len(self.report.calls) < _MAX_CALLS:
            self.report.calls.append(call)
        else:
            self.report.calls_dropped += 1

    def _use(
        self,
        key: tuple[str, str],
        offset: int | None,
        opcode: str | None,
        status: str,
        reason: str,
    ) -> None:
        use = self._uses.get(key)
        if use is None:
            use = GlobalUse(key[0], key[1], offset, opcode, status, reason, 0)
            self._uses[key] = use
            self.report.globals.append(use)
        use.count += 1


class _Buffers:
    """Endless out-of-band buffers for NEXT_BUFFER: stand-ins, counted."""

    def __init__(self, report: ScanReport) -> None:
        self.report = report

    def __iter__(self) -> _Buffers:
        return self

    def __next__(self) -> OutOfBandBuffer:
        buffer = OutOfBandBuffer()
        buffer.ordinal = self.report.buffers
        self.report.buffers += 1
        return buffer


def _stand_in(kind: str, length: int, prefix: bytes) -> Any:
    value: Any
    if kind == "L":
        return BoundedList()
    if kind == "D":
        return BoundedDict()
    if kind == "E":
        return BoundedSet()
    if kind == "B":
        value = ElidedBytes(prefix)
    elif kind == "A":
        value = ElidedBytearray(prefix)
    else:
        value = ElidedStr(prefix.decode("utf-8", "replace"))
    value.length = length
    return value


def _source_size(source: BinaryIO) -> int | None:
    try:
        here = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return int(end) - int(here)


def _location_fixed(
    message: str,
    loader: int | None,
    original: int | None,
    name: str | None = None,
    original_name: str | None = None,
) -> str:
    # The loader's messages count offsets in the rewritten stream, and name
    # the opcode it ran (a rewritten memo store runs as BINPUT or LONG_BINPUT).
    if loader is None or original is None:
        return message
    if name and original_name and name != original_name:
        message = message.replace(
            f"{name} at offset {loader}", f"{original_name} at offset {loader}"
        )
    if loader == original:
        return message
    return re.sub(rf"\boffset {loader}\b", f"offset {original}", message)


def scan(
    data: Any,
    *,
    allow: Iterable[object] | str | Policy | None = None,
    name: str = "<bytes>",
    keep_value: bool = False,
    elide_over: int = 1 << 16,
    size: int | None = None,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
) -> ScanReport:
    """Scan one pickle without importing or calling anything it names.

    `data` is bytes-like or a binary file positioned at the pickle.  `allow`
    takes what ``brined.loads(allow=...)`` takes (or a `Policy`); the verdict is
    the one ``brined.loads`` would reach under it: "clean" when it would load,
    "unsafe" when it would refuse (a global, a persistent id, an operation the
    guards refuse), "invalid" when the bytes are not a valid pickle.  Strings
    and bytes longer than `elide_over` are skipped, not read into memory.
    `size` is the number of bytes left in a file that cannot seek cheaply.
    Never raises for bad input; the verdict says what was wrong.
    """
    source: BinaryIO
    if isinstance(data, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(data))
    else:
        source = data
    policy = allow if isinstance(allow, Policy) else Policy(allow)
    report = ScanReport(name)
    if size is None:
        size = _source_size(source)
    token = f"\x00brined-scan-{secrets.token_hex(8)}:"
    limits = Limits()
    # Memo stores never read back are dropped (memory stays independent of
    # the number of memoized values): this needs a first pass over the input.
    plan = survey_memo(source, size, elide_over, limits)
    feeder = Feeder(source, size, token, elide_over, memo=plan, limits=limits)
    unpickler = ScanUnpickler(
        feeder,
        policy,
        report,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
    )
    try:
        value = unpickler.load()
    except UnpicklingError as exc:
        offset = feeder.original(exc.offset)
        message = _location_fixed(
            str(exc), exc.offset, offset, exc.opcode, feeder.name_at(exc.offset)
        )
        report.stopped = f"{type(exc).__name__}: {message}"
        verdict = UNSAFE if isinstance(exc, _REFUSING) else INVALID
        unpickler.decide(verdict, report.stopped, offset)
        undecodable = "codec can't decode" in message or isinstance(
            exc.__cause__ or exc.__context__, UnicodeDecodeError
        )
        if undecodable and exc.opcode in _PY2_STRINGS:
            report.hint = _PY2_HINT
    except (RecursionError, MemoryError) as exc:
        report.stopped = f"{type(exc).__name__}: the scan could not go on"
        unpickler.decide(INVALID, report.stopped, feeder.current()[0])
    else:
        if keep_value:
            report.value = value
        if feeder.stop_end is not None and size is not None:
            report.trailing = size - feeder.stop_end
    report.protocol = unpickler.proto
    report.opcode_counts = dict(feeder.op_counts)
    return report
