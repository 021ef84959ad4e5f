# _problems.pxi -- bindings of csrc/problems.c (built-in objectives) and csrc/descend.c
# (the optimizer loop as a reverse-communication machine).  Included by _core.pyx; the
# Python API is lrcore.problems and lrcore.stability.
#
# One loop, three drivers of the same C machine (lrc_descend_init / lrc_descend_iterate):
#   * built-in problems: lrc_problem_descend (C, no GIL) answers the requests with the
#     problem's value and gradient, in slices of _PAUSE_SECONDS between signal checks;
#   * a Python value_and_grad(x) -> (f, g): descend_callable below answers them in Python;
#   * another Cython module: descend_init/iterate/tell/result of cython_api.pxd.
# Arguments are validated here (the Python layer validates them too, with its own
# messages); nothing is written before every check has passed, and every run works on
# a copy of x0, so an error or a KeyboardInterrupt never leaves half-written state.

from libc.string cimport memcpy
from libc.math cimport NAN
from scipy.linalg.cython_blas cimport (dgemv as _blas_dgemv, dsymv as _blas_dsymv,
                                       dgemm as _blas_dgemm)

cdef extern from "lrcore.h" nogil:
    ctypedef void (*lrc_dgemv_fn)(char *trans, int *m, int *n, double *alpha, double *a,
                                  int *lda, double *x, int *incx, double *beta, double *y,
                                  int *incy)
    ctypedef void (*lrc_dsymv_fn)(char *uplo, int *n, double *alpha, double *a, int *lda,
                                  double *x, int *incx, double *beta, double *y, int *incy)
    ctypedef void (*lrc_dgemm_fn)(char *transa, char *transb, int *m, int *n, int *k,
                                  double *alpha, double *a, int *lda, double *b, int *ldb,
                                  double *beta, double *c, int *ldc)
    ctypedef struct lrc_blas:
        lrc_dgemv_fn dgemv
        lrc_dsymv_fn dsymv
        lrc_dgemm_fn dgemm
    ctypedef struct lrc_problem:
        int kind
        ptrdiff_t n_samples
        ptrdiff_t dim
        const double *A
        const double *b
        const double *X
        const double *y
        double l2
        double *work
        lrc_blas blas
        int design
        const void *indptr
        const void *indices
        const double *data
        ptrdiff_t n_classes
        int nthreads
    int LRC_PROBLEM_QUADRATIC
    int LRC_PROBLEM_LEAST_SQUARES
    int LRC_PROBLEM_LOGISTIC
    int LRC_PROBLEM_SOFTMAX
    int LRC_DESIGN_DENSE
    int LRC_DESIGN_CSR32
    int LRC_DESIGN_CSR64
    int lrc_problem_workspace_size(const lrc_problem *p, size_t *size)
    double lrc_problem_value_grad(const lrc_problem *p, const double *w, double *g, int *status)
    double lrc_problem_value(const lrc_problem *p, const double *w, int *status)
    int lrc_problem_hvp(const lrc_problem *p, const double *w, const double *v, double *out)
    int lrc_problem_gram(const lrc_problem *p, const double *v, double *out)

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


# ---- helpers -----------------------------------------------------------------------------

cdef inline cnp.ndarray _f64_vector(object a, str name, Py_ssize_t n):
    """A C-contiguous float64 1-D array of length n (a copy only when needed)."""
    cdef cnp.ndarray arr = np.ascontiguousarray(a, dtype=np.float64)
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIM(arr, 0) != n:
        raise ValueError(f"{name} must have shape ({n},), got {np.shape(a)}")
    return arr


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


