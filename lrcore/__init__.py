"""lrcore: learning rates by measurement.

Curvature (the largest Hessian eigenvalue) turned into the largest stable learning rate,
stability checks, schedules, learning-rate search, and fused optimizer update kernels, with
the hot loops in C and a thin typed Python layer over numpy arrays.
"""
from __future__ import annotations

from lrcore._core import (
    ConvergenceWarning,
    NonFiniteError,
    get_num_threads,
    openmp_threshold,
    set_num_threads,
)
from lrcore import curvature, datasets, optim, problems, rates, schedules, search, stability
from lrcore.curvature import EigResult, hvp_operator, top_eigenvalue
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic
from lrcore.rates import SafeRate, max_stable_lr, optimal_lr, safe_lr
from lrcore.stability import check_stability, descend, stability_boundary, sweep
from lrcore.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    adagrad_step,
    adam_step,
    momentum_step,
    rmsprop_step,
    sgd_step,
)
from lrcore.schedules import ReduceOnPlateau, Schedule
from lrcore.search import (
    ProblemObjective,
    grid_search,
    random_search,
    range_test,
    successive_halving,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ConvergenceWarning",
    "NonFiniteError",
    "get_num_threads",
    "openmp_threshold",
    "set_num_threads",
    "curvature",
    "problems",
    "rates",
    "stability",
    "EigResult",
    "hvp_operator",
    "top_eigenvalue",
    "LeastSquares",
    "Logistic",
    "Problem",
    "Quadratic",
    "SafeRate",
    "max_stable_lr",
    "optimal_lr",
    "safe_lr",
    "check_stability",
    "descend",
    "stability_boundary",
    "sweep",
    "datasets",
    "optim",
    "schedules",
    "search",
    "Schedule",
    "ReduceOnPlateau",
    "ProblemObjective",
    "grid_search",
    "random_search",
    "range_test",
    "successive_halving",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "RMSprop",
    "adagrad_step",
    "adam_step",
    "momentum_step",
    "rmsprop_step",
    "sgd_step",
]
