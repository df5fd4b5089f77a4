"""NumPy and CuPy: sums accumulated in place, released intermediates reused.

The core's sums are written with immutable arrays (the standard has no ``out=``). NumPy and
CuPy arrays are mutable, so :class:`NumpyOps` accumulates every term into one array, adds
the identity on the diagonal in place, and writes products and sums into the memory of
intermediates the core has released (:meth:`Ops.release`); the results are the same numbers.

Why memory reuse matters on a CPU: a call that keeps many large intermediates alive grows
the heap, which the allocator hands back to the system when they are freed, and the next
call page-faults it in again (on the project's 2-core VM about 0.25 ms per MB, a fifth of
the default forward's time at 256 x 32 x 32 before this reuse).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

try:
    from numpy.linalg import _umath_linalg
except ImportError:  # pragma: no cover - a NumPy without it uses the public functions
    _umath_linalg = None

from .._compat import is_cupy_namespace
from .._core import Ops
from .._core._ops import is_number, is_zero

Array = Any

__all__ = ["NumpyOps"]


def _writeable(a: Array) -> bool:
    return getattr(a.flags, "writeable", True)  # CuPy's flags have no such attribute


def _diagonal_view(a: Array) -> Array:
    """A writable view of the diagonals of a C-contiguous stack of square matrices."""
    n = a.shape[-1]
    return a.reshape(*a.shape[:-2], n * n)[..., :: n + 1]


_CODES = {
    np.dtype(np.float32): "f",
    np.dtype(np.float64): "d",
    np.dtype(np.complex64): "F",
    np.dtype(np.complex128): "D",
}


def _lapack_loop(name: str, a: Array, signature: str = "{c}->{c}") -> Any:
    """NumPy's own LAPACK loop ``name`` in ``a``'s precision, or ``None``.

    ``numpy.linalg`` runs these loops (module ``numpy.linalg._umath_linalg``, private) in
    double precision for every input; where the module or the loop is missing (another
    NumPy, or CuPy input) the caller uses the public function. ``signature`` with ``{c}``
    for ``a``'s type code and ``{r}`` for its real type's.
    """
    code = _CODES.get(a.dtype)
    fn = getattr(_umath_linalg, name, None)
    if code is None or fn is None or type(a) is not np.ndarray:
        return None
    return partial(fn, signature=signature.format(c=code, r=code.lower()))


def _run_loop(loop: Any, *args: Array) -> Any:
    """A LAPACK loop with NumPy's error handling off: a failed matrix gives NaN, the batch goes on."""
    with np.errstate(all="ignore"):
        return loop(*args)


