"""Three small real datasets shipped with lrcore, and column standardization.

==========================  =========  ===========================================
loader                      X          y (float64)
==========================  =========  ===========================================
:func:`load_diabetes`       442 x 10   disease progression (least squares)
:func:`load_breast_cancer`  569 x 30   0 = malignant, 1 = benign (logistic)
:func:`load_digits`         1797 x 64  the digit 0..9 (softmax, small networks)
==========================  =========  ===========================================

The data are gzip-compressed CSV files inside the package (``lrcore/datasets/*.csv.gz``,
a header row of feature names ending in ``target``), read with :mod:`importlib.resources`,
:mod:`gzip` and numpy only: no network access, no extra dependency.  They are verbatim
copies of the values scikit-learn ships; ``lrcore/datasets/README.md`` gives the sources,
citations, licenses and the exact recipe that produced the files.

:func:`standardize_columns` centers every column to mean 0 and scales it to unit population
standard deviation; the loaders apply it when called with ``standardize=True``.
"""
from __future__ import annotations

import gzip
from collections.abc import Sequence
from importlib import resources
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from lrcore.datasets._files import load_file
__all__ = ["load_diabetes", "load_breast_cancer", "load_digits", "standardize_columns",
           "load_file"]

Dataset: TypeAlias = tuple[NDArray[np.float64], NDArray[np.float64], tuple[str, ...]]


def _column_label(j: int, feature_names: Sequence[str] | None) -> str:
    if feature_names is None:
        return f"column {j}"
    return f"column {j} ({feature_names[j]!r})"


def standardize_columns(
    X: Any, feature_names: Sequence[str] | None = None
) -> NDArray[np.float64]:
    r"""Center each column to mean 0 and scale it to unit standard deviation.

    .. math::

        z_{ij} = \frac{x_{ij} - \bar x_j}{\sigma_j}, \qquad
        \bar x_j = \frac1n \sum_{i=1}^n x_{ij}, \qquad
        \sigma_j = \Big(\frac1n \sum_{i=1}^n (x_{ij} - \bar x_j)^2\Big)^{1/2}

    with the population standard deviation (``ddof=0``), the same as
    ``sklearn.preprocessing.StandardScaler``.  Since :math:`z` does not depend on the units
    of a column, each column is first divided by a power of two above its largest magnitude
    (exact, barring underflow of values negligible against that magnitude): columns of
    any magnitude, up to the float64 limits, and nearly constant columns are standardized
    without overflow or underflow.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Real (or integer/bool) values, all finite.  It is not modified.
    feature_names : sequence of str, optional
        Names of the columns, used in error messages; length ``n_features``.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_features), float64, C-contiguous
        A new array.

    Raises
    ------
    TypeError
        If `X` is not numeric.
    ValueError
        If `X` is not 2-D or has no rows, if `feature_names` has the wrong length, if a
        value is NaN or infinite (the message names its row and column), or if a column is
        constant (the message names the column): a constant column has standard deviation
        0 and cannot be scaled.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.datasets import standardize_columns
    >>> Z = standardize_columns([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])
    >>> Z.round(4).tolist()
    [[-1.2247, -0.9258], [0.0, -0.4629], [1.2247, 1.3887]]
    >>> bool(np.allclose(Z.mean(axis=0), 0.0)), bool(np.allclose(Z.std(axis=0), 1.0))
    (True, True)
    >>> standardize_columns([[1.0, 5.0], [2.0, 5.0]], feature_names=["a", "b"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: column 1 ('b') is constant (every value is 5.0): it has standard deviation 0...
    """
    A = np.asarray(X)
    if A.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers, got dtype {A.dtype}")
    if A.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {A.ndim}-D")
    n, p = A.shape
    if feature_names is not None:
        feature_names = tuple(feature_names)
        if len(feature_names) != p:
            raise ValueError(
                f"feature_names has {len(feature_names)} names but X has {p} columns"
            )
    if n == 0:
        raise ValueError("X has no rows: a standard deviation needs at least one value")
    A = A.astype(np.float64, copy=False)
    finite = np.isfinite(A)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ValueError(
            f"X[{i}, {j}] = {A[i, j]} is not finite ({_column_label(j, feature_names)}, "
            f"row {i})"
        )
    lo = A.min(axis=0)
    hi = A.max(axis=0)
    constant = np.flatnonzero(lo == hi)
    if constant.size:
        j = int(constant[0])
        raise ValueError(
            f"{_column_label(j, feature_names)} is constant (every value is {lo[j]}): "
            "it has standard deviation 0 and cannot be standardized"
        )
    # The result does not depend on the units of a column, so first divide each column by
    # the power of two just above its largest magnitude (exact in binary floating point,
    # barring underflow of negligible values): afterwards |x| < 1, so neither the mean nor
    # the deviations can overflow.
    _, exponent = np.frexp(np.maximum(np.abs(lo), np.abs(hi)))
    Z = np.ldexp(A, -exponent)  # a new array; X is never written
    Z -= Z.mean(axis=0)
    # Not constant => the deviations are 0 or at least ~2**-54 (values of magnitude up to 1
    # are that far apart), so their squares cannot all underflow: sigma > 0.
    Z /= np.sqrt(np.mean(Z * Z, axis=0))
    return np.ascontiguousarray(Z)


