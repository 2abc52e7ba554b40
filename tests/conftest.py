"""Shared fixtures: the reference data and small schemes."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaalgo.catalog import reference_dir as _reference_dir

REFERENCE = _reference_dir()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "factorizations_r.npz").exists():
        pytest.skip(f"AlphaTensor reference files not found in {REFERENCE}")
    return REFERENCE
