/* eigen.c -- symmetric mat-vecs (one triangle, CSR) and reverse-communication solvers for
 * an extreme eigenpair of a symmetric operator (thick-restart Lanczos, power iteration).
 * See the eigen section of lrcore.h for the contract. */
#include "internal.h"

/* Contract a*b + c into fused multiply-adds in this file (-std=c11 turns contraction off).
 * It only removes a rounding; results stay deterministic for a given build and CPU path.
 * File-wide so that helpers inline into the cloned kernels (a per-function optimize
 * attribute would block inlining). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------------------------ */
/* thread split of a stored triangle: equal numbers of stored elements per thread         */
/* ------------------------------------------------------------------------------------ */
static ptrdiff_t sym_cut(ptrdiff_t n, int upper, int t, int nt)
{
    if (t <= 0) return 0;
    if (t >= nt) return n;
    const double f = (double)t / nt;
    double r = upper ? (double)n * (1.0 - sqrt(1.0 - f)) : (double)n * sqrt(f);
    ptrdiff_t c = ((ptrdiff_t)r) & ~(ptrdiff_t)3; /* multiples of 4 keep 4-row blocks */
    if (c < 0) c = 0;
    if (c > n) c = n;
    return c;
}

static void sym_split(ptrdiff_t n, int upper, int t, int nt, ptrdiff_t *r0, ptrdiff_t *r1)
{
    *r0 = sym_cut(n, upper, t, nt);
    *r1 = sym_cut(n, upper, t + 1, nt);
}

int lrc_symv_workspace_size(ptrdiff_t n, int nthreads, size_t *size)
{
    if (n < 0 || size == NULL) return LRC_EINVAL;
    if (n == 0) {
        *size = 0;
        return LRC_OK;
    }
    int nt = lrci_team_size(n * (n + 1) / 2, nthreads);
    *size = (size_t)(nt > 1 ? nt : 1) * (size_t)n; /* also enough for lrc_symstats */
    return LRC_OK;
}

/* ---- type-generic kernels ----------------------------------------------------------- */
/* The mat-vec kernels are cloned for x86-64-v3 (AVX2 + FMA) rather than plain AVX2 (what
 * LRCI_HOT gives): with fused multiply-adds the four-row loops keep their accumulators in
 * registers.                                                                            */
#if !defined(LRC_NATIVE) && !defined(LRC_NO_MULTIVERSION) && defined(__x86_64__) && \
    defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LRCI_HOT_FMA __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LRCI_HOT_FMA LRCI_HOT
#endif
#define LRCI_EIGEN_DENSE
#define T double
#define SFX f64
#define TMAX DBL_MAX
#include "eigen_impl.inc"
#undef T
#undef SFX
#undef TMAX
#define T float
#define SFX f32
#define TMAX FLT_MAX
#include "eigen_impl.inc"
#undef T
#undef SFX
#undef TMAX
#undef LRCI_EIGEN_DENSE

#define LRCI_EIGEN_CSR
#define T double
#define SFX f64
#define TMAX DBL_MAX
#define I int32_t
#define ISFX i32
#include "eigen_impl.inc"
#undef I
#undef ISFX
#define I int64_t
#define ISFX i64
#include "eigen_impl.inc"
#undef I
#undef ISFX
#undef T
#undef SFX
#undef TMAX
#define T float
#define SFX f32
#define TMAX FLT_MAX
#define I int32_t
#define ISFX i32
#include "eigen_impl.inc"
#undef I
#undef ISFX
#define I int64_t
#define ISFX i64
#include "eigen_impl.inc"
#undef I
#undef ISFX
#undef T
#undef SFX
#undef TMAX
#undef LRCI_EIGEN_CSR

