"""``python -m matsqrt``: the command line (``bench``).

Exit status: 0 on success, 2 for bad options (argparse's convention), 1 when
the run itself fails (an unexpected error, or an output file that cannot be
written). A candidate that fails on some input (e.g. a Cholesky factorisation
of a numerically indefinite float32 matrix) is a result: the table shows it.

Plots (``--plot FILE.png``, needs matplotlib): ``FILE.png`` shows the
forward+backward matmul-equivalents and the errors per grid point (with
``--sweep cond``: the errors against the condition number, and nothing else).
A timed run also writes, beside it, the figures its grid supports:

* ``FILE-vs-n.png``: forward+backward time (ms) against n, log-log, one line
  per method, one panel per backend, dtype, batch and condition number (only
  when the grid has two n at one batch size);
* ``FILE-vs-batch.png``: the same against the batch size (two batch sizes at one n);
* ``FILE-frontier.png``: the accuracy/cost frontier, the relative error of Y
  against the forward+backward time in matmul-equivalents, one marker per
  method and grid point, one panel per backend and dtype (always).

Methods that have no backward (scipy) are drawn with their forward time, in
hollow markers and dashed lines, labelled "forward only". A time the table
flags as unreliable carries a black cross in every figure. The paths written
are printed after the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from ._bench import (
    ALL_METHODS,
    BACKENDS,
    DEFAULT_METHODS,
    DTYPES,
    METHODS,
    PADE_TOL,
    POWER_METHODS,
    as_dicts,
    available_backends,
    format_sweep,
    format_table,
    grid,
    limit_threads,
    machine_info,
    progress_bar,
    run_grid,
    thread_environment,
)

__all__ = ["build_parser", "main"]

#: the default grid (batch, n): the README's shapes; under 2 min on a quiet 2-core CPU with numpy, torch and jax
DEFAULTS: dict[str, Any] = {
    "shape": [(256, 32), (64, 64), (8, 256)],
    "dtype": ["float32"],
    "cond": [100.0],
    "repeats": 5,
}
#: --quick: a tiny grid (a smoke test, a few seconds per backend)
QUICK: dict[str, Any] = {"shape": [(2, 8)], "dtype": ["float32"], "cond": [100.0], "repeats": 1}
#: --power: the shapes preconditioners see (a smaller grid: each n >= 128 point takes seconds)
POWER: dict[str, Any] = {"shape": [(4, 128), (4, 512)], "dtype": ["float32"], "cond": [100.0], "repeats": 5}
#: --sweep cond: errors only, over condition numbers
SWEEP: dict[str, Any] = {
    "shape": [(8, 32)],
    "dtype": ["float32", "float64"],
    "cond": [10.0**k for k in range(9)],
}
#: --n or --batch without the other, on a grid of several shapes: the other axis
FALLBACK = {"n": 64, "batch": 8}

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


def _exponent(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        p = math.nan
    if not 0 < abs(p) < 1:
        msg = f"expected a number with 0 < |P| < 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return p


def _shapes(text: str) -> list[tuple[int, int]]:
    """An argparse type: comma-separated ``BATCHxN`` pairs."""
    pairs = [item.lower().partition("x") for item in filter(None, (v.strip() for v in text.split(",")))]
    if not pairs or not all(b.isdigit() and n.isdigit() and int(b) >= 1 and int(n) >= 1 for b, _, n in pairs):
        msg = f"expected comma-separated BATCHxN shapes such as 64x64, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return list(dict.fromkeys((int(b), int(n)) for b, _, n in pairs))


def _int_at_least(minimum: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (``meaning`` explains a special value)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = minimum - 1
        if v < minimum:
            msg = f"expected an integer >= {minimum}{meaning}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return v

    return parse


_threads = _int_at_least(0, " (0: the libraries' own settings)")
_positive_int = _int_at_least(1)


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
        f"pade+tol (accurate mode: tol={PADE_TOL['float32']:g} in float32, {PADE_TOL['float64']:g} in float64, which "
        "Hermitian input computes by Zolotarev's method), taylor, newton_schulz, eigh; baselines: published (the paper's Padé [5/5] + 8 "
        "Newton–Schulz sign iterations, written plainly), eigh-root (eigh with the library's autodiff), "
        "scipy (scipy.linalg.sqrtm per matrix, forward only, NumPy). Examples: "
        "'python -m matsqrt bench --backend torch --n 32,64 --batch 64 --json r.json'; "
        "'python -m matsqrt bench --sweep cond --plot errors.png'.",
    )
    d = DEFAULTS
    b.add_argument(
        "--shape",
        type=_shapes,
        default=None,
        metavar="BATCHxN",
        help=f"batch x n shapes (default {_shape_csv(d['shape'])})",
    )
    b.add_argument(
        "--n",
        type=_number_list(int, "matrix sizes", 1),
        default=None,
        help=f"matrix sizes n: with --batch, every pair is a grid point (alone: batch {FALLBACK['batch']})",
    )
    b.add_argument(
        "--batch",
        type=_number_list(int, "batch sizes", 1),
        default=None,
        help=f"batch sizes, paired with every --n (alone: n {FALLBACK['n']})",
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
        type=_choice_list(ALL_METHODS, "method"),
        default=None,
        help=f"methods and baselines among {', '.join(ALL_METHODS)} (default: {', '.join(DEFAULT_METHODS)}; "
        f"with --power: {', '.join(POWER_METHODS)})",
    )
    b.add_argument(
        "--power",
        type=_exponent,
        default=None,
        metavar="P",
        help="benchmark matsqrt.powm(A, P) instead of the square root, for 0 < |P| < 1 "
        "(e.g. -0.25, Shampoo's inverse fourth root), against eigh, SciPy's fractional_matrix_power "
        "and, for P = -1/r, the coupled Newton iteration optimizers use; default shapes "
        f"{_shape_csv(POWER['shape'])}",
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
        help=f"a tiny grid: shape {_shape_csv(QUICK['shape'])}, 1 round (explicit options override it)",
    )
    b.add_argument(
        "--sweep",
        choices=["cond"],
        default=None,
        help="errors only (no timing) against the condition number: "
        f"cond {_csv(SWEEP['cond'])}, shape {_shape_csv(SWEEP['shape'])}, "
        f"dtype {_csv(SWEEP['dtype'])} unless given",
    )
    b.add_argument(
        "--threads",
        type=_threads,
        default=1,
        help="threads per library (BLAS, OpenMP, torch, XLA), set before each backend's process imports "
        "it: 1 (the default) keeps the numbers steady on a busy machine; 0 leaves the libraries' own "
        "settings (usually one thread per core)",
    )
    b.add_argument("--json", metavar="FILE", help="write the results as JSON")
    # internal: measure one backend and write its results here (one process per backend)
    b.add_argument("--worker", metavar="FILE", default=None, help=argparse.SUPPRESS)
    b.add_argument(
        "--plot",
        metavar="FILE.png",
        help="write plots (needs matplotlib): FILE.png, matmul-equivalents and errors per grid point "
        "(--sweep cond: errors against the condition number); a timed run also writes, beside it, "
        "FILE-vs-n.png (forward+backward time against n, if the grid has several n), "
        "FILE-vs-batch.png (against the batch size, if several) and FILE-frontier.png "
        "(error of Y against forward+backward matmul-equivalents)",
    )
    b.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    return p


def _shape_csv(shapes: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{b}x{n}" for b, n in shapes)


def _grid_shapes(args: argparse.Namespace, base: dict[str, Any]) -> list[tuple[int, int]]:
    """The (batch, n) pairs: --shape, else every pair of --batch and --n, else the base grid's."""
    if args.shape:
        return list(args.shape)
    if args.n is None and args.batch is None:
        return list(base["shape"])
    one = len(base["shape"]) == 1
    batches = args.batch or ([base["shape"][0][0]] if one else [FALLBACK["batch"]])
    ns = args.n or ([base["shape"][0][1]] if one else [FALLBACK["n"]])
    return [(b, n) for n in ns for b in batches]


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
    power = 0.5 if args.power is None else args.power
    base = SWEEP if args.sweep else (QUICK if args.quick else (DEFAULTS if args.power is None else POWER))
    if args.method is None:
        args.method = list(DEFAULT_METHODS if args.power is None else POWER_METHODS)
    shapes = _grid_shapes(args, base)
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
    cases = grid(backends, shapes, dtypes, conds, power)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    timing = args.sweep is None
    config = {
        "shape": shapes,
        "dtype": dtypes,
        "cond": conds,
        "repeats": repeats,
        "power": power,
        "threads": args.threads,
    }
    t0 = time.perf_counter()
    failed_backends: list[str] = []
    try:
        if len(backends) > 1 and args.worker is None:
            # each backend in its own process: one library's idle threads never time another's
            results, info, failed_backends = _run_isolated(args, backends, config, show)
        else:
            update, close = progress_bar(len(cases), show)
            try:
                with limit_threads(args.threads, backends):
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
    if args.worker is not None:
        with open(args.worker, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "results": as_dicts(results)}, fh, allow_nan=False)
        return 0
    print(_machine_line(info))
    print(format_table(results) if timing else format_sweep(results))
    where = "each backend in its own process" if len(backends) > 1 else "one process"
    threads = (
        "the libraries' own thread counts" if args.threads == 0 else f"{args.threads} thread(s) per library"
    )
    print(f"\n{len(cases)} grid points x {len(args.method)} methods in {wall:.1f} s ({where}, {threads})")
    for b in failed_backends:
        print(f"error: the {b} measurements failed (see above); the table has the others", file=sys.stderr)
    failed = sorted(
        {
            (r.method, r.error)
            for r in results
            if r.error and r.err_fwd is None and not r.error.startswith("skipped")
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
                    **config,
                    "backend": backends,
                    "method": args.method,
                    "repeats": repeats if timing else 0,
                    "isolated": len(backends) > 1,
                },
                "wall_s": wall,
                "results": as_dicts(results),
            }
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, allow_nan=False)
        if args.plot:
            written = _plot_all(results, args.plot) if timing else _plot_sweep(results, args.plot)
            print(f"plots: {', '.join(written)}")
    except OSError as exc:
        print(f"error: cannot write output: {exc}", file=sys.stderr)
        return 1
    return 1 if failed_backends else 0


