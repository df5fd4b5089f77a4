"""Outside the contract: a clear error, the same on every backend, never a silent wrong answer.

The table ``CASES`` holds one row per input that used to give a finite, wrong-looking
result (or a backend-specific error). Every row runs on every installed backend:
eager backends must raise the expected error (naming the batch index) or return the
right result; where values cannot be inspected (Dask, JAX ``jit``, ``torch.compile``,
``torch.func.vmap``) the offending matrices are NaN and their batch-mates exact.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp
from hypothesis import given
from hypothesis import strategies as st

import matsqrt
from matsqrt.testing import random_spd, rel_error

ROOTS = {"sqrtm": matsqrt.sqrtm, "invsqrtm": matsqrt.invsqrtm}


def _lazy(xp) -> bool:
    return "dask" in xp.__name__


def _exact(A: np.ndarray, inverse: bool) -> np.ndarray:
    w, V = np.linalg.eigh(A)
    w = np.clip(w, 0, None)
    f = 1 / np.sqrt(w) if inverse else np.sqrt(w)
    return (V * f[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


# (id, function, matrix, keywords, expected): expected is an error-message fragment, or
# "exact" (the eigh root of the input, to 1e-10 in float64)
CASES = [
    ("not-hermitian", "sqrtm", [[4.0, 1.0], [0.0, 9.0]], {}, "is not Hermitian"),
    ("not-hermitian-inv", "invsqrtm", [[4.0, 1.0], [0.0, 9.0]], {}, "hermitian=False"),
    ("minus-identity", "sqrtm", -np.eye(2), {}, "not positive semidefinite"),
    ("negative-definite", "sqrtm", -np.array([[4.0, 1.0], [1.0, 3.0]]), {}, "not positive semidefinite"),
    ("indefinite-eigh", "sqrtm", np.diag([1.0, -0.5, 2.0]), {"method": "eigh"}, "not positive semidefinite"),
    (
        "indefinite-taylor",
        "sqrtm",
        np.diag([1.0, -0.5, 2.0]),
        {"method": "taylor"},
        "not positive semidefinite",
    ),
    ("indefinite-inv", "invsqrtm", np.diag([1.0, -0.1, 2.0]), {}, "singular or not positive definite"),
    ("zero-inv", "invsqrtm", np.zeros((2, 2)), {}, "singular"),
    ("singular-inv", "invsqrtm", np.diag([1.0, 0.0]), {}, "singular"),
    ("singular-inv-ns", "invsqrtm", np.diag([1.0, 0.0]), {"method": "newton_schulz"}, "singular"),
    ("general-negative", "sqrtm", [[1.0, 2.0], [3.0, 4.0]], {"hermitian": False}, "negative real axis"),
    ("general-nilpotent", "sqrtm", [[0.0, 1.0], [0.0, 0.0]], {"hermitian": False}, "negative real axis"),
    (
        "general-negative-inv",
        "invsqrtm",
        [[1.0, 2.0], [3.0, 4.0]],
        {"hermitian": False},
        "negative real axis",
    ),
    # right answers where the old code raised or was off
    ("zero-sqrtm", "sqrtm", np.zeros((2, 2)), {}, "exact"),
    ("zero-taylor", "sqrtm", np.zeros((2, 2)), {"method": "taylor"}, "exact"),
    ("zero-newton-schulz", "sqrtm", np.zeros((2, 2)), {"method": "newton_schulz"}, "exact"),
    ("rank-one-tol", "sqrtm", np.ones((2, 2)), {"tol": 1e-7}, "exact"),
    ("rank-one-complex-tol", "sqrtm", np.array([[1, -1j], [1j, 1]]), {"tol": 1e-7}, "exact"),
    ("semidefinite-eigh", "sqrtm", np.diag([1.0, 0.0, 4.0]), {"method": "eigh"}, "exact"),
    ("rounding-asymmetry", "sqrtm", np.array([[4.0, 1.0 + 1e-15], [1.0, 3.0]]), {"method": "eigh"}, "exact"),
]


def _run(xp, case):
    _, fn, A, kw, _ = case
    return ROOTS[fn](to_xp(xp, np.asarray(A)), **kw)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case_table(xp, case):
    _, fn, A, kw, expected = case
    A = np.asarray(A)
    if _lazy(xp) and "tol" in kw:
        pytest.skip("tol= needs values (documented)")
    if expected == "exact":
        out = to_np(_run(xp, case))
        assert rel_error(out, _exact(A, fn == "invsqrtm")) <= 1e-7
        return
    if _lazy(xp):
        out = to_np(_run(xp, case))  # lazy: NaN (each chunk is checked as it is computed)
        assert np.all(np.isnan(out))
        return
    with pytest.raises(ValueError, match=expected):
        _run(xp, case)


def test_eager_backends_agree():
    """Every eager backend gives the same outcome (error text or values) for every row."""
    from conftest import Backend, _namespace, _selected

    spaces = []
    for b in _selected():
        if b in (Backend.DASK,):
            continue
        try:
            spaces.append((b.value, _namespace(b)))
        except pytest.skip.Exception:
            continue
    for case in CASES:
        outcomes = {}
        for name, xp in spaces:
            try:
                outcomes[name] = ("ok", to_np(_run(xp, case)))
            except ValueError as exc:
                outcomes[name] = ("error", str(exc))
        kinds = {k for k, _ in outcomes.values()}
        assert len(kinds) == 1, (case[0], outcomes)
        first = next(iter(outcomes.values()))
        for other in outcomes.values():
            if first[0] == "ok":
                assert rel_error(other[1], first[1]) <= 1e-10, case[0]
            else:
                assert other[1] == first[1], case[0]


@pytest.mark.parametrize("fn", list(ROOTS))
def test_error_names_the_batch_index(xp, fn):
    A = random_spd((2, 3, 4), 10.0, seed=1)
    A[1, 2] = -A[1, 2]
    Ax = to_xp(xp, A)
    if _lazy(xp):
        out = to_np(ROOTS[fn](Ax))
        assert np.all(np.isnan(out[1, 2]))
        bad = np.zeros((2, 3), bool)
        bad[1, 2] = True
        ref = _exact(A[~bad], fn == "invsqrtm")
        assert rel_error(out[~bad], ref) <= 1e-2
        return
    with pytest.raises(ValueError, match=r"at batch index \(1, 2\)"):
        ROOTS[fn](Ax)


def test_many_bad_matrices_are_listed_then_counted():
    A = np.broadcast_to(-np.eye(2), (9, 2, 2)).copy()
    with pytest.raises(ValueError, match=r"batch indices 0, 1, 2, 3, 4 and 4 more"):
        matsqrt.sqrtm(A)


def test_message_lists_every_reason():
    A = np.stack([np.eye(2), [[1.0, 5.0], [0.0, 1.0]], -np.eye(2), [[np.nan, 0], [0, 1]]])
    with pytest.raises(ValueError) as info:
        matsqrt.sqrtm(A)
    msg = str(info.value)
    for part in (
        "batch index 3 contains NaN",
        "batch index 1 is not Hermitian",
        "batch index 2 is not positive",
    ):
        assert part in msg
    assert "check_finite=False" in msg


# -- rounding is not an error ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_covariance_rounding_is_accepted(xp, dtype):
    """A rank-deficient covariance computed in the dtype: rounding-level asymmetry and negative
    eigenvalues pass, and the root is that of the matrix."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 12)).astype(dtype)  # 5 samples of 12 features: rank <= 5
    C = (X.T @ X) / 5
    C[0, 1] *= 1 + float(np.finfo(dtype).eps)  # one rounding-level asymmetry
    assert np.linalg.eigvalsh(C.astype(np.float64)).min() < 1e-6
    out = to_np(matsqrt.sqrtm(to_xp(xp, C), method="eigh"))
    assert rel_error(out, _exact(C.astype(np.float64), False)) <= 1e-3


