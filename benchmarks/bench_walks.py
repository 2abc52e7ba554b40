"""How the walks are organised: which restart strategy reaches a rank first.

Runs ``alphaalgo.localsearch.search`` from the schoolbook scheme of one shape
with several organisations of the walks, each for ``--seeds`` seeds and
``--budget`` seconds, ``--jobs`` processes at once (one core each), and prints
one JSON line per run and a Markdown table for ``benchmarks/RESULTS.md``
(rank reached per seed, and the seconds to each rank of ``--ranks``):

* ``pool``      — the default: restarts from a pool of schemes at the best
  rank after 3·10⁷ flips without a new best; a new best empties the pool;
* ``start``     — independent runs from the start (``restart="start"``);
* ``stepdown``  — the rank-by-rank pool (``restart="stepdown"``): many distinct
  schemes at each rank, each walked ``--walk`` flips at most, until
  ``--pool`` of them have reached the next rank;
* ``population`` — ``--pool`` walkers in one process that take turns; every
  ``--walk`` flips the walkers behind copy one at the best rank, and a walker
  that has not improved for ``10 · --walk`` flips resets to the last scheme at
  which it improved.
* ``stepdown-fast`` — ``stepdown`` that moves down a rank as soon as most walks
  from the level go below it (``fast_descent``);
* ``sandwich``  — ``pool`` with restarts after ``--walk`` flips, each restart's
  scheme under a random symmetry of the tensor (one elementary matrix per mode);
* ``split``     — the same, each restart's scheme with one term split in two;
* ``pool-short`` — ``pool`` with restarts after ``--walk`` flips (the baseline of
  the two above);
* ``dependent`` — ``pool`` with the linear-dependence reduction on
  (``SearchConfig.dependent``: a term also goes when, among the terms that
  share one factor with it, the factors in a second position are linearly
  dependent; about 4× fewer flips per second).
* ``guard``     — ``pool`` with the guard (``SearchConfig.guard``; ``--ring Z``
  only): a new low of the Z2 walk that does not Hensel-lift is undone, and the
  pool holds only schemes that lift;
* ``guard-stepdown`` — ``stepdown`` with the guard: a scheme joins its rank's
  pool only when it lifts.

``--ring ZT`` walks over {−1, 0, 1}; ``--ring Z`` walks over Z2 and counts
the schemes that Hensel-lift.

``--starts`` compares starts under the same walks: ``schoolbook`` (the default);
``merged``, the merge of walked halves that ``alphaalgo improve --shape`` starts
from when the schoolbook walk makes no reduction (``scratch.merged_start``, its
halves walked with the run's seed as ``improve`` walks them; the seconds this
takes are reported as ``start_s``, outside the budget); and scheme files of the
shape.

examples:
  .venv/bin/python benchmarks/bench_walks.py --shape 3,4,4 --ring Z2 --ranks 39,38 \\
      --budget 600 --seeds 0,1 --variants pool,stepdown
  .venv/bin/python benchmarks/bench_walks.py --shape 4,4,4 --ring Z2 --ranks 49,48,47 \\
      --budget 1800 --seeds 0 --variants stepdown --walk 3000000 --pool 200
  .venv/bin/python benchmarks/bench_walks.py --shape 4,4,5 --ring Z --ranks 63,62,61 \\
      --budget 600 --seeds 3,4,5 --variants pool,guard
  .venv/bin/python benchmarks/bench_walks.py --shape 3,4,5 --ring Z --ranks 49,48,47 \\
      --budget 900 --seeds 1,2,3 --variants stepdown --starts schoolbook,merged
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402


def settings(variant: str, walk: int, pool: int, ring: str, slack: int = 2,
             plateau: int = 20_000):
    from alphaalgo.localsearch import SearchConfig

    bound = dict(bound=1, plus_slack=slack, plateau=plateau)
    return {
        "pool": SearchConfig(**bound),
        "start": SearchConfig(restart="start", restart_after=walk, **bound),
        "stepdown": SearchConfig(restart="stepdown", restart_after=walk, pool_size=pool, **bound),
        "population": SearchConfig(restart="population", restart_after=walk, pool_size=pool,
                                   **bound),
        "stepdown-fast": SearchConfig(restart="stepdown", restart_after=walk, pool_size=pool,
                                      fast_descent=True, **bound),
        "sandwich": SearchConfig(restart_after=walk, sandwich=1, **bound),
        "split": SearchConfig(restart_after=walk, split=1, **bound),
        "pool-short": SearchConfig(restart_after=walk, **bound),
        "dependent": SearchConfig(dependent=True, **bound),
        "guard": SearchConfig(guard=True, **bound),
        "guard-stepdown": SearchConfig(restart="stepdown", restart_after=walk, pool_size=pool,
                                       guard=True, **bound),
    }[variant]


def start_scheme(shape: tuple[int, int, int], ring: str, start: str, seed: int = 0,
                 check: bool = False):
    """The scheme a run walks from: the schoolbook scheme, the merge of walked halves
    (``merged``; with ``check``, only whether the shape has halves), or the scheme
    in file ``start`` (of ``shape``, valid over the ring walked)."""
    from alphaalgo import formats, scratch, tensors

    held = "Z2" if ring == "Z2" else "Z"
    if start == "schoolbook":
        return tensors.naive_scheme(*shape, held)
    if start == "merged":
        if scratch.halves(shape) is None:
            raise SystemExit(f"merged: ⟨{','.join(map(str, shape))}⟩ has no index of 4 or more")
        if check:
            return None
        walk = scratch.walker(held, seed, "flips" if ring == "ZT" else "auto")
        return scratch.merged_start(shape, held, walk)
    try:
        scheme = formats.read_scheme(start, ring=held).scheme
    except formats.FormatError as exc:
        raise SystemExit(str(exc)) from None
    if tuple(scheme.shape) != tuple(shape) or not tensors.verify(scheme, held).valid:
        raise SystemExit(f"{start}: not a valid {held} scheme of ⟨{','.join(map(str, shape))}⟩")
    return scheme


def run_one(shape: tuple[int, int, int], ring: str, ranks: list[int], budget: float,
            variant: str, seed: int, walk: int, pool: int, slack: int = 2,
            plateau: int = 20_000, start_name: str = "schoolbook") -> dict:
    from alphaalgo import tensors
    from alphaalgo.localsearch import search

    t0 = time.monotonic()
    start = start_scheme(shape, ring, start_name, seed)
    start_s = round(time.monotonic() - t0, 1)
    how = dict(method="flips") if ring == "ZT" else {}
    res = search(start, ring="Z" if ring == "ZT" else ring, target_rank=min(ranks),
                 time_limit=budget, seed=seed, config=settings(variant, walk, pool, ring, slack, plateau), **how)
    assert tensors.verify(res.scheme, "Z" if ring == "ZT" else ring).valid
    if ring == "ZT":
        assert res.scheme.max_abs_coefficient() <= 1
    when = {}
    for r, _, t in res.history:
        for goal in ranks:
            if r <= goal and goal not in when:
                when[goal] = round(t, 1)
    return {"shape": ",".join(map(str, shape)), "ring": ring, "variant": variant, "seed": seed,
            "start": start_name, "start_rank": start.rank, "start_s": start_s,
            "walk": walk, "pool": pool, "plus_slack": slack, "plateau": plateau,
            "budget_s": budget, "rank": res.scheme.rank,
            "walk_rank": res.walk_rank, "seconds_to": {str(g): when.get(g) for g in ranks},
            "flips": res.flips, "flips_per_s": round(res.flips / max(res.seconds, 1e-9)),
            "restarts": res.restarts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="3,4,4")
    ap.add_argument("--ring", choices=("Z2", "Z", "ZT"), default="Z2")
    ap.add_argument("--ranks", default="39,38", help="ranks whose time to reach is reported")
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--variants", default="pool,stepdown")
    ap.add_argument("--walk", type=int, default=2_000_000,
                    help="flips per walk (start, stepdown, population)")
    ap.add_argument("--pool", type=int, default=64, help="schemes per rank / walkers")
    ap.add_argument("--plus-slack", type=int, default=2,
                    help="plus transitions up to the best rank + this")
    ap.add_argument("--plateau", type=int, default=20_000,
                    help="flips without a reduction before a plus transition")
    ap.add_argument("--starts", default="schoolbook",
                    help="comma-separated: 'schoolbook', 'merged' (the merge of walked halves "
                         "improve --shape starts from) and/or scheme files of the shape")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    shape = tuple(int(x) for x in args.shape.split(","))
    if args.ring != "Z" and any(v.startswith("guard") for v in args.variants.split(",")):
        ap.error("the guard variants keep a Z2 walk among schemes that lift: use --ring Z")
    ranks = sorted((int(x) for x in args.ranks.split(",")), reverse=True)
    print(json.dumps({"machine": machine()}), flush=True)
    starts = args.starts.split(",")
    for name in starts:
        start_scheme(shape, args.ring, name, check=True)  # bad input stops here, before any run
    # seed-major order: the runs of one seed go side by side, so each arm sees the same load
    runs = [(v, int(s), st) for s in args.seeds.split(",") for v in args.variants.split(",")
            for st in starts]
    rows = []
    with cf.ProcessPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_one, shape, args.ring, ranks, args.budget, v, s, args.walk,
                          args.pool, args.plus_slack, args.plateau, st) for v, s, st in runs]
        for fut in cf.as_completed(futs):
            rows.append(fut.result())
            line = json.dumps(rows[-1])
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(line + "\n")
    heads = " | ".join(f"s to {g}" for g in ranks)
    print(f"\n| walks | start | seed | rank | {heads} | flips/s |")
    print("|---|---|---|---|" + "---|" * len(ranks) + "---|")
    for row in sorted(rows, key=lambda r: (args.variants.split(",").index(r["variant"]),
                                           starts.index(r["start"]), r["seed"])):
        cells = " | ".join("–" if row["seconds_to"][str(g)] is None
                           else f"{row['seconds_to'][str(g)]}" for g in ranks)
        start = row["start"] if row["start"] == "schoolbook" else f"{row['start']} ({row['start_rank']})"
        print(f"| {row['variant']} | {start} | {row['seed']} | {row['rank']} | {cells} | "
              f"{row['flips_per_s'] / 1e6:.1f}·10⁶ |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
