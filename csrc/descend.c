/* descend.c -- whole optimisation runs in C: K steps of gd / heavy ball / Nesterov / Adam
 * on any objective given as a value-and-gradient callback (the built-in problems of
 * problems.c provide one), with a per-step learning rate (a schedule's values), early stops
 * on convergence or divergence, and strided recording of the loss and gradient norm.   */
#include "internal.h"

#include <math.h>
#include <stdint.h>

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

int lrc_descend_f64(lrc_value_grad_fn f, void *ctx, double *x, ptrdiff_t n,
                    const double *lrs, int64_t steps, const lrc_run_opts *opts, double *work,
                    double *losses, double *gnorms, int64_t *steps_run, double *final_loss,
                    double *final_gnorm, int *outcome)
{
    if (f == NULL || opts == NULL || n < 0 || steps < 0 || opts->record_every < 1 ||
        (n > 0 && (x == NULL || work == NULL)) || (steps > 0 && lrs == NULL) ||
        losses == NULL || gnorms == NULL || steps_run == NULL || final_loss == NULL ||
        final_gnorm == NULL || outcome == NULL)
        return LRC_EINVAL;
    size_t need;
    if (lrc_descend_workspace_size(n, opts->method, &need) != LRC_OK) return LRC_EINVAL;
    const int method = opts->method;
    const int64_t r = opts->record_every;
    const int64_t nrec = steps / r + 1;
    double *g = work, *b = work + n, *m = work + n, *v = work + 2 * n;
    for (int64_t j = 0; j < nrec; j++) losses[j] = gnorms[j] = NAN;
    for (ptrdiff_t i = 0; i < (method == LRC_METHOD_ADAM ? 2 * n : method == LRC_METHOD_GD ? 0 : n);
         i++)
        b[i] = 0.0; /* momentum buffer, or Adam's m and v (contiguous) */
    *steps_run = 0;
    *outcome = LRC_RUN_COMPLETED;
    double f0 = 0.0, fk = NAN, gk = NAN;
    int st = LRC_OK;
    for (int64_t k = 0;; k++) {
        fk = f(ctx, x, g, &st);
        if (st != LRC_OK && st != LRC_NONFINITE) return st; /* non-finite: diverged below */
        st = LRC_OK;
        gk = norm2(g, n);
        if (k == 0) f0 = fk;
        if (k % r == 0) {
            losses[k / r] = fk;
            gnorms[k / r] = gk;
        }
        if (!isfinite(fk) || !isfinite(gk) ||
            (opts->blowup > 0 && fk - f0 > opts->blowup * fmax(fabs(f0), 1.0))) {
            *outcome = LRC_RUN_DIVERGED;
            break;
        }
        if (opts->tol > 0 && gk <= opts->tol) {
            *outcome = LRC_RUN_CONVERGED;
            break;
        }
        if (k == steps) break;
        const double lr = lrs[k];
        switch (method) {
        case LRC_METHOD_GD:
            st = lrc_sgd_f64(x, g, n, lr, 0.0, 0, 0, 1);
            break;
        case LRC_METHOD_HEAVY_BALL:
        case LRC_METHOD_NESTEROV:
            st = lrc_momentum_f64(x, g, b, n, lr, opts->momentum, 0.0, 0.0,
                                  method == LRC_METHOD_NESTEROV, 0, 0, 0, 1);
            break;
        case LRC_METHOD_ADAM:
            st = lrc_adam_f64(x, g, m, v, NULL, n, k + 1, lr, opts->momentum, opts->beta2,
                              opts->eps, 0.0, 0, 0, 0, 0, 1);
            break;
        }
        if (st != LRC_OK) return st;
        *steps_run = k + 1;
    }
    *final_loss = fk;
    *final_gnorm = gk;
    return LRC_OK;
}
