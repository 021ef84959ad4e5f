/* descend.c -- the optimizer loop (gd / heavy ball / Nesterov / Adam) as a
 * reverse-communication machine: it asks its caller for f and grad f at the iterate, so a
 * C objective (problems.c), a Python function or a user's Cython code drive the same loop,
 * with a per-step learning rate (a schedule's values) or a step-size rule that sets the
 * rate during the run (line searches, Polyak, Barzilai-Borwein, AdGD, DoG, D-Adaptation,
 * Prodigy, schedule-free, curvature tracking), early stops on convergence or divergence,
 * and strided recording of the loss, the gradient norm and the rule's choices.
 * See lrcore.h (section: descend) for the contract and the formulas.                   */
#include "internal.h"

#include <float.h>
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

/* ------------------------------------------------------------------------------------ */
/* step-size rules                                                                       */
/* ------------------------------------------------------------------------------------ */

/* the rules' reductions: plain sums (the rules' formulas, not the monitor's norm) */
static double dot_(const double *a, const double *b, ptrdiff_t n)
{
    double s = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ||g|| for a rule's formula: the plain sum's square root (bit for bit the reference
 * implementations') when that sum neither overflows nor underflows, else the scaled
 * norm2; *gg = the plain sum (inf or 0 in those cases) */
static double rule_norm_(const double *g, ptrdiff_t n, double *gg)
{
    const double s = dot_(g, g, n);
    *gg = s;
    return (isfinite(s) && s >= DBL_MIN) ? sqrt(s) : norm2(g, n);
}

static double dist2_(const double *a, const double *b, ptrdiff_t n)
{
    double s = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static int pos_(double v) { return isfinite(v) && v > 0.0; }          /* finite > 0      */
static int pos_inf_(double v) { return v > 0.0 && !isnan(v); }        /* > 0, inf allowed */
static int unit_(double v) { return v >= 0.0 && v < 1.0; }            /* [0, 1)           */
static int open_unit_(double v) { return v > 0.0 && v < 1.0; }        /* (0, 1)           */

int lrc_rule_check(const lrc_rule *r)
{
    if (r == NULL) return LRC_EINVAL;
    int ok = 0;
    switch (r->kind) {
    case LRC_RULE_ARMIJO:
        ok = pos_(r->lr) && open_unit_(r->c) && open_unit_(r->shrink) && isfinite(r->grow) &&
             r->grow >= 1.0 && r->max_backtracks >= 0 && r->memory >= 0 &&
             r->memory <= ((int64_t)1 << 20) && pos_inf_(r->max_lr);
        break;
    case LRC_RULE_POLYAK: ok = isfinite(r->f_star) && pos_inf_(r->max_lr); break;
    case LRC_RULE_BB:
        ok = (r->variant == 1 || r->variant == 2) && pos_(r->lr) && pos_(r->min_lr) &&
             pos_inf_(r->max_lr) && r->min_lr <= r->max_lr;
        if (ok && (r->flags & LRC_RULE_BACKTRACK))
            ok = open_unit_(r->c) && open_unit_(r->shrink) && r->max_backtracks >= 0;
        break;
    case LRC_RULE_ADGD: ok = (r->variant == 2020 || r->variant == 2023) && pos_(r->lr); break;
    case LRC_RULE_DOG: ok = pos_(r->reps_rel) && isfinite(r->eps) && r->eps >= 0.0; break;
    case LRC_RULE_DADAPT_SGD:
        ok = pos_(r->lr) && pos_(r->d0) && pos_inf_(r->growth_rate) && unit_(r->momentum);
        break;
    case LRC_RULE_PRODIGY:
        ok = pos_(r->lr) && unit_(r->beta1) && unit_(r->beta2) && r->beta3 < 1.0 &&
             !isnan(r->beta3) && pos_(r->eps) && pos_(r->d0) && pos_(r->d_coef) &&
             pos_inf_(r->growth_rate) && isfinite(r->weight_decay) && r->weight_decay >= 0.0;
        break;
    case LRC_RULE_SCHEDULE_FREE:
        ok = pos_(r->lr) && open_unit_(r->momentum) && r->warmup_steps >= 0 &&
             isfinite(r->r) && r->r >= 0.0 && isfinite(r->weight_lr_power) &&
             r->weight_lr_power >= 0.0 && isfinite(r->weight_decay) && r->weight_decay >= 0.0;
        break;
    case LRC_RULE_CURVATURE:
        ok = pos_(r->scale) && r->every >= 0 && r->ncv >= 1 && r->ncv <= LRC_EIG_MAX_NCV &&
             r->maxmv >= 1 && open_unit_(r->tol) && isfinite(r->v0_mix) && r->v0_mix >= 0.0 &&
             pos_inf_(r->max_lr);
        break;
    default: ok = 0;
    }
    return ok ? LRC_OK : LRC_EINVAL;
}

/* vectors of n doubles a rule keeps: [x_prev, g_prev, x0, s, m, v] usage per kind */
static ptrdiff_t rule_vectors(int kind)
{
    switch (kind) {
    case LRC_RULE_ARMIJO: return 2; /* x_k, g_k (the trials' base)          */
    case LRC_RULE_POLYAK: return 0;
    case LRC_RULE_BB: return 2;     /* x_{k-1}, g_{k-1}                     */
    case LRC_RULE_ADGD: return 2;   /* x_{k-1}, g_{k-1}                     */
    case LRC_RULE_DOG: return 1;    /* x_0                                  */
    case LRC_RULE_DADAPT_SGD: return 2; /* x_0, s                           */
    case LRC_RULE_PRODIGY: return 4;    /* p_0, s, m, v                     */
    case LRC_RULE_SCHEDULE_FREE: return 1; /* z                              */
    case LRC_RULE_CURVATURE: return 1;     /* the last eigenvector           */
    default: return -1;
    }
}

int lrc_rule_workspace_size(const lrc_rule *r, ptrdiff_t n, size_t *size)
{
    if (size == NULL || lrc_rule_check(r) != LRC_OK || n < 1 || n > PTRDIFF_MAX / 8)
        return LRC_EINVAL;
    size_t need = (size_t)(rule_vectors(r->kind) * n);
    if (r->kind == LRC_RULE_ARMIJO) need += (size_t)(r->memory > 1 ? r->memory : 1);
    if (r->kind == LRC_RULE_CURVATURE) {
        size_t le;
        if (lrc_eig_workspace_size(n, LRC_EIG_LANCZOS, r->ncv, 1, &le) != LRC_OK)
            return LRC_EINVAL;
        need += le;
    }
    *size = need;
    return LRC_OK;
}

int lrc_rule_init(lrc_rule_state *st, const lrc_rule *r, ptrdiff_t n, const double *x0,
                  double *work, size_t lwork)
{
    size_t need;
    if (st == NULL || x0 == NULL || lrc_rule_workspace_size(r, n, &need) != LRC_OK ||
        lwork < need || (need > 0 && work == NULL))
        return LRC_EINVAL;
    memset(st, 0, sizeof(*st));
    st->rule = *r;
    st->n = n;
    st->lr = st->lambda = NAN;
    st->event = LRC_EVENT_NONE;
    st->prev_lr = r->lr;
    st->theta = r->variant == 2023 ? 1.0 / 3.0 : INFINITY;
    st->d = st->d_max = r->d0;
    st->lr_max = -1.0;
    st->last_measure = -1;
    if (r->kind == LRC_RULE_PRODIGY && r->beta3 < 0.0) st->rule.beta3 = sqrt(r->beta2);
    double *w = work;
    switch (r->kind) {
    case LRC_RULE_ARMIJO:
    case LRC_RULE_BB:
    case LRC_RULE_ADGD:
        st->x_prev = w;
        st->g_prev = w + n;
        w += 2 * n;
        if (r->kind == LRC_RULE_ARMIJO) st->fhist = w;
        break;
    case LRC_RULE_DOG:
        st->x0 = w;
        memcpy(st->x0, x0, (size_t)n * sizeof(double));
        break;
    case LRC_RULE_DADAPT_SGD:
    case LRC_RULE_PRODIGY:
        st->x0 = w;
        st->s = w + n;
        memcpy(st->x0, x0, (size_t)n * sizeof(double));
        for (ptrdiff_t i = 0; i < n; i++) st->s[i] = 0.0;
        if (r->kind == LRC_RULE_PRODIGY) {
            st->m = w + 2 * n;
            st->v = w + 3 * n;
            for (ptrdiff_t i = 0; i < 2 * n; i++) st->m[i] = 0.0;
        }
        break;
    case LRC_RULE_SCHEDULE_FREE:
        st->s = w; /* z */
        memcpy(st->s, x0, (size_t)n * sizeof(double));
        break;
    case LRC_RULE_CURVATURE:
        st->evec = w;
        st->ework = w + n;
        st->lework = need - (size_t)n;
        break;
    }
    return LRC_OK;
}

/* The rate of a gradient-descent rule at (x, g, f); updates the rule's memory of x and g.
 * *backtrack = 1 when the rate is only the first trial of a backtracking search. */
static double gd_rate(lrc_rule_state *st, const double *x, const double *g, double f,
                      int *backtrack)
{
    const lrc_rule *r = &st->rule;
    const ptrdiff_t n = st->n;
    double eta = NAN;
    *backtrack = 0;
    st->event = LRC_EVENT_NONE;
    switch (r->kind) {
    case LRC_RULE_POLYAK: {
        double gg;
        const double gn = rule_norm_(g, n, &gg);
        /* (f - f*) / ||g||^2; through ||g|| twice when ||g||^2 is not representable */
        eta = (isfinite(gg) && gg >= DBL_MIN) ? (f - r->f_star) / gg
                                              : ((f - r->f_star) / gn) / gn;
        if (eta > r->max_lr) {
            eta = r->max_lr;
            st->event = LRC_EVENT_CLAMPED;
        }
        if (!(eta > 0.0) || !isfinite(eta)) { /* f <= f_star, or a zero gradient */
            eta = 0.0;
            st->event = LRC_EVENT_NO_STEP;
        }
        break;
    }
    case LRC_RULE_BB: {
        int fallback = st->t == 0;
        if (!fallback) {
            double ss = 0.0, sy = 0.0, yy = 0.0;
            for (ptrdiff_t i = 0; i < n; i++) {
                const double si = x[i] - st->x_prev[i], yi = g[i] - st->g_prev[i];
                ss += si * si;
                sy += si * yi;
                yy += yi * yi;
            }
            eta = r->variant == 1 ? ss / sy : sy / yy;
            if (!(sy > 0.0) || !(eta > 0.0) || !isfinite(eta)) {
                fallback = 1;
            } else if (eta < r->min_lr || eta > r->max_lr) {
                eta = eta < r->min_lr ? r->min_lr : r->max_lr;
                st->event = LRC_EVENT_CLAMPED;
            }
        }
        if (fallback) {
            eta = st->prev_lr;
            if (r->flags & LRC_RULE_BACKTRACK) {
                *backtrack = 1;
                st->event = LRC_EVENT_FALLBACK_BACKTRACK;
            } else {
                st->event = LRC_EVENT_FALLBACK_LAST;
            }
        }
        memcpy(st->x_prev, x, (size_t)n * sizeof(double));
        memcpy(st->g_prev, g, (size_t)n * sizeof(double));
        break;
    }
    case LRC_RULE_ADGD: {
        const double lam = st->prev_lr;
        if (st->t == 0) {
            eta = r->lr;
        } else {
            const double dx = sqrt(dist2_(x, st->x_prev, n));
            const double dg = sqrt(dist2_(g, st->g_prev, n));
            double t1, t2 = INFINITY;
            if (r->variant == 2020) {
                t1 = sqrt(1.0 + st->theta) * lam;
                if (dg > 0.0) t2 = dx / (2.0 * dg);
            } else {
                t1 = sqrt(2.0 / 3.0 + st->theta) * lam;
                const double Lk = dg / dx;
                const double a = 2.0 * lam * lam * Lk * Lk - 1.0;
                if (a > 0.0) t2 = lam / sqrt(a);
            }
            eta = fmin(t1, t2);
            if (!(eta > 0.0) || !isfinite(eta)) {
                eta = lam;
                st->event = LRC_EVENT_CLAMPED;
            }
            st->theta = eta / lam;
        }
        memcpy(st->x_prev, x, (size_t)n * sizeof(double));
        memcpy(st->g_prev, g, (size_t)n * sizeof(double));
        break;
    }
    case LRC_RULE_DOG: {
        const double gg = dot_(g, g, n);
        if (st->t == 0) {
            st->rbar = r->reps_rel * (1.0 + sqrt(dot_(x, x, n)));
            st->gsum = gg + r->eps;
        } else {
            const double dist = sqrt(dist2_(x, st->x0, n));
            if (dist > st->rbar) st->rbar = dist;
            st->gsum += gg;
        }
        eta = st->gsum > 0.0 ? st->rbar / sqrt(st->gsum) : 0.0;
        if (!(eta > 0.0)) st->event = LRC_EVENT_NO_STEP;
        break;
    }
    }
    return eta;
}

/* x <- x - eta g (the kernel of method gd) */
static void gd_move(double *x, const double *g, ptrdiff_t n, double eta)
{
    if (eta != 0.0) lrc_sgd_f64(x, g, n, eta, 0.0, 0, 0, 1);
}

static void accept(lrc_rule_state *st, double eta)
{
    st->lr = eta;
    if (eta > 0.0) st->prev_lr = eta;
    st->t++;
}

/* torch.lerp(a, b, w) for doubles */
static inline double lerp_(double a, double b, double w)
{
    return fabs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
}

/* One step of the three rules that change the iterates (x updated in place). */
static void method_step(lrc_rule_state *st, double *x, const double *g)
{
    const lrc_rule *r = &st->rule;
    const ptrdiff_t n = st->n;
    st->event = LRC_EVENT_NONE;
    switch (r->kind) {
    case LRC_RULE_DADAPT_SGD: {
        if (st->t == 0) {
            double gg;
            st->g0norm = rule_norm_(g, n, &gg);
        }
        if (!(st->g0norm > 0.0)) { /* the reference divides by zero here */
            st->lr = 0.0;
            st->event = LRC_EVENT_NO_STEP;
            return;
        }
        const double dlr = st->d * r->lr / st->g0norm;
        double num = st->numerator + dlr * dot_(g, st->s, n);
        double sk = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            st->s[i] = st->s[i] + dlr * g[i];
            sk += st->s[i] * st->s[i];
        }
        if (sk == 0.0) {
            st->lr = 0.0;
            st->event = LRC_EVENT_NO_STEP;
            return;
        }
        const double dhat = 2.0 * num / sqrt(sk);
        const double cap = st->d * r->growth_rate;
        const double cand = dhat < cap ? dhat : cap;
        if (cand > st->d) st->d = cand;
        st->numerator = num;
        const double ck = 1.0 - r->momentum;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double z = st->x0[i] - st->s[i];
            x[i] = x[i] * (1.0 - ck) + ck * z;
        }
        st->lr = dlr;
        st->t++;
        return;
    }
    case LRC_RULE_PRODIGY: {
        const double b1 = r->beta1, b2 = r->beta2, b3 = r->beta3;
        const double bc = (r->flags & LRC_RULE_BIAS_CORRECTION)
                              ? sqrt(1.0 - pow(b2, (double)(st->t + 1))) /
                                    (1.0 - pow(b1, (double)(st->t + 1)))
                              : 1.0;
        const double d = st->d, d0 = r->d0;
        const double dlr = d * r->lr * bc;
        const double num = st->numerator * b3;
        double gp = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) gp += g[i] * (st->x0[i] - x[i]);
        const double delta = (d / d0) * dlr * gp;
        const double wm = d * (1.0 - b1), wv = d * d * (1.0 - b2);
        const double ws = (r->flags & LRC_RULE_SAFEGUARD_WARMUP) ? (d / d0) * d : (d / d0) * dlr;
        double den = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            if (b1 > 0.0) st->m[i] = st->m[i] * b1 + wm * g[i];
            st->v[i] = st->v[i] * b2 + wv * g[i] * g[i];
            st->s[i] = st->s[i] * b3 + ws * g[i];
            den += fabs(st->s[i]);
        }
        if (den == 0.0) { /* the reference returns here without a step */
            st->lr = 0.0;
            st->event = LRC_EVENT_NO_STEP;
            return;
        }
        const double total = num + delta;
        const double dhat = r->d_coef * total / den;
        double dn = d;
        if (dn == d0 && dhat > dn) dn = dhat;
        if (dhat > st->d_max) st->d_max = dhat;
        const double grown = dn * r->growth_rate;
        dn = st->d_max < grown ? st->d_max : grown;
        st->d = dn;
        st->numerator = total;
        const double deps = dn * r->eps;
        const double wd = -r->weight_decay * dlr;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double denom = sqrt(st->v[i]) + deps;
            double xi = x[i];
            if (r->weight_decay != 0.0) xi = xi + wd * xi;
            if (b1 > 0.0)
                xi = xi + (-dlr) * (st->m[i] / denom);
            else
                xi = xi + (-dlr * dn) * (g[i] / denom);
            x[i] = xi;
        }
        st->lr = dlr;
        st->t++;
        return;
    }
    case LRC_RULE_SCHEDULE_FREE: {
        const double sched = st->t < r->warmup_steps
                                 ? (double)(st->t + 1) / (double)r->warmup_steps
                                 : 1.0;
        const double lr = r->lr * sched;
        if (lr > st->lr_max) st->lr_max = lr;
        const double weight = pow((double)(st->t + 1), r->r) * pow(st->lr_max, r->weight_lr_power);
        st->weight_sum += weight;
        const double c = st->weight_sum != 0.0 ? weight / st->weight_sum : 0.0;
        const double a = lr * (r->momentum * (1.0 - c) - 1.0);
        const double wd = r->weight_decay;
        double *z = st->s;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double gi = wd != 0.0 ? g[i] + wd * x[i] : g[i];
            double y = lerp_(x[i], z[i], c);
            x[i] = y + a * gi;
            z[i] = z[i] - lr * gi;
        }
        st->lr = lr;
        st->t++;
        return;
    }
    }
}

