"""The command line and its harness: help, quick bench with JSON, sweep, plots, bad options, baselines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from matsqrt import _bench, _cli
from matsqrt._cli import main
from matsqrt._core._coefficients import fraction_error, pade_error_bound
from matsqrt._reference import (
    eigh_root,
    eigh_root_value_and_vjp,
    monomial_pade_coefficients,
    published_sqrtm,
    published_sqrtm_vjp,
)
from matsqrt.testing import random_spd, rel_error, root_tolerance

QUICK_NUMPY = ["bench", "--quick", "--backend", "numpy", "--no-progress"]
RESULT_KEYS = {
    "backend",
    "device",
    "method",
    "n",
    "batch",
    "dtype",
    "cond",
    "power",
    "fwd_ms",
    "fwdbwd_ms",
    "matmul_ms",
    "fwd_mm",
    "fwdbwd_mm",
    "fwd_vs_published",
    "fwdbwd_vs_published",
    "fwd_vs_eigh_root",
    "fwdbwd_vs_eigh_root",
    "err_fwd",
    "err_grad",
    "rounds",
    "fwd_spread",
    "fwdbwd_spread",
    "flags",
    "error",
    "warning",
}


def test_help_exits_zero_and_imports_no_backend():
    code = (
        "import sys, runpy; sys.argv = ['matsqrt', '--help']\n"
        "try:\n    runpy.run_module('matsqrt', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules and 'jax' not in sys.modules, 'a backend was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "bench" in out.stdout


def test_bench_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in (
        "--n",
        "--batch",
        "--dtype",
        "--backend",
        "--method",
        "--cond",
        "--repeats",
        "--json",
        "--plot",
        "--quick",
        "--sweep",
        "--threads",
        "--progress",
    ):
        assert opt in text


def test_quick_bench_writes_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main([*QUICK_NUMPY, "--repeats", "2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "published" in out and "eigh-root" in out and "f+b/pub" in out
    doc = json.loads(path.read_text())
    assert doc["schema"] == _cli.JSON_SCHEMA and doc["mode"] == "bench"
    assert {"numpy", "cpu_count", "python"} <= set(doc["machine"])
    assert doc["config"]["shape"] == [list(s) for s in _cli.QUICK["shape"]] and doc["config"]["repeats"] == 2
    assert doc["config"]["threads"] == 1 and doc["machine"]["blas_threads"] == [1]  # one thread: the default
    rows = {r["method"]: r for r in doc["results"]}
    assert set(rows) == set(_bench.DEFAULT_METHODS)
    rounds = 4 if any(r["flags"] for r in rows.values()) else 2  # a flagged grid point: measured again
    for r in rows.values():
        assert set(r) == RESULT_KEYS
        assert (
            r["error"] is None
            and r["warning"] is None
            and r["fwd_ms"] > 0
            and r["fwd_mm"] > 0
            and r["rounds"] == rounds
        )
        assert (r["fwdbwd_ms"] is None) == (r["method"] == "scipy")
    # paired ratios: a candidate against itself is exactly 1
    assert rows["published"]["fwd_vs_published"] == 1.0 == rows["eigh-root"]["fwdbwd_vs_eigh_root"]
    dt, cond = doc["config"]["dtype"][0], doc["config"]["cond"][0]
    for exact in ("eigh", "eigh-root", "scipy"):
        assert rows[exact]["err_fwd"] <= root_tolerance(dt, cond)
    for exact in ("eigh", "eigh-root"):
        assert rows[exact]["err_grad"] <= root_tolerance(dt, cond, inverse=True)
    # the default Padé [5/5] is within its error bound (at the centred spectrum, plus rounding)
    assert rows["pade"]["err_fwd"] <= 2 * pade_error_bound(5, cond) + root_tolerance(dt, cond)
    assert rows["pade+tol"]["err_fwd"] <= 10 * _bench.PADE_TOL[dt]
    assert rows["pade"]["err_fwd"] < rows["published"]["err_fwd"]


@pytest.mark.parametrize("power", [-0.25, 1 / 3])
def test_quick_power_bench(power, tmp_path, capsys):
    """--power P benchmarks powm(A, P) against eigh, SciPy and (P = -1/r) the coupled Newton iteration."""
    pytest.importorskip("scipy")
    path = tmp_path / "p.json"
    assert main([*QUICK_NUMPY, f"--power={power!r}", "--repeats", "2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"A^({power:g})" in out
    doc = json.loads(path.read_text())
    assert doc["config"]["power"] == power
    rows = {r["method"]: r for r in doc["results"]}
    assert set(rows) == set(_bench.POWER_METHODS)
    dt, cond = doc["config"]["dtype"][0], doc["config"]["cond"][0]
    tol = root_tolerance(dt, cond, inverse=True)
    for exact in ("eigh", "eigh-root", "scipy"):
        assert rows[exact]["power"] == power and rows[exact]["err_fwd"] <= tol, exact
    for exact in ("eigh", "eigh-root"):
        assert rows[exact]["err_grad"] <= tol
    # the default: order 5 at the eigenvalues over their mean (the error grows away from 1)
    q = -power if power < 0 else 1 - power
    w = np.linalg.eigvalsh(random_spd(_cli.QUICK["shape"][0][1], cond).astype(np.float64))
    e = np.array([fraction_error(5, q, x) for x in w / w.mean()])
    predicted = np.sqrt(np.sum((e * w**power) ** 2) / np.sum(w ** (2 * power)))  # Frobenius
    assert 0.9 * predicted - tol <= rows["pade"]["err_fwd"] <= 1.1 * predicted + tol
    assert rows["pade"]["fwdbwd_ms"] > 0 and rows["pade"]["err_grad"] < 0.5
    assert rows["pade+tol"]["err_fwd"] <= 10 * _bench.PADE_TOL[dt]
    if power == -0.25:
        assert rows["newton"]["err_fwd"] <= tol and rows["newton"]["fwdbwd_ms"] is None
    else:
        assert rows["newton"]["error"].startswith("skipped: the coupled Newton iteration")


def test_coupled_newton_baseline_converges():
    from matsqrt._reference import coupled_newton_inverse_root, eigh_power

    A = random_spd((3, 20), 1e3, seed=2)
    # at n = 512 the largest entry of M - I grows in the first step (a stopping rule must not stop there)
    B = random_spd((2, 512), 100, seed=0)
    assert rel_error(coupled_newton_inverse_root(B, 4), eigh_power(B, -0.25)) <= 1e-12
    for r in (2, 4, 8):
        assert rel_error(coupled_newton_inverse_root(A, r), eigh_power(A, -1 / r)) <= 1e-12
    assert rel_error(coupled_newton_inverse_root(A, 2), np.linalg.inv(eigh_root(A))) <= 1e-12


def test_quick_sweep_over_condition_numbers(tmp_path, capsys):
    path = tmp_path / "s.json"
    argv = [
        *QUICK_NUMPY,
        "--sweep",
        "cond",
        "--cond",
        "1,1e4",
        "--dtype",
        "float64",
        "--method",
        "pade,eigh,published",
        "--json",
        str(path),
    ]
    assert main(argv) == 0
    assert "1e+04" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert doc["mode"] == "sweep-cond" and doc["config"]["repeats"] == 0
    rows = {(r["method"], r["cond"]): r for r in doc["results"]}
    assert len(rows) == 6
    for (m, c), r in rows.items():
        assert r["fwd_ms"] is None and r["err_fwd"] is not None
        if m == "eigh":
            assert r["err_fwd"] <= root_tolerance("float64", c)
    # the Padé approximant is exact at condition number 1 and loses accuracy with it
    assert rows[("pade", 1.0)]["err_fwd"] <= root_tolerance("float64", 1.0)
    assert rows[("pade", 1e4)]["err_fwd"] > 100 * rows[("pade", 1.0)]["err_fwd"]


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_quick_bench_on_autodiff_backends(backend, tmp_path):
    pytest.importorskip(backend)
    path = tmp_path / "r.json"
    argv = [
        "bench",
        "--quick",
        "--backend",
        backend,
        "--method",
        "pade,eigh,published,eigh-root",
        "--no-progress",
        "--json",
        str(path),
    ]
    assert main(argv) == 0
    rows = {r["method"]: r for r in json.loads(path.read_text())["results"]}
    assert set(rows) == {"pade", "eigh", "published", "eigh-root"}
    for m in ("eigh", "eigh-root"):
        assert rows[m]["err_fwd"] <= root_tolerance("float32", 100.0)
        assert rows[m]["err_grad"] <= root_tolerance("float32", 100.0, inverse=True)
    assert all(r["fwdbwd_ms"] > 0 for r in rows.values())


@pytest.mark.parametrize(
    ("grid", "figures"),
    [
        ([], ["p.png", "p-frontier.png"]),  # --quick: one n, one batch
        (["--n", "4,8"], ["p.png", "p-vs-n.png", "p-frontier.png"]),
        (["--n", "4,8", "--batch", "1,2"], ["p.png", "p-vs-n.png", "p-vs-batch.png", "p-frontier.png"]),
        (["--shape", "4x4,1x8"], ["p.png", "p-frontier.png"]),  # no two points on one line
        (["--sweep", "cond", "--cond", "1,100"], ["p.png"]),  # errors only: no times to plot
    ],
    ids=["one-point", "two-n", "two-n-two-batch", "two-shapes", "sweep"],
)
def test_plot_writes_the_figures_the_grid_supports(tmp_path, capsys, grid, figures):
    pytest.importorskip("matplotlib")
    path = tmp_path / "p.png"
    assert main([*QUICK_NUMPY, "--method", "pade,eigh,scipy", "--plot", str(path), *grid]) == 0
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(figures)
    for name in figures:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plots: {', '.join(str(tmp_path / f) for f in figures)}" in capsys.readouterr().out


def _result(method, n, batch, dtype="float64", **kw):
    return _bench.Result("numpy", "cpu", method, n, batch, dtype, 100.0, matmul_ms=0.01 * n, **kw)


def _drawn(fig):
    """A figure's legend entries, and its panels: title, axis labels, lines (label: x, y)."""
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    panels = [
        {
            "title": ax.get_title(),
            "x": ax.get_xlabel(),
            "y": ax.get_ylabel(),
            "lines": {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata())) for ln in ax.lines},
        }
        for ax in fig.axes
        if ax.get_visible()
    ]
    return [t.get_text() for lg in legends for t in lg.get_texts()], panels


