"""JAX adapter: the core registered as a ``jax.custom_jvp``.

The JVP rule runs the core's forward and its tangent map, which is linear in
the tangent with fixed trip counts, so JAX transposes it for reverse mode:
``jax.grad``, ``jax.jvp``, ``jax.jit``, ``jax.vmap`` and their compositions
(second derivatives included) work. The options are a static argument. The core is
batched element-wise over the leading axes, so under ``jit`` a batch sharded
over devices along a leading axis is computed where it lies, with no
collectives, and keeps its sharding.

Values are inspected (the input checks, ``tol=``, ``method="auto"``, the
adaptive sign iteration) wherever they are concrete: plain arrays and the
tracers of ``jax.grad`` / ``jax.jvp`` outside ``jit``. Under ``jit`` and
``vmap`` they cannot be: matrices that fail the checks come back as NaN
(computed in the graph) and ``tol=`` is refused.

Forward-mode second derivatives of the exact (``"eigh"``) paths go through
the Sylvester-equation form of the Daleckii–Krein derivative, not through the
eigenvectors, so they stay finite at repeated eigenvalues (e.g. at ``A = I``).
Known limitation: where reverse mode is applied first (``jax.hessian`` is
``jacfwd(jacrev)``), JAX inlines that rule and differentiates ``eigh`` itself,
which gives NaN at exactly repeated eigenvalues with ``backward="eigh"``; the
``"rational"`` and ``"lyapunov"`` backwards are finite there in every order.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from .._core import Ops, Options, forward, jvp
from .._core._sign import newton_sylvester, unsolved_to_nan
from ._generic import GenericAdapter

__all__ = ["JaxAdapter", "JaxOps"]


class JaxOps(Ops):
    """Cholesky solve for Hermitian systems; value checks only for concrete arrays."""

    flushes_subnormals = True  # XLA on CPU: 1 / 9e307 is 0

    # Constants are created uncommitted (no ``device=``): JAX places them with the operand.
    # ``device(a)`` of an array sharded over several devices is its sharding, which a
    # constant of another shape cannot take.
    def eye_like(self, a: jax.Array) -> jax.Array:
        return jnp.eye(a.shape[-1], dtype=a.dtype)

    def constants(self, values: tuple[float, ...], like: jax.Array, ndim: int) -> jax.Array:
        arr = jnp.asarray(values, dtype=jnp.finfo(like.dtype).dtype)
        return jnp.reshape(arr, (len(values),) + (1,) * ndim)

    def hpd_inv(self, a: jax.Array) -> jax.Array:
        # measured on CPU under jit: at 5 x 64 x 32 x 32, 1.3-1.45x faster than LU inv and
        # 1.15x faster than cholesky + triangular inverse + product; 2.4x faster than the
        # latter and 1.3x than LU at 5 x 8 x 128 x 128
        return self.hpd_solve(a, _eye_as(a))

    def hpd_solve(self, a: jax.Array, b: jax.Array) -> jax.Array:
        return jax.scipy.linalg.cho_solve((_cholesky(a, False), True), b)

    def inv(self, a: jax.Array) -> jax.Array:
        # not jnp.linalg.inv: its identity is broadcast unsharded (same failure as above)
        return jnp.linalg.solve(a, _eye_as(a))

    def cholesky(self, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        # for the checks and the spectrum estimate: not differentiated (nor is JAX's Cholesky
        # JVP, which fails like the factor). One triangle, as LAPACK reads it (NumPy, torch):
        # symmetrising first would overflow near the largest float and average away a
        # rounding-level asymmetry the others see
        L = _cholesky(jax.lax.stop_gradient(a), False)
        return L, ~jnp.all(jnp.isfinite(L), axis=(-2, -1))

    def cholesky_solve(self, L: jax.Array, b: jax.Array) -> jax.Array:
        b = jnp.broadcast_to(b, (*L.shape[:-1], b.shape[-1]))
        w = jax.lax.linalg.triangular_solve(L, b, left_side=True, lower=True)
        return jax.lax.linalg.triangular_solve(
            L, w, left_side=True, lower=True, transpose_a=True, conjugate_a=True
        )

    def eigh(self, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        # one triangle, as NumPy and torch read it (symmetrising would overflow near the largest float)
        w, V = jnp.linalg.eigh(a, symmetrize_input=False)
        return w, V

    def read(self, a: Any) -> float:
        return float(_concrete(a))  # also the tracers of jax.jvp / jax.grad outside jit


def _eye_as(a: jax.Array) -> jax.Array:
    """The identity broadcast to ``a``'s shape *and sharding*.

    A broadcast of ``jnp.eye`` has unsharded batch axes; with ``a`` sharded on an
    Explicit mesh axis the solvers' ``vmap`` over the batch refuses the mismatch
    ("Mapped away dimension ... should be sharded the same"). ``zeros_like`` takes
    ``a``'s sharding (on any mesh, or none), and the sum keeps it.
    """
    return jnp.zeros_like(a) + jnp.eye(a.shape[-1], dtype=a.dtype)


@partial(jax.jit, static_argnums=1)
def _cholesky(a: jax.Array, symmetrize: bool) -> jax.Array:
    """Lower Cholesky factors, vmapped over the batch (NaN where a factorisation fails).

    Batched, ``lax.linalg.cholesky`` masks its factor with a triangle broadcast
    unsharded, which ``lax.select`` refuses for a batch sharded on an Explicit mesh
    axis under ``jax.set_mesh``; per matrix (vmap) the mask has no batch axes. jit:
    eagerly, a vmap over an Explicit-sharded batch needs a mesh context.
    """
    chol = partial(jax.lax.linalg.cholesky, symmetrize_input=symmetrize)
    return jnp.vectorize(chol, signature="(n,n)->(n,n)")(a)


def _concrete(a: Any) -> Any:
    """``a``'s value as a concrete array, or ``None`` where it is abstract (jit, vmap)."""
    if not isinstance(a, jax.core.Tracer):
        return a
    to_concrete = getattr(a, "to_concrete_value", None)
    return None if to_concrete is None else to_concrete()


