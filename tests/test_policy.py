"""Tests for the load policy: what a default (untrusted) load will import."""

from __future__ import annotations

import collections
import io
import os
import pickle
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

import brined
from brined import UnsafeGlobalError, UnsafeOperationError
from brined._safe.policy import (
    ALLOWED,
    BAD_NAME,
    BLOCKED,
    DEFAULT_ALLOWED,
    NOT_ALLOWED,
    Policy,
)

# os.system through each opcode that names a global.  Nothing here may run.
OS_SYSTEM = {
    "GLOBAL": (b"cos\nsystem\n(Vecho pwned\ntR.", 0),
    "STACK_GLOBAL": (b"\x80\x04\x8c\x02os\x8c\x06system\x93Vecho\n\x85R.", 14),
    "INST": (b"(Vecho pwned\nios\nsystem\n.", 13),
    "OBJ": (b"(cos\nsystem\nVecho pwned\no.", 1),
}


@pytest.mark.parametrize("opcode", list(OS_SYSTEM))
def test_default_refuses_os_system(opcode: str) -> None:
    data, offset = OS_SYSTEM[opcode]
    with pytest.raises(UnsafeGlobalError) as info:
        brined.loads(data)
    err = info.value
    shown = "GLOBAL" if opcode == "OBJ" else opcode
    assert (err.module, err.name) == ("os", "system")
    assert (err.offset, err.opcode) == (offset, shown)
    message = str(err)
    assert "'os.system'" in message
    assert f"at offset {offset} ({shown})" in message
    assert "trusted=True" in message
    # Blocked names can't be allowed, so the message doesn't offer it.
    assert "blocklist" in message and "allow=" in message
    assert 'allow=["os.system"]' not in message
    assert isinstance(err, pickle.UnpicklingError)


