"""The ``lrcore`` command line: ``demo``, ``analyze`` and ``schedule``.

    lrcore demo                                   # the whole story on two shipped datasets
    lrcore analyze data.csv --target y --model least-squares [--standardize] [--plot out.png]
    lrcore schedule warmup_cosine --peak 0.1 --warmup_steps 100 --total_steps 1000

Every error a user can make (a missing file, a bad column, a non-0/1 target...) prints one
line on stderr and exits with status 2; nothing prints a traceback.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from typing import Any, NoReturn

import numpy as np
import scipy.sparse as sp

from lrcore._core import NonFiniteError
from lrcore._tabular import DataError, Table, load_table, scale_sparse, standardize
from lrcore.datasets._files import data_line
from lrcore.schedules._schedule import plot_steps
from lrcore._validation import METHODS, nonneg, optimizer_method

__all__ = ["main", "analyze_table"]

_MODELS = ("auto", "least-squares", "logistic", "softmax")
_FRACTIONS = (0.5, 0.9, 1.0, 1.05)
#: --model auto takes an integer target with at most this many distinct values (and at
#: most half as many as there are rows) for classes
MAX_CLASSES = 100
#: the relative suboptimality (f - f*)/(f0 - f*) the step counts of the advice aim at
_EPS = 1e-6
#: the design condition numbers are computed from the d x d Gram matrix up to this d
_MAX_GRAM_D = 1000
#: a condition number at least this large, and this many times what --standardize
#: would give, earns an advice sentence
_ILL_CONDITIONED = 1e3
_STD_GAIN = 10.0


class UsageError(Exception):
    """A mistake in the command line or the data: one line for the user."""


# ----------------------------------------------------------------------------------------
# the pipeline
# ----------------------------------------------------------------------------------------

def _row(table: Table, i: int) -> str:
    """How a message names data row i: its line in a text file (as the loader's own
    messages do), else its 0-based row index."""
    try:
        line = data_line(table.source, i)
    except (DataError, OSError):
        line = None
    return f"row {line}" if line is not None else f"row {i} (0-based)"


def _sci(v: float) -> str:
    """A number in short scientific notation: 8.0e7, 4.7e2, 3.1e-5 (inf as inf)."""
    if not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    m, e = f"{v:.1e}".split("e")
    return f"{m}e{int(e)}"


def _values(v: np.ndarray, limit: int = 6) -> str:
    items = [f"{x:g}" for x in v[:limit]]
    return ", ".join(items) + (", ..." if len(v) > limit else "")


def _resolve_model(table: Table, model: str) -> tuple[str, np.ndarray, str | None]:
    """(model, target, note): the model to fit, the target as it is fitted (labels
    renumbered 0..K-1 by --model auto when needed) and, for --model auto, the sentence
    saying what was chosen and why."""
    y, t = table.y, table.target
    n = int(y.shape[0])
    if model == "auto":
        values = np.unique(y)
        K = int(values.shape[0])
        if K < 2:
            raise UsageError(f"target {t!r} has the same value ({values[0]:g}) in every row: "
                             "there is nothing to fit")
        integer = bool(np.all(values == np.floor(values)))
        limit = min(MAX_CLASSES, n // 2)
        if integer and K == 2:
            labels = (y == values[1]).astype(np.float64)
            plain = values[0] == 0 and values[1] == 1
            return "logistic", labels, (
                f"--model auto: target {t!r} has two values ({_values(values)}): logistic "
                "regression" + ("" if plain else f", {values[0]:g} -> 0 and {values[1]:g} -> 1"))
        if integer and K <= limit:
            labels = np.searchsorted(values, y).astype(np.float64)
            renumbered = not np.array_equal(values, np.arange(K))
            return "softmax", labels, (
                f"--model auto: target {t!r} has {K} integer classes ({_values(values)}): "
                "softmax (multinomial logistic) regression"
                + (f", classes renumbered 0..{K - 1} in increasing order" if renumbered else "")
                + "; --model least-squares fits it as a number")
        why = ("non-integer values" if not integer else
               f"{K} distinct integer values (more than {limit} classes)")
        return "least-squares", y, (f"--model auto: target {t!r} has {why}: least squares "
                                    "(linear regression); --model softmax treats integer "
                                    "values as classes")
    if model == "logistic":
        bad = ~((y == 0) | (y == 1))
        if bad.any():
            i = int(np.argmax(bad))
            raise UsageError(f"target {t!r} must hold 0/1 labels for --model logistic; "
                             f"{_row(table, i)} has {y[i]:g}")
        return model, y, None
    if model == "softmax":
        bad = ~((y >= 0) & (y == np.floor(y)))
        if bad.any():
            i = int(np.argmax(bad))
            raise UsageError(f"target {t!r} must hold class labels 0, 1, ..., K-1 for --model "
                             f"softmax; {_row(table, i)} has {y[i]:g}")
        K = int(y.max()) + 1
        if K < 2:
            raise UsageError(f"target {t!r} holds only class 0: --model softmax needs at "
                             "least two classes")
        if K > max(MAX_CLASSES, n):
            i = int(np.argmax(y))
            raise UsageError(f"target {t!r} has label {y[i]:g} ({_row(table, i)}): more "
                             f"classes than rows; --model softmax needs labels 0..K-1")
        counts = np.bincount(y.astype(np.int64), minlength=K)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise UsageError(f"target {t!r}: class {int(empty[0])} has no samples (labels run "
                             f"0..{K - 1} and --model softmax needs every class; "
                             f"{empty.size} of the {K} are empty); renumber the classes, or "
                             "use --model auto, which does")
        return model, y, None
    return model, y, None


def _design(table: Table, std: bool, intercept: bool,
            names: list[str] | None = None) -> tuple[Any, str | None]:
    """The design matrix the model is fitted on (standardized and/or with an intercept
    column) and a sentence on the standardization."""
    X = table.X
    note = None
    if std:
        if sp.issparse(X):
            X, _, constant = scale_sparse(X)
            note = ("scaled to unit variance without centering (sparse data: centering would "
                    "make every entry non-zero; as scikit-learn's StandardScaler(with_mean="
                    "False))" + (f"; {len(constant)} constant column(s) left as they are"
                                 if constant else ""))
        else:
            X = standardize(X, table.feature_names)
            note = "centered and scaled to unit variance"
    if intercept:
        if sp.issparse(X):
            ones = sp.csr_array(np.ones((X.shape[0], 1)))
            X = sp.hstack([X, ones], format="csr")
        else:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
    return X, note


def _build_problem(table: Table, model: str, l2: float, std: bool, intercept: bool):
    """(problem, feature names, info): the problem to analyse; info holds the model
    actually fitted (``--model auto`` resolved), the sentence about that choice and the
    one about standardization."""
    from lrcore.problems import LeastSquares, Logistic, Softmax

    model, y, choice = _resolve_model(table, model)
    X, std_note = _design(table, std, intercept)
    _check_range(X, table, std, model, y)
    d = table.X.shape[1]
    names = list(table.feature_names) if d <= 10_000 else \
        list(table.feature_names[:100]) + [f"... ({d - 100} more)"]
    if intercept:
        names.append("(intercept)")
    cls = {"least-squares": LeastSquares, "logistic": Logistic, "softmax": Softmax}[model]
    try:
        problem = cls(X, y, l2=l2)
    except ValueError as exc:        # labels the checks above let through (cannot happen)
        raise UsageError(f"--model {model}: {exc}") from None
    info = {"model": model, "choice": choice, "standardization": std_note,
            "sparse": bool(sp.issparse(X)),
            "nnz": int(X.nnz) if sp.issparse(X) else None}
    return problem, names, info


#: Beyond this magnitude the squares of the data (X'X, the squared loss) overflow a double.
_HUGE = 1e150


def _check_range(X: Any, table: Table, std: bool, model: str,
                 y: np.ndarray | None = None) -> None:
    """One sentence for data whose scale double precision cannot carry through the loss."""
    if sp.issparse(X):
        if X.nnz:
            k = int(np.argmax(np.abs(X.data)))
            big = abs(float(X.data[k]))
            if big > _HUGE:
                j = int(X.indices[k])
                name = table.feature_names[j] if j < len(table.feature_names) else f"x{j}"
                raise UsageError(f"feature {name!r} has values up to {big:.3g}: its square "
                                 "overflows double precision; rescale it (or pass --standardize)")
    elif X.size:
        col = np.max(np.abs(X), axis=0)
        j = int(np.argmax(col))
        if col[j] > _HUGE:
            raise UsageError(f"feature {table.feature_names[j]!r} has values up to "
                             f"{col[j]:.3g}: its square overflows double precision; rescale "
                             "it (or pass --standardize)")
    yy = table.y if y is None else y
    if model == "least-squares" and yy.size and np.max(np.abs(yy)) > _HUGE:
        raise UsageError(f"target {table.target!r} has values up to "
                         f"{np.max(np.abs(yy)):.3g}: the squared loss overflows double "
                         "precision; rescale the target")


def _budget(problem: Any, steps: int) -> dict[str, int]:
    """Steps of the stability checks and of the run toward the solution: the defaults for
    small data, fewer for large data (an evaluation reads all of X), so an analysis of a
    million stored entries takes seconds per check, not minutes."""
    X = problem.X
    work = max(int(X.nnz) if sp.issparse(X) else int(X.size), 1) * getattr(problem, "n_classes", 1)
    check = int(min(steps, max(300, 2e9 // work)))
    solution = int(min(20000, max(1000, 4e9 // work)))
    return {"check": check, "solution": solution}


def _gram_spectrum(X: Any, l2: float) -> tuple[float, float] | None:
    """(largest, smallest) eigenvalue of X'X/n + l2 I, or None when d is too large."""
    n, d = X.shape
    if d > _MAX_GRAM_D or d == 0:
        return None
    G = X.T @ X
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    ev = np.linalg.eigvalsh(G / n)
    hi, lo = float(ev[-1]) + l2, float(ev[0]) + l2
    # eigvalsh is accurate to about d eps lambda_max: below that, X'X/n is singular
    if lo <= 10.0 * d * np.finfo(np.float64).eps * max(hi, 0.0):
        lo = 0.0
    return hi, lo


