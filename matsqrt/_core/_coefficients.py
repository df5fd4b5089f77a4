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

Other powers
------------
For ``0 < q < 1`` the Stieltjes integral ``x^(-q) = (sin(q pi) / pi) int_0^inf
t^(-q) / (t + x) dt``, after ``tau = 1 / (1 + t)``, reads
``int_0^1 dnu(tau) / (1 + tau (x - 1))`` with the probability measure
``dnu = (sin(q pi) / pi) tau^(q - 1) (1 - tau)^(-q) dtau``. Its m-point Gauss–Radau
rule with the fixed node ``tau = 0`` is the [m/m] Padé approximant of
``x^(-q)`` at ``x = 1`` (Gauss rules of Stieltjes functions are Padé approximants),
in the same form ``c + sum a_k / (x + d_k)``: ``c`` the weight at ``tau = 0``,
``d_k = (1 - tau_k) / tau_k > 0``, ``a_k = w_k / tau_k > 0``. The free nodes are the
Gauss nodes of ``tau dnu``, a Jacobi weight ``(1 - u)^(-q) (1 + u)^q`` in
``u = 2 tau - 1``, whose three-term recurrence has the closed form
``u P_n = P_(n+1) + alpha_n P_n + beta_n P_(n-1)``, ``alpha_0 = q``, ``alpha_n = 0``,
``beta_n = (n^2 - q^2) / (4 n^2 - 1)``. Nodes (Newton on the recurrence from the
eigenvalues of the Jacobi matrix) and weights (``1 / sum p_j(u_k)^2`` of the
orthonormal polynomials) are computed in 50-digit decimal arithmetic, so
``1 +- u_k`` keep full relative accuracy at the ends of the interval, and then
rounded once. For ``q = 1/2`` this is the closed form above (checked to a few ulps).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from functools import cache

from ._zolotarev import plan as zolotarev_plan
from ._zolotarev import zolotarev

__all__ = [
    "COEFFICIENTS",
    "fraction_error",
    "pade_error_bound",
    "pade_order_for",
    "pade_partial_fractions",
    "pade_polynomials",
    "polynomials_from_fractions",
    "product_coefficients",
    "split_even_odd",
    "taylor_coefficients",
]


@cache
def pade_partial_fractions(m: int, q: float = 0.5) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    """Return ``(c, shifts, weights)`` with ``r_m(x) = c + sum w / (x + d)``.

    ``r_m`` is the [m/m] Padé approximant of ``x^(-q)`` at ``x = 1``, ``0 < q < 1``
    (default: the inverse square root). Every weight and shift is positive, ``c >= 0``.
    """
    if m < 1:
        msg = f"Padé order must be >= 1, got {m}"
        raise ValueError(msg)
    if not 0.0 < q < 1.0:
        msg = f"the exponent q must lie in (0, 1), got {q}"
        raise ValueError(msg)
    if q != 0.5:
        return _radau_fractions(m, q)
    p = 2 * m + 1
    shifts = []
    weights = []
    for k in range(1, m + 1):
        phi = (2 * k - 1) * math.pi / (2 * p)
        c = math.cos(phi)
        shifts.append(math.tan(phi) ** 2)
        weights.append(2.0 / (p * c * c))
    return 1.0 / p, tuple(shifts), tuple(weights)


#: decimal digits of the Gauss–Radau computation (nodes and weights to ~1e-45)
_DIGITS = 50


def _radau_fractions(m: int, q: float) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    """The Gauss–Radau form of the [m/m] Padé approximant of ``x^(-q)`` (module docstring)."""
    import numpy as np  # the one place NumPy is needed: starting guesses

    with localcontext() as ctx:
        ctx.prec = _DIGITS
        Q = Decimal(q)
        alpha = [Q] + [Decimal(0)] * m
        beta = [Decimal(0)] + [(Decimal(n * n) - Q * Q) / Decimal(4 * n * n - 1) for n in range(1, m + 1)]

        def recurrence(u: Decimal, upto: int) -> tuple[Decimal, Decimal, Decimal]:
            """``P_upto(u)``, its derivative, and ``sum_j p_j(u)^2`` over ``j < upto`` (orthonormal)."""
            p0, p1, d0, d1 = Decimal(0), Decimal(1), Decimal(0), Decimal(0)
            squares, norm = Decimal(1), Decimal(1)
            for n in range(upto):
                p0, p1, d0, d1 = (
                    p1,
                    (u - alpha[n]) * p1 - beta[n] * p0,
                    d1,
                    p1 + (u - alpha[n]) * d1 - beta[n] * d0,
                )
                if n + 1 < upto:
                    norm *= beta[n + 1]
                    squares += p1 * p1 / norm
            return p1, d1, squares

        J = np.diag([float(b.sqrt()) for b in beta[1:m]], 1)
        guesses = np.linalg.eigvalsh(J + J.T + np.diag([q] + [0.0] * (m - 1)))
        tiny = Decimal(10) ** (5 - _DIGITS)
        c, shifts, weights = Decimal(1), [], []
        for g in sorted(guesses.tolist(), reverse=True):  # tau near 1 first: smallest shifts
            u = Decimal(g)
            for _ in range(20):
                p, dp, _ = recurrence(u, m)
                step = p / dp
                u -= step
                if abs(step) <= tiny:
                    break
            squares = recurrence(u, m)[2]
            tau = (1 + u) / 2
            w = Q / (squares * tau)  # Radau weight: Gauss weight of tau dnu (mass q) over tau
            c -= w
            shifts.append(float((1 - u) / (1 + u)))
            weights.append(float(w / tau))
        return float(c), tuple(shifts), tuple(weights)


