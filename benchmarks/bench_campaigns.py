"""Campaign throughput: games/s and simulations/s, local and on Ray, 1 and 2 actors.

Each configuration runs one `discover` campaign for --time-limit seconds on the
same target, preset and parameters (no target rank, so it never stops early),
in this process.  The rate is taken between the first progress report (the
first round played, so compilation is left out) and the end:
games/s = new games / seconds; simulations/s = games/s × simulations per move
× the move limit (every game runs the full batched search).  Configurations run
one after another in one invocation so their ratios are comparable.

usage:
  .venv/bin/python benchmarks/bench_campaigns.py --configs local,ray:1,ray:2 --time-limit 120
  .venv/bin/python benchmarks/bench_campaigns.py --configs ray:2 --address 127.0.0.1:6379
  .venv/bin/python benchmarks/bench_campaigns.py --configs ray:1,ray:2 --loopback-cluster
      (a private two-node cluster on this machine, as in tests/test_ray_cluster.py:
       head 2 CPUs + worker 2 CPUs, on loopback)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_discover import machine  # noqa: E402


def run(config: str, args: argparse.Namespace, folder: Path) -> dict:
    from alphaalgo import presets
    from alphaalgo.campaign import Campaign, CampaignSpec, game_config

    preset = presets.load_preset(args.agent)
    spec = CampaignSpec(shape=tuple(int(x) for x in args.shape.split(",")), ring=args.ring,
                        preset=preset, store=str(folder / f"{config.replace(':', '-')}.db"),
                        time_limit=args.time_limit, seed=args.seed, params=args.params)
    marks: list[tuple[float, int]] = []

    def report(st) -> None:
        marks.append((time.monotonic(), st.games))

    t0 = time.monotonic()
    if config == "local":
        camp = Campaign(spec, report, log=lambda m: None)
    else:
        from alphaalgo.distributed import RaySettings, ray_executor

        actors = int(config.split(":")[1])
        camp = Campaign(spec, report, log=lambda m: print(f"  {m}", file=sys.stderr),
                        executor=ray_executor(RaySettings(address=args.address, actors=actors)))
    result = camp.run()
    total = time.monotonic() - t0
    g = game_config(spec)
    sims_per_game = preset.search.num_simulations * g.max_moves
    (t1, g1), (t2, g2) = marks[0], marks[-1]
    rate = (g2 - g1) / (t2 - t1) if t2 > t1 else float("nan")
    return {"config": config, "seconds": round(total, 1), "games": result.stats.games,
            "games_per_s": round(rate, 3), "simulations_per_s": round(rate * sims_per_game, 1),
            "first_round_s": round(t1 - t0, 1), "best_rank": result.stats.best_rank,
            "updates": result.stats.updates}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="local,ray:1,ray:2",
                    help="comma-separated: local, ray:N (N self-play actors)")
    ap.add_argument("--shape", default="2,2,2")
    ap.add_argument("--ring", default="Z", choices=["Z", "Z2"])
    ap.add_argument("--agent", default="small")
    ap.add_argument("--params", default=str(REPO / "agents" / "small-2x2x2-Z.npz"))
    ap.add_argument("--time-limit", type=float, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--address", default=None, help="a running Ray cluster (default: start Ray here)")
    ap.add_argument("--loopback-cluster", action="store_true",
                    help="run the ray:N configurations on a private two-node cluster on this machine")
    args = ap.parse_args(argv)
    if args.loopback_cluster:
        return _in_loopback_cluster(args, argv if argv is not None else sys.argv[1:])
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    wanted = max([int(c.split(":")[1]) for c in args.configs.split(",") if c.startswith("ray:")] or [0])
    if wanted and args.address is None:
        # Ray on this machine with enough logical CPUs for the largest configuration
        # (N actors plus one for local search): on a small machine they share the cores.
        import ray

        ray.init(num_cpus=max(os.cpu_count() or 1, wanted + 1), include_dashboard=False,
                 logging_level="warning",
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    print(f"# {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs.split(","):
            row = run(config, args, Path(tmp))
            row["load_after"] = round(os.getloadavg()[0], 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["config"] == "local"), rows[0])
    print(f"\n| configuration | games/s | simulations/s | vs {base['config']} | first round (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['games_per_s']:.2f} | {r['simulations_per_s']:.0f} | "
              f"{r['games_per_s'] / base['games_per_s'] if base['games_per_s'] else float('nan'):.2f}× | "
              f"{r['first_round_s']} |")
    print(f"\n# {machine()}")
    return 0


def _in_loopback_cluster(args: argparse.Namespace, argv: list[str]) -> int:
    from alphaalgo.loopback import run_in_loopback_cluster

    if any(not c.startswith("ray:") for c in args.configs.split(",")):
        print("--loopback-cluster: only ray:N configurations", file=sys.stderr)
        return 2
    rest = [a for a in argv if a != "--loopback-cluster"]
    folder = Path(tempfile.mkdtemp(prefix="aa-bench-", dir="/tmp"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = run_in_loopback_cluster([[sys.executable, str(Path(__file__).resolve()), *rest,
                                     "--address", "{address}"]], folder, env=env, timeout=3600)
    out, rc = folder / "cmd0.txt", folder / "cmd0.rc"
    print(out.read_text() if out.exists() else proc.stderr)
    print("# on a two-node loopback cluster (head 2 CPUs, worker 2 CPUs) on this machine")
    code = int(rc.read_text()) if rc.exists() else proc.returncode
    shutil.rmtree(folder, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
