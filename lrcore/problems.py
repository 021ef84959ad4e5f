"""Built-in objectives whose curvature lrcore measures, and user objectives from functions.

=====================  ==========================================================  =========
problem                loss                                                        Hessian
=====================  ==========================================================  =========
``Quadratic(A, b)``    :math:`\\tfrac12 x^\\top A x - b^\\top x`                      :math:`A`
``LeastSquares``       :math:`\\tfrac1{2n}\\|Xw-y\\|^2 + \\tfrac{l_2}2\\|w\\|^2`          :math:`X^\\top X/n + l_2 I`
``Logistic``           :math:`\\tfrac1n\\sum \\log(1+e^{z_i}) - y_i z_i + \\tfrac{l_2}2\\|w\\|^2`, :math:`z = Xw`  :math:`X^\\top D X/n + l_2 I`
``Softmax``            :math:`\\tfrac1n\\sum \\log\\sum_k e^{z_{ik}} - z_{i y_i} + \\tfrac{l_2}2\\|W\\|^2`, :math:`Z = XW`  :math:`\\tfrac1n\\sum x_i x_i^\\top \\otimes (\\mathrm{diag}\\,p_i - p_i p_i^\\top) + l_2 I`
=====================  ==========================================================  =========

Value, gradient and Hessian-vector products of the built-in problems are C kernels
(``csrc/problems.c``; dense products through scipy's BLAS, the element-wise parts fused),
and a whole optimisation run on them happens in C (:func:`lrcore.stability.descend`).
Data are copied once, as float64, when a problem is made, so a problem is immutable.

Sparse design matrices: ``LeastSquares``, ``Logistic`` and ``Softmax`` take any
``scipy.sparse`` matrix or array for ``X``.  It is converted once to CSR (a private copy
with float64 values; int32 indices stay int32, int64 stay int64; duplicate entries are
summed and rows sorted; explicit zeros are kept) and never densified: value, gradient and
Hessian-vector products read each row once (``csrc/problems_csr.inc``: the row's dot
products, the per-sample derivative and the scatter into the result in one pass, on
several threads for large data), and the smoothness constant is the top eigenvalue of the
implicit operator :math:`v \\mapsto X^\\top(Xv)/n`, never formed.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from lrcore._core import CProblem
from lrcore._validation import finite_data, nonneg, point, private_csr
from lrcore.curvature import EigResult, SymmetricOperator, hvp_operator, top_eigenvalue

__all__ = ["Problem", "Quadratic", "LeastSquares", "Logistic", "Softmax", "FunctionProblem"]

_KIND_QUADRATIC, _KIND_LS, _KIND_LOGISTIC, _KIND_SOFTMAX = 0, 1, 2, 3

# the user's functions receive float64 copies of the point (and direction); what they
# return is converted with np.asarray(..., dtype=np.float64)
_ValueAndGrad: TypeAlias = Callable[[NDArray[np.float64]], tuple[float, ArrayLike]]
_Hvp: TypeAlias = Callable[[NDArray[np.float64], NDArray[np.float64]], ArrayLike]


class Problem:
    """An objective with value, gradient, Hessian-vector products and curvature.

    Subclasses: :class:`Quadratic`, :class:`LeastSquares`, :class:`Logistic`, and the
    problems made by :meth:`from_functions`.  Every method taking ``x`` validates it: a
    float array of shape ``(dim,)`` with finite entries (``ValueError`` otherwise).
    """

    dim: int
    #: True when :meth:`smoothness` is a global constant of the problem (the built-in
    #: problems), False when it is only measured at a point (:meth:`from_functions`).
    global_smoothness: bool = False
    #: True when the Hessian is the same everywhere (quadratics, least squares).
    constant_hessian: bool = False

    @property
    def c_problem(self) -> Any:
        """The C objective that evaluates this problem without Python (the built-in
        problems; used by the C loops of :mod:`lrcore.stability` and :mod:`lrcore.search`),
        or None for problems made from Python functions."""
        return None

    # -- evaluation ---------------------------------------------------------------------
    def _x(self, x: Any, name: str = "x") -> NDArray[np.float64]:
        return point(x, self.dim, name)

    def value(self, x: NDArray[Any]) -> float:
        """f(x)."""
        return self.value_and_grad(x)[0]

    def grad(self, x: NDArray[Any]) -> NDArray[np.float64]:
        """The gradient of f at x."""
        return self.value_and_grad(x)[1]

    def value_and_grad(self, x: NDArray[Any]) -> tuple[float, NDArray[np.float64]]:
        """(f(x), grad f(x)) in one evaluation."""
        raise NotImplementedError

    def hvp(self, x: NDArray[Any], v: NDArray[Any]) -> NDArray[np.float64]:
        """The Hessian of f at x applied to v."""
        raise NotImplementedError

    def hessian(self, x: NDArray[Any] | None = None) -> LinearOperator:
        """The Hessian at ``x`` (default: :meth:`default_x0`) as a symmetric LinearOperator.

        Never formed: every product is one :meth:`hvp`.
        """
        x = self.default_x0() if x is None else self._x(x)
        psd, trace = self._hessian_facts(x)
        return SymmetricOperator(self.dim, lambda v: self.hvp(x, v), psd=psd, trace=trace)

    def _hessian_facts(self, x: NDArray[np.float64]) -> tuple[bool, float | None]:
        """(positive semi-definite?, trace or None) of the Hessian at x, when known cheaply
        (they give the eigen-solver a deterministic bound)."""
        return False, None

    def default_x0(self) -> NDArray[np.float64]:
        """The starting point used when none is given: zeros."""
        return np.zeros(self.dim)

    def smoothness_source(self) -> str:
        """What :meth:`smoothness` is, in words (reported by :func:`lrcore.rates.safe_lr`)."""
        return "the problem's global smoothness constant"

    # -- curvature ----------------------------------------------------------------------
    def curvature(self, x: NDArray[Any] | None = None, *, which: str = "LA",
                  **eig_kwargs: Any) -> EigResult:
        """An :class:`lrcore.curvature.EigResult` of the Hessian at ``x``.

        With ``x=None`` the global quantity the problem defines (see :meth:`smoothness`);
        results for ``x=None`` are cached (the problem is immutable).  The solver's random
        start is seeded with ``seed=0`` unless ``seed`` is given, so results are
        reproducible.
        """
        # a problem's curvature is reproducible: the solver's random start is seeded (0)
        # unless a seed is given
        eig_kwargs.setdefault("seed", 0)
        key = (which, tuple(sorted(eig_kwargs.items(), key=lambda kv: kv[0])))
        if x is None:
            cache: dict[tuple[str, tuple[tuple[str, Any], ...]], EigResult] = \
                self.__dict__.setdefault("_curv_cache", {})
            if key not in cache:
                cache[key] = self._global_curvature(which, **eig_kwargs)
            return cache[key]
        return top_eigenvalue(self.hessian(self._x(x)), which=which, **eig_kwargs)

    def _global_operator(self) -> Any:
        return self.hessian(None)

    def _global_curvature(self, which: str, **eig_kwargs: Any) -> EigResult:
        return top_eigenvalue(self._global_operator(), which=which, **eig_kwargs)

    def smoothness(self) -> float:
        """The smoothness constant L (largest Hessian eigenvalue; see subclasses)."""
        return float(self.curvature().value)

    def local_smoothness(self, x: NDArray[Any]) -> float:
        """The largest eigenvalue of the Hessian at ``x``."""
        return float(self.curvature(x).value)

    def strong_convexity(self) -> float:
        """The strong-convexity constant mu (smallest Hessian eigenvalue; see subclasses).

        Negative when the problem is not convex (at the reference point).
        """
        return float(self.curvature(which="SA").value)

    @staticmethod
    def from_functions(value_and_grad: _ValueAndGrad, *, hvp: _Hvp | None = None,
                       n: int | None = None, x0: ArrayLike | None = None) -> FunctionProblem:
        """A problem from the user's ``value_and_grad(x) -> (f, g)`` (and optional exact
        ``hvp(x, v)``; otherwise Hessian-vector products are central differences of the
        gradient, :func:`lrcore.curvature.hvp_operator`).  ``n`` is the dimension.

        Such a problem has no global smoothness constant: its curvature is measured at a
        point, ``x0`` (its :meth:`default_x0`, e.g. the current weights) or the point
        passed to each call.  Without ``x0``, calls that need a point and get none raise
        (no silent measurement at zeros).

        Examples
        --------
        >>> import numpy as np
        >>> from lrcore.problems import Problem
        >>> p = Problem.from_functions(lambda x: (float(x @ x), 2 * x), n=3, x0=np.ones(3))
        >>> round(p.local_smoothness(np.ones(3)), 6), round(p.smoothness(), 6)
        (2.0, 2.0)
        """
        return FunctionProblem(value_and_grad, hvp=hvp, n=n, x0=x0)


class _Builtin(Problem):
    """A problem evaluated by the C kernels."""

    _c: CProblem
    global_smoothness = True

    @property
    def c_problem(self) -> CProblem:
        return self._c

    def value(self, x: NDArray[Any]) -> float:
        return float(self._c.value(self._x(x)))

    def value_and_grad(self, x: NDArray[Any]) -> tuple[float, NDArray[np.float64]]:
        f, g = self._c.value_and_grad(self._x(x))
        return float(f), g

    def hvp(self, x: NDArray[Any], v: NDArray[Any]) -> NDArray[np.float64]:
        return self._c.hvp(self._x(x), self._x(v, "v"))

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("_curv_cache", None)
        return d


class Quadratic(_Builtin):
    """:math:`f(x) = \\tfrac12 x^\\top A x - b^\\top x` with a symmetric matrix ``A``.

    Gradient :math:`Ax - b`, Hessian :math:`A` everywhere, so :meth:`smoothness` is
    exactly :math:`\\lambda_{\\max}(A)` and :meth:`strong_convexity` :math:`\\lambda_{\\min}(A)`
    (negative for an indefinite ``A``).  The default start is a fixed pseudo-random unit
    vector when ``b`` is None (the minimiser is then 0), zeros otherwise.

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric (to 1e-10 relative), finite.
    b : array_like, shape (d,), optional

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Quadratic
    >>> q = Quadratic(np.diag([1.0, 4.0]), b=np.array([1.0, 0.0]))
    >>> q.value_and_grad(np.array([1.0, 1.0]))
    (1.5, array([0., 4.]))
    >>> round(q.smoothness(), 6), round(q.strong_convexity(), 6)
    (4.0, 1.0)
    """

    def __init__(self, A: Any, b: Any = None) -> None:
        A = finite_data(A, "A", 2)
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square, got shape {A.shape}")
        scale = float(np.max(np.abs(A))) if A.size else 0.0
        if A.size and float(np.max(np.abs(A - A.T))) > 1e-10 * scale:
            raise ValueError("A must be symmetric (max |A - A.T| exceeds 1e-10 max |A|)")
        self.A = A
        self.dim = A.shape[0]
        self.b = None if b is None else finite_data(b, "b", 1)
        if self.b is not None and self.b.shape != (self.dim,):
            raise ValueError(f"b must have shape ({self.dim},), got {self.b.shape}")
        self._c = CProblem(_KIND_QUADRATIC, A=A, b=self.b)

    constant_hessian = True

    def _global_operator(self) -> Any:
        return self.A

    def smoothness_source(self) -> str:
        return f"lambda_max(A) of the quadratic (its constant Hessian, {self.dim} x {self.dim})"

    def curvature(self, x: NDArray[Any] | None = None, *, which: str = "LA",
                  **eig_kwargs: Any) -> EigResult:
        return super().curvature(None, which=which, **eig_kwargs)   # constant Hessian

    def default_x0(self) -> NDArray[np.float64]:
        if self.b is not None:
            return np.zeros(self.dim)
        v = np.random.default_rng(0).standard_normal(self.dim)
        return v / max(float(np.linalg.norm(v)), 1e-300)

    def __repr__(self) -> str:
        return f"Quadratic(dim={self.dim}, b={'None' if self.b is None else '...'})"


def _sparse_design(X: Any, name: str) -> Any:
    """A private, validated CSR copy of a scipy.sparse design matrix: float64 values,
    int32 or int64 indices as given (int64 when the two index arrays differ), canonical
    (rows sorted, duplicates summed; explicit zeros kept), arrays read-only.

    The caller's arrays are copied first and validated on the copies (another thread may
    write them at any time, and scipy's compiled routines trust index arrays)."""
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    n, d = (int(k) for k in X.shape)
    indptr, indices, data = private_csr(X, name)
    data = data.astype(np.float64, copy=False)
    bad = ~np.isfinite(data)
    if bad.any():
        k = int(np.argmax(bad))
        i = int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(f"{name} has a non-finite value at index ({i}, {int(indices[k])})")
    out = sp.csr_array((data, indices, indptr), shape=(n, d), copy=False)
    for a in (out.indptr, out.indices, out.data):
        a.setflags(write=False)
    return out


