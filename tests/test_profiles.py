"""brined.profiles: each library's own pickles of 20+ typical objects load under
its profile, equal to the original, and are refused by name without it."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import pytest

import brined
from brined import UnsafeGlobalError
from brined._safe.policy import BLOCKED, Policy

from . import profile_objects

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def _objects(kind: str) -> list[tuple[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(getattr(profile_objects, f"{kind}_objects")())


def _pickles(objects: list[tuple[str, Any]]) -> list[tuple[str, int, bytes, Any]]:
    return [
        (label, proto, pickle.dumps(obj, proto), obj)
        for label, obj in objects
        for proto in PROTOCOLS
    ]


def _pandas_equal(a: Any, b: Any) -> bool:
    import pandas as pd
    import pandas.testing as pdt

    if isinstance(a, pd.DataFrame):
        pdt.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pdt.assert_series_equal(a, b)
    elif isinstance(a, pd.Index):
        pdt.assert_index_equal(a, b, exact=True)
    elif isinstance(a, pd.Categorical):
        pdt.assert_extension_array_equal(a, b)
    elif a is pd.NaT:
        return b is pd.NaT
    else:
        return bool(type(a) is type(b) and a == b)
    return True


def test_profiles_are_frozensets_of_names_that_combine() -> None:
    profiles = brined.profiles
    for profile in (profiles.PANDAS, profiles.SCIPY_SPARSE, profiles.SKLEARN):
        assert isinstance(profile, frozenset) and profile
        assert all(isinstance(n, str) and ":" in n for n in profile)
    both = profiles.PANDAS | profiles.SKLEARN
    policy = Policy(both)
    assert policy.check("pandas", "DataFrame") == 0
    assert policy.check("sklearn.tree._classes", "DecisionTreeClassifier") == 0
    nested = Policy([profiles.PANDAS, "collections:ChainMap"])
    assert nested.check("pandas", "Series") == 0
    assert Policy(["pandas"]).check("pandas", "Series") == 0
    assert "PANDAS" in repr(profiles.PANDAS)


def test_profiles_name_no_blocked_or_io_functions() -> None:
    for profile in (
        brined.profiles.PANDAS,
        brined.profiles.SCIPY_SPARSE,
        brined.profiles.SKLEARN,
    ):
        policy = Policy(profile)
        for entry in profile:
            module, _, name = entry.partition(":")
            assert policy.check(module, name) != BLOCKED, entry
            assert not name.startswith(("read_", "load", "fetch_", "to_"))
        assert policy.check("pandas", "read_pickle") != 0
        assert policy.check("sklearn.datasets", "fetch_openml") != 0


def _check_profile(kind: str, profile: frozenset[str], equal: Any) -> None:
    objects = _objects(kind)
    loaded: set[str] = set()
    for label, proto, data, obj in _pickles(objects):
        got = brined.loads(data, allow=profile)
        assert equal(obj, got), (label, proto)
        loaded.add(label)
    assert len(loaded) >= 20, sorted(loaded)


def test_pandas_profile_loads_pandas_pickles() -> None:
    pytest.importorskip("pandas", reason="pandas is a test extra")
    _check_profile("pandas", brined.profiles.PANDAS, _pandas_equal)


def test_pandas_refusal_names_the_profile() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is a test extra")
    data = pickle.dumps(pd.DataFrame({"a": [1]}), 5)
    with pytest.raises(UnsafeGlobalError) as info:
        brined.loads(data)
    message = str(info.value)
    assert "is in the profile brined.profiles.PANDAS" in message
    assert "loads(data, allow=brined.profiles.PANDAS)" in message


def test_name_outside_a_profile_in_a_profiled_library_says_so() -> None:
    err = Policy().refusal("pandas.io.pickle", "read_pickle", 1)
    assert "not in the profile brined.profiles.PANDAS" in str(err)
    assert "*brined.profiles.PANDAS" in str(err)


def _sparse_equal(a: Any, b: Any) -> bool:
    return bool(
        type(a) is type(b)
        and a.shape == b.shape
        and a.dtype == b.dtype
        and (a != b).nnz == 0
    )


def test_scipy_sparse_profile_loads_sparse_pickles() -> None:
    pytest.importorskip("scipy.sparse", reason="scipy is a test extra")
    _check_profile("scipy_sparse", brined.profiles.SCIPY_SPARSE, _sparse_equal)


def test_scipy_refusal_names_the_profile() -> None:
    sparse = pytest.importorskip("scipy.sparse", reason="scipy is a test extra")
    with pytest.raises(UnsafeGlobalError, match="brined.profiles.SCIPY_SPARSE"):
        brined.loads(pickle.dumps(sparse.csr_array((2, 2)), 4))


def test_sklearn_profile_loads_fitted_estimators() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is a test extra")
    import numpy as np

    probe = profile_objects.sklearn_probe()
    text = ["the cat", "a dog ran"]

    def same(a: Any, b: Any) -> bool:
        assert type(a) is type(b)
        if hasattr(a, "predict"):
            x = text if hasattr(a, "vocabulary_") else probe
            np.testing.assert_allclose(a.predict(x), b.predict(x))
        elif hasattr(a, "transform"):
            x = text if hasattr(a, "vocabulary_") else probe
            if type(a).__name__ == "OneHotEncoder":
                x = [["a"], ["b"]]
            ra, rb = a.transform(x), b.transform(x)
            if hasattr(ra, "toarray"):
                ra, rb = ra.toarray(), rb.toarray()
            np.testing.assert_allclose(ra, rb)
        return True

    _check_profile("sklearn", brined.profiles.SKLEARN, same)


def test_sklearn_refusal_names_the_profile() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is a test extra")
    from sklearn.linear_model import LinearRegression

    data = pickle.dumps(LinearRegression().fit([[0], [1]], [0, 1]), 5)
    with pytest.raises(UnsafeGlobalError, match="brined.profiles.SKLEARN"):
        brined.loads(data)
    with pytest.raises(UnsafeGlobalError):
        brined.loads(data, allow=brined.profiles.PANDAS)


def test_profiles_by_group_name_in_policy_files_and_the_cli(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is a test extra")
    from brined.cli import main

    path = tmp_path / "frame.pkl"
    path.write_bytes(pickle.dumps(pd.DataFrame({"a": [1.5, 2.5]}), 5))
    policy_file = tmp_path / "policy.txt"
    policy_file.write_text("# pandas frames\npandas\n")
    policy = Policy.from_file(str(policy_file))
    assert brined.loads(path.read_bytes(), allow=policy).equals(
        pd.DataFrame({"a": [1.5, 2.5]})
    )
    assert main(["scan", str(path)]) == 1
    assert main(["scan", "--allow", "pandas", str(path)]) == 0
