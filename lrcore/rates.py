"""Safe learning rates from measured curvature.

On a quadratic with Hessian eigenvalues in :math:`[\\mu, L]` (and locally on any smooth
function near a minimum) the classical methods are stable exactly when:

=============  ================================================  ==========================
method         stable for                                        source
=============  ================================================  ==========================
gd             :math:`\\eta < 2/L`                                 textbook (e.g. Nesterov 2004, 1.2.3)
heavy_ball     :math:`\\eta < 2(1+\\beta)/L`                        Polyak (1964)
nesterov       :math:`\\eta < (2+2\\beta)/((1+2\\beta)L)`            Nesterov (1983); e.g. Cohen et al. (2021), app. C
adam           :math:`\\eta < (2+2\\beta_1)/((1-\\beta_1)\\lambda_{\\max}(P^{-1}H))`  Cohen et al. (2022), "Adaptive gradient methods at the edge of stability"
=============  ================================================  ==========================

(:math:`\\beta` the momentum; heavy ball and Nesterov in PyTorch's form
``b <- beta b + g``; for Adam :math:`P = \\mathrm{diag}(\\sqrt{\\hat v} + \\epsilon)` is the
preconditioner of a given second-moment state, frozen.)  These bounds are tight: the
tests run each method at 0.98 and 1.02 times them and see convergence and divergence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from lrcore._core import NonFiniteError
from lrcore._validation import METHODS, not_nan, optimizer_method
from lrcore.curvature import top_eigenvalue
from lrcore.problems import Problem

__all__ = ["SafeRate", "safe_lr", "max_stable_lr", "optimal_lr", "polyak_momentum", "METHODS"]


def _check_method(method: Any, momentum: Any) -> float:
    return optimizer_method(method, momentum, momentum_required=False)[1]


def max_stable_lr(L: float, *, method: str = "gd", momentum: float = 0.0) -> float:
    """The largest stable rate for curvature ``L`` (see the module table).

    ``L <= 0`` (flat or concave along every direction) has no curvature limit: ``inf``.
    For ``method="adam"`` pass ``L`` = :math:`\\lambda_{\\max}(P^{-1}H)` and ``momentum`` =
    :math:`\\beta_1`.

    Examples
    --------
    >>> from lrcore.rates import max_stable_lr
    >>> max_stable_lr(4.0), max_stable_lr(4.0, method="heavy_ball", momentum=0.9)
    (0.5, 0.95)
    >>> round(max_stable_lr(4.0, method="nesterov", momentum=0.9), 6)
    0.339286
    """
    b = _check_method(method, momentum)
    L = not_nan(L, "L")
    if L <= 0.0:
        return math.inf
    if method == "gd":
        return 2.0 / L
    if method == "heavy_ball":
        return 2.0 * (1.0 + b) / L
    if method == "nesterov":
        return (2.0 + 2.0 * b) / ((1.0 + 2.0 * b) * L)
    return (2.0 + 2.0 * b) / ((1.0 - b) * L)


def optimal_lr(L: float, mu: float = 0.0, *, method: str = "gd", momentum: float = 0.0) -> float:
    """A recommended rate: the fastest worst-case contraction for curvature in [mu, L].

    - gd: :math:`2/(L+\\mu)` when :math:`\\mu > 0` (minimises :math:`\\max|1-\\eta\\lambda|`),
      else :math:`1/L` (the classical step for L-smooth convex functions, Nesterov 2004);
    - heavy_ball: :math:`2(1+\\beta)/(L+\\mu)` for the given :math:`\\beta` (balances the
      two ends of the spectrum; with Polyak's :math:`\\beta = ((\\sqrt L-\\sqrt\\mu)/(\\sqrt L+\\sqrt\\mu))^2`
      it is Polyak's optimal :math:`4/(\\sqrt L+\\sqrt\\mu)^2`), else :math:`(1+\\beta)/L`;
    - nesterov: :math:`1/L` (Nesterov 1983, 2004);
    - adam: half the stable maximum.

    Examples
    --------
    >>> from lrcore.rates import optimal_lr
    >>> optimal_lr(4.0), optimal_lr(4.0, 1.0)
    (0.25, 0.4)
    """
    b = _check_method(method, momentum)
    L, mu = not_nan(L, "L"), not_nan(mu, "mu")
    if L <= 0.0:
        return math.inf
    mu = max(mu, 0.0)
    if method == "gd":
        return 2.0 / (L + mu) if mu > 0 else 1.0 / L
    if method == "heavy_ball":
        return 2.0 * (1.0 + b) / (L + mu) if mu > 0 else (1.0 + b) / L
    if method == "nesterov":
        return 1.0 / L
    return 0.5 * max_stable_lr(L, method=method, momentum=b)


def polyak_momentum(L: float, mu: float) -> float:
    """Polyak's optimal heavy-ball momentum :math:`((\\sqrt L-\\sqrt\\mu)/(\\sqrt L+\\sqrt\\mu))^2`."""
    L, mu = not_nan(L, "L"), not_nan(mu, "mu")
    if not (L > 0 and mu > 0):
        raise ValueError("Polyak's momentum needs L > 0 and mu > 0")
    r = (math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))
    return r * r


