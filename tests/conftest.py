"""Shared fixtures: the reference data and small schemes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("ALPHAALGO_REFERENCE",
                                REPO.parent / "shared" / "reference" / "alphatensor"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "factorizations_r.npz").exists():
        pytest.skip(f"AlphaTensor reference files not found in {REFERENCE}")
    return REFERENCE
