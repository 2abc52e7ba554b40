"""The flip graph over Z2, bit-packed: the Numba kernels.

A scheme of rank R is held as ``X: uint64 (3, cap)``: ``X[p, r]`` is the p-th
factor of term r with bit e set when row e of that factor matrix is 1 (so each
factor has at most 64 rows).  Terms ``0..rank-1`` are live; ``cap`` leaves room
for plus transitions.

Moves (Kauers & Moosbauer 2022; Arai, Ichikawa & Hukushima 2024), with
``(p, q, s)`` a cyclic order of the three positions:

* flip — terms i, j with ``X[p,i] == X[p,j] = a``:
  ``a⊗b⊗c + a⊗b'⊗c' → a⊗(b+b')⊗c + a⊗b'⊗(c'+c)``;
* reduction — a term with a zero factor is dropped; two terms equal in two
  positions are merged, ``a⊗b⊗c + a⊗b⊗c' → a⊗b⊗(c+c')`` (rank −1); more
  generally, terms sharing a factor whose second (or third) factors are
  linearly dependent lose one term (:func:`group_reduce`);
* plus — two terms with all factors distinct:
  ``a⊗b⊗c + a'⊗b'⊗c' → (a+a')⊗b⊗c + a'⊗(b+b')⊗c + a'⊗b'⊗(c+c')`` (rank +1).

Every move keeps ``Σ_r X[0,r]⊗X[1,r]⊗X[2,r]`` unchanged mod 2.

``pairs: int32 (3, maxp, 2)`` and ``npairs: int64 (3,)`` list the unordered
pairs of live terms equal in each position (the flips available); they are
updated incrementally after a flip and rebuilt after a change of rank.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import next_u64, randint

# Kernel exit codes.
DONE, TARGET, IMPROVED, STUCK = 0, 1, 2, 3


def max_pairs(cap: int) -> int:
    """Room for the pair lists of ``cap`` terms."""
    return max(1, cap * (cap - 1) // 2)


@njit(cache=True, inline="always")
def pick_pair(pairs, npairs, rng):
    """A uniform pair of the three positions' lists: ``(p, i, j)``, in random order."""
    r = randint(rng, npairs[0] + npairs[1] + npairs[2])
    p = 0
    while r >= npairs[p]:
        r -= npairs[p]
        p += 1
    i = pairs[p, r, 0]
    j = pairs[p, r, 1]
    if next_u64(rng) & np.uint64(1):
        return p, j, i
    return p, i, j


@njit(cache=True, inline="always")
def two_terms(rng, rank):
    """Two distinct uniform indices below ``rank`` (≥ 2)."""
    i = randint(rng, rank)
    k = randint(rng, rank - 1)
    if k >= i:
        k += 1
    return i, k


@njit(cache=True)
def rebuild_pairs(X, rank, pairs, npairs):
    """List every pair of live terms equal in each position, from scratch."""
    for p in range(3):
        n = 0
        for i in range(rank):
            xi = X[p, i]
            for j in range(i + 1, rank):
                if X[p, j] == xi:
                    pairs[p, n, 0] = i
                    pairs[p, n, 1] = j
                    n += 1
        npairs[p] = n


@njit(cache=True)
def drop_pairs_of(pairs, npairs, p, t):
    """Remove every pair of term t from the list of position p."""
    n = npairs[p]
    k = 0
    while k < n:
        if pairs[p, k, 0] == t or pairs[p, k, 1] == t:
            n -= 1
            pairs[p, k, 0] = pairs[p, n, 0]
            pairs[p, k, 1] = pairs[p, n, 1]
        else:
            k += 1
    npairs[p] = n


@njit(cache=True)
def _add_pairs_of(X, rank, pairs, npairs, p, t):
    """Append the pairs of term t in position p; return a term equal to t in
    another position as well (a reduction), or -1."""
    xt = X[p, t]
    q = (p + 1) % 3
    s = (p + 2) % 3
    n = npairs[p]
    twin = -1
    for k in range(rank):
        if k != t and X[p, k] == xt:
            pairs[p, n, 0] = k
            pairs[p, n, 1] = t
            n += 1
            if X[q, k] == X[q, t] or X[s, k] == X[s, t]:
                twin = k
    npairs[p] = n
    return twin


@njit(cache=True)
def delete(X, rank, t):
    """Remove term t (the last live term takes its place); return the new rank."""
    last = rank - 1
    for p in range(3):
        X[p, t] = X[p, last]
        X[p, last] = 0
    return last


@njit(cache=True)
def reduce_all(X, rank):
    """Drop zero terms and merge terms equal in two positions until none are
    left; return the new rank."""
    changed = True
    while changed:
        changed = False
        t = 0
        while t < rank:
            if X[0, t] == 0 or X[1, t] == 0 or X[2, t] == 0:
                rank = delete(X, rank, t)
                changed = True
            else:
                t += 1
        for i in range(rank):
            for j in range(i + 1, rank):
                for p in range(3):
                    q = (p + 1) % 3
                    s = (p + 2) % 3
                    if X[q, i] == X[q, j] and X[s, i] == X[s, j]:
                        X[p, i] ^= X[p, j]
                        rank = delete(X, rank, j)
                        changed = True
                        break
                if changed:
                    break
            if changed:
                break
    return rank


