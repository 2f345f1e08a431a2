"""Atoms, strings, bytes and containers: the savers of `savers.Savers`.

`_save_compound` dispatches an object that is no atom and not in the memo, in
`_pickle.c`'s order of checks; the container savers return the entry the
driver drives (see `pickler`).  The bytes are `_pickle.c`'s.
"""

from __future__ import annotations

from _codecs import encode as _codecs_encode
from collections.abc import Iterator
from functools import partial
from itertools import chain, islice
from pickle import PickleBuffer
from struct import pack
from types import FunctionType
from typing import Any

from .._format.opcodes import BATCHSIZE, FRAME_SIZE_TARGET
from ..errors import PicklingError
from .base import (
    _BININT1,
    _LATIN1,
    _SHORT_BINBYTES,
    _SHORT_BINUNICODE,
    _TUPLE_OPS,
    _copyreg_table,
    _Entry,
    _pack_binfloat,
    _pack_binint,
    _pack_binint2,
    _steps,
    mypyc_attr,
)
from .canonical import canonical_order
from .reduce import encode_long, escape_text
from .save_reduce import ReduceSaver


@mypyc_attr(allow_interpreted_subclasses=True)
class Savers(ReduceSaver):
    """Atoms, strings, bytes, containers, and the dispatch by type."""

    def _save_compound(self, obj: Any) -> _Entry | None:
        """Save an object that is no atom and not in the memo."""
        t = type(obj)
        if t is dict:
            return self._save_dict(obj)
        if t is list:
            return self._save_list(obj)
        if t is tuple:
            return self._save_tuple(obj)
        if t is set:
            return self._save_set(obj)
        if t is frozenset:
            return self._save_frozenset(obj)
        if t is bytes:  # protocols 0-2 only; _save_atom took the rest
            if not obj:
                return self._save_reduce(bytes, (), obj=obj)
            return self._save_reduce(
                _codecs_encode, (str(obj, _LATIN1), _LATIN1), obj=obj
            )
        if t is bytearray:
            return self._save_bytearray(obj)
        if t is PickleBuffer:
            self._save_picklebuffer(obj)
            return None

        override = self._reducer_override
        if override is not None:
            rv = override(obj)
            if rv is not NotImplemented:
                return self._save_reduce_value(obj, rv)

        if t is type:
            return self._save_type(obj)
        if t is FunctionType:
            return _steps(self._save_global(obj, None))

        table = self._own_dispatch_table
        reduce: Any
        if table is None:
            reduce = _copyreg_table.get(t)
        else:
            try:
                reduce = table[t]
            except KeyError:
                reduce = None
        if reduce is not None:
            rv = reduce(obj)
        elif issubclass(t, type):
            return _steps(self._save_global(obj, None))
        else:
            reduce = getattr(obj, "__reduce_ex__", None)
            if reduce is not None:
                rv = reduce(self.proto)
            else:
                reduce = getattr(obj, "__reduce__", None)
                if reduce is None:
                    raise PicklingError(f"can't pickle {t.__name__!r} object: {obj!r}")
                rv = reduce()
        return self._save_reduce_value(obj, rv)

    def _save_atom(self, obj: Any) -> bool:
        """Write `obj` if it needs no generator: None, bools, ints, floats, a memo
        hit, str, and bytes from protocol 3.  False means "not an atom"."""
        buf = self._buf
        t = type(obj)
        if t is int:
            v: int = obj  # typed: compiled, the comparisons are native
            if self.bin:
                if 0 <= v <= 0xFF:
                    buf += _BININT1[v]
                elif 0 <= v <= 0xFFFF:
                    buf += _pack_binint2(0x4D, v)  # BININT2
                elif -0x80000000 <= v <= 0x7FFFFFFF:
                    buf += _pack_binint(0x4A, v)  # BININT
                else:
                    self._save_long(v)
            elif -0x80000000 <= v <= 0x7FFFFFFF:
                buf += b"I" + repr(v).encode("ascii") + b"\n"
            else:
                buf += b"L" + repr(v).encode("ascii") + b"L\n"
            return True
        if obj is None:
            buf += b"\x4e"  # NONE
            return True
        if t is bool:
            if self.proto >= 2:
                buf += b"\x88" if obj else b"\x89"  # NEWTRUE, NEWFALSE
            else:
                buf += b"I01\n" if obj else b"I00\n"
            return True
        if t is float:
            if self.bin:
                buf += _pack_binfloat(0x47, obj)  # BINFLOAT
            else:
                buf += b"F" + repr(obj).encode("ascii") + b"\n"
            return True
        x = self._memo.get(id(obj))
        if x is not None:
            self._write_get(x[0])
            return True
        if t is str:
            self._save_str(obj)
            return True
        if t is bytes and self.proto >= 3:
            self._save_bytes_data(obj, obj)
            return True
        return False

    def _save_long(self, obj: int) -> None:
        buf = self._buf
        if self.proto >= 2:
            data = encode_long(obj)
            n = len(data)
            if n < 256:
                buf += bytes((0x8A, n)) + data
            elif n <= 0x7FFFFFFF:
                buf += b"\x8b" + pack("<i", n) + data
            else:
                raise OverflowError("int too large to pickle")
        else:
            buf += b"L" + repr(obj).encode("ascii") + b"L\n"

    def _save_str(self, obj: str) -> None:
        if self.bin:
            try:
                data = obj.encode("utf-8")
            except UnicodeEncodeError:
                data = obj.encode("utf-8", "surrogatepass")
            n = len(data)
            if n <= 0xFF and self.proto >= 4:
                header = _SHORT_BINUNICODE[n]
            else:
                header = self._long_header(n, b"X", b"\x8d", "a string")
            self._write_payload(header, data)
        else:
            self._buf += b"V" + escape_text(obj) + b"\n"
        self._memoize(obj)

    def _save_bytes_data(self, obj: Any, data: Any) -> None:
        """BINBYTES-family opcodes for `data`, then memoize `obj` (a bytes object,
        or the PickleBuffer that `data` views)."""
        n = len(data)
        if n <= 0xFF:
            header = _SHORT_BINBYTES[n]
        else:
            header = self._long_header(n, b"B", b"\x8e", "a bytes object")
        self._write_payload(header, data)
        self._memoize(obj)

    def _long_header(self, n: int, op4: bytes, op8: bytes, what: str) -> bytes:
        """The header of a str/bytes payload too long for the 1-byte form."""
        if n <= 0xFFFFFFFF:
            return op4 + pack("<I", n)
        if self.proto >= 4:
            return op8 + pack("<Q", n)
        raise OverflowError(
            f"serializing {what} larger than 4 GiB requires pickle protocol 4 or higher"
        )

    def _write_payload(self, header: bytes, data: Any) -> None:
        if len(data) >= FRAME_SIZE_TARGET:
            self._write_large(header, data)
        else:
            self._buf += header
            self._buf += data

    def _save_bytearray_data(self, obj: Any, data: Any) -> None:
        self._write_payload(b"\x96" + pack("<Q", len(data)), data)  # BYTEARRAY8
        self._memoize(obj)

    def _save_bytearray(self, obj: bytearray) -> _Entry | None:
        if self.proto < 5:
            if not obj:
                return self._save_reduce(bytearray, (), obj=obj)
            return self._save_reduce(bytearray, (bytes(obj),), obj=obj)
        self._save_bytearray_data(obj, memoryview(obj))
        return None

    def _save_picklebuffer(self, obj: PickleBuffer) -> None:
        if self.proto < 5:
            raise PicklingError("PickleBuffer can only be pickled with protocol >= 5")
        # One memoryview: raw() refuses exactly the buffers C pickle refuses
        # (suboffsets, or contiguous in neither order), and its readonly flag
        # is the buffer's.
        try:
            raw = obj.raw()
        except BufferError:
            raise PicklingError(
                "PickleBuffer can not be pickled when pointing to a non-contiguous "
                "buffer"
            ) from None
        in_band = True
        if self._buffer_callback is not None:
            in_band = bool(self._buffer_callback(obj))
        if in_band:
            if raw.readonly:
                self._save_bytes_data(obj, raw)
            else:
                self._save_bytearray_data(obj, raw)
        elif raw.readonly:
            self._buf += b"\x97\x98"  # NEXT_BUFFER, READONLY_BUFFER
        else:
            self._buf += b"\x97"  # NEXT_BUFFER

    # -- containers ----------------------------------------------------------

    def _save_list(self, obj: list[Any]) -> _Entry | None:
        buf = self._buf
        if self.bin:
            buf += b"\x5d"  # EMPTY_LIST
        else:
            buf += b"(l"
        self._memoize(obj)
        n = len(obj)
        if not n:
            return None
        if not self.bin:
            return (self._appends_one_by_one(iter(obj)), b"")
        if n == 1:
            return (iter((obj[0],)), b"a")  # APPEND
        if n <= BATCHSIZE:
            buf += b"\x28"  # MARK
            return (iter(obj), b"e")  # APPENDS
        return self._list_batch(obj, 0)

    def _list_batch(self, obj: list[Any], start: int) -> _Entry | None:
        """C's batch_list_exact: MARK ... APPENDS per 1000 items.  Each batch's
        closer writes APPENDS and hands back the next batch."""
        if start >= len(obj):
            return None
        self._buf += b"\x28"  # MARK
        end = start + BATCHSIZE
        return (iter(obj[start:end]), partial(self._end_list_batch, obj, end))

    def _end_list_batch(self, obj: list[Any], end: int) -> _Entry | None:
        self._buf += b"\x65"  # APPENDS
        return self._list_batch(obj, end)

    def _save_dict(self, obj: dict[Any, Any]) -> _Entry | None:
        buf = self._buf
        if self.bin:
            buf += b"\x7d"  # EMPTY_DICT
        else:
            buf += b"(d"
        self._memoize(obj)
        size = len(obj)
        if not size:
            return None
        if not self.bin:
            return (self._setitems_one_by_one(iter(obj.items())), b"")
        if size == 1:
            return (iter(next(iter(obj.items()))), b"s")  # SETITEM
        if size < BATCHSIZE:
            buf += b"\x28"  # MARK
            return (chain.from_iterable(obj.items()), b"u")  # SETITEMS
        return self._dict_batch(obj, iter(obj.items()), size)

    def _dict_batch(self, obj: dict[Any, Any], it: Iterator[Any], size: int) -> _Entry:
        """C's batch_dict_exact: MARK ... SETITEMS per 1000 items, and one more,
        empty, pair when the size is a multiple of 1000.  Each batch's closer
        writes SETITEMS and hands back the next batch (no generator: the
        driver's frame checks can skip ahead over a plain iterator)."""
        self._buf += b"\x28"  # MARK
        batch = list(islice(it, BATCHSIZE))
        return (
            chain.from_iterable(batch),
            partial(self._end_dict_batch, obj, it, size, len(batch)),
        )

    def _end_dict_batch(
        self, obj: dict[Any, Any], it: Iterator[Any], size: int, n: int
    ) -> _Entry | None:
        self._buf += b"\x75"  # SETITEMS
        if len(obj) != size:
            raise RuntimeError("dictionary changed size during iteration")
        if n != BATCHSIZE:
            return None
        return self._dict_batch(obj, it, size)

    def _save_set(self, obj: set[Any]) -> _Entry | None:
        # Deterministic dumps: the elements in a canonical order.
        elems: Any = canonical_order(self, obj) if self._det else obj
        if self.proto < 4:
            return self._save_reduce(set, (list(elems),), obj=obj)
        buf = self._buf
        buf += b"\x8f"  # EMPTY_SET
        self._memoize(obj)
        size = len(obj)
        if not size:
            return None
        if size < BATCHSIZE:
            buf += b"\x28"  # MARK
            return (iter(elems), b"\x90")  # ADDITEMS
        return (self._set_batches(obj, elems), b"")

    def _set_batches(self, obj: set[Any], elems: Any) -> Iterator[Any]:
        """C's batch_set_exact: MARK ... ADDITEMS per 1000 elements, and one
        more, empty, batch when the size is a multiple of 1000."""
        buf = self._buf
        size = len(obj)
        it = iter(elems)
        while True:
            buf += b"\x28"  # MARK
            batch = list(islice(it, BATCHSIZE))
            yield from batch
            buf += b"\x90"  # ADDITEMS
            if len(obj) != size:
                raise RuntimeError("set changed size during iteration")
            if len(batch) != BATCHSIZE:
                return

    def _save_frozenset(self, obj: frozenset[Any]) -> _Entry | None:
        elems: Any = canonical_order(self, obj) if self._det else obj
        if self.proto < 4:
            return self._save_reduce(frozenset, (list(elems),), obj=obj)
        self._buf += b"\x28"  # MARK
        return (iter(elems), partial(self._end_frozenset, obj))

    def _end_frozenset(self, obj: frozenset[Any]) -> None:
        idx = self._memo_find(obj)
        if idx >= 0:
            # Reached again through its own items: drop them, fetch it instead.
            self._buf += b"\x31"  # POP_MARK
            self._write_get(idx)
            return
        self._buf += b"\x91"  # FROZENSET
        self._memoize(obj)

    def _save_tuple(self, obj: tuple[Any, ...]) -> _Entry | None:
        if not obj:
            if self.bin:
                self._buf += b"\x29"  # EMPTY_TUPLE
            else:
                self._buf += b"(t"
            return None
        if len(obj) > 3 or self.proto < 2:
            self._buf += b"\x28"  # MARK
        return (iter(obj), partial(self._end_tuple, obj))

    def _end_tuple(self, obj: tuple[Any, ...]) -> None:
        buf = self._buf
        n = len(obj)
        short = n <= 3 and self.proto >= 2
        x = self._memo.get(id(obj)) if self._mt is None else self._memo_entry(obj)
        if x is not None:
            # Recursive: its items led back to it.  Drop them (and the MARK)
            # and fetch the tuple from the memo.
            if short:
                buf += b"0" * n  # POP
            elif self.bin:
                buf += b"\x31"  # POP_MARK
            else:
                buf += b"0" * (n + 1)
            self._write_get(x[0])
            return
        buf += _TUPLE_OPS[n] if short else b"t"
        self._memoize(obj)
