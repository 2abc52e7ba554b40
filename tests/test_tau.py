"""τ-invariant walks whose fixed terms move (:mod:`alphaalgo.localsearch.flips_tau`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import tensors
from alphaalgo.localsearch import SearchConfig, flips_tau, search, symmetric, tau
from alphaalgo.localsearch.tau import TauWalker
from test_symmetric import _fixed_diagonal, _schoolbook_diagonal, _two_fold

STRASSEN_DIAGONAL = "0.0,1.1/0.0,1.1/0.0,1.1"


def _fixed(s) -> list[tuple[int, int]]:
    """The τ-fixed terms ``u ⊗ uᵀ ⊗ w`` as sorted ``(u, w)``."""
    return sorted((u, w) for u, _, w in symmetric.split(s, 2, "transpose")[0])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from([((2, 2, 2), STRASSEN_DIAGONAL), ((2, 3, 2), ""), ((3, 3, 3), ""),
                             ((3, 4, 3), "entries"), ((4, 3, 4), ""), ((3, 2, 3), "entries")]),
       seed=st.integers(0, 2**32), plateau=st.integers(1, 300), slack=st.integers(0, 9),
       chunks=st.integers(1, 5))
def test_moves_keep_schemes_valid_and_tau_invariant(case, seed, plateau, slack, chunks):
    """Every move (pair flips, fixed flips, collapses, merges, plus transitions; a
    short plateau forces many) keeps the scheme valid over Z2 and τ-invariant, its
    rank ``2·pairs + fixed`` and the live columns counted right; over Z2 the fixed
    terms keep ``Σ u ⊗ diag(w) = Σ_ij a_ij ⊗ c_ii`` and the start's ``(u, diag w)``."""
    shape, fixed = case
    start = symmetric.start_for(shape, 2, fixed or None, "transpose")
    w = TauWalker(start, "Z2", start.rank + slack + 4, seed)
    for _ in range(chunks):
        w.run(499, plateau=plateau, max_rank=start.rank + slack)
        s = w.scheme()
        assert tensors.verify(s, "Z2").valid, tensors.verify(s, "Z2").describe()
        assert _two_fold(s, "transpose") and s.rank == w.rank
        assert flips_tau.counts(w.X) == (int(w.state[0]), int(w.state[1]))
        assert _fixed_diagonal(s) == _schoolbook_diagonal(shape)
        assert _kept(s) == _kept(start)


def _kept(s) -> list[tuple[int, int]]:
    """``(u, diag w)`` of the fixed terms whose w has a diagonal: no move changes them
    (a fixed flip adds y + yᵀ, zero on the diagonal mod 2)."""
    n = s.shape[0]
    diag = sum(1 << (k * n + k) for k in range(n))
    return sorted((u, w & diag) for u, w in _fixed(s) if w & diag)


def test_fixed_terms_move():
    """Unlike the two-fold walk of :mod:`.flips_sym`, the fixed terms change: a walk
    of ⟨3,3,3⟩ from the nine single entries ends with other fixed terms."""
    start = symmetric.start_for((3, 3, 3), 2, "entries", "transpose")
    assert len(_fixed(start)) == 9
    w = TauWalker(start, "Z2", start.rank + 8, seed=3)
    w.run(20_000, plateau=500, max_rank=start.rank + 4)
    assert _fixed(w.scheme()) != _fixed(start)


def test_fixed_flip_and_collapse_by_hand():
    """On ⟨2,2,2⟩ (factors row-major bits: a00 = 1, a01 = 2, a10 = 4; τ sends
    a_ij to b_ji and c_ij to c_ji): the fixed flip of the pair term
    (a00, b00 + b01, c01) with the fixed term a00 ⊗ b00 ⊗ c00 adds y + yᵀ to the
    fixed term's C and uᵀ to the pair term's B, keeping the sum; a pair term with
    B = Aᵀ and C symmetric cancels with its image, and with C = c01 it collapses
    into the fixed term a01 ⊗ b10 ⊗ (c01 + c10)."""
    inv = symmetric.involution((2, 2, 2), "transpose")
    table = symmetric.table(inv)
    X = np.zeros((5, 8), dtype=np.uint64)
    state = np.zeros(3, dtype=np.int64)
    X[:3, 0] = (1, 1 | 2, 2)
    state[0] = 1
    state[1] = flips_tau.add_fixed(X, 0, np.uint64(1), np.uint64(1))
    before = _sum(tau.expand(X, inv))
    assert flips_tau.reduce_all(X, state, table) == 3  # nothing reduces
    X[4, 0] ^= np.uint64(2 | 4)  # w += y + yᵀ
    X[1, 0] ^= np.uint64(1)  # B += uᵀ = b00
    flipped = tau.expand(X, inv)
    assert np.array_equal(_sum(flipped), before) and _two_fold(flipped, "transpose")
    X[:3, 0] = (2, 4, 1)
    state[:] = (1, 1, 0)
    assert flips_tau.reduce_all(X, state, table) == 1 and flips_tau.counts(X) == (0, 1)
    X[:3, 0] = (2, 4, 2)
    state[:] = (1, 1, 0)
    before = _sum(tau.expand(X, inv))
    assert flips_tau.reduce_all(X, state, table) == 2
    assert np.array_equal(_sum(tau.expand(X, inv)), before)
    assert sorted((int(X[3, f]), int(X[4, f])) for f in range(2)) == [(1, 1 | 2 | 4), (2, 2 | 4)]


def _sum(s) -> np.ndarray:
    return tensors.reconstruct(s) % 2


def test_search_uses_the_moving_walk_and_reaches_known_ranks():
    """``search`` with the transposition walks this graph: ⟨2,2,2⟩ 7 and ⟨3,3,3⟩ 23."""
    for shape, fixed, target in [((2, 2, 2), STRASSEN_DIAGONAL, 7), ((3, 3, 3), None, 23)]:
        start = symmetric.start_for(shape, 2, fixed, "transpose")
        r = search(start, ring="Z2", target_rank=target, max_flips=10**8, seed=1,
                   config=symmetric.search_config(start.rank, 2, "transpose"))
        assert r.reached_target and r.scheme.rank == target, (shape, r.scheme.rank)
        assert tensors.verify(r.scheme, "Z2").valid and _two_fold(r.scheme, "transpose")


def test_same_seed_same_walk():
    start = symmetric.start_for((3, 4, 3), 2, None, "transpose")
    cfg = dataclasses.replace(symmetric.search_config(start.rank, 2, "transpose"), chunk=10_000)
    a, b = (search(start, ring="Z2", max_flips=300_000, seed=4, config=cfg) for _ in range(2))
    assert a.scheme == b.scheme and [h[:2] for h in a.history] == [h[:2] for h in b.history]


def test_release_goes_on_from_the_symmetric_best_on_the_plain_graph():
    """``release_after``: the τ walk for that many flips, then the plain walk from its
    best; the result need not be τ-invariant, the budget is shared and the walks are
    both reported."""
    start = symmetric.start_for((3, 3, 3), 2, None, "transpose")
    cfg = dataclasses.replace(symmetric.search_config(start.rank, 2, "transpose"),
                              release_after=50_000)
    r = search(start, ring="Z2", max_flips=400_000, seed=2, config=cfg)
    assert tensors.verify(r.scheme, "Z2").valid and r.flips == 400_000
    assert len(r.walks) == 2 and r.walks[0][3] == 50_000 and r.walks[1][0] == r.walks[0][1]
    assert r.scheme.rank <= r.walks[0][1]
    with pytest.raises(ValueError, match="release_after"):
        SearchConfig(release_after=10)
