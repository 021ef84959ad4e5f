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
    STATUS_OK = 0            # success
    STATUS_NONFINITE = 1     # a non-finite input was found; nothing was written
    STATUS_EINVAL = 2        # invalid argument
    STATUS_ENOMEM = 3        # allocation failed
    STATUS_NOT_CONVERGED = 4 # an iterative method ran out of iterations
    STATUS_BREAKDOWN = 5     # an iterative method broke down
    STATUS_DIVERGED = 6      # an optimisation run diverged

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
