"""The public C API: ``from lrcore.cython_api cimport ...`` and the installed ``lrcore.h``.

A Cython extension is built in a temporary directory (Cython + setuptools, with
``lrcore.get_include()`` and numpy's include) that uses, through the public pxd only: the
update kernels, the eigen-solver's reverse-communication loop driven by its own C
mat-vec, the descend machine driven by its own C quadratic, and a compiled schedule
program; each is compared with an independent reference (numpy, the Python API).  A C
file including ``lrcore.h`` from ``get_include()`` proves the header is self-contained.
"""
import os
import re
import shutil
import subprocess
import textwrap

import pytest
from cython_build import build_and_check, c_compiler, needs_c_compiler

import lrcore

CONSUMER = textwrap.dedent('''
    # cython: language_level=3, boundscheck=False, wraparound=False
    from libc.stdlib cimport malloc, free
    from libc.float cimport DBL_EPSILON
    from libc.stdint cimport int64_t
    from lrcore.cython_api cimport (
        C_API_VERSION, STATUS_OK, STATUS_NONFINITE, REQ_MATVEC, REQ_VALUE_GRAD,
        EIG_LA, EIG_LANCZOS, EIG_POWER,
        METHOD_GD, METHOD_HEAVY_BALL, METHOD_NESTEROV, METHOD_ADAM,
        RUN_COMPLETED, RUN_CONVERGED, RUN_DIVERGED,
        adam_f64, sgd_f32, all_finite_f64,
        eig_state_size, eig_workspace_size, eig_init, eig_iterate, eig_result,
        descend_state_size, descend_workspace_size, descend_init, descend_iterate,
        descend_tell, descend_result,
        schedule_program, schedule_eval, schedule_value,
    )

    BUILT_WITH = C_API_VERSION
    CODES = (STATUS_OK, STATUS_NONFINITE)
    METHODS = {"gd": METHOD_GD, "heavy_ball": METHOD_HEAVY_BALL,
               "nesterov": METHOD_NESTEROV, "adam": METHOD_ADAM}
    OUTCOMES = {RUN_COMPLETED: "completed", RUN_CONVERGED: "converged",
                RUN_DIVERGED: "diverged"}

    # ---- update kernels ----
    def run_adam(double[::1] x, const double[::1] g, double[::1] m, double[::1] v, long step):
        cdef int st
        with nogil:
            st = adam_f64(&x[0], &g[0], &m[0], &v[0], NULL, x.shape[0], step, 0.01,
                          0.9, 0.999, 1e-8, 0.0, 0, 0, 0, 1, 1)
        return st

    def run_sgd32(float[::1] x, const float[::1] g, double lr):
        cdef int st
        with nogil:
            st = sgd_f32(&x[0], &g[0], x.shape[0], lr, 0.0, 0, 1, 1)
        return st

    def finite(const double[::1] a):
        return all_finite_f64(&a[0], a.shape[0], 1) == STATUS_OK

    # ---- eigen-solver driven by our own mat-vec ----
    cdef void matvec(const double[:, ::1] A, const double *x, double *y) noexcept nogil:
        cdef Py_ssize_t i, j, n = A.shape[0]
        cdef double s
        for i in range(n):
            s = 0.0
            for j in range(n):
                s = s + A[i, j] * x[j]
            y[i] = s

    def top_eig(const double[:, ::1] A, bint power, double tol, long maxmv):
        cdef Py_ssize_t n = A.shape[0]
        cdef int method = EIG_POWER if power else EIG_LANCZOS
        cdef size_t lwork = 0
        if eig_workspace_size(n, method, 20, 1, &lwork) != STATUS_OK:
            raise ValueError("eig_workspace_size")
        cdef void *state = malloc(eig_state_size())
        cdef double *work = <double *>malloc(lwork * sizeof(double))
        cdef const double *x
        cdef double *y
        cdef const double *vec
        cdef double value, residual
        cdef int64_t nmv
        cdef int st
        try:
            st = eig_init(state, n, method, EIG_LA, 20, tol, DBL_EPSILON, 0, maxmv, NULL,
                          0.1, 12345, work, lwork, 1)
            if st != STATUS_OK:
                return st, None, None, None, None
            with nogil:
                st = eig_iterate(state, &x, &y)
                while st == REQ_MATVEC:
                    matvec(A, x, y)
                    st = eig_iterate(state, &x, &y)
            eig_result(state, &value, &residual, &vec, &nmv)
            return st, value, residual, nmv, [vec[i] for i in range(n)]
        finally:
            free(work)
            free(state)

    # ---- descend driven by our own C quadratic f = x'Ax/2 - b'x ----
    cdef double quad(const double[:, ::1] A, const double[::1] b, const double *x,
                     double *g) noexcept nogil:
        cdef Py_ssize_t i, j, n = A.shape[0]
        cdef double s, f = 0.0
        for i in range(n):
            s = 0.0
            for j in range(n):
                s = s + A[i, j] * x[j]
            g[i] = s - b[i]
            f = f + x[i] * (0.5 * s - b[i])
        return f

    def descend_quad(const double[:, ::1] A, const double[::1] b, double[::1] x,
                     const double[::1] lrs, int64_t steps, str method, double momentum,
                     double tol, int64_t record_every, double[::1] losses,
                     double[::1] gnorms):
        cdef Py_ssize_t n = x.shape[0]
        cdef int m = METHODS[method]
        cdef size_t lwork = 0
        if descend_workspace_size(n, m, &lwork) != STATUS_OK:
            raise ValueError("descend_workspace_size")
        cdef void *state = malloc(descend_state_size())
        cdef double *work = <double *>malloc(lwork * sizeof(double))
        cdef const double *xk
        cdef double *g
        cdef double f, loss, gnorm
        cdef int64_t run, nevals = 0
        cdef int st, outcome
        try:
            st = descend_init(state, &x[0], n, &lrs[0] if steps > 0 else NULL, steps, m,
                              momentum, 0.999, 1e-8, tol, 1e10, record_every, work, lwork,
                              &losses[0], &gnorms[0])
            if st != STATUS_OK:
                return st, None, None, None, None, None
            with nogil:
                st = descend_iterate(state, &xk, &g)
                while st == REQ_VALUE_GRAD:
                    f = quad(A, b, xk, g)
                    nevals += 1
                    descend_tell(state, f, STATUS_OK)
                    st = descend_iterate(state, &xk, &g)
            descend_result(state, &run, &loss, &gnorm, &outcome)
            return st, run, loss, gnorm, OUTCOMES[outcome], nevals
        finally:
            free(work)
            free(state)

    def descend_failing(long fail_at):
        """An objective that reports a failure code at evaluation fail_at."""
        cdef double x[2]
        cdef double lrs[10]
        cdef double rec[11]
        cdef double rec2[11]
        cdef size_t lwork = 0
        descend_workspace_size(2, METHOD_GD, &lwork)
        cdef void *state = malloc(descend_state_size())
        cdef double *work = <double *>malloc(lwork * sizeof(double))
        cdef const double *xk
        cdef double *g
        cdef long k = 0
        cdef int st, i
        x[0] = 1.0
        x[1] = 1.0
        for i in range(10):
            lrs[i] = 0.1
        try:
            descend_init(state, x, 2, lrs, 10, METHOD_GD, 0.0, 0.999, 1e-8, 0.0, 1e10, 1,
                         work, lwork, rec, rec2)
            st = descend_iterate(state, &xk, &g)
            while st == REQ_VALUE_GRAD:
                g[0] = xk[0]
                g[1] = xk[1]
                descend_tell(state, 0.0, 77 if k == fail_at else STATUS_OK)
                k += 1
                st = descend_iterate(state, &xk, &g)
            return st, k
        finally:
            free(work)
            free(state)

    # ---- a compiled schedule program ----
    def sched(s, const int64_t[::1] steps, double[::1] out):
        cdef const void *prog = schedule_program(s)
        cdef int st
        cdef double last
        with nogil:
            st = schedule_eval(prog, &steps[0], &out[0], steps.shape[0], 1)
            last = schedule_value(prog, steps[steps.shape[0] - 1])
        return st, last
''')

