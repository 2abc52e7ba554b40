"""Sampled search on mctx: Gumbel MuZero over K actions sampled from the policy.

mctx needs a fixed number of actions per node, so every node keeps K candidate
actions (sampled from the policy head when the node is expanded) in its
embedding, and ``recurrent_fn`` maps the chosen slot to its action, plays it
exactly with :func:`game.step` and evaluates the network on the new state.
The prior over the K slots is sampled MuZero's (β̂/β)·π (:func:`sampled_prior`);
duplicate candidates get prior logits of −1e9 (and are invalid at the root);
a finished game is absorbing (discount 0, value 0).  The improved policy over
the root's K slots is the policy target.

Search and a move are pure functions of (params, rng, state), jitted once per
game configuration; :func:`make_play` plays the moves of a round one after
another, so that a round stops when its games are over or its time is up.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import mctx

from . import game
from .game import GameState
from .network import NEG, Agent, risk_value


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """Search settings.

    Attributes:
      num_simulations: simulations per move.
      num_samples: K, the actions sampled per node.
      max_considered: Gumbel MuZero's considered actions at the root (≤ K).
      temperature: sampling temperature of the policy head.
      risk_level: the value acts on the mean of the quantiles above this level.
    """

    num_simulations: int = 64
    num_samples: int = 16
    max_considered: int = 16
    temperature: float = 1.0
    risk_level: float = 0.75


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Node:
    """A search node's embedding (batch B).

    Attributes:
      state: the game state (batched ``GameState``).
      actions: ``int8 (B, K, A)`` the candidate actions.
      valid: ``bool (B, K)`` False for duplicates.
    """

    state: GameState
    actions: jax.Array
    valid: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SearchOutput:
    """The result of one search (batch B).

    Attributes:
      actions: ``int8 (B, K, A)`` the root's candidates.
      valid: ``bool (B, K)``.
      weights: ``float32 (B, K)`` the improved policy (the policy target).
      slot: ``int32 (B,)`` the slot chosen to play.
      value: ``float32 (B,)`` the root's value estimate after search.
    """

    actions: jax.Array
    valid: jax.Array
    weights: jax.Array
    slot: jax.Array
    value: jax.Array


def distinct(actions: jax.Array) -> jax.Array:
    """``bool (B, K)``: True for the first occurrence of each action in ``actions (B, K, A)``."""
    k = actions.shape[1]
    same = jnp.all(actions[:, :, None, :] == actions[:, None, :, :], axis=-1)   # (B,K,K)
    earlier = jnp.tril(jnp.ones((k, k), bool), -1)                             # j < i
    return ~jnp.any(same & earlier, axis=-1)


def sampled_prior(actions: jax.Array, logp: jax.Array, logbeta: jax.Array) -> jax.Array:
    """Sampled MuZero's prior over K sampled actions, as logits ``(B, K)``.

    Hubert et al. (2021) search over the K actions drawn from β with the prior
    ``(β̂/β)·π``, where β̂ is the empirical distribution of the draws (the count
    of an action over K).  So the logit of an action's first slot is
    ``log count + log π − log β`` (``log count`` when β = π, temperature 1) and a
    repeated action's slot gets −1e9.  Using ``log π`` itself, as this module
    once did, counts the policy twice: once in which actions were drawn and
    again in the prior.

    Args:
      actions: ``int8 (B, K, A)`` the draws.  logp, logbeta: ``(B, K)``.
    """
    k = actions.shape[1]
    same = jnp.all(actions[:, :, None, :] == actions[:, None, :, :], axis=-1)   # (B,K,K)
    count = jnp.sum(same, axis=-1).astype(jnp.float32)
    first = ~jnp.any(same & jnp.tril(jnp.ones((k, k), bool), -1), axis=-1)
    return jnp.where(first, jnp.log(count) + logp - logbeta, NEG)


def expand(agent: Agent, cfg: SearchConfig, params, rng: jax.Array, state: GameState
           ) -> tuple[Node, jax.Array, jax.Array]:
    """Sample K candidates at ``state`` (batched): the node, prior logits ``(B, K)``
    (:func:`sampled_prior`) and the value ``(B,)`` (0 for finished games)."""
    acts, logp, logbeta, quantiles = agent.evaluate(params, rng, state.residual,
                                                    state.last_actions, state.step,
                                                    cfg.num_samples, cfg.temperature)
    valid = distinct(acts)
    logits = sampled_prior(acts, logp, logbeta)
    value = jnp.where(state.done, 0.0, risk_value(quantiles, cfg.risk_level))
    return Node(state, acts, valid), logits, value


def search(agent: Agent, cfg: SearchConfig, params, rng: jax.Array, state: GameState
           ) -> SearchOutput:
    """One Gumbel MuZero search from each of the B states in ``state``."""
    g = agent.game_config
    rng_root, rng_search = jax.random.split(rng)
    node, logits, value = expand(agent, cfg, params, rng_root, state)
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=node)

    def recurrent_fn(params, key, slot, emb: Node):
        action = jnp.take_along_axis(emb.actions, slot[:, None, None].astype(jnp.int32), axis=1)[:, 0]
        new_state, reward = jax.vmap(functools.partial(game.step, g))(emb.state, action)
        child, child_logits, child_value = expand(agent, cfg, params, key, new_state)
        discount = jnp.where(new_state.done, 0.0, 1.0)
        out = mctx.RecurrentFnOutput(reward=reward, discount=discount,
                                     prior_logits=child_logits, value=child_value)
        return out, child

    out = mctx.gumbel_muzero_policy(
        params, rng_search, root, recurrent_fn, num_simulations=cfg.num_simulations,
        invalid_actions=~node.valid, max_depth=g.max_moves + 1,
        max_num_considered_actions=min(cfg.max_considered, cfg.num_samples))
    root_value = out.search_tree.node_values[:, 0]
    return SearchOutput(node.actions, node.valid, out.action_weights,
                        out.action.astype(jnp.int32), root_value)


class Move(NamedTuple):
    """The record of one move of B games.

    Attributes:
      residual, last_actions, step: the observation before the move.
      active: ``bool (B,)`` the game was not over before this move.
      actions, weights: ``(B, K, A)`` candidates and ``(B, K)`` improved policy.
      action: ``int8 (B, A)`` the move played.
      reward: ``float32 (B,)``.
    """

    residual: jax.Array
    last_actions: jax.Array
    step: jax.Array
    active: jax.Array
    actions: jax.Array
    weights: jax.Array
    action: jax.Array
    reward: jax.Array


class Trajectory(NamedTuple):
    """B games played for ``max_moves`` moves.

    Attributes:
      moves: the :class:`Move` records stacked on a leading move axis, so each field
        is ``(M, B, …)``: e.g. ``moves.active: bool (M, B)``, ``moves.action: int8 (M, B, A)``.
      final: the ``GameState`` after the last move.
    """

    moves: Move
    final: GameState


def move(agent: Agent, cfg: SearchConfig, params, rng: jax.Array, state: GameState
         ) -> tuple[GameState, Move]:
    """One move of each of the B games in ``state`` (one search each): the next state
    and the move's record."""
    g = agent.game_config
    out = search(agent, cfg, params, rng, state)
    action = jnp.take_along_axis(out.actions, out.slot[:, None, None], axis=1)[:, 0]
    nxt, reward = jax.vmap(functools.partial(game.step, g))(state, action)
    return nxt, Move(state.residual, state.last_actions, state.step, ~state.done, out.actions,
                     out.weights, action, reward)


