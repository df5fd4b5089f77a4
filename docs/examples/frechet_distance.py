"""Fréchet distance between two Gaussians, via sqrtm of the non-symmetric S1 @ S2."""

import numpy as np
import scipy.linalg

import matsqrt
from matsqrt.testing import random_spd

rng = np.random.default_rng(1)
mu1, mu2 = rng.standard_normal(32), rng.standard_normal(32)
S1, S2 = random_spd(32, 50, seed=1), random_spd(32, 50, seed=2)


def frechet(mu1, S1, mu2, S2):
    covmean = matsqrt.sqrtm(S1 @ S2, hermitian=False, tol=1e-12)  # spectrum of S1 S2 is positive
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(S1 + S2 - 2 * covmean))


d = frechet(mu1, S1, mu2, S2)
d_scipy = float(np.sum((mu1 - mu2) ** 2) + np.trace(S1 + S2 - 2 * scipy.linalg.sqrtm(S1 @ S2).real))
print(f"Frechet distance {d:.12f} (scipy {d_scipy:.12f})")
assert abs(d - d_scipy) < 1e-9 * max(1.0, abs(d))
