"""The curated public API of ``alphaalgo`` (``__init__``'s ``__all__``)."""

from __future__ import annotations

import subprocess
import sys

import alphaalgo

API = ["Campaign", "CampaignResult", "CampaignSpec", "Done", "Executor", "FormatError", "Job",
       "RING_LABELS", "Scheme", "SchemeRecord", "Store", "Verification", "benchmark",
       "canonical_hash", "compile_kernel", "kernel_source", "load_preset",
       "local_executor", "local_search", "matmul_tensor", "minimize_additions", "naive_scheme", "read_scheme", "read_schemes",
       "ring_label", "verify", "write_schemes"]


def test_the_api_is_exactly_this_and_every_name_resolves():
    assert sorted(alphaalgo.__all__) == sorted(API)
    for name in API:
        assert getattr(alphaalgo, name) is not None, name
    assert alphaalgo.verify(alphaalgo.naive_scheme(2, 2, 2)).label == "ZT"


def test_importing_the_package_and_reading_schemes_loads_no_jax():
    code = ("import sys, alphaalgo; alphaalgo.verify(alphaalgo.naive_scheme(2, 3, 2)); "
            "alphaalgo.read_schemes; print(any(m == 'jax' or m.startswith('jax.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