def _design(X: Any, name: str = "X") -> Any:
    """A private copy of a design matrix: a read-only float64 ndarray, or for any
    scipy.sparse input a canonical CSR array (see :func:`_sparse_design`)."""
    if sp.issparse(X):
        return _sparse_design(X, name)
    return finite_data(X, name, 2)


class _LinearModel(_Builtin):
    """A model on a design matrix X (n samples x d features; dense or CSR) with targets
    y: least squares, logistic and softmax regression.  The smoothness constants are
    ``_gram_scale`` lambda_max(X'X/n) + l2."""

    X: Any
    y: NDArray[np.float64]
    l2: float
    n_samples: int
    n_features: int
    n_classes: int = 1
    _kind: int
    _gram_scale: float = 1.0

    _DENSE_GRAM_MAX_DIM = 512

    def _setup(self, X: Any, y: Any, l2: float) -> None:
        self.X = _design(X, "X")
        self.y = finite_data(y, "y", 1)
        if self.X.shape[0] < 1:
            raise ValueError("X has no rows")
        if self.y.shape[0] != self.X.shape[0]:
            raise ValueError(f"y has {self.y.shape[0]} values but X has {self.X.shape[0]} rows")
        self.l2 = nonneg(l2, "l2")
        self.n_samples, self.n_features = (int(k) for k in self.X.shape)
        self.dim = self.n_features * self.n_classes
        K = self.n_classes if self._kind == _KIND_SOFTMAX else 0
        if self.sparse:
            self._c = CProblem(self._kind, y=self.y, l2=self.l2,
                               csr=(self.X.indptr, self.X.indices, self.X.data),
                               n_features=self.n_features, n_classes=K)
        else:
            self._c = CProblem(self._kind, X=self.X, y=self.y, l2=self.l2, n_classes=K)

    @property
    def sparse(self) -> bool:
        """True when X is a scipy.sparse CSR array (the problem never densifies it)."""
        return bool(sp.issparse(self.X))

    def _describe_data(self) -> str:
        if self.sparse:
            return (f"{self.n_samples} samples x {self.n_features} features, sparse, "
                    f"{self.X.nnz} stored entries")
        return f"{self.n_samples} samples x {self.n_features} features"

    def _gram_operator(self, scale: float) -> Any:
        """``scale X'X/n + l2 I`` times ``s**2`` and ``s``: the data are multiplied by a
        power of two ``s`` when their entries are so small or large that X'X would
        underflow or overflow (exact: it changes no rounding); divide results by s**2."""
        X, l2, n, d = self.X, self.l2, self.n_samples, self.n_features
        vals = X.data if self.sparse else X
        amax = float(np.max(np.abs(vals))) if vals.size else 0.0
        s = 1.0
        if amax > 0 and not 2.0 ** -100 <= amax <= 2.0 ** 100:
            s = math.ldexp(1.0, -math.frexp(amax)[1])
        l2s = l2 * s * s
        if self.sparse:
            # the implicit operator v -> X'(Xv)/n: one fused pass over the CSR data per
            # product (C, GIL released), never forming X'X; PSD with a known trace, so
            # the eigen-solver certifies its bound deterministically
            c = self._c
            if s != 1.0:
                c = CProblem(_KIND_LS, y=np.zeros(n), csr=(X.indptr, X.indices, X.data * s),
                             n_features=d)
            # (einsum, not BLAS ddot: OpenBLAS runs a long ddot on its own threads, which
            # then spin on the cores the solver's OpenMP team needs -- 1.5x slower solves)
            trace = scale * float(np.einsum("i,i->", vals, vals)) * s * s / n + l2s * d
            g = c.gram
            f = lambda v: scale * g(v) + l2s * v  # noqa: E731
            return SymmetricOperator(d, f, psd=True, trace=trace), s
        if s != 1.0:
            X = X * s
        if d <= self._DENSE_GRAM_MAX_DIM:
            # small d: the d x d matrix costs one pass over X and gives the eigen-solver a
            # deterministic upper bound on lambda_max (see EigResult); the Hessian operator
            # of hessian(x) still never forms it
            G = scale * (X.T @ X) / n
            G.flat[:: d + 1] += l2s
            return G, s
        trace = scale * float(np.einsum("ij,ij->", X, X)) / n + l2s * d
        f = lambda v: scale * (X.T @ (X @ v)) / n + l2s * v  # noqa: E731
        return SymmetricOperator(d, f, psd=True, trace=trace), s

    def _global_curvature(self, which: str, **eig_kwargs: Any) -> EigResult:
        op, s = self._gram_operator(self._gram_scale)
        res = top_eigenvalue(op, which=which, **eig_kwargs)
        if s == 1.0:
            return res
        # undo the data scaling: the Hessian of s X is s**2 times the Hessian of X
        j = math.frexp(s)[1] - 1                         # s = 2**j
        try:
            out = {k: math.ldexp(getattr(res, k), -2 * j)
                   for k in ("value", "residual", "upper_bound", "lower_bound")}
        except OverflowError:
            out = {"value": math.inf}
        v = out["value"]
        if not math.isfinite(v) or (res.value != 0.0 and abs(v) < np.finfo(np.float64).tiny):
            what = "overflows" if not math.isfinite(v) or abs(v) > 1 else "underflows"
            amax = float(np.max(np.abs(self.X.data if self.sparse else self.X)))
            raise ValueError(
                f"the curvature of this problem {what} double precision: X has entries up "
                f"to {amax:.3g}, so lambda_max(X'X/n) is about "
                f"2**{math.log2(abs(res.value)) - 2 * j:.0f}; rescale X (e.g. standardize "
                "its columns)")
        return dataclasses.replace(res, value=out["value"], residual=out["residual"],
                                   upper_bound=out["upper_bound"],
                                   lower_bound=out["lower_bound"])

    @property
    def _row_sq(self) -> NDArray[np.float64]:
        """||x_i||^2 for every sample (cached)."""
        r: NDArray[np.float64] | None = self.__dict__.get("_row_sq_cache")
        if r is None:
            if self.sparse:
                X = self.X
                sq = X.data * X.data
                rows = np.repeat(np.arange(self.n_samples), np.diff(X.indptr))
                r = np.bincount(rows, weights=sq, minlength=self.n_samples).astype(np.float64)
            else:
                r = np.einsum("ij,ij->i", self.X, self.X)
            self.__dict__["_row_sq_cache"] = r
        return r

    def _gram_matrix(self) -> NDArray[np.float64]:
        """The d x d matrix X'X/n (dense; for small d)."""
        G = self.X.T @ self.X
        G = G.toarray() if sp.issparse(G) else np.asarray(G)
        return np.asarray(G / self.n_samples, dtype=np.float64)

    def __repr__(self) -> str:
        extra = f", n_classes={self.n_classes}" if self._kind == _KIND_SOFTMAX else ""
        nnz = f", sparse nnz={self.X.nnz}" if self.sparse else ""
        return (f"{type(self).__name__}(n_samples={self.n_samples}, "
                f"n_features={self.n_features}{extra}, dim={self.dim}, l2={self.l2}{nnz})")


