"""Fréchet distance between two Gaussians, on ill-conditioned covariances.

FD = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2)).

The trace term equals the nuclear norm ||S1^(1/2) S2^(1/2)||_* (the sum of its singular
values), computed here from the exact eigh roots of the two covariances. Covariances of real
features have condition numbers of 1e9 and more, and usually eigenvalues below rounding:
taking the square root of such eigenvalues (scipy's ``sqrtm(S1 @ S2)``, or the symmetric form
``sqrtm(S1h @ S2 @ S1h)``) turns rounding noise of 1e-17 into errors of 3e-9 each, which add up
to 1e-7 .. 1e-6 of the distance on 2048-d features; the product of the roots does not. The
default Padé [5/5] is an approximation (about 1e-3 at condition number 100) and is not used
here; ``sqrtm(S1 @ S2, hermitian=False)`` is refused when the product is singular (an
eigenvalue at zero, within rounding).
"""

import numpy as np

import matsqrt


def frechet_distance(mu1, S1, mu2, S2):
    S1h = matsqrt.sqrtm(S1, method="eigh")
    S2h = matsqrt.sqrtm(S2, method="eigh")
    trace_covmean = np.linalg.svd(S1h @ S2h, compute_uv=False).sum()  # tr (S1h S2 S1h)^(1/2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(S1) + np.trace(S2) - 2 * trace_covmean)


# features with a decaying spectrum: covariances of condition number ~1e9, rank-deficient
rng = np.random.default_rng(0)
n, samples = 256, 2000
W = np.linalg.qr(rng.standard_normal((n, n)))[0]
M1 = (W * np.logspace(0, -4.5, n)) @ W.T
X1 = rng.standard_normal((samples, n)) @ M1
X2 = rng.standard_normal((samples, n)) @ M1 @ np.linalg.qr(np.eye(n) + 0.02 * rng.standard_normal((n, n)))[0]
S1, S2 = np.cov(X1, rowvar=False), np.cov(X2, rowvar=False)
mu1, mu2 = X1.mean(0), X2.mean(0) + 0.01

d = frechet_distance(mu1, S1, mu2, S2)

# an exact reference: with S = F^T F (F the centred, scaled features), F = U S^(1/2) (polar
# decomposition), so tr (S1^(1/2) S2 S1^(1/2))^(1/2) = ||S1^(1/2) S2^(1/2)||_* is the sum of the
# singular values of F1 F2^T = Q1 (R1 R2^T) Q2^T: no square root of an ill-conditioned matrix
F1 = (X1 - X1.mean(0)) / np.sqrt(samples - 1)
F2 = (X2 - X2.mean(0)) / np.sqrt(samples - 1)
R1, R2 = np.linalg.qr(F1, mode="r"), np.linalg.qr(F2, mode="r")
nuclear = np.linalg.svd(R1 @ R2.T, compute_uv=False).sum()
d_ref = float(np.sum((mu1 - mu2) ** 2) + np.trace(S1) + np.trace(S2) - 2 * nuclear)
w = np.linalg.eigvalsh(S1)
print(f"condition number of S1 {w[-1] / max(w[0], 1e-300):.1e}")
print(f"Frechet distance {d:.12f} (exact {d_ref:.12f}, relative difference {abs(d - d_ref) / d_ref:.1e})")
assert abs(d - d_ref) <= 1e-8 * abs(d_ref)
