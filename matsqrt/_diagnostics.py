"""A cheap a-posteriori error estimate for computed roots."""

from __future__ import annotations

from typing import Any

from ._core import Ops
from ._validation import as_array, as_array_like, check_matrix, compute_dtype

__all__ = ["residual"]


def residual(A: Any, Y: Any, /, *, inverse: bool = False) -> Any:
    """Relative residual of a computed root, per matrix of the batch.

    ``||Y @ Y - A||_F / ||A||_F`` for a square root, or
    ``||Z @ Z @ A - I||_F / sqrt(n)`` for an inverse square root
    (``inverse=True``). Costs one (two) matrix products.

    How it relates to the error (measured on random SPD matrices, n = 16 to
    256, condition number ``k`` from 10 to 1e6, every method): the relative
    error ``||Y - A^(1/2)||_F / ||A^(1/2)||_F`` of a square root lies between
    about 0.2 and ``k^(1/2)`` times the residual (to first order between
    ``1/(2 n^(1/2))`` and ``k^(1/2)/2``). It is about half the residual only
    when the error is rounding spread over the spectrum (``method="eigh"``,
    ``k <~ 100``); the fixed-order methods err most at the smallest
    eigenvalues, which the residual weighs least, so for them the ratio grows
    with ``k``: median about 1 at ``k = 10``, 3 at ``k = 100`` (the default
    Padé), up to 20 at ``k = 1e4``. For an inverse root the error lies between
    about ``1/k`` and ``n^(1/2)`` times the residual. A residual near the
    dtype's epsilon certifies an error of at most about ``k^(1/2) eps``; a
    large one flags a result to distrust.

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
    Y = as_array_like(Y, xp, "Y")
    check_matrix(A, "A")
    check_matrix(Y, "Y")
    # the roots' dtype rules: half precision in float32, a clear TypeError for complex32 / longdouble
    A, Y = compute_dtype(A, xp, "A")[0], compute_dtype(Y, xp, "Y")[0]
    ops = Ops(xp)
    if inverse:
        E = Y @ Y @ A - ops.eye_like(A)
        den = xp.sqrt(xp.asarray(float(A.shape[-1]), dtype=ops.fro(E).dtype))
    else:
        E = Y @ Y - A
        den = ops.fro_safe(A)
    num = ops.fro_safe(E)
    # the zero matrix: 0 where its root is exact (Y = 0), inf otherwise (not NaN)
    safe = xp.where(den > 0, den, xp.ones_like(den))
    r = xp.where(den > 0, num / safe, xp.where(num > 0, xp.full_like(num, float("inf")), xp.zeros_like(num)))
    return r[..., 0, 0]
