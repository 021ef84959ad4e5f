/*
 * internal.h -- private helpers of lrcore's C core (not installed, not part of the C API).
 *
 * Included by the sources in csrc/ and by the binding (lrcore/_core.pyx), never by users.
 * Names carry the prefix lrci_ / LRCI_ so they cannot be mistaken for the public lrc_
 * API of lrcore.h, and may change in any release.
 */
#ifndef LRCORE_INTERNAL_H
#define LRCORE_INTERNAL_H

#include "lrcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LRCI_HOT: compile a function twice (AVX2 and baseline x86-64) and pick at load time, so
 * a portable wheel still uses 256-bit vectors.  Off under -march=native (LRC_NATIVE), on
 * non-x86/non-glibc targets, and when LRC_NO_MULTIVERSION is defined (the build switches
 * LRC_NATIVE and LRC_NO_MULTIVERSION are set by setup.py).                              */
#if !defined(LRC_NATIVE) && !defined(LRC_NO_MULTIVERSION) && defined(__x86_64__) && \
    defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define LRCI_HOT __attribute__((target_clones("avx2", "default")))
#else
#define LRCI_HOT
#endif
#define LRCI_CAT_(a, b) a##_##b
#define LRCI_CAT(a, b) LRCI_CAT_(a, b)

/* ---- OpenMP work splitting (common.c) ------------------------------------------------ */
/* Number of OpenMP threads to use for n elements given the caller's request. */
int lrci_team_size(ptrdiff_t n, int nthreads);
/* The [lo, hi) slice of [0, n) owned by thread `tid` of `nt` (cache-line aligned). */
void lrci_thread_range(ptrdiff_t n, int tid, int nt, ptrdiff_t *lo, ptrdiff_t *hi);

/* ---- pacing of long loops (common.c) ------------------------------------------------- */
/* Monotonic wall-clock time in seconds (CLOCK_MONOTONIC where POSIX provides it). */
double lrci_seconds(void);

/* A pacer tells a long loop when `budget` seconds have passed, reading the clock about
 * once a millisecond whatever one unit of work costs: the number of units between two
 * reads doubles while reads come faster than that and halves when they come slower.
 *     lrci_pacer pc;  lrci_pacer_start(&pc, 0.05);
 *     for (;;) { one_unit();  if (lrci_pacer_due(&pc)) return LRC_PAUSED; }          */
typedef struct lrci_pacer {
    double start, last, budget;
    int64_t every, count;
} lrci_pacer;

static inline void lrci_pacer_start(lrci_pacer *p, double budget)
{
    p->budget = budget;
    p->every = 1;
    p->count = 0;
    p->start = p->last = budget > 0 ? lrci_seconds() : 0.0;
}

/* Call once per unit of work; 1 once the budget is spent (never when budget <= 0). */
static inline int lrci_pacer_due(lrci_pacer *p)
{
    if (!(p->budget > 0)) return 0;
    if (++p->count < p->every) return 0;
    p->count = 0;
    const double t = lrci_seconds();
    if (t - p->start >= p->budget) return 1;
    const double dt = t - p->last;
    p->last = t;
    if (dt < 0.5e-3 && p->every < ((int64_t)1 << 16))
        p->every *= 2;
    else if (dt > 2e-3 && p->every > 1)
        p->every /= 2;
    return 0;
}

/* ---- kernels used only by lrcore's own tests and benchmarks -------------------------- */
/* Eigenvalues (ascending, into d) and eigenvectors of the symmetric tridiagonal matrix
 * with diagonal d[0..n) and off-diagonal e[0..n-1) (e is destroyed) by the implicit QL
 * method (EISPACK tql2).  z is nrows x n, row-major, usually the identity (nrows = n: z
 * becomes the eigenvector matrix, column i for d[i]) or one row (the last components).
 * Returns LRC_NONFINITE for NaN/Inf input, LRC_NOT_CONVERGED after 30 n sweeps.
 * (eigen.c; the Lanczos solver's small eigenproblems.)                                 */
int lrci_tridiag_eig(double *d, double *e, ptrdiff_t n, double *z, ptrdiff_t nrows);

/* The kernels behind the cosine schedules: sin(pi x) and (1 + cos(pi x)) / 2 for any
 * finite x, with exact argument reduction (schedule.c).                                */
double lrci_sinpi(double x);
double lrci_cos_anneal(double x);

/* Memory-bandwidth references for the benchmarks, with the kernels' compiler, flags and
 * threading: one pass that reads a,b,c,d and writes a,c,d (the traffic of an Adam step;
 * update.c), and the sum of a[0..n) in one streaming pass (eigen.c).                   */
void lrci_stream_4r3w_f64(double *a, const double *b, double *c, double *d, ptrdiff_t n,
                          int nthreads);
void lrci_stream_4r3w_f32(float *a, const float *b, float *c, float *d, ptrdiff_t n,
                          int nthreads);
double lrci_stream_sum_f64(const double *a, ptrdiff_t n, int nthreads);

#ifdef __cplusplus
}
#endif

#endif /* LRCORE_INTERNAL_H */
