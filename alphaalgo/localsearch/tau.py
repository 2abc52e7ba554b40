"""τ-invariant schemes of ⟨n,m,n⟩ whose fixed terms move: their walker.

The walk of :mod:`.flips_tau` on the schemes the transposition τ,
``(u, v, w) → (vᵀ, uᵀ, wᵀ)``, maps to themselves, with the same interface as
:class:`.walk.Walker` (ranks in terms).  :func:`.walk.search` uses it for
``SearchConfig(symmetric=True, symmetry=2, involution="transpose")``; the start
is any τ-invariant scheme valid over Z2 (:func:`.symmetric.start_for` makes one
from the schoolbook terms).
"""

from __future__ import annotations

import numpy as np

from ..tensors import Scheme
from . import flips_tau, packing
from .rng import make_rng


def expand(X: np.ndarray, inv) -> Scheme:
    """The Z2 scheme of the state ``X: uint64 (5, cap)`` (:mod:`.flips_tau`) under the
    transposition ``inv`` (:func:`.symmetric.involution`): the fixed terms
    ``u ⊗ uᵀ ⊗ w``, then each pair's term and its image."""
    from . import symmetric

    npairs, nfixed = flips_tau.counts(X)
    cols = []
    for r in range(npairs):
        t = tuple(int(x) for x in X[:3, r])
        cols += [t, symmetric.image_term(t, inv)]
    fixed = []
    for f in range(nfixed):
        u = int(X[flips_tau.FIXED_U, f])
        fixed.append((u, symmetric.image_term((u, 0, 0), inv)[1], int(X[flips_tau.FIXED_W, f])))
    terms = np.array(cols, dtype=np.uint64).reshape(-1, 3).T
    return symmetric.expand(inv.shape, fixed, terms, len(cols), cyclic=False)


class TauWalker:
    """A τ-invariant scheme on the flip graph of :mod:`.flips_tau` (over Z2)."""

    def __init__(self, scheme: Scheme, ring: str, cap: int, seed: int) -> None:
        """``cap``: the most terms the walk may hold (plus transitions stay below)."""
        from . import symmetric

        if ring != "Z2":
            raise ValueError("τ-invariant walks are over Z2 (use lifting for Z)")
        packing.check_searchable(scheme, "Z2")
        self.ring = ring
        self.like = scheme
        self.shape = tuple(int(d) for d in scheme.shape)
        self.inv = symmetric.involution(self.shape, "transpose")
        self.table = symmetric.table(self.inv)
        fixed, cols = symmetric.split(scheme, 2, "transpose")
        self.cap = max(int(cap), scheme.rank) + 2
        self.rng = make_rng(seed)
        self.state = np.zeros(3, dtype=np.int64)
        self.X = np.zeros((5, self.cap), dtype=np.uint64)
        reps = cols[:, 0::2]  # each pair's first member; the second is its image
        self.X[:3, :reps.shape[1]] = reps
        self.state[0] = reps.shape[1]
        for u, _, w in fixed:
            self.state[1] = flips_tau.add_fixed(self.X, self.state[1], np.uint64(u),
                                                np.uint64(w))
        flips_tau.reduce_all(self.X, self.state, self.table)

    @property
    def rank(self) -> int:
        return 2 * int(self.state[0]) + int(self.state[1])

    def snapshot(self) -> tuple[np.ndarray, int]:
        """A copy of the state and its rank."""
        return self.X.copy(), self.rank

    def restore(self, snap: tuple[np.ndarray, int]) -> None:
        """Continue from a :meth:`snapshot`."""
        self.X[...] = snap[0]
        self.state[0], self.state[1] = flips_tau.counts(self.X)
        self.state[2] = 0

    def unpack(self, snap: tuple[np.ndarray, int]) -> Scheme:
        """The Z2 scheme of a :meth:`snapshot` (not verified here)."""
        return expand(snap[0], self.inv)

    def scheme(self) -> Scheme:
        """The current scheme (not verified here)."""
        return self.unpack(self.snapshot())

    def run(self, max_flips: int, *, plateau: int, max_rank: int, stop_below: int = 0,
            target: int = 0) -> tuple[int, int]:
        """Up to ``max_flips`` moves (:func:`.flips_tau.walk`); ``(moves made, code)``."""
        flips, code = flips_tau.walk(self.X, self.state, self.table, self.rng, int(max_flips),
                                     int(plateau), min(int(max_rank), self.cap - 2),
                                     int(stop_below), int(target))
        return int(flips), int(code)
