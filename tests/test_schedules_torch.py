"""Differential tests: lrcore.schedules.compat against torch.optim.lr_scheduler.

Each case runs PyTorch's scheduler for 1,000 steps on a real optimizer (the rate is read
from ``param_groups`` before each ``optimizer.step()``, then ``scheduler.step()`` is called,
the documented PyTorch loop) and compares with the lrcore schedule evaluated on
``numpy.arange(n)`` by the C fast path.

Tolerance: |lrcore - torch| <= 1e-9 |torch| or <= 1e-12.  Exact equality is not expected:
PyTorch computes most schedulers *recursively* (``lr_t = lr_{t-1} * ratio_t``: Exponential,
Step, MultiStep, Linear, Polynomial, CosineAnnealing, ConstantLR), so rounding accumulates
over the run (~t ulp, i.e. ~1e-13 relative after 1000 steps), and its cosine formula
``(1 + cos(pi t / T)) / 2`` loses relative accuracy near the end of a decay (cancellation
in ``1 + cos``), where lrcore's exactly reduced form does not; the absolute error there is
still below 1e-16.  The largest observed differences are ~6e-12 relative (OneCycleLR near
``min_lr``), three orders of magnitude inside the tolerance.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lrcore import schedules as S
from lrcore.schedules import compat

torch = pytest.importorskip("torch", reason="the differential tests compare against PyTorch")
L = torch.optim.lr_scheduler

N = 1000
LR = 0.1


def torch_lrs(make, n=N, lr=LR, momentum=0.9):
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's step-order heuristics
        sch = make(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            p.grad = torch.ones_like(p)
            opt.step()
            sch.step()
    return np.array(out, dtype=np.float64)


def assert_agree(got, want):
    err = np.abs(got - want)
    ok = (err <= 1e-9 * np.abs(want)) | (err <= 1e-12)
    if not ok.all():
        i = int(np.argmin(ok))
        raise AssertionError(f"t={i}: lrcore {got[i]!r} vs torch {want[i]!r} "
                             f"({int((~ok).sum())} steps differ)")


CASES = [
    # (id, torch factory(opt), lrcore schedule, n)
    ("StepLR-30-0.5", lambda o: L.StepLR(o, 30, 0.5), compat.StepLR(LR, 30, 0.5)),
    ("StepLR-1-0.99", lambda o: L.StepLR(o, 1, 0.99), compat.StepLR(LR, 1, 0.99)),
    ("StepLR-1000", lambda o: L.StepLR(o, 1000), compat.StepLR(LR, 1000)),
    ("MultiStepLR", lambda o: L.MultiStepLR(o, [100, 300, 700], 0.3),
     compat.MultiStepLR(LR, [100, 300, 700], 0.3)),
    ("MultiStepLR-repeats-unsorted", lambda o: L.MultiStepLR(o, [700, 300, 300, 5], 0.5),
     compat.MultiStepLR(LR, [700, 300, 300, 5], 0.5)),
    ("ExponentialLR-0.995", lambda o: L.ExponentialLR(o, 0.995), compat.ExponentialLR(LR, 0.995)),
    ("ExponentialLR-0.9", lambda o: L.ExponentialLR(o, 0.9), compat.ExponentialLR(LR, 0.9)),
    ("CosineAnnealingLR-100", lambda o: L.CosineAnnealingLR(o, 100),
     compat.CosineAnnealingLR(LR, 100)),
    ("CosineAnnealingLR-333-etamin", lambda o: L.CosineAnnealingLR(o, 333, 1e-3),
     compat.CosineAnnealingLR(LR, 333, 1e-3)),
    ("CosineAnnealingLR-7", lambda o: L.CosineAnnealingLR(o, 7, 1e-4),
     compat.CosineAnnealingLR(LR, 7, 1e-4)),
    ("CosineAnnealingLR-1000", lambda o: L.CosineAnnealingLR(o, 1000),
     compat.CosineAnnealingLR(LR, 1000)),
    ("CosineAnnealingWarmRestarts-50", lambda o: L.CosineAnnealingWarmRestarts(o, 50),
     compat.CosineAnnealingWarmRestarts(LR, 50)),
    ("CosineAnnealingWarmRestarts-10x2", lambda o: L.CosineAnnealingWarmRestarts(o, 10, 2, 1e-4),
     compat.CosineAnnealingWarmRestarts(LR, 10, 2, 1e-4)),
    ("CosineAnnealingWarmRestarts-7x3", lambda o: L.CosineAnnealingWarmRestarts(o, 7, 3),
     compat.CosineAnnealingWarmRestarts(LR, 7, 3)),
    ("PolynomialLR-400-2", lambda o: L.PolynomialLR(o, 400, 2.0), compat.PolynomialLR(LR, 400, 2.0)),
    ("PolynomialLR-1000-0.5", lambda o: L.PolynomialLR(o, 1000, 0.5),
     compat.PolynomialLR(LR, 1000, 0.5)),
    ("PolynomialLR-default", lambda o: L.PolynomialLR(o), compat.PolynomialLR(LR)),
    ("LinearLR-default", lambda o: L.LinearLR(o), compat.LinearLR(LR)),
    ("LinearLR-250", lambda o: L.LinearLR(o, 0.1, 0.9, 250), compat.LinearLR(LR, 0.1, 0.9, 250)),
    ("LinearLR-decay", lambda o: L.LinearLR(o, 1.0, 0.05, 600), compat.LinearLR(LR, 1.0, 0.05, 600)),
    ("ConstantLR", lambda o: L.ConstantLR(o, 0.5, 40), compat.ConstantLR(LR, 0.5, 40)),
    ("SequentialLR-linear-cosine",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 100), L.CosineAnnealingLR(o, 900)],
                              [100]),
     compat.SequentialLR([compat.LinearLR(LR, 0.01, 1.0, 100), compat.CosineAnnealingLR(LR, 900)],
                         [100])),
    ("SequentialLR-constant-exp",
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 20), L.ExponentialLR(o, 0.99)], [50]),
     compat.SequentialLR([compat.ConstantLR(LR, 0.1, 20), compat.ExponentialLR(LR, 0.99)], [50])),
    ("SequentialLR-three",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.2, 1.0, 50), L.StepLR(o, 40, 0.5),
                                  L.CosineAnnealingLR(o, 300, 1e-4)], [50, 250]),
     compat.SequentialLR([compat.LinearLR(LR, 0.2, 1.0, 50), compat.StepLR(LR, 40, 0.5),
                          compat.CosineAnnealingLR(LR, 300, 1e-4)], [50, 250])),
]

for mode in ["triangular", "triangular2", "exp_range"]:
    for up, down, gamma in [(37, 63, 0.998), (100, None, 0.99), (5, 1, 0.9995)]:
        CASES.append((f"CyclicLR-{mode}-{up}-{down}",
                      (lambda m, u, d, g: lambda o: L.CyclicLR(o, 0.01, 0.1, u, d, mode=m,
                                                               gamma=g))(mode, up, down, gamma),
                      compat.CyclicLR(0.01, 0.1, up, down, mode, gamma)))


@pytest.mark.parametrize("name, make, sched", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, make, sched):
    assert_agree(sched(np.arange(N)), torch_lrs(make))


ONECYCLE = [(T, pct, an, three, div, fdiv)
            for T in (1000, 777)
            for pct in (0.3, 0.25)
            for an in ("cos", "linear")
            for three in (False, True)
            for div, fdiv in ((25.0, 1e4), (10.0, 100.0))]


@pytest.mark.parametrize("T, pct, anneal, three, div, fdiv", ONECYCLE)
def test_onecycle_against_torch(T, pct, anneal, three, div, fdiv):
    def make(o):
        return L.OneCycleLR(o, 0.1, total_steps=T, pct_start=pct, anneal_strategy=anneal,
                            three_phase=three, div_factor=div, final_div_factor=fdiv)
    s = compat.OneCycleLR(0.1, T, pct_start=pct, anneal_strategy=anneal, three_phase=three,
                          div_factor=div, final_div_factor=fdiv)
    # PyTorch's schedule covers t = 0 .. T-1 (it raises beyond T)
    assert_agree(s(np.arange(T)), torch_lrs(make, n=T))


def test_onecycle_epochs_form_and_step_T_extrapolation():
    s = compat.OneCycleLR(0.1, epochs=10, steps_per_epoch=50, anneal_strategy="linear")
    assert s == compat.OneCycleLR(0.1, 500, anneal_strategy="linear")
    # at t = T (after the last update) PyTorch extrapolates the linear phase below min_lr,
    # to a negative rate; lrcore holds min_lr (documented on compat.OneCycleLR)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sch = L.OneCycleLR(opt, 0.1, total_steps=500, anneal_strategy="linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(500):
            opt.step()
            sch.step()
    assert opt.param_groups[0]["lr"] < 0.0  # the rate PyTorch reports at t = T
    assert s(500) == s(499) == 0.1 / 25.0 / 1e4


def test_cosine_annealing_closed_form_matches_recursive_past_tmax():
    """PyTorch's recursive CosineAnnealingLR and its _get_closed_form_lr both keep following
    cos(pi t / T_max) past T_max (the rate climbs back); periodic=True is that curve, and
    lrcore's default cosine holds eta_min instead."""
    T = 60
    rec = torch_lrs(lambda o: L.CosineAnnealingLR(o, T, 1e-3), n=4 * T)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=LR)
    sch = L.CosineAnnealingLR(opt, T, 1e-3)
    closed = []
    for t in range(4 * T):
        sch.last_epoch = t
        closed.append(sch._get_closed_form_lr()[0])
    closed = np.array(closed)
    assert_agree(closed, rec)
    periodic = compat.CosineAnnealingLR(LR, T, 1e-3)(np.arange(4 * T))
    assert_agree(periodic, rec)
    held = S.cosine(LR, T, floor=1e-3)(np.arange(4 * T))
    assert np.all(held[T:] == 1e-3) and rec[2 * T] == pytest.approx(LR)


