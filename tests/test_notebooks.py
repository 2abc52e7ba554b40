"""Every notebook under notebooks/ runs top to bottom (small budgets)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
NEEDS_REFERENCE = {"02_alphatensor_table"}
"""Notebooks that read AlphaTensor's published files (skipped, like the other tests that do, without them)."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path, monkeypatch, tmp_path, request):
    if path.stem in NEEDS_REFERENCE:
        request.getfixturevalue("reference_dir")       # skips when the files are missing
    # The kernel is "python" on PATH: make it this interpreter; keep budgets small.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("ALPHAALGO_NOTEBOOK_BUDGET", "small")
    monkeypatch.setenv("ALPHAALGO_NOTEBOOK_TMP", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
        f"{path.name}: outputs must be stripped in git"
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert not errors
