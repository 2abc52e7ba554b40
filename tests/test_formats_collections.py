"""The field's formats as its collections actually write them (real files in
tests/fixtures/collections, licences in its NOTICE.md), their round trips, and
the rings each file is labelled with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphaalgo import catalog, formats, tensors
from alphaalgo.cli import main
from alphaalgo.formats import SchemeRecord

FIXTURES = Path(__file__).parent / "fixtures" / "collections"

# file -> (format, [(shape, rank, label, denominators)])
EXPECTED = {
    "km-223-11-mod0.exp": ("products", [((2, 2, 3), 11, "Z", ())]),
    "km-223-11-mod0.m": ("maple", [((2, 2, 3), 11, "Z", ())]),
    "km-226-21-mod2.exp": ("products", [((2, 2, 6), 21, "Z2", ())]),
    "km-345-47-mod0.exp": ("products", [((3, 4, 5), 47, "Z", ())]),
    "mp-666m153_lifted.txt": ("products", [((6, 6, 6), 153, "Z", ())]),
    "perminov-2x2x2_m7_ZT.json": ("perminov", [((2, 2, 2), 7, "ZT", ())]),
    "perminov-2x4x9_m58_Q.json": ("perminov", [((2, 4, 9), 58, "Q", (2,))]),
    "perminov-Strassen-222-7-18.m": ("maple", [((2, 2, 2), 7, "ZT", ())]),
    "perminov-2x5x13_m102_Z.txt": ("ternary", [((2, 5, 13), 102, "Z", ())]),
    "alphaevolve-245-444.ipynb": ("alphaevolve", [((2, 4, 5), 32, "Q", (2,)),
                                                  ((4, 4, 4), 48, "Q(i)", (2,))]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_files_read_verify_and_are_labelled(name):
    path = FIXTURES / name
    fmt, want = EXPECTED[name]
    assert formats.detect_format(path) == fmt
    records = formats.read_schemes(path)
    got = []
    for rec in records:
        check = tensors.ring_label(rec.scheme)
        assert check.valid, (name, rec.name, check.describe())
        got.append((rec.scheme.shape, rec.scheme.rank, check.label, check.denominators))
    assert got == want


def test_maple_and_exp_of_one_scheme_agree():
    a = formats.read_scheme(FIXTURES / "km-223-11-mod0.exp").scheme
    b = formats.read_scheme(FIXTURES / "km-223-11-mod0.m").scheme
    assert tensors.canonical_form(a) == tensors.canonical_form(b)


@pytest.mark.parametrize("line, expected", [
    # Kauers-Moosbauer's integer files: a bare single-variable factor, a bare last factor.
    ("(-a21)*(-b11+b13)*c12", [{(1, 0): -1}, {(0, 0): -1, (0, 2): 1}, {(0, 1): 1}]),
    # A sign on the whole product.
    ("-(a11*(b11-b12)*c11)", [{(0, 0): 1}, {(0, 0): 1, (0, 1): -1}, {(0, 0): -1}]),
    # Moosbauer-Poole's lifted files: factors side by side.
    ("(a11+a12)(b11)(c11-c12)", [{(0, 0): 1, (0, 1): 1}, {(0, 0): 1}, {(0, 0): 1, (0, 1): -1}]),
    # Scalars anywhere, a divided factor, juxtaposed coefficients.
    ("1/2*(a11)*(2b11)*(c11+c12)/3", [{(0, 0): 1}, {(0, 0): 1}, {(0, 0): "1/3", (0, 1): "1/3"}]),
])
def test_product_lines_as_written(line, expected):
    scheme = formats.parse_products([line], shape=(2, 2, 3))
    from fractions import Fraction

    for pos, (mat, den) in enumerate(zip((scheme.u, scheme.v, scheme.w), scheme.denominators)):
        dims = ((2, 2), (2, 3), (3, 2))[pos]
        got = {}
        for row in np.flatnonzero(mat[:, 0]):
            got[divmod(int(row), dims[1])] = Fraction(int(mat[row, 0]), den)
        want = {k: Fraction(v) for k, v in expected[pos].items()}
        # Scalars may sit in any factor: compare the products of the factors' scales.
        assert set(got) == set(want)
    full = [scheme.u[:, 0] / scheme.denominators[0], scheme.v[:, 0] / scheme.denominators[1],
            scheme.w[:, 0] / scheme.denominators[2]]
    prod = np.einsum("i,j,k->ijk", *full)
    ref = []
    for pos, dims in enumerate(((2, 2), (2, 3), (3, 2))):
        vec = np.zeros(dims[0] * dims[1])
        for (i, j), v in expected[pos].items():
            vec[i * dims[1] + j] = float(Fraction(v))
        ref.append(vec)
    assert np.allclose(prod, np.einsum("i,j,k->ijk", *ref))


def _gaussian_strassen() -> tensors.Scheme:
    """Strassen with the first term's A factor times i and its C factor times -i."""
    s = catalog.strassen()
    ui = np.zeros_like(s.u)
    wi = np.zeros_like(s.w)
    u, w = s.u.copy(), s.w.copy()
    ui[:, 0], u[:, 0] = u[:, 0], 0
    wi[:, 0], w[:, 0] = -w[:, 0], 0
    return tensors.Scheme(u, s.v, w, shape=(2, 2, 2), imag=(ui, np.zeros_like(s.v), wi))


