"""torch adapter: autograd (gradcheck, gradgradcheck), vmap/grad/compile, dtypes, the LU guard."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import matsqrt  # noqa: E402
from matsqrt.testing import random_spd, rel_error  # noqa: E402


def _sym(a):
    return (a + a.mT) / 2


@pytest.mark.parametrize("backward", ["auto", "lyapunov", "eigh"])
@pytest.mark.parametrize("fn", [matsqrt.sqrtm, matsqrt.invsqrtm], ids=["sqrtm", "invsqrtm"])
def test_gradcheck_and_gradgradcheck(fn, backward):
    A = torch.tensor(random_spd((2, 4), 10, seed=1), requires_grad=True)

    def f(a):
        # a function of Hermitian matrices: check it on the Hermitian part
        return fn(_sym(a), backward=backward, tol=1e-13)

    assert torch.autograd.gradcheck(f, (A,))
    assert torch.autograd.gradgradcheck(f, (A,))


@pytest.mark.parametrize("backward", ["auto", "lyapunov", "eigh"])
def test_autograd_equals_explicit_vjp(backward):
    A = torch.tensor(random_spd((3, 6), 20, seed=2), requires_grad=True)
    G = torch.tensor(np.random.default_rng(0).standard_normal((3, 6, 6)))
    Y = matsqrt.sqrtm(A, backward=backward, tol=1e-13)
    (gA,) = torch.autograd.grad(Y, A, G)
    ref = matsqrt.sqrtm_vjp(Y.detach().numpy(), G.numpy(), backward="eigh")
    assert rel_error(gA.numpy(), ref) <= 1e-9


def test_gradient_finite_at_identity():
    for backward in ("auto", "lyapunov", "eigh"):
        A = torch.eye(4, dtype=torch.float64, requires_grad=True)
        G = torch.tensor(np.random.default_rng(1).standard_normal((4, 4)))
        (gA,) = torch.autograd.grad(matsqrt.sqrtm(A, backward=backward), A, G)
        assert torch.all(torch.isfinite(gA))
        torch.testing.assert_close(gA, _sym(G) / 2, atol=1e-7, rtol=0)


def test_values_match_numpy_and_keep_type():
    A = random_spd((2, 3, 7), 50, seed=3)
    for fn in (matsqrt.sqrtm, matsqrt.invsqrtm):
        for method in ("pade", "taylor", "newton_schulz", "eigh"):
            Y = fn(torch.tensor(A), method=method)
            assert isinstance(Y, torch.Tensor) and Y.dtype == torch.float64 and Y.shape == A.shape
            np.testing.assert_allclose(Y.numpy(), fn(A, method=method), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_in_own_dtype(dtype):
    A = torch.tensor(random_spd((2, 4), 5, seed=4), dtype=dtype, requires_grad=True)
    Y = matsqrt.sqrtm(A)
    Y.sum().backward()
    assert Y.dtype == dtype and A.grad.dtype == dtype
    ref = matsqrt.sqrtm(A.detach().double().numpy(), method="eigh")
    assert rel_error(Y.detach().double().numpy(), ref) <= 20 * float(torch.finfo(dtype).eps)


def test_autocast_region_computes_in_float32():
    A = torch.tensor(random_spd((2, 8), 10, seed=5), dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        Y = matsqrt.sqrtm(A)
    assert Y.dtype == torch.float32
    torch.testing.assert_close(Y, matsqrt.sqrtm(A))


def test_vmap_and_func_grad():
    A = torch.tensor(random_spd((3, 5), 10, seed=6))
    Yv = torch.func.vmap(matsqrt.sqrtm)(A)
    torch.testing.assert_close(Yv, matsqrt.sqrtm(A))
    g = torch.func.grad(lambda a: matsqrt.sqrtm(a).sum())(A[0])
    A0 = A[0].clone().requires_grad_()
    (ref,) = torch.autograd.grad(matsqrt.sqrtm(A0).sum(), A0)
    torch.testing.assert_close(g, ref)


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch-internal (dynamo, inductor)
def test_compile_fullgraph():
    A = torch.tensor(random_spd((4, 6), 10, seed=7, dtype=np.float32), requires_grad=True)
    f = torch.compile(lambda a: matsqrt.sqrtm(a).sum(), fullgraph=True)
    loss = f(A)
    (g,) = torch.autograd.grad(loss, A)
    (g_eager,) = torch.autograd.grad(matsqrt.sqrtm(A).sum(), A)
    A64 = A.detach().double().requires_grad_(True)
    (g64,) = torch.autograd.grad(matsqrt.sqrtm(A64).sum(), A64)
    torch.testing.assert_close(loss, matsqrt.sqrtm(A).sum())
    # compiled code sums out of place, eager code in place (TorchOps): the float32 roundings
    # differ, and Q(X)'s condition number amplifies them; both stay at float32 rounding level
    # of the same float64 gradient (measured 1.5e-5 and 3.1e-5)
    for grad in (g, g_eager):
        assert rel_error(grad.double().numpy(), g64.numpy()) <= 1e-4
    assert rel_error(g.numpy(), g_eager.numpy()) <= 1e-4


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch-internal (dynamo, inductor)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda a: matsqrt.powm(a, 0.3), id="powm-fractions"),
        pytest.param(lambda a: matsqrt.sqrtm(a, order=8), id="order-8"),
        pytest.param(lambda a: matsqrt.sqrtm(a, hermitian=False), id="general"),
        pytest.param(lambda a: matsqrt.powm(a, -0.25, tol=1e-8), id="powm-quarter-tol"),
        pytest.param(lambda a: matsqrt.powm(a, 0.3, tol=1e-8), id="powm-any-tol"),
    ],
)
def test_compile_dynamic_fullgraph(call):
    """torch.compile(dynamic=True, fullgraph=True) on the paths whose coefficients are computed at
    trace time (they failed in Dynamo: a float from the options was a lazy constant), and on the
    traced tol= path of A^(+-1/4) (Dynamo evaluated ``0.25 in (0.5, 0.25)`` as False, so the call
    was refused as if tol= needed eager values)."""
    torch._dynamo.reset()
    A = torch.tensor(random_spd((3, 6), 10, seed=3), requires_grad=True)
    f = torch.compile(lambda a: call(a).sum(), dynamic=True, fullgraph=True)
    loss = f(A)
    (g,) = torch.autograd.grad(loss, A)
    eager = call(A).sum()
    (g_eager,) = torch.autograd.grad(eager, A)
    assert abs(float(loss.detach() - eager.detach())) <= 1e-7 * abs(float(eager.detach()))
    assert rel_error(g.numpy(), g_eager.numpy()) <= 1e-7


def test_lu_guard_for_pytorch_181570():
    """Batched CPU LU with 2 threads is wrong for n >~ 200 in torch 2.13; the guard avoids it."""
    import array_api_compat.torch as xp

    from matsqrt.backends._torch import TorchOps

    rng = np.random.default_rng(0)
    M = random_spd((4, 256), 10, seed=8) + 0.05 * rng.standard_normal((4, 256, 256))
    ref = np.linalg.inv(M)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        X = TorchOps(xp).inv(torch.tensor(M))
        S1, S2 = random_spd((4, 256), 10, seed=9), random_spd((4, 256), 10, seed=10)
        Y = matsqrt.sqrtm(torch.tensor(S1 @ S2), hermitian=False, order=8)
    finally:
        torch.set_num_threads(old)
    assert rel_error(X.numpy(), ref) <= 1e-10
    assert rel_error(Y.numpy(), matsqrt.sqrtm(S1 @ S2, hermitian=False, order=8)) <= 1e-10


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_hpd_inverse_is_contiguous_and_exact(dtype):
    """The Cholesky inverse reuses column-major L through its (contiguous) transpose.

    Written into L itself, the result was column-major: matmul computed it elsewhere
    and copied (measured 1.1-5x the product's time, 8x256x256 .. 256x32x32 float32).
    """
    import array_api_compat.torch as xp

    from matsqrt.backends._torch import TorchOps

    rng = np.random.default_rng(2)
    M = random_spd((3, 12), 100, seed=4).astype(dtype)
    if M.dtype.kind == "c":
        R = 0.3 * (rng.standard_normal(M.shape) + 1j * rng.standard_normal(M.shape))
        M = M + R @ R.conj().swapaxes(-1, -2)
    ops = TorchOps(xp)
    for grad in (False, True):  # buffer reuse only where autograd records nothing
        with torch.set_grad_enabled(grad):
            X = ops.hpd_inv(torch.tensor(M))
        assert X.is_contiguous()
        assert rel_error(X.numpy(), np.linalg.inv(M)) <= 1e-12


def test_nan_raises_and_errors_are_clear():
    with pytest.raises(ValueError, match="NaN"):
        matsqrt.sqrtm(torch.full((3, 3), float("nan")))
    with pytest.raises(TypeError, match="bool"):
        matsqrt.sqrtm(torch.eye(3, dtype=torch.bool))


def _spiked_and_flat(n=32, seed=3):
    """Two matrices: rank one + ridge (the product form scales it, t > 1) and a flat one (t = 1)."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, 1))
    return np.stack([v @ v.T + 1e-3 * n * np.eye(n), random_spd((n,), 10, seed=seed)]).astype(np.float32)


def test_torch_ops_sums_match_the_standard_ones():
    """TorchOps' in-place sums (float and per-matrix coefficients, identity, broadcasting) equal Ops'."""
    import array_api_compat.torch as xp

    from matsqrt._core import Ops
    from matsqrt.backends._torch import TorchOps

    rng = np.random.default_rng(0)
    M1, M2, M3 = (torch.tensor(rng.standard_normal((3, 5, 5))) for _ in range(3))
    c = torch.tensor(rng.random((3, 1, 1)))
    cases = [
        dict(coeffs=(2.0, 0.0, -1.5), mats=[M1, M2, M3]),
        dict(coeffs=(c, 0.5, 0.0), mats=[M1, M2, M3], eye=3.0),
        dict(coeffs=(0.0, c, 1.0), mats=[M1, M2, M3], eye=c),
        dict(coeffs=(1.0, 2.0), mats=[M1[0], M2], eye=1.0),  # the first term broadcast to the batch
        dict(coeffs=(0.0,), mats=[M1], eye=2.0),
    ]
    for kw in cases:
        ref = Ops(xp).lincomb(**kw)
        got = TorchOps(xp).lincomb(**kw)
        torch.testing.assert_close(got, ref, rtol=1e-14, atol=1e-14)
    for scale in (None, 3.0, c):
        torch.testing.assert_close(TorchOps(xp).hermitian_part(M1, scale), Ops(xp).hermitian_part(M1, scale))


@pytest.mark.parametrize("fn", [matsqrt.sqrtm, matsqrt.invsqrtm], ids=["sqrtm", "invsqrtm"])
def test_buffer_reuse_and_shortcuts_change_nothing(fn, monkeypatch):
    """Released buffers reused by out= and the t = 1 shortcut give the results of the plain code."""
    from matsqrt.backends._torch import TorchOps

    A = torch.tensor(_spiked_and_flat())
    G = torch.tensor(np.random.default_rng(1).standard_normal(A.shape).astype(np.float32))

    def value_and_grad():
        a = A.clone().requires_grad_(True)
        Y = fn(a, order=5)  # the default approximant, asked for (no accuracy check)
        (g,) = torch.autograd.grad(Y, a, G)
        return Y.detach(), g

    fast = value_and_grad()
    with monkeypatch.context() as m:
        m.setattr(TorchOps, "_reusing", lambda self: False)
        m.setattr(TorchOps, "known", lambda self, flag: None)
        plain = value_and_grad()
    for x, y in zip(fast, plain, strict=True):
        assert rel_error(x.numpy(), y.numpy()) <= 1e-6


def test_compile_warns_nothing_of_ours():
    """torch.compile used to print 16 Dynamo notes about lru_cache-wrapped functions (array-api-compat's
    type tests and the coefficient tables): none is left that matsqrt causes."""
    import warnings

    A = torch.tensor(random_spd((2, 4), 10.0, seed=0))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        torch.compile(lambda a: matsqrt.sqrtm(a))(A)
        torch.compile(lambda a: matsqrt.powm(a, 0.3))(A)
    assert not [w for w in rec if "lru_cache" in str(w.message)]


def test_list_of_tensors_is_refused():
    with pytest.raises(TypeError, match="stack them first"):
        matsqrt.sqrtm([torch.eye(2), torch.eye(2)])
