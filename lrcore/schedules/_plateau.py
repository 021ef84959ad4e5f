"""ReduceOnPlateau: the stateful rule, with explicit serializable state."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lrcore._core import NonFiniteError
from lrcore._validation import real
from lrcore.schedules._schedule import (
    Schedule,
    ScheduleLike,
    as_schedule,
    choice,
    finite,
    fmt,
    from_dict,
    nonneg_rate,
    register_stateful,
    steps_int,
)

# ----------------------------------------------------------------------------------------
# ReduceOnPlateau
# ----------------------------------------------------------------------------------------

@register_stateful("reduce_on_plateau")
class ReduceOnPlateau:
    r"""Reduce the rate when a metric stops improving, with explicit, serializable state.

    The rate at step ``t`` is ``base(t) * scale``: ``base`` is ``lr`` (a number or any
    closed-form :class:`Schedule`, e.g. a warmup) and ``scale`` starts at 1.  Each
    :meth:`step` reports a metric (once per epoch or evaluation); after more than
    ``patience`` reports without improvement the rate is reduced,
    ``new = max(old * factor, min_lr)`` with ``old = base(t) * scale``, unless
    ``old - new <= eps``; then ``cooldown`` reports are ignored.  A report improves on
    ``best`` when (mode "min")

    * ``threshold_mode="rel"``: ``metric < best - |best| * threshold``,
    * ``threshold_mode="abs"``: ``metric < best - threshold``

    (mode "max" mirrored).  The ``|best|`` makes the relative test correct for negative
    metrics (log-likelihoods, negative rewards); PyTorch's ``ReduceLROnPlateau`` uses
    ``best * (1 - threshold)``, which for a negative ``best`` accepts slightly *worse*
    values as improvements.  For ``best >= 0`` the two agree bit for bit.  Otherwise this
    is PyTorch's algorithm (same parameters and defaults), see
    :func:`compat.ReduceLROnPlateau`.

    Time: ``lrcore.optim`` wrappers call ``rule(t)`` before every update with ``t`` = steps
    taken; the rule remembers the step of the most recent scalar call and :meth:`step` uses
    it (or an explicit ``t``) to evaluate ``base`` and ``min_lr``.  Reports made while
    ``t < active_from`` are ignored entirely (e.g. during the base schedule's warmup).

    Parameters
    ----------
    lr : float or Schedule
        The base rate or schedule.
    mode : {"min", "max"}
        Whether lower or higher metrics are better.
    factor : float
        Multiplier of a reduction, in [0, 1).
    patience : int
        Reports without improvement tolerated before reducing.
    threshold : float
        Minimal (relative or absolute) improvement, >= 0.
    threshold_mode : {"rel", "abs"}
    cooldown : int
        Reports ignored after a reduction.
    min_lr : float
        Lower bound applied at each reduction.
    eps : float
        Reductions smaller than this are skipped.
    active_from : int
        Ignore reports while ``t < active_from``.

    Examples
    --------
    >>> from lrcore.schedules import ReduceOnPlateau, warmup, constant
    >>> rule = ReduceOnPlateau(warmup(constant(0.1), 10), patience=1, active_from=10)
    >>> rule(0), rule(10)
    (0.009090909090909092, 0.1)
    >>> [rule.step(m) for m in [1.0, 0.5, 0.6, 0.7]]
    [0.1, 0.1, 0.1, 0.010000000000000002]
    >>> ReduceOnPlateau.from_state(rule.to_dict(), rule.state_dict())(20)
    0.010000000000000002
    """

    _MODES = ("min", "max")
    _TMODES = ("rel", "abs")

    def __init__(self, lr: ScheduleLike = 1e-3, *, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8,
                 active_from: int = 0) -> None:
        self.base: Schedule = as_schedule(lr, "lr")
        self.mode = choice(mode, "mode", self._MODES)
        self.factor = nonneg_rate(factor, "factor")
        if not self.factor < 1.0:
            raise ValueError(f"factor must be in [0, 1), got {self.factor!r}")
        self.patience = steps_int(patience, "patience", 0, 2**62)
        self.threshold = nonneg_rate(threshold, "threshold")
        self.threshold_mode = choice(threshold_mode, "threshold_mode", self._TMODES)
        self.cooldown = steps_int(cooldown, "cooldown", 0, 2**62)
        self.min_lr = nonneg_rate(min_lr, "min_lr")
        self.eps = nonneg_rate(eps, "eps")
        self.active_from = steps_int(active_from, "active_from", 0, 2**62)
        self.reset()

    # -- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all reports: scale 1, no best, no bad or cooldown counts."""
        self.scale = 1.0
        self.best: float | None = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.n_reductions = 0
        self.n_reports = 0
        self.t = 0

    _STATE_KEYS = ("scale", "best", "num_bad_epochs", "cooldown_counter", "n_reductions",
                   "n_reports", "t")

    def state_dict(self) -> dict[str, Any]:
        """The mutable state as a JSON-safe dict (``best`` is None before the first report)."""
        return {k: getattr(self, k) for k in self._STATE_KEYS}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (validated; nothing changes on error)."""
        missing = [k for k in self._STATE_KEYS if k not in state]
        extra = [k for k in state if k not in self._STATE_KEYS]
        if missing or extra:
            raise ValueError(f"state: missing keys {missing}, unknown keys {extra}")
        scale_ = nonneg_rate(state["scale"], "state['scale']")
        best = None if state["best"] is None else finite(state["best"], "state['best']")
        # counters: at most one per report, and the step as step() and __call__ take it
        ints = {k: steps_int(state[k], f"state[{k!r}]", 0, 2**63 - 1)
                for k in self._STATE_KEYS[2:]}
        self.scale, self.best = scale_, best
        for k, v in ints.items():
            setattr(self, k, v)

    def to_dict(self) -> dict[str, Any]:
        """The configuration (not the state) as a JSON-safe dict for :func:`from_dict`."""
        return {"name": "reduce_on_plateau", "lr": self.base.to_dict(), "mode": self.mode,
                "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "cooldown": self.cooldown, "min_lr": self.min_lr, "eps": self.eps,
                "active_from": self.active_from}

    @classmethod
    def from_state(cls, config: Mapping[str, Any], state: Mapping[str, Any]) -> "ReduceOnPlateau":
        """Rebuild from :meth:`to_dict` and :meth:`state_dict` (e.g. from a checkpoint)."""
        rule = from_dict(config)
        if not isinstance(rule, cls):
            raise ValueError(f"config describes {config.get('name')!r}, not reduce_on_plateau")
        rule.load_state_dict(state)
        return rule

    # -- the rule ------------------------------------------------------------------------
    def __call__(self, t: Any) -> Any:
        """``base(t) * scale``; a scalar ``t`` is remembered as the current step."""
        v = self.base(t)
        if isinstance(v, float):
            self.t = int(t)
            return v * self.scale
        return v * self.scale

    def _is_better(self, a: float) -> bool:
        best = self.best
        if best is None:
            return True
        th = self.threshold
        if self.threshold_mode == "rel":
            # |best| * threshold, written as PyTorch's best * (1 -+ threshold) when best >= 0
            if self.mode == "min":
                return a < best * ((1.0 - th) if best >= 0 else (1.0 + th))
            return a > best * ((1.0 + th) if best >= 0 else (1.0 - th))
        return a < best - th if self.mode == "min" else a > best + th

    def step(self, metric: Any, t: int | None = None) -> float:
        """Report a metric; returns the rate now in force, ``base(t) * scale``.

        ``t`` defaults to the step of the most recent scalar call ``rule(t)``.  A NaN or
        infinite metric raises :class:`lrcore.NonFiniteError` and changes nothing.
        """
        m = _real_metric(metric)
        if t is not None:
            self.t = steps_int(t, "t", 0, 2**63 - 1)
        now = self.t
        if now < self.active_from:
            return float(self.base(now) * self.scale)    # base(int) is a float
        self.n_reports += 1
        if self._is_better(m):
            self.best = m
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            b = self.base(now)
            old = b * self.scale
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:  # implies b > 0
                self.scale = self.scale * self.factor if new == old * self.factor \
                    else new / b
                self.n_reductions += 1
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return float(self.base(now) * self.scale)

    def describe(self) -> str:
        """One line: the rule, its base schedule and the current scale."""
        return (f"reduce on plateau ({self.mode}, x{fmt(self.factor)} after "
                f"{self.patience} bad reports) of [{self.base.describe()}]; currently "
                f"x{fmt(self.scale)}")

    def __repr__(self) -> str:
        return (f"ReduceOnPlateau({self.base!r}, mode={self.mode!r}, factor={self.factor!r}, "
                f"patience={self.patience}, scale={self.scale!r}, best={self.best!r})")


def _real_metric(metric: Any) -> float:
    m = real(metric, "metric")
    if not math.isfinite(m):
        raise NonFiniteError(f"metric is {m!r}; the plateau state was left unchanged")
    return m
