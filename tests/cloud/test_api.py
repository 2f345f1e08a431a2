"""brined.cloud: the cloudpickle API, by-name bytes, and what is pickled by value."""

from __future__ import annotations

import abc
import collections
import dataclasses
import enum
import io
import logging
import pickle
import sys
import types
import typing
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
import brined.cloud as cloud
from brined.cloud import _reconstruct as R

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


def roundtrip(obj: object, protocol: int | None = None) -> typing.Any:
    """Pickle with brined.cloud, load with the stdlib as if in a new process.

    In the pickling process a dynamic class loads as itself (the class
    tracker); the tracker is emptied meanwhile so the load really rebuilds it.
    """
    data = cloud.dumps(obj, protocol=protocol)
    saved = dict(R.CLASSES_BY_ID)
    R.CLASSES_BY_ID.clear()
    try:
        return pickle.loads(data)
    finally:
        R.CLASSES_BY_ID.clear()
        R.CLASSES_BY_ID.update(saved)


# -- the API ---------------------------------------------------------------------


def test_public_names_match_cloudpickle() -> None:
    cloudpickle = pytest.importorskip("cloudpickle", reason="the oracle")
    for name in cloudpickle.__all__:
        if name != "__version__":
            assert hasattr(cloud, name), name
    assert cloud.CloudPickler is cloud.Pickler
    assert cloud.DEFAULT_PROTOCOL == cloudpickle.DEFAULT_PROTOCOL


def test_dump_and_load_use_files() -> None:
    f = io.BytesIO()
    cloud.dump(lambda x: x * 3, f, protocol=4)
    f.seek(0)
    assert cloud.load(f)(2) == 6


