"""Step-size rules (lrcore.adaptive) in the C descend loop: against plain-numpy twins
(tests/reference/adaptive.py), step for step; behaviour on the shipped data; bad input.

Twin comparisons come in two forms:

- whole runs (``descend`` on a built-in problem vs the twin's own loop) for the rules whose
  iteration does not amplify rounding (line searches, DoG, the method rules, ...): every
  loss, rate, evaluation count and event, and the last iterate, to 1e-12 relative;
- step for step for every gradient rule (BB and AdGD amplify rounding over a run, like any
  non-monotone iteration): the C loop is driven through a Python objective that records
  each point it is asked about, and each step's rate and iterate are recomputed by the
  twin's formula from the C loop's own previous points, to 1e-12 relative.
"""
import json
import math
import pickle

import numpy as np
import pytest

from reference import adaptive as twin
from reference import problems as rp
import lrcore
from lrcore import adaptive as A
from lrcore import datasets
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic
from lrcore.stability import descend

RTOL = 1e-12


def _diabetes():
    X, y, _ = datasets.load_diabetes(standardize=True)
    X = np.hstack([X, np.ones((len(X), 1))])
    return LeastSquares(X, y)


def _cancer():
    X, y, _ = datasets.load_breast_cancer(standardize=True)
    return Logistic(X, y, l2=1e-3)


LS = _diabetes()
LG = _cancer()
F_STAR_LS = float(LS.value(np.linalg.lstsq(LS.X, LS.y, rcond=None)[0]))


def _rosenbrock(n):
    def vg(x):
        a, b = x[:-1], x[1:]
        f = float(np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2))
        g = np.zeros_like(x)
        g[:-1] += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
        g[1:] += 200.0 * (b - a * a)
        return f, g
    return vg


def _vg(problem):
    return lambda w: (rp.value(problem, w), rp.grad(problem, w))


# ----------------------------------------------------------------------------------------
# whole runs against the twin
# ----------------------------------------------------------------------------------------

STABLE_RULES = [
    A.armijo(), A.armijo(nonmonotone=5, grow=1.5), A.armijo(c=0.3, shrink=0.7, lr0=10.0),
    A.dog(), A.dog(reps_rel=1e-3, eps=0.0),
    A.dadapt_sgd(), A.dadapt_sgd(momentum=0.9, d0=1e-3, growth_rate=1.02),
    A.prodigy(), A.prodigy(betas=(0.0, 0.99), use_bias_correction=True, safeguard_warmup=True,
                           weight_decay=1e-2, beta3=0.9, d_coef=0.5),
    A.schedule_free(lr=0.1), A.schedule_free(lr=0.1, warmup_steps=10, r=0.5, weight_decay=1e-3),
]


def _compare(tr, tw, k_max=None):
    k = len(tw.losses)
    assert len(tr.losses) == k and tr.status == tw.status and tr.reason == tw.reason
    scale = np.maximum(np.abs(tw.losses), 1.0)
    np.testing.assert_array_less(np.abs(tr.losses - tw.losses) / scale, RTOL)
    np.testing.assert_allclose(tr.grad_norms, tw.gnorms, rtol=1e-10, atol=1e-300)
    if k > 1:
        np.testing.assert_allclose(tr.rates[:k - 1], tw.rates[:k - 1], rtol=RTOL, atol=0)
        assert [A.EVENTS[e] for e in tr.events[:k - 1]] == tw.events[:k - 1]
    assert list(tr.n_evals) == tw.n_evals
    xs = max(np.max(np.abs(tw.x)), 1e-300)
    assert np.max(np.abs(tr.x - tw.x)) / xs < 1e-11


@pytest.mark.parametrize("problem", [LS, LG], ids=["least_squares", "logistic"])
@pytest.mark.parametrize("rule", STABLE_RULES, ids=repr)
def test_whole_run_matches_twin(problem, rule):
    x0 = np.zeros(problem.dim)
    tr = descend(problem, x0, rule, steps=80)
    tw = twin.run(_vg(problem), x0, rule.name, rule.params, 80)
    _compare(tr, tw)