cdef object _csr_arrays(object csr, Py_ssize_t n_features):
    """Validated (indptr, indices, data, n_rows, design) of a CSR design matrix given as
    (indptr, indices, data): indptr and indices both int32 (design CSR32) or both int64
    (CSR64), data float64, all C-contiguous.  Everything the C kernels index is checked
    here, once: indptr starts at 0, never decreases, ends within indices and data, and
    every index lies in [0, n_features)."""
    try:
        indptr, indices, data = csr
    except (TypeError, ValueError):
        raise TypeError("csr must be a tuple (indptr, indices, data)") from None
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    if indptr.ndim != 1 or indices.ndim != 1 or indptr.dtype.kind not in "iu" or \
            indices.dtype.kind not in "iu":
        raise ValueError("X (CSR): indptr and indices must be 1-D integer arrays")
    if indptr.shape[0] < 2:
        raise ValueError("X (CSR) must have at least one row")
    if n_features < 0:
        raise ValueError(f"n_features must be >= 0, got {n_features}")
    itype = np.int32 if (indptr.dtype == np.int32 and indices.dtype == np.int32) else np.int64
    if itype is np.int64 and (indptr.dtype == np.uint64 or indices.dtype == np.uint64):
        if (indptr.size and indptr.max() > 2**63 - 1) or (indices.size and indices.max() > 2**63 - 1):
            raise ValueError("X (CSR): index values exceed int64")
    cdef cnp.ndarray ip = np.ascontiguousarray(indptr, dtype=itype)
    cdef cnp.ndarray ix = np.ascontiguousarray(indices, dtype=itype)
    cdef cnp.ndarray dv = np.ascontiguousarray(data, dtype=np.float64)
    if dv.ndim != 1:
        raise ValueError("X (CSR): data must be a 1-D array")
    n = ip.shape[0] - 1
    if ip[0] != 0 or (n > 0 and bool(np.any(ip[1:] < ip[:n]))):
        raise ValueError("X (CSR): indptr must start at 0 and never decrease")
    nnz = int(ip[n])
    if nnz > ix.shape[0] or nnz > dv.shape[0]:
        raise ValueError(f"X (CSR): indptr[-1] = {nnz} but indices has {ix.shape[0]} and "
                         f"data {dv.shape[0]} entries")
    if nnz and (int(ix[:nnz].min()) < 0 or int(ix[:nnz].max()) >= n_features):
        raise ValueError(f"X (CSR) has column indices outside [0, {n_features})")
    design = LRC_DESIGN_CSR32 if itype is np.int32 else LRC_DESIGN_CSR64
    return ip, ix, dv, n, design


