"""Flip-graph local search: moves keep schemes valid, walks are reproducible,
searches reach known ranks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaalgo import catalog, tensors
from alphaalgo.executors import localsearch_job
from alphaalgo.localsearch import SearchConfig, Walker, flips_z, flips_z2, packing, search
from alphaalgo.localsearch.rng import make_rng

SMALL = [(2, 2, 2), (2, 2, 3), (2, 3, 2), (2, 3, 3), (3, 3, 3)]


def _split_term(scheme: tensors.Scheme) -> tensors.Scheme:
    """The same scheme with its first term's w split in two: a⊗b⊗c = a⊗b⊗c1 + a⊗b⊗c2."""
    w1 = scheme.w[:, :1].copy()
    w2 = scheme.w[:, :1] - w1
    w1[0, 0] += 1
    w2[0, 0] -= 1
    u = np.concatenate([scheme.u, scheme.u[:, :1]], 1)
    v = np.concatenate([scheme.v, scheme.v[:, :1]], 1)
    w = np.concatenate([w1, scheme.w[:, 1:], w2], 1)
    return scheme.replace(u=u, v=v, w=w)


# ------------------------------------------------------------------ packing
@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5), (4, 4, 4)])
def test_pack_unpack_round_trip(shape):
    s = tensors.naive_scheme(*shape, ring="Z2")
    assert packing.unpack_z2(packing.pack_z2(s, s.rank + 3), s.rank, s) == s
    z = catalog.strassen("Z")
    X, sizes = packing.pack_z(z, z.rank + 2)
    assert packing.unpack_z(X, sizes, z.rank, z) == z


def test_unsearchable_schemes_are_refused():
    rational = tensors.naive_scheme(2, 2, 2).replace(denominators=(1, 1, 3))
    with pytest.raises(ValueError, match="integer coefficients"):
        packing.check_searchable(rational, "Z")
    big = tensors.naive_scheme(9, 9, 9, ring="Z2")
    with pytest.raises(ValueError, match="64 rows"):
        packing.check_searchable(big, "Z2")


# ---------------------------------------------------- moves keep validity
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(SMALL), ring=st.sampled_from(["Z2", "Z"]),
       seed=st.integers(0, 2**32), plateau=st.integers(1, 400), slack=st.integers(0, 3),
       chunks=st.integers(1, 6), dependent=st.booleans())
def test_random_walks_keep_schemes_valid(shape, ring, seed, plateau, slack, chunks, dependent):
    """Flips, reductions and plus transitions (a short plateau forces many)."""
    start = tensors.naive_scheme(*shape, ring=ring)
    w = Walker(start, ring, start.rank + slack + 2, seed, dependent=dependent)
    for _ in range(chunks):
        w.run(997, plateau=plateau, max_rank=start.rank + slack)
        s = w.scheme()
        assert tensors.verify(s, ring).valid
        assert s.rank <= start.rank + slack
        if ring == "Z":
            assert int(np.abs(s.u).max()) <= 1 and int(np.abs(s.w).max()) <= 1


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(SMALL), seed=st.integers(0, 2**32), plateau=st.integers(1, 400),
       chunks=st.integers(1, 5), bound=st.sampled_from([1, 2]))
def test_ternary_and_bounded_walks_stay_in_their_coefficients(shape, seed, plateau, chunks, bound):
    """Over Z with bound 1 the walk is the bit-packed ternary one and never leaves
    {-1, 0, 1}; with bound 2 it is the int8 one and never leaves [-2, 2]."""
    start = tensors.naive_scheme(*shape, ring="Z")
    w = Walker(start, "Z", start.rank + 4, seed, bound=bound)
    assert w.ternary == (bound == 1)
    for _ in range(chunks):
        w.run(997, plateau=plateau, max_rank=start.rank + 2)
        s = w.scheme()
        assert tensors.verify(s, "Z").valid and s.max_abs_coefficient() <= bound
        snap = w.snapshot()
        w.restore(snap)
        assert w.scheme() == s


