/*
 * schedule.c -- vectorized closed-form evaluation of learning-rate schedule programs.
 *
 * See the schedule section of lrcore.h for the program format.  Design notes:
 *
 * - Evaluation goes block by block (LRC_SCHED_BLOCK steps); inside a block every node is
 *   evaluated over all of its steps at once, so each closed form is a tight loop that GCC
 *   vectorizes (LRCI_HOT adds an AVX2 clone).  Composites split a block into runs of steps
 *   that fall in the same child (sorted input gives one or two runs per block) and pass
 *   the child its local times.  Scratch space lives on the stack (LRC_SCHED_BLOCK elements
 *   per nesting level, depth <= LRC_SCHED_MAX_DEPTH); nothing is allocated.
 * - A scalar call is the same code on a block of one element, and no loop depends on the
 *   block length or on neighbouring elements, so scalar and vector results agree bit for bit
 *   (no FMA contraction: -std=c11 implies -ffp-contract=off, and the AVX2 clone does not
 *   enable FMA).
 * - Step counts stay int64.  Lengths and boundaries are <= 2^52, so a step clamped to a
 *   length converts to double exactly (u52_to_d, a vectorizable bit trick); unbounded steps
 *   convert with i64_to_d, correctly rounded like a cast, for the whole int64 range.  No
 *   signed overflow anywhere, also at t = INT64_MAX.
 * - The cosine family calls no libm: with integer r <= T,
 *       (1 + cos(pi r / T)) / 2 = 1 - sin^2(pi r / 2T) = sin^2(pi (T - r) / 2T),
 *   and using the first form for 2r <= T and the second otherwise keeps the argument x of
 *   sin(pi x) in [0, 1/4] -- an exact range reduction done in integers -- and gives the
 *   result as  hi - (hi - lo) s^2  or  lo + (hi - lo) s^2, exact at both ends (s = 0) and
 *   accurate to a few ulp everywhere (no cancellation near the end of the decay, where
 *   1 + cos(pi t / T) computed directly loses all relative accuracy).
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BLK LRC_SCHED_BLOCK

/* ---------- exact int64 -> double conversions (vectorizable) -------------------------- */

/* (double)u for 0 <= u <= 2^52, exact: the bits of 2^52 + u, minus 2^52. */
static inline double u52_to_d(uint64_t u)
{
    uint64_t b = u + UINT64_C(0x4330000000000000);
    double d;
    memcpy(&d, &b, sizeof d);
    return d - 4503599627370496.0;
}

/* (double)t for 0 <= t <= INT64_MAX, rounded to nearest like a cast: hi * 2^32 and lo are
 * exact, so their sum is the correctly rounded value of t. */
static inline double i64_to_d(int64_t t)
{
    uint64_t u = (uint64_t)t;
    return u52_to_d(u >> 32) * 4294967296.0 + u52_to_d(u & UINT64_C(0xffffffff));
}

/* c ? a : b for c in {0, 1}, by bit masks.  Under the default -ftrapping-math GCC will not
 * if-convert a select between floating-point expressions it has sunk into the two arms, so
 * hot loops select operands this way and stay branch-free (and vectorized). */
static inline double pick(int64_t c, double a, double b)
{
    const uint64_t m = (uint64_t)0 - (uint64_t)c;
    uint64_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const uint64_t r = (ua & m) | (ub & ~m);
    double d;
    memcpy(&d, &r, sizeof d);
    return d;
}

/* ---------- sin(pi x), |x| <= 1/4 -------------------------------------------------------- */

/* Taylor coefficients of sin(pi x) = sum_k S_k x^(2k+1), S_k = (-1)^k pi^(2k+1)/(2k+1)!,
 * rounded to double from 50-digit values (mpmath).  For |x| <= 1/4 the first omitted term
 * is below 2e-19 relative.  pi = PI_HI + PI_LO carries the leading term to ~2^-106. */
#define PI_HI 3.141592653589793
#define PI_LO 1.2246467991473532e-16
#define S1 -5.16771278004997
#define S2 2.5501640398773455
#define S3 -0.5992645293207921
#define S4 0.08214588661112823
#define S5 -0.0073704309457143504
#define S6 0.00046630280576761255
#define S7 -2.1915353447830217e-05

