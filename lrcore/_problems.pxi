# _problems.pxi -- bindings of csrc/problems.c (built-in objectives) and csrc/descend.c
# (whole optimisation runs in C).  Included by _core.pyx; the Python API is
# lrcore.problems and lrcore.stability.  Arguments are validated by those modules; the
# checks here guard memory (dtype, shape, contiguity) so a misuse raises instead of crashing.

from scipy.linalg.cython_blas cimport dgemv as _blas_dgemv, dsymv as _blas_dsymv

cdef extern from "lrcore.h" nogil:
    ctypedef void (*lrc_dgemv_fn)(char *trans, int *m, int *n, double *alpha, double *a,
                                  int *lda, double *x, int *incx, double *beta, double *y,
                                  int *incy)
    ctypedef void (*lrc_dsymv_fn)(char *uplo, int *n, double *alpha, double *a, int *lda,
                                  double *x, int *incx, double *beta, double *y, int *incy)
    ctypedef struct lrc_blas:
        lrc_dgemv_fn dgemv
        lrc_dsymv_fn dsymv
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
    int LRC_PROBLEM_QUADRATIC
    int LRC_PROBLEM_LEAST_SQUARES
    int LRC_PROBLEM_LOGISTIC
    int lrc_problem_workspace_size(const lrc_problem *p, size_t *size)
    double lrc_problem_value_grad(const lrc_problem *p, const double *w, double *g, int *status)
    double lrc_problem_value(const lrc_problem *p, const double *w, int *status)
    int lrc_problem_hvp(const lrc_problem *p, const double *w, const double *v, double *out)
    double lrc_problem_vg_callback(void *ctx, const double *x, double *g, int *status)

    ctypedef double (*lrc_value_grad_fn)(void *ctx, const double *x, double *g, int *status)
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
    int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size)
    int lrc_descend_f64(lrc_value_grad_fn f, void *ctx, double *x, ptrdiff_t n,
                        const double *lrs, int64_t steps, const lrc_run_opts *opts,
                        double *work, double *losses, double *gnorms, int64_t *steps_run,
                        double *final_loss, double *final_gnorm, int *outcome)


_METHODS = {"gd": 0, "heavy_ball": 1, "nesterov": 2, "adam": 3}
_OUTCOMES = {0: "completed", 1: "converged", 2: "diverged"}


cdef inline cnp.ndarray _f64_vector(object a, str name, Py_ssize_t n):
    """A C-contiguous float64 1-D array of length n (a copy only when needed)."""
    cdef cnp.ndarray arr = np.ascontiguousarray(a, dtype=np.float64)
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIM(arr, 0) != n:
        raise ValueError(f"{name} must have shape ({n},), got {np.shape(a)}")
    return arr


