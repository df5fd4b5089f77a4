"""Core correctness on every backend: roots, inverses, gradients, Sylvester, errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp

import matsqrt
from matsqrt.testing import random_spd, rel_error, root_tolerance

METHODS = ["pade", "taylor", "newton_schulz", "eigh"]


def _ref(A: np.ndarray, inverse: bool) -> np.ndarray:
    w, V = np.linalg.eigh(A.astype(np.complex128 if np.iscomplexobj(A) else np.float64))
    f = w**-0.5 if inverse else np.sqrt(w)
    return (V * f[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tol_reaches_dtype_accuracy(xp, inverse, dtype):
    cond = 1e2
    A = random_spd((2, 3, 12), cond, dtype=dtype, seed=3)
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    Y = (
        fn(to_xp(xp, A), tol=float(np.finfo(dtype).eps) * 10)
        if "dask" not in xp.__name__
        else fn(to_xp(xp, A), order=40)
    )
    assert tuple(Y.shape) == A.shape
    assert to_np(Y).dtype == np.dtype(dtype)
    assert rel_error(to_np(Y), _ref(A, inverse)) <= root_tolerance(dtype, cond, inverse=inverse)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("inverse", [False, True])
def test_methods_converge_with_order(xp, method, inverse):
    cond = 10.0
    A = random_spd((3, 8), cond, seed=5)
    order = {"pade": 20, "taylor": 400, "newton_schulz": 20, "eigh": None}[method]
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    Y = to_np(fn(to_xp(xp, A), method=method, order=order))
    tol = root_tolerance(np.float64, cond, inverse=inverse, factor=1e3 if method == "taylor" else 50)
    assert rel_error(Y, _ref(A, inverse)) <= tol
    np.testing.assert_allclose(Y, np.swapaxes(Y, -1, -2), atol=1e-14)


def test_default_beats_paper_configuration():
    """order=None (Padé [5/5], mean normalisation) vs the paper's Frobenius normalisation."""
    import array_api_compat.numpy as xnp

    from matsqrt._core import Ops, Options, forward

    A = random_spd((4, 64), 1e2, seed=1)
    for inverse in (False, True):
        paper = Options(inverse, "pade", 5, "rational", 8, True, "frobenius")
        ours = matsqrt.invsqrtm(A) if inverse else matsqrt.sqrtm(A)
        e_paper = rel_error(forward(A, paper, Ops(xnp))[0], _ref(A, inverse))
        e_ours = rel_error(ours, _ref(A, inverse))
        # measured: 8.5e-4 vs 4.6e-2 (root), 7.4e-3 vs 0.28 (inverse)
        assert e_ours < e_paper / 10
        assert e_ours < (3e-3 if not inverse else 2.5e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_more_pade_order_never_less_accurate(dtype):
    A = random_spd((2, 16), 1e2, dtype=dtype, seed=2)
    R = _ref(A, False)
    floor = root_tolerance(dtype, 1e2)
    errs = [rel_error(matsqrt.sqrtm(A, order=m), R) for m in range(1, 41)]
    for a, b in itertools.pairwise(errs):
        assert b <= max(a * 1.01, floor)
    assert errs[-1] <= floor


def test_complex_hermitian():
    A = random_spd((2, 6), 50, dtype=np.complex128, seed=4)
    Y = matsqrt.sqrtm(A, tol=1e-13)
    assert Y.dtype == np.complex128
    assert rel_error(Y, _ref(A, False)) <= root_tolerance(np.complex128, 50)
    np.testing.assert_allclose(Y @ Y, A, atol=1e-12)


def test_half_and_integer_dtypes():
    A = random_spd(4, 5, seed=0)
    Y16 = matsqrt.sqrtm(A.astype(np.float16))
    assert Y16.dtype == np.float16
    Yi = matsqrt.sqrtm(np.eye(3, dtype=np.int64) * 4)
    assert Yi.dtype == np.float64
    np.testing.assert_allclose(Yi, 2 * np.eye(3), atol=1e-12)


def test_general_matrix_product_of_spd():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    S1, S2 = random_spd(6, 20, seed=1), random_spd(6, 20, seed=2)
    M = S1 @ S2
    Y = matsqrt.sqrtm(M, hermitian=False, tol=1e-12)
    np.testing.assert_allclose(Y, scipy_linalg.sqrtm(M).real, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("backward", ["lyapunov", "eigh"])
@pytest.mark.parametrize("inverse", [False, True])
def test_vjp_matches_finite_differences(inverse, backward):
    A = random_spd(5, 10, seed=7)
    G = np.random.default_rng(0).standard_normal((5, 5))
    fn = matsqrt.invsqrtm if inverse else matsqrt.sqrtm
    out = fn(A, method="eigh")
    vjp = matsqrt.invsqrtm_vjp if inverse else matsqrt.sqrtm_vjp
    gA = vjp(out, G, backward=backward)
    h = 1e-6
    E = np.random.default_rng(1).standard_normal((5, 5))
    E = E + E.T
    fd = (np.sum(G * fn(A + h * E, method="eigh")) - np.sum(G * fn(A - h * E, method="eigh"))) / (2 * h)
    assert abs(np.sum(gA * E) - fd) <= 1e-6 * max(1.0, abs(fd))


def test_rational_backward_matches_exact():
    import array_api_compat.numpy as xnp

    from matsqrt._core import Ops, Options, forward, vjp

    A = random_spd((2, 8), 1e2, seed=8)
    G = np.random.default_rng(2).standard_normal((2, 8, 8))
    for inverse in (False, True):
        opt = Options(inverse, "pade", 30, "rational", 8, True, "mean")
        out, res = forward(A, opt, Ops(xnp))
        g = vjp(G, A, out, res, opt, Ops(xnp))
        exact = (matsqrt.invsqrtm_vjp if inverse else matsqrt.sqrtm_vjp)(out, G, backward="eigh")
        assert rel_error(g, exact) <= 1e-9


def test_gradient_at_identity_is_finite():
    G = np.arange(9.0).reshape(3, 3)
    Gs = (G + G.T) / 2  # the gradient of a function of Hermitian matrices is Hermitian
    for backward in ("lyapunov", "eigh"):
        np.testing.assert_allclose(matsqrt.sqrtm_vjp(np.eye(3), G, backward=backward), Gs / 2, atol=1e-12)
        np.testing.assert_allclose(matsqrt.invsqrtm_vjp(np.eye(3), G, backward=backward), -Gs / 2, atol=1e-12)


def test_solve_sylvester_and_lyapunov_match_scipy(xp):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    A = random_spd((2, 5), 10, seed=1) + 0.05 * rng.standard_normal((2, 5, 5)) + 0.2 * np.eye(5)
    assert np.all(np.linalg.eigvals(A).real > 0)
    B = random_spd((2, 4), 10, seed=2)
    C = rng.standard_normal((2, 5, 4))
    X = to_np(matsqrt.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C), iters=60))
    for k in range(2):
        np.testing.assert_allclose(
            X[k], scipy_linalg.solve_sylvester(A[k], B[k], C[k]), rtol=1e-9, atol=1e-10
        )
    Q = rng.standard_normal((5, 5))
    Xl = matsqrt.solve_lyapunov(A[0], Q)
    np.testing.assert_allclose(Xl, scipy_linalg.solve_continuous_lyapunov(A[0], Q), rtol=1e-9, atol=1e-10)


