"""Built-in problems: values against numpy, gradients and HVPs against finite differences,
smoothness against eigvalsh of the explicit Hessian, bad input, pickling."""
import pickle
import threading

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import problems as ref

from lrcore.datasets import load_breast_cancer, load_diabetes
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic


def make_problems():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 7))
    M = rng.normal(size=(6, 6))
    yield "quadratic", Quadratic(M + M.T, b=rng.normal(size=6))
    yield "quadratic-indefinite-nob", Quadratic(np.diag([-3.0, 0.5, 2.0]))
    # past the small-matrix loops (d > 32): products through BLAS dsymv, the value alone
    # through the problem's workspace
    M50 = rng.normal(size=(50, 50))
    yield "quadratic-50", Quadratic(M50 + M50.T, b=rng.normal(size=50))
    yield "lsq", LeastSquares(X, rng.normal(size=60))
    yield "lsq-l2", LeastSquares(X, rng.normal(size=60), l2=0.3)
    yield "logistic", Logistic(X, (rng.random(60) < 0.4).astype(float))
    yield "logistic-l2", Logistic(X * 5, (rng.random(60) < 0.5).astype(float), l2=0.1)
    Xd, yd, _ = load_diabetes(standardize=True)
    yield "diabetes", LeastSquares(Xd, yd / yd.std())
    Xb, yb, _ = load_breast_cancer(standardize=True)
    yield "breast-cancer", Logistic(Xb, yb, l2=1e-3)


PROBLEMS = list(make_problems())


@pytest.mark.parametrize("name,p", PROBLEMS, ids=[n for n, _ in PROBLEMS])
def test_value_grad_hvp(name, p):
    rng = np.random.default_rng(1)
    for _ in range(3):
        w = rng.normal(size=p.dim) * 0.5
        v = rng.normal(size=p.dim)
        ref.assert_matches_twin(p, w, v)


@pytest.mark.parametrize("name,p", PROBLEMS, ids=[n for n, _ in PROBLEMS])
def test_smoothness_and_strong_convexity(name, p):
    if isinstance(p, Logistic):
        ev = np.linalg.eigvalsh(p.X.T @ p.X / (4 * len(p.y)))
        assert p.smoothness() == pytest.approx(ev[-1] + p.l2, rel=1e-6)
        assert p.strong_convexity() == p.l2
        w = np.random.default_rng(2).normal(size=p.dim) * 0.1
        local = np.linalg.eigvalsh(ref.hessian(p, w))[-1]
        assert p.local_smoothness(w) == pytest.approx(local, rel=1e-6)
        assert p.local_smoothness(w) <= p.smoothness() * (1 + 1e-9)
    else:
        ev = np.linalg.eigvalsh(ref.hessian(p, np.zeros(p.dim)))
        assert p.smoothness() == pytest.approx(ev[-1], rel=1e-6)
        assert p.strong_convexity() == pytest.approx(ev[0], rel=1e-5, abs=1e-9)
        c = p.curvature()
        assert c.upper_bound >= ev[-1] * (1 - 1e-12)


def test_logistic_is_stable_for_extreme_margins():
    X = np.array([[1.0], [1.0], [-1.0]])
    p = Logistic(X, np.array([1.0, 0.0, 0.0]))
    for w in (800.0, -800.0, 1e6):
        f, g = p.value_and_grad(np.array([w]))
        assert np.isfinite(f) and np.all(np.isfinite(g))
        assert f == pytest.approx(ref.value(p, np.array([w])), rel=1e-12)


def test_from_functions_matches_builtin():
    p = LeastSquares(*[a for a in (np.random.default_rng(3).normal(size=(30, 4)),
                                   np.random.default_rng(4).normal(size=30))], l2=0.1)
    fp = Problem.from_functions(p.value_and_grad, n=4)
    fq = Problem.from_functions(p.value_and_grad, hvp=p.hvp, n=4)
    w, v = np.ones(4), np.arange(4.0)
    assert_allclose(fp.hvp(w, v), p.hvp(w, v), rtol=1e-6)
    assert_allclose(fq.hvp(w, v), p.hvp(w, v), rtol=1e-14)
    assert fp.local_smoothness(w) == pytest.approx(p.smoothness(), rel=1e-5)
    bad = Problem.from_functions(lambda x: (0.0, np.zeros(3)), n=4)
    with pytest.raises(ValueError, match="gradient of shape"):
        bad.grad(w)
    with pytest.raises(TypeError, match="must return a pair"):
        Problem.from_functions(lambda x: 1.0, n=4).value(w)


def test_bad_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="A must be square"):
        Quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match="A must be symmetric"):
        Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"A has a non-finite value at index \(1, 1\)"):
        Quadratic(np.array([[1.0, 0.0], [0.0, np.inf]]))
    with pytest.raises(ValueError, match="y has 9 values but X has 10 rows"):
        LeastSquares(X, np.ones(9))
    with pytest.raises(ValueError, match="X has a non-finite value"):
        LeastSquares(np.full((2, 2), np.nan), np.ones(2))
    with pytest.raises(ValueError, match="labels 0 and 1, got 2.0 at index 3"):
        Logistic(X, np.array([0, 1, 0, 2.0, 0, 1, 0, 1, 0, 1]))
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        LeastSquares(X, np.ones(10), l2=-1)
    p = LeastSquares(X, np.ones(10))
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        p.value(np.ones(4))
    with pytest.raises(ValueError, match="x has non-finite entries"):
        p.grad(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="v has non-finite"):
        p.hvp(np.ones(3), np.array([np.inf, 0, 0]))
    with pytest.raises(ValueError, match="n .the dimension. must be"):
        Problem.from_functions(lambda x: (0.0, x))


def test_data_are_copied_problems_are_immutable():
    X = np.ones((4, 2))
    y = np.arange(4.0)
    p = LeastSquares(X, y)
    f0 = p.value(np.ones(2))
    X[:] = 100.0
    y[:] = -1.0
    assert p.value(np.ones(2)) == f0
    with pytest.raises(ValueError):
        p.X[0, 0] = 5.0


def test_pickle_roundtrip_and_threads():
    Xb, yb, _ = load_breast_cancer(standardize=True)
    p = Logistic(Xb, yb, l2=0.01)
    q = pickle.loads(pickle.dumps(p))
    w = np.random.default_rng(0).normal(size=p.dim) * 0.1
    assert q.value_and_grad(w)[0] == p.value_and_grad(w)[0]
    serial = [p.value_and_grad(w * k)[1] for k in range(8)]
    out = [None] * 8

    def work(k):
        for _ in range(20):
            out[k] = p.value_and_grad(w * k)[1]

    ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for a, b in zip(serial, out):
        assert np.array_equal(a, b)
