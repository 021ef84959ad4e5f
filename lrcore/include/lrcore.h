/*
 * lrcore.h -- the single public header of lrcore's C core (C API version 2).
 *
 * Installed with the Python package: lrcore.get_include() is the directory holding it.
 * The functions are compiled into the extension module lrcore._core; Cython code reaches
 * them through `from lrcore.cython_api cimport ...` (no link step), C code through that
 * module or by compiling csrc/ itself.  Everything not declared here (csrc/internal.h) is
 * private.
 *
 * Plain C11, no Python headers.  Every kernel:
 *   - takes raw pointers and lengths (ptrdiff_t), float (f32) and double (f64) variants;
 *   - returns an int status code (LRC_OK == 0 on success, see below), never aborts;
 *   - allocates nothing in its hot loop and keeps no global state (reentrant);
 *   - takes an `nthreads` argument where it can use OpenMP: 1 = serial, k > 1 = at most
 *     k threads, 0 = the OpenMP default.  Small inputs (below LRC_OMP_MIN_N elements)
 *     always run serially.
 *
 * The Python binding (lrcore/_core.pyx) validates arguments before calling in, so the
 * argument checks here are a second line of defence: they return LRC_EINVAL instead of
 * touching memory.  Request codes (>= 100) are answered by the caller of a
 * reverse-communication machine (eigen-solver, descend), which may abandon it at any
 * request: machines hold no resources.
 */
#ifndef LRCORE_H
#define LRCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a declaration below changes incompatibly (2: descend became a
 * reverse-communication machine; workspace sizes are `int f(..., size_t *size)`;
 * LRC_DIVERGED and the internal helpers left this header).                            */
#define LRCORE_C_API_VERSION 2

/* ------------------------------------------------------------------------------------ */
/* Status codes shared by every kernel                                                   */
/* ------------------------------------------------------------------------------------ */
#define LRC_OK 0             /* success                                                   */
#define LRC_NONFINITE 1      /* NaN or Inf: in the input of an update kernel (nothing was
                              * written), or in the result of an evaluation (the result
                              * is fully written and holds the NaN/Inf; see each function) */
#define LRC_EINVAL 2         /* invalid argument (negative length, NULL pointer, ...)     */
#define LRC_ENOMEM 3         /* allocation failed (only set-up code allocates)            */
#define LRC_NOT_CONVERGED 4  /* an iterative method ran out of iterations                 */
#define LRC_BREAKDOWN 5      /* an iterative method broke down (e.g. invariant subspace)  */
/* 6 was LRC_DIVERGED in version 1 (never returned: a diverged run is an outcome, see
 * LRC_RUN_DIVERGED); it is not reused.
 * Codes >= 100 are not final: they ask the caller to do something and call again.    */
#define LRC_REQ_MATVEC 100     /* eigen-solver: compute y = A x (see eigen section)       */
#define LRC_REQ_VALUE_GRAD 101 /* descend: evaluate f and grad f at x (descend section)   */
#define LRC_PAUSED 102         /* a driver stopped after its time budget with the run
                                * intact, so the caller can check for signals; call the
                                * driver again to continue                               */

/* Below this many elements a kernel never starts an OpenMP team. */
#ifndef LRC_OMP_MIN_N
#define LRC_OMP_MIN_N 131072
#endif

/* Human-readable text of a status or request code (static storage, never NULL). */
const char *lrc_status_string(int status);

/* Number of threads OpenMP would use by default (1 when built without OpenMP). */
int lrc_omp_max_threads(void);

/* ------------------------------------------------------------------------------------ */
/* update.c -- fused in-place optimizer steps (one pass over memory)                     */
/* ------------------------------------------------------------------------------------ */
/*
 * Conventions for every step kernel:
 *   x          parameters, updated in place;
 *   g          gradient (read only);
 *   state      optimizer buffers, updated in place;
 *   check      if non-zero, g is scanned for NaN/Inf *before* anything is written; on a
 *              non-finite entry the kernel returns LRC_NONFINITE and x and every buffer
 *              are left bit-for-bit unchanged.
 * Semantics follow torch.optim (SGD, Adam/AdamW, RMSprop, Adagrad) step for step.
 */

/* Returns LRC_NONFINITE if any of a[0..n) is NaN or +-Inf, else LRC_OK. */
int lrc_all_finite_f64(const double *a, ptrdiff_t n, int nthreads);
int lrc_all_finite_f32(const float *a, ptrdiff_t n, int nthreads);

/* x <- x - lr * (g + wd * x)  (maximize: g -> -g) */
int lrc_sgd_f64(double *x, const double *g, ptrdiff_t n, double lr, double weight_decay,
                int maximize, int check, int nthreads);
int lrc_sgd_f32(float *x, const float *g, ptrdiff_t n, double lr, double weight_decay,
                int maximize, int check, int nthreads);

/* torch.optim.SGD with momentum:
 *   d = g + wd * x
 *   buf = d                                  if first_step
 *   buf = momentum * buf + (1 - dampening) d  otherwise
 *   x -= lr * (d + momentum * buf)  if nesterov else lr * buf                                */
int lrc_momentum_f64(double *x, const double *g, double *buf, ptrdiff_t n, double lr,
                     double momentum, double dampening, double weight_decay, int nesterov,
                     int first_step, int maximize, int check, int nthreads);
int lrc_momentum_f32(float *x, const float *g, float *buf, ptrdiff_t n, double lr,
                     double momentum, double dampening, double weight_decay, int nesterov,
                     int first_step, int maximize, int check, int nthreads);

/* torch.optim.Adam / AdamW (decoupled != 0).  step is the 1-based count *including* this
 * update.  vmax is required (non-NULL) iff amsgrad != 0.                                   */
int lrc_adam_f64(double *x, const double *g, double *m, double *v, double *vmax,
                 ptrdiff_t n, int64_t step, double lr, double beta1, double beta2,
                 double eps, double weight_decay, int decoupled, int amsgrad, int maximize,
                 int check, int nthreads);
int lrc_adam_f32(float *x, const float *g, float *m, float *v, float *vmax, ptrdiff_t n,
                 int64_t step, double lr, double beta1, double beta2, double eps,
                 double weight_decay, int decoupled, int amsgrad, int maximize, int check,
                 int nthreads);

/* torch.optim.RMSprop.  gavg required iff centered; buf required iff momentum > 0.        */
int lrc_rmsprop_f64(double *x, const double *g, double *sq, double *gavg, double *buf,
                    ptrdiff_t n, double lr, double alpha, double eps, double weight_decay,
                    double momentum, int centered, int maximize, int check, int nthreads);
int lrc_rmsprop_f32(float *x, const float *g, float *sq, float *gavg, float *buf,
                    ptrdiff_t n, double lr, double alpha, double eps, double weight_decay,
                    double momentum, int centered, int maximize, int check, int nthreads);

/* torch.optim.Adagrad.  step is the 1-based count including this update.                 */
int lrc_adagrad_f64(double *x, const double *g, double *sum, ptrdiff_t n, int64_t step,
                    double lr, double lr_decay, double eps, double weight_decay,
                    int maximize, int check, int nthreads);
