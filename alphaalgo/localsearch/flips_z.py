"""The flip graph over Z with bounded coefficients: the Numba kernels.

A scheme of rank R is held as ``X: int8 (3, cap, smax)``: ``X[p, r, :sizes[p]]``
is the p-th factor of term r.  Two factors are *equal up to sign* when
``x' = ±x``; each factor has a sign ``G[p, r]`` (that of its first non-zero
entry, 0 for the zero vector) and a key ``K[p, r]`` (a 64-bit hash of
``G·x``), so equality up to sign is a key comparison confirmed entry by entry.

Moves, with ``(p, q, s)`` a cyclic order of the positions and every new
coefficient kept within ``[-bound, bound]`` (a move that would leave the bound
is not made):

* flip — terms i, j with ``X[p,j] = σ·X[p,i] = σa``, ``μ = ±1``:
  ``a⊗b⊗c + σa⊗b'⊗c' → a⊗(b + μσb')⊗c + σa⊗b'⊗(c' − μc)``;
* reduction — terms with a zero factor are dropped; two terms equal up to
  sign in positions q and s, ``a⊗b⊗c + a'⊗βb⊗γc``, become
  ``(a + βγa')⊗b⊗c`` (rank −1);
* plus — ``a⊗b⊗c + a'⊗b'⊗c' → (a−a')⊗b⊗c + a'⊗(b+b')⊗c + a'⊗b'⊗(c'−c)``
  (rank +1).

Every move keeps ``Σ_r X[0,r]⊗X[1,r]⊗X[2,r]`` unchanged over the integers.
The pair lists are as in :mod:`.flips_z2`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .flips_z2 import DONE, IMPROVED, STUCK, TARGET, drop_pairs_of, pick_pair, two_terms
from .rng import next_u64, randint

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True)
def normalize(X, sizes, K, G, p, t):
    """Recompute the key and sign of factor ``(p, t)``."""
    g = 0
    for e in range(sizes[p]):
        if X[p, t, e] != 0:
            g = 1 if X[p, t, e] > 0 else -1
            break
    h = _FNV_OFFSET
    for e in range(sizes[p]):
        h ^= np.uint64(g * X[p, t, e] + 8)
        h *= _FNV_PRIME
    K[p, t] = h
    G[p, t] = g


@njit(cache=True)
def normalize_all(X, sizes, K, G, rank):
    for p in range(3):
        for t in range(rank):
            normalize(X, sizes, K, G, p, t)


@njit(cache=True)
def _same(X, sizes, K, G, p, i, j):
    """True when factors (p, i) and (p, j) are equal up to sign (both non-zero)."""
    if K[p, i] != K[p, j] or G[p, i] == 0 or G[p, j] == 0:
        return False
    gi = G[p, i]
    gj = G[p, j]
    for e in range(sizes[p]):
        if gi * X[p, i, e] != gj * X[p, j, e]:
            return False
    return True


@njit(cache=True)
def rebuild_pairs(X, sizes, K, G, rank, pairs, npairs):
    """List every pair of live terms equal up to sign in each position."""
    for p in range(3):
        n = 0
        for i in range(rank):
            for j in range(i + 1, rank):
                if _same(X, sizes, K, G, p, i, j):
                    pairs[p, n, 0] = i
                    pairs[p, n, 1] = j
                    n += 1
        npairs[p] = n


@njit(cache=True)
def _add_pairs_of(X, sizes, K, G, rank, pairs, npairs, p, t):
    """Append the pairs of term t in position p; return a term equal to t up to
    sign in another position too (a possible reduction), or -1."""
    q = (p + 1) % 3
    s = (p + 2) % 3
    n = npairs[p]
    twin = -1
    for k in range(rank):
        if k != t and _same(X, sizes, K, G, p, k, t):
            pairs[p, n, 0] = k
            pairs[p, n, 1] = t
            n += 1
            if _same(X, sizes, K, G, q, k, t) or _same(X, sizes, K, G, s, k, t):
                twin = k
    npairs[p] = n
    return twin


@njit(cache=True)
def _delete(X, K, G, rank, t):
    last = rank - 1
    for p in range(3):
        X[p, t, :] = X[p, last, :]
        X[p, last, :] = 0
        K[p, t] = K[p, last]
        G[p, t] = G[p, last]
    return last


@njit(cache=True)
def _merge(X, sizes, K, G, i, j, bound):
    """Merge terms i and j when they are equal up to sign in two positions and
    the merged factor stays within ``bound``: term i takes the sum and term j
    is zeroed (dropped by :func:`reduce_all`).  Returns True when merged."""
    for p in range(3):
        q = (p + 1) % 3
        s = (p + 2) % 3
        if _same(X, sizes, K, G, q, i, j) and _same(X, sizes, K, G, s, i, j):
            f = G[q, i] * G[q, j] * G[s, i] * G[s, j]
            for e in range(sizes[p]):
                v = X[p, i, e] + f * X[p, j, e]
                if v > bound or v < -bound:
                    return False
            for e in range(sizes[p]):
                X[p, i, e] = X[p, i, e] + f * X[p, j, e]
                X[p, j, e] = 0
            normalize(X, sizes, K, G, p, i)
            normalize(X, sizes, K, G, p, j)
            return True
    return False


@njit(cache=True)
def reduce_all(X, sizes, K, G, rank, bound):
    """Drop zero terms and merge terms equal up to sign in two positions (when
    the merged factor stays within ``bound``); return the new rank."""
    changed = True
    while changed:
        changed = False
        t = 0
        while t < rank:
            if G[0, t] == 0 or G[1, t] == 0 or G[2, t] == 0:
                rank = _delete(X, K, G, rank, t)
                changed = True
            else:
                t += 1
        for i in range(rank):
            for j in range(i + 1, rank):
                for p in range(3):
                    q = (p + 1) % 3
                    s = (p + 2) % 3
                    if _same(X, sizes, K, G, q, i, j) and _same(X, sizes, K, G, s, i, j):
                        f = G[q, i] * G[q, j] * G[s, i] * G[s, j]
                        ok = True
                        for e in range(sizes[p]):
                            v = X[p, i, e] + f * X[p, j, e]
                            if v > bound or v < -bound:
                                ok = False
                                break
                        if ok:
                            for e in range(sizes[p]):
                                X[p, i, e] = X[p, i, e] + f * X[p, j, e]
                            normalize(X, sizes, K, G, p, i)
                            rank = _delete(X, K, G, rank, j)
                            changed = True
                            break
                if changed:
                    break
            if changed:
                break
    return rank


@njit(cache=True)
def plus_transition(X, sizes, K, G, rank, cap, bound, rng, tries=64):
    """One plus transition on two random terms; return the new rank (unchanged
    when none within the bound was found in ``tries`` draws or no room)."""
    if rank < 2 or rank >= cap:
        return rank
    for _ in range(tries):
        i, k = two_terms(rng, rank)
        p = randint(rng, 3)
        q = (p + 1) % 3
        s = (p + 2) % 3
        ok = True
        nz_a = False
        nz_b = False
        nz_c = False
        for e in range(sizes[p]):
            v = X[p, i, e] - X[p, k, e]
            nz_a |= v != 0
            if v > bound or v < -bound:
                ok = False
        for e in range(sizes[q]):
            v = X[q, i, e] + X[q, k, e]
            nz_b |= v != 0
            if v > bound or v < -bound:
                ok = False
        for e in range(sizes[s]):
            v = X[s, k, e] - X[s, i, e]
            nz_c |= v != 0
            if v > bound or v < -bound:
                ok = False
        if not (ok and nz_a and nz_b and nz_c):
            continue
        # new term: (a', b + b', c); then term i: (a − a', b, c); term k: (a', b', c' − c)
        for e in range(sizes[p]):
            X[p, rank, e] = X[p, k, e]
        for e in range(sizes[q]):
            X[q, rank, e] = X[q, i, e] + X[q, k, e]
        for e in range(sizes[s]):
            X[s, rank, e] = X[s, i, e]
        for e in range(sizes[p]):
            X[p, i, e] = X[p, i, e] - X[p, k, e]
        for e in range(sizes[s]):
            X[s, k, e] = X[s, k, e] - X[s, i, e]
        for pp in range(3):
            normalize(X, sizes, K, G, pp, rank)
        normalize(X, sizes, K, G, p, i)
        normalize(X, sizes, K, G, s, k)
        return rank + 1
    return rank


@njit(cache=True)
def walk(X, sizes, K, G, state, pairs, npairs, rng, max_flips, plateau, max_rank,
         stop_below, target, bound):
    """Random flips over Z; arguments and result as :func:`.flips_z2.walk`,
    plus ``sizes: int64 (3,)``, the keys ``K: uint64 (3, cap)``, the signs
    ``G: int8 (3, cap)`` and the coefficient ``bound``.  A flip that would
    leave the bound counts as made but changes nothing."""
    cap = X.shape[1]
    rank = state[0]
    since = state[1]
    flips = 0
    code = DONE
    smax = X.shape[2]
    nb = np.zeros(smax, dtype=np.int8)
    nc = np.zeros(smax, dtype=np.int8)
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
                new_rank = plus_transition(X, sizes, K, G, rank, min(cap, max_rank), bound, rng)
            if new_rank != rank:
                rank = reduce_all(X, sizes, K, G, new_rank, bound)
                rebuild_pairs(X, sizes, K, G, rank, pairs, npairs)
                since = 0
                continue
            if total == 0:
                code = STUCK
                break
            since = 0
        p, i, j = pick_pair(pairs, npairs, rng)
        mu = 1 if next_u64(rng) & np.uint64(1) else -1
        sigma = G[p, i] * G[p, j]
        q = (p + 1) % 3
        s = (p + 2) % 3
        flips += 1
        since += 1
        ok = True
        for e in range(sizes[q]):
            v = X[q, i, e] + mu * sigma * X[q, j, e]
            if v > bound or v < -bound:
                ok = False
                break
            nb[e] = v
        if not ok:
            continue
        for e in range(sizes[s]):
            v = X[s, j, e] - mu * X[s, i, e]
            if v > bound or v < -bound:
                ok = False
                break
            nc[e] = v
        if not ok:
            continue
        for e in range(sizes[q]):
            X[q, i, e] = nb[e]
        for e in range(sizes[s]):
            X[s, j, e] = nc[e]
        normalize(X, sizes, K, G, q, i)
        normalize(X, sizes, K, G, s, j)
        if G[q, i] == 0 or G[s, j] == 0:
            rank = reduce_all(X, sizes, K, G, rank, bound)
            rebuild_pairs(X, sizes, K, G, rank, pairs, npairs)
            since = 0
            continue
        drop_pairs_of(pairs, npairs, q, i)
        twin1 = _add_pairs_of(X, sizes, K, G, rank, pairs, npairs, q, i)
        drop_pairs_of(pairs, npairs, s, j)
        twin2 = _add_pairs_of(X, sizes, K, G, rank, pairs, npairs, s, j)
        merged = False
        if twin1 >= 0:
            merged = _merge(X, sizes, K, G, i, twin1, bound)
        if not merged and twin2 >= 0:
            merged = _merge(X, sizes, K, G, j, twin2, bound)
        if merged:
            rank = reduce_all(X, sizes, K, G, rank, bound)
            rebuild_pairs(X, sizes, K, G, rank, pairs, npairs)
            since = 0
    state[0] = rank
    state[1] = since
    return flips, code
