r"""What :func:`lrcore.torch.safe_lr` and :class:`lrcore.torch.SharpnessMonitor` share: the
operator an optimizer's update sees, and the step from its sharpness to each group's rate.

A private module with public names (the layering rule: no private name crosses modules).

The operator.  Group :math:`g` of a torch optimizer moves at the effective rate
:math:`\eta_g \gamma_g` (:math:`\gamma_g` = ``GroupSpec.gain``: ``1 - dampening`` for SGD
heavy ball, else 1) along :math:`-P^{-1}(H + W)\theta` (:math:`P` the diagonal
preconditioner of Adam/RMSprop, ``I`` for SGD; :math:`W` the coupled weight decays).  With
:math:`r_g = \eta_g / \eta_{ref}` (``ref`` the first group with a nonzero rate) the whole
update is the method with rate :math:`c = \eta_{ref}\gamma_{ref}` on

.. math::

    M = S^{1/2} P^{-1/2} (H + W) P^{-1/2} S^{1/2}, \qquad
    S = \mathrm{diag}(r_g \gamma_g / \gamma_{ref}),

which has the eigenvalues of :math:`S P^{-1} (H + W)`.  A rate :math:`c` for :math:`M`
is the rate :math:`c\, r_g / \gamma_{ref}` of group :math:`g` (:meth:`View.group_rates`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lrcore.rates import max_stable_lr
from lrcore.torch._optim import GroupSpec, group_specs, preconditioner_diag
from lrcore.torch._util import fmt, to_float
from lrcore.torch.curvature import HessianOperator, ScaledHessian

__all__ = ["Measurer", "View", "describe_measurement", "homogeneous", "rate_ratios"]


def homogeneous(specs: list[GroupSpec]) -> bool:
    """Whether every group runs the same lrcore method with the same momentum (then the
    groups are measured together on one operator)."""
    return len({(s.method, s.momentum) for s in specs}) == 1


def rate_ratios(optimizer: torch.optim.Optimizer,
                specs: list[GroupSpec]) -> tuple[list[float], int]:
    """``(r, ref)``: rate ratios :math:`r_g = \\eta_g / \\eta_{ref}`, ``ref`` the first group
    with a positive rate.  When every rate is 0 the schedulers' ``initial_lr`` are used if
    all groups have one; otherwise every ratio is 1 and ``ref`` is 0."""
    lrs = [s.lr for s in specs]
    if not any(lr > 0 for lr in lrs):
        init = [optimizer.param_groups[s.index].get("initial_lr") for s in specs]
        if all(v is not None for v in init):
            lrs = [to_float(v) for v in init]
    if not any(lr > 0 for lr in lrs):
        return [1.0] * len(specs), 0
    ref = next(i for i, lr in enumerate(lrs) if lr > 0)
    return [lr / lrs[ref] for lr in lrs], ref


@dataclass
class View:
    """The operator an optimizer's update sees now, and how to read a rate for it.

    Attributes
    ----------
    operator : HessianOperator or ScaledHessian
        :math:`M` of the module docstring (the Hessian itself when nothing scales it).
    what : str
        Its formula, e.g. ``"S^1/2 P^-1/2 (H + W) P^-1/2 S^1/2"``.
    specs : list of GroupSpec
        The groups measured (all of the optimizer's, or one block).
    ratios : list of float
        :math:`r_g`, in the order of ``specs``.
    ref : int
        Index (into ``specs``) of the reference group.
    notes : list of str
        What the numbers alone do not say (the preconditioner's origin, decoupled decay).
    """

    operator: HessianOperator | ScaledHessian
    what: str
    specs: list[GroupSpec]
    ratios: list[float]
    ref: int
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        """The lrcore method of the groups (they share it)."""
        return self.specs[self.ref].method

    @property
    def momentum(self) -> float:
        return self.specs[self.ref].momentum

    def group_rates(self, c: float) -> list[float]:
        """Each group's rate in the optimizer's ``lr`` units for the rate ``c`` on
        :attr:`operator`: :math:`c\\, r_g / \\gamma_{ref}` (nan for a group with rate 0)."""
        g_ref = self.specs[self.ref].gain
        return [math.nan if r == 0.0 else c * r / g_ref for r in self.ratios]

    def threshold(self, method: str | None = None) -> float:
        """The sharpness of :attr:`operator` at which the reference group's current rate is
        at the edge of stability (e.g. :math:`2/\\eta` for gradient descent); ``method``
        overrides the groups' method (the momentum stays)."""
        m = self.method if method is None else method
        edge = max_stable_lr(1.0, method=m, momentum=0.0 if m == "gd" else self.momentum)
        s = self.specs[self.ref]
        c = s.lr * s.gain
        return edge / c if c > 0 else math.inf

    def mapping(self) -> str:
        """How the optimizer was read (one sentence per group)."""
        return "; ".join(s.text for s in self.specs)

    def group_notes(self) -> list[str]:
        """Notes on the groups: their ratios, groups at rate 0."""
        out = []
        if len(self.specs) > 1:
            out.append("groups keep their lr ratios ("
                       + ", ".join(fmt(r) for r in self.ratios)
                       + f" x group {self.specs[self.ref].index}'s rate)")
        for s, r in zip(self.specs, self.ratios):
            if r == 0.0:
                out.append(f"group {s.index} has lr 0 (frozen): not part of the measurement, "
                           "no rate")
        return out

    def decay_note(self, L: float) -> list[str]:
        """The size of AdamW's decoupled decay (not in the operator) against ``L``."""
        dec = [s.decoupled_decay for s in self.specs if s.decoupled_decay]
        if dec and L > 0:
            return [(f"AdamW's decoupled weight decay ({fmt(max(dec))}) is not in the "
                    f"operator: against L = {fmt(L)} it is a {max(dec) / L:.1g} relative "
                    "effect")]
        return []


class Measurer:
    """The Hessian over an optimizer's parameters (or over some of its groups), and the
    :class:`View` its update sees.

    Parameters
    ----------
    model, loss_fn, data, optimizer
        As in :func:`lrcore.torch.safe_lr`.
    groups : list of int, optional
        Restrict to these parameter groups (a block); default all.
    train, dtype, reduction, hvp, check_determinism
        Passed to :class:`~lrcore.torch.HessianOperator`.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Any, data: Any,
                 optimizer: torch.optim.Optimizer, *, groups: list[int] | None = None,
                 train: bool = False, dtype: Any = None, reduction: str = "mean",
                 hvp: str = "auto", check_determinism: bool | float = False) -> None:
        specs = self._specs(optimizer, groups)
        params: list[torch.Tensor] = []
        seen: set[int] = set()
        for s in specs:
            for p in s.params:
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        if not params:
            raise ValueError("optimizer manages no parameter that requires grad"
                             + ("" if groups is None else f" in groups {groups}"))
        self.groups = None if groups is None else list(groups)
        self.H = HessianOperator(model, loss_fn, data, params=params, train=train,
                                 dtype=dtype, reduction=reduction, hvp=hvp,
                                 check_determinism=check_determinism)
        group_of = {id(p): s.index for s in specs for p in s.params}
        self._layout = np.concatenate([np.full(int(p.numel()), group_of[id(p)])
                                       for p in self.H.params])

    def _specs(self, optimizer: torch.optim.Optimizer,
               groups: list[int] | None) -> list[GroupSpec]:
        specs = group_specs(optimizer)
        if groups is None:
            return specs
        return [specs[i] for i in groups]

    def view(self, optimizer: torch.optim.Optimizer) -> View:
        """The operator the optimizer's update sees at its current rates and state."""
        specs = self._specs(optimizer, self.groups)
        if not homogeneous(specs):
            raise ValueError("the optimizer's groups use different methods or momenta")
        ratios, ref = rate_ratios(optimizer, specs)
        H, notes = self.H, []
        pos = {s.index: k for k, s in enumerate(specs)}
        idx = np.array([pos[g] for g in self._layout])
        gain = np.array([specs[k].gain * ratios[k] / specs[ref].gain
                         for k in range(len(specs))])[idx]
        W = np.array([s.weight_decay for s in specs])[idx]
        P = None
        if any(s.kind != "sgd" for s in specs):
            missing = any(not optimizer.state.get(p) for s in specs if s.kind != "sgd"
                          for p in s.params if p.requires_grad)
            P, n_missing = preconditioner_diag(optimizer, H.params,
                                               grad=H.gradient() if missing else None)
            if n_missing:
                notes.append(f"{type(optimizer).__name__} has no state yet for {n_missing} "
                             "parameter tensor(s) (no step taken): P is the preconditioner "
                             "of its first step, diag(|g| + eps) with g the full-data "
                             "gradient at the current parameters (for Adam v_hat_1 = g^2 "
                             "exactly; measure again after some steps for the "
                             "preconditioner it settles to)")
            else:
                steps = sorted({int(to_float(optimizer.state[p]["step"]))
                                for s in specs for p in s.params
                                if "step" in optimizer.state.get(p, {})})
                notes.append(f"P is the optimizer's preconditioner at its step "
                             f"{steps[-1] if steps else '?'} (frozen)")
        has_w = bool(np.any(W != 0))
        has_s = bool(np.any(gain != 1.0))
        if P is None and not has_w and not has_s:
            return View(H, "H", specs, ratios, ref, notes)
        scale = np.sqrt(gain) if P is None else np.sqrt(gain / P)
        what = ("P^-1/2 " if P is not None else "") + ("(H + W)" if has_w else "H") + \
            (" P^-1/2" if P is not None else "")
        if has_s:
            what = f"S^1/2 {what} S^1/2"
        op = ScaledHessian(H, scale=scale, shift=W if has_w else None, what=what)
        return View(op, what, specs, ratios, ref, notes)


def describe_measurement(H: HessianOperator, what: str, n_matvec: int, solver: str,
                         tol: float) -> str:
    """Where and how ``lambda_max(what)`` was measured, for ``SafeRate.where``."""
    nb = H.num_batches
    return (f"lambda_max({what}) of the loss Hessian at the current parameters, "
            f"N = {H.num_samples} samples ({nb} batch{'es' if nb != 1 else ''}), "
            f"{'train' if H.train else 'eval'} mode, {np.dtype(H.dtype).name} on {H.device}: "
            f"{n_matvec} HVPs ({H.hvp_method}"
            + (f"; torch.func failed: {H.fallback_reason}" if H.fallback_reason else "")
            + f") by {solver} at tol {tol:g}")
