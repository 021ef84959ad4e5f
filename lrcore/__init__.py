"""lrcore: learning rates by measurement.

Curvature (the largest Hessian eigenvalue) turned into the largest stable learning rate,
stability checks, schedules, step-size rules that adapt during the run (line searches,
Polyak, Barzilai-Borwein, AdGD, DoG, D-Adaptation, Prodigy, schedule-free, curvature
tracking), learning-rate search, and fused optimizer update kernels, with the hot loops in
C and a thin typed Python layer over numpy arrays.
"""
from __future__ import annotations

import os as _os

from lrcore._core import (
    C_API_VERSION,
    ConvergenceWarning,
    NonFiniteError,
    get_num_threads,
    openmp_threshold,
    set_num_threads,
)
from lrcore import (
    adaptive,
    curvature,
    datasets,
    optim,
    problems,
    rates,
    schedules,
    search,
    stability,
)
from lrcore.curvature import EigResult, hvp_operator, top_eigenvalue
from lrcore.problems import LeastSquares, Logistic, Problem, Quadratic, Softmax
from lrcore.rates import CertificationWarning, SafeRate, max_stable_lr, optimal_lr, safe_lr
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
#: Version of the C-level API (lrcore.h's LRCORE_C_API_VERSION, the C_API_VERSION of
#: lrcore/cython_api.pxd); a compiled consumer compares it with the value it was built with.
__c_api_version__ = C_API_VERSION


def get_include() -> str:
    """The directory holding ``lrcore.h``, the header of lrcore's C API.

    For extensions that use lrcore from C (``#include "lrcore.h"``) or that want the
    header's constants; Cython code needs no header (``from lrcore.cython_api cimport
    ...``).  Works for an installed package and for an in-place build alike.

    Examples
    --------
    >>> import os, lrcore
    >>> os.path.isfile(os.path.join(lrcore.get_include(), "lrcore.h"))
    True
    """
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


__all__ = [
    "__version__",
    "C_API_VERSION",
    "get_include",
    "ConvergenceWarning",
    "NonFiniteError",
    "get_num_threads",
    "openmp_threshold",
    "set_num_threads",
    "adaptive",
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
    "Softmax",
    "SafeRate",
    "CertificationWarning",
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