def test_callable_path_is_the_same_machine():
    """A problem from functions runs through the same C loop: bit-identical to the built-in
    path when given the built-in problem's own value_and_grad."""
    fp = Problem.from_functions(LS.value_and_grad, n=LS.dim)
    for rule in (A.armijo(), A.barzilai_borwein(), A.prodigy()):
        a = descend(LS, np.zeros(LS.dim), rule, steps=50)
        b = descend(fp, np.zeros(LS.dim), rule, steps=50)
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.rates, b.rates)
        np.testing.assert_array_equal(a.n_evals, b.n_evals)
        np.testing.assert_array_equal(a.x, b.x)


# ----------------------------------------------------------------------------------------
# step for step: each step recomputed from the C loop's own points
# ----------------------------------------------------------------------------------------

class Recorder:
    """value_and_grad that records every point the C loop asks about."""

    def __init__(self, vg):
        self.vg, self.points = vg, []

    def __call__(self, x):
        self.points.append(x.copy())
        return self.vg(x)


GRADIENT_RULES = [
    (A.polyak(F_STAR_LS), LS), (A.polyak(0.0, max_lr=0.3), LS),
    (A.barzilai_borwein(), LS), (A.barzilai_borwein(2), LG),
    (A.barzilai_borwein(fallback="last", lr0=1e-2), LG),
    (A.barzilai_borwein(min_lr=0.3, max_lr=0.4), LS),
    (A.adgd(), LS), (A.adgd(), LG), (A.adgd(1e-4, "2023"), LS), (A.dog(), LG),
    (A.armijo(), LG), (A.armijo(nonmonotone=4), LS),
]


@pytest.mark.parametrize("rule,problem", GRADIENT_RULES, ids=lambda v: repr(v)[:40])
def test_step_for_step(rule, problem):
    rec = Recorder(_vg(problem))
    fp = Problem.from_functions(rec, n=problem.dim)
    steps = 120
    tr = descend(fp, np.zeros(problem.dim), rule, steps=steps)
    pts = rec.points
    # the points asked about: iterates, and line-search trials between them
    ev = list(tr.n_evals)            # cumulative evaluations: iterate k is point ev[k] - 1
    iters = [pts[e - 1] for e in ev]
    state = {}
    for k in range(tr.steps_run):
        x, xn = iters[k], iters[k + 1]
        f, g = rp.value(problem, x), rp.grad(problem, x)
        eta = tr.rates[k]
        # the iterate moved by exactly the recorded rate
        np.testing.assert_allclose(xn, x - eta * g, rtol=RTOL, atol=RTOL * np.max(np.abs(x)))
        want = _twin_rate(rule, problem, state, k, x, f, g, iters, pts, ev)
        assert eta == pytest.approx(want, rel=1e-10), (k, eta, want)
        state["xp"], state["gp"], state["eta"] = x, g, eta


