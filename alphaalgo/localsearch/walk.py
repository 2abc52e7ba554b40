"""Random walks on the flip graph: a walker per ring, restarts and a pool.

:class:`Walker` holds one scheme in the kernels' arrays and makes flips;
:func:`search` runs walks from a scheme with plus transitions to leave
plateaus, keeps a pool of schemes at the best rank reached, restarts from the
pool when a walk stops making progress, and stops at a target rank, a time
limit or a number of flips.  Everything but the time limit is counted in
flips, so a given seed makes the same walk on any machine.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from .. import tensors
from ..tensors import Scheme
from . import flips_z, flips_z2, flips_zt, packing
from .rng import make_rng


SAMPLINGS = ("pairs", "values")
RESTARTS = ("pool", "start", "stepdown", "population")
#: The groups a symmetric walk keeps: 2 (the index reversal ρ, any shape), 3 (the
#: cyclic shift of ⟨n,n,n⟩) or 6 (both; :mod:`.symmetric`).
SYMMETRIES = (2, 3, 6)
#: The involution a two-fold walk keeps: ρ (the index reversal, any shape), τ
#: (the transposition ``(u, v, w) → (vᵀ, uᵀ, wᵀ)``, shapes ⟨n,m,n⟩) or ρτ
#: (both, ⟨n,m,n⟩); :mod:`.symmetric`.
INVOLUTIONS = ("reverse", "transpose", "both")


def check_symmetry(symmetry: int) -> None:
    """``ValueError`` unless ``symmetry`` is one of :data:`SYMMETRIES`."""
    if symmetry not in SYMMETRIES:
        raise ValueError(f"symmetry must be 2, 3 or 6, got {symmetry}")


def check_involution(symmetry: int, involution: str) -> None:
    """``ValueError`` unless ``involution`` is one of :data:`INVOLUTIONS`, and
    ``reverse`` where ``symmetry`` is 6 (the six-fold walk keeps ρ)."""
    if involution not in INVOLUTIONS:
        raise ValueError(f"involution must be one of {', '.join(INVOLUTIONS)}, "
                         f"got {involution!r}")
    if symmetry != 2 and involution != "reverse":
        raise ValueError(f"the involution {involution!r} is for the two-fold walk "
                         f"(symmetry 2); the six-fold walk keeps 'reverse'")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """How the walks are run.

    Attributes:
      plateau: flips without a reduction before a plus transition.
      plus_slack: plus transitions raise the rank to at most best + this.
      restart_after: flips without a new best rank (of this run) before the
        walk restarts.
      restart: where a restart goes: ``"pool"`` a random scheme of the pool at
        the best rank; ``"start"`` a fresh run from the start (independent runs,
        as Moosbauer & Poole run their symmetric walks); ``"stepdown"`` a
        rank-by-rank pool (Kauers & Moosbauer's way of running their walks):
        every walk starts from a random scheme of the pool at the current
        level r and ends when it goes below r (its scheme joins the pool of its
        rank) or after ``restart_after`` flips (its scheme, if still at r,
        joins the pool at r); the level moves down to the lowest rank whose
        pool is full, or to the lowest rank below with any scheme after
        ``pool_size · restart_after`` flips at a level (or, with
        ``fast_descent``, as soon as most walks from the level go below it:
        the fast way down before a plateau).
        ``"population"``: ``pool_size`` walkers in one process take turns of
        ``chunk`` flips; a walker that has not improved its own best for
        ``10 · restart_after`` flips resets to where it last did, and every
        ``restart_after`` flips per walker those behind copy one at the
        population's best rank.
      pool_size: schemes kept at the best rank (with ``"stepdown"``: at each
        rank; with ``"population"``: the walkers).
      chunk: flips per kernel call (between time checks and progress reports).
      bound: over Z, the largest |coefficient| a move may create (the input's
        own largest coefficient is always allowed).
      dependent: over Z2, also reduce when factors of terms sharing a factor
        become linearly dependent (three or more terms), not only equal; about
        4× fewer flips per second.
      symmetric: walk only symmetric schemes by orbit flips
        (:mod:`.symmetric`; over Z2, lifted for Z); the start must have the
        symmetry.
      symmetry: with ``symmetric``, 3 (the cyclic shift of ⟨n,n,n⟩), 6 (also
        the index reversal ρ) or 2 (one involution alone; :mod:`.symmetric`).
      involution: with ``symmetry=2``, one of :data:`INVOLUTIONS`.
      sandwich: at every restart (``"pool"``, ``"start"``), put the scheme under a
        random symmetry of the matmul tensor with this many elementary matrices
        per mode (:func:`.moves.sandwich`; 0: never).
      split: at every restart, split this many random terms in two
        (:func:`.moves.split`; 0: never).
      fast_descent: see ``"stepdown"``.
      guard: when the walk lifts (over Z from Z2 or Z3), a new low of the walk
        that does not lift is undone: the walk goes back to a random scheme of
        the pool, which holds only schemes that lift.  A flip over Z2 of a
        scheme that lifts gives one that lifts (the same flip over Z), but a
        reduction over Z2 may leave the schemes that lift for good, and then
        nothing below lifts either; the guard keeps the walk among those that
        do (``"pool"`` and ``"start"`` walks; with ``"stepdown"`` a scheme
        joins its rank's pool only when it lifts).
      release_after: with ``symmetric``, after this many flips of the
        symmetric walk its best scheme is *released*: the search goes on from
        it on the plain flip graph (``SearchConfig()``'s walk) for the rest of
        the budget (0: never).  A symmetric scheme is a good start that the
        symmetric walk itself cannot lower further: ⟨4,4,4⟩ over Z2 reaches 47
        from a τ-invariant 52, where the plain walk alone stops at 49
        (benchmarks/RESULTS.md, twenty-second and twenty-third sessions).
    """

    plateau: int = 20_000
    plus_slack: int = 2
    restart_after: int = 30_000_000
    pool_size: int = 64
    chunk: int = 250_000
    bound: int = 1
    dependent: bool = False
    symmetric: bool = False
    symmetry: int = 3
    involution: str = "reverse"
    restart: str = "pool"
    sampling: str = "pairs"
    sandwich: int = 0
    split: int = 0
    fast_descent: bool = False
    guard: bool = False
    release_after: int = 0

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, "
                             f"got {self.sampling!r}")
        if self.restart not in RESTARTS:
            raise ValueError(f"restart must be one of {', '.join(RESTARTS)}, "
                             f"got {self.restart!r}")
        for name in ("plateau", "restart_after", "pool_size", "chunk", "bound"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer")
        check_symmetry(self.symmetry)
        check_involution(self.symmetry, self.involution)
        if self.plus_slack < 0:
            raise ValueError("plus_slack must be ≥ 0")
        if self.sandwich < 0 or self.split < 0:
            raise ValueError("sandwich and split must be ≥ 0")
        if (self.sandwich or self.split) and (self.symmetric or self.restart not in ("pool", "start")):
            raise ValueError("sandwich and split apply at the restarts of 'pool' and 'start' "
                             "walks, not symmetric ones")
        if self.guard and self.restart == "population":
            raise ValueError("guard applies to 'pool', 'start' and 'stepdown' walks")
        if self.release_after < 0 or (self.release_after and not self.symmetric):
            raise ValueError("release_after is a number of flips ≥ 0 of a symmetric walk")


class Walker:
    """One scheme on the flip graph of its ring, in the kernels' arrays."""

    def __init__(self, scheme: Scheme, ring: str, cap: int, seed: int, bound: int = 1,
                 dependent: bool = False) -> None:
        packing.check_searchable(scheme, ring)
        self.ring = ring
        self.like = scheme
        self.cap = int(cap)
        self.rng = make_rng(seed)
        self.bound = max(int(bound), int(scheme.max_abs_coefficient()))
        self.dependent = bool(dependent)
        # over Z with coefficients in {-1, 0, 1}, or over Z3 (sums taken mod 3):
        # the bit-packed ternary kernels
        self.mod3 = ring == "Z3"
        self.ternary = self.mod3 or (ring == "Z" and self.bound == 1
                                     and max(scheme.sizes) <= packing.MAX_BITS)
        self.state = np.zeros(2, dtype=np.int64)
        self.pairs = np.zeros((3, flips_z2.max_pairs(self.cap), 2), dtype=np.int32)
        self.npairs = np.zeros(3, dtype=np.int64)
        self.load(scheme)

    # ----------------------------------------------------------- state
    def load(self, scheme: Scheme) -> None:
        """Start walking from ``scheme`` (reduced first: zero terms, merges)."""
        if self.ring == "Z2":
            self.X = packing.pack_z2(scheme, self.cap)
            rank = flips_z2.reduce_all(self.X, scheme.rank)
            flips_z2.rebuild_pairs(self.X, rank, self.pairs, self.npairs)
        elif self.ternary:
            self.X = packing.pack_zt(scheme, self.cap)
            rank = flips_zt.reduce_all(self.X[0], self.X[1], scheme.rank, self.mod3)
            flips_zt.rebuild_pairs(self.X[0], self.X[1], rank, self.pairs, self.npairs)
        else:
            self.X, self.sizes = packing.pack_z(scheme, self.cap)
            self.K = np.zeros((3, self.cap), dtype=np.uint64)
            self.G = np.zeros((3, self.cap), dtype=np.int8)
            flips_z.normalize_all(self.X, self.sizes, self.K, self.G, scheme.rank)
            rank = flips_z.reduce_all(self.X, self.sizes, self.K, self.G, scheme.rank, self.bound)
            flips_z.rebuild_pairs(self.X, self.sizes, self.K, self.G, rank, self.pairs,
                                  self.npairs)
        self.state[:] = (rank, 0)

    @property
    def rank(self) -> int:
        return int(self.state[0])

    def snapshot(self) -> tuple[np.ndarray, int]:
        """A copy of the current factors and rank."""
        return self.X.copy(), self.rank

    def restore(self, snap: tuple[np.ndarray, int]) -> None:
        """Continue from a :meth:`snapshot`."""
        X, rank = snap
        self.X[...] = X
        if self.ring == "Z2":
            flips_z2.rebuild_pairs(self.X, rank, self.pairs, self.npairs)
        elif self.ternary:
            flips_zt.rebuild_pairs(self.X[0], self.X[1], rank, self.pairs, self.npairs)
        else:
            flips_z.normalize_all(self.X, self.sizes, self.K, self.G, rank)
            flips_z.rebuild_pairs(self.X, self.sizes, self.K, self.G, rank, self.pairs,
                                  self.npairs)
        self.state[:] = (rank, 0)

    def unpack(self, snap: tuple[np.ndarray, int]) -> Scheme:
        """The scheme of a :meth:`snapshot` (not verified here)."""
        X, rank = snap
        if self.ring == "Z2":
            return packing.unpack_z2(X, rank, self.like)
        if self.ternary:
            return packing.unpack_zt(X, rank, self.like, "Z3" if self.mod3 else "Z")
        return packing.unpack_z(X, self.sizes, rank, self.like)

    def scheme(self) -> Scheme:
        """The current scheme (not verified here)."""
        return self.unpack((self.X, self.rank))

    # ----------------------------------------------------------- moves
    def run(self, max_flips: int, *, plateau: int, max_rank: int, stop_below: int = 0,
            target: int = 0) -> tuple[int, int]:
        """Up to ``max_flips`` flips; returns ``(flips made, kernel code)``
        (see :func:`.flips_z2.walk`)."""
        if self.ring == "Z2":
            flips, code = flips_z2.walk(self.X, self.state, self.pairs, self.npairs, self.rng,
                                        int(max_flips), int(plateau), int(max_rank),
                                        int(stop_below), int(target), self.dependent)
        elif self.ternary:
            flips, code = flips_zt.walk(self.X[0], self.X[1], self.state, self.pairs, self.npairs,
                                        self.rng, int(max_flips), int(plateau), int(max_rank),
                                        int(stop_below), int(target), self.mod3)
        else:
            flips, code = flips_z.walk(self.X, self.sizes, self.K, self.G, self.state,
                                       self.pairs, self.npairs, self.rng, int(max_flips),
                                       int(plateau), int(max_rank), int(stop_below),
                                       int(target), self.bound)
        return int(flips), int(code)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a search found.

    Attributes:
      scheme: the best scheme, verified exactly in the search's ring.
      pool: distinct verified schemes at the best rank (``scheme`` first);
        only ``scheme`` when the walk was over Z2 for Z results (lifting).
      start_rank: the input's rank.
      flips: flips made in all.
      seconds: wall time.
      restarts: walks restarted from the pool.
      reached_target: True when a target rank was given and reached.
      history: ``(rank, flips, seconds)`` each time the best rank fell.
      walk_rank: the lowest rank the walk reached (over Z2 when lifting).
      walks: one ``(start rank, rank, walk rank, flips, seconds)`` per walk from
        a start: one for :func:`search`; with several workers or starts, one per
        worker and start, in worker order (so a run shows where each start went,
        not only the best).
    """

    scheme: Scheme
    pool: tuple[Scheme, ...]
    start_rank: int
    flips: int
    seconds: float
    restarts: int
    reached_target: bool
    history: tuple[tuple[int, int, float], ...]
    walk_rank: int
    walks: tuple[tuple[int, int, int, int, float], ...] = ()


ProgressFn = Callable[[int, int, float], None]


def _as_ring(scheme: Scheme, ring: str) -> Scheme:
    """``scheme`` read in ``ring``; ``ValueError`` unless it is valid there."""
    check = tensors.verify(scheme, ring)
    if not check.valid:
        raise ValueError(f"the starting scheme is not valid over {ring}: {check.describe()}")
    if scheme.ring == ring:
        return scheme
    return Scheme(scheme.u, scheme.v, scheme.w, ring=ring, shape=scheme.shape,
                  target=scheme.target)


METHODS = ("auto", "flips", "lift", "lift3")


def search(scheme: Scheme, *, ring: str | None = None, target_rank: int | None = None,
           time_limit: float | None = None, max_flips: int | None = None, seed: int = 0,
           method: str = "auto", lift: bool = False, config: SearchConfig | None = None,
           progress: ProgressFn | None = None,
           stop: Callable[[], bool] | None = None, fill_pool: bool = False) -> SearchResult:
    """Flip-graph search from ``scheme``; the result is verified in ``ring``.

    Args:
      scheme: the start, valid in ``ring`` (or over Z2 when ``lift``).
      ring: the ring of the result (default: the scheme's own).
      target_rank: stop as soon as the result's rank is at most this.
      time_limit, max_flips: stop after this many seconds / flips (at least one
        must be given).
      seed: fixes the walk.
      method: over Z, ``"flips"`` walks the flip graph over Z (coefficients
        within ``config.bound``); ``"lift"`` walks over Z2 and keeps the schemes
        that Hensel-lift to integer schemes (:mod:`.lifting`); ``"lift3"`` the
        same over Z3; ``"auto"`` is ``"lift"`` (``"flips"`` for factors of more
        than 64 rows).  Over Z2 or Z3 the walk is in that ring whatever the method.
      lift: walk over Z2 from a Z2 scheme and return Z schemes that lift
        (``ring`` must be ``"Z2"`` or ``None``; the result's ring is Z, and
        the start counts only if it is valid over Z as it stands).
      config: walk parameters.
      progress: ``progress(best_rank, flips, seconds)`` after every chunk.
      stop: ``stop()`` after every chunk; True ends the search there (another
        walker reached the target), with the best found so far.
      fill_pool: with ``config.restart="stepdown"``, go on after reaching the
        target rank until the pool at the lowest rank reached holds
        ``config.pool_size`` distinct schemes (a harvest; ``pool`` returns them).

    Raises ``ValueError`` when the scheme is not valid in its ring or cannot be
    searched (denominators; over Z2 more than 64 rows per factor).
    """
    if time_limit is None and max_flips is None:
        raise ValueError("give a time limit or a number of flips")
    if config is not None and config.release_after:
        return _released(scheme, dict(ring=ring, target_rank=target_rank, seed=seed,
                                      method=method, lift=lift), config, time_limit, max_flips,
                         progress, stop)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    cfg = config or SearchConfig()
    ring = ring or scheme.ring
    if method == "auto":
        method = "lift" if max(scheme.sizes) <= packing.MAX_BITS else "flips"
    via = {"lift": "Z2", "lift3": "Z3"}.get(method) if ring == "Z" else None
    packing.check_searchable(scheme, "Z2" if lift else via or ring)
    accept: Callable[[Scheme], Scheme | None] | None = None
    if lift:
        if ring != "Z2":
            raise ValueError("lift=True walks over Z2: give a Z2 scheme (ring='Z2')")
        walk_start = _as_ring(scheme, "Z2")
        as_z = walk_start.replace(ring="Z")
        best = as_z if tensors.verify(as_z, "Q").valid else None
        accept = _lift_integral
    elif via is not None:
        best = _as_ring(scheme, "Z")
        walk_start = _as_ring(best, via)
        accept = _lift_integral
    else:
        walk_start = best = _as_ring(scheme, ring)
    walk_ring = walk_start.ring
    target = -1 if target_rank is None else int(target_rank)
    t0 = time.monotonic()
    deadline = None if time_limit is None else t0 + float(time_limit)
    cap = walk_start.rank + cfg.plus_slack + 2 + cfg.split
    if cfg.symmetric and walk_ring != "Z2":
        raise ValueError("symmetric walks are over Z2: use ring Z2, or Z with lifting")
    if cfg.symmetric and cfg.symmetry == 2 and cfg.involution == "transpose":
        from .tau import TauWalker  # the fixed terms move too

        def make_walker(walker_seed: int):
            return TauWalker(walk_start, walk_ring, cap, walker_seed)
    elif cfg.symmetric:
        from .symmetric import SymmetricWalker

        def make_walker(walker_seed: int):
            return SymmetricWalker(walk_start, walk_ring, cap, walker_seed,
                                   sampling=SAMPLINGS.index(cfg.sampling),
                                   symmetry=cfg.symmetry,
                                   involution_name=cfg.involution)
    else:
        def make_walker(walker_seed: int):
            return Walker(walk_start, walk_ring, cap, walker_seed, cfg.bound, cfg.dependent)
    walker = make_walker(seed)
    picker = np.random.default_rng(seed)
    walk_best = walk_start.rank
    fresh = walker.snapshot()
    pool: list[tuple[np.ndarray, int]] = [fresh]
    pool_best: list[Scheme] = []
    if best is None or walker.rank < walk_best:  # the start itself reduced on loading
        walk_best = min(walk_best, walker.rank)
        found = _checked(walker.scheme(), walk_ring)
        got = accept(found) if accept else found
        if got is not None and (best is None or got.rank < best.rank):
            best = got
    if best is None:  # lift=True and nothing lifts yet: the rank to beat is unbounded
        best_rank = walk_start.rank + 1
    else:
        best_rank = best.rank
    history: list[tuple[int, int, float]] = [(best_rank, 0, 0.0)] if best is not None else []
    flips = restarts = since_best = since_try = 0
    guard = cfg.guard
    if guard and accept is None:
        raise ValueError("guard keeps a walk among the schemes that lift: it needs ring 'Z' "
                         "with method 'lift' or 'lift3', or lift=True")
    run_best = walk_best  # the best rank of this run (the same as walk_best with restart="pool")
    admit = (lambda s: accept(_checked(s, walk_ring))) if guard else None
    ladder = _Ladder(walker, cfg, picker, admit) if cfg.restart == "stepdown" else None
    population = _Population(walker, make_walker, seed, cfg, picker) \
        if cfg.restart == "population" else None
    if fill_pool and ladder is None:
        raise ValueError("fill_pool needs config.restart='stepdown'")
    while best_rank > target or (fill_pool and not ladder.full()):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if max_flips is not None and flips >= max_flips:
            break
        if stop is not None and stop():
            break
        if population is not None:
            walker, run_best = population.walker, population.run_best
            since_best = 0
        n = min(cfg.chunk, cfg.restart_after - since_best)
        if max_flips is not None:
            n = min(n, max_flips - flips)
        kernel_target = target if walk_best > target else -1
        made, code = walker.run(n, plateau=cfg.plateau, max_rank=run_best + cfg.plus_slack,
                                stop_below=run_best, target=kernel_target)
        flips += made
        since_best += made
        since_try += made
        if population is not None:
            if walker.rank < run_best and walker.rank < best_rank:  # a walker improved
                walk_best = min(walk_best, walker.rank)
                found = _checked(walker.scheme(), walk_ring)
                got = accept(found) if accept else found
                if got is not None and got.rank < best_rank:
                    best, best_rank = got, got.rank
                    history.append((best_rank, flips, time.monotonic() - t0))
            restarts += population.after(made, code)
            if progress is not None:
                progress(best_rank, flips, time.monotonic() - t0)
            continue
        if ladder is not None:
            if walker.rank < ladder.level or code == flips_z2.STUCK or \
                    since_best >= cfg.restart_after:
                if walker.rank > ladder.level and code != flips_z2.STUCK:
                    # a plus transition left the walk above the level: walk on until it
                    # is back (or as long again), so that the walk's scheme can count
                    more = cfg.restart_after if max_flips is None else \
                        min(cfg.restart_after, max(max_flips - flips, 0))
                    made, code = walker.run(more, plateau=cfg.plateau,
                                            max_rank=ladder.level + cfg.plus_slack,
                                            stop_below=ladder.level + 1, target=kernel_target)
                    flips += made
                rank = walker.rank
                walk_best = min(walk_best, rank)
                kept = ladder.keep(walker, made_at=flips)
                if kept is not None and rank < best_rank:
                    if guard:
                        got = kept  # the ladder's admit lifted it
                    else:
                        found = _checked(kept, walk_ring)
                        got = accept(found) if accept else found
                    if got is not None and got.rank < best_rank:
                        best, best_rank = got, got.rank
                        history.append((best_rank, flips, time.monotonic() - t0))
                ladder.next_walk(walker, flips)
                run_best = ladder.level
                restarts += 1
                since_best = 0
            if progress is not None:
                progress(best_rank, flips, time.monotonic() - t0)
            continue
        tried = False
        lifted = None  # the guard's lift of a new low
        if guard and walker.rank < walk_best:
            lifted = admit(walker.scheme())
            if lifted is None:  # a new low outside the schemes that lift: undo it
                walker.restore(pool[int(picker.integers(len(pool)))])
                restarts += 1
                run_best, since_best = walker.rank, 0
        if walker.rank < run_best:
            run_best = walker.rank
            since_best = 0
        if walker.rank < walk_best:
            walk_best = walker.rank
            pool = [walker.snapshot()]
            tried = True
        elif accept is not None and walker.rank < best_rank and since_try >= cfg.restart_after:
            tried = True  # at a rank that did not lift yet: try the scheme the walk is on now
        if tried:
            since_try = 0
            if lifted is not None:
                got = lifted
            else:
                found = _checked(walker.scheme(), walk_ring)
                got = accept(found) if accept else found
            if got is not None and got.rank < best_rank:
                best, best_rank = got, got.rank
                history.append((best_rank, flips, time.monotonic() - t0))
        if code == flips_z2.STUCK or since_best >= cfg.restart_after:
            if walker.rank == walk_best and (
                    not guard or admit(walker.scheme()) is not None):
                _add_to_pool(pool, walker.snapshot(), cfg.pool_size, picker)
            if cfg.restart == "start":
                walker.restore(fresh)
            else:
                walker.restore(pool[int(picker.integers(len(pool)))])
            if cfg.sandwich or cfg.split:
                _perturb(walker, cfg, picker)
            run_best = walker.rank
            restarts += 1
            since_best = 0
        if progress is not None:
            progress(best_rank, flips, time.monotonic() - t0)
    if ladder is not None:
        ladder.keep(walker, made_at=flips)
        pool = ladder.lowest()
    elif population is not None:
        pool = population.at_best(walk_best)
    elif walker.rank == walk_best:
        _add_to_pool(pool, walker.snapshot(), cfg.pool_size, picker)
    if best is None:
        raise LiftError("no scheme found lifts to Z", _distinct(
            [walker.unpack(snap) for snap in pool], walk_ring))
    if accept is None:
        pool_best = _distinct([best] + [walker.unpack(snap) for snap in pool], ring)
    else:
        pool_best = [best]
    seconds = time.monotonic() - t0
    return SearchResult(scheme=best, pool=tuple(pool_best), start_rank=scheme.rank,
                        flips=flips, seconds=seconds, restarts=restarts,
                        reached_target=target >= 0 and best_rank <= target,
                        history=tuple(history), walk_rank=walk_best,
                        walks=((scheme.rank, best.rank, walk_best, flips, round(seconds, 3)),))


def _released(scheme: Scheme, how: dict, cfg: SearchConfig, time_limit: float | None,
              max_flips: int | None, progress: ProgressFn | None,
              stop: Callable[[], bool] | None) -> SearchResult:
    """:func:`search` with ``cfg.release_after``: the symmetric walk for that many
    flips, then the plain walk from its best scheme for the rest of the budget."""
    t0 = time.monotonic()
    first = search(scheme, time_limit=time_limit, config=dataclasses.replace(cfg, release_after=0),
                   max_flips=cfg.release_after if max_flips is None else
                   min(max_flips, cfg.release_after), progress=progress, stop=stop, **how)
    spent = time.monotonic() - t0
    left_s = None if time_limit is None else time_limit - spent
    left_f = None if max_flips is None else max_flips - first.flips
    if (first.reached_target or first.flips < cfg.release_after or (stop is not None and stop())
            or (left_s is not None and left_s <= 0) or (left_f is not None and left_f <= 0)):
        return first

    def later(rank: int, flips: int, seconds: float) -> None:
        progress(rank, first.flips + flips, spent + seconds)

    then = search(first.scheme, time_limit=left_s, max_flips=left_f,
                  config=SearchConfig(chunk=cfg.chunk), stop=stop,
                  progress=None if progress is None else later, **how)
    best = then if then.scheme.rank < first.scheme.rank else first
    history = list(first.history) + [(r, first.flips + f, spent + t) for r, f, t in then.history
                                     if r < first.scheme.rank]
    seconds = time.monotonic() - t0
    return SearchResult(scheme=best.scheme, pool=best.pool, start_rank=scheme.rank,
                        flips=first.flips + then.flips, seconds=seconds,
                        restarts=first.restarts + then.restarts,
                        reached_target=then.reached_target, history=tuple(history),
                        walk_rank=min(first.walk_rank, then.walk_rank),
                        walks=first.walks + then.walks)


class _Ladder:
    """The rank-by-rank pool of ``restart="stepdown"``: distinct schemes
    (snapshots) per rank, and the level the walks start from."""

    def __init__(self, walker, cfg: SearchConfig, picker: np.random.Generator,
                 admit: Callable[[Scheme], Scheme | None] | None = None) -> None:
        self.cfg = cfg
        self.picker = picker
        self.admit = None  # the start joins its pool as it is
        self.level = walker.rank
        self.pools: dict[int, list[tuple[np.ndarray, int]]] = {}
        self.keys: dict[int, set[str]] = {}
        self.level_since = 0  # flips count when the walks began at this level
        self.down = self.stuck = 0  # walks from this level that went below it / did not
        self.keep(walker, made_at=0)
        self.admit = admit  # with the guard: the lift a scheme needs to join a pool

    def keep(self, walker, made_at: int) -> Scheme | None:
        """Add the walker's scheme to the pool of its rank when that is at most
        the level, distinct, admitted (with the guard: it lifts) and the pool has
        room.  Returns the scheme that was added (with the guard: its lift), or
        None."""
        rank = walker.rank
        if rank > self.level:
            return None
        pool = self.pools.setdefault(rank, [])
        if len(pool) >= self.cfg.pool_size:
            return None
        snap = walker.snapshot()
        scheme = walker.unpack(snap)
        key = tensors.canonical_hash(scheme)  # as the result's pool dedupes
        seen = self.keys.setdefault(rank, set())
        if key in seen:
            return None
        seen.add(key)
        if self.admit is not None:
            scheme = self.admit(scheme)
            if scheme is None:
                return None
        pool.append(snap)
        return scheme

    def next_walk(self, walker, flips: int) -> None:
        """Move the level down when a pool below is full (or this level has had
        its share of flips and a pool below holds anything), then restore a
        random scheme of the level's pool."""
        if walker.rank < self.level:
            self.down += 1
        else:
            self.stuck += 1
        below = [r for r in self.pools if r < self.level and self.pools[r]]
        full = [r for r in below if len(self.pools[r]) >= self.cfg.pool_size]
        spent = flips - self.level_since >= self.cfg.pool_size * self.cfg.restart_after
        easy = self.cfg.fast_descent and self.down > self.stuck   # descend at once
        if full or (below and (spent or easy)):
            self.level = min(full) if full else min(below)
            self.level_since = flips
            self.down = self.stuck = 0
            for r in [r for r in self.pools if r > self.level]:
                del self.pools[r], self.keys[r]
        pool = self.pools[self.level]
        walker.restore(pool[int(self.picker.integers(len(pool)))])

    def full(self) -> bool:
        """Whether the pool at the lowest rank held has ``pool_size`` schemes."""
        return len(self.lowest()) >= self.cfg.pool_size

    def lowest(self) -> list[tuple[np.ndarray, int]]:
        """The pool at the lowest rank held."""
        return self.pools[min(r for r in self.pools if self.pools[r])]


class _Population:
    """``restart="population"``: ``pool_size`` walkers in one process taking turns
    of ``chunk`` flips.  Each remembers the scheme at which it last improved on
    its own best; after ``10 · restart_after`` flips without improving it resets
    there; every ``restart_after`` flips of each walker, the walkers whose best
    is behind the population's copy the scheme of a walker at the best rank."""

    def __init__(self, first, make, seed: int, cfg: SearchConfig,
                 picker: np.random.Generator) -> None:
        self.cfg = cfg
        self.picker = picker
        size = cfg.pool_size
        self.walkers = [first] + [make(seed + 0x9E3779B1 * (i + 1)) for i in range(size - 1)]
        self.best = [w.rank for w in self.walkers]
        self.marks = [w.snapshot() for w in self.walkers]
        self.since = [0] * size
        self.turn = 0
        self.round_flips = 0

    @property
    def walker(self):
        return self.walkers[self.turn]

    @property
    def run_best(self) -> int:
        return self.best[self.turn]

    def after(self, made: int, code: int) -> int:
        """Book the turn that just ran and pass to the next walker; the number of
        resets and copies made."""
        i, w = self.turn, self.walker
        moves = 0
        self.since[i] += made
        if w.rank < self.best[i]:
            self.best[i], self.marks[i], self.since[i] = w.rank, w.snapshot(), 0
        elif code == flips_z2.STUCK or self.since[i] >= 10 * self.cfg.restart_after:
            w.restore(self.marks[i])
            self.since[i] = 0
            moves += 1
        self.round_flips += made
        self.turn = (i + 1) % len(self.walkers)
        if self.round_flips >= self.cfg.restart_after * len(self.walkers):
            self.round_flips = 0
            top = min(self.best)
            leaders = [j for j, b in enumerate(self.best) if b == top]
            for j, b in enumerate(self.best):
                if b > top:
                    k = leaders[int(self.picker.integers(len(leaders)))]
                    self.walkers[j].restore(self.marks[k])
                    self.best[j], self.marks[j], self.since[j] = top, self.walkers[j].snapshot(), 0
                    moves += 1
        return moves

    def at_best(self, rank: int) -> list[tuple[np.ndarray, int]]:
        """Snapshots of the walkers now at ``rank`` (their marks when none is)."""
        now = [w.snapshot() for w in self.walkers if w.rank == rank]
        return now or [m for m, b in zip(self.marks, self.best) if b == rank]


class LiftError(ValueError):
    """A search with ``lift=True`` found no scheme that lifts; ``.schemes`` holds
    the verified Z2 schemes at the best rank the walk reached."""

    def __init__(self, message: str, schemes: list[Scheme]) -> None:
        super().__init__(message)
        self.schemes = tuple(schemes)


def _lift_integral(scheme: Scheme) -> Scheme | None:
    """The Hensel lift of a Z2 or Z3 scheme when it is an integer scheme, else None."""
    from .lifting import lift

    res = lift(scheme, prime=tensors.modulus(scheme.ring))
    if res.scheme is not None and res.scheme.is_integral:
        return res.scheme
    return None


def _perturb(walker: Walker, cfg: SearchConfig, picker: np.random.Generator) -> None:
    """A restart's sandwich and splits (:mod:`.moves`), applied to the walker's scheme."""
    from . import moves

    scheme = walker.scheme()
    if cfg.sandwich and scheme.shape is not None:
        scheme = moves.sandwich(scheme, picker, cfg.sandwich, bound=walker.bound)
    room = walker.cap - scheme.rank - cfg.plus_slack - 2   # what plus transitions need kept
    if cfg.split and room > 0:
        scheme = moves.split(scheme, picker, walker.bound, min(cfg.split, room))
    walker.load(scheme)


def _checked(scheme: Scheme, ring: str) -> Scheme:
    """``scheme`` after an exact check; a failure here is a bug in the kernels."""
    check = tensors.verify(scheme, ring)
    if not check.valid:
        raise AssertionError(f"local search produced an invalid scheme: {check.describe()}")
    return scheme


def _add_to_pool(pool: list, snap: tuple[np.ndarray, int], size: int,
                 picker: np.random.Generator) -> None:
    if any(np.array_equal(snap[0], other[0]) for other in pool):
        return
    if len(pool) < size:
        pool.append(snap)
    else:
        pool[int(picker.integers(len(pool)))] = snap


def _distinct(schemes: list[Scheme], ring: str) -> list[Scheme]:
    """Verified schemes without repeats (by canonical form), order kept."""
    seen: set[str] = set()
    out = []
    for s in schemes:
        h = tensors.canonical_hash(s)
        if h not in seen:
            seen.add(h)
            out.append(_checked(s, ring))
    return out
