"""Value checks: which matrices have no (inverse) principal root, found the same way on every backend.

A matrix is *bad* for one of these reasons (``REASONS``), each judged against
the rounding tolerance ``tau = ROUNDING * n * eps(dtype)``:

``"nonfinite"``
    a NaN or Inf entry;
``"range"``
    (libraries that flush subnormal numbers to zero: JAX) an entry beyond ``1 / tiny``
    (about ``4.5e307`` in float64), whose reciprocal would be flushed to zero;
``"asymmetric"``
    ``hermitian=True`` but ``max|A - A^H| > tau_H * max|A|`` with
    ``tau_H = ROUNDING * max(n, ASYMMETRY_MIN_N) * eps``: a covariance formed as a chain of
    products (``B X B^H`` with an ill-conditioned ``B``) carries more asymmetry than ``n eps``
    (220 eps measured at n = 2 on pyRiemann's recentred data);
``"indefinite"``
    ``hermitian=True`` and the Cholesky factorisation of ``A + tau * max_i |a_ii| * I``
    fails: an eigenvalue below ``-tau * max_i |a_ii|`` (rounding-level negative
    eigenvalues of a semidefinite covariance pass);
``"singular"``
    ``hermitian=True``, the inverse root of a matrix that is not numerically
    positive definite (its Cholesky factorisation fails);
``"negative"``
    ``hermitian=False`` and an eigenvalue on the closed negative real axis
    (``Re w < -tau * n * max|A|`` with ``|Im w| <= tau * n * max|A|``, or
    ``|w| <= tau * n * max|A|``): no principal root exists. Found by ``eigvals``
    where the namespace has it, on eager arrays only.

Eager calls raise a :class:`ValueError` naming the reasons and batch indices
(:func:`raise_if_bad`). Where values cannot be inspected (traced or lazy
arrays), :func:`guarded` replaces the bad matrices by the identity before the
computation and their results by NaN after it, so the rest of the batch is
unaffected and nothing is synchronised to the host.

General (``hermitian=False``) results are also checked after the computation, by
their residual (:func:`residual_error`): no approximation error bound holds for
every non-normal matrix, and under tracing the spectrum is not checked at all.
Eager calls warn (:func:`warn_if_far_off`) where the result is estimated more than
``FAR_OFF_WARN`` off; where values cannot be inspected (and in Dask chunks) such
results beyond ``FAR_OFF_NAN`` become NaN, matrix by matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._core import Ops

Array = Any

__all__ = [
    "FAR_OFF_NAN",
    "FAR_OFF_WARN",
    "REASONS",
    "ROUNDING",
    "asymmetry_tol",
    "bad_masks",
    "far_off_limit",
    "guarded",
    "raise_if_bad",
    "residual_error",
    "rounding_tol",
    "warn_if_far_off",
    "where_text",
]

#: the rounding tolerance is ``ROUNDING * n * eps(dtype)``
ROUNDING = 100.0
REASONS = ("nonfinite", "range", "asymmetric", "indefinite", "singular", "negative")
#: how many offending batch indices an error message lists
MAX_LISTED = 5
#: general results estimated (from the residual) to be this far off warn (eager calls) ...
FAR_OFF_WARN = 1e-2
#: ... and become NaN where values cannot be inspected (traced calls, Dask chunks)
FAR_OFF_NAN = 1e-1
#: the residual test covers exponents j/k with k up to this
RESIDUAL_MAX_DENOMINATOR = 8


#: the asymmetry test's tolerance counts at least this many terms' rounding (see the module's notes)
ASYMMETRY_MIN_N = 32


def asymmetry_tol(dtype: Any, n: int, xp: Any) -> float:
    """``tau_H = ROUNDING * max(n, ASYMMETRY_MIN_N) * eps``: relative asymmetry below it is rounding."""
    return rounding_tol(dtype, max(n, ASYMMETRY_MIN_N), xp)


def rounding_tol(dtype: Any, n: int, xp: Any) -> float:
    """``tau = ROUNDING * n * eps``: relative differences below it are rounding."""
    return ROUNDING * max(n, 1) * float(xp.finfo(dtype).eps)


def bad_masks(
    A: Array, ops: Ops, *, inverse: bool, hermitian: bool, found: dict[str, Array] | None = None
) -> dict[str, Array]:
    """Boolean masks of the batch shape, one per reason that applies.

    Written against the standard, so it runs eagerly and under tracing. On
    eager arrays the common all-finite, all-definite case costs one reduction,
    one pass for the Hermitian test and one Cholesky factorisation, whose factor
    is put in ``found["factor"]`` (eager Hermitian input, every matrix factorised)
    for the spectrum estimate.
    """
    xp = ops.xp
    n = A.shape[-1]
    tau = rounding_tol(A.dtype, n, xp)
    eye = ops.eye_like(A)
    all_finite = ops.all_finite(A) if ops.eager else None
    if all_finite:
        finite = None
        A0 = A
    else:
        finite = xp.all(xp.isfinite(A), axis=(-2, -1))
        A0 = xp.where(finite[..., None, None], A, eye)  # later tests see finite matrices only
    masks: dict[str, Array] = {}
    if finite is not None:
        masks["nonfinite"] = ~finite
    amax = ops.max_abs(A0)
    if ops.flushes_subnormals:
        # 1 / max|A| is subnormal, which this library flushes to zero: every normalisation fails
        masks["range"] = amax * float(xp.finfo(A.dtype).smallest_normal) > 1
    if hermitian:
        asym = ops.asymmetry(A0) > asymmetry_tol(A.dtype, n, xp) * amax
        masks["asymmetric"] = asym
        # the factorisation reads one triangle: an asymmetric matrix is reported as such only
        M = A0 if ops.known(xp.any(asym)) is False else xp.where(asym[..., None, None], eye, A0)
        if inverse:
            L, masks["singular"] = ops.cholesky(M)
            if found is not None and ops.eager:
                found["factor"], found["fails"] = L, masks["singular"]
        else:

            def shifted() -> Array:
                d = xp.linalg.diagonal(M)
                dmax = xp.max(xp.abs(xp.real(d) if xp.isdtype(d.dtype, "complex floating") else d), axis=-1)
                # a zero diagonal: the zero matrix (semidefinite) or an indefinite one
                base = xp.where(dmax > 0, dmax, amax)
                return M + (tau * xp.where(base > 0, base, xp.ones_like(base)))[..., None, None] * eye

            if ops.eager:
                # most inputs are definite: one factorisation of A itself, the shifted one
                # only where that may fail (semidefinite, or indefinite)
                L, fails = ops.cholesky(M)
                if found is not None:
                    found["factor"], found["fails"] = L, fails
                if ops.known(xp.any(fails)) is not False:
                    fails = fails & ops.cholesky_fails(shifted())
            else:
                fails = ops.cholesky_fails(shifted())
            masks["indefinite"] = fails
    elif ops.eager:
        # on A / max|A|: JAX's CPU eigensolver loses the eigenvalues of matrices beyond ~1e154
        unit = xp.where(amax > 0, amax, xp.ones_like(amax))
        w = ops.eigvals(A0 / unit[..., None, None])
        if w is not None:
            scale = tau * n * (amax / unit)[..., None]
            re, im = xp.real(w), xp.imag(w)
            on_axis = ((re < -scale) & (xp.abs(im) <= scale)) | (xp.abs(w) <= scale)
            masks["negative"] = xp.any(on_axis, axis=-1)
    if finite is not None:
        for key in masks:
            if key != "nonfinite":
                masks[key] = masks[key] & finite
    return masks


def _to_host(mask: Array) -> np.ndarray:
    if hasattr(mask, "detach"):  # torch, any device
        mask = mask.detach().cpu()
    elif hasattr(mask, "get") and type(mask).__module__.startswith("cupy"):
        mask = mask.get()
    return np.asarray(mask, dtype=bool)


_MESSAGES = {
    "nonfinite": "contains NaN or Inf",
    "range": (
        "has entries beyond 1 / (the smallest normal number), whose reciprocals this library "
        "flushes to zero (JAX on CPU): scale A down by a power of two first (A^p scales by s^p)"
    ),
    "asymmetric": ("is not Hermitian (max|A - A^H| > {tau_h:.2g} max|A|, far beyond rounding)"),
    "indefinite": (
        "is not positive semidefinite (an eigenvalue below -{tau:.2g} max|diag A|, beyond rounding): "
        "it has no real principal {root}"
    ),
    "singular": "is singular or not positive definite: its {root} does not exist",
    "negative": (
        "has an eigenvalue on the closed negative real axis (zero included, within rounding), "
        "where the principal {root} of a general matrix is not defined"
    ),
}


#: what to try, most often right first, per reason (general matrices have no cheap fix)
_REMEDIES = {
    "nonfinite": "find where the NaN or Inf comes from (a zero variance, an overflow upstream)",
    "asymmetric": (
        "if A is a covariance, symmetrise it, (A + A^H) / 2; if it is a general matrix, pass hermitian=False"
    ),
    "indefinite": (
        "if A should be a covariance, project it onto the semidefinite matrices (clip its negative "
        "eigenvalues, V max(w, 0) V^H) or add a ridge larger than its most negative eigenvalue; "
        "rounding-level negative eigenvalues are accepted already"
    ),
    "singular": (
        "add a ridge, A + delta I with delta about 1e-8 trace(A) / n (a rank-deficient covariance "
        "has no inverse root); for the square root of a semidefinite A use sqrtm"
    ),
}


def _what(inverse: bool, power: float) -> str:
    if power == 0.5:
        return "inverse square root" if inverse else "square root"
    return f"power A^{-power if inverse else power:g}"


def _where(mask: np.ndarray) -> str:
    if mask.ndim == 0:
        return ""
    idx = [tuple(int(i) for i in ix) for ix in zip(*np.nonzero(mask), strict=True)]
    shown = ", ".join(str(ix[0]) if len(ix) == 1 else str(ix) for ix in idx[:MAX_LISTED])
    more = f" and {len(idx) - MAX_LISTED} more" if len(idx) > MAX_LISTED else ""
    noun = "index" if len(idx) == 1 else "indices"
    return f" at batch {noun} {shown}{more}"


def where_text(mask: Array) -> str:
    """`` at batch indices ...`` for a boolean mask of the batch (any backend), or ``""`` (no batch)."""
    return _where(_to_host(mask))


def raise_if_bad(
    A: Array, ops: Ops, *, inverse: bool, hermitian: bool, name: str = "A", power: float = 0.5
) -> Array | None:
    """Raise ``ValueError`` naming every reason and the offending batch indices.

    ``power``: the messages name ``A^p`` (``p = -power`` with ``inverse``) unless it is a square root.
    Returns the Cholesky factor of ``A`` where the checks computed one and every matrix was
    factorised (Hermitian input; else ``None``), for :func:`matsqrt._core.estimate_spectrum`.
    """
    kept: dict[str, Array] = {}
    masks = bad_masks(A, ops, inverse=inverse, hermitian=hermitian, found=kept)
    factor = kept.get("factor")
    # the inverse root's factorisation failing is a reason to raise; the square root's is not
    # (semidefinite input): there the factor serves only where reading that is free
    if factor is not None and not inverse and ops.known(ops.xp.any(kept["fails"])) is not False:
        factor = None
    if not masks:
        return factor
    keys = list(masks)
    xp = ops.xp
    host = _to_host(xp.stack([masks[k] for k in keys])) if len(keys) > 1 else _to_host(masks[keys[0]])[None]
    if not host.any():
        return factor
    tau = rounding_tol(A.dtype, A.shape[-1], xp)
    parts = []
    found = []
    for key, m in zip(keys, host, strict=True):
        if m.any():
            found.append(key)
            tau_h = asymmetry_tol(A.dtype, A.shape[-1], xp)
            text = _MESSAGES[key].format(tau=tau, tau_h=tau_h, root=_what(inverse, power))
            parts.append(f"{name}{_where(m)} " + text)
    remedies = [_REMEDIES[k] for k in found if k in _REMEDIES]
    advice = (" What usually helps: " + "; ".join(remedies) + ".") if remedies else ""
    raise ValueError(
        "; ".join(parts)
        + "."
        + advice
        + " (check_finite=False skips these checks, but such input then gives an undefined result, "
        "finite numbers that are no root)"
    )


def residual_error(A: Array, Y: Array, exponent: float, ops: Ops) -> Array | None:
    """The relative error of ``Y ~ A^p`` estimated from its residual, shape ``(...)``; NaN where
    ``Y`` is not finite. ``None`` for exponents that are not ``+-j/k`` with a small ``k``.

    With ``p = j/k``: ``Y^k = A^j``; with ``p = -j/k``: ``Y^k A^j = I``. Where ``Y = A^p (I + E)``
    (a function of ``A``) the relative residual is about ``k ||E||``, so it is divided by ``k``.
    Computed on matrices scaled to ``max|.| = 1``: no overflow at any representable scale.
    """
    # the smallest denominator k with |p| k an integer j (plain arithmetic: traceable)
    found = [(round(abs(exponent) * k), k) for k in range(1, RESIDUAL_MAX_DENOMINATOR + 1)]
    found = [(j, k) for j, k in found if j > 0 and abs(abs(exponent) * k - j) <= 1e-12]
    if not found:
        return None
    j, k = found[0]
    xp = ops.xp

    def unit(M: Array) -> tuple[Array, Array]:
        m = xp.max(xp.abs(M), axis=(-2, -1), keepdims=True)
        m = xp.real(m) if xp.isdtype(m.dtype, "complex floating") else m
        m = xp.where(m > 0, m, xp.ones_like(m))
        return M / m, m

    def power(M: Array, e: int) -> Array:
        out = M
        for _ in range(e - 1):
            out = out @ M
        return out

    An, a = unit(A)
    Yn, y = unit(Y)
    # Y^k A^(-+j) = (Yn^k An^(-+j)) (y a^(-p))^k, with y a^(-p) of order 1
    f = (y / a ** (abs(exponent))) ** k if exponent > 0 else (y * a ** abs(exponent)) ** k
    if exponent > 0:
        target = power(An, j)
        diff = f * power(Yn, k) - target
    else:
        target = ops.eye_like(An)
        diff = f * (power(Yn, k) @ power(An, j)) - target
    ratio = ops.fro(diff) / ops.fro(target)
    return ratio[..., 0, 0] / k


def warn_if_far_off(A: Array, Y: Array, exponent: float, ops: Ops, name: str) -> None:
    """An :class:`AccuracyWarning` naming the general matrices whose result is estimated (by its
    residual) more than :data:`FAR_OFF_WARN` off (eager arrays)."""
    err = residual_error(A, Y, exponent, ops)
    if err is None:
        return
    if hasattr(err, "detach"):  # torch, any device
        err = err.detach().cpu()
    elif hasattr(err, "get") and type(err).__module__.startswith("cupy"):
        err = err.get()
    err = np.asarray(err, dtype=float)
    far = ~(err <= FAR_OFF_WARN)
    if not far.any():
        return
    from ._core._options import warn_accuracy

    worst = np.where(np.isfinite(err), err, np.inf).max()
    how = (
        f"off by about {worst:.2g} (relative, estimated from its residual)"
        if np.isfinite(worst)
        else "not finite"
    )
    warn_accuracy(
        f"{name}: the result{_where(far)} is {how}: the method does not converge for this general "
        "matrix (eigenvalues near the negative real axis, or far from normal). Pass tol= (e.g. "
        "tol=1e-8: the Denman–Beavers iteration, which converges wherever the principal root exists)"
    )


def far_off_limit(tol: float | None) -> float:
    """Where values cannot be inspected, results estimated further off than this become NaN:
    :data:`FAR_OFF_NAN`, or with a ``tol`` asked for, :data:`FAR_OFF_WARN` (or ``100 tol``,
    up to :data:`FAR_OFF_NAN`): a result 1e-2 off is no answer to ``tol=1e-10``."""
    return FAR_OFF_NAN if tol is None else min(FAR_OFF_NAN, max(FAR_OFF_WARN, 100 * tol))


def guarded(
    A: Array,
    ops: Ops,
    run: Any,
    *,
    inverse: bool,
    hermitian: bool,
    exponent: float | None = None,
    far_off: float = FAR_OFF_NAN,
) -> Array:
    """``run(A)`` with bad matrices replaced by the identity and their results by NaN.

    With ``exponent`` given (general input, or a ``tol=`` call): results estimated more than
    ``far_off`` (:func:`far_off_limit`) off (:func:`residual_error`) become NaN too.
    """
    xp = ops.xp
    if exponent is not None:
        inner = run

        def run(M: Array) -> Array:
            out = inner(M)
            err = residual_error(M, out, exponent, ops)
            if err is None:
                return out
            return xp.where(~(err <= far_off)[..., None, None], xp.full_like(out, math.nan), out)

    masks = bad_masks(A, ops, inverse=inverse, hermitian=hermitian)
    if not masks:
        return run(A)
    bad = None
    for m in masks.values():
        bad = m if bad is None else bad | m
    if ops.known(xp.any(bad)) is False:
        return run(A)
    bad = bad[..., None, None]
    out = run(xp.where(bad, ops.eye_like(A), A))
    return xp.where(bad, xp.full_like(out, math.nan), out)
