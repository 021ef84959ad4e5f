"""The parameter-free methods against the authors' own PyTorch implementations, on the same
problem and the same gradients: lrcore's C loop (``descend``) and lrcore's optimizers
(``lrcore.optim`` with the rule as ``lr=``) must follow the reference iterates to 1e-10
(relative) over 200 steps.

Peers (pinned in .ci/run, installed with ``--no-deps`` after torch):
``dog-optimizer`` 1.0.3 (``dog.DoG``), ``dadaptation`` 3.2 (``DAdaptSGD``), ``prodigyopt``
1.1.2 (``Prodigy``), ``schedulefree`` 1.4.1 (``SGDScheduleFree``).

Conventions (documented differences, none in the arithmetic):
- one parameter group; lrcore's rules take no per-group options (DoG's ``lr`` stays 1,
  its ``init_eta`` and ``weight_decay`` unused; Prodigy's ``slice_p=1``, ``decouple``);
- schedule-free: the torch optimizer's parameters hold y (the gradient point) in train
  mode, as lrcore's iterate does; the averaged x of the torch ``eval()`` is lrcore's
  ``Optimizer.eval_params()``;
- the rate lrcore records is the one the step used: DoG's eta, D-Adaptation's
  ``d lr / ||g_0||``, Prodigy's ``d lr`` (times the bias correction), schedule-free's
  warmed-up lr.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reference import problems as rp  # noqa: E402
from lrcore import adaptive as A  # noqa: E402
from lrcore import datasets  # noqa: E402
from lrcore.optim import SGD, Adam  # noqa: E402
from lrcore.problems import LeastSquares, Logistic  # noqa: E402
from lrcore.stability import descend  # noqa: E402

STEPS = 200
TOL = 1e-10


def _ls():
    X, y, _ = datasets.load_diabetes(standardize=True)
    return LeastSquares(np.hstack([X, np.ones((len(X), 1))]), y)


def _lg():
    X, y, _ = datasets.load_breast_cancer(standardize=True)
    return Logistic(X, y, l2=1e-3)


PROBLEMS = {"least_squares": _ls(), "logistic": _lg()}


def _peer(name, params, kwargs):
    if name == "dog":
        dog = pytest.importorskip("dog")
        return dog.DoG(params, **kwargs)
    if name == "dadapt_sgd":
        dadaptation = pytest.importorskip("dadaptation")
        return dadaptation.DAdaptSGD(params, **kwargs)
    if name == "prodigy":
        prodigyopt = pytest.importorskip("prodigyopt")
        return prodigyopt.Prodigy(params, **kwargs)
    schedulefree = pytest.importorskip("schedulefree")
    opt = schedulefree.SGDScheduleFree(params, **kwargs)
    opt.train()
    return opt


# (rule, the peer's keyword arguments)
CASES = [
    (A.dog(), {}),
    (A.dog(reps_rel=1e-4, eps=1e-6), {"reps_rel": 1e-4, "eps": 1e-6}),
    (A.dadapt_sgd(momentum=0.9), {"momentum": 0.9}),
    (A.dadapt_sgd(d0=1e-4, growth_rate=1.05, lr=0.5), {"d0": 1e-4, "growth_rate": 1.05,
                                                        "lr": 0.5}),
    (A.prodigy(), {}),
    (A.prodigy(lr=0.5, betas=(0.9, 0.99), beta3=0.9, weight_decay=1e-2, d_coef=0.8,
               use_bias_correction=True, safeguard_warmup=True),
     {"lr": 0.5, "betas": (0.9, 0.99), "beta3": 0.9, "weight_decay": 1e-2, "d_coef": 0.8,
      "use_bias_correction": True, "safeguard_warmup": True}),
    (A.prodigy(betas=(0.8, 0.99), growth_rate=1.1, eps=1e-6),
     {"betas": (0.8, 0.99), "growth_rate": 1.1, "eps": 1e-6}),
    (A.schedule_free(lr=0.2), {"lr": 0.2}),
    (A.schedule_free(lr=0.3, momentum=0.8, warmup_steps=20, r=0.5, weight_lr_power=1.0,
                     weight_decay=1e-3),
     {"lr": 0.3, "momentum": 0.8, "warmup_steps": 20, "r": 0.5, "weight_lr_power": 1.0,
      "weight_decay": 1e-3}),
]


def _peer_run(problem, rule, kwargs, x0, steps=STEPS):
    """The authors' optimizer on the problem's numpy gradients: the iterates, the losses,
    and the averaged point (schedule-free)."""
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = _peer(rule.name, [p], kwargs)
    xs, fs = [p.detach().numpy().copy()], []
    for _ in range(steps):
        x = p.detach().numpy()
        fs.append(rp.value(problem, x))
        p.grad = torch.tensor(rp.grad(problem, x), dtype=torch.float64)
        opt.step()
        xs.append(p.detach().numpy().copy())
    avg = None
    if rule.name == "schedule_free":
        opt.eval()
        avg = p.detach().numpy().copy()
    return np.array(xs), np.array(fs), avg


def _close(a, b):
    scale = max(np.max(np.abs(b)), 1e-300)
    return np.max(np.abs(a - b)) / scale


@pytest.mark.parametrize("problem", list(PROBLEMS), ids=str)
@pytest.mark.parametrize("rule,kwargs", CASES, ids=[repr(c[0])[:48] for c in CASES])
def test_descend_follows_the_authors_implementation(problem, rule, kwargs):
    prob = PROBLEMS[problem]
    x0 = np.full(prob.dim, 0.1)
    xs, fs, _ = _peer_run(prob, rule, kwargs, x0)
    assert np.all(np.isfinite(xs)), "the reference run itself must stay finite"
    tr = descend(prob, x0, rule, steps=STEPS)
    assert tr.status == "completed"
    assert _close(tr.x, xs[-1]) < TOL
    np.testing.assert_allclose(tr.losses[:STEPS], fs, rtol=TOL)


@pytest.mark.parametrize("problem", list(PROBLEMS), ids=str)
@pytest.mark.parametrize("rule,kwargs", CASES, ids=[repr(c[0])[:48] for c in CASES])
def test_optimizers_follow_the_authors_implementation(problem, rule, kwargs):
    prob = PROBLEMS[problem]
    x0 = np.full(prob.dim, 0.1)
    xs, _, avg = _peer_run(prob, rule, kwargs, x0)
    x = x0.copy()
    opt = (Adam if rule.name == "prodigy" else SGD)(x, lr=rule)
    worst = 0.0
    for k in range(STEPS):
        opt.step(rp.grad(prob, x))
        worst = max(worst, _close(x, xs[k + 1]))
    assert worst < TOL
    if avg is not None:
        assert _close(opt.eval_params(), avg) < TOL


def test_dadapt_sgd_overshoot_is_the_authors_too():
    """Without momentum D-Adaptation SGD diverges on the smooth least-squares problem;
    the authors' DAdaptSGD takes the same steps there (60 steps, before overflow)."""
    prob = PROBLEMS["least_squares"]
    x0 = np.full(prob.dim, 0.1)
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = _peer("dadapt_sgd", [p], {})
    for _ in range(60):
        p.grad = torch.tensor(rp.grad(prob, p.detach().numpy()), dtype=torch.float64)
        opt.step()
    tr = descend(prob, x0, A.dadapt_sgd(), steps=60)
    assert np.max(np.abs(tr.x)) > 1e3 * np.max(np.abs(np.linalg.lstsq(prob.X, prob.y,
                                                                       rcond=None)[0]))
    assert _close(tr.x, p.detach().numpy()) < TOL


@pytest.mark.parametrize("problem", list(PROBLEMS), ids=str)
def test_prodigy_without_first_moment(problem):
    """beta1 = 0 (no first moment: the step is g / (sqrt(v) + d eps)) follows the reference
    over 40 steps.  Beyond that this momentum-free variant oscillates at these rates and
    amplifies rounding (1e-16 grows to ~1e-8 by step 200, the same whichever side computes,
    as for any chaotic iteration), so the 200-step comparison uses beta1 > 0."""
    prob = PROBLEMS[problem]
    kw = {"lr": 0.5, "betas": (0.0, 0.99), "weight_decay": 1e-2, "use_bias_correction": True}
    rule = A.prodigy(**kw)
    x0 = np.full(prob.dim, 0.1)
    xs, _, _ = _peer_run(prob, rule, kw, x0, steps=40)
    tr = descend(prob, x0, rule, steps=40)
    assert _close(tr.x, xs[-1]) < TOL
