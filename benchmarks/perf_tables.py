"""The per-backend tables of docs/performance.rst, from ``python -m matsqrt bench``.

For each backend, three shapes (batch x n = 256 x 32, 64 x 64, 8 x 256; float32; condition
number 100), each in its own ``python -m matsqrt bench`` process, methods pade (the default),
published, eigh-root, eigh (and scipy on NumPy, forward only). ``--write`` stores the tables
as docs/_static/perf-<backend>.rst, which docs/performance.rst includes.

    python benchmarks/perf_tables.py --backend numpy,torch,jax [--repeats 9] [--write]

``--forward``: the forward alone (what ``matsqrt.sqrtm(A)`` costs where no gradient is taken)
at 256 x 32, 64 x 64, 8 x 256 and 1 x 1024 in float32 and float64, methods pade (the default,
input checks included), published, eigh-root; ``--write`` stores docs/_static/forward-<backend>.rst.

``--power P`` (e.g. -0.25): the same for ``matsqrt.powm(A, P)`` at the shapes preconditioners
see (16 x 128, 4 x 512, 1 x 2048), methods pade, pade+tol, eigh, newton (the coupled Newton
iteration of Shampoo-type optimizers, forward only), eigh-root (and scipy's
fractional_matrix_power on NumPy); ``--write`` stores docs/_static/powm-perf-<backend>.rst.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SHAPES = [(256, 32), (64, 64), (8, 256)]
FORWARD_SHAPES = [(256, 32), (64, 64), (8, 256), (1, 1024)]
FORWARD_METHODS = "pade,published,eigh-root"
POWER_SHAPES = [(16, 128), (4, 512), (1, 2048)]
POWER_METHODS = "pade,pade+tol,eigh,newton,eigh-root"
METHODS = {"numpy": "pade,published,eigh-root,eigh,scipy"}
DEFAULT_METHODS = "pade,published,eigh-root,eigh"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "_static"


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def run(
    backend: str, repeats: int, power: float | None = None, forward: bool = False
) -> tuple[list[dict], dict]:
    rows, machine = [], {}
    shapes = FORWARD_SHAPES if forward else SHAPES if power is None else POWER_SHAPES
    with tempfile.TemporaryDirectory() as tmp:
        for batch, n in shapes:
            # the libraries' own thread counts (one per core), as the tables have always been measured
            cmd = [sys.executable, "-m", "matsqrt", "bench", "--backend", backend, "--threads", "0"]
            cmd += ["--n", str(n)]
            if forward:
                methods = FORWARD_METHODS
                cmd += ["--dtype", "float32,float64"]
            elif power is None:
                methods = METHODS.get(backend, DEFAULT_METHODS)
            else:
                methods = POWER_METHODS + (",scipy" if backend == "numpy" else "")
                cmd += [f"--power={power!r}"]
            # SciPy in a process of its own: its OpenBLAS threads, still spinning after its calls,
            # slow NumPy's calls beside them (measured up to 2x on 2 cores)
            names = methods.split(",")
            groups = [[m for m in names if m != "scipy"]] + ([["scipy"]] if "scipy" in names else [])
            for i, group in enumerate(groups):
                out = Path(tmp) / f"{batch}x{n}-{i}.json"
                run_cmd = [*cmd, "--batch", str(batch), "--method", ",".join(group)]
                run_cmd += ["--repeats", str(repeats), "--json", str(out), "--no-progress"]
                subprocess.run(run_cmd, check=True, stdout=subprocess.DEVNULL)
                doc = json.loads(out.read_text())
                rows += doc["results"]
                machine = doc["machine"]
    return rows, machine


def _row(cells: list[str]) -> list[str]:
    """One row of an RST list-table."""
    return [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)]


def forward_table(rows: list[dict], machine: dict, backend: str, repeats: int) -> str:
    head = ["batch x n", "dtype", "method", "fwd (ms)", "spread", "/ published", "/ eigh-root", "matmuls"]
    head += ["error of Y"]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    lines += _row(head)
    for r in sorted(rows, key=lambda r: (r["dtype"], -r["batch"])):
        if r["fwd_ms"] is None:
            continue
        cells = [
            f"{r['batch']} x {r['n']}",
            r["dtype"],
            r["method"],
            _fmt(r["fwd_ms"], ".1f"),
            _fmt(None if r["fwd_spread"] is None else 100 * r["fwd_spread"], ".0f") + "%",
            _fmt(r["fwd_vs_published"], ".2f"),
            _fmt(r["fwd_vs_eigh_root"], ".2f"),
            _fmt(r["fwd_mm"], ".1f"),
            _fmt(r["err_fwd"], ".1e"),
        ]
        lines += _row(cells)
    return "\n".join(lines + _footer(machine, repeats, f"--backend {backend} --forward --repeats {repeats}"))


def _footer(machine: dict, repeats: int, args: str) -> list[str]:
    libs = ", ".join(f"{k} {machine[k]}" for k in ("numpy", "scipy", "torch", "jax") if k in machine)
    threads = f", torch threads {machine['torch_threads']}" if "torch_threads" in machine else ""
    return [
        "",
        f"({machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs{threads}; {libs}; "
        f"{repeats} paired rounds per shape (fewer where a round takes seconds, at least 3). Command: "
        f"``python benchmarks/perf_tables.py {args}``.)",
        "",
    ]


def table(rows: list[dict], machine: dict, backend: str, repeats: int, power: float | None = None) -> str:
    published = power is None
    head = ["batch x n", "method", "fwd+bwd (ms)", "fwd (ms)", "spread"]
    head += ["/ published", "/ eigh-root"] if published else ["/ eigh-root"]
    head += ["matmuls", "error of Y", "error of dL/dA"]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    lines += _row(head)
    for r in rows:
        if r["error"] and r["err_fwd"] is None:
            continue
        spreads = [v for v in (r["fwd_spread"], r["fwdbwd_spread"]) if v is not None]
        cells = [
            f"{r['batch']} x {r['n']}",
            r["method"] + (" (forward only)" if r["fwdbwd_ms"] is None else ""),
            _fmt(r["fwdbwd_ms"], ".1f"),
            _fmt(r["fwd_ms"], ".1f"),
            f"{100 * max(spreads):.0f}%" if spreads else "—",
            *([_fmt(r["fwdbwd_vs_published"], ".2f")] if published else []),
            _fmt(r["fwdbwd_vs_eigh_root"], ".2f"),
            _fmt(r["fwdbwd_mm"] if r["fwdbwd_mm"] is not None else r["fwd_mm"], ".0f"),
            _fmt(r["err_fwd"], ".1e"),
            _fmt(r["err_grad"], ".1e"),
        ]
        lines += _row(cells)
    args = f"--backend {backend} --repeats {repeats}" + ("" if published else f" --power={power:g}")
    return "\n".join(lines + _footer(machine, repeats, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy,torch,jax")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--power", type=float, default=None, help="benchmark powm(A, P) instead")
    parser.add_argument("--forward", action="store_true", help="the forward alone, float32 and float64")
    parser.add_argument("--write", action="store_true", help="write docs/_static/perf-<backend>.rst")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        rows, machine = run(backend, args.repeats, args.power, args.forward)
        if args.forward:
            text = forward_table(rows, machine, backend, args.repeats)
        else:
            text = table(rows, machine, backend, args.repeats, args.power)
        print(f"{backend}\n{text}")
        if args.write:
            name = "forward" if args.forward else "perf" if args.power is None else "powm-perf"
            name = f"{name}-{backend}.rst"
            (DOCS / name).write_text(text)


if __name__ == "__main__":
    main()