/* ---- bandwidth reference ----------------------------------------------------------- */
static LRCI_HOT_FMA double stream_sum_range(const double *restrict a, ptrdiff_t lo,
                                           ptrdiff_t hi)
{
    /* four interleaved accumulators (each a vector after vectorisation) so the loop is
     * limited by memory, not by the latency of the additions */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    const double *restrict p = a + lo;
    const ptrdiff_t len = hi - lo, l4 = len / 4 * 4;
    ptrdiff_t i;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (i = 0; i < l4; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (i = l4; i < len; i++) s0 += p[i];
    return (s0 + s1) + (s2 + s3);
}

double lrci_stream_sum_f64(const double *a, ptrdiff_t n, int nthreads)
{
    if (n <= 0 || a == NULL) return 0.0;
    int nt = lrci_team_size(n, nthreads);
    if (nt <= 1) return stream_sum_range(a, 0, n);
    double s = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) reduction(+ : s)
    {
        ptrdiff_t lo, hi;
        lrci_thread_range(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        s += stream_sum_range(a, lo, hi);
    }
#endif
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* small dense helpers: Householder tridiagonalisation and implicit QL (EISPACK tred2 /  */
/* tql2, after the public-domain JAMA translation)                                       */
/* ------------------------------------------------------------------------------------ */

/* Reduce the symmetric n x n matrix in V (row-major, full storage) to tridiagonal form
 * T = Q^T A Q.  On return V holds Q, d the diagonal, e[1..n) the sub-diagonal (e[i] =
 * T[i][i-1], e[0] = 0).  Q fixes the last coordinate: Q[n-1][*] = Q[*][n-1] = e_{n-1}.  */
static void tred2(double *V, double *d, double *e, int n)
{
#define A_(i, j) V[(ptrdiff_t)(i) * n + (j)]
    for (int j = 0; j < n; j++) d[j] = A_(n - 1, j);
    for (int i = n - 1; i > 0; i--) {
        double scale = 0.0, h = 0.0;
        for (int k = 0; k < i; k++) scale += fabs(d[k]);
        if (scale == 0.0) {
            e[i] = d[i - 1];
            for (int j = 0; j < i; j++) {
                d[j] = A_(i - 1, j);
                A_(i, j) = 0.0;
                A_(j, i) = 0.0;
            }
        } else {
            for (int k = 0; k < i; k++) {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            double f = d[i - 1];
            double g = sqrt(h);
            if (f > 0) g = -g;
            e[i] = scale * g;
            h = h - f * g;
            d[i - 1] = f - g;
            for (int j = 0; j < i; j++) e[j] = 0.0;
            for (int j = 0; j < i; j++) {
                f = d[j];
                A_(j, i) = f;
                g = e[j] + A_(j, j) * f;
                for (int k = j + 1; k <= i - 1; k++) {
                    g += A_(k, j) * d[k];
                    e[k] += A_(k, j) * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for (int j = 0; j < i; j++) {
                e[j] /= h;
                f += e[j] * d[j];
            }
            double hh = f / (h + h);
            for (int j = 0; j < i; j++) e[j] -= hh * d[j];
            for (int j = 0; j < i; j++) {
                f = d[j];
                g = e[j];
                for (int k = j; k <= i - 1; k++) A_(k, j) -= (f * e[k] + g * d[k]);
                d[j] = A_(i - 1, j);
                A_(i, j) = 0.0;
            }
        }
        d[i] = h;
    }
    for (int i = 0; i < n - 1; i++) {
        A_(n - 1, i) = A_(i, i);
        A_(i, i) = 1.0;
        double h = d[i + 1];
        if (h != 0.0) {
            for (int k = 0; k <= i; k++) d[k] = A_(k, i + 1) / h;
            for (int j = 0; j <= i; j++) {
                double g = 0.0;
                for (int k = 0; k <= i; k++) g += A_(k, i + 1) * A_(k, j);
                for (int k = 0; k <= i; k++) A_(k, j) -= g * d[k];
            }
        }
        for (int k = 0; k <= i; k++) A_(k, i + 1) = 0.0;
    }
    for (int j = 0; j < n; j++) {
        d[j] = A_(n - 1, j);
        A_(n - 1, j) = 0.0;
    }
    A_(n - 1, n - 1) = 1.0;
    e[0] = 0.0;
#undef A_
}

int lrci_tridiag_eig(double *d, double *e, ptrdiff_t n_, double *z, ptrdiff_t nrows)
{
    if (n_ < 0 || nrows < 0 || (n_ > 0 && (d == NULL || (n_ > 1 && e == NULL))))
        return LRC_EINVAL;
    if (n_ == 0) return LRC_OK;
    const int n = (int)n_;
    for (int i = 0; i < n; i++)
        if (!isfinite(d[i]) || (i < n - 1 && !isfinite(e[i]))) return LRC_NONFINITE;
    /* work with e[0..n) where e[i] couples i and i+1, e[n-1] = 0 */
    double *E = e; /* e has n-1 entries; use a local tail for e[n-1] */
    double f = 0.0, tst1 = 0.0;
    const double eps = DBL_EPSILON;
    int sweeps = 0;
#define EE(i) ((i) < n - 1 ? E[(i)] : 0.0)
    for (int l = 0; l < n; l++) {
        const double el = EE(l);
        tst1 = fmax(tst1, fabs(d[l]) + fabs(el));
        int m = l;
        while (m < n - 1) {
            if (fabs(E[m]) <= eps * tst1) break;
            m++;
        }
        if (m > l) {
            do {
                if (++sweeps > 30 * n) return LRC_NOT_CONVERGED;
                double g = d[l];
                double p = (d[l + 1] - g) / (2.0 * E[l]);
                double r = hypot(p, 1.0);
                if (p < 0) r = -r;
                d[l] = E[l] / (p + r);
                d[l + 1] = E[l] * (p + r);
                const double dl1 = d[l + 1];
                double h = g - d[l];
                for (int i = l + 2; i < n; i++) d[i] -= h;
                f += h;
                p = d[m];
                double c = 1.0, c2 = 1.0, c3 = 1.0;
                const double el1 = EE(l + 1);
                double s = 0.0, s2 = 0.0;
                for (int i = m - 1; i >= l; i--) {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * E[i];
                    h = c * p;
                    r = hypot(p, E[i]);
                    if (i + 1 < n - 1) E[i + 1] = s * r;
                    s = E[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for (ptrdiff_t k = 0; k < nrows; k++) {
                        double *zk = z + k * n_;
                        h = zk[i + 1];
                        zk[i + 1] = s * zk[i] + c * h;
                        zk[i] = c * zk[i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * E[l] / dl1;
                E[l] = s * p;
                d[l] = c * p;
            } while (fabs(E[l]) > eps * tst1);
        }
        d[l] = d[l] + f;
        if (l < n - 1) E[l] = 0.0;
    }
#undef EE
    /* sort ascending, permuting the columns of z alike */
    for (int i = 0; i < n - 1; i++) {
        int k = i;
        double p = d[i];
        for (int j = i + 1; j < n; j++)
            if (d[j] < p) {
                k = j;
                p = d[j];
            }
        if (k != i) {
            d[k] = d[i];
            d[i] = p;
            for (ptrdiff_t r = 0; r < nrows; r++) {
                double *zr = z + r * n_;
                double t = zr[i];
                zr[i] = zr[k];
                zr[k] = t;
            }
        }
    }
    return LRC_OK;
}

/* ------------------------------------------------------------------------------------ */
/* random numbers: xoshiro256** seeded by splitmix64 (Blackman & Vigna 2018)              */
/* ------------------------------------------------------------------------------------ */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro(uint64_t s[4])
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&seed);
}

/* n standard normal numbers (Box-Muller) */
static void rng_normal(uint64_t s[4], double *out, ptrdiff_t n)
{
    const double two_pi = 6.283185307179586476925;
    for (ptrdiff_t i = 0; i < n; i += 2) {
        double u1 = ((double)(xoshiro(s) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
        double u2 = (double)(xoshiro(s) >> 11) * 0x1.0p-53;         /* [0, 1) */
        double r = sqrt(-2.0 * log(u1));
        out[i] = r * cos(two_pi * u2);
        if (i + 1 < n) out[i + 1] = r * sin(two_pi * u2);
    }
}

/* ------------------------------------------------------------------------------------ */
/* vector kernels of the solvers (double, OpenMP over row blocks)                         */
/* ------------------------------------------------------------------------------------ */
/* row-block lengths: projections stream the basis (long blocks amortise the reductions);
 * the update re-reads each block of the basis for the second projection, so its block
 * must stay in L2 (2048 rows x 32 columns = 512 KiB) */
#define LRCI_BLK_PROJ 8192
#define LRCI_BLK 2048

static inline double dot_(const double *restrict a, const double *restrict b, ptrdiff_t n)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (ptrdiff_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double nrm2_(const double *x, ptrdiff_t n)
{
    /* scaled two-norm, safe from overflow and underflow */
    double amax = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) amax = fmax(amax, fabs(x[i]));
    if (amax == 0.0 || !isfinite(amax)) return amax;
    double s = 0.0, inv = 1.0 / amax;
    for (ptrdiff_t i = 0; i < n; i++) {
        double t = x[i] * inv;
        s += t * t;
    }
    return amax * sqrt(s);
}

/* h[c] += V[:, c]^T w over one block of rows, four columns at a time so that four
 * independent vector accumulators hide the latency of the additions */
static inline __attribute__((always_inline)) void block_dots(const double *restrict V, ptrdiff_t n, int k,
                              const double *restrict wb, ptrdiff_t b, ptrdiff_t len,
                              double *restrict h)
{
    int c = 0;
    for (; c + 4 <= k; c += 4) {
        const double *restrict v0 = V + (size_t)c * n + b;
        const double *restrict v1 = v0 + n;
        const double *restrict v2 = v1 + n;
        const double *restrict v3 = v2 + n;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (ptrdiff_t i = 0; i < len; i++) {
            const double x = wb[i];
            s0 += v0[i] * x;
            s1 += v1[i] * x;
            s2 += v2[i] * x;
            s3 += v3[i] * x;
        }
        h[c] += s0;
        h[c + 1] += s1;
        h[c + 2] += s2;
        h[c + 3] += s3;
    }
    for (; c < k; c++) {
        const double *restrict v0 = V + (size_t)c * n + b;
        double s0 = 0.0, s1 = 0.0;
        ptrdiff_t i = 0;
        const ptrdiff_t l2 = len / 2 * 2;
#pragma omp simd reduction(+ : s0, s1)
        for (i = 0; i < l2; i += 2) {
            s0 += v0[i] * wb[i];
            s1 += v0[i + 1] * wb[i + 1];
        }
        for (i = l2; i < len; i++) s0 += v0[i] * wb[i];
        h[c] += s0 + s1;
    }
}

/* h[0..k) = V[:, 0..k)^T w and h[k] = w^T w on rows [lo, hi)  (V column-major, leading
 * dimension n) */
static LRCI_HOT_FMA void proj_range(const double *restrict V, ptrdiff_t n, int k,
                                   const double *restrict w, double *restrict h, ptrdiff_t lo,
                                   ptrdiff_t hi)
{
    for (int c = 0; c <= k; c++) h[c] = 0.0;
    double q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0;
    for (ptrdiff_t b = lo; b < hi; b += LRCI_BLK_PROJ) {
        const ptrdiff_t e = b + LRCI_BLK_PROJ < hi ? b + LRCI_BLK_PROJ : hi, len = e - b;
        const double *restrict wb = w + b;
        block_dots(V, n, k, wb, b, len, h);
        const ptrdiff_t l4 = len / 4 * 4;
        ptrdiff_t i;
#pragma omp simd reduction(+ : q0, q1, q2, q3)
        for (i = 0; i < l4; i += 4) {
            q0 += wb[i] * wb[i];
            q1 += wb[i + 1] * wb[i + 1];
            q2 += wb[i + 2] * wb[i + 2];
            q3 += wb[i + 3] * wb[i + 3];
        }
        for (i = l4; i < len; i++) q0 += wb[i] * wb[i];
    }
    h[k] = (q0 + q1) + (q2 + q3);
}

/* rows [lo, hi): w -= V h; then h2 = V^T w and ||w||^2 on the updated w (the block of
 * the basis is re-read from L2 for h2) */
static LRCI_HOT_FMA double update_range(const double *restrict V, ptrdiff_t n, int k,
                                       double *restrict w, const double *restrict h,
                                       double *restrict h2, ptrdiff_t lo, ptrdiff_t hi)
{
    double q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0;
    for (int c = 0; c < k; c++) h2[c] = 0.0;
    for (ptrdiff_t b = lo; b < hi; b += LRCI_BLK) {
        const ptrdiff_t e = b + LRCI_BLK < hi ? b + LRCI_BLK : hi, len = e - b;
        double *restrict wb = w + b;
        int c = 0;
        for (; c + 4 <= k; c += 4) {
            const double *restrict v0 = V + (size_t)c * n + b;
            const double *restrict v1 = v0 + n;
            const double *restrict v2 = v1 + n;
            const double *restrict v3 = v2 + n;
            const double h0 = h[c], h1 = h[c + 1], h2_ = h[c + 2], h3 = h[c + 3];
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++)
                wb[i] -= (v0[i] * h0 + v1[i] * h1) + (v2[i] * h2_ + v3[i] * h3);
        }
        for (; c < k; c++) {
            const double *restrict v0 = V + (size_t)c * n + b;
            const double h0 = h[c];
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++) wb[i] -= v0[i] * h0;
        }
        block_dots(V, n, k, wb, b, len, h2);
        const ptrdiff_t l4 = len / 4 * 4;
        ptrdiff_t i;
#pragma omp simd reduction(+ : q0, q1, q2, q3)
        for (i = 0; i < l4; i += 4) {
            q0 += wb[i] * wb[i];
            q1 += wb[i + 1] * wb[i + 1];
            q2 += wb[i + 2] * wb[i + 2];
            q3 += wb[i + 3] * wb[i + 3];
        }
        for (i = l4; i < len; i++) q0 += wb[i] * wb[i];
    }
    return (q0 + q1) + (q2 + q3);
}

/* rows [lo, hi): w -= sum_s coef[s] V[:, idx[s]]; returns ||w||^2 over the rows */
static LRCI_HOT_FMA double axpy_sel_range(const double *restrict V, ptrdiff_t n, int ns,
                                         const int *restrict idx, const double *restrict coef,
                                         double *restrict w, ptrdiff_t lo, ptrdiff_t hi)
{
    double q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0;
    for (ptrdiff_t b = lo; b < hi; b += LRCI_BLK) {
        const ptrdiff_t e = b + LRCI_BLK < hi ? b + LRCI_BLK : hi, len = e - b;
        double *restrict wb = w + b;
        int c = 0;
        for (; c + 4 <= ns; c += 4) {
            const double *restrict v0 = V + (size_t)idx[c] * n + b;
            const double *restrict v1 = V + (size_t)idx[c + 1] * n + b;
            const double *restrict v2 = V + (size_t)idx[c + 2] * n + b;
            const double *restrict v3 = V + (size_t)idx[c + 3] * n + b;
            const double h0 = coef[c], h1 = coef[c + 1], h2 = coef[c + 2], h3 = coef[c + 3];
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++)
                wb[i] -= (v0[i] * h0 + v1[i] * h1) + (v2[i] * h2 + v3[i] * h3);
        }
        for (; c < ns; c++) {
            const double *restrict v0 = V + (size_t)idx[c] * n + b;
            const double h0 = coef[c];
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++) wb[i] -= v0[i] * h0;
        }
        const ptrdiff_t l4 = len / 4 * 4;
        ptrdiff_t i;
#pragma omp simd reduction(+ : q0, q1, q2, q3)
        for (i = 0; i < l4; i += 4) {
            q0 += wb[i] * wb[i];
            q1 += wb[i + 1] * wb[i + 1];
            q2 += wb[i + 2] * wb[i + 2];
            q3 += wb[i + 3] * wb[i + 3];
        }
        for (i = l4; i < len; i++) q0 += wb[i] * wb[i];
    }
    return (q0 + q1) + (q2 + q3);
}

/* thread count for a pass over k columns of length n */
static int vec_team(ptrdiff_t n, int k, int nthreads)
{
    return lrci_team_size(n * (ptrdiff_t)(k > 0 ? k : 1), nthreads);
}

/* h[0..k) = V^T w, h[k] = ||w||^2; hb: scratch of nt * (k + 1) doubles */
static void proj(const double *V, ptrdiff_t n, int k, const double *w, double *h, double *hb,
                 int nthreads)
{
    int nt = vec_team(n, k, nthreads);
    if (nt <= 1) {
        proj_range(V, n, k, w, h, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        ptrdiff_t lo, hi;
        const int t = omp_get_thread_num();
        lrci_thread_range(n, t, omp_get_num_threads(), &lo, &hi);
        proj_range(V, n, k, w, hb + (size_t)t * (k + 1), lo, hi);
    }
    for (int c = 0; c <= k; c++) {
        double s = 0.0;
        for (int t = 0; t < nt; t++) s += hb[(size_t)t * (k + 1) + c];
        h[c] = s;
    }
#endif
}

/* w -= sum_s coef[s] V[:, idx[s]]; returns ||w||^2; hb: scratch of nt doubles */
static double axpy_sel(const double *V, ptrdiff_t n, int ns, const int *idx,
                       const double *coef, double *w, double *hb, int nthreads)
{
    int nt = vec_team(n, ns + 1, nthreads);
    if (nt <= 1) return axpy_sel_range(V, n, ns, idx, coef, w, 0, n);
    double q = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        ptrdiff_t lo, hi;
        const int t = omp_get_thread_num();
        lrci_thread_range(n, t, omp_get_num_threads(), &lo, &hi);
        hb[t] = axpy_sel_range(V, n, ns, idx, coef, w, lo, hi);
    }
    for (int t = 0; t < nt; t++) q += hb[t];
#endif
    return q;
}

/* w -= V h, h2 = V^T w; returns ||w||^2; hb: scratch of nt * (k + 1) doubles */
static double update(const double *V, ptrdiff_t n, int k, double *w, const double *h,
                     double *h2, double *hb, int nthreads)
{
    int nt = vec_team(n, k, nthreads);
    if (nt <= 1) return update_range(V, n, k, w, h, h2, 0, n);
    double q = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        ptrdiff_t lo, hi;
        const int t = omp_get_thread_num();
        lrci_thread_range(n, t, omp_get_num_threads(), &lo, &hi);
        double *mine = hb + (size_t)t * (k + 1);
        mine[k] = update_range(V, n, k, w, h, mine, lo, hi);
    }
    for (int c = 0; c < k; c++) {
        double s = 0.0;
        for (int t = 0; t < nt; t++) s += hb[(size_t)t * (k + 1) + c];
        h2[c] = s;
    }
    for (int t = 0; t < nt; t++) q += hb[(size_t)t * (k + 1) + k];
#endif
    return q;
}

/* V[:, 0..k) <- V[:, 0..m) Q  (Q m x k, row-major), in place, by row blocks; tmp holds
 * nt * LRCI_BLK * k doubles */
static LRCI_HOT_FMA void rotate_range(double *restrict V, ptrdiff_t n, int m, int k,
                                 const double *restrict Q, double *restrict tmp, ptrdiff_t lo,
                                 ptrdiff_t hi)
{
    for (ptrdiff_t b = lo; b < hi; b += LRCI_BLK) {
        const ptrdiff_t e = b + LRCI_BLK < hi ? b + LRCI_BLK : hi, len = e - b;
        for (int c = 0; c < k; c++) {
            double *restrict t = tmp + (size_t)c * LRCI_BLK;
            for (ptrdiff_t i = 0; i < len; i++) t[i] = 0.0;
            for (int l = 0; l < m; l++) {
                const double q = Q[(size_t)l * k + c];
                const double *restrict v = V + (size_t)l * n + b;
#pragma omp simd
                for (ptrdiff_t i = 0; i < len; i++) t[i] += v[i] * q;
            }
        }
        for (int c = 0; c < k; c++) memcpy(V + (size_t)c * n + b, tmp + (size_t)c * LRCI_BLK,
                                           (size_t)len * sizeof(double));
    }
}

static void rotate(double *V, ptrdiff_t n, int m, int k, const double *Q, double *tmp,
                   int nthreads)
{
    int nt = vec_team(n, m, nthreads);
    if (nt <= 1) {
        rotate_range(V, n, m, k, Q, tmp, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        ptrdiff_t lo, hi;
        const int t = omp_get_thread_num();
        lrci_thread_range(n, t, omp_get_num_threads(), &lo, &hi);
        rotate_range(V, n, m, k, Q, tmp + (size_t)t * LRCI_BLK * k, lo, hi);
    }
#endif
}

static void scale_into(double *restrict dst, const double *restrict src, ptrdiff_t n, double a)
{
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = src[i] * a;
}

static void scale_(double *x, ptrdiff_t n, double a)
{
    for (ptrdiff_t i = 0; i < n; i++) x[i] *= a;
}

static int all_finite_(const double *x, ptrdiff_t n)
{
    double acc = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) acc += x[i] * 0.0; /* NaN iff some x[i] is NaN/Inf */
    return acc == 0.0;
}

/* ------------------------------------------------------------------------------------ */
/* solver state                                                                           */
/* ------------------------------------------------------------------------------------ */
enum { ST_START = 0, ST_AFTER = 1, ST_DONE = 2 };

static int team_cap(int nthreads)
{
#ifdef _OPENMP
    int t = nthreads > 0 ? nthreads : omp_get_max_threads();
    return t < 1 ? 1 : t;
#else
    (void)nthreads;
    return 1;
#endif
}

static int eff_ncv(ptrdiff_t n, int ncv)
{
    ptrdiff_t m = ncv;
    if (m > n) m = n;
    if (m < 1) m = 1;
    return (int)m;
}

/* cycle length of the low-memory Lanczos: ncv, but not far beyond n (the first pass
 * breaks down after about n steps; a few more let rounding play out) */
static int lm_ncv(ptrdiff_t n, int ncv)
{
    ptrdiff_t m = ncv;
    if (m > n + 16) m = n + 16;
    if (m < 2) m = 2;
    return (int)m;
}

/* 0 on invalid arguments */
static size_t eig_workspace(ptrdiff_t n, int method, int ncv, int nthreads)
{
    if (n < 1 || ncv < 1 || ncv > LRC_EIG_MAX_NCV) return 0;
    const size_t N = (size_t)n;
    if (method == LRC_EIG_POWER) return 5 * N; /* x, y (two pairs) and the result */
    if (method == LRC_EIG_LANCZOS_LOWMEM) {
        if (ncv < 2) return 0;
        const size_t m = (size_t)lm_ncv(n, ncv), nt = (size_t)team_cap(nthreads);
        return 4 * N               /* start vector / Ritz vector, three Lanczos vectors */
               + 8 * (m + 2)       /* d, e, td, te, z, y, d_first, e_first */
               + 2 * (m + 2)       /* omega rows */
               + (m + 1) * (m + 1) /* Y */
               + nt * 4;           /* per-thread partial sums */
    }
    if (method != LRC_EIG_LANCZOS) return 0;
    const size_t m = (size_t)eff_ncv(n, ncv), nt = (size_t)team_cap(nthreads);
    return N * m                   /* V */
           + 2 * N                 /* w, result vector */
           + 6 * (m + 1)           /* d, e, td, te, z, first-cycle d/e share (see init) */
           + 2 * (m + 1)           /* d_first, e_first */
           + (m + 1) * (m + 1)     /* Y (also the arrowhead) */
           + m * m                 /* Q */
           + nt * (m + 2) * 2      /* hb: per-thread projections */
           + 2 * (m + 2)           /* h, h2 (each with ||w||^2 appended) */
           + 2 * (m + 1)           /* selection coefficients and column indices */
           + nt * LRCI_BLK * m;     /* restart rotation */
}

int lrc_eig_workspace_size(ptrdiff_t n, int method, int ncv, int nthreads, size_t *size)
{
    if (size == NULL) return LRC_EINVAL;
    const size_t w = eig_workspace(n, method, method == LRC_EIG_POWER ? 1 : ncv, nthreads);
    if (w == 0) return LRC_EINVAL;
    *size = w;
    return LRC_OK;
}

static double wanted_score(int which, double theta)
{
    if (which == LRC_EIG_SA) return -theta;
    if (which == LRC_EIG_LM) return fabs(theta) + (theta > 0 ? 1e-300 : 0.0); /* ties: + */
    return theta;
}

static int converged_(const lrc_eig *s, double res, double theta)
{
    const double floor_ = pow(s->op_eps, 2.0 / 3.0) * s->anorm;
    return res <= s->tol * fmax(fabs(theta), floor_);
}

int lrc_eig_init(lrc_eig *s, ptrdiff_t n, int method, int which, int ncv, double tol,
                 double op_eps, int64_t minmv, int64_t maxmv, const double *v0,
                 double v0_mix, uint64_t seed, double *work, size_t lwork, int nthreads)
{
    if (s == NULL) return LRC_EINVAL;
    memset(s, 0, sizeof(*s));
    if (n < 1 || work == NULL || !(tol > 0.0) || !isfinite(tol) || !(op_eps > 0.0) ||
        op_eps >= 1.0 || maxmv < 1 || !(v0_mix >= 0.0) || !isfinite(v0_mix))
        return LRC_EINVAL;
    if (which != LRC_EIG_LA && which != LRC_EIG_LM && which != LRC_EIG_SA) return LRC_EINVAL;
    if (method != LRC_EIG_LANCZOS && method != LRC_EIG_POWER &&
        method != LRC_EIG_LANCZOS_LOWMEM)
        return LRC_EINVAL;
    if (method == LRC_EIG_LANCZOS && (ncv < 1 || ncv > LRC_EIG_MAX_NCV)) return LRC_EINVAL;
    if (method == LRC_EIG_LANCZOS_LOWMEM && (ncv < 2 || ncv > LRC_EIG_MAX_NCV))
        return LRC_EINVAL;
    const size_t need = eig_workspace(n, method, method == LRC_EIG_POWER ? 1 : ncv, nthreads);
    if (need == 0 || lwork < need) return LRC_EINVAL;
    s->n = n;
    s->method = method;
    s->which = which;
    s->tol = tol;
    s->op_eps = op_eps;
    s->maxmv = maxmv;
    s->minmv = minmv < maxmv ? minmv : maxmv;
    s->nthreads = nthreads;
    s->value = NAN;
    s->residual = INFINITY;
    rng_seed(s->rng, seed);

    double *p = work;
    double *start;
    if (method == LRC_EIG_LANCZOS) {
        const int m = eff_ncv(n, ncv);
        const int nt = team_cap(nthreads);
        s->ncv = m;
        /* keep a quarter of the basis: matvec counts are flat between m/4 and 2m/3
         * (measured), and fewer kept vectors make restarts and the average basis cheaper */
        s->nkeep = m >= 8 ? m / 4 : (m > 2 ? 2 : 1);
        s->V = p; p += (size_t)n * m;
        s->w = p; p += n;
        s->vector = p; p += n;
        s->d = p; p += m + 1;
        s->e = p; p += m + 1;
        s->td = p; p += m + 1;
        s->te = p; p += m + 1;
        s->z = p; p += m + 1;
        p += m + 1; /* spare */
        s->d_first = p; p += m + 1;
        s->e_first = p; p += m + 1;
        s->Y = p; p += (size_t)(m + 1) * (m + 1);
        s->Q = p; p += (size_t)m * m;
        s->hb = p; p += (size_t)nt * (m + 2) * 2;
        s->px = p; p += m + 2; /* h  (+ ||w||^2) */
        s->py = p; p += m + 2; /* h2 (+ ||w||^2) */
        s->selcoef = p; p += m + 1;
        s->selidx = (int *)p; p += m + 1;
        s->tmp = p; p += (size_t)nt * LRCI_BLK * m;
        s->d_final = s->d;
        s->e_final = s->e;
        start = s->V;
        s->first_cycle = 1;
    } else if (method == LRC_EIG_LANCZOS_LOWMEM) {
        const int m = lm_ncv(n, ncv);
        const int nt = team_cap(nthreads);
        s->ncv = m;
        s->lm_q = p; p += n;
        for (int b = 0; b < 3; b++) {
            s->lm_buf[b] = p;
            p += n;
        }
        s->d = p; p += m + 2;
        s->e = p; p += m + 2;
        s->td = p; p += m + 2;
        s->te = p; p += m + 2;
        s->z = p; p += m + 2;
        s->lm_y = p; p += m + 2;
        s->d_first = p; p += m + 2;
        s->e_first = p; p += m + 2;
        s->lm_om0 = p; p += m + 2;
        s->lm_om1 = p; p += m + 2;
        s->Y = p; p += (size_t)(m + 1) * (m + 1);
        s->hb = p; p += (size_t)nt * 4;
        s->d_final = s->d_first;
        s->e_final = s->e_first;
        s->vector = s->lm_q;
        s->w = s->lm_buf[0];
        s->lm_cur = s->lm_q;
        s->lm_prev = NULL;
        s->lm_pass = 1;
        s->lm_kmin = (int)(s->minmv < m ? s->minmv : m);
        s->lm_semi = 1;
        s->first_cycle = 1;
        /* omega model (see lm_omega): local rounding of the operator (relative op_eps)
         * and of the double-precision vector operations; semi-orthogonality level */
        s->lm_eps1 = 4.0 * op_eps + DBL_EPSILON * (4.0 + pow((double)n, 0.25));
        s->lm_thr = sqrt(op_eps);
        start = s->lm_q;
    } else {
        s->px = p; p += n;
        s->py = p; p += n;
        s->qx = p; p += n;
        s->qy = p; p += n;
        s->vector = p; p += n;
        start = s->px;
        s->phase = 1;
        s->sigma = which == LRC_EIG_SA ? -1.0 : 1.0;
    }
    /* start vector: v0/||v0|| + v0_mix * g/||g|| (g Gaussian), or g */
    double *g = method == LRC_EIG_POWER ? s->py : s->w;
    rng_normal(s->rng, g, n);
    double gn = nrm2_(g, n);
    if (v0 != NULL) {
        double vn = nrm2_(v0, n);
        if (!(vn > 0.0) || !isfinite(vn)) return LRC_EINVAL;
        const double a = 1.0 / vn, b = v0_mix / gn;
        for (ptrdiff_t i = 0; i < n; i++) start[i] = v0[i] * a + g[i] * b;
    } else {
        memcpy(start, g, (size_t)n * sizeof(double));
    }
    double sn = nrm2_(start, n);
    if (!(sn > 0.0)) { /* v0 == -v0_mix g exactly: fall back to g */
        memcpy(start, g, (size_t)n * sizeof(double));
        sn = gn;
    }
    scale_(start, n, 1.0 / sn);
    s->stage = ST_START;
    return LRC_OK;
}

/* ------------------------------------------------------------------------------------ */
/* thick-restart Lanczos                                                                   */
/* ------------------------------------------------------------------------------------ */

/* eigenvalues of T_j into td (ascending) and the last components of the eigenvectors
 * into z (or full eigenvectors into Y when full) */
static int small_eig(lrc_eig *s, int j, int full)
{
    memcpy(s->td, s->d, (size_t)j * sizeof(double));
    if (j > 1) memcpy(s->te, s->e, (size_t)(j - 1) * sizeof(double));
    if (full) {
        double *Y = s->Y;
        for (int r = 0; r < j; r++)
            for (int c = 0; c < j; c++) Y[(size_t)r * j + c] = r == c ? 1.0 : 0.0;
        int st = lrci_tridiag_eig(s->td, s->te, j, Y, j);
        if (st != LRC_OK) return st;
        for (int c = 0; c < j; c++) s->z[c] = Y[(size_t)(j - 1) * j + c];
        return LRC_OK;
    }
    for (int c = 0; c < j; c++) s->z[c] = c == j - 1 ? 1.0 : 0.0;
    return lrci_tridiag_eig(s->td, s->te, j, s->z, 1);
}

static int pick(const lrc_eig *s, int j)
{
    int best = 0;
    double bs = wanted_score(s->which, s->td[0]);
    for (int i = 1; i < j; i++) {
        double sc = wanted_score(s->which, s->td[i]);
        if (sc > bs) {
            bs = sc;
            best = i;
        }
    }
    return best;
}

/* finish: Ritz vector of Ritz value `idx` of T_j (needs the full eigenvectors) */
static int lanczos_finish(lrc_eig *s, int j, double beta, int status)
{
    int st = small_eig(s, j, 1);
    if (st != LRC_OK) return LRC_BREAKDOWN;
    const int idx = pick(s, j);
    const double *Y = s->Y;
    const ptrdiff_t n = s->n;
    double *u = s->vector;
    for (ptrdiff_t i = 0; i < n; i++) u[i] = 0.0;
    for (int l = 0; l < j; l++) {
        const double c = Y[(size_t)l * j + idx];
        const double *restrict v = s->V + (size_t)l * n;
        for (ptrdiff_t i = 0; i < n; i++) u[i] += c * v[i];
    }
    double un = nrm2_(u, n);
    if (un > 0.0) scale_(u, n, 1.0 / un);
    s->value = s->td[idx];
    s->residual = beta * fabs(Y[(size_t)(j - 1) * j + idx]);
    s->nfinal = j;
    s->beta_final = beta;
    if (s->first_cycle) {
        memcpy(s->d_first, s->d, (size_t)j * sizeof(double));
        if (j > 1) memcpy(s->e_first, s->e, (size_t)(j - 1) * sizeof(double));
        s->nfirst = j;
        s->beta_first = beta;
    }
    s->stage = ST_DONE;
    return status;
}

static int lanczos_restart(lrc_eig *s, double beta)
{
    const int m = s->ncv, k = s->nkeep;
    const ptrdiff_t n = s->n;
    if (s->first_cycle) {
        memcpy(s->d_first, s->d, (size_t)m * sizeof(double));
        if (m > 1) memcpy(s->e_first, s->e, (size_t)(m - 1) * sizeof(double));
        s->nfirst = m;
        s->beta_first = beta;
        s->first_cycle = 0;
    }
    int st = small_eig(s, m, 1); /* td ascending, Y (m x m) */
    if (st != LRC_OK) return LRC_BREAKDOWN;
    /* choose the k Ritz values nearest the wanted end */
    int sel[LRC_EIG_MAX_NCV];
    if (s->which == LRC_EIG_LA) {
        for (int i = 0; i < k; i++) sel[i] = m - k + i;
    } else if (s->which == LRC_EIG_SA) {
        for (int i = 0; i < k; i++) sel[i] = i;
    } else { /* LM: merge from both ends by magnitude */
        int lo = 0, hi = m - 1, c = 0;
        while (c < k) {
            if (fabs(s->td[hi]) >= fabs(s->td[lo])) sel[c++] = hi--;
            else sel[c++] = lo++;
        }
        /* keep ascending order of the selection for a tidy arrowhead */
        for (int a = 1; a < k; a++)
            for (int b = a; b > 0 && sel[b - 1] > sel[b]; b--) {
                int t = sel[b];
                sel[b] = sel[b - 1];
                sel[b - 1] = t;
            }
    }
    /* arrowhead [[diag(theta_sel), s], [s^T, 0]] with s_i = beta * Y[m-1][sel_i] */
    const int K = k + 1;
    double *Yk = s->Q; /* m x k copy of the selected eigenvectors */
    for (int l = 0; l < m; l++)
        for (int c = 0; c < k; c++) Yk[(size_t)l * k + c] = s->Y[(size_t)l * m + sel[c]];
    double *Z = s->Y; /* reuse as K x K */
    double sv[LRC_EIG_MAX_NCV + 1], th[LRC_EIG_MAX_NCV + 1];
    for (int c = 0; c < k; c++) {
        th[c] = s->td[sel[c]];
        sv[c] = beta * Yk[(size_t)(m - 1) * k + c];
    }
    for (int r = 0; r < K; r++)
        for (int c = 0; c < K; c++) Z[(size_t)r * K + c] = 0.0;
    for (int c = 0; c < k; c++) {
        Z[(size_t)c * K + c] = th[c];
        Z[(size_t)k * K + c] = sv[c];
        Z[(size_t)c * K + k] = sv[c];
    }
    tred2(Z, s->td, s->te, K); /* td: diagonal, te[i] = T[i][i-1] */
    /* Q = Yk * Z[0..k, 0..k)  (m x k) -- computed into tmp-free storage row by row */
    double row[LRC_EIG_MAX_NCV];
    for (int l = 0; l < m; l++) {
        for (int c = 0; c < k; c++) {
            double acc = 0.0;
            for (int q = 0; q < k; q++) acc += Yk[(size_t)l * k + q] * Z[(size_t)q * K + c];
            row[c] = acc;
        }
        memcpy(Yk + (size_t)l * k, row, (size_t)k * sizeof(double));
    }
    /* own OpenMP kernel rather than BLAS dgemm: a second thread pool (OpenBLAS's)
     * spinning next to lrcore's OpenMP team slows both down, and with ncv/4 kept
     * vectors the rotation costs about 11 n flops per mat-vec */
    rotate(s->V, n, m, k, Yk, s->tmp, s->nthreads);
    /* the new k-th basis vector is the old residual direction */
    scale_into(s->V + (size_t)k * n, s->w, n, 1.0 / beta);
    for (int i = 0; i < k; i++) s->d[i] = s->td[i];
    for (int i = 1; i <= k; i++) s->e[i - 1] = s->te[i]; /* e[k-1]: coupling to v_k */
    s->j = k;
    s->n_restarts++;
    return LRC_OK;
}

static int lanczos_iterate(lrc_eig *s)
{
    const ptrdiff_t n = s->n;
    const int m = s->ncv;
    for (;;) {
        if (s->stage == ST_START) {
            s->x = s->V + (size_t)s->j * n;
            s->y = s->w;
            s->stage = ST_AFTER;
            return LRC_REQ_MATVEC;
        }
        if (s->stage != ST_AFTER) return LRC_EINVAL;
        /* y = A v_j has been written into w */
        s->n_matvec++;
        double *w = s->w;
        if (!all_finite_(w, n)) {
            s->stage = ST_DONE;
            return LRC_NONFINITE;
        }
        const int j = s->j, k = j + 1;
        double *h = s->px, *h2 = s->py;
        /* classical Gram-Schmidt against the whole basis: h = V^T w (one pass), then
         * w -= V h fused with h2 = V^T w (the orthogonality that pass left, measured
         * while the block of V is in cache).  One correction w -= V h2 when h2 exceeds
         * 1e-10 ||w||: CGS on a basis with orthogonality loss delta leaves delta *
         * ||w|| / ||w'|| in the new vector, so an unmeasured single pass lets the loss
         * grow geometrically; correcting at 1e-10 keeps the basis semi-orthogonal far
         * below sqrt(eps), where T is the projection of A to working precision (Simon
         * 1984, Parlett 1998 sec. 13.8).  Usually no correction pass is needed.        */
        proj(s->V, n, k, w, h, s->hb, s->nthreads);
        double wn2 = update(s->V, n, k, w, h, h2, s->hb, s->nthreads);
        double h2n = 0.0;
        for (int c = 0; c < k; c++) h2n += h2[c] * h2[c];
        if (h2n > 1e-20 * wn2) {
            int *idx = s->selidx;
            for (int c = 0; c < k; c++) idx[c] = c;
            wn2 = axpy_sel(s->V, n, k, idx, h2, w, s->hb, s->nthreads);
            for (int c = 0; c < k; c++) h[c] += h2[c];
            s->n_reorth++;
        }
        const double alpha = h[j];
        double beta = sqrt(wn2);
        /* symmetry defect: h[j-1] must equal the coupling e[j-1], h[i < j-1] must vanish */
        double defect = 0.0;
        if (j > 0) defect = fabs(h[j - 1] - s->e[j - 1]);
        for (int c = 0; c + 1 < j; c++) defect = fmax(defect, fabs(h[c]));
        s->d[j] = alpha;
        s->j = k;
        if (k >= n) beta = 0.0; /* the basis spans the whole space */
        int st = small_eig(s, k, 0);
        if (st != LRC_OK) {
            s->stage = ST_DONE;
            return st == LRC_NONFINITE ? LRC_NONFINITE : LRC_BREAKDOWN;
        }
        for (int i = 0; i < k; i++) s->anorm = fmax(s->anorm, fabs(s->td[i]));
        if (s->anorm > 0.0) s->asym = fmax(s->asym, defect / s->anorm);
        const int idx = pick(s, k);
        const double theta = s->td[idx], res = beta * fabs(s->z[idx]);
        s->value = theta;
        s->residual = res;
        const int breakdown = beta <= 64.0 * DBL_EPSILON * fmax(s->anorm, fabs(alpha));
        if ((converged_(s, res, theta) && s->n_matvec >= s->minmv) || breakdown)
            return lanczos_finish(s, k, beta, LRC_OK);
        if (s->n_matvec >= s->maxmv) return lanczos_finish(s, k, beta, LRC_NOT_CONVERGED);
        if (k < m) {
            scale_into(s->V + (size_t)k * n, w, n, 1.0 / beta);
            s->e[j] = beta;
        } else {
            st = lanczos_restart(s, beta);
            if (st != LRC_OK) {
                s->stage = ST_DONE;
                return st;
            }
        }
        s->stage = ST_START;
    }
}

/* ------------------------------------------------------------------------------------ */
/* low-memory Lanczos: two passes per cycle, local reorthogonalisation                     */
/* ------------------------------------------------------------------------------------ */
/* The vector kernels work on two basis vectors a (v_{j-1}, may be NULL) and b (v_j) and
 * the product w; OpenMP over row ranges with per-thread partial sums added in thread
 * order, so results do not depend on scheduling (the second pass must reproduce the
 * first bit for bit).                                                                   */

/* rows [lo, hi): out[0] = a'w (0 without a), out[1] = b'w */
static LRCI_HOT_FMA void lm_dots_range(const double *restrict a, const double *restrict b,
                                      const double *restrict w, ptrdiff_t lo, ptrdiff_t hi,
                                      double *restrict out)
{
    double s0 = 0.0, s1 = 0.0, t0 = 0.0, t1 = 0.0;
    const ptrdiff_t len = hi - lo, l2 = len / 2 * 2;
    const double *restrict wb = w + lo, *restrict bb = b + lo;
    ptrdiff_t i;
    if (a != NULL) {
        const double *restrict ab = a + lo;
#pragma omp simd reduction(+ : s0, s1, t0, t1)
        for (i = 0; i < l2; i += 2) {
            s0 += ab[i] * wb[i];
            s1 += ab[i + 1] * wb[i + 1];
            t0 += bb[i] * wb[i];
            t1 += bb[i + 1] * wb[i + 1];
        }
        for (i = l2; i < len; i++) {
            s0 += ab[i] * wb[i];
            t0 += bb[i] * wb[i];
        }
    } else {
#pragma omp simd reduction(+ : t0, t1)
        for (i = 0; i < l2; i += 2) {
            t0 += bb[i] * wb[i];
            t1 += bb[i + 1] * wb[i + 1];
        }
        for (i = l2; i < len; i++) t0 += bb[i] * wb[i];
    }
    out[0] = s0 + s1;
    out[1] = t0 + t1;
}

/* rows [lo, hi): w -= ca a + cb b (a may be NULL), then out = (a'w, b'w, w'w) on the new
 * w, block by block while the block is in cache */
static LRCI_HOT_FMA void lm_update_range(const double *restrict a, const double *restrict b,
                                        double *restrict w, double ca, double cb,
                                        ptrdiff_t lo, ptrdiff_t hi, double *restrict out)
{
    double sa = 0.0, sb = 0.0, sw = 0.0;
    for (ptrdiff_t blk = lo; blk < hi; blk += LRCI_BLK) {
        const ptrdiff_t e = blk + LRCI_BLK < hi ? blk + LRCI_BLK : hi, len = e - blk;
        double *restrict wb = w + blk;
        const double *restrict bb = b + blk;
        double pa = 0.0, pb = 0.0, pw = 0.0;
        if (a != NULL) {
            const double *restrict ab = a + blk;
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++) wb[i] -= ab[i] * ca + bb[i] * cb;
#pragma omp simd reduction(+ : pa, pb, pw)
            for (ptrdiff_t i = 0; i < len; i++) {
                pa += ab[i] * wb[i];
                pb += bb[i] * wb[i];
                pw += wb[i] * wb[i];
            }
        } else {
#pragma omp simd
            for (ptrdiff_t i = 0; i < len; i++) wb[i] -= bb[i] * cb;
#pragma omp simd reduction(+ : pb, pw)
            for (ptrdiff_t i = 0; i < len; i++) {
                pb += bb[i] * wb[i];
                pw += wb[i] * wb[i];
            }
        }
        sa += pa;
        sb += pb;
        sw += pw;
    }
    out[0] = sa;
    out[1] = sb;
    out[2] = sw;
}

/* rows [lo, hi): t = w * inv, w = t, and (dst != NULL) dst = c0 dst + c1 src + c2 t
 * (src may be NULL) */
static LRCI_HOT_FMA void lm_scale_acc_range(double *restrict w, double inv,
                                           double *restrict dst, double c0,
                                           const double *restrict src, double c1, double c2,
                                           ptrdiff_t lo, ptrdiff_t hi)
{
    if (dst == NULL) {
#pragma omp simd
        for (ptrdiff_t i = lo; i < hi; i++) w[i] *= inv;
    } else if (src == NULL) {
#pragma omp simd
        for (ptrdiff_t i = lo; i < hi; i++) {
            const double t = w[i] * inv;
            w[i] = t;
            dst[i] = c0 * dst[i] + c2 * t;
        }
    } else {
#pragma omp simd
        for (ptrdiff_t i = lo; i < hi; i++) {
            const double t = w[i] * inv;
            w[i] = t;
            dst[i] = c0 * dst[i] + c1 * src[i] + c2 * t;
        }
    }
}

/* rows [lo, hi): sum (w - c b)^2 (w unchanged) */
static LRCI_HOT_FMA double lm_resid_range(const double *restrict w, const double *restrict b,
                                         double c, ptrdiff_t lo, ptrdiff_t hi)
{
    double s0 = 0.0, s1 = 0.0;
    const ptrdiff_t len = hi - lo, l2 = len / 2 * 2;
    const double *restrict wb = w + lo, *restrict bb = b + lo;
    ptrdiff_t i;
#pragma omp simd reduction(+ : s0, s1)
    for (i = 0; i < l2; i += 2) {
        const double r0 = wb[i] - c * bb[i], r1 = wb[i + 1] - c * bb[i + 1];
        s0 += r0 * r0;
        s1 += r1 * r1;
    }
    for (i = l2; i < len; i++) {
        const double r0 = wb[i] - c * bb[i];
        s0 += r0 * r0;
    }
    return s0 + s1;
}

/* the parallel drivers: op 0 dots, 1 update, 2 scale/accumulate, 3 residual */
typedef struct {
    const double *a, *b, *src;
    double *w, *dst;
    double ca, cb, c0, c1, c2;
} lm_args;

static void lm_run_range(int op, const lm_args *g, ptrdiff_t lo, ptrdiff_t hi, double *out)
{
    switch (op) {
    case 0: lm_dots_range(g->a, g->b, g->w, lo, hi, out); break;
    case 1: lm_update_range(g->a, g->b, g->w, g->ca, g->cb, lo, hi, out); break;
    case 2:
        lm_scale_acc_range(g->w, g->ca, g->dst, g->c0, g->src, g->c1, g->c2, lo, hi);
        break;
    default: out[0] = lm_resid_range(g->w, g->b, g->cb, lo, hi); break;
    }
}

static void lm_run(const lrc_eig *s, int op, const lm_args *g, double *out)
{
    const ptrdiff_t n = s->n;
    const int nt = vec_team(n, 3, s->nthreads);
    out[0] = out[1] = out[2] = 0.0;
    if (nt <= 1) {
        lm_run_range(op, g, 0, n, out);
        return;
    }
#ifdef _OPENMP
    double *hb = s->hb;
#pragma omp parallel num_threads(nt)
    {
        ptrdiff_t lo, hi;
        const int t = omp_get_thread_num();
        lrci_thread_range(n, t, omp_get_num_threads(), &lo, &hi);
        double *mine = hb + (size_t)t * 4;
        mine[0] = mine[1] = mine[2] = 0.0;
        lm_run_range(op, g, lo, hi, mine);
    }
    for (int t = 0; t < nt; t++)
        for (int c = 0; c < 3; c++) out[c] += hb[(size_t)t * 4 + c];
#endif
}

/* w = A v_j has arrived: orthogonalise it against v_{j-1} (lm_prev, NULL at j = 0) and
 * v_j (lm_cur) by classical Gram-Schmidt, repeated once when the first pass left more
 * than 1e-10 ||w|| (the criterion of the full solver); *alpha = v_j'A v_j, *h0 =
 * v_{j-1}'A v_j (the coupling, for the symmetry check); returns ||w||.              */
static double lm_orth(lrc_eig *s, double *alpha, double *h0)
{
    lm_args g = {s->lm_prev, s->lm_cur, NULL, s->w, NULL, 0.0, 0.0, 0.0, 0.0, 0.0};
    double o[3], o2[3];
    lm_run(s, 0, &g, o);
    g.ca = o[0];
    g.cb = o[1];
    lm_run(s, 1, &g, o2);
    double c0 = o[0], c1 = o[1], wn2 = o2[2];
    if (o2[0] * o2[0] + o2[1] * o2[1] > 1e-20 * wn2) {
        g.ca = o2[0];
        g.cb = o2[1];
        double o3[3];
        lm_run(s, 1, &g, o3);
        wn2 = o3[2];
        c0 += o2[0];
        c1 += o2[1];
        s->n_reorth++;
    }
    *alpha = c1;
    *h0 = c0;
    return sqrt(wn2);
}

/* the new vector w / beta becomes v_{j+1}; dst (NULL: none) = c0 dst + c1 src + c2 v_{j+1};
 * then the buffers rotate: prev <- cur, cur <- w, w <- a free buffer               */
static void lm_advance(lrc_eig *s, double beta, double *dst, double c0, const double *src,
                       double c1, double c2)
{
    lm_args g = {NULL, NULL, src, s->w, dst, 1.0 / beta, 0.0, c0, c1, c2};
    double o[3];
    lm_run(s, 2, &g, o);
    s->lm_prev = s->lm_cur;
    s->lm_cur = s->w;
    double *nw = NULL;
    for (int b = 0; b < 3 && nw == NULL; b++) {
        double *cand = s->lm_buf[b];
        if (cand != s->lm_prev && cand != s->lm_cur) nw = cand;
    }
    s->w = nw;
}

/* Simon's (1984) model of the loss of orthogonality, omega_{k,i} ~ v_k'v_i: after step j
 * (alpha_j, beta_j known),
 *   beta_j om_{j+1,i} = beta_i om_{j,i+1} + (alpha_i - alpha_j) om_{j,i}
 *                       + beta_{i-1} om_{j,i-1} - beta_{j-1} om_{j-1,i} + theta_{j,i},
 * theta = +-eps1 (beta_j + beta_i + |alpha_j|...) the local rounding (sign of the rest:
 * the worst case); om_{j+1,j} = om_{j+1,j-1} = eps1 after the local reorthogonalisation.
 * om0 holds row j-1, om1 row j (om_{j,j} = 1); row j+1 replaces om0, then they swap.
 * Returns max_i |om_{j+1,i}|.                                                           */
static double lm_omega(lrc_eig *s, int j, double alpha, double beta)
{
    double *op = s->lm_om0, *oc = s->lm_om1;
    const double *d = s->d, *e = s->e;
    const double eps1 = s->lm_eps1;
    const double tn = fmax(s->anorm, fabs(alpha) + beta + (j > 0 ? e[j - 1] : 0.0));
    double mx = eps1;
    for (int i = 0; i + 1 < j; i++) {
        double t = e[i] * oc[i + 1] + (d[i] - alpha) * oc[i] - e[j - 1] * op[i];
        if (i > 0) t += e[i - 1] * oc[i - 1];
        t = (t + copysign(eps1 * tn, t)) / beta;
        op[i] = t; /* om_{j+1,i} (row j-1's entry i is no longer needed) */
        mx = fmax(mx, fabs(t));
    }
    if (j >= 1) op[j - 1] = eps1;
    op[j] = eps1;
    op[j + 1] = 1.0;
    s->lm_om0 = oc;
    s->lm_om1 = op;
    if (!(mx <= HUGE_VAL)) mx = HUGE_VAL;
    return mx;
}

/* a cycle's first pass ended after k steps with coupling beta to the next vector */
static int lm_end_pass1(lrc_eig *s, int k, int breakdown)
{
    if (s->first_cycle) {
        const int m1 = s->lm_nsemi;
        memcpy(s->d_first, s->d, (size_t)m1 * sizeof(double));
        if (m1 > 1) memcpy(s->e_first, s->e, (size_t)(m1 - 1) * sizeof(double));
        s->nfirst = s->nfinal = m1;
        s->beta_first = s->beta_final = m1 > 0 ? s->e[m1 - 1] : 0.0;
        s->first_cycle = 0;
    }
    if (k == 1) {
        /* the start vector itself: alpha is its Rayleigh quotient, beta its residual */
        s->value = s->d[0];
        s->residual = s->e[0];
        s->anorm = fmax(s->anorm, fabs(s->value));
        s->stage = ST_DONE;
        return (breakdown || converged_(s, s->residual, s->value)) ? LRC_OK
                                                                   : LRC_NOT_CONVERGED;
    }
    int st = small_eig(s, k, 1);
    if (st != LRC_OK) {
        s->stage = ST_DONE;
        return st == LRC_NONFINITE ? LRC_NONFINITE : LRC_BREAKDOWN;
    }
    for (int i = 0; i < k; i++) s->anorm = fmax(s->anorm, fabs(s->td[i]));
    const int idx = pick(s, k);
    for (int l = 0; l < k; l++) s->lm_y[l] = s->Y[(size_t)l * k + idx];
    s->value = s->td[idx];
    /* second pass: from the start vector again */
    s->lm_k = k;
    s->lm_pass = 2;
    s->j = 0;
    s->lm_prev = NULL;
    s->lm_cur = s->lm_q;
    s->w = s->lm_buf[0];
    s->stage = ST_START;
    return LRC_OK;
}

static int lm_iterate(lrc_eig *s)
{
    const ptrdiff_t n = s->n;
    for (;;) {
        if (s->stage == ST_START && !s->lm_have) {
            s->x = s->lm_pass == 3 ? s->lm_q : s->lm_cur;
            s->y = s->w;
            s->stage = ST_AFTER;
            return LRC_REQ_MATVEC;
        }
        if (s->stage == ST_START) { /* restart: A q is already in w */
            s->lm_have = 0;
        } else {
            if (s->stage != ST_AFTER) return LRC_EINVAL;
            s->n_matvec++;
            if (!all_finite_(s->w, n)) {
                s->stage = ST_DONE;
                return LRC_NONFINITE;
            }
        }
        if (s->lm_pass == 3) {
            /* the Ritz vector u (in lm_q, unit) and w = A u: Rayleigh quotient and the
             * true residual */
            lm_args g = {NULL, s->lm_q, NULL, s->w, NULL, 0.0, 0.0, 0.0, 0.0, 0.0};
            double o[3];
            lm_run(s, 0, &g, o);
            const double theta = o[1];
            g.cb = theta;
            lm_run(s, 3, &g, o);
            const double r = sqrt(o[0]);
            s->value = theta;
            s->residual = r;
            s->anorm = fmax(s->anorm, fabs(theta));
            if (converged_(s, r, theta)) {
                s->stage = ST_DONE;
                return LRC_OK;
            }
            /* a restarted cycle needs 3 more products to make progress (its first is
             * this one) */
            if (s->n_matvec + 3 > s->maxmv) {
                s->stage = ST_DONE;
                return LRC_NOT_CONVERGED;
            }
            s->n_restarts++;
            s->lm_pass = 1;
            s->j = 0;
            s->lm_prev = NULL;
            s->lm_cur = s->lm_q;
            s->lm_have = 1; /* w = A q */
            s->stage = ST_START;
            continue;
        }
        double alpha, h0;
        const double beta = lm_orth(s, &alpha, &h0);
        const int j = s->j, k = j + 1;
        if (s->lm_pass == 2) {
            /* regenerate v_{j+1}; accumulate u = sum_l y_l v_l into lm_q once the start
             * vector is no longer needed (after v_2, or after v_1 when k == 2) */
            const double *y = s->lm_y;
            if (s->anorm > 0.0)
                s->regen_defect = fmax(s->regen_defect, fabs(alpha - s->d[j]) / s->anorm);
            const int K = s->lm_k, i = j + 1; /* index of the new vector */
            if (i == 1 && K == 2)
                lm_advance(s, beta, s->lm_q, y[0], NULL, 0.0, y[1]);
            else if (i == 1)
                lm_advance(s, beta, NULL, 0.0, NULL, 0.0, 0.0);
            else if (i == 2) /* prev (after the call: v_1) is cur before it */
                lm_advance(s, beta, s->lm_q, y[0], s->lm_cur, y[1], y[2]);
            else
                lm_advance(s, beta, s->lm_q, 1.0, NULL, 0.0, y[i]);
            if (i == K - 1) {
                double un = nrm2_(s->lm_q, n);
                if (!(un > 0.0) || !isfinite(un)) {
                    s->stage = ST_DONE;
                    return LRC_BREAKDOWN;
                }
                scale_(s->lm_q, n, 1.0 / un);
                s->lm_pass = 3;
            } else {
                s->j = k;
            }
            s->stage = ST_START;
            continue;
        }
        /* first pass: T grows by alpha_j and beta_j */
        s->d[j] = alpha;
        s->e[j] = beta;
        if (j > 0) {
            const double defect = fabs(h0 - s->e[j - 1]);
            const double an = fmax(s->anorm, fabs(alpha));
            if (an > 0.0) s->asym = fmax(s->asym, defect / an);
        }
        s->anorm = fmax(s->anorm, fabs(alpha));
        const int breakdown = beta <= 64.0 * DBL_EPSILON * fmax(s->anorm, fabs(alpha));
        if (s->first_cycle) {
            /* k + 1 vectors v_0..v_k (v_k = the residual direction) can only be
             * orthogonal in n dimensions for k < n; at k = n only a breakdown (v_k = 0)
             * keeps the prefix (the model assumes a symmetric operator, so it is
             * checked against this fact too) */
            if (breakdown) {
                if (s->lm_semi) s->lm_nsemi = k;
            } else if (s->lm_semi) {
                if (lm_omega(s, j, alpha, beta) <= s->lm_thr && k < n) s->lm_nsemi = k;
                else s->lm_semi = 0;
            }
        }
        /* the convergence estimate of the top Ritz pair: at every step up to 64, then
         * every ceil(k/64)-th (the test costs O(k^2)) */
        int conv = 0;
        if (k <= 64 || k % ((k + 63) / 64) == 0) {
            int st = small_eig(s, k, 0);
            if (st != LRC_OK) {
                s->stage = ST_DONE;
                return st == LRC_NONFINITE ? LRC_NONFINITE : LRC_BREAKDOWN;
            }
            for (int i = 0; i < k; i++) s->anorm = fmax(s->anorm, fabs(s->td[i]));
            const int idx = pick(s, k);
            const double theta = s->td[idx], res = beta * fabs(s->z[idx]);
            s->value = theta;
            s->residual = res;
            conv = converged_(s, res, theta) && (!s->first_cycle || k >= s->lm_kmin);
        }
        /* continuing to k + 1 steps costs that product, k for the second pass and the
         * final product */
        const int budget = s->n_matvec + k + 2 <= s->maxmv;
        if (breakdown || conv || k >= s->ncv || !budget) {
            int st = lm_end_pass1(s, k, breakdown);
            if (st != LRC_OK || s->stage == ST_DONE) return st;
            continue;
        }
        lm_advance(s, beta, NULL, 0.0, NULL, 0.0, 0.0);
        s->j = k;
        s->stage = ST_START;
    }
}

/* ------------------------------------------------------------------------------------ */
/* power iteration                                                                         */
/* ------------------------------------------------------------------------------------ */
static int power_done(lrc_eig *s, const double *v, double theta, double res, int status)
{
    memcpy(s->vector, v, (size_t)s->n * sizeof(double));
    s->value = s->sigma * (theta + s->power_shift);
    s->residual = res;
    s->stage = ST_DONE;
    return status;
}

static int power_iterate(lrc_eig *s)
{
    const ptrdiff_t n = s->n;
    for (;;) {
        if (s->stage == ST_START) {
            s->x = s->px;
            s->y = s->py;
            s->stage = ST_AFTER;
            return LRC_REQ_MATVEC;
        }
        if (s->stage != ST_AFTER) return LRC_EINVAL;
        s->n_matvec++;
        double *x = s->px, *y = s->py;
        if (!all_finite_(y, n)) {
            s->stage = ST_DONE;
            return LRC_NONFINITE;
        }
        /* the iteration runs on B = sigma * A - shift * I */
        if (s->sigma < 0)
            for (ptrdiff_t i = 0; i < n; i++) y[i] = -y[i];
        if (s->power_shift != 0.0)
            for (ptrdiff_t i = 0; i < n; i++) y[i] -= s->power_shift * x[i];
        const double theta = dot_(x, y, n);
        double r2 = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double t = y[i] - theta * x[i];
            r2 += t * t;
        }
        const double res = sqrt(r2), yn = nrm2_(y, n);
        s->anorm = fmax(s->anorm, s->phase == 1 ? yn : fabs(theta + s->power_shift));
        s->value = s->sigma * (theta + s->power_shift);
        s->residual = res;
        if (s->phase == 1) {
            s->power_k1 = s->n_matvec;
            s->power_theta1 = theta;
            s->power_ynorm1 = yn;
        }
        if ((converged_(s, res, theta + s->power_shift) && s->n_matvec >= s->minmv) ||
            yn == 0.0) {
            if (s->phase == 1 && s->which != LRC_EIG_LM && theta < 0.0 &&
                -theta > pow(s->op_eps, 2.0 / 3.0) * s->anorm) {
                /* dominant eigenvalue of the wrong sign: rerun on B - theta I (PSD) from
                 * a fresh random start orthogonalised against the found vector */
                s->phase = 2;
                s->power_shift = theta;
                rng_normal(s->rng, y, n);
                double c = dot_(x, y, n);
                for (ptrdiff_t i = 0; i < n; i++) y[i] -= c * x[i];
                double ynn = nrm2_(y, n);
                if (ynn > 1e-8 * sqrt((double)n)) /* else n == 1: keep x, B = 0 there */
                    scale_into(x, y, n, 1.0 / ynn);
                s->stage = ST_START;
                continue;
            }
            return power_done(s, x, theta, res, LRC_OK);
        }
        /* a +-mu pair: A^2 has converged at the previous iterate q = x_{k-1} while A has
         * not.  With mu = ||A q||, x = A q / mu: ||A x - mu q|| small.  The +mu
         * eigenvector is q + x (A(q + x) = mu x + A x ~ mu (x + q)). */
        if (s->phase == 1 && s->n_matvec >= 2) {
            double *q = s->qx, *Aq = s->qy; /* x_{k-1} and A x_{k-1} */
            const double mu = nrm2_(Aq, n);
            if (mu > 0.0) {
                double r2b = 0.0;
                for (ptrdiff_t i = 0; i < n; i++) {
                    double t = y[i] - mu * q[i];
                    r2b += t * t;
                }
                if (sqrt(r2b) <= s->tol * mu && s->n_matvec >= s->minmv) {
                    /* u = q + x, A u = Aq + y */
                    double *u = s->vector;
                    for (ptrdiff_t i = 0; i < n; i++) u[i] = q[i] + x[i];
                    const double un = nrm2_(u, n);
                    if (un > 0.5) {
                        /* the value is u's Rayleigh quotient (mu, a norm, can exceed the
                         * spectrum's end when the pair is only nearly +-mu), and the
                         * residual is taken with it, as the bounds expect */
                        double uAu = 0.0;
                        for (ptrdiff_t i = 0; i < n; i++) uAu += u[i] * (Aq[i] + y[i]);
                        const double rq = uAu / (un * un);
                        double ru = 0.0;
                        for (ptrdiff_t i = 0; i < n; i++) {
                            double t = (Aq[i] + y[i]) - rq * u[i];
                            ru += t * t;
                        }
                        ru = sqrt(ru) / un;
                        if (ru <= s->tol * mu) {
                            scale_(u, n, 1.0 / un);
                            s->power_pair = 1;
                            s->value = s->sigma * rq;
                            s->residual = ru;
                            s->stage = ST_DONE;
                            return LRC_OK;
                        }
                    }
                }
            }
        }
        if (s->n_matvec >= s->maxmv) return power_done(s, x, theta, res, LRC_NOT_CONVERGED);
        /* next iterate: keep (x, y) as (q, Aq) and x <- y / ||y|| */
        double *tq = s->qx, *tqy = s->qy;
        s->qx = x;
        s->qy = y;
        s->px = tq;
        s->py = tqy;
        scale_into(s->px, y, n, 1.0 / yn);
        s->stage = ST_START;
    }
}

int lrc_eig_iterate(lrc_eig *s)
{
    if (s == NULL || s->n < 1) return LRC_EINVAL;
    if (s->stage == ST_DONE) return LRC_EINVAL;
    if (s->method == LRC_EIG_POWER) return power_iterate(s);
    if (s->method == LRC_EIG_LANCZOS_LOWMEM) return lm_iterate(s);
    return lanczos_iterate(s);
}
