# _descend.pxi -- bindings of csrc/descend.c: the optimizer loop as a reverse-communication
# machine.  Included by _core.pyx after _problems.pxi (the built-in problems it runs in
# C).  The Python API is lrcore.stability.descend.
#
# One loop, three drivers of the same C machine (lrc_descend_init / lrc_descend_iterate):
#   * built-in problems: lrc_problem_descend (C, no GIL) answers the requests with the
#     problem's value and gradient, in slices of _PAUSE_SECONDS between signal checks
#     (_descend_problem below, behind CProblem.descend);
#   * a Python value_and_grad(x) -> (f, g): descend_callable below answers them in Python;
#   * another Cython module: descend_init/iterate/tell/result of cython_api.pxd.
# Arguments are validated here (the Python layer validates them too, with its own
# messages); nothing is written before every check has passed, and every run works on
# a copy of x0, so an error or a KeyboardInterrupt never leaves half-written state.

from libc.string cimport memcpy
from libc.math cimport NAN

cdef extern from "lrcore.h" nogil:
    int LRC_METHOD_GD
    int LRC_METHOD_HEAVY_BALL
    int LRC_METHOD_NESTEROV
    int LRC_METHOD_ADAM
    int LRC_RUN_COMPLETED
    int LRC_RUN_CONVERGED
    int LRC_RUN_DIVERGED
    ctypedef struct lrc_run_opts:
        int method
        double momentum
        double beta2
        double eps
        double tol
        double blowup
        int64_t record_every
    ctypedef struct lrc_descend:
        const double *x
        double *g
        double f
        int status
        int64_t steps_run
        int64_t n_evals
        double loss
        double gnorm
        int outcome
        ptrdiff_t n
    int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size)
    int lrc_descend_init(lrc_descend *s, double *x, ptrdiff_t n, const double *lrs,
                         int64_t steps, const lrc_run_opts *opts, double *work, size_t lwork,
                         double *losses, double *gnorms)
    int lrc_descend_iterate(lrc_descend *s)
    int lrc_problem_descend(const lrc_problem *p, lrc_descend *s, double max_seconds)
_METHODS = {"gd": 0, "heavy_ball": 1, "nesterov": 2, "adam": 3}
_OUTCOMES = {0: "completed", 1: "converged", 2: "diverged"}

# descend_callable releases the GIL around the machine's own work (the update step) from
# this many parameters on; below, releasing costs more than the step
cdef Py_ssize_t _DESCEND_NOGIL_N = 8192


# ---- C-level API (declared in _core.pxd) ------------------------------------------------

cdef size_t descend_state_size() noexcept nogil:
    return sizeof(lrc_descend)

cdef int descend_workspace_size(Py_ssize_t n, int method, size_t *size) noexcept nogil:
    return lrc_descend_workspace_size(n, method, size)

cdef int descend_init(void *state, double *x, Py_ssize_t n, const double *lrs,
                      int64_t steps, int method, double momentum, double beta2, double eps,
                      double tol, double blowup, int64_t record_every, double *work,
                      size_t lwork, double *losses, double *gnorms) noexcept nogil:
    cdef lrc_run_opts o
    o.method = method
    o.momentum = momentum
    o.beta2 = beta2
    o.eps = eps
    o.tol = tol
    o.blowup = blowup
    o.record_every = record_every
    return lrc_descend_init(<lrc_descend *>state, x, n, lrs, steps, &o, work, lwork,
                            losses, gnorms)

cdef int descend_iterate(void *state, const double **x, double **g) noexcept nogil:
    cdef lrc_descend *s = <lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    cdef int st = lrc_descend_iterate(s)
    if x != NULL:
        x[0] = s.x
    if g != NULL:
        g[0] = s.g
    return st

cdef int descend_tell(void *state, double f, int status) noexcept nogil:
    cdef lrc_descend *s = <lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    s.f = f
    s.status = status
    return STATUS_OK

