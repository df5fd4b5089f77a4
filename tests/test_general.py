"""General (``hermitian=False``) matrices on their whole domain: no eigenvalue on the closed
negative real axis. The right root, an ``AccuracyWarning`` with the result, or NaN where values
cannot be inspected -- never a finite wrong answer in silence.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp
from hypothesis import given
from hypothesis import strategies as st

import matsqrt
from matsqrt.testing import random_spd, rel_error

scipy_linalg = pytest.importorskip("scipy.linalg")


def _lazy(xp) -> bool:
    return "dask" in xp.__name__


def _rotation(theta: float, r: float = 1.0) -> np.ndarray:
    """``r`` times the rotation by ``theta``: eigenvalues ``r exp(+-i theta)``."""
    c, s = np.cos(theta), np.sin(theta)
    return r * np.array([[c, -s], [s, c]])


def _ref(A: np.ndarray, inverse: bool) -> np.ndarray:
    Y = np.stack([scipy_linalg.sqrtm(M) for M in A.reshape(-1, *A.shape[-2:])]).reshape(A.shape)
    if np.isrealobj(A):
        Y = Y.real
    return np.linalg.inv(Y) if inverse else Y


def _random_general(n: int, seed: int, *, angle: float, cond: float = 10.0) -> np.ndarray:
    """A non-normal real matrix whose eigenvalues have arguments up to ``angle``, moduli in [1/cond, 1]."""
    rng = np.random.default_rng(seed)
    k = n // 2
    mod = np.geomspace(1.0, 1.0 / cond, k)
    th = rng.uniform(-angle, angle, k)
    D = np.zeros((n, n))
    for i in range(k):  # real 2x2 blocks for the conjugate pairs
        D[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = _rotation(th[i], mod[i])
    if n % 2:
        D[-1, -1] = 0.5
    V = np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    return V @ D @ np.linalg.inv(V)


# -- the general root reaches tol on the whole domain ---------------------------------------


@pytest.mark.parametrize("c", [0.1, 1e-2, 1e-4])
@pytest.mark.parametrize("fn", ["sqrtm", "invsqrtm"])
def test_tol_reached_near_the_imaginary_axis(xp, c, fn):
    """Eigenvalues c +- i (normal): tol=1e-10 reached for c down to 1e-4."""
    A = np.array([[c, -1.0], [1.0, c]])
    out = to_np(getattr(matsqrt, fn)(to_xp(xp, A), hermitian=False, tol=1e-10))
    assert rel_error(out, _ref(A, fn == "invsqrtm")) <= 1e-10


@pytest.mark.parametrize("angle", [0.3, 0.49, 0.8, 0.95])
def test_tol_reached_on_random_spectra(xp, angle):
    """Random non-normal matrices with eigenvalue arguments up to angle * pi (beyond pi/2: the
    left half-plane, still in the domain)."""
    A = np.stack([_random_general(6, s, angle=angle * np.pi, cond=100.0) for s in range(3)])
    for fn in ("sqrtm", "invsqrtm"):
        out = to_np(getattr(matsqrt, fn)(to_xp(xp, A), hermitian=False, tol=1e-10))
        assert rel_error(out, _ref(A, fn == "invsqrtm")) <= 1e-9, fn


def test_auto_is_accurate_for_general_input(xp):
    """method="auto" promises the dtype's accuracy: the 1x1 of SciPy's tests that Padé missed."""
    A = np.array([[[-1.5773 + 1.0311j]]])
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False, method="auto"))
    assert rel_error(out, np.sqrt(A)) <= 1e-14


def test_default_normalisation_cannot_blow_up(xp):
    """|trace|/n is 1e-4 against eigenvalues of modulus 1: the default's scale must not follow it."""
    A = np.array([[1e-4, -1.0], [1.0, 1e-4]])
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False))
    assert rel_error(out, _ref(A, False)) <= 1e-3  # Padé [5/5] at eigenvalue arguments of pi/2


# -- far-off results warn (eager) or become NaN (traced, Dask) ------------------------------


@pytest.mark.parametrize("method", ["pade", "taylor", "newton_schulz"])
def test_non_converging_method_warns(xp, method):
    """A rotation by 0.8 pi: Padé [5/5] is 6e-2 off, Taylor and Newton–Schulz diverge."""
    A = np.stack([np.eye(2), _rotation(0.8 * np.pi)])
    if _lazy(xp):
        out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False, method=method))
        assert np.all(np.isnan(out[1])) or rel_error(out[1], _ref(A[1:], False)[0]) <= 1e-1
        assert rel_error(out[0], np.eye(2)) <= 1e-6
        return
    with pytest.warns(matsqrt.AccuracyWarning, match="at batch index 1 is ") as rec:
        out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False, method=method))
    msg = next(str(w.message) for w in rec if issubclass(w.category, matsqrt.AccuracyWarning))
    estimate = float(msg.split("off by about ")[1].split(" ")[0]) if "off by about" in msg else np.inf
    true = rel_error(out[1], _ref(A[1:], False)[0])
    assert true > 1e-2
    if estimate < 0.5:  # a diverging iteration's residual grows faster than its error
        assert estimate / 3 <= true <= 3 * estimate
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False, tol=1e-8))
    assert rel_error(Y, _ref(A, False)) <= 1e-8


def test_converging_default_is_quiet(xp):
    A = random_spd((2, 5), 20.0, seed=1) @ random_spd((2, 5), 20.0, seed=2)  # a Fréchet product
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False))
    assert rel_error(out, _ref(A, False)) <= 2e-2  # the warning's threshold (1e-2) within 2x


