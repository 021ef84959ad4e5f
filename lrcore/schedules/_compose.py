"""Composition that stays closed form: :func:`join`, :func:`warmup`, :func:`scale`,
:func:`product` and :func:`clip` (see :mod:`lrcore.schedules`)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lrcore.schedules._schedule import (
    Builder,
    Real,
    Schedule,
    ScheduleLike,
    as_schedule,
    fmt,
    increasing,
    length,
    make,
    opt_rate,
    nonneg_rate,
    register,
    sequence,
)

# ----------------------------------------------------------------------------------------
# composition
# ----------------------------------------------------------------------------------------

def _c_join(b: Builder, p: Mapping[str, Any]) -> int:
    kids = [b.build(s) for s in p["schedules"]]
    if len(kids) == 1:
        return kids[0]
    off = b.add_ints(kids + list(p["boundaries"]))
    return b.node("join", n=(off, len(kids)), int_kids=kids)


@register("join", _c_join, lambda p: "join of [" + "; ".join(s.describe() for s in
           p["schedules"]) + "] at steps " + (", ".join(map(str, p["boundaries"])) or "-"))
def join(schedules: Sequence[ScheduleLike], boundaries: Sequence[int]) -> Schedule:
    r"""Run ``schedules[k]`` from ``boundaries[k-1]`` (0 for the first) to ``boundaries[k]``,
    each in its **local** time: :math:`s(t) = s_k(t - b_{k-1})`.

    optax's ``join_schedules`` and PyTorch's ``SequentialLR`` (``milestones``) use the same
    convention.  Numbers are accepted as constant schedules.

    Examples
    --------
    >>> from lrcore.schedules import join, linear, cosine
    >>> s = join([linear(0.0, 1.0, 10), cosine(1.0, 100)], [10])
    >>> s(5), s(10), s(110)
    (0.5, 1.0, 0.0)
    """
    sch = tuple(as_schedule(s, f"schedules[{i}]") for i, s in enumerate(sequence(schedules, "schedules")))
    if not sch:
        raise ValueError("schedules must not be empty")
    bd = increasing(boundaries, "boundaries", 1)
    if len(bd) != len(sch) - 1:
        raise ValueError(f"boundaries needs len(schedules) - 1 = {len(sch) - 1} entries, "
                         f"got {len(bd)}")
    return make("join", schedules=sch, boundaries=bd)


def _c_warmup(b: Builder, p: Mapping[str, Any]) -> int:
    c = b.build(p["schedule"])
    st = p["start"]
    return b.node("warmup", mode=int(st is None), kids=(c,), n=(p["steps"],),
                  p=(0.0 if st is None else st,))


@register("warmup", _c_warmup, lambda p: f"linear warmup over {p['steps']} steps from "
           f"{'peak/' + str(p['steps'] + 1) if p['start'] is None else fmt(p['start'])}, "
           f"then {p['schedule'].describe()}")
def warmup(schedule: ScheduleLike, steps: int, *, start: Real | None = None) -> Schedule:
    r"""Prepend a linear warmup of ``steps`` steps to ``schedule``, which then runs in local
    time: for :math:`t <` ``steps`` the rate goes linearly from ``start`` (at :math:`t = 0`)
    towards the peak :math:`p = s(0)`, reached at :math:`t` = ``steps``; afterwards
    :math:`s(t - \mathrm{steps})`.

    ``start=None`` (default) gives :math:`p\,(t + 1)/(\mathrm{steps} + 1)`: the first update
    already uses :math:`p/(\mathrm{steps}+1)` instead of 0.  HF's warmups (``step /
    num_warmup_steps``) start at exactly 0: pass ``start=0.0``.  optax's
    ``warmup_cosine_decay_schedule(init_value=...)`` is ``start=init_value``.

    Examples
    --------
    >>> from lrcore.schedules import warmup, constant
    >>> s = warmup(constant(1.0), 3)
    >>> [s(t) for t in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    >>> [warmup(constant(1.0), 4, start=0.0)(t) for t in range(5)]
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return make("warmup", schedule=as_schedule(schedule, "schedule"), steps=length(steps, "steps"),
                 start=opt_rate(start, "start"))


def _c_scale(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("scale", kids=(b.build(p["schedule"]),), p=(p["factor"],))


@register("scale", _c_scale, lambda p: f"{fmt(p['factor'])} x ({p['schedule'].describe()})")
def scale(schedule: ScheduleLike, factor: Real) -> Schedule:
    """``factor * schedule(t)``; also written ``s * c`` or ``c * s``.

    Examples
    --------
    >>> from lrcore.schedules import cosine
    >>> s = 0.5 * cosine(1.0, 10)
    >>> s(0), s.name
    (0.5, 'scale')
    """
    return make("scale", schedule=as_schedule(schedule, "schedule"), factor=nonneg_rate(factor, "factor"))


def _c_product(b: Builder, p: Mapping[str, Any]) -> int:
    return b.node("product", kids=(b.build(p["first"]), b.build(p["second"])))


@register("product", _c_product, lambda p: f"({p['first'].describe()}) x "
           f"({p['second'].describe()})")
def product(first: ScheduleLike, second: ScheduleLike) -> Schedule:
    """The pointwise product ``first(t) * second(t)``; also written ``s1 * s2`` (e.g. a
    base rate times a multiplicative warmup factor).

    Examples
    --------
    >>> from lrcore.schedules import linear, constant
    >>> s = constant(0.1) * linear(0.0, 1.0, 10)
    >>> s(5)
    0.05
    """
    return make("product", first=as_schedule(first, "first"), second=as_schedule(second, "second"))


def _c_clip(b: Builder, p: Mapping[str, Any]) -> int:
    hi = math.inf if p["hi"] is None else p["hi"]
    return b.node("clip", kids=(b.build(p["schedule"]),), p=(p["lo"], hi))


@register("clip", _c_clip, lambda p: f"({p['schedule'].describe()}) clipped to "
           f"[{fmt(p['lo'])}, {'inf' if p['hi'] is None else fmt(p['hi'])}]")
def clip(schedule: ScheduleLike, lo: Real = 0.0, hi: Real | None = None) -> Schedule:
    """``min(max(schedule(t), lo), hi)`` (``hi=None``: no upper bound).

    Examples
    --------
    >>> from lrcore.schedules import clip, exponential
    >>> s = clip(exponential(1.0, 2.0), hi=10.0)
    >>> s(3), s(10)
    (8.0, 10.0)
    """
    lo_ = nonneg_rate(lo, "lo")
    hi_ = opt_rate(hi, "hi")
    if hi_ is not None and hi_ < lo_:
        raise ValueError(f"lo ({lo_!r}) must be <= hi ({hi_!r})")
    return make("clip", schedule=as_schedule(schedule, "schedule"), lo=lo_, hi=hi_)
