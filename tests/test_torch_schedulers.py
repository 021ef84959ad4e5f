"""lrcore.torch.Scheduler / PlateauScheduler against torch.optim.lr_scheduler.

Differential: wrapping the ``lrcore.schedules.compat`` twin of a PyTorch scheduler in
:class:`lrcore.torch.Scheduler` gives PyTorch's own rates on a real optimizer with three
parameter groups (base rates 0.1, 0.05, 0.3) for 1,000 steps.  Tolerance 1e-12 relative
(float64 rates), with an absolute floor of 1e-12 x the peak rate where a decay reaches 0
(a relative error is meaningless at an exact zero, and PyTorch's ``1 + cos`` loses relative
accuracy there, see ``test_schedules_torch.py``).  PyTorch computes most schedulers
recursively, so exact equality is not expected.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrcore import schedules as S  # noqa: E402
from lrcore.schedules import compat  # noqa: E402
from lrcore.torch import PlateauScheduler, Scheduler  # noqa: E402

L = torch.optim.lr_scheduler
BASES = (0.1, 0.05, 0.3)
N = 1000
RTOL = 1e-12


def optimizer(bases=BASES, momentum=0.9):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], "lr": b}
              for b in bases]
    return torch.optim.SGD(groups, lr=bases[0], momentum=momentum)


def run(opt, sch, n=N, metrics=None):
    """The documented loop: read the rates, optimizer.step(), scheduler.step()."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(n):
            out.append([g["lr"] for g in opt.param_groups])
            for g in opt.param_groups:
                for p in g["params"]:
                    p.grad = torch.ones_like(p)
            opt.step()
            if metrics is None:
                sch.step()
            else:
                sch.step(float(metrics[t]))
    return np.array(out, dtype=np.float64)


def assert_agree(got, want, peak):
    err = np.abs(got - want)
    ok = (err <= RTOL * np.abs(want)) | (err <= RTOL * peak)
    if not ok.all():
        i = np.argwhere(~ok)[0]
        raise AssertionError(f"step {i[0]} group {i[1]}: lrcore {got[tuple(i)]!r} vs torch "
                             f"{want[tuple(i)]!r} (rel {err[tuple(i)] / abs(want[tuple(i)]):.2e})")


B0 = BASES[0]
CASES = [
    ("StepLR", lambda o: L.StepLR(o, 30, 0.5), compat.StepLR(B0, 30, 0.5)),
    ("MultiStepLR", lambda o: L.MultiStepLR(o, [100, 300, 300, 700], 0.3),
     compat.MultiStepLR(B0, [100, 300, 300, 700], 0.3)),
    ("ExponentialLR", lambda o: L.ExponentialLR(o, 0.995), compat.ExponentialLR(B0, 0.995)),
    ("CosineAnnealingLR", lambda o: L.CosineAnnealingLR(o, 333),
     compat.CosineAnnealingLR(B0, 333)),
    ("LinearLR", lambda o: L.LinearLR(o, 0.1, 0.9, 250), compat.LinearLR(B0, 0.1, 0.9, 250)),
    ("PolynomialLR", lambda o: L.PolynomialLR(o, 400, 2.0), compat.PolynomialLR(B0, 400, 2.0)),
    ("ConstantLR", lambda o: L.ConstantLR(o, 0.5, 40), compat.ConstantLR(B0, 0.5, 40)),
    ("CosineAnnealingWarmRestarts", lambda o: L.CosineAnnealingWarmRestarts(o, 10, 2),
     compat.CosineAnnealingWarmRestarts(B0, 10, 2)),
    ("OneCycleLR", lambda o: L.OneCycleLR(o, [2 * b for b in BASES], total_steps=N,
                                          cycle_momentum=False),
     compat.OneCycleLR(2 * B0, N)),
    ("OneCycleLR-linear-3phase",
     lambda o: L.OneCycleLR(o, [2 * b for b in BASES], total_steps=N, anneal_strategy="linear",
                            three_phase=True, cycle_momentum=False),
     compat.OneCycleLR(2 * B0, N, anneal_strategy="linear", three_phase=True)),
    ("CyclicLR-triangular2",
     lambda o: L.CyclicLR(o, [b / 10 for b in BASES], list(BASES), 37, 63, mode="triangular2",
                          cycle_momentum=False),
     compat.CyclicLR(B0 / 10, B0, 37, 63, "triangular2")),
    ("CyclicLR-exp_range",
     lambda o: L.CyclicLR(o, [b / 10 for b in BASES], list(BASES), 50, mode="exp_range",
                          gamma=0.998, cycle_momentum=False),
     compat.CyclicLR(B0 / 10, B0, 50, None, "exp_range", 0.998)),
    ("SequentialLR",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 100), L.CosineAnnealingLR(o, 900)],
                              [100]),
     compat.SequentialLR([compat.LinearLR(B0, 0.01, 1.0, 100), compat.CosineAnnealingLR(B0, 900)],
                         [100])),
]


