"""CPython's own pickle test suite, bound to brined.

`test.pickletester` (shipped with CPython's standard library) holds abstract test
classes that CPython's `test_pickle` binds to its pure-Python and C implementations.
Here the same classes are bound to brined, as plain `unittest.TestCase` classes that
pytest collects.  Nothing is copied from that suite: only the bindings live here.

Two choices differ from CPython's binding of its pure-Python pickle, on purpose:

- Loading is bound with ``trusted=True``.  The suite loads its own test classes by
  name, which brined's default policy refuses; trusted loading is exactly the
  stdlib's behaviour, and that is what the suite checks.
- ``bad_stack_errors`` and ``truncated_errors`` are ``(pickle.UnpicklingError,)``,
  as for the C unpickler: brined promises that malformed or truncated input raises
  an `UnpicklingError` subclass, never a bare `IndexError` or `struct.error`.
"""

from __future__ import annotations

import collections
import copyreg
import functools
import io
import os
import pickle
import unittest
from collections.abc import Iterator
from typing import Any

import pytest
from test import pickletester as pt
from test import test_pickle

import brined


class TrustedUnpickler(brined.Unpickler):
    """brined's Unpickler with trusted loading as the default."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        kwargs.setdefault("trusted", True)
        super().__init__(file, **kwargs)


trusted_load = functools.partial(brined.load, trusted=True)
trusted_loads = functools.partial(brined.loads, trusted=True)

_STRICT_ERRORS = (pickle.UnpicklingError,)


@pytest.fixture(autouse=True, scope="module")
def _in_tmp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # The suite writes scratch files named by `os_helper.TESTFN`, a relative path,
    # into the current directory; keep them out of the checkout.  One directory for
    # the whole module: a test that puts TESTFN on sys.path breaks when the same
    # relative name points at a different directory in a later test (the import
    # system caches finders by path string).
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cpython_suite"))
    try:
        yield
    finally:
        os.chdir(previous)


def _dumps_via(pickler: type, arg: Any, proto: int | None, **kwargs: Any) -> bytes:
    f = io.BytesIO()
    pickler(f, proto, **kwargs).dump(arg)
    return f.getvalue()


def _loads_via(unpickler: type, buf: bytes, **kwargs: Any) -> Any:
    return unpickler(io.BytesIO(buf), **kwargs).load()


# -- module-level functions --------------------------------------------------------


class ModuleTests(pt.AbstractPickleModuleTests, unittest.TestCase):
    dump = staticmethod(brined.dump)
    dumps = staticmethod(brined.dumps)
    load = staticmethod(trusted_load)
    loads = staticmethod(trusted_loads)
    Pickler = brined.Pickler
    Unpickler = TrustedUnpickler


# -- Pickler and Unpickler objects over files -----------------------------------------


class UnpicklerTests(pt.AbstractUnpickleTests, unittest.TestCase):
    unpickler: type = TrustedUnpickler
    bad_stack_errors = _STRICT_ERRORS
    truncated_errors = _STRICT_ERRORS

    def loads(self, buf: bytes, **kwds: Any) -> Any:
        return _loads_via(self.unpickler, buf, **kwds)


class PicklerTests(pt.AbstractPickleTests, unittest.TestCase):
    pickler: type = brined.Pickler
    unpickler: type = TrustedUnpickler

    def dumps(self, arg: Any, proto: int | None = None, **kwargs: Any) -> bytes:
        return _dumps_via(self.pickler, arg, proto, **kwargs)

    def loads(self, buf: bytes, **kwds: Any) -> Any:
        return _loads_via(self.unpickler, buf, **kwds)


class DumpBrined_LoadCPickle(PicklerTests):
    """brined writes, the C unpickler reads."""

    unpickler = pickle.Unpickler


class DumpCPickle_LoadBrined(PicklerTests):
    """The C pickler writes, brined reads."""

    pickler = pickle.Pickler


# -- dumps/loads in memory ----------------------------------------------------------


class InMemoryTests(
    pt.AbstractPickleTests,
    pt.AbstractUnpickleTests,
    pt.BigmemPickleTests,
    unittest.TestCase,
):
    bad_stack_errors = _STRICT_ERRORS
    truncated_errors = _STRICT_ERRORS

    def dumps(self, arg: Any, protocol: int | None = None, **kwargs: Any) -> bytes:
        result: bytes = brined.dumps(arg, protocol, **kwargs)
        return result

    def loads(self, buf: bytes, **kwds: Any) -> Any:
        return trusted_loads(buf, **kwds)

    # This test hands a file whose writes are delayed to the pickler; `dumps` has no
    # file, so the test does not apply (CPython's in-memory binding removes it too).
    test_framed_write_sizes_with_delayed_writer = None


# -- persistent ids -------------------------------------------------------------------


class _PersistentMixin:
    """Route the suite's `persistent_id`/`persistent_load` through subclasses."""

    pickler: type = brined.Pickler
    unpickler: type = TrustedUnpickler

    def dumps(self, arg: Any, proto: int | None = None) -> bytes:
        suite: Any = self  # persistent_id comes from the abstract suite class

        class PersPickler(self.pickler):
            def persistent_id(self, obj: Any) -> Any:
                return suite.persistent_id(obj)

        return _dumps_via(PersPickler, arg, proto)

    def loads(self, buf: bytes, **kwds: Any) -> Any:
        suite: Any = self

        class PersUnpickler(self.unpickler):
            def persistent_load(self, pid: Any) -> Any:
                return suite.persistent_load(pid)

        return _loads_via(PersUnpickler, buf, **kwds)


class PersistentPicklerTests(
    pt.AbstractPersistentPicklerTests, _PersistentMixin, unittest.TestCase
):
    pass


class IdentityPersistentPicklerTests(
    pt.AbstractIdentityPersistentPicklerTests, _PersistentMixin, unittest.TestCase
):
    pass


# -- Pickler/Unpickler object behaviour, dispatch tables, hooks ---------------------


class PicklerUnpicklerObjectTests(
    pt.AbstractPicklerUnpicklerObjectTests, unittest.TestCase
):
    pickler_class = brined.Pickler
    unpickler_class = TrustedUnpickler


class DispatchTableTests(pt.AbstractDispatchTableTests, unittest.TestCase):
    """A private copy of copyreg's table as `dispatch_table`."""

    pickler_class = brined.Pickler

    def get_dispatch_table(self) -> Any:
        return copyreg.dispatch_table.copy()


class ChainDispatchTableTests(pt.AbstractDispatchTableTests, unittest.TestCase):
    """A ChainMap in front of copyreg's table, which is not a dict."""

    pickler_class = brined.Pickler

    def get_dispatch_table(self) -> Any:
        return collections.ChainMap({}, copyreg.dispatch_table)


class HookTests(pt.AbstractHookTests, unittest.TestCase):
    class CustomPickler(brined.Pickler, pt.AbstractCustomPicklerClass):
        pass

    pickler_class = CustomPickler


# -- protocol 2 name mapping ---------------------------------------------------------


class CompatPickleTests(test_pickle.CompatPickleTests):
    """The `_compat_pickle` tables that ``fix_imports`` maps names through.

    brined reads the standard library's tables rather than keeping a copy, so these
    checks guard the tables it relies on on this Python.
    """
