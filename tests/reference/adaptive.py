"""Plain-numpy twins of the step-size rules of :mod:`lrcore.adaptive`, each inside the loop of
:func:`lrcore.stability.descend` (evaluate, record, stop checks, step), written from the
published formulas (the papers and the authors' reference implementations), not from
lrcore's C code (``csrc/descend.c``).

``run(vg, x0, name, params, steps, ...)`` returns a :class:`Run` with, per iterate k: the
loss, ||grad||, the rate of the step taken from x_k (NaN at the last iterate), the number
of function evaluations spent up to and including x_k (line-search trials count), the
event name of step k, the curvature in force; and the final x, status and reason.

Notation: x_k, g_k, f_k; s = x_k - x_{k-1}, y = g_k - g_{k-1}.

- armijo            eta in {eta0, beta eta0, ...}: first with f(x - eta g) <= fref - c eta |g|^2
                    (fref = f_k or max of the last M losses); eta0 = lr0, then min(grow *
                    last accepted, max_lr); all max_backtracks + 1 trials failing stops
- polyak            eta = min((f - f*) / |g|^2, max_lr); f <= f* stops (converged)
- barzilai_borwein  eta = s's/s'y (1) or s'y/y'y (2) in [min_lr, max_lr]; s'y <= 0 or the
                    first step: the last accepted rate, or Armijo backtracking from it
- adgd              2020: min(sqrt(1 + th) lam, |s| / (2 |y|)), th_0 = inf;
                    2023: min(sqrt(2/3 + th) lam, lam / sqrt([2 lam^2 L^2 - 1]_+)), th_0 = 1/3
- dog               rbar / sqrt(sum |g|^2 + eps), rbar = max(reps_rel (1 + |x_0|), |x - x_0|)
- dadapt_sgd        Defazio & Mishchenko (2023), Algorithm (SGD, dual averaging)
- prodigy           Mishchenko & Defazio (2024), Algorithm (Adam version)
- schedule_free     Defazio et al. (2024), SGD version in the y-parametrisation
- curvature         eta = scale / lambda_max(H(x_k)), lambda from an oracle, measured at
                    step 0, every `every` steps, and after a gd step that raised |g|

A rule ends the run as converged at an exactly zero gradient.  Nothing here calls an
lrcore kernel.
"""
import math
from dataclasses import dataclass, field

import numpy as np

BLOWUP = 1e10


@dataclass
class Run:
    x: np.ndarray
    losses: list = field(default_factory=list)
    gnorms: list = field(default_factory=list)
    rates: list = field(default_factory=list)
    n_evals: list = field(default_factory=list)
    events: list = field(default_factory=list)
    lambdas: list = field(default_factory=list)
    status: str = "completed"
    reason: object = None
    steps_run: int = 0


def _lerp(a, b, w):
    """torch.lerp's formula (two branches for accuracy)."""
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1.0 - w)


