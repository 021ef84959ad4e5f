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
import numbers
from typing import Any, Optional, Union

import numpy as np
import torch

from lrcore.torch._optim import group_specs
from lrcore.torch._util import loader_generators, preserved_rng
from lrcore.torch.rates import homogeneous, Measurer

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
        random vector of weight 0.1 into it).
    seed : int
        Seed of the solver's random start vectors (measurement ``k`` uses ``seed + k``).
    train, dtype, reduction, hvp
        Passed to :func:`lrcore.torch.hessian`.
    maxiter, ncv
        Passed to :func:`lrcore.top_eigenvalue`.

    Attributes
    ----------
    last : EigResult or None
        The latest estimate.
    num_hvps : int
        Hessian-vector products spent so far.

    Notes
    -----
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
                 guard: Optional[float] = None, tol: float = 1e-3, method: Optional[str] = None,
                 warm: bool = True, seed: int = 0, train: bool = False, dtype: Any = None,
                 reduction: str = "mean", hvp: str = "auto", maxiter: Optional[int] = None,
                 ncv: Optional[int] = None) -> None:
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        if guard is not None:
            if isinstance(guard, bool) or not isinstance(guard, numbers.Real) or not (
                    math.isfinite(guard) and guard > 0):
                raise ValueError(f"guard must be None or a finite number > 0, got {guard!r}")
        if method is not None and method not in ("gd", "heavy_ball", "nesterov", "adam"):
            raise ValueError(f"method must be None, 'gd', 'heavy_ball', 'nesterov' or 'adam', "
                             f"got {method!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.model, self.loss_fn, self.data = model, loss_fn, data
        self.every, self.guard, self.tol, self.method = int(every), guard, float(tol), method
        self.warm, self.seed = bool(warm), int(seed)
        self._hkw = dict(train=train, dtype=dtype, reduction=reduction, hvp=hvp)
        self._eig = dict(maxiter=maxiter, ncv=ncv)
        self._meas: Optional[Measurer] = None
        self._opt_id: Optional[int] = None
        self.t = 0
        self.last = None
        self._caps: Optional[list] = None
        self._rows: list = []

    @property
    def num_hvps(self) -> int:
        return 0 if self._meas is None else self._meas.H.num_hvps

    @property
    def hessian(self):
        """The :class:`~lrcore.torch.HessianOperator` (after the first measurement)."""
        return None if self._meas is None else self._meas.H

    def _measurer(self, optimizer: torch.optim.Optimizer) -> Measurer:
        if self._meas is None or self._opt_id != id(optimizer):
            self._meas = Measurer(self.model, self.loss_fn, self.data, optimizer,
                                   check_determinism=False, **self._hkw)
            self._opt_id = id(optimizer)
            self.last = None
        return self._meas

    def measure(self, optimizer: torch.optim.Optimizer, *, warm: Optional[bool] = None) -> dict:
        """Measure now (whatever the step count) and record the result; returns the row."""
        specs = group_specs(optimizer)
        if not homogeneous(specs):
            raise ValueError("the optimizer's groups use different methods or momenta; "
                             "monitor each group with its own optimizer view")
        meas = self._measurer(optimizer)
        use_warm = self.warm if warm is None else warm
        v0 = self.last.vector if (use_warm and self.last is not None) else None
        k = len(self._rows)
        with preserved_rng(loader_generators(self.data)):
            m = meas.measure(optimizer, tol=self.tol, v0=v0, seed=self.seed + k,
                             certified=False, mu=None, **self._eig)
        if self.method is not None and self.method != m.method:
            from lrcore.rates import max_stable_lr
            edge = max_stable_lr(1.0, method=self.method,
                                 momentum=0.0 if self.method == "gd" else m.momentum)
            lr_ref = specs[m.ref].lr * specs[m.ref].gain
            m.threshold = edge / lr_ref if lr_ref > 0 else math.inf
            scale = edge / max_stable_lr(1.0, method=m.method, momentum=m.momentum)
            m.max_stable = [v * scale for v in m.max_stable]
        self.last = m.eig
        self._caps = None if self.guard is None else [self.guard * v for v in m.max_stable]
        row = {"step": self.t, "lambda_max": m.L, "threshold": m.threshold,
               "lr": specs[m.ref].lr, "hvps": m.eig.n_matvec, "converged": m.eig.converged,
               "upper_bound": m.L_upper, "capped": False}
        self._rows.append(row)
        return row

    def step(self, optimizer: torch.optim.Optimizer) -> Optional[dict]:
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

    def to_dict(self) -> dict[str, list]:
        """:attr:`history` as plain lists (JSON-safe)."""
        return {k: v.tolist() for k, v in self.history.items()}

    def __repr__(self) -> str:
        last = "" if not self._rows else (f", lambda_max={self._rows[-1]['lambda_max']:.5g}, "
                                          f"threshold={self._rows[-1]['threshold']:.5g}")
        return (f"SharpnessMonitor(every={self.every}, guard={self.guard}, "
                f"measurements={len(self._rows)}{last})")