def test_clear_asymmetry_at_the_threshold():
    from matsqrt._checks import asymmetry_tol

    tau = asymmetry_tol(np.float64, 2, np)
    for factor, fails in ((0.5, False), (2.0, True)):
        A = np.array([[1.0, 0.5], [0.5 + factor * tau, 1.0]])
        if fails:
            with pytest.raises(ValueError, match="not Hermitian"):
                matsqrt.sqrtm(A)
        else:
            matsqrt.sqrtm(A)


# -- check_finite=False: NaN stays in its matrix -------------------------------------------------


@pytest.mark.parametrize("method", ["pade", "eigh", "taylor", "newton_schulz"])
def test_nan_matrix_does_not_spoil_the_batch(xp, method):
    A = np.stack([4 * np.eye(3), np.diag([1.0, np.nan, 2.0]), random_spd(3, 10.0, seed=0)])
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), method=method, check_finite=False))
    assert not np.all(np.isfinite(out[1]))  # NaN in, never numbers out
    alone = to_np(matsqrt.sqrtm(to_xp(xp, A[[0, 2]]), method=method))
    assert rel_error(out[[0, 2]], alone) <= 1e-12


def test_eigh_keeps_nan():
    out = matsqrt.sqrtm(np.array([[np.nan]]), method="eigh", check_finite=False)
    assert np.isnan(out).all()


