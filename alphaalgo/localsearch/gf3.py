"""Linear algebra over GF(3) on bit-packed rows: one elimination, many right-hand sides.

The counterpart of :mod:`.gf2` for the Hensel lifting of Z3 schemes.  An entry
of GF(3) is held in two bit planes, ``P`` (entries 1) and ``N`` (entries
2 ≡ −1), each packed 64 columns to a ``uint64`` word as in :mod:`.gf2`; a row
sum is a few word operations.  ``A (rows, cols)`` is eliminated once
(Gauss–Jordan, columns in order, each pivot scaled to 1) together with the
identity, which records the row operations ``M`` with ``M·A`` in reduced row
echelon form; each system ``A·x = b`` is then solved with free variables 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from .gf2 import pack_rows, packed_identity


@njit(cache=True, inline="always")
def _add(ap, an, bp, bn):
    """The planes of ``a + b`` mod 3 for words ``(ap, an)`` and ``(bp, bn)``."""
    a = ap | an
    b = bp | bn
    return (ap & ~b) | (bp & ~a) | (an & bn), (an & ~b) | (bn & ~a) | (ap & bp)


@njit(cache=True)
def _eliminate(P, N, ncols):
    """Gauss–Jordan on the first ``ncols`` columns of the planes ``P, N (rows,
    words)``, in place; returns the pivot columns in row order."""
    rows, words = P.shape
    pivots = np.empty(min(rows, ncols), dtype=np.int64)
    row = 0
    one = np.uint64(1)
    for col in range(ncols):
        if row == rows:
            break
        w = col >> 6
        b = one << np.uint64(col & 63)
        r = row
        while r < rows and ((P[r, w] | N[r, w]) & b) == 0:
            r += 1
        if r == rows:
            continue
        if r != row:
            for k in range(w, words):
                t = P[r, k]
                P[r, k] = P[row, k]
                P[row, k] = t
                t = N[r, k]
                N[r, k] = N[row, k]
                N[row, k] = t
        if N[row, w] & b:  # scale the pivot row by −1 so that its pivot is 1
            for k in range(w, words):
                t = P[row, k]
                P[row, k] = N[row, k]
                N[row, k] = t
        for r2 in range(rows):
            if r2 == row:
                continue
            if P[r2, w] & b:  # entry 1: subtract the pivot row (add its negative)
                for k in range(w, words):
                    P[r2, k], N[r2, k] = _add(P[r2, k], N[r2, k], N[row, k], P[row, k])
            elif N[r2, w] & b:  # entry −1: add the pivot row
                for k in range(w, words):
                    P[r2, k], N[r2, k] = _add(P[r2, k], N[r2, k], P[row, k], N[row, k])
        pivots[row] = col
        row += 1
    return pivots[:row]


@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True)
def _apply(MP, MN, rp, rn):
    """``M·r`` mod 3 for the planes of ``M (rows, words)`` and of ``r (words,)``:
    ``uint8 (rows,)`` with entries 0, 1, 2."""
    rows, words = MP.shape
    out = np.zeros(rows, dtype=np.uint8)
    for r in range(rows):
        plus = 0
        minus = 0
        for k in range(words):
            plus += _popcount(MP[r, k] & rp[k]) + _popcount(MN[r, k] & rn[k])
            minus += _popcount(MP[r, k] & rn[k]) + _popcount(MN[r, k] & rp[k])
        out[r] = np.uint8((plus + 2 * minus) % 3)
    return out


@dataclasses.dataclass(frozen=True)
class Eliminated:
    """A GF(3) matrix ``A (rows, cols)`` after elimination.

    Attributes:
      cols: number of unknowns.
      pivots: ``int64 (rank,)``, the pivot column of each of the first rows.
      ops_p, ops_n: ``uint64 (rows, words)``, the planes of the row operations ``M``.
    """

    cols: int
    pivots: np.ndarray
    ops_p: np.ndarray
    ops_n: np.ndarray

    @property
    def rank(self) -> int:
        return int(len(self.pivots))

    def solve(self, rhs: np.ndarray) -> np.ndarray | None:
        """A solution ``uint8 (cols,)`` (entries 0, 1, 2) of ``A·x = rhs`` mod 3
        (``rhs: (rows,)`` of integers) with free variables 0, or ``None``."""
        rhs = np.asarray(rhs) % 3
        rp = pack_rows((rhs == 1)[None, :])[0]
        rn = pack_rows((rhs == 2)[None, :])[0]
        t = _apply(self.ops_p, self.ops_n, rp, rn)
        if np.any(t[self.rank:]):
            return None
        x = np.zeros(self.cols, dtype=np.uint8)
        x[self.pivots] = t[:self.rank]
        return x


def eliminate(a: np.ndarray) -> Eliminated:
    """Eliminate ``a: (rows, cols)`` of integers, read mod 3 (earlier columns
    preferred as pivots)."""
    a = np.asarray(a) % 3
    rows, cols = a.shape
    P = np.ascontiguousarray(np.concatenate([pack_rows(a == 1), packed_identity(rows)], axis=1))
    N = np.ascontiguousarray(np.concatenate(
        [pack_rows(a == 2), np.zeros((rows, (rows + 63) // 64), dtype=np.uint64)], axis=1))
    left = (cols + 63) // 64
    pivots = _eliminate(P, N, cols)
    return Eliminated(cols=cols, pivots=pivots.copy(), ops_p=np.ascontiguousarray(P[:, left:]),
                      ops_n=np.ascontiguousarray(N[:, left:]))
