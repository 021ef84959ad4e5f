/* descend.c -- the optimizer loop (gd / heavy ball / Nesterov / Adam) as a
 * reverse-communication machine: it asks its caller for f and grad f at the iterate, so a
 * C objective (problems.c), a Python function or a user's Cython code drive the same loop,
 * with a per-step learning rate (a schedule's values), early stops on convergence or
 * divergence, and strided recording of the loss and gradient norm.  See lrcore.h.     */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* doubles per parameter: gradient (+ momentum buffer, or Adam's m and v); 0 if unknown */
static ptrdiff_t per_param(int method)
{
    switch (method) {
    case LRC_METHOD_GD: return 1;
    case LRC_METHOD_HEAVY_BALL:
    case LRC_METHOD_NESTEROV: return 2;
    case LRC_METHOD_ADAM: return 3;
    default: return 0;
    }
}

int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size)
{
    const ptrdiff_t k = per_param(method);
    if (size == NULL || n < 0 || k == 0 || n > PTRDIFF_MAX / 3) return LRC_EINVAL;
    *size = (size_t)(k * n);
    return LRC_OK;
}

static double norm2(const double *g, ptrdiff_t n)
{
    /* sum of squares with two accumulators; scaled by an exact power of two when the
     * entries are so large or so small (subnormal) that their squares would overflow or
     * underflow */
    double amax = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        double a = fabs(g[i]);
        if (!(a <= amax)) amax = a; /* also propagates NaN */
    }
    if (amax == 0.0 || !isfinite(amax)) return amax;
    double scale = 1.0, unscale = 1.0;
    if (amax > 0x1p+500) {
        scale = 0x1p-600;
        unscale = 0x1p+600;
    } else if (amax < 0x1p-500) {
        scale = 0x1p+600;
        unscale = 0x1p-600;
    }
    double s0 = 0.0, s1 = 0.0;
    ptrdiff_t i = 0;
    for (; i + 1 < n; i += 2) {
        double a = g[i] * scale, b = g[i + 1] * scale;
        s0 += a * a;
        s1 += b * b;
    }
    if (i < n) {
        double a = g[i] * scale;
        s0 += a * a;
    }
    return sqrt(s0 + s1) * unscale;
}

enum { ST_START = 1, ST_EVAL, ST_DONE };

int lrc_descend_init(lrc_descend *s, double *x, ptrdiff_t n, const double *lrs,
                     int64_t steps, const lrc_run_opts *opts, double *work, size_t lwork,
                     double *losses, double *gnorms)
{
    if (s == NULL || opts == NULL) return LRC_EINVAL;
    size_t need;
    if (lrc_descend_workspace_size(n, opts->method, &need) != LRC_OK || steps < 0 ||
        opts->record_every < 1 || lwork < need || (n > 0 && (x == NULL || work == NULL)) ||
        (steps > 0 && lrs == NULL))
        return LRC_EINVAL;
    const ptrdiff_t n_ = n;
    memset(s, 0, sizeof(*s));
    s->n = n_;
    s->steps = steps;
    s->opts = *opts;
    s->xk = x;
    s->lrs = lrs;
    s->losses = losses;
    s->gnorms = gnorms;
    s->g = work;
    s->buf = s->m = work + n_; /* momentum buffer, or Adam's m (and v after it) */
    s->v = work + 2 * n_;
    s->x = x;
    s->f = s->loss = s->gnorm = NAN;
    s->status = LRC_OK;
    s->outcome = LRC_RUN_COMPLETED;
    const int64_t nrec = steps / opts->record_every + 1;
    for (int64_t j = 0; j < nrec; j++) {
        if (losses != NULL) losses[j] = NAN;
        if (gnorms != NULL) gnorms[j] = NAN;
    }
    const ptrdiff_t nbuf = (per_param(opts->method) - 1) * n_;
    for (ptrdiff_t i = 0; i < nbuf; i++) s->buf[i] = 0.0;
    s->stage = ST_START;
    return LRC_OK;
}

static int finish(lrc_descend *s, int status)
{
    s->stage = ST_DONE;
    s->final_status = status;
    return status;
}

static int request(lrc_descend *s)
{
    s->x = s->xk;
    s->f = NAN;
    s->status = LRC_OK;
    s->n_evals++;
    return LRC_REQ_VALUE_GRAD;
}

int lrc_descend_iterate(lrc_descend *s)
{
    if (s == NULL) return LRC_EINVAL;
    switch (s->stage) {
    case ST_START:
        s->stage = ST_EVAL;
        return request(s); /* f and g at x_0 */
    case ST_EVAL: break;
    case ST_DONE: return s->final_status;
    default: return LRC_EINVAL; /* not initialised */
    }
    /* the answer for iterate k is in s->f, s->g, s->status */
    const int64_t k = s->k, r = s->opts.record_every;
    const ptrdiff_t n = s->n;
    const int st = s->status;
    if (st != LRC_OK && st != LRC_NONFINITE) return finish(s, st);
    const double fk = s->f, gk = norm2(s->g, n);
    if (k == 0) s->f0 = fk;
    if (k % r == 0) {
        if (s->losses != NULL) s->losses[k / r] = fk;
        if (s->gnorms != NULL) s->gnorms[k / r] = gk;
    }
    s->loss = fk;
    s->gnorm = gk;
    const double f0 = s->f0, blowup = s->opts.blowup;
    if (st == LRC_NONFINITE || !isfinite(fk) || !isfinite(gk) ||
        (blowup > 0 && fk - f0 > blowup * fmax(fabs(f0), 1.0))) {
        s->outcome = LRC_RUN_DIVERGED;
        return finish(s, LRC_OK);
    }
    if (s->opts.tol > 0 && gk <= s->opts.tol) {
        s->outcome = LRC_RUN_CONVERGED;
        return finish(s, LRC_OK);
    }
    if (k == s->steps) return finish(s, LRC_OK); /* LRC_RUN_COMPLETED */
    const double lr = s->lrs[k];
    const int method = s->opts.method;
    double *x = s->xk;
    const double *g = s->g;
    int ust = LRC_OK;
    switch (method) {
    case LRC_METHOD_GD:
        ust = lrc_sgd_f64(x, g, n, lr, 0.0, 0, 0, 1);
        break;
    case LRC_METHOD_HEAVY_BALL:
    case LRC_METHOD_NESTEROV:
        ust = lrc_momentum_f64(x, g, s->buf, n, lr, s->opts.momentum, 0.0, 0.0,
                               method == LRC_METHOD_NESTEROV, 0, 0, 0, 1);
        break;
    case LRC_METHOD_ADAM:
        ust = lrc_adam_f64(x, g, s->m, s->v, NULL, n, k + 1, lr, s->opts.momentum,
                           s->opts.beta2, s->opts.eps, 0.0, 0, 0, 0, 0, 1);
        break;
    }
    if (ust != LRC_OK) return finish(s, ust);
    s->steps_run = k + 1;
    s->k = k + 1;
    return request(s);
}