def _run_isolated(
    args: argparse.Namespace, backends: Sequence[str], config: dict[str, Any], show: bool
) -> tuple[list[Any], dict[str, Any], list[str]]:
    """Run the grid of each backend in a fresh ``python -m matsqrt bench --worker`` process.

    Returns the results (backend by backend), the merged machine information and the
    backends whose process failed.
    """
    import subprocess
    import tempfile

    from ._bench import Result

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, **thread_environment(args.threads)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    results: list[Any] = []
    info = machine_info()
    failed = []
    with tempfile.TemporaryDirectory(prefix="matsqrt-bench-") as tmp:
        for b in backends:
            out = os.path.join(tmp, f"{b}.json")
            argv = [sys.executable, "-m", "matsqrt", "bench", "--backend", b, "--worker", out]
            argv += ["--shape", _shape_csv(config["shape"])]
            argv += ["--dtype", ",".join(config["dtype"]), "--cond", ",".join(map(repr, config["cond"]))]
            argv += ["--method", ",".join(args.method), "--repeats", str(config["repeats"])]
            argv += ["--progress" if show else "--no-progress"]
            if args.sweep:
                argv += ["--sweep", args.sweep]
            argv += ["--threads", str(args.threads)]
            if args.power is not None:
                argv += [f"--power={args.power!r}"]  # "=": a negative value is not an option
            proc = subprocess.run(argv, env=env, check=False)
            if proc.returncode != 0 or not os.path.exists(out):
                failed.append(b)
                continue
            with open(out, encoding="utf-8") as fh:
                doc = json.load(fh)
            info.update({k: v for k, v in doc["machine"].items() if k not in info or k == "blas_threads"})
            info.setdefault("processes", {})[b] = doc["machine"]  # what each process had loaded
            results += [Result(**r) for r in doc["results"]]
    return results, info, failed


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


