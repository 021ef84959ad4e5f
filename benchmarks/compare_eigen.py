"""Top eigenvalue: lrcore vs scipy eigsh, numpy power iteration and LAPACK, in one run.

    python benchmarks/compare_eigen.py               # full table (a few minutes)
    python benchmarks/compare_eigen.py --quick       # fewer repeats, n = 4000 eigh skipped
    python benchmarks/compare_eigen.py --threads 1   # every library on one thread

Prints, for dense symmetric matrices (n = 500, 2000, 4000; lambda_2/lambda_1 = 0.9 and
0.99, the rest of the spectrum uniform in [0, lambda_2)) and a sparse symmetric CSR
matrix (1e5 x 1e5, ~1e6 nonzeros, normal entries), the median wall time, the number of
mat-vecs and the true relative error of the answer for

* lrcore ``top_eigenvalue`` (thick-restart Lanczos; and ``method="power"``), tol 1e-6;
* ``scipy.sparse.linalg.eigsh(k=1, which="LA", tol=1e-6)`` (ARPACK);
* textbook numpy power iteration, stopped by the same residual test;
* ``scipy.linalg.eigh(subset_by_index=[n-1, n-1])`` (LAPACK, exact; dense only),

each time also as a ratio to eigsh's (< 1: faster than eigsh).  Then the mat-vec counts
on a diagonal spectrum with gap 0.01 (n = 10,000): to converge (residual 1e-6) and to
reach eigenvalue relative error 1e-6; and the one-triangle mat-vec's bandwidth against
the machine's measured read bandwidth.  All solvers use their defaults for threads
(lrcore: OpenMP on every core; numpy/scipy: OpenBLAS's pool).
"""
from __future__ import annotations

import argparse
import os
import sys

import timing  # benchmarks/timing.py

timing.threads_from_argv()      # --threads N must reach OpenBLAS before numpy loads it

import platform
import warnings

import numpy as np
import scipy
import scipy.linalg as la
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

import lrcore
from lrcore import _core
from lrcore.curvature import top_eigenvalue

# the test matrices are shared with the tests: tests/reference/matrices.py (numpy/scipy only)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from reference.matrices import gap_spectrum, householder, sparse_symmetric  # noqa: E402

TOL = 1e-6


def median_time(fn, repeats):
    """(median seconds, last result); no warm-up call: the solvers' runs are long."""
    return timing.median_time(fn, repeats, warmup=False)


POWER_MAXITER = 5000   # power iteration stalls on the sparse case (|lambda_min| ~ lambda_max)


def numpy_power(A, v0, tol=TOL, maxiter=POWER_MAXITER):
    """x <- A x / ||A x||; stop when ||A x - theta x|| <= tol |theta| (theta = x^T A x)."""
    x = v0 / np.linalg.norm(v0)
    for k in range(1, maxiter + 1):
        y = A @ x
        theta = x @ y
        if np.linalg.norm(y - theta * x) <= tol * abs(theta):
            return theta, k
        x = y / np.linalg.norm(y)
    return theta, maxiter


def count_eigsh(A, v0):
    cnt = [0]

    def mv(x):
        cnt[0] += 1
        return A @ x

    eigsh(LinearOperator(A.shape, matvec=mv, dtype=A.dtype), k=1, which="LA", tol=TOL, v0=v0)
    return cnt[0]


def row(name, t, nmv, err, t_ref):
    ratio = f"{t / t_ref:6.2f}" if t_ref else "     -"
    nm = f"{nmv:7d}" if isinstance(nmv, int) else f"{nmv:>7s}"
    e = f"{err:9.1e}" if isinstance(err, float) else f"{err:>9s}"
    return f"  {name:28s} {t * 1e3:10.2f} ms {ratio}x  {nm} mv  err {e}"


def bench_case(label, A, true, repeats, slow_repeats, do_eigh, is_sparse=False):
    n = A.shape[0]
    v0 = np.random.default_rng(1).standard_normal(n)
    print(f"\n{label}")
    print(f"  {'solver':28s} {'time':>13s} {'/eigsh':>7s}  {'mat-vecs':>10s}  {'rel. error':>13s}")
    te, w = median_time(lambda: eigsh(A, k=1, which="LA", tol=TOL, v0=v0), repeats)
    ne = count_eigsh(A, v0)
    lines = [row("scipy eigsh (ARPACK)", te, ne, abs(w[0][0] - true) / abs(true), te)]
    mine = []
    for tol in (TOL, TOL / 10):
        t, r = median_time(lambda: top_eigenvalue(A, tol=tol, seed=3), repeats)
        mine.append(row(f"lrcore lanczos tol={tol:.0e}", t, r.n_matvec,
                        abs(r.value - true) / abs(true), te))
    nt = lrcore.get_num_threads()
    if nt > 1:   # the same on one thread: robust when other processes share the cores
        lrcore.set_num_threads(1)
        t, r = median_time(lambda: top_eigenvalue(A, tol=TOL, seed=3), repeats)
        lrcore.set_num_threads(nt)
        mine.append(row("lrcore lanczos, 1 thread", t, r.n_matvec,
                        abs(r.value - true) / abs(true), te))
    lines = mine + lines
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrcore.ConvergenceWarning)
        t, r = median_time(lambda: top_eigenvalue(A, method="power", seed=3,
                                                  maxiter=POWER_MAXITER), slow_repeats)
    lines.append(row("lrcore power" + ("" if r.converged else " (not converged)"), t,
                     r.n_matvec, abs(r.value - true) / abs(true), te))
    t, (theta, k) = median_time(lambda: numpy_power(A, v0), slow_repeats)
    lines.append(row("numpy power iteration" + ("" if k < POWER_MAXITER else " (not conv.)"), t,
                     k, abs(theta - true) / abs(true), te))
    if do_eigh:
        t, w = median_time(lambda: la.eigh(A, subset_by_index=[n - 1, n - 1],
                                           eigvals_only=True), slow_repeats)
        lines.append(row("scipy.linalg.eigh(subset)", t, "-", abs(w[0] - true) / abs(true), te))
    elif not is_sparse:
        lines.append("  scipy.linalg.eigh(subset)    (skipped with --quick)")
    else:
        lines.append("  scipy.linalg.eigh(subset)    n/a (dense 1e5 x 1e5 needs 80 GB)")
    print("\n".join(lines))


