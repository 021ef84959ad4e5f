"""Loading a user's data file: CSV, .npy, .npz (dense or scipy.sparse) and svmlight/libsvm.

:func:`load_file` returns the same triple as the shipped-data loaders
(:func:`lrcore.datasets.load_diabetes`): features ``X``, target ``y`` and the feature
names.  The text formats are parsed in C (``csrc/parse.c``, through the binding module):
one pass over the bytes of the file, numbers converted with correct rounding.  Every
problem with a file is a :class:`DataError` (a :class:`ValueError`) whose message is one
line naming the file and, for text files, the line and the column.
"""
from __future__ import annotations

import collections
import csv
import io
import math
import operator
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TypeAlias, overload

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lrcore import _core

__all__ = ["DataError", "FORMATS", "FeatureNames", "FileData", "data_line", "detect_format",
           "load_file"]

#: the formats :func:`load_file` reads (its ``format=`` argument)
FORMATS = ("csv", "npy", "npz", "svmlight")

#: ``(X, y, feature_names)``: X is a float64 ndarray (CSV, .npy, dense .npz) or a
#: ``scipy.sparse.csr_array`` (svmlight, sparse .npz) -- typed ``Any`` because scipy
#: ships no type information; the names are a tuple (names from the file) or a
#: :class:`FeatureNames` (generated ``x<k>`` names).
FileData: TypeAlias = tuple[Any, NDArray[np.float64], Sequence[str]]

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv",
    ".npy": "npy", ".npz": "npz",
    ".svm": "svmlight", ".svmlight": "svmlight", ".libsvm": "svmlight",
}
_BOM = b"\xef\xbb\xbf"
_HEAD = 1 << 16                       # bytes read to detect a format or find a CSV header
_INT32_MAX = 2**31 - 1
_ST = _core.PARSE_STATUS
_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PAIR = re.compile(r"(\d+|qid):\S+")


class DataError(ValueError):
    """A data file that cannot be used as given (message: one line, for the user)."""


class FeatureNames(Sequence[str]):
    """The names ``x<k>`` of columns numbered as in the file, made on demand.

    A read-only sequence of str (an svmlight file may have millions of columns, so the
    names are not stored): column ``j`` is named ``x<j + offset>``, skipping the number
    ``skip`` (the column a target was taken from).  Compares equal to a tuple or list of
    the same names; ``tuple(names)`` gives a plain tuple.

    Examples
    --------
    >>> names = FeatureNames(4, offset=1)
    >>> len(names), names[0], names[-1], "x3" in names, names.index("x3")
    (4, 'x1', 'x4', True, 2)
    >>> FeatureNames(3, skip=1) == ("x0", "x2", "x3")
    True
    """

    __slots__ = ("_n", "_offset", "_skip")

    def __init__(self, n: int, offset: int = 0, skip: int | None = None) -> None:
        if n < 0 or offset < 0 or (skip is not None and skip < 0):
            raise ValueError("n, offset and skip must be >= 0")
        self._n = n
        self._offset = offset
        self._skip = skip

    def __len__(self) -> int:
        return self._n

    def _name(self, j: int) -> str:
        k = j + self._offset
        if self._skip is not None and k >= self._skip:
            k += 1
        return f"x{k}"

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, slice):
            return tuple(self._name(j) for j in range(*i.indices(self._n)))
        j = operator.index(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError(f"feature index {i} out of range for {self._n} names")
        return self._name(j)

    def __iter__(self) -> Iterator[str]:
        return (self._name(j) for j in range(self._n))

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        j = self._position(value)
        lo, hi, _ = slice(start, stop).indices(self._n)
        if j is None or not lo <= j < hi:
            raise ValueError(f"{value!r} is not in the feature names")
        return j

    def _position(self, value: Any) -> int | None:
        if not (isinstance(value, str) and value[:1] == "x" and value[1:].isdigit()
                and value[1:] == str(int(value[1:]))):
            return None
        k = int(value[1:])
        if self._skip is not None:
            if k == self._skip:
                return None
            if k > self._skip:
                k -= 1
        j = k - self._offset
        return j if 0 <= j < self._n else None

    def __contains__(self, value: object) -> bool:
        return self._position(value) is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FeatureNames):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        if self._n <= 6:
            return f"FeatureNames({list(self)!r})"
        return (f"FeatureNames(['{self[0]}', '{self[1]}', ..., '{self[-1]}'], "
                f"{self._n} names)")


