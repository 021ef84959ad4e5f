"""Framework-compatible constructors: PyTorch, HF transformers and optax conventions.

``lrcore.schedules.compat`` (this module) builds ordinary lrcore schedules that reproduce
another framework's learning rates exactly (up to floating-point rounding), so a run can
move to lrcore without changing its curve.  They take the optimizer's base rate ``lr``
instead of an optimizer, keep the framework's parameter names and defaults, and return a
:class:`lrcore.schedules.Schedule` (serializable like any other; its ``to_dict`` shows the
lrcore flags that encode the convention).

PyTorch (``torch.optim.lr_scheduler``): the rate after ``t`` calls to
``scheduler.step()`` equals ``s(t)``.  PyTorch computes several schedulers recursively
(``lr_t = lr_{t-1} * ratio``) where lrcore uses closed forms, so the two agree to rounding
(relative differences around 1e-13 after 1000 steps), not bit for bit.

Convention differences, each documented on its constructor:

* ``CosineAnnealingLR`` keeps following the cosine past ``T_max`` (the rate climbs back up;
  PyTorch's recursive and closed forms agree on this) -> ``cosine(..., periodic=True)``.
* ``OneCycleLR`` ends its phases at ``pct_start * T - 1`` and ``T - 1`` ->
  ``onecycle(..., torch_phase_ends=True)``.
* ``ReduceLROnPlateau``'s relative threshold misjudges negative metrics; lrcore's uses
  ``|best|`` (identical for ``best >= 0``).
* ``LambdaLR``/``MultiplicativeLR`` take arbitrary Python callables and have no
  serializable equivalent; compose lrcore schedules instead.
* HF warmups start at exactly 0 (``step / num_warmup_steps``) -> ``warmup(..., start=0.0)``;
  HF's cosine also rises again after ``num_training_steps``.

Examples
--------
>>> from lrcore.schedules import compat
>>> s = compat.CosineAnnealingLR(0.1, T_max=10)
>>> s(0), round(s(10), 15), round(s(20), 15)
(0.1, 0.0, 0.1)
>>> compat.hf_linear_with_warmup(1.0, 2, 6)(0)
0.0
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from lrcore.schedules._closed_form import (
    constant,
    cosine,
    cosine_restarts,
    cyclic,
    exponential,
    inverse_sqrt,
    linear,
    onecycle,
    piecewise_constant,
    polynomial,
    step,
    warmup_cosine,
    wsd,
)
from lrcore.schedules._compose import join, warmup
from lrcore.schedules._plateau import ReduceOnPlateau
from lrcore.schedules._schedule import (
    Schedule,
    finite,
    length,
    nonneg_rate,
    steps_int,
)

__all__ = [
    # PyTorch
    "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
    "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
    "SequentialLR", "ReduceLROnPlateau",
    # HF transformers
    "hf_constant_with_warmup", "hf_linear_with_warmup", "hf_cosine_with_warmup",
    "hf_polynomial_decay_with_warmup", "hf_inverse_sqrt", "hf_wsd",
    # optax
    "optax_linear", "optax_polynomial", "optax_exponential_decay",
    "optax_warmup_cosine_decay", "optax_cosine_onecycle",
]


# ---- PyTorch -------------------------------------------------------------------------------

def StepLR(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``torch.optim.lr_scheduler.StepLR``: :func:`lrcore.schedules.step` (same formula)."""
    return step(lr, step_size, gamma)