def test_unchecked_zero_inverse_is_not_finite(xp):
    out = to_np(matsqrt.invsqrtm(to_xp(xp, np.zeros((2, 2))), check_finite=False))
    assert not np.any(np.isfinite(out))


# -- values hidden: NaN in the offending matrices only --------------------------------------------

BAD = {
    "indefinite": np.diag([1.0, -0.5, 2.0]),
    "nan": np.diag([1.0, np.nan, 2.0]),
    "asymmetric": np.array([[4.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 1.0]]),
    "zero": np.zeros((3, 3)),
}


def _traced_callers(xp):
    name = xp.__name__
    if "jax" in name:
        import jax

        return {"jit": jax.jit, "vmap": jax.vmap}
    if "torch" in name:
        import torch

        return {"vmap": torch.func.vmap}
    if "dask" in name:
        return {"lazy": lambda f: f}
    return {}


@pytest.mark.parametrize("fn", list(ROOTS))
def test_traced_bad_matrices_become_nan(xp, fn):
    callers = _traced_callers(xp)
    if not callers:
        pytest.skip("eager-only backend")
    good = random_spd((2, 3), 10.0, seed=4)
    for label, bad in BAD.items():
        if label == "zero" and fn == "sqrtm":
            continue  # the zero matrix is semidefinite: its root is 0
        A = np.stack([good[0], bad, good[1]])
        for how, wrap in callers.items():
            out = to_np(wrap(ROOTS[fn])(to_xp(xp, A)))
            assert np.all(np.isnan(out[1])), (label, how)
            assert rel_error(out[[0, 2]], _exact(good, fn == "invsqrtm")) <= 1e-2, (label, how)


@given(
    batch=st.integers(2, 5),
    n=st.integers(2, 6),
    bad_index=st.integers(0, 4),
    kind=st.sampled_from(sorted(BAD)),
    fn=st.sampled_from(sorted(ROOTS)),
    seed=st.integers(0, 2**16),
)
def test_one_corrupted_matrix_is_named(xp, batch, n, bad_index, kind, fn, seed):
    """Random SPD batches with one corrupted matrix: eager errors name its index; where
    values are hidden, only it is NaN."""
    if kind == "zero" and fn == "sqrtm":
        kind = "indefinite"
    k = bad_index % batch
    A = random_spd((batch, n), 100.0, seed=seed)
    rng = np.random.default_rng(seed)
    if kind == "indefinite":
        v = rng.standard_normal(n)
        A[k] = A[k] - 2 * np.linalg.eigvalsh(A[k]).max() * np.outer(v, v) / (v @ v)
    elif kind == "nan":
        A[k, rng.integers(n), rng.integers(n)] = np.nan
    elif kind == "asymmetric":
        A[k, 0, n - 1] += 0.5 * np.abs(A[k]).max()
    else:
        A[k] = 0.0
    Ax = to_xp(xp, A)
    if _lazy(xp):
        out = to_np(ROOTS[fn](Ax))
        assert np.all(np.isnan(out[k]))
        others = np.delete(np.arange(batch), k)
        assert np.all(np.isfinite(out[others]))
        return
    with pytest.raises(ValueError, match=rf"at batch index {k} "):
        ROOTS[fn](Ax)


# -- scale: every method exact to its order at any representable scale ---------------------------