def test_singular_psd_gives_finite_root():
    v = np.array([[1.0], [2.0], [2.0]])
    A = v @ v.T  # rank one
    Y = matsqrt.sqrtm(A, order=30)
    assert np.all(np.isfinite(Y))
    assert float(matsqrt.residual(A, Y)) < 1e-3


def test_residual_estimates_error():
    A = random_spd((3, 16), 1e2, seed=9)
    Y = matsqrt.sqrtm(A, order=2)
    r = matsqrt.residual(A, Y)
    assert r.shape == (3,)
    err = np.linalg.norm(Y - _ref(A, False), axis=(-2, -1)) / np.linalg.norm(_ref(A, False), axis=(-2, -1))
    assert np.all(r > 0.1 * err) and np.all(r < 20 * err)


@pytest.mark.parametrize(
    ("arg", "kwargs", "exc", "match"),
    [
        (np.ones(3), {}, ValueError, r"shape \(3,\)"),
        (np.ones((2, 3)), {}, ValueError, r"shape \(2, 3\)"),
        (np.eye(2, dtype=bool), {}, TypeError, "bool"),
        (np.array([[1.0, np.nan], [0, 1]]), {}, ValueError, "NaN"),
        (np.eye(2), {"method": "magic"}, ValueError, "'pade'"),
        (np.eye(2), {"backward": "magic"}, ValueError, "'lyapunov'"),
        (np.eye(2), {"order": 0}, ValueError, "order"),
        (np.eye(2), {"tol": 2.0}, ValueError, "tol"),
        (np.eye(2), {"method": "eigh", "hermitian": False}, ValueError, "Hermitian"),
        (np.eye(2), {"method": "taylor", "backward": "rational"}, ValueError, "pade"),
    ],
)
def test_bad_input(arg, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        matsqrt.sqrtm(arg, **kwargs)


def test_check_finite_can_be_skipped():
    A = np.array([[1.0, np.inf], [0.0, 1.0]])
    with warnings.catch_warnings():
        # NumPy's own "invalid value encountered in matmul" may show; no error is raised
        warnings.simplefilter("ignore", RuntimeWarning)
        matsqrt.sqrtm(A, check_finite=False)  # the result is not checked


def test_empty_input():
    assert matsqrt.sqrtm(np.zeros((0, 3, 3))).shape == (0, 3, 3)
    assert matsqrt.invsqrtm(np.zeros((2, 0, 0))).shape == (2, 0, 0)


def test_accuracy_warning_for_unreachable_tol():
    A = random_spd(4, 2, seed=0).astype(np.float32)
    with pytest.warns(matsqrt.AccuracyWarning):
        matsqrt.sqrtm(A, tol=1e-12)


def test_import_loads_no_heavy_backend():
    import subprocess
    import sys

    code = "import sys, matsqrt; print([m for m in ('torch', 'jax', 'dask', 'cupy') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize(
    "kw", [{}, {"tol": 1e-10}, {"method": "eigh"}, {"backward": "lyapunov"}, {"hermitian": False}]
)
def test_root_and_vjp_match_autodiff(inverse, kw):
    """sqrtm_and_vjp / invsqrtm_and_vjp: the root sqrtm gives and the gradient torch autograd
    gives with the same options; the vjp can be called again with the same result."""
    torch = pytest.importorskip("torch")
    A = random_spd((3, 6), cond=50.0, seed=2)
    G = np.random.default_rng(3).standard_normal(A.shape)
    fn, both = (
        (matsqrt.invsqrtm, matsqrt.invsqrtm_and_vjp) if inverse else (matsqrt.sqrtm, matsqrt.sqrtm_and_vjp)
    )
    Y, vjp = both(A, **kw)
    # the same root to rounding: the default's sqrtm solves with Q(X), sqrtm_and_vjp multiplies
    # by the inverse its backward reuses (a difference of order cond(Q(X)) eps, cond(A) = 50)
    assert rel_error(Y, fn(A, **kw)) <= 1e3 * np.finfo(A.dtype).eps * 50**0.5
    At = torch.tensor(A, requires_grad=True)
    (fn(At, **kw) * torch.tensor(G)).sum().backward()
    g = vjp(G)
    assert type(g) is np.ndarray and g.shape == A.shape
    np.testing.assert_allclose(g, At.grad.numpy(), rtol=1e-9, atol=1e-11)
    kept = g.copy()
    g2 = vjp(G)
    np.testing.assert_array_equal(g2, kept)
    # a second call reuses no memory of the first's result (nor of the root)
    np.testing.assert_array_equal(g, kept)
    assert not np.shares_memory(g, g2) and not np.shares_memory(g2, Y)


def test_root_and_vjp_errors_and_empty():
    with pytest.raises(ValueError, match="not positive semidefinite"):
        matsqrt.sqrtm_and_vjp(-np.eye(2))
    Y, vjp = matsqrt.sqrtm_and_vjp(np.eye(2))
    with pytest.raises(ValueError, match="shape of the root"):
        vjp(np.eye(3))
    Y, vjp = matsqrt.invsqrtm_and_vjp(np.zeros((0, 3, 3)))
    assert Y.shape == (0, 3, 3) and vjp(np.zeros((0, 3, 3))).shape == (0, 3, 3)
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="values can be read"):
        matsqrt.sqrtm_and_vjp(da.from_array(np.eye(2)[None], chunks=1))
