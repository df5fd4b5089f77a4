"""The benchmark harness behind ``python -m matsqrt bench``.

Paired round-robin timing: in every round each candidate runs once, in the same
order, and the reported time is the median over rounds. Every time comes with
the error of the same call against an eigh-based float64 reference, and with
"matmul-equivalents": the time over the time of one batched matmul of the same
shape, measured in the same rounds.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import _core
from ._core import Options
from .testing import random_spd, rel_error

__all__ = ["Result", "run_grid"]

METHODS = ("pade", "taylor", "newton_schulz", "eigh", "paper", "scipy")


@dataclass
class Result:
    backend: str
    method: str
    n: int
    batch: int
    dtype: str
    cond: float
    fwd_ms: float
    fwdbwd_ms: float | None
    fwd_matmuls: float
    fwdbwd_matmuls: float | None
    err_fwd: float
    err_grad: float | None


def _options(method: str) -> Options:
    order = {"pade": 5, "taylor": 10, "newton_schulz": 5, "eigh": 1}[method]
    backward = {"pade": "rational", "eigh": "eigh"}.get(method, "lyapunov")
    scaling = "mean" if method == "pade" else "frobenius"
    return Options(False, method, order, backward, 8, True, scaling)


@dataclass
class Backend:
    """How to run and time the core on one array library."""

    name: str
    convert: Callable[[np.ndarray], Any]
    ops: Any
    sync: Callable[[Any], Any]
    jit: Callable[[Callable], Callable]
    to_numpy: Callable[[Any], np.ndarray]


def available_backends() -> list[str]:
    names = ["numpy"]
    for mod in ("torch", "jax"):
        try:
            __import__(mod)
        except ImportError:
            continue
        names.append(mod)
    return names


def make_backend(name: str) -> Backend:
    if name == "numpy":
        import array_api_compat.numpy as xp

        return Backend("numpy", np.asarray, _core.Ops(xp), lambda x: x, lambda f: f, np.asarray)
    if name == "torch":
        import array_api_compat.torch as xp
        import torch

        from .backends._torch import TorchOps

        def sync(x: Any) -> Any:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return x

        return Backend("torch", torch.as_tensor, TorchOps(xp), sync, lambda f: f, lambda x: x.cpu().numpy())
    if name == "jax":
        import jax
        import jax.numpy as jnp

        from .backends._jax import JaxOps

        ops = JaxOps(jnp)
        ops.eager = False
        return Backend(
            "jax", jnp.asarray, ops, lambda x: jax.block_until_ready(x), jax.jit, lambda x: np.asarray(x)
        )
    msg = f"unknown backend {name!r}"
    raise ValueError(msg)


def _candidates(be: Backend, methods: Iterable[str], A: np.ndarray) -> dict[str, tuple[Callable, Callable | None]]:
    from ._reference import published_forward, published_vjp

    ops = be.ops
    out: dict[str, tuple[Callable, Callable | None]] = {}
    for m in methods:
        if m == "scipy":
            if be.name != "numpy":
                continue
            try:
                import scipy.linalg as sl
            except ImportError:
                continue

            def fwd_scipy(a: Any) -> Any:
                return np.stack([sl.sqrtm(x) for x in a.reshape(-1, *a.shape[-2:])]).reshape(a.shape)

            out[m] = (fwd_scipy, None)
        elif m == "paper":

            def fwd_p(a: Any) -> Any:
                return published_forward(a, ops)

            def fwdbwd_p(a: Any, g: Any) -> Any:
                y = published_forward(a, ops)
                return published_vjp(y, g, ops), y

            out[m] = (be.jit(fwd_p), be.jit(fwdbwd_p))
        else:
            opt = _options(m)

            def fwd(a: Any, opt: Options = opt) -> Any:
                return _core.forward(a, opt, ops)[0]

            def fwdbwd(a: Any, g: Any, opt: Options = opt) -> Any:
                y, res = _core.forward(a, opt, ops)
                return _core.vjp(g, a, y, res, opt, ops), y

            out[m] = (be.jit(fwd), be.jit(fwdbwd))
    return out


def _exact(A: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, V = np.linalg.eigh(A.astype(np.float64))
    r = np.sqrt(np.clip(w, 0, None))
    Y = (V * r[..., None, :]) @ np.swapaxes(V, -1, -2)
    D = 1 / (r[..., :, None] + r[..., None, :])
    Vt = np.swapaxes(V, -1, -2)
    Gs = G.astype(np.float64)
    Gs = (Gs + np.swapaxes(Gs, -1, -2)) / 2  # gradients of functions of symmetric matrices
    return Y, V @ ((Vt @ Gs @ V) * D) @ Vt


def run_grid(
    *,
    ns: Iterable[int],
    batches: Iterable[int],
    dtypes: Iterable[str],
    conds: Iterable[float],
    methods: Iterable[str],
    backends: Iterable[str] = ("numpy",),
    rounds: int = 5,
    progress: Callable[[int], Any] | None = None,
) -> list[Result]:
    """Time and measure every method on every backend and grid point."""
    results = []
    for bname in backends:
        be = make_backend(bname)
        for dtype in dtypes:
            for cond in conds:
                for n in ns:
                    for batch in batches:
                        results.extend(_measure(be, methods, n, batch, dtype, cond, rounds))
                        if progress is not None:
                            progress(1)
    return results


def _measure(be: Backend, methods: Iterable[str], n: int, batch: int, dtype: str, cond: float, rounds: int) -> list[Result]:
    A_np = random_spd((batch, n), cond, dtype=dtype, seed=0)
    G_np = np.random.default_rng(1).standard_normal(A_np.shape).astype(dtype)
    Yx, gx = _exact(A_np, G_np)
    A, G = be.convert(A_np), be.convert(G_np)
    cands = _candidates(be, methods, A_np)
    times: dict[str, list[float]] = {k: [] for k in cands}
    times_b: dict[str, list[float]] = {k: [] for k in cands}
    mm: list[float] = []
    outputs: dict[str, Any] = {}
    matmul = be.jit(lambda a: a @ a)
    for r in range(rounds + 1):  # round 0 warms up (and compiles)
        t0 = time.perf_counter()
        be.sync(matmul(A))
        t_mm = time.perf_counter() - t0
        for k, (f, fb) in cands.items():
            a = A_np if k == "scipy" else A
            t0 = time.perf_counter()
            y = be.sync(f(a))
            t1 = time.perf_counter()
            g = be.sync(fb(A, G)) if fb is not None else None
            t2 = time.perf_counter()
            if r:
                times[k].append(t1 - t0)
                if fb is not None:
                    times_b[k].append(t2 - t1)
            outputs[k] = (y, g)
        if r:
            mm.append(t_mm)
    t_mm = statistics.median(mm)
    out = []
    for k in cands:
        y, g = outputs[k]
        tf = statistics.median(times[k])
        tb = statistics.median(times_b[k]) if times_b[k] else None
        y_np = np.asarray(y) if k == "scipy" else be.to_numpy(y)
        out.append(
            Result(
                backend=be.name,
                method=k,
                n=n,
                batch=batch,
                dtype=dtype,
                cond=cond,
                fwd_ms=tf * 1e3,
                fwdbwd_ms=tb * 1e3 if tb is not None else None,
                fwd_matmuls=tf / t_mm,
                fwdbwd_matmuls=tb / t_mm if tb is not None else None,
                err_fwd=rel_error(np.real_if_close(y_np), Yx),
                err_grad=rel_error(be.to_numpy(g[0]), gx) if g is not None else None,
            )
        )
    return out


def _ratios(results: list[Result]) -> dict[int, tuple[float | None, float | None]]:
    """Per result: time over the published algorithm's and over eigh's, same grid point.

    Forward + backward times where both have them, else forward times.
    """
    def key(r: Result) -> tuple:
        return (r.backend, r.dtype, r.cond, r.n, r.batch)

    def t(r: Result, like: Result) -> float:
        return r.fwdbwd_ms if (r.fwdbwd_ms is not None and like.fwdbwd_ms is not None) else r.fwd_ms

    by = {(key(r), r.method): r for r in results}
    out = {}
    for i, r in enumerate(results):
        ratios = []
        for base in ("paper", "eigh"):
            b = by.get((key(r), base))
            ratios.append(t(r, b) / t(b, r) if b is not None else None)
        out[i] = (ratios[0], ratios[1])
    return out


def format_table(results: list[Result]) -> str:
    head = f"{'backend':7} {'dtype':8} {'cond':>7} {'n':>5} {'batch':>5} {'method':14} {'fwd ms':>9} {'fwd+bwd ms':>11} {'mm-eq':>7} {'/paper':>7} {'/eigh':>7} {'err Y':>9} {'err grad':>9}"
    lines = [head, "-" * len(head)]
    ratios = _ratios(results)
    for i, r in enumerate(results):
        rp, re = (f"{v:7.2f}" if v is not None else f"{'-':>7}" for v in ratios[i])
        fb = f"{r.fwdbwd_ms:11.3f}" if r.fwdbwd_ms is not None else f"{'-':>11}"
        eg = f"{r.err_grad:9.1e}" if r.err_grad is not None else f"{'-':>9}"
        lines.append(
            f"{r.backend:7} {r.dtype:8} {r.cond:7.0e} {r.n:5d} {r.batch:5d} {r.method:14} {r.fwd_ms:9.3f} {fb} {r.fwd_matmuls:7.1f} {rp} {re} {r.err_fwd:9.1e} {eg}"
        )
    return "\n".join(lines)


def as_dicts(results: list[Result]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]


def progress_bar(total: int, enabled: bool) -> tuple[Callable[[int], Any], Callable[[], None]]:
    """A tqdm bar when tqdm is installed, else a plain counter on stderr."""
    if not enabled:
        return (lambda k: None), (lambda: None)
    try:
        from tqdm import tqdm
    except ImportError:
        done = [0]

        def update(k: int) -> None:
            done[0] += k
            print(f"\r{done[0]}/{total} grid points", end="", file=sys.stderr, flush=True)

        return update, lambda: print(file=sys.stderr)
    bar = tqdm(total=total, unit="point", desc="bench", file=sys.stderr)
    return bar.update, bar.close
