"""Losses, learning, the replay buffer and checkpoints."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alphaalgo import demos, game, learner, network


@pytest.fixture(scope="module")
def setup():
    cfg = game.GameConfig((2, 2, 2), "Z", (-1, 0, 1), max_moves=4, history=1)
    agent = network.Agent(cfg, network.NetConfig(width=16, layers=1, heads=2))
    lcfg = learner.LearnerConfig(learning_rate=1e-2, warmup_steps=1, batch_size=64)
    return cfg, agent, lcfg


def test_quantile_loss():
    target = jnp.asarray([2.0, -1.0])
    exact = jnp.broadcast_to(target[:, None], (2, 8))
    assert float(learner.quantile_loss(exact, target)) == 0.0
    assert float(learner.quantile_loss(exact + 1.0, target)) > 0.0
    # The minimiser of quantile regression on a sample is its quantiles.
    sample = jnp.arange(101, dtype=jnp.float32)
    q = jnp.linspace(0, 100, 8)[None]
    taus = (np.arange(8) + 0.5) / 8 * 100
    lo = jnp.mean(jnp.stack([learner.quantile_loss(jnp.asarray(taus)[None], s[None]) for s in sample]))
    hi = jnp.mean(jnp.stack([learner.quantile_loss(q, s[None]) for s in sample]))
    assert float(lo) < float(hi)


def test_training_on_demonstrations_lowers_the_losses(setup):
    cfg, agent, lcfg = setup
    rng = np.random.default_rng(0)
    state = learner.init_state(agent, lcfg, jax.random.PRNGKey(0))
    update = learner.make_update(agent, lcfg)
    held = demos.demo_examples(np.random.default_rng(99), cfg, demos.DemoConfig(1, 1, 0.5), 128)
    held = jax.tree.map(jnp.asarray, held)
    before = learner.loss_fn(agent, lcfg, state.params, [held])[1]
    params, opt = state.params, state.opt_state
    for _ in range(60):
        batch = demos.demo_examples(rng, cfg, demos.DemoConfig(1, 1, 0.5), 32)
        params, opt, _ = update(params, opt, [jax.tree.map(jnp.asarray, batch)])
    after = learner.loss_fn(agent, lcfg, params, [held])[1]
    assert float(after["policy"]) < 0.85 * float(before["policy"])
    assert float(after["value"]) < float(before["value"])


def test_replay_buffer_wraps_and_pads(setup):
    cfg, _, _ = setup
    buf = learner.ReplayBuffer(10, cfg.sizes, cfg.history, k=3)
    ex = demos.demo_examples(np.random.default_rng(1), cfg, demos.DemoConfig(1, 3), 7)
    buf.add(ex)
    assert len(buf) == 7
    buf.add(ex)
    assert len(buf) == 10
    got = buf.sample(np.random.default_rng(2), 50)
    assert got.actions.shape == (50, 3, 6) and np.all(got.weights[:, 1:] == 0)
    keys = {a.tobytes() for a in ex.actions[:, 0]}
    assert {a.tobytes() for a in got.actions[:, 0]} <= keys
    with pytest.raises(ValueError):
        learner.ReplayBuffer(4, cfg.sizes, cfg.history, k=3).sample(np.random.default_rng(0), 1)


def test_checkpoint_round_trip(setup, tmp_path):
    cfg, agent, lcfg = setup
    state = learner.init_state(agent, lcfg, jax.random.PRNGKey(5))
    p = jax.tree_util.tree_map(lambda x: x + 0.5, state.params)
    o = jax.tree_util.tree_map(lambda x: x + 1 if jnp.issubdtype(x.dtype, jnp.floating) else x,
                               state.opt_state)
    trained = learner.TrainState(p, o, 1)
    path = tmp_path / "ck.npz"
    learner.save_checkpoint(path, trained, {"rounds": 3})
    template = learner.init_state(agent, lcfg, jax.random.PRNGKey(6))
    loaded, meta = learner.load_checkpoint(path, template)
    assert meta == {"rounds": 3} and loaded.step == 1
    for a, b in zip(jax.tree_util.tree_leaves(trained), jax.tree_util.tree_leaves(loaded)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for src in (path, tmp_path / "params.npz"):
        if src != path:
            learner.save_params(src, p, {"data": "test"})
        params = learner.load_params(src, template.params)
        for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(params)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = network.Agent(cfg, network.NetConfig(width=8, layers=1, heads=2))
    with pytest.raises(ValueError, match="shape|lacks"):
        learner.load_checkpoint(path, learner.init_state(other, lcfg, jax.random.PRNGKey(0)))
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not an alphaalgo checkpoint"):
        learner.load_checkpoint(tmp_path / "bad.npz", template)
