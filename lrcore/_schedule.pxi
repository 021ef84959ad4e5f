# _schedule.pxi -- bindings of csrc/schedule.c (vectorized closed-form schedule programs).
# Included by _core.pyx.  The Python API is lrcore/schedules.py: a Schedule subclasses
# ScheduleBase below, which owns the compiled C program and the scalar/vector call paths.

from libc.stdint cimport int32_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from libc.math cimport NAN
from cpython.long cimport PyLong_CheckExact, PyLong_AsLongLong

cdef extern from "lrcore.h" nogil:
    ctypedef struct lrc_sched_node:
        int32_t kind
        int32_t mode
        int32_t child[2]
        int64_t n[4]
        double p[6]
    ctypedef struct lrc_sched_program:
        const lrc_sched_node *nodes
        int32_t n_nodes
        const int64_t *ints
        int64_t n_ints
        const double *reals
        int64_t n_reals
    int LRC_SCHED_CONSTANT
    int LRC_SCHED_STEP
    int LRC_SCHED_PIECEWISE_CONST
    int LRC_SCHED_EXPONENTIAL
    int LRC_SCHED_INVERSE_TIME
    int LRC_SCHED_INVERSE_SQRT
    int LRC_SCHED_POLYNOMIAL
    int LRC_SCHED_LINEAR
    int LRC_SCHED_COSINE
    int LRC_SCHED_SQRT_DECAY
    int LRC_SCHED_COSINE_RESTARTS
    int LRC_SCHED_CYCLIC
    int LRC_SCHED_INTERP
    int LRC_SCHED_JOIN
    int LRC_SCHED_WARMUP
    int LRC_SCHED_SCALE
    int LRC_SCHED_PRODUCT
    int LRC_SCHED_CLIP
    int LRC_SCHED_MAX_DEPTH
    int64_t LRC_SCHED_MAX_LEN
    int lrc_sched_check(const lrc_sched_program *prog, int32_t *bad_node)
    int lrc_sched_eval(const lrc_sched_program *prog, const int64_t *steps, double *out,
                       ptrdiff_t n, int nthreads)

cdef extern from "internal.h" nogil:
    double lrci_sinpi(double x)
    double lrci_cos_anneal(double x)


#: node kind codes and limits of csrc/schedule.c, for lrcore.schedules' compiler
SCHED_C = {
    "constant": LRC_SCHED_CONSTANT, "step": LRC_SCHED_STEP,
    "piecewise_const": LRC_SCHED_PIECEWISE_CONST, "exponential": LRC_SCHED_EXPONENTIAL,
    "inverse_time": LRC_SCHED_INVERSE_TIME, "inverse_sqrt": LRC_SCHED_INVERSE_SQRT,
    "polynomial": LRC_SCHED_POLYNOMIAL, "linear": LRC_SCHED_LINEAR,
    "cosine": LRC_SCHED_COSINE, "sqrt_decay": LRC_SCHED_SQRT_DECAY,
    "cosine_restarts": LRC_SCHED_COSINE_RESTARTS, "cyclic": LRC_SCHED_CYCLIC,
    "interp": LRC_SCHED_INTERP, "join": LRC_SCHED_JOIN, "warmup": LRC_SCHED_WARMUP,
    "scale": LRC_SCHED_SCALE, "product": LRC_SCHED_PRODUCT, "clip": LRC_SCHED_CLIP,
    "MAX_DEPTH": LRC_SCHED_MAX_DEPTH, "MAX_LEN": LRC_SCHED_MAX_LEN,
}

# arrays at least this long are evaluated with the GIL released
cdef Py_ssize_t _SCHED_NOGIL_N = 2048


cdef class _Program:
    """A validated C schedule program (owns its memory)."""
    cdef lrc_sched_program prog
    cdef lrc_sched_node *nodes
    cdef int64_t *ints
    cdef double *reals

    def __dealloc__(self):
        free(self.nodes)
        free(self.ints)
        free(self.reals)


