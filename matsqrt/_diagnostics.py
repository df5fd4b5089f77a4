"""A cheap a-posteriori error estimate for computed roots."""

from __future__ import annotations

from typing import Any

from ._core import Ops
from ._validation import as_array, check_matrix

__all__ = ["residual"]


def residual(A: Any, Y: Any, /, *, inverse: bool = False) -> Any:
    """Relative residual of a computed root, per matrix of the batch.

    ``||Y @ Y - A||_F / ||A||_F`` for a square root, or
    ``||Z @ Z @ A - I||_F / sqrt(n)`` for an inverse square root
    (``inverse=True``). Costs one (two) matrix products. For Hermitian
    positive definite ``A`` with condition number ``k``, the forward relative
    error of a square root is at most about ``k^(1/2) / 2`` times its
    residual, and typically close to half of it; a residual near the dtype's
    epsilon certifies an accurate result, a large one flags a bad input
    (indefinite, singular, or beyond the chosen order).

    Parameters
    ----------
    A : array of shape (..., n, n)
        The matrices whose roots were computed.
    Y : array of shape (..., n, n)
        ``sqrtm(A)`` or, with ``inverse=True``, ``invsqrtm(A)``.
    inverse : bool, optional
        Whether ``Y`` is an inverse square root.

    Returns
    -------
    array of shape (...)
        Real, in ``A``'s real dtype.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> float(matsqrt.residual(A, matsqrt.sqrtm(A, tol=1e-14))) < 1e-12
    True
    """
    A, xp = as_array(A, "A")
    Y, _ = as_array(Y, "Y")
    check_matrix(A, "A")
    check_matrix(Y, "Y")
    ops = Ops(xp)
    if inverse:
        E = Y @ Y @ A - ops.eye_like(A)
        den = xp.sqrt(xp.asarray(float(A.shape[-1]), dtype=ops.fro(E).dtype))
    else:
        E = Y @ Y - A
        den = ops.fro_safe(A)
    r = ops.fro_safe(E) / den
    return r[..., 0, 0]
