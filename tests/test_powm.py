"""powm: fractional powers A^p against mpmath (coefficients), SciPy and eigh (values), autodiff."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp
from hypothesis import given
from hypothesis import strategies as st

import matsqrt
from matsqrt._core import Ops
from matsqrt._core._coefficients import (
    fraction_error,
    pade_error_bound,
    pade_order_for,
    pade_partial_fractions,
)
from matsqrt._core._derivatives import daleckii_krein
from matsqrt.testing import random_spd, rel_error

#: the powers the issue names, and a few more (p = +-1/2 are the square roots)
POWERS = (0.25, -0.25, 1 / 3, -1 / 8, 0.7, -0.9, 0.05)
X_SAMPLES = (1e-4, 0.01, 0.3, 0.9, 1.0, 1.7, 2.5, 40.0, 1e4)


def eigh_power(A: np.ndarray, p: float) -> np.ndarray:
    """A^p by a float64 (complex128) eigendecomposition."""
    w, V = np.linalg.eigh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    return (V * np.clip(w, 0, None)[..., None, :] ** p) @ np.conj(np.swapaxes(V, -1, -2))


def power_tolerance(dtype, cond: float, p: float, factor: float = 50.0) -> float:
    """Rounding-level relative error of A^p: eps times the conditioning of x^p on [1/cond, 1]."""
    eps = float(np.finfo(dtype).eps)
    return factor * eps * max(cond, 1.0) ** (abs(p) if p < 0 else abs(p) / 2) * (1 + math.log(max(cond, 1)))


# -- coefficients ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mp():
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(100):
        yield mpmath


@pytest.mark.parametrize("q", [0.05, 0.25, 1 / 3, 0.7, 0.875, 0.95])
@pytest.mark.parametrize("m", [1, 2, 5, 8, 13])
def test_radau_fractions_are_the_pade_approximant(mp, q, m):
    """c + sum a_k / (x + d_k) is mpmath's [m/m] Padé approximant of x^(-q) at x = 1, all terms positive."""
    c, d, a = pade_partial_fractions(m, q)
    assert len(d) == len(a) == m
    assert c > 0 and all(dk > 0 for dk in d) and all(ak > 0 for ak in a)
    assert list(d) == sorted(d)
    series = mp.taylor(lambda z: (1 - z) ** (-mp.mpf(q)), 0, 2 * m)
    P, Q = mp.pade(series, m, m)
    for x in X_SAMPLES:
        exact = mp.polyval(P[::-1], 1 - mp.mpf(x)) / mp.polyval(Q[::-1], 1 - mp.mpf(x))
        ours = c + math.fsum(ak / (x + dk) for ak, dk in zip(a, d, strict=True))
        assert abs(ours - float(exact)) <= 8e-16 * m * abs(float(exact)), (x, ours, exact)


@pytest.mark.parametrize("m", [1, 2, 5, 10, 30, 64])
def test_radau_fractions_reproduce_the_square_root_closed_form(m):
    """At q = 1/2 the Gauss–Radau construction gives the closed-form Padé coefficients (to a few ulps)."""
    c0, d0, a0 = pade_partial_fractions(m)
    near = float(np.nextafter(0.5, 1.0))  # forces the general construction
    c, d, a = pade_partial_fractions(m, near)
    assert abs(c / c0 - 1) <= 1e-14
    np.testing.assert_allclose(d, d0, rtol=1e-14)
    np.testing.assert_allclose(a, a0, rtol=1e-14)


