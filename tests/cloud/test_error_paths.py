"""Error paths through functions and classes that `brined.cloud` writes by value.

The oracle for each path is Python itself: ``eval(path, {"root": obj})`` must
be the very object that could not be pickled; the exception's type and
message are those the C pickler raises for that object.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

import brined
import brined.cloud

GLOBAL_LOCK = threading.Lock()


def _c_error(obj: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        pickle.dumps(obj)
    return info.value


def _cloud_error(obj: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        brined.cloud.dumps(obj)
    return info.value


def _closure_over(lock: Any) -> Any:
    held = lock

    def step() -> Any:
        return held

    return step


def _with_default(lock: Any) -> Any:
    def step(x: Any = lock) -> Any:
        return x

    return step


def _using_global() -> Any:
    def step() -> Any:
        return GLOBAL_LOCK

    return step


def _class_holding(lock: Any) -> type:
    class Holder:
        guard = lock

    return Holder


def _culprits() -> dict[str, tuple[Any, Any, str]]:
    """name: (object, the lock inside it, the path to the lock)."""
    a, b, d = threading.Lock(), threading.Lock(), threading.Lock()
    return {
        "closure": (_closure_over(a), a, "root.__closure__[0].cell_contents"),
        "defaults": (_with_default(b), b, "root.__defaults__[0]"),
        "globals": (_using_global(), GLOBAL_LOCK, "root.__globals__['GLOBAL_LOCK']"),
        "class": (_class_holding(d), d, "root.guard"),
    }


@pytest.mark.parametrize("name", ["closure", "defaults", "globals", "class"])
def test_path_walks_through_the_function_to_the_lock(name: str) -> None:
    obj, lock, path = _culprits()[name]
    err = _cloud_error(obj)
    c_err = _c_error(lock)
    assert type(err) is type(c_err)
    assert str(err) == str(c_err)
    assert err.path == path  # type: ignore[attr-defined]
    assert eval(path, {"root": obj}) is lock  # noqa: S307 - the oracle
    assert f"path: {path} " in "\n".join(err.__notes__)


def test_path_through_nested_containers_and_a_closure() -> None:
    culprits = _culprits()
    obj = {"jobs": [1, culprits["closure"][0]]}
    err = _cloud_error(obj)
    assert err.path == "root['jobs'][1].__closure__[0].cell_contents"  # type: ignore[attr-defined]
    assert eval(err.path, {"root": obj}) is culprits["closure"][1]  # type: ignore[attr-defined]  # noqa: S307
    assert "when serializing closure cell 0" in err.__notes__


def test_cloudpickle_refuses_the_same_objects_with_the_same_type() -> None:
    cloudpickle = pytest.importorskip("cloudpickle", reason="the reference")
    for obj, _, _ in _culprits().values():
        with pytest.raises(Exception) as info:
            cloudpickle.dumps(obj)
        assert type(_cloud_error(obj)) is type(info.value)


def test_explain_reports_every_lock_with_its_path() -> None:
    culprits = _culprits()
    obj = {
        "jobs": [culprits["closure"][0], culprits["defaults"][0]],
        "more": (culprits["globals"][0], culprits["class"][0]),
    }
    problems = brined.explain(obj, cloud=True)
    expected = [
        "root['jobs'][0].__closure__[0].cell_contents",
        "root['jobs'][1].__defaults__[0]",
        "root['more'][0].__globals__['GLOBAL_LOCK']",
        "root['more'][1].guard",
    ]
    assert [p.path for p in problems] == expected
    locks = [culprits[k][1] for k in ("closure", "defaults", "globals", "class")]
    for problem, lock in zip(problems, locks, strict=True):
        assert eval(problem.path, {"root": obj}) is lock  # noqa: S307 - the oracle
        assert problem.type_name == "_thread.lock"
        assert "lock" in problem.hint


def test_explain_without_cloud_reports_the_local_functions_themselves() -> None:
    obj = [_closure_over(threading.Lock())]
    (problem,) = brined.explain(obj)
    assert problem.path == "root[0]"
    assert problem.type_name == "function"
    assert "brined.cloud" in problem.hint
