"""Which step-size rule to use: evaluations to a tolerance, and the C loop's speed, in one run.

    python benchmarks/compare_adaptive.py [--cap 100000] [--out FILE]
    PYTHONPATH=. python benchmarks/compare_adaptive.py     # against an in-place build

Problems: the shipped diabetes data (least squares, standardized features + intercept),
the shipped breast-cancer data (logistic, standardized, l2 = 1e-3), an ill-conditioned
quadratic (n = 1000, eigenvalues log-spaced over [1e-4, 1] in a random basis: condition
number 1e4), and the Rosenbrock function in 2 and 100 dimensions (chained, from
(-1.2, 1, -1.2, 1, ...); a Python objective, run through the same C loop).

Section 1, evaluations to relative suboptimality (f - f*) / (f(x0) - f*) <= 1e-6, capped
at ``--cap`` (a run is cut when it has spent the cap).  An evaluation is a function value,
a gradient or a Hessian-vector product that the method needs: one gradient per step for
every method; one value per step for the methods that read the loss (Armijo, Polyak,
Barzilai-Borwein with backtracking); one value per line-search trial; the curvature
rule's HVPs.  (The loop also evaluates f at every iterate to measure
the suboptimality; that monitoring is not charged.)  Baselines: GD at the best constant
rate of a 20-point grid (log-spaced over [1e-2, 1e2] / L, each run stopped once it has
spent the best count so far), GD at 1/L, and Nesterov's method at its optimal pair
(rate 1/L, momentum (sqrt(kappa) - 1) / (sqrt(kappa) + 1)).  L and mu: the global
constants of the quadratic and least squares; for logistic the global bound on L and
mu = l2; for Rosenbrock the largest lambda_max of the Hessian at x0 and at x* and the
smallest eigenvalue at x*.  f*: exact (least squares, quadratic), Newton's method
(logistic), 0 (Rosenbrock).

Section 2, wall time per step of the C loop (``descend``: the built-in problems in C, the
Rosenbrock objective called from C) against the same rule written as a plain
Python + numpy loop (``tests/reference/adaptive.py``, the tests' twin, on a numpy
objective), medians of 5 repeats, same number of steps, same iterates (a chaotic run
may stop at a different step on each side: each is timed per step it took).  A 10-d
quadratic, whose objective costs ~0.1 us in C, shows the loop's own overhead.

The report is printed and written to ``benchmarks/reports/compare_adaptive.txt``.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from reference import adaptive as twin  # noqa: E402
from reference import problems as rp  # noqa: E402
from timing import environment, median_time, save_report  # noqa: E402

import lrcore  # noqa: E402
from lrcore import adaptive as A  # noqa: E402
from lrcore import datasets  # noqa: E402
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic  # noqa: E402
from lrcore.stability import descend  # noqa: E402

TARGET = 1e-6
#: rules that read loss values at the iterates
NEEDS_F = ("armijo", "polyak")


# ----------------------------------------------------------------------------------------
# problems
# ----------------------------------------------------------------------------------------

def rosenbrock(n):
    def vg(x):
        a, b = x[:-1], x[1:]
        d = b - a * a
        f = float(np.sum(100.0 * d * d + (1.0 - a) ** 2))
        g = np.zeros_like(x)
        g[:-1] = -400.0 * a * d - 2.0 * (1.0 - a)
        g[1:] += 200.0 * d
        return f, g

    def hess(x):
        H = np.zeros((n, n))
        a, b = x[:-1], x[1:]
        i = np.arange(n - 1)
        H[i, i] += 1200.0 * a * a - 400.0 * b + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * a
        return H

    return vg, hess


def problems():
    out = {}
    X, y, _ = datasets.load_diabetes(standardize=True)
    X = np.hstack([X, np.ones((len(X), 1))])
    p = LeastSquares(X, y)
    fs = p.value(np.linalg.lstsq(X, y, rcond=None)[0])
    out["diabetes LS"] = dict(problem=p, x0=np.zeros(p.dim), fstar=fs,
                                   L=p.smoothness(), mu=p.strong_convexity(), vg=None)
    X, y, _ = datasets.load_breast_cancer(standardize=True)
    p = Logistic(X, y, l2=1e-3)
    w = np.zeros(p.dim)
    for _ in range(50):                              # Newton's method for f*
        w = w - np.linalg.solve(rp.hessian(p, w), rp.grad(p, w))
    out["cancer logistic"] = dict(problem=p, x0=np.zeros(p.dim),
                                              fstar=rp.value(p, w), L=p.smoothness(),
                                              mu=1e-3, vg=None)
    rng = np.random.default_rng(0)
    n = 1000
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    lam = np.logspace(-4, 0, n)
    Amat = (Q * lam) @ Q.T
    Amat = (Amat + Amat.T) / 2
    b = Q @ (lam * rng.normal(size=n))               # x* = Q z with z ~ N(0, I)
    p = Quadratic(Amat, b)
    xs = np.linalg.solve(Amat, b)
    out["quadratic 1e4"] = dict(problem=p, x0=np.zeros(n), fstar=p.value(xs),
                                             L=1.0, mu=1e-4, vg=None)
    for n in (2, 100):
        vg, hess = rosenbrock(n)
        x0 = np.tile([-1.2, 1.0], n // 2)
        ev0 = np.linalg.eigvalsh(hess(x0))
        evs = np.linalg.eigvalsh(hess(np.ones(n)))
        p = Problem.from_functions(vg, hvp=lambda x, v, h=hess: h(x) @ v, n=n, x0=x0)
        out[f"Rosenbrock {n}"] = dict(problem=p, x0=x0, fstar=0.0,
                                        L=max(ev0[-1], evs[-1]), mu=evs[0], vg=vg)
    return out


# ----------------------------------------------------------------------------------------
# section 1: evaluations to the tolerance
# ----------------------------------------------------------------------------------------

def evaluations(tr, fstar, f0, needs_f):
    """Evaluations spent when the suboptimality first reached TARGET (None: never)."""
    rel = (tr.losses - fstar) / (f0 - fstar)
    hit = np.nonzero(rel <= TARGET)[0]
    if not len(hit):
        return None
    k = int(hit[0])
    trials = int(tr.n_evals[k]) - (k + 1)
    return (k + 1) + ((k + 1) if needs_f else 0) + trials + int(tr.n_hvps[k])


def run_rule(P, lr, cap, needs_f=False, **kw):
    # no run needs more steps than evaluations: cap steps at the cap
    tr = descend(P["problem"], P["x0"], lr, steps=cap, **kw)
    f0 = tr.losses[0]
    e = evaluations(tr, P["fstar"], f0, needs_f)
    return (e if e is not None and e <= cap else None), tr


def grid_best(P, cap):
    L = P["L"]
    grid = np.logspace(-2, 2, 20) / L
    best, best_lr, budget = None, None, cap
    for lr in grid[::-1]:                            # large rates first: fast or diverging
        e, tr = run_rule(P, float(lr), budget)
        if e is not None and (best is None or e < best):
            best, best_lr, budget = e, float(lr), e
    return best, best_lr


def rules(P):
    L = P["L"]
    return [
        ("armijo", A.armijo(), True),
        ("polyak(f*)", A.polyak(P["fstar"]), False),
        ("BB1", A.barzilai_borwein(1), True),
        ("BB2", A.barzilai_borwein(2), True),
        ("adgd 2020", A.adgd(), True),
        ("adgd 2023", A.adgd(variant="2023"), True),
        ("dog", A.dog(), True),
        ("dadapt_sgd", A.dadapt_sgd(), True),
        ("dadapt_sgd(mom=0.9)", A.dadapt_sgd(momentum=0.9), True),
        ("prodigy", A.prodigy(), True),
        ("schedule_free(1/L)", A.schedule_free(lr=1.0 / L), False),
        ("curvature", A.curvature(), True),
    ]


def fmt(e):
    return f">{CAP:.0e}".replace("e+0", "e") if e is None else str(e)


def section_evaluations(probs, cap):
    names = list(probs)
    rows = {}
    rows["GD best of grid"] = {}
    rows["GD 1/L"] = {}
    rows["Nesterov optimal"] = {}
    tuning_free = {}
    for name, P in probs.items():
        t0 = time.perf_counter()
        best, best_lr = grid_best(P, cap)
        rows["GD best of grid"][name] = (best, f"{best_lr * P['L']:.3g}/L" if best_lr else "")
        e, _ = run_rule(P, 1.0 / P["L"], cap)
        rows["GD 1/L"][name] = (e, "")
        kappa = P["L"] / P["mu"]
        beta = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        e, _ = run_rule(P, 1.0 / P["L"], cap, method="nesterov", momentum=beta)
        rows["Nesterov optimal"][name] = (e, f"b={beta:.3f}")
        for label, rule, free in rules(P):
            nf = rule.name in NEEDS_F or (rule.name == "barzilai_borwein"
                                          and rule.params["fallback"] == "backtrack")
            e, tr = run_rule(P, rule, cap, needs_f=nf)
            note = tr.status if tr.status in ("diverged", "stopped") else ""
            rows.setdefault(label, {})[name] = (e, note)
            tuning_free[label] = free
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return names, rows, tuning_free


def table_evaluations(names, rows, tuning_free):
    w = 20
    head = f"{'method':24s}" + "".join(f"{n:>{w}s}" for n in names)
    lines = [head, "-" * len(head)]
    for label, cells in rows.items():
        tag = " *" if tuning_free.get(label) else ""
        line = f"{label + tag:24s}"
        for n in names:
            e, note = cells[n]
            s = fmt(e) + (f" ({note})" if note else "")
            line += f"{s:>{w}s}"
        lines.append(line)
    return lines


def targets(names, rows, tuning_free):
    out = []
    for n in names:
        tuned = rows["GD best of grid"][n][0]
        free = [(rows[lab][n][0], lab) for lab in rows if tuning_free.get(lab)
                and rows[lab][n][0] is not None]
        best_free = min(free) if free else (None, "-")
        ok1 = tuned is None or (best_free[0] is not None and best_free[0] <= 2 * tuned)
        gd = rows["GD 1/L"][n][0]
        cv = rows["curvature"][n][0]
        ok2 = cv is not None and (gd is None or cv <= gd)
        ratio = "-" if tuned is None or best_free[0] is None else f"{best_free[0] / tuned:.2f}x"
        out.append(f"  {n}: best tuning-free {best_free[1]} {fmt(best_free[0])} vs tuned GD "
                   f"{fmt(tuned)} ({ratio}) -> {'met' if ok1 else 'MISSED'}; curvature "
                   f"{fmt(cv)} vs GD 1/L {fmt(gd)} -> {'met' if ok2 else 'MISSED'}")
    return out


# ----------------------------------------------------------------------------------------
# section 2: the C loop vs the same rule in Python + numpy
# ----------------------------------------------------------------------------------------

def section_speed(probs):
    """Per-step times; a 10-d quadratic (objective ~0.1 us in C) is added to show the
    loop's own overhead next to the real problems, where the objective dominates."""
    lines = []
    rng = np.random.default_rng(1)
    M = rng.normal(size=(10, 10))
    Aq = M @ M.T / 10 + 0.1 * np.eye(10)
    q10 = Quadratic(Aq, rng.normal(size=10))
    probs = {"quadratic 10": dict(problem=q10, x0=np.zeros(10), vg=None), **probs}
    cases = [("armijo", A.armijo()), ("BB1", A.barzilai_borwein()), ("adgd 2020", A.adgd()),
             ("dog", A.dog()), ("prodigy", A.prodigy()), ("curvature", A.curvature(every=10))]
    head = f"{'problem':18s}{'rule':12s}{'steps':>7s}{'C us/step':>11s}{'numpy us/step':>15s}" \
           f"{'ratio':>8s}"
    lines += [head, "-" * len(head)]
    for name, P in probs.items():
        steps = 200 if P["problem"].dim >= 1000 else 2000
        prob = P["problem"]
        if P["vg"] is None:
            vg = lambda w, p=prob: (rp.value(p, w), rp.grad(p, w))     # noqa: E731

            def lam_oracle(x, k, p=prob):
                return float(np.linalg.eigvalsh(rp.hessian(p, x))[-1])
        else:
            vg = P["vg"]
            H = rosenbrock(prob.dim)[1]

            def lam_oracle(x, k, H=H):
                return float(np.linalg.eigvalsh(H(x))[-1])
        for label, rule in cases:
            kw = {}
            if rule.name == "curvature":
                kw = dict(lam=lam_oracle, scale=2 * 0.99, every=10)
            tc, tr = median_time(lambda: descend(prob, P["x0"], rule, steps=steps), 5)
            tp, tw = median_time(lambda: twin.run(vg, P["x0"], rule.name, rule.params, steps,
                                                  **kw), 5)
            # per step of each run (a run that stops early -- converged, diverged -- is
            # timed over the steps it took; chaotic runs may stop at different steps)
            kc, kp = max(tr.steps_run, 1), max(tw.steps_run, 1)
            uc, up = 1e6 * tc / kc, 1e6 * tp / kp
            lines.append(f"{name:18s}{label:12s}{kc:>7d}{uc:>11.2f}{up:>15.2f}"
                         f"{up / uc:>7.1f}x")
    return lines


