"""Errors raised while pickling say where: `exc.path`, `exc.path_steps`, notes.

The oracle for the exception's type is the C pickler: brined raises what
`pickle.dumps` raises for the same object, only with the path added.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

import brined


class Stream:
    def __init__(self) -> None:
        self._lock = threading.Lock()


class Handler:
    def __init__(self) -> None:
        self.stream = Stream()


class Root:
    def __init__(self) -> None:
        self.config = {"level": 3, "handlers": [1, "two", Handler()]}


class Refuses:
    def __reduce__(self) -> Any:
        raise ValueError("refused on purpose")


class StateWithLock:
    def __getstate__(self) -> dict[str, Any]:
        return {"ok": 1, "held": threading.Lock()}


class ArgsWithLock:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __reduce__(self) -> Any:
        return (ArgsWithLock, (1, self.lock))


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a = 1
        self.b = threading.Lock()


def _raised(obj: Any, **kwargs: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        brined.dumps(obj, **kwargs)
    return info.value


def _c_raises(obj: Any) -> type[BaseException]:
    with pytest.raises(Exception) as info:
        pickle.dumps(obj, 5)
    return type(info.value)


def test_nested_containers_path_in_python_syntax() -> None:
    exc = _raised(Root())
    assert exc.path == "root.config['handlers'][2].stream._lock"  # type: ignore[attr-defined]


def test_nested_containers_keep_the_c_exception_type_and_message() -> None:
    obj = Root()
    exc = _raised(obj)
    with pytest.raises(Exception) as c_info:
        pickle.dumps(obj)
    assert type(exc) is type(c_info.value)
    assert str(exc) == str(c_info.value)


def test_path_steps_give_the_type_at_each_step() -> None:
    exc = _raised(Root())
    assert exc.path_steps == (  # type: ignore[attr-defined]
        ("root", f"{__name__}.Root"),
        (".config", "dict"),
        ("['handlers']", "list"),
        ("[2]", f"{__name__}.Handler"),
        (".stream", f"{__name__}.Stream"),
        ("._lock", "_thread.lock"),
    )


def test_notes_say_where_innermost_first_in_cpython_314_style() -> None:
    exc = _raised(Root())
    notes = exc.__notes__
    assert notes[0] == "when serializing attribute '_lock'"
    assert "when serializing dict item 'handlers'" in notes
    assert "when serializing list item 2" in notes
    assert f"when serializing {__name__}.Root state" in notes
    assert notes[-1].startswith("path: root.config['handlers'][2].stream._lock (")


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_path_at_every_protocol(protocol: int) -> None:
    exc = _raised({"a": [0, (1, threading.Lock())]}, protocol=protocol)
    path: str = exc.path  # type: ignore[attr-defined]
    if protocol >= 2:
        assert path == "root['a'][1][1]"
    else:
        # copyreg's reduce of the lock succeeds before protocol 2; its class,
        # an argument of copyreg._reconstructor, is what cannot be pickled.
        assert path == "root['a'][1][1].__reduce_ex__(5)[1][0]"
        assert exc.path_steps[-1] == ("[0]", "type")  # type: ignore[attr-defined]


def test_reduce_raising_keeps_its_own_exception() -> None:
    obj = {"k": [Refuses()]}
    exc = _raised(obj)
    assert type(exc) is _c_raises(obj) is ValueError
    assert exc.path == "root['k'][0]"  # type: ignore[attr-defined]


def test_getstate_is_a_step_on_the_path() -> None:
    exc = _raised([StateWithLock()])
    assert exc.path == "root[0].__getstate__()['held']"  # type: ignore[attr-defined]
    assert f"when serializing {__name__}.StateWithLock state" in exc.__notes__


def test_reduce_arguments_are_a_step_on_the_path() -> None:
    exc = _raised([ArgsWithLock()])
    assert exc.path == "root[0].__reduce_ex__(5)[1][1]"  # type: ignore[attr-defined]


def test_slots_are_attributes_on_the_path() -> None:
    exc = _raised({"s": Slotted()})
    assert exc.path == "root['s'].b"  # type: ignore[attr-defined]


def _local() -> Any:
    def local_function() -> None:
        pass

    return local_function


def test_local_function_keeps_the_c_type_and_message() -> None:
    obj = [_local()]
    exc = _raised(obj)
    with pytest.raises(Exception) as c_info:
        pickle.dumps(obj)
    assert type(exc) is type(c_info.value)
    assert str(exc) == str(c_info.value)


def test_lambda_in_a_list_is_named_and_keeps_the_c_type() -> None:
    obj = [1, lambda: 0]
    exc = _raised(obj)
    assert type(exc) is _c_raises(obj)
    assert exc.path == "root[1]"  # type: ignore[attr-defined]


def test_root_itself_unpicklable_has_the_root_path() -> None:
    exc = _raised(threading.Lock())
    assert exc.path == "root"  # type: ignore[attr-defined]


def test_error_in_a_pickler_subclass_with_a_hook_says_where() -> None:
    import io

    class Hooked(brined.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, Handler):
                raise KeyError("from the hook")
            return NotImplemented

    with pytest.raises(KeyError) as info:
        Hooked(io.BytesIO()).dump(Root())
    assert info.value.path == "root.config['handlers'][2]"  # type: ignore[attr-defined]


def test_persistent_id_subclass_path() -> None:
    import io

    class WithPid(brined.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return None

    with pytest.raises(TypeError) as info:
        WithPid(io.BytesIO()).dump({"x": [threading.Lock()]})
    assert info.value.path == "root['x'][0]"  # type: ignore[attr-defined]


def test_deep_graph_path_is_built_without_recursion() -> None:
    depth = 100_000
    root: list[Any] = []
    inner = root
    for _ in range(depth):
        nxt: list[Any] = []
        inner.append(nxt)
        inner = nxt
    inner.append(threading.Lock())
    exc = _raised(root)
    path: str = exc.path  # type: ignore[attr-defined]
    assert path == "root" + "[0]" * (depth + 1)
    assert len(exc.path_steps) == depth + 2  # type: ignore[attr-defined]
    # The notes stay short: the innermost levels, a count, the path.
    assert len(exc.__notes__) < 20


def test_deep_dict_and_object_chain() -> None:
    depth = 100_000
    root: dict[str, Any] = {}
    inner = root
    for _ in range(depth):
        nxt: dict[str, Any] = {}
        inner["k"] = nxt
        inner = nxt
    inner["bad"] = threading.Lock()
    exc = _raised(root)
    assert exc.path == "root" + "['k']" * depth + "['bad']"  # type: ignore[attr-defined]


def test_success_path_unchanged_bytes() -> None:
    obj = {"config": {"handlers": [1, "two", (3.0, None)]}}
    assert brined.dumps(obj) == pickle.dumps(obj)


def test_the_same_pickler_dumps_again_after_an_error() -> None:
    import io

    out = io.BytesIO()
    p = brined.Pickler(out)
    with pytest.raises(TypeError):
        p.dump([threading.Lock()])
    p.clear_memo()
    out.seek(0)
    out.truncate()
    p.dump([1, 2])
    assert pickle.loads(out.getvalue()) == [1, 2]