int lrc_adagrad_f32(float *x, const float *g, float *sum, ptrdiff_t n, int64_t step,
                    double lr, double lr_decay, double eps, double weight_decay,
                    int maximize, int check, int nthreads);

/* ------------------------------------------------------------------------------------ */
/* eigen.c -- symmetric mat-vecs and reverse-communication eigen-solvers                 */
/* ------------------------------------------------------------------------------------ */
/* (section: eigen) */
/*
 * Symmetric mat-vecs.  The iteration vectors x, y are always double; the matrix may be
 * float (f32) or double (f64).  A float matrix is read as stored and every product is
 * accumulated in double, so a float32 matrix is treated as exact data.
 *
 * Dense: `a` is an n x n matrix stored row by row with row stride `lda` (>= n).  Only one
 * triangle is read: the lower one (a[i*lda + j], j <= i) if upper == 0, the upper one
 * (j >= i) if upper != 0.  (A C-ordered numpy array's lower triangle is upper == 0; a
 * Fortran-ordered array's lower triangle is upper == 1 on the transposed storage.)
 * One pass over the triangle: each stored element feeds both y_i and y_j.  With more than
 * one thread, each extra thread accumulates into its own length-n slice of `work` (lwork
 * doubles; the size from lrc_symv_workspace_size(n, nthreads, &lwork) lets every thread
 * run, fewer threads run when lwork is smaller, NULL/0 runs serially).  x and y must not
 * overlap `a` or each other.
 */
/* Workspace sizes, here and everywhere: int f(..., size_t *size) stores the number of
 * doubles in *size and returns LRC_OK, or returns LRC_EINVAL (size untouched).         */
int lrc_symv_workspace_size(ptrdiff_t n, int nthreads, size_t *size);
int lrc_symv_f64(ptrdiff_t n, const double *a, ptrdiff_t lda, int upper, const double *x,
                 double *y, double *work, size_t lwork, int nthreads);
int lrc_symv_f32(ptrdiff_t n, const float *a, ptrdiff_t lda, int upper, const double *x,
                 double *y, double *work, size_t lwork, int nthreads);

/* CSR: y = A x for an nrows x ncols matrix (indptr[nrows + 1], indices, data).  Rows are
 * split across threads by their number of stored entries.  Indices are not checked here
 * (the binding checks them once).                                                      */
int lrc_csrmv_f64_i32(ptrdiff_t nrows, const int32_t *indptr, const int32_t *indices,
                      const double *data, const double *x, double *y, int nthreads);
int lrc_csrmv_f64_i64(ptrdiff_t nrows, const int64_t *indptr, const int64_t *indices,
                      const double *data, const double *x, double *y, int nthreads);
int lrc_csrmv_f32_i32(ptrdiff_t nrows, const int32_t *indptr, const int32_t *indices,
                      const float *data, const double *x, double *y, int nthreads);
int lrc_csrmv_f32_i64(ptrdiff_t nrows, const int64_t *indptr, const int64_t *indices,
                      const float *data, const double *x, double *y, int nthreads);

/* Cheap spectral facts of a symmetric matrix from its entries (one pass, same storage
 * conventions as above):  out[0] = trace, out[1] = squared Frobenius norm (of the full
 * symmetric matrix), out[2] = max_i (a_ii + sum_{j != i} |a_ij|), out[3] = min_i (a_ii -
 * sum_{j != i} |a_ij|) (the Gershgorin interval, which contains every eigenvalue).
 * Returns LRC_NONFINITE if an entry read is NaN or Inf.  The CSR variants assume the
 * stored matrix is symmetric (both triangles stored) without duplicate entries.  The
 * dense variants take the same workspace as lrc_symv.                                 */
int lrc_symstats_f64(ptrdiff_t n, const double *a, ptrdiff_t lda, int upper, double out[4],
                     double *work, size_t lwork, int nthreads);
int lrc_symstats_f32(ptrdiff_t n, const float *a, ptrdiff_t lda, int upper, double out[4],
                     double *work, size_t lwork, int nthreads);
int lrc_csrstats_f64_i32(ptrdiff_t n, const int32_t *indptr, const int32_t *indices,
                         const double *data, double out[4], int nthreads);
int lrc_csrstats_f64_i64(ptrdiff_t n, const int64_t *indptr, const int64_t *indices,
                         const double *data, double out[4], int nthreads);
int lrc_csrstats_f32_i32(ptrdiff_t n, const int32_t *indptr, const int32_t *indices,
                         const float *data, double out[4], int nthreads);
int lrc_csrstats_f32_i64(ptrdiff_t n, const int64_t *indptr, const int64_t *indices,
                         const float *data, double out[4], int nthreads);

/*
 * Reverse-communication eigen-solvers for one extreme eigenpair of a symmetric operator.
 *
 *     lrc_eig s;
 *     size_t lwork;
 *     lrc_eig_workspace_size(n, method, ncv, nthreads, &lwork);   // check the status
 *     double *work = malloc(lwork * sizeof(double));
 *     int st = lrc_eig_init(&s, n, method, which, ncv, tol, op_eps, minmv, maxmv, v0,
 *                           v0_mix, seed, work, lwork, nthreads);
 *     while (st == LRC_OK && (st = lrc_eig_iterate(&s)) == LRC_REQ_MATVEC)
 *         my_matvec(s.x, s.y);          // y = A x, both of length n
 *     // st is LRC_OK (converged), LRC_NOT_CONVERGED (maxmv reached; s.value/s.vector hold
 *     // the best estimate), LRC_NONFINITE (the operator returned NaN/Inf) or LRC_BREAKDOWN
 *
 * No allocation after init; the state lives in `s` and `work` (reentrant: one state per
 * solve).  Everything is double precision.
 *
 * method LRC_EIG_LANCZOS: thick-restart Lanczos (Wu & Simon 2000; Stathopoulos, Saad &
 *   Wu 1998) with full reorthogonalisation (classical Gram-Schmidt, repeated when
 *   needed: Daniel, Gragg, Kaufman & Stewart 1976) in a basis of `ncv` vectors; at a
 *   restart the ncv/4 Ritz vectors nearest the wanted end are kept and the arrowhead is
 *   reduced back to tridiagonal form, so the projected matrix stays tridiagonal and the
 *   convergence test after every mat-vec costs O(ncv^2).
 * method LRC_EIG_LANCZOS_LOWMEM: two-pass Lanczos with local reorthogonalisation, for
 *   operators too large for a basis: the workspace holds 4 n-vectors and O(ncv^2) small
 *   numbers, whatever the number of steps.  A cycle's first pass keeps only the
 *   tridiagonal T (each new vector orthogonalised against the previous two, repeated when
 *   needed) and stops when the top Ritz pair's residual estimate meets tol (or after ncv
 *   steps, or when maxmv could not pay for the second pass); the second pass regenerates
 *   the same vectors from the stored start vector and accumulates the Ritz vector; one
 *   more product gives its true residual ||A u - (u'Au) u||, which alone decides
 *   convergence.  Not converged: the next cycle restarts from that vector (its product is
 *   reused).  Costs about two products per step instead of one.  Loss of orthogonality
 *   is tracked by Simon's omega recurrence (Simon 1984): the first cycle's prefix whose
 *   basis stays semi-orthogonal (|v_i'v_j| <= sqrt(op_eps)) -- where T is the projection
 *   of A onto an orthonormal basis of the Krylov space to working precision -- is what
 *   d_first/e_first/beta_first (and d_final/e_final/beta_final, the same prefix) report.
 *   value/residual are the Rayleigh quotient and true residual of `vector`.  ncv >= 2.
 * method LRC_EIG_POWER: power iteration with the Rayleigh quotient (the textbook
 *   baseline); for LA/SA a dominant eigenvalue of the wrong sign triggers a second run on
 *   the shifted operator A - theta I, and a +-mu pair (equal magnitude, opposite sign) is
 *   detected from the convergence of A^2 and split as x_k +- x_{k+1}.
 * which: LRC_EIG_LA (largest algebraic), LRC_EIG_LM (largest magnitude), LRC_EIG_SA.
 * minmv: convergence is not accepted before minmv mat-vecs (a longer first Krylov cycle
 *   tightens the probabilistic bounds computed from it); 0 for none.
 * Convergence: ||A v - value v|| <= tol * max(|value|, op_eps^(2/3) * anorm), where
 *   anorm is the largest |Ritz value| seen (ARPACK's test; op_eps is the relative precision
 *   of the operator: DBL_EPSILON for double mat-vecs, FLT_EPSILON for float ones).
 * Start: v0 (may be NULL) mixed with a Gaussian random vector from `seed`:
 *   v = v0/||v0|| + v0_mix * g/||g||  (v0 == NULL: v = g).  A little randomness keeps a
 *   v0 that is orthogonal to the wanted eigenvector from hiding it.
 */
