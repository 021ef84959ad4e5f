"""Tests of lrcore.schedules: closed forms, scalar/vector bit equality, serialization,
composition, validation, ReduceOnPlateau, HF/optax compat, and properties (hypothesis).

References are independent of the implementation: closed forms written out with
``math``/``mpmath`` (exact trigonometry for the cosine family) -- one-liners inline here,
the longer ones and HF transformers'/optax's formulas transcribed from their sources in
``reference/schedules.py``.  PyTorch differential tests live in test_schedules_torch.py.
"""
from __future__ import annotations

import copy
import json
import math
import pickle
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore
from lrcore import schedules as S
from lrcore.schedules import compat
from reference import schedules as ref

mpmath = ref.mpmath   # 40 digits; None when mpmath is not installed

#: exact (40-digit) trigonometric references; mpmath ships with sympy (a torch dependency)
needs_mpmath = pytest.mark.skipif(mpmath is None, reason="exact trigonometric references "
                                  "need mpmath (pip install mpmath)")
BIG = [2**31, 2**52, 2**52 + 1, 2**62, 2**63 - 1]


def close(a, b, ulps=8):
    """a == b within `ulps` units in the last place of b (exact if b == 0)."""
    a, b = float(a), float(b)
    if b == 0.0:
        return a == 0.0
    return abs(a - b) <= ulps * math.ulp(abs(b))


def assert_ref(s, closed, ts, ulps=8):
    for t in ts:
        got, want = s(t), float(closed(t))
        assert close(got, want, ulps), f"{s!r} at t={t}: {got!r} != {want!r}"


# ----------------------------------------------------------------------------------------
# a catalogue of schedules covering every constructor, flag and composite
# ----------------------------------------------------------------------------------------

def catalogue():
    return [
        S.constant(0.1),
        S.step(0.1, 7, 0.5),
        S.multistep(0.1, [3, 10, 50], 0.3),
        S.exponential(0.1, 0.97),
        S.exponential(0.1, 0.5, every=4, staircase=True, floor=1e-3),
        S.exponential(1e-4, 1.1, ceiling=1.0),
        S.inverse_time(0.1, 0.5, every=3),
        S.inverse_time(0.1, 0.5, every=3, staircase=True),
        S.inverse_sqrt(0.1, 100),
        S.polynomial(0.1, 50),
        S.polynomial(0.1, 50, end=0.01, power=2.5),
        S.linear(0.0, 0.1, 10),
        S.linear(0.3, 0.1, 17),
        S.cosine(0.1, 100),
        S.cosine(0.1, 100, floor=0.01, exponent=2.0),
        S.cosine(0.1, 37, periodic=True),
        S.cosine(0.1, 37, periodic=True, exponent=0.5),
        S.cosine(0.01, 20, floor=0.1),
        S.cosine_restarts(0.1, 10),
        S.cosine_restarts(0.1, 10, period_mult=2, peak_decay=0.5, floor=1e-3, warmup=3),
        S.cosine_restarts(0.1, 10, warmup=2, warmup_start=0.0),
        S.cyclic(0.01, 0.1, 5),
        S.cyclic(0.01, 0.1, 5, 11, mode="triangular2"),
        S.cyclic(0.01, 0.1, 4, 0, mode="exp_range", gamma=0.99),
        S.onecycle(0.1, 100),
        S.onecycle(0.1, 100, anneal="linear", three_phase=True),
        S.onecycle(0.1, 97, torch_phase_ends=True),
        S.onecycle(0.1, 97, torch_phase_ends=True, three_phase=True, anneal="linear"),
        S.warmup_cosine(0.1, 10, 100),
        S.warmup_cosine(0.1, 0, 100, floor=1e-3),
        S.warmup_cosine(0.1, 10, 100, start=0.0, exponent=0.5),
        S.wsd(0.1, 10, 20, 30),
        S.wsd(0.1, 0, 0, 30, decay="cosine"),
        S.wsd(0.1, 5, 5, 30, decay="1-sqrt", start=1e-3, floor=1e-3),
        S.piecewise_constant([5, 10], [0.1, 0.05, 0.01]),
        S.piecewise_constant([], [0.1]),
        S.piecewise_linear([0, 10, 30], [0.0, 0.1, 0.02]),
        S.piecewise_linear([5], [0.1]),
        S.piecewise_linear([3, 8], [0.1, 0.2]),
        S.join([S.linear(0.0, 0.1, 10), S.cosine(0.1, 90)], [10]),
        S.join([S.constant(0.1), S.join([S.step(0.1, 3), S.cosine(0.05, 10)], [7]), 0.001],
               [5, 30]),
        S.join([S.cosine(0.1, 5)], []),
        S.warmup(S.cosine(0.1, 50), 10),
        S.warmup(S.step(0.1, 5), 5, start=0.02),
        S.warmup(S.join([S.constant(0.2), S.linear(0.2, 0.0, 20)], [15]), 4, start=0.0),
        S.cosine(0.1, 100) * 0.5,
        2.0 * S.linear(0.0, 0.1, 10),
        S.cosine(0.1, 100) * S.linear(0.0, 1.0, 10),
        S.clip(S.exponential(1e-3, 1.5), 1e-3, 0.5),
        S.clip(S.cosine(0.1, 100), lo=0.02),
        compat.CosineAnnealingWarmRestarts(0.1, 7, 3),
        compat.MultiStepLR(0.1, [9, 3, 3]),
        compat.hf_wsd(0.1, 10, 20, num_training_steps=100, decay_type="1-sqrt", min_lr_ratio=0.1),
        compat.optax_exponential_decay(0.1, 10, 0.5, transition_begin=5, end_value=1e-3),
    ]


CAT = catalogue()
IDS = [repr(s)[:60] for s in CAT]


# ----------------------------------------------------------------------------------------
# closed forms at hand-picked steps
# ----------------------------------------------------------------------------------------

def test_constant():
    s = S.constant(0.25)
    assert [s(t) for t in [0, 1, 10**9, 2**63 - 1]] == [0.25] * 4


