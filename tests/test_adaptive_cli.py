"""The "adaptive" section of ``lrcore analyze``: each step-size rule's evaluations to the
tolerance next to the best constant rate of the grid and the safe rate 1/L."""
import json

import numpy as np
import pytest

from lrcore import adaptive as A
from lrcore import cli
from lrcore.datasets import load_diabetes
from lrcore.problems import LeastSquares
from lrcore.stability import descend


@pytest.fixture(scope="module")
def diabetes():
    X, y, names = load_diabetes(standardize=True)
    X = np.hstack([X, np.ones((len(X), 1))])
    return LeastSquares(X, y)


def test_section_counts_match_direct_runs(diabetes):
    L = diabetes.smoothness()
    ad = cli.adaptive_section(diabetes, L, cap=3000)
    rows = {r["method"]: r for r in ad["rows"]}
    assert {"armijo", "prodigy", "curvature", "GD 1/L (safe rate)",
            "GD best constant of grid"} <= set(rows)
    f_star = float(diabetes.value(np.linalg.lstsq(diabetes.X, diabetes.y, rcond=None)[0]))
    assert ad["f_star"] == pytest.approx(f_star, rel=1e-12)
    x0 = np.zeros(diabetes.dim)
    f0 = diabetes.value(x0)
    # GD at 1/L: one gradient per step, counted at the first iterate below the tolerance
    tr = descend(diabetes, x0, 1.0 / L, steps=3000)
    k = int(np.argmax((tr.losses - ad["f_star"]) / (f0 - ad["f_star"]) <= 1e-6))
    assert rows["GD 1/L (safe rate)"]["evaluations"] == k + 1
    # Armijo: a value and a gradient per step plus its trials
    tr = descend(diabetes, x0, A.armijo(), steps=3000)
    k = int(np.argmax((tr.losses - ad["f_star"]) / (f0 - ad["f_star"]) <= 1e-6))
    assert rows["armijo"]["evaluations"] == 2 * (k + 1) + int(tr.n_evals[k]) - (k + 1)
    # the grid's best is no worse than 1/L, and its rate is reported in units of 1/L
    best = rows["GD best constant of grid"]
    assert best["evaluations"] <= rows["GD 1/L (safe rate)"]["evaluations"]
    assert best["lr_times_L"] == pytest.approx(best["lr"] * L)
    ev = [r["evaluations"] for r in ad["rows"] if r["evaluations"] is not None]
    assert ev == sorted(ev)
    assert rows[ad["fastest_tuning_free"]]["tuning_free"]


def test_analyze_report_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X, y, names = load_diabetes()
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=",".join(list(names) + ["y"]),
               comments="")
    assert cli.main(["analyze", str(path), "--target", "y", "--model", "least-squares",
                     "--standardize", "--intercept", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    ad = rep["adaptive"]
    assert ad["tolerance"] == 1e-6 and ad["rows"]
    assert all(not k.startswith("_") for r in ad["rows"] for k in r)
    png = tmp_path / "a.png"
    assert cli.main(["analyze", str(path), "--target", "y", "--model", "least-squares",
                     "--standardize", "--intercept", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "adaptive    evaluations" in out and "fastest without tuning" in out
    assert png.stat().st_size > 10_000


def test_rows_that_miss_the_tolerance_say_why(diabetes):
    # 40 steps: GD at 1/L cannot reach 1e-6 (kappa ~ 500), a diverging rate says so
    ad = cli.adaptive_section(diabetes, diabetes.smoothness(), cap=40)
    rows = {r["method"]: r for r in ad["rows"]}
    assert rows["GD 1/L (safe rate)"]["evaluations"] is None
    lines = cli._format_adaptive(ad)
    gd = next(ln for ln in lines if "GD 1/L" in ln)
    assert gd.rstrip().endswith("- (not reached in 40 steps)"), gd
    for r in ad["rows"]:
        ln = next(x for x in lines if r["method"] in x)
        if r["evaluations"] is None:
            assert "(" in ln, ln          # every dash carries its reason
