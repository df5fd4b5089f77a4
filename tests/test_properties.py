"""Property tests (hypothesis) over shapes, dtypes, conditioning, spectra, scales and backends.

Every property's tolerance comes from the dtype and the condition number (see
``_tolerance``). The reference is a float64 eigh root, which is itself only
accurate to the root's conditioning (``eps64 cond^(1/2)`` for ``A^(1/2)``,
``eps64 cond`` for ``A^(-1/2)``; measured against 40-digit mpmath roots: at
most 0.8 of that), so the tolerance covers it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp
from hypothesis import assume, given
from hypothesis import strategies as st

import matsqrt
from matsqrt.testing import random_spd, rel_error, root_tolerance

#: dtype -> largest condition number drawn
MAX_COND = {
    np.dtype(np.float32): 1e3,
    np.dtype(np.complex64): 1e3,
    np.dtype(np.float64): 1e6,
    np.dtype(np.complex128): 1e6,
}
#: Padé with tol=10 eps reaches the dtype's accuracy with order <= 64 up to this
#: condition number (beyond it, it warns); "auto" (eigh on CPUs) is used beyond it
PADE_REACH = {"f": 1e5, "d": 1e3}


def _ref(A: np.ndarray, inverse: bool) -> np.ndarray:
    w, V = np.linalg.eigh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    f = w**-0.5 if inverse else np.sqrt(w)
    return (V * f[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


def _mH(a: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(a, -1, -2))


def _fro(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a, axis=(-2, -1))


def _eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


def _tolerance(dtype, cond: float, inverse: bool) -> float:
    """Relative error a converged root (and the float64 reference) can be held to.

    ``root_tolerance`` (50 eps cond^(1/4) or cond^(1/2)), or the root's conditioning
    ``8 eps cond^(1/2)`` (root) / ``8 eps cond`` (inverse root), whichever is larger:
    backward-stable methods (eigh included) reach the latter only.
    """
    conditioning = 8 * _eps(dtype) * cond ** (1.0 if inverse else 0.5)
    return max(root_tolerance(dtype, cond, inverse=inverse), conditioning)


def _lazy(xp) -> bool:
    return "dask" in xp.__name__


@st.composite
def problems(draw, dtypes=tuple(MAX_COND)):
    """``(A, cond)``: Hermitian positive definite, batch dims 0-2, n 1-12, any scale."""
    dtype = draw(st.sampled_from(dtypes))
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n = draw(st.integers(1, 12))
    cond = 10 ** draw(st.floats(0, math.log10(MAX_COND[dtype])))
    spectrum = draw(st.sampled_from(["geometric", "linear", "clustered"]))
    scale = 10 ** draw(st.integers(-4, 4))  # the roots scale exactly: normalisation must cope
    seed = draw(st.integers(0, 2**16))
    A = (random_spd((*batch, n), cond, dtype=np.float64, seed=seed, spectrum=spectrum) * scale).astype(dtype)
    return A, (cond if n > 1 else 1.0)


def _converging_options(xp, dtype, cond: float) -> dict:
    """Options that reach the dtype's accuracy at this condition number."""
    if _lazy(xp):  # no tol= on lazy arrays: a fixed order, Padé where it has converged
        return {"method": "pade", "order": 64} if cond <= 30 else {"method": "eigh"}
    if cond <= PADE_REACH[np.dtype(dtype).char.lower()]:
        return {"method": "pade", "tol": 10 * _eps(dtype)}
    return {"method": "auto", "tol": 10 * _eps(dtype)}


@given(problem=problems(), inverse=st.booleans())
def test_root_properties(xp, problem, inverse):
    """Accurate, Hermitian, Y Y = A / Z A Z = I; shape, dtype and array type kept."""
    A, cond = problem
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    Ax = to_xp(xp, A)
    with warnings.catch_warnings():
        # auto at a tol below the rounding floor of both methods says so; what it returns
        # is judged below against the conditioning bound
        warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
        outx = fn(Ax, **_converging_options(xp, A.dtype, cond))
    assert type(outx) is type(Ax)
    out = to_np(outx)
    assert out.shape == A.shape and out.dtype == A.dtype
    tol = _tolerance(A.dtype, cond, inverse)
    assert rel_error(out, _ref(A, inverse)) <= tol
    if A.size == 0:
        return
    ref_norm = _fro(_ref(A, inverse))[..., None, None]
    assert np.all(_fro(out - _mH(out)) <= tol * _fro(ref_norm))
    o, a = out.astype(np.complex128), A.astype(np.complex128)
    n = A.shape[-1]
    if inverse:  # ||dZ A Z + Z A dZ|| <= 2 ||dZ||_F ||A^(1/2)||_2 ~ 2 tol sqrt(n cond)
        res = _fro(o @ a @ o - np.eye(n)) / math.sqrt(n)
        assert np.max(res) <= 4 * tol * math.sqrt(cond)
    else:  # ||dY Y + Y dY|| <= 2 ||Y||_2 ||dY||_F
        res = _fro(o @ o - a) / _fro(a)
        assert np.max(res) <= 4 * tol * math.sqrt(n)


