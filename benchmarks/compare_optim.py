"""Fused update kernels vs numpy and torch, in one run: median time per step and ratios.

    python benchmarks/compare_optim.py            # full table (n = 1e3, 1e6, 1e7)
    python benchmarks/compare_optim.py --quick    # smaller repeat counts
    python benchmarks/compare_optim.py --overhead # torch tensors vs numpy arrays per call

For every optimizer (sgd, momentum, adam), dtype and size it prints the median time of
one step for lrcore (which also scans the gradient for NaN/Inf before writing), numpy
written idiomatically, numpy with preallocated ``out=`` buffers, and torch.optim with
``foreach=False``, ``foreach=True`` and ``fused=True`` (where PyTorch supports it on CPU),
each peer's time divided by lrcore's (> 1 means lrcore is faster; "lrcore unchecked" is
``nonfinite="unchecked"``, without the scan), and lrcore's effective
bandwidth against the machine's bound measured here with a one-pass C kernel that moves
the same number of bytes (``lrcore._core._stream_4r3w``: reads 4 arrays, writes 3; scaled
to the bytes each optimizer must move).

``--overhead`` measures what taking torch tensors (zero-copy views, checks, the autograd
version bump) costs per call against numpy arrays: the kernels called directly with
plain tensors and with an ``nn.Parameter``, and the stateful ``Adam`` stepping a list of
parameters (tensors and tensor gradients vs numpy arrays).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np
from timing import environment, interleaved_times  # benchmarks/timing.py

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


#: a timing sample lasts about this long: small sizes are timed in batches of calls
SAMPLE_SECONDS = 2e-3


def timeit(fn, n: int, repeats: int) -> float:
    """Median seconds per call; small sizes are timed in batches to beat timer resolution."""
    return statistics.median(interleaved_times({"fn": fn}, repeats,
                                               sample_seconds=SAMPLE_SECONDS)["fn"])


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


def interleaved(fns, reps: int) -> list:
    """(median, minimum) seconds per call of each of ``fns``, their samples taken in turn
    (a machine that slows down or speeds up during the run affects all of them alike).
    The minimum is the steadier estimate of a fixed per-call cost on a busy machine."""
    samples = interleaved_times(dict(enumerate(fns)), reps, sample_seconds=SAMPLE_SECONDS)
    return [(statistics.median(s), min(s)) for s in samples.values()]


def overhead(sizes, reps, dtype=np.float64):
    """Per-call time of the kernels and of Adam.step with torch tensors vs numpy arrays."""
    if torch is None:
        print("torch is not installed: no overhead table")
        return
    print(f"\nper-call overhead of torch tensors ({np.dtype(dtype).name}): medians of {reps} "
          f"interleaved samples; delta = tensor - numpy on the same memory, from the medians "
          f"and (min) from the fastest samples; load average {os.getloadavg()[0]:.1f}")
    head = (f"{'call':30}{'n':>9} {'numpy':>10} {'tensors':>10} {'Parameter':>10}   "
            f"{'delta tensors (min)':>22}   {'delta Parameter (min)':>22}")
    print(head)
    print("-" * len(head))

    def row(name, n, t_np, t_t, t_p):
        cells = [fmt_t(t_np[0]), fmt_t(t_t[0]) if t_t else "", fmt_t(t_p[0])]
        deltas = ["" if t is None else
                  f"{(t[0] - t_np[0]) * 1e6:8.2f}us ({(t[1] - t_np[1]) * 1e6:7.2f}us)"
                  for t in (t_t, t_p)]
        print(f"{name:30}{n:>9} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}   "
              f"{deltas[0]:>22}   {deltas[1]:>22}", flush=True)

    for n in (int(s) for s in sizes):
        rng = np.random.default_rng(0)
        arrs = [rng.uniform(-1, 1, n).astype(dtype) * 1e-3 for _ in range(4)]
        arrs[3] = np.abs(arrs[3])
        # the tensors share the arrays' memory: both paths touch the very same bytes
        tens = [torch.from_numpy(a) for a in arrs]
        ptens = [torch.nn.Parameter(torch.from_numpy(arrs[0]))] + tens[1:]
        cases = {
            "sgd_step(x, g)": lambda a: optim.sgd_step(a[0], a[1], 1e-6),
            "momentum_step(x, g, buf)": lambda a: optim.momentum_step(a[0], a[1], a[2], 1e-6,
                                                                      0.9),
            "adam_step(x, g, m, v)": lambda a: optim.adam_step(a[0], a[1], a[2], a[3], 10,
                                                               1e-6),
        }
        for name, call in cases.items():
            t_np, t_t, t_p = interleaved([lambda: call(arrs), lambda: call(tens),
                                          lambda: call(ptens)], reps)
            row(name, n, t_np, t_t, t_p)
        # the stateful optimizer over 8 parameter arrays of n/8 elements (a small model)
        k = 8
        m = max(n // k, 1)
        np_params = [rng.uniform(-1, 1, m).astype(dtype) for _ in range(k)]
        np_grads = [rng.uniform(-1, 1, m).astype(dtype) * 1e-3 for _ in range(k)]
        t_params = [torch.nn.Parameter(torch.from_numpy(p)) for p in np_params]
        t_grads = [torch.from_numpy(g) for g in np_grads]
        o_np = optim.Adam(np_params, lr=1e-6)
        o_t = optim.Adam(t_params, lr=1e-6)
        t_np, t_p = interleaved([lambda: o_np.step(np_grads), lambda: o_t.step(t_grads)], reps)
        row("Adam.step, 8 arrays of n/8", n, t_np, None, t_p)
    print("tensors: a plain CPU tensor for every argument; Parameter: x an nn.Parameter "
          "(a leaf that requires grad), the rest tensors; Adam.step: Parameters and tensor "
          "gradients vs numpy arrays")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--sizes", type=float, nargs="*", default=SIZES)
    ap.add_argument("--opts", nargs="*", default=["sgd", "momentum", "adam"],
                    choices=["sgd", "momentum", "adam"])
    ap.add_argument("--repeats", type=int, default=None, help="samples per median")
    ap.add_argument("--overhead", action="store_true",
                    help="only the torch-tensor vs numpy per-call overhead table "
                         "(sizes default to 1e3 and 1e6)")
    args = ap.parse_args(argv)
    reps = args.repeats or (5 if args.quick else 15)
    print(f"lrcore {lrcore.__version__} threads={lrcore.get_num_threads()} "
          f"numpy {np.__version__} torch {torch.__version__ if torch else 'not installed'}"
          f" (torch threads={torch.get_num_threads() if torch else '-'})")
    print(f"python {sys.version.split()[0]}; env: " + ", ".join(environment()))
    if args.overhead:
        sizes = args.sizes if args.sizes != SIZES else [1e3, 1e6]
        for dtype in (np.float64, np.float32):
            overhead(sizes, reps, dtype)
        return
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
