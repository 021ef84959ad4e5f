"""lrcore.torch.demo: the report, its text and its plot (a short run)."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from lrcore.torch.demo import format_demo, plot_demo, run_demo  # noqa: E402


@pytest.fixture(scope="module")
def report():
    before = torch.get_num_threads()
    state = torch.get_rng_state()
    rep = run_demo(seed=0, steps=40, every=10)
    assert torch.get_num_threads() == before and torch.equal(state, torch.get_rng_state())
    return rep


def test_report(report):
    json.loads(json.dumps(report))                     # plain types (inf allowed)
    assert report["model"]["n_params"] == 64 * 32 + 32 + 32 * 10 + 10
    s, r = report["sharpness"], report["rates"]
    assert 0 < s["L"] <= s["L_upper"] and s["converged"]
    sgd, adam = r["sgd_momentum"], r["adam"]
    assert sgd["method"] == "heavy_ball" and adam["method"] == "adam"
    assert sgd["max_stable"] == pytest.approx(2 * 1.9 / sgd["L_upper"], rel=1e-12)
    assert report["range_test"]["n_points"] == len(report["range_test"]["lrs"]) > 10
    tr = report["training"]
    assert tr["history"]["step"] == [0, 10, 20, 30]
    assert tr["loss_end"] < tr["loss_start"]


def test_format_and_plot(report):
    text = format_demo(report)
    lines = text.splitlines()
    assert lines[0].startswith("== digits: MLP 64-32-10")
    for word in ("sharpness   L =", "rates       SGD momentum 0.9: max stable",
                 "Adam beta1 0.9", "range test", "training    40 steps", "the guard"):
        assert word in text, word
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert plot_demo(report, ax) is ax
    assert len(ax.lines) == 3 and ax.get_yscale() == "log"
    plt.close(fig)
