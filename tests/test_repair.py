"""Repair: clusters of terms compressed to a core and decomposed anew, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from alphaalgo import catalog, localsearch, presets, repair, tensors


def _scheme(ring: str) -> tensors.Scheme:
    start = tensors.naive_scheme(3, 3, 3, "Z2" if ring == "Z2" else "Z")
    how = {"method": "flips"} if ring == "Z" else {}
    return localsearch.search(start, ring=ring, target_rank=25, max_flips=3_000_000, seed=4,
                              **how).scheme


@pytest.mark.parametrize("ring", ["Z2", "Z"])
@pytest.mark.parametrize("k", [2, 4, 7])
def test_a_core_expands_back_to_the_same_scheme(ring, k):
    """For clusters of k terms: the bases are drawn from the terms, the coordinates
    reproduce every factor exactly, the core is the sum of the coordinate terms, and
    replacing the terms by the core's own decomposition keeps the scheme valid."""
    scheme = _scheme(ring)
    rng = np.random.default_rng(k)
    for terms in repair.clusters(scheme, k, 6, rng):
        assert len(set(terms.tolist())) == k
        core = repair.compress(scheme, terms, ring)
        if core is None:               # over Z: coordinates not integral
            continue
        for mat, basis, coords in zip((scheme.u, scheme.v, scheme.w), core.bases, core.coords):
            got = coords @ basis.T
            want = np.asarray(mat, np.int64)[:, terms].T
            assert np.array_equal(got % 2, want % 2) if ring == "Z2" else np.array_equal(got, want)
        again = repair.expand(scheme, core, core.coords)
        assert again.rank == scheme.rank and tensors.verify(again, ring).valid
        assert max(core.dims) <= k


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_repair_undoes_a_split(ring):
    """Strassen's scheme with one term split in two (u⊗v⊗w = u⊗v⊗(w − e) + u⊗v⊗e) has
    rank 8; the two share u and v, so a cluster holding them has a core of rank 1,
    and repair with the local-search solver finds rank 7 again."""
    s = catalog.best((2, 2, 2), "Z")
    u, v, w = (np.asarray(m, np.int64) for m in (s.u, s.v, s.w))
    e = np.zeros(4, np.int64)
    e[int(np.flatnonzero(w[:, 0] == 0)[0])] = 1
    u, v, w = (np.concatenate([u, u[:, :1]], 1), np.concatenate([v, v[:, :1]], 1),
               np.concatenate([w[:, :1] - e[:, None], w[:, 1:], e[:, None]], 1))
    if ring == "Z2":
        u, v, w = u % 2, v % 2, w % 2
    split = tensors.Scheme(u, v, w, ring=ring, shape=(2, 2, 2))
    assert split.rank == 8 and tensors.verify(split, ring).valid
    out = repair.repair(split, repair.localsearch_solver(), 3, 12, np.random.default_rng(0))
    assert out.improved and out.scheme.rank == 7 and tensors.verify(out.scheme, ring).valid


def test_the_agent_solver_runs_on_cores_and_returns_only_decompositions():
    """A core agent (tiny, a few updates) plays padded cores; whatever it returns is a
    decomposition of the core in at most the moves asked, over Z2."""
    tiny = presets.load_preset("tiny")
    agent, params = repair.train_core_agent(3, "Z2", tiny, steps=3)
    solve = repair.agent_solver(agent, params, tiny.search, games=4)
    rng = np.random.default_rng(0)
    found = 0
    for _ in range(4):
        x, y, z = (rng.integers(0, 2, (1, 2)) | np.eye(1, 2, dtype=np.int64) for _ in range(3))
        core = np.einsum("ra,rb,rc->abc", x, y, z) % 2      # rank 1 in a 2×2×2 core
        got = solve(core, "Z2", 2, rng)
        if got is not None:
            found += 1
            assert len(got[0]) <= 2
            assert np.array_equal(np.einsum("ra,rb,rc->abc", *got) % 2, core)
    assert solve(np.ones((4, 1, 1), np.int64), "Z2", 1, rng) is None   # larger than the game
