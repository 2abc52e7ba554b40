"""A discovery campaign on one machine: acting and learning in turn.

Each round plays a batch of games with the search (each game on the target,
with probability ``acting.basis_change`` in a random basis), turns every game
that reached zero into a scheme (basis change undone), verifies it exactly and
stores it, adds the games' examples (improved policies and returns) to the
replay buffer, and trains on a mix of fresh synthetic demonstrations and
replay.  The store is the source of truth: schemes, self-play examples and
checkpoints (written atomically, recorded with ``Store.record_checkpoint``)
live there, and ``resume`` continues from the latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import demos, game, learner, search, tensors
from .demos import BasisChange, DemoConfig
from .game import GameConfig
from .network import Agent
from .presets import Preset
from .tensors import Scheme


@dataclasses.dataclass(frozen=True)
class CampaignSpec:
    """What to discover and how.

    Attributes:
      shape: ``(n, m, p)`` of the matmul target, or None with ``target``.
      target: an explicit target tensor ``int (S1, S2, S3)``.
      ring: ``"Z"`` or ``"Z2"``.
      preset: the agent configuration.
      store: path of the results store.
      time_limit: seconds of acting and learning (set-up and compilation included;
        one round of games is always played).
      target_rank: stop as soon as a scheme of at most this rank is found.
      seed: the run's seed (everything random derives from it).
      out: where to write the best scheme (``.npz``/``.json``/...), or None.
      resume: continue the campaign of the same name from its latest checkpoint.
      params: parameters to start from (a checkpoint or pretrained ``.npz``), or None.
      warm_start: seed the replay buffer with the catalogue's best scheme.
      coefficients: override the preset's coefficient set.
    """

    shape: tuple[int, int, int] | None
    ring: str
    preset: Preset
    store: str
    time_limit: float = 600.0
    target_rank: int | None = None
    seed: int = 0
    out: str | None = None
    resume: bool = False
    params: str | None = None
    warm_start: bool = False
    target: np.ndarray | None = None
    coefficients: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        what = ",".join(map(str, self.shape)) if self.shape else "target" + "x".join(
            map(str, np.shape(self.target)))
        return f"discover {what} {self.ring} {self.preset.name} seed {self.seed}"


@dataclasses.dataclass
class Stats:
    """Live figures of a campaign (the progress display shows them)."""

    elapsed: float = 0.0
    rounds: int = 0
    games: int = 0
    solved: int = 0
    best_rank: int | None = None
    loss: float = float("nan")
    policy_loss: float = float("nan")
    value_loss: float = float("nan")
    updates: int = 0
    sims_per_second: float = 0.0
    schemes_stored: int = 0
    resumed_from: int | None = None
    reached_at: float | None = None


@dataclasses.dataclass(frozen=True)
class CampaignResult:
    """The outcome: the best verified scheme (or None), whether the target rank
    was reached, the final stats and the campaign's id in the store."""

    best: Scheme | None
    reached: bool
    stats: Stats
    campaign_id: int


def game_config(spec: CampaignSpec) -> GameConfig:
    """The game a campaign plays."""
    tgt = game.target_tensor(spec.shape, spec.target)
    p = spec.preset.game
    coefs = spec.coefficients or p.coefficients or game.default_coefficients(spec.ring, spec.shape)
    naive = int(np.prod(spec.shape)) if spec.shape else tensors.slice_rank_bound(tgt)
    max_moves = p.max_moves or int(np.ceil(naive * p.move_slack))
    return GameConfig(tuple(tgt.shape), spec.ring, tuple(coefs), int(max_moves), p.history)


def _optional(module: str):
    """``alphaalgo.<module>`` if another part of the project provides it, else None."""
    name = f"alphaalgo.{module}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