# ----------------------------------------------------------------------------------------
# the entry point
# ----------------------------------------------------------------------------------------

def load_file(
    path: str | os.PathLike[str],
    *,
    target: str | int | None = None,
    format: str | None = None,
    zero_based: bool | Literal["auto"] = "auto",
    n_features: int | None = None,
) -> FileData:
    """Load features, target and feature names from a data file.

    ==============  ==========================  ===========================================
    format          X                           target
    ==============  ==========================  ===========================================
    ``"csv"``       float64 ndarray             the column named `target` (required)
    ``"npy"``       float64 ndarray             column index `target` (required)
    ``"npz"``       float64 ndarray             arrays ``X`` and `target` (default ``"y"``)
    ``"npz"``       ``csr_array`` (sparse)      column index `target` (required)
    ``"svmlight"``  ``csr_array``               the label of each line (`target` None)
    ==============  ==========================  ===========================================

    **CSV**: a header row of column names, then one row of numbers per line.  The
    delimiter (``,``, ``;`` or tab) is detected from the first lines; a UTF-8 byte order
    mark, CRLF line ends, blanks around fields and quoted fields (``"1.5"``) are accepted;
    lines holding only blanks are skipped.  Numbers are decimal literals (``-1.5e-3``;
    no ``inf``, hexadecimal or digit separators), correctly rounded.  A missing value
    (an empty field, ``NA``, ``nan``, ``N/A``, ``null``, ``none`` or ``?``), any other
    non-number, a row with the wrong number of fields or a number beyond the float64
    range is an error naming the column and the row, where "row N" is the line number
    in the file (the header is usually row 1).  `target` may also be a column index.

    **.npy**: a 2-D real array; `target` is a column index (an int or a numeric string,
    e.g. ``-1`` for the last column) and the other columns are the features, named
    ``x<j>`` after their column in the file.

    **.npz**, two kinds, told apart by their arrays:

    - dense: an array ``X`` (n x d) and the target array named by `target` (``"y"`` when
      `target` is None), optionally ``feature_names``;
    - sparse, as written by ``scipy.sparse.save_npz`` (any of its formats): one matrix
      holding the features *and* the target.  `target` is the column index of the target
      (as for .npy): that column becomes the dense ``y`` and is removed from ``X``; the
      features are named ``x<j>`` after their column in the matrix.  (``save_npz`` stores
      one matrix only, so the target travels as one of its columns: for instance
      ``save_npz(f, scipy.sparse.hstack([X, y[:, None]]).tocsr())`` and ``target=-1``.)

    **svmlight / libsvm** text: one sample per line,
    ``<label> [qid:<int>] <index>:<value> ... [# comment]``.  The label is the target
    (leave `target` None; ``"label"`` is accepted too).  ``#`` starts a comment running to
    the end of the line; ``qid`` is accepted right after the label and ignored; blank and
    comment-only lines are skipped; a line with a label and no pairs is a sample of zeros
    (an empty row).  Indices must be strictly increasing within a line (as scikit-learn
    requires).  Explicit zeros (``3:0``) are kept as stored entries.  Indices are 1-based
    unless an index 0 appears in the file (``zero_based="auto"``, scikit-learn's rule);
    ``zero_based=True``/``False`` fixes the convention (False makes an index 0 an error).
    Column j of ``X`` is the file's feature index ``j`` (0-based files) or ``j + 1``
    (1-based files) and is named ``x<file index>``; ``X`` has as many columns as the
    largest index needs, or `n_features` when given (for train/test files that must agree).
    Errors name the line: ``"data.svm line 7: the value in '3:abc' is not a number"``.

    Parameters
    ----------
    path : str or path-like
        The file.
    target : str or int, optional
        The target, as described above.
    format : {"csv", "npy", "npz", "svmlight"}, optional
        Overrides detection.  Without it the extension decides (``.csv``, ``.tsv``,
        ``.tab``: CSV; ``.npy``; ``.npz``; ``.svm``, ``.svmlight``, ``.libsvm``:
        svmlight) and, for any other extension (``.txt``, ``.dat``, none), the content:
        numpy's magic bytes, a zip archive (.npz), lines of the svmlight pattern, else CSV.
    zero_based : bool or "auto", default "auto"
        svmlight only: whether feature indices start at 0 (see above).
    n_features : int, optional
        svmlight only: the number of columns of ``X`` (at least what the file needs).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous, or scipy.sparse.csr_array
        The features.  Sparse results have sorted, unique (canonical) indices; indices
        and indptr are int32 when the matrix fits, else int64.
    y : ndarray of shape (n_samples,), float64
        The target.
    feature_names : sequence of str
        One name per column of ``X``: a tuple of the names in the file (CSV header, a
        dense .npz's ``feature_names``), else a :class:`FeatureNames` of ``x<k>`` names
        numbered as the file numbers its columns (made on demand: an svmlight file may
        have millions of columns).

    Raises
    ------
    DataError
        (a ValueError) For every problem with the file: missing, unreadable, not of the
        format, malformed (the message names the line and column), non-finite values.
    ValueError
        For a bad `format`, `zero_based` or `n_features` argument.

    Examples
    --------
    >>> import os, tempfile
    >>> from lrcore.datasets import load_file
    >>> folder = tempfile.mkdtemp()
    >>> csv_path = os.path.join(folder, "data.csv")
    >>> with open(csv_path, "w") as f:
    ...     _ = f.write("a,b,y\\n1,2.5,0\\n3,-4e-1,1\\n")
    >>> X, y, names = load_file(csv_path, target="y")
    >>> X.tolist(), y.tolist(), names
    ([[1.0, 2.5], [3.0, -0.4]], [0.0, 1.0], ('a', 'b'))
    >>> svm_path = os.path.join(folder, "data.svm")
    >>> with open(svm_path, "w") as f:
    ...     _ = f.write("1 1:0.5 3:2  # first\\n-1 2:1.5\\n")
    >>> X, y, names = load_file(svm_path)
    >>> X.toarray().tolist(), y.tolist(), list(names)
    ([[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]], [1.0, -1.0], ['x1', 'x2', 'x3'])
    >>> with open(csv_path, "w") as f:
    ...     _ = f.write("a,b,y\\n1,2,0\\n3,abc,1\\n")
    >>> load_file(csv_path, target="y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    lrcore.datasets._files.DataError: ...data.csv: non-numeric value 'abc' in column 'b', row 3
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (or None to detect "
                         f"it), got {format!r}")
    if not (zero_based is True or zero_based is False or zero_based == "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    if n_features is not None:
        if isinstance(n_features, bool):
            raise ValueError(f"n_features must be an integer >= 0, got {n_features!r}")
        try:
            n_features = operator.index(n_features)
        except TypeError:
            raise ValueError(f"n_features must be an integer >= 0, got "
                             f"{n_features!r}") from None
        if n_features < 0:
            raise ValueError(f"n_features must be an integer >= 0, got {n_features}")
    name = _check_path(path)
    fmt = format if format is not None else detect_format(name)
    if fmt != "svmlight" and (zero_based != "auto" or n_features is not None):
        raise ValueError(f"zero_based and n_features apply to svmlight files only; "
                         f"{name} is read as {fmt}")
    if fmt == "npy":
        return _load_npy(name, target)
    if fmt == "npz":
        return _load_npz(name, target)
    data = _read(name)
    if fmt == "svmlight":
        return _load_svmlight(name, data, target, zero_based, n_features)
    return _load_csv(name, data, target)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`load_file` reads ``path`` as when ``format=None``.

    By extension (see :func:`load_file`); for other extensions by content: ``"npy"`` for
    numpy's magic bytes, ``"npz"`` for a zip archive, ``"svmlight"`` when the first lines
    follow ``<number> [<index>:<value> ...]`` with at least one pair, else ``"csv"``.
    """
    name = _check_path(path)
    ext = os.path.splitext(name)[1].lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    try:
        with open(name, "rb") as f:
            head = f.read(_HEAD)
            whole = not f.read(1)
    except OSError as exc:
        raise _os_error(name, exc) from None
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if _looks_like_svmlight(head, whole):
        return "svmlight"
    return "csv"


