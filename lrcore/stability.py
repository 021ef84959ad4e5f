"""Running optimizers and testing stability: is this learning rate safe, and where is the edge?

:func:`descend` runs gradient descent, heavy ball, Nesterov or Adam for a number of steps,
at constant or scheduled rates or with a step-size rule of :mod:`lrcore.adaptive` that
sets the rate during the run (line searches, Polyak, Barzilai-Borwein, AdGD, DoG,
D-Adaptation, Prodigy, schedule-free, curvature tracking); one loop, in C
(``csrc/descend.c``), runs every problem: on the built-in problems without the GIL, for
problems made from Python functions calling the user's function for each value and
gradient (and line-search trial, and Hessian-vector product).
:func:`check_stability` runs a rate and classifies it, :func:`stability_boundary` finds the
largest rate that still converges by bracketing and bisection, next to the theoretical
bound of :mod:`lrcore.rates`, and :func:`sweep` runs several rates side by side.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcore._validation import (
    integer,
    nonneg,
    optimizer_method,
    point,
    positive,
    sequence,
    unit_interval,
)
from lrcore._core import ConvergenceWarning, descend_callable
from lrcore.adaptive import METHOD_RULES, Rule
from lrcore.adaptive import from_dict as rule_from_dict
from lrcore.problems import FunctionProblem, Problem
from lrcore.rates import max_stable_lr

__all__ = ["Trajectory", "StabilityReport", "Boundary", "Sweep", "descend", "check_stability",
           "stability_boundary", "sweep"]

_BLOWUP = 1e10   # a run has diverged once f(x) - f(x0) exceeds this times max(|f(x0)|, 1)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A run of :func:`descend`.

    Attributes
    ----------
    x : numpy.ndarray
        The last iterate (a new array; ``x0`` is not modified).
    losses, grad_norms : numpy.ndarray
        f and ||grad f|| at iterates 0, r, 2r, ... (r = ``record_every``) up to where the
        run stopped.
    status : str
        ``"converged"`` (||grad f|| <= tol; with a rule also an exactly zero gradient, and
        Polyak's target value reached), ``"diverged"`` (a non-finite value, or the loss
        rose by more than 1e10 times its initial scale), ``"stopped"`` (the step-size rule
        could not go on: see :attr:`reason`), or ``"completed"``.
    steps_run : int
        Optimizer steps taken.
    final_loss, final_grad_norm : float
        At the last iterate.
    record_every : int
        The stride of the records.
    rates : numpy.ndarray
        The rate of the step taken from each recorded iterate (NaN at the last one); for a
        rule, the rate it chose (line searches: the accepted trial).
    n_evals : numpy.ndarray of int64
        Function evaluations spent up to and including each recorded iterate (one per
        iterate, plus every line-search trial).  Every iterate also costs one gradient, so
        the gradients spent up to iterate k are k + 1.
    n_hvps : numpy.ndarray of int64
        Hessian-vector products spent before each recorded iterate (the curvature rule).
    lambdas : numpy.ndarray
        The curvature rule's lambda_max in force at each recorded step (NaN otherwise).
    events : numpy.ndarray of int32
        Each recorded step's event, an index into :data:`lrcore.adaptive.EVENTS`
        (``"fallback_backtrack"``, ``"measured"``, ...; 0 for none).
    reason : str or None
        Why a rule ended the run: ``"line_search_failed"``, ``"no_curvature"``,
        ``"target_reached"``, ``"zero_gradient"``; None otherwise.
    rule : Rule or None
        The step-size rule of the run.
    counts : tuple of int
        (function values, gradients, Hessian-vector products) spent by the whole run.
    """

    x: NDArray[np.float64]
    losses: NDArray[np.float64]
    grad_norms: NDArray[np.float64]
    status: str
    steps_run: int
    final_loss: float
    final_grad_norm: float
    record_every: int = 1
    rates: NDArray[np.float64] | None = None
    n_evals: NDArray[np.int64] | None = None
    n_hvps: NDArray[np.int64] | None = None
    lambdas: NDArray[np.float64] | None = None
    events: NDArray[np.int32] | None = None
    reason: str | None = None
    rule: Rule | None = None
    counts: tuple[int, int, int] | None = None

    @property
    def evaluations(self) -> int:
        """Function values + gradients + Hessian-vector products spent by the whole run
        (:attr:`counts` summed: one value and one gradient per iterate, a value per
        line-search trial, the curvature rule's products)."""
        if self.counts is None:
            return 2 * (self.steps_run + 1)
        return int(sum(self.counts))

    def __repr__(self) -> str:
        return (f"Trajectory(status={self.status!r}, steps_run={self.steps_run}, "
                f"final_loss={self.final_loss:.6g}, final_grad_norm={self.final_grad_norm:.3g}"
                + ("" if self.rule is None else f", rule={self.rule!r}")
                + ("" if self.reason is None else f", reason={self.reason!r}") + ")")


