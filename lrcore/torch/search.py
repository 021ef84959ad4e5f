"""The LR range test on a torch model, through lrcore's range test (:func:`lrcore.range_test`).

:func:`range_test` wraps model, optimizer, loss and loader in an object with
``step(lr) -> loss``, ``snapshot()`` and ``restore(state)`` -- the public user-object path
of :func:`lrcore.range_test` -- so the rates, the divergence test, the smoothing, the
suggestions and the plot are lrcore's.  The snapshot holds everything the test can change,
and the restore puts it back exactly (bit for bit), also when the test stops early, when
``loss_fn`` or the model raises, and on ``KeyboardInterrupt``:

* parameters and buffers (values copied back into the same tensors) and ``.grad``;
* the optimizer's per-parameter state and every ``param_groups`` entry (``lr``,
  ``initial_lr`` set by a scheduler, momenta, ...), restored into the same group dicts;
* every submodule's train/eval flag;
* the torch (CPU and initialised CUDA devices), numpy and python ``random`` generators,
  and the loader's (or its sampler's) own generator.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from lrcore.rates import SafeRate
from lrcore.search import RangeTest
from lrcore.search import range_test as _lrcore_range_test
from lrcore.torch.rates import GroupSafeRates
from lrcore.torch._util import (
    as_batches,
    loader_generators,
    module_modes,
    restore_modes,
    rng_state,
    set_rng_state,
    split_batch,
    to_device,
    to_float,
)

__all__ = ["range_test", "ModelTrainer"]

_MISSING = object()


def _clone(v: Any) -> Any:
    return v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)


class ModelTrainer:
    """``step(lr) -> loss`` / ``snapshot()`` / ``restore(state)`` for a model and optimizer
    (what :func:`range_test` hands to :func:`lrcore.range_test`).

    ``step(lr)`` sets every group's rate to ``lr * ratio_g`` (ratios of the groups' base
    rates: ``initial_lr`` when a scheduler set it, else ``lr``), takes the next batch
    (cycling the loader), runs forward, backward and ``optimizer.step()`` in train mode
    (``train=True``) and returns the batch loss computed in that forward pass (before the
    update; the convention of fastai's ``lr_find`` and torch-lr-finder).
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loss_fn: Callable[..., Any], loader: Any, *, train: bool = True) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.loader, _ = as_batches(loader, "loader")
        self.train = bool(train)
        self._it: Any = None
        self._device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.ratios = base_ratios(optimizer)[0]
        self.steps = 0

    def _next(self) -> Any:
        if self._it is None:
            self._it = iter(self.loader)
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            try:
                return next(self._it)
            except StopIteration:
                raise ValueError("loader yields no batches") from None

    def step(self, lr: float) -> float:
        for g, r in zip(self.optimizer.param_groups, self.ratios):
            v = lr * r
            if isinstance(g["lr"], torch.Tensor):
                g["lr"].fill_(v)
            else:
                g["lr"] = v
        args, y, _ = split_batch(self._next(), "loader")
        args = to_device(args, self._device)
        y = to_device(y, self._device)
        self.model.train(self.train)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(*args), y)
        loss.backward()
        self.optimizer.step()
        self.steps += 1
        return float(loss.detach())

    def snapshot(self) -> dict[str, Any]:
        model, opt = self.model, self.optimizer
        return {
            "tensors": [(t, t.detach().clone()) for t in _model_tensors(model)],
            "grads": [(p, None if p.grad is None else p.grad.detach().clone())
                      for p in model.parameters()],
            "opt_state": {p: {k: _clone(v) for k, v in st.items()}
                          for p, st in opt.state.items()},
            "groups": [{k: _clone(v) for k, v in g.items() if k != "params"}
                       for g in opt.param_groups],
            "opt_called": opt.__dict__.get("_opt_called", _MISSING),
            "modes": module_modes(model),
            "rng": rng_state(loader_generators(self.loader)),
        }

    def restore(self, state: dict[str, Any]) -> None:
        opt = self.optimizer
        with torch.no_grad():
            for t, v in state["tensors"]:
                t.copy_(v)
        for p, g in state["grads"]:
            p.grad = None if g is None else g.clone()
        opt.state.clear()
        for p, st in state["opt_state"].items():
            opt.state[p] = {k: _clone(v) for k, v in st.items()}
        for g, saved in zip(opt.param_groups, state["groups"]):
            for k in [k for k in g if k != "params" and k not in saved]:
                del g[k]
            for k, v in saved.items():
                if isinstance(v, torch.Tensor) and isinstance(g.get(k), torch.Tensor) \
                        and g[k].shape == v.shape:
                    g[k].copy_(v)
                else:
                    g[k] = _clone(v)
        if state["opt_called"] is _MISSING:
            opt.__dict__.pop("_opt_called", None)
        else:
            opt.__dict__["_opt_called"] = state["opt_called"]
        restore_modes(state["modes"])
        set_rng_state(state["rng"])
        self._it = None


