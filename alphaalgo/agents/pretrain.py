"""Produce the small pretrained parameters shipped in agents/, reproducibly.

The network is trained on synthetic demonstrations (random factor sets of the
game's coefficient distribution, see alphaalgo.demos): no catalogue entry, no
self-play.  With --demos STORE, the share --real of the fresh demonstration rows
(default: the preset's [replay] real_fraction) is drawn instead from the real
schemes in STORE (an `alphaalgo harvest`), each under a random symmetry of the
tensor.  The same command (and the same STORE) gives the same file.

usage:
  .venv/bin/python agents/pretrain.py --shape 2,2,2 --ring Z2 --steps 6000
  (writes agents/small-2x2x2-Z2.npz, synthetic only; --out to write elsewhere)
  .venv/bin/alphaalgo harvest --shape 2,2,2 --ring Z --rank 7 --count 288 \
      --time-limit 300 --store runs/h222Z.sqlite
  .venv/bin/python agents/pretrain.py --shape 2,2,2 --ring Z --steps 6000 \
      --demos runs/h222Z.sqlite --real 1.0
  (writes agents/small-2x2x2-Z.npz as shipped: half of each batch real schemes)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from alphaalgo import formats, learner, presets
from alphaalgo.campaign import CampaignSpec, game_config
from alphaalgo.harvest import stored
from alphaalgo.trainer import Trainer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", type=formats.parse_shape, required=True)
    ap.add_argument("--ring", choices=["Z", "Z2"], default="Z")
    ap.add_argument("--agent", default="small")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--demos", default=None, help="a store of real schemes (alphaalgo harvest)")
    ap.add_argument("--real", type=float, default=None,
                    help="share of the demonstrations from --demos (default: the preset's)")
    args = ap.parse_args(argv)
    preset = presets.load_preset(args.agent)
    if args.real is not None:
        if not 0.0 <= args.real <= 1.0:
            raise SystemExit(f"--real must lie in [0, 1], got {args.real}")
        preset = dataclasses.replace(
            preset, replay=dataclasses.replace(preset.replay, real_fraction=args.real))
    shape = "x".join(map(str, args.shape))
    out = Path(args.out or presets.agents_dir() / f"{preset.name}-{shape}-{args.ring}.npz")
    spec = CampaignSpec(shape=tuple(args.shape), ring=args.ring, preset=preset, store=":memory:",
                        seed=args.seed)
    trainer = Trainer(game_config(spec), preset)
    trainer.init(args.seed)
    if args.demos:
        trainer.set_real(stored(args.demos, args.shape, args.ring, trainer.game.coefficients))
    rng = np.random.default_rng([args.seed, 7])
    t0 = time.time()
    with tqdm(total=args.steps, desc=f"pretrain {shape} {args.ring}") as bar:
        metrics = trainer.train(args.steps, rng, progress=bar.update)
    meta = {"shape": list(args.shape), "ring": args.ring, "agent": preset.name, "steps": args.steps,
            "seed": args.seed, "policy_loss": metrics["policy"],
            "value_loss": metrics["value"], "data": (f"synthetic demonstrations, {preset.replay.real_fraction:g} of them real "
                     f"schemes from {args.demos}" if args.demos else "synthetic demonstrations only"),
            "command": " ".join(["agents/pretrain.py"] + (argv if argv is not None else sys.argv[1:]))}
    learner.save_params(out, trainer.params(), meta)
    print(json.dumps(dict(meta, seconds=round(time.time() - t0), out=str(out))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
