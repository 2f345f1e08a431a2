"""The numpy guards of an untrusted load: what numpy writes, and the states its
constructors trust.

numpy is in the default policy, so a safe load may call `numpy.dtype`,
`numpy._core.numeric._frombuffer` and `multiarray._reconstruct`, and BUILD an
ndarray or a dtype.  `dtype.__setstate__` and `ndarray.__setstate__` trust
their state (a forged one reads or frees arbitrary memory), so each is checked
here against what numpy itself would make.  numpy is never imported: classes
are recognised by name, and numpy is reached through ``sys.modules`` only once
a load has resolved one of its globals.
"""

from __future__ import annotations

import sys
from typing import Any, Final

from ..errors import UnsafeOperationError

__all__ = [
    "check_dtype_built",
    "check_dtype_call",
    "check_ndarray_state",
    "check_numpy_reconstruct",
    "is_dtype",
    "is_ndarray",
]

_HEAPTYPE: Final = 1 << 9  # Py_TPFLAGS_HEAPTYPE
_MAX_STATIC: Final = 4096
_TRUST: Final = "If you trust this data: brined.loads(data, trusted=True)"


def _refuse(message: str, rule: str) -> UnsafeOperationError:
    return UnsafeOperationError(f"{message}. {_TRUST}", rule=rule)


def is_ndarray(cls: type) -> bool:
    # Named, not imported: numpy is only ever loaded by a policy that allows it.
    return bool(_numpy_kind(cls) & _NDARRAY)


def is_dtype(cls: Any) -> bool:
    # Named, not imported, as for ndarray.
    return isinstance(cls, type) and bool(_numpy_kind(cls) & _DTYPE)


_NDARRAY: Final = 1
_DTYPE: Final = 2
# The class itself is numpy.dtype (not a subclass such as Float64DType).
_DTYPE_ITSELF: Final = 4
# _numpy_kind of static (non-heap) types: their name, module and MRO never
# change and they are never freed, so the answer holds for the process.  (A
# static type's `__name__` and `__module__` are new strs made from its C name
# at each read: two allocations per class of the MRO.)
_STATIC_KINDS: Final[dict[type, int]] = {}


def _numpy_kind(cls: type) -> int:
    """`_NDARRAY` if a class of `cls`'s MRO is named numpy.ndarray, `_DTYPE`
    if one is named numpy.dtype (or both, or 0); `_DTYPE_ITSELF` too if
    `cls` itself is."""
    kind = _STATIC_KINDS.get(cls)
    if kind is not None:
        return kind
    kind = 0
    for k in cls.__mro__:
        name = k.__name__
        if name == "ndarray" and k.__module__ == "numpy":
            kind |= _NDARRAY
        elif name == "dtype" and k.__module__ == "numpy":
            kind |= _DTYPE | (_DTYPE_ITSELF if k is cls else 0)
    if not cls.__flags__ & _HEAPTYPE:
        _STATIC_KINDS[cls] = kind
    return kind


def check_ndarray_state(state: Any) -> None:
    """ndarray.__setstate__ allocates the shape before it looks at the data:
    the shape must describe exactly the elements or bytes the state carries."""
    if type(state) is not tuple or len(state) not in (4, 5):
        raise _refuse("ndarray state must be the tuple numpy writes", "build-state")
    shape, dtype, raw = state[-4], state[-3], state[-1]
    if type(shape) is not tuple or not all(type(n) is int and n >= 0 for n in shape):
        raise _refuse("ndarray shape must be a tuple of ints >= 0", "build-state")
    count = 1
    for n in shape:
        count *= n
    if isinstance(raw, list):
        # numpy reads the list's real items: a mismatch crashes the process.
        ok = count == list.__len__(raw)
    elif isinstance(raw, (bytes, bytearray, str)):
        itemsize = getattr(dtype, "itemsize", None)
        ok = type(itemsize) is int and count * itemsize == len(raw)
    else:
        ok = False
    if not ok:
        raise _refuse(
            "ndarray state's shape does not match the data it carries",
            "build-state",
        )


