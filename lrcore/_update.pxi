# _update.pxi -- bindings of csrc/update.c (fused in-place optimizer steps).
# Included by _core.pyx; the Python API re-exports these from lrcore.optim.

cdef extern from "lrcore.h" nogil:
    int c_all_finite_f64 "lrc_all_finite_f64"(const double *a, ptrdiff_t n, int nthreads)
    int c_all_finite_f32 "lrc_all_finite_f32"(const float *a, ptrdiff_t n, int nthreads)
    int c_sgd_f64 "lrc_sgd_f64"(double *x, const double *g, ptrdiff_t n, double lr,
                                double weight_decay, int maximize, int check, int nthreads)
    int c_sgd_f32 "lrc_sgd_f32"(float *x, const float *g, ptrdiff_t n, double lr,
                                double weight_decay, int maximize, int check, int nthreads)
    int c_momentum_f64 "lrc_momentum_f64"(double *x, const double *g, double *buf, ptrdiff_t n,
                                          double lr, double momentum, double dampening,
                                          double weight_decay, int nesterov, int first_step,
                                          int maximize, int check, int nthreads)
    int c_momentum_f32 "lrc_momentum_f32"(float *x, const float *g, float *buf, ptrdiff_t n,
                                          double lr, double momentum, double dampening,
                                          double weight_decay, int nesterov, int first_step,
                                          int maximize, int check, int nthreads)
    int c_adam_f64 "lrc_adam_f64"(double *x, const double *g, double *m, double *v,
                                  double *vmax, ptrdiff_t n, int64_t step, double lr,
                                  double beta1, double beta2, double eps, double weight_decay,
                                  int decoupled, int amsgrad, int maximize, int check,
                                  int nthreads)
    int c_adam_f32 "lrc_adam_f32"(float *x, const float *g, float *m, float *v, float *vmax,
                                  ptrdiff_t n, int64_t step, double lr, double beta1,
                                  double beta2, double eps, double weight_decay, int decoupled,
                                  int amsgrad, int maximize, int check, int nthreads)
    int c_rmsprop_f64 "lrc_rmsprop_f64"(double *x, const double *g, double *sq, double *gavg,
                                        double *buf, ptrdiff_t n, double lr, double alpha,
                                        double eps, double weight_decay, double momentum,
                                        int centered, int maximize, int check, int nthreads)
    int c_rmsprop_f32 "lrc_rmsprop_f32"(float *x, const float *g, float *sq, float *gavg,
                                        float *buf, ptrdiff_t n, double lr, double alpha,
                                        double eps, double weight_decay, double momentum,
                                        int centered, int maximize, int check, int nthreads)
    int c_adagrad_f64 "lrc_adagrad_f64"(double *x, const double *g, double *sum, ptrdiff_t n,
                                        int64_t step, double lr, double lr_decay, double eps,
                                        double weight_decay, int maximize, int check,
                                        int nthreads)
    int c_adagrad_f32 "lrc_adagrad_f32"(float *x, const float *g, float *sum, ptrdiff_t n,
                                        int64_t step, double lr, double lr_decay, double eps,
                                        double weight_decay, int maximize, int check,
                                        int nthreads)

cdef extern from "internal.h" nogil:
    void c_stream_4r3w_f64 "lrci_stream_4r3w_f64"(double *a, const double *b, double *c,
                                                  double *d, ptrdiff_t n, int nthreads)
    void c_stream_4r3w_f32 "lrci_stream_4r3w_f32"(float *a, const float *b, float *c,
                                                  float *d, ptrdiff_t n, int nthreads)


# ---- C-level API (declared in _core.pxd) ------------------------------------------------

cdef int all_finite_f64(const double *a, Py_ssize_t n, int nthreads) noexcept nogil:
    return c_all_finite_f64(a, n, nthreads)

cdef int all_finite_f32(const float *a, Py_ssize_t n, int nthreads) noexcept nogil:
    return c_all_finite_f32(a, n, nthreads)

cdef int sgd_f64(double *x, const double *g, Py_ssize_t n, double lr, double weight_decay,
                 int maximize, int check, int nthreads) noexcept nogil:
    return c_sgd_f64(x, g, n, lr, weight_decay, maximize, check, nthreads)

cdef int sgd_f32(float *x, const float *g, Py_ssize_t n, double lr, double weight_decay,
                 int maximize, int check, int nthreads) noexcept nogil:
    return c_sgd_f32(x, g, n, lr, weight_decay, maximize, check, nthreads)

cdef int momentum_f64(double *x, const double *g, double *buf, Py_ssize_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov,
                      int first_step, int maximize, int check, int nthreads) noexcept nogil:
    return c_momentum_f64(x, g, buf, n, lr, momentum, dampening, weight_decay, nesterov,
                          first_step, maximize, check, nthreads)

cdef int momentum_f32(float *x, const float *g, float *buf, Py_ssize_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov,
                      int first_step, int maximize, int check, int nthreads) noexcept nogil:
    return c_momentum_f32(x, g, buf, n, lr, momentum, dampening, weight_decay, nesterov,
                          first_step, maximize, check, nthreads)