def test_plots_draw_what_they_say(monkeypatch, tmp_path):
    """Panels per group, one line per method against the grid axis, forward time where no backward."""
    pytest.importorskip("matplotlib")
    plt = _cli._pyplot()
    close, figures = plt.close, []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figures to look at them
    results = [
        _result("pade", n, batch, fwd_ms=n + batch, fwdbwd_ms=2 * (n + batch), fwd_mm=3.0, fwdbwd_mm=5.0)
        for n in (8, 4)
        for batch in (1, 2)
    ]
    for r in results:
        r.err_fwd, r.err_grad = 1e-3, 1e-2
    results += [_result("scipy", 4, 1, fwd_ms=7.0, fwd_mm=9.0, err_fwd=0.0)]  # forward only, exact
    results += [_result("taylor", 4, 1, error="FloatingPointError: failed")]  # failed: not drawn
    try:
        paths = _cli._plot_all(results, str(tmp_path / "r.png"))
    finally:
        for fig in figures:
            close(fig)
    assert paths == [str(tmp_path / f) for f in ("r.png", "r-vs-n.png", "r-vs-batch.png", "r-frontier.png")]
    (main_legend, main), (n_legend, by_n), (_, by_batch), (_, frontier) = map(_drawn, figures)
    # the grid-point figure: grouped bars (no lines joining unrelated grid points), every method
    # in the legend once (scipy too, though it has no gradient), the floor band where an error is 0
    assert main_legend == ["pade", "scipy (forward only)", "below the float64 reference's accuracy"]
    assert [p["lines"] for p in main] == [{}, {}, {}]
    assert "matmul" in main[0]["y"] and "error of Y" in main[1]["y"] and "error of dL/dA" in main[2]["y"]
    assert [p["title"] for p in by_n] == [f"numpy (cpu) float64\nbatch {b}, cond 1e+02" for b in (1, 2)]
    assert all(p["x"] == "matrix size n" and "time (ms)" in p["y"] for p in by_n)
    assert by_n[1]["lines"] == {"pade": ([4, 8], [12, 20]), "one matmul A @ A": ([4, 8], [0.04, 0.08])}
    assert by_n[0]["lines"]["scipy (forward only)"] == ([4], [7.0])
    assert n_legend == ["pade", "scipy (forward only)", "one matmul A @ A"]
    assert [p["title"] for p in by_batch] == [f"numpy (cpu) float64\nn {n}, cond 1e+02" for n in (8, 4)]
    assert by_batch[0]["x"] == "batch size" and by_batch[0]["lines"]["pade"] == ([1, 2], [18, 20])
    (frontier,) = frontier
    assert frontier["x"] == "forward+backward time / one matmul"
    assert frontier["y"] == "relative error of Y (Frobenius, vs float64 eigh)"
    assert frontier["lines"] == {
        "pade": ([5.0] * 4, [1e-3] * 4),
        "scipy (forward only)": ([9.0], [1e-17]),  # an exact 0 is drawn at the bottom of the log axis
    }
    assert "batch x n: 1x8, 2x8, 1x4, 2x4;" in frontier["title"]


