"""Sampled Gumbel MuZero search on the tensor game."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from alphaalgo import game, network, search, tensors


def _setup(sizes, ring, coefs, k, sims, max_moves=2, seed=0):
    cfg = game.GameConfig(sizes, ring, coefs, max_moves=max_moves, history=1)
    agent = network.Agent(cfg, network.NetConfig(width=16, layers=1, heads=2))
    params = agent.init(jax.random.PRNGKey(seed))
    return cfg, agent, params, search.SearchConfig(num_simulations=sims, num_samples=k, max_considered=k)


def test_sampled_prior_is_empirical_counts_times_pi_over_beta():
    """Sampled MuZero's prior (β̂/β)·π on a hand-computed case: K = 4 draws a, b, a, c."""
    a, b, c = [1, 0, 1], [0, 1, 1], [1, 1, 0]
    acts = jnp.asarray([[a, b, a, c]], jnp.int8)
    logp = jnp.log(jnp.asarray([[0.5, 0.3, 0.5, 0.2]]))
    # temperature 1: β = π, the prior is the empirical distribution: logits log 2, log 1, –, log 1
    got = np.asarray(search.sampled_prior(acts, logp, logp))[0]
    assert np.allclose(got[[0, 1, 3]], np.log([2.0, 1.0, 1.0])) and got[2] <= -1e8
    # another β (a temperature): each first slot gains log π − log β
    logbeta = jnp.log(jnp.asarray([[0.4, 0.35, 0.4, 0.25]]))
    got = np.asarray(search.sampled_prior(acts, logp, logbeta))[0]
    want = np.log([2 * 0.5 / 0.4, 0.3 / 0.35, 0.2 / 0.25])
    assert np.allclose(got[[0, 1, 3]], want, atol=1e-6) and got[2] <= -1e8


def test_sampling_log_beta_is_the_tempered_distribution():
    """At temperature 1 log β = log π; at another temperature the draws' log β is
    that of the tempered distribution, which sums to 1 over all actions."""
    cfg, agent, params, _ = _setup((1, 1, 2), "Z2", (0, 1), k=256, sims=1)
    state = jax.vmap(lambda t: game.init(cfg, t))(jnp.ones((1, 1, 1, 2), jnp.int8))
    for temperature in (1.0, 2.0):
        acts, logp, logbeta, _ = agent.evaluate(params, jax.random.PRNGKey(3), state.residual,
                                                state.last_actions, state.step, 256, temperature)
        if temperature == 1.0:
            assert np.allclose(logp, logbeta, atol=1e-5)
        first = np.asarray(search.distinct(acts))[0]
        assert np.exp(np.asarray(logbeta)[0][first]).sum() <= 1 + 1e-4
        assert np.exp(np.asarray(logp)[0][first]).sum() <= 1 + 1e-4


def test_search_finds_the_move_that_ends_the_game():
    """A rank-1 residual with one move left: with a flat prior (the policy's output
    layer zeroed), the move that reaches zero is chosen and has the largest
    improved-policy weight; only the search's values tell it apart."""
    cfg, agent, params, scfg = _setup((1, 2, 2), "Z2", (0, 1), k=64, sims=64, max_moves=1)
    params = {name: ({k: jnp.zeros_like(v) for k, v in leaf.items()} if name.endswith("policy_out")
                     else leaf) for name, leaf in params.items()}
    move = np.array([1, 1, 1, 0, 1], np.int8)
    target = np.asarray(game.action_tensor(cfg, jnp.asarray(move)))
    state = jax.vmap(lambda t: game.init(cfg, t))(jnp.asarray(np.stack([target] * 4)))
    out = search.make_search(agent, scfg)(params, jax.random.PRNGKey(1), state)
    acts = np.asarray(out.actions)
    for b in range(4):
        present = np.flatnonzero(np.all(acts[b] == move, axis=1) & np.asarray(out.valid)[b])
        assert len(present) == 1, "the sampled candidates should cover all 9 actions"
        assert int(out.slot[b]) == present[0]
        assert int(np.argmax(np.asarray(out.weights)[b])) == present[0]


