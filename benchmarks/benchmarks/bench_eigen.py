"""asv benchmarks of the curvature stack: eigen-solvers, mat-vec kernels, built-in
problems and safe rates (lrcore.curvature, lrcore.problems, lrcore.rates).

Run against the installed package:  cd benchmarks && asv run --python=same --quick
"""
import numpy as np
import scipy.sparse as sp

from lrcore import _core
from lrcore.curvature import top_eigenvalue
from lrcore.problems import LeastSquares, Logistic
from lrcore.rates import safe_lr


def _dense(n, ratio, seed=0):
    lam = np.concatenate([[1.0, ratio], np.linspace(ratio, 0.0, n - 1)[1:]])
    a = np.diag(lam)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        u = rng.standard_normal(n)
        u /= np.linalg.norm(u)
        au = a @ u
        a -= 2 * np.outer(u, au) + 2 * np.outer(au, u) - 4 * (u @ au) * np.outer(u, u)
    return np.ascontiguousarray((a + a.T) / 2)


def _sparse(n, nnz_half, seed=0):
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, nnz_half), rng.integers(0, n, nnz_half)
    S = sp.coo_matrix((rng.standard_normal(nnz_half), (i, j)), shape=(n, n))
    S = (S + S.T).tocsr()
    S.sum_duplicates()
    return S


class TopEigenvalueDense:
    params = (["lanczos", "power"], [500, 2000], [0.9, 0.99], ["float64", "float32"])
    param_names = ["method", "n", "ratio", "dtype"]
    timeout = 300

    def setup(self, method, n, ratio, dtype):
        self.A = _dense(n, ratio).astype(dtype)

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
        self.S = _sparse(n, 5 * n)

    def time_top_eigenvalue(self, n, which):
        top_eigenvalue(self.S, which=which, seed=0)

    def peakmem_top_eigenvalue(self, n, which):
        top_eigenvalue(self.S, which=which, seed=0)


class TopEigenvalueOperator:
    """The Python-driven loop (LinearOperator / callable): per-mat-vec overhead."""
    params = [1_000, 100_000]
    param_names = ["n"]

    def setup(self, n):
        self.lam = np.concatenate([[1.0, 0.9], np.linspace(0.9, 0.0, n - 1)[1:]])

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
