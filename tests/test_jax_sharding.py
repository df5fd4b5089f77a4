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


MAKE_MESH_SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    import matsqrt
    from matsqrt.testing import random_spd
    jax.config.update("jax_enable_x64", True)
    COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
    A_np = random_spd((8, 6), 10.0, seed=0)
    for kind in (AxisType.Explicit, AxisType.Auto):
        mesh = jax.make_mesh((4,), ("b",), axis_types=(kind,))
        A = jax.device_put(jnp.asarray(A_np), NamedSharding(mesh, P("b")))
        for fn in (matsqrt.sqrtm, matsqrt.invsqrtm):
            for kw in ({}, {"hermitian": False}, {"method": "taylor"}, {"method": "eigh"}):
                ref = np.asarray(fn(jnp.asarray(A_np), **kw))
                for how, f in (("eager", lambda a: fn(a, **kw)), ("jit", jax.jit(lambda a: fn(a, **kw)))):
                    Y = f(A)
                    assert Y.sharding.is_equivalent_to(A.sharding, Y.ndim), (kind, fn, kw, how, Y.sharding)
                    assert np.abs(np.asarray(Y) - ref).max() <= 1e-12, (kind, fn, kw, how)
                hlo = jax.jit(lambda a: fn(a, **kw)).lower(A).compile().as_text()
                assert not [op for op in COLLECTIVES if op in hlo], (kind, fn, kw)
    print("ok")
    """
)


def test_make_mesh_explicit_and_auto_axes():
    """jax.make_mesh (Explicit axes by default) and Auto axes: results keep the sharding, no collectives."""
    out = subprocess.run(
        [sys.executable, "-c", MAKE_MESH_SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
