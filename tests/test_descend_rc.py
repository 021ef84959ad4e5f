"""The reverse-communicating descend loop (csrc/descend.c) and its two bindings.

Three ways to run the same optimisation are compared:

- the built-in C path, ``CProblem.descend`` (the C driver answers the machine's requests
  with the problem's C value and gradient);
- the callable path, ``_core.descend_callable`` with a Python ``value_and_grad``; fed the
  built-in problem's own ``value_and_grad`` it must give bit-identical results, since the
  arithmetic is the same;
- the independent Python twin, ``tests/reference/descend_loop.py`` (the loop that ran
  Python objectives before), equal to 1e-12 (its gradient norm is numpy's).
"""
import math

import numpy as np
import pytest

from reference import descend_loop as twin
from lrcore import _core, schedules
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic

METHODS = {"gd": 0.0, "heavy_ball": 0.9, "nesterov": 0.8, "adam": 0.9}
BETA2, EPS = 0.999, 1e-8
BLOWUP = 1e10


def _problems():
    rng = np.random.default_rng(7)
    Q = np.linalg.qr(rng.normal(size=(10, 10)))[0]
    A = Q @ np.diag(np.linspace(0.5, 10.0, 10)) @ Q.T
    quad = Quadratic((A + A.T) / 2, rng.normal(size=10))
    X = rng.normal(size=(60, 8))
    lsq = LeastSquares(X, X @ rng.normal(size=8) + 0.1 * rng.normal(size=60), l2=0.1)
    Z = rng.normal(size=(80, 6))
    logi = Logistic(Z, (Z @ rng.normal(size=6) > 0).astype(float), l2=0.01)
    return {"quadratic": quad, "least_squares": lsq, "logistic": logi}


PROBLEMS = _problems()


def _rates(config, problem, method, steps):
    L = problem.smoothness()
    base = {"gd": 1.0, "heavy_ball": 0.2, "nesterov": 0.3, "adam": 0.05}[method] / L
    if method == "adam":
        base = 0.05
    if config == "schedule":
        return base * schedules.warmup_cosine(1.0, 20, steps).values(steps)
    if config == "blowup":
        return np.full(steps, 50.0 * base)
    return np.full(steps, base)


CONFIGS = {
    #           steps, record_every, tol factor (x ||g0||), rates
    "constant": (300, 1, 0.0),
    "schedule": (250, 3, 0.0),
    "strided": (301, 7, 0.0),
    "tol": (5000, 4, 1e-3),
    "blowup": (2000, 5, 0.0),
    "steps0": (0, 1, 0.0),
}


def _c_run(problem, x0, lrs, steps, method, tol, r, blowup=BLOWUP):
    return problem._c.descend(x0, lrs, steps, method, METHODS[method], BETA2, EPS, tol,
                              blowup, r)


def _callable_run(vg, x0, lrs, steps, method, tol, r, blowup=BLOWUP):
    return _core.descend_callable(vg, x0, lrs, steps, method, METHODS[method], BETA2, EPS,
                                  tol, blowup, r)


def _twin_run(vg, x0, lrs, steps, method, tol, r, blowup=BLOWUP):
    p = Problem.from_functions(vg, n=len(x0))
    return twin.descend_python(p, np.array(x0, dtype=float), lrs, steps, method,
                               METHODS[method], BETA2, EPS, tol, r, blowup=blowup)


def _same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_identical(a, b):
    """Bit-identical results (NaN == NaN)."""
    assert a[6] == b[6] and a[3] == b[3]
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1], equal_nan=True)
    assert np.array_equal(a[2], b[2], equal_nan=True)
    assert _same_float(a[4], b[4]) and _same_float(a[5], b[5])