static int is_method_rule(int kind)
{
    return kind == LRC_RULE_DADAPT_SGD || kind == LRC_RULE_PRODIGY ||
           kind == LRC_RULE_SCHEDULE_FREE;
}

int lrc_rule_step(lrc_rule_state *st, double *x, const double *g, double f)
{
    if (st == NULL || x == NULL || g == NULL) return LRC_EINVAL;
    const int kind = st->rule.kind;
    if (kind == LRC_RULE_ARMIJO || kind == LRC_RULE_CURVATURE ||
        (kind == LRC_RULE_BB && (st->rule.flags & LRC_RULE_BACKTRACK)))
        return LRC_EINVAL;
    if (lrc_all_finite_f64(g, st->n, 1) != LRC_OK) return LRC_NONFINITE;
    if (kind == LRC_RULE_POLYAK && !isfinite(f)) return LRC_NONFINITE;
    if (is_method_rule(kind)) {
        method_step(st, x, g);
        return LRC_OK;
    }
    int bt;
    const double eta = gd_rate(st, x, g, f, &bt);
    gd_move(x, g, st->n, eta);
    accept(st, eta);
    return LRC_OK;
}

/* ------------------------------------------------------------------------------------ */
/* the machine                                                                           */
/* ------------------------------------------------------------------------------------ */

