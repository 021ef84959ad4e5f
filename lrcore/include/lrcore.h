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
} lrc_eig;

/* Size of the workspace in doubles (LRC_EINVAL for n < 1, an unknown method, or ncv
 * outside [1, LRC_EIG_MAX_NCV] for Lanczos). */
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
 * with rate lrs[k] at step k, on ANY objective: the machine asks its caller for f and
 * grad f, exactly like the eigen-solver asks for mat-vecs.  A C objective, a Python
 * function or a user's Cython code all drive the same loop:
 *
 *     lrc_descend s;
 *     size_t lwork;
 *     lrc_descend_workspace_size(n, opts.method, &lwork);     // check the status
 *     double *work = malloc(lwork * sizeof(double));
 *     int st = lrc_descend_init(&s, x, n, lrs, steps, &opts, work, lwork, losses, gnorms);
 *     while (st == LRC_OK && (st = lrc_descend_iterate(&s)) == LRC_REQ_VALUE_GRAD)
 *         s.f = my_value_grad(s.x, s.g, &s.status);   // f(x) -> s.f, grad f(x) -> s.g
 *     // st is LRC_OK (s.outcome, s.steps_run, s.loss, s.gnorm describe the run), or the
 *     // failure status the objective stored in s.status, or LRC_EINVAL
 *
 * The request (LRC_REQ_VALUE_GRAD): evaluate the objective at s->x (n doubles; do not
 * modify them), store f(x) in s->f and the whole gradient in s->g (n doubles), and a
 * status in s->status (preset to LRC_OK, s->f to NaN): LRC_OK, or LRC_NONFINITE when f
 * or the gradient is NaN/Inf (the run then stops as diverged, like a NaN value does), or
 * any other non-zero code when the objective failed: lrc_descend_iterate then returns
 * that code and the run ends (nothing is recorded for that iterate).
 *
 * Iteration k = 0, 1, ..., steps evaluates iterate x_k, then:
 *   - records f and ||g|| at losses[k / r], gnorms[k / r] when k % r == 0 (r =
 *     record_every; both arrays have steps / r + 1 entries, NaN where nothing was
 *     recorded; either may be NULL to record nothing);
 *   - stops as LRC_RUN_DIVERGED if f or ||g|| is not finite or f - f(x_0) > blowup *
 *     max(|f(x_0)|, 1) (blowup > 0; 0 turns the bound off);
 *   - stops as LRC_RUN_CONVERGED if tol > 0 and ||g|| <= tol;
 *   - stops as LRC_RUN_COMPLETED if k == steps;
 *   - otherwise takes one step with rate lrs[k] through the update kernels (lrc_sgd_f64,
 *     lrc_momentum_f64, lrc_adam_f64 with step count k + 1; on one thread).
 * ||g|| is the Euclidean norm, computed with scaling so that it neither overflows nor
 * underflows for representable results.
 *
 * No allocation; the state lives in `s` and `work` and may be abandoned at any request
 * (it holds no resources).  Reentrant: one state per run.  After a final status further
 * calls to lrc_descend_iterate return the same status.
 */
#define LRC_METHOD_GD 0         /* x <- x - lr g                                         */
#define LRC_METHOD_HEAVY_BALL 1 /* b <- beta b + g;  x <- x - lr b        (Polyak 1964)   */
#define LRC_METHOD_NESTEROV 2   /* b <- beta b + g;  x <- x - lr (g + beta b)  (Sutskever) */
#define LRC_METHOD_ADAM 3       /* Adam (lrc_adam_f64), beta1 = momentum                  */

#define LRC_RUN_COMPLETED 0     /* every step was taken                                  */
#define LRC_RUN_CONVERGED 1     /* ||g|| <= tol stopped the run                           */
#define LRC_RUN_DIVERGED 2      /* non-finite loss/gradient, or loss above the blow-up bound */

typedef struct {
    int method;             /* LRC_METHOD_*                                             */
    double momentum;        /* heavy ball / Nesterov beta, or Adam's beta1              */
    double beta2, eps;      /* Adam                                                     */
    double tol;             /* stop when ||grad|| <= tol (0: never)                     */
    double blowup;          /* diverged when f(x) - f(x0) > blowup * max(|f(x0)|, 1)    */
    int64_t record_every;   /* record loss and ||grad|| every this many steps (>= 1)    */
} lrc_run_opts;

typedef struct lrc_descend {
    /* ---- the request: valid while lrc_descend_iterate returns LRC_REQ_VALUE_GRAD ---- */
    const double *x;   /* evaluate at this point (n doubles; do not modify them) ...    */
    double *g;         /* ... store grad f(x) here (n doubles) ...                      */
    double f;          /* ... f(x) here ...                                             */
    int status;        /* ... and LRC_OK / LRC_NONFINITE / a failure code here          */
    /* ---- progress and results ---- */
    int64_t steps_run; /* optimizer steps taken                                         */
    int64_t n_evals;   /* evaluations requested so far                                  */
    double loss;       /* f at the last evaluated iterate (NaN before the first)        */
    double gnorm;      /* ||grad f|| there                                              */
    int outcome;       /* LRC_RUN_*, valid after lrc_descend_iterate returned LRC_OK   */
    /* ---- parameters (set by lrc_descend_init) ---- */
    ptrdiff_t n;
    int64_t steps;
    lrc_run_opts opts;
    double *xk;
    const double *lrs;
    double *losses, *gnorms;
    /* ---- private ---- */
    int stage, final_status;
    int64_t k;
    double f0;
    double *buf, *m, *v;
} lrc_descend;

/* Doubles of workspace for n parameters: n (gd), 2n (heavy ball, Nesterov), 3n (Adam). */
int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size);
/* Set up a run from x (n doubles, updated in place: it holds the iterate).  lrs has
 * `steps` entries, losses and gnorms steps / opts->record_every + 1 (or NULL); all are
 * the caller's and must stay valid (and x, lrs, work unaliased) until the run ends.
 * Returns LRC_OK or LRC_EINVAL (NULL pointers, n < 0, steps < 0, record_every < 1, an
 * unknown method, lwork too small).  Nothing is written before the checks pass.       */
int lrc_descend_init(lrc_descend *s, double *x, ptrdiff_t n, const double *lrs,
                     int64_t steps, const lrc_run_opts *opts, double *work, size_t lwork,
                     double *losses, double *gnorms);
/* Returns LRC_REQ_VALUE_GRAD (answer it, call again) or a final status. */
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
 * lrc_problem_workspace_size() doubles.  Not shared between threads while in use (work);
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
