"""Fused in-place optimizer update steps and small stateful optimizers.

The ``*_step`` functions are C kernels (``csrc/update.c``): each reads the parameters,
the gradient and the optimizer state once and writes them once, with the GIL released and
OpenMP above :func:`lrcore.openmp_threshold` elements.  Their arithmetic follows
``torch.optim`` operation by operation.  Arrays are float32 or float64, C-contiguous (any
shape, treated as flat), writeable where updated, of one dtype and shape within a call, and
must not share memory.  A gradient holding NaN or Inf is found *before* anything is
written: ``nonfinite="raise"`` (default) raises :class:`lrcore.NonFiniteError`,
``nonfinite="skip"`` returns False; either way nothing is modified.  ``nonfinite="unchecked"``
skips the scan for callers that guarantee finite gradients (faster on large arrays).

An "array" is a numpy array, a CPU ``torch.Tensor``, an object with ``__dlpack__`` on the
CPU, or a buffer (``memoryview``, ``array.array('d')``), taken without a copy; the kernels
write tensors' memory directly and bump their autograd version counters, as an in-place
torch operation would (see :func:`sgd_step`, Notes, for every convention).

The classes :class:`SGD`, :class:`Adam`, :class:`AdamW`, :class:`RMSprop` and
:class:`Adagrad` own the buffers and the step count, and take the learning rate as a float
or as any callable ``t -> lr`` (``t`` = optimizer steps already taken, 0-based), such as an
:mod:`lrcore.schedules` schedule.  Their parameters may be torch tensors (``SGD(
model.parameters(), lr=0.1)``) and their gradients too (``opt.step([p.grad for p in
model.parameters()])``); the optimizer state (``opt.state``) is numpy arrays of the
parameters' dtype. :class:`SGD` also takes a step-size rule of
:mod:`lrcore.adaptive` that needs only what a step sees (``polyak``, whose loss is passed
as ``step(grads, loss=f)``; ``barzilai_borwein(fallback="last")``, ``adgd``, ``dog``,
``dadapt_sgd``, ``schedule_free``), and :class:`Adam` takes ``prodigy``: the rule's C
state machine (``csrc/descend.c``, the same code as :func:`lrcore.stability.descend`)
then sets the rate, and the update, at every step.

With torch (the gradients from autograd; the step replaces ``torch.optim.Adam``'s, to
rounding, see ``tests/test_optim_tensors.py``)::

    opt = lrcore.optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in loader:
        model.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step([p.grad for p in model.parameters()])

Examples
--------
Any writable float buffer is updated in place, here an ``array.array``:

>>> import array
>>> from lrcore.optim import SGD
>>> w = array.array("d", [1.0, -2.0])
>>> opt = SGD(w, lr=0.25)
>>> opt.step(array.array("d", [2.0, -4.0]))     # the gradient of ||w||^2
True
>>> w
array('d', [0.5, -1.0])
>>> opt.params is w
True
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, cast

import numpy as np
from numpy.typing import NDArray

from lrcore._validation import choice, integer, nonneg, real, unit_interval, updatable_array
from lrcore._core import (
    NonFiniteError,
    RuleBase,
    RuleStepper,
    adagrad_step,
    adam_step,
    all_finite,
    float_view,
    mark_written,
    momentum_step,
    overlapping_pair,
    rmsprop_step,
    sgd_step,
)

__all__ = [
    "sgd_step",
    "momentum_step",
    "adam_step",
    "rmsprop_step",
    "adagrad_step",
    "all_finite",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
]

if TYPE_CHECKING:
    from typing_extensions import Buffer



def _rule_config(rule: RuleBase) -> dict[str, Any]:
    """The rule's ``to_dict()``: every rule is an :class:`lrcore.adaptive.Rule` (the
    factories' type; this module sits below ``lrcore.adaptive`` and sees its C base)."""
    config: dict[str, Any] = getattr(rule, "to_dict")()
    return config

class _DLPackArray(Protocol):
    """What ``numpy.from_dlpack`` takes: torch tensors, and other libraries' arrays."""

    def __dlpack__(self, *, stream: Any = None) -> Any: ...
    def __dlpack_device__(self) -> tuple[int, int]: ...


