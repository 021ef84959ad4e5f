# Type stubs for the compiled binding module lrcore._core: every name it defines, the
# underscore-prefixed ones (package-internal API of lrcore's own modules, tests and
# benchmarks) included.  Checked by `python -m mypy.stubtest lrcore._core` (see
# tests/test_stubs.py for the exact command; tests/stubtest_allowlist.txt lists the
# Cython-generated names that are deliberately not typed here).
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, Protocol, SupportsFloat, TypedDict, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from typing_extensions import Buffer, NotRequired, Self, disjoint_base

_Float = NDArray[np.float32] | NDArray[np.float64]
_F64 = NDArray[np.float64]
_Policy = Literal["raise", "skip", "unchecked"]
# descend's method: "gd", "heavy_ball", "nesterov" or "adam" (checked at run time, so
# callers holding a plain str need not narrow it)
_Method = str
_Outcome = Literal["completed", "converged", "diverged", "stopped"]
# (x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome), and with trace=True
# the per-record traces (rates, lambdas, n_evals, n_hvps, events, reason, totals)
_DescendResult = tuple[_F64, _F64, _F64, int, float, float, _Outcome]
_DescendTraced = tuple[_F64, _F64, _F64, int, float, float, _Outcome, dict[str, Any]]

#: Version of the C-level API (LRCORE_C_API_VERSION of lrcore.h, C_API_VERSION of
#: lrcore/cython_api.pxd).
C_API_VERSION: Final[int]

class NonFiniteError(ValueError, FloatingPointError): ...
class ConvergenceWarning(RuntimeWarning): ...

def status_string(status: int) -> str: ...

# ---- threads ------------------------------------------------------------------------------
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def openmp_threshold() -> int: ...

# ---- update kernels (_update.pxi) ---------------------------------------------------------
_EPS_WHY: str

class _DLPackArray(Protocol):
    # what numpy.from_dlpack takes: torch tensors, other libraries' arrays
    def __dlpack__(self, *, stream: Any = None) -> Any: ...
    def __dlpack_device__(self) -> tuple[int, int]: ...

# an array the update kernels take without a copy (torch tensors are _DLPackArray)
_Array = _Float | _DLPackArray | Buffer

def float_view(a: _Array, name: str = "a", *, writable: bool = False) -> _Float: ...
def overlapping_pair(first: list[NDArray[Any]],
                     second: list[NDArray[Any]] | None = None) -> tuple[int, int] | None: ...
def all_finite(a: _Array) -> bool: ...
def mark_written(*arrays: object) -> None: ...
def sgd_step(x: _Array, g: _Array, lr: float, *, weight_decay: float = 0.0,
             maximize: bool = False, nonfinite: _Policy = "raise") -> bool: ...
def momentum_step(x: _Array, g: _Array, buf: _Array, lr: float, momentum: float, *,
                  nesterov: bool = False, dampening: float = 0.0, weight_decay: float = 0.0,
                  first_step: bool = False, maximize: bool = False,
                  nonfinite: _Policy = "raise") -> bool: ...
def adam_step(x: _Array, g: _Array, m: _Array, v: _Array, step: int, lr: float, *,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08,
              weight_decay: float = 0.0, decoupled: bool = False, amsgrad: bool = False,
              vmax: _Array | None = None, maximize: bool = False,
              nonfinite: _Policy = "raise") -> bool: ...
def rmsprop_step(x: _Array, g: _Array, square_avg: _Array, lr: float, *, alpha: float = 0.99,
                 eps: float = 1e-08, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, grad_avg: _Array | None = None,
                 buf: _Array | None = None, maximize: bool = False,
                 nonfinite: _Policy = "raise") -> bool: ...
def adagrad_step(x: _Array, g: _Array, sum_sq: _Array, step: int, lr: float, *,
                 lr_decay: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0,
                 maximize: bool = False, nonfinite: _Policy = "raise") -> bool: ...
def _stream_4r3w(a: _Float, b: _Float, c: _Float, d: _Float) -> None: ...

# ---- eigen-solvers and mat-vecs (_eigen.pxi) -----------------------------------------------
class _EigResultDict(TypedDict):
    """What the _eig_* drivers return (lrcore.curvature turns it into an EigResult)."""
    converged: bool
    value: float
    vector: _F64
    residual: float
    n_matvec: int
    anorm: float
    asym: float
    n_restarts: int
    method: Literal["lanczos", "power"]
    mode: Literal["full", "low-memory"]
    workspace_bytes: int
    # low-memory Lanczos only
    regen_defect: NotRequired[float]
    # Lanczos only (both modes)
    d_final: NotRequired[_F64]
    e_final: NotRequired[_F64]
    beta_final: NotRequired[float]
    d_first: NotRequired[_F64]
    e_first: NotRequired[_F64]
    beta_first: NotRequired[float]
    # power iteration only
    power_k1: NotRequired[int]
    power_theta1: NotRequired[float]
    power_ynorm1: NotRequired[float]
    power_shift: NotRequired[float]
    power_pair: NotRequired[bool]

