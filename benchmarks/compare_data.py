"""Data benchmarks: lrcore against its peers on the same inputs, in one run.

    python benchmarks/compare_data.py                      # every section
    python benchmarks/compare_data.py --section loading    # one section
    python benchmarks/compare_data.py --quick --save       # fewer repeats; write reports/

Sections (one function each, ``section_<name>``; ``--save`` writes each section's output to
``benchmarks/reports/compare_data_<name>.txt``):

loading
    ``lrcore.datasets.load_file`` on files generated in a temporary folder:

    * a CSV of 1e6 rows x 3 columns with a header, numbers written to round-trip (``%.17g``,
      ~17 significant digits), and the same data with short numbers (``%.6g``), against
      ``numpy.loadtxt(delimiter=",", skiprows=1)``;
    * an svmlight file of 1e5 rows x 1e4 features with 1e6 non-zeros (``%.17g`` values,
      integer class labels, 1-based indices), against
      ``sklearn.datasets.load_svmlight_file`` (a test-time peer only: the row is skipped
      when scikit-learn is not installed).

    Median wall time of several runs after one warm-up; the results are checked to be
    identical bit for bit (both sides round correctly), so the table compares equal work.
    Targets: CSV within 2x of loadtxt, svmlight within 2x of scikit-learn (ratio <= 2).

sparse_logistic
    The value and gradient of sparse logistic regression, f(w) = mean(log(1 + e^z) - y z),
    g = X^T (sigmoid(z) - y) / n, z = X w, on a random CSR matrix of 1e5 rows x 1e4
    columns with 1e6 non-zeros (about 10 per row, int32 indices): ``Logistic(X,
    y).value_and_grad`` (one fused pass over the matrix in C: each row's dot product, its
    log-loss and sigmoid, and its scatter into the gradient while the row is in cache; on
    one thread and with the OpenMP default) against the same computed with scipy.sparse
    products (``X @ w``, numpy's element-wise log-loss and sigmoid, ``X.T @ r``: two passes
    over the matrix and four temporaries of length n).  Results agree to 1e-12.  Target:
    lrcore at least 1.5x faster (peer / lrcore >= 1.5).

sparse_eigen
    The top eigenvalue of X^T X / n for the same matrix, to a relative tolerance of 1e-6:
    ``LeastSquares(X, y).curvature()`` (thick-restart Lanczos in C on the implicit Gram
    operator, each product one fused CSR pass, with the certified upper bound) against
    ``scipy.sparse.linalg.eigsh(k=1, which="LA", tol=1e-6)`` (ARPACK) on a
    ``LinearOperator`` whose mat-vec is ``X.T @ (X @ v) / n``.  The eigenvalues agree to
    1e-6.  Target: lrcore at most 0.5x the time of the peer (lrcore / peer <= 0.5).

``--save`` also writes the output of every section run to
``benchmarks/reports/compare_data.txt`` when all sections run.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
from collections.abc import Callable

import numpy as np
import scipy
import timing  # benchmarks/timing.py
from timing import median_time

import lrcore
from lrcore.datasets import load_file

REPORTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports")


def environment() -> None:
    print(f"  python {platform.python_version()}, numpy {np.__version__}, scipy "
          f"{scipy.__version__}, lrcore {lrcore.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}")
    for line in timing.environment():
        print(f"  {line}")
    if hasattr(os, "getloadavg"):
        print(f"  load average at start: {os.getloadavg()[0]:.2f}")


# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------

def write_csv(path: str, A: np.ndarray, fmt: str) -> None:
    np.savetxt(path, A, fmt=fmt, delimiter=",", header="a,b,target", comments="")


def write_svmlight(path: str, n: int, d: int, nnz: int, rng: np.random.Generator):
    """A random 1-based svmlight file: n rows, d features, exactly nnz entries (distinct,
    sorted indices per row); returns (indptr, indices (0-based), data, labels)."""
    flat = np.sort(rng.choice(n * d, size=nnz, replace=False))
    rows, cols = np.divmod(flat, d)
    data = rng.standard_normal(nnz)
    labels = rng.integers(0, 10, size=n).astype(np.float64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    ind, val, ptr, lab = (cols + 1).tolist(), data.tolist(), indptr.tolist(), labels.tolist()
    with open(path, "w") as f:
        for i in range(n):
            f.write("%d" % lab[i])
            f.write("".join([" %d:%.17g" % (ind[k], val[k]) for k in range(ptr[i], ptr[i + 1])]))
            f.write("\n")
    # the values as written (%.17g round-trips every double)
    return indptr, cols, data, labels


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def section_loading(repeats: int) -> None:
    print("lrcore data loading benchmark: load_file vs numpy.loadtxt and scikit-learn")
    environment()
    rows: list[tuple[str, float, str, float | None]] = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        A = rng.standard_normal((1_000_000, 3))
        for fmt, what in (("%.17g", "17 digits"), ("%.6g", "6 digits")):
            path = os.path.join(tmp, "data.csv")
            write_csv(path, A, fmt)
            size = os.path.getsize(path) / 1e6
            t_lr, (X, y, _) = median_time(lambda: load_file(path, target="target"), repeats)
            t_np, B = median_time(lambda: np.loadtxt(path, delimiter=",", skiprows=1), repeats)
            assert same_bits(X, B[:, :2]) and same_bits(y, B[:, 2]), "CSV results differ"
            rows.append((f"CSV 1e6 x 3, {what} ({size:.0f} MB)", t_lr, "numpy.loadtxt", t_np))
            os.remove(path)

        path = os.path.join(tmp, "data.svm")
        n, d, nnz = 100_000, 10_000, 1_000_000
        indptr, cols, data, labels = write_svmlight(path, n, d, nnz, rng)
        size = os.path.getsize(path) / 1e6
        t_lr, (X, y, _) = median_time(lambda: load_file(path), repeats)
        assert X.shape[0] == n and X.nnz == nnz and same_bits(X.data, data)
        assert np.array_equal(X.indptr, indptr) and np.array_equal(X.indices, cols)
        assert same_bits(y, labels)
        label = f"svmlight 1e5 x 1e4, 1e6 nnz ({size:.0f} MB)"
        try:
            from sklearn import __version__ as skv
            from sklearn.datasets import load_svmlight_file
        except ImportError:
            rows.append((label, t_lr, "scikit-learn (not installed)", None))
        else:
            t_sk, (Xs, ys) = median_time(lambda: load_svmlight_file(path, n_features=X.shape[1]),
                                         repeats)
            assert same_bits(Xs.data, X.data) and np.array_equal(Xs.indices, X.indices)
            assert np.array_equal(Xs.indptr, X.indptr) and same_bits(ys, y)
            rows.append((label, t_lr, f"sklearn {skv} load_svmlight_file", t_sk))

    print(f"\n  median of {repeats} runs after a warm-up; ratio = lrcore / peer (target <= 2)")
    print(f"  {'file':40} {'lrcore':>9}  {'peer':36} {'peer time':>9} {'ratio':>6}")
    for name, t_lr, peer, t_peer in rows:
        if t_peer is None:
            print(f"  {name:40} {t_lr:8.3f}s  {peer:36} {'-':>9} {'-':>6}")
        else:
            verdict = "ok" if t_lr <= 2 * t_peer else "SLOW"
            print(f"  {name:40} {t_lr:8.3f}s  {peer:36} {t_peer:8.3f}s {t_lr / t_peer:6.2f}  "
                  f"{verdict}")
    if hasattr(os, "getloadavg"):
        print(f"\n  load average at end: {os.getloadavg()[0]:.2f}")


# ----------------------------------------------------------------------------------------
# sparse kernels
# ----------------------------------------------------------------------------------------

def wall_and_cpu(fn, repeats):
    """(median wall time, median CPU time of the calling thread, last result) of
    ``repeats`` calls after a warm-up.  On a shared machine a single-threaded call's CPU
    time is what its wall time would be without preemption.  The calling thread's time,
    not the process's: after a threaded BLAS call OpenBLAS's worker threads spin for a
    while, and process CPU time would charge that spinning to whatever runs next.  For a
    threaded call (an OpenMP team, a peer's BLAS threads) only the wall time is
    comparable; a peer's work on helper threads is not in its CPU column, which favours
    the peer."""
    import statistics
    import time

    fn()
    walls, cpus = [], []
    out = None
    for _ in range(repeats):
        c0, t0 = time.thread_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def sparse_matrix(n: int = 100_000, d: int = 10_000, nnz: int = 1_000_000, seed: int = 0):
    """A random CSR matrix with exactly nnz entries at distinct positions (int32 indices,
    sorted rows), N(0, 1) values, and 0/1 labels from a planted linear model."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(n * d, size=nnz, replace=False))
    rows, cols = np.divmod(flat, d)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    X = sp.csr_array((rng.standard_normal(nnz), cols.astype(np.int32), indptr), shape=(n, d))
    w_true = rng.standard_normal(d) / np.sqrt(nnz / n)
    y = (X @ w_true + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y, rng


def threads_note() -> str:
    return (f"  lrcore threads (lrcore.get_num_threads()): {lrcore.get_num_threads()}; "
            f"OpenMP teams start from {lrcore.openmp_threshold()} stored entries")


def section_sparse_logistic(repeats: int) -> None:
    from scipy.special import expit

    from lrcore import _core
    from lrcore.problems import Logistic

    print("lrcore sparse logistic value+gradient: one fused C pass vs scipy.sparse products")
    environment()
    X, y, rng = sparse_matrix()
    n, d = X.shape
    print(f"  X: {n} x {d} CSR, {X.nnz} non-zeros, {X.indices.dtype} indices")
    p = Logistic(X, y)
    w = 0.1 * rng.standard_normal(d)
    serial = _core.CProblem(2, y=p.y, csr=(p.X.indptr, p.X.indices, p.X.data), n_features=d,
                            nthreads=1)

    def peer():
        z = X @ w
        f = float(np.mean(np.logaddexp(0.0, z) - y * z))
        g = X.T @ (expit(z) - y) / n
        return f, g

    rows = []
    t_peer, c_peer, (f_ref, g_ref) = wall_and_cpu(peer, repeats)
    for label, fn in (("lrcore, 1 thread", lambda: serial.value_and_grad(w)),
                      ("lrcore, OpenMP default", lambda: p.value_and_grad(w))):
        t, c, (f, g) = wall_and_cpu(fn, repeats)
        assert abs(f - f_ref) <= 1e-12 * abs(f_ref), (f, f_ref)
        assert float(np.max(np.abs(g - g_ref))) <= 1e-12 * float(np.max(np.abs(g_ref)))
        rows.append((label, t, c))
    # the two passes of the peer separately, for scale
    t_fwd, _ = median_time(lambda: X @ w, repeats)
    t_bwd, _ = median_time(lambda: X.T @ y, repeats)
    print(f"\n  median of {repeats} runs after a warm-up; speedup = peer / lrcore "
          "(target >= 1.5); cpu = CPU time of the calling thread")
    print(f"  {'implementation':34} {'wall':>9} {'speedup':>8} {'cpu':>9} {'speedup':>8}")
    print(f"  {'scipy.sparse products + numpy':34} {t_peer * 1e3:7.2f}ms {'1.00':>8} "
          f"{c_peer * 1e3:7.2f}ms {'1.00':>8}")
    for label, t, c in rows:
        verdict = "ok" if t_peer / t >= 1.5 else "MISSED"
        cpu = (f"{c * 1e3:7.2f}ms {c_peer / c:8.2f}" if label.endswith("1 thread")
               else f"{'-':>9} {'-':>8}")
        print(f"  {label:34} {t * 1e3:7.2f}ms {t_peer / t:8.2f} {cpu}  {verdict} (wall)")
    print(f"  (peer's parts: X @ w {t_fwd * 1e3:.2f}ms, X.T @ r {t_bwd * 1e3:.2f}ms)")
    print("  (the OpenMP row needs a second idle core: on a machine shared with other work a "
          "team waits for its\n   second thread at every call, and loses to one thread)")
    print(threads_note())
    if hasattr(os, "getloadavg"):
        print(f"\n  load average at end: {os.getloadavg()[0]:.2f}")


def section_sparse_eigen(repeats: int) -> None:
    from scipy.sparse.linalg import LinearOperator, eigsh

    from lrcore.problems import LeastSquares

    print("lrcore top eigenvalue of X'X/n (sparse X): Lanczos on the fused Gram product vs "
          "ARPACK eigsh on scipy products")
    environment()
    X, y, rng = sparse_matrix()
    n, d = X.shape
    print(f"  X: {n} x {d} CSR, {X.nnz} non-zeros; tolerance 1e-6 relative on both sides")
    p = LeastSquares(X, y)
    counter = {"mv": 0}

    def mv(v):
        counter["mv"] += 1
        return X.T @ (X @ v) / n

    op = LinearOperator((d, d), matvec=mv, dtype=np.float64)
    seeds = iter(range(10_000))
    lr_rows = []
    res = None
    for label, nt in (("lrcore curvature(), 1 thread", 1), ("lrcore curvature(), OpenMP default", 0)):
        lrcore.set_num_threads(nt)
        try:
            t, c, res = wall_and_cpu(lambda: p.curvature(seed=next(seeds)), repeats)
        finally:
            lrcore.set_num_threads(0)
        lr_rows.append((label, t, c if nt == 1 else None, res.n_matvec))
    counter["mv"] = 0
    t_peer, c_peer, (vals, _) = wall_and_cpu(
        lambda: eigsh(op, k=1, which="LA", tol=1e-6, v0=rng.standard_normal(d)), repeats)
    mv_peer = counter["mv"] / (repeats + 1)
    lam = float(vals[0])
    assert abs(res.value - lam) <= 1e-6 * lam, (res.value, lam)
    # the same ARPACK solve on lrcore's fused product: separates the product from the solver
    gram = p.c_problem.gram
    counter2 = {"mv": 0}

    def mv2(v):
        counter2["mv"] += 1
        return gram(v)

    op2 = LinearOperator((d, d), matvec=mv2, dtype=np.float64)
    lrcore.set_num_threads(1)
    try:
        t_mix, c_mix, _ = wall_and_cpu(
            lambda: eigsh(op2, k=1, which="LA", tol=1e-6, v0=rng.standard_normal(d)), repeats)
        mv_mix = counter2["mv"] / (repeats + 1)
        _, c_mv_lr1, _ = wall_and_cpu(lambda: gram(y[:d]), 5 * repeats)
    finally:
        lrcore.set_num_threads(0)
    _, c_mv_peer, _ = wall_and_cpu(lambda: X.T @ (X @ y[:d]) / n, 5 * repeats)
    print(f"\n  median of {repeats} runs after a warm-up; ratio = lrcore / peer (target <= 0.5); "
          "cpu = CPU time of the calling thread")
    print(f"  {'implementation':46} {'wall':>9} {'ratio':>6} {'cpu':>9} {'ratio':>6} "
          f"{'mat-vecs':>9}")
    print(f"  {'eigsh (ARPACK) on X.T @ (X @ v) / n':46} {t_peer * 1e3:7.1f}ms {'1.00':>6} "
          f"{c_peer * 1e3:7.1f}ms {'1.00':>6} {mv_peer:9.0f}")
    print(f"  {'eigsh (ARPACK) on lrcore gram, 1 thread':46} {t_mix * 1e3:7.1f}ms "
          f"{t_mix / t_peer:6.2f} {c_mix * 1e3:7.1f}ms {c_mix / c_peer:6.2f} {mv_mix:9.0f}")
    for label, t, c, nmv in lr_rows:
        verdict = "ok" if t <= 0.5 * t_peer else "MISSED"
        cpu = f"{c * 1e3:7.1f}ms {c / c_peer:6.2f}" if c is not None else f"{'-':>9} {'-':>6}"
        print(f"  {label:46} {t * 1e3:7.1f}ms {t / t_peer:6.2f} {cpu} {nmv:9d}  {verdict} (wall)")
    print(f"  one product X'X v / n (cpu): scipy {c_mv_peer * 1e3:.2f}ms, lrcore "
          f"{c_mv_lr1 * 1e3:.2f}ms (1 thread)")
    print(f"  lambda_max = {res.value:.10g} (eigsh {lam:.10g}); certified upper bound "
          f"{res.upper_bound:.10g} ({res.bound})")
    print(threads_note())
    if hasattr(os, "getloadavg"):
        print(f"\n  load average at end: {os.getloadavg()[0]:.2f}")


# ----------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[int], None]] = {
    "loading": section_loading,
    "sparse_logistic": section_sparse_logistic,
    "sparse_eigen": section_sparse_eigen,
}


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self):
        for st in self.streams:
            st.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--section", choices=["all", *SECTIONS], default="all")
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    ap.add_argument("--save", action="store_true",
                    help="also write each section to benchmarks/reports/compare_data_<name>.txt")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 7
    names = list(SECTIONS) if args.section == "all" else [args.section]
    everything = io.StringIO()
    for k, name in enumerate(names):
        if k:
            print()
            everything.write("\n")
        buf = io.StringIO()
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
            SECTIONS[name](repeats)
        everything.write(buf.getvalue())
        if args.save:
            timing.save_report(buf.getvalue(), os.path.join(REPORTS, f"compare_data_{name}.txt"))
    if args.save and args.section == "all":
        timing.save_report(everything.getvalue(), os.path.join(REPORTS, "compare_data.txt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
