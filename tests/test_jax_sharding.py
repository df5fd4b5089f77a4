"""A batch sharded over 4 (simulated) devices stays sharded, with no collectives.

``XLA_FLAGS`` must be set before JAX is imported, so the check runs in a fresh
interpreter and leaves this process's JAX alone.
"""

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
    from matsqrt.testing import random_spd, rel_error, root_tolerance
    assert len(jax.devices()) == 4, jax.devices()
    COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
    sh = NamedSharding(Mesh(np.array(jax.devices()), ("batch",)), P("batch"))
    A_np = random_spd((8, 6), 10, dtype=np.float32)
    A = jax.device_put(jnp.asarray(A_np), sh)
    tol = root_tolerance(np.float32, 10, inverse=True)

    def check(name, jf, Y, expect_collectives=False):
        assert Y.sharding.is_equivalent_to(sh, Y.ndim), (name, Y.sharding)
        assert {s.data.shape for s in Y.addressable_shards} == {(2, 6, 6)}, name
        if jf is None:
            return
        hlo = jf.lower(A).compile().as_text()
        # the SPMD-partitioned module works on one device's shard: f32[2,6,6] in and out
        assert "num_partitions=4" in hlo and "f32[2,6,6]" in hlo.split("ENTRY")[0], name
        found = [op for op in COLLECTIVES if op in hlo]
        assert bool(found) == expect_collectives, (name, found)

    cases = {
        "pade": lambda a: matsqrt.sqrtm(a),
        "eigh": lambda a: matsqrt.sqrtm(a, method="eigh"),
        "newton_schulz": lambda a: matsqrt.invsqrtm(a, method="newton_schulz"),
        "grad rational": jax.grad(lambda a: matsqrt.invsqrtm(a).sum()),
        "grad lyapunov": jax.grad(lambda a: matsqrt.sqrtm(a, backward="lyapunov").sum()),
        "grad eigh": jax.grad(lambda a: matsqrt.sqrtm(a, method="eigh").sum()),
    }
    for name, f in cases.items():
        jf = jax.jit(f)
        check(name, jf, jf(A))
    # negative control: a batch mean needs a collective, and the inspection sees it
    jf = jax.jit(lambda a: matsqrt.sqrtm(a) + matsqrt.sqrtm(a).mean(0))
    check("control", jf, jf(A), expect_collectives=True)
    # eager (no jit), also with tol= (concrete values) and under jax.grad
    for kw in ({}, {"tol": 1e-5}, {"method": "auto"}):
        Y = matsqrt.invsqrtm(A, **kw)
        check(str(kw), None, Y)
        assert rel_error(np.asarray(Y), matsqrt.invsqrtm(A_np, **kw)) <= tol, kw
    check("eager grad", None, jax.grad(lambda a: matsqrt.sqrtm(a, tol=1e-5).sum())(A))
    Y = jax.jit(cases["pade"])(A)
    assert rel_error(np.asarray(Y), matsqrt.sqrtm(A_np)) <= tol
    print("SHARDING-OK")
    """
)


def test_sharded_batch_stays_sharded():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDING-OK" in out.stdout