# file name -> (n_samples, n_features)
_SHAPES = {
    "diabetes.csv.gz": (442, 10),
    "breast_cancer.csv.gz": (569, 30),
    "digits.csv.gz": (1797, 64),
}


def _parse(raw: bytes, fname: str) -> Dataset:
    """Parse a shipped gzip CSV (header of names ending in ``target``) into (X, y, names)."""
    n, p = _SHAPES[fname]
    try:
        lines = gzip.decompress(raw).decode("ascii").splitlines()
        header = tuple(lines[0].split(","))
        data = np.loadtxt(lines[1:], delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, UnicodeDecodeError, IndexError, ValueError) as exc:
        raise RuntimeError(
            f"the data file lrcore/datasets/{fname} is damaged ({exc}); reinstall lrcore"
        ) from exc
    if (
        len(header) != p + 1
        or header[-1] != "target"
        or data.shape != (n, p + 1)
        or not np.isfinite(data).all()
    ):
        raise RuntimeError(
            f"the data file lrcore/datasets/{fname} is damaged (expected a header of "
            f"{p} feature names + 'target' and {n} finite rows of {p + 1} values, got "
            f"{len(header)} names and an array of shape {data.shape}); reinstall lrcore"
        )
    X = np.ascontiguousarray(data[:, :p])
    y = np.ascontiguousarray(data[:, p])
    return X, y, header[:p]


def _load(fname: str, standardize: bool) -> Dataset:
    raw = resources.files(__name__).joinpath(fname).read_bytes()
    X, y, names = _parse(raw, fname)
    if standardize:
        X = standardize_columns(X, names)
    return X, y, names


