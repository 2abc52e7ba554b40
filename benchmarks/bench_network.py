"""How long one learner update and one evaluation take, for each way the torso's grids
attend (``[network] attention``: ``full`` or ``axial``), taken in one run.

For every shape given, builds the preset's network (``--agent``; its attention is
overridden by each kind in turn), a batch of ``--rows`` synthetic demonstrations and
times a jitted ``learner.make_update`` step (forward, backward and AdamW) and a jitted
``Agent.evaluate`` (the torso and K = ``--k`` sampled actions, what one search
simulation costs), each the median of ``--repeats`` calls after a compile call.  Prints
one JSON line per shape and kind, then the ratio full / axial per shape.

usage:
  .venv/bin/python benchmarks/bench_network.py --shapes '2,2,2;3,3,3;4,4,4;5,5,5' --rows 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_localsearch import machine  # noqa: E402


def timed(fn, repeats: int) -> float:
    import jax

    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", default="multishape")
    ap.add_argument("--ring", choices=("Z", "Z2"), default="Z2")
    ap.add_argument("--shapes", default="2,2,2;3,3,3;4,4,4")
    ap.add_argument("--rows", type=int, default=8, help="rows per update")
    ap.add_argument("--k", type=int, default=16, help="actions sampled per evaluation")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from alphaalgo import demos, formats, learner, network, presets
    from alphaalgo.campaign import CampaignSpec, game_config

    preset = presets.load_preset(args.agent)
    print(json.dumps({"machine": machine(), "agent": args.agent, "backend": jax.default_backend()}),
          flush=True)
    for text in args.shapes.split(";"):
        shape = tuple(formats.parse_shape(text))
        times = {}
        for kind in network.ATTENTION:
            net = dataclasses.replace(preset.network, attention=kind)
            p = dataclasses.replace(preset, network=net)
            g = game_config(CampaignSpec(shape=shape, ring=args.ring, preset=p, store=":memory:"))
            agent = network.Agent(g, net)
            state = learner.init_state(agent, p.training, jax.random.PRNGKey(0))
            rng = np.random.default_rng(0)
            batch = jax.tree.map(jnp.asarray, demos.augment_examples(
                rng, g, demos.demo_examples(rng, g, p.demos, args.rows)))
            update = learner.make_update(agent, p.training)
            evaluate = jax.jit(agent.evaluate, static_argnums=5)
            t_update = timed(lambda: update(state.params, state.opt_state, [batch])[2]["loss"],
                             args.repeats)
            t_eval = timed(lambda: evaluate(state.params, jax.random.PRNGKey(1), batch.residual,
                                            batch.last_actions, batch.step, args.k)[1],
                           args.repeats)
            times[kind] = (t_update, t_eval)
            print(json.dumps({"shape": list(shape), "attention": kind, "rows": args.rows,
                              "update_s": round(t_update, 4), "evaluate_s": round(t_eval, 4)}),
                  flush=True)
        (fu, fe), (au, ae) = times["full"], times["axial"]
        print(json.dumps({"shape": list(shape), "update_full_over_axial": round(fu / au, 2),
                          "evaluate_full_over_axial": round(fe / ae, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
