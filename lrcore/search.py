"""Learning-rate search: the LR range test, grid, random and successive-halving search.

Every search runs its trials on any :class:`concurrent.futures.Executor` (``executor=None``
runs them here, one after the other): a thread or process pool on one machine, or a Dask
cluster through ``distributed.Client(...).get_executor()``.  A trial that raises or returns
NaN/Inf is *recorded* (status ``"error"`` or ``"diverged"``, score NaN) and never stops the
search; a failing *executor* (a broken pool, an objective that cannot be pickled) raises a
clear :class:`RuntimeError`.  Trials are seeded, so a search is reproducible from its seed
whatever executor runs it, and records come back in submission order.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, wait
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from lrcore._core import NonFiniteError
from lrcore._validation import (
    choice,
    integer,
    legacy_optimizer,
    optimizer_method,
    point,
    positive,
    rate_sequence,
    real,
    unit_interval,
)
from lrcore.problems import Problem
from lrcore.rates import SafeRate, safe_lr
from lrcore.stability import descend

__all__ = [
    "SearchResult",
    "RangeTest",
    "ProblemObjective",
    "grid_search",
    "random_search",
    "successive_halving",
    "range_test",
]

_FIELDS = ("lr", "seed", "score", "status", "time", "budget", "round", "error")

#: ``objective(lr, budget=None, seed=None) -> float``, or a problem (see grid_search)
_Objective: TypeAlias = Callable[..., Any] | Problem
#: one trial's record (the keys of _FIELDS)
_Record: TypeAlias = dict[str, Any]


# ----------------------------------------------------------------------------------------
# trials
# ----------------------------------------------------------------------------------------

class _Trial:
    """One evaluation ``objective(lr, budget=..., seed=...)``; picklable, never raises."""

    __slots__ = ("objective", "lr", "budget", "seed", "round")

    def __init__(self, objective: Callable[..., Any], lr: float, budget: int | None = None,
                 seed: int | None = None, round: int | None = None) -> None:
        self.objective = objective
        self.lr = lr
        self.budget = budget
        self.seed = seed
        self.round = round

    def __call__(self) -> _Record:
        kwargs = {}
        if self.budget is not None:
            kwargs["budget"] = self.budget
        if self.seed is not None:
            kwargs["seed"] = self.seed
        t0 = time.perf_counter()
        error = ""
        try:
            score = float(self.objective(self.lr, **kwargs))
            status = "ok" if math.isfinite(score) else "diverged"
        except Exception as exc:  # a failing trial is data, not a reason to stop
            score, status = math.nan, "error"
            error = f"{type(exc).__name__}: {exc}"
        if status != "ok":
            score = math.nan
        return {"lr": self.lr, "seed": self.seed, "score": score, "status": status,
                "time": time.perf_counter() - t0, "budget": self.budget,
                "round": self.round, "error": error}


def _progress_bar(total: int, desc: str, progress: bool | None) -> Any:
    """A tqdm bar, or None."""
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    if progress is None and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    return tqdm(total=total, desc=desc, leave=False)


def _same_failure(records: list[_Record], desc: str) -> list[_Record]:
    """The records, unless every one of several trials raised the same error: that is a
    mistake in the set-up (a keyword the objective does not take, say), not data."""
    errors = {r["error"] for r in records}
    if len(records) > 1 and all(r["status"] == "error" for r in records) and len(errors) == 1:
        raise RuntimeError(f"{desc}: every trial failed with the same error: "
                           f"{errors.pop()}")
    return records


def _run_trials(trials: list[_Trial], executor: Executor | None, progress: bool | None,
                desc: str) -> list[_Record]:
    """Run trials, in order (serially) or on ``executor``; results in submission order.
    Raises RuntimeError when every trial failed with the same error."""
    return _same_failure(_run_trials_raw(trials, executor, progress, desc), desc)


def _run_trials_raw(trials: list[_Trial], executor: Executor | None, progress: bool | None,
                    desc: str) -> list[_Record]:
    bar = _progress_bar(len(trials), desc, progress)
    try:
        out: list[Any]
        if executor is None:
            out = []
            for t in trials:
                out.append(t())
                if bar is not None:
                    bar.update(1)
            return out
        if not callable(getattr(executor, "submit", None)):
            raise TypeError("executor must be a concurrent.futures.Executor (an object with "
                            f"submit()), got {type(executor).__name__}")
        futures = []
        try:
            for t in trials:
                futures.append(executor.submit(t))
        except Exception as exc:
            for f in futures:
                f.cancel()
            raise RuntimeError(f"{desc}: the executor refused a trial "
                               f"({type(exc).__name__}: {exc})") from exc
        index = {f: i for i, f in enumerate(futures)}
        out = [None] * len(futures)
        try:
            pending = set(futures)
            while pending:
                # polled: a future cancelled by executor.shutdown(cancel_futures=True)
                # never wakes wait()/as_completed (CPython), so look for it every 0.2 s
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in done:
                    out[index[f]] = f.result()
                    if bar is not None:
                        bar.update(1)
                if not done and any(f.cancelled() for f in pending):
                    raise CancelledError("a trial was cancelled before it ran (was the "
                                         "executor shut down?)")
        except Exception as exc:
            for f in futures:
                f.cancel()
            hint = ""
            if "pickl" in f"{type(exc).__name__} {exc}".lower():
                hint = (" -- the objective must be picklable to reach another process "
                        "(a module-level function or object, not a lambda or local function)")
            raise RuntimeError(f"{desc}: the executor failed while running trials "
                               f"({type(exc).__name__}: {exc}){hint}") from exc
        return out
    finally:
        if bar is not None:
            bar.close()


# ----------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------

def _atomic_write(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: never a half-written file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".lrcore-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@dataclass(frozen=True, eq=False)
class SearchResult:
    """Outcome of a search.

    Attributes
    ----------
    records : list of dict
        One dict per trial, in submission order, with keys ``lr``, ``seed``, ``score``
        (NaN unless ``status == "ok"``), ``status`` (``"ok"``, ``"diverged"`` for a
        non-finite score, ``"error"`` when the objective raised), ``time`` (seconds),
        ``budget``, ``round`` (successive halving) and ``error`` (the exception text).
    best_lr : float
        The rate with the lowest score (mean over seeds; a rate with any failed trial is
        not eligible).  NaN when no trial succeeded.
    best_score : float
        Its score.
    """

    records: list[_Record]
    best_lr: float
    best_score: float
    method: str = "search"

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the records as CSV (atomically: the file is complete or untouched)."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in self.records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in _FIELDS})
        _atomic_write(path, buf.getvalue())

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write ``{"method", "best_lr", "best_score", "records"}`` as JSON (atomically)."""
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v
        doc = {"method": self.method, "best_lr": clean(self.best_lr),
               "best_score": clean(self.best_score),
               "records": [{k: clean(r.get(k)) for k in _FIELDS} for r in self.records]}
        _atomic_write(path, json.dumps(doc, indent=1))

    @property
    def n_failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.records)

    def __repr__(self) -> str:
        return (f"SearchResult(method={self.method!r}, best_lr={self.best_lr:.4g}, "
                f"best_score={self.best_score:.6g}, trials={len(self.records)}, "
                f"failed={self.n_failed})")


