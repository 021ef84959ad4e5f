"""lrcore.optim optimizers with a step-size rule as ``lr=``: the same C state machine as
descend (bit-identical runs), several arrays and float32, persistence, and bad input."""
import math

import numpy as np
import pytest

from reference import adaptive as twin
from lrcore import NonFiniteError
from lrcore import adaptive as A
from lrcore.optim import SGD, Adam, AdamW, RMSprop
from lrcore.problems import Quadratic
from lrcore.stability import descend

rng = np.random.default_rng(3)
Q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
P = Quadratic(Q @ np.diag(np.linspace(0.5, 8.0, 6)) @ Q.T, rng.normal(size=6))
F_STAR = float(P.value(np.linalg.solve(P.A, P.b)))

OPT_RULES = [A.polyak(F_STAR), A.polyak(F_STAR - 1.0, max_lr=0.2),
             A.barzilai_borwein(fallback="last", lr0=0.05),
             A.barzilai_borwein(2, fallback="last", lr0=0.05), A.adgd(),
             A.adgd(1e-3, "2023"), A.dog(), A.dadapt_sgd(momentum=0.9), A.dadapt_sgd(lr=0.3),
             A.prodigy(), A.schedule_free(lr=0.1, warmup_steps=5)]


def _opt(x, rule):
    return (Adam if rule.name == "prodigy" else SGD)(x, lr=rule)


@pytest.mark.parametrize("rule", OPT_RULES, ids=repr)
def test_optimizer_is_the_descend_machine(rule):
    tr = descend(P, np.zeros(6), rule, steps=60)
    x = np.zeros(6)
    opt = _opt(x, rule)
    for k in range(tr.steps_run):
        f, g = P.value_and_grad(x)
        assert opt.step(g, loss=f)
        assert opt.current_lr() == tr.rates[k]
    np.testing.assert_array_equal(x, tr.x)
    assert opt.t == tr.steps_run


def test_several_arrays_and_float32():
    """Arrays are gathered into one float64 vector for the rule (one rule across all
    arrays, as one parameter group of the authors' optimizers) and written back."""
    rule = A.dog()
    a, b = np.zeros(4), np.zeros(2, dtype=np.float32)
    opt = SGD([a, b], lr=rule)
    x = np.zeros(6)
    ref = SGD(x, lr=rule)
    for _ in range(30):
        xa = np.concatenate([a, b.astype(np.float64)])
        g = P.grad(xa)
        opt.step([g[:4].copy(), g[4:].astype(np.float32)])
        ref.step(P.grad(x))
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.concatenate([a, b]), x, rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_continues_identically():
    rule = A.prodigy()
    x = np.zeros(6)
    opt = Adam(x, lr=rule)
    for _ in range(10):
        opt.step(P.grad(x))
    sd = opt.state_dict()
    y = x.copy()
    opt2 = Adam(y, lr=rule)
    opt2.load_state_dict(sd)
    for _ in range(10):
        opt.step(P.grad(x))
        opt2.step(P.grad(y))
    np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="rule state"):
        opt2.load_state_dict({**sd, "rule_state": {"t": 1}})


def test_schedule_free_eval_params_is_the_average():
    rule = A.schedule_free(lr=0.2, momentum=0.8)
    x = np.zeros(6)
    opt = SGD(x, lr=rule)
    for _ in range(25):
        opt.step(P.grad(x))
    st = {}
    y = np.zeros(6)
    for _ in range(25):
        y, _ = twin._sf_step(st, rule.params, y, P.grad(y), np.zeros(6))
    np.testing.assert_allclose(x, y, rtol=1e-12)
    np.testing.assert_allclose(opt.eval_params(), twin.sf_average(y, st["z"], 0.8),
                               rtol=1e-12)
    assert not np.shares_memory(opt.eval_params(), x)


def test_rule_step_for_step_against_twin_formulas():
    """Each optimizer step's rate from the twin's formula at the optimizer's own points."""
    x = np.zeros(6)
    opt = SGD(x, lr=A.adgd(variant="2023", lr0=1e-2))
    xp = gp = None
    lam, theta = 1e-2, 1 / 3
    for k in range(40):
        g = P.grad(x)
        x_before = x.copy()
        opt.step(g)
        if k == 0:
            want = 1e-2
        else:
            L = np.linalg.norm(g - gp) / np.linalg.norm(x_before - xp)
            a = 2 * lam ** 2 * L ** 2 - 1
            want = min(math.sqrt(2 / 3 + theta) * lam, lam / math.sqrt(a) if a > 0 else math.inf)
            theta = want / lam
        assert opt.current_lr() == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(x, x_before - want * g, rtol=1e-12, atol=1e-15)
        lam, xp, gp = want, x_before, g


# ----------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------

def test_polyak_needs_the_loss():
    x = np.ones(6)
    opt = SGD(x, lr=A.polyak())
    with pytest.raises(ValueError, match="needs the loss"):
        opt.step(P.grad(x))
    assert np.all(x == 1) and opt.t == 0


