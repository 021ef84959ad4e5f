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

The certified choice is lrcore's: the operator goes to :func:`lrcore.safe_lr` (with
``method="adam"`` and no ``second_moment`` it is taken as already preconditioned), which
asks :func:`lrcore.top_eigenvalue` for a certified interval ``bound_rtol`` wide and takes
``max_stable`` from its upper end; this module only builds the operator and spreads the
rate over the groups.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from lrcore._validation import choice, flag, positive
from lrcore.rates import SafeRate
from lrcore.rates import safe_lr as _lrcore_safe_lr
from lrcore.torch._measure import Measurer, View, describe_measurement, homogeneous
from lrcore.torch._optim import group_specs
from lrcore.torch._util import loader_generators, preserved_rng, to_float

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

    groups: tuple[SafeRate, ...]
    note: str = ""

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> SafeRate:
        return self.groups[i]

    def __iter__(self) -> Iterator[SafeRate]:
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


def _measure(meas: Measurer, view: View, *, certified: bool, bound_rtol: float, solver: str,
             mu: float | None, extra_notes: list[str], eig_kw: dict[str, Any]
             ) -> list[SafeRate]:
    """lrcore.safe_lr on the view's operator, spread over the view's groups."""
    before = meas.H.num_hvps
    r = _lrcore_safe_lr(view.operator, method=view.method, momentum=view.momentum,
                        certified=certified, bound_rtol=bound_rtol, solver=solver,
                        mu=0.0 if mu is None else mu, **eig_kw)
    hvps = meas.H.num_hvps - before
    where = describe_measurement(meas.H, view.what, hvps, solver, eig_kw["tol"])
    notes = ([r.note] if r.note else []) + [view.mapping()] + view.group_notes() \
        + view.notes + view.decay_note(r.L) + extra_notes \
        + ["mu not measured (0)" if mu is None else f"mu = {mu:.4g} (given)"]
    note = "; ".join(notes)
    return [dataclasses.replace(r, max_stable=mx, recommended=rc, note=note, where=where)
            for mx, rc in zip(view.group_rates(r.max_stable), view.group_rates(r.recommended))]


def safe_lr(model: torch.nn.Module, loss_fn: Any, data: Any, optimizer: torch.optim.Optimizer,
            *, train: bool = False, dtype: Any = None, reduction: str = "mean",
            hvp: str = "auto", check_determinism: bool | float = False,
            certified: bool = True, bound_rtol: float = 0.02, solver: str = "lanczos",
            mu: float | None = None, tol: float = 1e-6, maxiter: int | None = None,
            seed: Any = None, v0: Any = None, ncv: int | None = None
            ) -> SafeRate | GroupSafeRates:
    r"""The largest stable and a recommended learning rate for ``optimizer`` on ``model``.

    Measures :math:`L = \lambda_{\max}` of the operator the optimizer's update sees at the
    current parameters (the Hessian of the loss on ``data``, preconditioned for Adam/
    RMSprop, shifted by coupled weight decay, scaled by the groups' rate ratios; see the
    module table) and hands it to :func:`lrcore.safe_lr`, whose formulas
    (:func:`lrcore.max_stable_lr`, :func:`lrcore.optimal_lr`) give the rates:

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
        ``max_stable`` from the certified upper bound on :math:`L` (errs on the safe
        side), as :func:`lrcore.safe_lr`: the solver runs until the bound is within
        ``bound_rtol`` of the estimate (for a loss Hessian, which is indefinite, that is a
        first Lanczos cycle of about 61 HVPs at 2% on 2,410 parameters; see
        :func:`lrcore.top_eigenvalue`) or ``maxiter`` products are spent.
    bound_rtol : float
        Width asked of the certified interval, relative (default 2%).
    solver : {"lanczos", "power"}
        The eigen-solver.
    mu : float, optional
        Strong convexity for ``recommended``; by default not measured (0).
    tol, maxiter, seed, v0, ncv
        Passed to :func:`lrcore.top_eigenvalue`.

    Returns
    -------
    SafeRate or GroupSafeRates
        A :class:`~lrcore.SafeRate` (rates in units of the optimizer's ``lr``) whose
        ``where`` says where and how :math:`L` was measured (samples, mode, dtype, device,
        HVPs) and whose ``note`` how the optimizer was read; a :class:`GroupSafeRates`
        when the parameter groups' rates differ.

    Warns
    -----
    lrcore.rates.CertificationWarning
        ``certified=True`` but no finite bound was reached (``maxiter`` too small):
        ``max_stable`` is from the estimate.

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
    certified = flag(certified, "certified")
    bound_rtol = positive(bound_rtol, "bound_rtol")
    solver = choice(solver, "solver", ("lanczos", "power"))
    specs = group_specs(optimizer)
    eig_kw: dict[str, Any] = {"tol": tol, "maxiter": maxiter, "seed": seed, "v0": v0, "ncv": ncv}
    kw: dict[str, Any] = {"train": train, "dtype": dtype, "reduction": reduction, "hvp": hvp,
                              "check_determinism": check_determinism}
    with preserved_rng(loader_generators(data)):
        if homogeneous(specs):
            meas = Measurer(model, loss_fn, data, optimizer, **kw)
            view = meas.view(optimizer)
            rates = _measure(meas, view, certified=certified, bound_rtol=bound_rtol,
                             solver=solver, mu=mu, extra_notes=[], eig_kw=eig_kw)
            if len(rates) == 1 or (all(r == 1.0 for r in view.ratios)
                                   and len({s.gain for s in specs}) == 1):
                return rates[0]
            return GroupSafeRates(tuple(rates), note="groups measured together, keeping "
                                  "their lr ratios")
        out: list[SafeRate] = []
        # every rate 0 with schedulers' initial_lr (a warmup from 0): frozen only where
        # initial_lr is 0 too; a block is measured on its own, whatever its rate
        init = [optimizer.param_groups[s.index].get("initial_lr") for s in specs]
        warmup = not any(s.lr > 0 for s in specs) and all(v is not None for v in init)
        live = [to_float(v) if warmup else s.lr for s, v in zip(specs, init)]
        for s, lr_g in zip(specs, live):
            if lr_g == 0.0 or not any(p.requires_grad for p in s.params):
                out.append(SafeRate(math.nan, math.nan, math.nan, math.nan, 0.0, s.method,
                                    s.momentum, f"group {s.index}: lr 0 or no trainable "
                                    "parameters, not measured", bound="none"))
                continue
            meas = Measurer(model, loss_fn, data, optimizer, groups=[s.index], **kw)
            note = (f"group {s.index} measured on its own Hessian block (the groups use "
                    "different methods or momenta; the coupled system can be less stable "
                    "than each block alone)")
            out.extend(_measure(meas, meas.view(optimizer), certified=certified,
                                bound_rtol=bound_rtol, solver=solver, mu=mu,
                                extra_notes=[note], eig_kw=eig_kw))
        return GroupSafeRates(tuple(out), note="groups measured block by block")
