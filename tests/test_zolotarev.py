"""method="zolotarev": coefficients against mpmath, certified accuracy on every backend, no
eigendecomposition, gradients against Daleckii–Krein, traced plans, the default's warning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import to_np, to_xp

import matsqrt
from matsqrt import _validation
from matsqrt._core import _zolotarev
from matsqrt._core._zolotarev import error, plan, zolotarev


def known_spd(batch: int, n: int, cond: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, Q, w)``: ``A = Q diag(w) Q^T`` with ``w`` geometric in ``[1/cond, 1]``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((batch, n, n)))
    w = np.geomspace(1 / cond, 1.0, n)
    A = (Q * w[..., None, :]) @ np.swapaxes(Q, -1, -2)
    return (A + np.swapaxes(A, -1, -2)) / 2, Q, w


def exact_power(A: np.ndarray, p: float) -> np.ndarray:
    """``A^p`` of the matrix as given (float32 input rounded already), in float64."""
    w, V = np.linalg.eigh(A.astype(np.float64))
    return (V * np.clip(w, 0, None)[..., None, :] ** p) @ np.swapaxes(V, -1, -2)


def rel_err(X, R) -> float:
    X = to_np(X).astype(np.float64)
    return float(np.max(np.linalg.norm(X - R, axis=(-2, -1)) / np.linalg.norm(R, axis=(-2, -1))))


# -- the scalar approximant --------------------------------------------------------------


@pytest.fixture(scope="module")
def mp():
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(40):
        yield mpmath


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("cond", [1.5, 1e2, 1e4, 1e8, 1e16])
def test_coefficients_are_zolotarevs(mp, m, cond):
    """Poles and zeros from mpmath's elliptic functions; positive weights; delta is the error on a grid."""
    k2 = 1 / cond
    M, poles, weights, delta = zolotarev(m, k2)
    kp2 = 1 - mp.mpf(k2)
    Kp = mp.ellipk(kp2)
    c = [mp.mpf(k2) * mp.ellipfun("sc", j * Kp / (2 * m + 1), m=kp2) ** 2 for j in range(1, 2 * m + 1)]
    assert np.allclose(poles, [float(x) for x in c[0::2]], rtol=1e-12, atol=0)
    assert all(w > 0 for w in weights) and all(p > 0 for p in poles)
    xs = np.geomspace(k2, 1.0, 4001)
    r = M * (1 + sum(w / (xs + p) for w, p in zip(weights, poles, strict=True)))
    errs = np.sqrt(xs) * r - 1
    assert abs(np.max(np.abs(errs)) - delta) <= 1e-9 * delta + 1e-15
    # equioscillation: both signs reach delta
    assert np.max(errs) > 0.999 * delta and np.min(errs) < -0.999 * delta


def test_known_values():
    """The errors the method's design rests on (relative, uniform on [1/cond, 1])."""
    assert error(5, 1e-4) == pytest.approx(4.6e-4, rel=0.02)
    assert error(8, 1e-4) == pytest.approx(3.3e-6, rel=0.02)
    assert error(5, 1e-8) == pytest.approx(2.4e-2, rel=0.02)


@pytest.mark.parametrize("cond", [2.0, 1e2, 1e4, 1e8, 1e16])
@pytest.mark.parametrize("tol", [1e-4, 1e-8, 1e-14])
def test_plan_reaches_tol(cond, tol):
    steps = plan(1 / cond, tol)
    assert 1 <= len(steps) <= _zolotarev.MAX_STEPS
    assert error(*steps[-1]) <= tol
    assert all(1 <= m <= _zolotarev.MAX_POLES for m, _ in steps)


# -- accuracy on every backend -----------------------------------------------------------

CASES = [
    # (p, tol, cond)
    (0.5, 1e-10, 1e4),
    (0.5, 1e-10, 1e8),
    (-0.5, 1e-8, 1e4),
    (-0.5, 1e-8, 1e6),
    (0.25, 1e-8, 1e4),
    (-0.25, 1e-8, 1e6),
    # other powers: square-root stages, then Padé on a root of condition number <= 4
    (0.3, 1e-8, 1e4),
    (-0.7, 1e-8, 1e6),
    (0.75, 1e-10, 1e8),
    (-0.1, 1e-8, 1e2),
]


