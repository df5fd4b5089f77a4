"""The accuracy table of docs/methods.rst: relative Frobenius error per method, dtype, size and
condition number, on NumPy, against an eigh-based float64 reference.

Each cell: 4 random SPD matrices with a log-uniform spectrum (``matsqrt.testing.random_spd``),
built in float64 and cast to the dtype. "paper" is the paper's published algorithm (Padé [5/5] of
``(1 - z)^(+-1/2)`` on ``A / ||A||_F``); "tol" is ``tol=1e-7`` (float32) or ``tol=1e-15`` (float64). ``--write`` stores
docs/accuracy_table.rst; without it the table is printed.

    python benchmarks/accuracy_table.py [--write]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

import matsqrt
from matsqrt.testing import random_spd

COLUMNS = ("paper", "pade5", "taylor10", "ns5", "eigh", "tol")


def _paper(A: np.ndarray, inverse: bool) -> np.ndarray:
    from matsqrt._reference import published_sqrtm

    return published_sqrtm(A, inverse=inverse)


def _run(name: str, A: np.ndarray, inverse: bool) -> np.ndarray:
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    if name == "paper":
        return _paper(A, inverse)
    if name == "tol":
        return fn(A, tol=1e-7 if A.dtype == np.float32 else 1e-15)
    method, order = {"pade5": ("pade", 5), "taylor10": ("taylor", 10), "ns5": ("newton_schulz", 5)}.get(
        name, ("eigh", None)
    )
    return fn(A, method=method, order=order)


def table() -> str:
    warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
    rows = []
    for dtype in (np.float32, np.float64):
        for n in (16, 64, 256):
            for cond in (1.0, 100.0, 1e4):
                A = random_spd((4, n), cond, seed=n)
                w, V = np.linalg.eigh(A)
                for inverse in (False, True):
                    ref = (V * (w ** (-0.5 if inverse else 0.5))[..., None, :]) @ np.swapaxes(V, -1, -2)
                    errs = []
                    for name in COLUMNS:
                        with np.errstate(all="ignore"):
                            Y = np.asarray(_run(name, A.astype(dtype), inverse), dtype=np.float64)
                        errs.append(f"{np.linalg.norm(Y - ref) / np.linalg.norm(ref):.1e}")
                    rows.append(
                        [np.dtype(dtype).name, str(n), f"{cond:g}", "inv" if inverse else "sqrt", *errs]
                    )
    header = ["dtype", "n", "cond", "root", *COLUMNS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = " ".join("=" * w for w in widths)
    fmt = lambda r: " ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([rule, fmt(header), rule, *map(fmt, rows), rule]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store docs/accuracy_table.rst")
    text = table()
    if parser.parse_args().write:
        (Path(__file__).resolve().parent.parent / "docs" / "accuracy_table.rst").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
