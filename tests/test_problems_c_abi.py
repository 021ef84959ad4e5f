"""The built-in problems through the exported C ABI (``lrc_problem_*`` of ``lrcore.h``),
called with ctypes: what a C caller that fills the struct itself gets, including the
paths the Python binding never takes (a quadratic's value without a workspace)."""
import ctypes

import numpy as np
import pytest
import scipy.linalg.cython_blas as cython_blas

import lrcore._core as core

c_double_p = ctypes.POINTER(ctypes.c_double)


class Blas(ctypes.Structure):
    _fields_ = [("dgemv", ctypes.c_void_p), ("dsymv", ctypes.c_void_p),
                ("dgemm", ctypes.c_void_p)]


class Problem(ctypes.Structure):
    # lrc_problem, field for field (lrcore.h, section problems)
    _fields_ = [("kind", ctypes.c_int), ("n_samples", ctypes.c_ssize_t),
                ("dim", ctypes.c_ssize_t), ("A", c_double_p), ("b", c_double_p),
                ("X", c_double_p), ("y", c_double_p), ("l2", ctypes.c_double),
                ("work", c_double_p), ("blas", Blas), ("design", ctypes.c_int),
                ("indptr", ctypes.c_void_p), ("indices", ctypes.c_void_p),
                ("data", c_double_p), ("n_classes", ctypes.c_ssize_t),
                ("nthreads", ctypes.c_int)]


def _capsule_pointer(capsule) -> int:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    return get_ptr(capsule, get_name(capsule))


@pytest.fixture(scope="module")
def lib():
    so = ctypes.CDLL(core.__file__)
    so.lrc_problem_value.restype = ctypes.c_double
    so.lrc_problem_value.argtypes = [ctypes.POINTER(Problem), c_double_p,
                                     ctypes.POINTER(ctypes.c_int)]
    so.lrc_problem_value_grad.restype = ctypes.c_double
    so.lrc_problem_value_grad.argtypes = [ctypes.POINTER(Problem), c_double_p, c_double_p,
                                          ctypes.POINTER(ctypes.c_int)]
    so.lrc_problem_workspace_size.restype = ctypes.c_int
    so.lrc_problem_workspace_size.argtypes = [ctypes.POINTER(Problem),
                                              ctypes.POINTER(ctypes.c_size_t)]
    return so


def _ptr(a):
    return a.ctypes.data_as(c_double_p)


@pytest.mark.parametrize("d", [1, 5, 32, 33, 200])
@pytest.mark.parametrize("with_b", [True, False])
def test_quadratic_value_with_and_without_workspace(lib, d, with_b):
    rng = np.random.default_rng(d)
    M = rng.normal(size=(d, d))
    A = np.ascontiguousarray(M + M.T)
    b = rng.normal(size=d) if with_b else None
    w = rng.normal(size=d)
    p = Problem(kind=0, n_samples=0, dim=d, A=_ptr(A), b=_ptr(b) if with_b else None)
    p.blas.dsymv = _capsule_pointer(cython_blas.__pyx_capi__["dsymv"])
    size = ctypes.c_size_t(123)
    assert lib.lrc_problem_workspace_size(ctypes.byref(p), ctypes.byref(size)) == 0
    assert size.value == d
    want = 0.5 * w @ A @ w - (b @ w if with_b else 0.0)
    st = ctypes.c_int(-1)
    f_null = lib.lrc_problem_value(ctypes.byref(p), _ptr(w), ctypes.byref(st))
    assert st.value == 0
    work = np.full(d, np.nan)
    p.work = _ptr(work)
    f_work = lib.lrc_problem_value(ctypes.byref(p), _ptr(w), ctypes.byref(st))
    assert st.value == 0
    g = np.empty(d)
    f_vg = lib.lrc_problem_value_grad(ctypes.byref(p), _ptr(w), _ptr(g), ctypes.byref(st))
    scale = 0.5 * np.abs(w) @ np.abs(A) @ np.abs(w) + (np.abs(b) @ np.abs(w) if with_b else 0)
    for f in (f_null, f_work, f_vg):
        assert abs(f - want) <= 1e-13 * scale, (f, want)
    np.testing.assert_allclose(g, A @ w - (b if with_b else 0.0), rtol=1e-12, atol=1e-12)
