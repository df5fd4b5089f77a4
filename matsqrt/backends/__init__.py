"""Backend adapters: one small class per array library, imported lazily.

:func:`adapter_for` looks at the namespace of the input and returns an adapter
that carries the :class:`~matsqrt._core.Ops` for it and registers the core's
derivative with the library's autodiff where it has one. Importing matsqrt
imports none of torch, JAX, CuPy or Dask; their adapters are imported only when
an array of that library arrives.
"""

from __future__ import annotations

from typing import Any

from .._compat import is_dask_namespace, is_jax_namespace, is_torch_namespace
from ._generic import GenericAdapter

__all__ = ["GenericAdapter", "adapter_for"]


def adapter_for(xp: Any, A: Any) -> GenericAdapter:
    """The adapter for namespace ``xp`` (and array ``A``, for device and laziness)."""
    if is_torch_namespace(xp):
        from ._torch import TorchAdapter

        return TorchAdapter(xp, A)
    if is_jax_namespace(xp):
        from ._jax import JaxAdapter

        return JaxAdapter(xp, A)
    if is_dask_namespace(xp):
        from ._dask import DaskAdapter

        return DaskAdapter(xp, A)
    return GenericAdapter(xp, A)
