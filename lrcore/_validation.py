"""Argument checks for every public function of lrcore, and the one table of optimizer methods.

Every check returns the value converted to the plain Python type the caller uses, or
raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, bad value) with
a message that starts with the argument's name and says what was expected.  Nothing here
touches the caller's data: array checks copy or return views they own.

Python ints too large for C (``2**70``) and floats that overflow (``10**400``) are a
``ValueError`` naming the argument, never a bare ``OverflowError`` from a conversion.

The methods table
-----------------
``METHODS`` lists the optimizers of :func:`lrcore.stability.descend`,
:func:`lrcore.rates.safe_lr`, :func:`lrcore.search.range_test` and the command line, with
their integer codes in the C core (``LRC_METHOD_*`` in ``lrcore.h``); the codes are
checked against the compiled module when this module is imported, like the status codes.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcore import _core

__all__ = [
    "INT64_MAX",
    "METHODS",
    "METHOD_CODES",
    "MOMENTUM_METHODS",
    "real",
    "finite",
    "nonneg",
    "positive",
    "unit_interval",
    "not_nan",
    "point",
    "updatable_array",
    "compressed_indices",
    "private_csr",
    "integer",
    "choice",
    "flag",
    "sequence",
    "rate_sequence",
    "finite_data",
    "optimizer_method",
]

INT64_MAX = 2**63 - 1

#: Optimizer methods, in the order of their C codes (``LRC_METHOD_*``).
METHODS: tuple[str, ...] = ("gd", "heavy_ball", "nesterov", "adam")
METHOD_CODES: Mapping[str, int] = {m: i for i, m in enumerate(METHODS)}
#: Methods whose ``momentum`` must be > 0 (with 0 they are plain gradient descent).
MOMENTUM_METHODS: tuple[str, ...] = ("heavy_ball", "nesterov")
#: Deprecated spellings of ``range_test(optimizer=...)``: (method, momentum).
LEGACY_OPTIMIZERS: Mapping[str, tuple[str, float]] = {
    "sgd": ("gd", 0.0), "gd": ("gd", 0.0), "momentum": ("heavy_ball", 0.9),
    "heavy_ball": ("heavy_ball", 0.9), "nesterov": ("nesterov", 0.9), "adam": ("adam", 0.9)}


def _check_c_codes() -> None:
    c = _core.METHOD_CODES
    if dict(c) != dict(METHOD_CODES):
        raise ImportError(f"lrcore._core and lrcore._validation disagree on the optimizer "
                          f"method codes: {dict(c)} vs {dict(METHOD_CODES)}")


_check_c_codes()


# ----------------------------------------------------------------------------------------
# scalars
# ----------------------------------------------------------------------------------------

def _is_bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_))


def real(v: Any, name: str) -> float:
    """``v`` as a float: a real scalar (not bool, str, None or an array of more than zero
    dimensions); may be NaN or infinite."""
    if _is_bool(v) or isinstance(v, (str, bytes, complex)) or v is None or \
            (isinstance(v, np.ndarray) and v.ndim > 0) or \
            not (isinstance(v, numbers.Real) or hasattr(v, "__float__")):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    try:
        return float(v)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number, got an integer of "
                         f"{int(v).bit_length()} bits (too large for a float)") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}") from None


def finite(v: Any, name: str) -> float:
    """A finite real number."""
    f = real(v, name)
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {f!r}")
    return f


def nonneg(v: Any, name: str) -> float:
    """A finite real number >= 0 (``-0.0`` becomes ``0.0``)."""
    f = real(v, name)
    if not (math.isfinite(f) and f >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {f!r}")
    return f + 0.0


def positive(v: Any, name: str) -> float:
    """A finite real number > 0."""
    f = real(v, name)
    if not (math.isfinite(f) and f > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {f!r}")
    return f


def unit_interval(v: Any, name: str, *, lo_open: bool = False, hi_open: bool = True) -> float:
    """A real number in [0, 1) (the ends open or closed as asked)."""
    f = real(v, name)
    ok = (0.0 < f if lo_open else 0.0 <= f) and (f < 1.0 if hi_open else f <= 1.0)
    if not ok:
        raise ValueError(f"{name} must be in {'(' if lo_open else '['}0, 1"
                         f"{')' if hi_open else ']'}, got {f!r}")
    return f + 0.0


def not_nan(v: Any, name: str) -> float:
    """A real number that is not NaN (infinities allowed)."""
    f = real(v, name)
    if math.isnan(f):
        raise ValueError(f"{name} must not be NaN")
    return f


def integer(v: Any, name: str, lo: int | None = None, hi: int | None = INT64_MAX, *,
            what: str = "an integer") -> int:
    """An exact integer (bool and float refused) in ``[lo, hi]`` (default: fits int64)."""
    if _is_bool(v) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be {what}, got {type(v).__name__}")
    i = int(v)
    below, above = lo is not None and i < lo, hi is not None and i > hi
    if below or above:
        if hi is None or (hi == INT64_MAX and below):
            msg = f">= {lo}"
        elif hi == INT64_MAX:
            msg = "at most 2**63 - 1 (it is passed to C as a 64-bit integer)"
        elif lo is None:
            msg = f"<= {hi}"
        else:
            msg = f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {msg}, got {i}")
    return i


def choice(v: Any, name: str, options: Sequence[str]) -> str:
    """One of ``options`` (strings)."""
    if not isinstance(v, str) or v not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {v!r}")
    return v


def flag(v: Any, name: str) -> bool:
    """``True`` or ``False`` (numpy booleans accepted, ints refused)."""
    if not _is_bool(v):
        raise TypeError(f"{name} must be True or False, got {type(v).__name__}")
    return bool(v)


def sequence(v: Any, name: str) -> list[Any]:
    """A list from a sequence or 1-D array (strings and mappings refused)."""
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence, got {type(v).__name__}")
    return list(v.tolist() if isinstance(v, np.ndarray) else v)


def rate_sequence(v: Any, name: str = "lrs") -> list[float]:
    """A non-empty sequence of learning rates, each finite and > 0."""
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of learning rates")
    try:
        seq = list(np.asarray(v, dtype=object).ravel()) if isinstance(v, np.ndarray) \
            else list(v)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of learning rates, got "
                        f"{type(v).__name__}") from None
    if not seq:
        raise ValueError(f"{name} is empty")
    return [positive(x, f"{name}[{i}]") for i, x in enumerate(seq)]


# ----------------------------------------------------------------------------------------
# arrays
# ----------------------------------------------------------------------------------------

def finite_data(a: Any, name: str, ndim: int) -> NDArray[np.float64]:
    """A private, read-only float64 C-contiguous copy of real, finite data of ``ndim`` dims."""
    if hasattr(a, "toarray") and hasattr(a, "nnz"):
        raise TypeError(f"{name} must be a dense array (scipy.sparse is not supported by the "
                        f"built-in problems; pass {name}.toarray())")
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} has a non-finite value at index {idx if ndim > 1 else idx[0]}")
    arr.setflags(write=False)
    return arr


def updatable_array(p: Any, name: str) -> NDArray[Any]:
    """A float32/float64 ndarray that can be updated in place: C-contiguous, aligned, in
    native byte order and writeable (a copy would silently lose the update).

    ``p`` is a numpy array (returned as is) or anything the update kernels take without a
    copy -- a CPU torch tensor, a CPU DLPack object, a buffer -- returned as a numpy view
    of its memory (:func:`lrcore._core.float_view`)."""
    # float_view checks it all (dtype, contiguity, alignment, byte order, writability)
    return _core.float_view(p, name, writable=True)


def point(x: Any, dim: int, name: str = "x") -> NDArray[np.float64]:
    """A float64 C-contiguous vector of shape ``(dim,)`` with finite entries (may be a view
    of ``x`` when no conversion is needed: callers that modify it copy first)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    return arr


