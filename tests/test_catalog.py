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
    assert len(index) == 113 + 7


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
