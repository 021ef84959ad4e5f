# lrcore/_core.pxd -- the C-level functions implemented by the extension lrcore._core.
#
# Other projects cimport them from the public, versioned module lrcore/cython_api.pxd,
# which re-exports everything below (Cython resolves the functions through this module's
# __pyx_capi__, so no header, link step or extra runtime module is needed).  The names
# here follow the same contract; `from lrcore._core cimport ...` keeps working.
#
# Every function is ``noexcept nogil`` (except schedule_program, which takes a Python
# object), works on raw pointers, never allocates in its hot loop, and returns a status
# code (STATUS_OK == 0).  Arrays passed to one call must not overlap.  ``nthreads``: 1 =
# run on the calling thread, k > 1 = at most k OpenMP threads, 0 = the OpenMP default.
# Semantics are those of the C functions of lrcore.h (lrcore.get_include()) with the
# lrc_ prefix, and of the Python functions of the same concern.
#
# C_API_VERSION must equal LRCORE_C_API_VERSION of lrcore.h: lrcore._core checks it at
# import, and a consumer can compare it with lrcore.C_API_VERSION at run time.

from libc.stdint cimport int32_t, int64_t, uint64_t

cdef enum:
    C_API_VERSION = 2

    # ---- status codes (final) ----
    STATUS_OK = 0            # success
    STATUS_NONFINITE = 1     # NaN/Inf: in an update kernel's input (nothing written) or
                             # in an evaluation's result (fully written)
    STATUS_EINVAL = 2        # invalid argument
    STATUS_ENOMEM = 3        # allocation failed
    STATUS_NOT_CONVERGED = 4 # an iterative method ran out of iterations
    STATUS_BREAKDOWN = 5     # an iterative method broke down
    # ---- requests of the reverse-communication machines (not final: answer, call again)
    REQ_MATVEC = 100         # eigen-solver: y = A x
    REQ_VALUE_GRAD = 101     # descend: f(x) and grad f(x)
    REQ_VALUE = 103          # descend: f(x) alone (a line-search trial)
    REQ_HVP = 104            # descend: hv = H(x) v (the curvature rule)
    EIG_REQ_MATVEC = 100     # (the version-1 name of REQ_MATVEC)

    # ---- eigen-solver parameters ----
    EIG_LA = 0
    EIG_LM = 1
    EIG_SA = 2
    EIG_LANCZOS = 0
    EIG_POWER = 1
    EIG_LANCZOS_LOWMEM = 2   # two-pass Lanczos: 4 n-vectors, about twice the products
    EIG_MAX_NCV = 512

    # ---- descend: methods and outcomes ----
    METHOD_GD = 0            # x <- x - lr g
    METHOD_HEAVY_BALL = 1    # b <- beta b + g;  x <- x - lr b
    METHOD_NESTEROV = 2      # b <- beta b + g;  x <- x - lr (g + beta b)
    METHOD_ADAM = 3          # Adam with beta1 = momentum
    RUN_COMPLETED = 0        # every step was taken
    RUN_CONVERGED = 1        # ||grad|| <= tol stopped the run
    RUN_DIVERGED = 2         # non-finite loss/gradient, or the loss blew up
    RUN_STOPPED = 3          # the step-size rule could not go on (line search, curvature)

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

# ---- symmetric mat-vecs (csrc/eigen.c) -------------------------------------------------
# Vectors are double; a float32 matrix is widened and accumulated in double.  Dense: one
# triangle of an n x n row-major array with row stride lda is read, the lower one if
# upper == 0; `work` (lwork doubles from symv_workspace_size; NULL/0 runs serially) holds
# the extra threads' partial sums.  CSR: y = A x for nrows rows.
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

# ---- eigen-solver, reverse communication (csrc/eigen.c) --------------------------------
# Opaque state of eig_state_size() bytes (any malloc'd block), a workspace of lwork
# doubles from eig_workspace_size(), no allocation inside:
#     eig_workspace_size(n, EIG_LANCZOS, 32, nthreads, &lwork)
#     eig_init(state, n, EIG_LANCZOS, EIG_LA, 32, 1e-6, DBL_EPSILON, 0, 20000, NULL, 0.1,
#              seed, work, lwork, nthreads)
#     while eig_iterate(state, &x, &y) == REQ_MATVEC:
#         my_matvec(x, y)                    # y = A x, length n
#     eig_result(state, &value, &residual, &vector, &n_matvec)
# The last eig_iterate status is STATUS_OK (converged), STATUS_NOT_CONVERGED (maxmv
# reached; the result is the best estimate), STATUS_NONFINITE (the operator returned
# NaN/Inf) or STATUS_BREAKDOWN.  EIG_LANCZOS keeps a basis of ncv n-vectors;
# EIG_LANCZOS_LOWMEM (ncv >= 2: the longest cycle) needs 4 n-vectors whatever ncv, about
# twice the products, and reports the Rayleigh quotient and true residual of its vector.
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

