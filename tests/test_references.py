"""Agreement with independent references: mpmath (coefficients), SciPy and pyRiemann (roots)."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp

import matsqrt
from matsqrt._core._coefficients import (
    pade_error_bound,
    pade_order_for,
    pade_partial_fractions,
    taylor_coefficients,
)
from matsqrt._reference import monomial_pade_coefficients
from matsqrt.testing import random_spd, rel_error, root_tolerance

#: sample points x = 1 - z of the normalised spectrum: both sides of 1, far out, near 0
X_SAMPLES = (1e-4, 0.01, 0.3, 0.9, 1.0, 1.7, 2.5, 40.0, 1e4)


@pytest.fixture(scope="module")
def mp():
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(100):  # Padé's linear system loses ~1.5 m digits: keep 50 at m = 30
        yield mpmath


def _pade_mp(mp, power: float, m: int):
    """mpmath's [m/m] Padé approximant of the Taylor series of (1 - z)^power, as a function of x."""
    series = mp.taylor(lambda z: (1 - z) ** mp.mpf(power), 0, 2 * m)
    P, Q = mp.pade(series, m, m)
    return (lambda x: mp.polyval(P[::-1], 1 - mp.mpf(x)) / mp.polyval(Q[::-1], 1 - mp.mpf(x))), P, Q


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 13, 21])
def test_partial_fractions_are_the_pade_approximant(mp, m):
    """c + sum a_k / (x + d_k) is mpmath's [m/m] Padé of (1 - z)^(-1/2); 1 / it that of (1 - z)^(1/2)."""
    c, d, a = pade_partial_fractions(m)
    assert len(d) == len(a) == m
    assert c == 1 / (2 * m + 1)
    assert all(dk > 0 for dk in d) and all(ak > 0 for ak in a)  # no cancellation, definite shifts
    inv_root, _, _ = _pade_mp(mp, -0.5, m)
    root, _, _ = _pade_mp(mp, 0.5, m)
    for x in X_SAMPLES:
        ours = c + math.fsum(ak / (x + dk) for ak, dk in zip(a, d, strict=True))
        exact = inv_root(x)
        assert abs(ours - float(exact)) <= 4e-16 * m * abs(float(exact))
        assert abs(1 / ours - float(root(x))) <= 4e-16 * m * abs(float(root(x)))


@pytest.mark.parametrize("m", [1, 2, 5, 9, 20])
def test_pade_closed_form_and_error_bound(mp, m):
    """r_m(x) = x^(-1/2) (1 - u^p) / (1 + u^p): relative error 2|u|^p / (1 + u^p) <= 2|u|^p / (1 - |u|^p)."""
    p = 2 * m + 1
    inv_root, _, _ = _pade_mp(mp, -0.5, m)
    for x in X_SAMPLES:
        t = mp.sqrt(mp.mpf(x))
        u = (1 - t) / (1 + t)
        closed = (1 - u**p) / (1 + u**p) / t
        exact = inv_root(x)
        assert abs(closed - exact) <= mp.mpf(10) ** -50 * abs(exact)
        rel = abs(exact * t - 1)
        assert rel <= 2 * abs(u) ** p / (1 - abs(u) ** p) * (1 + mp.mpf(10) ** -30)
        assert abs(rel - 2 * abs(u) ** p / abs(1 + u**p)) <= mp.mpf(10) ** -40


@pytest.mark.parametrize("m", [1, 3, 5, 10, 30])
@pytest.mark.parametrize("cond", [1.5, 1e2, 1e4, 1e8])
def test_pade_error_bound_is_the_worst_case(mp, m, cond):
    """pade_error_bound(m, cond) is the largest error on [cond^-1/2, cond^1/2] (reached at the ends)."""
    inv_root, _, _ = _pade_mp(mp, -0.5, m)
    xs = np.geomspace(cond**-0.5, cond**0.5, 41)
    errs = [float(abs(inv_root(x) * mp.sqrt(mp.mpf(float(x))) - 1)) for x in xs]
    bound = pade_error_bound(m, cond)
    # the bound is evaluated in double precision: u^p carries a relative rounding error ~p eps
    assert max(errs) <= bound * (1 + 1e-12)
    assert max(errs) >= bound * (1 - 1e-12) / (1 + 2 * bound)  # tight: 2u^p/(1+u^p) vs 2u^p/(1-u^p)


@pytest.mark.parametrize("cond", [2.0, 1e2, 1e4, 1e6])
@pytest.mark.parametrize("tol", [1e-3, 1e-8, 1e-15])
def test_pade_order_for_is_minimal(tol, cond):
    m = pade_order_for(tol, cond, max_order=1000)
    assert m < 1000
    assert pade_error_bound(m, cond) <= tol
    assert m == 1 or pade_error_bound(m - 1, cond) > tol
    # capped: an order that is not enough is returned as the cap (the caller warns)
    assert pade_order_for(tol, cond, max_order=m) == m
    assert pade_order_for(tol, cond, max_order=max(m - 1, 1)) == max(m - 1, 1)


