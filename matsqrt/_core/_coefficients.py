"""Exact coefficients of the rational and polynomial approximants.

Everything here is computed once per order in Python floats (IEEE double)
from closed forms, never typed in by hand, and cached.

Padé
----
The diagonal Padé approximant [m/m] of ``(1 - z)^(-1/2)`` at ``z = 0``,
written in ``x = 1 - z``, is (Kenney & Laub 1991; Higham, *Functions of
Matrices*, §5.4 and §6.7)::

    r_m(x) = 1/p + sum_k a_k / (x + d_k),   p = 2m + 1,
    d_k = tan^2(phi_k),  a_k = (2/p) sec^2(phi_k),  phi_k = (2k - 1) pi / (2p).

It has the closed form ``r_m(x) = x^(-1/2) (1 - u^p) / (1 + u^p)`` with
``u = (1 - sqrt x) / (1 + sqrt x)``, so its relative error is
``2|u|^p / (1 + u^p)``: small for every ``x > 0``, symmetric under
``x -> 1/x``, and the poles ``-d_k`` are negative, so every shifted matrix
``A + d_k I`` of a Hermitian positive semidefinite ``A`` is positive definite.
All the weights are positive: the sum has no cancellation, unlike the monomial
form ``P(Z) / Q(Z)`` whose coefficients alternate and grow with ``m``.
The reciprocal ``1 / r_m`` is the [m/m] Padé approximant of ``(1 - z)^(1/2)``.

The same function as a ratio of polynomials in ``x`` (expand ``(1 +- sqrt x)^p``
in the closed form)::

    r_m(x) = P(x) / Q(x),  P(x) = sum_j C(p, 2j + 1) x^j,  Q(x) = sum_j C(p, 2j) x^j,

with positive integer coefficients, so ``P(X)`` and ``Q(X)`` of a Hermitian
positive semidefinite ``X`` are sums of positive semidefinite terms and
``Q(X) >= Q(0) I = I``. This "product form" needs one inverse instead of m; its
rounding error grows with the condition number of ``Q(X)``, at most
``Q(x_max)``, so it is used only at low orders on a bounded spectrum.
"""

from __future__ import annotations

import math
from functools import cache

__all__ = [
    "pade_error_bound",
    "pade_order_for",
    "pade_partial_fractions",
    "pade_polynomials",
    "taylor_coefficients",
]


@cache
def pade_partial_fractions(m: int) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    """Return ``(c, shifts, weights)`` with ``r_m(x) = c + sum w / (x + d)``.

    ``r_m`` is the [m/m] Padé approximant of ``x^(-1/2)`` at ``x = 1``.
    """
    if m < 1:
        msg = f"Padé order must be >= 1, got {m}"
        raise ValueError(msg)
    p = 2 * m + 1
    shifts = []
    weights = []
    for k in range(1, m + 1):
        phi = (2 * k - 1) * math.pi / (2 * p)
        c = math.cos(phi)
        shifts.append(math.tan(phi) ** 2)
        weights.append(2.0 / (p * c * c))
    return 1.0 / p, tuple(shifts), tuple(weights)


@cache
def pade_polynomials(m: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return ``(P, Q)``, coefficients in ascending powers, with ``r_m = P / Q``."""
    if m < 1:
        msg = f"Padé order must be >= 1, got {m}"
        raise ValueError(msg)
    p = 2 * m + 1
    return (
        tuple(math.comb(p, 2 * j + 1) for j in range(m + 1)),
        tuple(math.comb(p, 2 * j) for j in range(m + 1)),
    )


def pade_error_bound(m: int, cond: float) -> float:
    """Worst relative error of ``r_m`` on a spectrum with condition number ``cond``.

    Assumes the spectrum, after normalisation, lies in
    ``[cond^(-1/2), cond^(1/2)]`` (geometrically centred).
    """
    if not math.isfinite(cond):
        return math.inf
    t = cond ** (-0.25)
    u = (1.0 - t) / (1.0 + t)
    up = u ** (2 * m + 1)
    return 2.0 * up / (1.0 - up) if up < 1.0 else math.inf


def pade_order_for(tol: float, cond: float, max_order: int = 256) -> int:
    """Smallest Padé order ``m`` whose error bound at ``cond`` is below ``tol``."""
    if not math.isfinite(cond) or cond <= 1.0:
        return 1 if math.isfinite(cond) else max_order
    t = cond ** (-0.25)
    log_u = math.log((1.0 - t) / (1.0 + t))
    # 2 u^p / (1 - u^p) <= tol  <=  u^p <= tol / (2 + tol)
    p = math.log(tol / (2.0 + tol)) / log_u
    return int(min(max(math.ceil((p - 1.0) / 2.0), 1), max_order))


@cache
def taylor_coefficients(degree: int, power: float) -> tuple[float, ...]:
    """Taylor coefficients of ``(1 - z)^power`` up to ``z^degree``.

    ``c_0 = 1``, ``c_{k+1} = c_k (k - power) / (k + 1)`` (exact recurrence of
    the binomial series; for power = +-1/2 every factor is a ratio of small
    integers, so the double values are correctly rounded to a few ulps).
    """
    if degree < 1:
        msg = f"Taylor degree must be >= 1, got {degree}"
        raise ValueError(msg)
    coeffs = [1.0]
    for k in range(degree):
        coeffs.append(coeffs[-1] * (k - power) / (k + 1))
    return tuple(coeffs)
