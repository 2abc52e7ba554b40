"""The flip graph of symmetric schemes over Z2: the Numba kernels.

For a square shape ⟨n,n,n⟩ the matmul tensor ``Σ a_ij ⊗ b_jk ⊗ c_ki`` is
unchanged by the cyclic shift of its three positions, so schemes can be
sought among those the shift maps to themselves (Moosbauer & Poole, "Flip
graphs with symmetry and new matrix multiplication schemes", 2025).  Such a
scheme is a set of fixed terms ``x⊗x⊗x`` plus orbits: a representative
``(x, y, z)`` stands for the three terms ``(x,y,z)``, ``(y,z,x)``, ``(z,x,y)``.

Only the orbits are walked.  ``X: uint64 (3, cap)`` holds the representatives
bit-packed as in :mod:`.flips_z2`; orbits ``0..orbits-1`` are live.  A *slot*
``(a, r)`` is factor ``a`` of representative ``r``.  The expanded term of
orbit ``r`` rotated by ``a`` is ``(X[a,r], X[a+1,r], X[a+2,r])`` (indices
mod 3), so two orbits ``r1 ≠ r2`` have terms sharing a factor exactly when two
of their slots are equal, ``X[a,r1] == X[b,r2]``.

Moves, each applied to the three rotations at once so the scheme stays
invariant (and each keeps the expanded sum unchanged mod 2):

* orbit flip — slots ``(a,r1)``, ``(b,r2)`` equal, ``r1 ≠ r2``:
  ``X[a+1,r1] ^= X[b+1,r2]`` and ``X[b+2,r2] ^= X[a+2,r1]`` (the flip of the
  two expanded terms sharing that factor);
* reduction — an orbit with a zero factor is dropped; two orbits with terms
  equal in two positions are merged (rank −3);
* plus — two orbits with terms differing in every position:
  ``(x,y,z) + (x',y',z') → (x+x',y,z) + (x',y+y',z) + (x',y',z+z')``, a new
  orbit (rank +3).

**Six-fold symmetry** (``mirror=True``; Moosbauer & Poole's "6-way"
symmetry): the scheme is also invariant under ρ, conjugation of every factor
by the index reversal ``i → n-1-i`` (entry ``(i, j)`` to ``(n-1-i, n-1-j)``:
the low ``n²`` bits of a factor reversed).  ρ commutes with the shift and
maps the tensor to itself, so the orbits of three come in pairs: columns
``2k`` and ``2k+1`` hold ``(x, y, z)`` and ``(ρx, ρy, ρz)``.  Every move is
made on a column and copied, through ρ (:func:`image`), to its partner;
partners never flip with each other; a pair is dropped whole (rank −6) when
a factor is zero or when a column equals a rotation of its partner (the six
terms are then three terms twice, which cancel mod 2).  The rank moves in steps of six.

**Two-fold symmetry** (``mirror=True, cyclic=False``): one involution
alone.  ρ maps the tensor of every shape ⟨n,m,p⟩ to itself; the
transposition τ, ``(u, v, w) → (vᵀ, uᵀ, wᵀ)``, and ρτ map that of ⟨n,m,n⟩
to itself.  An involution is data: ``perm: int64 (3,)`` sends the factor of
position c to position ``perm[c]`` (τ swaps A and B), and ``table: uint64
(3, 8, 256)`` maps its bits, a byte at a time (:func:`image`).  A column is
one term, not an orbit of three, so two slots can only be equal in the same
position; the columns come in pairs as above, the partner of a column
holding its image, and a pair is dropped when a column equals its partner.
(The six-fold walk is the same with ``perm`` the identity and ``table``
ρ.)

``pairs: int32 (maxp, 4)`` lists the equal slots of different orbits as
``(r1, a, r2, b)`` and ``npairs: int64 (1,)`` their number; updated after a
flip, rebuilt after a change of the number of orbits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .flips_z2 import DONE, IMPROVED, STUCK, TARGET, delete, two_terms  # an orbit is a column
from .rng import next_u64, randint


def max_pairs(cap: int) -> int:
    """Room for the pair list of ``cap`` orbits (three slots each)."""
    slots = 3 * cap
    return max(1, slots * (slots - 1) // 2)


_BYTE = np.uint64(0xFF)
_S8 = np.uint64(8)
_NO_PERM = np.arange(3, dtype=np.int64)  # ``perm`` of the walks without an involution
_NO_TABLE = np.zeros((3, 8, 256), dtype=np.uint64)


@njit(cache=True, inline="always")
def image(x, c, table):
    """The involution's image of factor ``x`` of position ``c`` (a factor of
    position ``perm[c]``), read byte by byte from ``table: uint64 (3, 8, 256)``
    (see :func:`.symmetric.table`)."""
    y = np.uint64(0)
    k = 0
    while x:
        y |= table[c, k, x & _BYTE]
        x >>= _S8
        k += 1
    return y


@njit(cache=True, inline="always")
def partners(r1, r2, mirror):
    """True when columns r1 and r2 are the same orbit or (six-fold) ρ-partners."""
    return r1 == r2 or (mirror and (r1 ^ 1) == r2)


@njit(cache=True)
def delete_orbit(X, orbits, r, mirror):
    """Remove the orbit of column r (six-fold: with its partner; the last
    orbit takes its place); return the new number of columns."""
    if not mirror:
        return delete(X, orbits, r)
    k = r - (r & 1)
    for p in range(3):
        X[p, k] = X[p, orbits - 2]
        X[p, k + 1] = X[p, orbits - 1]
        X[p, orbits - 2] = 0
        X[p, orbits - 1] = 0
    return orbits - 2


@njit(cache=True)
def self_cancels(X, r, cyclic=True):
    """Six-fold: True when column r equals a rotation of its partner (its six
    terms are three terms twice, zero mod 2); two-fold (``cyclic=False``):
    when it equals its partner."""
    q = r ^ 1
    for s in range(3 if cyclic else 1):
        if (X[0, r] == X[s, q] and X[1, r] == X[(s + 1) % 3, q]
                and X[2, r] == X[(s + 2) % 3, q]):
            return True
    return False


@njit(cache=True, inline="always")
def aligned(a, b, cyclic):
    """Whether slots in positions a and b may be equal: any two in the cyclic
    walks (an orbit holds every rotation), the same position otherwise."""
    return cyclic or a == b


@njit(cache=True)
def rebuild_pairs(X, orbits, pairs, npairs, deg, mirror=False, cyclic=True):
    """List every pair of equal slots of different orbits, from scratch;
    ``deg: int64 (3, cap)`` gets each slot's number of partners."""
    n = 0
    deg[:, :] = 0
    for r1 in range(orbits):
        for a in range(3):
            x = X[a, r1]
            for r2 in range(r1 + 1, orbits):
                if partners(r1, r2, mirror):
                    continue
                for b in range(3):
                    if aligned(a, b, cyclic) and X[b, r2] == x:
                        pairs[n, 0] = r1
                        pairs[n, 1] = a
                        pairs[n, 2] = r2
                        pairs[n, 3] = b
                        deg[a, r1] += 1
                        deg[b, r2] += 1
                        n += 1
    npairs[0] = n