CHECK = textwrap.dedent('''
    import importlib.util, sys
    import numpy as np
    import consumer
    import lrcore
    import lrcore.optim as optim
    from lrcore import schedules
    from lrcore.problems import Quadratic
    from lrcore.stability import descend

    # version compiled in == version at run time; no runtime module for the pxd
    assert consumer.BUILT_WITH == lrcore.C_API_VERSION == lrcore._core.C_API_VERSION == 2
    assert "lrcore.cython_api" not in sys.modules
    assert importlib.util.find_spec("lrcore.cython_api") is None

    # update kernels
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=33), rng.normal(size=33)
    m, v = np.zeros(33), np.zeros(33)
    x2, m2, v2 = x.copy(), m.copy(), v.copy()
    assert consumer.run_adam(x, g, m, v, 1) == 0
    optim.adam_step(x2, g, m2, v2, 1, 0.01)
    assert np.array_equal(x, x2) and np.array_equal(m, m2) and np.array_equal(v, v2)
    g[5] = np.nan
    before = x.copy()
    assert consumer.run_adam(x, g, m, v, 2) == consumer.CODES[1]
    assert np.array_equal(x, before)
    assert not consumer.finite(g) and consumer.finite(x)
    xf, gf = np.ones(4, np.float32), np.ones(4, np.float32)
    assert consumer.run_sgd32(xf, gf, 0.5) == 0 and np.all(xf == 0.5)

    # eigen-solver's RC loop with the consumer's own mat-vec vs numpy
    M = rng.normal(size=(60, 60))
    A = (M + M.T) / 2 + np.diag(np.linspace(0, 30, 60))
    ref = np.linalg.eigvalsh(A)[-1]
    for power in (False, True):
        st, val, res, nmv, vec = consumer.top_eig(A, power, 1e-10, 100000)
        assert st == 0, st
        assert abs(val - ref) <= 1e-8 * abs(ref), (power, val, ref)
        vec = np.array(vec)
        assert np.linalg.norm(A @ vec - val * vec) <= 1e-6 * abs(ref) and nmv > 1

    # descend's RC machine with the consumer's own quadratic vs lrcore.stability.descend
    Q = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    H = Q @ np.diag(np.linspace(0.5, 4.0, 8)) @ Q.T
    H = (H + H.T) / 2
    b = rng.normal(size=8)
    prob = Quadratic(H, b)
    x0 = np.linspace(-1, 1, 8)
    cases = [("gd", 0.0, 0.2, 0.0), ("heavy_ball", 0.9, 0.05, 0.0),
             ("nesterov", 0.8, 0.1, 1e-6), ("adam", 0.9, 0.05, 0.0), ("gd", 0.0, 0.6, 0.0)]
    for method, mom, lr, tol in cases:
        steps, r = 400, 3
        lrs = lr * schedules.cosine(1.0, steps, floor=0.5).values(steps)
        xc = x0.copy()
        losses, gnorms = np.empty(steps // r + 1), np.empty(steps // r + 1)
        st, run, loss, gnorm, outcome, nevals = consumer.descend_quad(
            H, b, xc, lrs, steps, method, mom, tol, r, losses, gnorms)
        tr = descend(prob, x0, lrs, steps=steps, method=method, momentum=mom,
                     tol=tol or None, record_every=r)
        assert st == 0 and outcome == tr.status and run == tr.steps_run, (method, outcome, tr)
        assert nevals == run + 1
        k = run // r + 1
        np.testing.assert_allclose(losses[:k], tr.losses, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gnorms[:k], tr.grad_norms, rtol=1e-9, atol=1e-12)
        assert np.all(np.isnan(losses[k:]))
        if outcome != "diverged":
            np.testing.assert_allclose(xc, tr.x, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(loss, tr.final_loss, rtol=1e-9, atol=1e-12)
    assert outcome == "diverged"                  # the last case: lr 0.6 > 2/L = 0.5
    assert consumer.descend_failing(3) == (77, 4)   # a failure code aborts the run

    # a schedule program evaluated from Cython vs the schedule's own values
    s = schedules.warmup_cosine(0.1, 10, 100, floor=1e-3)
    steps = np.arange(0, 130, dtype=np.int64)
    out = np.empty(len(steps))
    st, last = consumer.sched(s, steps, out)
    assert st == 0 and np.array_equal(out, s(steps)) and last == s(129)
    print("OK")
''')


