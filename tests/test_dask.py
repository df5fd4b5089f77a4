"""Dask adapter: lazy, chunk-wise, equal to NumPy, and runs on a distributed cluster."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import matsqrt  # noqa: E402
from matsqrt.testing import random_spd  # noqa: E402


@pytest.mark.parametrize("chunks", [(2, 8, 8), (3, 4, 4), (6, 8, 8), (1, 8, 3)])
@pytest.mark.parametrize("fn", [matsqrt.sqrtm, matsqrt.invsqrtm], ids=["sqrtm", "invsqrtm"])
def test_values_equal_numpy_for_any_chunking(fn, chunks):
    A = random_spd((6, 8), 20, seed=1)
    Y = fn(da.from_array(A, chunks=chunks))
    assert isinstance(Y, da.Array) and Y.shape == A.shape and Y.dtype == A.dtype
    assert Y.chunks[0] == da.from_array(A, chunks=chunks).chunks[0]  # batch chunking kept
    np.testing.assert_allclose(Y.compute(), fn(A), rtol=1e-13, atol=1e-14)


def test_nothing_is_computed_before_compute():
    calls = []

    def counting_get(dsk, keys, **kwargs):
        calls.append(keys)
        return dask.get(dsk, keys, **kwargs)

    A = da.from_array(random_spd((4, 6), 10, seed=2), chunks=(2, 6, 6))
    with dask.config.set(scheduler=counting_get):
        Y = matsqrt.sqrtm(A)  # check_finite is skipped for lazy arrays
        G = matsqrt.sqrtm_vjp(Y, A)
        assert calls == []
        G.compute()
    assert len(calls) == 1


def test_vjp_and_sylvester_on_dask():
    A = random_spd((4, 5), 10, seed=3)
    Y = matsqrt.sqrtm(A, method="eigh")
    g = matsqrt.sqrtm_vjp(
        da.from_array(Y, chunks=(1, 5, 5)), da.from_array(A, chunks=(2, 5, 5)), backward="eigh"
    )
    np.testing.assert_allclose(g.compute(), matsqrt.sqrtm_vjp(Y, A, backward="eigh"), rtol=1e-12, atol=1e-14)
    X = matsqrt.solve_sylvester(
        da.from_array(A, chunks=(2, 5, 5)), da.from_array(A[0]), da.from_array(A), iters=40
    )
    np.testing.assert_allclose(
        X.compute(), matsqrt.solve_sylvester(A, A[0], A, iters=40), rtol=1e-12, atol=1e-13
    )


def test_tol_is_certified_chunk_by_chunk():
    # general input: the Denman–Beavers iteration
    M = random_spd((4, 6), 10.0, seed=1) @ random_spd((4, 6), 10.0, seed=3)
    Y = matsqrt.sqrtm(da.from_array(M, chunks=(2, 6, 6)), tol=1e-10, hermitian=False).compute()
    np.testing.assert_allclose(Y @ Y, M, rtol=1e-9, atol=1e-10)
    # Hermitian input: Zolotarev's method
    A = random_spd((4, 6), 1e4, seed=2)
    Y = matsqrt.sqrtm(da.from_array(A, chunks=(2, 6, 6)), tol=1e-8).compute()
    ref = matsqrt.sqrtm(A, method="eigh")
    assert np.linalg.norm(Y - ref) <= 2e-8 * np.linalg.norm(ref)


@pytest.mark.cluster
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
def test_on_a_local_cluster_of_two_processes():
    distributed = pytest.importorskip("distributed")
    A = random_spd((10_000, 8), 50, seed=4, dtype=np.float32)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        Y = matsqrt.sqrtm(da.from_array(A, chunks=(2_500, 8, 8)))
        out = client.compute(Y).result()
    np.testing.assert_allclose(out, matsqrt.sqrtm(A), rtol=1e-5, atol=1e-6)
