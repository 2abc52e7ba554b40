"""The hardware loop's A/B: campaigns with a speed weight λ > 0 against λ = 0.

For each seed, two ``alphaalgo discover`` campaigns run on the same shape for
the same time (no target rank, so neither stops early): one with
``--speed-weight 0`` and one with ``--speed-weight LAMBDA`` (every new scheme
at the best rank is timed at ``--bench-size`` on this CPU, the score enters the
reward and the demonstrations, and the result is the fastest measured scheme
at the best rank).  Then, in this one process, each campaign's result is
compiled (Numba, one level) and timed against ``numpy.matmul`` on the same
inputs at every ``--sizes`` N (float64), the kernels and numpy in a rotating
order each round; medians.  A seed counts as a win for λ > 0 when both
campaigns reached the same rank and the λ > 0 scheme's kernel is faster
(ratio t(λ=0) / t(λ>0) > 1).

usage:
  .venv/bin/python benchmarks/bench_speed_weight.py --shape 3,3,3 --seeds 0,1,2,3,4 \\
      --time-limit 300 --speed-weight 0.1 --bench-size 2048 --sizes 4096 --out runs/ab
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_additions import machine  # noqa: E402


def campaign(args, seed: int, lam: float, folder: Path) -> Path:
    exe = Path(sys.executable).with_name("alphaalgo")
    out = folder / f"lam{lam:g}-seed{seed}.json"
    if out.exists():                 # a rerun reuses finished campaigns
        return out
    cmd = [str(exe), "discover", "--shape", args.shape, "--ring", "Z", "--time-limit",
           str(args.time_limit), "--seed", str(seed), "--speed-weight", str(lam),
           "--bench-size", str(args.bench_size), "--store", str(folder / f"lam{lam:g}-seed{seed}.db"),
           "--out", str(out), "--quiet"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    print(f"  λ={lam:g} seed {seed}: exit {r.returncode} in {time.time() - t0:.0f} s; "
          f"{r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-300:]}",
          file=sys.stderr, flush=True)
    return out


def time_kernels(schemes: dict, n: int, rounds: int) -> dict:
    """Median seconds of each scheme's kernel and of numpy on one (n, n) float64 product."""
    from alphaalgo import bench
    from alphaalgo.codegen import compile_kernel

    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (n, n)), rng.uniform(-1, 1, (n, n))
    calls = {"numpy": lambda out: np.matmul(a, b, out=out)}
    for key, s in schemes.items():
        mod = compile_kernel(s, "numba", 1)
        calls[key] = (lambda m: (lambda out: m.matmul(a, b, out)))(mod)
    outs = {k: np.empty((n, n)) for k in calls}
    times: dict = {k: [] for k in calls}
    order = list(calls)
    for r in range(rounds + 1):
        rot = order[r % len(order):] + order[:r % len(order)]
        for k in rot:
            t = time.perf_counter()
            calls[k](outs[k])
            if r:
                times[k].append(time.perf_counter() - t)
    errors, _ = bench.check_product(a, b, [outs[k] for k in order if k != "numpy"])
    assert max(errors) < 1e-10, errors
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    from alphaalgo import codegen, formats, tensors

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="3,3,3")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--time-limit", type=float, default=300)
    ap.add_argument("--speed-weight", type=float, default=0.1)
    ap.add_argument("--bench-size", type=int, default=2048)
    ap.add_argument("--sizes", default="4096")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default="runs/ab")
    args = ap.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    seeds = [int(x) for x in args.seeds.split(",")]
    print(f"Machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"Command: python {' '.join(sys.argv)}\n")
    results = {}
    for seed in seeds:
        for lam in (0.0, args.speed_weight):
            path = campaign(args, seed, lam, folder)
            if path.exists():
                s = formats.read_scheme(path).scheme
                assert tensors.verify(s, "Z").valid
                results[(seed, lam)] = s
    sizes = [int(x) for x in args.sizes.split(",")]
    print("| seed | rank λ=0 | rank λ>0 | additions λ=0 | additions λ>0 | N | λ=0 / numpy | "
          "λ>0 / numpy | t(λ=0) / t(λ>0) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    wins = 0
    for seed in seeds:
        a, b = results.get((seed, 0.0)), results.get((seed, args.speed_weight))
        if a is None or b is None:
            print(f"| {seed} | {a.rank if a else '–'} | {b.rank if b else '–'} | | | | | | |")
            continue
        same = tensors.canonical_hash(a) == tensors.canonical_hash(b)
        for n in sizes:
            med = time_kernels({"zero": a, "lam": b}, n, args.rounds)
            ratio = med["zero"] / med["lam"]
            wins += int(n == sizes[-1] and a.rank == b.rank and ratio > 1 and not same)
            print(f"| {seed} | {a.rank} | {b.rank} | {codegen.addition_counts(a)['shared']} | "
                  f"{codegen.addition_counts(b)['shared']} | {n} | "
                  f"{med['numpy'] / med['zero']:.3f} | {med['numpy'] / med['lam']:.3f} | "
                  f"**{ratio:.3f}**{' (same scheme)' if same else ''} |", flush=True)
    print(f"\nλ > 0 faster at N = {sizes[-1]} in {wins} of {len(seeds)} seeds")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
