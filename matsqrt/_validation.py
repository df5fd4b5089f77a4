"""Input checks and option resolution (the delegation layer's half of the work)."""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

from ._compat import array_namespace, device
from ._core import Ops, Options, estimate_spectrum, scale_of
from ._core._coefficients import fraction_error
from ._core._forward import PRODUCT_MAX_ORDER, PRODUCT_MAX_Q, product_form
from ._core._options import BACKWARDS, METHODS, AccuracyWarning, rounding_floor, stieltjes_q, warn_accuracy
from ._core._orders import MAX_ORDER, order_for, sign_iters_for
from ._core._spectrum import largest_eigenvalue

__all__ = [
    "AccuracyWarning",
    "as_array",
    "as_array_like",
    "check_bool",
    "check_matrix",
    "compute_dtype",
    "resolve_options",
]

#: the paper's configuration (order=None)
DEFAULT_ORDER = {"pade": 5, "taylor": 10, "newton_schulz": 5}
#: the paper's backward: 8 coupled Newton–Schulz sign iterations
DEFAULT_BWD_ITERS = 8
#: the default normalisation per method (see matsqrt._core._forward)
DEFAULT_SCALING = {"pade": "mean", "taylor": "frobenius", "newton_schulz": "frobenius", "eigh": "frobenius"}
#: what :func:`matsqrt.powm` offers for powers other than +-1/2
POWER_METHODS = ("pade", "zolotarev", "eigh", "auto")
POWER_BACKWARDS = ("auto", "rational", "eigh")
#: relative safety factor on the estimated condition number
COND_SAFETY = 2.0


def as_array(A: Any, name: str = "A") -> tuple[Any, Any]:
    """``(array, namespace)``; Python sequences become NumPy arrays.

    Array types whose semantics matsqrt would silently get wrong are refused:
    ``np.matrix`` (``*`` and reductions differ), masked arrays (the mask would be
    ignored), sparse matrices and tensors.
    """
    _refuse_unsupported(A, name)
    try:
        xp = array_namespace(A)
    except TypeError:
        import numpy as np

        if isinstance(A, (list, tuple)) and any(
            type(a).__module__.split(".")[0] in ("torch", "jax", "jaxlib", "cupy", "dask") for a in A
        ):
            lib = type(next(a for a in A if not isinstance(a, (int, float, list, tuple)))).__module__.split(
                "."
            )[0]
            msg = (
                f"{name} is a {type(A).__name__} of {lib} arrays, which would come back as a NumPy "
                f"array: stack them first ({lib}.stack or the namespace's stack)"
            )
            raise TypeError(msg) from None

        try:
            A = np.asarray(A)
        except Exception as exc:  # pragma: no cover - numpy's own message is clear
            msg = f"{name} must be an array, got {type(A).__name__}"
            raise TypeError(msg) from exc
        xp = array_namespace(A)
    return A, xp


def as_array_like(B: Any, xp: Any, name: str, first: str = "A") -> Any:
    """``B`` as an array of the namespace ``xp`` (that of ``first``): Python sequences are converted,
    an array of another library is a ``TypeError`` (its arithmetic with ``first`` would fail deep inside)."""
    B, xp_b = as_array(B, name)
    lib_a, lib_b = (getattr(x, "__name__", "?").replace("array_api_compat.", "") for x in (xp, xp_b))
    if xp_b is not xp and lib_a != lib_b:
        msg = f"{name} is a {lib_b} array but {first} a {lib_a} array: pass both from the same library"
        raise TypeError(msg)
    return B


def _refuse_unsupported(A: Any, name: str) -> None:
    import numpy as np

    what = None
    if isinstance(A, np.ma.MaskedArray):
        what = "a masked array (the mask would be ignored); pass A.filled(...) or drop the masked entries"
    elif isinstance(A, np.matrix):
        what = "np.matrix; pass np.asarray(A)"
    elif type(A).__module__.startswith("scipy.sparse"):
        what = f"a SciPy sparse {type(A).__name__}; pass A.toarray()"
    elif type(A).__module__.startswith("torch") and getattr(A, "layout", None) is not None:
        if str(A.layout) != "torch.strided":
            what = f"a torch tensor with layout {A.layout}; pass A.to_dense()"
    elif type(A).__module__.startswith(("jax.experimental.sparse", "cupyx.scipy.sparse", "sparse")):
        what = f"a sparse {type(A).__name__}; pass a dense array"
    if what is not None:
        msg = f"{name} is {what}: matsqrt takes dense arrays"
        raise TypeError(msg)


