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

from lrcore._core import NonFiniteError
from lrcore._tabular import DataError, Table, load_table, standardize
from lrcore._validation import METHODS, nonneg, optimizer_method

__all__ = ["main", "analyze_table"]

_MODELS = ("least-squares", "logistic")
_FRACTIONS = (0.5, 0.9, 1.0, 1.05)


class UsageError(Exception):
    """A mistake in the command line or the data: one line for the user."""


# ----------------------------------------------------------------------------------------
# the pipeline
# ----------------------------------------------------------------------------------------

def _build_problem(table: Table, model: str, l2: float, std: bool, intercept: bool):
    from lrcore.problems import LeastSquares, Logistic

    X = standardize(table.X, table.feature_names) if std else table.X
    _check_range(X, table, std, model)
    names = list(table.feature_names)
    if intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
        names.append("(intercept)")
    y = table.y
    if model == "logistic":
        bad = ~((y == 0) | (y == 1))
        if bad.any():
            i = int(np.argmax(bad))
            raise UsageError(f"target {table.target!r} must hold 0/1 labels for --model logistic;"
                             f" row {i + 2 if table.source.endswith('.csv') else i} has "
                             f"{y[i]:g}")
        return Logistic(X, y, l2=l2), names
    return LeastSquares(X, y, l2=l2), names


#: Beyond this magnitude the squares of the data (X'X, the squared loss) overflow a double.
_HUGE = 1e150


def _check_range(X: np.ndarray, table: Table, std: bool, model: str) -> None:
    """One sentence for data whose scale double precision cannot carry through the loss."""
    if X.size:
        col = np.max(np.abs(X), axis=0)
        j = int(np.argmax(col))
        if col[j] > _HUGE:
            raise UsageError(f"feature {table.feature_names[j]!r} has values up to "
                             f"{col[j]:.3g}: its square overflows double precision; rescale "
                             "it (or pass --standardize)")
    if model == "least-squares" and table.y.size and np.max(np.abs(table.y)) > _HUGE:
        raise UsageError(f"target {table.target!r} has values up to "
                         f"{np.max(np.abs(table.y)):.3g}: the squared loss overflows double "
                         "precision; rescale the target")


def analyze_table(table: Table, *, model: str = "least-squares", l2: float = 0.0,
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
    problem, names = _build_problem(table, model, l2, std, intercept)
    x0 = problem.default_x0()
    try:
        curv = problem.curvature()
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
        r = check_stability(problem, lr, method=method, momentum=momentum, steps=steps)
        checks[key] = {"lr": lr, "lr_over_max": lr / mx, "status": r.status,
                       "observed_rate": r.observed_rate, "predicted_rate": r.predicted_rate}
    bd = None
    # the bisection's verdicts are sharp for a constant Hessian; for logistic regression
    # the curvature changes along the run, so only the local numbers above are reported
    if boundary and method != "adam" and model != "logistic":
        b = stability_boundary(problem, method=method, momentum=momentum, rtol=2e-3)
        bd = {"empirical": b.empirical, "theoretical": b.theoretical, "ratio": b.ratio,
              "n_runs": b.n_runs}
    if model == "logistic":
        from lrcore.stability import descend

        sol = descend(problem, x0, rec, steps=20000, method=method, momentum=momentum,
                      tol=1e-10)
        L_sol = problem.local_smoothness(sol.x)
        extra["L_at_solution"] = L_sol
        extra["max_stable_at_solution"] = 2.0 / L_sol if method == "gd" else None
    rt = range_test(problem, start=1e-4 * mx, end=20.0 * mx, num=120, method=method,
                    momentum=momentum)
    total = 1000
    warm = 50
    sched = S.warmup_cosine(rec, warmup_steps=warm, total_steps=total, floor=rec / 100)
    report: dict[str, Any] = {
        "name": name or table.source,
        "problem": {"model": model, "n_samples": int(problem.n_samples),
                    "n_features": int(problem.dim), "features": names, "target": table.target,
                    "l2": l2, "standardized": std, "intercept": intercept},
        "curvature": {"L": L, "L_upper": float(curv.upper_bound), "mu": mu,
                      "condition_number": (L / mu) if mu > 0 else math.inf,
                      "measured_by": getattr(curv, "method", "lanczos"),
                      "n_matvec": int(curv.n_matvec), "residual": float(curv.residual),
                      "relative_residual": float(curv.residual) / max(abs(L), 1e-300),
                      "converged": bool(curv.converged),
                      "what": ("lambda_max(X'X/n) + l2 (exact Hessian)" if model != "logistic"
                               else "lambda_max(X'X)/(4n) + l2 (global bound on the Hessian)")},
        "notes": ([] if model != "logistic" else [
            "logistic: L is the global bound, attained at w = 0 where every sigmoid slope is "
            "1/4; the curvature falls as the margins |Xw| grow (see the value near the "
            "solution), so a run somewhat past the bound can recover"]),
        "rates": {"method": method, "momentum": momentum, "max_stable": mx,
                  "recommended": rec, "note": sr.note, **extra},
        "stability": {**checks, "boundary": bd},
        "range_test": {"suggestions": rt.suggestions, "spread_decades": rt.spread,
                       "stopped_at": rt.stopped_at, "points": len(rt.lrs)},
        "schedule": {"describe": sched.describe(), "to_dict": sched.to_dict()},
        "seconds": None,
    }
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
    fstar = min([float(np.nanmin(r[4].losses)) for r in runs] + [float(np.nanmin(ref.losses))])
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


def format_report(rep: dict) -> str:
    p, c, r, s = rep["problem"], rep["curvature"], rep["rates"], rep["stability"]
    feats = p["n_features"]
    lines = [f"== {rep['name']}: {p['model']} ==",
             f"  data        {p['n_samples']} samples x {feats} features"
             f"{' (incl. intercept)' if p['intercept'] else ''}"
             f"{', standardized' if p['standardized'] else ''}, l2 = {_fmt(p['l2'])}, "
             f"target {p['target']!r}",
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
    fstar = min([ref.final_loss] + [float(np.nanmin(t.losses)) for _, t in runs])
    floor = 1e-16 * max(abs(fstar), 1.0)
    for f, tr in runs:
        ax.plot(np.arange(len(tr.losses)), np.maximum(tr.losses - fstar, floor),
                label=f"{f:g} x max ({tr.status})")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f - f*")
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
    table = load_table(args.file, args.target)
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

    names = [n for n in S.__all__ if n not in ("Schedule", "ReduceOnPlateau", "from_dict",
                                               "compat", "MAX_STEPS", "join", "scale",
                                               "product", "warmup", "clip")]
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
            s.values(n)                       # the plot evaluates every step up to n
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
        p.add_argument("--plot", metavar="OUT.png", help="write a three-panel PNG")

    d = sub.add_parser("demo", help="run the pipeline on the shipped datasets (and an MLP on "
                                    "digits when PyTorch is installed)")
    d.add_argument("--no-torch", action="store_true",
                   help="skip the PyTorch part (an MLP on the shipped digits)")
    common(d)
    a = sub.add_parser("analyze", help="analyse a CSV (header row), .npy or .npz data file")
    a.add_argument("file")
    a.add_argument("--target", required=True, help="target column name (.npy: column index)")
    a.add_argument("--model", choices=_MODELS, required=True)
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