def _call(A, p, **kw):
    if p == 0.5:
        return matsqrt.sqrtm(A, **kw)
    if p == -0.5:
        return matsqrt.invsqrtm(A, **kw)
    return matsqrt.powm(A, p, **kw)


@pytest.mark.parametrize(("p", "tol", "cond"), CASES)
def test_tol_is_reached_on_every_backend(xp, p, tol, cond):
    """``tol=`` on Hermitian input: error <= 2 tol against the exact root, no warning."""
    A, _, _ = known_spd(3, 40, cond)
    X = _call(to_xp(xp, A), p, tol=tol)
    assert rel_err(X, exact_power(A, p)) <= 2 * tol


@pytest.fixture
def no_eigensolver(monkeypatch):
    """Every eigendecomposition and SVD of NumPy and torch raises."""

    def refuse(*args, **kwargs):
        raise AssertionError("an eigendecomposition or SVD was called")

    for name in ("eigh", "eigvalsh", "eig", "eigvals", "svd"):
        monkeypatch.setattr(np.linalg, name, refuse)
    torch = pytest.importorskip("torch")
    for name in ("eigh", "eigvalsh", "eig", "eigvals", "svd"):
        monkeypatch.setattr(torch.linalg, name, refuse)
    return refuse


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize(("p", "tol", "cond"), CASES)
def test_no_eigendecomposition(no_eigensolver, lib, p, tol, cond):
    A, Q, w = known_spd(2, 32, cond, seed=1)
    ref = (Q * w[..., None, :] ** p) @ np.swapaxes(Q, -1, -2)
    if lib == "torch":
        import torch

        A = torch.tensor(A)
    assert rel_err(_call(A, p, tol=tol), ref) <= 2 * tol


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize(("p", "tol"), [(0.5, 1e-5), (-0.5, 1e-4)])
def test_float32(lib, p, tol):
    """float32 at condition number 1e4, computed in float32, against the float32 matrix's exact root."""
    A, _, _ = known_spd(4, 48, 1e4, seed=2)
    A = A.astype(np.float32)
    X = A
    if lib == "torch":
        torch = pytest.importorskip("torch")
        X = torch.tensor(A)
    with warnings.catch_warnings():
        # the root's worst-case rounding floor here, eps cond^(1/2) = 1.2e-5, is just above tol:
        # the certificate cannot show tol, and says so; the error is far below it
        warnings.simplefilter("ignore", matsqrt.AccuracyWarning)
        Y = _call(X, p, tol=tol)
    assert to_np(Y).dtype == np.float32
    assert rel_err(Y, exact_power(A, p)) <= 2 * tol


def test_optimistic_spectrum_bound_costs_a_step(monkeypatch):
    """A lower bound of the spectrum 100x too high: the certificate takes more steps, tol holds."""
    from matsqrt._core._ops import Ops

    A, _, _ = known_spd(2, 32, 1e6, seed=3)
    inverses = []
    real_inv = Ops.hpd_inv
    monkeypatch.setattr(Ops, "hpd_inv", lambda self, a: inverses.append(a.shape) or real_inv(self, a))
    matsqrt.invsqrtm(A, tol=1e-8)
    honest = len(inverses)
    real = _validation.estimate_spectrum

    def optimistic(A, ops, hermitian=True, factor=None):  # the inspection's look (NumPy: one inverse)
        lo, hi = real(A, ops, hermitian, factor)
        return lo * 100, hi

    monkeypatch.setattr(_validation, "estimate_spectrum", optimistic)
    Z = matsqrt.invsqrtm(A, tol=1e-8)
    assert len(inverses) - honest > honest  # more inverses than with the honest bound
    assert rel_err(Z, exact_power(A, -0.5)) <= 2e-8


