"""Fused update kernels against plain-numpy references, bad input, threads, properties."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import lrcore
from lrcore import optim
from reference import optim as ref

DTYPES = [np.float64, np.float32]
THR = lrcore.openmp_threshold()
# 0, 1, odd, SIMD tails, and around the OpenMP threshold (serial / 1 / 2 threads)
SIZES = [0, 1, 2, 3, 7, 17, 1000, 1001, THR - 1, THR, THR + 1, 2 * THR + 5]


def tol(dtype):
    return dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=3e-6, atol=3e-6)


def rand(rng, n, dtype, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, n).astype(dtype)


def close(actual, expected, dtype):
    assert actual.dtype == dtype
    assert_allclose(actual.astype(np.float64), expected, **tol(dtype))


# ---------------------------------------------------------------------------------------
# kernels vs numpy references
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("wd,maximize", [(0.0, False), (0.1, False), (0.05, True)])
@pytest.mark.parametrize("policy", ["raise", "unchecked"])
def test_sgd_matches_reference(n, dtype, wd, maximize, policy):
    rng = np.random.default_rng(n)
    x, g = rand(rng, n, dtype), rand(rng, n, dtype)
    exp = ref.sgd(x, g, 0.3, wd, maximize)
    assert optim.sgd_step(x, g, 0.3, weight_decay=wd, maximize=maximize,
                          nonfinite=policy) is True
    close(x, exp, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kw", [
    dict(),
    dict(nesterov=True),
    dict(dampening=0.3),
    dict(dampening=0.3, first_step=True),
    dict(weight_decay=0.01, nesterov=True, maximize=True),
])
def test_momentum_matches_reference(n, dtype, kw):
    rng = np.random.default_rng(n + 1)
    x, g, buf = rand(rng, n, dtype), rand(rng, n, dtype), rand(rng, n, dtype)
    ex, eb = ref.momentum(x, g, buf, 0.05, 0.9, **kw)
    assert optim.momentum_step(x, g, buf, 0.05, 0.9, **kw)
    close(x, ex, dtype)
    close(buf, eb, dtype)


ADAM_CASES = [
    dict(),
    dict(weight_decay=0.1),
    dict(weight_decay=0.1, decoupled=True),
    dict(amsgrad=True),
    dict(amsgrad=True, weight_decay=0.02, decoupled=True, maximize=True),
    dict(beta1=0.3, beta2=0.5, eps=1e-3),          # PyTorch's other lerp branch
    dict(beta1=0.0, beta2=0.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kw", ADAM_CASES)
@pytest.mark.parametrize("step", [1, 7])
def test_adam_matches_reference(n, dtype, kw, step):
    rng = np.random.default_rng(n + 2)
    x, g, m = rand(rng, n, dtype), rand(rng, n, dtype), rand(rng, n, dtype)
    v = rand(rng, n, dtype, 0.0, 1.0)
    vmax = (v + rand(rng, n, dtype, 0.0, 0.5)) if kw.get("amsgrad") else None
    ex, em, ev, evm = ref.adam(x, g, m, v, step, 0.01, vmax=vmax, **kw)
    assert optim.adam_step(x, g, m, v, step, 0.01, vmax=vmax, **kw)
    close(x, ex, dtype)
    close(m, em, dtype)
    close(v, ev, dtype)
    if vmax is not None:
        close(vmax, evm, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kw", [
    dict(),
    dict(centered=True),
    dict(momentum=0.9),
    dict(centered=True, momentum=0.5, weight_decay=0.1, maximize=True),
    dict(alpha=0.2),
])
def test_rmsprop_matches_reference(n, dtype, kw):
    rng = np.random.default_rng(n + 3)
    x, g = rand(rng, n, dtype), rand(rng, n, dtype)
    sq = rand(rng, n, dtype, 0.5, 1.0)
    ga = rand(rng, n, dtype, -0.5, 0.5) if kw.get("centered") else None
    buf = rand(rng, n, dtype) if kw.get("momentum", 0) > 0 else None
    ex, es, ega, eb = ref.rmsprop(x, g, sq, 0.01, grad_avg=ga, buf=buf, **kw)
    assert optim.rmsprop_step(x, g, sq, 0.01, grad_avg=ga, buf=buf, **kw)
    close(x, ex, dtype)
    close(sq, es, dtype)
    if ga is not None:
        close(ga, ega, dtype)
    if buf is not None:
        close(buf, eb, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kw", [dict(), dict(lr_decay=0.1, weight_decay=0.2, maximize=True)])
def test_adagrad_matches_reference(n, dtype, kw):
    rng = np.random.default_rng(n + 4)
    x, g = rand(rng, n, dtype), rand(rng, n, dtype)
    s = rand(rng, n, dtype, 0.0, 2.0)
    ex, es = ref.adagrad(x, g, s, 4, 0.1, **kw)
    assert optim.adagrad_step(x, g, s, 4, 0.1, **kw)
    close(x, ex, dtype)
    close(s, es, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multidimensional_arrays_are_treated_as_flat(dtype):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(3, 5, 7)).astype(dtype), rng.normal(size=(3, 5, 7)).astype(dtype)
    m, v = np.zeros_like(x), np.zeros_like(x)
    ex, *_ = ref.adam(x.ravel(), g.ravel(), m.ravel(), v.ravel(), 1, 0.1)
    optim.adam_step(x, g, m, v, 1, 0.1)
    close(x.ravel(), ex, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_does_not_change_results(dtype):
    """The OpenMP split is element-wise, so 1 thread and 2 threads agree bit for bit."""
    rng = np.random.default_rng(5)
    n = 4 * THR + 3
    base = [rand(rng, n, dtype) for _ in range(3)] + [rand(rng, n, dtype, 0, 1)]
    results = []
    try:
        for nt in (1, 2):
            lrcore.set_num_threads(nt)
            x, g, m, v = (a.copy() for a in base)
            optim.adam_step(x, g, m, v, 3, 0.01, weight_decay=0.1, decoupled=True)
            results.append((x, m, v))
    finally:
        lrcore.set_num_threads(0)
    for a, b in zip(*results):
        assert_array_equal(a, b)


def test_num_threads_setting():
    try:
        lrcore.set_num_threads(1)
        assert lrcore.get_num_threads() == 1
        lrcore.set_num_threads(0)
        assert lrcore.get_num_threads() >= 1
        with pytest.raises(ValueError, match="n must be >= 0"):
            lrcore.set_num_threads(-1)
        with pytest.raises(TypeError, match="n must be an integer"):
            lrcore.set_num_threads(1.5)
    finally:
        lrcore.set_num_threads(0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n,pos", [(1, 0), (1000, 999), (3 * THR + 7, 3 * THR + 6), (3 * THR, 5)])
def test_all_finite(dtype, bad, n, pos):
    a = np.ones(n, dtype)
    assert optim.all_finite(a)
    a[pos] = bad
    assert not optim.all_finite(a)
    assert optim.all_finite(np.empty(0, dtype))
    # the largest finite values are finite
    assert optim.all_finite(np.array([np.finfo(dtype).max, -np.finfo(dtype).max], dtype))
    assert not optim.all_finite(a[::-1])  # non-contiguous input is handled


# ---------------------------------------------------------------------------------------
# non-finite gradients: raise or skip, never a partial write
# ---------------------------------------------------------------------------------------

def _calls(dtype, n):
    """(name, fresh-arrays factory, call) for every kernel, with every buffer in use."""
    rng = np.random.default_rng(11)

    def arrays(k):
        return [rand(rng, n, dtype) for _ in range(k)]

    return [
        ("sgd", lambda: arrays(2), lambda a, **kw: optim.sgd_step(a[0], a[1], 0.1, **kw)),
        ("momentum", lambda: arrays(3),
         lambda a, **kw: optim.momentum_step(a[0], a[1], a[2], 0.1, 0.9, **kw)),
        ("adam", lambda: arrays(5),
         lambda a, **kw: optim.adam_step(a[0], a[1], a[2], np.abs(a[3], out=a[3]), 2, 0.1,
                                         amsgrad=True, vmax=np.abs(a[4], out=a[4]), **kw)),
        ("rmsprop", lambda: arrays(5),
         lambda a, **kw: optim.rmsprop_step(a[0], a[1], np.abs(a[2], out=a[2]) + 1, 0.1,
                                            centered=True, grad_avg=a[3], momentum=0.9,
                                            buf=a[4], **kw)),
        ("adagrad", lambda: arrays(3),
         lambda a, **kw: optim.adagrad_step(a[0], a[1], np.abs(a[2], out=a[2]), 1, 0.1, **kw)),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,pos", [(5, 4), (3 * THR + 1, 3 * THR)])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_gradient_raises_and_modifies_nothing(dtype, n, pos, bad):
    for name, make, call in _calls(dtype, n):
        arrs = make()
        call(arrs, nonfinite="skip")      # normalises the buffers (abs etc.) in place
        arrs[1][pos] = bad                # the gradient; the bad entry is in the last chunk
        before = [a.copy() for a in arrs]
        with pytest.raises(lrcore.NonFiniteError, match="NaN or Inf"):
            call(arrs)
        for a, b in zip(arrs, before):
            assert_array_equal(a, b, err_msg=name)
        # NonFiniteError is both a ValueError and a FloatingPointError
        with pytest.raises(ValueError):
            call(arrs)
        with pytest.raises(FloatingPointError):
            call(arrs)
        assert call(arrs, nonfinite="skip") is False, name
        for a, b in zip(arrs, before):
            assert_array_equal(a, b, err_msg=name)
        # "unchecked" trusts the caller: the NaN/Inf reaches x (documented, opt-in)
        assert call(arrs, nonfinite="unchecked") is True
        assert not np.all(np.isfinite(arrs[0])), name


# ---------------------------------------------------------------------------------------
# bad input: clear error naming the argument, nothing modified
# ---------------------------------------------------------------------------------------

def _fresh(n=8, dtype=np.float64):
    rng = np.random.default_rng(3)
    x, g, m = (rng.normal(size=n).astype(dtype) for _ in range(3))
    v = np.abs(rng.normal(size=n)).astype(dtype)
    return x, g, m, v


BAD_ADAM = [
    # (description, mutate(args, kwargs), exception, message fragment)
    ("x not an array", lambda a, k: a.__setitem__(0, list(a[0])), TypeError, "x must be a numpy.ndarray"),
    ("x int dtype", lambda a, k: a.__setitem__(0, a[0].astype(np.int64)), TypeError, "x must have dtype"),
    ("g dtype mismatch", lambda a, k: a.__setitem__(1, a[1].astype(np.float32)), TypeError, "g has dtype float32"),
    ("m shape mismatch", lambda a, k: a.__setitem__(2, np.zeros(7)), ValueError, "m has shape"),
    ("v 2-d vs 1-d", lambda a, k: a.__setitem__(3, np.zeros((2, 4))), ValueError, "v has shape"),
    ("x non-contiguous", lambda a, k: a.__setitem__(0, np.zeros(16)[::2]), ValueError, "x must be C-contiguous"),
    ("g non-contiguous", lambda a, k: a.__setitem__(1, np.zeros(16)[::2]), ValueError, "g must be C-contiguous"),
    ("x read-only", lambda a, k: a[0].setflags(write=False), ValueError, "x is read-only"),
    ("m read-only", lambda a, k: a[2].setflags(write=False), ValueError, "m is read-only"),
    ("x byteswapped", lambda a, k: a.__setitem__(0, a[0].astype(">f8")), ValueError, "native byte order"),
    ("g aliases x", lambda a, k: a.__setitem__(1, a[0]), ValueError, "x and g share memory"),
    ("m aliases x", lambda a, k: a.__setitem__(2, a[0]), ValueError, "x and m share memory"),
    ("v aliases m", lambda a, k: a.__setitem__(3, a[2]), ValueError, "m and v share memory"),
    ("lr nan", lambda a, k: a.__setitem__(5, float("nan")), ValueError, "lr must be a finite number >= 0"),
    ("lr inf", lambda a, k: a.__setitem__(5, float("inf")), ValueError, "lr must be a finite"),
    ("lr negative", lambda a, k: a.__setitem__(5, -1e-3), ValueError, "lr must be a finite number >= 0"),
    ("lr string", lambda a, k: a.__setitem__(5, "0.1"), TypeError, "lr must be a real number"),
    ("step 0", lambda a, k: a.__setitem__(4, 0), ValueError, "step must be >= 1"),
    ("step float", lambda a, k: a.__setitem__(4, 1.0), TypeError, "step must be an integer"),
    ("beta1 = 1", lambda a, k: k.update(beta1=1.0), ValueError, r"beta1 must be in \[0, 1\)"),
    ("beta2 < 0", lambda a, k: k.update(beta2=-0.1), ValueError, r"beta2 must be in \[0, 1\)"),
    ("beta2 nan", lambda a, k: k.update(beta2=float("nan")), ValueError, "beta2"),
    ("eps negative", lambda a, k: k.update(eps=-1e-8), ValueError, "eps must be"),
    ("eps zero", lambda a, k: k.update(eps=0.0), ValueError, "eps must be a finite number > 0"),
    ("weight_decay inf", lambda a, k: k.update(weight_decay=float("inf")), ValueError, "weight_decay"),
    ("amsgrad without vmax", lambda a, k: k.update(amsgrad=True), ValueError, "vmax"),
    ("vmax without amsgrad", lambda a, k: k.update(vmax=np.zeros(8)), ValueError, "amsgrad"),
    ("vmax aliases v", lambda a, k: k.update(amsgrad=True, vmax=a[3]), ValueError, "v and vmax share memory"),
    ("bad policy", lambda a, k: k.update(nonfinite="ignore"), ValueError, "nonfinite must be"),
]


@pytest.mark.parametrize("desc,mutate,exc,msg", BAD_ADAM, ids=[b[0] for b in BAD_ADAM])
def test_adam_bad_input(desc, mutate, exc, msg):
    x, g, m, v = _fresh()
    args = [x, g, m, v, 1, 1e-3]
    kwargs = {}
    mutate(args, kwargs)
    snapshot = [a.copy() for a in args[:4] if isinstance(a, np.ndarray)]
    with pytest.raises(exc, match=msg):
        optim.adam_step(*args, **kwargs)
    after = [a for a in args[:4] if isinstance(a, np.ndarray)]
    for a, b in zip(after, snapshot):
        assert_array_equal(a, b)


def test_partial_overlap_is_detected():
    buf = np.zeros(20)
    x, g = buf[:10], buf[5:15]
    with pytest.raises(ValueError, match="x and g share memory"):
        optim.sgd_step(x, g, 0.1)
    # adjacent, non-overlapping views are fine
    assert optim.sgd_step(buf[:10], buf[10:], 0.1)


def test_other_kernels_bad_input():
    x, g, m, v = _fresh()
    with pytest.raises(ValueError, match="nesterov=True requires"):
        optim.momentum_step(x, g, m, 0.1, 0.9, nesterov=True, dampening=0.1)
    with pytest.raises(ValueError, match="nesterov=True requires"):
        optim.momentum_step(x, g, m, 0.1, 0.0, nesterov=True)
    with pytest.raises(ValueError, match="momentum must be"):
        optim.momentum_step(x, g, m, 0.1, -0.5)
    with pytest.raises(ValueError, match="g and buf share memory"):
        optim.momentum_step(x, g, g, 0.1, 0.9)  # g aliases buf
    with pytest.raises(ValueError, match="grad_avg"):
        optim.rmsprop_step(x, g, v, 0.1, centered=True)
    with pytest.raises(ValueError, match="buf"):
        optim.rmsprop_step(x, g, v, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\)"):
        optim.rmsprop_step(x, g, v, 0.1, alpha=1.0)
    with pytest.raises(ValueError, match="step must be >= 1"):
        optim.adagrad_step(x, g, v, 0, 0.1)
    with pytest.raises(ValueError, match="lr_decay"):
        optim.adagrad_step(x, g, v, 1, 0.1, lr_decay=-1.0)
    with pytest.raises(TypeError, match="g must be a numpy.ndarray"):
        optim.sgd_step(x, [1.0] * 8, 0.1)
    assert_array_equal(x, _fresh()[0])


def test_scalars_accept_numpy_types():
    x, g, m, v = _fresh()
    assert optim.adam_step(x, g, m, v, np.int64(2), np.float32(0.01), beta1=np.float64(0.8))


# ---------------------------------------------------------------------------------------
# concurrency: the kernels release the GIL and keep no shared state
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_on_separate_arrays_match_serial(dtype):
    n_workers, n, steps = 4, 2 * THR + 11, 5
    rng = np.random.default_rng(9)
    inits = [[rand(rng, n, dtype) for _ in range(2)] for _ in range(n_workers)]
    grads = [[rand(rng, n, dtype) for _ in range(steps)] for _ in range(n_workers)]

    def run(k, out):
        x = inits[k][0].copy()
        m, v = np.zeros_like(x), np.zeros_like(x)
        buf = inits[k][1].copy()
        for t in range(steps):
            optim.adam_step(x, grads[k][t], m, v, t + 1, 1e-2, weight_decay=0.01)
            optim.momentum_step(x, grads[k][t], buf, 1e-2, 0.9, nesterov=True)
        out[k] = (x, m, v, buf)

    serial = {}
    for k in range(n_workers):
        run(k, serial)
    parallel = {}
    barrier = threading.Barrier(n_workers)

    def worker(k):
        barrier.wait()
        run(k, parallel)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(n_workers):
        for a, b in zip(serial[k], parallel[k]):
            assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------

finite64 = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(0, 70).map(lambda k: (2, k)), elements=finite64),
    lr=st.floats(0, 10), wd=st.floats(0, 10), maximize=st.booleans(),
)
def test_property_sgd_equals_reference(data, lr, wd, maximize):
    x, g = data[0].copy(), data[1].copy()
    exp = ref.sgd(x, g, lr, wd, maximize)
    optim.sgd_step(x, g, lr, weight_decay=wd, maximize=maximize)
    assert_allclose(x, exp, rtol=1e-12, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(1, 40).map(lambda k: (3, k)), elements=finite64),
    step=st.integers(1, 10_000), lr=st.floats(0, 1),
    beta1=st.floats(0, 0.999), beta2=st.floats(0, 0.9999), eps=st.floats(1e-12, 1e-2),
)
def test_property_adam_equals_reference_and_is_bounded(data, step, lr, beta1, beta2, eps):
    x, g, m = (data[i].copy() for i in range(3))
    v = m * m
    x0 = x.copy()
    exp_x, exp_m, exp_v, _ = ref.adam(x, g, m, v, step, lr, beta1, beta2, eps)
    optim.adam_step(x, g, m, v, step, lr, beta1=beta1, beta2=beta2, eps=eps)
    assert np.all(np.isfinite(x))
    # PyTorch's lerp (which lrcore reproduces) computes beta1 as 1 - (1 - beta1): exact to
    # rounding of the *scale* of m and g, not of beta1 * m, so the absolute tolerance scales
    scale = 1.0 + np.abs(data).max()
    assert_allclose(m, exp_m, rtol=1e-12, atol=1e-15 * scale)
    assert_allclose(v, exp_v, rtol=1e-12, atol=1e-300)
    # ... and that absolute error of m reaches x through lr / ((1 - beta1^t)(sqrt(v_hat) + eps))
    # (hypothesis found beta1 = 1e-12, g = 0, |m| = 3.5e5, eps = 2^-8: m = 3.5e-7 +- 6e-11)
    m_err = 1e-15 * scale * lr / ((1.0 - beta1 ** step) * eps)
    assert_allclose(x, exp_x, rtol=1e-9, atol=1e-9 * (1 + lr) + m_err)


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(1, 40).map(lambda k: (2, k)), elements=finite64),
    lr=st.floats(0, 1), beta1=st.floats(0, 0.999), beta2=st.floats(0, 0.9999),
    eps=st.floats(1e-300, 1e-2),
)
def test_property_first_adam_step_moves_at_most_lr(data, lr, beta1, beta2, eps):
    """From zero moments, step 1 is lr * g / (|g| + eps): never longer than lr.

    (Unless g * g underflows to 0 -- |g| < 1e-154 -- where Adam itself, in PyTorch too,
    divides g by eps alone; such gradients are flushed to 0 here.)"""
    x, g = data[0].copy(), data[1].copy()
    g[np.abs(g) < 1e-150] = 0.0
    x0 = x.copy()
    m, v = np.zeros_like(x), np.zeros_like(x)
    optim.adam_step(x, g, m, v, 1, lr, beta1=beta1, beta2=beta2, eps=eps)
    assert np.all(np.abs(x - x0) <= lr * (1 + 1e-12) + 4 * np.spacing(np.abs(x0)))
    # and it goes downhill: every coordinate moves against its gradient (or not at all)
    assert np.all((x0 - x) * g >= 0)


# ---------------------------------------------------------------------------------------
# stateful wrappers
# ---------------------------------------------------------------------------------------

def test_wrapper_lr_callable_and_state_roundtrip():
    x = np.array([1.0, -2.0, 3.0])
    seen = []

    def sched(t):
        seen.append(t)
        return 0.1 / (1 + t)

    opt = optim.Adam(x, lr=sched)
    for _ in range(3):
        assert opt.step(2 * x)
    assert seen == [0, 1, 2] and opt.t == 3
    sd = opt.state_dict()
    x_saved = x.copy()
    opt.step(2 * x)
    after_one = x.copy()
    x[:] = x_saved
    opt.load_state_dict(sd)
    opt.step(2 * x)
    assert_array_equal(x, after_one)


def test_wrapper_multiple_arrays_all_or_nothing():
    a, b = np.ones(4), np.ones((2, 3), np.float32)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    assert opt.step([np.ones(4), np.ones((2, 3), np.float32)])
    a0, b0 = a.copy(), b.copy()
    bad = np.ones((2, 3), np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(lrcore.NonFiniteError, match=r"grads\[1\]"):
        opt.step([np.ones(4), bad])
    assert_array_equal(a, a0)
    assert_array_equal(b, b0)
    with pytest.raises(ValueError, match=r"grads\[1\] has dtype float64"):
        opt.step([np.ones(4), np.ones((2, 3))])
    assert_array_equal(a, a0)
    skip = optim.SGD([a, b], lr=0.1, nonfinite="skip")
    assert skip.step([np.ones(4), bad]) is False
    assert skip.n_skipped == 1 and skip.t == 0
    assert_array_equal(a, a0)


def test_wrapper_validation():
    x = np.ones(3)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        optim.SGD(x, lr=-1.0)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\)"):
        optim.Adam(x, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match=r"params\[0\] must be a numpy.ndarray"):
        optim.Adam([1.0, 2.0])
    with pytest.raises(ValueError, match="share memory"):
        optim.Adam([x, x])
    opt = optim.SGD(x, lr=lambda t: float("nan"))
    with pytest.raises(ValueError, match=r"lr\(0\) must be a finite number"):
        opt.step(np.ones(3))
    assert_array_equal(x, np.ones(3))