/* PI_HI = PI_HH + PI_HL, each with at most 26 significant bits (Veltkamp split). */
#define PI_HH 3.1415926814079285
#define PI_HL -2.781813535079891e-08

static inline double sinpi_k(double x)
{
    /* hi + lo = PI_HI * x exactly (Dekker's product, no FMA needed) */
    const double c = 134217729.0 * x, xh = c - (c - x), xl = x - xh;
    const double hi = PI_HI * x;
    const double lo = ((PI_HH * xh - hi) + PI_HH * xl + PI_HL * xh) + PI_HL * xl;
    const double x2 = x * x;
    double p = S7;
    p = p * x2 + S6;
    p = p * x2 + S5;
    p = p * x2 + S4;
    p = p * x2 + S3;
    p = p * x2 + S2;
    p = p * x2 + S1;
    /* the leading term exactly, the rest (below 0.33 of it) rounded once: < 0.6 ulp */
    return hi + (lo + x * (PI_LO + x2 * p));
}

/* hi + (lo - hi) (1 + cos(pi r / T)) / 2 for integers 0 <= r <= T <= 2^52; twoT = 2T. */
static inline double cos_anneal_u52(double hi, double lo, int64_t r, int64_t T, double twoT)
{
    const int64_t first = 2 * r <= T;
    const int64_t a = first ? r : T - r;
    const double s = sinpi_k(u52_to_d((uint64_t)a) / twoT);
    const double amp = hi - lo;
    /* first ? hi - amp s^2 : lo + amp s^2 as operand selects (x - y == x + (-y) exactly) */
    return pick(first, hi, lo) + pick(first, -amp, amp) * (s * s);
}

/* The same for any 0 <= r <= T <= INT64_MAX (no overflow; exact while T <= 2^52). */
static inline double cos_anneal_i64(double hi, double lo, int64_t r, int64_t T)
{
    const int64_t first = r <= T - r;
    const int64_t a = first ? r : T - r;
    const double s = sinpi_k(i64_to_d(a) / (2.0 * i64_to_d(T)));
    const double amp = hi - lo;
    return pick(first, hi, lo) + pick(first, -amp, amp) * (s * s);
}

/* The same with real position: num = pos - start, comp = end - pos, den = end - start > 0.
 * comp may be slightly negative (extrapolation); keeps |x| <= 1/4 whenever |comp| <= den/2. */
static inline double cos_anneal_real(double hi, double lo, double num, double comp, double den)
{
    const int64_t first = 2.0 * num <= den;
    const double s = sinpi_k(0.5 * pick(first, num, comp) / den);
    const double amp = hi - lo;
    return pick(first, hi, lo) + pick(first, -amp, amp) * (s * s);
}

/* Reduce a finite x to r in [0, 1] with cos(pi x) = cos(pi r), exactly. */
static inline double reduce_cos_arg(double x)
{
    double u = fabs(x);
    if (u >= 9007199254740992.0) return 0.0; /* >= 2^53: an even integer */
    u = u - 2.0 * floor(0.5 * u);             /* exact: [0, 2) */
    return u > 1.0 ? 2.0 - u : u;             /* exact (Sterbenz) */
}

double lrci_sinpi(double x)
{
    if (!isfinite(x)) return NAN;
    /* sin(pi x) = sign * sin(pi r), r in [0, 1]: reduce mod 2, then fold */
    double sgn = x < 0 ? -1.0 : 1.0, u = fabs(x);
    if (u >= 4503599627370496.0) return 0.0 * sgn; /* >= 2^52: an integer */
    u = u - 2.0 * floor(0.5 * u);                  /* [0, 2) exact */
    if (u >= 1.0) {
        u -= 1.0; /* sin(pi (1 + v)) = -sin(pi v), exact */
        sgn = -sgn;
    }
    if (u > 0.5) u = 1.0 - u; /* sin(pi (1 - v)) = sin(pi v), exact */
    /* u in [0, 1/2]: for u > 1/4, sin(pi u) = 1 - 2 sin^2(pi (1/2 - u) / 2) */
    if (u <= 0.25) return sgn * sinpi_k(u);
    const double s = sinpi_k(0.5 * (0.5 - u));
    return sgn * (1.0 - 2.0 * (s * s));
}