def polynomials_from_fractions(
    c: float, shifts: tuple[float, ...], weights: tuple[float, ...]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(P, Q)`` in ascending powers with ``c + sum w / (x + d) = P / Q`` and ``Q(0) = 1``.

    ``Q = prod (x + d_k) / prod d_k`` and ``P = c Q + sum w_k prod_(j != k) (x + d_j) / prod d_j``:
    sums and products of positive numbers only (plain float arithmetic, traceable).
    For the square root's fractions this is :func:`pade_polynomials` up to rounding.
    """

    def times(poly: list[float], d: float) -> list[float]:  # poly * (x + d)
        return [d * a + b for a, b in zip([*poly, 0.0], [0.0, *poly], strict=True)]

    scale = 1.0
    for d in shifts:
        scale *= d
    Q = [1.0]
    for d in shifts:
        Q = times(Q, d)
    P = [c * a for a in Q]
    for k, w in enumerate(weights):
        term = [w]
        for j, d in enumerate(shifts):
            if j != k:
                term = times(term, d)
        P = [a + b for a, b in zip(P, [*term, 0.0], strict=True)]
    return tuple(a / scale for a in P), tuple(a / scale for a in Q)


def split_even_odd(P: tuple[float, ...], Q: tuple[float, ...], m: int) -> tuple[tuple[float, ...], ...]:
    """``P_e, Q_e, P_o, Q_o`` in powers of ``U = x^2`` (``P = P_e(U) + x P_o(U)``), padded alike."""
    k = max(1, m // 2)

    def part(c: tuple[float, ...], start: int) -> tuple[float, ...]:
        vals = [float(v) for v in c[start::2]]
        return tuple(vals + [0.0] * (k + 1 - len(vals)))

    return part(P, 0), part(Q, 0), part(P, 1), part(Q, 1)


@cache
def product_coefficients(m: int, q: float, bound: float) -> tuple[tuple[tuple[float, ...], ...], float]:
    """The product form ``Q^-1 P`` of the [m/m] approximant of ``x^(-q)``: ``(split parts, b)``.

    ``b`` is the spectrum bound with ``Q(b) = Q_(1/2)(bound)`` (both with ``Q(0) = 1``): scaling
    the spectrum into ``[0, b]`` bounds ``cond Q`` as ``bound`` does for the square root.
    """
    P, Q = polynomials_from_fractions(*pade_partial_fractions(m, q))

    def poly(c: tuple[float, ...], x: float) -> float:
        return math.fsum(a * x**j for j, a in enumerate(c))

    target = poly(pade_polynomials(m)[1], bound)
    lo, hi = 0.0, bound
    while poly(Q, hi) < target:
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if poly(Q, mid) < target else (lo, mid)
    return split_even_odd(P, Q, m), lo


def fraction_error(m: int, q: float, x: float) -> float:
    """Relative error ``r_m(x) x^q - 1`` of the [m/m] approximant of ``x^(-q)`` at ``x > 0``."""
    c, shifts, weights = pade_partial_fractions(m, q)
    r = c + math.fsum(w / (x + d) for w, d in zip(weights, shifts, strict=True))
    return r * x**q - 1.0


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


def pade_error_bound(m: int, cond: float, q: float = 0.5) -> float:
    """Worst relative error of ``r_m`` (the approximant of ``x^(-q)``) on a spectrum with condition number ``cond``.

    Assumes the spectrum, after normalisation, lies in
    ``[cond^(-1/2), cond^(1/2)]`` (geometrically centred). The error grows
    monotonically away from ``x = 1``, so it is the larger of the two ends
    (closed form for ``q = 1/2``; other ``q``: the centre is within 1.15x of the
    best one up to ``cond = 1e6``, measured).
    """
    if not math.isfinite(cond):
        return math.inf
    if q != 0.5:
        h = math.sqrt(max(cond, 1.0))
        return max(abs(fraction_error(m, q, 1 / h)), abs(fraction_error(m, q, h)))
    t = cond ** (-0.25)
    u = (1.0 - t) / (1.0 + t)
    up = u ** (2 * m + 1)
    return 2.0 * up / (1.0 - up) if up < 1.0 else math.inf


def pade_order_for(tol: float, cond: float, max_order: int = 256, q: float = 0.5) -> int:
    """Smallest Padé order ``m`` whose error bound at ``cond`` is below ``tol`` (at most ``max_order``)."""
    if not math.isfinite(cond) or cond <= 1.0:
        return 1 if math.isfinite(cond) else max_order
    if q != 0.5:  # the bound decreases with m: bisect
        lo, hi = 1, max_order
        while lo < hi:
            mid = (lo + hi) // 2
            if pade_error_bound(mid, cond, q) <= tol:
                hi = mid
            else:
                lo = mid + 1
        return lo
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


@cache
def pade_order(tol: float, cond: float, q: float) -> int:
    """:func:`pade_order_for` (at least 1), for the traced calls that reach it through
    :meth:`matsqrt._core.Ops.coefficients` (Zolotarev's remainder for other powers)."""
    return max(pade_order_for(tol, cond, q=q), 1)


#: what :meth:`matsqrt._core.Ops.coefficients` serves, by name
COEFFICIENTS = {
    "fractions": pade_partial_fractions,
    "product": product_coefficients,
    "zolotarev": zolotarev,
    "zolotarev_plan": zolotarev_plan,
    "pade_order": pade_order,
}