def _twin_rate(rule, problem, state, k, x, f, g, iters, pts, ev):
    """The rate the twin's formula gives at step k from the C loop's points."""
    p = rule.params
    if rule.name == "polyak":
        return min((f - p["f_star"]) / (g @ g), p["max_lr"])
    if rule.name == "dog":
        if k == 0:
            state["rbar"], state["G"] = p["reps_rel"] * (1 + np.linalg.norm(x)), g @ g + p["eps"]
        else:
            state["rbar"] = max(state["rbar"], np.linalg.norm(x - iters[0]))
            state["G"] += g @ g
        return state["rbar"] / math.sqrt(state["G"])
    if rule.name in ("armijo", "barzilai_borwein"):
        # the accepted trial: the last point asked about before iterate k+1 (its rate is
        # the recorded one; the test above checks the move); here check the search: every
        # trial before it failed the sufficient-decrease test and it passed
        trials = pts[ev[k]: ev[k + 1] - 1]
        c = p["c"]
        M = p.get("nonmonotone", 0)
        hist = state.setdefault("hist", [])
        hist.append(f)
        fref = max(hist[-M:]) if M > 1 else f
        if rule.name == "barzilai_borwein":
            if k > 0:
                s, y = x - state["xp"], g - state["gp"]
                q = s @ s / (s @ y) if p["variant"] == 1 else (s @ y) / (y @ y)
                if s @ y > 0 and 0 < q < math.inf:
                    return min(max(q, p["min_lr"]), p["max_lr"])
            base = p["lr0"] if k == 0 else state["eta"]
            if p["fallback"] == "last":
                return base
            eta0 = base
        else:
            eta0 = p["lr0"] if k == 0 else min(p["grow"] * state["eta"], p["max_lr"])
        gg = g @ g
        eta = eta0
        for i, t in enumerate(trials):
            np.testing.assert_allclose(t, x - eta * g, rtol=RTOL,
                                       atol=RTOL * np.max(np.abs(x)))
            ft = rp.value(problem, t)
            ok = ft <= fref - c * eta * gg
            assert ok == (i == len(trials) - 1), (k, i, ft, fref - c * eta * gg)
            if not ok:
                eta *= p["shrink"]
        return eta
    if rule.name == "adgd":
        if k == 0:
            state["theta"] = math.inf if p["variant"] == "2020" else 1 / 3
            return p["lr0"]
        lam = state["eta"]
        dx, dg = np.linalg.norm(x - state["xp"]), np.linalg.norm(g - state["gp"])
        if p["variant"] == "2020":
            eta = min(math.sqrt(1 + state["theta"]) * lam, dx / (2 * dg))
        else:
            a = 2 * lam ** 2 * (dg / dx) ** 2 - 1
            eta = min(math.sqrt(2 / 3 + state["theta"]) * lam,
                      lam / math.sqrt(a) if a > 0 else math.inf)
        state["theta"] = eta / lam
        return eta
    raise AssertionError(rule)


# ----------------------------------------------------------------------------------------
# curvature
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,momentum", [("gd", 0.0), ("heavy_ball", 0.5),
                                             ("nesterov", 0.5)])
def test_curvature_matches_twin_and_eigvalsh(method, momentum):
    """lambda_max by the C loop's Lanczos agrees with numpy's eigvalsh of the exact Hessian
    (to the solver's tolerance); fed those lambdas the twin's loop is the same run."""
    rule = A.curvature(every=5, tol=1e-8)
    tr = descend(LG, np.zeros(LG.dim), rule, steps=60, method=method,
                 momentum=momentum if momentum else None)
    measured = {}

    def lam(x, k):
        exact = np.linalg.eigvalsh(rp.hessian(LG, x))[-1]
        assert tr.lambdas[k] == pytest.approx(exact, rel=1e-8)
        measured[k] = tr.lambdas[k]
        return tr.lambdas[k]

    scale = 0.99 * lrcore.max_stable_lr(1.0, method=method, momentum=momentum)
    tw = twin.run(_vg(LG), np.zeros(LG.dim), "curvature", rule.params, 60, lam=lam,
                  scale=scale, every=5, method=method, momentum=momentum)
    _compare(tr, tw)
    assert sorted(measured) == [k for k in range(60) if k % 5 == 0 or
                                (method == "gd" and tw.gnorms[k] > tw.gnorms[k - 1])]
    assert tr.n_hvps[-1] > 0


def test_curvature_rate_on_least_squares():
    """c = 0.99: the rate stays in [0.99, 1) x 2/L on least squares (a constant Hessian:
    measured once, and again only if the loss rose)."""
    L = LS.smoothness()
    tr = descend(LS, np.zeros(LS.dim), A.curvature(c=0.99), steps=3000, tol=1e-5)
    r = tr.rates[:-1]
    assert np.all(r >= 0.99 * 2 / L * (1 - 1e-6)) and np.all(r < 2 / L)
    assert A.EVENTS[tr.events[0]] == "measured"
    assert tr.status == "converged"


