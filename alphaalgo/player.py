"""The acting half of a campaign: rounds of self-play games with the search.

A :class:`Player` plays a batch of games on the target (each, with
probability ``acting.basis_change``, in a randomly changed basis), maps every
game that reached zero back to a scheme of the original target, and turns the
games into training examples.  Round ``r`` of a campaign with seed ``s`` is
the same games whichever process plays it, so a plain object serves both the
local backend and Ray's self-play actors (``alphaalgo.distributed``).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import demos, game, search, tensors
from .demos import BasisChange
from .examples import Examples
from .game import GameConfig
from .network import Agent
from .presets import Preset
from .tensors import Scheme


@dataclasses.dataclass(frozen=True)
class Played:
    """One round of games.

    Attributes:
      round: the round's index in the campaign.
      solved: ``(game index, scheme)`` for each game that reached zero; the
        scheme is of the original target (not yet verified: the receiver does).
      completed: the same for each game that hit the move limit: its first k
        moves completed by one term per non-zero fiber of what was left after
        them (``tensors.fiber_terms``), with k chosen to give the fewest terms
        (ties: the most moves).  A valid scheme built on the agent's moves, never
        of higher rank than the fiber completion of the game's starting tensor
        (k = 0: the naive scheme for a matmul tensor in its own basis), which
        local search can start from before the agent solves games.
      examples: the games' :class:`~alphaalgo.examples.Examples`, one row per move
        played; ``value`` is the return without any speed bonus.
      game_of: ``int (rows,)`` the game each example row belongs to.
      games: games played.  simulations: search simulations run.
      seconds: time the batched search took.
    """

    round: int
    solved: list[tuple[int, Scheme]]
    completed: list[tuple[int, Scheme]]
    examples: Examples
    game_of: np.ndarray
    games: int
    simulations: int
    seconds: float


class Player:
    """Self-play for one game.

    Args:
      game: the game (sizes, ring, coefficients, move limit).
      target: ``int (S1, S2, S3)`` the target tensor.
      preset: the agent configuration (network, search and acting settings).
      seed: the campaign's seed.
      shape: ``(n, m, p)`` when the target is a matmul tensor (schemes then carry it).
    """

    def __init__(self, game: GameConfig, target: np.ndarray, preset: Preset, seed: int,
                 shape: tuple[int, int, int] | None = None):
        self.game, self.target, self.preset, self.seed, self.shape = game, target, preset, seed, shape
        self.agent = Agent(game, preset.network)
        self._play = search.make_play(self.agent, preset.search)
        self._key = jax.random.PRNGKey(seed)

    def scheme(self, moves: np.ndarray, change: BasisChange) -> Scheme:
        """The scheme of a solved game: ``moves int (R, A)`` in the acting basis, mapped back."""
        orig = change.inverse().factors(self.game, moves)
        s1, s2, _ = self.game.sizes
        u, v, w = orig[:, :s1].T, orig[:, s1:s1 + s2].T, orig[:, s1 + s2:].T
        if self.shape is not None:
            return Scheme(u, v, w, ring=self.game.ring, shape=self.shape)
        return Scheme(u, v, w, ring=self.game.ring, target=self.target.astype(np.int64))

    def initial_states(self, rng: np.random.Generator, games: int) -> tuple[game.GameState, list[BasisChange]]:
        """``games`` starting states (batched) and the basis change each is played in."""
        act = self.preset.acting
        changes, targets = [], []
        for _ in range(games):
            if rng.random() < act.basis_change:
                ch = demos.random_basis_change(rng, self.game.sizes, self.game.ring,
                                               act.transvections_for(self.game.ring))
                if np.abs(ch.tensor(self.target)).max() > 16:
                    ch = demos.identity_basis(self.game.sizes, self.game.ring)
            else:
                ch = demos.identity_basis(self.game.sizes, self.game.ring)
            changes.append(ch)
            targets.append(ch.tensor(self.target).astype(np.int8))
        states = jax.vmap(lambda t: game.init(self.game, t))(jnp.asarray(np.stack(targets)))
        return states, changes

    @staticmethod
    def examples(traj: search.Trajectory) -> tuple[Examples, np.ndarray]:
        """The examples of a trajectory (returns as value targets) and each row's game."""
        active = np.asarray(traj.active)                       # (M, B)
        rewards = np.asarray(traj.reward) * active
        returns = np.flip(np.cumsum(np.flip(rewards, 0), 0), 0)
        sel = active.reshape(-1)

        def flat(x):
            x = np.asarray(x)
            return x.reshape((-1,) + x.shape[2:])[sel]

        game_of = np.broadcast_to(np.arange(active.shape[1])[None, :], active.shape).reshape(-1)[sel]
        ex = Examples(residual=flat(traj.residual), last_actions=flat(traj.last_actions),
                      step=flat(traj.step).astype(np.int32), actions=flat(traj.actions),
                      weights=flat(traj.weights).astype(np.float32),
                      value=returns.reshape(-1)[sel].astype(np.float32))
        return ex, game_of

    def play(self, params, round_index: int) -> Played:
        """Play round ``round_index`` with ``params`` (a parameter pytree, host or device)."""
        games = self.preset.acting.games
        rng = np.random.default_rng([self.seed, 1, round_index])
        states, changes = self.initial_states(rng, games)
        t = time.monotonic()
        traj = self._play(params, jax.random.fold_in(self._key, round_index), states)
        jax.block_until_ready(traj)
        seconds = time.monotonic() - t
        final = np.asarray(traj.final.residual)
        before = np.asarray(traj.residual)                     # (M, B, S1, S2, S3)
        active = np.asarray(traj.active)
        moves = np.asarray(traj.action)
        solved, completed = [], []
        for b in range(games):
            played = moves[active[:, b], b].astype(np.int64)
            if not np.any(final[b] != 0):
                solved.append((b, self.scheme(played, changes[b])))
                continue
            left = [before[k, b] for k in range(len(played))] + [final[b]]  # after k moves
            k = min(range(len(left)), key=lambda k: (k + tensors.fiber_count(left[k]), -k))
            rest = np.concatenate(tensors.fiber_terms(left[k]), axis=0).T     # (terms, A)
            completed.append((b, self.scheme(np.concatenate([played[:k], rest], 0), changes[b])))
        ex, game_of = self.examples(traj)
        sims = games * self.preset.search.num_simulations * self.game.max_moves
        return Played(round_index, solved, completed, ex, game_of, games, sims, seconds)
