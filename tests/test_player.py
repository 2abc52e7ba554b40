"""Self-play rounds: endgames start near the end of a known scheme and map back."""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from alphaalgo import game, presets, tensors
from alphaalgo.campaign import CampaignSpec, game_config
from alphaalgo.harvest import harvest
from alphaalgo.player import Endgames, Player


@pytest.fixture(scope="module", params=["Z", "Z2"])
def setting(request):
    ring = request.param
    schemes = harvest((2, 2, 3), ring, 4, max_flips=2_000_000, seed=1).schemes
    assert schemes and all(s.rank == 11 for s in schemes)
    tiny = presets.load_preset("tiny")
    spec = CampaignSpec(shape=(2, 2, 3), ring=ring, preset=tiny, store=":memory:")
    player = Player(game_config(spec), game.target_tensor((2, 2, 3)), tiny, seed=0,
                    shape=(2, 2, 3))
    return ring, schemes, player


@pytest.mark.parametrize("k", [1, 4, 11, 30])
def test_an_endgame_from_k_terms_is_solvable_in_k_moves(setting, k):
    """Every endgame starts at step R − k from T minus the first R − k moves of a scheme
    (under a symmetry and a basis change), with those moves as its history: the k moves
    left, played with game.step, end it at zero in exactly k moves, and the whole game
    maps back to a valid scheme of T."""
    ring, schemes, player = setting
    g = player.game
    states, changes, moves, ks = player.initial_states(np.random.default_rng(k), 6,
                                                       Endgames(tuple(schemes), k, 1.0))
    k = min(k, 11)
    assert list(ks) == [k] * 6
    step = jax.jit(functools.partial(game.step, g))
    for b in range(6):
        given, rest = moves[b][:11 - k], moves[b][11 - k:]
        assert int(states.step[b]) == 11 - k and len(rest) == k
        recent = given[::-1][:g.history]
        np.testing.assert_array_equal(np.asarray(states.last_actions[b])[:len(recent)], recent)
        assert set(np.unique(moves[b])) <= set(g.coefficients)
        st = jax.tree.map(lambda x: x[b], states)
        for term in rest:
            assert not bool(st.done)
            st, _ = step(st, np.asarray(term, np.int8))
        assert bool(st.done) and not np.any(np.asarray(st.residual)) and int(st.step) == 11
        scheme = player.scheme(moves[b], changes[b])
        assert scheme.rank == 11 and tensors.verify(scheme, ring).valid


def test_a_round_reports_its_endgames(setting):
    """A round with half its games as endgames of k = 1 marks which were endgames and
    their scheme's rank; every solved game maps back to a valid scheme."""
    ring, schemes, player = setting
    params = player.agent.init(jax.random.PRNGKey(0))
    played = player.play(params, 0, Endgames(tuple(schemes), 1, 0.5))
    assert played.endgame is not None and set(np.unique(played.endgame)) <= {0, 1}
    assert np.all(played.base_rank[played.endgame == 1] == 11)
    n, won = played.endgame_results()
    assert n == int((played.endgame == 1).sum()) > 0 and 0 <= won <= n
    for _, s in played.solved + played.completed:
        assert tensors.verify(s, ring).valid
    with pytest.raises(ValueError):
        Endgames((), 1)