double lrci_cos_anneal(double x)
{
    if (!isfinite(x)) return NAN;
    const double r = reduce_cos_arg(x);
    return cos_anneal_real(1.0, 0.0, r, 1.0 - r, 1.0);
}

/* ---------- leaf kernels -------------------------------------------------------------- */
/* Each computes out[i] = rule(t[i]) for i < n, t[i] >= 0 (checked by the driver).          */

typedef const lrc_sched_node *node_p;

static LRCI_HOT void k_constant(node_p nd, const int64_t *restrict t, double *restrict out,
                               ptrdiff_t n)
{
    (void)t;
    const double v = nd->p[0];
    for (ptrdiff_t i = 0; i < n; i++) out[i] = v;
}

static void k_step(node_p nd, const int64_t *restrict t, double *restrict out, ptrdiff_t n)
{
    const double lr = nd->p[0], g = nd->p[1];
    const int64_t S = nd->n[0];
    int64_t kprev = -1;
    double v = lr;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t k = t[i] / S;
        if (k != kprev) { /* pure function of k: caching keeps scalar == vector */
            v = lr * pow(g, (double)k);
            kprev = k;
        }
        out[i] = v;
    }
}

/* number of a[0..m) that are <= x (a strictly increasing) */
static inline int64_t count_le_i64(const int64_t *a, int64_t m, int64_t x)
{
    int64_t lo = 0, hi = m;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static inline int64_t count_le_f64(const double *a, int64_t m, double x)
{
    int64_t lo = 0, hi = m;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void k_pconst(const lrc_sched_program *P, node_p nd, const int64_t *restrict t,
                     double *restrict out, ptrdiff_t n)
{
    const int64_t *b = P->ints + nd->n[0];
    const int64_t m = nd->n[1];
    const double *v = P->reals + nd->n[2];
    for (ptrdiff_t i = 0; i < n; i++) out[i] = v[count_le_i64(b, m, t[i])];
}

static void k_exponential(node_p nd, const int64_t *restrict t, double *restrict out,
                          ptrdiff_t n)
{
    const double lr = nd->p[0], g = nd->p[1], lo = nd->p[2], hi = nd->p[3];
    const int64_t every = nd->n[0];
    const double everyd = (double)every;
    const int stair = nd->mode & 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        const double e = stair ? i64_to_d(t[i] / every) : i64_to_d(t[i]) / everyd;
        double v = lr == 0.0 ? 0.0 : lr * pow(g, e); /* 0 * inf would be NaN */
        v = v < lo ? lo : v;
        out[i] = v > hi ? hi : v;
    }
}

static LRCI_HOT void k_inverse_time(node_p nd, const int64_t *restrict t, double *restrict out,
                                   ptrdiff_t n)
{
    const double lr = nd->p[0], rate = nd->p[1];
    const int64_t every = nd->n[0];
    const double everyd = (double)every;
    if (nd->mode & 1) {
        for (ptrdiff_t i = 0; i < n; i++) out[i] = lr / (1.0 + rate * i64_to_d(t[i] / every));
    } else {
        for (ptrdiff_t i = 0; i < n; i++) out[i] = lr / (1.0 + rate * (i64_to_d(t[i]) / everyd));
    }
}

static LRCI_HOT void k_inverse_sqrt(node_p nd, const int64_t *restrict t, double *restrict out,
                                   ptrdiff_t n)
{
    const double lr = nd->p[0], ts = (double)nd->n[0];
    for (ptrdiff_t i = 0; i < n; i++) out[i] = lr / sqrt((i64_to_d(t[i]) + ts) / ts);
}

static LRCI_HOT void k_polynomial(node_p nd, const int64_t *restrict t, double *restrict out,
                         ptrdiff_t n)
{
    const double a = nd->p[0], b = nd->p[1], pw = nd->p[2], amp = a - b;
    const int64_t T = nd->n[0];
    const double Td = (double)T;
    if (pw == 1.0) {
        for (ptrdiff_t i = 0; i < n; i++) {
            const int64_t r = t[i] < T ? t[i] : T;
            out[i] = amp * (u52_to_d((uint64_t)(T - r)) / Td) + b;
        }
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t r = t[i] < T ? t[i] : T;
        const double f = u52_to_d((uint64_t)(T - r)) / Td; /* 1 - r/T, correctly rounded */
        out[i] = amp * pow(f, pw) + b;
    }
}

static LRCI_HOT void k_linear(node_p nd, const int64_t *restrict t, double *restrict out,
                             ptrdiff_t n)
{
    const double a = nd->p[0], b = nd->p[1], d = b - a, md = -d;
    const int64_t T = nd->n[0];
    const double Td = (double)T;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t r = t[i] < T ? t[i] : T;
        const int64_t first = 2 * r <= T;
        /* two-sided lerp, exact at both ends: first ? a + d w : b - d w */
        const double w = u52_to_d((uint64_t)(first ? r : T - r)) / Td;
        out[i] = pick(first, a, b) + pick(first, d, md) * w;
    }
}

