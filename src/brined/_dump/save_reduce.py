"""Globals and the reduce protocol: the savers of `save_reduce.ReduceSaver`.

Classes and functions by name (`_save_global`), reduce values (`__reduce_ex__`,
copyreg's table, `reducer_override`) as REDUCE, NEWOBJ or NEWOBJ_EX with their
items and state, and the batched APPENDS/SETITEMS of reduce values.  The bytes
are `_pickle.c`'s (see `pickler`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import Any

from .._format.opcodes import BATCHSIZE
from ..errors import PicklingError
from .base import (
    PicklerBase,
    _check_pair,
    _copyreg_newobj,
    _Entry,
    _steps,
    mypyc_attr,
)
from .reduce import (
    check_newobj_args,
    check_newobj_ex_args,
    check_reduce_value,
    ext_opcode,
    find_global,
    global_opcode,
)


@mypyc_attr(allow_interpreted_subclasses=True)
class ReduceSaver(PicklerBase):
    """Globals, reduce values and the items of reduce values."""

    def _appends_one_by_one(self, items: Iterator[Any]) -> Iterator[Any]:
        """Protocol 0 has no APPENDS: one APPEND per item."""
        buf = self._buf
        for item in items:
            yield item
            buf += b"\x61"  # APPEND

    def _setitems_one_by_one(self, items: Iterator[Any]) -> Iterator[Any]:
        """Protocol 0 has no SETITEMS: one SETITEM per pair."""
        buf = self._buf
        for item in items:
            _check_pair(item)
            yield from item
            buf += b"\x73"  # SETITEM

    def _batch_appends(self, items: Iterator[Any]) -> Iterator[Any]:
        """The listitems of a reduce value (C's batch_list)."""
        if not self.bin:
            yield from self._appends_one_by_one(items)
            return
        buf = self._buf
        while True:
            batch = list(islice(items, BATCHSIZE))
            n = len(batch)
            if n > 1:
                buf += b"\x28"  # MARK
                yield from batch
                buf += b"\x65"  # APPENDS
            elif n:
                yield batch[0]
                buf += b"\x61"  # APPEND
            if n < BATCHSIZE:
                return

    def _batch_setitems(self, items: Iterator[Any]) -> Iterator[Any]:
        """The dictitems of a reduce value (C's batch_dict)."""
        if not self.bin:
            yield from self._setitems_one_by_one(items)
            return
        buf = self._buf
        while True:
            batch = list(islice(items, BATCHSIZE))
            n = len(batch)
            if n > 1:
                buf += b"\x28"  # MARK
                for item in batch:
                    _check_pair(item)
                    yield from item
                buf += b"\x75"  # SETITEMS
            elif n:
                _check_pair(batch[0])
                yield from batch[0]
                buf += b"\x73"  # SETITEM
            if n < BATCHSIZE:
                return

    # -- persistent ids ------------------------------------------------------

    def _save_text_pers(self, pid: Any) -> None:
        text = str(pid)
        if not text.isascii():
            raise PicklingError("persistent IDs in protocol 0 must be ASCII strings")
        self._buf += b"P" + text.encode("ascii") + b"\n"

    # -- globals -------------------------------------------------------------

    def _save_type(self, obj: type) -> _Entry:
        if obj is type(None):
            return self._save_reduce(type, (None,), obj=obj)
        if obj is type(...):
            return self._save_reduce(type, (...,), obj=obj)
        if obj is type(NotImplemented):
            return self._save_reduce(type, (NotImplemented,), obj=obj)
        return _steps(self._save_global(obj, None))

    def _save_global(self, obj: Any, name: str | None) -> Iterator[Any]:
        ref = find_global(obj, name, self.proto)
        buf = self._buf
        if ref.ext_code:
            buf += ext_opcode(ref.ext_code)
            return
        if self.proto >= 4:
            yield ref.module
            yield ref.name
            buf += b"\x93"  # STACK_GLOBAL
        elif not ref.in_module:
            # Protocols < 4 have no dotted names: getattr(parent, name).
            yield getattr
            yield (ref.parent, ref.name.rpartition(".")[2])
            buf += b"\x52"  # REDUCE
        else:
            buf += global_opcode(ref.module, ref.name, self.proto, self.fix_imports)
        self._memoize(obj)

    # -- the reduce protocol ---------------------------------------------------

    def _save_reduce_value(self, obj: Any, rv: Any) -> _Entry:
        if isinstance(rv, str):
            return _steps(self._save_global(obj, rv))
        if not isinstance(rv, tuple):
            raise PicklingError("__reduce__ must return a string or tuple")
        return self._reduce_parts(*check_reduce_value(rv), obj)

    def _save_reduce(self, func: Any, args: tuple[Any, ...], *, obj: Any) -> _Entry:
        """A reduce value made up by the pickler itself (sets before protocol 4,
        bytes before 3, ...): no checks needed."""
        return self._reduce_parts(func, args, None, None, None, None, obj)

    def _reduce_parts(
        self,
        func: Any,
        args: tuple[Any, ...],
        state: Any,
        listitems: Any,
        dictitems: Any,
        state_setter: Any,
        obj: Any,
    ) -> _Entry:
        """Save a reduce value: the call (REDUCE, NEWOBJ or NEWOBJ_EX), then
        memoize `obj`, then its items and state (in `_after_reduce_call`)."""
        name: Any = None
        if self.proto >= 2:
            # C goes by the name; copyreg's own function is by far the commonest.
            name = (
                "__newobj__"
                if func is _copyreg_newobj
                else getattr(func, "__name__", None)
            )
        parts: tuple[Any, ...]
        if name == "__newobj__":
            parts = (check_newobj_args(args, obj), args[1:])
            op = b"\x81"  # NEWOBJ
        elif name == "__newobj_ex__":
            cls, cargs, kwargs = check_newobj_ex_args(args)
            if self.proto >= 4:
                parts = (cls, cargs, kwargs)
                op = b"\x92"  # NEWOBJ_EX
            else:
                parts = (partial(cls.__new__, cls, *cargs, **kwargs), ())
                op = b"R"  # REDUCE
        else:
            parts = (func, args)
            op = b"R"  # REDUCE
        if obj is None and state is None and listitems is None and dictitems is None:
            return (iter(parts), op)
        return (
            iter(parts),
            partial(
                self._after_reduce_call,
                op,
                obj,
                state,
                listitems,
                dictitems,
                state_setter,
            ),
        )

    def _after_reduce_call(
        self,
        op: bytes,
        obj: Any,
        state: Any,
        listitems: Any,
        dictitems: Any,
        state_setter: Any,
    ) -> _Entry | None:
        buf = self._buf
        buf += op
        if obj is not None:
            # Reached again while saving its own arguments: the object exists
            # already, so drop what was built and fetch it from the memo.
            idx = self._memo_find(obj)
            if idx >= 0:
                buf += b"\x30"  # POP
                self._write_get(idx)
                return None
            self._memoize(obj)
        if listitems is not None or dictitems is not None:
            return _steps(
                self._items_and_state(listitems, dictitems, state, state_setter, obj)
            )
        if state is None:
            return None
        if state_setter is None:
            return (iter((state,)), b"b")  # BUILD
        # state_setter(obj, state), its result popped: stack-neutral.
        return (iter((state_setter, obj, state)), b"\x86R0")  # TUPLE2 REDUCE POP

    def _items_and_state(
        self, listitems: Any, dictitems: Any, state: Any, state_setter: Any, obj: Any
    ) -> Iterator[Any]:
        if listitems is not None:
            yield from self._batch_appends(listitems)
        if dictitems is not None:
            yield from self._batch_setitems(dictitems)
        if state is not None:
            if state_setter is None:
                yield state
                self._buf += b"\x62"  # BUILD
            else:
                yield state_setter
                yield obj
                yield state
                self._buf += b"\x86R0"  # TUPLE2 REDUCE POP