cdef _Program _sched_build(list nodes, list ints, list reals):
    """Copy (kind, mode, (c0, c1), n[4], p[6]) tuples and the shared arrays into C memory,
    then validate with lrc_sched_check.  The Python compiler produces valid programs; a
    failure here is an internal error."""
    cdef _Program P = _Program.__new__(_Program)
    cdef Py_ssize_t nn = len(nodes), ni = len(ints), nr = len(reals), k, j
    if nn < 1 or nn > 0x7fffffff:
        raise ValueError(f"a schedule program needs 1 to 2**31-1 nodes, got {nn}")
    P.nodes = <lrc_sched_node *>malloc(nn * sizeof(lrc_sched_node))
    P.ints = <int64_t *>malloc((ni if ni > 0 else 1) * sizeof(int64_t))
    P.reals = <double *>malloc((nr if nr > 0 else 1) * sizeof(double))
    if P.nodes == NULL or P.ints == NULL or P.reals == NULL:
        raise MemoryError("schedule program")
    memset(P.nodes, 0, nn * sizeof(lrc_sched_node))
    for k in range(nn):
        kind, mode, kids, nums, reals_k = nodes[k]
        P.nodes[k].kind = kind
        P.nodes[k].mode = mode
        P.nodes[k].child[0] = kids[0]
        P.nodes[k].child[1] = kids[1]
        for j in range(4):
            P.nodes[k].n[j] = nums[j]
        for j in range(6):
            P.nodes[k].p[j] = reals_k[j]
    for k in range(ni):
        P.ints[k] = ints[k]
    for k in range(nr):
        P.reals[k] = reals[k]
    P.prog.nodes = P.nodes
    P.prog.n_nodes = <int32_t>nn
    P.prog.ints = P.ints
    P.prog.n_ints = ni
    P.prog.reals = P.reals
    P.prog.n_reals = nr
    cdef int32_t bad = -1
    cdef int st = lrc_sched_check(&P.prog, &bad)
    if st != LRC_OK:
        if st == LRC_ENOMEM:
            raise MemoryError("schedule program check")
        raise ValueError(f"invalid schedule program (node {bad} of {nn}): "
                         f"{nodes[bad] if 0 <= bad < nn else 'program header'}")
    return P


