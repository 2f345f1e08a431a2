"""Trusted BUILD gives instances the attribute names the stdlib gives them.

C's BUILD interns every exact-str key of a state dict before storing it; brined
looks names up in a bounded table of interned names first.  The oracle is the
stdlib: the keys of what it loads are the interned strings (``k is
sys.intern(k)``), and so must brined's, on both sides of the table's bounds.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import brined


class Plain:
    pass


class Slotted:
    __slots__ = ("alpha", "beta", "__dict__")


class Key(str):
    """A str subclass: C leaves such keys as they are (no interning)."""


def _fresh(text: str) -> str:
    # An equal str that is not the interned constant (the pickle's own key).
    return "".join(list(text))


def _all_interned(keys: Any) -> bool:
    return all(type(k) is not str or k is sys.intern(k) for k in keys)


def _instances(names: list[str]) -> list[Plain]:
    out = []
    for i in range(3):
        obj = Plain()
        for name in names:
            setattr(obj, _fresh(name), i)
        out.append(obj)
    return out


def test_trusted_build_interns_state_keys_as_the_stdlib_does() -> None:
    data = pickle.dumps(_instances(["x", "yy", "a_name"]), protocol=5)
    ours = brined.loads(data, trusted=True)
    theirs = pickle.loads(data)
    assert [vars(o) for o in ours] == [vars(o) for o in theirs]
    for obj in ours + theirs:
        assert _all_interned(vars(obj))


def test_long_and_many_keys_past_the_name_table_are_still_interned() -> None:
    # Longer than the table takes, and more distinct names than it holds.
    names = ["k" * 200, "long_" * 30] + [f"name_{i}_{'z' * 5}" for i in range(3000)]
    data = pickle.dumps(_instances(names), protocol=5)
    ours = brined.loads(data, trusted=True)
    assert [vars(o) for o in ours] == [vars(o) for o in pickle.loads(data)]
    for obj in ours:
        assert _all_interned(vars(obj))


def test_str_subclass_keys_stay_as_written() -> None:
    obj = Plain()
    vars(obj)[Key("sub")] = 1
    data = pickle.dumps(obj, protocol=2)
    ours = brined.loads(data, trusted=True)
    theirs = pickle.loads(data)
    assert [type(k) for k in vars(ours)] == [type(k) for k in vars(theirs)] == [Key]


def test_slot_state_sets_slots_and_dict_with_interned_names() -> None:
    obj = Slotted()
    obj.alpha = 1
    obj.beta = [2]
    setattr(obj, _fresh("gamma"), 3)
    data = pickle.dumps(obj, protocol=5)
    ours = brined.loads(data, trusted=True)
    theirs = pickle.loads(data)
    assert (ours.alpha, ours.beta, vars(ours)) == (
        theirs.alpha,
        theirs.beta,
        vars(theirs),
    )
    assert _all_interned(vars(ours))
    assert brined.dumps(ours, protocol=5) == pickle.dumps(theirs, protocol=5)
