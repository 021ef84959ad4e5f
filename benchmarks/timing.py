"""The timing helper shared by the benchmark scripts (``benchmarks/compare_*.py``; a script's
own folder is first on ``sys.path``, so they ``import timing``).  The asv suite in
``benchmarks/benchmarks/`` times itself."""
from __future__ import annotations

import statistics
import time


def median_time(fn, repeats, *, warmup=True):
    """(median wall time in seconds of ``repeats`` calls of ``fn()``, the last call's result).

    With ``warmup`` one untimed call comes first (first-call costs: page faults, lazy
    initialisation, schedule programs compiled on first use)."""
    if warmup:
        fn()
    out = None
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out
