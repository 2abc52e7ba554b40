"""Moves that a walk makes between runs of flips: splits and sandwiches.

* :func:`split` — a term ``u⊗v⊗w`` becomes ``u⊗v⊗(w − d) + u⊗v⊗d`` (in a random
  mode; ``d`` a signed unit vector, chosen so that both new factors stay within
  the coefficient bound): the rank rises by one and the walk gains two terms
  that share two factors, i.e. new flips.
* :func:`sandwich` — the scheme under a random symmetry of its matmul tensor
  (``A → PAQ⁻¹, B → QBR⁻¹, C → RCP⁻¹``, :func:`alphaalgo.demos.random_symmetry`):
  the same rank, other coordinates.  Over Z2 the flip graph is the same up to
  that symmetry, so it matters for walks with a coefficient bound (the ternary
  walk), where other schemes become reachable.

Both return a scheme valid over the input's ring whenever the input is
(tests check this on random schemes); neither is verified here.
"""

from __future__ import annotations

import numpy as np

from ..tensors import Scheme


def split(scheme: Scheme, rng: np.random.Generator, bound: int = 1, count: int = 1) -> Scheme:
    """``scheme`` with ``count`` random terms split in two (rank + ``count``); over Z
    every coefficient stays within ``max(bound, the scheme's own largest)``."""
    mats = [np.asarray(m, np.int64).copy() for m in (scheme.u, scheme.v, scheme.w)]
    z2 = scheme.ring == "Z2"
    limit = max(int(bound), int(scheme.max_abs_coefficient()))
    for _ in range(count):
        r = int(rng.integers(mats[0].shape[1]))
        mode = int(rng.integers(3))
        f = mats[mode][:, r]
        d = np.zeros_like(f)
        rows = rng.permutation(len(f))
        for i in rows:
            s = 1 if z2 else int(rng.choice([-1, 1]))
            rest = f - s * np.eye(1, len(f), int(i), dtype=np.int64)[0]
            if z2:
                rest %= 2
            if np.any(rest != 0) and np.abs(rest).max() <= limit:
                d[i] = s
                break
        if not d.any():          # a unit factor over Z2 with nothing else to split: skip
            continue
        rest = (f - d) % 2 if z2 else f - d
        mats[mode][:, r] = rest
        new = [m[:, r:r + 1].copy() for m in mats]
        new[mode] = d[:, None]
        mats = [np.concatenate([m, n], axis=1) for m, n in zip(mats, new)]
    return scheme.replace(u=mats[0], v=mats[1], w=mats[2])


def sandwich(scheme: Scheme, rng: np.random.Generator, transvections: int = 1,
             bound: int | None = None) -> Scheme:
    """``scheme`` under a random symmetry of its matmul tensor with ``transvections``
    elementary matrices per mode; over Z with ``bound``, signed permutations
    alone when the symmetry would leave ``|coefficient| ≤ bound``."""
    from ..demos import random_symmetry

    if scheme.shape is None:
        raise ValueError("a sandwich needs a matmul scheme (a shape)")
    out = random_symmetry(rng, scheme, transvections)
    if scheme.ring == "Z2":
        return out.replace(u=out.u % 2, v=out.v % 2, w=out.w % 2)
    if bound is not None and out.max_abs_coefficient() > max(bound, scheme.max_abs_coefficient()):
        out = random_symmetry(rng, scheme, 0)
    return out