def check_bool(value: Any, what: str) -> bool:
    """``value`` as a bool; anything but a bool (or NumPy bool) is a ``TypeError``."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    msg = f"{what} must be True or False, got {value!r}"
    raise TypeError(msg)


def check_matrix(A: Any, name: str = "A") -> None:
    shape = tuple(A.shape)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        msg = f"{name} must have shape (..., n, n) with square trailing dimensions, got shape {shape}"
        raise ValueError(msg)


def compute_dtype(A: Any, xp: Any, name: str = "A") -> tuple[Any, Any]:
    """``(A in its compute dtype, dtype to return)``; raise TypeError if non-numeric."""
    import numpy as np

    dt = A.dtype
    if isinstance(dt, np.dtype) and not dt.isnative:
        # big-endian data on a little-endian machine (or the reverse): the same dtype, native
        A = xp.astype(A, dt.newbyteorder("="))
        return compute_dtype(A, xp, name)[0], dt
    if xp.isdtype(dt, "bool") or not xp.isdtype(dt, "numeric"):
        msg = f"{name} must have a numeric (real or complex floating, or integer) dtype, got {dt}"
        raise TypeError(msg)
    if xp.isdtype(dt, "integral"):
        target = _default_float(xp, A)
        return xp.astype(A, target), target
    if xp.isdtype(dt, "real floating") and dt not in (xp.float32, xp.float64):
        if getattr(dt, "itemsize", 0) > 8:
            msg = f"{name} has dtype {dt}, which matsqrt does not compute in; pass A.astype(float64)"
            raise TypeError(msg)
        return xp.astype(A, xp.float32), dt  # float16 / bfloat16
    if xp.isdtype(dt, "complex floating") and dt not in (xp.complex64, xp.complex128):
        target = "complex128" if getattr(dt, "itemsize", 0) > 16 else "complex64"
        msg = f"{name} has dtype {dt}, which matsqrt does not compute in; convert it to {target}"
        raise TypeError(msg)
    return A, dt


def _default_float(xp: Any, A: Any) -> Any:
    try:
        from ._compat import device

        return xp.__array_namespace_info__().default_dtypes(device=device(A))["real floating"]
    except (AttributeError, TypeError):  # pragma: no cover - very old namespaces
        return xp.float64


def check_choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        msg = f"unknown {what} {value!r}; valid choices are {', '.join(map(repr, choices))}"
        raise ValueError(msg)
    return value


def check_order(order: Any, what: str = "order") -> int | None:
    if order is None:
        return None
    if isinstance(order, bool) or (not isinstance(order, int) and not hasattr(order, "__index__")):
        msg = f"{what} must be None or an integer >= 1, got {order!r}"
        raise ValueError(msg)
    order = int(order)
    if order < 1:
        msg = f"{what} must be None or an integer >= 1, got {order}"
        raise ValueError(msg)
    return order


def check_tol(tol: Any) -> float | None:
    if tol is None:
        return None
    import numbers

    t = float(tol) if isinstance(tol, numbers.Real) and not isinstance(tol, bool) else math.nan
    if not (0.0 < t < 1.0):
        msg = f"tol must be None or a number in (0, 1), got {tol!r}"
        raise ValueError(msg)
    return t


class Inspection:
    """One look at checked eager Hermitian input, shared by every decision of the call.

    It holds the input checks' Cholesky factor (``None`` where they kept none) and estimates
    the spectrum bounds at most once, from that factor (:func:`estimate_spectrum`): the
    choice of method (``method="auto"``), the default's accuracy warning and Zolotarev's
    first interval (:attr:`Options.spectrum`) read the same numbers.
    """

    def __init__(self, A: Any, ops: Ops, factor: Any) -> None:
        self.A, self.ops, self.factor = A, ops, factor
        self._bounds: tuple[Any, Any] | None = None

    def bounds(self) -> tuple[Any, Any]:
        """``(l_min, l_max)`` estimates per matrix, shape ``(..., 1, 1)``."""
        if self._bounds is None:
            self._bounds = estimate_spectrum(self.A, self.ops, True, self.factor)
        return self._bounds

    def ratio(self) -> float:
        """The smallest ``l_min / l_max`` over the batch (0 for a singular or zero matrix)."""
        xp = self.ops.xp
        lo, hi = self.bounds()
        hi = xp.real(hi) if xp.isdtype(hi.dtype, "complex floating") else hi
        return self.ops.read(xp.min(lo / xp.where(hi > 0, hi, xp.ones_like(hi))))


def resolve_options(
    A: Any,
    ops: Ops,
    *,
    inverse: bool,
    method: str,
    order: Any,
    tol: Any,
    backward: str,
    hermitian: bool,
    accelerator: bool = False,
    power: float = 0.5,
    inspection: Inspection | None = None,
) -> Options:
    """Validate the keyword options and resolve them into an :class:`Options`.

    ``power`` is ``|p|`` for :func:`matsqrt.powm` (``inverse``: ``p < 0``). ``inspection``
    (checked eager Hermitian input) serves the spectrum bounds.
    """
    xp = ops.xp
    method = check_choice(method, METHODS, "method")
    backward = check_choice(backward, BACKWARDS, "backward")
    if power != 0.5:  # the square roots' other methods and backward have no counterpart for other powers
        for value, allowed, what in (
            (method, POWER_METHODS, "method"),
            (backward, POWER_BACKWARDS, "backward"),
        ):
            if value not in allowed:
                msg = (
                    f"{what}={value!r} exists for the square roots (p = +-1/2) only; for other p "
                    f"powm takes {what} {', '.join(map(repr, allowed))}"
                )
                raise ValueError(msg)
    q = stieltjes_q(power, inverse)
    order = check_order(order)
    tol = check_tol(tol)
    if not hermitian and method == "eigh":
        msg = 'method="eigh" needs Hermitian input; use hermitian=True or another method'
        raise ValueError(msg)
    if not hermitian and backward == "eigh":
        msg = 'backward="eigh" needs Hermitian input; use hermitian=True or backward="lyapunov"'
        raise ValueError(msg)
    if method == "auto" and order is not None:
        msg = 'method="auto" chooses its own order; pass tol= instead of order='
        raise ValueError(msg)
    zolotarev_ok = hermitian
    if method == "zolotarev":
        if not hermitian:
            msg = (
                'method="zolotarev" needs Hermitian input; for general matrices (hermitian=False) use "pade"'
            )
            raise ValueError(msg)
        if order is not None:
            msg = 'method="zolotarev" chooses its poles from tol; pass tol= instead of order='
            raise ValueError(msg)
    elif zolotarev_ok and tol is not None and method == "pade" and order is None:
        # Padé's order climbs slowly with the condition number; Zolotarev's composed best
        # approximants reach any tol in a few steps, and certify it
        method = "zolotarev"
    if method == "auto" and zolotarev_ok and (accelerator or (tol is not None and not ops.eager)):
        # accelerators: no eigendecomposition; a traced tol: the rational method plans from the dtype
        method = "zolotarev"
    if method == "zolotarev":
        return _zolotarev_options(xp, A.dtype, inverse, tol, backward, power)
    if method == "denman_beavers" or (
        not hermitian
        and power == 0.5
        and (method == "auto" or (method == "pade" and order is None and tol is not None))
    ):
        # general matrices: Padé's error depends on how far the eigenvalues lie from the
        # positive real axis, which no cheap bound sees; the Denman–Beavers iteration
        # converges wherever the principal root exists, and certifies its result
        return _denman_beavers_options(xp, A.dtype, inverse, order, tol, backward, hermitian, power)

    scaling = None
    bwd_iters = None  # backward="lyapunov": until converged (eager), 8 iterations (traced)
    exact_instead = False
    if method == "auto" and hermitian and not accelerator and (tol is None or not ops.eager):
        # Measured (docs/performance.rst): on CPUs eigh is faster than every Padé order
        # (one batched inverse costs 15-20 matmuls at n <= 64) and exact, so without a
        # tol it is the best method; no spectrum estimate is needed.
        method = "eigh"
    if method == "auto" or (tol is not None and method != "eigh"):
        eps = float(xp.finfo(A.dtype).eps)
        floor = eps
        if tol is None:
            tol = 100 * eps
        elif tol < floor:
            warnings.warn(
                f"tol={tol:g} is below what {A.dtype} can deliver; using tol={floor:g}",
                AccuracyWarning,
                stacklevel=5,
            )
            tol = floor
        if not ops.eager:
            msg = (
                "tol= and method='auto' choose the order from the values of A, which cannot be "
                "inspected here (traced or lazy array); pass method='eigh' (exact; Hermitian "
                "input) or an explicit order= (Padé [m/m]'s error per condition number: "
                "matsqrt's methods page), or call eagerly"
            )
            raise ValueError(msg)
        lo, hi, trace = _spectrum_bounds(A, ops, hermitian, inspection)
        cond = COND_SAFETY * hi / lo if lo > 0 else math.inf
        if method == "auto":
            method = _auto_method(tol, eps, cond, inverse, hermitian, power)
            if method == "zolotarev":
                return _zolotarev_options(xp, A.dtype, inverse, tol, backward, power)
        if method == "pade":
            # A^p for small |p| is I + p log A + ...: a forward error tol relative to A^p is an
            # error tol / |p| relative to the derivative, so the order aims at tol |p|
            order = order_for("pade", tol * min(1.0, 2 * power), 1.0, cond, q)
            scaling = "estimate"
            if hermitian and order > MAX_ORDER["pade"]:
                # beyond every Padé order for this conditioning (or singular): the exact
                # method, which never does worse than the default order
                method, exact_instead = "eigh", True
        elif method in ("taylor", "newton_schulz"):
            fro_hi = hi * math.sqrt(A.shape[-1])
            order = order_for(method, tol, lo / (COND_SAFETY * fro_hi), 1.0)
        if method != "eigh":
            if not math.isfinite(order) or order > MAX_ORDER[method]:
                warnings.warn(
                    f"tol={tol:g} needs a {method} order above {MAX_ORDER[method]} for this "
                    f"input (estimated condition number {hi / lo if lo > 0 else math.inf:.3g}); "
                    f"using order {MAX_ORDER[method]}, the result will be less accurate",
                    AccuracyWarning,
                    stacklevel=5,
                )
                order = MAX_ORDER[method]
            # backward sign iterations: the smallest normalised eigenvalue of the coefficient
            n = A.shape[-1]
            mu = (
                math.sqrt(lo / (COND_SAFETY * trace))
                if not inverse
                else math.sqrt(lo / (COND_SAFETY * n * hi))
            )
            bwd_iters = sign_iters_for(tol, mu) + 2 if mu > 0 else 100
        elif exact_instead and rounding_floor(eps, cond, inverse, power) > tol:
            warnings.warn(
                f"tol={tol:g} is out of reach for this input in {A.dtype} (estimated condition "
                f"number {hi / lo if lo > 0 else math.inf:.3g}: the exact eigh result is accurate to "
                f"about {rounding_floor(eps, cond, inverse, power):.2g}); returning that",
                AccuracyWarning,
                stacklevel=5,
            )

    if method != "eigh" and order is None:
        order = DEFAULT_ORDER[method]
    if method == "eigh":
        order = 1
    if scaling is None:
        scaling = DEFAULT_SCALING[method]

    if backward == "auto" or (exact_instead and backward == "rational"):
        backward = {"pade": "rational", "eigh": "eigh"}.get(method, "lyapunov")
    elif backward == "rational" and method not in ("pade", "zolotarev"):
        msg = (
            f'backward="rational" differentiates the Padé approximant; it needs method="pade", not {method!r}'
        )
        raise ValueError(msg)
    product = (
        method == "pade"
        and hermitian
        and scaling == "mean"
        and int(order) <= PRODUCT_MAX_ORDER
        and q <= PRODUCT_MAX_Q
    )
    return Options(
        inverse=inverse,
        method=method,
        order=int(order),
        backward=backward,
        bwd_iters=None if bwd_iters is None else int(bwd_iters),
        hermitian=hermitian,
        scaling=scaling,
        pade_form="product" if product else "fractions",
        power=power,
    )


#: an eager call with the default Padé order warns beyond this predicted relative error
DEFAULT_WARN_ERROR = 1e-2


def predicted_error(m: int, q: float, inverse: bool, power: float, x_min: float, x_max: float) -> float:
    """Relative Frobenius error of the order-``m`` approximant for normalised eigenvalues spread
    evenly in ``log x`` over ``[x_min, x_max]`` (the covariances of the accuracy tables): the error
    ``e(x)`` of each eigenvalue's root weighted by that root's size ``x^(+-power)``."""
    x_min = max(x_min, 1e-300)
    if x_max <= x_min:
        return abs(fraction_error(m, q, x_min))
    la, lb = math.log(x_min), math.log(x_max)
    num = den = 0.0
    for i in range(32):
        x = math.exp(la + (lb - la) * (i + 0.5) / 32)
        w = (x / x_max) ** (2 * power) if not inverse else (x_min / x) ** (2 * power)
        num += w * fraction_error(m, q, x) ** 2
        den += w
    return math.sqrt(num / den)


@cache
def _lowest_good(m: int, q: float, inverse: bool, power: float, x_max: float) -> float:
    """The smallest ``x_min`` whose :func:`predicted_error` with ``x_max`` is at most :data:`DEFAULT_WARN_ERROR`."""
    if predicted_error(m, q, inverse, power, x_max, x_max) > DEFAULT_WARN_ERROR:
        return math.inf
    a, b = x_max, 1e-30 * x_max  # good, bad (bisected in log x)
    for _ in range(24):
        mid = math.sqrt(a * b)
        a, b = (
            (mid, b) if predicted_error(m, q, inverse, power, mid, x_max) <= DEFAULT_WARN_ERROR else (a, mid)
        )
    return a


def warn_if_default_far_off(
    A: Any, opt: Options, ops: Ops, name: str, inspection: Inspection | None = None
) -> None:
    """An :class:`AccuracyWarning` where the default Padé approximant is predicted to be off by more
    than :data:`DEFAULT_WARN_ERROR` (eager Hermitian input).

    The prediction (:func:`predicted_error`) is the approximant's error for eigenvalues spread
    evenly in ``log x`` between the estimated extremes. Its test costs one Cholesky
    factorisation and a few matrix-vector products: the largest eigenvalue by power
    iteration, and whether ``A - s x_lo I`` is positive definite, with ``x_lo`` the lowest
    normalised eigenvalue the prediction allows. Only a flagged call estimates the smallest
    eigenvalue (one more inverse) to say how far off.
    """
    if opt.method != "pade" or opt.scaling != "mean" or not opt.hermitian:
        return
    xp = ops.xp
    s = scale_of(A, "mean", ops)
    zero = s <= 0  # the zero matrix: its root is exact; it is tested as the identity
    if bool(xp.any(zero)):
        s = xp.where(zero, xp.ones_like(s), s)
        A = xp.where(zero, ops.eye_like(A), A)
    ratio = largest_eigenvalue(A, ops) / s * 1.01  # l_max / s, without overflow at any scale
    t = xp.ones_like(s)
    if opt.pade_form == "product":  # the product form scales the spectrum down by t further
        bound = product_form(opt, ops, A.dtype)[1]
        t = xp.maximum(t, ratio / bound)
    x_max = ops.read(xp.max(ratio / t))
    x_max = 2.0 ** (math.ceil(4 * math.log2(max(x_max, 1e-300))) / 4)  # a few cached values
    x_lo = _lowest_good(opt.order, opt.q, opt.inverse, opt.power, x_max)
    if math.isfinite(x_lo) and not bool(xp.any(ops.cholesky_fails(A - (s * (t * x_lo)) * ops.eye_like(A)))):
        return
    # flagged: estimate the smallest eigenvalues too and predict from the batch's extremes
    lo, hi = estimate_spectrum(A, ops) if inspection is None else inspection.bounds()
    worst = predicted_error(
        opt.order,
        opt.q,
        opt.inverse,
        opt.power,
        ops.read(xp.min(lo / s / t)),
        ops.read(xp.max(hi / s / t)),
    )
    cond = ops.read(xp.max(hi / xp.where(lo > 0, lo, xp.full_like(lo, math.nan))))
    cond_txt = f"{cond:.2g}" if math.isfinite(cond) else "inf (singular)"
    warn_accuracy(
        f"{name}: the default Padé [{opt.order}/{opt.order}] approximant is predicted to be off by about "
        f"{min(worst, 1.0):.2g} (relative) for this input (estimated condition number {cond_txt}). "
        f"For an accurate result pass tol= (e.g. tol=1e-8: Zolotarev's method, certified) or "
        f"method='eigh'; to keep the fast approximation without this check, pass order={opt.order}"
    )


def _zolotarev_options(
    xp: Any, dtype: Any, inverse: bool, tol: float | None, backward: str, power: float
) -> Options:
    tol = _within_dtype(tol, xp, dtype)
    if backward == "lyapunov" and power != 0.5:
        msg = 'backward="lyapunov" exists for the square roots (p = +-1/2) only; use "rational" or "eigh"'
        raise ValueError(msg)
    return Options(
        inverse=inverse,
        method="zolotarev",
        order=0,
        backward="rational" if backward == "auto" else backward,
        bwd_iters=None,
        hermitian=True,
        scaling="estimate",
        power=power,
        tol=tol,
    )


def _within_dtype(tol: float | None, xp: Any, dtype: Any) -> float | None:
    """``tol``, raised to the dtype's epsilon with an :class:`AccuracyWarning` where it is below."""
    eps = float(xp.finfo(dtype).eps)
    if tol is not None and tol < eps:
        warnings.warn(
            f"tol={tol:g} is below what {dtype} can deliver; using tol={eps:g}", AccuracyWarning, stacklevel=7
        )
        tol = eps
    return tol


