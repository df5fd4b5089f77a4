"""The benchmark harness behind ``python -m matsqrt bench`` and ``benchmarks/``.

One grid point (a :class:`Case`: backend, n, batch, dtype, condition number, and
the power: ``1/2`` for the square root, else :func:`matsqrt.powm`'s ``A^p``) is
measured by :func:`measure`:

* every candidate (a matsqrt method, or a baseline) is run once to warm up
  (and compile, for JAX), and its result is checked: the relative Frobenius
  error of ``Y`` against an eigh-based float64 reference, and of the gradient
  of ``<G, Y>`` (a fixed random ``G``) against the exact Daleckii–Krein
  gradient in float64. Hermitian input: both gradients are compared by their
  Hermitian parts (the only part that acts on Hermitian perturbations).
  A candidate that raises is recorded as failed; warnings it gives (e.g. an
  ``AccuracyWarning`` for a ``tol`` out of reach) are recorded with it;
* then ``rounds`` paired round-robin rounds: in each round every candidate's
  forward, every candidate's forward+backward and one batched matmul of the
  same shape (``A @ A``, the unit of "matmul-equivalents", timed exactly
  like the candidates) run in an order rotated from round to round. Each
  timing repeats a call enough times to last about ``MIN_TIME`` (calibrated
  during the warm-up, which repeats until two timings agree within
  ``STABLE``); a round keeps the best of ``BEST_OF`` timings (one, for
  timings longer than ``LONG``). On a CPU a timing is the smaller of its
  wall-clock time and the process's CPU time over the same calls, so time
  during which another process had the core is not counted (the libraries
  run one thread each by default, so their CPU time is their work; where a
  library runs threads in parallel, the wall clock is the smaller). On a
  GPU: wall-clock time;
* each row reports the spread of its per-round times (interquartile range /
  median) and is flagged ``"noisy"`` above ``NOISY``, ``"fwd>f+b"`` when its
  forward median exceeds its forward+backward one, ``"f+b<4mm"`` when its
  forward+backward is below ``MIN_MM`` matmuls (every method spends more).
  A grid point with a flagged row is measured again (``rounds`` more
  rounds, once) and summarised over all its rounds. Times, ratios to the
  published algorithm and to eigh-root, and matmul-equivalents are medians
  over the rounds of per-round values, so a machine-wide slowdown during one
  round cancels out of the ratios. A grid point whose rounds would take
  longer than ``CASE_BUDGET`` gets fewer rounds (at least ``MIN_ROUNDS``);
  ``Result.rounds`` says how many were summarised.

Backward passes: torch autograd (``torch.autograd.grad``), ``jax.vjp``
under ``jax.jit``, and for NumPy / CuPy the explicit VJP of the core (what
:func:`matsqrt.sqrtm_vjp` runs, with the options autodiff would use).
The matsqrt candidates call the public :func:`matsqrt.sqrtm` (validation
included); on JAX, ``tol=`` (which reads values) resolves the order once from
the input, eagerly, and the resolved computation runs under ``jit``.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .testing import random_spd, rel_error

__all__ = [
    "BACKENDS",
    "BASELINES",
    "DEFAULT_METHODS",
    "METHODS",
    "POWER_METHODS",
    "Backend",
    "Candidate",
    "Case",
    "Result",
    "as_dicts",
    "available_backends",
    "exact_root_and_gradient",
    "format_sweep",
    "format_table",
    "grid",
    "limit_threads",
    "machine_info",
    "make_backend",
    "measure",
    "problem",
    "reference",
    "run_grid",
    "thread_environment",
]

#: matsqrt methods, then baselines (order of the table)
MATSQRT_METHODS = ("pade", "pade+tol", "taylor", "newton_schulz", "eigh")
BASELINES = ("published", "eigh-root", "scipy")
METHODS = MATSQRT_METHODS + BASELINES
#: what ``python -m matsqrt bench`` times unless told (Taylor and Newton-Schulz, the paper's
#: other forwards, are slower forward+backward and less accurate than the default: by name)
DEFAULT_METHODS = ("pade", "pade+tol", "eigh", *BASELINES)
#: the methods of a --power run (powm's, and the coupled Newton iteration of Shampoo-type optimizers)
POWER_METHODS = ("pade", "pade+tol", "eigh", "newton", "eigh-root", "scipy")
ALL_METHODS = (*METHODS, "newton")
BACKENDS = ("numpy", "torch", "jax", "cupy")
DTYPES = ("float32", "float64")

#: the accurate mode: method="pade" with this tol
PADE_TOL = {"float32": 1e-6, "float64": 1e-12}
#: keyword arguments of matsqrt.sqrtm per method (backward="auto" throughout)
MATSQRT_KWARGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "pade": lambda dt: {"method": "pade"},
    "pade+tol": lambda dt: {"method": "pade", "tol": PADE_TOL[dt]},
    "taylor": lambda dt: {"method": "taylor"},
    "newton_schulz": lambda dt: {"method": "newton_schulz"},
    "eigh": lambda dt: {"method": "eigh"},
}
#: one timed measurement lasts at least this long (calls repeated)
MIN_TIME = 2e-3
#: ... with at most this many calls
MAX_NUMBER = 200
#: a grid point's timed rounds are cut (to no fewer than MIN_ROUNDS) to last about this long
CASE_BUDGET = 4.0
MIN_ROUNDS = 3
#: warm-up: repeat until two consecutive timings agree within STABLE (at most WARM_MAX times)
STABLE = 0.2
WARM_MAX = 3
#: a row whose spread (interquartile range / median) exceeds this is flagged "noisy"
NOISY = 0.25
#: a round keeps the best of this many timings of each candidate, if a timing lasts less than LONG seconds
#: (a longer one is timed once: a busy machine lengthens it in proportion, which the paired ratios cancel)
BEST_OF = 3
LONG = 0.05
#: every method spends more than this many matmuls forward+backward: a row below it is flagged "f+b<4mm"
MIN_MM = 4.0
#: seeds of the test matrices and of the cotangent
SEED_A, SEED_G = 0, 1

Fn = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One grid point."""

    backend: str
    n: int
    batch: int
    dtype: str
    cond: float
    power: float = 0.5


