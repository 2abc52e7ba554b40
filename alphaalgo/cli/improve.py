"""``alphaalgo improve``: flip-graph local search from a given scheme, or from scratch."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .. import formats, tensors
from .. import limits
from ._common import (EXIT_NEGATIVE, EXIT_OK, UsageError, add_parser, check_outputs, int_range,
                      opened_store, seconds_arg, seed_arg, shape_arg)

DESCRIPTION = """\
Random walks on the flip graph (Kauers & Moosbauer) from the scheme in FILE,
or, with --shape n,m,p and no FILE, from scratch: from the schoolbook scheme
of that shape (nothing from the catalogue or any collection is read):
flips change two terms that share a factor without changing the rank,
reductions lower the rank when a factor vanishes or two terms merge, and plus
transitions raise it by one to leave a plateau.  Walks restart from a pool of
schemes at the best rank reached.  Over Z2 the factors are bit-packed.

Over Z (--ring Z) the default walks over Z2 and keeps each new best scheme
that Hensel-lifts to an integer scheme; --method lift3 does the same over Z3;
--method flips walks the flip graph over Z itself, coefficients within
[-1, 1] (or the input's largest).

With --ring ZT the walk is over {-1, 0, 1} itself (flips over Z, no
coefficient may leave that set), so the result holds over every ring with
no lifting; the start must be ternary too.

--walks organises the walks: 'pool' (the default; over Z by lifting from a
start of at most 60 terms, 'stepdown') restarts from a pool of
schemes at the best rank after --walk flips without progress; 'start' runs
independent walks from the start; 'stepdown' keeps up to --pool distinct
schemes at every rank, starts each walk from one of the current rank's and
moves down a rank when the pool below fills (Kauers & Moosbauer's way);
'population' runs --pool walkers in one process in turns: those behind copy
one at the best rank, and one that stops improving resets to where it last
improved.  benchmarks/RESULTS.md compares them.

With --lift (--ring Z2, for a start valid only mod 2) the walk runs over Z2
and only schemes that Hensel-lift to Z count; the lifted scheme, verified
exactly over Z, is written (the Z2 scheme, and exit 1, when none lifts).

With --symmetric (square shapes, --ring Z2 or Z) the walk keeps the scheme
invariant under the cyclic shift of the tensor's three positions (Moosbauer &
Poole's symmetric flip graphs): fixed terms are cubes of sums of diagonal
entries, one per block of --blocks, and the other terms come in orbits of
three that are flipped together.  From scratch it starts from the schoolbook
terms grouped that way; over Z the Z2 walk's new bests are Hensel-lifted.
--symmetry 6 also keeps the scheme invariant under the index reversal
i → n-1-i of every factor (Moosbauer & Poole's six-fold symmetry, which they
used for ⟨6,6,6⟩ 153): the orbits come in pairs, the rank moves in steps of
six, and the blocks must be mapped to blocks by the reversal.
--symmetry 2 keeps the index reversal alone, which every shape has (entry
(i, j) of an r×c factor to (r-1-i, c-1-j)): terms come in pairs walked
together, so rectangular shapes can be walked symmetrically too.  Its fixed
terms are given by --blocks 'A/B/C;…', the entries row.column of each
factor (C is p×n, indexed c_ki), each set closed under the reversal:
'0.0,1.1/0.0,1.1/0.0,1.1' is Strassen's (a00+a11)(b00+b11) for ⟨2,2,2⟩.
Without fixed terms the rank of a shape with an even index stays even.
--involution transpose (shapes n,m,n) keeps the transposition instead,
(u, v, w) → (vᵀ, uᵀ, wᵀ), from (AB)ᵀ = BᵀAᵀ: a fixed term is u⊗uᵀ⊗w with w
symmetric, and n of them start (a_i0+…)(b_0i+…)c_ii; --involution both keeps
the transposition with the reversal, whose start has no fixed term when m is
even.  Another shape with two equal indices is walked rotated to n,m,n and
the result rotated back: ⟨4,4,5⟩ as ⟨4,5,4⟩, ⟨4,5,5⟩ as ⟨5,4,5⟩ (--blocks
then names entries of the rotated shape).
Under the transposition the fixed terms move too (a pair's term flips with a
fixed term, a pair collapses into one), though each keeps its u and the
diagonal of its w, and the walk is many short independent runs; --blocks
entries starts from the n·m single entries a_ij b_ji c_ii as fixed terms.
--release-after F walks the symmetric schemes for F flips and then goes on
from the lowest on the plain flip graph for the rest of the budget: from a
τ-invariant scheme of ⟨4,4,4⟩ over Z2 the plain walk reaches 47, where from
the schoolbook scheme it stops at 49 (benchmarks/RESULTS.md).

With --store PATH every result is also kept in that store (verified), and a
search from scratch also walks from the lowest-rank scheme that one move
between shapes makes from the store's schemes, when that beats the
schoolbook scheme: a scheme of the shape itself, a projection of a larger
one, two smaller ones side by side, a smaller one extended by a slice, or
the tensor product of two (any orientation).  The best projection of a
larger scheme is walked too when it is another scheme: a projection of
⟨5,5,5⟩ 93 (rank 84) walks ⟨4,5,5⟩ down to 76 in a second, where the
lower merge (80) stalls at 79.  The starts and the schoolbook scheme share
the budget (in turn with one worker, shared out among several): a low
start is not always the better one.  So runs on small shapes feed runs on
larger ones, and runs on large shapes feed smaller ones.

Without a store (or a construction from it), a shape with an index of 4 or
more whose schoolbook walk makes no reduction in 2,000,000 flips (⟨2,4,5⟩,
⟨2,5,5⟩, ⟨3,4,5⟩, ⟨4,5,5⟩, ⟨5,5,5⟩ …) starts from the merge of its two
halves along the largest index, each walked first (recursively, the same
way): the schoolbook walk of such shapes finds no reduction at all.  When a
walk from that merge makes no reduction either (⟨4,4,5⟩, ⟨4,5,5⟩), the
symmetric walk of the cube on the largest index (--ring Z2, or Z by lifting)
is projected down and walked too.  These walks come before --time-limit.

With --minimize additions (--ring Z) the rank is kept and the walk looks for
fewer additions instead: same-rank flips and random basis changes, each
scheme scored by the additions a kernel of it executes (one level, common
subexpressions shared, as the Numba kernels run it).  A lower rank, if a
flip finds one, is taken too.

The best scheme is verified exactly and written to --out (format by
extension: .json, .npz, .txt/.exp) whether or not the target was reached.
--workers K runs K walkers at once (default: one per core), seeds N to
N+K-1; with --backend ray they are tasks on a Ray cluster (--ray-address,
or Ray started on this machine), spread over its nodes, for the long runs
of large shapes.  The same --seed and --workers make the same walks (the time limit,
and with K > 1 which walker reaches the target first, only decide where
they stop; with --max-flips and no target the result is fixed).

Exit status: 0 target rank reached (no target: the search finished; with
--lift: and the result lifted; with --minimize additions: fewer additions
found), 1 time ran out first (or nothing lifted, or no fewer additions),
2 bad input.

examples:
  alphaalgo improve --shape 3,3,3 --ring Z2 --target-rank 23 --out s23-z2.json
  alphaalgo improve naive333.json --ring Z2 --target-rank 23 --lift --out s23.json
  alphaalgo improve s49.txt --shape 4,4,4 --ring Z2 --target-rank 47 \\
      --time-limit 1800 --seed 7 --out s.json
  alphaalgo improve --shape 5,5,5 --ring Z2 --symmetric --target-rank 93 \\
      --time-limit 3600 --out s93.json
  alphaalgo improve --shape 2,2,2 --ring Z --symmetric --symmetry 2 \\
      --blocks 0.0,1.1/0.0,1.1/0.0,1.1 --target-rank 7 --out s7.json
  alphaalgo improve --shape 3,3,3 --ring Z --symmetric --symmetry 2 \\
      --involution transpose --target-rank 23 --out s23-t.json
  alphaalgo improve --shape 4,4,4 --ring Z2 --symmetric --symmetry 2 \\
      --involution transpose --blocks entries --release-after 400000000 \\
      --target-rank 47 --time-limit 1800 --out s47.json
  alphaalgo improve kernels/schemes/alphatensor-z-3x3x3-r23.json --ring Z \\
      --minimize additions --time-limit 60 --out s23-fewer-adds.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "improve", "lower a scheme's rank by flip-graph local search",
                   DESCRIPTION)
    p.add_argument("file", metavar="FILE", nargs="?", default=None,
                   help="the starting scheme (.json, .npz, .txt, .exp); without it, --shape "
                        "starts from the schoolbook scheme")
    p.add_argument("--ring", choices=tensors.RINGS + ("ZT",), required=True,
                   help="the ring of the result (the start must be valid there); ZT: "
                        "coefficients in {-1, 0, 1}, valid over every ring")
    p.add_argument("--target-rank", type=int_range(0, limits.MAX_RANK, "--target-rank"),
                   default=None, metavar="R", help="stop as soon as the rank is at most R")
    p.add_argument("--time-limit", type=seconds_arg, default=60.0, metavar="S",
                   help="seconds of search at most (default 60)")
    p.add_argument("--max-flips", type=int_range(1, 2**62, "--max-flips"), default=None,
                   metavar="N", help="flips at most (a machine-independent budget)")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N",
                   help="random seed, 0..2**32-1 (default 0)")
    p.add_argument("--lift", action="store_true",
                   help="with --ring Z2: Hensel-lift the result to Z and write the Z scheme")
    p.add_argument("--method", choices=("auto", "flips", "lift", "lift3"), default="auto",
                   help="over Z: 'flips' walks the flip graph over Z (coefficients in "
                        "[-1, 1]); 'lift' walks over Z2 and keeps the schemes that "
                        "Hensel-lift to integer schemes; 'lift3' the same over Z3 "
                        "(fewer lift to integers: see benchmarks/RESULTS.md); 'auto' "
                        "(default) is 'lift'")
    p.add_argument("--minimize", choices=("rank", "additions"), default="rank",
                   help="'rank' (default): fewer multiplications; 'additions' (--ring Z): "
                        "the same rank with fewer additions, as the kernels count them")
    p.add_argument("--shape", type=shape_arg, default=None,
                   help="n,m,p: without FILE, search from scratch for this shape; with FILE, "
                        "the shape of text files or npz keys that do not name it")
    p.add_argument("--workers", type=int_range(1, 1024, "--workers"), default=os.cpu_count() or 1,
                   metavar="K",
                   help="walkers at once, one core each, seeds N..N+K-1 (default: all cores); "
                        "the first to reach the target stops the others")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="where the --workers walkers run: this machine's cores (default), or "
                        "tasks on a Ray cluster (pip install 'alphaalgo[distributed]')")
    p.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="with --backend ray: the cluster to join (default: start Ray here)")
    p.add_argument("--walks", choices=("pool", "start", "stepdown", "population"), default=None,
                   help="how the walks are organised: 'pool' restarts from schemes at the best "
                        "rank (the default; --symmetric: 'start'; over Z by lifting from at most "
                        "60 terms: 'stepdown'), 'start' independent runs from "
                        "the start, 'stepdown' a pool of distinct schemes at each rank walked "
                        "down rank by rank, 'population' --pool walkers in one process that "
                        "copy the best and reset to their last improvement")
    p.add_argument("--walk", type=int_range(1_000, 2**50, "--walk"), default=None, metavar="F",
                   help="flips per walk before a restart (default 3·10⁷; stepdown and "
                        "population: 2·10⁶)")
    p.add_argument("--pool", type=int_range(1, 100_000, "--pool"), default=None, metavar="N",
                   help="schemes kept per rank, or walkers of the population (default 64)")
    p.add_argument("--guard", action="store_true",
                   help="over Z by lifting: undo a new low of the Z2 walk that does not "
                        "lift ('pool', 'start'), or keep it out of the rank's pool "
                        "('stepdown'), so that the walks stay among schemes that lift (a "
                        "reduction mod 2 can leave them for good)")
    p.add_argument("--symmetric", action="store_true",
                   help="walk symmetric schemes by orbit flips (--ring Z2, or Z by lifting); "
                        "a square shape unless --symmetry 2")
    p.add_argument("--symmetry", type=int, choices=(2, 3, 6), default=None,
                   help="with --symmetric: 3, the cyclic shift (the default), 6, also the "
                        "index reversal i -> n-1-i (orbits of six), or 2, the reversal alone "
                        "(any shape; pairs)")
    p.add_argument("--involution", choices=("reverse", "transpose", "both"), default=None,
                   help="with --symmetry 2: the index reversal (reverse, the default), the "
                        "transposition (transpose: shapes with two equal indices, walked "
                        "turned to n,m,n) or both")
    p.add_argument("--release-after", type=int_range(1, 2**62, "--release-after"), default=None,
                   metavar="F",
                   help="with --symmetric: after F flips of the symmetric walk, go on from its "
                        "lowest scheme on the plain flip graph for the rest of the budget")
    p.add_argument("--blocks", default=None, metavar="B",
                   help="with --symmetric from scratch: the blocks of diagonal indices whose "
                        "cubes are the fixed terms, e.g. '0,4;1,3;2' (default: i with n-1-i); "
                        "--symmetry 2: the fixed terms' entries, e.g. '0.0,1.1/0.0,1.1/0.0,1.1' "
                        "(default: those the schoolbook terms need; with --involution transpose, "
                        "'entries': the n·m single entries a_ij b_ji c_ii)")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="keep the result in this store; from scratch, start from the best "
                        "construction of its schemes")
    p.add_argument("--key", default=None, help="which scheme of a file that holds several")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the result")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def _read_start(args: argparse.Namespace, store=None
                ) -> tuple[formats.SchemeRecord, list[tensors.Scheme]]:
    """The start (its provenance ``source`` says where it came from, as the result's
    ``input`` will) and the schemes to walk from."""
    if args.file is not None:
        try:
            record = formats.read_scheme(args.file, ring=_held(args.ring), shape=args.shape,
                                         key=args.key)
        except formats.FormatError as exc:
            raise UsageError(str(exc)) from None
        return record, [record.scheme]
    n, m, p = args.shape
    try:  # sizes before memory: the schoolbook scheme has n·m·p terms
        limits.check_rank(n * m * p, (n * m, m * p, p * n))
    except ValueError as exc:
        raise UsageError(f"--shape {n},{m},{p}: {exc}") from None
    schoolbook = f"schoolbook {n},{m},{p}"
    if args.symmetric:
        from ..localsearch import symmetric

        from ..constructions import as_shape

        walked = (symmetric.walked_shape(args.shape, _involution(args)) if _symmetry(args) == 2
                  else args.shape)
        try:  # built on the shape the involution maps to itself, turned back to --shape
            start = as_shape(symmetric.start_for(walked, _symmetry(args), args.blocks,
                                                 _involution(args)), args.shape)
        except ValueError as exc:
            raise UsageError(f"--blocks: {exc}") from None
        kind = SYMMETRY_NAMES[_symmetry(args)]
        return (formats.SchemeRecord(f"symmetric start {n}x{m}x{p}", start,
                                     {"source": f"{schoolbook} ({kind})"}), [start])
    naive = tensors.naive_scheme(n, m, p, _held(args.ring))
    if store is not None:
        from .. import constructions

        ring = _held(args.ring)
        held = [s.scheme for s in store.list_schemes(ring=ring)]
        if args.ring == "ZT":
            held = [s for s in held if s.max_abs_coefficient() <= 1]
        # the lowest start is not always the better one: the best projection of a
        # larger scheme (when it is another) and the schoolbook scheme are walked too
        starts = [s for s in constructions.walk_starts((n, m, p), held, ring)
                  if s.rank < n * m * p]
        if starts:
            built = starts[0]
            walked = ", ".join(f"rank {s.rank}" for s in starts[1:])
            starts.append(naive)
            source = (f"construction from {args.store}, rank {built.rank}, "
                      + (f"the best projection ({walked}), " if walked else "")
                      + "and the schoolbook scheme (walked in turn, or by alternate workers)")
            return (formats.SchemeRecord(f"construction {n}x{m}x{p}", built, {"source": source}),
                    starts)
    built = _scratch_starts(args, (n, m, p))
    if built:
        from ..scratch import PROBE_FLIPS

        kinds = " and ".join(f"{kind} (rank {s.rank})" for kind, s in built)
        source = (f"from scratch, the schoolbook walk of ⟨{n},{m},{p}⟩ making no reduction in "
                  f"{PROBE_FLIPS:,} flips: {kinds}, and the schoolbook scheme (walked in turn, "
                  "or by alternate workers)")
        first = built[0][1]
        return (formats.SchemeRecord(f"from scratch {n}x{m}x{p}", first, {"source": source}),
                [s for _, s in built] + [naive])
    return formats.SchemeRecord(f"naive {n}x{m}x{p}", naive, {"source": schoolbook}), [naive]


