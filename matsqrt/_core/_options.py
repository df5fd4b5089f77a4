"""Resolved, hashable options passed through the core and the adapters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BACKWARDS",
    "METHODS",
    "SCALINGS",
    "AccuracyWarning",
    "Options",
    "rounding_floor",
    "stieltjes_q",
    "warn_accuracy",
]

METHODS = ("pade", "zolotarev", "denman_beavers", "taylor", "newton_schulz", "eigh", "auto")
BACKWARDS = ("auto", "rational", "lyapunov", "eigh")
SCALINGS = ("frobenius", "mean", "estimate")


class AccuracyWarning(RuntimeWarning):
    """A requested ``tol`` cannot be reached, or the default approximation is predicted to be far off."""


def warn_accuracy(msg: str) -> None:
    """Issue an :class:`AccuracyWarning` attributed to the first caller outside matsqrt and the array libraries."""
    import sys
    import warnings

    skip = ("matsqrt", "torch", "jax", "jaxlib", "dask", "array_api_compat", "functools", "contextlib")
    level, frame = 2, sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.split(".")[0] not in skip:
            break
        frame, level = frame.f_back, level + 1
    warnings.warn(msg, AccuracyWarning, stacklevel=level)


def rounding_floor(eps: float, cond: float, inverse: bool, power: float = 0.5) -> float:
    """Worst-case relative error of ``A^(+-p)`` from rounding ``A`` (``eps ||A||`` absolute): eigh's,
    and the floor no method computing in the dtype is certain to get below.

    ``A^-p``: ``2 p eps cond``; ``A^p``: ``min(2 p eps cond^(1-p), eps^p)`` (an eigenvalue
    0 computed as ``eps ||A||`` gives ``(eps ||A||)^p``). For ``p = 1/2`` (``eps cond``
    and ``min(eps cond^(1/2), eps^(1/2))``) measured at 0.4-0.7x that.
    """
    if inverse:
        return 2 * power * eps * cond
    return min(2 * power * eps * cond ** (1 - power), eps**power)


def stieltjes_q(power: float, inverse: bool) -> float:
    """``q`` with Padé approximating ``x^(-q)``: ``A^-q`` directly, ``A^(1-q) = A A^(-q)`` for positive powers."""
    return power if inverse else 1.0 - power


@dataclass(frozen=True)
class Options:
    """Everything static about one call; hashable so JAX can treat it as static.

    Attributes
    ----------
    inverse : bool
        ``False`` for ``A^(1/2)``, ``True`` for ``A^(-1/2)`` (generally: the sign of the exponent).
    method : str
        One of ``"pade"``, ``"zolotarev"``, ``"denman_beavers"``, ``"taylor"``, ``"newton_schulz"``,
        ``"eigh"`` (resolved).
    order : int
        Padé order m ([m/m]), Taylor degree, or Newton–Schulz iterations.
    backward : str
        ``"rational"``, ``"lyapunov"`` or ``"eigh"`` (resolved).
    bwd_iters : int or None
        Sign iterations for ``backward="lyapunov"``; ``None``: until converged
        on eager arrays, the paper's 8 where values cannot be inspected.
    hermitian : bool
        Input is Hermitian positive (semi)definite.
    scaling : str
        How ``A`` is normalised before the approximation (see ``_forward``).
    pade_form : str
        How ``method="pade"`` evaluates the approximant: ``"fractions"`` (m
        shifted inverses, accurate at any order) or ``"product"`` (one inverse
        of ``Q(A_n)``, low orders of Hermitian input; see ``_forward``).
    tol : float or None
        ``method="zolotarev"`` and ``"denman_beavers"``: the relative accuracy the iteration
        certifies (eager) or plans for (traced).
    power : float
        The exponent's magnitude ``|p|`` in ``(0, 1)``: the result is ``A^power``, or
        ``A^(-power)`` with ``inverse``. ``0.5`` for the square roots, which alone have
        the product form, the Taylor and Newton–Schulz methods and the Lyapunov backward.
    spectrum : float or None
        ``method="zolotarev"`` on checked eager input: the smallest ``l_min / l_max`` over the
        batch, estimated once by the input's inspection (from the checks' Cholesky factor);
        ``None``: the iteration estimates it itself.
    """

    inverse: bool
    method: str
    order: int
    backward: str
    bwd_iters: int | None
    hermitian: bool
    scaling: str
    pade_form: str = "fractions"
    power: float = 0.5
    tol: float | None = None
    spectrum: float | None = None

    @property
    def exponent(self) -> float:
        """The signed exponent ``p`` of ``A^p``."""
        return -self.power if self.inverse else self.power

    @property
    def q(self) -> float:
        """Padé approximates ``x^(-q)`` (:func:`stieltjes_q`)."""
        return stieltjes_q(self.power, self.inverse)
