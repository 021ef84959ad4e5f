# _problems.pxi -- bindings of csrc/problems.c (built-in objectives).  Included by
# _core.pyx before _descend.pxi (the optimizer loop, which runs these problems in C);
# the Python API is lrcore.problems.
#
# Arguments are validated here (the Python layer validates them too, with its own
# messages); nothing is written before every check has passed.

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



# ---- helpers -----------------------------------------------------------------------------

cdef inline cnp.ndarray _f64_vector(object a, str name, Py_ssize_t n):
    """A C-contiguous float64 1-D array of length n (a copy only when needed)."""
    cdef cnp.ndarray arr = np.ascontiguousarray(a, dtype=np.float64)
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIM(arr, 0) != n:
        raise ValueError(f"{name} must have shape ({n},), got {np.shape(a)}")
    return arr


cdef class CProblem:
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

    def descend(self, x0, lrs, steps, method, momentum, beta2, eps, tol, blowup,
                record_every, rule=None, overrides=None, trace=False):
        """Run ``steps`` optimizer steps from a copy of x0, the whole loop in C.

        The reverse-communication machine of csrc/descend.c driven by the problem's C
        kernels (value and gradient, trial values, Hessian-vector products), the GIL
        released; the loop comes back every ``_PAUSE_SECONDS`` to check for signals
        (Ctrl-C raises ``KeyboardInterrupt``; x0 is never modified).  Arguments and
        result as :func:`descend_callable` (``rule``, ``overrides``, ``trace`` too).

        Returns
        -------
        tuple
            ``(x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome)`` (and
            the per-step records with ``trace=True``).
        """
        cdef cnp.ndarray pwork = self._work()
        cdef lrc_problem q = self.p
        q.work = <double *>cnp.PyArray_DATA(pwork)
        return _descend_problem(&q, self.dim, x0, lrs, steps, method, momentum, beta2, eps,
                                tol, blowup, record_every, rule, overrides, trace)

    def __reduce__(self):
        cA, cb, cX, cy = self._arrays
        return (CProblem, (self.kind, cA, cb, cX, cy, self.p.l2))
