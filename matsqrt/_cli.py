"""``python -m matsqrt``: the command line (``bench``).

Exit status: 0 on success, 2 for bad options (argparse's convention), 1 when
the run itself fails (an unexpected error, or an output file that cannot be
written). A candidate that fails on some input (e.g. a Cholesky factorisation
of a numerically indefinite float32 matrix) is a result: the table shows it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from ._bench import (
    BACKENDS,
    DTYPES,
    METHODS,
    PADE_TOL,
    as_dicts,
    available_backends,
    format_sweep,
    format_table,
    grid,
    limit_threads,
    machine_info,
    progress_bar,
    run_grid,
)

__all__ = ["build_parser", "main"]

#: the default grid: < 60 s on a 2-core CPU with every backend installed (numpy, torch, jax)
DEFAULTS = {"n": [16, 64], "batch": [8, 64], "dtype": ["float32"], "cond": [100.0], "repeats": 5}
#: --quick: a tiny grid (a smoke test, a few seconds per backend)
QUICK = {"n": [8], "batch": [2], "dtype": ["float32"], "cond": [100.0], "repeats": 1}
#: --sweep cond: errors only, over condition numbers
SWEEP = {"n": [32], "batch": [8], "dtype": ["float32", "float64"], "cond": [10.0**k for k in range(9)]}

JSON_SCHEMA = "matsqrt-bench/1"


def _number_list(kind: Callable[[str], Any], what: str, minimum: float) -> Callable[[str], list[Any]]:
    """An argparse type: comma-separated ``kind`` values, each >= ``minimum``."""

    def parse(text: str) -> list[Any]:
        try:
            vals = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            msg = f"expected comma-separated {what}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if not vals or any(not (v >= minimum and math.isfinite(v)) for v in vals):
            msg = f"expected {what} >= {minimum:g}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return vals

    return parse


#: older names still accepted on the command line
ALIASES = {"paper": "published"}


def _choice_list(allowed: Sequence[str], what: str) -> Callable[[str], list[str]]:
    """An argparse type: comma-separated names from ``allowed`` (``all``: every one)."""

    def parse(text: str) -> list[str]:
        vals = [ALIASES.get(v.strip(), v.strip()) for v in text.split(",") if v.strip()]
        if vals == ["all"]:
            return list(allowed)
        bad = [v for v in vals if v not in allowed]
        if bad or not vals:
            msg = f"unknown {what} {', '.join(map(repr, bad)) or repr(text)}; choose from {', '.join(allowed)} (or all)"
            raise argparse.ArgumentTypeError(msg)
        return list(dict.fromkeys(vals))

    return parse


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        msg = f"expected an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m matsqrt``."""
    p = argparse.ArgumentParser(
        prog="python -m matsqrt",
        description="matsqrt: fast differentiable matrix square roots. 'bench' times every method "
        "on every installed backend against the published algorithm (Song et al., TPAMI 2022), "
        "eigh and scipy, and reports the error of every result.",
    )
    p.add_argument("--version", action="version", version=f"matsqrt {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = sub.add_parser(
        "bench",
        help="benchmark the methods: table, --json, --plot",
        description="Paired round-robin benchmark: forward and forward+backward times (medians over "
        "rounds), matmul-equivalents, ratios to the published algorithm and to eigh-root, and the "
        "relative error of Y and of the gradient against float64 eigh. Lists are comma-separated.",
        epilog="Methods: pade (the default of matsqrt.sqrtm), "
        f"pade+tol (accurate mode: tol={PADE_TOL['float32']:g} in float32, {PADE_TOL['float64']:g} in float64), taylor, newton_schulz, eigh; baselines: published (the paper's Padé [5/5] + 8 "
        "Newton–Schulz sign iterations, written plainly), eigh-root (eigh with the library's autodiff), "
        "scipy (scipy.linalg.sqrtm per matrix, forward only, NumPy). Examples: "
        "'python -m matsqrt bench --backend torch --n 32,64 --batch 64 --json r.json'; "
        "'python -m matsqrt bench --sweep cond --plot errors.png'.",
    )
    d = DEFAULTS
    b.add_argument(
        "--n",
        type=_number_list(int, "matrix sizes", 1),
        default=None,
        help=f"matrix sizes n (default {_csv(d['n'])})",
    )
    b.add_argument(
        "--batch",
        type=_number_list(int, "batch sizes", 1),
        default=None,
        help=f"batch sizes (default {_csv(d['batch'])})",
    )
    b.add_argument(
        "--dtype",
        type=_choice_list(DTYPES, "dtype"),
        default=None,
        help=f"dtypes among {', '.join(DTYPES)} (default {_csv(d['dtype'])})",
    )
    b.add_argument(
        "--cond",
        type=_number_list(float, "condition numbers", 1),
        default=None,
        help=f"condition numbers of the test matrices (default {_csv(d['cond'])})",
    )
    b.add_argument(
        "--backend",
        type=_choice_list(BACKENDS, "backend"),
        default=None,
        help=f"backends among {', '.join(BACKENDS)} (default: every usable one)",
    )
    b.add_argument(
        "--method",
        type=_choice_list(METHODS, "method"),
        default=list(METHODS),
        help=f"methods and baselines among {', '.join(METHODS)} (default: all)",
    )
    b.add_argument(
        "--repeats",
        type=_positive_int,
        default=None,
        help=f"timed rounds per grid point, medians reported (default {d['repeats']})",
    )
    b.add_argument(
        "--quick",
        action="store_true",
        help=f"a tiny grid: n {_csv(QUICK['n'])}, batch {_csv(QUICK['batch'])}, 1 round "
        "(explicit options override it)",
    )
    b.add_argument(
        "--sweep",
        choices=["cond"],
        default=None,
        help="errors only (no timing) against the condition number: "
        f"cond {_csv(SWEEP['cond'])}, n {_csv(SWEEP['n'])}, batch {_csv(SWEEP['batch'])}, "
        f"dtype {_csv(SWEEP['dtype'])} unless given",
    )
    b.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="threads for BLAS (needs threadpoolctl) and torch; 1 gives stable numbers on a "
        "loaded machine (default: leave the libraries' settings)",
    )
    b.add_argument("--json", metavar="FILE", help="write the results as JSON")
    b.add_argument("--plot", metavar="FILE.png", help="write a plot (needs matplotlib)")
    b.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    return p


