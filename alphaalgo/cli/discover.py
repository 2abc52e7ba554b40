"""``alphaalgo discover``: a discovery campaign (acting and learning on this machine)."""

from __future__ import annotations

import argparse
import math
import sys

from ._common import (EXIT_NEGATIVE, EXIT_OK, UsageError, add_parser, add_ring, check_outputs,
                      int_range, seconds_arg, seed_arg, shape_arg)

DESCRIPTION = """\
Run a discovery campaign: a neural Monte-Carlo tree search agent plays the
tensor game on the matrix-multiplication tensor <n,m,p> (moves are rank-1
terms u⊗v⊗w subtracted from what is left; a game that reaches zero in R moves
is an algorithm with R multiplications) while it learns from synthetic
demonstrations and its own games.

The agent starts from randomly initialised parameters and an empty memory:
no catalogue scheme is used unless --warm-start, no pretrained parameters
unless --params, no real schemes unless --demos (a store of schemes that
alphaalgo harvest collected by local search).  Every scheme found is verified exactly and stored in the
results store (--store); the best is written to --out whenever it improves.
A scheme the agent finds is then walked by local search for a moment
(alphaalgo.localsearch; the preset's acting.localsearch_seconds, 0 turns it off);
each stored scheme's provenance says whether the agent or local search found
it.  Checkpoints are written beside the store (STORE.checkpoints/) and --resume
continues the same campaign (same shape, ring, agent and seed) from the latest.

The hardware loop: with a speed weight > 0 (--speed-weight), every new scheme at
the best rank that is valid over Z or Q is compiled and timed against the
vendor matmul on the target device (--bench-size N, --bench-dtype), once per
scheme, device, size and dtype; the measurement is stored (alphaalgo results
shows it) and enters the reward of later games, r' = r + LAMBDA*speedup.
Locally the benchmarks run in a worker process beside play.

--backend ray runs the same campaign loop on a Ray cluster (pip install
'alphaalgo[distributed]'): self-play actors spread over the nodes, the learner
as an actor (--learner-on gpu), local search as tasks, and benchmarks as tasks
placed by resources (--bench-on cpu|gpu|resource:NAME).  The store stays with
this process.  --population N tunes the learning rate, the
search temperature and the speed weight across N member campaigns
(population-based training; with --backend ray, Ray Tune's PBT scheduler).

Agent presets live in agents/*.toml: tiny (tests), small (a 2-core CPU),
large (a GPU); --agent also takes a path to a .toml file.

Exit status: 0 the target rank was reached (without --target-rank: some
scheme was found), 1 time ran out first, 2 bad input.

examples:
  alphaalgo discover --shape 2,2,2 --ring Z --target-rank 7 --time-limit 600 --out strassen.json
  alphaalgo discover --shape 2,2,2 --ring Z2 --target-rank 7 --seed 3 --store runs/z2.sqlite
  alphaalgo discover --shape 2,2,3 --time-limit 1800 --store runs/223.sqlite --resume
  alphaalgo discover --shape 2,2,2 --target-rank 7 --time-limit 300 --params agents/small-2x2x2-Z.npz
  alphaalgo discover --shape 2,2,3 --backend ray --ray-address 10.0.0.5:6379 --actors 8 \\
      --speed-weight 0.1 --bench-on resource:xeon-8480 --time-limit 3600
  alphaalgo discover --shape 2,2,2 --population 4 --pbt-interval 120 --time-limit 1800
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_parser(sub, "discover", "run a discovery campaign (neural tree search)", DESCRIPTION)
    p.add_argument("--shape", type=shape_arg, required=True, metavar="n,m,p",
                   help="the product <n,m,p> (each size up to 5)")
    add_ring(p, "Z (integer coefficients) or Z2 (mod 2); default Z")
    p.add_argument("--target-rank", type=int_range(1, 10_000, "--target-rank"), default=None,
                   metavar="R", help="stop (exit 0) as soon as a verified scheme of rank <= R is found")
    p.add_argument("--time-limit", type=seconds_arg, default=600.0, metavar="S",
                   help="seconds, set-up and compilation included (default 600)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, 0..2**32-1 (default 0)")
    p.add_argument("--agent", default="small", metavar="PRESET",
                   help="agent preset name in agents/ or a .toml path (default small)")
    p.add_argument("--store", default="runs/discover.sqlite", metavar="PATH",
                   help="results store, SQLite (default runs/discover.sqlite)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the best scheme here (.npz AlphaTensor layout, .json, .txt)")
    p.add_argument("--resume", action="store_true",
                   help="continue this campaign from its latest checkpoint in --store")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: everything in this process (default); ray: self-play actors, "
                        "learner, local search and benchmarks as Ray actors and tasks")
    p.add_argument("--params", default=None, metavar="FILE",
                   help="start from these network parameters (e.g. agents/small-2x2x2-Z.npz)")
    p.add_argument("--demos", default=None, metavar="STORE",
                   help="a store of real schemes of this shape and ring (alphaalgo harvest): the "
                        "agent also learns from them, each under a random symmetry of the tensor "
                        "(the preset's replay.real_fraction of the synthetic demonstrations)")
    p.add_argument("--warm-start", action="store_true",
                   help="add the catalogue's best scheme to the replay buffer as a demonstration")
    p.add_argument("--coefficients", default=None, metavar="LIST",
                   help="coefficient set, e.g. -1,0,1 (default: -1,0,1 up to 3x3x3 over Z, "
                        "-2..2 beyond, 0,1 over Z2)")
    p.add_argument("--speed-weight", type=float, default=None, metavar="LAMBDA",
                   help="weight of the benchmark term in the reward, r' = r + LAMBDA*speedup "
                        "(default: the preset's, usually 0)")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    g = p.add_argument_group(
        "population-based training (the learning rate, search temperature and speed weight "
        "of a population of campaigns, tuned as they run)")
    g.add_argument("--population", type=int_range(2, 256, "--population"), default=None, metavar="N",
                   help="run N member campaigns; every --pbt-interval seconds of a member's time "
                        "the weakest quarter copies the strongest's checkpoint and perturbs its "
                        "hyperparameters (local: members one after another; ray: Ray Tune's PBT "
                        "scheduler, members at once)")
    g.add_argument("--pbt-interval", type=seconds_arg, default=None, metavar="S",
                   help="seconds of a member's run between exploit/explore steps (default 120)")
    g = p.add_argument_group("Ray backend (--backend ray; needs pip install 'alphaalgo[distributed]')")
    g.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="a running cluster (ray start --head ...); default: start Ray here")
    g.add_argument("--actors", type=int_range(1, 100_000, "--actors"), default=None, metavar="N",
                   help="self-play actors, one CPU each, spread over the nodes (default: the "
                        "cluster's CPUs less one, kept for local search and benchmarks)")
    g.add_argument("--localsearch-workers", type=int_range(1, 100_000, "--localsearch-workers"), default=None, metavar="N",
                   help="local-search tasks at once (default 1)")
    g.add_argument("--bench-on", default=None, metavar="WHERE",
                   help="where benchmarks of new schemes run when the speed weight is > 0: "
                        "cpu, gpu, or resource:NAME (a custom resource, e.g. a CPU model); default cpu")
    p.add_argument("--bench-size", type=int_range(16, 16_384, "--bench-size"), default=None,
                   metavar="N", help="N of the NxNxN product each new scheme is timed "
                                     "at when the speed weight is > 0 (default 2048)")
    p.add_argument("--bench-dtype", choices=("float64", "float32"), default=None,
                   help="dtype of that product (default float64)")
    g.add_argument("--learner-on", choices=["cpu", "gpu"], default=None,
                   help="where the learner actor runs (default cpu)")
    p.set_defaults(func=run)


def _coefficients(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--coefficients must be comma-separated integers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import formats, game, presets

    ring = args.ring or "Z"
    if max(args.shape) > 5:
        raise UsageError(f"shapes up to 5,5,5 are supported, got {','.join(map(str, args.shape))}")
    check_outputs([args.params, args.demos], [args.store, args.out])
    if args.demos is not None and not Path(args.demos).is_file():
        raise UsageError(f"--demos {args.demos}: no such store")
    if args.out is not None and Path(args.out).suffix.lower() not in formats.WRITE_EXTENSIONS:
        raise UsageError(f"--out {args.out}: unknown extension (expected one of "
                         f"{', '.join(formats.WRITE_EXTENSIONS)})")
    if args.params is not None:
        if not Path(args.params).is_file():
            raise UsageError(f"--params {args.params}: no such file")
        from ..learner import read_arrays

        try:  # garbage is refused before the store is created
            read_arrays(args.params)
        except ValueError as exc:
            raise UsageError(f"--params {exc}") from None
    try:
        preset = presets.load_preset(args.agent)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    coefs = _coefficients(args.coefficients)
    try:
        if coefs:
            game.GameConfig(tuple(args.shape), ring, coefs)
    except ValueError as exc:
        raise UsageError(f"--coefficients: {exc}") from None

    if args.speed_weight is not None:
        if not (math.isfinite(args.speed_weight) and args.speed_weight >= 0):
            raise UsageError(f"--speed-weight must be a number >= 0, got {args.speed_weight}")
        from ..campaign import with_speed_weight

        preset = with_speed_weight(preset, args.speed_weight)
    if args.population is not None and args.population < 2:
        raise UsageError(f"--population needs at least 2 members, got {args.population}")
    if args.pbt_interval is not None:
        if args.population is None:
            raise UsageError("--pbt-interval: only with --population")
        if not (math.isfinite(args.pbt_interval) and args.pbt_interval > 0):
            raise UsageError(f"--pbt-interval must be a positive number of seconds, got {args.pbt_interval}")
    make, cluster_errors = _backend(args)

    from ..campaign import CampaignSpec
    from ..catalog import CatalogError
    from ..store import StoreError

    spec = CampaignSpec(shape=tuple(args.shape), ring=ring, preset=preset, store=args.store,
                        time_limit=args.time_limit, target_rank=args.target_rank, seed=args.seed,
                        out=args.out, resume=args.resume, params=args.params,
                        warm_start=args.warm_start, coefficients=coefs,
                        bench_size=args.bench_size or 2048, bench_dtype=args.bench_dtype or "float64",
                        demos=args.demos)
    what = f"<{','.join(map(str, args.shape))}> over {ring}"
    try:
        if args.population is not None:
            result = _run_population(spec, args)
        elif args.quiet or not sys.stderr.isatty():
            result = _run_plain(spec, what, args.quiet, make)
        else:
            result = _run_live(spec, what, make)
    except (StoreError, CatalogError, *cluster_errors) as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        if "checkpoint" in str(exc) or str(exc).startswith(str(args.params)) or (
                args.demos and str(exc).startswith(str(args.demos))):
            raise UsageError(str(exc)) from None
        raise
    st = result.stats
    if result.best is not None:
        where = f", written to {args.out}" if args.out else ""
        print(f"best: rank {result.best.rank} over {ring} for {what} (verified{where}); "
              f"{st.games} games, {st.solved} solved, {st.elapsed:.0f} s, "
              f"{st.sims_per_second:.0f} simulations/s, campaign {result.campaign_id} in {args.store}")
    else:
        print(f"no scheme found for {what} in {st.elapsed:.0f} s ({st.games} games, "
              f"{st.sims_per_second:.0f} simulations/s)")
    if st.games:
        print(f"the agent's own games: {st.agent_summary()}")
    if st.endgames_played:
        print(f"endgames: {st.endgames_won} of {st.endgames_played} solved at their scheme's "
              f"rank; k reached {st.endgame_k}")
    if args.target_rank is not None:
        if st.agent_reached_at is not None:
            print(f"the agent itself played rank {args.target_rank} after {st.agent_reached_at:.1f} s")
        if result.reached:
            print(f"target rank {args.target_rank} reached after {st.reached_at:.1f} s")
            return EXIT_OK
        print(f"target rank {args.target_rank} not reached")
        return EXIT_NEGATIVE
    return EXIT_OK if result.best is not None else EXIT_NEGATIVE


_RAY_OPTIONS = {"ray_address": "address", "actors": "actors", "localsearch_workers": "localsearch_workers",
                "bench_on": "bench_on", "learner_on": "learner_on"}


def _run_population(spec, args: argparse.Namespace):
    from .. import population

    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    interval = args.pbt_interval or 120.0
    if args.backend == "ray":
        from ..distributed import ClusterError

        try:
            result, members = population.run_ray(spec, args.population, interval, args.ray_address, log)
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
    else:
        result, members = population.run_local(spec, args.population, interval, log)
    print(f"population of {len(members)} ({args.backend}):")
    for m in members:
        best = "-" if m.best_rank is None else str(m.best_rank)
        print(f"  member {m.index}  best rank {best:>3}  score {m.score:7.3f}  "
              f"{population.describe(m.hp)}  campaign {m.campaign_id}")
    return result


def _backend(args: argparse.Namespace):
    """A function ``(spec, report, log) -> campaign`` for the chosen backend, and the
    exceptions that mean the backend cannot run as asked (bad input, exit 2)."""
    given = {k: getattr(args, k) for k in _RAY_OPTIONS if getattr(args, k) is not None}
    if args.population is not None:
        extra = [k for k in given if k != "ray_address"]
        if extra:
            flags = ", ".join("--" + k.replace("_", "-") for k in extra)
            raise UsageError(f"{flags}: not with --population (each member is one campaign)")
    if args.backend == "local":
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise UsageError(f"{flags}: only with --backend ray")
        from ..campaign import Campaign

        return Campaign, ()
    from ..campaign import Campaign

    try:
        from .. import distributed
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        settings = distributed.RaySettings(**{_RAY_OPTIONS[k]: v for k, v in given.items()})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    executor = distributed.ray_executor(settings)
    return (lambda spec, report, log: Campaign(spec, report, log, executor=executor),
            (distributed.ClusterError,))


def _line(st) -> str:
    best = "-" if st.best_rank is None else str(st.best_rank)
    end = f"  endgame k {st.endgame_k}" if st.endgame_k else ""
    return (f"{st.elapsed:6.0f}s  games {st.games:6d}  solved {st.solved:5d}  best rank {best:>3}  "
            f"loss {st.loss:6.3f}  {st.sims_per_second:6.0f} sim/s{end}")


def _run_plain(spec, what: str, quiet: bool, make):
    last = [-1e9]

    def report(st):
        if not quiet and st.elapsed - last[0] >= 15:
            last[0] = st.elapsed
            print(_line(st), file=sys.stderr, flush=True)

    if not quiet:
        print(f"discovering {what} with agent {spec.preset.name} for up to {spec.time_limit:.0f} s",
              file=sys.stderr)
    return make(spec, report, lambda m: print(m, file=sys.stderr)).run()


def _run_live(spec, what: str, make):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), console=console) as progress:
        task = progress.add_task(f"discover {what}", total=spec.time_limit, info="compiling…")

        def report(st):
            best = "-" if st.best_rank is None else str(st.best_rank)
            progress.update(task, completed=min(st.elapsed, spec.time_limit),
                            info=f"games {st.games}  best rank {best}  loss {st.loss:.3f}  "
                                 f"{st.sims_per_second:.0f} sim/s"
                                 + (f"  endgame k {st.endgame_k}" if st.endgame_k else ""))

        return make(spec, report, progress.console.print).run()