def _scratch_starts(args: argparse.Namespace, shape: tuple[int, int, int]
                    ) -> list[tuple[str, tensors.Scheme]]:
    """From scratch without a construction (:mod:`alphaalgo.scratch`): when a short
    walk from the schoolbook scheme makes no reduction (⟨2,5,5⟩, ⟨4,5,5⟩, ⟨5,5,5⟩ …),
    the merge of walked halves; when a short walk from that merge makes no
    reduction either (⟨4,4,5⟩, ⟨4,5,5⟩), also the projection of the engine's own
    symmetric walk of the cube on the largest index (over Z2, or Z by lifting).
    Each verified; ``[]`` when the schoolbook walk makes reductions."""
    from .. import localsearch, records, scratch

    if scratch.halves(shape) is None:
        return []
    ring = _held(args.ring)  # also the ring of the records a walk stops at
    size = shape[0] * shape[1] * shape[2]
    walk = scratch.walker(ring, args.seed, "flips" if args.ring == "ZT" else args.method)

    if scratch.probe(shape, ring, walk).rank < size:
        return []
    # the extra walks get a share of the budget: a tenth of the flips, or 10⁶ per second
    shares = [max(scratch.PROBE_FLIPS, share) for share in (
        None if args.max_flips is None else args.max_flips // 10,
        None if args.time_limit is None else int(args.time_limit * 1e6)) if share is not None]
    half = min([scratch.HALF_FLIPS, *shares])
    cube_flips = min([scratch.CUBE_FLIPS, *shares])

    def say(what: str) -> None:
        if not args.quiet:
            print(what, file=sys.stderr, flush=True)

    say(f"no reduction from the schoolbook scheme of ⟨{shape[0]},{shape[1]},{shape[2]}⟩ in "
        f"{scratch.PROBE_FLIPS:,} flips: walking its halves (at most {half:,} flips each) "
        "for a merged start …")
    merged = scratch.merged_start(shape, ring, walk, half_flips=half)
    built = [("the merge of its walked halves", merged)]
    if args.ring != "ZT" and walk(merged, scratch.PROBE_FLIPS).rank >= merged.rank:
        d = max(shape)
        say(f"no reduction from the merge (rank {merged.rank}) in {scratch.PROBE_FLIPS:,} flips: "
            f"a symmetric walk of ⟨{d},{d},{d}⟩ (at most {cube_flips:,} orbit flips) to project "
            "down …")

        def cube(n: int) -> tensors.Scheme:
            from ..localsearch import symmetric

            start = symmetric.start(n)
            try:
                res = localsearch.search(start, ring="Z2", lift=ring == "Z", max_flips=cube_flips,
                                         seed=args.seed, config=symmetric.search_config(start.rank),
                                         target_rank=records.best_known_rank((n, n, n), ring))
            except localsearch.LiftError:
                return tensors.naive_scheme(n, n, n, ring=ring)  # nothing lifted: no better start
            return res.scheme

        projected = scratch.projection_start(shape, cube)
        if projected is not None and projected.rank < size:
            built.append((f"the projection of the engine's symmetric ⟨{d},{d},{d}⟩", projected))
    for _, s in built:
        if not tensors.verify(s, args.ring).valid:
            raise AssertionError("a start from scratch is not a valid scheme")  # a bug
    return built


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in formats.WRITE_EXTENSIONS:
        raise UsageError(f"{out}: unknown extension {out.suffix!r} "
                         f"(expected one of {', '.join(formats.WRITE_EXTENSIONS)})")
    if args.lift and args.ring != "Z2":
        raise UsageError("--lift needs --ring Z2 (it lifts Z2 schemes to Z)")
    if args.ring != "Z" and args.method in ("lift", "lift3"):
        raise UsageError(f"--method {args.method} walks over a finite field and lifts to Z: "
                         "it is for --ring Z")
    if args.file is None and args.shape is None:
        raise UsageError("give a starting scheme FILE, or --shape n,m,p to search from scratch")
    if args.file is None and args.key is not None:
        raise UsageError("--key picks a scheme of FILE; there is no FILE")
    if args.symmetric:
        if args.ring not in ("Z2", "Z") or args.lift or args.method in ("flips", "lift3"):
            raise UsageError("--symmetric walks over Z2: use --ring Z2, or --ring Z "
                             "(lifted), without --lift or --method flips/lift3")
        if args.minimize != "rank":
            raise UsageError("--symmetric searches for lower rank; not with --minimize additions")
        if args.shape is not None and len(set(args.shape)) != 1 and _symmetry(args) != 2:
            raise UsageError(f"--symmetric needs a square shape n,n,n, got "
                             f"{','.join(map(str, args.shape))} (--symmetry 2 walks any shape)")
        if args.shape is not None and _symmetry(args) == 2:
            from ..localsearch import symmetric

            try:  # τ and ρτ need n = p, after a rotation
                symmetric.walked_shape(args.shape, _involution(args))
            except ValueError as exc:
                raise UsageError(f"--involution: {exc}") from None
    if args.ray_address is not None and args.backend != "ray":
        raise UsageError("--ray-address: only with --backend ray")
    if args.backend == "ray" and args.minimize != "rank":
        raise UsageError("--backend ray runs rank searches; not with --minimize additions")
    if args.symmetry is not None and not args.symmetric:
        raise UsageError("--symmetry chooses the group of --symmetric; give --symmetric too")
    if args.involution is not None and not (args.symmetric and _symmetry(args) == 2):
        raise UsageError("--involution chooses what --symmetric --symmetry 2 keeps; give both")
    if args.release_after is not None and not args.symmetric:
        raise UsageError("--release-after ends a --symmetric walk; give --symmetric too")
    if args.blocks is not None and not (args.symmetric and args.file is None):
        raise UsageError("--blocks chooses the fixed terms of --symmetric from scratch "
                         "(with --shape and no FILE)")
    if args.minimize == "additions" and (args.walks or args.walk or args.pool):
        raise UsageError("--walks, --walk and --pool organise rank searches; not with "
                         "--minimize additions")
    if args.minimize == "additions":
        if args.ring != "Z":
            raise UsageError("--minimize additions needs --ring Z (kernels run integer "
                             "schemes over the reals; mod-p schemes have no additions to save)")
        for flag, given in (("--target-rank", args.target_rank is not None), ("--lift", args.lift),
                            ("--method", args.method != "auto"),
                            ("--max-flips", args.max_flips is not None)):
            if given:
                raise UsageError(f"{flag} does not apply to --minimize additions "
                                 "(it keeps the rank; stop it with --time-limit)")
    check_outputs([args.file] if args.file else [], [out] + ([args.store] if args.store else []))
    with opened_store(args.store) as store:  # opened first: a bad store fails before the search
        return _improve(args, out, store)