cdef class CProblem:
    """A built-in objective held in C (private: use lrcore.problems).

    Holds references to its float64 arrays; every call uses its own workspace, so one
    object may be used from several threads at once.

    Kinds: 0 quadratic (``A``, ``b``), 1 least squares, 2 logistic, 3 softmax (design
    matrix dense ``X`` or ``csr=(indptr, indices, data)`` with ``n_features`` columns;
    targets ``y``; ``n_classes`` for the softmax, whose parameters are the
    ``n_features x n_classes`` matrix stored row-major).  ``nthreads`` (CSR designs): 1
    serial, k > 1 at most k OpenMP threads, 0 (the default) lrcore's
    :func:`lrcore.set_num_threads` setting at each call.

    Non-finite results: when the objective overflows (the C kernels report
    ``LRC_NONFINITE``: the result holds NaN or Inf), :meth:`value`,
    :meth:`value_and_grad` and :meth:`hvp` return that result as is -- NaN/Inf are values
    here, not errors (a caller such as a line search or a divergence check inspects them).
    Any other C status raises.
    """
    cdef lrc_problem p
    cdef object _arrays
    cdef readonly Py_ssize_t dim
    cdef readonly Py_ssize_t n_samples
    cdef readonly Py_ssize_t n_features
    cdef readonly Py_ssize_t n_classes
    cdef readonly int kind
    cdef readonly int design
    cdef readonly int nthreads

    def __cinit__(self, int kind, A=None, b=None, X=None, y=None, double l2=0.0, csr=None,
                  Py_ssize_t n_features=-1, Py_ssize_t n_classes=0, int nthreads=0):
        cdef cnp.ndarray cA = None, cb = None, cX = None, cy = None
        cdef cnp.ndarray ip = None, ix = None, dv = None
        self.p.kind = kind
        self.p.l2 = l2
        self.p.A = NULL
        self.p.b = NULL
        self.p.X = NULL
        self.p.y = NULL
        self.p.work = NULL
        self.p.blas.dgemv = <lrc_dgemv_fn>_blas_dgemv
        self.p.blas.dsymv = <lrc_dsymv_fn>_blas_dsymv
        self.p.blas.dgemm = <lrc_dgemm_fn>_blas_dgemm
        self.p.design = LRC_DESIGN_DENSE
        self.p.indptr = NULL
        self.p.indices = NULL
        self.p.data = NULL
        self.p.n_classes = 0
        if not (l2 >= 0.0 and l2 < float("inf")):
            raise ValueError(f"l2 must be finite and >= 0, got {l2!r}")
        if nthreads < 0:
            raise ValueError(f"nthreads must be >= 0 (0: the OpenMP default), got {nthreads}")
        self.p.nthreads = nthreads
        self.nthreads = nthreads
        cdef Py_ssize_t K = 1
        if kind == LRC_PROBLEM_QUADRATIC:
            cA = np.ascontiguousarray(A, dtype=np.float64)
            if cA.ndim != 2 or cA.shape[0] != cA.shape[1]:
                raise ValueError("A must be a square 2-D array")
            self.dim = cA.shape[0]
            self.n_samples = 0
            self.n_features = self.dim
            self.p.A = <const double *>cnp.PyArray_DATA(cA)
            if b is not None:
                cb = _f64_vector(b, "b", self.dim)
                self.p.b = <const double *>cnp.PyArray_DATA(cb)
        elif kind == LRC_PROBLEM_LEAST_SQUARES or kind == LRC_PROBLEM_LOGISTIC or \
                kind == LRC_PROBLEM_SOFTMAX:
            if kind == LRC_PROBLEM_SOFTMAX:
                if n_classes < 2:
                    raise ValueError(f"n_classes must be >= 2 for a softmax problem, got "
                                     f"{n_classes}")
                K = n_classes
            if csr is not None:
                if X is not None:
                    raise ValueError("pass X or csr, not both")
                ip, ix, dv, self.n_samples, self.design = _csr_arrays(csr, n_features)
                self.n_features = n_features
                self.p.design = self.design
                self.p.indptr = cnp.PyArray_DATA(ip)
                self.p.indices = cnp.PyArray_DATA(ix)
                self.p.data = <const double *>cnp.PyArray_DATA(dv)
            else:
                cX = np.ascontiguousarray(X, dtype=np.float64)
                if cX.ndim != 2 or cX.shape[0] < 1:
                    raise ValueError("X must be a 2-D array with at least one row")
                self.n_samples, self.n_features = cX.shape[0], cX.shape[1]
                if self.n_samples > 2**31 - 1 or self.n_features * K > 2**31 - 1:
                    raise ValueError("X is too large for 32-bit BLAS dimensions")
                self.p.X = <const double *>cnp.PyArray_DATA(cX)
                self.design = LRC_DESIGN_DENSE
            if self.n_features > (2**62) // K:
                raise ValueError("too many parameters")
            self.dim = self.n_features * K
            cy = _f64_vector(y, "y", self.n_samples)
            if kind == LRC_PROBLEM_SOFTMAX:
                bad = ~((cy >= 0) & (cy < K) & (np.floor(cy) == cy))
                if bad.any():
                    i = int(np.argmax(bad))
                    raise ValueError(f"y must hold class labels 0..{K - 1}, got {cy[i]!r} at "
                                     f"index {i}")
            self.p.y = <const double *>cnp.PyArray_DATA(cy)
        else:
            raise ValueError(f"unknown problem kind {kind}")
        self.kind = kind
        self.n_classes = K if kind == LRC_PROBLEM_SOFTMAX else 0
        self.p.n_classes = self.n_classes
        self.p.dim = self.dim
        self.p.n_samples = self.n_samples
        self._arrays = (cA, cb, cX, cy, None if ip is None else (ip, ix, dv))

    cdef inline cnp.ndarray _work(self):
        """A workspace for one call.  Also fixes the call's thread count (every method
        copies self.p after this): the problem's own nthreads, else lrcore's
        set_num_threads() setting (0: the OpenMP default)."""
        cdef size_t lw = 0
        self.p.nthreads = self.nthreads if self.nthreads > 0 else _nthreads
        if lrc_problem_workspace_size(&self.p, &lw) != LRC_OK:
            raise ValueError("invalid problem")
        return np.empty(max(<size_t>1, lw), dtype=np.float64)

    def value(self, w):
        """f(w) (NaN/Inf returned as is when the objective overflows; see the class)."""
        cdef cnp.ndarray W = _f64_vector(w, "x", self.dim)
        cdef cnp.ndarray work = self._work()
        cdef lrc_problem q = self.p
        cdef int st = 0
        cdef double f
        q.work = <double *>cnp.PyArray_DATA(work)
        with nogil:
            f = lrc_problem_value(&q, <const double *>cnp.PyArray_DATA(W), &st)
        if st == LRC_OK or st == LRC_NONFINITE:     # NONFINITE: f is NaN/Inf, a value
            return f
        raise _status_error(st, "value")

    def value_and_grad(self, w):
        """(f(w), grad f(w)); NaN/Inf in either are returned as is (see the class)."""
        cdef cnp.ndarray W = _f64_vector(w, "x", self.dim)
        cdef cnp.ndarray g = np.empty(self.dim, dtype=np.float64)
        cdef cnp.ndarray work = self._work()
        cdef lrc_problem q = self.p
        cdef int st = 0
        cdef double f
        q.work = <double *>cnp.PyArray_DATA(work)
        with nogil:
            f = lrc_problem_value_grad(&q, <const double *>cnp.PyArray_DATA(W),
                                       <double *>cnp.PyArray_DATA(g), &st)
        if st == LRC_OK or st == LRC_NONFINITE:     # NONFINITE: f or g holds NaN/Inf
            return f, g
        raise _status_error(st, "value_and_grad")

    def hvp(self, w, v):
        """(Hessian of f at w) v; NaN/Inf returned as is (see the class)."""
        cdef cnp.ndarray W = _f64_vector(w, "x", self.dim)
        cdef cnp.ndarray V = _f64_vector(v, "v", self.dim)
        cdef cnp.ndarray out = np.empty(self.dim, dtype=np.float64)
        cdef cnp.ndarray work = self._work()
        cdef lrc_problem q = self.p
        cdef int st
        q.work = <double *>cnp.PyArray_DATA(work)
        with nogil:
            st = lrc_problem_hvp(&q, <const double *>cnp.PyArray_DATA(W),
                                 <const double *>cnp.PyArray_DATA(V),
                                 <double *>cnp.PyArray_DATA(out))
        if st == LRC_OK or st == LRC_NONFINITE:     # NONFINITE: out holds NaN/Inf
            return out
        raise _status_error(st, "hvp")

    def descend(self, x0, lrs, steps, method, momentum, beta2, eps, tol, blowup,
                record_every):
        """Run ``steps`` optimizer steps from a copy of x0, the whole loop in C.

        The reverse-communication machine of csrc/descend.c driven by the problem's C
        value and gradient (``lrc_problem_descend``), the GIL released; the loop comes
        back every ``_PAUSE_SECONDS`` to check for signals (Ctrl-C raises
        ``KeyboardInterrupt``; x0 is never modified).  Arguments and result as
        :func:`descend_callable`.

        Returns
        -------
        tuple
            ``(x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome)``.
        """
        cdef _DescendRun run = _DescendRun()
        run.setup(x0, self.dim, lrs, steps, method, momentum, beta2, eps, tol, blowup,
                  record_every)
        cdef cnp.ndarray pwork = self._work()
        cdef lrc_problem q = self.p
        q.work = <double *>cnp.PyArray_DATA(pwork)
        cdef int st
        while True:
            with nogil:
                st = lrc_problem_descend(&q, &run.s, _PAUSE_SECONDS)
            if st != LRC_PAUSED:
                break
            PyErr_CheckSignals()     # KeyboardInterrupt: the run (on a copy) is dropped
        return run.result(st, "descend")

    def gram(self, v):
        """X^T X v / n_samples for v of shape (n_features,) (least squares, logistic,
        softmax): the Gram operator behind their smoothness constants.  NaN/Inf are
        returned as is."""
        if self.kind == LRC_PROBLEM_QUADRATIC:
            raise ValueError("a quadratic has no design matrix")
        cdef cnp.ndarray V = _f64_vector(v, "v", self.n_features)
        cdef cnp.ndarray out = np.empty(self.n_features, dtype=np.float64)
        cdef cnp.ndarray work = self._work()
        cdef lrc_problem q = self.p
        cdef int st
        q.work = <double *>cnp.PyArray_DATA(work)
        with nogil:
            st = lrc_problem_gram(&q, <const double *>cnp.PyArray_DATA(V),
                                  <double *>cnp.PyArray_DATA(out))
        if st == LRC_OK or st == LRC_NONFINITE:
            return out
        raise _status_error(st, "gram")

    def __reduce__(self):
        cA, cb, cX, cy, csr = self._arrays
        return (CProblem, (self.kind, cA, cb, cX, cy, self.p.l2, csr, self.n_features,
                           self.n_classes, self.nthreads))
