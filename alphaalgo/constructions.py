"""Moves between shapes: new schemes from schemes of other shapes.

* :func:`project` — drop one row index of A, one shared index, or one column
  of B (⟨n,m,p⟩ → ⟨n-1,m,p⟩ and so on): the factors lose the rows of that
  index and terms that become zero are dropped, so the rank never grows.
* :func:`merge` — two schemes side by side along one axis,
  ⟨n,m,p₁⟩ ⊕ ⟨n,m,p₂⟩ → ⟨n,m,p₁+p₂⟩ (and along n or m): rank R₁ + R₂.
* :func:`extend` — one more index along an axis: merge with the schoolbook
  scheme of the thin shape (⟨n,m,1⟩ has rank n·m).
* :func:`tensors.kron` — the product (exists).
* :func:`as_shape` — a scheme of a permutation of the shape (rank is the same
  for all six, through :func:`tensors.rotate` and :func:`tensors.transpose`).

:func:`by_kind` tries all of these on a set of schemes and returns the
lowest-rank scheme of a wanted shape each kind of move makes;
:func:`best_construction` the lowest of them.  Every result is a valid scheme in
its inputs' ring; the callers verify before they store or write.

The tensor indexes ``a_ij ⊗ b_jk ⊗ c_ki``: u's row ``i*m+j``, v's ``j*p+k``,
w's ``k*n+i``.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Sequence

import numpy as np

from . import tensors
from .tensors import Scheme, Shape

AXES = ("n", "m", "p")


def _axis(axis: str | int) -> int:
    if axis in AXES:
        return AXES.index(axis)  # type: ignore[arg-type]
    if axis in (0, 1, 2):
        return int(axis)
    raise ValueError(f"axis must be one of n, m, p (or 0, 1, 2), got {axis!r}")


def _matmul(scheme: Scheme) -> Shape:
    if scheme.shape is None:
        raise ValueError("moves between shapes need matmul schemes (a shape)")
    if scheme.imag is not None:
        raise ValueError("moves between shapes do not support Gaussian schemes")
    return scheme.shape


def _rows(shape: Shape, keep: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of u, v, w kept when index sets ``keep = (I, J, K)`` are kept."""
    n, m, p = shape
    i, j, k = keep
    return ((i[:, None] * m + j[None, :]).ravel(), (j[:, None] * p + k[None, :]).ravel(),
            (k[:, None] * n + i[None, :]).ravel())


def project(scheme: Scheme, axis: str | int, index: int) -> Scheme:
    """The scheme of the shape with ``index`` dropped along ``axis`` (n: a row
    of A and C, m: the shared index, p: a column of B and C); zero terms dropped."""
    shape = _matmul(scheme)
    a = _axis(axis)
    if shape[a] < 2 or not 0 <= index < shape[a]:
        raise ValueError(f"cannot drop index {index} along {AXES[a]} of ⟨{shape[0]},{shape[1]},"
                         f"{shape[2]}⟩")
    keep = [np.arange(d) for d in shape]
    keep[a] = np.delete(keep[a], index)
    ru, rv, rw = _rows(shape, keep)
    new = list(shape)
    new[a] -= 1
    out = Scheme(scheme.u[ru], scheme.v[rv], scheme.w[rw], ring=scheme.ring, shape=tuple(new),
                 denominators=scheme.denominators)
    return tensors.drop_zero_terms(out)


def _embed(scheme: Scheme, big: Shape, offset: Sequence[int]) -> tuple[np.ndarray, ...]:
    """The factors of ``scheme`` as factors of the shape ``big``, its indices
    shifted by ``offset`` along (n, m, p)."""
    shape = _matmul(scheme)
    n, m, p = big
    i = np.arange(shape[0]) + offset[0]
    j = np.arange(shape[1]) + offset[1]
    k = np.arange(shape[2]) + offset[2]
    rows = _rows((n, m, p), (i, j, k))
    out = []
    for mat, r, size in zip((scheme.u, scheme.v, scheme.w), rows, (n * m, m * p, p * n)):
        full = np.zeros((size, mat.shape[1]), dtype=np.int64)
        full[r] = mat
        out.append(full)
    return tuple(out)


def merge(a: Scheme, b: Scheme, axis: str | int) -> Scheme:
    """``a`` and ``b`` side by side along ``axis``: their shapes must agree on
    the other two sizes; the rank is the sum."""
    sa, sb = _matmul(a), _matmul(b)
    x = _axis(axis)
    if any(sa[k] != sb[k] for k in range(3) if k != x):
        raise ValueError(f"⟨{sa[0]},{sa[1]},{sa[2]}⟩ and ⟨{sb[0]},{sb[1]},{sb[2]}⟩ do not "
                         f"agree off the {AXES[x]} axis")
    if a.ring != b.ring:
        raise ValueError(f"cannot merge a {a.ring} scheme with a {b.ring} scheme")
    if a.denominators != (1, 1, 1) or b.denominators != (1, 1, 1):
        raise ValueError("merge needs integer schemes")
    big = list(sa)
    big[x] = sa[x] + sb[x]
    offset = [0, 0, 0]
    offset[x] = sa[x]
    fa = _embed(a, tuple(big), (0, 0, 0))
    fb = _embed(b, tuple(big), offset)
    return Scheme(*(np.concatenate([x1, x2], axis=1) for x1, x2 in zip(fa, fb)),
                  ring=a.ring, shape=tuple(big))