@pytest.mark.parametrize("bad", [None, "sys", 3])
def test_register_refuses_non_modules(bad: object) -> None:
    with pytest.raises(ValueError, match="Input should be a module object"):
        cloud.register_pickle_by_value(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Input should be a module object"):
        cloud.unregister_pickle_by_value(bad)  # type: ignore[arg-type]


def test_register_refuses_modules_not_imported() -> None:
    module = types.ModuleType("brined_not_imported")
    with pytest.raises(ValueError, match="was not imported correctly"):
        cloud.register_pickle_by_value(module)


def test_unregister_refuses_unregistered_module() -> None:
    with pytest.raises(ValueError, match="is not registered for pickle by value"):
        cloud.unregister_pickle_by_value(collections)


def test_registry_lists_registered_modules() -> None:
    cloud.register_pickle_by_value(collections)
    try:
        assert "collections" in cloud.list_registry_pickle_by_value()
    finally:
        cloud.unregister_pickle_by_value(collections)
    assert "collections" not in cloud.list_registry_pickle_by_value()


def test_buffer_callback_needs_protocol_5() -> None:
    with pytest.raises(ValueError):
        cloud.dumps(b"x", protocol=4, buffer_callback=list().append)


# -- by name: the same bytes as brined.dumps and the C pickler --------------------

BY_NAME = [
    None,
    [1, 2.5, "x", b"y", (3,), {4: {5}}],
    collections.OrderedDict(a=1),
    len,
    pickle.dumps,
    collections.namedtuple,
    weakref.ref,
    int,
    enum.Enum,
    type(None),
    ...,
    NotImplemented,
    frozenset({1}),
]


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("obj", BY_NAME, ids=repr)
def test_by_name_bytes_equal_brined_and_stdlib(obj: object, protocol: int) -> None:
    data = cloud.dumps(obj, protocol=protocol)
    assert data == brined.dumps(obj, protocol=protocol)
    assert data == pickle.dumps(obj, protocol=protocol)


def test_default_protocol_is_highest() -> None:
    assert cloud.dumps([1]) == pickle.dumps([1], protocol=pickle.HIGHEST_PROTOCOL)


# -- functions by value ------------------------------------------------------------

GLOBAL_VALUE = 7
UNUSED_GLOBAL = object()  # unpicklable if it were written


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_lambda_with_global(protocol: int) -> None:
    f = roundtrip(lambda x: x + GLOBAL_VALUE, protocol)
    assert f(1) == 8


def test_only_referenced_globals_are_written() -> None:
    def f() -> int:
        return GLOBAL_VALUE

    g = roundtrip(f)
    assert g() == 7
    assert "UNUSED_GLOBAL" not in g.__globals__
    assert "GLOBAL_VALUE" in g.__globals__


def test_nested_code_globals_are_written() -> None:
    def outer() -> typing.Callable[[], int]:
        def inner() -> int:
            return GLOBAL_VALUE

        return inner

    assert roundtrip(outer)()() == 7


def test_function_attributes_survive() -> None:
    def f(a: int, b: int = 2, *, c: int = 3) -> int:
        """The doc."""
        return a + b + c

    f.extra = {"k": 1}  # type: ignore[attr-defined]
    f.__qualname__ = "renamed.f"
    g = roundtrip(f)
    assert g(1) == 6
    assert g.__defaults__ == (2,)
    assert g.__kwdefaults__ == {"c": 3}
    assert g.__annotations__ == {"a": "int", "b": "int", "c": "int", "return": "int"}
    assert g.__doc__ == "The doc."
    assert g.__qualname__ == "renamed.f"
    assert g.__name__ == "f"
    assert g.__module__ == __name__
    assert g.extra == {"k": 1}


def test_closure_cells_including_empty() -> None:
    def make() -> typing.Callable[[], typing.Any]:
        x = [1]

        def f() -> typing.Any:
            return x, y  # noqa: F821 - y is an empty cell when pickled

        if False:
            y = 0
        return f

    g = roundtrip(make())
    assert g.__closure__[0].cell_contents == [1]
    with pytest.raises(ValueError):
        g.__closure__[1].cell_contents  # noqa: B018 - the cell stays empty
    with pytest.raises(NameError):
        g()


def test_recursive_closure() -> None:
    def make() -> typing.Callable[[int], int]:
        def fact(n: int) -> int:
            return 1 if n <= 1 else n * fact(n - 1)

        return fact

    fact = roundtrip(make())
    assert fact(5) == 120
    assert fact.__closure__[0].cell_contents is fact


def test_mutually_recursive_closures_share_cells() -> None:
    def make() -> tuple[typing.Any, typing.Any]:
        count = 0

        def even(n: int) -> bool:
            return True if n == 0 else odd(n - 1)

        def odd(n: int) -> bool:
            return False if n == 0 else even(n - 1)

        def bump() -> int:
            nonlocal count
            count += 1
            return count

        def read() -> int:
            return count

        return (even, odd), (bump, read)

    (even, odd), (bump, read) = roundtrip(make())
    assert even(10) and odd(7)
    bump()
    bump()
    # One cell for `count`, as in the original: cloudpickle gives each
    # function its own copy and `read` would still see 0.
    assert read() == 2


def test_functions_sharing_globals_share_them_after_load() -> None:
    ns: dict[str, typing.Any] = {"__name__": "brined_exec_mod"}
    exec("x = 1\ndef get():\n    return x\ndef put(v):\n    global x\n    x = v\n", ns)
    get, put = roundtrip((ns["get"], ns["put"]))
    put(5)
    assert get() == 5
    assert ns["x"] == 1


def test_exec_function_with_defaults() -> None:
    ns: dict[str, typing.Any] = {}
    exec("def f(a, b=10, *, c=100):\n    return a + b + c\n", ns)
    g = roundtrip(ns["f"])
    assert g(1) == 111
    assert g(1, 2, c=3) == 6


def test_method_objects() -> None:
    class K:
        def __init__(self) -> None:
            self.v = 3

        def get(self) -> int:
            return self.v

    m = roundtrip(K().get)
    assert m() == 3


def test_submodule_reached_as_attribute_is_imported() -> None:
    import xml
    import xml.dom.minidom  # noqa: F401 - the submodule the function reaches

    def f() -> str:
        return xml.dom.minidom.__name__

    data = cloud.dumps(f)
    assert b"xml.dom.minidom" in data
    assert pickle.loads(data)() == "xml.dom.minidom"


# -- classes by value ----------------------------------------------------------------


def test_dynamic_class_loads_as_one_class() -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    data1 = cloud.dumps(Point(1))
    data2 = cloud.dumps([Point(2), Point])
    p1 = pickle.loads(data1)
    p2, cls = pickle.loads(data2)
    assert type(p1) is type(p2) is cls


def test_metaclass_abc_and_virtual_subclasses() -> None:
    class Meta(type):
        tag = "meta"

    class Base(abc.ABC):
        @abc.abstractmethod
        def run(self) -> int: ...

    class Impl(Base, metaclass=type(Base)):
        def run(self) -> int:
            return 4

    class Virtual:
        pass

    Base.register(Virtual)

    class WithMeta(metaclass=Meta):
        pass

    B, I2, V, W = roundtrip((Base, Impl, Virtual, WithMeta))
    assert B is not Base
    assert I2().run() == 4
    assert issubclass(V, B)
    assert type(W).tag == "meta"
    with pytest.raises(TypeError):
        B()


def test_slots_and_init_subclass() -> None:
    seen: list[str] = []

    class Base:
        __slots__ = ()

        def __init_subclass__(cls, **kw: typing.Any) -> None:
            seen.append(cls.__name__)

    class Slotted(Base):
        __slots__ = ("a", "b")

        def __init__(self) -> None:
            self.a, self.b = 1, 2

    obj = roundtrip(Slotted())
    assert type(obj) is not Slotted  # rebuilt, not the original
    assert (obj.a, obj.b) == (1, 2)
    assert not hasattr(obj, "__dict__")
    assert isinstance(type(obj).__dict__["a"], types.MemberDescriptorType)
    # __init_subclass__ of the rebuilt Base ran for the rebuilt Slotted; its
    # closure holds the copy of `seen`.
    hook = type(obj).__mro__[1].__dict__["__init_subclass__"].__func__
    assert hook.__closure__[0].cell_contents == ["Slotted", "Slotted"]
    assert seen == ["Slotted"]


def test_dataclass_fields_and_metadata() -> None:
    @dataclasses.dataclass(frozen=True)
    class Rec:
        a: int
        b: list[int] = dataclasses.field(default_factory=list, metadata={"unit": "m"})

    R2 = roundtrip(Rec)
    assert R2 is not Rec
    (fa, fb) = dataclasses.fields(R2)
    assert fb.metadata["unit"] == "m"
    assert R2(1).b == []
    assert R2(1, [2]) == R2(1, [2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        R2(1).a = 2  # type: ignore[misc]


def test_namedtuple_and_typeddict() -> None:
    class NT(typing.NamedTuple):
        a: int
        b: str = "x"

    class TD(typing.TypedDict, total=False):
        k: int

    NT2, TD2 = roundtrip((NT, TD))
    assert NT2 is not NT
    assert NT2(1) == (1, "x")
    assert NT2(1).b == "x"
    assert TD2.__optional_keys__ == frozenset({"k"})


def test_enums_and_flags_keep_singletons() -> None:
    class Color(enum.Enum):
        RED = 1
        GREEN = 2

    class Num(enum.IntEnum):
        ONE = 1

    class Perm(enum.Flag):
        R = 4
        W = 2

    data = cloud.dumps([Color.RED, Color, Num.ONE, Perm.R | Perm.W, Perm])
    red, color, one, rw, perm = pickle.loads(data)
    assert color is Color  # the tracker: the pickling process keeps its class
    red, color, one, rw, perm = roundtrip(
        [Color.RED, Color, Num.ONE, Perm.R | Perm.W, Perm]
    )
    assert color is not Color
    assert red is color.RED
    assert one == 1
    assert rw == perm.R | perm.W
    assert pickle.loads(cloud.dumps(Color.GREEN)) is Color.GREEN


def test_generics_and_typing_constructs() -> None:
    T = typing.TypeVar("T", bound=int)
    P = typing.ParamSpec("P")

    class Box(typing.Generic[T]):
        a: typing.ClassVar[int] = 1
        b: typing.Final = 2
        c: typing.Literal["x", "y"]

        kinds = (
            typing.ClassVar[int],
            typing.Final[int],
            typing.Literal["x", "y"],
            typing.Callable[P, T],
            T | None,
        )

        def get(self, v: T) -> T:
            return v

    box, p, t = roundtrip((Box, P, T))
    assert box is not Box and t is not T
    assert box.__parameters__ == (t,)
    assert t.__bound__ is int
    assert p.__name__ == "P"
    assert box.__annotations__ == Box.__annotations__
    classvar, final, literal, callable_, optional = box.kinds
    assert classvar == typing.ClassVar[int] and final == typing.Final[int]
    assert literal == typing.Literal["x", "y"]
    assert callable_.__args__[0] is p and optional == (t | None)
    assert box[int]().get(3) == 3


def test_properties_classmethods_staticmethods() -> None:
    class K:
        def __init__(self) -> None:
            self._v = 1

        @property
        def v(self) -> int:
            return self._v

        @classmethod
        def make(cls) -> K:
            return cls()

        @staticmethod
        def two() -> int:
            return 2

    K2 = roundtrip(K)
    assert K2 is not K
    assert K2.make().v == 1
    assert K2.two() == 2


# -- the other objects --------------------------------------------------------------


def test_dynamic_module_and_registered_module() -> None:
    mod = types.ModuleType("brined_dynamic_mod")
    exec("VALUE = 3\ndef f():\n    return VALUE\n", mod.__dict__)
    m2 = roundtrip(mod)
    assert m2.f() == 3
    assert roundtrip(logging) is logging


def test_assorted_objects() -> None:
    out = sys.stdout

    class Item:
        pass

    ws_items = [Item(), Item()]
    ws: weakref.WeakSet[typing.Any] = weakref.WeakSet(ws_items)
    objs = roundtrip(
        [
            types.MappingProxyType({"a": 1}),
            logging.getLogger("brined.test"),
            logging.getLogger(),
            out,
            sys.stderr,
            ...,
            NotImplemented,
            (lambda: 0).__code__,
            types.CellType(5),
            {"a": 1}.keys(),
            {"a": 1}.values(),
            {"a": 1}.items(),
            memoryview(b"ab"),
            types.CodeType,
        ]
    )
    assert objs[0] == {"a": 1} and isinstance(objs[0], types.MappingProxyType)
    assert objs[1] is logging.getLogger("brined.test")
    assert objs[2] is logging.getLogger()
    assert objs[3] is sys.stdout and objs[4] is sys.stderr
    assert objs[5] is ... and objs[6] is NotImplemented
    assert isinstance(objs[7], types.CodeType)
    assert objs[8].cell_contents == 5
    assert list(objs[9]) == ["a"] and list(objs[10]) == [1]
    assert list(objs[11]) == [("a", 1)]
    assert objs[12] == b"ab"
    assert objs[13] is types.CodeType
    ws2, items2 = roundtrip((ws, ws_items))
    assert set(ws2) == set(items2) and len(ws2) == 2


def test_dispatch_table_and_reducer_override_in_subclasses() -> None:
    class Special:
        pass

    class MyPickler(cloud.Pickler):
        dispatch_table = collections.ChainMap(
            {Special: lambda obj: (str, ("special",))}, cloud.Pickler.dispatch_table
        )

    f = io.BytesIO()
    MyPickler(f).dump([Special(), lambda: 1])
    special, fn = pickle.loads(f.getvalue())
    assert special == "special" and fn() == 1


def test_persistent_id_is_honoured() -> None:
    class PidPickler(cloud.Pickler):
        def persistent_id(self, obj: object) -> str | None:
            return "ext" if obj == "external" else None

    f = io.BytesIO()
    PidPickler(f).dump(["external", 1])

    class Loader(pickle.Unpickler):
        def persistent_load(self, pid: str) -> str:
            return f"loaded-{pid}"

    f.seek(0)
    assert Loader(f).load() == ["loaded-ext", 1]


_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=5)
        | st.frozensets(st.integers(), max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(obj=_DATA, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_plain_data_bytes_equal_c_pickle(obj: object, protocol: int) -> None:
    data = cloud.dumps(obj, protocol=protocol)
    assert data == pickle.dumps(obj, protocol=protocol)
    assert data == brined.dumps(obj, protocol=protocol)


def test_subclass_reducer_override_sees_every_instance() -> None:
    # brined.cloud lets the compiled engine skip its hooks for types they leave
    # alone, but only while the hooks are its own.
    class Thing:
        pass

    seen: list[object] = []

    class Counting(cloud.Pickler):
        def reducer_override(self, obj: object) -> object:
            if type(obj) is Thing:
                seen.append(obj)
            return super().reducer_override(obj)

    things = [Thing() for _ in range(5)]
    Counting(io.BytesIO()).dump(things)
    assert len(seen) == 5


def test_instance_dispatch_table_sees_every_instance() -> None:
    class Thing:
        pass

    calls: list[object] = []

    def reduce_thing(obj: object) -> object:
        calls.append(obj)
        return (str, ("thing",))

    p = cloud.Pickler(io.BytesIO())
    p.dump([Thing()])  # Thing is hook-free for this pickler now...
    p.dispatch_table = collections.ChainMap({Thing: reduce_thing}, p.dispatch_table)
    f = io.BytesIO()
    p2 = cloud.Pickler(f)
    p2.dispatch_table = p.dispatch_table
    p2.dump([Thing(), Thing()])
    assert len(calls) == 2 and pickle.loads(f.getvalue()) == ["thing", "thing"]
    p.dump([Thing()])  # ...until a table of its own is set
    assert len(calls) == 3


def test_deterministic_is_passed_to_the_engine() -> None:
    obj = [{"b", "a", "c"}, frozenset({"y", "x"}), {"k": 1}]
    assert cloud.dumps(obj, deterministic=True) == brined.dumps(
        obj, protocol=cloud.DEFAULT_PROTOCOL, deterministic=True
    )


@pytest.mark.parametrize("name", sorted(R.__all__))
def test_reconstructors_are_found_by_their_module_and_name(name: str) -> None:
    # The names are an on-disk format; compiled (mypyc), they must still pickle
    # by reference to the same object.
    obj = getattr(R, name)
    assert obj.__module__ == "brined.cloud._reconstruct"
    assert getattr(sys.modules[obj.__module__], obj.__qualname__) is obj
    assert pickle.loads(pickle.dumps(obj)) is obj


def test_function_state_setter_leaves_the_state_unchanged() -> None:
    # A memoized state may be given to several functions.
    def make() -> typing.Callable[[], object]:
        value = 1

        def f() -> object:
            return value

        return f

    state = {"__closure__": (5,), "__dict__": {"a": 1}, "__doc__": "d"}
    copy = {k: (dict(v) if isinstance(v, dict) else v) for k, v in state.items()}
    for _ in range(2):
        f = make()
        R.set_function_state(f, state)  # type: ignore[arg-type]
        assert (f(), f.a, f.__doc__) == (5, 1, "d")  # type: ignore[attr-defined]
    assert state == copy
