"""PyTorch adapter: learning rates measured on a ``torch.nn.Module`` (extra ``lrcore[torch]``).

=============================  ===========================================================
:func:`hessian`                the model's loss Hessian as a ``LinearOperator`` that
                               :func:`lrcore.top_eigenvalue`, :func:`lrcore.safe_lr` and
                               every other curvature function take directly
:func:`preconditioned`         :math:`P^{-1/2} H P^{-1/2}` from an Adam/AdamW/RMSprop state
:func:`safe_lr`                lrcore's :class:`~lrcore.SafeRate` for a torch optimizer
                               (SGD, momentum, Nesterov, Adam, AdamW, RMSprop)
:class:`Scheduler`             a real ``torch.optim.lr_scheduler.LRScheduler`` driven by any
                               lrcore schedule
:class:`PlateauScheduler`      the same with :class:`lrcore.ReduceOnPlateau`
:func:`range_test`             the LR range test on a model; restores everything
:class:`SharpnessMonitor`      lambda_max during training, warm-started, with a guard
=============================  ===========================================================

The eigen-solver's Krylov basis stays on the host (in lrcore's C solver); the model, the
data and the Hessian-vector products stay on whatever device the parameters live on, and
vectors cross between them by ``torch.from_numpy`` / ``.numpy()`` (zero-copy on CPU).

PyTorch is not a dependency of lrcore: install it yourself (a CPU build is enough:
``pip install torch``) or with ``pip install 'lrcore[torch]'``.

Examples
--------
>>> import torch, lrcore
>>> from lrcore.torch import hessian
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Linear(3, 1, bias=False).double()
>>> x = torch.randn(20, 3, dtype=torch.float64); y = torch.randn(20, 1, dtype=torch.float64)
>>> H = hessian(model, torch.nn.functional.mse_loss, (x, y))     # = 2 X^T X / 20
>>> exact = float(torch.linalg.eigvalsh(2 * x.T @ x / 20)[-1])
>>> abs(lrcore.top_eigenvalue(H, seed=0).value - exact) < 1e-10 * exact
True
"""
from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised in an environment without torch
    raise ImportError(
        "lrcore.torch needs PyTorch, which is not installed: pip install torch "
        "(a CPU build is enough) or pip install 'lrcore[torch]'") from None

from lrcore.torch.curvature import (
    HessianOperator,
    NondeterminismError,
    ScaledHessian,
    hessian,
    preconditioned,
)
from lrcore.torch.monitor import SharpnessMonitor
from lrcore.torch.rates import GroupSafeRates, safe_lr
from lrcore.torch.schedulers import PlateauScheduler, Scheduler
from lrcore.torch.search import range_test

__all__ = [
    "HessianOperator",
    "NondeterminismError",
    "ScaledHessian",
    "hessian",
    "preconditioned",
    "safe_lr",
    "GroupSafeRates",
    "Scheduler",
    "PlateauScheduler",
    "range_test",
    "SharpnessMonitor",
]
