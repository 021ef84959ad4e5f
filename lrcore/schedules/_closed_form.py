"""The closed-form schedules: each a validated factory, a compiler to C program nodes and a
one-line description (see :mod:`lrcore.schedules`)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lrcore.schedules._schedule import (
    Builder,
    Real,
    Schedule,
    choice,
    finite,
    flag,
    fmt,
    increasing,
    length,
    make,
    opt_rate,
    nonneg_rate,
    rates,
    register,
    steps_int,
    unit_rate,
)

# ----------------------------------------------------------------------------------------
# closed-form schedules
# ----------------------------------------------------------------------------------------

def _c_constant(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("constant", p=(p["value"],))


@register("constant", _c_constant, lambda p: f"constant {fmt(p['value'])}")
def constant(value: Real) -> Schedule:
    """A constant rate, ``lr(t) = value``.

    Examples
    --------
    >>> from lrcore.schedules import constant
    >>> constant(0.01)(12345)
    0.01
    """
    return make("constant", value=nonneg_rate(value, "value"))


def _c_step(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("step", n=(p["step_size"],), p=(p["lr"], p["gamma"]))


@register("step", _c_step, lambda p: f"{fmt(p['lr'])} x {fmt(p['gamma'])} every "
           f"{p['step_size']} steps")
def step(lr: Real, step_size: int, gamma: Real = 0.1) -> Schedule:
    r"""Step decay, :math:`\mathrm{lr}\,\gamma^{\lfloor t / \mathrm{step\_size} \rfloor}`.

    PyTorch's ``StepLR`` (same defaults).  ``gamma ** k`` is computed with ``pow``;
    PyTorch multiplies recursively, which differs by a few ulp after many decays.

    Examples
    --------
    >>> from lrcore.schedules import step
    >>> s = step(1.0, 10, gamma=0.5)
    >>> s(9), s(10), s(25)
    (1.0, 0.5, 0.25)
    """
    return make("step", lr=nonneg_rate(lr, "lr"), step_size=length(step_size, "step_size"),
                 gamma=nonneg_rate(gamma, "gamma"))


def _c_multistep(b: Builder, p: Mapping[str, Any]) -> int:
    ms = p["milestones"]
    vals = [p["lr"] * p["gamma"] ** k for k in range(len(ms) + 1)]
    return b.node("piecewise_const", n=(b.add_ints(ms), len(ms), b.add_reals(vals)))


@register("multistep", _c_multistep, lambda p: f"{fmt(p['lr'])} x {fmt(p['gamma'])} at "
           f"steps {', '.join(map(str, p['milestones'])) or '(none)'}")
def multistep(lr: Real, milestones: Sequence[int], gamma: Real = 0.1) -> Schedule:
    r"""Decay by ``gamma`` at each milestone: :math:`\mathrm{lr}\,\gamma^{\#\{m \le t\}}`.

    PyTorch's ``MultiStepLR``.  ``milestones`` must be strictly increasing positive steps
    (PyTorch also accepts repeats, meaning ``gamma**k``; :func:`compat.MultiStepLR` does).

    Examples
    --------
    >>> from lrcore.schedules import multistep
    >>> s = multistep(1.0, [3, 6], gamma=0.5)
    >>> [s(t) for t in range(8)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    """
    lr_, g = nonneg_rate(lr, "lr"), nonneg_rate(gamma, "gamma")
    ms = increasing(milestones, "milestones", 1)
    try:
        last = lr_ * g ** len(ms)
    except OverflowError:
        last = math.inf
    if not math.isfinite(last):
        raise ValueError(f"lr * gamma**{len(ms)} overflows; use a smaller gamma or fewer "
                         "milestones")
    return make("multistep", lr=lr_, milestones=ms, gamma=g)


def _c_exponential(b: Builder, p: Mapping[str, Any]) -> int:
    lo = 0.0 if p["floor"] is None else p["floor"]
    hi = math.inf if p["ceiling"] is None else p["ceiling"]
    return b.node("exponential", mode=int(p["staircase"]), n=(p["every"],),
                  p=(p["lr"], p["gamma"], lo, hi))


def _d_exponential(p: Mapping[str, Any]) -> str:
    e = f"floor(t/{p['every']})" if p["staircase"] else (f"t/{p['every']}" if p["every"] != 1 else "t")
    s = f"{fmt(p['lr'])} x {fmt(p['gamma'])}^{e}"
    if p["floor"] is not None:
        s += f", floor {fmt(p['floor'])}"
    if p["ceiling"] is not None:
        s += f", ceiling {fmt(p['ceiling'])}"
    return s


@register("exponential", _c_exponential, _d_exponential)
def exponential(lr: Real, gamma: Real, *, every: int = 1, staircase: bool = False,
                floor: Real | None = None, ceiling: Real | None = None) -> Schedule:
    r"""Exponential decay (or growth), :math:`\mathrm{clip}(\mathrm{lr}\,\gamma^{e},
    \mathrm{floor}, \mathrm{ceiling})` with :math:`e = t/\mathrm{every}`
    (:math:`\lfloor t/\mathrm{every} \rfloor` if ``staircase``).

    ``every=1`` is PyTorch's ``ExponentialLR``; ``every``/``staircase`` are Keras'
    ``ExponentialDecay`` (``decay_steps``) and optax's ``exponential_decay``
    (``transition_steps``); optax's ``end_value`` is ``floor`` when ``gamma < 1`` and
    ``ceiling`` when ``gamma > 1``.  ``gamma > 1`` grows without bound unless ``ceiling`` is
    set: a value that overflows raises :class:`lrcore.NonFiniteError`.

    Examples
    --------
    >>> from lrcore.schedules import exponential
    >>> s = exponential(1.0, 0.5, every=2, staircase=True, floor=0.2)
    >>> [s(t) for t in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]
    """
    fl = opt_rate(floor, "floor")
    ce = opt_rate(ceiling, "ceiling")
    if fl is not None and ce is not None and fl > ce:
        raise ValueError(f"floor ({fl!r}) must be <= ceiling ({ce!r})")
    return make("exponential", lr=nonneg_rate(lr, "lr"), gamma=nonneg_rate(gamma, "gamma"),
                 every=length(every, "every"), staircase=flag(staircase, "staircase"),
                 floor=fl, ceiling=ce)


def _c_inverse_time(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("inverse_time", mode=int(p["staircase"]), n=(p["every"],),
                  p=(p["lr"], p["rate"]))


@register("inverse_time", _c_inverse_time, lambda p: f"{fmt(p['lr'])} / (1 + "
           f"{fmt(p['rate'])} t/{p['every']}){' (staircase)' if p['staircase'] else ''}")
def inverse_time(lr: Real, rate: Real, *, every: int = 1, staircase: bool = False) -> Schedule:
    r"""Inverse-time decay, :math:`\mathrm{lr} / (1 + \mathrm{rate}\; t/\mathrm{every})`
    (:math:`\lfloor t/\mathrm{every} \rfloor` if ``staircase``).

    Keras' ``InverseTimeDecay`` (``decay_rate``, ``decay_steps``); ``every=1`` is the
    classical :math:`\eta_0/(1 + \lambda t)` of Robbins-Monro type step sizes.

    Examples
    --------
    >>> from lrcore.schedules import inverse_time
    >>> s = inverse_time(1.0, 1.0)
    >>> s(0), s(1), s(3)
    (1.0, 0.5, 0.25)
    """
    return make("inverse_time", lr=nonneg_rate(lr, "lr"), rate=nonneg_rate(rate, "rate"),
                 every=length(every, "every"), staircase=flag(staircase, "staircase"))


def _c_inverse_sqrt(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("inverse_sqrt", n=(p["timescale"],), p=(p["lr"],))


@register("inverse_sqrt", _c_inverse_sqrt, lambda p: f"{fmt(p['lr'])} / sqrt(1 + "
           f"t/{p['timescale']})")
def inverse_sqrt(lr: Real, timescale: int) -> Schedule:
    r"""Inverse square-root decay, :math:`\mathrm{lr} / \sqrt{(t + \tau)/\tau}`,
    :math:`\tau` = ``timescale``.

    The Transformer's decay (Vaswani et al. 2017) in HF's form
    ``get_inverse_sqrt_schedule``: after a warmup of ``w`` steps HF uses
    :math:`1/\sqrt{(t - w + \tau)/\tau}`, i.e. ``warmup(inverse_sqrt(lr, tau), w,
    start=0.0)`` (see :func:`compat.hf_inverse_sqrt`).

    Examples
    --------
    >>> from lrcore.schedules import inverse_sqrt
    >>> s = inverse_sqrt(1.0, 1)
    >>> s(0), s(3), s(99)
    (1.0, 0.5, 0.1)
    """
    return make("inverse_sqrt", lr=nonneg_rate(lr, "lr"), timescale=length(timescale, "timescale"))


def _c_polynomial(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("polynomial", n=(p["steps"],), p=(p["lr"], p["end"], p["power"]))


@register("polynomial", _c_polynomial, lambda p: f"polynomial (power {fmt(p['power'])}) "
           f"decay {fmt(p['lr'])} -> {fmt(p['end'])} over {p['steps']} steps, then holds")
def polynomial(lr: Real, steps: int, *, end: Real = 0.0, power: Real = 1.0) -> Schedule:
    r"""Polynomial decay, :math:`(\mathrm{lr} - \mathrm{end})(1 - \min(t, T)/T)^{p} +
    \mathrm{end}`, :math:`T` = ``steps``; holds ``end`` for :math:`t \ge T`.

    PyTorch's ``PolynomialLR`` (``end = 0``, ``total_iters``), optax's
    ``polynomial_schedule``, Keras' ``PolynomialDecay`` (``cycle=False``).  ``1 - t/T`` is
    computed as ``(T - t)/T`` (correctly rounded).

    Examples
    --------
    >>> from lrcore.schedules import polynomial
    >>> s = polynomial(1.0, 4, power=2.0)
    >>> [s(t) for t in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    pw = finite(power, "power")
    if pw <= 0:
        raise ValueError(f"power must be > 0, got {pw!r}")
    return make("polynomial", lr=nonneg_rate(lr, "lr"), steps=length(steps, "steps"),
                 end=nonneg_rate(end, "end"), power=pw)


def _c_linear(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("linear", n=(p["steps"],), p=(p["start"], p["end"]))


@register("linear", _c_linear, lambda p: f"linear {fmt(p['start'])} -> {fmt(p['end'])} "
           f"over {p['steps']} steps, then holds {fmt(p['end'])}")
def linear(start: Real, end: Real, steps: int) -> Schedule:
    r"""Linear interpolation, :math:`\mathrm{start} + (\mathrm{end} - \mathrm{start})
    \min(t, T)/T`, :math:`T` = ``steps``; holds ``end`` afterwards.

    optax's ``linear_schedule``; PyTorch's ``LinearLR`` is ``linear(lr * start_factor,
    lr * end_factor, total_iters)``.  Evaluated from the nearer end (exact at both ends).

    Examples
    --------
    >>> from lrcore.schedules import linear
    >>> s = linear(0.0, 1.0, 4)
    >>> [s(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return make("linear", start=nonneg_rate(start, "start"), end=nonneg_rate(end, "end"),
                 steps=length(steps, "steps"))


def _c_cosine(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("cosine", mode=int(p["periodic"]), n=(p["steps"],),
                  p=(p["lr"], p["floor"], p["exponent"]))


def _d_cosine(p: Mapping[str, Any]) -> str:
    s = f"cosine decay {fmt(p['lr'])} -> {fmt(p['floor'])} over {p['steps']} steps"
    if p["exponent"] != 1.0:
        s += f" (exponent {fmt(p['exponent'])})"
    return s + (", then rises again (periodic, PyTorch's CosineAnnealingLR)" if p["periodic"]
                else f", then holds {fmt(p['floor'])}")


@register("cosine", _c_cosine, _d_cosine)
def cosine(lr: Real, steps: int, *, floor: Real = 0.0, exponent: Real = 1.0,
           periodic: bool = False) -> Schedule:
    r"""Cosine decay (SGDR without restarts, Loshchilov & Hutter 2017):

    .. math::

        \mathrm{floor} + (\mathrm{lr} - \mathrm{floor})
        \left(\frac{1 + \cos(\pi \min(t, T) / T)}{2}\right)^{\mathrm{exponent}}

    with :math:`T` = ``steps``.  It reaches ``floor`` at :math:`t = T` and **holds** it
    (optax's ``cosine_decay_schedule``, whose ``alpha`` is ``floor / lr``; ``exponent`` is
    optax's).  PyTorch's ``CosineAnnealingLR`` (``T_max``, ``eta_min``) instead keeps
    following :math:`\cos(\pi t/T)` past ``T_max`` -- the rate climbs back to ``lr`` by
    :math:`2T` -- and so does HF's ``get_cosine_schedule_with_warmup``: ``periodic=True``
    reproduces that (PyTorch's recursive and closed forms agree on it up to rounding).

    Accuracy: the argument is reduced exactly in integers, :math:`(1 + \cos(\pi r/T))/2 =
    1 - \sin^2(\pi r / 2T) = \sin^2(\pi (T - r)/2T)`, each used where its argument is at most
    1/4, and :math:`\sin(\pi x)` comes from a polynomial kernel; values are within a few
    ulp of the exact ones, including near the end of the decay where the textbook formula
    loses all relative accuracy.  No libm call, so the C loop vectorizes.

    Examples
    --------
    >>> from lrcore.schedules import cosine
    >>> s = cosine(1.0, 100, floor=0.1)
    >>> s(0), s(100), s(500)
    (1.0, 0.1, 0.1)
    >>> round(s(50), 12), round(cosine(1.0, 100, periodic=True)(150), 12)
    (0.55, 0.5)
    """
    e = finite(exponent, "exponent")
    if e <= 0:
        raise ValueError(f"exponent must be > 0, got {e!r}")
    return make("cosine", lr=nonneg_rate(lr, "lr"), steps=length(steps, "steps"),
                 floor=nonneg_rate(floor, "floor"), exponent=e, periodic=flag(periodic, "periodic"))


def _c_restarts(b: Builder, p: Mapping[str, Any]) -> int:
    ws = p["warmup_start"]
    return b.node("cosine_restarts", mode=int(ws is None),
                  n=(p["period"], p["period_mult"], p["warmup"]),
                  p=(p["lr"], p["floor"], p["peak_decay"], 0.0 if ws is None else ws))


def _d_restarts(p: Mapping[str, Any]) -> str:
    s = f"cosine with warm restarts {fmt(p['lr'])} -> {fmt(p['floor'])}, period {p['period']}"
    if p["period_mult"] != 1:
        s += f" x {p['period_mult']} per cycle"
    if p["peak_decay"] != 1.0:
        s += f", peak x {fmt(p['peak_decay'])} per cycle"
    if p["warmup"]:
        s += f", {p['warmup']}-step warmup per cycle"
    return s


@register("cosine_restarts", _c_restarts, _d_restarts)
def cosine_restarts(lr: Real, period: int, *, period_mult: int = 1, peak_decay: Real = 1.0,
                    floor: Real = 0.0, warmup: int = 0,
                    warmup_start: Real | None = None) -> Schedule:
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Cycle :math:`c = 0, 1, \dots` lasts :math:`T_c = T_0 m^c` steps (``period``
    :math:`T_0`, integer ``period_mult`` :math:`m` so cycle boundaries are whole steps, as in
    PyTorch) and peaks at :math:`\mathrm{lr}\,d^c` (``peak_decay`` :math:`d`, timm's
    ``cycle_decay``).  With local time :math:`\tau` in the cycle:

    .. math::

        \mathrm{floor} + (\mathrm{lr}\,d^c - \mathrm{floor})\,
        \frac{1 + \cos(\pi (\tau - w) / (T_c - w))}{2}, \qquad \tau \ge w,

    after an optional per-cycle linear warmup of :math:`w` = ``warmup`` steps from
    ``warmup_start`` (default: the ramp ``peak (tau + 1)/(w + 1)``, never 0) to the peak
    (optax's ``sgdr_schedule`` style).  With ``warmup=0`` and ``peak_decay=1`` this is
    PyTorch's ``CosineAnnealingWarmRestarts`` (``T_0``, ``T_mult``, ``eta_min``) exactly.
    Cycles are found in int64 arithmetic, so any ``t < 2**63`` is exact.

    Examples
    --------
    >>> from lrcore.schedules import cosine_restarts
    >>> s = cosine_restarts(1.0, 10, period_mult=2)
    >>> s(0), s(10), s(30), round(s(20), 12)
    (1.0, 1.0, 1.0, 0.5)
    """
    per = length(period, "period")
    w = steps_int(warmup, "warmup", 0)
    if w >= per:
        raise ValueError(f"warmup ({w}) must be shorter than period ({per})")
    return make("cosine_restarts", lr=nonneg_rate(lr, "lr"), period=per,
                 period_mult=steps_int(period_mult, "period_mult", 1, 1024),
                 peak_decay=unit_rate(peak_decay, "peak_decay"), floor=nonneg_rate(floor, "floor"),
                 warmup=w, warmup_start=opt_rate(warmup_start, "warmup_start"))


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _c_cyclic(b: Builder, p: Mapping[str, Any]) -> int:
    up = p["step_size_up"]
    down = up if p["step_size_down"] is None else p["step_size_down"]
    return b.node("cyclic", mode=_CYCLIC_MODES.index(p["mode"]), n=(up, down),
                  p=(p["base_lr"], p["max_lr"], p["gamma"]))


@register("cyclic", _c_cyclic, lambda p: f"cyclic ({p['mode']}) {fmt(p['base_lr'])} <-> "
           f"{fmt(p['max_lr'])}, up {p['step_size_up']} / down "
           f"{p['step_size_up'] if p['step_size_down'] is None else p['step_size_down']} steps")
def cyclic(base_lr: Real, max_lr: Real, step_size_up: int, step_size_down: int | None = None,
           *, mode: str = "triangular", gamma: Real = 1.0) -> Schedule:
    r"""Cyclical learning rate (Smith 2017), PyTorch's ``CyclicLR`` formula.

    With cycle :math:`c = \lfloor t / (u + d) \rfloor`, position :math:`q = t - c(u + d)`,
    :math:`f = q/u` on the way up (:math:`q \le u`) and :math:`(u + d - q)/d` on the way down:

    .. math::

        \mathrm{base} + (\mathrm{max} - \mathrm{base})\, f \cdot s, \quad
        s = 1 \text{ (triangular)},\; 2^{-c} \text{ (triangular2)},\;
        \gamma^{t} \text{ (exp\_range)}.

    ``step_size_down`` defaults to ``step_size_up`` and may be 0 (a sawtooth).  ``gamma``
    must be in (0, 1].  Cycles are found in int64 arithmetic (PyTorch uses floats).

    Examples
    --------
    >>> from lrcore.schedules import cyclic
    >>> s = cyclic(0.0, 1.0, 2, mode="triangular2")
    >>> [s(t) for t in range(9)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]
    """
    down = None if step_size_down is None else steps_int(step_size_down, "step_size_down", 0)
    g = nonneg_rate(gamma, "gamma")
    if not 0.0 < g <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {g!r}")
    return make("cyclic", base_lr=nonneg_rate(base_lr, "base_lr"), max_lr=nonneg_rate(max_lr, "max_lr"),
                 step_size_up=length(step_size_up, "step_size_up"), step_size_down=down,
                 mode=choice(mode, "mode", _CYCLIC_MODES), gamma=g)


def _onecycle_knots(p: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    T, pct = p["total_steps"], p["pct_start"]
    init = p["max_lr"] / p["div_factor"]
    fin = init / p["final_div_factor"]
    if p["torch_phase_ends"]:
        # torch.optim.lr_scheduler.OneCycleLR._schedule_phases, computed as PyTorch does
        e1 = float(pct * T) - 1
        if p["three_phase"]:
            knots = [0.0, e1, float(2 * pct * T) - 2, float(T - 1)]
        else:
            knots = [0.0, e1, float(T - 1)]
    else:
        n1 = int(pct * T)  # optax's cosine_onecycle_schedule: int(pct_start * steps)
        knots = [0.0, float(n1), float(2 * n1), float(T)] if p["three_phase"] else \
            [0.0, float(n1), float(T)]
    vals = [init, p["max_lr"], init, fin] if p["three_phase"] else [init, p["max_lr"], fin]
    return knots, vals


def _c_onecycle(b: Builder, p: Mapping[str, Any]) -> int:
    knots, vals = _onecycle_knots(p)
    off = b.add_reals(knots + vals)
    return b.node("interp", mode=int(p["anneal"] == "cos"), n=(off, len(knots)))


@register("onecycle", _c_onecycle, lambda p: f"one-cycle ({p['anneal']}, "
           f"{'three' if p['three_phase'] else 'two'} phases) peak {fmt(p['max_lr'])} at "
           f"{fmt(p['pct_start'])} of {p['total_steps']} steps"
           f"{' (PyTorch phase ends)' if p['torch_phase_ends'] else ''}")
def onecycle(max_lr: Real, total_steps: int, *, pct_start: Real = 0.3, anneal: str = "cos",
             div_factor: Real = 25.0, final_div_factor: Real = 1e4, three_phase: bool = False,
             torch_phase_ends: bool = False) -> Schedule:
    r"""The 1cycle policy (Smith & Topin 2019) with PyTorch's ``OneCycleLR`` defaults.

    From ``initial = max_lr / div_factor`` up to ``max_lr``, then down to
    ``min = initial / final_div_factor``; each phase anneals with ``anneal`` = "cos"
    (:math:`b + (a - b)(1 + \cos \pi p)/2`) or "linear", :math:`p` the fraction of the
    phase.  ``three_phase=True`` goes back down to ``initial`` symmetrically first and only
    then to ``min`` (the original paper; PyTorch's ``three_phase``).

    Phase ends: lrcore (and optax's ``cosine_onecycle_schedule``) peak at step
    :math:`n = \lfloor \mathrm{pct\_start}\,T \rfloor` and reach ``min`` at :math:`t = T`
    (three phases: :math:`n, 2n, T`), holding it afterwards.  PyTorch ends its phases at the
    fractional steps ``pct_start * T - 1`` (and ``2 pct_start T - 2``) and ``T - 1``, so its
    last update (``t = T - 1``) already uses ``min``; ``torch_phase_ends=True`` reproduces
    that exactly for :math:`0 \le t \le T - 1`.  PyTorch raises for :math:`t > T` and at
    :math:`t = T` (after the last update) extrapolates the last phase -- below ``min``,
    even negative with linear annealing; lrcore holds ``min`` from :math:`T - 1` on.

    Examples
    --------
    >>> from lrcore.schedules import onecycle
    >>> s = onecycle(1.0, 100, anneal="linear")
    >>> s(0), s(30), s(100), s(1000)
    (0.04, 1.0, 4e-06, 4e-06)
    """
    T = length(total_steps, "total_steps")
    pct = finite(pct_start, "pct_start")
    if not 0.0 < pct < 1.0:
        raise ValueError(f"pct_start must be in (0, 1), got {pct!r}")
    div = finite(div_factor, "div_factor")
    fdiv = finite(final_div_factor, "final_div_factor")
    if div <= 0 or fdiv <= 0:
        raise ValueError("div_factor and final_div_factor must be > 0, got "
                         f"{div!r} and {fdiv!r}")
    p = dict(max_lr=nonneg_rate(max_lr, "max_lr"), total_steps=T, pct_start=pct,
             anneal=choice(anneal, "anneal", ("cos", "linear")), div_factor=div,
             final_div_factor=fdiv, three_phase=flag(three_phase, "three_phase"),
             torch_phase_ends=flag(torch_phase_ends, "torch_phase_ends"))
    knots, _ = _onecycle_knots(p)
    if not all(b > a for a, b in zip(knots, knots[1:])):
        raise ValueError(f"total_steps={T} with pct_start={pct} leaves an empty phase "
                         f"(phase ends {knots[1:]}); use more steps or another pct_start")
    return make("onecycle", **p)


def _c_warmup_cosine(b: Builder, p: Mapping[str, Any]) -> int:
    W, T = p["warmup_steps"], p["total_steps"]
    c = b.node("cosine", n=(T - W,), p=(p["peak"], p["floor"], p["exponent"]))
    if W == 0:
        return c
    st = p["start"]
    return b.node("warmup", mode=int(st is None), kids=(c,), n=(W,),
                  p=(0.0 if st is None else st,))


@register("warmup_cosine", _c_warmup_cosine, lambda p: f"linear warmup over "
           f"{p['warmup_steps']} steps from "
           f"{'peak/' + str(p['warmup_steps'] + 1) if p['start'] is None else fmt(p['start'])}"
           f" to {fmt(p['peak'])}, cosine decay"
           f"{'' if p['exponent'] == 1.0 else ' (exponent ' + fmt(p['exponent']) + ')'} to "
           f"{fmt(p['floor'])} at step {p['total_steps']}, then holds")
def warmup_cosine(peak: Real, warmup_steps: int, total_steps: int, *,
                  start: Real | None = None, floor: Real = 0.0,
                  exponent: Real = 1.0) -> Schedule:
    r"""Linear warmup to ``peak``, then cosine decay to ``floor`` at ``total_steps``.

    The default LLM/ViT recipe: ``warmup(cosine(peak, total_steps - warmup_steps, floor=...,
    exponent=...), warmup_steps, start=start)``.  ``total_steps`` includes the warmup, as
    optax's ``warmup_cosine_decay_schedule`` (``decay_steps``) and HF's
    ``num_training_steps``.  The warmup starts at ``start`` (default
    ``peak / (warmup_steps + 1)``, not 0; HF starts at 0: ``start=0.0`` or
    :func:`compat.hf_cosine_with_warmup`).

    Examples
    --------
    >>> from lrcore.schedules import warmup_cosine
    >>> s = warmup_cosine(1.0, 4, 104)
    >>> [s(t) for t in range(5)], s(104)
    ([0.2, 0.4, 0.6, 0.8, 1.0], 0.0)
    """
    W = steps_int(warmup_steps, "warmup_steps", 0)
    T = length(total_steps, "total_steps")
    if T <= W:
        raise ValueError(f"total_steps ({T}) must exceed warmup_steps ({W})")
    e = finite(exponent, "exponent")
    if e <= 0:
        raise ValueError(f"exponent must be > 0, got {e!r}")
    return make("warmup_cosine", peak=nonneg_rate(peak, "peak"), warmup_steps=W, total_steps=T,
                 start=opt_rate(start, "start"), floor=nonneg_rate(floor, "floor"), exponent=e)


_WSD_DECAYS = ("linear", "cosine", "1-sqrt")


def _c_wsd(b: Builder, p: Mapping[str, Any]) -> int:
    pk, fl, D = p["peak"], p["floor"], p["decay_steps"]
    if p["decay"] == "linear":
        d = b.node("linear", n=(D,), p=(pk, fl))
    elif p["decay"] == "cosine":
        d = b.node("cosine", n=(D,), p=(pk, fl, 1.0))
    else:
        d = b.node("sqrt_decay", n=(D,), p=(pk, fl))
    if p["stable_steps"]:
        c = b.node("constant", p=(pk,))
        off = b.add_ints([c, d, p["stable_steps"]])
        d = b.node("join", n=(off, 2), int_kids=(c, d))
    if p["warmup_steps"]:
        st = p["start"]
        d = b.node("warmup", mode=int(st is None), kids=(d,), n=(p["warmup_steps"],),
                   p=(0.0 if st is None else st,))
    return d


@register("wsd", _c_wsd, lambda p: f"warmup {p['warmup_steps']}, stable "
           f"{p['stable_steps']} at {fmt(p['peak'])}, {p['decay']} decay over "
           f"{p['decay_steps']} to {fmt(p['floor'])}, then holds")
def wsd(peak: Real, warmup_steps: int, stable_steps: int, decay_steps: int, *,
        decay: str = "linear", start: Real | None = None, floor: Real = 0.0) -> Schedule:
    r"""Warmup-stable-decay ("trapezoidal"; MiniCPM, Hu et al. 2024; Hägele et al. 2024).

    Linear warmup over ``warmup_steps`` (from ``start``, default
    ``peak / (warmup_steps + 1)``), ``stable_steps`` at ``peak``, then over ``decay_steps`` a
    decay to ``floor`` with :math:`p` the fraction of the decay done:

    * "linear": :math:`1 - p`;  "cosine": :math:`(1 + \cos \pi p)/2`;
    * "1-sqrt": :math:`1 - \sqrt{p}` (Hägele et al.'s recommendation);

    as ``floor + (peak - floor) * factor``; holds ``floor`` afterwards.  HF's
    ``get_wsd_schedule`` is :func:`compat.hf_wsd`.

    Examples
    --------
    >>> from lrcore.schedules import wsd
    >>> s = wsd(1.0, 2, 3, 4)
    >>> [s(t) for t in range(11)]
    [0.3333333333333333, 0.6666666666666666, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    return make("wsd", peak=nonneg_rate(peak, "peak"),
                 warmup_steps=steps_int(warmup_steps, "warmup_steps", 0),
                 stable_steps=steps_int(stable_steps, "stable_steps", 0),
                 decay_steps=length(decay_steps, "decay_steps"),
                 decay=choice(decay, "decay", _WSD_DECAYS), start=opt_rate(start, "start"),
                 floor=nonneg_rate(floor, "floor"))


def _c_pconst(b: Builder, p: Mapping[str, Any]) -> int:
    bd = p["boundaries"]
    return b.node("piecewise_const", n=(b.add_ints(bd), len(bd), b.add_reals(p["values"])))


@register("piecewise_constant", _c_pconst, lambda p: "piecewise constant "
           + ", ".join(fmt(v) for v in p["values"]) + " changing at steps "
           + (", ".join(map(str, p["boundaries"])) or "(none)"))
def piecewise_constant(boundaries: Sequence[int], values: Sequence[Real]) -> Schedule:
    r"""``values[k]`` for ``boundaries[k-1] <= t < boundaries[k]`` (``len(values) ==
    len(boundaries) + 1``): the value changes *at* each boundary step.

    optax's ``piecewise_constant_schedule`` (with scales instead of values) uses the same
    convention.  Keras' ``PiecewiseConstantDecay`` changes one step later (``t >
    boundary``): pass ``[b + 1 for b in boundaries]``.

    Examples
    --------
    >>> from lrcore.schedules import piecewise_constant
    >>> s = piecewise_constant([2, 4], [1.0, 0.5, 0.1])
    >>> [s(t) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    """
    bd = increasing(boundaries, "boundaries", 1)
    vals = rates(values, "values")
    if len(vals) != len(bd) + 1:
        raise ValueError(f"values needs len(boundaries) + 1 = {len(bd) + 1} entries, "
                         f"got {len(vals)}")
    return make("piecewise_constant", boundaries=bd, values=vals)


def _c_plinear(b: Builder, p: Mapping[str, Any]) -> int:
    st, vals = p["steps"], p["values"]
    if len(st) == 1:
        return b.node("constant", p=(vals[0],))
    off = b.add_reals([float(x) for x in st] + list(vals))
    return b.node("interp", n=(off, len(st)))


@register("piecewise_linear", _c_plinear, lambda p: "piecewise linear through "
           + ", ".join(f"({s}, {fmt(v)})" for s, v in zip(p["steps"], p["values"])))
def piecewise_linear(steps: Sequence[int], values: Sequence[Real]) -> Schedule:
    r"""Linear interpolation through the points ``(steps[k], values[k])``; holds
    ``values[0]`` before the first and ``values[-1]`` after the last knot.

    ``steps`` strictly increasing, >= 0.  Exact at every knot.  (optax's
    ``piecewise_interpolate_schedule("linear", ...)`` and timm-style custom ramps.)

    Examples
    --------
    >>> from lrcore.schedules import piecewise_linear
    >>> s = piecewise_linear([0, 10, 20], [0.0, 1.0, 0.5])
    >>> s(5), s(10), s(15), s(99)
    (0.5, 1.0, 0.75, 0.5)
    """
    st = increasing(steps, "steps", 0)
    vals = rates(values, "values")
    if len(st) != len(vals) or not st:
        raise ValueError(f"steps and values must be non-empty and of equal length, got "
                         f"{len(st)} and {len(vals)}")
    return make("piecewise_linear", steps=st, values=vals)
