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

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Optional, Union

import numpy as np

from lrcore import _core
from lrcore._core import NonFiniteError, _ScheduleBase

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
]

_C: dict = _core._SCHED_C
#: The largest length or boundary a schedule accepts (2**52 steps): up to it every step
#: count converts to float64 exactly, so no schedule ever counts steps in floating point.
MAX_STEPS: int = int(_C["MAX_LEN"])

Real = Union[int, float]
ScheduleLike = Union["Schedule", Real]


# ----------------------------------------------------------------------------------------
# argument validation (ValueError/TypeError naming the argument)
# ----------------------------------------------------------------------------------------

def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _int(x: Any, name: str, lo: int, hi: int = MAX_STEPS) -> int:
    if not _is_int(x):
        raise TypeError(f"{name} must be an integer number of steps, got {type(x).__name__}")
    v = int(x)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def _length(x: Any, name: str) -> int:
    if _is_int(x) and int(x) < 1:
        raise ValueError(f"{name} must be a positive number of steps, got {int(x)}")
    return _int(x, name, 1)


def _real(x: Any, name: str) -> float:
    if not _is_real(x):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _rate(x: Any, name: str) -> float:
    v = _real(x, name)
    if v < 0.0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return v + 0.0  # -0.0 -> 0.0


def _unit_rate(x: Any, name: str) -> float:
    v = _rate(x, name)
    if v > 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    return v


def _opt_rate(x: Any, name: str) -> Optional[float]:
    return None if x is None else _rate(x, name)


def _flag(x: Any, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__}")
    return bool(x)


def _choice(x: Any, name: str, options: Sequence[str]) -> str:
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def _seq(x: Any, name: str) -> list:
    if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence, got {type(x).__name__}")
    return list(x.tolist() if isinstance(x, np.ndarray) else x)


def _increasing(x: Any, name: str, lo: int) -> tuple:
    vals = _seq(x, name)
    out = []
    for i, v in enumerate(vals):
        out.append(_int(v, f"{name}[{i}]", lo))
        if i and out[i] <= out[i - 1]:
            raise ValueError(f"{name} must be strictly increasing; {name}[{i}] = {out[i]} "
                             f"follows {out[i - 1]}")
    return tuple(out)


def _rates(x: Any, name: str) -> tuple:
    return tuple(_rate(v, f"{name}[{i}]") for i, v in enumerate(_seq(x, name)))


def _sched(x: Any, name: str) -> "Schedule":
    if isinstance(x, Schedule):
        return x
    if _is_real(x):
        return constant(x)
    raise TypeError(f"{name} must be a Schedule or a number, got {type(x).__name__}")


def _fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# ----------------------------------------------------------------------------------------
# the Schedule class, the registry and the program builder
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Kind:
    factory: Callable[..., "Schedule"]
    compile: Callable[["_Builder", Mapping], int]
    describe: Callable[[Mapping], str]
    signature: inspect.Signature


_REGISTRY: dict[str, _Kind] = {}


def _register(name: str, compile: Callable, describe: Callable) -> Callable:
    def deco(factory: Callable) -> Callable:
        _REGISTRY[name] = _Kind(factory, compile, describe, inspect.signature(factory))
        return factory
    return deco