def _condition(spec: tuple[float, float] | None) -> float | None:
    if spec is None:
        return None
    hi, lo = spec
    return hi / lo if lo > 0 else math.inf


def _columns(X: Any, names: list[str], intercept: bool) -> tuple[list[dict], list[list[str]]]:
    """Constant columns ({"name", "value"}) and pairs of identical columns of the design
    (the intercept column itself excluded)."""
    d = X.shape[1] - (1 if intercept else 0)
    n = X.shape[0]
    label = (lambda j: names[j] if j < len(names) and not names[j].startswith("... (")
             else f"column {j}")
    constant: list[dict] = []
    dups: list[list[str]] = []
    if d <= 0:
        return constant, dups
    if sp.issparse(X):
        C = sp.csc_array(X[:, :d])
        C.eliminate_zeros()
        C.sort_indices()
        cnt = np.diff(C.indptr)
        hi = np.full(d, -np.inf)
        lo = np.full(d, np.inf)
        nz = np.flatnonzero(cnt)
        if nz.size:
            hi[nz] = np.maximum.reduceat(C.data, C.indptr[nz])
            lo[nz] = np.minimum.reduceat(C.data, C.indptr[nz])
        zero = cnt == 0
        full_const = (cnt == n) & (hi == lo)
        for j in np.flatnonzero(zero | full_const)[:1000]:
            constant.append({"name": label(int(j)), "value": 0.0 if zero[j] else float(hi[j])})
        n_const = int(np.count_nonzero(zero | full_const))
        if d <= 100_000:
            seen: dict[tuple[bytes, bytes], int] = {}
            for j in np.flatnonzero(~zero):
                a, b = C.indptr[j], C.indptr[j + 1]
                key = (C.indices[a:b].tobytes(), C.data[a:b].tobytes())
                if key in seen:
                    dups.append([label(seen[key]), label(int(j))])
                else:
                    seen[key] = int(j)
    else:
        A = np.asarray(X)[:, :d]
        lo, hi = A.min(axis=0), A.max(axis=0)
        const = np.flatnonzero(lo == hi)
        n_const = int(const.size)
        for j in const[:1000]:
            constant.append({"name": label(int(j)), "value": float(lo[j])})
        if d <= 10_000:
            _, first, inverse = np.unique(np.ascontiguousarray(A.T), axis=0, return_index=True,
                                          return_inverse=True)
            inverse = np.ravel(inverse)
            for j in range(d):
                k = int(first[inverse[j]])
                if k != j and lo[j] != hi[j]:
                    dups.append([label(k), label(j)])
    if n_const > len(constant):
        constant.append({"name": f"... ({n_const - len(constant)} more)", "value": None})
    return constant, dups


def _standardized_without_constants(table: Table, intercept: bool) -> tuple[Any, list[str]]:
    """(design, dropped names): the design --standardize would give once the constant
    columns are dropped, with a column of ones standing in for them (or for --intercept);
    for the conditioning advice when a constant column (a column of ones, say) makes
    --standardize refuse dense data.  (None, names) when nothing is left."""
    X = np.asarray(table.X)
    const = np.ptp(X, axis=0) == 0
    names = [str(nm) for nm, c in zip(table.feature_names, const) if c]
    if const.all():
        return None, names
    try:
        Xs = standardize(X[:, ~const], [nm for nm, c in zip(table.feature_names, const) if not c])
    except DataError:
        return None, names
    if intercept or np.any(X[0, const] != 0):
        Xs = np.hstack([Xs, np.ones((Xs.shape[0], 1))])
    return Xs, names


def _design_facts(table: Table, problem: Any, info: dict, std: bool, intercept: bool,
                  l2: float) -> dict[str, Any]:
    """Facts about the design matrix behind the advice: condition numbers of X'X/n + l2 I
    as fitted and as --standardize would make it, constant and duplicate columns."""
    X = problem.X
    spec = _gram_spectrum(X, l2)
    facts: dict[str, Any] = {
        "sparse": info["sparse"], "nnz": info["nnz"],
        "density": (info["nnz"] / max(X.shape[0] * X.shape[1], 1)) if info["sparse"] else None,
        "gram_lambda_max": None if spec is None else spec[0],
        "gram_lambda_min": None if spec is None else spec[1],
        "condition_number": _condition(spec),
        "condition_number_standardized": None,
        "standardization": info["standardization"],
    }
    if spec is None:
        facts["condition_note"] = (f"not computed: more than {_MAX_GRAM_D} features")
    if std:
        facts["condition_number_standardized"] = facts["condition_number"]
    elif spec is not None:
        try:
            Xs, _ = _design(table, True, intercept)
        except DataError:             # a constant column (reported below) stops it
            Xs, dropped = _standardized_without_constants(table, intercept)
            facts["standardized_dropping"] = dropped
        if Xs is not None:
            facts["condition_number_standardized"] = _condition(_gram_spectrum(Xs, l2))
    names = list(table.feature_names[:min(len(table.feature_names), 10_000)])
    constant, dups = _columns(X, names, intercept)
    facts["constant_columns"] = constant
    facts["duplicate_columns"] = dups
    return facts