@dataclass(frozen=True)
class SafeRate:
    """The largest stable and the recommended learning rate for a measured curvature.

    Attributes
    ----------
    max_stable : float
        Above this the method diverges on the quadratic model (``inf`` for flat or concave
        problems).  With ``certified=True`` it is computed from ``L_upper``.
    recommended : float
        :func:`optimal_lr` (never above ``max_stable``).
    L : float
        The measured largest eigenvalue (of :math:`P^{-1}H` for Adam).
    L_upper : float
        A certified upper bound on it (see :class:`lrcore.curvature.EigResult`).
    mu : float
        The smallest eigenvalue when measured (strong convexity), else 0.
    method, momentum
        As requested.
    note : str
        Anything the numbers alone do not say (flat or non-convex problems, bounds used).
    """

    max_stable: float
    recommended: float
    L: float
    L_upper: float
    mu: float
    method: str
    momentum: float
    note: str = ""

    def __repr__(self) -> str:
        s = (f"SafeRate(max_stable={self.max_stable:.6g}, recommended={self.recommended:.6g}, "
             f"L={self.L:.6g}, L_upper={self.L_upper:.6g}, mu={self.mu:.6g}, "
             f"method={self.method!r}, momentum={self.momentum}")
        return s + (f", note={self.note!r})" if self.note else ")")


def _preconditioned(op: LinearOperator, second_moment: Any, eps: float) -> LinearOperator:
    v = np.asarray(second_moment, dtype=np.float64).ravel()
    n = op.shape[0]
    if v.shape != (n,):
        raise ValueError(f"second_moment must have {n} entries, got {v.size}")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError("second_moment must be finite and >= 0")
    d = 1.0 / np.sqrt(np.sqrt(v) + eps)              # P^{-1/2}, P = diag(sqrt(v) + eps)
    f = lambda x: d * (op @ (d * np.ravel(x)))        # noqa: E731  symmetric, same spectrum as P^-1 H
    return LinearOperator((n, n), matvec=f, rmatvec=f, dtype=np.float64)


