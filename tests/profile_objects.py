"""Typical objects of the libraries brined.profiles covers, and how to compare them.

Each ``*_objects()`` returns ``[(label, obj), ...]``: at least 20 objects that the
library's users pickle.  tests/test_profiles.py loads ``pickle.dumps`` of each
under its profile; ``tools/profile_names.py`` lists the globals those pickles name.
"""

from __future__ import annotations

from typing import Any


def pandas_objects() -> list[tuple[str, Any]]:
    import numpy as np
    import pandas as pd

    idx = pd.date_range("2024-01-01", periods=4, freq="D")
    many = pd.DataFrame(
        {
            "i": [1, 2, 3, 4],
            "f": [0.5, np.nan, 2.5, 3.0],
            "s": ["a", "b", None, "d"],
            "b": [True, False, True, False],
            "dt": idx,
            "tz": idx.tz_localize("Europe/Paris"),
            "td": pd.to_timedelta([1, 2, 3, 4], unit="h"),
            "cat": pd.Categorical(["x", "y", "x", "z"]),
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
            "boolean": pd.array([True, None, False, True], dtype="boolean"),
            "string": pd.array(["p", None, "q", "r"], dtype="string"),
            "period": pd.period_range("2024-01", periods=4, freq="M"),
            "interval": pd.interval_range(0, 4),
        }
    )
    return [
        ("frame-many-dtypes", many),
        (
            "frame-plain",
            pd.DataFrame(np.arange(12).reshape(3, 4), columns=list("abcd")),
        ),
        ("series-float", pd.Series([1.0, 2.5, np.nan], name="x")),
        ("series-object", pd.Series(["a", 1, None])),
        ("series-datetime-index", pd.Series(range(4), index=idx)),
        ("index", pd.Index(["a", "b", "c"])),
        ("range-index", pd.RangeIndex(0, 10, 2)),
        ("int-index", pd.Index([3, 1, 2], dtype="int64")),
        ("datetime-index-tz", idx.tz_localize("UTC")),
        ("timedelta-index", pd.timedelta_range("1 day", periods=3)),
        ("period-index", pd.period_range("2024Q1", periods=3, freq="Q")),
        ("interval-index", pd.interval_range(0, 3)),
        ("categorical-index", pd.CategoricalIndex(["a", "b", "a"])),
        ("multi-index", pd.MultiIndex.from_product([["a", "b"], [1, 2]])),
        (
            "frame-multi-index",
            pd.DataFrame(
                {"v": range(4)},
                index=pd.MultiIndex.from_tuples(
                    [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
                ),
            ),
        ),
        (
            "categorical",
            pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
        ),
        ("timestamp", pd.Timestamp("2024-03-01 12:30")),
        ("timestamp-tz", pd.Timestamp("2024-03-01 12:30", tz="America/New_York")),
        ("timedelta", pd.Timedelta("1 days 02:03:04")),
        ("period", pd.Period("2024-05", freq="M")),
        ("interval", pd.Interval(0.5, 1.5, closed="left")),
        ("nat", pd.NaT),
        ("sparse-series", pd.Series(pd.arrays.SparseArray([0, 0, 1, 0, 2]))),
        ("date-offset", pd.offsets.MonthEnd(2)),
        (
            "frame-datetime-columns",
            pd.DataFrame({"t": idx, "v": [1, 2, 3, 4]}).set_index("t"),
        ),
    ]


def scipy_sparse_objects() -> list[tuple[str, Any]]:
    import numpy as np
    from scipy import sparse

    dense = np.array([[0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 4, 5]], dtype=np.float64)
    square = np.array([[1, 0, 2, 0], [0, 3, 0, 4], [5, 0, 6, 0], [0, 7, 0, 8]])
    out: list[tuple[str, Any]] = []
    for kind in ("csr", "csc", "coo", "lil", "dok", "dia"):
        out.append((f"{kind}_matrix", getattr(sparse, f"{kind}_matrix")(dense)))
        out.append((f"{kind}_array", getattr(sparse, f"{kind}_array")(dense)))
    out.append(("bsr_matrix", sparse.bsr_matrix(square, blocksize=(2, 2))))
    out.append(("bsr_array", sparse.bsr_array(square, blocksize=(2, 2))))
    out.append(("csr-int32", sparse.csr_array(dense.astype(np.int32))))
    out.append(("csr-complex", sparse.csr_matrix(dense * 1j)))
    out.append(("csr-bool", sparse.csr_array(dense > 0)))
    out.append(("identity", sparse.identity(5, format="csr")))
    out.append(
        ("random-csc", sparse.random(20, 10, density=0.2, format="csc", random_state=1))
    )
    out.append(("empty-coo", sparse.coo_array((3, 3))))
    out.append(("diags", sparse.diags([1, 2, 3], 0, format="dia")))
    out.append(("kron-bsr", sparse.kron(sparse.eye(2), square, format="bsr")))
    return out


def sklearn_objects() -> list[tuple[str, Any]]:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
    )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        MinMaxScaler,
        OneHotEncoder,
        PolynomialFeatures,
        StandardScaler,
    )
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.RandomState(0)
    x = rng.rand(60, 4)
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    yr = x @ [1.0, 2.0, -1.0, 0.5]
    fitted: list[tuple[str, Any]] = []

    def add(label: str, est: Any, *args: Any) -> None:
        fitted.append((label, est.fit(*args)))

    add("linear-regression", LinearRegression(), x, yr)
    add("ridge", Ridge(alpha=0.5), x, yr)
    add("lasso", Lasso(alpha=0.01), x, yr)
    add("logistic", LogisticRegression(), x, y)
    add("decision-tree", DecisionTreeClassifier(max_depth=3, random_state=0), x, y)
    add("decision-tree-reg", DecisionTreeRegressor(max_depth=3, random_state=0), x, yr)
    add("random-forest", RandomForestClassifier(n_estimators=5, random_state=0), x, y)
    add(
        "gradient-boosting",
        GradientBoostingClassifier(n_estimators=5, random_state=0),
        x,
        y,
    )
    add("hist-gb", HistGradientBoostingRegressor(max_iter=5), x, yr)
    add("kmeans", KMeans(n_clusters=3, n_init=2, random_state=0), x)
    add("pca", PCA(n_components=2), x)
    add("truncated-svd", TruncatedSVD(n_components=2, random_state=0), x)
    add("standard-scaler", StandardScaler(), x)
    add("minmax-scaler", MinMaxScaler(), x)
    add("polynomial", PolynomialFeatures(2), x)
    add("imputer", SimpleImputer(), x)
    add("one-hot", OneHotEncoder(), [["a"], ["b"], ["a"]])
    add("svc", SVC(), x, y)
    add("knn", KNeighborsClassifier(3), x, y)
    add("naive-bayes", GaussianNB(), x, y)
    add("tfidf", TfidfVectorizer(), ["the cat sat", "the dog ran", "a cat ran"])
    add("pipeline", make_pipeline(StandardScaler(), LogisticRegression()), x, y)
    return fitted


def sklearn_probe() -> Any:
    """Input every fitted estimator above can predict or transform."""
    import numpy as np

    return np.random.RandomState(1).rand(5, 4)
