"""Resource limits for loading, and the checks that enforce the costly ones.

Every limit is a field of one immutable `Limits` object.  The defaults let every
ordinary pickle through (the differential and property suites load plain data at
every protocol with them); they exist to stop inputs built to exhaust memory,
stack or time.  Limits apply to untrusted loads only: ``trusted=True`` keeps the
stdlib's behaviour.

What is *not* counted here, and why: plain opcodes (EMPTY_LIST, BINGET, ...) each
cost a bounded amount of work and memory per input byte, and every length field
is checked against the bytes that remain before anything is allocated, so those
are bounded by the input size; the loop checks the limits below every
`check_every` bytes of input and at every call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Final

from ..errors import LimitExceededError

__all__ = ["DEFAULT_LIMITS", "Limits", "check_hashed"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for an untrusted load (``brined.loads(..., limits=...)``).

    * `max_depth`: open MARKs (the stack of containers being built), or None
      (the default) for no limit.  Each open MARK takes at least one input
      byte and costs a bounded amount of memory, so an unbounded depth is no
      amplification: the default loads any nest the C pickler writes.
    * `max_hash_depth`: nesting of a tuple or frozenset that will be hashed (as a
      dict key or set member).  Hashing a deep tuple recurses in C without a
      recursion check and crashes the interpreter.
    * `max_hash_size`: elements of a hashed tuple/frozenset, counted through
      every level with shared children counted each time they appear (hashing a
      tuple is not cached, so ``t = (t, t)`` repeated is exponential).  The
      same count summed over every key of a load may not exceed
      ``max_hash_size + max_bytes_ratio * input bytes read`` (one big shared
      key inserted many times).
    * `max_hash_collisions`: keys of one dict or set that share a hash value
      (int, float and tuple hashes are not randomized: hash flooding).
    * `max_memo`: memo entries; `max_memo_index`: the largest memo index.
    * `max_objects`: objects created by calls (REDUCE, NEWOBJ, NEWOBJ_EX, INST,
      OBJ), BUILD steps and out-of-band buffers.
    * `max_bytes_ratio`, `max_bytes_floor`: the sizes of what calls take and
      return (strings, bytes, containers) and of BUILD states may not exceed
      ``max_bytes_floor + max_bytes_ratio * input bytes read``, so one big
      memoized argument passed to many calls costs its size every time.
    * `max_int_digits`: digits of a text-protocol number (INT, LONG, GET, PUT);
      CPython's own default for str-to-int conversion (CVE-2020-10735).
    * `deadline`: seconds of wall-clock time for one load, or None.
    * `check_every`: input bytes between two periodic checks (memo, deadline).
    """

    max_depth: int | None = None
    max_hash_depth: int = 1_000
    max_hash_size: int = 1_000_000
    max_hash_collisions: int = 128
    max_memo: int = 50_000_000
    max_memo_index: int = 0xFFFFFFFF
    max_objects: int = 50_000_000
    max_bytes_ratio: int = 16
    max_bytes_floor: int = 64 << 20
    max_int_digits: int = 4_300
    deadline: float | None = None
    check_every: int = 1 << 16

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "max_depth" and value is None:
                continue
            if field.name == "deadline":
                if value is not None and not (
                    isinstance(value, (int, float)) and value > 0
                ):
                    raise ValueError("Limits.deadline must be a positive number")
            elif type(value) is not int or value < 1:
                raise ValueError(f"Limits.{field.name} must be a positive int")

    def replace(self, **changes: Any) -> Limits:
        """A copy with some fields changed."""
        return replace(self, **changes)


DEFAULT_LIMITS: Final = Limits()


def _hash_error(limits: Limits, which: str, kind: str) -> LimitExceededError:
    if which == "max_hash_depth":
        what = f"nested deeper than max_hash_depth={limits.max_hash_depth}"
    else:
        what = f"larger than max_hash_size={limits.max_hash_size} when expanded"
    return LimitExceededError(
        f"a {kind} used as a dict key or set member is {what}; raise it with "
        "brined.Limits if this is expected",
        limit=which,
    )


def check_hashed(key: Any, limits: Limits) -> int:
    """Refuse a tuple/frozenset key whose hashing would crash or take too long.

    Walks the key without recursion; shared children are counted every time
    they appear, exactly as hashing visits them.  Returns that count, which
    the loader adds to the load's total hashing work.
    """
    kind = type(key).__name__
    max_depth = limits.max_hash_depth
    budget = limits.max_hash_size
    todo: list[tuple[Any, int]] = [(key, 1)]
    start = budget
    while todo:
        obj, depth = todo.pop()
        if depth > max_depth:
            raise _hash_error(limits, "max_hash_depth", kind)
        budget -= len(obj)
        if budget < 0:
            raise _hash_error(limits, "max_hash_size", kind)
        for item in obj:
            if isinstance(item, (tuple, frozenset)) and item:
                todo.append((item, depth + 1))
    return start - budget
