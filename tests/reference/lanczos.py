"""Plain-numpy twin of the first pass of the low-memory Lanczos solver (csrc/eigen.c,
LRC_EIG_LANCZOS_LOWMEM): the three-term recurrence with local reorthogonalisation
against the previous two vectors (classical Gram-Schmidt, repeated when the first sweep
leaves more than 1e-10 ||w||).  Unlike the solver it keeps every vector, so a test can
measure the actual loss of orthogonality and compare T with the projection of A.
"""
import numpy as np


def lanczos_local(matvec, q, k):
    """k steps from the unit vector q.  Returns (alpha, beta, V): alpha[j] = T[j, j],
    beta[j] the coupling of v_j and v_{j+1}, and V (n x (k+1)) the vectors v_0 .. v_k
    (v_k = the residual direction of T_k); stops early on beta == 0."""
    q = np.asarray(q, dtype=np.float64)
    vs = [q.copy()]
    alpha, beta = [], []
    prev = None
    cur = vs[0]
    for _ in range(k):
        w = np.asarray(matvec(cur), dtype=np.float64).copy()
        h0 = prev @ w if prev is not None else 0.0
        h1 = cur @ w
        w -= h1 * cur
        if prev is not None:
            w -= h0 * prev
        g0 = prev @ w if prev is not None else 0.0
        g1 = cur @ w
        if g0 * g0 + g1 * g1 > 1e-20 * (w @ w):
            w -= g1 * cur
            if prev is not None:
                w -= g0 * prev
            h1 += g1
        b = float(np.linalg.norm(w))
        alpha.append(float(h1))
        beta.append(b)
        if b == 0.0:
            break
        prev, cur = cur, w / b
        vs.append(cur)
    return np.array(alpha), np.array(beta), np.array(vs).T


def orthogonality_loss(V):
    """max_{i != j} |v_i'v_j| of the columns of V (unit vectors)."""
    G = V.T @ V
    np.fill_diagonal(G, 0.0)
    return float(np.max(np.abs(G))) if G.size else 0.0
