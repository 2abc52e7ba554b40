"""Harvesting real schemes: many distinct low-rank schemes of one shape, found
by local search from the schoolbook scheme, for the agent's demonstrations.

Real schemes do not look like sums of random terms (most of their factor
matrices have rank 1 and their coefficients are ±1), so the agent learns from
them as well as from synthetic demonstrations (:func:`.demos.real_examples`).
A harvest is the rank-by-rank pool of :func:`.localsearch.search`
(``restart="stepdown"``) run until the pool at the lowest rank reached holds
``count`` distinct schemes: over Z2 by the bit-packed Z2 walk, over Z by the
ternary walk (coefficients in {−1, 0, 1}, valid over every ring).  Nothing is
read from the catalogue or an outside collection.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from . import tensors
from .tensors import Scheme


@dataclasses.dataclass(frozen=True)
class Harvest:
    """What a harvest found.

    Attributes:
      schemes: distinct schemes (by ``tensors.canonical_hash``), each verified
        exactly in the ring, all of rank ``rank``.
      rank: the lowest rank reached.
      flips: flips walked.
      seconds: wall time.
    """

    schemes: tuple[Scheme, ...]
    rank: int
    flips: int
    seconds: float


def harvest(shape: Sequence[int], ring: str, count: int, *, time_limit: float | None = None,
            max_flips: int | None = None, rank: int | None = None, seed: int = 0,
            walk: int = 200_000,
            progress: Callable[[int, int, float], None] | None = None) -> Harvest:
    """Up to ``count`` distinct schemes of ⟨n,m,p⟩ at the lowest rank reached.

    Args:
      shape: ``(n, m, p)``.
      ring: ``"Z2"`` or ``"Z"`` (the ternary walk: the schemes hold over every ring).
      count: schemes wanted (the pool size at each rank).
      time_limit: seconds at most; the harvest ends earlier once ``count``
        schemes at rank ``rank`` (or below) are held.
      max_flips: flips at most instead (or as well): half for the way down, half
        for the pool; with no time limit the harvest is the same on every machine.
      rank: the rank to reach before collecting (default: as low as the time
        allows, collecting all along).
      seed: fixes the walks.
      walk: flips per walk from a pool scheme; shorter walks give more schemes
        per second that lie closer together on the flip graph.
      progress: ``progress(best_rank, flips, seconds)`` now and then.
    """
    import time

    from .localsearch import SearchConfig, search

    if ring not in ("Z", "Z2"):
        raise ValueError(f"harvests are over Z or Z2, not {ring!r}")
    if count < 1:
        raise ValueError(f"count must be ≥ 1, got {count}")
    if time_limit is None and max_flips is None:
        raise ValueError("give a time limit or a number of flips")
    t0 = time.monotonic()
    n, m, p = (int(x) for x in shape)
    how = dict(ring=ring, seed=seed, method="flips" if ring == "Z" else "auto", progress=progress)
    # First down to the rank by the default walks (fast), then fill the pool there.
    down = None if time_limit is None else (time_limit if rank is not None else time_limit / 2)
    first = search(tensors.naive_scheme(n, m, p, ring), target_rank=rank, time_limit=down,
                   max_flips=None if max_flips is None else max(max_flips // 2, 1),
                   config=SearchConfig(bound=1), **how)
    left = None if time_limit is None else max(time_limit - (time.monotonic() - t0), 1e-3)
    config = SearchConfig(restart="stepdown", restart_after=int(walk), pool_size=int(count),
                          chunk=min(250_000, int(walk)), bound=1)
    res = search(first.scheme, target_rank=first.scheme.rank, time_limit=left,
                 max_flips=None if max_flips is None else max(max_flips - first.flips, 1),
                 config=config, fill_pool=True, **how)
    schemes = tuple(s for s in res.pool if s.rank == res.scheme.rank)
    return Harvest(schemes=schemes, rank=res.scheme.rank, flips=first.flips + res.flips,
                   seconds=time.monotonic() - t0)


def stored(path, shape: Sequence[int], ring: str,
           coefficients: Sequence[int] | None = None) -> list[Scheme]:
    """The schemes of ``shape`` over ``ring`` held in the store at ``path`` (opened
    read-only; each verified as the store reads it, and again here in the ring)
    whose coefficients lie in ``coefficients`` when given: the real
    demonstrations a campaign (``discover --demos``) or ``agents/pretrain.py
    --demos`` learns from.  Raises ``ValueError`` when none is usable."""
    from .store import Store

    with Store(path, readonly=True) as held:
        found = [s.scheme for s in held.list_schemes(shape, ring)]
    fit = [s for s in found if s.is_integral and tensors.verify(s, ring).valid
           and (coefficients is None or s.within(coefficients))]
    if not fit:
        raise ValueError(f"{path}: no {ring} scheme of {','.join(map(str, shape))} "
                         "in the coefficient set")
    return fit
