/* problems.c -- built-in objectives (quadratic, least squares, logistic and softmax
 * regression): value, gradient, Hessian-vector product and the Gram product X^T X v / n.
 * Dense products go through the caller's BLAS (lrc_blas); the element-wise parts
 * (residuals, the stable log-loss, the softmax and their derivatives) are fused into one
 * pass over the samples.  CSR design matrices (problems_csr.inc) are read once per
 * operation, rows gathered and scattered in the same pass, optionally on several threads. */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { OP_VALUE = 0, OP_VALUE_GRAD = 1, OP_HVP = 2, OP_GRAM = 3 };

/* CSR kernels on several threads add the threads' partial results with the team (after
 * a barrier) from this many parameters on, and after the team below */
#define PARALLEL_REDUCE_MIN 65536

static int is_linear_model(int kind)
{
    return kind == LRC_PROBLEM_LEAST_SQUARES || kind == LRC_PROBLEM_LOGISTIC ||
           kind == LRC_PROBLEM_SOFTMAX;
}

static ptrdiff_t n_classes(const lrc_problem *p)
{
    return p->kind == LRC_PROBLEM_SOFTMAX ? p->n_classes : 1;
}

static ptrdiff_t n_features(const lrc_problem *p)
{
    return p->kind == LRC_PROBLEM_SOFTMAX ? p->dim / p->n_classes : p->dim;
}

/* the threads the workspace is sized for (nthreads 0: the OpenMP default of the calling
 * thread, read by lrc_problem_workspace_size and by the kernels alike) */
static int max_threads(const lrc_problem *p)
{
    if (p->design == LRC_DESIGN_DENSE || p->nthreads == 1) return 1;
    const int t = p->nthreads > 0 ? p->nthreads : lrc_omp_max_threads();
    return t < 1 ? 1 : t;
}

