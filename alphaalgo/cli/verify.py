"""``alphaalgo verify``: exact checks of every scheme in some files."""

from __future__ import annotations

import argparse
import json

from .. import tensors
from ._common import EXIT_NEGATIVE, EXIT_OK, add_parser, add_ring, read_records, shape_arg

DESCRIPTION = """\
Check every scheme in the given files exactly: integer arithmetic (rational
schemes are scaled to integers, never rounded), mod 2 for Z2.  A scheme is valid
when the sum of its rank-1 terms equals the matrix-multiplication tensor.

Files are read by extension: .npz (AlphaTensor's layout, every key), .json (the
project's format), .txt/.exp (flip-graph text; shape from the largest indices
or --shape).

Exit status: 0 all valid, 1 some scheme invalid, 2 unreadable input.

example:
  alphaalgo verify factorizations_f2.npz --ring Z2
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "verify", "check schemes exactly", DESCRIPTION)
    p.add_argument("files", nargs="+", metavar="FILE", help="scheme files")
    add_ring(p, "ring to check in (default: the file's own for .json, else Z)")
    p.add_argument("--shape", type=shape_arg, default=None,
                   help="n,m,p for text files or npz keys that do not name it")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    records = [(path, rec) for path in args.files
               for rec in read_records(path, args.ring, args.shape)]
    invalid = 0
    for path, rec in records:
        check = tensors.verify(rec.scheme, args.ring)
        invalid += not check.valid
        s = rec.scheme
        if args.json:
            print(json.dumps({"file": str(path), "name": rec.name,
                              "shape": list(s.shape) if s.shape else None, "ring": check.ring,
                              "rank": s.rank, "valid": check.valid,
                              "wrong_entries": check.wrong_entries,
                              "first_wrong": [list(x) for x in check.first_wrong]}))
        else:
            mark = "ok  " if check.valid else "FAIL"
            print(f"{mark} {path} [{rec.name}] {check.describe()}")
    if not args.json:
        print(f"{len(records) - invalid} of {len(records)} schemes valid")
    return EXIT_NEGATIVE if invalid else EXIT_OK
