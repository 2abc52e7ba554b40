"""Learning: losses, the optimiser, the replay buffer and checkpoints.

Losses (batch B, K candidates): the policy's cross-entropy ``−Σ_k w_k log π(a_k)``
with ``log π`` from teacher-forced tokens, and quantile regression (Huber, κ = 1)
of the value quantiles towards the observed return.  Optimiser: AdamW with a
linear warm-up and a cosine decay to a floor.

Checkpoints are ``.npz`` files (no pickles) of the flattened parameter and
optimiser pytrees, keyed by their tree paths, written atomically; loading needs
templates of the same structure (a freshly initialised learner).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .atomic import atomic_write_bytes
from .examples import Examples
from .network import Agent


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """Optimisation settings.

    Attributes:
      learning_rate: peak learning rate.
      warmup_steps: linear warm-up length.
      decay_steps: cosine decay length (then constant at ``final_fraction`` of the peak).
      final_fraction: the floor of the schedule.
      weight_decay: AdamW's decoupled weight decay.
      batch_size: examples per update.
      value_weight: weight of the value loss.
      grad_clip: global-norm clipping.
    """

    learning_rate: float = 1e-3
    warmup_steps: int = 100
    decay_steps: int = 20000
    final_fraction: float = 0.1
    weight_decay: float = 1e-4
    batch_size: int = 128
    value_weight: float = 0.5
    grad_clip: float = 1.0


class TrainState(NamedTuple):
    """``params``, ``opt_state`` and the update count ``step`` (int)."""

    params: Any
    opt_state: Any
    step: int


def make_optimizer(cfg: LearnerConfig) -> optax.GradientTransformation:
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, cfg.learning_rate, max(cfg.warmup_steps, 1), max(cfg.decay_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.final_fraction)
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip),
                       optax.adamw(schedule, weight_decay=cfg.weight_decay))


def quantile_loss(quantiles: jax.Array, target: jax.Array, kappa: float = 1.0) -> jax.Array:
    """Quantile Huber loss of ``quantiles (B, Q)`` against ``target (B,)``: ``()``."""
    q = quantiles.shape[-1]
    taus = (jnp.arange(q) + 0.5) / q
    u = target[:, None] - quantiles
    huber = jnp.where(jnp.abs(u) <= kappa, 0.5 * u ** 2, kappa * (jnp.abs(u) - 0.5 * kappa))
    return jnp.mean(jnp.sum(jnp.abs(taus - (u < 0)) * huber / kappa, axis=-1))


def loss_fn(agent: Agent | Sequence[Agent], cfg: LearnerConfig, params,
            batches: Sequence[Examples]) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The total loss and its parts over one or more batches of :class:`Examples`
    (each batch may have its own K), weighted by their sizes.  ``agent`` may be one
    agent per batch: a multishape network's agents for several games share
    ``params`` (``NetConfig.multishape``)."""
    agents = [agent] * len(batches) if isinstance(agent, Agent) else list(agent)
    if len(agents) != len(batches):
        raise ValueError(f"{len(agents)} agents for {len(batches)} batches")
    total_n = sum(b.value.shape[0] for b in batches)
    policy = value = 0.0
    for agent, batch in zip(agents, batches):
        logp, quantiles = agent.score(params, batch.residual, batch.last_actions,
                                      batch.step, batch.actions)
        share = batch.value.shape[0] / total_n
        policy += share * -jnp.mean(jnp.sum(batch.weights * logp, axis=-1))
        value += share * quantile_loss(quantiles, batch.value)
    return policy + cfg.value_weight * value, {"policy": policy, "value": value}


def init_state(agent: Agent, cfg: LearnerConfig, rng: jax.Array) -> TrainState:
    params = agent.init(rng)
    return TrainState(params, jax.jit(make_optimizer(cfg).init)(params), 0)


