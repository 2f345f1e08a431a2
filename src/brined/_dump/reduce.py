"""What the pickler needs to know about globals and reduce values, without state.

Everything here is a pure function of its arguments and the interpreter (modules,
`copyreg`'s registries): finding the name a class or function is pickled under,
the GLOBAL/EXT bytes for it, and checking a `__reduce__` value.  Messages follow
`_pickle.c`'s wording, so errors read the same as with the stdlib.
"""

from __future__ import annotations

import copyreg
import sys
from _compat_pickle import REVERSE_IMPORT_MAPPING, REVERSE_NAME_MAPPING
from struct import pack
from typing import Any, Final

from ..errors import PicklingError


class GlobalRef:
    """Where a global lives: `module`, the `name` to write (its qualname, or the
    last part when it sits directly in the module), and the `parent` holding it.

    A plain class, not a NamedTuple: compiled, it is a native class whose
    constructor costs a few ns (a NamedTuple's runs as interpreted Python)."""

    __slots__ = ("module", "name", "parent", "in_module", "ext_code")

    def __init__(
        self, module: str, name: str, parent: Any, in_module: bool, ext_code: int
    ) -> None:
        self.module = module
        self.name = name
        self.parent = parent
        self.in_module = in_module
        self.ext_code = ext_code


# Looked up once, as `_pickle.c` does: copyreg.add_extension() adds to this dict.
_extension_registry: Final[dict[tuple[str, str], int]] = copyreg._extension_registry  # type: ignore[attr-defined]


def getattribute(obj: Any, dotted: list[str]) -> tuple[Any, Any]:
    """Walk a dotted path from `obj`; returns (the object, its parent)."""
    parent = obj
    for part in dotted:
        parent = obj
        obj = getattr(obj, part)
    return obj, parent


def whichmodule(obj: object, dotted: list[str]) -> str:
    """The module holding `obj`, which has no `__module__`: a search of
    `sys.modules`, else ``__main__``."""
    for name, module in sys.modules.copy().items():
        if (
            not isinstance(name, str)
            or name == "__main__"
            or name == "__mp_main__"
            or module is None
        ):
            continue
        try:
            if getattribute(module, dotted)[0] is obj:
                return name
        except AttributeError:
            pass
    return "__main__"


def find_global(obj: Any, name: str | None, proto: int) -> GlobalRef:
    """Check that `obj` can be pickled by reference and say under which name.

    Raises `PicklingError` when the name does not lead back to `obj`.
    """
    if name is None:
        name = getattr(obj, "__qualname__", None)
        if name is None:
            name = obj.__name__
    assert name is not None
    # Most globals sit directly in their module: no dotted path to split and walk.
    dotted: list[str] | None = name.split(".") if "." in name else None
    if (name == "<locals>") if dotted is None else ("<locals>" in dotted):
        if sys.version_info < (3, 14):
            # C's get_dotted_path before 3.14: AttributeError, the qualname.
            raise AttributeError(f"Can't pickle local object {name!r}")
        raise PicklingError(f"Can't pickle local object {obj!r}")
    module_name = getattr(obj, "__module__", None)
    if module_name is None:
        module_name = whichmodule(obj, [name] if dotted is None else dotted)
    else:
        module_name = str(module_name)
    try:
        __import__(module_name, level=0)
        module = sys.modules[module_name]
    except (ImportError, KeyError, ValueError):
        raise PicklingError(
            f"Can't pickle {obj!r}: import of module {module_name!r} failed"
        ) from None
    try:
        if dotted is None:
            found = getattr(module, name)
            parent = module
        else:
            found, parent = getattribute(module, dotted)
    except AttributeError:
        raise PicklingError(
            f"Can't pickle {obj!r}: attribute lookup {name} on {module_name} failed"
        ) from None
    if found is not obj:
        raise PicklingError(
            f"Can't pickle {obj!r}: it's not the same object as {module_name}.{name}"
        )
    code = 0
    if proto >= 2:
        code = _extension_registry.get((module_name, name), 0)
    in_module = parent is module
    if in_module and dotted is not None:
        name = dotted[-1]
    return GlobalRef(module_name, name, parent, in_module, code)


def ext_opcode(code: int) -> bytes:
    """EXT1/EXT2/EXT4 for an extension-registry code."""
    if code <= 0xFF:
        return bytes((0x82, code))
    if code <= 0xFFFF:
        return b"\x83" + pack("<H", code)
    return b"\x84" + pack("<i", code)


