"""Deterministic dumps: atoms shared by value, set elements in a fixed order.

With ``deterministic=True`` the pickler's bytes depend only on the value
saved, not on ``id()``s, hash seeds or how the value was built:

* equal strings, bytes and tuples of such atoms (ints, floats, bools, None,
  nested tuples of atoms) are saved as one shared object: `canonical_atom`
  maps each to the first equal one met, and the memo (by identity) does the
  rest.  The compiled driver keeps strings in a table of its own instead,
  from each string's value to its memo index (`string_table`).  Keys are
  exact: ``1``, ``1.0`` and ``True`` stay apart, as do ``0.0`` and
  ``-0.0``;
* set and frozenset elements are saved in a canonical order
  (`canonical_order`): sorted when they are all strings, all bytes, all ints
  or all tuples of strings, otherwise by their own deterministic pickle.

Dict order is part of a dict's value and is kept; so is the sharing of
mutable objects.  This module is never compiled: it runs only in
deterministic dumps.
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from typing import Any

__all__ = [
    "canonical_atom",
    "canonical_order",
    "canonical_strings",
    "presize_strings",
    "set_element_dumps",
    "string_table",
]

_pack_double = Struct(">d").pack
_TUPLE_TAG = object()
# Nested tuples deeper than this are not shared by value (keys stay cheap).
_MAX_KEY_DEPTH = 32

# `dumps` of the engine, registered by `pickler` (which imports this module).
_element_dumps: list[Callable[..., bytes]] = []


def set_element_dumps(dumps: Callable[..., bytes]) -> None:
    """Register the `dumps` that `canonical_order` orders elements with."""
    _element_dumps[:] = [dumps]


def _tuple_key(t: tuple[Any, ...], depth: int) -> tuple[Any, ...] | None:
    """A key equal only for tuples of exactly the same atoms (types and
    bits), or None when `t` holds anything else."""
    if depth > _MAX_KEY_DEPTH:
        return None
    out: list[Any] = [_TUPLE_TAG]
    for x in t:
        tx = type(x)
        if tx is str or tx is bytes or tx is int or tx is bool or x is None:
            out.append(tx)
            out.append(x)
        elif tx is float:
            out.append(tx)
            out.append(_pack_double(x))
        elif tx is tuple:
            key = _tuple_key(x, depth + 1)
            if key is None:
                return None
            out.append(key)
        else:
            return None
    return tuple(out)


def canonical_atom(table: dict[Any, Any], obj: Any) -> Any:
    """The first object saved that equals `obj`, if `obj` is a str, bytes or
    tuple of atoms; `obj` itself otherwise (and when it is the first)."""
    t = type(obj)
    if t is str or t is bytes:
        return table.setdefault(obj, obj)
    if t is tuple:
        key = _tuple_key(obj, 0)
        if key is not None:
            return table.setdefault(key, obj)
    return obj


# The key of the compiled driver's table of strings in a pickler's table of
# atoms (no atom's key is this object).
_STRINGS = object()


def string_table(table: dict[Any, Any], memo: Any) -> dict[Any, Any]:
    """The compiled driver's strings by value: ``{string: memo index}`` of
    the `IdMemo` `memo`, kept in the pickler's `table` (which `clear_memo`
    empties).  Made anew, from the strings in `memo`, for another memo (one
    set by the user, or remade from the dict form): its indices are that
    memo's."""
    entry = table.get(_STRINGS)
    if entry is not None and entry[0] is memo:
        strs: dict[Any, Any] = entry[1]
        return strs
    strs = {}
    first = memo.used - len(memo.objs)
    entries = sorted(memo.base.values(), key=_first_of_entry)
    entries += [(first + k, obj) for k, obj in enumerate(memo.objs)]
    for idx, obj in entries:
        if type(obj) is str:
            strs.setdefault(obj, idx)
    table[_STRINGS] = (memo, strs)
    return strs


def presize_strings(
    table: dict[Any, Any], memo: Any, strs: dict[Any, Any], d: dict[Any, Any]
) -> dict[Any, Any]:
    """`strs` with the keys of the dict `d` added (as not saved yet), in a
    table allocated once for all of them, if they are strings."""
    if type(next(iter(d))) is not str:
        return strs
    grown = dict.fromkeys(d)
    grown.update(strs)  # the strings saved so far keep their indices
    table[_STRINGS] = (memo, grown)
    return grown


def canonical_strings(table: dict[Any, Any], memo: dict[int, tuple[int, Any]]) -> None:
    """Add the strings of `memo` to `table` (the interpreted driver's strings
    by value), the first of equal ones first: the compiled driver keeps its
    own table (`string_table`), which the interpreted driver does not read."""
    for _, obj in sorted(memo.values(), key=_first_of_entry):
        if type(obj) is str:
            table.setdefault(obj, obj)


def _first_of_entry(entry: tuple[int, Any]) -> int:
    return entry[0]


def _all_str_tuples(elems: list[Any]) -> bool:
    for e in elems:
        if type(e) is not tuple:
            return False
        for x in e:
            if type(x) is not str:
                return False
    return True


def canonical_order(pickler: Any, obj: set[Any] | frozenset[Any]) -> list[Any]:
    """The elements of `obj` in an order that depends only on their values."""
    elems = list(obj)
    if len(elems) < 2:
        return elems
    t0 = type(elems[0])
    if (t0 is str or t0 is bytes or t0 is int) and all(type(e) is t0 for e in elems):
        elems.sort()
        return elems
    if _all_str_tuples(elems):
        elems.sort()
        return elems
    dumps = _element_dumps[0]
    proto = pickler.proto
    keyed = [(dumps(e, proto, deterministic=True), i) for i, e in enumerate(elems)]
    # Equal keys mean equal pickles: their relative order changes no byte.
    keyed.sort(key=_first)
    return [elems[i] for _, i in keyed]


def _first(pair: tuple[bytes, int]) -> bytes:
    return pair[0]
