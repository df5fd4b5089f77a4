"""Accuracy and cost of general (``hermitian=False``) roots on NumPy: the default Padé [5/5],
``tol=`` (the Denman–Beavers iteration), both without the checks, and SciPy's Schur sqrtm.

Shuffled paired rounds on 8 x 64 x 64 float64 matrices with one BLAS thread: each round times
every candidate once, and the per-round ratio to the default's time is reported as a median
with its range. Errors are relative Frobenius errors against ``scipy.linalg.sqrtm``. Prints the
Markdown table behind docs/methods.rst (section "General matrices").

    OMP_NUM_THREADS=1 python benchmarks/general_cost.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.linalg as sl  # noqa: E402

import matsqrt  # noqa: E402
from matsqrt.testing import random_spd  # noqa: E402


def frechet(batch: int, n: int, cond: float, seed: int) -> np.ndarray:
    """``Sigma1 @ Sigma2`` with factors of condition number ``cond^(1/2)``: the Fréchet distance's matrix."""
    c = cond**0.5
    return random_spd((batch, n), c, seed=seed) @ random_spd((batch, n), c, seed=seed + 1)


def rotations(batch: int, n: int, seed: int, angle: float = 0.9) -> np.ndarray:
    """Non-normal real matrices with eigenvalue arguments up to ``angle * pi``, moduli 1 to 1e-2."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batch):
        k = n // 2
        D = np.zeros((n, n))
        th = rng.uniform(-angle * np.pi, angle * np.pi, k)
        mod = np.geomspace(1, 1e-2, k)
        for i in range(k):
            c, s = np.cos(th[i]), np.sin(th[i])
            D[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = mod[i] * np.array([[c, -s], [s, c]])
        V = np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n)
        out.append(V @ D @ np.linalg.inv(V))
    return np.stack(out)


def reference(A: np.ndarray, inverse: bool) -> np.ndarray:
    Y = np.stack([sl.sqrtm(M).real for M in A])
    return np.linalg.inv(Y) if inverse else Y


CANDIDATES = {
    "default": {},
    "tol=1e-10": {"tol": 1e-10},
    "default, unchecked": {"check_finite": False},
    "tol=1e-10, unchecked": {"tol": 1e-10, "check_finite": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
    cases = [
        (f"Fréchet product, cond {c:g}", frechet(8, 64, c, 2 * i + 1)) for i, c in enumerate((1e2, 1e4, 1e8))
    ]
    cases.append(("arguments up to 0.9 pi", rotations(8, 64, 7)))
    cols = ["default err", "tol=1e-10 err", "default ms", *list(CANDIDATES)[1:], "scipy loop"]
    print("| input | fn | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    for name, A in cases:
        for fname in ("sqrtm", "invsqrtm"):
            fn = getattr(matsqrt, fname)
            ref = reference(A, fname == "invsqrtm")
            errs = {
                k: np.linalg.norm(fn(A, hermitian=False, **kw) - ref) / np.linalg.norm(ref)
                for k, kw in CANDIDATES.items()
            }

            def scipy_loop(A: np.ndarray = A, inverse: bool = fname == "invsqrtm") -> object:
                Y = [sl.sqrtm(M) for M in A]
                return [np.linalg.inv(y) for y in Y] if inverse else Y

            calls = {
                k: (lambda kw=kw, fn=fn, A=A: fn(A, hermitian=False, **kw)) for k, kw in CANDIDATES.items()
            }
            calls["scipy loop"] = scipy_loop
            times: dict[str, list[float]] = {k: [] for k in calls}
            for _ in range(rounds):
                order = list(calls)
                random.shuffle(order)
                for k in order:
                    t = time.perf_counter()
                    calls[k]()
                    times[k].append(time.perf_counter() - t)
            base = np.array(times["default"])

            def ratio(k: str, base: np.ndarray = base, times: dict = times) -> str:
                r = np.array(times[k]) / base
                return f"{np.median(r):.2f} ({r.min():.2f}-{r.max():.2f})"

            cells = [f"{errs['default']:.1e}", f"{errs['tol=1e-10']:.1e}", f"{1e3 * np.median(base):.1f}"]
            cells += [ratio(k) for k in cols[3:]]
            print(f"| {name} | {fname} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
