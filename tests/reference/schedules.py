"""Reference formulas of the schedules (lrcore.schedules), independent of the implementation.

- exact trigonometry: :func:`cos_half` with mpmath at 40 digits (``mpmath`` is None when
  it is not installed; tests needing it skip);
- closed forms that are more than a one-liner: SGDR restarts, cyclic (CLR) modes;
- HF transformers' schedule lambdas and optax's schedules, transcribed from their sources
  (``hf_*`` return the multiplier of the base rate, ``optax_*`` the rate itself).

Every function is of one step ``t`` (a Python int) and returns a float or an mpmath number.
"""
import math

try:
    import mpmath
    mpmath.mp.dps = 40
except ImportError:  # pragma: no cover
    mpmath = None


def cos_half(x):
    """(1 + cos(pi x)) / 2, exactly (mpmath), for a real x."""
    return (1 + mpmath.cospi(mpmath.mpf(x))) / 2


# ----------------------------------------------------------------------------------------
# lrcore's own closed forms
# ----------------------------------------------------------------------------------------

def cosine_restarts(t, lr, period, period_mult=1, floor=0.0):
    """SGDR (Loshchilov & Hutter 2017): cycle lengths period, period * mult, ...; within a
    cycle a cosine from lr down to floor (exact trigonometry)."""
    start, length = 0, period
    while t - start >= length:
        start, length = start + length, period_mult * length
    return floor + (lr - floor) * cos_half(mpmath.mpf(t - start) / length)


def cosine_restarts_warmup(t, lr, period, warmup, peak_decay=1.0):
    """Fixed-length cycles with a linear warmup: in cycle c the peak is lr * peak_decay**c,
    reached by the ramp peak * (tau + 1) / (warmup + 1) for tau < warmup, then a cosine to
    0 over the remaining period - warmup steps."""
    c, tau = divmod(t, period)
    peak = lr * peak_decay**c
    if tau < warmup:
        return peak * (tau + 1) / (warmup + 1)
    return peak * cos_half(mpmath.mpf(tau - warmup) / (period - warmup))


def cyclic(t, base, mx, up, down, mode, gamma):
    """Cyclical learning rates (Smith 2017): triangular, triangular2, exp_range."""
    c, q = divmod(t, up + down)
    f = q / up if q <= up else (up + down - q) / down
    sc = {"triangular": 1.0, "triangular2": 0.5**c, "exp_range": gamma**t}[mode]
    return base + (mx - base) * f * sc


# ----------------------------------------------------------------------------------------
# HF transformers (multipliers of the base rate)
# ----------------------------------------------------------------------------------------

def hf_linear(t, W, T):  # transformers.optimization._get_linear_schedule_with_warmup_lr_lambda
    if t < W:
        return float(t) / float(max(1, W))
    return max(0.0, float(T - t) / float(max(1, T - W)))


def hf_cosine(t, W, T, num_cycles=0.5):
    if t < W:
        return float(t) / float(max(1, W))
    progress = float(t - W) / float(max(1, T - W))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def hf_poly(t, W, T, lr_init, lr_end, power):
    if t < W:
        return float(t) / float(max(1, W))
    if t > T:
        return lr_end / lr_init
    decay = (lr_init - lr_end) * (1 - (t - W) / (T - W)) ** power + lr_end
    return decay / lr_init


def hf_isqrt(t, W, timescale=None):
    if timescale is None:
        timescale = W or 10_000
    if t < W:
        return float(t) / float(max(1, W))
    shift = timescale - W
    return 1.0 / math.sqrt((t + shift) / timescale)


def hf_wsd(t, W, S_, D, decay_type, min_lr_ratio):
    if t < W:
        return (float(t) / float(max(1, W))) * (1.0 - min_lr_ratio) + min_lr_ratio
    if t < W + S_:
        return 1.0
    if t < W + S_ + D:
        p = float(t - W - S_) / float(max(1, D))
        f = {"linear": 1.0 - p, "cosine": 0.5 * (1.0 + math.cos(math.pi * p)),
             "1-sqrt": 1.0 - math.sqrt(p)}[decay_type]
        return f * (1.0 - min_lr_ratio) + min_lr_ratio
    return min_lr_ratio


# ----------------------------------------------------------------------------------------
# optax (rates)
# ----------------------------------------------------------------------------------------

def optax_exp(count, init, steps, rate, begin=0, staircase=False, end=None):
    dc = count - begin
    p = dc / steps
    if staircase:
        p = math.floor(p)
    v = init * rate ** p
    if end is not None:
        v = max(v, end) if rate < 1 else min(v, end)
    return init if dc <= 0 else v


def optax_cos_interp(start, end, pct):
    return end - (end - start) / 2.0 * (math.cos(math.pi * pct) + 1)


def optax_onecycle(count, T, peak, pct_start=0.3, div=25.0, fdiv=1e4):
    # optax.piecewise_interpolate_schedule("cosine", peak / div,
    #     {int(pct_start * T): div, int(T): 1 / (div * fdiv)})
    init = peak / div
    bounds = [int(pct_start * T), int(T)]
    vals = [init, init * div, init * div / (div * fdiv)]
    x = [0] + bounds
    for k in range(2):
        if count < x[k + 1]:
            pct = (count - x[k]) / (x[k + 1] - x[k])
            return optax_cos_interp(vals[k], vals[k + 1], pct)
    return vals[-1]


def optax_warmup_cosine(count, init, peak, W, D, end=0.0, exponent=1.0):
    if count < W:
        return init + (peak - init) * count / W
    c = min(count - W, D - W)
    alpha = end / peak
    cd = 0.5 * (1 + math.cos(math.pi * c / (D - W)))
    return peak * ((1 - alpha) * cd**exponent + alpha)
