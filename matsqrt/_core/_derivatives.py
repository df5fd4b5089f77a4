"""Derivatives of the matrix roots: tangent (JVP) and cotangent (VJP) maps.

Three ways, chosen by ``Options.backward``:

``"rational"`` (method="pade" only)
    The exact derivative of the Padé approximant that the forward evaluated,
    reusing its shifted inverses ``R_k = (A/s + d_k I)^-1``. With ``s`` held
    fixed (the exact root is homogeneous, so this is the derivative of the
    root up to the approximation error)::

        d(A^(1/2))  = s^(-1/2) (c dA + sum a_k d_k R_k dA R_k)
        d(A^(-1/2)) = -s^(-3/2) sum a_k R_k dA R_k

    2m matrix products, no iteration. For the product form ``r_m = Q^-1 P``
    (Hermitian input) the derivative at the Hermitian ``X = A/s`` is
    self-adjoint, so the same map serves the JVP and the VJP::

        dU = X E + E X = He(X E),  d(U^2) = He(U dU)      (He(M) = M + M^H)
        dP = dP_e + E P_o + X dP_o   (and dQ alike)
        d r_m = Q^-1 (dP - dQ r_m)

    with ``E = dA / s``: 8 products for the inverse root, 10 for the root.
``"lyapunov"``
    The paper's: ``Y dY + dY Y = dA`` for ``Y = A^(1/2)``; for ``Z = A^(-1/2)``,
    ``Z dZ + dZ Z = -Z^2 dA Z^2``; solved by the Newton–Schulz sign iteration
    (:mod:`._sign`): to convergence on eager arrays, ``TRACED_BWD_ITERS``
    iterations (the paper's 8) where values cannot be inspected. The VJP solves the adjoint equation with ``Y^H``.
    General (non-Hermitian) input: Newton's sign iteration with inverses
    (:func:`._sign.newton_sylvester`), which converges for every root's spectrum.
``"eigh"``
    Exact, Daleckii–Krein: with ``A = V diag(l) V^H``,
    ``dY = V ((V^H dA V) * D) V^H`` where ``D_ij = 1 / (sqrt l_i + sqrt l_j)``
    (square root) or ``-1 / (sqrt(l_i l_j) (sqrt l_i + sqrt l_j))`` (inverse).
    Finite at repeated eigenvalues; Hermitian input only.

All three are linear in the (co)tangent with fixed trip counts, so JAX can
transpose the JVP and torch can differentiate the VJP again.
"""

from __future__ import annotations

import math
from typing import Any

from ._forward import clip_eigenvalues, plain_if_one, product_form, scalar_power
from ._ops import Ops
from ._options import Options
from ._sign import newton_sylvester, sign_sylvester
from ._zolotarev import zolotarev_tangent

Array = Any

__all__ = ["daleckii_krein", "jvp", "singular_floor", "vjp"]


def jvp(dA: Array, A: Array, out: Array, res: Any, opt: Options, ops: Ops) -> Array:
    """Tangent of ``out = A^(+-1/2)`` along ``dA``.

    For Hermitian input the root is a function on Hermitian matrices: only the
    Hermitian part of ``dA`` counts (and the forward reads one triangle).
    """
    return _derivative(dA, A, out, res, opt, ops, adjoint=False)


def vjp(G: Array, A: Array, out: Array, res: Any, opt: Options, ops: Ops) -> Array:
    """Cotangent ``dL/dA`` given ``G = dL/d(out)`` (conjugate-linear convention of torch).

    For Hermitian input the gradient is Hermitian: the cotangent's Hermitian part
    is used (the output is Hermitian by construction).
    """
    return _derivative(G, A, out, res, opt, ops, adjoint=True)


def _derivative(T: Array, A: Array, out: Array, res: Any, opt: Options, ops: Ops, *, adjoint: bool) -> Array:
    if opt.backward == "rational" and opt.pade_form == "product":
        return _rational_product(T, res, opt, ops)  # takes T's Hermitian part itself
    if opt.hermitian:
        T = ops.hermitian_part(T)
    if opt.backward == "rational" and opt.method == "zolotarev":
        return zolotarev_tangent(T, A, res, opt, ops)  # self-adjoint (Hermitian input)
    if opt.backward == "rational":
        return _rational(T, res, opt, ops, adjoint=adjoint)
    if opt.backward == "eigh":  # self-adjoint: the same map both ways
        # method="eigh" hands over its eigendecomposition; otherwise compute one
        w, V = res if opt.method == "eigh" and res is not None else _eigh(A, ops)
        return daleckii_krein(T, w, V, opt.exponent, ops)
    return _lyapunov(T, out, opt, ops, adjoint=adjoint)