def test_plots_mark_flagged_times(monkeypatch, tmp_path):
    """A time the table flags carries a cross in every figure, with its own legend entry."""
    pytest.importorskip("matplotlib")
    plt = _cli._pyplot()
    close, figures = plt.close, []
    monkeypatch.setattr(plt, "close", figures.append)
    results = [
        _result("pade", n, 1, fwd_ms=n, fwdbwd_ms=2 * n, fwd_mm=3.0, fwdbwd_mm=5.0 * n, err_fwd=1e-3)
        for n in (4, 8)
    ]
    results[1].flags = "noisy"
    try:
        _cli._plot_all(results, str(tmp_path / "r.png"))
    finally:
        for fig in figures:
            close(fig)
    (main_legend, main), (_, by_n), (_, frontier) = map(_drawn, figures)
    assert _cli.FLAGGED in main_legend
    assert main[0]["lines"][_cli.FLAGGED][1] == [40.0]  # on the flagged bar, 8 x 5 matmuls
    assert by_n[0]["lines"][_cli.FLAGGED] == ([8], [16])
    assert frontier[0]["lines"][_cli.FLAGGED] == ([40.0], [1e-3])


def test_sweep_plot_legend_lists_every_method(monkeypatch, tmp_path):
    """scipy has no gradient panel line, yet it is in the legend; axes say what they show."""
    pytest.importorskip("matplotlib")
    plt = _cli._pyplot()
    close, figures = plt.close, []
    monkeypatch.setattr(plt, "close", figures.append)
    results = []
    for c in (1.0, 100.0):
        results.append(_bench.Result("numpy", "cpu", "pade", 4, 1, "float64", c, err_fwd=1e-3, err_grad=1e-2))
        results.append(_bench.Result("numpy", "cpu", "scipy", 4, 1, "float64", c, err_fwd=1e-8))
    try:
        _cli._plot_sweep(results, str(tmp_path / "e.png"))
    finally:
        for fig in figures:
            close(fig)
    legend, panels = _drawn(figures[0])
    assert legend == ["pade", "scipy"]
    assert all(p["x"] == "condition number of A" and "relative error" in p["y"] for p in panels)


