"""Grid, random and successive-halving search; executors; the range test on user objects."""
import json
import math
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from lrcore.search import grid_search, random_search, range_test, successive_halving
from search_objectives import Descent, explodes_above_one, noisy_bowl


def strip_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def same_records(a, b):
    a, b = strip_time(a), strip_time(b)
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and math.isnan(ra[k]):
                assert isinstance(rb[k], float) and math.isnan(rb[k]), k
            else:
                assert ra[k] == rb[k], (k, ra[k], rb[k])


LRS = list(np.geomspace(1e-4, 10.0, 13))


def test_grid_search_finds_the_minimum_and_records_everything():
    res = grid_search(noisy_bowl, LRS, seeds=[0, 1, 2])
    assert len(res.records) == 3 * len(LRS)
    assert [r["lr"] for r in res.records[:3]] == [LRS[0]] * 3
    assert {r["seed"] for r in res.records} == {0, 1, 2}
    assert abs(math.log10(res.best_lr) - math.log10(0.05)) < 0.3
    means = {lr: np.mean([r["score"] for r in res.records if r["lr"] == lr]) for lr in LRS}
    assert res.best_score == pytest.approx(min(means.values()))
    assert all(r["status"] == "ok" and r["time"] >= 0 for r in res.records)


def test_failed_trials_are_recorded_not_raised():
    res = grid_search(explodes_above_one, [0.1, 0.3, 2.0, 10.0])
    status = [r["status"] for r in res.records]
    assert status == ["ok", "ok", "diverged", "error"]
    assert math.isnan(res.records[2]["score"]) and math.isnan(res.records[3]["score"])
    assert "FloatingPointError: loss blew up" in res.records[3]["error"]
    assert res.best_lr == 0.3 and res.best_score == 0.0
    none_ok = grid_search(explodes_above_one, [2.0, 10.0])
    assert math.isnan(none_ok.best_lr) and math.isnan(none_ok.best_score)


def test_a_rate_that_fails_for_one_seed_is_not_best():
    def obj(lr, seed=None):
        if lr == 0.1 and seed == 1:
            return float("inf")
        return abs(lr - 0.1)
    res = grid_search(obj, [0.05, 0.1, 0.2], seeds=[0, 1])
    assert res.best_lr == 0.05


def test_random_search_is_reproducible_and_log_uniform():
    a = random_search(noisy_bowl, 1e-5, 1.0, 200, seed=42)
    b = random_search(noisy_bowl, 1e-5, 1.0, 200, seed=42)
    same_records(a.records, b.records)
    c = random_search(noisy_bowl, 1e-5, 1.0, 200, seed=43)
    assert [r["lr"] for r in a.records] != [r["lr"] for r in c.records]
    logs = np.log10([r["lr"] for r in a.records])
    assert logs.min() >= -5 and logs.max() <= 0
    # log-uniform: about a fifth of the draws in each decade
    counts = np.histogram(logs, bins=5, range=(-5, 0))[0]
    assert counts.min() > 20
    lin = random_search(noisy_bowl, 1e-5, 1.0, 200, seed=42, log=False)
    assert np.mean([r["lr"] for r in lin.records]) > 0.3


def test_successive_halving_rounds_and_budgets():
    lrs = list(np.geomspace(1e-3, 1.0, 27))
    res = successive_halving(Descent(L=4.0), lrs, budget=27, eta=3, seed=0)
    rounds = [r["round"] for r in res.records]
    assert rounds.count(0) == 27 and rounds.count(1) == 9 and rounds.count(2) == 3 \
        and rounds.count(3) == 1
    assert sorted({r["budget"] for r in res.records}) == [1, 3, 9, 27]
    # GD on 0.5*L*w^2 contracts by |1 - lr*L|: the best rates are near 1/L = 0.25
    assert 0.1 < res.best_lr < 0.45
    # survivors of each round are the best of the previous one
    r0 = [r for r in res.records if r["round"] == 0]
    r1 = {r["lr"] for r in res.records if r["round"] == 1}
    top9 = {r["lr"] for r in sorted(r0, key=lambda r: r["score"])[:9]}
    assert r1 == top9


def _executors():
    yield "threads", lambda: ThreadPoolExecutor(2)
    yield "processes", lambda: ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))


@pytest.mark.parametrize("name,make", list(_executors()), ids=[n for n, _ in _executors()])
def test_executors_give_the_serial_records(name, make):
    serial = [grid_search(noisy_bowl, LRS, seeds=[3, 4]),
              random_search(explodes_above_one, 0.01, 20.0, 12, seed=5),
              successive_halving(Descent(), LRS, budget=9, seed=1)]
    with make() as ex:
        par = [grid_search(noisy_bowl, LRS, seeds=[3, 4], executor=ex),
               random_search(explodes_above_one, 0.01, 20.0, 12, seed=5, executor=ex),
               successive_halving(Descent(), LRS, budget=9, seed=1, executor=ex)]
    for s, p in zip(serial, par):
        same_records(s.records, p.records)
        assert s.best_lr == p.best_lr


