"""Starts from scratch built from walked halves (alphaalgo.scratch)."""

from __future__ import annotations

import pytest

from alphaalgo import formats, records, scratch, tensors
from alphaalgo.localsearch import search

from cli_run import run


@pytest.mark.parametrize("shape, expected", [
    ((5, 5, 5), ((5, 5, 2), (5, 5, 3), 2)),
    ((2, 4, 3), ((2, 2, 3), (2, 2, 3), 1)),
    ((5, 4, 2), ((2, 4, 2), (3, 4, 2), 0)),
    ((3, 3, 3), None),
])
def test_halves_split_the_largest_index(shape, expected):
    assert scratch.halves(shape) == expected


def test_merged_start_walks_each_half_shape_once_and_is_valid():
    """⟨4,2,4⟩ splits the last 4: ⟨4,2,2⟩ twice, which is one sorted shape (⟨2,2,4⟩),
    walked once; the merge is a valid ⟨4,2,4⟩ scheme of twice its rank."""
    calls = []

    def walk(start, flips):
        calls.append((start.shape, start.rank))
        target = records.best_known_rank(start.shape, "Z2") or 0
        return search(start, ring="Z2", max_flips=flips, seed=0, target_rank=target).scheme

    merged = scratch.merged_start((4, 2, 4), "Z2", walk, half_flips=3_000_000,
                                  probe_flips=200_000)
    assert merged.shape == (4, 2, 4) and tensors.verify(merged, "Z2").valid
    assert merged.rank == 28  # ⟨2,2,4⟩ reaches its record 14 from its schoolbook scheme
    assert [shape for shape, _ in calls] == [(2, 2, 4), (2, 2, 4)]  # the probe, then the walk


def test_improve_from_scratch_merges_halves_when_the_schoolbook_walk_is_stuck(
        tmp_path, capsys, monkeypatch):
    """⟨2,4,5⟩: the walk from its schoolbook scheme (40) makes no reduction in the probe,
    so improve starts from ⟨2,4,2⟩ ⊕ ⟨2,4,3⟩ walked (at most 14 + 20 = 34), reading no
    catalogue, and the result is verified."""
    empty = tmp_path / "no-kernels"
    empty.mkdir()
    monkeypatch.setenv("ALPHAALGO_KERNELS", str(empty))
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "improve", "--shape", "2,4,5", "--ring", "Z2",
                          "--max-flips", "5000000", "--workers", "1", "--seed", "0",
                          "--quiet", "--out", str(out))
    assert code == 0, stdout
    rec = formats.read_scheme(out)
    assert rec.scheme.shape == (2, 4, 5) and rec.scheme.rank <= 34
    assert tensors.verify(rec.scheme, "Z2").valid
    assert rec.provenance["input"].startswith("from scratch, the schoolbook walk")
    assert "the merge of its walked halves" in rec.provenance["input"]