def _classifies_all(problem: Any, model: str, x: np.ndarray) -> bool:
    """True when the weights x put every sample strictly on its own class's side."""
    X, y = problem.X, problem.y
    n = problem.n_samples
    if model == "logistic":
        z = np.asarray(X @ x)
        return bool(np.all(np.where(y == 1, z, -z) > 0))
    K = problem.n_classes
    Z = np.array(X @ x.reshape(-1, K), dtype=np.float64)
    yi = y.astype(np.int64)
    zy = Z[np.arange(n), yi].copy()
    Z[np.arange(n), yi] = -np.inf
    return bool(np.all(zy > Z.max(axis=1)))


def _separability(problem: Any, model: str, x: np.ndarray, steps: int) -> dict[str, Any]:
    """Whether the classes are linearly separable (then unregularized logistic/softmax
    regression has no minimizer).  Certain when some weights classify every sample
    correctly: those the run reached (``x`` after ``steps`` steps), or those of a short
    Adam run (scale-free, so it finds a separator fast when there is one); otherwise,
    for small problems, decided by a linear program (weights with every margin >= 1
    exist exactly when the data are separable)."""
    from lrcore.stability import descend

    X, y = problem.X, problem.y
    n = problem.n_samples
    if _classifies_all(problem, model, x):
        return {"separable": True,
                "how": f"the weights after {steps} steps classify all {n} samples correctly"}
    k = min(steps, 1000)
    tr = descend(problem, problem.default_x0(), 1e-2, steps=k, method="adam", momentum=0.9)
    if np.all(np.isfinite(tr.x)) and _classifies_all(problem, model, tr.x):
        return {"separable": True,
                "how": f"{k} steps of Adam found weights that classify all {n} samples "
                       "correctly"}
    K = 2 if model == "logistic" else problem.n_classes
    size = (n * (K - 1)) * problem.dim
    if size > 2_000_000:
        return {"separable": None, "how": "not decided (too large for the linear program)"}
    from scipy.optimize import linprog

    Xs = sp.csr_array(X)
    if model == "logistic":
        A = -sp.diags_array(2.0 * y - 1.0) @ Xs
        m = n
    else:
        rows = np.repeat(np.arange(n), K - 1)
        other = np.array([k for i in range(n) for k in range(K) if k != int(y[i])])
        E = np.zeros((rows.size, K))
        E[np.arange(rows.size), other] = 1.0
        E[np.arange(rows.size), y[rows].astype(np.int64)] -= 1.0
        # constraint (x_i kron (e_k - e_yi)) . w <= -1, w[j K + k] = W[j, k]
        Xr = Xs[rows]
        A = sp.csr_array(sp.kron(Xr, np.ones((1, K))).multiply(np.tile(E, Xs.shape[1])))
        m = rows.size
    res = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=-np.ones(m), bounds=(None, None),
                  method="highs")
    if res.status == 0:
        return {"separable": True, "how": "a linear program found weights with every margin "
                                          ">= 1"}
    if res.status == 2:
        return {"separable": False, "how": "a linear program proved that no weights separate "
                                           "the classes"}
    return {"separable": None, "how": f"the linear program stopped: {res.message}"}


def _measure_steps(problem: Any, x0: np.ndarray, lr: float, method: str, momentum: float,
                   steps: int) -> dict[str, Any]:
    """Steps the run at ``lr`` takes to bring the gradient norm to sqrt(eps) of its start
    (f - f* to about eps of f0 - f* on the quadratic model, f - f* ~ ||g||^2): measured
    when the run gets there within ``steps``, else extrapolated from its contraction per
    step over the last third of the run."""
    from lrcore.stability import descend

    g0 = float(np.linalg.norm(problem.grad(x0)))
    out: dict[str, Any] = {"run_steps": steps, "reached": False, "measured_steps": None,
                           "measured_rate": None}
    if not g0 > 0:
        out.update(reached=True, measured_steps=0)
        return out
    target = math.sqrt(_EPS) * g0
    tr = descend(problem, x0, lr, steps=steps, method=method, momentum=momentum, tol=target)
    if tr.status == "converged":
        out.update(reached=True, measured_steps=int(tr.steps_run))
        return out
    g = tr.grad_norms[np.isfinite(tr.grad_norms)]
    if tr.status == "diverged" or g.size < 3:
        out["status"] = tr.status
        return out
    k0 = (2 * g.size) // 3
    rate = float((g[-1] / g[k0]) ** (1.0 / (g.size - 1 - k0))) if g[k0] > 0 else math.nan
    out["measured_rate"] = rate
    if 0.0 < rate < 1.0 and g[-1] > 0:
        out["measured_steps"] = tr.steps_run + math.log(g[-1] / target) / -math.log(rate)
    return out


def _steps_advice(rep: dict, method: str, momentum: float,
                  meas: dict[str, Any]) -> dict[str, Any]:
    """Steps to a 1e-6 relative suboptimality at the recommended rate: the textbook count
    (kappa ln(1/eps) for gradient descent, sqrt(kappa) ln(1/eps) for heavy ball and
    Nesterov at their optimal pair) next to the count a run measured."""
    from lrcore.rates import polyak_momentum

    c, r, s = rep["curvature"], rep["rates"], rep["stability"]["recommended"]
    # the L the rates were set from (the certified bound safe_lr used)
    L, mu = max(float(r["L"]), float(r["L_upper"])), float(c["mu"])
    log_eps = math.log(1.0 / _EPS)
    kappa = L / mu if mu > 0 else math.inf
    out: dict[str, Any] = {"kind": "steps", "eps": _EPS, "kappa": kappa, "theory_steps": None,
                           "optimal_lr": None, "optimal_momentum": None}
    if method == "adam":
        theory = "Adam has no closed-form count"
    elif not mu > 0:
        theory = ("the loss is not strongly convex (mu = 0"
                  + (", so L/mu is infinite; --l2 makes it strongly convex" if
                     rep["problem"]["model"] != "least-squares" else "")
                  + "): no linear rate is guaranteed, gradient descent at 1/L needs about "
                  "L ||w0 - w*||^2 / (2 eps) steps")
    elif method == "gd":
        n_theory = kappa * log_eps
        out["theory_steps"] = n_theory
        theory = (f"gradient descent at the recommended rate {_fmt(r['recommended'])} needs "
                  f"about kappa ln(1/eps) = {_sci(kappa)} x {log_eps:.1f} = {_sci(n_theory)} "
                  f"steps for a {_EPS:g} relative suboptimality (kappa = L/mu)")
    else:
        rk = math.sqrt(kappa)
        n_theory = rk * log_eps
        if method == "heavy_ball":
            b_opt = polyak_momentum(L, mu)
            lr_opt = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2
        else:
            b_opt = (rk - 1.0) / (rk + 1.0)
            lr_opt = 1.0 / L
        out.update(theory_steps=n_theory, optimal_lr=lr_opt, optimal_momentum=b_opt)
        theory = (f"{method} at its optimal pair (lr {lr_opt:.3g}, momentum {b_opt:.6g}) "
                  f"needs about sqrt(kappa) ln(1/eps) = {rk:.3g} x {log_eps:.1f} = "
                  f"{_sci(n_theory)} steps for a {_EPS:g} relative suboptimality "
                  f"(kappa = L/mu = {_sci(kappa)})")
    out.update(meas)
    at = ("a run at the recommended rate" + ("" if method == "gd" else
                                             f" with momentum {_fmt(momentum)}"))
    goal = f"||g|| <= {math.sqrt(_EPS):g} ||g0|| (f - f* ~ {_EPS:g} (f0 - f*))"
    n_run, n_meas, rho = meas["run_steps"], meas["measured_steps"], meas["measured_rate"]
    if meas["reached"]:
        measured = f"{at} reached {goal} after {n_meas} steps"
    elif n_meas is not None:
        measured = (f"{at} did not reach {goal} in {n_run} steps: its contraction of "
                    f"{rho:.8g} per step over the last third extrapolates to about "
                    f"{_sci(n_meas)} steps")
        if s["status"] == "stalled":
            measured += (" -- the 'stalled' verdict above means converging, more slowly "
                         "than the run was long")
    elif rho is not None and math.isfinite(rho):
        measured = f"{at} did not contract over its {n_run} steps (rate {rho:.6g})"
    else:
        measured = f"{at} gave no rate ({meas.get('status', s['status'])})"
    out["text"] = f"steps: {theory}; {measured}."
    return out


