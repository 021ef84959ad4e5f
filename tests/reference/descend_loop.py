"""The Python descend loop that ran problems made from functions before the C loop became
a reverse-communication machine (``lrcore.stability._descend_python``), moved here as the
twin of ``lrcore._core.descend_callable``: the same loop in Python, driving lrcore's own
update kernels.  (:mod:`reference.descend` is the other twin: the same loop with every
step written in plain numpy; this one isolates the machine's bookkeeping from the kernels.)

One change to the copy: the blow-up bound is a parameter (``blowup``, default the
1e10 of ``lrcore.stability``; 0 turns it off, as in the C machine) instead of the module
constant, so the tests can exercise both.  With ``blowup > 0`` the loop is the original.

Known, intended differences from the C machine (the tests account for them):

- ``||g||`` is ``numpy.linalg.norm`` here and a scaled two-accumulator sum in C: equal to
  a few ulps (the tests compare to 1e-12), and a gradient with +-Inf but no NaN gives NaN
  here, Inf in C;
- a step that makes x non-finite ends the run here without evaluating the objective and
  keeps the previous iterate's loss as ``final_loss``; the C machine's drivers report
  NaN (``descend_callable``: the objective is not called there either) or whatever the
  objective returns at that point (built-in problems).
"""
from __future__ import annotations

import math

import numpy as np

from lrcore import optim

_BLOWUP = 1e10   # a run has diverged once f(x) - f(x0) exceeds this times max(|f(x0)|, 1)


def descend_python(problem, x: np.ndarray, rates: np.ndarray, steps: int,
                   method: str, b: float, beta2: float, eps: float, tol: float, r: int,
                   *, blowup: float = _BLOWUP):
    """The C runner's loop, in Python, for problems given by Python functions.

    ``problem`` is an :class:`lrcore.problems.Problem` (its ``value_and_grad`` and
    ``_x``); ``x`` is updated in place.  Returns ``(x, losses, gnorms, steps_run,
    final_loss, final_gnorm, status)`` like ``CProblem.descend``.
    """
    nrec = steps // r + 1
    losses = np.full(nrec, np.nan)
    gnorms = np.full(nrec, np.nan)
    buf = np.zeros_like(x)
    v = np.zeros_like(x)
    status, run = "completed", 0
    f0 = fk = gk = math.nan
    for k in range(steps + 1):
        fk, g = problem.value_and_grad(x)
        g = np.ascontiguousarray(g, dtype=np.float64)
        gk = float(np.linalg.norm(g)) if np.all(np.isfinite(g)) else math.nan
        if k == 0:
            f0 = fk
        if k % r == 0:
            losses[k // r], gnorms[k // r] = fk, gk
        if not (math.isfinite(fk) and math.isfinite(gk)) or \
                (blowup > 0 and fk - f0 > blowup * max(abs(f0), 1.0)):
            status = "diverged"
            break
        if tol > 0 and gk <= tol:
            status = "converged"
            break
        if k == steps:
            break
        lr = float(rates[k])
        if method == "gd":
            optim.sgd_step(x, g, lr)
        elif method in ("heavy_ball", "nesterov"):
            optim.momentum_step(x, g, buf, lr, b, nesterov=method == "nesterov")
        else:
            optim.adam_step(x, g, buf, v, k + 1, lr, beta1=b, beta2=beta2, eps=eps)
        run = k + 1
        try:
            problem._x(x)
        except ValueError:
            status = "diverged"
            break
    return x, losses, gnorms, run, fk, gk, status