@pytest.mark.parametrize("q", [0.125, 0.25, 0.75])
@pytest.mark.parametrize("m", [1, 3, 5, 10])
@pytest.mark.parametrize("cond", [1.5, 1e2, 1e4, 1e8])
def test_error_bound_is_the_worst_case_and_orders_minimal(mp, q, m, cond):
    """pade_error_bound is the largest error on [cond^-1/2, cond^1/2]; pade_order_for the smallest m reaching tol."""
    xs = np.geomspace(cond**-0.5, cond**0.5, 41)
    errs = [abs(fraction_error(m, q, float(x))) for x in xs]
    bound = pade_error_bound(m, cond, q)
    assert max(errs) <= bound * (1 + 1e-12) + 1e-15  # rounding of the float evaluation
    assert bound == pytest.approx(max(errs[0], errs[-1]), abs=1e-15)
    # against mpmath's x^-q (the float error evaluation is right)
    x = float(xs[-1])
    c, d, a = pade_partial_fractions(m, q)
    r = mp.mpf(c) + sum(mp.mpf(ak) / (x + mp.mpf(dk)) for ak, dk in zip(a, d, strict=True))
    assert float(abs(r * mp.mpf(x) ** q - 1)) == pytest.approx(errs[-1], rel=1e-9, abs=1e-15)
    for tol in (1e-3, 1e-8):
        k = pade_order_for(tol, cond, max_order=100, q=q)
        assert k == 100 or pade_error_bound(k, cond, q) <= tol  # 100: out of reach (cond 1e8)
        assert k == 1 or pade_error_bound(k - 1, cond, q) > tol


def test_divided_differences_have_no_cancellation(mp):
    """daleckii_krein's (w_i^p - w_j^p) / (w_i - w_j) to a few ulps, also for nearly equal w."""
    w = np.array([1e-30, 1e-8, 1.0, 1.0 + 1e-12, 1.0 + 1e-6, 3.0, 1e20])
    n = w.size
    for p in (0.3, -0.25, 0.7, -0.9, 0.01, 0.5, -0.5):
        for i in range(n):
            T = np.zeros((n, n))
            T[i, :] = 1
            D = daleckii_krein(T, w, np.eye(n), p, Ops(np))[i]
            for j in range(n):
                wi, wj = mp.mpf(w[i]), mp.mpf(w[j])
                exact = p * wi ** (p - 1) if w[i] == w[j] else (wi**p - wj**p) / (wi - wj)
                assert abs(D[j] / float(exact) - 1) <= 5e-14, (p, w[i], w[j])


# -- values ------------------------------------------------------------------------


@pytest.mark.parametrize("p", POWERS)
@pytest.mark.parametrize("cond", [1.0, 1e2, 1e4, 1e6])
def test_against_scipy_fractional_matrix_power(p, cond):
    """tol=1e-12 and method="eigh" agree with scipy.linalg.fractional_matrix_power to rounding."""
    sl = pytest.importorskip("scipy.linalg")
    A = random_spd((3, 12), cond, seed=int(cond) % 97)
    scipy_ref = np.stack([sl.fractional_matrix_power(a, p) for a in A]).real
    ref = eigh_power(A, p)
    tol = power_tolerance(np.float64, cond, p)
    # SciPy's Schur–Padé algorithm is itself accurate to about eps cond^(1/2) (measured 6.5e-13 at
    # cond 1e4, p = -1/8, where eigh differs from mpmath's by 1e-14)
    scipy_tol = 50 * np.finfo(np.float64).eps * cond**0.5 * (1 + math.log(cond))
    assert rel_error(ref, scipy_ref) <= scipy_tol  # the two references agree
    assert rel_error(matsqrt.powm(A, p, method="eigh"), ref) <= tol
    assert rel_error(matsqrt.powm(A, p, method="eigh"), scipy_ref) <= scipy_tol
    with warnings.catch_warnings():  # the worst-case eigh floor may exceed 1e-12 (a warning)
        warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
        Y = matsqrt.powm(A, p, tol=1e-12)
    # p = +-1/4 is Zolotarev's method on the square root: two roots' rounding
    stages = 2 if abs(p) == 0.25 else 1
    assert rel_error(Y, ref) <= stages * max(4e-12, tol)
    assert rel_error(Y, scipy_ref) <= stages * max(4e-12, scipy_tol)


