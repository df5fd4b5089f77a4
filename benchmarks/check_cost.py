"""Cost of the input checks on the default forward + backward (torch CPU, float32).

Paired rounds: each round times ``sqrtm`` + backward with the checks (default) and without
(``check_finite=False``) in alternating order, and the per-round ratio's median is reported
with its interquartile range. ``--write`` stores the table that docs/checks.rst includes.
``--numpy``: the NumPy forward alone instead (float32 and float64, also at 1 x 1024; printed).

    python benchmarks/check_cost.py [--rounds 40] [--write | --numpy]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

import matsqrt
from matsqrt.testing import random_spd

SHAPES = [(256, 32), (64, 64), (8, 256)]


def _time(A: torch.Tensor, check: bool) -> float:
    t = time.perf_counter()
    matsqrt.sqrtm(A, check_finite=check).sum().backward()
    return time.perf_counter() - t


def _time_numpy(A: np.ndarray, check: bool) -> float:
    t = time.perf_counter()
    matsqrt.sqrtm(A, check_finite=check)
    return time.perf_counter() - t


def _paired(timer, A, rounds: int) -> tuple[float, float, float, float]:
    """``(time without checks, median with/without, q1, q3)`` over paired rounds."""
    for _ in range(3):
        timer(A, True), timer(A, False)
    ratios, t_off = [], []
    for r in range(rounds):
        if r % 2:
            on, off = timer(A, True), timer(A, False)
        else:
            off, on = timer(A, False), timer(A, True)
        ratios.append(on / off)
        t_off.append(off)
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return float(np.median(t_off)), med, q1, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--write", action="store_true", help="write docs/_static/check-cost.rst")
    parser.add_argument("--numpy", action="store_true", help="the NumPy forward alone (printed)")
    args = parser.parse_args()
    if args.numpy:
        for dtype in ("float32", "float64"):
            for batch, n in [*SHAPES, (1, 1024)]:
                A = random_spd((batch, n), 100.0, dtype=dtype, seed=0)
                off, med, q1, q3 = _paired(_time_numpy, A, args.rounds)
                print(
                    f"numpy {dtype} {batch:4d} x {n:4d}: forward without checks {1e3 * off:7.2f} ms, "
                    f"with/without {med:.3f} (IQR {q1:.3f}-{q3:.3f})"
                )
        return
    rows = []
    for batch, n in SHAPES:
        A = torch.tensor(random_spd((batch, n), 100.0, seed=0), dtype=torch.float32, requires_grad=True)
        off, med, q1, q3 = _paired(_time, A, args.rounds)
        rows.append((f"{batch} x {n} x {n}", f"{1e3 * off:.2f} ms", f"{med:.3f}", f"{q1:.3f}-{q3:.3f}"))
        print(
            f"{batch:4d} x {n:3d}: without checks {1e3 * off:7.2f} ms, with/without {med:.3f} (IQR {q1:.3f}-{q3:.3f})"
        )
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    table = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - batch x n x n",
        "     - forward + backward without checks",
        "     - with / without (median)",
        "     - interquartile range",
    ]
    for row in rows:
        table.append(f"   * - {row[0]}")
        table += [f"     - {cell}" for cell in row[1:]]
    table += ["", f"({machine}; {args.rounds} paired rounds)", ""]
    text = "\n".join(table)
    print(text)
    if args.write:
        Path(__file__).resolve().parents[1].joinpath("docs", "_static", "check-cost.rst").write_text(text)


if __name__ == "__main__":
    main()
