# lrcore/_core.pxd -- the C-level API of lrcore for other Cython projects.
#
#     from lrcore._core cimport adam_f64, STATUS_OK
#
# Every function here is ``noexcept nogil``, works on raw pointers, never allocates in its
# hot loop, and returns a status code (STATUS_OK == 0).  Arrays passed to one call must not
# overlap.  ``nthreads``: 1 = run on the calling thread, k > 1 = at most k OpenMP threads,
# 0 = the OpenMP default.  Semantics are those of the Python functions of the same concern
# (lrcore.optim.*_step): see their docstrings.  No header or link step is needed: Cython
# imports the function pointers from the installed lrcore._core module.

from libc.stdint cimport int64_t

cdef enum:
    C_API_VERSION = 2        # LRCORE_C_API_VERSION of csrc/lrcore.h (checked at import)
    STATUS_OK = 0            # success
    STATUS_NONFINITE = 1     # NaN/Inf: in an update kernel's input (nothing written) or
                             # in an evaluation's result (fully written)
    STATUS_EINVAL = 2        # invalid argument
    STATUS_ENOMEM = 3        # allocation failed
    STATUS_NOT_CONVERGED = 4 # an iterative method ran out of iterations
    STATUS_BREAKDOWN = 5     # an iterative method broke down

# ---- update kernels (csrc/update.c) ----------------------------------------------------
cdef int all_finite_f64(const double *a, Py_ssize_t n, int nthreads) noexcept nogil
cdef int all_finite_f32(const float *a, Py_ssize_t n, int nthreads) noexcept nogil
cdef int sgd_f64(double *x, const double *g, Py_ssize_t n, double lr, double weight_decay,
                 int maximize, int check, int nthreads) noexcept nogil
cdef int sgd_f32(float *x, const float *g, Py_ssize_t n, double lr, double weight_decay,
                 int maximize, int check, int nthreads) noexcept nogil
cdef int momentum_f64(double *x, const double *g, double *buf, Py_ssize_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov,
                      int first_step, int maximize, int check, int nthreads) noexcept nogil
cdef int momentum_f32(float *x, const float *g, float *buf, Py_ssize_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov,
                      int first_step, int maximize, int check, int nthreads) noexcept nogil
cdef int adam_f64(double *x, const double *g, double *m, double *v, double *vmax,
                  Py_ssize_t n, int64_t step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int amsgrad, int maximize,
                  int check, int nthreads) noexcept nogil
cdef int adam_f32(float *x, const float *g, float *m, float *v, float *vmax,
                  Py_ssize_t n, int64_t step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int amsgrad, int maximize,
                  int check, int nthreads) noexcept nogil
cdef int rmsprop_f64(double *x, const double *g, double *sq, double *gavg, double *buf,
                     Py_ssize_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize, int check,
                     int nthreads) noexcept nogil
cdef int rmsprop_f32(float *x, const float *g, float *sq, float *gavg, float *buf,
                     Py_ssize_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize, int check,
                     int nthreads) noexcept nogil
cdef int adagrad_f64(double *x, const double *g, double *sum, Py_ssize_t n, int64_t step,
                     double lr, double lr_decay, double eps, double weight_decay,
                     int maximize, int check, int nthreads) noexcept nogil
cdef int adagrad_f32(float *x, const float *g, float *sum, Py_ssize_t n, int64_t step,
                     double lr, double lr_decay, double eps, double weight_decay,
                     int maximize, int check, int nthreads) noexcept nogil

# ---- eigen-solvers (csrc/eigen.c) ------------------------------------------------------
# Symmetric mat-vecs: vectors are double; a float32 matrix is widened and accumulated in
# double.  Dense: one triangle of an n x n row-major array with row stride lda is read,
# the lower one if upper == 0 (see lrcore.h for the storage conventions and `work`).
# Reverse-communication eigen-solver (opaque state of eig_state_size() bytes, workspace of
# lwork doubles from eig_workspace_size(), no allocation inside):
#     eig_workspace_size(n, EIG_LANCZOS, 32, nthreads, &lwork)
#     eig_init(state, n, EIG_LANCZOS, EIG_LA, 32, 1e-6, DBL_EPSILON, 0, 20000, NULL, 0.1,
#              seed, work, lwork, nthreads)
#     while eig_iterate(state, &x, &y) == EIG_REQ_MATVEC:
#         my_matvec(x, y)                    # y = A x, length n
#     eig_result(state, &value, &residual, &vector, &n_matvec)
from libc.stdint cimport int32_t, uint64_t

cdef enum:
    EIG_REQ_MATVEC = 100
    EIG_LA = 0
    EIG_LM = 1
    EIG_SA = 2
    EIG_LANCZOS = 0
    EIG_POWER = 1

cdef int symv_workspace_size(Py_ssize_t n, int nthreads, size_t *size) noexcept nogil
cdef int symv_f64(Py_ssize_t n, const double *a, Py_ssize_t lda, int upper, const double *x,
                  double *y, double *work, size_t lwork, int nthreads) noexcept nogil
cdef int symv_f32(Py_ssize_t n, const float *a, Py_ssize_t lda, int upper, const double *x,
                  double *y, double *work, size_t lwork, int nthreads) noexcept nogil
cdef int csrmv_f64_i32(Py_ssize_t nrows, const int32_t *indptr, const int32_t *indices,
                       const double *data, const double *x, double *y,
                       int nthreads) noexcept nogil
cdef int csrmv_f64_i64(Py_ssize_t nrows, const int64_t *indptr, const int64_t *indices,
                       const double *data, const double *x, double *y,
                       int nthreads) noexcept nogil
cdef int csrmv_f32_i32(Py_ssize_t nrows, const int32_t *indptr, const int32_t *indices,
                       const float *data, const double *x, double *y,
                       int nthreads) noexcept nogil
cdef int csrmv_f32_i64(Py_ssize_t nrows, const int64_t *indptr, const int64_t *indices,
                       const float *data, const double *x, double *y,
                       int nthreads) noexcept nogil
cdef size_t eig_state_size() noexcept nogil
cdef int eig_workspace_size(Py_ssize_t n, int method, int ncv, int nthreads,
                            size_t *size) noexcept nogil
cdef int eig_init(void *state, Py_ssize_t n, int method, int which, int ncv, double tol,
                  double op_eps, int64_t minmv, int64_t maxmv, const double *v0,
                  double v0_mix, uint64_t seed, double *work, size_t lwork,
                  int nthreads) noexcept nogil
cdef int eig_iterate(void *state, const double **x, double **y) noexcept nogil
cdef int eig_result(const void *state, double *value, double *residual,
                    const double **vector, int64_t *n_matvec) noexcept nogil

# ---- schedules (csrc/schedule.c) -------------------------------------------------------
# A schedule's compiled program, as an opaque handle valid while the Schedule object lives
# (take it with the GIL, then evaluate without it):
#     cdef const void *prog = schedule_program(s)
#     with nogil: lr = schedule_value(prog, t)
cdef const void *schedule_program(object schedule) except NULL
# out[i] = schedule(steps[i]); returns STATUS_OK, STATUS_EINVAL (a negative step) or
# STATUS_NONFINITE (a value overflowed).  steps and out must not overlap.
cdef int schedule_eval(const void *program, const int64_t *steps, double *out, Py_ssize_t n,
                       int nthreads) noexcept nogil
# the value at one step t >= 0 (NaN if t < 0 or the value is not finite)
cdef double schedule_value(const void *program, int64_t t) noexcept nogil

# ---- problems (csrc/problems.c) --------------------------------------------------------
