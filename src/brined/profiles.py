"""Opt-in load profiles for libraries whose pickles name their own internals.

pandas, scipy.sparse and scikit-learn objects pickle through their libraries'
private constructors, which the default policy does not allow.  Each profile
here is the set of names one library's pickles use, nothing else of it::

    brined.loads(data, allow=brined.profiles.PANDAS)
    brined.loads(data, allow=brined.profiles.PANDAS | brined.profiles.SCIPY_SPARSE)
    brined.loads(data, allow=[*brined.profiles.SKLEARN, MyTransformer])

A profile is a frozenset of ``"module:qualname"`` strings, so ``|`` and
unpacking combine them with each other and with any other ``allow=`` entries.
`SKLEARN` is riskier than the others: see docs/security.md ("Profiles").
"""

from __future__ import annotations

from collections.abc import Iterable

from ._safe.profiles import PROFILES

__all__ = ["PANDAS", "SCIPY_SPARSE", "SKLEARN", "Profile"]


class Profile(frozenset[str]):
    """A named set of ``"module:qualname"`` names to pass as ``allow=``."""

    name: str

    def __new__(cls, name: str, names: Iterable[str]) -> Profile:
        self = super().__new__(cls, names)
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"brined.profiles.{self.name} ({len(self)} names)"

    def __reduce__(self) -> tuple[object, ...]:
        return (Profile, (self.name, sorted(self)))


def _profile(name: str) -> Profile:
    return Profile(name, sorted(f"{m}:{q}" for m, q in PROFILES[name]))


#: pandas: frames, series, every index kind, categoricals, timestamps,
#: timedeltas, periods, intervals, offsets, extension and sparse arrays.
PANDAS = _profile("PANDAS")
#: scipy.sparse: every matrix and array format (csr, csc, coo, lil, dok, bsr, dia).
SCIPY_SPARSE = _profile("SCIPY_SPARSE")
#: scikit-learn's estimators and what they keep (trees, losses, random states).
#: Riskier: estimators' ``__setstate__`` takes any attributes.
SKLEARN = _profile("SKLEARN")
