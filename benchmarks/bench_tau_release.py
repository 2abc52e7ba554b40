"""⟨4,4,4⟩ over Z2 by a τ-invariant walk whose fixed terms move, then released.

A research prototype (twenty-second session, benchmarks/RESULTS.md), kept so its
figures can be remade; it belongs in ``localsearch.flips_sym`` once measured
further.  Shapes ⟨n,m,n⟩ with factors of at most 64 entries.

1. **Start.** ``symmetric.mirror_start`` under the transposition τ,
   ``(u, v, w) → (vᵀ, uᵀ, wᵀ)``, with the fixed terms of ``--blocks``
   (default: the n·m single entries ``a_ij b_ji c_ii`` of the schoolbook
   scheme, so nothing from outside the engine is used).
2. **The τ walk with moving fixed terms**, ``--runs`` independent runs of
   ``--run-seconds`` each (seeds ``seed·10⁶ + k``), the lowest kept.  A pair is
   stored as one term t (its partner is τ(t)); a fixed term as ``(u, w)``,
   the term ``u ⊗ uᵀ ⊗ w`` with w symmetric.  Moves, each keeping the
   expanded scheme (mod 2) and its τ-invariance:

   * flip of two terms of different pairs that share a factor (the partners
     flip alike);
   * the fixed flip: a pair term ``t = (u, x, y)`` whose A factor is a fixed
     term's u: ``w += y + yᵀ``, ``x += uᵀ``;
   * reductions: a pair with a zero factor is dropped; a pair whose term has
     ``B = Aᵀ`` collapses with its partner into the fixed term
     ``(A, y + yᵀ)``; fixed terms with equal u merge; two pairs with terms
     equal in two positions merge;
   * a plus transition (a new pair) after ``--plateau`` moves without a
     reduction, up to ``--slack`` above the run's best.

   The library's two-fold walk (``improve --symmetric --symmetry 2
   --involution transpose``) keeps its fixed terms frozen; that is the
   difference.
3. **Release.** The lowest scheme is walked by the plain Z2 flip graph,
   ``localsearch.search`` with its defaults (as ``improve FILE --ring Z2``),
   to ``--target`` or for ``--release-seconds``.

Every scheme is verified over Z2 before it counts; the result is written with
its command and seeds to ``--out``.

example:
  .venv/bin/python benchmarks/bench_tau_release.py --target 47 --out runs/tau
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo.localsearch.flips_sym import image  # noqa: E402
from alphaalgo.localsearch.flips_z2 import delete  # noqa: E402 (a pair is a column)
from alphaalgo.localsearch.rng import make_rng, randint  # noqa: E402


@njit(cache=True)
def _term(P, r, side, table, t):
    """Term ``side`` (0: the stored one, 1: its τ image) of pair r into t."""
    if side == 0:
        t[0] = P[0, r]
        t[1] = P[1, r]
        t[2] = P[2, r]
    else:
        t[0] = image(P[1, r], 1, table)
        t[1] = image(P[0, r], 0, table)
        t[2] = image(P[2, r], 2, table)


@njit(cache=True)
def _store(P, r, side, table, t):
    """Store t as term ``side`` of pair r."""
    if side == 0:
        P[0, r] = t[0]
        P[1, r] = t[1]
        P[2, r] = t[2]
    else:
        P[0, r] = image(t[1], 1, table)
        P[1, r] = image(t[0], 0, table)
        P[2, r] = image(t[2], 2, table)


@njit(cache=True)
def _add_fixed(F, nf, u, w):
    """Add ``u ⊗ uᵀ ⊗ w``, merged into a fixed term with the same u; the new count."""
    if w == 0 or u == 0:
        return nf
    for f in range(nf):
        if F[0, f] == u:
            F[1, f] ^= w
            if F[1, f] == 0:
                F[0, f] = F[0, nf - 1]
                F[1, f] = F[1, nf - 1]
                F[0, nf - 1] = 0
                F[1, nf - 1] = 0
                return nf - 1
            return nf
    F[0, nf] = u
    F[1, nf] = w
    return nf + 1


@njit(cache=True)
def _reduce(P, F, cnt, table):
    """Apply reductions until none applies; ``cnt = [pairs, fixed]``; the rank."""
    t1 = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    changed = True
    while changed:
        changed = False
        npairs = cnt[0]
        nf = cnt[1]
        r = 0
        while r < npairs:
            if P[0, r] == 0 or P[1, r] == 0 or P[2, r] == 0:
                npairs = delete(P, npairs, r)
                changed = True
                continue
            if P[1, r] == image(P[0, r], 0, table):  # t + τ(t) = u ⊗ uᵀ ⊗ (y + yᵀ)
                u = P[0, r]
                y = P[2, r]
                npairs = delete(P, npairs, r)
                nf = _add_fixed(F, nf, u, y ^ image(y, 2, table))
                changed = True
                continue
            r += 1
        done = False
        for r1 in range(npairs):
            if done:
                break
            _term(P, r1, 0, table, t1)
            for r2 in range(r1 + 1, npairs):
                for s2 in range(2):
                    _term(P, r2, s2, table, t2)
                    eq = 0
                    k = -1
                    for a in range(3):
                        if t1[a] == t2[a]:
                            eq += 1
                        else:
                            k = a
                    if eq >= 2:
                        if eq == 3:  # t1 + t2 = 0 mod 2, and so their partners
                            npairs = delete(P, npairs, r2)
                            npairs = delete(P, npairs, r1)
                        else:
                            t1[k] ^= t2[k]
                            _store(P, r1, 0, table, t1)
                            npairs = delete(P, npairs, r2)
                        changed = True
                        done = True
                        break
                if done:
                    break
        cnt[0] = npairs
        cnt[1] = nf
    return 2 * cnt[0] + cnt[1]


@njit(cache=True)
def _plus(P, cnt, table, rng):
    """(x,y,z) + (x',y',z') = (x+x',y,z) + (x',y+y',z) + (x',y',z+z') on two
    pairs' terms: one pair more (rank +2)."""
    npairs = cnt[0]
    if npairs < 2:
        return
    r1 = randint(rng, npairs)
    r2 = randint(rng, npairs - 1)
    if r2 >= r1:
        r2 += 1
    s2 = randint(rng, 2)
    t1 = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    _term(P, r1, 0, table, t1)
    _term(P, r2, s2, table, t2)
    a = randint(rng, 3)
    b = (a + 1) % 3
    c = (a + 2) % 3
    t3 = t2.copy()
    t3[c] = t2[c] ^ t1[c]
    n2 = t2.copy()
    n2[b] = t2[b] ^ t1[b]
    n2[c] = t1[c]
    t1[a] ^= t2[a]
    _store(P, r1, 0, table, t1)
    _store(P, r2, s2, table, n2)
    _store(P, npairs, 0, table, t3)
    cnt[0] = npairs + 1


@njit(cache=True)
def walk(P, F, cnt, table, rng, moves, plateau, slack, target, Pbest, Fbest, best_cnt):
    """``moves`` random moves (module docstring) from ``P: uint64 (3, cap)``
    pairs and ``F: uint64 (2, cap)`` fixed terms, counts ``cnt = [pairs,
    fixed]``; the lowest state so far is kept in ``Pbest, Fbest, best_cnt``
    (its rank is ``2·pairs + fixed``), which the call returns."""
    t = np.zeros(3, dtype=np.uint64)
    t2 = np.zeros(3, dtype=np.uint64)
    cand = np.zeros(P.shape[1] * 2 + F.shape[1], dtype=np.int64)
    rank = _reduce(P, F, cnt, table)
    best = 2 * best_cnt[0] + best_cnt[1]
    since = 0
    for _ in range(moves):
        npairs = cnt[0]
        nf = cnt[1]
        if npairs == 0:
            break
        r = randint(rng, npairs)
        side = randint(rng, 2)
        a = randint(rng, 3)
        _term(P, r, side, table, t)
        v = t[a]
        n = 0
        for r2 in range(npairs):
            if r2 != r:
                for s2 in range(2):
                    _term(P, r2, s2, table, t2)
                    if t2[a] == v:
                        cand[n] = 2 * r2 + s2
                        n += 1
        if a < 2:
            for f in range(nf):
                if (a == 0 and F[0, f] == v) or (a == 1 and image(F[0, f], 0, table) == v):
                    cand[n] = -1 - f
                    n += 1
        if n == 0:
            continue
        j = cand[randint(rng, n)]
        if j >= 0:  # flip two pairs' terms; their partners flip alike
            r2 = j // 2
            s2 = j % 2
            _term(P, r2, s2, table, t2)
            b = (a + 1 + randint(rng, 2)) % 3
            c = 3 - a - b
            t[b] ^= t2[b]
            t2[c] ^= t[c]
            _store(P, r, side, table, t)
            _store(P, r2, s2, table, t2)
        else:  # the fixed flip, with the pair's term whose A is u
            f = -1 - j
            u = F[0, f]
            if a == 1:
                side = 1 - side
                _term(P, r, side, table, t)
            y = t[2]
            F[1, f] ^= y ^ image(y, 2, table)
            t[1] ^= image(u, 0, table)
            _store(P, r, side, table, t)
        since += 1
        new = _reduce(P, F, cnt, table)
        if new < rank:
            since = 0
        rank = new
        if rank < best:
            best = rank
            Pbest[:, :] = P[:, :]
            Fbest[:, :] = F[:, :]
            best_cnt[0] = cnt[0]
            best_cnt[1] = cnt[1]
            if best <= target:
                return best
        if since > plateau:
            since = 0
            if rank + 2 <= best + slack:
                _plus(P, cnt, table, rng)
                rank = _reduce(P, F, cnt, table)
    return best


def _state(start, shape, cap: int):
    """``P, F, cnt`` of a τ-invariant Z2 scheme."""
    from alphaalgo.localsearch import symmetric

    fixed, cols = symmetric.split(start, 2, "transpose")
    P = np.zeros((3, cap), dtype=np.uint64)
    F = np.zeros((2, cap), dtype=np.uint64)
    reps = cols[:, 0::2]
    P[:, :reps.shape[1]] = reps
    for i, (u, _, w) in enumerate(fixed):
        F[:, i] = (u, w)
    return P, F, np.array([reps.shape[1], len(fixed)], dtype=np.int64)


def _scheme(shape, P, F, cnt, inv):
    """The verified Z2 scheme of a walk state."""
    from alphaalgo import tensors
    from alphaalgo.localsearch import symmetric

    npairs = int(cnt[0])
    X = np.zeros((3, 2 * npairs), dtype=np.uint64)  # each pair's term and its image
    for r in range(npairs):
        t = tuple(int(x) for x in P[:, r])
        X[:, 2 * r] = t
        X[:, 2 * r + 1] = symmetric.image_term(t, inv)
    fixed = [(int(u), symmetric.image_term((int(u), 0, 0), inv)[1], int(w))
             for u, w in F[:, :int(cnt[1])].T]
    scheme = symmetric.expand(shape, fixed, X, 2 * npairs, cyclic=False)
    if not tensors.verify(scheme, "Z2").valid:
        raise AssertionError("the τ walk left an invalid scheme")
    return scheme


def tau_walks(start, runs: int, seconds: float, seed: int, plateau: int, slack: int,
              target: int):
    """``runs`` independent τ walks of ``seconds`` each from the τ-invariant
    scheme ``start``: the lowest scheme, its run's seed and a count of the
    ranks the runs reached."""
    from alphaalgo.localsearch import symmetric

    shape = tuple(int(d) for d in start.shape)
    inv = symmetric.involution(shape, "transpose")
    table = symmetric.table(inv)
    cap = 4 * start.rank + 16
    best = None
    ranks: dict[int, int] = {}
    for k in range(runs):
        run_seed = seed * 10**6 + k
        P, F, cnt = _state(start, shape, cap)
        _reduce(P, F, cnt, table)
        Pb, Fb, bc = P.copy(), F.copy(), cnt.copy()
        rng = make_rng(run_seed)
        t0 = time.perf_counter()
        low = 2 * int(bc[0]) + int(bc[1])
        while time.perf_counter() - t0 < seconds and low > target:
            low = walk(P, F, cnt, table, rng, 100_000, plateau, slack, target, Pb, Fb, bc)
        ranks[low] = ranks.get(low, 0) + 1
        if best is None or low < best[0]:
            best = (low, run_seed, _scheme(shape, Pb, Fb, bc, inv))
    return best, dict(sorted(ranks.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="4,4,4", metavar="N,M,N")
    ap.add_argument("--blocks", default=None,
                    help="the start's fixed terms (symmetric.parse_fixed; default: the "
                         "single entries a_ij b_ji c_ii)")
    ap.add_argument("--runs", type=int, default=240, help="τ walks (default 240)")
    ap.add_argument("--run-seconds", type=float, default=1.0)
    ap.add_argument("--plateau", type=int, default=20_000)
    ap.add_argument("--slack", type=int, default=10)
    ap.add_argument("--release-seconds", type=float, default=600.0)
    ap.add_argument("--target", type=int, default=47)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, metavar="DIR")
    args = ap.parse_args()
    shape = tuple(int(x) for x in args.shape.split(","))
    n, m, _ = shape
    blocks = args.blocks or ";".join(f"{i}.{j}/{j}.{i}/{i}.{i}"
                                     for i in range(n) for j in range(m))
    from alphaalgo import formats, tensors
    from alphaalgo.localsearch import search, symmetric

    try:
        start = symmetric.start_for(shape, 2, blocks, "transpose")
    except ValueError as e:
        raise SystemExit(f"--shape/--blocks: {e}")
    print(json.dumps({"machine": machine()}), flush=True)
    t0 = time.perf_counter()
    (tau_rank, tau_seed, scheme), ranks = tau_walks(
        start, args.runs, args.run_seconds, args.seed, args.plateau, args.slack, args.target)
    tau_s = time.perf_counter() - t0
    row = {"shape": list(shape), "runs": args.runs, "run_seconds": args.run_seconds,
           "tau_ranks": ranks, "tau_rank": tau_rank, "tau_seed": tau_seed,
           "tau_s": round(tau_s, 1)}
    res = search(scheme, ring="Z2", target_rank=args.target, time_limit=args.release_seconds,
                 seed=args.seed)
    if not tensors.verify(res.scheme, "Z2").valid:
        raise AssertionError("the release left an invalid scheme")
    when = {r: t for r, _, t in res.history}
    row.update({"release_rank": res.scheme.rank, "release_s": round(res.seconds, 1),
                "release_s_to_target": round(when[args.target], 1) if args.target in when
                else None, "total_s": round(time.perf_counter() - t0, 1)})
    if args.out is not None:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        path = Path(args.out) / f"{'x'.join(map(str, shape))}-tau-release-seed{args.seed}-" \
                                f"r{res.scheme.rank}.json"
        formats.write_schemes(str(path), [formats.SchemeRecord(
            f"{'x'.join(map(str, shape))} tau release", res.scheme,
            {"source": "benchmarks/bench_tau_release.py", "command": " ".join(sys.argv),
             "seed": args.seed, "tau_seed": tau_seed, "tau_rank": tau_rank})])
        row["saved"] = str(path)
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
