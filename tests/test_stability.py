"""Safe rates are real: theory (2/L and the momentum bounds) against runs of the optimizers,
on real data; descend in C against the Python loop and against its plain-numpy twin
(reference/descend.py); check_stability; boundary; range test; built-in problems as search
objectives."""
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_allclose

from lrcore import schedules
from lrcore.datasets import load_breast_cancer, load_diabetes
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic
from lrcore.rates import max_stable_lr, optimal_lr, safe_lr
from lrcore.search import ProblemObjective, grid_search, range_test
from lrcore.stability import check_stability, descend, stability_boundary, sweep
from reference import descend as ref
from reference import problems as ref_problems


@pytest.fixture(scope="module")
def diabetes():
    X, y, _ = load_diabetes(standardize=True)
    return LeastSquares(X, (y - y.mean()) / y.std())


@pytest.fixture(scope="module")
def cancer():
    X, y, _ = load_breast_cancer(standardize=True)
    return Logistic(X, y, l2=1e-2)


@pytest.fixture(scope="module")
def quadratic():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(8, 8))
    return Quadratic(M @ M.T / 8 + 0.1 * np.eye(8), b=rng.normal(size=8))


CASES = [("gd", 0.0), ("heavy_ball", 0.9), ("nesterov", 0.9), ("heavy_ball", 0.5),
         ("nesterov", 0.3)]


@pytest.mark.parametrize("method,beta", CASES)
def test_safe_rate_is_real_on_least_squares(diabetes, method, beta):
    """0.98 x max_stable converges, 1.02 x diverges (the formulas are tight)."""
    sr = safe_lr(diabetes, method=method, momentum=beta)
    L = np.linalg.eigvalsh(ref_problems.hessian(diabetes, np.zeros(diabetes.dim)))[-1]
    assert sr.L == pytest.approx(L, rel=1e-6)
    assert sr.L_upper >= L
    assert sr.max_stable <= max_stable_lr(L, method=method, momentum=beta) * (1 + 1e-12)
    x0 = np.random.default_rng(0).normal(size=diabetes.dim)
    theo = max_stable_lr(L, method=method, momentum=beta)
    ok = descend(diabetes, x0, 0.98 * theo, steps=5000, method=method, momentum=beta)
    bad = descend(diabetes, x0, 1.02 * theo, steps=5000, method=method, momentum=beta)
    assert ok.status != "diverged" and ok.grad_norms[-1] < 1e-3 * ok.grad_norms[0]
    assert bad.status == "diverged"
    assert sr.recommended <= sr.max_stable


def test_gd_recommended_rate_is_optimal_for_strongly_convex(diabetes):
    sr = safe_lr(diabetes)
    ev = np.linalg.eigvalsh(ref_problems.hessian(diabetes, np.zeros(diabetes.dim)))
    assert sr.mu == pytest.approx(ev[0], rel=1e-6)
    assert sr.recommended == pytest.approx(2 / (ev[-1] + ev[0]), rel=1e-5)


