"""Cheap estimates of the extreme eigenvalues (power iterations; no eigendecomposition)."""

from __future__ import annotations

from typing import Any

from ._ops import Ops

Array = Any

__all__ = [
    "POWER_ITERS",
    "estimate_spectrum",
    "largest_eigenvalue",
    "rayleigh_power",
    "spectral_norm",
    "start_vector",
]

#: power iterations behind ``scaling="estimate"`` and the spectrum bounds
POWER_ITERS = 12


def estimate_spectrum(
    A: Array, ops: Ops, hermitian: bool = True, factor: Array | None = None
) -> tuple[Array, Array]:
    """Estimates ``(l_min, l_max)`` of each Hermitian positive definite ``A``.

    Power iteration on ``A`` and on ``A^-1`` from a fixed, deterministic start
    vector (not the all-ones vector, which centred covariances annihilate).
    ``factor``: the lower Cholesky factor of ``A`` (the input checks'); where the library
    solves triangular systems in a batch (:meth:`Ops.cholesky_solve`) the iteration on
    ``A^-1`` runs through it, O(n^2) a step, instead of inverting ``A``.
    For non-Hermitian input the same numbers estimate the extreme moduli.
    The results are Rayleigh quotients: ``l_max`` from below and ``l_min`` from
    above, typically within a few per cent. Shape ``(..., 1, 1)``.
    """
    xp = ops.xp
    A, m = _unit_scaled(A, ops)
    v0 = start_vector(A, ops)
    hi = rayleigh_power(A, v0, ops)
    rho = None if factor is None else _inverse_power(factor / xp.sqrt(m), v0, ops)  # (the factor of A / m)
    if rho is None:
        # a (numerically) singular matrix gives lo = 0 (NaN or Inf from its inverse)
        rho = rayleigh_power(ops.hpd_inv(A) if hermitian else ops.inv(A), v0, ops)
    lo = 1 / rho
    lo = xp.where(xp.isfinite(lo) & (lo > 0), lo, xp.zeros_like(lo))
    return lo * m, hi * m


def _inverse_power(L: Array, v0: Array, ops: Ops) -> Array | None:
    """:func:`rayleigh_power` of ``(L L^H)^-1`` through triangular solves; ``None`` where the
    library has none."""
    xp = ops.xp
    w = ops.cholesky_solve(L, v0)
    if w is None:
        return None
    for i in range(POWER_ITERS):
        v = w / xp.where(ops.fro(w) > 0, ops.fro(w), xp.ones_like(ops.fro(w)))
        if i < POWER_ITERS - 1:
            w = ops.cholesky_solve(L, v)
    num = ops.mH(v) @ ops.cholesky_solve(L, v)
    val = xp.real(num) if xp.isdtype(num.dtype, "complex floating") else num
    return xp.abs(val)


def largest_eigenvalue(A: Array, ops: Ops) -> Array:
    """Estimate (from below) of the largest |eigenvalue| of each Hermitian ``A``, shape ``(..., 1, 1)``; matrix-vector products only."""
    A, m = _unit_scaled(A, ops)
    return rayleigh_power(A, start_vector(A, ops), ops) * m


def spectral_norm(D: Array, ops: Ops) -> Array:
    """Estimate (from below) of ``||D||_2`` of each Hermitian ``D``, shape ``(..., 1, 1)``.

    ``||D v||`` after power iteration, not the Rayleigh quotient ``v^H D v``: for an indefinite
    ``D`` with eigenvalues near ``+e`` and ``-e`` (``B - I`` after a step) the quotient cancels.
    """
    D, m = _unit_scaled(D, ops)
    v = start_vector(D, ops)
    for _ in range(POWER_ITERS):
        w = D @ v
        f = ops.fro(w)
        v = w / ops.xp.where(f > 0, f, ops.xp.ones_like(f))
    return ops.fro(D @ v) * m


def _unit_scaled(A: Array, ops: Ops) -> tuple[Array, Array]:
    """``(A / m, m)`` with ``m = max|A|`` (1 for a zero matrix): no overflow or underflow at any scale."""
    xp = ops.xp
    m = xp.max(xp.abs(A), axis=(-2, -1), keepdims=True)
    m = xp.where(m > 0, m, xp.ones_like(m))
    m = xp.real(m) if xp.isdtype(m.dtype, "complex floating") else m
    return A / m, m


def start_vector(A: Array, ops: Ops) -> Array:
    """A fixed, deterministic start vector of shape ``(n, 1)`` (not all ones, which centred covariances annihilate)."""
    xp = ops.xp
    n = A.shape[-1]
    idx = xp.astype(ops.constants(tuple(range(1, n + 1)), A, 0), A.dtype)  # small integers: exact
    return (xp.sin(idx * 1.6180339887498949) + 1.5)[:, None]


def rayleigh_power(M: Array, v0: Array, ops: Ops) -> Array:
    xp = ops.xp
    v = v0  # (n, 1): the first product broadcasts it, with M's batch sharding (JAX)
    for _ in range(POWER_ITERS):
        w = M @ v
        v = w / xp.where(ops.fro(w) > 0, ops.fro(w), xp.ones_like(ops.fro(w)))
    num = ops.mH(v) @ (M @ v)
    val = xp.real(num) if xp.isdtype(num.dtype, "complex floating") else num
    return xp.abs(val)
