"""The flip graph of τ-invariant schemes over Z2 whose fixed terms move: the Numba kernels.

For ⟨n,m,n⟩ the transposition τ, ``(u, v, w) → (vᵀ, uᵀ, wᵀ)``, maps the
matmul tensor to itself (``(AB)ᵀ = BᵀAᵀ``).  A τ-invariant scheme is a set of
pairs ``{t, τ(t)}`` and of fixed terms ``u ⊗ uᵀ ⊗ w`` with w symmetric.  The
two-fold walk of :mod:`.flips_sym` keeps the fixed terms as they are; over Z2
they satisfy ``Σ u ⊗ diag(w) = Σ_ij a_ij ⊗ c_ii``
(:func:`.symmetric.mirror_start`), so frozen fixed terms fix much of the
scheme.  Here they move too (benchmarks/RESULTS.md, twenty-second and
twenty-third sessions: from the schoolbook's single entries the frozen walk
stops at 56 on ⟨4,4,4⟩, this one reaches 52, and released to the plain walk
its schemes reach AlphaTensor's 47).

State, in one array ``X: uint64 (5, cap)`` (factors bit-packed as in
:mod:`.flips_z2`): column r of rows 0–2 is pair r's stored term t (its partner
τ(t) is implied), for ``r < state[0]``; column f of rows 3–4 is fixed term f as
``(u, w)``, for ``f < state[1]``.  Dead columns are zero and live ones are not,
so the counts can be read back from ``X`` (:func:`counts`).  The rank is
``2·pairs + fixed``.  ``table: uint64 (3, 8, 256)`` is τ by bytes
(:func:`.symmetric.table`; τ sends position 0 to 1, 1 to 0 and 2 to 2).

Moves, each keeping the expanded scheme mod 2 and its τ-invariance:

* **pair flip** — two terms of different pairs (either member of each) that
  share a factor are flipped, their partners alike;
* **fixed flip** — a pair's term ``t = (u, x, y)`` whose A is a fixed term's
  u: ``t → (u, x + uᵀ, y)`` and ``w → w + y + yᵀ`` (the flips of t and τ(t)
  with the fixed term, taken together);
* **reductions** — a pair with a zero factor is dropped (rank −2); a pair whose
  term has ``B = Aᵀ`` collapses with its partner into the fixed term
  ``(A, y + yᵀ)`` (rank −1, or −2 when y is symmetric); fixed terms with equal
  u merge (their w added; dropped at zero); two pairs with terms equal in two
  positions merge (−2), or cancel when equal in all three (−4);
* **plus transition** — two pairs' terms ``(x,y,z) + (x',y',z') →
  (x+x',y,z) + (x',y+y',z) + (x',y',z+z')``: one pair more (rank +2), after
  ``plateau`` moves without a reduction.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .flips_sym import image
from .flips_z2 import DONE, IMPROVED, STUCK, TARGET, delete
from .rng import randint

#: Rows of the state array: the pairs' terms, then the fixed terms' (u, w).
PAIR_ROWS, FIXED_U, FIXED_W = 3, 3, 4


@njit(cache=True)
def counts(X):
    """``(pairs, fixed)``: the live columns of ``X: uint64 (5, cap)``."""
    cap = X.shape[1]
    npairs = 0
    while npairs < cap and X[0, npairs] != 0:
        npairs += 1
    nfixed = 0
    while nfixed < cap and X[FIXED_U, nfixed] != 0:
        nfixed += 1
    return npairs, nfixed


@njit(cache=True, inline="always")
def _get(X, r, side, table, t):
    """Member ``side`` of pair r (0: the stored term, 1: its τ image) into ``t: uint64 (3,)``."""
    if side == 0:
        t[0] = X[0, r]
        t[1] = X[1, r]
        t[2] = X[2, r]
    else:
        t[0] = image(X[1, r], 1, table)
        t[1] = image(X[0, r], 0, table)
        t[2] = image(X[2, r], 2, table)


@njit(cache=True, inline="always")
def _put(X, r, side, table, t):
    """Store ``t`` as member ``side`` of pair r."""
    if side == 0:
        X[0, r] = t[0]
        X[1, r] = t[1]
        X[2, r] = t[2]
    else:
        X[0, r] = image(t[1], 1, table)
        X[1, r] = image(t[0], 0, table)
        X[2, r] = image(t[2], 2, table)


@njit(cache=True)
def _drop_fixed(X, nfixed, f):
    """Remove fixed term f (the last takes its place); the new count."""
    last = nfixed - 1
    X[FIXED_U, f] = X[FIXED_U, last]
    X[FIXED_W, f] = X[FIXED_W, last]
    X[FIXED_U, last] = 0
    X[FIXED_W, last] = 0
    return last


@njit(cache=True)
def add_fixed(X, nfixed, u, w):
    """Add ``u ⊗ uᵀ ⊗ w``, merged into the fixed term with the same u if any; the
    new count of fixed terms."""
    if w == 0 or u == 0:
        return nfixed
    for f in range(nfixed):
        if X[FIXED_U, f] == u:
            X[FIXED_W, f] ^= w
            if X[FIXED_W, f] == 0:
                return _drop_fixed(X, nfixed, f)
            return nfixed
    X[FIXED_U, nfixed] = u
    X[FIXED_W, nfixed] = w
    return nfixed + 1


@njit(cache=True)
def _reducible(X, npairs, r, table):
    """True when a reduction involves pair r: a zero factor, ``B = Aᵀ``, or a
    term of another pair equal to r's in two positions."""
    a, b, c = X[0, r], X[1, r], X[2, r]
    ib = image(a, 0, table)  # B of r's image, Aᵀ
    if a == 0 or b == 0 or c == 0 or b == ib:
        return True
    ia, ic = image(b, 1, table), image(c, 2, table)
    for r2 in range(npairs):
        if r2 == r:
            continue
        x, y, z = X[0, r2], X[1, r2], X[2, r2]
        if (a == x) + (b == y) + (c == z) >= 2:
            return True
        # r2's stored term against r's image is r2's image against r's term
        if (ia == x) + (ib == y) + (ic == z) >= 2:
            return True
    return False


