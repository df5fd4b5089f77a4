"""Bad input: a clear error, never a silent wrong answer (SPEC, "Bad input" table).

One test per row of the table, on every backend where the input can be built,
plus the options of the explicit gradients and the equation solvers.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import to_np, to_xp

import matsqrt
from matsqrt.testing import random_spd

ROOTS = [matsqrt.sqrtm, matsqrt.invsqrtm]
METHOD_CHOICES = ("pade", "taylor", "newton_schulz", "eigh", "auto")
BACKWARD_CHOICES = ("auto", "rational", "lyapunov", "eigh")


def _lazy(xp) -> bool:
    return "dask" in xp.__name__


def _eye(xp, n: int = 3, batch: tuple[int, ...] = ()):
    return to_xp(xp, np.broadcast_to(np.eye(n), (*batch, n, n)).copy())


# -- ndim < 2, non-square ---------------------------------------------------------------------


@pytest.mark.parametrize("fn", ROOTS)
@pytest.mark.parametrize("shape", [(3,), (), (2, 3), (4, 2, 3), (3, 1)])
def test_bad_shape_names_the_shape(xp, fn, shape):
    A = to_xp(xp, np.ones(shape))
    with pytest.raises(ValueError, match=re.escape(f"shape {shape}")):
        fn(A)


def test_bad_shape_in_vjp_and_solvers(xp):
    bad = to_xp(xp, np.ones((2, 3)))
    eye = _eye(xp)
    with pytest.raises(ValueError, match=re.escape("shape (2, 3)")):
        matsqrt.sqrtm_vjp(bad, bad)
    with pytest.raises(ValueError, match=re.escape("shape (2, 3)")):
        matsqrt.solve_sylvester(bad, eye, eye)
    with pytest.raises(ValueError, match=re.escape("shape (2, 3)")):
        matsqrt.solve_sylvester(eye, bad, eye)
    with pytest.raises(ValueError, match=re.escape("shape (2, 3)")):
        matsqrt.solve_lyapunov(bad, eye)
    with pytest.raises(ValueError, match=re.escape("shape (2, 3)")):
        matsqrt.residual(bad, bad)


def test_sylvester_rhs_shape(xp):
    A, B = _eye(xp, 3), _eye(xp, 2)
    with pytest.raises(ValueError, match=re.escape("(..., 3, 2)")):
        matsqrt.solve_sylvester(A, B, to_xp(xp, np.ones((2, 3))))
    with pytest.raises(ValueError, match=re.escape("(..., 3, 2)")):
        matsqrt.solve_sylvester(A, B, to_xp(xp, np.ones(3)))


def test_vjp_cotangent_shape_mismatch(xp):
    Y = _eye(xp, 3)
    for vjp in (matsqrt.sqrtm_vjp, matsqrt.invsqrtm_vjp):
        with pytest.raises(ValueError, match=re.escape("(3, 3)") + ".*" + re.escape("(2, 3, 3)")):
            vjp(Y, _eye(xp, 3, (2,)))
        with pytest.raises(ValueError, match="G must have the shape of Y"):
            vjp(Y, _eye(xp, 2))


# -- dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ROOTS)
def test_bool_dtype_is_type_error(xp, fn):
    A = xp.asarray(to_xp(xp, np.eye(3)) > 0)
    assert A.dtype == xp.bool
    with pytest.raises(TypeError, match="bool"):
        fn(A)


@pytest.mark.parametrize(
    ("array", "name"),
    [
        (np.array([[object(), object()], [object(), object()]]), "object"),
        (np.array([["a", "b"], ["c", "d"]]), "<U1"),
        (np.array([[b"a", b"b"], [b"c", b"d"]]), "|S1"),
        (np.zeros((2, 2), dtype="datetime64[s]"), "datetime64"),
    ],
    ids=["object", "str", "bytes", "datetime"],
)
def test_non_numeric_dtype_is_type_error(array, name):
    for fn in ROOTS:
        with pytest.raises(TypeError, match=re.escape(name)):
            fn(array)
    with pytest.raises(TypeError, match=re.escape(name)):
        matsqrt.sqrtm_vjp(np.eye(2), array)
    with pytest.raises(TypeError, match=re.escape(name)):
        matsqrt.solve_sylvester(np.eye(2), np.eye(2), array)


def test_python_lists_are_accepted():
    Y = matsqrt.sqrtm([[4.0, 0.0], [0.0, 9.0]], method="eigh")
    assert isinstance(Y, np.ndarray)
    np.testing.assert_allclose(Y, np.diag([2.0, 3.0]))
    with pytest.raises(TypeError, match="bool"):
        matsqrt.sqrtm([[True, False], [False, True]])


# -- NaN / Inf ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fn", ROOTS)
def test_non_finite_raises(xp, fn, bad):
    A = np.broadcast_to(np.eye(3), (2, 3, 3)).copy()
    A[1, 0, 2] = A[1, 2, 0] = bad  # both triangles: Hermitian input reads one of them
    Ax = to_xp(xp, A)
    if _lazy(xp):
        # documented: values of lazy arrays are not inspected; the bad value surfaces at
        # compute time, either in the result or as the eigensolver's own error
        try:
            out = to_np(fn(Ax, method="eigh"))
        except np.linalg.LinAlgError:
            return
        assert not np.all(np.isfinite(out[1]))
        return
    with pytest.raises(ValueError, match="NaN or Inf") as info:
        fn(Ax)
    assert "check_finite=False" in str(info.value)


def test_check_finite_false_skips(xp):
    A = np.eye(3)
    A[0, 1] = np.nan
    out = to_np(matsqrt.sqrtm(to_xp(xp, A), check_finite=False))  # no error, no check
    assert out.shape == (3, 3)
    assert not np.all(np.isfinite(out))  # the NaN shows in the result


def test_non_finite_complex(xp):
    if _lazy(xp):
        pytest.skip("values of lazy arrays are not inspected")
    A = np.eye(2, dtype=np.complex128)
    A[0, 1] = complex(0.0, np.inf)
    with pytest.raises(ValueError, match="NaN or Inf"):
        matsqrt.sqrtm(to_xp(xp, A))


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ROOTS)
@pytest.mark.parametrize("method", ["magic", "PADE", "", None, 3])
def test_unknown_method_lists_choices(xp, fn, method):
    with pytest.raises(ValueError, match="method") as info:
        fn(_eye(xp), method=method)
    for choice in METHOD_CHOICES:
        assert repr(choice) in str(info.value)


@pytest.mark.parametrize("fn", ROOTS)
@pytest.mark.parametrize("backward", ["magic", "Lyapunov", None])
def test_unknown_backward_lists_choices(xp, fn, backward):
    with pytest.raises(ValueError, match="backward") as info:
        fn(_eye(xp), backward=backward)
    for choice in BACKWARD_CHOICES:
        assert repr(choice) in str(info.value)


@pytest.mark.parametrize("order", [0, -1, 1.5, 2.0, True, "5", [5]])
def test_bad_order(xp, order):
    with pytest.raises(ValueError, match="order must be None or an integer >= 1"):
        matsqrt.sqrtm(_eye(xp), order=order)


def test_integer_like_order_is_accepted():
    Y = matsqrt.sqrtm(np.eye(2) * 4, order=np.int64(7))
    np.testing.assert_allclose(Y, 2 * np.eye(2), atol=1e-14)


@pytest.mark.parametrize("tol", [0, 0.0, -1e-6, 1.0, 2.0, float("nan"), float("inf"), "small", [1e-6]])
def test_bad_tol(xp, tol):
    with pytest.raises(ValueError, match=r"tol must be None or a number in \(0, 1\)"):
        matsqrt.sqrtm(_eye(xp), tol=tol)


def test_eigh_needs_hermitian(xp):
    for fn in ROOTS:
        with pytest.raises(ValueError, match='method="eigh" needs Hermitian input'):
            fn(_eye(xp), method="eigh", hermitian=False)
        with pytest.raises(ValueError, match='backward="eigh" needs Hermitian input'):
            fn(_eye(xp), backward="eigh", hermitian=False)


@pytest.mark.parametrize("method", ["taylor", "newton_schulz", "eigh"])
def test_rational_backward_needs_pade(xp, method):
    with pytest.raises(ValueError, match='needs method="pade"'):
        matsqrt.sqrtm(_eye(xp), method=method, backward="rational")


def test_auto_takes_tol_not_order(xp):
    with pytest.raises(ValueError, match="tol= instead of order="):
        matsqrt.sqrtm(_eye(xp), method="auto", order=5)


def test_tol_on_lazy_arrays(xp):
    """Zolotarev's method (Hermitian input) and the Denman–Beavers iteration (general input),
    each certified per chunk."""
    if not _lazy(xp):
        pytest.skip("values can be inspected")
    A = random_spd((2, 4), 10.0, seed=0)
    Y = to_np(matsqrt.sqrtm(to_xp(xp, A), tol=1e-6))
    ref = matsqrt.sqrtm(A, method="eigh")
    assert np.max(np.abs(Y - ref)) <= 2e-6 * np.max(np.abs(ref))
    Y = to_np(matsqrt.sqrtm(to_xp(xp, A), tol=1e-6, hermitian=False))
    assert np.max(np.abs(Y - ref)) <= 2e-6 * np.max(np.abs(ref))


def test_vjp_options(xp):
    Y = _eye(xp)
    for vjp in (matsqrt.sqrtm_vjp, matsqrt.invsqrtm_vjp):
        with pytest.raises(ValueError, match="'lyapunov', 'eigh'"):
            vjp(Y, Y, backward="rational")  # needs the forward's inverses: autodiff only
        with pytest.raises(ValueError, match='backward="eigh" needs Hermitian input'):
            vjp(Y, Y, backward="eigh", hermitian=False)
        with pytest.raises(ValueError, match="iters must be None or an integer >= 1"):
            vjp(Y, Y, iters=0)


def test_solver_iters(xp):
    eye = _eye(xp)
    with pytest.raises(ValueError, match="iters must be None or an integer >= 1"):
        matsqrt.solve_sylvester(eye, eye, eye, iters=-3)
    with pytest.raises(ValueError, match="iters must be None or an integer >= 1"):
        matsqrt.solve_lyapunov(eye, eye, iters=2.5)


def test_keywords_are_keyword_only_and_arrays_positional_only():
    A = np.eye(2)
    with pytest.raises(TypeError):
        matsqrt.sqrtm(A, "eigh")  # method is keyword-only
    with pytest.raises(TypeError):
        matsqrt.sqrtm(A=A)  # A is positional-only
    with pytest.raises(TypeError):
        matsqrt.solve_sylvester(A, A, A, 5)


# -- size 0 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 2, 2), (0, 0), (3, 0, 0), (2, 0, 4, 4)])
def test_size_zero_gives_empty(xp, shape):
    A = to_xp(xp, np.zeros(shape))
    for fn in ROOTS:
        out = fn(A)
        assert tuple(out.shape) == shape
        assert out.dtype == A.dtype


def test_size_zero_still_validates_options(xp):
    A = to_xp(xp, np.zeros((0, 2, 2)))
    with pytest.raises(ValueError, match="method"):
        matsqrt.sqrtm(A, method="magic")
    with pytest.raises(ValueError, match="order"):
        matsqrt.sqrtm(A, order=0)
    with pytest.raises(ValueError, match=re.escape("shape (0, 2, 3)")):
        matsqrt.sqrtm(to_xp(xp, np.zeros((0, 2, 3))))