enum { ST_START = 1, ST_EVAL, ST_TRIAL, ST_HVP, ST_DONE };

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
    s->v_ = work + 2 * n_;
    s->x = x;
    s->f = s->loss = s->gnorm = s->fprev = s->gprev = NAN;
    s->status = LRC_OK;
    s->outcome = LRC_RUN_COMPLETED;
    s->reason = LRC_STOP_NONE;
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

int lrc_descend_set_rule(lrc_descend *s, lrc_rule_state *rule, const lrc_descend_trace *trace)
{
    if (s == NULL || s->stage != ST_START) return LRC_EINVAL;
    if (rule != NULL) {
        const int kind = rule->rule.kind, m = s->opts.method;
        if (rule->n != s->n || rule->t != 0 || lrc_rule_check(&rule->rule) != LRC_OK)
            return LRC_EINVAL;
        if (kind == LRC_RULE_CURVATURE ? m == LRC_METHOD_ADAM : m != LRC_METHOD_GD)
            return LRC_EINVAL;
        if (kind == LRC_RULE_CURVATURE && rule->lework == 0) return LRC_EINVAL;
    }
    s->rule = rule;
    if (trace != NULL) {
        s->trace = *trace;
        const int64_t nrec = s->steps / s->opts.record_every + 1;
        for (int64_t j = 0; j < nrec; j++) {
            if (trace->rates != NULL) trace->rates[j] = NAN;
            if (trace->lambdas != NULL) trace->lambdas[j] = NAN;
            if (trace->n_evals != NULL) trace->n_evals[j] = 0;
            if (trace->n_hvps != NULL) trace->n_hvps[j] = 0;
            if (trace->events != NULL) trace->events[j] = LRC_EVENT_NONE;
        }
    } else {
        memset(&s->trace, 0, sizeof(s->trace));
    }
    return LRC_OK;
}

