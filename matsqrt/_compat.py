"""The one seam through which matsqrt talks to array-api-compat."""

from __future__ import annotations

import sys
from typing import Any

from array_api_compat import array_namespace as _array_namespace
from array_api_compat import device as _device
from array_api_compat import (
    is_array_api_strict_namespace,
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_lazy_array,
    is_numpy_namespace,
    size,
    to_device,
)

__all__ = [
    "array_namespace",
    "device",
    "is_array_api_strict_namespace",
    "is_cupy_namespace",
    "is_dask_namespace",
    "is_jax_namespace",
    "is_lazy_array",
    "is_numpy_namespace",
    "is_torch_namespace",
    "size",
    "to_device",
]


def _all_torch(xs: tuple[Any, ...]) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and bool(xs) and all(isinstance(x, torch.Tensor) for x in xs)


def array_namespace(*xs: Any) -> Any:
    """array-api-compat's ``array_namespace``; torch tensors directly (its type tests are
    ``lru_cache``-wrapped, which torch.compile warns about at every call it traces)."""
    if _all_torch(xs):
        import array_api_compat.torch as torch_namespace

        return torch_namespace
    return _array_namespace(*xs)


def device(x: Any) -> Any:
    """array-api-compat's ``device``; a torch tensor's own (see :func:`array_namespace`)."""
    if _all_torch((x,)):
        return x.device
    return _device(x)


def is_torch_namespace(xp: Any) -> bool:
    """Whether ``xp`` is torch's namespace (by name: see :func:`array_namespace`)."""
    return getattr(xp, "__name__", "") in ("torch", "array_api_compat.torch")
