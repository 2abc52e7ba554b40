"""The network: tokens, legal canonical samples, teacher forcing, the value statistic."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alphaalgo import demos, game, network, search


@pytest.mark.parametrize("sizes,ring,coefs", [
    ((4, 4, 4), "Z", (-1, 0, 1)), ((4, 6, 6), "Z", (-2, -1, 0, 1, 2)),
    ((9, 9, 9), "Z", (-1, 0, 1)), ((4, 4, 4), "Z2", (0, 1)), ((1, 1, 2), "Z2", (0, 1))])
def test_tokens_round_trip(sizes, ring, coefs):
    cfg = game.GameConfig(sizes, ring, coefs)
    tok = network.Tokenizer(cfg, 256)
    assert tok.vocab <= 256
    acts = demos.random_actions(np.random.default_rng(0), cfg, (64,), 0.4)
    toks = tok.encode(jnp.asarray(acts))
    assert toks.shape == (64, tok.length) and int(toks.max()) < tok.vocab
    np.testing.assert_array_equal(np.asarray(tok.decode(toks)), acts)


@pytest.fixture(scope="module")
def tiny():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=8, history=2)
    agent = network.Agent(cfg, network.NetConfig(width=16, layers=1, heads=2))
    return cfg, agent, agent.init(jax.random.PRNGKey(0))


def test_samples_are_legal_canonical_and_scored_consistently(tiny):
    cfg, agent, params = tiny
    ex = demos.demo_examples(np.random.default_rng(1), cfg, demos.DemoConfig(), 3)
    evaluate = jax.jit(agent.evaluate, static_argnums=5)
    acts, logp, logbeta, q = evaluate(params, jax.random.PRNGKey(2), ex.residual,
                                      ex.last_actions, ex.step, 32)
    assert acts.shape == (3, 32, 12) and logp.shape == (3, 32) and q.shape == (3, 8)
    np.testing.assert_allclose(np.asarray(logbeta), np.asarray(logp), atol=1e-5)  # temperature 1
    assert np.all(np.asarray(game.is_legal(cfg, acts)))
    np.testing.assert_array_equal(np.asarray(game.canonicalize(cfg, acts)), np.asarray(acts))
    assert np.all(np.asarray(logp) < 0)
    scored, q2 = jax.jit(agent.score)(params, ex.residual, ex.last_actions, ex.step, acts)
    np.testing.assert_allclose(np.asarray(scored), np.asarray(logp), atol=1e-4)
    np.testing.assert_allclose(np.asarray(q2), np.asarray(q), atol=1e-5)


def test_the_policy_is_a_distribution_over_legal_actions():
    """On a game with 9 legal canonical actions, their probabilities sum to 1."""
    cfg = game.GameConfig((1, 2, 2), "Z", (-1, 0, 1), max_moves=2, history=0)
    agent = network.Agent(cfg, network.NetConfig(width=8, layers=1, heads=1))
    params = agent.init(jax.random.PRNGKey(3))
    vals = [np.array(x) for x in np.ndindex(3, 3, 3, 3, 3)]
    acts = np.array([np.array(v) - 1 for v in vals], np.int8)
    legal = acts[np.asarray(game.is_legal(cfg, acts))
                 & np.all(np.asarray(game.canonicalize(cfg, acts)) == acts, axis=1)]
    assert len(legal) == 1 * 4 * 8      # u: 1; v: 4 canonical; w: 8
    res = jnp.zeros((1, 1, 2, 2), jnp.int8)
    logp, _ = jax.jit(agent.score)(params, res, jnp.zeros((1, 0, 5), jnp.int8), jnp.zeros(1, jnp.int32),
                          jnp.asarray(legal)[None])
    assert abs(float(jnp.sum(jnp.exp(logp))) - 1.0) < 1e-4


def test_sampled_candidates_are_distinct_after_masking(tiny):
    cfg, agent, params = tiny
    state = jax.vmap(lambda t: game.init(cfg, t))(jnp.asarray(np.stack([game.target_tensor((2, 2, 2))] * 2)))
    node, logits, value = search.expand(agent, search.SearchConfig(num_samples=64), params,
                                        jax.random.PRNGKey(4), state)
    acts, valid = np.asarray(node.actions), np.asarray(node.valid)
    for b in range(2):
        kept = acts[b][valid[b]]
        assert len({a.tobytes() for a in kept}) == len(kept)
        assert {a.tobytes() for a in kept} == {a.tobytes() for a in acts[b]}
        assert np.all(np.asarray(logits)[b][~valid[b]] <= -1e8)
    assert value.shape == (2,)


def test_risk_value():
    q = jnp.asarray([[8.0, 7, 6, 5, 4, 3, 2, 1]])
    assert float(network.risk_value(q, 0.75)[0]) == pytest.approx(7.5)
    assert float(network.risk_value(q, 0.0)[0]) == pytest.approx(4.5)


@pytest.mark.parametrize("attention", network.ATTENTION)
def test_one_multishape_network_plays_three_shapes(attention):
    """One parameter set (NetConfig.multishape) evaluates and scores states of ⟨2,2,2⟩,
    ⟨2,3,4⟩ and ⟨3,3,3⟩: its parameter shapes do not depend on the game, every sample
    is a legal canonical action of that game, and teacher forcing scores it as drawn."""
    net = network.NetConfig(width=16, layers=1, heads=2, multishape=True, max_dim=4,
                            attention=attention)
    shapes = [(2, 2, 2), (2, 3, 4), (3, 3, 3)]
    configs = [game.GameConfig(game.target_tensor(s).shape, "Z", (-1, 0, 1), max_moves=10,
                               history=1) for s in shapes]
    params = network.Agent(configs[0], net).init(jax.random.PRNGKey(0))
    for cfg in configs:
        agent = network.Agent(cfg, net)
        other = agent.init(jax.random.PRNGKey(1))
        assert jax.tree.map(jnp.shape, other) == jax.tree.map(jnp.shape, params)
        ex = demos.demo_examples(np.random.default_rng(2), cfg, demos.DemoConfig(structured=1.0), 2)
        acts, logp, _, q = jax.jit(agent.evaluate, static_argnums=5)(
            params, jax.random.PRNGKey(3), ex.residual, ex.last_actions, ex.step, 8)
        assert acts.shape == (2, 8, cfg.action_size) and q.shape == (2, net.quantiles)
        assert np.all(np.asarray(game.is_legal(cfg, acts)))
        np.testing.assert_array_equal(np.asarray(game.canonicalize(cfg, acts)), np.asarray(acts))
        scored, _ = jax.jit(agent.score)(params, ex.residual, ex.last_actions, ex.step, acts)
        np.testing.assert_allclose(np.asarray(scored), np.asarray(logp), atol=1e-4)
        tok = agent.tokenizer
        np.testing.assert_array_equal(np.asarray(tok.decode(tok.encode(jnp.asarray(acts)))),
                                      np.asarray(acts))
    with pytest.raises(ValueError, match="up to 4"):
        network.Agent(game.GameConfig((5, 25, 5), "Z", (-1, 0, 1)), net).init(jax.random.PRNGKey(0))


def test_multishape_layout_follows_the_tensor_convention():
    """Coordinate i·m+j of ⟨n,m,p⟩'s first mode is a_ij, j·p+k of the second b_jk and
    k·n+i of the third c_ki."""
    cfg = game.GameConfig(game.target_tensor((2, 3, 4)).shape, "Z", (-1, 0, 1))
    a, b, c = network.layout(cfg, 5)
    assert a.tolist()[1 * 3 + 2] == [1, 2] and b.tolist()[2 * 4 + 3] == [2, 3]
    assert c.tolist()[3 * 2 + 1] == [3, 1]
    with pytest.raises(ValueError, match="not one"):
        network.layout(game.GameConfig((3, 5, 7), "Z", (-1, 0, 1)), 5)


@pytest.mark.parametrize("ring", ["Z2", "Z"])
def test_the_shipped_multishape_parameters_fit_every_shape_and_never_saw_333(ring):
    """agents/multishape-{Z2,Z}.npz load into the multishape preset's network for ⟨2,2,2⟩,
    ⟨3,3,3⟩ and ⟨4,5,5⟩ alike, and their provenance lists their training shapes (and the
    ring and the preset's attention) without the held-out ⟨3,3,3⟩."""
    import json

    from alphaalgo import learner, presets
    from alphaalgo.campaign import CampaignSpec, game_config

    path = presets.agents_dir() / f"multishape-{ring}.npz"
    preset = presets.load_preset("multishape-agent-only")
    for shape in [(2, 2, 2), (3, 3, 3), (4, 5, 5)]:
        g = game_config(CampaignSpec(shape=shape, ring=ring, preset=preset, store=":memory:"))
        agent = network.Agent(g, preset.network)
        learner.load_params(path, agent.init(jax.random.PRNGKey(0)))
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["__meta__"]))
    assert meta["ring"] == ring
    assert meta["attention"] == preset.network.attention    # trained as the preset plays
    assert meta["held_out"] == [3, 3, 3] and [3, 3, 3] not in meta["shapes"]
    assert path.stat().st_size < 20 * 2**20


