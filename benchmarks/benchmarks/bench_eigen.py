"""asv benchmarks of the curvature stack: eigen-solvers, mat-vec kernels, built-in
problems and safe rates (lrcore.curvature, lrcore.problems, lrcore.rates).

Run against the installed package:  cd benchmarks && asv run --python=same --quick
"""
import os
import sys

import numpy as np
import scipy.sparse as sp

from lrcore import _core
from lrcore.curvature import top_eigenvalue
from lrcore.problems import LeastSquares, Logistic
from lrcore.rates import safe_lr

# the test matrices are shared with the tests: tests/reference/matrices.py (numpy/scipy
# only), found relative to this file (asv imports the suite from the working tree)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from reference.matrices import gap_spectrum, householder, sparse_symmetric  # noqa: E402


class TopEigenvalueDense:
    params = (["lanczos", "power"], [500, 2000], [0.9, 0.99], ["float64", "float32"])
    param_names = ["method", "n", "ratio", "dtype"]
    timeout = 300

    def setup(self, method, n, ratio, dtype):
        self.A = householder(gap_spectrum(n, ratio)).astype(dtype)

    def time_top_eigenvalue(self, method, n, ratio, dtype):
        top_eigenvalue(self.A, method=method, seed=0)

    def peakmem_top_eigenvalue(self, method, n, ratio, dtype):
        top_eigenvalue(self.A, method=method, seed=0)

    def track_matvecs(self, method, n, ratio, dtype):
        return top_eigenvalue(self.A, method=method, seed=0).n_matvec


class TopEigenvalueSparse:
    params = ([10_000, 100_000], ["LA", "SA"])
    param_names = ["n", "which"]
    timeout = 300

    def setup(self, n, which):
        self.S = sparse_symmetric(n, 5 * n)

    def time_top_eigenvalue(self, n, which):
        top_eigenvalue(self.S, which=which, seed=0)

    def peakmem_top_eigenvalue(self, n, which):
        top_eigenvalue(self.S, which=which, seed=0)


class TopEigenvalueOperator:
    """The Python-driven loop (LinearOperator / callable): per-mat-vec overhead."""
    params = [1_000, 100_000]
    param_names = ["n"]

    def setup(self, n):
        self.lam = gap_spectrum(n, 0.9)

    def time_callable(self, n):
        top_eigenvalue(lambda v: self.lam * v, n=n, seed=0)


class SymmetricMatvec:
    params = ([1_000, 4_000], ["float64", "float32"], ["c", "blas"])
    param_names = ["n", "dtype", "kernel"]

    def setup(self, n, dtype, kernel):
        self.A = np.ones((n, n), dtype=dtype)
        self.x = np.ones(n)

    def time_symv(self, n, dtype, kernel):
        _core._symv(self.A, self.x, kernel=kernel)


class ProblemEvaluation:
    params = (["lsq", "logistic"], [(200_000, 8), (20_000, 100), (2_000, 2_000)],
              ["float64", "float32"], [False, True])
    param_names = ["problem", "shape", "dtype", "sparse"]
    timeout = 300

    def setup(self, problem, shape, dtype, sparse):
        rng = np.random.default_rng(0)
        n, d = shape
        X = rng.standard_normal((n, d)).astype(dtype)
        if sparse:
            X = sp.csr_matrix(X * (rng.random((n, d)) < 0.1))
        y = (rng.random(n) < 0.5).astype(dtype)
        cls = LeastSquares if problem == "lsq" else Logistic
        self.p = cls(X, y, l2=1e-3)
        self.w = (rng.standard_normal(d) * 0.01).astype(dtype)
        self.v = rng.standard_normal(d).astype(dtype)

    def time_value_and_grad(self, problem, shape, dtype, sparse):
        self.p.value_and_grad(self.w)

    def time_hvp(self, problem, shape, dtype, sparse):
        self.p.hvp(self.w, self.v)

    def peakmem_value_and_grad(self, problem, shape, dtype, sparse):
        self.p.value_and_grad(self.w)


class SafeRates:
    params = [50, 500]
    param_names = ["d"]
    timeout = 300

    def setup(self, d):
        rng = np.random.default_rng(0)
        self.p = LeastSquares(rng.standard_normal((5_000, d)), rng.standard_normal(5_000))

    def time_safe_lr(self, d):
        safe_lr(self.p, method="heavy_ball", momentum=0.9, seed=0)