def extend(scheme: Scheme, axis: str | int) -> Scheme:
    """One more index along ``axis``: merged with the schoolbook scheme of the
    thin shape (rank + the product of the other two sizes)."""
    shape = list(_matmul(scheme))
    shape[_axis(axis)] = 1
    return merge(scheme, tensors.naive_scheme(*shape, ring=scheme.ring), axis)


def as_shape(scheme: Scheme, shape: Sequence[int]) -> Scheme:
    """The scheme moved to ``shape``, a permutation of its own shape (rotations
    and transposition keep the rank)."""
    want = tuple(int(x) for x in shape)
    have = _matmul(scheme)
    if sorted(want) != sorted(have):
        raise ValueError(f"⟨{want}⟩ is not a permutation of ⟨{have}⟩")
    s = scheme
    for flip in (False, True):
        t = tensors.transpose(s) if flip else s
        for _ in range(3):
            if t.shape == want:
                return t
            t = tensors.rotate(t)
    raise AssertionError("unreachable: the six permutations were all tried")


def _fits(small: Shape, big: Shape) -> bool:
    return all(x <= y for x, y in zip(small, big))


def shrink(scheme: Scheme, shape: Sequence[int]) -> Scheme:
    """``scheme`` projected down to ``shape`` (each size at most the scheme's),
    dropping at each step the index whose removal leaves the fewest terms."""
    want = tuple(int(x) for x in shape)
    s = scheme
    while _matmul(s) != want:
        best = None
        for a in range(3):
            if s.shape[a] == want[a]:
                continue
            for idx in range(s.shape[a]):
                cand = project(s, a, idx)
                if best is None or cand.rank < best.rank:
                    best = cand
        assert best is not None
        s = best
    return s


def best_construction(shape: Sequence[int], schemes: Iterable[Scheme],
                      ring: str) -> Scheme | None:
    """The lowest-rank scheme of ``shape`` in ``ring`` that one move makes from
    ``schemes`` (any shapes, used in every orientation): a scheme of the shape
    itself, a projection of a larger one, two smaller ones merged along an
    axis, a smaller one extended, or the tensor product of two whose shapes
    multiply to it (⟨2,2,2⟩ 7 ⊗ ⟨3,3,3⟩ 23 = ⟨6,6,6⟩ 161); ``None`` when none
    applies."""
    starts = walk_starts(shape, schemes, ring)
    return starts[0] if starts else None


def walk_starts(shape: Sequence[int], schemes: Iterable[Scheme], ring: str) -> list[Scheme]:
    """The starts a walk on ``shape`` takes from ``schemes``: the lowest-rank
    construction (:func:`best_construction`), then the best projection of a larger
    scheme when that is another scheme; empty when no move applies."""
    found = by_kind(shape, schemes, ring)
    if not found:
        return []
    low = min(found.values(), key=lambda s: s.rank)
    projection = found.get("projection")
    return [low] + ([projection] if projection is not None and projection is not low else [])


KINDS = ("own", "projection", "merge", "extension", "product")
"""The moves :func:`by_kind` tries, in the order ties are broken."""


def by_kind(shape: Sequence[int], schemes: Iterable[Scheme], ring: str) -> dict[str, Scheme]:
    """The lowest-rank scheme of ``shape`` in ``ring`` that each kind of move
    (:data:`KINDS`) makes from ``schemes``; kinds that do not apply are absent.

    The lowest rank is not always the best start for a walk: a projection of a
    larger record (⟨5,5,5⟩ 93 → ⟨4,5,5⟩ 84) can walk down far below a lower-ranked
    merge (⟨4,5,5⟩ 80), so callers may walk from several (benchmarks/RESULTS.md)."""
    want = tuple(int(x) for x in shape)
    best: dict[Shape, Scheme] = {}  # the lowest rank per oriented shape
    for s in schemes:
        if s.shape is None or s.imag is not None or s.ring != ring or not s.is_integral:
            continue
        for perm in set(itertools.permutations(s.shape)):
            if perm in best and best[perm].rank <= s.rank:
                continue
            t = as_shape(s, perm)
            if _fits(perm, want) or _fits(want, perm):
                best[perm] = t
    found: dict[str, list[Scheme]] = {kind: [] for kind in KINDS}
    for perm, s in best.items():
        if perm == want:
            found["own"].append(s)
        elif _fits(want, perm):
            found["projection"].append(shrink(s, want))
    for x in range(3):
        for perm, s in best.items():
            other = list(want)
            other[x] = want[x] - perm[x]
            if any(perm[k] != want[k] for k in range(3) if k != x) or other[x] < 1:
                continue
            partner = best.get(tuple(other))  # type: ignore[arg-type]
            if partner is not None:
                found["merge"].append(merge(s, partner, x))
            if other[x] == 1:
                found["extension"].append(extend(s, x))
    for (pa, a), (pb, b) in itertools.product(best.items(), repeat=2):
        if all(x * y == w for x, y, w in zip(pa, pb, want)):
            found["product"].append(tensors.kron(a, b))
    return {kind: min(got, key=lambda s: s.rank) for kind, got in found.items() if got}