def _check_problem(problem: Any) -> Problem:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an lrcore.problems.Problem, got "
                        f"{type(problem).__name__}")
    return problem


def _rate_array(lr: Any, schedule: Any, steps: int) -> NDArray[np.float64]:
    """The per-step learning rates: lr (float, array, schedule or callable) x schedule."""
    def from_callable(f: Callable[[int], Any], what: str) -> NDArray[np.float64]:
        vals = getattr(f, "values", None)
        if callable(vals):
            out = np.asarray(vals(steps), dtype=np.float64)
        else:
            out = np.array([float(f(t)) for t in range(steps)], dtype=np.float64)
        if out.shape != (steps,):
            raise ValueError(f"{what} gave {out.shape} values for {steps} steps")
        return out

    if schedule is not None:
        if not callable(schedule):
            raise TypeError("schedule must be a schedule or a callable t -> factor")
        base = nonneg(lr, "lr")
        rates = base * from_callable(schedule, "schedule")
    elif isinstance(lr, (np.ndarray, list, tuple)):
        rates = np.asarray(lr, dtype=np.float64).ravel()
        if rates.size < steps:
            raise ValueError(f"lr has {rates.size} values but steps={steps}")
        rates = rates[:steps].copy()
    elif callable(lr):
        rates = from_callable(lr, "lr")
    else:
        rates = np.full(steps, nonneg(lr, "lr"))
    bad = ~(np.isfinite(rates) & (rates >= 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"the learning rate at step {k} is {rates[k]!r}; rates must be "
                         "finite and >= 0")
    return rates


def _rule_for(lr: Any, method: Any, schedule: Any) -> tuple[Rule | None, Any]:
    """(the run's rule or None, the method for the C loop's update)."""
    if isinstance(method, str) and method in METHOD_RULES:
        if isinstance(lr, Rule):
            if lr.name != method:
                raise ValueError(f"method={method!r} but lr is a {lr.name} rule; pass "
                                 f"lr={method}(...) or a number (its lr multiplier)")
            rule = lr
        else:
            rule = rule_from_dict({"name": method, "lr": positive(lr, "lr")})
        if schedule is not None:
            raise ValueError(f"method={method!r} sets its own rates: schedule is not taken")
        return rule, "gd"
    if isinstance(lr, Rule):
        if schedule is not None:
            raise ValueError("a step-size rule sets the rate itself: schedule is not taken")
        if lr.name in METHOD_RULES and method != "gd":
            raise ValueError(f"lr is a {lr.name} rule, a method of its own; leave method at "
                             f"'gd' or pass method={lr.name!r} (got {method!r})")
        return lr, method
    return None, method


def descend(problem: Problem, x0: Any, lr: Any, *, steps: int, method: str = "gd",
            momentum: float | None = None, schedule: Any = None, tol: float | None = None,
            record_every: int = 1, beta2: float = 0.999, eps: float = 1e-8) -> Trajectory:
    """Run ``steps`` optimizer steps on ``problem`` from ``x0``.

    Methods, with :math:`\\eta_k` the rate at step :math:`k` and :math:`\\beta` = ``momentum``:

    - ``"gd"``: :math:`x \\leftarrow x - \\eta_k g`;
    - ``"heavy_ball"``: :math:`b \\leftarrow \\beta b + g,\\ x \\leftarrow x - \\eta_k b`
      (Polyak 1964, in PyTorch's form);
    - ``"nesterov"``: :math:`b \\leftarrow \\beta b + g,\\ x \\leftarrow x - \\eta_k (g + \\beta b)`
      (Nesterov 1983 in Sutskever et al.'s form, as PyTorch);
    - ``"adam"``: :func:`lrcore.optim.adam_step` with ``beta1 = momentum`` (default 0.9);
    - ``"dadapt_sgd"``, ``"prodigy"``, ``"schedule_free"``: the methods of
      :mod:`lrcore.adaptive` of those names, ``lr`` a number (their ``lr`` multiplier) or
      the rule itself.

    ``lr`` may be a step-size rule of :mod:`lrcore.adaptive` (:func:`~lrcore.adaptive.armijo`,
    :func:`~lrcore.adaptive.polyak`, ...): the rule sets every rate during the run (with
    ``method="gd"``; :func:`~lrcore.adaptive.curvature` also with heavy ball and Nesterov),
    line-search trials and Hessian-vector products are requested by the C loop itself,
    and the trajectory records the rates, the evaluations spent, the curvature and the
    rule's events.

    Nothing raises on divergence: the run stops with status ``"diverged"``.

    Parameters
    ----------
    problem : Problem
        A built-in problem (the loop runs in C) or :meth:`Problem.from_functions`.
    x0 : array_like
        Starting point (not modified).
    lr : float, array, schedule, callable or Rule
        The rate: a constant, one value per step, a schedule / callable ``t -> lr``, or a
        step-size rule.
    steps : int
        Number of steps (>= 0).
    schedule : schedule or callable, optional
        A multiplier: the rate at step ``t`` is ``lr * schedule(t)`` (not with a rule).
    tol : float, optional
        Stop (status ``"converged"``) once ``||grad f|| <= tol``.
    record_every : int
        Record the loss, gradient norm and the rule's choices every this many steps.
    beta2, eps : float
        Adam's parameters.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive
    >>> from lrcore.problems import Quadratic
    >>> from lrcore.stability import descend
    >>> q = Quadratic(np.diag([1.0, 10.0]))
    >>> descend(q, np.ones(2), 0.19, steps=200).status      # 0.19 < 2/L = 0.2
    'completed'
    >>> descend(q, np.ones(2), 0.21, steps=2000).status
    'diverged'
    >>> tr = descend(q, np.ones(2), adaptive.armijo(), steps=100, tol=1e-8)
    >>> tr.status, int(tr.n_evals[-1]) > tr.steps_run     # trials cost evaluations
    ('converged', True)
    """
    _check_problem(problem)
    rule, method = _rule_for(lr, method, schedule)
    method, b = optimizer_method(method, momentum)
    steps = integer(steps, "steps", 0)
    record_every = integer(record_every, "record_every", 1)
    x = point(x0, problem.dim, "x0").copy()
    rates = np.zeros(0) if rule is not None else _rate_array(lr, schedule, steps)
    tol_v = 0.0 if tol is None else nonneg(tol, "tol")
    beta2_v, eps_v = unit_interval(beta2, "beta2"), positive(eps, "eps")
    overrides: dict[str, Any] | None = None
    hvp = None
    if rule is not None and rule.name == "curvature":
        if method == "adam":
            raise ValueError("the curvature rule sets the rate of gd, heavy_ball or nesterov "
                             "(Adam's stable rate depends on its preconditioner)")
        every = rule.params["every"]
        if every is None:
            every = 0 if problem.constant_hessian else 10
        overrides = {"scale": rule.params["c"] * max_stable_lr(1.0, method=method, momentum=b),
                     "every": every}
        hvp = problem.hvp
    # one loop (csrc/descend.c) for every problem: the built-in problems answer its
    # requests in C, problems made from functions through the user's Python function
    if problem.c_problem is not None:
        out = problem.c_problem.descend(x, rates, steps, method, b, beta2_v, eps_v, tol_v,
                                        _BLOWUP, record_every, rule, overrides, True)
    else:
        vg = problem.fun if isinstance(problem, FunctionProblem) else problem.value_and_grad
        out = descend_callable(vg, x, rates, steps, method, b, beta2_v, eps_v, tol_v,
                               _BLOWUP, record_every, rule, overrides, hvp, True)
    x, losses, gnorms, run, fl, fg, status, extra = out
    k = run // record_every + 1
    return Trajectory(x, losses[:k].copy(), gnorms[:k].copy(), status, run, float(fl),
                      float(fg), record_every, extra["rates"][:k].copy(),
                      extra["n_evals"][:k].copy(), extra["n_hvps"][:k].copy(),
                      extra["lambdas"][:k].copy(), extra["events"][:k].copy(),
                      extra["reason"], rule,
                      (extra["total_evals"], extra["total_grads"], extra["total_hvps"]))


# ----------------------------------------------------------------------------------------
# stability
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StabilityReport:
    """The verdict of :func:`check_stability`.

    Attributes
    ----------
    status : str
        ``"converged"`` (the gradient norm contracts), ``"oscillating"`` (bounded but not
        decreasing: at the edge), ``"diverged"`` (grows, or blows up), or ``"stalled"``
        (stable but the rate is too small to make progress in the budget).
    observed_rate : float
        Measured contraction factor per step: the geometric-mean ratio of successive
        gradient norms over the last third of the run (> 1 means growth).
    predicted_rate : float or None
        The theoretical rate on the quadratic model, for problems with a constant Hessian
        (:class:`Quadratic`, :class:`LeastSquares`): the spectral radius of the iteration
        over the Hessian's spectrum :math:`[\\mu, L]`, e.g. :math:`\\max(|1-\\eta\\mu|,
        |1-\\eta L|)` for gradient descent.  None otherwise.
    lr_over_max : float or None
        ``lr`` divided by the theoretical maximum stable rate.
    """

    status: str
    observed_rate: float
    predicted_rate: float | None
    lr_over_max: float | None
    lr: float
    method: str
    momentum: float
    steps_run: int
    final_loss: float


def _spectral_radius(lr: float, lams: NDArray[np.float64], method: str, b: float) -> float:
    h = lr * lams
    if method == "gd":
        return float(np.max(np.abs(1.0 - h)))
    if method == "heavy_ball":          # z^2 - (1 + b - h) z + b
        tr, det = 1.0 + b - h, np.full_like(h, b)
    else:                               # nesterov: z^2 - (1+b)(1-h) z + b(1-h)
        tr, det = (1.0 + b) * (1.0 - h), b * (1.0 - h)
    disc = tr * tr - 4.0 * det
    sq = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(tr + sq), np.abs(tr - sq)) / 2.0
    cplx = np.sqrt(np.abs(det))
    return float(np.max(np.where(disc >= 0, real, cplx)))