# ---- descend, reverse communication (csrc/descend.c) -----------------------------------
# `steps` optimizer steps from x (updated in place) with rate lrs[k] at step k; losses and
# gnorms (steps // record_every + 1 doubles each, or NULL) receive f and ||grad f|| every
# record_every iterates.  Opaque state of descend_state_size() bytes:
#     descend_workspace_size(n, METHOD_ADAM, &lwork)
#     descend_init(state, x, n, lrs, steps, METHOD_ADAM, 0.9, 0.999, 1e-8, tol, 1e10, 1,
#                  work, lwork, losses, gnorms)
#     while descend_iterate(state, &xk, &g) == REQ_VALUE_GRAD:
#         f = my_value_grad(xk, g)           # write grad f(xk) into g (length n)
#         descend_tell(state, f, STATUS_OK)  # or STATUS_NONFINITE / a failure code
#     descend_result(state, &steps_run, &loss, &gnorm, &outcome)
# Answer STATUS_NONFINITE when f or g is NaN/Inf (the run ends as RUN_DIVERGED) or any
# other non-zero code when the objective failed (descend_iterate then returns it).  The
# last descend_iterate status is STATUS_OK (see outcome), STATUS_EINVAL or that code.
# Momentum: heavy ball / Nesterov beta, or Adam's beta1; blowup > 0 ends the run as
# diverged when f - f(x0) > blowup * max(|f(x0)|, 1); tol > 0 ends it as converged when
# ||grad f|| <= tol.
cdef size_t descend_state_size() noexcept nogil
cdef int descend_workspace_size(Py_ssize_t n, int method, size_t *size) noexcept nogil
cdef int descend_init(void *state, double *x, Py_ssize_t n, const double *lrs,
                      int64_t steps, int method, double momentum, double beta2, double eps,
                      double tol, double blowup, int64_t record_every, double *work,
                      size_t lwork, double *losses, double *gnorms) noexcept nogil
cdef int descend_iterate(void *state, const double **x, double **g) noexcept nogil
cdef int descend_tell(void *state, double f, int status) noexcept nogil
cdef int descend_result(const void *state, int64_t *steps_run, double *loss, double *gnorm,
                        int *outcome) noexcept nogil

# ---- step-size rules in descend (csrc/descend.c; Python API lrcore.adaptive) -----------
# A rule's parameter block comes from an lrcore.adaptive rule object (take it with the GIL;
# valid while the object lives).  Its state is opaque (rule_state_size() bytes) with a
# workspace of rule_workspace_size() doubles.  In descend, set it after descend_init and
# before the first descend_iterate; the machine may then also ask for
#     REQ_VALUE  f at x only (descend_request's x; answer with descend_tell), or
#     REQ_HVP    hv = H(x) v (descend_request's x, v, hv; answer descend_tell(state, 0, st)).
# For a training loop of your own, rule_step updates x from (x, g, f) for the rules that
# need only those (all but armijo, curvature and barzilai_borwein(fallback="backtrack"),
# for which it returns STATUS_EINVAL).  The curvature rule's block sets the rate of gd
# (2 c / lambda_max) and measures once unless `every` was given.
#     cdef const void *prm = rule_params(adaptive.dog())
#     rule_workspace_size(prm, n, &lw); rule_init(rs, prm, n, x, work, lw)
#     descend_set_rule(state, rs)        # or: rule_step(rs, x, g, f) in your own loop
cdef const void *rule_params(object rule) except NULL
cdef size_t rule_state_size() noexcept nogil
cdef int rule_workspace_size(const void *params, Py_ssize_t n, size_t *size) noexcept nogil
cdef int rule_init(void *state, const void *params, Py_ssize_t n, const double *x0,
                   double *work, size_t lwork) noexcept nogil
cdef int rule_step(void *state, double *x, const double *g, double f) noexcept nogil
cdef int rule_result(const void *state, double *lr, int *event, int64_t *t) noexcept nogil
cdef int descend_set_rule(void *state, void *rule_state) noexcept nogil
cdef int descend_request(const void *state, const double **x, double **g, const double **v,
                         double **hv) noexcept nogil

# ---- schedules (csrc/schedule.c) -------------------------------------------------------
# A schedule's compiled program, as an opaque handle valid while the Schedule object lives
# (take it with the GIL, then evaluate without it):
#     cdef const void *prog = schedule_program(s)
#     with nogil: lr = schedule_value(prog, t)
cdef const void *schedule_program(object schedule) except NULL
# out[i] = schedule(steps[i]); returns STATUS_OK, STATUS_EINVAL (a negative step) or
# STATUS_NONFINITE (a value overflowed; out is fully written).  steps and out must not
# overlap.
cdef int schedule_eval(const void *program, const int64_t *steps, double *out, Py_ssize_t n,
                       int nthreads) noexcept nogil
# the value at one step t >= 0 (NaN if t < 0 or the value is not finite)
cdef double schedule_value(const void *program, int64_t t) noexcept nogil