def test_rate_formulas():
    assert max_stable_lr(2.0) == 1.0
    assert max_stable_lr(2.0, method="heavy_ball", momentum=0.5) == 1.5
    assert max_stable_lr(2.0, method="nesterov", momentum=0.5) == pytest.approx(3 / 4)
    assert max_stable_lr(2.0, method="adam", momentum=0.9) == pytest.approx(19.0)
    assert max_stable_lr(0.0) == math.inf and max_stable_lr(-1.0) == math.inf
    assert optimal_lr(4.0, 0.0) == 0.25 and optimal_lr(4.0, 1.0) == 0.4
    with pytest.raises(ValueError, match="momentum must be in"):
        max_stable_lr(1.0, method="heavy_ball", momentum=1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        max_stable_lr(1.0, method="sgd")
    with pytest.raises(ValueError, match="takes no momentum"):
        max_stable_lr(1.0, momentum=0.5)


def test_safe_lr_flat_and_nonconvex():
    flat = safe_lr(np.zeros((3, 3)))
    assert flat.max_stable == math.inf and "no positive curvature" in flat.note
    nc = safe_lr(np.diag([-2.0, 1.0, 4.0]))
    assert nc.max_stable == pytest.approx(0.5, rel=1e-6) and "not convex" in nc.note
    assert nc.mu == pytest.approx(-2.0, rel=1e-6)


def test_safe_lr_adam_preconditioned_sharpness():
    """Adam with a frozen preconditioner is preconditioned heavy ball-like: the bound of
    Cohen et al. (2022) on lambda_max(P^-1 H)."""
    H = np.diag([1.0, 100.0, 10.0])
    v = np.array([1.0, 1e4, 1.0])            # sqrt(v) = 1, 100, 1
    sr = safe_lr(H, method="adam", momentum=0.9, second_moment=v, eps=0.0)
    assert sr.L == pytest.approx(10.0, rel=1e-6)          # max(1/1, 100/100, 10/1)
    assert sr.max_stable == pytest.approx(3.8 / 0.1 / 10.0, rel=1e-6)   # (2+2b1)/((1-b1) L)
    # an operator without second_moment is taken as already preconditioned (P^-1/2 H P^-1/2)
    d = 1.0 / np.sqrt(np.sqrt(v))
    pre = safe_lr(d[:, None] * H * d[None, :], method="adam", momentum=0.9)
    assert pre.L == pytest.approx(sr.L, rel=1e-12) and "preconditioned" in pre.where
    with pytest.raises(ValueError, match="second_moment"):       # a problem needs v
        safe_lr(Quadratic(H), method="adam", momentum=0.9)


def test_descend_c_equals_python_loop(diabetes, cancer):
    for p in (diabetes, cancer):
        fp = Problem.from_functions(p.value_and_grad, n=p.dim)
        x0 = np.full(p.dim, 0.1)
        for method, beta in [("gd", 0.0), ("heavy_ball", 0.8), ("nesterov", 0.8), ("adam", 0.9)]:
            lr = 0.01 if method == "adam" else 0.3 / p.smoothness()
            a = descend(p, x0, lr, steps=300, method=method, momentum=beta, record_every=7)
            b = descend(fp, x0, lr, steps=300, method=method, momentum=beta, record_every=7)
            assert a.status == b.status and a.steps_run == b.steps_run
            assert_allclose(a.x, b.x, rtol=1e-11, atol=1e-13)
            assert_allclose(a.losses, b.losses, rtol=1e-12)
            assert len(a.losses) == 300 // 7 + 1


# ---------------------------------------------------------------------------------------
# descend against its plain-numpy twin (reference/descend.py)
# ---------------------------------------------------------------------------------------

TWIN_METHODS = [("gd", 0.0), ("heavy_ball", 0.8), ("nesterov", 0.8), ("adam", 0.9)]
TWIN_IDS = [m for m, _ in TWIN_METHODS]


def assert_same_run(got, want):
    """lrcore's Trajectory against the twin's run: the same stop after the same number of
    steps, the iterate and every record to 1e-12 (relative; absolute at the run's own scale,
    max(||x||_inf, 1), max(|f(x0)|, 1) and ||grad f(x0)||, where values pass through 0)."""
    assert (got.status, got.steps_run) == (want.status, want.steps_run)
    assert got.losses.shape == want.losses.shape == got.grad_norms.shape
    sx = max(np.abs(want.x).max(), 1.0)
    sf = max(abs(want.losses[0]), 1.0)
    sg = want.grad_norms[0]
    assert_allclose(got.x, want.x, rtol=1e-12, atol=1e-12 * sx)
    assert_allclose(got.losses, want.losses, rtol=1e-12, atol=1e-12 * sf)
    assert_allclose(got.grad_norms, want.grad_norms, rtol=1e-12, atol=1e-12 * sg)
    assert got.final_loss == pytest.approx(want.final_loss, rel=1e-12, abs=1e-12 * sf)
    assert got.final_grad_norm == pytest.approx(want.final_grad_norm, rel=1e-12, abs=1e-12 * sg)


def both(p, x0, lr, **kw):
    return descend(p, x0, lr, **kw), ref.descend(p, x0, lr, **kw)


@pytest.mark.parametrize("problem", ["diabetes", "cancer", "quadratic"])
@pytest.mark.parametrize("method,beta", TWIN_METHODS, ids=TWIN_IDS)
def test_descend_matches_numpy_twin_with_record_every(request, problem, method, beta):
    p = request.getfixturevalue(problem)
    lr = 0.01 if method == "adam" else 0.3 / p.smoothness()
    got, want = both(p, np.full(p.dim, 0.1), lr, steps=300, method=method, momentum=beta,
                     record_every=7)
    assert want.status == "completed" and len(want.losses) == 300 // 7 + 1
    assert_same_run(got, want)


@pytest.mark.parametrize("problem", ["diabetes", "cancer", "quadratic"])
@pytest.mark.parametrize("method,beta", TWIN_METHODS, ids=TWIN_IDS)
def test_descend_matches_numpy_twin_with_tol(request, problem, method, beta):
    p = request.getfixturevalue(problem)
    lr, tol = (0.01, 1e-3) if method == "adam" else (1.0 / p.smoothness(), 1e-6)
    got, want = both(p, np.full(p.dim, 0.1), lr, steps=20000, method=method, momentum=beta,
                     tol=tol, record_every=5)
    assert want.status == "converged" and want.steps_run < 20000
    assert want.final_grad_norm <= tol
    assert_same_run(got, want)


@pytest.mark.parametrize("problem", ["diabetes", "cancer", "quadratic"])
@pytest.mark.parametrize("method,beta", TWIN_METHODS, ids=TWIN_IDS)
def test_descend_matches_numpy_twin_with_a_schedule(request, problem, method, beta):
    p = request.getfixturevalue(problem)
    peak = 0.01 if method == "adam" else 0.5 / p.smoothness()
    x0 = np.full(p.dim, 0.1)
    kw = dict(steps=400, method=method, momentum=beta, record_every=3)
    # the schedule as the rates, and as a multiplier of a base rate
    assert_same_run(*both(p, x0, schedules.warmup_cosine(peak, 20, 400), **kw))
    assert_same_run(*both(p, x0, peak, schedule=schedules.onecycle(1.0, 400), **kw))


@pytest.mark.parametrize("problem", ["diabetes", "quadratic"])
@pytest.mark.parametrize("method,beta", TWIN_METHODS, ids=TWIN_IDS)
def test_descend_matches_numpy_twin_through_a_blowup(request, problem, method, beta):
    """5% above the stability bound from the start, until the loss has grown 1e10-fold; Adam
    (whose steps are bounded by the rate) 50 steps at 0.01, then at 1e5.

    (An unstable rate after stable steps is not a fair test for gd/momentum: the stable
    phase shrinks the top eigen-component by ~1e-8 relative to x, so its rounding error,
    the same in both loops, is ~1e-8 of it and becomes the whole iterate once it grows.)"""
    p = request.getfixturevalue(problem)
    if method == "adam":
        rates = np.concatenate([np.full(50, 0.01), np.full(350, 1e5)])
    else:
        rates = np.full(400, 1.05 * max_stable_lr(p.smoothness(), method=method,
                                                  momentum=beta))
    got, want = both(p, np.full(p.dim, 0.1), rates, steps=400, method=method, momentum=beta,
                     record_every=4)
    assert want.status == "diverged" and 20 < want.steps_run < 400
    assert_same_run(got, want)


def test_descend_schedule_and_tol(diabetes):
    L = diabetes.smoothness()
    s = schedules.warmup_cosine(1.0 / L, warmup_steps=20, total_steps=400)
    a = descend(diabetes, np.zeros(diabetes.dim), s, steps=400)
    b = descend(diabetes, np.zeros(diabetes.dim), 1.0, steps=400, schedule=s)
    c = descend(diabetes, np.zeros(diabetes.dim), s(np.arange(400)), steps=400)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.x, c.x)
    t = descend(diabetes, np.zeros(diabetes.dim), 1.0 / L, steps=100000, tol=1e-6)
    assert t.status == "converged" and t.final_grad_norm <= 1e-6 and t.steps_run < 100000
    with pytest.raises(ValueError, match="rate at step 3"):
        descend(diabetes, np.zeros(diabetes.dim), [0.1, 0.1, 0.1, -1.0], steps=4)
    with pytest.raises(ValueError, match="x0 must have shape"):
        descend(diabetes, np.zeros(3), 0.1, steps=4)
    with pytest.raises(ValueError, match="needs momentum > 0"):
        descend(diabetes, np.zeros(diabetes.dim), 0.1, steps=4, method="nesterov")