def _improve(args: argparse.Namespace, out: Path, store) -> int:
    from .. import localsearch
    from ..localsearch import packing

    record, starts = _read_start(args, store)
    start = record.scheme
    shape = walked = start.shape
    if args.symmetric and _symmetry(args) == 2 and shape is not None:
        from ..constructions import as_shape
        from ..localsearch import symmetric

        try:  # τ and ρτ walk ⟨n,m,n⟩: the start turned so, the result turned back
            walked = symmetric.walked_shape(shape, _involution(args))
        except ValueError as exc:
            raise UsageError(f"{args.file}: --involution: {exc}") from None
        if walked != shape:
            starts = [as_shape(s, walked) for s in starts]
            start = as_shape(start, walked)
    # the symmetric start from scratch holds mod 2 only: its walk lifts to Z
    lift = args.lift or (args.symmetric and args.file is None and args.ring == "Z")
    check = tensors.verify(start, "Z2" if lift else args.ring)
    if not check.valid:
        raise UsageError(f"{args.file}: the scheme is not valid over {args.ring} "
                         f"({check.describe()})")
    ternary = args.ring == "ZT"
    config = localsearch.SearchConfig(bound=1) if ternary else None
    try:
        packing.check_searchable(start, _held(args.ring))
        if args.symmetric:
            from ..localsearch import symmetric

            # refuses a start without the symmetry
            symmetric.split(start, _symmetry(args), _involution(args))
            config = symmetric.search_config(start.rank, _symmetry(args), _involution(args))
            if args.release_after is not None:
                config = dataclasses.replace(config, release_after=args.release_after)
    except ValueError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    lifting = (args.ring == "Z" and not args.symmetric and args.method != "flips"
               and max(start.sizes) <= packing.MAX_BITS)
    if args.guard and not (lift or lifting):
        raise UsageError("--guard keeps a lifting walk among schemes that lift: it needs "
                         "--ring Z (method lift or lift3), --ring Z2 --lift, or --symmetric "
                         "--ring Z")
    config = _organised(args, config or localsearch.SearchConfig(),
                        stepdown=lifting and start.rank <= STEPDOWN_RANK)
    if args.minimize == "additions":
        return _run_additions(args, record, out, store)

    progress = _Progress(args.time_limit, start.rank, enabled=not args.quiet)
    lifted_ok = True
    with progress:
        try:
            how = dict(ring="Z2" if lift else _held(args.ring), target_rank=args.target_rank,
                       time_limit=args.time_limit, max_flips=args.max_flips,
                       method="flips" if ternary else args.method, lift=lift, config=config)
            if args.backend == "ray":
                result = _on_ray(args, starts, how, progress)
            else:
                result = localsearch.parallel_search(starts, workers=args.workers, seed=args.seed,
                                                     progress=progress.update, **how)
        except localsearch.LiftError as exc:
            result, lifted_ok = None, False
            unlifted = exc.schemes[0]
    if result is None:
        best = _turned_back(unlifted, shape, walked)
        summary = (f"rank {start.rank} → {best.rank} over {best.ring}, but no scheme found "
                   f"lifts to Z; wrote the {best.ring} scheme")
        flips, seconds = None, None
    else:
        best = _turned_back(result.scheme, shape, walked)
        flips, seconds = result.flips, round(result.seconds, 3)
        rate = result.flips / result.seconds if result.seconds > 0 else 0.0
        by_lifting = lift or (args.ring == "Z" and args.method != "flips")
        field = "Z3" if args.method == "lift3" and not lift else "Z2"
        over = f"{field}, lifted to Z" if by_lifting else args.ring
        if args.symmetric:
            over = f"{SYMMETRY_NAMES[_symmetry(args)]} schemes over {over}"
            if _symmetry(args) == 2 and _involution(args) != "reverse":
                over += f" (involution {_involution(args)})"
            if args.release_after is not None:
                over += f", released to the plain walk after {args.release_after:,} flips"
            if walked != shape:
                over += f", as ⟨{','.join(map(str, walked))}⟩"
        summary = (f"rank {result.start_rank} → {best.rank} (walk over {over}) in "
                   f"{result.seconds:.2f} s ({result.flips:,} flips, {rate:.3g} flips/s, "
                   f"{result.restarts} restarts)")
        if by_lifting and result.walk_rank < best.rank:
            summary += (f"; the {field} walk went down to rank {result.walk_rank}, "
                        f"where none of the schemes it tried lifted")
    _write(args, record, out, best, "ZT" if args.ring == "ZT" else None, store, {
        "source": "alphaalgo improve", "search_ring": args.ring, "method": args.method,
        "start_rank": start.rank if result is None else result.start_rank,
        "flips": flips, "seconds": seconds,
        "symmetric": bool(args.symmetric),
        "symmetry": _symmetry(args) if args.symmetric else None,
        "involution": _involution(args) if args.symmetric and _symmetry(args) == 2 else None,
        "release_after": args.release_after,
        "lifted": bool(lift and lifted_ok),
        "history": None if result is None else [[r, f, round(t, 3)] for r, f, t in result.history],
        "walk_rank": None if result is None else result.walk_rank,
        "walks": None if result is None else [
            dict(zip(("start_rank", "rank", "walk_rank", "flips", "seconds"), w))
            for w in result.walks]})
    print(summary + f"; wrote {out}")
    reached = args.target_rank is None or (result is not None and result.reached_target)
    return EXIT_OK if (reached and lifted_ok) else EXIT_NEGATIVE