def main(argv=None):
    global CAP
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=int, default=100_000)
    ap.add_argument("--out", default=os.path.join(HERE, "reports", "compare_adaptive.txt"))
    ap.add_argument("--section", choices=("all", "evaluations", "speed"), default="all")
    args = ap.parse_args(argv)
    CAP = args.cap
    lrcore.set_num_threads(1)
    probs = problems()
    lines = [f"lrcore {lrcore.__version__}, numpy {np.__version__}, "
             f"{platform.machine()} {platform.processor() or ''}".rstrip(),
             f"environment: {', '.join(environment())}; lrcore kernels on 1 thread",
             ""]
    if args.section in ("all", "evaluations"):
        names, rows, free = section_evaluations(probs, args.cap)
        lines += [f"1. Evaluations (values + gradients + HVPs the method needs) to relative "
                  f"suboptimality {TARGET:g}, cap {args.cap:g}; * = tuning-free", ""]
        lines += table_evaluations(names, rows, free)
        lines += ["", "Targets:"] + targets(names, rows, free) + [""]
    if args.section in ("all", "speed"):
        lines += ["2. Wall time per step: the C loop vs the same rule as a Python + numpy loop "
                  "(medians of 5)", ""]
        lines += section_speed(probs)
    text = "\n".join(lines)
    print(text)
    if args.out:
        save_report(text, args.out)


CAP = 100_000

if __name__ == "__main__":
    main()
