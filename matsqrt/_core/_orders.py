"""Choosing orders from a tolerance and a condition-number estimate.

Every method is a scalar map applied to the eigenvalues of the normalised
matrix (exactly so for Hermitian input), so the order it needs for a relative
accuracy ``tol`` is found by running that scalar map at the extreme points of
the (estimated) normalised spectrum, in Python floats. No matrix work.
"""

from __future__ import annotations

import math

from ._coefficients import pade_order_for, taylor_coefficients

__all__ = ["MAX_ORDER", "order_for", "sign_iters_for"]

#: the most any ``tol`` may ask for (beyond it ``tol`` is out of reach: a warning)
MAX_ORDER = {"pade": 64, "taylor": 4096, "newton_schulz": 100}


def order_for(method: str, tol: float, lo: float, hi: float, q: float = 0.5) -> int:
    """Order reaching relative error ``tol`` on a spectrum in ``[lo, hi]``.

    ``lo``/``hi`` are the extreme eigenvalues of the matrix *after*
    normalisation for this method (for Padé the estimate is centred first).
    ``q``: Padé approximates ``x^(-q)`` (``1/2`` for the square roots).
    Returns ``MAX_ORDER[method] + 1`` when no order up to the cap is enough.
    """
    cap = MAX_ORDER[method]
    if method == "pade":
        cond = hi / lo if lo > 0 else math.inf
        m = pade_order_for(tol, cond, max_order=cap + 1, q=q)
        return m
    if method == "taylor":
        return _taylor_degree(tol, lo, cap)
    return _newton_schulz_iters(tol, lo, cap)


def _taylor_degree(tol: float, lo: float, cap: int) -> int:
    z = 1.0 - lo
    if z <= 0:
        return 1
    if z >= 1:
        return cap + 1
    # the tail of the binomial series of (1 - z)^(+-1/2) after degree K is
    # at most |c_{K+1}| z^(K+1) / (1 - z) (the |c_k| decrease); relative to the
    # root at the smallest eigenvalue, sqrt(lo), for the worse (square-root) case
    c = taylor_coefficients(cap + 1, -0.5)  # |c_k| of the inverse root bound both
    target = tol * math.sqrt(lo)
    zk = z
    for k in range(1, cap + 2):
        zk *= z
        if c[k] * zk / (1 - z) <= target:
            return k
    return cap + 1


def _newton_schulz_iters(tol: float, lo: float, cap: int) -> int:
    y, zz = lo, 1.0
    root = math.sqrt(lo)
    for k in range(1, cap + 2):
        t = (3.0 - zz * y) / 2.0
        y, zz = y * t, t * zz
        if abs(y - root) <= tol * root:
            return k
    return cap + 1


def sign_iters_for(tol: float, mu: float, cap: int = 100) -> int:
    """Newton–Schulz sign iterations taking ``mu in (0, 1]`` to 1 within ``tol``."""
    s = mu
    for k in range(1, cap + 1):
        s = s * (3.0 - s * s) / 2.0
        if abs(1.0 - s) <= tol:
            return k
    return cap
