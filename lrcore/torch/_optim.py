"""Reading a torch optimizer: each parameter group as an lrcore method, and the diagonal
preconditioner of adaptive methods."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lrcore.torch._util import fmt, to_float

SUPPORTED = "torch.optim.SGD, Adam, AdamW and RMSprop"


@dataclass
class GroupSpec:
    """One parameter group seen as an lrcore method.

    The linearised update of the group is lrcore's ``method`` with ``momentum`` and the
    *effective* rate ``lr * gain`` on the operator ``P^-1 (H + weight_decay I)``
    (``P = I`` for SGD); ``gain`` is ``1 - dampening`` for SGD heavy ball, else 1.
    """

    index: int
    kind: str                 # "sgd" | "adam" | "rmsprop"
    method: str               # lrcore: gd | heavy_ball | nesterov | adam
    momentum: float
    lr: float
    gain: float = 1.0
    weight_decay: float = 0.0  # coupled decay, part of the operator
    decoupled_decay: float = 0.0  # AdamW's, not part of the operator
    eps: float = 0.0
    beta2: float = 0.0        # Adam beta2 / RMSprop alpha
    amsgrad: bool = False
    centered: bool = False
    params: list[torch.Tensor] = field(default_factory=list)
    text: str = ""


def group_specs(optimizer: Any, name: str = "optimizer") -> list[GroupSpec]:
    """Map every param group of ``optimizer`` to a :class:`GroupSpec`."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{name} must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    cls = type(optimizer)
    out = []
    for i, g in enumerate(optimizer.param_groups):
        if g.get("maximize", False):
            raise ValueError(f"{name}.param_groups[{i}] has maximize=True; lrcore.torch measures "
                             "the Hessian of a loss that is minimised")
        lr = to_float(g["lr"])
        wd = to_float(g.get("weight_decay", 0.0))
        params = list(g["params"])
        if isinstance(optimizer, torch.optim.SGD):
            mu = to_float(g.get("momentum", 0.0))
            tau = to_float(g.get("dampening", 0.0))
            nest = bool(g.get("nesterov", False))
            if mu == 0.0:
                method, gain = "gd", 1.0
            elif nest:
                method, gain = "nesterov", 1.0      # torch requires dampening == 0
            else:
                method, gain = "heavy_ball", 1.0 - tau
            text = (f"SGD(lr={fmt(lr)}, momentum={fmt(mu)}, dampening={fmt(tau)}, "
                    f"nesterov={nest}, weight_decay={fmt(wd)}) -> {method}"
                    + ("" if method == "gd" else f"(momentum={fmt(mu)})"))
            if method == "heavy_ball" and tau != 0.0:
                text += (f" at the effective rate lr*(1-dampening) = {fmt(1 - tau)} lr "
                         "(torch's buffer is b <- momentum b + (1-dampening) g)")
            out.append(GroupSpec(i, "sgd", method, mu if method != "gd" else 0.0, lr, gain,
                                 weight_decay=wd, params=params, text=text))
        elif isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
            b1, b2 = (to_float(b) for b in g["betas"])
            decoupled = bool(g.get("decoupled_weight_decay",
                                   isinstance(optimizer, torch.optim.AdamW)))
            ams = bool(g.get("amsgrad", False))
            text = (f"{cls.__name__}(lr={fmt(lr)}, betas=({fmt(b1)}, {fmt(b2)}), "
                    f"eps={fmt(to_float(g['eps']))}, weight_decay={fmt(wd)}"
                    f"{', decoupled' if decoupled and wd else ''}{', amsgrad' if ams else ''})"
                    f" -> adam(momentum={fmt(b1)}) on P^-1 H, P = diag(sqrt(v_hat) + eps)")
            out.append(GroupSpec(i, "adam", "adam", b1, lr, 1.0,
                                 weight_decay=0.0 if decoupled else wd,
                                 decoupled_decay=wd if decoupled else 0.0,
                                 eps=to_float(g["eps"]), beta2=b2, amsgrad=ams, params=params,
                                 text=text))
        elif isinstance(optimizer, torch.optim.RMSprop):
            mu = to_float(g.get("momentum", 0.0))
            method = "gd" if mu == 0.0 else "heavy_ball"
            cen = bool(g.get("centered", False))
            text = (f"RMSprop(lr={fmt(lr)}, alpha={fmt(to_float(g['alpha']))}, "
                    f"eps={fmt(to_float(g['eps']))}, momentum={fmt(mu)}, centered={cen}, "
                    f"weight_decay={fmt(wd)}) -> {method} on P^-1 H, P = diag(sqrt(v) + eps)")
            out.append(GroupSpec(i, "rmsprop", method, mu, lr, 1.0, weight_decay=wd,
                                 eps=to_float(g["eps"]), beta2=to_float(g["alpha"]),
                                 centered=cen, params=params, text=text))
        else:
            raise TypeError(f"{name} is a {cls.__name__}; lrcore.torch supports {SUPPORTED}")
    return out


def preconditioner_diag(optimizer: Any, params: list[torch.Tensor], *, grad: np.ndarray | None = None,
                        name: str = "optimizer") -> tuple[np.ndarray | None, int]:
    """``(P, missing)``: the diagonal preconditioner (float64, in the layout of ``params``;
    ones for parameters of SGD groups) and how many parameters had no optimizer state.

    Parameters without state get the first step's preconditioner from ``grad`` (the
    flattened gradient in the same layout) when given, else ``P = 1 + eps`` placeholders
    (the caller decides whether that is acceptable).  Returns ``(None, 0)`` when every
    group is SGD.
    """
    specs = group_specs(optimizer, name)
    where: dict[int, GroupSpec] = {}
    for s in specs:
        for p in s.params:
            where[id(p)] = s
    if all(s.kind == "sgd" for s in specs):
        return None, 0
    parts: list[np.ndarray] = []
    missing = off = 0
    for i, p in enumerate(params):
        k = int(p.numel())
        s_or_none = where.get(id(p))
        if s_or_none is None:
            raise ValueError(f"parameter {i} (shape {tuple(p.shape)}) is not managed by {name}")
        s = s_or_none
        if s.kind == "sgd":
            parts.append(np.ones(k))
            off += k
            continue
        st = optimizer.state.get(p)
        g = None if grad is None else np.abs(np.asarray(grad[off:off + k], dtype=np.float64))
        off += k
        if not st or ("exp_avg_sq" not in st and "square_avg" not in st):
            missing += 1
            if g is None:
                parts.append(np.full(k, 1.0 + s.eps))
            elif s.kind == "adam":            # v_hat_1 = g^2
                parts.append(g + s.eps)
            else:                             # RMSprop v_1 = (1 - alpha) g^2
                a = s.beta2
                c = np.sqrt(a * (1 - a)) if s.centered else np.sqrt(1 - a)
                parts.append(c * g + s.eps)
            continue
        if s.kind == "adam":
            v = st["max_exp_avg_sq"] if s.amsgrad and "max_exp_avg_sq" in st else st["exp_avg_sq"]
            t = to_float(st["step"])
            bc2 = 1.0 - s.beta2 ** t
            vh = v.detach().to("cpu", torch.float64).numpy().ravel() / bc2
            parts.append(np.sqrt(np.maximum(vh, 0.0)) + s.eps)
        else:
            v = st["square_avg"].detach().to("cpu", torch.float64).numpy().ravel()
            if s.centered and "grad_avg" in st:
                ga = st["grad_avg"].detach().to("cpu", torch.float64).numpy().ravel()
                v = v - ga * ga
            parts.append(np.sqrt(np.maximum(v, 0.0)) + s.eps)
    return np.concatenate(parts), missing
