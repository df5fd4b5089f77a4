"""JAX adapter: values, custom_jvp derivatives (grad, jvp, second order), jit, vmap, checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import matsqrt  # noqa: E402
from matsqrt._core._coefficients import pade_partial_fractions  # noqa: E402
from matsqrt.testing import random_spd, rel_error, root_tolerance  # noqa: E402

COND = 10.0
ROOTS = [matsqrt.sqrtm, matsqrt.invsqrtm]
VJPS = {matsqrt.sqrtm: matsqrt.sqrtm_vjp, matsqrt.invsqrtm: matsqrt.invsqrtm_vjp}
ROOT_IDS = ["sqrtm", "invsqrtm"]
#: the default sign iterations of backward="lyapunov" (the paper's 8)
BWD_ITERS = 8


@pytest.fixture(autouse=True)
def _x64():
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def _sym(a):
    return (a + jnp.swapaxes(a, -1, -2)) / 2


def _inverse(fn) -> bool:
    return fn is matsqrt.invsqrtm


def _general(batch, n, dtype, seed):
    """Non-Hermitian matrices with a positive real spectrum (products of two SPD matrices)."""
    S1 = random_spd((batch, n), math.sqrt(COND), seed=seed)
    S2 = random_spd((batch, n), math.sqrt(COND), seed=seed + 1)
    return (S1 @ S2).astype(dtype)


def _sign_error(coefficient: np.ndarray, iters: int) -> float:
    """Error |1 - s_k(mu)| of ``iters`` Newton–Schulz sign steps at the coefficient's smallest
    normalised eigenvalue: what backward="lyapunov" leaves in the solution, relative."""
    w = np.linalg.eigvalsh(coefficient)
    mu = float(np.min(w / np.linalg.norm(coefficient, axis=(-2, -1))[..., None]))
    s = mu
    for _ in range(iters):
        s = s * (3 - s * s) / 2
    return abs(1 - s)


def _pade_derivative_error(A: np.ndarray, m: int, inverse: bool) -> float:
    """Largest relative error of the derivative of the scalar Padé [m/m] root over the
    spectrum of ``A / (trace(A) / n)`` (Padé's default normalisation): the error of the
    Fréchet derivative that backward="rational" differentiates exactly."""
    w = np.linalg.eigvalsh(A) / (np.trace(A, axis1=-2, axis2=-1) / A.shape[-1])[..., None]
    x = np.linspace(w.min(), w.max(), 2001)[:, None]
    c, d, a = (np.asarray(v) for v in pade_partial_fractions(m))
    if inverse:  # r_m(x) ~ x^(-1/2)
        approx, exact = -np.sum(a / (x + d) ** 2, axis=1), -0.5 * x[:, 0] ** -1.5
    else:  # x r_m(x) ~ x^(1/2)
        approx, exact = c + np.sum(a * d / (x + d) ** 2, axis=1), 0.5 / np.sqrt(x[:, 0])
    return float(np.max(np.abs(approx - exact) / np.abs(exact)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_values_match_numpy_for_every_method_and_dtype(fn, dtype):
    inverse = _inverse(fn)
    A = random_spd((3, 6), COND, seed=2, dtype=dtype)
    tol = root_tolerance(dtype, COND, inverse=inverse)
    for method in ("pade", "taylor", "newton_schulz", "eigh"):
        Y = fn(jnp.asarray(A), method=method)
        assert isinstance(Y, jax.Array) and Y.dtype == jnp.dtype(dtype), method
        assert rel_error(np.asarray(Y), fn(A, method=method)) <= tol, method
    M = _general(3, 6, dtype, seed=3)
    tol = root_tolerance(dtype, COND**2, inverse=inverse)
    for method in ("pade", "taylor", "newton_schulz"):
        with warnings.catch_warnings():
            # the residual test flags the inverse Taylor polynomial here (about 5e-2 off), alike
            warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
            Y = fn(jnp.asarray(M), method=method, hermitian=False)
            ref = fn(M, method=method, hermitian=False)
        assert Y.dtype == jnp.dtype(dtype)
        assert rel_error(np.asarray(Y), ref) <= tol, method


def test_low_precision_and_integer_input_dtypes():
    A = random_spd((2, 4), COND, seed=4)
    for dt in (jnp.bfloat16, jnp.float16):
        Y = matsqrt.sqrtm(jnp.asarray(A, dtype=dt))
        assert Y.dtype == jnp.dtype(dt)
        # computed in float32, then rounded once to the input dtype
        assert rel_error(np.asarray(Y, dtype=np.float64), matsqrt.sqrtm(A)) <= 4 * float(jnp.finfo(dt).eps)
    eye = jnp.eye(3, dtype=jnp.int32)
    assert matsqrt.sqrtm(eye).dtype == jnp.float64
    jax.config.update("jax_enable_x64", False)  # JAX's default: float32 (the fixture restores)
    assert matsqrt.sqrtm(jnp.eye(3, dtype=jnp.int32)).dtype == jnp.float32
    assert matsqrt.sqrtm(jnp.asarray(A, dtype=jnp.float32)).dtype == jnp.float32


@pytest.mark.parametrize(
    ("dtype", "hermitian"),
    [(np.float64, True), (np.complex128, True), (np.float64, False), (np.float32, True)],
)
@pytest.mark.parametrize("backward", ["lyapunov", "eigh"])
@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_grad_equals_explicit_vjp(fn, backward, dtype, hermitian):
    if backward == "eigh" and not hermitian:
        pytest.skip("backward='eigh' needs Hermitian input")
    A = random_spd((3, 5), COND, seed=5, dtype=dtype) if hermitian else _general(3, 5, dtype, seed=5)
    rng = np.random.default_rng(0)
    G = rng.standard_normal(A.shape).astype(dtype)
    if np.iscomplexobj(G):
        G = G + 1j * rng.standard_normal(A.shape).astype(dtype)
    kw = {"method": "eigh"} if backward == "eigh" else {"method": "pade", "order": 12}

    def loss(a):
        Y = fn(a, backward=backward, hermitian=hermitian, **kw)
        return jnp.sum(jnp.real(jnp.conj(jnp.asarray(G)) * Y))

    g = jax.grad(loss)(jnp.asarray(A))
    assert g.dtype == jnp.dtype(dtype)
    Y = fn(A, hermitian=hermitian, **kw)
    # both solve the Lyapunov equation to convergence (eager)
    ref = VJPS[fn](Y, G, backward=backward, hermitian=hermitian)
    # JAX's gradient of a real loss is the conjugate of torch's convention (which the VJPs follow);
    # the transposed tangent map and the explicit VJP are the same linear map, to rounding
    cond = COND**2 if not hermitian else COND
    assert rel_error(np.conj(np.asarray(g)), ref) <= root_tolerance(dtype, cond, inverse=True)


@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_approximate_backwards_against_exact_gradient(fn):
    inverse = _inverse(fn)
    A = random_spd((3, 5), COND, seed=6)
    G = np.random.default_rng(1).standard_normal(A.shape)
    ref = VJPS[fn](fn(A, method="eigh"), G, backward="eigh")

    def grad(**kw):
        return np.asarray(jax.grad(lambda a: jnp.sum(jnp.asarray(G) * fn(a, **kw)))(jnp.asarray(A)))

    order = 8
    err = rel_error(grad(method="pade", order=order, backward="rational"), ref)
    assert err <= 2 * _pade_derivative_error(A, order, inverse) + root_tolerance(
        np.float64, COND, inverse=True
    )
    Y = fn(A, method="eigh")
    expected = max(_sign_error(y, BWD_ITERS) for y in Y)  # the coefficient of the equation is Y (or Z)
    bound = COND * expected + root_tolerance(np.float64, COND, inverse=True)
    assert rel_error(grad(method="eigh", backward="lyapunov"), ref) <= bound
    # the bound is tight enough to notice a wrong iteration count: 5 steps miss it
    assert rel_error(VJPS[fn](Y, G, backward="lyapunov", iters=5), ref) > bound


@pytest.mark.parametrize(
    ("backward", "kw"), [("rational", {"order": 8}), ("lyapunov", {"order": 8}), ("eigh", {"method": "eigh"})]
)
@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_check_grads_second_order_fwd_and_rev(fn, backward, kw):
    # Padé [8/8] at cond 10 is within 1e-9 of the root, 8 sign steps within 1e-12: JAX's default
    # float64 gradient tolerance (1e-5) then measures only the finite differences, whose
    # truncation error at eps = 1e-5 is ~1e-7 for A^(-1/2) with l_min = 0.1 (1e-5 at eps = 1e-4)
    A = jnp.asarray(random_spd((2, 4), COND, seed=1))
    check_grads(lambda a: fn(_sym(a), backward=backward, **kw), (A,), order=2, modes=("fwd", "rev"), eps=1e-5)


@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_jvp_matches_finite_difference(fn):
    A = jnp.asarray(random_spd(5, COND, seed=4))
    E = jnp.asarray(random_spd(5, 3, seed=5))
    f = lambda a: fn(a, order=12)  # noqa: E731
    _, t = jax.jvp(f, (A,), (E,))
    h = 1e-5
    fd = (f(A + h * E) - f(A - h * E)) / (2 * h)
    # central differences: truncation ~ (h / l_min)^2 = 1e-8, rounding ~ eps cond / h ~ 1e-10
    assert rel_error(np.asarray(t), np.asarray(fd)) <= 1e-7


BACKWARDS_AT_I = [
    ("rational", {}),
    ("lyapunov", {}),
    ("eigh", {"method": "eigh"}),
    ("lyapunov", {"method": "eigh"}),
]


@pytest.mark.parametrize(("backward", "kw"), BACKWARDS_AT_I)
@pytest.mark.parametrize("fn", ROOTS, ids=ROOT_IDS)
def test_first_and_second_derivatives_at_identity(fn, backward, kw):
    # (I + tE)^(1/2) = I + tE/2 - t^2 E^2/8 + ...,  (I + tE)^(-1/2) = I - tE/2 + 3 t^2 E^2/8 + ...
    inverse = _inverse(fn)
    n = 3
    G = np.arange(n * n, dtype=np.float64).reshape(n, n)
    E = jnp.asarray([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0], [0.0, 1.0, 3.0]])
    I = jnp.eye(n)  # noqa: E741 - all eigenvalues repeated: naive autodiff through eigh gives NaN
    f = lambda a: fn(a, backward=backward, **kw)  # noqa: E731
    g = jax.grad(lambda a: jnp.sum(jnp.asarray(G) * f(a)))(I)
    sign = -1.0 if inverse else 1.0
    tol = 100 * float(np.finfo(np.float64).eps)
    np.testing.assert_allclose(np.asarray(g), sign * (G + G.T) / 4, atol=tol)
    d1 = lambda t: jax.jvp(lambda s: f(I + s * E), (t,), (1.0,))[1]  # noqa: E731
    d2 = jax.jvp(d1, (0.0,), (1.0,))[1]
    np.testing.assert_allclose(
        np.asarray(d2), (0.75 if inverse else -0.25) * np.asarray(E @ E), atol=tol * 10
    )
    # reverse over forward too (the gradient of a directional derivative)
    hv = jax.grad(lambda a: jnp.sum(E * jax.jvp(f, (a,), (E,))[1]))(I)
    assert bool(jnp.all(jnp.isfinite(hv)))


@pytest.mark.xfail(
    strict=True,
    reason="known limitation: reverse mode inside (jax.hessian = jacfwd(jacrev)) "
    "differentiates the eigenvectors of the exact backward; NaN at repeated eigenvalues",
)
def test_hessian_of_exact_backward_at_repeated_eigenvalues():
    H = jax.hessian(lambda a: matsqrt.sqrtm(a, method="eigh").sum())(jnp.eye(3))
    assert bool(jnp.all(jnp.isfinite(H)))


def test_jit_and_vmap():
    A = jnp.asarray(random_spd((3, 5), COND, seed=3))
    tol = root_tolerance(np.float64, COND, inverse=True)
    for fn in ROOTS:
        Y = fn(A)
        assert rel_error(np.asarray(jax.jit(fn)(A)), np.asarray(Y)) <= tol
        assert rel_error(np.asarray(jax.vmap(fn)(A)), np.asarray(Y)) <= tol
        assert rel_error(np.asarray(jax.jit(jax.vmap(fn))(A)), np.asarray(Y)) <= tol
    loss = lambda a: jnp.sum(matsqrt.invsqrtm(a) ** 2)  # noqa: E731
    g = jax.grad(loss)(A)
    # XLA fuses and reorders under jit: rounding amplified by cond Q(A/s) of the Padé form
    assert rel_error(np.asarray(jax.jit(jax.grad(loss))(A)), np.asarray(g)) <= COND * tol
    assert rel_error(np.asarray(jax.vmap(jax.grad(loss))(A)), np.asarray(g)) <= COND * tol
    # vmap over only some operands of the sign-function solvers (adaptive iteration off)
    B = jnp.asarray(random_spd(5, COND, seed=8))
    C = jnp.asarray(np.random.default_rng(2).standard_normal((3, 5, 5)))
    X = jax.vmap(lambda c: matsqrt.solve_sylvester(A[0], B, c))(C)
    assert rel_error(np.asarray(X), np.asarray(matsqrt.solve_sylvester(A[0], B, C))) <= 1e-10
    Y0 = matsqrt.sqrtm(A[0])
    V = jax.vmap(lambda c: matsqrt.sqrtm_vjp(Y0, c))(C)
    assert rel_error(np.asarray(V), np.asarray(matsqrt.sqrtm_vjp(jnp.broadcast_to(Y0, C.shape), C))) <= 1e-10


def test_value_checks_run_on_concrete_values_only():
    A = jnp.asarray(random_spd((2, 4), COND, seed=6))
    bad = A.at[0, 0, 0].set(jnp.nan)
    jax.jit(matsqrt.sqrtm)(bad)  # traced abstractly: check skipped (documented), no error
    with pytest.raises(ValueError, match="NaN"):
        matsqrt.sqrtm(bad)  # concrete: checked
    with pytest.raises(ValueError, match="NaN"):
        jax.grad(lambda a: matsqrt.sqrtm(a).sum())(bad)  # grad outside jit: values are concrete
    # tol under tracing: Hermitian input by Zolotarev's method (a plan from the dtype), general
    # input by the Denman–Beavers iteration (a fixed step count)
    ref = matsqrt.sqrtm(A, method="eigh")
    for transform in (jax.jit, jax.vmap):
        assert rel_error(transform(lambda a: matsqrt.sqrtm(a, tol=1e-8))(A), ref) <= 2e-8
        assert rel_error(transform(lambda a: matsqrt.sqrtm(a, tol=1e-8, hermitian=False))(A), ref) <= 2e-8


def test_tol_under_grad_outside_jit():
    fn = matsqrt.invsqrtm
    A = random_spd((2, 5), 1e3, seed=9)
    G = np.random.default_rng(3).standard_normal(A.shape)
    ref = VJPS[fn](fn(A, method="eigh"), G, backward="eigh")
    for backward in ("rational", "lyapunov"):
        g = jax.grad(lambda a, bw=backward: jnp.sum(jnp.asarray(G) * fn(a, tol=1e-10, backward=bw)))(
            jnp.asarray(A)
        )
        # tol is relative to the result; the gradient carries the condition number once more
        assert rel_error(np.asarray(g), ref) <= 1e-10 * 1e3, backward
