"""Which build the suite runs against.

CI runs the suite twice, against the interpreted and the compiled build, and sets
BRINED_EXPECT_COMPILED to 0 or 1 so that a run which imported the wrong build (say
`src/` instead of the installed compiled package) fails instead of passing quietly.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

import brined

EXPECTED = os.environ.get("BRINED_EXPECT_COMPILED")


@pytest.mark.skipif(EXPECTED is None, reason="BRINED_EXPECT_COMPILED is not set")
def test_the_expected_build_is_imported() -> None:
    assert brined.COMPILED is (EXPECTED == "1")


def test_version_names_the_build() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "brined", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ("compiled" if brined.COMPILED else "interpreted") in out


def test_pickler_and_unpickler_keep_instance_hooks() -> None:
    # Compiled, the engine's classes have no instance __dict__; the public ones do.
    p = brined.Pickler(io.BytesIO())
    p.dispatch_table = {}  # type: ignore[attr-defined]
    u = brined.Unpickler(io.BytesIO())
    u.find_class = lambda module, name: None  # type: ignore[method-assign]
