"""Plain-numpy twins of the built-in problems (lrcore.problems): value, gradient, Hessian and
Hessian-vector product, written from the formulas of lrcore.problems' docstring table:

    Quadratic(A, b)      f(x) = 1/2 x^T A x - b^T x                  H = A
    LeastSquares(X, y)   f(w) = 1/(2n) ||Xw - y||^2 + l2/2 ||w||^2     H = X^T X / n + l2 I
    Logistic(X, y)       f(w) = 1/n sum log(1 + e^z) - y z + l2/2 ||w||^2,  z = Xw
                         H = X^T D X / n + l2 I,  D = diag(s (1 - s)),  s = sigmoid(z)
    Softmax(X, y)        f(W) = 1/n sum_i [log sum_k e^{z_ik} - z_{i,y_i}] + l2/2 ||W||^2,
                         Z = X W,  W = w.reshape(d, K) (row-major: w[j K + k] = W[j, k])
                         grad = X^T (P - Y) / n + l2 W   (P softmax probabilities, Y one-hot)
                         H = 1/n sum_i kron(x_i x_i^T, diag(p_i) - p_i p_i^T) + l2 I

Only the problem's data (``A``, ``b``, ``X``, ``y``, ``l2``, ``n_classes``) are read; a
sparse ``X`` is densified first; no C kernel runs.  Also :func:`fd_grad`, central finite
differences of any scalar function, and :func:`softmax_bound`, the smoothness bound of
Bohning (1992) computed from an explicit eigendecomposition.

:func:`assert_matches_twin` is the one function here that calls a problem's own methods:
the check of a built-in problem's value, gradient, HVP and Hessian against these twins
and against finite differences, shared by ``test_problems.py`` and ``test_softmax.py``.
"""
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_allclose

from lrcore.problems import LeastSquares, Logistic, Softmax


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def dense_X(p):
    """The design matrix of p as a dense float64 array."""
    return p.X.toarray() if sp.issparse(p.X) else np.asarray(p.X)


def _softmax_parts(p, w):
    X = dense_X(p)
    K = p.n_classes
    W = np.asarray(w, dtype=np.float64).reshape(X.shape[1], K)
    Z = X @ W
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    lse = (m + np.log(E.sum(axis=1, keepdims=True))).ravel()
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.zeros_like(P)
    Y[np.arange(len(p.y)), p.y.astype(int)] = 1.0
    return SimpleNamespace(X=X, W=W, Z=Z, lse=lse, P=P, Y=Y)


def value(p, w):
    if isinstance(p, Softmax):
        s = _softmax_parts(p, w)
        return np.mean(s.lse - s.Z[np.arange(len(p.y)), p.y.astype(int)]) + 0.5 * p.l2 * w @ w
    if isinstance(p, Logistic):
        z = dense_X(p) @ w
        return np.mean(softplus(z) - p.y * z) + 0.5 * p.l2 * w @ w
    if isinstance(p, LeastSquares):
        r = dense_X(p) @ w - p.y
        return 0.5 * r @ r / len(p.y) + 0.5 * p.l2 * w @ w
    return 0.5 * w @ p.A @ w - (0 if p.b is None else p.b @ w)


def grad(p, w):
    if isinstance(p, Softmax):
        s = _softmax_parts(p, w)
        return (s.X.T @ (s.P - s.Y) / len(p.y) + p.l2 * s.W).ravel()
    X = dense_X(p) if isinstance(p, LeastSquares) else None
    if isinstance(p, Logistic):
        return X.T @ (sigmoid(X @ w) - p.y) / len(p.y) + p.l2 * w
    if isinstance(p, LeastSquares):
        return X.T @ (X @ w - p.y) / len(p.y) + p.l2 * w
    return p.A @ w - (0 if p.b is None else p.b)


def value_and_grad(p, w):
    return value(p, w), grad(p, w)


