"""Softmax (multinomial logistic) regression: value, gradient and HVP against the numpy twin
and finite differences, the parameter layout, the smoothness bound of Bohning (1992)
against eigvalsh of the explicit Hessian on the shipped digits data (it holds, is reached
within the factor K/2 the theory gives at W = 0, and its constant 1/2 is attained), the
trace used for certification, safe rates, runs, and bad labels."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from reference import problems as ref

from lrcore.datasets import load_digits
from lrcore.problems import Logistic, Softmax
from lrcore.rates import safe_lr
from lrcore.search import range_test
from lrcore.stability import check_stability, descend


def random_problem(seed=0, n=50, d=6, K=4, l2=0.0, scale=1.0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    y = rng.integers(0, K, size=n)
    y[:K] = np.arange(K)
    return Softmax(sp.csr_array(X) if sparse else X, y, l2=l2), rng


@pytest.fixture(scope="module")
def digits():
    X, y, _ = load_digits()
    return X / 16.0, y.astype(int)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_value_grad_hvp_against_twin_and_finite_differences(sparse, l2):
    p, rng = random_problem(1, l2=l2, sparse=sparse)
    for scale in (0.1, 1.0, 3.0):
        w = rng.normal(size=p.dim) * scale
        v = rng.normal(size=p.dim)
        ref.assert_matches_twin(p, w, v, grad_atol=1e-13)


def test_parameter_layout_is_row_major_d_by_K():
    p, rng = random_problem(2, n=30, d=3, K=5)
    W = rng.normal(size=(3, 5))
    x = W.ravel()                       # C order: x[j * K + k] = W[j, k]
    assert np.array_equal(p.weights(x), W)
    Z = p.X @ W
    lse = np.log(np.exp(Z).sum(axis=1))
    assert p.value(x) == pytest.approx(np.mean(lse - Z[np.arange(30), p.y.astype(int)]),
                                       rel=1e-12)
    G = p.grad(x).reshape(3, 5)
    P = p.probabilities(x)
    Y = np.eye(5)[p.y.astype(int)]
    assert_allclose(G, p.X.T @ (P - Y) / 30, rtol=1e-11, atol=1e-14)


def test_extreme_logits_stay_finite():
    p, rng = random_problem(3, n=20, d=4, K=3)
    for s in (1e3, 1e6):
        w = rng.normal(size=p.dim) * s
        f, g = p.value_and_grad(w)
        assert np.isfinite(f) and np.all(np.isfinite(g))
        assert f == pytest.approx(ref.value(p, w), rel=1e-12)
        assert np.all(np.isfinite(p.hvp(w, np.ones(p.dim))))


def test_two_classes_is_logistic_in_disguise():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 5))
    y = (rng.random(40) < 0.5).astype(int)
    s, q = Softmax(X, y), Logistic(X, y)
    w = rng.normal(size=5)
    # W = [0, w] gives z_1 - z_0 = Xw: the same loss
    W = np.column_stack([np.zeros(5), w])
    assert s.value(W.ravel()) == pytest.approx(q.value(w), rel=1e-12)
    # the bound: lambda_max(X'X/n)/2 for softmax vs /4 for logistic (the Hessian along
    # (-w/2, w/2) is the logistic one over 2)
    assert s.smoothness() == pytest.approx(2 * q.smoothness(), rel=1e-9)


def test_bohning_bound_on_digits(digits):
    X, y = digits
    K = 10
    p = Softmax(X, y)
    L = p.smoothness()
    assert L == pytest.approx(ref.softmax_bound(p), rel=1e-8)
    assert p.curvature().upper_bound >= ref.softmax_bound(p) * (1 - 1e-12)
    lam = np.linalg.eigvalsh(X.T @ X / len(y))[-1]
    # at W = 0 every p_i is uniform: H = (X'X/n) kron (I - 11'/K)/K, so the bound is
    # exactly K/2 times the local curvature
    H0 = ref.hessian(p, np.zeros(p.dim))
    top0 = np.linalg.eigvalsh(H0)[-1]
    assert top0 == pytest.approx(lam / K, rel=1e-9)
    assert L / top0 == pytest.approx(K / 2, rel=1e-8)
    assert p.local_smoothness(np.zeros(p.dim)) == pytest.approx(top0, rel=1e-6)
    # the bound holds everywhere: random points and a trained model
    rng = np.random.default_rng(5)
    trained = descend(p, p.default_x0(), 1.0 / L, steps=300).x
    for w in (rng.normal(size=p.dim) * 0.3, rng.normal(size=p.dim) * 3.0, trained):
        top = np.linalg.eigvalsh(ref.hessian(p, w))[-1]
        assert top <= L * (1 + 1e-12)
        assert 1.0 <= L / top
        assert p.local_smoothness(w) == pytest.approx(top, rel=1e-6)


def test_bound_constant_one_half_is_attained():
    # identical samples, W putting mass 1/2 on classes 0 and 1: A(p) has eigenvalue 1/2
    # along e_0 - e_1, so the Hessian reaches lambda_max(X'X/n)/2 -- the bound is tight
    x = np.array([1.0, 2.0, -1.0])
    X = np.tile(x, (6, 1))
    y = np.array([0, 1, 2, 3, 0, 1])
    p = Softmax(X, y)
    W = np.zeros((3, 4))
    W[:, 2:] = -40.0 * x[:, None] / (x @ x)       # z = (0, 0, -40, -40)
    top = np.linalg.eigvalsh(ref.hessian(p, W.ravel()))[-1]
    assert top == pytest.approx(p.smoothness(), rel=1e-12)
    assert p.smoothness() == pytest.approx(x @ x / 2, rel=1e-12)


def test_trace_at_a_point_makes_safe_lr_certified(digits):
    X, y = digits
    p = Softmax(X[:300], y[:300], l2=1e-3)
    rng = np.random.default_rng(6)
    w = rng.normal(size=p.dim) * 0.2
    psd, trace = p._hessian_facts(w)
    assert psd and trace == pytest.approx(np.trace(ref.hessian(p, w)), rel=1e-10)
    # (mu given: the smallest eigenvalue at w is the l2 floor, 64-fold degenerate, which
    # the SA Lanczos solve safe_lr would otherwise run resolves only slowly)
    r = safe_lr(p, x=w, mu=p.strong_convexity())
    top = np.linalg.eigvalsh(ref.hessian(p, w))[-1]
    assert r.L <= top * (1 + 1e-9) and r.L_upper >= top * (1 - 1e-12)
    assert r.bound in ("deterministic", "probabilistic") and np.isfinite(r.L_upper)
    # the trace gives the eigen-solver a deterministic bound on the Hessian at w
    c = p.curvature(w)
    assert c.bound == "deterministic" or c.upper_bound <= trace
    g = safe_lr(p)                                   # the global bound
    assert g.L == pytest.approx(p.smoothness()) and g.mu == pytest.approx(1e-3)
    assert "Bohning 1992" in g.where


def test_properties_runs_and_search(digits):
    X, y = digits
    p = Softmax(X, y, l2=1e-2)
    assert p.global_smoothness and not p.constant_hessian
    assert p.strong_convexity() == 1e-2
    assert p.n_classes == 10 and p.dim == 640 and p.n_features == 64
    assert "softmax" in p.smoothness_source()
    r = safe_lr(p)
    rep = check_stability(p, r.recommended, steps=300)
    assert rep.status == "converged"
    tr = descend(p, p.default_x0(), r.recommended, steps=300)
    assert tr.final_loss < np.log(10) / 2
    acc = np.mean(p.probabilities(tr.x).argmax(axis=1) == y)
    assert acc > 0.9
    rt = range_test(p, start=1e-3 * r.max_stable, end=30 * r.max_stable, num=40)
    assert 0 < rt.suggestion() < 30 * r.max_stable
    q = pickle.loads(pickle.dumps(p))
    assert np.array_equal(q.grad(tr.x), p.grad(tr.x))
    assert "n_classes=10" in repr(p)


def test_bad_labels():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"class 2 has no samples \(labels must be 0..3"):
        Softmax(X, [0, 1, 3, 3])
    with pytest.raises(ValueError, match="got -1 at index 2"):
        Softmax(X, [0, 1, -1, 1])
    with pytest.raises(ValueError, match="got 1.5 at index 1"):
        Softmax(X, [0, 1.5, 1, 0])
    with pytest.raises(ValueError, match="at least two classes"):
        Softmax(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="y must be 1-D"):
        Softmax(X, np.zeros((4, 1)))
    with pytest.raises(TypeError, match="integer class labels"):
        Softmax(X, np.array(["a", "b", "a", "b"]))
    with pytest.raises(ValueError, match="y has 3 values but X has 4 rows"):
        Softmax(X, [0, 1, 2])
    p = Softmax(X, np.array([0.0, 1.0, 2.0, 1.0]))      # float labels with integer values
    assert p.n_classes == 3
    with pytest.raises(ValueError, match=r"x must have shape \(6,\)"):
        p.value(np.zeros(4))


def test_large_dense_softmax_through_dgemm_matches_the_row_loop_and_twin():
    # d K > 32768: the dense kernels use dgemm instead of the row-by-row loop
    rng = np.random.default_rng(7)
    n, d, K = 40, 5000, 7
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.2)
    y = np.arange(n) % K
    dense, sparse = Softmax(X, y, l2=0.1), Softmax(sp.csr_array(X), y, l2=0.1)
    assert dense.dim == 35000   # above the row-loop limit of 32768 weights
    w = rng.normal(size=dense.dim) * 0.1
    v = rng.normal(size=dense.dim)
    f, g = dense.value_and_grad(w)
    assert f == pytest.approx(ref.value(dense, w), rel=1e-12)
    assert_allclose(g, ref.grad(dense, w), rtol=1e-10, atol=1e-14)
    assert_allclose(dense.hvp(w, v), ref.hvp(dense, w, v), rtol=1e-10, atol=1e-13)
    assert f == pytest.approx(sparse.value(w), rel=1e-12)
    assert_allclose(g, sparse.grad(w), rtol=1e-10, atol=1e-14)
    assert_allclose(dense.hvp(w, v), sparse.hvp(w, v), rtol=1e-10, atol=1e-13)
