"""Learning-rate schedules: closed form, vectorized in C, composable and serializable.

A schedule is an immutable :class:`Schedule` built by one of the constructors below.
Calling it gives the learning rate after ``t`` optimizer steps:

* ``s(t)`` with an ``int`` returns a Python ``float``;
* ``s(steps)`` with an integer array returns a float64 array of the same shape, computed by
  the C evaluator (``csrc/schedule.c``; GIL released, OpenMP for long arrays).

Both paths run the very same C code, so they agree bit for bit.

Conventions (the same for every schedule; where PyTorch, HF transformers or optax differ,
the constructor says so and a flag or :mod:`lrcore.schedules.compat` reproduces theirs):

* ``t`` is 0-based: the number of optimizer steps already taken, so ``s(0)`` is the rate of
  the first update.  This is what ``torch.optim.lr_scheduler`` reports after ``t`` calls to
  ``scheduler.step()`` and what optax passes as ``count``.
* Steps are int64, never floats; ``t < 0`` is a :class:`ValueError`.  Lengths and
  boundaries are whole steps in ``[1, 2**52]``.
* A decay that reaches its end value **holds** it afterwards (no cosine climbing back up).
* Warmups start at a configurable value and by default at ``peak / (steps + 1)``, not at 0:
  the ramp ``peak (t + 1) / (steps + 1)`` is HF's linear warmup shifted by one step, so the
  first update already moves the parameters.

Composition stays closed form and vectorized: :func:`join` (each child sees local time),
:func:`warmup`, ``s * c``, ``c * s``, ``s1 * s2`` and :func:`clip`.  Every schedule has
:meth:`Schedule.to_dict` and :func:`from_dict` rebuilds it from the JSON-safe dict (no
pickled lambdas): ``from_dict(json.loads(json.dumps(s.to_dict()))) == s``.

:class:`ReduceOnPlateau` is the one stateful rule; it keeps explicit, serializable state and
can follow any closed-form schedule (e.g. warmup, then plateau control).

Examples
--------
>>> import numpy as np
>>> from lrcore import schedules as S
>>> s = S.warmup(S.cosine(0.1, 900), 100, start=0.001)
>>> s(0), s(100), s(1000), s(5000)
(0.001, 0.1, 0.0, 0.0)
>>> S.from_dict(s.to_dict()) == s
True
>>> bool(np.all(s(np.arange(1000)) == np.array([s(t) for t in range(1000)])))
True
"""
from __future__ import annotations

from lrcore.schedules._schedule import MAX_DEPTH, MAX_STEPS, Schedule, from_dict
from lrcore.schedules._closed_form import (
    constant,
    cosine,
    cosine_restarts,
    cyclic,
    exponential,
    inverse_sqrt,
    inverse_time,
    linear,
    multistep,
    onecycle,
    piecewise_constant,
    piecewise_linear,
    polynomial,
    step,
    warmup_cosine,
    wsd,
)
from lrcore.schedules._compose import clip, join, product, scale, warmup
from lrcore.schedules._plateau import ReduceOnPlateau
from lrcore.schedules import compat

__all__ = [
    "Schedule",
    "ReduceOnPlateau",
    "from_dict",
    "constant",
    "step",
    "multistep",
    "exponential",
    "inverse_time",
    "inverse_sqrt",
    "polynomial",
    "linear",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "onecycle",
    "warmup_cosine",
    "wsd",
    "piecewise_constant",
    "piecewise_linear",
    "join",
    "warmup",
    "scale",
    "product",
    "clip",
    "compat",
    "MAX_STEPS",
    "MAX_DEPTH",
]