def test_step_and_multistep():
    s = S.step(0.1, 10, 0.5)
    assert_ref(s, lambda t: 0.1 * 0.5 ** (t // 10), [0, 1, 9, 10, 11, 19, 20, 99, 1000], ulps=0)
    assert s(2**62) == 0.0  # 0.5**(2**62 / 10) underflows, no overflow or UB
    m = S.multistep(0.1, [3, 6, 10], 0.1)
    want = {0: 0.1, 2: 0.1, 3: 0.1 * 0.1, 5: 0.1 * 0.1, 6: 0.1 * 0.1**2, 9: 0.1 * 0.1**2,
            10: 0.1 * 0.1**3, 11: 0.1 * 0.1**3, 2**63 - 1: 0.1 * 0.1**3}
    for t, v in want.items():
        assert m(t) == v


def test_exponential():
    s = S.exponential(0.1, 0.9)
    assert_ref(s, lambda t: 0.1 * 0.9**t, [0, 1, 2, 50, 1000], ulps=2)
    s = S.exponential(0.1, 0.5, every=3, staircase=True, floor=0.01)
    assert [s(t) for t in [0, 2, 3, 5, 6, 9, 12, 100]] == \
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 0.01, 0.01]
    s = S.exponential(0.1, 0.5, every=4)
    assert close(s(2), 0.1 * 0.5**0.5, 2) and close(s(6), 0.1 * 0.5**1.5, 2)
    g = S.exponential(1.0, 2.0, ceiling=100.0)
    assert [g(t) for t in [0, 1, 6, 7, 2**62]] == [1.0, 2.0, 64.0, 100.0, 100.0]
    with pytest.raises(lrcore.NonFiniteError, match="overflow"):
        S.exponential(1.0, 2.0)(2000)
    with pytest.raises(lrcore.NonFiniteError, match="t=2000"):
        S.exponential(1.0, 2.0)(np.array([0, 5, 2000]))
    assert S.exponential(0.0, 2.0)(2000) == 0.0  # not 0 * inf


def test_inverse_time_and_sqrt():
    s = S.inverse_time(0.1, 0.5, every=2)
    assert_ref(s, lambda t: 0.1 / (1 + 0.5 * t / 2), [0, 1, 2, 3, 100, 2**40], ulps=2)
    s = S.inverse_time(0.1, 0.5, every=2, staircase=True)
    assert_ref(s, lambda t: 0.1 / (1 + 0.5 * (t // 2)), [0, 1, 2, 3, 101], ulps=2)
    s = S.inverse_sqrt(0.1, 100)
    assert_ref(s, lambda t: 0.1 / math.sqrt((t + 100) / 100), [0, 1, 300, 9900, 2**50], ulps=2)
    assert s(0) == 0.1 and 0 < s(2**63 - 1) < 1e-8


def test_polynomial_and_linear():
    s = S.polynomial(0.1, 40, end=0.01, power=2.0)
    closed = lambda t: (0.1 - 0.01) * (1 - min(t, 40) / 40) ** 2 + 0.01  # noqa: E731
    assert_ref(s, closed, [0, 1, 20, 39, 40, 41, 2**62], ulps=4)
    assert s(40) == 0.01 and s(2**63 - 1) == 0.01
    s = S.linear(0.3, 0.1, 7)
    assert s(0) == 0.3 and s(7) == 0.1 and s(8) == 0.1 and s(2**62) == 0.1
    assert_ref(s, lambda t: 0.3 + (0.1 - 0.3) * min(t, 7) / 7, range(9), ulps=2)


@needs_mpmath
def test_cosine_closed_form_exact_trig():
    T, lr, fl = 1000, 0.1, 0.001
    s = S.cosine(lr, T, floor=fl)
    closed = lambda t: fl + (lr - fl) * ref.cos_half(mpmath.mpf(min(t, T)) / T)  # noqa: E731
    assert_ref(s, closed, [0, 1, 2, 250, 499, 500, 501, 750, 998, 999, 1000, 1001, 10**6, 2**62],
               ulps=4)
    assert s(0) == lr and s(T) == fl and s(2**63 - 1) == fl
    # near the end of the decay the value stays accurate to a few ulp *relative*
    z = S.cosine(1.0, 10**9)
    for t in [10**9 - 1, 10**9 - 2, 10**9 - 1000]:
        assert close(z(t), ref.cos_half(mpmath.mpf(t) / 10**9), 4)
    # exponent
    s = S.cosine(lr, T, floor=fl, exponent=3.0)
    closed = lambda t: fl + (lr - fl) * ref.cos_half(mpmath.mpf(min(t, T)) / T) ** 3  # noqa: E731
    assert_ref(s, closed, [0, 1, 333, 999, 1000, 5000], ulps=8)


@needs_mpmath
def test_cosine_periodic_is_pytorch_convention():
    s = S.cosine(0.1, 10, floor=0.01, periodic=True)
    closed = lambda t: 0.01 + 0.09 * ref.cos_half(mpmath.mpf(t) / 10)  # noqa: E731
    assert_ref(s, closed, [0, 5, 10, 11, 15, 19, 20, 21, 2**40 + 3, 2**62 + 5], ulps=4)
    assert s(20) == 0.1 and s(10) == 0.01 and s(20 * 2**57) == 0.1 and s(20 * 2**57 + 10) == 0.01


@needs_mpmath
def test_cosine_accuracy_random_vs_mpmath():
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(300):
        T = int(rng.integers(1, 10**12))
        t = int(rng.integers(0, T + 1))
        got = S.cosine(1.0, T)(t)
        want = ref.cos_half(mpmath.mpf(t) / T)
        if want != 0:
            worst = max(worst, float(abs(got - want) / math.ulp(float(want))))
    assert worst <= 4.0, worst


@needs_mpmath
def test_sinpi_kernel_accuracy():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-4, 4, 2000), rng.uniform(0, 0.25, 2000),
                        [0.0, 0.25, 0.5, 1.0, -0.5, 1e-300, 3.5]])
    got = lrcore._core._sinpi(x)
    worst = 0.0
    for xi, gi in zip(x, got):
        want = mpmath.sinpi(mpmath.mpf(float(xi)))
        if want == 0:
            assert gi == 0.0
            continue
        worst = max(worst, float(abs(gi - want) / math.ulp(float(want))))
    assert worst <= 1.5, worst
    ca = lrcore._core._cos_anneal(np.linspace(-3, 3, 601))
    for xi, gi in zip(np.linspace(-3, 3, 601), ca):
        assert close(gi, ref.cos_half(float(xi)), 4)


@needs_mpmath
def test_cosine_restarts():
    s = S.cosine_restarts(0.1, 10, period_mult=2, floor=0.001)
    # cycles [0,10) [10,30) [30,70) [70,150) ...
    assert_ref(s, lambda t: ref.cosine_restarts(t, 0.1, 10, period_mult=2, floor=0.001),
               [0, 1, 9, 10, 11, 29, 30, 69, 70, 149, 150, 10**6], ulps=4)
    assert s(10) == s(30) == s(70) == 0.1
    assert math.isfinite(s(2**63 - 1)) and math.isfinite(s(2**62))
    s = S.cosine_restarts(0.1, 10, peak_decay=0.5, warmup=4)
    # cycle c: ramp peak (tau+1)/5 for tau < 4, then cosine over 6 steps
    assert_ref(s, lambda t: ref.cosine_restarts_warmup(t, 0.1, 10, 4, peak_decay=0.5),
               [0, 1, 3, 4, 5, 9, 10, 13, 14, 25, 99], ulps=4)
    s = S.cosine_restarts(0.1, 10, warmup=4, warmup_start=0.02)
    assert s(0) == 0.02 and s(10) == 0.02 and close(s(2), 0.02 + 0.08 * 2 / 4, 2)


def test_cyclic():
    for mode in ["triangular", "triangular2", "exp_range"]:
        s = S.cyclic(0.01, 0.1, 4, 6, mode=mode, gamma=0.99)
        assert_ref(s, lambda t: ref.cyclic(t, 0.01, 0.1, 4, 6, mode, 0.99),
                   [0, 1, 3, 4, 5, 9, 10, 14, 20, 1234], ulps=4)
        assert s(0) == 0.01
        assert math.isfinite(s(2**63 - 1))
    s = S.cyclic(0.0, 1.0, 2)
    assert [s(t) for t in range(6)] == [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]


@needs_mpmath
def test_onecycle_lrcore_and_torch_phase_ends():
    s = S.onecycle(1.0, 100)  # initial 0.04, peak at 30, min 4e-6 at 100
    assert s(0) == 0.04 and s(30) == 1.0 and s(100) == 4e-6 and s(2**62) == 4e-6
    assert close(s(15), 1.0 + (0.04 - 1.0) * ref.cos_half(0.5), 4)
    assert close(s(65), 4e-6 + (1.0 - 4e-6) * ref.cos_half(0.5), 4)
    s = S.onecycle(1.0, 100, three_phase=True, anneal="linear")
    assert (s(0), s(30), s(60), s(100)) == (0.04, 1.0, 0.04, 4e-6)
    assert close(s(45), 0.52, 2) and close(s(80), 0.04 + (4e-6 - 0.04) * 0.5, 2)
    s = S.onecycle(1.0, 100, torch_phase_ends=True, anneal="linear")
    # PyTorch: phase ends 29.0 and 99.0
    assert s(29) == 1.0 and s(99) == 4e-6 and s(100) == 4e-6
    assert close(s(64), 1.0 + (4e-6 - 1.0) * (64 - 29) / (99 - 29), 2)
    with pytest.raises(ValueError, match="empty phase"):
        S.onecycle(1.0, 2, torch_phase_ends=True)


@needs_mpmath
def test_warmup_cosine_and_wsd():
    s = S.warmup_cosine(1.0, 4, 104, floor=0.1)
    assert [s(t) for t in range(5)] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert close(s(54), 0.1 + 0.9 * ref.cos_half(0.5), 4) and s(104) == 0.1 and s(10**9) == 0.1
    s = S.warmup_cosine(1.0, 4, 104, start=0.0)
    assert [s(t) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    for decay, f in [("linear", lambda p: 1 - p), ("cosine", lambda p: ref.cos_half(p)),
                     ("1-sqrt", lambda p: 1 - mpmath.sqrt(p))]:
        s = S.wsd(1.0, 2, 3, 8, decay=decay, floor=0.2)
        assert [s(t) for t in range(6)] == [1 / 3, 2 / 3, 1.0, 1.0, 1.0, 1.0]
        for t in range(5, 14):
            assert close(s(t), 0.2 + 0.8 * f(mpmath.mpf(t - 5) / 8), 4), (decay, t)
        assert s(13) == 0.2 and s(2**63 - 1) == 0.2


def test_piecewise():
    s = S.piecewise_constant([5, 10], [0.1, 0.05, 0.01])
    assert [s(t) for t in [0, 4, 5, 9, 10, 2**63 - 1]] == [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]
    s = S.piecewise_linear([2, 10, 30], [0.0, 0.1, 0.02])
    assert [s(t) for t in [0, 1, 2, 10, 30, 31, 2**62]] == [0.0, 0.0, 0.0, 0.1, 0.02, 0.02, 0.02]
    assert close(s(6), 0.05, 2) and close(s(20), 0.06, 2)


def test_join_local_time_and_nesting():
    a, b, c = S.linear(0.0, 1.0, 10), S.cosine(1.0, 50), S.step(0.5, 3)
    s = S.join([a, b, c], [10, 60])
    for t in [0, 5, 9]:
        assert s(t) == a(t)
    for t in [10, 11, 35, 59]:
        assert s(t) == b(t - 10)
    for t in [60, 61, 70, 2**62]:
        assert s(t) == c(t - 60)
    nested = S.join([S.constant(0.3), s], [7])
    for t in [0, 6, 7, 20, 80, 500]:
        assert nested(t) == (0.3 if t < 7 else s(t - 7))


def test_warmup_default_start_and_explicit():
    base = S.cosine(0.1, 100)
    s = S.warmup(base, 9)
    assert [s(t) for t in range(3)] == [0.1 * 1 / 10, 0.1 * 2 / 10, 0.1 * 3 / 10]
    assert s(0) > 0 and s(9) == 0.1 and s(50) == base(41)
    s = S.warmup(base, 10, start=0.01)
    assert s(0) == 0.01 and close(s(5), 0.055, 2) and s(10) == 0.1


def test_arithmetic_and_clip():
    a, b = S.cosine(0.1, 100), S.linear(0.0, 1.0, 10)
    for t in [0, 3, 50, 200]:
        assert (a * 0.5)(t) == a(t) * 0.5
        assert (0.5 * a)(t) == a(t) * 0.5
        assert (np.float64(0.5) * a)(t) == a(t) * 0.5
        assert (a * b)(t) == a(t) * b(t)
    assert (a * 2) == S.scale(a, 2.0) and (a * b) == S.product(a, b)
    with pytest.raises(TypeError):
        a * "x"
    with pytest.raises(ValueError, match="factor"):
        a * -1.0
    c = S.clip(S.exponential(1.0, 2.0), 2.0, 10.0)
    assert [c(t) for t in range(6)] == [2.0, 2.0, 4.0, 8.0, 10.0, 10.0]


# ----------------------------------------------------------------------------------------
# scalar vs vector, big steps, threads, input handling
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("s", CAT, ids=IDS)
def test_scalar_vector_bit_identical(s):
    rng = np.random.default_rng(0)
    t = np.concatenate([np.arange(400), rng.integers(0, 10**6, 200), BIG]).astype(np.int64)
    vec = s(t)
    assert vec.dtype == np.float64 and vec.shape == t.shape
    sca = np.array([s(int(x)) for x in t])
    assert np.array_equal(vec, sca)  # bit for bit (no NaN anywhere)
    perm = rng.permutation(t.size)
    assert np.array_equal(s(t[perm]), vec[perm])  # order independent
    assert np.all(np.isfinite(vec)) and np.all(vec >= 0)


@pytest.mark.parametrize("s", [S.cosine(0.1, 10**6), S.onecycle(0.1, 10**6),
                               S.warmup(S.cosine(0.1, 9 * 10**5), 10**5),
                               S.cyclic(0.01, 0.1, 1000, mode="exp_range", gamma=0.9999)])
def test_threads_agree(s):
    t = np.arange(2 * lrcore.openmp_threshold() + 12345, dtype=np.int64)
    try:
        lrcore.set_num_threads(1)
        one = s(t)
        lrcore.set_num_threads(2)
        two = s(t)
    finally:
        lrcore.set_num_threads(0)
    assert np.array_equal(one, two)


def test_step_input_types_and_errors():
    s = S.cosine(0.1, 100)
    want = s(np.arange(10))
    for dt in [np.int8, np.int16, np.int32, np.uint8, np.uint32, np.uint64, np.int64]:
        assert np.array_equal(s(np.arange(10, dtype=dt)), want)
    assert np.array_equal(s([0, 1, 2]), want[:3])
    assert s(np.int32(5)) == s(5) and isinstance(s(np.int64(5)), float)
    assert s(np.arange(6).reshape(2, 3)).shape == (2, 3)
    assert s(np.array(3)).shape == () and s(np.array([], dtype=np.int64)).shape == (0,)
    assert np.array_equal(s(np.arange(20)[::2]), s(np.arange(0, 20, 2)))  # non-contiguous
    with pytest.raises(ValueError, match="t must be >= 0"):
        s(-1)
    with pytest.raises(ValueError, match=r"steps.flat\[2\] = -5"):
        s(np.array([0, 1, -5, 3]))
    with pytest.raises(ValueError, match="2\\*\\*63"):
        s(2**63)
    with pytest.raises(ValueError, match="2\\*\\*63"):
        s(np.array([2**63], dtype=np.uint64))
    with pytest.raises(TypeError, match="never float"):
        s(1.0)
    with pytest.raises(TypeError, match="bool"):
        s(True)
    with pytest.raises(TypeError, match="integer array"):
        s(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer array"):
        s(["a"])


# ----------------------------------------------------------------------------------------
# serialization, equality, repr, pickling
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("s", CAT, ids=IDS)
def test_json_round_trip(s):
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)  # strictly JSON-safe (no inf/nan, no objects)
    back = S.from_dict(json.loads(text))
    assert back == s and hash(back) == hash(s)
    t = np.arange(300)
    assert np.array_equal(back(t), s(t))


@pytest.mark.parametrize("s", CAT, ids=IDS)
def test_repr_eval_pickle_copy(s):
    ns = {name: getattr(S, name) for name in S.__all__}
    assert eval(repr(s), ns) == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert copy.deepcopy(s) == s
    line = s.describe()
    assert isinstance(line, str) and "\n" not in line and line


def test_nested_join_dict_shape():
    s = S.join([S.warmup(S.constant(0.1), 5), S.join([S.cosine(0.1, 10), 0.01], [10])], [20])
    d = json.loads(json.dumps(s.to_dict()))
    assert d["name"] == "join" and d["boundaries"] == [20]
    assert d["schedules"][0] == {"name": "warmup", "schedule": {"name": "constant", "value": 0.1},
                                 "steps": 5, "start": None}
    assert d["schedules"][1]["schedules"][1] == {"name": "constant", "value": 0.01}
    assert S.from_dict(d) == s


def test_from_dict_errors():
    with pytest.raises(ValueError, match="'bogus' is not a known schedule"):
        S.from_dict({"name": "bogus"})
    with pytest.raises(ValueError, match="no key 'name'"):
        S.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match=r"\['stepz'\]: unknown key"):
        S.from_dict({"name": "cosine", "lr": 0.1, "stepz": 10})
    with pytest.raises(ValueError, match=r"schedules'\]\[1\]\['name'\] = 'nope'"):
        S.from_dict({"name": "join", "schedules": [{"name": "constant", "value": 1.0},
                                                   {"name": "nope"}], "boundaries": [3]})
    with pytest.raises(ValueError, match="steps must be a positive"):
        S.from_dict({"name": "cosine", "lr": 0.1, "steps": 0})
    with pytest.raises(TypeError):
        S.from_dict([("name", "constant")])


def test_immutable_and_equality():
    s = S.cosine(0.1, 100)
    with pytest.raises(AttributeError, match="immutable"):
        s.lr = 0.2
    with pytest.raises(AttributeError):
        s.nonexistent
    assert s.lr == 0.1 and s.steps == 100 and s.name == "cosine"
    assert s == S.cosine(0.1, 100) and s != S.cosine(0.1, 101) and s != S.linear(0.1, 0, 100)
    assert len({s, S.cosine(0.1, 100), S.cosine(0.2, 100)}) == 2
    assert repr(s) == "cosine(0.1, 100)"
    assert repr(S.cosine(0.1, 100, floor=0.01)) == "cosine(0.1, 100, floor=0.01)"


# ----------------------------------------------------------------------------------------
# validation: clear errors naming the argument
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, exc, match", [
    (lambda: S.cosine(0.1, 0), ValueError, "steps must be a positive"),
    (lambda: S.cosine(0.1, -3), ValueError, "steps"),
    (lambda: S.cosine(0.1, 10.0), TypeError, "steps must be an integer"),
    (lambda: S.cosine(0.1, True), TypeError, "steps"),
    (lambda: S.cosine(-0.1, 10), ValueError, "lr must be >= 0"),
    (lambda: S.cosine(float("nan"), 10), ValueError, "lr must be finite"),
    (lambda: S.cosine(float("inf"), 10), ValueError, "lr must be finite"),
    (lambda: S.cosine("0.1", 10), TypeError, "lr must be a real"),
    (lambda: S.cosine(0.1, 10, exponent=0.0), ValueError, "exponent"),
    (lambda: S.cosine(0.1, 10, periodic=1), TypeError, "periodic"),
    (lambda: S.cosine(0.1, 2**53), ValueError, "steps must be in"),
    (lambda: S.step(0.1, 0), ValueError, "step_size"),
    (lambda: S.step(0.1, 5, gamma=-0.5), ValueError, "gamma"),
    (lambda: S.multistep(0.1, [5, 5]), ValueError, "milestones must be strictly increasing"),
    (lambda: S.multistep(0.1, [0, 5]), ValueError, r"milestones\[0\]"),
    (lambda: S.multistep(0.1, 5), TypeError, "milestones must be a sequence"),
    (lambda: S.exponential(0.1, 0.9, floor=0.2, ceiling=0.1), ValueError, "floor"),
    (lambda: S.exponential(0.1, 0.9, every=0), ValueError, "every"),
    (lambda: S.polynomial(0.1, 10, power=-1.0), ValueError, "power"),
    (lambda: S.cosine_restarts(0.1, 10, warmup=10), ValueError, "warmup"),
    (lambda: S.cosine_restarts(0.1, 10, period_mult=0), ValueError, "period_mult"),
    (lambda: S.cosine_restarts(0.1, 10, peak_decay=1.5), ValueError, "peak_decay"),
    (lambda: S.multistep(0.1, list(range(1, 400)), gamma=10.0), ValueError, "overflows"),
    (lambda: S.cyclic(0.1, 0.2, 5, mode="tri"), ValueError, "mode must be one of"),
    (lambda: S.cyclic(0.1, 0.2, 5, gamma=1.5), ValueError, "gamma"),
    (lambda: S.cyclic(0.1, 0.2, 0), ValueError, "step_size_up"),
    (lambda: S.onecycle(0.1, 100, pct_start=1.0), ValueError, "pct_start"),
    (lambda: S.onecycle(0.1, 100, anneal="exp"), ValueError, "anneal"),
    (lambda: S.warmup_cosine(0.1, 100, 100), ValueError, "total_steps"),
    (lambda: S.wsd(0.1, 1, 1, 1, decay="sqrt"), ValueError, "decay must be one of"),
    (lambda: S.piecewise_constant([1, 2], [0.1]), ValueError, "values needs"),
    (lambda: S.piecewise_constant([3, 2], [0.1, 0.2, 0.3]), ValueError, "boundaries"),
    (lambda: S.piecewise_linear([0, 1], [0.1, -0.2]), ValueError, r"values\[1\]"),
    (lambda: S.join([S.constant(1.0), S.constant(2.0)], []), ValueError, "boundaries needs"),
    (lambda: S.join([S.constant(1.0), S.constant(2.0)], [0]), ValueError, "boundaries"),
    (lambda: S.join([], []), ValueError, "schedules must not be empty"),
    (lambda: S.join([S.constant(1.0), "x"], [3]), TypeError, r"schedules\[1\]"),
    (lambda: S.warmup(S.constant(1.0), 0), ValueError, "steps"),
    (lambda: S.warmup(S.constant(1.0), 5, start=-1.0), ValueError, "start"),
    (lambda: S.clip(S.constant(1.0), 0.5, 0.1), ValueError, "lo"),
    (lambda: S.ReduceOnPlateau(0.1, factor=1.0), ValueError, "factor"),
    (lambda: S.ReduceOnPlateau(0.1, mode="up"), ValueError, "mode"),
    (lambda: S.ReduceOnPlateau(0.1, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda: S.ReduceOnPlateau(0.1, patience=-1), ValueError, "patience"),
])
def test_validation(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_depth_limit_and_c_validator():
    s = S.constant(0.1)
    for _ in range(S.MAX_DEPTH):
        s = s * 1.0
    assert s(3) == 0.1
    # one level more is refused when the schedule is made, with a sentence (not a dump of
    # the C program at the first call)
    with pytest.raises(ValueError, match=f"nests {S.MAX_DEPTH + 1} composites deep"):
        s * 1.0
    d = s.to_dict()
    for _ in range(3):
        d = {"name": "scale", "schedule": d, "factor": 1.0}
    with pytest.raises(ValueError, match="composites deep|levels deep"):
        S.from_dict(d)
    deep: dict = {"name": "constant", "value": 0.1}
    for _ in range(10_000):                      # no RecursionError, a clear limit
        deep = {"name": "scale", "schedule": deep, "factor": 1.0}
    with pytest.raises(ValueError, match=f"at most {S.MAX_DEPTH} levels deep"):
        S.from_dict(deep)
    C = lrcore._core.SCHED_C
    ok = (C["cosine"], 0, (-1, -1), (10, 0, 0, 0), (0.1, 0.0, 1.0, 0, 0, 0))
    assert lrcore._core._sched_eval_program([ok], [], [], np.array([0]))[0] == 0.1
    bad = [
        [(C["cosine"], 0, (-1, -1), (0, 0, 0, 0), (0.1, 0.0, 1.0, 0, 0, 0))],       # length 0
        [(C["cosine"], 0, (-1, -1), (10, 0, 0, 0), (math.nan, 0.0, 1.0, 0, 0, 0))],  # NaN
        [ok, (C["scale"], 0, (1, -1), (0,) * 4, (1.0,) + (0.0,) * 5)],              # self child
        [(C["scale"], 0, (1, -1), (0,) * 4, (1.0,) + (0.0,) * 5), ok],              # forward
        [(99, 0, (-1, -1), (0,) * 4, (0.0,) * 6)],                                 # bad kind
        [(C["join"], 0, (-1, -1), (0, 2, 0, 0), (0.0,) * 6)],                      # slice OOB
        [(C["interp"], 0, (-1, -1), (0, 2, 0, 0), (0.0,) * 6)],                    # slice OOB
    ]
    for nodes in bad:
        with pytest.raises(ValueError, match="invalid schedule program"):
            lrcore._core._sched_eval_program(nodes, [], [], np.array([0]))
    with pytest.raises(ValueError, match="invalid schedule program"):  # boundaries not increasing
        lrcore._core._sched_eval_program(
            [ok, ok, (C["join"], 0, (-1, -1), (0, 3, 0, 0), (0.0,) * 6)], [0, 1, 0, 5, 5], [],
            np.array([0]))
    with pytest.raises(ValueError, match="invalid schedule program"):  # interp knots
        lrcore._core._sched_eval_program(
            [(C["interp"], 0, (-1, -1), (0, 2, 0, 0), (0.0,) * 6)], [], [1.0, 1.0, 0.1, 0.2],
            np.array([0]))


# ----------------------------------------------------------------------------------------
# plugging into lrcore.optim, plotting
# ----------------------------------------------------------------------------------------

def test_optim_wrapper_uses_schedule_per_step():
    s = S.warmup(S.cosine(0.1, 40), 10)
    x = np.zeros(3)
    opt = lrcore.optim.SGD(x, lr=s)
    for _ in range(60):
        opt.step(np.ones(3))
    # x_t = -sum_{k < t} lr(k): the wrapper asked the schedule for t = 0, 1, ..., 59
    assert np.allclose(x, -math.fsum(s.values(60)), rtol=1e-13, atol=0)
    assert opt.current_lr() == s(60)


def test_plot_and_missing_matplotlib(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib", reason="plot() test needs matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = S.onecycle(0.1, 100)
    ax = s.plot(120)
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_ydata(), s.values(120))
    plt.close("all")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'lrcore\[plot\]'"):
        s.plot(10)


def test_values():
    s = S.linear(0.0, 1.0, 4)
    assert s.values(6).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert s.values(0).shape == (0,)
    with pytest.raises(ValueError, match="n must be in"):
        s.values(-1)


# ----------------------------------------------------------------------------------------
# ReduceOnPlateau
# ----------------------------------------------------------------------------------------

def test_plateau_basic_patience_cooldown_min_lr():
    r = S.ReduceOnPlateau(1.0, factor=0.5, patience=2, cooldown=1, min_lr=0.2, threshold=0.0)
    lrs = [r.step(m) for m in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]]
    # bad reports at 3, 4 (patience 2) -> reduce at the 3rd bad (index 4); cooldown 1 ignores
    # index 5; then 6, 7 bad, reduce at 8; ...; min_lr 0.2 stops at 0.25 -> 0.2
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    lrs = [r.step(4) for _ in range(8)]
    assert lrs[-1] == pytest.approx(0.2) and r.n_reductions == 3
    assert r.step(4) == pytest.approx(0.2)  # at min_lr: further reductions are below eps