@needs_c_compiler
def test_cimport_the_public_cython_api(tmp_path):
    build_and_check(tmp_path, CONSUMER, CHECK)


C_CONSUMER = textwrap.dedent('''
    #include "lrcore.h"

    #if LRCORE_C_API_VERSION != 2
    #error "lrcore.h: unexpected C API version"
    #endif

    /* a value-and-gradient loop over the descend machine, as a C user would write it */
    static double quad(const double *x, double *g, ptrdiff_t n)
    {
        double f = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            g[i] = x[i];
            f += 0.5 * x[i] * x[i];
        }
        return f;
    }

    int run(double *x, ptrdiff_t n, const double *lrs, int64_t steps, double *work,
            size_t lwork)
    {
        lrc_run_opts o = {LRC_METHOD_ADAM, 0.9, 0.999, 1e-8, 0.0, 1e10, 1};
        lrc_descend s;
        int st = lrc_descend_init(&s, x, n, lrs, steps, &o, work, lwork, NULL, NULL);
        while (st == LRC_OK && (st = lrc_descend_iterate(&s)) == LRC_REQ_VALUE_GRAD)
            s.f = quad(s.x, s.g, n);
        return st == LRC_OK ? s.outcome : -st;
    }

    int use_the_rest(void)
    {
        lrc_eig e;
        lrc_sched_program p;
        lrc_problem q;
        size_t lw;
        (void)e;
        (void)p;
        (void)q;
        int st = lrc_eig_workspace_size(10, LRC_EIG_LANCZOS, 8, 1, &lw);
        st |= lrc_symv_workspace_size(10, 1, &lw);
        st |= lrc_descend_workspace_size(10, LRC_METHOD_GD, &lw);
        return st + (lrc_status_string(LRC_PAUSED) != 0) + LRC_REQ_MATVEC +
               (int)sizeof(&lrc_adam_f64) + (int)sizeof(&lrc_problem_descend);
    }
''')


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler")
@pytest.mark.parametrize("lang", ["c11", "c++"])
def test_installed_header_is_self_contained(tmp_path, lang):
    inc = lrcore.get_include()
    assert os.path.isfile(os.path.join(inc, "lrcore.h"))
    assert os.listdir(inc) == ["lrcore.h"]            # the private header is not shipped
    src = tmp_path / ("consumer.c" if lang == "c11" else "consumer.cpp")
    src.write_text(C_CONSUMER)
    if lang == "c11":
        cmd = [c_compiler(), "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
    else:
        cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
        if cxx is None:
            pytest.skip("no C++ compiler")
        cmd = [cxx, "-std=c++11", "-Wall", "-Werror"]
    res = subprocess.run(cmd + ["-fsyntax-only", "-I", inc, str(src)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def test_versions_agree_and_the_header_is_public_only():
    header = open(os.path.join(lrcore.get_include(), "lrcore.h")).read()
    pxd = open(os.path.join(os.path.dirname(lrcore.__file__), "_core.pxd")).read()
    h = int(re.search(r"#define LRCORE_C_API_VERSION (\d+)", header).group(1))
    p = int(re.search(r"^\s*C_API_VERSION = (\d+)", pxd, re.M).group(1))
    assert h == p == lrcore.C_API_VERSION == lrcore.__c_api_version__ == 2
    # internal helpers and benchmark kernels are not in the public header
    for name in ("lrci_", "lrc_team_size", "lrc_thread_range", "lrc_sinpi", "lrc_cos_anneal",
                 "lrc_tridiag_eig", "lrc_stream", "LRCORE_BUILDING", "LRC_DIVERGED 6",
                 "lrc_descend_f64", "lrc_value_grad_fn"):
        assert name not in header, name
    # every function the header declares is exported by the extension
    import lrcore._core as core
    so = core.__file__
    declared = set(re.findall(r"\b(lrc_[a-z0-9_]+)\s*\(", header)) - {"lrc_eig", "lrc_descend"}
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm to list the extension's symbols")
    syms = subprocess.run([nm, "-D", "--defined-only", so], capture_output=True,
                          text=True).stdout
    exported = set(re.findall(r"\b(lrc_[a-z0-9_]+)\b", syms))
    assert declared <= exported, sorted(declared - exported)
    assert not any(s.startswith("lrc_") and s not in declared for s in exported), \
        sorted(exported - declared)


def test_get_include_points_into_the_package():
    inc = lrcore.get_include()
    assert os.path.dirname(inc) == os.path.dirname(os.path.abspath(lrcore.__file__))
