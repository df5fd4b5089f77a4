"""The linear-algebra primitives the core needs, written against the standard.

The core never branches on the backend. It receives an :class:`Ops` object
that carries the namespace ``xp`` and the handful of factorisations the
algorithms use. The defaults here use only the Array API standard (and its
``linalg`` extension); an adapter in :mod:`matsqrt.backends` may subclass it to
use a faster native routine (e.g. ``torch.cholesky_inverse``) or to guard
against a known backend bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._compat import device

Array = Any

__all__ = ["Ops", "is_number", "is_zero", "scalar_power"]


class Ops:
    """Standard-only linear algebra over the namespace ``xp``."""

    #: whether values can be inspected eagerly (False for traced / lazy arrays)
    eager: bool = True
    #: whether reading a value costs nothing (eager arrays in host memory: no device sync)
    host: bool = False
    #: whether the library flushes subnormal results to zero (JAX on CPU): the checks then
    #: refuse entries whose reciprocal is subnormal
    flushes_subnormals: bool = False

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

    def coefficients(self, name: str, *args: Any) -> Any:
        """Python-float coefficients: ``_coefficients.COEFFICIENTS[name](*args)`` (cached there).

        An adapter whose tracer cannot run the computation (torch.compile and the
        decimal arithmetic behind powers other than +-1/2) may mark it as a constant.
        """
        from ._coefficients import COEFFICIENTS

        return COEFFICIENTS[name](*args)

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

    def fro_safe(self, a: Array) -> Array:
        """:meth:`fro` that cannot overflow or underflow: ``m ||a / m||_F`` with ``m = max|a|``."""
        xp = self.xp
        m = xp.max(xp.abs(a), axis=(-2, -1), keepdims=True)
        m = xp.where(m > 0, m, xp.ones_like(m))
        return m * self.fro(a / m)

    def max_abs(self, a: Array) -> Array:
        """``max |a_ij|`` over the last two axes, shape ``(...)``."""
        xp = self.xp
        return xp.max(xp.abs(a), axis=(-2, -1))

    def asymmetry(self, a: Array) -> Array:
        """``max |a - a^H|`` over the last two axes, shape ``(...)``."""
        return self.max_abs(a - self.mH(a))

    def trace(self, a: Array) -> Array:
        """Trace over the last two axes, shape ``(..., 1, 1)``."""
        xp = self.xp
        t = xp.sum(xp.linalg.diagonal(a), axis=-1)
        return t[..., None, None]

    def hermitian_part(self, a: Array, scale: Array | float | None = None) -> Array:
        """``(a + a^H) / 2``, times ``scale`` (a number or shape ``(..., 1, 1)``) if given."""
        h = a + self.mH(a)
        return h / 2 if scale is None else h * (scale / 2)

    def lincomb(
        self,
        coeffs: Sequence[Array | float],
        mats: Sequence[Array],
        eye: Array | float = 0.0,
    ) -> Array:
        """``sum c_j M_j + eye * I`` over the nonzero coefficients; a new array.

        A coefficient (``eye`` too) is a number or an array of shape
        ``(..., 1, 1)``: one number per matrix. An adapter may accumulate the
        terms in place into the new array.
        """
        out = None
        for c, M in zip(coeffs, mats, strict=True):
            if not is_zero(c):
                term = M if is_number(c) and c == 1 else c * M
                out = term if out is None else out + term
        if not is_zero(eye):
            diag = eye * self.eye_like(mats[0] if out is None else out)
            out = diag if out is None else out + diag
        return self.xp.zeros_like(mats[0]) if out is None else out

    # -- memory ---------------------------------------------------------------
    def matmul(self, a: Array, b: Array, into: Array | None = None, alpha: float = 1.0) -> Array:
        """``into + alpha * (a @ b)``; ``into`` (optional) is an intermediate the caller no longer needs.

        An adapter may accumulate into ``into`` in the product itself (BLAS ``beta = 1``), or
        write the product into a :meth:`release`-d array.
        """
        p = a @ b
        if alpha != 1:
            p = alpha * p
        return p if into is None else into + p

    def release(self, *arrays: Array) -> None:
        """Declare intermediates dead: an adapter may reuse their memory for later results.

        The caller must not use them afterwards (nor have stored or returned them).
        Here, and wherever arrays are immutable or traced, this does nothing.
        """

    # -- factorisations -------------------------------------------------------
    def hpd_inv(self, a: Array) -> Array:
        """Inverse of a Hermitian positive definite matrix (batched)."""
        return self.inv(a)

    def hpd_solve(self, a: Array, b: Array) -> Array:
        """``a^-1 b`` for Hermitian positive definite ``a`` (batched); NaN where ``a`` is singular."""
        return self.solve(a, b)

    def solve(self, a: Array, b: Array) -> Array:
        """``a^-1 b`` for general nonsingular ``a`` (batched); NaN where ``a`` is singular."""
        try:
            return self.xp.linalg.solve(a, b)
        except Exception:
            if not self.eager:
                raise
            return self.inv(a) @ b  # matrix by matrix, NaN for the singular ones

    def inv(self, a: Array) -> Array:
        """Inverse of a general nonsingular matrix (batched); NaN for the singular ones.

        Libraries that raise for a batch with one singular matrix (NumPy) are
        retried matrix by matrix, so the others keep their inverses.
        """
        try:
            return self.xp.linalg.inv(a)
        except Exception:
            if not self.eager:
                raise
            return self._per_matrix(a, self.xp.linalg.inv)

    def cholesky(self, a: Array) -> tuple[Array, Array]:
        """``(L, fails)``: the lower Cholesky factors and the boolean mask of the batch where the
        factorisation fails (``L`` is not meaningful there).

        Libraries that raise for the whole batch are retried matrix by matrix;
        those that return NaN (JAX, and CuPy by default) are read from the factor.
        """
        xp = self.xp
        try:
            L = xp.linalg.cholesky(a)
        except Exception:
            if not self.eager:
                raise
            L = self._per_matrix(a, xp.linalg.cholesky)  # NaN where a factorisation fails
        return L, ~xp.all(xp.isfinite(L), axis=(-2, -1))

    def cholesky_fails(self, a: Array) -> Array:
        """Boolean mask of the batch: where the Cholesky factorisation of ``a`` fails."""
        return self.cholesky(a)[1]

    def cholesky_solve(self, L: Array, b: Array) -> Array | None:
        """``(L L^H)^-1 b`` by two triangular solves (``b``: a stack of vectors ``(..., n, 1)``), or
        ``None`` where the library has no batched triangular solve (the standard has none):
        callers then invert the matrix instead."""
        return None

    def eigvals(self, a: Array) -> Array | None:
        """Eigenvalues of general matrices, or ``None`` where the library has no eigensolver for them."""
        fn = getattr(self.xp.linalg, "eigvals", None)
        if fn is None:
            return None
        try:
            return fn(a)
        except Exception:  # e.g. not implemented on this device
            return None

    def _per_matrix(self, a: Array, fn: Any) -> Array:
        xp = self.xp
        flat = xp.reshape(a, (-1, *a.shape[-2:]))
        outs = []
        for i in range(flat.shape[0]):
            try:
                outs.append(fn(flat[i, ...]))
            except Exception:
                outs.append(xp.full_like(flat[i, ...], float("nan")))
        return xp.reshape(xp.stack(outs), a.shape)

    def eigh(self, a: Array) -> tuple[Array, Array]:
        w, v = self.xp.linalg.eigh(a)
        return w, v

    # -- inspection ---------------------------------------------------------
    def known(self, flag: Array) -> bool | None:
        """The value of a boolean 0-d array where reading it is free (:attr:`host`), else ``None``.

        For shortcuts that give the same result either way (no device sync, no tracing).
        """
        return bool(flag) if self.eager and self.host else None

    def read(self, a: Array) -> float:
        """The value of a 0-d real array as a Python float (eager arrays only; a host sync on a device)."""
        return float(a)

    def all_finite(self, a: Array) -> bool | None:
        """``True``/``False``, or ``None`` where values cannot be inspected."""
        if not self.eager:
            return None
        import numpy as np

        xp = self.xp
        # one reduction: a NaN or Inf entry makes the sum NaN or Inf, so a finite sum
        # proves every entry finite; otherwise (or on overflow, not worth a warning from
        # NumPy-backed namespaces) check entry by entry
        with np.errstate(over="ignore", invalid="ignore"):
            if bool(xp.isfinite(xp.sum(a))):
                return True
        return bool(xp.all(xp.isfinite(a)))


def is_number(c: Any) -> bool:
    """A coefficient given as a Python number (not an array)."""
    return isinstance(c, (int, float))


def is_zero(c: Any) -> bool:
    """A coefficient that is the number 0 (an array coefficient is never skipped)."""
    return is_number(c) and c == 0


def scalar_power(s: Array, e: float, xp: Any) -> Array:
    """``s^e`` for the normalising scalars; the square roots' exponents 1/2 and 3/2 by ``sqrt``."""
    if e == 0.5:
        return xp.sqrt(s)
    if e == 1.5:
        return s * xp.sqrt(s)
    return s**e