@njit(cache=True)
def _drop_pairs_of(pairs, npairs, deg, r, a):
    n = npairs[0]
    k = 0
    deg[a, r] = 0
    while k < n:
        if pairs[k, 0] == r and pairs[k, 1] == a:
            deg[pairs[k, 3], pairs[k, 2]] -= 1
        elif pairs[k, 2] == r and pairs[k, 3] == a:
            deg[pairs[k, 1], pairs[k, 0]] -= 1
        if (pairs[k, 0] == r and pairs[k, 1] == a) or (pairs[k, 2] == r and pairs[k, 3] == a):
            n -= 1
            for c in range(4):
                pairs[k, c] = pairs[n, c]
        else:
            k += 1
    npairs[0] = n


@njit(cache=True)
def _add_pairs_of(X, orbits, pairs, npairs, deg, r, a, mirror=False, cyclic=True):
    """Append the pairs of slot (a, r); return True when one of them makes a
    reduction (the two terms also agree in a neighbouring position)."""
    x = X[a, r]
    n = npairs[0]
    twin = False
    for r2 in range(orbits):
        if partners(r, r2, mirror):
            continue
        for b in range(3):
            if aligned(a, b, cyclic) and X[b, r2] == x:
                pairs[n, 0] = r2
                pairs[n, 1] = b
                pairs[n, 2] = r
                pairs[n, 3] = a
                deg[b, r2] += 1
                deg[a, r] += 1
                n += 1
                if (X[(a + 1) % 3, r] == X[(b + 1) % 3, r2]
                        or X[(a + 2) % 3, r] == X[(b + 2) % 3, r2]):
                    twin = True
    npairs[0] = n
    return twin