def _denman_beavers_options(
    xp: Any,
    dtype: Any,
    inverse: bool,
    order: Any,
    tol: float | None,
    backward: str,
    hermitian: bool,
    power: float,
) -> Options:
    if power != 0.5:
        msg = f'method="denman_beavers" computes A^p for p = +-1/2, not p = {-power if inverse else power:g}; use "pade" or "eigh"'
        raise ValueError(msg)
    if order is not None:
        msg = (
            'method="denman_beavers" iterates until its certificate reaches tol; pass tol= instead of order='
        )
        raise ValueError(msg)
    if backward == "rational":
        msg = 'backward="rational" differentiates a rational approximant; method="denman_beavers" takes "lyapunov" or "eigh"'
        raise ValueError(msg)
    tol = _within_dtype(tol, xp, dtype)
    return Options(
        inverse=inverse,
        method="denman_beavers",
        order=0,
        backward="lyapunov" if backward == "auto" else backward,
        bwd_iters=None,
        hermitian=hermitian,
        scaling="frobenius",
        power=power,
        tol=tol,
    )


def _auto_method(
    tol: float, eps: float, cond: float, inverse: bool, hermitian: bool, power: float = 0.5
) -> str:
    """``method="auto"`` (eager, CPU): eigh where its rounding floor reaches ``tol`` (on a CPU it is
    faster than Zolotarev's inverses: docs/performance.rst), else the certified rational method
    (which warns where the dtype cannot reach ``tol``). General matrices: Padé."""
    if not hermitian:
        return "pade"
    return "eigh" if rounding_floor(eps, cond, inverse, power) <= tol else "zolotarev"


