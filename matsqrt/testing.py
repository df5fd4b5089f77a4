"""Helpers for testing code that uses matsqrt (and matsqrt itself).

``random_spd`` makes Hermitian positive definite test matrices with a chosen
condition number; ``root_tolerance`` gives the relative error a matrix root can
be expected to reach in a dtype at a condition number; ``rel_error`` measures it.
Everything here is NumPy (build inputs, then convert with your library).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["random_spd", "rel_error", "root_tolerance"]

_EPS = {
    np.dtype(np.float32): float(np.finfo(np.float32).eps),
    np.dtype(np.float64): float(np.finfo(np.float64).eps),
    np.dtype(np.complex64): float(np.finfo(np.float32).eps),
    np.dtype(np.complex128): float(np.finfo(np.float64).eps),
}


def random_spd(
    shape: tuple[int, ...] | int,
    cond: float = 10.0,
    *,
    dtype: Any = np.float64,
    seed: int | np.random.Generator | None = 0,
    spectrum: str = "geometric",
) -> np.ndarray:
    """Random Hermitian positive definite matrices with condition number ``cond``.

    Parameters
    ----------
    shape : int or tuple
        ``n`` or ``(*batch, n)``: the result has shape ``(*batch, n, n)``.
    cond : float
        Exact 2-norm condition number (eigenvalues from ``1/cond`` to 1).
    dtype : dtype
        One of float32, float64, complex64, complex128 (built in double, then cast).
    seed : int or Generator
        Seed of the random eigenvectors.
    spectrum : {"geometric", "linear", "clustered"}
        Eigenvalue distribution between the extremes: log-uniform, uniform, or
        all but one at the bottom (a covariance-like worst case).

    Returns
    -------
    numpy.ndarray of shape (..., n, n)
        Hermitian positive definite matrices with eigenvalues in ``[1/cond, 1]``.
    """
    rng = np.random.default_rng(seed)
    if isinstance(shape, int):
        shape = (shape,)
    *batch, n = shape
    batch = tuple(batch)
    complex_ = np.dtype(dtype).kind == "c"
    G = rng.standard_normal((*batch, n, n))
    if complex_:
        G = G + 1j * rng.standard_normal((*batch, n, n))
    Q, _ = np.linalg.qr(G)
    if n == 1:
        lam = np.ones((*batch, 1))
    elif spectrum == "geometric":
        lam = np.logspace(0, -math.log10(cond), n)
        lam = np.broadcast_to(lam, (*batch, n))
    elif spectrum == "linear":
        lam = np.broadcast_to(np.linspace(1, 1 / cond, n), (*batch, n))
    elif spectrum == "clustered":
        lam = np.full(n, 1 / cond)
        lam[0] = 1.0
        lam = np.broadcast_to(lam, (*batch, n))
    else:
        msg = f"unknown spectrum {spectrum!r}"
        raise ValueError(msg)
    A = (Q * lam[..., None, :]) @ np.conj(np.swapaxes(Q, -1, -2))
    A = (A + np.conj(np.swapaxes(A, -1, -2))) / 2
    return A.astype(dtype)


def root_tolerance(dtype: Any, cond: float = 1.0, *, inverse: bool = False, factor: float = 50.0) -> float:
    """Relative Frobenius error a converged root can be held to.

    ``factor * eps * cond^(1/2)`` for the inverse root, ``factor * eps * cond^(1/4)``
    for the root (its Fréchet derivative amplifies backward errors by about
    ``cond^(1/2)`` relative to ``||A^(-1/2)||``, less relative to ``||A^(1/2)||``).

    Parameters
    ----------
    dtype : dtype
        The dtype the root was computed in.
    cond : float, optional
        Condition number of the matrix.
    inverse : bool, optional
        Whether the tolerance is for ``A^(-1/2)``.
    factor : float, optional
        Safety factor over the first-order estimate.

    Returns
    -------
    float
        The relative Frobenius tolerance.
    """
    eps = _EPS[np.dtype(dtype)]
    return factor * eps * max(cond, 1.0) ** (0.5 if inverse else 0.25)


def rel_error(X: Any, X_ref: Any) -> float:
    """Worst relative Frobenius error over the batch (arrays converted by NumPy).

    Parameters
    ----------
    X : array_like of shape (..., n, n)
        Computed matrices.
    X_ref : array_like of shape (..., n, n)
        Reference matrices.

    Returns
    -------
    float
        ``max ||X - X_ref||_F / ||X_ref||_F`` over the batch (0 for empty input).
    """
    X = np.asarray(X, dtype=np.complex128 if np.iscomplexobj(X) else np.float64)
    X_ref = np.asarray(X_ref, dtype=np.complex128 if np.iscomplexobj(X_ref) else np.float64)
    num = np.linalg.norm(X - X_ref, axis=(-2, -1))
    den = np.linalg.norm(X_ref, axis=(-2, -1))
    return float(np.max(num / np.where(den > 0, den, 1.0))) if num.size else 0.0