@disjoint_base
class _EigRun:
    """One eigen-solve's C state (no Python-level methods)."""

def eig_dense(A: _Float, *, which: str, method: str, ncv: int, tol: float, maxiter: int,
               v0: ArrayLike | None, v0_mix: float, seed: int, minmv: int = 0,
               kernel: Literal["c", "blas"] = "c",
               mode: Literal["full", "low-memory"] = "full") -> _EigResultDict: ...
def eig_csr(indptr: NDArray[np.int32] | NDArray[np.int64],
             indices: NDArray[np.int32] | NDArray[np.int64], data: _Float, n: int, *,
             which: str, method: str, ncv: int, tol: float, maxiter: int,
             v0: ArrayLike | None, v0_mix: float, seed: int,
             minmv: int = 0,
             mode: Literal["full", "low-memory"] = "full") -> _EigResultDict: ...
def eig_callable(matvec: Callable[[NDArray[Any]], ArrayLike], n: int, dtype: DTypeLike, *,
                  which: str, method: str, ncv: int, tol: float, maxiter: int,
                  v0: ArrayLike | None, v0_mix: float, seed: int, minmv: int = 0,
                  name: str = "A",
                  mode: Literal["full", "low-memory"] = "full") -> _EigResultDict: ...
def eig_workspace_bytes(n: int, *, method: str = "lanczos", ncv: int = 32,
                        mode: Literal["full", "low-memory"] = "full") -> int: ...
def _symv(A: _Float, x: ArrayLike, *, kernel: Literal["c", "blas"] = "c") -> _F64: ...
def _csrmv(indptr: NDArray[np.int32] | NDArray[np.int64],
           indices: NDArray[np.int32] | NDArray[np.int64], data: _Float, n: int,
           x: ArrayLike) -> _F64: ...
def symstats(A: _Float) -> tuple[float, float, float, float]: ...
def csrstats(indptr: NDArray[np.int32] | NDArray[np.int64],
              indices: NDArray[np.int32] | NDArray[np.int64], data: _Float,
              n: int) -> tuple[float, float, float, float]: ...
def _stream_sum(a: ArrayLike) -> float: ...
def tridiag_eig(d: ArrayLike, e: ArrayLike, vectors: bool = True) -> tuple[_F64, _F64]: ...

# ---- schedules (_schedule.pxi) -------------------------------------------------------------
SCHED_C: dict[str, int]

@disjoint_base
class _Program:
    """A validated C schedule program (no Python-level methods)."""

@disjoint_base
class ScheduleBase:
    """C side of lrcore.schedules.Schedule; subclasses provide ``_program()``."""
    @overload
    def __call__(self, t: int | np.integer[Any]) -> float: ...
    @overload
    def __call__(self, t: NDArray[np.integer[Any]] | Sequence[int]) -> _F64: ...
    def _call_general(self, t: Any) -> float | _F64: ...
    def _eval_error(self, st: int, t: Any, v: Any) -> Exception: ...

def _sched_eval_program(nodes: Sequence[tuple[Any, ...]], ints: Sequence[int],
                        reals: Sequence[float], steps: ArrayLike) -> _F64: ...
def _sinpi(x: ArrayLike) -> _F64: ...
def _cos_anneal(x: ArrayLike) -> _F64: ...

# ---- built-in problems (_problems.pxi) ----------------------------------------------------
@disjoint_base
class CProblem:
    def __new__(cls, kind: int, A: ArrayLike | None = None, b: ArrayLike | None = None,
                X: ArrayLike | None = None, y: ArrayLike | None = None,
                l2: float = 0.0,
                csr: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
                n_features: int = -1, n_classes: int = 0, nthreads: int = 0) -> Self: ...
    @property
    def dim(self) -> int: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_classes(self) -> int: ...
    @property
    def kind(self) -> int: ...
    @property
    def design(self) -> int: ...
    @property
    def nthreads(self) -> int: ...
    def value(self, w: ArrayLike) -> float: ...
    def value_and_grad(self, w: ArrayLike) -> tuple[float, _F64]: ...
    def hvp(self, w: ArrayLike, v: ArrayLike) -> _F64: ...
    def gram(self, v: ArrayLike) -> _F64: ...
    @overload
    def descend(self, x0: ArrayLike, lrs: ArrayLike, steps: int, method: _Method,
                momentum: float, beta2: float, eps: float, tol: float, blowup: float,
                record_every: int, rule: RuleBase | None = None,
                overrides: dict[str, Any] | None = None,
                trace: Literal[False] = False) -> _DescendResult: ...
    @overload
    def descend(self, x0: ArrayLike, lrs: ArrayLike, steps: int, method: _Method,
                momentum: float, beta2: float, eps: float, tol: float, blowup: float,
                record_every: int, rule: RuleBase | None, overrides: dict[str, Any] | None,
                trace: Literal[True]) -> _DescendTraced: ...
    def __reduce__(self) -> tuple[type[CProblem], tuple[Any, ...]]: ...

