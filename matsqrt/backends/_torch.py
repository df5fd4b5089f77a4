"""torch adapter: the core as a ``torch.autograd.Function`` (setup_context style).

The forward and the backward are the core's own array-API code run on torch
tensors, so the backward is itself differentiable (``gradgradcheck``), works
under ``torch.func.vmap``/``grad`` (``generate_vmap_rule``) and traces under
``torch.compile``. Tensors never leave their device.
"""

from __future__ import annotations

from typing import Any

import torch

from .._core import Ops, Options, forward, vjp
from ._generic import GenericAdapter

__all__ = ["TorchAdapter", "TorchOps"]

#: smallest n at which batched CPU LU is routed around pytorch/pytorch#181570
LU_GUARD_MIN_N = 128


class TorchOps(Ops):
    """Native torch routines: Cholesky inverse for Hermitian systems, LU guard."""

    def hpd_inv(self, a: torch.Tensor) -> torch.Tensor:
        # Cholesky: half the flops of LU, and not affected by pytorch#181570
        L, info = torch.linalg.cholesky_ex(a)
        if not _is_traced(a) and bool(info.any()):
            if bool(torch.isfinite(a).all()):
                torch.linalg.cholesky(a)  # raises torch's own error: not positive definite
            # NaN/Inf input passed with check_finite=False: let it show in the result
            return torch.full_like(a, float("nan"))
        return torch.cholesky_inverse(L)

    def inv(self, a: torch.Tensor) -> torch.Tensor:
        if _lu_bug_applies(a):
            # torch 2.13 batched CPU LU with more than one thread returns bad pivots
            # (or raises MKL errors) for n >~ 200: invert matrix by matrix instead.
            flat = a.reshape(-1, *a.shape[-2:])
            return torch.stack([torch.linalg.inv(m) for m in flat.unbind(0)]).reshape(a.shape)
        return torch.linalg.inv(a)

    def eigh(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.linalg.eigh(a)


def _lu_bug_applies(a: torch.Tensor) -> bool:
    batch = a.numel() // max(a.shape[-1] * a.shape[-2], 1)
    return (
        a.device.type == "cpu"
        and batch > 1
        and a.shape[-1] >= LU_GUARD_MIN_N
        and torch.get_num_threads() > 1
        and not _is_traced(a)
    )


def _is_traced(a: torch.Tensor) -> bool:
    """True under torch.compile or for functorch-wrapped (vmap/grad) tensors."""
    return bool(torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(a))


def _ops(a: torch.Tensor) -> TorchOps:
    import array_api_compat.torch as xp

    ops = TorchOps(xp)
    ops.eager = not _is_traced(a)
    return ops


class _Root(torch.autograd.Function):
    """``A -> A^(+-1/2)``; the extra outputs are the Padé residuals (non-differentiable)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(A: torch.Tensor, opt: Options) -> tuple[torch.Tensor, ...]:
        with torch.autocast(device_type=A.device.type, enabled=False):
            out, res = forward(A, opt, _ops(A))
        return (out,) if res is None else (out, *res)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, ...]) -> None:
        A, opt = inputs
        ctx.opt = opt
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(A, *output)

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor, *_: Any) -> tuple[torch.Tensor | None, None]:
        A, out, *res = ctx.saved_tensors
        opt: Options = ctx.opt
        ops = _ops(G)
        with torch.autocast(device_type=A.device.type, enabled=False):
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
