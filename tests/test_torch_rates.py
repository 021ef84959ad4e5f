"""lrcore.torch.safe_lr against formulas computed by hand on the exact Hessian.

Reference: the full Hessian of a small tanh MLP (6-16-3, 163 parameters) by
``torch.func.hessian``, the preconditioner read by hand from the optimizer's state
(PyTorch's Adam: ``denom = sqrt(v) / sqrt(1 - beta2**t) + eps``), ``numpy.linalg.eigvalsh``,
and the stability formulas written out here (not lrcore's functions).
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_models import flat_loss, full_batch_steps, tanh_classifier  # noqa: E402

from lrcore import SafeRate  # noqa: E402
from lrcore.torch import GroupSafeRates, safe_lr  # noqa: E402

F = torch.nn.functional
pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOL = dict(tol=1e-10, seed=0, certified=False)


def make(seed=0, n=80):
    """The 6-16-3 tanh MLP (163 parameters) and n rows."""
    return tanh_classifier(n, 6, 16, 3, seed=seed)


def exact_hessian(m, x, y, params=None):
    """(the exact Hessian, symmetrised, and gradient) w.r.t. all or ``params`` only."""
    f, flat = flat_loss(m, x, y, params=params)
    H = torch.func.hessian(f)(flat).detach().numpy()
    return (H + H.T) / 2, torch.func.grad(f)(flat).detach().numpy()


def lmax(A):
    return float(np.linalg.eigvalsh(A)[-1])


def close(a, b, rtol=1e-8):
    assert abs(a - b) <= rtol * abs(b), (a, b)


def test_sgd():
    m, x, y = make()
    H, _ = exact_hessian(m, x, y)
    L = lmax(H)
    r = safe_lr(m, F.cross_entropy, (x, y), torch.optim.SGD(m.parameters(), lr=0.1), **TOL)
    assert isinstance(r, SafeRate) and r.method == "gd" and r.momentum == 0.0
    close(r.L, L, 1e-10)
    close(r.max_stable, 2 / L)
    close(r.recommended, 1 / L)


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_heavy_ball_and_nesterov(beta):
    m, x, y = make()
    L = lmax(exact_hessian(m, x, y)[0])
    r = safe_lr(m, F.cross_entropy, (x, y),
                torch.optim.SGD(m.parameters(), lr=0.1, momentum=beta), **TOL)
    assert r.method == "heavy_ball" and r.momentum == beta
    close(r.max_stable, 2 * (1 + beta) / L)
    close(r.recommended, (1 + beta) / L)
    r = safe_lr(m, F.cross_entropy, (x, y),
                torch.optim.SGD(m.parameters(), lr=0.1, momentum=beta, nesterov=True), **TOL)
    assert r.method == "nesterov"
    close(r.max_stable, (2 + 2 * beta) / ((1 + 2 * beta) * L))
    close(r.recommended, 1 / L)


def test_dampening_and_weight_decay():
    """torch's b <- mu b + (1 - d) g: heavy ball at the rate (1 - d) lr; coupled weight
    decay adds wd I to the Hessian."""
    m, x, y = make()
    L = lmax(exact_hessian(m, x, y)[0])
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, dampening=0.3,
                          weight_decay=0.05)
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    close(r.L, L + 0.05, 1e-10)
    close(r.max_stable, 2 * 1.9 / (L + 0.05) / 0.7)
    assert "dampening" in r.note and "effective rate" in r.note


def adam_P(opt, params, amsgrad=False):
    parts = []
    for p in params:
        st = opt.state[p]
        g = opt.param_groups[0]
        b2, eps = g["betas"][1], g["eps"]
        v = (st["max_exp_avg_sq"] if amsgrad else st["exp_avg_sq"]).double().numpy().ravel()
        t = float(st["step"])
        parts.append(np.sqrt(v / (1 - b2 ** t)) + eps)
    return np.concatenate(parts)


@pytest.mark.parametrize("cls, kw", [
    (torch.optim.Adam, dict(lr=1e-2)),
    (torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, amsgrad=True)),
    (torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1)),
    (torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
])
def test_adam(cls, kw):
    m, x, y = make()
    opt = cls(m.parameters(), **kw)
    full_batch_steps(m, opt, x, y, 4)
    H, _ = exact_hessian(m, x, y)
    d = 1 / np.sqrt(adam_P(opt, list(m.parameters()), kw.get("amsgrad", False)))
    coupled = cls is torch.optim.Adam and kw.get("weight_decay", 0)
    A = H + (kw["weight_decay"] * np.eye(len(d)) if coupled else 0)
    lam = lmax(d[:, None] * A * d[None, :])
    b1 = kw.get("betas", (0.9, 0.999))[0]
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    assert r.method == "adam" and r.momentum == b1
    close(r.L, lam, 1e-9)
    close(r.max_stable, (2 + 2 * b1) / ((1 - b1) * lam))
    close(r.recommended, (1 + b1) / ((1 - b1) * lam))
    if cls is torch.optim.AdamW:
        assert "decoupled weight decay" in r.note


def test_adam_without_state_uses_the_first_step_preconditioner():
    m, x, y = make()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    H, g = exact_hessian(m, x, y)
    d = 1 / np.sqrt(np.abs(g) + 1e-8)
    lam = lmax(d[:, None] * H * d[None, :])
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    close(r.L, lam, 1e-8)
    assert "no state yet" in r.note and not opt.state
    # and that is what Adam's first step uses: v_hat_1 = g^2
    full_batch_steps(m, opt, x, y, 1)
    assert np.allclose(adam_P(opt, list(m.parameters())), np.abs(g) + 1e-8, rtol=1e-12)


def test_rmsprop():
    m, x, y = make()
    opt = torch.optim.RMSprop(m.parameters(), lr=1e-3, alpha=0.9, momentum=0.5)
    full_batch_steps(m, opt, x, y, 3)
    H, _ = exact_hessian(m, x, y)
    v = np.concatenate([opt.state[p]["square_avg"].numpy().ravel() for p in m.parameters()])
    d = 1 / np.sqrt(np.sqrt(v) + 1e-8)
    lam = lmax(d[:, None] * H * d[None, :])
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    assert r.method == "heavy_ball"
    close(r.max_stable, 2 * 1.5 / lam)


def test_groups_keep_their_ratios():
    m, x, y = make()
    H, _ = exact_hessian(m, x, y)
    first, last = list(m[0].parameters()), list(m[2].parameters())
    opt = torch.optim.SGD([{"params": first, "lr": 0.1}, {"params": last, "lr": 0.02}],
                          momentum=0.9)
    k = sum(p.numel() for p in first)
    s = np.concatenate([np.ones(k), np.full(H.shape[0] - k, 0.2)])
    lam = lmax(np.sqrt(s)[:, None] * H * np.sqrt(s)[None, :])
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    assert isinstance(r, GroupSafeRates) and len(r) == 2
    close(r[0].max_stable, 2 * 1.9 / lam)
    close(r[1].max_stable, 0.2 * 2 * 1.9 / lam)
    assert r.max_stable == [g.max_stable for g in r]
    # same rates in every group: one SafeRate
    opt = torch.optim.SGD([{"params": first}, {"params": last}], lr=0.1)
    assert isinstance(safe_lr(m, F.cross_entropy, (x, y), opt, **TOL), SafeRate)


def test_groups_with_different_momenta_are_measured_block_by_block():
    m, x, y = make()
    first, last = list(m[0].parameters()), list(m[2].parameters())
    opt = torch.optim.SGD([{"params": first, "momentum": 0.9}, {"params": last}], lr=0.1)
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    H0, _ = exact_hessian(m, x, y, first)
    H1, _ = exact_hessian(m, x, y, last)
    close(r[0].max_stable, 2 * 1.9 / lmax(H0))
    close(r[1].max_stable, 2 / lmax(H1))
    assert r[0].method == "heavy_ball" and r[1].method == "gd" and "block" in r[0].note


def test_certified_is_on_the_safe_side_and_note_says_where():
    m, x, y = make()
    m.train()
    L = lmax(exact_hessian(m, x, y)[0])
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    ds = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=False)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    r = safe_lr(m, F.cross_entropy, loader, torch.optim.SGD(m.parameters(), lr=0.1),
                seed=1)
    assert torch.equal(states[0], torch.get_rng_state())
    assert np.array_equal(states[1], np.random.get_state()[1]) and states[2] == random.getstate()
    assert m.training
    assert r.L_upper >= L * (1 - 1e-12) and r.L <= L * (1 + 1e-12)
    assert r.max_stable <= 2 / L * (1 + 1e-12)
    for s in ("N = 80 samples", "3 batches", "eval mode", f"{r.n_matvec} HVPs", "float64",
              "current parameters", "lambda_max(H)"):
        assert s in r.where, s
    assert r.bound == "probabilistic" and "probability" in r.note and "mu not measured" in r.note


def test_errors():
    m, x, y = make()
    with pytest.raises(TypeError, match="Adagrad"):
        safe_lr(m, F.cross_entropy, (x, y), torch.optim.Adagrad(m.parameters()))
    with pytest.raises(ValueError, match="maximize"):
        safe_lr(m, F.cross_entropy, (x, y), torch.optim.SGD(m.parameters(), lr=0.1,
                                                            maximize=True))
    with pytest.raises(TypeError, match="optimizer"):
        safe_lr(m, F.cross_entropy, (x, y), "sgd")
    other = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="not a parameter of model"):
        safe_lr(m, F.cross_entropy, (x, y), torch.optim.SGD([other], lr=0.1))
    assert math.isfinite(safe_lr(m, F.cross_entropy, (x, y),
                                 torch.optim.SGD(m.parameters(), lr=0.1), seed=0).max_stable)


def test_preconditioned_operator():
    from lrcore.torch import hessian, preconditioned

    m, x, y = make()
    H, g = exact_hessian(m, x, y)
    op = hessian(m, F.cross_entropy, (x, y))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    with pytest.raises(ValueError, match="no state yet"):
        preconditioned(op, opt)
    M = preconditioned(op, opt, first_step=True)
    d = 1 / np.sqrt(np.abs(g) + 1e-8)
    v = np.random.default_rng(0).standard_normal(op.n)
    assert np.allclose(M @ v, d * (H @ (d * v)), rtol=1e-10, atol=1e-12)
    assert M.what == "P^-1/2 H P^-1/2" and M.num_hvps == op.num_hvps and M.n == op.n
    full_batch_steps(m, opt, x, y, 3)
    H, _ = exact_hessian(m, x, y)
    d = 1 / np.sqrt(adam_P(opt, list(m.parameters())))
    M = preconditioned(op, opt)
    assert np.allclose(M @ v, d * (H @ (d * v)), rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="SGD"):
        preconditioned(op, torch.optim.SGD(m.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="HessianOperator"):
        preconditioned(H, opt)


# ------------------------------------------------------------------- the certified choice

def test_certified_is_lrcore_safe_lr_on_the_same_operator():
    """One implementation of the certified choice: lrcore.torch.safe_lr hands the operator to
    lrcore.safe_lr (bound_rtol, the lengthened first Lanczos cycle), so both give the same
    numbers for the same seed."""
    import lrcore
    import lrcore.rates
    from lrcore.torch import hessian

    m, x, y = make()
    L = lmax(exact_hessian(m, x, y)[0])
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    r = safe_lr(m, F.cross_entropy, (x, y), opt, seed=3)
    H = hessian(m, F.cross_entropy, (x, y))
    ref = lrcore.safe_lr(H, method="heavy_ball", momentum=0.9, mu=0.0, seed=3)
    assert (r.L, r.L_upper, r.max_stable, r.recommended, r.n_matvec, r.bound) == \
        (ref.L, ref.L_upper, ref.max_stable, ref.recommended, ref.n_matvec, ref.bound)
    assert r.n_matvec == H.num_hvps
    assert r.L_upper >= L and r.L <= L * (1 + 1e-12)
    assert r.max_stable == pytest.approx(2 * 1.9 / r.L_upper, rel=1e-14)
    # the interval is as tight as asked (up to the rounding allowance)
    assert r.L_upper - r.L <= 0.021 * r.L


def test_bound_rtol_and_solver_are_passed_on():
    m, x, y = make()
    L = lmax(exact_hessian(m, x, y)[0])
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    tight = safe_lr(m, F.cross_entropy, (x, y), opt, seed=0)
    loose = safe_lr(m, F.cross_entropy, (x, y), opt, seed=0, bound_rtol=0.2)
    assert loose.n_matvec < tight.n_matvec
    assert tight.L_upper <= loose.L_upper and loose.L_upper >= L
    assert loose.L_upper - loose.L <= 0.21 * loose.L
    p = safe_lr(m, F.cross_entropy, (x, y), opt, seed=0, solver="power", tol=1e-8,
                certified=False)
    close(p.L, L, 1e-6)
    assert "by power" in p.where
    unc = safe_lr(m, F.cross_entropy, (x, y), opt, seed=0, certified=False)
    close(unc.max_stable, 2 / unc.L, 1e-14)
    assert unc.n_matvec < tight.n_matvec


def test_no_finite_bound_warns_and_uses_the_estimate():
    import lrcore
    import lrcore.rates

    m, x, y = make()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with pytest.warns(lrcore.rates.CertificationWarning):
        with pytest.warns(lrcore.ConvergenceWarning):
            r = safe_lr(m, F.cross_entropy, (x, y), opt, seed=0, maxiter=2)
    assert r.bound == "none" and r.L_upper == math.inf
    close(r.max_stable, 2 / r.L, 1e-14)
    assert "no finite certified bound" in r.note and "did not converge" in r.note


def test_certified_groups_keep_their_ratios_and_blocks_are_certified_each():
    m, x, y = make()
    H, _ = exact_hessian(m, x, y)
    first, last = list(m[0].parameters()), list(m[2].parameters())
    opt = torch.optim.SGD([{"params": first, "lr": 0.1}, {"params": last, "lr": 0.05}],
                          momentum=0.5, weight_decay=0.01)
    r = safe_lr(m, F.cross_entropy, (x, y), opt, seed=1)
    k = sum(p.numel() for p in first)
    s = np.concatenate([np.ones(k), np.full(H.shape[0] - k, 0.5)])
    lam = lmax(np.sqrt(s)[:, None] * (H + 0.01 * np.eye(len(s))) * np.sqrt(s)[None, :])
    assert isinstance(r, GroupSafeRates)
    assert r[0].L_upper >= lam and r[0].L <= lam * (1 + 1e-12)
    close(r[0].max_stable, 2 * 1.5 / r[0].L_upper, 1e-14)
    close(r[1].max_stable, 0.5 * r[0].max_stable, 1e-14)
    assert "S^1/2 (H + W) S^1/2" in r[0].where and "ratios (1, 0.5" in r[0].note
    # different momenta: each block certified on its own
    opt = torch.optim.SGD([{"params": first, "momentum": 0.9}, {"params": last}], lr=0.1)
    r = safe_lr(m, F.cross_entropy, (x, y), opt, seed=1)
    for g, params in ((0, first), (1, last)):
        lb = lmax(exact_hessian(m, x, y, params)[0])
        assert r[g].L_upper >= lb and r[g].bound == "probabilistic"
        assert f"group {g} measured on its own Hessian block" in r[g].note
    close(r[0].max_stable, 2 * 1.9 / r[0].L_upper, 1e-14)
    close(r[1].max_stable, 2 / r[1].L_upper, 1e-14)


def test_frozen_group_and_argument_errors():
    m, x, y = make()
    first, last = list(m[0].parameters()), list(m[2].parameters())
    opt = torch.optim.SGD([{"params": first, "lr": 0.1}, {"params": last, "lr": 0.0}])
    r = safe_lr(m, F.cross_entropy, (x, y), opt, **TOL)
    assert math.isfinite(r[0].max_stable) and math.isnan(r[1].max_stable)
    assert "group 1 has lr 0" in r[0].note
    sgd = torch.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="certified"):
        safe_lr(m, F.cross_entropy, (x, y), sgd, certified=1)
    with pytest.raises(ValueError, match="bound_rtol"):
        safe_lr(m, F.cross_entropy, (x, y), sgd, bound_rtol=0.0)
    with pytest.raises(ValueError, match="solver"):
        safe_lr(m, F.cross_entropy, (x, y), sgd, solver="eigsh")


def test_block_groups_at_lr_zero_in_a_warmup_are_measured():
    g = torch.Generator().manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    x = torch.randn(30, 3, generator=g, dtype=torch.float64)
    y = torch.randn(30, 1, generator=g, dtype=torch.float64)
    F = torch.nn.functional.mse_loss

    def make():
        return torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.1, "momentum": 0.9},
                                {"params": m[2].parameters(), "lr": 0.1}])

    ref = safe_lr(m, F, (x, y), make(), seed=0)
    opt = make()
    torch.optim.lr_scheduler.LambdaLR(opt, lambda t: t / 10)     # every lr is 0 now
    assert all(gr["lr"] == 0.0 for gr in opt.param_groups)
    r = safe_lr(m, F, (x, y), opt, seed=0)
    assert all(math.isfinite(v) for v in r.max_stable)
    np.testing.assert_allclose(r.max_stable, ref.max_stable, rtol=1e-10)
    # a group frozen at lr 0 (no warmup) is still reported as not measured
    opt2 = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.0, "momentum": 0.9},
                            {"params": m[2].parameters(), "lr": 0.1}])
    r2 = safe_lr(m, F, (x, y), opt2, seed=0)
    assert math.isnan(r2.max_stable[0]) and math.isfinite(r2.max_stable[1])
