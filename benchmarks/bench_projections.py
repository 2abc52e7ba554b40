"""Which projection of a larger scheme walks lowest: every start, walked briefly.

``improve --store`` walks one projection of a larger scheme (the one with the
fewest terms, :func:`alphaalgo.constructions.walk_starts`).  This measures
whether the others would do better.  From ``--source`` (a scheme of a larger
shape, any format the engine reads) it makes ``--variants`` schemes of the
same rank: variant 0 is the file's scheme, each other one the scheme after
``--variant-flips`` plain flips and reductions from it (never above its rank),
so each variant sits elsewhere on the same plateau.  From every variant, every
projection that drops one index along one axis, shrunk on to ``--shape`` by
:func:`alphaalgo.constructions.shrink` and de-duplicated by canonical hash, is
walked for ``--budget`` seconds (``--ring``: Z2, Z by Hensel lifting of a Z2
walk, or ZT, the ternary walk), stopped at ``--target-rank``.

One JSON line per start in ``--results`` (start rank, rank reached, seconds);
``--table`` prints how many starts reached each rank.  Nothing is read from the
catalogue; the source is whatever file is given.

examples:
  .venv/bin/python benchmarks/bench_projections.py \\
      --source kernels/schemes/alphaalgo-z-5x5x5-r93.json --source-ring Z2 \\
      --shape 4,5,5 --ring Z2 --target-rank 73 --variants 3 --budget 20 --jobs 2 \\
      --results runs/projections-455.jsonl
  .venv/bin/python benchmarks/bench_projections.py --table --results runs/projections-455.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import run_jobs  # noqa: E402

from alphaalgo import constructions, formats, tensors  # noqa: E402
from alphaalgo.localsearch.walk import Walker, search  # noqa: E402
from alphaalgo.tensors import Scheme  # noqa: E402

WALKS = {"Z2": dict(ring="Z2"), "Z": dict(ring="Z", method="lift"),
         "ZT": dict(ring="Z", method="flips")}


def variants(source: Scheme, count: int, flips: int, seed: int) -> list[Scheme]:
    """``source`` and ``count - 1`` schemes that plain flips reach from it
    without going above its rank (each verified in its ring)."""
    out = [source]
    for v in range(1, count):
        walker = Walker(source, source.ring, source.rank + 4, seed * 1000 + v)
        walker.run(flips, plateau=10**15, max_rank=source.rank)
        moved = walker.scheme()
        if not tensors.verify(moved, source.ring).valid:
            raise AssertionError("a plain walk left the scheme invalid")
        out.append(moved)
    return out


def starts(schemes: list[Scheme], shape: tuple[int, int, int]) -> list[tuple[str, Scheme]]:
    """Every one-index projection of each scheme, shrunk to ``shape``; distinct."""
    seen: set[str] = set()
    out = []
    for v, s in enumerate(schemes):
        for axis in range(3):
            for index in range(s.shape[axis]):
                p = constructions.project(s, axis, index)
                if not all(x >= y for x, y in zip(sorted(p.shape), shape)):
                    continue
                q = constructions.shrink(constructions.as_shape(p, tuple(sorted(p.shape))), shape)
                key = tensors.canonical_hash(q)
                if key not in seen:
                    seen.add(key)
                    out.append((f"v{v} {'nmp'[axis]}{index}", q))
    return out


def walk_one(job: tuple[str, Scheme, str, int, float, int]) -> dict:
    name, start, ring, target, budget, seed = job
    t = time.monotonic()
    res = search(start, target_rank=target, time_limit=budget, seed=seed, **WALKS[ring])
    # search verifies its result in the walk's ring before it returns it
    return {"start": name, "start_rank": start.rank, "rank": res.scheme.rank,
            "walk_rank": int(res.walk_rank), "seconds": round(time.monotonic() - t, 1),
            "flips": int(res.flips)}


def table(results: Path) -> str:
    """How many starts in the ``results`` file reached each rank (Markdown)."""
    rows = [json.loads(x) for x in results.read_text().splitlines() if x.strip()]
    by = collections.Counter(r["rank"] for r in rows if "rank" in r)
    lines = ["| rank reached | starts |", "|---|---|"]
    lines += [f"| {rank} | {by[rank]} |" for rank in sorted(by)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", help="a scheme of a larger shape")
    ap.add_argument("--source-ring", default=None,
                    help="read the source in this ring (Z2 to walk a Z scheme's reduction)")
    ap.add_argument("--shape", help="n,m,p of the starts")
    ap.add_argument("--ring", choices=tuple(WALKS), default="Z2")
    ap.add_argument("--target-rank", type=int, default=0)
    ap.add_argument("--variants", type=int, default=1)
    ap.add_argument("--variant-flips", type=int, default=2_000_000)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per start")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--results", required=True)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args(argv)
    results = Path(args.results)
    if args.table:
        print(table(results))
        return 0
    if not args.source or not args.shape:
        ap.error("--source and --shape are needed (or --table)")
    shape = tuple(sorted(formats.parse_shape(args.shape)))
    source = formats.read_scheme(args.source, ring=args.source_ring).scheme
    if not tensors.verify(source, source.ring).valid:
        ap.error(f"{args.source} is not a valid scheme over {source.ring}")
    found = starts(variants(source, args.variants, args.variant_flips, args.seed), shape)
    print(f"{len(found)} starts, ranks {min(s.rank for _, s in found)}–"
          f"{max(s.rank for _, s in found)}", flush=True)
    jobs = [(name, s, args.ring, args.target_rank, args.budget, args.seed + i)
            for i, (name, s) in enumerate(found)]
    run_jobs(results, argv, walk_one, jobs, args.jobs)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