@njit(cache=True)
def reduce_all(X, orbits, mirror=False, perm=_NO_PERM, table=_NO_TABLE, cyclic=True):
    """Drop orbits with a zero factor (with ρ: and pairs that cancel) and
    merge orbits with terms equal in two positions until none are left;
    return the new number of columns.  ``perm``, ``table``: the involution
    (see :func:`walk`)."""
    changed = True
    while changed:
        changed = False
        r = 0
        while r < orbits:
            if (X[0, r] == 0 or X[1, r] == 0 or X[2, r] == 0
                    or (mirror and (r & 1) == 0 and self_cancels(X, r, cyclic))):
                orbits = delete_orbit(X, orbits, r, mirror)
                changed = True
            else:
                r += 1
        for r1 in range(orbits):
            for r2 in range(r1 + 1, orbits):
                if partners(r1, r2, mirror):
                    continue
                for a in range(3):
                    for b in range(3):
                        if (aligned(a, b, cyclic) and X[a, r1] == X[b, r2]
                                and X[(a + 1) % 3, r1] == X[(b + 1) % 3, r2]):
                            c = (a + 2) % 3
                            X[c, r1] ^= X[(b + 2) % 3, r2]
                            if mirror:
                                X[perm[c], r1 ^ 1] = image(X[c, r1], c, table)
                            orbits = delete_orbit(X, orbits, r2, mirror)
                            changed = True
                            break
                    if changed:
                        break
                if changed:
                    break
            if changed:
                break
    return orbits


@njit(cache=True)
def plus_transition(X, orbits, cap, rng, tries=64, mirror=False, perm=_NO_PERM,
                    table=_NO_TABLE, cyclic=True):
    """One plus transition on the terms of two random orbits; return the new
    number of columns (unchanged when no suitable pair was found or there is
    no room; six-fold: the new orbit comes with its partner)."""
    step = 2 if mirror else 1
    if orbits < 2 * step or orbits + step > cap:
        return orbits
    for _ in range(tries):
        r1, r2 = two_terms(rng, orbits)
        if partners(r1, r2, mirror):
            continue
        a = randint(rng, 3)
        b = randint(rng, 3) if cyclic else a
        x, y, z = X[a, r1], X[(a + 1) % 3, r1], X[(a + 2) % 3, r1]
        x2, y2, z2 = X[b, r2], X[(b + 1) % 3, r2], X[(b + 2) % 3, r2]
        if x == x2 or y == y2 or z == z2:
            continue
        X[a, r1] = x ^ x2
        X[a, orbits] = x2  # any rotation of the new orbit in the cyclic walks
        X[(a + 1) % 3, orbits] = y ^ y2
        X[(a + 2) % 3, orbits] = z
        X[(b + 2) % 3, r2] = z2 ^ z
        if mirror:
            c = (b + 2) % 3
            X[perm[a], r1 ^ 1] = image(X[a, r1], a, table)
            X[perm[c], r2 ^ 1] = image(X[c, r2], c, table)
            for p in range(3):
                X[perm[p], orbits + 1] = image(X[p, orbits], p, table)
        return orbits + step
    return orbits


