"""The command line: help, a quick bench with JSON, plots, bad options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from matsqrt._cli import main
from matsqrt._reference import monomial_pade_coefficients


def test_help_exits_zero():
    out = subprocess.run([sys.executable, "-m", "matsqrt", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "bench" in out.stdout


def test_quick_bench_writes_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    rc = main(["bench", "--n", "8", "--batch", "2", "--backend", "numpy", "--repeats", "1",
               "--no-progress", "--json", str(path)])
    assert rc == 0
    assert "paper" in capsys.readouterr().out
    rows = json.loads(path.read_text())["results"]
    methods = {r["method"] for r in rows}
    assert {"pade", "taylor", "newton_schulz", "eigh", "paper"} <= methods
    eigh = next(r for r in rows if r["method"] == "eigh")
    assert eigh["err_fwd"] < 1e-5 and eigh["err_grad"] < 1e-5 and eigh["fwd_ms"] > 0
    pade = next(r for r in rows if r["method"] == "pade")
    paper = next(r for r in rows if r["method"] == "paper")
    assert pade["err_fwd"] < paper["err_fwd"]


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "p.png"
    assert main(["bench", "--n", "8", "--batch", "2", "--backend", "numpy", "--repeats", "1",
                 "--no-progress", "--plot", str(path)]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("bad", [["bench", "--n", "0"], ["bench", "--method", "magic"], ["bench", "--cond", "x"], ["nope"]])
def test_bad_options_exit_2(bad):
    with pytest.raises(SystemExit) as exc:
        main(bad)
    assert exc.value.code == 2


def test_published_coefficients_are_the_pade_approximant():
    mpmath = pytest.importorskip("mpmath")
    p, q = monomial_pade_coefficients(5)
    taylor = mpmath.taylor(lambda z: mpmath.sqrt(1 - z), 0, 10)
    P, Q = mpmath.pade(taylor, 5, 5)
    assert max(abs(float(a) - b) for a, b in zip(P, p, strict=True)) < 1e-14
    assert max(abs(float(a) - b) for a, b in zip(Q, q, strict=True)) < 1e-14
