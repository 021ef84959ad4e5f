"""lrcore quick start: fused optimizer steps on a small least-squares problem.

    pip install . && python examples/quickstart.py

Fits w in min_w (1/2n)||Xw - y||^2 with lrcore's Adam and SGD-with-momentum kernels (one
fused pass over memory per step, in C) and checks the answer against numpy's lstsq.
"""
import numpy as np

import lrcore
from lrcore.optim import SGD, Adam

rng = np.random.default_rng(0)
n, d = 2000, 50
X = rng.normal(size=(n, d))
w_true = rng.normal(size=d)
y = X @ w_true + 0.1 * rng.normal(size=n)
w_star = np.linalg.lstsq(X, y, rcond=None)[0]


def grad(w):
    return X.T @ (X @ w - y) / n


def loss(w):
    r = X @ w - y
    return 0.5 * r @ r / n


L = np.linalg.eigvalsh(X.T @ X / n).max()   # smoothness constant of the loss
print(f"lrcore {lrcore.__version__}: least squares, n={n}, d={d}, L={L:.3f}, "
      f"threads={lrcore.get_num_threads()}")
for name, opt_cls, kw in [("SGD+momentum", SGD, dict(lr=1.0 / L, momentum=0.9)),
                          ("Adam", Adam, dict(lr=0.05))]:
    w = np.zeros(d)
    opt = opt_cls(w, **kw)
    for _ in range(300):
        opt.step(grad(w))
    err = np.linalg.norm(w - w_star) / np.linalg.norm(w_star)
    print(f"  {name:13s} 300 steps: loss {loss(w):.6f} (optimum {loss(w_star):.6f}), "
          f"relative error vs lstsq {err:.1e}")

# a NaN gradient is caught before anything is written
w = np.zeros(d)
g = grad(w)
g[3] = np.nan
try:
    lrcore.adam_step(w, g, np.zeros(d), np.zeros(d), 1, 0.01)
except lrcore.NonFiniteError as e:
    print(f"  NaN gradient refused, w untouched ({np.all(w == 0)}): {e}")