#define LRC_EIG_LA 0
#define LRC_EIG_LM 1
#define LRC_EIG_SA 2
#define LRC_EIG_LANCZOS 0
#define LRC_EIG_POWER 1
#define LRC_EIG_LANCZOS_LOWMEM 2
#define LRC_EIG_MAX_NCV 512

typedef struct lrc_eig {
    /* ---- the request: valid while lrc_eig_iterate returns LRC_REQ_MATVEC ---- */
    const double *x; /* multiply this vector (do not modify it) ...                */
    double *y;       /* ... and store A x here                                    */
    /* ---- progress and results ---- */
    int64_t n_matvec; /* mat-vecs requested so far                                */
    double value;     /* the estimate of the wanted eigenvalue                      */
    double residual;  /* ||A v - value v|| of the unit vector `vector`              */
    double *vector;   /* length n; valid after a final status                       */
    double anorm;     /* largest |Ritz value| (or ||A x||) seen: a lower bound on ||A|| */
    double asym;      /* largest symmetry defect seen, relative to anorm (Lanczos)  */
    int n_restarts;
    /* Lanczos bound data.  The final projected tridiagonal T (diagonal d_final[0..nfinal),
     * off-diagonal e_final[0..nfinal-1)) with A V = V T + f e_last^T, beta_final = ||f||;
     * and the same for the first, unrestarted cycle (a Krylov space K_nfirst(A, v)).  */
    int nfinal, nfirst;
    double *d_final, *e_final, *d_first, *e_first;
    double beta_final, beta_first;
    /* Power bound data: k1 mat-vecs of the first run, theta1 = x^T A x and ynorm1 =
     * ||A x|| of its last iterate; shift != 0 if a shifted second run was needed;
     * pair != 0 if a +-mu pair was split.                                            */
    int64_t power_k1;
    double power_theta1, power_ynorm1, power_shift;
    int power_pair;
    /* Low-memory Lanczos: largest difference between a cycle's two passes (the diagonal
     * of T recomputed by the second pass), relative to anorm: 0 for an operator whose
     * products are reproducible bit for bit.                                          */
    double regen_defect;
    /* ---- parameters (set by lrc_eig_init) ---- */
    ptrdiff_t n;
    int method, which, ncv, nkeep, nthreads;
    double tol, op_eps;
    int64_t minmv, maxmv; /* convergence is only accepted after minmv mat-vecs */
    /* ---- private ---- */
    int stage, j, phase, first_cycle, n_reorth;
    int *selidx;
    double *selcoef;
    double *V, *w, *d, *e, *td, *te, *Y, *z, *Q, *hb, *tmp, *px, *py, *qx, *qy;
    double sigma;
    uint64_t rng[4];
    /* low-memory Lanczos: pass (1: T, 2: regenerate, 3: final product), steps of the
     * cycle's first pass, minimum first-cycle length, semi-orthogonal prefix, whether it
     * still holds, whether the next step's product is already in w (restart)         */
    int lm_pass, lm_k, lm_kmin, lm_nsemi, lm_semi, lm_have;
    double lm_eps1, lm_thr;
    double *lm_q, *lm_prev, *lm_cur, *lm_buf[3], *lm_om0, *lm_om1, *lm_y;
} lrc_eig;

/* Size of the workspace in doubles (LRC_EINVAL for n < 1, an unknown method, or ncv
 * outside [1, LRC_EIG_MAX_NCV] for Lanczos).  Lanczos: about (ncv + 2) n + O(ncv^2);
 * low-memory Lanczos: 4 n + O(ncv^2); power: 5 n. */
int lrc_eig_workspace_size(ptrdiff_t n, int method, int ncv, int nthreads, size_t *size);
int lrc_eig_init(lrc_eig *s, ptrdiff_t n, int method, int which, int ncv, double tol,
                 double op_eps, int64_t minmv, int64_t maxmv, const double *v0,
                 double v0_mix, uint64_t seed, double *work, size_t lwork, int nthreads);
/* Returns LRC_REQ_MATVEC (answer it, call again) or a final status; after a final status
 * further calls return LRC_EINVAL.  A solve may be abandoned at any request: the state
 * holds no resources of its own. */
int lrc_eig_iterate(lrc_eig *s);
/* (end section: eigen) */

