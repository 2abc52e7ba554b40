"""Starts from scratch: the engine's own schemes of smaller shapes, merged.

From the schoolbook scheme, the flip walk of some shapes makes no reduction at
all in 2·10⁷ flips (⟨2,5,5⟩, ⟨3,4,5⟩, ⟨3,5,5⟩, ⟨4,4,5⟩, ⟨4,5,5⟩, ⟨5,5,5⟩, and
⟨2,4,5⟩ with the default plateau; benchmarks/RESULTS.md, fourteenth
session), while their halves walk down at once.  :func:`merged_start` builds
such a shape's start the way the engine would build it from a store of its
own results: split the largest index in two (⟨n,m,p⟩ = ⟨n,m,p₁⟩ ⊕ ⟨n,m,p₂⟩),
walk each half (recursively, when its own schoolbook walk makes no reduction
either) and merge the two results.  When the merge is stuck too,
:func:`projection_start` projects the engine's own walk of the cube on the
largest index down to the shape.  Nothing is read from the catalogue; the walks
are the caller's (``walk``, ``cube``), so the ring and the method are the caller's.
"""

from __future__ import annotations

from typing import Callable

from . import constructions, tensors
from .tensors import Scheme, Shape

#: ``walk(start, flips) -> scheme``: a verified scheme of the start's shape, of
#: rank at most the start's, after at most that many flips.
WalkFn = Callable[[Scheme, int], Scheme]


def walker(ring: str, seed: int, method: str = "auto") -> WalkFn:
    """The walk ``improve --shape`` probes and walks halves with: ``localsearch.search``
    over ``ring`` (the ring a scheme is held in: Z2, or Z, by lifting unless ``method``
    says otherwise), stopping early at the best known rank of the start's shape."""
    from . import localsearch, records

    def walk(start: Scheme, flips: int) -> Scheme:
        target = records.best_known_rank(start.shape, ring) or 0
        return localsearch.search(start, ring=ring, method=method, max_flips=flips,
                                  seed=seed, target_rank=target).scheme

    return walk


#: Flips of the schoolbook walk that decide whether a shape needs its halves.
PROBE_FLIPS = 2_000_000
#: Orbit flips of the symmetric walk on a cube whose projection is a start (about
#: 100 s on one core; ⟨5,5,5⟩ reaches 93 in 45–172 s in half the seeds).
CUBE_FLIPS = 300_000_000
#: Flips each half is walked for at most (it stops sooner at the caller's target;
#: ⟨2,3,5⟩ needs more than 2·10⁷ to reach 25 from its schoolbook scheme).
HALF_FLIPS = 100_000_000


def projection_start(shape: Shape, cube: Callable[[int], Scheme]) -> Scheme | None:
    """The engine's own scheme of the cube ⟨d,d,d⟩ on the largest index d
    (``cube(d)``, e.g. a symmetric walk) projected down to ``shape``, dropping
    the indices that leave the fewest terms; ``None`` when ``shape`` is that cube
    or d is below 4.  A merge of two halves at their records can sit on a
    plateau no walk leaves (⟨4,5,5⟩: 82, ⟨4,4,5⟩: 65), where a projection of a
    good ⟨5,5,5⟩ walks far lower (benchmarks/RESULTS.md, twelfth session)."""
    d = max(shape)
    if d < 4 or tuple(shape) == (d, d, d):
        return None
    return constructions.shrink(cube(d), shape)


def halves(shape: Shape) -> tuple[Shape, Shape, int] | None:
    """The two shapes whose merge along the largest index is ``shape``, and that
    axis (the last of equal largest); ``None`` when every index is below 4."""
    big = max(shape)
    if big < 4:
        return None
    axis = max(k for k in range(3) if shape[k] == big)
    a, b = list(shape), list(shape)
    a[axis], b[axis] = big // 2, big - big // 2
    return tuple(a), tuple(b), axis


def probe(shape: Shape, ring: str, walk: WalkFn, flips: int = PROBE_FLIPS) -> Scheme:
    """The schoolbook scheme of ``shape`` after a short walk (rank below n·m·p
    when the walk from it makes reductions)."""
    return walk(tensors.naive_scheme(*shape, ring=ring), flips)


def merged_start(shape: Shape, ring: str, walk: WalkFn, *, half_flips: int = HALF_FLIPS,
                 probe_flips: int = PROBE_FLIPS,
                 cache: dict[Shape, Scheme] | None = None) -> Scheme | None:
    """A start for ``shape`` merged from walked halves, or ``None`` when the
    shape has no index of 4 or more.  Each half is the walk of its schoolbook
    scheme when that probe makes a reduction, else of its own merged start
    (``cache`` keeps each half shape's scheme, so a shape is walked once)."""
    cut = halves(shape)
    if cut is None:
        return None
    cache = {} if cache is None else cache
    a, b, axis = cut
    return constructions.merge(_solve(a, ring, walk, half_flips, probe_flips, cache),
                               _solve(b, ring, walk, half_flips, probe_flips, cache), axis)


def _solve(shape: Shape, ring: str, walk: WalkFn, half_flips: int, probe_flips: int,
           cache: dict[Shape, Scheme]) -> Scheme:
    """A walked scheme of ``shape`` (cached by the sorted shape, oriented on return)."""
    key = tuple(sorted(shape))
    if key not in cache:
        first = probe(key, ring, walk, probe_flips)
        start = first
        if first.rank == key[0] * key[1] * key[2]:
            merged = merged_start(key, ring, walk, half_flips=half_flips,
                                  probe_flips=probe_flips, cache=cache)
            start = merged if merged is not None else first
        cache[key] = walk(start, half_flips)
    return constructions.as_shape(cache[key], shape)
