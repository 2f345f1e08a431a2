"""Global names as a load sees them: Python 2 names mapped to Python 3.

Pure functions, no state: the loop, the scanner and `find_class` share them.
"""

from __future__ import annotations

import _compat_pickle

__all__ = ["NameLookup", "NamePath", "py3_name"]


def py3_name(module: str, name: str) -> tuple[str, str]:
    """`(module, name)` with a Python 2 name mapped to its Python 3 home, as
    the stdlib's find_class does under fix_imports at protocols 0-2."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class NameLookup:
    """What a safe load resolves ``builtins.getattr`` to.

    Below protocol 4 the C pickler writes a nested name (``Outer.Inner``, a
    method, a classmethod) as ``getattr(Outer, 'Inner')`` through REDUCE.  A
    safe load recognises exactly that call: the unpickler checks the dotted
    name against the policy and resolves it before the call, and the call
    hands back what was resolved.  Anything else is refused before it gets
    here, so this object never looks up an attribute itself.
    """

    __slots__ = ("result",)

    def __init__(self) -> None:
        self.result: object = None

    def __call__(self, *args: object) -> object:
        value = self.result
        self.result = None
        return value

    def __repr__(self) -> str:
        return "<getattr of a safe load: nested names only>"


class NamePath:
    """A global the policy does not allow, held only as the base of a nested
    name: ``Outer`` in ``getattr(Outer, 'Inner')`` when only ``Outer.Inner``
    is allowed.  Nothing is imported for it; it is never called or given
    state or items."""

    __slots__ = ("module", "qualname")

    def __init__(self, module: str, qualname: str) -> None:
        self.module = module
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<refused global {self.module}.{self.qualname}>"