/* ------------------------------------------------------------------------------------ */
/* schedule.c -- vectorized closed-form schedule evaluation                              */
/* ------------------------------------------------------------------------------------ */
/* (section: schedule) */
/*
 * A schedule (lrcore/schedules.py) compiles to a flat *program*: an array of nodes, children
 * before their parents, the root last.  Every node is one closed-form rule or one composite
 * (join, warmup, scale, product, clip) and is evaluated at an int64 step count t >= 0
 * (t = optimizer steps already taken).  Composites shift time: the k-th child of a join sees
 * t - boundary[k-1], the child of a warmup sees t - steps, so every node stays closed form.
 *
 * lrc_sched_eval() evaluates the program at n steps in blocks of LRC_SCHED_BLOCK, node by
 * node, each leaf in a vectorized loop (AVX2 clone via LRC_HOT); a scalar call is the same
 * code on one element, so scalar and vector results are bit-identical.  No libm call is made
 * for the cosine family: cos(pi r / T) with integer r, T is reduced exactly in integers to
 * sin(pi x), |x| <= 1/4, evaluated by a polynomial kernel (max error about 1 ulp).  No
 * floating-point step counting anywhere: integer parameters are at most LRC_SCHED_MAX_LEN, so
 * every conversion of a (clamped) step count to double is exact; unbounded rules (exponential,
 * inverse_time, inverse_sqrt, cyclic, restarts) reduce t in int64 first.
 *
 * Per-kind use of the node fields (p = reals, n = integers; "ints[a..]" / "reals[a..]" are
 * slices of the program's shared arrays):
 *   CONSTANT          p0 value
 *   STEP              p0 lr, p1 gamma, n0 step_size:        lr gamma^floor(t/step_size)
 *   PIECEWISE_CONST   n0 a, n1 m, n2 b: boundaries ints[a..a+m) (strictly increasing, > 0),
 *                     values reals[b..b+m+1):               values[#boundaries <= t]
 *   EXPONENTIAL       p0 lr, p1 gamma, p2 lo, p3 hi (+inf allowed), n0 every, mode&1 staircase:
 *                     clamp(lr gamma^e, lo, hi), e = t/every (floor(t/every) if staircase)
 *   INVERSE_TIME      p0 lr, p1 rate, n0 every, mode&1 staircase:  lr / (1 + rate e)
 *   INVERSE_SQRT      p0 lr, n0 timescale:                  lr / sqrt((t + timescale)/timescale)
 *   POLYNOMIAL        p0 start, p1 end, p2 power, n0 steps:  (start-end)(1-min(t,T)/T)^power + end
 *   LINEAR            p0 start, p1 end, n0 steps:            start + (end-start) min(t,T)/T
 *   COSINE            p0 lr, p1 floor, p2 exponent, n0 steps, mode&1 periodic (PyTorch past T):
 *                     floor + (lr-floor) ((1 + cos(pi min(t,T)/T))/2)^exponent
 *   SQRT_DECAY        p0 start, p1 end, n0 steps:            end + (start-end)(1 - sqrt(min(t,T)/T))
 *   COSINE_RESTARTS   p0 lr, p1 floor, p2 peak_decay, p3 warmup_start, n0 period, n1 period_mult,
 *                     n2 warmup (per cycle), mode&1 default warmup start (peak (t+1)/(w+1))
 *   CYCLIC            p0 base, p1 max, p2 gamma, n0 up, n1 down, mode 0 triangular,
 *                     1 triangular2, 2 exp_range (PyTorch CyclicLR)
 *   INTERP            n0 a, n1 m >= 2: knots reals[a..a+m) (strictly increasing, may be
 *                     fractional), values reals[a+m..a+2m); mode&1 cosine else linear
 *                     interpolation; holds the end values outside the knots
 *   JOIN              n0 a, n1 k >= 1: children ints[a..a+k), boundaries ints[a+k..a+2k-1)
 *   WARMUP            child0, n0 steps, p0 start, mode&1 default start:
 *                     t < steps: start + (s(0) - start) t/steps  (default: s(0) (t+1)/(steps+1));
 *                     else s(t - steps)
 *   SCALE             child0, p0 factor;   PRODUCT  child0, child1;   CLIP  child0, p0 lo, p1 hi
 */
#define LRC_SCHED_CONSTANT 1
#define LRC_SCHED_STEP 2
#define LRC_SCHED_PIECEWISE_CONST 3
#define LRC_SCHED_EXPONENTIAL 4
#define LRC_SCHED_INVERSE_TIME 5
#define LRC_SCHED_INVERSE_SQRT 6
#define LRC_SCHED_POLYNOMIAL 7
#define LRC_SCHED_LINEAR 8
#define LRC_SCHED_COSINE 9
#define LRC_SCHED_SQRT_DECAY 10
#define LRC_SCHED_COSINE_RESTARTS 11
#define LRC_SCHED_CYCLIC 12
#define LRC_SCHED_INTERP 13
#define LRC_SCHED_JOIN 20
#define LRC_SCHED_WARMUP 21
#define LRC_SCHED_SCALE 22
#define LRC_SCHED_PRODUCT 23
#define LRC_SCHED_CLIP 24

#define LRC_SCHED_MAX_DEPTH 64                 /* deepest nesting of composites       */
#define LRC_SCHED_MAX_LEN ((int64_t)1 << 52)   /* largest length / boundary in steps  */
#define LRC_SCHED_BLOCK 256                    /* steps evaluated per block           */

typedef struct lrc_sched_node {
    int32_t kind;     /* LRC_SCHED_*                                                  */
    int32_t mode;     /* kind-specific option bits (see above)                        */
    int32_t child[2]; /* child node indices, each smaller than this node's; -1 unused */
    int64_t n[4];     /* integer parameters                                           */
    double p[6];      /* real parameters                                              */
} lrc_sched_node;

typedef struct lrc_sched_program {
    const lrc_sched_node *nodes;
    int32_t n_nodes; /* the root is nodes[n_nodes - 1] */
    const int64_t *ints;
    int64_t n_ints;
    const double *reals;
    int64_t n_reals;
} lrc_sched_program;

/* Validate a program (indices, slices, lengths, finiteness, depth).  Returns LRC_OK, or
 * LRC_EINVAL with *bad_node (if not NULL) set to the first offending node (-1: the program
 * itself), or LRC_ENOMEM.  lrc_sched_eval() requires a program that passed this check.    */
int lrc_sched_check(const lrc_sched_program *prog, int32_t *bad_node);

/* out[i] = schedule(steps[i]) for i < n.  steps and out must not overlap.  Returns LRC_OK;
 * LRC_EINVAL if some step is negative; LRC_NONFINITE if some value is not finite (e.g. an
 * unbounded exponential growth overflowed; out is fully written then).                    */
int lrc_sched_eval(const lrc_sched_program *prog, const int64_t *steps, double *out,
                   ptrdiff_t n, int nthreads);
/* (end section: schedule) */

