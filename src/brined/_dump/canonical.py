"""Deterministic dumps: atoms shared by value, set elements in a fixed order.

With ``deterministic=True`` the pickler's bytes depend only on the value
saved, not on ``id()``s, hash seeds or how the value was built:

* equal strings, bytes and tuples of such atoms (ints, floats, bools, None,
  nested tuples of atoms) are saved as one shared object: `canonical_atom`
  maps each to the first equal one met, and the memo (by identity) does the
  rest.  Keys are exact: ``1``, ``1.0`` and ``True`` stay apart, as do
  ``0.0`` and ``-0.0``;
* set and frozenset elements are saved in a canonical order
  (`canonical_order`): sorted when they are all strings, all bytes, all ints
  or all tuples of strings, otherwise by their own deterministic pickle.

Dict order is part of a dict's value and is kept; so is the sharing of
mutable objects.  The compiled build compiles it (the keys of tuples are
made for each tuple of a deterministic dump).
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from typing import Any

__all__ = ["canonical_atom", "canonical_order", "set_element_dumps"]

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
