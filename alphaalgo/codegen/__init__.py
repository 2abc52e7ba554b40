"""Schemes to kernels: Numba (CPUs, with the BLAS at the leaves) and JAX (GPUs, TPUs).

``kernel_source(scheme, backend, levels)`` gives readable Python source;
``compile_kernel`` loads it as a module whose ``matmul(a, b)`` is the kernel.
Every scheme is verified exactly over Z first: a Z2-only scheme raises
:class:`NotAMatmulAlgorithm`.  ``addition_counts`` reports the additions of a
level, written out and with shared subexpressions.

Modules: :mod:`.plan` (scheme → block operations), :mod:`.cse` (shared
subexpressions), :mod:`.runtime_numba` (strided blocks, gemm, fused passes),
:mod:`.numba_gen` and :mod:`.jax_gen` (source generators), :mod:`.loader`.
"""

from __future__ import annotations

import types
from typing import Sequence

from ..tensors import Scheme
from .cse import LevelPrograms, Program, level_programs
from .loader import load_source
from .plan import LevelPlan, NotAMatmulAlgorithm, check_real, level_plan

BACKENDS = ("numba", "jax")


def kernel_source(schemes: Scheme | Sequence[Scheme], backend: str, levels: int = 1, *,
                  name: str = "", provenance: str = "", standalone: bool = True,
                  leaf_min: int = 32, stamp: bool = True) -> str:
    """Python source of a kernel module defining ``matmul(a, b)``.

    Args:
      schemes: one scheme (used at every one of ``levels`` levels) or one per level.
      backend: ``"numba"`` or ``"jax"``.
      standalone: Numba only: inline the run-time (True) or import it from alphaalgo.
      leaf_min: Numba only: blocks with a side below this go to gemm without recursing.
    """
    if backend == "numba":
        from .numba_gen import RUNTIME_MODULE, numba_source

        return numba_source(schemes, levels, runtime=None if standalone else RUNTIME_MODULE,
                            name=name, provenance=provenance, leaf_min=leaf_min, stamp=stamp)
    if backend == "jax":
        from .jax_gen import jax_source

        return jax_source(schemes, levels, name=name, provenance=provenance, stamp=stamp)
    raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")


def compile_kernel(schemes: Scheme | Sequence[Scheme], backend: str, levels: int = 1,
                   name: str = "", leaf_min: int = 32) -> types.ModuleType:
    """The kernel as a loaded module (``module.matmul(a, b)``); the run-time is shared.

    The source carries no date, so the same kernel is the same cached file.
    """
    return load_source(kernel_source(schemes, backend, levels, name=name, standalone=False,
                                     leaf_min=leaf_min, stamp=False))


def addition_counts(scheme: Scheme) -> dict:
    """``{"written_out": …, "shared": …}``: additions of one level of ``scheme``."""
    progs = level_programs(level_plan(scheme))
    return {"written_out": progs.naive, "shared": progs.additions}


__all__ = ["BACKENDS", "LevelPlan", "LevelPrograms", "NotAMatmulAlgorithm", "Program",
           "addition_counts", "check_real", "compile_kernel", "kernel_source", "level_plan",
           "level_programs", "load_source"]