@njit(cache=True)
def reduce_all(X, state, table):
    """Apply reductions until none applies (``state = [pairs, fixed, since]``,
    updated); the rank."""
    t1 = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    npairs = state[0]
    nfixed = state[1]
    changed = True
    while changed:
        changed = False
        r = 0
        while r < npairs:
            if X[0, r] == 0 or X[1, r] == 0 or X[2, r] == 0:
                npairs = delete(X, npairs, r)
                changed = True
                continue
            if X[1, r] == image(X[0, r], 0, table):  # t + τ(t) = u ⊗ uᵀ ⊗ (y + yᵀ)
                u = X[0, r]
                y = X[2, r]
                npairs = delete(X, npairs, r)
                nfixed = add_fixed(X, nfixed, u, y ^ image(y, 2, table))
                changed = True
                continue
            r += 1
        for r1 in range(npairs):
            if changed:
                break
            _get(X, r1, 0, table, t1)
            for r2 in range(r1 + 1, npairs):
                if changed:
                    break
                for s2 in range(2):
                    _get(X, r2, s2, table, t2)
                    eq = 0
                    k = -1
                    for q in range(3):
                        if t1[q] == t2[q]:
                            eq += 1
                        else:
                            k = q
                    if eq == 3:  # t1 + t2 = 0 mod 2, and so their partners
                        npairs = delete(X, npairs, r2)
                        npairs = delete(X, npairs, r1)
                        changed = True
                        break
                    if eq == 2:
                        t1[k] ^= t2[k]
                        _put(X, r1, 0, table, t1)
                        npairs = delete(X, npairs, r2)
                        changed = True
                        break
    state[0] = npairs
    state[1] = nfixed
    return 2 * npairs + nfixed


@njit(cache=True)
def plus_transition(X, state, table, rng):
    """The plus transition on two random pairs' terms (rank +2); False when there
    are fewer than two pairs or no room for a third."""
    npairs = state[0]
    if npairs < 2 or npairs >= X.shape[1]:
        return False
    r1 = randint(rng, npairs)
    r2 = randint(rng, npairs - 1)
    if r2 >= r1:
        r2 += 1
    s2 = randint(rng, 2)
    t1 = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    _get(X, r1, 0, table, t1)
    _get(X, r2, s2, table, t2)
    a = randint(rng, 3)
    b = (a + 1) % 3
    c = (a + 2) % 3
    t3 = t2.copy()
    t3[c] = t2[c] ^ t1[c]  # (x', y', z + z')
    n2 = t2.copy()
    n2[b] = t2[b] ^ t1[b]  # (x', y + y', z)
    n2[c] = t1[c]
    t1[a] ^= t2[a]  # (x + x', y, z)
    _put(X, r1, 0, table, t1)
    _put(X, r2, s2, table, n2)
    _put(X, npairs, 0, table, t3)
    state[0] = npairs + 1
    return True


