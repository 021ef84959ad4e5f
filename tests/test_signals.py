"""Ctrl-C reaches long C loops: a SIGINT makes them raise KeyboardInterrupt promptly.

Each case runs in a subprocess that starts a loop lasting minutes, prints READY, and is
sent SIGINT half a second later; it must exit through KeyboardInterrupt within a second
of the signal, with the caller's arrays untouched (the loops work on copies).
"""
import os
import signal
import textwrap

import pytest
from pacing import assert_paused_eigensolve_equals_unpaused, paced
from subprocess_helpers import interrupt_when_ready

pytestmark = pytest.mark.skipif(os.name != "posix" or not hasattr(signal, "SIGINT"),
                                reason="needs POSIX signals")

PRELUDE = textwrap.dedent("""
    import os, signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)   # even if started ignored
    import numpy as np, scipy.sparse as sp
    import lrcore
    from lrcore import _core
    from lrcore.curvature import top_eigenvalue
    from lrcore.problems import LeastSquares, Quadratic
    from lrcore.stability import descend

    def report(ok):
        print("INTERRUPTED" if ok else "INTERRUPTED-BUT-MODIFIED", flush=True)
        os._exit(0)
""")

CASES = {
    # CSR Lanczos that cannot meet its tolerance: runs until maxiter (forever)
    "csr_top_eigenvalue": """
        n = 200_000
        A = sp.diags([np.full(n - 1, -1.0), np.linspace(1.0, 3.0, n), np.full(n - 1, -1.0)],
                     [-1, 0, 1], format="csr")
        snapshot = A.data.copy()
        setup_done()
        try:
            top_eigenvalue(A, tol=1e-14, maxiter=10**9)
        except KeyboardInterrupt:
            report(np.array_equal(A.data, snapshot))
    """,
    "dense_top_eigenvalue": """
        n = 1500
        A = np.diag(np.linspace(1.0, 2.0, n)) + 1e-3 * np.eye(n, k=1) + 1e-3 * np.eye(n, k=-1)
        snapshot = A.copy()
        setup_done()
        try:
            top_eigenvalue(A, tol=1e-15, maxiter=10**9, method="power")
        except KeyboardInterrupt:
            report(np.array_equal(A, snapshot))
    """,
    # the built-in problems' descend: the whole loop in C without the GIL
    "builtin_descend": """
        rng = np.random.default_rng(0)
        p = LeastSquares(rng.normal(size=(2000, 300)), rng.normal(size=2000))
        x0 = np.ones(300)
        setup_done()
        try:
            descend(p, x0, 1e-6, steps=1_000_000)
        except KeyboardInterrupt:
            report(np.array_equal(x0, np.ones(300)))
    """,
    # descend_callable with an objective that is C code (never checks signals itself)
    "callable_descend": """
        q = Quadratic(np.eye(200))
        x0 = np.ones(200)
        steps = 3_000_000
        lrs = np.full(steps, 1e-9)
        setup_done()
        try:
            _core.descend_callable(q._c.value_and_grad, x0, lrs, steps, "gd", 0.0, 0.999,
                                   1e-8, 0.0, 1e10, 1000)
        except KeyboardInterrupt:
            report(np.array_equal(x0, np.ones(200)))
    """,
}


def _script(body):
    return PRELUDE + textwrap.dedent("""
        def setup_done():
            print("READY", flush=True)
    """) + textwrap.dedent(body) + textwrap.dedent("""
        print("FINISHED", flush=True)
        os._exit(1)
    """)


@pytest.mark.parametrize("case", list(CASES))
def test_sigint_interrupts_a_long_c_loop_within_a_second(case):
    out, err, returncode, elapsed = interrupt_when_ready(_script(CASES[case]))
    assert out.strip() == "INTERRUPTED", (out, err)
    assert returncode == 0, err
    print(f"{case}: {elapsed:.3f} s from SIGINT to exit")
    assert elapsed < 1.0, f"{case}: {elapsed:.3f} s from SIGINT to exit"


# ---- pausing is invisible: a paced run resumes exactly where it stopped --------------------

def test_paused_descend_equals_the_unpaused_run():
    """CProblem.descend pauses every 50 ms; descend_callable (same C objective, same
    machine) never does: the results must be bit-identical."""
    import numpy as np

    from lrcore import _core
    from lrcore.problems import LeastSquares

    rng = np.random.default_rng(5)
    p = LeastSquares(rng.normal(size=(600, 400)), rng.normal(size=600))
    x0, steps = np.zeros(400), 6000
    lrs = np.full(steps, 1e-3)
    args = (x0, lrs, steps, "heavy_ball", 0.9, 0.999, 1e-8, 0.0, 1e10, 7)
    paused = paced(lambda: p._c.descend(*args))
    plain = _core.descend_callable(p._c.value_and_grad, *args)
    for a, b in zip(paused[:3], plain[:3]):
        assert np.array_equal(a, b)
    assert paused[3:] == plain[3:]


@pytest.mark.parametrize("kind", ["csr", "dense"])
def test_paused_eigensolve_equals_the_unpaused_run(kind):
    """The CSR/dense drivers pause every 50 ms; the callable driver with the same C
    mat-vec never does: value, vector and counts must be bit-identical."""
    assert_paused_eigensolve_equals_unpaused(kind)
