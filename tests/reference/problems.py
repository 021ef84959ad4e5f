"""Plain-numpy twins of the built-in problems (lrcore.problems): value, gradient, Hessian and
Hessian-vector product, written from the formulas of lrcore.problems' docstring table:

    Quadratic(A, b)      f(x) = 1/2 x^T A x - b^T x                  H = A
    LeastSquares(X, y)   f(w) = 1/(2n) ||Xw - y||^2 + l2/2 ||w||^2     H = X^T X / n + l2 I
    Logistic(X, y)       f(w) = 1/n sum log(1 + e^z) - y z + l2/2 ||w||^2,  z = Xw
                         H = X^T D X / n + l2 I,  D = diag(s (1 - s)),  s = sigmoid(z)

Only the problem's data (``A``, ``b``, ``X``, ``y``, ``l2``) are read; no C kernel runs.
Also :func:`fd_grad`, central finite differences of any scalar function.
"""
import numpy as np

from lrcore.problems import LeastSquares, Logistic


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def value(p, w):
    if isinstance(p, Logistic):
        z = p.X @ w
        return np.mean(softplus(z) - p.y * z) + 0.5 * p.l2 * w @ w
    if isinstance(p, LeastSquares):
        r = p.X @ w - p.y
        return 0.5 * r @ r / len(p.y) + 0.5 * p.l2 * w @ w
    return 0.5 * w @ p.A @ w - (0 if p.b is None else p.b @ w)


def grad(p, w):
    if isinstance(p, Logistic):
        return p.X.T @ (sigmoid(p.X @ w) - p.y) / len(p.y) + p.l2 * w
    if isinstance(p, LeastSquares):
        return p.X.T @ (p.X @ w - p.y) / len(p.y) + p.l2 * w
    return p.A @ w - (0 if p.b is None else p.b)


def value_and_grad(p, w):
    return value(p, w), grad(p, w)


def hessian(p, w):
    if isinstance(p, Logistic):
        s = sigmoid(p.X @ w)
        return (p.X.T * (s * (1 - s))) @ p.X / len(p.y) + p.l2 * np.eye(p.dim)
    if isinstance(p, LeastSquares):
        return p.X.T @ p.X / len(p.y) + p.l2 * np.eye(p.dim)
    return p.A


def hvp(p, w, v):
    """H(w) v without forming H (least squares and logistic: two products with X)."""
    if isinstance(p, Logistic):
        s = sigmoid(p.X @ w)
        return p.X.T @ (s * (1 - s) * (p.X @ v)) / len(p.y) + p.l2 * v
    if isinstance(p, LeastSquares):
        return p.X.T @ (p.X @ v) / len(p.y) + p.l2 * v
    return p.A @ v


def fd_grad(f, w, h=1e-6):
    g = np.empty_like(w)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g
