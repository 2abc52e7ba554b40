"""Time-to-rank of `alphaalgo discover`: several seeds, one shape and ring.

Each seed is a separate `alphaalgo discover` process (randomly initialised
parameters unless --params), with its own store in a temporary folder.
Prints one JSON line per run and a summary (runs reaching the target within the
limit, median time to it, how many of them the agent's own games reached
without local search, best rank, simulations/s); the machine's CPU model,
core count and load are printed with it.

JAX's compilation cache (``alphaalgo.cli._common.use_jax_cache``) is off by
default, so every run compiles as a first run would.  ``--jax-cache both``
measures what the cache saves, in one run: a warm-up run fills a cache folder,
then each seed runs twice, without the cache and with the warm one, and the
summary gives both medians and their ratio.

usage:
  .venv/bin/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z --target-rank 7 \
      --seeds 0,1,2,3,4 --time-limit 600
  .venv/bin/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z --target-rank 7 \
      --seeds 0,1,2 --time-limit 60 --params agents/small-2x2x2-Z.npz
  .venv/bin/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z --target-rank 7 \
      --seeds 0,1,2,3,4 --time-limit 600 --agent small-agent-only --demos runs/h222Z.sqlite
  .venv/bin/python benchmarks/bench_discover.py --shape 2,2,2 --ring Z --target-rank 7 \
      --seeds 0,1,2 --time-limit 120 --params agents/small-2x2x2-Z.npz --jax-cache both
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"


def run_one(args: argparse.Namespace, seed: int, folder: Path, jax_cache: str = "") -> dict:
    """One ``discover`` process; ``jax_cache`` is its compilation cache folder ("" for none)."""
    exe = Path(sys.executable).with_name("alphaalgo")
    tag = f"seed{seed}" + ("-cached" if jax_cache else "")
    for old in (folder / f"{tag}.db", folder / f"{tag}.json"):
        old.unlink(missing_ok=True)
    cmd = [str(exe), "discover", "--shape", args.shape, "--ring", args.ring,
           "--time-limit", str(args.time_limit), "--seed", str(seed), "--agent", args.agent,
           "--store", str(folder / f"{tag}.db"), "--out", str(folder / f"{tag}.json"),
           "--quiet"]
    if args.target_rank:
        cmd += ["--target-rank", str(args.target_rank)]
    if args.params:
        cmd += ["--params", args.params]
    if args.demos:
        cmd += ["--demos", args.demos]
    load0 = os.getloadavg()[0]
    t0 = time.time()
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=jax_cache)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.time() - t0
    out = proc.stdout
    best = re.search(r"best: rank (\d+)", out)
    reached = re.search(r"reached after ([\d.]+) s", out)
    sims = re.search(r"([\d.]+) simulations/s", out)
    agent_games = re.search(r"the agent's own games: (.*)", out)
    agent_reached = re.search(r"the agent itself played rank \d+ after ([\d.]+) s", out)
    provenance = best_after = None
    if best:
        import numpy as np  # noqa: F401  (formats needs numpy)
        from alphaalgo import formats, tensors

        rec = formats.read_scheme(folder / f"{tag}.json")
        assert tensors.verify(rec.scheme).valid, "the written scheme must verify"
        from alphaalgo.store import Store

        with Store(folder / f"{tag}.db") as st:
            rows = st.list_schemes(tuple(int(x) for x in args.shape.split(",")), args.ring)
            top = min(rows, key=lambda r: (r.rank, r.created)) if rows else None
            provenance = top.provenance.get("source") if top else None
            if top is not None and top.campaign_id is not None:
                start = datetime.datetime.fromisoformat(st.campaign(top.campaign_id)["created"])
                best_after = round((datetime.datetime.fromisoformat(top.created) - start).total_seconds(), 1)
    return {"seed": seed, "jax_cache": bool(jax_cache), "exit": proc.returncode, "best_rank": int(best.group(1)) if best else None,
            "reached_after_s": float(reached.group(1)) if reached else None,
            "found_by": provenance, "best_found_after_s": best_after,
            "agent_games": agent_games.group(1) if agent_games else None,
            "agent_reached_after_s": float(agent_reached.group(1)) if agent_reached else None,
            "wall_s": round(wall, 1),
            "sims_per_s": float(sims.group(1)) if sims else None,
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2),
            "stderr_tail": proc.stderr.strip().splitlines()[-1:] if proc.returncode == 2 else []}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="2,2,2")
    ap.add_argument("--ring", default="Z", choices=["Z", "Z2"])
    ap.add_argument("--target-rank", type=int, default=None)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("--agent", default="small")
    ap.add_argument("--params", default=None)
    ap.add_argument("--demos", default=None, help="a store of real schemes (alphaalgo harvest)")
    ap.add_argument("--keep", default=None, help="folder to keep the stores and schemes in")
    ap.add_argument("--jax-cache", choices=["off", "both"], default="off",
                    help="off: every run compiles (default); both: each seed without the "
                         "compilation cache and with a warm one, and their ratio")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}")
    print(f"# command: {' '.join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows, cached = [], []
        cache = str(folder / "jax-cache")
        if args.jax_cache == "both":
            warm = run_one(args, seeds[0], folder, cache)
            print(json.dumps(dict(warm, warm_up=True)), flush=True)
        for seed in seeds:
            row = run_one(args, seed, folder)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.jax_cache == "both":
                cached.append(run_one(args, seed, folder, cache))
                print(json.dumps(cached[-1]), flush=True)
    if cached:
        walls = [statistics.median(r["wall_s"] for r in rs) for rs in (rows, cached)]
        reach = [[r["reached_after_s"] for r in rs if r["reached_after_s"] is not None]
                 for rs in (rows, cached)]
        print(json.dumps({"jax_cache": "without vs warm", "median_wall_s": walls,
                          "wall_ratio": round(walls[0] / walls[1], 2),
                          "median_reached_after_s": [statistics.median(t) if t else None
                                                     for t in reach],
                          "exits": [[r["exit"] for r in rs] for rs in (rows, cached)]}))
    hit = [r for r in rows if r["reached_after_s"] is not None]
    times = sorted(r["reached_after_s"] for r in hit)
    ranks = [r["best_rank"] for r in rows if r["best_rank"] is not None]
    sims = [r["sims_per_s"] for r in rows if r["sims_per_s"]]
    print(json.dumps({
        "shape": args.shape, "ring": args.ring, "target_rank": args.target_rank,
        "time_limit_s": args.time_limit, "params": args.params, "demos": args.demos, "runs": len(rows),
        "reached": len(hit), "median_time_s": statistics.median(times) if times else None,
        "reached_by_the_agent_itself": sum(r["agent_reached_after_s"] is not None for r in rows),
        "best_rank": min(ranks) if ranks else None,
        "median_sims_per_s": statistics.median(sims) if sims else None,
        "machine": machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