def _rational(T: Array, res: Any, opt: Options, ops: Ops, *, adjoint: bool) -> Array:
    xp = ops.xp
    R, s = res
    if adjoint and not opt.hermitian:
        R = ops.mH(R)
    c, shifts, weights = ops.coefficients("fractions", opt.order, opt.q)
    a = ops.constants(weights, T, T.ndim)
    d = ops.constants(shifts, T, T.ndim)
    RTR = R @ T[None, ...] @ R
    # out = s^p F(A / s): the derivative carries s^(p - 1)
    if opt.inverse:
        return -xp.sum(a * RTR, axis=0) / scalar_power(s, 1 + opt.power, xp)
    return (c * T + xp.sum((a * d) * RTR, axis=0)) / scalar_power(s, 1 - opt.power, xp)


def _rational_product(T: Array, res: Any, opt: Options, ops: Ops) -> Array:
    # As in the forward (_forward._pade_product), X = A_n / t is not formed and
    # P, Q carry a factor t: with E = dA_n = T / s_n (so dX = E / t), the
    # tangents below are t dP and t dQ, and Qi = (t Q)^-1. Intermediates are
    # released as soon as they are dead, for the adapter to reuse their memory.
    An, Bp, Bq, Qi, Yi, *pows, t, s = res
    t = plain_if_one(t, ops)
    (pe, qe, po, qo), _ = product_form(opt, ops, An.dtype)  # the forward's coefficients
    mm = ops.matmul
    s_n = s / t  # the normalisation of A_n = A / s_n
    w = 1 / (t * t)
    E = ops.hermitian_part(T, 1 / s_n)
    M = mm(An, E)
    dS = [ops.hermitian_part(M, 2 * w)]  # d(X^2) = X dX + dX X
    ops.release(M)
    if len(pows) == 2:  # d(X^4) = X^2 d(X^2) + d(X^2) X^2
        M = mm(pows[0], dS[0])
        dS.append(ops.hermitian_part(M, 2 * w))
        ops.release(M)

    def t_d(c_e: tuple[float, ...], c_o: tuple[float, ...], Bc: Array) -> Array:
        """``t d(c_e(X^2) + X c_o(X^2)) = t dc_e + E c_o + A_n dc_o``."""
        dc_o = ops.lincomb(c_o[1:], dS)
        out = ops.lincomb([t * cj if cj else 0.0 for cj in c_e[1:]], dS)
        out = mm(An, dc_o, into=mm(E, Bc, into=out))
        ops.release(dc_o)
        return out

    dP = t_d(pe, po, Bp)
    dQ = t_d(qe, qo, Bq)
    ops.release(*dS)
    W = mm(dQ, Yi, into=dP, alpha=-1.0)  # t dP - t dQ r
    ops.release(dQ)
    dYi = mm(Qi, W)
    ops.release(W)
    # out = s^p F(A / s) (s includes t): the tangent is s^p dF
    sp = scalar_power(s, opt.power, ops.xp)
    if opt.inverse:
        return ops.hermitian_part(dYi, 1 / sp)
    # d(X r(X)) = (E Yi + A_n dYi) / t
    out = mm(An, dYi, into=mm(E, Yi))
    ops.release(dYi, E)
    return ops.hermitian_part(out, sp / t)


#: sign iterations of ``backward="lyapunov"`` where values cannot be inspected (the
#: paper's configuration); eager calls iterate until the equation is solved
TRACED_BWD_ITERS = 8


