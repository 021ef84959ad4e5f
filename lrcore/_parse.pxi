# _parse.pxi -- bindings of csrc/parse.c (text parsers: numbers, CSV, svmlight).
# Included by _core.pyx.  The Python API is lrcore.datasets.load_file
# (lrcore/datasets/_files.py), which reads the file, sizes the output arrays and turns
# the status codes and error positions returned here into one-line messages.
#
# Nothing here raises for bad *data*: every parser returns (status, ..., error) with
# error = (line, field, start, end, a, b) as in csrc/parse.h.  Misuse of the functions
# themselves (wrong dtype, wrong size) raises TypeError/ValueError.  Parsing runs without
# the GIL, in bounded pieces of rows with a signal check in between (Ctrl-C works).

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, INT32_MAX, INT64_MAX
from libc.string cimport memset

cdef extern from "parse.h" nogil:
    int LRCI_PARSE_OK
    int LRCI_PARSE_EMISSING
    int LRCI_PARSE_ENUMBER
    int LRCI_PARSE_ERANGE
    int LRCI_PARSE_EFIELDS
    int LRCI_PARSE_EQUOTE
    int LRCI_PARSE_EAFTERQUOTE
    int LRCI_PARSE_ELABEL
    int LRCI_PARSE_EPAIR
    int LRCI_PARSE_EINDEX
    int LRCI_PARSE_EORDER
    int LRCI_PARSE_EQID
    int LRCI_PARSE_EZERO
    int LRCI_PARSE_EVALUE
    int LRCI_PARSE_ESIZE
    int LRCI_PARSE_EINVAL
    int LRCI_SVM_ONE_BASED
    int LRCI_SVM_ZERO_BASED
    int LRCI_SVM_AUTO
    int64_t LRCI_SVM_MAX_INDEX

    ctypedef struct lrci_parse_error:
        int64_t line
        int64_t field
        ptrdiff_t start
        ptrdiff_t end
        int64_t a
        int64_t b
    ctypedef struct lrci_parse_state:
        ptrdiff_t pos
        int64_t line
        int64_t row
        int64_t nnz
        int done
    ctypedef struct lrci_csv_spec:
        const char *buf
        ptrdiff_t len
        char delim
        ptrdiff_t ncols
        const int64_t *colmap
        double *X
        ptrdiff_t xcols
        double *y
        int64_t capacity
    ctypedef struct lrci_svm_info:
        int64_t n_rows
        int64_t nnz
        int64_t max_index
        int64_t min_index
        int64_t n_qid
    ctypedef struct lrci_svm_spec:
        const char *buf
        ptrdiff_t len
        int zero_based
        int64_t offset
        int64_t n_features
        double *y
        int32_t *indptr32
        int64_t *indptr64
        int32_t *indices32
        int64_t *indices64
        double *data
        int64_t n_rows
        int64_t nnz

    int lrci_parse_double(const char *s, ptrdiff_t n, double *out)
    int64_t lrci_count_lines(const char *buf, ptrdiff_t len)
    int lrci_csv_parse(const lrci_csv_spec *spec, lrci_parse_state *st, int64_t max_rows,
                      lrci_parse_error *err)
    int lrci_svm_scan(const lrci_svm_spec *spec, lrci_parse_state *st, int64_t max_rows,
                     lrci_svm_info *info, lrci_parse_error *err)
    int lrci_svm_fill(const lrci_svm_spec *spec, lrci_parse_state *st, int64_t max_rows,
                     lrci_parse_error *err)


#: status codes of csrc/parse.h by name ("OK", "EMISSING", ...)
PARSE_STATUS = {
    "OK": LRCI_PARSE_OK, "EMISSING": LRCI_PARSE_EMISSING, "ENUMBER": LRCI_PARSE_ENUMBER,
    "ERANGE": LRCI_PARSE_ERANGE, "EFIELDS": LRCI_PARSE_EFIELDS, "EQUOTE": LRCI_PARSE_EQUOTE,
    "EAFTERQUOTE": LRCI_PARSE_EAFTERQUOTE, "ELABEL": LRCI_PARSE_ELABEL,
    "EPAIR": LRCI_PARSE_EPAIR, "EINDEX": LRCI_PARSE_EINDEX, "EORDER": LRCI_PARSE_EORDER,
    "EQID": LRCI_PARSE_EQID, "EZERO": LRCI_PARSE_EZERO, "EVALUE": LRCI_PARSE_EVALUE,
    "ESIZE": LRCI_PARSE_ESIZE, "EINVAL": LRCI_PARSE_EINVAL,
}

#: largest svmlight feature index accepted
PARSE_SVM_MAX_INDEX = LRCI_SVM_MAX_INDEX

