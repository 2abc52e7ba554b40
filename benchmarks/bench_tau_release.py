"""τ-invariant walks of ⟨n,m,n⟩ over Z2, released to the plain flip graph.

Each seed runs ``localsearch.search`` from the τ-invariant start of
``--blocks`` (``entries``: the n·m single entries ``a_ij b_ji c_ii``, the
default; ``grouped``: the n terms ``(a_i0+…)(b_0i+…)c_ii``) with the
transposition's walk (:mod:`alphaalgo.localsearch.tau`, its fixed terms moving)
for ``--release-after`` flips, then the plain Z2 walk from its lowest scheme
(``SearchConfig.release_after``), to ``--target`` or ``--time-limit`` seconds:
what ``alphaalgo improve --shape N,M,N --ring Z2 --symmetric --symmetry 2
--involution transpose --blocks entries --release-after F`` does with one
worker.  ``--jobs`` seeds run at once, one core each.

One JSON line per seed: the τ walk's rank, the rank reached, seconds to the
target (or none) and the walk's history; every result is verified over Z2,
and written with its command and seed to ``--out`` when given.  (The
twenty-second session's prototype of this walk, at dadbd2b, ran 240 fixed
1-s runs and released by hand; its figures are in RESULTS.md.)

example:
  .venv/bin/python benchmarks/bench_tau_release.py --shape 4,4,4 --target 47 \\
      --seeds 0,1,2,3,4 --jobs 2 --time-limit 1800 --out runs/tau
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402


def run_seed(shape: tuple[int, int, int], blocks: str, seed: int, release_after: int,
             time_limit: float, target: int, out: str | None, command: str) -> dict:
    """One τ walk and its release, from process start to its verified result."""
    from alphaalgo import formats, tensors
    from alphaalgo.localsearch import search, symmetric

    t0 = time.perf_counter()
    start = symmetric.start_for(shape, 2, None if blocks == "grouped" else blocks, "transpose")
    cfg = dataclasses.replace(symmetric.search_config(start.rank, 2, "transpose"),
                              release_after=release_after)
    res = search(start, ring="Z2", target_rank=target, time_limit=time_limit, seed=seed,
                 config=cfg)
    if not tensors.verify(res.scheme, "Z2").valid:
        raise AssertionError("the walk left an invalid scheme")
    reached = next((t for r, _, t in res.history if r <= target), None)
    row = {"shape": list(shape), "blocks": blocks, "seed": seed, "start_rank": start.rank,
           "release_after": release_after, "tau_rank": res.walks[0][1],
           "tau_s": res.walks[0][4], "rank": res.scheme.rank, "target": target,
           "s_to_target": None if reached is None else round(reached, 1),
           "seconds": round(time.perf_counter() - t0, 1),
           "history": [[r, f, round(t, 1)] for r, f, t in res.history]}
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        path = Path(out) / f"{'x'.join(map(str, shape))}-tau-seed{seed}-r{res.scheme.rank}.json"
        formats.write_schemes(str(path), [formats.SchemeRecord(
            f"{'x'.join(map(str, shape))} tau release", res.scheme,
            {"source": "benchmarks/bench_tau_release.py", "command": command, "seed": seed,
             "release_after": release_after, "blocks": blocks})])
        row["saved"] = str(path)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="4,4,4", metavar="N,M,N")
    ap.add_argument("--blocks", default="entries",
                    help="the start's fixed terms: 'entries' (default), 'grouped', or "
                         "improve --blocks text")
    ap.add_argument("--release-after", type=int, default=400_000_000, metavar="F",
                    help="flips of the τ walk before the release (default 4·10⁸)")
    ap.add_argument("--time-limit", type=float, default=1800.0, metavar="S")
    ap.add_argument("--target", type=int, default=47)
    ap.add_argument("--seeds", default="0", help="e.g. '0,1,2'")
    ap.add_argument("--jobs", type=int, default=1, help="seeds at once, one core each")
    ap.add_argument("--out", default=None, metavar="DIR")
    args = ap.parse_args()
    shape = tuple(int(x) for x in args.shape.split(","))
    print(json.dumps({"machine": machine()}), flush=True)
    command = " ".join(sys.argv)
    with cf.ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_seed, shape, args.blocks, s, args.release_after,
                               args.time_limit, args.target, args.out, command)
                   for s in map(int, args.seeds.split(","))]
        for fut in cf.as_completed(futures):
            print(json.dumps(fut.result()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