def _ops(*arrays: Any) -> JaxOps:
    ops = JaxOps(jnp)
    ops.eager = all(_concrete(a) is not None for a in arrays if a is not None)
    return ops


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _root(A: jax.Array, opt: Options) -> jax.Array:
    out, _ = forward(A, opt, _ops(A), residuals=False)  # the JVP rule runs its own forward
    return out


@_root.defjvp
def _root_jvp(
    opt: Options, primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (A,), (dA,) = primals, tangents
    ops = _ops(A)
    if opt.method == "eigh":
        # through this rule again (not through jnp.linalg.eigh) when differentiated twice
        out, res = _root(A, opt), None
    else:
        out, res = forward(A, opt, ops)
    if opt.backward == "eigh":
        return out, _exact_tangent(dA, A, opt)
    return out, jvp(dA, A, out, res, opt, ops)


@partial(jax.custom_jvp, nondiff_argnums=(2,))
def _exact_tangent(E: jax.Array, A: jax.Array, opt: Options) -> jax.Array:
    """The exact Fréchet derivative of ``A^(+-1/2)`` along ``E`` (Daleckii–Krein, by eigh)."""
    return jvp(E, A, None, None, opt, _ops(A))


@_exact_tangent.defjvp
def _exact_tangent_jvp(
    opt: Options, primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]
) -> tuple[jax.Array, jax.Array]:
    # With Y = A^(1/2) and S(E) the solution of Y X + X Y = herm(E) (the tangent of Y):
    # differentiating Y X + X Y = E gives dX = S(dE - dY X - X dY), dY = S(dA); and the
    # inverse root's tangent is X = -Z S(E) Z. No eigenvector derivative appears.
    E, A = primals
    dE, dA = tangents
    if opt.power != 0.5:
        # other powers (powm): through the eigendecomposition itself, exact where the
        # eigenvalues are distinct (a second divided-difference tensor would be n^3)
        return jax.jvp(lambda E_, A_: jvp(E_, A_, None, None, opt, _ops(A_)), primals, tangents)
    o_sqrt = replace(opt, inverse=False, method="eigh", order=1, backward="eigh")
    X = _exact_tangent(E, A, opt)
    dY = _exact_tangent(dA, A, o_sqrt)
    if not opt.inverse:
        return X, _exact_tangent(dE - (dY @ X + X @ dY), A, o_sqrt)
    W = _exact_tangent(E, A, o_sqrt)
    Z = _root(A, replace(o_sqrt, inverse=True))
    dZ = _exact_tangent(dA, A, opt)
    dW = _exact_tangent(dE - (dY @ W + W @ dY), A, o_sqrt)
    return X, -(dZ @ W @ Z + Z @ dW @ Z + Z @ W @ dZ)


class JaxAdapter(GenericAdapter):
    """JAX arrays (concrete or traced), with forward- and reverse-mode autodiff."""

    ops_class = JaxOps

    def __init__(self, xp: Any, A: Any) -> None:
        self.xp = jnp
        self.ops = _ops(A)
        self.accelerator = self._on_accelerator(A)

    def _on_accelerator(self, A: Any) -> bool:
        value = _concrete(A)
        if value is None or not hasattr(value, "devices"):  # abstract: no concrete devices
            return jax.default_backend() != "cpu"
        return any(d.platform != "cpu" for d in value.devices())

    def inspectable(self, A: Any) -> Any:
        """The concrete value of ``A`` (also under ``jax.grad``), else ``A`` itself."""
        value = _concrete(A)
        return A if value is None else value

    def root(self, A: jax.Array, opt: Options) -> jax.Array:
        return _root(A, opt)

    def sylvester(
        self, A: jax.Array, B: jax.Array | None, C: jax.Array, iters: int | None, guard: bool = False
    ) -> jax.Array:
        # adaptive iteration only when every operand is concrete (vmap over C alone is not)
        ops = _ops(A, B, C)
        X = newton_sylvester(A, B, C, iters, ops)
        return unsolved_to_nan(A, B, C, X, ops) if guard else X

    def run(self, fn: Any, *arrays: jax.Array) -> jax.Array:
        return fn(*arrays, _ops(*arrays))
