"""Where the agent's policy fails, and whether it learns a scheme it is shown.

Two measurements on ⟨2,2,2⟩ with the `small` network (or `--agent PRESET`):

* ``hits`` — for states of two kinds, the share of states where at least one of K
  actions sampled from the policy head is a term still to be played: random sums
  of r terms (the synthetic demonstrations' distribution), and Strassen's scheme
  after 0…6 of its moves (in a random basis half of the time, moves in random
  order).  Also: the share of samples at the matmul tensor itself that are terms
  of some rank-7 scheme (terms collected from rank-7 schemes local search finds).
* ``path`` — where the agent's own games leave every rank-7 scheme: the rank-7
  schemes with coefficients in the game's set are collected (local search from
  the naive scheme, many seeds; over Z2 all 36 turn up), and with them every
  residual on the way to zero along one of them; games are played with the
  preset's search in the target's own basis (or, with ``--transvections T``,
  each in a random basis of T elementary matrices per mode, every state and
  candidate mapped back before it is checked) and, for each move j, counted:
  the games still on a rank-7 path before move j, those among them whose K
  candidates hold a move that stays on one, and those that left before move j.
* ``imitate`` — Strassen's scheme, as a campaign's refined scheme would be, is put
  36 times (random move orders) into the demonstration buffer; the trainer updates
  with replay augmented or not; after every 100 updates 96 games are played in
  the target's own basis and the rank-7 ones counted.

usage:
  .venv/bin/python benchmarks/bench_agent_policy.py hits --params agents/small-2x2x2-Z.npz
  .venv/bin/python benchmarks/bench_agent_policy.py path --ring Z2 --rounds 10 [--k 64] [--transvections 4]
  .venv/bin/python benchmarks/bench_agent_policy.py imitate --updates 200 [--augment]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
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


def rank7_schemes(g, seeds: int = 300, store: str | None = None) -> set[frozenset]:
    """The distinct rank-7 schemes (coefficients in the game's set), each a frozenset
    of canonical terms, that local search finds from the naive scheme with ``seeds`` seeds,
    and those of ``store`` (an ``alphaalgo harvest``) when given."""
    from alphaalgo.harvest import stored

    naive = tensors.naive_scheme(2, 2, 2, g.ring)
    schemes: set[frozenset] = set()
    held = [s for s in stored(store, (2, 2, 2), g.ring, g.coefficients) if s.rank == 7] \
        if store else []
    found = (localsearch.search(naive, time_limit=0.5, seed=seed, target_rank=7).scheme
             for seed in range(seeds))
    for s in itertools.chain(held, found):
        acts = demos.scheme_actions(s)
        if s.rank == 7 and tensors.verify(s).valid and np.isin(acts, g.coefficients).all():
            schemes.add(frozenset(map(tuple, demos.canonicalize(g, acts))))
    return schemes


def rank7_terms(g, seeds: int = 300) -> set[tuple[int, ...]]:
    """Canonical terms of the rank-7 schemes of :func:`rank7_schemes`."""
    return set().union(*rank7_schemes(g, seeds))


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
        acts = np.asarray(sample(params, next(key), jnp.asarray(np.stack(residuals)),
                                 jnp.asarray(steps, jnp.int32))[0])
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
            ch = (demos.random_basis_change(rng, g.sizes, g.ring, preset.acting.transvections_for(g.ring))
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


def path(args: argparse.Namespace) -> dict:
    preset = presets.load_preset(args.agent)
    preset = dataclasses.replace(
        preset, search=dataclasses.replace(preset.search, num_samples=args.k,
                                           max_considered=min(args.k, preset.search.max_considered)),
        acting=dataclasses.replace(preset.acting, basis_change=float(args.transvections > 0),
                                   transvections=args.transvections, transvections_z2=args.transvections))
    g, target = _setup(preset, args.ring)
    schemes = rank7_schemes(g, args.seeds, args.store)
    # every residual on the way along a rank-7 scheme -> the moves that stay on one
    good: dict[bytes, set] = {}
    t64 = target.astype(np.int64)
    for sch in schemes:
        terms = sorted(sch)
        tens = demos.term_tensors(g, np.array(terms, np.int8)).astype(np.int64)
        for mask in range(1 << 7):
            played = [i for i in range(7) if mask >> i & 1]
            left = t64 - tens[played].sum(0)
            left = left % 2 if g.ring == "Z2" else left
            good.setdefault(left.astype(np.int8).tobytes(), set()).update(
                terms[i] for i in range(7) if not mask >> i & 1)
    player = Player(g, target, preset, args.seed, (2, 2, 2))
    params = learner.load_params(args.params, player.agent.init(jax.random.PRNGKey(0)))
    on_path, proposed, left, rank7 = [0] * 7, [0] * 7, [0] * 8, 0
    for r in range(args.rounds):
        states, changes, _, _ = player.initial_states(np.random.default_rng([args.seed, r]), preset.acting.games)
        traj = player._play(params, jax.random.PRNGKey(1000 * args.seed + r), states)
        res, cand = np.asarray(traj.moves.residual), np.asarray(traj.moves.actions)
        for b in range(res.shape[1]):
            back = changes[b].inverse()  # acting basis -> the target's own
            for j in range(8):          # res[j]: the residual before move j
                moves = good.get(back.tensor(res[j, b]).astype(np.int8).tobytes())
                if moves is None:
                    left[j] += 1
                    break
                if j == 7:              # on a path after 7 moves: zero, a rank-7 scheme
                    rank7 += 1
                    break
                on_path[j] += 1
                proposed[j] += bool(set(map(tuple, demos.canonicalize(g, back.factors(g, cand[j, b])))) & moves)
    return {"ring": args.ring, "k": args.k, "transvections": args.transvections,
            "simulations": preset.search.num_simulations,
            "rank7_schemes": len(schemes), "residuals_on_paths": len(good),
            "games": args.rounds * preset.acting.games,
            "on_a_path_before_move": on_path, "with_a_right_candidate": proposed,
            "left_before_move": left, "played_rank7": rank7}


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
    ap.add_argument("what", choices=["hits", "path", "imitate"])
    ap.add_argument("--ring", choices=["Z", "Z2"], default="Z")
    ap.add_argument("--agent", default="small", help="agent preset (name in agents/ or a .toml path)")
    ap.add_argument("--params", default=None, help="parameters (default: agents/AGENT-2x2x2-RING.npz)")
    ap.add_argument("--k", type=int, default=16, help="actions sampled per state (hits, path)")
    ap.add_argument("--rounds", type=int, default=10, help="rounds of the preset's games (path)")
    ap.add_argument("--transvections", type=int, default=0,
                    help="play each game in a random basis of this many elementary matrices per mode (path; 0: own basis)")
    ap.add_argument("--seeds", type=int, default=400, help="local-search seeds collecting rank-7 schemes (path)")
    ap.add_argument("--store", default=None,
                    help="also count the rank-7 schemes of this store, e.g. a harvest (path)")
    ap.add_argument("--states", type=int, default=128, help="states per row (hits)")
    ap.add_argument("--updates", type=int, default=200, help="updates in all (imitate)")
    ap.add_argument("--augment", action="store_true", help="augment replay (imitate)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.params = args.params or str(presets.agents_dir() / f"{presets.load_preset(args.agent).name}-2x2x2-{args.ring}.npz")
    result = {"hits": hits, "path": path, "imitate": imitate}[args.what](args)
    print(json.dumps({"when": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
                      "cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2),
                      "command": " ".join(["bench_agent_policy.py"] + (argv if argv is not None else sys.argv[1:])),
                      **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
