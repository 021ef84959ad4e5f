"""Curvature: the extreme eigenvalues of symmetric operators (Hessians, matrices).

:func:`top_eigenvalue` finds the largest (``which="LA"``), largest-magnitude (``"LM"``) or
smallest (``"SA"``) eigenvalue of a symmetric operator with a thick-restart Lanczos method
(or plain power iteration, kept as the textbook baseline).  The solvers are C state
machines driven by reverse communication ("give me y = A x"), so one solver serves every
operator kind:

* dense symmetric numpy arrays (float32/float64; only the lower triangle is read, by a
  one-pass C mat-vec, and the whole iteration runs in C without the GIL);
* scipy.sparse matrices and arrays (converted to CSR; C mat-vec, GIL released);
* :class:`scipy.sparse.linalg.LinearOperator` and plain callables ``v -> A v`` (with
  ``n=``); the GIL is held only around the user's call.

Besides the estimate, every result carries a certified interval
``[lower_bound, upper_bound]`` for the wanted eigenvalue: Ritz values and Rayleigh
quotients approach lambda_max from *below*, so ``2 / value`` over-estimates the largest
stable step, and ``upper_bound`` is what a safe step size should use (see
:class:`EigResult` for exactly what it guarantees).

:func:`hvp_operator` turns a gradient function into a Hessian operator by central
differences.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import numpy as np
from numpy.typing import NDArray
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from scipy.special import betaincinv

from lrcore import _core
from lrcore._core import ConvergenceWarning, NonFiniteError
from lrcore._validation import choice, integer, positive, private_csr

__all__ = [
    "EigResult",
    "top_eigenvalue",
    "hvp_operator",
    "SymmetricOperator",
    "BOUND_FAILURE_PROBABILITY",
    "V0_MIX",
    "DEFAULT_MEMORY",
]

#: Failure probability of the probabilistic eigenvalue bounds (see :class:`EigResult`).
BOUND_FAILURE_PROBABILITY = 1e-3
#: Default weight of the random vector mixed into a user-supplied start vector ``v0``
#: (``top_eigenvalue(..., v0_mix=)``).
V0_MIX = 0.1

#: The smallest ``v0_mix`` taken: a random part much smaller is lost to rounding next to
#: ``v0`` (1e-14 is erased entirely), and the probabilistic bounds assume it is there.
MIN_V0_MIX = 1e-8


def check_v0_mix(v: Any) -> float:
    """``v0_mix`` checked: a finite number >= :data:`MIN_V0_MIX`."""
    mix = positive(v, "v0_mix")
    if not math.isfinite(mix) or mix < MIN_V0_MIX:
        raise ValueError(f"v0_mix must be a finite number >= {MIN_V0_MIX:g} (a smaller random "
                         f"part is lost to rounding next to v0), got {v!r}")
    return mix
#: Default Krylov basis size of the Lanczos method.
DEFAULT_NCV = 32
#: Default longest cycle of the low-memory Lanczos method (it keeps no basis, so a cycle
#: may be long; it usually ends earlier, at convergence).
DEFAULT_NCV_LOWMEM = 256
#: Default byte budget for the eigen-solver's host workspace (2 GiB): ``mode="auto"``
#: runs the full Lanczos method when its basis fits, else the low-memory one.
DEFAULT_MEMORY = 2 * 1024**3
#: Largest Krylov basis the C solver takes (LRC_EIG_MAX_NCV).
LRC_EIG_MAX_NCV = 512
#: Default limit on mat-vecs.
DEFAULT_MAXITER = 20000
#: A symmetry defect above this (relative to ||A||) triggers a warning.
ASYMMETRY_WARN = 1e-3

Operator: TypeAlias = (NDArray[Any] | sp.spmatrix | sp.sparray | LinearOperator
                       | Callable[[NDArray[np.float64]], Any])


@dataclass(frozen=True, repr=False)
class EigResult:
    r"""An eigenvalue estimate with a certified interval.

    Attributes
    ----------
    value : float
        The estimate: the Ritz value (Lanczos) or Rayleigh quotient (power) of ``vector``.
    vector : numpy.ndarray
        Unit-norm float64 approximate eigenvector.
    n_matvec : int
        Number of operator applications used.
    converged : bool
        True when :math:`\|A v - \lambda v\| \le \mathrm{tol}\,\max(|\lambda|,
        \epsilon^{2/3}\|A\|)` was reached (the relative residual test of ARPACK);
        False when ``maxiter`` ran out (a :class:`lrcore.ConvergenceWarning` is issued).
    residual : float
        :math:`\|A v - \lambda v\|` for the returned unit vector (for full Lanczos the
        recurrence value :math:`\beta_k |e_k^T y|`, equal to the true residual up to
        rounding of order :math:`\epsilon \|A\|`; for low-memory Lanczos and the power
        method the residual of an explicit product).
    upper_bound, lower_bound : float
        An interval containing the wanted quantity: :math:`\lambda_{\max}` for
        ``which="LA"``, :math:`\lambda_{\min}` for ``"SA"``, the spectral radius
        :math:`\max_i |\lambda_i|` for ``"LM"``.  On the side of the estimate the bound is
        the estimate itself (a Rayleigh quotient never exceeds :math:`\lambda_{\max}`) less
        the rounding allowance below (the computed quotient carries the rounding of the
        products: about 1e-7 relative for a float32 operator).
        The far side (``upper_bound`` for LA/LM, ``lower_bound`` for SA) is the tightest
        of the bounds that apply, each computed with a rounding allowance
        :math:`64\sqrt{n}\,\epsilon\,\|A\|`:

        *deterministic* (hold always):

        - Gershgorin: :math:`\lambda_{\max} \le \max_i (a_{ii} + \sum_{j\ne i} |a_{ij}|)`
          (dense and sparse input);
        - block bound: in an orthonormal basis :math:`[V, V_\perp]` with
          :math:`A V = V T + f e_k^T` (the Lanczos basis, or the single returned vector
          with :math:`f` its residual), :math:`\lambda_{\max}(A) \le
          \lambda_{\max}\begin{pmatrix}\theta_1 & \|f\| \\ \|f\| & c\end{pmatrix}`
          where :math:`c \ge \lambda_{\max}(V_\perp^T A V_\perp)` is
          :math:`\sqrt{\|A\|_F^2 - \|T\|_F^2 - 2\|f\|^2}` (dense and sparse input) or,
          for positive semi-definite operators with a known trace (the Hessians of
          :mod:`lrcore.problems`), :math:`\operatorname{tr} A - \operatorname{tr} T`.
          When the basis spans the whole space the bound is :math:`\theta_1` itself;

        *probabilistic* (random start; hold with probability at least
        ``1 - failure_probability`` over the random start vector):

        - Kuczynski & Wozniakowski (1992), Theorem 4.2: after :math:`k` steps of Lanczos
          from a uniformly random start on a positive semi-definite :math:`B`,
          :math:`P(\lambda_{\max}(B) > \theta_1/(1-\varepsilon)) \le 1.648\sqrt{n}\,
          e^{-\sqrt{\varepsilon}(2k-1)}`.  Applied to the first, unrestarted Lanczos
          cycle (a genuine Krylov space; restarts only raise :math:`\theta_1`).  For an
          operator not known to be semi-definite it is applied to
          :math:`A + N I` with :math:`N \ge \|A\|` (from the entries, or from the same
          theorem applied to :math:`A^2` on that Krylov space), splitting the failure
          probability in two.
        - With a user ``v0`` (mixed with a random vector of weight ``v0_mix``) and for
          the power method, the same Chebyshev-polynomial argument (or the monomial
          :math:`t^{k-1}` for power iteration) is evaluated with the exact Beta
          distribution of the start vector's component along the top eigenvector
          (derivation in ``docs/curvature.md``).

    bound : str
        Which kind set the far bound: ``"deterministic"``, ``"probabilistic"`` or
        ``"none"`` (then the far bound is infinite).
    failure_probability : float
        0.0 for deterministic bounds, else the probability (over the random start) that
        the interval misses the true value (``BOUND_FAILURE_PROBABILITY``).
    which, method : str
        What was computed and how.
    mode : str
        Which Lanczos variant ran: ``"full"`` (a basis of ``ncv`` vectors) or
        ``"low-memory"`` (two passes, 4 vectors; see :func:`top_eigenvalue`).  Always
        ``"full"`` for the power method.  Shown in the ``repr`` only when not ``"full"``.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.curvature import top_eigenvalue
    >>> A = np.diag([3.0, 1.0, 0.5])
    >>> r = top_eigenvalue(A, seed=0)
    >>> round(r.value, 10), r.converged, r.lower_bound <= 3.0 <= r.upper_bound
    (3.0, True, True)
    """

    value: float
    vector: NDArray[np.float64]
    n_matvec: int
    converged: bool
    residual: float
    upper_bound: float
    lower_bound: float
    bound: str = "none"
    failure_probability: float = 0.0
    which: str = "LA"
    method: str = "lanczos"
    mode: str = "full"

    def scaled(self, c: float) -> EigResult:
        """The result for the operator ``c * A`` (``c > 0``): value, residual and both
        bounds times ``c``; the vector and everything else unchanged."""
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"c must be a finite number > 0, got {c!r}")
        return dataclasses.replace(self, value=self.value * c, residual=self.residual * c,
                                   upper_bound=self.upper_bound * c,
                                   lower_bound=self.lower_bound * c)

    def __repr__(self) -> str:
        fp = "" if self.bound != "probabilistic" else f", failure_probability={self.failure_probability:g}"
        md = "" if self.mode == "full" else f", mode={self.mode!r}"
        return (f"EigResult(value={self.value!r}, n_matvec={self.n_matvec}, "
                f"converged={self.converged}, residual={self.residual:.3g}, "
                f"lower_bound={self.lower_bound!r}, upper_bound={self.upper_bound!r}, "
                f"bound={self.bound!r}{fp}, which={self.which!r}, method={self.method!r}"
                f"{md}, vector=<array shape={self.vector.shape} dtype={self.vector.dtype}>)")


class SymmetricOperator(LinearOperator):  # type: ignore[misc]  # scipy ships no types
    r"""A symmetric :class:`~scipy.sparse.linalg.LinearOperator` that tells the eigen-solver
    what it knows, for certified bounds (see :class:`EigResult`).

    Parameters
    ----------
    n : int
        The size.
    matvec : callable
        ``v -> A v`` for a vector of shape ``(n,)``.
    dtype : numpy dtype
        float32 or float64: the precision of the products (it sets the rounding allowance).
    psd : bool
        The operator is positive semi-definite (e.g. the Hessian of a convex problem).
    trace : float, optional
        Its trace.  With ``psd=True`` this gives a deterministic upper bound on
        :math:`\lambda_{\max}` after any number of products (:math:`c = \operatorname{tr} A
        - \operatorname{tr} T` in the block bound).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.curvature import SymmetricOperator, top_eigenvalue
    >>> d = np.array([4.0, 1.0, 1.0, 0.5])
    >>> op = SymmetricOperator(4, lambda v: d * v, psd=True, trace=float(d.sum()))
    >>> r = top_eigenvalue(op, seed=0)
    >>> r.bound, round(r.value, 12), r.upper_bound >= 4.0
    ('deterministic', 4.0, True)
    """

    def __init__(self, n: int, matvec: Callable[[np.ndarray], Any], *,
                 dtype: Any = np.float64, psd: bool = False,
                 trace: float | None = None) -> None:
        n = integer(n, "n", 1)
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dt}")
        super().__init__(dtype=dt, shape=(n, n))
        self._mv = matvec
        self.psd = bool(psd)
        self.trace = None if trace is None else float(trace)

    def _matvec(self, x: np.ndarray) -> Any:
        return self._mv(np.ravel(x))

    def _rmatvec(self, x: np.ndarray) -> Any:
        return self._mv(np.ravel(x))

    def _adjoint(self) -> SymmetricOperator:
        return self


# ---------------------------------------------------------------------------------------
# operator normalisation
# ---------------------------------------------------------------------------------------

_Stats: TypeAlias = tuple[float, float, float, float]


@dataclass
class _Op:
    kind: str                      # "dense" | "csr" | "callable"
    n: int
    A: Any = None                  # dense array
    csr: Any = None                # (indptr, indices, data)
    matvec: Any = None
    dtype: Any = np.float64
    op_eps: float = float(np.finfo(np.float64).eps)
    stats: _Stats | None = None    # (trace, fro2, gersh_hi, gersh_lo)
    name: str = "A"
    extra: dict[str, Any] = field(default_factory=dict)
    scale: float = 1.0             # the solver sees scale * A (an exact power of two)


def _as_operator(A: Any, n: int | None, name: str = "A") -> _Op:
    if isinstance(A, (list, tuple)):
        A = np.asarray(A)
    if isinstance(A, np.ndarray) or (hasattr(A, "__array__") and not callable(A)
                                     and not sp.issparse(A)
                                     and not isinstance(A, LinearOperator)):
        arr = np.asarray(A)
        if arr.dtype.kind == "c":
            raise TypeError(f"{name} must be real; complex (Hermitian) operators are not supported")
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name} must have a real numeric dtype, got {arr.dtype}")
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name} must be a square 2-D array, got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape})")
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        if not (arr.flags.c_contiguous or arr.flags.f_contiguous) or not arr.dtype.isnative \
                or not arr.flags.aligned:
            arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
        if n is not None and n != arr.shape[0]:
            raise ValueError(f"n={n} does not match {name}.shape={arr.shape}")
        arr, stats, scale = _scaled_dense(arr, name)
        return _Op("dense", arr.shape[0], A=arr, dtype=arr.dtype, stats=stats, name=name,
                   scale=scale)
    if sp.issparse(A):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{name} must be square, got shape {A.shape}")
        if A.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {A.shape})")
        if A.dtype.kind == "c":
            raise TypeError(f"{name} must be real; complex (Hermitian) operators are not supported")
        nn = int(A.shape[0])
        if n is not None and n != nn:
            raise ValueError(f"n={n} does not match {name}.shape={A.shape}")
        indptr, indices, data = _own_csr(A, name)
        data, stats, scale = _scaled_csr(indptr, indices, data, nn, name)
        return _Op("csr", nn, csr=(indptr, indices, data), dtype=data.dtype, stats=stats,
                   name=name, scale=scale)
    if isinstance(A, LinearOperator):
        if len(A.shape) != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{name} must be square, got shape {A.shape}")
        nn = int(A.shape[0])
        if nn == 0:
            raise ValueError(f"{name} is empty (shape {A.shape})")
        if n is not None and n != nn:
            raise ValueError(f"n={n} does not match {name}.shape={A.shape}")
        dt = np.dtype(A.dtype) if A.dtype is not None else np.dtype(np.float64)
        if dt.kind == "c":
            raise TypeError(f"{name} must be real; complex (Hermitian) operators are not supported")
        dt = dt if dt in (np.float32, np.float64) else np.dtype(np.float64)
        psd = isinstance(A, SymmetricOperator) and A.psd
        trace = A.trace if isinstance(A, SymmetricOperator) else None
        return _Op("callable", nn, matvec=A.matvec, dtype=dt,
                   op_eps=float(np.finfo(dt).eps), name=name,
                   extra={"psd": psd, "trace": trace})
    if callable(A):
        if n is None:
            raise TypeError(f"{name} is a callable: pass its size as n=")
        nn = integer(n, "n", 1)
        return _Op("callable", nn, matvec=A, dtype=np.dtype(np.float64), name=name)
    raise TypeError(
        f"{name} must be a numpy array, a scipy.sparse matrix/array, a LinearOperator or a "
        f"callable v -> A v (with n=), got {type(A).__name__}")


# ---------------------------------------------------------------------------------------
# sparse input: validated private copies of the index arrays
# ---------------------------------------------------------------------------------------

def _own_csr(A: Any, name: str) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The CSR arrays of the symmetric sparse ``A``: private, validated copies
    (:func:`lrcore._validation.private_csr`), read by the GIL-free loop."""
    return private_csr(A, name, symmetric=True)