def load_diabetes(*, standardize: bool = False) -> Dataset:
    """Load the diabetes regression data of Efron, Hastie, Johnstone & Tibshirani (2004).

    Ten baseline variables of 442 diabetes patients and a quantitative measure of disease
    progression one year after baseline.  The features are the ORIGINAL, unscaled values
    (age in years, sex coded 1/2, ...), i.e. scikit-learn's ``diabetes_data_raw.csv.gz``
    and ``load_diabetes(scaled=False)``, not its default pre-scaled version.

    ==========  =================================================
    column      meaning
    ==========  =================================================
    ``age``     age in years
    ``sex``     sex, coded 1 or 2
    ``bmi``     body mass index
    ``bp``      average blood pressure
    ``s1``      tc, total serum cholesterol
    ``s2``      ldl, low-density lipoproteins
    ``s3``      hdl, high-density lipoproteins
    ``s4``      tch, total cholesterol / HDL
    ``s5``      ltg, log of serum triglycerides level
    ``s6``      glu, blood sugar level
    ``target``  disease progression one year after baseline (integers 25 .. 346)
    ==========  =================================================

    Parameters
    ----------
    standardize : bool, default False
        If True, each feature column is centered to mean 0 and scaled to unit population
        standard deviation (:func:`standardize_columns`).  `y` is never transformed.

    Returns
    -------
    X : ndarray of shape (442, 10), float64, C-contiguous
        The features (a new array on every call).
    y : ndarray of shape (442,), float64
        The disease progression target.
    feature_names : tuple of str
        ``('age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6')``.

    Notes
    -----
    Source: B. Efron et al., "Least Angle Regression" (data at
    https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html), as distributed by
    scikit-learn (files ``diabetes_data_raw.csv.gz`` and ``diabetes_target.csv.gz``,
    BSD-3-Clause), copied value for value.  The data are published with the paper for
    research use; no separate license is attached to them.  See
    ``lrcore/datasets/README.md`` for the full provenance.

    References
    ----------
    .. [1] B. Efron, T. Hastie, I. Johnstone and R. Tibshirani, "Least Angle Regression",
       Annals of Statistics 32(2), 407-499, 2004.  doi:10.1214/009053604000000067

    Examples
    --------
    >>> from lrcore.datasets import load_diabetes
    >>> X, y, names = load_diabetes()
    >>> X.shape, y.shape, X.dtype
    ((442, 10), (442,), dtype('float64'))
    >>> names[:4], X[0, :4].tolist(), float(y[0])
    (('age', 'sex', 'bmi', 'bp'), [59.0, 2.0, 32.1, 101.0], 151.0)
    >>> Xs, _, _ = load_diabetes(standardize=True)
    >>> bool(abs(Xs.mean(axis=0)).max() < 1e-12), bool(abs(Xs.std(axis=0) - 1).max() < 1e-12)
    (True, True)
    """
    return _load("diabetes.csv.gz", standardize)


def load_breast_cancer(*, standardize: bool = False) -> Dataset:
    """Load the Breast Cancer Wisconsin (Diagnostic) classification data.

    569 fine needle aspirates of breast masses, 30 features of the cell nuclei seen in
    the digitized image: for each of ten characteristics (radius, texture, perimeter,
    area, smoothness, compactness, concavity, concave points, symmetry, fractal
    dimension) its mean (``mean radius``, ...), standard error (``radius error``, ...)
    and "worst" value, the mean of the three largest (``worst radius``, ...).

    The labels use scikit-learn's encoding: **0 = malignant, 1 = benign**
    (212 malignant, 357 benign).  For "1 = malignant" use ``1 - y``.

    Parameters
    ----------
    standardize : bool, default False
        If True, each feature column is centered to mean 0 and scaled to unit population
        standard deviation (:func:`standardize_columns`).  `y` is never transformed.

    Returns
    -------
    X : ndarray of shape (569, 30), float64, C-contiguous
        The features (a new array on every call).
    y : ndarray of shape (569,), float64
        The diagnosis: 0.0 = malignant, 1.0 = benign.
    feature_names : tuple of str
        The 30 names, as in ``sklearn.datasets.load_breast_cancer().feature_names``.

    Notes
    -----
    Source: UCI Machine Learning Repository, Breast Cancer Wisconsin (Diagnostic),
    W. Wolberg, O. Mangasarian, N. Street and W. Street (data of November 1995, from the
    study of Street, Wolberg & Mangasarian 1993), doi:10.24432/C5DW2B, licensed CC BY 4.0;
    as distributed by scikit-learn (file ``breast_cancer.csv``, BSD-3-Clause), copied
    value for value.  See
    ``lrcore/datasets/README.md`` for the full provenance.

    References
    ----------
    .. [1] W. N. Street, W. H. Wolberg and O. L. Mangasarian, "Nuclear feature extraction
       for breast tumor diagnosis", IS&T/SPIE 1993 International Symposium on Electronic
       Imaging: Science and Technology, vol. 1905, 861-870, 1993.
    .. [2] W. Wolberg, O. Mangasarian, N. Street and W. Street, "Breast Cancer Wisconsin
       (Diagnostic)", UCI Machine Learning Repository, 1995.  doi:10.24432/C5DW2B

    Examples
    --------
    >>> from lrcore.datasets import load_breast_cancer
    >>> X, y, names = load_breast_cancer()
    >>> X.shape, y.shape, len(names)
    ((569, 30), (569,), 30)
    >>> names[0], names[10], names[20]
    ('mean radius', 'radius error', 'worst radius')
    >>> int((y == 0).sum()), int((y == 1).sum())  # malignant, benign
    (212, 357)
    """
    return _load("breast_cancer.csv.gz", standardize)


