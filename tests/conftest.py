"""Shared fixtures: the reference data and small schemes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from alphaalgo.cli._common import JAX_CACHE_MAX_BYTES  # imports no JAX

# One JAX compilation cache for the whole run, in a temporary folder (the CLI's default,
# ~/.cache/alphaalgo/jax, is the user's): set before anything imports JAX, so this process
# and every command the tests start compile each program once per run, not once per process.
_JAX_CACHE = tempfile.mkdtemp(prefix="alphaalgo-tests-jax-")
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE
os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"] = str(JAX_CACHE_MAX_BYTES)

from alphaalgo.catalog import reference_dir as _reference_dir  # noqa: E402

REFERENCE = _reference_dir()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "factorizations_r.npz").exists():
        pytest.skip(f"AlphaTensor reference files not found in {REFERENCE}")
    return REFERENCE


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_JAX_CACHE, ignore_errors=True)
