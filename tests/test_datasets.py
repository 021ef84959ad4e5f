"""Tests of lrcore.datasets: the shipped data against published values, and standardization.

References used here, independent of the loader:
- the first and last records of each file as published (Efron et al. 2004 data; UCI wdbc);
- the column means of the diabetes data and the class distribution 212 malignant / 357
  benign stated in the UCI description;
- the per-feature minimum/maximum table of the UCI description (as printed in
  scikit-learn's breast_cancer.rst), which also pins the column ORDER of the 30 features;
- a plain-numpy twin of the standardization formula (reference.datasets.standardize).
"""
from __future__ import annotations

import doctest
import gzip
from importlib import resources

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lrcore.datasets as ds
from lrcore.datasets import load_breast_cancer, load_diabetes, standardize_columns
from reference import datasets as ref

DIABETES_NAMES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
_KINDS = ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
          "concavity", "concave points", "symmetry", "fractal dimension")
BREAST_CANCER_NAMES = (
    tuple(f"mean {k}" for k in _KINDS)
    + tuple(f"{k} error" for k in _KINDS)
    + tuple(f"worst {k}" for k in _KINDS)
)

# UCI wdbc summary statistics (min, max) per feature, in column order, as published
# (rounded to about 3 decimals / 4 significant digits there).
BREAST_CANCER_MIN_MAX = [
    (6.981, 28.11), (9.71, 39.28), (43.79, 188.5), (143.5, 2501.0), (0.053, 0.163),
    (0.019, 0.345), (0.0, 0.427), (0.0, 0.201), (0.106, 0.304), (0.05, 0.097),
    (0.112, 2.873), (0.36, 4.885), (0.757, 21.98), (6.802, 542.2), (0.002, 0.031),
    (0.002, 0.135), (0.0, 0.396), (0.0, 0.053), (0.008, 0.079), (0.001, 0.03),
    (7.93, 36.04), (12.02, 49.54), (50.41, 251.2), (185.2, 4254.0), (0.071, 0.223),
    (0.027, 1.058), (0.0, 1.252), (0.0, 0.291), (0.156, 0.664), (0.055, 0.208),
]

LOADERS = [
    pytest.param(load_diabetes, (442, 10), DIABETES_NAMES, id="diabetes"),
    pytest.param(load_breast_cancer, (569, 30), BREAST_CANCER_NAMES, id="breast_cancer"),
]


# ------------------------------------------------------------------ shapes and types


@pytest.mark.parametrize("loader, shape, names", LOADERS)
@pytest.mark.parametrize("standardize", [False, True])
def test_shapes_dtypes_names(loader, shape, names, standardize):
    X, y, feature_names = loader(standardize=standardize)
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    assert X.shape == shape and y.shape == (shape[0],)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.flags.c_contiguous and X.flags.writeable and y.flags.writeable
    assert isinstance(feature_names, tuple)
    assert all(type(name) is str for name in feature_names)
    assert feature_names == names
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("loader, shape, names", LOADERS)
def test_each_call_returns_new_arrays(loader, shape, names):
    X1, y1, _ = loader()
    X1[:] = -1.0
    y1[:] = -1.0
    X2, y2, _ = loader()
    assert not np.shares_memory(X1, X2) and not np.shares_memory(y1, y2)
    assert (X2 != -1.0).any() and (y2 != -1.0).all()