def test_dask_local_cluster_gives_the_serial_records():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is in the test extra")
    serial = random_search(noisy_bowl, 1e-4, 1.0, 16, seed=7)
    halving = successive_halving(Descent(), LRS, budget=9, seed=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        ex = client.get_executor()
        got = random_search(noisy_bowl, 1e-4, 1.0, 16, seed=7, executor=ex)
        got_h = successive_halving(Descent(), LRS, budget=9, seed=2, executor=ex)
    same_records(serial.records, got.records)
    same_records(halving.records, got_h.records)


class _BrokenExecutor(Executor):
    def submit(self, fn, *args, **kwargs):
        raise RuntimeError("cluster is gone")


def test_failing_executor_gives_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="executor refused a trial.*cluster is gone"):
        grid_search(noisy_bowl, LRS, executor=_BrokenExecutor())
    ex = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pytest.raises(RuntimeError, match="picklable"):
            grid_search(lambda lr: lr, [0.1, 0.2], executor=ex)
    finally:
        ex.shutdown()
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        grid_search(noisy_bowl, LRS, executor=object())


def test_bad_input():
    with pytest.raises(TypeError, match="objective must be callable"):
        grid_search(42, LRS)
    with pytest.raises(ValueError, match="lrs is empty"):
        grid_search(noisy_bowl, [])
    with pytest.raises(ValueError, match=r"lrs\[1\] must be a finite number > 0"):
        grid_search(noisy_bowl, [0.1, -1.0])
    with pytest.raises(ValueError, match=r"lrs\[0\] must be a finite number > 0"):
        grid_search(noisy_bowl, [float("nan")])
    with pytest.raises(ValueError, match="low must be < high"):
        random_search(noisy_bowl, 1.0, 0.1, 5)
    with pytest.raises(ValueError, match="n must be >= 1"):
        random_search(noisy_bowl, 0.1, 1.0, 0)
    with pytest.raises(ValueError, match="eta must be >= 2"):
        successive_halving(noisy_bowl, LRS, budget=9, eta=1)
    with pytest.raises(TypeError, match="budget must be an integer"):
        successive_halving(noisy_bowl, LRS, budget=9.5)


