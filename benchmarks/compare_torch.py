"""lambda_max of a torch model's loss Hessian: lrcore.torch vs PyHessian, hessian-eigenthings
and scipy eigsh, in one run.

    python benchmarks/compare_torch.py                # full run (a few minutes), writes
                                                      # benchmarks/reports/compare_torch.txt
    python benchmarks/compare_torch.py --quick        # fewer repeats
    python benchmarks/compare_torch.py --threads 1    # torch on one thread

Problems: tanh MLPs 64-32-10 (2,410 parameters) and 64-128-128-10 (26,122) on the digits
shipped with lrcore (1797 x 64, pixels / 16, cross-entropy over all samples as one batch),
float64 and float32, trained for 200 full-batch heavy-ball steps from a fixed seed so the
Hessian is not the one at initialisation.

For every problem:

* eigen-solvers, each with its own stopping rule at tol 1e-6 and 1e-3 -- lrcore
  ``top_eigenvalue`` (thick-restart Lanczos; residual test) on ``lrcore.torch.hessian``
  (``hvp="auto"``, double-backprop on CPU, and forward-over-reverse by name);
  scipy ``eigsh`` (ARPACK) on the same operator; PyHessian ``hessian.eigenvalues``
  (power iteration; relative change of the eigenvalue); hessian-eigenthings ``lanczos``
  (a fixed Krylov size: the smallest size whose Ritz residual meets tol, found by search,
  the search not counted) and ``power_iteration_one`` -- with the HVPs used, the relative
  error against a reference (eigsh at tol 1e-14 on a float64 operator, checked against
  lrcore at tol 1e-13) and the wall time;
* the time of one HVP: the adapter (``hvp="auto"`` = double-backprop on CPU, and
  forward-over-reverse) against a hand-written double-backprop HVP on torch tensors
  (``torch.autograd.grad`` twice);
* the certified bound of ``lrcore.torch.safe_lr`` (``certified=True``, ``bound_rtol=0.02``,
  the defaults) for ``SGD``: HVPs, ``L``, ``L_upper`` and ``L_upper`` against the reference
  lambda_max (3 seeds), and the bound reached in a budget of 60 HVPs (``maxiter=60``);
* the monitor's cost: HVPs of a cold estimate and of a warm one (``v0`` = the eigenvector
  from before 10 training steps), through ``SharpnessMonitor.measure``; with how far the
  top eigenvector turned in those 10 steps (sine of the angle between the two, from
  estimates at tol 1e-10) and, for the record, the warm HVPs with less of a random vector
  mixed into ``v0`` (``v0_mix=1e-3`` instead of the default 0.1; ``SharpnessMonitor`` and
  ``top_eigenvalue`` take the keyword).

Peers are installed with ``pip install --no-deps pyhessian hessian-eigenthings``; a peer
that cannot be imported is reported as "not installed" (nothing is reimplemented).
"""
from __future__ import annotations

import argparse
import os
import sys

import timing  # benchmarks/timing.py

timing.threads_from_argv()      # --threads N must reach OpenBLAS before numpy loads it

import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402
from scipy.sparse.linalg import eigsh  # noqa: E402

import lrcore  # noqa: E402
import lrcore.curvature  # noqa: E402
from lrcore.datasets import load_digits  # noqa: E402
from lrcore.torch import SharpnessMonitor, hessian, safe_lr  # noqa: E402

F = torch.nn.functional
TOLS = (1e-6, 1e-3)

try:
    import pyhessian  # noqa: F401
    import pyhessian.hessian  # noqa: F401
    _ph = sys.modules["pyhessian.hessian"]        # the module (the package exports the class)
    PYHESSIAN = "pyhessian " + getattr(pyhessian, "__version__", "0.1")
except Exception as exc:  # noqa: BLE001
    _ph, PYHESSIAN = None, f"not installed ({type(exc).__name__})"
try:
    import hessian_eigenthings as _he
    EIGENTHINGS = "hessian-eigenthings " + _he.__version__
except Exception as exc:  # noqa: BLE001
    _he, EIGENTHINGS = None, f"not installed ({type(exc).__name__})"


class Out:
    def __init__(self):
        self.buf = io.StringIO()

    def __call__(self, *a):
        s = " ".join(str(x) for x in a)
        print(s, flush=True)
        self.buf.write(s + "\n")


out = Out()


def mlp(sizes, dtype, seed=0):
    torch.manual_seed(seed)
    mods = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        mods += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*mods[:-1]).to(dtype)


