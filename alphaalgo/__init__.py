"""alphaalgo: algorithm discovery for matrix multiplication.

The public API, in the style of mctx's ``__init__``: the names below are
re-exported from the modules that define them and listed in ``__all__``.  They
load on first use (PEP 562), so ``import alphaalgo`` stays light — reading,
verifying and local search never import JAX.

* exact algebra — :class:`Scheme`, :func:`verify`, :func:`ring_label`,
  :func:`matmul_tensor`, :func:`naive_scheme`, :func:`canonical_hash`, :data:`RING_LABELS`;
* files — :func:`read_schemes`, :func:`read_scheme`, :func:`write_schemes`,
  :class:`SchemeRecord`, :class:`FormatError`;
* local search — :func:`local_search` (``localsearch.search``: flip-graph walks to a
  lower rank, the library side of ``alphaalgo improve``), :func:`minimize_additions`;
* campaigns — :class:`Campaign`, :class:`CampaignSpec`, :class:`CampaignResult`,
  :func:`load_preset`, :class:`Store`; executors :class:`Job`, :class:`Done`,
  :class:`Executor`, :func:`local_executor`;
* kernels — :func:`kernel_source`, :func:`compile_kernel`, :func:`benchmark`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # exact algebra
    "Scheme": "tensors", "Verification": "tensors", "verify": "tensors",
    "ring_label": "tensors", "matmul_tensor": "tensors", "naive_scheme": "tensors",
    "canonical_hash": "tensors", "RING_LABELS": "tensors",
    # files
    "read_schemes": "formats", "read_scheme": "formats", "write_schemes": "formats",
    "SchemeRecord": "formats", "FormatError": "formats",
    # local search
    "local_search": "localsearch:search", "minimize_additions": "localsearch",
    # campaigns
    "Campaign": "campaign", "CampaignSpec": "campaign", "CampaignResult": "campaign",
    "load_preset": "presets", "Store": "store",
    "Job": "executors", "Done": "executors", "Executor": "executors",
    "local_executor": "executors",
    # kernels
    "kernel_source": "codegen", "compile_kernel": "codegen", "benchmark": "bench",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'alphaalgo' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(importlib.import_module(f".{module}", __name__), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