def hessian(p, w):
    if isinstance(p, Softmax):
        s = _softmax_parts(p, w)
        X, P = s.X, s.P
        n, d = X.shape
        K = p.n_classes
        # sum_i kron(x_i x_i^T, A_i), A_i = diag(p_i) - p_i p_i^T, as one matrix product:
        # entry ((j, k), (l, m)) = sum_i X[i, j] X[i, l] A_i[k, m]
        A = P[:, :, None] * (np.eye(K)[None] - P[:, None, :])
        XX = (X[:, :, None] * X[:, None, :]).reshape(n, d * d)
        H = (XX.T @ A.reshape(n, K * K)).reshape(d, d, K, K).transpose(0, 2, 1, 3)
        return H.reshape(d * K, d * K) / n + p.l2 * np.eye(p.dim)
    if isinstance(p, Logistic):
        X = dense_X(p)
        s = sigmoid(X @ w)
        return (X.T * (s * (1 - s))) @ X / len(p.y) + p.l2 * np.eye(p.dim)
    if isinstance(p, LeastSquares):
        X = dense_X(p)
        return X.T @ X / len(p.y) + p.l2 * np.eye(p.dim)
    return p.A


def hvp(p, w, v):
    """H(w) v without forming H (two products with X)."""
    if isinstance(p, Softmax):
        s = _softmax_parts(p, w)
        X, P = s.X, s.P
        V = np.asarray(v, dtype=np.float64).reshape(s.W.shape)
        U = X @ V
        Q = P * U - P * np.sum(P * U, axis=1, keepdims=True)
        return (X.T @ Q / len(p.y) + p.l2 * V).ravel()
    if isinstance(p, Logistic):
        X = dense_X(p)
        s = sigmoid(X @ w)
        return X.T @ (s * (1 - s) * (X @ v)) / len(p.y) + p.l2 * v
    if isinstance(p, LeastSquares):
        X = dense_X(p)
        return X.T @ (X @ v) / len(p.y) + p.l2 * v
    return p.A @ v


def softmax_bound(p):
    """Bohning's bound lambda_max(X^T X / n) / 2 + l2 on the softmax Hessian (eigvalsh)."""
    X = dense_X(p)
    return np.linalg.eigvalsh(X.T @ X / len(p.y))[-1] / 2 + p.l2


def fd_grad(f, w, h=1e-6):
    g = np.empty_like(w)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def assert_matches_twin(p, w, v, *, grad_atol=1e-12):
    """Check problem ``p`` at ``w`` (and along ``v``) against its twin: the value to 1e-12,
    the gradient to ``rtol=1e-10, atol=grad_atol`` and to central finite differences of the
    twin's value, ``grad`` bit for bit equal to ``value_and_grad``'s gradient, the HVP
    against the explicit Hessian, the twin's HVP and finite differences of ``p.grad``, and
    ``p.hessian(w)``."""
    import pytest  # here, not at the top: the benchmarks import the twins without it

    f, g = p.value_and_grad(w)
    assert f == pytest.approx(value(p, w), rel=1e-12, abs=1e-12)
    assert p.value(w) == pytest.approx(f, rel=1e-14)
    assert_allclose(g, grad(p, w), rtol=1e-10, atol=grad_atol)
    assert_allclose(g, fd_grad(lambda z: value(p, z), w), rtol=1e-6, atol=1e-7)
    assert_allclose(p.grad(w), g, rtol=0, atol=0)
    H = hessian(p, w)
    assert_allclose(p.hvp(w, v), H @ v, rtol=1e-10, atol=1e-12)
    assert_allclose(p.hvp(w, v), hvp(p, w, v), rtol=1e-10, atol=1e-12)
    # the HVP is the directional derivative of the gradient
    h = 1e-5
    fd = (p.grad(w + h * v) - p.grad(w - h * v)) / (2 * h)
    assert_allclose(p.hvp(w, v), fd, rtol=1e-5, atol=1e-6)
    assert_allclose(p.hessian(w) @ v, H @ v, rtol=1e-10, atol=1e-12)