cdef int descend_result(const void *state, int64_t *steps_run, double *loss, double *gnorm,
                        int *outcome) noexcept nogil:
    cdef const lrc_descend *s = <const lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    if steps_run != NULL:
        steps_run[0] = s.steps_run
    if loss != NULL:
        loss[0] = s.loss
    if gnorm != NULL:
        gnorm[0] = s.gnorm
    if outcome != NULL:
        outcome[0] = s.outcome
    return STATUS_OK


cdef class _DescendRun:
    """One run of the C descend machine: its state, a private copy of x0 (the iterate),
    the rates, the records and the workspace.  Everything is validated by setup() before
    the machine is initialised."""
    cdef lrc_descend s
    cdef cnp.ndarray X, L, losses, gnorms, work
    cdef Py_ssize_t n

    cdef int setup(self, object x0, Py_ssize_t dim, object lrs, object steps, object method,
                   object momentum, object beta2, object eps, object tol, object blowup,
                   object record_every) except -1:
        """dim < 0: take the size from x0."""
        cdef Py_ssize_t k = _index(steps, "steps")
        if k < 0:
            raise ValueError(f"steps must be >= 0, got {k}")
        cdef Py_ssize_t r = _index(record_every, "record_every")
        if r < 1:
            raise ValueError(f"record_every must be >= 1, got {r}")
        if not isinstance(method, str) or method not in _METHODS:
            raise ValueError(f"method must be one of {tuple(_METHODS)}, got {method!r}")
        cdef lrc_run_opts o
        o.method = _METHODS[method]
        o.momentum = _unit(momentum, "momentum")
        o.beta2 = _unit(beta2, "beta2")
        o.eps = _positive(eps, "eps")
        o.tol = _nonneg(tol, "tol")
        o.blowup = _real(blowup, "blowup")
        if not (o.blowup >= 0.0):
            raise ValueError(f"blowup must be >= 0 (0 turns the bound off), got {o.blowup!r}")
        o.record_every = r
        try:
            X = np.array(x0, dtype=np.float64, copy=True, order="C")
        except (TypeError, ValueError):
            raise TypeError(f"x0 must be a 1-D array of real numbers, got "
                            f"{type(x0).__name__}") from None
        if X.ndim != 1 or (dim >= 0 and X.shape[0] != dim):
            want = f"({dim},)" if dim >= 0 else "(n,)"
            raise ValueError(f"x0 must have shape {want}, got {np.shape(x0)}")
        if not np.all(np.isfinite(X)):
            raise ValueError("x0 has non-finite entries")
        cdef cnp.ndarray L
        if k > 0:
            try:
                L = np.ascontiguousarray(lrs, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"lrs must be an array of {k} real numbers (one rate per "
                                f"step), got {type(lrs).__name__}") from None
            if L.ndim != 1 or L.shape[0] != k:
                raise ValueError(f"lrs must have shape ({k},) (one rate per step), got "
                                 f"{np.shape(lrs)}")
            bad = ~(np.isfinite(L) & (L >= 0))
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"lrs[{i}] = {L[i]!r}; rates must be finite and >= 0")
        else:
            L = np.zeros(1, dtype=np.float64)
        self.n = X.shape[0]
        cdef size_t lw = 0
        if lrc_descend_workspace_size(self.n, o.method, &lw) != LRC_OK:
            raise ValueError(f"x0 is too large ({self.n} entries)")
        cdef Py_ssize_t nrec = k // r + 1
        self.X = X
        self.L = L
        self.losses = np.empty(nrec, dtype=np.float64)
        self.gnorms = np.empty(nrec, dtype=np.float64)
        self.work = np.empty(max(<size_t>1, lw), dtype=np.float64)
        cdef int st = lrc_descend_init(&self.s, <double *>cnp.PyArray_DATA(self.X), self.n,
                                       <const double *>cnp.PyArray_DATA(self.L), k, &o,
                                       <double *>cnp.PyArray_DATA(self.work), max(<size_t>1, lw),
                                       <double *>cnp.PyArray_DATA(self.losses),
                                       <double *>cnp.PyArray_DATA(self.gnorms))
        if st != LRC_OK:
            raise _status_error(st, "descend")
        return 0

    cdef tuple result(self, int st, str where):
        if st != LRC_OK:
            # the machine ends with LRC_OK whatever the outcome; anything else is an
            # objective's failure code or an internal error
            raise _status_error(st, where)
        return (self.X, self.losses, self.gnorms, int(self.s.steps_run), self.s.loss,
                self.s.gnorm, _OUTCOMES[self.s.outcome])


