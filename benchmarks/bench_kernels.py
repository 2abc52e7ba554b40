"""Kernels: correctness of every shipped scheme on both backends, and speed against the BLAS.

usage:
  python benchmarks/bench_kernels.py correctness [--backend numba|jax|both] [--levels 1,2]
  python benchmarks/bench_kernels.py speed --sizes 2048,4096,8192 [--dtype float64]
         [--kernels strassen:1,strassen:2,winograd:1] [--repeats 3]
  python benchmarks/bench_kernels.py ab --baseline REV --size 8192 [--kernels strassen:1]
         [--rounds 5]

``correctness`` compiles every scheme of kernels/ (Z2-only ones must be
refused), runs it on random inputs of odd sizes and prints, per scheme and
number of levels, the relative error against float64 numpy
(max|C − C64| / max|C64|) and the compile time (generate + load + first call).

``speed`` times kernels against numpy.matmul with ``alphaalgo.bench.benchmark``
(alternating rounds in one process, medians) and prints a Markdown table with
the machine (CPU model, cores, BLAS, load average).

``ab`` compares the kernel run-time of this checkout with the one at git
revision ``--baseline`` (``alphaalgo/codegen/runtime_numba.py`` there, inlined
into a standalone kernel of the same scheme) and numpy.matmul, in one process
on the same inputs, the three in a rotating order each round; medians and
ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

import numpy as np

from alphaalgo import bench, catalog, tensors
from alphaalgo.codegen import NotAMatmulAlgorithm, compile_kernel

KERNELS = {
    "strassen": "strassen-2x2x2-r7",
    "winograd": "winograd-2x2x2-r7",
    "at444": "alphatensor-z-4x4x4-r49",
    "s444": "strassen2-4x4x4-r49",
    "at333": "alphatensor-z-3x3x3-r23",
}


def commit() -> str:
    """The checked-out commit (with ``+`` when the tree has changes), or ``?``."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+" if dirty else "")


def machine() -> str:
    info = bench.device_info("numba")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{info['cpu']}, {info['cores']} cores, {info['blas']}, kernel threads "
            f"{info['kernel_threads']}; load average {load}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit()}")


