"""How long reading schemes takes: every scheme shipped in ``kernels/``, parsed from
its file (the product notation, exact coefficients), as ``alphaalgo verify``,
``catalog`` and the tests read them.

Prints one JSON line per repeat: the total, the slowest files, a hash of the
schemes read (equal hashes: the same schemes) and the machine.  To compare two
versions of the code, run it alternately from each checkout in one session, e.g.
``PYTHONPATH=../old .venv/bin/python benchmarks/bench_formats.py`` then without
``PYTHONPATH``, and take the ratio of runs next to each other.

usage:
  .venv/bin/python benchmarks/bench_formats.py --repeats 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_localsearch import machine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--slowest", type=int, default=3, help="how many of the slowest files to list")
    args = ap.parse_args(argv)

    import alphaalgo
    from alphaalgo import catalog, formats

    index = catalog.load_index()
    root = catalog.kernels_dir()
    for _ in range(args.repeats):
        times, digest = [], hashlib.sha256()
        where = machine()                  # load before the repeat
        for entry in index:
            t0 = time.perf_counter()
            s = formats.read_scheme(root / entry.file).scheme
            times.append((time.perf_counter() - t0, entry.file))
            for part in (s.u, s.v, s.w):
                digest.update(part.tobytes())
            digest.update(repr(s.denominators).encode())
        times.sort(reverse=True)
        print(json.dumps({"code": os.path.dirname(os.path.dirname(alphaalgo.__file__)),
                          "schemes": len(index), "seconds": round(sum(t for t, _ in times), 2),
                          "slowest": [[f, round(t, 2)] for t, f in times[:args.slowest]],
                          "hash": digest.hexdigest()[:16], "machine": where}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
