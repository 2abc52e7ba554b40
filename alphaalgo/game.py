"""The tensor game, as pure JAX functions over a state dataclass.

A game starts from a target tensor ``T (S1, S2, S3)``.  A move is a rank-1
term ``u⊗v⊗w`` whose coefficients come from a fixed set; it is subtracted from
the residual (mod 2 over Z2).  Every move costs −1.  The game ends when the
residual is zero (the moves are then a scheme for ``T``) or at the move limit,
where the residual's rank is still owed: the terminal reward adds minus an
upper bound on it (the smallest, over the three directions, sum of the ranks of
the slices).

An action is one int8 vector of length ``A = S1 + S2 + S3``: ``u`` then ``v``
then ``w``.  Functions here act on one game; ``jax.vmap`` them for a batch.
All of them jit (``GameConfig`` is hashable and static).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .tensors import RINGS, matmul_tensor


def default_coefficients(ring: str, shape: Sequence[int] | None = None) -> tuple[int, ...]:
    """The coefficient set a shape is played with by default.

    ``(0, 1)`` over Z2.  Over Z ``(-1, 0, 1)`` up to ⟨3,3,3⟩ (Strassen-like
    schemes need no more; 3¹² moves per step on ⟨2,2,2⟩ instead of 5¹²), else
    AlphaTensor's ``(-2, …, 2)``.
    """
    if ring == "Z2":
        return (0, 1)
    if shape is not None and max(shape) <= 3:
        return (-1, 0, 1)
    return (-2, -1, 0, 1, 2)


@dataclasses.dataclass(frozen=True)
class GameConfig:
    """Static description of a game (hashable, so it can be a jit static argument).

    Attributes:
      sizes: ``(S1, S2, S3)``, the target tensor's shape.
      ring: ``"Z"`` or ``"Z2"`` (residual reduced mod 2 after each move).
      coefficients: the allowed coefficient values, sorted, containing 0.
      max_moves: the move limit.
      history: how many past actions the state keeps (the network sees them).
    """

    sizes: tuple[int, int, int]
    ring: str = "Z"
    coefficients: tuple[int, ...] = (-2, -1, 0, 1, 2)
    max_moves: int = 8
    history: int = 2

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) != 3 or min(sizes) < 1:
            raise ValueError(f"sizes must be three positive integers, got {self.sizes}")
        object.__setattr__(self, "sizes", sizes)
        if self.ring not in RINGS:
            raise ValueError(f"unknown ring {self.ring!r}")
        coefs = tuple(sorted(set(int(c) for c in self.coefficients)))
        if 0 not in coefs or len(coefs) < 2:
            raise ValueError(f"the coefficient set must contain 0 and a non-zero value, got {coefs}")
        if max(abs(c) for c in coefs) > 8:
            raise ValueError(f"coefficients must lie in [-8, 8], got {coefs}")
        if self.ring == "Z2" and coefs != (0, 1):
            raise ValueError(f"over Z2 the coefficient set is (0, 1), got {coefs}")
        object.__setattr__(self, "coefficients", coefs)
        if self.max_moves < 1 or self.history < 0:
            raise ValueError("max_moves must be positive and history non-negative")

    @property
    def action_size(self) -> int:
        """``A = S1 + S2 + S3``."""
        return sum(self.sizes)

    @property
    def symmetric(self) -> bool:
        """True when the coefficient set is closed under negation (signs can be canonical)."""
        return self.ring == "Z" and tuple(-c for c in reversed(self.coefficients)) == self.coefficients


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GameState:
    """One game (add a leading batch axis for many).

    Attributes:
      residual: ``int8 (S1, S2, S3)``, what is left to decompose.
      step: ``int32 ()``, moves made so far.
      last_actions: ``int8 (H, A)``, the last H actions, most recent first (zeros before the start).
      done: ``bool ()``, the residual is zero or the move limit was reached.
    """

    residual: jax.Array
    step: jax.Array
    last_actions: jax.Array
    done: jax.Array


def init(config: GameConfig, target: jax.Array) -> GameState:
    """The state at the start of a game on ``target (S1, S2, S3)`` (any integer dtype)."""
    res = jnp.asarray(target).astype(jnp.int8)
    if config.ring == "Z2":
        res = jnp.mod(res, 2).astype(jnp.int8)
    return GameState(residual=res, step=jnp.zeros((), jnp.int32),
                     last_actions=jnp.zeros((config.history, config.action_size), jnp.int8),
                     done=jnp.logical_not(jnp.any(res != 0)))


def split_action(config: GameConfig, action: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``action (..., A)`` → ``u (..., S1)``, ``v (..., S2)``, ``w (..., S3)``."""
    s1, s2, _ = config.sizes
    return action[..., :s1], action[..., s1:s1 + s2], action[..., s1 + s2:]


