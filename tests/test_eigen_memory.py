"""The eigen-solver's memory budget and its low-memory mode (two-pass Lanczos).

References: numpy.linalg.eigvalsh on explicit matrices, the full (thick-restart) mode on
the same operator, the low-memory first pass's numpy twin in reference/lanczos.py (which
keeps its vectors, so the actual loss of orthogonality and the projection of A can be
measured), tracemalloc for the host memory of a solve, and the workspace formula of
lrcore.h.
"""
import math
import os
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from pacing import assert_paused_eigensolve_equals_unpaused
from reference.lanczos import lanczos_local, orthogonality_loss
from reference.matrices import gap_spectrum, random_spectrum_matrix, spectrum_matrix
from scipy.sparse.linalg import aslinearoperator
from subprocess_helpers import interrupt_when_ready

import lrcore
from lrcore import _core
from lrcore.curvature import (
    DEFAULT_MEMORY,
    DEFAULT_NCV_LOWMEM,
    V0_MIX,
    EigResult,
    SymmetricOperator,
    _top_eigenvalue,
    top_eigenvalue,
)

LOW = "low-memory"
EPS = np.finfo(np.float64).eps


@pytest.fixture(autouse=True)
def _threads():
    yield
    lrcore.set_num_threads(0)


def true_residual(A, r):
    v = r.vector
    return float(np.linalg.norm(np.asarray(A, dtype=np.float64) @ v - r.value * v))


def _kinds(A, f32=False):
    """The operator kinds top_eigenvalue takes, all representing A."""
    dt = np.float32 if f32 else np.float64
    Ad = A.astype(dt)
    return {
        "dense": Ad,
        "csr": sp.csr_array(Ad),
        "linop": aslinearoperator(Ad),
        "callable": (lambda v: Ad.astype(np.float64) @ v),
    }


def _solve(kind, op, n, **kw):
    if kind == "callable":
        kw["n"] = n
    return top_eigenvalue(op, **kw)


# ---------------------------------------------------------------------------------------
# same answers as the full mode and LAPACK
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
@pytest.mark.parametrize("kind", ["dense", "csr", "linop", "callable"])
def test_low_memory_matches_full_mode_and_eigvalsh(kind, which):
    rng = np.random.default_rng(3)
    n = 400
    lam = np.concatenate([[4.0, -3.0, 3.3], rng.uniform(-2.5, 2.5, n - 3)])
    A = spectrum_matrix(lam, seed=5)
    ev = np.linalg.eigvalsh(A)
    target = {"LA": ev[-1], "SA": ev[0], "LM": ev[np.argmax(np.abs(ev))]}[which]
    op = _kinds(A)[kind]
    full = _solve(kind, op, n, which=which, seed=1, mode="full")
    low = _solve(kind, op, n, which=which, seed=1, mode=LOW)
    assert full.mode == "full" and low.mode == LOW and low.method == "lanczos"
    assert low.converged and full.converged
    # the brief: same eigenvalue to 1e-6; it holds far tighter (residual 1e-6 -> error
    # ~ res^2 / gap)
    assert abs(low.value - full.value) <= 1e-10 * abs(target)
    assert abs(low.value - target) <= 1e-10 * abs(target)
    # value and residual are those of the returned unit vector (an explicit product)
    assert np.linalg.norm(low.vector) == pytest.approx(1.0, abs=1e-12)
    assert low.value == pytest.approx(low.vector @ A @ low.vector, abs=1e-13 * 4)
    assert abs(true_residual(A, low) - low.residual) <= 1e-13 * 4
    assert low.residual <= 1e-6 * abs(low.value)
    lo_t = target if which != "LM" else abs(target)
    assert low.lower_bound <= lo_t + 1e-12 and lo_t <= low.upper_bound + 1e-12


