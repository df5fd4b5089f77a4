"""Forward methods: A -> A^(1/2) or A^(-1/2) (or A^p), batched over leading axes.

Every method first normalises ``A_n = A / s`` with a positive scalar ``s`` per
matrix (shape ``(..., 1, 1)``), approximates the root of ``A_n`` and rescales:
``A^(1/2) = s^(1/2) A_n^(1/2)``, ``A^(-1/2) = s^(-1/2) A_n^(-1/2)``.
Other powers (``Options.power``; Padé in partial fractions and eigh only) alike:
``A^p = s^p A_n^p``, with ``A_n^(-q)`` approximated by ``r_m`` and, for ``p > 0``,
``A_n^p = A_n r_m(A_n)`` with ``q = 1 - p``.

Normalisation (``Options.scaling``)
    ``"frobenius"``: ``s = ||A||_F``, the paper's choice; the spectrum of
    ``A_n`` lies in ``(0, 1]``, which the Taylor series and Newton–Schulz need.
    ``"mean"``: ``s = |trace(A)| / n``, the mean eigenvalue (general input:
    at least ``||A||_F / n``, as the trace may cancel). The Padé
    approximant converges for any positive spectrum and its error is symmetric
    in ``x -> 1/x``, so a scale inside the spectrum is far better than one
    above it: at n = 64 the Frobenius norm puts a flat spectrum at 1/8.
    ``"estimate"``: ``s = sqrt(l_max l_min)`` from power iterations on ``A``
    and ``A^-1`` (one extra inverse); used when ``tol`` chooses the order.

Padé forms (``Options.pade_form``)
    ``"fractions"``: ``r_m`` as ``c + sum a_k (A_n + d_k I)^-1``, m Hermitian
    inverses; accurate at any order and any conditioning.
    ``"product"``: ``r_m = Q^-1 P`` with ``P``, ``Q`` polynomials with positive
    coefficients (:func:`._coefficients.pade_polynomials`; for other powers from the
    partial fractions, :func:`product_form`), evaluated in
    ``U = A_n^2`` as ``P = P_e(U) + A_n P_o(U)``: for m = 5 four products and
    one Hermitian inverse instead of five inverses (on a CPU at n <= 64 one
    batched inverse costs 15-20 products). ``Q(A_n) >= I``, and its condition
    number is at most ``Q(x_max)``; to bound it the spectrum is scaled down
    further, by ``t = max(1, b / PRODUCT_BOUND)`` with ``b`` an upper bound of
    ``x_max`` from ``||U^k||_F^(1/2k)``, so ``cond Q(A_n) <= Q(PRODUCT_BOUND)``
    (8 in single precision, 64 in double). Used for Hermitian input at low
    orders without ``tol``.

Each method returns ``(out, res)``; ``res`` holds what the rational backward
reuses (the shifted inverses, or the product form's matrices, and ``s``) or
``None``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from ._coefficients import COEFFICIENTS, pade_polynomials, split_even_odd, taylor_coefficients
from ._ops import Ops, scalar_power
from ._options import Options
from ._spectrum import estimate_spectrum
from ._zolotarev import zolotarev_root

Array = Any

__all__ = [
    "clip_eigenvalues",
    "estimate_spectrum",
    "forward",
    "pade_product_parts",
    "plain_if_one",
    "product_form",
    "scalar_power",
    "scale_of",
]

#: the product form scales the spectrum of ``A_n`` below this bound (single, double
#: precision): cond Q(A_n) <= Q(bound), about 1.3e6 and 1.5e10 for m = 5. Measured on
#: spiked covariances (rank one + small ridge): 16 lets float32 Cholesky of Q fail.
PRODUCT_BOUND = {"single": 8.0, "double": 64.0}
#: the highest Padé order of the product form (evaluated with ``U`` and ``U^2`` only);
#: above it the rounding of Q(A_n) grows fast (measured at cond 50, float64: the gradient
#: differs from the partial fractions' by 1e5 eps at order 6, 1e7 eps at order 7)
PRODUCT_MAX_ORDER = 5
#: ... and for powers whose approximant is of x^(-q) with q at most this (p in [-0.85, 0) or
#: p >= 0.15): nearer q = 1 the spectrum bound falls towards 1 and the extra scaling moves the
#: spectrum off the expansion point (measured, float32, cond 100: p = 0.05 2.1e-3 against the
#: fractions' 7.0e-4, p = -0.9 6.4e-3 against 3.7e-3; p = 0.15 and -0.85 within 1.2x)
PRODUCT_MAX_Q = 0.85


def forward(A: Array, opt: Options, ops: Ops, residuals: bool = True) -> tuple[Array, Any]:
    """Compute ``A^(+-1/2)`` by ``opt.method``; return ``(out, residuals)``.

    ``residuals=False``: no backward will follow; the residuals returned are ``None``
    and the product form solves with ``Q(X)`` instead of inverting it.
    """
    if opt.method == "eigh":
        out, res = _eigh_root(A, opt, ops)
        return out, (res if residuals else None)
    if opt.method == "zolotarev":
        return zolotarev_root(A, opt, ops, residuals)
    if opt.method == "denman_beavers":
        return denman_beavers(A, opt, ops), None
    s0 = scale_of(A, opt.scaling, ops, opt.hermitian)
    # the zero matrix: normalise by 1 and rescale by 0 (its root is 0, its inverse root inf)
    zero = ops.known(ops.xp.all(s0 > 0)) is not True
    s = ops.xp.where(s0 > 0, s0, ops.xp.ones_like(s0)) if zero else s0
    nonzero = ops.xp.astype(s0 > 0, s0.dtype) if zero else None
    An = A / s
    factor = 1.0
    if opt.method == "pade" and opt.pade_form == "product":
        out_n, mats, t = _pade_product(An, opt, ops, residuals)
        s = s * t  # the product form's extra scaling
        res = (*mats, t, s) if residuals else None
        if not opt.inverse:
            factor = 1 / t  # out_n = A_n r(X) = t X r(X)
    elif opt.method == "pade":
        out_n, R = _pade(An, opt, ops)
        res = (R, s)
    elif opt.method == "taylor":
        out_n, res = _taylor(An, opt, ops), None
    elif opt.method == "newton_schulz":
        out_n, res = _newton_schulz(An, opt, ops), None
    else:  # pragma: no cover - validated earlier
        msg = f"unknown method {opt.method!r}"
        raise ValueError(msg)
    rs = scalar_power(s, opt.power, ops.xp)
    scale = 1 / rs if opt.inverse else rs * factor
    if zero and not opt.inverse:
        scale = scale * nonzero
    out = ops.hermitian_part(out_n, scale) if opt.hermitian else out_n * scale
    if zero and opt.inverse:
        out = ops.xp.where(nonzero > 0, out, ops.xp.full_like(out, math.inf))
    return out, (res if residuals else None)


def scale_of(A: Array, scaling: str, ops: Ops, hermitian: bool = True) -> Array:
    """The normalising scalar ``s >= 0`` of each matrix, shape ``(..., 1, 1)``; 0 only for a zero matrix.

    Norms are computed without overflow or underflow at any representable scale.
    """
    xp = ops.xp
    if scaling == "frobenius":
        s = ops.fro_safe(A)
    elif scaling == "mean":
        n = A.shape[-1]
        # |trace| / n as the mean of the diagonal scaled by its largest entry: no overflow
        d = xp.linalg.diagonal(A)
        m = xp.max(xp.abs(d), axis=-1, keepdims=True)
        m = xp.sqrt(xp.where(m > 0, m, xp.ones_like(m)))  # divided twice: 1 / max|d| may be subnormal
        s = (xp.abs(xp.sum(d / m / m, axis=-1, keepdims=True)) / n * m * m)[..., None]
        if not hermitian:
            # |trace| / n can be tiny against the spectrum (eigenvalues c +- i: the trace is 2c);
            # ||A||_F / n bounds the spectral radius / n from above, so |lambda / s| <= n
            s = xp.maximum(s, ops.fro_safe(A) / n)
        # a traceless (e.g. zero) matrix, or a trace that overflows, falls back to the norm
        if not ops.known(xp.all((s > 0) & xp.isfinite(s))):
            s = xp.where((s > 0) & xp.isfinite(s), s, ops.fro_safe(A))
    elif scaling == "estimate":
        lo, hi = estimate_spectrum(A, ops, hermitian)
        s = xp.sqrt(lo) * xp.sqrt(hi)
        s = xp.where(xp.isfinite(s) & (s > 0), s, ops.fro_safe(A))
    else:  # pragma: no cover - validated earlier
        msg = f"unknown scaling {scaling!r}"
        raise ValueError(msg)
    return xp.real(s) if xp.isdtype(s.dtype, "complex floating") else s


def _pade(An: Array, opt: Options, ops: Ops) -> tuple[Array, Array]:
    """Padé [m/m] in partial fractions; the m shifted systems in one batch.

    With ``R_k = (A_n + d_k I)^-1`` and ``r_m(x) = c + sum a_k / (x + d_k)``
    approximating ``x^(-q)`` (``q = 1/2`` for the square roots)::

        A_n^(-q)   ~ c I + sum_k a_k R_k
        A_n^(1-q)  ~ c A_n + sum_k a_k (I - d_k R_k)      (= A_n r_m(A_n))

    Both sums have positive weights only. ``R`` has shape ``(m, ..., n, n)``.
    """
    xp = ops.xp
    c, shifts, weights = ops.coefficients("fractions", opt.order, opt.q)
    d = ops.constants(shifts, An, An.ndim)
    a = ops.constants(weights, An, An.ndim)
    eye = ops.eye_like(An)
    shifted = An[None, ...] + d * eye
    R = ops.hpd_inv(shifted) if opt.hermitian else ops.inv(shifted)
    if opt.inverse:
        out = c * eye + xp.sum(a * R, axis=0)
    else:
        out = c * An + math.fsum(weights) * eye - xp.sum((a * d) * R, axis=0)
    return out, R


def _pade_product(
    An: Array, opt: Options, ops: Ops, residuals: bool = True
) -> tuple[Array, tuple[Array, ...] | None, Array]:
    """Padé [m/m] as ``Q(X)^-1 P(X)`` with ``X = A_n / t``; Hermitian input.

    ``X`` is never formed: with ``U = A_n^2`` (and ``U^2`` from m = 4), the
    powers of ``1/t`` join the coefficients, and ``P`` and ``Q`` are both
    multiplied by ``t`` (which leaves ``Q^-1 P`` as it is) so that the products
    ``A_n P_o(X^2) = t X P_o(X^2)`` enter the sums unscaled. Every sum is one
    :meth:`Ops.lincomb` (the identity added on the diagonal, in place where the
    backend allows) or accumulated in a product (:meth:`Ops.matmul`).

    Returns ``(out, (A_n, Bp, Bq, Qi, Yi, U[, U^2]), t)`` with ``Bp = P_o(X^2)``,
    ``Bq = Q_o(X^2)``, ``Qi = (t Q(X))^-1``, ``Yi = r_m(X)`` (what the backward
    reuses) and ``out = Yi`` for the inverse root, ``out = A_n Yi = t X r_m(X)``
    for the root. With ``residuals=False`` (no backward follows) ``Yi`` is solved
    for (:meth:`Ops.hpd_solve`) instead of formed as ``Qi P``: one product less, and
    the intermediates are released as soon as they are dead; the residuals are ``None``.
    """
    xp = ops.xp
    (pe, qe, po, qo), bound = product_form(opt, ops, An.dtype)
    k = len(pe) - 1
    U = An @ An
    pows = [U, U @ U] if k == 2 else [U]
    # x_max <= ||U^k||_F^(1/2k); scale the spectrum into [0, bound]
    t = ops.fro(pows[-1]) ** (1.0 / (2 * k)) / bound
    t = xp.where(t > 1, t, xp.ones_like(t))
    tc = plain_if_one(t, ops)
    w = [1 / tc ** (2 * j + 2) for j in range(k)]  # X^(2j+2) = w_j U^(j+1)

    def even(c: tuple[float, ...], f: Array | float = 1.0) -> Array:
        """``f (c_0 I + sum_j c_(j+1) X^(2j+2))``."""
        coeffs = [f * cj * wj if cj else 0.0 for cj, wj in zip(c[1:], w, strict=True)]
        return ops.lincomb(coeffs, pows, f * c[0])

    Bp = even(po)
    P = ops.matmul(An, Bp, into=even(pe, tc))  # t P(X) = t P_e(X^2) + A_n P_o(X^2)
    if not residuals:
        ops.release(Bp)
    Bq = even(qo)
    Q = ops.matmul(An, Bq, into=even(qe, tc))  # t Q(X)
    if not residuals:  # no backward: solve with Q instead of inverting it (one product less)
        ops.release(Bq, *pows)
        Yi = ops.hpd_solve(Q, P)
        ops.release(Q, P)
        return (Yi if opt.inverse else ops.matmul(An, Yi)), None, t
    Qi = ops.hpd_inv(Q)
    ops.release(Q)
    Yi = ops.matmul(Qi, P)
    ops.release(P)
    out = Yi if opt.inverse else ops.matmul(An, Yi)
    return out, (An, Bp, Bq, Qi, Yi, *pows), t


def plain_if_one(t: Array, ops: Ops) -> Array | float:
    """``1.0`` where every entry of ``t`` is known to be 1 (the common case), else ``t``.

    Coefficients that are plain numbers save a few small array operations per sum.
    """
    return 1.0 if ops.known(ops.xp.all(t == 1)) else t


@cache
def pade_product_parts(m: int) -> tuple[tuple[float, ...], ...]:
    """Coefficients of ``P_e, Q_e, P_o, Q_o`` in powers of ``U`` (``P = P_e(U) + X P_o(U)``), square root."""
    if not 1 <= m <= PRODUCT_MAX_ORDER:
        msg = f"the product form is for Padé orders 1..{PRODUCT_MAX_ORDER}, got {m}"
        raise ValueError(msg)
    return split_even_odd(*pade_polynomials(m), m)


COEFFICIENTS["product_parts"] = pade_product_parts  # (reached through Ops.coefficients)


def product_form(opt: Options, ops: Ops, dtype: Any) -> tuple[tuple[tuple[float, ...], ...], float]:
    """``((P_e, Q_e, P_o, Q_o), bound)`` of the product form for ``opt`` (any power) in ``dtype``.

    Other powers than the square roots: :func:`._coefficients.product_coefficients`
    (the polynomials of ``r_m = P / Q`` from its partial fractions, and the spectrum
    bound with ``cond Q(A_n)`` bounded as for the square root).
    """
    bound = PRODUCT_BOUND["double" if ops.xp.finfo(dtype).eps < 1e-10 else "single"]
    if opt.q == 0.5:
        return ops.coefficients("product_parts", opt.order), bound
    return ops.coefficients("product", opt.order, opt.q, bound)


def _taylor(An: Array, opt: Options, ops: Ops) -> Array:
    """Taylor polynomial of ``(1 - z)^(+-1/2)`` at ``Z = I - A_n``, Paterson–Stockmeyer.

    The coefficients of ``(1 - z)^(1/2)`` are all negative after the first, those
    of ``(1 - z)^(-1/2)`` all positive, so for ``||Z|| <= 1`` no cancellation
    occurs in the sum. Cost: about ``2 sqrt(degree)`` matrix products.
    """
    coeffs = taylor_coefficients(opt.order, -0.5 if opt.inverse else 0.5)
    eye = ops.eye_like(An)
    Z = eye - An
    return _paterson_stockmeyer(coeffs, Z, eye)


def _paterson_stockmeyer(coeffs: tuple[float, ...], Z: Array, eye: Array) -> Array:
    deg = len(coeffs) - 1
    q = max(1, math.isqrt(deg + 1))
    if q * q < deg + 1:
        q += 1
    powers = [eye, Z]
    for _ in range(2, q + 1):
        powers.append(powers[-1] @ Z)
    Zq = powers[q]

    def block(j: int) -> Array:
        acc = None
        for i in range(q):
            k = j * q + i
            if k > deg:
                break
            term = coeffs[k] * powers[i]
            acc = term if acc is None else acc + term
        return acc

    r = deg // q
    out = block(r)
    for j in range(r - 1, -1, -1):
        out = out @ Zq + block(j)
    return out


def _newton_schulz(An: Array, opt: Options, ops: Ops) -> Array:
    """Coupled Newton–Schulz: ``Y -> A_n^(1/2)``, ``Z -> A_n^(-1/2)`` (3 products/step)."""
    eye = ops.eye_like(An)
    T = (3 * eye - An) / 2
    Y, Z = An @ T, T
    for _ in range(opt.order - 1):
        T = (3 * eye - Z @ Y) / 2
        Y, Z = Y @ T, T @ Z
    return Z if opt.inverse else Y


#: Denman–Beavers steps where values cannot be inspected (single, double precision): with
#: the norm scaling enough for moduli spanning 1e6 (single) and 1e12 (double), measured
DB_TRACED_STEPS = {"single": 10, "double": 14}
#: at most this many steps on eager arrays
DB_MAX_STEPS = 40
#: the iteration is scaled while ``||M - I||_F`` exceeds this
DB_SCALE_UNTIL = 1e-2


def denman_beavers(A: Array, opt: Options, ops: Ops) -> Array:
    """The product form of the scaled Denman–Beavers iteration (Higham, *Functions of Matrices*, 6.3).

    With ``A_n = A / s`` (``s = ||A||_F / sqrt(n)``), ``M_0 = A_n``, ``X_0 = A_n`` (root) or
    ``I`` (inverse root)::

        X <- mu X (I + M^-1 / mu^2) / 2
        M <- (I + (mu^2 M + M^-1 / mu^2) / 2) / 2

    ``M -> I`` and ``X -> A_n^(+-1/2)`` for every matrix with no eigenvalue on the closed
    negative real axis: it is Newton's sign iteration in disguise, and converges quadratically
    wherever the principal root exists. ``mu = (||M^-1||_F / ||M||_F)^(1/4)`` (norm scaling)
    while ``||M - I||_F > DB_SCALE_UNTIL``. One inverse and one product per step.

    Certificate: ``X = A_n^(+-1/2) M^(1/2)`` (all iterates are functions of ``A``), so the
    relative error of ``X`` is at most ``||M^(1/2) - I|| ~ ||M - I||_F / 2``. Eager arrays
    iterate until that is at most ``opt.tol`` (or stops decreasing: the rounding floor), and
    warn where it stays above; traced arrays take :data:`DB_TRACED_STEPS`.
    """
    xp = ops.xp
    n = A.shape[-1]
    s = ops.fro_safe(A) / math.sqrt(n)
    s = xp.where(s > 0, s, xp.ones_like(s))
    s = xp.real(s) if xp.isdtype(s.dtype, "complex floating") else s
    M = A / s
    eye = ops.eye_like(M)
    X = M if not opt.inverse else eye
    eps = float(xp.finfo(A.dtype).eps)
    steps = DB_MAX_STEPS if ops.eager else DB_TRACED_STEPS["double" if eps < 1e-10 else "single"]
    target = 2 * opt.tol if opt.tol is not None else 4 * n * eps
    previous = math.inf
    reached = math.inf
    cond = math.nan
    for k in range(steps):
        Mi = ops.inv(M)
        if k == 0 and ops.eager and opt.tol is not None:
            cond = ops.read(xp.max(ops.fro(M) * ops.fro(Mi)))  # the Frobenius condition number of A
        far = ops.fro(M - eye) > DB_SCALE_UNTIL
        mu = xp.sqrt(xp.sqrt(ops.fro(Mi) / ops.fro(M)))
        mu = xp.where(far & xp.isfinite(mu) & (mu > 0), mu, xp.ones_like(mu))
        mu2 = mu * mu
        X = mu * ops.matmul(X, (eye + Mi / mu2) / 2)
        M = (eye + (mu2 * M + Mi / mu2) / 2) / 2
        if ops.eager:
            d = ops.read(xp.max(ops.fro(M - eye)))  # NaN where an inverse failed
            reached = d / 2
            if d <= target or (d < DB_SCALE_UNTIL and d > previous / 2) or not math.isfinite(d):
                break  # certified, or at the rounding floor (no longer contracting), or failed
            previous = d
    if ops.eager:
        from ._options import rounding_floor, warn_accuracy

        limit = opt.tol if opt.tol is not None else DB_SCALE_UNTIL
        floor = rounding_floor(eps, cond, opt.inverse) if math.isfinite(cond) else 0.0
        if not reached <= max(limit, 2 * n * eps):
            what = f"tol={opt.tol:g}" if opt.tol is not None else "convergence"
            warn_accuracy(
                f"the Denman–Beavers iteration did not reach {what}: its certificate "
                f"||M - I||_F / 2 is {reached:.2g} (the matrix is close to having an eigenvalue on the "
                "negative real axis, or numerically singular)"
            )
        elif opt.tol is not None and floor > opt.tol:
            warn_accuracy(
                f"tol={opt.tol:g} is out of reach for this input in {A.dtype} (condition number about "
                f"{cond:.2g}): rounding limits the result to about {floor:.2g}"
            )
    rs = xp.sqrt(s)
    out = X / rs if opt.inverse else X * rs
    return ops.hermitian_part(out) if opt.hermitian else out


def _eigh_root(A: Array, opt: Options, ops: Ops) -> tuple[Array, tuple[Array, Array]]:
    """The power through ``A = V diag(w) V^H``; ``(w, V)`` (``w`` clipped at 0) are kept for the backward."""
    xp = ops.xp
    # a NaN or Inf matrix (check_finite=False) gives NaN, not an error for its whole batch
    # (NumPy and torch raise where the eigensolver fails): solved as the identity, then masked
    finite = ops.all_finite(A)
    ok = None if finite else xp.all(xp.isfinite(A), axis=(-2, -1))
    w_raw, V = ops.eigh(A if ok is None else xp.where(ok[..., None, None], A, ops.eye_like(A)))
    if ok is not None:
        w_raw = xp.where(ok[..., None], w_raw, xp.full_like(w_raw, math.nan))
    w = clip_eigenvalues(w_raw, xp)  # negative powers of negative eigenvalues stay NaN
    if opt.inverse:
        # an eigenvalue at or below eps max|w| is rounding noise (its relative error is 1 or
        # more): the inverse root of such a numerically singular matrix is NaN (eager calls
        # refuse it), not noise of size 1 / sqrt(eps)
        tiny = w_raw <= float(xp.finfo(w_raw.dtype).eps) * xp.max(xp.abs(w_raw), axis=-1, keepdims=True)
        w_raw = xp.where(tiny, xp.full_like(w_raw, math.nan), w_raw)
    if opt.power == 0.5:
        f = 1 / xp.sqrt(w_raw) if opt.inverse else xp.sqrt(w)
    else:
        f = (w_raw if opt.inverse else w) ** opt.exponent
    return (V * f[..., None, :]) @ ops.mH(V), (w, V)


def clip_eigenvalues(w: Array, xp: Any) -> Array:
    """Eigenvalues with negative rounding errors set to 0 (NaN, from NaN input with check_finite=False, stays NaN)."""
    return xp.where(w < 0, xp.zeros_like(w), w)