cdef class _CProblem:
    """A built-in objective held in C (private: use lrcore.problems).

    Holds references to its float64 arrays; every call uses its own workspace, so one
    object may be used from several threads at once.

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
    cdef readonly int kind

    def __cinit__(self, int kind, A=None, b=None, X=None, y=None, double l2=0.0):
        cdef cnp.ndarray cA = None, cb = None, cX = None, cy = None
        self.p.kind = kind
        self.p.l2 = l2
        self.p.A = NULL
        self.p.b = NULL
        self.p.X = NULL
        self.p.y = NULL
        self.p.work = NULL
        self.p.blas.dgemv = <lrc_dgemv_fn>_blas_dgemv
        self.p.blas.dsymv = <lrc_dsymv_fn>_blas_dsymv
        if kind == LRC_PROBLEM_QUADRATIC:
            cA = np.ascontiguousarray(A, dtype=np.float64)
            if cA.ndim != 2 or cA.shape[0] != cA.shape[1]:
                raise ValueError("A must be a square 2-D array")
            self.dim = cA.shape[0]
            self.n_samples = 0
            self.p.A = <const double *>cnp.PyArray_DATA(cA)
            if b is not None:
                cb = _f64_vector(b, "b", self.dim)
                self.p.b = <const double *>cnp.PyArray_DATA(cb)
        elif kind == LRC_PROBLEM_LEAST_SQUARES or kind == LRC_PROBLEM_LOGISTIC:
            cX = np.ascontiguousarray(X, dtype=np.float64)
            if cX.ndim != 2 or cX.shape[0] < 1:
                raise ValueError("X must be a 2-D array with at least one row")
            self.n_samples, self.dim = cX.shape[0], cX.shape[1]
            if self.n_samples > 2**31 - 1 or self.dim > 2**31 - 1:
                raise ValueError("X is too large for 32-bit BLAS dimensions")
            cy = _f64_vector(y, "y", self.n_samples)
            self.p.X = <const double *>cnp.PyArray_DATA(cX)
            self.p.y = <const double *>cnp.PyArray_DATA(cy)
        else:
            raise ValueError(f"unknown problem kind {kind}")
        self.kind = kind
        self.p.dim = self.dim
        self.p.n_samples = self.n_samples
        self._arrays = (cA, cb, cX, cy)

    cdef inline cnp.ndarray _work(self):
        cdef size_t lw = 0
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

    def descend(self, x0, lrs, Py_ssize_t steps, str method, double momentum, double beta2,
                double eps, double tol, double blowup, Py_ssize_t record_every):
        """Run `steps` optimizer steps from a copy of x0 in C, the GIL released.

        Returns (x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome).
        """
        if method not in _METHODS:
            raise ValueError(f"method must be one of {tuple(_METHODS)}, got {method!r}")
        if steps < 0 or record_every < 1:
            raise ValueError("steps must be >= 0 and record_every >= 1")
        cdef cnp.ndarray X = np.array(x0, dtype=np.float64, copy=True, order="C")
        if X.ndim != 1 or X.shape[0] != self.dim:
            raise ValueError(f"x0 must have shape ({self.dim},), got {np.shape(x0)}")
        cdef cnp.ndarray L = _f64_vector(lrs, "lrs", steps) if steps > 0 else \
            np.zeros(1, dtype=np.float64)
        cdef lrc_run_opts o
        o.method = _METHODS[method]
        o.momentum = momentum
        o.beta2 = beta2
        o.eps = eps
        o.tol = tol
        o.blowup = blowup
        o.record_every = record_every
        cdef Py_ssize_t nrec = steps // record_every + 1
        cdef cnp.ndarray losses = np.empty(nrec, dtype=np.float64)
        cdef cnp.ndarray gnorms = np.empty(nrec, dtype=np.float64)
        cdef size_t lw = 0
        if lrc_descend_workspace_size(self.dim, o.method, &lw) != LRC_OK:
            raise ValueError("invalid descend size")
        cdef cnp.ndarray work = np.empty(max(<size_t>1, lw), dtype=np.float64)
        cdef cnp.ndarray pwork = self._work()
        cdef lrc_problem q = self.p
        q.work = <double *>cnp.PyArray_DATA(pwork)
        cdef int64_t run = 0
        cdef double fl = 0.0, fg = 0.0
        cdef int outcome = 0, st
        with nogil:
            st = lrc_descend_f64(lrc_problem_vg_callback, <void *>&q,
                                 <double *>cnp.PyArray_DATA(X), self.dim,
                                 <const double *>cnp.PyArray_DATA(L), steps, &o,
                                 <double *>cnp.PyArray_DATA(work),
                                 <double *>cnp.PyArray_DATA(losses),
                                 <double *>cnp.PyArray_DATA(gnorms), &run, &fl, &fg, &outcome)
        if st != LRC_OK:
            # lrc_descend_f64 ends with LRC_OK whatever the outcome (a non-finite loss is
            # the outcome "diverged"); anything else is an internal error
            raise _status_error(st, "descend")
        return X, losses, gnorms, int(run), fl, fg, _OUTCOMES[outcome]

    def __reduce__(self):
        cA, cb, cX, cy = self._arrays
        return (_CProblem, (self.kind, cA, cb, cX, cy, self.p.l2))