@pytest.mark.parametrize("ratio", [0.5, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("ncv", [8, 32, None])
def test_controlled_gaps_with_and_without_restarts(ratio, ncv):
    A = spectrum_matrix(gap_spectrum(300, ratio) * 7.0, seed=2)
    r = top_eigenvalue(A, seed=0, mode=LOW, ncv=ncv, tol=1e-8)
    assert r.converged and abs(r.value - 7.0) <= 1e-12 * 7.0
    assert true_residual(A, r) <= 1e-8 * 7.0
    assert r.lower_bound <= 7.0 <= r.upper_bound


def test_restarts_happen_and_still_converge():
    A = spectrum_matrix(gap_spectrum(500, 0.999), seed=4)
    res = _core.eig_dense(A, which="LA", method="lanczos", ncv=10, tol=1e-9, maxiter=20000,
                          v0=None, v0_mix=0.1, seed=3, mode=LOW)
    assert res["converged"] and res["n_restarts"] > 5
    assert abs(res["value"] - 1.0) < 1e-12
    # every cycle reproduced its first pass bit for bit
    assert res["regen_defect"] == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_bounds_contain_the_truth_on_random_spectra(seed):
    rng = np.random.default_rng(100 + seed)
    A, ref = random_spectrum_matrix(rng, 3, 180, seed, seed % 2)
    slack = 1e-9 * np.abs(ref).max()
    v0 = rng.standard_normal(len(A))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        for which, target in (("LA", ref[-1]), ("SA", ref[0]), ("LM", np.abs(ref).max())):
            for op in (A, aslinearoperator(A)):
                for start, mix in ((None, None), (v0, None), (v0, 1e-3), (v0, 25.0)):
                    r = top_eigenvalue(op, which=which, seed=seed, mode=LOW, v0=start,
                                       v0_mix=mix, ncv=int(rng.integers(4, 80)))
                    assert r.lower_bound - slack <= target <= r.upper_bound + slack, \
                        (which, mix, r)
                    assert (r.failure_probability == 0.0) == (r.bound != "probabilistic")


def test_probabilistic_bound_of_a_psd_operator_is_reasonably_tight():
    """The bound comes from the semi-orthogonal prefix of the first pass; here the top
    Ritz value reaches sqrt(eps) accuracy before the 32 steps of the full mode's first
    cycle, so the prefix is a little shorter and the bound a little wider."""
    lam = gap_spectrum(2000, 0.9)
    kw = {"n": 2000, "seed": 0, "psd": True, "certify": True}
    full = _top_eigenvalue(lambda v: lam * v, mode="full", **kw)
    low = _top_eigenvalue(lambda v: lam * v, mode=LOW, **kw)
    assert low.bound == full.bound == "probabilistic"
    assert 1.0 <= full.upper_bound <= 1.05 and 1.0 <= low.upper_bound <= 1.05
    # a slowly converging spectrum keeps the whole first pass semi-orthogonal: a longer
    # first cycle than the full mode's, a tighter bound
    lam = gap_spectrum(2000, 0.99)
    full = _top_eigenvalue(lambda v: lam * v, mode="full", **kw)
    low = _top_eigenvalue(lambda v: lam * v, mode=LOW, **kw)
    assert 1.0 <= low.upper_bound < full.upper_bound


def test_small_matrix_with_a_first_pass_as_long_as_n():
    """n steps span the space in exact arithmetic, but the Ritz values converge on the
    way and the basis is not kept orthogonal: the prefix stops short of n (the full mode
    gives the exact bound here), and the bounds from the entries take over."""
    A = spectrum_matrix(np.random.default_rng(1).standard_normal(20), seed=3)
    r = _top_eigenvalue(A, seed=0, mode=LOW, certify=True)
    top = np.linalg.eigvalsh(A)[-1]
    assert r.bound == "deterministic" and r.lower_bound <= top <= r.upper_bound
    assert abs(r.value - top) < 1e-12


# ---------------------------------------------------------------------------------------
# the first pass and its semi-orthogonal prefix
# ---------------------------------------------------------------------------------------

def _first_pass(A, v0, tol, ncv=128, maxiter=20000):
    """The solver's dict, started exactly at v0/||v0|| (a vanishing random mix)."""
    return _core.eig_dense(A, which="LA", method="lanczos", ncv=ncv, tol=tol,
                           maxiter=maxiter, v0=v0, v0_mix=1e-300, seed=0, mode=LOW)


@pytest.mark.parametrize("ratio", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("tol", [1e-6, 1e-15])
def test_reported_prefix_is_semi_orthogonal_and_a_projection(ratio, tol):
    n = 1500
    A = spectrum_matrix(gap_spectrum(n, ratio) * 3.0, seed=11)
    v0 = np.random.default_rng(2).standard_normal(n)
    res = _first_pass(A, v0, tol)
    k1 = res["d_first"].size
    assert k1 >= 4 and np.array_equal(res["d_final"], res["d_first"])
    alpha, beta, V = lanczos_local(lambda x: A @ x, v0 / np.linalg.norm(v0), k1)
    # the solver's T is the twin's (same recurrence, same start)
    np.testing.assert_allclose(res["d_first"], alpha[:k1], rtol=0, atol=1e-9 * 3.0)
    np.testing.assert_allclose(res["e_first"], beta[:k1 - 1], rtol=0, atol=1e-9 * 3.0)
    assert res["beta_first"] == pytest.approx(beta[k1 - 1], abs=1e-9 * 3.0)
    # the prefix (with its residual direction v_k1) is semi-orthogonal in fact ...
    assert orthogonality_loss(V[:, :k1 + 1]) <= math.sqrt(EPS)
    # ... so T is the projection of A on an orthonormal basis of the Krylov space
    Q, _ = np.linalg.qr(V[:, :k1])
    proj = np.linalg.eigvalsh(Q.T @ A @ Q)
    T = np.diag(res["d_first"]) + np.diag(res["e_first"], 1) + np.diag(res["e_first"], -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), proj, rtol=0, atol=1e-12 * 3.0)


def test_prefix_stops_where_orthogonality_is_lost():
    """A well separated eigenvalue and a tolerance below reach: the first pass runs on
    after its Ritz value has converged (ghosts appear), the reported prefix does not."""
    n = 1500
    A = spectrum_matrix(gap_spectrum(n, 0.5), seed=12)
    v0 = np.random.default_rng(3).standard_normal(n)
    res = _first_pass(A, v0, 1e-15, ncv=60, maxiter=400)
    k1 = res["d_first"].size
    _, _, V = lanczos_local(lambda x: A @ x, v0 / np.linalg.norm(v0), 60)
    assert k1 < 60
    assert orthogonality_loss(V[:, :k1 + 1]) <= math.sqrt(EPS)
    assert orthogonality_loss(V) > 1e-4            # lost beyond the prefix
    assert abs(res["value"] - 1.0) < 1e-13         # the estimate is unaffected


# ---------------------------------------------------------------------------------------
# warm starts, v0_mix
# ---------------------------------------------------------------------------------------

def test_warm_start_saves_matvecs_in_low_memory_mode():
    A = spectrum_matrix(gap_spectrum(600, 0.95), seed=8)
    cold = top_eigenvalue(A, seed=0, mode=LOW)
    warm = top_eigenvalue(A, seed=1, mode=LOW, v0=cold.vector)
    assert warm.converged and abs(warm.value - 1.0) < 1e-10
    assert warm.n_matvec < 0.75 * cold.n_matvec
    # a smaller mix keeps more of the warm start
    warmer = top_eigenvalue(A, seed=1, mode=LOW, v0=cold.vector, v0_mix=1e-4)
    assert warmer.n_matvec <= warm.n_matvec


@pytest.mark.parametrize("mode", ["full", LOW])
def test_v0_orthogonal_to_the_top_eigenvector(mode):
    lam = np.linspace(1.0, 0.0, 80)
    D = np.diag(lam)
    v0 = np.zeros(80)
    v0[1] = 1.0               # an eigenvector of the second eigenvalue
    r = top_eigenvalue(D, v0=v0, seed=0, mode=mode, maxiter=100000)
    assert r.converged and abs(r.value - 1.0) < 1e-8


def test_v0_mix_changes_the_start_and_is_validated():
    A = spectrum_matrix(gap_spectrum(100, 0.8), seed=1)
    v0 = np.ones(100)
    a = top_eigenvalue(A, v0=v0, seed=0)
    b = top_eigenvalue(A, v0=v0, seed=0, v0_mix=V0_MIX)
    c = top_eigenvalue(A, v0=v0, seed=0, v0_mix=3.0)
    assert a.value == b.value and np.array_equal(a.vector, b.vector)     # the default
    assert not np.array_equal(a.vector, c.vector)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="v0_mix"):
            top_eigenvalue(A, v0=v0, v0_mix=bad)
    for bad in ("0.1", True, [0.1]):
        with pytest.raises(TypeError, match="v0_mix"):
            top_eigenvalue(A, v0=v0, v0_mix=bad)


@pytest.mark.parametrize("mix", [1e-3, 0.1, 1.0, 50.0])
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_probabilistic_bound_with_a_user_start_holds_for_any_mix(mix, method):
    """The worst start for the bound: v0 nearly orthogonal to the top eigenvector, every
    seed; the bound must hold (with probability 1 - 1e-3 each, so 40 tries all hold)."""
    n = 300
    lam = gap_spectrum(n, 0.9)
    v0 = np.ones(n)
    v0[0] = 1e-6
    misses = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        for seed in range(40):
            r = _top_eigenvalue(lambda v: lam * v, n=n, v0=v0, v0_mix=mix, seed=seed,
                                method=method, maxiter=30, psd=True, warn=False)
            misses += not (r.upper_bound >= 1.0)
            assert r.bound in ("probabilistic", "none")
    assert misses == 0


def test_bound_rtol_accounts_for_the_mix():
    from lrcore.curvature import _first_cycle_for
    need = [_first_cycle_for(10_000, 0.05, True, False, m) for m in (1e-3, 0.1, 10.0)]
    assert need[0] > need[1] > need[2] >= _first_cycle_for(10_000, 0.05, True, True)


def test_no_probabilistic_claim_for_a_user_start_in_two_dimensions():
    """n = 2: z_1 = cos(phi) piles up at +-1, the Beta-quantile argument does not hold."""
    A = np.diag([1.0, 0.9])
    r = _top_eigenvalue(lambda v: A @ v, n=2, v0=np.array([1e-3, 1.0]), seed=0,
                        method="power", maxiter=3, warn=False)
    assert r.bound == "none" and r.upper_bound == math.inf


# ---------------------------------------------------------------------------------------
# hard cases
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e-280, 1e-150, 1.0, 1e150, 1e280])
@pytest.mark.parametrize("kind", ["dense", "csr", "callable"])
def test_tiny_and_huge_scales(scale, kind):
    A0 = spectrum_matrix(gap_spectrum(120, 0.8) * 2.0, seed=7)
    A = A0 * scale
    op = _kinds(A)[kind] if kind != "callable" else (lambda v: A @ v)
    r = _solve(kind, op, 120, seed=0, mode=LOW)
    assert r.converged and r.value == pytest.approx(2.0 * scale, rel=1e-10)
    assert r.lower_bound <= 2.0 * scale * (1 + 1e-12) and r.upper_bound >= 2.0 * scale
    assert math.isfinite(r.upper_bound) and math.isfinite(r.residual)