def test_nan_loss_or_gradient_modifies_nothing():
    x = np.ones(6)
    opt = SGD(x, lr=A.polyak(F_STAR))
    opt.step(P.grad(x), loss=P.value(x))
    before, sd = x.copy(), opt.state_dict()
    with pytest.raises(NonFiniteError):
        opt.step(P.grad(x), loss=math.nan)
    g = P.grad(x)
    g[2] = np.inf
    with pytest.raises(NonFiniteError):
        opt.step(g, loss=P.value(x))
    np.testing.assert_array_equal(x, before)
    assert opt.state_dict()["rule_state"]["t"] == sd["rule_state"]["t"] == opt.t == 1
    skip = SGD(x, lr=A.dog(), nonfinite="skip")
    assert skip.step(g) is False and skip.n_skipped == 1
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("make,match", [
    (lambda x: SGD(x, lr=A.armijo()), "descend"),
    (lambda x: SGD(x, lr=A.curvature()), "descend"),
    (lambda x: SGD(x, lr=A.barzilai_borwein()), "fallback='last'"),
    (lambda x: SGD(x, lr=A.prodigy()), "not prodigy"),
    (lambda x: SGD(x, lr=A.dog(), momentum=0.9), "momentum"),
    (lambda x: SGD(x, lr=A.dog(), weight_decay=0.1), "weight_decay"),
    (lambda x: Adam(x, lr=A.dog()), "prodigy"),
    (lambda x: Adam(x, lr=A.prodigy(), betas=(0.8, 0.99)), "betas"),
    (lambda x: AdamW(x, lr=A.prodigy()), "AdamW"),
])
def test_rules_an_optimizer_cannot_run_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make(np.zeros(3))


def test_other_optimizers_refuse_rules():
    with pytest.raises(TypeError):
        RMSprop(np.zeros(3), lr=A.dog())


# ---- review findings: torch versions, checked rule state, pickling ----------------------

@pytest.mark.parametrize("rule", [A.dog(), A.schedule_free(lr=0.1), A.polyak()], ids=repr)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rule_step_bumps_torch_versions(rule, dtype):
    """A tensor saved for backward and then updated by a rule step makes backward() raise,
    as with a plain step (a silent gradient at the new point would be wrong)."""
    torch = pytest.importorskip("torch")
    w = torch.tensor([1.0, 2.0], dtype=getattr(torch, dtype), requires_grad=True)
    opt = SGD([w], lr=rule)
    loss = (w ** 3).sum()                     # the graph saves w
    v0 = w._version
    opt.step([torch.ones(2, dtype=w.dtype)], loss=float(loss.detach()))
    assert w._version > v0
    with pytest.raises(RuntimeError, match="inplace"):
        loss.backward()


def _stepped(rule, steps=3):
    x = np.zeros(6)
    opt = _opt(x, rule)
    for _ in range(steps):
        f, g = P.value_and_grad(x)
        opt.step(g, loss=f)
    return x, opt


def test_load_state_dict_refuses_another_rule_or_no_rule():
    _, a = _stepped(A.dog())
    sd = a.state_dict()
    assert sd["rule"] == A.dog().to_dict()
    b = SGD(np.zeros(6), lr=A.schedule_free(lr=0.1))
    with pytest.raises(ValueError, match="saved with the rule"):
        b.load_state_dict(sd)
    plain = SGD(np.zeros(6), lr=0.1)
    plain.step(np.ones(6))
    with pytest.raises(ValueError, match="no step-size rule state"):
        SGD(np.zeros(6), lr=A.dog()).load_state_dict(plain.state_dict())
    with pytest.raises(ValueError, match="with a step-size rule"):
        plain.load_state_dict(sd)
    # an optimizer saved before its first step restarts the rule
    fresh = SGD(np.zeros(6), lr=A.dog())
    fresh.load_state_dict(SGD(np.zeros(6), lr=A.dog()).state_dict())


@pytest.mark.parametrize("key,value,match", [
    ("d", math.nan, "'d'"), ("d", -5.0, "'d'"), ("d", 0.0, "'d'"),
    ("g0norm", math.inf, "'g0norm'"), ("numerator", math.nan, "'numerator'"),
    ("theta", math.nan, "'theta'"), ("lr", math.nan, "'lr'"), ("lr_max", -2.0, "'lr_max'"),
])
def test_rule_state_values_are_checked_and_nothing_changes(key, value, match):
    x, opt = _stepped(A.dadapt_sgd())
    sd = opt.state_dict()
    bad = {**sd, "rule_state": {**sd["rule_state"], key: value}}
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["t"] == before["t"]
    for k, v in before["rule_state"].items():
        np.testing.assert_array_equal(after["rule_state"][k], v)
    work = sd["rule_state"]["work"].copy()
    work[0] = np.nan
    with pytest.raises(ValueError, match="'work' holds NaN"):
        opt.load_state_dict({**sd, "rule_state": {**sd["rule_state"], "work": work}})


@pytest.mark.parametrize("rule", [A.dog(), A.schedule_free(lr=0.1), A.polyak(F_STAR),
                                  A.prodigy(), A.dadapt_sgd(momentum=0.9)], ids=repr)
def test_rule_optimizers_pickle_and_deepcopy_mid_run(rule):
    import copy
    import pickle

    x, opt = _stepped(rule, steps=5)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        y = clone._params[0]
        assert y is not x and np.array_equal(y, x)
        xa = x.copy()
        oa = copy.deepcopy(opt)
        xa = oa._params[0]
        for _ in range(5):
            f, g = P.value_and_grad(xa)
            oa.step(g, loss=f)
            f, g = P.value_and_grad(y)
            clone.step(g, loss=f)
        np.testing.assert_array_equal(y, xa)
