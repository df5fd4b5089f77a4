"""JAX adapter: custom_jvp (grad, jvp, jit, vmap), second-order checks, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import matsqrt  # noqa: E402
from matsqrt.testing import random_spd, rel_error  # noqa: E402


@pytest.fixture(autouse=True)
def _x64():
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def _sym(a):
    return (a + jnp.swapaxes(a, -1, -2)) / 2


@pytest.mark.parametrize("backward", ["rational", "lyapunov", "eigh"])
@pytest.mark.parametrize("fn", [matsqrt.sqrtm, matsqrt.invsqrtm], ids=["sqrtm", "invsqrtm"])
def test_check_grads_second_order_fwd_and_rev(fn, backward):
    A = jnp.asarray(random_spd((2, 4), 10, seed=1))
    kw = {"method": "eigh"} if backward == "eigh" else {"method": "pade", "order": 30}

    def f(a):
        return fn(_sym(a), backward=backward, **kw)

    # 1e-4: the central-difference truncation error of second derivatives of A^(-1/2)
    check_grads(f, (A,), order=2, modes=("fwd", "rev"), atol=1e-4, rtol=1e-4)


def test_values_match_numpy_for_every_method_and_dtype():
    for dtype in (np.float32, np.float64, np.complex64, np.complex128):
        A = random_spd((3, 6), 20, seed=2, dtype=dtype)
        for fn in (matsqrt.sqrtm, matsqrt.invsqrtm):
            for method in ("pade", "taylor", "newton_schulz", "eigh"):
                Y = fn(jnp.asarray(A), method=method)
                assert isinstance(Y, jax.Array) and Y.dtype == jnp.dtype(dtype)
                tol = 1e-4 if np.dtype(dtype).itemsize <= 8 and dtype != np.complex128 else 1e-10
                assert rel_error(np.asarray(Y), fn(A, method=method)) <= tol


def test_grad_equals_explicit_vjp_and_jit_vmap():
    A = jnp.asarray(random_spd((3, 5), 10, seed=3))
    G = np.random.default_rng(0).standard_normal((3, 5, 5))
    loss = lambda a: jnp.sum(jnp.asarray(G) * matsqrt.sqrtm(a, backward="eigh", method="eigh"))  # noqa: E731
    g = jax.grad(loss)(A)
    ref = matsqrt.sqrtm_vjp(matsqrt.sqrtm(np.asarray(A), method="eigh"), G, backward="eigh")
    assert rel_error(np.asarray(g), ref) <= 1e-10
    np.testing.assert_allclose(np.asarray(jax.jit(loss)(A)), np.asarray(loss(A)), rtol=1e-12)
    Yv = jax.vmap(matsqrt.sqrtm)(A)
    np.testing.assert_allclose(np.asarray(Yv), np.asarray(matsqrt.sqrtm(A)), rtol=1e-12, atol=1e-13)
    gj = jax.jit(jax.grad(lambda a: matsqrt.invsqrtm(a).sum()))(A)
    assert bool(jnp.all(jnp.isfinite(gj)))


def test_jvp_matches_finite_difference():
    A = jnp.asarray(random_spd(5, 10, seed=4))
    E = jnp.asarray(random_spd(5, 3, seed=5))
    f = lambda a: matsqrt.sqrtm(a, order=30)  # noqa: E731
    _, t = jax.jvp(f, (A,), (E,))
    h = 1e-6
    fd = (f(A + h * E) - f(A - h * E)) / (2 * h)
    assert rel_error(np.asarray(t), np.asarray(fd)) <= 1e-7


@pytest.mark.parametrize("backward", ["rational", "lyapunov", "eigh"])
def test_gradient_finite_at_identity(backward):
    kw = {"method": "eigh"} if backward == "eigh" else {}
    G = np.arange(9.0).reshape(3, 3)

    def loss(a):
        return jnp.sum(jnp.asarray(G) * matsqrt.sqrtm(a, backward=backward, **kw))

    g = jax.grad(loss)(jnp.eye(3))
    np.testing.assert_allclose(np.asarray(g), (G + G.T) / 4, atol=1e-10)


def test_under_jit_value_checks_are_skipped_and_tol_is_refused():
    A = jnp.asarray(random_spd((2, 4), 10, seed=6))
    jax.jit(matsqrt.sqrtm)(A.at[0, 0, 0].set(jnp.nan))  # check skipped under tracing: no error
    with pytest.raises(ValueError, match="NaN"):
        matsqrt.sqrtm(A.at[0, 0, 0].set(jnp.nan))  # concrete: checked
    with pytest.raises(ValueError, match="order"):
        jax.jit(lambda a: matsqrt.sqrtm(a, tol=1e-8))(A)