def assert_close(a, b, rtol=1e-12, final=True):
    """Equal to rtol (the gradient norms are computed differently)."""
    assert a[6] == b[6] and a[3] == b[3]
    np.testing.assert_allclose(a[0], b[0], rtol=rtol, atol=0)
    np.testing.assert_allclose(a[1], b[1], rtol=rtol, atol=0, equal_nan=True)
    np.testing.assert_allclose(a[2], b[2], rtol=rtol, atol=0, equal_nan=True)
    if final:
        np.testing.assert_allclose([a[4], a[5]], [b[4], b[5]], rtol=rtol, atol=0,
                                   equal_nan=True)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_callable_path_equals_builtin_path_and_twin(name, method, config):
    problem = PROBLEMS[name]
    steps, r, tolf = CONFIGS[config]
    x0 = np.linspace(-1.0, 1.0, problem.dim)
    tol = tolf * float(np.linalg.norm(problem.grad(x0)))
    lrs = _rates(config, problem, method, steps)
    x0_before = x0.copy()
    c = _c_run(problem, x0, lrs, steps, method, tol, r)
    cb = _callable_run(problem._c.value_and_grad, x0, lrs, steps, method, tol, r)
    tw = _twin_run(problem._c.value_and_grad, x0, lrs, steps, method, tol, r)
    assert np.array_equal(x0, x0_before)                  # both work on copies
    assert_identical(c, cb)
    assert_close(cb, tw)
    n_rec = steps // r + 1
    assert len(c[1]) == len(c[2]) == n_rec
    k = c[3] // r + 1                                    # recorded entries
    assert np.all(np.isnan(c[1][k:])) and np.all(np.isnan(c[2][k:]))
    # the configurations do what they are named for
    if config == "steps0":
        assert c[3] == 0 and c[6] == "completed"
        assert c[1][0] == c[4] == problem.value_and_grad(x0)[0]
    if config == "tol" and method == "gd":
        assert c[6] == "converged" and c[5] <= tol
    if config == "blowup" and method != "adam" and name != "logistic":
        assert c[6] == "diverged"
    if config in ("constant", "schedule", "strided"):
        assert c[6] == "completed" and c[3] == steps


def test_objective_overflow_without_the_blowup_bound():
    """blowup=0: the run goes on until f overflows; C paths identical, the twin agrees
    except that numpy's norm overflows where the scaled C norm does not."""
    q = PROBLEMS["quadratic"]
    x0 = np.ones(q.dim)
    lrs = np.full(400, 5.0 / q.smoothness())
    c = _c_run(q, x0, lrs, 400, "gd", 0.0, 1, blowup=0.0)
    cb = _callable_run(q._c.value_and_grad, x0, lrs, 400, "gd", 0.0, 1, blowup=0.0)
    with np.errstate(over="ignore"):                       # numpy's norm overflows
        tw = _twin_run(q._c.value_and_grad, x0, lrs, 400, "gd", 0.0, 1, blowup=0.0)
    assert_identical(c, cb)
    assert c[6] == "diverged" and c[4] == math.inf and 0 < c[3] < 400
    assert np.all(np.isfinite(c[0]))                       # x itself is still finite
    # numpy's ||g||^2 overflows (g ~ 1e155) an iterate or so before f does: the twin
    # stops there; up to that point everything agrees
    j = tw[3]
    assert tw[6] == "diverged" and c[3] - 2 <= j <= c[3] and tw[2][j] == math.inf
    np.testing.assert_array_equal(c[1][:j + 1], tw[1][:j + 1])
    np.testing.assert_allclose(c[2][:j], tw[2][:j], rtol=1e-12)
    x_j = _c_run(q, x0, lrs[:j], j, "gd", 0.0, 1, blowup=0.0)[0]
    g = q.grad(x_j)
    assert math.isfinite(c[2][j])                           # C's scaled norm does not
    np.testing.assert_allclose(c[2][j], np.linalg.norm(g * 2.0**-600) * 2.0**600, rtol=1e-14)