/* ------------------------------------------------------------------------------------ */
/* descend.c -- the optimizer loop as a reverse-communication machine                    */
/* ------------------------------------------------------------------------------------ */
/* (section: descend) */
/*
 * `steps` optimizer steps of gd / heavy ball / Nesterov / Adam from x (updated in place)
 * with rate lrs[k] at step k -- or with the rate chosen during the run by a step-size
 * rule (below) -- on ANY objective: the machine asks its caller for f and grad f (and,
 * for some rules, for f alone or for Hessian-vector products), exactly like the
 * eigen-solver asks for mat-vecs.  A C objective, a Python function or a user's Cython
 * code all drive the same loop:
 *
 *     lrc_descend s;
 *     size_t lwork;
 *     lrc_descend_workspace_size(n, opts.method, &lwork);     // check the status
 *     double *work = malloc(lwork * sizeof(double));
 *     int st = lrc_descend_init(&s, x, n, lrs, steps, &opts, work, lwork, losses, gnorms);
 *     // optional, before the first lrc_descend_iterate: a rule and/or per-step records
 *     //     st = lrc_descend_set_rule(&s, &rule_state, &trace);
 *     while (st == LRC_OK && (st = lrc_descend_iterate(&s)) >= LRC_REQ_MATVEC) {
 *         if (st == LRC_REQ_VALUE_GRAD) s.f = my_value_grad(s.x, s.g, &s.status);
 *         else if (st == LRC_REQ_VALUE) s.f = my_value(s.x, &s.status);
 *         else s.status = my_hvp(s.x, s.v, s.hv);         // LRC_REQ_HVP
 *     }
 *     // st is LRC_OK (s.outcome, s.steps_run, s.loss, s.gnorm describe the run), or the
 *     // failure status the objective stored in s.status, or LRC_EINVAL
 *
 * The requests:
 *   LRC_REQ_VALUE_GRAD  evaluate the objective at s->x (n doubles; do not modify them),
 *       store f(x) in s->f and the whole gradient in s->g (n doubles), and a status in
 *       s->status (preset to LRC_OK, s->f to NaN): LRC_OK, or LRC_NONFINITE when f or the
 *       gradient is NaN/Inf (the run then stops as diverged, like a NaN value does), or
 *       any other non-zero code when the objective failed: lrc_descend_iterate then
 *       returns that code and the run ends (nothing is recorded for that iterate).
 *   LRC_REQ_VALUE  (line-search trials) f(s->x) into s->f and a status as above; the
 *       gradient is not wanted (s->g must not be written).  A non-finite trial value is
 *       not an error: the trial is rejected and the step shrinks.
 *   LRC_REQ_HVP  (the curvature rule) y = H(s->x) s->v into s->hv (n doubles; s->v must
 *       not be modified), with the Hessian at the current iterate s->x, and a status.
 *
 * Iteration k = 0, 1, ..., steps evaluates iterate x_k, then:
 *   - records f and ||g|| at losses[k / r], gnorms[k / r] when k % r == 0 (r =
 *     record_every; both arrays have steps / r + 1 entries, NaN where nothing was
 *     recorded; either may be NULL to record nothing);
 *   - stops as LRC_RUN_DIVERGED if f or ||g|| is not finite or f - f(x_0) > blowup *
 *     max(|f(x_0)|, 1) (blowup > 0; 0 turns the bound off);
 *   - stops as LRC_RUN_CONVERGED if tol > 0 and ||g|| <= tol (with a rule also when
 *     ||g|| == 0, and for Polyak's rule when f <= f_star);
 *   - stops as LRC_RUN_COMPLETED if k == steps;
 *   - otherwise takes one step: with rate lrs[k] through the update kernels
 *     (lrc_sgd_f64, lrc_momentum_f64, lrc_adam_f64 with step count k + 1; on one thread),
 *     or as the rule says (below); a rule that cannot produce a step (a line search that
 *     ran out of backtracks, no positive curvature to set a rate from) stops the run as
 *     LRC_RUN_STOPPED with s->reason saying why, x left at x_k.
 * ||g|| is the Euclidean norm, computed with scaling so that it neither overflows nor
 * underflows for representable results.
 *
 * No allocation; the state lives in `s`, `work` (and the rule's state and workspace) and
 * may be abandoned at any request (it holds no resources).  Reentrant: one state per
 * run.  After a final status further calls to lrc_descend_iterate return the same status.
 */
#define LRC_METHOD_GD 0         /* x <- x - lr g                                         */
#define LRC_METHOD_HEAVY_BALL 1 /* b <- beta b + g;  x <- x - lr b        (Polyak 1964)   */
#define LRC_METHOD_NESTEROV 2   /* b <- beta b + g;  x <- x - lr (g + beta b)  (Sutskever) */
#define LRC_METHOD_ADAM 3       /* Adam (lrc_adam_f64), beta1 = momentum                  */

#define LRC_RUN_COMPLETED 0     /* every step was taken                                  */
#define LRC_RUN_CONVERGED 1     /* ||g|| <= tol stopped the run                           */
#define LRC_RUN_DIVERGED 2      /* non-finite loss/gradient, or loss above the blow-up bound */
#define LRC_RUN_STOPPED 3       /* the step-size rule could not go on (see s->reason)     */

/* Requests of the descend machine besides LRC_REQ_VALUE_GRAD (101). */
#define LRC_REQ_VALUE 103       /* f(x) alone (a line-search trial)                       */
#define LRC_REQ_HVP 104         /* hv = H(x) v (the curvature rule's Lanczos solves)       */

/* s->reason after LRC_RUN_STOPPED (or LRC_RUN_CONVERGED by the rule) */
#define LRC_STOP_NONE 0
#define LRC_STOP_LINE_SEARCH 1  /* max_backtracks trials all failed the Armijo test        */
#define LRC_STOP_NO_CURVATURE 2 /* lambda_max(H) <= 0 at the first measurement, no max_lr  */
#define LRC_STOP_TARGET 3       /* Polyak: f(x) <= f_star (converged)                     */
#define LRC_STOP_ZERO_GRAD 4    /* a rule met a zero gradient (converged)                 */

typedef struct {
    int method;             /* LRC_METHOD_*                                             */
    double momentum;        /* heavy ball / Nesterov beta, or Adam's beta1              */
    double beta2, eps;      /* Adam                                                     */
    double tol;             /* stop when ||grad|| <= tol (0: never)                     */
    double blowup;          /* diverged when f(x) - f(x0) > blowup * max(|f(x0)|, 1)    */
    int64_t record_every;   /* record loss and ||grad|| every this many steps (>= 1)    */
} lrc_run_opts;

