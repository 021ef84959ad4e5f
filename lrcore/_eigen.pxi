# _eigen.pxi -- bindings of csrc/eigen.c (symmetric mat-vecs, reverse-communication
# eigen-solvers).  Included by _core.pyx; the public Python API is lrcore.curvature, which
# validates the operator and calls the private functions below.
#
# How the solver is driven:
#   * dense float32/float64 arrays and CSR matrices: the whole loop (solver step + C or
#     BLAS mat-vec) runs here without the GIL, in slices of at most _PAUSE_SECONDS; the
#     GIL is taken between slices to check for signals (Ctrl-C -> KeyboardInterrupt, the
#     solve's state is dropped);
#   * any other operator: the loop runs with the GIL held only around the user's call;
#     the solver's own work (reorthogonalisation, small eigenproblems) runs without it,
#     and signals are checked after every call.
# mode="full" runs LRC_EIG_LANCZOS (a basis of ncv vectors), mode="low-memory"
# LRC_EIG_LANCZOS_LOWMEM (4 n-vectors, two passes); the drivers are the same.

from libc.stdint cimport int32_t, uint64_t
from libc.string cimport memcpy
from libc.limits cimport INT_MAX
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from scipy.linalg.cython_blas cimport dsymv as _blas_dsymv, ssymv as _blas_ssymv

cdef extern from "lrcore.h" nogil:
    int LRC_EIG_LA
    int LRC_EIG_LM
    int LRC_EIG_SA
    int LRC_EIG_LANCZOS
    int LRC_EIG_POWER
    int LRC_EIG_LANCZOS_LOWMEM
    int LRC_EIG_MAX_NCV

    ctypedef struct lrc_eig:
        const double *x
        double *y
        int64_t n_matvec
        double value
        double residual
        double *vector
        double anorm
        double asym
        int n_restarts
        int nfinal
        int nfirst
        double *d_final
        double *e_final
        double *d_first
        double *e_first
        double beta_final
        double beta_first
        int64_t power_k1
        double power_theta1
        double power_ynorm1
        double power_shift
        int power_pair
        double regen_defect
        ptrdiff_t n
        int ncv

    int lrc_symv_workspace_size(ptrdiff_t n, int nthreads, size_t *size)
    int lrc_symv_f64(ptrdiff_t n, const double *a, ptrdiff_t lda, int upper, const double *x,
                     double *y, double *work, size_t lwork, int nthreads)
    int lrc_symv_f32(ptrdiff_t n, const float *a, ptrdiff_t lda, int upper, const double *x,
                     double *y, double *work, size_t lwork, int nthreads)
    int lrc_csrmv_f64_i32(ptrdiff_t nrows, const int32_t *indptr, const int32_t *indices,
                          const double *data, const double *x, double *y, int nthreads)
    int lrc_csrmv_f64_i64(ptrdiff_t nrows, const int64_t *indptr, const int64_t *indices,
                          const double *data, const double *x, double *y, int nthreads)
    int lrc_csrmv_f32_i32(ptrdiff_t nrows, const int32_t *indptr, const int32_t *indices,
                          const float *data, const double *x, double *y, int nthreads)
    int lrc_csrmv_f32_i64(ptrdiff_t nrows, const int64_t *indptr, const int64_t *indices,
                          const float *data, const double *x, double *y, int nthreads)
    int lrc_symstats_f64(ptrdiff_t n, const double *a, ptrdiff_t lda, int upper, double *out,
                         double *work, size_t lwork, int nthreads)
    int lrc_symstats_f32(ptrdiff_t n, const float *a, ptrdiff_t lda, int upper, double *out,
                         double *work, size_t lwork, int nthreads)
    int lrc_csrstats_f64_i32(ptrdiff_t n, const int32_t *indptr, const int32_t *indices,
                             const double *data, double *out, int nthreads)
    int lrc_csrstats_f64_i64(ptrdiff_t n, const int64_t *indptr, const int64_t *indices,
                             const double *data, double *out, int nthreads)
    int lrc_csrstats_f32_i32(ptrdiff_t n, const int32_t *indptr, const int32_t *indices,
                             const float *data, double *out, int nthreads)
    int lrc_csrstats_f32_i64(ptrdiff_t n, const int64_t *indptr, const int64_t *indices,
                             const float *data, double *out, int nthreads)
    int lrc_eig_workspace_size(ptrdiff_t n, int method, int ncv, int nthreads, size_t *size)
    int lrc_eig_init(lrc_eig *s, ptrdiff_t n, int method, int which, int ncv, double tol,
                     double op_eps, int64_t minmv, int64_t maxmv, const double *v0,
                     double v0_mix, uint64_t seed, double *work, size_t lwork, int nthreads)
    int lrc_eig_iterate(lrc_eig *s)