def _best(records: Sequence[_Record]) -> tuple[float, float]:
    """Best rate by mean score over its trials; rates with a failed trial are excluded."""
    by_lr: dict[float, list[float]] = {}
    failed: set[float] = set()
    for r in records:
        if r["status"] == "ok":
            by_lr.setdefault(r["lr"], []).append(r["score"])
        else:
            failed.add(r["lr"])
    best_lr, best_score = math.nan, math.inf
    for lr, scores in by_lr.items():
        if lr in failed:
            continue
        s = float(np.mean(scores))
        if s < best_score:
            best_lr, best_score = lr, s
    return best_lr, (best_score if math.isfinite(best_score) else math.nan)


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------

def _check_objective(objective: object) -> Callable[..., Any]:
    if isinstance(objective, Problem):
        return ProblemObjective(objective)
    if not callable(objective):
        raise TypeError(f"objective must be callable as objective(lr, budget=None, seed=None), "
                        f"got {type(objective).__name__}")
    return objective


def _trial_seeds(seed: int | None, n: int) -> list[int]:
    ss = np.random.SeedSequence(seed)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in ss.spawn(n)]


# ----------------------------------------------------------------------------------------
# searches
# ----------------------------------------------------------------------------------------

def grid_search(objective: _Objective, lrs: Iterable[float], *, executor: Executor | None = None,
                seeds: Sequence[int] | None = None, budget: int | None = None,
                progress: bool | None = None) -> SearchResult:
    """Evaluate ``objective`` at every rate of ``lrs`` (and every seed of ``seeds``).

    Parameters
    ----------
    objective : callable or problem
        ``objective(lr, budget=None, seed=None) -> float``, lower is better (only the
        keywords that are set are passed).  A built-in :mod:`lrcore.problems` problem works
        directly: its score is the loss after ``budget`` steps of gradient descent.
    lrs : iterable of float
        Rates to try, each finite and > 0.
    executor : concurrent.futures.Executor, optional
        Where to run the trials (default: here, serially).
    seeds : sequence of int, optional
        Run every rate once per seed; a rate's score is the mean over its seeds.
    budget : int, optional
        Passed to the objective (e.g. a number of steps).
    progress : bool, optional
        Show a tqdm bar (default: when tqdm is installed and stderr is a terminal).

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> from lrcore.search import grid_search
    >>> res = grid_search(lambda lr: (lr - 0.1) ** 2, [0.01, 0.1, 1.0])
    >>> res.best_lr
    0.1
    """
    obj = _check_objective(objective)
    rates = rate_sequence(lrs)
    if budget is not None:
        budget = integer(budget, "budget", 1)
    if seeds is None:
        trials = [_Trial(obj, lr, budget, None) for lr in rates]
    else:
        seed_list = [integer(s, f"seeds[{i}]", 0) for i, s in enumerate(seeds)]
        if not seed_list:
            raise ValueError("seeds is empty (pass None for unseeded trials)")
        trials = [_Trial(obj, lr, budget, s) for lr in rates for s in seed_list]
    records = _run_trials(trials, executor, progress, "grid_search")
    return SearchResult(records, *_best(records), method="grid")