@pytest.mark.parametrize("name", ["diabetes", "diabetes_raw", "breast_cancer",
                                  "breast_cancer_raw"])
def test_curvature_never_diverges_on_shipped_problems(name):
    if name.startswith("diabetes"):
        X, y, _ = datasets.load_diabetes(standardize=not name.endswith("raw"))
        p = LeastSquares(X, y)
    else:
        X, y, _ = datasets.load_breast_cancer(standardize=not name.endswith("raw"))
        p = Logistic(X, y, l2=1e-3)
    tr = descend(p, np.zeros(p.dim), A.curvature(c=0.99), steps=2000)
    assert tr.status in ("completed", "converged")
    assert np.all(np.isfinite(tr.losses)) and tr.losses[-1] < tr.losses[0]
    # never past the local edge: every rate below 2 / lambda measured at its step
    r, lam = tr.rates[:-1], tr.lambdas[:-1]
    assert np.all(r * lam <= 2 * 0.99 * (1 + 1e-12))


def test_curvature_on_a_function_problem_uses_its_hvp():
    calls = []

    def hvp(x, v):
        calls.append(1)
        return rp.hvp(LG, x, v)

    fp = Problem.from_functions(LG.value_and_grad, hvp=hvp, n=LG.dim)
    a = descend(fp, np.zeros(LG.dim), A.curvature(every=3), steps=20)
    b = descend(LG, np.zeros(LG.dim), A.curvature(every=3), steps=20)
    assert len(calls) == a.n_hvps[-1] > 0
    np.testing.assert_allclose(a.lambdas, b.lambdas, rtol=1e-10)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)


# ----------------------------------------------------------------------------------------
# behaviour
# ----------------------------------------------------------------------------------------

CONVERGENT = [
    (A.armijo(), 3000), (A.polyak(F_STAR_LS), 1000), (A.barzilai_borwein(), 500),
    (A.barzilai_borwein(2), 500), (A.adgd(), 2000), (A.adgd(variant="2023"), 2000),
    (A.dog(), 12000), (A.dadapt_sgd(momentum=0.9), 1000), (A.prodigy(), 1000),
    (A.schedule_free(lr=0.25), 3000), (A.curvature(), 3000),
]


@pytest.mark.parametrize("rule,steps", CONVERGENT, ids=lambda v: repr(v)[:40])
def test_convergent_rules_reach_1e_8_on_diabetes(rule, steps):
    x0 = np.zeros(LS.dim)
    f0 = LS.value(x0)
    tr = descend(LS, x0, rule, steps=steps)
    rel = (tr.losses - F_STAR_LS) / (f0 - F_STAR_LS)
    assert np.min(rel) <= 1e-8, (rule, np.min(rel))
    assert tr.status in ("completed", "converged")


def test_dadapt_sgd_without_momentum_overshoots_on_smooth_least_squares():
    """D-Adaptation SGD targets Lipschitz losses: on this smooth problem its distance
    estimate grows past the stable rate and the run diverges (the authors' package does
    the same step for step: tests/test_adaptive_peers.py)."""
    tr = descend(LS, np.zeros(LS.dim), A.dadapt_sgd(), steps=500)
    assert tr.status == "diverged"


@pytest.mark.parametrize("problem", [LS, LG, "rosenbrock"], ids=["ls", "logistic", "rosen"])
@pytest.mark.parametrize("rule", [A.armijo(), A.armijo(c=0.5, grow=4.0),
                                  A.armijo(nonmonotone=6)], ids=repr)
def test_armijo_never_accepts_a_step_that_violates_its_condition(problem, rule):
    if problem == "rosenbrock":
        fp = Problem.from_functions(_rosenbrock(2), n=2)
        x0 = np.array([-1.2, 1.0])
    else:
        fp, x0 = problem, np.zeros(problem.dim)
    tr = descend(fp, x0, rule, steps=400, tol=1e-9)
    f, g, r = tr.losses, tr.grad_norms, tr.rates
    M = max(rule.params["nonmonotone"], 1)
    for k in range(tr.steps_run):
        fref = max(f[max(0, k - M + 1): k + 1])
        assert f[k + 1] <= fref - rule.params["c"] * r[k] * g[k] ** 2 * (1 - 1e-12) \
            + 1e-15 * abs(fref)