@pytest.mark.parametrize("p", POWERS)
@pytest.mark.parametrize("cond", [10.0, 1e3])
@pytest.mark.parametrize("m", [3, 5, 9])
def test_default_error_is_the_scalar_approximants(p, cond, m):
    """Order m: the error is the scalar approximant's at the normalised eigenvalues (and reaches it)."""
    A = random_spd((2, 10), cond, seed=m, spectrum="linear")
    ref = eigh_power(A, p)
    w = np.linalg.eigvalsh(A)
    s = w.sum(axis=-1, keepdims=True) / w.shape[-1]  # the mean eigenvalue
    q = -p if p < 0 else 1 - p
    e = np.vectorize(lambda x: fraction_error(m, q, x))(w / s)
    # the error of eigenvalue i relative to the largest |w^p|: the Frobenius error lies in between
    scale = np.abs(w) ** p
    hi = np.sqrt(np.sum((e * scale) ** 2, axis=-1) / np.sum(scale**2, axis=-1)).max()
    err = rel_error(matsqrt.powm(A, p, order=m), ref)
    assert err <= hi * 1.01 + power_tolerance(np.float64, cond, p)
    assert err >= hi * 0.99 - power_tolerance(np.float64, cond, p)


@pytest.mark.parametrize("method", ["pade", "taylor", "newton_schulz", "eigh", "auto"])
def test_half_powers_are_the_square_roots(method):
    A = random_spd((2, 8), 30.0, seed=4)  # (the default is within 1e-2 here: no warning)
    assert np.array_equal(matsqrt.powm(A, 0.5, method=method), matsqrt.sqrtm(A, method=method))
    assert np.array_equal(matsqrt.powm(A, -0.5, method=method), matsqrt.invsqrtm(A, method=method))
    # and the general construction at p next to 1/2 agrees to the approximation
    near = float(np.nextafter(0.5, 0.0))
    if method in ("pade", "eigh"):
        kw = {"order": 5} if method == "pade" else {}
        # (sqrtm's order 5 is the product form: the same approximant, other rounding)
        assert (
            rel_error(matsqrt.powm(A, near, method=method, **kw), matsqrt.sqrtm(A, method=method, **kw))
            <= 1e-12
        )


