"""Reliability: the reproducers of the adversarial probe (issue 10), and properties that keep
them fixed.  The promise: the safe rate is never on the unsafe side, nothing crashes, nothing
is half-written, every mistake gets one clear sentence."""
import gc
import math
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore
from lrcore import cli
from lrcore.rates import CertificationWarning
from reference import matrices

# ----------------------------------------------------------------------------------------
# 1-2. sparse input: concurrent writers and corrupted index arrays
# ----------------------------------------------------------------------------------------


def test_csr_index_writes_during_a_solve_never_crash():
    """Another thread scribbles over indices/indptr while the GIL-free loop runs: the solver
    reads only its own validated copies, so the answer is the one of the original matrix."""
    n = 200_000
    rng = np.random.default_rng(0)
    S = sp.random_array((n, n), density=2e-5, random_state=rng, format="csr")
    S = (S + S.T + sp.eye_array(n) * 4.0).tocsr()
    want = lrcore.top_eigenvalue(S, seed=3, tol=1e-10)
    idx0, ptr0 = S.indices.copy(), S.indptr.copy()
    out: dict = {}

    def solve():
        try:
            out["res"] = lrcore.top_eigenvalue(S, seed=3, tol=1e-10)
        except Exception as exc:          # garbage or an exception is allowed, a crash is not
            out["exc"] = exc

    t = threading.Thread(target=solve)
    t.start()
    k = 0
    while t.is_alive():
        j = k % S.indices.size
        S.indices[j] = 2**31 - 1          # out of range: would be an out-of-bounds read
        S.indptr[1 + k % n] = 10**9
        S.indices[j], S.indptr[1 + k % n] = idx0[j], ptr0[1 + k % n]
        k += 1
    t.join()
    assert k > 0
    # the copies are taken first and validated after: a write caught mid-copy is refused
    # with a ValueError; otherwise the answer is the original matrix's, bit for bit
    if "exc" in out:
        assert isinstance(out["exc"], ValueError)
    else:
        assert out["res"].value == want.value


@pytest.mark.parametrize("corrupt, match", [
    (lambda M: M.indptr.__setitem__(1, 5), "indptr"),
    (lambda M: M.indptr.__setitem__(-1, 99), "indptr"),
    (lambda M: M.indices.__setitem__(0, 7), "column indices outside"),
    (lambda M: M.indices.__setitem__(0, -1), "column indices outside"),
])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_corrupted_compressed_matrix_refused_before_scipy_touches_it(corrupt, match, fmt):
    M = sp.csr_matrix(np.eye(3)) if fmt == "csr" else sp.csc_matrix(np.eye(3))
    corrupt(M)
    before = (M.indptr.copy(), M.indices.copy(), M.data.copy())
    with pytest.raises(ValueError, match=match):
        lrcore.top_eigenvalue(M)
    gc.collect()                          # heap corruption would abort here
    assert all(np.array_equal(a, b) for a, b in zip(before, (M.indptr, M.indices, M.data)))


def test_corrupted_coo_refused():
    M = sp.coo_matrix(np.eye(3))
    M.row[0] = 9
    with pytest.raises(ValueError, match="coordinates outside"):
        lrcore.top_eigenvalue(M)


def test_duplicates_and_unsorted_rows_resolved_on_copies():
    rows = np.array([0, 0, 1, 1, 2, 0])
    cols = np.array([1, 0, 1, 0, 2, 1])          # (0, 1) twice
    vals = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 1.0])
    M = sp.csr_matrix((vals, (rows, cols)), shape=(3, 3))
    M.sum_duplicates = None                       # lrcore must not call the user's object
    M2 = sp.csr_array((M.data.copy(), M.indices.copy(), M.indptr.copy()), shape=(3, 3))
    before = M2.data.copy()
    r = lrcore.top_eigenvalue(M2, seed=0)
    dense = M2.toarray()
    assert r.value == pytest.approx(np.linalg.eigvalsh(dense)[-1], rel=1e-12)
    assert np.array_equal(M2.data, before)


# ----------------------------------------------------------------------------------------
# 3. every scale from 1e-300 to 1e300
# ----------------------------------------------------------------------------------------

