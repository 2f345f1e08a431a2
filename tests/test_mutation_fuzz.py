"""The differential mutation fuzzer (``tests/mutation_fuzz.py``) as tests.

A fixed-seed run of 10^5 mutants, in chunks, is part of the default run; the
long run is marked slow (``pytest -m slow``).  Every finding is a bug: the
message says which rule broke and carries the mutant's bytes.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import brined
from tests import mutation_fuzz

SEED = 20_261_207
CHUNK = 25_000
DEFAULT_CHUNKS = 4  # 10^5 mutants
SLOW_CHUNKS = 40  # 10^6 more, on another seed


def _lenient(data: bytes, **kwargs: Any) -> Any:
    # The pure-Python stdlib unpickler calls func(*args) for REDUCE, so it
    # accepts a list where C insists on a tuple.
    return pickle._loads(data)  # type: ignore[attr-defined]


def test_oracle_flags_a_loader_that_accepts_what_c_refuses() -> None:
    stats = mutation_fuzz.Stats()
    mutation_fuzz.check(b"cbuiltins\nlist\n]]aR.", stats, loads=_lenient)
    assert any("returned where C raised" in f for f in stats.findings)


def test_oracle_flags_a_loader_that_returns_another_value() -> None:
    stats = mutation_fuzz.Stats()
    mutation_fuzz.check(pickle.dumps([1, 2.5]), stats, loads=lambda d, **k: [1, 2.0])
    assert any("differs from C" in f for f in stats.findings)


def test_oracle_accepts_brined_on_its_seeds() -> None:
    stats = mutation_fuzz.Stats()
    for data in mutation_fuzz.seeds()[:200]:
        mutation_fuzz.check(data, stats)
    assert stats.findings == []
    assert stats.both_returned > 100


def test_seeds_cover_every_corpus() -> None:
    seeds = mutation_fuzz.seeds()
    protocols = {data[1] for data in seeds if data[:1] == b"\x80" and len(data) > 1}
    assert protocols >= {2, 3, 4, 5}
    assert any(data[:1] != b"\x80" for data in seeds)  # protocols 0 and 1
    assert len(seeds) > 1000


@pytest.mark.parametrize("chunk", range(DEFAULT_CHUNKS))
def test_mutants_load_as_c_pickle_loads_them(chunk: int) -> None:
    stats = mutation_fuzz.run(CHUNK, SEED, start=chunk * CHUNK)
    assert stats.findings == []
    assert stats.mutants == CHUNK
    # Enough mutants reach both outcomes for the run to mean something.
    assert stats.both_raised > CHUNK // 5
    assert stats.both_returned > CHUNK // 5


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(SLOW_CHUNKS))
def test_many_more_mutants_load_as_c_pickle_loads_them(chunk: int) -> None:
    stats = mutation_fuzz.run(CHUNK, SEED + 1, start=chunk * CHUNK)
    assert stats.findings == []


def test_default_and_trusted_agree_on_brined_errors() -> None:
    # A finding's message names the mode: both run on every mutant.
    stats = mutation_fuzz.Stats()
    mutation_fuzz.check(b"K\x01]R.", stats)
    assert stats.both_raised == 1 and stats.findings == []
    with pytest.raises(brined.UnpicklingError):
        brined.loads(b"K\x01]R.", trusted=True)