def run(vg, x0, name, params, steps, *, value=None, tol=0.0, blowup=BLOWUP, lam=None,
        scale=None, every=0, method="gd", momentum=0.0):
    """Run rule ``name`` (its factory's ``params``) for ``steps`` steps from ``x0``.

    ``vg(x) -> (f, g)``; ``value(x) -> f`` for line-search trials (default: vg's f);
    ``lam(x, k) -> lambda_max`` and ``scale`` for the curvature rule (``every``: its
    schedule, 0 = only the first step); ``method``/``momentum``: gd, heavy_ball or
    nesterov (curvature only)."""
    p = dict(params)
    value = value or (lambda z: vg(z)[0])
    x = np.array(x0, dtype=np.float64)
    out = Run(x)
    nev = 0
    f0 = None
    st = {"prev": None, "t": 0}       # rule state: last accepted rate, accepted steps
    hist = []
    buf = np.zeros_like(x)
    xprev = gprev = None
    x_init = x.copy()
    gn_prev = math.nan
    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            f, g = vg(x)
            f = float(f)
            g = np.asarray(g, dtype=np.float64)
            nev += 1
            gn = float(np.linalg.norm(g))
            out.losses.append(f)
            out.gnorms.append(gn)
            out.n_evals.append(nev)
            if k == 0:
                f0 = f
            if not (math.isfinite(f) and math.isfinite(gn)) or \
                    (blowup > 0 and f - f0 > blowup * max(abs(f0), 1.0)):
                out.status = "diverged"
                break
            if tol > 0 and gn <= tol:
                out.status = "converged"
                break
            if k == steps:
                break
            if gn == 0.0:
                out.status, out.reason = "converged", "zero_gradient"
                break
            if name == "polyak" and not f > p["f_star"]:
                out.status, out.reason = "converged", "target_reached"
                break
            event, lam_k = "", math.nan
            if name in ("armijo", "barzilai_borwein"):
                backtrack = name == "armijo"
                if name == "armijo":
                    M = p["nonmonotone"]
                    fref = f
                    if M > 1:
                        hist.append(f)
                        fref = max(hist[-M:])
                    eta = p["lr0"] if st["prev"] is None else p["grow"] * st["prev"]
                    eta = min(eta, p["max_lr"])
                else:
                    fref = f
                    fallback = xprev is None
                    if not fallback:
                        s, y = x - xprev, g - gprev
                        ss, sy, yy = s @ s, s @ y, y @ y
                        eta = ss / sy if p["variant"] == 1 else sy / yy
                        if not (sy > 0 and eta > 0 and math.isfinite(eta)):
                            fallback = True
                        elif eta < p["min_lr"] or eta > p["max_lr"]:
                            eta = min(max(eta, p["min_lr"]), p["max_lr"])
                            event = "clamped"
                    if fallback:
                        eta = p["lr0"] if st["prev"] is None else st["prev"]
                        backtrack = p["fallback"] == "backtrack"
                        event = "fallback_backtrack" if backtrack else "fallback_last"
                    xprev, gprev = x.copy(), g.copy()
                if backtrack:
                    gg = g @ g
                    for _ in range(p["max_backtracks"] + 1):
                        ft = value(x - eta * g)
                        nev += 1
                        if math.isfinite(ft) and ft <= fref - p["c"] * eta * gg:
                            break
                        eta *= p["shrink"]
                    else:
                        out.status, out.reason = "stopped", "line_search_failed"
                        break
                x = x - eta * g
            elif name == "polyak":
                eta = (f - p["f_star"]) / (g @ g)
                if eta > p["max_lr"]:
                    eta, event = p["max_lr"], "clamped"
                x = x - eta * g
            elif name == "adgd":
                if xprev is None:
                    eta = p["lr0"]
                    st["theta"] = math.inf if p["variant"] == "2020" else 1 / 3
                else:
                    lam_prev = st["prev"]
                    dx, dg = np.linalg.norm(x - xprev), np.linalg.norm(g - gprev)
                    th = st["theta"]
                    if p["variant"] == "2020":
                        t1 = math.sqrt(1 + th) * lam_prev
                        t2 = dx / (2 * dg) if dg > 0 else math.inf
                    else:
                        t1 = math.sqrt(2 / 3 + th) * lam_prev
                        a = 2 * lam_prev ** 2 * (dg / dx) ** 2 - 1
                        t2 = lam_prev / math.sqrt(a) if a > 0 else math.inf
                    eta = min(t1, t2)
                    if not (0 < eta < math.inf):
                        eta, event = lam_prev, "clamped"
                    st["theta"] = eta / lam_prev
                xprev, gprev = x.copy(), g.copy()
                x = x - eta * g
            elif name == "dog":
                if k == 0:
                    st["rbar"] = p["reps_rel"] * (1 + np.linalg.norm(x))
                    st["G"] = g @ g + p["eps"]
                else:
                    st["rbar"] = max(st["rbar"], np.linalg.norm(x - x_init))
                    st["G"] += g @ g
                eta = st["rbar"] / math.sqrt(st["G"])
                x = x - eta * g
            elif name == "dadapt_sgd":
                x, eta = _dadapt_step(st, p, x, g, x_init)
            elif name == "prodigy":
                x, eta = _prodigy_step(st, p, x, g, x_init)
            elif name == "schedule_free":
                x, eta = _sf_step(st, p, x, g, x_init)
            elif name == "curvature":
                due = k == 0 or (every > 0 and k - st["last"] >= every) or \
                    (method == "gd" and gn > gn_prev)
                if due:
                    st["lam"] = lam(x, k)
                    st["last"] = k
                    event = "measured"
                    if st["lam"] > 0:
                        st["eta"] = min(scale / st["lam"], p.get("max_lr", math.inf))
                    else:
                        raise NotImplementedError("non-positive curvature")
                eta, lam_k = st["eta"], st["lam"]
                if method == "gd":
                    x = x - eta * g
                else:
                    buf = momentum * buf + g if k > 0 else g.copy()
                    x = x - eta * (g + momentum * buf if method == "nesterov" else buf)
            else:
                raise ValueError(name)
            if eta > 0:
                st["prev"] = eta
            st["t"] += 1
            gn_prev = gn
            out.rates.append(eta)
            out.events.append(event)
            out.lambdas.append(lam_k)
            out.steps_run = k + 1
    out.x = x
    return out


