"""Fewest additions at a rank: a walk over same-rank schemes scored by the kernels' count.

A scheme's multiplications fix its asymptotic cost; its additions decide how
close a kernel comes to that bound at the sizes people use.  This walk keeps
the rank (flips over Z never raise it; a reduction lowers it, which is taken
gladly) and scores each scheme by the additions a kernel actually executes:
one level's operand sums and outputs after common subexpressions are shared
(:func:`alphaalgo.codegen.cse.shared_additions`, the count the Numba kernels
run).

Each step either makes a short burst of random flips over Z (coefficients
within the input's own bound, at least ±1) or, with probability
``sandwich``, a random basis change of the whole scheme by a transvection
``I ± E_ij`` of A's, B's or C's basis (``tensors.change_basis``; kept only
within the same bound).  Flips move between schemes of one symmetry orbit
family; a basis change keeps the multiplications and moves the additions —
it is how Strassen's 18 additions become Winograd's 15, and the only move a
scheme without flips (Strassen's has none) can make.  It is accepted when
its rank is lower, or at the same rank when its count is at most the best
count at that rank plus ``slack`` (threshold accepting: equal-cost moves
drift across plateaus, ``slack`` lets the walk pass over small ridges, and
the threshold is tied to the best so the walk cannot wander far up).
Otherwise the walk steps back.  After ``patience`` steps without a new best
the walk returns to the best scheme.  Every best is verified exactly over Z.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from .. import tensors
from ..tensors import Scheme
from .walk import Walker

ProgressFn = Callable[[int, int, int, float], None]


@dataclasses.dataclass(frozen=True)
class AdditionsConfig:
    """How the addition-minimising walk runs.

    Attributes:
      burst: flips per step are drawn from ``1 … burst``.
      slack: a same-rank step is accepted when its count is at most the best
        count plus this.
      patience: steps without a new best before the walk returns to the best.
      sandwich: probability that a step is a random basis change instead of flips.
    """

    burst: int = 3
    slack: int = 2
    patience: int = 2000
    sandwich: float = 0.05

    def __post_init__(self) -> None:
        if self.burst < 1 or self.patience < 1 or self.slack < 0:
            raise ValueError("burst and patience must be ≥ 1 and slack ≥ 0")
        if not 0.0 <= self.sandwich <= 1.0:
            raise ValueError("sandwich is a probability")


@dataclasses.dataclass(frozen=True)
class AdditionsResult:
    """What the walk found.

    Attributes:
      scheme: the best scheme (lowest rank, then fewest shared additions),
        verified exactly over Z.
      start_rank, start_additions: the input's rank and shared additions.
      additions: the result's shared additions (what a kernel of it executes).
      steps: bursts scored.  flips: flips made.  seconds: wall time.
      history: ``(rank, additions, step, seconds)`` at each new best.
    """

    scheme: Scheme
    start_rank: int
    start_additions: int
    additions: int
    steps: int
    flips: int
    seconds: float
    history: tuple[tuple[int, int, int, float], ...]


def count(scheme: Scheme) -> int:
    """Shared additions of one level of ``scheme`` (the kernels' count)."""
    from ..codegen.cse import shared_additions  # not at import: improve's start-up skips codegen

    return shared_additions(scheme.u, scheme.v, scheme.w)


def minimize_additions(scheme: Scheme, *, time_limit: float | None = None,
                       max_steps: int | None = None, seed: int = 0,
                       config: AdditionsConfig | None = None,
                       progress: ProgressFn | None = None) -> AdditionsResult:
    """Walk same-rank schemes of ``scheme`` (integer, valid over Z) toward fewer additions.

    Args:
      scheme: the start: integer coefficients, valid over Z (exactly checked).
      time_limit, max_steps: stop after this many seconds / steps (at least one).
      seed: fixes the walk (the time limit only decides where it stops).
      config: burst, slack and patience.
      progress: ``progress(rank, additions, steps, seconds)`` now and then.

    Raises ``ValueError`` for a scheme that is not an integer scheme valid over Z.
    """
    if time_limit is None and max_steps is None:
        raise ValueError("give a time limit or a number of steps")
    cfg = config or AdditionsConfig()
    if not scheme.is_integral or scheme.ring != "Z" or scheme.imag is not None:
        raise ValueError("fewest additions needs an integer scheme over Z "
                         "(rational, Gaussian and mod-p schemes have no such walk)")
    check = tensors.verify(scheme, "Z")
    if not check.valid:
        raise ValueError(f"the starting scheme is not valid over Z: {check.describe()}")
    start = tensors.drop_zero_terms(scheme)
    t0 = time.monotonic()
    walker = Walker(start, "Z", start.rank + 2, seed, bound=1)
    bound = walker.bound
    picker = np.random.default_rng([seed, 11])
    best = start
    best_count = count(start)
    start_count = best_count
    loaded = walker.scheme()   # loading reduces (zero terms, equal factors)
    loaded_count = count(loaded)
    if loaded.rank < best.rank or loaded_count < best_count:
        best, best_count = _checked(loaded), loaded_count
    best_snap = walker.snapshot()
    cur_snap, cur_rank = best_snap, walker.rank
    history = [(best.rank, best_count, 0, 0.0)]
    steps = flips = since = 0
    while True:
        if max_steps is not None and steps >= max_steps:
            break
        if time_limit is not None and steps % 16 == 0 and time.monotonic() - t0 >= time_limit:
            break
        steps += 1
        since += 1
        if picker.random() < cfg.sandwich:
            cand = _sandwiched(walker.scheme(), picker, bound)
            if cand is None:
                continue
            walker.load(cand)
        else:
            made, _ = walker.run(1 + int(picker.integers(cfg.burst)), plateau=2**62,
                                 max_rank=cur_rank)
            flips += made
            if made == 0:   # no flip exists: only basis changes move this scheme
                if cfg.sandwich == 0:
                    break
                continue
        cand = walker.scheme()
        c = count(cand)
        if cand.rank < best.rank or (cand.rank == best.rank and c < best_count):
            best, best_count = _checked(cand), c
            best_snap = walker.snapshot()
            since = 0
            history.append((best.rank, best_count, steps, time.monotonic() - t0))
            if progress is not None:
                progress(best.rank, best_count, steps, time.monotonic() - t0)
        if cand.rank <= best.rank and c <= best_count + cfg.slack:
            cur_snap, cur_rank = walker.snapshot(), walker.rank
        else:
            walker.restore(cur_snap)
        if since >= cfg.patience:
            walker.restore(best_snap)
            cur_snap, cur_rank, since = best_snap, best.rank, 0
        if progress is not None and steps % 256 == 0:
            progress(best.rank, best_count, steps, time.monotonic() - t0)
    return AdditionsResult(scheme=best, start_rank=scheme.rank, start_additions=start_count,
                           additions=best_count, steps=steps, flips=flips,
                           seconds=time.monotonic() - t0, history=tuple(history))


def _sandwiched(scheme: Scheme, rng: np.random.Generator, bound: int) -> Scheme | None:
    """``scheme`` after a random transvection ``I ± E_ij`` of one of its three bases,
    or None when a coefficient would leave ``[-bound, bound]`` (or the side is 1)."""
    sides = [k for k, d in enumerate(scheme.shape) if d > 1]
    if not sides:
        return None
    side = sides[int(rng.integers(len(sides)))]
    mats = [np.eye(d, dtype=np.int64) for d in scheme.shape]
    d = scheme.shape[side]
    i, j = rng.choice(d, size=2, replace=False)
    mats[side][i, j] = 1 if rng.random() < 0.5 else -1
    out = tensors.change_basis(scheme, *mats)
    if out.max_abs_coefficient() > bound:
        return None
    return out


def _checked(scheme: Scheme) -> Scheme:
    """``scheme`` after an exact check over Z; a failure here is a bug in the kernels."""
    check = tensors.verify(scheme, "Z")
    if not check.valid:
        raise AssertionError(f"the additions walk produced an invalid scheme: {check.describe()}")
    return scheme
