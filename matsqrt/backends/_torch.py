"""torch adapter: the core as a ``torch.autograd.Function`` (setup_context style).

The forward and the backward are the core's own array-API code run on torch
tensors, so the backward is itself differentiable (``gradgradcheck``), works
under ``torch.func.vmap``/``grad`` (``generate_vmap_rule``) and traces under
``torch.compile``. Tensors never leave their device.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import torch

from .._core import Ops, Options, forward, vjp
from .._core._coefficients import COEFFICIENTS
from .._core._ops import is_zero
from ._generic import GenericAdapter

__all__ = ["TorchAdapter", "TorchOps"]

#: smallest n at which batched CPU LU is routed around pytorch/pytorch#181570
LU_GUARD_MIN_N = 128


@torch._dynamo.assume_constant_result
def _constant_coefficients(name: str, *args: Any) -> Any:
    """torch.compile cannot trace the decimal arithmetic behind powers other than +-1/2:
    it calls this at trace time and keeps the result as a constant (a plain function:
    dynamo looks through the ``functools.cache`` wrappers). Floats arrive as their exact
    integer ratios (:meth:`TorchOps.coefficients`)."""
    return COEFFICIENTS[name](*(a[0] / a[1] if isinstance(a, tuple) else a for a in args))


class TorchOps(Ops):
    """Native torch routines: fused in-place sums, buffer reuse, Cholesky inverses, the LU guard.

    On a CPU, elementwise passes that write a freshly allocated tensor cost far
    more than the arithmetic (measured on the project's machine: ``2 * A + B``
    on 8 x 256 x 256 float32 takes as long as a matmul, ``torch.add(B, A,
    alpha=2)`` a tenth of that; glibc hands large freed blocks back to the
    system, and the next allocation page-faults them in again). So, when running
    eagerly, the core's sums accumulate in place into one fresh tensor (or into
    the product itself, ``baddbmm_``), and intermediates the core releases are
    reused as outputs (``out=``) where autograd records nothing. Under
    ``torch.compile`` and ``torch.func`` transforms the plain out-of-place code
    runs. Every in-place update writes into a tensor created for the purpose,
    whose autograd history saves no tensor, so double backward is unaffected.
    """

    def __init__(self, xp: Any) -> None:
        super().__init__(xp)
        self._free: list[torch.Tensor] = []

    # -- memory: released intermediates are reused as outputs ----------------
    def _reusing(self) -> bool:
        # out= is not differentiable: only where autograd records nothing (the forward of
        # an autograd.Function, and a backward that is not itself differentiated)
        return self.eager and not torch.is_grad_enabled()

    def release(self, *arrays: torch.Tensor) -> None:
        if self._reusing():
            self._free += [a for a in arrays if a is not None and a.is_contiguous()]

    def _buffer(self, like: torch.Tensor, *avoid: torch.Tensor) -> torch.Tensor | None:
        """A released tensor of ``like``'s shape, dtype and device (never one of ``avoid``)."""
        for i, buf in enumerate(self._free):
            if (
                buf.shape == like.shape
                and buf.dtype == like.dtype
                and buf.device == like.device
                and not any(buf is a for a in avoid)
            ):
                return self._free.pop(i)
        return None

    def matmul(
        self, a: torch.Tensor, b: torch.Tensor, into: torch.Tensor | None = None, alpha: float = 1.0
    ) -> torch.Tensor:
        if into is not None:
            if self.eager and into.shape == a.shape == b.shape and into.is_contiguous() and a.ndim >= 2:
                # the sum in the product itself: one pass less than a @ b, then add_
                n = a.shape[-1]
                into.view(-1, n, n).baddbmm_(a.reshape(-1, n, n), b.reshape(-1, n, n), alpha=alpha)
                return into
            return super().matmul(a, b, into, alpha)
        buf = self._buffer(a, a, b) if self._free and a.shape == b.shape else None
        p = a @ b if buf is None else torch.matmul(a, b, out=buf)
        return p if alpha == 1 else p.mul_(alpha)

    # -- fused sums ----------------------------------------------------------
    def hermitian_part(self, a: torch.Tensor, scale: Any = None) -> torch.Tensor:
        if not self.eager:
            return super().hermitian_part(a, scale)
        buf = self._buffer(a, a) if self._free else None
        h = torch.add(a, a.mH) if buf is None else torch.add(a, a.mH, out=buf)
        factor = 0.5 if scale is None else scale * 0.5
        return h if isinstance(factor, float) and factor == 1.0 else h.mul_(factor)

    def lincomb(self, coeffs: Sequence[Any], mats: Sequence[torch.Tensor], eye: Any = 0.0) -> torch.Tensor:
        terms = [(c, M) for c, M in zip(coeffs, mats, strict=True) if not is_zero(c)]
        if not self.eager or not terms:
            return super().lincomb(coeffs, mats, eye)
        shapes = {M.shape for _, M in terms}
        shapes |= {c.shape for c in (*(c for c, _ in terms), eye) if isinstance(c, torch.Tensor)}
        shape = shapes.pop() if len(shapes) == 1 else _broadcast_shapes(shapes)
        (c0, M0), *rest = terms
        if M0.shape != shape:
            out = torch.mul(M0, c0).expand(shape).clone()
        elif (buf := self._buffer(M0, *mats) if self._free else None) is not None:
            out = torch.mul(M0, c0, out=buf)
        else:
            out = torch.mul(M0, c0)
        for c, M in rest:
            if isinstance(c, torch.Tensor):
                out.addcmul_(M, c)
            else:
                out.add_(M, alpha=c)
        if isinstance(eye, torch.Tensor):
            out.diagonal(dim1=-2, dim2=-1).add_(eye[..., 0])
        elif eye:
            out.diagonal(dim1=-2, dim2=-1).add_(eye)
        return out

    def fro(self, a: torch.Tensor) -> torch.Tensor:
        return torch.linalg.matrix_norm(a, keepdim=True)

    def coefficients(self, name: str, *args: Any) -> Any:
        # under torch.compile(dynamic=True) a float read inside the autograd.Function (from the
        # options) is a lazy constant that assume_constant_result cannot take; its integer
        # ratio (exact: int / int rounds correctly back to the float) is a plain tuple
        plain = []
        for a in args:
            plain.append(a.as_integer_ratio() if isinstance(a, float) else a)
        return _constant_coefficients(name, *plain)

    def hpd_inv(self, a: torch.Tensor) -> torch.Tensor:
        # Cholesky: half the flops of LU, and not affected by pytorch#181570. The inverse
        # as L^-H L^-1 from one triangular solve and one product: measured 1.5-3x faster
        # on a CPU than torch.cholesky_inverse (256x32x32 .. 8x256x256, float32)
        # A matrix whose factorisation fails (only reachable with check_finite=False: the
        # checks refuse such input) gets NaN, its batch-mates their inverses. On a CPU the
        # flags are read for free; on an accelerator they are not read (no host sync).
        L, info = torch.linalg.cholesky_ex(a)
        failed = info[..., None, None] > 0
        mark = a.device.type != "cpu" or not self.eager or bool(failed.any())
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device).expand(a.shape)
        Li = torch.linalg.solve_triangular(L, eye, upper=False)
        if self._reusing() and not mark:
            # L is dead; it is column-major, so its transpose is a contiguous buffer
            # (out=L itself makes matmul compute elsewhere and copy: up to 5x the product)
            return torch.matmul(Li.mH, Li, out=L.mT)
        inv = Li.mH @ Li
        return torch.where(failed, torch.full_like(inv, float("nan")), inv) if mark else inv

    def hpd_solve(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # Cholesky, not LU (pytorch#181570); NaN where a factorisation fails, as in hpd_inv
        L, info = torch.linalg.cholesky_ex(a)
        x = torch.cholesky_solve(b, L)
        return torch.where(info[..., None, None] > 0, torch.full_like(x, float("nan")), x)

    def cholesky(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        L, info = torch.linalg.cholesky_ex(a)
        return L, info > 0

    def cholesky_solve(self, L: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # two triangular solves: measured 1.3-3x faster than torch.cholesky_solve (CPU, n = 32..256)
        w = torch.linalg.solve_triangular(L, b, upper=False)
        return torch.linalg.solve_triangular(L.mH, w, upper=True)

    def read(self, a: torch.Tensor) -> float:
        return float(a.detach())

    def eigvals(self, a: torch.Tensor) -> torch.Tensor:
        return torch.linalg.eigvals(a)

    def inv(self, a: torch.Tensor) -> torch.Tensor:
        # torch 2.13 batched CPU LU with more than one thread returns bad pivots (or raises
        # MKL errors) for n >~ 200 (pytorch/pytorch#181570): route around it.
        if _lu_bug_applies(a):
            if _is_traced(a):
                # under torch.compile / torch.func the batch is not ours to loop over: invert
                # by QR (A^-1 = R^-1 Q^H), which batched CPU QR computes correctly (checked
                # over 480 batched calls at n = 128..384, 2 threads); about twice LU's flops
                Q, R = torch.linalg.qr(a)
                return torch.linalg.solve_triangular(R, Q.mH, upper=True)
            flat = a.reshape(-1, *a.shape[-2:])
            return torch.stack([self._inv_or_nan(m) for m in flat.unbind(0)]).reshape(a.shape)
        return self._inv_or_nan(a)

    def _inv_or_nan(self, a: torch.Tensor) -> torch.Tensor:
        # NaN for the singular matrices, their batch-mates keep their inverses (torch.linalg.inv
        # raises for the whole batch, also under torch.compile / torch.func, where a matrix the
        # checks could not see, e.g. a general matrix with an eigenvalue on the negative axis,
        # must come back as NaN); the flags are read where that is free (eager, CPU)
        X, info = torch.linalg.inv_ex(a)
        failed = info[..., None, None] > 0
        if a.device.type != "cpu" or not self.eager or bool(failed.any()):
            X = torch.where(failed, torch.full_like(X, math.nan), X)
        return X

    def eigh(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.linalg.eigh(a)


def _broadcast_shapes(shapes: set[torch.Size]) -> torch.Size:
    """``torch.broadcast_shapes`` without its overhead (tens of microseconds a call)."""
    ndim = max(len(sh) for sh in shapes)
    out = [1] * ndim
    for sh in shapes:
        for i, d in enumerate(sh, ndim - len(sh)):
            if d != 1:
                if out[i] not in (1, d):
                    msg = f"shapes {sorted(map(tuple, shapes))} do not broadcast"
                    raise ValueError(msg)
                out[i] = d
    return torch.Size(out)


def _lu_bug_applies(a: torch.Tensor) -> bool:
    """Whether a batched CPU LU of ``a`` can hit pytorch#181570.

    Traced (torch.compile, torch.func): always at these sizes. A vmapped matrix may be one
    of a batch, the thread count at run time is not the one at trace time, and reading it
    breaks ``fullgraph=True`` ("torch.* op returned non-Tensor").
    """
    if a.device.type != "cpu" or a.shape[-1] < LU_GUARD_MIN_N:
        return False
    if _is_traced(a):
        return True
    batch = a.numel() // max(a.shape[-1] * a.shape[-2], 1)
    return batch > 1 and torch.get_num_threads() > 1


def _is_traced(a: torch.Tensor) -> bool:
    """True where values cannot be read: torch.compile, functorch-wrapped (vmap/grad) and meta tensors."""
    return bool(
        torch.compiler.is_compiling()
        or torch._C._functorch.is_functorch_wrapped_tensor(a)
        or a.device.type == "meta"
    )


def _ops(a: torch.Tensor) -> TorchOps:
    import array_api_compat.torch as xp

    ops = TorchOps(xp)
    ops.eager = not _is_traced(a)
    ops.host = a.device.type == "cpu"
    return ops


def _no_autocast(a: torch.Tensor) -> Any:
    """Autocast off on ``a``'s device (meta tensors have no autocast state)."""
    if a.device.type == "meta":
        return contextlib.nullcontext()
    return torch.autocast(device_type=a.device.type, enabled=False)


class _Root(torch.autograd.Function):
    """``A -> A^(+-1/2)``; the extra outputs are the Padé residuals (non-differentiable)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(A: torch.Tensor, opt: Options) -> tuple[torch.Tensor, ...]:
        with _no_autocast(A):
            out, res = forward(A, opt, _ops(A))
        return (out,) if res is None else (out, *res)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, ...]) -> None:
        A, opt = inputs
        ctx.opt = opt
        ctx.mark_non_differentiable(*output[1:])
        # no zero tensors for the residual outputs' (always absent) gradients
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(A, *output)

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor | None, *_: Any) -> tuple[torch.Tensor | None, None]:
        if G is None:  # the root itself is not part of the loss
            return None, None
        A, out, *res = ctx.saved_tensors
        opt: Options = ctx.opt
        ops = _ops(G)
        with _no_autocast(A):
            if res and torch.is_grad_enabled():
                # double backward: the saved residuals are not connected to A's graph
                _, res_t = forward(A, opt, ops)
            else:
                res_t = tuple(res) if res else None
            gA = vjp(G, A, out, res_t, opt, ops)
        return gA, None


class TorchAdapter(GenericAdapter):
    """torch tensors, any device, with autograd."""

    ops_class = TorchOps

    def __init__(self, xp: Any, A: torch.Tensor) -> None:
        super().__init__(xp, A)
        self.ops.eager = not _is_traced(A)

    def _on_accelerator(self, A: torch.Tensor) -> bool:
        return A.device.type != "cpu"

    def inspectable(self, A: torch.Tensor) -> torch.Tensor:
        return A.detach()

    def root(self, A: torch.Tensor, opt: Options) -> torch.Tensor:
        return _Root.apply(A, opt)[0]