/*
 * Step-size rules: the rate (and for three methods the iterates) chosen during the run.
 * A rule is a parameter block (lrc_rule); its state (lrc_rule_state) lives in caller
 * memory with a workspace of lrc_rule_workspace_size() doubles.  The same state drives
 * the descend machine (lrc_descend_set_rule) and a caller's own training loop
 * (lrc_rule_step: rules that need only the iterate, the gradient and the loss).
 * Notation: x_k, g_k, f_k the iterate, gradient and loss at step k; s = x_k - x_{k-1},
 * y = g_k - g_{k-1}; ||.|| Euclidean.
 *
 * LRC_RULE_ARMIJO  backtracking (Armijo 1966): trial rates eta = eta0, shrink eta0, ...,
 *     accept the first with f(x_k - eta g_k) <= f_ref - c eta ||g_k||^2, where f_ref =
 *     f_k, or with memory = M >= 1 the max of the last M iterate losses (Grippo,
 *     Lampariello & Lucidi 1986).  eta0 = lr at step 0, then min(grow * last accepted,
 *     max_lr).  More than max_backtracks rejections stop the run (LRC_STOP_LINE_SEARCH).
 *     Needs LRC_REQ_VALUE: descend machine only.
 * LRC_RULE_POLYAK  eta = min((f_k - f_star) / ||g_k||^2, max_lr) (Polyak 1969/1987).
 * LRC_RULE_BB  Barzilai & Borwein (1988): variant 1 eta = s's / s'y, variant 2 eta =
 *     s'y / y'y, clamped to [min_lr, max_lr] (event LRC_EVENT_CLAMPED).  When s'y <= 0
 *     (or the quotient is not finite), and at step 0 (no s, y yet), the rule falls back
 *     to the last accepted rate (lr at step 0; event LRC_EVENT_FALLBACK_LAST) or, with
 *     flag LRC_RULE_BACKTRACK, to Armijo backtracking from that rate with c, shrink,
 *     max_backtracks (event LRC_EVENT_FALLBACK_BACKTRACK; descend machine only).
 * LRC_RULE_ADGD  Malitsky & Mishchenko.  lambda_0 = lr; for k >= 1 with L_k = ||y||/||s||:
 *     variant 2020: lambda_k = min(sqrt(1 + theta_{k-1}) lambda_{k-1}, 1 / (2 L_k)),
 *                   theta_0 = +inf (ICML 2020, Algorithm 1);
 *     variant 2023: lambda_k = min(sqrt(2/3 + theta_{k-1}) lambda_{k-1},
 *                                  lambda_{k-1} / sqrt([2 lambda_{k-1}^2 L_k^2 - 1]_+)),
 *                   theta_0 = 1/3 (arXiv:2308.02261);
 *     theta_k = lambda_k / lambda_{k-1}; a term with a zero denominator is +inf, and a
 *     non-finite lambda_k keeps lambda_{k-1} (event LRC_EVENT_CLAMPED).
 * LRC_RULE_DOG  Ivgi, Hinder & Carmon (2023): eta_t = rbar_t / sqrt(G_t), rbar_0 =
 *     reps_rel (1 + ||x_0||), rbar_t = max(rbar_{t-1}, ||x_t - x_0||), G_t = eps +
 *     sum_{i <= t} ||g_i||^2 (as the authors' dog-optimizer 1.0.3).
 * LRC_RULE_DADAPT_SGD  Defazio & Mishchenko (2023), as the authors' dadaptation 3.2
 *     DAdaptSGD: dlr = d lr / ||g_0||; num += dlr <g, s>; s += dlr g; d = max(d, min(2 num
 *     / ||s||, d growth_rate)); x <- momentum x + (1 - momentum)(x_0 - s).  The rate
 *     reported is dlr.
 * LRC_RULE_PRODIGY  Mishchenko & Defazio (2024), as the authors' prodigyopt 1.1.2 (one
 *     parameter group, slice_p = 1, decoupled weight decay): Adam-style moments scaled by
 *     the distance estimate d; the rate reported is dlr = d lr (bias_correction).
 * LRC_RULE_SCHEDULE_FREE  Defazio et al. (2024), as the authors' schedulefree 1.4.1
 *     SGDScheduleFree: y <- (1 - c) y + c z; y <- y + lr (beta (1 - c) - 1) g; z <- z -
 *     lr g, with c = w_t / sum w, w_t = (t+1)^r lr_max^weight_lr_power and a linear warmup
 *     over warmup_steps; x (the iterate handed to the objective) is y.
 * LRC_RULE_CURVATURE  eta = scale / lambda_max(H(x_k)) (scale = c * 2 for gd: the
 *     largest stable rate of the local quadratic model, times c), lambda_max measured by
 *     thick-restart Lanczos (lrc_eig, warm-started from the last eigenvector, v0_mix,
 *     seed) through LRC_REQ_HVP at step 0, every `every` steps (0: never again), and after
 *     a step that raised the gradient norm (gd only: on the local quadratic model a gd
 *     step below the edge never does); the measurement's event is
 *     LRC_EVENT_MEASURED.  If lambda_max <= 0 the rate is max_lr (LRC_EVENT_NO_CURVATURE)
 *     or, when max_lr is infinite, the previous rate -- none at step 0: the run stops
 *     (LRC_STOP_NO_CURVATURE).  Works with gd, heavy ball and Nesterov.  Descend only.
 * ARMIJO, POLYAK, BB, ADGD, DOG and the three iterate-changing rules need method gd.
 */
#define LRC_RULE_NONE 0
#define LRC_RULE_ARMIJO 1
#define LRC_RULE_POLYAK 2
#define LRC_RULE_BB 3
#define LRC_RULE_ADGD 4
#define LRC_RULE_DOG 5
#define LRC_RULE_DADAPT_SGD 6
#define LRC_RULE_PRODIGY 7
#define LRC_RULE_SCHEDULE_FREE 8
#define LRC_RULE_CURVATURE 9

/* flags */
#define LRC_RULE_BACKTRACK 1        /* BB: fall back to backtracking (else last rate)     */
#define LRC_RULE_BIAS_CORRECTION 2  /* Prodigy: use_bias_correction                       */
#define LRC_RULE_SAFEGUARD_WARMUP 4 /* Prodigy: safeguard_warmup                          */

/* per-step events (lrc_rule_state.event, lrc_descend_trace.events) */
#define LRC_EVENT_NONE 0
#define LRC_EVENT_FALLBACK_LAST 1      /* BB: s'y <= 0 (or step 0): the last accepted rate */
#define LRC_EVENT_FALLBACK_BACKTRACK 2 /* BB: s'y <= 0 (or step 0): a backtracking step    */
#define LRC_EVENT_CLAMPED 3            /* the rate was clamped to its bounds               */
#define LRC_EVENT_MEASURED 4           /* curvature: lambda_max measured at this step      */
#define LRC_EVENT_NO_CURVATURE 5       /* curvature: lambda_max <= 0, fallback rate        */
#define LRC_EVENT_NO_STEP 6            /* the rule left x unchanged (a zero search space)  */

typedef struct {
    int kind;               /* LRC_RULE_*                                               */
    int variant;            /* BB: 1 or 2; AdGD: 2020 or 2023                            */
    int flags;              /* LRC_RULE_BACKTRACK | LRC_RULE_BIAS_CORRECTION | ...       */
    int ncv;                /* curvature: Lanczos basis size (1 .. LRC_EIG_MAX_NCV)      */
    int64_t max_backtracks; /* Armijo, BB                                               */
    int64_t memory;         /* Armijo: nonmonotone memory M (0 or 1: monotone)          */
    int64_t every;          /* curvature: measure every this many steps (0: only at 0)  */
    int64_t warmup_steps;   /* schedule-free                                            */
    int64_t maxmv;          /* curvature: mat-vecs per measurement                      */
    uint64_t seed;          /* curvature: random start of the Lanczos solves            */
    double lr;     /* Armijo, BB: first rate; AdGD: lambda_0; D-Adapt, Prodigy, SF: lr     */
    double c, shrink, grow;         /* Armijo (BB's backtracking too)                      */
    double min_lr, max_lr;          /* bounds of the rate (BB, Armijo, Polyak, curvature)  */
    double f_star;                  /* Polyak                                             */
    double reps_rel, eps;           /* DoG (eps: also Prodigy's)                          */
    double d0, d_coef, growth_rate; /* D-Adaptation, Prodigy                              */
    double beta1, beta2, beta3;     /* Prodigy (beta3 <= 0: sqrt(beta2))                  */
    double momentum;                /* D-Adaptation momentum; schedule-free beta          */
    double weight_decay;            /* Prodigy (decoupled), schedule-free (coupled)       */
    double r, weight_lr_power;      /* schedule-free                                      */
    double scale;                   /* curvature: rate = scale / lambda_max               */
    double tol, v0_mix;             /* curvature: Lanczos tolerance and warm-start mix    */
} lrc_rule;