def _theory(problem: Problem, lr: float, method: str,
            b: float) -> tuple[float | None, float | None]:
    """(predicted rate or None, theoretical max stable rate or None).

    Only problems with a global smoothness constant have a theory here; the predicted rate
    needs a constant Hessian (its spectrum lies in [mu, L]).
    """
    if not problem.global_smoothness:
        return None, None
    L = problem.smoothness()
    mx = max_stable_lr(L, method=method, momentum=b) if method != "adam" else None
    pred = None
    if problem.constant_hessian and method != "adam":
        mu = problem.strong_convexity()
        lams = np.linspace(min(mu, L), L, 513)
        pred = _spectral_radius(lr, lams, method, b)
    return pred, mx


def _norm(v: Any) -> float:
    """||v|| without under- or overflow in the squares (numpy's norm squares as is)."""
    a = np.asarray(v, dtype=np.float64)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0.0 or not math.isfinite(m):
        return m
    return m * float(np.linalg.norm(a / m))


def _gradient_floor(problem: Problem, x0: Any) -> float:
    """The size below which a gradient norm is rounding noise: 1e3 eps times the scale of
    the gradient's terms, L ||x0|| + ||grad f(0)|| for problems with a smoothness constant
    (0, no floor, otherwise)."""
    if not problem.global_smoothness:
        return 0.0
    try:
        L = problem.smoothness()
        g0 = _norm(problem.grad(np.zeros(problem.dim)))
        x = _norm(x0)
    except (ValueError, FloatingPointError):
        return 0.0
    scale = L * x + g0
    return 1e3 * np.finfo(np.float64).eps * scale if math.isfinite(scale) else 0.0