def safe_lr(target: Any, *, method: str = "gd", momentum: float = 0.0, x: Any = None,
            certified: bool = True, mu: float | None = None, second_moment: Any = None,
            eps: float = 1e-8, **eig_kwargs: Any) -> SafeRate:
    """The largest stable and the recommended learning rate for ``target``.

    Parameters
    ----------
    target : float, Problem, array, sparse matrix, LinearOperator
        ``L`` itself; a :mod:`lrcore.problems` problem (its global smoothness, or the
        Hessian at ``x``); or a symmetric matrix/operator (its largest eigenvalue).
    method : {"gd", "heavy_ball", "nesterov", "adam"}
    momentum : float
        :math:`\\beta` (``beta1`` for Adam), in [0, 1).
    x : array, optional
        Measure the Hessian of a problem at ``x`` instead of its global constant.
    certified : bool
        Take ``max_stable`` from the eigen-solver's upper bound on :math:`\\lambda_{\\max}`
        (errs on the safe side) rather than from the estimate itself.
    mu : float, optional
        Strong convexity to use; by default measured for problems and matrices, 0 for a
        number.
    second_moment : array, optional
        Adam's (bias-corrected) second-moment state :math:`\\hat v`; required for
        ``method="adam"``, which measures :math:`\\lambda_{\\max}(P^{-1}H)`.
    eps : float
        Adam's epsilon in :math:`P = \\mathrm{diag}(\\sqrt{\\hat v} + \\epsilon)`.
    **eig_kwargs
        Passed to :func:`lrcore.curvature.top_eigenvalue` (``tol``, ``seed``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.rates import safe_lr
    >>> safe_lr(4.0)
    SafeRate(max_stable=0.5, recommended=0.25, L=4, L_upper=4, mu=0, method='gd', momentum=0.0)
    >>> r = safe_lr(np.diag([1.0, 2.0, 10.0]), method="heavy_ball", momentum=0.5)
    >>> round(r.L, 6), round(r.mu, 6), r.max_stable <= 0.3
    (10.0, 1.0, True)
    """
    b = _check_method(method, momentum)
    notes = []
    if isinstance(target, (int, float, np.integer, np.floating)) and not isinstance(target, bool):
        L = not_nan(target, "target")
        L_up = L
        m = 0.0 if mu is None else not_nan(mu, "mu")
        if method == "adam":
            notes.append("target is lambda_max(P^-1 H)")
    else:
        if isinstance(target, Problem):
            if method == "adam":
                op = target.hessian(None if x is None else x)
            elif x is None:
                op = None
            else:
                op = target.hessian(x)
        else:
            if x is not None:
                raise ValueError("x is only used when target is a problem")
            op = target
        if method == "adam":
            if second_moment is None:
                raise ValueError("method='adam' needs second_moment= (Adam's v state) to "
                                 "measure the preconditioned sharpness lambda_max(P^-1 H)")
            op = _preconditioned(aslinearoperator(op), second_moment, eps)
        if op is None:
            res = target.curvature(**eig_kwargs)
        else:
            res = top_eigenvalue(op, **eig_kwargs)
        L, L_up = float(res.value), float(res.upper_bound)
        if mu is not None:
            m = not_nan(mu, "mu")
        else:
            try:
                if op is None:
                    m = float(target.strong_convexity())
                else:
                    m = float(top_eigenvalue(op, which="SA", **eig_kwargs).value)
            except NonFiniteError:
                # the operator returned NaN/Inf on the way to the smallest eigenvalue (a
                # refinement, not required for the bound): say so, use mu = 0
                m = 0.0
                notes.append("mu not measured (the operator returned NaN or Inf)")
        if not res.converged:
            notes.append("eigen-solver did not converge; L is a lower estimate")
    if L <= 0.0:
        notes.append("no positive curvature (flat or concave): no curvature limit on the rate")
        return SafeRate(math.inf, math.inf, L, L_up, m, method, b, "; ".join(notes))
    if m < 0.0:
        notes.append(f"not convex here: smallest eigenvalue {m:.3g} < 0; the limit comes from "
                     "the largest positive eigenvalue")
    if certified and not math.isfinite(L_up):
        notes.append("no finite certified bound on L (too few Lanczos steps for the "
                     "probabilistic bound): max_stable is from the estimate")
        certified = False
    L_for_max = max(L_up, L) if certified else L
    mx = max_stable_lr(L_for_max, method=method, momentum=b)
    rec = min(optimal_lr(L_for_max, max(m, 0.0), method=method, momentum=b), mx)
    return SafeRate(mx, rec, L, L_up, m, method, b, "; ".join(notes))