def _nan_after(threshold, where):
    """A quadratic objective whose loss or gradient turns NaN/Inf once x[0] < threshold."""
    def vg(x):
        f, g = 0.5 * float(x @ x), x.copy()
        if x[0] < threshold:
            if where == "f":
                f = math.nan
            elif where == "g":
                g[1] = math.nan
            elif where == "ginf":
                g[1] = math.inf
            else:
                f = math.inf
        return f, g
    return vg


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("where", ["f", "g", "finf", "ginf"])
def test_non_finite_objective_ends_the_run_as_diverged(method, where):
    vg = _nan_after(0.3, where)
    x0 = np.array([1.0, 0.5, -0.25])
    lrs = np.full(200, 0.05)
    cb = _callable_run(vg, x0, lrs, 200, method, 0.0, 2)
    tw = _twin_run(vg, x0, lrs, 200, method, 0.0, 2)
    assert cb[6] == "diverged" and 0 < cb[3] < 200
    k = cb[3]
    if where == "ginf":
        # C's norm of a gradient holding +-Inf is Inf, numpy's twin reports NaN
        assert cb[5] == math.inf and math.isnan(tw[5])
        assert cb[4] == tw[4]
        g = cb[2].copy()
        assert np.count_nonzero(g == math.inf) == (1 if k % 2 == 0 else 0)
        g[g == math.inf] = math.nan
        assert_close((*cb[:2], g, *cb[3:]), tw, final=False)
    else:
        assert_close(cb, tw)
    if k % 2 == 0:
        assert not math.isfinite(cb[1][k // 2]) or not math.isfinite(cb[2][k // 2])


def test_a_step_that_overflows_x_ends_the_run_without_calling_the_objective():
    calls = []

    def vg(x):
        calls.append(x.copy())
        return 0.0, np.full(3, 1e150)

    x0 = np.zeros(3)
    lrs = np.full(5, 1e200)
    cb = _callable_run(vg, x0, lrs, 5, "gd", 0.0, 1)
    assert len(calls) == 1                                 # never called at -inf
    assert cb[6] == "diverged" and cb[3] == 1
    assert np.all(cb[0] == -np.inf)
    assert cb[1][0] == 0.0 and math.isnan(cb[1][1]) and math.isnan(cb[4])
    # the twin stops there too, but keeps the previous iterate's loss as final_loss
    tw = _twin_run(vg, x0, lrs, 5, "gd", 0.0, 1)
    assert tw[6] == "diverged" and tw[3] == 1 and tw[4] == 0.0
    np.testing.assert_array_equal(cb[1], tw[1])


def _rosenbrock(x):
    a, b = x[:-1], x[1:]
    f = float(np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2))
    g = np.zeros_like(x)
    g[:-1] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    g[1:] += 200.0 * (b - a * a)
    return f, g


@pytest.mark.parametrize("n", [2, 5])
@pytest.mark.parametrize("method,lr", [("gd", 1e-3), ("heavy_ball", 2e-4), ("nesterov", 2e-4),
                                       ("adam", 2e-2)])
def test_rosenbrock_against_the_twin(n, method, lr):
    x0 = np.full(n, -1.2)
    x0[1::2] = 1.0
    steps = 3000
    lrs = lr * schedules.cosine(1.0, steps, floor=0.1).values(steps)
    cb = _callable_run(_rosenbrock, x0, lrs, steps, method, 1e-10, 10)
    tw = _twin_run(_rosenbrock, x0, lrs, steps, method, 1e-10, 10)
    assert_close(cb, tw)
    assert cb[6] == "completed" and cb[4] < 0.5 * _rosenbrock(x0)[0]


def test_large_problems_release_the_gil_and_still_agree():
    """n above the GIL-release threshold of descend_callable."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 10000)) / 100.0
    p = LeastSquares(X, rng.normal(size=40))
    x0 = np.zeros(p.dim)
    for method in METHODS:
        lrs = np.full(15, 0.01 if method == "adam" else 0.5)
        c = _c_run(p, x0, lrs, 15, method, 0.0, 2)
        cb = _callable_run(p._c.value_and_grad, x0, lrs, 15, method, 0.0, 2)
        assert_identical(c, cb)


def test_the_objective_gets_a_fresh_writable_copy_each_call():
    seen = []

    def vg(x):
        seen.append(x)
        f, g = 0.5 * float(x @ x), 2.0 * x          # g computed before x is scribbled on
        x[:] = 1e300
        return f, g

    x0 = np.array([1.0, -2.0])
    lrs = np.full(6, 0.1)
    cb = _callable_run(vg, x0, lrs, 6, "gd", 0.0, 1)
    clean = _callable_run(lambda x: (0.5 * float(x @ x), 2.0 * x), x0, lrs, 6, "gd", 0.0, 1)
    assert_identical(cb, clean)
    assert len(seen) == 7 and len({id(a) for a in seen}) == 7
    assert all(a.dtype == np.float64 and a.shape == (2,) and a.flags.writeable for a in seen)
    assert np.array_equal(x0, [1.0, -2.0])


@pytest.mark.parametrize("answer", [
    lambda x: (np.float32(0.5 * x @ x), list(x)),
    lambda x: (np.array(0.5 * x @ x), x.astype(np.float32).astype(np.float64)),
    lambda x: [0.5 * float(x @ x), tuple(x)],
    lambda x: (0.5 * float(x @ x), np.asfortranarray(x[::-1][::-1])),
    lambda x: (0.5 * float(x @ x), x.astype(">f8")),
])
def test_answers_are_coerced_to_float64(answer):
    x0 = np.array([0.5, -0.25, 2.0])
    lrs = np.full(5, 0.5)
    ref = _callable_run(lambda x: (0.5 * float(x @ x), x.copy()), x0, lrs, 5, "gd", 0.0, 1)
    got = _callable_run(answer, x0, lrs, 5, "gd", 0.0, 1)
    assert_close(got, ref, rtol=1e-6)


def test_integer_gradients_are_accepted():
    got = _callable_run(lambda x: (1, np.array([1, -1], dtype=np.int64)), np.zeros(2),
                        np.full(3, 0.5), 3, "gd", 0.0, 1)
    assert got[6] == "completed" and np.array_equal(got[0], [-1.5, 1.5])


class Boom(Exception):
    pass


@pytest.mark.parametrize("answer,exc,words", [
    (lambda x: 1.0, TypeError, ["pair", "float", "evaluation 0"]),
    (lambda x: (1.0, x, x), TypeError, ["pair", "tuple"]),
    (lambda x: None, TypeError, ["pair", "NoneType"]),
    (lambda x: (1.0, x[:2]), ValueError, ["gradient", "shape (2,)", "(3,)"]),
    (lambda x: (1.0, x.reshape(3, 1)), ValueError, ["gradient", "shape (3, 1)"]),
    (lambda x: (1.0, ["a", "b", "c"]), TypeError, ["gradient", "dtype <U1", "real"]),
    (lambda x: (1.0, x + 1j), TypeError, ["gradient", "complex"]),
    (lambda x: (1.0, [[1.0], [2.0, 3.0]]), TypeError, ["gradient", "not a numeric array"]),
    (lambda x: ("1.0", x), TypeError, ["loss f", "str"]),
    (lambda x: (None, x), TypeError, ["loss f", "NoneType"]),
    (lambda x: (np.ones(2), x), TypeError, ["loss f", "shape (2,)", "scalar"]),
    (lambda x: (1.0 + 2j, x), TypeError, ["loss f", "complex"]),
])
def test_bad_answers_raise_clear_errors_and_leave_x0_alone(answer, exc, words):
    x0 = np.array([1.0, 2.0, 3.0])
    with pytest.raises(exc) as info:
        _callable_run(answer, x0, np.full(4, 0.1), 4, "gd", 0.0, 1)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    assert np.array_equal(x0, [1.0, 2.0, 3.0])


def test_a_bad_answer_later_in_the_run_names_its_evaluation():
    def vg(x):
        vg.k += 1
        return (0.0, x) if vg.k < 4 else (0.0, x[:1])
    vg.k = 0
    with pytest.raises(ValueError, match="evaluation 3"):
        _callable_run(vg, np.ones(2), np.full(10, 0.1), 10, "gd", 0.0, 1)


def test_exceptions_in_user_code_propagate_unchanged():
    err = Boom("from the objective")

    def vg(x):
        vg.k += 1
        if vg.k == 3:
            raise err
        return 0.5 * float(x @ x), x.copy()
    vg.k = 0
    x0 = np.array([1.0, 1.0])
    with pytest.raises(Boom) as info:
        _callable_run(vg, x0, np.full(10, 0.1), 10, "heavy_ball", 0.0, 1)
    assert info.value is err
    assert np.array_equal(x0, [1.0, 1.0])


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"value_and_grad": 3}, TypeError, ["value_and_grad", "callable"]),
    ({"steps": -1}, ValueError, ["steps", ">= 0"]),
    ({"steps": 2.0}, TypeError, ["steps", "integer"]),
    ({"record_every": 0}, ValueError, ["record_every"]),
    ({"method": "sgd"}, ValueError, ["method", "'gd'"]),
    ({"method": None}, ValueError, ["method"]),
    ({"lrs": np.full(3, 0.1)}, ValueError, ["lrs", "shape (5,)"]),
    ({"lrs": [0.1, 0.1, -0.1, 0.1, 0.1]}, ValueError, ["lrs[2]", ">= 0"]),
    ({"lrs": [0.1, np.nan, 0.1, 0.1, 0.1]}, ValueError, ["lrs[1]", "finite"]),
    ({"lrs": ["a"] * 5}, TypeError, ["lrs", "real numbers"]),
    ({"lrs": None}, ValueError, ["lrs", "shape (5,)"]),
    ({"x0": np.ones((2, 2))}, ValueError, ["x0", "shape"]),
    ({"x0": [1.0, np.inf]}, ValueError, ["x0", "non-finite"]),
    ({"x0": ["a", "b"]}, TypeError, ["x0", "real numbers"]),
    ({"momentum": 1.0}, ValueError, ["momentum", "[0, 1)"]),
    ({"beta2": -0.1}, ValueError, ["beta2"]),
    ({"eps": 0.0}, ValueError, ["eps", "> 0"]),
    ({"tol": -1.0}, ValueError, ["tol", ">= 0"]),
    ({"tol": "x"}, TypeError, ["tol", "real number"]),
    ({"blowup": math.nan}, ValueError, ["blowup"]),
])
def test_arguments_are_validated_before_anything_runs(kwargs, exc, words):
    args = dict(value_and_grad=lambda x: (0.0, x.copy()), x0=np.ones(2),
                lrs=np.full(5, 0.1), steps=5, method="gd", momentum=0.0, beta2=0.999,
                eps=1e-8, tol=0.0, blowup=1e10, record_every=1)
    args.update(kwargs)
    with pytest.raises(exc) as info:
        _core.descend_callable(**args)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    # the built-in path validates the same way
    if "value_and_grad" not in kwargs and "x0" not in kwargs:
        q = Quadratic(np.eye(2))
        del args["value_and_grad"]
        with pytest.raises(exc):
            q._c.descend(**args)


def test_builtin_x0_must_match_the_problem():
    q = PROBLEMS["quadratic"]
    with pytest.raises(ValueError, match=r"x0 must have shape \(10,\)"):
        q._c.descend(np.ones(3), np.full(2, 0.1), 2, "gd", 0.0, 0.999, 1e-8, 0.0, 1e10, 1)


def test_empty_parameter_vector():
    cb = _callable_run(lambda x: (2.0, x.copy()), np.zeros(0), np.full(3, 0.1), 3, "adam",
                       0.0, 1)
    assert cb[6] == "completed" and cb[3] == 3 and cb[4] == 2.0 and cb[5] == 0.0


# ---- status discipline of the built-in problems ------------------------------------------

def test_builtin_evaluations_return_non_finite_results_as_values():
    """LRC_NONFINITE from problems.c means 'the result holds NaN/Inf': returned, not
    raised (documented in CProblem's docstring)."""
    q = Quadratic(np.diag([1.0, 10.0]))
    big = np.array([1e200, 1e200])
    assert q._c.value(big) == math.inf
    assert q.value(big) == math.inf
    f, g = q._c.value_and_grad(big)
    assert f == math.inf and np.all(np.isfinite(g))
    out = q._c.hvp(np.zeros(2), np.array([1e308, 1e308]))
    assert out[1] == math.inf
    ls = LeastSquares(np.array([[1e200, 0.0], [0.0, 1.0]]), np.zeros(2))
    f, g = ls._c.value_and_grad(np.array([1e200, 0.0]))
    assert f == math.inf and not np.all(np.isfinite(g))


def test_status_strings_cover_requests():
    assert _core.status_string(101) == "request: a value and gradient"
    assert _core.status_string(102) == "paused after its time budget"
    assert _core.status_string(6) == "unknown status"     # LRC_DIVERGED is gone