cdef double _take_answer(object out, double *g, Py_ssize_t n, int64_t k) except? -1.0:
    """Check the user's (f, grad) for evaluation k and copy the gradient to g."""
    if type(out) is tuple and len(<tuple>out) == 2:
        fo, go = <tuple>out
    else:
        try:
            fo, go = out
        except (TypeError, ValueError):
            raise TypeError(f"value_and_grad(x) must return a pair (f, g); got "
                            f"{type(out).__name__} at evaluation {k}") from None
    cdef double f
    if PyFloat_Check(fo):
        f = PyFloat_AS_DOUBLE(fo)
    else:
        if isinstance(fo, np.ndarray) and (<cnp.ndarray>fo).ndim != 0:
            raise TypeError(f"value_and_grad(x) returned a loss f of shape {fo.shape} at "
                            f"evaluation {k}; expected a real scalar")
        try:
            f = _real(fo, "f")
        except TypeError:
            raise TypeError(f"value_and_grad(x) returned a loss f of type "
                            f"{type(fo).__name__} at evaluation {k}; expected a real "
                            f"number") from None
    cdef cnp.ndarray ga
    if not (cnp.PyArray_CheckExact(go) and cnp.PyArray_TYPE(<cnp.ndarray>go) == cnp.NPY_DOUBLE
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>go)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>go)):
        try:
            ga = np.asarray(go)
        except (TypeError, ValueError) as e:
            raise TypeError(f"value_and_grad(x) returned a gradient that is not a numeric "
                            f"array at evaluation {k} ({e})") from None
        if ga.dtype.kind not in "biuf":
            raise TypeError(f"value_and_grad(x) returned a gradient of dtype {ga.dtype} at "
                            f"evaluation {k}; expected real numbers")
        if ga.ndim != 1 or ga.shape[0] != n:
            raise ValueError(f"value_and_grad(x) returned a gradient of shape {(<object>ga).shape} at "
                             f"evaluation {k}; expected ({n},), the shape of x")
        ga = np.ascontiguousarray(ga, dtype=np.float64)
    else:
        ga = <cnp.ndarray>go
        if ga.ndim != 1 or ga.shape[0] != n:
            raise ValueError(f"value_and_grad(x) returned a gradient of shape {(<object>ga).shape} at "
                             f"evaluation {k}; expected ({n},), the shape of x")
    if n > 0:
        memcpy(g, cnp.PyArray_DATA(ga), n * sizeof(double))
    return f