def test_ternary_packing_round_trip():
    s = tensors.naive_scheme(2, 3, 4, ring="Z")
    z = catalog.strassen("Z")
    for scheme in (s, z):
        X = packing.pack_zt(scheme, scheme.rank + 2)
        assert packing.unpack_zt(X, scheme.rank, scheme) == scheme
    with pytest.raises(ValueError, match="-1, 0, 1"):
        packing.pack_zt(z.replace(u=2 * z.u), z.rank)


@settings(max_examples=25, deadline=None)
@given(shape=st.sampled_from(SMALL), seed=st.integers(0, 2**32))
def test_plus_transition_raises_the_rank_by_one_and_keeps_validity(shape, seed):
    rng = make_rng(seed)
    s2 = tensors.naive_scheme(*shape, ring="Z2")
    X = packing.pack_z2(s2, s2.rank + 1)
    new = flips_z2.plus_transition(X, s2.rank, s2.rank + 1, rng)
    assert new == s2.rank + 1
    assert tensors.verify(packing.unpack_z2(X, new, s2), "Z2").valid
    assert flips_z2.plus_transition(X, new, new, rng) == new  # no room: unchanged

    sz = tensors.naive_scheme(*shape, ring="Z")
    Xz, sizes = packing.pack_z(sz, sz.rank + 1)
    K = np.zeros((3, sz.rank + 1), np.uint64)
    G = np.zeros((3, sz.rank + 1), np.int8)
    flips_z.normalize_all(Xz, sizes, K, G, sz.rank)
    new = flips_z.plus_transition(Xz, sizes, K, G, sz.rank, sz.rank + 1, 1, rng)
    assert new == sz.rank + 1
    assert tensors.verify(packing.unpack_z(Xz, sizes, new, sz), "Z").valid


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_reduction_merges_terms_that_share_two_factors(ring):
    s = _split_term(catalog.strassen("Z"))
    assert s.rank == 8 and tensors.verify(s, "Z").valid
    s = s.replace(ring=ring) if ring == "Z2" else s
    w = Walker(s, ring, 10, seed=0)
    assert w.rank == 7
    assert tensors.verify(w.scheme(), ring).valid


@pytest.mark.parametrize("negate", [(1, 1), (-1, 1), (1, -1), (-1, -1)])
def test_reduction_over_z_respects_signs(negate):
    """a⊗b⊗c1 + (±a)⊗(±b)⊗(±c2) with the signs chosen so the sum is a⊗b⊗(c1+c2)."""
    s = _split_term(catalog.strassen("Z"))
    su, sv = negate
    u, v, w = s.u.copy(), s.v.copy(), s.w.copy()
    u[:, -1] *= su
    v[:, -1] *= sv
    w[:, -1] *= su * sv
    signed = s.replace(u=u, v=v, w=w)
    assert tensors.verify(signed, "Z").valid
    walker = Walker(signed, "Z", 10, seed=0)
    assert walker.rank == 7 and tensors.verify(walker.scheme(), "Z").valid


def test_reduction_by_linear_dependence():
    """a⊗b1⊗x + a⊗b2⊗y rewritten as a⊗b1⊗(x+c) + a⊗b2⊗(y+c) + a⊗(b1+b2)⊗c:
    no two terms share two factors, but the b's of the three terms sharing a
    are dependent, so one term goes."""
    s = tensors.naive_scheme(2, 2, 2, ring="Z2")
    t1, t2 = 0, 1  # e11⊗e11⊗e11 and e11⊗e12⊗e21 share a = e11
    assert np.array_equal(s.u[:, t1], s.u[:, t2])
    c = np.array([1, 1, 1, 0])
    u = np.concatenate([s.u, s.u[:, :1]], 1)
    v = np.concatenate([s.v, (s.v[:, t1] + s.v[:, t2])[:, None] % 2], 1)
    w = s.w.copy()
    w[:, t1] = (w[:, t1] + c) % 2
    w[:, t2] = (w[:, t2] + c) % 2
    w = np.concatenate([w, c[:, None]], 1)
    nine = s.replace(u=u, v=v, w=w)
    assert nine.rank == 9 and tensors.verify(nine, "Z2").valid
    walker = Walker(nine, "Z2", 12, seed=0)
    assert walker.rank == 9  # the pairwise reductions do not see it
    buf = np.empty((4, 64), dtype=np.uint64)
    assert flips_z2.group_reduce(walker.X, 9, 0, 1, t1, buf)
    rank = flips_z2.reduce_all(walker.X, 9)
    assert rank == 8
    assert tensors.verify(packing.unpack_z2(walker.X, rank, nine), "Z2").valid
    assert not flips_z2.group_reduce(walker.X, rank, 0, 1, t1, buf)


