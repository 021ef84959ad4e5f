"""lrcore's C optimisation loop vs the same loop written in numpy, in one run.

    python benchmarks/compare_search.py

Three workloads, each timed for lrcore (the whole loop in C, GIL released) and for a plain
numpy/Python loop doing the same arithmetic (median of repeats, and the ratio):

1. a 100-step LR range test on a logistic problem with 10,000 samples x 50 features;
2. a 20-rate grid search (200 gradient steps per rate) on the same problem;
3. 100,000 steps of gradient descent on a 10-dimensional quadratic.

The results of both implementations are compared too (they must agree), so the table is
of equal work.
"""
from __future__ import annotations

import numpy as np
from timing import environment  # benchmarks/timing.py
from timing import median_time as med

import lrcore
from lrcore.problems import Logistic, Quadratic
from lrcore.search import ProblemObjective, grid_search, range_test
from lrcore.stability import descend


def np_logistic_vg(X, y, w):
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    s = np.exp(-np.logaddexp(0.0, -z))
    return loss, X.T @ (s - y) / len(y)


def np_range_test(X, y, lrs):
    """One evaluation per step, like the C loop: the loss after step k is the loss of the
    iterate at which step k+1's gradient is taken."""
    w = np.zeros(X.shape[1])
    losses = []
    for k, lr in enumerate(lrs):
        f, g = np_logistic_vg(X, y, w)
        if k:
            losses.append(f)
        w -= lr * g
    losses.append(np_logistic_vg(X, y, w)[0])
    return np.array(losses)


def np_grid(X, y, lrs, steps):
    out = []
    for lr in lrs:
        w = np.zeros(X.shape[1])
        for _ in range(steps):
            _, g = np_logistic_vg(X, y, w)
            w -= lr * g
        out.append(np_logistic_vg(X, y, w)[0])
    return np.array(out)


def np_descend(A, b, x, lr, steps):
    x = x.copy()
    for _ in range(steps):
        x -= lr * (A @ x - b)
    return x


def main():
    print(f"lrcore {lrcore.__version__}, numpy {np.__version__}; env: "
          + ", ".join(environment()))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 50))
    y = (X @ rng.normal(size=50) + rng.normal(size=10_000) > 0).astype(float)
    p = Logistic(X, y)
    lrs = np.geomspace(1e-4, 100.0, 100)
    rows = []

    t_c, rt = med(lambda: range_test(p, start=1e-4, end=100.0, num=100, diverge=1e9), 7)
    t_np, ref = med(lambda: np_range_test(X, y, lrs), 7)
    n = len(rt.losses)
    assert np.allclose(rt.losses, ref[:n], rtol=1e-9), "range tests disagree"
    rows.append(("range test, 100 steps, logistic 10000x50", t_c, t_np))

    grid = list(np.geomspace(1e-3, 10.0, 20))
    obj = ProblemObjective(p, steps=200)
    t_c, res = med(lambda: grid_search(obj, grid, progress=False), 3)
    t_np, ref = med(lambda: np_grid(X, y, grid, 200), 3)
    assert np.allclose([r["score"] for r in res.records], ref, rtol=1e-9), "grids disagree"
    rows.append(("grid search, 20 rates x 200 steps, same problem", t_c, t_np))

    M = rng.normal(size=(10, 10))
    A = M @ M.T / 10 + np.eye(10)
    bvec = np.ones(10)          # minimiser away from 0: no subnormal iterates in either loop
    q = Quadratic(A, b=bvec)
    x0 = np.zeros(10)
    lr = 1.0 / np.linalg.eigvalsh(A)[-1]
    t_c, tr = med(lambda: descend(q, x0, lr, steps=100_000, record_every=1000), 5)
    t_np, ref = med(lambda: np_descend(A, bvec, x0, lr, 100_000), 3)
    assert np.allclose(tr.x, ref, rtol=1e-9, atol=1e-300), "descend disagrees"
    rows.append(("descend 1e5 steps, 10-d quadratic", t_c, t_np))

    print(f"{'workload':52} {'lrcore (C)':>12} {'numpy loop':>12} {'speed-up':>9}")
    for name, a, b in rows:
        print(f"{name:52} {a * 1e3:10.2f}ms {b * 1e3:10.2f}ms {b / a:8.1f}x")


if __name__ == "__main__":
    main()