def _lyapunov(T: Array, out: Array, opt: Options, ops: Ops, *, adjoint: bool) -> Array:
    M = ops.mH(out) if adjoint and not opt.hermitian else out
    if opt.hermitian:
        iters = opt.bwd_iters if opt.bwd_iters is not None or ops.eager else TRACED_BWD_ITERS

        def solve(C: Array) -> Array:
            return sign_sylvester(M, None, C, iters, ops)
    else:
        # the root of a general matrix has its spectrum anywhere in the open right half-plane,
        # where Newton–Schulz may diverge (beyond pi/4 from the real axis): Newton's iteration
        def solve(C: Array) -> Array:
            return newton_sylvester(M, None, C, None, ops)

    if not opt.inverse:
        return solve(T)
    M2 = M @ M
    if adjoint:
        return -(M2 @ solve(T) @ M2)
    return solve(-(M2 @ T @ M2))


def _eigh(A: Array, ops: Ops) -> tuple[Array, Array]:
    w, V = ops.eigh(A)
    return clip_eigenvalues(w, ops.xp), V


def singular_floor(w: Array, xp: Any) -> Array:
    """``n eps max|w|`` per matrix (shape ``(..., 1)``): eigenvalues below it are 0 to rounding."""
    n = w.shape[-1]
    eps = float(xp.finfo(w.dtype).eps)
    return n * eps * xp.max(xp.abs(w), axis=-1, keepdims=True)


def daleckii_krein(
    T: Array, w: Array | None, V: Array, p: float, ops: Ops, *, roots: Array | None = None
) -> Array:
    """Apply the (self-adjoint) Fréchet derivative of ``A^p`` in the eigenbasis.

    ``w >= 0`` are the eigenvalues of ``A`` and ``V`` its eigenvectors. The
    divided differences ``D_ij = (w_i^p - w_j^p) / (w_i - w_j)`` (``p w_i^(p-1)``
    for equal eigenvalues) are formed without cancellation: with ``M = max``,
    ``m = min`` and ``L = log(m / M) <= 0``, ``D = M^(p-1) expm1(p L) / expm1(L)``;
    for ``p = +-1/2`` the closed forms ``1 / (sqrt(w_i) + sqrt(w_j))`` and
    ``-1 / (sqrt(w_i w_j) (sqrt(w_i) + sqrt(w_j)))``. Finite at repeated
    eigenvalues. For ``p = +-1/2``, ``roots`` (the square roots of ``w``) may be given
    instead of ``w``: squaring them could overflow or underflow.

    Singular input (``p > 0``): the derivative is infinite on the null space
    (``w_i = w_j = 0``), and rounding cannot tell eigenvalues below ``n eps max(w)`` from 0.
    Eigenvalues that are 0 (clipped rounding-level negative ones) are lifted to that level
    (:func:`singular_floor`): a finite gradient, that of ``A^p`` with its null space lifted
    to the rounding level, like the computed eigenvalues next to it.
    """
    xp = ops.xp
    if p > 0:  # eigenvalues clipped to 0 (rounding-level negative ones) are lifted to the floor
        if roots is not None:
            # sqrt(n eps max w) = sqrt(n eps) max r, without squaring r
            floor = math.sqrt(roots.shape[-1] * float(xp.finfo(roots.dtype).eps))
            roots = xp.where(roots > 0, roots, floor * xp.max(roots, axis=-1, keepdims=True))
        else:
            w = xp.where(w > 0, w, singular_floor(w, xp))
    if p == 0.5:
        r = xp.sqrt(w) if roots is None else roots
        D = 1 / (r[..., :, None] + r[..., None, :])
    elif p == -0.5:
        r = xp.sqrt(w) if roots is None else roots
        ri, rj = r[..., :, None], r[..., None, :]
        D = -1 / (ri * rj * (ri + rj))
    else:
        wi, wj = w[..., :, None], w[..., None, :]
        big = xp.maximum(wi, wj)
        one = xp.ones_like(big)
        ratio = xp.minimum(wi, wj) / xp.where(big > 0, big, one)  # in [0, 1]
        inner = (ratio > 0) & (ratio < 1)
        L = xp.log(xp.where(inner, ratio, xp.full_like(big, 0.5)))
        # (big^p - small^p) / (big - small) = big^(p-1) expm1(p L) / expm1(L); 1 at small = 0, p at small = big
        frac = xp.where(inner, xp.expm1(p * L) / xp.expm1(L), xp.where(ratio > 0, p * one, one))
        D = big ** (p - 1) * frac
    VH = ops.mH(V)
    return V @ ((VH @ T @ V) * xp.astype(D, T.dtype)) @ VH