def _csv(vals: Sequence[Any]) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)


def _check_output(parser: argparse.ArgumentParser, path: str | None, what: str) -> None:
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        parser.error(f"{what}: directory {parent!r} does not exist")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return _bench(parser, args)


def _bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    base = SWEEP if args.sweep else (QUICK if args.quick else DEFAULTS)
    ns = args.n or base["n"]
    batches = args.batch or base["batch"]
    dtypes = args.dtype or base["dtype"]
    conds = args.cond or base["cond"]
    repeats = args.repeats or base.get("repeats", DEFAULTS["repeats"])
    usable = available_backends()
    backends = args.backend or usable
    missing = [b for b in backends if b not in usable]
    if missing:
        parser.error(f"--backend: not usable here: {', '.join(missing)} (usable: {', '.join(usable)})")
    _check_output(parser, args.json, "--json")
    _check_output(parser, args.plot, "--plot")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'matsqrt[plot]'")
    cases = grid(backends, ns, batches, dtypes, conds)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    update, close = progress_bar(len(cases), show)
    timing = args.sweep is None
    t0 = time.perf_counter()
    try:
        try:
            threads = limit_threads(args.threads, backends) if args.threads else contextlib.nullcontext()
            with threads:
                results = run_grid(cases, args.method, rounds=repeats, timing=timing, progress=update)
                info = machine_info()
        finally:
            close()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"error: the benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t0
    print(_machine_line(info))
    print(format_table(results) if timing else format_sweep(results))
    print(f"\n{len(cases)} grid points x {len(args.method)} methods in {wall:.1f} s")
    failed = sorted(
        {
            (r.method, r.error)
            for r in results
            if r.error and r.err_fwd is None and "not available" not in r.error
        }
    )
    for m, e in failed:
        print(f"note: {m} failed at some grid points: {e}", file=sys.stderr)
    try:
        if args.json:
            doc = {
                "schema": JSON_SCHEMA,
                "mode": "sweep-cond" if args.sweep else "bench",
                "machine": info,
                "config": {
                    "n": ns,
                    "batch": batches,
                    "dtype": dtypes,
                    "cond": conds,
                    "backend": backends,
                    "method": args.method,
                    "repeats": repeats if timing else 0,
                },
                "wall_s": wall,
                "results": as_dicts(results),
            }
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, allow_nan=False)
        if args.plot:
            (_plot if timing else _plot_sweep)(results, args.plot)
    except OSError as exc:
        print(f"error: cannot write output: {exc}", file=sys.stderr)
        return 1
    return 0


