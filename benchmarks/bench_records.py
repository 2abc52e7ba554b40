"""Best-known ranks from scratch: every shape 2 ≤ n ≤ m ≤ p ≤ 5, over Z2 and Z.

Runs ``alphaalgo improve --shape S --ring R --target-rank RECORD`` as a
subprocess per (shape, ring), smallest shapes first (or in the order of
``--shapes`` with ``--in-order``), each stopped at the
record or after ``--budget`` seconds.  All runs share one store
(``--store``), so a run on a larger shape starts from the best construction
(projection, side-by-side merge, extension, product; and the best projection
beside it) of what the engine itself found
on smaller or larger shapes before it — never a scheme from the catalogue or
an outside collection.  ⟨n,n,n⟩ with n ≥ 5 use the symmetric walk, and the
pairs in ``RECIPES`` their own flags (⟨4,4,4⟩/Z2: the τ walk, released).

Each result is one JSON line in ``--results`` (the run can be stopped and
started again: finished pairs are skipped) and the scheme is written to
``--out-dir``; ``--table`` prints the Markdown table for RESULTS.md from the
results file.  Times are wall-clock from process start to exit (start-up,
search, lifting, verification and writing included).

examples:
  .venv/bin/python benchmarks/bench_records.py --budget 1800 --jobs 2 \\
      --results runs/records.jsonl --store runs/records.sqlite --out-dir runs/records
  .venv/bin/python benchmarks/bench_records.py --table --results runs/records.jsonl
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo import catalog, formats, tensors  # noqa: E402

SHAPES = [(n, m, p) for n in range(2, 6) for m in range(n, 6) for p in range(m, 6)]
RINGS = ("Z2", "Z")
#: (shape, ring) → the improve flags of its run, where measured better than the default
#: (⟨n,n,n⟩ with n ≥ 5 walk symmetrically): ⟨4,4,4⟩/Z2 reaches 47 in 199–263 s by the τ
#: walk released to the plain one (7 of 7 seeds, RESULTS.md, twenty-third session),
#: where the default stops at 49.
RECIPES = {((4, 4, 4), "Z2"): ("--symmetric", "--symmetry", "2", "--involution", "transpose",
                               "--blocks", "entries", "--release-after", "400000000")}


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("alphaalgo")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "alphaalgo"]


def run_one(shape: tuple[int, int, int], ring: str, budget: float, seed: int, store: str | None,
            out_dir: Path, workers: int = 1, extra: tuple[str, ...] = ()) -> dict:
    record = catalog.best_known_rank(shape, ring)
    out = out_dir / f"{'x'.join(map(str, shape))}-{ring}.json"
    recipe = RECIPES.get((tuple(shape), ring))
    symmetric = shape[0] == shape[1] == shape[2] >= 5 or recipe is not None
    cmd = _cli() + ["improve", "--shape", ",".join(map(str, shape)), "--ring", ring,
                    "--target-rank", str(record), "--time-limit", f"{budget:g}",
                    "--seed", str(seed), "--workers", str(workers),
                    "--out", str(out), "--quiet"] + (["--store", store] if store else [])
    if recipe is not None:
        cmd += list(recipe)
    elif symmetric:
        cmd.append("--symmetric")
    elif extra:
        cmd += list(extra)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    row = {"shape": list(shape), "ring": ring, "record": record, "budget_s": budget,
           "seed": seed, "symmetric": symmetric, "exit": proc.returncode,
           "wall_s": round(wall, 2), "command": " ".join(cmd),
           "stdout": proc.stdout.strip()[-400:], "stderr": proc.stderr.strip()[-400:]}
    if proc.returncode in (0, 1) and out.exists():
        rec = formats.read_scheme(out)
        check = tensors.verify(rec.scheme, ring)
        row.update(reached=rec.scheme.rank, valid=check.valid,
                   ternary=bool(rec.scheme.max_abs_coefficient() <= 1),
                   start=rec.provenance.get("input"),
                   search_s=rec.provenance.get("seconds"),
                   walks=rec.provenance.get("walks"))
    return row


def table(rows: list[dict]) -> str:
    lines = ["| shape | ring | record | reached | time to reach (s) | start | Z result ternary |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["shape"][0] * r["shape"][1] * r["shape"][2],
                                         r["shape"], r["ring"] != "Z2")):
        reached = r.get("reached", "–")
        hit = reached != "–" and reached <= r["record"]
        when = f"{r['wall_s']:.1f}" if hit else f"not in {r['budget_s']:g}"
        mark = f"**{reached}**" if hit else str(reached)
        start = str(r.get("start", ""))
        m = re.match(r"construction from .*?, rank (\d+)(, the best projection \(rank (\d+)\))?"
                     r"(, and the schoolbook)?", start)
        if m:
            start = (f"construction r{m.group(1)}"
                     + (f" + projection r{m.group(3)}" if m.group(2) else "")
                     + (" + schoolbook" if m.group(4) else ""))
        if start.startswith("merge of the engine's own walks of the halves"):  # as of 6fbfa31
            start = re.sub(r"^.*?\(rank (\d+);.*$", r"merged halves r\1 + schoolbook", start)
        if start.startswith("from scratch, the schoolbook walk"):
            ranks = re.findall(r"\(rank (\d+)\)", start)
            start = " + ".join([f"merged halves r{ranks[0]}"]
                               + [f"cube projection r{r}" for r in ranks[1:]] + ["schoolbook"])
        ternary = "–" if r["ring"] == "Z2" else ("yes" if r.get("ternary") else "no")
        lines.append(f"| {','.join(map(str, r['shape']))} | {r['ring']} | {r['record']} | {mark} "
                     f"| {when} | {start} | {ternary} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=1800.0, help="seconds per (shape, ring)")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)),
                    help="runs at once (each with --workers cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="walkers per run (improve --workers)")
    ap.add_argument("--shapes", default=None, help="only these, e.g. '3,4,5;4,4,4'")
    ap.add_argument("--in-order", action="store_true",
                    help="run --shapes in the order given, not smallest first (a larger "
                         "shape's result then feeds projections to the smaller ones)")
    ap.add_argument("--rings", default="Z2,Z")
    ap.add_argument("--results", default="runs/records.jsonl")
    ap.add_argument("--store", default="runs/records.sqlite")
    ap.add_argument("--no-store", action="store_true",
                    help="independent runs, no store: what one command from scratch reaches")
    ap.add_argument("--out-dir", default="runs/records")
    ap.add_argument("--table", action="store_true", help="print the table of --results and stop")
    ap.add_argument("--walks", default=None, choices=("pool", "start", "stepdown", "population"),
                    help="improve --walks for the runs that are not symmetric")
    ap.add_argument("--guard", action="store_true",
                    help="improve --guard for the runs over Z that are not symmetric")
    args = ap.parse_args()
    results = Path(args.results)
    rows = [json.loads(x) for x in results.read_text().splitlines()] if results.exists() else []
    if args.table:
        print(table(rows))
        return 0
    shapes = SHAPES if args.shapes is None else [
        tuple(int(x) for x in s.split(",")) for s in args.shapes.split(";")]
    done = {(tuple(r["shape"]), r["ring"]) for r in rows}
    if not args.in_order:
        shapes = sorted(shapes, key=lambda s: (s[0] * s[1] * s[2], s))
    todo = [(s, ring) for s in shapes for ring in args.rings.split(",")
            if (tuple(s), ring) not in done]
    skipped = len(shapes) * len(args.rings.split(",")) - len(todo)
    if skipped:
        print(f"{skipped} (shape, ring) pair(s) already have a row in {results}: not rerun "
              "(give another --results to rerun them)", file=sys.stderr, flush=True)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"machine": machine(), "todo": len(todo), "budget_s": args.budget,
                      "jobs": args.jobs}), flush=True)
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        extra = ("--walks", args.walks) if args.walks else ()
        store = None if args.no_store else args.store
        futures = {pool.submit(run_one, s, ring, args.budget, args.seed, store, out_dir,
                               args.workers,
                               extra + (("--guard",) if args.guard and ring == "Z" else ())):
                   (s, ring) for s, ring in todo}
        for fut in cf.as_completed(futures):
            row = fut.result()
            row["load_avg"] = [round(x, 2) for x in os.getloadavg()]
            with results.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps({k: row.get(k) for k in ("shape", "ring", "record", "reached",
                                                      "wall_s", "exit")}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
