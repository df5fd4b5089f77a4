"""Zolotarev's best rational approximants of ``x^(-1/2)``, composed and certified.

The approximant
---------------
On ``[k^2, 1]`` the best relative approximant of ``x^(-1/2)`` of type ``(m, m)``
(Zolotarev 1877; it is the odd best approximant ``x r(x^2)`` of the sign function,
Nakatsukasa & Freund 2016) is::

    r(x) = M prod_l (x + c_(2l)) / (x + c_(2l-1))  =  M (1 + sum_l a_l / (x + p_l)),
    c_j = k^2 sc^2(j K' / (2m + 1); k'),   k' = sqrt(1 - k^2),  K' = K(k'),

with ``p_l = c_(2l-1) > 0`` and weights ``a_l > 0`` (the ``c_j`` interlace), so every
shifted matrix ``A + p_l I`` of a positive semidefinite ``A`` is positive definite and
the sums have no cancellation. ``sqrt(x) r(x)`` equioscillates between ``1 - delta``
and ``1 + delta`` at the ``2m + 2`` points ``k^2 / dn^2(j K' / (2m + 1); k')``, the two
ends included, which fixes ``M`` and gives ``delta`` exactly (``zolotarev``).

The elliptic functions are computed in double precision without the loss of accuracy
that a modulus ``k'`` near 1 (a large condition number) brings: by Jacobi's imaginary
transformation ``sc(u; k') = -i sn(iu; k)``, and ``sn(iu; k)`` by the descending
Landen transformation in the *small* modulus ``k`` (DLMF 22.7.1), which converges
quadratically from ``sn(iu; 0) = i sinh(u)``; ``K(k') = pi / (2 agm(1, k))``.

Composition, coupled and certified
----------------------------------
One step on ``A_n = A / s`` (spectrum in ``[k^2, 1]``) gives both roots, each in its
well-scaled form (the root is never formed as ``A Z``, whose rounding carries
``eps kappa`` into the large eigenvalues)::

    Z_1 = M (I + sum_l a_l R_l),       R_l = (A_n + p_l I)^-1
    Y_1 = M (A_n + sum_l a_l (I - p_l R_l))

Both are ``A_n^(+-1/2) phi(A_n)`` with the same ``phi = sqrt(x) r(x)``, so
``B = Y_1 Z_1 = phi^2`` has its spectrum in ``[(1 - delta)^2, (1 + delta)^2]``, and
``||B - I||`` measures the error. Each further step applies the approximant of
``B^(-1/2)`` on that (small) interval, ``W = r(B)``, to both: ``Y <- Y W``,
``Z <- W Z`` (all are functions of ``A``: they commute). Composed approximants reach
a very high degree for the price of the sum of their degrees.

Eager arrays: after each step ``B`` is formed and ``||B - I||_2`` (power iteration)
read; the next step's interval comes from that measurement, and the iteration stops
when it certifies ``tol`` (the error of ``Y`` and ``Z`` is about ``||B - I|| / 2``).
A too-optimistic spectrum estimate thus costs a step, never accuracy. Traced arrays
(``jax.jit``, ``torch.compile``, vmap): a fixed plan from the dtype, for any spectrum
in ``[eps, 1]`` after normalisation.

Other powers (:func:`power_plan`): stage ``j`` runs the same iteration on the previous
stage's root, ``Y_j ~ A_n^(2^-j)``; ``A_n^p`` is the product of the ``Y_j`` (``Z_j`` for
``p < 0``) of ``p``'s binary digits, times a Padé approximant of the rest of the exponent on
``Y_J``, whose condition number the stages have brought down to at most
:data:`REMAINDER_COND`. The derivative is the product rule over these factors.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from ._ops import Ops, scalar_power
from ._options import rounding_floor, stieltjes_q, warn_accuracy
from ._spectrum import estimate_spectrum, largest_eigenvalue, spectral_norm

Array = Any

__all__ = ["MAX_POLES", "MAX_STEPS", "plan", "zolotarev", "zolotarev_root", "zolotarev_tangent"]

#: the most poles a step may have, and the most steps an eager call takes
MAX_POLES = 8
MAX_STEPS = 8
#: cost of one batched Hermitian inverse in matrix products (CPU at n <= 256: 5-20)
INVERSE_COST = 8.0


def _agm(a: float, b: float) -> float:
    for _ in range(60):
        if abs(a - b) <= 4e-16 * a:
            break
        a, b = (a + b) / 2, math.sqrt(a * b)
    return (a + b) / 2


def _sc_complementary(u: float, k: float) -> float:
    """``sc(u; k')`` with ``k' = sqrt(1 - k^2)``, accurate for small ``k`` (module docstring)."""
    mods = []
    kk = k
    while kk > 1e-300 and len(mods) < 60:
        kp = math.sqrt((1 - kk) * (1 + kk))
        kk = kk * kk / ((1 + kp) ** 2)  # (1 - k') / (1 + k') without cancellation
        mods.append(kk)
        if kk < 1e-17:
            break
    args = [u]
    for k1 in mods:
        args.append(args[-1] / (1 + k1))
    t = math.sinh(args[-1])
    for k1 in reversed(mods):
        t = (1 + k1) * t / (1 - k1 * t * t)
    return t


@lru_cache(maxsize=512)
def zolotarev(m: int, k2: float) -> tuple[float, tuple[float, ...], tuple[float, ...], float]:
    """``(M, shifts, weights, delta)``: ``r(x) = M (1 + sum w / (x + p))`` on ``[k2, 1]``.

    ``r`` is the best relative approximant of ``x^(-1/2)`` of type ``(m, m)``;
    ``delta`` its relative error ``max |sqrt(x) r(x) - 1|`` on ``[k2, 1]``.
    """
    if m < 1:
        msg = f"the number of poles must be >= 1, got {m}"
        raise ValueError(msg)
    k2 = min(max(float(k2), 1e-300), 1.0 - 1e-15)
    k = math.sqrt(k2)
    kp_K = math.pi / (2 * _agm(1.0, k))  # K(k')
    c = [k2 * _sc_complementary(j * kp_K / (2 * m + 1), k) ** 2 for j in range(1, 2 * m + 1)]
    poles, zeros = c[0::2], c[1::2]
    weights = []
    for i, p in enumerate(poles):
        w = 1.0
        for z in zeros:
            w *= z - p
        for j, q in enumerate(poles):
            if j != i:
                w /= q - p
        weights.append(w)

    def r0(x: float) -> float:
        return 1.0 + math.fsum(w / (x + p) for w, p in zip(weights, poles, strict=True))

    lo, hi = math.sqrt(k2) * r0(k2), r0(1.0)  # the two ends are opposite extremes
    M = 2.0 / (lo + hi)
    delta = abs(hi - lo) / (hi + lo)
    return M, tuple(poles), tuple(weights), delta


def error(m: int, k2: float) -> float:
    """Relative error of the ``m``-pole approximant on ``[k2, 1]``."""
    return zolotarev(m, k2)[3]


def interval_after(delta: float) -> float:
    """``k2`` of the interval ``[(1 - e) / (1 + e), 1]`` holding ``B / (1 + e)`` after a step of error ``delta``."""
    e = 2 * delta + delta * delta
    return (1 - e) / (1 + e) if e < 1 else 0.0


def next_poles(k2: float, tol: float) -> int:
    """The fewest poles (at most :data:`MAX_POLES`) reaching ``tol`` on ``[k2, 1]``."""
    for m in range(1, MAX_POLES + 1):
        if error(m, k2) <= tol:
            return m
    return MAX_POLES


@lru_cache(maxsize=512)
def plan(k2: float, tol: float, margin: float = 1.0) -> tuple[tuple[int, float], ...]:
    """Steps ``((m, k2), ...)`` reaching ``tol`` from ``[k2, 1]`` at the least cost.

    Cost: :data:`INVERSE_COST` products per pole, 3 products per step after the first.
    The later steps' intervals are the predicted ones, widened ``margin`` times.
    """
    best: tuple[float, tuple[tuple[int, float], ...]] | None = None
    for m1 in range(1, MAX_POLES + 1):
        steps = [(m1, k2)]
        delta = error(m1, k2)
        cost = INVERSE_COST * m1
        while delta > tol and len(steps) < MAX_STEPS:
            kk = interval_after(min(margin * delta, 0.5))
            m = next_poles(kk, tol)
            steps.append((m, kk))
            delta = error(m, kk)
            cost += INVERSE_COST * m + 3
        if delta <= tol and (best is None or cost < best[0]):
            best = (cost, tuple(steps))
    if best is None:  # pragma: no cover - MAX_STEPS steps of MAX_POLES reach any tol
        return ((MAX_POLES, k2),)
    return best[1]


# -- the matrix iteration ------------------------------------------------------------------

#: the target without ``tol``: this many times the dtype's epsilon
DEFAULT_TOL = 100.0
#: the interval's lower end is at least this many times ``n eps``
FLOOR = 4.0
#: the normalising scale is the power-iteration estimate of l_max (from below) times this
HI_MARGIN = 1.05
#: the estimate of l_min (a Rayleigh quotient of A^-1: from above) is divided by this
LO_SAFETY = 2.0
#: traced calls: the later steps' intervals are planned this many times wider than predicted
TRACED_MARGIN = 4.0
#: eager certificate: ||B - I||_2 from power iteration (from below) times this
NORM_SAFETY = 1.25


#: other powers: square-root stages until the spectrum's condition number is at most this,
#: but at most MAX_STAGES (the traced plan's float64 floor, 1e-13, needs 4); dyadic powers
#: ``k / 2^j`` with ``j`` up to MAX_STAGES take exactly ``j`` stages and no remainder
REMAINDER_COND = 4.0
MAX_STAGES = 5
#: the remainder's Padé order is chosen for this many times the condition number planned
REMAINDER_MARGIN = 1.25


def dyadic_stages(power: float) -> int:
    """``j`` where ``power = k / 2^j`` (odd ``k``, ``j <= MAX_STAGES``): that many stages and no
    remainder; else 0."""
    return next((j for j in range(1, MAX_STAGES + 1) if (power * 2**j).is_integer()), 0)


def power_plan(power: float, k2: float) -> tuple[tuple[int, ...], float]:
    """``(bits, r)`` for ``A_n^power``, ``A_n`` with its spectrum in ``[k2, 1]``: ``J = len(bits)``
    square-root stages give ``Y_j ~ A_n^(2^-j)``, and ``power = sum_j bits_j 2^-j + r 2^-J``
    with ``0 <= r < 1``: ``A_n^power = prod_(bits_j = 1) Y_j * Y_J^r``. Dyadic powers take their
    exact number of stages; others stages until ``Y_J``'s condition number ``k2^(-2^-J)`` is at
    most :data:`REMAINDER_COND` (at most :data:`MAX_STAGES`), and then ``r > 0``."""
    J = dyadic_stages(power)
    if not J:
        J = 1
        while J < MAX_STAGES and (1 / k2) ** (0.5**J) > REMAINDER_COND:
            J += 1
    return power_bits(power, J)


def power_bits(power: float, J: int) -> tuple[tuple[int, ...], float]:
    """``(bits, r)`` with ``power = sum_j bits_j 2^-j + r 2^-J`` (see :func:`power_plan`)."""
    scaled = power * 2**J
    whole = math.floor(scaled)
    return tuple((whole >> (J - j)) & 1 for j in range(1, J + 1)), scaled - whole


def remainder_options(opt: Any, r: float, cond: float, tol: float, ops: Ops) -> Any:
    """Padé in partial fractions for ``Y_J^(+-r)``, ``Y_J`` of condition number about ``cond``."""
    from dataclasses import replace

    # (the order is chosen as Padé's tol= does, for an error tol relative to A^r with |r| small;
    # REMAINDER_MARGIN: the interval comes from an estimate, which the stages' certificates
    # do not check)
    q = stieltjes_q(r, opt.inverse)
    m = ops.coefficients("pade_order", tol * min(1.0, 2 * r), REMAINDER_MARGIN * cond, q)
    return replace(opt, method="pade", order=m, scaling="mean", pade_form="fractions", power=r, tol=None)


def zolotarev_root(A: Array, opt: Any, ops: Ops, residuals: bool = True) -> tuple[Array, Any]:
    """``A^p`` (Hermitian ``A``, ``0 < |p| < 1``) by the certified Zolotarev iteration.

    Returns ``(out, res)`` with ``res = (s, *groups)`` for :func:`zolotarev_tangent`
    (``None`` with ``residuals=False``).
    """
    xp = ops.xp
    eps = float(xp.finfo(A.dtype).eps)
    # the smallest k^2 planned for: normalised eigenvalues below it are rounding. Above the
    # rounding-level negative eigenvalues of a semidefinite matrix (about sqrt(n) eps), so that
    # every shifted matrix A_n + p I stays positive definite
    floor = FLOOR * A.shape[-1] * eps
    tol = DEFAULT_TOL * eps if opt.tol is None else opt.tol  # (shared among the factors below)
    if ops.eager and opt.spectrum is None:
        lo, hi = estimate_spectrum(A, ops)
    else:  # traced, or the inspection estimated l_min / l_max (the same l_max: deterministic)
        lo, hi = None, largest_eigenvalue(A, ops)
    hi = xp.real(hi) if xp.isdtype(hi.dtype, "complex floating") else hi
    s = xp.where(hi > 0, hi * HI_MARGIN, xp.ones_like(hi))
    X = A / s
    certify = ops.eager
    if ops.eager:
        # (a matrix with NaN entries, check_finite=False: its l_max is NaN; it does not count)
        ratio = opt.spectrum / HI_MARGIN if lo is None else _finite(ops, lo / s + 0 * hi, xp.min, 1.0)
        k2 = ratio / LO_SAFETY
        if not (k2 > floor):
            # numerically singular: the shifted inverses next to the null space are rounding,
            # and no approximant on [floor, 1] serves the eigenvalues below; the exact root
            return _exact_root(A, opt, ops, residuals, k2 * LO_SAFETY, eps)
        k2 = min(k2, 0.5)
    else:
        k2 = floor
    bits, r = power_plan(opt.power, k2)
    tol = tol / (len(bits) + (r > 0))
    groups: list[Array] = []
    factors: list[Array] = []
    Y = None
    for stage, bit in enumerate(bits):
        if stage:  # stage j: the same iteration on Y_(j-1) = A_n^(2^(1-j)), spectrum in [k2^(2^(1-j)), 1]
            X = ops.hermitian_part(Y)
            k2 = math.sqrt(k2)
        use_inverse = opt.inverse and bool(bit)  # the root this stage hands on is certified
        Y, Z, reached, converged = _coupled(X, k2, tol, ops, groups, certify, use_inverse)
        if ops.eager and not (certify and reached <= tol):  # not certified: judge, maybe warn
            _warn_unreached(reached * len(bits), converged, opt, k2 ** (2**stage), A.dtype, eps)
        if bit:
            factors.append(Z if opt.inverse else Y)
    if r > 0:  # A_n^(2^-J r) = Y_J^r by Padé on Y_J, condition number about REMAINDER_COND or less
        from ._forward import forward  # (that module imports this one)

        sub = remainder_options(opt, r, 1 / math.sqrt(k2), tol, ops)
        rem, (R, s_r) = forward(ops.hermitian_part(Y), sub, ops)
        factors.append(rem)
        c, shifts, weights = ops.coefficients("fractions", sub.order, sub.q)
        a = ops.constants(weights, Y, Y.ndim)
        ad = ops.constants(tuple(w * d for w, d in zip(weights, shifts, strict=True)), Y, Y.ndim)
        groups += [rem, R, s_r, a, ad, ops.constants((c,), Y, Y.ndim)[0, ...]]
    out = factors[0]
    for F in factors[1:]:
        out = out @ F
    out = ops.hermitian_part(out, _scale_power(s, opt, xp))
    return out, ((s, *groups) if residuals else None)


def _exact_root(A: Array, opt: Any, ops: Ops, residuals: bool, ratio: float, eps: float) -> tuple[Array, Any]:
    """The eigh root (numerically singular eager input), with an AccuracyWarning where its
    rounding floor misses ``tol``; residuals ``(w, V)`` for :func:`zolotarev_tangent`."""
    from ._forward import _eigh_root  # (that module imports this one)

    out, res = _eigh_root(A, opt, ops)
    target = opt.tol if opt.tol is not None else math.sqrt(eps)
    floor = rounding_floor(eps, 1 / ratio if ratio > 0 else math.inf, opt.inverse, opt.power)
    # a negative power of a singular matrix is NaN (the caller refuses it): nothing to warn about
    if floor > target and not (opt.inverse and ops.all_finite(out) is False):
        warn_accuracy(
            f"tol={target:.2g} is out of reach for this numerically singular input in {A.dtype}: "
            f"the exact eigh root is returned, accurate to about {floor:.2g}"
        )
    return out, (res if residuals else None)


def _warn_unreached(reached: float, converged: bool, opt: Any, k2: float, dtype: Any, eps: float) -> None:
    """``tol`` was not certified: warn, unless the iteration converged as planned and the
    worst-case rounding floor (:func:`rounding_floor`) is below ``tol``.

    Near the dtype's rounding the certificate measures its own rounding (of the product ``YZ``
    and of the other root) as much as the result's error, so there the floor decides; so it
    does for the square root of a numerically singular matrix, which is not measured.
    """
    target = opt.tol if opt.tol is not None else math.sqrt(eps)
    cond = 1 / (k2 * LO_SAFETY)
    floor = rounding_floor(eps, cond, opt.inverse, opt.power)
    if converged and floor <= target:
        return
    about = max(floor, reached) if not converged else floor
    warn_accuracy(
        f"tol={target:.2g} is out of reach for this input in {dtype} (estimated condition number "
        f"{cond:.3g}): method='zolotarev' is accurate to about {about:.2g} here"
    )


def _coupled(
    X: Array, k2: float, tol: float, ops: Ops, groups: list, certify: bool, inverse_out: bool
) -> tuple[Array, Array, float, bool]:
    """``(Y, Z) ~ (X^(1/2), X^(-1/2))`` for ``X`` with its spectrum in about ``[k2, 1]``, with
    ``(e, converged)``.

    ``e``: the certified relative error of the root handed on (``Z`` with ``inverse_out``,
    else ``Y``), or the planned one where not certified; ``converged``: certified, or the
    planned error is below ``tol`` and ``||B - I||`` agrees with the plan (what remains is
    rounding).
    """
    xp = ops.xp
    margin = 1.0 if certify else TRACED_MARGIN
    steps = list(ops.coefficients("zolotarev_plan", k2, tol, margin))
    m, kk = steps.pop(0)
    M, p, a, delta = ops.coefficients("zolotarev", m, kk)
    eye = ops.eye_like(X)
    P = ops.constants(p, X, X.ndim)
    wz = ops.constants(tuple(M * w for w in a), X, X.ndim)
    wy = ops.constants(tuple(M * w * q for w, q in zip(a, p, strict=True)), X, X.ndim)
    R = ops.hpd_inv(X[None, ...] + P * eye)
    Z = M * eye + xp.sum(wz * R, axis=0)
    Y = M * X + (M * math.fsum(a)) * eye - xp.sum(wy * R, axis=0)
    groups += [R, wz, wy, ops.constants((M,), X, X.ndim)[0, ...]]
    reached, converged = delta, not certify
    # what rounding alone can leave in ||B - I||: the inverse root's error, up to sqrt(n) eps cond
    rounding = 10 * math.sqrt(X.shape[-1]) * float(xp.finfo(X.dtype).eps) / k2
    for n_step in range(1, MAX_STEPS + 1):
        if certify:
            B = ops.hermitian_part(Y @ Z)
            D = B - eye
            # the certificate: the relative Frobenius error of the root handed on, to first order
            # ||(B - I) T||_F / (2 ||T||_F) (B - I = phi^2 - 1 weighted like T's own eigenvalues, so
            # the other root's rounding in directions that T barely has does not count)
            T = Z if inverse_out else Y
            reached = _finite(ops, ops.fro(D @ T) / ops.fro(T), xp.max, 0.0) / 2
            if reached <= tol:
                converged = True
                break
            # ||B - I||_2 bounds the interval of the next step
            e = NORM_SAFETY * _finite(ops, spectral_norm(D, ops), xp.max, 0.0)
            as_planned = e <= max(4 * (2 * delta + delta * delta), rounding)
            converged = as_planned and delta <= tol
            if converged or n_step == MAX_STEPS:
                break  # converged to the dtype's rounding, or out of steps (the caller judges)
            if e < 1 and (as_planned or e <= 0.5):
                kk = (1 - e) / (1 + e)
            else:  # far off the prediction: the spectrum estimate was; estimate B's afresh
                kk = _fallback_k2(B, ops, floor=FLOOR * X.shape[-1] * float(xp.finfo(X.dtype).eps))
            m = next_poles(kk, tol)
        elif steps:
            m, kk = steps.pop(0)
            B = ops.hermitian_part(Y @ Z)
        else:
            break
        M, p, a, delta = ops.coefficients("zolotarev", m, kk)
        h = 2 / (1 + kk)  # B / h has its spectrum in [kk, 1]: (1 - e) / (1 + e) = kk
        c0 = M / math.sqrt(h)
        Q = ops.constants(tuple(h * q for q in p), X, X.ndim)
        b = ops.constants(tuple(c0 * w * h for w in a), X, X.ndim)
        R = ops.hpd_inv(B[None, ...] + Q * eye)
        W = c0 * eye + xp.sum(b * R, axis=0)
        groups += [Y, Z, W, R, b]
        Y, Z = Y @ W, W @ Z
        reached = delta
    return Y, Z, reached, converged


def _finite(ops: Ops, x: Array, reduce: Any, empty: float) -> float:
    """``reduce`` (min or max) over the batch's finite values, read to the host; ``empty`` where
    none is finite. A NaN matrix (``check_finite=False``) gives NaN itself and does not steer
    its batch-mates' steps."""
    xp = ops.xp
    fill = math.inf if reduce is xp.min else -math.inf
    r = ops.read(reduce(xp.where(xp.isfinite(x), x, xp.full_like(x, fill))))
    return r if math.isfinite(r) else empty


