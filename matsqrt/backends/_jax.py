"""JAX adapter: the core registered as a ``jax.custom_jvp``.

The JVP rule runs the core's forward and its tangent map, which is linear in
the tangent with fixed trip counts, so JAX transposes it for reverse mode:
``jax.grad``, ``jax.jvp``, ``jax.jit`` and ``jax.vmap`` all work, and under
``jit`` a batch sharded over devices is computed where it lies (the core is
batched element-wise over the leading axes). The options are a static argument.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from .._core import Ops, Options, forward, jvp
from ._generic import GenericAdapter

__all__ = ["JaxAdapter", "JaxOps"]


class JaxOps(Ops):
    """Cholesky-based Hermitian inverse; value checks only for concrete arrays."""

    def eye_like(self, a: jax.Array) -> jax.Array:
        return jnp.eye(a.shape[-1], dtype=a.dtype)

    def hpd_inv(self, a: jax.Array) -> jax.Array:
        L = jnp.linalg.cholesky(a)
        eye = jnp.broadcast_to(jnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        W = jax.scipy.linalg.solve_triangular(L, eye, lower=True)
        return jnp.conj(jnp.swapaxes(W, -1, -2)) @ W

    def eigh(self, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        w, V = jnp.linalg.eigh(a)
        return w, V


def _ops(a: Any) -> JaxOps:
    ops = JaxOps(jnp)
    ops.eager = not isinstance(a, jax.core.Tracer)
    return ops


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _root(A: jax.Array, opt: Options) -> jax.Array:
    out, _ = forward(A, opt, _ops(A))
    return out


@_root.defjvp
def _root_jvp(opt: Options, primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (A,), (dA,) = primals, tangents
    ops = _ops(A)
    out, res = forward(A, opt, ops)
    return out, jvp(dA, A, out, res, opt, ops)


class JaxAdapter(GenericAdapter):
    """JAX arrays (concrete or traced), with forward- and reverse-mode autodiff."""

    ops_class = JaxOps

    def __init__(self, xp: Any, A: Any) -> None:
        self.xp = jnp
        self.ops = _ops(A)
        self.accelerator = self._on_accelerator(A)

    def _on_accelerator(self, A: Any) -> bool:
        try:
            return any(d.platform != "cpu" for d in A.devices())
        except Exception:  # tracers have no concrete devices
            return jax.default_backend() != "cpu"

    def root(self, A: jax.Array, opt: Options) -> jax.Array:
        return _root(A, opt)
