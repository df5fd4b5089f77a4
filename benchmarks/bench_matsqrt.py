"""pytest-benchmark suite on the same harness as ``python -m matsqrt bench``.

Run: ``pytest benchmarks/bench_matsqrt.py --benchmark-group-by=param:case`` (not part of the test
suite; timings are never asserted). Each benchmark times one candidate's forward+backward (forward
only for scipy) on one grid point, built by the harness in :mod:`matsqrt._bench`, so the numbers
are comparable with the CLI's; save and compare runs with ``--benchmark-save`` /
``--benchmark-compare``. Select with ``-k``, e.g. ``-k "torch and 64x64"``.
"""

from __future__ import annotations

import pytest

from matsqrt._bench import METHODS, Case, available_backends, make_backend, problem

#: (batch, n): the shapes of the performance page
SHAPES = [(256, 32), (64, 64), (8, 256)]
COND = 100.0
DTYPE = "float32"

_backends: dict[str, object] = {}


def _backend(name: str):
    if name not in _backends:
        _backends[name] = make_backend(name)
    return _backends[name]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "case",
    [Case(b, n, batch, DTYPE, COND) for b in available_backends() for batch, n in SHAPES],
    ids=lambda c: f"{c.backend}-{c.batch}x{c.n}",
)
def test_forward_backward(benchmark, case, method):
    be = _backend(case.backend)
    A_np, G_np = problem(case)
    with be.context():
        A, G = be.asarray(A_np), be.asarray(G_np)
        cand = be.candidate(method, A, case.dtype)
        if cand is None:
            pytest.skip(f"{method} is not available on {case.backend}")
        if cand.fwdbwd is None:

            def call():
                return cand.fwd(A_np if cand.numpy_input else A)
        else:

            def call():
                return be.sync(cand.fwdbwd(A, G))

        call()  # warm-up / compile
        benchmark(call)
