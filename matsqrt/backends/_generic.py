"""The adapter for libraries without autodiff: numpy, CuPy, array-api-strict."""

from __future__ import annotations

from typing import Any

from .._checks import far_off_limit, guarded
from .._compat import device, is_cupy_namespace, is_numpy_namespace
from .._core import Ops, Options, forward
from .._core._sign import newton_sylvester, unsolved_to_nan

Array = Any

__all__ = ["GenericAdapter"]


class GenericAdapter:
    """Runs the core as it is. Subclasses add autodiff, native ops or laziness."""

    ops_class: type[Ops] = Ops

    def __init__(self, xp: Any, A: Array) -> None:
        self.xp = xp
        ops_class = self.ops_class
        if ops_class is Ops and (is_numpy_namespace(xp) or is_cupy_namespace(xp)):
            from ._numpy import NumpyOps  # mutable arrays: sums accumulate in place

            ops_class = NumpyOps
        self.ops = ops_class(xp)
        self.accelerator = self._on_accelerator(A)
        self.ops.host = not self.accelerator

    def _on_accelerator(self, A: Array) -> bool:
        if is_cupy_namespace(self.xp):
            return True
        # "cpu" (numpy), None, "array_api_strict.Device('CPU_DEVICE')", torch's "cpu"
        name = str(device(A)).lower()
        return name != "none" and "cpu" not in name

    def inspectable(self, A: Array) -> Array:
        """``A`` as value checks should see it (detached from any autodiff graph)."""
        return A

    def root(self, A: Array, opt: Options) -> Array:
        """``A^(+-1/2)`` with the library's autodiff where it has one."""
        out, _ = forward(A, opt, self.ops, residuals=False)
        return out

    def guarded_root(self, A: Array, opt: Options, checks: dict[str, bool]) -> Array:
        """:meth:`root` where values cannot be inspected: NaN for the bad matrices only."""
        # results are checked by their residual where no bound holds (general input) and where an
        # accuracy was asked for (a traced plan does not cover a numerically singular matrix)
        residual = not opt.hermitian or opt.tol is not None
        return guarded(
            A,
            self.ops,
            lambda M: self.root(M, opt),
            **checks,
            exponent=opt.exponent if residual else None,
            far_off=far_off_limit(opt.tol),
        )

    def sylvester(self, A: Array, B: Array | None, C: Array, iters: int | None, guard: bool = False) -> Array:
        """``A X + X B = C``; ``guard``: NaN where ``X`` does not solve it (spectra off the right half-plane)."""
        X = newton_sylvester(A, B, C, iters, self.ops)
        return unsolved_to_nan(A, B, C, X, self.ops) if guard else X

    def run(self, fn: Any, *arrays: Array) -> Array:
        """Apply an array function ``fn(*arrays, ops)`` (used by the explicit VJPs)."""
        return fn(*arrays, self.ops)