def check_dtype_call(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> None:
    # numpy writes dtype(str, align, True): copy=True makes a new descriptor,
    # so BUILD fills that one and never numpy's shared dtype objects.  Only
    # numpy.dtype itself (the classes of its MRO are known by the time a
    # call's arguments are checked: `is_dtype`).
    if (
        _numpy_kind(func) & _DTYPE_ITSELF
        and not kwargs
        and len(args) == 3
        and type(args[0]) is str
        and type(args[1]) is bool
        and args[2] is True
    ):
        return
    raise _refuse(
        "numpy.dtype is only allowed as dtype(str, align, True), the form numpy "
        "writes (a copy, so no shared dtype is changed)",
        "call-args",
    )


def check_dtype_built(dtype: Any) -> None:
    """After BUILD, a dtype must be one numpy itself would make from its parts.

    dtype.__setstate__ trusts its state: flags that hide an object field, or a
    field past the end of the item, make arrays that read or free arbitrary
    memory.  numpy's constructor checks those things, so the dtype is rebuilt
    from its description and compared (byte order first).
    """
    try:
        names = dtype.names
        sub = dtype.subdtype
        if names is None and sub is None and _like_witness(dtype):
            return
        if names is not None:
            fields = dtype.fields
            spec: dict[str, Any] = {
                "names": list(names),
                "formats": [fields[n][0] for n in names],
                "offsets": [fields[n][1] for n in names],
                "titles": [fields[n][2] if len(fields[n]) > 2 else None for n in names],
                "itemsize": dtype.itemsize,
            }
            canonical = sys.modules["numpy"].dtype(
                spec, align=bool(dtype.isalignedstruct)
            )
        elif sub is not None:
            canonical = sys.modules["numpy"].dtype(sub)
        else:
            canonical = _simple_dtype(dtype.str)
        # The byte order first: numpy compares an object dtype whose state
        # set it to ">" with its own by looking for a byte-swapping cast that
        # objects do not have, and crashes.  A dtype numpy builds has the byte
        # order it would make from the description ("|" where order does not
        # apply, "=" for the native one), and numpy writes that order.
        ok = (
            canonical.byteorder == dtype.byteorder
            and canonical == dtype
            and canonical.flags == dtype.flags
            and canonical.itemsize == dtype.itemsize
            and canonical.hasobject == dtype.hasobject
            and canonical.alignment == dtype.alignment
        )
        if ok and names is None and sub is None:
            _add_witness(dtype, canonical)
    except (TypeError, ValueError, KeyError, IndexError):
        ok = False
    if not ok:
        raise _refuse(
            "numpy dtype state does not describe a dtype numpy would build "
            "(flags, offsets or sizes are inconsistent)",
            "build-state",
        )


# What the check above establishes for a simple dtype (no fields, no
# subarray) is that it cannot be told apart (byte order, ==, flags, itemsize,
# hasobject, alignment) from a dtype numpy itself made from a type string.
# Once that has held for a simple dtype of some class, the dtype numpy made is
# kept as a *witness* for the class: a later simple dtype of the class that
# cannot be told apart from the witness has the same property, and passes
# with those reads instead of a rebuild (formatting `dtype.str` alone is ~1.9k
# instructions).  Anything else takes the full check.  The witness is a
# private copy (nothing else can reach it to __setstate__ it), its values read
# once; by class (kept alive by its entry), one per class, at most
# `_MAX_STATIC`.
_WITNESSES: Final[dict[type, tuple[Any, Any, Any, Any, Any, Any]]] = {}


def _like_witness(dtype: Any) -> bool:
    entry = _WITNESSES.get(type(dtype))
    if entry is None:
        return False
    witness, byteorder, flags, itemsize, hasobject, alignment = entry
    try:
        return bool(
            byteorder == dtype.byteorder
            and witness == dtype
            and flags == dtype.flags
            and itemsize == dtype.itemsize
            and hasobject == dtype.hasobject
            and alignment == dtype.alignment
        )
    except (TypeError, ValueError, KeyError, IndexError):
        return False


def _add_witness(dtype: Any, canonical: Any) -> None:
    kind = type(dtype)
    if kind in _WITNESSES or len(_WITNESSES) >= _MAX_STATIC:
        return
    witness = sys.modules["numpy"].dtype(canonical, copy=True)
    if (
        type(witness) is kind
        and witness.byteorder == canonical.byteorder
        and witness == canonical
        and witness.flags == canonical.flags
        and witness.itemsize == canonical.itemsize
        and witness.hasobject == canonical.hasobject
        and witness.alignment == canonical.alignment
    ):
        _WITNESSES[kind] = (
            witness,
            witness.byteorder,
            witness.flags,
            witness.itemsize,
            witness.hasobject,
            witness.alignment,
        )


# numpy's dtype for each simple type string ("<f8"), as `np.dtype(text)`
# makes it: that parse is fixed, so one made earlier is the one it would make
# now (numpy hands out one shared descriptor per built-in type anyway).
_SIMPLE_DTYPES: Final[dict[str, Any]] = {}


def _simple_dtype(text: Any) -> Any:
    made = _SIMPLE_DTYPES.get(text) if type(text) is str else None
    if made is None:
        made = sys.modules["numpy"].dtype(text)
        if type(text) is str and len(_SIMPLE_DTYPES) < _MAX_STATIC:
            _SIMPLE_DTYPES[text] = made
    return made


def check_numpy_reconstruct(args: tuple[Any, ...]) -> None:
    # numpy writes _reconstruct(cls, (0,), b'b'); the shape is allocated.
    shape = args[1] if len(args) > 1 else None
    if type(shape) is not tuple or not any(n == 0 for n in shape):
        raise _refuse(
            "numpy _reconstruct is only allowed with an empty shape, as numpy "
            "writes it",
            "call-args",
        )
