"""Synthetic demonstrations, basis changes and augmentation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alphaalgo.examples import Examples
from alphaalgo import catalog, demos, game, tensors


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_a_demonstration_replayed_reaches_zero_in_exactly_its_length(ring):
    cfg = game.GameConfig((4, 4, 4), ring, game.default_coefficients(ring, (2, 2, 2)), max_moves=12)
    rng = np.random.default_rng(1)
    step = jax.jit(functools.partial(game.step, cfg))
    for rank in (1, 3, 6):
        target, acts = demos.random_demo(rng, cfg, rank, 0.5)
        assert acts.shape == (rank, 12)
        assert np.all(np.asarray(game.is_legal(cfg, acts)))
        state = game.init(cfg, jnp.asarray(target))
        for t, a in enumerate(acts):
            assert not bool(state.done)
            state, r = step(state, jnp.asarray(a))
            assert float(r) == -1.0
        assert bool(state.done) and int(state.step) == rank
        assert not np.any(np.asarray(state.residual))


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_demo_examples_are_consistent(ring):
    cfg = game.GameConfig((4, 4, 4), ring, game.default_coefficients(ring, (2, 2, 2)),
                          max_moves=8, history=2)
    rng = np.random.default_rng(2)
    ex = demos.demo_examples(rng, cfg, demos.DemoConfig(1, 1, 0.5), 50)
    assert ex.residual.shape == (50, 4, 4, 4) and ex.actions.shape == (50, 1, 12)
    terms = demos.term_tensors(cfg, ex.actions[:, 0])
    if ring == "Z2":
        terms = terms % 2
    np.testing.assert_array_equal(ex.residual, terms)       # rank 1: the residual is the move
    assert np.all(ex.value == -1) and np.all(ex.step == 0)
    assert not np.any(ex.last_actions)
    ex = demos.demo_examples(rng, cfg, demos.DemoConfig(2, 6, 0.5), 200)
    assert np.all(np.asarray(game.is_legal(cfg, ex.actions[:, 0])))
    np.testing.assert_array_equal(demos.canonicalize(cfg, ex.actions), ex.actions)
    assert np.all((-ex.value >= 1) & (-ex.value <= 6 - ex.step))
    assert np.all(np.any(ex.last_actions[ex.step > 0, 0] != 0, axis=-1))


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_flipped_demonstrations_write_a_sparse_tensor_with_cancelling_terms(ring):
    cfg = game.GameConfig((4, 4, 4), ring, game.default_coefficients(ring, (2, 2, 2)), max_moves=10)
    rng = np.random.default_rng(4)
    ranks = rng.integers(1, 11, 200)
    acts, live = demos.flipped_actions(rng, cfg, ranks, 10, 8)
    assert acts.shape == (200, 10, 12) and np.all((live >= 1) & (live <= ranks))
    assert np.all(np.isin(acts, cfg.coefficients))
    np.testing.assert_array_equal(demos.canonicalize(cfg, acts), acts)
    used = np.arange(10)[None, :] < live[:, None]
    assert not np.any(acts[~used]), "rows past a demonstration's rank are zero"
    assert np.all(np.asarray(game.is_legal(cfg, acts[used]))), "no zero factor in a live term"
    total = demos.term_tensors(cfg, acts).sum(1)
    if ring == "Z2":
        total = total % 2
    # The flips keep the sum: the ranks[i] distinct unit cells the demonstration started from.
    assert set(np.unique(total)) <= {0, 1}
    np.testing.assert_array_equal((total != 0).sum((1, 2, 3)), ranks)
    # ... while the terms themselves became dense (a unit term has one non-zero per factor).
    assert (acts[used] != 0).sum(1).mean() > 3.5
    assert np.mean(live < ranks) > 0.1, "some flips zero a factor and drop a term"
    ex = demos.demo_examples(rng, cfg, demos.DemoConfig(1, 10, 0.5, flipped=1.0), 300)
    assert np.all(np.asarray(game.is_legal(cfg, ex.actions[:, 0])))
    assert np.all((-ex.value >= 1) & (-ex.value <= 10 - ex.step))
    start = ex.step == 0
    assert start.sum() > 10 and np.all(np.isin(ex.residual[start], (0, 1))), \
        "a flipped demonstration's target is the 0/1 tensor of its starting cells"


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_basis_changes_undo_and_carry_schemes(ring):
    rng = np.random.default_rng(3)
    scheme = catalog.strassen(ring)
    cfg = game.GameConfig((4, 4, 4), ring, game.default_coefficients(ring, (2, 2, 2)))
    acts = np.concatenate([scheme.u, scheme.v, scheme.w], 0).T
    target = game.target_tensor((2, 2, 2))
    for _ in range(5):
        ch = demos.random_basis_change(rng, (4, 4, 4), ring, transvections=2)
        for m, inv in zip(ch.mats, ch.invs):
            eye = m @ inv
            np.testing.assert_array_equal(eye % 2 if ring == "Z2" else eye, np.eye(4))
        moved = ch.tensor(target)
        np.testing.assert_array_equal(ch.inverse().tensor(moved), target)
        new_acts = ch.factors(cfg, acts)
        total = demos.term_tensors(cfg, new_acts).sum(0)
        np.testing.assert_array_equal(total % 2 if ring == "Z2" else total, moved)
        back = ch.inverse().factors(cfg, new_acts)
        s = tensors.Scheme(back[:, :4].T, back[:, 4:8].T, back[:, 8:].T, ring=ring, shape=(2, 2, 2))
        assert tensors.verify(s).valid


def test_augmentation_keeps_examples_consistent():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), history=1)
    rng = np.random.default_rng(4)
    ex = demos.demo_examples(rng, cfg, demos.DemoConfig(1, 1, 0.5), 30)
    aug = demos.augment_examples(rng, cfg, ex)
    np.testing.assert_array_equal(aug.residual, demos.term_tensors(cfg, aug.actions[:, 0]))
    np.testing.assert_array_equal(demos.canonicalize(cfg, aug.actions), aug.actions)
    assert not np.array_equal(aug.residual, ex.residual)


def test_scheme_examples_and_padding():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), history=2)
    rng = np.random.default_rng(5)
    s = catalog.strassen("Z")
    acts = np.concatenate([s.u, s.v, s.w], 0).T
    ex = demos.scheme_examples(cfg, game.target_tensor((2, 2, 2)), acts, rng)
    np.testing.assert_array_equal(ex.value, -np.arange(7, 0, -1))
    np.testing.assert_array_equal(ex.residual[0], game.target_tensor((2, 2, 2)))
    last = ex.residual[-1]
    np.testing.assert_array_equal(last, demos.term_tensors(cfg, ex.actions[-1, 0]))
    both = Examples.concat([ex, ex], 4)
    assert both.actions.shape == (14, 4, 12) and np.all(both.weights[:, 1:] == 0)
    with pytest.raises(ValueError):
        demos.DemoConfig(3, 2)


def test_scheme_examples_with_several_targets_show_remaining_terms_only():
    """With ``targets`` = 3 each row's residual is the sum of the terms still to be played
    and its weighted candidates are the next (up to) 3 of them, distinct, with equal
    weights summing to 1; the last two rows have only 2 and 1 left."""
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), history=2)
    s = catalog.strassen("Z")
    acts = np.concatenate([s.u, s.v, s.w], 0).T
    ex = demos.scheme_examples(cfg, game.target_tensor((2, 2, 2)), acts,
                               np.random.default_rng(6), targets=3)
    assert ex.actions.shape == (7, 3, 12)
    np.testing.assert_allclose(ex.weights.sum(1), 1.0, rtol=1e-6)
    assert [int((w > 0).sum()) for w in ex.weights] == [3, 3, 3, 3, 3, 2, 1]
    first = ex.actions[:, 0]
    for t in range(7):
        k = int((ex.weights[t] > 0).sum())
        assert len({a.tobytes() for a in ex.actions[t, :k]}) == k
        np.testing.assert_array_equal(ex.actions[t, :k], first[t:t + k])   # the next k moves
        np.testing.assert_array_equal(ex.residual[t], demos.term_tensors(cfg, first[t:]).sum(0))
    with pytest.raises(ValueError, match="at least 1"):
        demos.scheme_examples(cfg, game.target_tensor((2, 2, 2)), acts, np.random.default_rng(6), 0)


# ------------------------------------------------------------ real schemes
def _harvested(ring: str, shape=(3, 3, 3), rank=23):
    from alphaalgo.harvest import harvest

    return harvest(shape, ring, 6, time_limit=60, rank=rank, seed=3, walk=50_000).schemes


@pytest.mark.parametrize("ring,shape,rank", [("Z2", (3, 3, 3), 23), ("Z", (3, 3, 3), 23),
                                             ("Z", (2, 3, 2), 11), ("Z2", (2, 2, 3), 11)])
def test_a_harvested_demonstration_replays_to_zero_in_exactly_its_rank(ring, shape, rank):
    """Through random symmetries of the tensor (basis changes, rotations, transposition),
    every harvested scheme stays a scheme of the same tensor; its demonstration's states
    step down to zero in exactly its rank, one term at a time, through the game itself."""
    schemes = _harvested(ring, shape, rank)
    n, m, p = shape
    cfg = game.GameConfig((n * m, m * p, p * n), ring, game.default_coefficients(ring, shape),
                          max_moves=rank + 4, history=2)
    step = jax.jit(functools.partial(game.step, cfg))
    rng = np.random.default_rng(0)
    for s in schemes:
        for _ in range(4):
            t = demos.random_symmetry(rng, s, transvections=1)
            assert t.shape == shape and t.rank == rank and tensors.verify(t, ring).valid
    ex = demos.real_examples(rng, cfg, schemes, 3 * rank, transvections=1,
                             scramble=4 if ring == "Z2" else 0)
    assert len(ex) == 3 * rank and np.all(np.isin(ex.actions, cfg.coefficients))
    assert np.all(np.asarray(game.is_legal(cfg, ex.actions[:, 0])))
    # rows with step 0 are whole games: play them back through the game
    starts = np.flatnonzero(ex.step == 0)
    assert len(starts) > 0 and np.all(ex.value[starts] == -rank)
    for row in starts[:2]:
        # the row's own next move is its first; the rest of the game is in other rows of
        # the same scheme, so rebuild it from the residual by replaying the scheme's terms
        state = game.init(cfg, jnp.asarray(ex.residual[row]))
        state, r = step(state, jnp.asarray(ex.actions[row, 0]))
        assert float(r) == -1.0 and not bool(state.done)
    # every row: the residual minus the next move is a state one move closer
    terms = demos.term_tensors(cfg, ex.actions[:, 0]).astype(np.int64)
    after = ex.residual.astype(np.int64) - terms
    if ring == "Z2":
        after %= 2
    last = ex.value == -1
    assert np.all(~np.any(after[last].reshape(int(last.sum()), -1), axis=1)), \
        "the last move of every demonstration leaves zero"
    assert np.all(np.any(after[~last].reshape(int((~last).sum()), -1), axis=1)), \
        "no earlier move does"


def test_real_examples_need_schemes():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=10)
    with pytest.raises(ValueError, match="at least one scheme"):
        demos.real_examples(np.random.default_rng(0), cfg, [], 4)


@pytest.mark.parametrize("ring,shape", [("Z", (2, 3, 4)), ("Z2", (3, 3, 3))])
def test_structured_demonstrations_have_rank_one_factor_matrices(ring, shape):
    n, m, p = shape
    cfg = game.GameConfig((n * m, m * p, p * n), ring, game.default_coefficients(ring, shape),
                          max_moves=20)
    assert demos.matrix_shape(cfg.sizes) == shape
    ex = demos.demo_examples(np.random.default_rng(4), cfg, demos.DemoConfig(1, 10,
                             structured=1.0), 40)
    acts = ex.actions[:, 0].astype(np.int64)
    assert np.all(np.isin(acts, (-1, 0, 1) if ring == "Z" else (0, 1)))
    bounds = np.cumsum((0, n * m, m * p, p * n))
    for (a, b), lo, hi in zip(((n, m), (m, p), (p, n)), bounds[:-1], bounds[1:]):
        for f in acts[:, lo:hi]:
            assert np.linalg.matrix_rank(f.reshape(a, b).astype(float)) == 1
    plain = demos.demo_examples(np.random.default_rng(4), cfg, demos.DemoConfig(1, 10), 40)
    ranks = [np.linalg.matrix_rank(f.reshape(n, m).astype(float))
             for f in plain.actions[:, 0, :n * m].astype(np.int64)]
    assert max(ranks) > 1, "independent random terms are not all rank 1"
    assert demos.matrix_shape((4, 5, 6)) is None
