"""Linear algebra over GF(2) on bit-packed rows: one elimination, many right-hand sides.

A matrix ``A (rows, cols)`` over GF(2) is eliminated once (Gauss–Jordan, columns
taken in order, so earlier columns are preferred as pivots) together with the
identity, which records the row operations ``M`` with ``M·A`` in reduced row
echelon form.  Each system ``A·x = b`` is then solved with free variables 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """``bool (rows, cols)`` → ``uint64 (rows, ceil(cols/64))``, bit c of word c//64."""
    rows, cols = bits.shape
    words = (cols + 63) // 64
    padded = np.zeros((rows, words * 64), dtype=np.uint8)
    padded[:, :cols] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64).reshape(rows, words)


def packed_identity(rows: int) -> np.ndarray:
    """The identity as packed rows: ``uint64 (rows, ceil(rows/64))``."""
    ident = np.zeros((rows, (rows + 63) // 64), dtype=np.uint64)
    idx = np.arange(rows)
    ident[idx, idx >> 6] = np.left_shift(np.uint64(1), (idx & 63).astype(np.uint64))
    return ident


@njit(cache=True)
def _eliminate(M, ncols):
    """Gauss–Jordan on the first ``ncols`` bit columns of ``M (rows, words)``,
    in place; returns the pivot columns in row order."""
    rows, words = M.shape
    pivots = np.empty(min(rows, ncols), dtype=np.int64)
    row = 0
    one = np.uint64(1)
    for col in range(ncols):
        if row == rows:
            break
        w = col >> 6
        b = one << np.uint64(col & 63)
        r = row
        while r < rows and (M[r, w] & b) == 0:
            r += 1
        if r == rows:
            continue
        if r != row:
            for k in range(w, words):
                t = M[r, k]
                M[r, k] = M[row, k]
                M[row, k] = t
        for r2 in range(rows):
            if r2 != row and (M[r2, w] & b) != 0:
                for k in range(w, words):
                    M[r2, k] ^= M[row, k]
        pivots[row] = col
        row += 1
    return pivots[:row]


@njit(cache=True)
def _apply(Mt, rhs):
    """Parities of ``Mt[r] & rhs`` for each row: ``uint8 (rows,)``."""
    rows, words = Mt.shape
    out = np.zeros(rows, dtype=np.uint8)
    for r in range(rows):
        acc = np.uint64(0)
        for k in range(words):
            acc ^= Mt[r, k] & rhs[k]
        # parity of a 64-bit word
        acc ^= acc >> np.uint64(32)
        acc ^= acc >> np.uint64(16)
        acc ^= acc >> np.uint64(8)
        acc ^= acc >> np.uint64(4)
        acc ^= acc >> np.uint64(2)
        acc ^= acc >> np.uint64(1)
        out[r] = np.uint8(acc & np.uint64(1))
    return out


@dataclasses.dataclass(frozen=True)
class Eliminated:
    """A GF(2) matrix ``A (rows, cols)`` after elimination.

    Attributes:
      cols: number of unknowns.
      pivots: ``int64 (rank,)``, the pivot column of each of the first rows.
      ops: ``uint64 (rows, words)``, the row operations ``M`` packed.
    """

    cols: int
    pivots: np.ndarray
    ops: np.ndarray

    @property
    def rank(self) -> int:
        return int(len(self.pivots))

    def solve(self, rhs: np.ndarray) -> np.ndarray | None:
        """A solution ``uint8 (cols,)`` of ``A·x = rhs`` (``rhs: (rows,)`` of
        0/1) with free variables 0, or ``None`` when there is none."""
        packed = pack_rows(np.asarray(rhs, dtype=bool)[None, :])[0]
        t = _apply(self.ops, packed)
        if np.any(t[self.rank:]):
            return None
        x = np.zeros(self.cols, dtype=np.uint8)
        x[self.pivots] = t[:self.rank]
        return x


def eliminate(a: np.ndarray) -> Eliminated:
    """Eliminate ``a: bool (rows, cols)`` over GF(2) (earlier columns preferred as pivots)."""
    a = np.asarray(a, dtype=bool)
    rows, cols = a.shape
    left = pack_rows(a)
    M = np.ascontiguousarray(np.concatenate([left, packed_identity(rows)], axis=1))
    pivots = _eliminate(M, cols)
    ops = np.ascontiguousarray(M[:, left.shape[1]:])
    return Eliminated(cols=cols, pivots=pivots.copy(), ops=ops)