def _dadapt_step(st, p, x, g, x0):
    """D-Adaptation SGD: lam = d lr / |g_0|; num += lam <g, s>; s += lam g;
    d = max(d, min(2 num / |s|, d growth)); x <- mu x + (1 - mu)(x0 - s)."""
    if "d" not in st:
        st.update(d=p["d0"], num=0.0, s=np.zeros_like(x), g0=float(np.sqrt(g @ g)))
    lam = st["d"] * p["lr"] / st["g0"]
    st["num"] += lam * (g @ st["s"])
    st["s"] = st["s"] + lam * g
    dhat = 2 * st["num"] / np.linalg.norm(st["s"])
    st["d"] = max(st["d"], min(dhat, st["d"] * p["growth_rate"]))
    ck = 1 - p["momentum"]
    return (1 - ck) * x + ck * (x0 - st["s"]), lam


def _prodigy_step(st, p, x, g, x0):
    """Prodigy (Adam version): see lrcore.adaptive.prodigy's docstring."""
    b1, b2 = p["betas"]
    b3 = math.sqrt(b2) if p["beta3"] is None else p["beta3"]
    if "d" not in st:
        st.update(d=p["d0"], dmax=p["d0"], r=0.0, s=np.zeros_like(x), m=np.zeros_like(x),
                  v=np.zeros_like(x), k=0)
    d, d0 = st["d"], p["d0"]
    bc = (math.sqrt(1 - b2 ** (st["k"] + 1)) / (1 - b1 ** (st["k"] + 1))
          if p["use_bias_correction"] else 1.0)
    lam = d * p["lr"] * bc
    r = st["r"] * b3 + (d / d0) * lam * (g @ (x0 - x))
    st["m"] = b1 * st["m"] + d * (1 - b1) * g
    st["v"] = b2 * st["v"] + d * d * (1 - b2) * g * g
    st["s"] = b3 * st["s"] + ((d / d0) * d if p["safeguard_warmup"] else (d / d0) * lam) * g
    dhat = p["d_coef"] * r / np.abs(st["s"]).sum()
    if d == d0:
        d = max(d, dhat)
    st["dmax"] = max(st["dmax"], dhat)
    d = min(st["dmax"], d * p["growth_rate"])
    st["d"], st["r"] = d, r
    denom = np.sqrt(st["v"]) + d * p["eps"]
    x = x - p["weight_decay"] * lam * x
    x = x - lam * (st["m"] / denom) if b1 > 0 else x - lam * d * (g / denom)
    st["k"] += 1
    return x, lam


def _sf_step(st, p, y, g, x0):
    """Schedule-free SGD on y (the gradient point): c = w_t / sum w,
    y <- lerp(y, z, c) + gamma (beta (1 - c) - 1) g, z <- z - gamma g."""
    if "z" not in st:
        st.update(z=np.array(x0, dtype=np.float64), k=0, wsum=0.0, lr_max=-1.0)
    k = st["k"]
    gamma = p["lr"] * ((k + 1) / p["warmup_steps"] if k < p["warmup_steps"] else 1.0)
    st["lr_max"] = max(gamma, st["lr_max"])
    w = (k + 1) ** p["r"] * st["lr_max"] ** p["weight_lr_power"]
    st["wsum"] += w
    c = w / st["wsum"] if st["wsum"] else 0.0
    if p["weight_decay"]:
        g = g + p["weight_decay"] * y
    y = np.array([_lerp(a, b, c) for a, b in zip(y, st["z"])])
    y = y + gamma * (p["momentum"] * (1 - c) - 1) * g
    st["z"] = st["z"] - gamma * g
    st["k"] += 1
    return y, gamma


def sf_average(y, z, momentum):
    """The schedule-free evaluation point x = y + (1 - 1/beta)(z - y)."""
    w = 1 - 1 / momentum
    return np.array([_lerp(a, b, w) for a, b in zip(y, z)])