@pytest.mark.parametrize("name, make, sched", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_with_three_groups(name, make, sched):
    o1 = optimizer()
    want = run(o1, make(o1))
    o2 = optimizer()
    mine = Scheduler(o2, sched)
    assert isinstance(mine, L.LRScheduler)
    got = run(o2, mine)
    assert_agree(got, want, peak=float(np.max(np.abs(want))))
    assert got[:, 0].tolist() == list(sched(np.arange(N)))      # group 0 is the schedule
    assert mine.get_last_lr() == [g["lr"] for g in o2.param_groups]


def test_group_conventions():
    s = S.cosine(1.0, 100)
    for groups, want in [("ratio", lambda v: [v, v / 2, 3 * v]),
                         ("factor", lambda v: [0.1 * v, 0.05 * v, 0.3 * v]),
                         ("same", lambda v: [v, v, v])]:
        o = optimizer()
        got = run(o, Scheduler(o, s, groups=groups), n=50)
        ref = np.array([want(s(t)) for t in range(50)])
        assert np.allclose(got, ref, rtol=1e-15, atol=0), groups
    o = optimizer()
    per = [S.constant(1.0), S.linear(1.0, 0.0, 10), S.step(2.0, 5)]
    got = run(o, Scheduler(o, per), n=20)
    assert np.array_equal(got, np.array([[p(t) for p in per] for t in range(20)]))


def test_state_dict_round_trip_and_resume():
    sched = S.warmup(S.cosine(0.1, 900), 100)
    o = optimizer()
    full = run(o, Scheduler(o, sched), n=400)
    o = optimizer()
    sch = Scheduler(o, sched)
    run(o, sch, n=137)
    state = json.loads(json.dumps(sch.state_dict()))         # JSON-safe
    assert state["schedule"] == sched.to_dict() and state["last_epoch"] == 137
    opt_state = o.state_dict()
    o2 = optimizer()
    sch2 = Scheduler(o2, S.constant(1.0))        # whatever it was built with
    o2.load_state_dict(opt_state)
    sch2.load_state_dict(state)
    assert sch2.schedule == sched and sch2.last_epoch == 137
    rest = run(o2, sch2, n=400 - 137)
    assert np.array_equal(np.vstack([full[:137], rest]), full)
    # per-group schedules round-trip too
    o3 = optimizer()
    per = Scheduler(o3, [S.constant(1.0), S.linear(1.0, 0.0, 10), S.step(2.0, 5)])
    per2 = Scheduler(optimizer(), [S.constant(0.0)] * 3)
    per2.load_state_dict(json.loads(json.dumps(per.state_dict())))
    assert per2.schedule == per.schedule


def test_resume_with_last_epoch():
    sched = S.exponential(0.1, 0.99)
    o = optimizer()
    sch = Scheduler(o, sched)
    run(o, sch, n=10)
    o2 = optimizer()
    o2.load_state_dict(o.state_dict())
    sch2 = Scheduler(o2, sched, last_epoch=9)
    assert sch2.last_epoch == 10
    assert [g["lr"] for g in o2.param_groups] == [g["lr"] for g in o.param_groups]


def test_errors():
    o = optimizer()
    with pytest.raises(TypeError, match="PlateauScheduler"):
        Scheduler(o, S.ReduceOnPlateau(0.1))
    with pytest.raises(TypeError, match="schedule"):
        Scheduler(o, lambda t: 0.1)
    with pytest.raises(ValueError, match="3 parameter groups"):
        Scheduler(o, [S.constant(0.1)])
    with pytest.raises(ValueError, match="groups"):
        Scheduler(o, S.constant(0.1), groups="each")
    with pytest.raises(TypeError, match="optimizer"):
        Scheduler("sgd", S.constant(0.1))
    with pytest.raises(ValueError, match="nonzero base"):
        Scheduler(optimizer((0.0, 0.1, 0.1)), S.constant(0.1))


# ----------------------------------------------------------------------------- plateau

def metrics(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (1.0 + 2.0 / (1.0 + t / 10.0) + 0.3 * (t // 60 % 2)) * np.exp(0.02 * rng.standard_normal(n))


PLATEAU = [
    dict(),
    dict(mode="min", factor=0.5, patience=2, threshold=1e-2, cooldown=1),
    dict(mode="min", factor=0.3, patience=0, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", factor=0.5, patience=3, threshold=1e-3, cooldown=2, eps=1e-4),
    dict(mode="min", factor=0.5, patience=1, min_lr=1e-3),
]


@pytest.mark.parametrize("bases", [(0.1,), BASES], ids=["1 group", "3 groups"])
@pytest.mark.parametrize("kw", PLATEAU)
def test_plateau_matches_reduce_lr_on_plateau(kw, bases):
    """PyTorch applies ``eps`` and ``min_lr`` to every group separately; lrcore's rule to its
    own rate (group 0's) and the groups keep their ratios.  The two agree when neither
    binds in another group: for several groups the test uses eps=0 and no min_lr."""
    if len(bases) > 1:
        if "min_lr" in kw:
            pytest.skip("min_lr binds per group in PyTorch, on the ratio in lrcore")
        kw = dict(kw, eps=0.0)
    m = metrics() if kw.get("mode", "min") == "min" else 10.0 - metrics()
    o1 = optimizer(bases)
    want = run(o1, L.ReduceLROnPlateau(o1, **kw), n=len(m), metrics=m)
    o2 = optimizer(bases)
    mine = PlateauScheduler(o2, **kw)
    assert isinstance(mine, L.LRScheduler)
    got = run(o2, mine, n=len(m), metrics=m)
    assert mine.rule.n_reductions > 0
    assert_agree(got, want, peak=0.3)


def test_plateau_state_round_trip_and_report():
    m = metrics()
    o = optimizer()
    sch = PlateauScheduler(o, S.warmup(S.constant(0.1), 5), patience=2, factor=0.5)
    full = run(o, sch, n=200, metrics=m)
    o = optimizer()
    sch = PlateauScheduler(o, S.warmup(S.constant(0.1), 5), patience=2, factor=0.5)
    run(o, sch, n=90, metrics=m)
    state = json.loads(json.dumps(sch.state_dict()))
    o2 = optimizer()
    sch2 = PlateauScheduler(o2)         # as in PyTorch: build the scheduler, then load both
    o2.load_state_dict(o.state_dict())
    sch2.load_state_dict(state)
    rest = run(o2, sch2, n=110, metrics=m[90:])
    assert np.array_equal(np.vstack([full[:90], rest]), full)
    # report() reduces at once without advancing time
    o3 = optimizer()
    p = PlateauScheduler(o3, patience=0, factor=0.5)
    t = p.last_epoch
    p.report(1.0)
    p.report(2.0)
    assert p.last_epoch == t and o3.param_groups[0]["lr"] == 0.05
    assert o3.param_groups[2]["lr"] == pytest.approx(0.15, rel=1e-15)
    with pytest.raises(ValueError, match="finite"):
        p.step(float("nan"))


def test_resume_sets_the_rates_in_either_order():
    w = torch.nn.Parameter(torch.zeros(2))

    def make():
        return torch.optim.SGD([w], lr=0.1)

    sched = S.warmup(S.cosine(0.1, 100), 10)
    opt = make()
    sch = Scheduler(opt, sched)
    for _ in range(20):
        opt.step()
        sch.step()
    want = opt.param_groups[0]["lr"]
    assert want == pytest.approx(float(sched(20)))
    # scheduler built on a fresh optimizer, then its state loaded (optimizer state never
    # loaded): the rate is the schedule's at the restored step, not s(0)
    opt2 = make()
    sch2 = Scheduler(opt2, sched)
    assert opt2.param_groups[0]["lr"] != pytest.approx(want)
    sch2.load_state_dict(sch.state_dict())
    assert opt2.param_groups[0]["lr"] == pytest.approx(want, rel=1e-15)
    assert sch2.get_last_lr() == sch.get_last_lr()
    # and after the optimizer's own state too
    opt3 = make()
    sch3 = Scheduler(opt3, sched)
    sch3.load_state_dict(sch.state_dict())
    opt3.load_state_dict(opt.state_dict())
    assert opt3.param_groups[0]["lr"] == pytest.approx(want, rel=1e-15)
