"""Best-effort dumps (``on_error="placeholder"``) and `brined.explain`."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import threading
import warnings
from typing import Any

import pytest

import brined
from tests.corpus import cases, registered_extensions


class Holder:
    def __init__(self) -> None:
        self.name = "holder"
        self.lock = threading.Lock()
        self.values = [1, 2, 3]


def _gen() -> Any:
    yield 1


def _mixed() -> dict[str, Any]:
    return {
        "ok": [1, "two", 3.0],
        "holder": Holder(),
        "fn": lambda x: x,
        "gen": _gen(),
    }


def _quiet_dumps(obj: Any, **kwargs: Any) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", brined.PlaceholderWarning)
        return brined.dumps(obj, on_error="placeholder", **kwargs)


def test_placeholder_output_loads_with_the_stdlib() -> None:
    loaded = pickle.loads(_quiet_dumps(_mixed()))
    assert loaded["ok"] == [1, "two", 3.0]
    assert loaded["holder"].name == "holder"
    assert loaded["holder"].values == [1, 2, 3]
    assert isinstance(loaded["holder"].lock, brined.Unpicklable)
    assert isinstance(loaded["fn"], brined.Unpicklable)
    assert isinstance(loaded["gen"], brined.Unpicklable)


def test_placeholder_carries_path_type_and_reason() -> None:
    loaded = pickle.loads(_quiet_dumps(_mixed()))
    lock = loaded["holder"].lock
    assert lock.path == "root['holder'].lock"
    assert lock.type_name == "_thread.lock"
    assert lock.reason == "TypeError: cannot pickle '_thread.lock' object"
    assert loaded["gen"].type_name == "generator"


def test_placeholder_output_loads_with_the_default_safe_loader() -> None:
    data = _quiet_dumps({"fn": lambda: 0, "lock": threading.Lock(), "n": [1]})
    loaded = brined.loads(data)
    assert loaded["n"] == [1]
    assert loaded["lock"] == brined.Unpicklable(
        "root['lock']", "_thread.lock", "TypeError: cannot pickle '_thread.lock' object"
    )


def test_placeholder_loads_in_a_fresh_stdlib_process() -> None:
    data = _quiet_dumps([threading.Lock()])
    code = (
        "import pickle, sys; v = pickle.loads(sys.stdin.buffer.read()); "
        "print(type(v[0]).__module__, type(v[0]).__name__, v[0].path)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert out.split() == ["brined", "Unpicklable", "root[0]"]


def test_dumps_warns_with_the_paths_it_replaced() -> None:
    with pytest.warns(brined.PlaceholderWarning, match=r"root\['holder'\]\.lock"):
        brined.dumps(_mixed(), on_error="placeholder")


def test_pickler_reports_what_it_replaced() -> None:
    p = brined.Pickler(io.BytesIO(), on_error="placeholder")
    p.dump(_mixed())
    assert [(u.path, u.type_name) for u in p.replaced] == [
        ("root['holder'].lock", "_thread.lock"),
        ("root['fn']", "function"),
        ("root['gen']", "generator"),
    ]


def test_replaced_is_reset_by_each_dump() -> None:
    p = brined.Pickler(io.BytesIO(), on_error="placeholder")
    p.dump([threading.Lock()])
    p.dump([1])
    assert p.replaced == []


def test_a_shared_unpicklable_object_is_replaced_once_and_stays_shared() -> None:
    lock = threading.Lock()
    loaded = pickle.loads(_quiet_dumps([lock, {"again": lock}]))
    assert loaded[0] is loaded[1]["again"]


def test_picklable_graph_gives_the_c_bytes_and_no_warning() -> None:
    obj = {"a": [1, 2.5, "x", (None, True)], "b": {1, 2}, "c": Holder.__name__}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert brined.dumps(obj, on_error="placeholder") == pickle.dumps(obj)


def _corpus_in_placeholder_mode(all_protocols: bool) -> int:
    checked = 0
    with registered_extensions(), warnings.catch_warnings():
        warnings.simplefilter("error")
        for case in cases():
            if case.reducer_override is not None:
                continue
            protocols = case.protocols
            if not all_protocols:
                protocols = tuple({protocols[0], protocols[-1]})
            for proto in protocols:
                obj = case.factory()
                expected = pickle.dumps(obj, proto)
                got = brined.dumps(obj, proto, on_error="placeholder")
                assert got == expected, (case.id, proto)
                checked += 1
    return checked


def test_placeholder_mode_gives_the_c_bytes_for_the_corpus() -> None:
    # Every corpus object pickles: best-effort mode must change no byte.
    assert _corpus_in_placeholder_mode(all_protocols=False) >= 500


@pytest.mark.slow
def test_placeholder_mode_gives_the_c_bytes_for_the_corpus_at_every_protocol() -> None:
    assert _corpus_in_placeholder_mode(all_protocols=True) >= 2000


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_placeholder_at_every_protocol(protocol: int) -> None:
    loaded = pickle.loads(_quiet_dumps({"x": [threading.Lock()]}, protocol=protocol))
    assert isinstance(loaded["x"][0], brined.Unpicklable)


def test_dump_to_a_file_with_placeholders() -> None:
    out = io.BytesIO()
    with pytest.warns(brined.PlaceholderWarning):
        brined.dump({"l": threading.Lock()}, out, on_error="placeholder")
    assert isinstance(pickle.loads(out.getvalue())["l"], brined.Unpicklable)


def test_a_reducer_override_subclass_still_applies() -> None:
    class Hooked(brined.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, Holder):
                return (str, ("hooked",))
            return NotImplemented

    out = io.BytesIO()
    Hooked(out, on_error="placeholder").dump([Holder(), threading.Lock()])
    loaded = pickle.loads(out.getvalue())
    assert loaded[0] == "hooked"
    assert isinstance(loaded[1], brined.Unpicklable)


def test_bad_on_error_value_is_refused() -> None:
    with pytest.raises(ValueError, match="on_error"):
        brined.dumps(1, on_error="ignore")


def test_unpicklable_pickles_by_its_public_name() -> None:
    u = brined.Unpicklable("root", "x", "y")
    assert b"brined" in pickle.dumps(u) and b"Unpicklable" in pickle.dumps(u)
    assert pickle.loads(pickle.dumps(u)) == u
    assert brined.loads(brined.dumps(u)) == u


# -- explain ------------------------------------------------------------------


def test_explain_lists_every_problem_not_just_the_first() -> None:
    with open(__file__) as fh:
        problems = brined.explain({**_mixed(), "file": fh})
    assert [(p.path, p.type_name) for p in problems] == [
        ("root['holder'].lock", "_thread.lock"),
        ("root['fn']", "function"),
        ("root['gen']", "generator"),
        ("root['file']", "_io.TextIOWrapper"),
    ]


def test_explain_gives_hints_by_kind() -> None:
    with open(__file__) as fh:
        problems = brined.explain([threading.Lock(), lambda: 0, _gen(), fh])
    hints = [p.hint for p in problems]
    assert "__getstate__" in hints[0]
    assert "brined.cloud" in hints[1]
    assert "materialise" in hints[2]
    assert "name" in hints[3]


def test_explain_reasons_are_the_errors_dumps_raises() -> None:
    problems = brined.explain({"x": threading.Lock()})
    with pytest.raises(TypeError) as info:
        brined.dumps({"x": threading.Lock()})
    assert problems[0].reason == f"TypeError: {info.value}"
    assert type(problems[0].error) is TypeError
    assert problems[0].path == info.value.path  # type: ignore[attr-defined]


def test_explain_of_a_picklable_graph_is_empty() -> None:
    assert brined.explain({"a": [1, 2, {3}], "h": "x"}) == []


def test_explain_reports_an_error_no_object_causes() -> None:
    problems = brined.explain([pickle.PickleBuffer(b"abc")], protocol=4)
    assert len(problems) == 1
    assert problems[0].path == "root[0]"
    assert "protocol >= 5" in problems[0].reason


def test_explain_of_a_deep_graph() -> None:
    root: list[Any] = []
    inner = root
    for _ in range(100_000):
        nxt: list[Any] = []
        inner.append(nxt)
        inner = nxt
    inner.append(threading.Lock())
    problems = brined.explain(root)
    assert [p.path for p in problems] == ["root" + "[0]" * 100_001]


def test_explain_cli_lists_problems_and_exits_1(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from brined.cli import main

    script = tmp_path / "explain_target_mod.py"
    script.write_text(
        "import threading\n"
        "class Handler:\n"
        "    def __init__(self):\n"
        "        self.lock = threading.Lock()\n"
        "app = {'handlers': [Handler()], 'ok': [1, 2]}\n"
        "good = {'a': 1}\n"
    )
    try:
        assert main(["explain", f"{script}:app"]) == 1
        out = capsys.readouterr().out
        assert "app['handlers'][0].lock (_thread.lock)" in out
        assert "hint:" in out
        assert main(["explain", f"{script}:good"]) == 0
        assert main(["explain", f"{script}:missing"]) == 2
    finally:
        sys.modules.pop("explain_target_mod", None)
