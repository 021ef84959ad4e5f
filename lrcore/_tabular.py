"""Loading a user's data file for ``lrcore analyze``: CSV (header row), .npy or .npz.

Every problem a user can make with a data file becomes a :class:`DataError` whose message
is one line saying what is wrong and where (file, column, row), so the command line can
print it without a traceback.
"""
from __future__ import annotations

import csv
import math
import os
import zipfile
from dataclasses import dataclass
from typing import cast

import numpy as np

__all__ = ["DataError", "Table", "load_table", "standardize"]

_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


class DataError(ValueError):
    """A data file that cannot be used as given (message: one line, for the user)."""


@dataclass(frozen=True, eq=False)
class Table:
    """Features ``X`` (float64, n x d), target ``y`` (float64, n) and the feature names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target: str
    source: str


def _float(cell: str) -> float | None:
    s = cell.strip()
    if s.lower() in _MISSING:
        return None
    try:
        v = float(s)
    except ValueError:
        return math.nan
    return v


def _load_csv(path: str, target: str) -> Table:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(65536)
            if not sample.strip():
                raise DataError(f"{path}: the file is empty")
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            f.seek(0)
            rows = list(csv.reader(f, dialect))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (could not decode it as UTF-8)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: unreadable CSV ({exc})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2:
        raise DataError(f"{path}: need a header row with at least two columns (features and "
                        f"the target), found {len(header)} column(s)")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column name(s) in the header: {', '.join(dup)}")
    # cast: the second _float(h) is the value just checked not to be None
    if all(_float(h) is not None and not math.isnan(cast(float, _float(h))) for h in header):
        raise DataError(f"{path}: the first row looks like data, not a header row of "
                        "column names")
    if target not in header:
        raise DataError(f"{path}: no column named {target!r}; columns are: "
                        + ", ".join(header))
    body = rows[1:]
    if not body:
        raise DataError(f"{path}: the file has a header but no data rows")
    data = np.empty((len(body), len(header)))
    for i, row in enumerate(body):
        line = i + 2  # 1-based line number in the file, header is line 1
        if len(row) != len(header):
            raise DataError(f"{path}: row {line} has {len(row)} fields, the header has "
                            f"{len(header)}")
        for j, cell in enumerate(row):
            v = _float(cell)
            if v is None:
                raise DataError(f"{path}: missing value in column {header[j]!r}, row {line}")
            if math.isnan(v) or math.isinf(v):
                raise DataError(f"{path}: non-numeric value {cell.strip()!r} in column "
                                f"{header[j]!r}, row {line}")
            data[i, j] = v
    t = header.index(target)
    feats = [j for j in range(len(header)) if j != t]
    return Table(np.ascontiguousarray(data[:, feats]), data[:, t].copy(),
                 tuple(header[j] for j in feats), target, path)


def _check_finite(path: str, X: np.ndarray, y: np.ndarray, names) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{path}: non-finite value in column {names[j]!r}, row {i}")
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        raise DataError(f"{path}: non-finite target value at row {int(np.argmax(bad_y))}")


def _load_npy(path: str, target: str) -> Table:
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: unreadable .npy file ({exc})") from None
    if a.ndim != 2 or a.shape[1] < 2:
        raise DataError(f"{path}: expected a 2-D array with at least two columns, got shape "
                        f"{a.shape}")
    if a.shape[0] == 0:
        raise DataError(f"{path}: the array has no rows")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise DataError(f"{path}: expected a real numeric array, got dtype {a.dtype}")
    try:
        t = int(target)
    except ValueError:
        raise DataError(f"{path}: a .npy file has no column names; --target must be a column "
                        f"index (e.g. -1 for the last), got {target!r}") from None
    d = a.shape[1]
    if not -d <= t < d:
        raise DataError(f"{path}: --target {t} is out of range for {d} columns")
    t %= d
    a = a.astype(np.float64)
    feats = [j for j in range(d) if j != t]
    names = tuple(f"x{j}" for j in feats)
    X, y = np.ascontiguousarray(a[:, feats]), a[:, t].copy()
    _check_finite(path, X, y, names)
    return Table(X, y, names, f"column {t}", path)


def _load_npz(path: str, target: str) -> Table:
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: unreadable .npz file ({exc})") from None
    with z:
        keys = list(z.keys())
        if "X" not in keys:
            raise DataError(f"{path}: a .npz file needs an array 'X' (features) and the target "
                            f"array named by --target; it has: {', '.join(keys) or 'nothing'}")
        if target not in keys:
            raise DataError(f"{path}: no array named {target!r} for the target; arrays are: "
                            + ", ".join(keys))
        X, y = z["X"], z[target]
        names = tuple(str(s) for s in z["feature_names"]) if "feature_names" in keys else None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: 'X' must be a non-empty 2-D array, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: {target!r} must be 1-D with one value per row of X "
                        f"({X.shape[0]}), got shape {y.shape}")
    for name, a in (("X", X), (target, y)):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise DataError(f"{path}: {name!r} must be real numeric, got dtype {a.dtype}")
    if names is None or len(names) != X.shape[1]:
        names = tuple(f"x{j}" for j in range(X.shape[1]))
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).copy()
    _check_finite(path, X, y, names)
    return Table(X, y, names, target, path)


def load_table(path: str | os.PathLike, target: str) -> Table:
    """Load features and target from a CSV (header row), .npy or .npz file.

    CSV: the column named ``target`` is the target, every other column a feature; cells
    must be numbers (missing values such as ``""`` or ``NA`` are errors naming the column
    and the row).  .npy: a 2-D array, ``target`` a column index.  .npz: arrays ``X`` and
    ``target`` (and optionally ``feature_names``).

    Raises
    ------
    DataError
        With a one-line message for every problem with the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        return _load_npy(path, target)
    if ext == ".npz":
        return _load_npz(path, target)
    try:
        return _load_csv(path, target)
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None


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
