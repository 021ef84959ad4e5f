/* common.c -- status strings, the OpenMP work-splitting helpers shared by kernels, and
 * the monotonic clock that paces long loops. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#endif
#include "internal.h"

#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

const char *lrc_status_string(int status)
{
    switch (status) {
    case LRC_OK: return "success";
    case LRC_NONFINITE: return "non-finite value (NaN or Inf) in input";
    case LRC_EINVAL: return "invalid argument";
    case LRC_ENOMEM: return "out of memory";
    case LRC_NOT_CONVERGED: return "did not converge within the iteration limit";
    case LRC_BREAKDOWN: return "iteration broke down";
    case LRC_REQ_MATVEC: return "request: a matrix-vector product";
    case LRC_REQ_VALUE_GRAD: return "request: a value and gradient";
    case LRC_PAUSED: return "paused after its time budget";
    default: return "unknown status";
    }
}

int lrc_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int lrci_team_size(ptrdiff_t n, int nthreads)
{
#ifdef _OPENMP
    if (nthreads == 1 || n < LRC_OMP_MIN_N) return 1;
    int t = nthreads > 0 ? nthreads : omp_get_max_threads();
    /* give every thread at least half a threshold's worth of elements */
    ptrdiff_t cap = n / (LRC_OMP_MIN_N / 2);
    if (cap < t) t = (int)cap;
    return t < 1 ? 1 : t;
#else
    (void)n;
    (void)nthreads;
    return 1;
#endif
}

void lrci_thread_range(ptrdiff_t n, int tid, int nt, ptrdiff_t *lo, ptrdiff_t *hi)
{
    /* split in units of 16 elements (a 64-byte line of f32) so threads never share a line
     * of output when the arrays are line-aligned */
    const ptrdiff_t unit = 16;
    ptrdiff_t blocks = (n + unit - 1) / unit;
    ptrdiff_t per = blocks / nt, rem = blocks % nt;
    ptrdiff_t b0 = tid * per + (tid < rem ? tid : rem);
    ptrdiff_t b1 = b0 + per + (tid < rem ? 1 : 0);
    *lo = b0 * unit < n ? b0 * unit : n;
    *hi = b1 * unit < n ? b1 * unit : n;
}

double lrci_seconds(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    if (timespec_get(&ts, TIME_UTC) == TIME_UTC) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    return (double)clock() / CLOCKS_PER_SEC;
}