#: errors below this are at the float64 reference's own rounding level (drawn in a grey band)
FLOOR = 1e-14
#: where errors of exactly 0 (or below the axis) are drawn
BOTTOM = 1e-17


def _floor_band(ax: Any, values: list[float]) -> None:
    """Where some error is near :data:`FLOOR`: a grey band below it (the float64 eigh reference
    cannot resolve errors there; exact zeros are drawn at :data:`BOTTOM`). Sets the lower y limit."""
    lo = min(values, default=1.0)
    if lo < 10 * FLOOR:
        ax.axhspan(BOTTOM, FLOOR, color="0.92", zorder=0, label="below the float64 reference's accuracy")
        ax.set_ylim(BOTTOM / 2, None)
    else:
        ax.set_ylim(lo / 5, None)


#: legend label of the mark drawn on flagged rows' times
FLAGGED = "time flagged unreliable (busy machine; see the table)"


def _mark_flagged(ax: Any, points: list[tuple[float, float]]) -> None:
    """A black cross on each ``(x, y)`` whose time was flagged (noisy or impossible)."""
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, ls="none", marker="x", color="k", ms=9, mew=1.5, zorder=5, label=FLAGGED)


def _point_label(b: str, dt: str, batch: int, n: int, cond: float | None) -> str:
    c = f"\ncond {cond:.0e}" if cond is not None else ""
    return f"{b} {dt}\n{batch} x {n}x{n}{c}"