typedef struct lrc_rule_state {
    /* ---- results of the last step (read only) ---- */
    double lr;        /* rate of the last step (NaN before the first)                   */
    double lambda;    /* curvature: lambda_max in use (NaN before the first measurement) */
    int event;        /* LRC_EVENT_* of the last step                                    */
    int64_t t;        /* steps taken                                                     */
    /* ---- parameters ---- */
    lrc_rule rule;
    ptrdiff_t n;
    /* ---- private ---- */
    double prev_lr, theta, gsum, rbar, d, d_max, numerator, g0norm, weight_sum, lr_max;
    double trial_lr, trial_ref, trial_gg; /* trial_gg: curvature: the products' scale */
    int64_t backtracks, n_measure, nfhist, last_measure;
    int have_vec, in_trial;
    double *x_prev, *g_prev, *x0, *s, *m, *v, *fhist, *evec, *ework;
    size_t lework;
    lrc_eig eig;
} lrc_rule_state;

/* LRC_OK if every parameter of the rule is in range, else LRC_EINVAL. */
int lrc_rule_check(const lrc_rule *r);
/* Doubles of workspace for a rule on n parameters (n >= 1). */
int lrc_rule_workspace_size(const lrc_rule *r, ptrdiff_t n, size_t *size);
/* Set up a rule's state from the starting point x0 (read, not kept).  work must stay
 * valid while the state is used.  LRC_EINVAL on bad arguments (nothing written). */
int lrc_rule_init(lrc_rule_state *st, const lrc_rule *r, ptrdiff_t n, const double *x0,
                  double *work, size_t lwork);
/* One step of a rule that needs only the iterate, the gradient and the loss (Polyak,
 * BB without backtracking, AdGD, DoG, D-Adaptation SGD, Prodigy, schedule-free): x
 * (the iterate at which g and f were computed) is updated in place, st->lr and
 * st->event describe the step.  f is read by Polyak only.  Returns LRC_OK, LRC_EINVAL
 * (a rule that needs the descend machine), or LRC_NONFINITE (Polyak given a non-finite
 * f, or a non-finite gradient: nothing written).  Single-threaded, no allocation.       */
int lrc_rule_step(lrc_rule_state *st, double *x, const double *g, double f);

/* Per-record traces of a run (entry j describes iterate/step k = j * record_every; each
 * array has steps / record_every + 1 entries, or is NULL): the rate of step k (NaN when
 * no step was taken from x_k), lambda_max in use (curvature; NaN otherwise), the number
 * of function evaluations (LRC_REQ_VALUE_GRAD and LRC_REQ_VALUE) and of Hessian-vector
 * products requested up to and including the evaluation of x_k, and step k's event.   */
typedef struct {
    double *rates, *lambdas;
    int64_t *n_evals, *n_hvps;
    int32_t *events;
} lrc_descend_trace;

typedef struct lrc_descend {
    /* ---- the request: valid while lrc_descend_iterate returns a request ---- */
    const double *x;   /* evaluate at this point (n doubles; do not modify them) ...    */
    double *g;         /* ... store grad f(x) here (n doubles) (LRC_REQ_VALUE_GRAD) ... */
    double f;          /* ... f(x) here (LRC_REQ_VALUE_GRAD, LRC_REQ_VALUE) ...         */
    int status;        /* ... and LRC_OK / LRC_NONFINITE / a failure code here          */
    const double *v;   /* LRC_REQ_HVP: the direction (n doubles; do not modify) ...     */
    double *hv;        /* ... H(x) v here (n doubles)                                   */
    /* ---- progress and results ---- */
    int64_t steps_run; /* optimizer steps taken                                         */
    int64_t n_evals;   /* function evaluations requested so far (value_grad + value)    */
    int64_t n_grads;   /* of which with a gradient (LRC_REQ_VALUE_GRAD)                 */
    int64_t n_hvps;    /* Hessian-vector products requested so far                      */
    double loss;       /* f at the last evaluated iterate (NaN before the first)        */
    double gnorm;      /* ||grad f|| there                                              */
    int outcome;       /* LRC_RUN_*, valid after lrc_descend_iterate returned LRC_OK   */
    int reason;        /* LRC_STOP_*                                                    */
    /* ---- parameters (set by lrc_descend_init / lrc_descend_set_rule) ---- */
    ptrdiff_t n;
    int64_t steps;
    lrc_run_opts opts;
    double *xk;
    const double *lrs;
    double *losses, *gnorms;
    lrc_rule_state *rule;
    lrc_descend_trace trace;
    /* ---- private ---- */
    int stage, final_status;
    int64_t k;
    double f0, fprev, gprev;
    double *buf, *m, *v_;
} lrc_descend;

/* Doubles of workspace for n parameters: n (gd), 2n (heavy ball, Nesterov), 3n (Adam). */
int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size);
/* Set up a run from x (n doubles, updated in place: it holds the iterate).  lrs has
 * `steps` entries (with a rule it is not read and may point to a single double), losses
 * and gnorms steps / opts->record_every + 1 (or NULL); all are the caller's and must stay
 * valid (and x, lrs, work unaliased) until the run ends.  Returns LRC_OK or LRC_EINVAL
 * (NULL pointers, n < 0, steps < 0, record_every < 1, an unknown method, lwork too
 * small).  Nothing is written before the checks pass.                                  */
int lrc_descend_init(lrc_descend *s, double *x, ptrdiff_t n, const double *lrs,
                     int64_t steps, const lrc_run_opts *opts, double *work, size_t lwork,
                     double *losses, double *gnorms);
/* Optional, between lrc_descend_init and the first lrc_descend_iterate: run with the
 * rule whose state `rule` was set up by lrc_rule_init from this run's x (or NULL: the
 * rates lrs), and record the traces `trace` (or NULL).  LRC_EINVAL when called later,
 * for a rule of another size, or a rule the method does not take (see above).         */
int lrc_descend_set_rule(lrc_descend *s, lrc_rule_state *rule, const lrc_descend_trace *trace);
/* Returns a request (LRC_REQ_VALUE_GRAD, LRC_REQ_VALUE, LRC_REQ_HVP: answer it, call
 * again) or a final status. */