cdef extern from "internal.h" nogil:
    double lrci_stream_sum_f64(const double *a, ptrdiff_t n, int nthreads)
    int lrci_tridiag_eig(double *d, double *e, ptrdiff_t n, double *z, ptrdiff_t nrows)


# ---- C-level API (declared in _core.pxd) ------------------------------------------------

cdef size_t eig_state_size() noexcept nogil:
    return sizeof(lrc_eig)

cdef int eig_workspace_size(Py_ssize_t n, int method, int ncv, int nthreads,
                            size_t *size) noexcept nogil:
    return lrc_eig_workspace_size(n, method, ncv, nthreads, size)

cdef int eig_init(void *state, Py_ssize_t n, int method, int which, int ncv, double tol,
                  double op_eps, int64_t minmv, int64_t maxmv, const double *v0,
                  double v0_mix, uint64_t seed, double *work, size_t lwork,
                  int nthreads) noexcept nogil:
    return lrc_eig_init(<lrc_eig *>state, n, method, which, ncv, tol, op_eps, minmv, maxmv,
                        v0, v0_mix, seed, work, lwork, nthreads)

cdef int eig_iterate(void *state, const double **x, double **y) noexcept nogil:
    cdef lrc_eig *s = <lrc_eig *>state
    if s == NULL:
        return STATUS_EINVAL
    cdef int st = lrc_eig_iterate(s)
    if x != NULL:
        x[0] = s.x
    if y != NULL:
        y[0] = s.y
    return st

cdef int eig_result(const void *state, double *value, double *residual,
                    const double **vector, int64_t *n_matvec) noexcept nogil:
    cdef const lrc_eig *s = <const lrc_eig *>state
    if s == NULL:
        return STATUS_EINVAL
    if value != NULL:
        value[0] = s.value
    if residual != NULL:
        residual[0] = s.residual
    if vector != NULL:
        vector[0] = s.vector
    if n_matvec != NULL:
        n_matvec[0] = s.n_matvec
    return STATUS_OK

cdef int symv_workspace_size(Py_ssize_t n, int nthreads, size_t *size) noexcept nogil:
    return lrc_symv_workspace_size(n, nthreads, size)

cdef int symv_f64(Py_ssize_t n, const double *a, Py_ssize_t lda, int upper, const double *x,
                  double *y, double *work, size_t lwork, int nthreads) noexcept nogil:
    return lrc_symv_f64(n, a, lda, upper, x, y, work, lwork, nthreads)

cdef int symv_f32(Py_ssize_t n, const float *a, Py_ssize_t lda, int upper, const double *x,
                  double *y, double *work, size_t lwork, int nthreads) noexcept nogil:
    return lrc_symv_f32(n, a, lda, upper, x, y, work, lwork, nthreads)

cdef int csrmv_f64_i32(Py_ssize_t nrows, const int32_t *indptr, const int32_t *indices,
                       const double *data, const double *x, double *y,
                       int nthreads) noexcept nogil:
    return lrc_csrmv_f64_i32(nrows, indptr, indices, data, x, y, nthreads)

cdef int csrmv_f64_i64(Py_ssize_t nrows, const int64_t *indptr, const int64_t *indices,
                       const double *data, const double *x, double *y,
                       int nthreads) noexcept nogil:
    return lrc_csrmv_f64_i64(nrows, indptr, indices, data, x, y, nthreads)

cdef int csrmv_f32_i32(Py_ssize_t nrows, const int32_t *indptr, const int32_t *indices,
                       const float *data, const double *x, double *y,
                       int nthreads) noexcept nogil:
    return lrc_csrmv_f32_i32(nrows, indptr, indices, data, x, y, nthreads)