class LeastSquares(_LinearModel):
    """:math:`f(w) = \\tfrac1{2n}\\|Xw - y\\|^2 + \\tfrac{l_2}{2}\\|w\\|^2`.

    Hessian :math:`X^\\top X/n + l_2 I` (constant): :meth:`smoothness` is its exact largest
    eigenvalue, measured by Lanczos -- on the implicit operator :math:`v \\mapsto
    X^\\top(Xv)/n + l_2 v` when d > 512 or X is sparse, on the d x d Gram matrix (one
    pass over X, and a deterministic upper bound) otherwise; :meth:`strong_convexity` its
    smallest (exact: from the Gram matrix when d <= 1000, by Lanczos otherwise).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, d)
        The design matrix, finite.  Sparse input of any format is kept sparse (a private
        CSR copy; see the module docstring).
    y : array_like, shape (n,)
    l2 : float
        Ridge penalty (>= 0).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import LeastSquares
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]]); y = np.array([1.0, 2.0])
    >>> p = LeastSquares(X, y)
    >>> p.value(np.zeros(2)), round(p.smoothness(), 6)     # (1 + 4) / 4, lambda_max = 4/2
    (1.25, 2.0)
    >>> import scipy.sparse as sp                         # the same data, sparse
    >>> q = LeastSquares(sp.csr_array(X), y)
    >>> q.value(np.zeros(2)), round(q.smoothness(), 6), q.sparse
    (1.25, 2.0, True)
    """

    def __init__(self, X: Any, y: Any, *, l2: float = 0.0) -> None:
        self._setup(X, y, l2)

    _kind = _KIND_LS
    constant_hessian = True

    _gram_scale = 1.0     # the global bound is lambda_max(scale X'X/n + l2 I)

    def smoothness_source(self) -> str:
        return (f"lambda_max(X'X/n) + l2, the exact constant Hessian of least squares "
                f"({self._describe_data()})")

    def _hessian_facts(self, x: NDArray[np.float64]) -> tuple[bool, float | None]:
        return True, self._row_sq.sum() / self.n_samples + self.l2 * self.dim

    def curvature(self, x: NDArray[Any] | None = None, *, which: str = "LA",
                  **eig_kwargs: Any) -> EigResult:
        return super().curvature(None, which=which, **eig_kwargs)   # constant Hessian

    def strong_convexity(self) -> float:
        """mu = lambda_min(X'X/n) + l2, with lambda_min set to 0 when X'X/n is singular to
        working precision: below 10 d eps lambda_max (the accuracy of the eigenvalues of
        a symmetric matrix, Golub & Van Loan 2013, section 8.1) the computed value is
        rounding noise of either sign, which would otherwise show as a tiny or negative mu
        and an astronomically large condition number."""
        if self.n_features <= 1000:
            ev = np.linalg.eigvalsh(self._gram_matrix())
            lo, hi = float(ev[0]), float(ev[-1])
        else:
            lo = float(self.curvature(which="SA").value) - self.l2
            hi = self.smoothness() - self.l2
        if lo <= 10.0 * self.n_features * np.finfo(np.float64).eps * max(hi, 0.0):
            lo = 0.0
        return lo + self.l2


