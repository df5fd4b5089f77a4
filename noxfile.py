"""Sessions: ``tests`` (every CPU backend in one venv; with ``lint`` the default, what CI runs),
``quick`` (NumPy only, the core files: about a minute), ``tests-backend(backend=...)`` (tag
"per-backend"), ``lint``, ``docs`` and ``bench``.

Heavy backends are optional: each ``tests-backend`` session installs only what it needs.
torch is pinned here (``torch==2.13.0``), not in pyproject.toml. From PyPI on Linux x86-64 that
pin is the CUDA build (several GB with NVIDIA's libraries); for the CPU build (about 190 MB) run
``PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu nox``, or point pip at a local wheel
(``PIP_FIND_LINKS=/path/to/wheels``).
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint"]

TORCH = "torch==2.13.0"
JAX = "jax[cpu]>=0.4.30"
CUPY = "cupy-cuda12x>=13"

# backend -> (extra requirements, MATSQRT_BACKENDS value)
BACKENDS = {
    "numpy": ([], "numpy,array_api_strict"),
    "torch": ([TORCH], "torch"),
    "jax": ([JAX], "jax"),
    "dask": ([".[dask]"], "dask"),
    "cupy": ([CUPY], "cupy"),
}


def _pytest(session: nox.Session, backends: str, *, success_codes: list[int] | None = None) -> None:
    env = {"MATSQRT_BACKENDS": backends}
    if os.environ.get("CI"):
        env["CI"] = "1"
    args = session.posargs or ["-q"]
    session.run("pytest", *args, env=env, success_codes=success_codes or [0])


@nox.session(name="tests", tags=["tests"])
def tests_all(session: nox.Session) -> None:
    """The whole suite, every CPU backend, in one virtualenv (what CI runs)."""
    session.install("-e", ".[test,dask,plot]", TORCH, JAX)
    _pytest(session, "numpy,array_api_strict,torch,jax,dask")


@nox.session
def quick(session: nox.Session) -> None:
    """A quick check after a change (about a minute on 2 cores): NumPy only; the basics, the
    errors, the checks and general matrices. The full suite is ``nox -s tests``."""
    session.install("-e", ".[test]")
    files = ["tests/test_basic.py", "tests/test_errors.py", "tests/test_trust.py", "tests/test_general.py"]
    session.run(
        "pytest", *(session.posargs or ["-q", "-x", *files]), env={"MATSQRT_BACKENDS": "numpy", "CI": "1"}
    )


@nox.session(name="tests-backend", tags=["per-backend"])
@nox.parametrize("backend", list(BACKENDS))
def tests_backend(session: nox.Session, backend: str) -> None:
    """The suite on one backend (``nox -s "tests-backend(backend='torch')"``)."""
    extra, selection = BACKENDS[backend]
    session.install("-e", ".[test]", *extra)
    if backend == "cupy":
        # skipped cleanly without a GPU: every test skips, pytest exits 0 or 5
        _pytest(session, selection, success_codes=[0, 5])
    else:
        _pytest(session, selection)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, imports, numpy rules) and the numpydoc validation of the public API."""
    session.install("ruff>=0.5", "numpydoc>=1.7", "numpy", "array-api-compat")
    session.run("ruff", "check", "matsqrt", "tests", "benchmarks", "docs/examples", "noxfile.py")
    session.run("ruff", "format", "--check", ".")
    # numpydoc validation of the public API's docstrings (rules in pyproject.toml)
    session.run(
        "python", "-m", "numpydoc", "lint", "matsqrt/_api.py", "matsqrt/_diagnostics.py", "matsqrt/testing.py"
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML docs with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def bench(session: nox.Session) -> None:
    """The main job: ``python -m matsqrt bench`` (pass options after ``--``)."""
    session.install("-e", ".[bench,plot]", TORCH)
    session.run("python", "-m", "matsqrt", "bench", *session.posargs)