def test_axial_pairs_hold_exactly_the_cells_that_share_the_mode():
    """Axial attention (AlphaTensor's attentive modes) over grids of cells (i1, i2) and
    (i2, i3): sequence c holds grid a's column c and grid b's row c, and nothing else;
    splitting the sequences gives both grids back, as it does for full attention."""
    s1, s2, s3 = 2, 3, 4
    a = np.array([[(1, r, c) for r in range(s1) for c in range(s2)]], np.float32)  # (1, 6, 3)
    b = np.array([[(2, r, c) for r in range(s2) for c in range(s3)]], np.float32)  # (1, 12, 3)
    z = np.asarray(network._pair(jnp.asarray(a), jnp.asarray(b), (s1, s2), (s2, s3), "axial"))
    assert z.shape == (1, s2, s1 + s3, 3)
    for c in range(s2):
        got = {tuple(int(x) for x in t) for t in z[0, c]}
        want = {(1, r, c) for r in range(s1)} | {(2, c, k) for k in range(s3)}
        assert got == want
    for attention in network.ATTENTION:
        z = network._pair(jnp.asarray(a), jnp.asarray(b), (s1, s2), (s2, s3), attention)
        back = network._unpair(z, (s1, s2), (s2, s3), attention)
        np.testing.assert_array_equal(np.asarray(back[0]), a)
        np.testing.assert_array_equal(np.asarray(back[1]), b)
    with pytest.raises(ValueError, match="attention 'rows'"):
        network.NetConfig(attention="rows")