def test_plots_of_a_run_where_every_candidate_failed(tmp_path):
    """Empty panels (nothing to draw on the log axes) are still written, without warnings."""
    pytest.importorskip("matplotlib")
    results = [
        _result("taylor", n, batch, error="FloatingPointError: failed") for n in (4, 8) for batch in (1, 2)
    ]
    paths = _cli._plot_all(results, str(tmp_path / "r.png"))
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "r-frontier.png",
        "r-vs-batch.png",
        "r-vs-n.png",
        "r.png",
    ]
    assert paths == [str(tmp_path / f) for f in ("r.png", "r-vs-n.png", "r-vs-batch.png", "r-frontier.png")]


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as exc:
        main([*QUICK_NUMPY, "--plot", str(tmp_path / "p.png")])
    assert exc.value.code == 2
    assert "matplotlib" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad",
    [
        [],
        ["nope"],
        ["bench", "--n", "0"],
        ["bench", "--n", "x"],
        ["bench", "--batch", "-3"],
        ["bench", "--cond", "0.5"],
        ["bench", "--cond", "inf"],
        ["bench", "--dtype", "float16"],
        ["bench", "--method", "magic"],
        ["bench", "--backend", "tensorflow"],
        ["bench", "--repeats", "0"],
        ["bench", "--threads", "zero"],
        ["bench", "--threads", "-1"],
        ["bench", "--shape", "64"],
        ["bench", "--shape", "0x8"],
        ["bench", "--shape", "8xn"],
        ["bench", "--sweep", "size"],
        ["bench", "--power", "1.5"],
        ["bench", "--power", "0"],
        ["bench", "--power", "quarter"],
        ["bench", "--json", "/nonexistent-dir/r.json"],
    ],
)
def test_bad_options_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(bad)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_unusable_backend_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(_cli, "available_backends", lambda: ["numpy"])
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--backend", "torch"])
    assert exc.value.code == 2
    assert "not usable" in capsys.readouterr().err