def _truth_and_tol(A0, scale):
    w = np.linalg.eigvalsh(A0.astype(np.float64))
    norm = np.max(np.abs(w))
    return w[-1] * scale, 50 * A0.shape[0] * np.finfo(np.float64).eps * norm * scale


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 40), seed=st.integers(0, 2**32 - 1),
       exp=st.floats(-300, 300), form=st.sampled_from(["dense", "csr", "op"]),
       maxiter=st.sampled_from([None, 1, 3, 10]))
def test_interval_contains_the_truth_at_every_scale(n, seed, exp, form, maxiter):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    A0 = B @ B.T / n + np.eye(n) if seed % 2 else (B + B.T) / 2
    scale = 10.0 ** exp
    A = A0 * scale
    truth, slack = _truth_and_tol(A0, scale)
    X = A if form == "dense" else sp.csr_array(A) if form == "csr" else (lambda v: A @ v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        r = lrcore.top_eigenvalue(X, n=n if form == "op" else None, seed=seed,
                                  maxiter=maxiter)
    assert math.isfinite(r.value)
    assert r.lower_bound <= truth + slack
    assert truth - slack <= r.upper_bound
    if maxiter is None:
        assert r.value == pytest.approx(truth, rel=1e-6, abs=slack)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 2**32 - 1), exp=st.floats(-30, 30))
def test_interval_contains_the_truth_float32(n, seed, exp):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    A32 = ((B + B.T) / 2 * 10.0 ** exp).astype(np.float32)
    w = np.linalg.eigvalsh(A32.astype(np.float64))
    slack = 50 * n * np.finfo(np.float64).eps * np.max(np.abs(w))
    r = lrcore.top_eigenvalue(A32, seed=seed)
    assert r.lower_bound <= w[-1] + slack and w[-1] - slack <= r.upper_bound


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e154, 1e200, 1e300])
def test_tiny_and_huge_matrices(scale):
    """The reproducer: (B B^T + I) * 1e-200 used to stop after one product with an
    interval that excluded the truth; entries >= 1e154 raised 'NaN or Inf' for finite A."""
    rng = np.random.default_rng(0)
    B = rng.normal(size=(30, 30))
    A0 = B @ B.T + np.eye(30)
    truth = np.linalg.eigvalsh(A0)[-1] * scale
    for A in (A0 * scale, sp.csr_array(A0 * scale)):
        r = lrcore.top_eigenvalue(A, seed=1)
        assert r.value == pytest.approx(truth, rel=1e-10)
        assert r.lower_bound <= truth * (1 + 1e-12) and truth * (1 - 1e-12) <= r.upper_bound
        sr = lrcore.safe_lr(A, seed=1)
        assert sr.max_stable <= 2.0 / truth * (1 + 1e-12)


def test_least_squares_at_extreme_scales():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=40)
    for s in (1e-85, 1e-120, 1e120):
        p = lrcore.LeastSquares(X * s, y)
        truth = np.linalg.eigvalsh((X * s).T @ (X * s) / 40)[-1]
        assert p.smoothness() == pytest.approx(truth, rel=1e-12)
        assert lrcore.safe_lr(p).max_stable <= 2 / truth * (1 + 1e-12)
    for s in (1e-300, 1e300):
        with pytest.raises(ValueError, match="curvature of this problem (under|over)flows"):
            lrcore.LeastSquares(X * s, y).smoothness()


# ----------------------------------------------------------------------------------------
# 4-5. the certified rate is never on the unsafe side
# ----------------------------------------------------------------------------------------

def test_safe_lr_unconverged_estimate_below_zero_uses_the_finite_bound():
    rng = np.random.default_rng(0)
    for seed in range(40):
        B = rng.normal(size=(50, 50))
        A = (B + B.T) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
            sr = lrcore.safe_lr(A, maxiter=1, seed=seed)
        lmax = np.linalg.eigvalsh(A)[-1]
        assert math.isfinite(sr.L_upper) and math.isfinite(sr.max_stable)
        assert sr.max_stable <= 2.0 / lmax


def _hessian_at(p, x):
    d = p.dim
    H = np.column_stack([p.hvp(x, e) for e in np.eye(d)])
    return (H + H.T) / 2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["ls", "quad", "logistic"]),
       exp=st.floats(-5, 5), maxiter=st.sampled_from([None, 1, 2, 5]),
       tol=st.sampled_from([1e-6, 1e-2, 0.5]), method=st.sampled_from(["gd", "nesterov"]))