def _turned_back(scheme: tensors.Scheme, shape, walked) -> tensors.Scheme:
    """A result walked as the rotation ``walked`` of ``shape``, turned back to ``shape``."""
    if walked == shape:
        return scheme
    from ..constructions import as_shape

    return as_shape(scheme, shape)


STEPDOWN_RANK = 60
"""Over Z by lifting, starts of at most this rank walk ``stepdown`` by default: a pool of
distinct Z2 schemes at each rank gives many to lift (measured in benchmarks/RESULTS.md:
⟨3,4,4⟩ 38 in 2 of 3 seeds within 300 s against 1 of 3 with ``pool``, ⟨3,3,4⟩ 29 in 14 s
against 260 s, ⟨3,4,5⟩ 47 in 1,248 s where ``pool`` stopped at 49; from the 75 terms of
⟨3,5,5⟩ its way down was slower than ``pool``'s)."""


SYMMETRY_NAMES = {2: "two-fold symmetric", 3: "cyclic-invariant", 6: "six-fold symmetric"}


def _symmetry(args: argparse.Namespace) -> int:
    """The group --symmetric keeps: 2, 3 or 6 (--symmetry; 3 when not given)."""
    return args.symmetry or 3


def _involution(args: argparse.Namespace) -> str:
    """The involution --symmetry 2 keeps (--involution; ``reverse`` when not given)."""
    return args.involution or "reverse"