def test_play_records_consistent_trajectories():
    """Moves, rewards, activity and the final residual agree with the exact game;
    finished games absorb (no reward, inactive)."""
    cfg, agent, params, scfg = _setup((2, 2, 2), "Z", (-1, 0, 1), k=16, sims=16, max_moves=4)
    rng = np.random.default_rng(0)
    targets = []
    for _ in range(6):
        r = int(rng.integers(1, 3))
        acts = rng.integers(-1, 2, size=(r, 6)).astype(np.int8)
        acts[:, [0, 2, 4]] = 1
        targets.append(np.asarray(game.action_tensor(cfg, jnp.asarray(acts))).sum(0))
    state = jax.vmap(lambda t: game.init(cfg, t))(jnp.asarray(np.stack(targets)))
    traj = search.make_play(agent, scfg)(params, jax.random.PRNGKey(2), state)
    m = traj.moves
    active, reward, action = (np.asarray(x) for x in (m.active, m.reward, m.action))
    final = np.asarray(traj.final.residual)
    np.testing.assert_allclose(np.asarray(m.weights).sum(-1), 1.0, atol=1e-5)
    for b in range(6):
        res = targets[b].astype(np.int64)
        for t in range(4):
            if not active[t, b]:
                assert reward[t, b] == 0.0
                continue
            res = res - np.asarray(game.action_tensor(cfg, jnp.asarray(action[t, b])))
            done = not res.any() or t == 3
            expect = -1.0 - (tensors.slice_rank_bound(res) if (t == 3 and res.any()) else 0)
            assert reward[t, b] == expect
            if done:
                assert not active[t + 1:, b].any()
        np.testing.assert_array_equal(final[b], res)


def test_a_round_cut_at_its_deadline_charges_the_games_still_going():
    """Past ``until``, play stops after ``min_moves`` moves: the games still going are
    charged as at the move limit, the later records are inactive; the moves played
    are those of the uncut round."""
    cfg, agent, params, scfg = _setup((4, 4, 4), "Z", (-1, 0, 1), k=8, sims=4, max_moves=8)
    state = jax.vmap(lambda t: game.init(cfg, t))(
        jnp.asarray(np.stack([tensors.matmul_tensor(2, 2, 2)] * 3).astype(np.int8)))
    play = search.make_play(agent, scfg)
    full = play(params, jax.random.PRNGKey(4), state)
    cut = play(params, jax.random.PRNGKey(4), state, until=0.0, min_moves=2)
    active, reward = np.asarray(cut.moves.active), np.asarray(cut.moves.reward)
    assert active[:2].all() and not active[2:].any() and not reward[2:].any()
    for field in ("action", "residual"):
        np.testing.assert_array_equal(np.asarray(getattr(cut.moves, field))[:2],
                                      np.asarray(getattr(full.moves, field))[:2])
    np.testing.assert_array_equal(np.asarray(cut.final.residual), np.asarray(full.moves.residual)[2])
    for b in range(3):   # ⟨2,2,2⟩ needs 7 moves: no game is over after 2
        left = np.asarray(cut.final.residual)[b].astype(np.int64)
        assert reward[0, b] == -1.0
        assert reward[1, b] == -1.0 - tensors.slice_rank_bound(left)


def test_search_on_the_matmul_tensor_returns_a_legal_distribution():
    cfg, agent, params, scfg = _setup((4, 4, 4), "Z", (-1, 0, 1), k=16, sims=16, max_moves=8)
    state = jax.vmap(lambda t: game.init(cfg, t))(jnp.asarray(np.stack([game.target_tensor((2, 2, 2))] * 3)))
    out = search.make_search(agent, scfg)(params, jax.random.PRNGKey(3), state)
    w = np.asarray(out.weights)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.all(w[~np.asarray(out.valid)] < 1e-6)
    chosen = np.take_along_axis(np.asarray(out.actions), np.asarray(out.slot)[:, None, None], 1)[:, 0]
    assert np.all(np.asarray(game.is_legal(cfg, chosen)))
