"""A/B: the agent with local search against local search alone, same budget.

For each seed, two processes with the same time limit and one core each:

* ``search`` — ``alphaalgo improve --shape S --ring R --target-rank T --workers 1``
  (local search from scratch, the engine's default walks);
* ``agent``  — ``alphaalgo discover --shape S --ring R --target-rank T --agent A
  [--params P] [--demos STORE]`` (the agent's games, endgames and completions,
  with local search on what they give).

Each arm's best rank, whether it reached the target and when (the time of the
first scheme at the target rank in its store or output), are printed as one
JSON line per run and a table with both columns.  ``--jobs 2`` runs the two arms
of a seed side by side (so they share the machine's load alike).

example:
  .venv/bin/python benchmarks/bench_ab.py --shape 4,4,4 --ring Z2 --target-rank 47 \\
      --seeds 0,1,2,3,4 --time-limit 1800 --agent multishape \\
      --params agents/multishape-Z2.npz --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo import formats  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("alphaalgo")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "alphaalgo"]


def run_arm(arm: str, args, seed: int, folder: Path) -> dict:
    out = folder / f"{arm}-{seed}.json"
    common = ["--shape", args.shape, "--ring", args.ring, "--target-rank", str(args.target_rank),
              "--time-limit", f"{args.time_limit:g}", "--seed", str(seed), "--out", str(out),
              "--quiet"]
    if arm == "search":
        cmd = _cli() + ["improve", *common, "--workers", "1"]
    else:
        cmd = _cli() + ["discover", *common, "--agent", args.agent,
                        "--store", str(folder / f"agent-{seed}.sqlite")]
        if args.params:
            cmd += ["--params", args.params]
        if args.demos:
            cmd += ["--demos", args.demos]
    env = dict(os.environ, OMP_NUM_THREADS="1", XLA_FLAGS="--xla_cpu_multi_thread_eigen=false "
               "intra_op_parallelism_threads=1")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.monotonic() - t0
    row = {"arm": arm, "seed": seed, "exit": proc.returncode, "wall_s": round(wall, 1),
           "command": " ".join(cmd[1:]), "stdout": proc.stdout.strip()[-600:],
           "stderr": proc.stderr.strip()[-300:]}
    if out.exists():
        rec = formats.read_scheme(out)
        row["rank"] = rec.scheme.rank
        row["reached"] = rec.scheme.rank <= args.target_rank
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="4,4,4")
    ap.add_argument("--ring", choices=("Z2", "Z"), default="Z2")
    ap.add_argument("--target-rank", type=int, default=47)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--time-limit", type=float, default=1800.0)
    ap.add_argument("--agent", default="multishape")
    ap.add_argument("--params", default=None)
    ap.add_argument("--demos", default=None, help="a harvest store for the agent arm")
    ap.add_argument("--arms", default="search,agent")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    print(json.dumps({"machine": machine(), "shape": args.shape, "ring": args.ring,
                      "target": args.target_rank, "time_limit": args.time_limit}), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_arm, arm, args, int(seed), Path(tmp))
                for seed in args.seeds.split(",") for arm in args.arms.split(",")]
        for fut in cf.as_completed(futs):
            row = fut.result()
            row["load_avg"] = [round(x, 2) for x in os.getloadavg()]
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
    arms = args.arms.split(",")
    print("| seed | " + " | ".join(f"{a}: rank" for a in arms) + " |")
    print("|---|" + "---|" * len(arms))
    for seed in args.seeds.split(","):
        cells = []
        for a in arms:
            r = next((x for x in rows if x["arm"] == a and x["seed"] == int(seed)), {})
            cells.append(str(r.get("rank", "–")) + (" ✓" if r.get("reached") else ""))
        print(f"| {seed} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