def test_certified_rate_never_above_the_true_limit(seed, kind, exp, maxiter, tol, method):
    rng = np.random.default_rng(seed)
    n, d = 40, 6
    X = rng.normal(size=(n, d)) * 10.0 ** exp
    if kind == "ls":
        p = lrcore.LeastSquares(X, rng.normal(size=n), l2=1e-3)
    elif kind == "quad":
        p = lrcore.Quadratic(X.T @ X / n)
    else:
        p = lrcore.Logistic(X, (rng.random(n) < 0.5).astype(float), l2=1e-3)
    x = rng.normal(size=d) / 10.0 ** exp
    b = 0.0 if method == "gd" else 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        warnings.simplefilter("error", CertificationWarning)
        sr = lrcore.safe_lr(p, x=x, method=method, momentum=b, seed=seed, maxiter=maxiter,
                            tol=tol)
    lmax = np.linalg.eigvalsh(_hessian_at(p, x))[-1]
    assert sr.max_stable <= lrcore.max_stable_lr(lmax, method=method, momentum=b) * (1 + 1e-12)
    assert "Hessian" in sr.where or "constant Hessian" in sr.where


def test_operator_without_a_bound_warns_and_says_so():
    A = np.diag(np.linspace(1, 2, 400))
    op = lrcore.curvature.SymmetricOperator(400, lambda v: A.diagonal() * v)
    with pytest.warns(CertificationWarning, match="unsafe side"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
            sr = lrcore.safe_lr(op, maxiter=2, seed=0)
    assert "no finite certified bound" in sr.note


def test_function_problem_needs_a_point():
    p = lrcore.Problem.from_functions(lambda x: (float(x @ x), 2 * x), n=3)
    with pytest.raises(ValueError, match="no reference point"):
        lrcore.safe_lr(p)
    sr = lrcore.safe_lr(p, x=np.ones(3))
    assert sr.L == pytest.approx(2.0, rel=1e-6) and "at x" in sr.where
    q = lrcore.Problem.from_functions(lambda x: (float(x @ x), 2 * x), n=3, x0=np.ones(3))
    assert "x0" in lrcore.safe_lr(q).where
    # the range test measures where it starts, and says so
    with pytest.raises(ValueError, match="no reference point"):
        lrcore.range_test(p)
    w = np.full(3, 0.5)
    rt = lrcore.range_test(p, x0=w, num=20)
    assert rt.rates is not None and "at x" in rt.rates.where
    assert rt.recommended_lr == pytest.approx(lrcore.safe_lr(p, x=w).recommended)


# ----------------------------------------------------------------------------------------
# 6. optimizers: all or nothing
# ----------------------------------------------------------------------------------------

def _snapshot(opt):
    return ([p.copy() for p in opt._params], opt.state_dict())


def _same(a, b):
    (pa, sa), (pb, sb) = a, b
    return all(np.array_equal(x, y) for x, y in zip(pa, pb)) and sa["t"] == sb["t"] and all(
        np.array_equal(u[k], v[k]) for u, v in zip(sa["state"], sb["state"]) for k in u)


@pytest.mark.parametrize("make", [
    lambda ps: lrcore.Adam(ps, lr=0.1), lambda ps: lrcore.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: lrcore.RMSprop(ps, lr=0.1, centered=True), lambda ps: lrcore.Adagrad(ps)])
def test_multi_array_step_refused_before_the_first_write(make):
    p0, p1 = np.ones(4), np.ones(8)
    opt = make([p0, p1])
    opt.step([np.ones(4), np.ones(8)])
    before = _snapshot(opt)
    bad_grads = [
        [np.ones(4), np.ones(16)[::2]],                          # not contiguous
        [np.ones(4), np.ones(8).astype(">f8")],                 # byte order
        [np.ones(4), p0[:0].reshape(0) if False else p1],       # the second param itself
        [p1[:4], np.ones(8)],                                    # shares memory with param 1
        [np.ones(4), opt.state[0][next(iter(opt.state[0]))]],   # a buffer of array 0
        [np.ones(4), np.ones(8, dtype=np.float32)],
        [np.ones(4), [1.0] * 8],
    ]
    for g in bad_grads:
        with pytest.raises((TypeError, ValueError)):
            opt.step(g)
        assert _same(before, _snapshot(opt))


def test_sgd_grad_aliasing_another_param():
    p0, p1 = np.zeros(4), np.zeros(4)
    opt = lrcore.SGD([p0, p1], lr=0.1)
    with pytest.raises(ValueError, match="share memory"):
        opt.step([np.ones(4), p0])
    assert not p0.any() and opt.t == 0


@pytest.mark.parametrize("edit, match", [
    (lambda sd: sd["state"][0]["exp_avg_sq"].__setitem__(0, np.nan), "NaN or Inf"),
    (lambda sd: sd["state"][0]["exp_avg_sq"].__setitem__(0, -1.0), "negative"),
    (lambda sd: sd["state"][1]["exp_avg"].__setitem__(0, np.inf), "NaN or Inf"),
    (lambda sd: sd.__setitem__("t", 2**63), "2\\*\\*63"),
    (lambda sd: sd.__setitem__("t", 1.5), "integer"),
    (lambda sd: sd.__setitem__("n_skipped", -1), "n_skipped"),
])
def test_load_state_dict_refuses_and_changes_nothing(edit, match):
    p0, p1 = np.ones(3), np.ones(2)
    opt = lrcore.Adam([p0, p1], lr=0.1)
    opt.step([np.ones(3), np.ones(2)])
    before = _snapshot(opt)
    sd = opt.state_dict()
    edit(sd)
    with pytest.raises((TypeError, ValueError), match=match):
        opt.load_state_dict(sd)
    assert _same(before, _snapshot(opt))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 2),
       defect=st.sampled_from(["nan", "shape", "alias", "strided", "dtype"]))
