"""Baselines for the benchmark: the published algorithm and a plain eigh root.

``published_sqrtm`` is the algorithm of Song, Sebe & Wang (TPAMI 2022), "Fast
Differentiable Matrix Square Root and Inverse Square Root", written plainly
against the Python Array API standard (it runs on NumPy, torch and JAX):

forward (MPA)
    ``s = ||A||_F`` per matrix, ``Z = I - A/s``; ``P(Z)``, ``Q(Z)`` the [5/5]
    Padé approximant of ``(1 - z)^(1/2)`` built from its degree-10 Taylor
    series, in the monomial basis (4 products for ``Z^2 .. Z^5``);
    ``A^(1/2) = Q(Z)^-1 P(Z) s^(1/2)`` by one linear solve; the inverse root
    swaps ``P`` and ``Q`` and divides by ``s^(1/2)``.
backward (Lyapunov)
    ``Y X + X Y = G`` for the square root (``dL/dA = X``); for ``Z = A^(-1/2)``
    ``Z X + X Z = -Z^2 G Z^2``. Both solved by 8 iterations of the coupled
    Newton–Schulz sign iteration on ``[[B, -C], [0, -B]]``, with ``B`` the
    normalised root (``Y / s^(1/2)``, ``Z / ||Z||_F``), 6 products per
    iteration, 48 in all. The published code normalises the inverse root by
    the norm of the whole batch; here it is per matrix.

The coefficients come from the Taylor series by the standard Padé linear
system, solved once in exact rational arithmetic.

``eigh_root`` is the textbook alternative: ``V diag(l^(1/2)) V^H`` from an
eigendecomposition, differentiated by the library's own autodiff through
``eigh`` (``eigh_root_vjp`` gives the same gradient for NumPy).

For other powers (``python -m matsqrt bench --power P``): ``eigh_power`` (the same
through ``eigh``), and ``coupled_newton_inverse_root``, the coupled Newton iteration
for ``A^(-1/r)`` that Shampoo-type optimizers use (Guo & Higham 2006; as in the
distributed Shampoo implementations: ``z = (1 + r) / (2 l_max)`` with ``l_max`` from
power iterations, iterate while the error ``max|M - I|`` decreases, forward only).

``published_torch`` and ``published_jax`` wrap the published forward and
backward as a ``torch.autograd.Function`` and a ``jax.custom_vjp``; torch
and JAX are imported only when they are called. The torch version routes
around the batched CPU LU bug of torch 2.13 (pytorch#181570) as matsqrt's
torch adapter does.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

from ._compat import array_namespace, device

Array = Any

__all__ = [
    "SIGN_ITERS",
    "coupled_newton_inverse_root",
    "eigh_power",
    "eigh_power_value_and_vjp",
    "eigh_root",
    "eigh_root_value_and_vjp",
    "eigh_root_vjp",
    "monomial_pade_coefficients",
    "published_jax",
    "published_sqrtm",
    "published_sqrtm_vjp",
    "published_torch",
]

#: the paper's backward: coupled Newton–Schulz sign iterations
SIGN_ITERS = 8
#: the paper's forward: Padé [5/5]
PADE_ORDER = 5


@cache
def monomial_pade_coefficients(m: int = PADE_ORDER) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(p, q)`` with ``P(z)/Q(z)`` the [m/m] Padé approximant of ``(1 - z)^(1/2)``.

    ``p[k]``, ``q[k]`` multiply ``z^k``; ``q[0] = 1``. Built from the Taylor
    coefficients ``c_k`` of ``(1 - z)^(1/2)`` up to degree ``2m`` by solving
    ``sum_j q_j c_(k-j) = 0`` for ``k = m+1 .. 2m`` exactly, then
    ``p_k = sum_(j<=k) q_j c_(k-j)``.
    """
    c = [Fraction(1)]
    for k in range(2 * m):
        c.append(c[-1] * (k - Fraction(1, 2)) / (k + 1))
    rows = [[c[k - j] if k >= j else Fraction(0) for j in range(1, m + 1)] for k in range(m + 1, 2 * m + 1)]
    q = [Fraction(1), *_solve_exact(rows, [-c[k] for k in range(m + 1, 2 * m + 1)])]
    p = [sum((q[j] * c[k - j] for j in range(k + 1)), Fraction(0)) for k in range(m + 1)]
    return tuple(float(v) for v in p), tuple(float(v) for v in q)


