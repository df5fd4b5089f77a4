"""The linear-algebra primitives the core needs, written against the standard.

The core never branches on the backend. It receives an :class:`Ops` object
that carries the namespace ``xp`` and the handful of factorisations the
algorithms use. The defaults here use only the Array API standard (and its
``linalg`` extension); an adapter in :mod:`matsqrt.backends` may subclass it to
use a faster native routine (e.g. ``torch.cholesky_inverse``) or to guard
against a known backend bug.
"""

from __future__ import annotations

from typing import Any

from .._compat import device

Array = Any

__all__ = ["Ops"]


class Ops:
    """Standard-only linear algebra over the namespace ``xp``."""

    #: whether values can be inspected eagerly (False for traced / lazy arrays)
    eager: bool = True

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    # -- construction -----------------------------------------------------
    def eye_like(self, a: Array) -> Array:
        """Identity of ``a``'s trailing size, dtype and device (not broadcast)."""
        return self.xp.eye(a.shape[-1], dtype=a.dtype, device=device(a))

    def constants(self, values: tuple[float, ...], like: Array, ndim: int) -> Array:
        """``values`` as an array in ``like``'s real dtype and device, shaped ``(k, 1, ..., 1)``.

        Used to weight a stack of ``k`` matrices of ``ndim`` dimensions.
        """
        xp = self.xp
        dt = xp.real(like).dtype if xp.isdtype(like.dtype, "complex floating") else like.dtype
        arr = xp.asarray(values, dtype=dt, device=device(like))
        return xp.reshape(arr, (len(values),) + (1,) * ndim)

    # -- elementary -------------------------------------------------------
    def mH(self, a: Array) -> Array:
        xp = self.xp
        t = xp.matrix_transpose(a)
        return xp.conj(t) if xp.isdtype(a.dtype, "complex floating") else t

    def fro(self, a: Array) -> Array:
        """Frobenius norm over the last two axes, keeping them (shape ``(..., 1, 1)``)."""
        xp = self.xp
        sq = xp.real(a * xp.conj(a)) if xp.isdtype(a.dtype, "complex floating") else a * a
        return xp.sqrt(xp.sum(sq, axis=(-2, -1), keepdims=True))

    def trace(self, a: Array) -> Array:
        """Trace over the last two axes, shape ``(..., 1, 1)``."""
        xp = self.xp
        t = xp.sum(xp.linalg.diagonal(a), axis=-1)
        return t[..., None, None]

    def add_diag(self, a: Array, d: Array) -> Array:
        """``a + d * I`` with ``d`` broadcastable to ``a.shape[:-2] + (1, 1)``."""
        return a + d * self.eye_like(a)

    def hermitian_part(self, a: Array) -> Array:
        return (a + self.mH(a)) / 2

    # -- factorisations -------------------------------------------------------
    def hpd_inv(self, a: Array) -> Array:
        """Inverse of a Hermitian positive definite matrix (batched)."""
        return self.xp.linalg.inv(a)

    def inv(self, a: Array) -> Array:
        """Inverse of a general nonsingular matrix (batched)."""
        return self.xp.linalg.inv(a)

    def eigh(self, a: Array) -> tuple[Array, Array]:
        w, v = self.xp.linalg.eigh(a)
        return w, v

    # -- inspection ---------------------------------------------------------
    def all_finite(self, a: Array) -> bool | None:
        """``True``/``False``, or ``None`` where values cannot be inspected."""
        if not self.eager:
            return None
        return bool(self.xp.all(self.xp.isfinite(a)))