def _advice(rep: dict, facts: dict, sep: dict | None, std: bool, intercept: bool,
            l2: float, method: str, momentum: float,
            meas: dict[str, Any]) -> list[dict[str, Any]]:
    """The advice sentences of the report, each with its numbers (for --json)."""
    out: list[dict[str, Any]] = []
    k, ks = facts["condition_number"], facts["condition_number_standardized"]
    if (not std and k is not None and ks is not None and k >= _ILL_CONDITIONED
            and math.isfinite(ks) and k >= _STD_GAIN * ks):
        how = ("--standardize (for sparse data: column scaling without centering)"
               if facts["sparse"] else "--standardize")
        if facts.get("standardized_dropping"):
            cols = ", ".join(repr(s) for s in facts["standardized_dropping"][:3])
            how += (f" after dropping the constant column(s) {cols} (which --standardize "
                    "refuses; --intercept adds a column of ones)")
        out.append({"kind": "conditioning", "condition_number": k,
                    "condition_number_standardized": ks, "gain": k / ks,
                    "text": f"ill-conditioned design: condition number {_sci(k)} (of X'X/n"
                            f"{' + l2 I' if l2 else ''}); with {how} it would be {_sci(ks)}: "
                            "the features' scales differ so much that gradient descent "
                            f"needs about {_sci(k / ks)} times more steps than on "
                            "standardized features."})
    out.append(_steps_advice(rep, method, momentum, meas))
    if sep is not None and sep.get("separable"):
        K = rep["problem"].get("n_classes") or 2
        out.append({"kind": "separable", "n_classes": K, "how": sep["how"],
                    "text": f"separable data: the {K} classes are linearly separable "
                            f"({sep['how']}): without --l2 the loss has no minimizer (it "
                            "keeps falling as the weights grow without bound), so runs "
                            "never converge and the curvature near 'the solution' keeps "
                            "falling; pass --l2 (e.g. --l2 1e-3) for a finite minimizer."})
    constant = facts["constant_columns"]
    if constant:
        listed = [c for c in constant if c["value"] is not None]
        more = len(constant) - len(listed)
        count = len(listed) + (int(constant[-1]["name"].split("(")[1].split()[0]) if more else 0)
        shown = ", ".join(f"{c['name']} = {c['value']:g}" for c in listed[:5])
        if count > 5:
            shown += ", ..."
        zero = sum(1 for c in listed if c["value"] == 0)
        what = []
        if zero:
            what.append("an all-zero column does not affect the loss and leaves X'X/n "
                        "singular")
        if zero < len(listed):
            what.append("a non-zero constant column acts as an intercept"
                        + (" and, with --intercept too, duplicates it (X'X/n singular)"
                           if intercept else ""))
        out.append({"kind": "constant_columns", "count": count,
                    "columns": [c["name"] for c in listed],
                    "text": f"constant columns: {count} ({shown}); " + "; ".join(what)
                            + "; drop them."})
    dups = facts["duplicate_columns"]
    if dups:
        shown = ", ".join(f"{a} = {b}" for a, b in dups[:5]) + (", ..." if len(dups) > 5 else "")
        out.append({"kind": "duplicate_columns", "count": len(dups), "pairs": dups,
                    "text": f"duplicate columns: {len(dups)} pair(s) ({shown}): X'X/n is "
                            "singular, the weights along each pair's difference never move "
                            f"(mu = {_fmt(l2)} comes from --l2 alone); drop one of each "
                            "pair."})
    return out