@pytest.mark.parametrize("method", ["pade", "taylor", "newton_schulz", "eigh"])
@pytest.mark.parametrize(
    ("scale", "dtype"), [(1e-300, np.float64), (1e200, np.float64), (1e-30, np.float32), (1e30, np.float32)]
)
@pytest.mark.parametrize("fn", list(ROOTS))
def test_any_scale(xp, method, scale, dtype, fn):
    A = random_spd((2, 6), 10.0, seed=2).astype(dtype)
    ref = to_np(ROOTS[fn](to_xp(xp, A), method=method)).astype(np.float64)
    p = -0.5 if fn == "invsqrtm" else 0.5
    out = to_np(ROOTS[fn](to_xp(xp, A * dtype(scale)), method=method)).astype(np.float64)
    assert np.all(np.isfinite(out))
    assert rel_error(out / scale**p, ref) <= 50 * float(np.finfo(dtype).eps) * 10


# -- options that are not what they seem ----------------------------------------------------------


@pytest.mark.parametrize("value", ["False", 0, 1, None, np.array(True)])
def test_hermitian_must_be_a_bool(xp, value):
    with pytest.raises(TypeError, match="hermitian must be True or False"):
        matsqrt.sqrtm(to_xp(xp, np.eye(2)), hermitian=value)


def test_check_finite_must_be_a_bool():
    with pytest.raises(TypeError, match="check_finite must be True or False"):
        matsqrt.sqrtm(np.eye(2), check_finite="no")


def test_numpy_bool_is_a_bool():
    np.testing.assert_allclose(matsqrt.sqrtm(4 * np.eye(2), hermitian=np.bool_(True)), 2 * np.eye(2))


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda: np.matrix(np.eye(2)), "np.matrix"),
        (lambda: np.ma.masked_array(np.eye(2), mask=[[0, 1], [0, 0]]), "masked array"),
    ],
    ids=["matrix", "masked"],
)
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_unsupported_numpy_types(make, what):
    for fn in ROOTS.values():
        with pytest.raises(TypeError, match=what):
            fn(make())


def test_scipy_sparse_is_refused():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        matsqrt.sqrtm(sparse.csr_matrix(np.eye(2)))


# -- tol and auto ----------------------------------------------------------------------------------


def test_tol_never_worse_than_the_default():
    A = random_spd((2, 16), 1e12, seed=0)
    ref = _exact(A, False)
    with pytest.warns(matsqrt.AccuracyWarning, match="predicted to be off"):
        e_default = rel_error(matsqrt.sqrtm(A), ref)
    for tol in (1e-3, 1e-6):
        assert rel_error(matsqrt.sqrtm(A, tol=tol), ref) <= max(e_default, tol)


def test_tol_rank_deficient_psd():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3))
    P = X @ X.T  # rank 3
    assert float(matsqrt.residual(P, matsqrt.sqrtm(P, tol=1e-3))) <= 1e-3


def test_tol_on_singular_input_warns_with_the_exact_root():
    with pytest.warns(matsqrt.AccuracyWarning, match="out of reach"):
        Y = matsqrt.sqrtm(np.ones((2, 2)), tol=1e-12)
    np.testing.assert_allclose(Y, np.ones((2, 2)) / np.sqrt(2), atol=1e-8)