def trained(sizes, dtype, x, t, steps=200):
    """Train in float64 from a fixed seed, then cast: both dtypes share the parameters
    (rounded to float32 for the float32 model)."""
    m = mlp(sizes, torch.float64)
    x = x.double()
    opt = torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(m(x), t).backward()
        opt.step()
    return m.to(dtype)


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t0


# ------------------------------------------------------------------------------ solvers

def run_lrcore(H, tol):
    n0 = H.num_hvps
    r, dt = timed(lambda: lrcore.top_eigenvalue(H, tol=tol, seed=0))
    return r.value, H.num_hvps - n0, dt, ""


def run_eigsh(H, tol):
    n0 = H.num_hvps
    v0 = np.random.default_rng(0).standard_normal(H.n).astype(H.dtype)
    w, dt = timed(lambda: eigsh(H, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False))
    return float(w[0]), H.num_hvps - n0, dt, ""


@contextlib.contextmanager
def default_dtype(dt):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dt)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def run_pyhessian(model, x, t, tol):
    if _ph is None:
        return None
    count = [0]
    orig = _ph.hessian_vector_product

    def counted(*a, **k):
        count[0] += 1
        return orig(*a, **k)

    _ph.hessian_vector_product = counted
    try:
        m = model
        torch.manual_seed(0)
        # PyHessian draws its vectors with torch.randn in the default dtype: set it to the
        # model's (for a float64 model it otherwise fails on a dtype mismatch)
        with default_dtype(next(m.parameters()).dtype), warnings.catch_warnings():
            warnings.simplefilter("ignore")      # its backward(create_graph=True) warning
            t0 = time.perf_counter()
            hc = _ph.hessian(m, torch.nn.CrossEntropyLoss(), data=(x, t), cuda=False)
            ev, _ = hc.eigenvalues(maxIter=5000, tol=tol, top_n=1)
            dt = time.perf_counter() - t0
        for p in m.parameters():          # PyHessian leaves a create_graph .grad behind
            p.grad = None
        return float(ev[0]), count[0], dt, "incl. its first gradient"
    except Exception as exc:  # noqa: BLE001
        return float("nan"), count[0], 0.0, f"error: {type(exc).__name__}: {str(exc)[:60]}"
    finally:
        _ph.hessian_vector_product = orig


def he_operator(model, x, t):
    op = _he.HessianOperator(model, [(x, t)], _he.supervised_loss(torch.nn.CrossEntropyLoss()))
    count = [0]
    mv = op.matvec

    def counted(v):
        count[0] += 1
        return mv(v)

    op.matvec = counted
    return op, count


def run_he_lanczos(model, x, t, tol):
    if _he is None:
        return None
    op, count = he_operator(model, x, t)

    def attempt(k):
        r = _he.lanczos(op, k=1, max_iter=k, which="LA", tol=tol, seed=0)
        return bool(r.converged[0]), float(r.eigenvalues[0])

    lo, hi = 1, 2                           # smallest Krylov size that converges
    while not attempt(hi)[0]:
        lo, hi = hi, hi * 2
        if hi > 512:
            return float("nan"), 0, 0.0, "did not converge with 512 vectors"
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if attempt(mid)[0]:
            hi = mid
        else:
            lo = mid
    count[0] = 0
    (ok, val), dt = timed(lambda: attempt(hi))
    return val, count[0], dt, f"Krylov size {hi} (searched)"


def run_he_power(model, x, t, tol):
    if _he is None:
        return None
    op, count = he_operator(model, x, t)
    (lam, _, _, it, conv), dt = timed(lambda: _he.power_iteration_one(op, max_iter=5000,
                                                                      tol=tol, seed=0))
    return float(lam), count[0], dt, "" if conv else "not converged"


# ------------------------------------------------------------------------------ HVP time

def hvp_times(model, x, t, repeats):
    params = list(model.parameters())
    H_func = hessian(model, F.cross_entropy, (x, t), hvp="forward-over-reverse")
    H_dbl = hessian(model, F.cross_entropy, (x, t))                 # auto: double-backprop
    H_dbl @ np.zeros(H_dbl.n, dtype=H_dbl.dtype)
    assert H_dbl.hvp_method == "double-backprop", H_dbl.hvp_method
    v_np = np.random.default_rng(1).standard_normal(H_func.n).astype(H_func.dtype)
    v_t = torch.from_numpy(v_np.copy())
    vs = [c.view(p.shape) for c, p in zip(torch.split(v_t, [p.numel() for p in params]), params)]

    def hand():
        loss = F.cross_entropy(model(x), t)
        g = torch.autograd.grad(loss, params, create_graph=True)
        h = torch.autograd.grad(g, params, grad_outputs=vs)
        return torch.cat([a.reshape(-1) for a in h])

    fns = {"func": lambda: H_func @ v_np, "dbl": lambda: H_dbl @ v_np, "hand": hand}
    ref = hand().numpy()
    for k, f in fns.items():
        r = np.asarray(f())
        assert np.linalg.norm(r - ref) <= 1e-4 * np.linalg.norm(ref), k
    ts = timing.interleaved_times(fns, repeats, warmup=False)   # all ran above
    return {k: statistics.median(v) for k, v in ts.items()}, {k: min(v) for k, v in ts.items()}


