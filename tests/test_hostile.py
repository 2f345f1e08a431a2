"""Hostile pickles: every file in tests/hostile/corpus fails safely in a child.

The corpus is built by ``tests/hostile/make_corpus.py``; ``manifest.json`` says
which brined error each file must raise.  Each file is loaded by
``tests/hostile/child.py`` in its own process, under a 1 GiB address-space limit
and 5 s of CPU, with the ``BRINED_CANARY`` file that code-running payloads try
to create.  Files run in a small pool of processes so the suite stays fast.
"""

from __future__ import annotations

import copyreg
import io
import json
import os
import pickle
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import brined

HERE = Path(__file__).resolve().parent / "hostile"
CORPUS = HERE / "corpus"
MANIFEST: dict[str, dict[str, str]] = json.loads((HERE / "manifest.json").read_text())
WALL_SECONDS = 20  # per file, including interpreter start-up on a busy machine


def _run_one(name: str, canary_dir: Path) -> dict[str, Any]:
    canary = canary_dir / f"{name}.fired"
    env = dict(os.environ, BRINED_CANARY=str(canary))
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "child.py"), str(CORPUS / name)],
            capture_output=True,
            text=True,
            env=env,
            timeout=WALL_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return {"file": name, "hung": True, "fired": canary.exists()}
    lines = proc.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    report.update(
        file=name,
        returncode=proc.returncode,
        stderr=proc.stderr[-2000:],
        extra_stdout=lines[:-1],
        fired=canary.exists(),
    )
    return report


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    canary_dir = tmp_path_factory.mktemp("canary")
    names = sorted(MANIFEST)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = pool.map(lambda n: _run_one(n, canary_dir), names)
        return {r["file"]: r for r in results}


def test_corpus_matches_its_manifest() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.pickle")}
    assert on_disk == set(MANIFEST)
    families = {name.split("--")[0] for name in MANIFEST}
    assert families >= {
        "exec",
        "names",
        "bypass",
        "mutate",
        "delayed",
        "nested",
        "bomb",
        "malformed",
    }


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_hostile_file_fails_safely(
    name: str, reports: dict[str, dict[str, Any]]
) -> None:
    report = reports[name]
    expect = MANIFEST[name]["expect"]
    assert not report.get("hung"), f"{name} hung"
    assert not report["fired"], f"{name} ran its payload"
    assert report["returncode"] == 0, report["stderr"]
    assert not report["extra_stdout"], "the load printed something"
    assert "escaped" not in report, report["escaped"]
    assert report["imported"] == [], "a refused load imported modules"
    if expect == "value":
        assert "value" in report, report.get("message")
        return
    assert expect in report["error"], (expect, report["error"], report["message"])
    assert "UnpicklingError" in report["error"]
    # Messages say where, and never echo the input at length.
    assert report["message_len"] < 1000
    if not report["message"].startswith("Ran out of input"):
        assert report["offset"] is not None


def test_canary_fires_when_trusted(tmp_path: Path) -> None:
    # The harness can see a payload run: the same file, trusted, fires it.
    canary = tmp_path / "fired"
    data = (CORPUS / "exec--global-os-system.pickle").read_bytes()
    code = "import sys, brined; brined.loads(sys.stdin.buffer.read(), trusted=True)"
    subprocess.run(
        [sys.executable, "-c", code],
        input=data,
        env=dict(os.environ, BRINED_CANARY=str(canary)),
        check=True,
        timeout=WALL_SECONDS,
    )
    assert canary.exists()


def test_corpus_is_what_the_script_writes(tmp_path: Path) -> None:
    # The committed corpus and manifest are reproducible from the generator.
    subprocess.run(
        [sys.executable, str(HERE / "make_corpus.py"), str(tmp_path)],
        check=True,
        timeout=60,
    )
    written = {p.name: p.read_bytes() for p in (tmp_path / "corpus").glob("*")}
    assert written == {p.name: p.read_bytes() for p in CORPUS.glob("*.pickle")}
    assert (tmp_path / "manifest.json").read_text() == (
        HERE / "manifest.json"
    ).read_text()


# -- the guards and limits, in process ----------------------------------------------

REGISTRY: dict[str, int] = {}
HOOKS: list[int] = []


class Record:
    """An allowed user class: state through the instance __dict__."""

    def __init__(self, x: int = 0) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return type(other) is Record and other.x == self.x


class Slotted:
    __slots__ = ("a", "b")


class Exhausting:
    def __setstate__(self, state: Any) -> None:
        raise MemoryError


P = sys.hash_info.modulus