def test_runtime_failure_exits_1(monkeypatch, capsys):
    def boom(*args, **kwargs):
        msg = "simulated failure"
        raise RuntimeError(msg)

    monkeypatch.setattr(_cli, "run_grid", boom)
    assert main(QUICK_NUMPY) == 1
    assert "simulated failure" in capsys.readouterr().err


def test_unwritable_output_exits_1(tmp_path, capsys):
    assert main([*QUICK_NUMPY, "--method", "eigh", "--json", str(tmp_path)]) == 1  # a directory
    assert "cannot write" in capsys.readouterr().err


def test_a_failing_candidate_is_a_result(monkeypatch):
    be = _bench.make_backend("numpy")
    original = be.candidate

    def candidate(method, A, dtype, power=0.5):
        if method == "taylor":

            def fail(*args):
                msg = "simulated"
                raise FloatingPointError(msg)

            return _bench.Candidate(fail, fail)
        return original(method, A, dtype, power)

    monkeypatch.setattr(be, "candidate", candidate)
    res = _bench.measure(be, _bench.Case("numpy", 4, 2, "float64", 10.0), ["taylor", "eigh"], rounds=1)
    by = {r.method: r for r in res}
    assert by["taylor"].error == "FloatingPointError: simulated" and by["taylor"].fwd_ms is None
    assert by["eigh"].error is None and by["eigh"].fwd_ms > 0
    assert "simulated" in _bench.format_table(res)


def test_progress_goes_to_stderr_when_asked(capsys):
    assert main([*QUICK_NUMPY[:-1], "--method", "eigh", "--progress"]) == 0
    assert "bench" in capsys.readouterr().err
    assert main([*QUICK_NUMPY[:-1], "--method", "eigh"]) == 0  # not a terminal: no bar
    assert capsys.readouterr().err == ""


# -- the baselines ----------------------------------------------------------------------------


def test_published_coefficients_are_the_pade_approximant():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    p, q = monomial_pade_coefficients(5)
    P, Q = mpmath.pade(mpmath.taylor(lambda z: mpmath.sqrt(1 - z), 0, 10), 5, 5)
    assert max(abs(float(a) - b) for a, b in zip(P, p, strict=True)) < 1e-14
    assert max(abs(float(a) - b) for a, b in zip(Q, q, strict=True)) < 1e-14


def test_published_forward_is_the_scalar_approximant_on_the_eigenvalues():
    """On diagonal input the published forward is P/Q at ``1 - l/||A||_F``, times ``||A||_F^(1/2)``."""
    lam = np.array([1.0, 0.3, 0.05, 0.01])
    s = np.linalg.norm(lam)
    p, q = monomial_pade_coefficients(5)
    z = 1 - lam / s
    r = np.polyval(p[::-1], z) / np.polyval(q[::-1], z)
    np.testing.assert_allclose(np.diag(published_sqrtm(np.diag(lam))), r * np.sqrt(s), rtol=1e-13)
    Z = published_sqrtm(np.diag(lam), inverse=True)
    np.testing.assert_allclose(np.diag(Z), 1 / (r * np.sqrt(s)), rtol=1e-13)


def test_published_backward_solves_the_lyapunov_equation():
    """Given the exact root and enough iterations, the paper's backward is exact."""
    A = random_spd((2, 6), 10.0, seed=3)
    G = np.random.default_rng(4).standard_normal(A.shape)
    Y = eigh_root(A)
    X = published_sqrtm_vjp(A, Y, G, iters=40)
    np.testing.assert_allclose(Y @ X + X @ Y, G, atol=1e-10)
    Z = eigh_root(A, inverse=True)
    Xi = published_sqrtm_vjp(A, Z, G, inverse=True, iters=40)
    np.testing.assert_allclose(Z @ Xi + Xi @ Z, -(Z @ Z @ G @ Z @ Z), atol=1e-9)
    # and, symmetrised, it is the exact (Daleckii–Krein) gradient
    _, g = eigh_root_value_and_vjp(A, G)
    assert rel_error((X + np.swapaxes(X, -1, -2)) / 2, g) < 1e-10
    _, gi = eigh_root_value_and_vjp(A, G, inverse=True)
    assert rel_error((Xi + np.swapaxes(Xi, -1, -2)) / 2, gi) < 1e-9


