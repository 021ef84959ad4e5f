"""asv benchmarks of lrcore.schedules (import the installed ``lrcore``).

Vectorized evaluation over arrays of steps, single scalar calls, and the one-time
compilation of a schedule into its C program.  Run from benchmarks/: ``asv run``.
"""
import numpy as np

import lrcore
from lrcore import schedules as S


def _make(name, n):
    T = max(int(n), 10)
    W = T // 10
    return {
        "cosine": lambda: S.cosine(0.1, T),
        "onecycle": lambda: S.onecycle(0.1, T),
        "warmup_cosine_join": lambda: S.join([S.linear(1e-4, 0.1, W), S.cosine(0.1, T - W)], [W]),
        "warmup_cosine": lambda: S.warmup_cosine(0.1, W, T),
        "cosine_restarts": lambda: S.cosine_restarts(0.1, max(T // 100, 1), period_mult=2),
        "cyclic_exp_range": lambda: S.cyclic(0.01, 0.1, max(T // 50, 1), mode="exp_range",
                                             gamma=0.9999),
        "step": lambda: S.step(0.1, max(T // 10, 1), 0.5),
        "wsd_1sqrt": lambda: S.wsd(0.1, W, T // 2, T - W - T // 2, decay="1-sqrt"),
    }[name]()


NAMES = ["cosine", "onecycle", "warmup_cosine_join", "warmup_cosine", "cosine_restarts",
         "cyclic_exp_range", "step", "wsd_1sqrt"]


class Vectorized:
    """s(numpy.arange(n)): the whole run's rates at once (C, GIL released, OpenMP)."""

    params = (NAMES, [10_000, 1_000_000, 10_000_000])
    param_names = ["schedule", "n"]

    def setup(self, name, n):
        self.s = _make(name, n)
        self.t = np.arange(n, dtype=np.int64)
        self.s(self.t[:16])  # compile once

    def time_values(self, name, n):
        self.s(self.t)

    def peakmem_values(self, name, n):
        self.s(self.t)


class VectorizedOneThread:
    """The same on one thread (lrcore.set_num_threads(1))."""

    params = (["cosine", "onecycle", "warmup_cosine_join"], [10_000_000])
    param_names = ["schedule", "n"]

    def setup(self, name, n):
        self.s = _make(name, n)
        self.t = np.arange(n, dtype=np.int64)
        self.s(self.t[:16])
        lrcore.set_num_threads(1)

    def teardown(self, name, n):
        lrcore.set_num_threads(0)

    def time_values(self, name, n):
        self.s(self.t)


class Scalar:
    """One s(t) call from Python (the path lrcore.optim wrappers use every step)."""

    params = [NAMES]
    param_names = ["schedule"]

    def setup(self, name):
        self.s = _make(name, 1_000_000)
        self.s(0)

    def time_call(self, name):
        self.s(123_457)


class Compile:
    """Building a nested schedule and compiling it to its C program (first call)."""

    def time_build_and_first_call(self):
        s = S.join([S.warmup(S.cosine(0.1, 1000), 100),
                    S.join([S.constant(0.01), S.onecycle(0.1, 500)], [50]) * 0.5], [1100])
        s(0)

    def time_from_dict(self):
        S.from_dict(_DICT)


_DICT = S.join([S.warmup(S.cosine(0.1, 1000), 100), S.cyclic(0.01, 0.1, 20)], [1100]).to_dict()