def _long1(n: int) -> bytes:
    data = n.to_bytes(n.bit_length() // 8 + 1, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def _global(module: str, name: str) -> bytes:
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"


def test_setitem_on_an_allowed_global_dict_is_refused() -> None:
    data = _global(__name__, "REGISTRY") + b"X\x01\x00\x00\x00kK\x01s."
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(data, allow=[f"{__name__}.REGISTRY"])
    assert info.value.opcode == "SETITEM"
    assert REGISTRY == {}


def test_appends_on_an_allowed_global_list_is_refused() -> None:
    data = _global(__name__, "HOOKS") + b"(K\x01e."
    with pytest.raises(brined.UnsafeOperationError):
        brined.loads(data, allow=[f"{__name__}.HOOKS"])
    assert HOOKS == []


def test_build_on_an_allowed_class_instance_sets_its_dict() -> None:
    for proto in range(6):
        got = brined.loads(pickle.dumps(Record(5), proto), allow=[Record])
        assert got == Record(5)


def test_build_sets_declared_slots_only() -> None:
    obj = Slotted()
    obj.a = 1
    for proto in range(2, 6):
        got = brined.loads(pickle.dumps(obj, proto), allow=[Slotted])
        assert got.a == 1
    forged = pickle.dumps(obj, 2).replace(b"X\x01\x00\x00\x00a", b"X\x01\x00\x00\x00z")
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(forged, allow=[Slotted])
    assert info.value.rule == "build-state"


def test_build_never_calls_an_instance_setstate() -> None:
    # State that plants __setstate__ in the instance dict is refused (dunder),
    # and __setstate__ is looked up on the type, not the instance.
    data = (
        _global(__name__, "Record")
        + b")\x81}X\x0c\x00\x00\x00__setstate__"
        + _global("builtins", "list")[2:]
        + b"sb."
    )
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(data, allow=[Record])
    assert info.value.rule == "build-state"


def test_subclass_find_class_is_honoured_but_guards_still_apply() -> None:
    class Everything(brined.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return {"Record": Record}[name]

    good = pickle.dumps(Record(3), 2)
    assert Everything(io.BytesIO(good)).load() == Record(3)
    on_class = _global(__name__, "Record") + b"}X\x01\x00\x00\x00xK\x01sb."
    with pytest.raises(brined.UnsafeOperationError):
        Everything(io.BytesIO(on_class)).load()


def test_value_only_names_may_not_be_called() -> None:
    policy = brined.Policy(values=["builtins.list"])
    data = _global("collections", "defaultdict") + b"cbuiltins\nlist\n\x85R."
    got = brined.loads(data, allow=["builtins.zip"], trusted=False)
    assert got.default_factory is list
    # A name allowed only as a value is refused as a callee.
    ellipsis = _global("builtins", "Ellipsis") + b")R."
    with pytest.raises(brined.UnsafeOperationError) as info:
        brined.loads(ellipsis, allow=policy)
    assert info.value.rule == "callee"


def test_call_arguments_are_checked() -> None:
    cases = {
        "bytearray-int": _global("builtins", "bytearray") + b"J\x00\x00\x00\x40\x85R.",
        "set-of-range": _global("builtins", "set")
        + b"cbuiltins\nrange\nK\n\x85R\x85R.",
        "str-zlib": _global("builtins", "str")
        + b"C\x01xX\n\x00\x00\x00zlib_codec\x86R.",
    }
    for name, data in cases.items():
        with pytest.raises(brined.UnsafeOperationError) as info:
            brined.loads(data, allow="range")
        assert info.value.rule == "call-args", name


@pytest.mark.parametrize(
    ("limits", "data", "which"),
    [
        (
            brined.Limits(max_memo=10),
            b"\x80\x04" + b"N\x94" * 100_000 + b".",
            "max_memo",
        ),
        (
            brined.Limits(max_memo_index=9),
            b"\x80\x02Nr\x0a\x00\x00\x00.",
            "max_memo_index",
        ),
        (brined.Limits(max_int_digits=5), b"I1234567\n.", "max_int_digits"),
        (brined.Limits(max_depth=3), b"((((l" + b"l" * 3 + b".", "max_depth"),
        (
            brined.Limits(max_objects=3),
            b"\x80\x02" + b"cbuiltins\nset\n)R0" * 4 + b"N.",
            "max_objects",
        ),
        (
            brined.Limits(max_hash_collisions=2),
            b"}(" + b"".join(_long1(k * P + 1) + b"N" for k in (1, 2, 3)) + b"u.",
            "max_hash_collisions",
        ),
        (brined.Limits(max_hash_depth=2), b"}NNNN\x85\x85\x85Ns.", "max_hash_depth"),
        (
            brined.Limits(max_hash_size=3),
            b"}(K\x01K\x02K\x03K\x04tNs.",
            "max_hash_size",
        ),
    ],
)
def test_each_limit_is_enforced_and_named(
    limits: brined.Limits, data: bytes, which: str
) -> None:
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(data, limits=limits)
    assert info.value.limit == which
    assert which in str(info.value)
    # The defaults load the same input (they are far above these limits) or
    # refuse it for a different reason.
    try:
        brined.loads(data)
    except brined.LimitExceededError as exc:
        assert exc.limit != which or which == "max_hash_collisions"
    except brined.UnpicklingError:
        pass


def test_deadline_is_checked_while_loading() -> None:
    limits = brined.Limits(deadline=1e-9, check_every=16)
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(pickle.dumps(list(range(10_000)), 2), limits=limits)
    assert info.value.limit == "deadline"


def test_memory_error_never_escapes() -> None:
    data = _global(__name__, "Exhausting") + b")\x81Nb."
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(data, allow=[Exhausting])
    assert isinstance(info.value.__cause__, MemoryError)


def test_internal_errors_are_wrapped_from_the_original() -> None:
    with pytest.raises(brined.MalformedPickleError) as info:
        brined.loads(b"X\x02\x00\x00\x00\xff\xfe.")
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_messages_never_echo_the_input() -> None:
    data = b"c" + b"m" * 1_000_000 + b"\nx\n."
    with pytest.raises(brined.UnsafeGlobalError) as info:
        brined.loads(data)
    assert len(str(info.value)) < 1000
    bad = b"I" + b"1" * 4000 + b"x\n."
    with pytest.raises(brined.MalformedPickleError) as info2:
        brined.loads(bad)
    assert len(str(info2.value)) < 1000


def test_truncated_is_eof_so_load_loops_end() -> None:
    f = io.BytesIO(pickle.dumps(1) + pickle.dumps([2]) + pickle.dumps("3"))
    got = []
    while True:
        try:
            got.append(brined.load(f))
        except EOFError:
            break
    assert got == [1, [2], "3"]


def test_extension_cache_does_not_bypass_the_policy() -> None:
    code = 0xE7
    copyreg.add_extension("os", "getcwd", code)
    try:
        assert pickle.loads(b"\x80\x02\x82\xe7.") is os.getcwd
        with pytest.raises(brined.UnsafeGlobalError):
            brined.loads(b"\x80\x02\x82\xe7.")
    finally:
        copyreg.remove_extension("os", "getcwd", code)


def test_persistent_results_may_be_filled_but_not_classes() -> None:
    # The caller's hook chose the object (brined scan supplies containers this
    # way); a class it returns still never gets items or state.
    class Persisting(brined.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            return {} if pid == "d" else Record

    data = b"\x80\x02X\x01\x00\x00\x00dQX\x01\x00\x00\x00kK\x01s."
    assert Persisting(io.BytesIO(data)).load() == {"k": 1}
    on_class = b"\x80\x02X\x01\x00\x00\x00cQ}X\x01\x00\x00\x00xK\x01sb."
    with pytest.raises(brined.UnsafeOperationError):
        Persisting(io.BytesIO(on_class)).load()
    assert not hasattr(Record, "x")


def test_trusted_skips_guards_and_limits() -> None:
    deep_key = b"}" + b"N" + b"\x85" * 2000 + b"Ns."
    with pytest.raises(brined.LimitExceededError):
        brined.loads(deep_key)
    assert len(brined.loads(deep_key, trusted=True)) == 1


def test_limits_are_validated_and_replaceable() -> None:
    with pytest.raises(ValueError):
        brined.Limits(max_depth=0)
    with pytest.raises(ValueError):
        brined.Limits(deadline=-1)
    with pytest.raises(TypeError):
        brined.loads(b"N.", limits={"max_depth": 3})  # type: ignore[arg-type]
    tighter = brined.Limits().replace(max_depth=5)
    assert tighter.max_depth == 5
    assert tighter.max_memo == brined.Limits().max_memo


def test_one_memoized_argument_to_many_calls_is_budgeted() -> None:
    big = b"X" + struct.pack("<I", 50_000) + b"9" * 50_000
    data = (
        _global("decimal", "Decimal")
        + b"q\x000"
        + big
        + b"q\x010"
        + b"h\x00h\x01\x85R0" * 1_000
        + b"N."
    )
    limits = brined.Limits(max_bytes_floor=1 << 20)
    with pytest.raises(brined.LimitExceededError) as info:
        brined.loads(data, limits=limits)
    assert info.value.limit == "max_bytes_ratio"
    assert brined.loads(data) is None  # within the default budget