@njit(cache=True)
def group_reduce(X, rank, g, h, t, buf):
    """Reduction by linear dependence: among the terms equal to term t in
    position g, find factors in position h that sum to zero,
    ``Σ_{k∈D} X[h,k] = 0``; then with ``k0 ∈ D``,
    ``a⊗X[h,k0]⊗c0 = Σ_{k∈D∖k0} a⊗X[h,k]⊗c0``, so the third factor of each
    ``k ∈ D∖k0`` gains ``c0`` and term k0 is zeroed (rank −1 once
    :func:`reduce_all` drops it).  Returns True when a reduction was made.
    Looks at the first 64 terms of the group; ``buf: uint64 (4, 64)`` is
    scratch space."""
    key = X[g, t]
    r = 3 - g - h
    members = buf[0]
    basis = buf[1]
    pivot = buf[2]
    combo = buf[3]
    n = 0
    for k in range(rank):
        if X[g, k] == key:
            members[n] = np.uint64(k)
            n += 1
            if n == 64:
                break
    if n < 3:
        return False  # two equal factors are a twin, handled by the pair lists
    nb = 0
    one = np.uint64(1)
    for idx in range(n):
        v = X[h, np.int64(members[idx])]
        c = one << np.uint64(idx)
        for b in range(nb):
            if v & pivot[b]:
                v ^= basis[b]
                c ^= combo[b]
        if v == 0:
            k0 = np.int64(members[idx])
            for m in range(idx):
                if (c >> np.uint64(m)) & one:
                    X[r, np.int64(members[m])] ^= X[r, k0]
            X[r, k0] = 0
            return True
        basis[nb] = v
        pivot[nb] = v & (~v + one)  # lowest set bit
        combo[nb] = c
        nb += 1
    return False


@njit(cache=True)
def plus_transition(X, rank, cap, rng, tries=64):
    """Apply one plus transition to two random terms; return the new rank
    (unchanged when no suitable pair was found in ``tries`` draws or there is
    no room)."""
    if rank < 2 or rank >= cap:
        return rank
    for _ in range(tries):
        i, k = two_terms(rng, rank)
        if X[0, i] == X[0, k] or X[1, i] == X[1, k] or X[2, i] == X[2, k]:
            continue
        p = randint(rng, 3)
        q = (p + 1) % 3
        s = (p + 2) % 3
        a, b, c = X[p, i], X[q, i], X[s, i]
        a2, b2, c2 = X[p, k], X[q, k], X[s, k]
        # term i: (a+a', b, c); new term: (a', b+b', c); term k: (a', b', c+c')
        X[p, i] = a ^ a2
        X[p, rank] = a2
        X[q, rank] = b ^ b2
        X[s, rank] = c
        X[s, k] = c ^ c2
        return rank + 1
    return rank


@njit(cache=True)
def walk(X, state, pairs, npairs, rng, max_flips, plateau, max_rank, stop_below, target,
         dependent=False):
    """Random flips from the scheme in ``X`` until something happens.

    Args:
      X: ``uint64 (3, cap)``, changed in place.
      state: ``int64 (2,)``: ``[rank, flips since the last reduction]``, in place.
      pairs, npairs: the pair lists (consistent with ``X`` on entry).
      rng: ``uint64 (1,)`` generator state.
      max_flips: flips to make at most in this call.
      plateau: after this many flips without a reduction, a plus transition
        (while ``rank < max_rank``).
      max_rank: plus transitions never raise the rank above this.
      stop_below: return as soon as the rank is below this (a new best).
      target: return as soon as the rank is at most this.
      dependent: after each flip, also look for linearly dependent factors
        among the terms sharing a factor with the two changed terms
        (:func:`group_reduce`), not only for equal ones (about 4× slower per
        flip; off by default).
    Returns:
      ``(flips made, code)`` with code DONE, TARGET, IMPROVED or STUCK (no
      flip possible and no plus transition allowed).
    """
    cap = X.shape[1]
    rank = state[0]
    since = state[1]
    flips = 0
    code = DONE
    buf = np.empty((4, 64), dtype=np.uint64)
    while flips < max_flips:
        if rank <= target:
            code = TARGET
            break
        if rank < stop_below:
            code = IMPROVED
            break
        total = npairs[0] + npairs[1] + npairs[2]
        if total == 0 or since >= plateau:
            new_rank = rank
            if rank < max_rank:
                new_rank = plus_transition(X, rank, min(cap, max_rank), rng)
            if new_rank != rank:
                rank = reduce_all(X, new_rank)
                rebuild_pairs(X, rank, pairs, npairs)
                since = 0
                continue
            if total == 0:
                code = STUCK
                break
            since = 0
        p, i, j = pick_pair(pairs, npairs, rng)
        q = (p + 1) % 3
        s = (p + 2) % 3
        X[q, i] ^= X[q, j]
        X[s, j] ^= X[s, i]
        flips += 1
        since += 1
        if X[q, i] == 0 or X[s, j] == 0:
            rank = reduce_all(X, rank)
            rebuild_pairs(X, rank, pairs, npairs)
            since = 0
            continue
        drop_pairs_of(pairs, npairs, q, i)
        twin1 = _add_pairs_of(X, rank, pairs, npairs, q, i)
        drop_pairs_of(pairs, npairs, s, j)
        twin2 = _add_pairs_of(X, rank, pairs, npairs, s, j)
        if twin1 >= 0 or twin2 >= 0 or (dependent and (
                group_reduce(X, rank, p, q, i, buf) or group_reduce(X, rank, p, s, j, buf)
                or group_reduce(X, rank, s, q, i, buf) or group_reduce(X, rank, q, s, j, buf))):
            rank = reduce_all(X, rank)
            rebuild_pairs(X, rank, pairs, npairs)
            since = 0
    state[0] = rank
    state[1] = since
    return flips, code
