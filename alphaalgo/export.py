"""A standalone, installable package of verified kernels (``alphaalgo export``).

The package (its own ``pyproject.toml``; needs numpy and numba, JAX optional)
holds one generated Numba kernel per chosen scheme and number of levels (and
JAX kernels when asked), the dispatch table of measured speedups, and its own
tests.  ``matmul(a, b)`` picks, for the array's dtype and sizes and this
device, the fastest measured kernel above its crossover size, and the vendor
matmul otherwise.  Every scheme is verified exactly over Z before anything is
written; the package appears in its folder in one rename (a failed export
leaves nothing behind).

Crossover of a (kernel, device, backend, dtype) from measurements at several
sizes: the smallest measured size from which the kernel is faster (speedup
> 1) at every larger measured size.
"""

from __future__ import annotations

import dataclasses
import keyword
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import catalog, tensors
from .atomic import current_umask, atomic_write_text, clean_stale, temp_prefix
from .tensors import Scheme

TEMPLATE_DIR = Path(__file__).resolve().parent / "export_template"
DEFAULT_IDS = ("strassen-2x2x2-r7", "winograd-2x2x2-r7", "strassen2-4x4x4-r49",
               "alphatensor-z-4x4x4-r49")


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """One kernel of the package.

    Attributes:
      name: identifier (also the module name under ``kernels/``).
      scheme: the verified scheme.  levels: recursion depth.  backend: numba/jax.
      source: where the scheme came from (file, catalogue id, store id).
    """

    name: str
    scheme: Scheme
    levels: int
    backend: str
    source: str


def default_schemes() -> list[tuple[str, Scheme]]:
    """The best shipped schemes: Strassen and Winograd ⟨2,2,2⟩ and the ⟨4,4,4⟩ rank-49 ones."""
    entries = {e.id: e for e in catalog.find(ring="Z")}
    return [(ident, catalog.load(entries[ident])) for ident in DEFAULT_IDS if ident in entries]


def store_schemes(store, device: str | None = None) -> list[tuple[str, Scheme]]:
    """Per shape in ``store``: its scheme a kernel should run — among the stored schemes
    valid over the reals at the shape's lowest such rank, the fastest measured on
    ``device`` (default: this machine), else the fewest executed additions
    (``bench.choose_fastest``).  ``build_specs`` verifies each exactly again."""
    from .bench import choose_fastest

    by_shape: dict[tuple, list] = {}
    for rec in store.list_schemes(ring="Z"):
        if rec.scheme.shape is not None and rec.scheme.is_real:
            by_shape.setdefault(tuple(rec.scheme.shape), []).append(rec)
    out = []
    for shape, recs in sorted(by_shape.items()):
        chosen = recs[choose_fastest([r.scheme for r in recs], store, device)]
        out.append((f"{store.path}[{chosen.id}]", chosen.scheme))
    return out


def _ident(text: str) -> str:
    out = re.sub(r"[^0-9a-zA-Z_]", "_", text).strip("_").lower() or "k"
    return ("k_" + out) if out[0].isdigit() or keyword.iskeyword(out) else out


SLOWED_VENDOR = 0.25


def vendor_slowed(measurements: Sequence[dict]) -> list[bool]:
    """Which measurements caught the vendor matmul slowed down by the machine's other jobs.

    A measurement with ``vendor_s`` (seconds of the vendor's product) is slowed
    when the vendor's rate ``2·M·K·N / vendor_s`` is below :data:`SLOWED_VENDOR`
    of the best rate among the measurements of the same device, backend and
    dtype: on a busy machine a multi-threaded BLAS call waits for its
    descheduled threads, and the kernel's "speedup" then measures the load
    (seen at small N: numpy's 128² product at 15 ms instead of 70 µs).
    Measurements without ``vendor_s`` are never marked.
    """
    def rate(m: dict) -> float | None:
        return 2.0 * float(np.prod(m["size"])) / m["vendor_s"] if m.get("vendor_s") else None

    best: dict[tuple, float] = {}
    for m in measurements:
        r = rate(m)
        if r is not None:
            key = (m["device"], m["backend"], m["dtype"])
            best[key] = max(best.get(key, 0.0), r)
    return [rate(m) is not None and rate(m) < SLOWED_VENDOR * best[(m["device"], m["backend"], m["dtype"])]
            for m in measurements]


