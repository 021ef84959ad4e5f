"""The :class:`Schedule` type, its registry, the program builder and :func:`from_dict`.

Every closed-form schedule is a registered *kind*: a validated factory, a compiler that
turns its parameters into nodes of the flat C program (``csrc/schedule.c``), and a
one-line description.  Factories live in :mod:`lrcore.schedules._closed_form` and
:mod:`lrcore.schedules._compose`; stateful rules (:class:`ReduceOnPlateau`) register their
class with :func:`register_stateful` so :func:`from_dict` rebuilds them too.  Names here are
shared by the submodules of :mod:`lrcore.schedules` (this module is private to it).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

from lrcore import _core
from lrcore._core import ScheduleBase
from lrcore._validation import (
    choice,
    finite,
    flag,
    integer,
    sequence,
    unit_interval,
)

__all__ = [
    "C_TABLE", "MAX_STEPS", "MAX_DEPTH", "PLOT_POINTS", "plot_steps", "Real", "ScheduleLike", "Kind", "REGISTRY",
    "STATEFUL", "register", "register_stateful", "Builder", "Schedule", "from_dict", "make",
    "is_int", "is_real", "steps_int", "length", "nonneg_rate", "unit_rate", "opt_rate", "increasing",
    "rates", "as_schedule", "fmt", "choice", "finite", "flag", "sequence",
]

C_TABLE: dict[str, Any] = _core.SCHED_C
#: The largest length or boundary a schedule accepts (2**52 steps): up to it every step
#: count converts to float64 exactly, so no schedule ever counts steps in floating point.
MAX_STEPS: int = int(C_TABLE["MAX_LEN"])
#: Deepest nesting of composite schedules the C evaluator takes (and :func:`from_dict` reads).
MAX_DEPTH: int = int(C_TABLE["MAX_DEPTH"])

Real = int | float
ScheduleLike = Union["Schedule", Real]


# ----------------------------------------------------------------------------------------
# argument validation specific to schedules (the general checks are lrcore._validation)
# ----------------------------------------------------------------------------------------

def is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def is_real(x: Any) -> bool:
    import numbers

    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


#: the most points Schedule.plot evaluates (a plot of 1e12 steps samples them)
PLOT_POINTS = 100_000


def plot_steps(n: int) -> NDArray[np.int64]:
    """The steps a plot of the first ``n`` rates evaluates: all of them, or
    :data:`PLOT_POINTS` evenly spaced ones (0 and n - 1 included) when n is larger."""
    if n <= PLOT_POINTS:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, PLOT_POINTS).round().astype(np.int64))


def steps_int(x: Any, name: str, lo: int, hi: int = MAX_STEPS) -> int:
    """A whole number of steps in ``[lo, hi]``."""
    return integer(x, name, lo, hi, what="an integer number of steps")


def length(x: Any, name: str) -> int:
    """A positive number of steps."""
    if is_int(x) and int(x) < 1:
        raise ValueError(f"{name} must be a positive number of steps, got {int(x)}")
    return steps_int(x, name, 1)


def nonneg_rate(x: Any, name: str) -> float:
    """A finite rate >= 0 (``-0.0`` becomes ``0.0``)."""
    v = finite(x, name)
    if v < 0.0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return v + 0.0


def unit_rate(x: Any, name: str) -> float:
    """A rate in [0, 1]."""
    nonneg_rate(x, name)
    return unit_interval(x, name, hi_open=False)


def opt_rate(x: Any, name: str) -> float | None:
    return None if x is None else nonneg_rate(x, name)


def increasing(x: Any, name: str, lo: int) -> tuple[int, ...]:
    """A strictly increasing sequence of step counts >= ``lo``."""
    vals = sequence(x, name)
    out: list[int] = []
    for i, v in enumerate(vals):
        out.append(steps_int(v, f"{name}[{i}]", lo))
        if i and out[i] <= out[i - 1]:
            raise ValueError(f"{name} must be strictly increasing; {name}[{i}] = {out[i]} "
                             f"follows {out[i - 1]}")
    return tuple(out)


def rates(x: Any, name: str) -> tuple[float, ...]:
    return tuple(nonneg_rate(v, f"{name}[{i}]") for i, v in enumerate(sequence(x, name)))


def as_schedule(x: Any, name: str) -> "Schedule":
    """A Schedule, or a number as a constant schedule."""
    if isinstance(x, Schedule):
        return x
    if is_real(x):
        return REGISTRY["constant"].factory(x)
    raise TypeError(f"{name} must be a Schedule or a number, got {type(x).__name__}")


def fmt(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# ----------------------------------------------------------------------------------------
# the Schedule class, the registry and the program builder
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    factory: Callable[..., Schedule]
    compile: Callable[[Builder, Mapping[str, Any]], int]
    describe: Callable[[Mapping[str, Any]], str]
    signature: inspect.Signature


REGISTRY: dict[str, Kind] = {}
#: Stateful rules that :func:`from_dict` rebuilds, by name (e.g. ``"reduce_on_plateau"``).
STATEFUL: dict[str, type[Any]] = {}


_Factory = TypeVar("_Factory", bound=Callable[..., "Schedule"])


def register(name: str, compile: Callable[[Builder, Mapping[str, Any]], int],
             describe: Callable[[Mapping[str, Any]], str]) -> Callable[[_Factory], _Factory]:
    def deco(factory: _Factory) -> _Factory:
        REGISTRY[name] = Kind(factory, compile, describe, inspect.signature(factory))
        return factory
    return deco


def register_stateful(name: str) -> Callable[[type], type]:
    """Class decorator: make a stateful rule known to :func:`from_dict` under ``name``."""
    def deco(cls: type) -> type:
        STATEFUL[name] = cls
        return cls
    return deco


class Builder:
    """Accumulates the flat program: nodes (children first), shared int and real arrays."""

    def __init__(self) -> None:
        self.nodes: list[tuple[Any, ...]] = []
        self.ints: list[int] = []
        self.reals: list[float] = []
        self.depths: list[int] = []     # nesting depth of each node, as the C checker counts

    def node(self, kind: str, *, mode: int = 0, kids: Sequence[int] = (),
             n: Sequence[int] = (), p: Sequence[float] = (),
             int_kids: Sequence[int] = ()) -> int:
        """Append a node; ``kids`` are its child nodes, ``int_kids`` children referenced
        through the int array (``join``).  Returns its index."""
        k = tuple(kids) + (-1,) * (2 - len(kids))
        self.nodes.append((C_TABLE[kind], int(mode), k, tuple(n) + (0,) * (4 - len(n)),
                           tuple(float(v) for v in p) + (0.0,) * (6 - len(p))))
        children = list(kids) + list(int_kids)
        self.depths.append(1 + max(self.depths[c] for c in children) if children else 0)
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
        return REGISTRY[s.name].compile(self, s.params)


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


class Schedule(ScheduleBase):
    """An immutable learning-rate schedule (build one with the constructors of
    :mod:`lrcore.schedules`, e.g. :func:`cosine`; do not instantiate directly).

    ``s(t)`` gives the rate after ``t`` optimizer steps (``int`` -> ``float``; integer array
    -> float64 array, bit-identical to the scalar calls).  The parameters are read-only
    attributes (``s.lr``, ``s.steps``, ...) and :attr:`params`; :attr:`name` is the
    constructor's name.  Two schedules are equal when name and parameters are.
    """

    __slots__ = ("_name", "_params", "_hash")
    _name: str
    _params: Mapping[str, Any]
    _hash: int | None
    # numpy must not broadcast over a schedule: ``2.0 * s`` and ``np.float64(2) * s`` both
    # land in __rmul__
    __array_ufunc__ = None

    def __init__(self, name: str, params: Mapping[str, Any]) -> None:
        if name not in REGISTRY:
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
        sig = REGISTRY[self._name].signature
        parts = []
        for pname, par in sig.parameters.items():
            v = self._params[pname]
            if par.default is inspect.Parameter.empty:
                parts.append(_repr_value(v))
            elif not (v == par.default and type(v) is type(par.default)):
                parts.append(f"{pname}={_repr_value(v)}")
        return f"{self._name}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Callable[[Mapping[str, Any]], Any], tuple[dict[str, Any]]]:
        return (from_dict, (self.to_dict(),))

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict ``{"name": ..., <parameters>...}``; child schedules are nested
        dicts.  :func:`from_dict` rebuilds an equal schedule.

        Examples
        --------
        >>> from lrcore import schedules as S
        >>> S.join([S.linear(0.0, 0.1, 10), S.cosine(0.1, 90)], [10]).to_dict()["schedules"][1]
        {'name': 'cosine', 'lr': 0.1, 'steps': 90, 'floor': 0.0, 'exponent': 1.0, 'periodic': False}
        """
        d: dict[str, Any] = {"name": self._name}
        for k, v in self._params.items():
            d[k] = _to_json(v)
        return d

    # -- conveniences ----------------------------------------------------------------------
    def values(self, n: int) -> NDArray[np.float64]:
        """The first ``n`` rates, ``s(numpy.arange(n))`` (float64)."""
        n = steps_int(n, "n", 0, 2**62)
        out: NDArray[np.float64] = self(np.arange(n, dtype=np.int64))
        return out

    def describe(self) -> str:
        """A one-line human summary, e.g. ``"cosine decay 0.1 -> 0 over 1000 steps, then
        holds 0"``."""
        return REGISTRY[self._name].describe(self._params)

    def plot(self, n: int, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the first ``n`` rates on a matplotlib ``ax`` (a new figure if None) and
        return the axes (at most :data:`PLOT_POINTS` steps, evenly spaced, when ``n`` is
        larger).  Needs matplotlib: ``pip install 'lrcore[plot]'``."""
        n = steps_int(n, "n", 1)
        from lrcore._plotting import axes

        ax = axes(ax, what="Schedule.plot")
        kwargs.setdefault("label", self._name)
        t = plot_steps(n)
        ax.plot(t, self(t), **kwargs)
        ax.set_xlabel("step t (optimizer steps taken)")
        ax.set_ylabel("learning rate")
        ax.set_title(self.describe(), fontsize="small")
        return ax

    # -- arithmetic ------------------------------------------------------------------------
    def __mul__(self, other: Any) -> "Schedule":
        if isinstance(other, Schedule):
            return REGISTRY["product"].factory(self, other)
        if is_real(other):
            return REGISTRY["scale"].factory(self, other)
        return NotImplemented

    def __rmul__(self, other: Any) -> "Schedule":
        if is_real(other):
            return REGISTRY["scale"].factory(self, other)
        return NotImplemented

    # -- compilation (called once, lazily, by the C side) ----------------------------------
    def _program(self) -> tuple[list[tuple[Any, ...]], list[int], list[float]]:
        b = Builder()
        b.build(self)
        return b.nodes, b.ints, b.reals


def from_dict(d: Mapping[str, Any]) -> Any:
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


def _from_dict(d: Any, path: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"{path}: schedules nest at most {MAX_DEPTH} levels deep in from_dict")
    if not isinstance(d, Mapping):
        raise TypeError(f"{path} must be a dict from Schedule.to_dict(), got {type(d).__name__}")
    if "name" not in d:
        raise ValueError(f"{path} has no key 'name'")
    name = d["name"]
    factory: Callable[..., Any]
    if isinstance(name, str) and name in STATEFUL:
        factory = STATEFUL[name]
        sig = inspect.signature(STATEFUL[name].__init__)
    elif isinstance(name, str) and name in REGISTRY:
        factory = REGISTRY[name].factory
        sig = REGISTRY[name].signature
    else:
        known = ", ".join(sorted(list(REGISTRY) + list(STATEFUL)))
        raise ValueError(f"{path}['name'] = {name!r} is not a known schedule (known: {known})")
    kwargs = {}
    for k, v in d.items():
        if k == "name":
            continue
        if k not in sig.parameters or k == "self":
            raise ValueError(f"{path}[{k!r}]: unknown key for schedule {name!r}")
        kwargs[k] = _decode(v, f"{path}[{k!r}]", depth)
    return factory(**kwargs)


def _decode(v: Any, path: str, depth: int) -> Any:
    if isinstance(v, Mapping):
        return _from_dict(v, path, depth + 1)
    if isinstance(v, list):
        return [_decode(x, f"{path}[{i}]", depth) for i, x in enumerate(v)]
    return v


def make(name: str, **params: Any) -> Schedule:
    """The schedule ``name`` with validated ``params``; refuses a composition nested deeper
    than the C evaluator's limit (:data:`MAX_DEPTH` levels) here, not at the first call."""
    s = Schedule(name, params)
    b = Builder()
    b.build(s)
    depth = max(b.depths)
    if depth > MAX_DEPTH:
        raise ValueError(f"this {name} schedule nests {depth} composites deep; the C "
                         f"evaluator allows at most {MAX_DEPTH} (fold repeated scalings or "
                         "products into one factor, or join flat pieces instead of nesting)")
    return s