# ------------------------------------------------------------------------------ certified

def certified_rows(model, x, t, ref, seeds=3):
    """lrcore.torch.safe_lr(certified=True) for SGD: the default bound_rtol=0.02, and a
    budget of 60 HVPs."""
    out = {}
    for label, kw in (("bound_rtol=0.02", {}), ("maxiter=60", {"maxiter": 60})):
        rows = []
        for s in range(seeds):
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")      # ConvergenceWarning at maxiter=60
                (r, dt) = timed(lambda: safe_lr(model, F.cross_entropy, (x, t), opt, seed=s,
                                                **kw))
            rows.append((r.n_matvec, r.L, r.L_upper, r.L_upper / ref - 1, dt, r.bound))
        out[label] = rows
    return out


# ------------------------------------------------------------------------------ monitor

def warm_cold(sizes, x, t, regime, tol, seeds=5):
    """HVPs of warm and cold estimates 10 training steps after a measurement; the sine of
    the angle the top eigenvector turned; warm HVPs with v0_mix=1e-3."""
    lr, mom, batch = regime
    warm, cold, sines, warm_mix = [], [], [], []
    for s in range(seeds):
        m = trained(sizes, torch.float64, x, t)
        opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=mom)
        mon = SharpnessMonitor(m, F.cross_entropy, (x, t), tol=tol, seed=100 * s)
        mon.measure(opt)
        prev = mon.last.vector
        H = hessian(m, F.cross_entropy, (x, t))
        u0 = lrcore.top_eigenvalue(H, tol=1e-10, seed=1, v0=prev).vector
        g = torch.Generator().manual_seed(s)
        for _ in range(10):
            idx = torch.randint(0, len(x), (batch,), generator=g) if batch else slice(None)
            opt.zero_grad()
            F.cross_entropy(m(x[idx]), t[idx]).backward()
            opt.step()
        warm.append(mon.measure(opt)["hvps"])
        cold_mon = SharpnessMonitor(m, F.cross_entropy, (x, t), tol=tol, seed=100 * s + 7)
        cold.append(cold_mon.measure(opt, warm=False)["hvps"])
        n0 = H.num_hvps
        lrcore.top_eigenvalue(H, tol=tol, seed=100 * s + 1, v0=prev, v0_mix=1e-3)
        warm_mix.append(H.num_hvps - n0)
        u1 = lrcore.top_eigenvalue(H, tol=1e-10, seed=2, v0=u0).vector
        sines.append(float(np.sqrt(max(0.0, 1.0 - float(u0 @ u1) ** 2))))
    return (float(np.mean(cold)), float(np.mean(warm)), float(np.mean(warm_mix)),
            float(np.median(sines)))


