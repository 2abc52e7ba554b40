"""Which finite field lifts to Z better: Z2 walks against Z3 walks, schemes counted.

Over Z the engine walks over a finite field and Hensel-lifts what it finds
(:mod:`alphaalgo.localsearch.lifting`).  This measures, for one shape, how many
of the schemes a walk over Z2 and a walk over Z3 reach lift to integer
schemes.  From ``--start`` (a Z scheme in any format the engine reads; the
naive scheme when none is given), each ring in ``--rings`` gets a rank-by-rank
pool walk (``restart="stepdown"``) of ``--budget`` seconds that goes down to
``--target-rank`` and then fills the pool there (``--pool-size`` distinct
schemes).  Every distinct scheme at the lowest rank it reached is lifted and
counted: an integer scheme (verified over Z), a rational one (verified over
Q, denominators prime to p) or none.

One JSON line per ring and seed in ``--results``; ``--table`` prints them as
Markdown.  Nothing is read from the catalogue; the start is whatever file is given.

examples:
  .venv/bin/python benchmarks/bench_lifting.py --shape 3,5,5 \\
      --start kernels/schemes/alphaalgo-z-3x5x5-r59.json --target-rank 58 \\
      --rings Z2,Z3 --budget 600 --seeds 0 --jobs 2 --results runs/lifting-355.jsonl
  .venv/bin/python benchmarks/bench_lifting.py --table --results runs/lifting-355.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import run_jobs  # noqa: E402

from alphaalgo import formats, tensors  # noqa: E402
from alphaalgo.localsearch.lifting import lift  # noqa: E402
from alphaalgo.localsearch.walk import SearchConfig, search  # noqa: E402
from alphaalgo.tensors import Scheme  # noqa: E402


def walk_and_lift(job: tuple[Scheme, str, int, float, int, int]) -> dict:
    """One ring's pool walk from ``start`` and the lifts of what it reached."""
    start, ring, target, budget, pool_size, seed = job
    prime = tensors.modulus(ring)
    held, why = tensors.as_ring(start, ring)
    if held is None:
        raise ValueError(why)
    t = time.monotonic()
    cfg = SearchConfig(restart="stepdown", pool_size=pool_size)
    res = search(held, ring=ring, target_rank=target, time_limit=budget, seed=seed,
                 config=cfg, fill_pool=True)
    walked = time.monotonic() - t
    t = time.monotonic()
    integral = rational = failed = 0
    reasons: dict[str, int] = {}
    for s in res.pool:  # distinct and verified in ``ring`` by search
        out = lift(s, prime=prime)
        if out.scheme is None:
            failed += 1
            key = out.reason.split(" at ")[0]
            reasons[key] = reasons.get(key, 0) + 1
        elif out.scheme.is_integral and tensors.verify(out.scheme, "Z").valid:
            integral += 1
        else:
            rational += 1
    return {"ring": ring, "seed": seed, "start_rank": start.rank, "rank": res.scheme.rank,
            "schemes": len(res.pool), "integral": integral, "rational": rational,
            "failed": failed, "reasons": reasons, "walk_seconds": round(walked, 1),
            "lift_seconds": round(time.monotonic() - t, 1), "flips": int(res.flips)}


def table(results: Path) -> str:
    """The rows of the ``results`` file (Markdown)."""
    rows = [json.loads(x) for x in results.read_text().splitlines() if x.strip()]
    lines = ["| walk | seed | start | rank reached | schemes there | lift to Z | to Q only "
             "| fail | walk s | lift s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "ring" not in r:
            continue
        lines.append(f"| {r['ring']} | {r['seed']} | {r['start_rank']} | {r['rank']} | "
                     f"{r['schemes']} | {r['integral']} | {r['rational']} | {r['failed']} | "
                     f"{r['walk_seconds']} | {r['lift_seconds']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", help="n,m,p")
    ap.add_argument("--start", help="a Z scheme of that shape (default: the naive scheme)")
    ap.add_argument("--rings", default="Z2,Z3", help="walk rings, of Z2 and Z3")
    ap.add_argument("--target-rank", type=int, default=0,
                    help="walk down to this rank, then fill the pool there")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per walk")
    ap.add_argument("--pool-size", type=int, default=64)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--results", required=True)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args(argv)
    results = Path(args.results)
    if args.table:
        print(table(results))
        return 0
    if not args.shape:
        ap.error("--shape is needed (or --table)")
    rings = [r.strip() for r in args.rings.split(",") if r.strip()]
    if not rings or any(r not in ("Z2", "Z3") for r in rings):
        ap.error("--rings takes Z2 and Z3")
    shape = formats.parse_shape(args.shape)
    if args.start:
        start = formats.read_scheme(args.start, ring="Z", shape=shape).scheme
    else:
        start = tensors.naive_scheme(*shape, "Z")
    if start.shape != shape or not tensors.verify(start, "Z").valid:
        ap.error(f"the start is not a valid ⟨{args.shape}⟩ scheme over Z")
    jobs = [(start, ring, args.target_rank, args.budget, args.pool_size, int(seed))
            for seed in args.seeds.split(",") for ring in rings]
    run_jobs(results, argv, walk_and_lift, jobs, args.jobs)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
