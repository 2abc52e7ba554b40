"""Produce the multishape parameters shipped in agents/, reproducibly.

One network (``[network] multishape = true``) learns every training shape at
once: each update holds a batch of every shape, half of it from real schemes
of that shape (harvested here by the engine's own local search, each drawn
under a random symmetry of the tensor, terms in a random order) and half
synthetic demonstrations (some of them with rank-1 ±1 factor matrices, as the
preset's ``[demos]`` asks).  ⟨3,3,3⟩ is never shown: no scheme, no synthetic
demonstration, no state of it; it is the held-out shape that measures
generalisation (``benchmarks/bench_generalisation.py``).  Nothing is read from
the catalogue or an outside collection, and the harvests are counted in flips,
so the same command gives the same file on any machine.

usage:
  .venv/bin/python agents/pretrain_multishape.py --ring Z2 --steps 3000
  (writes agents/multishape-Z2.npz and keeps the harvest in runs/harvest-Z2.sqlite;
   --out and --store to write elsewhere, --shapes to choose the training shapes,
   --save-every N to write the file every N updates too: a long run stopped early
   keeps its last copy, whose metadata names the --steps that remakes it)
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from alphaalgo import demos, formats, learner, presets, tensors
from alphaalgo.campaign import CampaignSpec, game_config
from alphaalgo.examples import Examples
from alphaalgo.network import Agent

HELD_OUT = (3, 3, 3)


CPU_VOLUME = 48
"""The default training shapes have n·m·p at most this (a CPU update with the larger
ones, ⟨4,4,4⟩ to ⟨5,5,5⟩, takes ten times as long; ``--shapes all`` on a GPU)."""


def training_shapes(max_volume: int | None = CPU_VOLUME) -> list[tuple[int, int, int]]:
    """Every ⟨n,m,p⟩ with 2 ≤ n ≤ m ≤ p ≤ 5 (and n·m·p ≤ ``max_volume``) but the
    held-out ⟨3,3,3⟩."""
    return [s for s in itertools.combinations_with_replacement(range(2, 6), 3)
            if s != HELD_OUT and (max_volume is None or s[0] * s[1] * s[2] <= max_volume)]


def harvested(store_path: Path, shape, ring: str, count: int, flips: int, seed: int,
              log) -> list[tensors.Scheme]:
    """The store's schemes of ``shape`` at their lowest rank, harvested first (``flips``
    flips, seed ``seed``, walking down to the best known rank if it can, then
    collecting there) unless the store holds ``count`` of them already."""
    from alphaalgo.harvest import harvest
    from alphaalgo.records import best_known_rank
    from alphaalgo.store import Store

    with Store(store_path) as store:
        held = store.list_schemes(shape, ring)
        if held and sum(s.rank == held[0].rank for s in held) >= count:
            return [s.scheme for s in held if s.rank == held[0].rank][:count]
        got = harvest(shape, ring, count, max_flips=flips, seed=seed,
                      rank=best_known_rank(shape, ring))
        for s in got.schemes:
            store.add_scheme(s, {"source": "agents/pretrain_multishape.py harvest",
                                 "seed": seed, "max_flips": flips})
        log(f"harvest {','.join(map(str, shape))} {ring}: {len(got.schemes)} schemes of rank "
            f"{got.rank} in {got.seconds:.1f} s")
        held = store.list_schemes(shape, ring)
        return [s.scheme for s in held if s.rank == held[0].rank][:count]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ring", choices=["Z", "Z2"], required=True)
    ap.add_argument("--agent", default="multishape")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rows", type=int, default=8, help="examples per shape in each update")
    ap.add_argument("--real", type=float, default=0.5,
                    help="share of each shape's rows from real schemes (the rest synthetic)")
    ap.add_argument("--targets", type=int, default=4,
                    help="candidates per real row: the next move and the ones after it, up to "
                         "this many of the terms still to play (demos.scheme_examples)")
    ap.add_argument("--save-every", type=int, default=0,
                    help="also write the parameters every this many updates (0: only at the "
                         "end); each file's meta gives the --steps that remakes it")
    ap.add_argument("--shapes", default=None,
                    help="training shapes 'n,m,p;n,m,p;...', or 'all' (every shape up to 5,5,5 but "
                         f"3,3,3); default: those with n·m·p ≤ {CPU_VOLUME} but 3,3,3")
    ap.add_argument("--count", type=int, default=200, help="schemes harvested per shape")
    ap.add_argument("--harvest-flips", type=int, default=400_000_000,
                    help="flips per shape's harvest (half to walk down, half to collect)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=None, help="the harvest's store (default runs/harvest-RING.sqlite)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.targets < 1:
        raise SystemExit("--targets must be at least 1")
    preset = presets.load_preset(args.agent)
    if not preset.network.multishape:
        raise SystemExit(f"{args.agent}: [network] multishape = true is needed")
    if args.shapes in (None, "all"):
        shapes = training_shapes(None if args.shapes == "all" else CPU_VOLUME)
    else:
        shapes = [tuple(formats.parse_shape(s)) for s in args.shapes.split(";")]
    if HELD_OUT in [tuple(sorted(s)) for s in shapes]:
        raise SystemExit("⟨3,3,3⟩ is the held-out shape: leave it out of --shapes")
    out = Path(args.out or presets.agents_dir() / f"{preset.name}-{args.ring}.npz")
    store = Path(args.store or f"runs/harvest-{args.ring}.sqlite")
    t0 = time.time()
    real = {s: harvested(store, s, args.ring, args.count, args.harvest_flips, args.seed,
                         lambda m: print(m, file=sys.stderr)) for s in shapes}
    games = {s: game_config(CampaignSpec(shape=s, ring=args.ring, preset=preset, store=":memory:"))
             for s in shapes}
    agents = [Agent(games[s], preset.network) for s in shapes]
    state = learner.init_state(agents[0], preset.training, jax.random.PRNGKey(args.seed))
    update = learner.make_update(agents, preset.training)
    params, opt_state = state.params, state.opt_state
    rng = np.random.default_rng([args.seed, 11])
    n_real = int(round(args.rows * args.real))
    metrics = {}
    given = list(argv if argv is not None else sys.argv[1:])

    def save(steps: int) -> None:
        """Write the parameters after ``steps`` updates, with the command that remakes them."""
        command = [a for i, a in enumerate(given)      # the arguments but --steps N
                   if a != "--steps" and not a.startswith("--steps=")
                   and (i == 0 or given[i - 1] != "--steps")]
        meta = {"ring": args.ring, "agent": preset.name, "steps": steps, "seed": args.seed,
                "attention": preset.network.attention, "targets": args.targets,
                "shapes": [list(s) for s in shapes], "held_out": list(HELD_OUT),
                "rows_per_shape": args.rows, "real_share": args.real,
                "harvest": {",".join(map(str, s)): {"schemes": len(real[s]), "rank": real[s][0].rank}
                            for s in shapes},
                "policy_loss": float(metrics["policy"]), "value_loss": float(metrics["value"]),
                "data": "real schemes harvested by the engine's local search and synthetic "
                        "demonstrations; never ⟨3,3,3⟩",
                "command": shlex.join(["agents/pretrain_multishape.py", "--steps", str(steps)] + command)}
        learner.save_params(out, jax.device_get(params), meta)
        print(json.dumps(dict(meta, seconds=round(time.time() - t0), out=str(out))), flush=True)

    with tqdm(total=args.steps, desc=f"pretrain multishape {args.ring}") as bar:
        for _ in range(args.steps):
            batches = []
            for s in shapes:
                g = games[s]
                # synthetic rows under a random signed permutation of each mode; real
                # rows only under the tensor's own symmetries (a permutation of a
                # mode's entries would make them rows of another tensor)
                parts = [demos.augment_examples(
                    rng, g, demos.demo_examples(rng, g, preset.demos, args.rows - n_real))] \
                    if args.rows > n_real else []
                if n_real:
                    parts.append(demos.real_examples(
                        rng, g, real[s], n_real, transvections=preset.acting.transvections,
                        scramble=preset.acting.transvections_z2, targets=args.targets))
                batches.append(Examples.concat(parts, max(p.k for p in parts)))
            params, opt_state, metrics = update(params, opt_state,
                                                [jax.tree.map(jnp.asarray, b) for b in batches])
            bar.update(1)
            bar.set_postfix(policy=f"{float(metrics['policy']):.3f}")
            if args.save_every and bar.n % args.save_every == 0 and bar.n < args.steps:
                save(bar.n)
    save(args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