class NumpyOps(Ops):
    """:class:`Ops` with in-place accumulation and buffer reuse (NumPy, CuPy)."""

    def __init__(self, xp: Any) -> None:
        super().__init__(xp)
        # the array module itself (its ufuncs take out=; the compat namespace may wrap them)
        self.mod = importlib.import_module("cupy") if is_cupy_namespace(xp) else np
        self._free: list[Array] = []

    # -- memory: released intermediates are reused as outputs ----------------
    def release(self, *arrays: Array) -> None:
        for a in arrays:
            # owning, contiguous arrays only (never a view of something alive), each once
            if a is not None and a.flags.c_contiguous and a.flags.owndata and _writeable(a):
                if not any(a is b for b in self._free):
                    self._free.append(a)

    def _buffer(self, shape: tuple[int, ...], dtype: Any, *avoid: Array) -> Array:
        """A released array of this shape and dtype (never one of ``avoid``), else a new one."""
        for i, buf in enumerate(self._free):
            if buf.shape == shape and buf.dtype == dtype and not any(buf is a for a in avoid):
                return self._free.pop(i)
        return self.mod.empty(shape, dtype=dtype)

    def lincomb(
        self, coeffs: Sequence[Array | float], mats: Sequence[Array], eye: Array | float = 0.0
    ) -> Array:
        terms = [(c, M) for c, M in zip(coeffs, mats, strict=True) if not is_zero(c)]
        if not terms:
            return super().lincomb(coeffs, mats, eye)
        mod = self.mod
        arrays = [M for _, M in terms] + [c for c in (*(c for c, _ in terms), eye) if hasattr(c, "shape")]
        shape, dtype = arrays[0].shape, arrays[0].dtype
        if any(a.shape != shape or a.dtype != dtype for a in arrays):  # (the common case costs less)
            shape, dtype = np.broadcast_shapes(*(a.shape for a in arrays)), mod.result_type(*arrays)
        out = self._buffer(shape, dtype, *mats)
        (c0, M0), *rest = terms
        mod.multiply(M0, c0, out=out)
        if rest:
            tmp = self._buffer(shape, dtype, out, *mats)
            for c, M in rest:
                if is_number(c) and c == 1:
                    out += M
                else:
                    mod.multiply(M, c, out=tmp)
                    out += tmp
            self.release(tmp)
        if not is_zero(eye):
            diag = _diagonal_view(out)
            diag += eye[..., 0] if hasattr(eye, "shape") else eye
        return out

    def matmul(self, a: Array, b: Array, into: Array | None = None, alpha: float = 1.0) -> Array:
        shape = (
            a.shape
            if a.shape == b.shape
            else (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), *a.shape[-2:-1], b.shape[-1])
        )
        if a.dtype != b.dtype:
            return super().matmul(a, b, into, alpha)
        avoid = (a, b) if into is None else (a, b, into)
        p = self.mod.matmul(a, b, out=self._buffer(shape, a.dtype, *avoid))
        if alpha != 1:
            p *= alpha
        if into is None:
            return p
        if into.shape == p.shape and into.dtype == p.dtype and _writeable(into):
            into += p
            self.release(p)
            return into
        return into + p

    def hermitian_part(self, a: Array, scale: Array | float | None = None) -> Array:
        shape = np.broadcast_shapes(a.shape, getattr(scale, "shape", ()))
        if shape != a.shape:
            return super().hermitian_part(a, scale)
        mod = self.mod
        h = mod.add(a, self.mH(a), out=self._buffer(a.shape, a.dtype, a))
        h *= 0.5 if scale is None else scale / 2
        return h

    def fro(self, a: Array) -> Array:
        # one pass, no squared copy: a batched dot product per matrix (complex: of the real view)
        flat = self.mod.ascontiguousarray(a).reshape(*a.shape[:-2], 1, a.shape[-2] * a.shape[-1])
        if self.xp.isdtype(a.dtype, "complex floating"):
            flat = flat.view(flat.real.dtype)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # fro_safe rescales
            return self.mod.sqrt(self.mod.matmul(flat, flat.swapaxes(-1, -2)))

    def fro_safe(self, a: Array) -> Array:
        if not self.host:  # the test below would read from the device
            return super().fro_safe(a)
        s = self.fro(a)
        # unsafe only where the sum of squares overflowed or underflowed (NaN: not > either)
        if s.size == 0 or (s.min() > np.finfo(s.dtype).smallest_normal ** 0.25 and s.max() < np.inf):
            return s
        return super().fro_safe(a)

    def max_abs(self, a: Array) -> Array:
        if self.xp.isdtype(a.dtype, "complex floating"):
            return super().max_abs(a)
        return self.mod.maximum(a.max(axis=(-2, -1)), -a.min(axis=(-2, -1)))  # no |a| copy

    def asymmetry(self, a: Array) -> Array:
        if self.xp.isdtype(a.dtype, "complex floating"):
            return super().asymmetry(a)
        d = self.mod.subtract(a, self.mH(a), out=self._buffer(a.shape, a.dtype, a))
        m = d.max(axis=(-2, -1))  # d is antisymmetric: its largest entry is its largest |entry|
        self.release(d)
        return m

    # -- factorisations in the input's precision ---------------------------------
    # numpy.linalg computes float32 in float64 (two casts of the batch around the double
    # routine) and raises for a whole batch on one singular matrix; its loops in the input's
    # own precision do neither (float32 is computed in float32, as torch and JAX do).
    def inv(self, a: Array) -> Array:
        loop = _lapack_loop("inv", a)
        return super().inv(a) if loop is None else _run_loop(loop, a)

    def solve(self, a: Array, b: Array) -> Array:
        loop = _lapack_loop("solve", a, "{c}{c}->{c}") if b.ndim == a.ndim and b.dtype == a.dtype else None
        if loop is None:
            return super().solve(a, b)
        a, b = np.broadcast_arrays(a, b) if a.shape[:-2] != b.shape[:-2] else (a, b)
        return _run_loop(loop, a, b)

    def eigh(self, a: Array) -> tuple[Array, Array]:
        loop = _lapack_loop("eigh_lo", a, "{c}->{r}{c}")
        return super().eigh(a) if loop is None else _run_loop(loop, a)

    def cholesky(self, a: Array) -> tuple[Array, Array]:
        # numpy.linalg.cholesky computes float32 in float64 (two casts of the batch, then the
        # double routine: 3-4x the time of the single one at n <= 256) and raises for the
        # whole batch on one failure; its LAPACK loop in the input's precision returns NaN
        # for the matrices whose factorisation fails. The test's tolerance is far above the
        # rounding of either precision.
        loop = _lapack_loop("cholesky_lo", a)
        if loop is None:
            return super().cholesky(a)
        try:
            with np.errstate(all="ignore"):  # as numpy.linalg.cholesky (a failure gives NaN)
                L = loop(a)
        except TypeError:  # pragma: no cover - a NumPy whose private loop takes other arguments
            return super().cholesky(a)
        return L, ~np.isfinite(L.sum(axis=(-2, -1)))