def data_line(path: str | os.PathLike[str], i: int) -> int | None:
    """The 1-based line of a CSV or svmlight file that holds data row ``i`` (0-based, as
    :func:`load_file` returns the rows), or None for the binary formats and for an ``i``
    past the end.

    For messages about a row found after loading (a label out of range): the loaders
    skip the header, blank lines and svmlight comments, so the row index alone does not
    say where to look.  Reads the file again; meant for errors, not for loops.
    """
    name = _check_path(path)
    fmt = detect_format(name)
    if fmt not in ("csv", "svmlight") or i < 0:
        return None
    data = _read(name)
    if fmt == "csv":
        start = len(_BOM) if data.startswith(_BOM) else 0
        delim, _, offset, line = _csv_header(name, data, start)
        blank = b" \r\v\f" if delim == "\t" else b" \t\r\v\f"
    else:
        offset, line, blank = 0, 1, b" \t\r\v\f"
    k = -1
    for raw in data[offset:].split(b"\n"):
        body = raw.split(b"#", 1)[0] if fmt == "svmlight" else raw
        if body.strip(blank):
            k += 1
            if k == i:
                return line
        line += 1
    return None


# ----------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------

def _check_path(path: str | os.PathLike[str]) -> str:
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") \
            from None
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not os.path.exists(name):
        raise DataError(f"{name}: no such file")
    if os.path.isdir(name):
        raise DataError(f"{name}: is a directory, not a data file")
    return name


