r"""Sharpness tracking during training, with an optional learning-rate guard.

:class:`SharpnessMonitor` re-estimates :math:`\lambda_{\max}` of the operator the optimizer's
update sees (the loss Hessian; :math:`P^{-1}H` for Adam) every ``every`` steps, warm-started
from the previous eigenvector, and compares it with the method's stability threshold at the
current rate -- :math:`2/\eta` for gradient descent, :math:`2(1+\beta)/\eta` for heavy ball,
:math:`(2+2\beta)/((1+2\beta)\eta)` for Nesterov, :math:`(2+2\beta_1)/((1-\beta_1)\eta)` for
Adam.  Full-batch gradient descent is known to drive the sharpness up to this threshold and
hover there ("edge of stability", Cohen et al. 2021); the monitor shows where a run is.
"""
from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np
import torch

from lrcore._validation import choice, flag, integer, positive
from lrcore.curvature import EigResult, check_v0_mix, top_eigenvalue
from lrcore.rates import max_stable_lr
from lrcore.torch._measure import Measurer, homogeneous
from lrcore.torch._optim import group_specs
from lrcore.torch._util import loader_generators, preserved_rng
from lrcore.torch.curvature import HessianOperator, check_options

__all__ = ["SharpnessMonitor"]

_FIELDS = ("step", "lambda_max", "threshold", "lr", "hvps", "converged", "upper_bound",
           "capped")


