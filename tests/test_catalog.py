"""The shipped library under kernels/: complete, verified, faithful to its sources."""

from __future__ import annotations

import json

import pytest

from alphaalgo import catalog, formats, tensors


@pytest.fixture(scope="module")
def index():
    return catalog.load_index()


def test_index_lists_every_file(index):
    root = catalog.kernels_dir()
    files = sorted(p.relative_to(root).as_posix() for p in (root / "schemes").glob("*.json"))
    assert sorted(e.file for e in index) == files
    engine = [e for e in index if e.id.startswith(catalog.ENGINE_PREFIX)]
    assert len(index) == 113 + 7 + len(engine)


def test_kernels_ship_the_engines_own_best_for_every_shape_up_to_5(index):
    """Every shape 2 ≤ n ≤ m ≤ p ≤ 5 has a scheme the engine found itself over Z, verified,
    its provenance the command and seed that found it (and no Z2 one unless lower)."""
    engine = [e for e in index if e.id.startswith(catalog.ENGINE_PREFIX)]
    shapes = {(n, m, p) for n in range(2, 6) for m in range(n, 6) for p in range(m, 6)}
    assert {e.shape for e in engine if e.ring == "Z"} == shapes
    z = {e.shape: e.rank for e in engine if e.ring == "Z"}
    for e in engine:
        rec = formats.read_scheme(catalog.kernels_dir() / e.file)
        assert rec.provenance["source"].startswith("alphaalgo")
        command = rec.provenance["command"]
        assert command.startswith("alphaalgo improve") and "--shape" in command  # from scratch
        assert isinstance(rec.provenance["seed"], int)
        assert tensors.verify(rec.scheme, e.ring).valid
        if e.ring == "Z2":
            assert e.rank < z[e.shape]


def test_every_shipped_scheme_verifies_and_matches_its_index_row(index):
    root = catalog.kernels_dir()
    for e in index:
        rec = formats.read_scheme(root / e.file)
        s = rec.scheme
        assert tensors.verify(s).valid, e.id
        assert (s.shape, s.ring, s.rank) == (e.shape, e.ring, e.rank)
        assert tensors.addition_count(s) == e.additions
        assert rec.provenance["source"] == e.source
        assert json.loads((root / e.file).read_text())["verification"]["valid"] is True


def test_alphatensor_schemes_equal_the_published_files(index, reference_dir):
    for fname, ring in (("factorizations_r.npz", "Z"), ("factorizations_f2.npz", "Z2")):
        for rec in formats.read_schemes(reference_dir / fname, ring=ring):
            shipped = [e for e in index if e.source == "alphatensor" and e.ring == ring
                       and e.shape == rec.scheme.shape]
            assert len(shipped) == 1, rec.name
            assert catalog.load(shipped[0]) == rec.scheme


def test_best_known_ranks():
    assert catalog.best_known_rank((2, 2, 2)) == 7
    assert catalog.best_known_rank((4, 4, 4), "Z2") == 47
    assert catalog.best_known_rank((4, 4, 4), "Z") == 49
    assert catalog.best_known_rank((5, 4, 3)) == 47  # permutations share a rank
    assert catalog.best_known_rank((7, 7, 7)) is None
    assert catalog.lower_bound((3, 3, 3)) == 19


def test_best_picks_lowest_rank():
    s = catalog.best((2, 2, 2))
    assert s.rank == 7 and tensors.verify(s).valid


def test_records_table_has_every_shape_and_ring_with_sources():
    from alphaalgo import records

    shapes = [(n, m, p) for n in range(2, 6) for m in range(n, 6) for p in range(m, 6)]
    assert set(shapes) | {(6, 6, 6)} == set(records.TABLE)
    for shape in shapes:
        rec = records.record(shape[::-1])
        assert rec is not None and rec.rank("Z") == rec.rank("ZT")
        assert rec.rank("Q") <= rec.rank("Z") and rec.rank("Z2") <= rec.rank("Z")
        assert all(rec.source_of(r) for r in records.RINGS)
    four = records.record((4, 4, 4))
    assert (four.rank("Q"), four.rank("Z"), four.rank("Z2")) == (48, 49, 47)
    assert four.source_of("Z2") == "AT" and records.best_known_rank((5, 4, 4), "Z2") == 60


def test_catalog_records_command(capsys):
    from alphaalgo.cli import main

    assert main(["catalog", "--records", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {tuple(r["shape"]): r for r in rows}
    assert by[(4, 5, 5)]["Z2"] == 73 and by[(4, 5, 5)]["sources"]["Z2"] == "Arai"
    for r in rows:  # no shipped scheme can beat a proven lower bound
        low = catalog.lower_bound(r["shape"]) or 1
        for ring in ("Z", "Z2"):
            assert r[f"engine_{ring}"] is None or r[f"engine_{ring}"] >= low
    assert main(["catalog", "--records", "--shape", "3,3,3"]) == 0
    out = capsys.readouterr().out
    assert "Laderman 1976" in out and out.count("\n") == 3


def test_engine_records_ship_the_engines_own_lowest_ranks(tmp_path):
    """kernels/ keeps the engine's best per shape over Z (Z2 only where lower); schemes
    that the engine did not make are never taken from a results folder."""
    from alphaalgo.formats import SchemeRecord, write_schemes
    from alphaalgo.localsearch import search

    root, found = tmp_path / "kernels", tmp_path / "found"
    (root / "schemes").mkdir(parents=True)
    found.mkdir()
    naive = tensors.naive_scheme(2, 2, 3)
    mine = {"source": "alphaalgo improve", "command": "alphaalgo improve --shape 2,2,3 ..."}
    write_schemes(root / "schemes" / "alphaalgo-z-2x2x3-r12.json",
                  [SchemeRecord("old", naive, mine)])
    better = search(naive, ring="Z", target_rank=11, max_flips=10**7, seed=1, method="flips").scheme
    assert better.rank == 11
    write_schemes(found / "a.json", [SchemeRecord("new", better, mine)])
    write_schemes(found / "b.json", [SchemeRecord("st", catalog.strassen(), {"source": "strassen"})])
    z2 = tensors.naive_scheme(2, 2, 2, ring="Z2")
    write_schemes(found / "c.json", [SchemeRecord("z2", z2, mine)])  # Z2 with no Z: shipped
    got = {ident: rec.scheme.rank for ident, rec in catalog.engine_records(root, found)}
    assert got == {"alphaalgo-z-2x2x3-r11": 11, "alphaalgo-z2-2x2x2-r8": 8}
