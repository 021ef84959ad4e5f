"""Step-for-step parity of lrcore.optim with torch.optim (the reference implementations).

torch is not a dependency: these tests skip when it is not installed (CI installs a CPU
build first, so they always run there).
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from lrcore import optim

torch = pytest.importorskip("torch", reason="torch is the reference for the parity tests")

STEPS = 50
# float64: identical operation order except Adam's single-division denominator (Kingma & Ba,
# sec. 2), so agreement is to rounding accumulated over 50 steps.  float32: both compute in
# float32; PyTorch may use different SIMD paths and Adam differs in operation order, so the
# relative agreement is a few float32 ulps amplified by 50 steps.
TOL = {np.float64: dict(rtol=1e-11, atol=1e-13), np.float32: dict(rtol=2e-5, atol=2e-6)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def run_pair(make_ours, make_theirs, dtype, n=257, seed=0, lr_seq=None):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n).astype(dtype)
    grads = [rng.normal(size=n).astype(dtype) * (10.0 ** rng.uniform(-3, 1)) for _ in range(STEPS)]
    x = x0.copy()
    ours = make_ours(x)
    p = torch.nn.Parameter(torch.tensor(x0.copy(), dtype=TORCH_DTYPE[dtype]))
    theirs = make_theirs([p])
    for t, g in enumerate(grads):
        if lr_seq is not None:
            for group in theirs.param_groups:
                group["lr"] = lr_seq(t)
        assert ours.step(g)
        p.grad = torch.tensor(g)
        theirs.step()
        assert_allclose(x, p.detach().numpy(), **TOL[dtype], err_msg=f"step {t + 1}")
    return ours, theirs


def run_same(name, kw, dtype):
    """run_pair on the class called ``name`` in lrcore.optim and in torch.optim (foreach=False),
    both made with the keywords ``kw``."""
    return run_pair(lambda x: getattr(optim, name)(x, **kw),
                    lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw), dtype)


SGD_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),          # first-step rule matters here
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_parity(dtype, kw):
    run_same("SGD", kw, dtype)


ADAM_CASES = [
    dict(lr=1e-2),
    dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    dict(lr=1e-2, amsgrad=True),
    dict(lr=1e-2, betas=(0.3, 0.6), amsgrad=True, weight_decay=0.05),   # lerp's w >= 0.5 branch
    dict(lr=3e-3, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_parity(dtype, kw):
    run_same("Adam", kw, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [dict(lr=1e-2), dict(lr=1e-2, weight_decay=0.3, amsgrad=True)])
def test_adamw_parity(dtype, kw):
    run_same("AdamW", kw, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_parity_with_a_varying_lr(dtype):
    sched = lambda t: 1e-2 * (0.5 + 0.5 * np.cos(np.pi * t / STEPS))  # noqa: E731
    run_pair(lambda x: optim.Adam(x, lr=sched),
             lambda ps: torch.optim.Adam(ps, lr=sched(0), foreach=False), dtype, lr_seq=sched)


RMS_CASES = [
    dict(lr=1e-2),
    dict(lr=1e-2, centered=True),
    dict(lr=1e-3, momentum=0.9),
    dict(lr=1e-3, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
    dict(lr=1e-3, alpha=0.3, centered=True, maximize=True),                # lerp's other branch
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", RMS_CASES)
def test_rmsprop_parity(dtype, kw):
    run_same("RMSprop", kw, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [
    dict(lr=1e-1),
    dict(lr=1e-1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3),
    dict(lr=1e-1, eps=1e-6, maximize=True),
])
def test_adagrad_parity(dtype, kw):
    run_same("Adagrad", kw, dtype)


def test_state_buffers_match_torch():
    """Not only the parameters: the optimizer state agrees too (same buffers, same meaning)."""
    ours, theirs = run_same("Adam", dict(lr=1e-2, amsgrad=True), np.float64)
    st = next(iter(theirs.state.values()))
    for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert_allclose(ours.state[0][name], st[name].numpy(), rtol=1e-12, atol=1e-300)
    assert ours.t == int(st["step"])