def _organised(args: argparse.Namespace, config, stepdown: bool = False):
    """``config`` with the walks organised as --walks, --walk and --pool ask (with
    ``stepdown`` and no --walks: ``stepdown``)."""

    changes = {}
    walks = args.walks or ("stepdown" if stepdown else None)
    if walks is not None:
        changes["restart"] = walks
    restart = changes.get("restart", config.restart)
    if args.walk is not None:
        changes["restart_after"] = args.walk
    elif walks in ("stepdown", "population"):
        changes["restart_after"] = 2_000_000
    if args.pool is not None:
        changes["pool_size"] = args.pool
    if args.guard:
        if restart == "population":
            raise UsageError("--guard applies to 'pool', 'start' and 'stepdown' walks, "
                             "not 'population'")
        changes["guard"] = True
    if "restart_after" in changes:
        changes["chunk"] = min(config.chunk, changes["restart_after"])
    if restart == "population" and args.backend == "ray":
        raise UsageError("--walks population runs its walkers in one process; with --backend "
                         "ray use --walks pool, start or stepdown")
    return dataclasses.replace(config, **changes) if changes else config


def _on_ray(args: argparse.Namespace, starts: list, how: dict, progress: "_Progress"):
    """The walkers as tasks on a Ray cluster; a cluster that cannot be used is bad input."""
    try:
        from .. import distributed
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        result, nodes = distributed.ray_search(starts, workers=args.workers, seed=args.seed,
                                               address=args.ray_address,
                                               progress=progress.update,
                                               log=lambda m: print(m, file=sys.stderr), **how)
    except distributed.ClusterError as exc:
        raise UsageError(str(exc)) from None
    print("ray walkers ran on: " + ", ".join(f"{n} ×{k}" for n, k in sorted(nodes.items())),
          file=sys.stderr)
    return result