def test_auto_reaches_tol_or_warns():
    A = random_spd((4, 32), 1e4, seed=1).astype(np.float32)
    ref = _exact(A.astype(np.float64), True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Z = matsqrt.invsqrtm(A, method="auto", tol=1e-6)
    err = rel_error(Z, ref)
    warned = any(issubclass(w.category, matsqrt.AccuracyWarning) for w in caught)
    assert err <= 1e-6 or warned
    assert err <= 1e-4  # and the more accurate of the two methods was used (eigh: ~5e-4)
    # reachable: no warning, and reached
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = matsqrt.invsqrtm(A, method="auto", tol=1e-2)
    assert rel_error(Z, ref) <= 1e-2


# -- backward="lyapunov" solves its equation on eager calls ----------------------------------------


def test_lyapunov_backward_converges_eagerly():
    torch = pytest.importorskip("torch")
    A = torch.tensor(random_spd((2, 8), 1e3, seed=5), requires_grad=True)
    G = torch.tensor(random_spd((2, 8), 10.0, seed=6))
    for fn in ROOTS.values():
        (g_lya,) = torch.autograd.grad(fn(A, method="eigh", backward="lyapunov"), A, G)
        (g_ex,) = torch.autograd.grad(fn(A, method="eigh", backward="eigh"), A, G)
        assert rel_error(g_lya.numpy(), g_ex.numpy()) <= 1e-9


def test_lyapunov_backward_converges_eagerly_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    A = jnp.asarray(random_spd(8, 1e3, seed=5))
    G = jnp.asarray(random_spd(8, 10.0, seed=6))
    for fn in ROOTS.values():

        def loss(a, backward, fn=fn):
            return jnp.sum(fn(a, method="eigh", backward=backward) * G)

        g_lya = jax.grad(loss)(A, "lyapunov")
        g_ex = jax.grad(loss)(A, "eigh")
        assert rel_error(np.asarray(g_lya), np.asarray(g_ex)) <= 1e-9


# -- torch: meta tensors ---------------------------------------------------------------------------


def test_torch_meta_tensors_propagate_shapes():
    torch = pytest.importorskip("torch")
    for fn in ROOTS.values():
        for kw in ({}, {"method": "eigh"}, {"hermitian": False}, {"method": "taylor"}):
            out = fn(torch.empty(3, 5, 5, device="meta"), **kw)
            assert out.device.type == "meta"
            assert tuple(out.shape) == (3, 5, 5)


# -- torch: the batched-LU guard (pytorch#181570) holds under torch.func and torch.compile ----------


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch-internal (dynamo, inductor)
@pytest.mark.parametrize("how", ["vmap", "compile"])
def test_lu_guard_under_transforms(how):
    """General matrices, n = 256, 2 threads: batched CPU LU returns bad pivots (or raises);
    under vmap/compile the guard inverts by QR. Fails on the code that guarded eager calls only."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        g = torch.Generator().manual_seed(0)
        A = torch.tensor(random_spd((4, 256), 2.0, seed=0))
        A = A + 0.01 * torch.randn(4, 256, 256, dtype=torch.float64, generator=g)

        def f(a):
            return matsqrt.sqrtm(a, hermitian=False)

        ref = np.stack([f(a).numpy() for a in A])  # one matrix at a time: no batched LU
        if how == "vmap":
            out = torch.func.vmap(f)(A.reshape(2, 2, 256, 256)).reshape(4, 256, 256)
        else:
            out = torch.compile(f, fullgraph=True)(A)
        assert rel_error(out.numpy(), ref) <= 1e-12
    finally:
        torch.set_num_threads(threads)


# -- issue 25: precision, eigh on singular and NaN input, gradients at singular input --------


def test_byte_order_and_unsupported_dtypes():
    """Big-endian float64 is float64 (it was computed in float32); long doubles and torch's
    complex32 are refused with what to pass instead."""
    A = random_spd(5, 10.0, seed=0)
    for dt in (">f8", ">c16"):
        Y = matsqrt.sqrtm(A.astype(dt), method="eigh")
        assert Y.dtype == np.dtype(dt)
        assert rel_error(Y @ Y, A) <= 1e-13
    for dt, fix in ((np.longdouble, "float64"), (np.clongdouble, "complex128")):
        if np.dtype(dt).itemsize <= np.dtype(fix).itemsize:
            continue  # long double is double on this platform
        with pytest.raises(TypeError, match=fix):
            matsqrt.sqrtm(A.astype(dt))
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # complex32 is experimental in torch
        C = torch.eye(2).to(torch.complex32)
    with pytest.raises(TypeError, match="complex64"):
        matsqrt.sqrtm(C)


def test_extreme_scales(xp):
    """1e308 I: root 1e154 and inverse root 1e-154, no overflow warning (NumPy: in the trace)."""
    A = 1e308 * np.eye(2)
    if "jax" in xp.__name__:  # JAX on CPU flushes subnormals: 1 / 1e308 would be 0
        with pytest.raises(ValueError, match="flushes to zero"):
            matsqrt.sqrtm(to_xp(xp, A))
        np.testing.assert_allclose(to_np(matsqrt.sqrtm(to_xp(xp, 1e300 * np.eye(2)))), 1e150 * np.eye(2))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kw in ({}, {"method": "eigh"}, {"tol": 1e-8}, {"hermitian": False}):
            np.testing.assert_allclose(to_np(matsqrt.sqrtm(to_xp(xp, A), **kw)), 1e154 * np.eye(2), rtol=1e-9)
            np.testing.assert_allclose(
                to_np(matsqrt.invsqrtm(to_xp(xp, A), **kw)), 1e-154 * np.eye(2), rtol=1e-9, atol=0
            )


def test_numerically_singular_inverse_is_refused(xp):
    """A rank-19 20x20 covariance passes the Cholesky test (rounding), but eigh finds an eigenvalue
    within rounding of 0: the inverse root is refused (eager) or NaN, never noise of size 1e7."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        X = rng.standard_normal((20, 19))
        A = X @ X.T
        try:
            np.linalg.cholesky(A)
            break
        except np.linalg.LinAlgError:
            continue
    for kw in ({"method": "eigh"}, {"method": "auto"}, {"tol": 1e-8}):
        if _lazy(xp):
            assert np.all(np.isnan(to_np(matsqrt.invsqrtm(to_xp(xp, A), **kw))))
            continue
        with pytest.raises(ValueError, match="singular to rounding"), warnings.catch_warnings():
            warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
            matsqrt.invsqrtm(to_xp(xp, A), **kw)


@pytest.mark.parametrize("method", ["eigh", "auto"])
def test_nan_matrix_with_eigh_keeps_its_batch(xp, method):
    """check_finite=False: NumPy and torch's eigensolvers raise for a batch with a NaN matrix."""
    A = np.stack([np.eye(3), np.full((3, 3), np.nan), 4 * np.eye(3)])
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), method=method, check_finite=False))
    assert np.all(np.isnan(out[1]))
    np.testing.assert_allclose(out[[0, 2]], np.stack([np.eye(3), 2 * np.eye(3)]), atol=1e-12)


