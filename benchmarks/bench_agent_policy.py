"""Where the agent's policy fails, and whether it learns a scheme it is shown.

Two measurements on ⟨2,2,2⟩ with the `small` network (or `--agent PRESET`):

* ``hits`` — for states of two kinds, the share of states where at least one of K
  actions sampled from the policy head is a term still to be played: random sums
  of r terms (the synthetic demonstrations' distribution), and Strassen's scheme
  after 0…6 of its moves (in a random basis half of the time, moves in random
  order).  Also: the share of samples at the matmul tensor itself that are terms
  of some rank-7 scheme (terms collected from rank-7 schemes local search finds).
* ``imitate`` — Strassen's scheme, as a campaign's refined scheme would be, is put
  36 times (random move orders) into the demonstration buffer; the trainer updates
  with replay augmented or not; after every 100 updates 96 games are played in
  the target's own basis and the rank-7 ones counted.

usage:
  .venv/bin/python benchmarks/bench_agent_policy.py hits --params agents/small-2x2x2-Z.npz
  .venv/bin/python benchmarks/bench_agent_policy.py imitate --updates 200 [--augment]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from alphaalgo import catalog, demos, game, learner, localsearch, presets, tensors
from alphaalgo.campaign import CampaignSpec, game_config
from alphaalgo.network import Agent
from alphaalgo.player import Player
from alphaalgo.trainer import Trainer


def _setup(preset, ring: str):
    spec = CampaignSpec(shape=(2, 2, 2), ring=ring, preset=preset, store=":memory:", seed=0)
    return game_config(spec), game.target_tensor((2, 2, 2))


def rank7_terms(g, seeds: int = 300) -> set[tuple[int, ...]]:
    """Canonical terms of the rank-7 schemes (coefficients in the game's set) that
    local search finds from the naive scheme with ``seeds`` seeds."""
    naive = tensors.naive_scheme(2, 2, 2, g.ring)
    terms: set[tuple[int, ...]] = set()
    for seed in range(seeds):
        s = localsearch.improve(naive, time_limit=0.5, seed=seed, target_rank=7)
        acts = demos.scheme_actions(s)
        if s.rank == 7 and tensors.verify(s).valid and np.isin(acts, g.coefficients).all():
            terms |= set(map(tuple, demos.canonicalize(g, acts)))
    return terms


def hits(args: argparse.Namespace) -> dict:
    preset = presets.load_preset(args.agent)
    g, target = _setup(preset, args.ring)
    agent = Agent(g, preset.network)
    params = learner.load_params(args.params, agent.init(jax.random.PRNGKey(0)))
    sample = jax.jit(lambda p, r, res, st: agent.evaluate(
        p, r, res, jnp.zeros((res.shape[0], g.history, g.action_size), jnp.int8), st, args.k, 1.0))
    rng = np.random.default_rng(args.seed)
    key = iter(jax.random.split(jax.random.PRNGKey(args.seed), 64))

    def share(residuals, remaining, steps) -> float:
        acts, _, _ = sample(params, next(key), jnp.asarray(np.stack(residuals)), jnp.asarray(steps, jnp.int32))
        acts = np.asarray(acts)
        return float(np.mean([bool({tuple(a) for a in acts[b]} & {tuple(a) for a in rem})
                              for b, rem in enumerate(remaining)]))

    out: dict = {"synthetic": {}, "strassen": {}}
    for r in range(1, 9):
        pairs = [demos.random_demo(rng, g, r, preset.demos.p_zero) for _ in range(args.states)]
        out["synthetic"][r] = share([t for t, _ in pairs], [a for _, a in pairs], np.zeros(args.states))
    acts = demos.canonicalize(g, demos.scheme_actions(catalog.strassen(args.ring)))
    for j in range(7):
        res, rem = [], []
        while len(res) < args.states:
            ch = (demos.random_basis_change(rng, g.sizes, g.ring, preset.acting.transvections)
                  if rng.random() < 0.5 else demos.identity_basis(g.sizes, g.ring))
            moved = demos.canonicalize(g, ch.factors(g, acts))[rng.permutation(7)]
            left = ch.tensor(target) - demos.term_tensors(g, moved[:j]).sum(0)
            left = left % 2 if g.ring == "Z2" else left
            if np.abs(left).max() <= 127:
                res.append(left.astype(np.int8))
                rem.append(moved[j:])
        out["strassen"][j] = share(res, rem, np.full(args.states, j))
    terms = rank7_terms(g)
    acts_t, _, _ = sample(params, next(key), jnp.asarray(np.stack([target.astype(np.int8)] * args.states)),
                          jnp.zeros(args.states, jnp.int32))
    acts_t = np.asarray(acts_t)
    out["at_target_in_rank7_terms"] = float(np.mean([tuple(a) in terms for a in acts_t.reshape(-1, g.action_size)]))
    out["rank7_terms_known"] = len(terms)
    return out


def imitate(args: argparse.Namespace) -> dict:
    preset = presets.load_preset(args.agent)
    preset = dataclasses.replace(
        preset, replay=dataclasses.replace(preset.replay, augment_replay=args.augment, demonstration_fraction=1.0),
        acting=dataclasses.replace(preset.acting, basis_change=0.0, games=32))
    g, target = _setup(preset, args.ring)
    tr = Trainer(g, preset)
    template = tr.init(0)
    tr.set_params(learner.load_params(args.params, template.params))
    rng = np.random.default_rng(args.seed)
    tr.demonstrate(*[demos.scheme_examples(g, target, demos.scheme_actions(catalog.strassen(args.ring)), rng)
                     for _ in range(36)])
    player = Player(g, target, preset, args.seed, (2, 2, 2))

    def rank7() -> int:
        ranks = [s.rank for r in range(3) for _, s in player.play(tr.params(), 1000 + r).solved]
        return sum(r == 7 for r in ranks)

    out = {"augment_replay": args.augment, "games": 96, "rank7_after": {0: rank7()}}
    while tr.step < args.updates:
        tr.train(100, rng)
        out["rank7_after"][tr.step] = rank7()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["hits", "imitate"])
    ap.add_argument("--ring", choices=["Z", "Z2"], default="Z")
    ap.add_argument("--agent", default="small", help="agent preset (name in agents/ or a .toml path)")
    ap.add_argument("--params", default=None, help="parameters (default: agents/AGENT-2x2x2-RING.npz)")
    ap.add_argument("--k", type=int, default=16, help="actions sampled per state (hits)")
    ap.add_argument("--states", type=int, default=128, help="states per row (hits)")
    ap.add_argument("--updates", type=int, default=200, help="updates in all (imitate)")
    ap.add_argument("--augment", action="store_true", help="augment replay (imitate)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.params = args.params or str(presets.agents_dir() / f"{presets.load_preset(args.agent).name}-2x2x2-{args.ring}.npz")
    result = hits(args) if args.what == "hits" else imitate(args)
    print(json.dumps({"when": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
                      "cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2),
                      "command": " ".join(["bench_agent_policy.py"] + (argv if argv is not None else sys.argv[1:])),
                      **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
