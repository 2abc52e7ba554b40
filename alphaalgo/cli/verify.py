"""``alphaalgo verify``: exact checks of every scheme in some files."""

from __future__ import annotations

import argparse
import json
import sys

from .. import formats, tensors
from ._common import EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE, add_parser, add_ring, shape_arg

DESCRIPTION = """\
Check every scheme in the given files exactly: integer arithmetic (rational and
Gaussian-rational schemes are scaled to integers, never rounded), mod p for Z2
and Z3.  A scheme is valid when the sum of its rank-1 terms equals the
matrix-multiplication tensor.  Each scheme is labelled with the smallest ring
it is valid over: ZT (coefficients in {-1, 0, 1}: valid over every ring), Z,
Q (with the denominators it needs), Q(i), or only Z2 / Z3.

Files are read by extension and content: .npz (AlphaTensor's layout, every key),
.json (the project's format, or Perminov's), .txt/.exp (flip-graph products, or
the ternary tool's numbers), .m (Maple lists), .ipynb/.py (AlphaEvolve's
arrays, parsed and never run).  Every file is reported, readable or not.

Exit status: 0 all valid, 1 some scheme invalid, 2 some file unreadable (the
worst of these).

examples:
  alphaalgo verify factorizations_f2.npz
  alphaalgo verify 445-60-mod2.exp 444-49-mod0.m --ring Z
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "verify", "check schemes exactly", DESCRIPTION)
    p.add_argument("files", nargs="+", metavar="FILE", help="scheme files")
    add_ring(p, "ring to check in (default: the scheme's own; the label names the smallest "
                "ring it is valid over)", all_rings=True)
    p.add_argument("--shape", type=shape_arg, default=None,
                   help="n,m,p for text files or npz keys that do not name it")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = EXIT_OK
    checked = valid = 0
    for path in args.files:
        try:
            records = formats.read_schemes(path, ring=args.ring, shape=args.shape)
        except formats.FormatError as exc:
            status = EXIT_USAGE
            if args.json:
                print(json.dumps({"file": str(path), "error": str(exc)}))
            else:
                print(f"alphaalgo verify: error: {exc}", file=sys.stderr)
            continue
        for rec in records:
            check = (tensors.ring_label(rec.scheme) if args.ring is None
                     else tensors.verify(rec.scheme, args.ring))
            checked += 1
            valid += check.valid
            if not check.valid and status == EXIT_OK:
                status = EXIT_NEGATIVE
            s = rec.scheme
            if args.json:
                print(json.dumps({"file": str(path), "name": rec.name,
                                  "shape": list(s.shape) if s.shape else None,
                                  "checked_in": check.ring, "ring": check.label,
                                  "denominators": list(check.denominators),
                                  "rank": s.rank, "valid": check.valid,
                                  "wrong_entries": check.wrong_entries, "note": check.note,
                                  "first_wrong": [list(x) for x in check.first_wrong]}))
            else:
                mark = "ok  " if check.valid else "FAIL"
                print(f"{mark} {path} [{rec.name}] {check.describe()}")
    if not args.json:
        unreadable = "" if status != EXIT_USAGE else " (some files unreadable)"
        print(f"{valid} of {checked} schemes valid{unreadable}")
    return status
