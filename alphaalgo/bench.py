"""Timing kernels against the vendor matmul on one device, and the speed score.

:func:`benchmark` compiles a scheme's kernel (:mod:`alphaalgo.codegen`), then
times it and the vendor matmul alternately in one process on the same inputs
(warm-up, ``repeats`` rounds whose order alternates, medians), checks the
product against float64 numpy and reports the speedup, the errors and the
device.  The vendor is ``numpy.matmul`` for the Numba backend and
``jnp.matmul(precision=HIGHEST)`` (jitted) for JAX, so TF32 flatters neither.

Error: ``max_rel_error = max|C − C₆₄| / max|C₆₄|`` where ``C₆₄`` is the product of
the same inputs in float64 numpy; above ``FULL_CHECK_MAX`` entries per side the
check uses ``CHECK_ROWS`` random rows of C (reported as ``checked_rows``).

:func:`speed_score` is the benchmark as a training signal: the measured speedup
stored for a scheme on a device, else :func:`estimate_speedup`, a cost model
of multiplications and block additions.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np

from . import tensors
from .export_template._device import cpu_key, cpu_model, jax_key
from .tensors import Scheme

DTYPES = ("float32", "float64")
FULL_CHECK_MAX = 4096
CHECK_ROWS = 256
# The measurement speed_score looks for first, and that measure_speed makes.
SCORE_CONFIG = {"backend": "numba", "size": (2048, 2048, 2048), "dtype": "float64", "levels": 1}


# -------------------------------------------------------------------- device
def blas_info() -> str:
    """The BLAS numpy uses, e.g. ``scipy-openblas 0.3.31.188.0``."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - numpy builds differ; this is informative only
        return "unknown"


@functools.lru_cache(maxsize=None)
def device_info(backend: str = "numba") -> dict:
    """Facts about the device: CPU model and cores, BLAS; for JAX its backend and device kind."""
    info: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count(), "blas": blas_info(),
                            "numpy": np.__version__}
    if backend == "numba":
        import numba

        info["numba"] = numba.__version__
        from .codegen.runtime_numba import blas_library, kernel_threads

        info["kernel_threads"] = kernel_threads()
        info["kernel_blas"] = os.path.basename(blas_library())
    if backend == "jax":
        import jax

        dev = jax.devices()[0]
        info["jax"] = jax.__version__
        info["jax_backend"] = jax.default_backend()
        info["device_kind"] = dev.device_kind
    return info


def device_key(backend: str = "numba") -> str:
    """A short name of the device a measurement belongs to (the store's ``device``).

    ``cpu:<model> x<cores>`` for Numba; ``<jax backend>:<device kind>`` for JAX
    (``gpu:NVIDIA H100 80GB HBM3``, or ``cpu:<model> x<cores>`` on JAX's CPU backend).
    """
    if backend == "jax":
        info = device_info(backend)
        return jax_key(info["jax_backend"], info["device_kind"])
    return cpu_key()


