"""Reading and writing scheme files: round trips, the safe loader, bad files."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, formats, tensors
from alphaalgo.formats import FormatError, SchemeRecord
from alphaalgo.tensors import Scheme


def _rational_strassen() -> Scheme:
    s = catalog.strassen()
    return Scheme(s.u, s.v * 3, s.w * 8, shape=(2, 2, 2), denominators=(1, 3, 8))


SCHEMES = st.one_of(
    st.just(catalog.strassen()), st.just(catalog.winograd()), st.just(_rational_strassen()),
    st.just(catalog.strassen(ring="Z2")),
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)).map(
        lambda s: tensors.naive_scheme(*s)),
    st.just(tensors.kron(tensors.naive_scheme(2, 1, 3), catalog.strassen())),
    st.just(tensors.naive_scheme(2, 10, 3)),  # indices above 9: a_1_10
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=SCHEMES, ext=st.sampled_from([".npz", ".json", ".txt"]))
def test_round_trip_is_exact(tmp_path, scheme, ext):
    path = tmp_path / f"s{ext}"
    formats.write_schemes(path, [SchemeRecord("x", scheme, {"source": "test"})])
    back = formats.read_scheme(path, ring=scheme.ring).scheme
    assert back == scheme


def test_non_dyadic_rationals_survive_npz(tmp_path):
    s = catalog.strassen()
    third = Scheme(s.u * 3, s.v, s.w, shape=(2, 2, 2), denominators=(3, 1, 1))
    path = tmp_path / "third.npz"
    formats.write_schemes(path, [SchemeRecord("t", third)])
    assert formats.read_scheme(path).scheme == third


def test_json_keeps_provenance_and_verification(tmp_path):
    path = tmp_path / "s.json"
    formats.write_schemes(path, [SchemeRecord("Strassen", catalog.strassen(),
                                              {"source": "unit test", "command": "x"})])
    import json
    obj = json.loads(path.read_text())
    assert obj["rank"] == 7 and obj["shape"] == [2, 2, 2] and obj["ring"] == "ZT"
    assert obj["verification"]["valid"] is True
    rec = formats.read_scheme(path)
    assert rec.name == "Strassen" and rec.provenance["source"] == "unit test"


def test_several_schemes_in_one_json(tmp_path):
    path = tmp_path / "many.json"
    recs = [SchemeRecord("a", catalog.strassen()), SchemeRecord("b", catalog.winograd())]
    formats.write_schemes(path, recs)
    back = formats.read_schemes(path)
    assert [r.name for r in back] == ["a", "b"]
    assert back[1].scheme == catalog.winograd()


def test_explicit_target_round_trips_in_json(tmp_path):
    t = tensors.matmul_tensor(2, 2, 2).astype(np.int64) * 2
    s = catalog.strassen()
    scheme = Scheme(s.u, s.v, s.w * 2, target=t)
    path = tmp_path / "t.json"
    formats.write_schemes(path, [SchemeRecord("t", scheme)])
    back = formats.read_scheme(path).scheme
    assert back == scheme and tensors.verify(back).valid


def test_text_format_reads_the_flip_graph_notation(tmp_path):
    path = tmp_path / "s.exp"
    path.write_text("# Strassen\n" + "\n".join(catalog.STRASSEN) + "\n\n")
    s = formats.read_scheme(path).scheme
    assert s.shape == (2, 2, 2) and tensors.verify(s).valid
    assert formats.parse_products(["(a12+a13-2*a21)*(b32+b35)*(c21+c51)"]).shape == (2, 3, 5)


def test_text_shape_override_and_rational(tmp_path):
    s = formats.parse_products(["(1/2*a11)*(2*b11)*(c11)"], shape=(2, 2, 2))
    assert s.shape == (2, 2, 2) and s.denominators == (2, 1, 1)
    assert s.factors()[0][0, 0] == Fraction(1, 2)


_COEF = st.sampled_from(["", "2*", "1/2*", "3/4*", "0*", "10*"])
_SIGN = st.sampled_from(["", "+", "-"])


@st.composite
def _product_line(draw):
    """A product line in the plain form the project writes, sometimes with what
    the fast path must leave to the parser: a repeated variable, a zero
    coefficient, a factor of the wrong matrix, a wide index, a space."""
    parts = []
    for letter in draw(st.sampled_from(["abc", "abc", "abc", "aba", "bac"])):
        terms = []
        for k in range(draw(st.integers(1, 4))):
            sign = draw(_SIGN) if k == 0 else draw(st.sampled_from("+-"))
            i, j = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            var = f"{letter}_{i}_{j}" if draw(st.booleans()) and k == 0 else f"{letter}{i}{j}"
            terms.append(f"{sign}{draw(_COEF)}{var}")
        parts.append("(" + "".join(terms) + ")")
    sep = draw(st.sampled_from(["*", "*", "*", " * "]))
    return sep.join(parts)


@settings(max_examples=300, deadline=None)
@given(line=_product_line())
def test_the_fast_path_reads_every_line_as_the_parser_does(line):
    """parse_line's fast path for the project's own form gives the parser's
    forms, or the parser's error, on every line."""
    from alphaalgo.formats import notation

    fast = notation._plain_line(line)
    try:
        value = notation._Parser(line).parse()
    except ValueError:
        assert fast is None
        with pytest.raises(ValueError):
            notation.parse_line(line)
        return
    if fast is not None:  # taken only where the parser reads the same forms
        forms = [dict(value.forms[f].coefs) for f in range(3)]
        forms[2] = {k: v * value.scalar for k, v in forms[2].items()}
        assert fast == forms