def _write(args: argparse.Namespace, record: formats.SchemeRecord, out: Path, scheme,
           ring: str | None, store, provenance: dict) -> None:
    """Verify ``scheme`` exactly (in ``ring``, default its own) and write it to ``out`` with
    ``provenance`` plus where it came from and the command that reproduces it (and add it
    to ``store`` when one is open)."""
    final = tensors.verify(scheme, ring)
    if not final.valid:  # the library verified it already; never write an unverified scheme
        raise AssertionError(f"refusing to write an invalid scheme: {final.describe()}")
    source = str(args.file) if args.file else record.provenance["source"]
    provenance = {**provenance, "input": source, "input_name": record.name, "seed": args.seed,
                  "command": _command(args)}
    try:
        formats.write_schemes(out, [formats.SchemeRecord(out.stem, scheme, provenance)])
    except formats.FormatError as exc:
        raise UsageError(str(exc)) from None
    if store is not None:
        store.add_scheme(scheme, provenance)


def _held(ring: str) -> str:
    """The ring a scheme is held in for ``--ring``: ZT schemes are integer schemes (Z)."""
    return "Z" if ring == "ZT" else ring


def _run_additions(args: argparse.Namespace, record: formats.SchemeRecord, out: Path,
                   store) -> int:
    """``--minimize additions``: the same-rank walk toward fewer executed additions."""
    from ..localsearch import minimize_additions

    start = record.scheme
    if not start.is_integral:
        raise UsageError(f"{args.file}: --minimize additions walks integer schemes; "
                         "this one has denominators")
    progress = _Progress(args.time_limit, start.rank, enabled=not args.quiet)
    with progress:
        res = minimize_additions(start, time_limit=args.time_limit, seed=args.seed,
                                 progress=progress.update_additions)
    _write(args, record, out, res.scheme, "Z", store, {
        "source": "alphaalgo improve --minimize additions", "search_ring": "Z",
        "start_rank": res.start_rank, "start_additions": res.start_additions,
        "additions": res.additions, "steps": res.steps, "seconds": round(res.seconds, 3)})
    print(f"rank {res.start_rank} → {res.scheme.rank}, additions {res.start_additions} → "
          f"{res.additions} (one level, shared subexpressions, as the kernels run it) in "
          f"{res.seconds:.2f} s ({res.steps:,} steps); wrote {out}")
    better = (res.scheme.rank, res.additions) < (res.start_rank, res.start_additions)
    return EXIT_OK if better else EXIT_NEGATIVE


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this walk (up to where the time limit stops it)."""
    parts = ["alphaalgo improve"] + ([str(args.file)] if args.file else []) + [
             "--ring", args.ring, "--seed", str(args.seed), "--workers", str(args.workers),
             "--time-limit", f"{args.time_limit:g}"]
    for flag, value in (("--target-rank", args.target_rank), ("--max-flips", args.max_flips),
                        ("--shape", ",".join(map(str, args.shape)) if args.shape else None),
                        ("--key", args.key), ("--symmetry", args.symmetry),
                        ("--involution", args.involution), ("--blocks", args.blocks),
                        ("--release-after", args.release_after),
                        ("--walks", args.walks), ("--walk", args.walk), ("--pool", args.pool),
                        ("--store", args.store)):
        if value is not None:
            parts += [flag, str(value)]
    if args.method != "auto":
        parts += ["--method", args.method]
    if args.minimize != "rank":
        parts += ["--minimize", args.minimize]
    if args.lift:
        parts.append("--lift")
    if args.symmetric:
        parts.append("--symmetric")
    if args.guard:
        parts.append("--guard")
    if args.backend != "local":
        parts += ["--backend", args.backend]
    return " ".join(parts + ["--out", str(args.out)])


class _Progress:
    """A rich progress bar on stderr: elapsed time against the limit, the best
    rank and the flip rate."""

    def __init__(self, time_limit: float, rank: int, enabled: bool) -> None:
        self.enabled = enabled
        self.time_limit = time_limit
        self.rank = rank
        self._bar = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True),
                                 transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(f"rank {self.rank}", total=self.time_limit)
        return self

    def update(self, rank: int, flips: int, seconds: float) -> None:
        if self._bar is not None:
            rate = flips / seconds if seconds > 0 else 0.0
            self._bar.update(self._task, completed=min(seconds, self.time_limit),
                             description=f"rank {rank} · {flips:,} flips · {rate:.3g} flips/s")

    def update_additions(self, rank: int, additions: int, steps: int, seconds: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=min(seconds, self.time_limit),
                             description=f"rank {rank} · {additions} additions · {steps:,} steps")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
