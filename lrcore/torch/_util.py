"""Shared helpers of lrcore.torch: data batches, devices, module modes, RNG states."""
from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

Batch = tuple[Any, Any]


def _tensor_pair(obj: Any) -> bool:
    return (isinstance(obj, (tuple, list)) and len(obj) == 2
            and all(isinstance(t, torch.Tensor) for t in obj))


def is_batch(obj: Any) -> bool:
    """A single ``(inputs, targets)`` batch: a 2-tuple/list whose inputs are a tensor (or a
    tuple/list of tensors).

    A pair of ``(tensor, tensor)`` pairs is read as two batches ``[(x0, y0), (x1, y1)]``,
    not as one batch with two inputs and two targets (pass such a batch as a list of one
    batch, ``[((a, b), (y1, y2))]``)."""
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        return False
    x = obj[0]
    if isinstance(x, torch.Tensor):
        return True
    if _tensor_pair(x) and _tensor_pair(obj[1]):
        return False                                 # two batches
    return isinstance(x, (tuple, list)) and len(x) > 0 and all(
        isinstance(t, torch.Tensor) for t in x)


def as_batches(data: Any, name: str = "data") -> tuple[Iterable[Any], bool]:
    """``(iterable of batches, single)``: a single batch becomes a one-element list.

    One-shot iterators are refused: every Hessian-vector product makes a full pass.
    """
    if is_batch(data):
        return [tuple(data)], True
    if isinstance(data, torch.Tensor) or data is None:
        raise TypeError(f"{name} must be an (inputs, targets) tuple of tensors or an iterable "
                        f"of such batches (e.g. a DataLoader), got {type(data).__name__}")
    if isinstance(data, Iterator):
        raise TypeError(f"{name} is a one-shot iterator ({type(data).__name__}); pass something "
                        "that can be iterated again (a list of batches or a DataLoader): every "
                        "Hessian-vector product makes a full pass over the data")
    if not isinstance(data, Iterable):          # no iter() here: a DataLoader's has effects
        raise TypeError(f"{name} must be an (inputs, targets) tuple of tensors or an iterable "
                        f"of such batches (e.g. a DataLoader), got {type(data).__name__}")
    return data, False


def split_batch(batch: Any, name: str = "data") -> tuple[tuple[Any, ...], Any, int]:
    """``(inputs as a tuple of model arguments, targets, batch size)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"every batch of {name} must be an (inputs, targets) pair, got "
                        f"{type(batch).__name__}"
                        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    x, y = batch
    args = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    if not args or not isinstance(args[0], torch.Tensor):
        raise TypeError(f"the inputs of every batch of {name} must be a tensor or a tuple of "
                        f"tensors, got {type(x).__name__}")
    if args[0].ndim == 0:
        raise ValueError(f"the inputs of a batch of {name} must have a batch dimension, got a "
                         "0-d tensor")
    b = int(args[0].shape[0])
    if b == 0:
        raise ValueError(f"{name} contains an empty batch")
    return args, y, b


def to_device(obj: Any, device: torch.device, dtype: torch.dtype | None = None) -> Any:
    """Move tensors (recursively in tuples/lists/dicts) to ``device``; cast floating tensors
    to ``dtype`` when given."""
    if isinstance(obj, torch.Tensor):
        if dtype is not None and obj.is_floating_point() and obj.dtype != dtype:
            return obj.to(device=device, dtype=dtype, non_blocking=True)
        return obj.to(device, non_blocking=True) if obj.device != device else obj
    if isinstance(obj, tuple):
        return tuple(to_device(o, device, dtype) for o in obj)
    if isinstance(obj, list):
        return [to_device(o, device, dtype) for o in obj]
    if isinstance(obj, dict):
        return {k: to_device(v, device, dtype) for k, v in obj.items()}
    return obj


# ----------------------------------------------------------------------------------------
# module modes
# ----------------------------------------------------------------------------------------

def module_modes(model: torch.nn.Module) -> list[tuple[torch.nn.Module, bool]]:
    """Every submodule's ``training`` flag (a model may mix train and eval parts)."""
    return [(m, m.training) for m in model.modules()]


def restore_modes(modes: list[tuple[torch.nn.Module, bool]]) -> None:
    for m, flag in modes:
        m.training = flag


@contextlib.contextmanager
def model_mode(model: torch.nn.Module, train: bool) -> Iterator[None]:
    """Put ``model`` in train or eval mode; restore every submodule's flag afterwards,
    also on exception."""
    modes = module_modes(model)
    try:
        model.train(train)
        yield
    finally:
        restore_modes(modes)


# ----------------------------------------------------------------------------------------
# random number generators
# ----------------------------------------------------------------------------------------

def _generators(extra: Iterable[Any]) -> list[torch.Generator]:
    out, seen = [], set()
    for g in extra:
        if isinstance(g, torch.Generator) and id(g) not in seen:
            seen.add(id(g))
            out.append(g)
    return out


def loader_generators(loader: Any) -> list[torch.Generator]:
    """The private generators a DataLoader (or its sampler) draws from, if any."""
    cands = [getattr(loader, "generator", None)]
    for attr in ("sampler", "batch_sampler"):
        s = getattr(loader, attr, None)
        cands.append(getattr(s, "generator", None))
        cands.append(getattr(getattr(s, "sampler", None), "generator", None))
    return _generators(cands)


def rng_state(generators: Iterable[torch.Generator] = ()) -> dict[str, Any]:
    """The torch (CPU and every initialised CUDA device), numpy-global and python ``random``
    states, and the states of ``generators``."""
    st: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
          "python": random.getstate(), "cuda": None,
          "generators": [(g, g.get_state()) for g in _generators(generators)]}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
    if st["cuda"] is not None:
        torch.cuda.set_rng_state_all(st["cuda"])
    for g, s in st["generators"]:
        g.set_state(s)


@contextlib.contextmanager
def preserved_rng(generators: Iterable[torch.Generator] = ()) -> Iterator[None]:
    """Run a block without a trace in any random number generator (also on exception)."""
    st = rng_state(generators)
    try:
        yield
    finally:
        set_rng_state(st)


# ----------------------------------------------------------------------------------------
# misc
# ----------------------------------------------------------------------------------------

def np_dtype(dt: Any, name: str = "dtype") -> torch.dtype | None:
    """A torch floating dtype from None, a torch dtype, a numpy dtype or a string."""
    if dt is None:
        return None
    t: torch.dtype | None
    if isinstance(dt, torch.dtype):
        t = dt
    else:
        try:
            nd = np.dtype(dt)
        except TypeError:
            raise TypeError(f"{name} must be None, torch.float32/float64 or numpy "
                            f"float32/float64, got {dt!r}") from None
        t = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}.get(nd)
    if t not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dt!r}")
    return t


def numpy_of(t: torch.dtype) -> np.dtype:
    return np.dtype(np.float32) if t == torch.float32 else np.dtype(np.float64)


def to_float(v: Any) -> float:
    return float(v.item()) if isinstance(v, torch.Tensor) else float(v)


def fmt(x: float) -> str:
    """Compact number formatting for notes and reports."""
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"