def _cut(final: GameState, rec: Move) -> Move:
    """The last move's record of games cut short while still going, charged as a game
    at the move limit is: −1 for the move less the residual's rank bound."""
    owed = jax.vmap(game.rank_bound)(final.residual).astype(jnp.float32)
    going = rec.active & ~final.done
    return rec._replace(reward=jnp.where(going, rec.reward - owed, rec.reward))


def _idle(final: GameState, rec: Move) -> Move:
    """A record of no move (every game over or cut): inactive, reward 0."""
    nothing = jax.tree.map(jnp.zeros_like, rec)
    return nothing._replace(residual=final.residual, last_actions=final.last_actions,
                            step=final.step)


def make_play(agent: Agent, cfg: SearchConfig) -> Callable[..., Trajectory]:
    """``play(params, rng, state, until=None, min_moves=0) -> Trajectory``: the B games
    in ``state`` played to the end, one jitted search per move (:func:`move`).

    The moves stop as soon as every game is over.  With ``until`` (a ``time.time()``
    instant), they also stop once it has passed and ``min_moves`` moves (at least one)
    are played: the games still going are then cut where they stand and charged as at
    the move limit (their residual's rank bound).  The trajectory always holds
    ``max_moves`` records; those after the last move are inactive with reward 0.
    The random keys are those of a scan over the moves, so an uncut game does not
    depend on ``until``."""
    g = agent.game_config
    step = jax.jit(functools.partial(move, agent, cfg))

    def play(params, rng: jax.Array, state: GameState, until: float | None = None,
             min_moves: int = 0) -> Trajectory:
        recs, key = [], rng
        while len(recs) < g.max_moves:
            if recs and bool(jnp.all(state.done)):
                break
            if (recs and until is not None and len(recs) >= min_moves
                    and time.time() >= until):
                recs[-1] = _cut(state, recs[-1])
                break
            key, sub = jax.random.split(key)
            state, rec = step(params, sub, state)
            recs.append(rec)
        recs += [_idle(state, recs[-1])] * (g.max_moves - len(recs))
        return Trajectory(jax.tree.map(lambda *x: jnp.stack(x), *recs), state)

    return play


def make_search(agent: Agent, cfg: SearchConfig) -> Callable[[object, jax.Array, GameState], SearchOutput]:
    """``search`` jitted for this agent and search configuration."""
    return jax.jit(functools.partial(search, agent, cfg))