@pytest.mark.parametrize("p", [0.25, -0.25, 0.7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_backends_dtypes_and_batches(xp, p, dtype):
    """Every backend, real and complex Hermitian, batched: tol reaches the dtype's accuracy."""
    A = random_spd((2, 3, 9), 50.0, dtype=dtype, seed=5)
    ref = eigh_power(A, p)
    Ax = to_xp(xp, A)
    eps_tol = power_tolerance(dtype, 50.0, p)
    Y = matsqrt.powm(Ax, p, method="eigh") if "dask" not in xp.__name__ else matsqrt.powm(Ax, p, order=12)
    out = to_np(Y)
    assert out.dtype == dtype and out.shape == A.shape
    assert rel_error(out, ref) <= (eps_tol if "dask" not in xp.__name__ else 2e-5 + eps_tol)
    out = to_np(matsqrt.powm(Ax, p, order=12))
    assert rel_error(out, ref) <= 2e-5 + eps_tol  # order 12 at cond 50 (scalar bound 1.1e-6)
    np.testing.assert_allclose(out, np.conj(np.swapaxes(out, -1, -2)), atol=eps_tol)  # Hermitian


def test_singular_semidefinite_positive_powers():
    """p > 0 allows singular PSD input (eigh exact; Padé reduced accuracy near 0); p < 0 refuses it."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((2, 8, 5))
    A = X @ np.swapaxes(X, -1, -2)  # rank 5 of 8
    ref = eigh_power(A, 0.25)
    with np.errstate(all="ignore"):
        assert rel_error(matsqrt.powm(A, 0.25, method="eigh"), ref) <= 1e-3  # eps^(1/4)-limited
    with pytest.warns(matsqrt.AccuracyWarning, match="predicted to be off"):  # the default, near 0
        assert np.all(np.isfinite(matsqrt.powm(A, 0.25)))
    with pytest.raises(ValueError, match="singular"):
        matsqrt.powm(A, -0.25)


def test_nonhermitian_input():
    """hermitian=False: general matrices with eigenvalues in the right half-plane, vs SciPy."""
    sl = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(7)
    A = np.eye(6) * 3 + rng.standard_normal((6, 6)) * 0.5
    for p in (0.25, -1 / 3, 0.7):
        ref = sl.fractional_matrix_power(A, p).real
        assert rel_error(matsqrt.powm(A, p, hermitian=False, tol=1e-13), ref) <= 1e-11


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "exc", "match"),
    [
        (math.nan, ValueError, "finite real number"),
        (math.inf, ValueError, "finite real number"),
        (True, TypeError, "real number"),
        (0.5j, TypeError, "real number"),
        ("0.25", TypeError, "real number"),
        (np.array([0.25j]), TypeError, "real numbers"),
    ],
)
def test_bad_exponents(p, exc, match):
    with pytest.raises(exc, match=match.replace("|", r"\|")):
        matsqrt.powm(np.eye(2), p)


def test_exponent_types():
    A = random_spd(4, 10.0)
    ref = matsqrt.powm(A, 0.25)
    for p in (np.float32(0.25), np.float64(0.25), np.array(0.25)):
        assert np.array_equal(matsqrt.powm(A, p), ref)


@pytest.mark.parametrize("kw", [{"method": "taylor"}, {"method": "newton_schulz"}, {"backward": "lyapunov"}])
def test_square_root_only_options_are_refused(kw):
    with pytest.raises(
        ValueError, match=r"exists for the square roots \(p = \+-1/2\) only; for other p powm takes"
    ):
        matsqrt.powm(np.eye(3), 0.25, **kw)
    matsqrt.powm(np.eye(3), 0.5, **kw)  # the square roots have them


def test_bad_input_is_refused_as_for_sqrtm():
    with pytest.raises(ValueError, match=r"not positive semidefinite .* no real principal power A\^0.25"):
        matsqrt.powm(np.diag([1.0, -1.0]), 0.25)
    with pytest.raises(ValueError, match=r"singular .* its power A\^-0.25 does not exist"):
        matsqrt.powm(np.diag([1.0, 0.0]), -0.25)
    with pytest.raises(ValueError, match="not Hermitian"):
        matsqrt.powm(np.array([[1.0, 2.0], [0.0, 1.0]]), 0.25)
    with pytest.raises(ValueError, match="NaN or Inf"):
        matsqrt.powm(np.array([[np.nan, 0.0], [0.0, 1.0]]), -0.25)
    assert matsqrt.powm(np.zeros((0, 3, 3)), 0.3).shape == (0, 3, 3)
    np.testing.assert_array_equal(matsqrt.powm(np.zeros((2, 2)), 0.3), np.zeros((2, 2)))


# -- gradients -----------------------------------------------------------------------


def _sym(a):
    return (a + a.mT) / 2


@pytest.mark.parametrize("p", [0.3, -0.3])
@pytest.mark.parametrize("kw", [{"tol": 1e-13}, {"method": "eigh"}], ids=["pade", "eigh"])
def test_torch_gradcheck_and_gradgradcheck(p, kw):
    torch = pytest.importorskip("torch")
    A = torch.tensor(random_spd((2, 4), 10, seed=1), requires_grad=True)

    def f(a):
        return matsqrt.powm(_sym(a), p, **kw)

    assert torch.autograd.gradcheck(f, (A,))
    assert torch.autograd.gradgradcheck(f, (A,))


@pytest.mark.parametrize("p", [0.25, -0.25, 0.8])
def test_rational_backward_against_the_exact_gradient(p):
    """The default's gradient (the approximant's derivative) is within its approximation error of eigh's."""
    torch = pytest.importorskip("torch")
    A = torch.tensor(random_spd((3, 6), 20, seed=2), requires_grad=True)
    G = torch.tensor(np.random.default_rng(0).standard_normal((3, 6, 6)))
    grads = {}
    for name, kw in {"exact": {"method": "eigh"}, "order5": {}, "tol": {"tol": 1e-12}}.items():
        (grads[name],) = torch.autograd.grad(matsqrt.powm(A, p, **kw), A, G)
    assert rel_error(grads["tol"].numpy(), grads["exact"].numpy()) <= 1e-10
    assert rel_error(grads["order5"].numpy(), grads["exact"].numpy()) <= 5e-3  # order 5 at cond 20
    # eigh backward vs torch's own autograd through torch.linalg.eigh (distinct eigenvalues)
    w, V = torch.linalg.eigh(A)
    (naive,) = torch.autograd.grad((V * w[..., None, :] ** p) @ V.mT, A, G)
    assert rel_error(grads["exact"].numpy(), _sym(naive).numpy()) <= 1e-10


def test_gradient_finite_at_repeated_eigenvalues():
    """At A = I every backward gives p * herm(G), where autograd through eigh gives NaN."""
    torch = pytest.importorskip("torch")
    G = torch.tensor(np.random.default_rng(1).standard_normal((4, 4)))
    for kw in ({}, {"method": "eigh"}):
        A = torch.eye(4, dtype=torch.float64, requires_grad=True)
        (gA,) = torch.autograd.grad(matsqrt.powm(A, -0.25, **kw), A, G)
        torch.testing.assert_close(gA, -0.25 * _sym(G), atol=1e-12, rtol=0)


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch-internal (dynamo, inductor)
def test_torch_vmap_and_compile():
    torch = pytest.importorskip("torch")
    A = torch.tensor(random_spd((3, 5), 10, seed=3))
    ref = matsqrt.powm(A, -0.25, order=7)
    out = torch.func.vmap(lambda a: matsqrt.powm(a, -0.25, order=7))(A)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    g = torch.func.grad(lambda a: matsqrt.powm(a, 0.3, method="eigh").sum())(A[0])
    assert torch.all(torch.isfinite(g))
    compiled = torch.compile(lambda a: matsqrt.powm(a, -0.25, order=7), fullgraph=True)
    torch.testing.assert_close(compiled(A), ref, atol=1e-12, rtol=0)
    Ag = A.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(compiled(Ag).sum(), Ag)
    (g_eager,) = torch.autograd.grad(matsqrt.powm(Ag, -0.25, order=7).sum(), Ag)
    torch.testing.assert_close(g, g_eager, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kw", [{"order": 9}, {"method": "eigh"}], ids=["pade", "eigh"])
def test_jax_grad_jvp_jit_vmap(kw):
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    A = random_spd((2, 6), 30, seed=8)
    G = np.random.default_rng(2).standard_normal((2, 6, 6))
    for p in (0.25, -0.25):

        def loss(a, p=p):
            return jnp.sum(matsqrt.powm(a, p, **kw) * G)

        g = jax.grad(loss)(jnp.asarray(A))
        np.testing.assert_allclose(jax.jit(jax.grad(loss))(jnp.asarray(A)), g, atol=1e-12)
        At = torch.tensor(A, requires_grad=True)
        (gt,) = torch.autograd.grad(matsqrt.powm(At, p, **kw), At, torch.tensor(G))
        np.testing.assert_allclose(np.asarray(g), gt.numpy(), atol=1e-10)
        # jvp against a central difference
        E = np.asarray(_sym(torch.tensor(G)))
        _, t = jax.jvp(lambda a, p=p: matsqrt.powm(a, p, **kw), (jnp.asarray(A),), (jnp.asarray(E),))
        h = 1e-6
        fd = (to_np(matsqrt.powm(A + h * E, p, **kw)) - to_np(matsqrt.powm(A - h * E, p, **kw))) / (2 * h)
        assert rel_error(np.asarray(t), fd) <= 1e-5  # order 9: the approximant (s held fixed) is 1e-7 off
        v = jax.vmap(lambda a, p=p: matsqrt.powm(a, p, **kw))(jnp.asarray(A))
        np.testing.assert_allclose(v, matsqrt.powm(A, p, **kw), atol=1e-12)
    # second order through the eigh rule (general powers go through the eigendecomposition)
    H = jax.hessian(lambda a: jnp.sum(matsqrt.powm(a, 0.3, **kw)[0] ** 2))(jnp.asarray(A[1]))
    assert bool(jnp.all(jnp.isfinite(H)))


@pytest.mark.parametrize("p", [0.25, -0.25, 0.7, -0.9, 0.05])
def test_product_form_is_the_same_approximant(p):
    """The default (order <= 5, Hermitian) evaluates Q^-1 P with one inverse: the partial fractions' values
    and rational gradient, to rounding."""
    import array_api_compat.numpy as xp

    from matsqrt._core import Options, forward, vjp
    from matsqrt.backends._numpy import NumpyOps

    A = random_spd((3, 16), 30.0, seed=11)
    G = np.random.default_rng(3).standard_normal(A.shape)

    def options(form: str) -> Options:
        return Options(
            inverse=p < 0,
            method="pade",
            order=5,
            backward="rational",
            bwd_iters=None,
            hermitian=True,
            scaling="mean",
            pade_form=form,
            power=abs(p),
        )

    out = {}
    for form in ("product", "fractions"):
        ops = NumpyOps(xp)
        Y, res = forward(A, options(form), ops)
        out[form] = (Y, vjp(G, A, Y, res, options(form), ops))
    assert rel_error(out["product"][0], out["fractions"][0]) <= 1e-12
    assert rel_error(out["product"][1], out["fractions"][1]) <= 1e-10  # cond Q(X) ~ 1e3 here
    # the default for q <= PRODUCT_MAX_Q; nearer q = 1 the partial fractions (more accurate there)
    from matsqrt._core._forward import PRODUCT_MAX_Q

    q = -p if p < 0 else 1 - p
    default = options("product" if q <= PRODUCT_MAX_Q else "fractions")
    # (powm has no backward to follow: the forward without residuals, which solves with Q(X))
    assert rel_error(forward(A, default, NumpyOps(xp), residuals=False)[0], matsqrt.powm(A, p)) == 0


# -- properties ---------------------------------------------------------------------


@given(
    p=st.floats(0.02, 0.98).flatmap(lambda a: st.sampled_from([a, -a])),
    n=st.integers(1, 12),
    batch=st.sampled_from([(), (2,), (2, 3)]),
    log_cond=st.floats(0.0, 6.0),
    dtype=st.sampled_from([np.float32, np.float64, np.complex128]),
    method=st.sampled_from(["pade", "eigh", "auto"]),
    seed=st.integers(0, 2**16),
)
def test_property_tol_reaches_the_dtype(xp, p, n, batch, log_cond, dtype, method, seed):
    """powm with tol (any p, shape, batch, dtype, conditioning, backend) matches the exact power to the
    accuracy the dtype allows at that conditioning; the result keeps type, shape and dtype, and
    is Hermitian."""
    if "dask" in xp.__name__:
        return  # tol needs values (Dask: order=, tested above)
    cond = 10.0**log_cond if np.dtype(dtype).itemsize > 4 else 10.0 ** min(log_cond, 3.0)
    A = random_spd((*batch, n), cond, dtype=dtype, seed=seed)
    tol = 1e-5 if dtype == np.float32 else 1e-11
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matsqrt.AccuracyWarning)  # worst-case floors may warn
        out = to_np(matsqrt.powm(to_xp(xp, A), p, tol=tol, method=method))
    assert out.shape == A.shape and out.dtype == dtype
    limit = max(4 * tol, power_tolerance(dtype, cond, p, factor=100))
    assert rel_error(out, eigh_power(A, p)) <= limit
    np.testing.assert_allclose(
        out, np.conj(np.swapaxes(out, -1, -2)), atol=limit * max(1.0, np.abs(out).max())
    )


@pytest.mark.parametrize("scale", [1e18, 1e-18])
def test_eigh_vjp_of_roots_near_the_range_ends(scale):
    """sqrtm_vjp(..., backward="eigh") works from the roots themselves: squaring them to
    eigenvalues would overflow (or underflow) float32 here."""
    Y = np.diag([scale, 1.0]).astype(np.float32)
    G = np.eye(2, dtype=np.float32)
    g = matsqrt.sqrtm_vjp(Y, G, backward="eigh")
    np.testing.assert_allclose(np.diag(g), [1 / (2 * scale), 0.5], rtol=1e-6)


@pytest.mark.parametrize("p", [1e-8, 1e-4, -1e-4])
def test_small_power_tol_holds_for_the_gradient(p):
    """A^p = I + p log A + ...: tol relative to A^p allowed an order whose derivative was 0.44 off
    at p = 1e-8, tol=1e-6; the order now aims at tol |p|."""
    A = random_spd(6, 10.0, seed=0)
    G = np.random.default_rng(1).standard_normal((6, 6))
    G = (G + G.T) / 2
    w, V = np.linalg.eigh(A)
    ref = daleckii_krein(G, w, V, p, Ops(np))
    torch = pytest.importorskip("torch")
    At = torch.tensor(A, requires_grad=True)
    (matsqrt.powm(At, p, tol=1e-6) * torch.tensor(G)).sum().backward()
    assert rel_error(At.grad.numpy(), ref) <= 1e-5


# -- any real exponent, and one exponent per matrix (issue 26) ------------------------------


def _eigh_power(A, p):
    """``A^p`` per matrix by eigendecomposition, ``p`` broadcast against the batch."""
    w, V = np.linalg.eigh(A)
    p = np.broadcast_to(np.asarray(p, dtype=float), A.shape[:-2])[..., None]
    return (V * (w**p)[..., None, :]) @ np.swapaxes(V, -1, -2)


@pytest.mark.parametrize("p", [0, 1, 2, 3, -1, -2, 1.25, -1.25, 2.5, -3.75, 5.0])
@pytest.mark.parametrize("kw", [{}, {"method": "eigh"}, {"tol": 1e-12}], ids=["default", "eigh", "tol"])
def test_any_real_exponent(xp, p, kw):
    """Integers (0 included) by products (exact up to their rounding); |p| >= 1 as A^k A^f
    (with tol=, on lazy arrays too: Zolotarev's traced plan for any fractional part)."""
    A = random_spd((2, 5), 10.0, seed=2)
    frac = abs(p - int(p))
    out = to_np(matsqrt.powm(to_xp(xp, A), p, **kw))
    ref = _eigh_power(A, p)
    bound = 1e-12 if frac == 0 or kw else 1e-3  # the default order 5 for the fractional part
    assert out.shape == A.shape
    assert rel_error(out, ref) <= bound


def test_integer_powers_are_products():
    A = random_spd((2, 4), 10.0, seed=3)
    np.testing.assert_array_equal(matsqrt.powm(A, 0), np.broadcast_to(np.eye(4), A.shape))
    np.testing.assert_allclose(matsqrt.powm(A, 3), A @ A @ A, rtol=1e-14)
    np.testing.assert_allclose(matsqrt.powm(A, -1), np.linalg.inv(A), rtol=1e-12)
    # an integer power needs no definiteness: any square matrix
    M = np.array([[0.0, 1.0], [-2.0, 3.0]])
    np.testing.assert_allclose(matsqrt.powm(M, 2, hermitian=False), M @ M)
    with pytest.raises(ValueError, match="singular"):
        matsqrt.powm(np.zeros((2, 2)), -1)


def test_exponent_array_per_matrix(xp):
    """One exponent per matrix, broadcast against the batch; pyRiemann's shape batch + (1,) too."""
    A = random_spd((3, 4), 10.0, seed=4)
    P = np.array([0.5, 1.5, -0.25])
    ref = _eigh_power(A, P)
    for p in (P, P[:, None], list(P)):
        out = to_np(matsqrt.powm(to_xp(xp, A), p if isinstance(p, list) else to_xp(xp, p), method="eigh"))
        assert rel_error(out, ref) <= 1e-12
    with pytest.raises(ValueError, match="does not broadcast"):
        matsqrt.powm(to_xp(xp, A), np.array([0.25, 0.5]))
    # a batch of exponents for one matrix broadcasts the matrix
    out = to_np(matsqrt.powm(to_xp(xp, A[0]), to_xp(xp, P), method="eigh"))
    assert out.shape == (3, 4, 4)
    assert rel_error(out, _eigh_power(np.broadcast_to(A[0], (3, 4, 4)), P)) <= 1e-12


def test_exponent_array_gradient_in_A():
    torch = pytest.importorskip("torch")
    A = random_spd((3, 4), 10.0, seed=5)
    P = np.array([0.5, 1.25, -0.25])
    G = np.random.default_rng(6).standard_normal(A.shape)
    G = (G + np.swapaxes(G, -1, -2)) / 2
    At = torch.tensor(A, requires_grad=True)
    (matsqrt.powm(At, torch.tensor(P), method="eigh") * torch.tensor(G)).sum().backward()
    for i, p in enumerate(P):
        w, V = np.linalg.eigh(A[i])
        ref = daleckii_krein(G[i], w, V, p, Ops(np))
        assert rel_error(At.grad[i].numpy(), ref) <= 1e-10
    with pytest.raises(TypeError, match="detach"):
        matsqrt.powm(At, torch.tensor(P, requires_grad=True))
