"""The loop does the MEMOIZE after a str, EMPTY_DICT, EMPTY_LIST, TUPLE2 or
NEWOBJ in the same step as that opcode (``_load/unpickler.py``).

Only when the next byte is inside the current window and the memo is a plain
list: the stdlib's memo (``Unpickler.memo``) and results are the oracle, at
every window size (``Limits.check_every``) and with a primed memo that sends
MEMOIZE through the general path.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest

import brined


class Pair:
    def __init__(self, left: Any, right: Any) -> None:
        self.left = left
        self.right = right

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pair) and (self.left, self.right) == (
            other.left,
            other.right,
        )

    __hash__ = None  # type: ignore[assignment]


def _graph() -> list[Any]:
    text = "shared ünïcode"
    pair = (text, 1)
    inner: list[Any] = [text, pair]
    return [text, pair, {"k": inner, "x" * 300: [inner]}, inner, Pair(pair, [])]


def _memo_after(data: bytes, unpickler: Any) -> tuple[Any, dict[int, Any]]:
    value = unpickler.load()
    return value, unpickler.memo.copy()


@pytest.mark.parametrize("check_every", [1, 2, 3, 5, 8, 64, 1 << 16])
def test_every_window_size_memoizes_as_the_stdlib(check_every: int) -> None:
    data = pickle.dumps(_graph(), protocol=5)
    limits = brined.Limits(check_every=check_every)
    ours = brined.Unpickler(io.BytesIO(data), allow=[Pair], limits=limits)
    theirs = pickle.Unpickler(io.BytesIO(data))
    value, memo = _memo_after(data, ours)
    expected, expected_memo = _memo_after(data, theirs)
    assert value == expected
    assert value[0] is value[3][0] and value[1] is value[4].left
    assert memo.keys() == expected_memo.keys()
    assert all(
        type(memo[k]) is type(expected_memo[k]) and memo[k] == expected_memo[k]
        for k in memo
    )


def test_loads_at_a_small_window_keeps_sharing() -> None:
    data = pickle.dumps(_graph(), protocol=5)
    value = brined.loads(data, allow=[Pair], limits=brined.Limits(check_every=3))
    assert value == pickle.loads(data)
    assert value[2]["k"] is value[3] and value[1] is value[3][1]


def test_a_primed_memo_sends_memoize_through_the_general_path() -> None:
    # str MEMOIZE, POP, EMPTY_LIST MEMOIZE, POP, then a tuple of the memo
    # entries 1, 2 and the primed 5 (MEMOIZE numbers from the memo's size).
    data = (
        b"\x80\x05\x8c\x01a\x940]\x940"
        b"h\x01h\x02h\x05\x87."  # BINGET 1, 2, 5, TUPLE3, STOP
    )
    ours = brined.Unpickler(io.BytesIO(data))
    # (pickle.py's unpickler: the C one's memo setter loses the entry here.)
    theirs = pickle._Unpickler(io.BytesIO(data))  # type: ignore[attr-defined]
    ours.memo = {5: "primed"}
    theirs.memo = {5: "primed"}
    value, memo = _memo_after(data, ours)
    expected = theirs.load()
    assert value == expected == ("a", [], "primed")
    assert memo == theirs.memo
