"""What each method spends, counted at torch's dispatcher (docs/performance.rst, "What a call spends").

Runs each call once under a ``TorchDispatchMode`` on torch CPU (float64, batch x n = 8 x 64, one
condition number) and prints, for the forward and the backward of ``Y.sum()``: Cholesky
factorisations and LU inverses (a stack of m shifted matrices counts m), triangular solves with
matrix right-hand sides, products in ``A @ A`` equivalents (stacked and in-place products count
their work), matrix-vector products and triangular solves with vectors (power iterations,
spectrum estimates), eigendecompositions, and host reads (``item()`` / ``bool()``: free on a CPU).

    python benchmarks/op_counts.py [cond]
"""

from __future__ import annotations

import collections
import math
import sys
import warnings

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import matsqrt
from matsqrt.testing import random_spd

PRODUCTS = {"mm", "bmm", "matmul", "baddbmm", "addmm", "addbmm", "baddbmm_", "addmm_", "addbmm_"}
ACCUMULATING = {"baddbmm", "addmm", "addbmm", "baddbmm_", "addmm_", "addbmm_"}


class Count(TorchDispatchMode):
    def __init__(self, like: torch.Tensor) -> None:
        super().__init__()
        self.c: collections.Counter = collections.Counter()
        self.unit = math.prod(like.shape) * like.shape[-1]  # the work of A @ A

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        out = func(*args, **(kwargs or {}))
        stack = args[0].shape[0] if args and getattr(args[0], "ndim", 0) == 4 else 1
        if name in PRODUCTS:
            a, b = args[1:3] if name in ACCUMULATING else args[:2]
            if b.shape[-1] == 1 or a.shape[-2] == 1:
                self.c["mat-vec"] += 1
            else:
                self.c["products"] += math.prod(out.shape) * a.shape[-1] / self.unit
        elif name in ("linalg_cholesky_ex", "cholesky"):
            self.c["Cholesky"] += stack
        elif name == "linalg_inv_ex":
            self.c["LU inverse"] += stack
        elif name == "linalg_solve_triangular":
            self.c["tri-solve, vectors" if args[1].shape[-1] == 1 else "tri-solve"] += stack
        elif name in ("_linalg_eigh", "linalg_eigh"):
            self.c["eigh"] += 1
        elif name in ("linalg_eig", "linalg_eigvals"):
            self.c["eig"] += 1
        elif name == "_local_scalar_dense":
            self.c["host reads"] += 1
        return out


CALLS = [
    ("sqrtm(A)  (default, Padé [5/5])", lambda A: matsqrt.sqrtm(A)),
    ("sqrtm(A, order=5)  (no warning test)", lambda A: matsqrt.sqrtm(A, order=5)),
    ("sqrtm(A, order=5, check_finite=False)", lambda A: matsqrt.sqrtm(A, order=5, check_finite=False)),
    ("sqrtm(A, tol=1e-8)  (Zolotarev)", lambda A: matsqrt.sqrtm(A, tol=1e-8)),
    ("invsqrtm(A, tol=1e-8)", lambda A: matsqrt.invsqrtm(A, tol=1e-8)),
    ("powm(A, -1/4, tol=1e-8)", lambda A: matsqrt.powm(A, -0.25, tol=1e-8)),
    ("powm(A, -0.3, tol=1e-8)", lambda A: matsqrt.powm(A, -0.3, tol=1e-8)),
    ('sqrtm(A, method="eigh")', lambda A: matsqrt.sqrtm(A, method="eigh")),
    ("sqrtm(A, hermitian=False, tol=1e-8)", lambda A: matsqrt.sqrtm(A, hermitian=False, tol=1e-8)),
]


def main() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
    cond = float(sys.argv[1]) if len(sys.argv) > 1 else 1e4
    A0 = torch.tensor(random_spd((8, 64), cond, seed=0))
    print(f"torch {torch.__version__}, float64, 8 x 64 x 64, condition number {cond:g}")
    for label, call in CALLS:
        counts = []
        for grad in (False, True):
            A = A0.clone().requires_grad_(grad)
            mode = Count(A0)
            with mode:
                Y = call(A)
                if grad:
                    Y.sum().backward()
            counts.append(mode.c)
        fwd, both = counts
        bwd = both - fwd

        def text(c: collections.Counter) -> str:
            return ", ".join(f"{k} {v:.3g}" for k, v in sorted(c.items())) or "-"

        print(f"{label}\n    forward:  {text(fwd)}\n    backward: {text(bwd)}")


if __name__ == "__main__":
    main()