def test_reduction_drops_zero_terms():
    s = catalog.strassen("Z2")
    u = np.concatenate([s.u, np.zeros((4, 1), np.int64)], 1)
    v = np.concatenate([s.v, s.v[:, :1]], 1)
    w = np.concatenate([s.w, s.w[:, :1]], 1)
    padded = s.replace(u=u, v=v, w=w)
    assert Walker(padded, "Z2", 10, seed=0).rank == 7


# --------------------------------------------------------- reproducibility
@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_same_seed_same_walk(ring):
    start = tensors.naive_scheme(3, 3, 3, ring=ring)
    walks = []
    for seed in (5, 5, 6):
        w = Walker(start, ring, start.rank + 4, seed)
        w.run(20_000, plateau=300, max_rank=start.rank + 2)
        walks.append(w.snapshot())
    assert walks[0][1] == walks[1][1] and np.array_equal(walks[0][0], walks[1][0])
    assert not np.array_equal(walks[0][0], walks[2][0])


def test_same_seed_same_search_result():
    start = tensors.naive_scheme(3, 3, 3, ring="Z2")
    cfg = SearchConfig(plateau=2000, restart_after=50_000, chunk=10_000)
    a = search(start, max_flips=300_000, seed=11, config=cfg)
    b = search(start, max_flips=300_000, seed=11, config=cfg)
    assert a.scheme == b.scheme and a.flips == b.flips and a.restarts == b.restarts


# ------------------------------------------------------------------ search
@pytest.mark.parametrize("ring,method", [("Z2", "auto"), ("Z", "flips"), ("Z", "lift")])
def test_search_finds_strassen_rank_from_the_naive_scheme(ring, method):
    res = search(tensors.naive_scheme(2, 2, 2, ring=ring), target_rank=7, max_flips=2_000_000,
                 seed=1, method=method)
    assert res.reached_target and res.scheme.rank == 7
    assert res.scheme.ring == ring and tensors.verify(res.scheme).valid
    assert res.history[0][0] == 8 and res.history[-1][0] == 7


def test_search_reaches_rank_23_on_333_over_z2():
    res = search(tensors.naive_scheme(3, 3, 3, ring="Z2"), target_rank=23, max_flips=5_000_000,
                 seed=2)
    assert res.reached_target and res.scheme.rank == 23
    assert tensors.verify(res.scheme, "Z2").valid
    assert all(tensors.verify(p, "Z2").valid and p.rank == 23 for p in res.pool)


@pytest.mark.parametrize("ring,method", [("Z2", "auto"), ("Z", "flips"), ("Z", "lift")])
def test_pool_step_down_reaches_the_known_rank(ring, method):
    """Rank by rank: many distinct schemes at each rank, walked down to the next."""
    cfg = SearchConfig(restart="stepdown", restart_after=100_000, pool_size=8, chunk=50_000,
                       bound=1)
    res = search(tensors.naive_scheme(3, 3, 3, ring=ring), target_rank=23, max_flips=20_000_000,
                 seed=3, method=method, config=cfg)
    assert res.reached_target and res.scheme.rank == 23 and res.restarts > 4
    assert tensors.verify(res.scheme, ring).valid
    ranks = [r for r, _, _ in res.history]
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] == 23
    if ring == "Z2":
        assert res.pool and all(tensors.verify(p, "Z2").valid and p.rank == 23 for p in res.pool)


