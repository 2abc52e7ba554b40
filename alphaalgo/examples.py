"""Training examples: the one definition of a batch the learner trains on.

Self-play (:mod:`.player`), synthetic and scheme demonstrations (:mod:`.demos`),
the replay buffers (:mod:`.learner`), the store and the update all pass
:class:`Examples`.  It is a JAX pytree, so a list of them goes straight into
the jitted update.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class Examples:
    """N training rows of a game on tensors of sizes ``(S1, S2, S3)``, with H
    past moves kept, K candidate slots and moves of length ``A = S1 + S2 + S3``.

    Attributes:
      residual: ``int8 (N, S1, S2, S3)``: the tensor left to decompose.
      last_actions: ``int8 (N, H, A)``: the last H moves, newest first (zeros
        before the first move).
      step: ``int32 (N,)``: moves made so far.
      actions: ``int8 (N, K, A)``: the candidate moves (all-zero rows pad
        unused slots).
      weights: ``float32 (N, K)``: the policy target over the candidates (sums
        to 1; 0 on padding).
      value: ``float32 (N,)``: the return target (minus the moves still to go,
        plus any speed bonus).
    """

    residual: np.ndarray
    last_actions: np.ndarray
    step: np.ndarray
    actions: np.ndarray
    weights: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return int(self.value.shape[0])

    @property
    def k(self) -> int:
        """Candidate slots per row."""
        return int(self.actions.shape[1])

    @classmethod
    def zeros(cls, n: int, sizes: Sequence[int], history: int, k: int) -> "Examples":
        """``n`` all-zero rows (a buffer to fill)."""
        a = int(sum(sizes))
        shapes = {"residual": (n,) + tuple(int(s) for s in sizes), "last_actions": (n, history, a),
                  "step": (n,), "actions": (n, k, a), "weights": (n, k), "value": (n,)}
        return cls(**{f: np.zeros(shapes[f], DTYPES[f]) for f in FIELDS})

    def replace(self, **changes: np.ndarray) -> "Examples":
        return dataclasses.replace(self, **changes)

    def take(self, idx: np.ndarray | slice) -> "Examples":
        """The rows ``idx``."""
        return Examples(**{f: getattr(self, f)[idx] for f in FIELDS})

    def padded(self, k: int) -> "Examples":
        """The same rows with ``k ≥ self.k`` candidate slots (zero padding)."""
        if k < self.k:
            raise ValueError(f"examples with {self.k} candidates do not fit K = {k}")
        if k == self.k:
            return self
        n, _, a = self.actions.shape
        acts = np.zeros((n, k, a), np.int8)
        acts[:, :self.k] = self.actions
        w = np.zeros((n, k), np.float32)
        w[:, :self.k] = self.weights
        return self.replace(actions=acts, weights=w)

    @staticmethod
    def concat(parts: Sequence["Examples"], k: int) -> "Examples":
        """Rows of ``parts`` one after another, each padded to ``k`` candidates."""
        if not parts:
            raise ValueError("nothing to concatenate")
        padded = [p.padded(k) for p in parts]
        return Examples(**{f: np.concatenate([getattr(p, f) for p in padded]) for f in FIELDS})

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields as named arrays (for the store)."""
        return {f: getattr(self, f) for f in FIELDS}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> "Examples":
        """Examples from named arrays (as :meth:`arrays` gives them), dtypes enforced;
        ``ValueError`` when a field is missing or the row counts differ."""
        missing = [f for f in FIELDS if f not in data]
        if missing:
            raise ValueError(f"examples without {', '.join(missing)}")
        out = cls(**{f: np.asarray(data[f], DTYPES[f]) for f in FIELDS})
        if len({getattr(out, f).shape[0] for f in FIELDS}) != 1:
            raise ValueError("example fields with different row counts")
        return out


FIELDS = tuple(f.name for f in dataclasses.fields(Examples))
DTYPES = {"residual": np.int8, "last_actions": np.int8, "step": np.int32, "actions": np.int8,
          "weights": np.float32, "value": np.float32}

jax.tree_util.register_dataclass(Examples, data_fields=list(FIELDS), meta_fields=[])