def _scale_power(s: Array, opt: Any, xp: Any) -> Array:
    """``s^p``: the root of ``A = s A_n`` is ``s^p`` times that of ``A_n``."""
    r = scalar_power(s, opt.power, xp)
    return 1 / r if opt.inverse else r


def _fallback_k2(B: Array, ops: Ops, floor: float) -> float:
    """``k2`` for a ``B`` far from ``I`` (a spectrum estimate that was off): estimated afresh."""
    lo, hi = estimate_spectrum(B, ops)
    xp = ops.xp
    k2 = _finite(ops, lo / hi, xp.min, 1.0) / LO_SAFETY
    return min(max(k2, floor), 0.5)


def zolotarev_tangent(T: Array, A: Array, res: Any, opt: Any, ops: Ops) -> Array:
    """The derivative of the computed composition along ``T`` (self-adjoint: JVP and VJP alike)."""
    xp = ops.xp
    if len(res) == 2 and res[0].ndim == T.ndim - 1:  # the eigh root of singular input: (w, V)
        from ._derivatives import daleckii_krein  # (that module imports this one)

        return daleckii_krein(T, res[0], res[1], opt.exponent, ops)
    s, *flat = res
    nd = T.ndim
    rem = None
    if not dyadic_stages(opt.power):  # the Padé remainder's residuals close the list
        flat, rem = flat[:-6], flat[-6:]
    starts, i = [], 0  # groups: a stage's first step (R, wz, wy, M), a later step (Y, Z, W, R, b)
    while i < len(flat):
        starts.append(i)
        i += 4 if flat[i].ndim == nd + 1 else 5
    bits, r = power_bits(opt.power, sum(flat[i].ndim == nd + 1 for i in starts))
    # the values of the stages' roots count only for a product of two or more factors
    values = sum(bits) + (rem is not None) >= 2
    E = T / s
    X = A / s
    stages: list[list[Array | None]] = []  # [Y_j, Z_j, dY_j, dZ_j]
    for i in starts:
        if flat[i].ndim == nd + 1:  # a stage's first step
            R, wz, wy, M = flat[i : i + 4]
            if stages:  # stage j runs on Y_(j-1)
                X, E = stages[-1][0], ops.hermitian_part(stages[-1][2])
                X = None if X is None else ops.hermitian_part(X)
            RER = R @ E[None, ...] @ R
            Y = Z = None
            if values:
                eye = ops.eye_like(E)
                Z = M * eye + xp.sum(wz * R, axis=0)
                Y = M * X + xp.sum(wz, axis=0) * eye - xp.sum(wy * R, axis=0)
            stages.append([Y, Z, M * E + xp.sum(wy * RER, axis=0), -xp.sum(wz * RER, axis=0)])
        else:  # a later step
            Y, Z, W, R, b = flat[i : i + 5]
            _, _, dY, dZ = stages[-1]
            dB = ops.hermitian_part(dY @ Z + Y @ dZ)
            dW = -xp.sum(b * (R @ dB[None, ...] @ R), axis=0)
            Yn, Zn = (Y @ W, W @ Z) if values else (None, None)
            stages[-1] = [Yn, Zn, dY @ W + Y @ dW, dW @ Z + W @ dZ]
    pairs = [
        (Z, dZ) if opt.inverse else (Y, dY) for (Y, Z, dY, dZ), bit in zip(stages, bits, strict=True) if bit
    ]
    if rem is not None:  # Y_J^(+-r) = t^(+-r) r_m(Y_J / t) by partial fractions (see _forward._pade)
        F, R, t, a, ad, c = rem
        RER = R @ ops.hermitian_part(stages[-1][2])[None, ...] @ R
        if opt.inverse:
            dF = -xp.sum(a * RER, axis=0) / scalar_power(t, 1 + r, xp)
        else:
            dF = (c * ops.hermitian_part(stages[-1][2]) + xp.sum(ad * RER, axis=0)) / scalar_power(
                t, 1 - r, xp
            )
        pairs.append((F, dF))
    P, dP = pairs[0]
    for F, dF in pairs[1:]:
        P, dP = P @ F, dP @ F + P @ dF
    return ops.hermitian_part(dP, _scale_power(s, opt, xp))