def matvecs_to_accuracy(op, n, method, true, rel=1e-6, hi=50000):
    """Smallest maxiter whose answer has relative eigenvalue error <= rel (the runs with a
    fixed seed are prefixes of each other, so bisection applies)."""
    lo = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while lo < hi:
            mid = (lo + hi) // 2
            r = top_eigenvalue(op, n=n, method=method, seed=3, maxiter=mid)
            if abs(r.value - true) <= rel * abs(true):
                hi = mid
            else:
                lo = mid + 1
    return lo


def bandwidth_section(repeats):
    big = np.ones(2**26)  # 512 MiB
    t, _ = median_time(lambda: _core._stream_sum(big), repeats)
    bw = big.nbytes / t / 1e9
    tn, _ = median_time(lambda: big.sum(), repeats)
    print(f"\nread bandwidth: lrcore one-pass sum {bw:.1f} GB/s  (numpy sum {big.nbytes / tn / 1e9:.1f} GB/s)")
    print(f"  {'one-triangle mat-vec':28s} {'time':>10s}  {'GB/s (triangle)':>16s}  {'of read bw':>10s}")
    for n, dt in ((4000, np.float64), (8000, np.float64), (4000, np.float32), (8000, np.float32)):
        A = np.ones((n, n), dtype=dt)
        x = np.ones(n)
        tri = n * (n + 1) / 2 * A.itemsize
        for kern in ("c", "blas"):
            t, _ = median_time(lambda: _core._symv(A, x, kernel=kern), 3 * repeats)
            name = f"n={n} {np.dtype(dt).name} {'lrcore C' if kern == 'c' else 'BLAS ' + ('dsymv' if dt == np.float64 else 'ssymv')}"
            print(f"  {name:28s} {t * 1e3:8.2f} ms  {tri / t / 1e9:12.1f} GB/s  {tri / t / 1e9 / bw:9.0%}")
        tg, _ = median_time(lambda: A @ x.astype(dt), 3 * repeats)
        print(f"  {'n=%d %s numpy A@x (gemv)' % (n, np.dtype(dt).name):28s} {tg * 1e3:8.2f} ms  "
              f"{tri / tg / 1e9:12.1f} GB/s  {tri / tg / 1e9 / bw:9.0%}   (reads all n^2)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for lrcore and OpenBLAS (0: their defaults)")
    args = ap.parse_args(argv)
    repeats, slow = (3, 1) if args.quick else (7, 3)
    if args.threads:
        lrcore.set_num_threads(args.threads)

    print("lrcore top-eigenvalue benchmark")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"lrcore {lrcore.__version__}, {os.cpu_count()} CPUs, lrcore threads {lrcore.get_num_threads()}")
    for line in timing.environment():
        print(f"  {line}")
    if hasattr(os, "getloadavg"):
        print(f"  load average at start: {os.getloadavg()[0]:.2f}")
    print(f"  tol = {TOL:g} (residual ||Av - lambda v|| <= tol |lambda| for every iterative solver)")

    for n in (500, 2000, 4000):
        for ratio in (0.9, 0.99):
            A, true = householder(gap_spectrum(n, ratio)), 1.0
            bench_case(f"dense n={n}, lambda2/lambda1={ratio}", A, true, repeats, slow,
                       do_eigh=not (args.quick and n == 4000))
    S = sparse_symmetric(100_000, 500_000)
    true = eigsh(S, k=1, which="LA", tol=1e-14, return_eigenvectors=False)[0]
    # the power iterations stall on this matrix (5000 mat-vecs, ~10 s each): one repeat
    bench_case(f"sparse CSR n={S.shape[0]}, nnz={S.nnz}", S, true, repeats, 1, False, True)

    n = 10_000
    lam = gap_spectrum(n, 0.99)
    D = sp.diags(lam).tocsr()
    print(f"\nmat-vec counts, diagonal spectrum, gap 0.01 (lambda2 = 0.99), n = {n}:")
    v0 = np.random.default_rng(1).standard_normal(n)
    lz = top_eigenvalue(D, seed=3)
    pw = top_eigenvalue(D, method="power", seed=3)
    print(f"  to converge (residual <= 1e-6 |lambda|): lrcore lanczos {lz.n_matvec}, "
          f"eigsh {count_eigsh(D, v0)}, lrcore power {pw.n_matvec}")
    print(f"  to reach eigenvalue rel. error 1e-6:     lrcore lanczos "
          f"{matvecs_to_accuracy(D, None, 'lanczos', 1.0)}, "
          f"lrcore power {matvecs_to_accuracy(D, None, 'power', 1.0)}")

    bandwidth_section(repeats)
    if hasattr(os, "getloadavg"):
        print(f"\nload average at end: {os.getloadavg()[0]:.2f} (other processes share the cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