static LRCI_HOT void k_cosine_hold(node_p nd, const int64_t *restrict t, double *restrict out,
                                  ptrdiff_t n)
{
    const double hi = nd->p[0], lo = nd->p[1];
    const int64_t T = nd->n[0];
    const double twoT = 2.0 * (double)T;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t r = t[i] < T ? t[i] : T;
        out[i] = cos_anneal_u52(hi, lo, r, T, twoT);
    }
}

static void k_cosine_general(node_p nd, const int64_t *restrict t, double *restrict out,
                             ptrdiff_t n)
{
    const double hi = nd->p[0], lo = nd->p[1], e = nd->p[2];
    const int64_t T = nd->n[0];
    const double twoT = 2.0 * (double)T;
    const int periodic = nd->mode & 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        int64_t r;
        if (periodic) { /* cos(pi t / T) has period 2T and is even: exact reduction */
            r = t[i] % (2 * T);
            if (r > T) r = 2 * T - r;
        } else {
            r = t[i] < T ? t[i] : T;
        }
        if (e == 1.0) {
            out[i] = cos_anneal_u52(hi, lo, r, T, twoT);
        } else {
            const double f = cos_anneal_u52(1.0, 0.0, r, T, twoT);
            out[i] = lo + (hi - lo) * pow(f, e);
        }
    }
}

static LRCI_HOT void k_sqrt_decay(node_p nd, const int64_t *restrict t, double *restrict out,
                                 ptrdiff_t n)
{
    const double a = nd->p[0], b = nd->p[1], amp = a - b;
    const int64_t T = nd->n[0];
    const double Td = (double)T;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t r = t[i] < T ? t[i] : T;
        /* two-sided, exact at both ends (a at r = 0, b at r = T), like k_linear:
         * b + amp (1 - s) alone rounds to a +- 1 ulp at r = 0 */
        const double s = sqrt(u52_to_d((uint64_t)r) / Td);
        out[i] = s <= 0.5 ? a - amp * s : b + amp * (1.0 - s);
    }
}

static void k_restarts(node_p nd, const int64_t *restrict t, double *restrict out, ptrdiff_t n)
{
    const double lr = nd->p[0], lo = nd->p[1], decay = nd->p[2], ws = nd->p[3];
    const int64_t T0 = nd->n[0], mult = nd->n[1], w = nd->n[2];
    const int def_start = nd->mode & 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t ti = t[i];
        int64_t c, start, len;
        if (mult == 1) {
            c = ti / T0;
            start = c * T0;
            len = T0;
        } else {
            c = 0;
            start = 0;
            len = T0;
            while (ti - start >= len) { /* start + len <= ti: no overflow */
                start += len;
                c++;
                len = len > INT64_MAX / mult ? INT64_MAX : len * mult;
            }
        }
        const int64_t tl = ti - start;
        const double peak = decay == 1.0 ? lr : lr * pow(decay, (double)c);
        double v;
        if (tl < w) {
            if (def_start)
                v = peak * u52_to_d((uint64_t)(tl + 1)) / (double)(w + 1);
            else
                v = ws + (peak - ws) * (u52_to_d((uint64_t)tl) / (double)w);
        } else {
            v = cos_anneal_i64(peak, lo, tl - w, len - w);
        }
        out[i] = v;
    }
}

