"""Plain-Python + numpy twin of the optimisation loop of :func:`lrcore.stability.descend`
(the C runner ``csrc/descend.c``; lrcore's own Python loop ``_descend_python`` for
function problems follows it too).

The loop, for k = 0, 1, ..., steps: evaluate f(x_k) and g = grad f(x_k); record f and
||g|| when k is a multiple of ``record_every``; stop with status ``"diverged"`` when f or
||g|| is not finite or f(x_k) - f(x_0) > blowup * max(|f(x_0)|, 1), with ``"converged"``
when ||g|| <= tol, after step ``steps`` with ``"completed"``; otherwise take the step with
rate lr_k:

- ``gd``          x <- x - lr_k g
- ``heavy_ball``  b <- beta b + g,  x <- x - lr_k b           (b_0 = 0, PyTorch's form)
- ``nesterov``    b <- beta b + g,  x <- x - lr_k (g + beta b)
- ``adam``        Adam (Kingma & Ba) with beta1 = beta, bias-corrected at step k + 1

The steps are :mod:`reference.optim`'s textbook formulas; values and gradients of the
built-in problems are :mod:`reference.problems`' (a problem made from functions is
evaluated by its own functions).  Nothing here calls an lrcore kernel.  A non-finite
iterate is evaluated like any other (its non-finite value ends the run), as in C.
"""
import math
from dataclasses import dataclass

import numpy as np

from lrcore.problems import LeastSquares, Quadratic
from reference import optim as ref_optim
from reference import problems as ref_problems

#: a run has diverged once f(x) - f(x0) exceeds this times max(|f(x0)|, 1) (lrcore's value)
BLOWUP = 1e10


@dataclass
class Run:
    """What lrcore.stability.Trajectory holds."""

    x: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    status: str
    steps_run: int
    final_loss: float
    final_grad_norm: float


def rates(lr, steps, schedule=None):
    """The rate of every step: ``lr`` a number, a sequence (its first ``steps`` values) or a
    callable ``t -> rate`` (a schedule, evaluated one step at a time), times
    ``schedule(t)`` when a multiplier is given."""
    if callable(lr):
        out = [float(lr(t)) for t in range(steps)]
    elif isinstance(lr, (list, tuple, np.ndarray)):
        out = [float(v) for v in np.ravel(lr)[:steps]]
    else:
        out = [float(lr)] * steps
    if schedule is not None:
        out = [v * float(schedule(t)) for t, v in enumerate(out)]
    return out


def value_and_grad(problem, x):
    if isinstance(problem, (Quadratic, LeastSquares)):
        return float(ref_problems.value(problem, x)), ref_problems.grad(problem, x)
    f, g = problem.value_and_grad(x)
    return float(f), np.asarray(g, dtype=np.float64)


def descend(problem, x0, lr, *, steps, method="gd", momentum=None, schedule=None, tol=None,
            record_every=1, beta2=0.999, eps=1e-8, blowup=BLOWUP):
    """Run the loop of lrcore.stability.descend (same arguments; no validation)."""
    b = (0.9 if method == "adam" else 0.0) if momentum is None else float(momentum)
    tol = 0.0 if tol is None else float(tol)
    lrs = rates(lr, steps, schedule)
    r = record_every
    x = np.array(x0, dtype=np.float64)
    buf = np.zeros_like(x)           # momentum buffer, or Adam's first moment
    v = np.zeros_like(x)             # Adam's second moment
    losses = np.full(steps // r + 1, np.nan)
    gnorms = np.full(steps // r + 1, np.nan)
    status, run = "completed", 0
    f0 = fk = gk = math.nan
    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            fk, g = value_and_grad(problem, x)
            gk = float(np.linalg.norm(g))
            if k == 0:
                f0 = fk
            if k % r == 0:
                losses[k // r], gnorms[k // r] = fk, gk
            if not (math.isfinite(fk) and math.isfinite(gk)) or \
                    fk - f0 > blowup * max(abs(f0), 1.0):
                status = "diverged"
                break
            if tol > 0 and gk <= tol:
                status = "converged"
                break
            if k == steps:
                break
            if method == "gd":
                x = ref_optim.sgd(x, g, lrs[k])
            elif method in ("heavy_ball", "nesterov"):
                x, buf = ref_optim.momentum(x, g, buf, lrs[k], b, nesterov=method == "nesterov")
            elif method == "adam":
                x, buf, v, _ = ref_optim.adam(x, g, buf, v, k + 1, lrs[k], beta1=b, beta2=beta2,
                                              eps=eps)
            else:
                raise ValueError(f"unknown method {method!r}")
            run = k + 1
    n = run // r + 1
    return Run(x, losses[:n], gnorms[:n], status, run, fk, gk)
