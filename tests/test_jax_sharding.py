"""A batch sharded over 4 (simulated) devices stays sharded under jit, with no collectives."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import matsqrt
    from matsqrt.testing import random_spd
    assert len(jax.devices()) == 4, jax.devices()
    sh = NamedSharding(Mesh(np.array(jax.devices()), ("batch",)), P("batch"))
    A = jax.device_put(jnp.asarray(random_spd((8, 16), 10, dtype=np.float32)), sh)
    cases = {
        "pade": lambda a: matsqrt.sqrtm(a),
        "eigh": lambda a: matsqrt.sqrtm(a, method="eigh"),
        "grad": jax.grad(lambda a: matsqrt.invsqrtm(a).sum()),
    }
    for name, f in cases.items():
        jf = jax.jit(f)
        Y = jf(A)
        assert Y.sharding.is_equivalent_to(sh, Y.ndim), (name, Y.sharding)
        hlo = jf.lower(A).compile().as_text()
        for op in ("all-gather", "all-reduce", "all-to-all", "collective-permute"):
            assert op not in hlo, (name, op)
    ref = matsqrt.sqrtm(np.asarray(A))
    assert np.abs(np.asarray(jax.jit(cases["pade"])(A)) - ref).max() < 1e-5
    print("SHARDING-OK")
    """
)


def test_sharded_batch_stays_sharded():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDING-OK" in out.stdout
