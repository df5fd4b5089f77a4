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

Newton–Schulz converges only where the scaled block matrix has its eigenvalues
near the real axis (every positive definite ``A``, ``B``: the Hermitian
gradients). For general coefficients, whose eigenvalues may lie anywhere in the
open right half-plane, :func:`newton_sylvester` runs Newton's sign iteration
``S <- (mu S + (mu S)^-1) / 2``, which converges for every such spectrum.
With ``S_k = [[P, Q], [0, -R]]``, ``S^-1 = [[P^-1, P^-1 Q R^-1], [0, -R^-1]]``::

    P <- (mu P + P^-1 / mu) / 2,  R <- (mu R + R^-1 / mu) / 2
    Q <- (mu Q + P^-1 Q R^-1 / mu) / 2

with the norm scaling ``mu = (||P^-1|| ||R^-1|| / (||P|| ||R||))^(1/4)`` while far
from converged: two inverses (one when ``A is B``) and two products per step,
quadratic convergence (8-12 steps measured up to condition numbers of 1e6).
``P`` and ``R`` do not depend on ``C``, so the map ``C -> X`` is linear here too.
"""

from __future__ import annotations

import math
from typing import Any

from ._ops import Ops

Array = Any

__all__ = [
    "DEFAULT_MAX_ITERS",
    "DEFAULT_TRACED_ITERS",
    "NEWTON_TRACED_ITERS",
    "newton_sylvester",
    "sign_sylvester",
    "unsolved_to_nan",
]

#: cap on the adaptive iteration used when ``iters=None`` on eager arrays
DEFAULT_MAX_ITERS = 100
#: fixed count used when ``iters=None`` but values cannot be inspected
DEFAULT_TRACED_ITERS = 30
#: Newton's sign iterations where values cannot be inspected (quadratic convergence: enough
#: for spectra whose moduli span 1e12 in double precision, measured)
NEWTON_TRACED_ITERS = 16
#: Newton's iteration is scaled while the block diagonal is this far (relative) from a fixed point
NEWTON_SCALE_UNTIL = 1e-2


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
    P, R, Q = _scaled(A, B, C, ops)
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


def newton_sylvester(A: Array, B: Array | None, C: Array, iters: int | None, ops: Ops) -> Array:
    """Solve ``A X + X B = C`` (``B=None``: ``B = A``) by Newton's sign iteration, for spectra
    of ``A`` and ``B`` anywhere in the open right half-plane.

    ``iters=None``: until the block diagonal has converged, then once more (eager arrays,
    at most :data:`DEFAULT_MAX_ITERS`); :data:`NEWTON_TRACED_ITERS` under tracing.
    """
    xp = ops.xp
    same = B is None
    P, R, Q = _scaled(A, B, C, ops)
    adaptive = iters is None and ops.eager
    n_iter = (DEFAULT_MAX_ITERS if adaptive else NEWTON_TRACED_ITERS) if iters is None else iters
    tol = _convergence_tol(xp, P.dtype, P.shape[-1])
    converged = False
    for _ in range(n_iter):
        Pi = ops.inv(P)
        Ri = Pi if same else ops.inv(R)
        nP, nPi = ops.fro(P), ops.fro(Pi)
        ratio = (nPi / nP) ** 2 if same else (nPi * ops.fro(Ri)) / (nP * ops.fro(R))
        mu = xp.sqrt(xp.sqrt(ratio))
        # scaled while far from the fixed point (the scaling would slow the final quadratic steps)
        far = ops.fro(P - Pi) > NEWTON_SCALE_UNTIL * nP  # S = S^-1 at the fixed point
        far = far if same else far | (ops.fro(R - Ri) > NEWTON_SCALE_UNTIL * ops.fro(R))
        mu = xp.where(far & xp.isfinite(mu) & (mu > 0), mu, xp.ones_like(mu))
        Qn = (mu * Q + (Pi @ Q @ Ri) / mu) / 2
        Pn = (mu * P + Pi / mu) / 2
        Rn = Pn if same else (mu * R + Ri / mu) / 2
        if adaptive:
            if converged:
                P, R, Q = Pn, Rn, Qn
                break
            converged = _converged(ops, Pn, P, tol) and (same or _converged(ops, Rn, R, tol))
        P, R, Q = Pn, Rn, Qn
    return Q / 2


#: a solution whose backward error exceeds this does not solve the equation (see unsolved_to_nan),
#: or ``UNSOLVED_EPS`` times the dtype's epsilon where that is more (float32: 1.2e-2)
UNSOLVED = 1e-6
UNSOLVED_EPS = 1e5


def unsolved_to_nan(A: Array, B: Array | None, C: Array, X: Array, ops: Ops) -> Array:
    """``X`` with NaN in the matrices whose backward error
    ``||A X + X B - C||_F / ((||A||_F + ||B||_F) ||X||_F + ||C||_F)`` exceeds :data:`UNSOLVED`:
    the sign function's result where a coefficient has eigenvalues off the open right half-plane."""
    xp = ops.xp
    B = A if B is None else B
    err = ops.fro(A @ X + X @ B - C) / ((ops.fro(A) + ops.fro(B)) * ops.fro(X) + ops.fro(C))
    # a converged solution's backward error is rounding; the sign function's result where a
    # coefficient has eigenvalues in the left half-plane can be as close as 5% (a rotation-like
    # A with small negative real parts: X = -X_true)
    limit = max(UNSOLVED, UNSOLVED_EPS * float(xp.finfo(X.dtype).eps))
    return xp.where(~(err <= limit), xp.full_like(X, math.nan), X)


def _scaled(A: Array, B: Array | None, C: Array, ops: Ops) -> tuple[Array, Array, Array]:
    """``(A / c, B / c, C / c)`` with ``c = max(||A||_F, ||B||_F)`` (1 for zero matrices);
    ``B = None`` gives ``A / c`` twice, as the same array."""
    xp = ops.xp
    c = ops.fro_safe(A) if B is None else xp.maximum(ops.fro_safe(A), ops.fro_safe(B))
    c = xp.where(c > 0, c, xp.ones_like(c))
    P = A / c
    return P, (P if B is None else B / c), C / c


def _convergence_tol(xp: Any, dtype: Any, n: int) -> float:
    eps = float(xp.finfo(dtype).eps)
    return max(n, 1) ** 0.5 * eps * 10


def _converged(ops: Ops, new: Array, old: Array, tol: float) -> bool:
    """Whether every matrix of the batch changed by at most ``tol`` relatively."""
    xp = ops.xp
    return bool(xp.all(ops.fro(new - old) <= tol * ops.fro(new)))