def test_armijo_stops_when_no_trial_decreases():
    """At the rounding floor no step decreases f measurably: the run stops there, as
    'stopped' with its reason, at the last accepted iterate."""
    tr = descend(LS, np.zeros(LS.dim), A.armijo(max_backtracks=5), steps=20000)
    assert tr.status == "stopped" and tr.reason == "line_search_failed"
    assert tr.steps_run < 20000 and LS.value(tr.x) == tr.final_loss


@pytest.mark.parametrize("fallback", ["backtrack", "last"])
@pytest.mark.parametrize("variant", [1, 2])
def test_bb_safeguard_triggers_on_rosenbrock_without_nan(fallback, variant):
    fp = Problem.from_functions(_rosenbrock(2), n=2)
    tr = descend(fp, np.array([-1.2, 1.0]), A.barzilai_borwein(variant, fallback=fallback,
                                                               lr0=1e-3),
                 steps=3000, tol=1e-8)
    names = [A.EVENTS[e] for e in tr.events[:-1]]
    assert names.count(f"fallback_{fallback}") >= 2       # the first step and some s'y <= 0
    assert np.all(np.isfinite(tr.losses)) and np.all(np.isfinite(tr.rates[:-1]))
    assert tr.status != "diverged"


def test_trajectory_records():
    tr = descend(LS, np.zeros(LS.dim), A.armijo(), steps=40, record_every=4)
    assert len(tr.rates) == len(tr.losses) == len(tr.n_evals) == 11
    assert np.all(np.diff(tr.n_evals) >= 4)           # >= one evaluation per step
    assert tr.counts[1] == 41 and tr.counts[0] == tr.n_evals[-1]
    assert tr.evaluations == sum(tr.counts)
    assert np.isnan(tr.rates[-1]) and np.all(np.isnan(tr.lambdas))
    # a constant rate records itself too
    c = descend(LS, np.zeros(LS.dim), 0.1, steps=5)
    assert list(c.rates[:-1]) == [0.1] * 5 and list(c.n_evals) == [1, 2, 3, 4, 5, 6]


def test_method_names_and_rule_objects_agree():
    a = descend(LS, np.zeros(LS.dim), 0.5, method="prodigy", steps=30)
    b = descend(LS, np.zeros(LS.dim), A.prodigy(lr=0.5), steps=30)
    c = descend(LS, np.zeros(LS.dim), A.prodigy(lr=0.5), method="prodigy", steps=30)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.x, c.x)
    assert a.rule == A.prodigy(lr=0.5)


# ----------------------------------------------------------------------------------------
# rule objects
# ----------------------------------------------------------------------------------------

ALL_RULES = [A.armijo(), A.polyak(1.0), A.barzilai_borwein(2, fallback="last"),
             A.adgd(variant="2023"), A.dog(), A.dadapt_sgd(momentum=0.5),
             A.prodigy(betas=(0.8, 0.9), beta3=0.5), A.schedule_free(warmup_steps=3),
             A.curvature(every=7), A.armijo(max_lr=math.inf)]


@pytest.mark.parametrize("rule", ALL_RULES, ids=repr)
def test_serialization_round_trips(rule):
    d = rule.to_dict()
    assert A.from_dict(json.loads(json.dumps(d))) == rule
    assert pickle.loads(pickle.dumps(rule)) == rule
    assert hash(A.from_dict(d)) == hash(rule)
    assert eval("A." + repr(rule), {"A": A, "inf": math.inf}) == rule


def test_rules_are_immutable():
    r = A.dog()
    with pytest.raises(AttributeError):
        r.reps_rel = 1.0
    with pytest.raises(AttributeError):
        del r.eps
    assert r.reps_rel == 1e-6 and r.params["eps"] == 1e-8