cdef int csrmv_f32_i64(Py_ssize_t nrows, const int64_t *indptr, const int64_t *indices,
                       const float *data, const double *x, double *y,
                       int nthreads) noexcept nogil:
    return lrc_csrmv_f32_i64(nrows, indptr, indices, data, x, y, nthreads)


# ---- dense / CSR operator descriptions used by the nogil drivers -------------------------

cdef enum:
    _KERNEL_C = 0       # lrcore's one-pass C kernel (double accumulation)
    _KERNEL_BLAS = 1    # BLAS dsymv / ssymv from scipy.linalg.cython_blas

ctypedef struct _dense_op:
    const void *a
    int is_f32
    Py_ssize_t n
    Py_ssize_t lda
    int upper           # 1: the stored triangle is the upper one in row-major terms
    int kernel
    double *work        # lrc_symv workspace
    size_t lwork
    float *xf           # float32 staging buffers for ssymv
    float *yf
    int nthreads

ctypedef struct _csr_op:
    const void *indptr
    const void *indices
    const void *data
    int is_f32
    int is_i64
    Py_ssize_t n
    int nthreads


cdef inline int _dense_apply(_dense_op *op, const double *x, double *y) noexcept nogil:
    cdef char uplo
    cdef int n_, lda_, one = 1
    cdef double done = 1.0, dzero = 0.0
    cdef float fone = 1.0, fzero = 0.0
    cdef Py_ssize_t i
    if op.kernel == _KERNEL_BLAS:
        # row-major upper == column-major lower and vice versa
        uplo = b'L' if op.upper else b'U'
        n_ = <int>op.n
        lda_ = <int>op.lda
        if not op.is_f32:
            _blas_dsymv(&uplo, &n_, &done, <double *>op.a, &lda_, <double *>x, &one,
                        &dzero, y, &one)
        else:
            for i in range(op.n):
                op.xf[i] = <float>x[i]
            _blas_ssymv(&uplo, &n_, &fone, <float *>op.a, &lda_, op.xf, &one, &fzero,
                        op.yf, &one)
            for i in range(op.n):
                y[i] = op.yf[i]
        return LRC_OK
    if op.is_f32:
        return lrc_symv_f32(op.n, <const float *>op.a, op.lda, op.upper, x, y, op.work,
                            op.lwork, op.nthreads)
    return lrc_symv_f64(op.n, <const double *>op.a, op.lda, op.upper, x, y, op.work,
                        op.lwork, op.nthreads)


cdef inline int _csr_apply(_csr_op *op, const double *x, double *y) noexcept nogil:
    if op.is_f32:
        if op.is_i64:
            return lrc_csrmv_f32_i64(op.n, <const int64_t *>op.indptr,
                                     <const int64_t *>op.indices, <const float *>op.data,
                                     x, y, op.nthreads)
        return lrc_csrmv_f32_i32(op.n, <const int32_t *>op.indptr, <const int32_t *>op.indices,
                                 <const float *>op.data, x, y, op.nthreads)
    if op.is_i64:
        return lrc_csrmv_f64_i64(op.n, <const int64_t *>op.indptr, <const int64_t *>op.indices,
                                 <const double *>op.data, x, y, op.nthreads)
    return lrc_csrmv_f64_i32(op.n, <const int32_t *>op.indptr, <const int32_t *>op.indices,
                             <const double *>op.data, x, y, op.nthreads)


# ---- validation helpers ------------------------------------------------------------------

cdef inline int _which_code(object which) except -1:
    if which == "LA":
        return LRC_EIG_LA
    if which == "LM":
        return LRC_EIG_LM
    if which == "SA":
        return LRC_EIG_SA
    raise ValueError(f"which must be 'LA', 'LM' or 'SA', got {which!r}")


cdef inline int _method_code(object method) except -1:
    if method == "lanczos":
        return LRC_EIG_LANCZOS
    if method == "power":
        return LRC_EIG_POWER
    raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")


cdef inline int _solver_code(object method, object mode) except -1:
    cdef int m = _method_code(method)
    if mode == "full":
        return m
    if mode == "low-memory":
        return LRC_EIG_LANCZOS_LOWMEM if m == LRC_EIG_LANCZOS else m
    raise ValueError(f"mode must be 'full' or 'low-memory', got {mode!r}")