@njit(cache=True)
def walk(X, state, pairs, npairs, deg, rng, max_flips, plateau, max_orbits, stop_below, target,
         sampling=0, mirror=False, perm=_NO_PERM, table=_NO_TABLE, cyclic=True):
    """Random orbit flips until something happens (as :func:`.flips_z2.walk`,
    counted in orbits).

    Args:
      X: ``uint64 (3, cap)`` representatives, changed in place.
      state: ``int64 (2,)``: ``[orbits, flips since the last reduction]``.
      pairs, npairs, deg: the pair list and partner counts (consistent with
        ``X`` on entry).
      rng: ``uint64 (1,)`` generator state.
      max_flips: flips to make at most in this call.
      plateau: flips without a reduction before a plus transition.
      max_orbits: plus transitions never raise the orbits above this.
      stop_below: return as soon as the orbits are below this.
      target: return as soon as the orbits are at most this.
      sampling: how a flip is drawn: 0 a uniform pair of equal slots; 1 a
        uniform factor value among those held twice or more, then a uniform
        pair of its holders (by rejection from uniform pairs: a pair whose
        first slot has d partners is kept with probability 1/(d(d+1))).
      mirror: the columns come in pairs under an involution (ρ in the six-
        fold walk, ρ, τ or ρτ in the two-fold one).
      perm: ``int64 (3,)``, the involution's permutation of positions: it
        maps the factor of position c to position ``perm[c]``.
      table: ``uint64 (3, 8, 256)``, the involution on factors, by bytes
        (:func:`image`).
      cyclic: a column is an orbit of the cyclic shift (three- and six-fold
        walks); ``False``: a column is one term (two-fold).
    Returns:
      ``(flips made, code)``, the codes of :mod:`.flips_z2`.
    """
    cap = X.shape[1]
    orbits = state[0]
    since = state[1]
    flips = 0
    code = DONE
    while flips < max_flips:
        if orbits <= target:
            code = TARGET
            break
        if orbits < stop_below:
            code = IMPROVED
            break
        total = npairs[0]
        if total == 0 or since >= plateau:
            new = orbits
            if orbits < max_orbits:
                new = plus_transition(X, orbits, min(cap, max_orbits), rng, 64, mirror,
                                      perm, table, cyclic)
            if new != orbits:
                orbits = reduce_all(X, new, mirror, perm, table, cyclic)
                rebuild_pairs(X, orbits, pairs, npairs, deg, mirror, cyclic)
                since = 0
                continue
            if total == 0:
                code = STUCK
                break
            since = 0
        k = randint(rng, total)
        r1, a, r2, b = pairs[k, 0], pairs[k, 1], pairs[k, 2], pairs[k, 3]
        if next_u64(rng) & np.uint64(1):
            r1, a, r2, b = r2, b, r1, a
        if sampling == 1:
            d = deg[a, r1]
            if randint(rng, d * (d + 1)) != 0:
                continue
        c1 = (a + 1) % 3
        c2 = (b + 2) % 3
        X[c1, r1] ^= X[(b + 1) % 3, r2]
        X[c2, r2] ^= X[(a + 2) % 3, r1]
        flips += 1
        since += 1
        if mirror:
            X[perm[c1], r1 ^ 1] = image(X[c1, r1], c1, table)
            X[perm[c2], r2 ^ 1] = image(X[c2, r2], c2, table)
        if (X[c1, r1] == 0 or X[c2, r2] == 0
                or (mirror and (self_cancels(X, r1, cyclic) or self_cancels(X, r2, cyclic)))):
            orbits = reduce_all(X, orbits, mirror, perm, table, cyclic)
            rebuild_pairs(X, orbits, pairs, npairs, deg, mirror, cyclic)
            since = 0
            continue
        _drop_pairs_of(pairs, npairs, deg, r1, c1)
        twin1 = _add_pairs_of(X, orbits, pairs, npairs, deg, r1, c1, mirror, cyclic)
        _drop_pairs_of(pairs, npairs, deg, r2, c2)
        twin2 = _add_pairs_of(X, orbits, pairs, npairs, deg, r2, c2, mirror, cyclic)
        if mirror:
            _drop_pairs_of(pairs, npairs, deg, r1 ^ 1, perm[c1])
            twin1 |= _add_pairs_of(X, orbits, pairs, npairs, deg, r1 ^ 1, perm[c1], mirror,
                                   cyclic)
            _drop_pairs_of(pairs, npairs, deg, r2 ^ 1, perm[c2])
            twin2 |= _add_pairs_of(X, orbits, pairs, npairs, deg, r2 ^ 1, perm[c2], mirror,
                                   cyclic)
        if twin1 or twin2:
            orbits = reduce_all(X, orbits, mirror, perm, table, cyclic)
            rebuild_pairs(X, orbits, pairs, npairs, deg, mirror, cyclic)
            since = 0
    state[0] = orbits
    state[1] = since
    return flips, code