@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_one_look_at_a(monkeypatch, lib):
    """Where the library solves triangular systems in a batch (torch, JAX), the spectrum bounds
    come from the input checks' Cholesky factor: A itself is never inverted, the bounds agree
    with those of the explicit inverse, and tol holds."""
    import array_api_compat

    if lib == "torch":
        torch = pytest.importorskip("torch")
        from matsqrt.backends._torch import TorchOps as LibOps

        as_lib = torch.tensor
    else:
        jnp = pytest.importorskip("jax.numpy")
        from matsqrt.backends._jax import JaxOps as LibOps

        as_lib = jnp.asarray
    A, _, _ = known_spd(3, 24, 1e6, seed=4)
    X = as_lib(A)
    ops = matsqrt.backends.adapter_for(array_api_compat.array_namespace(X), X).ops
    L, fails = ops.cholesky(X)
    assert not bool(np.any(to_np(fails)))
    by_factor = _zolotarev.estimate_spectrum(X, ops, factor=L)
    by_inverse = _zolotarev.estimate_spectrum(X, ops)
    for u, v in zip(by_factor, by_inverse, strict=True):
        np.testing.assert_allclose(to_np(u), to_np(v), rtol=1e-6)
    shapes = []
    real = LibOps.hpd_inv
    monkeypatch.setattr(LibOps, "hpd_inv", lambda self, a: shapes.append(a.shape) or real(self, a))
    Z = matsqrt.invsqrtm(X, tol=1e-8)
    assert shapes and all(len(s) == A.ndim + 1 for s in shapes)  # stacks of shifted matrices only
    assert rel_err(Z, exact_power(A, -0.5)) <= 2e-8


def test_singular_covariance():
    """The square root of a rank-deficient covariance: exact zero eigenvalues stay zero."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 32, 10))
    A = X @ np.swapaxes(X, -1, -2) / 10
    Y = matsqrt.sqrtm(A, tol=1e-6)  # (tiny eigenvalues: the rounding floor is eps^(1/2) there)
    assert rel_err(Y, exact_power(A, 0.5)) <= 2e-6


def test_unreachable_tol_warns():
    """tol beyond the dtype's reach at this conditioning: the best result, and an AccuracyWarning."""
    A, _, _ = known_spd(2, 32, 1e6, seed=5)
    A = A.astype(np.float32)
    with pytest.warns(matsqrt.AccuracyWarning, match="out of reach"):
        Z = matsqrt.invsqrtm(A, tol=1e-6)
    # float32's own rounding floor for the inverse root, eps cond = 0.12 (computed in float32)
    assert rel_err(Z, exact_power(A, -0.5)) < np.finfo(np.float32).eps * 1e6


# -- gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, -0.5, 0.25, -0.25, 0.3, -0.7])
def test_torch_gradient_is_daleckii_krein(p):
    torch = pytest.importorskip("torch")
    from matsqrt._core._derivatives import daleckii_krein
    from matsqrt.backends._torch import _ops

    A, _, _ = known_spd(3, 32, 1e4, seed=6)
    At = torch.tensor(A, requires_grad=True)
    G = torch.tensor(np.random.default_rng(7).standard_normal(A.shape))
    (g,) = torch.autograd.grad((_call(At, p, tol=1e-10) * G).sum(), At)
    w, V = torch.linalg.eigh(At.detach())
    ref = daleckii_krein((G + G.mT) / 2, w, V, p, _ops(At))
    assert float((g - ref).abs().max() / ref.abs().max()) <= 1e-7


