"""Bures–Wasserstein distance between SPD matrices and its gradient, in JAX."""

import jax
import jax.numpy as jnp
import numpy as np

import matsqrt
from matsqrt.testing import random_spd

jax.config.update("jax_enable_x64", True)


def bures_wasserstein2(A, B):
    """d^2(A, B) = tr A + tr B - 2 tr (A^(1/2) B A^(1/2))^(1/2)."""
    rA = matsqrt.sqrtm(A, order=30)
    return jnp.trace(A) + jnp.trace(B) - 2 * jnp.trace(matsqrt.sqrtm(rA @ B @ rA, order=30))


A, B = jnp.asarray(random_spd(6, 10, seed=1)), jnp.asarray(random_spd(6, 10, seed=2))
d2 = jax.jit(bures_wasserstein2)(A, B)
gA = jax.grad(bures_wasserstein2)(A, B)
# known gradient: dd^2/dA = I - T with T = B^(1/2) (B^(1/2) A B^(1/2))^(-1/2) B^(1/2) (optimal map A -> B)
rB = np.asarray(matsqrt.sqrtm(np.asarray(B), method="eigh"))
T = rB @ matsqrt.invsqrtm(rB @ np.asarray(A) @ rB, method="eigh") @ rB
print(f"BW^2 = {float(d2):.10f}; max|grad - (I - T)| = {np.abs(np.asarray(gA) - (np.eye(6) - T)).max():.2e}")
assert np.allclose(np.asarray(gA), np.eye(6) - T, atol=1e-8)