def action_tensor(config: GameConfig, action: jax.Array) -> jax.Array:
    """The rank-1 tensor ``u⊗v⊗w`` of ``action (..., A)``: ``int32 (..., S1, S2, S3)``."""
    u, v, w = (x.astype(jnp.int32) for x in split_action(config, action))
    return u[..., :, None, None] * v[..., None, :, None] * w[..., None, None, :]


def is_legal(config: GameConfig, action: jax.Array) -> jax.Array:
    """``bool (...)``: every factor of ``action (..., A)`` is non-zero and every
    coefficient is in the set."""
    ok = jnp.all(jnp.isin(action, jnp.asarray(config.coefficients, action.dtype)), axis=-1)
    for f in split_action(config, action):
        ok &= jnp.any(f != 0, axis=-1)
    return ok


def _first_nonzero(x: jax.Array) -> jax.Array:
    """The first non-zero entry along the last axis (0 if none)."""
    idx = jnp.argmax(x != 0, axis=-1)
    return jnp.take_along_axis(x, idx[..., None], axis=-1)[..., 0]


def canonicalize(config: GameConfig, action: jax.Array) -> jax.Array:
    """The same rank-1 term with the first non-zero of u and of v positive (signs
    moved onto w).  Identity over Z2 or for an asymmetric coefficient set."""
    if not config.symmetric:
        return action
    u, v, w = split_action(config, action)
    su = jnp.where(_first_nonzero(u) < 0, -1, 1).astype(action.dtype)[..., None]
    sv = jnp.where(_first_nonzero(v) < 0, -1, 1).astype(action.dtype)[..., None]
    return jnp.concatenate([u * su, v * sv, w * su * sv], axis=-1)


def rank_bound(residual: jax.Array) -> jax.Array:
    """``int32 ()``: an upper bound on the rank of ``residual (S1, S2, S3)``: the
    smallest, over the three directions, sum of the ranks (over Q) of the slices.

    Also an upper bound over Z2 (a matrix's rank mod 2 is at most its rank over Q).
    """
    r = residual.astype(jnp.float32)
    totals = []
    for axis in range(3):
        slices = jnp.moveaxis(r, axis, 0)
        totals.append(jnp.sum(jax.vmap(jnp.linalg.matrix_rank)(slices)))
    return jnp.min(jnp.stack(totals)).astype(jnp.int32)


def step(config: GameConfig, state: GameState, action: jax.Array
         ) -> tuple[GameState, jax.Array]:
    """Play ``action (A,)``: returns the next state and the reward (``float32 ()``).

    A finished game is absorbing: the state is returned unchanged with reward 0.
    """
    term = action_tensor(config, action)
    res = state.residual.astype(jnp.int32) - term
    if config.ring == "Z2":
        res = jnp.mod(res, 2)
    res = res.astype(jnp.int8)
    n = state.step + 1
    zero = jnp.logical_not(jnp.any(res != 0))
    at_limit = n >= config.max_moves
    owed = jnp.where(at_limit & ~zero, rank_bound(res), 0).astype(jnp.float32)
    reward = -1.0 - owed
    hist = state.last_actions
    if config.history:
        hist = jnp.concatenate([action[None].astype(jnp.int8), hist[:-1]], axis=0)
    new = GameState(residual=res, step=n, last_actions=hist, done=zero | at_limit)
    keep = state.done
    out = jax.tree_util.tree_map(lambda old, nw: jnp.where(keep, old, nw), state, new)
    return out, jnp.where(keep, 0.0, reward).astype(jnp.float32)


def target_tensor(shape: Sequence[int] | None = None, target: np.ndarray | None = None) -> np.ndarray:
    """``int8 (S1, S2, S3)``: the matmul tensor of ``shape`` or the explicit ``target``."""
    if (shape is None) == (target is None):
        raise ValueError("give a shape or an explicit target")
    if shape is not None:
        n, m, p = (int(x) for x in shape)
        if max(n, m, p) > 5:
            raise ValueError(f"shapes up to ⟨5,5,5⟩ are supported, got {tuple(shape)}")
        return matmul_tensor(n, m, p)
    t = np.asarray(target)
    if t.ndim != 3 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError("an explicit target must be a 3-D integer array")
    if np.abs(t).max(initial=0) > 64:
        raise ValueError("explicit target entries must lie in [-64, 64]")
    return t.astype(np.int8)