@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_small_and_degenerate_matrices(which):
    cases = [np.array([[3.5]]), np.array([[-2.0]]), np.zeros((5, 5)), np.eye(4) * 2.0,
             np.diag([1.0, -1.0]), np.outer(np.arange(1.0, 7.0), np.arange(1.0, 7.0)),
             -np.diag(np.arange(1.0, 9.0))]
    for A in cases:
        ev = np.linalg.eigvalsh(A)
        target = {"LA": ev[-1], "SA": ev[0], "LM": np.abs(ev).max()}[which]
        r = top_eigenvalue(A, which=which, seed=0, mode=LOW)
        got = abs(r.value) if which == "LM" else r.value
        assert r.converged and got == pytest.approx(target, abs=1e-12 * max(1, abs(target)))
        t = target
        assert r.lower_bound - 1e-12 <= t <= r.upper_bound + 1e-12


@pytest.mark.parametrize("kind", ["dense", "csr", "linop"])
def test_float32_operators(kind):
    A = spectrum_matrix(gap_spectrum(300, 0.8) * 5.0, seed=3)
    A32 = A.astype(np.float32)
    ref = np.linalg.eigvalsh(A32.astype(np.float64))[-1]
    op = _kinds(A, f32=True)[kind]
    full = top_eigenvalue(op, seed=0, mode="full")
    low = top_eigenvalue(op, seed=0, mode=LOW)
    assert low.converged and low.mode == LOW
    # dense/CSR float32 data are read exactly (double accumulation); a float32
    # LinearOperator rounds its products to float32 (~1e-7 relative)
    rel = 1e-10 if kind != "linop" else 1e-6
    assert abs(low.value - ref) <= rel * ref and abs(low.value - full.value) <= rel * ref
    assert low.lower_bound <= ref * (1 + 1e-6) and ref <= low.upper_bound