def _spectrum_bounds(
    A: Any, ops: Ops, hermitian: bool, inspection: Inspection | None = None
) -> tuple[float, float, float]:
    """Worst-case (over the batch) ``lo``, ``hi`` and the trace at the worst matrix."""
    xp = ops.xp
    lo, hi = inspection.bounds() if inspection is not None else estimate_spectrum(A, ops, hermitian)
    pos = lo > 0
    cond = hi / xp.where(pos, lo, xp.ones_like(lo))
    cond = xp.where(xp.isfinite(cond) & pos, cond, xp.full_like(cond, math.inf))
    flat_cond = xp.reshape(cond, (-1,))
    k = int(xp.argmax(flat_cond))
    # matrix k's values by a masked sum, not by indexing (a gather, which JAX refuses on a
    # batch sharded over an Explicit mesh axis)
    at_k = xp.arange(flat_cond.shape[0], device=device(flat_cond)) == k

    def pick(v: Any) -> float:
        flat = xp.reshape(v, (-1,))
        return float(xp.sum(xp.where(at_k, flat, xp.zeros_like(flat))))

    lo_k, hi_k = pick(lo), pick(hi)
    tr = ops.trace(A)
    tr = xp.real(tr) if xp.isdtype(tr.dtype, "complex floating") else tr
    tr_k = pick(tr)
    if not math.isfinite(lo_k) or lo_k <= 0:
        lo_k = 0.0
    return lo_k, hi_k, max(tr_k, hi_k)