static void k_cyclic(node_p nd, const int64_t *restrict t, double *restrict out, ptrdiff_t n)
{
    const double base = nd->p[0], amp = nd->p[1] - nd->p[0], g = nd->p[2];
    const int64_t up = nd->n[0], down = nd->n[1], total = up + down;
    const double upd = (double)up, downd = (double)down;
    const int mode = nd->mode;
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t c = t[i] / total, pos = t[i] - c * total;
        const double frac = pos <= up ? u52_to_d((uint64_t)pos) / upd
                                      : u52_to_d((uint64_t)(total - pos)) / downd;
        double scale = 1.0;
        if (mode == 1) scale = ldexp(1.0, -(int)(c < 2000 ? c : 2000)); /* 2^-c, exact */
        else if (mode == 2) scale = pow(g, i64_to_d(t[i]));
        out[i] = base + amp * frac * scale;
    }
}

/* One interpolation segment (x0, y0) -> (x1, y1) over a run of steps inside it. */
static LRCI_HOT void k_segment(const int64_t *restrict t, double *restrict out, ptrdiff_t n,
                              double x0, double x1, double y0, double y1, int cosine)
{
    const double den = x1 - x0, d = y1 - y0, md = -d;
    if (cosine) {
        for (ptrdiff_t i = 0; i < n; i++) {
            const double ti = i64_to_d(t[i]);
            out[i] = cos_anneal_real(y0, y1, ti - x0, x1 - ti, den);
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            const double ti = i64_to_d(t[i]), num = ti - x0, comp = x1 - ti;
            const int64_t first = 2.0 * num <= den;
            /* two-sided lerp, exact at both knots: first ? y0 + d num/den : y1 - d comp/den */
            out[i] = pick(first, y0, y1) + pick(first, d, md) * (pick(first, num, comp) / den);
        }
    }
}

static void k_interp(const lrc_sched_program *P, node_p nd, const int64_t *restrict t,
                     double *restrict out, ptrdiff_t n)
{
    const double *x = P->reals + nd->n[0];
    const int64_t m = nd->n[1];
    const double *y = x + m;
    const int cosine = nd->mode & 1;
    ptrdiff_t i = 0;
    while (i < n) {
        /* segment k: x[k-1] <= t < x[k] (k = 0: before the first knot, k = m: after the
         * last); extend a run of steps in the same segment and evaluate it in one loop */
        const int64_t k = count_le_f64(x, m, i64_to_d(t[i]));
        const double lo = k > 0 ? x[k - 1] : -INFINITY, hi = k < m ? x[k] : INFINITY;
        ptrdiff_t j = i + 1;
        while (j < n) {
            const double tj = i64_to_d(t[j]);
            if (!(tj >= lo && tj < hi)) break;
            j++;
        }
        if (k == 0 || k == m) {
            const double v = k == 0 ? y[0] : y[m - 1];
            for (ptrdiff_t q = i; q < j; q++) out[q] = v;
        } else {
            k_segment(t + i, out + i, j - i, x[k - 1], x[k], y[k - 1], y[k], cosine);
        }
        i = j;
    }
}

/* ---------- the interpreter ------------------------------------------------------------- */

static void eval_node(const lrc_sched_program *P, int32_t k, const int64_t *restrict t,
                      double *restrict out, ptrdiff_t n);

/* Evaluate child `c` on t[i..j) shifted by -off into out[i..j). */
static void eval_shifted(const lrc_sched_program *P, int32_t c, const int64_t *restrict t,
                         double *restrict out, ptrdiff_t n, int64_t off)
{
    if (off == 0) {
        eval_node(P, c, t, out, n);
        return;
    }
    int64_t lt[BLK];
    for (ptrdiff_t i = 0; i < n; i++) lt[i] = t[i] - off;
    eval_node(P, c, lt, out, n);
}

static LRCI_HOT void k_mul(double *restrict out, const double *restrict b, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = out[i] * b[i];
}

static LRCI_HOT void k_scale(double *restrict out, double c, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = out[i] * c;
}

static LRCI_HOT void k_clip(double *restrict out, double lo, double hi, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        double v = out[i];
        v = v < lo ? lo : v;
        out[i] = v > hi ? hi : v;
    }
}

