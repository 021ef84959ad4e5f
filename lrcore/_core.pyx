# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""lrcore._core -- the one binding module between the C core (csrc/) and Python.

Every public function follows the same three steps:

1. coerce and validate with the GIL held (dtype, shape, contiguity, writability,
   aliasing, finite scalars) -- nothing is touched before this is done;
2. call the C kernel inside ``with nogil:``;
3. map the C status code to a Python exception naming the offending argument.

The C-level API for other Cython projects is declared in ``_core.pxd`` and published,
versioned, by ``lrcore/cython_api.pxd``.  The code is split by concern into ``_*.pxi``
files that are textually included below.

Long C loops (the built-in problems' descend, the dense and CSR eigen-solves) run without
the GIL in slices of at most ``_PAUSE_SECONDS`` of wall time; between slices the binding
calls ``PyErr_CheckSignals`` so Ctrl-C raises ``KeyboardInterrupt`` promptly.  Loops that
call Python functions check for signals after every call.  An interrupted call leaves
the caller's arrays untouched (every loop works on copies or on its own buffers).
"""

cimport numpy as cnp
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int64_t
from libc.math cimport isfinite, isnan
from cpython.float cimport PyFloat_Check, PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_Check
from cpython.exc cimport PyErr_CheckSignals
from cpython.buffer cimport PyObject_CheckBuffer

import math
import sys

import numpy as np

cnp.import_array()

cdef extern from "lrcore.h" nogil:
    int LRC_OK
    int LRC_NONFINITE
    int LRC_EINVAL
    int LRC_ENOMEM
    int LRC_NOT_CONVERGED
    int LRC_BREAKDOWN
    int LRC_REQ_MATVEC
    int LRC_REQ_VALUE_GRAD
    int LRC_PAUSED
    int LRC_OMP_MIN_N
    int LRCORE_C_API_VERSION
    const char *lrc_status_string(int status)
    int lrc_omp_max_threads()

cdef extern from "internal.h" nogil:
    ctypedef struct lrci_pacer:
        double budget
    void lrci_pacer_start(lrci_pacer *p, double budget)
    int lrci_pacer_due(lrci_pacer *p)

#: Longest stretch (seconds of wall time) a C loop runs without the binding checking for
#: signals.  Ctrl-C is seen within this time plus about a millisecond or one unit of work.
cdef double _PAUSE_SECONDS = 0.05


def _set_pause_seconds(double seconds):
    """Set the pause interval of the C loops (tests use 0: pause at every clock reading);
    returns the previous value."""
    global _PAUSE_SECONDS
    if not seconds >= 0.0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    old = _PAUSE_SECONDS
    _PAUSE_SECONDS = seconds
    return old

#: Version of the C-level API (lrcore.h's LRCORE_C_API_VERSION, cython_api.pxd's
#: C_API_VERSION); bumped on incompatible changes.
globals()["C_API_VERSION"] = LRCORE_C_API_VERSION


# ----------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------

class NonFiniteError(ValueError, FloatingPointError):
    """A NaN or infinity was found where finite numbers are required.

    Subclasses both :class:`ValueError` (it is bad input) and :class:`FloatingPointError`
    (what ``numpy.errstate(all="raise")`` raises), so either ``except`` clause catches it.
    """


class ConvergenceWarning(RuntimeWarning):
    """An iterative method stopped before meeting its tolerance."""


cdef object _status_error(int status, str where):
    """The exception for a non-zero C status code, mentioning ``where``."""
    msg = f"{where}: {lrc_status_string(status).decode()}"
    if status == LRC_NONFINITE:
        return NonFiniteError(msg)
    if status == LRC_ENOMEM:
        return MemoryError(msg)
    if status == LRC_EINVAL:
        return ValueError(msg)
    return RuntimeError(f"{msg} (status {status})")


def status_string(int status):
    """Text of a C status code (``LRC_*`` in ``lrcore.h``, see :func:`lrcore.get_include`).

    Examples
    --------
    >>> from lrcore import _core
    >>> _core.status_string(0)
    'success'
    """
    return lrc_status_string(status).decode()


# ----------------------------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------------------------

cdef int _nthreads = 0     # 0: the OpenMP default (OMP_NUM_THREADS or all cores)


def set_num_threads(n):
    """Set the number of threads lrcore's kernels may use.

    Parameters
    ----------
    n : int
        ``1`` runs every kernel on the calling thread, ``k > 1`` allows up to ``k``
        OpenMP threads, ``0`` restores the default (``OMP_NUM_THREADS`` or every core).
        Kernels never start threads for arrays shorter than ``openmp_threshold()``.

    Examples
    --------
    >>> import lrcore
    >>> lrcore.set_num_threads(1)
    >>> lrcore.get_num_threads()
    1
    >>> lrcore.set_num_threads(0)
    """
    global _nthreads
    k = _index(n, "n")
    if k < 0:
        raise ValueError(f"n must be >= 0 (0 means the OpenMP default), got {k}")
    _nthreads = <int>min(k, 1 << 16)


def get_num_threads():
    """The number of threads lrcore's kernels may use (see :func:`set_num_threads`)."""
    return _nthreads if _nthreads > 0 else lrc_omp_max_threads()


def openmp_threshold():
    """Arrays shorter than this many elements are always processed on one thread."""
    return LRC_OMP_MIN_N


# ----------------------------------------------------------------------------------------
# validation helpers (GIL held; nothing is touched until all of them pass)
# ----------------------------------------------------------------------------------------

cdef inline Py_ssize_t _index(object o, str name) except? -1:
    """An exact integer (bool and float refused) as Py_ssize_t."""
    if (PyLong_Check(o) and not isinstance(o, bool)) or isinstance(o, (np.integer,)):
        try:
            return <Py_ssize_t>int(o)
        except OverflowError:
            raise ValueError(f"{name} must be between -2**63 and 2**63 - 1 (it is passed to "
                             f"C as a 64-bit integer), got {int(o)}") from None
    raise TypeError(f"{name} must be an integer, got {type(o).__name__}")


cdef inline double _real(object o, str name) except? -1.0:
    """A real Python/numpy scalar as double (not checked for finiteness)."""
    if PyFloat_Check(o):
        return PyFloat_AS_DOUBLE(o)
    if isinstance(o, (bool, str, bytes)) or o is None:
        raise TypeError(f"{name} must be a real number, got {type(o).__name__}")
    try:
        return float(o)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number, got an integer too large for a "
                         "float") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(o).__name__}") from None