# ------------------------------------------------------------- the safe loader
class _RunsCommand:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _write_npz_member(path: Path, key: str, payload_obj) -> None:
    """An .npz whose member is an object array pickling ``payload_obj``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False,
                                               "shape": (3,)})
    pickle.dump(payload_obj, buf, protocol=2)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{key}.npy", buf.getvalue())


def test_crafted_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.npz"
    _write_npz_member(bad, "2,2,2", _RunsCommand(str(marker)))
    with pytest.raises(FormatError, match="refusing"):
        formats.read_schemes(bad)
    assert not marker.exists()


def test_object_array_of_non_arrays_is_refused(tmp_path):
    bad = tmp_path / "strings.npz"
    arr = np.empty(3, dtype=object)
    arr[:] = ["a", "b", "c"]
    with open(bad, "wb") as fh:
        np.savez(fh, **{"2,2,2": arr})
    with pytest.raises(FormatError):
        formats.read_schemes(bad)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"PK\x03\x04garbage", "not a readable"),
    (b"hello", "not a readable"),
])
def test_malformed_npz(tmp_path, content, message):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        formats.read_schemes(path)


def test_truncated_npz(tmp_path):
    good = tmp_path / "good.npz"
    formats.write_schemes(good, [SchemeRecord("s", catalog.strassen())])
    data = good.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=str(bad)):
        formats.read_schemes(bad)


@pytest.mark.parametrize("text, message", [
    ('{"format": "alphaalgo-scheme"', "malformed JSON"),
    ('{"format": "other"}', "neither an alphaalgo scheme"),
    ('{"format": "alphaalgo-scheme", "version": 1, "ring": "Z", "rank": 2, "shape": [2,2,2],'
     ' "products": ["(a11)*(b11)*(c11)"]}', "does not match"),
    ('{"format": "alphaalgo-scheme", "version": 1, "ring": "Z", "rank": 1, "shape": [1,1,1],'
     ' "products": ["(a22)*(b11)*(c11)"]}', "outside the shape"),
    ('{"format": "alphaalgo-scheme", "version": 1, "ring": "Z2", "rank": 1, "shape": [1,1,1],'
     ' "products": ["(1/2*a11)*(b11)*(c11)"]}', "denominator 2 has no meaning in Z2"),
])
def test_malformed_json(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(FormatError, match=message):
        formats.read_schemes(path)


@pytest.mark.parametrize("text, message", [
    ("(a11)*(b11)\n", "line 1"),
    ("(a11+)*(b11)*(c11)\n", "line 1"),
    ("(a11)*(q11)*(c11)\n", "unknown variable"),
    ("(a11)*(a12)*(c11)\n", "two factors of the same matrix"),
])
def test_malformed_text(tmp_path, text, message):
    path = tmp_path / "x.txt"
    path.write_text(text)
    with pytest.raises(FormatError, match=message):
        formats.read_schemes(path)


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(FormatError, match="unknown extension"):
        formats.read_schemes(tmp_path / "x.csv")
    with pytest.raises(FormatError, match="no such file"):
        formats.read_schemes(tmp_path / "x.npz")


def test_shape_that_does_not_match_factors(tmp_path):
    path = tmp_path / "x.npz"
    s = catalog.strassen()
    with open(path, "wb") as fh:
        np.savez(fh, **{"2,2,3": np.stack([s.u, s.v, s.w])})
    with pytest.raises(FormatError, match="do not match"):
        formats.read_schemes(path)


def test_infer_shape():
    assert formats.infer_shape((6, 12, 8)) == (2, 3, 4)
    with pytest.raises(ValueError):
        formats.infer_shape((5, 7, 11))