def analyze_table(table: Table, *, model: str = "auto", l2: float = 0.0,
                  std: bool = False, intercept: bool = False, method: str = "gd",
                  momentum: float | None = None, steps: int = 2000, name: str | None = None,
                  boundary: bool = True) -> dict:
    """Run the whole analysis on a loaded table; returns the report as a JSON-able dict."""
    from lrcore import schedules as S
    from lrcore.rates import safe_lr
    from lrcore.search import range_test
    from lrcore.stability import check_stability, stability_boundary

    if momentum is None:
        momentum = {"gd": 0.0, "adam": 0.9}.get(method, 0.9)
    t0 = time.perf_counter()
    problem, names, info = _build_problem(table, model, l2, std, intercept)
    model = info["model"]
    classify = model in ("logistic", "softmax")
    budget = _budget(problem, steps)
    x0 = problem.default_x0()
    try:
        # the measurement safe_lr makes (and caches): the report's certified bound is the
        # one the max stable rate comes from
        curv = problem.curvature(method="lanczos", bound_rtol=0.02)
    except ValueError as exc:        # the curvature over- or underflows double precision
        raise UsageError(str(exc)) from None
    L = float(curv.value)
    if not L > 0.0:
        raise UsageError("every feature is zero (or so small that X'X is zero in double "
                         "precision): the loss does not depend on the weights, so there is "
                         "no learning rate to set; check the data"
                         + ("" if std else " or pass --standardize")
                         + ("" if intercept else " (--intercept adds a constant feature)"))
    mu = float(problem.strong_convexity())
    extra: dict[str, Any] = {}
    if method == "adam":
        g0 = problem.grad(x0)
        sr = safe_lr(problem, method="adam", momentum=momentum, second_moment=g0 * g0)
        extra["preconditioner"] = "diag(|grad f(x0)| + eps): Adam's first-step second moment"
    else:
        sr = safe_lr(problem, method=method, momentum=momentum)
    mx, rec = sr.max_stable, sr.recommended
    checks = {}
    for key, lr in (("recommended", rec), ("past_edge", 1.05 * mx)):
        r = check_stability(problem, lr, method=method, momentum=momentum,
                            steps=budget["check"])
        checks[key] = {"lr": lr, "lr_over_max": lr / mx, "status": r.status,
                       "observed_rate": r.observed_rate, "predicted_rate": r.predicted_rate,
                       "steps": budget["check"]}
    bd = None
    # the bisection's verdicts are sharp for a constant Hessian; for logistic and softmax
    # regression the curvature changes along the run, so only the local numbers above are
    # reported
    if boundary and method != "adam" and not classify:
        b = stability_boundary(problem, method=method, momentum=momentum, rtol=2e-3)
        bd = {"empirical": b.empirical, "theoretical": b.theoretical, "ratio": b.ratio,
              "n_runs": b.n_runs}
    sep = None
    if classify:
        from lrcore.stability import descend

        sol = descend(problem, x0, rec, steps=budget["solution"], method=method,
                      momentum=momentum, tol=1e-10)
        L_sol = problem.local_smoothness(sol.x)
        extra["L_at_solution"] = L_sol
        extra["max_stable_at_solution"] = 2.0 / L_sol if method == "gd" else None
        extra["solution_steps"] = int(sol.steps_run)
        if l2 == 0.0:
            sep = _separability(problem, model, sol.x, int(sol.steps_run))
    rt = range_test(problem, start=1e-4 * mx, end=20.0 * mx, num=120, method=method,
                    momentum=momentum)
    total = 1000
    warm = 50
    sched = S.warmup_cosine(rec, warmup_steps=warm, total_steps=total, floor=rec / 100)
    what = {"least-squares": "lambda_max(X'X/n) + l2 (exact Hessian)",
            "logistic": "lambda_max(X'X)/(4n) + l2 (global bound on the Hessian)",
            "softmax": "lambda_max(X'X)/(2n) + l2 (global bound on the Hessian, Bohning "
                       "1992)"}[model]
    notes = []
    if model == "logistic":
        notes.append("logistic: L is the global bound, attained at w = 0 where every sigmoid "
                     "slope is 1/4; the curvature falls as the margins |Xw| grow (see the "
                     "value near the solution), so a run somewhat past the bound can recover")
    elif model == "softmax":
        K = problem.n_classes
        notes.append(f"softmax: L bounds the Hessian everywhere (diag(p) - pp' <= (I - 11'/K)/2);"
                     f" at W = 0 the curvature is 2/K = {2 / K:.3g} of it and it falls further"
                     " as the predictions sharpen, so a run somewhat past the bound can recover")
    report: dict[str, Any] = {
        "name": name or table.source,
        "problem": {"model": model, "model_choice": info["choice"],
                    "n_samples": int(problem.n_samples),
                    "n_features": int(problem.n_features),
                    "n_classes": int(problem.n_classes) if model == "softmax" else None,
                    "n_parameters": int(problem.dim), "features": names,
                    "target": table.target, "l2": l2, "standardized": std,
                    "standardization": info["standardization"], "intercept": intercept,
                    "sparse": info["sparse"], "nnz": info["nnz"]},
        "curvature": {"L": L, "L_upper": float(curv.upper_bound), "mu": mu,
                      "condition_number": (L / mu) if mu > 0 else math.inf,
                      "measured_by": getattr(curv, "method", "lanczos"),
                      "n_matvec": int(curv.n_matvec), "residual": float(curv.residual),
                      "relative_residual": float(curv.residual) / max(abs(L), 1e-300),
                      "converged": bool(curv.converged), "bound": curv.bound,
                      "what": what},
        "notes": notes,
        "rates": {"method": method, "momentum": momentum, "max_stable": mx,
                  "recommended": rec, "L": float(sr.L), "L_upper": float(sr.L_upper),
                  "note": sr.note, **extra},
        "stability": {**checks, "boundary": bd},
        "range_test": {"suggestions": rt.suggestions, "spread_decades": rt.spread,
                       "stopped_at": rt.stopped_at, "points": len(rt.lrs)},
        "schedule": {"describe": sched.describe(), "to_dict": sched.to_dict()},
        "seconds": None,
    }
    facts = _design_facts(table, problem, info, std, intercept, l2)
    if sep is not None:
        facts["separable"] = sep["separable"]
        facts["separable_how"] = sep["how"]
    report["design"] = facts
    meas = _measure_steps(problem, x0, rec, method, momentum, budget["check"])
    report["advice"] = _advice(report, facts, sep, std, intercept, l2, method, momentum, meas)
    report["adaptive"] = adaptive_section(problem, L)
    report["seconds"] = time.perf_counter() - t0
    report["_objects"] = (problem, rt, sched)
    return report


# ----------------------------------------------------------------------------------------
# the "adaptive" section: the step-size rules of lrcore.adaptive on the user's data
# ----------------------------------------------------------------------------------------

#: relative suboptimality the adaptive section counts evaluations to; its step budget per
#: run, and the floating-point work (flops) its ~35 runs may spend on large data
_ADAPTIVE_TOL = 1e-6
_ADAPTIVE_CAP = 5000
_ADAPTIVE_FLOPS = 5e10


def _adaptive_costs(tr: Any, needs_f: bool) -> np.ndarray:
    """Evaluations spent up to each recorded iterate: a gradient per step, a value per
    step for rules that read the loss, every line-search trial, every HVP."""
    k1 = np.arange(1, len(tr.losses) + 1)
    trials = tr.n_evals - k1
    return k1 + (k1 if needs_f else 0) + trials + tr.n_hvps


def _exact_fstar(problem: Any) -> float | None:
    """The minimum of a dense least-squares problem from a direct solve (lstsq of X
    stacked on sqrt(n l2) I), or None for other problems and large or sparse designs."""
    from lrcore.problems import LeastSquares, Logistic

    if (not isinstance(problem, LeastSquares) or isinstance(problem, Logistic)
            or problem.sparse or problem.n_features > _MAX_GRAM_D):
        return None
    X, y, n, d = problem.X, problem.y, problem.n_samples, problem.n_features
    if problem.l2 > 0:
        X = np.vstack([X, math.sqrt(n * problem.l2) * np.eye(d)])
        y = np.concatenate([y, np.zeros(d)])
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    f = float(problem.value(w))
    return f if math.isfinite(f) else None


