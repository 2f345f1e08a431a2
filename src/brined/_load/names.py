"""Global names as a load sees them: Python 2 names mapped to Python 3.

Pure functions, no state: the loop, the scanner and `find_class` share them.
"""

from __future__ import annotations

import _compat_pickle

__all__ = ["py3_name"]


def py3_name(module: str, name: str) -> tuple[str, str]:
    """`(module, name)` with a Python 2 name mapped to its Python 3 home, as
    the stdlib's find_class does under fix_imports at protocols 0-2."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name