def make_update(agent: Agent | Sequence[Agent], cfg: LearnerConfig):
    """A jitted ``update(params, opt_state, batches) -> (params, opt_state, metrics)``
    (``batches``: a sequence of :class:`Examples`, and ``agent`` one agent or one
    per batch, as :func:`loss_fn`)."""
    opt = make_optimizer(cfg)

    def update(params, opt_state, batches):
        (loss, parts), grads = jax.value_and_grad(
            lambda p: loss_fn(agent, cfg, p, batches), has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, dict(parts, loss=loss)

    return jax.jit(update)


# ------------------------------------------------------------------ replay
class ReplayBuffer:
    """A ring buffer of :class:`Examples` with K candidate slots."""

    def __init__(self, capacity: int, sizes: tuple[int, int, int], history: int, k: int):
        self.capacity, self.k = capacity, k
        self.data = Examples.zeros(capacity, sizes, history, k)
        self.size = 0
        self._next = 0

    def __len__(self) -> int:
        return self.size

    def add(self, examples: Examples) -> None:
        examples = examples.padded(self.k)
        n = len(examples)
        for start in range(0, n, self.capacity):
            part = examples.take(slice(start, min(n, start + self.capacity)))
            idx = (self._next + np.arange(len(part))) % self.capacity
            for key, src in part.arrays().items():
                getattr(self.data, key)[idx] = src
            self._next = int((idx[-1] + 1) % self.capacity)
            self.size = min(self.capacity, self.size + len(idx))

    def sample(self, rng: np.random.Generator, n: int) -> Examples:
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        return self.data.take(rng.integers(0, self.size, size=n))


# ------------------------------------------------------------- checkpoints
def _flatten(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {f"{prefix}{jax.tree_util.keystr(path)}": np.asarray(leaf) for path, leaf in leaves}


def _unflatten(prefix: str, data: dict[str, np.ndarray], template, where: str):
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, leaf in paths:
        key = f"{prefix}{jax.tree_util.keystr(path)}"
        if key not in data:
            raise ValueError(f"{where}: checkpoint lacks {key} (a different network?)")
        arr = data[key]
        if arr.shape != np.shape(leaf):
            raise ValueError(f"{where}: {key} has shape {arr.shape}, expected {np.shape(leaf)}")
        leaves.append(jnp.asarray(arr, dtype=jnp.asarray(leaf).dtype))
    return jax.tree_util.tree_unflatten(treedef, [leaf for leaf in leaves])


def save_checkpoint(path: str | os.PathLike, state: TrainState, meta: dict | None = None) -> None:
    """Write ``state`` (and JSON ``meta``) to ``path`` (``.npz``) atomically."""
    arrays = _flatten("params", state.params)
    arrays.update(_flatten("opt", state.opt_state))
    arrays["__step__"] = np.asarray(state.step, np.int64)
    arrays["__meta__"] = np.asarray(json.dumps(meta or {}, sort_keys=True))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def save_params(path: str | os.PathLike, params, meta: dict | None = None) -> None:
    """Write only ``params`` (and JSON ``meta``) to ``path`` (``.npz``) atomically."""
    arrays = _flatten("params", params)
    arrays["__meta__"] = np.asarray(json.dumps(meta or {}, sort_keys=True))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


#: Largest parameter or checkpoint file read (decompressed), far above the presets'.
MAX_PARAMS_BYTES = 2 * 2**30


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a parameter or checkpoint ``.npz``, read without pickles.

    Raises ``ValueError`` naming the file for anything that is not such an archive
    (garbage, a truncated file, a member claiming more than ``MAX_PARAMS_BYTES``).
    """
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
            if total > MAX_PARAMS_BYTES:
                raise ValueError(f"{path}: holds {total:,} bytes of arrays; the limit is "
                                 f"{MAX_PARAMS_BYTES:,}")
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, NotImplementedError,
            RuntimeError) as exc:
        raise ValueError(f"{path}: not a readable parameter file ({exc})") from None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable parameter file ({exc})") from None


def load_params(path: str | os.PathLike, template) -> Any:
    """Only the parameters of a checkpoint (e.g. shipped pretrained ones)."""
    data = read_arrays(path)
    return _unflatten("params", data, template, str(path))


def load_checkpoint(path: str | os.PathLike, template: TrainState) -> tuple[TrainState, dict]:
    """The state saved at ``path``, shaped like ``template``, and its ``meta``."""
    data = read_arrays(path)
    if "__step__" not in data:
        raise ValueError(f"{path}: not an alphaalgo checkpoint")
    params = _unflatten("params", data, template.params, str(path))
    opt_state = _unflatten("opt", data, template.opt_state, str(path))
    try:
        meta = json.loads(str(data["__meta__"])) if "__meta__" in data else {}
    except json.JSONDecodeError:
        raise ValueError(f"{path}: unreadable checkpoint metadata") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: unreadable checkpoint metadata")
    return TrainState(params, opt_state, int(data["__step__"])), meta