def adaptive_section(problem: Any, L: float, *, tol: float = _ADAPTIVE_TOL,
                     cap: int | None = None) -> dict:
    """Each step-size rule's evaluations to relative suboptimality ``tol`` on ``problem``,
    next to gradient descent at the best constant rate of a 20-point grid and at the safe
    rate 1/L.

    An evaluation is a value, gradient or Hessian-vector product the method needs (a
    gradient per step; a value per step for rules that read the loss; each line-search
    trial; the curvature rule's products).  f* is the lowest loss any run reached (a long
    Barzilai-Borwein run included), so the suboptimality is relative to (f(x0) - f*).
    Runs stop at ``cap`` steps (default: 5000, fewer on large data so that the section
    stays within about 5e10 flops, at least 200).
    """
    from lrcore import adaptive as A
    from lrcore.stability import descend

    if cap is None:
        per_eval = 4.0 * max(getattr(problem, "n_samples", 1), 1) * problem.dim
        cap = int(min(_ADAPTIVE_CAP, max(200, _ADAPTIVE_FLOPS / (40 * per_eval))))
    x0 = problem.default_x0()
    cands: list[tuple[str, Any, bool, bool]] = [       # label, lr, tuning-free, reads f
        ("armijo", A.armijo(), True, True),
        ("barzilai_borwein(1)", A.barzilai_borwein(1), True, True),
        ("barzilai_borwein(2)", A.barzilai_borwein(2), True, True),
        ("adgd", A.adgd(), True, False),
        ("dog", A.dog(), True, False),
        ("dadapt_sgd(momentum=0.9)", A.dadapt_sgd(momentum=0.9), True, False),
        ("prodigy", A.prodigy(), True, False),
        ("curvature", A.curvature(), True, False),
        ("schedule_free(lr=1/L)", A.schedule_free(lr=1.0 / L), False, False),
        ("GD 1/L (safe rate)", 1.0 / L, False, False),
    ]
    ref = descend(problem, x0, A.barzilai_borwein(2), steps=4 * cap)
    runs = []
    for label, lr, free, reads_f in cands:
        runs.append((label, lr, free, reads_f, descend(problem, x0, lr, steps=cap)))
    exact = _exact_fstar(problem)
    fstar = min([float(np.nanmin(r[4].losses)) for r in runs] + [float(np.nanmin(ref.losses))]
                + ([exact] if exact is not None else []))
    f0 = float(ref.losses[0])
    budget = cap
    for lr in (np.logspace(-2, 2, 20) / L)[::-1]:
        # large rates first (they converge fast or diverge at once); a smaller rate only
        # needs the steps that would beat the best so far
        tr = descend(problem, x0, float(lr), steps=budget)
        hit = np.nonzero((tr.losses - fstar) <= tol * (f0 - fstar))[0]
        if len(hit):
            budget = min(budget, int(hit[0]))
        runs.append(("grid", float(lr), False, False, tr))
    fstar = min([fstar] + [float(np.nanmin(r[4].losses)) for r in runs])
    span = f0 - fstar
    best = None

    def spent(tr: Any, reads_f: bool) -> int | None:
        if not span > 0:
            return 0
        rel = (tr.losses - fstar) / span
        hit = np.nonzero(rel <= tol)[0]
        return None if not len(hit) else int(_adaptive_costs(tr, reads_f)[hit[0]])

    rows = []
    for label, lr, free, reads_f, tr in runs:
        if label == "grid":
            e = spent(tr, False)
            if e is not None and (best is None or e < best[0]):
                best = (e, lr, tr)
            continue
        rows.append({"method": label, "tuning_free": free, "evaluations": spent(tr, reads_f),
                     "status": tr.status, "_tr": tr, "_reads_f": reads_f})
    rows.append({"method": "GD best constant of grid", "tuning_free": False,
                 "evaluations": None if best is None else best[0],
                 "lr": None if best is None else best[1],
                 "lr_times_L": None if best is None else best[1] * L,
                 "status": None if best is None else best[2].status,
                 "_tr": None if best is None else best[2], "_reads_f": False})
    rows.sort(key=lambda r: (r["evaluations"] is None, r["evaluations"] or 0))
    free_rows = [r for r in rows if r["tuning_free"] and r["evaluations"] is not None]
    return {"tolerance": tol, "cap_steps": cap, "f_star": fstar, "rows": rows,
            "fastest_tuning_free": free_rows[0]["method"] if free_rows else None,
            "what": "evaluations (values + gradients + HVPs the method needs) to "
                    f"(f - f*)/(f(x0) - f*) <= {tol:g}"}


def _format_adaptive(ad: dict) -> list[str]:
    lines = [f"  adaptive    {ad['what']}, runs of {ad['cap_steps']} steps "
             "(* tuning-free):"]
    for r in ad["rows"]:
        e = r["evaluations"]
        extra = ""
        if r.get("lr") is not None:
            extra = f" (lr {_fmt(r['lr'])} = {r['lr_times_L']:.3g}/L)"
        elif r["status"] in ("diverged", "stopped"):
            extra = f" ({r['status']})"
        elif e is None:
            extra = f" (not reached in {ad['cap_steps']} steps)"
        lines.append(f"              {r['method'] + (' *' if r['tuning_free'] else ''):28s}"
                     f"{'-' if e is None else e:>8}{extra}")
    if ad["fastest_tuning_free"]:
        lines.append(f"              fastest without tuning: {ad['fastest_tuning_free']}")
    return lines


def _plot_adaptive(ax: Any, ad: dict) -> None:
    """The adaptive section's panel: suboptimality against evaluations spent."""
    span_floor = 1e-16
    f0 = None
    for r in ad["rows"]:
        tr = r["_tr"]
        if tr is None:
            continue
        f0 = tr.losses[0] if f0 is None else f0
        rel = np.maximum((tr.losses - ad["f_star"]) / max(f0 - ad["f_star"], 1e-300),
                         span_floor)
        ax.plot(_adaptive_costs(tr, r["_reads_f"]), rel, label=r["method"],
                lw=1.0 if r["tuning_free"] else 1.8, ls="-" if r["tuning_free"] else "--")
    ax.axhline(ad["tolerance"], color="k", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("(f - f*) / (f(x0) - f*)")
    ax.set_title("step-size rules (dashed: tuned or safe constants)")
    ax.legend(fontsize=6)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        return f"{v:.5g}"
    return str(v)


def _data_line(rep: dict) -> str:
    p = rep["problem"]
    sparse = ""
    if p.get("sparse"):
        dens = p["nnz"] / max(p["n_samples"] * p["n_features"], 1)
        sparse = f" (sparse: {p['nnz']} stored entries, density {dens:.2g})"
    classes = f", {p['n_classes']} classes" if p.get("n_classes") else ""
    return (f"  data        {p['n_samples']} samples x {p['n_features']} features"
            f"{' (incl. intercept)' if p['intercept'] else ''}{sparse}{classes}"
            f"{', standardized' if p['standardized'] else ''}, l2 = {_fmt(p['l2'])}, "
            f"target {p['target']!r}")


def _format_design(rep: dict) -> list[str]:
    """The model choice, standardization and design lines of the text report."""
    p, dz = rep["problem"], rep.get("design") or {}
    lines = []
    if p.get("model_choice"):
        lines.append(f"  model       {p['model_choice']}")
    if p.get("standardization"):
        lines.append(f"  scaling     {p['standardization']}")
    k = dz.get("condition_number")
    if k is not None:
        ks = dz.get("condition_number_standardized")
        std = "" if ks is None or p["standardized"] else f" (standardized: {_sci(ks)})"
        lines.append(f"  design      X'X/n{' + l2 I' if p['l2'] else ''}: condition number "
                     f"{_sci(k)}{std}")
    elif dz.get("condition_note"):
        lines.append(f"  design      condition number {dz['condition_note']}")
    return lines


def _format_advice(rep: dict) -> list[str]:
    """The advice sentences, one per line (wrapped)."""
    import textwrap

    lines = []
    for a in rep.get("advice", []):
        wrapped = textwrap.wrap(a["text"], width=92)
        for k, t in enumerate(wrapped):
            lines.append(("  advice      - " if k == 0 else "                ") + t)
    return lines


def format_report(rep: dict) -> str:
    p, c, r, s = rep["problem"], rep["curvature"], rep["rates"], rep["stability"]
    lines = [f"== {rep['name']}: {p['model']} ==",
             _data_line(rep),
             *_format_design(rep),
             f"  curvature   L = {_fmt(c['L'])}  [{c['what']}]",
             f"              measured by {c['measured_by']}: {c['n_matvec']} mat-vecs, "
             f"||Av - Lv|| / L = {c['relative_residual']:.1e}, certified L <= "
             f"{_fmt(c['L_upper'])}",
             f"              mu = {_fmt(c['mu'])}, condition number {_fmt(c['condition_number'])}",
             f"  rates       method {r['method']}"
             f"{'' if r['method'] == 'gd' else ' (momentum ' + _fmt(r['momentum']) + ')'}: "
             f"max stable {_fmt(r['max_stable'])}, recommended {_fmt(r['recommended'])}"]
    if r.get("L_at_solution") is not None:
        lines.append(f"              near the solution the Hessian's largest eigenvalue is "
                     f"{_fmt(r['L_at_solution'])}"
                     + (f" (2/L there = {_fmt(r['max_stable_at_solution'])})"
                        if r.get("max_stable_at_solution") else ""))
    if r.get("note"):
        lines.append(f"              note: {r['note']}")
    for key, label in (("recommended", "at recommended"), ("past_edge", "just past the edge")):
        ck = s[key]
        pred = "" if ck["predicted_rate"] is None else f" (theory {ck['predicted_rate']:.5f})"
        lines.append(f"  stability   {label} lr = {_fmt(ck['lr'])} ({ck['lr_over_max']:.2f} x max):"
                     f" {ck['status']}, measured rate {ck['observed_rate']:.5f}{pred}")
    if s["boundary"]:
        b = s["boundary"]
        lines.append(f"              empirical boundary {_fmt(b['empirical'])} vs theory "
                     f"{_fmt(b['theoretical'])} (ratio {b['ratio']:.4f}, {b['n_runs']} runs)")
    rt = rep["range_test"]
    sug = ", ".join(f"{k} {_fmt(v)}" for k, v in rt["suggestions"].items())
    lines.append(f"  range test  {sug}; spread {rt['spread_decades']:.2f} decades"
                 f"{'' if rt['stopped_at'] is None else ', stopped at point ' + str(rt['stopped_at'])}")
    if rep.get("adaptive"):
        lines += _format_adaptive(rep["adaptive"])
    lines.append(f"  schedule    {rep['schedule']['describe']}")
    lines.append(f"              {json.dumps(rep['schedule']['to_dict'])}")
    for note in rep.get("notes", []):
        lines.append(f"  note        {note}")
    lines.extend(_format_advice(rep))
    lines.append(f"  ({rep['seconds']:.2f} s)")
    return "\n".join(lines)


def _clean_json(obj):
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, (np.floating, np.integer)):
        return _clean_json(obj.item())
    return obj


