"""The timing and reporting helpers shared by the benchmark scripts
(``benchmarks/compare_*.py``, ``descend_overhead.py``; a script's own folder is first on
``sys.path``, so they ``import timing``).  The asv suite in ``benchmarks/benchmarks/`` times
itself.

- :func:`median_time`: median wall time of repeated calls of one function;
- :func:`interleaved_times`: the samples of several functions taken in turn, so a change
  of machine load during the run hits all of them alike;
- :func:`threads_from_argv`: ``--threads N`` into the BLAS/OpenMP thread variables, before
  numpy is imported;
- :func:`environment`: the lines a report gives about the BLAS/OpenMP variables it ran
  under (whether OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were set);
- :func:`save_report`: write a report, creating its folder.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

#: the environment variables a report states: OpenBLAS's kernel choice and cache size,
#: and the BLAS and OpenMP thread counts
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


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


def _calls_per_sample(fn, seconds):
    """How many calls of ``fn`` last about ``seconds`` (from one timed call; at least 1)."""
    t0 = time.perf_counter()
    fn()
    return max(1, int(seconds / max(time.perf_counter() - t0, 1e-9)))


def interleaved_times(fns, repeats, *, warmup=True, sample_seconds=None):
    """``{name: [seconds per call, one sample per repeat]}`` for the functions of the dict
    ``fns``, their samples taken round-robin: a machine that slows down or speeds up during
    the run affects all of them alike (take medians; the minimum is the steadier estimate
    of a fixed per-call cost on a busy machine).

    With ``warmup`` each function is called once, untimed, first.  With ``sample_seconds``
    a sample times as many back-to-back calls as last about that long (one timed call of
    each function decides) and is their mean: fast calls beat the timer's resolution."""
    if warmup:
        for fn in fns.values():
            fn()
    inner = {name: 1 if sample_seconds is None else _calls_per_sample(fn, sample_seconds)
             for name, fn in fns.items()}
    out = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            k = inner[name]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            out[name].append((time.perf_counter() - t0) / k)
    return out


def threads_from_argv(argv=None):
    """Set OPENBLAS_NUM_THREADS and OMP_NUM_THREADS to N when ``--threads N`` is among the
    arguments (``sys.argv`` by default).  Call it before numpy is imported: OpenBLAS reads
    them once, when it loads."""
    argv = sys.argv if argv is None else argv
    if "--threads" in argv:
        n = argv[argv.index("--threads") + 1]
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = n


def environment(names=ENV_VARS):
    """``NAME='value'`` or ``NAME not set`` for each environment variable of ``names``: what
    a report says about the BLAS and OpenMP settings it ran under."""
    return [f"{k}={os.environ[k]!r}" if k in os.environ else f"{k} not set" for k in names]


def save_report(text, path):
    """Write ``text`` (with a final newline) to ``path``, creating its folder."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
