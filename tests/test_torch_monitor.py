"""lrcore.torch.SharpnessMonitor: history, warm starts, the guard, and no side effects."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_models import full_batch_steps, tanh_classifier  # noqa: E402

import lrcore  # noqa: E402
from lrcore.torch import SharpnessMonitor, hessian  # noqa: E402

F = torch.nn.functional
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def problem(seed=0, dropout=0.0):
    """8-24-3 with a Dropout layer (m[0], m[3] are the Linear layers), 300 rows."""
    return tanh_classifier(300, 8, 24, 3, seed=seed, dropout=dropout)


def test_history_and_thresholds():
    m, x, y = problem()
    opt = torch.optim.SGD(m.parameters(), lr=0.3, momentum=0.5)
    mon = SharpnessMonitor(m, F.cross_entropy, (x, y), every=4, tol=1e-6)
    full_batch_steps(m, opt, x, y, 10, mon)
    h = mon.history
    assert h["step"].tolist() == [0, 4, 8]
    assert set(h) == {"step", "lambda_max", "threshold", "lr", "hvps", "converged",
                      "upper_bound", "capped"}
    assert np.all(h["threshold"] == 2 * 1.5 / 0.3) and np.all(h["lr"] == 0.3)
    exact = lrcore.top_eigenvalue(hessian(m, F.cross_entropy, (x, y)), tol=1e-10, seed=3)
    assert mon.num_hvps == int(h["hvps"].sum())
    d = mon.to_dict()
    assert d["step"] == [0, 4, 8] and isinstance(d["lambda_max"][0], float)
    # method override: the gd threshold 2/lr
    mon2 = SharpnessMonitor(m, F.cross_entropy, (x, y), method="gd", tol=1e-6)
    mon2.step(opt)
    assert mon2.history["threshold"][0] == 2 / 0.3
    assert abs(mon2.history["lambda_max"][0] - exact.value) < 1e-5 * exact.value


def test_adam_threshold_and_preconditioned_sharpness():
    m, x, y = problem()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    full_batch_steps(m, opt, x, y, 3)
    mon = SharpnessMonitor(m, F.cross_entropy, (x, y), tol=1e-8)
    mon.step(opt)
    r = lrcore.torch.safe_lr(m, F.cross_entropy, (x, y), opt, tol=1e-10, seed=0,
                             certified=False)
    h = mon.history
    assert abs(h["lambda_max"][0] - r.L) < 1e-6 * r.L
    assert h["threshold"][0] == pytest.approx((2 + 2 * 0.9) / (1 - 0.9) / 1e-2, rel=1e-12)


def test_warm_start_is_cheaper_than_cold():
    """After 10 full-batch SGD steps the previous eigenvector is a good start: fewer HVPs
    at the same tolerance (the benchmark reports the ratios)."""
    m, x, y = problem()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    full_batch_steps(m, opt, x, y, 50)
    H = hessian(m, F.cross_entropy, (x, y))
    mon = SharpnessMonitor(m, F.cross_entropy, (x, y), every=10, tol=1e-3, seed=1)
    full_batch_steps(m, opt, x, y, 41, mon)
    warm = mon.history["hvps"][1:]
    cold = [lrcore.top_eigenvalue(H, tol=1e-3, seed=s).n_matvec for s in range(4)]
    assert np.mean(warm) < np.mean(cold)
    cold_mon = SharpnessMonitor(m, F.cross_entropy, (x, y), tol=1e-3, warm=False)
    cold_mon.step(opt)
    cold_mon.measure(opt)
    assert cold_mon.history["hvps"][1] >= min(cold) - 1


def test_guard_caps_each_group():
    m, x, y = problem()
    groups = [{"params": m[0].parameters(), "lr": 5.0}, {"params": m[3].parameters(), "lr": 1.0}]
    opt = torch.optim.SGD(groups, lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)   # resets the rates
    mon = SharpnessMonitor(m, F.cross_entropy, (x, y), every=5, guard=0.5, tol=1e-8)
    caps = []
    for _ in range(7):
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
        sched.step()                       # sets 5.0 and 1.0 again
        mon.step(opt)
        caps.append([g["lr"] for g in opt.param_groups])
    h = mon.history
    assert h["capped"].all()
    # the rates are at 0.5 x the largest stable rates of the grouped operator, ratio 5:1 kept
    lam = h["lambda_max"][-1]
    assert caps[-1][0] == pytest.approx(0.5 * 2 / lam, rel=1e-12)
    assert caps[-1][1] == pytest.approx(0.5 * 2 / lam / 5, rel=1e-12)
    # with a rate below the cap nothing changes
    opt2 = torch.optim.SGD(m.parameters(), lr=1e-4)
    mon2 = SharpnessMonitor(m, F.cross_entropy, (x, y), guard=0.5)
    mon2.step(opt2)
    assert opt2.param_groups[0]["lr"] == 1e-4 and not mon2.history["capped"][0]


def test_guard_keeps_divergent_gd_stable():
    m, x, y = problem()
    L = lrcore.top_eigenvalue(hessian(m, F.cross_entropy, (x, y)), seed=0).value
    losses = {}
    for guard in (None, 0.8):
        mm, _, _ = problem()
        opt = torch.optim.SGD(mm.parameters(), lr=3.0 / L)        # beyond the edge 2/L
        mon = SharpnessMonitor(mm, F.cross_entropy, (x, y), every=1, guard=guard)
        out = []
        for _ in range(30):
            opt.zero_grad()
            loss = F.cross_entropy(mm(x), y)
            loss.backward()
            out.append(float(loss.detach()))
            opt.step()
            mon.step(opt)
        losses[guard] = out
    assert losses[0.8][-1] < losses[0.8][0]
    assert losses[0.8][-1] < losses[None][-1]


def test_monitoring_leaves_training_bit_for_bit_unchanged():
    """Dropout in train mode and a shuffling loader draw from the global RNG; the monitor's
    passes over a (shuffling) measurement loader must not disturb either."""
    def run(with_monitor):
        m, x, y = problem(dropout=0.2)
        torch.manual_seed(42)
        np.random.seed(1)
        random.seed(2)
        ds = torch.utils.data.TensorDataset(x, y)
        train = torch.utils.data.DataLoader(ds, batch_size=50, shuffle=True)
        meas = torch.utils.data.DataLoader(ds, batch_size=100, shuffle=True)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        mon = SharpnessMonitor(m, F.cross_entropy, meas, every=3) if with_monitor else None
        for xb, yb in train:
            opt.zero_grad()
            F.cross_entropy(m(xb), yb).backward()
            opt.step()
            if mon is not None:
                mon.step(opt)
        assert m.training
        return [p.detach().clone() for p in m.parameters()], torch.get_rng_state()

    (a, ra), (b, rb) = run(False), run(True)
    assert all(torch.equal(p, q) for p, q in zip(a, b)) and torch.equal(ra, rb)


def test_errors():
    m, x, y = problem()
    for bad in (0, -1):
        with pytest.raises(ValueError, match="every"):
            SharpnessMonitor(m, F.cross_entropy, (x, y), every=bad)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="every"):
            SharpnessMonitor(m, F.cross_entropy, (x, y), every=bad)
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="guard"):
            SharpnessMonitor(m, F.cross_entropy, (x, y), guard=bad)
    with pytest.raises(ValueError, match="method"):
        SharpnessMonitor(m, F.cross_entropy, (x, y), method="adagrad")
    with pytest.raises(ValueError, match="tol"):
        SharpnessMonitor(m, F.cross_entropy, (x, y), tol=0.0)
    with pytest.raises(TypeError, match="seed"):
        SharpnessMonitor(m, F.cross_entropy, (x, y), seed=1.5)
    with pytest.raises(TypeError, match="warm"):
        SharpnessMonitor(m, F.cross_entropy, (x, y), warm=1)
    mon = SharpnessMonitor(m, F.cross_entropy, (x, y))
    with pytest.raises(TypeError, match="optimizer"):
        mon.step("sgd")


def test_v0_mix_is_passed_to_the_solver(monkeypatch):
    torch = pytest.importorskip("torch")
    import lrcore.torch.monitor as mod
    from lrcore.torch import SharpnessMonitor

    seen = []
    real = mod.top_eigenvalue

    def spy(*a, **k):
        seen.append(k.get("v0_mix"))
        return real(*a, **k)

    monkeypatch.setattr(mod, "top_eigenvalue", spy)
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(3, 1, bias=False).double()
    x = torch.randn(32, 3, dtype=torch.float64, generator=g)
    y = torch.randn(32, 1, dtype=torch.float64, generator=g)
    loss = torch.nn.functional.mse_loss
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = SharpnessMonitor(model, loss, (x, y), every=1, v0_mix=1e-3, seed=0)
    a = mon.measure(opt)["lambda_max"]
    b = mon.measure(opt)["lambda_max"]             # warm, from the first vector
    assert seen == [1e-3, 1e-3]
    H = 2 * (x.T @ x).numpy() / len(x)             # mse_loss: the exact Hessian
    want = np.linalg.eigvalsh(H)[-1]
    assert a == pytest.approx(want, rel=1e-6) and b == pytest.approx(want, rel=1e-6)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="v0_mix"):
            SharpnessMonitor(model, loss, (x, y), v0_mix=bad)


def test_monitor_notices_a_new_optimizer_even_at_a_reused_id():
    F = torch.nn.functional.mse_loss
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, generator=g, dtype=torch.float64)
    y = torch.randn(30, 1, generator=g, dtype=torch.float64)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    mon = SharpnessMonitor(m, F, (x, y), every=1)
    for t in range(40):                  # ids of freed optimizers are reused by CPython
        opt = torch.optim.SGD(m.parameters() if t % 2 == 0 else m[2].parameters(), lr=0.1)
        mon.step(opt)
        assert mon.hessian.n == (21 if t % 2 == 0 else 5), t
        del opt


@pytest.mark.parametrize("kw,exc,match", [
    (dict(model="not a model"), TypeError, "model"),
    (dict(loss_fn=42), TypeError, "loss_fn"),
    (dict(data=None), TypeError, "data"),
    (dict(reduction="bogus"), ValueError, "reduction"),
    (dict(hvp="nope"), ValueError, "hvp"),
    (dict(train="yes"), TypeError, "train"),
    (dict(dtype="int32"), TypeError, "dtype"),
    (dict(maxiter=-3), ValueError, "maxiter"),
    (dict(ncv=1), ValueError, "ncv"),
])
def test_monitor_checks_its_arguments_at_construction(kw, exc, match):
    base = dict(model=torch.nn.Linear(3, 1), loss_fn=torch.nn.functional.mse_loss,
                data=(torch.randn(4, 3), torch.randn(4, 1)))
    args = {**base, **kw}
    with pytest.raises(exc, match=match):
        SharpnessMonitor(args.pop("model"), args.pop("loss_fn"), args.pop("data"), **args)