def _machine_line(info: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {info[k]}" for k in ("numpy", "scipy", "torch", "jax", "cupy") if k in info)
    threads = "".join(
        f", {what} threads {info[key]}"
        for key, what in (("blas_threads", "BLAS"), ("torch_threads", "torch"))
        if key in info
    )
    return f"{info['processor']}, {info['cpu_count']} CPUs{threads}; Python {info['python']}, {libs}\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot(results: list[Any], path: str) -> None:
    """Forward+backward matmul-equivalents and errors, per grid point and method."""
    plt = _pyplot()
    points = list(dict.fromkeys((r.backend, r.dtype, r.cond, r.batch, r.n) for r in results))
    where = {p: i for i, p in enumerate(points)}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    panels = [
        (
            axes[0],
            lambda r: r.fwdbwd_mm if r.fwdbwd_mm is not None else r.fwd_mm,
            "forward+backward time / one matmul\n(forward only where no backward)",
        ),
        (axes[1], lambda r: r.err_fwd, "relative error of Y"),
        (axes[2], lambda r: r.err_grad, "relative error of the gradient"),
    ]
    for m in dict.fromkeys(r.method for r in results):
        rs = [r for r in results if r.method == m]
        for ax, get, _ in panels:
            pts = [(where[(r.backend, r.dtype, r.cond, r.batch, r.n)], get(r)) for r in rs]
            pts = [(x, max(y, 1e-17)) for x, y in pts if y is not None]
            if pts:
                ax.semilogy(*zip(*pts, strict=True), "o-", label=m, ms=4)
    labels = [
        f"{b} {dt[-2:]}\n{batch}x{n}" + (f"\nc={c:.0e}" if len({p[2] for p in points}) > 1 else "")
        for b, dt, c, batch, n in points
    ]
    for ax, _, title in panels:
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_sweep(results: list[Any], path: str) -> None:
    """Error of Y and of the gradient against the condition number, per method."""
    plt = _pyplot()
    groups = list(dict.fromkeys((r.backend, r.dtype, r.n, r.batch) for r in results))
    fig, axes = plt.subplots(len(groups), 2, figsize=(12, 3.8 * len(groups)), squeeze=False)
    for row, g in zip(axes, groups, strict=True):
        rs = [r for r in results if (r.backend, r.dtype, r.n, r.batch) == g]
        for m in dict.fromkeys(r.method for r in rs):
            for ax, attr in zip(row, ("err_fwd", "err_grad"), strict=True):
                pts = [
                    (r.cond, getattr(r, attr)) for r in rs if r.method == m and getattr(r, attr) is not None
                ]
                if pts:
                    ax.loglog(*zip(*[(c, max(e, 1e-17)) for c, e in pts], strict=True), "o-", label=m, ms=4)
        for ax, what in zip(row, ("Y", "the gradient"), strict=True):
            ax.set_title(f"{g[0]} {g[1]}, batch x n = {g[3]} x {g[2]}: relative error of {what}", fontsize=9)
            ax.set_xlabel("condition number")
            ax.grid(True, which="major", alpha=0.3)
        row[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