def test_gradient_at_singular_covariance_is_finite():
    """A batch of rank-10 32x32 covariances: the exact derivative is infinite on the null space;
    every method gives a finite gradient (eigh: eigenvalues floored at n eps max(w))."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 32, 10))
    C = X @ X.transpose(0, 2, 1)
    for kw in ({"method": "eigh"}, {"method": "auto"}, {"tol": 1e-8}, {"order": 5}):
        A = torch.tensor(C, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
            matsqrt.sqrtm(A, **kw).sum().backward()
        assert torch.isfinite(A.grad).all(), kw
    # on the range of A the gradient is the exact one: a full-rank matrix is unaffected
    A = torch.tensor(random_spd(6, 10.0, seed=1), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: matsqrt.sqrtm((a + a.mT) / 2, method="eigh"), (A,))


def test_messages_give_the_remedies_that_work():
    """check_finite=False was the only remedy offered, and it turns refused input into finite garbage."""
    cases = [
        (matsqrt.sqrtm, np.diag([1.0, -0.5, 2.0]), "clip its negative eigenvalues"),
        (matsqrt.invsqrtm, np.diag([1.0, 0.0]), "add a ridge"),
        (matsqrt.sqrtm, np.array([[4.0, 1.0], [0.0, 9.0]]), "symmetrise it"),
    ]
    for fn, A, remedy in cases:
        with pytest.raises(ValueError, match="What usually helps") as info:
            fn(A)
        msg = str(info.value)
        assert remedy in msg
        assert "check_finite=False skips these checks, but such input then gives an undefined result" in msg


def test_product_chain_asymmetry_is_rounding(xp):
    """pyRiemann's recentred covariances (M^-1/2 X M^-1/2, cond ~1e3) at n = 2 carry 220 eps of
    asymmetry, beyond 100 n eps: accepted, as pyRiemann accepts them."""
    A = np.array([[10.049268539529132, -6.985802674934292], [-6.9858026749338, 4.879698201514931]])
    assert np.abs(A - A.T).max() / np.abs(A).max() > 100 * 2 * np.finfo(float).eps
    for fn in (matsqrt.sqrtm, matsqrt.invsqrtm):
        out = to_np(fn(to_xp(xp, A), method="eigh"))
        ref = _exact((A + A.T) / 2, fn is matsqrt.invsqrtm)
        assert rel_error(out, ref) <= 1e-10


def test_traced_general_tol_outside_the_domain_is_nan(xp):
    """hermitian=False with tol= where values cannot be inspected: a matrix with a negative real
    eigenvalue (-0.68) came back finite and 7.5% off under jax.jit (the NaN limit was 1e-1 without
    regard to tol), and torch.compile / torch.func raised for the whole batch (a singular inverse
    inside the iteration). Now: NaN for that matrix, its batch-mates exact."""
    callers = _traced_callers(xp)
    if not callers:
        pytest.skip("eager-only backend")
    rng = np.random.default_rng(0)
    outside = 3 * np.eye(16) + rng.standard_normal((16, 16))
    assert np.min(np.abs(np.linalg.eigvals(outside) + 0.677)) < 1e-2  # a negative real eigenvalue
    good = 3 * np.eye(16) + 0.5 * np.random.default_rng(1).standard_normal((16, 16))
    A = np.stack([good, outside, -np.eye(16)])
    ref = matsqrt.sqrtm(good, hermitian=False, tol=1e-12)
    for how, wrap in callers.items():
        out = to_np(wrap(lambda M: matsqrt.sqrtm(M, hermitian=False, tol=1e-10))(to_xp(xp, A)))
        assert np.all(np.isnan(out[1:])), how
        assert rel_error(out[0], ref) <= 1e-8, how


def test_nan_matrix_does_not_steer_the_certified_iteration(xp):
    """check_finite=False with tol=: one NaN matrix made torch raise ("cannot convert NaN to
    integer ratio"), JAX return NaN for the whole batch and NumPy fall back to eigh with a warning:
    its NaN certificate steered its batch-mates' steps. Now: NaN in it only, no warning."""
    if _lazy(xp):
        pytest.skip("lazy arrays: chunk by chunk (test_dask)")
    B = random_spd((3, 5), 10.0, seed=1)
    B[1, 0, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", matsqrt.AccuracyWarning)
        out = to_np(matsqrt.sqrtm(to_xp(xp, B), check_finite=False, tol=1e-10))
    assert np.all(np.isnan(out[1]))
    assert rel_error(out[[0, 2]], _exact(B[[0, 2]], False)) <= 2e-10


def test_traced_solver_with_left_half_plane_coefficient_is_nan(xp):
    """A = [[-0.1, -3], [3, -0.1]] (eigenvalues -0.1 +- 3i): the sign iteration gives -X, whose
    backward error is only 4.6%; the NaN limit was 1e-1. Now 1e-6 (float64): NaN."""
    callers = _traced_callers(xp)
    if not callers:
        pytest.skip("eager-only backend")
    A = np.array([[-0.1, -3.0], [3.0, -0.1]])
    for how, wrap in callers.items():
        if how == "vmap":
            continue
        X = to_np(wrap(matsqrt.solve_lyapunov)(to_xp(xp, A), to_xp(xp, np.eye(2))))
        assert np.all(np.isnan(X)), how
    # a solvable equation keeps its solution
    X = to_np(matsqrt.solve_lyapunov(to_xp(xp, -A), to_xp(xp, np.eye(2))))
    np.testing.assert_allclose(-A @ X + X @ -A.T, np.eye(2), atol=1e-12)


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_general_check_at_large_scales(xp, scale):
    """JAX's CPU eigvals loses the eigenvalues of s I for s beyond ~1e154 (1e300 I: 1.5e138): its
    spectrum check refused these as "on the negative axis". The check now runs on A / max|A|."""
    A = np.stack([scale * np.eye(3), np.diag([1.0, 2.0, 3.0]) * scale])
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), hermitian=False))
    np.testing.assert_allclose(out[0], np.sqrt(scale) * np.eye(3), rtol=1e-12)
    if _lazy(xp):  # (a chunk cannot raise: NaN)
        assert np.all(np.isnan(to_np(matsqrt.sqrtm(to_xp(xp, -A), hermitian=False))))
    else:
        with pytest.raises(ValueError, match="negative real axis"):
            matsqrt.sqrtm(to_xp(xp, -A), hermitian=False)


def test_residual_follows_the_dtype_rules():
    """residual on torch complex32 raised NotImplementedError from inside a product; it now gives the
    roots' TypeError, and computes half precision in float32."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "ComplexHalf support is experimental"
        A = torch.eye(3).to(torch.complex32)
    with pytest.raises(TypeError, match="complex64"):
        matsqrt.residual(A, A)
    H = torch.diag(torch.tensor([4.0, 9.0])).half()
    assert float(matsqrt.residual(H, torch.diag(torch.tensor([2.0, 3.0])).half())) == 0.0