class Logistic(LeastSquares):
    """Logistic regression: :math:`f(w) = \\tfrac1n\\sum_i [\\log(1+e^{z_i}) - y_i z_i]
    + \\tfrac{l_2}{2}\\|w\\|^2`, :math:`z = Xw`, labels :math:`y_i \\in \\{0, 1\\}`.

    Evaluated stably (:math:`\\log(1+e^z) = \\max(z,0) + \\log(1+e^{-|z|})`).  The Hessian
    :math:`X^\\top \\mathrm{diag}(\\sigma(z)(1-\\sigma(z))) X/n + l_2 I` is bounded by
    :math:`X^\\top X/(4n) + l_2 I`, whose largest eigenvalue is :meth:`smoothness` (the
    standard global bound, e.g. Bach 2014); :meth:`local_smoothness` measures the Hessian at
    a point, and :meth:`strong_convexity` is ``l2`` (the loss alone is not strongly convex
    globally).  ``X`` may be dense or scipy.sparse, as for :class:`LeastSquares`.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Logistic
    >>> p = Logistic(np.array([[1.0], [-1.0]]), np.array([1.0, 0.0]))
    >>> round(p.value(np.zeros(1)), 6), round(p.smoothness(), 6)   # log 2, 1/4
    (0.693147, 0.25)
    """

    _kind = _KIND_LOGISTIC
    constant_hessian = False

    def __init__(self, X: Any, y: Any, *, l2: float = 0.0) -> None:
        y_arr = np.asarray(y)
        if y_arr.ndim == 1 and y_arr.dtype.kind in "biuf":
            bad = ~((y_arr == 0) | (y_arr == 1))
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"y must hold labels 0 and 1, got {y_arr[i].item()!r} at index {i}")
        super().__init__(X, y, l2=l2)

    _gram_scale = 0.25    # sigma' <= 1/4

    def smoothness_source(self) -> str:
        return (f"lambda_max(X'X)/(4n) + l2, the global bound on the logistic Hessian "
                f"({self._describe_data()})")

    def _hessian_facts(self, x: NDArray[np.float64]) -> tuple[bool, float | None]:
        z = np.asarray(self.X @ x)
        # sigma(z)(1 - sigma(z)) = e / (1 + e)^2 with e = exp(-|z|): no cancellation, so it
        # stays accurate (and positive) where 1 - sigma rounds to 0 (z < -37), as in the C
        # kernel; the trace bounds the spectrum from above only if it is not understated
        e = np.exp(-np.abs(z))
        dgt = e / ((1.0 + e) * (1.0 + e))
        tr = float(dgt @ self._row_sq) / self.n_samples + self.l2 * self.dim
        return True, tr * (1.0 + 4.0 * len(dgt) * np.finfo(np.float64).eps)

    def curvature(self, x: NDArray[Any] | None = None, *, which: str = "LA",
                  **eig_kwargs: Any) -> EigResult:
        return Problem.curvature(self, x, which=which, **eig_kwargs)

    def strong_convexity(self) -> float:
        return self.l2