# ----------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class BenchResult:
    """One measurement.

    Attributes:
      scheme_hash: ``tensors.canonical_hash`` of the scheme.  shape, rank: the scheme's.
      backend: ``numba`` or ``jax``.  size: ``(M, K, N)`` of the product.
      dtype: ``float32``/``float64``.  levels: recursion depth.
      kernel_times, vendor_times: seconds, one per repeat (alternating order).
      kernel_s, vendor_s: their medians.  speedup: ``vendor_s / kernel_s``.
      max_rel_error, vendor_max_rel_error: ``max|C − C₆₄| / max|C₆₄|`` of each.
      checked_rows: rows of C compared (all, or a random sample at large sizes).
      compile_s: generating and loading the kernel plus its first call.
      device, device_key: see :func:`device_info` and :func:`device_key`.
    """

    scheme_hash: str
    shape: tuple[int, int, int]
    rank: int
    backend: str
    size: tuple[int, int, int]
    dtype: str
    levels: int
    kernel_times: tuple[float, ...]
    vendor_times: tuple[float, ...]
    kernel_s: float
    vendor_s: float
    speedup: float
    max_rel_error: float
    vendor_max_rel_error: float
    checked_rows: int
    compile_s: float
    device: dict
    device_key: str

    def to_json(self) -> dict:
        """A JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        for k in ("shape", "size", "kernel_times", "vendor_times"):
            out[k] = list(out[k])
        return out


def _rel_error(c: np.ndarray, ref: np.ndarray) -> float:
    scale = float(np.abs(ref).max(initial=0.0))
    err = float(np.abs(np.asarray(c, np.float64) - ref).max(initial=0.0))
    return err / scale if scale > 0 else err


def check_product(a: np.ndarray, b: np.ndarray, outs: Sequence[np.ndarray], seed: int = 0
                  ) -> tuple[list[float], int]:
    """Relative errors of ``outs`` (each ≈ ``a @ b``) against float64 numpy; and rows checked."""
    m = a.shape[0]
    if max(a.shape + b.shape) <= FULL_CHECK_MAX:
        rows = np.arange(m)
    else:
        rows = np.sort(np.random.default_rng(seed + 1).choice(m, min(CHECK_ROWS, m), replace=False))
    ref = a[rows].astype(np.float64) @ b.astype(np.float64)
    return [_rel_error(np.asarray(o)[rows], ref) for o in outs], int(len(rows))


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def benchmark(scheme: Scheme, backend: str = "numba", size: Sequence[int] = (1024, 1024, 1024),
              dtype: str = "float64", levels: int = 1, repeats: int = 5, warmup: int = 1,
              seed: int = 0, progress: bool = False) -> BenchResult:
    """Time ``scheme``'s kernel against the vendor matmul; see the module docstring.

    Args:
      scheme: a matmul scheme valid over Z (verified here; ``NotAMatmulAlgorithm`` if not).
      backend: ``"numba"`` or ``"jax"``.  size: ``(M, K, N)``.  dtype: float32/float64.
      levels: recursion depth.  repeats: timed rounds.  warmup: untimed rounds.
      progress: show a progress bar (rich) over the rounds.
    """
    from . import codegen

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if backend not in codegen.BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(codegen.BACKENDS)}")
    size = tuple(int(x) for x in size)
    if len(size) != 3 or min(size) < 1:
        raise ValueError(f"size must be three positive integers, got {size}")
    if repeats < 1 or warmup < 0 or levels < 1:
        raise ValueError("repeats and levels must be at least 1 and warmup at least 0")
    codegen.check_real(scheme)
    M, K, N = size
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.0, 1.0, (M, K)).astype(dtype)
    b = rng.uniform(-1.0, 1.0, (K, N)).astype(dtype)

    t0 = time.perf_counter()
    module = codegen.compile_kernel(scheme, backend, levels)
    if backend == "numba":
        out_k = np.empty((M, N), dtype)
        out_v = np.empty((M, N), dtype)
        run_kernel = functools.partial(module.matmul, a, b, out_k)
        run_vendor = functools.partial(np.matmul, a, b, out=out_v)
        run_kernel()
        results = lambda: (out_k, out_v)  # noqa: E731
    else:
        import contextlib

        import jax
        import jax.numpy as jnp

        # float64 needs JAX's x64 mode: switched on for these calls only, not globally.
        x64 = (lambda: jax.enable_x64(True)) if dtype == "float64" else contextlib.nullcontext
        with x64():
            ja, jb = jnp.asarray(a), jnp.asarray(b)
        vendor = jax.jit(functools.partial(jnp.matmul, precision=jax.lax.Precision.HIGHEST))
        box: dict = {}

        def run_kernel() -> None:
            with x64():
                box["k"] = module.matmul(ja, jb).block_until_ready()

        def run_vendor() -> None:
            with x64():
                box["v"] = vendor(ja, jb).block_until_ready()

        run_kernel()
        run_vendor()
        results = lambda: (np.asarray(box["k"]), np.asarray(box["v"]))  # noqa: E731
    compile_s = time.perf_counter() - t0

    rounds = range(warmup + repeats)
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(f"{backend} {M}x{K}x{N} {dtype}", total=len(rounds))
    kt, vt = [], []
    try:
        for r in rounds:
            if r % 2 == 0:
                tk, tv = _time(run_kernel), _time(run_vendor)
            else:
                tv, tk = _time(run_vendor), _time(run_kernel)
            if r >= warmup:
                kt.append(tk)
                vt.append(tv)
            if bar is not None:
                bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
    (err_k, err_v), rows = check_product(a, b, results(), seed)
    ks, vs = statistics.median(kt), statistics.median(vt)
    return BenchResult(
        scheme_hash=tensors.canonical_hash(scheme), shape=tuple(scheme.shape), rank=scheme.rank,
        backend=backend, size=size, dtype=dtype, levels=levels, kernel_times=tuple(kt),
        vendor_times=tuple(vt), kernel_s=ks, vendor_s=vs, speedup=vs / ks,
        max_rel_error=err_k, vendor_max_rel_error=err_v, checked_rows=rows, compile_s=compile_s,
        device=device_info(backend), device_key=device_key(backend))


def record(store, scheme: Scheme, result: BenchResult) -> int:
    """Write ``result`` to ``store`` (``Store.add_benchmark``) and return its id.

    The scheme must be the one measured: its canonical hash is checked.
    """
    if tensors.canonical_hash(scheme) != result.scheme_hash:
        raise ValueError("the result was measured on another scheme")
    return store.add_benchmark(result.scheme_hash, result.device_key, result.backend,
                               result.size, result.dtype, result.levels, result.to_json())


# ------------------------------------------------------------------ scores
def _pass_words(sums: Sequence[tuple], block: float) -> float:
    """Words one fused operand pass moves: each block it reads once, each sum it writes
    (a lone block with coefficient 1 is used in place: no pass)."""
    from .codegen.runtime_numba import lone_block

    sums = [t for t in sums if not lone_block(t)]
    reads = {(t[0], t[1]) for terms in sums for t in terms}
    return (len(reads) + len(sums)) * block


def estimate_speedup(scheme: Scheme, size: Sequence[int] = SCORE_CONFIG["size"], levels: int = 1,
                     gemm_flops: float = 150e9, bandwidth: float = 16e9, itemsize: int = 8) -> float:
    """Cost-model speedup of the Numba kernel over one gemm at ``size``.

    Model: gemm runs at ``gemm_flops`` at any block size; every block a fused
    pass reads or writes moves at ``bandwidth`` bytes/s.  Per level, as the
    kernel runs it: one pass forms A's operand sums (each A block read once,
    each sum written), one B's, the products (one level down, or ``2·bm·bk·bn``
    flops), and one pass adds the products that reach several C blocks into
    them (each such product read, each of their blocks read and written).
    Recursion multiplies.  ``> 1`` means faster than the vendor.
    """
    from .codegen import level_plan

    plan = level_plan(scheme)
    n, m, p = plan.shape
    M, K, N = (float(x) for x in size)
    multi = [prod.c_terms for prod in plan.products if len(prod.c_terms) > 1]
    gathered = len(multi) + 2 * len({(t[0], t[1]) for terms in multi for t in terms})

    def cost(M: float, K: float, N: float, depth: int) -> float:
        if depth == levels:
            return 2.0 * M * K * N / gemm_flops
        bm, bk, bn = M / n, K / m, N / p
        words = (_pass_words([prod.a_terms for prod in plan.products], bm * bk)
                 + _pass_words([prod.b_terms for prod in plan.products], bk * bn)
                 + gathered * bm * bn)
        return words * itemsize / bandwidth + plan.rank * cost(bm, bk, bn, depth + 1)

    return (2.0 * M * K * N / gemm_flops) / cost(M, K, N, 0)


def stored_measurement(store, scheme_hash: str, device: str) -> dict | None:
    """The stored measurement that best stands for the scheme on ``device``.

    The standard configuration (:data:`SCORE_CONFIG`) when present, else the
    largest float64 size, else the largest size measured.
    """
    cfg = SCORE_CONFIG
    hit = store.find_benchmark(scheme_hash, device, cfg["backend"], cfg["size"], cfg["dtype"],
                               cfg["levels"])
    if hit is not None:
        return hit
    rows = store.benchmarks(scheme_hash=scheme_hash, device=device)
    if not rows:
        return None
    rows.sort(key=lambda r: (r["dtype"] == "float64", int(np.prod(r["size"])), r["id"]))
    return rows[-1]["result"]


def speed_score(scheme: Scheme, *, store=None, device: str | None = None) -> float:
    """The scheme's speedup over the vendor matmul: measured if the store has it, else estimated.

    Args:
      scheme: a matmul scheme valid over Z.
      store: an :class:`alphaalgo.store.Store` (or ``None``: estimate only).
      device: the device key (default: this machine's CPU, :func:`device_key`).
    Returns:
      ``vendor time / kernel time`` (> 1 faster): the stored measurement for this
      scheme's canonical hash on ``device`` when there is one, else
      :func:`estimate_speedup` at ``SCORE_CONFIG``.  The agent's terminal reward
      may add ``λ·speed_score`` (AlphaTensor's r' = r + λ·b).
    """
    if store is not None:
        dev = device or device_key("numba")
        hit = stored_measurement(store, tensors.canonical_hash(scheme), dev)
        if hit is not None and "speedup" in hit:
            return float(hit["speedup"])
    return estimate_speedup(scheme)


def measure_speed(scheme: Scheme, store, repeats: int = 3) -> float:
    """Benchmark ``scheme`` at :data:`SCORE_CONFIG` unless ``store`` already has it; return the score.

    So each scheme is compiled and timed once per device.
    """
    dev = device_key(SCORE_CONFIG["backend"])
    cfg = SCORE_CONFIG
    h = tensors.canonical_hash(scheme)
    hit = store.find_benchmark(h, dev, cfg["backend"], cfg["size"], cfg["dtype"], cfg["levels"])
    if hit is None:
        result = benchmark(scheme, cfg["backend"], cfg["size"], cfg["dtype"], cfg["levels"],
                           repeats=repeats)
        record(store, scheme, result)
        return result.speedup
    return float(hit["speedup"])


def choose_fastest(schemes: Sequence[Scheme], store=None, device: str | None = None) -> int:
    """Index of the scheme to run among ``schemes`` (same shape): the lowest rank, then
    the fastest *measured* on ``device``, then the fewest additions a kernel executes.

    Measurements are compared in one configuration only (backend, size, dtype,
    levels): the one measured for most of the lowest-rank schemes, the largest
    size on ties.  A scheme with no measurement there ranks after every measured
    one; among those, fewer shared additions (``codegen.addition_counts``) wins.

    Args:
      schemes: candidates, valid over Z or Q (kernels refuse the others).
      store: an :class:`alphaalgo.store.Store` with benchmark rows, or ``None``.
      device: the device key (default: this machine's CPU, :func:`device_key`).
    """
    from .codegen import addition_counts

    if not schemes:
        raise ValueError("no schemes to choose from")
    low = min(s.rank for s in schemes)
    idx = [i for i, s in enumerate(schemes) if s.rank == low]
    speed: dict[int, float] = {}
    if store is not None:
        dev = device or device_key("numba")
        rows: dict[tuple, dict[int, float]] = {}
        for i in idx:
            for row in store.benchmarks(scheme_hash=tensors.canonical_hash(schemes[i]), device=dev):
                if "speedup" in row["result"]:
                    key = (row["backend"], tuple(row["size"]), row["dtype"], row["levels"])
                    rows.setdefault(key, {})[i] = float(row["result"]["speedup"])
        if rows:
            best_key = max(rows, key=lambda k: (len(rows[k]), int(np.prod(k[1]))))
            speed = rows[best_key]
    adds = {i: addition_counts(schemes[i])["shared"] for i in idx if i not in speed}
    return min(idx, key=lambda i: (0, -speed[i], i) if i in speed else (1, adds[i], i))