def test_traced_far_off_result_is_nan():
    """Under jax.jit / torch.compile the spectrum is not checked: sqrtm(-I) has no principal root,
    and its residual makes the result NaN; its batch-mate is exact."""
    A = np.stack([-np.eye(3), 4 * np.eye(3)])
    outs = []
    try:
        import jax
        import jax.numpy as jnp

        outs.append(np.asarray(jax.jit(lambda a: matsqrt.sqrtm(a, hermitian=False))(jnp.asarray(A))))
    except ImportError:
        pass
    try:
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dynamo's own notes
            fn = torch.compile(lambda a: matsqrt.sqrtm(a, hermitian=False))
            outs.append(fn(torch.asarray(A)).numpy())
    except ImportError:
        pass
    if not outs:
        pytest.skip("neither JAX nor torch is installed")
    for out in outs:
        assert np.all(np.isnan(out[0]))
        np.testing.assert_allclose(out[1], 2 * np.eye(3), rtol=1e-6, atol=1e-6)


# -- gradients converge wherever the forward does --------------------------------------------


def _sylvester_grad(A: np.ndarray, G: np.ndarray, inverse: bool) -> np.ndarray:
    """dL/dA for L = <G, A^(+-1/2)> (real input): Y^T L + L Y^T = G with Y = A^(1/2)."""
    Y = _ref(A, False)
    if inverse:
        Z = np.linalg.inv(Y)
        G = -(Z.T @ G @ Z.T)
    return scipy_linalg.solve_sylvester(Y.T, Y.T, G)


@pytest.mark.parametrize("theta", [0.3, 0.6, 0.9])
@pytest.mark.parametrize("inverse", [False, True])
def test_gradient_beyond_half_pi(theta, inverse):
    """The sign-iteration gradient diverged for eigenvalue arguments beyond pi/2 (+-3e59 under
    jax.jit, NaN eagerly): Newton's iteration converges for every root's spectrum."""
    A = _rotation(theta * np.pi, 2.0) + 0.1 * np.array([[0.0, 1.0], [0.0, 0.0]])
    G = np.array([[1.0, 2.0], [0.5, -1.0]])
    ref = _sylvester_grad(A, G, inverse)
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    grads = {}
    try:
        import torch

        At = torch.tensor(A, requires_grad=True)
        (fn(At, hermitian=False, tol=1e-12) * torch.tensor(G)).sum().backward()
        grads["torch"] = At.grad.numpy()
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        if jax.config.jax_enable_x64:

            def loss(a):
                return jnp.sum(fn(a, hermitian=False, method="denman_beavers") * G)

            grads["jax"] = np.asarray(jax.grad(loss)(jnp.asarray(A)))
            grads["jax.jit"] = np.asarray(jax.jit(jax.grad(loss))(jnp.asarray(A)))
    except ImportError:
        pass
    _, vjp = (matsqrt.invsqrtm_and_vjp if inverse else matsqrt.sqrtm_and_vjp)(A, hermitian=False, tol=1e-12)
    grads["numpy"] = vjp(G)
    for name, g in grads.items():
        assert rel_error(g, ref) <= 1e-9, name


# -- property: random general matrices near the boundary of the domain ------------------------


@given(
    seed=st.integers(0, 2**16),
    angle=st.floats(0.05, 0.97),
    cond=st.sampled_from([1.0, 1e2, 1e4]),
    n=st.integers(2, 7),
)
def test_property_general_root(seed, angle, cond, n):
    """NumPy: tol=1e-8 is reached (within the conditioning), or an AccuracyWarning says why;
    the default is right to its warning threshold, or warns."""
    A = _random_general(n, seed, angle=angle * np.pi, cond=cond)
    ref = _ref(A, False)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        Y = matsqrt.sqrtm(A, hermitian=False, tol=1e-8)
    warned = any(issubclass(w.category, matsqrt.AccuracyWarning) for w in rec)
    assert warned or rel_error(Y, ref) <= 1e-8 * max(1.0, np.linalg.cond(A)) ** 0.5
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        Y = matsqrt.sqrtm(A, hermitian=False)
    warned = any(issubclass(w.category, matsqrt.AccuracyWarning) for w in rec)
    assert warned or rel_error(Y, ref) <= 5e-2


# -- the solvers' precondition ---------------------------------------------------------------


def test_solvers_refuse_or_nan_outside_the_right_half_plane(xp):
    A = -2 * np.eye(2)
    Q = np.eye(2)
    if _lazy(xp):
        assert np.all(np.isnan(to_np(matsqrt.solve_lyapunov(to_xp(xp, A), to_xp(xp, Q)))))
        return
    with pytest.raises(ValueError, match="open right half-plane"):
        matsqrt.solve_lyapunov(to_xp(xp, A), to_xp(xp, Q))
    with pytest.raises(ValueError, match=r"^B has an eigenvalue"):
        matsqrt.solve_sylvester(to_xp(xp, np.eye(2)), to_xp(xp, A), to_xp(xp, Q))


def test_solver_near_the_imaginary_axis(xp):
    """Eigenvalues 1 +- 3i (Newton–Schulz diverged to 1e197 here)."""
    A = np.array([[1.0, 3.0], [-3.0, 1.0]])
    Q = np.eye(2)
    X = to_np(matsqrt.solve_lyapunov(to_xp(xp, A), to_xp(xp, Q)))
    assert rel_error(X, scipy_linalg.solve_continuous_lyapunov(A, Q)) <= 1e-12


def test_traced_solver_outside_the_domain_is_nan():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    out = jax.jit(matsqrt.solve_lyapunov)(-2 * jnp.eye(2), jnp.eye(2))
    assert np.all(np.isnan(np.asarray(out)))