LearningRate: TypeAlias = float | Callable[[int], float] | RuleBase
#: one float32/float64 array: numpy, a CPU torch tensor or other DLPack object, a buffer
Array: TypeAlias = "NDArray[Any] | _DLPackArray | Buffer"
#: one array, or a sequence (any iterable: ``model.parameters()``) of them
Arrays: TypeAlias = "Array | Iterable[Array]"
_State: TypeAlias = dict[str, NDArray[Any]]
# The kernels take nonfinite="unchecked" too, but lrcore/_core.pyi's _Policy lists only
# "raise" and "skip": the calls below carry `type: ignore[arg-type]` until the stub does.
_Nonfinite: TypeAlias = Literal["raise", "skip", "unchecked"]


#: the rules SGD takes as lr= (Adam takes prodigy)
_SGD_RULES = ("polyak", "barzilai_borwein", "adgd", "dog", "dadapt_sgd", "schedule_free")


def _adaptive_eps(value: Any) -> float:
    f = nonneg(value, "eps")
    if f == 0.0:
        raise ValueError("eps must be > 0 (eps = 0 gives 0/0 = NaN wherever the gradient "
                         "history is zero)")
    return f


class Optimizer:
    """Base class: parameters, per-array state buffers, the step count and the rate.

    Parameters
    ----------
    params : array or sequence of arrays
        The parameters, updated in place by :meth:`step`: numpy arrays, CPU torch tensors
        (``model.parameters()``; leaves that require grad are fine, see
        :func:`sgd_step`), CPU DLPack objects or writable buffers, taken without copies.
        They must not share memory.  Each step looks at them again: a tensor whose
        ``.data`` was replaced (same dtype and shape) is followed, one whose dtype or
        shape changed is refused.
    lr : float or callable
        A fixed learning rate, or ``t -> lr`` evaluated at ``t`` = :attr:`t` (the number of
        steps taken so far) before every step.
    nonfinite : {"raise", "skip", "unchecked"}
        Policy for gradients holding NaN or Inf (checked before anything is written, across
        all arrays): raise :class:`lrcore.NonFiniteError`, or skip the step (the step count
        does not advance; :attr:`n_skipped` counts them); "unchecked" trusts the caller.
    """

    _buffers: tuple[str, ...] = ()
    #: the rate: a float, a callable ``t -> lr``, or a step-size rule (SGD, Adam)
    lr: LearningRate

    def __init__(self, params: Arrays, lr: LearningRate, *, nonfinite: str = "raise") -> None:
        single = self._is_one_array(params)
        plist: list[Any] = [params] if single else list(cast("Iterable[Any]", params))
        if not plist:
            raise ValueError("params is empty")
        names = ["params"] if single else [f"params[{i}]" for i in range(len(plist))]
        #: what the caller passed (tensors stay tensors); _params holds numpy views of them
        self._objs: list[Any] = plist
        self._params = [updatable_array(p, nm) for p, nm in zip(plist, names)]
        self._check_params_disjoint(self._params, names)
        self._single = single
        self.nonfinite = cast(_Nonfinite,
                              choice(nonfinite, "nonfinite", ("raise", "skip", "unchecked")))
        if not callable(lr):
            lr = nonneg(lr, "lr")
        self.lr = lr
        #: number of steps applied so far (skipped steps are not counted)
        self.t = 0
        #: number of steps skipped because of a non-finite gradient
        self.n_skipped = 0
        self.state: list[_State] = [self._init_state(p) for p in self._params]

    # -- helpers ------------------------------------------------------------------------
    def _init_state(self, p: NDArray[Any]) -> _State:
        return {name: np.zeros_like(p) for name in self._buffers}

    @staticmethod
    def _is_one_array(obj: Any) -> bool:
        """One array (an ndarray, a tensor or DLPack object, a buffer), not a sequence of
        them (a tensor or an array.array is iterable too)."""
        if isinstance(obj, np.ndarray) or hasattr(obj, "__dlpack__"):
            return True
        if isinstance(obj, (list, tuple, dict)):
            return False
        try:
            memoryview(obj).release()
        except TypeError:
            return False
        return True

    @staticmethod
    def _check_params_disjoint(views: list[NDArray[Any]], names: list[str]) -> None:
        clash = overlapping_pair(views)
        if clash is not None:
            i, j = clash
            raise ValueError(f"{names[i]} and {names[j]} share memory")

    def _refresh_params(self) -> None:
        """Views of the parameters that are not ndarrays, taken again before each step: a
        tensor whose ``.data`` was replaced since (``p.data = ...``, ``model.to(...)`` of
        the same dtype) is followed; a changed dtype or shape no longer fits the state
        buffers and is refused, and so are parameters that now share memory.  Nothing is
        modified before this passes."""
        if all(o is p for o, p in zip(self._objs, self._params)):
            return                                  # ndarrays only: they cannot move
        names = ["params"] if self._single else [f"params[{i}]" for i in range(len(self._objs))]
        views = []
        for name, obj, old in zip(names, self._objs, self._params):
            v = updatable_array(obj, name)
            if v.dtype != old.dtype or v.shape != old.shape:
                raise ValueError(
                    f"{name} now has dtype {v.dtype} and shape {v.shape}, but the optimizer "
                    f"was made for dtype {old.dtype} and shape {old.shape} (was the model "
                    f"converted after the optimizer was made?); make a new optimizer")
            views.append(v)
        self._check_params_disjoint(views, names)
        self._params[:] = views

    def _grads(self, grads: Arrays) -> list[NDArray[Any]]:
        self._refresh_params()
        if self._single:
            return self._check_grads([grads])
        if self._is_one_array(grads):
            raise TypeError("grads must be a sequence of arrays, one per parameter array")
        glist = list(cast("Iterable[Any]", grads))
        if len(glist) != len(self._params):
            raise ValueError(f"expected {len(self._params)} gradient arrays, got {len(glist)}")
        return self._check_grads(glist)

    def _check_grads(self, glist: list[Any]) -> list[NDArray[Any]]:
        """Everything the kernels would refuse, for every array, before the first write
        (all or nothing): type, dtype, shape, layout, and memory shared with any parameter
        or optimizer buffer of the step, across arrays.  Returns the gradients as ndarrays
        (views, never copies, of tensors, DLPack objects or buffers)."""
        names = ["grads"] if self._single else [f"grads[{i}]" for i in range(len(glist))]
        pnames = ["params"] if self._single else [f"params[{i}]" for i in range(len(glist))]
        for k, g in enumerate(glist):
            if g is None:
                raise TypeError(
                    f"{names[k]} is None (the parameter got no gradient); lrcore's optimizers "
                    f"keep one step count for all their parameters and cannot skip one as "
                    f"torch.optim does: leave that parameter out of the optimizer, or pass "
                    f"zeros (which still decay its momentum/moment buffers)")
        glist = [float_view(g, nm) for nm, g in zip(names, glist)]
        for name, p, g in zip(names, self._params, glist):
            if g.dtype != p.dtype or g.shape != p.shape:
                raise ValueError(f"{name} has dtype {g.dtype} and shape {g.shape}; "
                                 f"{pnames[names.index(name)]} has dtype {p.dtype} and "
                                 f"shape {p.shape}")
            if not g.flags.c_contiguous:
                raise ValueError(f"{name} must be C-contiguous; pass "
                                 f"numpy.ascontiguousarray({name})")
            if not g.flags.aligned or not g.dtype.isnative:
                raise ValueError(f"{name} must be aligned and in native byte order")
        written = [(pn, p) for pn, p in zip(pnames, self._params)]
        for i, st in enumerate(self.state):
            written += [(f"state[{i}][{k!r}]", b) for k, b in st.items()]
        # sorted byte extents, swept in C: O(k log k) for k arrays
        clash = overlapping_pair(glist, [w for _, w in written])
        if clash is not None:
            name, wname = names[clash[0]], written[clash[1]][0]
            raise ValueError(f"{name} and {wname} share memory; the step writes "
                             f"{wname}, so pass a copy of {name}")
        return glist

    @property
    def params(self) -> Arrays:
        """The parameters as passed (a tensor stays a tensor), updated in place: one
        array, or a list of them."""
        return self._objs[0] if self._single else list(self._objs)

    def current_lr(self) -> float:
        """The learning rate the next step will use (with a step-size rule: the rate of the
        last step, NaN before the first; the rule sets the next one from the gradient)."""
        if self._rule is not None:
            return math.nan if self._stepper is None else float(self._stepper.lr)
        if callable(self.lr):
            return nonneg(self.lr(self.t), f"lr({self.t})")
        return float(cast(float, self.lr))

    def step(self, grads: Arrays, loss: float | None = None) -> bool:
        """Apply one update with gradient(s) ``grads`` (same structure as the params).

        ``loss`` is the loss at the current parameters, needed by a step-size rule that
        reads it (Polyak's) and ignored otherwise.  Returns True if applied, False if
        skipped because of a non-finite gradient (``nonfinite="skip"``).  On a raise
        nothing was modified.
        """
        glist = self._grads(grads)
        if self._rule is not None:
            return self._rule_step(glist, loss)
        lr = self.current_lr()
        policy = self.nonfinite
        if len(glist) > 1 and policy != "unchecked":
            # all-or-nothing across arrays: look at every gradient before updating any
            for i, g in enumerate(glist):
                if not all_finite(g):
                    if policy == "skip":
                        self.n_skipped += 1
                        return False
                    raise NonFiniteError(
                        f"{type(self).__name__}.step: grads[{i}] contains NaN or Inf; "
                        "no parameter or buffer was modified")
        for p, g, st in zip(self._params, glist, self.state):
            applied = self._update(p, g, st, lr, policy)
            if not applied:
                self.n_skipped += 1
                return False
        self.t += 1
        return True

    # -- step-size rules (lrcore.adaptive) ------------------------------------------------
    _rule: RuleBase | None = None
    _stepper: RuleStepper | None = None

    def _use_rule(self, rule: RuleBase, allowed: tuple[str, ...]) -> None:
        """Run ``rule`` instead of a rate (called by the subclasses' __init__)."""
        if rule.kind not in allowed:
            raise ValueError(f"{type(self).__name__} takes the rules {', '.join(allowed)} "
                             f"as lr=, not {rule.kind}" + (
                                 "; run it with lrcore.stability.descend, which makes the "
                                 "trial evaluations or Hessian-vector products it needs"
                                 if rule.needs_machine else ""))
        if rule.needs_machine:
            raise ValueError(f"the {rule.kind} rule needs trial evaluations (pass "
                             f"fallback='last' and an lr0) or Hessian-vector products, which "
                             f"an optimizer step cannot make; use lrcore.stability.descend")
        self._rule = rule

    def _flat(self, arrays: list[NDArray[Any]]) -> NDArray[np.float64]:
        if len(arrays) == 1 and arrays[0].dtype == np.float64:
            return arrays[0].reshape(-1)              # a view: the rule works in place
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])

    def _unflat(self, x: NDArray[np.float64], out: list[NDArray[Any]]) -> None:
        if len(out) == 1 and out[0].dtype == np.float64 and np.shares_memory(x, out[0]):
            return
        i = 0
        for p in out:
            p[...] = x[i: i + p.size].reshape(p.shape)
            i += p.size

    def _rule_step(self, glist: list[NDArray[Any]], loss: Any) -> bool:
        assert self._rule is not None
        if loss is None and self._rule.kind == "polyak":
            raise ValueError("the polyak rule needs the loss: call step(grads, loss=f(x)) "
                             "with the loss at the current parameters")
        f = None if loss is None else real(loss, "loss")
        policy = self.nonfinite
        bad = (policy != "unchecked" and not all(all_finite(g) for g in glist)) or (
            self._rule.kind == "polyak" and f is not None and not math.isfinite(f))
        if bad:
            if policy == "skip":
                self.n_skipped += 1
                return False
            raise NonFiniteError(f"{type(self).__name__}.step: the gradient (or the loss) "
                                 "contains NaN or Inf; no parameter or buffer was modified")
        x = self._flat(self._params)
        g = np.ascontiguousarray(self._flat(glist), dtype=np.float64)
        if self._stepper is None:
            self._stepper = RuleStepper(self._rule, x)
        self._stepper.step(x, g, f)
        self._unflat(x, self._params)
        mark_written(*self._params)      # torch tensors: bump their version, as in-place ops do
        self.t += 1
        return True

    def eval_params(self) -> Arrays:
        """Copies of the parameters to evaluate the model at: for ``schedule_free`` the
        averaged iterate :math:`x = y + (1 - 1/\\beta)(z - y)` (what the authors'
        ``optimizer.eval()`` switches to; the parameters hold :math:`y`), otherwise the
        parameters themselves."""
        out = [p.copy() for p in self._params]
        if self._stepper is not None:
            self._unflat(self._stepper.eval_point(self._flat(self._params)), out)
        return out[0] if self._single else out

    def _update(self, p: NDArray[Any], g: NDArray[Any], st: _State, lr: float,
                policy: _Nonfinite) -> bool:
        raise NotImplementedError

    # -- persistence --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A copy of the mutable state: step count, skipped count and the buffers; with a
        step-size rule also ``"rule"`` (its ``to_dict()``) and ``"rule_state"``."""
        d = {
            "t": self.t,
            "n_skipped": self.n_skipped,
            "state": [{k: v.copy() for k, v in st.items()} for st in self.state],
        }
        if self._rule is not None:
            d["rule"] = _rule_config(self._rule)
            d["rule_state"] = None if self._stepper is None else self._stepper.get_state()
        return d

    #: Buffers that hold running sums of squares: never negative.
    _SQUARE_BUFFERS = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum")

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        Everything is checked before anything changes: the keys, each buffer's shape
        (its dtype becomes the parameter's), finite buffer values, non-negative running
        squares (``exp_avg_sq``, ``square_avg``, ``sum``...), and step counts that fit
        in a signed 64-bit integer.  With a step-size rule also the rule (the same
        ``to_dict()`` as this optimizer's) and its state (finite workspace, scalars in
        the ranges a run can reach).
        """
        if not isinstance(d, dict) or "state" not in d or "t" not in d:
            raise ValueError("d must be a dict from state_dict() with keys 't' and 'state'")
        states = d["state"]
        if len(states) != len(self._params):
            raise ValueError(f"state has {len(states)} entries, expected {len(self._params)}")
        new = []
        for i, (p, st) in enumerate(zip(self._params, states)):
            if set(st) != set(self._buffers):
                raise ValueError(f"state[{i}] has buffers {sorted(st)}, expected "
                                 f"{sorted(self._buffers)}")
            cur = {}
            for k, v in st.items():
                name = f"state[{i}][{k!r}]"
                v = np.asarray(v)
                if v.dtype.kind not in "biuf":
                    raise TypeError(f"{name} must hold real numbers, got dtype {v.dtype}")
                if v.shape != p.shape:
                    raise ValueError(f"{name} has shape {v.shape}, expected {p.shape}")
                v = np.array(v, dtype=p.dtype, order="C", copy=True)
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"{name} holds NaN or Inf")
                if k in self._SQUARE_BUFFERS and np.any(v < 0):
                    raise ValueError(f"{name} holds negative values; it is a running sum of "
                                     "squares")
                cur[k] = v
            new.append(cur)
        t = integer(d["t"], "t", 0)
        n_skipped = integer(d.get("n_skipped", 0), "n_skipped", 0)
        stepper = self._stepper
        if self._rule is None:
            if d.get("rule_state") is not None or "rule" in d:
                raise ValueError("d was saved by an optimizer with a step-size rule "
                                 f"({d.get('rule', {}).get('name', '?')}); this one has "
                                 "a constant or scheduled lr")
        else:
            if "rule_state" not in d or "rule" not in d:
                raise ValueError(f"d has no step-size rule state: it was saved by an "
                                 f"optimizer without a rule, and this one has lr="
                                 f"{self._rule!r}")
            if d["rule"] != _rule_config(self._rule):
                raise ValueError(f"d was saved with the rule {d['rule']!r}; this optimizer "
                                 f"has {_rule_config(self._rule)!r}")
            rs = d["rule_state"]
            if rs is None:
                stepper = None
            else:
                stepper = RuleStepper(self._rule, self._flat(self._params))
                stepper.set_state(rs)                 # checked before anything changes
        self._stepper = stepper
        self.state = new
        self.t = t
        self.n_skipped = n_skipped

    def __repr__(self) -> str:
        shapes = [p.shape for p in self._params]
        lr = self._rule if self._rule is not None else self.lr
        return f"{type(self).__name__}(params={shapes if len(shapes) > 1 else shapes[0]}, " \
               f"lr={lr!r}, t={self.t})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    Parameters mirror PyTorch's: ``lr``, ``momentum``, ``dampening``, ``weight_decay``,
    ``nesterov``, ``maximize``; see :func:`lrcore.optim.momentum_step` for the formula.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import SGD
    >>> x = np.array([1.0, 1.0])
    >>> opt = SGD(x, lr=0.1, momentum=0.9)
    >>> for _ in range(3):
    ...     _ = opt.step(2 * x)          # gradient of ||x||^2
    >>> np.round(x, 4)
    array([0.062, 0.062])

    With a step-size rule (here Polyak's, which reads the loss):

    >>> from lrcore import adaptive
    >>> x = np.array([1.0, 1.0])
    >>> opt = SGD(x, lr=adaptive.polyak(f_star=0.0))
    >>> _ = opt.step(2 * x, loss=float(x @ x))      # (2 - 0) / 8 = 0.25: x -> x / 2
    >>> x, opt.current_lr()
    (array([0.5, 0.5]), 0.25)
    """

    def __init__(self, params: Arrays, lr: LearningRate = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, nonfinite: str = "raise") -> None:
        rule = lr if isinstance(lr, RuleBase) else None
        if rule is not None:
            if momentum or dampening or weight_decay or nesterov or maximize:
                raise ValueError("with a step-size rule as lr, SGD takes no momentum, "
                                 "dampening, weight_decay, nesterov or maximize (the rule "
                                 "defines the whole update; weight decay and momentum are "
                                 "parameters of the rules that have them)")
            lr = 0.0
        self.momentum = nonneg(momentum, "momentum")
        self.dampening = nonneg(dampening, "dampening")
        self.weight_decay = nonneg(weight_decay, "weight_decay")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening == 0")
        self.nesterov = bool(nesterov)
        self.maximize = bool(maximize)
        self._buffers = ("momentum_buffer",) if self.momentum != 0 else ()
        super().__init__(params, lr, nonfinite=nonfinite)
        if rule is not None:
            self._use_rule(rule, _SGD_RULES)
            self.lr = rule

    def _update(self, p: NDArray[Any], g: NDArray[Any], st: _State, lr: float,
                policy: _Nonfinite) -> bool:
        if self.momentum == 0:
            return sgd_step(p, g, lr, weight_decay=self.weight_decay, maximize=self.maximize,
                            nonfinite=policy)
        return momentum_step(p, g, st["momentum_buffer"], lr, self.momentum,
                             nesterov=self.nesterov, dampening=self.dampening,
                             weight_decay=self.weight_decay, first_step=self.t == 0,
                             maximize=self.maximize, nonfinite=policy)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), as ``torch.optim.Adam``; see :func:`lrcore.optim.adam_step`.

    Per step, with :math:`g` the gradient (plus :math:`\lambda x` unless decoupled):
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v +
    (1-\beta_2) g^2`, :math:`x \leftarrow x - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)`
    with the bias corrections :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v =
    v/(1-\beta_2^t)`.

    Parameters
    ----------
    params : numpy.ndarray or sequence of numpy.ndarray
        Updated in place by :meth:`step`.
    lr : float or callable
        The rate, or ``t -> lr`` (e.g. an :mod:`lrcore.schedules` schedule).
    betas : tuple of float
        :math:`(\beta_1, \beta_2)`, each in [0, 1).
    eps : float
        :math:`\epsilon > 0` in the denominator.
    weight_decay : float
        :math:`\lambda \ge 0`, added to the gradient (L2; AdamW decouples it).
    amsgrad : bool
        Use the running maximum of :math:`\hat v` (Reddi et al. 2018).
    maximize : bool
        Ascend instead of descending.
    nonfinite : {"raise", "skip", "unchecked"}
        See :class:`Optimizer`.

    Attributes
    ----------
    state : list of dict
        Per array: ``"exp_avg"`` (:math:`m`), ``"exp_avg_sq"`` (:math:`v`) and with
        AMSGrad ``"max_exp_avg_sq"``.
    t : int
        Steps applied.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import Adam
    >>> x = np.array([3.0, -2.0])
    >>> opt = Adam(x, lr=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(2 * x)
    >>> bool(np.all(np.abs(x) < 0.05))
    True
    """

    _decoupled = False

    def __init__(self, params: Arrays, lr: LearningRate = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 nonfinite: str = "raise") -> None:
        rule = lr if isinstance(lr, RuleBase) else None
        if rule is not None:
            if tuple(betas) != (0.9, 0.999) or eps != 1e-8 or weight_decay or amsgrad or \
                    maximize or self._decoupled:
                raise ValueError("with lr=prodigy(...), Adam's betas, eps and weight_decay "
                                 "are the rule's parameters (set them in prodigy(...)); "
                                 "amsgrad, maximize and AdamW are not available")
            lr = 0.0
        b1, b2 = betas
        self.betas = (unit_interval(b1, "betas[0]"), unit_interval(b2, "betas[1]"))
        self.eps = _adaptive_eps(eps)
        self.weight_decay = nonneg(weight_decay, "weight_decay")
        self.amsgrad = bool(amsgrad)
        self.maximize = bool(maximize)
        self._buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        if rule is not None:
            self._buffers = ()          # the rule keeps its own moments
        super().__init__(params, lr, nonfinite=nonfinite)
        if rule is not None:
            self._use_rule(rule, ("prodigy",))
            self.lr = rule

    def _update(self, p: NDArray[Any], g: NDArray[Any], st: _State, lr: float,
                policy: _Nonfinite) -> bool:
        return adam_step(p, g, st["exp_avg"], st["exp_avg_sq"], self.t + 1, lr,
                         beta1=self.betas[0], beta2=self.betas[1], eps=self.eps,
                         weight_decay=self.weight_decay, decoupled=self._decoupled,
                         amsgrad=self.amsgrad, vmax=st.get("max_exp_avg_sq"),
                         maximize=self.maximize, nonfinite=policy)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, as
    ``torch.optim.AdamW`` (default ``weight_decay=1e-2``)."""

    _decoupled = True

    def __init__(self, params: Arrays, lr: LearningRate = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 nonfinite: str = "raise") -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         nonfinite=nonfinite)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton 2012, lecture 6e), as ``torch.optim.RMSprop``; see
    :func:`lrcore.optim.rmsprop_step`.

    :math:`s \leftarrow \alpha s + (1-\alpha) g^2`, :math:`x \leftarrow x - \eta\,
    g/(\sqrt{s} + \epsilon)` (centered: :math:`s - \bar g^2` under the root, with
    :math:`\bar g` the moving average of :math:`g`; with momentum the step goes through a
    buffer :math:`b \leftarrow \mu b + g/(\sqrt{s}+\epsilon)`).

    Parameters
    ----------
    params : numpy.ndarray or sequence of numpy.ndarray
        Updated in place by :meth:`step`.
    lr : float or callable
        The rate, or ``t -> lr``.
    alpha : float
        Smoothing constant :math:`\alpha` in [0, 1).
    eps : float
        :math:`\epsilon > 0`.
    weight_decay : float
        L2 penalty added to the gradient, >= 0.
    momentum : float
        :math:`\mu \ge 0`.
    centered : bool
        Normalise by the estimated variance instead of the second moment.
    maximize : bool
        Ascend instead of descending.
    nonfinite : {"raise", "skip", "unchecked"}
        See :class:`Optimizer`.

    Attributes
    ----------
    state : list of dict
        Per array: ``"square_avg"``, and ``"grad_avg"`` (centered) and
        ``"momentum_buffer"`` (momentum > 0) when used.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import RMSprop
    >>> x = np.array([1.0, -1.0])
    >>> opt = RMSprop(x, lr=0.01)
    >>> _ = opt.step(2 * x)
    >>> np.round(x, 4)           # first step: g / sqrt(0.01 g^2) = 10 sign(g), times lr
    array([ 0.9, -0.9])
    """

    def __init__(self, params: Arrays, lr: LearningRate = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False,
                 nonfinite: str = "raise") -> None:
        self.alpha = unit_interval(alpha, "alpha")
        self.eps = _adaptive_eps(eps)
        self.weight_decay = nonneg(weight_decay, "weight_decay")
        self.momentum = nonneg(momentum, "momentum")
        self.centered = bool(centered)
        self.maximize = bool(maximize)
        bufs = ["square_avg"]
        if self.centered:
            bufs.append("grad_avg")
        if self.momentum > 0:
            bufs.append("momentum_buffer")
        self._buffers = tuple(bufs)
        super().__init__(params, lr, nonfinite=nonfinite)

    def _update(self, p: NDArray[Any], g: NDArray[Any], st: _State, lr: float,
                policy: _Nonfinite) -> bool:
        return rmsprop_step(p, g, st["square_avg"], lr, alpha=self.alpha, eps=self.eps,
                            weight_decay=self.weight_decay, momentum=self.momentum,
                            centered=self.centered, grad_avg=st.get("grad_avg"),
                            buf=st.get("momentum_buffer"), maximize=self.maximize,
                            nonfinite=policy)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011), as ``torch.optim.Adagrad``; see
    :func:`lrcore.optim.adagrad_step`.

    :math:`S \leftarrow S + g^2`, :math:`x \leftarrow x - \eta_t\, g/(\sqrt{S} +
    \epsilon)` with :math:`\eta_t = \eta/(1 + (t-1)\,\mathrm{lr\_decay})`.

    Parameters
    ----------
    params : numpy.ndarray or sequence of numpy.ndarray
        Updated in place by :meth:`step`.
    lr : float or callable
        The rate, or ``t -> lr``.
    lr_decay : float
        >= 0, see the formula.
    weight_decay : float
        L2 penalty added to the gradient, >= 0.
    initial_accumulator_value : float
        Starting value of :math:`S`, >= 0.
    eps : float
        :math:`\epsilon > 0`.
    maximize : bool
        Ascend instead of descending.
    nonfinite : {"raise", "skip", "unchecked"}
        See :class:`Optimizer`.

    Attributes
    ----------
    state : list of dict
        Per array: ``"sum"`` (:math:`S`).

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import Adagrad
    >>> x = np.array([1.0, -2.0])
    >>> opt = Adagrad(x, lr=0.5)
    >>> _ = opt.step(2 * x)
    >>> np.round(x, 4)           # first step: lr * sign(g)
    array([ 0.5, -1.5])
    """

    _buffers = ("sum",)

    def __init__(self, params: Arrays, lr: LearningRate = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False,
                 nonfinite: str = "raise") -> None:
        self.lr_decay = nonneg(lr_decay, "lr_decay")
        self.weight_decay = nonneg(weight_decay, "weight_decay")
        self.initial_accumulator_value = nonneg(initial_accumulator_value,
                                                        "initial_accumulator_value")
        self.eps = _adaptive_eps(eps)
        self.maximize = bool(maximize)
        super().__init__(params, lr, nonfinite=nonfinite)

    def _init_state(self, p: NDArray[Any]) -> _State:
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, p: NDArray[Any], g: NDArray[Any], st: _State, lr: float,
                policy: _Nonfinite) -> bool:
        return adagrad_step(p, g, st["sum"], self.t + 1, lr, lr_decay=self.lr_decay,
                            eps=self.eps, weight_decay=self.weight_decay,
                            maximize=self.maximize, nonfinite=policy)