class Softmax(_LinearModel):
    """Multinomial logistic (softmax) regression over K classes.

    .. math::

        f(W) = \\frac1n \\sum_i \\Big[\\log \\sum_{k=1}^K e^{z_{ik}} - z_{i y_i}\\Big]
               + \\frac{l_2}{2}\\|W\\|_F^2, \\qquad Z = XW,

    with labels :math:`y_i \\in \\{0, \\dots, K-1\\}` (K = max label + 1; every class must
    have at least one sample) and weights :math:`W` of shape ``(d, K)``.

    **Parameter layout.** The optimizer sees ``x`` of length ``d * K``: ``W`` flattened
    row-major (C order), ``W = x.reshape(d, K)``, i.e. ``x[j * K + k]`` is the weight of
    feature ``j`` for class ``k`` (see :meth:`weights`).  Gradients and Hessian-vector
    products use the same layout.

    Gradient :math:`X^\\top (P - Y)/n + l_2 W` (:math:`P` the softmax probabilities,
    :math:`Y` the one-hot labels); Hessian
    :math:`\\frac1n\\sum_i x_i x_i^\\top \\otimes A(p_i) + l_2 I` with
    :math:`A(p) = \\mathrm{diag}(p) - pp^\\top`.  Value (stable log-sum-exp), gradient and
    HVP are C kernels for dense and sparse ``X`` (one pass over a CSR matrix).

    **Smoothness.** Böhning (1992, "Multinomial logistic regression algorithm", Ann. Inst.
    Statist. Math. 44(1), 197-200, Lemma) bounds the log-sum-exp Hessian in the Loewner
    order: :math:`A(p) \\preceq \\tfrac12 (I - \\mathbf{1}\\mathbf{1}^\\top/K)`, whose
    largest eigenvalue is 1/2.  Hence :math:`\\nabla^2 f \\preceq (X^\\top X/n) \\otimes
    \\tfrac12 (I - \\mathbf{1}\\mathbf{1}^\\top/K) + l_2 I` and :meth:`smoothness` is
    :math:`L = \\lambda_{\\max}(X^\\top X/n)/2 + l_2` (the Lanczos estimate of the implicit
    Gram operator).  The constant 1/2 cannot be lowered: :math:`A(p)` reaches eigenvalue
    1/2 when p puts mass 1/2 on two classes.  At :math:`W = 0` (uniform p) the Hessian is
    :math:`(X^\\top X/n) \\otimes (I - \\mathbf{1}\\mathbf{1}^\\top/K)/K`, with largest
    eigenvalue :math:`\\lambda_{\\max}(X^\\top X/n)/K`: there the bound is K/2 times the
    local curvature (K = 2 is the logistic bound 1/4 per class pair, tight at 0).

    :meth:`strong_convexity` is ``l2``: the loss is invariant under
    :math:`W \\to W + c\\mathbf{1}^\\top`, so without ``l2`` its Hessian is singular.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, d)
        Dense or sparse, as for :class:`LeastSquares`.
    y : array_like of int, shape (n,)
        Class labels 0..K-1 (integer values; floats such as 2.0 are accepted).
    l2 : float
        Ridge penalty on every weight (>= 0).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Softmax
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([0, 1, 2])
    >>> p = Softmax(X, y)
    >>> p.n_classes, p.dim                       # W is 2 x 3, flattened row-major
    (3, 6)
    >>> round(p.value(np.zeros(p.dim)), 6)       # log 3 at W = 0
    1.098612
    >>> L = p.smoothness()                       # lambda_max(X'X/n) / 2
    >>> bool(np.isclose(L, np.linalg.eigvalsh(X.T @ X / 3)[-1] / 2))
    True
    >>> p.weights(np.arange(6.0))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """

    _kind = _KIND_SOFTMAX
    constant_hessian = False
    _gram_scale = 0.5     # A(p) <= (I - 11'/K)/2 (Bohning 1992)

    def __init__(self, X: Any, y: Any, *, l2: float = 0.0) -> None:
        y_arr = np.asarray(y)
        if y_arr.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y_arr.shape}")
        if y_arr.dtype.kind not in "biuf":
            raise TypeError(f"y must hold integer class labels, got dtype {y_arr.dtype}")
        yf = y_arr.astype(np.float64)
        bad = ~(np.isfinite(yf) & (yf >= 0) & (yf == np.floor(yf)))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"y must hold class labels 0, 1, ..., K-1, got "
                             f"{y_arr[i].item()!r} at index {i}")
        if yf.size == 0:
            raise ValueError("y is empty")
        K = int(yf.max()) + 1
        if K < 2:
            raise ValueError("y must hold at least two classes (labels 0..K-1, K >= 2); "
                             "every label is 0")
        if K > 2**24:
            raise ValueError(f"y has a label {K - 1}: too many classes")
        counts = np.bincount(yf.astype(np.int64), minlength=K)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(f"class {int(empty[0])} has no samples (labels must be 0..{K - 1}, "
                             f"every class used; {empty.size} of the {K} are missing)")
        self.n_classes = K
        self._setup(X, yf, l2)

    def weights(self, x: NDArray[Any]) -> NDArray[np.float64]:
        """The weight matrix W, shape ``(n_features, n_classes)``, of the parameters x
        (a reshaped view of the validated x)."""
        return self._x(x).reshape(self.n_features, self.n_classes)

    def probabilities(self, x: NDArray[Any]) -> NDArray[np.float64]:
        """The softmax probabilities P (n_samples x n_classes) at x."""
        Z = np.asarray(self.X @ self.weights(x))
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        out: NDArray[np.float64] = E / E.sum(axis=1, keepdims=True)
        return out

    def smoothness_source(self) -> str:
        return (f"lambda_max(X'X/n)/2 + l2, the global bound on the softmax Hessian "
                f"(Bohning 1992: diag(p) - pp' <= (I - 11'/K)/2; {self._describe_data()}, "
                f"{self.n_classes} classes)")

    def _hessian_facts(self, x: NDArray[np.float64]) -> tuple[bool, float | None]:
        # tr(x_i x_i' (x) A(p_i)) = ||x_i||^2 sum_k p_ik (1 - p_ik), with 1 - p_ik formed
        # as the sum of the other probabilities (prefix + suffix sums: no cancellation
        # where p_ik rounds to 1), so the trace is not understated
        P = self.probabilities(x)
        zero = np.zeros((P.shape[0], 1))
        before = np.concatenate([zero, np.cumsum(P[:, :-1], axis=1)], axis=1)
        after = np.concatenate([np.cumsum(P[:, :0:-1], axis=1)[:, ::-1], zero], axis=1)
        t = np.einsum("ik,ik->i", P, before + after)
        tr = float(t @ self._row_sq) / self.n_samples + self.l2 * self.dim
        return True, tr * (1.0 + 4.0 * P.size * np.finfo(np.float64).eps)

    def curvature(self, x: NDArray[Any] | None = None, *, which: str = "LA",
                  **eig_kwargs: Any) -> EigResult:
        return Problem.curvature(self, x, which=which, **eig_kwargs)

    def strong_convexity(self) -> float:
        return self.l2


