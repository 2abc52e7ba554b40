"""``alphaalgo catalog``: the shipped schemes and best-known ranks."""

from __future__ import annotations

import argparse
import dataclasses
import json

from .. import catalog
from ._common import EXIT_OK, UsageError, add_parser, add_ring, shape_arg

DESCRIPTION = """\
List the verified schemes shipped in kernels/ (naive, Strassen, Winograd,
Strassen⊗Strassen and all of AlphaTensor's published schemes) with shape, ring,
rank, the best known rank, the addition count of the straightforward evaluation,
and where each came from.

examples:
  alphaalgo catalog --shape 4,4,4
  alphaalgo catalog --ring Z2 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "catalog", "list the shipped schemes", DESCRIPTION)
    p.add_argument("--shape", type=shape_arg, default=None, help="only this n,m,p")
    add_ring(p, "only this ring")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        entries = catalog.find(args.shape, args.ring)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps([{**dataclasses.asdict(e), "shape": list(e.shape)} for e in entries],
                         indent=1))
        return EXIT_OK
    if not entries:
        print("no shipped scheme matches")
        return EXIT_OK
    header = f"{'shape':<10} {'ring':<4} {'rank':>5} {'best':>5} {'adds':>6}  {'source':<12} id"
    print(header)
    print("-" * len(header))
    for e in entries:
        best = "–" if e.best_known is None else str(e.best_known)
        shape = ",".join(map(str, e.shape))
        print(f"{shape:<10} {e.ring:<4} {e.rank:>5} {best:>5} {e.additions:>6}  "
              f"{e.source:<12} {e.id}{' (rational)' if e.rational else ''}")
    print(f"{len(entries)} scheme(s)")
    return EXIT_OK