def correctness(args: argparse.Namespace) -> int:
    import jax

    from rich.progress import track

    backends = ["numba", "jax"] if args.backend == "both" else [args.backend]
    rows, failures = [], 0
    entries = catalog.find()
    for entry in track(entries, description="schemes", transient=True):
        s = catalog.load(entry)
        n, m, p = s.shape
        for backend in backends:
            if not tensors.verify(s, "Q").valid:
                try:
                    compile_kernel(s, backend, 1)
                    rows.append((entry.id, backend, "-", "NOT REFUSED", "", ""))
                    failures += 1
                except NotAMatmulAlgorithm:
                    rows.append((entry.id, backend, "-", "refused (not valid over Z)", "", ""))
                continue
            for levels in args.levels:
                if levels > 1 and s.rank > 64:
                    continue  # two levels of a big scheme need huge sizes to mean anything
                t0 = time.perf_counter()
                mod = compile_kernel(s, backend, levels, leaf_min=2)
                sizes = [tuple(2 * d ** levels + o for d, o in zip((n, m, p), (1, 3, 2))),
                         tuple(4 * d ** levels for d in (n, m, p))]
                errs = {}
                for dtype in ("float64", "float32"):
                    ctx = (lambda: jax.enable_x64(True)) if (backend == "jax" and dtype == "float64") \
                        else contextlib.nullcontext
                    worst = 0.0
                    for size in sizes:
                        rng = np.random.default_rng(0)
                        a = rng.uniform(-1, 1, size[:2]).astype(dtype)
                        b = rng.uniform(-1, 1, size[1:]).astype(dtype)
                        with ctx():
                            c = np.asarray(mod.matmul(a, b), np.float64)
                        ref = a.astype(np.float64) @ b.astype(np.float64)
                        worst = max(worst, float(np.abs(c - ref).max() / np.abs(ref).max()))
                    errs[dtype] = worst
                    if dtype == "float64" and worst >= 1e-10:
                        failures += 1
                took = time.perf_counter() - t0
                rows.append((entry.id, backend, str(levels), f"{errs['float64']:.1e}",
                             f"{errs['float32']:.1e}", f"{took:.2f}"))
    print(f"Machine: {machine()}\n")
    print("| scheme | backend | levels | rel. error float64 | rel. error float32 | compile + run s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


def speed(args: argparse.Namespace) -> int:
    entries = {e.id: e for e in catalog.find()}
    print(f"Machine: {machine()}\n")
    print(f"Command: python {' '.join(sys.argv)}\n")
    print("| kernel | levels | size | dtype | kernel s | numpy s | speedup | rel. error |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for size in args.sizes:
        for dtype in args.dtype:
            for spec in args.kernels:
                name, _, lv = spec.partition(":")
                s = catalog.load(entries[KERNELS.get(name, name)])
                r = bench.benchmark(s, "numba", (size, size, size), dtype, int(lv or 1),
                                    repeats=args.repeats, warmup=args.warmup)
                print(f"| {name} | {r.levels} | {size} | {dtype} | {r.kernel_s:.3f} | "
                      f"{r.vendor_s:.3f} | {r.speedup:.3f} | {r.max_rel_error:.1e} |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def ab(args: argparse.Namespace) -> int:
    import statistics
    import subprocess

    from alphaalgo.codegen import load_source
    from alphaalgo.codegen import numba_gen

    entries = {e.id: e for e in catalog.find()}
    try:
        old_runtime = subprocess.run(["git", "show", f"{args.baseline}:alphaalgo/codegen/runtime_numba.py"],
                                     capture_output=True, text=True, check=True).stdout
        args.baseline = subprocess.run(["git", "rev-parse", "--short", args.baseline],
                                       capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"error: cannot read the run-time at {args.baseline!r}: {exc}", file=sys.stderr)
        return 2
    print(f"Machine: {machine()}\n")
    print(f"Command: python {' '.join(sys.argv)}\n")
    print(f"| kernel | levels | size | dtype | {args.baseline} s | this s | numpy s | this/{args.baseline} "
          "| speedup this | speedup baseline |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    n = args.size
    for dtype in args.dtype:
        a = rng.uniform(-1, 1, (n, n)).astype(dtype)
        b = rng.uniform(-1, 1, (n, n)).astype(dtype)
        for spec in args.kernels:
            name, _, lv = spec.partition(":")
            s = catalog.load(entries[KERNELS.get(name, name)])
            new_src = numba_gen.numba_source(s, int(lv or 1), stamp=False)
            old_src = new_src.replace(numba_gen.runtime_source().replace("from __future__ import annotations\n", ""),
                                      old_runtime.replace("from __future__ import annotations\n", ""))
            outs = {k: np.empty((n, n), dtype) for k in ("old", "new", "numpy")}
            runs = {"old": load_source(old_src, name=f"ab_old_{name}_{lv}").matmul,
                    "new": load_source(new_src, name=f"ab_new_{name}_{lv}").matmul}
            calls = {"old": lambda: runs["old"](a, b, outs["old"]),
                     "new": lambda: runs["new"](a, b, outs["new"]),
                     "numpy": lambda: np.matmul(a, b, out=outs["numpy"])}
            times: dict = {k: [] for k in calls}
            order = ["old", "new", "numpy"]
            for r in range(args.rounds + 1):
                for k in order[r % 3:] + order[:r % 3]:
                    t = time.perf_counter()
                    calls[k]()
                    if r:  # round 0 warms up
                        times[k].append(time.perf_counter() - t)
            errors, _ = bench.check_product(a, b, (outs["old"], outs["new"]))
            for k, err in zip(("old", "new"), errors):
                if err > (1e-10 if dtype == "float64" else 1e-3):
                    print(f"error: the {k} kernel is wrong (relative error {err:.1e})", file=sys.stderr)
                    return 1
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"| {name} | {lv or 1} | {n} | {dtype} | {med['old']:.3f} | {med['new']:.3f} | "
                  f"{med['numpy']:.3f} | {med['old'] / med['new']:.3f} | {med['numpy'] / med['new']:.3f} | "
                  f"{med['numpy'] / med['old']:.3f} |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("correctness")
    c.add_argument("--backend", choices=("numba", "jax", "both"), default="both")
    c.add_argument("--levels", type=lambda t: [int(x) for x in t.split(",")], default=[1, 2])
    s = sub.add_parser("speed")
    s.add_argument("--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[2048, 4096])
    s.add_argument("--dtype", type=lambda t: t.split(","), default=["float64"])
    s.add_argument("--kernels", type=lambda t: t.split(","),
                   default=["strassen:1", "winograd:1", "strassen:2", "winograd:2"])
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--warmup", type=int, default=1)
    t = sub.add_parser("ab")
    t.add_argument("--baseline", required=True, help="git revision whose kernel run-time is the baseline")
    t.add_argument("--size", type=int, default=8192)
    t.add_argument("--dtype", type=lambda t: t.split(","), default=["float64"])
    t.add_argument("--kernels", type=lambda t: t.split(","), default=["strassen:1", "strassen:2"])
    t.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    return {"correctness": correctness, "speed": speed, "ab": ab}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