def test_plateau_relative_threshold_negative_metrics():
    # best = -10; threshold 0.1 rel -> need metric < -10 - 1 = -11 to improve
    r = S.ReduceOnPlateau(1.0, patience=0, threshold=0.1, factor=0.5)
    r.step(-10.0)
    assert r.step(-10.5) == 0.5  # -10.5 is not 10% better: a bad report -> reduced
    r = S.ReduceOnPlateau(1.0, patience=0, threshold=0.1, factor=0.5)
    r.step(-10.0)
    assert r.step(-11.5) == 1.0 and r.best == -11.5
    # PyTorch's best * (1 - threshold) = -9 would call -9.5 (worse!) an improvement
    r = S.ReduceOnPlateau(1.0, patience=0, threshold=0.1, factor=0.5)
    r.step(-10.0)
    assert r.step(-9.5) == 0.5
    # max mode with negative values, and abs mode
    r = S.ReduceOnPlateau(1.0, mode="max", patience=0, threshold=0.1, factor=0.5)
    r.step(-10.0)
    assert r.step(-9.5) == 0.5 and r.best == -10.0
    assert r.step(-8.9) == 0.5 and r.best == -8.9
    r = S.ReduceOnPlateau(1.0, threshold_mode="abs", threshold=1.0, patience=0, factor=0.5)
    r.step(-3.0)
    assert r.step(-3.5) == 0.5 and r.step(-5.0) == 0.5 and r.best == -5.0


