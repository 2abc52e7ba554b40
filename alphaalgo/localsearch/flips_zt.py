"""The flip graph over {−1, 0, 1} (ternary schemes over Z, or any scheme over
Z3), bit-packed: the Numba kernels.

A factor with coefficients in {−1, 0, 1} is two bit masks: ``P`` (entries +1)
and ``N`` (entries −1), each ``uint64 (3, cap)`` like :mod:`.flips_z2` (so at
most 64 rows).  Sums are exact: ``x + y`` stays ternary unless some entry
would be ±2, which is ``(xP & yP) | (xN & yN) ≠ 0``; such a move is not made.
Two factors are equal up to sign when their masks are equal or swapped; a
factor's sign is that of its lowest non-zero entry.

The moves are those of :mod:`.flips_z` with bound 1 (flip with a random sign
``μ``, merge of terms equal up to sign in two positions, plus transition), so
every move keeps ``Σ_r x_r ⊗ y_r ⊗ z_r`` unchanged over the integers and
every coefficient in {−1, 0, 1}.  The pair lists are as in :mod:`.flips_z2`.

With ``mod3`` set, the same masks hold coefficients mod 3 (−1 ≡ 2) and sums
are taken mod 3, so no move is refused: the walk on the flip graph over Z3,
whose schemes are Hensel-lifted to Z (:mod:`.lifting`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .flips_z2 import DONE, IMPROVED, STUCK, TARGET, delete, drop_pairs_of, pick_pair, two_terms
from .rng import next_u64, randint

_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def _same(P, N, p, i, j):
    """0 when factors (p, i) and (p, j) differ up to sign, else σ with
    ``x_j = σ·x_i`` (both non-zero)."""
    if P[p, i] == P[p, j] and N[p, i] == N[p, j]:
        return 1 if (P[p, i] | N[p, i]) != 0 else 0
    if P[p, i] == N[p, j] and N[p, i] == P[p, j]:
        return -1
    return 0


@njit(cache=True, inline="always")
def _add(ap, an, bp, bn, sigma, mod3):
    """``(ok, P, N)`` of ``a + σ·b`` (ok False when an entry would leave {−1, 0, 1});
    with ``mod3``, the sum mod 3 (always ok: 1 + 1 ≡ −1, −1 − 1 ≡ 1)."""
    if sigma < 0:
        bp, bn = bn, bp
    if mod3:
        a = ap | an
        b = bp | bn
        return True, (ap & ~b) | (bp & ~a) | (an & bn), (an & ~b) | (bn & ~a) | (ap & bp)
    if (ap & bp) | (an & bn):
        return False, ap, an
    return True, (ap & ~bn) | (bp & ~an), (an & ~bp) | (bn & ~ap)


@njit(cache=True)
def rebuild_pairs(P, N, rank, pairs, npairs):
    """List every pair of live terms equal up to sign in each position."""
    for p in range(3):
        n = 0
        for i in range(rank):
            ip = P[p, i]
            iN = N[p, i]
            for j in range(i + 1, rank):
                if (P[p, j] == ip and N[p, j] == iN) or (P[p, j] == iN and N[p, j] == ip):
                    pairs[p, n, 0] = i
                    pairs[p, n, 1] = j
                    n += 1
        npairs[p] = n


@njit(cache=True)
def _add_pairs_of(P, N, rank, pairs, npairs, p, t):
    """Append the pairs of term t in position p; return a term equal to t up to
    sign in another position as well (a possible merge), or -1."""
    q = (p + 1) % 3
    s = (p + 2) % 3
    n = npairs[p]
    twin = -1
    tp = P[p, t]
    tn = N[p, t]
    for k in range(rank):
        kp = P[p, k]
        kn = N[p, k]
        if k != t and ((kp == tp and kn == tn) or (kp == tn and kn == tp)):
            pairs[p, n, 0] = k
            pairs[p, n, 1] = t
            n += 1
            if _same(P, N, q, k, t) != 0 or _same(P, N, s, k, t) != 0:
                twin = k
    npairs[p] = n
    return twin


@njit(cache=True)
def _try_merge(P, N, i, j, mod3):
    """Terms i and j equal up to sign in two positions, ``a⊗b⊗c + a'⊗βb⊗γc``:
    term i becomes ``(a + βγa')⊗b⊗c`` and term j is zeroed, when that stays
    ternary.  Returns True when merged."""
    for p in range(3):
        q = (p + 1) % 3
        s = (p + 2) % 3
        beta = _same(P, N, q, i, j)
        gamma = _same(P, N, s, i, j)
        if beta == 0 or gamma == 0:
            continue
        ok, np_, nn = _add(P[p, i], N[p, i], P[p, j], N[p, j], beta * gamma, mod3)
        if not ok:
            return False
        P[p, i] = np_
        N[p, i] = nn
        P[p, j] = 0
        N[p, j] = 0
        return True
    return False


@njit(cache=True)
def reduce_all(P, N, rank, mod3=False):
    """Drop zero terms and merge terms equal up to sign in two positions (when
    the merged factor stays ternary); return the new rank."""
    changed = True
    while changed:
        changed = False
        t = 0
        while t < rank:
            if ((P[0, t] | N[0, t]) == 0 or (P[1, t] | N[1, t]) == 0
                    or (P[2, t] | N[2, t]) == 0):
                delete(N, rank, t)
                rank = delete(P, rank, t)
                changed = True
            else:
                t += 1
        for i in range(rank):
            for j in range(i + 1, rank):
                equal = 0  # positions where i and j agree up to sign (masks compared inline)
                for p in range(3):
                    a, b, c, d = P[p, i], N[p, i], P[p, j], N[p, j]
                    if (a == c and b == d) or (a == d and b == c):
                        equal += 1
                if equal >= 2 and _try_merge(P, N, i, j, mod3):
                    delete(N, rank, j)
                    rank = delete(P, rank, j)
                    changed = True
                    break
            if changed:
                break
    return rank


@njit(cache=True)
def plus_transition(P, N, rank, cap, rng, mod3, tries=64):
    """``a⊗b⊗c + a'⊗b'⊗c' → (a−a')⊗b⊗c + a'⊗(b+b')⊗c + a'⊗b'⊗(c'−c)`` on two
    random terms when every new factor is ternary and non-zero; return the new
    rank (unchanged when none was found in ``tries`` draws or no room)."""
    if rank < 2 or rank >= cap:
        return rank
    for _ in range(tries):
        i, k = two_terms(rng, rank)
        p = randint(rng, 3)
        q = (p + 1) % 3
        s = (p + 2) % 3
        ok1, ap, an = _add(P[p, i], N[p, i], P[p, k], N[p, k], -1, mod3)
        ok2, bp, bn = _add(P[q, i], N[q, i], P[q, k], N[q, k], 1, mod3)
        ok3, cp, cn = _add(P[s, k], N[s, k], P[s, i], N[s, i], -1, mod3)
        if not (ok1 and ok2 and ok3) or (ap | an) == 0 or (bp | bn) == 0 or (cp | cn) == 0:
            continue
        P[p, rank] = P[p, k]
        N[p, rank] = N[p, k]
        P[q, rank] = bp
        N[q, rank] = bn
        P[s, rank] = P[s, i]
        N[s, rank] = N[s, i]
        P[p, i] = ap
        N[p, i] = an
        P[s, k] = cp
        N[s, k] = cn
        return rank + 1
    return rank


@njit(cache=True)
def walk(P, N, state, pairs, npairs, rng, max_flips, plateau, max_rank, stop_below, target,
         mod3=False):
    """Random ternary flips; arguments and result as :func:`.flips_z2.walk`
    with the masks ``P``, ``N`` for ``X``.  A flip that would leave {−1, 0, 1}
    counts as made but changes nothing (with ``mod3``: every flip is made, mod 3)."""
    cap = P.shape[1]
    rank = state[0]
    since = state[1]
    flips = 0
    code = DONE
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
                new_rank = plus_transition(P, N, rank, min(cap, max_rank), rng, mod3)
            if new_rank != rank:
                rank = reduce_all(P, N, new_rank, mod3)
                rebuild_pairs(P, N, rank, pairs, npairs)
                since = 0
                continue
            if total == 0:
                code = STUCK
                break
            since = 0
        p, i, j = pick_pair(pairs, npairs, rng)
        mu = 1 if next_u64(rng) & _ONE else -1
        sigma = _same(P, N, p, i, j)
        q = (p + 1) % 3
        s = (p + 2) % 3
        flips += 1
        since += 1
        ok1, bp, bn = _add(P[q, i], N[q, i], P[q, j], N[q, j], mu * sigma, mod3)
        if not ok1:
            continue
        ok2, cp, cn = _add(P[s, j], N[s, j], P[s, i], N[s, i], -mu, mod3)
        if not ok2:
            continue
        P[q, i] = bp
        N[q, i] = bn
        P[s, j] = cp
        N[s, j] = cn
        if (bp | bn) == 0 or (cp | cn) == 0:
            rank = reduce_all(P, N, rank, mod3)
            rebuild_pairs(P, N, rank, pairs, npairs)
            since = 0
            continue
        drop_pairs_of(pairs, npairs, q, i)
        twin1 = _add_pairs_of(P, N, rank, pairs, npairs, q, i)
        drop_pairs_of(pairs, npairs, s, j)
        twin2 = _add_pairs_of(P, N, rank, pairs, npairs, s, j)
        merged = False
        if twin1 >= 0:
            merged = _try_merge(P, N, i, twin1, mod3)
        if not merged and twin2 >= 0:
            merged = _try_merge(P, N, j, twin2, mod3)
        if merged:
            rank = reduce_all(P, N, rank, mod3)
            rebuild_pairs(P, N, rank, pairs, npairs)
            since = 0
    state[0] = rank
    state[1] = since
    return flips, code
