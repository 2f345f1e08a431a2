"""brined's API-parity claims: a drop-in for `pickle`, plus safe loading.

The reference for every signature is the stdlib module as imported (the C
implementation), with the two differences noted where they are made.
"""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import brined
import brined.errors

Shape = list[tuple[str, Any, Any]]

# The keyword-only parameters brined adds to dumping, with their defaults.
_DUMP_EXTRAS: Shape = [
    ("deterministic", inspect.Parameter.KEYWORD_ONLY, False),
    ("on_error", inspect.Parameter.KEYWORD_ONLY, "raise"),
]

# The keyword-only parameters brined adds to loading, with their defaults.
_SAFETY_EXTRAS: Shape = [
    ("trusted", inspect.Parameter.KEYWORD_ONLY, False),
    ("allow", inspect.Parameter.KEYWORD_ONLY, None),
    ("limits", inspect.Parameter.KEYWORD_ONLY, None),
]


def _shape(func: Callable[..., Any]) -> Shape:
    """Each parameter's name, kind and default; ``buffers=None`` counts as ``()``.

    The C loader spells "no out-of-band buffers" as ``buffers=()`` and pickle.py as
    ``buffers=None``; both load the same, so either default matches.
    """
    shape: Shape = []
    for param in inspect.signature(func).parameters.values():
        default = param.default
        if param.name == "buffers" and default is None:
            default = ()
        shape.append((param.name, param.kind, default))
    return shape


def _documented_pickler_shape() -> Shape:
    # The C Pickler also takes fix_imports and buffer_callback positionally, an
    # accident of its argument parsing; the documentation (and pickle.py) make them
    # keyword-only, and brined follows the documentation.
    shape = _shape(pickle.Pickler)
    return [
        (name, inspect.Parameter.KEYWORD_ONLY, default)
        if name in ("fix_imports", "buffer_callback")
        else (name, kind, default)
        for name, kind, default in shape
    ]


def test_dump_signature_matches_pickle() -> None:
    assert _shape(brined.dump) == _shape(pickle.dump) + _DUMP_EXTRAS


def test_dumps_signature_matches_pickle() -> None:
    assert _shape(brined.dumps) == _shape(pickle.dumps) + _DUMP_EXTRAS


def test_pickler_signature_matches_pickle() -> None:
    assert _shape(brined.Pickler) == _documented_pickler_shape() + _DUMP_EXTRAS


def test_load_signature_is_pickles_plus_trusted_and_allow() -> None:
    assert _shape(brined.load) == _shape(pickle.load) + _SAFETY_EXTRAS


def test_loads_signature_is_pickles_plus_trusted_and_allow() -> None:
    assert _shape(brined.loads) == _shape(pickle.loads) + _SAFETY_EXTRAS


def test_unpickler_signature_is_pickles_plus_trusted_and_allow() -> None:
    assert _shape(brined.Unpickler) == _shape(pickle.Unpickler) + _SAFETY_EXTRAS


@pytest.mark.parametrize(
    ("ours", "stdlib"),
    [
        (brined.PickleError, pickle.PickleError),
        (brined.PicklingError, pickle.PicklingError),
        (brined.UnpicklingError, pickle.UnpicklingError),
    ],
)
def test_error_classes_subclass_the_stdlib_ones(ours: type, stdlib: type) -> None:
    assert issubclass(ours, stdlib)


@pytest.mark.parametrize(
    "error",
    [
        brined.MalformedPickleError,
        brined.TruncatedPickleError,
        brined.UnsafeGlobalError,
        brined.UnsafeOperationError,
        brined.LimitExceededError,
    ],
)
def test_except_pickle_unpicklingerror_catches_brined_load_errors(
    error: type[brined.UnpicklingError],
) -> None:
    with pytest.raises(pickle.UnpicklingError):
        raise error("refused", offset=0, opcode="STOP")


def test_except_pickle_unpicklingerror_catches_a_bad_opcode() -> None:
    with pytest.raises(pickle.UnpicklingError):
        brined.loads(b"\xff.")


def test_truncated_pickle_error_is_an_eoferror() -> None:
    assert issubclass(brined.TruncatedPickleError, EOFError)


def test_errors_module_exports_what_the_package_exports() -> None:
    for name in brined.errors.__all__:
        assert getattr(brined, name) is getattr(brined.errors, name)


def test_highest_protocol_equals_pickles() -> None:
    assert brined.HIGHEST_PROTOCOL == pickle.HIGHEST_PROTOCOL


def test_default_protocol_equals_pickles() -> None:
    assert brined.DEFAULT_PROTOCOL == pickle.DEFAULT_PROTOCOL


def test_picklebuffer_is_pickles() -> None:
    assert brined.PickleBuffer is pickle.PickleBuffer


# -- the command line --------------------------------------------------------------


def _run_brined(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brined", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return _run_brined("demo")


def test_demo_exits_zero(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr


def test_demo_prints_the_refusal_naming_the_global_and_the_remedy(
    demo: subprocess.CompletedProcess[str],
) -> None:
    # os.system is on the blocklist, so the only remedy offered is trusted=True.
    assert "UnsafeGlobalError" in demo.stdout
    assert "'os.system'" in demo.stdout
    assert "trusted=True" in demo.stdout


def test_demo_does_not_run_the_malicious_payload(
    demo: subprocess.CompletedProcess[str],
) -> None:
    # The payload would run `echo pwned`, whose output is a line of its own.
    assert "pwned" not in demo.stdout.splitlines()


def test_demo_shows_each_job_working(demo: subprocess.CompletedProcess[str]) -> None:
    # Each step also turns the exit code to 1 when it misbehaves; these are the
    # results a reader is meant to see.
    for shown in (
        "tax(10.0) = 12.0",  # a closure by value, refused by the safe loader
        "exc.path = root['config']['handlers'][2]['lock']",
        "equal values, built differently -> same bytes: True",
        "restore() -> {'step': 2}",  # the torn newest generation skipped
        "Oslo is not cached -> CacheMiss",
    ):
        assert shown in demo.stdout


def test_version_flag_prints_version_and_build() -> None:
    result = _run_brined("--version")
    build = "compiled" if brined.COMPILED else "interpreted"
    assert result.returncode == 0
    assert f"brined {brined.__version__} ({build}" in result.stdout