def test_plateau_eps_and_nonfinite_metric():
    r = S.ReduceOnPlateau(1e-9, patience=0, eps=1e-8)
    r.step(1.0)
    assert r.step(2.0) == 1e-9 and r.n_reductions == 0  # the reduction is below eps
    r = S.ReduceOnPlateau(0.1)
    r.step(1.0)
    before = r.state_dict()
    with pytest.raises(lrcore.NonFiniteError):
        r.step(float("nan"))
    with pytest.raises(TypeError):
        r.step("x")
    assert r.state_dict() == before


def test_plateau_follows_base_schedule_and_time():
    base = S.warmup(S.cosine(0.1, 1000), 100)
    r = S.ReduceOnPlateau(base, patience=0, factor=0.5, active_from=100)
    assert r(0) == base(0) and r(50) == base(50)
    assert r.step(1.0) == base(50)  # t = 50 < active_from: ignored
    assert r.n_reports == 0 and r.best is None
    assert r(150) == base(150)
    r.step(1.0)
    assert r.step(2.0) == base(150) * 0.5
    assert r(300) == base(300) * 0.5
    t = np.arange(200, 260)
    assert np.array_equal(r(t), base(t) * 0.5)
    assert r.step(3.0, t=400) == base(400) * 0.25 and r.t == 400
    # min_lr is applied at the reduction time with the base value then
    r = S.ReduceOnPlateau(S.linear(1.0, 0.5, 10), patience=0, factor=0.1, min_lr=0.2)
    r(0)
    r.step(1.0)
    assert r.step(2.0) == pytest.approx(0.2)
    assert r(10) == pytest.approx(0.5 * 0.2)


