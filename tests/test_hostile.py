"""Hostile pickles: every file in tests/hostile/corpus fails safely in a child.

The corpus is built by ``tests/hostile/make_corpus.py``; ``manifest.json`` says
which brined error each file must raise.  Each file is loaded by
``tests/hostile/child.py`` in its own process, under a 1 GiB address-space limit
and 5 s of CPU, with the ``BRINED_CANARY`` file that code-running payloads try
to create.  Files run in a small pool of processes so the suite stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

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
