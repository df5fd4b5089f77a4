"""Sylvester and Lyapunov equations by the matrix sign function.

For ``A X + X B = C`` with the spectra of ``A`` and ``B`` in the open right
half-plane (Roberts 1980)::

    sign([[A, -C], [0, -B]]) = [[I, -2X], [0, -I]].

The sign is computed by the coupled, inverse-free Newton–Schulz iteration
``S <- S (3I - S^2) / 2`` applied block-wise, after scaling the block matrix by
``max(||A||_F, ||B||_F)`` so that its eigenvalues lie in the unit disc.
Writing ``S_k = [[P, Q], [0, -R]]``, one step is::

    P <- P (3I - P^2) / 2
    R <- R (3I - R^2) / 2
    Q <- (3Q - P^2 Q + P Q R - Q R^2) / 2

and ``X = lim Q / 2`` when ``Q_0 = C / c``. Each step costs 8 matrix products,
6 when ``A is B`` (the Lyapunov-type case of the matrix-root gradients).
The tangent map ``C -> X`` is linear with a fixed trip count, so frameworks can
differentiate and transpose it.
"""

from __future__ import annotations

from typing import Any

from ._ops import Ops

Array = Any

__all__ = ["DEFAULT_MAX_ITERS", "DEFAULT_TRACED_ITERS", "sign_sylvester"]

#: cap on the adaptive iteration used when ``iters=None`` on eager arrays
DEFAULT_MAX_ITERS = 100
#: fixed count used when ``iters=None`` but values cannot be inspected
DEFAULT_TRACED_ITERS = 30


def sign_sylvester(A: Array, B: Array | None, C: Array, iters: int | None, ops: Ops) -> Array:
    """Solve ``A X + X B = C`` (``B=None`` means ``B = A``) by the sign iteration.

    ``iters=None`` iterates until the block diagonal has converged to the
    identity, then once more (eager arrays only; a fixed ``DEFAULT_TRACED_ITERS``
    under tracing). Once ``P = R = I`` the update leaves ``Q`` unchanged, so the
    test reads only ``A`` and ``B``: it works when ``C`` is a tracer (the tangent
    of a JAX JVP rule evaluated at concrete primals).
    """
    xp = ops.xp
    same = B is None
    c = ops.fro_safe(A) if same else xp.maximum(ops.fro_safe(A), ops.fro_safe(B))
    c = xp.where(c > 0, c, xp.ones_like(c))
    P = A / c
    R = P if same else B / c
    Q = C / c
    eye = ops.eye_like(P)
    eye_r = eye if same else ops.eye_like(R)
    adaptive = iters is None and ops.eager
    n_iter = (DEFAULT_MAX_ITERS if adaptive else DEFAULT_TRACED_ITERS) if iters is None else iters
    tol = _convergence_tol(xp, P.dtype, P.shape[-1])
    converged = False
    for _ in range(n_iter):
        P2 = P @ P
        PQ = P @ Q
        if same:
            Qn = (3 * Q - P2 @ Q + PQ @ P - Q @ P2) / 2
            Pn = P @ (3 * eye - P2) / 2
            Rn = Pn
        else:
            R2 = R @ R
            Qn = (3 * Q - P2 @ Q + PQ @ R - Q @ R2) / 2
            Pn = P @ (3 * eye - P2) / 2
            Rn = R @ (3 * eye_r - R2) / 2
        if adaptive:
            if converged:
                P, R, Q = Pn, Rn, Qn
                break
            converged = _converged(ops, Pn, P, tol) and (same or _converged(ops, Rn, R, tol))
        P, R, Q = Pn, Rn, Qn
    return Q / 2


def _convergence_tol(xp: Any, dtype: Any, n: int) -> float:
    eps = float(xp.finfo(dtype).eps)
    return max(n, 1) ** 0.5 * eps * 10


def _converged(ops: Ops, new: Array, old: Array, tol: float) -> bool:
    """Whether every matrix of the batch changed by at most ``tol`` relatively."""
    xp = ops.xp
    return bool(xp.all(ops.fro(new - old) <= tol * ops.fro(new)))