static int finish(lrc_descend *s, int status)
{
    s->stage = ST_DONE;
    s->final_status = status;
    return status;
}

static int stop(lrc_descend *s, int outcome, int reason)
{
    s->outcome = outcome;
    s->reason = reason;
    return finish(s, LRC_OK);
}

static int request(lrc_descend *s)
{
    s->x = s->xk;
    s->f = NAN;
    s->status = LRC_OK;
    s->n_evals++;
    s->n_grads++;
    return LRC_REQ_VALUE_GRAD;
}

static int request_value(lrc_descend *s)
{
    s->x = s->xk;
    s->f = NAN;
    s->status = LRC_OK;
    s->n_evals++;
    return LRC_REQ_VALUE;
}

/* the trace entries of step k (its rate and event) */
static void trace_step(lrc_descend *s, double eta, int event)
{
    const int64_t k = s->k, r = s->opts.record_every;
    if (k % r != 0) return;
    if (s->trace.rates != NULL) s->trace.rates[k / r] = eta;
    if (s->trace.events != NULL) s->trace.events[k / r] = event;
    if (s->trace.lambdas != NULL && s->rule != NULL) s->trace.lambdas[k / r] = s->rule->lambda;
}

/* step k with rate eta through the method's kernel, then ask for f, g at x_{k+1} */
static int take_step(lrc_descend *s, double eta)
{
    const int method = s->opts.method;
    const int64_t k = s->k;
    const ptrdiff_t n = s->n;
    double *x = s->xk;
    const double *g = s->g;
    int ust = LRC_OK;
    switch (method) {
    case LRC_METHOD_GD: ust = lrc_sgd_f64(x, g, n, eta, 0.0, 0, 0, 1); break;
    case LRC_METHOD_HEAVY_BALL:
    case LRC_METHOD_NESTEROV:
        ust = lrc_momentum_f64(x, g, s->buf, n, eta, s->opts.momentum, 0.0, 0.0,
                               method == LRC_METHOD_NESTEROV, 0, 0, 0, 1);
        break;
    case LRC_METHOD_ADAM:
        ust = lrc_adam_f64(x, g, s->m, s->v_, NULL, n, k + 1, eta, s->opts.momentum,
                           s->opts.beta2, s->opts.eps, 0.0, 0, 0, 0, 0, 1);
        break;
    }
    if (ust != LRC_OK) return finish(s, ust);
    return LRC_OK;
}