def test_plateau_state_dict_json_round_trip_and_resume():
    metrics = [3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    full = S.ReduceOnPlateau(S.constant(0.1), patience=1, cooldown=1, factor=0.3)
    expected = [full.step(m) for m in metrics]
    a = S.ReduceOnPlateau(S.constant(0.1), patience=1, cooldown=1, factor=0.3)
    out = [a.step(m) for m in metrics[:5]]
    cfg = json.loads(json.dumps(a.to_dict()))
    state = json.loads(json.dumps(a.state_dict(), allow_nan=False))
    b = S.ReduceOnPlateau.from_state(cfg, state)
    out += [b.step(m) for m in metrics[5:]]
    assert out == expected
    assert isinstance(S.from_dict(cfg), S.ReduceOnPlateau)
    with pytest.raises(ValueError, match="missing keys"):
        b.load_state_dict({"scale": 1.0})
    with pytest.raises(ValueError, match="scale"):
        b.load_state_dict({**b.state_dict(), "scale": -1.0})
    assert "reduce on plateau" in b.describe()


def test_plateau_in_optim_wrapper():
    r = S.ReduceOnPlateau(S.warmup(S.constant(0.1), 5), patience=0, factor=0.5, active_from=5)
    x = np.zeros(2)
    opt = lrcore.optim.SGD(x, lr=r)
    for epoch in range(4):
        for _ in range(5):
            opt.step(np.ones(2))
        r.step(1.0)  # never improves after the first active report
    # steps 0-4 warmup, 5-9 at 0.1 (report at t=4 ignored), then reduced after each report
    expected = sum(S.warmup(S.constant(0.1), 5).values(5)) + 5 * 0.1 + 5 * 0.1 + 5 * 0.05
    assert np.allclose(x, -expected, rtol=1e-14)


# ----------------------------------------------------------------------------------------
# HF transformers and optax compat (formulas transcribed from their sources, in reference/)
# ----------------------------------------------------------------------------------------

def _cmp(s, formula, n, lr=1.0):
    got = s(np.arange(n))
    want = np.array([lr * formula(t) for t in range(n)])
    err = np.abs(got - want)
    assert np.all((err <= 1e-12) | (err <= 1e-9 * np.abs(want))), float(err.max())


def test_hf_compat():
    lr = 3e-4
    _cmp(compat.hf_linear_with_warmup(lr, 10, 100), lambda t: ref.hf_linear(t, 10, 100), 150, lr)
    _cmp(compat.hf_linear_with_warmup(lr, 0, 100), lambda t: ref.hf_linear(t, 0, 100), 150, lr)
    _cmp(compat.hf_cosine_with_warmup(lr, 10, 100), lambda t: ref.hf_cosine(t, 10, 100), 300, lr)
    _cmp(compat.hf_constant_with_warmup(lr, 7), lambda t: min(1.0, t / 7), 20, lr)
    _cmp(compat.hf_polynomial_decay_with_warmup(lr, 10, 100, lr_end=1e-6, power=2.0),
         lambda t: ref.hf_poly(t, 10, 100, lr, 1e-6, 2.0), 150, lr)
    _cmp(compat.hf_inverse_sqrt(lr, 10), lambda t: ref.hf_isqrt(t, 10), 500, lr)
    _cmp(compat.hf_inverse_sqrt(lr, 0, timescale=50), lambda t: ref.hf_isqrt(t, 0, 50), 500, lr)
    for dt in ["linear", "cosine", "1-sqrt"]:
        _cmp(compat.hf_wsd(lr, 10, 30, num_training_steps=100, decay_type=dt, min_lr_ratio=0.1),
             lambda t: ref.hf_wsd(t, 10, 60, 30, dt, 0.1), 150, lr)
    assert compat.hf_linear_with_warmup(lr, 10, 100)(0) == 0.0  # HF starts at 0
    with pytest.raises(ValueError, match="num_cycles"):
        compat.hf_cosine_with_warmup(lr, 10, 100, num_cycles=1.0)


def test_optax_compat():
    _cmp(compat.optax_exponential_decay(0.1, 10, 0.5, transition_begin=5, staircase=True,
                                        end_value=1e-3),
         lambda t: ref.optax_exp(t, 0.1, 10, 0.5, 5, True, 1e-3), 200)
    _cmp(compat.optax_exponential_decay(0.1, 7, 1.2, end_value=0.5),
         lambda t: ref.optax_exp(t, 0.1, 7, 1.2, 0, False, 0.5), 200)
    _cmp(compat.optax_cosine_onecycle(100, 0.1), lambda t: ref.optax_onecycle(t, 100, 0.1), 150)
    _cmp(compat.optax_warmup_cosine_decay(0.0, 0.1, 10, 100, end_value=1e-3, exponent=2.0),
         lambda t: ref.optax_warmup_cosine(t, 0.0, 0.1, 10, 100, 1e-3, 2.0), 150)
    _cmp(compat.optax_linear(0.1, 0.01, 20, transition_begin=3),
         lambda t: 0.1 if t < 3 else 0.1 + (0.01 - 0.1) * min(t - 3, 20) / 20, 40)
    _cmp(compat.optax_polynomial(0.1, 0.01, 3.0, 20),
         lambda t: (0.1 - 0.01) * (1 - min(t, 20) / 20) ** 3 + 0.01, 40)


# ----------------------------------------------------------------------------------------
# properties on random valid parameters
# ----------------------------------------------------------------------------------------

rates = st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False)
pos_rates = st.floats(1e-8, 10.0)
lengths = st.integers(1, 5000)
unit = st.floats(0.0, 1.0)


