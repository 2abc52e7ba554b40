"""The learning half of a campaign: parameters, optimiser state and replay.

A :class:`Trainer` owns the network's :class:`~alphaalgo.learner.TrainState`
and the replay buffer, and trains on batches that mix fresh synthetic
demonstrations with replay.  It is a plain object so that a campaign can hold
it in its own process (local backend) or wrap it as a Ray actor placed on a
GPU (``alphaalgo.distributed``); everything it hands out is host numpy.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import demos, learner
from .examples import Examples
from .game import GameConfig
from .network import Agent
from .presets import Preset


DEMONSTRATIONS = 8192
"""Rows the demonstration buffer keeps (about 32 schemes at ~256 moves each)."""


class Trainer:
    """Training for one game and agent preset.

    Args:
      game: the game the examples come from.
      preset: the agent configuration (network, training and replay settings).
    """

    def __init__(self, game: GameConfig, preset: Preset):
        self.game, self.preset = game, preset
        self.agent = Agent(game, preset.network)
        self.k = preset.search.num_samples
        self.replay = learner.ReplayBuffer(preset.replay.replay_size, game.sizes, game.history, self.k)
        self.demonstrations = learner.ReplayBuffer(DEMONSTRATIONS, game.sizes, game.history, self.k)
        self.real: tuple = ()
        self._update = learner.make_update(self.agent, preset.training)
        self.state: learner.TrainState | None = None
        self.metrics = {"loss": float("nan"), "policy": float("nan"), "value": float("nan")}

    # ----------------------------------------------------------- state
    def init(self, seed: int) -> learner.TrainState:
        """Fresh parameters and optimiser state from ``seed``; also the template for loading."""
        self.state = learner.init_state(self.agent, self.preset.training, jax.random.PRNGKey(seed))
        return self.get_state()

    def get_state(self) -> learner.TrainState:
        """The current state on the host (numpy leaves)."""
        return jax.device_get(self.state)

    def set_state(self, state: learner.TrainState) -> None:
        self.state = learner.TrainState(*jax.device_put((state.params, state.opt_state)), int(state.step))

    def set_params(self, params) -> None:
        """Start from given parameters (pretrained), keeping the optimiser state and step."""
        self.state = self.state._replace(params=jax.device_put(params))

    def params(self):
        """The current parameters on the host."""
        return jax.device_get(self.state.params)

    @property
    def step(self) -> int:
        return int(self.state.step)

    # ---------------------------------------------------------- replay
    def add(self, *examples: Examples) -> int:
        """Add self-play :class:`Examples`; returns the buffer's size."""
        for ex in examples:
            self.replay.add(ex)
        return len(self.replay)

    def demonstrate(self, *examples: Examples) -> int:
        """Add example sets of whole schemes (``demos.scheme_examples``) to the
        demonstration buffer, which fills ``demonstration_fraction`` of the
        non-synthetic half of every batch however much self-play there is;
        returns its size."""
        for ex in examples:
            self.demonstrations.add(ex)
        return len(self.demonstrations)

    def set_real(self, schemes) -> int:
        """Real schemes of the game's tensor (a harvest, ``alphaalgo.harvest``) whose
        demonstrations, each under a fresh random symmetry, fill ``real_fraction``
        of the synthetic share of every batch; returns how many are held."""
        self.real = tuple(schemes)
        return len(self.real)

    def _demos(self, rng: np.random.Generator, count: int) -> tuple[Examples | None, Examples | None]:
        """``count`` demonstration rows (K = 1) as ``(synthetic, real)``:
        ``real_fraction`` of them from the real schemes when there are any (None
        when there are none), the rest synthetic (None when there are none)."""
        n_real = int(round(count * self.preset.replay.real_fraction)) if self.real else 0
        synthetic = demos.demo_examples(rng, self.game, self.preset.demos, count - n_real) \
            if count > n_real else None
        real = None
        if n_real:
            acting = self.preset.acting
            real = demos.real_examples(rng, self.game, self.real, n_real,
                                       transvections=acting.transvections,
                                       scramble=acting.transvections_z2)
        return synthetic, real

    def _batch(self, rng: np.random.Generator) -> list[Examples]:
        """Two batches: fresh demonstrations (K = 1, :meth:`_demos`: synthetic ones
        under a random signed permutation, ``real_fraction`` of them from real
        schemes when :meth:`set_real` gave any) and the rest (K slots): scheme demonstrations
        (``demonstration_fraction`` of it while there are any) and self-play
        (more synthetic ones while there is none).  The rest goes under a random
        signed permutation only if ``augment_replay``."""
        cfg = self.preset.replay
        size = self.preset.training.batch_size
        n_demo = min(size - 1, max(1, int(round(size * cfg.demo_fraction))))
        synthetic, real = self._demos(rng, n_demo)
        n_rest = size - n_demo
        n_shown = min(n_rest, int(round(n_rest * cfg.demonstration_fraction))) if len(self.demonstrations) else 0
        parts = [self.demonstrations.sample(rng, n_shown)] if n_shown else []
        if n_rest > n_shown:
            if len(self.replay):
                parts.append(self.replay.sample(rng, n_rest - n_shown))
            else:
                synth = demos.demo_examples(rng, self.game, self.preset.demos, n_rest - n_shown).padded(self.k)
                # Synthetic rows go under a permutation either way (once, below if augment_replay).
                parts.append(synth if cfg.augment_replay else demos.augment_examples(rng, self.game, synth))
        rest = Examples.concat(parts, self.k)
        if cfg.augment_replay:
            rest = demos.augment_examples(rng, self.game, rest)
        # The fresh synthetic rows go under a random signed permutation of each mode;
        # the real ones do not: permuting a mode's n·m entries maps the matmul tensor
        # to another tensor, and real rows are there to show the moves on this one
        # (under its own symmetries, demos.real_examples).  Measured: permuted, rows
        # of real <2,2,2> schemes taught the moves worse than synthetic rows alone
        # (benchmarks/RESULTS.md).
        fresh = [demos.augment_examples(rng, self.game, synthetic)] if synthetic is not None else []
        fresh += [real] if real is not None else []
        return [Examples.concat(fresh, 1), rest]

    # ----------------------------------------------------------- train
    def train(self, steps: int, rng: np.random.Generator | int,
              progress: Callable[[int], None] | None = None) -> dict[str, float]:
        """``steps`` updates; returns the last losses and the step reached.

        Args:
          rng: a generator, or a seed (the generator is then seeded with the
            seed and the current step, so a resumed run draws new batches).
        """
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng([int(rng), 4, self.step])
        params, opt_state = self.state.params, self.state.opt_state
        metrics = None
        for _ in range(steps):
            batches = [jax.tree.map(jnp.asarray, b) for b in self._batch(rng)]
            params, opt_state, metrics = self._update(params, opt_state, batches)
            if progress is not None:
                progress(1)
        if metrics is not None:
            self.metrics = {k: float(metrics[k]) for k in ("loss", "policy", "value")}
        self.state = learner.TrainState(params, opt_state, self.step + steps)
        return dict(self.metrics, step=self.step)
