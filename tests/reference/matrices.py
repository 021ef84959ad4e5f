"""Symmetric test matrices with a prescribed spectrum, for the tests and the benchmarks.

Only numpy and scipy: no lrcore import, so the benchmark scripts (``benchmarks/``) can use
it too -- they put this repository's ``tests/`` directory on ``sys.path``.

- :func:`householder`: :math:`Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top` with :math:`Q` a product of
  random Householder reflections: O(n^2) per reflection, dense entries, exactly the
  spectrum asked for (to rounding), exactly symmetric;
- :func:`spectrum_matrix`: the same with a random orthogonal :math:`Q` (QR of a Gaussian
  matrix) for small n, Householder reflections for large n;
- :func:`gap_spectrum`: :math:`\\lambda_1 = 1`, :math:`\\lambda_2` = ``ratio``, the rest
  uniform below (the gap is what governs Lanczos and power iteration);
- :func:`sparse_symmetric`: a random symmetric CSR matrix with normal entries;
- :func:`random_spectrum_matrix`: :func:`spectrum_matrix` of a random size, scale and
  (definite or indefinite) spectrum, for the randomized bound tests.
"""
import numpy as np
import scipy.sparse as sp

#: spectrum_matrix uses a QR-orthogonal Q up to this size, Householder reflections above
QR_MAX_N = 200


def orthogonal(n, seed):
    """A random orthogonal matrix (Haar: QR of a Gaussian matrix with the signs of R's
    diagonal moved into Q)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def householder(lam, seed=0, reflections=4):
    """Q diag(lam) Q^T, float64, Q a product of ``reflections`` random Householder
    reflections I - 2 u u^T; each costs O(n^2): (I - 2uu^T) A (I - 2uu^T) =
    A - 2 u (Au)^T - 2 (Au) u^T + 4 (u^T A u) u u^T, updated in place."""
    lam = np.asarray(lam, dtype=np.float64)
    n = len(lam)
    a = np.diag(lam)
    rng = np.random.default_rng(seed)
    for _ in range(reflections):
        u = rng.standard_normal(n)
        u /= np.linalg.norm(u)
        au = a @ u
        a -= 2 * np.outer(u, au)
        a -= 2 * np.outer(au, u)
        a += 4 * (u @ au) * np.outer(u, u)
    return (a + a.T) / 2


def spectrum_matrix(lam, seed=0, dtype=np.float64):
    """Q diag(lam) Q^T; Q a random orthogonal matrix (QR) for small n, a product of four
    random Householder reflections for large n (O(n^2), same spectrum, dense entries)."""
    lam = np.asarray(lam, dtype=np.float64)
    n = len(lam)
    if n <= QR_MAX_N:
        q = orthogonal(n, seed)
        a = (q * lam) @ q.T
        a = (a + a.T) / 2
    else:
        a = householder(lam, seed)
    return a.astype(dtype)


def gap_spectrum(n, ratio):
    """lambda_1 = 1, lambda_2 = ratio, the rest spread uniformly in [0, ratio)."""
    return np.concatenate([[1.0, ratio], np.linspace(ratio, 0.0, n - 1)[1:]])


def sparse_symmetric(n, nnz_half, seed=0):
    """S + S^T in CSR, S with ``nnz_half`` standard-normal entries at uniformly random
    positions (duplicates summed)."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, nnz_half), rng.integers(0, n, nnz_half)
    S = sp.coo_matrix((rng.standard_normal(nnz_half), (i, j)), shape=(n, n))
    S = (S + S.T).tocsr()
    S.sum_duplicates()
    return S


def random_spectrum_matrix(rng, low, high, seed, nonnegative):
    """``(A, eigenvalues)``: :func:`spectrum_matrix` (seeded ``seed``) of ``n`` normal values
    times a scale uniform in [0.1, 10), their absolute values when ``nonnegative``; ``n``
    uniform in [low, high).  Draws ``n``, the values and the scale from ``rng``, in that
    order; the eigenvalues are numpy's ``eigvalsh`` of ``A``, ascending."""
    n = int(rng.integers(low, high))
    lam = rng.standard_normal(n) * rng.uniform(0.1, 10)
    if nonnegative:
        lam = np.abs(lam)
    A = spectrum_matrix(lam, seed=seed)
    return A, np.linalg.eigvalsh(A)