@njit(cache=True)
def walk(X, state, table, rng, max_flips, plateau, max_rank, stop_below, target):
    """Random moves until something happens (as :func:`.flips_z2.walk`, ranks
    counted in terms: ``2·pairs + fixed``).

    Args:
      X: ``uint64 (5, cap)``, the state (module docstring), reduced on entry;
        changed in place.
      state: ``int64 (3,)``: ``[pairs, fixed, moves since the last reduction]``.
      table: τ by bytes.
      rng: ``uint64 (1,)`` generator state.
      max_flips: moves to make at most in this call.
      plateau: moves without a reduction before a plus transition.
      max_rank: plus transitions never raise the rank above this.
      stop_below: return as soon as the rank is below this.
      target: return as soon as the rank is at most this.
    Returns:
      ``(moves made, code)``, the codes of :mod:`.flips_z2` (STUCK: no move
      applies and no plus transition is allowed).
    """
    t = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    cand = np.zeros(2 * X.shape[1] + X.shape[1], dtype=np.int64)
    rank = 2 * state[0] + state[1]
    since = state[2]
    flips = 0
    code = DONE
    tries = 0
    while flips < max_flips:
        if rank <= target:
            code = TARGET
            break
        if rank < stop_below:
            code = IMPROVED
            break
        npairs = state[0]
        nfixed = state[1]
        if since >= plateau:
            since = 0
            if rank + 2 <= max_rank and plus_transition(X, state, table, rng):
                rank = reduce_all(X, state, table)
                continue
        if npairs == 0:
            code = STUCK
            break
        r = randint(rng, npairs)
        side = randint(rng, 2)
        a = randint(rng, 3)
        _get(X, r, side, table, t)
        v = t[a]
        pa = 1 - a if a < 2 else 2  # τ(t)[a] comes from t[pa]
        n = 0
        for r2 in range(npairs):
            if r2 != r:
                for s2 in range(2):
                    if (s2 == 0 and X[a, r2] == v) or (
                            s2 == 1 and image(X[pa, r2], pa, table) == v):
                        cand[n] = 2 * r2 + s2
                        n += 1
        if a < 2:
            for f in range(nfixed):
                u = X[FIXED_U, f]
                if (a == 0 and u == v) or (a == 1 and image(u, 0, table) == v):
                    cand[n] = -1 - f
                    n += 1
        if n == 0:
            tries += 1
            if tries > 64 * (npairs + nfixed):  # (almost surely) no move applies
                tries = 0
                if rank + 2 <= max_rank and plus_transition(X, state, table, rng):
                    rank = reduce_all(X, state, table)
                    since = 0
                    continue
                code = STUCK
                break
            continue
        tries = 0
        j = cand[randint(rng, n)]
        flips += 1
        since += 1
        if j >= 0:  # two pairs' terms; their partners flip alike
            r2 = j // 2
            s2 = j % 2
            _get(X, r2, s2, table, t2)
            b = (a + 1 + randint(rng, 2)) % 3
            c = 3 - a - b
            t[b] ^= t2[b]
            t2[c] ^= t[c]
            _put(X, r, side, table, t)
            _put(X, r2, s2, table, t2)
            if _reducible(X, npairs, r, table) or _reducible(X, npairs, r2, table):
                rank = reduce_all(X, state, table)
                since = 0
        else:  # the fixed flip, with the member whose A is u
            f = -1 - j
            u = X[FIXED_U, f]
            if a == 1:
                side = 1 - side
                _get(X, r, side, table, t)
            y = t[2]
            X[FIXED_W, f] ^= y ^ image(y, 2, table)
            t[1] ^= image(u, 0, table)
            _put(X, r, side, table, t)
            if X[FIXED_W, f] == 0:
                state[1] = _drop_fixed(X, nfixed, f)
                rank = reduce_all(X, state, table)
                since = 0
            elif _reducible(X, npairs, r, table):
                rank = reduce_all(X, state, table)
                since = 0
    state[2] = since
    return flips, code
