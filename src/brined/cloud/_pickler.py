"""The cloud `Pickler` and the module-level functions of `brined.cloud`.

The pickler is brined's public `Pickler` with a `reducer_override` for
functions and classes (any metaclass) and a `dispatch_table` for the other
types written by value.  Everything found by name is left to the engine, so
data and importable functions give exactly `brined.dumps`'s bytes.
"""

from __future__ import annotations

import copyreg
import io
import sys
from collections import ChainMap
from collections.abc import Callable, Iterable
from types import CellType, CodeType, FunctionType
from typing import IO, Any, ClassVar, Final

from .. import HIGHEST_PROTOCOL, _api
from .. import load as _load
from .. import loads as _loads
from ..errors import PicklingError
from . import _reconstruct as R
from ._diagnose import add_path_note
from ._lookup import function_by_reference
from ._reduce import DISPATCH, reduce_class, reduce_function

__all__ = [
    "DEFAULT_PROTOCOL",
    "CloudPickler",
    "Pickler",
    "dump",
    "dumps",
    "load",
    "loads",
]

# As cloudpickle: the highest protocol (speed between processes of one Python).
DEFAULT_PROTOCOL: Final = HIGHEST_PROTOCOL

# A cell of a closure being written: made empty, filled by the function's state.
_EMPTY_CELL: Final = (R.make_empty_cell, ())


class Pickler(_api.Pickler):
    """A pickler that writes by value what cannot be found by name.

    Lambdas, nested functions, closures, functions and classes of ``__main__``
    or of modules registered with `register_pickle_by_value`, dynamic modules,
    code objects, cells and more; see ``docs/cloud.md``.  Subclasses may extend
    `dispatch_table`, override `reducer_override` (calling this one for what
    they don't handle) and define `persistent_id`, as with cloudpickle.
    `deterministic` and `on_error` are as for `brined.dumps` (``brined.explain(obj,
    cloud=True)`` runs this pickler with ``on_error="placeholder"``).
    """

    _dispatch_table: ClassVar[dict[type, Any]] = DISPATCH
    dispatch_table: ClassVar[Any] = ChainMap(DISPATCH, copyreg.dispatch_table)

    def __init__(
        self,
        file: IO[bytes] | Any,
        protocol: int | None = None,
        buffer_callback: Callable[[Any], Any] | None = None,
        *,
        deterministic: bool = False,
        on_error: str = "raise",
    ) -> None:
        if protocol is None:
            protocol = DEFAULT_PROTOCOL
        super().__init__(
            file,
            protocol,
            buffer_callback=buffer_callback,
            deterministic=deterministic,
            on_error=on_error,
        )
        # One globals dict per module among the functions of one pickle, so
        # functions that shared globals still share them after loading.
        self.globals_ref: dict[int, dict[str, Any]] = {}
        # Cells of the closures being written: written empty, filled by the
        # function's state (a closure can hold its own function).
        self._closure_cells: set[int] = set()
        # The globals each code object of this pickle uses, by id (the
        # functions being pickled keep their code alive meanwhile).
        self._code_globals: dict[int, tuple[CodeType, tuple[str, ...]]] = {}
        self._plain_types: set[type] = set()
        # Read by the engine's compiled driver (`_dump/levels.py`): types whose
        # instances no hook of this pickler touches.  Only vouched for when
        # neither reducer_override nor dispatch_table was replaced.
        self._hook_free_types: set[type] = set()
        self._vouch = False

    def _can_vouch(self) -> bool:
        own = getattr(self, "__dict__", {})
        return (
            type(self).reducer_override is Pickler.reducer_override
            and "reducer_override" not in own
            and "dispatch_table" not in own
            and type(self).dispatch_table is Pickler.dispatch_table
        )

    def dump(self, obj: Any) -> None:
        """Write the pickle of `obj` to the file."""
        self._vouch = self._can_vouch()
        if not self._vouch:
            self._hook_free_types.clear()
        try:
            super().dump(obj)
        except RecursionError as e:
            raise PicklingError(
                "Could not pickle object as excessively deep recursion required."
            ) from e
        except Exception as e:
            add_path_note(e, obj, _Probe(self.proto))
            raise
        finally:
            # Ids are only unique among live objects: once the memo lets the
            # cells go, an id could name another cell.
            self._closure_cells.clear()
            self._code_globals.clear()

    def reducer_override(self, obj: Any) -> Any:
        """Reduce functions and classes not found by name; NotImplemented else."""
        t = type(obj)
        if t in self._plain_types:
            return NotImplemented
        if t is FunctionType:
            if function_by_reference(obj):
                return NotImplemented
            return reduce_function(
                obj, self.globals_ref, self._closure_cells, self._code_globals
            )
        if t is CellType:
            if id(obj) in self._closure_cells:
                return _EMPTY_CELL
        elif issubclass(t, type):
            return reduce_class(obj)
        # By identity, whatever their type (a test runner's capture object...).
        if obj is sys.stdout:
            return getattr, (sys, "stdout")
        if obj is sys.stderr:
            return getattr, (sys, "stderr")
        if obj is sys.stdin:
            raise PicklingError("Cannot pickle standard input")
        if not (t is CellType or t in _STREAM_TYPES or _is_stream_type(t)):
            # Instances of this type need nothing from this method: skip it
            # next time (most objects of a pickle are of a few such types).
            self._plain_types.add(t)
            if self._vouch and t not in self.dispatch_table:
                # The compiled engine may then skip the hooks for them.
                self._hook_free_types.add(t)
        return NotImplemented


