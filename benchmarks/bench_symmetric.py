"""Symmetric flip graphs: which walk settings reach ⟨n,n,n⟩'s record, and how fast.

Runs ``alphaalgo.localsearch.search`` on the cyclic-invariant start of
⟨n,n,n⟩ (``localsearch.symmetric.start``) over Z2 with several settings, each
for ``--seeds`` seeds and ``--budget`` seconds, in ``--jobs`` processes at
once, and prints one JSON line per run and a Markdown table for
``benchmarks/RESULTS.md``:

* ``pool``   — the plain walk's defaults: restarts from the pool at the best
  rank, plus transitions after 20,000 flips up to best + 2, flips drawn as a
  uniform pair;
* ``pool-wide`` — the same with plateau 16,667, slack of a third of the start
  rank and flips drawn by factor value;
* ``start``  — ``symmetric.search_config``: as ``pool-wide`` but each restart
  is a fresh run from the start (independent runs, ended after 3.3·10⁷ orbit
  flips without a new best of their own);
* ``start-pairs`` — ``start`` with flips drawn as a uniform pair;
* ``start-long`` — ``start`` with the run lengths Moosbauer & Poole's input file for
  ⟨6,6,6⟩ gives (``jakobmoosbauer/symmetric-flips``, ``code/r6-153-1.txt``: a plus
  transition every 500,000 flips, a run ended after 10⁹ flips without a new best,
  plus transitions up to rank 216), counted in orbit flips (a third) and with the
  rank limit taken as 60 above the run's best: ten times ``start``'s plateau and
  run length;
* ``product`` — ``start``'s settings from another start: the tensor product of
  cyclic-invariant schemes of ⟨d,d,d⟩ and ⟨n/d,n/d,n/d⟩ that this script first
  finds with the symmetric walk itself (seed ``seed``), each walked to its Z2
  record (``records.best_known_rank``) or for 300 s (⟨2,2,2⟩ 7 and ⟨3,3,3⟩ 23
  for n = 6: a start of rank 161).

``--symmetry 6`` walks schemes that are also invariant under the index
reversal (Moosbauer & Poole's six-fold symmetry; an orbit flip is then six
flips, and the rank moves in steps of six); ``--blocks`` chooses the fixed
cubes (``symmetric.parse_blocks``; Moosbauer & Poole's ⟨6,6,6⟩ input file uses
``0,1;2,3;4,5``).  ``product`` is three-fold only.

``--symmetry 2`` walks schemes invariant under the index reversal alone, which
every shape has: ``--shape n,m,p`` (instead of ``--n``), and ``--blocks`` gives
the fixed terms' entries (``symmetric.parse_fixed``, e.g. ``0.0,3.3/0.2,3.2/2.0,2.3``
for ⟨4,4,5⟩; default none).  ``--involution transpose`` or ``both`` keeps the
transposition (with the reversal) instead, on shapes ⟨n,m,n⟩
(``symmetric.involution``).

examples:
  .venv/bin/python benchmarks/bench_symmetric.py --n 5 --target 93 --budget 300 --seeds 0,1,2
  .venv/bin/python benchmarks/bench_symmetric.py --n 6 --target 153 --budget 3600 \\
      --variants start --seeds 0
  .venv/bin/python benchmarks/bench_symmetric.py --n 6 --target 153 --budget 3600 \\
      --symmetry 6 --variants start,start-long --seeds 0 --jobs 2
  .venv/bin/python benchmarks/bench_symmetric.py --symmetry 2 --shape 4,4,5 --target 60 \\
      --budget 1800 --variants start,pool-wide --seeds 0,1
  .venv/bin/python benchmarks/bench_symmetric.py --symmetry 2 --involution transpose \\
      --shape 4,5,4 --target 60 --budget 1200 --variants start --seeds 0,1
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo.localsearch.walk import INVOLUTIONS  # noqa: E402


def settings(variant: str, start_rank: int, symmetry: int = 3, involution: str = "reverse"):
    from alphaalgo.localsearch import SearchConfig, symmetric

    best = symmetric.search_config(start_rank, symmetry, involution)
    return {
        "pool": SearchConfig(symmetric=True, symmetry=symmetry, involution=involution),
        "pool-wide": dataclasses.replace(best, restart="pool", restart_after=30_000_000),
        "start": best,
        "start-pairs": dataclasses.replace(best, sampling="pairs"),
        "start-long": dataclasses.replace(best, plateau=166_667, restart_after=333_000_000,
                                          plus_slack=60),
        "product": best,
    }[variant]


def product_start(n: int, seed: int):
    """The cyclic-invariant product start of ⟨n,n,n⟩: ⟨d,d,d⟩ ⊗ ⟨n/d,n/d,n/d⟩ for the
    smallest divisor 1 < d < n, each factor found by the symmetric walk from scratch."""
    from alphaalgo import tensors
    from alphaalgo.localsearch import search, symmetric
    from alphaalgo.records import best_known_rank

    d = next((d for d in range(2, n) if n % d == 0), None)
    if d is None:
        raise SystemExit(f"--variants product needs a composite n, got {n}")
    parts = []
    for k in (d, n // d):
        start = symmetric.start(k)
        res = search(start, ring="Z2", target_rank=best_known_rank((k, k, k), "Z2"),
                     time_limit=300, seed=seed, config=symmetric.search_config(start.rank))
        parts.append(res.scheme)
    return tensors.kron(*parts)


def run_one(shape: tuple[int, int, int], target: int, budget: float, variant: str, seed: int,
            symmetry: int = 3, blocks: str | None = None, out: str | None = None,
            involution: str = "reverse") -> dict:
    from alphaalgo import formats, tensors
    from alphaalgo.localsearch import search, symmetric

    n = shape[0]
    start = (product_start(n, seed) if variant == "product"
             else symmetric.start_for(shape, symmetry, blocks, involution))
    res = search(start, ring="Z2", target_rank=target, time_limit=budget, seed=seed,
                 config=settings(variant, start.rank, symmetry, involution))
    assert tensors.verify(res.scheme, "Z2").valid
    symmetric.split(res.scheme, symmetry, involution)  # raises unless it kept the symmetry
    name = "x".join(map(str, shape)) + ("" if involution == "reverse" else f"-{involution}")
    saved = None
    if out is not None:
        saved = str(Path(out) / f"{name}-{symmetry}fold-{variant}-seed{seed}-"
                                f"r{res.scheme.rank}.json")
        formats.write_schemes(saved, [formats.SchemeRecord(
            f"{name} {symmetry}-fold", res.scheme,
            {"source": "benchmarks/bench_symmetric.py", "variant": variant, "seed": seed,
             "symmetry": symmetry, "involution": involution, "blocks": blocks,
             "budget_s": budget})])
    when = {r: t for r, _, t in res.history}
    return {"shape": list(shape), "variant": variant, "symmetry": symmetry,
            "involution": involution, "blocks": blocks,
            "seed": seed,
            "budget_s": budget, "target": target,
            "rank": res.scheme.rank, "reached": res.reached_target,
            "seconds_to_target": round(when[target], 1) if target in when else None,
            "flips": res.flips, "flips_per_s": round(res.flips / max(res.seconds, 1e-9)),
            "restarts": res.restarts, "start_rank": start.rank, "saved": saved,
            "history": [[r, round(t, 1)] for r, _, t in res.history]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5, help="the square shape ⟨n,n,n⟩ (default 5)")
    ap.add_argument("--shape", default=None, metavar="N,M,P",
                    help="with --symmetry 2: any shape (instead of --n)")
    ap.add_argument("--target", type=int, default=93)
    ap.add_argument("--budget", type=float, default=300.0)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--variants", default="pool,pool-wide,start,start-pairs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--symmetry", type=int, choices=(2, 3, 6), default=3,
                    help="3: the cyclic shift; 6: also the index reversal; 2: the reversal "
                         "alone, any shape (default 3)")
    ap.add_argument("--blocks", default=None,
                    help="the fixed cubes' diagonal blocks, e.g. '0,1;2,3;4,5' (default: "
                         "symmetric.default_blocks); --symmetry 2: the fixed terms' entries")
    ap.add_argument("--involution", choices=INVOLUTIONS, default="reverse",
                    help="with --symmetry 2: the index reversal (default), the transposition "
                         "(shapes n,m,n) or both")
    ap.add_argument("--out", default=None, metavar="DIR",
                    help="write each run's best scheme (verified, .json) into this folder")
    args = ap.parse_args()
    if args.out is not None:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.symmetry != 3 and "product" in args.variants.split(","):
        raise SystemExit("--variants product is three-fold only (--symmetry 3)")
    if args.involution != "reverse" and args.symmetry != 2:
        raise SystemExit("--involution is for --symmetry 2")
    if args.shape is not None and args.symmetry != 2:
        raise SystemExit("--shape is for --symmetry 2 (the cyclic walks take --n)")
    shape = (tuple(int(x) for x in args.shape.split(",")) if args.shape
             else (args.n, args.n, args.n))
    from alphaalgo.localsearch import symmetric

    try:
        symmetric.start_for(shape, args.symmetry, args.blocks, args.involution)
    except ValueError as e:
        raise SystemExit(f"--blocks/--involution: {e}")
    print(json.dumps({"machine": machine()}), flush=True)
    runs = [(v, int(s)) for v in args.variants.split(",") for s in args.seeds.split(",")]
    rows = []
    with cf.ProcessPoolExecutor(args.jobs) as pool:
        futs = [pool.submit(run_one, shape, args.target, args.budget, v, s, args.symmetry,
                            args.blocks, args.out, args.involution) for v, s in runs]
        for fut in cf.as_completed(futs):
            rows.append(fut.result())
            print(json.dumps(rows[-1]), flush=True)
    kept = f"{args.symmetry}-fold" + (f", {args.involution}" if args.symmetry == 2 else "")
    print(f"\n| settings ({kept}) | ⟨{','.join(map(str, shape))}⟩ over Z2, rank "
          f"reached per seed "
          f"(seconds to {args.target}) | orbit flips/s |")
    print("|---|---|---|")
    for v in args.variants.split(","):
        mine = sorted((r for r in rows if r["variant"] == v), key=lambda r: r["seed"])
        cells = ", ".join(f"{r['rank']}" + (f" ({r['seconds_to_target']} s)" if r["reached"] else "")
                          for r in mine)
        rate = sum(r["flips_per_s"] for r in mine) / max(len(mine), 1)
        print(f"| {v} | {cells} | {rate / 1e6:.1f}·10⁶ |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