def test_published_torch_function_matches_the_array_api_code():
    torch = pytest.importorskip("torch")
    from matsqrt._reference import published_torch

    A = random_spd((2, 5), 10.0, seed=5)
    G = np.random.default_rng(6).standard_normal(A.shape)
    At = torch.tensor(A, requires_grad=True)
    Y = published_torch().apply(At, False)
    Y.backward(torch.tensor(G))
    Y_np = published_sqrtm(A)
    np.testing.assert_allclose(Y.detach().numpy(), Y_np, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(At.grad.numpy(), published_sqrtm_vjp(A, Y_np, G), rtol=1e-10, atol=1e-12)


def test_exact_reference_of_the_harness():
    A = random_spd((3, 5), 50.0, seed=7)
    G = np.random.default_rng(8).standard_normal(A.shape)
    Y, g = _bench.exact_root_and_gradient(A, G)
    np.testing.assert_allclose(Y @ Y, A, atol=1e-13)
    Gs = (G + np.swapaxes(G, -1, -2)) / 2
    np.testing.assert_allclose(Y @ g + g @ Y, Gs, atol=1e-12)


def test_warnings_are_recorded_not_raised():
    """A tol out of reach warns (AccuracyWarning): the harness records it with the result."""
    be = _bench.make_backend("numpy")
    (r,) = _bench.measure(be, _bench.Case("numpy", 8, 1, "float64", 1e8), ["pade+tol"], timing=False)
    assert r.error is None and "AccuracyWarning" in r.warning
    assert r.err_fwd <= 1e-10  # the exact root (never worse than the default) is what came back
    assert "!" in _bench.format_sweep([r])


def test_published_torch_is_right_where_batched_lu_is_not():
    """n >= 128 with several threads: the torch baseline routes around pytorch#181570."""
    torch = pytest.importorskip("torch")
    from matsqrt._reference import published_torch

    A = random_spd((2, 160), 10.0, seed=9, dtype=np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # set explicitly (as --threads does), the batched LU fails
    try:
        Y = published_torch().apply(torch.tensor(A), False).numpy()
    finally:
        torch.set_num_threads(threads)
    assert rel_error(Y, published_sqrtm(A.astype(np.float64))) < 1e3 * np.finfo(np.float32).eps


def test_backends_run_in_separate_processes(tmp_path):
    """Several backends: one process each, so torch's idle threads never time NumPy (and back)."""
    pytest.importorskip("torch")
    path = tmp_path / "r.json"
    argv = ["bench", "--quick", "--backend", "numpy,torch", "--method", "eigh,scipy", "--no-progress"]
    assert main([*argv, "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["config"]["isolated"] is True
    assert {r["backend"] for r in doc["results"]} == {"numpy", "torch"}
    procs = doc["machine"]["processes"]
    assert "torch" not in procs["numpy"] and "torch" in procs["torch"]
    (sc,) = [r for r in doc["results"] if r["backend"] == "torch" and r["method"] == "scipy"]
    assert sc["error"].startswith("skipped: scipy.linalg.sqrtm takes NumPy arrays")


def test_rows_flag_spread_and_impossible_orders():
    """A forward slower than its forward+backward, or a wide spread, is flagged, not hidden."""
    results = {"pade": _bench.Result("numpy", "cpu", "pade", 4, 1, "float64", 100.0)}
    timers = [
        _bench._Timer(("pade", "fwd"), lambda: None, times=[2.0, 2.1, 2.0, 2.2, 2.0]),
        _bench._Timer(("pade", "fwdbwd"), lambda: None, times=[1.0, 1.0, 1.1, 1.0, 1.0]),
        _bench._Timer(("matmul", "matmul"), lambda: None, times=[0.1] * 5),
    ]
    _bench._summarise(results, timers)
    r = results["pade"]
    assert r.flags == "fwd>f+b" and r.fwd_spread == pytest.approx(0.1 / 2.0) and r.rounds == 5
    timers[1].times = [1.0, 3.0, 3.0, 9.0, 9.0]  # interquartile range 6 over a median of 3
    _bench._summarise(results, timers)
    assert r.flags == "noisy" and r.fwdbwd_spread == pytest.approx(2.0)
    table = _bench.format_table([r])
    assert "[noisy]" in table and "1 of 1 rows flagged" in table and "spread by more than 25%" in table
    timers[1].times = [3.0] * 5
    timers[2].times = [1.0] * 5  # f+b = 3 matmuls: impossible for a method that spends more
    _bench._summarise(results, timers)
    assert r.flags == "f+b<4mm" and r.fwdbwd_mm == 3.0
    assert "below 4 matmuls" in _bench.format_table([r])


def test_flagged_rows_are_measured_again(monkeypatch):
    """A grid point with a flagged row gets a second set of rounds, all candidates paired."""
    monkeypatch.setattr(_bench, "NOISY", -1.0)  # every row noisy
    be = _bench.make_backend("numpy")
    rows = _bench.measure(be, _bench.Case("numpy", 4, 2, "float64", 10.0), ["eigh", "eigh-root"], rounds=3)
    assert [r.rounds for r in rows] == [6, 6] and all(r.flags for r in rows)
    assert rows[1].fwdbwd_vs_eigh_root == 1.0


def test_rounds_keep_the_best_timing_of_short_calls():
    """Each round keeps the best of BEST_OF timings of a short call (a preempted one is dropped)."""
    times = iter([5.0, 1.0, 3.0, 2.0, 9.0, 9.0])
    timer = _bench._Timer(("m", "fwd"), lambda: None, first=1e-4)
    timer.run = lambda: next(times)
    _bench._round_robin([timer], 2)
    assert _bench.BEST_OF == 3 and timer.times == [1.0, 2.0]
    slow = _bench._Timer(("m", "fwd"), lambda: None, first=1.0)  # longer than LONG: once per round
    slow.run = iter([4.0, 5.0]).__next__
    _bench._round_robin([slow], 2)
    assert slow.times == [4.0, 5.0]


def test_thread_environment(monkeypatch):
    """Thread counts for libraries loaded later, and the XLA scheduler that cannot hang, always."""
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    env = _bench.thread_environment(1)
    assert {env[k] for k in _bench.THREAD_VARIABLES} == {"1"}
    assert env["XLA_FLAGS"].split() == [_bench.XLA_WORKAROUND, *_bench.XLA_ONE_THREAD]
    assert _bench.thread_environment(0) == {"XLA_FLAGS": _bench.XLA_WORKAROUND}
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")  # the user's flags are kept
    assert _bench.thread_environment(0)["XLA_FLAGS"] == f"--xla_dump_to=/tmp/x {_bench.XLA_WORKAROUND}"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    with _bench.limit_threads(1, ["numpy"]):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert _bench.thread_environment(1)["XLA_FLAGS"].count(_bench.XLA_WORKAROUND) == 1  # not twice
    assert os.environ["OPENBLAS_NUM_THREADS"] == "7"  # restored


def test_grid_shapes():
    """--shape lists pairs; --n and --batch pair every value; alone, the other axis is filled in."""
    parse = _cli.build_parser().parse_args
    shapes = lambda *a: _cli._grid_shapes(parse(["bench", *a]), _cli.DEFAULTS)  # noqa: E731
    assert shapes() == [(256, 32), (64, 64), (8, 256)]
    assert shapes("--shape", "2x8,1X16") == [(2, 8), (1, 16)]
    assert shapes("--n", "4,8", "--batch", "1,2") == [(1, 4), (2, 4), (1, 8), (2, 8)]
    assert shapes("--n", "32") == [(_cli.FALLBACK["batch"], 32)]
    assert _cli._grid_shapes(parse(["bench", "--n", "16"]), _cli.QUICK) == [(2, 16)]


def test_threads_limit_reaches_every_blas(tmp_path):
    """--threads 1 limits NumPy's BLAS and SciPy's own (loaded later by the scipy candidate)."""
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy")
    path = tmp_path / "r.json"
    assert main([*QUICK_NUMPY, "--method", "scipy,eigh", "--threads", "1", "--json", str(path)]) == 0
    assert json.loads(path.read_text())["machine"]["blas_threads"] == [1]
    assert main([*QUICK_NUMPY, "--method", "eigh", "--threads", "0", "--json", str(path)]) == 0
    from threadpoolctl import threadpool_info

    own = sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
    assert json.loads(path.read_text())["machine"]["blas_threads"] == own  # 0: the libraries' own