METHOD_CODES: dict[str, int]
def _set_pause_seconds(seconds: float) -> float: ...
# ---- the descend machine and step-size rules (_descend.pxi) ---------------------------------
_METHODS: dict[str, int]
_OUTCOMES: dict[int, str]
_REASONS: dict[int, str | None]
RULE_KINDS: dict[str, int]
METHOD_RULES: tuple[str, ...]
MACHINE_RULES: tuple[str, ...]
EVENTS: tuple[str, ...]

@disjoint_base
class _DescendRun:
    """One run of the C descend machine (no Python-level methods)."""

@disjoint_base
class RuleBase:
    """C side of lrcore.adaptive.Rule."""
    def __init__(self, name: str, params: Any) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def needs_machine(self) -> bool: ...
    @property
    def changes_iterates(self) -> bool: ...

@disjoint_base
class RuleStepper:
    def __init__(self, rule: RuleBase, x0: ArrayLike) -> None: ...
    @property
    def n(self) -> int: ...
    @property
    def rule(self) -> RuleBase: ...
    def step(self, x: _F64, g: _F64, f: SupportsFloat | None = None) -> float: ...
    def eval_point(self, x: _F64) -> _F64: ...
    @property
    def lr(self) -> float: ...
    @property
    def event(self) -> str: ...
    @property
    def t(self) -> int: ...
    _SCALARS: tuple[str, ...]
    _NONNEG: tuple[str, ...]
    def get_state(self) -> dict[str, Any]: ...
    def set_state(self, d: dict[str, Any]) -> None: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@overload
def descend_callable(value_and_grad: Callable[[_F64], tuple[SupportsFloat, ArrayLike]],
                     x0: ArrayLike, lrs: ArrayLike, steps: int, method: _Method,
                     momentum: float, beta2: float, eps: float, tol: float, blowup: float,
                     record_every: int, rule: RuleBase | None = None,
                     overrides: dict[str, Any] | None = None,
                     hvp: Callable[[_F64, _F64], ArrayLike] | None = None,
                     trace: Literal[False] = False) -> _DescendResult: ...
@overload
def descend_callable(value_and_grad: Callable[[_F64], tuple[SupportsFloat, ArrayLike]],
                     x0: ArrayLike, lrs: ArrayLike, steps: int, method: _Method,
                     momentum: float, beta2: float, eps: float, tol: float, blowup: float,
                     record_every: int, rule: RuleBase | None,
                     overrides: dict[str, Any] | None,
                     hvp: Callable[[_F64, _F64], ArrayLike] | None,
                     trace: Literal[True]) -> _DescendTraced: ...


# ---- text parsers: lrcore/_parse.pxi over csrc/parse.c (used by lrcore.datasets) -------
# error tuples: (line, field, start, end, a, b) as lrc_parse_error in csrc/parse.h
_ParseError = tuple[int, int, int, int, int, int]

PARSE_STATUS: dict[str, int]
PARSE_SVM_MAX_INDEX: int
def parse_number(s: bytes) -> tuple[int, float]: ...
def parse_count_lines(buf: bytes, start: int = ...) -> int: ...
def parse_csv(buf: bytes, start: int, first_line: int, delim: str, colmap: NDArray[np.int64],
              X: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[int, int, _ParseError]: ...
def parse_svmlight_scan(buf: bytes, start: int, zero_based: bool | Literal["auto"]
                        ) -> tuple[int, tuple[int, int, int, int, int], _ParseError]: ...
def parse_svmlight_fill(buf: bytes, start: int, zero_based: bool | Literal["auto"],
                        offset: int, n_features: int, y: NDArray[np.float64],
                        indptr: NDArray[np.int32] | NDArray[np.int64],
                        indices: NDArray[np.int32] | NDArray[np.int64],
                        data: NDArray[np.float64]) -> tuple[int, _ParseError]: ...
# ---- end of text parsers --------------------------------------------------------------