def test_check_stability_classifies(diabetes):
    mx = max_stable_lr(diabetes.smoothness())
    got = [check_stability(diabetes, f * mx).status for f in (0.5, 0.99, 1.01, 3.0)]
    assert got == ["converged", "converged", "diverged", "diverged"]
    r = check_stability(diabetes, 0.5 * mx)
    assert r.lr_over_max == pytest.approx(0.5)
    assert r.observed_rate == pytest.approx(r.predicted_rate, abs=2e-3)
    tiny = check_stability(diabetes, 1e-9 * mx)
    assert tiny.status == "stalled"
    edge = check_stability(Quadratic(np.diag([1.0, 1.0])), 2.0)   # |1 - 2| = 1: flips forever
    assert edge.status == "oscillating" and edge.observed_rate == pytest.approx(1.0)


@pytest.mark.parametrize("method,beta", [("gd", 0.0), ("heavy_ball", 0.9), ("nesterov", 0.9)])
def test_stability_boundary_matches_theory_on_real_data(diabetes, method, beta):
    bd = stability_boundary(diabetes, method=method, momentum=beta)
    assert bd.theoretical == pytest.approx(max_stable_lr(diabetes.smoothness(), method=method,
                                                         momentum=beta))
    assert abs(bd.ratio - 1) < 0.01, bd
    assert bd.n_runs < 60