def random_search(objective: _Objective, low: float, high: float, n: int, *, log: bool = True,
                  seed: int | None = None, executor: Executor | None = None,
                  budget: int | None = None, progress: bool | None = None) -> SearchResult:
    """Evaluate ``objective`` at ``n`` rates drawn uniformly (in log space by default).

    Rates come from ``numpy.random.default_rng(seed)``; trial ``i`` gets its own seed from
    ``numpy.random.SeedSequence(seed).spawn(n)[i]`` (recorded), so the same ``seed`` gives
    the same records on any executor.  Bergstra & Bengio (2012) for why random beats grid
    when few dimensions matter.

    Parameters
    ----------
    objective : callable or problem
        As in :func:`grid_search`; called with ``seed=`` the trial's seed.
    low, high : float
        The range, ``0 < low < high`` (``low > 0`` is needed for ``log=True``).
    n : int
        Number of trials, >= 1.
    log : bool, optional
        Sample ``log(lr)`` uniformly (default) instead of ``lr``.
    seed : int, optional
        Seed of the whole search.
    executor, budget, progress
        As in :func:`grid_search`.

    Examples
    --------
    >>> from lrcore.search import random_search
    >>> res = random_search(lambda lr, seed=None: abs(lr - 0.03), 1e-4, 1.0, 40, seed=0)
    >>> 0.01 < res.best_lr < 0.1
    True
    """
    obj = _check_objective(objective)
    lo, hi = positive(low, "low"), positive(high, "high")
    if not lo < hi:
        raise ValueError(f"low must be < high, got low={lo!r}, high={hi!r}")
    n = integer(n, "n", 1)
    if budget is not None:
        budget = integer(budget, "budget", 1)
    if seed is not None:
        seed = integer(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    if log:
        rates = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    else:
        rates = rng.uniform(lo, hi, n)
    seeds = _trial_seeds(seed, n)
    trials = [_Trial(obj, float(lr), budget, s) for lr, s in zip(rates, seeds)]
    records = _run_trials(trials, executor, progress, "random_search")
    return SearchResult(records, *_best(records), method="random")


def successive_halving(objective: _Objective, lrs: Iterable[float], *, budget: int, eta: int = 3,
                       executor: Executor | None = None, seed: int | None = None,
                       progress: bool | None = None) -> SearchResult:
    """Successive halving: run every rate cheaply, keep the best ``1/eta``, repeat.

    With ``n`` rates, ``s = floor(log_eta(n))`` rounds follow the first; round ``i`` runs
    the survivors with budget ``max(1, round(budget * eta**(i - s)))`` and keeps the best
    ``max(1, floor(n_i / eta))`` (Jamieson & Talwalkar 2016; Li et al. 2018, Hyperband).
    The last round runs at the full ``budget``.  Failed trials rank last.

    Parameters
    ----------
    objective : callable or problem
        ``objective(lr, budget=..., seed=...) -> float``; ``budget`` is an int (e.g. steps).
    lrs : iterable of float
        Candidate rates.
    budget : int
        The largest budget, given to the final round (>= 1).
    eta : int, optional
        Reduction factor, >= 2.
    executor, progress
        As in :func:`grid_search`.
    seed : int, optional
        Seeds the trials (one seed per rate, kept across rounds).

    Returns
    -------
    SearchResult
        Records of every round (``round`` and ``budget`` set); the best is taken from the
        final round.

    Examples
    --------
    >>> from lrcore.search import successive_halving
    >>> f = lambda lr, budget, seed=None: abs(lr - 0.1) + 1.0 / budget
    >>> res = successive_halving(f, [0.001, 0.01, 0.1, 1.0, 3.0, 10.0], budget=9)
    >>> res.best_lr, sorted({r["budget"] for r in res.records})
    (0.1, [3, 9])
    """
    obj = _check_objective(objective)
    rates = rate_sequence(lrs)
    budget = integer(budget, "budget", 1)
    eta = integer(eta, "eta", 2)
    if seed is not None:
        seed = integer(seed, "seed", 0)
    n = len(rates)
    s = 0
    while eta ** (s + 1) <= n:
        s += 1
    seeds = dict(zip(range(n), _trial_seeds(seed, n)))
    alive = list(range(n))
    records: list[_Record] = []
    final: list[_Record] = []
    for i in range(s + 1):
        b = max(1, int(round(budget * float(eta) ** (i - s))))
        trials = [_Trial(obj, rates[k], b, seeds[k], i) for k in alive]
        out = _run_trials(trials, executor, progress, f"successive_halving round {i}")
        records.extend(out)
        final = out
        if i == s:
            break
        keep = max(1, len(alive) // eta)
        order = sorted(range(len(alive)),
                       key=lambda j: (out[j]["status"] != "ok", out[j]["score"], j))
        alive = [alive[j] for j in sorted(order[:keep])]
    return SearchResult(records, *_best(final), method="successive_halving")


# ----------------------------------------------------------------------------------------
# LR range test
# ----------------------------------------------------------------------------------------

_SUGGESTIONS = ("steepest", "valley", "minimum", "curvature")


@dataclass(frozen=True, eq=False)
class RangeTest:
    """Result of :func:`range_test`.

    Attributes
    ----------
    lrs, losses, smoothed : numpy.ndarray
        The rates tried (in order), the raw loss after each step, and its bias-corrected
        exponential moving average.  They end where the test stopped.
    stopped_at : int or None
        Index of the step at which divergence stopped the test (None: ran to the end).
    recommended_lr : float or None
        The curvature-based recommended rate (:func:`lrcore.rates.safe_lr`'s
        ``recommended``) when the tested object is a problem that can give one.
    max_stable_lr : float or None
        The curvature-based largest stable rate (``safe_lr``'s ``max_stable``), likewise.
    method : str
        The optimizer the test ran (:data:`lrcore.rates.METHODS`).
    momentum : float
        Its momentum (Adam's ``beta1``).
    rates : SafeRate or None
        The whole curvature measurement behind the two rates above (its ``where`` says
        where and how the curvature was measured: the problem's global constant, or its
        Hessian where the test starts).
    """

    lrs: NDArray[np.float64]
    losses: NDArray[np.float64]
    smoothed: NDArray[np.float64]
    stopped_at: int | None
    recommended_lr: float | None = None
    max_stable_lr: float | None = None
    method: str = "gd"
    momentum: float = 0.0
    rates: SafeRate | None = None

    @property
    def safe_lr(self) -> float | None:
        """Deprecated alias of :attr:`recommended_lr` (it never held the max stable rate)."""
        warnings.warn("RangeTest.safe_lr is deprecated: it is the recommended rate, now "
                      "RangeTest.recommended_lr (the max stable rate is max_stable_lr)",
                      DeprecationWarning, stacklevel=2)
        return self.recommended_lr

    @property
    def skip(self) -> int:
        """Leading points the ``"steepest"`` suggestion ignores: the first tenth of the
        test, where the moving average has not yet forgotten its start."""
        return max(0, len(self.losses) // 10)

    def suggestion(self, method: str = "steepest") -> float:
        """A suggested learning rate.

        ``"steepest"``: where the smoothed loss falls fastest per unit of ``log(lr)``
        (Smith 2017, "Cyclical learning rates", section 3.3), ignoring the first
        :attr:`skip` points; ``"valley"``: two thirds of the way down the longest run of
        decreasing smoothed loss (fastai's ``valley``); ``"minimum"``: the rate at the
        lowest smoothed loss, divided by 10 (the usual rule of thumb); ``"curvature"``: the
        measured recommended rate, when the tested object is a problem (see
        :attr:`recommended_lr`).
        """
        method = choice(method, "method", _SUGGESTIONS)
        lrs, sm = self.lrs, self.smoothed
        if method == "curvature":
            if self.recommended_lr is None:
                raise ValueError("no curvature suggestion: the tested object is not a problem "
                                 "that can measure its curvature")
            return float(self.recommended_lr)
        finite = np.isfinite(sm)
        k = len(sm) if finite.all() else int(np.argmin(finite))   # first non-finite point
        lrs, sm = lrs[:k], sm[:k]
        if len(lrs) < 3:
            raise ValueError(f"the range test recorded only {len(lrs)} finite points; "
                             "a suggestion needs at least 3")
        end = int(np.argmin(sm)) + 1 if method != "minimum" else len(sm)
        if method == "minimum":
            return float(lrs[int(np.argmin(sm))] / 10.0)
        if method == "steepest":
            lo = min(self.skip, max(0, end - 3))
            seg = sm[lo:end]
            if len(seg) < 2:
                return float(lrs[lo])
            slope = np.gradient(seg, np.log(lrs[lo:end]))
            return float(lrs[lo + int(np.argmin(slope))])
        # valley: the longest run of strictly decreasing smoothed loss
        best_len, best_start, start = 0, 0, 0
        for i in range(1, len(sm)):
            if not sm[i] < sm[i - 1]:
                start = i
            if i - start > best_len:
                best_len, best_start = i - start, start
        if best_len == 0:
            return float(lrs[int(np.argmin(sm))] / 10.0)
        return float(lrs[best_start + int(round(2 * best_len / 3))])

    @property
    def suggestions(self) -> dict[str, float]:
        """Every available suggestion, by method."""
        out = {}
        for m in _SUGGESTIONS:
            try:
                out[m] = self.suggestion(m)
            except ValueError:
                continue
        return out

    @property
    def spread(self) -> float:
        """Decades between the smallest and the largest suggestion (log10 of their ratio)."""
        vals = [v for v in self.suggestions.values() if v > 0]
        if len(vals) < 2:
            return 0.0
        return float(math.log10(max(vals) / min(vals)))

    def plot(self, ax: Any = None) -> Any:
        """Loss against learning rate (log axis), suggestions marked; returns the axes."""
        from lrcore._plotting import axes

        ax = axes(ax, what="RangeTest.plot")
        ax.plot(self.lrs, self.losses, color="0.75", lw=1, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", lw=2, label="smoothed")
        ax.set_xscale("log")
        colors = {"steepest": "C1", "valley": "C2", "minimum": "C3", "curvature": "C4"}
        for m, v in self.suggestions.items():
            ax.axvline(v, color=colors[m], ls="--", lw=1, label=f"{m}: {v:.3g}")
        if self.max_stable_lr is not None:
            ax.axvline(self.max_stable_lr, color="k", lw=1.5,
                       label=f"max stable ({self.method}) {self.max_stable_lr:.3g}")
        fin = self.smoothed[np.isfinite(self.smoothed)]
        if fin.size:
            lo, top = float(fin.min()), float(fin[0])
            span = max(top - lo, 1e-12 * max(abs(top), 1.0))
            ax.set_ylim(lo - 0.1 * span, top + 1.5 * span)   # the descent, not the blow-up
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("LR range test")
        ax.legend(fontsize=8)
        return ax

    def __repr__(self) -> str:
        sug = ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items())
        return (f"RangeTest(points={len(self.lrs)}, lr=[{self.lrs[0]:.3g}, {self.lrs[-1]:.3g}], "
                f"stopped_at={self.stopped_at}, {sug}, spread={self.spread:.2f} decades)")


class _SmoothedLoss:
    """The range test's bias-corrected exponential moving average and divergence test.

    ``a_i = (1-s) a_{i-1} + s l_i``, ``value = a_i / (1 - (1-s)^(i+1))``; :meth:`update`
    feeds one loss and says whether the test should stop (see :func:`range_test`).
    """

    def __init__(self, smooth: float, diverge: float) -> None:
        self.beta, self.smooth, self.diverge = 1.0 - smooth, smooth, diverge
        self.avg, self.best, self.first, self.i = 0.0, math.inf, math.nan, 0
        self.value = math.nan

    def update(self, loss: float) -> bool:
        self.avg = self.beta * self.avg + self.smooth * loss
        self.i += 1
        self.value = self.avg / (1.0 - self.beta ** self.i)
        if not math.isfinite(loss):
            return True
        if self.i == 1:
            self.first = self.value
        if math.isfinite(self.value) and self.value < self.best:
            self.best = self.value
        return self._diverged(self.value)

    def _diverged(self, v: float) -> bool:
        """Divergence test that works for losses of any sign.

        The margin is relative to the loss scale -- the larger of |best| and the
        improvement made so far (first - best) -- instead of the plain ratio
        ``loss > diverge * best`` of the usual implementations, which is meaningless for
        negative losses.
        """
        if not math.isfinite(v):
            return True
        best, first = self.best, self.first
        scale = max(abs(best), first - best, 1e-12 * max(1.0, abs(first)))
        return v - best > (self.diverge - 1.0) * scale


def _smooth(losses: NDArray[np.float64], smooth: float) -> NDArray[np.float64]:
    """The moving average of :class:`_SmoothedLoss` over a whole array."""
    acc = _SmoothedLoss(smooth, math.inf)
    out = np.empty(len(losses))
    for i, v in enumerate(losses):
        acc.update(float(v))
        out[i] = acc.value
    return out


def _rate_grid(start: float, end: float, num: int, mode: str) -> NDArray[np.float64]:
    mode = choice(mode, "mode", ("exp", "linear"))
    if mode == "exp":
        return np.geomspace(start, end, num)
    return np.linspace(start, end, num)


def _first_divergence(losses: NDArray[np.float64], smooth: float, diverge: float) -> int | None:
    acc = _SmoothedLoss(smooth, diverge)
    for i, v in enumerate(losses):
        if acc.update(float(v)):
            return i
    return None


def _user_loss(value: Any, i: int, lr: float) -> float:
    """The loss ``fn.step`` returned, as a float (a number or a 0-d array/tensor)."""
    try:
        return real(value, "loss")
    except TypeError:
        shape = getattr(value, "shape", ())
        got = f"an array of shape {shape}" if shape else type(value).__name__
        raise TypeError(f"fn.step({lr!r}) (point {i}) must return the loss as a number, got "
                        f"{got}") from None


def _range_test_user(obj: Any, lrs: NDArray[np.float64], smooth: float,
                     diverge: float) -> tuple[NDArray[np.float64], int | None]:
    state = obj.snapshot()
    losses: list[float] = []
    stopped = None
    try:
        acc = _SmoothedLoss(smooth, diverge)
        for i, lr in enumerate(lrs):
            loss = _user_loss(obj.step(float(lr)), i, float(lr))
            losses.append(loss)
            if acc.update(loss):
                stopped = i
                break
    finally:
        obj.restore(state)
    return np.asarray(losses, dtype=np.float64), stopped


def _range_test_problem(problem: Problem, lrs: NDArray[np.float64], *, x0: Any, smooth: float,
                        diverge: float, method: str, b: float,
                        seed: Any) -> tuple[NDArray[np.float64], int | None, SafeRate | None]:
    """The LR range test on a problem: one C run with the rates as a schedule."""
    x0 = problem.default_x0() if x0 is None else point(x0, problem.dim, "x0")
    tr = descend(problem, x0, lrs, steps=len(lrs), method=method, momentum=b)
    losses = np.full(len(lrs), np.nan)
    after = tr.losses[1:]                      # the loss after the step taken at lrs[k]
    losses[: len(after)] = after
    if tr.status == "diverged" and len(after) < len(lrs) and not np.isfinite(tr.final_loss):
        # a step whose loss was NaN/Inf is not recorded: mark it (a finite blow-up, the
        # loop's 1e10 guard, is the last recorded loss already)
        losses[len(after)] = np.inf
    stopped = _first_divergence(losses, smooth, diverge)
    n = len(losses) if stopped is None else stopped + 1
    sr = None
    if method != "adam":
        # the global constant where the problem has one, else the Hessian where the test
        # starts; an operator returning NaN/Inf (documented) leaves the rates unmeasured
        try:
            sr = safe_lr(problem, method=method, momentum=b, seed=seed,
                         x=None if problem.global_smoothness else x0)
        except NonFiniteError:
            sr = None
    return losses[:n], stopped, sr


class ProblemObjective:
    """A problem as a search objective: ``obj(lr, budget=None, seed=None)`` is the loss after
    ``budget`` (default ``steps``) steps of ``method`` at rate ``lr`` from ``x0`` (default:
    the problem's :meth:`~lrcore.problems.Problem.default_x0`), NaN when the run diverges.
    Picklable when the problem is (every built-in problem is), so it runs on any executor.

    Parameters
    ----------
    problem : lrcore.problems.Problem
    steps : int
        Steps per trial when the search passes no ``budget``.
    method, momentum
        As in :func:`lrcore.stability.descend`.
    x0 : array_like, optional
        The start of every trial.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.problems import Quadratic
    >>> from lrcore.search import ProblemObjective, grid_search
    >>> obj = ProblemObjective(Quadratic(np.diag([1.0, 10.0])), steps=50)
    >>> grid_search(obj, [0.01, 0.1, 0.3]).best_lr
    0.1
    """

    def __init__(self, problem: Problem, *, steps: int = 100, method: str = "gd",
                 momentum: float | None = None, x0: Any = None) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be an lrcore.problems.Problem, got "
                            f"{type(problem).__name__}")
        self.problem = problem
        self.steps = integer(steps, "steps", 1)
        self.method, self.momentum = optimizer_method(method, momentum)
        self.x0 = None if x0 is None else point(x0, problem.dim, "x0")

    def __call__(self, lr: float, budget: int | None = None, seed: int | None = None) -> float:
        steps = self.steps if budget is None else integer(budget, "budget", 1)
        x0 = self.problem.default_x0() if self.x0 is None else self.x0
        tr = descend(self.problem, x0, lr, steps=steps, method=self.method,
                     momentum=self.momentum)
        return math.nan if tr.status == "diverged" else float(tr.losses[-1])

    def __repr__(self) -> str:
        return (f"ProblemObjective({self.problem!r}, steps={self.steps}, "
                f"method={self.method!r}, momentum={self.momentum})")


def range_test(fn: Any, *, x0: Any = None, start: float = 1e-7, end: float = 10.0,
               num: int = 100, mode: str = "exp", smooth: float = 0.05, diverge: float = 5.0,
               method: str | None = None, momentum: float | None = None,
               seed: Any = None, optimizer: str | None = None) -> RangeTest:
    """The learning-rate range test (Smith 2017; popularised by fastai's ``lr_find``).

    Takes one optimizer step at each rate of an increasing sequence from ``start`` to
    ``end`` and records the loss after it, stopping early when the (smoothed) loss
    diverges.  The loss is smoothed with a bias-corrected exponential moving average
    :math:`a_i = (1-s)a_{i-1} + s\\,\\ell_i`, :math:`\\bar\\ell_i = a_i/(1-(1-s)^{i+1})`.
    The test stops when :math:`\\bar\\ell_i - \\ell^* > (d - 1)\\max(|\\ell^*|,\\,
    \\bar\\ell_0 - \\ell^*)` (:math:`\\ell^*` the best smoothed loss, :math:`d` = ``diverge``)
    or the loss is not finite: a margin relative to the loss scale, so it works for
    negative losses where the usual ratio test ``loss > d * best`` does not.

    Parameters
    ----------
    fn : Problem or object
        A :mod:`lrcore.problems` problem (the whole test is one C run of ``method`` from
        ``x0``, and the result carries the curvature-based rates), or the user's object
        with ``step(lr) -> loss`` (one optimizer step at rate ``lr``, returning the loss
        as a number), ``snapshot()`` (returns its state) and ``restore(state)``.  Its
        state is restored exactly after the test, even when the test stops early or
        ``step`` raises (the exception then propagates).
    x0 : array_like, optional
        Problems only: the starting point (default: the problem's ``default_x0()``).
    start, end : float
        Range of rates, ``0 < start < end``.
    num : int
        Number of rates (>= 2).
    mode : {"exp", "linear"}
        Geometric (default) or linear spacing.
    smooth : float
        Weight of the newest loss in the moving average, in (0, 1].
    diverge : float
        Divergence factor ``d > 1`` (see above).
    method : {"gd", "heavy_ball", "nesterov", "adam"}, optional
        Problems only: the optimizer, as in :func:`lrcore.stability.descend` (default
        ``"gd"``).
    momentum : float, optional
        Problems only: its momentum (Adam's ``beta1``; default 0.9 for Adam, else 0).
    seed : int or numpy.random.Generator, optional
        Problems only: seeds the random start of the curvature measurement.
    optimizer : str, optional
        Deprecated spelling of ``method`` (``"sgd"``, ``"momentum"`` = heavy ball with
        momentum 0.9, ...).

    Returns
    -------
    RangeTest

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.search import range_test
    >>> class Quad:                      # f(w) = 2 w^2, so L = 4 and GD diverges at lr > 0.5
    ...     def __init__(self): self.w = np.array([1.0])
    ...     def step(self, lr):
    ...         self.w -= lr * 4 * self.w
    ...         return float(2 * self.w @ self.w)
    ...     def snapshot(self): return self.w.copy()
    ...     def restore(self, s): self.w[:] = s
    >>> q = Quad()
    >>> rt = range_test(q, start=1e-4, end=10.0, num=60)
    >>> rt.stopped_at is not None, float(q.w[0])      # stopped on divergence, state restored
    (True, 1.0)
    >>> rt.suggestion("steepest") < 0.5
    True
    """
    lo, hi = positive(start, "start"), positive(end, "end")
    if not lo < hi:
        raise ValueError(f"start must be < end, got start={lo!r}, end={hi!r}")
    num = integer(num, "num", 2)
    smooth = unit_interval(smooth, "smooth", lo_open=True, hi_open=False)
    diverge = positive(diverge, "diverge")
    if not diverge > 1.0:
        raise ValueError(f"diverge must be a finite number > 1, got {diverge!r}")
    lrs = _rate_grid(lo, hi, num, mode)
    method, momentum = legacy_optimizer(optimizer, method, momentum, "range_test")
    if isinstance(fn, Problem):
        m, b = optimizer_method("gd" if method is None else method, momentum)
        losses, stopped, sr = _range_test_problem(fn, lrs, x0=x0, smooth=smooth,
                                                  diverge=diverge, method=m, b=b, seed=seed)
        rec = None if sr is None else sr.recommended
        mx = None if sr is None else sr.max_stable
        rates = sr
    else:
        for attr in ("step", "snapshot", "restore"):
            if not callable(getattr(fn, attr, None)):
                raise TypeError(
                    "fn must be an lrcore problem or an object with step(lr) -> loss, "
                    f"snapshot() and restore(state); {type(fn).__name__} has no {attr}()")
        for name, v in (("x0", x0), ("method", method), ("momentum", momentum),
                        ("seed", seed)):
            if v is not None:
                raise ValueError(f"{name} applies to problems only; an object with step(lr) "
                                 "runs its own optimizer")
        m, b = "gd", 0.0
        losses, stopped = _range_test_user(fn, lrs, smooth, diverge)
        rec = mx = rates = None
    n = len(losses)
    return RangeTest(lrs=lrs[:n], losses=losses, smoothed=_smooth(losses, smooth),
                     stopped_at=stopped, recommended_lr=rec, max_stable_lr=mx, method=m,
                     momentum=b, rates=rates)
