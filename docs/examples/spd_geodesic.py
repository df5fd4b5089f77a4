"""Points on the affine-invariant geodesic between SPD matrices: A #_t B = A^(1/2) (A^(-1/2) B A^(-1/2))^t A^(1/2)."""

import numpy as np

import matsqrt
from matsqrt.testing import random_spd


def geodesic(A, B, t):
    """A #_t B for batches of SPD matrices A, B and 0 < t < 1 (t = 1/2: the geometric mean)."""
    r, ir = matsqrt.sqrtm(A, tol=1e-13), matsqrt.invsqrtm(A, tol=1e-13)
    C = ir @ B @ ir
    C = (C + np.swapaxes(C, -1, -2)) / 2  # Hermitian up to rounding: make it exactly so
    return r @ matsqrt.powm(C, t, tol=1e-13) @ r


def distance(A, B):
    """The affine-invariant distance ||log(A^(-1/2) B A^(-1/2))||_F."""
    ir = matsqrt.invsqrtm(A, tol=1e-13)
    w = np.linalg.eigvalsh(ir @ B @ ir)
    return np.sqrt(np.sum(np.log(w) ** 2, axis=-1))


A = random_spd((100, 6), 50, seed=1)  # 100 pairs of 6 x 6 covariances
B = random_spd((100, 6), 50, seed=2)
d = distance(A, B)
for t in (0.25, 0.5, 0.9):
    G = geodesic(A, B, t)
    # the geodesic is traversed at constant speed: d(A, A #_t B) = t d(A, B)
    err = np.max(np.abs(distance(A, G) - t * d) / d)
    print(f"t = {t}: max relative deviation of d(A, A #_t B) from t d(A, B): {err:.1e}")
    assert err < 1e-9
M = geodesic(A, B, 0.5)  # the geometric mean solves the Riccati equation M A^-1 M = B
res = np.linalg.norm(M @ np.linalg.solve(A, M) - B, axis=(-2, -1)) / np.linalg.norm(B, axis=(-2, -1))
print(f"geometric mean: max relative residual of M A^-1 M = B: {res.max():.1e}")
assert res.max() < 1e-10