PLATEAU = [
    dict(),
    dict(mode="min", factor=0.5, patience=2, threshold=1e-2, cooldown=1, min_lr=1e-3),
    dict(mode="min", factor=0.3, patience=0, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", factor=0.5, patience=3, threshold=1e-3, cooldown=2, eps=1e-4),
    dict(mode="max", factor=0.2, patience=1, threshold=0.02, threshold_mode="abs", min_lr=0.005),
]


def plateau_metrics(mode, n=300, seed=0):
    """A noisy loss curve with long plateaus (positive values, as PyTorch's rel test needs)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = 1.0 + 2.0 / (1.0 + t / 10.0) + 0.3 * (t // 60 % 2)
    m = base * np.exp(0.02 * rng.standard_normal(n))
    return m if mode == "min" else 10.0 - m


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_against_torch(kw):
    metrics = plateau_metrics(kw.get("mode", "min"))
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=LR)
    sch = L.ReduceLROnPlateau(opt, **kw)
    rule = compat.ReduceLROnPlateau(LR, **kw)
    want, got = [], []
    for m in metrics:
        sch.step(float(m))
        want.append(opt.param_groups[0]["lr"])
        got.append(rule.step(float(m)))
    want, got = np.array(want), np.array(got)
    assert rule.n_reductions > 0  # the sequence exercises reductions
    assert_agree(got, want)


def test_plateau_negative_metric_difference_is_pytorch_bug():
    """With best < 0, PyTorch's best * (1 - threshold) accepts a *worse* metric as an
    improvement and never reduces; lrcore's |best| test reduces."""
    metrics = [-10.0] + [-9.5] * 5  # worse than the first report, forever
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=LR)
    sch = L.ReduceLROnPlateau(opt, patience=2, threshold=0.1)
    rule = compat.ReduceLROnPlateau(LR, patience=2, threshold=0.1)
    for m in metrics:
        sch.step(m)
        rule.step(m)
    assert opt.param_groups[0]["lr"] == LR  # PyTorch: -9.5 "improved" on -10
    assert rule.n_reductions == 1 and rule.best == -10.0


def test_training_trajectory_matches_torch():
    """lrcore.optim.SGD driven by a compat schedule follows torch's SGD + scheduler
    (cycle_momentum=False: lrcore schedules set the rate only, not the momentum)."""
    import lrcore
    rng = np.random.default_rng(1)
    A = rng.standard_normal((8, 8))
    A = A @ A.T / 8 + np.eye(8)
    x0 = rng.standard_normal(8)
    xt = torch.tensor(x0.copy(), requires_grad=True)
    opt = torch.optim.SGD([xt], lr=0.05, momentum=0.9)
    sch = L.OneCycleLR(opt, 0.05, total_steps=300, cycle_momentum=False)
    At = torch.tensor(A)
    x = x0.copy()
    mine = lrcore.optim.SGD(x, lr=compat.OneCycleLR(0.05, 300), momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(300):
            opt.zero_grad()
            (0.5 * xt @ At @ xt).backward()
            opt.step()
            sch.step()
            mine.step(A @ x)
    assert np.allclose(x, xt.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert math.isfinite(float(x[0]))