/* a * b doubles, or SIZE_MAX when that overflows (the size check then fails) */
static size_t mul_size(size_t a, size_t b)
{
    return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

static size_t add_size(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Dense softmax problems with at most this many weights (d K) are evaluated row by row
 * in C (the transposed weights stay in L2 across rows); larger ones through dgemm. */
#define SOFTMAX_ROWWISE_MAX 32768

static int softmax_rowwise(const lrc_problem *p)
{
    return p->dim <= SOFTMAX_ROWWISE_MAX;
}

int lrc_problem_workspace_size(const lrc_problem *p, size_t *size)
{
    if (p == NULL || size == NULL) return LRC_EINVAL;
    if (p->kind == LRC_PROBLEM_QUADRATIC) {
        /* A w for a value without a gradient (optional: with work == NULL the value is
         * formed row by row, ~2x slower at d = 1000) */
        if (p->dim < 0 || (size_t)p->dim > (size_t)PTRDIFF_MAX / sizeof(double))
            return LRC_EINVAL;
        *size = (size_t)p->dim;
        return LRC_OK;
    }
    if (!is_linear_model(p->kind) || p->n_samples < 1 || p->dim < 0) return LRC_EINVAL;
    const ptrdiff_t K = n_classes(p);
    if (K < 1 || (p->kind == LRC_PROBLEM_SOFTMAX && (K < 2 || p->dim % K != 0)))
        return LRC_EINVAL;
    size_t s;
    if (p->design == LRC_DESIGN_DENSE) {
        /* residuals (n); the softmax: the transposed weights, direction and gradient and
         * a row's scratch (3 d K + 3 K, small weights), or the scores and directions
         * (2 n K, BLAS); and n for the Gram product */
        s = (size_t)p->n_samples;
        if (p->kind == LRC_PROBLEM_SOFTMAX) {
            const size_t sm = softmax_rowwise(p)
                                  ? add_size(mul_size(3 * (size_t)p->dim, 1), 3 * (size_t)K)
                                  : mul_size(2 * (size_t)p->n_samples, (size_t)K);
            if (sm > s) s = sm;
        }
    } else if (p->design == LRC_DESIGN_CSR32 || p->design == LRC_DESIGN_CSR64) {
        /* one gradient per extra thread, and per thread a loss slot and 3 K scratch */
        const size_t T = (size_t)max_threads(p);
        s = add_size(mul_size(T - 1, (size_t)p->dim), mul_size(T, 1 + 3 * (size_t)K));
    } else {
        return LRC_EINVAL;
    }
    if (s == SIZE_MAX || s > (size_t)PTRDIFF_MAX / sizeof(double)) return LRC_EINVAL;
    *size = s;
    return LRC_OK;
}

static int valid(const lrc_problem *p)
{
    if (p == NULL || p->dim < 0) return 0;
    if (p->kind == LRC_PROBLEM_QUADRATIC)
        return p->dim <= INT_MAX && (p->dim == 0 || (p->A != NULL && p->blas.dsymv != NULL));
    if (!is_linear_model(p->kind)) return 0;
    if (p->n_samples < 1 || p->y == NULL || p->work == NULL) return 0;
    const ptrdiff_t K = n_classes(p);
    if (p->kind == LRC_PROBLEM_SOFTMAX && (K < 2 || p->dim % K != 0)) return 0;
    const ptrdiff_t d = n_features(p);
    switch (p->design) {
    case LRC_DESIGN_DENSE:
        if (p->n_samples > INT_MAX || p->dim > INT_MAX || (d > 0 && p->X == NULL)) return 0;
        return p->blas.dgemv != NULL &&
               (p->kind != LRC_PROBLEM_SOFTMAX || p->blas.dgemm != NULL);
    case LRC_DESIGN_CSR32: {
        const int32_t *ip = (const int32_t *)p->indptr;
        if (ip == NULL || ip[0] != 0 || ip[p->n_samples] < 0) return 0;
        return ip[p->n_samples] == 0 || (p->indices != NULL && p->data != NULL);
    }
    case LRC_DESIGN_CSR64: {
        const int64_t *ip = (const int64_t *)p->indptr;
        if (ip == NULL || ip[0] != 0 || ip[p->n_samples] < 0) return 0;
        return ip[p->n_samples] == 0 || (p->indices != NULL && p->data != NULL);
    }
    default:
        return 0;
    }
}

/* z = X w  (X row-major n x d is column-major d x n: z = X_cm^T w) */
static void mul_X(const lrc_problem *p, const double *w, double *z)
{
    int d = (int)n_features(p), n = (int)p->n_samples, one = 1;
    double a = 1.0, b = 0.0;
    char t = 'T';
    if (d == 0) {
        for (int i = 0; i < n; i++) z[i] = 0.0;
        return;
    }
    p->blas.dgemv(&t, &d, &n, &a, (double *)p->X, &d, (double *)w, &one, &b, z, &one);
}

/* g = alpha X^T r + beta g */
static void mul_Xt(const lrc_problem *p, const double *r, double alpha, double beta, double *g)
{
    int d = (int)n_features(p), n = (int)p->n_samples, one = 1;
    char t = 'N';
    if (d == 0) return;
    p->blas.dgemv(&t, &d, &n, &alpha, (double *)p->X, &d, (double *)r, &one, &beta, g, &one);
}

/* Z = X W for the softmax: W is d x K row-major (column-major K x d), Z n x K row-major
 * (column-major K x n): Z_cm = W_cm X_cm */
static void mul_XW(const lrc_problem *p, const double *W, double *Z)
{
    int d = (int)n_features(p), n = (int)p->n_samples, K = (int)p->n_classes;
    double a = 1.0, b = 0.0;
    char nn = 'N';
    if (d == 0) {
        memset(Z, 0, (size_t)n * (size_t)K * sizeof(double));
        return;
    }
    p->blas.dgemm(&nn, &nn, &K, &n, &d, &a, (double *)W, &K, (double *)p->X, &d, &b, Z, &K);
}

/* G = alpha X^T R (d x K row-major = column-major K x d: G_cm = alpha R_cm X_cm^T) */
static void mul_XtR(const lrc_problem *p, const double *R, double alpha, double *G)
{
    int d = (int)n_features(p), n = (int)p->n_samples, K = (int)p->n_classes;
    double b = 0.0;
    char nn = 'N', tt = 'T';
    if (d == 0) return;
    p->blas.dgemm(&nn, &tt, &K, &d, &n, &alpha, (double *)R, &K, (double *)p->X, &d, &b, G, &K);
}

/* y = A x with A symmetric, row-major; its lower triangle is the column-major upper one */
static void mul_A(const lrc_problem *p, const double *x, double *y)
{
    if (p->dim <= 32) {
        /* tiny matrices: the call overhead of BLAS dominates; plain row dot products */
        const ptrdiff_t n = p->dim;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double *row = p->A + i * n;
            double s0 = 0.0, s1 = 0.0;
            ptrdiff_t j = 0;
            for (; j + 1 < n; j += 2) {
                s0 += row[j] * x[j];
                s1 += row[j + 1] * x[j + 1];
            }
            if (j < n) s0 += row[j] * x[j];
            y[i] = s0 + s1;
        }
        return;
    }
    int d = (int)p->dim, one = 1;
    double a = 1.0, b = 0.0;
    char u = 'U';
    if (d == 0) return;
    p->blas.dsymv(&u, &d, &a, (double *)p->A, &d, (double *)x, &one, &b, y, &one);
}

static double dot(const double *a, const double *b, ptrdiff_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    ptrdiff_t i = 0;
    for (; i + 3 < n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* 1 / (1 + e^-z) without overflow */
static inline double sigmoid(double z)
{
    const double e = exp(-fabs(z));
    return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* log(1 + x) for x >= 0 through log: Goldberg's formula (What Every Computer Scientist
 * Should Know About Floating-Point Arithmetic, 1991, Theorem 4): with u = fl(1 + x),
 * log(u) x / (u - 1) is within a few ulps of log1p(x) (glibc's log1p costs several times
 * its log). */
static inline double log1p_pos(double x)
{
    const double u = 1.0 + x;
    if (u == 1.0) return x;
    return log(u) * (x / (u - 1.0));
}

/* sum_i log(1 + e_i) for e_i in [0, 1] (the softplus terms of the log-loss) with one log
 * per L1P_BATCH terms: prod (1 + e_i) = 1 + q with q updated as q + e (1 + q) -- every
 * term non-negative, so no cancellation and q carries at most ~L1P_BATCH ulps of
 * relative error -- and log1p(q) at the end of each batch (the product stays below
 * 2^L1P_BATCH).  NaN propagates. */
#define L1P_BATCH 16
typedef struct {
    double q, sum;
    int k;
} l1p_acc;

static inline void l1p_add(l1p_acc *a, double e)
{
    a->q += e * (1.0 + a->q);
    if (++a->k == L1P_BATCH) {
        a->sum += log1p_pos(a->q);
        a->q = 0.0;
        a->k = 0;
    }
}

static inline double l1p_total(const l1p_acc *a)
{
    return a->sum + (a->k ? log1p_pos(a->q) : 0.0);
}

/* The softmax p of the K scores z (p may not alias z) and log sum_k e^{z_k}, both
 * shifted by max z so nothing overflows; NaN/Inf scores give NaN. */
static inline double softmax_row(const double *restrict z, double *restrict p, ptrdiff_t K)
{
    double m = z[0];
    for (ptrdiff_t c = 1; c < K; c++)
        if (z[c] > m) m = z[c];
    double s = 0.0;
    for (ptrdiff_t c = 0; c < K; c++) {
        const double e = exp(z[c] - m);
        p[c] = e;
        s += e;
    }
    const double inv = 1.0 / s;
    for (ptrdiff_t c = 0; c < K; c++) p[c] *= inv;
    return m + log(s);
}

#define I int32_t
#define ISFX i32
#include "problems_csr.inc"
#undef I
#undef ISFX
#define I int64_t
#define ISFX i64
#include "problems_csr.inc"
#undef I
#undef ISFX

static int csr_op(const lrc_problem *p, int op, const double *w, const double *v,
                  double *out, double *loss)
{
    return p->design == LRC_DESIGN_CSR32 ? csr_op_i32(p, op, w, v, out, loss)
                                         : csr_op_i64(p, op, w, v, out, loss);
}

static double loss_scale(const lrc_problem *p)
{
    return (p->kind == LRC_PROBLEM_LEAST_SQUARES ? 0.5 : 1.0) / (double)p->n_samples;
}

/* Dense softmax, small weights: one pass over the rows of X.  The weights (and the
 * direction) are transposed to K x d first, so every score is a contiguous dot product
 * of length d and every gradient update a contiguous axpy; the K x d gradient is
 * transposed back at the end.  (For such sizes a BLAS call costs more in thread start-up
 * than in arithmetic; the products are the same sums.)  Work: Wt, Vt, Gt (d K each) and
 * a row's scratch (3 K).  Returns the loss sum (value operations) or LRC_EINVAL in
 * *status for a label outside [0, K). */
static double softmax_dense_rows(const lrc_problem *p, int op, const double *w,
                                 const double *v, double *out, int *status)
{
    const ptrdiff_t n = p->n_samples, K = p->n_classes, d = n_features(p), dK = p->dim;
    double *restrict Wt = p->work, *restrict Vt = Wt + dK, *restrict Gt = Vt + dK;
    double *restrict z = Gt + dK, *restrict u = z + K, *restrict pr = u + K;
    const double *restrict X = p->X;
    const int grad = op == OP_VALUE_GRAD || op == OP_HVP;
    for (ptrdiff_t j = 0; j < d; j++)
        for (ptrdiff_t c = 0; c < K; c++) {
            Wt[c * d + j] = w[j * K + c];
            if (op == OP_HVP) Vt[c * d + j] = v[j * K + c];
        }
    if (grad) memset(Gt, 0, (size_t)dK * sizeof(double));
    double loss = 0.0;
    *status = LRC_OK;
    for (ptrdiff_t i = 0; i < n; i++) {
        const double *restrict x = X + i * d;
        for (ptrdiff_t c = 0; c < K; c++) {
            z[c] = dot(Wt + c * d, x, d);
            if (op == OP_HVP) u[c] = dot(Vt + c * d, x, d);
        }
        if (op == OP_HVP) {
            softmax_row(z, pr, K);
            double pu = 0.0;
            for (ptrdiff_t c = 0; c < K; c++) pu += pr[c] * u[c];
            for (ptrdiff_t c = 0; c < K; c++) u[c] = pr[c] * (u[c] - pu);
        } else {
            const double yi = p->y[i];
            if (!(yi >= 0.0 && yi < (double)K)) {
                *status = LRC_EINVAL;
                return NAN;
            }
            const ptrdiff_t cy = (ptrdiff_t)yi;
            loss += softmax_row(z, pr, K) - z[cy];
            if (!grad) continue;
            pr[cy] -= 1.0;
            for (ptrdiff_t c = 0; c < K; c++) u[c] = pr[c];
        }
        for (ptrdiff_t c = 0; c < K; c++) {
            const double a = u[c];
            double *restrict gr = Gt + c * d;
            for (ptrdiff_t j = 0; j < d; j++) gr[j] += a * x[j];
        }
    }
    if (grad) {
        const double s = 1.0 / (double)n;
        for (ptrdiff_t j = 0; j < d; j++)
            for (ptrdiff_t c = 0; c < K; c++) out[j * K + c] = Gt[c * d + j] * s;
    }
    return loss;
}

/* The data term of a linear model, dense X: f, and g (or NULL).  LRC_EINVAL for a
 * softmax label outside [0, K). */
static int dense_data_term(const lrc_problem *p, const double *w, double *g, double *f)
{
    const ptrdiff_t n = p->n_samples;
    const double *y = p->y;
    double loss = 0.0;
    if (p->kind == LRC_PROBLEM_SOFTMAX && softmax_rowwise(p)) {
        int st;
        loss = softmax_dense_rows(p, g != NULL ? OP_VALUE_GRAD : OP_VALUE, w, NULL, g, &st);
        if (st != LRC_OK) return st;
        *f = loss / (double)n;
        return LRC_OK;
    }
    if (p->kind == LRC_PROBLEM_SOFTMAX) {
        const ptrdiff_t K = p->n_classes;
        double *Z = p->work, *P = p->work + n * K;
        mul_XW(p, w, Z);
        int bad = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double *z = Z + i * K, *pr = P + i * K;
            const double yi = y[i];
            if (!(yi >= 0.0 && yi < (double)K)) {
                bad = 1;
                break;
            }
            const ptrdiff_t cy = (ptrdiff_t)yi;
            loss += softmax_row(z, pr, K) - z[cy];
            pr[cy] -= 1.0;
        }
        if (bad) return LRC_EINVAL;
        *f = loss / (double)n;
        if (g != NULL) mul_XtR(p, P, 1.0 / (double)n, g);
        return LRC_OK;
    }
    double *r = p->work;
    mul_X(p, w, r);
    if (p->kind == LRC_PROBLEM_LEAST_SQUARES) {
        for (ptrdiff_t i = 0; i < n; i++) {
            double e = r[i] - y[i];
            r[i] = e;
            loss += e * e;
        }
    } else {
        l1p_acc acc = {0.0, 0.0, 0};
        for (ptrdiff_t i = 0; i < n; i++) {
            /* one exp: e = exp(-|z|) gives both the stable softplus max(z, 0) + log1p(e)
             * (its log1p batched in acc) and the sigmoid 1/(1+e) or e/(1+e) */
            double z = r[i], e = exp(-fabs(z));
            double s = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            loss += (z > 0 ? z : 0.0) - y[i] * z;
            l1p_add(&acc, e);
            r[i] = s - y[i];
        }
        loss += l1p_total(&acc);
    }
    *f = loss * loss_scale(p);
    if (g != NULL) mul_Xt(p, r, 1.0 / (double)n, 0.0, g);
    return LRC_OK;
}

static double eval(const lrc_problem *p, const double *w, double *g, int *status)
{
    if (!valid(p) || w == NULL) {
        *status = LRC_EINVAL;
        return NAN;
    }
    const ptrdiff_t d = p->dim;
    double f;
    *status = LRC_OK;
    if (p->kind == LRC_PROBLEM_QUADRATIC) {
        /* f = w'Aw/2 - b'w, g = Aw - b; the product goes to g (or work-free via dsymv) */
        if (g != NULL) {
            mul_A(p, w, g);
            f = 0.5 * dot(w, g, d);
            if (p->b != NULL) {
                f -= dot(p->b, w, d);
                for (ptrdiff_t i = 0; i < d; i++) g[i] -= p->b[i];
            }
        } else if (p->work != NULL) {
            /* value only, with the workspace: the product through mul_A (dsymv reads one
             * triangle, blocked) */
            mul_A(p, w, p->work);
            f = 0.5 * dot(w, p->work, d) - (p->b != NULL ? dot(p->b, w, d) : 0.0);
        } else {
            /* value only without a workspace: evaluate the quadratic form row by row
             * over the lower triangle (half the matrix, as dsymv reads), each row's
             * product by dot()'s four accumulators (one accumulator would make it
             * latency-bound: 4x slower at d = 1000) */
            double s = 0.0;
            for (ptrdiff_t i = 0; i < d; i++) {
                const double *row = p->A + i * d;
                s += (0.5 * row[i] * w[i] + dot(row, w, i)) * w[i];
            }
            f = s - (p->b != NULL ? dot(p->b, w, d) : 0.0);
        }
    } else if (p->design == LRC_DESIGN_DENSE) {
        int st = dense_data_term(p, w, g, &f);
        if (st != LRC_OK) {
            *status = st;
            return NAN;
        }
    } else {
        double loss;
        int st = csr_op(p, g != NULL ? OP_VALUE_GRAD : OP_VALUE, w, NULL, g, &loss);
        if (st != LRC_OK) {
            *status = st;
            return NAN;
        }
        f = loss * loss_scale(p);
        if (g != NULL) {
            const double s = 1.0 / (double)p->n_samples;
            for (ptrdiff_t i = 0; i < d; i++) g[i] *= s;
        }
    }
    if (p->l2 != 0.0) {
        f += 0.5 * p->l2 * dot(w, w, d);
        if (g != NULL)
            for (ptrdiff_t i = 0; i < d; i++) g[i] += p->l2 * w[i];
    }
    /* LRC_NONFINITE reports a result that holds NaN/Inf (fully written, returned as is) */
    int finite = isfinite(f);
    if (g != NULL)
        for (ptrdiff_t i = 0; i < d && finite; i++) finite = isfinite(g[i]);
    if (!finite) *status = LRC_NONFINITE;
    return f;
}

double lrc_problem_value_grad(const lrc_problem *p, const double *w, double *g, int *status)
{
    if (g == NULL) {
        *status = LRC_EINVAL;
        return NAN;
    }
    return eval(p, w, g, status);
}

double lrc_problem_value(const lrc_problem *p, const double *w, int *status)
{
    return eval(p, w, NULL, status);
}

static int check_out(const double *out, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        if (!isfinite(out[i])) return LRC_NONFINITE;
    return LRC_OK;
}

int lrc_problem_hvp(const lrc_problem *p, const double *w, const double *v, double *out)
{
    if (!valid(p) || v == NULL || out == NULL ||
        ((p->kind == LRC_PROBLEM_LOGISTIC || p->kind == LRC_PROBLEM_SOFTMAX) && w == NULL))
        return LRC_EINVAL;
    const ptrdiff_t d = p->dim, n = p->n_samples;
    if (p->kind == LRC_PROBLEM_QUADRATIC) {
        mul_A(p, v, out);
    } else if (p->design != LRC_DESIGN_DENSE) {
        double unused;
        int st = csr_op(p, OP_HVP, w, v, out, &unused);
        if (st != LRC_OK) return st;
        const double s = 1.0 / (double)n;
        for (ptrdiff_t i = 0; i < d; i++) out[i] *= s;
    } else if (p->kind == LRC_PROBLEM_SOFTMAX && softmax_rowwise(p)) {
        int st;
        softmax_dense_rows(p, OP_HVP, w, v, out, &st);
        if (st != LRC_OK) return st;
    } else if (p->kind == LRC_PROBLEM_SOFTMAX) {
        /* H V = X^T Q / n, row i of Q = (diag(p_i) - p_i p_i^T) (V^T x_i) */
        const ptrdiff_t K = p->n_classes;
        double *Z = p->work, *U = p->work + n * K;
        mul_XW(p, w, Z);
        mul_XW(p, v, U);
        for (ptrdiff_t i = 0; i < n; i++) {
            double *z = Z + i * K, *u = U + i * K;
            /* the probabilities overwrite the scores (softmax_row needs two arrays:
             * compute in place through the max shift by hand) */
            double m = z[0];
            for (ptrdiff_t c = 1; c < K; c++)
                if (z[c] > m) m = z[c];
            double s = 0.0;
            for (ptrdiff_t c = 0; c < K; c++) {
                z[c] = exp(z[c] - m);
                s += z[c];
            }
            const double inv = 1.0 / s;
            double pu = 0.0;
            for (ptrdiff_t c = 0; c < K; c++) {
                z[c] *= inv;
                pu += z[c] * u[c];
            }
            for (ptrdiff_t c = 0; c < K; c++) u[c] = z[c] * (u[c] - pu);
        }
        mul_XtR(p, U, 1.0 / (double)n, out);
    } else {
        double *t = p->work;
        if (p->kind == LRC_PROBLEM_LOGISTIC) {
            /* H = X' diag(s(1-s)) X / n with s = sigmoid(Xw): form D X v in one pass */
            mul_X(p, w, t);
            double *u = t; /* reuse: t <- s(1-s), then overwritten by s(1-s) * (Xv) */
            for (ptrdiff_t i = 0; i < n; i++) {
                double s = sigmoid(t[i]);
                u[i] = s * (1.0 - s);
            }
            /* X v needs its own buffer: accumulate (Xv)_i row by row to keep one workspace */
            for (ptrdiff_t i = 0; i < n; i++) u[i] *= dot(p->X + i * d, v, d);
        } else {
            mul_X(p, v, t);
        }
        mul_Xt(p, t, 1.0 / (double)n, 0.0, out);
    }
    if (p->l2 != 0.0)
        for (ptrdiff_t i = 0; i < d; i++) out[i] += p->l2 * v[i];
    return check_out(out, d);
}

int lrc_problem_gram(const lrc_problem *p, const double *v, double *out)
{
    if (!valid(p) || p->kind == LRC_PROBLEM_QUADRATIC || v == NULL || out == NULL)
        return LRC_EINVAL;
    const ptrdiff_t d = n_features(p), n = p->n_samples;
    if (p->design == LRC_DESIGN_DENSE) {
        mul_X(p, v, p->work);
        if (d > 0) mul_Xt(p, p->work, 1.0 / (double)n, 0.0, out);
    } else {
        double unused;
        int st = csr_op(p, OP_GRAM, NULL, v, out, &unused);
        if (st != LRC_OK) return st;
        const double s = 1.0 / (double)n;
        for (ptrdiff_t i = 0; i < d; i++) out[i] *= s;
    }
    return check_out(out, d);
}

int lrc_problem_descend(const lrc_problem *p, lrc_descend *s, double max_seconds)
{
    if (p == NULL || s == NULL || s->n != p->dim) return LRC_EINVAL;
    lrci_pacer pc;
    lrci_pacer_start(&pc, max_seconds);
    for (;;) {
        const int st = lrc_descend_iterate(s);
        if (st != LRC_REQ_VALUE_GRAD) return st;
        s->f = lrc_problem_value_grad(p, s->x, s->g, &s->status);
        /* the answer is in place: the next call resumes with lrc_descend_iterate */
        if (lrci_pacer_due(&pc)) return LRC_PAUSED;
    }
}