cdef inline int _dense_layout(cnp.ndarray A, str name) except -1:
    """0: C-contiguous (lower triangle is row-major lower); 1: F-contiguous."""
    if not cnp.PyArray_ISNOTSWAPPED(A) or not cnp.PyArray_ISALIGNED(A):
        raise ValueError(f"{name} must be aligned and in native byte order")
    if cnp.PyArray_IS_C_CONTIGUOUS(A):
        return 0
    if cnp.PyArray_IS_F_CONTIGUOUS(A):
        return 1
    raise ValueError(f"{name} must be C- or Fortran-contiguous "
                     f"(pass numpy.ascontiguousarray({name}))")


cdef class _EigRun:
    """One solve: the C state, its workspace and the result."""
    cdef lrc_eig s
    cdef cnp.ndarray work
    cdef Py_ssize_t n
    cdef int method

    def __cinit__(self):
        self.n = 0

    cdef int setup(self, Py_ssize_t n, object which, object method, object ncv, object tol,
                   object maxiter, object v0, double v0_mix, object seed,
                   double op_eps, object minmv=0, object mode="full") except -1:
        cdef int w = _which_code(which)
        cdef int m = _solver_code(method, mode)
        cdef Py_ssize_t k = _index(ncv, "ncv")
        if k < 2 or k > LRC_EIG_MAX_NCV:
            raise ValueError(f"ncv must be in [2, {LRC_EIG_MAX_NCV}], got {k}")
        cdef double t = _real(tol, "tol")
        if not (t > 0.0 and isfinite(t)):
            raise ValueError(f"tol must be a finite number > 0, got {t!r}")
        cdef Py_ssize_t mx = _index(maxiter, "maxiter")
        if mx < 1:
            raise ValueError(f"maxiter must be >= 1, got {mx}")
        if not (v0_mix > 0.0 and isfinite(v0_mix)):
            raise ValueError(f"v0_mix must be a finite number > 0, got {v0_mix!r}")
        cdef uint64_t sd = <uint64_t>int(seed) & 0xFFFFFFFFFFFFFFFF
        cdef cnp.ndarray V0 = None
        cdef const double *pv0 = NULL
        if v0 is not None:
            V0 = np.ascontiguousarray(v0, dtype=np.float64).reshape(-1)
            if V0.shape[0] != n:
                raise ValueError(f"v0 must have {n} entries (the operator's size), "
                                 f"got {V0.shape[0]}")
            if not np.all(np.isfinite(V0)):
                raise ValueError("v0 contains NaN or Inf")
            if not np.any(V0):
                raise ValueError("v0 must not be the zero vector")
            # only its direction matters: divided by its largest entry (a power of two, so
            # exactly), a subnormal or a huge v0 has a norm the solver can form
            amax = float(np.max(np.abs(V0)))
            if not 2.0 ** -500 <= amax <= 2.0 ** 500:
                V0 = V0 * math.ldexp(1.0, min(-math.frexp(amax)[1], 1023))
            pv0 = <const double *>cnp.PyArray_DATA(V0)
        cdef int nt = _nthreads
        cdef size_t lw = 0
        if lrc_eig_workspace_size(n, m, <int>k, nt, &lw) != LRC_OK:
            raise ValueError(f"invalid solver size (n={n}, ncv={k})")
        self.work = np.empty(lw, dtype=np.float64)
        self.n = n
        self.method = m
        cdef Py_ssize_t mn = _index(minmv, "minmv")
        cdef int st = lrc_eig_init(&self.s, n, m, w, <int>k, t, op_eps, mn, mx, pv0, v0_mix,
                                   sd, <double *>cnp.PyArray_DATA(self.work), lw, nt)
        if st != LRC_OK:
            raise _status_error(st, "top_eigenvalue")
        return 0

    cdef object _view(self, const double *p, Py_ssize_t length=-1):
        cdef double *base = <double *>cnp.PyArray_DATA(self.work)
        cdef Py_ssize_t off = p - base
        return self.work[off:off + (self.n if length < 0 else length)]

    cdef object result(self, int st):
        if st == LRC_NONFINITE:
            raise NonFiniteError(
                f"the operator returned NaN or Inf (at mat-vec {self.s.n_matvec}); "
                f"check A for non-finite entries")
        if st != LRC_OK and st != LRC_NOT_CONVERGED:
            raise _status_error(st, "top_eigenvalue")
        cdef lrc_eig *s = &self.s
        cdef Py_ssize_t nf = s.nfinal, n1 = s.nfirst
        vec = self._view(s.vector).copy()
        lowmem = self.method == LRC_EIG_LANCZOS_LOWMEM
        out = {
            "converged": st == LRC_OK,
            "value": s.value,
            "vector": vec,
            "residual": s.residual,
            "n_matvec": int(s.n_matvec),
            "anorm": s.anorm,
            "asym": s.asym,
            "n_restarts": s.n_restarts,
            "method": "power" if self.method == LRC_EIG_POWER else "lanczos",
            "mode": "low-memory" if lowmem else "full",
            "workspace_bytes": int(self.work.nbytes),
        }
        if lowmem:
            out["regen_defect"] = s.regen_defect
        if self.method == LRC_EIG_LANCZOS or lowmem:
            out["d_final"] = self._view(s.d_final, nf).copy()
            out["e_final"] = self._view(s.e_final, max(nf - 1, 0)).copy()
            out["beta_final"] = s.beta_final
            out["d_first"] = self._view(s.d_first, n1).copy()
            out["e_first"] = self._view(s.e_first, max(n1 - 1, 0)).copy()
            out["beta_first"] = s.beta_first
        else:
            out["power_k1"] = int(s.power_k1)
            out["power_theta1"] = s.power_theta1
            out["power_ynorm1"] = s.power_ynorm1
            out["power_shift"] = s.power_shift
            out["power_pair"] = bool(s.power_pair)
        return out