class _Builder:
    """Accumulates the flat program: nodes (children first), shared int and real arrays."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.ints: list = []
        self.reals: list = []

    def node(self, kind: str, *, mode: int = 0, kids: Sequence[int] = (),
             n: Sequence[int] = (), p: Sequence[float] = ()) -> int:
        k = tuple(kids) + (-1,) * (2 - len(kids))
        self.nodes.append((_C[kind], int(mode), k, tuple(n) + (0,) * (4 - len(n)),
                           tuple(float(v) for v in p) + (0.0,) * (6 - len(p))))
        return len(self.nodes) - 1

    def add_ints(self, vals: Sequence[int]) -> int:
        off = len(self.ints)
        self.ints.extend(int(v) for v in vals)
        return off

    def add_reals(self, vals: Sequence[float]) -> int:
        off = len(self.reals)
        self.reals.extend(float(v) for v in vals)
        return off

    def build(self, s: "Schedule") -> int:
        return _REGISTRY[s.name].compile(self, s.params)


def _to_json(v: Any) -> Any:
    if isinstance(v, Schedule):
        return v.to_dict()
    if isinstance(v, tuple):
        return [_to_json(x) for x in v]
    return v


def _repr_value(v: Any) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_repr_value(x) for x in v) + "]"
    return repr(v)


class Schedule(_ScheduleBase):
    """An immutable learning-rate schedule (build one with the constructors of
    :mod:`lrcore.schedules`, e.g. :func:`cosine`; do not instantiate directly).

    ``s(t)`` gives the rate after ``t`` optimizer steps (``int`` -> ``float``; integer array
    -> float64 array, bit-identical to the scalar calls).  The parameters are read-only
    attributes (``s.lr``, ``s.steps``, ...) and :attr:`params`; :attr:`name` is the
    constructor's name.  Two schedules are equal when name and parameters are.
    """

    __slots__ = ("_name", "_params", "_hash")
    # numpy must not broadcast over a schedule: ``2.0 * s`` and ``np.float64(2) * s`` both
    # land in __rmul__
    __array_ufunc__ = None

    def __init__(self, name: str, params: Mapping[str, Any]) -> None:
        if name not in _REGISTRY:
            raise ValueError(f"unknown schedule name {name!r}")
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_params", MappingProxyType(dict(params)))
        object.__setattr__(self, "_hash", None)

    # -- identity --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The constructor's name, e.g. ``"cosine"`` (the ``"name"`` key of :meth:`to_dict`)."""
        return self._name

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters (read-only mapping; child schedules appear as Schedule objects)."""
        return self._params

    def __getattr__(self, key: str) -> Any:
        if not key.startswith("_"):
            try:
                return self._params[key]
            except KeyError:
                pass
        raise AttributeError(f"{type(self).__name__} {getattr(self, '_name', '?')!r} has no "
                             f"attribute {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("schedules are immutable; build a new one instead")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("schedules are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self._name == other._name and dict(self._params) == dict(other._params)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self._name, tuple(self._params.items())))
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        sig = _REGISTRY[self._name].signature
        parts = []
        for pname, par in sig.parameters.items():
            v = self._params[pname]
            if par.default is inspect.Parameter.empty:
                parts.append(_repr_value(v))
            elif not (v == par.default and type(v) is type(par.default)):
                parts.append(f"{pname}={_repr_value(v)}")
        return f"{self._name}({', '.join(parts)})"

    def __reduce__(self):
        return (from_dict, (self.to_dict(),))

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-safe dict ``{"name": ..., <parameters>...}``; child schedules are nested
        dicts.  :func:`from_dict` rebuilds an equal schedule.

        Examples
        --------
        >>> from lrcore import schedules as S
        >>> S.join([S.linear(0.0, 0.1, 10), S.cosine(0.1, 90)], [10]).to_dict()["schedules"][1]
        {'name': 'cosine', 'lr': 0.1, 'steps': 90, 'floor': 0.0, 'exponent': 1.0, 'periodic': False}
        """
        d: dict = {"name": self._name}
        for k, v in self._params.items():
            d[k] = _to_json(v)
        return d

    # -- conveniences ----------------------------------------------------------------------
    def values(self, n: int) -> np.ndarray:
        """The first ``n`` rates, ``s(numpy.arange(n))`` (float64)."""
        n = _int(n, "n", 0, 2**62)
        return self(np.arange(n, dtype=np.int64))

    def describe(self) -> str:
        """A one-line human summary, e.g. ``"cosine decay 0.1 -> 0 over 1000 steps, then
        holds 0"``."""
        return _REGISTRY[self._name].describe(self._params)

    def plot(self, n: int, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the first ``n`` rates on a matplotlib ``ax`` (a new figure if None) and
        return the axes.  Needs matplotlib: ``pip install 'lrcore[plot]'``."""
        n = _int(n, "n", 1, 2**40)
        from lrcore._plotting import axes

        ax = axes(ax, what="Schedule.plot")
        kwargs.setdefault("label", self._name)
        ax.plot(np.arange(n), self.values(n), **kwargs)
        ax.set_xlabel("step t (optimizer steps taken)")
        ax.set_ylabel("learning rate")
        ax.set_title(self.describe(), fontsize="small")
        return ax

    # -- arithmetic ------------------------------------------------------------------------
    def __mul__(self, other: Any) -> "Schedule":
        if isinstance(other, Schedule):
            return product(self, other)
        if _is_real(other):
            return scale(self, other)
        return NotImplemented

    def __rmul__(self, other: Any) -> "Schedule":
        if _is_real(other):
            return scale(self, other)
        return NotImplemented

    # -- compilation (called once, lazily, by the C side) ----------------------------------
    def _program(self) -> tuple[list, list, list]:
        b = _Builder()
        b.build(self)
        return b.nodes, b.ints, b.reals


def from_dict(d: Mapping[str, Any]) -> Union[Schedule, "ReduceOnPlateau"]:
    """Rebuild a schedule from :meth:`Schedule.to_dict` output (e.g. after a JSON round trip).

    Parameters are validated by the schedule's constructor.  Unknown names or keys raise
    :class:`ValueError` naming the offending key.

    Examples
    --------
    >>> import json
    >>> from lrcore import schedules as S
    >>> s = S.onecycle(0.1, 1000) * 0.5
    >>> S.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    True
    """
    return _from_dict(d, "d")


def _from_dict(d: Any, path: str) -> Any:
    if not isinstance(d, Mapping):
        raise TypeError(f"{path} must be a dict from Schedule.to_dict(), got {type(d).__name__}")
    if "name" not in d:
        raise ValueError(f"{path} has no key 'name'")
    name = d["name"]
    if name == "reduce_on_plateau":
        factory: Callable = ReduceOnPlateau
        sig = inspect.signature(ReduceOnPlateau.__init__)
    elif isinstance(name, str) and name in _REGISTRY:
        factory = _REGISTRY[name].factory
        sig = _REGISTRY[name].signature
    else:
        known = ", ".join(sorted(_REGISTRY) + ["reduce_on_plateau"])
        raise ValueError(f"{path}['name'] = {name!r} is not a known schedule (known: {known})")
    kwargs = {}
    for k, v in d.items():
        if k == "name":
            continue
        if k not in sig.parameters or k == "self":
            raise ValueError(f"{path}[{k!r}]: unknown key for schedule {name!r}")
        kwargs[k] = _decode(v, f"{path}[{k!r}]")
    return factory(**kwargs)


def _decode(v: Any, path: str) -> Any:
    if isinstance(v, Mapping):
        return _from_dict(v, path)
    if isinstance(v, list):
        return [_decode(x, f"{path}[{i}]") for i, x in enumerate(v)]
    return v


def _make(name: str, **params: Any) -> Schedule:
    return Schedule(name, params)


# ----------------------------------------------------------------------------------------
# closed-form schedules
# ----------------------------------------------------------------------------------------

def _c_constant(b: _Builder, p: Mapping) -> int:
    return b.node("constant", p=(p["value"],))


@_register("constant", _c_constant, lambda p: f"constant {_fmt(p['value'])}")
def constant(value: Real) -> Schedule:
    """A constant rate, ``lr(t) = value``.

    Examples
    --------
    >>> from lrcore.schedules import constant
    >>> constant(0.01)(12345)
    0.01
    """
    return _make("constant", value=_rate(value, "value"))


def _c_step(b: _Builder, p: Mapping) -> int:
    return b.node("step", n=(p["step_size"],), p=(p["lr"], p["gamma"]))


@_register("step", _c_step, lambda p: f"{_fmt(p['lr'])} x {_fmt(p['gamma'])} every "
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
    return _make("step", lr=_rate(lr, "lr"), step_size=_length(step_size, "step_size"),
                 gamma=_rate(gamma, "gamma"))


def _c_multistep(b: _Builder, p: Mapping) -> int:
    ms = p["milestones"]
    vals = [p["lr"] * p["gamma"] ** k for k in range(len(ms) + 1)]
    return b.node("piecewise_const", n=(b.add_ints(ms), len(ms), b.add_reals(vals)))


@_register("multistep", _c_multistep, lambda p: f"{_fmt(p['lr'])} x {_fmt(p['gamma'])} at "
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
    lr_, g = _rate(lr, "lr"), _rate(gamma, "gamma")
    ms = _increasing(milestones, "milestones", 1)
    try:
        last = lr_ * g ** len(ms)
    except OverflowError:
        last = math.inf
    if not math.isfinite(last):
        raise ValueError(f"lr * gamma**{len(ms)} overflows; use a smaller gamma or fewer "
                         "milestones")
    return _make("multistep", lr=lr_, milestones=ms, gamma=g)


def _c_exponential(b: _Builder, p: Mapping) -> int:
    lo = 0.0 if p["floor"] is None else p["floor"]
    hi = math.inf if p["ceiling"] is None else p["ceiling"]
    return b.node("exponential", mode=int(p["staircase"]), n=(p["every"],),
                  p=(p["lr"], p["gamma"], lo, hi))


def _d_exponential(p: Mapping) -> str:
    e = f"floor(t/{p['every']})" if p["staircase"] else (f"t/{p['every']}" if p["every"] != 1 else "t")
    s = f"{_fmt(p['lr'])} x {_fmt(p['gamma'])}^{e}"
    if p["floor"] is not None:
        s += f", floor {_fmt(p['floor'])}"
    if p["ceiling"] is not None:
        s += f", ceiling {_fmt(p['ceiling'])}"
    return s


@_register("exponential", _c_exponential, _d_exponential)
def exponential(lr: Real, gamma: Real, *, every: int = 1, staircase: bool = False,
                floor: Optional[Real] = None, ceiling: Optional[Real] = None) -> Schedule:
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
    fl = _opt_rate(floor, "floor")
    ce = _opt_rate(ceiling, "ceiling")
    if fl is not None and ce is not None and fl > ce:
        raise ValueError(f"floor ({fl!r}) must be <= ceiling ({ce!r})")
    return _make("exponential", lr=_rate(lr, "lr"), gamma=_rate(gamma, "gamma"),
                 every=_length(every, "every"), staircase=_flag(staircase, "staircase"),
                 floor=fl, ceiling=ce)


def _c_inverse_time(b: _Builder, p: Mapping) -> int:
    return b.node("inverse_time", mode=int(p["staircase"]), n=(p["every"],),
                  p=(p["lr"], p["rate"]))


@_register("inverse_time", _c_inverse_time, lambda p: f"{_fmt(p['lr'])} / (1 + "
           f"{_fmt(p['rate'])} t/{p['every']}){' (staircase)' if p['staircase'] else ''}")
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
    return _make("inverse_time", lr=_rate(lr, "lr"), rate=_rate(rate, "rate"),
                 every=_length(every, "every"), staircase=_flag(staircase, "staircase"))


def _c_inverse_sqrt(b: _Builder, p: Mapping) -> int:
    return b.node("inverse_sqrt", n=(p["timescale"],), p=(p["lr"],))


@_register("inverse_sqrt", _c_inverse_sqrt, lambda p: f"{_fmt(p['lr'])} / sqrt(1 + "
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
    return _make("inverse_sqrt", lr=_rate(lr, "lr"), timescale=_length(timescale, "timescale"))


def _c_polynomial(b: _Builder, p: Mapping) -> int:
    return b.node("polynomial", n=(p["steps"],), p=(p["lr"], p["end"], p["power"]))


@_register("polynomial", _c_polynomial, lambda p: f"polynomial (power {_fmt(p['power'])}) "
           f"decay {_fmt(p['lr'])} -> {_fmt(p['end'])} over {p['steps']} steps, then holds")
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
    pw = _real(power, "power")
    if pw <= 0:
        raise ValueError(f"power must be > 0, got {pw!r}")
    return _make("polynomial", lr=_rate(lr, "lr"), steps=_length(steps, "steps"),
                 end=_rate(end, "end"), power=pw)


def _c_linear(b: _Builder, p: Mapping) -> int:
    return b.node("linear", n=(p["steps"],), p=(p["start"], p["end"]))


@_register("linear", _c_linear, lambda p: f"linear {_fmt(p['start'])} -> {_fmt(p['end'])} "
           f"over {p['steps']} steps, then holds {_fmt(p['end'])}")
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
    return _make("linear", start=_rate(start, "start"), end=_rate(end, "end"),
                 steps=_length(steps, "steps"))


def _c_cosine(b: _Builder, p: Mapping) -> int:
    return b.node("cosine", mode=int(p["periodic"]), n=(p["steps"],),
                  p=(p["lr"], p["floor"], p["exponent"]))


def _d_cosine(p: Mapping) -> str:
    s = f"cosine decay {_fmt(p['lr'])} -> {_fmt(p['floor'])} over {p['steps']} steps"
    if p["exponent"] != 1.0:
        s += f" (exponent {_fmt(p['exponent'])})"
    return s + (", then rises again (periodic, PyTorch's CosineAnnealingLR)" if p["periodic"]
                else f", then holds {_fmt(p['floor'])}")


@_register("cosine", _c_cosine, _d_cosine)
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
    e = _real(exponent, "exponent")
    if e <= 0:
        raise ValueError(f"exponent must be > 0, got {e!r}")
    return _make("cosine", lr=_rate(lr, "lr"), steps=_length(steps, "steps"),
                 floor=_rate(floor, "floor"), exponent=e, periodic=_flag(periodic, "periodic"))


def _c_restarts(b: _Builder, p: Mapping) -> int:
    ws = p["warmup_start"]
    return b.node("cosine_restarts", mode=int(ws is None),
                  n=(p["period"], p["period_mult"], p["warmup"]),
                  p=(p["lr"], p["floor"], p["peak_decay"], 0.0 if ws is None else ws))


def _d_restarts(p: Mapping) -> str:
    s = f"cosine with warm restarts {_fmt(p['lr'])} -> {_fmt(p['floor'])}, period {p['period']}"
    if p["period_mult"] != 1:
        s += f" x {p['period_mult']} per cycle"
    if p["peak_decay"] != 1.0:
        s += f", peak x {_fmt(p['peak_decay'])} per cycle"
    if p["warmup"]:
        s += f", {p['warmup']}-step warmup per cycle"
    return s


@_register("cosine_restarts", _c_restarts, _d_restarts)
def cosine_restarts(lr: Real, period: int, *, period_mult: int = 1, peak_decay: Real = 1.0,
                    floor: Real = 0.0, warmup: int = 0,
                    warmup_start: Optional[Real] = None) -> Schedule:
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
    per = _length(period, "period")
    w = _int(warmup, "warmup", 0)
    if w >= per:
        raise ValueError(f"warmup ({w}) must be shorter than period ({per})")
    return _make("cosine_restarts", lr=_rate(lr, "lr"), period=per,
                 period_mult=_int(period_mult, "period_mult", 1, 1024),
                 peak_decay=_unit_rate(peak_decay, "peak_decay"), floor=_rate(floor, "floor"),
                 warmup=w, warmup_start=_opt_rate(warmup_start, "warmup_start"))


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _c_cyclic(b: _Builder, p: Mapping) -> int:
    up = p["step_size_up"]
    down = up if p["step_size_down"] is None else p["step_size_down"]
    return b.node("cyclic", mode=_CYCLIC_MODES.index(p["mode"]), n=(up, down),
                  p=(p["base_lr"], p["max_lr"], p["gamma"]))


@_register("cyclic", _c_cyclic, lambda p: f"cyclic ({p['mode']}) {_fmt(p['base_lr'])} <-> "
           f"{_fmt(p['max_lr'])}, up {p['step_size_up']} / down "
           f"{p['step_size_up'] if p['step_size_down'] is None else p['step_size_down']} steps")
def cyclic(base_lr: Real, max_lr: Real, step_size_up: int, step_size_down: Optional[int] = None,
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
    down = None if step_size_down is None else _int(step_size_down, "step_size_down", 0)
    g = _rate(gamma, "gamma")
    if not 0.0 < g <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {g!r}")
    return _make("cyclic", base_lr=_rate(base_lr, "base_lr"), max_lr=_rate(max_lr, "max_lr"),
                 step_size_up=_length(step_size_up, "step_size_up"), step_size_down=down,
                 mode=_choice(mode, "mode", _CYCLIC_MODES), gamma=g)


def _onecycle_knots(p: Mapping) -> tuple[list, list]:
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


def _c_onecycle(b: _Builder, p: Mapping) -> int:
    knots, vals = _onecycle_knots(p)
    off = b.add_reals(knots + vals)
    return b.node("interp", mode=int(p["anneal"] == "cos"), n=(off, len(knots)))


@_register("onecycle", _c_onecycle, lambda p: f"one-cycle ({p['anneal']}, "
           f"{'three' if p['three_phase'] else 'two'} phases) peak {_fmt(p['max_lr'])} at "
           f"{_fmt(p['pct_start'])} of {p['total_steps']} steps"
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
    T = _length(total_steps, "total_steps")
    pct = _real(pct_start, "pct_start")
    if not 0.0 < pct < 1.0:
        raise ValueError(f"pct_start must be in (0, 1), got {pct!r}")
    div = _real(div_factor, "div_factor")
    fdiv = _real(final_div_factor, "final_div_factor")
    if div <= 0 or fdiv <= 0:
        raise ValueError("div_factor and final_div_factor must be > 0, got "
                         f"{div!r} and {fdiv!r}")
    p = dict(max_lr=_rate(max_lr, "max_lr"), total_steps=T, pct_start=pct,
             anneal=_choice(anneal, "anneal", ("cos", "linear")), div_factor=div,
             final_div_factor=fdiv, three_phase=_flag(three_phase, "three_phase"),
             torch_phase_ends=_flag(torch_phase_ends, "torch_phase_ends"))
    knots, _ = _onecycle_knots(p)
    if not all(b > a for a, b in zip(knots, knots[1:])):
        raise ValueError(f"total_steps={T} with pct_start={pct} leaves an empty phase "
                         f"(phase ends {knots[1:]}); use more steps or another pct_start")
    return _make("onecycle", **p)


def _c_warmup_cosine(b: _Builder, p: Mapping) -> int:
    W, T = p["warmup_steps"], p["total_steps"]
    c = b.node("cosine", n=(T - W,), p=(p["peak"], p["floor"], p["exponent"]))
    if W == 0:
        return c
    st = p["start"]
    return b.node("warmup", mode=int(st is None), kids=(c,), n=(W,),
                  p=(0.0 if st is None else st,))


@_register("warmup_cosine", _c_warmup_cosine, lambda p: f"linear warmup over "
           f"{p['warmup_steps']} steps from "
           f"{'peak/' + str(p['warmup_steps'] + 1) if p['start'] is None else _fmt(p['start'])}"
           f" to {_fmt(p['peak'])}, cosine decay"
           f"{'' if p['exponent'] == 1.0 else ' (exponent ' + _fmt(p['exponent']) + ')'} to "
           f"{_fmt(p['floor'])} at step {p['total_steps']}, then holds")
def warmup_cosine(peak: Real, warmup_steps: int, total_steps: int, *,
                  start: Optional[Real] = None, floor: Real = 0.0,
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
    W = _int(warmup_steps, "warmup_steps", 0)
    T = _length(total_steps, "total_steps")
    if T <= W:
        raise ValueError(f"total_steps ({T}) must exceed warmup_steps ({W})")
    e = _real(exponent, "exponent")
    if e <= 0:
        raise ValueError(f"exponent must be > 0, got {e!r}")
    return _make("warmup_cosine", peak=_rate(peak, "peak"), warmup_steps=W, total_steps=T,
                 start=_opt_rate(start, "start"), floor=_rate(floor, "floor"), exponent=e)


_WSD_DECAYS = ("linear", "cosine", "1-sqrt")


def _c_wsd(b: _Builder, p: Mapping) -> int:
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
        d = b.node("join", n=(off, 2))
    if p["warmup_steps"]:
        st = p["start"]
        d = b.node("warmup", mode=int(st is None), kids=(d,), n=(p["warmup_steps"],),
                   p=(0.0 if st is None else st,))
    return d


@_register("wsd", _c_wsd, lambda p: f"warmup {p['warmup_steps']}, stable "
           f"{p['stable_steps']} at {_fmt(p['peak'])}, {p['decay']} decay over "
           f"{p['decay_steps']} to {_fmt(p['floor'])}, then holds")
def wsd(peak: Real, warmup_steps: int, stable_steps: int, decay_steps: int, *,
        decay: str = "linear", start: Optional[Real] = None, floor: Real = 0.0) -> Schedule:
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
    return _make("wsd", peak=_rate(peak, "peak"),
                 warmup_steps=_int(warmup_steps, "warmup_steps", 0),
                 stable_steps=_int(stable_steps, "stable_steps", 0),
                 decay_steps=_length(decay_steps, "decay_steps"),
                 decay=_choice(decay, "decay", _WSD_DECAYS), start=_opt_rate(start, "start"),
                 floor=_rate(floor, "floor"))


def _c_pconst(b: _Builder, p: Mapping) -> int:
    bd = p["boundaries"]
    return b.node("piecewise_const", n=(b.add_ints(bd), len(bd), b.add_reals(p["values"])))


@_register("piecewise_constant", _c_pconst, lambda p: "piecewise constant "
           + ", ".join(_fmt(v) for v in p["values"]) + " changing at steps "
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
    bd = _increasing(boundaries, "boundaries", 1)
    vals = _rates(values, "values")
    if len(vals) != len(bd) + 1:
        raise ValueError(f"values needs len(boundaries) + 1 = {len(bd) + 1} entries, "
                         f"got {len(vals)}")
    return _make("piecewise_constant", boundaries=bd, values=vals)


def _c_plinear(b: _Builder, p: Mapping) -> int:
    st, vals = p["steps"], p["values"]
    if len(st) == 1:
        return b.node("constant", p=(vals[0],))
    off = b.add_reals([float(x) for x in st] + list(vals))
    return b.node("interp", n=(off, len(st)))


@_register("piecewise_linear", _c_plinear, lambda p: "piecewise linear through "
           + ", ".join(f"({s}, {_fmt(v)})" for s, v in zip(p["steps"], p["values"])))
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
    st = _increasing(steps, "steps", 0)
    vals = _rates(values, "values")
    if len(st) != len(vals) or not st:
        raise ValueError(f"steps and values must be non-empty and of equal length, got "
                         f"{len(st)} and {len(vals)}")
    return _make("piecewise_linear", steps=st, values=vals)


# ----------------------------------------------------------------------------------------
# composition
# ----------------------------------------------------------------------------------------

def _c_join(b: _Builder, p: Mapping) -> int:
    kids = [b.build(s) for s in p["schedules"]]
    if len(kids) == 1:
        return kids[0]
    off = b.add_ints(kids + list(p["boundaries"]))
    return b.node("join", n=(off, len(kids)))


@_register("join", _c_join, lambda p: "join of [" + "; ".join(s.describe() for s in
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
    sch = tuple(_sched(s, f"schedules[{i}]") for i, s in enumerate(_seq(schedules, "schedules")))
    if not sch:
        raise ValueError("schedules must not be empty")
    bd = _increasing(boundaries, "boundaries", 1)
    if len(bd) != len(sch) - 1:
        raise ValueError(f"boundaries needs len(schedules) - 1 = {len(sch) - 1} entries, "
                         f"got {len(bd)}")
    return _make("join", schedules=sch, boundaries=bd)


def _c_warmup(b: _Builder, p: Mapping) -> int:
    c = b.build(p["schedule"])
    st = p["start"]
    return b.node("warmup", mode=int(st is None), kids=(c,), n=(p["steps"],),
                  p=(0.0 if st is None else st,))


@_register("warmup", _c_warmup, lambda p: f"linear warmup over {p['steps']} steps from "
           f"{'peak/' + str(p['steps'] + 1) if p['start'] is None else _fmt(p['start'])}, "
           f"then {p['schedule'].describe()}")
def warmup(schedule: ScheduleLike, steps: int, *, start: Optional[Real] = None) -> Schedule:
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
    return _make("warmup", schedule=_sched(schedule, "schedule"), steps=_length(steps, "steps"),
                 start=_opt_rate(start, "start"))


def _c_scale(b: _Builder, p: Mapping) -> int:
    return b.node("scale", kids=(b.build(p["schedule"]),), p=(p["factor"],))


@_register("scale", _c_scale, lambda p: f"{_fmt(p['factor'])} x ({p['schedule'].describe()})")
def scale(schedule: ScheduleLike, factor: Real) -> Schedule:
    """``factor * schedule(t)``; also written ``s * c`` or ``c * s``.

    Examples
    --------
    >>> from lrcore.schedules import cosine
    >>> s = 0.5 * cosine(1.0, 10)
    >>> s(0), s.name
    (0.5, 'scale')
    """
    return _make("scale", schedule=_sched(schedule, "schedule"), factor=_rate(factor, "factor"))


def _c_product(b: _Builder, p: Mapping) -> int:
    return b.node("product", kids=(b.build(p["first"]), b.build(p["second"])))


@_register("product", _c_product, lambda p: f"({p['first'].describe()}) x "
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
    return _make("product", first=_sched(first, "first"), second=_sched(second, "second"))


def _c_clip(b: _Builder, p: Mapping) -> int:
    hi = math.inf if p["hi"] is None else p["hi"]
    return b.node("clip", kids=(b.build(p["schedule"]),), p=(p["lo"], hi))


@_register("clip", _c_clip, lambda p: f"({p['schedule'].describe()}) clipped to "
           f"[{_fmt(p['lo'])}, {'inf' if p['hi'] is None else _fmt(p['hi'])}]")
def clip(schedule: ScheduleLike, lo: Real = 0.0, hi: Optional[Real] = None) -> Schedule:
    """``min(max(schedule(t), lo), hi)`` (``hi=None``: no upper bound).

    Examples
    --------
    >>> from lrcore.schedules import clip, exponential
    >>> s = clip(exponential(1.0, 2.0), hi=10.0)
    >>> s(3), s(10)
    (8.0, 10.0)
    """
    lo_ = _rate(lo, "lo")
    hi_ = _opt_rate(hi, "hi")
    if hi_ is not None and hi_ < lo_:
        raise ValueError(f"lo ({lo_!r}) must be <= hi ({hi_!r})")
    return _make("clip", schedule=_sched(schedule, "schedule"), lo=lo_, hi=hi_)


# ----------------------------------------------------------------------------------------
# ReduceOnPlateau
# ----------------------------------------------------------------------------------------

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
        self.base: Schedule = _sched(lr, "lr")
        self.mode = _choice(mode, "mode", self._MODES)
        self.factor = _rate(factor, "factor")
        if not self.factor < 1.0:
            raise ValueError(f"factor must be in [0, 1), got {self.factor!r}")
        self.patience = _int(patience, "patience", 0, 2**62)
        self.threshold = _rate(threshold, "threshold")
        self.threshold_mode = _choice(threshold_mode, "threshold_mode", self._TMODES)
        self.cooldown = _int(cooldown, "cooldown", 0, 2**62)
        self.min_lr = _rate(min_lr, "min_lr")
        self.eps = _rate(eps, "eps")
        self.active_from = _int(active_from, "active_from", 0, 2**62)
        self.reset()

    # -- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all reports: scale 1, no best, no bad or cooldown counts."""
        self.scale = 1.0
        self.best: Optional[float] = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.n_reductions = 0
        self.n_reports = 0
        self.t = 0

    _STATE_KEYS = ("scale", "best", "num_bad_epochs", "cooldown_counter", "n_reductions",
                   "n_reports", "t")

    def state_dict(self) -> dict:
        """The mutable state as a JSON-safe dict (``best`` is None before the first report)."""
        return {k: getattr(self, k) for k in self._STATE_KEYS}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (validated; nothing changes on error)."""
        missing = [k for k in self._STATE_KEYS if k not in state]
        extra = [k for k in state if k not in self._STATE_KEYS]
        if missing or extra:
            raise ValueError(f"state: missing keys {missing}, unknown keys {extra}")
        scale_ = _rate(state["scale"], "state['scale']")
        best = None if state["best"] is None else _real(state["best"], "state['best']")
        ints = {k: _int(state[k], f"state[{k!r}]", 0, 2**62) for k in self._STATE_KEYS[2:]}
        self.scale, self.best = scale_, best
        for k, v in ints.items():
            setattr(self, k, v)

    def to_dict(self) -> dict:
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

    def step(self, metric: Any, t: Optional[int] = None) -> float:
        """Report a metric; returns the rate now in force, ``base(t) * scale``.

        ``t`` defaults to the step of the most recent scalar call ``rule(t)``.  A NaN or
        infinite metric raises :class:`lrcore.NonFiniteError` and changes nothing.
        """
        m = _real_metric(metric)
        if t is not None:
            self.t = _int(t, "t", 0, 2**63 - 1)
        now = self.t
        if now < self.active_from:
            return self.base(now) * self.scale
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
        return self.base(now) * self.scale

    def describe(self) -> str:
        """One line: the rule, its base schedule and the current scale."""
        return (f"reduce on plateau ({self.mode}, x{_fmt(self.factor)} after "
                f"{self.patience} bad reports) of [{self.base.describe()}]; currently "
                f"x{_fmt(self.scale)}")

    def __repr__(self) -> str:
        return (f"ReduceOnPlateau({self.base!r}, mode={self.mode!r}, factor={self.factor!r}, "
                f"patience={self.patience}, scale={self.scale!r}, best={self.best!r})")


def _real_metric(metric: Any) -> float:
    try:
        m = float(metric)
    except (TypeError, ValueError):
        raise TypeError(f"metric must be a real number, got {type(metric).__name__}") from None
    if not math.isfinite(m):
        raise NonFiniteError(f"metric is {m!r}; the plateau state was left unchanged")
    return m


from lrcore import schedules_compat as compat  # noqa: E402  (needs the names above)