def test_nondeterministic_operator_still_converges_with_a_true_residual():
    """Products with a little noise: the second pass cannot reproduce the first bit for
    bit, but the final vector's residual is measured, not assumed."""
    A = spectrum_matrix(gap_spectrum(400, 0.9) * 2.0, seed=5)
    rng = np.random.default_rng(0)

    def noisy(v):
        y = A @ v
        return y * (1.0 + 1e-13 * rng.standard_normal(y.shape))

    res = _core.eig_callable(noisy, 400, np.float64, which="LA", method="lanczos", ncv=64,
                             tol=1e-8, maxiter=20000, v0=None, v0_mix=0.1, seed=1, mode=LOW)
    assert res["converged"] and res["regen_defect"] > 0.0
    v = res["vector"]
    assert np.linalg.norm(A @ v - res["value"] * v) <= 1e-8 * 2.0 * (1 + 1e-6)
    assert abs(res["value"] - 2.0) < 1e-12


@pytest.mark.parametrize("maxiter", [1, 2, 3, 4, 5, 9])
def test_tiny_maxiter(maxiter):
    A = spectrum_matrix(gap_spectrum(200, 0.99), seed=6)
    lam = np.linalg.eigvalsh(A)[-1]
    with pytest.warns(lrcore.ConvergenceWarning, match="did not converge"):
        r = top_eigenvalue(A, maxiter=maxiter, seed=0, mode=LOW)
    assert not r.converged and 1 <= r.n_matvec <= maxiter
    assert r.value <= lam + 1e-12 and r.upper_bound >= lam
    assert np.linalg.norm(r.vector) == pytest.approx(1.0)
    assert true_residual(A, r) == pytest.approx(r.residual, rel=1e-9, abs=1e-14)