@given(problem=problems(), inverse=st.booleans(), quarter=st.booleans())
def test_zolotarev_reaches_tol_at_every_condition_number(xp, problem, inverse, quarter):
    """method="zolotarev" with tol = 1000 eps: within 2 tol of the exact root, or within the
    root's conditioning with an AccuracyWarning, over the whole conditioning range; A^(+-1/4) too."""
    if _lazy(xp):
        pytest.skip("lazy arrays are not inspected: the certified iteration needs their values")
    A, cond = problem
    p = (-1 if inverse else 1) * (0.25 if quarter else 0.5)
    want = 1000 * _eps(A.dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", matsqrt.AccuracyWarning)
        out = to_np(matsqrt.powm(to_xp(xp, A), p, method="zolotarev", tol=want))
    assert out.shape == A.shape and out.dtype == A.dtype
    w, V = np.linalg.eigh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    ref = (V * np.clip(w, 0, None)[..., None, :] ** p) @ _mH(V)
    error = rel_error(out, ref)
    floor = _tolerance(A.dtype, cond, inverse)  # the root's conditioning (and the reference's)
    assert error <= max(2 * want, floor)
    if error > 2 * want:  # beyond tol: only where rounding in the dtype decides, and said so
        assert any(issubclass(c.category, matsqrt.AccuracyWarning) for c in caught)


@given(problem=problems(), inverse=st.booleans(), order=st.integers(1, 64))
def test_pade_error_within_its_a_priori_bound(xp, problem, inverse, order):
    """Padé [m/m] of A / (trace/n): the error is at most the scalar bound at the eigenvalues.

    ``r_m(x) = x^(-1/2) (1 - u^p) / (1 + u^p)``, ``u = (1 - sqrt x) / (1 + sqrt x)``: the
    relative error at eigenvalue ``x`` is ``2|u|^p / |1 + u^p|`` for both roots, and the
    Frobenius error of the matrix is at most the largest of them (plus rounding).
    """
    A, cond = problem
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    out = to_np(fn(to_xp(xp, A), method="pade", order=order))
    w = np.linalg.eigvalsh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    x = w / np.mean(w, axis=-1, keepdims=True)
    u = (1 - np.sqrt(x)) / (1 + np.sqrt(x))
    p = 2 * order + 1
    bound = np.max(2 * np.abs(u) ** p / np.abs(1 + u**p), initial=0.0)
    tol = _tolerance(A.dtype, cond, inverse)
    # rounding: the sum of the m weighted inverses grows with the order (measured:
    # Padé 64's root is 3.5 eps cond^(1/2) where eigh's is 0.8); 4x covers it
    assert rel_error(out, _ref(A, inverse)) <= bound * (1 + 1e-6) + 4 * tol


@given(problem=problems())
def test_batch_equals_loop(problem):
    """Each matrix of a batch is normalised and approximated on its own (order fixed)."""
    A, _ = problem
    A = A.reshape(-1, *A.shape[-2:])
    assume(A.shape[0] > 1)
    batched = matsqrt.sqrtm(A, order=5)
    single = np.stack([matsqrt.sqrtm(a, order=5) for a in A])
    scale = _fro(single)[:, None, None]
    assert np.max(np.abs(batched - single) / scale) <= 100 * _eps(A.dtype)


@given(problem=problems(dtypes=(np.dtype(np.float64), np.dtype(np.complex128))), inverse=st.booleans())
def test_vjp_backwards_agree(xp, problem, inverse):
    """The converged Lyapunov backward and the exact Daleckii–Krein formula agree."""
    A, cond = problem
    assume(cond <= 1e4 and A.size > 0)
    A = A / np.max(_fro(A))  # a gradient scales like A^(-1/2) (A^(-3/2)): keep it O(1)
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    vjp = matsqrt.invsqrtm_vjp if inverse else matsqrt.sqrtm_vjp
    out = fn(to_xp(xp, A), method="eigh")
    rng = np.random.default_rng(0)
    G = rng.standard_normal(A.shape)
    if np.iscomplexobj(A):
        G = G + 1j * rng.standard_normal(A.shape)
    Gx = to_xp(xp, G.astype(A.dtype))
    exact = to_np(vjp(out, Gx, backward="eigh"))
    lyap = to_np(vjp(out, Gx, backward="lyapunov"))
    assert exact.dtype == A.dtype and lyap.dtype == A.dtype
    # the Sylvester operator Y X + X Y has condition number cond^(1/2) (cond^2 with the
    # inverse root's Z^2 factors); measured differences <= 1e-3 of this bound
    sens = cond ** (2.0 if inverse else 0.5)
    assert rel_error(lyap, exact) <= 100 * _eps(A.dtype) * sens


@given(
    n=st.integers(1, 8),
    m=st.integers(1, 8),
    batch=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    cond=st.floats(1, 1e3),
    skew=st.floats(0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_solve_sylvester_residual(xp, n, m, batch, cond, skew, seed):
    """A X + X B = C for positive definite A, B with a skew part (non-normal).

    The skew part is at most ``0.5 / cond``, so every eigenvalue has ``|Im| <= Re / 2``
    (field of values): the Newton–Schulz sign iteration needs the spectrum near the
    positive real axis (see ``test_core.test_solve_sylvester_spectrum_near_imaginary_axis``).
    """
    rng = np.random.default_rng(seed)
    skew = skew / cond
    A = random_spd((*batch, n), cond, seed=rng) + skew * _skew(rng, (*batch, n, n))
    B = random_spd((*batch, m), cond, seed=rng) + skew * _skew(rng, (*batch, m, m))
    C = rng.standard_normal((*batch, n, m))
    X = to_np(matsqrt.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C)))
    assert X.shape == C.shape
    res = _fro(A @ X + X @ B - C)
    scale = (_fro(A) + _fro(B)) * _fro(X) + _fro(C)
    # the sign iteration is backward stable up to the condition of the block matrix (~cond)
    assert np.all(res <= 100 * _eps(np.float64) * cond * scale)


def _skew(rng, shape) -> np.ndarray:
    """A skew-symmetric matrix of Frobenius norm 1 per matrix."""
    S = rng.standard_normal(shape)
    S = S - np.swapaxes(S, -1, -2)
    return S / np.maximum(_fro(S), 1e-300)[..., None, None]