# ---------------------------------------------------------------------------------------
# scaling: the solver works on 2**k A with entries of order one, so no square overflows or
# underflows whatever the scale of A (a power of two changes no rounding)
# ---------------------------------------------------------------------------------------

#: Matrices whose largest entry lies outside [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] are scaled.
SAFE_EXPONENT = 200


def _pow2_scale(amax: float) -> float:
    """The power of two that brings ``amax`` (> 0, finite) into [0.5, 1); for subnormal
    ``amax`` (whose 2**-e would overflow) the largest finite power of two, 2**1023, which
    brings it to within 2**-52 of that range -- normal numbers, all the solver needs."""
    return math.ldexp(1.0, min(-math.frexp(amax)[1], 1023))


def _needs_scaling(stats: _Stats) -> bool:
    g = max(abs(stats[2]), abs(stats[3]))
    return not (math.isfinite(stats[1]) and math.isfinite(g)) or \
        (g > 0 and not 2.0 ** -SAFE_EXPONENT <= g <= 2.0 ** SAFE_EXPONENT) or \
        (stats[1] == 0.0 and g > 0)


def _scaled_dense(arr: NDArray[Any], name: str) -> tuple[NDArray[Any], _Stats, float]:
    try:
        stats = _core.symstats(arr)          # raises NonFiniteError on NaN/Inf
        if not _needs_scaling(stats):
            return arr, stats, 1.0
    except NonFiniteError:
        pass                                   # NaN/Inf entries, or sums that overflowed
    # the lower triangle of A whatever its memory layout: the one the solver reads
    amax = float(np.max(np.abs(np.tril(arr)))) if arr.size else 0.0
    if not math.isfinite(amax):
        raise NonFiniteError(f"{name} contains NaN or Inf (in the lower triangle, which is "
                             "the one read)")
    if amax == 0.0:
        return arr, _core.symstats(arr), 1.0
    scale = _pow2_scale(amax)
    # the read triangle only (the other may overflow when scaled, and is not used)
    scaled = np.ascontiguousarray(np.tril(arr) * arr.dtype.type(scale))
    return scaled, _core.symstats(scaled), scale