def _observed_rate(g: NDArray[np.float64], floor: float = 0.0) -> float:
    """The contraction factor of the gradient norm over the last third of the run, taken
    before the norm reaches ``floor`` (rounding noise: its ratios are ~1, not the rate)."""
    g = g[np.isfinite(g)]
    if len(g) and g[0] > floor and np.any(g <= floor):
        g = g[: np.argmax(g <= floor)]      # the part above the floor
    if len(g) < 3:
        return math.nan if len(g) < 2 else float(g[-1] / g[0])
    s = (2 * len(g)) // 3
    s = min(s, len(g) - 2)
    if not g[s] > 0.0:
        return math.nan
    return float((g[-1] / g[s]) ** (1.0 / (len(g) - 1 - s)))


def _classify(tr: Trajectory, rate: float, thr: float, floor: float = 0.0) -> str:
    if tr.status == "diverged":
        return "diverged"
    if tr.status == "converged":
        return "converged"
    g = tr.grad_norms
    if np.all(g <= floor):
        return "converged"          # started at a stationary point (up to rounding), stayed
    if g[0] > floor and np.any(g <= floor) and g[-1] <= 10.0 * floor:
        return "converged"          # reached the rounding floor and stayed near it
    growth = g[-1] / g[0] if g[0] > 0 else 1.0
    if rate > 1.0 + thr and growth > 1.0:
        return "diverged"
    if rate < 1.0 - thr:
        return "converged"
    # rate ~ 1: real progress overall, a steady but negligible descent (too small a
    # step: stalled), or neither -- the loss stays put or swings (the edge: oscillating)
    if growth < 0.5:
        return "converged"
    d = np.diff(tr.losses[len(tr.losses) // 3:])
    if len(d) and np.count_nonzero(d < 0) >= 0.9 * len(d):
        return "stalled"
    return "oscillating"


def check_stability(problem: Problem, lr: float, *, x0: Any = None, method: str = "gd",
                    momentum: float | None = None, steps: int = 2000) -> StabilityReport:
    """Run ``method`` at rate ``lr`` and classify the run.

    The gradient norm of the last third of the run gives the observed contraction factor
    :math:`\\rho` (:attr:`StabilityReport.observed_rate`): :math:`\\rho > 1 + 10^{-4}` with
    overall growth, or a blow-up, is ``"diverged"``; :math:`\\rho < 1 - 10^{-4}` is
    ``"converged"``; in between, the run is ``"converged"`` if the gradient norm fell by
    half overall, ``"stalled"`` if the loss still decreases steadily (the rate is too small
    for the budget), and otherwise ``"oscillating"`` (the loss stays put or swings: the edge
    of stability).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Quadratic
    >>> from lrcore.stability import check_stability
    >>> q = Quadratic(np.diag([1.0, 10.0]))
    >>> [check_stability(q, f * 0.2).status for f in (0.5, 0.99, 1.01, 3.0)]
    ['converged', 'converged', 'diverged', 'diverged']
    >>> r = check_stability(q, 0.1)
    >>> round(r.observed_rate, 6), round(r.predicted_rate, 6), round(r.lr_over_max, 6)
    (0.9, 0.9, 0.5)
    """
    method, b = optimizer_method(method, momentum)
    lr = nonneg(lr, "lr")
    _check_problem(problem)
    steps = integer(steps, "steps", 0)
    if steps < 10:
        raise ValueError(f"steps must be >= 10 to measure a rate, got {steps}")
    x0 = problem.default_x0() if x0 is None else x0
    tr = descend(problem, x0, lr, steps=steps, method=method, momentum=b)
    floor = _gradient_floor(problem, x0)
    rate = _observed_rate(tr.grad_norms, floor)
    status = "stalled" if lr == 0.0 else _classify(tr, rate, 1e-4, floor)
    pred, mx = _theory(problem, lr, method, b)
    ratio = None if mx is None or not math.isfinite(mx) else lr / mx
    return StabilityReport(status, rate, pred, ratio, lr, method, b, tr.steps_run,
                           tr.final_loss)


@dataclass(frozen=True)
class Boundary:
    """The empirical stability boundary next to the theoretical one
    (:func:`stability_boundary`).

    Attributes
    ----------
    empirical : float
        The largest rate found stable: the stable end of the final bracket, whose width is
        at most ``rtol`` (relative).
    theoretical : float or None
        :func:`lrcore.rates.max_stable_lr` of the problem's smoothness (None when the
        problem has no global smoothness constant, or for Adam).
    n_runs : int
        Runs made by the bracketing and the bisection.
    method, momentum
        The optimizer measured.
    ratio : float or None
        ``empirical / theoretical`` (property).
    """

    empirical: float
    theoretical: float | None
    n_runs: int
    method: str = "gd"
    momentum: float = 0.0

    @property
    def ratio(self) -> float | None:
        """empirical / theoretical."""
        return None if not self.theoretical else self.empirical / self.theoretical


def stability_boundary(problem: Problem, *, x0: Any = None, method: str = "gd",
                       momentum: float | None = None, rtol: float = 1e-3,
                       steps: int | None = None, max_runs: int = 200) -> Boundary:
    """The largest learning rate at which ``method`` still converges, measured.

    Brackets the boundary (doubling or halving from the theoretical rate, or from 1 when
    none is known), then bisects on :math:`\\log \\eta` until the bracket is narrower than
    ``rtol`` (relative).  A rate is unstable when its run blows up or its gradient norm
    grows at a measured rate above :math:`1 + \\mathrm{rtol}/4` per step; each run takes
    ``steps`` steps (default ``max(2000, 20/rtol)``, enough to see such growth).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Quadratic
    >>> from lrcore.stability import stability_boundary
    >>> bd = stability_boundary(Quadratic(np.diag([1.0, 10.0])))
    >>> round(bd.empirical, 3), bd.theoretical
    (0.2, 0.2)
    """
    method, b = optimizer_method(method, momentum)
    _check_problem(problem)
    rtol = unit_interval(rtol, "rtol", lo_open=True)
    max_runs = integer(max_runs, "max_runs", 1)
    steps = max(2000, int(math.ceil(20.0 / rtol))) if steps is None else \
        integer(steps, "steps", 1)
    x0 = problem.default_x0() if x0 is None else point(x0, problem.dim, "x0")
    _, theo = _theory(problem, 1.0, method, b)
    if theo is not None and math.isinf(theo):
        raise ValueError("the problem has no positive curvature (L <= 0): every rate is "
                         "stable for it, so there is no stability boundary to find")
    thr = rtol / 4.0
    runs = 0

    floor = _gradient_floor(problem, x0)
    g0 = _norm(problem.grad(x0))
    if floor > 0 and g0 <= floor:
        raise ValueError(f"x0 is a stationary point of the problem up to rounding (||grad|| = "
                         f"{g0:.3g}): from there no rate moves the iterate, so the boundary "
                         "cannot be measured; start away from the minimizer")

    def stable(lr: float) -> bool:
        nonlocal runs
        if runs >= max_runs:
            raise RuntimeError(f"max_runs={max_runs} runs did not bracket the boundary "
                               f"(last rate tried {lr:.6g}); raise max_runs")
        runs += 1
        tr = descend(problem, x0, lr, steps=steps, method=method, momentum=b)
        st = _classify(tr, _observed_rate(tr.grad_norms, floor), thr, floor)
        return st in ("converged", "stalled")

    lo = hi = theo if theo is not None and math.isfinite(theo) else 1.0
    if stable(lo):
        hi = lo * 2.0
        while stable(hi):
            lo, hi = hi, hi * 2.0
            if hi > 1e300:
                raise RuntimeError(f"no unstable rate found up to {hi:.3g}: is the problem "
                                   "bounded below with positive curvature?")
    else:
        lo = hi / 2.0
        while not stable(lo):
            hi, lo = lo, lo / 2.0
            if lo < 1e-300:
                raise RuntimeError("no stable rate found: every rate tried diverged")
    while hi / lo > 1.0 + rtol and runs < max_runs:
        # the geometric midpoint without forming lo * hi (which under- or overflows for
        # rates beyond 1e+-154)
        mid = math.sqrt(lo) * math.sqrt(hi)
        if stable(mid):
            lo = mid
        else:
            hi = mid
    if hi / lo > 1.0 + rtol:
        warnings.warn(f"stability_boundary: max_runs={max_runs} reached with the bracket "
                      f"[{lo:.6g}, {hi:.6g}] (relative width {hi / lo - 1:.3g}) wider than "
                      f"rtol={rtol:g}; the empirical boundary is its stable end",
                      ConvergenceWarning, stacklevel=2)
    return Boundary(lo, theo, runs, method, b)


# ----------------------------------------------------------------------------------------
# manual sweeps and the range test on problems
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Sweep:
    """Loss curves of :func:`sweep`, one per rate.

    Attributes
    ----------
    lrs : numpy.ndarray
        The rates run, in the order given.
    losses : list of numpy.ndarray
        ``losses[i]``: the loss at every step of the run at ``lrs[i]`` (shorter when it
        diverged).
    statuses : list of str
        ``statuses[i]``: the :attr:`Trajectory.status` of that run.
    steps : int
        Steps per run.
    """

    lrs: NDArray[np.float64]
    losses: list[NDArray[np.float64]]
    statuses: list[str]
    steps: int

    def plot(self, ax: Any = None) -> Any:
        """The loss curves on a log scale, one per rate; returns the axes."""
        from lrcore._plotting import axes

        ax = axes(ax, what="Sweep.plot")
        for lr, ls, st in zip(self.lrs, self.losses, self.statuses):
            ax.plot(np.arange(len(ls)), ls, label=f"lr={lr:.3g} ({st})")
        ax.set_yscale("symlog" if any(np.nanmin(ls) <= 0 for ls in self.losses if len(ls))
                      else "log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
        return ax

    def __repr__(self) -> str:
        body = ", ".join(f"{lr:.3g}: {st}" for lr, st in zip(self.lrs, self.statuses))
        return f"Sweep(steps={self.steps}, {{{body}}})"


def sweep(problem: Problem, lrs: Sequence[float], *, steps: int, x0: Any = None,
          method: str = "gd", momentum: float | None = None) -> Sweep:
    """Run every rate of ``lrs`` for ``steps`` steps and keep the loss curves (manual tuning).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Quadratic
    >>> from lrcore.stability import sweep
    >>> sw = sweep(Quadratic(np.diag([1.0, 10.0])), [0.05, 0.15, 0.25], steps=100)
    >>> sw.statuses
    ['completed', 'completed', 'diverged']
    """
    _check_problem(problem)
    rates = [nonneg(v, f"lrs[{i}]") for i, v in enumerate(sequence(lrs, "lrs"))]
    if not rates:
        raise ValueError("lrs is empty")
    x0 = problem.default_x0() if x0 is None else x0
    curves, stats = [], []
    for lr in rates:
        tr = descend(problem, x0, lr, steps=steps, method=method, momentum=momentum)
        curves.append(tr.losses)
        stats.append(tr.status)
    return Sweep(np.asarray(rates), curves, stats, int(steps))