cdef inline double _finite(object o, str name) except? -1.0:
    cdef double d = _real(o, name)
    if not isfinite(d):
        raise ValueError(f"{name} must be finite, got {d!r}")
    return d


cdef inline double _nonneg(object o, str name) except? -1.0:
    cdef double d = _real(o, name)
    if not (isfinite(d) and d >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {d!r}")
    return d


cdef inline double _positive(object o, str name, str why=None) except? -1.0:
    cdef double d = _real(o, name)
    if not (isfinite(d) and d > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {d!r}"
                         + (f" ({why})" if why else ""))
    return d


cdef inline double _unit(object o, str name) except? -1.0:
    """A number in [0, 1)."""
    cdef double d = _real(o, name)
    if not (d >= 0.0 and d < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {d!r}")
    return d


cdef inline int _float_typenum(object a, str name) except -1:
    """Type number of a float32/float64 ndarray, else TypeError naming ``name``."""
    if not cnp.PyArray_Check(a):
        raise TypeError(_not_an_array(a, name))
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if t != cnp.NPY_DOUBLE and t != cnp.NPY_FLOAT:
        raise TypeError(f"{name} must have dtype float32 or float64, got {(<cnp.ndarray>a).dtype}")
    return t


cdef inline int _check_layout(cnp.ndarray a, str name, bint writable) except -1:
    cdef int flags = cnp.PyArray_FLAGS(a)
    if not (flags & cnp.NPY_ARRAY_C_CONTIGUOUS):
        raise ValueError(
            f"{name} must be C-contiguous (updates are in place, so a copy would be lost); "
            f"pass numpy.ascontiguousarray({name}) and use the result")
    if not (flags & cnp.NPY_ARRAY_ALIGNED) or not cnp.PyArray_ISNOTSWAPPED(a):
        raise ValueError(f"{name} must be aligned and in native byte order")
    if writable and not (flags & cnp.NPY_ARRAY_WRITEABLE):
        raise ValueError(f"{name} is read-only; it is updated in place and must be writeable")
    return 0


cdef inline int _check_like(object a, str name, cnp.ndarray ref, str refname, int typenum,
                            bint writable) except -1:
    """``a`` is an ndarray with the same dtype and shape as ``ref`` and a usable layout."""
    if not cnp.PyArray_Check(a):
        raise TypeError(_not_an_array(a, name))
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(
            f"{name} has dtype {arr.dtype} but {refname} has dtype {ref.dtype}; "
            f"all arrays of one call must share {refname}'s dtype")
    cdef int nd = cnp.PyArray_NDIM(arr)
    cdef int k
    if nd != cnp.PyArray_NDIM(ref):
        raise ValueError(f"{name} has shape {(<object>arr).shape} but {refname} has shape {(<object>ref).shape}")
    for k in range(nd):
        if cnp.PyArray_DIM(arr, k) != cnp.PyArray_DIM(ref, k):
            raise ValueError(f"{name} has shape {(<object>arr).shape} but {refname} has shape {(<object>ref).shape}")
    _check_layout(arr, name, writable)
    return 0


cdef inline bint _overlap(cnp.ndarray a, cnp.ndarray b):
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    cdef Py_ssize_t na = cnp.PyArray_NBYTES(a), nb = cnp.PyArray_NBYTES(b)
    if na == 0 or nb == 0:
        return False
    return pa < pb + nb and pb < pa + na


cdef int _check_disjoint(list arrays, list names) except -1:
    """No two of ``arrays`` share memory (in-place kernels assume it)."""
    cdef Py_ssize_t i, j, n = len(arrays)
    for i in range(n):
        for j in range(i + 1, n):
            if _overlap(<cnp.ndarray>arrays[i], <cnp.ndarray>arrays[j]):
                raise ValueError(
                    f"{names[i]} and {names[j]} share memory; in-place kernels need "
                    f"separate arrays (pass a copy of {names[j]})")
    return 0


# ---- arrays of other libraries: torch tensors, DLPack, the buffer protocol ----------------
# The update kernels take any of them without a copy: each is viewed as an ndarray sharing
# its memory, and the ndarray goes through the checks above.  lrcore never imports torch:
# a tensor can only exist once its user has imported torch, so sys.modules tells.

cdef object _Tensor = None              # torch.Tensor (None until torch is imported)
cdef object _torch_strided = None
cdef object _torch_f32 = None
cdef object _torch_f64 = None
cdef object _increment_version = None   # torch.autograd.graph.increment_version

#: DLPack's DLDeviceType codes (dlpack.h), for the messages
_DLPACK_DEVICES = {1: "CPU", 2: "CUDA", 3: "CUDA host (pinned)", 4: "OpenCL", 7: "Vulkan",
                   8: "Metal", 9: "VPI", 10: "ROCm", 11: "ROCm host", 12: "ext_dev",
                   13: "CUDA managed", 14: "oneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}


cdef object _tensor_type():
    """``torch.Tensor`` when torch has been imported (by anyone), else None."""
    global _Tensor, _torch_strided, _torch_f32, _torch_f64, _increment_version
    if _Tensor is not None:
        return _Tensor
    mod = sys.modules.get("torch")
    if mod is None:
        return None
    try:
        inc = mod.autograd.graph.increment_version
        _torch_strided, _torch_f32, _torch_f64 = mod.strided, mod.float32, mod.float64
        _increment_version = inc
        _Tensor = mod.Tensor
    except AttributeError:      # torch is half-way through its own import
        return None
    return _Tensor


cdef str _not_an_array(object a, str name):
    return (f"{name} must be a numpy.ndarray, a CPU torch.Tensor, or an object with "
            f"__dlpack__ or the buffer protocol (float32 or float64), got {type(a).__name__}")


cdef cnp.ndarray _tensor_view(object a, str name, bint writable, bint any_layout):
    """The ndarray sharing a CPU torch tensor's memory (``Tensor.numpy()``)."""
    if not a.is_cpu:
        raise ValueError(
            f"{name} is a torch tensor on {a.device}; lrcore's kernels run on the CPU: move "
            f"it with .cpu() (an update then changes that copy, not {name}) or use torch's "
            f"fused optimizer (torch.optim.Adam(..., fused=True) and friends) on that device")
    if a.layout is not _torch_strided:
        raise TypeError(f"{name} is a {a.layout} tensor; lrcore's kernels take dense "
                        f"(torch.strided) tensors")
    dt = a.dtype
    if dt is not _torch_f64 and dt is not _torch_f32:
        raise TypeError(f"{name} must have dtype float32 or float64, got {dt}")
    if not any_layout and not a.is_contiguous():
        if writable:
            raise ValueError(
                f"{name} must be a contiguous tensor (its strides are {tuple(a.stride())}); "
                f"it is updated in place, so a copy such as {name}.contiguous() would lose "
                f"the update")
        raise ValueError(f"{name} must be a contiguous tensor (its strides are "
                         f"{tuple(a.stride())}); pass {name}.contiguous()")
    if a.requires_grad:
        if writable and not a.is_leaf:
            raise ValueError(
                f"{name} is a tensor that requires grad but is not a leaf (grad_fn="
                f"{type(a.grad_fn).__name__}: the result of an operation, or a view of a "
                f"parameter taken with grad enabled); lrcore writes its memory directly, "
                f"which autograd cannot record.  Update the leaf (the parameter itself), or "
                f"take the view under torch.no_grad()")
        a = a.detach()          # shares memory and the version counter
    try:
        arr = a.numpy()
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"{name}: torch cannot share this tensor's memory with numpy "
                         f"without a copy ({e})") from None
    return <cnp.ndarray>arr


cdef cnp.ndarray _dlpack_view(object a, str name, bint writable):
    """The ndarray sharing a CPU DLPack producer's memory (``numpy.from_dlpack``)."""
    if not hasattr(a, "__dlpack_device__"):
        raise TypeError(f"{name} has __dlpack__ but no __dlpack_device__ (both are part of "
                        f"the DLPack protocol)")
    try:
        dev = a.__dlpack_device__()
        kind, ident = int(dev[0]), int(dev[1])
    except Exception as e:
        raise TypeError(f"{name}.__dlpack_device__() failed or returned no (device type, "
                        f"id) pair: {e!r}") from None
    if kind != 1:
        raise ValueError(
            f"{name} lives on DLPack device {_DLPACK_DEVICES.get(kind, 'type ' + str(kind))}:"
            f"{ident}; lrcore's kernels run on the CPU: copy it to host memory first (an "
            f"update then changes that copy, not {name}) or use an optimizer of {name}'s "
            f"own library on that device")
    try:
        arr = np.from_dlpack(a)
    except (BufferError, TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name}: numpy cannot import it through DLPack ({e})") from None
    if writable and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>arr):
        raise ValueError(
            f"{name} is read-only through DLPack (its producer marks it read-only, or only "
            f"speaks the legacy pre-1.0 protocol, which cannot say it is writable); it is "
            f"updated in place and must be writeable")
    return <cnp.ndarray>arr


cdef cnp.ndarray _as_float_array(object a, str name, bint writable, bint any_layout=False):
    """``a`` as an ndarray sharing its memory, never a copy: an ndarray itself; a CPU torch
    tensor (``Tensor.numpy()``, detached first when it is a leaf that requires grad); an
    object with ``__dlpack__`` on the CPU (``numpy.from_dlpack``); a buffer (memoryview,
    array.array, ...: ``numpy.asarray(memoryview(a))``).  Refused with a TypeError/
    ValueError naming ``name``: other objects, tensors on other devices, non-contiguous
    tensors (unless ``any_layout``: for readers that copy such arrays), non-leaf tensors
    that require grad when ``writable``.  dtype, shape, layout and writability are the
    callers' checks (``_float_typenum``, ``_check_like``)."""
    if cnp.PyArray_Check(a):
        return <cnp.ndarray>a
    T = _tensor_type()
    if T is not None and isinstance(a, T):
        return _tensor_view(a, name, writable, any_layout)
    if hasattr(a, "__dlpack__"):
        return _dlpack_view(a, name, writable)
    if PyObject_CheckBuffer(a):
        try:
            return <cnp.ndarray>np.asarray(memoryview(a))
        except (TypeError, ValueError, BufferError, NotImplementedError) as e:
            raise TypeError(f"{name}: numpy cannot view this buffer ({e})") from None
    raise TypeError(_not_an_array(a, name))


cdef object _tensor_behind(object a):
    """The torch tensor whose memory ``a`` is: ``a`` itself, or for an ndarray made by
    ``Tensor.numpy()`` (or a numpy view of one) the tensor at the end of its ``.base``
    chain; None otherwise."""
    if isinstance(a, _Tensor):
        return a
    while cnp.PyArray_Check(a):
        a = cnp.get_array_base(<cnp.ndarray>a)
    return a if isinstance(a, _Tensor) else None


cdef int _mark_written(tuple written) except -1:
    """Bump the autograd version counter of every torch tensor written through
    ``written`` (see ``_tensor_behind``), as a torch in-place operation does: a tensor saved
    for backward and then updated makes ``backward()`` raise instead of using stale values.
    Nothing to do (and no torch lookup beyond sys.modules) when torch is not imported."""
    if _tensor_type() is None:
        return 0
    tensors = None
    for a in written:
        if a is None or (cnp.PyArray_Check(a) and cnp.PyArray_BASE(<cnp.ndarray>a) == NULL):
            continue            # the common case: an ndarray owning its memory
        t = _tensor_behind(a)
        if t is not None:
            if tensors is None:
                tensors = [t]
            else:
                tensors.append(t)
    if tensors is not None:
        _increment_version(tensors)
    return 0


def mark_written(*arrays):
    """Bump the autograd version counter of every torch tensor behind ``arrays`` (numpy
    views made by ``Tensor.numpy()``, or tensors), as a torch in-place operation does.

    For Python code that writes a tensor's memory through numpy (``lrcore.optim``'s
    step-size rules): a tensor saved for backward and then updated makes ``backward()``
    raise instead of silently using the new values.  A no-op without torch.
    """
    _mark_written(arrays)



# nonfinite= policies
cdef enum:
    _POLICY_RAISE = 0
    _POLICY_SKIP = 1
    _POLICY_UNCHECKED = 2


cdef inline int _policy(object p) except -1:
    if p is "raise" or p == "raise":
        return _POLICY_RAISE
    if p is "skip" or p == "skip":
        return _POLICY_SKIP
    if p is "unchecked" or p == "unchecked":
        return _POLICY_UNCHECKED
    raise ValueError(f"nonfinite must be 'raise', 'skip' or 'unchecked', got {p!r}")


# ----------------------------------------------------------------------------------------
# concerns (one include per C source file)
# ----------------------------------------------------------------------------------------
# (section: update)
include "_update.pxi"
# (end section: update)

# (section: eigen)
include "_eigen.pxi"
# (end section: eigen)

# (section: schedule)
include "_schedule.pxi"
# (end section: schedule)

# (section: problems)
include "_problems.pxi"
# (end section: problems)

# (section: descend)
include "_descend.pxi"
# (end section: descend)
include "_parse.pxi"


# the C-level constants of _core.pxd (re-exported by cython_api.pxd) mirror lrcore.h
if not (C_API_VERSION == LRCORE_C_API_VERSION
        and STATUS_OK == LRC_OK and STATUS_NONFINITE == LRC_NONFINITE
        and STATUS_EINVAL == LRC_EINVAL and STATUS_ENOMEM == LRC_ENOMEM
        and STATUS_NOT_CONVERGED == LRC_NOT_CONVERGED and STATUS_BREAKDOWN == LRC_BREAKDOWN
        and REQ_MATVEC == LRC_REQ_MATVEC and EIG_REQ_MATVEC == LRC_REQ_MATVEC
        and REQ_VALUE_GRAD == LRC_REQ_VALUE_GRAD
        and EIG_LA == LRC_EIG_LA and EIG_LM == LRC_EIG_LM and EIG_SA == LRC_EIG_SA
        and EIG_LANCZOS == LRC_EIG_LANCZOS and EIG_POWER == LRC_EIG_POWER
        and EIG_MAX_NCV == LRC_EIG_MAX_NCV
        and METHOD_GD == LRC_METHOD_GD and METHOD_HEAVY_BALL == LRC_METHOD_HEAVY_BALL
        and METHOD_NESTEROV == LRC_METHOD_NESTEROV and METHOD_ADAM == LRC_METHOD_ADAM
        and RUN_COMPLETED == LRC_RUN_COMPLETED and RUN_CONVERGED == LRC_RUN_CONVERGED
        and RUN_DIVERGED == LRC_RUN_DIVERGED):
    raise ImportError("lrcore._core: _core.pxd and lrcore.h disagree on the C API "
                      f"(pxd version {C_API_VERSION}, header version {LRCORE_C_API_VERSION})")