static void eval_join(const lrc_sched_program *P, node_p nd, const int64_t *restrict t,
                      double *restrict out, ptrdiff_t n)
{
    const int64_t *kids = P->ints + nd->n[0];
    const int64_t k = nd->n[1];
    const int64_t *b = kids + k; /* k - 1 boundaries */
    ptrdiff_t i = 0;
    while (i < n) {
        const int64_t seg = count_le_i64(b, k - 1, t[i]);
        const int64_t lo = seg > 0 ? b[seg - 1] : 0;
        const int64_t hi = seg < k - 1 ? b[seg] : INT64_MAX;
        ptrdiff_t j = i + 1;
        while (j < n && t[j] >= lo && t[j] < hi) j++; /* a run in the same segment */
        eval_shifted(P, (int32_t)kids[seg], t + i, out + i, j - i, lo);
        i = j;
    }
}

static LRCI_HOT void k_ramp(const int64_t *restrict t, double *restrict out, ptrdiff_t n,
                           double start, double peak, int64_t S, int def_start)
{
    if (def_start) {
        const double S1d = (double)S + 1.0;
        for (ptrdiff_t i = 0; i < n; i++) out[i] = peak * u52_to_d((uint64_t)(t[i] + 1)) / S1d;
    } else {
        const double Sd = (double)S, d = peak - start;
        for (ptrdiff_t i = 0; i < n; i++) out[i] = start + d * (u52_to_d((uint64_t)t[i]) / Sd);
    }
}

static void eval_warmup(const lrc_sched_program *P, node_p nd, const int64_t *restrict t,
                        double *restrict out, ptrdiff_t n)
{
    const int64_t S = nd->n[0];
    const int32_t c = nd->child[0];
    double peak = 0.0;
    int have_peak = 0;
    ptrdiff_t i = 0;
    while (i < n) {
        const int ramp = t[i] < S;
        ptrdiff_t j = i + 1;
        while (j < n && (t[j] < S) == ramp) j++;
        if (ramp) {
            if (!have_peak) {
                const int64_t zero = 0;
                eval_node(P, c, &zero, &peak, 1);
                have_peak = 1;
            }
            k_ramp(t + i, out + i, j - i, nd->p[0], peak, S, nd->mode & 1);
        } else {
            eval_shifted(P, c, t + i, out + i, j - i, S);
        }
        i = j;
    }
}

static void eval_node(const lrc_sched_program *P, int32_t k, const int64_t *restrict t,
                      double *restrict out, ptrdiff_t n)
{
    node_p nd = &P->nodes[k];
    switch (nd->kind) {
    case LRC_SCHED_CONSTANT: k_constant(nd, t, out, n); break;
    case LRC_SCHED_STEP: k_step(nd, t, out, n); break;
    case LRC_SCHED_PIECEWISE_CONST: k_pconst(P, nd, t, out, n); break;
    case LRC_SCHED_EXPONENTIAL: k_exponential(nd, t, out, n); break;
    case LRC_SCHED_INVERSE_TIME: k_inverse_time(nd, t, out, n); break;
    case LRC_SCHED_INVERSE_SQRT: k_inverse_sqrt(nd, t, out, n); break;
    case LRC_SCHED_POLYNOMIAL: k_polynomial(nd, t, out, n); break;
    case LRC_SCHED_LINEAR: k_linear(nd, t, out, n); break;
    case LRC_SCHED_COSINE:
        if (!(nd->mode & 1) && nd->p[2] == 1.0) k_cosine_hold(nd, t, out, n);
        else k_cosine_general(nd, t, out, n);
        break;
    case LRC_SCHED_SQRT_DECAY: k_sqrt_decay(nd, t, out, n); break;
    case LRC_SCHED_COSINE_RESTARTS: k_restarts(nd, t, out, n); break;
    case LRC_SCHED_CYCLIC: k_cyclic(nd, t, out, n); break;
    case LRC_SCHED_INTERP: k_interp(P, nd, t, out, n); break;
    case LRC_SCHED_JOIN: eval_join(P, nd, t, out, n); break;
    case LRC_SCHED_WARMUP: eval_warmup(P, nd, t, out, n); break;
    case LRC_SCHED_SCALE:
        eval_node(P, nd->child[0], t, out, n);
        k_scale(out, nd->p[0], n);
        break;
    case LRC_SCHED_PRODUCT: {
        double tmp[BLK];
        eval_node(P, nd->child[0], t, out, n);
        eval_node(P, nd->child[1], t, tmp, n);
        k_mul(out, tmp, n);
        break;
    }
    case LRC_SCHED_CLIP:
        eval_node(P, nd->child[0], t, out, n);
        k_clip(out, nd->p[0], nd->p[1], n);
        break;
    default: /* unreachable for a checked program */
        for (ptrdiff_t i = 0; i < n; i++) out[i] = NAN;
    }
}