static int next_iterate(lrc_descend *s)
{
    s->steps_run = s->k + 1;
    s->k = s->k + 1;
    return request(s);
}

/* a backtracking trial at rate eta from the base point (x_prev, g_prev) */
static int trial(lrc_descend *s, double eta)
{
    lrc_rule_state *rs = s->rule;
    rs->trial_lr = eta;
    double *x = s->xk;
    const double *xb = rs->x_prev, *gb = rs->g_prev;
    for (ptrdiff_t i = 0; i < s->n; i++) x[i] = xb[i] - eta * gb[i];
    s->stage = ST_TRIAL;
    return request_value(s);
}

/* start a backtracking search at x_k from rate eta with reference value fref */
static int start_search(lrc_descend *s, double eta, double fref)
{
    lrc_rule_state *rs = s->rule;
    if (rs->rule.kind == LRC_RULE_ARMIJO) { /* BB's gd_rate already saved x_k, g_k */
        memcpy(rs->x_prev, s->xk, (size_t)s->n * sizeof(double));
        memcpy(rs->g_prev, s->g, (size_t)s->n * sizeof(double));
    }
    rs->trial_ref = fref;
    rs->trial_gg = dot_(s->g, s->g, s->n);
    rs->backtracks = 0;
    return trial(s, eta);
}

