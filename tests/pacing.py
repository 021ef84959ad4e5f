"""Pausing made to happen: the C loops come back to the binding at bounded intervals (the
pacer, every 50 ms by default) so Ctrl-C works; a paced run must resume exactly where it
stopped.  Shared by ``test_signals.py`` and ``test_eigen_memory.py`` (``tests/`` is on
``sys.path``)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from lrcore import _core


def paced(fn):
    """``fn()`` with the C loops pausing at every clock reading (about once a millisecond
    of work), so a pause happens whatever the machine's speed."""
    old = _core._set_pause_seconds(0.0)
    try:
        return fn()
    finally:
        _core._set_pause_seconds(old)


def assert_paused_eigensolve_equals_unpaused(kind, **options):
    """Solve a slowly converging problem (hundreds of mat-vecs) with the CSR (``kind``
    "csr") or dense ("dense") driver, paced by :func:`paced`, and with the callable driver
    on the same C mat-vec, which never pauses: value, vector and counts must be
    bit-identical.  ``options`` add to the solver's arguments; returns the paced result."""
    common = dict(which="LA", method="lanczos", ncv=20, tol=1e-15, maxiter=400, v0=None,
                  v0_mix=0.1, seed=3, **options)
    if kind == "csr":
        n = 60_000                    # below the OpenMP threshold: serial and quick
        A = sp.diags([np.full(n - 1, -1.0), np.linspace(1.0, 3.0, n), np.full(n - 1, -1.0)],
                     [-1, 0, 1], format="csr")
        paused = paced(lambda: _core.eig_csr(A.indptr, A.indices, A.data, n, **common))
        plain = _core.eig_callable(lambda x: _core._csrmv(A.indptr, A.indices, A.data, n, x),
                                   n, np.float64, **common)
    else:
        n = 1500                      # a slowly converging spectrum: hundreds of mat-vecs
        A = np.diag(np.linspace(1.0, 2.0, n)) + 1e-3 * (np.eye(n, k=1) + np.eye(n, k=-1))
        paused = paced(lambda: _core.eig_dense(A, **common))
        plain = _core.eig_callable(lambda x: _core._symv(A, x), n, np.float64, **common)
    assert paused["n_matvec"] == plain["n_matvec"] > 100
    assert paused["value"] == plain["value"] and paused["residual"] == plain["residual"]
    assert np.array_equal(paused["vector"], plain["vector"])
    return paused