int lrc_descend_iterate(lrc_descend *s);
/* (end section: descend) */

/* ------------------------------------------------------------------------------------ */
/* problems.c -- built-in objectives and their descend driver                            */
/* ------------------------------------------------------------------------------------ */
/* (section: problems) */
/* Fortran BLAS entry points (column-major), supplied by the caller -- the binding passes
 * scipy.linalg.cython_blas's -- so the C core never links a BLAS of its own.            */
typedef void (*lrc_dgemv_fn)(char *trans, int *m, int *n, double *alpha, double *a, int *lda,
                             double *x, int *incx, double *beta, double *y, int *incy);
typedef void (*lrc_dsymv_fn)(char *uplo, int *n, double *alpha, double *a, int *lda,
                             double *x, int *incx, double *beta, double *y, int *incy);
typedef void (*lrc_dgemm_fn)(char *transa, char *transb, int *m, int *n, int *k,
                             double *alpha, double *a, int *lda, double *b, int *ldb,
                             double *beta, double *c, int *ldc);
typedef struct {
    lrc_dgemv_fn dgemv;
    lrc_dsymv_fn dsymv;
    lrc_dgemm_fn dgemm;    /* dense softmax problems only (may be NULL otherwise)      */
} lrc_blas;

#define LRC_PROBLEM_QUADRATIC 0     /* f = x'Ax/2 - b'x                                    */
#define LRC_PROBLEM_LEAST_SQUARES 1 /* f = ||Xw - y||^2/(2n) + l2 ||w||^2/2                */
#define LRC_PROBLEM_LOGISTIC 2      /* f = mean(log(1 + e^z) - y z) + l2 ||w||^2/2, z = Xw  */
#define LRC_PROBLEM_SOFTMAX 3       /* f = mean(log sum_k e^{z_ik} - z_{i,y_i})
                                     *     + l2 ||W||^2/2,  Z = X W,  labels y_i in 0..K-1  */

/* How the design matrix X of least squares, logistic and softmax problems is stored. */
#define LRC_DESIGN_DENSE 0 /* X: n_samples x n_features, row-major                          */
#define LRC_DESIGN_CSR32 1 /* CSR: indptr, indices int32_t; data double                     */
#define LRC_DESIGN_CSR64 2 /* CSR: indptr, indices int64_t; data double                     */

/* A built-in objective.  Arrays are float64 and owned by the caller; `work` must hold
 * lrc_problem_workspace_size() doubles (for a quadratic, dim doubles used only by
 * lrc_problem_value, which also accepts work == NULL there, at about half the speed).
 * Not shared between threads while in use (work);
 * copy the struct and give each copy its own work to share the data.
 *
 * n_features is dim for least squares and logistic regression, dim / n_classes for the
 * softmax, whose parameters are the n_features x n_classes matrix W stored row-major
 * (W[j][k] at w[j * n_classes + k]: the K weights of feature j are contiguous).
 *
 * CSR (design LRC_DESIGN_CSR32/64): row i of X holds data[k] in column indices[k] for
 * k in [indptr[i], indptr[i+1]); indptr has n_samples + 1 entries, indptr[0] == 0 and
 * never decreases; every index lies in [0, n_features) (not checked here: the binding
 * checks them once); indices may come in any order within a row, explicit zeros are
 * harmless and duplicates add.  Every operation reads X once.  With nthreads != 1 (0:
 * the OpenMP default of the calling thread when the function runs -- the same value
 * lrc_problem_workspace_size reads) rows are split across threads by stored entries
 * once the data are large enough (LRC_OMP_MIN_N entries, and many more entries than
 * parameters); each extra thread accumulates into its own slice of `work`, and the
 * slices are added in thread order, so results depend on the thread count but are
 * reproducible for a given one.  Dense designs use the caller's BLAS (dgemv; for the
 * softmax dgemm when n_features * n_classes > 32768, a row-by-row C loop below) and
 * ignore nthreads.                                                                    */
typedef struct {
    int kind;
    ptrdiff_t n_samples;   /* rows of X (unused for quadratics)                           */
    ptrdiff_t dim;         /* number of parameters                                        */
    const double *A;       /* quadratic: dim x dim symmetric, row-major (full matrix)       */
    const double *b;       /* quadratic: linear term, or NULL for 0                       */
    const double *X;       /* dense design: n_samples x n_features, row-major             */
    const double *y;       /* n_samples targets (logistic: 0/1; softmax: 0..n_classes-1)  */
    double l2;
    double *work;
    lrc_blas blas;
    int design;            /* LRC_DESIGN_* (0, dense, when the struct is zeroed)           */
    const void *indptr;    /* CSR: int32_t or int64_t as `design` says                    */
    const void *indices;
    const double *data;
    ptrdiff_t n_classes;   /* softmax: K >= 2, dim = n_features * K (unused otherwise)    */
    int nthreads;          /* CSR: 1 serial, k > 1 at most k threads, 0 OpenMP default     */
} lrc_problem;

/* Evaluation status (in *status or returned): LRC_OK; LRC_NONFINITE when the result
 * holds NaN or Inf (the result is fully written: f, and g or out, are returned as
 * computed; this is how an overflowing objective reports itself, not an error); or
 * LRC_EINVAL for an invalid problem, a NULL pointer or a softmax label outside
 * [0, n_classes) (nothing meaningful written, NaN returned).                          */
int lrc_problem_workspace_size(const lrc_problem *p, size_t *size);
/* f(w) and g = grad f(w); LRC_NONFINITE when f or any g_i is NaN/Inf.                   */
double lrc_problem_value_grad(const lrc_problem *p, const double *w, double *g, int *status);
/* f(w) only; LRC_NONFINITE when f is NaN/Inf. */
double lrc_problem_value(const lrc_problem *p, const double *w, int *status);
/* out = (Hessian of f at w) v; LRC_NONFINITE when some out_i is NaN/Inf. */
int lrc_problem_hvp(const lrc_problem *p, const double *w, const double *v, double *out);
/* out = X^T X v / n_samples for v, out of n_features doubles (least squares, logistic,
 * softmax): the Gram operator whose largest eigenvalue gives their smoothness constants
 * (times 1, 1/4, 1/2, plus l2).  LRC_NONFINITE when some out_i is NaN/Inf.            */
int lrc_problem_gram(const lrc_problem *p, const double *v, double *out);

/* Drive a descend machine (after lrc_descend_init, with s->n == p->dim) with the
 * problem's value and gradient.  Returns the machine's final status, or LRC_PAUSED once
 * `max_seconds` of wall time have passed (max_seconds <= 0: no limit): the run is intact
 * between two evaluations; call again to continue.  The clock is read about once a
 * millisecond (every evaluation for slow objectives, every few thousand for fast ones),
 * so a pause comes within max_seconds plus about a millisecond or one evaluation.     */
int lrc_problem_descend(const lrc_problem *p, lrc_descend *s, double max_seconds);
/* (end section: problems) */

#ifdef __cplusplus
}
#endif

#endif /* LRCORE_H */
