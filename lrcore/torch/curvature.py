r"""The loss Hessian of a torch model as a ``scipy.sparse.linalg.LinearOperator``.

:func:`hessian` returns a :class:`HessianOperator`: a genuine ``LinearOperator`` (float32 or
float64, like the parameters) whose mat-vec is an exact Hessian-vector product of the
data loss

.. math::

    F(\theta) = \frac{1}{N} \sum_{i=1}^{N} \ell(f_\theta(x_i), y_i),
    \qquad H v = \nabla^2 F(\theta)\, v,

at the model's *current* parameters (read at every product, so the same operator follows
training).  It plugs into everything in lrcore that takes an operator:
:func:`lrcore.top_eigenvalue` (the solver's basis stays on the host; the products run
wherever the model lives), :func:`lrcore.safe_lr`, scipy's ``eigsh``/``cg``.

How a product is computed

* **double-backprop**: ``torch.autograd.grad(..., create_graph=True)`` for the gradient,
  then a second ``torch.autograd.grad`` with the vector as ``grad_outputs``
  (reverse-over-reverse: differentiate :math:`\nabla F(\theta)^T v`).
* **forward-over-reverse**: ``torch.func.jvp`` of ``torch.func.grad`` of the loss written
  with ``torch.func.functional_call`` -- one forward and one backward pass, each carrying
  a tangent (Pearlmutter 1994; the JAX/functorch recipe for HVPs).

``hvp="auto"`` (the default) chooses by the parameters' device type, from the table
:data:`AUTO_HVP`: **double-backprop on CPU**, because it measured faster there --
forward-over-reverse took 1.3-2.1x the time of a hand-written double-backprop HVP and the
adapter's double-backprop 1.0-1.15x (torch 2.13, tanh MLPs with 2,410 and 26,122
parameters, float32 and float64; ``benchmarks/compare_torch.py``) -- and
**forward-over-reverse on every other device** (CUDA: the choice of the specification,
not measured here), falling back to double-backprop when ``torch.func`` cannot trace the
model (custom ``autograd.Function`` without ``setup_context``, in-place updates of captured
tensors such as train-mode BatchNorm statistics, ...).  Both can be asked for by name.
:attr:`HessianOperator.hvp_method` says which one is in use and
:attr:`HessianOperator.fallback_reason` why the fallback was taken.

Data: one ``(inputs, targets)`` batch, or any re-iterable of such batches (a list, a
``DataLoader``); ``inputs`` is a tensor or a tuple of tensors passed as ``model(*inputs)``.
``loss_fn(output, targets)`` must return the **mean** over the batch (PyTorch's default
``reduction="mean"``); batches are then weighted by ``b_k / N`` so a ragged last batch is
exact.  With ``reduction="sum"`` (``loss_fn`` sums over the batch) the sum is divided by
``N``: the operator is always the Hessian of the per-sample *mean* loss.

References
----------
B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation 6(1),
147-160, 1994.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from lrcore.torch._util import (
    as_batches,
    loader_generators,
    model_mode,
    np_dtype,
    numpy_of,
    preserved_rng,
    split_batch,
    to_device,
)

__all__ = ["AUTO_HVP", "HessianOperator", "ScaledHessian", "NondeterminismError", "hessian",
           "preconditioned"]

HVP_METHODS = ("auto", "forward-over-reverse", "double-backprop")
_FUNC, _DOUBLE = "forward-over-reverse", "double-backprop"

#: What ``hvp="auto"`` uses on each device type (``torch.device.type``); device types not
#: listed use forward-over-reverse with the double-backprop fallback.  CPU: double-backprop,
#: measured faster (see the module docstring and ``benchmarks/compare_torch.py``).
AUTO_HVP: dict[str, str] = {"cpu": _DOUBLE}


class NondeterminismError(ValueError):
    """Two Hessian-vector products with the same vector disagreed (see
    ``hessian(..., check_determinism=True)``); the message names the likely cause."""


def _check_model(model: Any) -> torch.nn.Module:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _check_loss_fn(loss_fn: Any) -> Callable[..., Any]:
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(output, targets) -> scalar "
                        f"tensor, got {type(loss_fn).__name__}")
    fn: Callable[..., Any] = loss_fn
    return fn


def check_options(model: Any, loss_fn: Any, data: Any, *, train: Any = False,
                  reduction: Any = "mean", hvp: Any = "auto", dtype: Any = None) -> None:
    """The checks :func:`hessian` makes on its arguments before any work (also made by
    the classes that build Hessians later, such as :class:`~lrcore.torch.SharpnessMonitor`,
    so that a mistake is reported where it is made)."""
    _check_model(model)
    _check_loss_fn(loss_fn)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be a bool, got {type(train).__name__}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if hvp not in HVP_METHODS:
        raise ValueError(f"hvp must be one of {HVP_METHODS}, got {hvp!r}")
    np_dtype(dtype, "dtype")
    as_batches(data, "data")


def _select_params(model: torch.nn.Module, params: Sequence[torch.Tensor] | None
                   ) -> tuple[list[torch.Tensor], list[str]]:
    named: list[tuple[str, torch.Tensor]] = list(model.named_parameters())
    by_id = {id(p): n for n, p in named}
    if params is None:
        sel = [(n, p) for n, p in named if p.requires_grad]
        if not sel:
            raise ValueError("model has no parameters that require grad (pass params=)")
    else:
        if isinstance(params, torch.Tensor):
            raise TypeError("params must be a sequence of the model's parameters, got a single "
                            "tensor (wrap it in a list)")
        try:
            plist = list(params)
        except TypeError:
            raise TypeError(f"params must be a sequence of the model's parameters, got "
                            f"{type(params).__name__}") from None
        if not plist:
            raise ValueError("params is empty")
        sel, seen = [], set()
        for i, p in enumerate(plist):
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"params[{i}] must be a tensor (a parameter of model), got "
                                f"{type(p).__name__}")
            if id(p) not in by_id:
                raise ValueError(f"params[{i}] (shape {tuple(p.shape)}) is not a parameter of "
                                 "model")
            if id(p) in seen:
                raise ValueError(f"params[{i}] appears twice in params")
            seen.add(id(p))
            sel.append((by_id[id(p)], p))
    for n, p in sel:
        if not p.is_floating_point():
            raise TypeError(f"parameter {n!r} has dtype {p.dtype}; the Hessian needs floating "
                            "parameters")
    devices = {p.device for _, p in sel}
    if len(devices) > 1:
        raise ValueError(f"the parameters live on several devices ({sorted(map(str, devices))});"
                         " a model split across devices is not supported")
    return [p for _, p in sel], [n for n, _ in sel]


class HessianOperator(LinearOperator):  # type: ignore[misc]  # scipy ships no types
    r"""The Hessian of a model's data loss at its current parameters (see :func:`hessian`).

    Attributes
    ----------
    model, loss_fn, data
        As given.
    params : list of torch.Tensor
        The parameters :math:`\theta` (in order; the vector layout is their flattened
        concatenation).  Other parameters are held fixed.
    names : list of str
        Their names in ``model.named_parameters()``.
    n : int
        Size of the operator, the total number of entries of ``params``.
    dtype : numpy.dtype
        float32 or float64: the dtype of the products (the parameters' dtype, or
        ``dtype=``).
    device : torch.device
        Where the parameters (and the products) live.
    train : bool
        Whether products are taken in train mode (default: eval mode).
    reduction : {"mean", "sum"}
    num_hvps : int
        Hessian-vector products computed so far (including those of the determinism check).
    num_samples, num_batches : int or None
        N and the number of batches, known after the first pass over ``data``.
    hvp_method : str or None
        ``"forward-over-reverse"`` or ``"double-backprop"`` once the first product ran
        (with ``hvp="auto"``: double-backprop on CPU).
    fallback_reason : str or None
        Why double-backprop is used (the torch.func error), if it is the fallback.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable[..., Any], data: Any, *,
                 params: Sequence[torch.Tensor] | None = None, train: bool = False,
                 check_determinism: bool | float = False, dtype: Any = None,
                 reduction: str = "mean", hvp: str = "auto") -> None:
        check_options(model, loss_fn, data, train=train, reduction=reduction, hvp=hvp,
                      dtype=dtype)
        self.model, self.loss_fn = model, loss_fn
        self.data = data
        self._batches, self._single = as_batches(data, "data")
        self.params, self.names = _select_params(model, params)
        pdt = {p.dtype for p in self.params}
        cdt = np_dtype(dtype, "dtype")
        if cdt is None:
            if len(pdt) > 1:
                raise TypeError(f"params mix dtypes {sorted(map(str, pdt))}; pass dtype= "
                                "(torch.float32 or torch.float64) to measure in one")
            cdt = next(iter(pdt))
            if cdt not in (torch.float32, torch.float64):
                raise TypeError(f"the parameters have dtype {cdt}; pass dtype=torch.float32 or "
                                "torch.float64 to measure the Hessian in that precision")
        self._cdtype: torch.dtype = cdt
        self._cast: torch.dtype | None = None if pdt == {cdt} else cdt
        self.device: torch.device = self.params[0].device
        self.shapes = [tuple(p.shape) for p in self.params]
        self.sizes = [int(p.numel()) for p in self.params]
        self.n = int(sum(self.sizes))
        self.train = bool(train)
        self.reduction = reduction
        self.num_hvps = 0
        self.num_samples: int | None = None
        self.num_batches: int | None = None
        self._requested = hvp
        self.hvp_method: str | None = None if hvp == "auto" else hvp
        self.fallback_reason: str | None = None
        self._pid = {id(p) for p in self.params}
        super().__init__(dtype=numpy_of(cdt), shape=(self.n, self.n))
        if check_determinism is not False and check_determinism is not None:
            self.check_determinism(None if check_determinism is True else check_determinism)

    # ---- LinearOperator protocol --------------------------------------------------------
    def _matvec(self, x: np.ndarray) -> np.ndarray:
        v = self._vector_in(x)
        out = self._pass(self.split(v))
        self.num_hvps += 1
        return self._vector_out(out)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)

    def _adjoint(self) -> "HessianOperator":
        return self

    def _transpose(self) -> "HessianOperator":
        return self

    def __repr__(self) -> str:
        return (f"<HessianOperator n={self.n} dtype={self.dtype} device={self.device} "
                f"mode={'train' if self.train else 'eval'} hvp={self.hvp_method or 'auto'} "
                f"num_hvps={self.num_hvps}>")

    # ---- vectors ------------------------------------------------------------------------
    def _vector_in(self, x: Any) -> torch.Tensor:
        a = np.asarray(x)
        if a.size != self.n:
            raise ValueError(f"vector of size {a.size} for an operator of size {self.n}")
        a = a.reshape(self.n)
        if a.dtype != self.dtype or not a.flags.c_contiguous or not a.flags.writeable:
            a = np.array(a, dtype=self.dtype, order="C")       # a private, writable copy
        t = torch.from_numpy(a)                                 # zero-copy on the host
        return t.to(self.device, non_blocking=False) if self.device.type != "cpu" else t

    def _vector_out(self, t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu").numpy() if t.device.type != "cpu" else t.detach().numpy()

    def split(self, v: torch.Tensor) -> list[torch.Tensor]:
        """Views of a flat tensor shaped like :attr:`params`."""
        return [c.view(s) for c, s in zip(torch.split(v, self.sizes), self.shapes)]

    def to_vector(self, tensors: Sequence[torch.Tensor] | None = None) -> np.ndarray:
        """Flatten tensors shaped like :attr:`params` (default: the parameters' current
        values) into a host numpy vector of :attr:`dtype`.

        Examples
        --------
        >>> import torch
        >>> from lrcore.torch import hessian
        >>> m = torch.nn.Linear(2, 1)
        >>> H = hessian(m, torch.nn.functional.mse_loss, (torch.ones(4, 2), torch.ones(4, 1)))
        >>> H.to_vector().shape, H.n
        ((3,), 3)
        """
        if tensors is None:
            tensors = self.params
        ts = list(tensors)
        if len(ts) != len(self.params):
            raise ValueError(f"tensors has {len(ts)} entries, params has {len(self.params)}")
        for i, (t, s) in enumerate(zip(ts, self.shapes)):
            if tuple(t.shape) != s:
                raise ValueError(f"tensors[{i}] has shape {tuple(t.shape)}, expected {s}")
        flat = torch.cat([t.detach().reshape(-1).to("cpu", self._cdtype) for t in ts])
        return flat.numpy()

    def from_vector(self, v: Any) -> list[torch.Tensor]:
        """Split a flat vector of size :attr:`n` into new tensors shaped like :attr:`params`
        (their dtype and device), e.g. to perturb the parameters along an eigenvector."""
        a = np.asarray(v)
        if a.size != self.n:
            raise ValueError(f"v has {a.size} entries, the operator has n={self.n}")
        t = torch.as_tensor(np.ascontiguousarray(a.reshape(self.n)))
        return [c.reshape(s).to(device=p.device, dtype=p.dtype, copy=True)
                for c, s, p in zip(torch.split(t, self.sizes), self.shapes, self.params)]

    # ---- passes over the data -----------------------------------------------------------
    def _extra(self) -> dict[str, torch.Tensor]:
        """Other parameters and floating buffers, cast, for the cast (dtype=) path."""
        out: dict[str, torch.Tensor] = {}
        for n, p in self.model.named_parameters():
            if id(p) not in self._pid:
                out[n] = p.detach().to(self._cdtype)
        for n, b in self.model.named_buffers():
            if b is not None and b.is_floating_point():
                out[n] = b.detach().to(self._cdtype)
        return out

    def _loss(self, out: Any, y: Any) -> torch.Tensor:
        loss = self.loss_fn(out, y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise ValueError(f"loss_fn must return a scalar tensor (the mean over the batch; "
                             f"the sum with reduction='sum'), got {shape}")
        return loss.reshape(())

    def _hvp_func(self, args: tuple[Any, ...], y: Any,
                  V: list[torch.Tensor]) -> list[torch.Tensor]:
        from torch.func import functional_call, grad, jvp

        names = self.names
        extra = self._extra() if self._cast is not None else None
        P = tuple(p.detach() if self._cast is None else p.detach().to(self._cast)
                  for p in self.params)

        def f(ps: tuple[torch.Tensor, ...]) -> torch.Tensor:
            d = dict(zip(names, ps))
            if extra is not None:
                d.update(extra)
            return self._loss(functional_call(self.model, d, args), y)

        hv = jvp(grad(f), (P,), (tuple(V),))[1]
        return list(hv)

    def _hvp_double(self, args: tuple[Any, ...], y: Any,
                    V: list[torch.Tensor]) -> list[torch.Tensor]:
        leaves: list[torch.Tensor]
        if self._cast is None and all(p.requires_grad for p in self.params):
            leaves = self.params
            loss = self._loss(self.model(*args), y)
        else:       # a cast, or parameters held fixed by requires_grad=False: fresh leaves
            from torch.func import functional_call

            leaves = [p.detach().to(self._cdtype).requires_grad_(True) for p in self.params]
            d: dict[str, torch.Tensor] = dict(zip(self.names, leaves))
            if self._cast is not None:
                d.update(self._extra())
            loss = self._loss(functional_call(self.model, d, args), y)
        gs = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        idx = [i for i, g in enumerate(gs) if g is not None and g.requires_grad]
        hs: Sequence[torch.Tensor | None] = [None] * len(leaves)
        if idx:
            hs = torch.autograd.grad([gs[i] for i in idx], leaves,
                                     grad_outputs=[V[i] for i in idx], allow_unused=True)
        return [torch.zeros_like(v) if h is None else h.detach() for h, v in zip(hs, V)]

    def _hvp_batch(self, args: tuple[Any, ...], y: Any,
                   V: list[torch.Tensor]) -> list[torch.Tensor]:
        m = self.hvp_method
        if m == _DOUBLE:
            return self._hvp_double(args, y, V)
        if m == _FUNC:
            try:
                return self._hvp_func(args, y, V)
            except (RuntimeError, NotImplementedError) as exc:
                raise RuntimeError(
                    "hvp='forward-over-reverse': torch.func could not differentiate this "
                    f"model and loss ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); some operations "
                    "have no forward-mode derivative in torch (e.g. mse_loss in torch 2.13): "
                    "use hvp='auto' or 'double-backprop'") from exc
        # "auto", first product: by device type; off CPU try torch.func, fall back to
        # double-backprop when it cannot trace the model
        if AUTO_HVP.get(self.device.type, _FUNC) == _DOUBLE:
            self.hvp_method = _DOUBLE
            return self._hvp_double(args, y, V)
        try:
            hv = self._hvp_func(args, y, V)
        except Exception as exc:  # torch.func cannot trace this model/loss
            hv = self._hvp_double(args, y, V)        # re-raises the user's own errors
            self.hvp_method = _DOUBLE
            self.fallback_reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            return hv
        self.hvp_method = _FUNC
        return hv

    def _buffers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(b, b.detach().clone()) for b in self.model.buffers() if b is not None]

    def _pass(self, V: list[torch.Tensor] | None, *,
              fingerprints: list[tuple[int, float, float]] | None = None) -> torch.Tensor:
        """One pass over the data: sum_k w_k Hv_k (the gradient when ``V`` is None),
        w_k = b_k/N (mean)."""
        acc: torch.Tensor | None = None
        w_first = 0.0
        N = nb = 0
        saved = self._buffers() if self.train else None
        try:
            with model_mode(self.model, self.train), torch.enable_grad():
                for batch in self._batches:
                    args, y, b = split_batch(batch, "data")
                    args = to_device(args, self.device, self._cast)
                    y = to_device(y, self.device, self._cast)
                    if fingerprints is not None:
                        fingerprints.append(_fingerprint(args, y, b))
                    if V is None:
                        parts = self._grad_batch(args, y)
                    else:
                        parts = self._hvp_batch(args, y, V)
                    flat = torch.cat([h.reshape(-1).to(self._cdtype) for h in parts])
                    w = float(b) if self.reduction == "mean" else 1.0
                    if acc is None:
                        acc, w_first = flat, w
                    elif nb == 1:
                        acc = acc.mul(w_first).add_(flat, alpha=w)
                    else:
                        acc.add_(flat, alpha=w)
                    N += b
                    nb += 1
        finally:
            if saved is not None:
                with torch.no_grad():
                    for buf, val in saved:
                        buf.copy_(val)
        if acc is None:
            raise ValueError("data yielded no batches")
        self.num_samples, self.num_batches = N, nb
        if nb == 1 and self.reduction == "mean":
            return acc
        return acc / N

    def _grad_batch(self, args: tuple[Any, ...], y: Any) -> list[torch.Tensor]:
        if self._cast is None:
            leaves = [p if p.requires_grad else p.detach().requires_grad_(True)
                      for p in self.params]
            if all(p.requires_grad for p in self.params):
                loss = self._loss(self.model(*args), y)
            else:
                from torch.func import functional_call
                d = dict(zip(self.names, leaves))
                loss = self._loss(functional_call(self.model, d, args), y)
        else:
            from torch.func import functional_call
            leaves = [p.detach().to(self._cast).requires_grad_(True) for p in self.params]
            d = dict(zip(self.names, leaves))
            d.update(self._extra())
            loss = self._loss(functional_call(self.model, d, args), y)
        gs = torch.autograd.grad(loss, leaves, allow_unused=True)
        return [torch.zeros_like(p, dtype=self._cdtype) if g is None else g.detach()
                for g, p in zip(gs, self.params)]

    def gradient(self) -> np.ndarray:
        r"""The gradient :math:`\nabla F(\theta)` of the data loss at the current parameters
        (same data, weights and mode as the products), as a host numpy vector."""
        return self._vector_out(self._pass(None))

    # ---- determinism --------------------------------------------------------------------
    def check_determinism(self, rtol: float | None = None) -> float:
        r"""Compute :math:`Hv` twice for one random :math:`v`; raise
        :class:`NondeterminismError` naming the likely cause when the passes saw different
        batches or the products differ by more than ``rtol`` (relative, 2-norm; default
        ``1000 * eps`` of the dtype).  Returns the relative difference.  The random number
        generators are left as they were."""
        if rtol is None:
            rtol = 1000.0 * float(np.finfo(self.dtype).eps)
        if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not (
                math.isfinite(rtol) and rtol >= 0):
            raise ValueError(f"check_determinism must be True or a finite rtol >= 0, got {rtol!r}")
        v = np.random.default_rng(20240611).standard_normal(self.n).astype(self.dtype)
        fp1: list[tuple[int, float, float]] = []
        fp2: list[tuple[int, float, float]] = []
        with preserved_rng(loader_generators(self.data)):
            a = self._pass(self.split(self._vector_in(v)), fingerprints=fp1)
            self.num_hvps += 1
            b = self._pass(self.split(self._vector_in(v)), fingerprints=fp2)
            self.num_hvps += 1
        if not _same_batches(fp1, fp2):
            raise NondeterminismError(
                "data yields different batches on each pass (" + _batches_diff(fp1, fp2) + "): "
                "likely a DataLoader with shuffle=True or a random sampler (made worse by "
                "drop_last), or random data augmentation; every Hessian-vector product must "
                "see the same data -- pass a DataLoader with shuffle=False and no augmentation")
        na = float(torch.linalg.vector_norm(a.double()))
        diff = float(torch.linalg.vector_norm((a - b).double())) / max(na, 1e-300)
        if diff > rtol:
            raise NondeterminismError(
                f"two Hessian-vector products with the same vector differ by {diff:.3g} "
                f"(relative; allowed {rtol:.3g}) although the batches were the same: "
                + self._likely_cause())
        return diff

    def _likely_cause(self) -> str:
        mods = list(self.model.modules())
        drop = [type(m).__name__ for m in mods
                if isinstance(m, torch.nn.modules.dropout._DropoutNd)]
        bn = [type(m).__name__ for m in mods
              if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        causes = []
        if self.train and drop:
            causes.append(f"dropout is active in train mode ({', '.join(sorted(set(drop)))}); "
                          "measure in eval mode (train=False, the default)")
        if self.train and bn:
            causes.append("train-mode BatchNorm normalises with batch statistics; measure in "
                          "eval mode (train=False)")
        if not causes:
            causes.append("the model or loss_fn is random (noise injection, sampling, random "
                          "augmentation inside forward), or the device runs nondeterministic "
                          "kernels (CUDA atomics: try torch.use_deterministic_algorithms(True))")
        return "; ".join(causes)


def _fingerprint(args: tuple[Any, ...], y: Any, b: int) -> tuple[int, float, float]:
    xs = float(args[0].detach().double().sum())
    ys = float(y.detach().double().sum()) if isinstance(y, torch.Tensor) else 0.0
    return (b, xs, ys)


def _same_batches(f1: list[tuple[int, float, float]],
                  f2: list[tuple[int, float, float]]) -> bool:
    if len(f1) != len(f2):
        return False
    for (b1, x1, y1), (b2, x2, y2) in zip(f1, f2):
        if b1 != b2 or not math.isclose(x1, x2, rel_tol=1e-9, abs_tol=1e-12) \
                or not math.isclose(y1, y2, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def _batches_diff(f1: list[tuple[int, float, float]],
                  f2: list[tuple[int, float, float]]) -> str:
    if len(f1) != len(f2):
        return f"{len(f1)} batches, then {len(f2)}"
    for k, (a, b) in enumerate(zip(f1, f2)):
        if a[0] != b[0]:
            return f"batch {k} had {a[0]} samples, then {b[0]}"
        if a[1:] != b[1:]:
            return f"batch {k} held different samples"
    return "different batches"


def hessian(model: torch.nn.Module, loss_fn: Callable[..., Any], data: Any, *,
            params: Sequence[torch.Tensor] | None = None, train: bool = False,
            check_determinism: bool | float = False, dtype: Any = None,
            reduction: str = "mean", hvp: str = "auto") -> HessianOperator:
    r"""The Hessian of ``model``'s loss on ``data`` as an operator lrcore's solvers take.

    .. math::

        H = \nabla^2_\theta \frac1N \sum_{k} b_k\, L_k(\theta), \qquad
        L_k = \text{loss\_fn}(\text{model}(x_k), y_k) \text{ (a batch mean)},\quad
        N = \sum_k b_k,

    evaluated lazily at the parameters' values at the time of each product.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(output, targets) -> scalar tensor``, the mean over the batch (e.g.
        ``torch.nn.functional.cross_entropy``); with ``reduction="sum"``, the sum.
    data : tuple or iterable
        ``(inputs, targets)`` or a re-iterable of such batches (a list, a ``DataLoader``
        without shuffling).  Each product makes one full pass; batches are moved to the
        parameters' device.
    params : sequence of tensors, optional
        The parameters to differentiate (default: every parameter with
        ``requires_grad``); the others are held fixed.
    train : bool
        Take products in train mode.  Default eval mode: BatchNorm uses its running
        statistics and dropout is off, so the operator is a fixed symmetric matrix.  The
        model's (and every submodule's) mode is restored after each product, also on
        exception; in train mode BatchNorm's running statistics are restored too.
        In train mode BatchNorm normalises with batch statistics (the products are exact
        for that function, also across several batches: each batch is normalised with
        its own statistics).  Beware that ``torch.func.hessian`` and
        ``jacrev(jacrev(.))`` of train-mode ``batch_norm`` are *not* exact in torch 2.13
        (the vmapped double derivative errs in the cross terms of the affine weight); the
        unbatched products used here are.
    check_determinism : bool or float
        Compute one product twice now and raise :class:`NondeterminismError` naming the
        likely cause (shuffling DataLoader, dropout, augmentation, train-mode BatchNorm)
        when the batches or the results differ (a float sets the relative tolerance;
        ``True``: ``1000 * eps``).  Costs two products.
    dtype : torch or numpy dtype, optional
        float32/float64.  Default: the parameters' dtype.  A different dtype evaluates the
        products in that precision (parameters, floating buffers and floating inputs and
        targets are cast for the measurement; the model is not modified), e.g. float64
        products for a float32 model.
    reduction : {"mean", "sum"}
        What ``loss_fn`` returns for a batch (see above).
    hvp : {"auto", "forward-over-reverse", "double-backprop"}
        ``"auto"``: double-backprop on CPU (measured faster there), elsewhere
        ``torch.func`` forward-over-reverse, falling back to double-backprop on the first
        product when the model cannot be traced (see :data:`AUTO_HVP` and the module
        docstring).

    Returns
    -------
    HessianOperator
        A ``scipy.sparse.linalg.LinearOperator`` (``H @ v`` takes and returns host numpy
        vectors) with :attr:`~HessianOperator.n`, :attr:`~HessianOperator.params`,
        :attr:`~HessianOperator.num_hvps`, :meth:`~HessianOperator.to_vector`,
        :meth:`~HessianOperator.from_vector` and :meth:`~HessianOperator.gradient`.

    Raises
    ------
    TypeError
        ``model`` not a module, ``loss_fn`` not callable, ``data`` not batches or a one-shot
        iterator, non-floating or mixed-dtype parameters without ``dtype=``.
    ValueError
        ``params`` not parameters of ``model``, bad ``reduction``/``hvp``, empty data, a
        loss that is not a scalar.
    NondeterminismError
        ``check_determinism`` found two different products.

    Examples
    --------
    >>> import torch, lrcore
    >>> from lrcore.torch import hessian
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
    ...                             torch.nn.Linear(8, 3)).double()
    >>> x, y = torch.randn(64, 4, dtype=torch.float64), torch.randint(0, 3, (64,))
    >>> H = hessian(model, torch.nn.functional.cross_entropy, (x, y))
    >>> H.shape, H.dtype, model.training
    ((67, 67), dtype('float64'), True)
    >>> r = lrcore.top_eigenvalue(H, seed=0)
    >>> from torch.func import functional_call
    >>> names = [n for n, _ in model.named_parameters()]
    >>> def f(flat):
    ...     ps = dict(zip(names, [c.view(s) for c, s in zip(torch.split(flat, H.sizes), H.shapes)]))
    ...     return torch.nn.functional.cross_entropy(functional_call(model, ps, (x,)), y)
    >>> exact = torch.linalg.eigvalsh(torch.func.hessian(f)(torch.as_tensor(H.to_vector())))
    >>> abs(r.value - float(exact[-1])) < 1e-9 * float(exact[-1]), H.hvp_method
    (True, 'double-backprop')
    >>> F = hessian(model, torch.nn.functional.cross_entropy, (x, y), hvp="forward-over-reverse")
    >>> v = torch.randn(H.n, dtype=torch.float64).numpy()
    >>> bool(abs(F @ v - H @ v).max() < 1e-12), F.hvp_method
    (True, 'forward-over-reverse')
    """
    return HessianOperator(model, loss_fn, data, params=params, train=train,
                           check_determinism=check_determinism, dtype=dtype,
                           reduction=reduction, hvp=hvp)


# ----------------------------------------------------------------------------------------
# scaled / preconditioned operators
# ----------------------------------------------------------------------------------------

class ScaledHessian(LinearOperator):  # type: ignore[misc]  # scipy ships no types
    r"""The symmetric operator :math:`M = S (H + \mathrm{diag}(w)) S`, :math:`S =
    \mathrm{diag}(s)`, built on a :class:`HessianOperator` ``H``.

    :func:`preconditioned` uses it with :math:`s = P^{-1/2}` (so :math:`M` has the spectrum
    of :math:`P^{-1} H`); :func:`lrcore.torch.safe_lr` with per-group learning-rate ratios
    and weight decays as well.  Products cost one product with ``H``.

    Attributes
    ----------
    hessian : HessianOperator
    scale, shift : numpy.ndarray or None
        :math:`s` and :math:`w` (float64, length ``n``; None means ones / zeros).
    what : str
        A formula for notes and reports, e.g. ``"P^-1/2 H P^-1/2"``.
    """

    def __init__(self, hessian: HessianOperator | ScaledHessian, scale: np.ndarray | None = None,
                 shift: np.ndarray | None = None, what: str = "S (H + W) S") -> None:
        if not isinstance(hessian, (HessianOperator, ScaledHessian)):
            raise TypeError(f"hessian must be a HessianOperator, got {type(hessian).__name__}")
        n = hessian.shape[0]
        for name, a in (("scale", scale), ("shift", shift)):
            if a is not None and (np.shape(a) != (n,) or not np.all(np.isfinite(a))):
                raise ValueError(f"{name} must be a finite vector of length {n}")
        self.hessian = hessian
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self.shift = None if shift is None else np.asarray(shift, dtype=np.float64)
        self.what = what
        self.n = n
        super().__init__(dtype=hessian.dtype, shape=(n, n))

    @property
    def num_hvps(self) -> int:
        return self.hessian.num_hvps

    @property
    def params(self) -> list[torch.Tensor]:
        return self.hessian.params

    def to_vector(self, tensors: Sequence[torch.Tensor] | None = None) -> np.ndarray:
        return self.hessian.to_vector(tensors)

    def from_vector(self, v: Any) -> list[torch.Tensor]:
        return self.hessian.from_vector(v)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(self.n)
        sx = x if self.scale is None else self.scale * x
        y = np.asarray(self.hessian.matvec(sx.astype(self.dtype)), dtype=np.float64).reshape(self.n)
        if self.shift is not None:
            y = y + self.shift * sx
        if self.scale is not None:
            y = self.scale * y
        out: np.ndarray = y.astype(self.dtype)
        return out

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)

    def _adjoint(self) -> "ScaledHessian":
        return self

    def _transpose(self) -> "ScaledHessian":
        return self

    def __repr__(self) -> str:
        return f"<ScaledHessian {self.what} n={self.n} dtype={self.dtype}>"


def preconditioned(H: HessianOperator, optimizer: torch.optim.Optimizer, *,
                   first_step: bool = False) -> ScaledHessian:
    r""":math:`P^{-1/2} H P^{-1/2}` for the diagonal preconditioner of an adaptive optimizer.

    It has the eigenvalues of :math:`P^{-1} H`, the matrix whose largest eigenvalue limits
    Adam's step (Cohen et al. 2022; :func:`lrcore.safe_lr` with ``method="adam"``), and is
    symmetric, so Lanczos applies.  :math:`P` is read from the optimizer's state exactly as
    the optimizer uses it in its next update:

    * Adam/AdamW: :math:`P = \mathrm{diag}(\sqrt{\hat v} + \epsilon)`,
      :math:`\hat v = v / (1 - \beta_2^t)` (``exp_avg_sq``, or ``max_exp_avg_sq`` with
      ``amsgrad``; ``t`` the state's ``step``; ``eps`` and ``betas`` of the parameter's
      group);
    * RMSprop: :math:`P = \mathrm{diag}(\sqrt{v} + \epsilon)` (``square_avg``; centered:
      :math:`\sqrt{v - \bar g^2}`).

    Parameters
    ----------
    H : HessianOperator
        Its parameters must all be managed by ``optimizer``.
    optimizer : torch.optim.Adam, AdamW or RMSprop
    first_step : bool
        For parameters without state yet (no step taken), use the preconditioner of the
        first step, computed from the full-data gradient :math:`g` of ``H``
        (Adam: :math:`|g| + \epsilon`, since :math:`\hat v_1 = g^2`) instead of raising.

    Returns
    -------
    ScaledHessian
        With ``scale`` :math:`= P^{-1/2}`; ``what`` is ``"P^-1/2 H P^-1/2"``.

    Examples
    --------
    >>> import torch, lrcore
    >>> from lrcore.torch import hessian, preconditioned
    >>> _ = torch.manual_seed(0)
    >>> m = torch.nn.Linear(3, 1).double()
    >>> x, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    >>> opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    >>> torch.nn.functional.mse_loss(m(x), y).backward(); opt.step()
    >>> M = preconditioned(hessian(m, torch.nn.functional.mse_loss, (x, y)), opt)
    >>> lrcore.top_eigenvalue(M, seed=0).value > 0
    True
    """
    from lrcore.torch._optim import preconditioner_diag

    if not isinstance(H, HessianOperator):
        raise TypeError(f"H must be a HessianOperator (from lrcore.torch.hessian), got "
                        f"{type(H).__name__}")
    P, missing = preconditioner_diag(optimizer, H.params, name="optimizer")
    if P is None:
        raise TypeError(f"{type(optimizer).__name__} has no diagonal preconditioner (SGD): use "
                        "the Hessian itself")
    if missing:
        if not first_step:
            raise ValueError(f"optimizer has no state yet for {missing} of the parameter "
                             "tensors (take a step first, or pass first_step=True to use the "
                             "first step's preconditioner)")
        P1, _ = preconditioner_diag(optimizer, H.params, grad=H.gradient(), name="optimizer")
        P = P if P1 is None else P1
    return ScaledHessian(H, scale=1.0 / np.sqrt(P), what="P^-1/2 H P^-1/2")