@pytest.mark.parametrize("p", [0.5, -0.25, 0.3])
def test_torch_gradcheck_and_transforms(p):
    torch = pytest.importorskip("torch")
    A, _, _ = known_spd(2, 5, 10.0, seed=8)
    At = torch.tensor(A, requires_grad=True)

    def f(X):
        return _call((X + X.mT) / 2, p, method="zolotarev")

    assert torch.autograd.gradcheck(f, (At,))
    assert torch.autograd.gradgradcheck(f, (At,))
    B, _, _ = known_spd(3, 8, 1e3, seed=9)
    Bt = torch.tensor(B)
    ref = exact_power(B, p)
    assert rel_err(torch.func.vmap(lambda M: _call(M, p, tol=1e-8))(Bt), ref) <= 2e-8
    compiled = torch.compile(lambda M: _call(M, p, tol=1e-8), fullgraph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dynamo's notes on lru_cache-wrapped helpers
        assert rel_err(compiled(Bt), ref) <= 2e-8


def test_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.test_util import check_grads

    A, _, _ = known_spd(3, 40, 1e6, seed=10)
    f = jax.jit(lambda X: matsqrt.sqrtm(X, tol=1e-10))
    assert rel_err(f(jnp.asarray(A)), exact_power(A, 0.5)) <= 2e-10
    g = jax.grad(lambda X: jnp.sum(jnp.sin(f(X))))(jnp.asarray(A))
    assert bool(jnp.all(jnp.isfinite(g)))
    B = jnp.asarray(A[0, :6, :6]) + jnp.eye(6)
    check_grads(lambda X: matsqrt.powm((X + X.T) / 2, -0.25, method="zolotarev"), (B,), order=2)
    # other powers under jit: the traced plan (stages to the dtype's floor, then Padé)
    h = jax.jit(lambda X: matsqrt.powm(X, -0.3, tol=1e-10))
    assert rel_err(h(jnp.asarray(A)), exact_power(A, -0.3)) <= 2e-10
    check_grads(lambda X: matsqrt.powm((X + X.T) / 2, 0.3, method="zolotarev"), (B,), order=1)


@pytest.mark.parametrize(
    ("p", "bits", "has_remainder"),
    [(0.5, (1,), False), (0.25, (0, 1), False), (0.75, (1, 1), False), (0.3, None, True), (0.9, None, True)],
)
def test_power_plan(p, bits, has_remainder):
    """Dyadic powers: their exact stages; others: stages to condition number <= 4, then r > 0."""
    for k2 in (1e-2, 1e-8, 1e-13):
        got, r = _zolotarev.power_plan(p, k2)
        if bits is not None:
            assert got == bits
        assert (r > 0) == has_remainder
        J = len(got)
        assert math.isclose(sum(b * 2.0**-j for j, b in enumerate(got, 1)) + r * 2.0**-J, p)
        assert J == _zolotarev.MAX_STAGES or not has_remainder or k2 ** -(0.5**J) <= _zolotarev.REMAINDER_COND


# -- options and the default's warning ---------------------------------------------------


def test_refusals():
    A, _, _ = known_spd(1, 4, 10.0)
    with pytest.raises(ValueError, match="Hermitian"):
        matsqrt.sqrtm(A, method="zolotarev", hermitian=False)
    with pytest.raises(ValueError, match="tol= instead of order="):
        matsqrt.sqrtm(A, method="zolotarev", order=3)
    with pytest.raises(ValueError, match="tol must be"):
        matsqrt.sqrtm(A, tol="1e-3")


@pytest.mark.parametrize("p", [0.5, -0.5, -0.25])
def test_default_warns_where_far_off(xp, p):
    """Condition number 1e4: the default Padé [5/5] is off by 1.3e-2 .. 0.57; eager calls say so."""
    if "dask" in xp.__name__:
        pytest.skip("lazy arrays are not inspected")
    A, _, _ = known_spd(2, 32, 1e4, seed=11)
    with pytest.warns(matsqrt.AccuracyWarning, match="predicted to be off") as record:
        _call(to_xp(xp, A), p)
    assert record[0].filename == __file__  # attributed to the caller's line
    B, _, _ = known_spd(2, 32, 10.0, seed=11)
    _call(to_xp(xp, B), p)  # accurate: no warning (warnings are errors in this suite)
    _call(to_xp(xp, A), p, order=5)  # asked for explicitly: no check
    _call(to_xp(xp, A), p, check_finite=False)


def test_default_warning_matches_measured_error():
    """The predicted error is within 2x of the measured one (geometric spectra)."""
    for cond in (1e3, 1e4):
        A, _, _ = known_spd(2, 48, cond, seed=12)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            Z = matsqrt.invsqrtm(A)
        predicted = float(str(record[0].message).split("off by about ")[1].split(" ")[0])
        measured = rel_err(Z, exact_power(A, -0.5))
        assert measured / 2 <= predicted <= 2 * measured
        assert math.isfinite(predicted)
