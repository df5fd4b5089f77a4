"""ZCA whitening with invsqrtm: the whitened data has identity covariance."""

import numpy as np

import matsqrt

rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 16)) @ rng.standard_normal((16, 16))  # correlated features
Xc = X - X.mean(axis=0)
C = Xc.T @ Xc / len(Xc)
W = matsqrt.invsqrtm(C, tol=1e-12)  # the ZCA whitening matrix C^(-1/2)
Xw = Xc @ W
Cw = Xw.T @ Xw / len(Xw)
print("max |cov(whitened) - I| =", np.abs(Cw - np.eye(16)).max())
assert np.allclose(Cw, np.eye(16), atol=1e-8)