/* the answer to a trial is in s->f */
static int trial_answer(lrc_descend *s)
{
    lrc_rule_state *rs = s->rule;
    const lrc_rule *r = &rs->rule;
    const int st = s->status;
    if (st != LRC_OK && st != LRC_NONFINITE) return finish(s, st);
    const double eta = rs->trial_lr, f = s->f;
    /* sufficient decrease (a NaN/Inf value fails it) */
    if (st == LRC_OK && isfinite(f) && f <= rs->trial_ref - r->c * eta * rs->trial_gg) {
        /* accepted: x_{k+1} = x_k - eta g_k is in place; g_k is still in s->g, but the
         * memory of the rule holds it too */
        trace_step(s, eta, rs->event);
        accept(rs, eta);
        s->stage = ST_EVAL;
        return next_iterate(s);
    }
    if (rs->backtracks >= r->max_backtracks) {
        memcpy(s->xk, rs->x_prev, (size_t)s->n * sizeof(double)); /* back to x_k */
        return stop(s, LRC_RUN_STOPPED, LRC_STOP_LINE_SEARCH);
    }
    rs->backtracks++;
    return trial(s, eta * r->shrink);
}

/* curvature: the solver sees c H for a power of two c fixed by the first product of
 * each solve (its largest entry brought into [0.5, 1)), so it works at any scale of the
 * Hessian -- entries of 1e-300 or 1e300 -- with no change of rounding; lambda = value/c.
 * c lives in trial_gg, which only line searches use otherwise (0: not chosen yet). */
