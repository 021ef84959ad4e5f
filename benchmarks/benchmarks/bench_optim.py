"""asv benchmarks of the fused update kernels (lrcore.optim.*_step).

Run against the installed package:  cd benchmarks && asv run --python=same --quick
"""
import numpy as np

from lrcore import optim


def _setup(kernel, dtype, n):
    rng = np.random.default_rng(0)
    mk = lambda: rng.uniform(-1, 1, n).astype(dtype)  # noqa: E731
    x, g = mk(), mk()
    pos = np.abs(mk()) + 0.5
    if kernel == "sgd":
        return lambda: optim.sgd_step(x, g, 1e-6)
    if kernel == "momentum":
        buf = mk()
        return lambda: optim.momentum_step(x, g, buf, 1e-6, 0.9, nesterov=True)
    if kernel == "adam":
        m = mk()
        return lambda: optim.adam_step(x, g, m, pos, 10, 1e-6)
    if kernel == "adamw_amsgrad":
        m, vmax = mk(), pos + 1.0
        return lambda: optim.adam_step(x, g, m, pos, 10, 1e-6, weight_decay=0.01,
                                       decoupled=True, amsgrad=True, vmax=vmax)
    if kernel == "rmsprop":
        return lambda: optim.rmsprop_step(x, g, pos, 1e-6)
    if kernel == "adagrad":
        return lambda: optim.adagrad_step(x, g, pos, 3, 1e-6)
    raise ValueError(kernel)


class UpdateKernels:
    params = (["sgd", "momentum", "adam", "adamw_amsgrad", "rmsprop", "adagrad"],
              ["float32", "float64"], [1_000, 1_000_000, 10_000_000])
    param_names = ["kernel", "dtype", "n"]
    timeout = 120

    def setup(self, kernel, dtype, n):
        self.fn = _setup(kernel, np.dtype(dtype), n)
        self.fn()

    def time_step(self, kernel, dtype, n):
        self.fn()

    def peakmem_step(self, kernel, dtype, n):
        self.fn()


class FiniteCheck:
    params = (["float32", "float64"], [1_000, 1_000_000, 10_000_000])
    param_names = ["dtype", "n"]

    def setup(self, dtype, n):
        self.a = np.ones(n, dtype)

    def time_all_finite(self, dtype, n):
        optim.all_finite(self.a)
