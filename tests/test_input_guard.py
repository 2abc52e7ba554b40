"""Hostile input: every case of the probe gets one line naming the problem, exit 2,
and nothing written — refused by a size check before anything is allocated."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from alphaalgo import catalog, formats, limits
from alphaalgo.cli import main
from alphaalgo.formats import FormatError, SchemeRecord

STRASSEN = Path(catalog.kernels_dir()) / "schemes" / "strassen-2x2x2-r7.json"


def _one_line_exit_2(capsys, argv, *must_not_exist: Path, says: str = "") -> str:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refuses an argument
        code = exc.code
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert code == 2, (code, cap.out, cap.err)
    assert len(lines) == 1, cap.err
    assert "Traceback" not in cap.err
    assert says.lower() in lines[0].lower(), lines[0]
    for path in must_not_exist:
        assert not Path(path).exists(), path
    return lines[0]


def _npy_header(shape: tuple, dtype: str = "<f8") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# ------------------------------------------------------------- readers
def test_npz_member_that_inflates_past_the_limit(capsys, tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("2,2,2.npy", "w", force_zip64=True) as fh:
            fh.write(_npy_header((3, 4, 2**22)))
            chunk = b"\0" * 2**20
            for _ in range((limits.MAX_FILE_BYTES >> 20) + 8):
                fh.write(chunk)
    assert path.stat().st_size < limits.MAX_FILE_BYTES // 50
    _one_line_exit_2(capsys, ["verify", path], says="exceeds the limit")


def test_npy_header_claiming_a_huge_array(capsys, tmp_path):
    path = _zip(tmp_path / "huge.npz", {"2,2,2.npy": _npy_header((3, 10**6, 10**6)) + b"\0" * 64})
    _one_line_exit_2(capsys, ["verify", path], says="exceeds the limit")


def test_npy_header_claiming_more_than_it_holds(capsys, tmp_path):
    path = _zip(tmp_path / "short.npz", {"2,2,2.npy": _npy_header((3, 4, 1000)) + b"\0" * 64})
    _one_line_exit_2(capsys, ["verify", path], says="header claims")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_unsupported_zip_compression(capsys, tmp_path, method):
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4, 7), np.int64))
    path = _zip(tmp_path / "c.npz", {"2,2,2.npy": buf.getvalue()}, method)
    _one_line_exit_2(capsys, ["verify", path], says="compression")


def test_zip_version_the_reader_does_not_know(capsys, tmp_path):
    """The fuzzer's find: a central directory asking for zip version 6.4 made
    ``zipfile`` raise NotImplementedError while opening the archive."""
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4, 7), np.int64))
    path = _zip(tmp_path / "v.npz", {"2,2,2.npy": buf.getvalue()})
    data = bytearray(path.read_bytes())
    i = data.find(b"PK\x01\x02")
    data[i + 6] = 64  # "version needed to extract": 6.4
    path.write_bytes(bytes(data))
    _one_line_exit_2(capsys, ["verify", path], says="not a readable .npz archive")


def test_encrypted_zip_member(capsys, tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4, 7), np.int64))
    path = _zip(tmp_path / "e.npz", {"2,2,2.npy": buf.getvalue()})
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag bit in the local and central headers.
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        data[i + off] |= 1
    path.write_bytes(bytes(data))
    _one_line_exit_2(capsys, ["verify", path], says="encrypted")


def test_uint64_factors_that_wrap_are_refused(tmp_path):
    s = catalog.strassen()
    arr = np.stack([s.u, s.v, s.w]).astype(np.uint64)   # -1 becomes 2**64 - 1
    path = tmp_path / "wrap.npz"
    np.savez(path, **{"2,2,2": arr})
    with pytest.raises(FormatError, match="too large"):
        formats.read_schemes(path)


@pytest.mark.parametrize("floats", [[1e-300, 1.0], [1e300, 1.0], [np.nan, 1.0], [1 / 3, 1e-17]])
def test_float_coefficients_that_overflow_or_are_not_finite(tmp_path, floats):
    s = catalog.strassen()
    u = s.u.astype(np.float64)
    u[0, 0], u[1, 1] = floats
    obj = np.empty(3, dtype=object)
    obj[:] = [u, s.v.astype(np.float64), s.w.astype(np.float64)]
    path = tmp_path / "f.npz"
    np.savez(path, **{"2,2,2": obj})
    try:
        rec = formats.read_scheme(path, ring="Q")
    except FormatError:
        return
    # What is read is the exact rational each float stands for.
    from fractions import Fraction

    den = rec.scheme.denominators[0]
    assert Fraction(int(rec.scheme.u[0, 0]), den) == Fraction(floats[0]).limit_denominator(2**16)


@pytest.mark.parametrize("name, doc, says", [
    ("big.json", {"format": "alphaalgo-scheme", "version": 1, "ring": "Z", "rank": 1,
                  "shape": [30, 30, 30], "products": ["(a11)*(b11)*(c11)"]}, "exceeds the limit"),
    ("rank.json", {"format": "alphaalgo-scheme", "version": 1, "ring": "Z", "rank": 10**7,
                   "shape": [2, 2, 2], "products": ["(a11)*(b11)*(c11)"]}, "exceeds the limit"),
    ("target.json", {"format": "alphaalgo-scheme", "version": 1, "ring": "Z", "rank": 1,
                     "target": {"sizes": [10**6, 10**6, 10**6], "entries": []},
                     "products": ["(x1)*(y1)*(z1)"]}, "exceeds the limit"),
    ("perminov.json", {"n": [40, 40, 40], "m": 1, "u": [[1]], "v": [[1]], "w": [[1]]},
     "exceeds the limit"),
])
def test_json_claims_checked_before_allocation(capsys, tmp_path, name, doc, says):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    _one_line_exit_2(capsys, ["verify", path], says=says)


def test_deeply_nested_json(capsys, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    _one_line_exit_2(capsys, ["verify", path], says="nested")


@pytest.mark.parametrize("text, says", [
    ("(1/0*a11)*(b11)*(c11)\n", "by zero"),
    ("(" + "5" * 5000 + "*a11)*(b11)*(c11)\n", "digits"),
    ("(a_30000_1)*(b11)*(c11)\n", "exceeds the limit"),
    ("(" * 10_000 + "a11" + ")" * 10_000 + "*(b11)*(c11)\n", "nested"),
])
def test_text_that_would_cost_memory_or_trace_back(capsys, tmp_path, text, says):
    path = tmp_path / "t.exp"
    path.write_text(text)
    _one_line_exit_2(capsys, ["verify", path], says=says)


def test_a_huge_number_in_json(capsys, tmp_path):
    path = tmp_path / "n.json"
    path.write_text('{"n": [2, 2, 2], "m": 1, "u": [[' + "7" * 5000 + ', 0, 0, 0]], '
                    '"v": [[1, 0, 0, 0]], "w": [[1, 0, 0, 0]]}')
    _one_line_exit_2(capsys, ["verify", path], says="digits")


def test_maple_and_ternary_claims(capsys, tmp_path):
    m = tmp_path / "big.m"
    m.write_text("{" * 1000 + "}" * 1000)
    _one_line_exit_2(capsys, ["verify", m], says="nested")
    t = tmp_path / "big.txt"
    t.write_text("2 2 2 10000000\n1 0 0 1\n")
    _one_line_exit_2(capsys, ["verify", t], says="exceeds the limit")


def test_alphaevolve_source_is_parsed_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.py"
    path.write_text(f"import os\nos.system('touch {marker}')\n"
                    f"decomposition_222 = (np.array(__import__('os').system('touch {marker}')),"
                    " np.array([[1]]), np.array([[1]]))\n")
    with pytest.raises(FormatError, match="only number literals"):
        formats.read_schemes(path)
    assert not marker.exists()


# ------------------------------------------------------------- arguments
@pytest.mark.parametrize("argv, says", [
    (["bench", STRASSEN, "--backend", "numba", "--size", "30000"], "GiB"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "1000000"], "between"),
    (["bench", STRASSEN, "--backend", "numba", "--size", "64", "--repeats", "0"], "repeats"),
    (["compile", STRASSEN, "--backend", "numba", "--levels", "1000000", "--out", "{tmp}/k.py"],
     "levels"),
    (["export", "--out", "{tmp}/pkg", "--measure", "100000"], "between"),
    (["discover", "--shape", "2,2,2", "--seed", "-1", "--store", "{tmp}/s.sqlite"], "seed"),
    (["improve", STRASSEN, "--ring", "Z", "--seed", "-1", "--out", "{tmp}/o.json"], "seed"),
    (["improve", STRASSEN, "--ring", "Z", "--time-limit", "nan", "--out", "{tmp}/o.json"], "finite"),
    (["improve", STRASSEN, "--ring", "Z", "--time-limit", "inf", "--out", "{tmp}/o.json"], "finite"),
    (["discover", "--shape", "2,2,2", "--time-limit", "inf", "--store", "{tmp}/s.sqlite"], "finite"),
])
def test_size_and_number_arguments(capsys, tmp_path, argv, says):
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in argv]
    _one_line_exit_2(capsys, argv, tmp_path / "k.py", tmp_path / "pkg", tmp_path / "s.sqlite",
                     tmp_path / "o.json", says=says)


# ------------------------------------------------------------- outputs never overwrite inputs
def test_improve_out_is_its_input(capsys, tmp_path):
    src = tmp_path / "s.json"
    src.write_bytes(STRASSEN.read_bytes())
    before = src.read_bytes()
    _one_line_exit_2(capsys, ["improve", src, "--ring", "Z", "--out", src], says="overwrite")
    assert src.read_bytes() == before


def test_discover_params_or_store_as_out(capsys, tmp_path):
    from alphaalgo.presets import agents_dir

    params = tmp_path / "p.npz"
    params.write_bytes((agents_dir() / "small-2x2x2-Z.npz").read_bytes())
    before = params.read_bytes()
    _one_line_exit_2(capsys, ["discover", "--shape", "2,2,2", "--params", params, "--out", params,
                              "--store", tmp_path / "s.sqlite"], tmp_path / "s.sqlite",
                     says="overwrite")
    assert params.read_bytes() == before
    store = tmp_path / "c.sqlite"
    _one_line_exit_2(capsys, ["discover", "--shape", "2,2,2", "--store", store, "--out", store],
                     store, says="same file")


def test_bench_store_refuses_a_foreign_sqlite_file(capsys, tmp_path):
    db = tmp_path / "foreign.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE mine (x)")
    con.commit()
    con.close()
    _one_line_exit_2(capsys, ["bench", STRASSEN, "--backend", "numba", "--size", "32",
                              "--store", db], says="not an alphaalgo store")
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["mine"]
    con.close()


# ------------------------------------------------------------- damaged state
def test_params_pointing_at_garbage(capsys, tmp_path):
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(os.urandom(4096))
    _one_line_exit_2(capsys, ["discover", "--shape", "2,2,2", "--params", garbage,
                              "--store", tmp_path / "s.sqlite"], tmp_path / "s.sqlite",
                     says="not a readable parameter file")


def test_results_with_one_damaged_cell(capsys, tmp_path):
    from alphaalgo.store import Store

    db = tmp_path / "s.sqlite"
    with Store(db) as s:
        s.add_scheme(catalog.strassen(), {"source": "test"})
    con = sqlite3.connect(db)
    con.execute("UPDATE schemes SET data = '{\"format\": 1}'")
    con.commit()
    con.close()
    _one_line_exit_2(capsys, ["results", "--store", db], says="damaged")


def test_a_bad_kernels_index(capsys, tmp_path, monkeypatch):
    (tmp_path / "index.json").write_text('{"schemes": [{"id": "x"}]}')
    monkeypatch.setenv("ALPHAALGO_KERNELS", str(tmp_path))
    _one_line_exit_2(capsys, ["catalog"], says="catalogue index")


def test_export_where_nothing_can_be_written(capsys):
    _one_line_exit_2(capsys, ["export", "--out", "/proc/alphaalgo-export-test",
                              "--scheme", STRASSEN], says="cannot")


def test_reader_errors_name_the_file(tmp_path):
    path = tmp_path / "weird.exp"
    path.write_text("(a11)*(b11)*(c11)*(a12)\n")
    with pytest.raises(FormatError, match=str(path)):
        formats.read_schemes(path)


def test_write_refuses_unknown_format(tmp_path):
    with pytest.raises(FormatError, match="unknown format"):
        formats.write_schemes(tmp_path / "x.json", [SchemeRecord("s", catalog.strassen())],
                              fmt="yaml")
