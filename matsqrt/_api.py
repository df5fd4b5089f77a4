"""Public functions: validate, pick the adapter, run the one core."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from typing import Any

from ._checks import raise_if_bad, rounding_tol, warn_if_far_off, where_text
from ._compat import device
from ._core import Ops, Options, forward, vjp
from ._core._derivatives import daleckii_krein
from ._core._forward import clip_eigenvalues
from ._core._options import BACKWARDS, METHODS
from ._validation import (
    Inspection,
    as_array,
    as_array_like,
    check_bool,
    check_choice,
    check_matrix,
    check_order,
    compute_dtype,
    resolve_options,
    warn_if_default_far_off,
)
from .backends import adapter_for

Array = Any

__all__ = [
    "invsqrtm",
    "invsqrtm_and_vjp",
    "invsqrtm_vjp",
    "powm",
    "solve_lyapunov",
    "solve_sylvester",
    "sqrtm",
    "sqrtm_and_vjp",
    "sqrtm_vjp",
]


def sqrtm(
    A: Array,
    /,
    *,
    method: str = "pade",
    order: int | None = None,
    tol: float | None = None,
    backward: str = "auto",
    hermitian: bool = True,
    check_finite: bool = True,
) -> Array:
    """Principal matrix square root ``Y`` with ``Y @ Y = A``, batched and differentiable.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive (semi)definite matrices (``hermitian=True``), or general
        matrices with no eigenvalue on the closed negative real axis, where the
        principal root exists (``hermitian=False``). Any array library that matsqrt
        supports; leading dimensions are a batch.
    method : {"pade", "zolotarev", "denman_beavers", "taylor", "newton_schulz", "eigh", "auto"}, optional
        ``"zolotarev"``: composed Zolotarev best rational approximants on the
        estimated spectrum interval, certified a posteriori by ``||Y Z - I||`` on
        eager arrays (a fixed plan from the dtype where traced); Hermitian input; its
        accuracy is ``tol`` (default 100 eps) at any condition number the dtype allows.
        ``"denman_beavers"``: the scaled Denman–Beavers iteration (one inverse and one
        product per step), for any matrix with a principal root; certified by
        ``||M - I||_F / 2`` on eager arrays; what ``tol`` and ``"auto"`` use for
        ``hermitian=False``. ``"pade"`` (default): Padé [m/m] approximant; for Hermitian input at
        orders <= 5 without ``tol`` as ``Q(X)^-1 P(X)`` with one Hermitian
        inverse, otherwise in partial fractions, one batched inverse per term
        (accurate at any order). ``"taylor"``: Taylor polynomial of
        the given degree (Paterson–Stockmeyer). ``"newton_schulz"``: coupled
        Newton–Schulz iteration. ``"eigh"``: exact, by eigendecomposition
        (Hermitian only). ``"auto"``: the fastest method that reaches ``tol``
        (default: the dtype's accuracy) on this device: eigh for Hermitian
        input on a CPU, where it is measured faster than every Padé order,
        unless ``tol`` is below eigh's rounding floor and Padé reaches it;
        elsewhere Padé with the order ``tol`` needs, or eigh where that is
        cheaper. If neither is known to reach ``tol``, the more accurate one,
        with an :class:`AccuracyWarning` (needs concrete values, except
        Hermitian input on a CPU without ``tol``).
    order : int, optional
        Padé order m, Taylor degree, or Newton–Schulz iterations. ``None``: the
        paper's configuration (Padé [5/5], Taylor degree 10, 5 iterations),
        or the order ``tol`` needs.
    tol : float, optional
        Relative accuracy to reach, forward and gradient. Hermitian input is then
        computed by ``"zolotarev"`` (certified on eager arrays; under ``jax.jit`` and
        ``torch.compile`` a plan from the dtype), with no eigendecomposition. General
        input (``hermitian=False``) is computed by ``"denman_beavers"``, the scaled
        Denman–Beavers iteration, which converges wherever the principal root exists
        and certifies ``tol`` on eager arrays (a fixed step count under tracing). A ``tol``
        below the dtype's epsilon is raised to it with an
        :class:`AccuracyWarning`. Numerically singular Hermitian input
        (condition number beyond ``1 / (4 n eps)``) gets the exact eigh root on
        eager arrays; an :class:`AccuracyWarning` where the dtype's rounding
        keeps the result from ``tol``.
    backward : {"auto", "rational", "lyapunov", "eigh"}, optional
        How gradients are computed. ``"auto"`` (default): ``"rational"`` for
        Padé (the exact derivative of the approximant, reusing the forward's
        inverses: 10 products at the default order), ``"eigh"`` for eigh, ``"lyapunov"`` otherwise.
        ``"lyapunov"``: the paper's Lyapunov equation ``Y X + X Y = G`` by
        coupled Newton–Schulz sign iterations, until solved to the dtype's
        accuracy on eager arrays, the paper's 8 where values cannot be inspected
        (as many as ``tol`` needs when given). ``"eigh"``:
        exact Daleckii–Krein formula, finite at repeated eigenvalues.
    hermitian : bool, optional
        Whether ``A`` is Hermitian positive semidefinite (default). The result
        is then Hermitian.
    check_finite : bool, optional
        Check the values of ``A`` (default): NaN or Inf, and whether ``A`` is
        in the domain (Hermitian, positive semidefinite; eigenvalues off the
        negative real axis for ``hermitian=False``), up to rounding. Eager
        arrays raise ``ValueError``; where values cannot be inspected (JAX
        ``jit``/``vmap``, ``torch.compile``/``torch.func``, Dask) the offending
        matrices come back as NaN. General (``hermitian=False``) results are also
        checked by their residual ``||Y @ Y - A|| / ||A||``: estimated more than
        1e-2 off, an eager call warns (:class:`AccuracyWarning`); more than 1e-1
        off where values cannot be inspected, the matrix comes back as NaN.
        ``False`` skips every check.

    Returns
    -------
    array of shape (..., n, n)
        ``Y``, with the same array type, device and dtype as ``A`` (integer input gives the
        default floating dtype; float16/bfloat16 are computed in float32).

    Raises
    ------
    ValueError
        Non-square or < 2-d input, unknown option, ``method="eigh"`` with
        ``hermitian=False``; and (``check_finite=True``, eager arrays) NaN/Inf,
        or a matrix outside the domain: not Hermitian, not positive
        semidefinite (beyond rounding), an eigenvalue on the closed negative
        real axis (``hermitian=False``). The message names the batch indices.
    TypeError
        Boolean or non-numeric dtype; ``hermitian`` or ``check_finite`` not a
        bool; ``np.matrix``, masked arrays, sparse matrices or tensors.

    See Also
    --------
    invsqrtm : The inverse square root; the same options.
    sqrtm_vjp : The gradient without autodiff.
    residual : A cheap a-posteriori error estimate.

    Notes
    -----
    Normalisation: ``A`` is divided by its mean eigenvalue ``trace(A)/n`` for
    Padé (the approximant's error is symmetric in ``x -> 1/x``, so a scale inside
    the spectrum beats the paper's Frobenius norm), by ``sqrt(l_min l_max)``
    (estimated) when ``tol`` is given, and by the Frobenius norm for Taylor and
    Newton–Schulz, which need the spectrum in ``(0, 1]``.

    Singular positive semidefinite input is handled by Padé (its shifted
    systems stay definite) with reduced accuracy near the zero eigenvalues;
    use :func:`matsqrt.residual` to check a result.

    What is checked, with the rounding tolerance ``tau = 100 n eps`` that
    separates rounding from errors: ``max|A - A^H| > tau max|A|`` is not
    Hermitian; a failed Cholesky factorisation of ``A + tau max|a_ii| I`` is
    indefinite (of ``A`` itself, for :func:`invsqrtm`: singular). Rounding-level
    asymmetry and negative eigenvalues of a semidefinite covariance pass.
    The checks cost one Cholesky factorisation (measured 9-21% of the
    default forward + backward with torch on a CPU).

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> Y = matsqrt.sqrtm(A)
    >>> bool(np.allclose(Y @ Y, A))
    True
    """
    return _root(A, False, method, order, tol, backward, hermitian, check_finite)


def invsqrtm(
    A: Array,
    /,
    *,
    method: str = "pade",
    order: int | None = None,
    tol: float | None = None,
    backward: str = "auto",
    hermitian: bool = True,
    check_finite: bool = True,
) -> Array:
    """Inverse principal square root ``Z = A^(-1/2)``, with ``Z @ Z @ A = I``.

    Same methods, options, dtypes and errors as :func:`sqrtm`. ``A`` must be
    nonsingular. Padé evaluates ``A^(-1/2)`` as a positive combination of
    shifted inverses, so it loses nothing to cancellation.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive definite matrices, or (``hermitian=False``) general
        matrices with no eigenvalue on the closed negative real axis.
    method : {"pade", "taylor", "newton_schulz", "eigh", "auto"}, optional
        As in :func:`sqrtm`.
    order : int, optional
        As in :func:`sqrtm`.
    tol : float, optional
        As in :func:`sqrtm`.
    backward : {"auto", "rational", "lyapunov", "eigh"}, optional
        As in :func:`sqrtm`; ``"lyapunov"`` solves ``Z dZ + dZ Z = -Z^2 dA Z^2``.
    hermitian : bool, optional
        As in :func:`sqrtm`.
    check_finite : bool, optional
        As in :func:`sqrtm`.

    Returns
    -------
    array of shape (..., n, n)
        ``A^(-1/2)``, same array type, device and dtype rules as :func:`sqrtm`.

    See Also
    --------
    sqrtm : The square root; the same options.
    invsqrtm_vjp : The gradient without autodiff.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> Z = matsqrt.invsqrtm(A)
    >>> bool(np.allclose(Z @ Z @ A, np.eye(2)))
    True
    """
    return _root(A, True, method, order, tol, backward, hermitian, check_finite)


def powm(
    A: Array,
    p: float,
    /,
    *,
    method: str = "pade",
    order: int | None = None,
    tol: float | None = None,
    backward: str = "auto",
    hermitian: bool = True,
    check_finite: bool = True,
) -> Array:
    """Matrix power ``A^p`` for any real ``p`` (one per matrix if ``p`` is an array), batched and differentiable.

    The principal power: for Hermitian positive (semi)definite ``A = V diag(l) V^H``,
    ``A^p = V diag(l^p) V^H``. ``p = 1/2`` and ``p = -1/2`` are :func:`sqrtm` and
    :func:`invsqrtm` (the same results, every method and backward of theirs). Other
    powers use the same machinery: the Padé approximant of ``x^(-q)`` (``q = -p``,
    or ``q = 1 - p`` with ``A^p = A A^(-q)``), evaluated as :func:`sqrtm` evaluates
    its own (one Hermitian inverse at the default order, partial fractions with one
    inverse per term otherwise), and its exact derivative as the backward.
    Integer ``p`` (0 included) is computed by products (repeated squaring; of
    ``A^-1`` for ``p < 0``), and ``|p| > 1`` as ``A^k A^f`` with ``k`` the integer
    part (towards 0) and ``f`` the fractional part.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Hermitian positive semidefinite matrices (``p > 0``) or positive definite
        ones (``p < 0``); or (``hermitian=False``) general matrices with no
        eigenvalue on the closed negative real axis. Leading dimensions are a batch.
    p : float or array
        The exponent, any finite real number; or an array of them, one per matrix,
        broadcasting against ``A``'s batch dimensions (an array of shape
        ``batch + (1,)``, pyRiemann's convention, is read as one exponent per
        matrix too). Matrices that share an exponent are computed together. The
        values must be readable (not traced); no gradient is computed for ``p``.
    method : {"pade", "zolotarev", "eigh", "auto"}, optional
        ``"zolotarev"`` (what ``tol`` uses for Hermitian input): the square roots'
        certified rational method, applied to ``A``, then to its root, and so on
        (``A^(2^-j)``), with Padé for the rest of the exponent on a well-conditioned
        root; ``p = +-1/4`` and ``+-3/4`` need two stages and no Padé.
        ``"pade"`` (default): the [m/m] Padé approximant (its partial fractions are
        the Gauss–Radau rule of the Stieltjes integral of ``x^(-q)``); for
        Hermitian input at orders <= 5 without ``tol`` as ``Q(X)^-1 P(X)`` with one
        Hermitian inverse, otherwise ``m`` shifted inverses. ``"eigh"``: exact, by
        eigendecomposition (Hermitian only).
        ``"auto"``: as in :func:`sqrtm`. For ``p = +-1/2`` every method of
        :func:`sqrtm`.
    order : int, optional
        The Padé order ``m`` (default 5, as for :func:`sqrtm`), or the order ``tol`` needs.
    tol : float, optional
        Relative accuracy to reach, as in :func:`sqrtm`: the order comes from the
        approximant's error at the ends of the estimated spectrum, evaluated exactly.
    backward : {"auto", "rational", "eigh"}, optional
        ``"auto"``: ``"rational"`` for Padé (the exact derivative of the approximant,
        reusing the forward's inverses: ``2m`` products), ``"eigh"`` for eigh.
        ``"eigh"``: the exact Daleckii–Krein derivative with the divided differences
        ``(l_i^p - l_j^p) / (l_i - l_j)``, finite at repeated eigenvalues.
    hermitian : bool, optional
        As in :func:`sqrtm`.
    check_finite : bool, optional
        As in :func:`sqrtm`: NaN/Inf, not Hermitian, indefinite, and for ``p < 0``
        singular input raise ``ValueError`` (NaN where values cannot be inspected).

    Returns
    -------
    array of shape (..., n, n)
        ``A^p``, with the same array type, device and dtype rules as :func:`sqrtm`.

    Raises
    ------
    ValueError
        ``p`` NaN or infinite, or an array that does not broadcast against the
        batch; ``method`` other than ``"pade"``, ``"eigh"``, ``"auto"`` or
        ``backward="lyapunov"`` for ``p != +-1/2``; a negative integer power of a
        singular matrix; and everything :func:`sqrtm` raises.
    TypeError
        ``p`` not real (a bool, complex, string, or a traced value), or ``p`` a
        tensor that requires grad; as :func:`sqrtm`.

    See Also
    --------
    sqrtm, invsqrtm : ``p = 1/2`` and ``p = -1/2``.

    Notes
    -----
    Accuracy: for Hermitian input the relative error of the default is the scalar
    approximant's at the normalised eigenvalues (``A`` is divided by its mean
    eigenvalue): at order 5, about 4e-3 for condition number 1e2 and 0.3 for 1e4
    at ``p = -1/4``, 2e-3 and 8e-2 at ``p = 1/4``, 3e-4 and 2e-3 at ``p = 0.7``
    (negative powers degrade fastest). ``tol`` raises the order as needed (or
    uses eigh where no order up to 64 reaches it).

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.diag([16.0, 81.0])
    >>> np.round(np.diag(matsqrt.powm(A, 0.25, method="eigh")), 12).tolist()
    [2.0, 3.0]
    >>> bool(np.allclose(matsqrt.powm(A, -0.25, tol=1e-12), np.diag([0.5, 1 / 3])))
    True
    >>> np.diag(matsqrt.powm(A, 1.5, method="eigh")).tolist()
    [64.0, 729.0]
    >>> matsqrt.powm(np.stack([A, A]), np.array([0.5, -0.5]), method="eigh")[:, 0, 0].tolist()
    [4.0, 0.25]
    """
    keywords = {
        "method": method,
        "order": order,
        "tol": tol,
        "backward": backward,
        "hermitian": hermitian,
        "check_finite": check_finite,
    }
    exponents = _exponent_array(p)
    if exponents is not None:
        return _powm_per_matrix(A, exponents, keywords)
    k, f = _split_power(p)
    if 1.0 - abs(f) == 1.0:  # 0, or a fractional part below double resolution: A^f is I
        f = 0.0
    if f == 0.0:
        return _integer_power(A, k, hermitian, check_finite, method, backward)
    power, inverse = _check_power(f)
    frac = _root(A, inverse, method, order, tol, backward, hermitian, check_finite, power)
    if k == 0:
        return frac
    # A^p = A^k A^f (they commute); A's checks were made by the fractional power's call
    Ak = _integer_power(A, k, hermitian, False, method, backward)
    frac, xp = as_array(frac)
    return adapter_for(xp, frac).run(partial(_product, hermitian=hermitian), xp.astype(Ak, frac.dtype), frac)


def _product(X: Array, Y: Array, ops: Ops, *, hermitian: bool) -> Array:
    out = X @ Y
    return ops.hermitian_part(out) if hermitian else out


def _split_power(p: Any) -> tuple[int, float]:
    """``(k, f)`` with ``p = k + f``, ``k`` an integer (towards 0) and ``|f| < 1`` of ``p``'s sign."""
    import numbers

    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        if getattr(p, "shape", None) == () and not isinstance(p, (bool, complex)):
            try:  # a 0-d real array
                return _split_power(float(p))
            except (TypeError, ValueError):
                pass
        msg = (
            f"p must be a real number or an array of them, got {p!r} (Python or NumPy numbers, or an "
            "array whose values can be read: they select the approximant's coefficients, so p cannot "
            "be a traced value)"
        )
        raise TypeError(msg)
    p = float(p)
    if not abs(p) < math.inf:  # NaN or Inf (comparisons, not math.isfinite: torch.compile)
        msg = f"p must be a finite real number, got {p}"
        raise ValueError(msg)
    k = int(p)  # towards 0
    return k, p - k


def _integer_power(
    A: Array, k: int, hermitian: bool, check_finite: bool, method: str, backward: str
) -> Array:
    """``A^k`` by repeated squaring (``k < 0``: of ``A^-1``); ``A^0 = I``. Exact up to the products' rounding."""
    A, xp = as_array(A)
    check_matrix(A)
    hermitian = check_bool(hermitian, "hermitian")
    check_finite = check_bool(check_finite, "check_finite")
    check_choice(method, METHODS, "method")  # unused for integer powers, but not misspelt
    check_choice(backward, BACKWARDS, "backward")
    A, out_dtype = compute_dtype(A, xp)
    adapter = adapter_for(xp, A)
    ops = adapter.ops
    if check_finite and ops.eager and ops.all_finite(adapter.inspectable(A)) is False:
        bad = ~xp.all(xp.isfinite(adapter.inspectable(A)), axis=(-2, -1))
        msg = f"A{where_text(bad)} contains NaN or Inf (pass check_finite=False to skip these checks)"
        raise ValueError(msg)
    if any(d == 0 for d in A.shape):
        return xp.astype(A, out_dtype)
    out = adapter.run(partial(_matrix_power, k=k, hermitian=hermitian), A)
    if k < 0 and check_finite and ops.eager and ops.all_finite(adapter.inspectable(out)) is False:
        bad = ~xp.all(xp.isfinite(adapter.inspectable(out)), axis=(-2, -1))
        msg = f"A{where_text(bad)} is singular: its power A^{k} does not exist"
        raise ValueError(msg)
    return xp.astype(out, out_dtype) if out.dtype != out_dtype else out


def _matrix_power(A: Array, ops: Ops, *, k: int, hermitian: bool) -> Array:
    """``A^k`` by repeated squaring (of ``A^-1`` for ``k < 0``; NaN where ``A`` is singular); ``A^0 = I``."""
    if k == 0:
        return ops.xp.zeros_like(A) + ops.eye_like(A)
    if hermitian:  # a function of Hermitian matrices: its gradient is Hermitian, as the roots'
        A = ops.hermitian_part(A)
    base = ops.inv(A) if k < 0 else A
    out = None
    e = abs(k)
    while e:
        if e & 1:
            out = base if out is None else out @ base
        e >>= 1
        if e:
            base = base @ base
    return ops.hermitian_part(out) if hermitian else out


def _exponent_array(p: Any) -> Any:
    """``p`` as a NumPy array of exponents when it is an array with at least one dimension, else ``None``."""
    import numpy as np

    if isinstance(p, (int, float)):  # the common case first (and no getattr: torch.compile)
        return None
    shape = getattr(p, "shape", None)
    if isinstance(p, (list, tuple)):
        p = np.asarray(p, dtype=float)
    elif shape is None or tuple(shape) == ():
        return None
    if getattr(p, "requires_grad", False):
        msg = "powm computes no gradient with respect to p: pass p.detach()"
        raise TypeError(msg)
    try:
        if hasattr(p, "detach"):
            p = p.detach().cpu()
        values = np.asarray(p)
    except Exception as exc:  # a traced value
        msg = (
            "p must be a real number or an array whose values can be read (they select the "
            f"approximant's coefficients), got {type(p).__name__}"
        )
        raise TypeError(msg) from exc
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        msg = f"p must hold real numbers, got dtype {values.dtype}"
        raise TypeError(msg)
    return values.astype(float)


def _powm_per_matrix(A: Array, P: Any, keywords: dict[str, Any]) -> Array:
    """``A^p`` with one exponent per matrix: ``P`` broadcasts against ``A``'s batch dimensions
    (or has shape ``batch + (1,)``, pyRiemann's convention). Matrices sharing an exponent are
    computed together."""
    import numpy as np

    A, xp = as_array(A)
    check_matrix(A)
    batch = tuple(A.shape[:-2])
    if P.ndim == len(batch) + 1 and P.shape[-1] == 1 and P.shape[:-1] == batch:
        P = P[..., 0]  # shape batch + (1,): broadcast against the eigenvalues in pyRiemann
    try:
        shape = np.broadcast_shapes(batch, P.shape)
    except ValueError as exc:
        msg = f"p of shape {P.shape} does not broadcast against A's batch dimensions {batch}"
        raise ValueError(msg) from exc
    n = A.shape[-1]
    A = xp.broadcast_to(A, (*shape, n, n)) if tuple(shape) != batch else A
    flat = xp.reshape(A, (-1, n, n))
    values = np.broadcast_to(P, shape).reshape(-1)
    if values.size == 0:
        return xp.reshape(flat, (*shape, n, n))
    parts, order = [], []
    for u in np.unique(values):
        idx = np.nonzero(values == u)[0]
        sub = flat if idx.size == values.size else _take(xp, flat, idx)
        parts.append(powm(sub, float(u), **keywords))
        order.append(idx)
    if len(parts) == 1:
        out = parts[0]
    else:
        perm = np.argsort(np.concatenate(order), kind="stable")
        out = _take(xp, xp.concat(parts, axis=0), perm)
    return xp.reshape(out, (*shape, n, n))


def _take(xp: Any, x: Array, idx: Any) -> Array:
    """``x[idx]`` along the first axis for a NumPy integer array ``idx``."""
    if "dask" in getattr(xp, "__name__", ""):
        return x[idx]  # (dask's take with a dask index loses elements of a single chunk)
    return xp.take(x, xp.asarray(idx.astype("int64"), device=device(x)), axis=0)


def _check_power(p: Any) -> tuple[float, bool]:
    """``(|p|, p < 0)`` for a real number ``0 < |p| < 1``."""
    import numbers

    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        if getattr(p, "shape", None) == () and not isinstance(p, (bool, complex)):
            try:  # a 0-d real array
                return _check_power(float(p))
            except (TypeError, ValueError):
                pass
        msg = (
            f"p must be a real number with 0 < |p| < 1, got {p!r} (a Python or NumPy number: "
            "it selects the approximant's coefficients, so it cannot be a traced value)"
        )
        raise TypeError(msg)
    p = float(p)
    if 0.0 < abs(p) < 1.0 and 1.0 - abs(p) == 1.0:
        msg = f"|p| = {abs(p):g} is below double precision's resolution (1 - |p| rounds to 1): A^p is I to that precision"
        raise ValueError(msg)
    if not 0.0 < abs(p) < 1.0:
        msg = f"the fractional part p must be a real number with 0 < |p| < 1, got {p}"
        raise ValueError(msg)
    return abs(p), p < 0


def _root(
    A: Array,
    inverse: bool,
    method: str,
    order: Any,
    tol: Any,
    backward: str,
    hermitian: bool,
    check_finite: bool,
    power: float = 0.5,
) -> Array:
    A, xp, out_dtype, adapter, opt, checks = _prepare(
        A, inverse, method, order, tol, backward, hermitian, check_finite, power
    )
    if opt is None:  # size-0 dimensions
        return xp.astype(xp.zeros_like(A), out_dtype)
    if check_finite and not adapter.ops.eager:
        # values hidden (traced or lazy): bad matrices give NaN, their batch-mates are unaffected
        out = adapter.guarded_root(A, opt, checks)
    else:
        out = adapter.root(A, opt)
        if check_finite:
            _check_result(adapter, A, out, opt, inverse, power)
    return out if out.dtype == out_dtype else xp.astype(out, out_dtype)


def _check_result(adapter: Any, A: Array, out: Array, opt: Options, inverse: bool, power: float) -> None:
    """Eager results of checked input: a negative power that came out non-finite is refused
    (the input passed the Cholesky test but is singular to rounding, as the eigensolver or the
    iteration found); general results are checked by their residual."""
    name = ("invsqrtm" if inverse else "sqrtm") if power == 0.5 else "powm"
    ops = adapter.ops
    if inverse and ops.all_finite(adapter.inspectable(out)) is False:
        xp = ops.xp
        bad = ~xp.all(xp.isfinite(adapter.inspectable(out)), axis=(-2, -1))
        what = "inverse square root" if power == 0.5 else f"power A^{-power:g}"
        single = float(xp.finfo(out.dtype).eps) > 1e-10
        msg = (
            f"A{where_text(bad)} is singular to rounding (its computed {what} is not finite): "
            "the result does not exist in this precision. For a covariance, add a ridge "
            "(A + delta * I, e.g. delta = 1e-8 * trace(A) / n)"
            + (", or compute in float64" if single else "")
        )
        raise ValueError(msg)
    if not opt.hermitian:
        warn_if_far_off(adapter.inspectable(A), adapter.inspectable(out), opt.exponent, ops, name)


def _prepare(
    A: Array,
    inverse: bool,
    method: str,
    order: Any,
    tol: Any,
    backward: str,
    hermitian: bool,
    check_finite: bool,
    power: float = 0.5,
) -> tuple[Array, Any, Any, Any, Options | None, dict[str, bool]]:
    """Validate, check the values (eager arrays), resolve the options; ``opt`` is ``None`` for empty input."""
    A, xp = as_array(A)
    check_matrix(A)
    hermitian = check_bool(hermitian, "hermitian")
    check_finite = check_bool(check_finite, "check_finite")
    A, out_dtype = compute_dtype(A, xp)
    adapter = adapter_for(xp, A)
    checks = {"inverse": inverse, "hermitian": hermitian}
    if A.shape[-1] == 0 or any(d == 0 for d in A.shape[:-2]):
        # validate the options all the same
        resolve_options(
            A,
            Ops(xp),
            inverse=inverse,
            method=method,
            order=order,
            tol=None,
            backward=backward,
            hermitian=hermitian,
            power=power,
        )
        return A, xp, out_dtype, adapter, None, checks
    inspection = None
    if check_finite and adapter.ops.eager:
        factor = raise_if_bad(adapter.inspectable(A), adapter.ops, **checks, power=power)
        if hermitian:  # one look at A: the checks' factor serves the spectrum bounds
            inspection = Inspection(adapter.inspectable(A), adapter.ops, factor)
    opt = resolve_options(
        adapter.inspectable(A),
        adapter.ops,
        inverse=inverse,
        method=method,
        order=order,
        tol=tol,
        backward=backward,
        hermitian=hermitian,
        accelerator=adapter.accelerator,
        power=power,
        inspection=inspection,
    )
    if inspection is not None and opt.method == "zolotarev":
        opt = replace(opt, spectrum=inspection.ratio())
    if check_finite and adapter.ops.eager and order is None and tol is None:
        name = "invsqrtm" if inverse and power == 0.5 else "sqrtm" if power == 0.5 else "powm"
        warn_if_default_far_off(adapter.inspectable(A), opt, adapter.ops, name, inspection)
    return A, xp, out_dtype, adapter, opt, checks


def sqrtm_and_vjp(
    A: Array,
    /,
    *,
    method: str = "pade",
    order: int | None = None,
    tol: float | None = None,
    backward: str = "auto",
    hermitian: bool = True,
    check_finite: bool = True,
) -> tuple[Array, Any]:
    """``Y = sqrtm(A)`` and a function ``vjp(G) -> dL/dA``, for code without autodiff.

    The gradient is the one autodiff would give through :func:`sqrtm` with the
    same options: with the default ``backward="auto"`` (``"rational"`` for Padé),
    the exact derivative of the computed approximant, which reuses the
    forward's inverse and costs about as much as the forward. :func:`sqrtm_vjp`,
    which only has ``Y``, must instead solve a Lyapunov equation iteratively.

    Parameters
    ----------
    A : array of shape (..., n, n)
        As in :func:`sqrtm`; arrays whose values can be read (NumPy, CuPy,
        array-api-strict, torch, JAX outside ``jit``; not Dask).
    method : {"pade", "taylor", "newton_schulz", "eigh", "auto"}, optional
        As in :func:`sqrtm`.
    order : int, optional
        As in :func:`sqrtm`.
    tol : float, optional
        As in :func:`sqrtm`.
    backward : {"auto", "rational", "lyapunov", "eigh"}, optional
        As in :func:`sqrtm`: the gradient ``vjp`` returns.
    hermitian : bool, optional
        As in :func:`sqrtm`.
    check_finite : bool, optional
        As in :func:`sqrtm`.

    Returns
    -------
    Y : array of shape (..., n, n)
        The square root :func:`sqrtm` returns, to rounding (with Padé, ``sqrtm`` solves
        with the approximant's denominator; here it is inverted, for the backward).
    vjp : callable
        ``vjp(G)`` with ``G = dL/dY`` of ``Y``'s shape returns ``dL/dA``. It may be
        called any number of times.

    Raises
    ------
    ValueError
        As :func:`sqrtm`; and for arrays whose values cannot be read (Dask, JAX
        tracers), where :func:`sqrtm` with :func:`sqrtm_vjp` or the library's
        autodiff apply.

    See Also
    --------
    sqrtm_vjp : The gradient from ``Y`` alone.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> Y, vjp = matsqrt.sqrtm_and_vjp(np.diag([4.0, 9.0]))
    >>> np.round(vjp(np.eye(2)), 6).tolist()
    [[0.25, 0.0], [0.0, 0.166667]]
    """
    return _root_and_vjp(A, False, method, order, tol, backward, hermitian, check_finite)


def invsqrtm_and_vjp(
    A: Array,
    /,
    *,
    method: str = "pade",
    order: int | None = None,
    tol: float | None = None,
    backward: str = "auto",
    hermitian: bool = True,
    check_finite: bool = True,
) -> tuple[Array, Any]:
    """``Z = invsqrtm(A)`` and a function ``vjp(G) -> dL/dA``, for code without autodiff.

    As :func:`sqrtm_and_vjp`, for the inverse square root.

    Parameters
    ----------
    A : array of shape (..., n, n)
        As in :func:`invsqrtm`.
    method : {"pade", "taylor", "newton_schulz", "eigh", "auto"}, optional
        As in :func:`invsqrtm`.
    order : int, optional
        As in :func:`invsqrtm`.
    tol : float, optional
        As in :func:`invsqrtm`.
    backward : {"auto", "rational", "lyapunov", "eigh"}, optional
        As in :func:`invsqrtm`: the gradient ``vjp`` returns.
    hermitian : bool, optional
        As in :func:`invsqrtm`.
    check_finite : bool, optional
        As in :func:`invsqrtm`.

    Returns
    -------
    Z : array of shape (..., n, n)
        The inverse square root :func:`invsqrtm` returns, to rounding (with Padé,
        ``invsqrtm`` solves with the approximant's denominator; here it is inverted, for
        the backward).
    vjp : callable
        ``vjp(G)`` with ``G = dL/dZ`` returns ``dL/dA``.

    See Also
    --------
    invsqrtm_vjp : The gradient from ``Z`` alone.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> Z, vjp = matsqrt.invsqrtm_and_vjp(np.diag([4.0, 1.0]))
    >>> np.round(vjp(np.eye(2)), 4).tolist()  # the Padé approximant's derivative: -0.499998
    [[-0.0625, 0.0], [0.0, -0.5]]
    """
    return _root_and_vjp(A, True, method, order, tol, backward, hermitian, check_finite)


def _root_and_vjp(
    A: Array,
    inverse: bool,
    method: str,
    order: Any,
    tol: Any,
    backward: str,
    hermitian: bool,
    check_finite: bool,
    power: float = 0.5,
) -> tuple[Array, Any]:
    A, xp, out_dtype, adapter, opt, _ = _prepare(
        A, inverse, method, order, tol, backward, hermitian, check_finite, power
    )
    if not adapter.ops.eager:
        name = "invsqrtm" if inverse else "sqrtm"
        msg = (
            f"{name}_and_vjp needs arrays whose values can be read; for lazy or traced arrays use "
            f"{name} with {name}_vjp, or the library's autodiff"
        )
        raise ValueError(msg)
    if opt is None:  # size-0 dimensions
        zero = xp.astype(xp.zeros_like(A), out_dtype)
        return zero, lambda G: zero
    out, res = forward(A, opt, adapter.ops)
    if check_finite:
        _check_result(adapter, A, out, opt, inverse, power)
    shape = tuple(out.shape)

    def pullback(G: Array) -> Array:
        G = as_array_like(G, xp, "G", "the root")
        if tuple(G.shape) != shape:
            msg = f"G must have the shape of the root {shape}, got {tuple(G.shape)}"
            raise ValueError(msg)
        G = xp.astype(G, xp.result_type(out.dtype, G.dtype)) if G.dtype != out.dtype else G
        # fresh ops per call: the intermediates an adapter reuses are not kept between calls
        return _gradient_in(vjp(G, A, out, res, opt, adapter_for(xp, A).ops), out_dtype, xp)

    return (out if out.dtype == out_dtype else xp.astype(out, out_dtype)), pullback


def solve_sylvester(A: Array, B: Array, C: Array, /, *, iters: int | None = None) -> Array:
    """Solve ``A X + X B = C`` by the matrix sign function, batched.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Left coefficient; its spectrum must lie in the open right half-plane.
    B : array of shape (..., m, m)
        Right coefficient; its spectrum must lie in the open right half-plane.
    C : array of shape (..., n, m)
        Right-hand side. Batch dimensions of the three broadcast.
    iters : int, optional
        Newton sign iterations (two inverses and two products each).
        ``None``: iterate until converged (at most 100) on eager arrays, 16
        where values cannot be inspected (JAX tracing, Dask).

    Returns
    -------
    array of shape (..., n, m)
        ``X``, the solution.

    Raises
    ------
    ValueError
        On eager arrays, where ``A`` or ``B`` has an eigenvalue whose real part is not
        positive beyond rounding. Where values cannot be inspected such matrices of
        the batch give NaN (their solution's backward error is checked).

    See Also
    --------
    solve_lyapunov : The case ``B = A^H``.

    Notes
    -----
    Newton's iteration for the sign of ``[[A, -C], [0, -B]]`` with norm scaling:
    quadratic convergence for any spectra in the open right half-plane, near the
    imaginary axis too (8-12 steps measured). Agrees with
    :func:`scipy.linalg.solve_sylvester`.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.diag([1.0, 2.0]); B = np.diag([3.0, 4.0]); C = np.ones((2, 2))
    >>> X = matsqrt.solve_sylvester(A, B, C)
    >>> bool(np.allclose(A @ X + X @ B, C))
    True
    """
    A, xp = as_array(A, "A")
    B = as_array_like(B, xp, "B")
    C = as_array_like(C, xp, "C")
    check_matrix(A, "A")
    check_matrix(B, "B")
    if C.ndim < 2 or C.shape[-2:] != (A.shape[-1], B.shape[-1]):
        msg = f"C must have shape (..., {A.shape[-1]}, {B.shape[-1]}) for A {tuple(A.shape)} and B {tuple(B.shape)}, got {tuple(C.shape)}"
        raise ValueError(msg)
    iters = check_order(iters, "iters")
    A, _ = compute_dtype(A, xp, "A")
    B, _ = compute_dtype(B, xp, "B")
    C, _ = compute_dtype(C, xp, "C")
    dt = xp.result_type(A.dtype, B.dtype, C.dtype)
    A, B, C = (xp.astype(M, dt) for M in (A, B, C))
    if any(d == 0 for d in C.shape):
        return C
    adapter = adapter_for(xp, A)
    ops = adapter.ops
    if ops.eager:
        _refuse_unstable(adapter, A, "A")
        _refuse_unstable(adapter, B, "B")
        return adapter.sylvester(A, B, C, iters)
    # values hidden: a coefficient with an eigenvalue off the open right half-plane gives a
    # matrix that does not solve the equation; NaN there (its backward error is far from rounding)
    return adapter.sylvester(A, B, C, iters, guard=True)


def _refuse_unstable(adapter: Any, M: Array, name: str) -> None:
    """``ValueError`` where a coefficient of the Sylvester equation has an eigenvalue whose real part
    is not positive beyond rounding (the sign function's solution does not solve the equation there)."""
    ops = adapter.ops
    xp = ops.xp
    M = adapter.inspectable(M)
    m = ops.max_abs(M)
    unit = xp.where(m > 0, m, xp.ones_like(m))  # (JAX's CPU eigensolver fails beyond ~1e154)
    w = ops.eigvals(M / unit[..., None, None])
    if w is None:
        return
    tau = rounding_tol(M.dtype, M.shape[-1], xp)
    bad = xp.any(xp.real(w) <= tau * (m / unit)[..., None], axis=-1)
    if not bool(xp.any(bad)):
        return
    msg = (
        f"{name}{where_text(bad)} has an eigenvalue with real part <= 0 (within rounding): the sign "
        "function solves A X + X B = C only for A and B with spectra in the open right half-plane"
    )
    raise ValueError(msg)


def solve_lyapunov(A: Array, Q: Array, /, *, iters: int | None = None) -> Array:
    """Solve ``A X + X A^H = Q`` (SciPy's ``solve_continuous_lyapunov`` convention).

    The spectrum of ``A`` must lie in the open right half-plane.

    Parameters
    ----------
    A : array of shape (..., n, n)
        Coefficient matrix.
    Q : array of shape (..., n, n)
        Right-hand side; batch dimensions broadcast with ``A``'s.
    iters : int, optional
        Sign iterations, as in :func:`solve_sylvester`.

    Returns
    -------
    array of shape (..., n, n)
        ``X``, the solution.

    See Also
    --------
    solve_sylvester : The general equation ``A X + X B = C``.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]]); Q = np.eye(2)
    >>> X = matsqrt.solve_lyapunov(A, Q)
    >>> bool(np.allclose(A @ X + X @ A.T, Q))
    True
    """
    A, xp = as_array(A, "A")
    check_matrix(A, "A")
    Ops_ = Ops(xp)
    return solve_sylvester(A, Ops_.mH(A), Q, iters=iters)


def sqrtm_vjp(
    Y: Array, G: Array, /, *, backward: str = "lyapunov", hermitian: bool = True, iters: int | None = None
) -> Array:
    """Gradient ``dL/dA`` given ``Y = sqrtm(A)`` and ``G = dL/dY``, without autodiff.

    Parameters
    ----------
    Y : array of shape (..., n, n)
        The square root returned by :func:`sqrtm`.
    G : array of shape (..., n, n)
        The cotangent (gradient of a real loss with respect to ``Y``).
    backward : {"lyapunov", "eigh"}, optional
        ``"lyapunov"`` solves ``Y^H X + X Y^H = G`` by the sign iteration;
        ``"eigh"`` is exact (Daleckii–Krein, Hermitian only).
    hermitian : bool, optional
        Whether ``Y`` is Hermitian positive semidefinite.
    iters : int, optional
        Sign iterations for ``"lyapunov"``; ``None`` iterates to convergence
        on eager arrays (30 where values cannot be inspected).

    Returns
    -------
    array of shape (..., n, n)
        ``dL/dA``, the same as torch autograd or ``jax.grad`` through
        :func:`sqrtm` give (conjugated for complex input as torch does).

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> Y = matsqrt.sqrtm(np.eye(3))
    >>> bool(np.allclose(matsqrt.sqrtm_vjp(Y, np.eye(3)), np.eye(3) / 2))
    True
    """
    return _vjp(Y, G, False, backward, hermitian, iters)


def invsqrtm_vjp(
    Z: Array, G: Array, /, *, backward: str = "lyapunov", hermitian: bool = True, iters: int | None = None
) -> Array:
    """Gradient ``dL/dA`` given ``Z = invsqrtm(A)`` and ``G = dL/dZ``, without autodiff.

    ``"lyapunov"`` solves ``Z^H X + X Z^H = G`` and returns ``-(Z^2)^H X (Z^2)^H``.

    Parameters
    ----------
    Z : array of shape (..., n, n)
        The inverse square root returned by :func:`invsqrtm`.
    G : array of shape (..., n, n)
        The cotangent (gradient of a real loss with respect to ``Z``).
    backward : {"lyapunov", "eigh"}, optional
        As in :func:`sqrtm_vjp`.
    hermitian : bool, optional
        Whether ``Z`` is Hermitian positive definite.
    iters : int, optional
        As in :func:`sqrtm_vjp`.

    Returns
    -------
    array of shape (..., n, n)
        ``dL/dA``.

    See Also
    --------
    invsqrtm : The forward computation.

    Examples
    --------
    >>> import numpy as np, matsqrt
    >>> Z = matsqrt.invsqrtm(np.eye(2))
    >>> bool(np.allclose(matsqrt.invsqrtm_vjp(Z, np.eye(2)), -np.eye(2) / 2))
    True
    """
    return _vjp(Z, G, True, backward, hermitian, iters)


def _vjp(out: Array, G: Array, inverse: bool, backward: str, hermitian: bool, iters: Any) -> Array:
    out, xp = as_array(out, "Y")
    G = as_array_like(G, xp, "G", "Y")
    check_matrix(out, "Y")
    if tuple(G.shape) != tuple(out.shape):
        msg = f"G must have the shape of Y {tuple(out.shape)}, got {tuple(G.shape)}"
        raise ValueError(msg)
    backward = check_choice(backward, ("lyapunov", "eigh"), "backward")
    iters = check_order(iters, "iters")
    if backward == "eigh" and not hermitian:
        msg = 'backward="eigh" needs Hermitian input; use hermitian=True or backward="lyapunov"'
        raise ValueError(msg)
    out, out_dtype = compute_dtype(out, xp, "Y")
    G, _ = compute_dtype(G, xp, "G")
    G = xp.astype(G, xp.result_type(out.dtype, G.dtype))
    out = xp.astype(out, G.dtype)
    if any(d == 0 for d in out.shape):
        return G
    adapter = adapter_for(xp, out)
    if backward == "eigh":
        res = adapter.run(_vjp_eigh_core(inverse), G, out)
    else:
        opt = Options(
            inverse=inverse,
            method="pade",
            order=1,
            backward="lyapunov",
            bwd_iters=iters,
            hermitian=bool(hermitian),
            scaling="mean",
        )
        res = adapter.run(_vjp_lyapunov_core(opt), G, out)
    return _gradient_in(res, out_dtype, xp)


def _gradient_in(g: Array, out_dtype: Any, xp: Any) -> Array:
    """The gradient in the root's dtype (real roots only: a complex gradient stays complex)."""
    return (
        g if g.dtype == out_dtype or not xp.isdtype(out_dtype, "real floating") else xp.astype(g, out_dtype)
    )


def _vjp_eigh_core(inverse: bool) -> Any:
    def fn(G: Array, out: Array, ops: Ops) -> Array:
        G = ops.hermitian_part(G)  # Hermitian input: the gradient is Hermitian (as in core.vjp)
        w, V = ops.eigh(out)
        w = clip_eigenvalues(w, ops.xp)
        r = 1 / w if inverse else w  # the square roots of A's eigenvalues
        return daleckii_krein(G, None, V, -0.5 if inverse else 0.5, ops, roots=r)

    return fn


def _vjp_lyapunov_core(opt: Options) -> Any:
    from dataclasses import replace

    from ._core._sign import DEFAULT_TRACED_ITERS

    def fn(G: Array, out: Array, ops: Ops) -> Array:
        if opt.bwd_iters is None and not ops.eager:
            return vjp(G, None, out, None, replace(opt, bwd_iters=DEFAULT_TRACED_ITERS), ops)
        return vjp(G, None, out, None, opt, ops)

    return fn
