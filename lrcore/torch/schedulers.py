r"""lrcore schedules as real ``torch.optim.lr_scheduler.LRScheduler`` objects.

:class:`Scheduler` drives every parameter group's rate from a closed-form lrcore
:class:`~lrcore.Schedule`; :class:`PlateauScheduler` from a :class:`~lrcore.ReduceOnPlateau`
rule fed with a metric.  Both subclass ``LRScheduler``, so PyTorch Lightning
(``configure_optimizers``; for the plateau variant add ``"reduce_on_plateau": True`` and a
``"monitor"`` to the scheduler config) and the Hugging Face ``Trainer``
(``optimizers=(optimizer, scheduler)``) accept them, and ``get_last_lr()``, ``last_epoch``
and checkpointing work as usual.

Time: after ``t`` calls to ``step()`` (``t = last_epoch``) the rate is the schedule at ``t``,
the convention of PyTorch's schedulers and of lrcore (``s(t)`` is the rate of update
``t``, 0-based).

Several parameter groups (``groups=``):

* ``"ratio"`` (default): group :math:`i` gets :math:`s(t)\, b_i / b_0`, :math:`b_i` its
  base rate (``initial_lr``, set from ``lr`` when the scheduler is created).  Group 0 follows
  the schedule exactly and the others keep their ratios: with a schedule built from
  :math:`b_0` (e.g. ``lrcore.schedules.compat.StepLR(b_0, ...)``) this is PyTorch's
  behaviour, :math:`b_i \lambda(t)` for ``LambdaLR`` and the other multiplicative
  schedulers;
* ``"factor"``: :math:`b_i\, s(t)` (the schedule is a multiplier, like ``LambdaLR``'s
  lambda);
* ``"same"``: every group gets :math:`s(t)`;
* a list of schedules, one per group (like ``LambdaLR`` with a list of lambdas).

State: ``state_dict()`` holds the schedule's ``to_dict()`` (JSON-safe, no pickled
callables) with the step; ``load_state_dict()`` rebuilds it with
:func:`lrcore.schedules.from_dict`.  As with every PyTorch scheduler, the optimizer's own
``state_dict`` carries the current rates; :meth:`Scheduler.load_state_dict` also sets
them from the closed form at the restored step, so a resume is right in either order
(optimizer state loaded before or after the scheduler's, or not at all).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from lrcore import schedules as _S
from lrcore.schedules import ReduceOnPlateau, Schedule
from lrcore.torch._util import to_float

__all__ = ["Scheduler", "PlateauScheduler"]

_GROUPS = ("ratio", "factor", "same")


def _group_values(v: float, base_lrs: Sequence[float | torch.Tensor], groups: str,
                  name: str) -> list[float | torch.Tensor]:
    out: list[float | torch.Tensor]
    if groups == "same":
        out = [v] * len(base_lrs)
    elif groups == "factor":
        out = [to_float(b) * v for b in base_lrs]
    else:
        b0 = to_float(base_lrs[0])
        if b0 == 0.0:
            raise ValueError(f"{name}: groups='ratio' needs a nonzero base rate in "
                             "param_groups[0] (initial_lr / lr); use groups='same' or "
                             "'factor'")
        out = [v if i == 0 else v * (to_float(b) / b0) for i, b in enumerate(base_lrs)]
    return out


def _check_groups(groups: Any, name: str) -> str:
    if groups not in _GROUPS:
        raise ValueError(f"{name}: groups must be one of {_GROUPS}, got {groups!r}")
    g: str = groups
    return g


class Scheduler(LRScheduler):
    r"""A ``torch.optim.lr_scheduler.LRScheduler`` that sets the rates from an lrcore schedule.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    schedule : Schedule or sequence of Schedule
        Any closed-form lrcore schedule (``lrcore.schedules.cosine(...)``,
        ``lrcore.schedules.compat.OneCycleLR(...)``, compositions), or one per parameter
        group.  For :class:`~lrcore.ReduceOnPlateau` use :class:`PlateauScheduler`.
    groups : {"ratio", "factor", "same"}
        How one schedule drives several groups (see the module docstring); ignored when
        ``schedule`` is a list.
    last_epoch : int
        As in PyTorch (-1: start; resuming needs ``initial_lr`` in the groups).

    Examples
    --------
    >>> import torch
    >>> from lrcore import schedules as S
    >>> from lrcore.torch import Scheduler
    >>> w = torch.nn.Parameter(torch.zeros(2))
    >>> opt = torch.optim.SGD([{"params": [w]}, {"params": [], "lr": 0.01}], lr=0.1)
    >>> sch = Scheduler(opt, S.warmup(S.cosine(0.1, 90), 10))
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step(); sch.step(); lrs.append(round(sch.get_last_lr()[1], 6))
    >>> lrs        # group 1 keeps its ratio 0.01 / 0.1 of the schedule
    [0.001818, 0.002727, 0.003636]
    >>> sch2 = Scheduler(opt, S.constant(1.0)); sch2.load_state_dict(sch.state_dict())
    >>> sch2.schedule == sch.schedule, sch2.last_epoch
    (True, 3)
    """

    def __init__(self, optimizer: torch.optim.Optimizer,
                 schedule: Schedule | Sequence[Schedule], *, groups: str = "ratio",
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.schedule = self._check_schedule(schedule, len(optimizer.param_groups))
        self.groups = _check_groups(groups, "Scheduler")
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _check_schedule(schedule: Any, ngroups: int) -> Any:
        if isinstance(schedule, ReduceOnPlateau):
            raise TypeError("schedule is a ReduceOnPlateau rule: use "
                            "lrcore.torch.PlateauScheduler, which takes the metric")
        if isinstance(schedule, Schedule):
            return schedule
        if isinstance(schedule, (list, tuple)):
            if len(schedule) != ngroups:
                raise ValueError(f"schedule has {len(schedule)} schedules for "
                                 f"{ngroups} parameter groups")
            for i, s in enumerate(schedule):
                if not isinstance(s, Schedule):
                    raise TypeError(f"schedule[{i}] must be an lrcore Schedule, got "
                                    f"{type(s).__name__}")
            return list(schedule)
        raise TypeError(f"schedule must be an lrcore Schedule (lrcore.schedules) or a list of "
                        f"them, one per parameter group, got {type(schedule).__name__}")

    def get_lr(self) -> list[float | torch.Tensor]:
        t = self.last_epoch
        if isinstance(self.schedule, list):
            return [float(s(t)) for s in self.schedule]
        return _group_values(float(self.schedule(t)), self.base_lrs, self.groups, "Scheduler")

    def _get_closed_form_lr(self) -> list[float | torch.Tensor]:
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state; ``"schedule"`` is the schedule's ``to_dict()`` (a list of
        them for per-group schedules)."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule")}
        d["schedule"] = ([s.to_dict() for s in self.schedule]
                         if isinstance(self.schedule, list) else self.schedule.to_dict())
        return d

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (the schedule is rebuilt from its dict)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        d = dict(state_dict)
        if "schedule" in d:
            sd = d.pop("schedule")
            sched = [_S.from_dict(x) for x in sd] if isinstance(sd, list) else _S.from_dict(sd)
            self.schedule = self._check_schedule(sched, len(self.optimizer.param_groups))
        if "groups" in d:
            _check_groups(d["groups"], "state_dict")
        self.__dict__.update(d)
        # the closed form gives the rates at the restored step: set them (PyTorch's
        # LambdaLR leaves the optimizer at whatever rate it had)
        values = self.get_lr()
        for g, v in zip(self.optimizer.param_groups, values):
            if isinstance(g["lr"], torch.Tensor):
                g["lr"].fill_(float(v))
            else:
                g["lr"] = float(v)
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                         for g in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"Scheduler({self.schedule!r}, groups={self.groups!r}, last_epoch={self.last_epoch})"


class PlateauScheduler(LRScheduler):
    r"""An ``LRScheduler`` driven by :class:`lrcore.ReduceOnPlateau`: ``step(metric)``.

    The rate after ``t`` steps is ``rule(t)`` = ``base(t) * scale`` (base: a number or any
    closed-form schedule, e.g. a warmup), spread over the groups as in :class:`Scheduler`.
    :meth:`step` with a metric reports it to the rule first (at the current step), then
    advances time; ``step()`` without a metric only advances time (call it every
    iteration when the base schedule is per iteration and report with :meth:`report` once
    per evaluation).  Called as ``step(val_loss)`` once per epoch with a constant base it
    reproduces ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (same parameters and
    defaults; the relative threshold uses ``|best|``, which only differs for negative
    metrics, where PyTorch's test is wrong -- see :class:`lrcore.ReduceOnPlateau`) for one
    parameter group, and for several as long as ``min_lr`` and ``eps`` do not bind:
    PyTorch applies them to each group's rate, lrcore to the rule's (group 0's under
    ``"ratio"``), so the other groups keep their ratios below ``min_lr``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    rule : ReduceOnPlateau, Schedule, float or None
        A ready rule, or the base (schedule or rate) of a new one built with
        ``**plateau_kwargs`` (``mode``, ``factor``, ``patience``, ``threshold``,
        ``threshold_mode``, ``cooldown``, ``min_lr``, ``eps``, ``active_from``).  Default:
        the constant rate of ``param_groups[0]`` (its ``initial_lr``).
    groups : {"ratio", "factor", "same"}
        As in :class:`Scheduler` (``min_lr`` applies to the rule's rate, i.e. group 0's
        under ``"ratio"``).

    Examples
    --------
    >>> import torch
    >>> from lrcore.torch import PlateauScheduler
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = torch.optim.SGD([w], lr=0.1)
    >>> sch = PlateauScheduler(opt, patience=1)
    >>> for loss in [1.0, 0.5, 0.6, 0.7, 0.8]:
    ...     sch.step(loss)
    >>> round(opt.param_groups[0]["lr"], 6), sch.rule.n_reductions
    (0.01, 1)
    """

    def __init__(self, optimizer: torch.optim.Optimizer,
                 rule: ReduceOnPlateau | Schedule | float | None = None, *,
                 groups: str = "ratio", last_epoch: int = -1, **plateau_kwargs: Any) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.groups = _check_groups(groups, "PlateauScheduler")
        if isinstance(rule, ReduceOnPlateau):
            if plateau_kwargs:
                raise ValueError("give plateau keywords or a ready ReduceOnPlateau rule, not both")
            self.rule = rule
        else:
            if rule is None:
                g0 = optimizer.param_groups[0]
                rule = to_float(g0.get("initial_lr", g0["lr"]))
            if not isinstance(rule, (Schedule, numbers.Real)) or isinstance(rule, bool):
                raise TypeError(f"rule must be a ReduceOnPlateau, a Schedule, a rate or None, "
                                f"got {type(rule).__name__}")
            self.rule = ReduceOnPlateau(rule, **plateau_kwargs)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:
        return _group_values(float(self.rule(self.last_epoch)), self.base_lrs, self.groups,
                             "PlateauScheduler")

    def _apply(self) -> None:
        vals = self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, vals):
            if isinstance(g["lr"], torch.Tensor):
                g["lr"].fill_(lr)
            else:
                g["lr"] = lr
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                         for g in self.optimizer.param_groups]

    def report(self, metric: Any) -> None:
        """Report a metric at the current step without advancing time; the rates change at
        once if the rule reduces."""
        if isinstance(metric, torch.Tensor):
            metric = metric.item()
        self.rule.step(metric, t=self.last_epoch)
        self._apply()

    def step(self, metric: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Report ``metric`` (if given) at the current step, then advance one step."""
        if metric is not None:
            if isinstance(metric, torch.Tensor):
                metric = metric.item()
            m = float(metric)
            if not math.isfinite(m):
                raise ValueError(f"metric must be finite, got {m!r}")
            self.rule.step(m, t=max(self.last_epoch, 0))
        super().step(epoch)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state; ``"rule"`` and ``"rule_state"`` are the rule's
        ``to_dict()`` and ``state_dict()``."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "rule")}
        d["rule"] = self.rule.to_dict()
        d["rule_state"] = self.rule.state_dict()
        return d

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        d = dict(state_dict)
        if "rule" in d:
            self.rule = ReduceOnPlateau.from_state(d.pop("rule"), d.pop("rule_state"))
        self.__dict__.update(d)

    def __repr__(self) -> str:
        return f"PlateauScheduler({self.rule!r}, groups={self.groups!r}, last_epoch={self.last_epoch})"