@pytest.fixture
def fresh_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real, importable module that nothing has imported yet."""
    name = f"brined_policy_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import os
            from os import system
            from os.path import join

            class Thing:
                def __init__(self, value=0):
                    self.value = value

                def __eq__(self, other):
                    return type(other) is Thing and other.value == self.value

            def make(value):
                return Thing(value)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n."


def _stack_global(module: str, name: str) -> bytes:
    m, n = module.encode(), name.encode()
    return (
        b"\x80\x04\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n + b"\x93."
    )


def test_refusal_imports_nothing_and_offers_both_remedies(fresh_module: str) -> None:
    data = _stack_global(fresh_module, "Thing")
    with pytest.raises(UnsafeGlobalError) as info:
        brined.loads(data)
    assert fresh_module not in sys.modules
    message = str(info.value)
    assert f"'{fresh_module}.Thing'" in message
    assert f"at offset {len(data) - 2} (STACK_GLOBAL)" in message
    assert "brined.loads(data, trusted=True)" in message
    assert f'brined.loads(data, allow=["{fresh_module}.Thing"])' in message


def test_allow_by_string(fresh_module: str) -> None:
    data = _global(fresh_module, "Thing")
    assert brined.loads(data, allow=[f"{fresh_module}.Thing"]).__name__ == "Thing"
    assert brined.loads(data, allow=f"{fresh_module}:Thing").__name__ == "Thing"
    with pytest.raises(UnsafeGlobalError):
        brined.loads(_global(fresh_module, "make"), allow=[f"{fresh_module}.Thing"])


def test_allow_by_pattern(fresh_module: str) -> None:
    data = _global(fresh_module, "make")
    assert brined.loads(data, allow=[f"{fresh_module}.*"]).__name__ == "make"


def test_allow_by_object_round_trip(fresh_module: str) -> None:
    __import__(fresh_module)
    mod = sys.modules[fresh_module]
    obj = mod.Thing(5)
    for proto in range(6):
        data = pickle.dumps(obj, proto)
        with pytest.raises(UnsafeGlobalError):
            brined.loads(data)
        assert brined.loads(data, allow=[mod.Thing]) == obj
        assert brined.loads(data, trusted=True) == obj


def test_reexported_blocked_objects_stay_refused(fresh_module: str) -> None:
    pattern = [f"{fresh_module}.*"]
    for name in ("system", "os", "join"):
        with pytest.raises(UnsafeGlobalError):
            brined.loads(_global(fresh_module, name), allow=pattern)
    # Protocol 4 walks dotted names: not through another module, though.
    for name in ("os.system", "os.path.join", "os.getcwd"):
        with pytest.raises(UnsafeGlobalError):
            brined.loads(_stack_global(fresh_module, name), allow=pattern)


@pytest.mark.parametrize(
    "allow",
    [["os.system"], ["os.*"], [os.system], ["posix.system"], ["os:system"]],
)
def test_blocklist_cannot_be_lifted(allow: list[Any]) -> None:
    for data, _ in OS_SYSTEM.values():
        with pytest.raises(UnsafeGlobalError, match="blocklist"):
            brined.loads(data, allow=allow)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("subprocess", "Popen"),
        ("importlib", "import_module"),
        ("operator", "attrgetter"),
        ("functools", "reduce"),
        ("pickle", "loads"),
        ("brined", "loads"),
        ("types", "FunctionType"),
        ("ctypes", "CDLL"),
        ("shutil", "rmtree"),
        ("socket", "socket"),
        ("os.path", "join"),
    ],
)
def test_blocked_names(module: str, name: str) -> None:
    for data in (_global(module, name), _stack_global(module, name)):
        with pytest.raises(UnsafeGlobalError, match="blocklist"):
            brined.loads(data, allow=[f"{module}.{name}", f"{module}.*"])


def test_python2_names_are_checked_after_mapping() -> None:
    with pytest.raises(UnsafeGlobalError) as info:
        brined.loads(b"\x80\x02c__builtin__\neval\n.")
    assert (info.value.module, info.value.name) == ("builtins", "eval")
    assert "written as '__builtin__.eval'" in str(info.value)


@pytest.mark.parametrize(
    "name",
    ["object.__subclasses__", "int.__class__", "__loader__", "Counter.<locals>"],
)
def test_dunder_and_locals_names_refused(name: str) -> None:
    module = "collections" if name.startswith("Counter") else "builtins"
    with pytest.raises(UnsafeGlobalError, match="dunder") as info:
        brined.loads(_stack_global(module, name), allow=[f"{module}.*"])
    assert "allow=[" not in str(info.value)


def test_main_module_can_be_allowed() -> None:
    assert Policy(["__main__.Foo"]).check("__main__", "Foo") == ALLOWED


def test_trusted_loads_anything() -> None:
    assert brined.loads(b"cos\ngetcwd\n)R.", trusted=True) == os.getcwd()
    assert brined.loads(_global("os", "system"), trusted=True) is os.system


def test_subclass_find_class_wins() -> None:
    sentinel = object()

    class Mine(brined.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("os", "system"):
                return lambda *a: sentinel
            return super().find_class(module, name)

    data = OS_SYSTEM["GLOBAL"][0]
    assert Mine(io.BytesIO(data)).load() is sentinel
    # super() still applies the policy.
    with pytest.raises(UnsafeGlobalError):
        Mine(io.BytesIO(_global("os", "getcwd"))).load()


def test_find_class_as_instance_attribute() -> None:
    u = brined.Unpickler(io.BytesIO(_global("os", "system")))
    u.find_class = lambda module, name: (module, name)  # type: ignore[method-assign]
    assert u.load() == ("os", "system")


def test_subclass_raising_stdlib_unpickling_error_passes_through() -> None:
    class Strict(brined.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is forbidden")

    with pytest.raises(pickle.UnpicklingError, match="forbidden"):
        Strict(io.BytesIO(_global("collections", "OrderedDict"))).load()


def test_defaults_cover_what_the_stdlib_writes() -> None:
    objs = [
        {1, 2},
        frozenset([1]),
        bytearray(b"x"),
        b"bytes",
        complex(1, 2),
        object,
        collections.OrderedDict(a=1),
        collections.defaultdict(int, a=1),
        collections.Counter("ab"),
        collections.deque([1]),
        NotImplemented,
        ...,
    ]
    for obj in objs:
        for proto in range(6):
            got = brined.loads(pickle.dumps(obj, proto))
            assert got == obj or got is obj


def test_plain_object_instance_protocols_0_and_1() -> None:
    # copyreg._reconstructor(object, object, None)
    for proto in (0, 1):
        assert type(brined.loads(pickle.dumps(object(), proto))) is object


class Base(int):
    pass


class Derived(Base):
    pass


def test_reconstructor_needs_a_builtin_base() -> None:
    data = (
        b"ccopy_reg\n_reconstructor\n(c"
        + __name__.encode()
        + b"\nDerived\nc"
        + __name__.encode()
        + b"\nBase\nK\x05tR."
    )
    with pytest.raises(UnsafeOperationError, match="builtin base"):
        brined.loads(data, allow=[Derived, Base])
    got = brined.loads(data, trusted=True)
    assert type(got) is Derived and got == 5


def test_policy_verdicts() -> None:
    policy = Policy(["pkg.mod.Name", "exact.mod:Cls.attr", "tree.*", collections.deque])
    assert policy.check("pkg.mod", "Name") == ALLOWED
    assert policy.check("pkg", "mod.Name") == ALLOWED
    assert policy.check("exact.mod", "Cls.attr") == ALLOWED
    assert policy.check("exact", "mod.Cls.attr") == NOT_ALLOWED
    assert policy.check("tree", "X") == ALLOWED
    assert policy.check("tree.sub.leaf", "X.y") == ALLOWED
    assert policy.check("treehouse", "X") == NOT_ALLOWED
    assert policy.check("collections", "deque") == ALLOWED
    assert policy.check("tree", "X.__init__") == BAD_NAME
    assert policy.check("tree", "") == BAD_NAME
    assert policy.check("os", "getcwd") == BLOCKED
    for module, name in DEFAULT_ALLOWED:
        assert Policy().check(module, name) == ALLOWED


@pytest.mark.parametrize("entry", ["*", "os", "pkg.*.x", ":x", "a:", ".*"])
def test_bad_allow_entries(entry: str) -> None:
    with pytest.raises(ValueError):
        Policy([entry])


def test_allow_rejects_non_names() -> None:
    with pytest.raises(TypeError):
        Policy([42])


# -- groups, values and policy files --------------------------------------------


GROUP_VALUES = {
    "uuid": [uuid.UUID(int=7)],
    "ipaddress": [
        __import__("ipaddress").ip_address("10.1.2.3"),
        __import__("ipaddress").ip_network("2001:db8::/32"),
        __import__("ipaddress").ip_interface("192.168.0.1/24"),
    ],
    "pathlib": [
        __import__("pathlib").PurePosixPath("/a/b"),
        __import__("pathlib").PureWindowsPath("c:/x"),
    ],
    "range": [range(1, 10, 3), slice(1, None, 2)],
    "array": [
        __import__("array").array("i", [1, 2]),
        __import__("array").array("d", [0.5]),
    ],
}


@pytest.mark.parametrize("group", sorted(GROUP_VALUES))
def test_round1_groups_are_default_and_still_accepted(group: str) -> None:
    for obj in GROUP_VALUES[group]:
        for proto in range(6):
            data = pickle.dumps(obj, proto)
            assert brined.loads(data, allow=group) == obj
            assert brined.loads(data) == obj


def test_numpy_group_loads_arrays_and_dtypes() -> None:
    np = pytest.importorskip("numpy")
    objs = [np.arange(6).reshape(2, 3), np.dtype("f8"), np.float32(1.5)]
    for obj in objs:
        for proto in range(6):
            got = brined.loads(pickle.dumps(obj, proto), allow="numpy")
            assert (
                np.array_equal(got, obj)
                if isinstance(obj, np.ndarray)
                else (got == obj)
            )


def test_unknown_group_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="group name"):
        Policy(["nosuchgroup"])


def test_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.txt"
    path.write_text(
        "# my types\nuuid\ncollections:ChainMap  # exact split\nvalue: builtins.len\n"
    )
    policy = Policy.from_file(str(path))
    assert policy.check("uuid", "UUID") == ALLOWED
    assert policy.check("collections", "ChainMap") == ALLOWED
    assert policy.check("builtins", "len") == ALLOWED
    assert not policy.may_call("builtins", "len")
    assert policy.may_call("collections", "ChainMap")


def test_check_and_refusal_are_usable_from_outside() -> None:
    policy = Policy()
    verdict = policy.check("os", "system")
    assert verdict == BLOCKED
    err = policy.refusal("os", "system", verdict, offset=3, opcode="GLOBAL")
    assert isinstance(err, UnsafeGlobalError)
    assert (err.module, err.name, err.offset) == ("os", "system", 3)
    long_name = "m" * 10_000
    err = policy.refusal(long_name, "x", policy.check(long_name, "x"))
    assert len(str(err)) < 1000


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("pip", "main"),
        ("runpy", "run_path"),
        ("pkgutil", "resolve_name"),
        ("timeit", "timeit"),
        ("ensurepip", "bootstrap"),
        ("profile", "run"),
        ("atexit", "register"),
        ("numpy.testing._private.utils", "runstring"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("_codecs", "decode"),
    ],
)
def test_known_bypasses_are_blocked_even_when_allowed(module: str, name: str) -> None:
    assert (
        Policy([f"{module}:{name}", f"{module.split('.')[0]}.*"]).check(module, name)
        == BLOCKED
    )