cdef int _drive_dense(lrc_eig *s, _dense_op *op, double seconds) noexcept nogil:
    """Run the solve with the dense operator; LRC_PAUSED after `seconds` (run intact)."""
    cdef int st
    cdef lrci_pacer pc
    lrci_pacer_start(&pc, seconds)
    while True:
        st = lrc_eig_iterate(s)
        if st != LRC_REQ_MATVEC:
            return st
        st = _dense_apply(op, s.x, s.y)
        if st != LRC_OK:
            return st
        if lrci_pacer_due(&pc):
            return LRC_PAUSED


cdef int _drive_csr(lrc_eig *s, _csr_op *op, double seconds) noexcept nogil:
    """Run the solve with the CSR operator; LRC_PAUSED after `seconds` (run intact)."""
    cdef int st
    cdef lrci_pacer pc
    lrci_pacer_start(&pc, seconds)
    while True:
        st = lrc_eig_iterate(s)
        if st != LRC_REQ_MATVEC:
            return st
        st = _csr_apply(op, s.x, s.y)
        if st != LRC_OK:
            return st
        if lrci_pacer_due(&pc):
            return LRC_PAUSED


cdef int _fill_dense(_dense_op *op, cnp.ndarray A, int kernel, list keep) except -1:
    """Describe the square float32/float64 array A; buffers are appended to keep."""
    cdef int t = _float_typenum(A, "A")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square 2-D array, got shape {(<object>A).shape}")
    cdef int layout = _dense_layout(A, "A")
    op.a = cnp.PyArray_DATA(A)
    op.is_f32 = t == cnp.NPY_FLOAT
    op.n = A.shape[0]
    op.lda = op.n if op.n > 0 else 1
    op.upper = layout          # F order: the lower triangle is row-major upper
    op.nthreads = _nthreads
    if kernel == _KERNEL_BLAS and op.n > INT_MAX:
        kernel = _KERNEL_C
    op.kernel = kernel
    op.lwork = 0
    if lrc_symv_workspace_size(op.n, op.nthreads, &op.lwork) != LRC_OK:
        raise ValueError(f"A: invalid size {op.n}")
    cdef cnp.ndarray wk = np.empty(max(<Py_ssize_t>op.lwork, 1), dtype=np.float64)
    keep.append(wk)
    op.work = <double *>cnp.PyArray_DATA(wk)
    op.xf = NULL
    op.yf = NULL
    cdef cnp.ndarray fx, fy
    if kernel == _KERNEL_BLAS and op.is_f32:
        fx = np.empty(max(op.n, 1), dtype=np.float32)
        fy = np.empty(max(op.n, 1), dtype=np.float32)
        keep.append(fx)
        keep.append(fy)
        op.xf = <float *>cnp.PyArray_DATA(fx)
        op.yf = <float *>cnp.PyArray_DATA(fy)
    return 0