@pytest.mark.parametrize("m", [1, 2, 5, 8])
def test_monomial_pade_coefficients_match_mpmath(mp, m):
    """The paper's P/Q (monomial basis, (1 - z)^(1/2)) used by the benchmark baseline."""
    _, P, Q = _pade_mp(mp, 0.5, m)
    p, q = monomial_pade_coefficients(m)
    scale = Q[0]  # mpmath normalises q_0 = 1 too
    for ours, ref in zip(p + q, [v / scale for v in P] + [v / scale for v in Q], strict=True):
        assert abs(ours - float(ref)) <= 4e-16 * max(1.0, abs(float(ref)))


@pytest.mark.parametrize("power", [0.5, -0.5])
def test_taylor_coefficients_match_mpmath(mp, power):
    ref = mp.taylor(lambda z: (1 - z) ** mp.mpf(power), 0, 60)
    ours = taylor_coefficients(60, power)
    assert len(ours) == 61
    for k, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert abs(o - float(r)) <= 2 * k * 2.3e-16 * abs(float(r)) + 1e-300, k
    # signs: (1 - z)^(1/2) has negative coefficients after the first, (1 - z)^(-1/2) positive ones
    assert all(o < 0 for o in ours[1:]) if power > 0 else all(o > 0 for o in ours)


# -- SciPy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128], ids=["float64", "complex128"])
def test_hermitian_root_agrees_with_scipy(xp, dtype):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    cond = 1e2
    A = random_spd((3, 12), cond, dtype=dtype, seed=12)
    ref = np.stack([scipy_linalg.sqrtm(a) for a in A])
    for method in ("pade", "eigh"):
        Y = to_np(matsqrt.sqrtm(to_xp(xp, A), method=method, order=40 if method == "pade" else None))
        # scipy's Schur-based root is itself accurate to ~eps cond^(1/2) here
        assert rel_error(Y, ref) <= root_tolerance(dtype, cond)
    Z = to_np(matsqrt.invsqrtm(to_xp(xp, A), method="pade", order=40))
    assert rel_error(Z, np.linalg.inv(ref)) <= root_tolerance(dtype, cond, inverse=True)


def test_lyapunov_and_sylvester_agree_with_scipy_on_gradient_equation():
    """The backward's equation Y X + X Y = G (Y = A^(1/2)) by scipy and by matsqrt."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    A = random_spd(7, 50.0, seed=13)
    G = np.random.default_rng(0).standard_normal((7, 7))
    G = (G + G.T) / 2
    Y = matsqrt.sqrtm(A, method="eigh")
    ref = scipy_linalg.solve_continuous_lyapunov(Y, G)
    assert rel_error(matsqrt.sqrtm_vjp(Y, G), ref) <= 1e-13
    assert rel_error(matsqrt.solve_sylvester(Y, Y, G), ref) <= 1e-13


# -- pyRiemann ---------------------------------------------------------------------------------


def _pyriemann_base():
    pytest.importorskip("pyriemann")
    try:
        return importlib.import_module("pyriemann.geometry.base")
    except ImportError:  # older pyRiemann: the functions live in utils.base
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module("pyriemann.utils.base")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128], ids=["float64", "complex128"])
@pytest.mark.parametrize("cond", [10.0, 1e3, 1e6])
def test_eigh_agrees_with_pyriemann(dtype, cond):
    """Both are V f(L) V^H from LAPACK's eigh: they agree to rounding."""
    base = _pyriemann_base()
    A = random_spd((5, 10), cond, dtype=dtype, seed=11)
    eps = float(np.finfo(dtype).eps)
    # the two evaluate the same eigendecomposition, so only the final products differ
    assert rel_error(matsqrt.sqrtm(A, method="eigh"), base.sqrtm(A)) <= 20 * eps
    assert rel_error(matsqrt.invsqrtm(A, method="eigh"), base.invsqrtm(A)) <= 20 * eps


def test_pade_with_tol_agrees_with_pyriemann():
    base = _pyriemann_base()
    cond = 1e3
    A = random_spd((5, 10), cond, seed=11)
    assert rel_error(matsqrt.sqrtm(A, tol=1e-14), base.sqrtm(A)) <= root_tolerance(np.float64, cond)
    assert rel_error(matsqrt.invsqrtm(A, tol=1e-14), base.invsqrtm(A)) <= root_tolerance(
        np.float64, cond, inverse=True
    )


def test_eigh_agrees_with_pyriemann_on_torch():
    """pyRiemann >= 0.12 accepts torch tensors: the same agreement there."""
    torch = pytest.importorskip("torch")
    base = _pyriemann_base()
    A = torch.asarray(random_spd((3, 8), 1e3, seed=14))
    try:
        ref_y, ref_z = base.sqrtm(A), base.invsqrtm(A)
    except Exception as exc:  # older pyRiemann: numpy only
        pytest.skip(f"pyRiemann does not take torch tensors: {exc}")
    eps = float(np.finfo(np.float64).eps)
    assert rel_error(to_np(matsqrt.sqrtm(A, method="eigh")), to_np(ref_y)) <= 20 * eps
    assert rel_error(to_np(matsqrt.invsqrtm(A, method="eigh")), to_np(ref_z)) <= 20 * eps
