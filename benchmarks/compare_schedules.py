"""Compare lrcore schedules with a numpy closed form and with PyTorch's schedulers.

For a cosine decay, a one-cycle policy and a warmup+cosine join it prints, in one run:

* lrcore vectorized: ``s(numpy.arange(N))`` for N = 1e7 steps, on 1 thread and on the
  default thread count (ns per step);
* lrcore scalar: one ``s(t)`` call from Python (ns per call);
* numpy: the same closed form written with numpy ufuncs over the same steps (ns per step);
* torch: ``scheduler.step()`` per step (ns per step, measured over a shorter run);

and the ratios numpy/lrcore-vectorized, torch-step/lrcore-vectorized (the cost of a whole
run's rates computed at once) and torch-step/lrcore-scalar.  Medians over repeats; the
machine may be noisy, so compare ratios.

    python benchmarks/compare_schedules.py [--n 10000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import timeit
import warnings

import numpy as np
import timing  # benchmarks/timing.py

import lrcore
from lrcore import schedules as S

try:
    import torch
    from torch.optim import lr_scheduler as L
except ImportError:  # the torch column is then skipped
    torch = None


def median_time(fn, repeat):
    """Median seconds of ``repeat`` calls after a warm-up call (compiles the program,
    faults in memory)."""
    return timing.median_time(fn, repeat)[0]


def scalar_ns(s, repeat):
    s(12345)
    number = 200_000
    return min(timeit.repeat(lambda: s(12345), number=number, repeat=repeat)) / number * 1e9


def torch_step_ns(make, steps, repeat):
    if torch is None:
        return float("nan")
    out = []
    for _ in range(repeat):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sch = make(opt)
            t0 = time.perf_counter()
            for _ in range(steps):
                sch.step()
            out.append((time.perf_counter() - t0) / steps * 1e9)
    return statistics.median(out)


def cases(N):
    lr, W = 0.1, N // 10
    T = N
    init, fin = lr / 25.0, lr / 25.0 / 1e4
    n1 = int(0.3 * T)

    def np_cosine(t):
        return lr * 0.5 * (1.0 + np.cos(np.pi * np.minimum(t, T) / T))

    def cos_interp(a, b, p):
        return b + (a - b) * 0.5 * (1.0 + np.cos(np.pi * p))

    def np_onecycle(t):
        up = cos_interp(init, lr, t / n1)
        down = cos_interp(lr, fin, np.minimum(t - n1, T - n1) / (T - n1))
        return np.where(t < n1, up, down)

    def np_join(t):
        ramp = 1e-4 + (lr - 1e-4) * t / W
        c = lr * 0.5 * (1.0 + np.cos(np.pi * np.minimum(t - W, T - W) / (T - W)))
        return np.where(t < W, ramp, c)

    return [
        ("cosine", S.cosine(lr, T), np_cosine,
         lambda o: L.CosineAnnealingLR(o, T_max=T)),
        ("onecycle", S.onecycle(lr, T), np_onecycle,
         lambda o: L.OneCycleLR(o, lr, total_steps=T)),
        ("warmup+cosine join", S.join([S.linear(1e-4, lr, W), S.cosine(lr, T - W)], [W]),
         np_join,
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 1e-3, 1.0, W), L.CosineAnnealingLR(o, T - W)],
                                  [W])),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="steps per vectorized call")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--torch-steps", type=int, default=20_000)
    args = ap.parse_args()
    N = args.n
    t = np.arange(N, dtype=np.int64)

    print(f"lrcore {lrcore.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, "
          f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"lrcore threads (default) = {lrcore.get_num_threads()}")
    for line in timing.environment():
        print(f"  {line}")
    print(f"N = {N:,} steps, medians of {args.repeat} repeats; torch over "
          f"{args.torch_steps:,} scheduler.step() calls\n")

    hdr = (f"{'schedule':<20}{'lrcore vec 1T':>14}{'lrcore vec':>12}{'scalar':>10}"
           f"{'numpy':>10}{'torch step':>12}{'numpy/vec':>11}{'torch/vec':>11}"
           f"{'torch/scal':>11}")
    print(hdr)
    print(f"{'':<20}{'ns/step':>14}{'ns/step':>12}{'ns/call':>10}{'ns/step':>10}"
          f"{'ns/step':>12}")
    print("-" * len(hdr))
    for name, s, np_fn, make in cases(N):
        ref = np_fn(t)
        got = s(t)
        err = float(np.max(np.abs(got - ref)))
        try:
            lrcore.set_num_threads(1)
            v1 = median_time(lambda: s(t), args.repeat) / N * 1e9
        finally:
            lrcore.set_num_threads(0)
        vd = median_time(lambda: s(t), args.repeat) / N * 1e9
        sc = scalar_ns(s, args.repeat)
        nv = median_time(lambda: np_fn(t), max(3, args.repeat // 2)) / N * 1e9
        th = torch_step_ns(make, args.torch_steps, 3)
        print(f"{name:<20}{v1:>14.2f}{vd:>12.2f}{sc:>10.0f}{nv:>10.2f}{th:>12.0f}"
              f"{nv / vd:>10.1f}x{th / vd:>10.0f}x{th / sc:>10.0f}x   (max |lrcore-numpy| "
              f"{err:.1e})")
    print("\nvec = s(numpy.arange(N)) on the default thread count; 1T = one thread; "
          "scalar = one s(t) call from Python.")


if __name__ == "__main__":
    main()
