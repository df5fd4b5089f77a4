"""Resolved, hashable options passed through the core and the adapters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BACKWARDS", "METHODS", "SCALINGS", "Options", "stieltjes_q"]

METHODS = ("pade", "taylor", "newton_schulz", "eigh", "auto")
BACKWARDS = ("auto", "rational", "lyapunov", "eigh")
SCALINGS = ("frobenius", "mean", "estimate")


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
        One of ``"pade"``, ``"taylor"``, ``"newton_schulz"``, ``"eigh"`` (resolved).
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
    power : float
        The exponent's magnitude ``|p|`` in ``(0, 1)``: the result is ``A^power``, or
        ``A^(-power)`` with ``inverse``. ``0.5`` for the square roots, which alone have
        the product form, the Taylor and Newton–Schulz methods and the Lyapunov backward.
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

    @property
    def exponent(self) -> float:
        """The signed exponent ``p`` of ``A^p``."""
        return -self.power if self.inverse else self.power

    @property
    def q(self) -> float:
        """Padé approximates ``x^(-q)`` (:func:`stieltjes_q`)."""
        return stieltjes_q(self.power, self.inverse)
