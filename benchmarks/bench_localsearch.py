"""Local search (flip graphs): flips per second and time to rank.

Two measurements, each printed as one JSON object per line plus a Markdown
row for ``benchmarks/RESULTS.md``:

* ``throughput`` — flips per second of the Z2 kernel (``--ring Z2``), the
  ternary walk (``--ring ZT``) or the same kernels mod 3 (``--ring Z3``) on ``--shape`` (⟨3,3,3⟩ by default), walking at
  a working rank (the walk is first brought down to it, then timed for
  ``--flips`` flips with the target out of reach), in ``--workers`` processes
  at once (one per core) so the per-core figure is taken with every core busy.
* ``rank`` — a search from the naive scheme of ``--shape`` to
  ``--target``, with a time budget: the rank reached, the time each rank was
  first reached, flips per second, and (``--lift``) whether the result lifts
  to Z.  ``--ring Z`` walks over Z2 and keeps only schemes that lift
  (``alphaalgo.localsearch.search`` with method ``lift``).

* ``startup`` — ``alphaalgo improve --shape 3,3,3 --ring Z2 --target-rank 23``
  run ``--runs`` times as a user runs it: the median time from process start
  to exit.

examples:
  .venv/bin/python benchmarks/bench_localsearch.py throughput --flips 50000000 --workers 2
  .venv/bin/python benchmarks/bench_localsearch.py throughput --shape 4,4,4 --ring ZT \
      --flips 20000000
  .venv/bin/python benchmarks/bench_localsearch.py startup --runs 11
  .venv/bin/python benchmarks/bench_localsearch.py rank --shape 3,3,3 --ring Z2 --target 23 \\
      --budget 60 --lift
  .venv/bin/python benchmarks/bench_localsearch.py rank --shape 4,4,4 --ring Z --target 49 \\
      --budget 300 --out runs/s444_49.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import time

from alphaalgo import formats, tensors
from alphaalgo.localsearch import SearchConfig, Walker, lift, search


def run_jobs(results, argv, fn, jobs, processes: int) -> None:
    """``fn(job)`` for each job in ``processes`` processes, each row appended to the
    JSONL file ``results`` as it comes (after a line with the command and the machine)."""
    import concurrent.futures as cf
    import sys

    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a", encoding="utf-8") as fh:
        command = sys.argv if argv is None else [sys.argv[0], *argv]
        fh.write(json.dumps({"command": " ".join(command), "machine": machine()}) + "\n")
        with cf.ProcessPoolExecutor(processes) as pool:
            for row in pool.map(fn, jobs):
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(row, flush=True)


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _throughput_worker(args: tuple[int, int, tuple, str, int | None]) -> dict:
    flips, seed, shape, ring, working = args
    from alphaalgo import catalog

    held = "Z" if ring == "ZT" else ring
    start = tensors.naive_scheme(*shape, ring=held)
    cfg = SearchConfig()
    record = catalog.best_known_rank(shape, "Z" if ring in ("ZT", "Z3") else ring) or start.rank
    working = working or record + 2
    w = Walker(start, held, start.rank + cfg.plus_slack + 2, seed, bound=1)
    t_down = time.perf_counter()
    while w.rank > working and time.perf_counter() - t_down < 120:  # down to the working rank
        w.run(1_000_000, plateau=cfg.plateau, max_rank=w.rank + cfg.plus_slack, target=working)
    at = w.rank
    w.run(10_000, plateau=cfg.plateau, max_rank=at + cfg.plus_slack, target=-1)  # warm up
    t0 = time.perf_counter()
    made, _ = w.run(flips, plateau=cfg.plateau, max_rank=at + cfg.plus_slack, target=-1)
    dt_s = time.perf_counter() - t0
    final = w.scheme()
    if not tensors.verify(final, ring).valid:
        raise AssertionError("the walk left the scheme invalid")
    return {"flips": made, "seconds": dt_s, "flips_per_s": made / dt_s, "working_rank": at,
            "final_rank": w.rank}


def cmd_throughput(args: argparse.Namespace) -> None:
    shape = formats.parse_shape(args.shape)
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(_throughput_worker, [(args.flips, 100 + i, shape, args.ring, args.rank)
                                                for i in range(args.workers)])
    per_core = [r["flips_per_s"] for r in results]
    out = {"bench": "throughput", "shape": list(shape), "ring": args.ring,
           "workers": args.workers, "working_rank": [r["working_rank"] for r in results],
           "per_core_flips_per_s": per_core, "total_flips_per_s": sum(per_core),
           "machine": machine()}
    print(json.dumps(out))
    print(f"| ⟨{args.shape}⟩ {args.ring} flips/s per core at rank "
          f"{', '.join(str(r['working_rank']) for r in results)}, {args.workers} processes | "
          + ", ".join(f"{x / 1e6:.2f}·10⁶" for x in per_core)
          + f" (total {sum(per_core) / 1e6:.2f}·10⁶) |")


def cmd_rank(args: argparse.Namespace) -> None:
    shape = formats.parse_shape(args.shape)
    start = tensors.naive_scheme(*shape, ring=args.ring)
    last = [0.0]

    def progress(rank: int, flips: int, seconds: float) -> None:
        if seconds - last[0] >= args.report_every:
            last[0] = seconds
            print(f"  … {seconds:7.1f} s  rank {rank}  {flips:,} flips", flush=True)

    res = search(start, ring=args.ring, target_rank=args.target, time_limit=args.budget,
                 seed=args.seed, progress=progress)
    best = res.scheme
    if not tensors.verify(best).valid:
        raise AssertionError("search returned an invalid scheme")
    out = {"bench": "rank", "shape": list(shape), "ring": args.ring, "target": args.target,
           "budget_s": args.budget, "seed": args.seed, "rank": best.rank,
           "walk_rank": res.walk_rank, "reached": res.reached_target,
           "seconds": round(res.seconds, 2), "flips": res.flips,
           "flips_per_s": round(res.flips / max(res.seconds, 1e-9)),
           "restarts": res.restarts,
           "first_reached": [[r, round(s, 2)] for r, _, s in res.history],
           "machine": machine()}
    if args.lift and best.ring == "Z2":
        t0 = time.perf_counter()
        lifted = None
        for cand in res.pool:
            got = lift(cand)
            if got.lifted:
                lifted = got.scheme
                break
        out["lift"] = {"lifted": lifted is not None, "tried": len(res.pool),
                       "seconds": round(time.perf_counter() - t0, 2),
                       "integral": bool(lifted is not None and lifted.is_integral),
                       "max_abs_coefficient": (str(lifted.max_abs_coefficient())
                                               if lifted is not None else None)}
        if lifted is not None:
            assert tensors.verify(lifted, "Q").valid
            best = lifted
    if args.out:
        formats.write_schemes(args.out, [formats.SchemeRecord(
            f"ls_{'x'.join(map(str, shape))}_{best.rank}", best,
            {"source": "benchmarks/bench_localsearch.py", "seed": args.seed,
             "seconds": out["seconds"]})])
    print(json.dumps(out))
    when = dict((r, s) for r, s in out["first_reached"])
    t_target = when.get(args.target)
    lift_note = ""
    if "lift" in out:
        lift_note = "; lifted to Z" if out["lift"]["lifted"] else "; did not lift"
    print(f"| ⟨{','.join(map(str, shape))}⟩ {args.ring} → {args.target} | rank {best.rank} "
          f"in {out['seconds']} s (budget {args.budget:g} s"
          + (f", target at {t_target} s" if t_target is not None else "")
          + f"){lift_note} | {out['flips_per_s'] / 1e6:.2f}·10⁶ flips/s | seed {args.seed} |")


def cmd_startup(args: argparse.Namespace) -> None:
    import statistics
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    exe = Path(sys.executable).with_name("alphaalgo")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            cmd = [str(exe), "improve", "--shape", "3,3,3", "--ring", "Z2", "--target-rank",
                   "23", "--seed", str(i), "--quiet", "--out", f"{tmp}/s{i}.json"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
    out = {"bench": "startup", "runs": args.runs, "seconds": [round(t, 3) for t in times],
           "median_s": round(statistics.median(times), 3), "machine": machine()}
    print(json.dumps(out))
    print(f"| `improve --shape 3,3,3 --ring Z2 --target-rank 23`, process start to exit | "
          f"median {out['median_s']} s of {args.runs} runs (min {min(times):.3f}, "
          f"max {max(times):.3f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput", help="flips per second of a walk (⟨3,3,3⟩ over Z2 by default)")
    t.add_argument("--flips", type=int, default=50_000_000)
    t.add_argument("--workers", type=int, default=1)
    t.add_argument("--shape", default="3,3,3")
    t.add_argument("--ring", choices=("Z2", "ZT", "Z3"), default="Z2",
                   help="Z2: the bit-packed walk; ZT: the walk over {-1, 0, 1}; Z3: the "
                        "same masks, sums mod 3")
    t.add_argument("--rank", type=int, default=None,
                   help="the rank to time the walk at (default: the record + 2, or the lowest "
                        "reached in 120 s)")
    t.set_defaults(func=cmd_throughput)
    u = sub.add_parser("startup", help="end-to-end time of a small improve run")
    u.add_argument("--runs", type=int, default=11)
    u.set_defaults(func=cmd_startup)
    r = sub.add_parser("rank", help="time to rank from the naive scheme")
    r.add_argument("--shape", required=True)
    r.add_argument("--ring", choices=("Z", "Z2"), default="Z2")
    r.add_argument("--target", type=int, required=True)
    r.add_argument("--budget", type=float, default=60.0, help="seconds")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--lift", action="store_true", help="lift the Z2 result to Z")
    r.add_argument("--out", default=None, help="write the best scheme here")
    r.add_argument("--report-every", type=float, default=60.0, help="seconds between reports")
    r.set_defaults(func=cmd_rank)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