@st.composite
def monotone_schedules(draw):
    """(schedule, direction) with direction -1 non-increasing, +1 non-decreasing."""
    kind = draw(st.sampled_from(["step", "multistep", "exp", "invtime", "invsqrt", "poly",
                                 "linear", "cosine", "sqrt", "pconst"]))
    lr = draw(pos_rates)
    if kind == "step":
        return S.step(lr, draw(lengths), draw(unit)), -1
    if kind == "multistep":
        ms = sorted(set(draw(st.lists(st.integers(1, 10**6), max_size=6))))
        return S.multistep(lr, ms, draw(unit)), -1
    if kind == "exp":
        return S.exponential(lr, draw(unit), every=draw(lengths),
                             staircase=draw(st.booleans())), -1
    if kind == "invtime":
        return S.inverse_time(lr, draw(rates), every=draw(lengths),
                              staircase=draw(st.booleans())), -1
    if kind == "invsqrt":
        return S.inverse_sqrt(lr, draw(lengths)), -1
    if kind == "poly":
        return S.polynomial(lr, draw(lengths), end=lr * draw(unit),
                            power=draw(st.floats(0.1, 5.0))), -1
    if kind == "linear":
        a, b = draw(rates), draw(rates)
        return S.linear(a, b, draw(lengths)), (-1 if b <= a else 1)
    if kind == "cosine":
        fl = draw(rates)
        return S.cosine(lr, draw(lengths), floor=fl, exponent=draw(st.floats(0.2, 4.0))), \
            (-1 if fl <= lr else 1)
    if kind == "sqrt":
        return S.wsd(lr, 0, draw(st.integers(0, 100)), draw(lengths), decay="1-sqrt",
                     floor=lr * draw(unit)), -1
    bd = sorted(set(draw(st.lists(st.integers(1, 10**5), max_size=5))))
    vals = sorted(draw(st.lists(rates, min_size=len(bd) + 1, max_size=len(bd) + 1)),
                  reverse=True)
    return S.piecewise_constant(bd, vals), -1