cdef class ScheduleBase:
    """C side of :class:`lrcore.schedules.Schedule`: the compiled program (built lazily
    from ``self._program()`` on first use) and the scalar and array call paths."""
    cdef _Program _prog

    cdef _Program _compiled(self):
        if self._prog is None:
            nodes, ints, reals = self._program()
            self._prog = _sched_build(nodes, ints, reals)
        return self._prog

    def __call__(self, t):
        """Learning rate after ``t`` optimizer steps: a float for an int ``t``, a float64
        array of the same shape for an integer array of steps (C fast path)."""
        cdef int64_t tt
        cdef double v
        cdef int st
        cdef _Program P
        if PyLong_CheckExact(t):
            try:
                tt = PyLong_AsLongLong(t)
            except OverflowError:
                raise ValueError(f"t must be < 2**63, got {t}") from None
            if tt < 0:
                raise ValueError(f"t must be >= 0 (the number of optimizer steps taken), got {tt}")
            P = self._prog if self._prog is not None else self._compiled()
            st = lrc_sched_eval(&P.prog, &tt, &v, 1, 1)
            if st == LRC_OK:
                return v
            raise self._eval_error(st, t, v)
        return self._call_general(t)

    def _call_general(self, t):
        if isinstance(t, (bool, np.bool_)):
            raise TypeError("t must be an integer step count or an integer array, got bool")
        if isinstance(t, (int, np.integer)):
            return self(int(t))
        if isinstance(t, (float, np.floating)):
            raise TypeError(f"t must be an integer step count (steps are int64, never float), "
                            f"got {type(t).__name__}")
        a = np.asarray(t)
        if a.dtype.kind not in "iu":
            raise TypeError(f"steps must be an integer array (int64 step counts), got dtype {a.dtype}")
        if a.dtype.kind == "u" and a.size and a.itemsize >= 8 and int(a.max()) > 0x7fffffffffffffff:
            raise ValueError("steps must be < 2**63")
        cdef cnp.ndarray S = np.asarray(a, dtype=np.int64, order="C")  # keeps 0-d shape
        cdef cnp.ndarray out = np.empty((<object>S).shape, dtype=np.float64)
        cdef Py_ssize_t n = cnp.PyArray_SIZE(S)
        cdef _Program P = self._compiled()
        cdef const int64_t *ps = <const int64_t *>cnp.PyArray_DATA(S)
        cdef double *po = <double *>cnp.PyArray_DATA(out)
        cdef int st, nt = _nthreads
        if n >= _SCHED_NOGIL_N:
            with nogil:
                st = lrc_sched_eval(&P.prog, ps, po, n, nt)
        else:
            st = lrc_sched_eval(&P.prog, ps, po, n, nt)
        if st == LRC_OK:
            return out
        if st == LRC_EINVAL:
            flat = S.reshape(-1)
            i = int(np.flatnonzero(flat < 0)[0])
            raise ValueError(f"steps must be >= 0 (the number of optimizer steps taken); "
                             f"steps.flat[{i}] = {int(flat[i])}")
        if st == LRC_NONFINITE:
            flat = out.reshape(-1)
            i = int(np.flatnonzero(~np.isfinite(flat))[0])
            raise self._eval_error(st, int(S.reshape(-1)[i]), float(flat[i]))
        raise _status_error(st, repr(self))

    def _eval_error(self, int st, t, v):
        if st == LRC_NONFINITE:
            return NonFiniteError(
                f"{self!r} at t={t} is {v!r}: the rate overflowed (bound it, e.g. with "
                f"exponential(..., ceiling=...) or clip(...))")
        return _status_error(st, f"{self!r} at t={t}")


def _sched_eval_program(nodes, ints, reals, steps):
    """Evaluate a raw program (for tests of the C validator): returns float64 values."""
    cdef _Program P = _sched_build(list(nodes), list(ints), list(reals))
    cdef cnp.ndarray S = np.ascontiguousarray(steps, dtype=np.int64)
    cdef cnp.ndarray out = np.empty((<object>S).shape, dtype=np.float64)
    cdef int st = lrc_sched_eval(&P.prog, <const int64_t *>cnp.PyArray_DATA(S),
                                 <double *>cnp.PyArray_DATA(out), cnp.PyArray_SIZE(S), _nthreads)
    if st != LRC_OK:
        raise _status_error(st, "schedule program")
    return out


def _sinpi(x):
    """sin(pi x) by the kernel of the cosine family (exact reduction), elementwise."""
    a = np.asarray(x, dtype=np.float64)
    return np.vectorize(lambda v: lrci_sinpi(v), otypes=[np.float64])(a)


def _cos_anneal(x):
    """(1 + cos(pi x)) / 2 as computed by the cosine schedules, elementwise."""
    a = np.asarray(x, dtype=np.float64)
    return np.vectorize(lambda v: lrci_cos_anneal(v), otypes=[np.float64])(a)


# ---- C-level API (declared in _core.pxd) ------------------------------------------------

cdef const void *schedule_program(object schedule) except NULL:
    if not isinstance(schedule, ScheduleBase):
        raise TypeError(f"schedule must be an lrcore.schedules.Schedule, got {type(schedule).__name__}")
    cdef _Program P = (<ScheduleBase>schedule)._compiled()
    return <const void *>&P.prog

cdef int schedule_eval(const void *program, const int64_t *steps, double *out, Py_ssize_t n,
                       int nthreads) noexcept nogil:
    return lrc_sched_eval(<const lrc_sched_program *>program, steps, out, n, nthreads)

cdef double schedule_value(const void *program, int64_t t) noexcept nogil:
    cdef double v
    if lrc_sched_eval(<const lrc_sched_program *>program, &t, &v, 1, 1) != LRC_OK:
        return NAN
    return v
