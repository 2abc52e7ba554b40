"""Fuzzing the readers: mutated real files of every format give a scheme or one
FormatError — never another exception — and never allocate beyond the limits."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats
from alphaalgo.formats import FormatError, SchemeRecord

FIXTURES = Path(__file__).parent / "fixtures" / "collections"
#: Peak traced allocation one read may make: far below what the limits would let a
#: hostile file ask for, far above what these small files need.
PEAK_BYTES = 64 * 2**20


def _seeds() -> dict[str, bytes]:
    out = {p.suffix + ":" + p.name: p.read_bytes() for p in sorted(FIXTURES.iterdir())
           if p.suffix in formats.EXTENSIONS and p.stat().st_size < 25_000}
    buf = io.BytesIO()
    rec = SchemeRecord("2,2,2", catalog.strassen())
    from alphaalgo.formats.npz import write_npz

    tmp = Path(__import__("tempfile").mkdtemp()) / "s.npz"
    write_npz(tmp, [rec])
    out[".npz:strassen.npz"] = tmp.read_bytes()
    obj = np.empty(3, dtype=object)
    obj[:] = [catalog.winograd().u / 2, catalog.winograd().v * 2.0, catalog.winograd().w]
    np.savez(buf, **{"2,2,2": obj})
    out[".npz:object.npz"] = buf.getvalue()
    for ext in (".json", ".txt", ".m"):
        p = tmp.with_suffix(ext)
        formats.write_schemes(p, [SchemeRecord("w", catalog.winograd())])
        out[f"{ext}:winograd{ext}"] = p.read_bytes()
    return out


SEEDS = _seeds()
_TOKENS = [b"(", b")", b"{", b"}", b"[", b"]", b"*", b"-", b"/0", b"/", b"a_99_1", b"a11",
           b"9" * 40, b"1e308", b"-1", b"NaN", b",", b"\n", b"\x00", b"\xff", b"i", b'"',
           b"PK\x03\x04", b"\x93NUMPY"]


@st.composite
def mutated(draw):
    key = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[key])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0 and data:                                   # flip a byte
            data[pos] = draw(st.integers(0, 255))
        elif op == 1:                                          # insert a token
            data[pos:pos] = draw(st.sampled_from(_TOKENS))
        elif op == 2 and data:                                 # delete a run
            del data[pos:pos + draw(st.integers(1, 64))]
        else:                                                  # truncate
            del data[pos:]
    return key.split(":")[0], bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(case=mutated())
def test_mutated_files_never_trace_back_or_blow_up(tmp_path, case):
    ext, data = case
    path = tmp_path / f"fuzz{ext}"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        formats.read_schemes(path)
    except FormatError as exc:
        assert str(exc).startswith(str(path)) or "unknown ring" in str(exc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < PEAK_BYTES, peak


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="abcxyz0123456789_()+-*/. i\n", max_size=200))
def test_random_product_text(tmp_path, text):
    path = tmp_path / "r.exp"
    path.write_text(text or "(")
    try:
        formats.read_schemes(path)
    except FormatError:
        pass