# ----------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make,name", [
    (lambda: A.armijo(c=0.0), "c"), (lambda: A.armijo(c=1.0), "c"),
    (lambda: A.armijo(shrink=0), "shrink"), (lambda: A.armijo(grow=0.5), "grow"),
    (lambda: A.armijo(max_backtracks=-1), "max_backtracks"),
    (lambda: A.armijo(nonmonotone=-2), "nonmonotone"), (lambda: A.armijo(lr0=-1), "lr0"),
    (lambda: A.armijo(max_lr=0), "max_lr"), (lambda: A.polyak(math.nan), "f_star"),
    (lambda: A.polyak(max_lr=-1.0), "max_lr"), (lambda: A.barzilai_borwein(3), "variant"),
    (lambda: A.barzilai_borwein(min_lr=0.0), "min_lr"),
    (lambda: A.barzilai_borwein(min_lr=2.0, max_lr=1.0), "min_lr"),
    (lambda: A.barzilai_borwein(fallback="nope"), "fallback"),
    (lambda: A.adgd(lr0=0.0), "lr0"), (lambda: A.adgd(variant="2021"), "variant"),
    (lambda: A.dog(reps_rel=0.0), "reps_rel"), (lambda: A.dog(eps=-1e-8), "eps"),
    (lambda: A.dadapt_sgd(d0=0.0), "d0"), (lambda: A.dadapt_sgd(growth_rate=0.5), "growth_rate"),
    (lambda: A.dadapt_sgd(momentum=1.0), "momentum"), (lambda: A.prodigy(lr=0), "lr"),
    (lambda: A.prodigy(betas=(0.9, 1.0)), "betas[1]"), (lambda: A.prodigy(eps=0.0), "eps"),
    (lambda: A.prodigy(d_coef=-1.0), "d_coef"), (lambda: A.schedule_free(lr=-0.1), "lr"),
    (lambda: A.schedule_free(momentum=0.0), "momentum"),
    (lambda: A.schedule_free(warmup_steps=-1), "warmup_steps"),
    (lambda: A.curvature(c=0.0), "c"), (lambda: A.curvature(c=1.5), "c"),
    (lambda: A.curvature(every=0), "every"), (lambda: A.curvature(tol=0.0), "tol"),
])
def test_bad_constants_raise_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
        make()


@pytest.mark.parametrize("make", [lambda: A.armijo(c="0.1"), lambda: A.dog(reps_rel=None),
                                  lambda: A.prodigy(use_bias_correction=1),
                                  lambda: A.barzilai_borwein(1.0), lambda: A.prodigy(betas=0.9)])
def test_wrong_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_from_dict_refuses_unknown_names_and_keys():
    with pytest.raises(ValueError, match="not a known rule"):
        A.from_dict({"name": "adam"})
    with pytest.raises(ValueError, match="unknown key"):
        A.from_dict({"name": "dog", "lr": 1.0})
    with pytest.raises(TypeError):
        A.from_dict([("name", "dog")])


def test_descend_refuses_rules_where_they_do_not_apply():
    x0 = np.zeros(LS.dim)
    with pytest.raises(ValueError, match="schedule"):
        descend(LS, x0, A.dog(), steps=3, schedule=lambda t: 1.0)
    with pytest.raises(ValueError, match="plain gradient descent"):
        descend(LS, x0, A.dog(), steps=3, method="heavy_ball", momentum=0.9)
    with pytest.raises(ValueError, match="curvature"):
        descend(LS, x0, A.curvature(), steps=3, method="adam")
    with pytest.raises(ValueError, match="prodigy"):
        descend(LS, x0, A.dog(), steps=3, method="prodigy")
    with pytest.raises(ValueError, match="method of its own"):
        descend(LS, x0, A.prodigy(), steps=3, method="nesterov", momentum=0.9)
    with pytest.raises(ValueError, match="lr"):
        descend(LS, x0, -1.0, steps=3, method="schedule_free")