def _plot(results: list[Any], path: str) -> None:
    """Grouped bars per grid point: forward+backward matmul-equivalents, error of Y, of the gradient."""
    plt = _pyplot()
    points = list(dict.fromkeys((r.backend, r.dtype, r.cond, r.batch, r.n) for r in results))
    methods = list(dict.fromkeys(r.method for r in results))
    many_conds = len({p[2] for p in points}) > 1
    fig, axes = plt.subplots(3, 1, figsize=(max(8.0, 1.3 * len(points) + 3.5), 10.5), layout="constrained")
    panels = [
        (axes[0], "time", "forward+backward time\n(in batched matmuls A @ A)"),
        (axes[1], "err_fwd", "relative error of Y\n(Frobenius, vs float64 eigh)"),
        (axes[2], "err_grad", "relative error of dL/dA\n(Frobenius, vs float64 eigh)"),
    ]
    width = 0.8 / max(len(methods), 1)
    drawn: dict[str, list[float]] = {"time": [], "err_fwd": [], "err_grad": []}
    for i, m in enumerate(methods):
        by = {(r.backend, r.dtype, r.cond, r.batch, r.n): r for r in results if r.method == m}
        # no backward anywhere (scipy): hollow, hatched bars in every panel, one legend entry
        fwd_only = all(r.fwdbwd_ms is None and r.err_grad is None for r in by.values())
        for ax, what, _ in panels:
            xs, ys, flagged = [], [], []
            for k, pt in enumerate(points):
                r = by.get(pt)
                if r is None:
                    continue
                y = _cost(r, "mm")[0] if what == "time" else getattr(r, what)
                if y is None:
                    continue
                xs.append(k - 0.4 + (i + 0.5) * width)
                ys.append(max(y, BOTTOM))
                if what == "time" and r.flags:
                    flagged.append((xs[-1], ys[-1]))
            _mark_flagged(ax, flagged)
            if xs:
                drawn[what] += ys
                st = _style(m, fwd_only)
                ax.bar(
                    xs,
                    ys,
                    width,
                    bottom=BOTTOM if what != "time" else None,
                    color="none" if fwd_only else st["color"],
                    edgecolor=st["color"],
                    hatch="//" if fwd_only else None,
                    label=st["label"],
                )
    labels = [_point_label(b, dt, batch, n, c if many_conds else None) for b, dt, c, batch, n in points]
    for ax, what, ylabel in panels:
        ax.set_yscale("log")
        if what != "time":
            _floor_band(ax, drawn[what])
        ax.set_xticks(range(len(points)), labels, fontsize=8)
        ax.set_xlim(-0.6, len(points) - 0.4)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(True, axis="y", which="major", alpha=0.3)
    cond = "" if many_conds else f", condition number {points[0][2]:.0e}" if points else ""
    fig.suptitle(f"every method at every grid point (batch x n x n{cond})", fontsize=11)
    entries: dict[str, Any] = {}
    for ax, _, _ in panels:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(lab, h)
    fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_sweep(results: list[Any], path: str) -> list[str]:
    """Error of Y and of the gradient against the condition number, per method."""
    plt = _pyplot()
    groups = list(dict.fromkeys((r.backend, r.dtype, r.n, r.batch) for r in results))
    fig, axes = plt.subplots(
        len(groups), 2, figsize=(13, 3.8 * len(groups) + 0.5), squeeze=False, layout="constrained"
    )
    fig.suptitle("error against the condition number (errors only, no timing)", fontsize=11)
    for row, g in zip(axes, groups, strict=True):
        rs = [r for r in results if (r.backend, r.dtype, r.n, r.batch) == g]
        drawn: list[list[float]] = [[], []]
        for m in dict.fromkeys(r.method for r in rs):
            for ax, attr in zip(row, ("err_fwd", "err_grad"), strict=True):
                pts = [
                    (r.cond, getattr(r, attr)) for r in rs if r.method == m and getattr(r, attr) is not None
                ]
                if pts:
                    drawn[attr == "err_grad"] += [max(e, BOTTOM) for _, e in pts]
                    st = _style(m, False)
                    ax.loglog(*zip(*[(c, max(e, BOTTOM)) for c, e in pts], strict=True), "-", **st)
        for ax, what, vals in zip(row, ("Y", "dL/dA"), drawn, strict=True):
            _floor_band(ax, vals)
            ax.set_title(f"{g[0]} {g[1]}, batch x n x n = {g[3]} x {g[2]}x{g[2]}", fontsize=9)
            ax.set_xlabel("condition number of A")
            ax.set_ylabel(f"relative error of {what}\n(Frobenius, vs float64 eigh)", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
    entries: dict[str, Any] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(lab, h)
    fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


def _plot_all(results: list[Any], path: str) -> list[str]:
    """The figures of a timed run (see the module docstring); the paths written."""
    _plot(results, path)
    written = [path]
    for axis in ("n", "batch"):
        other = "batch" if axis == "n" else "n"
        lines: dict[tuple[Any, ...], set[int]] = {}
        for r in results:
            lines.setdefault((r.backend, r.dtype, r.cond, getattr(r, other)), set()).add(getattr(r, axis))
        if any(len(v) > 1 for v in lines.values()):  # some line has two points
            written.append(_plot_time_vs(results, axis, _beside(path, f"vs-{axis}")))
    written.append(_plot_frontier(results, _beside(path, "frontier")))
    return written


def _beside(path: str, suffix: str) -> str:
    """``errors.png`` -> ``errors-SUFFIX.png``."""
    root, ext = os.path.splitext(path)
    return f"{root}-{suffix}{ext}"


def _style(method: str, forward_only: bool) -> dict[str, Any]:
    """Colour, marker and label of a method, the same in every figure; hollow where forward only."""
    i = METHODS.index(method) if method in METHODS else len(METHODS)
    color = f"C{i % 10}"
    return {
        "color": color,
        "marker": "osD^v<>pX*"[i % 10],
        "ms": 5,
        "mfc": "none" if forward_only else color,
        "label": f"{method} (forward only)" if forward_only else method,
    }


def _cost(r: Any, unit: str) -> tuple[float | None, bool]:
    """``r``'s forward+backward cost in ``unit`` (``"ms"``, ``"mm"``), else its forward one; whether forward only."""
    fb = getattr(r, f"fwdbwd_{unit}")
    return (fb, False) if fb is not None else (getattr(r, f"fwd_{unit}"), True)


def _panels(count: int, title: str) -> tuple[Any, list[Any]]:
    """A figure of ``count`` log-log panels (a row of up to 3, else a grid at most 3 wide); its axes, in order."""
    plt = _pyplot()
    cols = count if count <= 3 else min(3, math.ceil(math.sqrt(count)))
    rows = -(-count // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.6 * cols + 2.4, 3.9 * rows + 0.4), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[:count]:
        ax.set(xscale="log", yscale="log")  # before any data: an empty panel (all failed) stays drawable
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    return fig, list(axes.flat[:count])


def _save(fig: Any, axes: list[Any], path: str) -> str:
    """Grids, one legend for the figure (every panel's entries, once each) at its right; save it."""
    entries: dict[str, Any] = {}
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(lab, h)
    fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=8)
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def _backend_dtype(r: Any) -> str:
    return f"{r.backend} ({r.device}) {r.dtype}"


def _plot_time_vs(results: list[Any], axis: str, path: str) -> str:
    """Forward+backward time against the grid axis ``axis`` (``"n"`` or ``"batch"``), log-log.

    One panel per backend, dtype, condition number and value of the other axis;
    one line per method, and one batched matmul ``A @ A`` (dotted) for scale.
    """
    other = "batch" if axis == "n" else "n"
    name = {"n": "matrix size n", "batch": "batch size"}
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in results:
        groups.setdefault((_backend_dtype(r), r.cond, getattr(r, other)), []).append(r)
    fig, axes = _panels(len(groups), f"forward+backward time against the {name[axis]}")
    for ax, ((where, cond, fixed), rs) in zip(axes, groups.items(), strict=True):
        for m in dict.fromkeys(r.method for r in rs):
            pts = sorted((getattr(r, axis), *_cost(r, "ms")) for r in rs if r.method == m)
            pts = [p for p in pts if p[1] is not None]
            if pts:
                xs, ys, fwd_only = zip(*pts, strict=True)
                ax.plot(xs, ys, "--" if all(fwd_only) else "-", **_style(m, all(fwd_only)))
            _mark_flagged(
                ax, [(getattr(r, axis), _cost(r, "ms")[0]) for r in rs if r.method == m and r.flags]
            )
        mm = sorted({getattr(r, axis): r.matmul_ms for r in rs if r.matmul_ms is not None}.items())
        if mm:
            ax.plot(*zip(*mm, strict=True), ":", color="0.5", label="one matmul A @ A")
        ticks = sorted({getattr(r, axis) for r in rs})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xticks([], minor=True)
        ax.set_xlabel(name[axis])
        ax.set_ylabel("forward+backward time (ms)")
        ax.set_title(f"{where}\n{other} {fixed}, cond {cond:.0e}", fontsize=9)
    return _save(fig, axes, path)


def _plot_frontier(results: list[Any], path: str) -> str:
    """Relative error of Y against forward+backward matmul-equivalents; one panel per backend and dtype."""
    from matplotlib import ticker

    groups: dict[str, list[Any]] = {}
    for r in results:
        groups.setdefault(_backend_dtype(r), []).append(r)
    fig, axes = _panels(len(groups), "accuracy against cost: one marker per method and grid point")
    for ax, (where, rs) in zip(axes, groups.items(), strict=True):
        for m in dict.fromkeys(r.method for r in rs):
            pts = [(*_cost(r, "mm"), r.err_fwd, r.flags) for r in rs if r.method == m]
            pts = [(x, max(e, BOTTOM), fo, fl) for x, fo, e, fl in pts if x is not None and e is not None]
            if pts:
                xs, es, fwd_only, _ = zip(*pts, strict=True)
                ax.plot(xs, es, ls="none", **_style(m, all(fwd_only)))
                _mark_flagged(ax, [(x, e) for x, e, _, fl in pts if fl])
        shapes = ", ".join(dict.fromkeys(f"{r.batch}x{r.n}" for r in rs))
        conds = ", ".join(dict.fromkeys(f"{r.cond:.0e}" for r in rs))
        ax.set_title(f"{where}\nbatch x n: {shapes}; cond {conds}", fontsize=9)
        ax.set_xlabel("forward+backward time / one matmul")
        # plain numbers, at 1, 2, 5 x 10^k where the costs span less than 2 decades
        lo, hi = ax.get_xlim()
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5) if hi < 100 * lo else (1,)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_ylabel("relative error of Y (Frobenius, vs float64 eigh)", fontsize=9)
        _floor_band(ax, [max(r.err_fwd, BOTTOM) for r in rs if r.err_fwd is not None])
    return _save(fig, axes, path)