def _os_error(name: str, exc: OSError) -> DataError:
    if isinstance(exc, PermissionError):
        return DataError(f"{name}: permission denied")
    return DataError(f"{name}: cannot read the file ({exc.strerror or exc})")


def _read(name: str) -> bytes:
    try:
        with open(name, "rb") as f:
            return f.read()
    except OSError as exc:
        raise _os_error(name, exc) from None


def _token(data: bytes, start: int, end: int) -> str:
    """The bytes data[start:end] as text for a message (shortened when long)."""
    text = data[start:min(end, start + 200)].decode("utf-8", "replace")
    return text if len(text) <= 40 and end - start <= 200 else text[:37] + "..."


def _index_dtype(*sizes: int) -> type[np.signedinteger[Any]]:
    """int32 when every size fits (scipy's rule for CSR indices and indptr), else int64."""
    return np.int32 if max(sizes, default=0) <= _INT32_MAX else np.int64


def _column_index(name: str, target: str | int | None, d: int, what: str) -> int:
    """``target`` as a column index in [0, d) for .npy and sparse .npz files."""
    if target is None:
        raise DataError(f"{name}: {what} has no column names; pass target= the column "
                        f"index of the target (e.g. -1 for the last)")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer, str)):
        raise DataError(f"{name}: target must be a column index (e.g. -1 for the last), "
                        f"got {target!r}")
    try:
        t = int(target)
    except ValueError:
        raise DataError(f"{name}: {what} has no column names; target must be a column "
                        f"index (e.g. -1 for the last), got {target!r}") from None
    if not -d <= t < d:
        raise DataError(f"{name}: target {t} is out of range for {d} columns")
    return t % d


def _real_dtype(dtype: np.dtype[Any]) -> bool:
    return bool(np.issubdtype(dtype, np.number)) and not np.issubdtype(dtype, np.complexfloating)