def global_opcode(module: str, name: str, proto: int, fix_imports: bool) -> bytes:
    """The text GLOBAL opcode (protocols 0-3); Python 2 names under fix_imports."""
    if proto >= 3:
        return b"c" + module.encode("utf-8") + b"\n" + name.encode("utf-8") + b"\n"
    if fix_imports:
        if (module, name) in REVERSE_NAME_MAPPING:
            module, name = REVERSE_NAME_MAPPING[(module, name)]
        elif module in REVERSE_IMPORT_MAPPING:
            module = REVERSE_IMPORT_MAPPING[module]
    try:
        return b"c" + module.encode("ascii") + b"\n" + name.encode("ascii") + b"\n"
    except UnicodeEncodeError:
        raise PicklingError(
            f"can't pickle global identifier '{module}.{name}' using pickle "
            f"protocol {proto}"
        ) from None


def check_reduce_value(rv: tuple[Any, ...]) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Validate a `__reduce__` tuple as `_pickle.c` does; returns it padded to
    (callable, args, state, listitems, dictitems, state_setter)."""
    n = len(rv)
    if not 2 <= n <= 6:
        raise PicklingError(
            "tuple returned by __reduce__ must contain 2 through 6 elements"
        )
    func, args, state, listitems, dictitems, state_setter = rv + (None,) * (6 - n)
    if not callable(func):
        raise PicklingError(
            "first item of the tuple returned by __reduce__ must be callable"
        )
    if not isinstance(args, tuple):
        raise PicklingError(
            "second item of the tuple returned by __reduce__ must be a tuple"
        )
    if listitems is not None and not hasattr(type(listitems), "__next__"):
        raise PicklingError(
            "fourth element of the tuple returned by __reduce__ must be an "
            f"iterator, not {type(listitems).__name__}"
        )
    if dictitems is not None and not hasattr(type(dictitems), "__next__"):
        raise PicklingError(
            "fifth element of the tuple returned by __reduce__ must be an "
            f"iterator, not {type(dictitems).__name__}"
        )
    if state_setter is not None and not callable(state_setter):
        raise PicklingError(
            "sixth element of the tuple returned by __reduce__ must be a "
            f"function, not {type(state_setter).__name__}"
        )
    return func, args, state, listitems, dictitems, state_setter


def check_newobj_ex_args(
    args: tuple[Any, ...],
) -> tuple[type, tuple[Any, ...], dict[str, Any]]:
    if len(args) != 3:
        raise PicklingError(
            f"length of the NEWOBJ_EX argument tuple must be exactly 3, not {len(args)}"
        )
    cls, cargs, kwargs = args
    if not isinstance(cls, type):
        raise PicklingError(
            "first item from NEWOBJ_EX argument tuple must be a class, "
            f"not {type(cls).__name__}"
        )
    if not isinstance(cargs, tuple):
        raise PicklingError(
            "second item from NEWOBJ_EX argument tuple must be a tuple, "
            f"not {type(cargs).__name__}"
        )
    if not isinstance(kwargs, dict):
        raise PicklingError(
            "third item from NEWOBJ_EX argument tuple must be a dict, "
            f"not {type(kwargs).__name__}"
        )
    return cls, cargs, kwargs


def check_newobj_args(args: tuple[Any, ...], obj: Any) -> type:
    if len(args) < 1:
        raise PicklingError("__newobj__ arglist is empty")
    cls = args[0]
    if not isinstance(cls, type):
        raise PicklingError("args[0] from __newobj__ args is not a type")
    if obj is not None and cls is not obj.__class__:
        raise PicklingError("args[0] from __newobj__ args has the wrong class")
    return cls


def encode_long(x: int) -> bytes:
    """Two's-complement little-endian bytes of a non-zero int, as short as they
    can be while keeping the sign (the LONG1/LONG4 argument)."""
    nbytes = (x.bit_length() >> 3) + 1
    data = x.to_bytes(nbytes, "little", signed=True)
    if x < 0 and nbytes > 1 and data[-1] == 0xFF and (data[-2] & 0x80):
        data = data[:-1]
    return data


def escape_text(s: str) -> bytes:
    """The UNICODE (protocol 0) argument: raw-unicode-escape, with the characters
    that would break the line-based format escaped too."""
    s = (
        s.replace("\\", "\\u005c")
        .replace("\0", "\\u0000")
        .replace("\n", "\\u000a")
        .replace("\r", "\\u000d")
        .replace("\x1a", "\\u001a")
    )
    return s.encode("raw-unicode-escape")