# ----------------------------------------------------------------------------------------
# optimizer methods
# ----------------------------------------------------------------------------------------

def optimizer_method(method: Any, momentum: Any = None, *,
                     momentum_required: bool = True) -> tuple[str, float]:
    """Validate an optimizer ``method`` of :data:`METHODS` and its ``momentum``.

    ``momentum=None`` means the method's default: 0.9 for Adam (its ``beta1``), 0 for the
    others.  ``momentum`` must be in [0, 1); ``"gd"`` takes none; with
    ``momentum_required`` the momentum methods need ``momentum > 0`` (with 0 they are
    gradient descent, which is almost certainly not what was meant).
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if momentum is None:
        momentum = 0.9 if method == "adam" else 0.0
    b = unit_interval(momentum, "momentum")
    if method == "gd" and b != 0.0:
        raise ValueError("method='gd' takes no momentum (use 'heavy_ball' or 'nesterov')")
    if momentum_required and method in MOMENTUM_METHODS and b == 0.0:
        raise ValueError(f"method={method!r} needs momentum > 0")
    return method, b


def legacy_optimizer(optimizer: Any, method: Any, momentum: Any,
                     where: str) -> tuple[Any, Any]:
    """Translate the deprecated ``optimizer=`` spelling of ``where`` into (method, momentum),
    with a DeprecationWarning; ``optimizer=None`` returns (method, momentum) unchanged."""
    if optimizer is None:
        return method, momentum
    if optimizer not in LEGACY_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(LEGACY_OPTIMIZERS)}, got "
                         f"{optimizer!r} (deprecated: use method= and momentum=)")
    m, b = LEGACY_OPTIMIZERS[optimizer]
    warnings.warn(f"{where}(optimizer={optimizer!r}) is deprecated; use method={m!r}"
                  + (f", momentum={b}" if b else "") + " (the vocabulary of safe_lr and descend)",
                  DeprecationWarning, stacklevel=3)
    if method is not None and method != m:
        raise ValueError(f"pass method= or the deprecated optimizer=, not both "
                         f"(method={method!r}, optimizer={optimizer!r})")
    return m, (b if momentum is None else momentum)


# ----------------------------------------------------------------------------------------
# sparse matrices: private, validated CSR copies
# ----------------------------------------------------------------------------------------

def compressed_indices(indptr: NDArray[Any], indices: NDArray[Any], nmajor: int,
                       nminor: int, name: str) -> int:
    """Validate compressed-sparse index arrays (the caller's copies) before any scipy
    routine, which trusts them, runs on them; returns the number of stored entries."""
    if indptr.ndim != 1 or indices.ndim != 1 or indptr.dtype.kind not in "iu" or \
            indices.dtype.kind not in "iu":
        raise ValueError(f"{name} is not a valid sparse matrix: indptr and indices must be "
                         "1-D integer arrays")
    if indptr.shape[0] != nmajor + 1:
        raise ValueError(f"{name} is not a valid sparse matrix: indptr has "
                         f"{indptr.shape[0]} entries, expected {nmajor + 1}")
    if indptr[0] != 0 or bool(np.any(indptr[1:] < indptr[:-1])):
        raise ValueError(f"{name} is not a valid sparse matrix: indptr must start at 0 and "
                         "never decrease")
    nnz = int(indptr[-1])
    if nnz > indices.shape[0]:
        raise ValueError(f"{name} is not a valid sparse matrix: indptr[-1] = {nnz} but "
                         f"indices has {indices.shape[0]} entries")
    if nnz and (int(indices[:nnz].min()) < 0 or int(indices[:nnz].max()) >= nminor):
        raise ValueError(f"{name} has column indices outside [0, {nminor})")
    return nnz


def private_csr(A: Any, name: str, *, symmetric: bool = False
                ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """``(indptr, indices, data)`` of the CSR form of the scipy.sparse matrix ``A``, as
    private copies taken *first* and validated afterwards (another thread may write the
    caller's arrays at any time, and scipy's compiled routines trust index arrays), with
    int32 indices when both index arrays are int32 (else int64), float32/float64 data and
    canonical rows (sorted, duplicates summed; explicit zeros kept).

    ``symmetric=True``: ``A`` is known to be symmetric, so a CSC matrix's arrays are used
    as they are (they are the CSR arrays of the transpose, ``A`` itself).
    """
    import scipy.sparse as sp

    n, d = (int(k) for k in A.shape)
    fmt = getattr(A, "format", None)
    if fmt in ("csr", "csc", "bsr"):
        indptr = np.array(A.indptr, copy=True)
        indices = np.array(A.indices, copy=True)
        data = np.array(A.data, copy=True)
        if fmt == "bsr":
            r, c = A.blocksize
            if n % r or d % c or data.ndim != 3 or data.shape[1:] != (r, c):
                raise ValueError(f"{name} is not a valid BSR matrix (blocksize {A.blocksize})")
            nnz = compressed_indices(indptr, indices, n // r, d // c, name)
            if data.shape[0] < nnz:
                raise ValueError(f"{name} is not a valid sparse matrix: data has fewer blocks "
                                 "than indptr[-1]")
            M = sp.bsr_array((data[:nnz], indices[:nnz], indptr), shape=(n, d)).tocsr()
            indptr, indices, data = M.indptr, M.indices, M.data
            fmt = "csr"
        major, minor = (n, d) if fmt == "csr" else (d, n)
        nnz = compressed_indices(indptr, indices, major, minor, name)
        if data.ndim != 1 or data.shape[0] < nnz:
            raise ValueError(f"{name} is not a valid sparse matrix: data has fewer entries "
                             "than indptr[-1]")
        indices, data = indices[:nnz], data[:nnz]
        if fmt == "csc" and not symmetric:
            M = sp.csc_array((data, indices, indptr), shape=(n, d), copy=False).tocsr()
            indptr, indices, data = M.indptr, M.indices, M.data
    elif fmt == "coo":
        coords = getattr(A, "coords", None)
        row = np.array(A.row if coords is None else coords[0], copy=True)
        col = np.array(A.col if coords is None else coords[1], copy=True)
        vals = np.array(A.data, copy=True)
        if row.ndim != 1 or row.shape != col.shape or row.shape != vals.shape or \
                (row.size and (row.min() < 0 or row.max() >= n or col.min() < 0 or
                               col.max() >= d)):
            raise ValueError(f"{name} has coordinates outside [0, {n}) x [0, {d})")
        M = sp.coo_array((vals, (row, col)), shape=(n, d)).tocsr()
        indptr, indices, data = M.indptr, M.indices, M.data
    else:                                  # dia, lil, dok: Python-level formats
        M = A.tocsr()
        indptr = np.array(M.indptr, copy=True)
        indices = np.array(M.indices, copy=True)
        data = np.array(M.data, copy=True)
        nnz = compressed_indices(indptr, indices, n, d, name)
        indices, data = indices[:nnz], data[:nnz]
    itype = np.int32 if (indptr.dtype == np.int32 and indices.dtype == np.int32) else np.int64
    indptr, indices = indptr.astype(itype, copy=False), indices.astype(itype, copy=False)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    own = sp.csr_array((data, indices, indptr), shape=(n, d), copy=False)
    if not own.has_canonical_format:
        own.sum_duplicates()               # sorts rows too; on the private copies
        indptr, indices, data = own.indptr, own.indices, own.data
    return (np.ascontiguousarray(indptr), np.ascontiguousarray(indices),
            np.ascontiguousarray(data))