def write_plot(rep: dict, path: str) -> None:
    """Panels: loss curves near the edge, the range test, the suggested schedule, and the
    step-size rules' suboptimality against evaluations (the adaptive section)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrcore.stability import descend

    problem, rt, sched = rep["_objects"]
    r = rep["rates"]
    mx = r["max_stable"]
    fig, axes = plt.subplots(1, 4 if rep.get("adaptive") else 3,
                             figsize=(21 if rep.get("adaptive") else 16, 4.6))
    ax = axes[0]
    x0 = problem.default_x0()
    # f* from a long run at the recommended rate: plot the suboptimality f - f*
    ref = descend(problem, x0, r["recommended"], steps=20000, method=r["method"],
                  momentum=r["momentum"], tol=1e-12)
    runs = [(f, descend(problem, x0, f * mx, steps=300, method=r["method"],
                        momentum=r["momentum"])) for f in _FRACTIONS]
    # f*: exact for dense least squares; else the long run's end when it converged; else
    # only an estimate (the lowest loss seen), and the axis says so -- the best run would
    # otherwise seem to reach f* at its last step
    exact = _exact_fstar(problem)
    seen = min([ref.final_loss] + [float(np.nanmin(t.losses)) for _, t in runs])
    fstar = min(exact, seen) if exact is not None else seen
    estimated = exact is None and ref.status != "converged"
    floor = 1e-16 * max(abs(fstar), 1.0)
    for f, tr in runs:
        ax.plot(np.arange(len(tr.losses)), np.maximum(tr.losses - fstar, floor),
                label=f"{f:g} x max ({tr.status})")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f - (lowest f seen): f* not reached" if estimated else "f - f*")
    rep["plot_f_star"] = {"value": fstar, "source": "exact (direct solve)" if exact is not None
                          else ("estimated (lowest loss seen)" if estimated
                                else "a converged run")}
    ax.set_title(f"{r['method']} at fractions of the max stable rate {mx:.3g}")
    ax.legend(fontsize=8)
    rt.plot(ax=axes[1])
    axes[1].set_title("LR range test")
    sched.plot(1000, ax=axes[2])
    axes[2].set_title("suggested schedule")
    if rep.get("adaptive"):
        _plot_adaptive(axes[3], rep["adaptive"])
    fig.suptitle(f"lrcore: {rep['name']} ({rep['problem']['model']})")
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------

_PLOT_FORMATS = ("png", "pdf", "svg", "svgz", "jpg", "jpeg", "tif", "tiff", "webp", "eps",
                 "ps", "gif")


def _check_plot_path(path: str | None) -> None:
    """Refuse a --plot destination that cannot be written, before any work is done."""
    if path is None:
        return
    import os

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if os.path.isdir(path):
        raise UsageError(f"--plot {path}: is a directory; give a file name such as "
                         f"{os.path.join(path, 'report.png')}")
    if ext not in _PLOT_FORMATS:
        fmt = "." + ext if ext else "(no extension)"
        raise UsageError(f"--plot {path}: unknown image format {fmt}; use one of "
                         + ", ".join("." + e for e in _PLOT_FORMATS))
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"--plot {path}: the directory {parent} does not exist")
    existed = os.path.exists(path)
    try:                                   # the only sure test: open it for writing
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise UsageError(f"--plot {path}: cannot write it ({exc.strerror or exc})") from None
    if not existed:
        os.unlink(path)


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise UsageError(f"--plot {path}: cannot write it ({exc.strerror or exc})") from None


def _emit(reports: list[dict[str, Any]], args: Any,
          torch_report: dict[str, Any] | None = None) -> None:
    if args.json:
        out: Any = reports[0] if len(reports) == 1 else {"reports": reports}
        if torch_report is not None:
            out = {"reports": reports, "torch": torch_report}
        print(json.dumps(_clean_json(out), indent=1))
    else:
        text = [format_report(r) for r in reports]
        if torch_report is not None:
            from lrcore.torch.demo import format_demo

            text.append(format_demo(torch_report))
        print("\n\n".join(text))
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("lrcore: --plot needs matplotlib: pip install 'lrcore[plot]' "
                  "(the report above is complete)", file=sys.stderr)
            return
        stem, dot, ext = args.plot.rpartition(".")

        def named(tag: str) -> str:
            return f"{stem}-{tag}.{ext}" if dot else f"{args.plot}-{tag}"

        if len(reports) == 1 and torch_report is None:
            write_plot(reports[0], args.plot)
            print(f"plot written to {args.plot}", file=sys.stderr)
            return
        for rep in reports:
            p = named(rep["problem"]["model"])
            write_plot(rep, p)
            print(f"plot written to {p}", file=sys.stderr)
        if torch_report is not None:
            p = named("mlp")
            _write_torch_plot(torch_report, p)
            print(f"plot written to {p}", file=sys.stderr)


def _write_torch_plot(rep: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrcore.torch.demo import plot_demo

    fig, ax = plt.subplots(figsize=(7, 4.6))
    plot_demo(rep, ax)
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


def _torch_demo() -> dict[str, Any] | None:
    """The PyTorch part of the demo (an MLP on the shipped digits), or one line saying how
    to get it when torch is not installed."""
    try:
        from lrcore.torch.demo import run_demo
    except ImportError:
        print("lrcore demo: the PyTorch part (sharpness, safe rates and a guarded training "
              "run of an MLP on digits) needs PyTorch: pip install 'lrcore[torch]'",
              file=sys.stderr)
        return None
    return run_demo(seed=0)


def cmd_demo(args) -> int:
    from lrcore.datasets import load_breast_cancer, load_diabetes

    reps = []
    for loader, model, name, l2 in ((load_diabetes, "least-squares", "diabetes", 0.0),
                                    (load_breast_cancer, "logistic", "breast cancer", 1e-3)):
        X, y, names = loader()
        table = Table(X, y, tuple(names), "target", f"{name} (shipped)")
        reps.append(analyze_table(table, model=model, l2=l2, std=True, intercept=True,
                                  method=args.method, momentum=args.momentum, name=name))
    _emit(reps, args, None if args.no_torch else _torch_demo())
    return 0


def cmd_analyze(args) -> int:
    target = args.target
    if target is None:
        from lrcore.datasets._files import detect_format

        if detect_format(args.file) != "svmlight":
            raise UsageError(f"{args.file}: --target is required (the target column's name; "
                             ".npy and sparse .npz: its index)")
        target = "label"
    table = load_table(args.file, target, keep_sparse=True)
    if table.X.shape[0] < 2:
        raise UsageError(f"{args.file}: need at least two data rows")
    rep = analyze_table(table, model=args.model, l2=args.l2, std=args.standardize,
                        intercept=args.intercept, method=args.method, momentum=args.momentum,
                        name=args.file)
    _emit([rep], args)
    return 0


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    if "," in text:
        return [_parse_value(t) for t in text.split(",") if t.strip()]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _first_overflow(s: Any, hi: int) -> int:
    """The first step in [0, hi] at which ``s`` is not finite (bisection: a schedule that
    overflows stays overflowed, as the exponential ones do)."""
    def bad(t: int) -> bool:
        try:
            return not math.isfinite(s(t))
        except NonFiniteError:
            return True
    lo = 0
    if bad(0):
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if bad(mid):
            hi = mid
        else:
            lo = mid
    return hi


def cmd_schedule(args, extra: list[str]) -> int:
    from lrcore import schedules as S

    # the closed-form schedules by name: callables of the package, not its constants,
    # types or combinators
    names = [n for n in S.__all__ if n not in ("Schedule", "ReduceOnPlateau", "from_dict",
                                               "compat", "join", "scale", "product",
                                               "warmup", "clip")
             and not n.isupper() and callable(getattr(S, n, None))]
    if args.name not in names:
        raise UsageError(f"unknown schedule {args.name!r}; choose one of: {', '.join(names)}")
    ctor = getattr(S, args.name)
    params = inspect.signature(ctor).parameters
    kwargs: dict[str, Any] = {}
    i = 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or i + 1 >= len(extra):
            raise UsageError(f"expected --param value pairs after the schedule name, got {tok!r}")
        key = tok[2:].replace("-", "_")
        if key not in params:
            raise UsageError(f"{args.name} has no parameter {key!r}; its parameters are: "
                             + ", ".join(params))
        kwargs[key] = _parse_value(extra[i + 1])
        i += 2
    n = args.steps
    if n is not None and not 1 <= n <= S.MAX_STEPS:
        raise UsageError(f"--steps must be in [1, {S.MAX_STEPS}], got {n}")
    if "steps" in params and n is not None and "steps" not in kwargs:
        kwargs["steps"] = n          # --steps is the schedule's own length here
        n = None
    try:
        s = ctor(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{args.name}: {exc}") from None
    if n is None:
        length = next((kwargs[k] for k in ("steps", "total_steps") if k in kwargs), 1000)
        n = int(length * 1.1) if isinstance(length, int) else 1000
    n = max(2, int(n))
    grid = np.unique(np.concatenate([[0, 1], np.linspace(0, n - 1, 11).round().astype(int)]))
    try:
        vals = s(grid.astype(np.int64))
        if args.plot:
            s(plot_steps(n))                  # the steps the plot evaluates
    except NonFiniteError:
        k = _first_overflow(s, n - 1)
        raise UsageError(f"{args.name}: the rate overflows to inf at step {k} (the preview "
                         f"runs to step {n - 1}); preview fewer --steps or bound the rate "
                         "(e.g. a ceiling)") from None
    if args.json:
        print(json.dumps({"schedule": s.to_dict(), "describe": s.describe(),
                          "steps": grid.tolist(), "values": vals.tolist()}, indent=1))
    else:
        print(s.describe())
        print(f"{'step':>10}  {'lr':>14}")
        for t, v in zip(grid, vals):
            print(f"{t:>10}  {v:>14.6g}")
        print(json.dumps(s.to_dict()))
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("lrcore: --plot needs matplotlib: pip install 'lrcore[plot]'", file=sys.stderr)
            return 0
        fig, ax = plt.subplots(figsize=(6, 4))
        s.plot(n, ax=ax)
        fig.tight_layout()
        try:
            _save(fig, args.plot)
        finally:
            plt.close(fig)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``--help`` unchanged)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="lrcore", description="Learning rates by measurement.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p):
        p.add_argument("--method", choices=METHODS, default="gd",
                       help="optimizer to analyse (default gd)")
        p.add_argument("--momentum", type=float, default=None,
                       help="momentum / Adam beta1 (default 0.9 for the momentum methods)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--plot", metavar="OUT.png",
                       help="write the report's panels as an image (PNG, PDF or SVG)")

    d = sub.add_parser("demo", help="run the pipeline on the shipped datasets (and an MLP on "
                                    "digits when PyTorch is installed)")
    d.add_argument("--no-torch", action="store_true",
                   help="skip the PyTorch part (an MLP on the shipped digits)")
    common(d)
    a = sub.add_parser("analyze", help="analyse a CSV (header row), .npy, .npz (dense or "
                                         "sparse) or svmlight data file")
    a.add_argument("file")
    a.add_argument("--target", default=None,
                   help="target column name (.npy and sparse .npz: column index; svmlight: "
                        "the label, the default)")
    a.add_argument("--model", choices=_MODELS, default="auto",
                   help="least-squares, logistic (0/1 labels), softmax (classes 0..K-1) or "
                        "auto (the default: chosen from the target column, and said so)")
    a.add_argument("--l2", type=float, default=0.0, help="L2 regularisation (default 0)")
    a.add_argument("--standardize", action="store_true", help="standardize every feature")
    a.add_argument("--intercept", action="store_true", help="add a column of ones")
    common(a)
    s = sub.add_parser("schedule", help="preview a schedule: lrcore schedule NAME --param value")
    s.add_argument("name")
    s.add_argument("--steps", type=int, default=None,
                   help="preview length (the schedule's own length if it has a 'steps' "
                        "parameter that is not given otherwise)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--plot", metavar="OUT.png")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lrcore`` console script; returns the exit status."""
    ap = _parser()
    args, extra = ap.parse_known_args(argv)
    try:
        if args.command == "schedule":
            _check_plot_path(args.plot)
            return cmd_schedule(args, extra)
        if extra:
            ap.error(f"unrecognized arguments: {' '.join(extra)}")
        if args.momentum is None and args.method in ("heavy_ball", "nesterov"):
            args.momentum = 0.9          # the default --help promises for the momentum methods
        try:
            optimizer_method(args.method, args.momentum)
            nonneg(getattr(args, "l2", 0.0), "l2")
        except ValueError as exc:      # the library's sentence, as a command-line option
            raise UsageError(f"--{exc}") from None
        _check_plot_path(args.plot)
        return cmd_demo(args) if args.command == "demo" else cmd_analyze(args)
    except (DataError, UsageError) as exc:
        print(f"lrcore: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrcore: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
