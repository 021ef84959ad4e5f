"""Per-step overhead of descend on a Python objective: the old Python loop vs the C machine.

    python benchmarks/descend_overhead.py [--repeats 15] [--steps 10000] [--out FILE]
    PYTHONPATH=. python benchmarks/descend_overhead.py     # against an in-place build

A ``Problem.from_functions``-style objective (a Python ``value_and_grad`` on a
10-dimensional quadratic) is run for 10,000 steps of gd and of Adam by

- ``old``: the Python loop that ran such problems before (``lrcore.stability.
  _descend_python``; its verbatim copy ``tests/reference_descend_twin.py`` when the
  former is gone): ``FunctionProblem.value_and_grad`` + ``lrcore.optim`` step per step;
- ``new``: the C reverse-communication machine driven by ``_core.descend_callable``,
  given the user's function directly;
- ``new (validated)``: the same, given ``FunctionProblem.value_and_grad`` (which
  re-validates x and the answer in Python, as the old loop did);

and, for reference, the objective alone (a Python loop calling it steps + 1 times: the
floor any driver pays) and the built-in ``Quadratic`` (no Python at all).  All of them
run round-robin in each of ``--repeats`` rounds (after one warm-up), so a change of
machine load hits every driver alike; totals are medians, and the overhead per step is
the median over rounds of (run time - objective time in the same round) / steps.  All
drivers are checked to produce the same iterates.

The report is printed and written to ``benchmarks/reports/descend_overhead.txt``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import numpy as np
from timing import environment, interleaved_times, save_report  # benchmarks/timing.py

import lrcore
from lrcore import _core
from lrcore.problems import Problem, Quadratic

HERE = os.path.dirname(os.path.abspath(__file__))


def _old_loop():
    from lrcore import stability

    if hasattr(stability, "_descend_python"):
        return stability._descend_python, "lrcore.stability._descend_python"
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    from reference.descend_loop import descend_python

    return descend_python, "tests/reference/descend_loop.py"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--out", default=os.path.join(HERE, "reports", "descend_overhead.txt"))
    args = ap.parse_args(argv)
    steps, d = args.steps, 10

    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    A = Q @ np.diag(np.linspace(1.0, 10.0, d)) @ Q.T
    A = (A + A.T) / 2
    b = rng.normal(size=d)

    def value_and_grad(x):
        Ax = A @ x
        return 0.5 * float(x @ Ax) - float(b @ x), Ax - b

    problem = Problem.from_functions(value_and_grad, n=d)
    builtin = Quadratic(A, b)
    x0 = np.ones(d)
    old, old_name = _old_loop()
    lines = []

    def objective_only():
        x = x0.copy()
        for _ in range(steps + 1):
            value_and_grad(x)

    rows = []
    for method, mom, lr in (("gd", 0.0, 0.05), ("adam", 0.9, 0.01)):
        rates = np.full(steps, lr)
        common = (rates, steps, method, mom, 0.999, 1e-8, 0.0)
        runs = {
            "old": lambda: old(problem, x0.copy(), *common, 1),
            "new": lambda: _core.descend_callable(value_and_grad, x0, *common, 1e10, 1),
            "new (validated)": lambda: _core.descend_callable(problem.value_and_grad, x0,
                                                              *common, 1e10, 1),
            "built-in C": lambda: builtin._c.descend(x0, *common, 1e10, 1),
        }
        ref = runs["old"]()
        for name, fn in runs.items():
            out = fn()
            assert out[3] == ref[3] and out[6] == ref[6], name
            np.testing.assert_allclose(out[0], ref[0], rtol=1e-9, atol=1e-12)
        runs["objective alone"] = objective_only
        ts = interleaved_times(runs, args.repeats)       # round-robin, after a warm-up
        obj = ts.pop("objective alone")
        times = {name: statistics.median(t) for name, t in ts.items()}
        # overhead: median over repeats of (run - objective alone in the same round)
        over = {name: statistics.median(a - o for a, o in zip(t, obj)) for name, t in ts.items()}
        rows.append((method, times, over, statistics.median(obj)))

    env = ", ".join(environment())
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append("command: "
                 + ("PYTHONPATH=. " if os.environ.get("PYTHONPATH") in (".", os.getcwd()) else "")
                 + "python benchmarks/descend_overhead.py"
                 + (f" --repeats {args.repeats}" if args.repeats != 15 else "")
                 + (f" --steps {args.steps}" if args.steps != 10_000 else ""))
    lines.append(f"lrcore {lrcore.__version__} (C API {lrcore.C_API_VERSION}), numpy "
                 f"{np.__version__}, Python {platform.python_version()}; {cpu}, "
                 f"{os.cpu_count()} CPUs, load average {load:.2f}")
    lines.append(f"env: {env}")
    lines.append(f"workload: d={d} quadratic given as a Python value_and_grad, {steps} steps, "
                 f"record_every=1; medians of {args.repeats} runs; old loop = {old_name}")
    for method, _, _, t_obj in rows:
        lines.append(f"objective alone ({steps + 1} calls in a Python loop, {method} rounds): "
                     f"{t_obj * 1e3:.2f} ms = {t_obj / (steps + 1) * 1e6:.2f} us/call")
    lines.append("")
    hdr = f"{'method':7s} {'driver':17s} {'total':>10s} {'per step':>10s} {'overhead/step':>14s} {'vs old':>8s}"
    lines.append(hdr)
    for method, times, overs, _ in rows:
        for name, t in times.items():
            per = t / steps * 1e6
            over = overs[name] / steps * 1e6
            over_s = f"{over:11.2f} us" if name != "built-in C" else f"{'(no Python)':>14s}"
            lines.append(f"{method:7s} {name:17s} {t * 1e3:8.2f}ms {per:7.2f} us {over_s} "
                         f"{times['old'] / t:7.1f}x")
    lines.append("")
    lines.append("overhead/step = median over rounds of (total - objective alone) / steps: "
                 "what the driver itself costs per step")
    lines.append("(the drivers and the objective-alone loop run round-robin in each round, so "
                 "load changes hit all alike)")
    text = "\n".join(lines)
    print(text)
    if args.out:
        save_report(text, args.out)


if __name__ == "__main__":
    main()
