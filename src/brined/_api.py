"""The public `Pickler` and `Unpickler`: Python subclasses of the engine's classes.

This module is never compiled (see ARCHITECTURE.md, "Builds").  In the compiled
build the engine's classes are native classes, whose instances have no
``__dict__``: a hook assigned on an instance (``p.persistent_id = f``,
``p.dispatch_table = t``, ``u.find_class = f``) would raise AttributeError.  A
subclass defined in Python gets a ``__dict__``, so these behave like the stdlib's
in both builds.  `dump`, `dumps`, `load` and `loads` use the engine's classes
directly: their instances never escape, so nothing can be assigned on them.
"""

from __future__ import annotations

from ._dump import pickler as _pickler
from ._load import unpickler as _unpickler

__all__ = ["Pickler", "Unpickler"]


class Pickler(_pickler.Pickler):
    __doc__ = _pickler.Pickler.__doc__


class Unpickler(_unpickler.Unpickler):
    __doc__ = _unpickler.Unpickler.__doc__
