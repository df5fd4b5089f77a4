"""Agreement with exact references: mpmath's Padé, pyRiemann, SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import matsqrt
from matsqrt._core._coefficients import pade_error_bound, pade_partial_fractions, taylor_coefficients
from matsqrt.testing import random_spd


@pytest.mark.parametrize("m", [1, 2, 5, 9])
def test_partial_fractions_are_the_pade_approximant(m):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    P, Q = mpmath.pade(mpmath.taylor(lambda z: (1 - z) ** mpmath.mpf(-0.5), 0, 2 * m), m, m)
    c, d, a = pade_partial_fractions(m)
    for x in (0.01, 0.3, 1.0, 2.5, 40.0):
        z = 1 - x
        exact = mpmath.polyval(P[::-1], z) / mpmath.polyval(Q[::-1], z)
        ours = c + sum(ak / (x + dk) for ak, dk in zip(a, d, strict=True))
        assert abs(float(exact) - ours) <= 1e-13 * abs(float(exact))
        # the closed form of the relative error
        t = math.sqrt(x)
        u = (1 - t) / (1 + t)
        assert abs(ours * t - 1) <= 2 * abs(u) ** (2 * m + 1) / (1 - abs(u) ** (2 * m + 1)) + 1e-15


def test_error_bound_is_symmetric_and_decreasing():
    assert pade_error_bound(5, 100.0) > pade_error_bound(6, 100.0) > pade_error_bound(7, 100.0)
    assert pade_error_bound(5, 1.0) == 0.0


def test_taylor_coefficients_match_mpmath():
    mpmath = pytest.importorskip("mpmath")
    for power in (0.5, -0.5):
        ref = mpmath.taylor(lambda z, p=power: (1 - z) ** mpmath.mpf(p), 0, 20)
        ours = taylor_coefficients(20, power)
        assert max(abs(float(r) - o) for r, o in zip(ref, ours, strict=True)) <= 1e-15


def test_eigh_agrees_with_pyriemann():
    base = pytest.importorskip("pyriemann.utils.base")
    A = random_spd((5, 10), 1e3, seed=11)
    np.testing.assert_allclose(matsqrt.sqrtm(A, method="eigh"), base.sqrtm(A), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(matsqrt.invsqrtm(A, method="eigh"), base.invsqrtm(A), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(matsqrt.sqrtm(A, tol=1e-14), base.sqrtm(A), rtol=1e-11, atol=1e-13)


def test_hermitian_root_agrees_with_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    A = random_spd((3, 12), 1e2, seed=12)
    for a, y in zip(A, matsqrt.sqrtm(A, tol=1e-14), strict=True):
        np.testing.assert_allclose(y, scipy_linalg.sqrtm(a), rtol=1e-10, atol=1e-12)