# rows per nogil call between signal checks
cdef int64_t _PARSE_CHUNK = 1 << 16


cdef inline Py_ssize_t _parse_start(bytes buf, Py_ssize_t start) except -1:
    if start < 0 or start > PyBytes_GET_SIZE(buf):
        raise ValueError(f"start must be in [0, {PyBytes_GET_SIZE(buf)}], got {start}")
    return start


cdef inline tuple _parse_err(lrci_parse_error *e):
    return (e.line, e.field, e.start, e.end, e.a, e.b)


cdef inline char *_parse_array(object a, str name, object dtype, Py_ssize_t n) except NULL:
    """Data pointer of a writeable C-contiguous 1-D ``dtype`` array of length >= n."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if arr.dtype != dtype or cnp.PyArray_NDIM(arr) != 1:
        raise TypeError(f"{name} must be a 1-D {np.dtype(dtype)} array, got {arr.dtype} "
                        f"with {cnp.PyArray_NDIM(arr)} dimension(s)")
    _check_layout(arr, name, True)
    if cnp.PyArray_DIM(arr, 0) < n:
        raise ValueError(f"{name} must hold at least {n} values, got {cnp.PyArray_DIM(arr, 0)}")
    return <char *>cnp.PyArray_DATA(arr)


def parse_number(bytes s):
    """``(status, value)`` of the decimal number ``s`` (csrc/parse.c's parser).

    ``status`` is ``PARSE_STATUS["OK"]``, ``["ENUMBER"]`` (value 0.0) or ``["ERANGE"]``
    (value +-inf).  Correctly rounded; no surrounding blanks, hex, inf or nan accepted.
    """
    cdef double v = 0.0
    cdef int st = lrci_parse_double(PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s), &v)
    return st, v


def parse_count_lines(bytes buf, Py_ssize_t start=0):
    """Number of line terminators ("\\n", "\\r\\n" or "\\r") in ``buf[start:]``."""
    _parse_start(buf, start)
    cdef const char *b = PyBytes_AS_STRING(buf)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(buf)
    cdef int64_t out
    with nogil:
        out = lrci_count_lines(b + start, n - start)
    return out


def parse_csv(bytes buf, Py_ssize_t start, int64_t first_line, str delim, object colmap,
              object X, object y):
    """Parse the CSV records of ``buf[start:]`` (line ``first_line`` on) into X and y.

    ``colmap`` (int64, one entry per field): >= 0 a column of ``X``, -1 ``y``, -2 none.
    ``X`` is a C-contiguous float64 (capacity, xcols) array, ``y`` float64 (capacity,).
    Returns ``(status, rows, error)``.
    """
    _parse_start(buf, start)
    if len(delim) != 1 or ord(delim) > 127:
        raise ValueError(f"delim must be one ASCII character, got {delim!r}")
    if not cnp.PyArray_Check(X) or (<cnp.ndarray>X).dtype != np.float64 or \
            cnp.PyArray_NDIM(<cnp.ndarray>X) != 2:
        raise TypeError("X must be a 2-D float64 numpy.ndarray")
    _check_layout(<cnp.ndarray>X, "X", True)
    cdef Py_ssize_t cap = cnp.PyArray_DIM(<cnp.ndarray>X, 0)
    cdef Py_ssize_t xcols = cnp.PyArray_DIM(<cnp.ndarray>X, 1)
    cdef Py_ssize_t ncols = len(colmap)
    if ncols < 1:
        raise ValueError("colmap must have at least one entry")
    cdef char *cm = _parse_array(colmap, "colmap", np.int64, ncols)
    cdef char *yp = _parse_array(y, "y", np.float64, cap)
    cdef Py_ssize_t j
    for j in range(ncols):
        if not -2 <= (<int64_t *>cm)[j] < xcols:
            raise ValueError(f"colmap[{j}] = {(<int64_t *>cm)[j]} is out of range for "
                             f"{xcols} columns")
    cdef lrci_csv_spec spec
    spec.buf = PyBytes_AS_STRING(buf)
    spec.len = PyBytes_GET_SIZE(buf)
    spec.delim = <char>ord(delim)
    spec.ncols = ncols
    spec.colmap = <const int64_t *>cm
    spec.X = <double *>cnp.PyArray_DATA(<cnp.ndarray>X)
    spec.xcols = xcols
    spec.y = <double *>yp
    spec.capacity = cap
    cdef lrci_parse_state st
    st.pos = start
    st.line = first_line
    st.row = 0
    st.nnz = 0
    st.done = 0
    cdef lrci_parse_error err
    err.line = err.field = err.a = err.b = 0
    err.start = err.end = 0
    cdef int status
    while True:
        with nogil:
            status = lrci_csv_parse(&spec, &st, _PARSE_CHUNK, &err)
        if status != LRCI_PARSE_OK or st.done:
            break
        PyErr_CheckSignals()
    return status, st.row, _parse_err(&err)


cdef inline int _svm_mode(object zero_based) except -1:
    if zero_based is True:
        return LRCI_SVM_ZERO_BASED
    if zero_based is False:
        return LRCI_SVM_ONE_BASED
    if zero_based == "auto":
        return LRCI_SVM_AUTO
    raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")


def parse_svmlight_scan(bytes buf, Py_ssize_t start, object zero_based):
    """First pass over svmlight lines: validate and count.

    Returns ``(status, (n_rows, nnz, max_index, min_index, n_qid), error)``; max_index is
    -1 when there are no entries.
    """
    _parse_start(buf, start)
    cdef lrci_svm_spec spec
    memset(&spec, 0, sizeof(spec))
    spec.buf = PyBytes_AS_STRING(buf)
    spec.len = PyBytes_GET_SIZE(buf)
    spec.zero_based = _svm_mode(zero_based)
    cdef lrci_parse_state st
    st.pos = start
    st.line = 1
    st.row = 0
    st.nnz = 0
    st.done = 0
    cdef lrci_svm_info info
    info.n_rows = info.nnz = info.n_qid = 0
    info.max_index = -1
    info.min_index = INT64_MAX
    cdef lrci_parse_error err
    err.line = err.field = err.a = err.b = 0
    err.start = err.end = 0
    cdef int status
    while True:
        with nogil:
            status = lrci_svm_scan(&spec, &st, _PARSE_CHUNK, &info, &err)
        if status != LRCI_PARSE_OK or st.done:
            break
        PyErr_CheckSignals()
    return status, (info.n_rows, info.nnz, info.max_index, info.min_index, info.n_qid), \
        _parse_err(&err)


def parse_svmlight_fill(bytes buf, Py_ssize_t start, object zero_based, int64_t offset,
                        int64_t n_features, object y, object indptr, object indices,
                        object data):
    """Second pass: convert into CSR arrays sized by :func:`parse_svmlight_scan`.

    ``y``, ``data`` float64; ``indptr`` and ``indices`` both int32 or both int64.
    Returns ``(status, error)``.
    """
    _parse_start(buf, start)
    if not (cnp.PyArray_Check(indptr) and cnp.PyArray_Check(indices)):
        raise TypeError("indptr and indices must be numpy arrays")
    idx_dtype = (<cnp.ndarray>indptr).dtype
    if idx_dtype != np.int32 and idx_dtype != np.int64:
        raise TypeError(f"indptr must be int32 or int64, got {idx_dtype}")
    cdef Py_ssize_t n_rows = len(y)
    cdef Py_ssize_t nnz = len(data)
    if offset < 0 or n_features < 0:
        raise ValueError("offset and n_features must be >= 0")
    cdef lrci_svm_spec spec
    memset(&spec, 0, sizeof(spec))
    spec.buf = PyBytes_AS_STRING(buf)
    spec.len = PyBytes_GET_SIZE(buf)
    spec.zero_based = _svm_mode(zero_based)
    spec.offset = offset
    spec.n_features = n_features
    spec.y = <double *>_parse_array(y, "y", np.float64, n_rows)
    spec.data = <double *>_parse_array(data, "data", np.float64, nnz)
    if idx_dtype == np.int32:
        if nnz > INT32_MAX or n_rows > INT32_MAX or n_features - 1 > INT32_MAX:
            raise ValueError("int32 indices cannot hold this matrix; use int64")
        spec.indptr32 = <int32_t *>_parse_array(indptr, "indptr", np.int32, n_rows + 1)
        spec.indices32 = <int32_t *>_parse_array(indices, "indices", np.int32, nnz)
    else:
        spec.indptr64 = <int64_t *>_parse_array(indptr, "indptr", np.int64, n_rows + 1)
        spec.indices64 = <int64_t *>_parse_array(indices, "indices", np.int64, nnz)
    spec.n_rows = n_rows
    spec.nnz = nnz
    cdef lrci_parse_state st
    st.pos = start
    st.line = 1
    st.row = 0
    st.nnz = 0
    st.done = 0
    cdef lrci_parse_error err
    err.line = err.field = err.a = err.b = 0
    err.start = err.end = 0
    cdef int status
    while True:
        with nogil:
            status = lrci_svm_fill(&spec, &st, _PARSE_CHUNK, &err)
        if status != LRCI_PARSE_OK or st.done:
            break
        PyErr_CheckSignals()
    if status == LRCI_PARSE_OK and (st.row != n_rows or st.nnz != nnz):
        status = LRCI_PARSE_ESIZE
        err.a, err.b = st.row, st.nnz
    return status, _parse_err(&err)