static void scale_product(lrc_descend *s)
{
    lrc_rule_state *rs = s->rule;
    double *y = rs->eig.y;
    const ptrdiff_t n = s->n;
    if (rs->trial_gg == 0.0) {
        double amax = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double a = fabs(y[i]);
            if (!(a <= amax)) amax = a;
        }
        rs->trial_gg = 1.0;
        if (amax > 0.0 && isfinite(amax)) {
            int e = 0;
            (void)frexp(amax, &e);          /* amax = f 2^e, f in [0.5, 1) */
            if (e > 1021) e = 1021;         /* keep c = 2^-e a normal number */
            if (e < -1021) e = -1021;
            rs->trial_gg = ldexp(1.0, -e);
        }
    }
    const double c = rs->trial_gg;
    if (c != 1.0)
        for (ptrdiff_t i = 0; i < n; i++) y[i] *= c;
}

/* curvature: the Lanczos solve's next request, or its end */
static int hvp_continue(lrc_descend *s)
{
    lrc_rule_state *rs = s->rule;
    const lrc_rule *r = &rs->rule;
    const int est = lrc_eig_iterate(&rs->eig);
    if (est == LRC_REQ_MATVEC) {
        s->x = s->xk;
        s->v = rs->eig.x;
        s->hv = rs->eig.y;
        s->status = LRC_OK;
        s->n_hvps++;
        s->stage = ST_HVP;
        return LRC_REQ_HVP;
    }
    s->stage = ST_EVAL;
    if (est == LRC_NONFINITE) /* the Hessian-vector products blew up: like a NaN loss */
        return stop(s, LRC_RUN_DIVERGED, LRC_STOP_NONE);
    if (est != LRC_OK && est != LRC_NOT_CONVERGED) return finish(s, est);
    const double lam = rs->eig.value / (rs->trial_gg != 0.0 ? rs->trial_gg : 1.0);
    if (!isfinite(lam)) return stop(s, LRC_RUN_DIVERGED, LRC_STOP_NONE);
    memcpy(rs->evec, rs->eig.vector, (size_t)s->n * sizeof(double));
    rs->have_vec = 1;
    rs->last_measure = s->k;
    rs->lambda = lam;
    double eta;
    int event = LRC_EVENT_MEASURED;
    if (lam > 0.0) {
        eta = r->scale / lam;
        if (eta > r->max_lr) eta = r->max_lr;
    } else if (isfinite(r->max_lr)) {
        eta = r->max_lr;
        event = LRC_EVENT_NO_CURVATURE;
    } else if (rs->t > 0) {
        eta = rs->prev_lr;
        event = LRC_EVENT_NO_CURVATURE;
    } else {
        return stop(s, LRC_RUN_STOPPED, LRC_STOP_NO_CURVATURE);
    }
    rs->trial_lr = eta; /* the rate in force until the next measurement */
    rs->event = event;
    trace_step(s, eta, event);
    if (take_step(s, eta) != LRC_OK) return s->final_status;
    accept(rs, eta);
    return next_iterate(s);
}