@st.composite
def any_schedule(draw, depth=0):
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        kids = draw(st.lists(any_schedule(depth + 1), min_size=1, max_size=3))
        bd = sorted(draw(st.sets(st.integers(1, 3000), min_size=len(kids) - 1,
                                 max_size=len(kids) - 1)))
        which = draw(st.integers(0, 3))
        if which == 0:
            return S.join(kids, bd)
        if which == 1:
            return S.warmup(kids[0], draw(lengths), start=draw(st.none() | rates))
        if which == 2:
            return kids[0] * draw(rates) if len(kids) == 1 else kids[0] * kids[-1]
        return S.clip(kids[0], 0.0, draw(st.none() | pos_rates))
    kind = draw(st.integers(0, 6))
    lr = draw(pos_rates)
    if kind == 0:
        return draw(monotone_schedules())[0]
    if kind == 1:
        return S.cosine(lr, draw(lengths), floor=draw(rates), periodic=draw(st.booleans()))
    if kind == 2:
        T0 = draw(lengths)
        return S.cosine_restarts(lr, T0, period_mult=draw(st.integers(1, 4)),
                                 peak_decay=draw(unit), floor=draw(rates),
                                 warmup=draw(st.integers(0, T0 - 1)))
    if kind == 3:
        return S.cyclic(draw(rates), lr, draw(lengths), draw(st.integers(0, 5000)),
                        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                        gamma=draw(st.floats(0.5, 1.0)))
    if kind == 4:
        T = draw(st.integers(20, 10**6))
        return S.onecycle(lr, T, pct_start=draw(st.floats(0.1, 0.45)),
                          anneal=draw(st.sampled_from(["cos", "linear"])),
                          three_phase=draw(st.booleans()),
                          torch_phase_ends=draw(st.booleans()))
    if kind == 5:
        W = draw(st.integers(0, 1000))
        return S.warmup_cosine(lr, W, W + draw(lengths), start=draw(st.none() | rates),
                               floor=draw(rates))
    k = draw(st.integers(1, 6))
    xs = sorted(draw(st.sets(st.integers(0, 10**6), min_size=k, max_size=k)))
    return S.piecewise_linear(xs, draw(st.lists(rates, min_size=k, max_size=k)))


