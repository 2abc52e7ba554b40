"""The acting half of a campaign: rounds of self-play games with the search.

A :class:`Player` plays a batch of games on the target (each, with
probability ``acting.basis_change``, in a randomly changed basis), maps every
game that reached zero back to a scheme of the original target, and turns the
games into training examples.  With :class:`Endgames` a share of the games
starts near the end of a known scheme instead: from T minus all but k of its
terms (under a random symmetry, in a random order), so that on large shapes,
where a game from T almost never ends, games end and teach.  Round ``r`` of a campaign with seed ``s`` is
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
class Endgames:
    """Games that start from T minus all but ``k`` terms of a known scheme.

    Attributes:
      schemes: verified schemes of the target in the game's ring (a harvest, or
        the campaign's own), each ``Scheme`` with coefficients the game can play
        (over Z: in its coefficient set after a signed permutation).
      k: the moves left to the agent: the game starts at step R − k with the
        other R − k terms played (the last ``history`` of them in the state).
      share: the fraction of a round's games that are endgames.
    """

    schemes: tuple[Scheme, ...]
    k: int
    share: float = 0.5

    def __post_init__(self) -> None:
        if not self.schemes:
            raise ValueError("endgames need at least one scheme")
        if self.k < 1 or not 0.0 < self.share <= 1.0:
            raise ValueError(f"endgames need k ≥ 1 and a share in (0, 1], got {self.k}, {self.share}")


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
      endgame: ``int (games,)`` k for a game started as an endgame, else 0.
      base_rank: ``int (games,)`` the rank of an endgame's scheme, else 0: an
        endgame solved at rank ≤ this played its k moves at least as well.
      moves: moves the round played (the longest game's).
      cut: the round was cut at its deadline with games still going.
    """

    round: int
    solved: list[tuple[int, Scheme]]
    completed: list[tuple[int, Scheme]]
    examples: Examples
    game_of: np.ndarray
    games: int
    simulations: int
    seconds: float
    endgame: np.ndarray | None = None
    base_rank: np.ndarray | None = None
    moves: int = 0
    cut: bool = False

    def endgame_results(self) -> tuple[int, int]:
        """``(endgames played, endgames solved at their scheme's rank or lower)``."""
        if self.endgame is None:
            return 0, 0
        solved_rank = {b: s.rank for b, s in self.solved}
        games = np.flatnonzero(self.endgame)
        won = sum(1 for b in games if b in solved_rank and solved_rank[b] <= self.base_rank[b])
        return len(games), won


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

    def initial_states(self, rng: np.random.Generator, games: int,
                       endgames: Endgames | None = None
                       ) -> tuple[game.GameState, list[BasisChange], list[np.ndarray], np.ndarray]:
        """``games`` starting states (batched), the basis change each is played in,
        each endgame's scheme as moves ``int (R, A)`` in the acting basis and in
        play order (empty for the other games), and ``int (games,)`` each endgame's
        k (0 for the other games): an endgame starts at step R − k, after the
        first R − k of its moves."""
        act = self.preset.acting
        changes, targets, moves, ks = [], [], [], []
        empty = np.zeros((0, self.game.action_size), np.int64)
        for _ in range(games):
            if endgames is not None and rng.random() < endgames.share:
                start = self.endgame(rng, endgames)
                if start is not None:
                    changes.append(start[0])
                    targets.append(start[0].tensor(self.target))
                    moves.append(start[1])
                    ks.append(start[2])
                    continue
            if rng.random() < act.basis_change:
                ch = demos.random_basis_change(rng, self.game.sizes, self.game.ring,
                                               act.transvections_for(self.game.ring))
                if np.abs(ch.tensor(self.target)).max() > 16:
                    ch = demos.identity_basis(self.game.sizes, self.game.ring)
            else:
                ch = demos.identity_basis(self.game.sizes, self.game.ring)
            changes.append(ch)
            targets.append(ch.tensor(self.target))
            moves.append(empty)
            ks.append(0)
        g = self.game
        residual, step, last = [], [], []
        for tgt, mv, k in zip(targets, moves, ks):
            done = mv[:len(mv) - k]
            res = np.asarray(tgt, np.int64) - demos.term_tensors(g, done).sum(0)
            residual.append(res % 2 if g.ring == "Z2" else res)
            step.append(len(done))
            hist = np.zeros((g.history, g.action_size), np.int8)
            recent = done[::-1][:g.history]
            hist[:len(recent)] = recent
            last.append(hist)
        residual = np.stack(residual)
        if np.abs(residual).max(initial=0) > 127:
            raise AssertionError("a starting residual left int8")  # excluded above
        res = jnp.asarray(residual.astype(np.int8))
        states = game.GameState(residual=res, step=jnp.asarray(np.array(step, np.int32)),
                                last_actions=jnp.asarray(np.stack(last)),
                                done=~jnp.any(res.reshape(games, -1) != 0, axis=1))
        return states, changes, moves, np.array(ks, np.int64)

    def endgame(self, rng: np.random.Generator, endgames: Endgames
                ) -> tuple[BasisChange, np.ndarray, int] | None:
        """One endgame: ``(basis change, the drawn scheme's moves int64 (R, A) in that
        basis and in play order, k)`` with k at most R; None when the scheme does
        not fit the game (coefficients, move limit).  The scheme goes under a random
        symmetry of the tensor (:func:`demos.random_symmetry`; over Z2 then a basis
        change of ``transvections_z2`` elementary matrices per mode)."""
        g, act = self.game, self.preset.acting
        base = endgames.schemes[int(rng.integers(len(endgames.schemes)))]
        if base.rank - 1 >= g.max_moves or base.shape is None:
            return None
        coefs = np.asarray(g.coefficients)
        acts = None
        for trans in (act.transvections_for(g.ring) if g.ring == "Z" else 0, 0):
            cand = demos.scheme_actions(demos.random_symmetry(rng, base, trans)).astype(np.int64)
            if g.ring == "Z2":
                cand %= 2
            if np.all(np.isin(cand, coefs)):
                acts = cand
                break
        if acts is None:
            return None
        change = demos.identity_basis(g.sizes, g.ring)
        if g.ring == "Z2" and act.transvections_z2:
            change = demos.random_basis_change(rng, g.sizes, "Z2", act.transvections_z2)
            acts = change.factors(g, acts)
        acts = demos.canonicalize(g, acts[rng.permutation(len(acts))]).astype(np.int64)
        return change, acts, min(endgames.k, len(acts))

    @staticmethod
    def examples(traj: search.Trajectory) -> tuple[Examples, np.ndarray]:
        """The examples of a trajectory (returns as value targets) and each row's game."""
        m = traj.moves
        active = np.asarray(m.active)                       # (M, B)
        rewards = np.asarray(m.reward) * active
        returns = np.flip(np.cumsum(np.flip(rewards, 0), 0), 0)
        sel = active.reshape(-1)

        def flat(x):
            x = np.asarray(x)
            return x.reshape((-1,) + x.shape[2:])[sel]

        game_of = np.broadcast_to(np.arange(active.shape[1])[None, :], active.shape).reshape(-1)[sel]
        ex = Examples(residual=flat(m.residual), last_actions=flat(m.last_actions),
                      step=flat(m.step).astype(np.int32), actions=flat(m.actions),
                      weights=flat(m.weights).astype(np.float32),
                      value=returns.reshape(-1)[sel].astype(np.float32))
        return ex, game_of

    def play(self, params, round_index: int, endgames: Endgames | None = None,
             until: float | None = None, min_moves: int = 0) -> Played:
        """Play round ``round_index`` with ``params`` (a parameter pytree, host or
        device); with ``endgames``, that share of the games starts as one.  With
        ``until`` (a ``time.time()`` instant) the round is cut there once ``min_moves``
        moves are played (see :func:`search.make_play`); its unsolved games are
        completed as any unsolved game is."""
        games = self.preset.acting.games
        rng = np.random.default_rng([self.seed, 1, round_index])
        states, changes, moves_of, ks = self.initial_states(rng, games, endgames)
        given = [mv[:len(mv) - k] for mv, k in zip(moves_of, ks)]
        t = time.monotonic()
        traj = self._play(params, jax.random.fold_in(self._key, round_index), states, until,
                          min_moves)
        jax.block_until_ready(traj)
        seconds = time.monotonic() - t
        final = np.asarray(traj.final.residual)
        before = np.asarray(traj.moves.residual)               # (M, B, S1, S2, S3)
        active = np.asarray(traj.moves.active)
        moves = np.asarray(traj.moves.action)
        solved, completed = [], []
        for b in range(games):
            played = moves[active[:, b], b].astype(np.int64)
            if not np.any(final[b] != 0):
                solved.append((b, self.scheme(np.concatenate([given[b], played], 0), changes[b])))
                continue
            left = [before[k, b] for k in range(len(played))] + [final[b]]  # after k moves
            k = min(range(len(left)), key=lambda k: (k + tensors.fiber_count(left[k]), -k))
            rest = np.concatenate(tensors.fiber_terms(left[k]), axis=0).T     # (terms, A)
            completed.append((b, self.scheme(np.concatenate([given[b], played[:k], rest], 0),
                                             changes[b])))
        ex, game_of = self.examples(traj)
        played_moves = int(active.any(axis=1).sum())
        sims = games * self.preset.search.num_simulations * played_moves
        base = np.array([len(g) for g in given], np.int64) + ks
        return Played(round_index, solved, completed, ex, game_of, games, sims, seconds,
                      ks if ks.any() else None, base if ks.any() else None, played_moves,
                      bool((~np.asarray(traj.final.done)).any()))
