"""The trainer's batches: synthetic demonstrations, self-play and scheme demonstrations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alphaalgo.examples import Examples
from alphaalgo import catalog, demos, game, presets
from alphaalgo.trainer import Trainer

SELFPLAY_VALUE = -100.0        # marks the stand-in self-play rows


@pytest.fixture(scope="module")
def setup():
    cfg = game.GameConfig((4, 4, 4), "Z", (-1, 0, 1), max_moves=10, history=1)
    target = game.target_tensor((2, 2, 2))
    return cfg, target, demos.scheme_actions(catalog.strassen())


def _trainer(cfg, **replay) -> Trainer:
    preset = presets.load_preset("tiny")
    preset = dataclasses.replace(preset, replay=dataclasses.replace(preset.replay, **replay))
    return Trainer(cfg, preset)


def _selfplay(cfg, k: int, n: int) -> Examples:
    ex = demos.demo_examples(np.random.default_rng(1), cfg, demos.DemoConfig(1, 6), n).padded(k)
    return ex.replace(value=np.full(n, SELFPLAY_VALUE, np.float32))


def _rows(ex: Examples) -> set[bytes]:
    return {r.tobytes() + a.tobytes() for r, a in zip(ex.residual, ex.actions[:, 0])}


def test_scheme_demonstrations_fill_their_share_of_every_batch(setup):
    cfg, target, acts = setup
    tr = _trainer(cfg, demonstration_fraction=0.25)
    tr.add(_selfplay(cfg, tr.k, 2000))
    rng = np.random.default_rng(0)
    synthetic, rest = tr._batch(rng)
    assert np.all(rest.value == SELFPLAY_VALUE), "no demonstrations yet: the rest is self-play"
    shown = [demos.scheme_examples(cfg, target, acts, rng) for _ in range(36)]
    assert tr.demonstrate(*shown) == 36 * 7
    size = tr.preset.training.batch_size
    n_rest = size - len(synthetic.value)
    known = set().union(*(_rows(ex) for ex in shown))
    for _ in range(5):
        synthetic, rest = tr._batch(rng)
        assert len(synthetic.value) + len(rest.value) == size
        mine = rest.value != SELFPLAY_VALUE
        assert mine.sum() == round(0.25 * n_rest)
        # Unaugmented: the moves of Strassen's scheme on the target itself, as demonstrated.
        assert _rows(rest.take(mine)) <= known
        assert np.all(rest.value[mine] >= -7) and np.all(rest.weights[mine, 0] == 1)


def test_augmented_replay_moves_demonstrations_off_the_target(setup):
    cfg, target, acts = setup
    tr = _trainer(cfg, demonstration_fraction=1.0, augment_replay=True)
    rng = np.random.default_rng(2)
    shown = [demos.scheme_examples(cfg, target, acts, rng) for _ in range(36)]
    tr.demonstrate(*shown)
    known = set().union(*(_rows(ex) for ex in shown))
    seen = [_rows(tr._batch(rng)[1]) <= known for _ in range(5)]
    assert not all(seen), "a random signed permutation changes the target's states"


def test_real_demonstrations_are_states_of_the_target_itself(setup):
    """Rows from real schemes show moves on the matmul tensor itself: each goes only
    under the tensor's own symmetries, never under the per-mode permutation the
    synthetic rows get (that would make them rows of another tensor).  So every real
    row's residual is T minus some of the scheme's terms, and the rows that start a
    game hold T exactly."""
    cfg, target, _ = setup
    schemes = [catalog.strassen(), catalog.best((2, 2, 2), "Z")]
    tr = _trainer(cfg, real_fraction=1.0, demo_fraction=0.5)
    assert tr.set_real(schemes) == 2
    rng = np.random.default_rng(3)
    for _ in range(5):
        fresh, _ = tr._batch(rng)
        assert np.all(fresh.value >= -7) and np.all(fresh.value <= -1), "all rows real"
        starts = fresh.step == 0
        assert np.all(fresh.residual[starts] == np.asarray(target)[None])
        # one move from the end, the residual is exactly the move left to play
        last = fresh.value == -1
        terms = demos.term_tensors(cfg, fresh.actions[last, 0])
        assert np.array_equal(fresh.residual[last].astype(np.int64), terms.astype(np.int64))
