"""Cost of the input checks on the default forward + backward (torch CPU, float32).

Paired rounds: each round times ``sqrtm`` + backward with the checks (default) and without
(``check_finite=False``) in alternating order, and the per-round ratio's median is reported
with its interquartile range. ``--write`` stores the table that docs/checks.rst includes.

    python benchmarks/check_cost.py [--rounds 40] [--write]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--write", action="store_true", help="write docs/_static/check-cost.rst")
    args = parser.parse_args()
    rows = []
    for batch, n in SHAPES:
        A = torch.tensor(random_spd((batch, n), 100.0, seed=0), dtype=torch.float32, requires_grad=True)
        for _ in range(3):
            _time(A, True), _time(A, False)
        ratios, t_off = [], []
        for r in range(args.rounds):
            if r % 2:
                on, off = _time(A, True), _time(A, False)
            else:
                off, on = _time(A, False), _time(A, True)
            ratios.append(on / off)
            t_off.append(off)
        q1, med, q3 = np.percentile(ratios, [25, 50, 75])
        rows.append(
            (f"{batch} x {n} x {n}", f"{1e3 * np.median(t_off):.2f} ms", f"{med:.3f}", f"{q1:.3f}-{q3:.3f}")
        )
        print(
            f"{batch:4d} x {n:3d}: without checks {1e3 * np.median(t_off):7.2f} ms, with/without {med:.3f} (IQR {q1:.3f}-{q3:.3f})"
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