cdef int _fill_csr(_csr_op *op, object indptr, object indices, object data,
                   Py_ssize_t n) except -1:
    """Describe a CSR matrix whose arrays were checked by lrcore.curvature."""
    cdef cnp.ndarray P = <cnp.ndarray>indptr, J = <cnp.ndarray>indices, D = <cnp.ndarray>data
    cdef int t = _float_typenum(D, "A.data")
    for arr, nm in ((P, "A.indptr"), (J, "A.indices"), (D, "A.data")):
        if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISNOTSWAPPED(arr) \
                or not cnp.PyArray_ISALIGNED(arr):
            raise ValueError(f"{nm} must be contiguous, aligned and in native byte order")
    if P.dtype != J.dtype or P.dtype not in (np.int32, np.int64):
        raise TypeError("A.indptr and A.indices must share dtype int32 or int64, got "
                        f"{P.dtype} and {J.dtype}")
    if P.shape[0] != n + 1:
        raise ValueError(f"A.indptr must have {n + 1} entries, got {P.shape[0]}")
    op.indptr = cnp.PyArray_DATA(P)
    op.indices = cnp.PyArray_DATA(J)
    op.data = cnp.PyArray_DATA(D)
    op.is_f32 = t == cnp.NPY_FLOAT
    op.is_i64 = P.dtype == np.int64
    op.n = n
    op.nthreads = _nthreads
    return 0


# ---- private Python API used by lrcore.curvature --------------------------------------

def eig_dense(A, *, which, method, ncv, tol, maxiter, v0, v0_mix, seed, minmv=0, kernel="c",
              mode="full"):
    """Solve with a dense symmetric array A (lower triangle read); returns a dict."""
    cdef cnp.ndarray Aa = <cnp.ndarray>A
    cdef _dense_op op
    keep = []
    cdef int kern = _KERNEL_BLAS if kernel == "blas" else _KERNEL_C
    if kernel not in ("c", "blas"):
        raise ValueError(f"kernel must be 'c' or 'blas', got {kernel!r}")
    _fill_dense(&op, Aa, kern, keep)
    cdef double op_eps = FLT_EPSILON if (op.is_f32 and op.kernel == _KERNEL_BLAS) else DBL_EPSILON
    run = _EigRun()
    (<_EigRun>run).setup(op.n, which, method, ncv, tol, maxiter, v0, v0_mix, seed, op_eps,
                         minmv, mode)
    cdef int st
    while True:
        with nogil:
            st = _drive_dense(&(<_EigRun>run).s, &op, _PAUSE_SECONDS)
        if st != LRC_PAUSED:
            break
        PyErr_CheckSignals()     # KeyboardInterrupt: the solve is dropped
    return (<_EigRun>run).result(st)


def eig_csr(indptr, indices, data, Py_ssize_t n, *, which, method, ncv, tol, maxiter, v0,
             v0_mix, seed, minmv=0, mode="full"):
    """Solve with a symmetric CSR matrix (both triangles stored); returns a dict."""
    cdef _csr_op op
    _fill_csr(&op, indptr, indices, data, n)
    run = _EigRun()
    (<_EigRun>run).setup(n, which, method, ncv, tol, maxiter, v0, v0_mix, seed, DBL_EPSILON,
                         minmv, mode)
    cdef int st
    while True:
        with nogil:
            st = _drive_csr(&(<_EigRun>run).s, &op, _PAUSE_SECONDS)
        if st != LRC_PAUSED:
            break
        PyErr_CheckSignals()     # KeyboardInterrupt: the solve is dropped
    return (<_EigRun>run).result(st)


