"""The step-size rules through the public Cython API (lrcore.cython_api): a consumer
module built in a temporary directory drives the descend machine with an Armijo rule and
its own C quadratic (answering REQ_VALUE trials), the curvature rule (answering REQ_HVP),
and runs DoG in its own loop with rule_step; each against lrcore's Python API."""
import textwrap

from cython_build import build_and_check, needs_c_compiler

CONSUMER = textwrap.dedent('''
    # cython: language_level=3, boundscheck=False, wraparound=False
    from libc.stdlib cimport malloc, free
    from libc.stdint cimport int64_t
    from lrcore.cython_api cimport (
        STATUS_OK, REQ_VALUE_GRAD, REQ_VALUE, REQ_HVP, METHOD_GD, RUN_STOPPED,
        descend_state_size, descend_workspace_size, descend_init, descend_iterate,
        descend_tell, descend_result, descend_request, descend_set_rule,
        rule_params, rule_state_size, rule_workspace_size, rule_init, rule_step, rule_result,
    )

    cdef double quad(const double[:, ::1] A, const double *x, double *g) noexcept nogil:
        """f = x'Ax/2 (and g = Ax when g != NULL)."""
        cdef Py_ssize_t i, j, n = A.shape[0]
        cdef double s, f = 0.0
        for i in range(n):
            s = 0.0
            for j in range(n):
                s = s + A[i, j] * x[j]
            f += 0.5 * x[i] * s
            if g != NULL:
                g[i] = s
        return f

    def descend_rule(rule, const double[:, ::1] A, double[::1] x, long steps):
        cdef Py_ssize_t n = A.shape[0], i, j
        cdef const void *prm = rule_params(rule)
        cdef size_t lw, lr
        descend_workspace_size(n, METHOD_GD, &lw)
        rule_workspace_size(prm, n, &lr)
        cdef void *s = malloc(descend_state_size())
        cdef void *rs = malloc(rule_state_size())
        cdef double *work = <double *>malloc(max(lw, 1) * sizeof(double))
        cdef double *rwork = <double *>malloc(max(lr, 1) * sizeof(double))
        cdef double dummy = 0.0
        cdef const double *xk
        cdef const double *v
        cdef double *g
        cdef double *hv
        cdef int st, outcome
        cdef int64_t run
        cdef double loss, gnorm, acc
        cdef long nval = 0, nhvp = 0
        st = descend_init(s, &x[0], n, &dummy, steps, METHOD_GD, 0.0, 0.999, 1e-8, 0.0,
                          1e10, 1, work, lw, NULL, NULL)
        if st == STATUS_OK:
            st = rule_init(rs, prm, n, &x[0], rwork, max(lr, 1))
        if st == STATUS_OK:
            st = descend_set_rule(s, rs)
        while st == STATUS_OK:
            st = descend_iterate(s, NULL, NULL)
            descend_request(s, &xk, &g, &v, &hv)
            if st == REQ_VALUE_GRAD:
                descend_tell(s, quad(A, xk, g), STATUS_OK)
                st = STATUS_OK
            elif st == REQ_VALUE:
                nval += 1
                descend_tell(s, quad(A, xk, NULL), STATUS_OK)
                st = STATUS_OK
            elif st == REQ_HVP:
                nhvp += 1
                for i in range(n):
                    acc = 0.0
                    for j in range(n):
                        acc = acc + A[i, j] * v[j]
                    hv[i] = acc
                descend_tell(s, 0.0, STATUS_OK)
                st = STATUS_OK
            else:
                break
        descend_result(s, &run, &loss, &gnorm, &outcome)
        free(s); free(rs); free(work); free(rwork)
        return st, run, loss, outcome, nval, nhvp

    def own_loop(rule, const double[:, ::1] A, double[::1] x, long steps):
        cdef Py_ssize_t n = A.shape[0]
        cdef const void *prm = rule_params(rule)
        cdef size_t lr
        rule_workspace_size(prm, n, &lr)
        cdef void *rs = malloc(rule_state_size())
        cdef double *rwork = <double *>malloc(max(lr, 1) * sizeof(double))
        cdef double *g = <double *>malloc(n * sizeof(double))
        cdef double rate
        cdef int event, st
        cdef int64_t t
        rates = []
        st = rule_init(rs, prm, n, &x[0], rwork, max(lr, 1))
        for _ in range(steps):
            f = quad(A, &x[0], g)
            st = rule_step(rs, &x[0], g, f)
            rule_result(rs, &rate, &event, &t)
            rates.append(rate)
        free(rs); free(rwork); free(g)
        return st, rates, t

    STOPPED = RUN_STOPPED
''')

CHECK = textwrap.dedent('''
    import numpy as np
    import consumer
    from lrcore import adaptive as A
    from lrcore.problems import Quadratic
    from lrcore.stability import descend

    H = np.diag(np.linspace(0.5, 4.0, 6))
    q = Quadratic(H)
    x0 = np.linspace(-1, 1, 6)
    for rule in (A.armijo(), A.curvature()):
        x = x0.copy()
        st, run, loss, outcome, nval, nhvp = consumer.descend_rule(rule, H, x, 80)
        tr = descend(q, x0, rule, steps=80)
        assert st == 0 and run == tr.steps_run, (st, run, tr)
        np.testing.assert_allclose(x, tr.x, rtol=1e-12, atol=1e-14)
        assert nval == tr.counts[0] - tr.counts[1] and nhvp == tr.counts[2]
        assert (nval > 0) == (rule.name == "armijo") and (nhvp > 0) == (rule.name == "curvature")
    x = x0.copy()
    st, rates, t = consumer.own_loop(A.dog(), H, x, 40)
    tr = descend(q, x0, A.dog(), steps=40)
    assert st == 0 and t == 40
    np.testing.assert_array_equal(rates, tr.rates[:40])
    np.testing.assert_array_equal(x, tr.x)
    st, _, _ = consumer.own_loop(A.armijo(), H, x0.copy(), 1)
    assert st == 2                       # STATUS_EINVAL: armijo needs the machine
    print("OK")
''')


@needs_c_compiler
def test_rules_through_the_public_cython_api(tmp_path):
    build_and_check(tmp_path, CONSUMER, CHECK)
