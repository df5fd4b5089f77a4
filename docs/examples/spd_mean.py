"""Affine-invariant (Karcher) mean of SPD matrices by a fixed-point iteration."""

import numpy as np

import matsqrt
from matsqrt.testing import random_spd


def logm_spd(S):
    w, V = np.linalg.eigh(S)
    return (V * np.log(w)[..., None, :]) @ np.swapaxes(V, -1, -2)


def expm_sym(S):
    w, V = np.linalg.eigh(S)
    return (V * np.exp(w)[..., None, :]) @ np.swapaxes(V, -1, -2)


mats = random_spd((10, 5), 20, seed=3) * np.linspace(0.5, 2, 10)[:, None, None]
M = mats.mean(axis=0)
for _ in range(30):
    r, ir = matsqrt.sqrtm(M, tol=1e-13), matsqrt.invsqrtm(M, tol=1e-13)
    T = logm_spd(ir @ mats @ ir).mean(axis=0)  # mean in the tangent space at M
    M = r @ expm_sym(T) @ r
    if np.linalg.norm(T) < 1e-12:
        break
ir = matsqrt.invsqrtm(M, tol=1e-13)
print("Riemannian gradient norm at the mean:", np.linalg.norm(logm_spd(ir @ mats @ ir).mean(axis=0)))
assert np.linalg.norm(logm_spd(ir @ mats @ ir).mean(axis=0)) < 1e-9
