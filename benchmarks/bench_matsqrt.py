"""pytest-benchmark suite on the same harness as ``python -m matsqrt bench``.

Run: ``pytest benchmarks/bench_matsqrt.py --benchmark-group-by=param:shape`` (not part of the
test suite; timings are never asserted). Compare methods within one run: the group table gives
the ratios.
"""

from __future__ import annotations

import numpy as np
import pytest

from matsqrt._bench import _candidates, available_backends, make_backend
from matsqrt.testing import random_spd

SHAPES = [(256, 32), (64, 64), (8, 256)]
METHODS = ["pade", "paper", "eigh", "newton_schulz", "taylor"]


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("method", METHODS)
def test_forward_backward(benchmark, backend, shape, method):
    be = make_backend(backend)
    batch, n = shape
    A_np = random_spd((batch, n), 1e2, dtype=np.float32, seed=0)
    G_np = np.random.default_rng(1).standard_normal(A_np.shape).astype(np.float32)
    _, fwdbwd = _candidates(be, [method], A_np)[method]
    A, G = be.convert(A_np), be.convert(G_np)
    be.sync(fwdbwd(A, G))  # warm-up / compile
    benchmark(lambda: be.sync(fwdbwd(A, G)))
