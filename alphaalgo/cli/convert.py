"""``alphaalgo convert``: between the scheme formats of the field."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import formats, tensors
from ._common import (EXIT_NEGATIVE, EXIT_OK, UsageError, add_parser, add_ring, check_outputs,
                      read_records, shape_arg)

DESCRIPTION = """\
Convert scheme files between the formats of the field.  Read: AlphaTensor's .npz,
the project's .json and Perminov's JSON (told apart by content), the flip-graph
products (.txt/.exp, Kauers-Moosbauer as written) and the ternary tool's .txt
(by content), Maple .m lists, AlphaEvolve's arrays (.ipynb/.py, parsed, never
run).  Written by OUT's extension: .npz, .json, .txt/.exp (products), .m; or
with --format perminov (Perminov's JSON) or ternary (the ternary tool's .txt).
Round trips are exact (rational and Gaussian coefficients included; .npz keeps
the ring in its zip comment).  The output is written atomically: on any error
nothing is left behind and an existing OUT is untouched; OUT may not be IN.

Every scheme is verified exactly on the way; an invalid one is still written
(with its verification result in .json) and the exit status is 1.

examples:
  alphaalgo convert factorizations_r.npz all.json
  alphaalgo convert factorizations_r.npz strassen-like.txt --key 2,2,2
  alphaalgo convert 444-49-mod0.exp 444-49.m
  alphaalgo convert 3x3x3_m23_ZT.json s.txt --format ternary
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "convert", "convert between scheme formats", DESCRIPTION)
    p.add_argument("input", metavar="IN", help="input scheme file")
    p.add_argument("output", metavar="OUT", help="output scheme file")
    p.add_argument("--shape", type=shape_arg, default=None,
                   help="n,m,p for text input (default: from the largest indices)")
    add_ring(p, "ring of the input (default: the file's own, else the one its schemes are "
                "valid over)", all_rings=True)
    p.add_argument("--key", default=None, help="convert only the scheme with this name/key")
    p.add_argument("--format", choices=formats.WRITE_FORMATS, default=None,
                   help="the output format (default: by OUT's extension)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    src, dst = Path(args.input), Path(args.output)
    if args.format is None and dst.suffix.lower() not in formats.WRITE_EXTENSIONS:
        raise UsageError(f"{dst}: unknown extension {dst.suffix!r} "
                         f"(expected one of {', '.join(formats.WRITE_EXTENSIONS)}, or --format)")
    check_outputs([src], [dst])
    records = read_records(str(src), args.ring, args.shape)
    if args.key is not None:
        records = [r for r in records if r.name == args.key]
        if not records:
            raise UsageError(f"{src}: no scheme named {args.key!r}")
    records = [formats.SchemeRecord(r.name, r.scheme,
                                    {**r.provenance, "converted_from": str(src),
                                     "command": "alphaalgo " + " ".join(sys.argv[1:])})
               for r in records]
    invalid = [r.name for r in records if not tensors.verify(r.scheme).valid]
    try:
        formats.write_schemes(dst, records, fmt=args.format)
    except formats.FormatError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {len(records)} scheme(s) to {dst}")
    if invalid:
        print(f"warning: {len(invalid)} invalid scheme(s): {', '.join(invalid[:5])}",
              file=sys.stderr)
        return EXIT_NEGATIVE
    return EXIT_OK
