"""``alphaalgo results``: what a store holds."""

from __future__ import annotations

import argparse
import json

from .. import catalog
from ..store import Store, StoreError
from ._common import EXIT_OK, UsageError, add_parser, add_ring, shape_arg

DESCRIPTION = """\
List what a results store holds: the best rank per shape and ring (beside the
best known rank), then every stored scheme with its provenance and the speed
measured for it (the hardware loop's benchmarks: speedup against the vendor
matmul, size, dtype and device).  The store is opened read-only.

examples:
  alphaalgo results --store runs/strassen.sqlite
  alphaalgo results --store runs/strassen.sqlite --shape 2,2,2 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "results", "list what a results store holds", DESCRIPTION)
    p.add_argument("--store", required=True, help="the SQLite store of a campaign")
    p.add_argument("--shape", type=shape_arg, default=None, help="only this n,m,p")
    add_ring(p, "only this ring")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        with Store(args.store, readonly=True) as store:
            best = [b for b in store.best_ranks()
                    if (args.shape is None or tuple(b["shape"]) == args.shape)
                    and (args.ring is None or b["ring"] == args.ring)]
            schemes = store.list_schemes(args.shape, args.ring)
            campaigns = {c["id"]: c["name"] for c in store.campaigns()}
            measured: dict[str, list[dict]] = {}
            for row in store.benchmarks():
                measured.setdefault(row["scheme_hash"], []).append(row)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    for b in best:
        b["best_known"] = catalog.best_known_rank(b["shape"], b["ring"])
    if args.json:
        print(json.dumps({
            "store": str(args.store), "best": best,
            "schemes": [{"id": s.id, "hash": s.hash, "shape": list(s.shape), "ring": s.ring,
                         "rank": s.rank, "campaign": campaigns.get(s.campaign_id),
                         "created": s.created, "provenance": s.provenance,
                         "benchmarks": [_speed_row(r) for r in measured.get(s.hash, [])]}
                        for s in schemes],
        }, indent=1))
        return EXIT_OK
    if not schemes:
        print(f"{args.store}: no schemes stored")
        return EXIT_OK
    print(f"{'shape':<10} {'ring':<4} {'best':>5} {'known':>6} {'at best':>8} {'stored':>7}")
    for b in best:
        known = "–" if b["best_known"] is None else str(b["best_known"])
        print(f"{','.join(map(str, b['shape'])):<10} {b['ring']:<4} {b['best_rank']:>5} "
              f"{known:>6} {b['schemes_at_best']:>8} {b['schemes']:>7}")
    print()
    for s in schemes:
        src = s.provenance.get("source", "?")
        camp = campaigns.get(s.campaign_id)
        print(f"#{s.id:<5} {','.join(map(str, s.shape)):<10} {s.ring:<4} rank {s.rank:<4} "
              f"{s.hash}  {src}{f' (campaign {camp})' if camp else ''}  {s.created}")
        for r in measured.get(s.hash, []):
            m = _speed_row(r)
            print(f"       measured {m['speedup']:.3f}× vs vendor at {'x'.join(map(str, m['size']))} "
                  f"{m['dtype']}, {m['levels']} level(s), {m['backend']} on {m['device']}")
    return EXIT_OK


def _speed_row(row: dict) -> dict:
    """One stored benchmark as the speed a person reads (speedup against the vendor matmul)."""
    result = row.get("result") or {}
    return {"device": row["device"], "backend": row["backend"], "size": row["size"],
            "dtype": row["dtype"], "levels": row["levels"],
            "speedup": float(result.get("speedup", float("nan"))),
            "max_rel_error": result.get("max_rel_error")}