def test_to_csv_and_json(tmp_path):
    res = grid_search(explodes_above_one, [0.1, 2.0, 10.0])
    res.to_csv(tmp_path / "r.csv")
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].split(",")[:5] == ["lr", "seed", "score", "status", "time"]
    assert len(lines) == 4 and ",diverged," in lines[2]
    res.to_json(tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["best_lr"] == 0.1 and doc["records"][2]["score"] is None
    assert [os.path.basename(p) for p in os.listdir(tmp_path)] == sorted(["r.csv", "r.json"]) \
        or sorted(os.listdir(tmp_path)) == ["r.csv", "r.json"]


def test_writes_are_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the user's existing file untouched, and no temp files."""
    target = tmp_path / "results.json"
    target.write_text("precious")
    res = grid_search(noisy_bowl, [0.1])

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        res.to_json(target)
    assert target.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["results.json"]


# ---------------------------------------------------------------------------------------
# range test on a user object
# ---------------------------------------------------------------------------------------

class Model:
    """A user's training state: GD on f(w) = 0.5 * sum(d_i w_i^2) + offset."""

    def __init__(self, offset=0.0, fail_at=None):
        self.w = np.linspace(1.0, 2.0, 5)
        self.d = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
        self.offset = offset
        self.fail_at = fail_at
        self.calls = 0
        self.extra = {"epoch": 3}

    def step(self, lr):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise RuntimeError("CUDA out of memory (simulated)")
        self.w -= lr * self.d * self.w
        self.extra["epoch"] += 1
        return float(0.5 * np.sum(self.d * self.w ** 2) + self.offset)

    def snapshot(self):
        return (self.w.copy(), dict(self.extra), self.calls)

    def restore(self, state):
        self.w[:] = state[0]
        self.extra = dict(state[1])
        self.calls = state[2]


def test_range_test_restores_state_and_stops_on_divergence():
    m = Model()
    w0 = m.w.copy()
    rt = range_test(m, start=1e-4, end=10.0, num=100)
    assert np.array_equal(m.w, w0) and m.extra == {"epoch": 3} and m.calls == 0
    assert rt.stopped_at is not None and rt.stopped_at < 99
    assert len(rt.lrs) == len(rt.losses) == len(rt.smoothed) == rt.stopped_at + 1
    # GD on this quadratic diverges above 2/L = 0.5: every suggestion is below that
    for method in ("steepest", "valley", "minimum"):
        assert 1e-4 < rt.suggestion(method) < 0.5, method
    assert rt.spread >= 0
    with pytest.raises(ValueError, match="no curvature suggestion"):
        rt.suggestion("curvature")


def test_range_test_restores_state_when_step_raises():
    m = Model(fail_at=10)
    w0 = m.w.copy()
    with pytest.raises(RuntimeError, match="out of memory"):
        range_test(m, num=50)
    assert np.array_equal(m.w, w0) and m.extra == {"epoch": 3}


@pytest.mark.parametrize("offset", [0.0, -1000.0, 1e6])
def test_range_test_divergence_is_shift_invariant_enough_for_negative_losses(offset):
    """A constant added to the loss must not change where the test stops (a ratio test
    ``loss > 5 * best`` would stop at once for offset 1e6 and never for -1000)."""
    base = range_test(Model(), start=1e-3, end=30.0, num=80)
    shifted = range_test(Model(offset=offset), start=1e-3, end=30.0, num=80)
    assert shifted.stopped_at is not None
    assert abs(shifted.stopped_at - base.stopped_at) <= 3
    k = min(len(shifted.losses), len(base.losses))
    assert np.allclose(shifted.losses[:k] - offset, base.losses[:k], rtol=1e-6,
                       atol=1e-9 * max(1.0, abs(offset)))


def test_smoothing_is_bias_corrected_ema():
    rt = range_test(Model(), start=1e-4, end=1e-2, num=20, smooth=0.3)
    beta, avg, exp = 0.7, 0.0, []
    for i, v in enumerate(rt.losses):
        avg = beta * avg + 0.3 * v
        exp.append(avg / (1 - beta ** (i + 1)))
    assert np.allclose(rt.smoothed, exp, rtol=1e-12)
    assert rt.smoothed[0] == pytest.approx(rt.losses[0], rel=1e-15)
    assert rt.stopped_at is None and len(rt.lrs) == 20


def test_range_test_bad_input():
    with pytest.raises(ValueError, match="start must be < end"):
        range_test(Model(), start=1.0, end=0.1)
    with pytest.raises(ValueError, match="num must be >= 2"):
        range_test(Model(), num=1)
    with pytest.raises(ValueError, match="mode must be"):
        range_test(Model(), mode="log")
    with pytest.raises(ValueError, match="diverge must be"):
        range_test(Model(), diverge=1.0)
    with pytest.raises(TypeError, match="object has no step"):
        range_test(object())
    m = Model()
    with pytest.raises(ValueError, match="smooth must be in"):
        range_test(m, smooth=0.0)
    assert m.calls == 0


def test_linear_mode_grid():
    rt = range_test(Model(), start=1e-3, end=0.3, num=30, mode="linear")
    assert np.allclose(np.diff(rt.lrs), np.diff(rt.lrs)[0])


# ---- review findings (round 2) ------------------------------------------------------------

def _sleepy(lr):
    import time
    time.sleep(0.2)
    return lr


def test_search_on_an_executor_shut_down_mid_run_raises_instead_of_hanging():
    import threading
    import time
    ex = ThreadPoolExecutor(1)
    threading.Timer(0.3, lambda: ex.shutdown(wait=False, cancel_futures=True)).start()
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="cancelled"):
        grid_search(_sleepy, [0.1 * i + 0.1 for i in range(10)], executor=ex)
    assert time.perf_counter() - t0 < 30


def test_every_trial_failing_alike_is_a_clear_error():
    with pytest.raises(RuntimeError, match="every trial failed with the same error: "
                                           "TypeError.*seed"):
        successive_halving(lambda lr, budget: abs(lr - 0.1) + 1 / budget,
                           [1e-3, 1e-2, 0.1, 1, 3, 10], budget=9)
    # trials failing in different ways (or some succeeding) stay data
    res = grid_search(lambda lr: 1 / (lr - 0.5) if lr != 0.5 else 1 / 0, [0.25, 0.5])
    assert [r["status"] for r in res.records] == ["ok", "error"]


def test_range_test_records_only_rates_it_tried():
    from lrcore.problems import Quadratic
    rt = range_test(Quadratic(np.diag([1.0, 10.0])), start=1e-3, end=1e6, num=30,
                    x0=np.ones(2), diverge=1e300)
    assert np.all(np.isfinite(rt.losses[:-1]))
    assert not np.isinf(rt.losses[-1])           # the 1e10 guard's step is recorded as is
