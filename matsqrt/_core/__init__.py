"""The one array-API implementation of matsqrt. Every function takes an ``Ops``."""

from ._derivatives import jvp, vjp
from ._forward import estimate_spectrum, forward, scale_of
from ._ops import Ops
from ._options import Options
from ._sign import sign_sylvester

__all__ = [
    "Ops",
    "Options",
    "estimate_spectrum",
    "forward",
    "jvp",
    "scale_of",
    "sign_sylvester",
    "vjp",
]
