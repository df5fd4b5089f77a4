"""The worked examples in docs/examples/ run and check their own answers."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "docs" / "examples"
NEEDS = {
    "covariance_pooling.py": "torch",
    "shampoo_step.py": "torch",
    "bures_wasserstein_jax.py": "jax",
    "dask_stack.py": "distributed",
}
ARGS = {"dask_stack.py": ["--n-matrices", "20000", "--chunk", "5000", "--workers", "2"]}


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script):
    if script in NEEDS:
        pytest.importorskip(NEEDS[script])
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *ARGS.get(script, [])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