CloudPickler = Pickler

_STREAM_TYPES: Final = frozenset({io.TextIOWrapper})


def _is_stream_type(t: type) -> bool:
    # The types of the current standard streams (a test runner may swap them).
    return t is type(sys.stdout) or t is type(sys.stderr) or t is type(sys.stdin)


class _Probe:
    """Whether an object fails to pickle alone (for the error path)."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: int) -> None:
        self.protocol = protocol

    def __call__(self, obj: Any) -> bool:
        try:
            # The base class's dump: no nested diagnosis.
            _api.Pickler.dump(Pickler(io.BytesIO(), self.protocol), obj)
        except Exception:  # noqa: BLE001 - any failure counts
            return True
        return False


def dump(
    obj: Any,
    file: Any,
    protocol: int | None = None,
    buffer_callback: Callable[[Any], Any] | None = None,
    *,
    deterministic: bool = False,
) -> None:
    """Write `obj` to the binary `file`, by value where needed (like cloudpickle).

    `protocol` defaults to `DEFAULT_PROTOCOL` (the highest).  `deterministic`
    is brined's (see `brined.dumps`): also set elements in a stable order.
    """
    Pickler(file, protocol, buffer_callback, deterministic=deterministic).dump(obj)


def dumps(
    obj: Any,
    protocol: int | None = None,
    buffer_callback: Callable[[Any], Any] | None = None,
    *,
    deterministic: bool = False,
) -> bytes:
    """Return the pickle of `obj`, by value where needed (like cloudpickle).

    `deterministic` is brined's (see `brined.dumps`).
    """
    with io.BytesIO() as file:
        Pickler(file, protocol, buffer_callback, deterministic=deterministic).dump(obj)
        return file.getvalue()


def load(
    file: Any,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
) -> Any:
    """Read one pickle from `file`.  TRUSTED: this runs code in the pickle.

    Like cloudpickle's (`pickle.load`): only for data from a source you trust.
    """
    return _load(
        file,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
        buffers=buffers,
        trusted=True,
    )


def loads(
    data: Any,
    /,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
) -> Any:
    """Return the object pickled in `data`.  TRUSTED: this runs code in the pickle.

    Like cloudpickle's (`pickle.loads`): only for data from a source you trust.
    For untrusted data use `brined.loads`, which refuses code by value.
    """
    return _loads(
        data,
        fix_imports=fix_imports,
        encoding=encoding,
        errors=errors,
        buffers=buffers,
        trusted=True,
    )
