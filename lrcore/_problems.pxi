# _problems.pxi -- bindings of csrc/problems.c (built-in objectives).  Included by
# _core.pyx before _descend.pxi (the optimizer loop, which runs these problems in C);
# the Python API is lrcore.problems.
#
# Arguments are validated here (the Python layer validates them too, with its own
# messages); nothing is written before every check has passed.

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



# ---- helpers -----------------------------------------------------------------------------

cdef inline cnp.ndarray _f64_vector(object a, str name, Py_ssize_t n):
    """A C-contiguous float64 1-D array of length n (a copy only when needed)."""
    cdef cnp.ndarray arr = np.ascontiguousarray(a, dtype=np.float64)
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIM(arr, 0) != n:
        raise ValueError(f"{name} must have shape ({n},), got {np.shape(a)}")
    return arr


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
