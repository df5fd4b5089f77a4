"""The accuracy table of matsqrt.powm in docs/accuracy.rst: error against order and condition number.

For each exponent p in {1/4, -1/4, 1/3, -1/8, 0.7}, float32 and float64, condition numbers
1e1 .. 1e6 (batches of 8 matrices 32 x 32, A = Q diag(l) Q^T with log-uniform l and random
orthogonal Q): the worst relative Frobenius error over the batch of ``powm(A, p, order=m)`` for
m = 3, 5 (the default), 9, 17, of ``tol=`` (1e-6 in float32, 1e-12 in float64), and of
``method="eigh"`` in the same dtype, all against Q diag(l^p) Q^T in float64 (independent of any
eigensolver; A's own rounding limits every method alike). ``*``: the call warned (AccuracyWarning)
that tol may be out of reach (eigh's worst-case bound against tol). ``--write`` stores the tables as
docs/_static/powm-accuracy.rst.

    python benchmarks/powm_accuracy.py [--write]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

import matsqrt
from matsqrt.testing import rel_error

POWERS = {"1/4": 0.25, "-1/4": -0.25, "1/3": 1 / 3, "-1/8": -0.125, "0.7": 0.7}
CONDS = (1e1, 1e2, 1e4, 1e6)
ORDERS = (3, 5, 9, 17)
TOL = {"float32": 1e-6, "float64": 1e-12}
OUT = Path(__file__).resolve().parents[1] / "docs" / "_static" / "powm-accuracy.rst"


def problem(cond: float, p: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(A, A^p)``: 8 matrices 32 x 32 with eigenvalues log-uniform in [1/cond, 1], in float64."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 32, 32)))
    lam = np.logspace(0, -np.log10(cond), 32)
    Qt = np.swapaxes(Q, -1, -2)
    A = (Q * lam) @ Qt
    return (A + np.swapaxes(A, -1, -2)) / 2, (Q * lam**p) @ Qt


def table() -> list[list[str]]:
    rows = []
    for label, p in POWERS.items():
        for dt in ("float32", "float64"):
            pairs = {c: problem(c, p, seed=int(c) % 101) for c in CONDS}
            mats = {c: A.astype(dt) for c, (A, _) in pairs.items()}
            refs = {c: ref for c, (_, ref) in pairs.items()}
            variants = [(f"order {m}" + (" (default)" if m == 5 else ""), {"order": m}) for m in ORDERS]
            variants += [(f"tol={TOL[dt]:g}", {"tol": TOL[dt]}), ("eigh", {"method": "eigh"})]
            for name, kw in variants:
                cells = []
                for c in CONDS:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        err = rel_error(matsqrt.powm(mats[c], p, **kw), refs[c])
                    mark = (
                        "\\*" if any(issubclass(w.category, matsqrt.AccuracyWarning) for w in caught) else ""
                    )
                    cells.append(f"{err:.1e}{mark}")
                rows.append([label, dt, name, *cells])
    return rows


def rst(rows: list[list[str]]) -> str:
    head = ["p", "dtype", "method", *(f"cond {c:.0e}" for c in CONDS)]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [head, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(OUT.parents[2])}")
    args = ap.parse_args()
    text = rst(table())
    if args.write:
        OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
