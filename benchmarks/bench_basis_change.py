"""How long a basis change of a batch of residual tensors takes (``demos.BasisChange.tensor``,
used on every batch of demonstrations the agent trains on: ``demos.augment_examples``).

Times ``tensor`` on ``--batch`` random ternary tensors of ⟨n,n,n⟩'s sizes (n², n², n²)
against the same product written as one four-operand ``numpy.einsum`` (how the code did
it before the twentieth session), checks that both give the same tensor, and prints one
JSON line per shape with both times and their ratio, taken in the same run.

usage:
  .venv/bin/python benchmarks/bench_basis_change.py --shapes 2,3,4 --batch 64
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_localsearch import machine  # noqa: E402


def one_einsum(change, t: np.ndarray) -> np.ndarray:
    m1, m2, m3 = change.mats
    out = np.einsum("ai,bj,ck,...ijk->...abc", m1, m2, m3, np.asarray(t, np.int64))
    return out % 2 if change.ring == "Z2" else out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="2,3,4", help="the n of each ⟨n,n,n⟩ (default 2,3,4)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ring", choices=("Z", "Z2"), default="Z")
    args = ap.parse_args(argv)

    from alphaalgo import demos

    print(json.dumps({"machine": machine()}), flush=True)
    rng = np.random.default_rng(0)
    for n in (int(x) for x in args.shapes.split(",")):
        sizes = (n * n,) * 3
        change = demos.random_basis_change(rng, sizes, args.ring, transvections=2)
        t = rng.integers(-1, 2, size=(args.batch, *sizes)).astype(np.int8)
        a = time.perf_counter()
        new = change.tensor(t)
        b = time.perf_counter()
        old = one_einsum(change, t)
        c = time.perf_counter()
        if not np.array_equal(new, old):
            raise SystemExit(f"n={n}: the two products differ")
        print(json.dumps({"n": n, "batch": args.batch, "ring": args.ring,
                          "tensor_s": round(b - a, 4), "one_einsum_s": round(c - b, 4),
                          "ratio": round((c - b) / (b - a), 1)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
