r"""Safe learning rates for a torch optimizer, measured on the model.

:func:`safe_lr` reads the optimizer (class, hyperparameters, state), measures the largest
eigenvalue of the operator its update sees at the current parameters, and returns lrcore's
:class:`~lrcore.SafeRate` (the formulas of :mod:`lrcore.rates`).

Mapping of torch optimizers to lrcore's methods (per parameter group):

=====================================  ===============================================
torch                                  lrcore
=====================================  ===============================================
``SGD(momentum=0)``                    ``gd`` on :math:`H + \lambda_{wd} I`
``SGD(momentum=b)``                    ``heavy_ball(b)``; with ``dampening=d`` the rate
                                       is :math:`(1-d)\,\eta`, so the optimizer's
                                       rates are lrcore's divided by :math:`1-d`
``SGD(momentum=b, nesterov=True)``     ``nesterov(b)`` (PyTorch's Nesterov form is
                                       lrcore's)
``Adam/AdamW(betas=(b1, b2), eps)``    ``adam(b1)`` on :math:`P^{-1}(H + \lambda_{wd} I)`,
                                       :math:`P = \mathrm{diag}(\sqrt{\hat v}+\epsilon)`
                                       (AdamW: the decoupled decay is not in the
                                       operator; the note gives its relative size)
``RMSprop(momentum=b)``                ``gd``/``heavy_ball(b)`` on :math:`P^{-1}(H+\lambda_{wd} I)`,
                                       :math:`P = \mathrm{diag}(\sqrt{v}+\epsilon)`
=====================================  ===============================================

(:math:`\lambda_{wd}` the coupled ``weight_decay``: it adds :math:`\lambda_{wd} I` to the
Hessian the update sees.)  Several parameter groups sharing the method and momentum are
measured together: group :math:`g` moves at :math:`c\, r_g` with :math:`r_g = \eta_g /
\eta_0` its rate ratio, so the update is the method with rate :math:`c` on
:math:`S^{1/2} P^{-1/2}(H + W) P^{-1/2} S^{1/2}`, :math:`S = \mathrm{diag}(r_g \cdot
\text{gain}_g)`; the result keeps the ratios (group :math:`g`'s rates are
:math:`r_g` times group 0's), the convention of :class:`lrcore.torch.Scheduler`.  Groups
with different methods or momenta are measured one by one on their own Hessian block
(the note says so: the coupled system can be less stable than each block alone).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch

from lrcore.curvature import EigResult, top_eigenvalue
from lrcore.rates import SafeRate, max_stable_lr, optimal_lr
from lrcore.torch._optim import GroupSpec, group_specs, preconditioner_diag
from lrcore.torch._util import fmt, loader_generators, preserved_rng
from lrcore.torch.curvature import HessianOperator, ScaledHessian

__all__ = ["GroupSafeRates", "safe_lr"]


@dataclass(frozen=True)
class GroupSafeRates:
    """One :class:`~lrcore.SafeRate` per parameter group (returned by :func:`safe_lr` when
    the groups' rates differ).  Indexable and iterable like a tuple of SafeRates.

    Attributes
    ----------
    groups : tuple of SafeRate
        In the order of ``optimizer.param_groups``.
    note : str
        How the groups were measured (jointly with their rate ratios, or block by block).
    """

    groups: tuple
    note: str = ""

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> SafeRate:
        return self.groups[i]

    def __iter__(self):
        return iter(self.groups)

    @property
    def max_stable(self) -> list[float]:
        """Each group's ``max_stable``."""
        return [g.max_stable for g in self.groups]

    @property
    def recommended(self) -> list[float]:
        """Each group's ``recommended``."""
        return [g.recommended for g in self.groups]

    def __repr__(self) -> str:
        rows = ", ".join(f"{g.max_stable:.4g}/{g.recommended:.4g}" for g in self.groups)
        return (f"GroupSafeRates(max_stable/recommended per group: [{rows}], "
                f"method={self.groups[0].method!r})")


@dataclass
class _Measured:
    """What one measurement found (shared by safe_lr and SharpnessMonitor)."""

    eig: EigResult
    method: str
    momentum: float
    L: float
    L_upper: float
    max_stable: list          # per group, in the optimizer's lr units (nan: lr 0 group)
    recommended: list
    threshold: float          # sharpness at which the reference group's lr is at the edge
    ref: int                  # reference group
    what: str
    notes: list
    hvps: int


def _ratios(optimizer: torch.optim.Optimizer, specs: list[GroupSpec]) -> tuple[list[float], int]:
    """Rate ratios r_g = lr_g / lr_ref (ref: first group with lr > 0; if every lr is 0, the
    schedulers' initial_lr, else 1)."""
    lrs = [s.lr for s in specs]
    if not any(lr > 0 for lr in lrs):
        init = [optimizer.param_groups[s.index].get("initial_lr") for s in specs]
        if all(v is not None for v in init):
            from lrcore.torch._util import to_float
            lrs = [to_float(v) for v in init]
    if not any(lr > 0 for lr in lrs):
        return [1.0] * len(specs), 0
    ref = next(i for i, lr in enumerate(lrs) if lr > 0)
    return [lr / lrs[ref] for lr in lrs], ref


def homogeneous(specs: list[GroupSpec]) -> bool:
    return len({(s.method, s.momentum) for s in specs}) == 1


class Measurer:
    """The Hessian over an optimizer's parameters, and the scaled operator its update sees."""

    def __init__(self, model: torch.nn.Module, loss_fn: Any, data: Any, optimizer: Any, *,
                 train: bool, dtype: Any, reduction: str, hvp: str,
                 check_determinism: Union[bool, float]) -> None:
        specs = group_specs(optimizer)
        params, seen = [], set()
        for s in specs:
            for p in s.params:
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        if not params:
            raise ValueError("optimizer manages no parameter that requires grad")
        self.model, self.loss_fn, self.data = model, loss_fn, data
        self.kw = dict(train=train, dtype=dtype, reduction=reduction, hvp=hvp)
        self.H = HessianOperator(model, loss_fn, data, params=params,
                                 check_determinism=check_determinism, **self.kw)
        group_of = {}
        for s in specs:
            for p in s.params:
                group_of[id(p)] = s.index
        self.layout = np.concatenate([np.full(int(p.numel()), group_of[id(p)])
                                      for p in self.H.params])
        self.n_params_of_group = {s.index: sum(int(p.numel()) for p in s.params
                                               if id(p) in seen) for s in specs}

    def operator(self, optimizer: Any, specs: list[GroupSpec], ratios: list[float], ref: int,
                 notes: list) -> tuple[Any, str]:
        H = self.H
        gains = np.array([specs[g].gain * ratios[g] / specs[ref].gain for g in range(len(specs))])
        wd = np.array([s.weight_decay for s in specs])
        S = gains[self.layout]
        W = wd[self.layout]
        P = None
        if any(s.kind != "sgd" for s in specs):
            missing = sum(1 for s in specs for p in s.params
                          if s.kind != "sgd" and not optimizer.state.get(p))
            grad = H.gradient() if missing else None
            P, missing = preconditioner_diag(optimizer, H.params, grad=grad)
            steps = sorted({int(float(st["step"])) for st in optimizer.state.values()
                            if isinstance(st, dict) and "step" in st})
            if missing:
                notes.append(f"{type(optimizer).__name__} has no state yet for {missing} "
                             "parameter tensor(s) (no step taken): P is the preconditioner of "
                             "its first step, diag(|g| + eps) with g the full-data gradient at "
                             "the current parameters (for Adam v_hat_1 = g^2 exactly; "
                             "measure again after some steps for the preconditioner it "
                             "settles to)")
            else:
                notes.append(f"P is the optimizer's preconditioner at its step "
                             f"{steps[-1] if steps else '?'} (frozen)")
        has_w = bool(np.any(W != 0))
        has_s = bool(np.any(S != 1.0))
        if P is None and not has_w and not has_s:
            return H, "H"
        scale = np.sqrt(S) if P is None else np.sqrt(S / P)
        what = ("P^-1/2 " if P is not None else "") + ("(H + W)" if has_w else "H") + \
            (" P^-1/2" if P is not None else "")
        if has_s:
            what = f"S^1/2 {what} S^1/2"
        return ScaledHessian(H, scale=scale, shift=W if has_w else None, what=what), what

    def measure(self, optimizer: Any, *, tol: float, maxiter: Optional[int], seed: Any,
                v0: Any, ncv: Optional[int], certified: bool, mu: Optional[float]) -> _Measured:
        specs = group_specs(optimizer)
        if not homogeneous(specs):
            raise ValueError("the optimizer's groups use different methods or momenta")
        ratios, ref = _ratios(optimizer, specs)
        notes: list = []
        before = self.H.num_hvps
        M, what = self.operator(optimizer, specs, ratios, ref, notes)
        res = top_eigenvalue(M, tol=tol, maxiter=maxiter, v0=v0, seed=seed, ncv=ncv)
        s0 = specs[ref]
        return _finish(res, s0.method, s0.momentum, specs, ratios, ref, what, notes, certified,
                       mu, self.H, self.H.num_hvps - before, tol)


def _finish(res: EigResult, method: str, momentum: float, specs: list[GroupSpec],
            ratios: list[float], ref: int, what: str, notes: list, certified: bool,
            mu: Optional[float], H: HessianOperator, hvps: int, tol: float) -> _Measured:
    L, L_up = float(res.value), float(res.upper_bound)
    m = 0.0 if mu is None else float(mu)
    use = L
    if certified:
        if math.isfinite(L_up):
            use = max(L_up, L)
        else:
            notes.append("no finite certified bound on L: max_stable is from the estimate")
    c_max = max_stable_lr(use, method=method, momentum=momentum)
    c_rec = min(optimal_lr(use, max(m, 0.0), method=method, momentum=momentum), c_max)
    g_ref = specs[ref].gain
    mx, rc = [], []
    for g, r in enumerate(ratios):
        if r == 0.0:
            mx.append(math.nan)
            rc.append(math.nan)
            notes.append(f"group {g} has lr 0 (frozen): not part of the measurement, no rate")
        else:
            mx.append(c_max * r / g_ref)
            rc.append(c_rec * r / g_ref)
    lr_ref = specs[ref].lr
    edge = max_stable_lr(1.0, method=method, momentum=momentum)
    threshold = edge / (lr_ref * g_ref) if lr_ref > 0 else math.inf
    dec = [s.decoupled_decay for s in specs if s.decoupled_decay]
    if dec and L > 0:
        notes.append(f"AdamW's decoupled weight decay ({fmt(max(dec))}) is not in the operator: "
                     f"against L = {fmt(L)} it is a {max(dec) / L:.1g} relative effect")
    rel = res.residual / abs(res.value) if res.value else math.inf
    head = (f"L = lambda_max({what}) measured at the current parameters on N = "
            f"{H.num_samples} samples ({H.num_batches} batch{'es' if H.num_batches != 1 else ''})"
            f" in {'train' if H.train else 'eval'} mode ({np.dtype(H.dtype).name}, "
            f"{H.device}): {res.n_matvec} HVPs by Lanczos at tol {tol:g} ({H.hvp_method}"
            + (f"; torch.func failed: {H.fallback_reason}" if H.fallback_reason else "")
            + f"), {hvps} HVPs in all, relative residual {rel:.1e}"
            + ("" if res.converged else ", NOT converged (L is a lower estimate)"))
    bound = (f"L_upper = {fmt(L_up)} ({res.bound} bound"
             + (f", fails with probability {res.failure_probability:g}"
                if res.bound == "probabilistic" else "") + ")")
    mapping = "; ".join(s.text for s in specs) if len(specs) > 1 else specs[0].text
    parts = [head, bound, mapping]
    if len(specs) > 1:
        parts.append("groups keep their lr ratios ("
                     + ", ".join(fmt(r) for r in ratios) + f" x group {ref}'s rate)")
    parts += notes
    parts.append("mu not measured (0)" if mu is None else f"mu = {fmt(m)} (given)")
    return _Measured(res, method, momentum, L, L_up, mx, rc, threshold, ref, what, parts, hvps)


def _rates(meas: _Measured, mu: Optional[float]) -> list[SafeRate]:
    note = "; ".join(meas.notes)
    m = 0.0 if mu is None else float(mu)
    return [SafeRate(mx, rc, meas.L, meas.L_upper, m, meas.method, meas.momentum, note)
            for mx, rc in zip(meas.max_stable, meas.recommended)]


def safe_lr(model: torch.nn.Module, loss_fn: Any, data: Any, optimizer: torch.optim.Optimizer,
            *, train: bool = False, dtype: Any = None, reduction: str = "mean",
            hvp: str = "auto", check_determinism: Union[bool, float] = False,
            certified: bool = True, mu: Optional[float] = None, tol: float = 1e-6,
            maxiter: Optional[int] = None, seed: Any = None, v0: Any = None,
            ncv: Optional[int] = None) -> Union[SafeRate, GroupSafeRates]:
    r"""The largest stable and a recommended learning rate for ``optimizer`` on ``model``.

    Measures :math:`L = \lambda_{\max}` of the operator the optimizer's update sees at the
    current parameters (the Hessian of the loss on ``data``, preconditioned for Adam/
    RMSprop, shifted by coupled weight decay; see the module table) with Lanczos, and
    applies lrcore's formulas (:func:`lrcore.max_stable_lr`, :func:`lrcore.optimal_lr`):

    - SGD: :math:`2/L`; momentum :math:`\beta`: :math:`2(1+\beta)/L`; Nesterov:
      :math:`(2+2\beta)/((1+2\beta)L)`; all divided by :math:`1 - \text{dampening}`;
    - Adam/AdamW: :math:`(2+2\beta_1)/((1-\beta_1)\lambda_{\max}(P^{-1}H))`
      (Cohen et al. 2022).

    The random number generators (torch, numpy, python, the loader's) are left exactly as
    they were, and the model's mode is restored, so training continues unaffected.

    Parameters
    ----------
    model, loss_fn, data
        As in :func:`lrcore.torch.hessian` (``loss_fn`` returns the batch mean).
    optimizer : torch.optim.SGD, Adam, AdamW or RMSprop
        Its parameters (those requiring grad) span the measured operator.
    train, dtype, reduction, hvp, check_determinism
        Passed to :func:`lrcore.torch.hessian` (default: eval mode).
    certified : bool
        ``max_stable`` from the solver's certified upper bound on :math:`L` (errs on the
        safe side), as :func:`lrcore.safe_lr`.
    mu : float, optional
        Strong convexity for ``recommended``; by default not measured (0).
    tol, maxiter, seed, v0, ncv
        Passed to :func:`lrcore.top_eigenvalue`.

    Returns
    -------
    SafeRate or GroupSafeRates
        A :class:`~lrcore.SafeRate` (rates in units of the optimizer's ``lr``) whose
        ``note`` says where and how :math:`L` was measured; a :class:`GroupSafeRates` when
        the parameter groups' rates differ.

    Examples
    --------
    >>> import torch
    >>> from lrcore.torch import safe_lr
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(3, 1, bias=False).double()
    >>> x = torch.randn(50, 3, dtype=torch.float64); y = torch.randn(50, 1, dtype=torch.float64)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> r = safe_lr(model, torch.nn.functional.mse_loss, (x, y), opt, seed=0)
    >>> L = float(torch.linalg.eigvalsh(2 * x.T @ x / 50)[-1])     # the exact Hessian's
    >>> r.method, abs(r.L - L) < 1e-9 * L, abs(r.max_stable - 2 * 1.9 / L) < 1e-9 / L
    ('heavy_ball', True, True)
    """
    if not isinstance(certified, (bool, np.bool_)):
        raise TypeError(f"certified must be a bool, got {type(certified).__name__}")
    specs = group_specs(optimizer)
    eig_kw = dict(tol=tol, maxiter=maxiter, seed=seed, v0=v0, ncv=ncv)
    with preserved_rng(loader_generators(data)):
        if homogeneous(specs):
            meas = Measurer(model, loss_fn, data, optimizer, train=train, dtype=dtype,
                             reduction=reduction, hvp=hvp, check_determinism=check_determinism)
            m = meas.measure(optimizer, certified=certified, mu=mu, **eig_kw)
            rates = _rates(m, mu)
            ratios, _ = _ratios(optimizer, specs)
            if len(rates) == 1 or (all(r == 1.0 for r in ratios)
                                   and len({s.gain for s in specs}) == 1):
                return rates[0]
            return GroupSafeRates(tuple(rates), note=rates[0].note)
        return _blockwise(model, loss_fn, data, optimizer, specs, train=train, dtype=dtype,
                          reduction=reduction, hvp=hvp, check_determinism=check_determinism,
                          certified=certified, mu=mu, eig_kw=eig_kw)


def _blockwise(model, loss_fn, data, optimizer, specs, *, train, dtype, reduction, hvp,
               check_determinism, certified, mu, eig_kw) -> GroupSafeRates:
    out = []
    for s in specs:
        params = [p for p in s.params if p.requires_grad]
        if s.lr == 0.0 or not params:
            out.append(SafeRate(math.nan, math.nan, math.nan, math.nan, 0.0, s.method,
                                s.momentum, f"group {s.index}: lr 0 or no trainable "
                                "parameters, not measured"))
            continue
        H = HessianOperator(model, loss_fn, data, params=params, train=train, dtype=dtype,
                            reduction=reduction, hvp=hvp, check_determinism=check_determinism)
        notes = [f"group {s.index} measured on its own Hessian block (the groups use different "
                 "methods or momenta; the coupled system can be less stable than each block "
                 "alone)"]
        P = None
        if s.kind != "sgd":
            grad = H.gradient() if any(not optimizer.state.get(p) for p in params) else None
            P, missing = preconditioner_diag(optimizer, params, grad=grad)
            if missing:
                notes.append("no optimizer state yet: P from the first step, diag(|g| + eps)")
        W = np.full(H.n, s.weight_decay) if s.weight_decay else None
        M = H if P is None and W is None else ScaledHessian(
            H, scale=None if P is None else 1.0 / np.sqrt(P), shift=W,
            what="P^-1/2 (H + W) P^-1/2" if P is not None else "H + W")
        before = H.num_hvps
        res = top_eigenvalue(M, **eig_kw)
        m = _finish(res, s.method, s.momentum, [s], [1.0], 0,
                    getattr(M, "what", "H"), notes, certified, mu, H, H.num_hvps - before,
                    eig_kw["tol"])
        out.extend(_rates(m, mu))
    return GroupSafeRates(tuple(out), note="groups measured block by block")