def load_digits(*, standardize: bool = False) -> Dataset:
    """Load the UCI optical recognition of handwritten digits data (test set; 1797 images).

    Each row is an 8x8 image of a handwritten digit, flattened row by row: 32x32 bitmaps
    (NIST preprocessing) divided into non-overlapping 4x4 blocks, each pixel counting the
    "on" bits of its block, an integer in 0..16.  The target is the digit, 0..9 (178, 182,
    177, 183, 181, 182, 181, 179, 174 and 180 images of each).  This is the data of
    ``sklearn.datasets.load_digits()``, value for value.

    Parameters
    ----------
    standardize : bool, default False
        If True, every pixel column is centered to mean 0 and scaled to unit population
        standard deviation (:func:`standardize_columns`), except the three pixels that are
        0 in every image (``pixel_0_0``, ``pixel_4_0``, ``pixel_4_7``), which become 0
        (they cannot be scaled).  `y` is never transformed.  (For neural networks the usual
        scaling is ``X / 16``.)

    Returns
    -------
    X : ndarray of shape (1797, 64), float64, C-contiguous
        The pixels (a new array on every call).
    y : ndarray of shape (1797,), float64
        The digit, 0.0 .. 9.0.
    feature_names : tuple of str
        ``('pixel_0_0', 'pixel_0_1', ..., 'pixel_7_7')``: ``pixel_i_j`` is row ``i``,
        column ``j`` of the image.

    Notes
    -----
    Source: UCI Machine Learning Repository, Optical Recognition of Handwritten Digits
    (dataset 80), E. Alpaydin and C. Kaynak, 1998, licensed CC BY 4.0; the test-set file
    ``optdigits.tes`` as distributed by scikit-learn (``digits.csv.gz``, BSD-3-Clause),
    copied value for value.  See ``lrcore/datasets/README.md`` for the full provenance.

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI
       Machine Learning Repository, 1998.  https://archive.ics.uci.edu/dataset/80
    .. [2] E. Alpaydin and C. Kaynak, "Cascading classifiers", Kybernetika 34(4),
       369-374, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.datasets import load_digits
    >>> X, y, names = load_digits()
    >>> X.shape, y.shape, names[:2], names[-1]
    ((1797, 64), (1797,), ('pixel_0_0', 'pixel_0_1'), 'pixel_7_7')
    >>> np.bincount(y.astype(int)).tolist()
    [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    >>> X[0].reshape(8, 8)[1].tolist(), int(y[0]), float(X.max())
    ([0.0, 0.0, 13.0, 15.0, 10.0, 15.0, 5.0, 0.0], 0, 16.0)
    """
    X, y, names = _load("digits.csv.gz", False)
    if standardize:
        keep = np.flatnonzero(X.min(axis=0) != X.max(axis=0))
        Z = np.zeros_like(X)
        Z[:, keep] = standardize_columns(X[:, keep], [names[j] for j in keep])
        X = Z
    return X, y, names