def test_nan_losses_are_recorded_stops_or_rejected_trials():
    """A NaN loss at an iterate ends the run as diverged, recorded; at a line-search trial
    it fails the test (the step shrinks) and the run goes on; nothing is lost."""
    def vg(x):
        f, g = rp.value(LS, x), rp.grad(LS, x)
        return (math.nan if np.max(np.abs(x)) > 60 else f), g

    fp = Problem.from_functions(vg, n=LS.dim)
    tr = descend(fp, np.zeros(LS.dim), A.armijo(lr0=100.0), steps=50)
    assert tr.status != "diverged" and np.all(np.isfinite(tr.losses))
    assert tr.n_evals[1] > 2                  # the NaN trials were rejected, then shrunk
    tr = descend(fp, np.zeros(LS.dim), A.dog(reps_rel=1e3), steps=50)
    assert tr.status == "diverged" and math.isnan(tr.final_loss)
    assert len(tr.losses) == tr.steps_run + 1 and math.isnan(tr.losses[-1])


def test_objective_errors_propagate_and_x0_is_untouched():
    def vg(x):
        if np.max(np.abs(x)) > 0:
            raise RuntimeError("boom")
        return 0.0 + 1.0, np.ones_like(x)

    x0 = np.zeros(3)
    with pytest.raises(RuntimeError, match="boom"):
        descend(Problem.from_functions(vg, n=3), x0, A.armijo(), steps=5)
    assert np.all(x0 == 0)


def test_hvp_answers_are_checked():
    fp = Problem.from_functions(LG.value_and_grad, hvp=lambda x, v: np.ones(2), n=LG.dim)
    with pytest.raises(ValueError, match="hvp"):
        descend(fp, np.zeros(LG.dim), A.curvature(), steps=3)


# ---- the rules at extreme scales (review findings) -----------------------------------------

def _diabetes_quadratic():
    from lrcore.datasets import load_diabetes
    X, y, _ = load_diabetes(standardize=True)
    H = X.T @ X / len(X)
    return H, np.linalg.eigvalsh(H)[-1]


@pytest.mark.parametrize("s", [1e-300, 1e-200, 1e-165, 1.0, 1e155, 1e200, 1e300])
def test_curvature_rule_measures_lambda_at_every_scale(s):
    """The Lanczos solve inside descend sees its products scaled by a power of two, so
    lambda_max (and the safe rate 2c/lambda) is right from 1e-300 to 1e300."""
    H, L = _diabetes_quadratic()
    x0 = np.linspace(-1.0, 1.0, H.shape[0])
    tr = descend(Quadratic(s * H), x0, A.curvature(), steps=30)
    ref = descend(Quadratic(H), x0, A.curvature(), steps=30)
    assert tr.status == ref.status == "completed"
    assert tr.lambdas[0] == pytest.approx(s * L, rel=1e-7)
    # the same run up to the scale: the iterates do not depend on s
    np.testing.assert_allclose(tr.x, ref.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("rule", [A.polyak(), A.dadapt_sgd()], ids=repr)
@pytest.mark.parametrize("s", [1e-170, 1e160])
def test_norm_rules_do_not_stall_when_the_squared_norm_is_not_representable(rule, s):
    H, _ = _diabetes_quadratic()
    x0 = np.linspace(-1.0, 1.0, H.shape[0])
    ref = descend(Quadratic(H), x0, rule, steps=40)
    tr = descend(Quadratic(s * H), x0, rule, steps=40)
    assert A.EVENTS.index("no_step") not in set(tr.events.tolist())
    # the same progress (the norm's rounding differs once ||g||^2 is out of range, and
    # Polyak's steps amplify it over a run) ...
    assert tr.losses[-1] / tr.losses[0] == pytest.approx(ref.losses[-1] / ref.losses[0],
                                                         rel=1e-2)
    # ... and the same first steps
    short = descend(Quadratic(s * H), x0, rule, steps=5)
    np.testing.assert_allclose(short.x, descend(Quadratic(H), x0, rule, steps=5).x,
                               rtol=1e-9, atol=1e-12)
