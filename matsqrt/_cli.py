"""``python -m matsqrt``: the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._bench import METHODS, as_dicts, available_backends, format_table, progress_bar, run_grid

__all__ = ["main"]


def _list_of(kind: type, what: str, minimum: float) -> Any:
    """An argparse type: comma-separated ``kind`` values, each >= ``minimum``."""

    def parse(s: str) -> list[Any]:
        try:
            vals = [kind(v) for v in s.split(",") if v]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {s!r}") from None
        if not vals or any(v < minimum for v in vals):
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum:g}, got {s!r}")
        return vals

    return parse


_ints = _list_of(int, "integers", 1)
_floats = _list_of(float, "condition numbers", 1)


def _choices(allowed: tuple[str, ...]):
    def parse(s: str) -> list[str]:
        vals = [v for v in s.split(",") if v]
        bad = [v for v in vals if v not in allowed]
        if bad or not vals:
            raise argparse.ArgumentTypeError(f"unknown {bad or s!r}; choose from {', '.join(allowed)}")
        return vals

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m matsqrt",
        description="matsqrt: fast differentiable matrix square roots. The 'bench' command times every "
        "method against the paper's configuration, eigh and scipy, with the error of each result.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="benchmark the methods (table, --json, --plot)")
    b.add_argument("--n", type=_ints, default=[16, 64], help="matrix sizes (default 16,64)")
    b.add_argument("--batch", type=_ints, default=[8, 64], help="batch sizes (default 8,64)")
    b.add_argument("--dtype", type=_choices(("float32", "float64")), default=["float32"], help="dtypes")
    b.add_argument("--cond", type=_floats, default=[100.0], help="condition numbers of the test matrices")
    b.add_argument("--method", type=_choices(METHODS), default=list(METHODS), help="methods to run")
    b.add_argument(
        "--backend",
        type=_choices(("numpy", "torch", "jax")),
        default=None,
        help="array backends (default: every installed one of numpy, torch, jax)",
    )
    b.add_argument("--repeats", type=int, default=5, help="timed rounds per grid point (median)")
    b.add_argument("--json", metavar="FILE", help="write machine-readable results")
    b.add_argument("--plot", metavar="FILE.png", help="write a plot (needs matplotlib)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeats < 1:
        build_parser().error("--repeats must be >= 1")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("error: --plot needs matplotlib (pip install 'matsqrt[plot]')", file=sys.stderr)
            return 2
    backends = args.backend or available_backends()
    missing = [b for b in backends if b not in available_backends()]
    if missing:
        print(f"error: backend(s) not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    total = len(backends) * len(args.n) * len(args.batch) * len(args.dtype) * len(args.cond)
    update, close = progress_bar(total, not args.no_progress)
    try:
        results = run_grid(
            ns=args.n, batches=args.batch, dtypes=args.dtype, conds=args.cond,
            methods=args.method, backends=backends, rounds=args.repeats, progress=update,
        )
    finally:
        close()
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": as_dicts(results)}, fh, indent=1)
    if args.plot:
        _plot(results, args.plot)
    return 0


def _plot(results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    points = sorted({(r.backend, r.dtype, r.cond, r.batch, r.n) for r in results})
    where = {p: i for i, p in enumerate(points)}
    for m in sorted({r.method for r in results}):
        rs = sorted((r for r in results if r.method == m), key=lambda r: where[(r.backend, r.dtype, r.cond, r.batch, r.n)])
        xs = [where[(r.backend, r.dtype, r.cond, r.batch, r.n)] for r in rs]
        ax1.plot(xs, [r.fwd_matmuls for r in rs], "o-", label=m)
        ax2.semilogy(xs, [max(r.err_fwd, 1e-17) for r in rs], "o-", label=m)
    labels = [f"{b}\n{batch}x{n}" for b, _, _, batch, n in points]
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("backend, batch x n")
    ax1.set_ylabel("forward time / one batched matmul")
    ax2.set_ylabel("relative error of Y")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
