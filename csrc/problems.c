/* problems.c -- built-in objectives (quadratic, least squares, logistic regression):
 * value, gradient and Hessian-vector product.  Dense products go through the caller's
 * BLAS (lrc_blas); the element-wise parts (residuals, the stable log-loss and its
 * derivatives) are fused into one pass over the samples.                               */
#include "internal.h"

#include <limits.h>
#include <math.h>

int lrc_problem_workspace_size(const lrc_problem *p, size_t *size)
{
    if (p == NULL || size == NULL) return LRC_EINVAL;
    if (p->kind == LRC_PROBLEM_QUADRATIC) {
        *size = 0;
        return LRC_OK;
    }
    if ((p->kind != LRC_PROBLEM_LEAST_SQUARES && p->kind != LRC_PROBLEM_LOGISTIC) ||
        p->n_samples < 1)
        return LRC_EINVAL;
    *size = (size_t)p->n_samples;
    return LRC_OK;
}

static int valid(const lrc_problem *p)
{
    if (p == NULL || p->dim < 0 || p->dim > INT_MAX) return 0;
    if (p->kind == LRC_PROBLEM_QUADRATIC)
        return p->dim == 0 || (p->A != NULL && p->blas.dsymv != NULL);
    if (p->kind != LRC_PROBLEM_LEAST_SQUARES && p->kind != LRC_PROBLEM_LOGISTIC) return 0;
    return p->n_samples >= 1 && p->n_samples <= INT_MAX && p->blas.dgemv != NULL &&
           (p->dim == 0 || p->X != NULL) && p->y != NULL && p->work != NULL;
}

/* z = X w  (X row-major n x d is column-major d x n: z = X_cm^T w) */
static void mul_X(const lrc_problem *p, const double *w, double *z)
{
    int d = (int)p->dim, n = (int)p->n_samples, one = 1;
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
    int d = (int)p->dim, n = (int)p->n_samples, one = 1;
    char t = 'N';
    if (d == 0) return;
    p->blas.dgemv(&t, &d, &n, &alpha, (double *)p->X, &d, (double *)r, &one, &beta, g, &one);
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

/* log(1 + e^z) without overflow or cancellation */
static inline double sigmoid(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static double eval(const lrc_problem *p, const double *w, double *g, int *status)
{
    if (!valid(p) || w == NULL) {
        *status = LRC_EINVAL;
        return NAN;
    }
    const ptrdiff_t d = p->dim, n = p->n_samples;
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
        } else {
            /* value only: y = A w needs d doubles; evaluate the quadratic form row by row */
            double s = 0.0;
            for (ptrdiff_t i = 0; i < d; i++) {
                const double *row = p->A + i * d;
                double acc = 0.5 * row[i] * w[i];
                for (ptrdiff_t j = 0; j < i; j++) acc += row[j] * w[j];
                s += acc * w[i];
            }
            f = s - (p->b != NULL ? dot(p->b, w, d) : 0.0);
        }
    } else {
        double *r = p->work;
        mul_X(p, w, r);
        double loss = 0.0;
        const double *y = p->y;
        if (p->kind == LRC_PROBLEM_LEAST_SQUARES) {
            for (ptrdiff_t i = 0; i < n; i++) {
                double e = r[i] - y[i];
                r[i] = e;
                loss += e * e;
            }
            loss *= 0.5 / (double)n;
        } else {
            for (ptrdiff_t i = 0; i < n; i++) {
                /* one exp and one log1p: e = exp(-|z|) gives both the stable softplus
                 * max(z, 0) + log1p(e) and the sigmoid 1/(1+e) or e/(1+e) */
                double z = r[i], e = exp(-fabs(z));
                double sp = (z > 0 ? z : 0.0) + log1p(e);
                double s = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                loss += sp - y[i] * z;
                r[i] = s - y[i];
            }
            loss /= (double)n;
        }
        f = loss;
        if (g != NULL) mul_Xt(p, r, 1.0 / (double)n, 0.0, g);
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

int lrc_problem_hvp(const lrc_problem *p, const double *w, const double *v, double *out)
{
    if (!valid(p) || v == NULL || out == NULL || (p->kind == LRC_PROBLEM_LOGISTIC && w == NULL))
        return LRC_EINVAL;
    const ptrdiff_t d = p->dim, n = p->n_samples;
    if (p->kind == LRC_PROBLEM_QUADRATIC) {
        mul_A(p, v, out);
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
    for (ptrdiff_t i = 0; i < d; i++)
        if (!isfinite(out[i])) return LRC_NONFINITE;
    return LRC_OK;
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