# ------------------------------------------------------------------------------ main

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch (and BLAS) threads; default: torch's default")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "reports", "compare_torch.txt"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    repeats = 15 if args.quick else 41

    out("lrcore.torch sharpness benchmark")
    out(f"  python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{np.__version__}, scipy {scipy.__version__}, lrcore {lrcore.__version__}")
    out(f"  peers: {PYHESSIAN}; {EIGENTHINGS}")
    out(f"  {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}")
    for line in timing.environment():
        out(f"  {line}")
    out(f"  load average at start: {os.getloadavg()[0]:.2f} (the machine may be shared: "
        "times are medians of interleaved repeats)")
    X, y, _ = load_digits()
    summary = []

    for sizes in ((64, 32, 10), (64, 128, 128, 10)):
        for dt in (torch.float64, torch.float32):
            x = torch.tensor(X / 16.0, dtype=dt)
            t = torch.tensor(y, dtype=torch.long)
            model = trained(sizes, dt, x, t)
            n = sum(p.numel() for p in model.parameters())
            H = hessian(model, F.cross_entropy, (x, t))          # auto: double-backprop
            Hf = hessian(model, F.cross_entropy, (x, t), hvp="forward-over-reverse")
            H64 = (hessian(model, F.cross_entropy, (x, t), dtype=torch.float64)
                   if dt == torch.float32 else None)       # float64 products, float32 model
            Href = hessian(model, F.cross_entropy, (x, t), dtype=torch.float64)
            v0 = np.random.default_rng(5).standard_normal(n)
            for op in (H, Hf, H64):              # one-time costs (torch.func set-up) first
                if op is not None:
                    op @ v0.astype(op.dtype)
            ref = float(eigsh(Href, k=1, which="LA", tol=1e-14, v0=v0,
                              return_eigenvectors=False)[0])
            chk = lrcore.top_eigenvalue(Href, tol=1e-13, seed=3).value
            name = f"MLP {'-'.join(map(str, sizes))} ({n} params), {str(dt)[6:]}"
            out("")
            out(f"{name}: lambda_max = {ref:.15g} (eigsh tol 1e-14 on float64 products; "
                f"lrcore tol 1e-13 agrees to {abs(chk - ref) / ref:.1e})")
            out(f"  {'solver':48s} {'HVPs':>6s} {'/lrcore':>8s} {'rel. error':>10s} "
                f"{'time':>9s} {'/lrcore':>8s}  note")
            rows = {}
            for tol in TOLS:
                cands = [(f"lrcore lanczos        tol={tol:g}", run_lrcore(H, tol)),
                         (f"lrcore lanczos, hvp=forward-over-reverse tol={tol:g}",
                          run_lrcore(Hf, tol)),
                         *([(f"lrcore lanczos, dtype=float64 tol={tol:g}",
                             run_lrcore(H64, tol))] if H64 is not None else []),
                         (f"scipy eigsh (ARPACK)  tol={tol:g}", run_eigsh(H, tol)),
                         (f"PyHessian power       tol={tol:g}", run_pyhessian(model, x, t, tol)),
                         (f"eigenthings lanczos   tol={tol:g}", run_he_lanczos(model, x, t, tol)),
                         (f"eigenthings power     tol={tol:g}", run_he_power(model, x, t, tol))]
                base = cands[0][1]
                for label, r in cands:
                    if r is None:
                        out(f"  {label:48s} {'not installed':>6s}")
                        continue
                    val, hv, sec, note = r
                    err = abs(val - ref) / ref
                    out(f"  {label:48s} {hv:6d} {hv / base[1]:7.2f}x {err:10.1e} "
                        f"{1e3 * sec:7.1f}ms {sec / base[2]:7.2f}x  {note}")
                    rows[(label.split(" tol=")[0].strip(), tol)] = (hv, err, sec)
            ht, hmin = hvp_times(model, x, t, repeats)
            out(f"  one HVP (median of {repeats}; min in brackets): adapter auto = double-backprop "
                f"{1e3 * ht['dbl']:.2f} ms ({ht['dbl'] / ht['hand']:.2f}x) "
                f"[{1e3 * hmin['dbl']:.2f} ms, {hmin['dbl'] / hmin['hand']:.2f}x]")
            out(f"                                       adapter forward-over-reverse     "
                f"{1e3 * ht['func']:.2f} ms ({ht['func'] / ht['hand']:.2f}x) "
                f"[{1e3 * hmin['func']:.2f} ms, {hmin['func'] / hmin['hand']:.2f}x]")
            out(f"                                       hand-written double-backprop     "
                f"{1e3 * ht['hand']:.2f} ms (1.00x) [{1e3 * hmin['hand']:.2f} ms]")
            cert = certified_rows(model, x, t, ref)
            out(f"  certified bound, lrcore.torch.safe_lr(SGD, certified=True), seeds 0-2 "
                f"(reference lambda_max {ref:.10g}):")
            for label, rs in cert.items():
                hv = sorted({r[0] for r in rs})
                out(f"    {label:16s} HVPs {'/'.join(map(str, hv)):>7s}  L {rs[0][1]:.10g}  "
                    f"L_upper {rs[0][2]:.10g} ({rs[0][5]})  L_upper/lambda_max - 1 "
                    f"{min(r[3] for r in rs):.4%} .. {max(r[3] for r in rs):.4%}  "
                    f"time {1e3 * statistics.median(r[4] for r in rs):.0f} ms")
            summary.append((name, rows, ht, cert))

    out("")
    out("monitor: HVPs of an estimate 10 training steps after the previous one "
        "(mean over 5 seeds; float64)")
    out("  sin: median sine of the angle the top eigenvector turned in the 10 steps; "
        "mix 1e-3: warm HVPs with")
    out("  top_eigenvalue(..., v0_mix=1e-3) from the same start (SharpnessMonitor(v0_mix=1e-3) "
        "gives the same; default 0.1)")
    out(f"  {'model':16s} {'10 steps of':34s} {'tol':>6s} {'cold':>6s} {'warm':>6s} "
        f"{'warm/cold':>9s} {'sin':>8s} {'mix 1e-3':>8s} {'/cold':>6s}")
    digits_x = torch.tensor(X / 16.0)
    digits_t = torch.tensor(y, dtype=torch.long)
    regimes = [((0.1, 0.0, 0), "full-batch SGD lr 0.1"),
               ((0.5, 0.9, 0), "full-batch SGD lr 0.5 momentum 0.9"),
               ((0.1, 0.9, 64), "minibatch-64 SGD lr 0.1 momentum 0.9")]
    mon_rows = []
    for sizes in ((64, 32, 10), (64, 128, 128, 10)):
        for regime, label in regimes:
            for tol in (1e-3, 1e-6):
                if args.quick and tol == 1e-6:
                    continue
                c, w, wm, sn = warm_cold(sizes, digits_x, digits_t, regime, tol,
                                         seeds=3 if args.quick else 5)
                mon_rows.append((sizes, label, tol, c, w))
                out(f"  {'-'.join(map(str, sizes)):16s} {label:34s} {tol:6g} {c:6.1f} "
                    f"{w:6.1f} {w / c:9.2f} {sn:8.1e} {wm:8.1f} {wm / c:6.2f}")

    out("")
    out("targets (reported, not asserted)")
    for name, rows, ht, cert in summary:
        lr6 = rows.get(("lrcore lanczos", 1e-6))
        ph6 = rows.get(("PyHessian power", 1e-6))
        if ph6 is not None and np.isfinite(ph6[1]):
            out(f"  {name}: lrcore tol 1e-6 reaches rel. error {lr6[1]:.1e} in {lr6[0]} HVPs; "
                f"PyHessian tol 1e-6 uses {ph6[0]} HVPs (error {ph6[1]:.1e}): "
                f"{lr6[0] / ph6[0]:.2f}x the HVPs (target <= 0.5: "
                f"{'met' if lr6[0] <= 0.5 * ph6[0] and lr6[1] <= 1e-6 else 'NOT met'})")
            l64 = rows.get(("lrcore lanczos, dtype=float64", 1e-6))
            if l64 is not None:
                out(f"  {'':{len(name)}s}  (float32 products round at ~1e-6 relative; with "
                    f"dtype=float64 products lrcore reaches {l64[1]:.1e} in {l64[0]} HVPs: "
                    f"{l64[0] / ph6[0]:.2f}x PyHessian's, target "
                    f"{'met' if l64[0] <= 0.5 * ph6[0] and l64[1] <= 1e-6 else 'NOT met'})")
        else:
            out(f"  {name}: PyHessian {'not installed' if ph6 is None else 'failed'}")
        out(f"  {'':{len(name)}s}  HVP time with hvp='auto' (double-backprop on CPU) "
            f"{ht['dbl'] / ht['hand']:.2f}x the hand-written one (target <= 1.2: "
            f"{'met' if ht['dbl'] <= 1.2 * ht['hand'] else 'NOT met'}); forward-over-reverse "
            f"{ht['func'] / ht['hand']:.2f}x")
        c2, c60 = cert["bound_rtol=0.02"], cert["maxiter=60"]
        worst = max(r[3] for r in c2)
        hv = max(r[0] for r in c2)
        out(f"  {'':{len(name)}s}  certified bound within {worst:.3%} of lambda_max in {hv} HVPs "
            f"(target <= 2% in <= 60 HVPs: "
            f"{'met' if worst <= 0.02 and hv <= 60 else 'NOT met'}); in 60 HVPs: within "
            f"{max(r[3] for r in c60):.3%}")
    ok = [r for r in mon_rows if r[4] <= r[3] / 3]
    out(f"  warm <= cold / 3: met in {len(ok)} of {len(mon_rows)} monitor rows "
        f"(warm/cold from {min(r[4] / r[3] for r in mon_rows):.2f} to "
        f"{max(r[4] / r[3] for r in mon_rows):.2f})")
    out(f"  load average at the end: {os.getloadavg()[0]:.2f}")
    if args.out:
        timing.save_report(out.buf.getvalue(), args.out)


if __name__ == "__main__":
    main()
