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
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from lrcore._core import NonFiniteError
from lrcore._validation import (
    METHODS,
    choice,
    finite,
    flag,
    nonneg,
    not_nan,
    optimizer_method,
    point,
    positive,
)
from lrcore.curvature import BOUND_FAILURE_PROBABILITY, SymmetricOperator, top_eigenvalue
from lrcore.problems import Problem

__all__ = ["SafeRate", "CertificationWarning", "safe_lr", "max_stable_lr", "optimal_lr",
           "polyak_momentum", "METHODS"]


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
    where : str
        Where and how ``L`` was measured (the global constant of a problem, its Hessian at
        a point, a matrix, or the number given).
    bound : str
        What ``L_upper`` is: ``"deterministic"``, ``"probabilistic"`` (holds with
        probability at least ``1 - lrcore.curvature.BOUND_FAILURE_PROBABILITY`` over the
        solver's random start), ``"none"`` (no finite bound: infinite) or ``"given"``
        (``target`` was a number).
    n_matvec : int
        Operator products (Hessian-vector products) spent measuring ``L``.
    """

    max_stable: float
    recommended: float
    L: float
    L_upper: float
    mu: float
    method: str
    momentum: float
    note: str = ""
    where: str = ""
    bound: str = "given"
    n_matvec: int = 0

    def __repr__(self) -> str:
        s = (f"SafeRate(max_stable={self.max_stable:.6g}, recommended={self.recommended:.6g}, "
             f"L={self.L:.6g}, L_upper={self.L_upper:.6g}, mu={self.mu:.6g}, "
             f"method={self.method!r}, momentum={self.momentum}")
        if self.where:
            s += f", where={self.where!r}"
        return s + (f", note={self.note!r})" if self.note else ")")


class CertificationWarning(UserWarning):
    """``safe_lr(certified=True)`` had no finite certified bound and fell back to the
    estimate, which lies *below* lambda_max: the rate may be on the unsafe side."""


def _preconditioned(op: LinearOperator, second_moment: Any, eps: float) -> SymmetricOperator:
    v = np.asarray(second_moment, dtype=np.float64).ravel()
    n = op.shape[0]
    if v.shape != (n,):
        raise ValueError(f"second_moment must have {n} entries, got {v.size}")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError("second_moment must be finite and >= 0")
    if eps == 0.0 and np.any(v == 0):
        raise ValueError("second_moment has zero entries: eps must be > 0 (P = diag(sqrt(v) "
                         "+ eps) would be singular)")
    d = 1.0 / np.sqrt(np.sqrt(v) + eps)              # P^{-1/2}, P = diag(sqrt(v) + eps)
    psd = isinstance(op, SymmetricOperator) and op.psd
    # P^-1/2 H P^-1/2: symmetric, same spectrum as P^-1 H, PSD when H is
    return SymmetricOperator(n, lambda x: d * (op @ (d * x)), psd=psd)


def _describe_target(target: Any) -> str:
    """The argument-name sentence for a target of the wrong kind."""
    return ("target must be a number (L itself), an lrcore problem, a symmetric matrix "
            "(dense or scipy.sparse), a LinearOperator or a torch Hessian operator, got "
            f"{type(target).__name__}")


def safe_lr(target: Any, *, method: str = "gd", momentum: float = 0.0, x: Any = None,
            certified: bool = True, mu: float | None = None, second_moment: Any = None,
            eps: float = 1e-8, solver: str = "lanczos", bound_rtol: float = 0.02,
            **eig_kwargs: Any) -> SafeRate:
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
        Measure the Hessian of a problem at ``x`` instead of its global constant.  Problems
        without a global constant (:meth:`lrcore.problems.Problem.from_functions`) need a
        point: ``x``, or the ``x0`` given to ``from_functions``.
    certified : bool
        Take ``max_stable`` from the eigen-solver's certified upper bound on
        :math:`\\lambda_{\\max}` (errs on the safe side) rather than from the estimate
        itself (which lies below :math:`\\lambda_{\\max}`).  The bound is made tight: the
        solver runs until it is within ``bound_rtol`` of the estimate or ``maxiter``
        products are spent (:func:`lrcore.curvature.top_eigenvalue`'s ``bound_rtol``).
        The built-in problems always have a finite bound; for other operators, if none was
        reached, the estimate is used with a :class:`CertificationWarning` and a note.
    bound_rtol : float
        Width asked of the certified interval, relative (default 2%).
    solver : {"lanczos", "power"}
        The eigen-solver (``method`` is the optimizer).
    mu : float, optional
        Strong convexity to use; by default measured for problems and matrices, 0 for a
        number.
    second_moment : array, optional
        Adam's (bias-corrected) second-moment state :math:`\\hat v`; ``method="adam"``
        measures :math:`\\lambda_{\\max}(P^{-1}H)` with it.  Required for problems; an
        operator given without it is taken as already preconditioned
        (:math:`P^{-1/2} H P^{-1/2}`, e.g. :func:`lrcore.torch.preconditioned`).
    eps : float
        Adam's epsilon in :math:`P = \\mathrm{diag}(\\sqrt{\\hat v} + \\epsilon)`.
    **eig_kwargs
        Passed to :func:`lrcore.curvature.top_eigenvalue` (``tol``, ``seed``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.rates import safe_lr
    >>> safe_lr(4.0)
    SafeRate(max_stable=0.5, recommended=0.25, L=4, L_upper=4, mu=0, method='gd', momentum=0.0, where='the number given')
    >>> r = safe_lr(np.diag([1.0, 2.0, 10.0]), method="heavy_ball", momentum=0.5)
    >>> round(r.L, 6), round(r.mu, 6), r.max_stable <= 0.3
    (10.0, 1.0, True)
    """
    if method in ("lanczos", "power"):
        raise ValueError(f"method is the optimizer ({', '.join(METHODS)}); to choose the "
                         f"eigen-solver pass solver={method!r}")
    b = _check_method(method, momentum)
    certified = flag(certified, "certified")
    solver = choice(solver, "solver", ("lanczos", "power"))
    rtol = positive(bound_rtol, "bound_rtol")
    if "which" in eig_kwargs:
        raise TypeError("safe_lr measures the largest eigenvalue; which= is not an option")
    notes: list[str] = []
    kind, n_mv = "given", 0
    if isinstance(target, (bool, np.bool_)) or target is None or isinstance(target, str):
        raise TypeError(_describe_target(target))
    if isinstance(target, numbers.Real):
        L = not_nan(target, "target")
        L_up = L
        m = 0.0 if mu is None else finite(mu, "mu")
        where = "the number given"
        if method == "adam":
            notes.append("target is lambda_max(P^-1 H)")
        if x is not None:
            raise ValueError("x is only used when target is a problem")
    else:
        problem = target if isinstance(target, Problem) else None
        op: Any
        if problem is not None:
            if x is not None and problem.constant_hessian and method != "adam":
                point(x, problem.dim, "x")
                x = None                          # the Hessian is the same everywhere
            at = "x"
            if x is None and (method == "adam" or not problem.global_smoothness):
                x = problem.default_x0()          # raises when the problem has no point
                at = "its default point x0"
            if x is None:
                op = None
                where = problem.smoothness_source()
            else:
                xx = point(x, problem.dim, "x")
                op = problem.hessian(xx)
                where = (f"Hessian of the problem at {at} (||{at.split()[-1]}|| = "
                         f"{np.linalg.norm(xx):.4g}, {problem.dim} parameters)")
        else:
            if x is not None:
                raise ValueError("x is only used when target is a problem")
            if not (isinstance(target, (np.ndarray, LinearOperator, list, tuple)) or
                    sp.issparse(target) or callable(target)):
                raise TypeError(_describe_target(target))
            op = target
            where = _describe_operator(target)
        if method == "adam":
            if second_moment is not None:
                op = _preconditioned(aslinearoperator(op), second_moment, nonneg(eps, "eps"))
                where = "P^-1/2 H P^-1/2 (Adam's preconditioned Hessian) of " + where
            elif problem is not None:
                raise ValueError("method='adam' needs second_moment= (Adam's v state) to "
                                 "measure the preconditioned sharpness lambda_max(P^-1 H)")
            else:                 # the caller's operator is already P^-1/2 H P^-1/2
                where += " (taken as Adam's preconditioned Hessian P^-1/2 H P^-1/2)"
        kw = dict(eig_kwargs, method=solver)
        if certified and solver == "lanczos":
            kw["bound_rtol"] = rtol
        if op is None:
            res = problem.curvature(**kw)      # type: ignore[union-attr]
        else:
            res = top_eigenvalue(op, **kw)
        L, L_up, kind, n_mv = (float(res.value), float(res.upper_bound), res.bound,
                               int(res.n_matvec))
        if mu is not None:
            m = finite(mu, "mu")
        else:
            sa = {k: v for k, v in eig_kwargs.items() if k not in ("v0",)}
            try:
                if op is None or (problem is not None and problem.global_smoothness
                                  and second_moment is None):
                    # the global constant; at a point of a convex built-in problem it is a
                    # lower bound on the local one (a measurement of the smallest eigenvalue
                    # of a degenerate Hessian can take thousands of products)
                    m = float(problem.strong_convexity())   # type: ignore[union-attr]
                else:
                    m = float(top_eigenvalue(op, which="SA", method=solver, **sa).value)
            except NonFiniteError:
                # the operator returned NaN/Inf on the way to the smallest eigenvalue (a
                # refinement, not required for the bound): say so, use mu = 0
                m = 0.0
                notes.append("mu not measured (the operator returned NaN or Inf)")
        if not res.converged:
            notes.append("eigen-solver did not converge; L is a lower estimate")
    if mu is not None and m > max(L, L_up if math.isfinite(L_up) else L) * (1.0 + 1e-12) \
            and m > 0.0:
        raise ValueError(f"mu = {m!r} exceeds the largest eigenvalue L = {L!r}: the strong "
                         "convexity constant is at most the smoothness constant")
    if m < 0.0:
        notes.append(f"not convex here: smallest eigenvalue {m:.3g} < 0; the limit comes from "
                     "the largest positive eigenvalue")
    if certified and not math.isfinite(L_up):
        if isinstance(target, Problem) and target.global_smoothness:
            raise RuntimeError("internal error: a built-in problem without a finite "
                               "certified bound on its curvature")
        why = ("the power method stops once it converges, before enough products for a "
               "probabilistic bound; use solver='lanczos' for a certified one"
               if solver == "power" else
               "too few products for the probabilistic bound; raise maxiter")
        msg = (f"no finite certified bound on L ({why}): max_stable is from the estimate, "
               "which is below lambda_max, so the rate may be on the unsafe side")
        warnings.warn(msg, CertificationWarning, stacklevel=2)
        notes.append(msg)
        L_for_max = L
    elif certified:
        L_for_max = max(L_up, L)
        if kind == "probabilistic":
            notes.append(f"L_upper holds with probability >= "
                         f"{1 - BOUND_FAILURE_PROBABILITY:g} (random start)")
        if L_up - L > rtol * abs(L) and L > 0:
            notes.append(f"certified bound {L_up / L - 1:.1%} above the estimate "
                         f"(asked: {rtol:.1%}; raise maxiter for a tighter one)")
    else:
        L_for_max = L
    if L_for_max <= 0.0:
        notes.append("no positive curvature (flat or concave): no curvature limit on the rate")
        return SafeRate(math.inf, math.inf, L, L_up, m, method, b, "; ".join(notes), where,
                        kind, n_mv)
    mx = max_stable_lr(L_for_max, method=method, momentum=b)
    rec = min(optimal_lr(L_for_max, max(m, 0.0), method=method, momentum=b), mx)
    return SafeRate(mx, rec, L, L_up, m, method, b, "; ".join(notes), where, kind, n_mv)


def _describe_operator(A: Any) -> str:
    if isinstance(A, np.ndarray):
        return f"a dense {A.shape[0]} x {A.shape[0]} matrix"
    if sp.issparse(A):
        return f"a sparse {A.shape[0]} x {A.shape[0]} matrix ({A.nnz} stored entries)"
    desc = getattr(A, "description", None)
    if isinstance(desc, str):
        return desc
    return f"an operator of size {A.shape[0]}" if hasattr(A, "shape") else "an operator"