class FunctionProblem(Problem):
    """A problem given by the user's functions (see :meth:`Problem.from_functions`).

    No global smoothness constant is known: :meth:`smoothness` and
    :meth:`strong_convexity` are local, at :meth:`default_x0` (the ``x0`` given to
    :meth:`Problem.from_functions`; without one they raise).
    """

    def __init__(self, value_and_grad: _ValueAndGrad, *, hvp: _Hvp | None = None,
                 n: int | None = None, x0: ArrayLike | None = None) -> None:
        if not callable(value_and_grad):
            raise TypeError("value_and_grad must be callable as value_and_grad(x) -> (f, g)")
        if hvp is not None and not callable(hvp):
            raise TypeError("hvp must be callable as hvp(x, v) -> H v")
        if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (the dimension) must be an integer >= 1, got {n!r}")
        #: the user's ``value_and_grad`` as given (the C descend loop calls it directly)
        self.fun = value_and_grad
        self._hvp = hvp
        self.dim = int(n)
        self.x0: NDArray[np.float64] | None = None if x0 is None else \
            self._x(x0, "x0").copy()

    def default_x0(self) -> NDArray[np.float64]:
        """The ``x0`` given to :meth:`Problem.from_functions` (a copy)."""
        if self.x0 is None:
            raise ValueError("this problem was made from functions and has no reference "
                             "point: pass the point (x= or x0=) to this call, or x0= to "
                             "Problem.from_functions (lrcore does not guess zeros)")
        x0: NDArray[np.float64] = self.x0.copy()
        return x0

    def smoothness_source(self) -> str:
        return (f"Hessian at the problem's x0 (||x0|| = {np.linalg.norm(self.default_x0()):.4g},"
                f" {self.dim} parameters)")

    def value_and_grad(self, x: NDArray[Any]) -> tuple[float, NDArray[np.float64]]:
        x = self._x(x)
        out = self.fun(x.copy())
        try:
            f, g = out
        except (TypeError, ValueError):
            raise TypeError("value_and_grad(x) must return a pair (f, g)") from None
        g = np.asarray(g, dtype=np.float64)
        if g.shape != (self.dim,):
            raise ValueError(f"value_and_grad returned a gradient of shape {g.shape}, "
                             f"expected ({self.dim},)")
        return float(f), g

    def hvp(self, x: NDArray[Any], v: NDArray[Any]) -> NDArray[np.float64]:
        x, v = self._x(x), self._x(v, "v")
        if self._hvp is not None:
            out = np.asarray(self._hvp(x.copy(), v.copy()), dtype=np.float64)
        else:
            out = hvp_operator(lambda z: self.value_and_grad(z)[1], x) @ v
        if out.shape != (self.dim,):
            raise ValueError(f"hvp returned shape {out.shape}, expected ({self.dim},)")
        return out

    def hessian(self, x: NDArray[Any] | None = None) -> LinearOperator:
        x = self.default_x0() if x is None else self._x(x)
        if self._hvp is None:
            return hvp_operator(lambda z: self.value_and_grad(z)[1], x)
        return super().hessian(x)

    def __repr__(self) -> str:
        return f"FunctionProblem(dim={self.dim}, exact_hvp={self._hvp is not None})"