def _scaled_csr(indptr: NDArray[Any], indices: NDArray[Any], data: NDArray[Any], n: int,
                name: str) -> tuple[NDArray[Any], _Stats, float]:
    try:
        stats = _core.csrstats(indptr, indices, data, n)
        if not _needs_scaling(stats):
            return data, stats, 1.0
    except NonFiniteError:
        pass
    amax = float(np.max(np.abs(data))) if data.size else 0.0
    if not math.isfinite(amax):
        raise NonFiniteError(f"{name} contains NaN or Inf")
    if amax == 0.0:
        return data, _core.csrstats(indptr, indices, data, n), 1.0
    scale = _pow2_scale(amax)
    scaled = data * data.dtype.type(scale)
    return scaled, _core.csrstats(indptr, indices, scaled, n), scale


class _ScaledMatvec:
    """Wraps a Python mat-vec so the solver sees ``scale * A``: the scale (a power of two)
    is fixed by the first product, from its largest entry."""

    def __init__(self, f: Callable[[np.ndarray], Any]) -> None:
        self.f = f
        self.scale: float | None = None
        self.eps = 0.0          # the largest unit roundoff of the products returned

    def __call__(self, x: np.ndarray) -> Any:
        y = self.f(x)
        dt = getattr(y, "dtype", None)
        if dt is not None and np.dtype(dt) in (np.float32, np.float16):
            # a float32 (or lower) operator rounds at its own precision: the bounds' slack
            # must say so (a plain callable declares no dtype before it runs)
            self.eps = max(self.eps, float(np.finfo(np.dtype(dt)).eps))
        if self.scale is None:
            self.scale = 1.0
            yy = np.asarray(y)
            if yy.dtype.kind in "fiu" and yy.size:
                m = max(abs(float(np.max(yy))), abs(float(np.min(yy))))   # no temporary
                if math.isfinite(m) and m > 0 and not \
                        2.0 ** -SAFE_EXPONENT <= m <= 2.0 ** SAFE_EXPONENT:
                    self.scale = _pow2_scale(m)
        if self.scale != 1.0:
            yy = np.asarray(y)
            if yy.dtype.kind in "fiu":
                return yy * self.scale
        return y