def crossovers(measurements: Iterable[dict]) -> list[dict]:
    """Dispatch rows from measurements.

    Args:
      measurements: dicts with ``kernel``, ``device``, ``backend``, ``dtype``,
        ``size`` (M, K, N), ``speedup`` and optionally ``vendor_s``; those that
        :func:`vendor_slowed` marks are left out.
    Returns:
      One row per (kernel, device, backend, dtype) that is faster from some
      size on: ``min_size`` (the smallest side of the crossover size) and
      ``speedup`` (the median of the speedups from there on).
    """
    measurements = list(measurements)
    slowed = vendor_slowed(measurements)
    groups: dict[tuple, list[tuple[int, float]]] = {}
    for m in (m for m, bad in zip(measurements, slowed) if not bad):
        key = (m["kernel"], m["device"], m["backend"], m["dtype"])
        groups.setdefault(key, []).append((min(int(x) for x in m["size"]), float(m["speedup"])))
    rows = []
    for (kern, dev, backend, dtype), pts in sorted(groups.items()):
        by_size: dict[int, list[float]] = {}
        for size, sp in pts:
            by_size.setdefault(size, []).append(sp)
        sizes = sorted(by_size)
        best = [sorted(by_size[s])[len(by_size[s]) // 2] for s in sizes]
        start = None
        for idx in range(len(sizes) - 1, -1, -1):
            if best[idx] > 1.0:
                start = idx
            else:
                break
        if start is None:
            continue
        tail = sorted(best[start:])
        rows.append({"kernel": kern, "device": dev, "backend": backend, "dtype": dtype,
                     "min_size": sizes[start], "speedup": tail[len(tail) // 2]})
    return rows


def _pyproject(name: str) -> str:
    """PEP 621 metadata; built by the package's own tiny backend (no setuptools needed)."""
    return f"""[build-system]
requires = []
build-backend = "_build_backend"
backend-path = ["."]

[project]
name = "{name}"
version = "0.1.0"
description = "Fast matrix-multiplication kernels (verified schemes) exported by alphaalgo."
requires-python = ">=3.10"
dependencies = ["numpy", "numba"]

[project.optional-dependencies]
jax = ["jax"]
test = ["pytest"]
"""


def _readme(name: str, specs: Sequence[KernelSpec], table: Sequence[dict]) -> str:
    lines = [f"# {name}", "",
             "Fast matrix-multiplication kernels exported by alphaalgo; every scheme was",
             "verified exactly before it was written.", "",
             "```python", f"import {name}", f"c = {name}.matmul(a, b)   # the fastest measured kernel, "
             "else numpy.matmul", "```", "",
             "| kernel | backend | scheme | rank | levels | hash |", "|---|---|---|---:|---:|---|"]
    for k in specs:
        lines.append(f"| {k.name} | {k.backend} | ⟨{','.join(map(str, k.scheme.shape))}⟩ | "
                     f"{k.scheme.rank} | {k.levels} | {tensors.canonical_hash(k.scheme)} |")
    lines += ["", f"Dispatch rows (measured crossovers): {len(table)}.", "",
              "Tests: `python -m pytest tests` (needs pytest).", ""]
    return "\n".join(lines)


def build_specs(schemes: Sequence[tuple[str, Scheme]], levels: Sequence[int] = (1,),
                jax: bool = False) -> list[KernelSpec]:
    """The kernels for ``schemes`` (label, scheme) at each depth in ``levels``.

    Raises:
      ValueError: a scheme that is not valid over Z (verified exactly here).
    """
    from .codegen import NotAMatmulAlgorithm, check_real

    specs: list[KernelSpec] = []
    seen: set[tuple[str, int, str]] = set()
    for label, s in schemes:
        try:
            check_real(s)
        except NotAMatmulAlgorithm as exc:
            raise ValueError(f"{label}: {exc}") from None
        h = tensors.canonical_hash(s)
        for lv in levels:
            for backend in ("numba", "jax") if jax else ("numba",):
                if (h, lv, backend) in seen:
                    continue
                seen.add((h, lv, backend))
                n, m, p = s.shape
                name = _ident(f"k{n}x{m}x{p}_r{s.rank}_{h[:8]}_l{lv}"
                              + ("_jax" if backend == "jax" else ""))
                specs.append(KernelSpec(name, s, lv, backend, label))
    return specs


def measurements_from_store(store, specs: Sequence[KernelSpec]) -> list[dict]:
    """The store's benchmarks of the kernels in ``specs`` (matched by scheme hash, levels, backend)."""
    out = []
    for k in specs:
        h = tensors.canonical_hash(k.scheme)
        for row in store.benchmarks(scheme_hash=h):
            res = row["result"]
            if row["levels"] == k.levels and row["backend"] == k.backend and "speedup" in res:
                out.append({"kernel": k.name, "device": row["device"], "backend": row["backend"],
                            "dtype": row["dtype"], "size": row["size"],
                            "speedup": res["speedup"], "vendor_s": res.get("vendor_s")})
    return out


def write_package(out_dir: str | os.PathLike, specs: Sequence[KernelSpec],
                  measurements: Sequence[dict] = (), name: str = "alphaalgo_kernels",
                  provenance: str = "") -> Path:
    """Write the package to ``out_dir`` (which must not exist or be empty).

    Every scheme is verified exactly again just before its kernel is generated.
    The package is assembled in a temporary folder beside ``out_dir`` and
    renamed into place.
    """
    from .codegen import kernel_source
    from .codegen.numba_gen import numba_source

    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"package name {name!r} is not a Python identifier")
    if not specs:
        raise ValueError("no kernels to export")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: exists and is not an empty folder")
    table = crossovers(measurements)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out.parent, out.name)            # what a killed export left behind
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out), suffix=".tmp", dir=out.parent))
    try:
        pkg = tmp / name
        (pkg / "kernels").mkdir(parents=True)
        (tmp / "tests").mkdir()
        kernels_meta = {}
        for k in specs:
            if not tensors.verify(k.scheme, "Q").valid:
                raise ValueError(f"{k.source}: not valid over the rationals")
            if k.backend == "numba":
                src = numba_source(k.scheme, k.levels, runtime=f"{name}._runtime",
                                   name=k.source, provenance=provenance)
            else:
                src = kernel_source(k.scheme, "jax", k.levels, name=k.source, provenance=provenance)
            atomic_write_text(pkg / "kernels" / f"{k.name}.py", src)
            kernels_meta[k.name] = {"module": k.name, "backend": k.backend,
                                    "shape": list(k.scheme.shape), "rank": k.scheme.rank,
                                    "levels": k.levels, "hash": tensors.canonical_hash(k.scheme),
                                    "source": k.source}
        atomic_write_text(pkg / "kernels" / "__init__.py", '"""Generated kernels."""\n')
        runtime = (Path(__file__).resolve().parent / "codegen" / "runtime_numba.py").read_text("utf-8")
        atomic_write_text(pkg / "_runtime.py", runtime)
        atomic_write_text(pkg / "_device.py", (TEMPLATE_DIR / "_device.py").read_text("utf-8"))
        atomic_write_text(pkg / "__init__.py", (TEMPLATE_DIR / "package_init.py").read_text("utf-8"))
        atomic_write_text(pkg / "_dispatch.py",
                          '"""Kernels and measured crossovers (generated by alphaalgo export)."""\n\n'
                          f"KERNELS = {kernels_meta!r}\n\nTABLE = {table!r}\n")
        atomic_write_text(tmp / "tests" / f"test_{name}.py",
                          (TEMPLATE_DIR / "package_tests.py").read_text("utf-8").replace("__PKG__", name))
        atomic_write_text(tmp / "pyproject.toml", _pyproject(name))
        atomic_write_text(tmp / "_build_backend.py",
                          (TEMPLATE_DIR / "_build_backend.py").read_text("utf-8").replace("__PKG__", name))
        atomic_write_text(tmp / "README.md", _readme(name, specs, table))
        os.chmod(tmp, 0o777 & ~current_umask())         # mkdtemp's 0700 → what mkdir would give
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
