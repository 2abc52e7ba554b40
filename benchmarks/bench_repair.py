"""Repair on plateaued schemes: which solver decomposes cores in fewer terms.

For one shape and ring: ``--schemes`` walks from the schoolbook scheme (each
``--walk-seconds`` seconds of the default walk, seeds 0, 1, ...) give plateaued
schemes; on each, ``--attempts`` clusters of k terms (``repair.clusters``: the
terms whose factors span least) are compressed to their core and handed to each
solver, asking for k − 1 terms:

* ``localsearch`` — flips from the core's naive decomposition (``--flips`` flips);
* ``agent``       — the agent's search on the core's game, with a network trained
  here on ``--steps`` updates of synthetic demonstrations of the core's size
  (``repair.train_core_agent``, preset ``--agent``).

Every repaired scheme is verified exactly.  Also reported, as a check of the
solvers themselves: how many of ``--random`` random rank-(k − 1) tensors of the
core's size each decomposes in k − 1 terms.  One JSON line per (k, solver) and a
Markdown table.

example:
  .venv/bin/python benchmarks/bench_repair.py --shape 4,4,4 --ring Z2 --ks 5,6 \\
      --schemes 3 --walk-seconds 60 --attempts 100 --steps 3000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo import demos, localsearch, presets, repair, tensors  # noqa: E402


def plateaued(shape, ring: str, count: int, seconds: float) -> list[tensors.Scheme]:
    out = []
    for seed in range(count):
        start = tensors.naive_scheme(*shape, "Z2" if ring == "Z2" else "Z")
        how = {"method": "flips"} if ring == "Z" else {}
        out.append(localsearch.search(start, ring=ring, time_limit=seconds, seed=seed,
                                      **how).scheme)
    return out


def run(args) -> list[dict]:
    shape = tuple(int(x) for x in args.shape.split(","))
    schemes = plateaued(shape, args.ring, args.schemes, args.walk_seconds)
    print(json.dumps({"machine": machine(), "shape": shape, "ring": args.ring,
                      "plateau_ranks": [s.rank for s in schemes]}), flush=True)
    preset = presets.load_preset(args.agent)
    rows = []
    for k in (int(x) for x in args.ks.split(",")):
        solvers = {"localsearch": repair.localsearch_solver(args.flips)}
        trained = 0.0
        if "agent" in args.solvers:
            t = time.monotonic()
            agent, params = repair.train_core_agent(k, args.ring, preset, args.steps, seed=0)
            trained = time.monotonic() - t
            solvers["agent"] = repair.agent_solver(agent, params, preset.search,
                                                   games=args.games)
        g = repair.core_game(k, args.ring)
        for name in (s for s in args.solvers.split(",") if s in solvers):
            solve = solvers[name]
            rng = np.random.default_rng([k, 1])
            t = time.monotonic()
            random_ok = 0
            for _ in range(args.random):
                tgt, _ = demos.random_demo(rng, g, k - 1, preset.demos.p_zero)
                random_ok += solve(np.asarray(tgt, np.int64), args.ring, k - 1, rng) is not None
            t_random = time.monotonic() - t
            t = time.monotonic()
            improved, cores = 0, []
            for s in schemes:
                out = repair.repair(s, solve, k, args.attempts, np.random.default_rng([k, 2]))
                if out.improved:
                    assert tensors.verify(out.scheme, args.ring).valid
                    improved += 1
                    cores.append(out.core)
            row = {"shape": args.shape, "ring": args.ring, "k": k, "solver": name,
                   "random_solved": random_ok, "random": args.random,
                   "random_seconds": round(t_random, 1),
                   "schemes_improved": improved, "schemes": len(schemes),
                   "attempts_each": args.attempts, "cores": cores,
                   "repair_seconds": round(time.monotonic() - t, 1),
                   "train_seconds": round(trained, 1) if name == "agent" else 0.0,
                   "steps": args.steps if name == "agent" else 0}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| k | solver | random rank k−1 solved | plateaued schemes improved | seconds |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['k']} | {r['solver']} | {r['random_solved']} of {r['random']} | "
                     f"{r['schemes_improved']} of {r['schemes']} ({r['attempts_each']} clusters each)"
                     f" | {r['repair_seconds']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="4,4,4")
    ap.add_argument("--ring", choices=("Z2", "Z"), default="Z2")
    ap.add_argument("--ks", default="5,6")
    ap.add_argument("--schemes", type=int, default=3)
    ap.add_argument("--walk-seconds", type=float, default=60.0)
    ap.add_argument("--attempts", type=int, default=100)
    ap.add_argument("--solvers", default="localsearch,agent")
    ap.add_argument("--flips", type=int, default=200_000, help="local-search flips per core")
    ap.add_argument("--agent", default="small", help="preset of the core agent")
    ap.add_argument("--steps", type=int, default=3000, help="core agent's training updates")
    ap.add_argument("--games", type=int, default=16, help="games per core (agent)")
    ap.add_argument("--random", type=int, default=50, help="random rank-(k−1) tensors per solver")
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    rows = run(args)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
