"""The tensor game: transitions, rewards, legality and canonical actions."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alphaalgo import catalog, game, tensors


def _actions(scheme: tensors.Scheme) -> np.ndarray:
    return np.concatenate([scheme.u, scheme.v, scheme.w], axis=0).T.astype(np.int8)


def _play(config, target, actions):
    state = game.init(config, jnp.asarray(target))
    rewards, dones = [], []
    step = jax.jit(functools.partial(game.step, config))
    for a in actions:
        state, r = step(state, jnp.asarray(a))
        rewards.append(float(r))
        dones.append(bool(state.done))
    return state, rewards, dones


def test_naive_scheme_reaches_zero_in_eight_moves():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=10, history=2)
    acts = _actions(tensors.naive_scheme(2, 2, 2))
    state, rewards, dones = _play(cfg, game.target_tensor((2, 2, 2)), acts)
    assert rewards == [-1.0] * 8
    assert dones == [False] * 7 + [True]
    assert not np.any(np.asarray(state.residual))
    assert int(state.step) == 8
    np.testing.assert_array_equal(np.asarray(state.last_actions), acts[[7, 6]])


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_strassen_reaches_zero_in_seven_moves(ring):
    coefs = game.default_coefficients(ring, (2, 2, 2))
    cfg = game.GameConfig((4, 4, 4), ring, coefs, max_moves=7)
    acts = _actions(catalog.strassen(ring))
    if ring == "Z2":
        acts = acts % 2
    state, rewards, dones = _play(cfg, game.target_tensor((2, 2, 2)), acts)
    assert rewards == [-1.0] * 7 and dones[-1] and not any(dones[:-1])
    assert not np.any(np.asarray(state.residual))


def test_move_limit_charges_the_rank_bound_and_then_absorbs():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=2, history=1)
    target = game.target_tensor((2, 2, 2))
    a = np.zeros(12, np.int8)
    a[[0, 4, 8]] = 1                       # a11 b11 c11: a naive term
    b = np.zeros(12, np.int8)
    b[[1, 5, 9]] = 1                       # a12 b11 c11: not part of the tensor
    state, rewards, dones = _play(cfg, target, [a, b])
    res = np.asarray(state.residual)
    expected = target.astype(np.int64)
    for x in (a, b):
        expected = expected - np.einsum("i,j,k->ijk", x[:4], x[4:8], x[8:]).astype(np.int64)
    np.testing.assert_array_equal(res, expected)
    assert rewards[0] == -1.0
    assert rewards[1] == -1.0 - tensors.slice_rank_bound(expected)
    assert dones == [False, True]
    after, r = game.step(cfg, state, jnp.asarray(a))
    assert float(r) == 0.0
    np.testing.assert_array_equal(np.asarray(after.residual), res)
    assert int(after.step) == 2


def test_z2_reduces_mod_two():
    cfg = game.GameConfig((2, 2, 2), "Z2", (0, 1), max_moves=4)
    ones = np.ones(6, np.int8)
    state = game.init(cfg, jnp.zeros((2, 2, 2), jnp.int8))
    assert bool(state.done)                # a zero target is already solved
    target = np.zeros((2, 2, 2), np.int8)
    target[0, 0, 0] = 1
    state = game.init(cfg, jnp.asarray(target))
    state, r = game.step(cfg, state, jnp.asarray(ones))
    expected = (target - 1) % 2
    np.testing.assert_array_equal(np.asarray(state.residual), expected)
    state, _ = game.step(cfg, state, jnp.asarray(ones))
    np.testing.assert_array_equal(np.asarray(state.residual), target)


def test_rank_bound_matches_the_exact_one():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.integers(-2, 3, size=(3, 4, 2)) * (rng.random((3, 4, 2)) < 0.5)
        assert int(game.rank_bound(jnp.asarray(t, jnp.int8))) == tensors.slice_rank_bound(t)


def test_legality_and_canonical_form():
    cfg = game.GameConfig((2, 2, 2), "Z", (-1, 0, 1))
    acts = jnp.asarray([[0, -1, 1, 1, -1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], jnp.int8)
    np.testing.assert_array_equal(np.asarray(game.is_legal(cfg, acts)), [True, False, False])
    can = game.canonicalize(cfg, acts[:1])
    np.testing.assert_array_equal(np.asarray(can), [[0, 1, 1, 1, 1, -1]])
    np.testing.assert_array_equal(np.asarray(game.action_tensor(cfg, can)),
                                  np.asarray(game.action_tensor(cfg, acts[:1])))
    cfg2 = game.GameConfig((2, 2, 2), "Z2", (0, 1))
    np.testing.assert_array_equal(np.asarray(game.canonicalize(cfg2, acts[1:2] % 2)),
                                  np.asarray(acts[1:2] % 2))


def test_step_vmaps_and_jits_over_a_batch():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=8)
    targets = jnp.asarray(np.stack([game.target_tensor((2, 2, 2))] * 3))
    states = jax.vmap(functools.partial(game.init, cfg))(targets)
    acts = jnp.asarray(_actions(tensors.naive_scheme(2, 2, 2))[:3])
    nxt, rewards = jax.jit(jax.vmap(functools.partial(game.step, cfg)))(states, acts)
    assert nxt.residual.shape == (3, 4, 4, 4) and rewards.shape == (3,)
    assert np.all(np.asarray(nxt.step) == 1)
    for b in range(3):
        single, _ = game.step(cfg, game.init(cfg, targets[b]), acts[b])
        np.testing.assert_array_equal(np.asarray(nxt.residual[b]), np.asarray(single.residual))


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError):
        game.GameConfig((2, 2, 2), "Z2", (-1, 0, 1))
    with pytest.raises(ValueError):
        game.GameConfig((2, 2, 2), "Z", (1, 2))
    with pytest.raises(ValueError):
        game.target_tensor((6, 2, 2))
    assert game.default_coefficients("Z", (2, 2, 2)) == (-1, 0, 1)
    assert game.default_coefficients("Z", (4, 4, 4)) == (-2, -1, 0, 1, 2)
    assert game.default_coefficients("Z2") == (0, 1)
