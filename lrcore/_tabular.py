"""Loading a user's data file for ``lrcore analyze``: CSV (header row), .npy, .npz (dense
or scipy.sparse) or svmlight, through :func:`lrcore.datasets.load_file`.

Every problem a user can make with a data file becomes a :class:`DataError` whose message
is one line saying what is wrong and where (file, column, row), so the command line can
print it without a traceback.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from lrcore.datasets._files import DataError, detect_format, load_file

__all__ = ["DataError", "Table", "load_table", "standardize", "scale_sparse", "MAX_DENSE"]

#: sparse data (svmlight, sparse .npz) is densified for the command line up to this many
#: values (256 MiB of float64)
MAX_DENSE = 2**25


@dataclass(frozen=True, eq=False)
class Table:
    """Features ``X`` (float64, n x d: an ndarray, or a scipy.sparse CSR array when the
    file was sparse and ``keep_sparse`` was asked), target ``y`` (float64, n) and the
    feature names."""

    X: Any
    y: np.ndarray
    feature_names: tuple[str, ...]
    target: str
    source: str


def load_table(path: str | os.PathLike, target: str, *, keep_sparse: bool = False) -> Table:
    """Load features and target from a CSV (header row), .npy, .npz or svmlight file.

    CSV: the column named ``target`` is the target, every other column a feature; cells
    must be numbers (missing values such as ``""`` or ``NA`` are errors naming the column
    and the row).  .npy and sparse .npz: ``target`` is a column index.  Dense .npz: arrays
    ``X`` and ``target`` (and optionally ``feature_names``).  svmlight: the label of each
    line is the target (``target`` "label").  See :func:`lrcore.datasets.load_file`.
    Sparse data are returned dense (at most :data:`MAX_DENSE` values), or as the loader's
    scipy.sparse CSR array with ``keep_sparse=True`` (any size: lrcore's problems work on
    it without densifying).

    Raises
    ------
    DataError
        With a one-line message for every problem with the file.
    """
    name = os.fspath(path)
    X, y, names = load_file(name, target=target)
    fmt = detect_format(name)
    sparse = not isinstance(X, np.ndarray)
    if sparse and not keep_sparse:
        n, d = X.shape
        if n * d > MAX_DENSE:
            raise DataError(f"{name}: sparse data of shape {n} x {d} is too large for the "
                            f"command line, which works on dense arrays (at most "
                            f"{MAX_DENSE} values)")
        X = np.ascontiguousarray(X.toarray(), dtype=np.float64)
    if fmt == "npy" or (fmt == "npz" and sparse):
        label = f"column {int(target) % (len(names) + 1)}"
    elif fmt == "svmlight":
        label = "label"
    else:
        label = str(target)
    return Table(X, y, tuple(names), label, name)


def standardize(X: np.ndarray, names) -> np.ndarray:
    """Center every column and scale it to unit standard deviation (ddof=0).

    :func:`lrcore.datasets.standardize_columns`, with its errors (e.g. a constant column,
    named) turned into one-line :class:`DataError`.
    """
    from lrcore.datasets import standardize_columns

    try:
        return standardize_columns(X, names)
    except ValueError as exc:
        raise DataError(f"cannot standardize: {exc}") from None


def scale_sparse(X: Any) -> tuple[Any, np.ndarray, list[int]]:
    """Scale every column of a sparse matrix to unit standard deviation, without
    centering (centering would make every entry non-zero): scikit-learn's
    ``StandardScaler(with_mean=False)``.

    The standard deviation is that of the full column, implicit zeros included (ddof=0,
    two passes over the stored values: the mean, then the squared deviations, the
    implicit zeros adding (n - nnz_j) mean_j^2).  Constant columns (standard deviation 0,
    e.g. a feature that never occurs) are left as they are, as scikit-learn does.
    Returns ``(X_scaled, scale, constant)``: a new CSR array with the same sparsity
    pattern and index dtype, the divisor of every column (1 for constant ones) and the
    indices of the constant columns.
    """
    X = sp.csr_array(X, copy=True)
    n, d = X.shape
    idx = X.indices
    count = np.bincount(idx, minlength=d)
    mean = np.bincount(idx, weights=X.data, minlength=d) / n
    dev = X.data - mean[idx]
    var = (np.bincount(idx, weights=dev * dev, minlength=d) + (n - count) * mean * mean) / n
    scale = np.sqrt(var)
    constant = np.flatnonzero(scale == 0.0)
    scale[constant] = 1.0
    X.data /= scale[idx]
    return X, scale, [int(j) for j in constant]