class Campaign:
    """Acting and learning for one :class:`CampaignSpec` (see the module doc)."""

    def __init__(self, spec: CampaignSpec, report: Callable[[Stats], None] | None = None,
                 log: Callable[[str], None] = print):
        self.spec, self.report, self.log = spec, report, log
        pre = spec.preset
        self.game = game_config(spec)
        self.target = game.target_tensor(spec.shape, spec.target)
        self.agent = Agent(self.game, pre.network)
        max_rank = pre.demos.max_rank or self.game.max_moves
        self.demo = DemoConfig(min(pre.demos.min_rank, max_rank), max_rank, pre.demos.p_zero)
        self.k = pre.search.num_samples
        self.replay = learner.ReplayBuffer(pre.replay.replay_size, self.game.sizes,
                                           self.game.history, self.k)
        self.stats = Stats()
        self.best: Scheme | None = None
        self._refine_budget = 0.0       # local-search seconds left in this round
        self._play = search.make_play(self.agent, pre.search)
        self._update = learner.make_update(self.agent, pre.training)

    # ------------------------------------------------------------- helpers
    def _scheme(self, moves: np.ndarray, change: BasisChange) -> Scheme:
        """The scheme of a solved game: ``moves (R, A)`` in the acting basis, mapped back."""
        orig = change.inverse().factors(self.game, moves)
        s1, s2, _ = self.game.sizes
        u, v, w = orig[:, :s1].T, orig[:, s1:s1 + s2].T, orig[:, s1 + s2:].T
        if self.spec.shape is not None:
            return Scheme(u, v, w, ring=self.spec.ring, shape=self.spec.shape)
        return Scheme(u, v, w, ring=self.spec.ring, target=self.target.astype(np.int64))

    def _in_set(self, scheme: Scheme) -> bool:
        coefs = set(self.game.coefficients)
        return scheme.is_integral and all(
            set(np.unique(m).tolist()) <= coefs for m in (scheme.u, scheme.v, scheme.w))

    def _scheme_actions(self, scheme: Scheme) -> np.ndarray:
        return np.concatenate([scheme.u, scheme.v, scheme.w], axis=0).T.astype(np.int8)

    def _offer(self, store, scheme: Scheme, provenance: dict, rng: np.random.Generator) -> None:
        """Verify and store a scheme; track the best; write ``--out``; refine it."""
        check = tensors.verify(scheme)
        if not check.valid:   # cannot happen for an exact game; never stored if it does
            self.log(f"warning: a finished game gave an invalid scheme ({check.describe()})")
            return
        _, new = store.add_scheme(scheme, provenance, self.campaign_id)
        self.stats.schemes_stored += int(new)
        improved = self.best is None or scheme.rank < self.best.rank
        if improved:
            self.best = scheme
            self.stats.best_rank = scheme.rank
            self._write_out()
        if self._reached() and self.stats.reached_at is None:
            self.stats.reached_at = time.monotonic() - self._t0
        if (new and provenance.get("source") == "agent" and scheme.rank <= self.best.rank
                and self._refine_budget > 0):
            self._refine(store, scheme, rng)

    def _refine(self, store, scheme: Scheme, rng: np.random.Generator) -> None:
        secs = self.spec.preset.acting.refine_seconds
        ls = _optional("localsearch") if secs > 0 and not self._reached() else None
        if ls is None:
            return
        t = time.monotonic()
        try:
            better = ls.improve(scheme, time_limit=secs, seed=int(rng.integers(2**31)),
                                target_rank=self.spec.target_rank)
        except ValueError as exc:       # a scheme the local search cannot hold
            self.log(f"local search skipped: {exc}")
            self._refine_budget = 0.0
            return
        finally:
            self._refine_budget -= time.monotonic() - t
        if not tensors.verify(better).valid or better.rank > scheme.rank:
            return
        if self._in_set(better):
            self.replay.add(demos.scheme_examples(self.game, self.target, self._scheme_actions(better), rng))
        if better.rank < scheme.rank or tensors.canonical_hash(better) != tensors.canonical_hash(scheme):
            self._offer(store, better, {"source": "localsearch", "from_rank": scheme.rank,
                                        "campaign": self.spec.name}, rng)

    def _reached(self) -> bool:
        t = self.spec.target_rank
        return t is not None and self.best is not None and self.best.rank <= t

    def _write_out(self) -> None:
        if self.spec.out is None or self.best is None:
            return
        from . import formats
        rec = formats.SchemeRecord(
            ",".join(map(str, self.spec.shape)) if self.spec.shape else "target", self.best,
            {"source": "alphaalgo discover", "campaign": self.spec.name, "seed": self.spec.seed})
        formats.write_schemes(self.spec.out, [rec])

    def _batch(self, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
        """Two batches: fresh demonstrations (K = 1) and replay (K slots; more
        demonstrations while the buffer is empty), each under a random signed
        permutation."""
        size = self.spec.preset.training.batch_size
        n_demo = min(size - 1, max(1, int(round(size * self.spec.preset.replay.demo_fraction))))
        fresh = demos.demo_examples(rng, self.game, self.demo, n_demo)
        if len(self.replay):
            rest = self.replay.sample(rng, size - n_demo)
        else:
            rest = demos.concat_examples([demos.demo_examples(rng, self.game, self.demo, size - n_demo)], self.k)
        return [demos.augment_examples(rng, self.game, fresh), demos.augment_examples(rng, self.game, rest)]

    def train(self, state: learner.TrainState, steps: int, rng: np.random.Generator,
              progress: Callable[[int], None] | None = None) -> learner.TrainState:
        """``steps`` updates on fresh demonstrations mixed with replay."""
        params, opt_state = state.params, state.opt_state
        metrics = None
        for _ in range(steps):
            batches = [{k: jnp.asarray(v) for k, v in b.items()} for b in self._batch(rng)]
            params, opt_state, metrics = self._update(params, opt_state, batches)
            if progress is not None:
                progress(1)
        if metrics is not None:
            self.stats.loss = float(metrics["loss"])
            self.stats.policy_loss = float(metrics["policy"])
            self.stats.value_loss = float(metrics["value"])
        self.stats.updates = state.step + steps
        return learner.TrainState(params, opt_state, state.step + steps)

    def _checkpoint(self, store, state: learner.TrainState) -> None:
        folder = Path(str(self.spec.store) + ".checkpoints") / f"campaign-{self.campaign_id}"
        path = folder / f"step-{state.step:09d}.npz"
        meta = {"rounds": self.stats.rounds, "games": self.stats.games, "solved": self.stats.solved,
                "campaign": self.spec.name}
        learner.save_checkpoint(path, state, meta)
        store.record_checkpoint(self.campaign_id, state.step, str(path.resolve()))
        for old in sorted(folder.glob("step-*.npz"))[:-3]:
            old.unlink(missing_ok=True)

    def _initial_states(self, rng: np.random.Generator, games: int) -> tuple[game.GameState, list[BasisChange]]:
        act = self.spec.preset.acting
        changes, targets = [], []
        for _ in range(games):
            if rng.random() < act.basis_change:
                ch = demos.random_basis_change(rng, self.game.sizes, self.game.ring, act.transvections)
                t = ch.tensor(self.target)
                if np.abs(t).max() > 16:
                    ch = demos.identity_basis(self.game.sizes, self.game.ring)
            else:
                ch = demos.identity_basis(self.game.sizes, self.game.ring)
            changes.append(ch)
            targets.append(ch.tensor(self.target).astype(np.int8))
        states = jax.vmap(lambda t: game.init(self.game, t))(jnp.asarray(np.stack(targets)))
        return states, changes

    def _examples(self, traj: search.Trajectory, bonus: np.ndarray) -> dict[str, np.ndarray]:
        active = np.asarray(traj.active)                       # (M, B)
        rewards = np.asarray(traj.reward) * active
        returns = np.flip(np.cumsum(np.flip(rewards, 0), 0), 0) + bonus[None, :]
        sel = active.reshape(-1)

        def flat(x):
            x = np.asarray(x)
            return x.reshape((-1,) + x.shape[2:])[sel]

        return {"residual": flat(traj.residual), "last_actions": flat(traj.last_actions),
                "step": flat(traj.step).astype(np.int32), "actions": flat(traj.actions),
                "weights": flat(traj.weights).astype(np.float32),
                "value": returns.reshape(-1)[sel].astype(np.float32)}

    # ----------------------------------------------------------------- run
    def run(self) -> CampaignResult:
        from .store import Store

        spec, pre = self.spec, self.spec.preset
        self._t0 = time.monotonic()
        deadline = self._t0 + spec.time_limit
        template = learner.init_state(self.agent, pre.training, jax.random.PRNGKey(spec.seed))
        # Bad parameters are refused before anything is written.
        given = learner.load_params(spec.params, template.params) if spec.params else None
        with Store(spec.store) as store:
            cid = store.find_campaign(spec.name)
            if cid is not None and not spec.resume:
                k = 2
                while store.find_campaign(f"{spec.name} #{k}") is not None:
                    k += 1
                cid = None
                name = f"{spec.name} #{k}"
            else:
                name = spec.name
            if cid is None:
                config = {"spec": {"shape": spec.shape, "ring": spec.ring, "seed": spec.seed,
                                   "target_rank": spec.target_rank, "time_limit": spec.time_limit},
                          "game": dataclasses.asdict(self.game), "preset": pre.to_dict()}
                cid = store.create_campaign(name, json.loads(json.dumps(config, default=list)))
            self.campaign_id = cid
            state = template
            if spec.resume and (ck := store.latest_checkpoint(cid)) is not None:
                state, meta = learner.load_checkpoint(ck[1], template)
                self.stats.rounds = int(meta.get("rounds", 0))
                self.stats.games = int(meta.get("games", 0))
                self.stats.resumed_from = state.step
                self.log(f"resumed campaign {cid} from step {state.step} ({ck[1]})")
                for ex in store.iter_examples(cid, "selfplay"):
                    self.replay.add(ex)
                for s in store.list_schemes(spec.shape or self.target.shape, spec.ring, cid):
                    if self.best is None or s.rank < self.best.rank:
                        self.best = s.scheme
                self.stats.best_rank = self.best.rank if self.best else None
                self.stats.solved = int(meta.get("solved", 0))
                if self._reached():
                    self.stats.reached_at = 0.0
            elif spec.resume:
                self.log(f"nothing to resume for campaign {name!r}: starting it")
            elif given is not None:
                state = state._replace(params=given)
            if spec.warm_start:
                self._warm_start()
            base_key = jax.random.PRNGKey(spec.seed)
            rng0 = np.random.default_rng([spec.seed, 0, state.step])
            if state.step < pre.replay.pretrain_steps and not (spec.params and state.step == 0):
                state = self.train(state, pre.replay.pretrain_steps - state.step, rng0)
            last_ck = time.monotonic()
            speed = _optional("bench") if pre.acting.speed_weight > 0 else None
            first = True               # one round at least, however long compiling took
            while (first or time.monotonic() < deadline) and not self._reached():
                first = False
                r = self.stats.rounds
                rng = np.random.default_rng([spec.seed, 1, r])
                states, changes = self._initial_states(rng, pre.acting.games)
                self._refine_budget = 2.0 * pre.acting.refine_seconds
                t = time.monotonic()
                traj = self._play(state.params, jax.random.fold_in(base_key, r), states)
                jax.block_until_ready(traj)
                dt = time.monotonic() - t
                self.stats.sims_per_second = (pre.acting.games * pre.search.num_simulations
                                              * self.game.max_moves / max(dt, 1e-9))
                final = np.asarray(traj.final.residual)
                active = np.asarray(traj.active)
                moves = np.asarray(traj.action)
                bonus = np.zeros(pre.acting.games, np.float32)
                for b in range(pre.acting.games):
                    if np.any(final[b] != 0):
                        continue
                    self.stats.solved += 1
                    scheme = self._scheme(moves[active[:, b], b], changes[b])
                    self._offer(store, scheme, {"source": "agent", "campaign": name, "round": r,
                                                "seed": spec.seed}, rng)
                    if speed is not None:
                        bonus[b] = pre.acting.speed_weight * float(speed.speed_score(scheme, store=store))
                self.stats.rounds += 1
                self.stats.games += pre.acting.games
                ex = self._examples(traj, bonus)
                self.replay.add(ex)
                store.add_examples(cid, "selfplay", ex)
                state = self.train(state, pre.replay.updates_per_round, rng)
                self.stats.elapsed = time.monotonic() - self._t0
                if self.report:
                    self.report(self.stats)
                if time.monotonic() - last_ck >= pre.replay.checkpoint_seconds:
                    self._checkpoint(store, state)
                    last_ck = time.monotonic()
            self._checkpoint(store, state)
            self.stats.elapsed = time.monotonic() - self._t0
            if self.report:
                self.report(self.stats)
        return CampaignResult(self.best, self._reached(), self.stats, self.campaign_id)

    def _warm_start(self) -> None:
        from . import catalog

        if self.spec.shape is None:
            return
        known = catalog.best(self.spec.shape, self.spec.ring)
        if known is None or not tensors.verify(known, self.spec.ring).valid:
            return
        if self.spec.ring == "Z2":
            known = Scheme(known.u, known.v, known.w, ring="Z2", shape=known.shape) if known.is_integral else None
        if known is None or not self._in_set(known):
            self.log("warm start: the catalogue's scheme does not fit the coefficient set; skipped")
            return
        rng = np.random.default_rng([self.spec.seed, 2])
        for _ in range(max(1, 256 // known.rank)):
            self.replay.add(demos.scheme_examples(self.game, self.target, self._scheme_actions(known), rng))
        self.log(f"warm start: {known.rank} moves of the catalogue's scheme added as demonstrations")