def descend_callable(value_and_grad, x0, lrs, steps, method, momentum, beta2, eps, tol,
                     blowup, record_every):
    """Run the C descend loop on a Python objective ``value_and_grad(x) -> (f, g)``.

    The same reverse-communication machine as :meth:`CProblem.descend` (so the same
    arithmetic, stops and records): the machine asks for f and grad f, this function
    calls ``value_and_grad`` and hands the answer back.  Package-internal API (used by
    :func:`lrcore.stability.descend` for problems made from Python functions).

    Parameters
    ----------
    value_and_grad : callable
        ``value_and_grad(x) -> (f, g)``: a real scalar f and a gradient of shape ``(n,)``
        (any real dtype; converted to float64).  ``x`` is a fresh float64 array of shape
        ``(n,)`` on every call -- a copy of the iterate, so keeping it or writing to it is
        safe and has no effect on the run.  The objective is never called at a non-finite
        point: a step that overflows x ends the run as ``"diverged"`` with a NaN loss.
    x0 : array_like, shape (n,)
        Starting point, finite (copied; never modified).
    lrs : array_like, shape (steps,)
        The rate of each step, finite and >= 0.
    steps : int
        Optimizer steps (>= 0).
    method : {"gd", "heavy_ball", "nesterov", "adam"}
    momentum : float
        Heavy ball / Nesterov beta or Adam's beta1, in [0, 1).
    beta2, eps : float
        Adam's second-moment decay in [0, 1) and denominator guard (> 0).
    tol : float
        Stop as ``"converged"`` once ||g|| <= tol (0: never).
    blowup : float
        Stop as ``"diverged"`` once f - f(x0) > blowup max(|f(x0)|, 1) (0: never).
    record_every : int
        Record f and ||g|| at iterates 0, r, 2r, ... (r >= 1).

    Returns
    -------
    tuple
        ``(x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome)`` exactly as
        :meth:`CProblem.descend`: the last iterate (a new array), the records (length
        ``steps // record_every + 1``, NaN where nothing was recorded), the number of
        steps taken, f and ||g|| at the last evaluated iterate, and ``"completed"``,
        ``"converged"`` or ``"diverged"``.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments, or an answer of ``value_and_grad`` that is not a pair of a real
        scalar and a real array of shape ``(n,)`` (the message names what was wrong and
        the evaluation's index).
    Exception
        Whatever ``value_and_grad`` raises propagates unchanged; ``KeyboardInterrupt``
        (checked after every call) too.  Nothing is returned then and ``x0`` is untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import _core
    >>> x, losses, gnorms, run, f, g, outcome = _core.descend_callable(
    ...     lambda x: (0.5 * x @ x, x), np.ones(2), np.full(10, 0.5), 10, "gd",
    ...     0.0, 0.999, 1e-8, 0.0, 1e10, 1)
    >>> x, run, outcome
    (array([0.00097656, 0.00097656]), 10, 'completed')
    """
    if not callable(value_and_grad):
        raise TypeError(f"value_and_grad must be callable as value_and_grad(x) -> (f, g), "
                        f"got {type(value_and_grad).__name__}")
    cdef _DescendRun run = _DescendRun()
    run.setup(x0, -1, lrs, steps, method, momentum, beta2, eps, tol, blowup, record_every)
    cdef lrc_descend *s = &run.s
    cdef Py_ssize_t n = run.n, i
    cdef bint release = n >= _DESCEND_NOGIL_N
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray xin
    cdef int st
    while True:
        if release:
            with nogil:
                st = lrc_descend_iterate(s)
        else:
            st = lrc_descend_iterate(s)
        if st != LRC_REQ_VALUE_GRAD:
            break
        if n > 0 and c_all_finite_f64(s.x, n, 1) != LRC_OK:
            # a step overflowed x: do not call the objective there; the run ends diverged
            s.f = NAN
            for i in range(n):
                s.g[i] = NAN
            s.status = LRC_NONFINITE
            continue
        xin = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_DOUBLE)
        if n > 0:
            memcpy(cnp.PyArray_DATA(xin), s.x, n * sizeof(double))
        out = value_and_grad(xin)
        s.f = _take_answer(out, s.g, n, s.n_evals - 1)
        PyErr_CheckSignals()
    return run.result(st, "descend_callable")


cdef tuple _descend_problem(const lrc_problem *q, Py_ssize_t dim, object x0, object lrs,
                            object steps, object method, object momentum, object beta2,
                            object eps, object tol, object blowup, object record_every):
    """The run of CProblem.descend: the machine driven by the problem's C value and
    gradient (lrc_problem_descend) without the GIL, pausing every _PAUSE_SECONDS for
    signals (Ctrl-C raises KeyboardInterrupt; x0 is never modified)."""
    cdef _DescendRun run = _DescendRun()
    run.setup(x0, dim, lrs, steps, method, momentum, beta2, eps, tol, blowup, record_every)
    cdef int st
    while True:
        with nogil:
            st = lrc_problem_descend(q, &run.s, _PAUSE_SECONDS)
        if st != LRC_PAUSED:
            break
        PyErr_CheckSignals()     # KeyboardInterrupt: the run (on a copy) is dropped
    return run.result(st, "descend")