def test_nonfinite_and_nonsymmetric_operators():
    with pytest.raises(lrcore.NonFiniteError, match="NaN or Inf"):
        top_eigenvalue(lambda v: v * np.nan, n=10, mode=LOW)
    B = np.random.default_rng(0).standard_normal((50, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        with pytest.warns(RuntimeWarning, match="symmetric"):
            top_eigenvalue(lambda v: B @ v, n=50, seed=0, maxiter=200, mode=LOW)


def test_seed_reproduces_and_threads_agree():
    A = spectrum_matrix(gap_spectrum(1500, 0.9), seed=9)
    r1, r2 = top_eigenvalue(A, seed=42, mode=LOW), top_eigenvalue(A, seed=42, mode=LOW)
    assert r1.value == r2.value and r1.n_matvec == r2.n_matvec
    np.testing.assert_array_equal(r1.vector, r2.vector)
    # long enough vectors for the OpenMP kernels (partial sums per thread, added in
    # thread order: the second pass still reproduces the first bit for bit)
    n = 200_000
    d = _separated(n)
    d[: n // 2] *= 0.9
    common = {"which": "LA", "method": "lanczos", "ncv": 64, "tol": 1e-10,
              "maxiter": 20000, "v0": None, "v0_mix": 0.1, "seed": 1, "mode": LOW}
    out = []
    for threads in (1, 2):
        lrcore.set_num_threads(threads)
        out.append(_core.eig_callable(lambda v: d * v, n, np.float64, **common))
        assert out[-1]["regen_defect"] == 0.0 and out[-1]["converged"]
    assert abs(out[0]["value"] - out[1]["value"]) < 1e-13
    assert abs(out[0]["n_matvec"] - out[1]["n_matvec"]) <= 4


def test_power_method_ignores_the_mode():
    A = np.diag([3.0, 1.0, 0.5])
    r = top_eigenvalue(A, method="power", mode=LOW, seed=0)
    assert r.method == "power" and r.mode == "full" and abs(r.value - 3.0) < 1e-9


def test_costs_about_twice_the_products_of_the_full_mode():
    A = spectrum_matrix(gap_spectrum(1000, 0.95), seed=10)
    full = top_eigenvalue(A, seed=0, mode="full")
    low = top_eigenvalue(A, seed=0, mode=LOW)
    assert low.n_matvec <= 2.5 * full.n_matvec


def test_safe_lr_passes_the_mode_through():
    A = spectrum_matrix(gap_spectrum(200, 0.9) * 4.0, seed=1)
    rate = lrcore.safe_lr(A, mode=LOW, seed=0)
    assert rate.L == pytest.approx(4.0, rel=1e-9)


# ---------------------------------------------------------------------------------------
# the memory budget and the workspace
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [10**6, 10**7, 10**8])
def test_workspace_of_the_low_memory_mode_is_four_vectors(n):
    """lrcore.h: full Lanczos (ncv + 2) n + O(ncv^2), low-memory 4 n + O(ncv^2) doubles
    (computed, not allocated)."""
    full = _core.eig_workspace_bytes(n, ncv=32, mode="full")
    low = _core.eig_workspace_bytes(n, ncv=DEFAULT_NCV_LOWMEM, mode=LOW)
    low_max = _core.eig_workspace_bytes(n, ncv=512, mode=LOW)
    assert 34 * 8 * n <= full <= 34 * 8 * n + 40 * 2**20
    assert 4 * 8 * n <= low <= low_max <= 4 * 8 * n + 3 * 2**20
    assert low_max <= 6 * 8 * n                 # the target: at most 6 n-vectors
    if n == 10**8:
        assert full > 25 * 10**9 and low < 3.3 * 10**9


def test_result_reports_the_workspace_it_used():
    n = 50_000
    d = _separated(n)
    res = _core.eig_callable(lambda v: d * v, n, np.float64, which="LA", method="lanczos",
                             ncv=64, tol=1e-6, maxiter=20000, v0=None, v0_mix=0.1, seed=0,
                             mode=LOW)
    assert res["mode"] == LOW
    assert res["workspace_bytes"] == _core.eig_workspace_bytes(n, ncv=64, mode=LOW)
    assert res["workspace_bytes"] < 4.2 * 8 * n


def _separated(n):
    """A diagonal with a well separated top eigenvalue 2 (the rest in [0, 1])."""
    d = np.linspace(0.0, 1.0, n)
    d[n // 3] = 2.0
    return d


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return out, peak


def test_peak_host_memory_of_a_solve():
    """tracemalloc sees every numpy allocation: the workspace, the copy of the vector
    handed to a Python operator and the operator's result, the returned vector."""
    n = 400_000
    d = _separated(n)
    vec = 8 * n
    low, peak_low = _peak_bytes(lambda: top_eigenvalue(lambda v: d * v, n=n, seed=0,
                                                       mode=LOW))
    full, peak_full = _peak_bytes(lambda: top_eigenvalue(lambda v: d * v, n=n, seed=0,
                                                         mode="full"))
    assert low.mode == LOW and abs(low.value - full.value) < 1e-9
    # 4 (workspace) + 1 (x handed to the operator) + 1 (its result), and at the first
    # product one transient more (the scale probe's |y|)
    assert peak_low <= 7.2 * vec, peak_low / vec
    assert peak_full >= 34 * vec
    # a C operator: the workspace and the returned vector, next to the solver's private
    # copy of the CSR arrays
    A = sp.diags(d + 0.5, 0, format="csr")
    r, peak_csr = _peak_bytes(lambda: top_eigenvalue(A, seed=0, mode=LOW))
    own = A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
    assert r.value == pytest.approx(2.5, rel=1e-10)
    assert peak_csr - own <= 5.2 * vec, (peak_csr - own) / vec


def test_auto_mode_follows_the_budget():
    n = 20_000
    d = _separated(n)
    f = lambda v: d * v
    full_b = _core.eig_workspace_bytes(n, ncv=32, mode="full")
    low_b = _core.eig_workspace_bytes(n, ncv=DEFAULT_NCV_LOWMEM, mode=LOW)
    assert top_eigenvalue(f, n=n, seed=0).mode == "full"          # DEFAULT_MEMORY
    assert top_eigenvalue(f, n=n, seed=0, memory=full_b).mode == "full"
    assert top_eigenvalue(f, n=n, seed=0, memory=full_b - 1).mode == LOW
    assert top_eigenvalue(f, n=n, seed=0, memory=low_b).mode == LOW
    with pytest.raises(ValueError, match="memory=.*too small"):
        top_eigenvalue(f, n=n, seed=0, memory=low_b - 1)
    with pytest.raises(ValueError, match="memory=.*too small.*mode='full'"):
        top_eigenvalue(f, n=n, seed=0, memory=full_b - 1, mode="full")
    with pytest.raises(ValueError, match="memory=.*too small.*low-memory"):
        top_eigenvalue(f, n=n, seed=0, memory=low_b - 1, mode=LOW)
    # an explicit mode without a budget is not checked against DEFAULT_MEMORY
    assert top_eigenvalue(f, n=n, seed=0, mode="full").mode == "full"
    assert DEFAULT_MEMORY == 2 * 1024**3
    # the power method keeps 5 vectors; only an explicit budget is checked
    p_b = _core.eig_workspace_bytes(n, method="power")
    assert top_eigenvalue(f, n=n, seed=0, method="power", memory=p_b).method == "power"
    with pytest.raises(ValueError, match="memory=.*too small.*power"):
        top_eigenvalue(f, n=n, seed=0, method="power", memory=p_b - 1)


def test_default_budget_never_refuses_a_huge_operator():
    """n = 1e8 (sizes only): the full basis (27 GB) is over DEFAULT_MEMORY and so is the
    low-memory workspace (3.2 GB), which runs anyway; an explicit budget is enforced."""
    from lrcore.curvature import _pick_mode
    n = 10**8
    assert _pick_mode(n, "lanczos", 32, 256, "auto", None) == (LOW, 256)
    assert _pick_mode(n, "power", 32, 256, "auto", None) == ("full", 32)
    with pytest.raises(ValueError, match="memory"):
        _pick_mode(n, "lanczos", 32, 256, "auto", float(DEFAULT_MEMORY))
    assert _pick_mode(10**6, "lanczos", 32, 256, "auto", None) == ("full", 32)


def test_ncv_under_auto_is_the_full_basis():
    n = 20_000
    d = _separated(n)

    def f(v):
        return d * v

    low_b = _core.eig_workspace_bytes(n, ncv=DEFAULT_NCV_LOWMEM, mode=LOW)
    res = {}
    for mode in ("auto", LOW):
        r = _top_eigenvalue(f, n=n, seed=0, ncv=8, mode=mode, memory=low_b)
        res[mode] = r
        assert r.mode == LOW and r.converged
    # auto: cycles of max(8, 256) steps, one cycle; explicit: cycles of 8 steps
    assert res["auto"].n_matvec < res[LOW].n_matvec


def test_default_budget_switches_at_about_eight_million_unknowns():
    per = _core.eig_workspace_bytes(10**6, ncv=32, mode="full") / 10**6
    assert 7.5e6 < DEFAULT_MEMORY / per < 8.0e6


def test_bad_memory_and_mode_arguments():
    A = np.eye(3)
    for bad in (0, -5, math.nan, math.inf):
        with pytest.raises(ValueError, match="memory"):
            top_eigenvalue(A, memory=bad)
    for bad in ("1GB", True):
        with pytest.raises(TypeError, match="memory"):
            top_eigenvalue(A, memory=bad)
    with pytest.raises(ValueError, match="mode"):
        top_eigenvalue(A, mode="low")
    with pytest.raises(ValueError, match="mode"):
        _core.eig_dense(A, which="LA", method="lanczos", ncv=4, tol=1e-6, maxiter=10,
                        v0=None, v0_mix=0.1, seed=0, mode="half")


def test_result_is_backward_compatible():
    r = EigResult(value=1.0, vector=np.ones(1), n_matvec=1, converged=True, residual=0.0,
                  upper_bound=1.0, lower_bound=1.0)
    assert r.mode == "full" and "mode=" not in repr(r)
    low = top_eigenvalue(np.diag([2.0, 1.0]), seed=0, mode=LOW)
    assert "mode='low-memory'" in repr(low)
    assert low.scaled(2.0).mode == LOW


def test_symmetric_operator_with_trace_gives_a_tight_bound():
    """The first pass finds the invariant subspace (3 distinct eigenvalues): the trace
    bound (deterministic) and the invariant-subspace bound (probabilistic) are both
    4 + rounding allowance; which one is smaller is a matter of the last bits."""
    d = np.array([4.0, 1.0, 1.0, 0.5])
    op = SymmetricOperator(4, lambda v: d * v, psd=True, trace=float(d.sum()))
    r = top_eigenvalue(op, seed=0, mode=LOW)
    assert r.bound in ("deterministic", "probabilistic")
    assert 4.0 <= r.upper_bound < 4.0 + 1e-12
    assert r.value == pytest.approx(4.0, abs=1e-14)


# ---------------------------------------------------------------------------------------
# interruption: pausing is invisible, Ctrl-C stops the solve
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csr", "dense"])
def test_paused_low_memory_solve_equals_the_unpaused_run(kind):
    lrcore.set_num_threads(1)        # quick on a shared machine; pausing is per product
    paused = assert_paused_eigensolve_equals_unpaused(kind, mode=LOW)
    assert paused["n_restarts"] > 2


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_sigint_interrupts_a_low_memory_solve():
    script = textwrap.dedent("""
        import os, signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import numpy as np, scipy.sparse as sp
        from lrcore.curvature import top_eigenvalue
        n = 200_000
        A = sp.diags([np.full(n - 1, -1.0), np.linspace(1.0, 3.0, n), np.full(n - 1, -1.0)],
                     [-1, 0, 1], format="csr")
        snapshot = A.data.copy()
        print("READY", flush=True)
        try:
            top_eigenvalue(A, tol=1e-14, maxiter=10**9, mode="low-memory")
        except KeyboardInterrupt:
            print("INTERRUPTED" if np.array_equal(A.data, snapshot) else "MODIFIED",
                  flush=True)
            os._exit(0)
        print("FINISHED", flush=True)
        os._exit(1)
    """)
    out, err, returncode, elapsed = interrupt_when_ready(script)
    assert out.strip() == "INTERRUPTED", (out, err)
    assert returncode == 0, err
    assert elapsed < 1.0, f"{elapsed:.3f} s from SIGINT to exit"
