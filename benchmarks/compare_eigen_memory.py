"""Host memory of the eigen-solver: full (thick-restart) vs low-memory Lanczos at n = 1e7.

    python benchmarks/compare_eigen_memory.py                # n = 1e7, 3 timed runs
    python benchmarks/compare_eigen_memory.py --n 2000000 --repeats 1   # quicker
    python benchmarks/compare_eigen_memory.py --threads 1    # lrcore and OpenBLAS on 1 thread

Two operators with n = 10,000,000 unknowns (a model with 1e7 parameters):

* ``lowrank``: A = diag(d) + U diag(s) U^T, d uniform in [0, 1], U four random
  normalised columns, s = (5, 4.5, 4.2, 4): a Python operator (a SymmetricOperator,
  psd=True) applied with numpy and BLAS (its products write into a buffer it owns and
  allocate no n-vector);
* ``csr``: a symmetric tridiagonal CSR matrix (diagonal uniform in [0, 1] with one entry
  3, off-diagonals 0.25) whose products run in lrcore's C kernel;
* ``diag``: diag(d), d uniform in [0, 0.99] with one entry 1 (a relative gap of 0.01:
  hundreds of steps, so the full mode restarts and fills its basis; a Python operator).

Each (operator, mode) runs in its own subprocess, so the peaks do not mix.  Reported per
run: mat-vecs, median wall time of ``--repeats`` solves, the eigenvalue and its relative
difference from the full mode's, the certified upper bound, and three memory figures in
bytes and in n-vectors (8 n bytes):

* ``workspace``: the solver's workspace (lrc_eig_workspace_size; what ``memory=``
  budgets);
* ``traced``: the tracemalloc peak during ``top_eigenvalue`` (every numpy allocation:
  the workspace, the vector handed to a Python operator, the scale probe at the first
  product, the returned vector, and for CSR input the solver's private copy of the
  matrix, 5 n-vectors here);
* ``rss``: the peak resident set size during the solve above the resident size before
  it (VmHWM, reset through /proc/self/clear_refs before the solve).

Then the workspace sizes for n = 1e6, 1e7, 1e8 (computed, not allocated), and which mode
``mode="auto"`` picks under the default budget (DEFAULT_MEMORY, 2 GiB).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import timing  # benchmarks/timing.py

timing.threads_from_argv()      # --threads N must reach OpenBLAS before numpy loads it

import platform
import statistics
import time
import tracemalloc

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.linalg import blas

import lrcore
from lrcore import _core
from lrcore.curvature import (
    DEFAULT_MEMORY,
    DEFAULT_NCV,
    DEFAULT_NCV_LOWMEM,
    SymmetricOperator,
    top_eigenvalue,
)

TOL = 1e-6
RANK = 4


def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def build(kind, n):
    rng = np.random.default_rng(0)
    d = rng.uniform(0.0, 1.0, n)
    if kind == "diag":
        d *= 0.99
        d[n // 2] = 1.0
        buf = np.empty(n)

        def dmv(v):
            return np.multiply(d, v, out=buf)

        return SymmetricOperator(n, dmv, psd=True), None
    if kind == "csr":
        d[n // 3] = 3.0
        off = np.full(n - 1, 0.25)
        return sp.diags([off, d, off], [-1, 0, 1], format="csr"), None
    U = [rng.standard_normal(n) for _ in range(RANK)]
    for u in U:
        u /= np.linalg.norm(u)
    s = np.array([5.0, 4.5, 4.2, 4.0])
    buf = np.empty(n)

    def matvec(v):
        np.multiply(d, v, out=buf)
        for k in range(RANK):
            blas.daxpy(U[k], buf, a=s[k] * float(U[k] @ v))     # in place
        return buf

    # positive semi-definite: the probabilistic bound needs no shift
    return SymmetricOperator(n, matvec, psd=True), None


def child(kind, mode, n, repeats, threads):
    if threads:
        lrcore.set_num_threads(threads)
    A, nn = build(kind, n)
    kw = {"seed": 1, "tol": TOL, "mode": mode}
    if nn is not None:
        kw["n"] = nn
    ws = _core.eig_workspace_bytes(
        n, ncv=DEFAULT_NCV if mode == "full" else DEFAULT_NCV_LOWMEM, mode=mode)
    # memory run: traced peak and resident peak of one solve
    rss0 = _status("VmRSS")
    hwm_ok = _reset_hwm()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    r = top_eigenvalue(A, **kw)
    t_first = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss = _status("VmHWM") - rss0 if hwm_ok else -1
    times = [t_first]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        top_eigenvalue(A, **kw)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"kind": kind, "mode": r.mode, "n_matvec": r.n_matvec,
                      "time": statistics.median(times), "times": times, "value": r.value,
                      "upper": r.upper_bound, "bound": r.bound, "residual": r.residual,
                      "converged": r.converged, "workspace": ws, "traced": traced,
                      "rss": rss}), flush=True)


def run_child(kind, mode, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, mode,
           "--n", str(args.n), "--repeats", str(args.repeats)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind}/{mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_bytes(b):
    return f"{b / 2**30:7.2f} GiB" if b >= 2**30 else f"{b / 2**20:7.1f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--ops", default="lowrank,csr,diag")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "MODE"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.n, args.repeats, args.threads)
        return
    n = args.n
    vec = 8 * n
    print("lrcore eigen-solver memory benchmark: full vs low-memory Lanczos")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, scipy "
          f"{scipy.__version__}, lrcore {lrcore.__version__}, {os.cpu_count()} CPUs, "
          f"lrcore threads {args.threads or lrcore.get_num_threads()}")
    for line in timing.environment():
        print(f"  {line}")
    print(f"  load average at start: {os.getloadavg()[0]:.2f}")
    print(f"  n = {n:,} (one n-vector = {fmt_bytes(vec).strip()}), tol = {TOL:g}, "
          f"median of {args.repeats} solves, seed 1, default ncv ({DEFAULT_NCV} full, "
          f"{DEFAULT_NCV_LOWMEM} longest low-memory cycle)")
    print()
    ops = {"lowrank": f"diag + rank-{RANK}, Python/numpy operator",
           "csr": "tridiagonal CSR, C operator",
           "diag": "diagonal, lambda_2/lambda_1 = 0.99: many steps, restarts"}
    for kind in args.ops.split(","):
        what = ops[kind]
        rows = {m: run_child(kind, m, args) for m in ("full", "low-memory")}
        ref = rows["full"]["value"]
        print(f"{kind}: {what}")
        print(f"  {'mode':<11} {'mat-vecs':>8} {'time':>8} {'/full':>6}  {'lambda_max':>18} "
              f"{'rel diff':>8}  {'upper bound':>12}  {'workspace':>18} {'traced':>18} "
              f"{'rss':>18}")
        for m, r in rows.items():
            rel = abs(r["value"] - ref) / abs(ref)
            mem = "  ".join(f"{fmt_bytes(r[k])} ({r[k] / vec:5.2f})"
                            for k in ("workspace", "traced", "rss"))
            print(f"  {m:<11} {r['n_matvec']:>8} {r['time']:>7.2f}s "
                  f"{r['time'] / rows['full']['time']:>5.2f}x  {r['value']:>18.12f} "
                  f"{rel:>8.1e}  {r['upper']:>12.6f}  {mem}"
                  + ("" if r["converged"] else "  NOT CONVERGED"))
        print("  (memory columns: bytes and n-vectors; times of each run: "
              + ", ".join(f"{m} " + " ".join(f"{t:.2f}" for t in r["times"])
                          for m, r in rows.items()) + ")")
        print()
    print("workspace by n (computed, not allocated)")
    print(f"  {'n':>12} {'full (ncv=32)':>16} {'low-memory':>14} {'ratio':>7}  "
          "mode='auto' at DEFAULT_MEMORY (2 GiB)")
    for nn in (10**6, 10**7, 10**8):
        f = _core.eig_workspace_bytes(nn, ncv=DEFAULT_NCV, mode="full")
        lo = _core.eig_workspace_bytes(nn, ncv=DEFAULT_NCV_LOWMEM, mode="low-memory")
        auto = "full" if f <= DEFAULT_MEMORY else "low-memory"
        print(f"  {nn:>12,} {fmt_bytes(f):>16} {fmt_bytes(lo):>14} {f / lo:>6.1f}x  {auto}")


if __name__ == "__main__":
    main()
