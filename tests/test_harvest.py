"""Harvests of real schemes: distinct, verified, at the rank asked for; the command
keeps them in a store; bad input changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from alphaalgo import tensors
from alphaalgo.harvest import harvest
from alphaalgo.store import Store
from cli_run import run


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_a_harvest_holds_distinct_verified_schemes_at_the_rank(ring):
    got = harvest((2, 3, 3), ring, 20, time_limit=60, rank=15, seed=1, walk=50_000)
    assert got.rank == 15 and len(got.schemes) == 20
    hashes = {tensors.canonical_hash(s) for s in got.schemes}
    assert len(hashes) == 20
    for s in got.schemes:
        assert s.rank == 15 and s.shape == (2, 3, 3) and tensors.verify(s, ring).valid
        if ring == "Z":  # the ternary walk: valid over every ring
            assert s.max_abs_coefficient() <= 1 and tensors.verify(s, "Z").valid


def test_a_harvest_never_reads_the_catalogue(monkeypatch):
    from alphaalgo import catalog

    def hidden(*args, **kwargs):
        raise AssertionError("the catalogue was read")

    for name in ("best", "load", "strassen", "schemes"):
        if hasattr(catalog, name):
            monkeypatch.setattr(catalog, name, hidden)
    got = harvest((2, 2, 2), "Z2", 2, time_limit=30, rank=7, seed=0, walk=20_000)
    assert got.rank == 7 and all(tensors.verify(s, "Z2").valid for s in got.schemes)


def test_the_command_stores_the_harvest_and_adds_to_it(tmp_path, capsys):
    db = tmp_path / "real.sqlite"
    args = ["harvest", "--shape", "2,2,3", "--ring", "Z2", "--rank", "11", "--count", "5",
            "--time-limit", "60", "--walk", "20000", "--store", str(db), "--quiet"]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "harvested 5 distinct rank-11" in out
    with Store(db, readonly=True) as store:
        held = store.list_schemes((2, 2, 3), "Z2")
    assert len(held) == 5 and all(s.rank == 11 for s in held)
    assert all(s.provenance["source"] == "alphaalgo harvest" and "--seed 0" in
               s.provenance["command"] for s in held)
    code, out, _ = run(capsys, *args[:-3], "--seed", "7", "--store", str(db), "--quiet")
    assert code == 0
    with Store(db, readonly=True) as store:
        assert len(store.list_schemes((2, 2, 3), "Z2")) > 5


@pytest.mark.parametrize("extra, message", [
    (["--shape", "2,2,2", "--rank", "8"], "schoolbook scheme already has rank 8"),
    (["--shape", "9,9,9", "--rank", "500"], "at most 64"),
    (["--shape", "2,2,2", "--count", "0"], "--count must be between"),
    (["--shape", "2,2,2", "--time-limit", "nan"], "finite positive"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    db = tmp_path / "real.sqlite"
    code, _, err = run(capsys, "harvest", "--ring", "Z2", "--store", str(db), "--quiet", *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not db.exists()
