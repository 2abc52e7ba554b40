"""Fewest additions at the best rank, per shape up to ⟨4,4,4⟩.

For every sorted shape 2 ≤ n ≤ m ≤ p ≤ 4 this starts from the shipped scheme
over Z at the lowest rank (kernels/) and runs the addition-minimising walk
(:func:`alphaalgo.localsearch.minimize_additions`: same-rank flips over Z and
random basis changes) for ``--seconds`` per shape.  The count is what a kernel
executes: one level's operand sums and outputs after shared subexpressions
(``codegen.addition_counts(s)["shared"]``).  Each result is verified exactly
over Z and written to ``--out`` (one JSON file per shape).

Reference counts: the ternary addition reducer's published results
(dronperminov/FastMatrixMultiplication, ``schemes/results/addition_reduced_ZT``,
the ``cr`` figure of each file name; its counting of a straight-line program
matches ours in kind, its search is a dedicated heuristic over many schemes).

With ``--variants`` it compares settings of the walk instead (``AdditionsConfig``:
slack, patience, share of basis changes, burst) on ``--shapes`` (default ⟨3,3,3⟩
and ⟨4,4,4⟩), each for ``--seconds`` per seed of ``--seeds``, one after another in
one process.

usage:
  .venv/bin/python benchmarks/bench_additions.py --seconds 60 --seed 0 --out runs/additions
  .venv/bin/python benchmarks/bench_additions.py --variants --seconds 20 --seeds 0,1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alphaalgo import catalog, codegen, formats, tensors  # noqa: E402
from alphaalgo.localsearch import AdditionsConfig, minimize_additions  # noqa: E402

SHAPES = [(2, 2, 2), (2, 2, 3), (2, 2, 4), (2, 3, 3), (2, 3, 4), (2, 4, 4), (3, 3, 3),
          (3, 3, 4), (3, 4, 4), (4, 4, 4)]

# dronperminov/FastMatrixMultiplication, schemes/results/addition_reduced_ZT (file names'
# "cr" field: additions after reduction), at the same ranks as the shipped schemes.
REFERENCE = {(2, 2, 2): 15, (2, 2, 3): 20, (2, 2, 4): 31, (2, 3, 3): 46, (2, 3, 4): 58,
             (2, 4, 4): 92, (3, 3, 3): 58, (3, 3, 4): 92, (3, 4, 4): 133, (4, 4, 4): 159}


def machine() -> str:
    """The CPU, cores and load (``bench_discover.machine``) and the commit."""
    from bench_discover import machine as cpu
    from bench_kernels import commit

    return f"{cpu()}, commit {commit()}"


VARIANTS = {
    "default (slack 2, patience 2000, 5 % basis changes, bursts of 1–3 flips)": AdditionsConfig(),
    "slack 0 (only equal or better)": AdditionsConfig(slack=0),
    "slack 6": AdditionsConfig(slack=6),
    "patience 20,000": AdditionsConfig(patience=20_000),
    "20 % basis changes": AdditionsConfig(sandwich=0.2),
    "single flips (burst 1), slack 4": AdditionsConfig(slack=4, burst=1),
}


def variants(shapes, seconds: float, seeds: list[int]) -> None:
    """Each walk setting of :data:`VARIANTS` on each shape, from the shipped scheme."""
    print("| setting | " + " | ".join(f"⟨{','.join(map(str, s))}⟩" for s in shapes) + " |")
    print("|---|" + "---|" * len(shapes))
    starts = [catalog.best(s, "Z") for s in shapes]
    for name, cfg in VARIANTS.items():
        cells = []
        for start in starts:
            found = [minimize_additions(start, time_limit=seconds, seed=seed, config=cfg).additions
                     for seed in seeds]
            cells.append(", ".join(map(str, found)))
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="walk time per shape")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shapes", default=None, help="e.g. 2,2,2;3,3,3 (default: all ten)")
    ap.add_argument("--out", default="runs/additions", help="folder for the schemes found")
    ap.add_argument("--variants", action="store_true",
                    help="compare settings of the walk (see above) instead")
    ap.add_argument("--seeds", default="0,1", help="with --variants: seeds per setting")
    args = ap.parse_args(argv)
    default = [(3, 3, 3), (4, 4, 4)] if args.variants else SHAPES
    shapes = default if not args.shapes else [tuple(int(x) for x in s.split(","))
                                              for s in args.shapes.split(";")]
    if args.variants:
        print(f"Machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
        print(f"Command: python {' '.join(sys.argv)}\n")
        variants(shapes, args.seconds, [int(x) for x in args.seeds.split(",")])
        print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"Command: python {' '.join(sys.argv)}\n")
    print("| shape | rank | shipped: written out | shipped: shared | found | time to best s "
          "| steps | reference (ternary reducer) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for shape in shapes:
        start = catalog.best(shape, "Z")
        if start is None or not start.is_integral:
            print(f"| {shape} | – | no shipped integer scheme | | | | | |")
            continue
        counts = codegen.addition_counts(start)
        res = minimize_additions(start, time_limit=args.seconds, seed=args.seed)
        assert tensors.verify(res.scheme, "Z").valid
        assert codegen.addition_counts(res.scheme)["shared"] == res.additions
        name = "x".join(map(str, shape))
        formats.write_schemes(out / f"{name}-r{res.scheme.rank}-a{res.additions}.json", [
            formats.SchemeRecord(name, res.scheme, {
                "source": "benchmarks/bench_additions.py", "seed": args.seed,
                "seconds": args.seconds, "start_additions": res.start_additions,
                "additions": res.additions})])
        print(f"| ⟨{','.join(map(str, shape))}⟩ | {res.scheme.rank} | {counts['written_out']} | "
              f"{res.start_additions} | **{res.additions}** | {res.history[-1][3]:.1f} | "
              f"{res.steps:,} | {REFERENCE.get(shape, '–')} |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