def test_pool_step_down_collects_distinct_schemes_before_it_descends():
    """With a budget that stops short of the next rank, the pool holds distinct schemes
    of the lowest rank reached, each valid; the same seed gives the same pool."""
    cfg = SearchConfig(restart="stepdown", restart_after=20_000, pool_size=6, chunk=20_000)
    runs = [search(tensors.naive_scheme(2, 3, 3, ring="Z2"), max_flips=400_000, seed=9,
                   config=cfg) for _ in range(2)]
    pool = runs[0].pool
    assert len(pool) > 1 and len({tensors.canonical_hash(p) for p in pool}) == len(pool)
    assert all(p.rank == runs[0].scheme.rank and tensors.verify(p, "Z2").valid for p in pool)
    assert [tensors.canonical_hash(p) for p in pool] == \
        [tensors.canonical_hash(p) for p in runs[1].pool]


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_a_population_of_walkers_reaches_the_known_rank(ring):
    cfg = SearchConfig(restart="population", restart_after=50_000, pool_size=4, chunk=25_000)
    res = search(tensors.naive_scheme(3, 3, 3, ring=ring), ring=ring, target_rank=23,
                 max_flips=20_000_000, seed=5, config=cfg)
    assert res.reached_target and res.scheme.rank == 23
    assert tensors.verify(res.scheme, ring).valid
    again = search(tensors.naive_scheme(3, 3, 3, ring=ring), ring=ring, target_rank=23,
                   max_flips=20_000_000, seed=5, config=cfg)
    assert again.scheme == res.scheme and again.flips == res.flips


def test_search_over_an_explicit_target():
    s = catalog.strassen("Z2")
    t = tensors.matmul_tensor(2, 2, 2).astype(np.int64)
    naive = tensors.naive_scheme(2, 2, 2, ring="Z2")
    explicit = tensors.Scheme(naive.u, naive.v, naive.w, ring="Z2", target=t)
    res = search(explicit, target_rank=7, max_flips=1_000_000, seed=3)
    assert res.scheme.shape is None and res.scheme.rank == s.rank
    assert tensors.verify(res.scheme).valid


def test_search_rejects_bad_input():
    s = tensors.naive_scheme(2, 2, 2)
    w = s.w.copy()
    w[0, 0] = 0
    with pytest.raises(ValueError, match="not valid"):
        search(s.replace(w=w), max_flips=10)
    with pytest.raises(ValueError, match="time limit or a number of flips"):
        search(s)
    with pytest.raises(ValueError, match="method"):
        search(s, max_flips=10, method="annealing")


def test_lift_mode_counts_only_schemes_that_lift():
    res = search(tensors.naive_scheme(3, 3, 3, ring="Z2"), ring="Z2", lift=True, target_rank=23,
                 max_flips=5_000_000, seed=4)
    assert res.scheme.ring == "Z" and res.scheme.rank == 23 and res.reached_target
    assert tensors.verify(res.scheme, "Z").valid