def MultiStepLR(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``MultiStepLR``.  Like PyTorch, milestones may be unsorted or repeated (a milestone
    listed k times multiplies by ``gamma**k``); they must be >= 1."""
    ms = [steps_int(m, f"milestones[{i}]", 1) for i, m in enumerate(milestones)]
    g = nonneg_rate(gamma, "gamma")
    base = nonneg_rate(lr, "lr")
    counts = sorted(Counter(ms).items())
    vals = [base]
    k = 0
    for _, c in counts:
        k += c
        vals.append(base * g ** k)
    return piecewise_constant([m for m, _ in counts], vals)


def ConstantLR(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``ConstantLR``: ``lr * factor`` for ``t < total_iters``, then ``lr``."""
    f = nonneg_rate(factor, "factor")
    if f > 1.0:
        raise ValueError(f"factor must be in [0, 1], got {f!r}")
    base = nonneg_rate(lr, "lr")
    return piecewise_constant([length(total_iters, "total_iters")], [base * f, base])


def LinearLR(lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
             total_iters: int = 5) -> Schedule:
    """``LinearLR``: ``linear(lr * start_factor, lr * end_factor, total_iters)``."""
    sf, ef = nonneg_rate(start_factor, "start_factor"), nonneg_rate(end_factor, "end_factor")
    if not 0.0 < sf <= 1.0:
        raise ValueError(f"start_factor must be in (0, 1], got {sf!r}")
    if ef > 1.0:
        raise ValueError(f"end_factor must be in [0, 1], got {ef!r}")
    base = nonneg_rate(lr, "lr")
    return linear(base * sf, base * ef, total_iters)


def ExponentialLR(lr: float, gamma: float) -> Schedule:
    """``ExponentialLR``: ``exponential(lr, gamma)`` (PyTorch multiplies recursively)."""
    return exponential(lr, gamma)


def PolynomialLR(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """``PolynomialLR``: ``polynomial(lr, total_iters, power=power)`` (end value 0)."""
    return polynomial(lr, total_iters, power=power)


def CosineAnnealingLR(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """``CosineAnnealingLR``: ``cosine(lr, T_max, floor=eta_min, periodic=True)``.

    PyTorch's recursive update and its closed form both follow
    :math:`\\cos(\\pi t / T_{max})` past ``T_max``, so the rate rises back to ``lr`` at
    ``2 T_max`` and keeps oscillating; lrcore's default ``cosine`` holds ``eta_min``
    instead.  PyTorch's recursion accumulates rounding: agreement is ~1e-12 relative.
    """
    return cosine(lr, T_max, floor=eta_min, periodic=True)


def CosineAnnealingWarmRestarts(lr: float, T_0: int, T_mult: int = 1,
                                eta_min: float = 0.0) -> Schedule:
    """``CosineAnnealingWarmRestarts``: ``cosine_restarts(lr, T_0, period_mult=T_mult,
    floor=eta_min)`` (integer ``T_mult``, as PyTorch requires)."""
    return cosine_restarts(lr, T_0, period_mult=T_mult, floor=eta_min)


def CyclicLR(base_lr: float, max_lr: float, step_size_up: int = 2000,
             step_size_down: int | None = None, mode: str = "triangular",
             gamma: float = 1.0) -> Schedule:
    """``CyclicLR``: the learning rate (PyTorch overwrites the optimizer's lr with
    ``base_lr``).  Custom ``scale_fn`` callables are not supported, and the momentum that
    PyTorch cycles inversely (``cycle_momentum=True``) is not set: schedules give rates."""
    return cyclic(base_lr, max_lr, step_size_up, step_size_down, mode=mode, gamma=gamma)


def OneCycleLR(max_lr: float, total_steps: int | None = None, epochs: int | None = None,
               steps_per_epoch: int | None = None, pct_start: float = 0.3,
               anneal_strategy: str = "cos", div_factor: float = 25.0,
               final_div_factor: float = 1e4, three_phase: bool = False) -> Schedule:
    """``OneCycleLR``: ``onecycle(..., torch_phase_ends=True)``.

    The learning rate only: PyTorch also cycles the momentum (``cycle_momentum=True``);
    a rate schedule does not (compose a momentum schedule with ``join`` of ``cosine``
    pieces if you need one).  Exact for ``0 <= t <= total_steps - 1``.  PyTorch raises
    for ``t > total_steps`` and at
    ``t = total_steps`` (after the last update) extrapolates its last phase -- below
    ``min_lr``, negative with linear annealing; lrcore holds ``min_lr`` from
    ``total_steps - 1`` on.
    """
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch")
        total_steps = length(epochs, "epochs") * length(steps_per_epoch, "steps_per_epoch")
    return onecycle(max_lr, total_steps, pct_start=pct_start, anneal=anneal_strategy,
                    div_factor=div_factor, final_div_factor=final_div_factor,
                    three_phase=three_phase, torch_phase_ends=True)


def SequentialLR(schedulers: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """``SequentialLR``: ``join(schedulers, milestones)``; each scheduler restarts from its
    own step 0 at its milestone, as in PyTorch."""
    return join(schedulers, milestones)


def ReduceLROnPlateau(lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10,
                      threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                      min_lr: float = 0.0, eps: float = 1e-8) -> ReduceOnPlateau:
    """``ReduceLROnPlateau`` as :class:`lrcore.schedules.ReduceOnPlateau` (same algorithm and
    defaults; the relative threshold uses ``|best|``, which only differs from PyTorch for
    negative metrics, where PyTorch's test is wrong)."""
    return ReduceOnPlateau(lr, mode=mode, factor=factor, patience=patience,
                           threshold=threshold, threshold_mode=threshold_mode,
                           cooldown=cooldown, min_lr=min_lr, eps=eps)


# ---- HF transformers (transformers.optimization) ----------------------------------------------

def _hf_warmup(s: Schedule, num_warmup_steps: int) -> Schedule:
    w = steps_int(num_warmup_steps, "num_warmup_steps", 0)
    return warmup(s, w, start=0.0) if w else s


def _hf_decay_len(num_warmup_steps: int, num_training_steps: int) -> int:
    w = steps_int(num_warmup_steps, "num_warmup_steps", 0)
    T = length(num_training_steps, "num_training_steps")
    if T <= w:
        raise ValueError(f"num_training_steps ({T}) must exceed num_warmup_steps ({w})")
    return T - w


def hf_constant_with_warmup(lr: float, num_warmup_steps: int) -> Schedule:
    """``get_constant_schedule_with_warmup``: ``lr * t / W`` for ``t < W``, then ``lr``."""
    return _hf_warmup(constant(lr), num_warmup_steps)


def hf_linear_with_warmup(lr: float, num_warmup_steps: int, num_training_steps: int) -> Schedule:
    """``get_linear_schedule_with_warmup``: warmup from 0, then linear to 0 at
    ``num_training_steps``, 0 afterwards."""
    D = _hf_decay_len(num_warmup_steps, num_training_steps)
    return _hf_warmup(linear(lr, 0.0, D), num_warmup_steps)


def hf_cosine_with_warmup(lr: float, num_warmup_steps: int, num_training_steps: int,
                          num_cycles: float = 0.5) -> Schedule:
    """``get_cosine_schedule_with_warmup`` (``num_cycles=0.5``, its default and the only
    value supported): warmup from 0, then :math:`\\cos` decay to 0 at
    ``num_training_steps``; like HF the rate rises again afterwards (``periodic=True``)."""
    if finite(num_cycles, "num_cycles") != 0.5:
        raise ValueError("num_cycles must be 0.5 (a half cosine over the decay); for other "
                         "shapes compose cosine/cosine_restarts explicitly")
    D = _hf_decay_len(num_warmup_steps, num_training_steps)
    return _hf_warmup(cosine(lr, D, periodic=True), num_warmup_steps)


def hf_polynomial_decay_with_warmup(lr: float, num_warmup_steps: int, num_training_steps: int,
                                    lr_end: float = 1e-7, power: float = 1.0) -> Schedule:
    """``get_polynomial_decay_schedule_with_warmup``: warmup from 0, then
    ``(lr - lr_end)(1 - p)**power + lr_end``, ``lr_end`` afterwards."""
    base, end = nonneg_rate(lr, "lr"), nonneg_rate(lr_end, "lr_end")
    if not end < base:
        raise ValueError(f"lr_end ({end}) must be smaller than lr ({base})")
    D = _hf_decay_len(num_warmup_steps, num_training_steps)
    return _hf_warmup(polynomial(base, D, end=end, power=power), num_warmup_steps)


def hf_inverse_sqrt(lr: float, num_warmup_steps: int, timescale: int | None = None) -> Schedule:
    """``get_inverse_sqrt_schedule``: warmup from 0, then ``lr / sqrt((t - W + tau)/tau)``
    with ``tau = timescale or (W or 10000)``."""
    w = steps_int(num_warmup_steps, "num_warmup_steps", 0)
    tau = timescale if timescale is not None else (w or 10_000)
    return _hf_warmup(inverse_sqrt(lr, tau), w)


def hf_wsd(lr: float, num_warmup_steps: int, num_decay_steps: int,
           num_training_steps: int | None = None, num_stable_steps: int | None = None,
           decay_type: str = "cosine", min_lr_ratio: float = 0.0) -> Schedule:
    """``get_wsd_schedule`` (linear warmup): warmup from ``lr * min_lr_ratio``, stable at
    ``lr``, decay ("linear", "cosine" or "1-sqrt") to ``lr * min_lr_ratio``, held after.
    ``num_stable_steps`` defaults to ``num_training_steps - warmup - decay``."""
    w = steps_int(num_warmup_steps, "num_warmup_steps", 0)
    d = length(num_decay_steps, "num_decay_steps")
    if num_stable_steps is None:
        if num_training_steps is None:
            raise ValueError("give num_stable_steps or num_training_steps")
        num_stable_steps = steps_int(num_training_steps, "num_training_steps", w + d) - w - d
    r = nonneg_rate(min_lr_ratio, "min_lr_ratio")
    if r > 1.0:
        raise ValueError(f"min_lr_ratio must be in [0, 1], got {r!r}")
    base = nonneg_rate(lr, "lr")
    return wsd(base, w, num_stable_steps, d, decay=decay_type, start=base * r, floor=base * r)


# ---- optax -----------------------------------------------------------------------------------

def _begin(s: Schedule, init: float, transition_begin: int) -> Schedule:
    b = steps_int(transition_begin, "transition_begin", 0)
    return join([constant(init), s], [b]) if b else s


def optax_linear(init_value: float, end_value: float, transition_steps: int,
                 transition_begin: int = 0) -> Schedule:
    """``optax.linear_schedule``: ``init_value`` until ``transition_begin``, then linear to
    ``end_value`` over ``transition_steps``."""
    return _begin(linear(init_value, end_value, transition_steps), init_value, transition_begin)


def optax_polynomial(init_value: float, end_value: float, power: float, transition_steps: int,
                     transition_begin: int = 0) -> Schedule:
    """``optax.polynomial_schedule``."""
    return _begin(polynomial(init_value, transition_steps, end=end_value, power=power),
                  init_value, transition_begin)


def optax_exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                            transition_begin: int = 0, staircase: bool = False,
                            end_value: float | None = None) -> Schedule:
    """``optax.exponential_decay``: ``init * rate**(t/steps)``; ``end_value`` is a floor when
    ``decay_rate < 1`` and a ceiling when ``decay_rate > 1``."""
    r = nonneg_rate(decay_rate, "decay_rate")
    lo = end_value if (end_value is not None and r < 1.0) else None
    hi = end_value if (end_value is not None and r > 1.0) else None
    s = exponential(init_value, r, every=transition_steps, staircase=staircase, floor=lo,
                    ceiling=hi)
    return _begin(s, init_value, transition_begin)


def optax_warmup_cosine_decay(init_value: float, peak_value: float, warmup_steps: int,
                              decay_steps: int, end_value: float = 0.0,
                              exponent: float = 1.0) -> Schedule:
    """``optax.warmup_cosine_decay_schedule``: ``warmup_cosine(peak_value, warmup_steps,
    decay_steps, start=init_value, floor=end_value, exponent=exponent)`` (``decay_steps``
    includes the warmup)."""
    return warmup_cosine(peak_value, warmup_steps, decay_steps, start=init_value,
                         floor=end_value, exponent=exponent)


def optax_cosine_onecycle(transition_steps: int, peak_value: float, pct_start: float = 0.3,
                          div_factor: float = 25.0, final_div_factor: float = 1e4) -> Schedule:
    """``optax.cosine_onecycle_schedule``: lrcore's own :func:`onecycle` convention (peak at
    ``int(pct_start * T)``, ``min`` at ``T``)."""
    return onecycle(peak_value, transition_steps, pct_start=pct_start, anneal="cos",
                    div_factor=div_factor, final_div_factor=final_div_factor)