def _check_finite(name: str, X: NDArray[np.float64], y: NDArray[np.float64],
                  names: Sequence[str]) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{name}: non-finite value in column {names[j]!r}, row {i}")
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        raise DataError(f"{name}: non-finite target value at row {int(np.argmax(bad_y))}")


# ----------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------

def _float(cell: str) -> float | None:
    """None for a missing value, nan for a non-number, else the number."""
    s = cell.strip()
    if s.lower() in _MISSING:
        return None
    try:
        return float(s)
    except ValueError:
        return math.nan


def _nonblank_rows(text: str, delim: str, limit: int) -> tuple[list[list[str]], int]:
    """Up to ``limit`` non-blank rows of ``text`` and the physical lines they took."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, skipinitialspace=True)
    rows: list[list[str]] = []
    for row in reader:
        if any(c.strip() for c in row):
            rows.append(row)
            if len(rows) == limit:
                break
    return rows, reader.line_num


def _sniff(text: str) -> str:
    """``,``, ``;`` or tab: the delimiter giving the same number (>= 2) of fields on the
    first 20 rows, the most fields if several do, else the most fields on the header."""
    best: tuple[tuple[bool, int], str] | None = None
    for d in (",", ";", "\t"):
        try:
            rows, _ = _nonblank_rows(text, d, 20)
        except csv.Error:
            continue
        if not rows:
            continue
        counts = {len(r) for r in rows}
        score = (len(counts) == 1 and len(rows[0]) >= 2, len(rows[0]))
        if best is None or score > best[0]:
            best = (score, d)
    return "," if best is None else best[1]


def _csv_header(name: str, data: bytes, start: int) -> tuple[str, list[str], int, int]:
    """(delimiter, header names, byte offset of the first data line, its line number)."""
    size = _HEAD
    while True:
        end = min(len(data), start + size)
        if end < len(data):
            nl = data.find(b"\n", end)
            end = len(data) if nl < 0 else nl + 1
        try:
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{name}: not a text CSV file (could not decode it as "
                            "UTF-8)") from None
        try:
            delim = _sniff(text)
            rows, lines = _nonblank_rows(text, delim, 1)
        except csv.Error as exc:
            raise DataError(f"{name}: unreadable CSV ({exc})") from None
        if rows or end == len(data):
            break
        size *= 4
    if not rows:
        raise DataError(f"{name}: the file is empty")
    stream = io.StringIO(text, newline="")
    consumed = "".join(stream.readline() for _ in range(lines))
    return delim, [h.strip() for h in rows[0]], start + len(consumed.encode("utf-8")), lines + 1


def _load_csv(name: str, data: bytes, target: str | int | None) -> FileData:
    start = len(_BOM) if data.startswith(_BOM) else 0
    if data.find(b"\x00", start) >= 0:
        raise DataError(f"{name}: not a text CSV file (it contains NUL bytes)")
    delim, header, offset, first_line = _csv_header(name, data, start)
    d = len(header)
    if d < 2:
        raise DataError(f"{name}: need a header row with at least two columns (features and "
                        f"the target), found {d} column(s)")
    dup = sorted(h for h, c in collections.Counter(header).items() if c > 1)
    if dup:
        raise DataError(f"{name}: duplicate column name(s) in the header: {', '.join(dup)}")
    if all(v is not None and not math.isnan(v) for v in map(_float, header)):
        raise DataError(f"{name}: the first row looks like data, not a header row of "
                        "column names")
    if target is None:
        raise DataError(f"{name}: a CSV file needs target= the name of the target column; "
                        "columns are: " + ", ".join(header))
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -d <= target < d:
            raise DataError(f"{name}: target {target} is out of range for {d} columns")
        t = int(target) % d
    elif isinstance(target, str) and target in header:
        t = header.index(target)
    else:
        raise DataError(f"{name}: no column named {target!r}; columns are: "
                        + ", ".join(header))
    colmap = np.array([-1 if j == t else j - (j > t) for j in range(d)], dtype=np.int64)
    capacity = _core.parse_count_lines(data, offset) + 1
    X = np.empty((capacity, d - 1))
    y = np.empty(capacity)
    status, rows, err = _core.parse_csv(data, offset, first_line, delim, colmap, X, y)
    if status != _ST["OK"]:
        raise _csv_error(name, data, status, err, header)
    if rows == 0:
        raise DataError(f"{name}: the file has a header but no data rows")
    if rows < capacity:
        X.resize((rows, d - 1), refcheck=False)     # shrinks in place (no copy)
        y.resize(rows, refcheck=False)
    return X, y, tuple(header[j] for j in range(d) if j != t)


def _csv_error(name: str, data: bytes, status: int,
               err: tuple[int, int, int, int, int, int], header: list[str]) -> Exception:
    line, field, start, end, a, b = err
    col = repr(header[field]) if 0 <= field < len(header) else f"#{field + 1}"
    tok = _token(data, start, end)
    if status == _ST["EMISSING"]:
        return DataError(f"{name}: missing value in column {col}, row {line}")
    if status == _ST["ENUMBER"]:
        return DataError(f"{name}: non-numeric value {tok!r} in column {col}, row {line}")
    if status == _ST["ERANGE"]:
        return DataError(f"{name}: value {tok!r} in column {col}, row {line} is beyond the "
                         "float64 range")
    if status == _ST["EFIELDS"]:
        return DataError(f"{name}: row {line} has {a} fields, the header has {b}")
    if status == _ST["EQUOTE"]:
        return DataError(f"{name}: row {line}: unterminated quoted field in column {col}")
    if status == _ST["EAFTERQUOTE"]:
        return DataError(f"{name}: row {line}: text {tok!r} after the closing quote in "
                         f"column {col}")
    return RuntimeError(f"{name}: internal error in the CSV parser (status {status}, "
                        f"row {line})")


# ----------------------------------------------------------------------------------------
# .npy and .npz
# ----------------------------------------------------------------------------------------

def _load_npy(name: str, target: str | int | None) -> FileData:
    try:
        a = np.load(name, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, PermissionError):
            raise DataError(f"{name}: permission denied") from None
        raise DataError(f"{name}: unreadable .npy file ({exc})") from None
    if not isinstance(a, np.ndarray):
        raise DataError(f"{name}: not a .npy file (it holds several arrays: an .npz "
                        "archive?)")
    if a.ndim != 2 or a.shape[1] < 2:
        raise DataError(f"{name}: expected a 2-D array with at least two columns, got shape "
                        f"{a.shape}")
    if a.shape[0] == 0:
        raise DataError(f"{name}: the array has no rows")
    if not _real_dtype(a.dtype):
        raise DataError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    d = a.shape[1]
    t = _column_index(name, target, d, "a .npy file")
    feats = [j for j in range(d) if j != t]
    names = FeatureNames(d - 1, skip=t)
    X = np.ascontiguousarray(a[:, feats], dtype=np.float64)
    y = np.ascontiguousarray(a[:, t], dtype=np.float64)
    _check_finite(name, X, y, names)
    return X, y, names


def _load_npz(name: str, target: str | int | None) -> FileData:
    try:
        z = np.load(name, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, PermissionError):
            raise DataError(f"{name}: permission denied") from None
        raise DataError(f"{name}: unreadable .npz file ({exc})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataError(f"{name}: not a .npz archive (a single array: use a .npy name or "
                        "format='npy')")
    with z:
        keys = list(z.keys())
        sparse = "X" not in keys and {"format", "shape"} <= set(keys)
        if not sparse:
            return _load_dense_npz(name, z, keys, "y" if target is None else target)
    return _load_sparse_npz(name, target)


def _load_dense_npz(name: str, z: Any, keys: list[str], target: str | int) -> FileData:
    if "X" not in keys:
        raise DataError(f"{name}: a .npz file needs an array 'X' (features) and the target "
                        f"array named by target (default 'y'), or a matrix written by "
                        f"scipy.sparse.save_npz; it has: {', '.join(keys) or 'nothing'}")
    if not isinstance(target, str) or target not in keys:
        raise DataError(f"{name}: no array named {target!r} for the target; arrays are: "
                        + ", ".join(keys))
    try:
        X, y = z["X"], z[target]
        raw_names = z["feature_names"] if "feature_names" in keys else None
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{name}: unreadable .npz file ({exc})") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{name}: 'X' must be a non-empty 2-D array, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{name}: {target!r} must be 1-D with one value per row of X "
                        f"({X.shape[0]}), got shape {y.shape}")
    for what, a in (("X", X), (target, y)):
        if not _real_dtype(a.dtype):
            raise DataError(f"{name}: {what!r} must be real numeric, got dtype {a.dtype}")
    names: Sequence[str] | None = None
    if raw_names is not None:
        if raw_names.ndim != 1 or len(raw_names) != X.shape[1]:
            raise DataError(f"{name}: 'feature_names' must be 1-D with one name per column "
                            f"of X ({X.shape[1]}), got shape {raw_names.shape}")
        names = tuple(str(s) for s in raw_names)
    if names is None:
        names = FeatureNames(X.shape[1])
    Xf = np.ascontiguousarray(X, dtype=np.float64)
    yf = np.array(y, dtype=np.float64)
    _check_finite(name, Xf, yf, names)
    return Xf, yf, names


def _load_sparse_npz(name: str, target: str | int | None) -> FileData:
    try:
        M = sp.load_npz(name)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{name}: unreadable sparse .npz file ({exc})") from None
    if len(M.shape) != 2:
        raise DataError(f"{name}: expected a 2-D sparse matrix, got shape {M.shape}")
    n, d = M.shape
    if d < 2:
        raise DataError(f"{name}: expected a sparse matrix with at least two columns "
                        f"(features and the target), got shape {M.shape}")
    if n == 0:
        raise DataError(f"{name}: the matrix has no rows")
    if not _real_dtype(M.dtype):
        raise DataError(f"{name}: expected a real numeric matrix, got dtype {M.dtype}")
    t = _column_index(name, target, d, "a sparse .npz file")
    M = sp.csr_array(M)
    M.sum_duplicates()                      # canonical: sorted unique indices per row
    indptr = np.asarray(M.indptr, dtype=np.int64)
    indices = np.asarray(M.indices, dtype=np.int64)
    data = np.asarray(M.data, dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        k = int(np.argmax(bad))
        i = int(np.searchsorted(indptr, k, side="right")) - 1
        j = int(indices[k])
        what = "target value" if j == t else f"value in column 'x{j}',"
        raise DataError(f"{name}: non-finite {what} row {i}")
    rows = np.repeat(np.arange(n), np.diff(indptr))
    is_t = indices == t
    y = np.zeros(n)
    y[rows[is_t]] = data[is_t]
    keep = ~is_t
    counts = np.diff(indptr) - np.bincount(rows[is_t], minlength=n)
    nnz = int(keep.sum())
    idx = _index_dtype(nnz, n, d - 1)
    new_indptr = np.zeros(n + 1, dtype=idx)
    np.cumsum(counts, out=new_indptr[1:])
    new_indices = indices[keep]
    new_indices -= new_indices > t
    X = sp.csr_array((data[keep], new_indices.astype(idx), new_indptr), shape=(n, d - 1),
                     copy=False)
    X.has_canonical_format = True
    return X, y, FeatureNames(d - 1, skip=t)


# ----------------------------------------------------------------------------------------
# svmlight / libsvm
# ----------------------------------------------------------------------------------------

def _looks_like_svmlight(head: bytes, whole: bool) -> bool:
    """Do the first (up to 20) data lines of ``head`` read ``<number> [<i>:<v> ...]``,
    with at least one pair?"""
    text = head.removeprefix(_BOM).decode("utf-8", "replace")
    lines = text.splitlines()
    if not whole and lines:
        lines = lines[:-1]                  # possibly cut in the middle
    pairs = seen = 0
    for line in lines:
        toks = line.split("#", 1)[0].split()
        if not toks:
            continue
        if not _NUMBER.fullmatch(toks[0]) or not all(_PAIR.fullmatch(t) for t in toks[1:]):
            return False
        pairs += sum(not t.startswith("qid:") for t in toks[1:])
        seen += 1
        if seen == 20:
            break
    return pairs > 0


def _load_svmlight(name: str, data: bytes, target: str | int | None,
                   zero_based: bool | Literal["auto"], n_features: int | None) -> FileData:
    if target is not None and target != "label":
        raise DataError(f"{name}: in an svmlight file the target is the label that starts "
                        f"each line; leave target=None (got {target!r})")
    start = len(_BOM) if data.startswith(_BOM) else 0
    status, info, err = _core.parse_svmlight_scan(data, start, zero_based)
    if status != _ST["OK"]:
        raise _svm_error(name, data, status, err, zero_based)
    n_rows, nnz, max_index, min_index, _ = info
    if n_rows == 0:
        raise DataError(f"{name}: the file has no data lines")
    if zero_based == "auto":
        zero_based = nnz > 0 and min_index == 0
    offset = 0 if zero_based else 1
    needed = max_index + 1 - offset if nnz else 0
    if n_features is None:
        n_features = needed
    elif n_features < needed:
        raise DataError(f"{name}: n_features={n_features} is too small: the file has "
                        f"feature index {max_index} ({'0' if zero_based else '1'}-based), "
                        f"so it needs {needed} columns")
    idx = _index_dtype(nnz, n_rows, n_features)
    y = np.empty(n_rows)
    indptr = np.empty(n_rows + 1, dtype=idx)
    indices = np.empty(nnz, dtype=idx)
    values = np.empty(nnz)
    status, err = _core.parse_svmlight_fill(data, start, zero_based, offset, n_features,
                                            y, indptr, indices, values)
    if status != _ST["OK"]:
        raise _svm_error(name, data, status, err, zero_based)
    X = sp.csr_array((values, indices, indptr), shape=(n_rows, n_features), copy=False)
    X.has_canonical_format = True
    return X, y, FeatureNames(n_features, offset=offset)


def _svm_error(name: str, data: bytes, status: int,
               err: tuple[int, int, int, int, int, int],
               zero_based: bool | Literal["auto"]) -> Exception:
    line, field, start, end, a, b = err
    tok = _token(data, start, end)
    where = f"{name} line {line}:"
    if status == _ST["ELABEL"]:
        if a:
            return DataError(f"{where} a line must start with a label (a number), found "
                             f"{tok!r}")
        multi = ""
        if "," in tok and all(_NUMBER.fullmatch(t) for t in tok.split(",")):
            multi = " (multi-label files are not supported)"
        return DataError(f"{where} the label {tok!r} is not a number{multi}")
    if status == _ST["ERANGE"]:
        what = f"the label {tok!r}" if field == 0 else f"the value in {tok!r}"
        return DataError(f"{where} {what} is beyond the float64 range")
    if status == _ST["EVALUE"]:
        return DataError(f"{where} the value in {tok!r} is not a number")
    if status == _ST["EPAIR"]:
        return DataError(f"{where} {tok!r} is not an index:value pair")
    if status == _ST["EINDEX"]:
        return DataError(f"{where} bad feature index in {tok!r} (a non-negative integer "
                         f"up to {_core.PARSE_SVM_MAX_INDEX} is needed)")
    if status == _ST["EORDER"]:
        if a == b:
            return DataError(f"{where} feature index {b} appears twice ({tok!r})")
        return DataError(f"{where} feature indices must be strictly increasing: {b} "
                         f"follows {a} ({tok!r})")
    if status == _ST["EQID"]:
        if a:
            return DataError(f"{where} qid must come right after the label ({tok!r})")
        return DataError(f"{where} bad qid {tok!r} (an integer is needed)")
    if status == _ST["EZERO"]:
        return DataError(f"{where} feature index 0 in {tok!r}, but the file is read as "
                         f"1-based (zero_based={zero_based!r})")
    return RuntimeError(f"{name}: internal error in the svmlight parser (status {status}, "
                        f"line {line})")