def test_the_guard_undoes_new_lows_that_do_not_lift(monkeypatch):
    """With ``guard`` a Z2 low that does not lift is undone: when nothing below
    rank 25 lifts, the guarded walk stays at 25 where the plain one goes on down."""
    from alphaalgo.localsearch import walk

    real = walk._lift_integral
    offered: list[int] = []

    def lift_from_25(s):
        offered.append(s.rank)
        return real(s) if s.rank >= 25 else None

    monkeypatch.setattr(walk, "_lift_integral", lift_from_25)
    start = tensors.naive_scheme(3, 3, 3, ring="Z2")
    plain = search(start, ring="Z2", lift=True, target_rank=23, max_flips=2_000_000, seed=4)
    guarded = search(start, ring="Z2", lift=True, target_rank=23, max_flips=2_000_000, seed=4,
                     config=SearchConfig(guard=True))
    assert plain.walk_rank < 25 and plain.scheme.rank == 25
    assert guarded.walk_rank == 25 and guarded.scheme.rank == 25
    assert guarded.restarts > 0 and tensors.verify(guarded.scheme, "Z").valid
    with pytest.raises(ValueError, match="guard"):
        search(start, max_flips=10, config=SearchConfig(guard=True))
    with pytest.raises(ValueError, match="guard"):
        SearchConfig(guard=True, restart="population")
    # stepdown: a scheme joins its rank's pool only when it lifts, so the walks
    # start at 25 and never reach 23; without the guard they step down past 25
    for guard, lowest in ((False, 23), (True, 24)):
        offered.clear()
        ladder = search(start, ring="Z2", lift=True, target_rank=23, max_flips=3_000_000,
                        seed=4, config=SearchConfig(guard=guard, restart="stepdown",
                                                    restart_after=200_000, chunk=200_000))
        assert ladder.scheme.rank == 25 and tensors.verify(ladder.scheme, "Z").valid
        assert min(offered) == lowest


# ------------------------------------------------- the campaign's local-search job
@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_the_job_returns_a_scheme_no_worse_than_its_input(ring):
    start = tensors.naive_scheme(2, 3, 3, ring=ring)
    out, why = localsearch_job(start, 5.0, 0, 15)
    assert why == "" and out.ring == ring and out.shape == (2, 3, 3)
    assert out.rank == 15 and tensors.verify(out).valid
    again, _ = localsearch_job(out, 0.2, 1, None)
    assert again.rank <= out.rank and tensors.verify(again).valid


def test_the_job_with_a_speed_weight_walks_toward_fewer_additions():
    """λ > 0: when the rank does not fall, the rest of the time lowers the additions."""
    from alphaalgo import codegen

    start = catalog.strassen("Z")
    out, why = localsearch_job(start, 1.0, 0, None, True)
    assert why == "" and out.rank == 7 and tensors.verify(out, "Z").valid
    assert codegen.addition_counts(out)["shared"] == 15 < codegen.addition_counts(start)["shared"]


def test_the_job_refuses_rational_schemes():
    s = catalog.strassen("Z")
    # a⊗b⊗c = (a/2)⊗b⊗c + (a/2)⊗b⊗c: a valid scheme over Q with u over the denominator 2
    u = np.concatenate([s.u[:, :1], s.u[:, :1], 2 * s.u[:, 1:]], 1)
    v = np.concatenate([s.v[:, :1], s.v], 1)
    w = np.concatenate([s.w[:, :1], s.w], 1)
    rational = s.replace(u=u, v=v, w=w, denominators=(2, 1, 1))
    assert tensors.verify(rational).valid and not rational.is_integral
    out, why = localsearch_job(rational, 0.1, 0, None)
    assert out is None and "integer coefficients" in why


# ------------------------------------------------------------ several walkers
def test_parallel_search_reaches_the_target_and_is_verified():
    from alphaalgo.localsearch import parallel_search

    start = tensors.naive_scheme(3, 3, 3, ring="Z2")
    res = parallel_search(start, workers=2, ring="Z2", target_rank=23, max_flips=10**8, seed=4)
    assert res.reached_target and res.scheme.rank == 23
    assert tensors.verify(res.scheme, "Z2").valid


def test_parallel_search_with_a_flip_budget_is_reproducible():
    """No target, a flip budget: every walker runs to the end, and the best (ties: the
    lowest seed) does not depend on timing."""
    from alphaalgo.localsearch import parallel_search

    start = tensors.naive_scheme(2, 3, 3, ring="Z2")
    a, b = (parallel_search(start, workers=3, ring="Z2", max_flips=50_000, seed=7,
                            config=SearchConfig(chunk=5_000)) for _ in range(2))
    assert a.scheme == b.scheme and a.flips == b.flips == 150_000
    single = search(start, ring="Z2", max_flips=50_000, seed=7, config=SearchConfig(chunk=5_000))
    assert a.scheme.rank <= single.scheme.rank


