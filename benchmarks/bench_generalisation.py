"""Generalisation to a held-out shape: the policy's hit rate along real schemes.

``--schemes`` distinct schemes of ⟨3,3,3⟩ at rank 23 (``--ring``) are harvested
by the engine's local search (seed ``--seed``; kept in ``--store`` so a second
run reuses them).  Each is put under a random symmetry of the tensor (over Z2
then a scrambled basis, as the agent acts, unless ``--scramble 0``) and its terms
in a random order; for move j = 1 … R, at the state after its first j − 1 moves,
K actions are sampled from the policy head (``--k``, temperature 1).  A *hit* is
a state where one of the K is a term still to be played of that scheme.
Reported per move j: the share of the schemes that hit, for every parameter file
given (``--params``, comma-separated; ``random`` for freshly initialised
parameters, the baseline).

The multishape networks shipped in ``agents/`` were never shown ⟨3,3,3⟩
(``agents/pretrain_multishape.py``), so their hit rate here measures
generalisation from the other shapes.

example:
  .venv/bin/python benchmarks/bench_generalisation.py --ring Z2 \\
      --params agents/multishape-Z2.npz,random --schemes 200 --k 16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localsearch import machine  # noqa: E402

from alphaalgo import demos, learner, presets  # noqa: E402
from alphaalgo.campaign import CampaignSpec, game_config  # noqa: E402
from alphaalgo.network import Agent  # noqa: E402


def schemes_of(shape, ring: str, count: int, rank: int, seed: int, store: str) -> list:
    from alphaalgo.harvest import harvest
    from alphaalgo.store import Store

    with Store(store) as st:
        held = [r.scheme for r in st.list_schemes(shape, ring) if r.rank == rank]
        if len(held) < count:
            got = harvest(shape, ring, count, max_flips=4_000_000_000, seed=seed, rank=rank)
            for s in got.schemes:
                st.add_scheme(s, {"source": "benchmarks/bench_generalisation.py", "seed": seed})
            held = [r.scheme for r in st.list_schemes(shape, ring) if r.rank == rank]
    return held[:count]


def paths(rng: np.random.Generator, g, schemes, scramble: int) -> list[np.ndarray]:
    """Each scheme as moves ``int64 (R, A)`` in play order, after a random symmetry
    (and over Z2 a scrambled basis; the targets change with it)."""
    out, targets = [], []
    coefs = np.asarray(g.coefficients)
    for base in schemes:
        acts = demos.scheme_actions(demos.random_symmetry(rng, base, 1)).astype(np.int64)
        if g.ring == "Z2":
            acts %= 2
        elif not np.all(np.isin(acts, coefs)):
            acts = demos.scheme_actions(demos.random_symmetry(rng, base, 0)).astype(np.int64)
        change = demos.identity_basis(g.sizes, g.ring)
        if g.ring == "Z2" and scramble:
            change = demos.random_basis_change(rng, g.sizes, "Z2", scramble)
            acts = change.factors(g, acts)
        out.append(demos.canonicalize(g, acts[rng.permutation(len(acts))]).astype(np.int64))
        targets.append(change)
    return out, targets


def hit_rates(agent, params, g, target, moves, changes, k: int, seed: int) -> list[float]:
    evaluate = jax.jit(agent.evaluate, static_argnums=5)
    n, r = len(moves), len(moves[0])
    rates = []
    for j in range(r):                      # state after j moves; move j + 1 is next
        res, last = [], []
        for mv, ch in zip(moves, changes):
            t = ch.tensor(target) - demos.term_tensors(g, mv[:j]).sum(0)
            res.append(t % 2 if g.ring == "Z2" else t)
            h = np.zeros((g.history, g.action_size), np.int8)
            recent = mv[:j][::-1][:g.history]
            h[:len(recent)] = recent
            last.append(h)
        acts, *_ = evaluate(params, jax.random.PRNGKey(seed + j), np.stack(res).astype(np.int8),
                            np.stack(last), np.full(n, j, np.int32), k)
        acts = np.asarray(acts, np.int64)                          # (n, K, A)
        hits = 0
        for b, mv in enumerate(moves):
            left = {tuple(x) for x in mv[j:]}
            hits += any(tuple(a) in left for a in acts[b])
        rates.append(hits / n)
    return rates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ring", choices=("Z2", "Z"), default="Z2")
    ap.add_argument("--agent", default="multishape")
    ap.add_argument("--params", default=None,
                    help="comma-separated parameter files, or 'random' (default: "
                         "agents/multishape-RING.npz,random)")
    ap.add_argument("--shape", default="3,3,3")
    ap.add_argument("--rank", type=int, default=23)
    ap.add_argument("--schemes", type=int, default=200)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--scramble", type=int, default=None,
                    help="over Z2, transvections per mode of the scrambled basis each scheme is "
                         "shown in (default: the preset's [acting] transvections_z2, as the agent "
                         "acts; 0: the tensor's own basis, as `bench_agent_policy.py path`)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default="runs/generalisation.sqlite")
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    shape = tuple(int(x) for x in args.shape.split(","))
    preset = presets.load_preset(args.agent)
    g = game_config(CampaignSpec(shape=shape, ring=args.ring, preset=preset, store=":memory:"))
    agent = Agent(g, preset.network)
    template = agent.init(jax.random.PRNGKey(args.seed))
    t0 = time.monotonic()
    schemes = schemes_of(shape, args.ring, args.schemes, args.rank, args.seed, args.store)
    rng = np.random.default_rng([args.seed, 5])
    scramble = preset.acting.transvections_z2 if args.scramble is None else args.scramble
    moves, changes = paths(rng, g, schemes, scramble)
    print(json.dumps({"machine": machine(), "schemes": len(schemes),
                      "harvest_seconds": round(time.monotonic() - t0, 1)}), flush=True)
    from alphaalgo.game import target_tensor

    target = target_tensor(shape).astype(np.int64)
    names = (args.params or f"agents/{preset.name}-{args.ring}.npz,random").split(",")
    rows = []
    for name in names:
        params = template if name == "random" else learner.load_params(name, template)
        rates = hit_rates(agent, params, g, target, moves, changes, args.k, args.seed)
        row = {"params": name, "shape": args.shape, "ring": args.ring, "rank": args.rank,
               "schemes": len(schemes), "k": args.k, "scramble": scramble if args.ring == "Z2" else 0,
               "hit_rate": [round(x, 3) for x in rates]}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
    print("| params | move 1 | move 2 | move 5 | move 10 | move 15 | move 20 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        h = r["hit_rate"]
        cells = " | ".join(f"{h[j - 1]:.0%}" if j <= len(h) else "–" for j in (1, 2, 5, 10, 15, 20))
        print(f"| {r['params']} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
