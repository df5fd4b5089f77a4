"""The published algorithm, written plainly: the benchmark's baseline.

Song, Sebe & Wang (TPAMI 2022): ``Z = I - A/||A||_F``; Padé [5/5] of
``(1 - z)^(1/2)`` built from its degree-10 Taylor series, evaluated in the
monomial basis as ``Q(Z)^-1 P(Z)`` (the inverse root swaps ``P`` and ``Q``)
and scaled back by ``||A||_F^(+-1/2)``; backward: the Lyapunov equation by 8
coupled Newton–Schulz sign iterations. Coefficients are exact rationals.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

from ._core import Ops
from ._core._sign import sign_sylvester

__all__ = ["monomial_pade_coefficients", "published_forward", "published_vjp"]


@cache
def monomial_pade_coefficients(m: int = 5) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(p, q)`` with ``P(z)/Q(z)`` the [m/m] Padé approximant of ``(1 - z)^(1/2)``."""
    c = [Fraction(1)]
    for k in range(2 * m):
        c.append(c[-1] * (k - Fraction(1, 2)) / (k + 1))
    # sum_{j=0..m} q_j c_{k-j} = 0 for k = m+1..2m, q_0 = 1
    rows = [[c[k - j] if k - j >= 0 else Fraction(0) for j in range(1, m + 1)] for k in range(m + 1, 2 * m + 1)]
    rhs = [-c[k] for k in range(m + 1, 2 * m + 1)]
    q = _solve(rows, rhs)
    q = [Fraction(1), *q]
    p = [sum(q[j] * c[k - j] for j in range(min(k, m) + 1)) for k in range(m + 1)]
    return tuple(float(v) for v in p), tuple(float(v) for v in q)


def _solve(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    n = len(b)
    M = [[*row[:], b[i]] for i, row in enumerate(M)]
    for i in range(n):
        piv = next(r for r in range(i, n) if M[r][i] != 0)
        M[i], M[piv] = M[piv], M[i]
        for r in range(n):
            if r != i and M[r][i] != 0:
                f = M[r][i] / M[i][i]
                M[r] = [a - f * b_ for a, b_ in zip(M[r], M[i], strict=True)]
    return [M[i][n] / M[i][i] for i in range(n)]


def published_forward(A: Any, ops: Ops, *, inverse: bool = False) -> Any:
    """The paper's MPA forward (Padé [5/5], monomial basis, Frobenius normalisation)."""
    xp = ops.xp
    p, q = monomial_pade_coefficients(5)
    s = ops.fro(A)
    eye = ops.eye_like(A)
    Z = eye - A / s
    powers = [eye, Z]
    for _ in range(4):
        powers.append(powers[-1] @ Z)
    P = sum(pk * Zk for pk, Zk in zip(p, powers, strict=True))
    Q = sum(qk * Zk for qk, Zk in zip(q, powers, strict=True))
    if inverse:
        return ops.inv(P) @ Q / xp.sqrt(s)
    return ops.inv(Q) @ P * xp.sqrt(s)


def published_vjp(Y: Any, G: Any, ops: Ops) -> Any:
    """The paper's backward for the square root: ``Y X + X Y = G`` by 8 sign iterations."""
    return sign_sylvester(Y, None, G, 8, ops)