@dataclass
class Result:
    """One candidate at one grid point. Times in ms; ``None``: not measured or not finite."""

    backend: str
    device: str
    method: str
    n: int
    batch: int
    dtype: str
    cond: float
    power: float = 0.5
    fwd_ms: float | None = None
    fwdbwd_ms: float | None = None
    matmul_ms: float | None = None
    fwd_mm: float | None = None
    fwdbwd_mm: float | None = None
    fwd_vs_published: float | None = None
    fwdbwd_vs_published: float | None = None
    fwd_vs_eigh_root: float | None = None
    fwdbwd_vs_eigh_root: float | None = None
    err_fwd: float | None = None
    err_grad: float | None = None
    rounds: int = 0
    #: spread of the per-round times: interquartile range / median (``None`` below 3 rounds)
    fwd_spread: float | None = None
    fwdbwd_spread: float | None = None
    #: ``"noisy"`` (spread above ``NOISY``), ``"fwd>f+b"`` (forward slower than forward+backward)
    flags: str | None = None
    error: str | None = None
    warning: str | None = None


@dataclass
class Candidate:
    """A forward ``fwd(A) -> Y`` and a forward+backward ``fwdbwd(A, G) -> (Y, dL/dA)``."""

    fwd: Fn
    fwdbwd: Fn | None = None
    numpy_input: bool = False  # scipy: takes and returns NumPy arrays


# -- backends ------------------------------------------------------------------------------