static int curvature_begin(lrc_descend *s)
{
    lrc_rule_state *rs = s->rule;
    const lrc_rule *r = &rs->rule;
    const int64_t k = s->k;
    int due = rs->last_measure < 0 || (r->every > 0 && k - rs->last_measure >= r->every);
    if (!due && s->opts.method == LRC_METHOD_GD && s->gnorm > s->gprev) due = 1;
    if (!due) {
        const double eta = rs->trial_lr;
        rs->event = LRC_EVENT_NONE;
        trace_step(s, eta, LRC_EVENT_NONE);
        if (take_step(s, eta) != LRC_OK) return s->final_status;
        accept(rs, eta);
        return next_iterate(s);
    }
    const int st = lrc_eig_init(&rs->eig, s->n, LRC_EIG_LANCZOS, LRC_EIG_LA, r->ncv, r->tol,
                                DBL_EPSILON, 0, r->maxmv, rs->have_vec ? rs->evec : NULL,
                                r->v0_mix, r->seed + (uint64_t)rs->n_measure, rs->ework,
                                rs->lework, 1);
    if (st != LRC_OK) return finish(s, st);
    rs->n_measure++;
    rs->trial_gg = 0.0; /* the products' scale: chosen at the first one (scale_product) */
    return hvp_continue(s);
}

/* step k under the rule (the answer at x_k is in s->f, s->g) */
static int rule_step(lrc_descend *s)
{
    lrc_rule_state *rs = s->rule;
    const lrc_rule *r = &rs->rule;
    const int kind = r->kind;
    if (s->gnorm == 0.0) return stop(s, LRC_RUN_CONVERGED, LRC_STOP_ZERO_GRAD);
    if (kind == LRC_RULE_POLYAK && !(s->loss > r->f_star))
        return stop(s, LRC_RUN_CONVERGED, LRC_STOP_TARGET);
    if (kind == LRC_RULE_CURVATURE) return curvature_begin(s);
    if (is_method_rule(kind)) {
        method_step(rs, s->xk, s->g);
        trace_step(s, rs->lr, rs->event);
        return next_iterate(s);
    }
    if (kind == LRC_RULE_ARMIJO) {
        double fref = s->loss;
        const int64_t M = r->memory;
        if (M > 1) {
            rs->fhist[rs->nfhist % M] = s->loss;
            rs->nfhist++;
            const int64_t cnt = rs->nfhist < M ? rs->nfhist : M;
            for (int64_t i = 0; i < cnt; i++)
                if (rs->fhist[i] > fref) fref = rs->fhist[i];
        }
        double eta = rs->t == 0 ? r->lr : r->grow * rs->prev_lr;
        if (eta > r->max_lr) eta = r->max_lr;
        rs->event = LRC_EVENT_NONE;
        return start_search(s, eta, fref);
    }
    int bt;
    const double eta = gd_rate(rs, s->xk, s->g, s->loss, &bt);
    if (bt) return start_search(s, eta, s->loss);
    trace_step(s, eta, rs->event);
    gd_move(s->xk, s->g, s->n, eta);
    accept(rs, eta);
    return next_iterate(s);
}

int lrc_descend_iterate(lrc_descend *s)
{
    if (s == NULL) return LRC_EINVAL;
    switch (s->stage) {
    case ST_START:
        s->stage = ST_EVAL;
        return request(s); /* f and g at x_0 */
    case ST_EVAL: break;
    case ST_TRIAL: return trial_answer(s);
    case ST_HVP: {
        const int st = s->status;
        if (st != LRC_OK && st != LRC_NONFINITE) return finish(s, st);
        if (st == LRC_OK) scale_product(s);
        return hvp_continue(s); /* a non-finite product ends the solve as NONFINITE */
    }
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
        if (s->trace.n_evals != NULL) s->trace.n_evals[k / r] = s->n_evals;
        if (s->trace.n_hvps != NULL) s->trace.n_hvps[k / r] = s->n_hvps;
    }
    s->fprev = s->loss;
    s->gprev = s->gnorm;
    s->loss = fk;
    s->gnorm = gk;
    const double f0 = s->f0, blowup = s->opts.blowup;
    if (st == LRC_NONFINITE || !isfinite(fk) || !isfinite(gk) ||
        (blowup > 0 && fk - f0 > blowup * fmax(fabs(f0), 1.0)))
        return stop(s, LRC_RUN_DIVERGED, LRC_STOP_NONE);
    if (s->opts.tol > 0 && gk <= s->opts.tol) return stop(s, LRC_RUN_CONVERGED, LRC_STOP_NONE);
    if (k == s->steps) return finish(s, LRC_OK); /* LRC_RUN_COMPLETED */
    if (s->rule != NULL) return rule_step(s);
    const double lr = s->lrs[k];
    trace_step(s, lr, LRC_EVENT_NONE);
    if (take_step(s, lr) != LRC_OK) return s->final_status;
    return next_iterate(s);
}