def eig_callable(matvec, Py_ssize_t n, dtype, *, which, method, ncv, tol, maxiter, v0,
                  v0_mix, seed, minmv=0, name="A", mode="full"):
    """Solve with a Python callable ``matvec(x) -> A x`` (x of ``dtype``, shape (n,))."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"the operator's dtype must be float32 or float64, got {dt}")
    cdef double op_eps = FLT_EPSILON if dt == np.float32 else DBL_EPSILON
    run = _EigRun()
    cdef _EigRun r = <_EigRun>run
    r.setup(n, which, method, ncv, tol, maxiter, v0, v0_mix, seed, op_eps, minmv, mode)
    cdef int st
    cdef int64_t k
    while True:
        with nogil:
            st = lrc_eig_iterate(&r.s)
        if st != LRC_REQ_MATVEC:
            break
        k = r.s.n_matvec + 1
        x = r._view(r.s.x).astype(dt, copy=True)
        y = matvec(x)
        if not isinstance(y, np.ndarray):
            y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{name} returned an array of dtype {y.dtype} for mat-vec {k}; "
                            "expected a real floating-point array")
        if y.shape != (n,) and y.shape != (n, 1):
            raise ValueError(f"{name} returned shape {y.shape} for an input of shape ({n},); "
                             f"expected ({n},)")
        yv = r._view(r.s.y)
        np.copyto(yv, y.reshape(n), casting="unsafe")
        x = y = yv = None        # peak memory: no stale n-vectors next to the workspace
        PyErr_CheckSignals()     # the operator may be C code that never checks
    if st == LRC_NONFINITE:
        raise NonFiniteError(f"{name} returned NaN or Inf (at mat-vec {r.s.n_matvec})")
    return r.result(st)


def eig_workspace_bytes(Py_ssize_t n, *, method="lanczos", ncv=32, mode="full"):
    """Bytes of the solver workspace a solve of size n would allocate (with the current
    thread count), without allocating it."""
    cdef int m = _solver_code(method, mode)
    cdef Py_ssize_t k = _index(ncv, "ncv")
    cdef size_t lw = 0
    if k < 1 or k > LRC_EIG_MAX_NCV or n < 1 or \
            lrc_eig_workspace_size(n, m, <int>k, _nthreads, &lw) != LRC_OK:
        raise ValueError(f"invalid solver size (n={n}, ncv={k}, mode={mode!r})")
    return int(lw) * 8


if not (EIG_LANCZOS_LOWMEM == LRC_EIG_LANCZOS_LOWMEM):
    raise ImportError("lrcore._core: _core.pxd and lrcore.h disagree on EIG_LANCZOS_LOWMEM")


def _symv(A, x, *, kernel="c"):
    """y = A x for a dense symmetric float32/float64 array (lower triangle read)."""
    cdef cnp.ndarray Aa = <cnp.ndarray>A
    cdef _dense_op op
    keep = []
    cdef int kern = _KERNEL_BLAS if kernel == "blas" else _KERNEL_C
    _fill_dense(&op, Aa, kern, keep)
    cdef cnp.ndarray X = np.ascontiguousarray(x, dtype=np.float64)
    if X.ndim != 1 or X.shape[0] != op.n:
        raise ValueError(f"x must have shape ({op.n},), got {(<object>X).shape}")
    cdef cnp.ndarray Y = np.empty(op.n, dtype=np.float64)
    cdef int st
    with nogil:
        st = _dense_apply(&op, <const double *>cnp.PyArray_DATA(X), <double *>cnp.PyArray_DATA(Y))
    if st != LRC_OK:
        raise _status_error(st, "symv")
    return Y


def _csrmv(indptr, indices, data, Py_ssize_t n, x):
    """y = A x for a CSR matrix with n rows (double accumulation)."""
    cdef _csr_op op
    _fill_csr(&op, indptr, indices, data, n)
    cdef cnp.ndarray X = np.ascontiguousarray(x, dtype=np.float64)
    if X.ndim != 1:
        raise ValueError("x must be one-dimensional")
    cdef cnp.ndarray Y = np.empty(n, dtype=np.float64)
    cdef int st
    with nogil:
        st = _csr_apply(&op, <const double *>cnp.PyArray_DATA(X), <double *>cnp.PyArray_DATA(Y))
    if st != LRC_OK:
        raise _status_error(st, "csrmv")
    return Y


def symstats(A):
    """(trace, ||A||_F^2, Gershgorin max, Gershgorin min) of a dense symmetric array whose
    lower triangle is read; NonFiniteError if that triangle holds NaN or Inf."""
    cdef cnp.ndarray Aa = <cnp.ndarray>A
    cdef _dense_op op
    keep = []
    _fill_dense(&op, Aa, _KERNEL_C, keep)
    cdef size_t lw = max(op.lwork, <size_t>max(op.n, 1))
    cdef cnp.ndarray W = np.empty(lw, dtype=np.float64)
    cdef double out[4]
    cdef int st
    with nogil:
        if op.is_f32:
            st = lrc_symstats_f32(op.n, <const float *>op.a, op.lda, op.upper, out,
                                  <double *>cnp.PyArray_DATA(W), lw, op.nthreads)
        else:
            st = lrc_symstats_f64(op.n, <const double *>op.a, op.lda, op.upper, out,
                                  <double *>cnp.PyArray_DATA(W), lw, op.nthreads)
    if st == LRC_NONFINITE:
        raise NonFiniteError("A contains NaN or Inf (in the lower triangle, which is the one read)")
    if st != LRC_OK:
        raise _status_error(st, "A")
    return (out[0], out[1], out[2], out[3])


def csrstats(indptr, indices, data, Py_ssize_t n):
    """Like symstats for a symmetric CSR matrix without duplicate entries."""
    cdef _csr_op op
    _fill_csr(&op, indptr, indices, data, n)
    cdef double out[4]
    cdef int st
    with nogil:
        if op.is_f32:
            if op.is_i64:
                st = lrc_csrstats_f32_i64(n, <const int64_t *>op.indptr, <const int64_t *>op.indices,
                                          <const float *>op.data, out, op.nthreads)
            else:
                st = lrc_csrstats_f32_i32(n, <const int32_t *>op.indptr, <const int32_t *>op.indices,
                                          <const float *>op.data, out, op.nthreads)
        else:
            if op.is_i64:
                st = lrc_csrstats_f64_i64(n, <const int64_t *>op.indptr, <const int64_t *>op.indices,
                                          <const double *>op.data, out, op.nthreads)
            else:
                st = lrc_csrstats_f64_i32(n, <const int32_t *>op.indptr, <const int32_t *>op.indices,
                                          <const double *>op.data, out, op.nthreads)
    if st == LRC_NONFINITE:
        raise NonFiniteError("A contains NaN or Inf")
    if st != LRC_OK:
        raise _status_error(st, "A")
    return (out[0], out[1], out[2], out[3])


def _stream_sum(a):
    """Sum of a float64 array in one streaming pass (the read-bandwidth reference)."""
    cdef cnp.ndarray A = np.ascontiguousarray(a, dtype=np.float64)
    cdef double s
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef int nt = _nthreads
    with nogil:
        s = lrci_stream_sum_f64(<const double *>cnp.PyArray_DATA(A), n, nt)
    return s


def tridiag_eig(d, e, vectors=True):
    """Eigen-decomposition of a symmetric tridiagonal matrix by the C implicit QL code."""
    cdef cnp.ndarray D = np.array(d, dtype=np.float64, copy=True).reshape(-1)
    cdef Py_ssize_t n = D.shape[0]
    cdef cnp.ndarray E = np.zeros(max(n - 1, 1), dtype=np.float64)
    E[:max(n - 1, 0)] = np.asarray(e, dtype=np.float64).reshape(-1)[:max(n - 1, 0)]
    cdef cnp.ndarray Z
    cdef Py_ssize_t rows
    if vectors:
        Z = np.eye(max(n, 1), dtype=np.float64)
        rows = n
    else:
        Z = np.zeros((1, max(n, 1)), dtype=np.float64)
        if n > 0:
            Z[0, n - 1] = 1.0
        rows = 1
    cdef int st = lrci_tridiag_eig(<double *>cnp.PyArray_DATA(D), <double *>cnp.PyArray_DATA(E),
                                  n, <double *>cnp.PyArray_DATA(Z), rows)
    if st != LRC_OK:
        raise _status_error(st, "tridiag_eig")
    return D, Z[:rows, :n]