class SharpnessMonitor:
    r"""Track :math:`\lambda_{\max}` during training; optionally cap the rate below the edge.

    Call :meth:`step` once per optimizer step, after ``optimizer.step()`` (and after
    ``scheduler.step()`` if there is one, so a cap is not overwritten before it acts).

    Parameters
    ----------
    model, loss_fn, data
        As in :func:`lrcore.torch.hessian`: ``data`` is what the sharpness is measured on
        (a fixed batch or a non-shuffling loader; the training batches need not be these).
    every : int
        Measure at the first call and then every ``every`` calls.
    guard : float, optional
        Cap each group's ``lr`` at ``guard`` times its largest stable rate (from the latest
        measurement's estimate of :math:`\lambda_{\max}`), at every call.  ``guard < 1``
        keeps a margin below the edge.
    tol : float
        Relative residual tolerance of each Lanczos run (:func:`lrcore.top_eigenvalue`).
    method : {"gd", "heavy_ball", "nesterov", "adam"}, optional
        Override the method read from the optimizer (momentum still comes from it).
    warm : bool
        Warm-start each estimate from the previous eigenvector (``v0=``; lrcore mixes a
        random vector of weight ``v0_mix`` into it).  What it saves depends on how far the top
        eigenvector turns between estimates (see Notes).
    seed : int
        Seed of the solver's random start vectors (measurement ``k`` uses ``seed + k``).
    train, dtype, reduction, hvp
        Passed to :func:`lrcore.torch.hessian`.
    maxiter, ncv
        Passed to :func:`lrcore.top_eigenvalue`.
    v0_mix : float, optional
        Weight of the random vector mixed into a warm start (:func:`lrcore.top_eigenvalue`;
        default 0.1).  Smaller is cheaper when the top eigenvector turns little between
        estimates (see Notes) but weaker protection against a start nearly orthogonal to
        a new top eigenvector (an eigenvalue that overtakes the old top one).

    Attributes
    ----------
    last : EigResult or None
        The latest estimate.
    num_hvps : int
        Hessian-vector products spent so far.

    Notes
    -----
    Cost of a warm estimate, measured (``benchmarks/compare_torch.py``; tanh MLPs on the
    digits, 10 steps between estimates): at ``tol=1e-3`` about a third of a cold estimate
    or less after full-batch steps (0.19-0.33: the top eigenvector turns by sin 5e-4 to
    3e-2), but 0.7 after minibatch steps (it turns by sin 0.2-0.4, so the previous vector
    is a poor start), and about 0.8 at ``tol=1e-6`` (Lanczos must still shrink the start's
    error by orders of magnitude; the random mix of weight 0.1 alone costs 1-2 products,
    and at ``tol=1e-3`` ``v0_mix=1e-3`` gives 0.19-0.22 after full-batch steps).  A
    thick start from the previous top 2-8 eigenvectors (exact ones, Rayleigh-Ritz at the
    new parameters) did not do better than the single vector.

    Measuring leaves the training untouched: the model's mode and the random number
    generators (torch, numpy, python, the loader's) are restored after each measurement,
    and the products do not touch ``.grad``.  With the guard off, a run with the monitor is
    bit-for-bit the run without it.

    Examples
    --------
    >>> import torch
    >>> from lrcore.torch import SharpnessMonitor
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(3, 1, bias=False).double()
    >>> x = torch.randn(64, 3, dtype=torch.float64); y = torch.randn(64, 1, dtype=torch.float64)
    >>> loss = torch.nn.functional.mse_loss
    >>> opt = torch.optim.SGD(model.parameters(), lr=10.0)       # far beyond 2/L
    >>> mon = SharpnessMonitor(model, loss, (x, y), every=5, guard=0.9, seed=0)
    >>> for _ in range(20):
    ...     opt.zero_grad(); loss(model(x), y).backward(); opt.step(); _ = mon.step(opt)
    >>> h = mon.history
    >>> h["step"].tolist(), bool(opt.param_groups[0]["lr"] <= 0.9 * 2 / h["lambda_max"][-1] * (1 + 1e-12))
    ([0, 5, 10, 15], True)
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Any, data: Any, *, every: int = 10,
                 guard: float | None = None, tol: float = 1e-3, method: str | None = None,
                 warm: bool = True, seed: int = 0, train: bool = False, dtype: Any = None,
                 reduction: str = "mean", hvp: str = "auto", maxiter: int | None = None,
                 ncv: int | None = None, v0_mix: float | None = None) -> None:
        check_options(model, loss_fn, data, train=train, reduction=reduction, hvp=hvp,
                      dtype=dtype)
        if maxiter is not None:
            maxiter = integer(maxiter, "maxiter", 1)
        if ncv is not None:
            ncv = integer(ncv, "ncv", 2)
        every = integer(every, "every", 1)
        if guard is not None:
            guard = positive(guard, "guard")
        if method is not None:
            method = choice(method, "method", ("gd", "heavy_ball", "nesterov", "adam"))
        seed = integer(seed, "seed", 0)
        tol = positive(tol, "tol")
        warm = flag(warm, "warm")
        self.model, self.loss_fn, self.data = model, loss_fn, data
        self.every: int = every
        self.guard: float | None = guard
        self.tol: float = tol
        self.method: str | None = method
        self.warm: bool = warm
        self.seed: int = seed
        self._hkw: dict[str, Any] = {"train": train, "dtype": dtype, "reduction": reduction, "hvp": hvp}
        if v0_mix is not None:
            v0_mix = check_v0_mix(v0_mix)
        self._eig: dict[str, Any] = {"maxiter": maxiter, "ncv": ncv, "v0_mix": v0_mix}
        self._meas: Measurer | None = None
        # the optimizer measured for: a weak reference and its groups' parameters (an id()
        # alone can be reused by a new optimizer once the old one is freed)
        self._opt_ref: weakref.ref[torch.optim.Optimizer] | None = None
        self._opt_params: tuple[tuple[int, ...], ...] = ()
        self.t: int = 0
        self.last: EigResult | None = None
        self._caps: list[float] | None = None
        self._rows: list[dict[str, Any]] = []

    @property
    def num_hvps(self) -> int:
        return 0 if self._meas is None else self._meas.H.num_hvps

    @property
    def hessian(self) -> HessianOperator | None:
        """The :class:`~lrcore.torch.HessianOperator` (after the first measurement)."""
        return None if self._meas is None else self._meas.H

    def _measurer(self, optimizer: torch.optim.Optimizer) -> Measurer:
        params = tuple(tuple(id(p) for p in g["params"]) for g in optimizer.param_groups)
        same = (self._meas is not None and self._opt_ref is not None
                and self._opt_ref() is optimizer and params == self._opt_params)
        if not same:
            self._meas = Measurer(self.model, self.loss_fn, self.data, optimizer,
                                   check_determinism=False, **self._hkw)
            self._opt_ref = weakref.ref(optimizer)
            self._opt_params = params
            self.last = None
        assert self._meas is not None
        return self._meas

    def measure(self, optimizer: torch.optim.Optimizer, *,
                warm: bool | None = None) -> dict[str, Any]:
        """Measure now (whatever the step count) and record the result; returns the row."""
        specs = group_specs(optimizer)
        if not homogeneous(specs):
            raise ValueError("the optimizer's groups use different methods or momenta; "
                             "monitor each group with its own optimizer view")
        meas = self._measurer(optimizer)
        use_warm = self.warm if warm is None else flag(warm, "warm")
        v0 = self.last.vector if (use_warm and self.last is not None) else None
        k = len(self._rows)
        with preserved_rng(loader_generators(self.data)):
            view = meas.view(optimizer)
            eig = top_eigenvalue(view.operator, tol=self.tol, v0=v0, seed=self.seed + k,
                                 **self._eig)
        method = view.method if self.method is None else self.method
        c_max = max_stable_lr(eig.value, method=method,
                              momentum=0.0 if method == "gd" else view.momentum)
        self.last = eig
        self._caps = (None if self.guard is None
                      else [self.guard * v for v in view.group_rates(c_max)])
        s_ref = view.specs[view.ref]
        row = {"step": self.t, "lambda_max": eig.value, "threshold": view.threshold(method),
               "lr": s_ref.lr, "hvps": eig.n_matvec, "converged": eig.converged,
               "upper_bound": eig.upper_bound, "capped": False}
        self._rows.append(row)
        return row

    def step(self, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
        """Count one optimizer step; measure when due; apply the guard.  Returns the new
        history row when a measurement was taken, else None."""
        row = None
        if self.t % self.every == 0:
            row = self.measure(optimizer)
        if self._caps is not None:
            capped = False
            for g, cap in zip(optimizer.param_groups, self._caps):
                lr = float(g["lr"])
                if math.isfinite(cap) and lr > cap:
                    if isinstance(g["lr"], torch.Tensor):
                        g["lr"].fill_(cap)
                    else:
                        g["lr"] = cap
                    capped = True
            if capped and self._rows:
                self._rows[-1]["capped"] = True
        self.t += 1
        return row

    @property
    def history(self) -> dict[str, np.ndarray]:
        """The measurements as a dict of arrays: ``step`` (calls of :meth:`step` before the
        measurement), ``lambda_max``, ``threshold`` (the sharpness at which the current
        rate is at the edge, e.g. ``2/lr``), ``lr`` (of the reference group), ``hvps``
        (Lanczos products of that estimate), ``converged``, ``upper_bound`` and ``capped``
        (whether the guard lowered a rate before the next measurement)."""
        out: dict[str, np.ndarray] = {}
        for k in _FIELDS:
            vals = [r[k] for r in self._rows]
            dt = bool if k in ("converged", "capped") else (np.int64 if k in ("step", "hvps")
                                                            else np.float64)
            out[k] = np.asarray(vals, dtype=dt)
        return out

    def to_dict(self) -> dict[str, list[Any]]:
        """:attr:`history` as plain lists (JSON-safe)."""
        return {k: v.tolist() for k, v in self.history.items()}

    def __repr__(self) -> str:
        last = "" if not self._rows else (f", lambda_max={self._rows[-1]['lambda_max']:.5g}, "
                                          f"threshold={self._rows[-1]['threshold']:.5g}")
        return (f"SharpnessMonitor(every={self.every}, guard={self.guard}, "
                f"measurements={len(self._rows)}{last})")
