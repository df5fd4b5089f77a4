"""Dask adapter: the core mapped lazily over chunks of the batch dimensions.

Each chunk holds whole matrices (the last two axes are rechunked to one chunk,
the batch chunking is kept) and is processed eagerly by the adapter of the
chunk's own library (NumPy, or CuPy for GPU-backed chunks), so the same code
runs on a laptop, a GPU or a ``dask.distributed`` cluster. Nothing is computed
until the user computes: each chunk is checked when it is computed, and a
matrix that fails the checks gives NaN (an error would fail the whole graph);
``tol=`` is refused (it would need the values); pass ``order=``.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .._compat import array_namespace
from .._core import Options
from ._generic import GenericAdapter

__all__ = ["DaskAdapter"]


def _whole_matrices(x: da.Array) -> da.Array:
    """Rechunk so that every chunk holds whole matrices (last two axes in one chunk)."""
    if len(x.chunks[-1]) == 1 and len(x.chunks[-2]) == 1:
        return x
    return x.rechunk({x.ndim - 2: -1, x.ndim - 1: -1})


def _aligned(x: da.Array, batch: tuple[int, ...], batch_chunks: tuple[Any, ...]) -> da.Array:
    """``x`` broadcast to ``batch`` and chunked like ``batch_chunks`` (whole matrices)."""
    x = da.broadcast_to(x, batch + x.shape[-2:])
    return x.rechunk((*batch_chunks, (x.shape[-2],), (x.shape[-1],)))


def _block_adapter(block: Any) -> GenericAdapter:
    from . import adapter_for

    xp = array_namespace(block)
    return adapter_for(xp, block)


def _root_block(block: Any, opt: Options, checks: dict[str, bool] | None) -> Any:
    if block.size == 0:
        return block
    adapter = _block_adapter(block)
    if checks is None:
        return adapter.root(block, opt)
    # inside a chunk the values are concrete, but raising would fail the whole graph:
    # bad matrices give NaN, as wherever values are hidden
    return adapter.guarded_root(block, opt, checks)


def _sylvester_block(A: Any, B: Any, C: Any, iters: int | None) -> Any:
    if C.size == 0:
        return C
    # an error would fail the whole graph: NaN where the equation is not solved
    return _block_adapter(A).sylvester(A, B, C, iters, guard=True)


def _run_block(*blocks: Any, fn: Any) -> Any:
    if blocks[0].size == 0:
        return blocks[0]
    return _block_adapter(blocks[0]).run(fn, *blocks)


class DaskAdapter(GenericAdapter):
    """Lazy Dask arrays (NumPy- or CuPy-backed chunks)."""

    def __init__(self, xp: Any, A: Any) -> None:
        super().__init__(xp, A)
        self.ops.eager = False

    def _on_accelerator(self, A: Any) -> bool:
        return type(getattr(A, "_meta", None)).__module__.startswith("cupy")

    def root(self, A: da.Array, opt: Options, checks: dict[str, bool] | None = None) -> da.Array:
        A = _whole_matrices(A)
        return A.map_blocks(_root_block, opt, checks, dtype=A.dtype, meta=A._meta)

    def guarded_root(self, A: da.Array, opt: Options, checks: dict[str, bool]) -> da.Array:
        return self.root(A, opt, checks)

    def sylvester(
        self, A: da.Array, B: da.Array | None, C: da.Array, iters: int | None, guard: bool = True
    ) -> da.Array:
        B = A if B is None else B
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2], C.shape[:-2])
        C = _whole_matrices(da.broadcast_to(C, batch + C.shape[-2:]))
        A, B = (_aligned(M, batch, C.chunks[:-2]) for M in (A, B))
        return da.map_blocks(_sylvester_block, A, B, C, iters, dtype=C.dtype, meta=C._meta)

    def run(self, fn: Any, *arrays: da.Array) -> da.Array:
        first = _whole_matrices(arrays[0])
        rest = [a.rechunk(first.chunks) for a in arrays[1:]]
        return da.map_blocks(_run_block, first, *rest, fn=fn, dtype=first.dtype, meta=first._meta)