cdef int adam_f64(double *x, const double *g, double *m, double *v, double *vmax,
                  Py_ssize_t n, int64_t step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int amsgrad, int maximize,
                  int check, int nthreads) noexcept nogil:
    return c_adam_f64(x, g, m, v, vmax, n, step, lr, beta1, beta2, eps, weight_decay,
                      decoupled, amsgrad, maximize, check, nthreads)

cdef int adam_f32(float *x, const float *g, float *m, float *v, float *vmax,
                  Py_ssize_t n, int64_t step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int amsgrad, int maximize,
                  int check, int nthreads) noexcept nogil:
    return c_adam_f32(x, g, m, v, vmax, n, step, lr, beta1, beta2, eps, weight_decay,
                      decoupled, amsgrad, maximize, check, nthreads)

cdef int rmsprop_f64(double *x, const double *g, double *sq, double *gavg, double *buf,
                     Py_ssize_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize, int check,
                     int nthreads) noexcept nogil:
    return c_rmsprop_f64(x, g, sq, gavg, buf, n, lr, alpha, eps, weight_decay, momentum,
                         centered, maximize, check, nthreads)

cdef int rmsprop_f32(float *x, const float *g, float *sq, float *gavg, float *buf,
                     Py_ssize_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize, int check,
                     int nthreads) noexcept nogil:
    return c_rmsprop_f32(x, g, sq, gavg, buf, n, lr, alpha, eps, weight_decay, momentum,
                         centered, maximize, check, nthreads)

cdef int adagrad_f64(double *x, const double *g, double *sum, Py_ssize_t n, int64_t step,
                     double lr, double lr_decay, double eps, double weight_decay,
                     int maximize, int check, int nthreads) noexcept nogil:
    return c_adagrad_f64(x, g, sum, n, step, lr, lr_decay, eps, weight_decay, maximize,
                         check, nthreads)

cdef int adagrad_f32(float *x, const float *g, float *sum, Py_ssize_t n, int64_t step,
                     double lr, double lr_decay, double eps, double weight_decay,
                     int maximize, int check, int nthreads) noexcept nogil:
    return c_adagrad_f32(x, g, sum, n, step, lr, lr_decay, eps, weight_decay, maximize,
                         check, nthreads)


# ---- Python API -------------------------------------------------------------------------

from libc.stdlib cimport malloc, free, qsort
from libc.stdint cimport uintptr_t

_EPS_WHY = "eps = 0 gives 0/0 = NaN wherever the gradient history is zero"

cdef inline object _step_outcome(int status, int policy, str func, str modified):
    """True when applied; False when skipped; raise otherwise (nothing was written)."""
    if status == LRC_OK:
        return True
    if status == LRC_NONFINITE:
        if policy == _POLICY_SKIP:
            return False
        raise NonFiniteError(
            f"{func}: the gradient g contains NaN or Inf; {modified} left unchanged "
            f"(pass nonfinite='skip' to skip such steps instead of raising)")
    raise _status_error(status, func)


cdef inline int64_t _step_count(object step) except -1:
    cdef Py_ssize_t s = _index(step, "step")
    if s < 1:
        raise ValueError(f"step must be >= 1 (the 1-based count including this update), got {s}")
    return s