/* ---------- driver -------------------------------------------------------------------- */

static LRCI_HOT int64_t or_all(const int64_t *restrict t, ptrdiff_t n)
{
    int64_t acc = 0;
    for (ptrdiff_t i = 0; i < n; i++) acc |= t[i];
    return acc;
}

static LRCI_HOT int64_t any_nonfinite(const double *restrict v, ptrdiff_t n)
{
    int64_t bad = 0;
    for (ptrdiff_t i = 0; i < n; i++) bad |= (int64_t) !(fabs(v[i]) <= DBL_MAX);
    return bad;
}

static int eval_range(const lrc_sched_program *P, const int64_t *t, double *out, ptrdiff_t lo,
                      ptrdiff_t hi)
{
    const int32_t root = P->n_nodes - 1;
    int status = LRC_OK;
    for (ptrdiff_t b = lo; b < hi; b += BLK) {
        const ptrdiff_t m = hi - b < BLK ? hi - b : BLK;
        if (or_all(t + b, m) < 0) return LRC_EINVAL; /* a negative step */
        eval_node(P, root, t + b, out + b, m);
        if (any_nonfinite(out + b, m)) status = LRC_NONFINITE;
    }
    return status;
}

int lrc_sched_eval(const lrc_sched_program *prog, const int64_t *steps, double *out,
                   ptrdiff_t n, int nthreads)
{
    if (prog == NULL || prog->nodes == NULL || prog->n_nodes < 1 || n < 0) return LRC_EINVAL;
    if (n > 0 && (steps == NULL || out == NULL)) return LRC_EINVAL;
    const int nt = lrci_team_size(n, nthreads);
    if (nt <= 1) return eval_range(prog, steps, out, 0, n);
    int status = LRC_OK;
#ifdef _OPENMP
    /* LRC_EINVAL (2) outranks LRC_NONFINITE (1) */
#pragma omp parallel num_threads(nt) reduction(max : status)
    {
        ptrdiff_t lo, hi;
        lrci_thread_range(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        int s = eval_range(prog, steps, out, lo, hi);
        status = s > status ? s : status;
    }
#endif
    return status;
}

/* ---------- validation ---------------------------------------------------------------- */

static int len_ok(int64_t v) { return v >= 1 && v <= LRC_SCHED_MAX_LEN; }
static int fin(double v) { return isfinite(v); }
static int fin_nonneg(double v) { return isfinite(v) && v >= 0.0; }

static int check_node(const lrc_sched_program *P, int32_t k, const int32_t *depth,
                      int32_t *mydepth)
{
    node_p nd = &P->nodes[k];
    const int64_t *n = nd->n;
    const double *p = nd->p;
    int32_t nchild = 0, kids[2] = {-1, -1};
    switch (nd->kind) {
    case LRC_SCHED_CONSTANT:
        if (!fin(p[0])) return 0;
        break;
    case LRC_SCHED_STEP:
        if (!fin(p[0]) || !fin_nonneg(p[1]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_PIECEWISE_CONST: {
        const int64_t a = n[0], m = n[1], b = n[2];
        if (a < 0 || m < 0 || m > P->n_ints - a || b < 0 || m + 1 > P->n_reals - b) return 0;
        for (int64_t i = 0; i < m; i++) {
            const int64_t v = P->ints[a + i];
            if (v < 1 || v > LRC_SCHED_MAX_LEN || (i > 0 && v <= P->ints[a + i - 1])) return 0;
        }
        for (int64_t i = 0; i <= m; i++)
            if (!fin(P->reals[b + i])) return 0;
        break;
    }
    case LRC_SCHED_EXPONENTIAL:
        if (!fin(p[0]) || !fin_nonneg(p[1]) || !fin(p[2]) || isnan(p[3]) || p[3] == -INFINITY ||
            p[2] > p[3] || !len_ok(n[0]))
            return 0;
        break;
    case LRC_SCHED_INVERSE_TIME:
        if (!fin(p[0]) || !fin_nonneg(p[1]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_INVERSE_SQRT:
        if (!fin(p[0]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_POLYNOMIAL:
        if (!fin(p[0]) || !fin(p[1]) || !fin_nonneg(p[2]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_LINEAR:
    case LRC_SCHED_SQRT_DECAY:
        if (!fin(p[0]) || !fin(p[1]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_COSINE:
        if (!fin(p[0]) || !fin(p[1]) || !fin_nonneg(p[2]) || !len_ok(n[0])) return 0;
        break;
    case LRC_SCHED_COSINE_RESTARTS:
        if (!fin(p[0]) || !fin(p[1]) || !fin_nonneg(p[2]) || !fin(p[3]) || !len_ok(n[0]) ||
            n[1] < 1 || n[1] > 1024 || n[2] < 0 || n[2] >= n[0])
            return 0;
        break;
    case LRC_SCHED_CYCLIC:
        if (!fin(p[0]) || !fin(p[1]) || !fin_nonneg(p[2]) || !len_ok(n[0]) || n[1] < 0 ||
            n[1] > LRC_SCHED_MAX_LEN || nd->mode < 0 || nd->mode > 2)
            return 0;
        break;
    case LRC_SCHED_INTERP: {
        const int64_t a = n[0], m = n[1];
        if (a < 0 || m < 2 || m > (P->n_reals - a) / 2) return 0;
        const double *x = P->reals + a;
        for (int64_t i = 0; i < 2 * m; i++)
            if (!fin(x[i])) return 0;
        for (int64_t i = 1; i < m; i++)
            if (!(x[i] > x[i - 1])) return 0;
        break;
    }
    case LRC_SCHED_JOIN: {
        const int64_t a = n[0], kk = n[1];
        if (a < 0 || kk < 1 || kk > (P->n_ints - a + 1) / 2) return 0;
        const int64_t *ch = P->ints + a, *b = ch + kk;
        for (int64_t i = 0; i < kk - 1; i++)
            if (b[i] < 1 || b[i] > LRC_SCHED_MAX_LEN || (i > 0 && b[i] <= b[i - 1])) return 0;
        int32_t dmax = 0;
        for (int64_t i = 0; i < kk; i++) {
            if (ch[i] < 0 || ch[i] >= k) return 0;
            if (depth[ch[i]] > dmax) dmax = depth[ch[i]];
        }
        *mydepth = dmax + 1;
        return *mydepth <= LRC_SCHED_MAX_DEPTH;
    }
    case LRC_SCHED_WARMUP:
        if (!fin(p[0]) || !len_ok(n[0])) return 0;
        nchild = 1;
        break;
    case LRC_SCHED_SCALE:
        if (!fin(p[0])) return 0;
        nchild = 1;
        break;
    case LRC_SCHED_PRODUCT:
        nchild = 2;
        break;
    case LRC_SCHED_CLIP:
        if (!fin(p[0]) || isnan(p[1]) || p[1] == -INFINITY || p[0] > p[1]) return 0;
        nchild = 1;
        break;
    default:
        return 0;
    }
    int32_t dmax = 0;
    for (int32_t c = 0; c < nchild; c++) {
        kids[c] = nd->child[c];
        if (kids[c] < 0 || kids[c] >= k) return 0;
        if (depth[kids[c]] > dmax) dmax = depth[kids[c]];
    }
    *mydepth = nchild ? dmax + 1 : 0;
    return *mydepth <= LRC_SCHED_MAX_DEPTH;
}

int lrc_sched_check(const lrc_sched_program *prog, int32_t *bad_node)
{
    if (bad_node) *bad_node = -1;
    if (prog == NULL || prog->nodes == NULL || prog->n_nodes < 1 || prog->n_ints < 0 ||
        prog->n_reals < 0 || (prog->n_ints > 0 && prog->ints == NULL) ||
        (prog->n_reals > 0 && prog->reals == NULL))
        return LRC_EINVAL;
    int32_t *depth = (int32_t *)malloc(sizeof(int32_t) * (size_t)prog->n_nodes);
    if (depth == NULL) return LRC_ENOMEM;
    int status = LRC_OK;
    for (int32_t k = 0; k < prog->n_nodes; k++) {
        if (!check_node(prog, k, depth, &depth[k])) {
            if (bad_node) *bad_node = k;
            status = LRC_EINVAL;
            break;
        }
    }
    free(depth);
    return status;
}