def _solve_exact(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    """Gauss–Jordan elimination in rational arithmetic."""
    n = len(b)
    aug = [[*row, b[i]] for i, row in enumerate(M)]
    for i in range(n):
        piv = next(r for r in range(i, n) if aug[r][i] != 0)
        aug[i], aug[piv] = aug[piv], aug[i]
        for r in range(n):
            if r != i and aug[r][i] != 0:
                f = aug[r][i] / aug[i][i]
                aug[r] = [x - f * y for x, y in zip(aug[r], aug[i], strict=True)]
    return [aug[i][n] / aug[i][i] for i in range(n)]


def _eye(xp: Any, A: Array) -> Array:
    return xp.eye(A.shape[-1], dtype=A.dtype, device=device(A))


def _fro(xp: Any, A: Array) -> Array:
    return xp.linalg.matrix_norm(A, keepdims=True)


def _pade_PQ(A: Array, xp: Any) -> tuple[Array, Array, Array]:
    p, q = monomial_pade_coefficients(PADE_ORDER)
    s = _fro(xp, A)
    eye = _eye(xp, A)
    Z = eye - A / s
    P = p[0] * eye + p[1] * Z
    Q = q[0] * eye + q[1] * Z
    Zk = Z
    for k in range(2, PADE_ORDER + 1):
        Zk = Zk @ Z
        P = P + p[k] * Zk
        Q = Q + q[k] * Zk
    return P, Q, s


def published_sqrtm(A: Array, /, *, inverse: bool = False, solve: Any = None) -> Array:
    """The paper's MPA forward: Padé [5/5] in the monomial basis on ``A / ||A||_F``.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Symmetric positive definite matrices (any array-API library).
    inverse : bool, optional
        ``A^(-1/2)`` instead of ``A^(1/2)``.
    solve : callable, optional
        ``solve(M, B) = M^-1 B`` (default ``xp.linalg.solve``).

    Returns
    -------
    array of shape (..., n, n)
        The approximate root.
    """
    xp = array_namespace(A)
    solve = xp.linalg.solve if solve is None else solve
    P, Q, s = _pade_PQ(A, xp)
    if inverse:
        return solve(P, Q) / xp.sqrt(s)
    return solve(Q, P) * xp.sqrt(s)


def _sign_lyapunov(B: Array, C: Array, xp: Any, iters: int) -> Array:
    """``X`` with ``B X + X B = C`` (``B`` normalised, spectrum in (0, 1]), as published."""
    eye = _eye(xp, B)
    for _ in range(iters):
        B2 = B @ B
        C = 0.5 * (C @ (3.0 * eye - B2) - B2 @ C + B @ C @ B)
        B = 0.5 * (B @ (3.0 * eye - B2))
    return 0.5 * C


def published_sqrtm_vjp(
    A: Array, Y: Array, G: Array, /, *, inverse: bool = False, iters: int = SIGN_ITERS
) -> Array:
    """The paper's backward: the Lyapunov equation by the coupled sign iteration.

    Parameters
    ----------
    A : array of shape (..., n, n)
        The input of :func:`published_sqrtm`.
    Y : array of shape (..., n, n)
        Its output (``A^(1/2)``, or ``A^(-1/2)`` with ``inverse=True``).
    G : array of shape (..., n, n)
        The cotangent ``dL/dY``.
    inverse : bool, optional
        Whether ``Y`` is the inverse root.
    iters : int, optional
        Sign iterations (the paper: 8).

    Returns
    -------
    array of shape (..., n, n)
        ``dL/dA`` as the paper computes it (not symmetrised).
    """
    xp = array_namespace(Y)
    if inverse:
        Y2 = Y @ Y
        nz = _fro(xp, Y)
        return _sign_lyapunov(Y / nz, -(Y2 @ G @ Y2) / nz, xp, iters)
    rs = xp.sqrt(_fro(xp, A))
    return _sign_lyapunov(Y / rs, G / rs, xp, iters)


def eigh_root(A: Array, /, *, inverse: bool = False) -> Array:
    """``V diag(l^(+-1/2)) V^H`` by ``eigh``: differentiable by the library's autodiff.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive definite matrices.
    inverse : bool, optional
        ``A^(-1/2)`` instead of ``A^(1/2)``.

    Returns
    -------
    array of shape (..., n, n)
        The root.
    """
    xp = array_namespace(A)
    w, V = xp.linalg.eigh(A)
    f = 1 / xp.sqrt(w) if inverse else xp.sqrt(xp.clip(w, 0))
    VH = (
        xp.conj(xp.matrix_transpose(V)) if xp.isdtype(V.dtype, "complex floating") else xp.matrix_transpose(V)
    )
    return (V * f[..., None, :]) @ VH


def eigh_root_value_and_vjp(A: Array, G: Array, /, *, inverse: bool = False) -> tuple[Array, Array]:
    """``(eigh_root(A), eigh_root_vjp(A, G))`` from one eigendecomposition (as autodiff keeps it).

    Parameters
    ----------
    A : array of shape (..., n, n)
        The input (Hermitian positive definite).
    G : array of shape (..., n, n)
        The cotangent ``dL/dY``.
    inverse : bool, optional
        Whether the root is ``A^(-1/2)``.

    Returns
    -------
    tuple of arrays of shape (..., n, n)
        The root and ``dL/dA``.
    """
    xp = array_namespace(A)
    w, V = xp.linalg.eigh(A)
    r = xp.sqrt(xp.clip(w, 0))
    f = 1 / r if inverse else r
    VH = (
        xp.conj(xp.matrix_transpose(V)) if xp.isdtype(V.dtype, "complex floating") else xp.matrix_transpose(V)
    )
    Y = (V * f[..., None, :]) @ VH
    ssum = r[..., :, None] + r[..., None, :]
    D = -1 / (r[..., :, None] * r[..., None, :] * ssum) if inverse else 1 / ssum
    Gs = (G + xp.conj(xp.matrix_transpose(G))) / 2
    return Y, V @ ((VH @ Gs @ V) * D) @ VH


def eigh_root_vjp(A: Array, G: Array, /, *, inverse: bool = False) -> Array:
    """The gradient autodiff gives through :func:`eigh_root` (Daleckii–Krein, Hermitian ``G`` part).

    Parameters
    ----------
    A : array of shape (..., n, n)
        The input (Hermitian positive definite).
    G : array of shape (..., n, n)
        The cotangent ``dL/dY``.
    inverse : bool, optional
        Whether the root is ``A^(-1/2)``.

    Returns
    -------
    array of shape (..., n, n)
        ``dL/dA``.
    """
    return eigh_root_value_and_vjp(A, G, inverse=inverse)[1]


def eigh_power(A: Array, p: float, /) -> Array:
    """``V diag(l^p) V^H`` by ``eigh`` (negative rounding errors clipped for ``p > 0``); library autodiff.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive definite matrices.
    p : float
        The exponent.

    Returns
    -------
    array of shape (..., n, n)
        ``A^p``.
    """
    xp = array_namespace(A)
    w, V = xp.linalg.eigh(A)
    f = (xp.clip(w, 0) if p > 0 else w) ** p
    return (V * f[..., None, :]) @ _mH(xp, V)


def eigh_power_value_and_vjp(A: Array, G: Array, p: float, /) -> tuple[Array, Array]:
    """``(A^p, dL/dA)`` by one eigendecomposition: the gradient autodiff gives through :func:`eigh_power`.

    The divided differences ``(l_i^p - l_j^p) / (l_i - l_j)`` are formed directly
    (``p l^(p-1)`` for equal eigenvalues), as autodiff through ``eigh`` would.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive definite matrices.
    G : array of shape (..., n, n)
        The cotangent ``dL/d(A^p)``.
    p : float
        The exponent.

    Returns
    -------
    tuple of arrays of shape (..., n, n)
        ``A^p`` and ``dL/dA``.
    """
    xp = array_namespace(A)
    w, V = xp.linalg.eigh(A)
    w = xp.clip(w, 0) if p > 0 else w
    f = w**p
    VH = _mH(xp, V)
    wi, wj = w[..., :, None], w[..., None, :]
    diff = wi - wj
    same = diff == 0
    D = xp.where(
        same,
        p * wi ** (p - 1),
        (f[..., :, None] - f[..., None, :]) / xp.where(same, xp.ones_like(diff), diff),
    )
    Gs = (G + _mH(xp, G)) / 2
    return (V * f[..., None, :]) @ VH, V @ ((VH @ Gs @ V) * D) @ VH


def coupled_newton_inverse_root(A: Array, r: int, /, *, max_iters: int = 100) -> Array:
    """``A^(-1/r)`` for an integer ``r >= 1`` by the coupled Newton iteration (forward only).

    ``M_0 = z A``, ``X_0 = z^(1/r) I``; ``T = ((r + 1) I - M) / r``, ``X <- X T``,
    ``M <- T^r M`` (``M -> I``, ``X -> A^(-1/r)``), while ``max|M - I|`` over the batch
    decreases (eager: reads the error every iteration, as optimizer implementations do).
    ``r + 1 + ceil(log2 r)``-ish products per iteration (4 for ``r = 4``).

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive definite matrices.
    r : int
        The root: ``A^(-1/r)``.
    max_iters : int, optional
        At most this many iterations.

    Returns
    -------
    array of shape (..., n, n)
        ``A^(-1/r)``.
    """
    xp = array_namespace(A)
    n = A.shape[-1]
    eye = _eye(xp, A)
    # l_max by 10 power iterations per matrix (a Rayleigh quotient, from below)
    v = xp.ones((*A.shape[:-1], 1), dtype=A.dtype, device=device(A))
    for _ in range(10):
        v = A @ v
        v = v / xp.sqrt(xp.sum(v * v, axis=-2, keepdims=True))
    lmax = xp.sum(v * (A @ v), axis=-2, keepdims=True)
    z = (1 + r) / (2 * lmax)
    M = A * z
    X = eye * z ** (1 / r)
    err = float("inf")  # (max|M_0 - I| may grow in the first step: the entries, not the spectrum)
    for _ in range(max_iters):
        T = ((r + 1) * eye - M) / r
        M_new = _integer_power(T, r) @ M
        new = float(xp.max(xp.abs(M_new - eye)))
        if not new < err:  # stagnated at rounding (or diverging): keep the last iterate
            break
        X, M, err = X @ T, M_new, new
        if err <= n * float(xp.finfo(A.dtype).eps):
            break
    return X


def _integer_power(T: Array, r: int) -> Array:
    """``T^r`` by repeated squaring."""
    out, base = None, T
    while r:
        if r & 1:
            out = base if out is None else out @ base
        r >>= 1
        if r:
            base = base @ base
    return out


def _mH(xp: Any, V: Array) -> Array:
    t = xp.matrix_transpose(V)
    return xp.conj(t) if xp.isdtype(V.dtype, "complex floating") else t


@cache
def published_torch() -> Any:
    """The published algorithm as a ``torch.autograd.Function`` (``.apply(A, inverse)``)."""
    import torch

    from .backends._torch import _lu_bug_applies

    def solve(M: Any, B: Any) -> Any:
        if _lu_bug_applies(M):
            # the same guard as matsqrt's own: torch's batched CPU LU with several threads
            # returns bad pivots for n >~ 200 (pytorch#181570); solve matrix by matrix
            n = M.shape[-1]
            pairs = zip(M.reshape(-1, n, n).unbind(0), B.reshape(-1, n, n).unbind(0), strict=True)
            return torch.stack([torch.linalg.solve(m, b) for m, b in pairs]).reshape(B.shape)
        return torch.linalg.solve(M, B)

    class PublishedSqrtm(torch.autograd.Function):
        """MPA forward, Lyapunov (8 sign iterations) backward; not twice differentiable."""

        @staticmethod
        def forward(A: Any, inverse: bool) -> Any:
            return published_sqrtm(A, inverse=inverse, solve=solve)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            A, inverse = inputs
            ctx.inverse = inverse
            ctx.save_for_backward(A, output)

        @staticmethod
        def backward(ctx: Any, G: Any) -> tuple[Any, None]:
            A, Y = ctx.saved_tensors
            return published_sqrtm_vjp(A, Y, G, inverse=ctx.inverse), None

    return PublishedSqrtm


@cache
def published_jax(inverse: bool = False) -> Any:
    """The published algorithm as a ``jax.custom_vjp`` function of ``A``."""
    import jax

    @jax.custom_vjp
    def root(A: Any) -> Any:
        return published_sqrtm(A, inverse=inverse)

    def fwd(A: Any) -> tuple[Any, tuple[Any, Any]]:
        Y = published_sqrtm(A, inverse=inverse)
        return Y, (A, Y)

    def bwd(res: tuple[Any, Any], G: Any) -> tuple[Any]:
        A, Y = res
        return (published_sqrtm_vjp(A, Y, G, inverse=inverse),)

    root.defvjp(fwd, bwd)
    return root