def float_view(a, name="a", *, writable=False):
    """``a`` as a float32/float64 numpy array sharing its memory: never a copy.

    What the update kernels do with each array argument before checking it, for callers
    that keep views (the optimizers of :mod:`lrcore.optim`).  Accepted:

    * a ``numpy.ndarray`` (returned as is);
    * a CPU ``torch.Tensor``, dense and contiguous, through ``Tensor.numpy()`` (a leaf
      that requires grad, such as an ``nn.Parameter``, is detached first: same memory and
      same version counter).  Refused: tensors on another device, sparse tensors,
      non-contiguous tensors, and with ``writable=True`` tensors that require grad but
      are not leaves (autograd results, views of parameters taken with grad enabled);
    * an object with ``__dlpack__`` and ``__dlpack_device__`` on the CPU, through
      ``numpy.from_dlpack``;
    * an object exposing the buffer protocol (``memoryview``, ``array.array('d')``...).

    torch is never imported by lrcore: tensors are recognised once their user has.

    Parameters
    ----------
    a : array
        The object to view.
    name : str, optional
        Its name in error messages.
    writable : bool, optional
        ``a`` is to be updated in place: it must also be C-contiguous, aligned, in native
        byte order and writeable.

    Returns
    -------
    numpy.ndarray
        Sharing ``a``'s memory.

    Raises
    ------
    TypeError, ValueError
        Naming ``name`` and what was expected.

    Examples
    --------
    >>> import array, numpy as np
    >>> from lrcore._core import float_view
    >>> buf = array.array("d", [1.0, 2.0])
    >>> v = float_view(buf, "buf", writable=True)
    >>> v[0] = 5.0
    >>> buf
    array('d', [5.0, 2.0])
    >>> float_view([1.0], "x")
    Traceback (most recent call last):
    ...
    TypeError: x must be a numpy.ndarray, a CPU torch.Tensor, or an object with __dlpack__ or the buffer protocol (float32 or float64), got list
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    cdef cnp.ndarray A = _as_float_array(a, name, writable)
    _float_typenum(A, name)
    if writable:
        _check_layout(A, name, True)
    return A


cdef struct _Span:
    uintptr_t start     # addresses as integers: comparing pointers into different
    uintptr_t end       # objects with < is undefined in C
    int kind
    Py_ssize_t index


cdef int _span_cmp(const void *a, const void *b) noexcept nogil:
    cdef const _Span *x = <const _Span *>a
    cdef const _Span *y = <const _Span *>b
    if x.start < y.start:
        return -1
    if x.start > y.start:
        return 1
    return 0


cdef Py_ssize_t _fill_spans(_Span *spans, Py_ssize_t at, list arrays, int kind,
                            str what) except -1:
    """Byte extents [lowest, highest + itemsize) of ``arrays`` (any strides); empty arrays
    are left out.  Returns the next free slot."""
    cdef Py_ssize_t i, k, extent
    cdef cnp.ndarray a
    cdef uintptr_t lo, hi
    for i in range(len(arrays)):
        o = arrays[i]
        if not cnp.PyArray_Check(o):
            raise TypeError(f"{what}[{i}] must be a numpy.ndarray, got {type(o).__name__}")
        a = <cnp.ndarray>o
        if cnp.PyArray_SIZE(a) == 0:
            continue
        lo = hi = <uintptr_t>cnp.PyArray_DATA(a)
        for k in range(cnp.PyArray_NDIM(a)):
            extent = cnp.PyArray_STRIDE(a, k) * (cnp.PyArray_DIM(a, k) - 1)
            if extent < 0:
                lo -= <uintptr_t>(-extent)
            else:
                hi += <uintptr_t>extent
        spans[at].start = lo
        spans[at].end = hi + <uintptr_t>cnp.PyArray_ITEMSIZE(a)
        spans[at].kind = kind
        spans[at].index = i
        at += 1
    return at


def overlapping_pair(first, second=None):
    """The first pair of arrays found that may share memory, or None: ``(i, j)`` with
    ``first[i]`` and ``second[j]`` overlapping, or with ``second=None`` two arrays of
    ``first`` (``i > j``).

    Memory is compared by byte extents, as ``numpy.may_share_memory`` does (exact for
    contiguous arrays); empty arrays share nothing.  The extents are sorted and swept in
    C, O(k log k) for k arrays: how the optimizers of :mod:`lrcore.optim` check before
    every step that no gradient shares memory with a parameter or a buffer.

    Parameters
    ----------
    first, second : list of numpy.ndarray

    Returns
    -------
    tuple of int or None

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore._core import overlapping_pair
    >>> buf = np.zeros(10)
    >>> overlapping_pair([buf[:5], np.ones(3)], [np.ones(2), buf[4:]])
    (0, 1)
    >>> print(overlapping_pair([buf[:5], buf[5:]]))
    None
    """
    if not isinstance(first, list) or not (second is None or isinstance(second, list)):
        raise TypeError("first and second must be lists of numpy.ndarray")
    cdef bint one = second is None
    cdef Py_ssize_t n = len(first) + (0 if one else len(second))
    if n < 2:
        return None
    cdef _Span *spans = <_Span *>malloc(n * sizeof(_Span))
    if spans == NULL:
        raise MemoryError("overlapping_pair")
    cdef Py_ssize_t k, m
    cdef uintptr_t reach[2]
    cdef Py_ssize_t owner[2]
    cdef int other
    try:
        m = _fill_spans(spans, 0, first, 0, "first")
        if not one:
            m = _fill_spans(spans, m, second, 1, "second")
        qsort(spans, m, sizeof(_Span), _span_cmp)
        # a span overlaps an earlier one of the kind it is compared with iff it starts
        # before the largest end seen so far of that kind
        reach[0] = reach[1] = 0
        owner[0] = owner[1] = -1
        for k in range(m):
            other = spans[k].kind if one else 1 - spans[k].kind
            if owner[other] >= 0 and spans[k].start < reach[other]:
                if one:
                    return (max(spans[k].index, owner[other]), min(spans[k].index, owner[other]))
                if spans[k].kind == 0:
                    return (spans[k].index, owner[other])
                return (owner[other], spans[k].index)
            if owner[spans[k].kind] < 0 or spans[k].end > reach[spans[k].kind]:
                reach[spans[k].kind] = spans[k].end
                owner[spans[k].kind] = spans[k].index
        return None
    finally:
        free(spans)


def all_finite(a):
    """True if every element of a float32/float64 array is finite (no NaN, no +-Inf).

    One vectorized pass in C, without the GIL; the test optimizer steps run before writing.
    ``a`` may be anything the update kernels take (see :func:`sgd_step`); a
    non-contiguous one is scanned through a contiguous copy.

    Examples
    --------
    >>> import numpy as np, lrcore
    >>> lrcore.optim.all_finite(np.array([1.0, 2.0])), lrcore.optim.all_finite(np.array([np.nan]))
    (True, False)
    """
    cdef cnp.ndarray arr = _as_float_array(a, "a", False, True)
    cdef int t = _float_typenum(arr, "a")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISNOTSWAPPED(arr) \
            or not cnp.PyArray_ISALIGNED(arr):
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    cdef Py_ssize_t n = cnp.PyArray_SIZE(arr)
    cdef int st, nt = _nthreads
    cdef void *p = cnp.PyArray_DATA(arr)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_all_finite_f64(<double *>p, n, nt)
        else:
            st = c_all_finite_f32(<float *>p, n, nt)
    if st == LRC_OK:
        return True
    if st == LRC_NONFINITE:
        return False
    raise _status_error(st, "all_finite")


def sgd_step(x, g, lr, *, weight_decay=0.0, maximize=False, nonfinite="raise"):
    r"""One in-place step of stochastic gradient descent, :math:`x \leftarrow x - \mathrm{lr}\,(g + \lambda x)`.

    Fused in C: one pass over ``x`` and ``g``, the GIL released, OpenMP above
    :func:`lrcore.openmp_threshold` elements.  Same arithmetic as ``torch.optim.SGD``
    with ``momentum=0`` (PyTorch docs, "SGD" algorithm box).

    Parameters
    ----------
    x : array
        Parameters, float32 or float64, C-contiguous and writeable (any shape; treated as
        flat).  Updated in place.  A numpy array, a CPU torch tensor, a DLPack object or a
        buffer: see Notes.
    g : array
        Gradient, same dtype and shape as ``x``, must not share memory with ``x``.
    lr : float
        Learning rate, finite and >= 0.
    weight_decay : float, optional
        L2 coefficient :math:`\lambda \ge 0` added to the gradient (PyTorch's coupled decay).
    maximize : bool, optional
        Ascend instead of descend (``g -> -g``).
    nonfinite : {"raise", "skip", "unchecked"}, optional
        What to do when ``g`` holds NaN or Inf.  ``g`` is scanned before anything is
        written, so either way ``x`` is left bit-for-bit unchanged; "raise" raises
        :class:`lrcore.NonFiniteError`, "skip" returns False.  "unchecked" skips the scan
        (one read of ``g`` less: about 15-25% faster for arrays larger than the caches) for
        callers that have already checked the gradient (as ``torch.amp.GradScaler`` does,
        or scikit-learn's ``assume_finite``); a NaN then propagates into ``x``.

    Returns
    -------
    bool
        True if the update was applied, False if it was skipped (``nonfinite="skip"``).

    Notes
    -----
    Arrays of every kernel are taken without a copy (:func:`lrcore._core.float_view`):
    numpy arrays; CPU torch tensors through ``Tensor.numpy()``; objects with
    ``__dlpack__``/``__dlpack_device__`` on the CPU through ``numpy.from_dlpack`` (for the
    updated arguments the producer must speak DLPack >= 1.0, which can say the memory is
    writable); buffers (``memoryview``, ``array.array('f')``/``('d')``) through
    ``numpy.asarray(memoryview(a))``.  They may be mixed in one call; dtype, shape,
    layout and disjointness are checked on the views, so two tensors that share storage
    are refused like two overlapping arrays.  Everything is checked before the first write;
    a refused call modifies nothing.

    torch conventions: tensors on another device are refused (lrcore's kernels run on
    the CPU: use ``.cpu()`` or torch's fused optimizer); so are non-contiguous tensors,
    whose update a ``.contiguous()`` copy would lose.  An updated tensor may be a leaf that
    requires grad (an ``nn.Parameter``): as ``torch.optim`` writes parameters under
    ``torch.no_grad()``, the kernel writes its memory directly.  Autograd is told through
    the version counter: after a step that wrote anything, the version of every updated
    tensor -- passed directly, or behind an ndarray made by ``Tensor.numpy()`` -- is bumped
    (``torch.autograd.graph.increment_version``), exactly as an in-place torch operation
    does, so a ``backward()`` through a graph that saved the old values raises instead of
    using stale memory.  An updated tensor that requires grad but is not a leaf (an
    operation's result, or a view of a parameter taken with grad enabled) is refused:
    its ``grad_fn`` cannot be told about a write it did not record.  A gradient that
    requires grad (``create_graph=True``) is read through its detached view.  As in torch,
    ``p.data`` is a tensor with a version counter of its own: writing through it (or
    through ``p.data.numpy()``) is invisible to ``p``'s autograd.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import sgd_step
    >>> x = np.array([1.0, -2.0]); g = np.array([0.5, 0.5])
    >>> sgd_step(x, g, 0.1)
    True
    >>> x
    array([ 0.95, -2.05])
    """
    cdef cnp.ndarray X = _as_float_array(x, "x", True)
    cdef int t = _float_typenum(X, "x")
    _check_layout(X, "x", True)
    cdef cnp.ndarray G = _as_float_array(g, "g", False)
    _check_like(G, "g", X, "x", t, False)
    cdef double lr_ = _nonneg(lr, "lr")
    cdef double wd = _nonneg(weight_decay, "weight_decay")
    cdef int mx = 1 if maximize else 0
    cdef int policy = _policy(nonfinite)
    if _overlap(X, G):
        _check_disjoint([X, G], ["x", "g"])
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void *px = cnp.PyArray_DATA(X)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef int st, nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_sgd_f64(<double *>px, <double *>pg, n, lr_, wd, mx, policy != _POLICY_UNCHECKED, nt)
        else:
            st = c_sgd_f32(<float *>px, <float *>pg, n, lr_, wd, mx, policy != _POLICY_UNCHECKED, nt)
    if st == LRC_OK:
        _mark_written((x,))
    return _step_outcome(st, policy, "sgd_step", "x was")


def momentum_step(x, g, buf, lr, momentum, *, nesterov=False, dampening=0.0,
                  weight_decay=0.0, first_step=False, maximize=False, nonfinite="raise"):
    r"""One in-place step of SGD with (heavy-ball or Nesterov) momentum, as ``torch.optim.SGD``.

    .. math::

        d &= g + \lambda x \\
        b &\leftarrow \mu b + (1 - \tau) d \quad (b \leftarrow d \text{ on the first step}) \\
        x &\leftarrow x - \mathrm{lr}\,(d + \mu b) \text{ if nesterov else } x - \mathrm{lr}\, b

    (PyTorch docs, "SGD" algorithm box; Sutskever et al. 2013 for the Nesterov form.)
    One fused pass over ``x``, ``g`` and ``buf``, GIL released.

    Parameters
    ----------
    x, g, buf : array
        Parameters (updated), gradient, momentum buffer (updated); one dtype (float32 or
        float64), one shape, C-contiguous, no shared memory.  numpy arrays, CPU torch
        tensors, DLPack objects or buffers (see :func:`sgd_step`, Notes).
    lr : float
        Learning rate, finite and >= 0.
    momentum : float
        :math:`\mu \ge 0`.
    nesterov : bool, optional
        Nesterov momentum (requires ``momentum > 0`` and ``dampening == 0``, as PyTorch).
    dampening : float, optional
        :math:`\tau \ge 0`.
    weight_decay : float, optional
        L2 coefficient :math:`\lambda \ge 0` added to the gradient.
    first_step : bool, optional
        PyTorch's first-step rule: set ``buf = d`` (no dampening) instead of updating it.
        Only matters when ``dampening != 0`` if ``buf`` starts at zero.
    maximize : bool, optional
        Ascend instead of descend.
    nonfinite : {"raise", "skip", "unchecked"}, optional
        See :func:`sgd_step`; ``x`` and ``buf`` are left unchanged either way.

    Returns
    -------
    bool
        True if applied, False if skipped.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import momentum_step
    >>> x = np.zeros(2); buf = np.zeros(2); g = np.ones(2)
    >>> momentum_step(x, g, buf, 0.1, 0.9); momentum_step(x, g, buf, 0.1, 0.9)
    True
    True
    >>> buf, x
    (array([1.9, 1.9]), array([-0.29, -0.29]))
    """
    cdef cnp.ndarray X = _as_float_array(x, "x", True)
    cdef int t = _float_typenum(X, "x")
    _check_layout(X, "x", True)
    cdef cnp.ndarray G = _as_float_array(g, "g", False)
    _check_like(G, "g", X, "x", t, False)
    cdef cnp.ndarray B = _as_float_array(buf, "buf", True)
    _check_like(B, "buf", X, "x", t, True)
    cdef double lr_ = _nonneg(lr, "lr")
    cdef double mom = _nonneg(momentum, "momentum")
    cdef double damp = _nonneg(dampening, "dampening")
    cdef double wd = _nonneg(weight_decay, "weight_decay")
    cdef int nest = 1 if nesterov else 0
    if nest and (mom <= 0.0 or damp != 0.0):
        raise ValueError("nesterov=True requires momentum > 0 and dampening == 0 "
                         f"(got momentum={mom!r}, dampening={damp!r})")
    cdef int first = 1 if first_step else 0
    cdef int mx = 1 if maximize else 0
    cdef int policy = _policy(nonfinite)
    if _overlap(X, G) or _overlap(X, B) or _overlap(G, B):
        _check_disjoint([X, G, B], ["x", "g", "buf"])
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void *px = cnp.PyArray_DATA(X)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *pb = cnp.PyArray_DATA(B)
    cdef int st, nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_momentum_f64(<double *>px, <double *>pg, <double *>pb, n, lr_, mom, damp,
                                wd, nest, first, mx, policy != _POLICY_UNCHECKED, nt)
        else:
            st = c_momentum_f32(<float *>px, <float *>pg, <float *>pb, n, lr_, mom, damp,
                                wd, nest, first, mx, policy != _POLICY_UNCHECKED, nt)
    if st == LRC_OK:
        _mark_written((x, buf))
    return _step_outcome(st, policy, "momentum_step", "x and buf were")


def adam_step(x, g, m, v, step, lr, *, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              decoupled=False, amsgrad=False, vmax=None, maximize=False, nonfinite="raise"):
    r"""One in-place Adam (or AdamW) step, fused into a single pass over memory.

    With :math:`t` = ``step`` (1-based, counting this update):

    .. math::

        x &\leftarrow (1 - \mathrm{lr}\,\lambda)\, x \text{ if decoupled (AdamW)}, \qquad
        g \leftarrow g + \lambda x \text{ otherwise} \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat v &= \max(\hat v, v) \text{ if amsgrad else } v \\
        x &\leftarrow x - \frac{\mathrm{lr}}{1-\beta_1^t}\,
             \frac{m}{\sqrt{\hat v} / \sqrt{1-\beta_2^t} + \epsilon}

    Kingma & Ba (2015), Algorithm 1; Loshchilov & Hutter (2019) for the decoupled decay;
    Reddi et al. (2018) for AMSGrad.  The operations and their order are those of
    ``torch.optim.Adam``/``AdamW`` (``m`` is updated with PyTorch's ``lerp``), so float64
    results agree with PyTorch to rounding.  Reads ``x, g, m, v`` and writes ``x, m, v``
    once each; GIL released; OpenMP above :func:`lrcore.openmp_threshold` elements.

    Parameters
    ----------
    x, g, m, v : array
        Parameters (updated), gradient, first and second moment buffers (updated, start at
        zero).  One dtype (float32 or float64), one shape, C-contiguous, no shared memory.
        numpy arrays, CPU torch tensors, DLPack objects or buffers (see :func:`sgd_step`,
        Notes).
    step : int
        1-based index of this update (>= 1), used for the bias corrections.
    lr : float
        Learning rate, finite and >= 0.
    beta1, beta2 : float, optional
        Moment decay rates in [0, 1).
    eps : float, optional
        Denominator guard, finite and > 0 (PyTorch accepts 0, which turns a zero gradient
        history into 0/0 = NaN; lrcore refuses it).
    weight_decay : float, optional
        :math:`\lambda \ge 0`; L2 added to the gradient, or decoupled if ``decoupled``.
    decoupled : bool, optional
        AdamW's decoupled weight decay.
    amsgrad : bool, optional
        Keep the running maximum of ``v`` in ``vmax`` (required then) and use it.
    vmax : array, optional
        The AMSGrad buffer (updated), like ``x``; only with ``amsgrad=True``.
    maximize : bool, optional
        Ascend instead of descend.
    nonfinite : {"raise", "skip", "unchecked"}, optional
        See :func:`sgd_step`; nothing is written when ``g`` holds NaN or Inf.

    Returns
    -------
    bool
        True if applied, False if skipped.

    Notes
    -----
    The denominator is evaluated as :math:`\sqrt{\hat v} + \epsilon\sqrt{1-\beta_2^t}` with
    the step size :math:`\mathrm{lr}\sqrt{1-\beta_2^t}/(1-\beta_1^t)` (Kingma & Ba, end of
    section 2): the same value with one division per element instead of two.  As in every
    Adam implementation, a gradient so small that :math:`g^2` underflows (|g| < 1e-154 in
    float64, < 1e-19 in float32) gives :math:`v = 0` and a step of :math:`\mathrm{lr}\,m/\epsilon`.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import adam_step
    >>> x = np.array([1.0, 2.0]); g = np.array([0.1, -0.3])
    >>> m = np.zeros(2); v = np.zeros(2)
    >>> adam_step(x, g, m, v, 1, 0.01)
    True
    >>> np.round(x, 6)  # the first Adam step moves every coordinate by ~lr
    array([0.99, 2.01])
    """
    cdef cnp.ndarray X = _as_float_array(x, "x", True)
    cdef int t = _float_typenum(X, "x")
    _check_layout(X, "x", True)
    cdef cnp.ndarray G = _as_float_array(g, "g", False)
    _check_like(G, "g", X, "x", t, False)
    cdef cnp.ndarray M = _as_float_array(m, "m", True)
    _check_like(M, "m", X, "x", t, True)
    cdef cnp.ndarray V = _as_float_array(v, "v", True)
    _check_like(V, "v", X, "x", t, True)
    cdef cnp.ndarray VM = None
    cdef int ams = 1 if amsgrad else 0
    if ams:
        if vmax is None:
            raise ValueError("amsgrad=True needs the vmax buffer (an array like x, zeros at first)")
        VM = _as_float_array(vmax, "vmax", True)
        _check_like(VM, "vmax", X, "x", t, True)
    elif vmax is not None:
        raise ValueError("vmax is only used with amsgrad=True")
    cdef int64_t s = _step_count(step)
    cdef double lr_ = _nonneg(lr, "lr")
    cdef double b1 = _unit(beta1, "beta1"), b2 = _unit(beta2, "beta2")
    cdef double e = _positive(eps, "eps", _EPS_WHY), wd = _nonneg(weight_decay, "weight_decay")
    cdef int dec = 1 if decoupled else 0
    cdef int mx = 1 if maximize else 0
    cdef int policy = _policy(nonfinite)
    if (_overlap(X, G) or _overlap(X, M) or _overlap(X, V) or _overlap(G, M)
            or _overlap(G, V) or _overlap(M, V) or VM is not None):
        arrs = [X, G, M, V]
        names = ["x", "g", "m", "v"]
        if VM is not None:
            arrs.append(VM)
            names.append("vmax")
        _check_disjoint(arrs, names)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void *px = cnp.PyArray_DATA(X)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *pm = cnp.PyArray_DATA(M)
    cdef void *pv = cnp.PyArray_DATA(V)
    cdef void *pvm = cnp.PyArray_DATA(VM) if VM is not None else NULL
    cdef int st, nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_adam_f64(<double *>px, <double *>pg, <double *>pm, <double *>pv,
                            <double *>pvm, n, s, lr_, b1, b2, e, wd, dec, ams, mx, policy != _POLICY_UNCHECKED, nt)
        else:
            st = c_adam_f32(<float *>px, <float *>pg, <float *>pm, <float *>pv,
                            <float *>pvm, n, s, lr_, b1, b2, e, wd, dec, ams, mx, policy != _POLICY_UNCHECKED, nt)
    if st == LRC_OK:
        _mark_written((x, m, v, vmax))
    return _step_outcome(st, policy, "adam_step", "x, m and v were")


def rmsprop_step(x, g, square_avg, lr, *, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, grad_avg=None, buf=None, maximize=False,
                 nonfinite="raise"):
    r"""One in-place RMSprop step, as ``torch.optim.RMSprop``.

    .. math::

        g &\leftarrow g + \lambda x, \qquad s \leftarrow \alpha s + (1-\alpha) g^2 \\
        \bar g &\leftarrow \alpha \bar g + (1-\alpha) g, \quad
            a = \sqrt{s - \bar g^2} + \epsilon \text{ if centered else } \sqrt{s} + \epsilon \\
        b &\leftarrow \mu b + g / a, \quad x \leftarrow x - \mathrm{lr}\, b
            \quad\text{(momentum } \mu > 0\text{; else } x \leftarrow x - \mathrm{lr}\, g / a)

    Tieleman & Hinton (2012), lecture 6.5; centered form from Graves (2013).  One fused
    pass, GIL released.

    Parameters
    ----------
    x, g, square_avg : array
        Parameters (updated), gradient, running mean of squares (updated, zeros at first).
        numpy arrays, CPU torch tensors, DLPack objects or buffers (see :func:`sgd_step`,
        Notes).
    lr : float
        Learning rate, finite and >= 0.
    alpha : float, optional
        Smoothing constant in [0, 1).
    eps : float, optional
        Added to the root, finite and > 0 (0 would give 0/0 = NaN for a zero history).
    weight_decay : float, optional
        L2 coefficient added to the gradient, >= 0.
    momentum : float, optional
        :math:`\mu \ge 0`; when > 0 the buffer ``buf`` is required.
    centered : bool, optional
        Subtract the squared running mean of gradients kept in ``grad_avg`` (required then).
    grad_avg, buf : array, optional
        Buffers like ``x`` (updated), for ``centered`` and ``momentum > 0``.
    maximize : bool, optional
        Ascend instead of descend.
    nonfinite : {"raise", "skip", "unchecked"}, optional
        See :func:`sgd_step`.

    Returns
    -------
    bool
        True if applied, False if skipped.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import rmsprop_step
    >>> x = np.ones(3); g = np.full(3, 0.5); s = np.zeros(3)
    >>> rmsprop_step(x, g, s, 0.01)
    True
    >>> np.round(x, 4)  # first step: x - lr * g / (sqrt(0.01 * g^2) + eps) = 1 - 0.1
    array([0.9, 0.9, 0.9])
    """
    cdef cnp.ndarray X = _as_float_array(x, "x", True)
    cdef int t = _float_typenum(X, "x")
    _check_layout(X, "x", True)
    cdef cnp.ndarray G = _as_float_array(g, "g", False)
    _check_like(G, "g", X, "x", t, False)
    cdef cnp.ndarray S = _as_float_array(square_avg, "square_avg", True)
    _check_like(S, "square_avg", X, "x", t, True)
    cdef cnp.ndarray GA = None, B = None
    cdef double lr_ = _nonneg(lr, "lr")
    cdef double al = _unit(alpha, "alpha")
    cdef double e = _positive(eps, "eps", _EPS_WHY), wd = _nonneg(weight_decay, "weight_decay")
    cdef double mom = _nonneg(momentum, "momentum")
    cdef int cen = 1 if centered else 0
    arrs = [X, G, S]
    names = ["x", "g", "square_avg"]
    if cen:
        if grad_avg is None:
            raise ValueError("centered=True needs the grad_avg buffer (an array like x)")
        GA = _as_float_array(grad_avg, "grad_avg", True)
        _check_like(GA, "grad_avg", X, "x", t, True)
        arrs.append(GA)
        names.append("grad_avg")
    elif grad_avg is not None:
        raise ValueError("grad_avg is only used with centered=True")
    if mom > 0.0:
        if buf is None:
            raise ValueError("momentum > 0 needs the buf buffer (an array like x)")
        B = _as_float_array(buf, "buf", True)
        _check_like(B, "buf", X, "x", t, True)
        arrs.append(B)
        names.append("buf")
    elif buf is not None:
        raise ValueError("buf is only used with momentum > 0")
    cdef int mx = 1 if maximize else 0
    cdef int policy = _policy(nonfinite)
    _check_disjoint(arrs, names)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void *px = cnp.PyArray_DATA(X)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *ps = cnp.PyArray_DATA(S)
    cdef void *pga = cnp.PyArray_DATA(GA) if GA is not None else NULL
    cdef void *pb = cnp.PyArray_DATA(B) if B is not None else NULL
    cdef int st, nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_rmsprop_f64(<double *>px, <double *>pg, <double *>ps, <double *>pga,
                               <double *>pb, n, lr_, al, e, wd, mom, cen, mx, policy != _POLICY_UNCHECKED, nt)
        else:
            st = c_rmsprop_f32(<float *>px, <float *>pg, <float *>ps, <float *>pga,
                               <float *>pb, n, lr_, al, e, wd, mom, cen, mx, policy != _POLICY_UNCHECKED, nt)
    if st == LRC_OK:
        _mark_written((x, square_avg, grad_avg, buf))
    return _step_outcome(st, policy, "rmsprop_step", "x and the buffers were")


def adagrad_step(x, g, sum_sq, step, lr, *, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 maximize=False, nonfinite="raise"):
    r"""One in-place Adagrad step, as ``torch.optim.Adagrad``.

    .. math::

        g \leftarrow g + \lambda x, \quad
        \eta_t = \frac{\mathrm{lr}}{1 + (t - 1)\,\delta}, \quad
        S \leftarrow S + g^2, \quad
        x \leftarrow x - \eta_t \frac{g}{\sqrt{S} + \epsilon}

    Duchi, Hazan & Singer (2011); the decay :math:`\delta` (``lr_decay``) is PyTorch's.

    Parameters
    ----------
    x, g, sum_sq : array
        Parameters (updated), gradient, running sum of squared gradients (updated; starts
        at PyTorch's ``initial_accumulator_value``, 0 by default).  numpy arrays, CPU torch
        tensors, DLPack objects or buffers (see :func:`sgd_step`, Notes).
    step : int
        1-based index of this update (>= 1).
    lr : float
        Learning rate, finite and >= 0.
    lr_decay : float, optional
        :math:`\delta \ge 0`.
    eps : float, optional
        Added to the root, finite and > 0 (0 would give 0/0 = NaN for a zero history).
    weight_decay : float, optional
        L2 coefficient added to the gradient, >= 0.
    maximize : bool, optional
        Ascend instead of descend.
    nonfinite : {"raise", "skip", "unchecked"}, optional
        See :func:`sgd_step`.

    Returns
    -------
    bool
        True if applied, False if skipped.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore.optim import adagrad_step
    >>> x = np.ones(2); g = np.array([2.0, -2.0]); S = np.zeros(2)
    >>> adagrad_step(x, g, S, 1, 0.1)
    True
    >>> x, S
    (array([0.9, 1.1]), array([4., 4.]))
    """
    cdef cnp.ndarray X = _as_float_array(x, "x", True)
    cdef int t = _float_typenum(X, "x")
    _check_layout(X, "x", True)
    cdef cnp.ndarray G = _as_float_array(g, "g", False)
    _check_like(G, "g", X, "x", t, False)
    cdef cnp.ndarray S = _as_float_array(sum_sq, "sum_sq", True)
    _check_like(S, "sum_sq", X, "x", t, True)
    cdef int64_t s = _step_count(step)
    cdef double lr_ = _nonneg(lr, "lr")
    cdef double dec = _nonneg(lr_decay, "lr_decay")
    cdef double e = _positive(eps, "eps", _EPS_WHY), wd = _nonneg(weight_decay, "weight_decay")
    cdef int mx = 1 if maximize else 0
    cdef int policy = _policy(nonfinite)
    if _overlap(X, G) or _overlap(X, S) or _overlap(G, S):
        _check_disjoint([X, G, S], ["x", "g", "sum_sq"])
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void *px = cnp.PyArray_DATA(X)
    cdef void *pg = cnp.PyArray_DATA(G)
    cdef void *ps = cnp.PyArray_DATA(S)
    cdef int st, nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            st = c_adagrad_f64(<double *>px, <double *>pg, <double *>ps, n, s, lr_, dec, e, wd,
                               mx, policy != _POLICY_UNCHECKED, nt)
        else:
            st = c_adagrad_f32(<float *>px, <float *>pg, <float *>ps, n, s, lr_, dec, e, wd,
                               mx, policy != _POLICY_UNCHECKED, nt)
    if st == LRC_OK:
        _mark_written((x, sum_sq))
    return _step_outcome(st, policy, "adagrad_step", "x and sum_sq were")


def _stream_4r3w(a, b, c, d):
    """Benchmark helper: a += b; c += b; d += b in one pass (the memory traffic of Adam).

    Used by ``benchmarks/compare_optim.py`` to measure the machine's bandwidth bound with
    the same compiler, flags and threading as the kernels.  No validation beyond dtype,
    shape and contiguity: not part of the public API.
    """
    cdef int t = _float_typenum(a, "a")
    cdef cnp.ndarray A = <cnp.ndarray>a
    _check_layout(A, "a", True)
    _check_like(b, "b", A, "a", t, False)
    _check_like(c, "c", A, "a", t, True)
    _check_like(d, "d", A, "a", t, True)
    _check_disjoint([A, b, c, d], ["a", "b", "c", "d"])
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef void *pa = cnp.PyArray_DATA(A)
    cdef void *pb = cnp.PyArray_DATA(<cnp.ndarray>b)
    cdef void *pc = cnp.PyArray_DATA(<cnp.ndarray>c)
    cdef void *pd = cnp.PyArray_DATA(<cnp.ndarray>d)
    cdef int nt = _nthreads
    with nogil:
        if t == cnp.NPY_DOUBLE:
            c_stream_4r3w_f64(<double *>pa, <double *>pb, <double *>pc, <double *>pd, n, nt)
        else:
            c_stream_4r3w_f32(<float *>pa, <float *>pb, <float *>pc, <float *>pd, n, nt)
