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

import lrcore
from lrcore.datasets import load_file

from timing import median_time  # benchmarks/timing.py

REPORTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports")


def environment() -> None:
    print(f"  python {platform.python_version()}, numpy {np.__version__}, scipy "
          f"{scipy.__version__}, lrcore {lrcore.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        print(f"  {var}={os.environ[var]!r}" if var in os.environ else f"  {var} not set")
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
# driver
# ----------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[int], None]] = {
    "loading": section_loading,
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
    for k, name in enumerate(names):
        if k:
            print()
        buf = io.StringIO()
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
            SECTIONS[name](repeats)
        if args.save:
            os.makedirs(REPORTS, exist_ok=True)
            with open(os.path.join(REPORTS, f"compare_data_{name}.txt"), "w") as f:
                f.write(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