def _seed64(seed: Any) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63, dtype=np.int64))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be None, an int or a numpy.random.Generator, got "
                        f"{type(seed).__name__}")
    # seed is None or a numbers.Integral (e.g. np.int64), which default_rng takes at run
    # time; numpy's stubs list only int and np.integer
    return int(np.random.default_rng(seed).integers(0, 2**63,  # type: ignore[arg-type]
                                                    dtype=np.int64))


# ---------------------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------------------

def _kw_eps(n: int, k: int, delta: float) -> float:
    """epsilon with 1.648 sqrt(n) exp(-sqrt(eps)(2k-1)) = delta (Kuczynski-Wozniakowski)."""
    if k < 1:
        return 1.0
    r = math.log(1.648 * math.sqrt(n) / delta) / (2 * k - 1)
    return min(r * r, 1.0)


def _poly_eps(n: int, k: float, delta: float, zeta: float, chebyshev: bool) -> float:
    """Relative-error level certified with probability >= 1 - delta by the polynomial
    argument (derivation in docs/curvature.md, "Probabilistic far bounds"):

    for a PSD B and start v with q = c_1^2/||v||^2 (c_1: component on the top eigenvector),
    the Krylov space holds p(B) v for p = Chebyshev T_{k-1} on [0, (1-e1) mu_1] (or the
    monomial t^k), giving (mu_1 - theta)/mu_1 <= e1 + (1 - q)/(q G^2) with G = p(mu_1);
    failure needs q < 1/(1 + e2 G^2), and for v = u + eta z (z uniform on the sphere)
    that needs z_1^2 < zeta^2/(1 + e2 G^2), zeta = (1+eta)/eta, whose probability is the
    regularised incomplete Beta function I_x(1/2, (n-1)/2)."""
    if n <= 1:
        return 0.0
    x = float(betaincinv(0.5, (n - 1) / 2.0, delta))   # P(z_1^2 < x) = delta
    if not x > 0:
        return 1.0
    best = 1.0
    for e1 in np.geomspace(1e-10, 0.9, 400):
        if chebyshev:
            if k < 2:
                continue
            logG = (k - 1) * math.acosh((1 + e1) / (1 - e1))
        else:
            logG = -k * math.log1p(-e1)
        # need zeta^2/(1 + e2 G^2) <= x  ->  e2 = (zeta^2/x - 1)/G^2
        num = zeta * zeta / x - 1.0
        if num <= 0:
            e2 = 0.0
        else:
            le2 = math.log(num) - 2 * logG
            e2 = math.exp(le2) if le2 < 50 else math.inf
        best = min(best, e1 + e2)
    return min(best, 1.0)