def _importable(name: str) -> bool:
    """Installed (found without importing it: torch and JAX take seconds to import)."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _cupy_usable() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or a CUDA runtime error without a GPU
        return False


def available_backends() -> list[str]:
    """The backends this machine can run: numpy, and torch / jax / cupy where usable."""
    names = ["numpy"]
    names += [m for m in ("torch", "jax") if _importable(m)]
    if _cupy_usable():
        names.append("cupy")
    return names


class Backend:
    """How to convert, synchronise and differentiate on one array library.

    NumPy and CuPy (no autodiff): the explicit VJP of the core.
    """

    name = "numpy"

    def __init__(self) -> None:
        import array_api_compat.numpy as xp

        self.xp = xp
        self.device = "cpu"

    def asarray(self, x: np.ndarray) -> Any:
        return x

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def sync(self, x: Any) -> Any:
        return x

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def jit(self, f: Fn) -> Fn:
        return f

    # -- candidates ------------------------------------------------------------
    def matmul(self) -> Fn:
        return self.jit(lambda a: a @ a)

    def candidate(self, method: str, A: Any, dtype: str, power: float = 0.5) -> Candidate | None:
        """The candidate for ``method`` on inputs like ``A``; ``None`` where this backend cannot run it.

        ``A`` is used only where options must be resolved from values before tracing (JAX ``tol=``).
        ``power``: ``0.5`` for the square root, else ``A^power`` (:func:`matsqrt.powm`).
        """
        if power != 0.5 and method in ("taylor", "newton_schulz", "published"):
            return None
        if method in MATSQRT_METHODS:
            return self._matsqrt(MATSQRT_KWARGS[method](dtype), A, power)
        if method == "published":
            return self._published()
        if method == "eigh-root":
            return self._eigh_root() if power == 0.5 else self._eigh_power(power)
        if method == "scipy":
            return self._scipy() if power == 0.5 else self._scipy_power(power)
        if method == "newton":
            r = _newton_root(power)
            return None if r is None else self._newton(r)
        msg = f"unknown method {method!r}; choose from {', '.join(ALL_METHODS)}"
        raise ValueError(msg)

    def unavailable(self, method: str, power: float = 0.5) -> str:
        """Why :meth:`candidate` gave ``None`` for ``method`` (shown in the table)."""
        if method == "newton":
            return "skipped: the coupled Newton iteration computes A^(-1/r) for an integer r (--power -0.25)"
        if power != 0.5 and method in ("taylor", "newton_schulz", "published"):
            return "skipped: square root only (no --power)"
        if method == "scipy":
            if self.name != "numpy":
                fn = "sqrtm" if power == 0.5 else "fractional_matrix_power"
                return f"skipped: scipy.linalg.{fn} takes NumPy arrays (see the numpy rows)"
            return "skipped: scipy is not installed (pip install scipy)"
        return f"skipped: not available on {self.name}"

    def _matsqrt(self, kw: dict[str, Any], A: Any, power: float = 0.5) -> Candidate:
        fn = _public(power)

        def fwd(A: Any) -> Any:
            return fn(A, **kw)

        def fwdbwd(A: Any, G: Any) -> Any:
            return _core_value_and_vjp(A, G, kw, power)

        return Candidate(fwd, fwdbwd)

    def _eigh_power(self, p: float) -> Candidate:
        from ._reference import eigh_power, eigh_power_value_and_vjp

        return Candidate(lambda A: eigh_power(A, p), lambda A, G: eigh_power_value_and_vjp(A, G, p))

    def _newton(self, r: int) -> Candidate:
        from ._reference import coupled_newton_inverse_root

        # eager (it reads its error every iteration, as optimizers do), forward only
        return Candidate(lambda A: coupled_newton_inverse_root(A, r), None)

    def _scipy_power(self, p: float) -> Candidate | None:
        if self.name != "numpy":
            return None
        try:
            import scipy.linalg as sl
        except ImportError:
            return None

        def fwd(A: np.ndarray) -> np.ndarray:
            flat = A.reshape(-1, *A.shape[-2:])
            return np.stack([sl.fractional_matrix_power(a, p).real for a in flat]).reshape(A.shape)

        return Candidate(fwd, None, numpy_input=True)

    def _published(self) -> Candidate:
        from ._reference import published_sqrtm, published_sqrtm_vjp

        def fwdbwd(A: Any, G: Any) -> Any:
            Y = published_sqrtm(A)
            return Y, published_sqrtm_vjp(A, Y, G)

        return Candidate(published_sqrtm, fwdbwd)

    def _eigh_root(self) -> Candidate:
        from ._reference import eigh_root, eigh_root_value_and_vjp

        return Candidate(eigh_root, eigh_root_value_and_vjp)

    def _scipy(self) -> Candidate | None:
        try:
            import scipy.linalg as sl
        except ImportError:
            return None

        def fwd(A: np.ndarray) -> np.ndarray:
            flat = A.reshape(-1, *A.shape[-2:])
            return np.stack([sl.sqrtm(a) for a in flat]).reshape(A.shape)

        return Candidate(fwd, None, numpy_input=True)


def _core_value_and_vjp(A: Any, G: Any, kw: dict[str, Any], power: float = 0.5) -> tuple[Any, Any]:
    """``(Y, dL/dA)`` for libraries without autodiff: :func:`matsqrt.sqrtm_and_vjp`.

    The options are resolved as :func:`matsqrt.sqrtm` resolves them (so the default
    Padé uses the rational backward, reusing the forward's inverse). Other powers:
    the same machinery for :func:`matsqrt.powm`.
    """
    import matsqrt

    from ._api import _root_and_vjp

    if power == 0.5:
        Y, vjp = matsqrt.sqrtm_and_vjp(A, **kw)
    else:
        opts = {"method": "pade", "order": None, "tol": None, "backward": "auto", **kw}
        Y, vjp = _root_and_vjp(
            A, power < 0, opts["method"], opts["order"], opts["tol"], opts["backward"], True, True, abs(power)
        )
    return Y, vjp(G)


def _public(power: float) -> Fn:
    """``matsqrt.sqrtm`` for the square root, else ``A -> matsqrt.powm(A, power)``."""
    import matsqrt

    if power == 0.5:
        return matsqrt.sqrtm
    return lambda A, **kw: matsqrt.powm(A, power, **kw)


def _newton_root(power: float) -> int | None:
    """``r`` with ``power = -1/r`` (an integer ``r >= 2``), else ``None``."""
    if power >= 0:
        return None
    r = round(-1 / power)
    return r if r >= 2 and abs(-1 / r - power) <= 1e-12 else None


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self) -> None:
        import array_api_compat.cupy as xp
        import cupy

        self.xp = xp
        self._cp = cupy
        self.device = f"cuda:{cupy.cuda.Device().id}"

    def asarray(self, x: np.ndarray) -> Any:
        return self._cp.asarray(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return self._cp.asnumpy(x)

    def sync(self, x: Any) -> Any:
        self._cp.cuda.Device().synchronize()
        return x

    def _scipy(self) -> Candidate | None:
        return None


class TorchBackend(Backend):
    """torch on CUDA when available, else CPU; backward by ``torch.autograd.grad``."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def asarray(self, x: np.ndarray) -> Any:
        return self._torch.as_tensor(x, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def sync(self, x: Any) -> Any:
        if self.device != "cpu":
            self._torch.cuda.synchronize()
        return x

    def _autograd(self, f: Fn) -> Fn:
        torch = self._torch

        def fwdbwd(A: Any, G: Any) -> tuple[Any, Any]:
            A = A.detach().requires_grad_(True)
            Y = f(A)
            (g,) = torch.autograd.grad(Y, A, G)
            return Y.detach(), g

        return fwdbwd

    def _matsqrt(self, kw: dict[str, Any], A: Any, power: float = 0.5) -> Candidate:
        fn = _public(power)

        def fwd(A: Any) -> Any:
            return fn(A, **kw)

        return Candidate(fwd, self._autograd(fwd))

    def _eigh_power(self, p: float) -> Candidate:
        from ._reference import eigh_power

        def fwd(A: Any) -> Any:
            return eigh_power(A, p)

        return Candidate(fwd, self._autograd(fwd))

    def _published(self) -> Candidate:
        from ._reference import published_torch

        fn = published_torch()

        def fwd(A: Any) -> Any:
            return fn.apply(A, False)

        return Candidate(fwd, self._autograd(fwd))

    def _eigh_root(self) -> Candidate:
        from ._reference import eigh_root

        return Candidate(eigh_root, self._autograd(eigh_root))

    def _scipy(self) -> Candidate | None:
        return None


class JaxBackend(Backend):
    """JAX on its default device; everything under ``jax.jit`` (but ``tol=``, which needs values)."""

    name = "jax"

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        self._jax = jax
        self._jnp = jnp
        self.device = str(jax.devices()[0].platform)

    def context(self) -> contextlib.AbstractContextManager[Any]:
        # float64 needs x64; scoped, so the process's JAX configuration is unchanged
        return self._jax.enable_x64(True)

    def asarray(self, x: np.ndarray) -> Any:
        return self._jax.device_put(x)

    def sync(self, x: Any) -> Any:
        return self._jax.block_until_ready(x)

    def jit(self, f: Fn) -> Fn:
        return self._jax.jit(f)

    def _vjp(self, f: Fn) -> Fn:
        jax = self._jax

        def fwdbwd(A: Any, G: Any) -> tuple[Any, Any]:
            Y, pull = jax.vjp(f, A)
            return Y, pull(G)[0]

        return jax.jit(fwdbwd)

    def _matsqrt(self, kw: dict[str, Any], A: Any, power: float = 0.5) -> Candidate:
        fn = _public(power)

        def fwd(A: Any) -> Any:
            return fn(A, **kw)

        if "tol" in kw:
            # tol= reads the values of A, which jit cannot: choose the order from this A once,
            # eagerly (as a user would), then run the resolved options under jit
            from ._validation import resolve_options
            from .backends import adapter_for

            adapter = adapter_for(self._jnp, A)
            opt = resolve_options(
                A,
                adapter.ops,
                inverse=power < 0,
                method=kw["method"],
                order=None,
                tol=kw["tol"],
                backward="auto",
                hermitian=True,
                accelerator=adapter.accelerator,
                power=abs(power),
            )

            def fwd(A: Any) -> Any:
                return adapter_for(self._jnp, A).root(A, opt)

        return Candidate(self.jit(fwd), self._vjp(fwd))

    def _published(self) -> Candidate:
        from ._reference import published_jax

        fn = published_jax(False)
        return Candidate(self.jit(fn), self._vjp(fn))

    def _eigh_root(self) -> Candidate:
        from ._reference import eigh_root

        return Candidate(self.jit(eigh_root), self._vjp(eigh_root))

    def _eigh_power(self, p: float) -> Candidate:
        from ._reference import eigh_power

        def fwd(A: Any) -> Any:
            return eigh_power(A, p)

        return Candidate(self.jit(fwd), self._vjp(fwd))

    def _scipy(self) -> Candidate | None:
        return None


def make_backend(name: str) -> Backend:
    """The :class:`Backend` called ``name`` (imports its library)."""
    classes = {"numpy": Backend, "torch": TorchBackend, "jax": JaxBackend, "cupy": CupyBackend}
    if name not in classes:
        msg = f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}"
        raise ValueError(msg)
    return classes[name]()


# -- references ------------------------------------------------------------------------------


def problem(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """``(A, G)`` of the case, in its dtype: ``random_spd`` matrices and a fixed random ``G``."""
    A = random_spd((case.batch, case.n), case.cond, dtype=case.dtype, seed=SEED_A)
    G = np.random.default_rng(SEED_G).standard_normal(A.shape).astype(case.dtype)
    return A, G


def exact_root_and_gradient(A: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 ``A^(1/2)`` (eigh) and the Daleckii–Krein gradient of ``<G, A^(1/2)>``.

    The gradient is the Hermitian one (``G`` replaced by its Hermitian part).
    Eigenvalues that rounding made negative are clipped to 0.
    """
    w, V = np.linalg.eigh(A.astype(np.float64))
    r = np.sqrt(np.clip(w, 0, None))
    Vt = np.swapaxes(V, -1, -2)
    Y = (V * r[..., None, :]) @ Vt
    with np.errstate(divide="ignore", invalid="ignore"):
        D = 1 / (r[..., :, None] + r[..., None, :])
    Gs = _sym(G.astype(np.float64))
    return Y, V @ ((Vt @ Gs @ V) * D) @ Vt


def _sym(X: np.ndarray) -> np.ndarray:
    return (X + np.swapaxes(X, -1, -2)) / 2


def _error(X: np.ndarray, ref: np.ndarray) -> float | None:
    with np.errstate(all="ignore"):
        e = rel_error(np.real_if_close(X), ref)
    return e if math.isfinite(e) else None


# -- timing -----------------------------------------------------------------------------------


@dataclass
class _Timer:
    key: tuple[str, str]  # (method, "fwd" | "fwdbwd" | "matmul")
    call: Callable[[], Any]
    number: int = 1
    first: float = 0.0
    times: list[float] = field(default_factory=list)
    #: on a CPU: a timing is the smaller of its wall-clock and its process CPU time
    cpu: bool = False

    def run(self) -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(self.number):
            self.call()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return (min(wall, cpu) if self.cpu else wall) / self.number

    @property
    def best_of(self) -> int:
        """Timings per round: :data:`BEST_OF`, or one for a timing longer than :data:`LONG`."""
        return BEST_OF if self.number * self.first < LONG else 1

    def warm_up(self, calibrate: bool = False) -> Any:
        """One call; its output.

        ``calibrate``: choose ``number`` from its time, then repeat the timing until two
        consecutive ones agree within ``STABLE`` (caches, allocator and thread pools warm;
        at most ``WARM_MAX`` repetitions).
        """
        t0 = time.perf_counter()
        out = self.call()
        if calibrate:
            self.first = time.perf_counter() - t0
            self.number = max(1, min(MAX_NUMBER, math.ceil(MIN_TIME / max(self.first, 1e-9))))
            prev = self.run()
            for _ in range(WARM_MAX if self.first < LONG else 1):
                cur = self.run()
                if abs(cur - prev) <= STABLE * min(cur, prev):
                    break
                prev = cur
            self.first = cur
        return out


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120]}" if text else type(exc).__name__


def reference(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(A, G, Y_ref, grad_ref)`` of a grid point: :func:`problem` and its float64 references."""
    A, G = problem(case)
    if case.power == 0.5:
        return (A, G, *exact_root_and_gradient(A, G))
    from ._reference import eigh_power_value_and_vjp

    return (A, G, *eigh_power_value_and_vjp(A.astype(np.float64), G.astype(np.float64), case.power))


def measure(
    be: Backend,
    case: Case,
    methods: Iterable[str],
    rounds: int = 5,
    *,
    timing: bool = True,
    ref: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> list[Result]:
    """Measure every method at one grid point (see the module docstring).

    ``timing=False`` (or ``rounds=0``) checks errors only: one call each, no times.
    ``ref``: the case's :func:`reference`, if already computed.
    """
    methods = list(methods)
    timing = timing and rounds > 0
    A_np, G_np, Y_ref, g_ref = reference(case) if ref is None else ref
    results: dict[str, Result] = {}
    timers: list[_Timer] = []
    with be.context():
        A, G = be.asarray(A_np), be.asarray(G_np)
        for m in methods:
            r = Result(be.name, be.device, m, case.n, case.batch, case.dtype, case.cond, case.power)
            results[m] = r
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    timers += _check(be, m, r, A, G, A_np, Y_ref, g_ref, timing)
                except Exception as exc:  # a failing candidate is a result, not a crash
                    r.error = _describe(exc)
            if caught:
                r.warning = "; ".join(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
        if timing and timers:
            mm = be.matmul()
            timers.append(_Timer(("matmul", "matmul"), lambda: be.sync(mm(A))))
            timers[-1].warm_up()
            timers[-1].warm_up(calibrate=True)
            for t in timers:
                t.cpu = be.device == "cpu"
            per_round = sum(t.best_of * t.number * t.first for t in timers)
            if per_round * rounds > CASE_BUDGET:
                rounds = max(min(rounds, MIN_ROUNDS), int(CASE_BUDGET / per_round))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # seen during the checks; not again at every call
                _round_robin(timers, rounds)
                _summarise(results, timers)
                if any(r.flags for r in results.values()):
                    _round_robin(timers, rounds)  # once more, all candidates (the ratios stay paired)
                    _summarise(results, timers)
    return list(results.values())


def _check(
    be: Backend,
    m: str,
    r: Result,
    A: Any,
    G: Any,
    A_np: np.ndarray,
    Y_ref: np.ndarray,
    g_ref: np.ndarray,
    timing: bool,
) -> list[_Timer]:
    """Run candidate ``m`` once (compiling it), record its errors in ``r``; return its timers."""
    cand = be.candidate(m, A, r.dtype, r.power)
    if cand is None:
        r.error = be.unavailable(m, r.power)
        return []
    a = A_np if cand.numpy_input else A
    to_np = np.asarray if cand.numpy_input else be.to_numpy
    timers = [_Timer((m, "fwd"), lambda: be.sync(cand.fwd(a)))]
    r.err_fwd = _error(to_np(timers[0].warm_up()), Y_ref)
    if cand.fwdbwd is not None:
        timers.append(_Timer((m, "fwdbwd"), lambda: be.sync(cand.fwdbwd(A, G))))
        _, g = timers[1].warm_up()
        r.err_grad = _error(_sym(be.to_numpy(g)), g_ref)
    if timing:
        for t in timers:
            t.warm_up(calibrate=True)
        return timers
    return []


def _round_robin(timers: list[_Timer], rounds: int) -> None:
    k = len(timers)
    start = len(timers[0].times)
    for r in range(start, start + rounds):
        for i in range(k):
            t = timers[(i + r) % k]  # rotate the order from round to round
            t.times.append(min(t.run() for _ in range(t.best_of)))


def _summarise(results: dict[str, Result], timers: list[_Timer]) -> None:
    by = {t.key: t.times for t in timers}
    mm = by.get(("matmul", "matmul"), [])

    def paired(a: list[float], b: list[float]) -> float | None:
        if len(a) != len(b) or not a:
            return None
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    for m, r in results.items():
        f, fb = by.get((m, "fwd"), []), by.get((m, "fwdbwd"), [])
        if not f:
            continue
        r.rounds = len(f)
        r.fwd_ms = 1e3 * statistics.median(f)
        r.fwdbwd_ms = 1e3 * statistics.median(fb) if fb else None
        r.fwd_spread, r.fwdbwd_spread = _spread(f), _spread(fb)
        r.matmul_ms = 1e3 * statistics.median(mm) if mm else None
        r.fwd_mm, r.fwdbwd_mm = paired(f, mm), paired(fb, mm)
        flags = []
        if max(r.fwd_spread or 0.0, r.fwdbwd_spread or 0.0) > NOISY:
            flags.append("noisy")
        if r.fwdbwd_ms is not None and r.fwd_ms > r.fwdbwd_ms:
            flags.append("fwd>f+b")
        if r.fwdbwd_mm is not None and r.fwdbwd_mm < MIN_MM:
            flags.append("f+b<4mm")
        r.flags = ",".join(flags) or None
        pf, pfb = by.get(("published", "fwd"), []), by.get(("published", "fwdbwd"), [])
        ef, efb = by.get(("eigh-root", "fwd"), []), by.get(("eigh-root", "fwdbwd"), [])
        r.fwd_vs_published, r.fwdbwd_vs_published = paired(f, pf), paired(fb, pfb)
        r.fwd_vs_eigh_root, r.fwdbwd_vs_eigh_root = paired(f, ef), paired(fb, efb)


def _spread(times: list[float]) -> float | None:
    """Interquartile range over median of per-round times (``None`` below 3 rounds)."""
    if len(times) < 3:
        return None
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(times)


def grid(
    backends: Iterable[str],
    shapes: Iterable[tuple[int, int]],
    dtypes: Iterable[str],
    conds: Iterable[float],
    power: float = 0.5,
) -> list[Case]:
    """The cases of a grid, backend-major; ``shapes``: ``(batch, n)`` pairs (``power``: of every case)."""
    return [
        Case(b, n, batch, dt, float(c), float(power))
        for b in backends
        for dt in dtypes
        for c in conds
        for batch, n in shapes
    ]


def run_grid(
    cases: Iterable[Case],
    methods: Iterable[str],
    *,
    rounds: int = 5,
    timing: bool = True,
    progress: Callable[[Case], Any] | None = None,
) -> list[Result]:
    """:func:`measure` every case (backends are created once each).

    The float64 references of every case are computed first, before any backend is imported:
    once torch or JAX has run, their idle OpenMP / Eigen threads spin and slow NumPy's
    LAPACK in the same process by up to 50x (only the wall time, not the timings, but the
    default grid took minutes). To time several backends without one's threads slowing
    another, run each in its own process (what ``python -m matsqrt bench`` does).
    """
    methods = list(methods)
    cases = list(cases)
    refs = [reference(case) for case in cases]
    made: dict[str, Backend] = {}
    out: list[Result] = []
    for case, ref in zip(cases, refs, strict=True):
        be = made.get(case.backend) or made.setdefault(case.backend, make_backend(case.backend))
        out.extend(measure(be, case, methods, rounds, timing=timing, ref=ref))
        if progress is not None:
            progress(case)
    return out


# -- reporting --------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: CPU, thread counts, library versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for mod in ("scipy", "torch", "jax", "cupy"):
        m = sys.modules.get(mod)
        if m is not None:
            info[mod] = getattr(m, "__version__", "?")
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        info["blas_threads"] = sorted(
            {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
        )
    return info


#: XLA's CPU scheduler without the schedule that can hang JAX 0.10 (see :func:`thread_environment`)
XLA_WORKAROUND = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
#: XLA's CPU work on one thread (what ``threads=1`` adds)
XLA_ONE_THREAD = ["--xla_cpu_multi_thread_eigen=false"]
#: the environment variables that size the thread pools of BLAS and OpenMP (read when a library loads)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that give a fresh process ``threads`` threads per library (0: none set).

    They must be set before the libraries load: threadpoolctl reaches only the BLAS
    libraries already loaded, and JAX calls LAPACK through SciPy's OpenBLAS, which it
    loads at its first factorisation (with one thread per core, which on a busy
    2-core machine made ``jnp.linalg.inv`` 10-50x slower in a third of the calls).
    One thread: XLA's own work too (:data:`XLA_ONE_THREAD`).

    Always set: :data:`XLA_WORKAROUND`. With XLA's concurrency-optimised scheduler (the
    default in JAX 0.10 on CPU), a jitted program that runs a LAPACK call (eigh, inv,
    Cholesky) beside other independent work can wait forever on a 2-core machine
    (all threads idle; at n >= 128, after a few calls). The eigh forward+backward at
    8 x 128 and 8 x 256 hung in this benchmark; the flag removes it.
    """
    xla = os.environ.get("XLA_FLAGS", "").split()
    add = [XLA_WORKAROUND]
    if threads == 1:
        add += XLA_ONE_THREAD
    env = {"XLA_FLAGS": " ".join(xla + [f for f in add if f not in xla])}
    if threads:
        env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    return env


@contextlib.contextmanager
def limit_threads(n: int, backends: Iterable[str]) -> Iterator[None]:
    """Run with ``n`` threads per library on ``n`` cores (0: as configured); restored afterwards.

    Sets :func:`thread_environment` (read by libraries loaded from now on: torch,
    JAX, SciPy's OpenBLAS, which JAX calls for LAPACK), limits the BLAS libraries
    already loaded (threadpoolctl, if installed) and torch's intra-op pool. On a
    loaded machine, BLAS and OpenMP threads that spin at barriers while a sibling
    is descheduled make small factorisations 10-100x slower; one thread per
    library gives stable numbers there. Where the OS allows, the calling thread and
    the threads it starts from now on (XLA's pool) run on ``n`` cores.
    """
    env = thread_environment(n)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    torch = None
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if n and cores is not None and len(cores) > n:
            # n cores too: threads started from now on (XLA's pool) share them, so the CPU time is the work
            os.sched_setaffinity(0, sorted(cores)[:n])
        if n and "torch" in backends:
            import torch

            before = torch.get_num_threads()
            torch.set_num_threads(n)
        if n and ("numpy" in backends or "jax" in backends):
            # SciPy's OpenBLAS (the scipy candidate's, and JAX's LAPACK): loaded now, so that the limit reaches it
            with contextlib.suppress(ImportError):
                import scipy.linalg  # noqa: F401
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            limits: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        else:
            limits = threadpool_limits(limits=n) if n else contextlib.nullcontext()
        with limits:
            yield
    finally:
        if cores is not None:
            os.sched_setaffinity(0, cores)
        if torch is not None:
            torch.set_num_threads(before)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def as_dicts(results: Iterable[Result]) -> list[dict[str, Any]]:
    """Results as JSON-ready dicts (non-finite numbers become ``None``)."""
    rows = []
    for r in results:
        d = asdict(r)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        rows.append(d)
    return rows


def _fmt(v: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:{width}{spec}}"


def format_table(results: list[Result]) -> str:
    """A readable table, one block per grid point."""
    cols = (
        f"  {'method':14} {'fwd ms':>9} {'f+b ms':>9} {'spread':>6} {'fwd mm':>7} {'f+b mm':>7} "
        f"{'fwd/pub':>7} {'f+b/pub':>7} {'f+b/eig':>7} {'err Y':>8} {'err grad':>8}"
    )
    lines: list[str] = []
    key = None
    for r in results:
        k = (r.backend, r.device, r.dtype, r.cond, r.n, r.batch)
        if k != key:
            key = k
            mm = f", one matmul {r.matmul_ms:.4f} ms" if r.matmul_ms is not None else ""
            what = "" if r.power == 0.5 else f" A^({r.power:g})"
            lines += [
                "",
                f"{r.backend} ({r.device}) {r.dtype}{what} cond={r.cond:.0e} batch x n = {r.batch} x {r.n}{mm}",
                cols,
            ]
        if r.error is not None and r.err_fwd is None:
            lines.append(f"  {r.method:14} {r.error}")
            continue
        spreads = [v for v in (r.fwd_spread, r.fwdbwd_spread) if v is not None]
        spread = max(spreads) if spreads else None
        lines.append(
            f"  {r.method:14} {_fmt(r.fwd_ms, '.3f', 9)} {_fmt(r.fwdbwd_ms, '.3f', 9)} "
            f"{_fmt(None if spread is None else 100 * spread, '.0f', 5)}{'%' if spread is not None else ' '} "
            f"{_fmt(r.fwd_mm, '.1f', 7)} {_fmt(r.fwdbwd_mm, '.1f', 7)} "
            f"{_fmt(r.fwd_vs_published, '.2f', 7)} {_fmt(r.fwdbwd_vs_published, '.2f', 7)} "
            f"{_fmt(r.fwdbwd_vs_eigh_root, '.2f', 7)} {_fmt(r.err_fwd, '.1e', 8)} {_fmt(r.err_grad, '.1e', 8)}"
            + (f"  ({r.error})" if r.error else "")
            + ("  (!)" if r.warning else "")
            + (f"  [{r.flags}]" if r.flags else "")
        )
    notes = list(dict.fromkeys(f"(!) {r.method}: {r.warning}" for r in results if r.warning))
    flagged = [r for r in results if r.flags]
    if flagged:
        kinds = {k for r in flagged for k in r.flags.split(",")}
        why = {
            "noisy": f"[noisy]: its per-round times spread by more than {NOISY:.0%} of their median",
            "fwd>f+b": "[fwd>f+b]: its forward measured slower than its forward+backward",
            "f+b<4mm": f"[f+b<4mm]: its forward+backward measured below {MIN_MM:g} matmuls, which every "
            "method spends more than (the matmul itself was slowed)",
        }
        notes.append(
            f"{len(flagged)} of {len(results)} rows flagged, even after a second set of rounds. "
            + "; ".join(why[k] for k in why if k in kinds)
            + ". The machine was busy while they ran: those times (not the errors) are unreliable. "
            "Rerun on a quieter machine or with more --repeats."
        )
    legend = (
        "\nms: median over rounds (each the best of "
        f"{BEST_OF} timings); spread: interquartile range / median of the per-round times (the larger "
        "of fwd and f+b);\nmm: time / one batched matmul A @ A; /pub, /eig: time ratio to the published algorithm "
        "(Padé [5/5] + 8 sign iterations) and\nto eigh-root, paired per round; err: relative Frobenius "
        "error vs float64 eigh (gradient of <G, Y>, Hermitian part).\n"
        f"pade+tol: tol={PADE_TOL['float32']:g} (float32), {PADE_TOL['float64']:g} (float64): Zolotarev's "
        "certified method (these matrices are Hermitian; any power)."
    )
    if any(r.power != 0.5 for r in results):
        legend += (
            "\nA^(p): matsqrt.powm(A, p); eigh-root: A^p by eigh with the library's autodiff; newton: the coupled "
            "Newton iteration\nfor A^(-1/r) of Shampoo-type optimizers (forward only); scipy: "
            "scipy.linalg.fractional_matrix_power per matrix."
        )
    return "\n".join(lines).lstrip("\n") + "\n" + "".join(f"\n{n}" for n in notes) + "\n" + legend


def format_sweep(results: list[Result]) -> str:
    """Errors against the condition number: one row per method, one column per cond."""
    conds = sorted({r.cond for r in results})
    lines = []
    groups: dict[tuple[Any, ...], list[Result]] = {}
    for r in results:
        groups.setdefault((r.backend, r.device, r.dtype, r.n, r.batch, r.power), []).append(r)
    for (b, dev, dt, n, batch, power), rs in groups.items():
        what = "" if power == 0.5 else f" A^({power:g})"
        lines += [
            "",
            f"{b} ({dev}) {dt}{what} batch x n = {batch} x {n}: relative error of Y / of the gradient",
        ]
        lines.append(f"  {'method':14}" + "".join(f" {c:>17.0e}" for c in conds))
        for m in dict.fromkeys(r.method for r in rs):
            by = {r.cond: r for r in rs if r.method == m}
            cells = []
            for c in conds:
                r = by.get(c)
                if r is None or r.err_fwd is None:
                    cells.append(f" {'failed' if r is not None and r.error else '-':>17}")
                else:
                    g = f"{r.err_grad:.1e}" if r.err_grad is not None else "-"
                    mark = "!" if r.warning else ""
                    cells.append(f" {f'{mark}{r.err_fwd:.1e}/{g}':>17}")
            lines.append(f"  {m:14}" + "".join(cells))
    if any(r.warning for r in results):
        lines.append("\n!: the call warned (e.g. AccuracyWarning: tol out of reach); see the JSON output")
    return "\n".join(lines).lstrip("\n")


def progress_bar(total: int, enabled: bool) -> tuple[Callable[[Case], None], Callable[[], None]]:
    """``(update, close)``: a tqdm bar if installed, else a plain counter on stderr."""
    if not enabled:
        return (lambda case: None), (lambda: None)
    try:
        from tqdm import tqdm
    except ImportError:
        done = [0]

        def update(case: Case) -> None:
            done[0] += 1
            print(f"\rbench {done[0]}/{total} ({_label(case)})", end="", file=sys.stderr, flush=True)

        return update, lambda: print(file=sys.stderr)
    bar = tqdm(total=total, unit="case", desc="bench", file=sys.stderr, leave=False)

    def update_bar(case: Case) -> None:
        bar.set_postfix_str(_label(case), refresh=False)
        bar.update(1)

    return update_bar, bar.close


def _label(case: Case) -> str:
    return f"{case.backend} {case.dtype} {case.batch}x{case.n} cond {case.cond:.0e}"
