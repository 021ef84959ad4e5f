"""Sparse design matrices in LeastSquares, Logistic and Softmax: the CSR kernels against the
dense kernels and the numpy twins on the same data (to 1e-12), both index widths, every
scipy.sparse format, hard structure (empty rows and columns, explicit zeros, unsorted and
duplicate entries), the threaded path, curvature and its certificate, the C descend loop,
bad input and immutability."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from reference import problems as ref

from lrcore import _core
from lrcore.problems import LeastSquares, Logistic, Softmax
from lrcore.search import range_test
from lrcore.stability import check_stability, descend

KINDS = {"lsq": LeastSquares, "logistic": Logistic, "softmax": Softmax}


def targets(kind, n, rng, K=4):
    if kind == "lsq":
        return rng.normal(size=n)
    if kind == "logistic":
        return (rng.random(n) < 0.4).astype(float)
    y = rng.integers(0, K, size=n)
    y[:K] = np.arange(K)                    # every class present
    return y


def hard_dense(rng, n=40, d=12, density=0.3):
    """A dense matrix with empty rows and columns (rows 0 and 7, columns 3 and d-1)."""
    A = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    A[[0, 7]] = 0.0
    A[:, [3, d - 1]] = 0.0
    return A


def with_index_width(M, width):
    """The same CSR matrix with int32 or int64 index arrays (scipy keeps what it is given)."""
    it = np.int32 if width == 32 else np.int64
    M = sp.csr_array(M)
    out = sp.csr_array((M.data.copy(), M.indices.astype(it), M.indptr.astype(it)),
                       shape=M.shape)
    assert out.indices.dtype == it and out.indptr.dtype == it
    return out


def messy_csr(A, rng, width=32):
    """A CSR matrix equal to A whose rows are stored unsorted, with explicit zeros and
    with some values split into two duplicate entries."""
    n, d = A.shape
    indptr, indices, data = [0], [], []
    for i in range(n):
        cols = list(np.flatnonzero(A[i]))
        vals = [A[i, j] for j in cols]
        # explicit zeros in two empty positions of the row
        zeros = [j for j in range(d) if A[i, j] == 0][:2]
        cols += zeros
        vals += [0.0] * len(zeros)
        # split the first value into two duplicates
        if cols and vals[0] != 0:
            a = vals[0]
            vals[0] = 0.25 * a
            cols.append(cols[0])
            vals.append(0.75 * a)
        order = rng.permutation(len(cols))
        indices += [cols[k] for k in order]
        data += [vals[k] for k in order]
        indptr.append(len(indices))
    it = np.int32 if width == 32 else np.int64
    M = sp.csr_array((np.array(data), np.array(indices, dtype=it), np.array(indptr, dtype=it)),
                     shape=(n, d))
    assert not M.has_canonical_format
    return M


def close(a, b, rel=1e-12):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    assert float(np.max(np.abs(a - b))) <= rel * scale, (a, b)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [32, 64])
@pytest.mark.parametrize("layout", ["clean", "messy"])
def test_sparse_equals_dense(kind, width, layout):
    rng = np.random.default_rng(1)
    A = hard_dense(rng)
    y = targets(kind, A.shape[0], rng)
    X = with_index_width(A, width) if layout == "clean" else messy_csr(A, rng, width)
    assert_allclose(X.toarray(), A, rtol=0, atol=1e-15)
    for l2 in (0.0, 0.3):
        dense = KINDS[kind](A, y, l2=l2)
        sparse = KINDS[kind](X, y, l2=l2)
        assert sparse.sparse and not dense.sparse and sparse.dim == dense.dim
        assert sparse.X.indices.dtype == (np.int32 if width == 32 else np.int64)
        assert sparse.c_problem.design == (1 if width == 32 else 2)
        assert sparse.X.has_canonical_format
        for k in range(3):
            w = rng.normal(size=dense.dim) * (0.5 if k < 2 else 5.0)
            v = rng.normal(size=dense.dim)
            f1, g1 = dense.value_and_grad(w)
            f2, g2 = sparse.value_and_grad(w)
            assert f2 == pytest.approx(f1, rel=1e-12, abs=1e-300)
            assert sparse.value(w) == pytest.approx(f1, rel=1e-12)
            close(g2, g1)
            close(sparse.hvp(w, v), dense.hvp(w, v))
            # and against the twins
            assert f2 == pytest.approx(ref.value(dense, w), rel=1e-12)
            close(g2, ref.grad(dense, w), rel=1e-11)
            close(sparse.hvp(w, v), ref.hvp(dense, w, v), rel=1e-11)
        u = rng.normal(size=dense.n_features)
        close(sparse.c_problem.gram(u), dense.c_problem.gram(u))
        close(sparse.c_problem.gram(u), A.T @ (A @ u) / A.shape[0])
        assert sparse.smoothness() == pytest.approx(dense.smoothness(), rel=1e-9)
        assert sparse.strong_convexity() == pytest.approx(dense.strong_convexity(), rel=1e-8,
                                                          abs=1e-12)
        w = rng.normal(size=dense.dim) * 0.3
        assert sparse.local_smoothness(w) == pytest.approx(dense.local_smoothness(w), rel=1e-8)
        _, t1 = sparse._hessian_facts(w)
        _, t2 = dense._hessian_facts(w)
        assert t1 == pytest.approx(t2, rel=1e-12)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "dia", "bsr"])
def test_every_scipy_format_is_accepted(fmt):
    rng = np.random.default_rng(2)
    A = hard_dense(rng, n=30, d=8)
    y = targets("logistic", 30, rng)
    M = sp.csr_matrix(A).asformat(fmt)
    p, q = Logistic(M, y), Logistic(A, y)
    w = rng.normal(size=8)
    assert p.sparse and p.X.format == "csr"
    close(p.grad(w), q.grad(w))
    arr = sp.csr_array(A).asformat(fmt)              # sparse arrays as well as matrices
    close(Logistic(arr, y).grad(w), q.grad(w))


def test_integer_and_float32_data_are_converted_once():
    rng = np.random.default_rng(3)
    A = (rng.random((20, 6)) < 0.3) * rng.integers(1, 5, size=(20, 6))
    y = rng.normal(size=20)
    for dt in (np.int64, np.float32, np.int8):
        p = LeastSquares(sp.csr_array(A.astype(dt)), y)
        assert p.X.data.dtype == np.float64
        w = rng.normal(size=6)
        close(p.grad(w), LeastSquares(A.astype(float), y).grad(w))


def test_all_empty_and_single_row_matrices():
    y = np.array([1.0, 0.0, 1.0])
    p = Logistic(sp.csr_array((3, 4)), y)            # no stored entry at all
    f, g = p.value_and_grad(np.ones(4))
    assert f == pytest.approx(np.log(2.0)) and np.all(g == 0)
    assert np.all(p.hvp(np.ones(4), np.ones(4)) == 0)
    q = LeastSquares(sp.csr_array(np.array([[0.0, 2.0, 0.0]])), np.array([1.0]))
    assert q.smoothness() == pytest.approx(4.0)
    assert q.value(np.array([0.0, 1.0, 0.0])) == pytest.approx(0.5)


def big_csr(n, d, nnz, seed, width=32):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, size=nnz)
    cols = rng.integers(0, d, size=nnz)       # duplicates possible: summed
    M = sp.csr_array((rng.normal(size=nnz), (rows, cols)), shape=(n, d))
    return with_index_width(M, width), rng


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [32, 64])
def test_threaded_path_matches_serial_and_is_reproducible(kind, width):
    # large enough for the OpenMP team (LRC_OMP_MIN_N = 131072 entries)
    X, rng = big_csr(30_000, 300, 300_000, 4, width)
    K = 3 if kind == "softmax" else 0
    y = targets(kind, X.shape[0], rng, K=3)
    ckind = {"lsq": 1, "logistic": 2, "softmax": 3}[kind]
    csr = (X.indptr, X.indices, X.data)
    serial = _core.CProblem(ckind, y=y, l2=0.1, csr=csr, n_features=300, n_classes=K,
                            nthreads=1)
    team = _core.CProblem(ckind, y=y, l2=0.1, csr=csr, n_features=300, n_classes=K,
                          nthreads=2)
    w = rng.normal(size=serial.dim) * 0.1
    v = rng.normal(size=serial.dim)
    f1, g1 = serial.value_and_grad(w)
    f2, g2 = team.value_and_grad(w)
    assert f2 == pytest.approx(f1, rel=1e-12)
    close(g2, g1)
    close(team.hvp(w, v), serial.hvp(w, v))
    u = rng.normal(size=300)
    close(team.gram(u), serial.gram(u))
    close(team.gram(u), X.T @ (X @ u) / X.shape[0])
    # a given thread count gives the same bits every time
    for _ in range(3):
        f3, g3 = team.value_and_grad(w)
        assert f3 == f2 and np.array_equal(g3, g2)
    # and the problem API (default threads) agrees with the dense twin
    p = KINDS[kind](X, y, l2=0.1)
    close(p.grad(w), ref.grad(p, w), rel=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_descend_and_search_on_sparse_run_in_c_and_match_dense(kind):
    rng = np.random.default_rng(5)
    A = hard_dense(rng, n=60, d=10, density=0.4)
    y = targets(kind, 60, rng, K=3)
    dense, sparse = KINDS[kind](A, y, l2=0.01), KINDS[kind](sp.csr_array(A), y, l2=0.01)
    lr = 1.0 / dense.smoothness()
    a = descend(dense, dense.default_x0(), lr, steps=200, method="heavy_ball", momentum=0.5)
    b = descend(sparse, sparse.default_x0(), lr, steps=200, method="heavy_ball", momentum=0.5)
    close(b.x, a.x, rel=1e-10)
    close(b.losses, a.losses, rel=1e-10)
    assert check_stability(sparse, lr, steps=500).status == "converged"
    rt = range_test(sparse, start=1e-4 * lr, end=50 * lr, num=40)
    assert np.isfinite(rt.suggestion())


def test_smoothness_is_certified_on_the_implicit_operator():
    X, rng = big_csr(2000, 700, 20_000, 6)
    y = targets("lsq", 2000, rng)
    p = LeastSquares(X, y, l2=0.01)
    ev = np.linalg.eigvalsh((X.T @ X).toarray() / 2000)
    c = p.curvature()
    assert c.value == pytest.approx(ev[-1] + 0.01, rel=1e-6)
    assert c.upper_bound >= ev[-1] + 0.01
    assert c.bound in ("deterministic", "probabilistic")
    q = Logistic(X, (y > 0).astype(float))
    assert q.smoothness() == pytest.approx(ev[-1] / 4, rel=1e-6)
    # the Hessian at a point carries its trace: safe_lr is certified there
    from lrcore.rates import safe_lr
    w = rng.normal(size=700) * 0.05
    r = safe_lr(q, x=w)
    assert r.L_upper >= q.local_smoothness(w) * (1 - 1e-9)
    assert r.bound == "deterministic" or r.bound == "probabilistic"


def test_tiny_entries_are_scaled_like_dense():
    rng = np.random.default_rng(7)
    A = hard_dense(rng, n=30, d=6) * 2.0 ** -120
    y = targets("lsq", 30, rng)
    assert LeastSquares(sp.csr_array(A), y).smoothness() == \
        pytest.approx(LeastSquares(A, y).smoothness(), rel=1e-9)


def test_bad_sparse_input():
    y = np.ones(3)
    with pytest.raises(ValueError, match=r"X has a non-finite value at index \(1, 2\)"):
        LeastSquares(sp.csr_array(np.array([[1.0, 0, 0], [0, 0, np.nan], [0, 1, 0]])), y)
    with pytest.raises(ValueError, match="y has 2 values but X has 3 rows"):
        LeastSquares(sp.eye_array(3, format="csr"), np.ones(2))
    with pytest.raises(TypeError, match="real numbers"):
        LeastSquares(sp.csr_array(np.eye(3, dtype=complex)), y)
    # corrupted index arrays are caught before any compiled routine reads them
    M = sp.eye_array(3, format="csr")
    M.indices = M.indices.copy()
    M.indices[1] = 7
    with pytest.raises(ValueError, match="indices outside"):
        LeastSquares(M, y)
    M = sp.eye_array(3, format="csr")
    M.indptr = np.array([0, 2, 1, 3], dtype=M.indptr.dtype)
    with pytest.raises(ValueError, match="never decrease"):
        LeastSquares(M, y)
    M = sp.eye_array(3, format="csc")
    M.indices = M.indices.copy()
    M.indices[0] = -1
    with pytest.raises(ValueError, match="indices outside"):
        LeastSquares(M, y)
    # the binding checks the CSR arrays itself (its callers are not trusted)
    ip, ix, dv = np.array([0, 1, 2]), np.array([0, 5]), np.ones(2)
    with pytest.raises(ValueError, match="column indices outside"):
        _core.CProblem(1, y=np.ones(2), csr=(ip, ix, dv), n_features=3)
    with pytest.raises(ValueError, match="start at 0"):
        _core.CProblem(1, y=np.ones(2), csr=(np.array([1, 1, 2]), ix, dv), n_features=9)
    with pytest.raises(ValueError, match="indptr.-1. = 5"):
        _core.CProblem(1, y=np.ones(2), csr=(np.array([0, 1, 5]), ix, dv), n_features=9)
    with pytest.raises(ValueError, match="pass X or csr"):
        _core.CProblem(1, X=np.ones((2, 2)), y=np.ones(2), csr=(ip, ix, dv), n_features=9)
    with pytest.raises(ValueError, match="class labels 0..2"):
        _core.CProblem(3, X=np.ones((2, 2)), y=np.array([0.0, 3.0]), n_classes=3)


def test_sparse_data_are_copied_and_read_only():
    rng = np.random.default_rng(8)
    A = hard_dense(rng, n=20, d=5)
    M = sp.csr_array(A)
    y = targets("logistic", 20, rng)
    p = Logistic(M, y)
    w = rng.normal(size=5)
    f0 = p.value(w)
    M.data[:] = 100.0
    assert p.value(w) == f0
    with pytest.raises(ValueError):
        p.X.data[0] = 5.0
    q = pickle.loads(pickle.dumps(p))
    assert q.sparse and q.value(w) == f0
    assert np.array_equal(q.grad(w), p.grad(w))
    assert "sparse nnz=" in repr(p)
