"""Tests of lrcore.curvature (top_eigenvalue, hvp_operator) and the eigen C kernels.

References: numpy.linalg.eigvalsh / eigh on explicit matrices, scipy.sparse.linalg.eigsh
on sparse ones, closed forms for diagonal and rank-one matrices; the kernels' numpy twins in
reference/eigen.py, the test matrices (prescribed spectra) from reference/matrices.py.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator, eigsh

import lrcore
from lrcore import _core
from lrcore.curvature import EigResult, hvp_operator, top_eigenvalue
from reference import eigen as ref_eigen
from reference import problems as ref_problems
from reference.matrices import gap_spectrum, random_spectrum_matrix, spectrum_matrix

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

RNG = np.random.default_rng(12345)


def true_residual(A, r):
    v = r.vector
    return np.linalg.norm(np.asarray(A, dtype=np.float64) @ v - r.value * v)


@pytest.fixture(autouse=True)
def _threads():
    yield
    lrcore.set_num_threads(0)


# ---------------------------------------------------------------------------------------
# C kernels
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 33, 130, 700])
@pytest.mark.parametrize("threads", [1, 2])
def test_symv_reads_lower_triangle_only(dtype, n, threads):
    lrcore.set_num_threads(threads)
    a = RNG.standard_normal((n, n)).astype(dtype)
    sym = ref_eigen.symmetric_from_lower(a)
    garbage = np.tril(a) + np.triu(np.full((n, n), np.nan, dtype=dtype), 1)
    x = RNG.standard_normal(n)
    want = ref_eigen.symv_lower(a, x)
    tol = 1e-12 * (1 + np.abs(sym).sum())
    np.testing.assert_allclose(_core._symv(garbage, x), want, rtol=0, atol=tol)
    # Fortran order: the lower triangle of the logical matrix is read as well
    np.testing.assert_allclose(_core._symv(np.asfortranarray(garbage), x), want, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_symv_blas_kernel_agrees(dtype):
    n = 300
    a = spectrum_matrix(RNG.standard_normal(n), dtype=dtype)
    x = RNG.standard_normal(n)
    tol = (1e-12 if dtype == np.float64 else 1e-4) * np.abs(a).sum()
    np.testing.assert_allclose(_core._symv(a, x, kernel="blas"), a.astype(float) @ x, atol=tol)


def test_symv_multithreaded_large():
    lrcore.set_num_threads(2)
    n = 1100  # above the OpenMP threshold (n^2/2 elements)
    a = spectrum_matrix(RNG.standard_normal(n))
    x = RNG.standard_normal(n)
    np.testing.assert_allclose(_core._symv(a, x), a @ x, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def random_csr():
    n, nnz = 3000, 180_000   # above the OpenMP threshold
    rng = np.random.default_rng(3)
    A = sp.csr_matrix((rng.standard_normal(nnz), (rng.integers(0, n, nnz),
                       rng.integers(0, n, nnz))), shape=(n, n))
    A.sum_duplicates()
    return A


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
@pytest.mark.parametrize("threads", [1, 2])
def test_csrmv_matches_scipy(random_csr, dtype, idx, threads):
    lrcore.set_num_threads(threads)
    A = random_csr.astype(dtype)
    x = RNG.standard_normal(3000)
    y = _core._csrmv(A.indptr.astype(idx), A.indices.astype(idx), A.data, 3000, x)
    np.testing.assert_allclose(y, A.astype(np.float64) @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ref_eigen.csrmv(A.indptr, A.indices, A.data, 3000, x),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_symstats_match_numpy(dtype):
    n = 157
    a = RNG.standard_normal((n, n)).astype(dtype)
    sym = ref_eigen.symmetric_from_lower(a).astype(np.float64)
    tr, fro2, hi, lo = _core.symstats(np.tril(a) + np.triu(np.full((n, n), 7, dtype=dtype), 1))
    want_tr, want_fro2, want_hi, want_lo = ref_eigen.symstats(a)
    assert tr == pytest.approx(want_tr, rel=1e-12)
    assert fro2 == pytest.approx(want_fro2, rel=1e-12)
    assert hi == pytest.approx(want_hi, rel=1e-12)
    assert lo == pytest.approx(want_lo, rel=1e-12)
    S = sp.csr_matrix(sym)
    assert np.allclose(_core.csrstats(S.indptr, S.indices, S.data, n), (tr, fro2, hi, lo))
    bad = sym.copy()
    bad[5, 2] = np.nan
    with pytest.raises(lrcore.NonFiniteError):
        _core.symstats(bad)


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_tridiagonal_ql_matches_eigh(n):
    d = RNG.standard_normal(n)
    e = RNG.standard_normal(max(n - 1, 0))
    T = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    w, V = _core.tridiag_eig(d, e)
    wr = np.linalg.eigvalsh(T)
    np.testing.assert_allclose(w, wr, atol=1e-13 * (1 + np.abs(wr).max()))
    np.testing.assert_allclose(T @ V, V * w, atol=1e-12 * (1 + np.abs(wr).max()))
    w1, z = _core.tridiag_eig(d, e, vectors=False)
    np.testing.assert_allclose(np.abs(z[0]), np.abs(V[-1]), atol=1e-12)


# ---------------------------------------------------------------------------------------
# accuracy against numpy on controlled spectra
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [0.5, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_controlled_gaps_match_eigvalsh(ratio, dtype, method):
    if method == "power" and ratio == 0.999:
        maxiter = 60000
    else:
        maxiter = None
    A = spectrum_matrix(gap_spectrum(120, ratio), seed=1, dtype=dtype)
    lam = np.linalg.eigvalsh(A.astype(np.float64))
    tol = 1e-6
    r = top_eigenvalue(A, method=method, tol=tol, seed=7, maxiter=maxiter)
    assert r.converged
    assert abs(r.value - lam[-1]) <= 10 * tol * abs(lam[-1])
    assert r.residual <= tol * abs(r.value) * (1 + 1e-6)
    assert true_residual(A, r) <= 2 * tol * abs(r.value)
    assert np.linalg.norm(r.vector) == pytest.approx(1.0, abs=1e-12)
    assert r.lower_bound <= lam[-1] + 1e-9 and lam[-1] <= r.upper_bound
    if method == "lanczos":
        # the Lanczos estimate is converged far beyond tol in the eigenvalue
        assert abs(r.value - lam[-1]) <= 1e-9


def test_lanczos_needs_far_fewer_matvecs_than_power():
    lam = gap_spectrum(3000, 0.99)
    op = sp.diags(lam).tocsr()
    lz = top_eigenvalue(op, seed=3)
    pw = top_eigenvalue(op, method="power", seed=3)
    assert lz.converged and pw.converged
    assert lz.n_matvec <= 100          # ~82 for an unrestarted Krylov space
    assert pw.n_matvec >= 5 * lz.n_matvec
    assert abs(lz.value - 1.0) < 1e-10


def test_no_more_matvecs_than_eigsh():
    lam = gap_spectrum(4000, 0.99)
    cnt = [0]

    def mv(x):
        cnt[0] += 1
        return lam * np.ravel(x)

    v0 = np.random.default_rng(0).standard_normal(4000)
    eigsh(LinearOperator((4000, 4000), matvec=mv, dtype=float), k=1, which="LA", tol=1e-6, v0=v0)
    ours = [top_eigenvalue(lambda x: lam * x, n=4000, seed=s).n_matvec for s in range(3)]
    assert max(ours) <= cnt[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_against_eigsh(dtype):
    n = 2000
    S = sp.random(n, n, density=3e-3, random_state=11, dtype=np.float64)
    S = (S + S.T).tocsr().astype(dtype)
    S64 = S.astype(np.float64)
    for which in ("LA", "SA", "LM"):
        ref = eigsh(S64, k=1, which=which, tol=1e-12, return_eigenvectors=False)[0]
        r = top_eigenvalue(S, which=which, seed=2, tol=1e-8)
        assert r.converged
        if which == "LM":
            assert abs(abs(r.value) - abs(ref)) <= 1e-9 * abs(ref)
        else:
            assert abs(r.value - ref) <= 1e-9 * abs(ref)
        assert r.lower_bound - 1e-9 <= (abs(ref) if which == "LM" else ref) <= r.upper_bound + 1e-9


# ---------------------------------------------------------------------------------------
# operator kinds
# ---------------------------------------------------------------------------------------

def _kinds(A):
    n = A.shape[0]
    yield "dense C", A
    yield "dense F", np.asfortranarray(A)
    yield "list", A.tolist()
    yield "csr", sp.csr_matrix(A)
    yield "csc", sp.csc_matrix(A)
    yield "coo", sp.coo_matrix(A)
    yield "csr_array int64", sp.csr_array((sp.csr_matrix(A).data,
                                           sp.csr_matrix(A).indices.astype(np.int64),
                                           sp.csr_matrix(A).indptr.astype(np.int64)), shape=A.shape)
    yield "LinearOperator", aslinearoperator(A)
    yield "LinearOperator f32", aslinearoperator(A.astype(np.float32))
    yield "callable", (lambda v: A @ v, n)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_every_operator_kind(method):
    A = spectrum_matrix(np.concatenate([[3.0, 1.5], RNG.uniform(-1, 1, 78)]), seed=4)
    ref = np.linalg.eigvalsh(A)[-1]
    for name, op in _kinds(A):
        kw = {}
        if isinstance(op, tuple):
            op, kw = op[0], {"n": op[1]}
        r = top_eigenvalue(op, method=method, seed=5, tol=1e-7, **kw)
        assert r.converged, name
        err = 1e-5 if "f32" in name else 1e-10
        assert abs(r.value - ref) <= err * abs(ref), name
        assert r.upper_bound >= ref - err, name


def test_callable_receives_float64_vectors_of_shape_n():
    seen = []

    def mv(v):
        seen.append((v.dtype, v.shape))
        return 2.0 * v

    r = top_eigenvalue(mv, n=6, seed=0)
    assert r.value == pytest.approx(2.0)
    assert set(seen) == {(np.dtype(np.float64), (6,))}


def test_float32_linear_operator_receives_float32():
    A = spectrum_matrix(np.linspace(0, 1, 30), dtype=np.float32)
    seen = set()

    def mv(v):
        seen.add(v.dtype)
        return A @ v

    r = top_eigenvalue(LinearOperator((30, 30), matvec=mv, dtype=np.float32), seed=0)
    assert seen == {np.dtype(np.float32)}
    assert r.value == pytest.approx(np.linalg.eigvalsh(A.astype(float))[-1], rel=1e-5)


def test_seed_makes_results_reproducible():
    A = spectrum_matrix(gap_spectrum(200, 0.9), seed=9)
    r1, r2 = top_eigenvalue(A, seed=42), top_eigenvalue(A, seed=42)
    assert r1.value == r2.value and r1.n_matvec == r2.n_matvec
    np.testing.assert_array_equal(r1.vector, r2.vector)
    r3 = top_eigenvalue(A, seed=np.random.default_rng(42))
    assert abs(r3.value - r1.value) < 1e-9


def test_threads_do_not_change_the_answer():
    A = spectrum_matrix(gap_spectrum(1500, 0.9), seed=9)
    lrcore.set_num_threads(1)
    r1 = top_eigenvalue(A, seed=1)
    lrcore.set_num_threads(2)
    r2 = top_eigenvalue(A, seed=1)
    assert abs(r1.value - r2.value) < 1e-12
    assert abs(r1.n_matvec - r2.n_matvec) <= 2


# ---------------------------------------------------------------------------------------
# hard cases
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_repeated_top_eigenvalue(method):
    A = spectrum_matrix(np.concatenate([[1.0] * 6, np.linspace(0.5, 0.0, 94)]), seed=2)
    r = top_eigenvalue(A, method=method, seed=1)
    assert r.converged and abs(r.value - 1.0) < 1e-9
    assert true_residual(A, r) <= 2e-6


def test_clustered_top_eigenvalues():
    lam = np.concatenate([[1.0, 1 - 1e-10, 1 - 2e-10], np.linspace(0.6, 0.0, 97)])
    A = spectrum_matrix(lam, seed=3)
    r = top_eigenvalue(A, seed=1)
    assert r.converged and abs(r.value - 1.0) < 1e-9


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_equal_magnitude_opposite_sign(method):
    lam = np.concatenate([[1.0, -1.0], np.linspace(0.7, -0.7, 98)])
    A = spectrum_matrix(lam, seed=4)
    la = top_eigenvalue(A, which="LA", method=method, seed=1)
    sa = top_eigenvalue(A, which="SA", method=method, seed=1)
    lm = top_eigenvalue(A, which="LM", method=method, seed=1)
    assert la.converged and sa.converged and lm.converged
    assert abs(la.value - 1.0) < 1e-9 and abs(sa.value + 1.0) < 1e-9
    assert abs(abs(lm.value) - 1.0) < 1e-9
    for r in (la, sa, lm):
        assert true_residual(A, r) <= 2e-6
    assert la.upper_bound >= 1.0 and sa.lower_bound <= -1.0 and lm.upper_bound >= 1.0


@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_zero_matrix(method, which):
    r = top_eigenvalue(np.zeros((7, 7)), which=which, method=method, seed=0)
    assert r.converged and r.value == 0.0 and r.residual == 0.0
    assert r.lower_bound <= 0.0 <= r.upper_bound


@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("a", [3.5, -2.0, 0.0])
def test_one_by_one(method, a):
    for which in ("LA", "SA", "LM"):
        r = top_eigenvalue(np.array([[a]]), which=which, method=method, seed=0)
        assert r.converged and r.value == a and r.n_matvec <= 2
        assert r.vector.shape == (1,) and abs(r.vector[0]) == 1.0


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_rank_one(method):
    u = RNG.standard_normal(90)
    A = np.outer(u, u)
    r = top_eigenvalue(A, method=method, seed=0)
    assert r.converged and r.value == pytest.approx(u @ u, rel=1e-12)
    assert abs(abs(r.vector @ u) / np.linalg.norm(u) - 1.0) < 1e-10
    assert top_eigenvalue(A, which="SA", seed=0).value == pytest.approx(0.0, abs=1e-10 * (u @ u))


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_negative_definite_largest_algebraic(method):
    A = spectrum_matrix(-np.linspace(1.0, 2.0, 60), seed=5)
    r = top_eigenvalue(A, method=method, seed=0, maxiter=100000)
    assert r.converged and abs(r.value + 1.0) < 1e-8
    assert r.upper_bound >= -1.0
    lm = top_eigenvalue(A, which="LM", method=method, seed=0, maxiter=100000)
    assert abs(abs(lm.value) - 2.0) < 1e-8


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_v0_orthogonal_to_top_eigenvector(method):
    lam = np.linspace(1.0, 0.0, 80)
    D = np.diag(lam)          # exact arithmetic would keep e_1 out of the Krylov space
    v0 = np.ones(80)
    v0[0] = 0.0
    r = top_eigenvalue(D, v0=v0, method=method, seed=0, maxiter=100000)
    assert r.converged and abs(r.value - 1.0) < 1e-8
    v0 = np.zeros(80)
    v0[1] = 1.0               # an eigenvector of the second eigenvalue
    r = top_eigenvalue(D, v0=v0, method=method, seed=0, maxiter=100000)
    assert r.converged and abs(r.value - 1.0) < 1e-8


def test_warm_start_saves_matvecs():
    A = spectrum_matrix(gap_spectrum(400, 0.99), seed=6)
    cold = top_eigenvalue(A, seed=0)
    warm = top_eigenvalue(A, v0=cold.vector, seed=1)
    assert warm.converged and warm.n_matvec < cold.n_matvec


def test_n_larger_than_maxiter_warns_and_reports():
    A = spectrum_matrix(gap_spectrum(300, 0.99), seed=6)
    with pytest.warns(lrcore.ConvergenceWarning, match="did not converge"):
        r = top_eigenvalue(A, maxiter=10, seed=0)
    assert not r.converged and r.n_matvec == 10
    lam = np.linalg.eigvalsh(A)[-1]
    assert r.value <= lam + 1e-12          # a Ritz value, below lambda_max
    assert r.upper_bound >= lam            # still a valid bound
    assert np.isfinite(r.value) and np.linalg.norm(r.vector) == pytest.approx(1.0)


def test_small_basis_with_many_restarts():
    A = spectrum_matrix(gap_spectrum(200, 0.99), seed=8)
    lam = np.linalg.eigvalsh(A)
    for which, ref in (("LA", lam[-1]), ("SA", lam[0])):
        for ncv in (3, 5, 8, 16):
            r = top_eigenvalue(A, which=which, ncv=ncv, seed=0, maxiter=50000)
            assert r.converged and abs(r.value - ref) < 1e-8, (which, ncv)


def test_nonsymmetric_operator_warns():
    A = RNG.standard_normal((50, 50))
    with pytest.warns(RuntimeWarning, match="symmetric"):
        top_eigenvalue(lambda v: A @ v, n=50, seed=0, maxiter=200)


# ---------------------------------------------------------------------------------------
# certified bounds
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_upper_bound_holds_on_random_spectra(seed, method):
    A, ref = random_spectrum_matrix(np.random.default_rng(seed), 5, 150, seed, seed % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        for which, target in (("LA", ref[-1]), ("SA", ref[0]), ("LM", np.abs(ref).max())):
            for kind in (A, aslinearoperator(A)):
                r = top_eigenvalue(kind, which=which, method=method, seed=seed, maxiter=20000)
                slack = 1e-9 * np.abs(ref).max()
                assert r.lower_bound - slack <= target <= r.upper_bound + slack, (which, r)
                assert r.bound in ("deterministic", "probabilistic")
                assert (r.failure_probability == 0.0) == (r.bound == "deterministic")


def test_bound_is_exact_when_the_basis_spans_the_space():
    from lrcore.curvature import _top_eigenvalue
    A = spectrum_matrix(RNG.standard_normal(20), seed=3)
    r = _top_eigenvalue(A, seed=0, ncv=32, certify=True)   # runs n = 20 steps
    assert r.bound == "deterministic"
    assert r.upper_bound - np.linalg.eigvalsh(A)[-1] < 1e-10


def test_probabilistic_bound_is_reasonably_tight_with_a_full_first_cycle():
    from lrcore.curvature import _top_eigenvalue
    lam = gap_spectrum(2000, 0.9)
    r = _top_eigenvalue(lambda v: lam * v, n=2000, seed=0, psd=True, certify=True)
    assert r.bound == "probabilistic" and r.failure_probability == pytest.approx(1e-3)
    assert 1.0 <= r.upper_bound <= 1.05


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    A = np.eye(4)
    with pytest.raises(ValueError, match="square"):
        top_eigenvalue(np.ones((3, 4)))
    with pytest.raises(ValueError, match="square"):
        top_eigenvalue(sp.csr_matrix(np.ones((3, 4))))
    with pytest.raises(ValueError, match="square"):
        top_eigenvalue(aslinearoperator(np.ones((3, 4))))
    with pytest.raises(ValueError, match="empty"):
        top_eigenvalue(np.zeros((0, 0)))
    bad = np.eye(4)
    bad[2, 1] = np.nan
    with pytest.raises(lrcore.NonFiniteError, match="NaN"):
        top_eigenvalue(bad)
    bad = np.eye(4)
    bad[3, 0] = np.inf
    with pytest.raises(ValueError):
        top_eigenvalue(bad)
    with pytest.raises(lrcore.NonFiniteError):
        top_eigenvalue(sp.csr_matrix(np.where(np.eye(4) > 0, np.nan, 0.0)))
    with pytest.raises(TypeError, match="complex"):
        top_eigenvalue(np.eye(3, dtype=complex))
    with pytest.raises(ValueError, match="shape"):
        top_eigenvalue(lambda v: np.ones(3), n=4)
    with pytest.raises(lrcore.NonFiniteError, match="NaN"):
        top_eigenvalue(lambda v: np.full(4, np.nan), n=4)
    with pytest.raises(TypeError, match="n="):
        top_eigenvalue(lambda v: v)
    with pytest.raises(TypeError):
        top_eigenvalue("not an operator")
    for tol in (0.0, -1e-3, np.nan, np.inf):
        with pytest.raises(ValueError, match="tol"):
            top_eigenvalue(A, tol=tol)
    with pytest.raises(ValueError, match="maxiter"):
        top_eigenvalue(A, maxiter=0)
    with pytest.raises(ValueError, match="which"):
        top_eigenvalue(A, which="BE")
    with pytest.raises(ValueError, match="method"):
        top_eigenvalue(A, method="arnoldi")
    with pytest.raises(ValueError, match="v0"):
        top_eigenvalue(A, v0=np.ones(3))
    with pytest.raises(ValueError, match="v0"):
        top_eigenvalue(A, v0=np.zeros(4))
    with pytest.raises(ValueError, match="v0"):
        top_eigenvalue(A, v0=np.array([1.0, np.nan, 0, 0]))
    with pytest.raises(ValueError, match="ncv"):
        top_eigenvalue(A, ncv=1)
    with pytest.raises(TypeError, match="seed"):
        top_eigenvalue(A, seed="x")


def test_upper_triangle_is_never_read():
    A = spectrum_matrix(np.linspace(-1, 2, 40), seed=2)
    G = np.tril(A) + np.triu(np.full_like(A, np.nan), 1)
    assert top_eigenvalue(G, seed=0).value == pytest.approx(2.0, rel=1e-12)


# ---------------------------------------------------------------------------------------
# property test
# ---------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 25), seed=st.integers(0, 10**6),
       which=st.sampled_from(["LA", "SA", "LM"]), f32=st.booleans())
def test_property_matches_eigvalsh(n, seed, which, f32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    A = (a + a.T).astype(np.float32 if f32 else np.float64)
    lam = np.linalg.eigvalsh(A.astype(np.float64))
    r = top_eigenvalue(A, which=which, seed=seed, tol=1e-8)
    ref = {"LA": lam[-1], "SA": lam[0], "LM": np.abs(lam).max()}[which]
    got = abs(r.value) if which == "LM" else r.value
    assert r.converged
    assert abs(got - ref) <= 1e-8 * (1 + np.abs(lam).max())
    assert r.lower_bound - 1e-9 * (1 + abs(ref)) <= ref <= r.upper_bound + 1e-9 * (1 + abs(ref))


# ---------------------------------------------------------------------------------------
# hvp_operator and the result type
# ---------------------------------------------------------------------------------------

def test_hvp_operator_matches_analytic_hessian():
    # f(w) = sum(exp(w_i)) + 0.5 w^T Q w -> H = diag(exp(w)) + Q
    Q = spectrum_matrix(np.linspace(0.5, 2, 8), seed=3)
    grad = lambda w: np.exp(w) + Q @ w  # noqa: E731
    x = RNG.standard_normal(8)
    H = hvp_operator(grad, x)
    Href = np.diag(np.exp(x)) + Q
    for _ in range(3):
        v = RNG.standard_normal(8) * 10
        np.testing.assert_allclose(H @ v, Href @ v, rtol=1e-7, atol=1e-7 * np.linalg.norm(v))
    np.testing.assert_array_equal(H @ np.zeros(8), np.zeros(8))
    r = top_eigenvalue(H, seed=0)
    assert r.value == pytest.approx(np.linalg.eigvalsh(Href)[-1], rel=1e-7)


def test_hvp_operator_float32_and_explicit_eps():
    grad = lambda w: 3.0 * w ** 2  # noqa: E731
    x = np.array([1.0, 2.0], dtype=np.float32)
    H = hvp_operator(grad, x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H @ np.array([1.0, 1.0], dtype=np.float32), [6.0, 12.0], rtol=1e-3)
    H2 = hvp_operator(grad, np.array([1.0, 2.0]), eps=1e-4)
    np.testing.assert_allclose(H2 @ np.array([1.0, 0.0]), [6.0, 0.0], rtol=1e-7, atol=1e-7)
    with pytest.raises(ValueError, match="eps"):
        hvp_operator(grad, x, eps=0.0)
    with pytest.raises(ValueError):
        hvp_operator(grad, np.array([np.nan, 1.0]))
    with pytest.raises(TypeError):
        hvp_operator(42, x)


def test_hvp_operator_uses_exact_problem_hessian():
    from lrcore.problems import LeastSquares
    X = RNG.standard_normal((20, 4))
    p = LeastSquares(X, RNG.standard_normal(20))
    H = hvp_operator(p, np.zeros(4))
    v = RNG.standard_normal(4)
    np.testing.assert_allclose(H @ v, ref_problems.hvp(p, np.zeros(4), v), rtol=1e-13)


def test_result_is_frozen_with_readable_repr():
    r = top_eigenvalue(np.diag([2.0, 1.0]), seed=0)
    assert isinstance(r, EigResult)
    with pytest.raises(Exception):
        r.value = 3.0
    text = repr(r)
    assert "value=2.0" in text and "n_matvec=" in text and "upper_bound=" in text


# ---- review findings (round 2) ------------------------------------------------------------

def test_logistic_trace_bound_holds_where_sigmoid_slopes_underflow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 300))
    w = rng.normal(size=300)
    X = X[(X @ w) < -0.5 * np.std(X @ w)]
    x = w * (40 / np.min(np.abs(X @ w)))             # every margin <= -40
    p = lrcore.Logistic(X, np.zeros(len(X)))
    z = X @ x
    d = np.exp(z) / (1 + np.exp(z)) ** 2
    lam = np.linalg.eigvalsh(X.T @ (d[:, None] * X) / len(X))[-1]
    assert p.hessian(x).trace >= np.sum(d * np.sum(X * X, axis=1)) / len(X)
    for mi in (2, 3, 5, 10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = top_eigenvalue(p.hessian(x), maxiter=mi, seed=0)
            assert r.lower_bound <= lam * (1 + 1e-12) and r.upper_bound >= lam
            assert lrcore.safe_lr(p, x=x, maxiter=mi, seed=0).max_stable <= 2 / lam


def test_fortran_ordered_matrix_is_scaled_from_the_triangle_it_is_read_from():
    n = 4
    A = np.asfortranarray(np.tril(np.full((n, n), 1e-250)) + np.triu(np.full((n, n), 1e250), 1))
    low = np.tril(A) + np.tril(A, -1).T
    lam = np.linalg.eigvalsh(low)[-1]
    r = top_eigenvalue(A, seed=0)
    assert r.lower_bound <= lam <= r.upper_bound and r.value == pytest.approx(lam, rel=1e-12)
    assert lrcore.safe_lr(A, seed=0).max_stable <= 2 / lam


def test_power_pair_value_is_the_rayleigh_quotient():
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.normal(size=(17, 17)))
    for top, bottom, which in ((3.0, -(3.0 + 1e-6), "LA"), (3.0 - 1e-6, -3.0, "SA")):
        A = (Q * np.r_[top, bottom, rng.uniform(-1, 1, 15)]) @ Q.T
        A = (A + A.T) / 2
        ev = np.linalg.eigvalsh(A)
        want = ev[-1] if which == "LA" else ev[0]
        r = top_eigenvalue(A, method="power", which=which, seed=0)
        assert r.lower_bound <= want <= r.upper_bound
        assert ev[0] - 1e-12 <= r.value <= ev[-1] + 1e-12


def test_clustered_top_eigenvalues_stay_inside_the_interval():
    rng = np.random.default_rng(0)
    for s in range(200):
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        A = (Q * [1.0, 1 - 1e-13, 0.3]) @ Q.T
        A = (A + A.T) / 2
        assert top_eigenvalue(A, seed=s).upper_bound >= np.linalg.eigvalsh(A)[-1]
    with pytest.raises(ValueError, match="v0_mix must be a finite number >= 1e-08"):
        top_eigenvalue(np.diag([1.0, 2, 3, 4, 5]), v0=np.eye(5)[0], v0_mix=1e-14, seed=0)


@pytest.mark.parametrize("form", ["dense", "csr", "callable"])
def test_subnormal_matrices(form):
    A = np.diag([3e-310, 1e-310])
    M = {"dense": A, "csr": sp.csr_matrix(A)}.get(form)
    r = top_eigenvalue(M, seed=0) if M is not None else \
        top_eigenvalue(lambda v: A @ v, n=2, seed=0)
    assert r.value == pytest.approx(3e-310, rel=1e-12)
    assert r.lower_bound <= 3e-310 <= r.upper_bound


def test_float32_callable_gets_float32_rounding_allowances():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(40, 40))
    A = B + B.T
    lam = np.linalg.eigvalsh(A)[-1]
    for s in range(5):
        r = top_eigenvalue(lambda v: (A @ v).astype(np.float32), n=40, seed=s)
        assert r.lower_bound <= lam <= r.upper_bound


def test_extreme_start_vectors_are_taken():
    assert top_eigenvalue(np.diag([1.0, 2, 3]), v0=np.full(3, 1e-320)).value == \
        pytest.approx(3.0)
    B = np.random.default_rng(1).normal(size=(40, 40))
    A = B + B.T
    assert top_eigenvalue(A, v0=np.full(40, 1e308)).value == \
        pytest.approx(np.linalg.eigvalsh(A)[-1], rel=1e-9)


def test_power_solver_warning_says_why_it_has_no_bound():
    with pytest.warns(lrcore.CertificationWarning, match="solver='lanczos'"):
        lrcore.safe_lr(aslinearoperator(np.diag([1.0, 1.0, 1 - 1e-9])), solver="power",
                       seed=0, maxiter=100000)