def test_property_refused_steps_change_nothing(seed, which, defect):
    rng = np.random.default_rng(seed)
    ps = [rng.normal(size=k) for k in (3, 5, 7)]
    opt = lrcore.Adam(ps, lr=0.01, amsgrad=bool(seed % 2))
    opt.step([rng.normal(size=p.size) for p in ps])
    before = _snapshot(opt)
    gs = [rng.normal(size=p.size) for p in ps]
    if defect == "nan":
        gs[which][-1] = np.nan
    elif defect == "shape":
        gs[which] = np.ones(ps[which].size + 1)
    elif defect == "alias":
        gs[which] = ps[(which + 1) % 3][: ps[which].size] if ps[(which + 1) % 3].size >= \
            ps[which].size else ps[which]
    elif defect == "strided":
        gs[which] = np.ones(2 * ps[which].size)[::2]
    else:
        gs[which] = gs[which].astype(np.float32)
    with pytest.raises((TypeError, ValueError, lrcore.NonFiniteError)):
        opt.step(gs)
    assert _same(before, _snapshot(opt))


# ----------------------------------------------------------------------------------------
# 8. the command line: one line, exit status 2
# ----------------------------------------------------------------------------------------

@pytest.fixture
def csvs(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=40)

    def write(name, X, y):
        path = tmp_path / name
        lines = ["a,b,c,y"] + [",".join(repr(float(v)) for v in [*r, t]) for r, t in zip(X, y)]
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    X2 = X.copy()
    X2[:, 1] *= 1e300
    return {"ok": write("ok.csv", X, y), "huge": write("huge.csv", X2, y),
            "hugey": write("hugey.csv", X, y * 1e300),
            "zero": write("zero.csv", np.zeros_like(X), y),
            "tiny": write("tiny.csv", X * 1e-300, y), "dir": str(tmp_path)}