ROUND_TRIPS = [
    ("strassen", catalog.strassen, [".npz", ".json", ".txt", ".m", "perminov", "ternary"]),
    ("z2", lambda: formats.read_scheme(FIXTURES / "km-226-21-mod2.exp").scheme,
     [".npz", ".json", ".txt", ".m", "perminov", "ternary"]),
    ("rational", lambda: formats.read_scheme(FIXTURES / "perminov-2x4x9_m58_Q.json").scheme,
     [".npz", ".json", ".txt", ".m", "perminov", "ternary"]),
    ("gaussian", _gaussian_strassen, [".npz", ".json", ".txt"]),
]


@pytest.mark.parametrize("label, make, targets", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_round_trips_are_exact_and_keep_the_ring(tmp_path, label, make, targets):
    scheme = make()
    assert tensors.verify(scheme).valid
    for target in targets:
        fmt = None if target.startswith(".") else target
        path = tmp_path / (f"s{target}" if fmt is None else f"s-{target}.{'json' if fmt == 'perminov' else 'txt'}")
        formats.write_schemes(path, [SchemeRecord("s", scheme)], fmt=fmt)
        back = formats.read_scheme(path).scheme
        assert back.ring == scheme.ring, (target, back)
        assert tensors.canonical_form(back) == tensors.canonical_form(scheme), target


def test_gaussian_scheme_is_q_i_and_refused_by_kernels():
    from alphaalgo import codegen

    g = _gaussian_strassen()
    check = tensors.verify(g)
    assert check.valid and check.label == "Q(i)"
    assert not tensors.verify(g, "Q").valid and "complex" in tensors.verify(g, "Q").note
    with pytest.raises(codegen.NotAMatmulAlgorithm, match="complex"):
        codegen.check_real(g)


def test_npz_keeps_the_ring_and_alphatensor_f2_reads_as_z2(tmp_path, reference_dir):
    z2 = formats.read_scheme(reference_dir / "factorizations_f2.npz", key="4,4,4").scheme
    assert z2.ring == "Z2" and z2.rank == 47  # no --ring needed: valid only mod 2
    path = tmp_path / "z2.npz"
    formats.write_schemes(path, [SchemeRecord("4,4,4", z2)])
    assert formats.read_scheme(path).scheme.ring == "Z2"


def test_a_zero_term_round_trips(tmp_path):
    s = catalog.strassen()
    padded = tensors.Scheme(np.c_[s.u, np.zeros(4, int)], np.c_[s.v, np.zeros(4, int)],
                            np.c_[s.w, np.zeros(4, int)], shape=(2, 2, 2))
    for ext in (".txt", ".json"):
        path = tmp_path / f"z{ext}"
        formats.write_schemes(path, [SchemeRecord("z", padded)])
        if ext == ".txt":
            assert path.read_text().splitlines()[-1] == "(0)*(0)*(0)"
        back = formats.read_scheme(path).scheme
        assert back.rank == 8 and tensors.verify(back).valid


def test_ternary_file_with_several_schemes(tmp_path):
    a, b = catalog.strassen(), catalog.winograd()
    path = tmp_path / "two.txt"
    formats.write_schemes(path, [SchemeRecord("a", a), SchemeRecord("b", b)], fmt="ternary")
    assert path.read_text().splitlines()[0] == "2"
    got = formats.read_schemes(path)
    assert [tensors.canonical_form(r.scheme) for r in got] == [tensors.canonical_form(a),
                                                               tensors.canonical_form(b)]


def test_verify_labels_and_denominators_on_the_command_line(capsys):
    code = main(["verify", "--json", str(FIXTURES / "perminov-2x4x9_m58_Q.json"),
                 str(FIXTURES / "perminov-2x2x2_m7_ZT.json")])
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(r["ring"], r["denominators"]) for r in rows] == [("Q", [2]), ("ZT", [])]
    # Checked over Z, the rational scheme fails and says why; still exit 1, not a traceback.
    code = main(["verify", "--ring", "Z", str(FIXTURES / "perminov-2x4x9_m58_Q.json")])
    out = capsys.readouterr().out
    assert code == 1 and "non-integer coefficients (denominators 2)" in out


def test_verify_reports_every_file_and_the_worst_status(capsys, tmp_path):
    bad = tmp_path / "bad.exp"
    bad.write_text("(a11)*(b11)\n")
    invalid = tmp_path / "invalid.exp"
    invalid.write_text("(a11)*(b11)*(c11)\n(a11)*(b11)*(c11)\n")  # 2·T: valid in no ring
    code = main(["verify", str(FIXTURES / "km-223-11-mod0.exp"), str(bad), str(invalid),
                 str(FIXTURES / "km-226-21-mod2.exp")])
    cap = capsys.readouterr()
    assert code == 2
    assert "km-223-11-mod0" in cap.out and "km-226-21-mod2" in cap.out and "FAIL" in cap.out
    assert cap.err.count("\n") == 1 and "bad.exp" in cap.err


def test_convert_between_collections_formats(capsys, tmp_path):
    out = tmp_path / "km.m"
    assert main(["convert", str(FIXTURES / "km-345-47-mod0.exp"), str(out)]) == 0
    again = tmp_path / "km.json"
    assert main(["convert", str(out), str(again), "--format", "perminov"]) == 0
    doc = json.loads(again.read_text())
    assert doc["n"] == [3, 4, 5] and doc["m"] == 47 and doc["z2"] is False
    assert tensors.verify(formats.read_scheme(again).scheme).valid
