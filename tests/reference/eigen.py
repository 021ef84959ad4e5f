"""Plain-numpy twins of the eigen kernels' building blocks (csrc/eigen.c): the
one-triangle symmetric mat-vec, the CSR mat-vec and the symmetric-matrix statistics
(trace, squared Frobenius norm, Gershgorin interval).  Results in float64.

The solvers themselves (Lanczos, power iteration) are checked against LAPACK/ARPACK
(numpy.linalg.eigvalsh, scipy.sparse.linalg.eigsh) in the tests, not twinned here; the
test matrices are in :mod:`reference.matrices`.
"""
import numpy as np


def symmetric_from_lower(a):
    """The symmetric matrix whose lower triangle (diagonal included) is that of ``a``; the
    strict upper triangle of ``a`` is never read.  Same dtype as ``a``."""
    return np.tril(a) + np.tril(a, -1).T


def symv_lower(a, x):
    """y = A x with A the symmetric matrix stored in the lower triangle of ``a``."""
    return symmetric_from_lower(a).astype(np.float64) @ x


def csrmv(indptr, indices, data, n, x):
    """y = A x for an n x n CSR matrix (indptr, indices, data): y_i = sum_k data_k x_{indices_k}
    over row i's entries k, summed in storage order."""
    rows = np.repeat(np.arange(n), np.diff(np.asarray(indptr, dtype=np.int64)))
    prod = np.asarray(data, dtype=np.float64) * np.asarray(x, dtype=np.float64)[indices]
    return np.bincount(rows, weights=prod, minlength=n)


def symstats(a):
    """(trace, ||A||_F^2, max_i (a_ii + r_i), min_i (a_ii - r_i)) of the symmetric matrix
    stored in the lower triangle of ``a``, r_i = sum_{j != i} |a_ij| (the Gershgorin disc
    radii: every eigenvalue lies in [min, max])."""
    sym = symmetric_from_lower(a).astype(np.float64)
    off = np.abs(sym).sum(axis=1) - np.abs(np.diag(sym))
    return (np.trace(sym), np.sum(sym * sym), np.max(np.diag(sym) + off),
            np.min(np.diag(sym) - off))
