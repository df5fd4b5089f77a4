"""NumPy and CuPy: sums accumulated in place.

The core's sums are written with immutable arrays (the standard has no ``out=``). NumPy and
CuPy arrays are mutable, so :class:`NumpyOps` accumulates every term into one new array and
adds the identity on the diagonal in place; the results are the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import Ops
from .._core._ops import is_number, is_zero

Array = Any

__all__ = ["NumpyOps"]


def _diagonal_view(a: Array) -> Array:
    """A writable view of the diagonals of a C-contiguous stack of square matrices."""
    n = a.shape[-1]
    return a.reshape(*a.shape[:-2], n * n)[..., :: n + 1]


class NumpyOps(Ops):
    """:class:`Ops` with in-place accumulation (NumPy, CuPy)."""

    def lincomb(
        self, coeffs: Sequence[Array | float], mats: Sequence[Array], eye: Array | float = 0.0
    ) -> Array:
        terms = [(c, M) for c, M in zip(coeffs, mats, strict=True) if not is_zero(c)]
        if not terms:
            return super().lincomb(coeffs, mats, eye)
        (c0, M0), *rest = terms
        out = M0.copy() if is_number(c0) and c0 == 1 else c0 * M0
        for c, M in rest:
            if out.shape != np.broadcast_shapes(out.shape, M.shape, getattr(c, "shape", ())):
                return super().lincomb(coeffs, mats, eye)
            out += M if is_number(c) and c == 1 else c * M
        if not is_zero(eye):
            if out.shape != np.broadcast_shapes(out.shape, getattr(eye, "shape", ())):
                return super().lincomb(coeffs, mats, eye)
            if not out.flags.c_contiguous:
                out = out.copy()
            diag = _diagonal_view(out)
            diag += eye[..., 0] if hasattr(eye, "shape") else eye
        return out

    def matmul(self, a: Array, b: Array, into: Array | None = None, alpha: float = 1.0) -> Array:
        p = a @ b
        if alpha != 1:
            p *= alpha
        if into is None:
            return p
        if into.shape == p.shape and into.dtype == p.dtype:
            into += p
            return into
        return into + p

    def hermitian_part(self, a: Array, scale: Array | float | None = None) -> Array:
        h = a + self.mH(a)
        if h.shape != np.broadcast_shapes(h.shape, getattr(scale, "shape", ())):
            return super().hermitian_part(a, scale)
        h *= 0.5 if scale is None else scale / 2
        return h