@pytest.mark.parametrize("argv, match", [
    (["analyze", "{ok}", "--target", "y", "--model", "least-squares", "--plot",
      "/nonexistent/dir/p.png"], "does not exist"),
    (["analyze", "{ok}", "--target", "y", "--model", "least-squares", "--plot",
      "/proc/p.png"], "cannot write"),
    (["analyze", "{ok}", "--target", "y", "--model", "least-squares", "--plot", "{dir}"],
     "is a directory"),
    (["analyze", "{ok}", "--target", "y", "--model", "least-squares", "--plot", "{dir}/p.xyz"],
     "unknown image format"),
    (["analyze", "{huge}", "--target", "y", "--model", "least-squares"], "feature 'b'"),
    (["analyze", "{hugey}", "--target", "y", "--model", "least-squares"], "target 'y'"),
    (["analyze", "{zero}", "--target", "y", "--model", "least-squares"], "every feature is zero"),
    (["analyze", "{tiny}", "--target", "y", "--model", "least-squares"], "underflows"),
    (["analyze", "{ok}", "--target", "y", "--model", "least-squares", "--l2", "inf"], "--l2"),
    (["schedule", "exponential", "--lr", "1", "--gamma", "10", "--steps", "1000"], "at step 309"),
    (["schedule", "cosine", "--lr", "1", "--steps", "100000000000000000000"], "--steps"),
    (["schedule", "exponential", "--lr", "1", "--gamma", "0.5", "--steps", "-100"], "--steps"),
    (["schedule", "cosine", "--lr", "1", "--steps", "10", "--plot", "/nonexistent/x.png"],
     "does not exist"),
    (["analyze", "{ok}", "--target", "y", "--model", "nope"], "invalid choice"),
    (["demo", "--method", "heavy_ball", "--momentum", "0"], "needs momentum"),
])
def test_cli_errors_are_one_line(csvs, capsys, argv, match):
    argv = [a.format(**csvs) for a in argv]
    with pytest.raises(SystemExit) if argv[-1] == "nope" else _nullcontext() as info:
        code = cli.main(argv)
    if argv[-1] == "nope":
        code = info.value.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert match in err


class _nullcontext:
    value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_cli_momentum_methods_default_to_0_9(csvs, capsys):
    assert cli.main(["analyze", csvs["ok"], "--target", "y", "--model", "least-squares",
                     "--method", "nesterov", "--json"]) == 0
    import json
    assert json.loads(capsys.readouterr().out)["rates"]["momentum"] == 0.9


def test_cli_huge_features_work_when_standardized(csvs, capsys):
    assert cli.main(["analyze", csvs["huge"], "--target", "y", "--model", "least-squares",
                     "--standardize"]) == 0


# ----------------------------------------------------------------------------------------
# 9. arguments C cannot hold, and messages that name the argument and the problem
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: lrcore.top_eigenvalue(np.eye(3), maxiter=2**70), "maxiter"),
    (lambda: lrcore.descend(lrcore.Quadratic(np.eye(2)), np.ones(2), 0.1, steps=2**63),
     "steps"),
    (lambda: lrcore.descend(lrcore.Quadratic(np.eye(2)), np.ones(2), 10**400, steps=3), "lr"),
    (lambda: lrcore.check_stability(lrcore.Quadratic(np.eye(2)), 0.1, steps=2**64), "steps"),
    (lambda: lrcore.range_test(lrcore.Quadratic(np.eye(2)), num=2**70), "num"),
    (lambda: lrcore.schedules.cosine(0.1, 2**70), "steps"),
    (lambda: lrcore.adam_step(np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3), 2**63, 0.1),
     "step"),
    (lambda: lrcore.sgd_step(np.zeros(3), np.ones(3), 10**400), "lr"),
    (lambda: lrcore.set_num_threads(2**70), "n"),
])
def test_python_ints_too_large_for_c_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, exc, match", [
    (lambda: lrcore.safe_lr(None), TypeError, "target must be"),
    (lambda: lrcore.safe_lr(True), TypeError, "target must be .* got bool"),
    (lambda: lrcore.safe_lr("A"), TypeError, "target must be"),
    (lambda: lrcore.check_stability("p", 0.1), TypeError, "problem must be"),
    (lambda: lrcore.safe_lr(np.eye(3), method="power"), ValueError, "solver='power'"),
    (lambda: lrcore.stability_boundary(lrcore.Quadratic(np.zeros((2, 2)))), ValueError,
     "no positive curvature"),
])
def test_messages_name_the_argument_and_the_problem(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_safe_lr_solver_keyword_selects_power_iteration():
    A = np.diag([1.0, 3.0, 10.0])
    sr = lrcore.safe_lr(A, solver="power", seed=0)
    assert sr.L == pytest.approx(10.0, rel=1e-6)


@pytest.mark.parametrize("ret, match", [(None, "NoneType"), (np.ones(3), "shape \\(3,\\)"),
                                        ("1.0", "str")])
def test_range_test_step_must_return_a_number(ret, match):
    class Obj:
        w = 1.0

        def step(self, lr):
            self.w -= lr
            return ret

        def snapshot(self):
            return self.w

        def restore(self, s):
            self.w = s

    o = Obj()
    with pytest.raises(TypeError, match=match):
        lrcore.range_test(o)
    assert o.w == 1.0
