"""Property tests (hypothesis): shapes, dtypes, conditioning, spectra, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_np, to_xp
from hypothesis import given
from hypothesis import strategies as st

import matsqrt
from matsqrt.testing import random_spd, rel_error, root_tolerance

DTYPES = {"float32": (np.float32, 1e3), "float64": (np.float64, 1e6), "complex128": (np.complex128, 1e4)}


def _ref(A: np.ndarray, inverse: bool) -> np.ndarray:
    w, V = np.linalg.eigh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    f = w**-0.5 if inverse else np.sqrt(w)
    return (V * f[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


@st.composite
def problems(draw):
    dtype_name = draw(st.sampled_from(sorted(DTYPES)))
    dtype, max_cond = DTYPES[dtype_name]
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n = draw(st.integers(1, 12))
    log_cond = draw(st.floats(0, np.log10(max_cond)))
    spectrum = draw(st.sampled_from(["geometric", "linear", "clustered"]))
    seed = draw(st.integers(0, 2**16))
    A = random_spd((*batch, n), 10**log_cond, dtype=dtype, seed=seed, spectrum=spectrum)
    return A, 10**log_cond


@given(problem=problems(), inverse=st.booleans())
def test_root_properties(xp, problem, inverse):
    """Accuracy with a converging order, Hermitian output, Y @ Y = A / Z @ Y = I, shape and dtype kept."""
    A, cond = problem
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    lazy = "dask" in xp.__name__
    # Padé order that reaches the dtype's accuracy (tol= where values can be inspected)
    # (method="auto" moves to eigh where Padé cannot reach the dtype's accuracy)
    if lazy and cond > 1e2:
        return  # lazy arrays take a fixed order: order 64 converges up to cond ~1e2
    eps = float(np.finfo(A.dtype).eps)
    if lazy:
        kw = {"order": 64}
    elif cond <= 1e2:
        kw = {"method": "pade", "tol": 10 * eps}  # Padé reaches the dtype's accuracy here
    else:
        kw = {"method": "auto", "tol": eps}
    out = to_np(fn(to_xp(xp, A), **kw))
    assert out.shape == A.shape and out.dtype == A.dtype
    tol = root_tolerance(A.dtype, cond, inverse=inverse, factor=200)
    assert rel_error(out, _ref(A, inverse)) <= tol
    np.testing.assert_allclose(out, np.conj(np.swapaxes(out, -1, -2)), rtol=0, atol=tol * np.abs(out).max())


@given(problem=problems())
def test_batch_equals_loop(problem):
    A, _ = problem
    if A.ndim == 2:
        A = A[None]
    flat = A.reshape(-1, *A.shape[-2:])
    batched = matsqrt.sqrtm(A).reshape(flat.shape)
    single = np.stack([matsqrt.sqrtm(a) for a in flat])
    np.testing.assert_allclose(batched, single, rtol=0, atol=10 * np.finfo(A.dtype).eps * max(1, np.abs(single).max()))


@given(problem=problems(), inverse=st.booleans())
def test_vjp_backwards_agree(problem, inverse):
    """The Lyapunov (converged) and exact backwards give the same gradient."""
    A, cond = problem
    if A.dtype != np.float64 or cond > 1e4:
        return
    out = (matsqrt.invsqrtm if inverse else matsqrt.sqrtm)(A, method="eigh")
    G = np.random.default_rng(0).standard_normal(A.shape)
    vjp = matsqrt.invsqrtm_vjp if inverse else matsqrt.sqrtm_vjp
    exact = vjp(out, G, backward="eigh")
    lyap = vjp(out, G, backward="lyapunov")
    assert rel_error(lyap, exact) <= 1e-12 * cond ** (1.0 if inverse else 0.5) * 100


@pytest.mark.parametrize("order", [1, 2, 3, 5, 8, 13])
def test_more_order_more_accuracy_float32(order):
    A = random_spd((3, 16), 1e2, dtype=np.float32, seed=order)
    ref = _ref(A, False)
    e1 = rel_error(matsqrt.sqrtm(A, order=order), ref)
    e2 = rel_error(matsqrt.sqrtm(A, order=order + 1), ref)
    assert e2 <= max(e1, root_tolerance(np.float32, 1e2))