def test_range_test_on_logistic_problem(cancer):
    rt = range_test(cancer, start=1e-5, end=100.0, num=120)
    mx = safe_lr(cancer).max_stable
    assert rt.max_stable_lr == pytest.approx(mx)
    assert rt.suggestion("curvature") == pytest.approx(safe_lr(cancer).recommended)
    assert rt.suggestion("steepest") < mx
    assert rt.stopped_at is not None
    assert rt.spread >= 0


def test_sweep_and_objective(diabetes):
    mx = max_stable_lr(diabetes.smoothness())
    sw = sweep(diabetes, [0.5 * mx, 0.9 * mx, 1.05 * mx], steps=3000)
    assert sw.statuses[:2] == ["completed", "completed"] and sw.statuses[2] == "diverged"
    assert len(sw.losses[0]) == 3001
    res = grid_search(diabetes, [0.1 * mx, 0.9 * mx, 1.5 * mx], budget=200)
    assert [r["status"] for r in res.records] == ["ok", "ok", "diverged"]
    assert res.best_lr == 0.9 * mx


def test_problem_objective_in_a_process_pool(cancer):
    obj = ProblemObjective(cancer, steps=50)
    lrs = [0.1, 1.0, 10.0]
    serial = grid_search(obj, lrs)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        par = grid_search(obj, lrs, executor=ex)
    assert [r["score"] for r in serial.records] == [r["score"] for r in par.records]


def test_safe_lr_checks_a_given_mu():
    assert safe_lr(4.0, mu=1.0).recommended == pytest.approx(2.0 / 5.0)
    assert safe_lr(4.0, mu=4.0).recommended == pytest.approx(0.25)
    r = safe_lr(4.0, mu=-1.0)                       # a non-convex curvature is allowed
    assert r.recommended == pytest.approx(0.25) and "not convex" in r.note
    for bad, match in ((5.0, "exceeds the largest eigenvalue"), (math.inf, "finite"),
                       (math.nan, "finite")):
        with pytest.raises(ValueError, match=match):
            safe_lr(4.0, mu=bad)
    A = np.diag([1.0, 3.0])
    with pytest.raises(ValueError, match="exceeds"):
        safe_lr(A, mu=10.0)
    assert safe_lr(A, mu=1.0).mu == 1.0


# ---- review findings (round 2) ------------------------------------------------------------

@pytest.mark.parametrize("s", [1e-200, 1e-160, 1.0, 1e160, 1e200])
def test_stability_boundary_at_every_scale(s):
    b = stability_boundary(Quadratic(np.diag([1.0, 10.0]) * s))
    assert b.theoretical == pytest.approx(0.2 / s)
    assert 1 - 1e-3 <= b.ratio <= 1.0 + 1e-12


def test_stability_boundary_max_runs_is_a_limit_and_says_so():
    import warnings as w

    from lrcore import ConvergenceWarning
    with pytest.warns(ConvergenceWarning, match="wider than rtol"):
        b = stability_boundary(Quadratic(np.diag([1.0, 10.0])), max_runs=5)
    assert b.n_runs == 5 and b.empirical <= 0.2
    with pytest.raises(RuntimeError, match="max_runs=1"):
        stability_boundary(Quadratic(np.diag([1.0, 10.0])), max_runs=1)
    with w.catch_warnings():
        w.simplefilter("error")
        assert stability_boundary(Quadratic(np.diag([1.0, 10.0]))).n_runs <= 200


def test_measured_rate_ignores_the_rounding_floor_and_stationary_starts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=200)
    p = LeastSquares(X, y)
    L = p.smoothness()
    r = check_stability(p, 1 / L)
    assert r.status == "converged"
    assert r.observed_rate == pytest.approx(r.predicted_rate, rel=0.05)
    xs = np.linalg.lstsq(X, y, rcond=None)[0]
    assert check_stability(p, 0.2 / L, x0=xs).status == "converged"
    with pytest.raises(ValueError, match="stationary point"):
        stability_boundary(p, x0=xs)
    assert check_stability(Quadratic(np.diag([1.0, 10.0])), 0.0).status == "stalled"


def test_sweep_checks_its_arguments():
    with pytest.raises(TypeError, match="problem"):
        sweep(object(), [0.1], steps=3)
    with pytest.raises(TypeError, match="lrs must be a sequence"):
        sweep(Quadratic(np.eye(2)), 0.1, steps=3)