def test_keyword_only():
    with pytest.raises(TypeError):
        load_diabetes(True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        load_breast_cancer(True)  # type: ignore[misc]


# ------------------------------------------------------------------ diabetes values


def test_diabetes_known_records():
    X, y, _ = load_diabetes()
    # first and last patients of Efron et al.'s table (original units)
    np.testing.assert_array_equal(
        X[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87])
    assert y[0] == 151
    np.testing.assert_array_equal(
        X[-1], [36, 1, 19.6, 71, 250, 133.2, 97, 3, 4.5951, 92])
    assert y[-1] == 57


def test_diabetes_is_unscaled_original_data():
    X, y, _ = load_diabetes()
    age, sex = X[:, 0], X[:, 1]
    # sklearn's default is scaled to |x| < 0.2; the original has ages in years, sex 1/2
    assert age.min() == 19 and age.max() == 79
    assert set(np.unique(sex).tolist()) == {1.0, 2.0}
    assert np.array_equal(age, np.round(age))


def test_diabetes_column_means_and_target():
    X, y, _ = load_diabetes()
    published_means = [48.518, 1.468, 26.376, 94.647, 189.140,
                       115.439, 49.788, 4.070, 4.641, 91.260]
    np.testing.assert_allclose(X.mean(axis=0), published_means, atol=6e-4, rtol=0)
    assert abs(y.mean() - 152.133) < 6e-4
    # disease progression: integers from 25 to 346
    assert y.min() == 25 and y.max() == 346
    assert np.array_equal(y, np.round(y))


# ------------------------------------------------------------------ breast cancer values


def test_breast_cancer_known_records():
    X, y, _ = load_breast_cancer()
    np.testing.assert_array_equal(X[0, :10], [17.99, 10.38, 122.8, 1001, 0.1184, 0.2776,
                                              0.3001, 0.1471, 0.2419, 0.07871])
    np.testing.assert_array_equal(X[0, 20:24], [25.38, 17.33, 184.6, 2019])
    assert y[0] == 0  # the first record is malignant
    np.testing.assert_array_equal(X[-1, :4], [7.76, 24.54, 47.92, 181])
    assert y[-1] == 1  # the last record is benign


def test_breast_cancer_labels_sklearn_encoding():
    _, y, _ = load_breast_cancer()
    assert set(np.unique(y).tolist()) == {0.0, 1.0}
    # 0 = malignant (212), 1 = benign (357), as in scikit-learn
    assert int((y == 0).sum()) == 212
    assert int((y == 1).sum()) == 357


def test_breast_cancer_summary_table():
    X, _, names = load_breast_cancer()
    published = np.array(BREAST_CANCER_MIN_MAX)
    # published values are rounded to 3 decimals or 4 significant digits
    np.testing.assert_allclose(X.min(axis=0), published[:, 0], rtol=5e-4, atol=6e-4)
    np.testing.assert_allclose(X.max(axis=0), published[:, 1], rtol=5e-4, atol=6e-4)
    mean = dict(zip(names, X.mean(axis=0)))
    for name, value in [("mean radius", 14.127), ("mean texture", 19.290),
                        ("mean area", 654.889), ("worst area", 880.583)]:
        assert abs(mean[name] - value) < 6e-4, name


# ------------------------------------------------------------------ standardize=True


@pytest.mark.parametrize("loader, shape, names", LOADERS)
def test_loader_standardize(loader, shape, names):
    X, y, _ = loader()
    Xs, ys, names_s = loader(standardize=True)
    assert names_s == names
    np.testing.assert_array_equal(ys, y)  # the target is never transformed
    np.testing.assert_allclose(Xs.mean(axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(Xs.std(axis=0), 1.0, rtol=1e-13)
    np.testing.assert_allclose(Xs, ref.standardize(X), rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------------ standardize_columns


def test_standardize_columns_closed_form():
    Z = standardize_columns([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])
    s = np.sqrt(2.0 / 3.0)
    sigma2 = np.sqrt((400.0 + 100.0 + 900.0) / 3.0)
    np.testing.assert_allclose(Z[:, 0], [-1 / s, 0.0, 1 / s], rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(Z[:, 1], np.array([-20.0, -10.0, 30.0]) / sigma2,
                               rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_standardize_columns_dtypes_and_no_mutation(dtype):
    rng = np.random.default_rng(0)
    X = (rng.random((50, 4)) * 10).astype(dtype)
    if dtype is np.bool_:
        X[0], X[1] = True, False
    X_before = X.copy()
    Z = standardize_columns(X)
    np.testing.assert_array_equal(X, X_before)
    assert Z.dtype == np.float64 and Z.flags.c_contiguous and Z.shape == X.shape
    assert not np.shares_memory(Z, X)
    np.testing.assert_allclose(Z, ref.standardize(X.astype(np.float64)), rtol=1e-12,
                               atol=1e-12)


def test_standardize_columns_fortran_and_strided_input():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 8))
    for view in (np.asfortranarray(X), X[::2, ::3]):
        Z = standardize_columns(view)
        assert Z.flags.c_contiguous
        np.testing.assert_allclose(Z, ref.standardize(view), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1.0, 1e150, 1e300])
def test_standardize_columns_extreme_magnitudes(scale):
    # naive sum of squares under/overflows at these scales; the result must not change
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    Z_ref = standardize_columns(X)
    Z = standardize_columns(X * scale)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-12, atol=1e-12)


def test_standardize_columns_constant_column_error():
    X = np.array([[1.0, 3.0, 7.0], [2.0, 3.0, 7.0], [4.0, 3.0, 7.0]])
    X_before = X.copy()
    with pytest.raises(ValueError, match=r"column 1 \('s1'\) is constant.*3\.0"):
        standardize_columns(X, feature_names=["s0", "s1", "s2"])
    with pytest.raises(ValueError, match=r"^column 1 is constant"):
        standardize_columns(X)
    np.testing.assert_array_equal(X, X_before)
    # a single row: every column is constant
    with pytest.raises(ValueError, match=r"column 0 \('a'\) is constant"):
        standardize_columns([[1.0, 2.0]], feature_names=("a", "b"))


def test_standardize_columns_nearly_constant_is_not_an_error():
    # spread of one ulp at 1.0: mean 1 + 2**-52 and deviations +-2**-52 are exact
    one_ulp = np.nextafter(1.0, 2.0)
    two_ulp = np.nextafter(one_ulp, 2.0)
    Z = standardize_columns(np.array([[1.0], [1.0], [two_ulp], [two_ulp]]))
    np.testing.assert_array_equal(Z.ravel(), [-1.0, -1.0, 1.0, 1.0])
    # the smallest subnormal: squares of the deviations underflow in a naive formula
    tiny = np.nextafter(0.0, 1.0)
    Z = standardize_columns(np.array([[0.0], [0.0], [tiny]]))
    np.testing.assert_allclose(Z.ravel(), [-1 / np.sqrt(2), -1 / np.sqrt(2), np.sqrt(2)],
                               rtol=1e-15)


def test_standardize_columns_near_overflow():
    # naive sum 2 * 1.7e308 overflows and naive deviations 4/3 * 1.7e308 too
    X = np.array([[1.7e308, -1.0], [1.7e308, 0.0], [-1.7e308, 5.0]])
    Z = standardize_columns(X)
    np.testing.assert_allclose(Z[:, 0], [1 / np.sqrt(2), 1 / np.sqrt(2), -np.sqrt(2)],
                               rtol=1e-14)
    np.testing.assert_allclose(Z, ref.standardize(X / [1e300, 1.0]), rtol=1e-14)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_standardize_columns_nonfinite_error(bad):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"X\[2, 1\].*not finite.*column 1 \('b'\).*row 2"):
        standardize_columns(X, feature_names=["a", "b", "c"])


def test_standardize_columns_argument_errors():
    with pytest.raises(ValueError, match="2-D"):
        standardize_columns(np.arange(5.0))
    with pytest.raises(ValueError, match="2-D"):
        standardize_columns(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="no rows"):
        standardize_columns(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="feature_names has 2 names but X has 3 columns"):
        standardize_columns(np.eye(3), feature_names=["a", "b"])
    with pytest.raises(TypeError, match="real numbers"):
        standardize_columns([["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match="real numbers"):
        standardize_columns(np.ones((2, 2), dtype=complex))


@settings(max_examples=60, deadline=None)
@given(
    X=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2,
                                                max_side=12),
                 elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
    a=st.floats(1e-3, 1e3),
    b=st.floats(-1e3, 1e3),
)
def test_standardize_columns_properties(X, a, b):
    # well-conditioned columns only: spread not lost to cancellation against the magnitude
    spread = X.max(axis=0) - X.min(axis=0)
    assume((spread > 1e-6 * (np.abs(X).max(axis=0) + 1.0)).all())
    Z = standardize_columns(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(Z, ref.standardize(X), rtol=1e-8, atol=1e-8)
    # invariant under a positive affine change of units
    np.testing.assert_allclose(standardize_columns(a * X + b), Z, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ the shipped files


def test_files_are_small_and_readable():
    root = resources.files("lrcore.datasets")
    sizes = {}
    for fname in ("diabetes.csv.gz", "breast_cancer.csv.gz"):
        raw = root.joinpath(fname).read_bytes()
        sizes[fname] = len(raw)
        header = gzip.decompress(raw).decode("ascii").splitlines()[0]
        assert header.split(",")[-1] == "target"
    assert sum(sizes.values()) < 100 * 1024, sizes
    assert root.joinpath("README.md").is_file()


def test_damaged_file_is_reported():
    raw = resources.files("lrcore.datasets").joinpath("diabetes.csv.gz").read_bytes()
    with pytest.raises(RuntimeError, match="diabetes.csv.gz is damaged"):
        ds._parse(raw[: len(raw) // 2], "diabetes.csv.gz")  # truncated gzip stream
    lines = gzip.decompress(raw).decode("ascii").splitlines()
    short = gzip.compress("\n".join(lines[:-1]).encode("ascii"))  # one row missing
    with pytest.raises(RuntimeError, match=r"damaged.*shape \(441, 11\)"):
        ds._parse(short, "diabetes.csv.gz")
    renamed = gzip.compress("\n".join([lines[0].replace("target", "y")] + lines[1:])
                            .encode("ascii"))
    with pytest.raises(RuntimeError, match="damaged"):
        ds._parse(renamed, "diabetes.csv.gz")
    text = gzip.compress("\n".join(lines[:5] + ["1,2,x"] + lines[6:]).encode("ascii"))
    with pytest.raises(RuntimeError, match="damaged"):
        ds._parse(text, "diabetes.csv.gz")


def test_docstring_examples():
    result = doctest.testmod(ds, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0