def test_more_starts_than_workers_are_all_walked():
    """Three starts, two workers: each start is some worker's (worker 0 walks starts 0
    and 2 in turn), so the third start, Strassen's 7, is walked too."""
    from alphaalgo.localsearch import parallel_search
    from alphaalgo.localsearch.parallel import share_of

    naive = tensors.naive_scheme(2, 2, 2, ring="Z2")
    starts = [naive, naive, catalog.strassen("Z2")]
    assert share_of(starts, 0, 2) == [starts[0], starts[2]] and share_of(starts, 1, 2) == [naive]
    assert share_of(starts, 4, 5) == [naive]
    res = parallel_search(starts, workers=2, ring="Z2", max_flips=20, seed=1,
                          config=SearchConfig(chunk=10))
    assert res.scheme.rank == 7 and res.start_rank == 7 and tensors.verify(res.scheme, "Z2").valid
    # every walk is reported, not only the best: worker 0's two starts in turn, then worker 1's
    assert [w[0] for w in res.walks] == [8, 7, 8]
    assert all(rank <= start and walk <= rank for start, rank, walk, _, _ in res.walks)
    assert sum(w[3] for w in res.walks) == res.flips


def test_parallel_search_refuses_bad_arguments():
    from alphaalgo.localsearch import parallel_search

    with pytest.raises(ValueError, match="workers must be"):
        parallel_search(tensors.naive_scheme(2, 2, 2, ring="Z2"), workers=0, max_flips=10)
    with pytest.raises(ValueError, match="give a time limit"):
        parallel_search(tensors.naive_scheme(2, 2, 2, ring="Z2"), workers=2)


# ------------------------------------------------- splits and sandwiches
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(SMALL), ring=st.sampled_from(["Z2", "Z"]),
       seed=st.integers(0, 2**32), count=st.integers(1, 4), trans=st.integers(0, 3))
def test_splits_and_sandwiches_keep_schemes_valid(shape, ring, seed, count, trans):
    """A split raises the rank by one per term split and keeps the coefficients within
    the bound; a sandwich keeps the rank; both keep the scheme valid over its ring."""
    from alphaalgo.localsearch import moves

    rng = np.random.default_rng(seed)
    start = tensors.naive_scheme(*shape, ring=ring)
    walked = Walker(start, ring, start.rank + 4, seed)
    walked.run(5_000, plateau=100, max_rank=start.rank + 2)
    for s in (start, walked.scheme()):
        split = moves.split(s, rng, bound=1, count=count)
        assert tensors.verify(split, ring).valid
        assert s.rank < split.rank <= s.rank + count or ring == "Z2"
        assert split.rank <= s.rank + count
        if ring == "Z":
            assert split.max_abs_coefficient() <= max(1, s.max_abs_coefficient())
        sw = moves.sandwich(s, rng, trans, bound=1)
        assert sw.rank == s.rank and tensors.verify(sw, ring).valid
        if ring == "Z":
            assert sw.max_abs_coefficient() <= max(1, s.max_abs_coefficient())


@pytest.mark.parametrize("ring,how", [("Z2", {}), ("Z", {"method": "flips"})])
def test_walks_with_sandwiches_and_splits_at_restarts_reach_the_target(ring, how):
    cfg = SearchConfig(restart_after=50_000, chunk=25_000, sandwich=2, split=1)
    res = search(tensors.naive_scheme(2, 3, 3, "Z2" if ring == "Z2" else "Z"), ring=ring,
                 target_rank=15, max_flips=40_000_000, seed=2, config=cfg, **how)
    assert res.scheme.rank == 15 and tensors.verify(res.scheme, ring).valid
    assert res.restarts > 0 or res.flips < 50_000
    with pytest.raises(ValueError, match="sandwich and split"):
        SearchConfig(restart="stepdown", split=1)
