"""The PyTorch part of ``lrcore demo``: an MLP on the shipped digits, measured end to end.

:func:`run_demo` builds a 64-32-10 tanh MLP on :func:`lrcore.datasets.load_digits` (pixels
scaled by 1/16, float64), then

1. measures the sharpness (lambda_max of the full-data loss Hessian at initialisation) with
   :func:`lrcore.torch.hessian` and :func:`lrcore.top_eigenvalue`;
2. turns it into safe rates for SGD with momentum 0.9 and for Adam
   (:func:`lrcore.torch.safe_lr`);
3. runs the LR range test on minibatches (:func:`lrcore.torch.range_test`), the measured
   maximum stable rate marked;
4. trains for ``steps`` minibatch steps of SGD(momentum=0.9) starting at the smaller of
   the recommended rate and the range test's valley suggestion, with a
   :class:`lrcore.torch.SharpnessMonitor` tracking lambda_max against the edge
   2(1 + beta)/lr and guarding the rate (``guard=0.5``: at most half the largest stable
   rate of the current sharpness).  The sharpness of this network rises during training
   (progressive sharpening: from about 1 at initialisation to about 3 after 30 steps at
   the valley rate, past 10 at faster rates), so a rate measured at initialisation can
   cross the edge later; the guard lowers it when it does.  The
   recommended rate :math:`(1+\beta)/L` is the quadratic model's full-batch rate: started
   there, minibatch training with momentum 0.9 can saturate this tanh network within
   the first ten steps, before a measurement could react (1 of 3 seeds at 300 steps),
   hence the range test's rate when it is smaller.

:func:`format_demo` prints the report as sentences with numbers (the style of
``lrcore.cli.format_report``), :func:`plot_demo` draws the sharpness against the edge.
Runs in a few seconds on two CPU cores.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from lrcore.curvature import top_eigenvalue
from lrcore.datasets import load_digits
from lrcore.rates import SafeRate
from lrcore.torch._util import fmt, preserved_rng
from lrcore.torch.curvature import hessian
from lrcore.torch.monitor import SharpnessMonitor
from lrcore.torch.rates import GroupSafeRates, safe_lr
from lrcore.torch.search import range_test

__all__ = ["run_demo", "format_demo", "plot_demo"]

LAYERS = (64, 32, 10)
MOMENTUM = 0.9
BATCH = 64


def _mlp(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    mods: list[torch.nn.Module] = []
    for a, b in zip(LAYERS[:-1], LAYERS[1:]):
        mods += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*mods[:-1]).double()


def _rate(r: SafeRate) -> dict[str, Any]:
    return {"max_stable": r.max_stable, "recommended": r.recommended, "L": r.L,
            "L_upper": r.L_upper, "method": r.method, "momentum": r.momentum,
            "where": r.where, "note": r.note, "n_hvps": r.n_matvec}


def _one(r: SafeRate | GroupSafeRates) -> SafeRate:
    """The SafeRate of a one-group optimizer."""
    return r if isinstance(r, SafeRate) else r[0]


def run_demo(seed: int = 0, *, steps: int = 300, every: int = 10,
             guard: float | None = 0.5, threads: int | None = 1) -> dict[str, Any]:
    """Run the demo; returns the report as plain Python types (dicts, lists, str, int,
    float; a float is ``inf`` where no finite bound exists, e.g. the certified upper bound
    of a short warm-started estimate), see the module docstring.

    Parameters
    ----------
    seed : int
        Seeds the model's initialisation, the minibatch order and the solvers.
    steps : int
        Training steps (minibatches of 64).
    every : int
        Measure the sharpness every ``every`` steps.
    guard : float or None
        The monitor's guard (None: train at the recommended rate unguarded).
    threads : int or None
        torch's intra-op threads during the demo (restored afterwards; None: leave as is).
        A model this small runs as fast on one thread, and one thread does not suffer
        when the cores are shared.

    Examples
    --------
    >>> from lrcore.torch.demo import run_demo
    >>> rep = run_demo(steps=20)
    >>> rep["model"]["n_params"], rep["data"]["n_samples"]
    (2410, 1797)
    >>> rep["rates"]["sgd_momentum"]["max_stable"] > rep["rates"]["sgd_momentum"]["recommended"]
    True
    """
    if threads is None:
        return _run(seed, steps, every, guard)
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        return _run(seed, steps, every, guard)
    finally:
        torch.set_num_threads(before)


def _run(seed: int, steps: int, every: int, guard: float | None) -> dict[str, Any]:
    with preserved_rng():                   # the caller's random streams are left alone
        return _run_seeded(seed, steps, every, guard)


def _run_seeded(seed: int, steps: int, every: int, guard: float | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    X, y, _ = load_digits()
    x = torch.tensor(X / 16.0, dtype=torch.float64)
    t = torch.tensor(y, dtype=torch.long)
    loss_fn = torch.nn.functional.cross_entropy
    data = (x, t)
    model = _mlp(seed)
    n_params = sum(p.numel() for p in model.parameters())

    # 1. sharpness at initialisation
    H = hessian(model, loss_fn, data)
    eig = top_eigenvalue(H, tol=1e-6, seed=seed)
    sharp = {"L": eig.value, "L_upper": eig.upper_bound, "n_hvps": eig.n_matvec,
             "relative_residual": eig.residual / abs(eig.value), "bound": eig.bound,
             "hvp_method": H.hvp_method, "converged": eig.converged}

    # 2. safe rates
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=MOMENTUM)
    r_sgd = _one(safe_lr(model, loss_fn, data, sgd, seed=seed))
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    r_adam = _one(safe_lr(model, loss_fn, data, adam, seed=seed))

    # 3. range test on minibatches (state restored afterwards)
    gen = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, t),
                                         batch_size=BATCH, shuffle=True, generator=gen)
    rt = range_test(model, sgd, loss_fn, loader, start=1e-4, end=100.0, num=80,
                    safe_rate=r_sgd)
    rt_rep = {"suggestions": rt.suggestions, "spread_decades": rt.spread,
              "stopped_at": rt.stopped_at, "n_points": int(len(rt.lrs)),
              "lrs": rt.lrs.tolist(), "losses": rt.losses.tolist(),
              "max_stable": rt.max_stable_lr}

    # 4. training with the monitor
    # the quadratic model's recommended rate (1+beta)/L is a full-batch rate: minibatch noise
    # with momentum 0.9 can knock this tanh network into saturation at it (seen in 1 of 3
    # seeds at 300 steps), so training starts at the smaller of it and the range test's
    # valley suggestion
    valley = rt.suggestions.get("valley", math.inf)
    lr, lr_source = ((valley, "the range test's valley, below the recommended rate")
                     if valley < r_sgd.recommended else (r_sgd.recommended, "the recommended rate"))
    for g in sgd.param_groups:
        g["lr"] = lr
    mon = SharpnessMonitor(model, loss_fn, data, every=every, tol=1e-3, seed=seed,
                           guard=guard)
    with torch.no_grad():
        loss0 = float(loss_fn(model(x), t))
    it = iter(loader)
    for _ in range(steps):
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            xb, yb = next(it)
        sgd.zero_grad()
        loss_fn(model(xb), yb).backward()  # type: ignore[no-untyped-call]
        sgd.step()
        mon.step(sgd)
    lr_end = float(sgd.param_groups[0]["lr"])
    with torch.no_grad():
        out = model(x)
        loss1 = float(loss_fn(out, t))
        acc = float((out.argmax(1) == t).double().mean())
    h = mon.history
    ratio = h["lambda_max"] / h["threshold"]
    training = {"optimizer": f"SGD(momentum={MOMENTUM})", "steps": steps, "batch_size": BATCH,
                "lr": lr, "lr_source": lr_source, "guard": guard, "lr_end": lr_end,
                "n_capped": int(np.sum(h["capped"])), "loss_start": loss0, "loss_end": loss1,
                "train_accuracy": acc, "monitor_every": every,
                "monitor_hvps": int(mon.num_hvps), "n_estimates": int(len(h["step"])),
                "peak_over_edge": float(np.max(ratio)) if len(ratio) else math.nan,
                "history": {k: v.tolist() for k, v in h.items()}}
    return {"name": "digits", "data": {"n_samples": int(x.shape[0]), "n_features": 64,
                                       "n_classes": 10, "scaling": "X / 16",
                                       "dtype": "float64"},
            "model": {"layers": list(LAYERS), "activation": "tanh", "n_params": int(n_params),
                      "loss": "cross-entropy"},
            "sharpness": sharp,
            "rates": {"sgd_momentum": _rate(r_sgd), "adam": _rate(r_adam)},
            "range_test": rt_rep, "training": training,
            "torch": torch.__version__, "seconds": time.perf_counter() - t0}


def format_demo(rep: dict[str, Any]) -> str:
    """A few report lines with numbers, in the style of ``lrcore.cli.format_report``."""
    d, m, s = rep["data"], rep["model"], rep["sharpness"]
    rs, ra, rt, tr = (rep["rates"]["sgd_momentum"], rep["rates"]["adam"], rep["range_test"],
                      rep["training"])
    h = tr["history"]
    lam, edge = h["lambda_max"], h["threshold"]
    lines = [
        f"== {rep['name']}: MLP {'-'.join(map(str, m['layers']))} ({m['activation']}, "
        f"{m['n_params']} parameters), PyTorch {rep.get('torch', '')} ==",
        f"  data        {d['n_samples']} images x {d['n_features']} pixels (scaled by 1/16), "
        f"{d['n_classes']} classes, {d['dtype']}",
        f"  sharpness   L = {fmt(s['L'])} (lambda_max of the loss Hessian at initialisation, "
        f"all {d['n_samples']} samples, eval mode)",
        f"              measured by Lanczos on {s['hvp_method']} HVPs: {s['n_hvps']} HVPs, "
        f"||Hv - Lv|| / L = {s['relative_residual']:.1e}, certified L <= {fmt(s['L_upper'])}",
        f"  rates       SGD momentum {fmt(rs['momentum'])}: max stable {fmt(rs['max_stable'])}, "
        f"recommended {fmt(rs['recommended'])} (2(1+beta)/L and (1+beta)/L at L_upper)",
        f"              Adam beta1 {fmt(ra['momentum'])}: max stable {fmt(ra['max_stable'])}, "
        f"recommended {fmt(ra['recommended'])} (lambda_max(P^-1 H) = {fmt(ra['L'])} with the "
        "first step's preconditioner)",
    ]
    sug = ", ".join(f"{k} {fmt(v)}" for k, v in rt["suggestions"].items())
    lines.append(f"  range test  {sug}; spread {rt['spread_decades']:.2f} decades"
                 + ("" if rt["stopped_at"] is None else
                    f"; diverged at lr {fmt(rt['lrs'][rt['stopped_at']])}, "
                    f"{rt['lrs'][rt['stopped_at']] / rs['max_stable']:.2f} x the measured "
                    "max stable rate"))
    guard = tr.get("guard")
    lines.append(f"  training    {tr['steps']} steps of {tr['optimizer']} (batch {tr['batch_size']})"
                 f" from lr {fmt(tr['lr'])} ({tr['lr_source']})"
                 + ("" if guard is None else f", guard {fmt(guard)} x the stable rate")
                 + f": loss {tr['loss_start']:.3f} -> {tr['loss_end']:.3f}, train accuracy "
                 f"{100 * tr['train_accuracy']:.1f}%")
    if lam:
        lam_a, edge_a = np.asarray(lam), np.asarray(edge)
        i = int(np.argmax(lam_a))
        j = int(np.argmax(lam_a / edge_a))
        lines.append(f"              sharpness {fmt(lam[0])} at step 0, peak {fmt(lam[i])} at step "
                     f"{h['step'][i]}, {fmt(lam[-1])} at the end; the edge 2(1+beta)/lr was "
                     f"{fmt(edge[0])} at the start, and the sharpness came closest at step "
                     f"{h['step'][j]} ({tr['peak_over_edge']:.2f} x the edge)")
        if guard is not None:
            lines.append(f"              the guard lowered the rate at {tr['n_capped']} of "
                         f"{tr['n_estimates']} estimates, to lr {fmt(tr['lr_end'])} at the end; "
                         f"monitor cost {tr['monitor_hvps']} HVPs")
        else:
            lines.append(f"              monitor: {tr['n_estimates']} estimates, "
                         f"{tr['monitor_hvps']} HVPs")
    lines.append(f"  ({rep['seconds']:.2f} s)")
    return "\n".join(lines)


def plot_demo(rep: dict[str, Any], ax: Any = None) -> Any:
    """lambda_max against the stable threshold 2(1+beta)/lr over training; returns the
    axes (a new figure when ``ax`` is None; needs matplotlib)."""
    from lrcore._plotting import axes

    ax = axes(ax, what="plot_demo")
    h = rep["training"]["history"]
    steps = np.asarray(h["step"])
    ax.plot(steps, h["lambda_max"], "o-", color="C0", ms=3, label="lambda_max (Lanczos, warm)")
    ax.plot(steps, h["threshold"], color="k", lw=1.5, drawstyle="steps-post",
            label="edge 2(1+beta)/lr at the rate in force")
    ax.axhline(rep["sharpness"]["L"], color="C0", ls=":", lw=1, label="lambda_max at init")
    ax.set_xlabel("training step")
    ax.set_ylabel("sharpness")
    ax.set_yscale("log")
    ax.set_title(f"MLP {'-'.join(map(str, rep['model']['layers']))} on digits: sharpness vs "
                 "the edge of stability", fontsize="small")
    ax.legend(fontsize=8)
    return ax