def _first_cycle_for(n: int, rtol: float, psd: bool, random_start: bool,
                     v0_mix: float = V0_MIX, op_eps: float = float(np.finfo(np.float64).eps),
                     neg_ratio: float = 0.0) -> int:
    """Length of a first Lanczos cycle whose probabilistic bound is within ``rtol`` of the
    top Ritz value (see :func:`_bounds`), predicted for a spectrum whose negative part is
    small next to lambda_max (the case of loss Hessians):

    - PSD: ``theta / (1 - e)``, so ``1/(1-e) - 1``;
    - otherwise: the shift ``s = e N / (1 - e)`` with ``N ~ theta / sqrt(1 - e')`` (the A^2
      bound of the half-length space), then ``(theta + e s) / (1 - e)``, the failure
      probability split in three;

    plus the rounding allowance ``64 sqrt(n) op_eps`` (relative).  ``neg_ratio`` is
    ``max(0, -lambda_min) / lambda_max`` when known (from an earlier run): the shift then
    carries it, ``s = (e N + neg_ratio theta) / (1 - e)``."""
    delta = BOUND_FAILURE_PROBABILITY if psd else BOUND_FAILURE_PROBABILITY / 3
    zeta = 1.0 if random_start else (1.0 + v0_mix) / v0_mix
    slack = 64.0 * math.sqrt(n) * op_eps

    def eps(k: float) -> float:
        return _kw_eps(n, int(k), delta) if random_start else \
            _poly_eps(n, k, delta, zeta, True)

    for k in range(2, LRC_EIG_MAX_NCV + 1):
        e = eps(k)
        if e >= 1.0:
            continue
        if psd:
            over = 1.0 / (1.0 - e) - 1.0
        else:
            eh = eps((k + 1) // 2)
            if eh >= 1.0:
                continue
            shift = (e / math.sqrt(1.0 - eh) + neg_ratio) / (1.0 - e)
            over = (1.0 + e * shift) / (1.0 - e) - 1.0
        if over + 2.0 * slack <= rtol:
            return k
    return LRC_EIG_MAX_NCV


def _lmax2(a: float, b: float, c: float) -> float:
    """Largest eigenvalue of [[a, b], [b, c]]."""
    m = 0.5 * (a + c)
    return m + math.hypot(0.5 * (a - c), b)


def _tri_eigvals(d: NDArray[np.float64], e: NDArray[np.float64]) -> NDArray[np.float64]:
    if d.size == 0:
        return d
    ev: NDArray[np.float64] = _core.tridiag_eig(d, e, vectors=False)[0]
    return ev


def _bounds(res: dict[str, Any], op: _Op, which: str, random_start: bool, psd: bool,
            trace: float | None, v0_mix: float = V0_MIX) -> tuple[float, float, str, float]:
    """(lower_bound, upper_bound, kind, failure_probability) for the wanted quantity.

    ``res`` is the solver's dict.  Full Lanczos reports its first cycle and its final
    basis (orthonormal to working precision by full reorthogonalisation).  Low-memory
    Lanczos keeps no basis: it reports, as both, the prefix of its first cycle whose
    vectors Simon's omega recurrence certifies semi-orthogonal (|v_i'v_j| <=
    sqrt(eps)), where T is the projection of A on an orthonormal basis of the Krylov
    space to working precision (Simon 1984), so every bound below applies to it; its
    ``value``/``residual`` are the Rayleigh quotient and true residual of the returned
    vector (the single-vector block bound).  ``v0_mix`` is the weight of the random
    vector mixed into a user start vector (docs/curvature.md)."""
    n = op.n
    delta = BOUND_FAILURE_PROBABILITY
    sigma = -1.0 if which == "SA" else 1.0
    value = float(res["value"])
    anorm = max(float(res["anorm"]), abs(value))
    slack = 64.0 * math.sqrt(n) * op.op_eps * anorm
    stats = op.stats
    cands: list[tuple[float, str]] = []   # bounds on lambda_max(M), M = sigma A (or rho)

    # ---- norms available from the entries
    fro = math.sqrt(stats[1]) if stats is not None and math.isfinite(stats[1]) else math.inf
    gersh_rho = max(stats[2], -stats[3]) if stats is not None else math.inf
    norm_det = min(fro, gersh_rho)          # ||A|| <= these

    # ---- deterministic block bounds on lambda_max(M)
    def block_bounds(theta_top: float, tfro2: float, ttrace: float,
                     beta: float) -> list[float]:
        out: list[float] = []
        if math.isfinite(fro):              # fro is finite only when stats is not None
            c = math.sqrt(max(cast(_Stats, stats)[1] - tfro2 - 2 * beta * beta, 0.0))
            out.append(_lmax2(theta_top, beta, c))
        if psd and trace is not None and which == "LA":
            c = max(trace - ttrace, 0.0)
            out.append(_lmax2(theta_top, beta, c))
        return out

    if res["method"] == "lanczos":
        d, e = res["d_final"], res["e_final"]
        th = _tri_eigvals(d, e)
        beta = float(res["beta_final"])
        if which == "LM":
            thM = th
        else:
            thM = sigma * th
        if d.size >= n:                       # the basis spans the space: Ritz = eigen
            top = float(np.max(np.abs(th))) if which == "LM" else float(np.max(thM))
            cands.append((top, "deterministic"))
        elif res["d_first"].size and float(res["beta_first"]) <= slack:
            # the first cycle found an invariant subspace (up to rounding): the start
            # vector (random, or mixed with a random one) has a non-zero component along
            # every eigenvector with probability one, so the subspace holds the wanted
            # eigenvector.  In floating point it cannot tell apart eigenvalues closer than
            # about slack / sqrt(w1) (w1: the start's weight on the top eigenvector), and
            # its Ritz value can sit that far below: w1 < 1e-6 / n has probability about
            # 1e-3 (Beta(1/2, (n-1)/2)), so widen by 1e3 sqrt(n) slack (still ~1e-11
            # relative for small n) plus the coupling beta
            top = float(np.max(np.abs(th))) if which == "LM" else float(np.max(thM))
            widen = 1e3 * math.sqrt(n) * slack + float(res["beta_first"])
            cands.append((top + widen, "probabilistic"))
        elif which != "LM":
            tfro2 = float(np.sum(d * d) + 2 * np.sum(e * e))
            for b in block_bounds(float(np.max(thM)), tfro2, float(sigma * np.sum(d)), beta):
                cands.append((b, "deterministic"))
    # single-vector block bound (both methods): basis = the returned vector
    r = float(res["residual"])
    if which != "LM" and math.isfinite(r):
        vM = sigma * value
        for b in block_bounds(vM, vM * vM, vM, r):
            cands.append((b, "deterministic"))
    if psd and which == "SA":
        cands.append((0.0, "deterministic"))        # lambda_min(A) >= 0
    if stats is not None:
        if which == "LA":
            cands.append((stats[2], "deterministic"))
        elif which == "SA":
            cands.append((-stats[3], "deterministic"))
        else:
            cands.append((norm_det, "deterministic"))

    # ---- probabilistic bounds
    user_v0 = not random_start
    zeta = (1.0 + v0_mix) / v0_mix if user_v0 else 1.0
    if user_v0 and n == 2:
        # the Beta-quantile step needs a unimodal density of z_1 (n >= 3); on the circle
        # z_1 = cos(phi) piles up at +-1, where an adversarial v0 can put the interval
        zeta = math.inf
    if res["method"] == "lanczos" and res["d_first"].size >= 1:
        d1, e1, b1 = res["d_first"], res["e_first"], float(res["beta_first"])
        k1 = d1.size
        th1 = _tri_eigvals(d1, e1)

        def eps_for(k: float, dl: float) -> float:
            if random_start:
                return _kw_eps(n, int(k), dl)
            return _poly_eps(n, k, dl, zeta, True)

        def norm_bound(dl: float) -> float:
            # rho(A)^2 <= nu/(1-eps'), nu = lambda_max(T1^2 + b1^2 e e^T), k' = floor((k1+1)/2)
            T = np.diag(d1) + np.diag(e1, 1) + np.diag(e1, -1)
            T2 = T @ T
            T2[-1, -1] += b1 * b1
            nu = float(np.linalg.eigvalsh(T2)[-1])
            ep = eps_for((k1 + 1) // 2, dl)
            return math.sqrt(nu / (1.0 - ep)) if ep < 1.0 else math.inf

        if which == "LM":
            if psd:
                ep = eps_for(k1, delta)
                if ep < 1.0:
                    cands.append((float(np.max(th1)) / (1 - ep), "probabilistic"))
            else:
                cands.append((norm_bound(delta), "probabilistic"))
        else:
            thM1 = float(np.max(sigma * th1))
            if psd and which == "LA":
                ep = eps_for(k1, delta)
                if ep < 1.0:
                    cands.append((max(thM1, 0.0) / (1 - ep), "probabilistic"))
            else:
                # Kuczynski-Wozniakowski needs a PSD operator: apply it to M + s I with a
                # certified shift s >= max(0, -lambda_min(M)), itself from the theorem on
                # N I - M (PSD for N >= ||A||) over the same Krylov space:
                #   lambda_max(N I - M) = N - lambda_min(M) <= (N - theta_min)/(1 - e),
                #   lambda_max(M) <= (theta_max + e s)/(1 - e).
                # N is the entries' bound when known (deterministic), else (or if
                # tighter) the A^2 bound; the failure budget is split between the
                # probabilistic steps (docs/curvature.md)
                nb = norm_bound(delta / 3)
                det_N = norm_det <= nb
                N = norm_det if det_N else nb
                dl = delta / 2 if det_N else delta / 3
                ep = eps_for(k1, dl)
                if ep < 1.0 and math.isfinite(N):
                    thm1 = float(np.min(sigma * th1))
                    shift = max(0.0, (N - thm1) / (1 - ep) - N)
                    cands.append(((thM1 + ep * shift) / (1 - ep), "probabilistic"))
    elif res["method"] == "power":
        k1 = int(res["power_k1"])
        # ||A x_k||^2 is the Rayleigh quotient of B = A^2 at B^((k1-1)/2) v
        nu = float(res["power_ynorm1"]) ** 2
        ep = _poly_eps(n, (k1 - 1) / 2.0, delta, zeta, False) if k1 >= 2 else 1.0
        rho = math.sqrt(nu / (1 - ep)) if ep < 1.0 else math.inf
        if psd and which == "LA" and not res["power_shift"]:
            ep1 = _poly_eps(n, float(k1 - 1), delta, zeta, False) if k1 >= 2 else 1.0
            if ep1 < 1.0:
                cands.append((max(float(res["power_theta1"]), 0.0) / (1 - ep1),
                              "probabilistic"))
        cands.append((rho, "probabilistic"))

    cands = [(b + slack, k) for b, k in cands if math.isfinite(b)]
    near = abs(value) if which == "LM" else sigma * value
    if cands:
        far, kind = min(cands, key=lambda t: (t[0], t[1] != "deterministic"))
        far = max(far, near)
    else:
        far, kind = math.inf, "none"
    fp = 0.0 if kind in ("deterministic", "none") else delta
    # the near side: a Rayleigh quotient never passes the extreme eigenvalue in exact
    # arithmetic, but the computed one carries the products' rounding (float32 operators:
    # ~1e-7 relative), so it gets the same allowance as the far side
    near_b = near - slack
    if which == "SA":
        return -far, -near_b, kind, fp
    return near_b, far, kind, fp


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------

def _pick_mode(n: int, method: str, ncv: int, ncv_low: int, mode: str,
               memory: float | None) -> tuple[str, int]:
    """The Lanczos variant a solve runs (``"full"`` or ``"low-memory"``) and its ``ncv``,
    checked against the workspace budget ``memory`` (bytes).  ``memory=None``: for
    ``mode="auto"`` DEFAULT_MEMORY decides between the two, and the low-memory mode runs
    whatever its size (nothing smaller exists); an explicit mode is not checked."""
    budget = DEFAULT_MEMORY if memory is None else memory
    if method == "power":                  # 5 vectors: nothing to choose
        need = _core.eig_workspace_bytes(n, method="power")
        if memory is not None and need > memory:
            raise ValueError(f"memory={memory:g} bytes is too small: the power method needs "
                             f"{need} bytes of workspace for n={n}")
        return "full", ncv
    full = _core.eig_workspace_bytes(n, ncv=ncv, mode="full")
    low = _core.eig_workspace_bytes(n, ncv=ncv_low, mode="low-memory")
    if mode == "auto":
        if full <= budget:
            return "full", ncv
        if low <= budget or memory is None:
            return "low-memory", ncv_low
        raise ValueError(f"memory={budget:g} bytes is too small: for n={n} the low-memory "
                         f"Lanczos method needs {low} bytes of workspace (the full one "
                         f"{full})")
    need = full if mode == "full" else low
    if memory is not None and need > memory:
        k = ncv if mode == "full" else ncv_low
        raise ValueError(f"memory={memory:g} bytes is too small: mode={mode!r} needs {need} "
                         f"bytes of workspace for n={n} (ncv={k})")
    return mode, (ncv if mode == "full" else ncv_low)


def _solve(op: _Op, which: str, method: str, tol: float, maxiter: int | None,
           v0: Any, seed: Any, ncv: int | None, min_matvec: int = 0, *,
           mode: str = "auto", memory: float | None = None, v0_mix: float = V0_MIX,
           ncv_low: int | None = None) -> dict[str, Any]:
    """Validate and run one solve; ``ncv_low`` is the low-memory method's longest cycle
    (default: DEFAULT_NCV_LOWMEM, at least ``min_matvec``)."""
    which = choice(which, "which", ("LA", "LM", "SA"))
    method = choice(method, "method", ("lanczos", "power"))
    tol = positive(tol, "tol")
    mx = integer(DEFAULT_MAXITER if maxiter is None else maxiter, "maxiter", 1)
    k = integer(DEFAULT_NCV if ncv is None else ncv, "ncv", 2, LRC_EIG_MAX_NCV)
    kl = integer(DEFAULT_NCV_LOWMEM if ncv_low is None else ncv_low, "ncv", 2,
                 LRC_EIG_MAX_NCV)
    kl = max(kl, min(int(min_matvec), LRC_EIG_MAX_NCV))
    run_mode, kk = _pick_mode(op.n, method, k, kl, mode, memory)
    common = dict(which=which, method=method, ncv=kk, tol=tol, maxiter=mx,
                  v0=v0, v0_mix=v0_mix, seed=_seed64(seed), minmv=int(min_matvec),
                  mode=run_mode)
    if op.kind == "dense":
        return dict(_core.eig_dense(op.A, **common))
    if op.kind == "csr":
        indptr, indices, data = op.csr
        return dict(_core.eig_csr(indptr, indices, data, op.n, **common))
    return dict(_core.eig_callable(op.matvec, op.n, op.dtype, name=op.name, **common))


def _unscale(res: dict[str, Any], s: float) -> dict[str, Any]:
    """Results on ``s * A`` back to ``A`` (divisions by a power of two are exact)."""
    if s == 1.0:
        return res
    out = dict(res)
    for key in ("value", "residual", "anorm"):
        out[key] = res[key] / s
    return out


def _top_eigenvalue(A: Any, *, which: str = "LA", method: str = "lanczos", tol: float = 1e-6,
                    maxiter: int | None = None, v0: Any = None, seed: Any = None,
                    n: int | None = None, ncv: int | None = None, psd: bool = False,
                    trace: float | None = None, warn: bool = True,
                    certify: bool = False, bound_rtol: float | None = None,
                    memory: float | None = None, mode: str = "auto",
                    v0_mix: float | None = None) -> EigResult:
    """top_eigenvalue with knowledge the public API does not take: ``psd`` (A is
    positive semi-definite), ``trace`` (its trace) and ``certify`` (run at least a full
    first Lanczos cycle, min(n, ncv) mat-vecs, so the probabilistic bound is tight)."""
    mode = choice(mode, "mode", ("auto", "full", "low-memory"))
    mem_budget = None if memory is None else positive(memory, "memory")
    mix = V0_MIX if v0_mix is None else check_v0_mix(v0_mix)
    # the low-memory method's longest cycle: ncv when that mode is asked for; under "auto"
    # ncv means the full basis, and a cycle costs no n-vectors, so never below the default
    ncv_low = ncv if (mode == "low-memory" or ncv is None) else \
        max(integer(ncv, "ncv", 2, LRC_EIG_MAX_NCV), DEFAULT_NCV_LOWMEM)
    op = _as_operator(A, n)
    if op.kind == "callable":
        psd = psd or bool(op.extra.get("psd", False))
        if trace is None:
            trace = op.extra.get("trace")
        scaler = _ScaledMatvec(op.matvec)
        op.matvec = scaler
    k = DEFAULT_NCV if ncv is None else ncv
    if bound_rtol is not None and method == "lanczos" and which != "SA":
        budget = DEFAULT_MAXITER if maxiter is None else integer(maxiter, "maxiter", 1)
        need = _first_cycle_for(op.n, positive(bound_rtol, "bound_rtol"), psd, v0 is None,
                                mix, op.op_eps)
        k = max(integer(k, "ncv", 2, LRC_EIG_MAX_NCV),
                min(need, budget, op.n, LRC_EIG_MAX_NCV))
        ncv, certify = k, True
    min_mv = min(op.n, int(k)) if (certify and method == "lanczos") else 0
    res = _solve(op, which, method, tol, maxiter, v0, seed, ncv, min_mv, mode=mode,
                 memory=mem_budget, v0_mix=mix, ncv_low=ncv_low)
    if op.kind == "callable":
        op.scale = scaler.scale or 1.0
        op.op_eps = max(op.op_eps, scaler.eps)
    s = op.scale
    # bounds of s * A (the data the solver saw; stats are of the scaled data), then A's
    lo, hi, kind, fp = _bounds(res, op, which, v0 is None, psd,
                               None if trace is None else trace * s, mix)
    if bound_rtol is not None and certify and kind == "probabilistic" and not psd and \
            which == "LA" and hi - res["value"] > bound_rtol * abs(res["value"]):
        # the first cycle was sized for a small negative spectrum; it is larger: one more
        # run, from a fresh random start, with the cycle the measured ratio needs.  Its
        # bound alone is reported (its start is independent of the first run, which only
        # chose its length), so the failure probability stays as stated
        th = _tri_eigvals(res["d_first"], res["e_first"])
        ratio = max(0.0, -float(np.min(th))) / max(float(np.max(th)), 1e-300) \
            if th.size else 0.0
        spent = int(res["n_matvec"])
        left = (DEFAULT_MAXITER if maxiter is None else int(maxiter)) - spent
        k2 = min(_first_cycle_for(op.n, float(bound_rtol), psd, v0 is None, mix,
                                  op.op_eps, ratio), op.n, LRC_EIG_MAX_NCV)
        if k2 > int(res["d_first"].size) and left >= k2:
            seed2 = None if seed is None else _seed64(seed) ^ 0x5DEECE66D
            res2 = _solve(op, which, method, tol, left, v0, seed2, k2, k2, mode=mode,
                          memory=mem_budget, v0_mix=mix, ncv_low=ncv_low)
            lo2, hi2, kind2, fp2 = _bounds(res2, op, which, v0 is None, psd,
                                           None if trace is None else trace * s, mix)
            res2["n_matvec"] = int(res2["n_matvec"]) + spent
            res, lo, hi, kind, fp = res2, lo2, hi2, kind2, fp2
    lo, hi = lo / s, hi / s
    res = _unscale(res, s)
    if warn and not res["converged"]:
        warnings.warn(
            f"top_eigenvalue did not converge in {res['n_matvec']} mat-vecs (maxiter): "
            f"residual {res['residual']:.3g} > tol * |value| = {tol * abs(res['value']):.3g}; "
            f"the estimate {res['value']!r} may be inaccurate",
            ConvergenceWarning, stacklevel=3)
    if warn and res["method"] == "lanczos" and res["asym"] > ASYMMETRY_WARN:
        warnings.warn(
            f"{op.name} does not look symmetric (defect {res['asym']:.2g} relative to its "
            "norm); eigenvalue estimates assume a symmetric operator", RuntimeWarning,
            stacklevel=3)
    return EigResult(value=float(res["value"]), vector=res["vector"],
                     n_matvec=int(res["n_matvec"]), converged=bool(res["converged"]),
                     residual=float(res["residual"]), upper_bound=float(hi),
                     lower_bound=float(lo), bound=kind, failure_probability=fp,
                     which=which, method=method, mode=str(res["mode"]))


def top_eigenvalue(A: Operator, *, which: str = "LA", method: str = "lanczos",
                   tol: float = 1e-6, maxiter: int | None = None, v0: Any = None,
                   seed: Any = None, n: int | None = None, ncv: int | None = None,
                   bound_rtol: float | None = None, memory: float | None = None,
                   mode: str = "auto", v0_mix: float | None = None) -> EigResult:
    r"""The largest (or smallest, or largest-magnitude) eigenvalue of a symmetric operator.

    Parameters
    ----------
    A : array, sparse matrix, LinearOperator or callable
        The symmetric operator.  A dense float32/float64 array is read from its **lower
        triangle only** (as ``numpy.linalg.eigvalsh`` and ``scipy.linalg.eigh`` do by
        default); other real dtypes are converted to float64.  A scipy.sparse matrix or
        array is converted to CSR and must store the full symmetric matrix.  A
        ``LinearOperator`` is used through ``matvec`` (float32 operators receive float32
        vectors); a plain callable ``v -> A v`` receives float64 vectors of shape ``(n,)``
        and needs ``n=``.  Symmetry of sparse matrices and operators is not checked
        up front; an operator whose Lanczos recurrence shows a large symmetry defect
        triggers a ``RuntimeWarning``.
    which : {"LA", "LM", "SA"}
        Largest algebraic (what a step size needs; correct for indefinite and
        negative-definite operators), largest magnitude (ties: the positive one), smallest
        algebraic (the strong-convexity constant, or negative curvature).
    method : {"lanczos", "power"}
        ``"lanczos"``: thick-restart Lanczos (Wu & Simon 2000) with full
        reorthogonalisation in a basis of ``ncv`` vectors, keeping ``ncv // 4`` Ritz
        vectors at each restart (``mode="full"``), or its low-memory variant (below).
        ``"power"``: power iteration with the Rayleigh quotient (Golub & Van Loan,
        section 8.2.1), the textbook baseline; for LA/SA a dominant eigenvalue of the
        other sign triggers a second run on the shifted operator, and a pair
        :math:`\pm\mu` is split as :math:`x_k \pm x_{k+1}`.
    tol : float
        Relative residual tolerance: stop when :math:`\|Av - \lambda v\| \le \mathrm{tol}
        \cdot \max(|\lambda|, \epsilon^{2/3}\|A\|)` (ARPACK's test).  The eigenvalue
        error is then about :math:`\mathrm{tol}^2 \lambda^2/\mathrm{gap}`.
    maxiter : int, optional
        Maximum number of mat-vecs (default 20000).  When reached, the best estimate is
        returned with ``converged=False`` and a :class:`lrcore.ConvergenceWarning`.
    v0 : array_like, optional
        Start vector (warm start, e.g. the previous eigenvector while tracking sharpness
        during training).  A random vector of relative weight ``v0_mix`` is mixed in,
        so a ``v0`` orthogonal to the wanted eigenvector cannot hide it.
    seed : int, numpy.random.Generator or None
        Seed of the random start (``None``: fresh entropy).
    n : int, optional
        Size of the operator; required when ``A`` is a plain callable.
    ncv : int, optional
        Lanczos basis size (default 32, at most n).  With ``mode="low-memory"`` the
        longest cycle instead (default 256, at most n + 16), which costs no n-vectors;
        when ``mode="auto"`` picks the low-memory mode, the longest cycle is
        ``max(ncv, 256)``.
    bound_rtol : float, optional
        Ask for a certified interval this tight: ``upper_bound - value <= bound_rtol *
        |value|`` for ``which="LA"``/``"LM"``.  The first, unrestarted Lanczos cycle is made
        long enough (``k`` products, fewer when ``n`` is smaller) that the probabilistic
        bound of Kuczynski & Wozniakowski reaches that width: ``k`` solves
        :math:`1.648\sqrt n\,e^{-\sqrt\varepsilon(2k-1)} = \delta` with
        :math:`1/(1-\varepsilon) \le 1 + r` for positive semi-definite operators, and for
        others (certified shift, ``docs/curvature.md``) the width predicted for a small
        negative part of the spectrum; if that run's interval is wider than asked (a large
        negative part), one more run from a fresh random start with the cycle the
        measured ratio needs, whose interval is reported (``n_matvec`` counts both).
        Everything is capped by ``maxiter``.  Lanczos only.  The result says what was
        reached (compare ``upper_bound`` with ``value``).

    Returns
    -------
    EigResult
        ``value``, ``vector``, ``n_matvec``, ``converged``, ``residual`` and the certified
        interval ``[lower_bound, upper_bound]`` (see :class:`EigResult`).

    Raises
    ------
    ValueError
        Non-square or empty input, invalid ``which``/``method``/``tol``/``maxiter``/
        ``v0``, an operator returning the wrong shape.
    lrcore.NonFiniteError
        ``A`` holds NaN or Inf (in the triangle read), or the operator returned them.
    TypeError
        Unsupported operator type or dtype, a callable without ``n=``.

    Notes
    -----
    Dense and CSR inputs run the whole iteration in C without the GIL (the dense mat-vec
    reads each element of the lower triangle once and accumulates in double, also for
    float32 input).  Float32 data is solved in double precision.

    References
    ----------
    K. Wu and H. Simon, "Thick-restart Lanczos method for large symmetric eigenvalue
    problems", SIAM J. Matrix Anal. Appl. 22 (2000).  J. Kuczynski and H. Wozniakowski,
    "Estimating the largest eigenvalue by the power and Lanczos algorithms with a random
    start", SIAM J. Matrix Anal. Appl. 13 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.curvature import top_eigenvalue
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> r = top_eigenvalue(A, seed=0)
    >>> round(r.value, 12), r.n_matvec
    (3.0, 2)
    >>> round(top_eigenvalue(A, which="SA", seed=0).value, 12)
    1.0
    >>> top_eigenvalue(lambda v: 2.0 * v, n=5, seed=0).value
    2.0

    The low-memory mode finds the same eigenvalue with 4 vectors of workspace (chosen
    automatically when the basis would not fit in ``memory``):

    >>> d = np.linspace(0.0, 1.0, 20_000) ** 2
    >>> full = top_eigenvalue(lambda v: d * v, n=20_000, seed=0)
    >>> low = top_eigenvalue(lambda v: d * v, n=20_000, seed=0, memory=2_000_000)
    >>> full.mode, low.mode, abs(low.value - full.value) < 1e-9, low.residual < 1e-6
    ('full', 'low-memory', True, True)
    """
    return _top_eigenvalue(A, which=which, method=method, tol=tol, maxiter=maxiter, v0=v0,
                           seed=seed, n=n, ncv=ncv, bound_rtol=bound_rtol, memory=memory,
                           mode=mode, v0_mix=v0_mix)


def hvp_operator(grad: Any, x: Any, *, eps: float | None = None) -> LinearOperator:
    r"""The Hessian at ``x`` as a LinearOperator, from Hessian-vector products.

    If ``grad`` is an :mod:`lrcore.problems` problem (anything with ``hessian(x)``), its
    exact Hessian operator is returned.  Otherwise ``grad`` is a gradient function and
    each product is a central difference along the unit direction :math:`u = v/\|v\|`:

    .. math::

        H v \approx \|v\| \, \frac{g(x + h u) - g(x - h u)}{2 h},
        \qquad h = \mathrm{eps} = \epsilon^{1/3} \max(1, \|x\|)

    (error :math:`O(h^2)` from the third derivative plus :math:`O(\epsilon/h)` from
    rounding; :math:`\epsilon^{1/3}` balances the two, Nocedal & Wright, section 8.1).
    :math:`\epsilon` is the machine epsilon of ``x``'s dtype.  Each product costs two
    gradient evaluations.

    Parameters
    ----------
    grad : callable or problem
        ``grad(x) -> gradient`` (same shape as ``x``), or a problem with ``hessian``.
    x : array_like
        The point, a float32/float64 vector.
    eps : float, optional
        Absolute step ``h`` (default above).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.curvature import hvp_operator, top_eigenvalue
    >>> grad = lambda w: np.array([2.0 * w[0], 6.0 * w[1] ** 2])   # f = w0^2 + 2 w1^3
    >>> H = hvp_operator(grad, np.array([1.0, 1.0]))
    >>> np.round(H @ np.array([1.0, 0.0]), 6), np.round(H @ np.array([0.0, 1.0]), 6)
    (array([2., 0.]), array([ 0., 12.]))
    """
    if hasattr(grad, "hessian") and callable(getattr(grad, "hessian")):
        return grad.hessian(x)
    if not callable(grad):
        raise TypeError(f"grad must be callable (x -> gradient), got {type(grad).__name__}")
    x0 = np.asarray(x)
    if x0.dtype.kind not in "fiu":
        raise TypeError(f"x must be a real array, got dtype {x0.dtype}")
    if x0.dtype not in (np.float32, np.float64):
        x0 = x0.astype(np.float64)
    if x0.ndim != 1 or x0.size == 0:
        raise ValueError(f"x must be a non-empty 1-D array, got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("x contains NaN or Inf")
    x0 = x0.copy()
    mach = float(np.finfo(x0.dtype).eps)
    if eps is None:
        h = mach ** (1.0 / 3.0) * max(1.0, float(np.linalg.norm(x0)))
    else:
        h = positive(eps, "eps")
    n = x0.size

    def matvec(v: NDArray[Any]) -> NDArray[Any]:
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return np.zeros(n, dtype=x0.dtype)
        u = (v / nv).astype(x0.dtype)
        gp = np.asarray(grad(x0 + h * u), dtype=np.float64).reshape(-1)
        gm = np.asarray(grad(x0 - h * u), dtype=np.float64).reshape(-1)
        if gp.shape != (n,) or gm.shape != (n,):
            raise ValueError(f"grad returned shape {gp.shape}; expected ({n},) like x")
        # astype(dtype[Any]) matches several overloads, so mypy infers Any
        return cast("NDArray[Any]", ((gp - gm) * (nv / (2.0 * h))).astype(x0.dtype))

    return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, dtype=x0.dtype)