steps_arrays = st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_schedule(), steps_arrays)
def test_property_finite_nonnegative_scalar_equals_vector(s, extra):
    t = np.concatenate([np.arange(64), np.array(extra, dtype=np.int64)])
    v = s(t)
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    assert np.array_equal(v, np.array([s(int(x)) for x in t]))
    assert S.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@settings(max_examples=150, deadline=None)
@given(monotone_schedules(), st.integers(1, 5000))
def test_property_monotone(sd, n):
    s, direction = sd
    v = s(np.concatenate([np.arange(n), [2**40, 2**62, 2**63 - 1]]))
    d = np.diff(v) * direction
    assert np.all(d >= 0), (s, int(np.argmin(d)))


@settings(max_examples=60, deadline=None)
@given(pos_rates, st.integers(1, 2000), st.none() | rates)
def test_property_warmup_ramp_monotone_to_peak(peak, W, start):
    s = S.warmup(S.constant(peak), W, start=start)
    v = s(np.arange(W + 2))
    if start is None or start <= peak:
        assert np.all(np.diff(v) >= 0)
    assert v[0] == (peak / (W + 1) if start is None else start) or start is None
    assert v[W] == peak and (start is None or v[0] == start)
    assert start is not None or v[0] > 0


def test_sqrt_decay_exact_at_both_ends():
    # hypothesis found wsd(..., decay="1-sqrt") starting its decay at peak + 1 ulp (the
    # schedule then rose by one ulp between two steps): b + (a - b)(1 - 0) != a in floats
    s = S.wsd(5.478964187386215, 0, 1, 1, decay="1-sqrt", floor=1.1985234159907345)
    assert s(0) == s(1) == 5.478964187386215 and s(2) == 1.1985234159907345
    for peak, floor, n in [(0.1, 0.0, 7), (3.0, 1e-3, 1000), (1e-300, 0.0, 3)]:
        v = S.wsd(peak, 0, 0, n, decay="1-sqrt", floor=floor).values(n + 2)
        assert v[0] == peak and v[n] == floor and np.all(np.diff(v) <= 0)


def test_plateau_state_round_trips_at_large_steps():
    from lrcore.schedules import ReduceOnPlateau
    r = ReduceOnPlateau(0.1, patience=0)
    for t, m in ((2**62 + 1, 1.0), (2**63 - 2, 2.0)):
        r.step(m, t=t)
        back = ReduceOnPlateau.from_state(r.to_dict(), r.state_dict())
        assert back.state_dict() == r.state_dict()
    with pytest.raises(ValueError, match="state\\['t'\\]"):
        r.load_state_dict({**r.state_dict(), "t": 2**63})