def base_ratios(optimizer: torch.optim.Optimizer) -> tuple[list[float], int]:
    """``(ratios, ref)``: each group's base rate (``initial_lr`` when every group has one,
    as after a scheduler, else ``lr``) over the reference group's, the first with a
    positive base (``ref``; group 0 and all ratios 1 when none has one)."""
    groups = optimizer.param_groups
    if all("initial_lr" in g for g in groups):
        bases = [to_float(g["initial_lr"]) for g in groups]
    else:
        bases = [to_float(g["lr"]) for g in groups]
    ref = next((i for i, b in enumerate(bases) if b > 0), None)
    if ref is None:
        return [1.0] * len(bases), 0
    return [b / bases[ref] for b in bases], ref


def _model_tensors(model: torch.nn.Module) -> list[torch.Tensor]:
    out, seen = [], set()
    for t in list(model.parameters()) + [b for b in model.buffers() if b is not None]:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def range_test(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               loss_fn: Callable[..., Any],
               loader: Any, *, start: float = 1e-7, end: float = 10.0, num: int = 100,
               mode: str = "exp", smooth: float = 0.05, diverge: float = 5.0,
               train: bool = True, safe_rate: SafeRate | None = None) -> RangeTest:
    r"""The LR range test (Smith 2017) on a model: one optimizer step per rate.

    Takes ``num`` steps at rates from ``start`` to ``end`` (geometric or linear), one batch
    each (cycling ``loader``), records the batch losses and stops when the smoothed loss
    diverges (lrcore's test: :func:`lrcore.range_test`), then restores model, optimizer,
    modes and random number generators exactly (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
    optimizer : torch.optim.Optimizer
        Any optimizer; several groups keep the ratios of their base rates (``initial_lr``
        when a scheduler set it, else ``lr``): group :math:`g` runs at ``lr * ratio_g``.
    loss_fn : callable
        ``loss_fn(model(*inputs), targets) -> scalar tensor``.
    loader : iterable of (inputs, targets), or one (inputs, targets) batch
    start, end, num, mode, smooth, diverge
        As in :func:`lrcore.range_test`.
    train : bool
        Run the steps in train mode (default) or eval mode.
    safe_rate : SafeRate or GroupSafeRates, optional
        A curvature measurement (e.g. :func:`lrcore.torch.safe_lr`'s; for groups with
        different rates the reference group's, whose rate the test sweeps) to mark on the
        result:
        fills ``safe_lr`` (its ``recommended``, the ``"curvature"`` suggestion) and
        ``max_stable_lr`` (drawn by :meth:`RangeTest.plot`).

    Returns
    -------
    RangeTest
        lrcore's result: ``lrs``, ``losses``, ``smoothed``, ``stopped_at``,
        ``suggestion(...)``, ``suggestions``, ``plot()``.

    Examples
    --------
    >>> import torch
    >>> from lrcore.torch import range_test
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(4, 1)
    >>> x, y = torch.randn(256, 4), torch.randn(256, 1)
    >>> batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> before = [p.detach().clone() for p in model.parameters()]
    >>> rt = range_test(model, opt, torch.nn.functional.mse_loss, batches, start=1e-4, end=10)
    >>> rt.stopped_at is not None, all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    (True, True)
    >>> opt.param_groups[0]["lr"]
    0.1
    """
    mark = None
    if safe_rate is not None:                 # checked before any step is taken
        if isinstance(safe_rate, GroupSafeRates):
            # the test's rate is the reference group's (the others keep their ratios)
            mark = safe_rate.groups[base_ratios(optimizer)[1]]
        elif isinstance(safe_rate, SafeRate):
            mark = safe_rate
        else:
            raise TypeError(f"safe_rate must be an lrcore SafeRate (or lrcore.torch."
                            f"GroupSafeRates), got {type(safe_rate).__name__}")
    trainer = ModelTrainer(model, optimizer, loss_fn, loader, train=train)
    rt = _lrcore_range_test(trainer, start=start, end=end, num=num, mode=mode, smooth=smooth,
                            diverge=diverge)
    if mark is not None:
        rt = dataclasses.replace(rt, recommended_lr=float(mark.recommended),
                                 max_stable_lr=float(mark.max_stable))
    return rt
