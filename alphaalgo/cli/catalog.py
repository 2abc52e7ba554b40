"""``alphaalgo catalog``: the shipped schemes and best-known ranks."""

from __future__ import annotations

import argparse
import dataclasses
import json

from .. import catalog
from ._common import EXIT_OK, UsageError, add_parser, add_ring, opened_store, shape_arg

DESCRIPTION = """\
List the verified schemes shipped in kernels/ (naive, Strassen, Winograd,
Strassen⊗Strassen, all of AlphaTensor's published schemes and the engine's
own best per shape) with shape, ring, rank, the best known rank, the addition
count of the straightforward evaluation, and where each came from.

With --records: the published records per shape (best known rank over Q, Z,
ZT = coefficients in {-1, 0, 1}, and Z2, with their sources) beside the
engine's own best shipped in kernels/ (found by 'alphaalgo improve', each with
the command that found it), and with --store beside the best in that store.
A '*' marks an engine rank that meets the record, 't' a ternary Z scheme
(coefficients in {-1, 0, 1}: it holds over every ring).

examples:
  alphaalgo catalog --shape 4,4,4
  alphaalgo catalog --ring Z2 --json
  alphaalgo catalog --records
  alphaalgo catalog --records --store runs/records.sqlite
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "catalog", "list the shipped schemes", DESCRIPTION)
    p.add_argument("--shape", type=shape_arg, default=None, help="only this n,m,p")
    add_ring(p, "only this ring")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--records", action="store_true",
                   help="the published records beside the engine's own best")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="with --records: also the best ranks in this store")
    p.set_defaults(func=run)


def _records(args: argparse.Namespace) -> int:
    """The records table beside the engine's own best (kernels/ and a store)."""
    from .. import records

    try:
        shipped = [e for e in catalog.load_index()
                   if e.id.startswith(catalog.ENGINE_PREFIX)]
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    engine: dict[tuple, tuple[int, bool]] = {}
    for e in shipped:
        key = (tuple(sorted(e.shape)), e.ring)
        ternary = e.ring == "Z" and catalog.load(e).max_abs_coefficient() <= 1
        if key not in engine or e.rank < engine[key][0]:
            engine[key] = (e.rank, ternary)
    stored: dict[tuple, int] = {}
    with opened_store(args.store, readonly=True) as st:
        for row in st.best_ranks() if st is not None else ():
            key = (tuple(sorted(row["shape"])), row["ring"])
            stored[key] = min(stored.get(key, row["best_rank"]), row["best_rank"])
    rows = []
    for shape, rec in sorted(records.TABLE.items()):
        if args.shape is not None and tuple(sorted(args.shape)) != shape:
            continue
        row = {"shape": list(shape), **{r: rec.rank(r) for r in records.RINGS},
               "sources": {r: rec.source_of(r) for r in records.RINGS}}
        for ring in ("Z", "Z2"):
            # a Z scheme holds mod 2 too (on a tie the Z scheme is shown)
            keys = [(shape, "Z")] + ([(shape, "Z2")] if ring == "Z2" else [])
            got = min((engine[k] for k in keys if k in engine), key=lambda x: x[0], default=None)
            row[f"engine_{ring}"] = None if got is None else got[0]
            row[f"engine_{ring}_ternary"] = bool(got and got[1])
            if args.store:
                row[f"store_{ring}"] = stored.get((shape, ring))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK

    def cell(row: dict, ring: str) -> str:
        got = row[f"engine_{ring}"]
        if got is None:
            return "–"
        return f"{got}{'*' if got <= row[ring] else ''}{'t' if row[f'engine_{ring}_ternary'] else ''}"

    head = f"{'shape':<8} {'Q':>4} {'Z':>4} {'ZT':>4} {'Z2':>4}  {'engine Z':>9} {'engine Z2':>9}"
    if args.store:
        head += f" {'store Z':>8} {'store Z2':>8}"
    print(head + "  sources")
    print("-" * (len(head) + 30))
    for row in rows:
        src = row["sources"]["Z"] + "".join(f"; {r}: {v}" for r, v in row["sources"].items()
                                            if r not in ("Z", "ZT") and v != row["sources"]["Z"])
        line = (f"{','.join(map(str, row['shape'])):<8} {row['Q']:>4} {row['Z']:>4} {row['ZT']:>4} "
                f"{row['Z2']:>4}  {cell(row, 'Z'):>9} {cell(row, 'Z2'):>9}")
        if args.store:
            line += "".join(f" {row[f'store_{r}'] if row[f'store_{r}'] is not None else '–':>8}"
                            for r in ("Z", "Z2"))
        print(line + "  " + src)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.store and not args.records:
        raise UsageError("--store is read with --records")
    if args.records:
        return _records(args)
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
