"""Importing matsqrt (and using it on NumPy) imports no heavy array library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "jax", "jaxlib", "dask", "cupy", "array_api_strict", "distributed")


def _modules_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the heavy modules it left in sys.modules."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_loads_no_heavy_backend():
    assert _modules_after("import matsqrt") == []


def test_numpy_use_loads_no_heavy_backend():
    code = """
import numpy as np, matsqrt
A = np.eye(3) * 4
Y = matsqrt.sqrtm(A); Z = matsqrt.invsqrtm(A, tol=1e-8); matsqrt.sqrtm(A, method="auto")
matsqrt.sqrtm_vjp(Y, np.eye(3)); matsqrt.invsqrtm_vjp(Z, np.eye(3), backward="eigh")
matsqrt.solve_sylvester(A, A, A); matsqrt.solve_lyapunov(A, A); matsqrt.residual(A, Y)
import matsqrt.testing
"""
    assert _modules_after(code) == []


def test_public_names():
    import matsqrt

    expected = {
        "sqrtm",
        "invsqrtm",
        "sqrtm_vjp",
        "invsqrtm_vjp",
        "sqrtm_and_vjp",
        "invsqrtm_and_vjp",
        "powm",
        "solve_sylvester",
        "solve_lyapunov",
        "residual",
        "AccuracyWarning",
        "__version__",
    }
    assert set(matsqrt.__all__) == expected
    for name in expected:
        assert hasattr(matsqrt, name)


@pytest.mark.parametrize("module", ["torch", "jax"])
def test_backend_adapter_is_imported_only_on_use(module):
    pytest.importorskip(module)
    adapter = {"torch": "matsqrt.backends._torch", "jax": "matsqrt.backends._jax"}[module]
    code = f"""
import sys, {module}, matsqrt, numpy as np
matsqrt.sqrtm(np.eye(2))
assert {adapter!r} not in sys.modules
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
