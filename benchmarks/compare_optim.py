"""Fused update kernels vs numpy and torch, in one run: median time per step and ratios.

    python benchmarks/compare_optim.py            # full table (n = 1e3, 1e6, 1e7)
    python benchmarks/compare_optim.py --quick    # smaller repeat counts

For every optimizer (sgd, momentum, adam), dtype and size it prints the median time of
one step for lrcore (which also scans the gradient for NaN/Inf before writing), numpy
written idiomatically, numpy with preallocated ``out=`` buffers, and torch.optim with
``foreach=False``, ``foreach=True`` and ``fused=True`` (where PyTorch supports it on CPU),
each peer's time divided by lrcore's (> 1 means lrcore is faster; "lrcore unchecked" is
``nonfinite="unchecked"``, without the scan), and lrcore's effective
bandwidth against the machine's bound measured here with a one-pass C kernel that moves
the same number of bytes (``lrcore._core._stream_4r3w``: reads 4 arrays, writes 3; scaled
to the bytes each optimizer must move).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import lrcore
from lrcore import optim
from lrcore._core import _stream_4r3w

try:
    import torch
except ImportError:  # the table then has no torch columns
    torch = None

SIZES = [10**3, 10**6, 10**7]
# arrays read / written per step (x, g, state...) -> bytes moved = (r + w) * n * itemsize
TRAFFIC = {"sgd": (2, 1), "momentum": (3, 2), "adam": (4, 3)}


def timeit(fn, n: int, repeats: int) -> float:
    """Median seconds per call; small sizes are timed in batches to beat timer resolution."""
    fn()
    inner = max(1, int(2e-3 / max(_rough(fn), 1e-9)))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def _rough(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def make_lrcore(opt, x, g, st, policy="raise"):
    if opt == "sgd":
        return lambda: optim.sgd_step(x, g, 1e-6, nonfinite=policy)
    if opt == "momentum":
        return lambda: optim.momentum_step(x, g, st[0], 1e-6, 0.9, nonfinite=policy)
    return lambda: optim.adam_step(x, g, st[0], st[1], 10, 1e-6, nonfinite=policy)


def make_numpy(opt, x, g, st):
    lr, mu, b1, b2, eps, t = 1e-6, 0.9, 0.9, 0.999, 1e-8, 10
    if opt == "sgd":
        def f():
            x[...] = x - lr * g
    elif opt == "momentum":
        buf = st[0]

        def f():
            buf[...] = mu * buf + g
            x[...] = x - lr * buf
    else:
        m, v = st

        def f():
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1**t)
            vhat = v / (1 - b2**t)
            x[...] = x - lr * mhat / (np.sqrt(vhat) + eps)
    return f


def make_numpy_out(opt, x, g, st):
    lr, mu, b1, b2, eps, t = 1e-6, 0.9, 0.9, 0.999, 1e-8, 10
    tmp = np.empty_like(x)
    if opt == "sgd":
        def f():
            np.multiply(g, -lr, out=tmp)
            np.add(x, tmp, out=x)
    elif opt == "momentum":
        buf = st[0]

        def f():
            np.multiply(buf, mu, out=buf)
            np.add(buf, g, out=buf)
            np.multiply(buf, -lr, out=tmp)
            np.add(x, tmp, out=x)
    else:
        m, v = st
        tmp2 = np.empty_like(x)
        step = lr / (1 - b1**t)
        c2 = 1.0 / np.sqrt(1 - b2**t)

        def f():
            np.multiply(m, b1, out=m)
            np.multiply(g, 1 - b1, out=tmp)
            np.add(m, tmp, out=m)
            np.multiply(v, b2, out=v)
            np.multiply(g, g, out=tmp)
            np.multiply(tmp, 1 - b2, out=tmp)
            np.add(v, tmp, out=v)
            np.sqrt(v, out=tmp)
            np.multiply(tmp, c2, out=tmp)
            np.add(tmp, eps, out=tmp)
            np.divide(m, tmp, out=tmp2)
            np.multiply(tmp2, -step, out=tmp2)
            np.add(x, tmp2, out=x)
    return f


def make_torch(opt, x, g, mode):
    p = torch.nn.Parameter(torch.from_numpy(x))
    p.grad = torch.from_numpy(g)
    kw = {"foreach": False} if mode == "foreach=False" else (
        {"foreach": True} if mode == "foreach=True" else {"fused": True})
    try:
        if opt == "sgd":
            o = torch.optim.SGD([p], lr=1e-6, **kw)
        elif opt == "momentum":
            o = torch.optim.SGD([p], lr=1e-6, momentum=0.9, **kw)
        else:
            o = torch.optim.Adam([p], lr=1e-6, **kw)
        o.step()
    except (RuntimeError, ValueError, TypeError):
        return None  # this mode is not supported on CPU for this optimizer
    return o.step


def bandwidth_bound(dtype, n: int, repeats: int) -> float:
    """Bytes per second of the one-pass 4-read/3-write reference kernel."""
    a, b, c, d = (np.full(n, 1e-3, dtype) for _ in range(4))
    t = timeit(lambda: _stream_4r3w(a, b, c, d), n, repeats)
    return 7 * n * np.dtype(dtype).itemsize / t


def fmt_t(t):
    if t is None:
        return "n/a"
    if t < 1e-3:
        return f"{t * 1e6:8.2f}us"
    return f"{t * 1e3:8.2f}ms"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--sizes", type=float, nargs="*", default=SIZES)
    ap.add_argument("--opts", nargs="*", default=["sgd", "momentum", "adam"],
                    choices=["sgd", "momentum", "adam"])
    ap.add_argument("--repeats", type=int, default=None, help="samples per median")
    args = ap.parse_args(argv)
    reps = args.repeats or (5 if args.quick else 15)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                          "OMP_NUM_THREADS")}
    print(f"lrcore {lrcore.__version__} threads={lrcore.get_num_threads()} "
          f"numpy {np.__version__} torch {torch.__version__ if torch else 'not installed'}"
          f" (torch threads={torch.get_num_threads() if torch else '-'})")
    print(f"python {sys.version.split()[0]}; env: " +
          ", ".join(f"{k}={'unset' if v is None else v}" for k, v in env.items()))
    peers = ["lrcore unchecked", "numpy", "numpy out="]
    if torch is not None:
        peers += ["torch foreach=False", "torch foreach=True", "torch fused=True"]
    head = f"{'opt':9}{'dtype':8}{'n':>9} {'lrcore':>10} " + " ".join(f"{p:>22}" for p in peers)
    head += f" {'GB/s':>7} {'bound':>7} {'%bound':>7} {'unchk%':>7}"
    print(head)
    print("-" * len(head))
    for dtype in (np.float32, np.float64):
        for opt in args.opts:
            for n in (int(s) for s in args.sizes):
                rng = np.random.default_rng(0)
                mk = lambda: rng.uniform(-1, 1, n).astype(dtype)  # noqa: E731
                x, g = mk(), mk()
                st = [np.zeros(n, dtype), np.abs(mk())]
                t_lr = timeit(make_lrcore(opt, x, g, st), n, reps)
                # the bound is measured right after, so both see the same machine state
                bound = bandwidth_bound(dtype, n, reps) / 1e9
                times = [timeit(make_lrcore(opt, x, g, st, "unchecked"), n, reps),
                         timeit(make_numpy(opt, x, g, st), n, reps),
                         timeit(make_numpy_out(opt, x, g, st), n, reps)]
                if torch is not None:
                    for mode in ("foreach=False", "foreach=True", "fused=True"):
                        f = make_torch(opt, x.copy(), g, mode)
                        times.append(None if f is None else timeit(f, n, reps))
                r, w = TRAFFIC[opt]
                moved = (r + w) * n * np.dtype(dtype).itemsize
                gbs = moved / t_lr / 1e9
                cells = " ".join(
                    f"{fmt_t(t):>12} ({t / t_lr:5.2f}x)" if t is not None else f"{'n/a':>22}"
                    for t in times)
                print(f"{opt:9}{np.dtype(dtype).name:8}{n:>9} {fmt_t(t_lr):>10} {cells} "
                      f"{gbs:7.1f} {bound:7.1f} {100 * gbs / bound:6.0f}% "
                      f"{100 * moved / times[0] / 1e9 / bound:6.0f}%", flush=True)
    print("ratios are peer time / lrcore time (higher = lrcore faster); "
          "%bound = lrcore GB/s over the one-pass 4r/3w kernel's GB/s at the same n; "
          "unchk% the same for nonfinite='unchecked'")


if __name__ == "__main__":
    main()
