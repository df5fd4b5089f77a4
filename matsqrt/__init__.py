"""matsqrt: fast, differentiable matrix square roots on any array library.

Implements Song, Sebe & Wang, "Fast Differentiable Matrix Square Root and
Inverse Square Root" (TPAMI 2022) once against the Python Array API standard:
a Padé (or Taylor) forward and a Lyapunov backward, with adapters that give
torch and JAX autodiff and run the same core on NumPy, CuPy, Dask and
array-api-strict. Importing matsqrt imports none of those libraries but NumPy.
"""

from ._api import (
    invsqrtm,
    invsqrtm_and_vjp,
    invsqrtm_vjp,
    powm,
    solve_lyapunov,
    solve_sylvester,
    sqrtm,
    sqrtm_and_vjp,
    sqrtm_vjp,
)
from ._diagnostics import residual
from ._validation import AccuracyWarning

__version__ = "0.1.0"

__all__ = [
    "AccuracyWarning",
    "__version__",
    "invsqrtm",
    "invsqrtm_and_vjp",
    "invsqrtm_vjp",
    "powm",
    "residual",
    "solve_lyapunov",
    "solve_sylvester",
    "sqrtm",
    "sqrtm_and_vjp",
    "sqrtm_vjp",
]
