"""``alphaalgo harvest``: many distinct real schemes of one shape, for the agent."""

from __future__ import annotations

import argparse

from .. import limits
from ._common import (EXIT_NEGATIVE, EXIT_OK, UsageError, add_parser, int_range, opened_store,
                      seconds_arg, seed_arg, shape_arg)

DESCRIPTION = """\
Collect up to --count distinct schemes of ⟨n,m,p⟩ (distinct by canonical
form: term order and scalars moved between factors do not count) by local
search from the schoolbook scheme: walks down to --rank (default: as low as
half the time allows), then a rank-by-rank pool at that rank, each walk
starting from a scheme of the pool, until the pool holds --count schemes or
--time-limit runs out.  Over Z2 the walk is the bit-packed Z2 walk; over Z
it is the ternary walk ({-1, 0, 1}: valid over every ring).  Nothing from
the catalogue or any collection is read.

Every scheme is verified exactly and stored in --store (unique by canonical
form, provenance "alphaalgo harvest" with the command and seed), so runs add
to each other.  A campaign learns from them with `alphaalgo discover --demos
STORE`: each drawn scheme is played under a random symmetry of the tensor
(A → PAQ⁻¹, B → QBR⁻¹, C → RCP⁻¹; rotations and transposition where the
shape allows), its terms in a random order.

Exit status: 0 --count schemes at --rank (or below) stored, 1 fewer, 2 bad
input.

examples:
  alphaalgo harvest --shape 3,3,3 --ring Z2 --rank 23 --count 1000 --store runs/real.sqlite
  alphaalgo harvest --shape 2,3,4 --ring Z --rank 20 --count 500 --time-limit 300 \\
      --store runs/real.sqlite
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "harvest", "collect many distinct low-rank schemes of a shape",
                   DESCRIPTION)
    p.add_argument("--shape", type=shape_arg, required=True, help="n,m,p")
    p.add_argument("--ring", choices=("Z", "Z2"), required=True,
                   help="Z2: the Z2 walk; Z: the ternary walk (valid over every ring)")
    p.add_argument("--count", type=int_range(1, 1_000_000, "--count"), default=1000,
                   metavar="N", help="distinct schemes wanted (default 1000)")
    p.add_argument("--rank", type=int_range(1, limits.MAX_RANK, "--rank"), default=None,
                   metavar="R", help="collect at this rank or below (default: the lowest "
                                     "reached in half the time)")
    p.add_argument("--time-limit", type=seconds_arg, default=120.0, metavar="S",
                   help="seconds at most (default 120)")
    p.add_argument("--walk", type=int_range(1_000, 2**40, "--walk"), default=200_000,
                   metavar="F", help="flips per walk from a pool scheme (default 200,000)")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N",
                   help="random seed, 0..2**32-1 (default 0)")
    p.add_argument("--store", required=True, metavar="PATH", help="where the schemes are kept")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import tensors
    from ..harvest import harvest
    from .improve import _Progress

    n, m, p = args.shape
    try:  # sizes before memory: the schoolbook scheme has n·m·p terms
        limits.check_rank(n * m * p, (n * m, m * p, p * n))
    except ValueError as exc:
        raise UsageError(f"--shape {n},{m},{p}: {exc}") from None
    if max(n * m, m * p, p * n) > 64:
        raise UsageError(f"--shape {n},{m},{p}: the walks hold factors of at most 64 entries")
    if args.rank is not None and args.rank >= n * m * p:
        raise UsageError(f"--rank {args.rank}: the schoolbook scheme already has rank {n * m * p}")
    with opened_store(args.store) as store:
        progress = _Progress(args.time_limit, n * m * p, enabled=not args.quiet)
        with progress:
            got = harvest(args.shape, args.ring, args.count, time_limit=args.time_limit,
                          rank=args.rank, seed=args.seed, walk=args.walk,
                          progress=progress.update)
        command = (f"alphaalgo harvest --shape {n},{m},{p} --ring {args.ring} --count "
                   f"{args.count} --time-limit {args.time_limit:g} --walk {args.walk} --seed "
                   f"{args.seed}" + (f" --rank {args.rank}" if args.rank is not None else ""))
        new = 0
        for s in got.schemes:
            if not tensors.verify(s, args.ring).valid:  # verified by the search already
                raise AssertionError("refusing to store an invalid scheme")
            _, inserted = store.add_scheme(s, {"source": "alphaalgo harvest", "seed": args.seed,
                                               "command": command})
            new += inserted
        total = sum(1 for s in store.list_schemes(args.shape, args.ring) if s.rank == got.rank)
    print(f"harvested {len(got.schemes)} distinct rank-{got.rank} scheme(s) of "
          f"⟨{n},{m},{p}⟩ over {args.ring} in {got.seconds:.1f} s ({got.flips:,} flips); "
          f"{new} new in {args.store}, which holds {total} at rank {got.rank}")
    enough = len(got.schemes) >= args.count and (args.rank is None or got.rank <= args.rank)
    return EXIT_OK if enough else EXIT_NEGATIVE
