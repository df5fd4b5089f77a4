"""A large stack of SPD matrices (e.g. a diffusion-tensor volume) on a dask.distributed cluster."""

import argparse
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster, progress

import matsqrt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n-matrices", type=int, default=1_000_000)
    p.add_argument("--size", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--chunk", type=int, default=100_000)
    args = p.parse_args()
    n, k = args.n_matrices, args.size
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        # synthetic SPD tensors, generated on the workers: G G^T / k + I/10
        G = da.random.default_rng(0).standard_normal((n, k, k), chunks=(args.chunk, k, k))
        A = G @ da.swapaxes(G, -1, -2) / k + 0.1 * da.eye(k)
        Y = matsqrt.sqrtm(A, order=16)  # lazy: one task per chunk (cond <~ 100 here)
        res = matsqrt.residual(A, Y).max()  # a cheap accuracy check, also lazy
        t0 = time.perf_counter()
        fut = client.compute(res)
        progress(fut)
        worst = fut.result()
        dt = time.perf_counter() - t0
    print(
        f"\n{n} matrices {k}x{k}, {args.workers} worker(s): {dt:.2f} s, {n / dt:,.0f} matrices/s, "
        f"worst residual {worst:.1e}"
    )
    assert np.isfinite(worst) and worst < 1e-5


if __name__ == "__main__":
    main()
