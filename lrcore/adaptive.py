r"""Step-size rules that adapt the learning rate during the run.

A constant rate has to be picked before the run (by hand, by a schedule, by a search, or
from the curvature with :func:`lrcore.rates.safe_lr`).  The rules here choose it while the
run goes, from what the run sees:

=====================  ========================================================  ==========
rule                   rate :math:`\eta_k` at step :math:`k`                       needs
=====================  ========================================================  ==========
:func:`armijo`         largest of :math:`\eta_0, \beta\eta_0, \beta^2\eta_0,\dots`   f at trials
                       with :math:`f(x-\eta g) \le f_{ref} - c\,\eta\|g\|^2`
:func:`polyak`         :math:`(f(x_k) - f^\star)/\|g_k\|^2`                         f, :math:`f^\star`
:func:`barzilai_borwein`  :math:`s^\top s/s^\top y` or :math:`s^\top y/y^\top y`     g
:func:`adgd`           :math:`\min(\sqrt{1+\theta}\,\eta_{k-1},\ \|s\|/(2\|y\|))`      g
:func:`dog`            :math:`\max_i\|x_i-x_0\| / \sqrt{\sum_i \|g_i\|^2}`            g
:func:`dadapt_sgd`     D-Adaptation's distance estimate :math:`d_k`              g (own method)
:func:`prodigy`        Prodigy: Adam with D-Adaptation's :math:`d_k`            g (own method)
:func:`schedule_free`  schedule-free SGD (interpolation + averaging)            g (own method)
:func:`curvature`      :math:`c \cdot 2/\lambda_{\max}(\nabla^2 f(x_k))`, Lanczos    HVPs
=====================  ========================================================  ==========

(:math:`s = x_k - x_{k-1}`, :math:`y = g_k - g_{k-1}`.)  Each factory validates its
arguments and returns an immutable, serializable :class:`Rule` (``to_dict`` /
:func:`from_dict`, like the schedules).  A rule goes wherever a rate goes:

- :func:`lrcore.stability.descend` takes it as ``lr=`` (or the three rules that are
  methods of their own as ``method="prodigy"`` etc. with ``lr`` their multiplier); the
  whole run, line-search trials and Hessian-vector products included, runs in the C loop
  of ``csrc/descend.c``, and the trajectory records each step's rate, the function
  evaluations spent, the measured curvature and the rule's events;
- the optimizers of :mod:`lrcore.optim` take the rules that need only what an optimizer
  step sees (gradients and iterates; Polyak's rule also the loss, passed to ``step``).

The arithmetic of DoG, D-Adaptation SGD, Prodigy and schedule-free SGD follows the
authors' PyTorch packages operation by operation (``dog-optimizer`` 1.0.3,
``dadaptation`` 3.2, ``prodigyopt`` 1.1.2, ``schedulefree`` 1.4.1; the tests run them
side by side when they are installed).
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from lrcore._core import EVENTS as _C_EVENTS
from lrcore._core import METHOD_RULES as _C_METHOD_RULES
from lrcore._core import RuleBase
from lrcore._validation import (
    choice,
    finite,
    flag,
    integer,
    nonneg,
    positive,
    real,
    unit_interval,
)

__all__ = ["Rule", "armijo", "polyak", "barzilai_borwein", "adgd", "dog", "dadapt_sgd",
           "prodigy", "schedule_free", "curvature", "from_dict", "NAMES", "METHOD_RULES",
           "EVENTS"]

#: Per-step event names of a run's records (:attr:`lrcore.stability.Trajectory.events`
#: holds indices into this tuple): ``""`` nothing special, ``"fallback_last"`` /
#: ``"fallback_backtrack"`` (Barzilai-Borwein's safeguard: s'y <= 0, or the first step),
#: ``"clamped"`` (the rate hit its bounds), ``"measured"`` (curvature: lambda_max measured
#: at this step), ``"no_curvature"`` (lambda_max <= 0: fallback rate), ``"no_step"``.
EVENTS: tuple[str, ...] = tuple(_C_EVENTS)
#: The rules that are optimization methods of their own (they change the iterates, not
#: just the rate): ``descend(method=...)`` accepts these names too.
METHOD_RULES: tuple[str, ...] = tuple(_C_METHOD_RULES)


def _json(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


class Rule(RuleBase):
    """An immutable step-size rule (make one with the factories of :mod:`lrcore.adaptive`,
    e.g. :func:`armijo`; do not instantiate directly).

    The parameters are read-only attributes and :attr:`params`; :attr:`name` is the
    factory's name.  Two rules are equal when name and parameters are.

    Examples
    --------
    >>> from lrcore import adaptive
    >>> r = adaptive.armijo(c=1e-3)
    >>> r
    armijo(c=0.001)
    >>> r.c, r.name, r.needs_loss
    (0.001, 'armijo', True)
    >>> adaptive.from_dict(r.to_dict()) == r
    True
    """

    __slots__ = ("_params", "_defaults")
    _params: Mapping[str, Any]
    _defaults: Mapping[str, Any]

    def __init__(self, name: str, params: Mapping[str, Any],
                 defaults: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        object.__setattr__(self, "_params", MappingProxyType(dict(params)))
        object.__setattr__(self, "_defaults", MappingProxyType(dict(defaults or {})))

    @property
    def name(self) -> str:
        """The factory's name, e.g. ``"armijo"`` (the ``"name"`` key of :meth:`to_dict`)."""
        return str(self.kind)

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters (read-only mapping)."""
        return self._params

    @property
    def needs_loss(self) -> bool:
        """True when the rule reads loss values (Polyak's rule; the line searches)."""
        return self.name in ("polyak", "armijo") or (
            self.name == "barzilai_borwein" and self._params["fallback"] == "backtrack")

    @property
    def optimizer_ready(self) -> bool:
        """True when the rule needs only what an optimizer step sees (gradients,
        iterates, and for Polyak the loss), so :mod:`lrcore.optim` can run it."""
        return not self.needs_machine

    def __getattr__(self, key: str) -> Any:
        if not key.startswith("_"):
            try:
                return self._params[key]
            except KeyError:
                pass
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("rules are immutable; build a new one instead")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("rules are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self.name == other.name and dict(self._params) == dict(other._params)

    def __hash__(self) -> int:
        return hash((self.name, tuple((k, _json_key(v)) for k, v in self._params.items())))

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self._params.items()
                 if not (k in self._defaults and _same(self._defaults[k], v))]
        return f"{self.name}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Callable[[Mapping[str, Any]], Rule], tuple[dict[str, Any]]]:
        return (from_dict, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict ``{"name": ..., <parameters>...}`` (infinite bounds are the
        float ``inf``, which :mod:`json` writes as ``Infinity``); :func:`from_dict`
        rebuilds an equal rule.

        Examples
        --------
        >>> from lrcore import adaptive
        >>> adaptive.dog().to_dict()
        {'name': 'dog', 'reps_rel': 1e-06, 'eps': 1e-08}
        """
        return {"name": self.name, **{k: _json(v) for k, v in self._params.items()}}


def _json_key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) and type(a) is type(b)


def _max_lr(v: Any, name: str = "max_lr") -> float:
    f = real(v, name)
    if not (f > 0.0):
        raise ValueError(f"{name} must be > 0 (math.inf for no bound), got {f!r}")
    return f


def _growth(v: Any) -> float:
    f = real(v, "growth_rate")
    if not (f >= 1.0):
        raise ValueError(f"growth_rate must be >= 1 (math.inf for no bound), got {f!r}")
    return f


# ----------------------------------------------------------------------------------------
# line search and Polyak
# ----------------------------------------------------------------------------------------

def armijo(c: float = 1e-4, shrink: float = 0.5, grow: float = 2.0, max_backtracks: int = 50,
           nonmonotone: int = 0, *, lr0: float = 1.0, max_lr: float = math.inf) -> Rule:
    r"""Armijo backtracking line search along the negative gradient.

    At step :math:`k` the trial rates are :math:`\eta_0, \beta\eta_0, \beta^2\eta_0,
    \dots` (:math:`\beta` = ``shrink``) and the first that satisfies the sufficient-decrease
    condition

    .. math::  f(x_k - \eta g_k) \le f_{ref} - c\,\eta\,\|g_k\|^2

    is taken (Armijo 1966).  :math:`f_{ref} = f(x_k)`, or with ``nonmonotone=M`` the
    largest of the last :math:`M` iterate losses (Grippo, Lampariello & Lucidi 1986), which
    lets the loss rise a little to pass narrow valleys.  :math:`\eta_0` = ``lr0`` at the
    first step, then ``min(grow * last accepted, max_lr)`` so the rate can recover after a
    short step.  A trial with a NaN or infinite loss fails the test (the step shrinks).  If
    ``max_backtracks`` shrinks all fail the run stops (status ``"stopped"``, reason
    ``"line_search_failed"``) at the last accepted iterate: the loss cannot be decreased
    measurably any more, which happens at the rounding floor.

    Each trial costs one function value (no gradient); an accepted step one value and
    gradient at the new iterate.  Descend only (an optimizer step cannot evaluate trials).

    Parameters
    ----------
    c : float
        Sufficient-decrease constant in (0, 1).
    shrink : float
        Backtracking factor in (0, 1).
    grow : float
        Factor >= 1 for the first trial from the last accepted rate (1: never grows).
    max_backtracks : int
        Shrinks allowed per step (>= 0).
    nonmonotone : int
        Memory M >= 0 of the non-monotone reference (0 or 1: monotone).
    lr0, max_lr : float
        The first trial rate (> 0) and a cap on every trial (> 0, may be ``math.inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.diag([1.0, 10.0])), np.ones(2), adaptive.armijo(),
    ...              steps=500, tol=1e-10)
    >>> tr.status, float(tr.rates[0])     # trials 1, 0.5, 0.25 failed, 0.125 passed
    ('converged', 0.125)
    >>> int(tr.n_evals[1])                 # f(x0), 4 trials, f(x1)
    6
    """
    p = {"c": unit_interval(c, "c", lo_open=True),
         "shrink": unit_interval(shrink, "shrink", lo_open=True),
         "grow": finite(grow, "grow"),
         "max_backtracks": integer(max_backtracks, "max_backtracks", 0),
         "nonmonotone": integer(nonmonotone, "nonmonotone", 0, 1 << 20),
         "lr0": positive(lr0, "lr0"), "max_lr": _max_lr(max_lr)}
    if p["grow"] < 1.0:
        raise ValueError(f"grow must be >= 1, got {p['grow']!r}")
    return Rule("armijo", p, _ARMIJO)


_ARMIJO = {"c": 1e-4, "shrink": 0.5, "grow": 2.0, "max_backtracks": 50, "nonmonotone": 0,
           "lr0": 1.0, "max_lr": math.inf}


def polyak(f_star: float = 0.0, max_lr: float = math.inf) -> Rule:
    r"""Polyak's step size.

    .. math::  \eta_k = \min\Big(\frac{f(x_k) - f^\star}{\|g_k\|^2},\ \eta_{\max}\Big)

    (Polyak 1969; 1987, §5.3), optimal for convex problems when :math:`f^\star` is the
    optimal value (then it converges without any smoothness constant).  With a wrong
    :math:`f^\star` it stalls (too high) or oscillates (too low); once
    :math:`f(x_k) \le f^\star` the run stops as ``"converged"`` (reason
    ``"target_reached"``).  Needs the loss: optimizers take it as ``step(grads, loss=f)``.

    Parameters
    ----------
    f_star : float
        The optimal value (or a lower estimate), finite.
    max_lr : float
        A cap on the rate (> 0, may be ``math.inf``; the rate of a clamped step records the
        event ``"clamped"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.eye(3)), np.ones(3), adaptive.polyak(0.0), steps=5)
    >>> float(tr.rates[0]), tr.x       # (1.5 - 0) / 3 = 0.5: halves x at every step
    (0.5, array([0.03125, 0.03125, 0.03125]))
    """
    return Rule("polyak", {"f_star": finite(f_star, "f_star"), "max_lr": _max_lr(max_lr)},
                {"f_star": 0.0, "max_lr": math.inf})


# ----------------------------------------------------------------------------------------
# gradient-difference rules
# ----------------------------------------------------------------------------------------

def barzilai_borwein(variant: int = 1, min_lr: float = 1e-10, max_lr: float = 1e10, *,
                     lr0: float = 1.0, fallback: str = "backtrack", c: float = 1e-4,
                     shrink: float = 0.5, max_backtracks: int = 50) -> Rule:
    r"""Barzilai-Borwein step sizes, safeguarded.

    With :math:`s = x_k - x_{k-1}` and :math:`y = g_k - g_{k-1}` (Barzilai & Borwein 1988):

    .. math::  \eta^{BB1}_k = \frac{s^\top s}{s^\top y}, \qquad
               \eta^{BB2}_k = \frac{s^\top y}{y^\top y},

    clamped to ``[min_lr, max_lr]`` (event ``"clamped"``).  Where :math:`s^\top y \le 0`
    (negative curvature along the step: the quotients are meaningless) and at the first
    step (no pair yet), the safeguard takes over: ``fallback="backtrack"`` runs Armijo
    backtracking (constants ``c``, ``shrink``, ``max_backtracks``) from the last accepted
    rate (``lr0`` at the first step), event ``"fallback_backtrack"``;
    ``fallback="last"`` reuses the last accepted rate as it is, event ``"fallback_last"``
    (the only choice for an optimizer, which cannot evaluate trials).  The trajectory
    records which happened at every step.

    Parameters
    ----------
    variant : {1, 2}
        BB1 (long step) or BB2 (short step).
    min_lr, max_lr : float
        Bounds of the rate, ``0 < min_lr <= max_lr`` (``max_lr`` may be ``math.inf``).
    lr0 : float
        The rate of the first step (a trial when backtracking).
    fallback : {"backtrack", "last"}
    c, shrink, max_backtracks
        The backtracking's constants (see :func:`armijo`).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.diag([1.0, 10.0, 100.0])), np.ones(3),
    ...              adaptive.barzilai_borwein(), steps=200, tol=1e-10)
    >>> tr.status, adaptive.EVENTS[tr.events[0]]
    ('converged', 'fallback_backtrack')
    """
    v = integer(variant, "variant", 1, 2)
    lo = positive(min_lr, "min_lr")
    hi = _max_lr(max_lr)
    if lo > hi:
        raise ValueError(f"min_lr must be <= max_lr, got {lo!r} > {hi!r}")
    p = {"variant": v, "min_lr": lo, "max_lr": hi, "lr0": positive(lr0, "lr0"),
         "fallback": choice(fallback, "fallback", ("backtrack", "last")),
         "c": unit_interval(c, "c", lo_open=True),
         "shrink": unit_interval(shrink, "shrink", lo_open=True),
         "max_backtracks": integer(max_backtracks, "max_backtracks", 0)}
    return Rule("barzilai_borwein", p,
                {"variant": 1, "min_lr": 1e-10, "max_lr": 1e10, "lr0": 1.0,
                 "fallback": "backtrack", "c": 1e-4, "shrink": 0.5, "max_backtracks": 50})


def adgd(lr0: float = 1e-10, variant: str = "2020") -> Rule:
    r"""Adaptive gradient descent without descent (Malitsky & Mishchenko).

    With :math:`L_k = \|g_k - g_{k-1}\| / \|x_k - x_{k-1}\|` (a local curvature seen by
    the last step) and :math:`\theta_k = \lambda_k/\lambda_{k-1}`:

    - ``variant="2020"`` (ICML 2020, Algorithm 1; :math:`\theta_0 = +\infty`):
      :math:`\lambda_k = \min\big(\sqrt{1+\theta_{k-1}}\,\lambda_{k-1},\ 1/(2L_k)\big)`;
    - ``variant="2023"`` (*Adaptive proximal gradient method for convex optimization*,
      arXiv:2308.02261; :math:`\theta_0 = 1/3`): :math:`\lambda_k =
      \min\big(\sqrt{2/3+\theta_{k-1}}\,\lambda_{k-1},\ \lambda_{k-1} /
      \sqrt{[2\lambda_{k-1}^2 L_k^2 - 1]_+}\big)`, which allows steps up to
      :math:`1/(\sqrt2 L_k)`.

    :math:`\lambda_0` = ``lr0``, tiny by default (the first step only probes the
    curvature).  A term with a zero denominator is :math:`+\infty`.  The 2023 variant grows
    from ``lr0`` by at most about 1.46 per step, so its first steps are spent growing from
    a tiny ``lr0``.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.diag([1.0, 10.0])), np.ones(2), adaptive.adgd(),
    ...              steps=300, tol=1e-10)
    >>> tr.status
    'converged'
    """
    var = str(variant) if isinstance(variant, int) and not isinstance(variant, bool) \
        else variant
    return Rule("adgd", {"lr0": positive(lr0, "lr0"),
                         "variant": choice(var, "variant", ("2020", "2023"))},
                {"lr0": 1e-10, "variant": "2020"})


def dog(reps_rel: float = 1e-6, eps: float = 1e-8) -> Rule:
    r"""DoG, distance over gradients (Ivgi, Hinder & Carmon 2023).

    .. math::  \eta_t = \frac{\bar r_t}{\sqrt{\sum_{i \le t}\|g_i\|^2 + \epsilon}},
               \qquad \bar r_t = \max\big(r_\epsilon,\ \max_{i \le t}\|x_i - x_0\|\big),
               \quad r_\epsilon = \text{reps\_rel}\,(1 + \|x_0\|)

    A parameter-free rate for SGD: it grows while the iterates move away from the start
    and shrinks as gradients accumulate.  As the authors' ``dog-optimizer`` (``DoG``, one
    parameter group; the tests compare them step by step).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.eye(2)), np.ones(2), adaptive.dog(), steps=1)
    >>> bool(np.isclose(tr.rates[0], 1e-6 * (1 + np.sqrt(2)) / np.sqrt(2 + 1e-8)))
    True
    """
    return Rule("dog", {"reps_rel": positive(reps_rel, "reps_rel"), "eps": nonneg(eps, "eps")},
                {"reps_rel": 1e-6, "eps": 1e-8})


# ----------------------------------------------------------------------------------------
# rules that are methods of their own
# ----------------------------------------------------------------------------------------

def dadapt_sgd(d0: float = 1e-6, growth_rate: float = math.inf, *, lr: float = 1.0,
               momentum: float = 0.0) -> Rule:
    r"""D-Adaptation for SGD (Defazio & Mishchenko, ICML 2023).

    A dual-averaging SGD whose scale :math:`d_k` is a lower bound on the distance to the
    solution, raised as the run proves more: with :math:`\lambda_k = d_k\,\mathrm{lr} /
    \|g_0\|`,

    .. math::  s_{k+1} = s_k + \lambda_k g_k,\quad
               \hat d = \frac{2\sum_i \lambda_i\langle g_i, s_i\rangle}{\|s_{k+1}\|},\quad
               d_{k+1} = \max(d_k, \min(\hat d, d_k\,\text{growth\_rate})),

    :math:`z = x_0 - s_{k+1}` and :math:`x \leftarrow \mu x + (1-\mu) z` (``momentum``
    :math:`\mu`).  Designed for Lipschitz (non-smooth) losses; on a smooth problem the
    growing :math:`d_k` can overshoot past 2/L (the authors' implementation does the
    same).  As ``dadaptation.DAdaptSGD`` 3.2 (one parameter group), step for step.  The
    rate recorded is :math:`\lambda_k`.

    Examples
    --------
    >>> from lrcore import adaptive
    >>> adaptive.dadapt_sgd(momentum=0.9)
    dadapt_sgd(momentum=0.9)
    """
    return Rule("dadapt_sgd", {"d0": positive(d0, "d0"), "growth_rate": _growth(growth_rate),
                               "lr": positive(lr, "lr"),
                               "momentum": unit_interval(momentum, "momentum")},
                {"d0": 1e-6, "growth_rate": math.inf, "lr": 1.0, "momentum": 0.0})


def prodigy(lr: float = 1.0, betas: tuple[float, float] = (0.9, 0.999),
            beta3: float | None = None, eps: float = 1e-8, weight_decay: float = 0.0,
            d0: float = 1e-6, d_coef: float = 1.0, growth_rate: float = math.inf,
            use_bias_correction: bool = False, safeguard_warmup: bool = False) -> Rule:
    r"""Prodigy (Mishchenko & Defazio, ICML 2024): Adam with D-Adaptation's distance.

    Per step, with :math:`d` the distance estimate and :math:`\lambda = d\,\mathrm{lr}`
    (times Adam's bias correction when ``use_bias_correction``):
    :math:`m \leftarrow \beta_1 m + d(1-\beta_1) g`, :math:`v \leftarrow \beta_2 v +
    d^2(1-\beta_2) g^2`, :math:`r \leftarrow \beta_3 r + (d/d_0)\lambda\langle g, x_0 -
    x\rangle`, :math:`s \leftarrow \beta_3 s + (d/d_0)\lambda g`, :math:`\hat d =
    d_{coef}\, r / \|s\|_1`, :math:`d \leftarrow \min(\max(d, \hat d), d\,
    \text{growth\_rate})` (the max over all :math:`\hat d` so far), then :math:`x
    \leftarrow x - \lambda\, m/(\sqrt v + d\epsilon)`, with decoupled weight decay.
    :math:`\beta_3 = \sqrt{\beta_2}` by default.  As ``prodigyopt.Prodigy`` 1.1.2 (one
    parameter group, ``slice_p=1``, ``decouple=True``), step for step.  The rate recorded
    is :math:`\lambda`.

    Examples
    --------
    >>> from lrcore import adaptive
    >>> adaptive.prodigy(betas=(0.9, 0.99)).params["betas"]
    (0.9, 0.99)
    """
    b = tuple(betas) if isinstance(betas, (tuple, list)) else None
    if b is None or len(b) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    p = {"lr": positive(lr, "lr"),
         "betas": (unit_interval(b[0], "betas[0]"), unit_interval(b[1], "betas[1]")),
         "beta3": None if beta3 is None else unit_interval(beta3, "beta3"),
         "eps": positive(eps, "eps"), "weight_decay": nonneg(weight_decay, "weight_decay"),
         "d0": positive(d0, "d0"), "d_coef": positive(d_coef, "d_coef"),
         "growth_rate": _growth(growth_rate),
         "use_bias_correction": flag(use_bias_correction, "use_bias_correction"),
         "safeguard_warmup": flag(safeguard_warmup, "safeguard_warmup")}
    return Rule("prodigy", p, {"lr": 1.0, "betas": (0.9, 0.999), "beta3": None, "eps": 1e-8,
                               "weight_decay": 0.0, "d0": 1e-6, "d_coef": 1.0,
                               "growth_rate": math.inf, "use_bias_correction": False,
                               "safeguard_warmup": False})


def schedule_free(lr: float = 1.0, momentum: float = 0.9, warmup_steps: int = 0,
                  r: float = 0.0, weight_lr_power: float = 2.0,
                  weight_decay: float = 0.0) -> Rule:
    r"""Schedule-free SGD (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky 2024).

    Three sequences: :math:`z` (SGD steps), :math:`x` (their weighted average) and
    :math:`y = (1-\beta) z + \beta x` where gradients are taken.  With warmup
    :math:`\gamma_t = \mathrm{lr}\cdot\min(1, (t+1)/\text{warmup})`, weights
    :math:`w_t = (t+1)^r \max_{i\le t}\gamma_i^{\,p}` and :math:`c_t = w_t/\sum_{i \le t}
    w_i`:

    .. math::  y \leftarrow (1-c_t)\,y + c_t z + \gamma_t\big(\beta(1-c_t) - 1\big) g,
               \qquad z \leftarrow z - \gamma_t g

    (the authors' ``schedulefree.SGDScheduleFree`` 1.4.1 update of :math:`y`, which holds
    the parameters during training; the averaged :math:`x` is ``y + (1 - 1/beta)(z - y)``,
    what their ``eval()`` switches to).  Not tuning-free: ``lr`` is a base rate, but no
    decay schedule is needed.  The rate recorded is :math:`\gamma_t`; the iterate of
    :func:`lrcore.stability.descend` is :math:`y`.

    Examples
    --------
    >>> from lrcore import adaptive
    >>> adaptive.schedule_free(lr=0.5, warmup_steps=10)
    schedule_free(lr=0.5, warmup_steps=10)
    """
    p = {"lr": positive(lr, "lr"),
         "momentum": unit_interval(momentum, "momentum", lo_open=True),
         "warmup_steps": integer(warmup_steps, "warmup_steps", 0),
         "r": nonneg(r, "r"), "weight_lr_power": nonneg(weight_lr_power, "weight_lr_power"),
         "weight_decay": nonneg(weight_decay, "weight_decay")}
    return Rule("schedule_free", p, {"lr": 1.0, "momentum": 0.9, "warmup_steps": 0,
                                     "r": 0.0, "weight_lr_power": 2.0, "weight_decay": 0.0})


# ----------------------------------------------------------------------------------------
# lrcore's own: the safe rate, tracked
# ----------------------------------------------------------------------------------------

def curvature(c: float = 0.99, every: int | None = None, *, tol: float = 1e-3, ncv: int = 16,
              max_matvec: int = 300, max_lr: float = math.inf, seed: int = 0) -> Rule:
    r"""The safe rate from the measured curvature, tracked along the run.

    .. math::  \eta_t = c \cdot \frac{2}{\lambda_{\max}(\nabla^2 f(x_t))}

    for gradient descent (with heavy ball or Nesterov momentum :math:`\beta` the factor 2
    becomes that method's largest stable rate, :func:`lrcore.rates.max_stable_lr`):
    :math:`c < 1` is the fraction of the edge of stability of the local quadratic model.
    :math:`\lambda_{\max}` is measured by thick-restart Lanczos on Hessian-vector products
    at the iterate (requested by the C loop itself, relative residual ``tol``, a basis of
    ``ncv`` vectors, at most ``max_matvec`` products), warm-started from the previous
    eigenvector, at the first step, every ``every`` steps, and after any gradient-descent
    step that raised the gradient norm (below the edge a gd step on the local quadratic
    model never does, so a rise means the curvature changed; the rule reads no loss
    values).  ``every=None`` measures once for problems with a constant
    Hessian (quadratics, least squares: the rate is then exactly :math:`2c/L`) and every 10
    steps otherwise.  Where :math:`\lambda_{\max} \le 0` the rate is ``max_lr`` (or the
    previous rate when ``max_lr`` is infinite; at the first step the run stops).

    ``c = 1`` would be the edge itself, where the sharpest direction never contracts; the
    default 0.99 keeps a 1 % margin.  Descend only (an optimizer step has no HVPs).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import adaptive, descend
    >>> from lrcore.problems import Quadratic
    >>> tr = descend(Quadratic(np.diag([1.0, 4.0])), np.ones(2), adaptive.curvature(),
    ...              steps=100, tol=1e-10)
    >>> round(float(tr.lambdas[0]), 6), round(float(tr.rates[0]), 6)   # 0.99 * 2 / 4
    (4.0, 0.495)
    """
    cv = positive(c, "c")
    if cv > 1.0:
        raise ValueError(f"c must be in (0, 1] (a fraction of the largest stable rate), got "
                         f"{cv!r}")
    p = {"c": cv,
         "every": None if every is None else integer(every, "every", 1),
         "tol": unit_interval(tol, "tol", lo_open=True), "ncv": integer(ncv, "ncv", 2, 512),
         "max_matvec": integer(max_matvec, "max_matvec", 1), "max_lr": _max_lr(max_lr),
         "seed": integer(seed, "seed", 0)}
    return Rule("curvature", p, {"c": 0.99, "every": None, "tol": 1e-3, "ncv": 16,
                                 "max_matvec": 300, "max_lr": math.inf, "seed": 0})


# ----------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------

_FACTORIES: dict[str, Callable[..., Rule]] = {
    "armijo": armijo, "polyak": polyak, "barzilai_borwein": barzilai_borwein, "adgd": adgd,
    "dog": dog, "dadapt_sgd": dadapt_sgd, "prodigy": prodigy, "schedule_free": schedule_free,
    "curvature": curvature}
#: The rule factories' names.
NAMES: tuple[str, ...] = tuple(_FACTORIES)


def from_dict(d: Mapping[str, Any]) -> Rule:
    """Rebuild a rule from :meth:`Rule.to_dict` output (e.g. after a JSON round trip).

    Parameters are validated by the factory.  Unknown names or keys raise
    :class:`ValueError` naming the offending key.

    Examples
    --------
    >>> import json
    >>> from lrcore import adaptive
    >>> r = adaptive.prodigy(lr=0.5, beta3=0.99)
    >>> adaptive.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    True
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"d must be a dict from Rule.to_dict(), got {type(d).__name__}")
    name = d.get("name")
    if not isinstance(name, str) or name not in _FACTORIES:
        raise ValueError(f"d['name'] = {name!r} is not a known rule (known: "
                         f"{', '.join(NAMES)})")
    kwargs = {k: v for k, v in d.items() if k != "name"}
    fac = _FACTORIES[name]
    params = inspect.signature(fac).parameters
    for k in kwargs:
        if k not in params:
            raise ValueError(f"d[{k!r}]: unknown key for rule {name!r}")
    if name == "prodigy" and isinstance(kwargs.get("betas"), list):
        kwargs["betas"] = tuple(kwargs["betas"])
    return fac(**kwargs)
